//! The reference interpreter, written from the book independently of the C
//! printer: it gives the expected result of each case (and traps should the
//! generator ever get a guard wrong).

use super::tree::{
    ArOp, BoolOp, CmpOp, CompOp, Expr, Init, IntTy, PathElem, Place, Prim, Program, Seq, Stmt, Ty,
};

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

pub(super) struct Machine<'a> {
    p: &'a Program,
    env: Vec<Val>,
    pub(super) steps: u64,
}

type Res<T> = Result<T, u8>;

impl<'a> Machine<'a> {
    pub(super) fn new(p: &'a Program) -> Machine<'a> {
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

    pub(super) fn run(&mut self, args: [u64; 3]) -> Result<u64, u8> {
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
                // `seq` is evaluated once, before the first trip: a place's
                // index expressions (with their bounds checks), after which
                // each trip reads its element from that place; any other
                // sequence's value.
                let (place, value) = match seq {
                    Seq::Place(p) => (Some((p.root, self.path(p)?)), None),
                    Seq::Post(prim, path) => (None, Some(self.post(prim, path)?)),
                };
                let n = match (&place, &value) {
                    (Some((root, path)), _) => match self.get(*root, path) {
                        Val::A(xs) => xs.len(),
                        Val::S(_) => unreachable!(),
                    },
                    (None, Some(Val::A(xs))) => xs.len(),
                    _ => unreachable!("for over a scalar"),
                };
                for k in 0..n {
                    self.tick()?;
                    let seq = match (&place, &value) {
                        (Some((root, path)), _) => self.get(*root, path),
                        (None, Some(v)) => v,
                        _ => unreachable!(),
                    };
                    let Val::A(xs) = seq else { unreachable!() };
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

    pub(super) fn expr(&mut self, e: &Expr) -> Res<i128> {
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
            Expr::Post(prim, path, len) => match (self.post(prim, path)?, len) {
                (Val::A(xs), true) => xs.len() as i128,
                (Val::S(x), false) => x,
                _ => unreachable!("ill-typed postfix chain"),
            },
        })
    }

    /// The value a postfix chain selects: the primary, then each index
    /// (then its bounds check) in order, then the selection.
    fn post(&mut self, prim: &Prim, path: &[PathElem]) -> Res<Val> {
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
        Ok(v)
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
    use crate::difftest::tree::IntTy::*;
    use crate::difftest::tree::{VarInfo, VarKind};

    fn var_place(v: usize) -> Place {
        Place {
            root: v,
            path: Vec::new(),
        }
    }

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
    fn a_for_sequence_is_evaluated_once() {
        // `for e in m[x] { s = s * 10 + e; x += 1; }` and the same over
        // `[[1, 2], [3, 4]][x]`: the row is the one `x` chose before the
        // first trip, and moving `x` out of range does not trap.
        let mut p = scratch();
        for name in ["e", "s"] {
            p.vars.push(VarInfo {
                name: name.to_string(),
                ty: Ty::Int(U32),
                kind: VarKind::Local,
                protected: false,
                range: None,
            });
        }
        let read = |v| Expr::Read(var_place(v));
        let body = vec![
            Stmt::Assign {
                place: var_place(3),
                op: None,
                value: Init::Scalar(Expr::Arith(
                    ArOp::Add,
                    U32,
                    Box::new(Expr::Arith(
                        ArOp::Mul,
                        U32,
                        Box::new(read(3)),
                        Box::new(Expr::Lit(U32, 10)),
                    )),
                    Box::new(read(2)),
                )),
            },
            Stmt::Assign {
                place: var_place(0),
                op: Some(CompOp::Ar(ArOp::Add)),
                value: Init::Scalar(Expr::Lit(U32, 1)),
            },
        ];
        let row = |a, b| lit_array(&[a, b]).1;
        let rows = Prim::Lit(p.vars[1].ty.clone(), Init::List(vec![row(1, 2), row(3, 4)]));
        let seqs = [
            Seq::Place(Place {
                root: 1,
                path: vec![PathElem::Index(Box::new(read(0)), 2)],
            }),
            Seq::Post(rows, vec![PathElem::Index(Box::new(read(0)), 2)]),
        ];
        for seq in seqs {
            for (start, want) in [(0, 12), (1, 34)] {
                let mut m = Machine::new(&p);
                m.env[1] = Val::A(vec![
                    Val::A(vec![Val::S(1), Val::S(2)]),
                    Val::A(vec![Val::S(3), Val::S(4)]),
                ]);
                m.env[0] = Val::S(start);
                m.env[3] = Val::S(0);
                let s = Stmt::ForEach {
                    var: 2,
                    seq: seq.clone(),
                    body: body.clone(),
                };
                assert!(matches!(m.stmt(&s), Ok(Flow::Normal)), "{seq:?}");
                assert!(matches!(m.env[3], Val::S(v) if v == want), "{seq:?}");
                assert!(matches!(m.env[0], Val::S(v) if v == start + 2));
            }
        }
    }
}
