//! Generating expressions of a given type: integer expressions with every
//! operator, shift amounts, divisors that are never zero (and never signed
//! `MIN / -1`), boolean expressions and comparisons (avoiding W0009), and
//! calls to helpers.

use crate::difftest::tree::{
    ArOp, BoolOp, CmpOp, Expr, INTS, Init,
    IntTy::{self, *},
    Prim, Stmt, Ty, VarKind, is_const_shape, is_typed,
};

use super::{Gen, Tmpl, cmp, cmp_ty, guard_zero, read_var, set_var, templates, var_place};

impl Gen {
    /// An expression of scalar type `ty`. `untyped_ok`: an untyped integer
    /// expression here would get type `ty` (it is the expected type, or the
    /// position has none and `ty` is `i32`).
    pub(super) fn expr(&mut self, ty: &Ty, depth: u32, untyped_ok: bool) -> Expr {
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

    pub(super) fn int_expr(&mut self, t: IntTy, depth: u32, uok: bool) -> Expr {
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
    pub(super) fn shift_amount(&mut self, t: IntTy, at: IntTy, depth: u32) -> Expr {
        let e = self.int_expr(at, depth, at == I32);
        if is_const_shape(&e) {
            Expr::Lit(I32, self.rng.between(0, i128::from(t.bits()) - 1))
        } else {
            e
        }
    }

    pub(super) fn nonzero_lit(&mut self, t: IntTy) -> Expr {
        loop {
            let v = self.lit_value(t);
            if v != 0 && v != -1 {
                return Expr::Lit(t, v);
            }
        }
    }

    /// A divisor expression that is never 0 and never -1.
    pub(super) fn safe_divisor(&mut self, t: IntTy, depth: u32, uok: bool) -> Expr {
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

    pub(super) fn bool_expr(&mut self, depth: u32) -> Expr {
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
    pub(super) fn callable(&mut self, ret: Option<&Ty>) -> Option<usize> {
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
        let path = self.path(tmpl);
        self.post_nest -= 1;
        Some(Expr::Post(Box::new(prim), path, len))
    }

    /// An array, repeat or struct literal of aggregate type `ty` that types
    /// without an expected type: the first element of an array is typed
    /// (it gives the element type), later ones may be untyped.
    pub(super) fn literal(&mut self, ty: &Ty) -> Init {
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

    pub(super) fn call_to(&mut self, f: usize, d: u32) -> Expr {
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
