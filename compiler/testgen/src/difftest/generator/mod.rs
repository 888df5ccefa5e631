//! The generator: a random, well-typed program that never traps, within a
//! work and stack budget. This file holds its state ([`Gen`]), the program
//! and its functions (with the final hash of every value in scope), literals,
//! and places (variables, fields, elements with in-range indexes);
//! statements are in `stmt.rs`, expressions in `expr.rs`.

use crate::difftest::c_prefix;
use crate::difftest::rng::Rng;
use crate::difftest::tree::{
    ArOp, CmpOp, Expr, Func, INTS, Init,
    IntTy::{self, *},
    PathElem, Place, Program, Seq, Stmt, Ty, Usage, VarInfo, VarKind, is_typed,
};

mod expr;
mod seq;
mod stmt;

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

pub(super) fn build(seed: u64) -> (Program, Vec<[u64; 3]>) {
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
                .map(|_| match self.rng.below(12) {
                    0..=1 => Ty::Array(Box::new(self.scalar_ty()), self.rng.between(1, 4) as u32),
                    // Rows (at most 32 bytes), for `for x in s.f[j]`.
                    2 => {
                        let row =
                            Ty::Array(Box::new(self.scalar_ty()), self.rng.between(1, 2) as u32);
                        Ty::Array(Box::new(row), 2)
                    }
                    _ => self.scalar_ty(),
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
            let ty = match self.rng.below(5) {
                0 | 1 => self.scalar_ty(),
                2 => {
                    // Rows, for `for x in g[j]`.
                    let row = Ty::Array(Box::new(self.scalar_ty()), self.rng.between(1, 4) as u32);
                    Ty::Array(Box::new(row), self.rng.between(2, 3) as u32)
                }
                _ => Ty::Array(Box::new(self.scalar_ty()), self.rng.pick(&[2u32, 3, 4])),
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
                    seq: Seq::Place(place),
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
        let path = self.path(tmpl);
        Some(Place { root, path })
    }

    /// A path following `tmpl`, with an in-range index expression for each
    /// index.
    pub(super) fn path(&mut self, tmpl: Vec<Tmpl>) -> Vec<PathElem> {
        tmpl.into_iter()
            .map(|t| match t {
                Tmpl::Index(n) => PathElem::Index(Box::new(self.index(n)), n),
                Tmpl::Field(k) => PathElem::Field(k),
            })
            .collect()
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
}

#[derive(Clone)]
pub(super) enum Tmpl {
    Index(u32),
    Field(usize),
}

/// Every path into a value of type `ty` with the type it leads to.
pub(super) fn templates(ty: &Ty, structs: &[Vec<Ty>]) -> Vec<(Vec<Tmpl>, Ty)> {
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
