//! Differential testing: a seeded generator of random, well-typed KPL
//! programs, each paired with a C99 program that computes exactly the same
//! function under KPL's semantics (book/src/reference/semantics.md).
//!
//! Every program exports `fn run(a: u64, b: u64, c: u64) -> u64`. It mixes all
//! integer types and `bool`; nested expressions with every operator (binary,
//! unary, casts, comparisons, `&&`/`||`, shifts by arbitrary amounts); `let` and
//! `var` bindings; `if`/`else if`/`else`; `while` loops and `for` loops over
//! ranges and arrays with small bounds; local arrays (one- and
//! two-dimensional, always indexed in range), a struct (locals, arrays of it,
//! struct literals), constant tables, statics; compound assignments with every
//! operator; and calls to generated helper functions (a helper only calls
//! helpers with a lower index, so there is no recursion); postfix chains
//! (indexes, fields, `.len`) straight on array, repeat and struct literals
//! and on parenthesised places, nested or parenthesised again; and
//! parenthesised callees `(f)(x)`. `compiler/tests/difftest_coverage.rs`
//! checks that the programs cover every production of the grammar. Helpers are pure
//! (they write no statics), so C's unspecified order of evaluating operands
//! and arguments cannot matter. `run` first assigns every static its initial
//! value, so a result never depends on earlier invocations, and ends by
//! hashing every value still in scope into its result.
//!
//! Nothing ever traps: divisors are made non-zero and signed `MIN / -1` is
//! avoided by construction — either inside the expression (`x / (d | 1)`,
//! `x / ((d & MAX) | 1)`, `(x >> 1) / (d | 1)`, non-zero literals other than
//! `-1`), by guard statements hoisted before the statement that divides
//! (`var d = …; if d == 0 { d = 1; }` and `if n == MIN && d == -1 { d = 1; }`),
//! or by a short-circuit `d != 0 && … x / d …`. The C side mirrors the same
//! guards. Indexes are masked (`e & (N-1)`), reduced (`(e as u32) % N`),
//! constants, or loop variables whose range is known.
//!
//! The C program does all arithmetic in `uint64_t` and converts back with
//! explicit truncation and sign extension (no signed overflow, no
//! implementation-defined conversions, arithmetic right shifts built from
//! logical ones), so it has one meaning on every conforming compiler; its
//! helpers still check every division and index and print `trap N` should the
//! generator ever get a guard wrong. [`expected`] evaluates the same program
//! with a small reference interpreter written directly from the book, which
//! checks the C translation.
//!
//! All C names of one case start with `kd<seed>_` and all shared helpers are
//! behind an include guard, so [`c_batch`] can put many cases into one
//! translation unit (one gcc run for hundreds of programs).

use std::fmt::Write as _;

/// One generated test: a KPL plugin, the equivalent C program, and the
/// argument triples to call `run` with (one made of boundary values such as
/// 0, `u64::MAX` and `0x8000_0000_0000_0000`, one random, one mixed).
///
/// The C program reads `a`, `b`, `c` from `argv[1..=3]` (decimal, `strtoull`)
/// and prints `run(a, b, c)` as a decimal `u64` followed by a newline.
pub struct Case {
    pub kpl: String,
    pub c: String,
    pub inputs: Vec<[u64; 3]>,
}

/// The test case for `seed`. Deterministic: the same seed always gives the
/// same texts and inputs.
pub fn generate(seed: u64) -> Case {
    let (p, inputs) = build(seed);
    Case {
        kpl: p.render_kpl(),
        c: p.render_c(),
        inputs,
    }
}

/// The C name of the `run` function of the case generated from `seed`.
pub fn c_entry(seed: u64) -> String {
    format!("{}run", c_prefix(seed))
}

/// One C program containing all the given cases (each paired with the seed
/// it was generated from; the seeds must be distinct) and a `main` that calls
/// every case's `run` on each of its inputs, in order, printing one line
/// `SEED INDEX RESULT` per call.
pub fn c_batch(cases: &[(u64, &Case)]) -> String {
    let mut s = String::from("#define KD_NO_MAIN 1\n");
    for (_, case) in cases {
        s.push_str(&case.c);
        s.push('\n');
    }
    s.push_str("int main(void) {\n");
    for (seed, case) in cases {
        for (i, [a, b, c]) in case.inputs.iter().enumerate() {
            let _ = writeln!(
                s,
                "    printf(\"{seed} {i} %llu\\n\", (unsigned long long){}(UINT64_C({a}), UINT64_C({b}), UINT64_C({c})));",
                c_entry(*seed)
            );
        }
    }
    s.push_str("    return 0;\n}\n");
    s
}

/// The results of `run` on each input of `generate(seed)`, computed by a
/// reference interpreter that follows the book's semantics. `Err(code)` is a
/// trap code (1 division by zero, 2 overflow, 3 bounds, 4 budget: the
/// interpreter gives up after a few million steps); the generator promises
/// none of those happen, so any `Err` is a generator bug.
pub fn expected(seed: u64) -> Vec<Result<u64, u8>> {
    expected_with_steps(seed)
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

/// Like [`expected`], with the number of statements and loop iterations the
/// interpreter executed for each input (a measure of how much work, and so
/// how much of a runtime budget, the program needs).
pub fn expected_with_steps(seed: u64) -> Vec<(Result<u64, u8>, u64)> {
    let (p, inputs) = build(seed);
    inputs
        .iter()
        .map(|args| {
            let mut m = Machine::new(&p);
            let r = m.run(*args);
            (r, m.steps)
        })
        .collect()
}

fn c_prefix(seed: u64) -> String {
    format!("kd{seed}_")
}

// ---------------------------------------------------------------------------
// Random numbers: splitmix64 (also the verifier's mutation test's).

/// A small deterministic generator: the same seed gives the same sequence
/// on every machine, so a failing seed can be rerun.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6b70_6c5f_6469_6666)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Uniform in `lo..=hi` for a small range.
    fn between(&mut self, lo: i128, hi: i128) -> i128 {
        lo + self.below((hi - lo + 1) as u64) as i128
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize].clone()
    }
}

// ---------------------------------------------------------------------------
// Types.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum IntTy {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}

use IntTy::*;

const INTS: [IntTy; 8] = [U8, U16, U32, U64, I8, I16, I32, I64];

impl IntTy {
    fn bits(self) -> u32 {
        match self {
            U8 | I8 => 8,
            U16 | I16 => 16,
            U32 | I32 => 32,
            U64 | I64 => 64,
        }
    }

    fn signed(self) -> bool {
        matches!(self, I8 | I16 | I32 | I64)
    }

    fn name(self) -> &'static str {
        match self {
            U8 => "u8",
            U16 => "u16",
            U32 => "u32",
            U64 => "u64",
            I8 => "i8",
            I16 => "i16",
            I32 => "i32",
            I64 => "i64",
        }
    }

    fn c(self) -> &'static str {
        match self {
            U8 => "uint8_t",
            U16 => "uint16_t",
            U32 => "uint32_t",
            U64 => "uint64_t",
            I8 => "int8_t",
            I16 => "int16_t",
            I32 => "int32_t",
            I64 => "int64_t",
        }
    }

    fn min(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.bits() - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed() {
            (1i128 << (self.bits() - 1)) - 1
        } else {
            (1i128 << self.bits()) - 1
        }
    }

    /// The value of this type congruent to `v` modulo 2^bits.
    fn wrap(self, v: i128) -> i128 {
        let m = 1i128 << self.bits();
        let r = v.rem_euclid(m);
        if self.signed() && r > self.max() {
            r - m
        } else {
            r
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Ty {
    Bool,
    Int(IntTy),
    Array(Box<Ty>, u32),
    Struct(usize),
}

impl Ty {
    fn is_scalar(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Int(_))
    }

    /// Size in bytes (for the stack-frame estimate).
    fn size(&self, structs: &[Vec<Ty>]) -> u64 {
        match self {
            Ty::Bool => 1,
            Ty::Int(t) => u64::from(t.bits() / 8),
            Ty::Array(e, n) => e.size(structs) * u64::from(*n),
            Ty::Struct(s) => {
                // Generous: every field padded to 8 bytes.
                structs[*s]
                    .iter()
                    .map(|f| f.size(structs).div_ceil(8) * 8)
                    .sum()
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The program tree shared by the KPL and C printers and the interpreter.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ArOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
}

impl ArOp {
    fn sym(self) -> &'static str {
        match self {
            ArOp::Add => "+",
            ArOp::Sub => "-",
            ArOp::Mul => "*",
            ArOp::Div => "/",
            ArOp::Rem => "%",
            ArOp::And => "&",
            ArOp::Or => "|",
            ArOp::Xor => "^",
        }
    }

    fn c(self) -> &'static str {
        match self {
            ArOp::Add => "add",
            ArOp::Sub => "sub",
            ArOp::Mul => "mul",
            ArOp::Div => "div",
            ArOp::Rem => "rem",
            ArOp::And => "and",
            ArOp::Or => "or",
            ArOp::Xor => "xor",
        }
    }
}

/// `&`, `|`, `^` on `bool`s (both operands evaluated).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BoolOp {
    And,
    Or,
    Xor,
}

impl BoolOp {
    fn sym(self) -> &'static str {
        match self {
            BoolOp::And => "&",
            BoolOp::Or => "|",
            BoolOp::Xor => "^",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn sym(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    fn c(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
        }
    }
}

#[derive(Clone, Debug)]
enum Expr {
    /// An integer literal (untyped in KPL: it takes its type from the
    /// context, which the generator arranges to be `.0`).
    Lit(IntTy, i128),
    Bool(bool),
    /// A named integer constant `K<n>`.
    Const(usize),
    Read(Place),
    /// `place.len` of an array: a `u32`.
    Len(Place),
    Neg(IntTy, Box<Expr>),
    BitNot(IntTy, Box<Expr>),
    Not(Box<Expr>),
    Arith(ArOp, IntTy, Box<Expr>, Box<Expr>),
    BoolBin(BoolOp, Box<Expr>, Box<Expr>),
    /// `left`, shifted type, value, amount (of any integer type).
    Shift(bool, IntTy, Box<Expr>, Box<Expr>),
    /// Operands have type `.1` (`Bool` or `Int`).
    Cmp(CmpOp, Ty, Box<Expr>, Box<Expr>),
    /// `&&` (true) or `||` (false).
    Logic(bool, Box<Expr>, Box<Expr>),
    /// To an integer type (from a `bool` or any integer type).
    Cast(IntTy, Box<Expr>),
    Call(usize, Vec<Expr>),
    /// `(f)(args)`: a call whose callee is wrapped in `.0` pairs of
    /// parentheses.
    ParenCall(u8, usize, Vec<Expr>),
    /// A postfix chain on a primary that is not a plain variable: `prim`,
    /// then `path` (indexes and fields) down to a scalar, which is read
    /// (`false`), or down to an array, whose `.len` is taken (`true`).
    Post(Box<Prim>, Vec<PathElem>, bool),
}

/// A primary that postfixes apply to, other than a plain variable.
#[derive(Clone, Debug)]
enum Prim {
    /// An array literal, repeat or struct literal (never `Init::Copy` or
    /// `Init::Scalar`) of the given type, with no expected type around it.
    Lit(Ty, Init),
    /// A place in parentheses: `(v)`, `(v[i].f)`.
    Place(Place),
    /// `( prim )`.
    Paren(Box<Prim>),
}

#[derive(Clone, Debug)]
struct Place {
    root: usize,
    path: Vec<PathElem>,
}

#[derive(Clone, Debug)]
enum PathElem {
    /// Index expression and the array's length.
    Index(Box<Expr>, u32),
    Field(usize),
}

#[derive(Clone, Debug)]
enum Init {
    Scalar(Expr),
    List(Vec<Init>),
    Repeat(Box<Init>, u32),
    Copy(Place),
    /// Struct index and `(field, value)` in the order written.
    Struct(usize, Vec<(usize, Init)>),
}

#[derive(Clone, Copy, Debug)]
enum CompOp {
    Ar(ArOp),
    /// `<<=` (true) / `>>=` (false); the amount has any integer type.
    Sh(bool),
    Bool(BoolOp),
}

#[derive(Clone, Debug)]
enum Stmt {
    Let {
        var: usize,
        annotate: bool,
        init: Init,
    },
    Assign {
        place: Place,
        op: Option<CompOp>,
        value: Init,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        els: Option<Vec<Stmt>>,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    ForRange {
        var: usize,
        ty: IntTy,
        lo: Expr,
        hi: Expr,
        body: Vec<Stmt>,
    },
    ForEach {
        var: usize,
        seq: Place,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
    Return(Expr),
    Call(usize, Vec<Expr>),
    Block(Vec<Stmt>),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum VarKind {
    Param,
    Local,
    ForVar,
    Static,
    Table,
}

struct VarInfo {
    /// Base name; locals whose value is never read get a `_` prefix in KPL.
    name: String,
    ty: Ty,
    kind: VarKind,
    /// A `while` counter: never assigned by random statements.
    protected: bool,
    /// For loop variables: the inclusive range of values it takes.
    range: Option<(i128, i128)>,
}

struct Func {
    params: Vec<usize>,
    ret: Ty,
    body: Vec<Stmt>,
    /// Estimated statements executed by one call (loops and callees
    /// included); bounds the work of callers.
    work: u64,
}

struct Program {
    prefix: String,
    vars: Vec<VarInfo>,
    consts: Vec<(IntTy, i128)>,
    /// Statics and constant tables with their initial values.
    globals: Vec<(usize, Init)>,
    structs: Vec<Vec<Ty>>,
    /// Helpers `f0`, `f1`, …, then `run` last.
    funcs: Vec<Func>,
}

impl Program {
    fn place_ty(&self, p: &Place) -> Ty {
        let mut t = self.vars[p.root].ty.clone();
        for e in &p.path {
            t = match (e, t) {
                (PathElem::Index(..), Ty::Array(el, _)) => *el,
                (PathElem::Field(k), Ty::Struct(s)) => self.structs[s][*k].clone(),
                _ => unreachable!("ill-typed place"),
            };
        }
        t
    }

    /// Whether any binding or literal has struct `s` in its type (W0003
    /// otherwise).
    fn struct_used(&self, s: usize, u: &Usage) -> bool {
        self.vars.iter().any(|v| has_struct(&v.ty, s))
            || u.lit_structs.contains(&s)
            // A field of a used struct.
            || (s + 1..self.structs.len()).any(|k| {
                self.structs[k].iter().any(|f| has_struct(f, s)) && self.struct_used(k, u)
            })
    }

    fn fname(&self, f: usize) -> String {
        if f + 1 == self.funcs.len() {
            "run".to_string()
        } else {
            format!("f{f}")
        }
    }
}

fn max_struct(t: &Ty) -> usize {
    match t {
        Ty::Struct(k) => *k,
        Ty::Array(e, _) => max_struct(e),
        _ => 0,
    }
}

fn has_struct(t: &Ty, s: usize) -> bool {
    match t {
        Ty::Struct(k) => *k == s,
        Ty::Array(e, _) => has_struct(e, s),
        _ => false,
    }
}

fn is_typed(e: &Expr) -> bool {
    match e {
        Expr::Lit(..) => false,
        Expr::Neg(_, x) | Expr::BitNot(_, x) => is_typed(x),
        Expr::Arith(_, _, l, r) => is_typed(l) || is_typed(r),
        Expr::Shift(_, _, l, _) => is_typed(l),
        _ => true,
    }
}

/// Mirrors the checker's notion of a constant-shaped expression (literals and
/// named constants combined by operators and casts): a shift amount of this
/// shape must be in range, or it gets warning W0008.
fn is_const_shape(e: &Expr) -> bool {
    match e {
        Expr::Lit(..) | Expr::Bool(_) | Expr::Const(_) => true,
        Expr::Neg(_, x) | Expr::BitNot(_, x) | Expr::Not(x) | Expr::Cast(_, x) => is_const_shape(x),
        Expr::Arith(_, _, l, r)
        | Expr::BoolBin(_, l, r)
        | Expr::Shift(_, _, l, r)
        | Expr::Cmp(_, _, l, r)
        | Expr::Logic(_, l, r) => is_const_shape(l) && is_const_shape(r),
        Expr::Read(_) | Expr::Len(_) | Expr::Call(..) | Expr::ParenCall(..) | Expr::Post(..) => {
            false
        }
    }
}

// ---------------------------------------------------------------------------
// Usage: which bindings are read and assigned, which constants and
// functions are referenced. Computed on the finished tree so that the
// printers can avoid W0001 / W0006 / W0003.

struct Usage {
    read: Vec<bool>,
    assigned: Vec<bool>,
    consts: Vec<bool>,
    calls: Vec<bool>,
    /// Structs named by a literal in a postfix chain.
    lit_structs: Vec<usize>,
}

impl Usage {
    fn of(p: &Program) -> Usage {
        let mut u = Usage {
            read: vec![false; p.vars.len()],
            assigned: vec![false; p.vars.len()],
            consts: vec![false; p.consts.len()],
            calls: vec![false; p.funcs.len()],
            lit_structs: Vec::new(),
        };
        for f in &p.funcs {
            u.stmts(&f.body);
        }
        u
    }

    fn stmts(&mut self, ss: &[Stmt]) {
        for s in ss {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { init, .. } => self.init(init),
            Stmt::Assign { place, value, .. } => {
                self.assigned[place.root] = true;
                self.path(place);
                self.init(value);
            }
            Stmt::If { cond, then, els } => {
                self.expr(cond);
                self.stmts(then);
                if let Some(e) = els {
                    self.stmts(e);
                }
            }
            Stmt::While { cond, body } => {
                self.expr(cond);
                self.stmts(body);
            }
            Stmt::ForRange { lo, hi, body, .. } => {
                self.expr(lo);
                self.expr(hi);
                self.stmts(body);
            }
            Stmt::ForEach { seq, body, .. } => {
                self.read_place(seq);
                self.stmts(body);
            }
            Stmt::Return(e) => self.expr(e),
            Stmt::Call(f, args) => {
                self.calls[*f] = true;
                args.iter().for_each(|a| self.expr(a));
            }
            Stmt::Block(b) => self.stmts(b),
            Stmt::Break | Stmt::Continue => {}
        }
    }

    fn init(&mut self, i: &Init) {
        match i {
            Init::Scalar(e) => self.expr(e),
            Init::List(xs) => xs.iter().for_each(|x| self.init(x)),
            Init::Repeat(x, _) => self.init(x),
            Init::Copy(p) => self.read_place(p),
            Init::Struct(_, fs) => fs.iter().for_each(|(_, x)| self.init(x)),
        }
    }

    fn read_place(&mut self, p: &Place) {
        self.read[p.root] = true;
        self.path(p);
    }

    fn path(&mut self, p: &Place) {
        for e in &p.path {
            if let PathElem::Index(i, _) = e {
                self.expr(i);
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Lit(..) | Expr::Bool(_) => {}
            Expr::Const(k) => self.consts[*k] = true,
            Expr::Read(p) | Expr::Len(p) => self.read_place(p),
            Expr::Neg(_, x) | Expr::BitNot(_, x) | Expr::Not(x) | Expr::Cast(_, x) => self.expr(x),
            Expr::Arith(_, _, l, r)
            | Expr::BoolBin(_, l, r)
            | Expr::Shift(_, _, l, r)
            | Expr::Cmp(_, _, l, r)
            | Expr::Logic(_, l, r) => {
                self.expr(l);
                self.expr(r);
            }
            Expr::Call(f, args) | Expr::ParenCall(_, f, args) => {
                self.calls[*f] = true;
                args.iter().for_each(|a| self.expr(a));
            }
            Expr::Post(prim, path, _) => {
                self.prim(prim);
                for e in path {
                    if let PathElem::Index(i, _) = e {
                        self.expr(i);
                    }
                }
            }
        }
    }

    fn prim(&mut self, p: &Prim) {
        match p {
            Prim::Lit(ty, i) => {
                for s in 0..=max_struct(ty) {
                    if has_struct(ty, s) && !self.lit_structs.contains(&s) {
                        self.lit_structs.push(s);
                    }
                }
                self.init(i);
            }
            Prim::Place(p) => self.read_place(p),
            Prim::Paren(x) => self.prim(x),
        }
    }
}

// ---------------------------------------------------------------------------
// The generator.

/// Loop nesting and trip counts are kept small so that a program runs a few
/// thousand statements at most.
const RUN_WORK: u64 = 30_000;
const HELPER_WORK: u64 = 1_500;
const MAX_MULT: u64 = 128;
/// Stack frame budgets (the checker's formula, E0505: 64 bytes plus every
/// binding rounded up to 8). A chain of four helpers and `run` stays below
/// the 8192-byte limit.
const RUN_FRAME: u64 = 2_800;
const HELPER_FRAME: u64 = 1_200;

struct Gen {
    rng: Rng,
    p: Program,
    /// Visible bindings, innermost last.
    scope: Vec<usize>,
    /// Guard statements to put before the statement being generated.
    preludes: Vec<Vec<Stmt>>,
    /// False while generating a `while` condition (evaluated repeatedly).
    prelude_ok: bool,
    cur_fn: usize,
    is_run: bool,
    ret: Ty,
    mult: u64,
    work: u64,
    work_limit: u64,
    loop_depth: u32,
    frame: u64,
    frame_limit: u64,
    /// Index expressions being generated inside one another.
    index_nest: u32,
    /// Postfix chains on literals being generated inside one another.
    post_nest: u32,
}

fn build(seed: u64) -> (Program, Vec<[u64; 3]>) {
    let mut g = Gen {
        rng: Rng::new(seed),
        p: Program {
            prefix: c_prefix(seed),
            vars: Vec::new(),
            consts: Vec::new(),
            globals: Vec::new(),
            structs: Vec::new(),
            funcs: Vec::new(),
        },
        scope: Vec::new(),
        preludes: Vec::new(),
        prelude_ok: true,
        cur_fn: 0,
        is_run: false,
        ret: Ty::Bool,
        mult: 1,
        work: 0,
        work_limit: 0,
        loop_depth: 0,
        frame: 0,
        frame_limit: 0,
        index_nest: 0,
        post_nest: 0,
    };
    g.program();
    let inputs = inputs(&mut Rng::new(
        seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x1234,
    ));
    (g.p, inputs)
}

fn inputs(rng: &mut Rng) -> Vec<[u64; 3]> {
    const EDGES: [u64; 8] = [
        0,
        u64::MAX,
        0x8000_0000_0000_0000,
        1,
        0x7fff_ffff_ffff_ffff,
        0xff,
        0x8000_0000,
        0xffff_ffff,
    ];
    let edge = |rng: &mut Rng| rng.pick(&EDGES);
    let small = |rng: &mut Rng| rng.below(64);
    let e = [edge(rng), edge(rng), edge(rng)];
    let r = [rng.next_u64(), rng.next_u64(), rng.next_u64()];
    let m = [
        edge(rng),
        rng.next_u64(),
        if rng.coin() { small(rng) } else { edge(rng) },
    ];
    vec![e, r, m]
}

impl Gen {
    fn new_var(&mut self, name: &str, ty: Ty, kind: VarKind) -> usize {
        let id = self.p.vars.len();
        if !matches!(kind, VarKind::Static | VarKind::Table) {
            self.frame += ty.size(&self.p.structs).div_ceil(8) * 8;
        }
        self.p.vars.push(VarInfo {
            name: format!("{name}{id}"),
            ty,
            kind,
            protected: false,
            range: None,
        });
        id
    }

    fn program(&mut self) {
        // A struct type, sometimes.
        if self.rng.chance(2, 3) {
            let n = self.rng.between(2, 4) as usize;
            let fields = (0..n)
                .map(|_| {
                    if self.rng.chance(1, 4) {
                        Ty::Array(Box::new(self.scalar_ty()), self.rng.between(1, 4) as u32)
                    } else {
                        self.scalar_ty()
                    }
                })
                .collect();
            self.p.structs.push(fields);
            // Sometimes a second one that nests the first (`a.f1.f0`).
            if self.rng.coin() {
                let mut fields = vec![self.scalar_ty(), Ty::Struct(0)];
                if self.rng.coin() {
                    fields.swap(0, 1);
                }
                self.p.structs.push(fields);
            }
        }
        // Constant tables and statics.
        for _ in 0..self.rng.below(3) {
            let t = self.rng.pick(&INTS);
            let n = self.rng.pick(&[2u32, 4, 5, 8]);
            let id = self.new_var("TAB", Ty::Array(Box::new(Ty::Int(t)), n), VarKind::Table);
            let init = Init::List((0..n).map(|_| Init::Scalar(self.lit(t))).collect());
            self.p.globals.push((id, init));
        }
        for _ in 0..self.rng.below(3) {
            let ty = if self.rng.coin() {
                self.scalar_ty()
            } else {
                Ty::Array(Box::new(self.scalar_ty()), self.rng.pick(&[2u32, 3, 4]))
            };
            let id = self.new_var("g", ty.clone(), VarKind::Static);
            let init = self.const_init(&ty);
            self.p.globals.push((id, init));
        }
        let helpers = self.rng.below(5) as usize;
        for f in 0..helpers {
            self.function(f, false);
        }
        self.function(helpers, true);
    }

    fn scalar_ty(&mut self) -> Ty {
        if self.rng.chance(1, 7) {
            Ty::Bool
        } else {
            Ty::Int(self.rng.pick(&INTS))
        }
    }

    /// A constant initializer (for statics): literals only.
    fn const_init(&mut self, ty: &Ty) -> Init {
        match ty {
            Ty::Bool => Init::Scalar(Expr::Bool(self.rng.coin())),
            Ty::Int(t) => Init::Scalar(self.lit(*t)),
            Ty::Array(el, n) => {
                if self.rng.coin() {
                    Init::Repeat(Box::new(self.const_init(el)), *n)
                } else {
                    Init::List((0..*n).map(|_| self.const_init(el)).collect())
                }
            }
            Ty::Struct(_) => unreachable!("no struct statics"),
        }
    }

    fn lit_value(&mut self, t: IntTy) -> i128 {
        match self.rng.below(12) {
            0 => 0,
            1 => 1,
            2 => t.max(),
            3 => t.min(),
            4 => {
                if t.signed() {
                    -1
                } else {
                    t.max() - 1
                }
            }
            5 | 6 => self.rng.between(2, 16),
            7 => t.wrap(1i128 << self.rng.below(u64::from(t.bits()))),
            8 => t.max() - self.rng.between(0, 3),
            9 if t.signed() => -self.rng.between(2, 100),
            _ => t.wrap(i128::from(self.rng.next_u64())),
        }
    }

    fn lit(&mut self, t: IntTy) -> Expr {
        Expr::Lit(t, self.lit_value(t))
    }

    /// A typed constant of type `t`: a named `const` (new or reused).
    fn typed_const(&mut self, t: IntTy, v: Option<i128>) -> Expr {
        if v.is_none() && self.rng.coin() {
            let existing: Vec<usize> = (0..self.p.consts.len())
                .filter(|&k| self.p.consts[k].0 == t)
                .collect();
            if !existing.is_empty() {
                return Expr::Const(self.rng.pick(&existing));
            }
        }
        let v = v.unwrap_or_else(|| self.lit_value(t));
        self.p.consts.push((t, v));
        Expr::Const(self.p.consts.len() - 1)
    }

    // ----- functions -----

    fn function(&mut self, index: usize, is_run: bool) {
        self.cur_fn = index;
        self.is_run = is_run;
        self.mult = 1;
        self.work = 0;
        self.loop_depth = 0;
        self.frame = 64 + if is_run { 24 } else { 0 };
        self.frame_limit = if is_run { RUN_FRAME } else { HELPER_FRAME };
        self.work_limit = if is_run { RUN_WORK } else { HELPER_WORK };
        self.scope = self.p.globals.iter().map(|(id, _)| *id).collect::<Vec<_>>();
        let mut params = Vec::new();
        if is_run {
            for n in ["a", "b", "c"] {
                let id = self.p.vars.len();
                self.p.vars.push(VarInfo {
                    name: n.to_string(),
                    ty: Ty::Int(U64),
                    kind: VarKind::Param,
                    protected: false,
                    range: None,
                });
                params.push(id);
            }
            self.ret = Ty::Int(U64);
        } else {
            for _ in 0..self.rng.between(1, 4) {
                let t = self.scalar_ty();
                params.push(self.new_var("p", t, VarKind::Param));
            }
            self.ret = self.scalar_ty();
        }
        self.scope.extend(params.iter().copied());
        // Register the function before its body so the work estimate of
        // callers of lower helpers is known; the body comes later.
        self.p.funcs.push(Func {
            params: params.clone(),
            ret: self.ret.clone(),
            body: Vec::new(),
            work: 0,
        });
        let mut body = Vec::new();
        if is_run {
            // Statics start from their initial values on every call, so that
            // the result does not depend on earlier invocations.
            let globals = self.p.globals.clone();
            for (id, init) in globals {
                if self.p.vars[id].kind == VarKind::Static {
                    body.push(Stmt::Assign {
                        place: Place {
                            root: id,
                            path: Vec::new(),
                        },
                        op: None,
                        value: init,
                    });
                }
            }
            // Every helper that no other helper calls is called here.
            let called = Usage::of(&self.p).calls;
            for (f, &is_called) in called.iter().enumerate().take(index) {
                if !is_called {
                    self.preludes.push(Vec::new());
                    let ret = self.p.funcs[f].ret.clone();
                    let call = self.call_to(f, 2);
                    let v = self.new_var("r", ret, VarKind::Local);
                    let pre = self.preludes.pop().unwrap_or_default();
                    body.extend(pre);
                    body.push(Stmt::Let {
                        var: v,
                        annotate: true,
                        init: Init::Scalar(call),
                    });
                    self.scope.push(v);
                }
            }
        }
        let n = if is_run {
            self.rng.between(4, 11)
        } else {
            self.rng.between(2, 6)
        };
        let (stmts, diverges) = self.stmts_keep(n as usize, 0, false, true);
        body.extend(stmts);
        if !diverges {
            if is_run {
                self.preludes.push(Vec::new());
                let fold = self.final_hash();
                let pre = self.preludes.pop().unwrap_or_default();
                body.extend(pre);
                body.extend(fold);
            } else {
                self.preludes.push(Vec::new());
                let ret = self.ret.clone();
                let e = self.mix_expr(&ret);
                let pre = self.preludes.pop().unwrap_or_default();
                body.extend(pre);
                body.push(Stmt::Return(e));
            }
        }
        let f = &mut self.p.funcs[index];
        f.body = body;
        f.work = self.work + 1;
    }

    /// `var h: u64 = …;` then every scalar, array element and struct field in
    /// scope mixed into `h`, then `return h;`.
    fn final_hash(&mut self) -> Vec<Stmt> {
        let mut out = Vec::new();
        let start = self.expr(&Ty::Int(U64), 2, true);
        let h = self.new_var("h", Ty::Int(U64), VarKind::Local);
        out.push(Stmt::Let {
            var: h,
            annotate: true,
            init: Init::Scalar(start),
        });
        let vars: Vec<usize> = self
            .scope
            .iter()
            .copied()
            .filter(|&v| self.p.vars[v].kind != VarKind::Table || self.rng.chance(1, 3))
            .collect();
        for v in vars {
            let ty = self.p.vars[v].ty.clone();
            let place = Place {
                root: v,
                path: Vec::new(),
            };
            self.fold(h, place, &ty, &mut out);
        }
        out.push(Stmt::Return(read_var(h)));
        out
    }

    fn fold(&mut self, h: usize, place: Place, ty: &Ty, out: &mut Vec<Stmt>) {
        match ty {
            Ty::Bool | Ty::Int(_) => {
                let val = Expr::Cast(U64, Box::new(Expr::Read(place)));
                let mul = Expr::Arith(
                    ArOp::Mul,
                    U64,
                    Box::new(read_var(h)),
                    Box::new(Expr::Lit(U64, 1_099_511_628_211)),
                );
                out.push(Stmt::Assign {
                    place: var_place(h),
                    op: None,
                    value: Init::Scalar(Expr::Arith(ArOp::Xor, U64, Box::new(mul), Box::new(val))),
                });
            }
            Ty::Array(el, _) if place.path.is_empty() => {
                let x = self.new_var("x", (**el).clone(), VarKind::ForVar);
                let mut body = Vec::new();
                self.fold(h, var_place(x), el, &mut body);
                out.push(Stmt::ForEach {
                    var: x,
                    seq: place,
                    body,
                });
            }
            Ty::Array(el, n) => {
                for i in 0..*n {
                    let mut p = place.clone();
                    p.path
                        .push(PathElem::Index(Box::new(Expr::Lit(I32, i128::from(i))), *n));
                    self.fold(h, p, el, out);
                }
            }
            Ty::Struct(s) => {
                let fields = self.p.structs[*s].clone();
                for (k, ft) in fields.iter().enumerate() {
                    let mut p = place.clone();
                    p.path.push(PathElem::Field(k));
                    self.fold(h, p, ft, out);
                }
            }
        }
    }

    // ----- statements -----

    /// Up to `n` statements in a new scope; stops after a diverging one.
    fn stmts(&mut self, n: usize, depth: u32, in_loop: bool) -> (Vec<Stmt>, bool) {
        self.stmts_keep(n, depth, in_loop, false)
    }

    /// `keep`: leave the new bindings in scope (a function's top level, so
    /// that the final `return` can use them).
    fn stmts_keep(&mut self, n: usize, depth: u32, in_loop: bool, keep: bool) -> (Vec<Stmt>, bool) {
        let mark = self.scope.len();
        let mut out = Vec::new();
        let mut diverges = false;
        for _ in 0..n {
            self.preludes.push(Vec::new());
            let (s, d) = self.stmt(depth, in_loop);
            let pre = self.preludes.pop().unwrap_or_default();
            out.extend(pre);
            out.extend(s);
            self.work += self.mult;
            if d {
                diverges = true;
                break;
            }
        }
        if !keep {
            self.scope.truncate(mark);
        }
        (out, diverges)
    }

    fn stmt(&mut self, depth: u32, in_loop: bool) -> (Vec<Stmt>, bool) {
        let can_nest = depth < if self.is_run { 3 } else { 2 };
        let can_loop = can_nest && self.mult < MAX_MULT && self.work < self.work_limit / 2;
        // The largest binding is 128 bytes; leave room for guard temporaries
        // and the final hash.
        let can_bind = self.frame + 400 < self.frame_limit;
        // Inside blocks, mostly update values that outlive the block (a
        // binding declared last in a block would be dead).
        if depth > 0 && self.rng.chance(2, 5) {
            let s = if self.rng.chance(2, 3) {
                self.assign_scalar()
            } else {
                self.compound_assign()
            };
            if let Some(s) = s {
                return (vec![s], false);
            }
        }
        loop {
            let k = self.rng.below(100);
            match k {
                0..=17 if can_bind => return (vec![self.let_scalar()], false),
                18..=24 if can_bind => {
                    if let Some(s) = self.let_aggregate() {
                        return (vec![s], false);
                    }
                }
                25..=39 => {
                    if let Some(s) = self.assign_scalar() {
                        return (vec![s], false);
                    }
                }
                40..=47 => {
                    if let Some(s) = self.compound_assign() {
                        return (vec![s], false);
                    }
                }
                48..=51 => {
                    if let Some(s) = self.assign_aggregate() {
                        return (vec![s], false);
                    }
                }
                52..=63 if can_nest => return self.if_stmt(depth, in_loop),
                64..=69 if can_loop && can_bind => return (self.while_stmt(depth), false),
                70..=77 if can_loop && can_bind => return (vec![self.for_range(depth)], false),
                78..=81 if can_loop && can_bind => {
                    if let Some(s) = self.for_each(depth) {
                        return (vec![s], false);
                    }
                }
                82..=84 => {
                    if let Some(s) = self.call_stmt() {
                        return (vec![s], false);
                    }
                }
                85..=86 if in_loop && depth > 0 => {
                    let s = if self.rng.coin() {
                        Stmt::Break
                    } else {
                        Stmt::Continue
                    };
                    return (vec![s], true);
                }
                87..=88 if depth > 0 && (!self.is_run || self.rng.chance(1, 4)) => {
                    let ret = self.ret.clone();
                    let e = self.expr(&ret, 3, true);
                    return (vec![Stmt::Return(e)], true);
                }
                89..=90 if can_nest => {
                    let n = self.rng.between(1, 3) as usize;
                    let (b, d) = self.stmts(n, depth + 1, in_loop);
                    return (vec![Stmt::Block(b)], d);
                }
                91..=99 if can_bind => {
                    // Shadow-free extra binding from a call or a cast-heavy mix.
                    return (vec![self.let_scalar()], false);
                }
                _ => {}
            }
            if !can_bind && self.rng.chance(1, 8) {
                // Nothing else fits: a plain assignment always exists (or a
                // call statement); fall back to a harmless block.
                return (vec![Stmt::Block(Vec::new())], false);
            }
        }
    }

    /// A value of scalar type `ty` that depends on several bindings in
    /// scope (for a helper's result, so that it depends on its work).
    fn mix_expr(&mut self, ty: &Ty) -> Expr {
        let vals: Vec<usize> = self
            .scope
            .iter()
            .copied()
            .filter(|&v| {
                let i = &self.p.vars[v];
                i.ty.is_scalar() && matches!(i.kind, VarKind::Local | VarKind::Param)
            })
            .collect();
        if vals.is_empty() {
            return self.expr(ty, 3, true);
        }
        let n = self.rng.between(1, 3) as usize;
        let mut terms: Vec<Expr> = (0..n)
            .map(|_| Expr::Cast(U64, Box::new(read_var(self.rng.pick(&vals)))))
            .collect();
        terms.push(self.expr(&Ty::Int(U64), 2, true));
        let mut acc = terms.remove(0);
        for t in terms {
            let op = self.rng.pick(&[ArOp::Add, ArOp::Xor, ArOp::Mul, ArOp::Sub]);
            acc = Expr::Arith(op, U64, Box::new(acc), Box::new(t));
        }
        match ty {
            Ty::Int(t) => Expr::Cast(*t, Box::new(acc)),
            _ => {
                let bit = Expr::Arith(
                    ArOp::And,
                    U64,
                    Box::new(acc),
                    Box::new(Expr::Lit(U64, 1 << self.rng.below(64))),
                );
                cmp(CmpOp::Ne, U64, bit, Expr::Lit(U64, 0))
            }
        }
    }

    fn let_scalar(&mut self) -> Stmt {
        let ty = self.scalar_ty();
        let init = self.expr(&ty, 3, true);
        let annotate = match &ty {
            Ty::Int(t) => !(is_typed(&init) || *t == I32) || self.rng.chance(3, 4),
            _ => self.rng.coin(),
        };
        let v = self.new_var("v", ty, VarKind::Local);
        self.scope.push(v);
        Stmt::Let {
            var: v,
            annotate,
            init: Init::Scalar(init),
        }
    }

    fn agg_ty(&mut self) -> Ty {
        match self.rng.below(7) {
            0 if !self.p.structs.is_empty() => Ty::Struct(0),
            5 if self.p.structs.len() > 1 => Ty::Struct(1),
            6 if !self.p.structs.is_empty() => {
                Ty::Array(Box::new(Ty::Struct(0)), self.rng.between(1, 2) as u32)
            }
            1 => Ty::Array(
                Box::new(Ty::Array(
                    Box::new(self.scalar_ty()),
                    self.rng.between(1, 4) as u32,
                )),
                self.rng.between(1, 4) as u32,
            ),
            _ => Ty::Array(
                Box::new(self.scalar_ty()),
                self.rng.pick(&[1u32, 2, 3, 4, 4, 5, 8, 8]),
            ),
        }
    }

    fn let_aggregate(&mut self) -> Option<Stmt> {
        let ty = self.agg_ty();
        let init = self.agg_init(&ty, 2);
        let v = self.new_var("v", ty, VarKind::Local);
        self.scope.push(v);
        Some(Stmt::Let {
            var: v,
            annotate: true,
            init,
        })
    }

    /// A value for an aggregate (or scalar) of type `ty`: a literal, a
    /// repeat, or a copy of an existing place of the same type.
    fn agg_init(&mut self, ty: &Ty, depth: u32) -> Init {
        if !ty.is_scalar()
            && self.rng.chance(1, 3)
            && let Some(p) = self.pick_place(ty, false)
        {
            return Init::Copy(p);
        }
        match ty {
            Ty::Bool | Ty::Int(_) => Init::Scalar(self.expr(ty, depth, true)),
            Ty::Array(el, n) => {
                if self.rng.coin() {
                    Init::Repeat(Box::new(self.agg_init(el, depth)), *n)
                } else {
                    Init::List((0..*n).map(|_| self.agg_init(el, depth)).collect())
                }
            }
            Ty::Struct(s) => {
                let fields = self.p.structs[*s].clone();
                let mut order: Vec<usize> = (0..fields.len()).collect();
                for i in (1..order.len()).rev() {
                    let j = self.rng.below(i as u64 + 1) as usize;
                    order.swap(i, j);
                }
                let vals = order
                    .into_iter()
                    .map(|k| (k, self.agg_init(&fields[k], depth)))
                    .collect();
                Init::Struct(*s, vals)
            }
        }
    }

    fn assign_scalar(&mut self) -> Option<Stmt> {
        let ty = self.scalar_ty();
        let place = self.pick_place(&ty, true)?;
        let value = self.expr(&ty, 3, true);
        Some(Stmt::Assign {
            place,
            op: None,
            value: Init::Scalar(value),
        })
    }

    fn assign_aggregate(&mut self) -> Option<Stmt> {
        let ty = self.agg_ty();
        let place = self.pick_place(&ty, true)?;
        let value = self.agg_init(&ty, 2);
        Some(Stmt::Assign {
            place,
            op: None,
            value,
        })
    }

    fn compound_assign(&mut self) -> Option<Stmt> {
        let ty = self.scalar_ty();
        let place = self.pick_place(&ty, true)?;
        let t = match ty {
            Ty::Bool => {
                let op = self.rng.pick(&[BoolOp::And, BoolOp::Or, BoolOp::Xor]);
                let v = self.bool_expr(3);
                return Some(Stmt::Assign {
                    place,
                    op: Some(CompOp::Bool(op)),
                    value: Init::Scalar(v),
                });
            }
            Ty::Int(t) => t,
            _ => unreachable!(),
        };
        let (op, value) = match self.rng.below(10) {
            0..=5 => {
                let op = self.rng.pick(&[
                    ArOp::Add,
                    ArOp::Sub,
                    ArOp::Mul,
                    ArOp::And,
                    ArOp::Or,
                    ArOp::Xor,
                ]);
                (CompOp::Ar(op), self.int_expr(t, 3, true))
            }
            6 | 7 => {
                let left = self.rng.coin();
                let at = self.rng.pick(&INTS);
                (CompOp::Sh(left), self.shift_amount(t, at, 2))
            }
            _ => {
                let op = if self.rng.coin() {
                    ArOp::Div
                } else {
                    ArOp::Rem
                };
                (CompOp::Ar(op), self.compound_divisor(t, &place))
            }
        };
        Some(Stmt::Assign {
            place,
            op: Some(op),
            value: Init::Scalar(value),
        })
    }

    /// A divisor for `place /= d`: never 0, and never -1 when the place
    /// holds MIN.
    fn compound_divisor(&mut self, t: IntTy, place: &Place) -> Expr {
        match self.rng.below(3) {
            0 => self.nonzero_lit(t),
            1 if self.prelude_ok => {
                let d = self.int_expr(t, 2, true);
                let q = self.new_var("d", Ty::Int(t), VarKind::Local);
                self.push_prelude(Stmt::Let {
                    var: q,
                    annotate: true,
                    init: Init::Scalar(d),
                });
                self.push_prelude(guard_zero(t, q));
                if t.signed() {
                    let cond = Expr::Logic(
                        true,
                        Box::new(cmp(
                            CmpOp::Eq,
                            t,
                            Expr::Read(place.clone()),
                            Expr::Lit(t, t.min()),
                        )),
                        Box::new(cmp(CmpOp::Eq, t, read_var(q), Expr::Lit(t, -1))),
                    );
                    self.push_prelude(Stmt::If {
                        cond,
                        then: vec![set_var(q, Expr::Lit(t, 1))],
                        els: None,
                    });
                }
                self.scope.push(q);
                read_var(q)
            }
            _ => self.safe_divisor(t, 2, true),
        }
    }

    fn push_prelude(&mut self, s: Stmt) {
        self.preludes.last_mut().expect("statement context").push(s);
    }

    fn if_stmt(&mut self, depth: u32, in_loop: bool) -> (Vec<Stmt>, bool) {
        let cond = self.bool_expr(3);
        let n = self.rng.between(1, 3) as usize;
        let (then, d1) = self.stmts(n, depth + 1, in_loop);
        let (els, d2) = match self.rng.below(3) {
            0 => (None, false),
            1 => {
                let n = self.rng.between(1, 2) as usize;
                let (b, d) = self.stmts(n, depth + 1, in_loop);
                (Some(b), d)
            }
            _ => {
                // else if: the nested `if` is generated at the same depth.
                let (s, d) = self.if_stmt(depth, in_loop);
                (Some(s), d)
            }
        };
        let diverges = els.is_some() && d1 && d2;
        (vec![Stmt::If { cond, then, els }], diverges)
    }

    fn enter_loop(&mut self, trips: u64) -> (u64, u64) {
        let saved = (self.mult, self.work);
        self.mult = self.mult.saturating_mul(trips.max(1));
        self.loop_depth += 1;
        saved
    }

    fn leave_loop(&mut self, saved: (u64, u64)) {
        self.mult = saved.0;
        self.loop_depth -= 1;
    }

    fn trips(&mut self) -> i128 {
        let room = (MAX_MULT / self.mult).clamp(1, 8) as i128;
        self.rng.between(0, room)
    }

    fn while_stmt(&mut self, depth: u32) -> Vec<Stmt> {
        let t = self.rng.pick(&INTS);
        let trips = self.trips();
        let lo = if t.signed() {
            self.rng.between(-3, 2)
        } else {
            self.rng.between(0, 2)
        };
        let hi = (lo + trips).max(if t.signed() { lo } else { 1 });
        let c = self.new_var("c", Ty::Int(t), VarKind::Local);
        self.p.vars[c].protected = true;
        let decl = Stmt::Let {
            var: c,
            annotate: true,
            init: Init::Scalar(Expr::Lit(t, lo)),
        };
        self.scope.push(c);
        let inc = Stmt::Assign {
            place: var_place(c),
            op: Some(CompOp::Ar(ArOp::Add)),
            value: Init::Scalar(Expr::Lit(t, 1)),
        };
        let bound = cmp(CmpOp::Lt, t, read_var(c), Expr::Lit(t, hi));
        let saved = self.enter_loop((hi - lo) as u64);
        let top_test = self.rng.chance(2, 3);
        let cond = if !top_test {
            Expr::Bool(true)
        } else if self.rng.coin() {
            self.prelude_ok = false;
            let extra = self.bool_expr(2);
            self.prelude_ok = true;
            Expr::Logic(true, Box::new(bound.clone()), Box::new(extra))
        } else {
            bound.clone()
        };
        let n = self.rng.between(1, 3) as usize;
        let (rest, _) = self.stmts(n, depth + 1, true);
        let mut body = Vec::new();
        if !top_test {
            body.push(Stmt::If {
                cond: Expr::Not(Box::new(bound)),
                then: vec![Stmt::Break],
                els: None,
            });
        }
        body.push(inc);
        body.extend(rest);
        self.leave_loop(saved);
        vec![decl, Stmt::While { cond, body }]
    }

    fn for_range(&mut self, depth: u32) -> Stmt {
        let trips = self.trips();
        let (ty, lo, hi, range) = match self.rng.below(4) {
            0 => {
                let lo = self.rng.between(-3, 3);
                (
                    I32,
                    Expr::Lit(I32, lo),
                    Expr::Lit(I32, lo + trips),
                    (lo, lo + trips - 1),
                )
            }
            1 => {
                let t = self.rng.pick(&INTS);
                let lo = if t.signed() {
                    self.rng.between(-2, 1)
                } else {
                    self.rng.between(0, 1)
                };
                let k = self.typed_const(t, Some(lo + trips));
                let (lo_e, hi_e) = if self.rng.coin() {
                    (Expr::Lit(t, lo), k)
                } else {
                    let kl = self.typed_const(t, Some(lo));
                    (kl, Expr::Lit(t, lo + trips))
                };
                (t, lo_e, hi_e, (lo, lo + trips - 1))
            }
            _ => {
                // lo..(e & M): at most M + 1 - lo trips.
                let t = self.rng.pick(&INTS);
                let m = match trips {
                    0..=1 => 1,
                    2..=3 => 3,
                    _ => 7,
                };
                let lo = if t.signed() {
                    self.rng.between(-1, 0)
                } else {
                    0
                };
                let e = self.int_expr(t, 2, false);
                let hi = Expr::Arith(ArOp::And, t, Box::new(e), Box::new(Expr::Lit(t, m)));
                (t, Expr::Lit(t, lo), hi, (lo, m - 1))
            }
        };
        let i = self.new_var("i", Ty::Int(ty), VarKind::ForVar);
        if range.0 <= range.1 {
            self.p.vars[i].range = Some(range);
        }
        let saved = self.enter_loop((range.1 - range.0 + 1).max(0) as u64);
        self.scope.push(i);
        let n = self.rng.between(1, 3) as usize;
        let (body, _) = self.stmts(n, depth + 1, true);
        self.scope.pop();
        self.leave_loop(saved);
        Stmt::ForRange {
            var: i,
            ty,
            lo,
            hi,
            body,
        }
    }

    fn for_each(&mut self, depth: u32) -> Option<Stmt> {
        let arrays: Vec<usize> = self
            .scope
            .iter()
            .copied()
            .filter(|&v| matches!(self.p.vars[v].ty, Ty::Array(_, n) if u64::from(n) * self.mult <= MAX_MULT))
            .collect();
        if arrays.is_empty() {
            return None;
        }
        let a = self.rng.pick(&arrays);
        let Ty::Array(el, n) = self.p.vars[a].ty.clone() else {
            unreachable!()
        };
        let x = self.new_var("x", (*el).clone(), VarKind::ForVar);
        let saved = self.enter_loop(u64::from(n));
        self.scope.push(x);
        let k = self.rng.between(1, 3) as usize;
        let (body, _) = self.stmts(k, depth + 1, true);
        self.scope.pop();
        self.leave_loop(saved);
        Some(Stmt::ForEach {
            var: x,
            seq: var_place(a),
            body,
        })
    }

    fn call_stmt(&mut self) -> Option<Stmt> {
        let f = self.callable(None)?;
        match self.call_to(f, 2) {
            Expr::Call(f, args) => Some(Stmt::Call(f, args)),
            _ => unreachable!(),
        }
    }

    // ----- places -----

    /// A random place whose type is `ty`, rooted at a visible binding.
    fn pick_place(&mut self, ty: &Ty, assignable: bool) -> Option<Place> {
        let mut cands: Vec<(usize, Vec<Tmpl>)> = Vec::new();
        for &v in &self.scope {
            let info = &self.p.vars[v];
            if assignable {
                let ok = match info.kind {
                    VarKind::Local => !info.protected,
                    VarKind::Static => self.is_run,
                    _ => false,
                };
                if !ok {
                    continue;
                }
            }
            for (path, t) in templates(&info.ty, &self.p.structs) {
                if &t == ty {
                    cands.push((v, path));
                }
            }
        }
        if cands.is_empty() {
            return None;
        }
        // Prefer recent bindings, so that values flow from one statement to
        // the next (`scope` is in declaration order).
        let (root, tmpl) = if self.rng.coin() {
            let newest = cands.iter().map(|c| c.0).max().unwrap_or(0);
            let recent: Vec<_> = cands
                .iter()
                .filter(|c| c.0 + 6 >= newest)
                .cloned()
                .collect();
            self.rng.pick(&recent)
        } else {
            self.rng.pick(&cands)
        };
        let path = tmpl
            .into_iter()
            .map(|t| match t {
                Tmpl::Index(n) => PathElem::Index(Box::new(self.index(n)), n),
                Tmpl::Field(k) => PathElem::Field(k),
            })
            .collect();
        Some(Place { root, path })
    }

    /// An index expression always in `0..n`.
    fn index(&mut self, n: u32) -> Expr {
        let n128 = i128::from(n);
        let loop_vars: Vec<usize> = self
            .scope
            .iter()
            .copied()
            .filter(|&v| matches!(self.p.vars[v].range, Some((lo, hi)) if lo >= 0 && hi < n128))
            .collect();
        let k = self.rng.below(6);
        if k == 0 || self.index_nest >= 2 {
            return if loop_vars.is_empty() || self.rng.coin() {
                Expr::Lit(I32, self.rng.between(0, n128 - 1))
            } else {
                read_var(self.rng.pick(&loop_vars))
            };
        }
        self.index_nest += 1;
        let e = self.index_expr(n, k, &loop_vars);
        self.index_nest -= 1;
        e
    }

    fn index_expr(&mut self, n: u32, k: u64, loop_vars: &[usize]) -> Expr {
        let n128 = i128::from(n);
        let depth = 2 - self.index_nest.min(2);
        match k {
            1 | 2 if !loop_vars.is_empty() => read_var(self.rng.pick(loop_vars)),
            3 if n.is_power_of_two() => {
                let t = self.rng.pick(&INTS);
                let e = self.int_expr(t, depth, t == I32);
                if is_typed(&e) || t == I32 {
                    Expr::Arith(ArOp::And, t, Box::new(e), Box::new(Expr::Lit(t, n128 - 1)))
                } else {
                    Expr::Lit(I32, self.rng.between(0, n128 - 1))
                }
            }
            _ => {
                let t = self.rng.pick(&INTS);
                let e = self.int_expr(t, depth, t == I32);
                if t.signed() {
                    let c = Expr::Cast(U32, Box::new(e));
                    Expr::Arith(ArOp::Rem, U32, Box::new(c), Box::new(Expr::Lit(U32, n128)))
                } else {
                    // `e` typed, or untyped only when t is... never: t is
                    // unsigned here, so `e` is typed.
                    Expr::Arith(ArOp::Rem, t, Box::new(e), Box::new(Expr::Lit(t, n128)))
                }
            }
        }
    }

    // ----- expressions -----

    /// An expression of scalar type `ty`. `untyped_ok`: an untyped integer
    /// expression here would get type `ty` (it is the expected type, or the
    /// position has none and `ty` is `i32`).
    fn expr(&mut self, ty: &Ty, depth: u32, untyped_ok: bool) -> Expr {
        match ty {
            Ty::Bool => self.bool_expr(depth),
            Ty::Int(t) => self.int_expr(*t, depth, untyped_ok),
            _ => unreachable!("scalar expected"),
        }
    }

    /// Flags for the two operands of a same-type operator.
    fn pair(&mut self, uok: bool) -> (bool, bool) {
        if uok {
            (true, true)
        } else if self.rng.coin() {
            (false, true)
        } else {
            (true, false)
        }
    }

    fn int_expr(&mut self, t: IntTy, depth: u32, uok: bool) -> Expr {
        if depth == 0 || self.rng.chance(1, 5) {
            return self.int_leaf(t, uok);
        }
        let d = depth - 1;
        match self.rng.below(20) {
            0..=5 => {
                let op = self.rng.pick(&[
                    ArOp::Add,
                    ArOp::Sub,
                    ArOp::Mul,
                    ArOp::And,
                    ArOp::Or,
                    ArOp::Xor,
                ]);
                let (ul, ur) = self.pair(uok);
                let l = self.int_expr(t, d, ul);
                let r = self.int_expr(t, d, ur);
                Expr::Arith(op, t, Box::new(l), Box::new(r))
            }
            6 | 7 => self.div_expr(t, d, uok),
            8 | 9 => {
                let left = self.rng.coin();
                let at = self.rng.pick(&INTS);
                let v = self.int_expr(t, d, uok);
                let amount = self.shift_amount(t, at, d);
                Expr::Shift(left, t, Box::new(v), Box::new(amount))
            }
            10 | 11 => {
                let x = self.int_expr(t, d, uok);
                if self.rng.coin() && !matches!(x, Expr::Lit(..)) {
                    Expr::Neg(t, Box::new(x))
                } else {
                    Expr::BitNot(t, Box::new(x))
                }
            }
            12..=15 => {
                let from = self.scalar_ty();
                let x = match &from {
                    Ty::Int(s) => self.int_expr(*s, d, *s == I32),
                    _ => self.bool_expr(d),
                };
                Expr::Cast(t, Box::new(x))
            }
            16 | 17 => match self.callable(Some(&Ty::Int(t))) {
                Some(f) => {
                    let call = self.call_to(f, d);
                    self.maybe_paren_callee(call)
                }
                None => self.int_leaf(t, uok),
            },
            _ => self.int_leaf(t, uok),
        }
    }

    fn int_leaf(&mut self, t: IntTy, uok: bool) -> Expr {
        let len = t == U32 && self.rng.chance(1, 3);
        if self.rng.chance(1, 8)
            && let Some(e) = self.post_expr(&Ty::Int(t), len)
        {
            return e;
        }
        match self.rng.below(10) {
            0 | 1 if uok => self.lit(t),
            0 if self.rng.chance(1, 3) => self.typed_const(t, None),
            2 if t == U32 => {
                let arrays: Vec<usize> = self
                    .scope
                    .iter()
                    .copied()
                    .filter(|&v| matches!(self.p.vars[v].ty, Ty::Array(..)))
                    .collect();
                if arrays.is_empty() {
                    self.typed_const(t, None)
                } else {
                    Expr::Len(var_place(self.rng.pick(&arrays)))
                }
            }
            _ => match self.pick_place(&Ty::Int(t), false) {
                Some(p) => Expr::Read(p),
                // No value of this type around: convert one of another type.
                None => {
                    let from = self.scalar_ty();
                    match self.pick_place(&from, false) {
                        Some(p) => Expr::Cast(t, Box::new(Expr::Read(p))),
                        None if uok => self.lit(t),
                        None => self.typed_const(t, None),
                    }
                }
            },
        }
    }

    /// A shift amount of type `at` for a value of type `t`: anything, except
    /// that a constant amount is kept in `0..bits` (W0008).
    fn shift_amount(&mut self, t: IntTy, at: IntTy, depth: u32) -> Expr {
        let e = self.int_expr(at, depth, at == I32);
        if is_const_shape(&e) {
            Expr::Lit(I32, self.rng.between(0, i128::from(t.bits()) - 1))
        } else {
            e
        }
    }

    fn nonzero_lit(&mut self, t: IntTy) -> Expr {
        loop {
            let v = self.lit_value(t);
            if v != 0 && v != -1 {
                return Expr::Lit(t, v);
            }
        }
    }

    /// A divisor expression that is never 0 and never -1.
    fn safe_divisor(&mut self, t: IntTy, depth: u32, uok: bool) -> Expr {
        let b = self.int_expr(t, depth, uok);
        if t.signed() {
            // (b & MAX) | 1: positive and odd.
            let masked = Expr::Arith(ArOp::And, t, Box::new(b), Box::new(Expr::Lit(t, t.max())));
            Expr::Arith(ArOp::Or, t, Box::new(masked), Box::new(Expr::Lit(t, 1)))
        } else {
            Expr::Arith(ArOp::Or, t, Box::new(b), Box::new(Expr::Lit(t, 1)))
        }
    }

    fn div_expr(&mut self, t: IntTy, d: u32, uok: bool) -> Expr {
        let op = if self.rng.coin() {
            ArOp::Div
        } else {
            ArOp::Rem
        };
        let (ul, ur) = self.pair(uok);
        match self.rng.below(5) {
            0 => {
                let a = self.int_expr(t, d, uok);
                let b = self.nonzero_lit(t);
                Expr::Arith(op, t, Box::new(a), Box::new(b))
            }
            1 if self.prelude_ok => {
                // Guards hoisted before the statement.
                let divisor = self.int_expr(t, d, true);
                let q = self.new_var("d", Ty::Int(t), VarKind::Local);
                self.push_prelude(Stmt::Let {
                    var: q,
                    annotate: true,
                    init: Init::Scalar(divisor),
                });
                self.push_prelude(guard_zero(t, q));
                let a = if t.signed() {
                    let dividend = self.int_expr(t, d, true);
                    let n = self.new_var("n", Ty::Int(t), VarKind::Local);
                    self.push_prelude(Stmt::Let {
                        var: n,
                        annotate: true,
                        init: Init::Scalar(dividend),
                    });
                    let cond = Expr::Logic(
                        true,
                        Box::new(cmp(CmpOp::Eq, t, read_var(n), Expr::Lit(t, t.min()))),
                        Box::new(cmp(CmpOp::Eq, t, read_var(q), Expr::Lit(t, -1))),
                    );
                    self.push_prelude(Stmt::If {
                        cond,
                        then: vec![set_var(q, Expr::Lit(t, 1))],
                        els: None,
                    });
                    self.scope.push(n);
                    read_var(n)
                } else {
                    self.int_expr(t, d, true)
                };
                self.scope.push(q);
                Expr::Arith(op, t, Box::new(a), Box::new(read_var(q)))
            }
            2 if t.signed() => {
                // (a >> 1) is never MIN, so any odd divisor is fine.
                let a = self.int_expr(t, d, ul);
                let half = Expr::Shift(false, t, Box::new(a), Box::new(Expr::Lit(I32, 1)));
                let b = self.int_expr(t, d, ur);
                let odd = Expr::Arith(ArOp::Or, t, Box::new(b), Box::new(Expr::Lit(t, 1)));
                Expr::Arith(op, t, Box::new(half), Box::new(odd))
            }
            _ => {
                let a = self.int_expr(t, d, ul);
                let b = self.safe_divisor(t, d, ur);
                Expr::Arith(op, t, Box::new(a), Box::new(b))
            }
        }
    }

    fn bool_expr(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.rng.chance(1, 6) {
            return self.bool_leaf();
        }
        let d = depth - 1;
        match self.rng.below(20) {
            0..=6 => self.int_cmp(d),
            7 => {
                let op = if self.rng.coin() {
                    CmpOp::Eq
                } else {
                    CmpOp::Ne
                };
                let l = self.bool_expr(d);
                let r = self.bool_expr(d);
                Expr::Cmp(op, Ty::Bool, Box::new(l), Box::new(r))
            }
            8..=10 => {
                let l = self.bool_expr(d);
                let r = self.bool_expr(d);
                Expr::Logic(self.rng.coin(), Box::new(l), Box::new(r))
            }
            11 | 12 => Expr::Not(Box::new(self.bool_expr(d))),
            13 | 14 => {
                let op = self.rng.pick(&[BoolOp::And, BoolOp::Or, BoolOp::Xor]);
                let l = self.bool_expr(d);
                let r = self.bool_expr(d);
                Expr::BoolBin(op, Box::new(l), Box::new(r))
            }
            15 | 16 => self.guarded_div_cmp(d).unwrap_or_else(|| self.int_cmp(d)),
            17 => match self.callable(Some(&Ty::Bool)) {
                Some(f) => {
                    let call = self.call_to(f, d);
                    self.maybe_paren_callee(call)
                }
                None => self.bool_leaf(),
            },
            _ => self.bool_leaf(),
        }
    }

    fn bool_leaf(&mut self) -> Expr {
        if self.rng.chance(1, 10)
            && let Some(e) = self.post_expr(&Ty::Bool, false)
        {
            return e;
        }
        match self.rng.below(8) {
            0 => Expr::Bool(self.rng.coin()),
            1..=4 => match self.pick_place(&Ty::Bool, false) {
                Some(p) => Expr::Read(p),
                None => self.int_cmp(0),
            },
            _ => self.int_cmp(0),
        }
    }

    fn int_cmp(&mut self, d: u32) -> Expr {
        let t = self.rng.pick(&INTS);
        let mut op = self.rng.pick(&[
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ]);
        let (ul, ur) = if t == I32 {
            (true, true)
        } else {
            self.pair(false)
        };
        let l = self.int_expr(t, d, ul);
        let r = self.int_expr(t, d, ur);
        op = self.avoid_w0009(op, t, &l, &r);
        cmp_ty(op, Ty::Int(t), l, r)
    }

    /// W0009: an unsigned value compared with a literal 0 in a way that is
    /// always true or false; such a comparison becomes `==` or `!=`.
    fn avoid_w0009(&mut self, op: CmpOp, t: IntTy, l: &Expr, r: &Expr) -> CmpOp {
        let zero = |e: &Expr| matches!(e, Expr::Lit(_, 0));
        if !t.signed()
            && ((matches!(op, CmpOp::Ge | CmpOp::Lt) && zero(r))
                || (matches!(op, CmpOp::Le | CmpOp::Gt) && zero(l)))
        {
            if self.rng.coin() {
                CmpOp::Eq
            } else {
                CmpOp::Ne
            }
        } else {
            op
        }
    }

    /// `d != 0 && [(d != -1 || n != MIN) &&] (n / d) CMP r`, where `d` is a
    /// variable: the division is only evaluated when it cannot trap.
    fn guarded_div_cmp(&mut self, d: u32) -> Option<Expr> {
        let t = self.rng.pick(&INTS);
        let dv = self.pick_place(&Ty::Int(t), false)?;
        // Typed: it is also compared with MIN on its own.
        let n = self.int_leaf(t, false);
        let op = if self.rng.coin() {
            ArOp::Div
        } else {
            ArOp::Rem
        };
        let quotient = Expr::Arith(op, t, Box::new(n.clone()), Box::new(Expr::Read(dv.clone())));
        let r = self.int_expr(t, d, true);
        let cop = self.rng.pick(&[CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Gt]);
        let cop = self.avoid_w0009(cop, t, &quotient, &r);
        let mut test = cmp(cop, t, quotient, r);
        if t.signed() {
            let not_overflow = Expr::Logic(
                false,
                Box::new(cmp(CmpOp::Ne, t, Expr::Read(dv.clone()), Expr::Lit(t, -1))),
                Box::new(cmp(CmpOp::Ne, t, n, Expr::Lit(t, t.min()))),
            );
            test = Expr::Logic(true, Box::new(not_overflow), Box::new(test));
        }
        let nonzero = cmp(CmpOp::Ne, t, Expr::Read(dv), Expr::Lit(t, 0));
        Some(Expr::Logic(true, Box::new(nonzero), Box::new(test)))
    }

    /// A helper the current function may call (lower index, within the work
    /// budget), optionally with the given return type.
    fn callable(&mut self, ret: Option<&Ty>) -> Option<usize> {
        let cands: Vec<usize> = (0..self.cur_fn)
            .filter(|&f| ret.is_none_or(|r| &self.p.funcs[f].ret == r))
            .filter(|&f| self.work + self.mult * (self.p.funcs[f].work + 1) <= self.work_limit)
            .collect();
        if cands.is_empty() {
            None
        } else {
            Some(self.rng.pick(&cands))
        }
    }

    /// Sometimes `(f)(x)` or `((f))(x)` instead of `f(x)`.
    fn maybe_paren_callee(&mut self, call: Expr) -> Expr {
        match call {
            Expr::Call(f, args) if self.rng.chance(1, 4) => {
                Expr::ParenCall(self.rng.between(1, 2) as u8, f, args)
            }
            other => other,
        }
    }

    /// A postfix chain on a primary other than a plain variable, ending in
    /// a scalar of type `want` (or, with `len`, in an array whose `.len` is
    /// taken: then `want` is `u32`): an element or field of an array,
    /// repeat or struct literal (nested, parenthesised or not), or of a
    /// parenthesised place. `None` when nothing fits.
    fn post_expr(&mut self, want: &Ty, len: bool) -> Option<Expr> {
        if self.post_nest > 0 || self.index_nest > 0 {
            return None;
        }
        // An aggregate type with a path to `want` (or to an array).
        let mut found = None;
        for _ in 0..4 {
            let ty = match self.rng.below(3) {
                0 if !len => Ty::Array(Box::new(want.clone()), self.rng.between(1, 4) as u32),
                _ => self.agg_ty(),
            };
            let paths: Vec<Vec<Tmpl>> = templates(&ty, &self.p.structs)
                .into_iter()
                .filter(|(_, t)| {
                    if len {
                        matches!(t, Ty::Array(..))
                    } else {
                        t == want
                    }
                })
                .map(|(p, _)| p)
                .collect();
            if !paths.is_empty() {
                found = Some((ty, self.rng.pick(&paths)));
                break;
            }
        }
        let (ty, tmpl) = found?;
        self.post_nest += 1;
        let place = if self.rng.chance(1, 3) {
            self.pick_place(&ty, false)
        } else {
            None
        };
        let mut prim = match place {
            Some(p) => Prim::Place(p),
            None => {
                let init = self.literal(&ty);
                Prim::Lit(ty, init)
            }
        };
        if self.rng.chance(1, 4) {
            prim = Prim::Paren(Box::new(prim));
        }
        let path = tmpl
            .into_iter()
            .map(|t| match t {
                Tmpl::Index(n) => PathElem::Index(Box::new(self.index(n)), n),
                Tmpl::Field(k) => PathElem::Field(k),
            })
            .collect();
        self.post_nest -= 1;
        Some(Expr::Post(Box::new(prim), path, len))
    }

    /// An array, repeat or struct literal of aggregate type `ty` that types
    /// without an expected type: the first element of an array is typed
    /// (it gives the element type), later ones may be untyped.
    fn literal(&mut self, ty: &Ty) -> Init {
        let mut init = loop {
            match self.agg_init(ty, 1) {
                Init::Copy(_) => continue,
                i => break i,
            }
        };
        self.type_first(&mut init, ty);
        self.work += self.mult * ty.size(&self.p.structs).div_ceil(8);
        init
    }

    fn type_first(&mut self, init: &mut Init, ty: &Ty) {
        match (init, ty) {
            (Init::List(xs), Ty::Array(el, _)) => self.type_first(&mut xs[0], el),
            (Init::Repeat(x, _), Ty::Array(el, _)) => self.type_first(x, el),
            (Init::Scalar(e), Ty::Int(t)) if *t != I32 && !is_typed(e) => {
                *e = self.typed_const(*t, None);
            }
            _ => {}
        }
    }

    fn call_to(&mut self, f: usize, d: u32) -> Expr {
        self.work += self.mult * (self.p.funcs[f].work + 1);
        let params = self.p.funcs[f].params.clone();
        let args = params
            .iter()
            .map(|&p| {
                let ty = self.p.vars[p].ty.clone();
                self.expr(&ty, d, true)
            })
            .collect();
        Expr::Call(f, args)
    }
}

#[derive(Clone)]
enum Tmpl {
    Index(u32),
    Field(usize),
}

/// Every path into a value of type `ty` with the type it leads to.
fn templates(ty: &Ty, structs: &[Vec<Ty>]) -> Vec<(Vec<Tmpl>, Ty)> {
    let mut out = vec![(Vec::new(), ty.clone())];
    match ty {
        Ty::Array(el, n) => {
            for (mut p, t) in templates(el, structs) {
                p.insert(0, Tmpl::Index(*n));
                out.push((p, t));
            }
        }
        Ty::Struct(s) => {
            for (k, ft) in structs[*s].iter().enumerate() {
                for (mut p, t) in templates(ft, structs) {
                    p.insert(0, Tmpl::Field(k));
                    out.push((p, t));
                }
            }
        }
        _ => {}
    }
    out
}

fn var_place(v: usize) -> Place {
    Place {
        root: v,
        path: Vec::new(),
    }
}

fn read_var(v: usize) -> Expr {
    Expr::Read(var_place(v))
}

fn set_var(v: usize, e: Expr) -> Stmt {
    Stmt::Assign {
        place: var_place(v),
        op: None,
        value: Init::Scalar(e),
    }
}

fn cmp(op: CmpOp, t: IntTy, l: Expr, r: Expr) -> Expr {
    cmp_ty(op, Ty::Int(t), l, r)
}

fn cmp_ty(op: CmpOp, t: Ty, l: Expr, r: Expr) -> Expr {
    Expr::Cmp(op, t, Box::new(l), Box::new(r))
}

/// `if q == 0 { q = 1; }`
fn guard_zero(t: IntTy, q: usize) -> Stmt {
    Stmt::If {
        cond: cmp(CmpOp::Eq, t, read_var(q), Expr::Lit(t, 0)),
        then: vec![set_var(q, Expr::Lit(t, 1))],
        els: None,
    }
}

// ---------------------------------------------------------------------------
// KPL printer.

struct Out {
    s: String,
    indent: usize,
}

impl Out {
    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.s.push_str("    ");
        }
        self.s.push_str(text);
        self.s.push('\n');
    }
}

fn kpl_ty(t: &Ty) -> String {
    match t {
        Ty::Bool => "bool".to_string(),
        Ty::Int(i) => i.name().to_string(),
        Ty::Array(e, n) => format!("[{}; {n}]", kpl_ty(e)),
        Ty::Struct(s) => format!("S{s}"),
    }
}

struct Kpl<'a> {
    p: &'a Program,
    u: Usage,
}

impl Program {
    fn render_kpl(&self) -> String {
        let k = Kpl {
            p: self,
            u: Usage::of(self),
        };
        let mut o = Out {
            s: String::from("// Generated by kplc::difftest.\n\nuse kernel::log;\n\n"),
            indent: 0,
        };
        for (i, fields) in self.structs.iter().enumerate() {
            if !self.struct_used(i, &k.u) {
                continue;
            }
            o.line(&format!("/// Struct {i}."));
            o.line(&format!("struct S{i} {{"));
            for (j, f) in fields.iter().enumerate() {
                if j == 0 {
                    o.line("    /// The first field.");
                }
                o.line(&format!("    f{j}: {},", kpl_ty(f)));
            }
            o.line("}");
            o.line("");
        }
        for (i, (t, v)) in self.consts.iter().enumerate() {
            if k.u.consts[i] {
                o.line(&format!("const K{i}: {} = {};", t.name(), lit_kpl(*v)));
            }
        }
        for (id, init) in &self.globals {
            let v = &self.vars[*id];
            if v.kind == VarKind::Table && !k.u.read[*id] {
                continue;
            }
            let kw = if v.kind == VarKind::Table {
                "const"
            } else {
                "static"
            };
            o.line(&format!(
                "{kw} {}: {} = {};",
                k.name(*id),
                kpl_ty(&v.ty),
                k.init(init)
            ));
        }
        o.line("");
        for (fi, f) in self.funcs.iter().enumerate() {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|&p| format!("{}: {}", self.vars[p].name, kpl_ty(&self.vars[p].ty)))
                .collect();
            let export = if fi + 1 == self.funcs.len() {
                o.line("/// The entry point the differential test calls.");
                "export "
            } else {
                ""
            };
            o.line(&format!(
                "{export}fn {}({}) -> {} {{",
                self.fname(fi),
                params.join(", "),
                kpl_ty(&f.ret)
            ));
            o.indent += 1;
            k.stmts(&mut o, &f.body);
            o.indent -= 1;
            o.line("}");
            o.line("");
        }
        o.s.push_str(PROBE);
        o.s
    }
}

/// Appended to every KPL program: the productions `run` cannot use because
/// the differential test has no way to compare them (slice types need host
/// buffers, `log` is an effect outside the program, `abort` traps). It is
/// checked and compiled with every program, never called.
const PROBE: &str = "/// Not called by the differential test.
export fn probe(src: []u8, dst: []mut u8) {
    if src.len > dst.len {
        abort;
    }
    for i in 0..src.len {
        dst[i] = src[i];
    }
    log(\"probe\");
    return;
}
";

fn lit_kpl(v: i128) -> String {
    if v < 0 {
        format!("({v})")
    } else {
        v.to_string()
    }
}

impl Kpl<'_> {
    fn name(&self, v: usize) -> String {
        let info = &self.p.vars[v];
        if matches!(info.kind, VarKind::Local | VarKind::ForVar) && !self.u.read[v] {
            format!("_{}", info.name)
        } else {
            info.name.clone()
        }
    }

    fn stmts(&self, o: &mut Out, ss: &[Stmt]) {
        for s in ss {
            self.stmt(o, s);
        }
    }

    fn block(&self, o: &mut Out, head: &str, body: &[Stmt]) {
        o.line(&format!("{head}{{"));
        o.indent += 1;
        self.stmts(o, body);
        o.indent -= 1;
    }

    fn stmt(&self, o: &mut Out, s: &Stmt) {
        match s {
            Stmt::Let {
                var,
                annotate,
                init,
            } => {
                let kw = if self.u.assigned[*var] { "var" } else { "let" };
                let ann = if *annotate {
                    format!(": {}", kpl_ty(&self.p.vars[*var].ty))
                } else {
                    String::new()
                };
                o.line(&format!(
                    "{kw} {}{ann} = {};",
                    self.name(*var),
                    self.init(init)
                ));
            }
            Stmt::Assign { place, op, value } => {
                let sym = match op {
                    None => "=".to_string(),
                    Some(CompOp::Ar(a)) => format!("{}=", a.sym()),
                    Some(CompOp::Sh(true)) => "<<=".to_string(),
                    Some(CompOp::Sh(false)) => ">>=".to_string(),
                    Some(CompOp::Bool(b)) => format!("{}=", b.sym()),
                };
                o.line(&format!(
                    "{} {sym} {};",
                    self.place(place),
                    self.init(value)
                ));
            }
            Stmt::If { .. } => {
                self.if_chain(o, s, "");
            }
            Stmt::While { cond, body } => {
                self.block(o, &format!("while {} ", self.expr(cond)), body);
                o.line("}");
            }
            Stmt::ForRange {
                var, lo, hi, body, ..
            } => {
                let head = format!(
                    "for {} in {}..{} ",
                    self.name(*var),
                    self.expr(lo),
                    self.expr(hi)
                );
                self.block(o, &head, body);
                o.line("}");
            }
            Stmt::ForEach { var, seq, body } => {
                let head = format!("for {} in {} ", self.name(*var), self.place(seq));
                self.block(o, &head, body);
                o.line("}");
            }
            Stmt::Break => o.line("break;"),
            Stmt::Continue => o.line("continue;"),
            Stmt::Return(e) => o.line(&format!("return {};", self.expr(e))),
            Stmt::Call(f, args) => o.line(&format!("{};", self.call(*f, args))),
            Stmt::Block(b) => {
                self.block(o, "", b);
                o.line("}");
            }
        }
    }

    fn if_chain(&self, o: &mut Out, s: &Stmt, prefix: &str) {
        let Stmt::If { cond, then, els } = s else {
            unreachable!()
        };
        self.block(o, &format!("{prefix}if {} ", self.expr(cond)), then);
        match els {
            None => o.line("}"),
            Some(e) if e.len() == 1 && matches!(e[0], Stmt::If { .. }) => {
                self.if_chain(o, &e[0], "} else ");
            }
            Some(e) => {
                self.block(o, "} else ", e);
                o.line("}");
            }
        }
    }

    fn init(&self, i: &Init) -> String {
        match i {
            Init::Scalar(e) => self.expr(e),
            Init::List(xs) => {
                let items: Vec<String> = xs.iter().map(|x| self.init(x)).collect();
                format!("[{}]", items.join(", "))
            }
            Init::Repeat(x, n) => format!("[{}; {n}]", self.init(x)),
            Init::Copy(p) => self.place(p),
            Init::Struct(s, fs) => {
                let items: Vec<String> = fs
                    .iter()
                    .map(|(k, x)| format!(".f{k} = {}", self.init(x)))
                    .collect();
                format!("S{s} {{ {} }}", items.join(", "))
            }
        }
    }

    fn place(&self, p: &Place) -> String {
        let mut s = self.name(p.root);
        self.path(&mut s, &p.path);
        s
    }

    fn call(&self, f: usize, args: &[Expr]) -> String {
        let a: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
        format!("{}({})", self.p.fname(f), a.join(", "))
    }

    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Lit(_, v) => lit_kpl(*v),
            Expr::Bool(b) => b.to_string(),
            Expr::Const(k) => format!("K{k}"),
            Expr::Read(p) => self.place(p),
            Expr::Len(p) => format!("{}.len", self.place(p)),
            Expr::Neg(_, x) => format!("(-{})", self.expr(x)),
            Expr::BitNot(_, x) => format!("(~{})", self.expr(x)),
            Expr::Not(x) => format!("(!{})", self.expr(x)),
            Expr::Arith(op, _, l, r) => {
                format!("({} {} {})", self.expr(l), op.sym(), self.expr(r))
            }
            Expr::BoolBin(op, l, r) => {
                format!("({} {} {})", self.expr(l), op.sym(), self.expr(r))
            }
            Expr::Shift(left, _, l, r) => format!(
                "({} {} {})",
                self.expr(l),
                if *left { "<<" } else { ">>" },
                self.expr(r)
            ),
            Expr::Cmp(op, _, l, r) => {
                format!("({} {} {})", self.expr(l), op.sym(), self.expr(r))
            }
            Expr::Logic(and, l, r) => format!(
                "({} {} {})",
                self.expr(l),
                if *and { "&&" } else { "||" },
                self.expr(r)
            ),
            Expr::Cast(to, x) => format!("({} as {})", self.expr(x), to.name()),
            Expr::Call(f, args) => self.call(*f, args),
            Expr::ParenCall(n, f, args) => {
                let a: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
                let (open, close) = ("(".repeat(*n as usize), ")".repeat(*n as usize));
                format!("{open}{}{close}({})", self.p.fname(*f), a.join(", "))
            }
            Expr::Post(prim, path, len) => {
                let mut s = self.prim(prim);
                self.path(&mut s, path);
                if *len {
                    s.push_str(".len");
                }
                s
            }
        }
    }

    fn prim(&self, p: &Prim) -> String {
        match p {
            Prim::Lit(_, i) => self.init(i),
            Prim::Place(p) => format!("({})", self.place(p)),
            Prim::Paren(x) => format!("({})", self.prim(x)),
        }
    }

    fn path(&self, s: &mut String, path: &[PathElem]) {
        for e in path {
            match e {
                PathElem::Index(i, _) => {
                    let _ = write!(s, "[{}]", self.expr(i));
                }
                PathElem::Field(k) => {
                    let _ = write!(s, ".f{k}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// C printer.

/// Helpers shared by all cases, behind an include guard. All arithmetic is
/// done on `uint64_t` and converted back with `kd_w_T`, which truncates and
/// sign-extends explicitly.
fn c_prelude() -> String {
    let mut s = String::from(
        "#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef KD_PRELUDE
#define KD_PRELUDE 1
static inline void kd_trap(int code) {
    printf(\"trap %d\\n\", code);
    fflush(stdout);
    exit(3);
}
static inline uint64_t kd_ix(uint64_t i, uint64_t n) {
    if (i >= n) kd_trap(3);
    return i;
}
static inline int kd_eq_b(int a, int b) { return a == b; }
static inline int kd_ne_b(int a, int b) { return a != b; }
",
    );
    for t in INTS {
        let n = t.name();
        let c = t.c();
        let w = t.bits();
        let mask = if w == 64 {
            "UINT64_MAX".to_string()
        } else {
            format!("UINT64_C({:#x})", (1u64 << w) - 1)
        };
        if t.signed() {
            let sign = format!("UINT64_C({:#x})", 1u64 << (w - 1));
            let _ = writeln!(
                s,
                "static inline {c} kd_w_{n}(uint64_t v) {{ v &= {mask}; return v < {sign} ? ({c})v : ({c})(-(int64_t)({mask} ^ v) - 1); }}"
            );
        } else {
            let _ = writeln!(
                s,
                "static inline {c} kd_w_{n}(uint64_t v) {{ return ({c})v; }}"
            );
        }
        for (op, sym) in [
            ("add", "+"),
            ("sub", "-"),
            ("mul", "*"),
            ("and", "&"),
            ("or", "|"),
            ("xor", "^"),
        ] {
            let _ = writeln!(
                s,
                "static inline {c} kd_{op}_{n}({c} a, {c} b) {{ return kd_w_{n}((uint64_t)a {sym} (uint64_t)b); }}"
            );
        }
        let _ = writeln!(
            s,
            "static inline {c} kd_neg_{n}({c} a) {{ return kd_w_{n}((uint64_t)0 - (uint64_t)a); }}"
        );
        let _ = writeln!(
            s,
            "static inline {c} kd_not_{n}({c} a) {{ return kd_w_{n}(~(uint64_t)a); }}"
        );
        let _ = writeln!(
            s,
            "static inline {c} kd_shl_{n}({c} a, uint64_t s) {{ return kd_w_{n}((uint64_t)a << (s & {})); }}",
            w - 1
        );
        if t.signed() {
            // (uint64_t)a is the 64-bit sign extension of a; shift it
            // logically and fill the top with copies of the sign bit.
            let _ = writeln!(
                s,
                "static inline {c} kd_shr_{n}({c} a, uint64_t s) {{ unsigned k = (unsigned)(s & {}); uint64_t u = (uint64_t)a; uint64_t r = u >> k; if (u >> 63) r |= ~(UINT64_MAX >> k); return kd_w_{n}(r); }}",
                w - 1
            );
            let min = if w == 64 {
                "INT64_MIN".to_string()
            } else {
                format!("INT{w}_MIN")
            };
            for (op, sym) in [("div", "/"), ("rem", "%")] {
                let _ = writeln!(
                    s,
                    "static inline {c} kd_{op}_{n}({c} a, {c} b) {{ if (b == 0) kd_trap(1); if (a == {min} && b == -1) kd_trap(2); return kd_w_{n}((uint64_t)((int64_t)a {sym} (int64_t)b)); }}"
                );
            }
        } else {
            let _ = writeln!(
                s,
                "static inline {c} kd_shr_{n}({c} a, uint64_t s) {{ return kd_w_{n}((uint64_t)a >> (s & {})); }}",
                w - 1
            );
            for (op, sym) in [("div", "/"), ("rem", "%")] {
                let _ = writeln!(
                    s,
                    "static inline {c} kd_{op}_{n}({c} a, {c} b) {{ if (b == 0) kd_trap(1); return kd_w_{n}((uint64_t)a {sym} (uint64_t)b); }}"
                );
            }
        }
        for (op, sym) in [
            ("eq", "=="),
            ("ne", "!="),
            ("lt", "<"),
            ("le", "<="),
            ("gt", ">"),
            ("ge", ">="),
        ] {
            let _ = writeln!(
                s,
                "static inline int kd_{op}_{n}({c} a, {c} b) {{ return a {sym} b; }}"
            );
        }
    }
    s.push_str("#endif\n");
    s
}

fn c_lit(t: IntTy, v: i128) -> String {
    match t {
        U64 => format!("UINT64_C({v})"),
        I64 if v == t.min() => "INT64_MIN".to_string(),
        I64 => format!("INT64_C({v})"),
        I32 if v == t.min() => "INT32_MIN".to_string(),
        U32 => format!("UINT32_C({v})"),
        _ if v < 0 => format!("({v})"),
        _ => v.to_string(),
    }
}

struct C<'a> {
    p: &'a Program,
    u: Usage,
    tmp: std::cell::Cell<usize>,
}

impl Program {
    fn render_c(&self) -> String {
        let c = C {
            p: self,
            u: Usage::of(self),
            tmp: std::cell::Cell::new(0),
        };
        let mut o = Out {
            s: c_prelude(),
            indent: 0,
        };
        let px = &self.prefix;
        o.line(&format!("/* Generated by kplc::difftest: case {px} */"));
        for (i, fields) in self.structs.iter().enumerate() {
            o.line(&format!("struct {px}S{i} {{"));
            for (j, f) in fields.iter().enumerate() {
                o.line(&format!("    {};", c.decl(f, &format!("f{j}"))));
            }
            o.line("};");
        }
        for (id, init) in &self.globals {
            let v = &self.vars[*id];
            if v.kind == VarKind::Table && !c.u.read[*id] {
                continue;
            }
            let q = if v.kind == VarKind::Table {
                "static const"
            } else {
                "static"
            };
            o.line(&format!(
                "{q} {} = {};",
                c.decl(&v.ty, &c.name(*id)),
                c.const_init(init)
            ));
        }
        for (fi, f) in self.funcs.iter().enumerate() {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|&p| c.decl(&self.vars[p].ty, &self.vars[p].name))
                .collect();
            o.line(&format!(
                "static {} {}{}({}) {{",
                c_scalar(&f.ret),
                px,
                self.fname(fi),
                params.join(", ")
            ));
            o.indent += 1;
            c.stmts(&mut o, &f.body);
            o.indent -= 1;
            o.line("}");
        }
        o.line("#ifndef KD_NO_MAIN");
        o.line("int main(int argc, char **argv) {");
        o.line("    uint64_t a, b, c;");
        o.line("    if (argc != 4) {");
        o.line("        fprintf(stderr, \"usage: %s A B C\\n\", argv[0]);");
        o.line("        return 2;");
        o.line("    }");
        o.line("    a = (uint64_t)strtoull(argv[1], 0, 10);");
        o.line("    b = (uint64_t)strtoull(argv[2], 0, 10);");
        o.line("    c = (uint64_t)strtoull(argv[3], 0, 10);");
        o.line(&format!(
            "    printf(\"%llu\\n\", (unsigned long long){px}run(a, b, c));"
        ));
        o.line("    return 0;");
        o.line("}");
        o.line("#endif");
        o.s
    }
}

fn c_scalar(t: &Ty) -> &'static str {
    match t {
        Ty::Bool => "int",
        Ty::Int(i) => i.c(),
        _ => unreachable!("scalar expected"),
    }
}

impl C<'_> {
    fn name(&self, v: usize) -> String {
        let info = &self.p.vars[v];
        match info.kind {
            VarKind::Static | VarKind::Table => format!("{}{}", self.p.prefix, info.name),
            _ => info.name.clone(),
        }
    }

    fn fresh(&self) -> String {
        let n = self.tmp.get();
        self.tmp.set(n + 1);
        format!("t_{n}")
    }

    /// A declaration of `name` with type `ty`.
    fn decl(&self, ty: &Ty, name: &str) -> String {
        match ty {
            Ty::Bool | Ty::Int(_) => format!("{} {name}", c_scalar(ty)),
            Ty::Array(el, n) => self.decl(el, &format!("{name}[{n}]")),
            Ty::Struct(s) => format!("struct {}S{s} {name}", self.p.prefix),
        }
    }

    /// A brace initializer for statics and tables (literals only).
    fn const_init(&self, i: &Init) -> String {
        match i {
            Init::Scalar(e) => self.expr(e),
            Init::List(xs) => {
                let items: Vec<String> = xs.iter().map(|x| self.const_init(x)).collect();
                format!("{{ {} }}", items.join(", "))
            }
            Init::Repeat(x, n) => {
                let item = self.const_init(x);
                let items = vec![item; *n as usize];
                format!("{{ {} }}", items.join(", "))
            }
            _ => unreachable!("constant initializers are literals"),
        }
    }

    fn stmts(&self, o: &mut Out, ss: &[Stmt]) {
        for s in ss {
            self.stmt(o, s);
        }
    }

    fn unread(&self, o: &mut Out, v: usize) {
        if !self.u.read[v] {
            o.line(&format!("(void){};", self.name(v)));
        }
    }

    fn stmt(&self, o: &mut Out, s: &Stmt) {
        match s {
            Stmt::Let { var, init, .. } => {
                let ty = &self.p.vars[*var].ty;
                let name = self.name(*var);
                if ty.is_scalar() {
                    let Init::Scalar(e) = init else {
                        unreachable!()
                    };
                    o.line(&format!("{} = {};", self.decl(ty, &name), self.expr(e)));
                } else {
                    o.line(&format!("{};", self.decl(ty, &name)));
                    o.line(&format!("memset(&{name}, 0, sizeof {name});"));
                    self.init_into(o, &name, ty, init);
                }
                self.unread(o, *var);
            }
            Stmt::Assign { place, op, value } => {
                let ty = self.p.place_ty(place);
                let lv = self.place(place);
                match (op, value) {
                    (None, Init::Scalar(e)) => o.line(&format!("{lv} = {};", self.expr(e))),
                    (None, init) => {
                        // Build the new value first: the right side may read
                        // the target.
                        let t = self.fresh();
                        o.line("{");
                        o.indent += 1;
                        o.line(&format!("{};", self.decl(&ty, &t)));
                        o.line(&format!("memset(&{t}, 0, sizeof {t});"));
                        self.init_into(o, &t, &ty, init);
                        o.line(&format!("memcpy(&{lv}, &{t}, sizeof {t});"));
                        o.indent -= 1;
                        o.line("}");
                    }
                    (Some(op), Init::Scalar(e)) => {
                        let v = self.expr(e);
                        let rhs = match (op, &ty) {
                            (CompOp::Ar(a), Ty::Int(t)) => {
                                format!("kd_{}_{}({lv}, {v})", a.c(), t.name())
                            }
                            (CompOp::Sh(left), Ty::Int(t)) => format!(
                                "kd_{}_{}({lv}, (uint64_t)({v}))",
                                if *left { "shl" } else { "shr" },
                                t.name()
                            ),
                            (CompOp::Bool(b), Ty::Bool) => format!("({lv} {} {v})", b.sym()),
                            _ => unreachable!(),
                        };
                        o.line(&format!("{lv} = {rhs};"));
                    }
                    _ => unreachable!(),
                }
            }
            Stmt::If { cond, then, els } => {
                o.line(&format!("if ({}) {{", self.expr(cond)));
                o.indent += 1;
                self.stmts(o, then);
                o.indent -= 1;
                if let Some(e) = els {
                    o.line("} else {");
                    o.indent += 1;
                    self.stmts(o, e);
                    o.indent -= 1;
                }
                o.line("}");
            }
            Stmt::While { cond, body } => {
                o.line(&format!("while ({}) {{", self.expr(cond)));
                o.indent += 1;
                self.stmts(o, body);
                o.indent -= 1;
                o.line("}");
            }
            Stmt::ForRange {
                var,
                ty,
                lo,
                hi,
                body,
            } => {
                let i = self.name(*var);
                let c = ty.c();
                let n = ty.name();
                o.line("{");
                o.indent += 1;
                o.line(&format!("{c} lo_{i} = {};", self.expr(lo)));
                o.line(&format!("{c} hi_{i} = {};", self.expr(hi)));
                o.line(&format!(
                    "for ({c} {i} = lo_{i}; kd_lt_{n}({i}, hi_{i}); {i} = kd_add_{n}({i}, 1)) {{"
                ));
                o.indent += 1;
                self.unread(o, *var);
                self.stmts(o, body);
                o.indent -= 1;
                o.line("}");
                o.indent -= 1;
                o.line("}");
            }
            Stmt::ForEach { var, seq, body } => {
                let x = self.name(*var);
                let Ty::Array(el, n) = self.p.place_ty(seq) else {
                    unreachable!()
                };
                let k = format!("k_{x}");
                o.line(&format!("for (uint32_t {k} = 0; {k} < {n}u; {k}++) {{"));
                o.indent += 1;
                let src = format!("{}[{k}]", self.place(seq));
                if el.is_scalar() {
                    o.line(&format!("{} = {src};", self.decl(&el, &x)));
                } else {
                    o.line(&format!("{};", self.decl(&el, &x)));
                    o.line(&format!("memcpy(&{x}, &{src}, sizeof {x});"));
                }
                self.unread(o, *var);
                self.stmts(o, body);
                o.indent -= 1;
                o.line("}");
            }
            Stmt::Break => o.line("break;"),
            Stmt::Continue => o.line("continue;"),
            Stmt::Return(e) => o.line(&format!("return {};", self.expr(e))),
            Stmt::Call(f, args) => o.line(&format!("(void){};", self.call(*f, args))),
            Stmt::Block(b) => {
                o.line("{");
                o.indent += 1;
                self.stmts(o, b);
                o.indent -= 1;
                o.line("}");
            }
        }
    }

    /// Statements that store `init` (of type `ty`) into the lvalue `lv`.
    fn init_into(&self, o: &mut Out, lv: &str, ty: &Ty, init: &Init) {
        match (init, ty) {
            (Init::Scalar(e), _) => o.line(&format!("{lv} = {};", self.expr(e))),
            (Init::List(xs), Ty::Array(el, _)) => {
                for (i, x) in xs.iter().enumerate() {
                    self.init_into(o, &format!("{lv}[{i}]"), el, x);
                }
            }
            (Init::Repeat(x, n), Ty::Array(el, _)) => {
                // The element is evaluated once.
                let t = self.fresh();
                o.line("{");
                o.indent += 1;
                o.line(&format!("{};", self.decl(el, &t)));
                o.line(&format!("memset(&{t}, 0, sizeof {t});"));
                self.init_into(o, &t, el, x);
                o.line(&format!(
                    "for (uint32_t k_{t} = 0; k_{t} < {n}u; k_{t}++) memcpy(&{lv}[k_{t}], &{t}, sizeof {t});"
                ));
                o.indent -= 1;
                o.line("}");
            }
            (Init::Copy(p), _) => {
                o.line(&format!("memmove(&{lv}, &{}, sizeof {lv});", self.place(p)));
            }
            (Init::Struct(_, fs), Ty::Struct(s)) => {
                for (k, x) in fs {
                    self.init_into(o, &format!("{lv}.f{k}"), &self.p.structs[*s][*k], x);
                }
            }
            _ => unreachable!("initializer does not match its type"),
        }
    }

    fn place(&self, p: &Place) -> String {
        let mut s = self.name(p.root);
        self.path(&mut s, &p.path);
        s
    }

    fn path(&self, s: &mut String, path: &[PathElem]) {
        for e in path {
            match e {
                PathElem::Index(i, n) => {
                    let _ = write!(s, "[kd_ix((uint64_t)({}), {n})]", self.expr(i));
                }
                PathElem::Field(k) => {
                    let _ = write!(s, ".f{k}");
                }
            }
        }
    }

    /// A postfix chain on a primary. A literal becomes a GNU statement
    /// expression that builds it in a temporary (elements in order, as
    /// `init_into` does for a `let`); `.len` evaluates the chain (its
    /// bounds checks) and then gives the constant length.
    fn post(&self, prim: &Prim, path: &[PathElem], len: bool) -> String {
        let mut p = prim;
        while let Prim::Paren(x) = p {
            p = x;
        }
        let (setup, mut s, ty) = match p {
            Prim::Lit(ty, init) => {
                let t = self.fresh();
                let mut o = Out {
                    s: String::new(),
                    indent: 0,
                };
                o.line(&format!("{};", self.decl(ty, &t)));
                o.line(&format!("memset(&{t}, 0, sizeof {t});"));
                self.init_into(&mut o, &t, ty, init);
                (Some(o.s.replace('\n', " ")), t, ty.clone())
            }
            Prim::Place(pl) => (None, format!("({})", self.place(pl)), self.p.place_ty(pl)),
            Prim::Paren(_) => unreachable!(),
        };
        self.path(&mut s, path);
        let mut ty = ty;
        for e in path {
            ty = match (e, ty) {
                (PathElem::Index(..), Ty::Array(el, _)) => *el,
                (PathElem::Field(k), Ty::Struct(st)) => self.p.structs[st][*k].clone(),
                _ => unreachable!("ill-typed path"),
            };
        }
        let value = if len {
            let Ty::Array(_, n) = ty else {
                unreachable!(".len of a non-array")
            };
            format!("((void)({s}), (uint32_t){n}u)")
        } else {
            s
        };
        match setup {
            Some(setup) => format!("__extension__ ({{ {setup}{value}; }})"),
            None => format!("({value})"),
        }
    }

    fn call(&self, f: usize, args: &[Expr]) -> String {
        let a: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
        format!("{}{}({})", self.p.prefix, self.p.fname(f), a.join(", "))
    }

    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Lit(t, v) => c_lit(*t, *v),
            Expr::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            Expr::Const(k) => {
                let (t, v) = self.p.consts[*k];
                c_lit(t, v)
            }
            Expr::Read(p) => self.place(p),
            Expr::Len(p) => {
                // Not evaluated; names the array, as `.len` does in KPL.
                let a = self.place(p);
                format!("((uint32_t)(sizeof {a} / sizeof {a}[0]))")
            }
            Expr::Neg(t, x) => format!("kd_neg_{}({})", t.name(), self.expr(x)),
            Expr::BitNot(t, x) => format!("kd_not_{}({})", t.name(), self.expr(x)),
            Expr::Not(x) => format!("(!{})", self.expr(x)),
            Expr::Arith(op, t, l, r) => format!(
                "kd_{}_{}({}, {})",
                op.c(),
                t.name(),
                self.expr(l),
                self.expr(r)
            ),
            Expr::BoolBin(op, l, r) => {
                format!("({} {} {})", self.expr(l), op.sym(), self.expr(r))
            }
            Expr::Shift(left, t, l, r) => format!(
                "kd_{}_{}({}, (uint64_t)({}))",
                if *left { "shl" } else { "shr" },
                t.name(),
                self.expr(l),
                self.expr(r)
            ),
            Expr::Cmp(op, t, l, r) => {
                let n = match t {
                    Ty::Bool => "b",
                    Ty::Int(i) => i.name(),
                    _ => unreachable!(),
                };
                format!("kd_{}_{n}({}, {})", op.c(), self.expr(l), self.expr(r))
            }
            Expr::Logic(and, l, r) => format!(
                "({} {} {})",
                self.expr(l),
                if *and { "&&" } else { "||" },
                self.expr(r)
            ),
            Expr::Cast(to, x) => {
                format!("kd_w_{}((uint64_t)({}))", to.name(), self.expr(x))
            }
            Expr::Call(f, args) | Expr::ParenCall(_, f, args) => self.call(*f, args),
            Expr::Post(prim, path, len) => self.post(prim, path, *len),
        }
    }
}

// ---------------------------------------------------------------------------
// Reference interpreter, written from the book independently of the C
// printer.

#[derive(Clone, Debug)]
enum Val {
    S(i128),
    A(Vec<Val>),
}

enum Flow {
    Normal,
    Break,
    Continue,
    Return(i128),
}

const MAX_STEPS: u64 = 5_000_000;

struct Machine<'a> {
    p: &'a Program,
    env: Vec<Val>,
    steps: u64,
}

type Res<T> = Result<T, u8>;

impl<'a> Machine<'a> {
    fn new(p: &'a Program) -> Machine<'a> {
        let mut m = Machine {
            p,
            env: p.vars.iter().map(|v| zero(&v.ty, &p.structs)).collect(),
            steps: 0,
        };
        for (id, init) in &p.globals {
            let v = m.init(init).expect("constant initializer");
            m.env[*id] = v;
        }
        m
    }

    fn run(&mut self, args: [u64; 3]) -> Result<u64, u8> {
        let run = self.p.funcs.len() - 1;
        let a = args.iter().map(|&x| i128::from(x)).collect();
        self.call(run, a).map(|v| v as u64)
    }

    fn tick(&mut self) -> Res<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            Err(4)
        } else {
            Ok(())
        }
    }

    fn call(&mut self, f: usize, args: Vec<i128>) -> Res<i128> {
        let func = &self.p.funcs[f];
        for (&p, a) in func.params.iter().zip(args) {
            self.env[p] = Val::S(a);
        }
        match self.block(&func.body)? {
            Flow::Return(v) => Ok(v),
            _ => panic!("function fell off its end"),
        }
    }

    fn block(&mut self, ss: &[Stmt]) -> Res<Flow> {
        for s in ss {
            self.tick()?;
            match self.stmt(s)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn stmt(&mut self, s: &Stmt) -> Res<Flow> {
        match s {
            Stmt::Let { var, init, .. } => {
                let v = self.init(init)?;
                self.env[*var] = v;
            }
            Stmt::Assign { place, op, value } => {
                let path = self.path(place)?;
                let ty = self.p.place_ty(place);
                let new = match op {
                    None => self.init(value)?,
                    Some(op) => {
                        let Init::Scalar(e) = value else {
                            unreachable!()
                        };
                        let Val::S(old) = self.get(place.root, &path).clone() else {
                            unreachable!()
                        };
                        let r = self.expr(e)?;
                        Val::S(match (op, &ty) {
                            (CompOp::Ar(a), Ty::Int(t)) => arith(*a, *t, old, r)?,
                            (CompOp::Sh(left), Ty::Int(t)) => shift(*left, *t, old, r),
                            (CompOp::Bool(b), Ty::Bool) => bool_op(*b, old, r),
                            _ => unreachable!(),
                        })
                    }
                };
                *self.get_mut(place.root, &path) = new;
            }
            Stmt::If { cond, then, els } => {
                if self.expr(cond)? != 0 {
                    return self.block(then);
                } else if let Some(e) = els {
                    return self.block(e);
                }
            }
            Stmt::While { cond, body } => {
                while self.expr(cond)? != 0 {
                    self.tick()?;
                    match self.block(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
            }
            Stmt::ForRange {
                var, lo, hi, body, ..
            } => {
                let lo = self.expr(lo)?;
                let hi = self.expr(hi)?;
                let mut i = lo;
                while i < hi {
                    self.tick()?;
                    self.env[*var] = Val::S(i);
                    match self.block(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                    i += 1;
                }
            }
            Stmt::ForEach { var, seq, body } => {
                let path = self.path(seq)?;
                let n = match self.get(seq.root, &path) {
                    Val::A(xs) => xs.len(),
                    _ => unreachable!(),
                };
                for k in 0..n {
                    self.tick()?;
                    let Val::A(xs) = self.get(seq.root, &path) else {
                        unreachable!()
                    };
                    self.env[*var] = xs[k].clone();
                    match self.block(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
            }
            Stmt::Break => return Ok(Flow::Break),
            Stmt::Continue => return Ok(Flow::Continue),
            Stmt::Return(e) => return Ok(Flow::Return(self.expr(e)?)),
            Stmt::Call(f, args) => {
                let a = args.iter().map(|x| self.expr(x)).collect::<Res<Vec<_>>>()?;
                self.call(*f, a)?;
            }
            Stmt::Block(b) => return self.block(b),
        }
        Ok(Flow::Normal)
    }

    fn init(&mut self, i: &Init) -> Res<Val> {
        Ok(match i {
            Init::Scalar(e) => Val::S(self.expr(e)?),
            Init::List(xs) => Val::A(xs.iter().map(|x| self.init(x)).collect::<Res<_>>()?),
            Init::Repeat(x, n) => Val::A(vec![self.init(x)?; *n as usize]),
            Init::Copy(p) => {
                let path = self.path(p)?;
                self.get(p.root, &path).clone()
            }
            Init::Struct(s, fs) => {
                let mut vals = vec![Val::S(0); self.p.structs[*s].len()];
                for (k, x) in fs {
                    vals[*k] = self.init(x)?;
                }
                Val::A(vals)
            }
        })
    }

    /// Evaluates the index expressions of a place, with bounds checks.
    fn path(&mut self, p: &Place) -> Res<Vec<usize>> {
        let mut out = Vec::new();
        for e in &p.path {
            match e {
                PathElem::Index(i, n) => {
                    let v = self.expr(i)?;
                    if v < 0 || v >= i128::from(*n) {
                        return Err(3);
                    }
                    out.push(v as usize);
                }
                PathElem::Field(k) => out.push(*k),
            }
        }
        Ok(out)
    }

    fn get(&self, root: usize, path: &[usize]) -> &Val {
        let mut v = &self.env[root];
        for &k in path {
            v = match v {
                Val::A(xs) => &xs[k],
                Val::S(_) => unreachable!(),
            };
        }
        v
    }

    fn get_mut(&mut self, root: usize, path: &[usize]) -> &mut Val {
        let mut v = &mut self.env[root];
        for &k in path {
            v = match v {
                Val::A(xs) => &mut xs[k],
                Val::S(_) => unreachable!(),
            };
        }
        v
    }

    fn expr(&mut self, e: &Expr) -> Res<i128> {
        Ok(match e {
            Expr::Lit(_, v) => *v,
            Expr::Bool(b) => i128::from(*b),
            Expr::Const(k) => self.p.consts[*k].1,
            Expr::Read(p) => {
                let path = self.path(p)?;
                match self.get(p.root, &path) {
                    Val::S(v) => *v,
                    Val::A(_) => unreachable!("aggregate in scalar position"),
                }
            }
            Expr::Len(p) => {
                // `e.len` evaluates `e` (its indexes and their checks) first.
                self.path(p)?;
                match self.p.place_ty(p) {
                    Ty::Array(_, n) => i128::from(n),
                    _ => unreachable!(),
                }
            }
            Expr::Neg(t, x) => t.wrap(-self.expr(x)?),
            Expr::BitNot(t, x) => t.wrap(!self.expr(x)?),
            Expr::Not(x) => 1 - self.expr(x)?,
            Expr::Arith(op, t, l, r) => {
                let a = self.expr(l)?;
                let b = self.expr(r)?;
                arith(*op, *t, a, b)?
            }
            Expr::BoolBin(op, l, r) => {
                let a = self.expr(l)?;
                let b = self.expr(r)?;
                bool_op(*op, a, b)
            }
            Expr::Shift(left, t, l, r) => {
                let a = self.expr(l)?;
                let n = self.expr(r)?;
                shift(*left, *t, a, n)
            }
            Expr::Cmp(op, _, l, r) => {
                let a = self.expr(l)?;
                let b = self.expr(r)?;
                i128::from(match op {
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                })
            }
            Expr::Logic(and, l, r) => {
                let a = self.expr(l)?;
                if (a != 0) == *and { self.expr(r)? } else { a }
            }
            Expr::Cast(to, x) => to.wrap(self.expr(x)?),
            Expr::Call(f, args) | Expr::ParenCall(_, f, args) => {
                let a = args.iter().map(|x| self.expr(x)).collect::<Res<Vec<_>>>()?;
                self.call(*f, a)?
            }
            Expr::Post(prim, path, len) => {
                // The primary, then each index (then its bounds check) in
                // order, then the selection.
                let mut v = self.prim(prim)?;
                for e in path {
                    let k = match e {
                        PathElem::Index(i, n) => {
                            let k = self.expr(i)?;
                            if k < 0 || k >= i128::from(*n) {
                                return Err(3);
                            }
                            k as usize
                        }
                        PathElem::Field(k) => *k,
                    };
                    v = match v {
                        Val::A(mut xs) => xs.swap_remove(k),
                        Val::S(_) => unreachable!("postfix on a scalar"),
                    };
                }
                match (v, len) {
                    (Val::A(xs), true) => xs.len() as i128,
                    (Val::S(x), false) => x,
                    _ => unreachable!("ill-typed postfix chain"),
                }
            }
        })
    }

    /// The value of a primary: a literal is built, a place is read.
    fn prim(&mut self, p: &Prim) -> Res<Val> {
        match p {
            Prim::Lit(_, i) => self.init(i),
            Prim::Place(pl) => {
                let path = self.path(pl)?;
                Ok(self.get(pl.root, &path).clone())
            }
            Prim::Paren(x) => self.prim(x),
        }
    }
}

fn zero(ty: &Ty, structs: &[Vec<Ty>]) -> Val {
    match ty {
        Ty::Bool | Ty::Int(_) => Val::S(0),
        Ty::Array(el, n) => Val::A(vec![zero(el, structs); *n as usize]),
        Ty::Struct(s) => Val::A(structs[*s].iter().map(|f| zero(f, structs)).collect()),
    }
}

/// Semantics of the integer binary operators (semantics.md, "Integer
/// arithmetic", "Division and remainder", "Bitwise operators").
fn arith(op: ArOp, t: IntTy, a: i128, b: i128) -> Res<i128> {
    Ok(match op {
        ArOp::Add => t.wrap(a + b),
        ArOp::Sub => t.wrap(a - b),
        ArOp::Mul => t.wrap(a.wrapping_mul(b)),
        ArOp::Div | ArOp::Rem => {
            if b == 0 {
                return Err(1);
            }
            if t.signed() && a == t.min() && b == -1 {
                return Err(2);
            }
            // Rust's i128 `/` truncates toward zero and `%` takes the sign of
            // the dividend, as KPL's do.
            if op == ArOp::Div { a / b } else { a % b }
        }
        ArOp::And => t.wrap(a & b),
        ArOp::Or => t.wrap(a | b),
        ArOp::Xor => t.wrap(a ^ b),
    })
}

/// Shifts (semantics.md, "Shifts"): the amount is masked to the low bits of
/// its two's complement representation.
fn shift(left: bool, t: IntTy, a: i128, amount: i128) -> i128 {
    let n = (amount & i128::from(t.bits() - 1)) as u32;
    if left {
        t.wrap(a << n)
    } else {
        // `>>` on i128 is arithmetic: floor division by 2^n, which is the
        // logical shift for the (non-negative) values of unsigned types.
        a >> n
    }
}

fn bool_op(op: BoolOp, a: i128, b: i128) -> i128 {
    match op {
        BoolOp::And => a & b,
        BoolOp::Or => a | b,
        BoolOp::Xor => a ^ b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_shift_follow_the_book() {
        assert_eq!(U8.wrap(256), 0);
        assert_eq!(I8.wrap(128), -128);
        assert_eq!(I8.wrap(-129), 127);
        assert_eq!(U64.wrap(-1), i128::from(u64::MAX));
        // `x << 33` on a u32 shifts by 1, `x << -1` by 31.
        assert_eq!(shift(true, U32, 1, 33), 2);
        assert_eq!(shift(true, U32, 1, -1), 1 << 31);
        assert_eq!(shift(false, I32, -16, 2), -4);
        assert_eq!(shift(false, I8, -128, 7), -1);
        assert_eq!(shift(false, I32, -7, 1), -4);
        assert_eq!(arith(ArOp::Div, I32, -7, 2), Ok(-3));
        assert_eq!(arith(ArOp::Rem, I32, -7, 2), Ok(-1));
        assert_eq!(arith(ArOp::Rem, I32, 7, -2), Ok(1));
        assert_eq!(arith(ArOp::Div, I8, -128, -1), Err(2));
        assert_eq!(arith(ArOp::Rem, I8, -128, -1), Err(2));
        assert_eq!(arith(ArOp::Div, U32, 7, 0), Err(1));
        assert_eq!(arith(ArOp::Mul, U16, 300, 300), Ok(24464));
        assert_eq!(I8.wrap(200), -56);
    }

    /// A program with no functions, one `u32` local `x` (var 0) and
    /// one `[[u32; 2]; 2]` local `m` (var 1), for evaluating expressions.
    fn scratch() -> Program {
        let var = |name: &str, ty: Ty| VarInfo {
            name: name.to_string(),
            ty,
            kind: VarKind::Local,
            protected: false,
            range: None,
        };
        let row = Ty::Array(Box::new(Ty::Int(U32)), 2);
        Program {
            prefix: String::new(),
            vars: vec![
                var("x", Ty::Int(U32)),
                var("m", Ty::Array(Box::new(row), 2)),
            ],
            consts: Vec::new(),
            globals: Vec::new(),
            structs: vec![vec![Ty::Int(U32), Ty::Int(U32)]],
            funcs: Vec::new(),
        }
    }

    fn lit_array(xs: &[i128]) -> (Ty, Init) {
        let ty = Ty::Array(Box::new(Ty::Int(U32)), xs.len() as u32);
        let init = Init::List(
            xs.iter()
                .map(|&v| Init::Scalar(Expr::Lit(U32, v)))
                .collect(),
        );
        (ty, init)
    }

    fn index(i: i128, n: u32) -> PathElem {
        PathElem::Index(Box::new(Expr::Lit(I32, i)), n)
    }

    #[test]
    fn interpreter_reads_and_bounds_checks_postfixes_on_literals() {
        let p = scratch();
        let mut m = Machine::new(&p);
        // `[10, 20, 30][2]` and `[10, 20, 30][5]`
        let (ty, init) = lit_array(&[10, 20, 30]);
        let read = |i| {
            Expr::Post(
                Box::new(Prim::Lit(ty.clone(), init.clone())),
                vec![index(i, 3)],
                false,
            )
        };
        assert_eq!(m.expr(&read(2)), Ok(30));
        assert_eq!(m.expr(&read(5)), Err(3));
        assert_eq!(m.expr(&read(-1)), Err(3));
        // `[7; 3][1]`
        let rep = Prim::Lit(
            Ty::Array(Box::new(Ty::Int(U32)), 3),
            Init::Repeat(Box::new(Init::Scalar(Expr::Lit(U32, 7))), 3),
        );
        let e = Expr::Post(Box::new(rep), vec![index(1, 3)], false);
        assert_eq!(m.expr(&e), Ok(7));
        // `(S0 { .f1 = 7, .f0 = 3 }).f1`
        let st = Prim::Lit(
            Ty::Struct(0),
            Init::Struct(
                0,
                vec![
                    (1, Init::Scalar(Expr::Lit(U32, 7))),
                    (0, Init::Scalar(Expr::Lit(U32, 3))),
                ],
            ),
        );
        let e = Expr::Post(
            Box::new(Prim::Paren(Box::new(st))),
            vec![PathElem::Field(1)],
            false,
        );
        assert_eq!(m.expr(&e), Ok(7));
        // `[[1, 2], [3, 4]][1][0]`, `[[1, 2], [3, 4]][1].len`, `[[..]][2].len`
        let row = |a, b| lit_array(&[a, b]).1;
        let nested = Prim::Lit(p.vars[1].ty.clone(), Init::List(vec![row(1, 2), row(3, 4)]));
        let e = Expr::Post(
            Box::new(nested.clone()),
            vec![index(1, 2), index(0, 2)],
            false,
        );
        assert_eq!(m.expr(&e), Ok(3));
        let e = Expr::Post(Box::new(nested.clone()), vec![index(1, 2)], true);
        assert_eq!(m.expr(&e), Ok(2));
        let e = Expr::Post(Box::new(nested), vec![index(2, 2)], true);
        assert_eq!(m.expr(&e), Err(3), "`.len` evaluates its operand first");
        // `(m)[1][1]` on a parenthesised place, and `m[2].len` traps.
        m.env[1] = Val::A(vec![
            Val::A(vec![Val::S(1), Val::S(2)]),
            Val::A(vec![Val::S(3), Val::S(4)]),
        ]);
        let e = Expr::Post(
            Box::new(Prim::Place(var_place(1))),
            vec![index(1, 2), index(1, 2)],
            false,
        );
        assert_eq!(m.expr(&e), Ok(4));
        let bad_row = Place {
            root: 1,
            path: vec![index(2, 2)],
        };
        assert_eq!(m.expr(&Expr::Len(bad_row)), Err(3));
    }

    #[test]
    fn generation_is_deterministic() {
        let a = generate(42);
        let b = generate(42);
        assert_eq!(a.kpl, b.kpl);
        assert_eq!(a.c, b.c);
        assert_eq!(a.inputs, b.inputs);
        assert_ne!(generate(43).kpl, a.kpl);
    }
}
