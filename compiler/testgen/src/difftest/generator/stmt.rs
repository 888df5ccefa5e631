//! Generating statements: bindings, plain and compound assignments (with
//! their divisors guarded), `if`, `while` and `for` loops within the work
//! budget, and calls.

use crate::difftest::tree::{
    ArOp, BoolOp, CmpOp, CompOp, Expr, INTS, Init,
    IntTy::{self, *},
    Place, Stmt, Ty, VarKind, is_typed,
};

use super::{Gen, MAX_MULT, cmp, guard_zero, read_var, set_var, var_place};

impl Gen {
    /// Up to `n` statements in a new scope; stops after a diverging one.
    fn stmts(&mut self, n: usize, depth: u32, in_loop: bool) -> (Vec<Stmt>, bool) {
        self.stmts_keep(n, depth, in_loop, false)
    }

    /// `keep`: leave the new bindings in scope (a function's top level, so
    /// that the final `return` can use them).
    pub(super) fn stmts_keep(
        &mut self,
        n: usize,
        depth: u32,
        in_loop: bool,
        keep: bool,
    ) -> (Vec<Stmt>, bool) {
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
                        return (s, false);
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
    pub(super) fn mix_expr(&mut self, ty: &Ty) -> Expr {
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

    pub(super) fn agg_ty(&mut self) -> Ty {
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
    pub(super) fn agg_init(&mut self, ty: &Ty, depth: u32) -> Init {
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

    pub(super) fn push_prelude(&mut self, s: Stmt) {
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

    pub(super) fn enter_loop(&mut self, trips: u64) -> (u64, u64) {
        let saved = (self.mult, self.work);
        self.mult = self.mult.saturating_mul(trips.max(1));
        self.loop_depth += 1;
        saved
    }

    pub(super) fn leave_loop(&mut self, saved: (u64, u64)) {
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

    fn call_stmt(&mut self) -> Option<Stmt> {
        let f = self.callable(None)?;
        match self.call_to(f, 2) {
            Expr::Call(f, args) => Some(Stmt::Call(f, args)),
            _ => unreachable!(),
        }
    }
}
