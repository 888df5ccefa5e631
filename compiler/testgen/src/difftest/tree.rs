//! The program tree shared by the generator, the KPL and C printers and the
//! reference interpreter: integer and aggregate types, operators,
//! expressions, places, statements, variables and functions; and [`Usage`]:
//! which bindings are read and assigned and which constants and functions
//! are referenced, computed on the finished tree so that the printers can
//! avoid W0001, W0006 and W0003.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum IntTy {
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

pub(super) const INTS: [IntTy; 8] = [U8, U16, U32, U64, I8, I16, I32, I64];

impl IntTy {
    pub(super) fn bits(self) -> u32 {
        match self {
            U8 | I8 => 8,
            U16 | I16 => 16,
            U32 | I32 => 32,
            U64 | I64 => 64,
        }
    }

    pub(super) fn signed(self) -> bool {
        matches!(self, I8 | I16 | I32 | I64)
    }

    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn c(self) -> &'static str {
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

    pub(super) fn min(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.bits() - 1))
        } else {
            0
        }
    }

    pub(super) fn max(self) -> i128 {
        if self.signed() {
            (1i128 << (self.bits() - 1)) - 1
        } else {
            (1i128 << self.bits()) - 1
        }
    }

    /// The value of this type congruent to `v` modulo 2^bits.
    pub(super) fn wrap(self, v: i128) -> i128 {
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
pub(super) enum Ty {
    Bool,
    Int(IntTy),
    Array(Box<Ty>, u32),
    Struct(usize),
}

impl Ty {
    pub(super) fn is_scalar(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Int(_))
    }

    /// Size in bytes (for the stack-frame estimate).
    pub(super) fn size(&self, structs: &[Vec<Ty>]) -> u64 {
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

// The program tree shared by the KPL and C printers and the interpreter.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum ArOp {
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
    pub(super) fn sym(self) -> &'static str {
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

    pub(super) fn c(self) -> &'static str {
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
pub(super) enum BoolOp {
    And,
    Or,
    Xor,
}

impl BoolOp {
    pub(super) fn sym(self) -> &'static str {
        match self {
            BoolOp::And => "&",
            BoolOp::Or => "|",
            BoolOp::Xor => "^",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(super) fn sym(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    pub(super) fn c(self) -> &'static str {
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
pub(super) enum Expr {
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
pub(super) enum Prim {
    /// An array literal, repeat or struct literal (never `Init::Copy` or
    /// `Init::Scalar`) of the given type, with no expected type around it.
    Lit(Ty, Init),
    /// A place in parentheses: `(v)`, `(v[i].f)`.
    Place(Place),
    /// `( prim )`.
    Paren(Box<Prim>),
}

#[derive(Clone, Debug)]
pub(super) struct Place {
    pub(super) root: usize,
    pub(super) path: Vec<PathElem>,
}

#[derive(Clone, Debug)]
pub(super) enum PathElem {
    /// Index expression and the array's length.
    Index(Box<Expr>, u32),
    Field(usize),
}

#[derive(Clone, Debug)]
pub(super) enum Init {
    Scalar(Expr),
    List(Vec<Init>),
    Repeat(Box<Init>, u32),
    Copy(Place),
    /// Struct index and `(field, value)` in the order written.
    Struct(usize, Vec<(usize, Init)>),
}

/// The sequence of a `for x in seq` loop, evaluated once before the first
/// trip (statements.md, "`for` over an array or slice").
#[derive(Clone, Debug)]
pub(super) enum Seq {
    /// A place: its index expressions are evaluated (and bounds-checked)
    /// once, then each trip reads its element from that place, so a write
    /// to a later element is seen, and a write to a variable an index came
    /// from is not.
    Place(Place),
    /// A postfix chain on an array or repeat literal (never a struct
    /// literal, which a `for` header cannot start with), down to an array:
    /// its value is computed once.
    Post(Prim, Vec<PathElem>),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum CompOp {
    Ar(ArOp),
    /// `<<=` (true) / `>>=` (false); the amount has any integer type.
    Sh(bool),
    Bool(BoolOp),
}

#[derive(Clone, Debug)]
pub(super) enum Stmt {
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
        seq: Seq,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
    Return(Expr),
    Call(usize, Vec<Expr>),
    Block(Vec<Stmt>),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum VarKind {
    Param,
    Local,
    ForVar,
    Static,
    Table,
}

pub(super) struct VarInfo {
    /// Base name; locals whose value is never read get a `_` prefix in KPL.
    pub(super) name: String,
    pub(super) ty: Ty,
    pub(super) kind: VarKind,
    /// A `while` counter: never assigned by random statements.
    pub(super) protected: bool,
    /// For loop variables: the inclusive range of values it takes.
    pub(super) range: Option<(i128, i128)>,
}

pub(super) struct Func {
    pub(super) params: Vec<usize>,
    pub(super) ret: Ty,
    pub(super) body: Vec<Stmt>,
    /// Estimated statements executed by one call (loops and callees
    /// included); bounds the work of callers.
    pub(super) work: u64,
}

pub(super) struct Program {
    pub(super) prefix: String,
    pub(super) vars: Vec<VarInfo>,
    pub(super) consts: Vec<(IntTy, i128)>,
    /// Statics and constant tables with their initial values.
    pub(super) globals: Vec<(usize, Init)>,
    pub(super) structs: Vec<Vec<Ty>>,
    /// Helpers `f0`, `f1`, …, then `run` last.
    pub(super) funcs: Vec<Func>,
}

impl Program {
    pub(super) fn place_ty(&self, p: &Place) -> Ty {
        self.path_ty(self.vars[p.root].ty.clone(), &p.path)
    }

    /// The type `path` leads to from a value of type `t`.
    pub(super) fn path_ty(&self, mut t: Ty, path: &[PathElem]) -> Ty {
        for e in path {
            t = match (e, t) {
                (PathElem::Index(..), Ty::Array(el, _)) => *el,
                (PathElem::Field(k), Ty::Struct(s)) => self.structs[s][*k].clone(),
                _ => unreachable!("ill-typed path"),
            };
        }
        t
    }

    /// Whether any binding or literal has struct `s` in its type (W0003
    /// otherwise).
    pub(super) fn struct_used(&self, s: usize, u: &Usage) -> bool {
        self.vars.iter().any(|v| has_struct(&v.ty, s))
            || u.lit_structs.contains(&s)
            // A field of a used struct.
            || (s + 1..self.structs.len()).any(|k| {
                self.structs[k].iter().any(|f| has_struct(f, s)) && self.struct_used(k, u)
            })
    }

    pub(super) fn fname(&self, f: usize) -> String {
        if f + 1 == self.funcs.len() {
            "run".to_string()
        } else {
            format!("f{f}")
        }
    }
}

pub(super) fn max_struct(t: &Ty) -> usize {
    match t {
        Ty::Struct(k) => *k,
        Ty::Array(e, _) => max_struct(e),
        _ => 0,
    }
}

pub(super) fn has_struct(t: &Ty, s: usize) -> bool {
    match t {
        Ty::Struct(k) => *k == s,
        Ty::Array(e, _) => has_struct(e, s),
        _ => false,
    }
}

pub(super) fn is_typed(e: &Expr) -> bool {
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
pub(super) fn is_const_shape(e: &Expr) -> bool {
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

// Usage: which bindings are read and assigned, which constants and
// functions are referenced. Computed on the finished tree so that the
// printers can avoid W0001 / W0006 / W0003.

pub(super) struct Usage {
    pub(super) read: Vec<bool>,
    pub(super) assigned: Vec<bool>,
    pub(super) consts: Vec<bool>,
    pub(super) calls: Vec<bool>,
    /// Structs named by a literal in a postfix chain.
    pub(super) lit_structs: Vec<usize>,
}

impl Usage {
    pub(super) fn of(p: &Program) -> Usage {
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
                match seq {
                    Seq::Place(p) => self.read_place(p),
                    Seq::Post(prim, path) => self.post(prim, path),
                }
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

    pub(super) fn expr(&mut self, e: &Expr) {
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
            Expr::Post(prim, path, _) => self.post(prim, path),
        }
    }

    fn post(&mut self, prim: &Prim, path: &[PathElem]) {
        self.prim(prim);
        for e in path {
            if let PathElem::Index(i, _) = e {
                self.expr(i);
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
