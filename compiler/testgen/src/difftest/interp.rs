//! The reference interpreter, written from the book independently of the C
//! printer: it gives the expected result of each case (and traps should the
//! generator ever get a guard wrong).

use super::tree::{
    ArOp, BoolOp, CmpOp, CompOp, Expr, Init, IntTy, PathElem, Place, Program, Stmt, Ty,
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
            Expr::Len(p) => match self.p.place_ty(p) {
                Ty::Array(_, n) => i128::from(n),
                _ => unreachable!(),
            },
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
            Expr::Call(f, args) => {
                let a = args.iter().map(|x| self.expr(x)).collect::<Res<Vec<_>>>()?;
                self.call(*f, a)?
            }
        })
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
}
