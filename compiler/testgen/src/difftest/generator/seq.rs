//! `for x in seq` loops: over a whole array; over a row, element or field of
//! a place reached through in-range indexes; and over a place or an indexed
//! array literal whose indexes are variables that the loop's body assigns.
//!
//! The last shape checks that the sequence is evaluated once, before the
//! first trip (statements.md, "`for` over an array or slice"): the body may
//! move an index to another row, or out of range, and the loop must still
//! walk the row it started on, without a trap. Once, kplc re-read the index
//! at every trip (`compiler/tests/exec/for_each_place_evaluated_once.kpl`).

use crate::difftest::tree::{
    ArOp, CompOp, Expr, INTS, Init, IntTy, PathElem, Place, Prim, Seq, Stmt, Ty, VarKind,
};

use super::{Gen, MAX_MULT, Tmpl, templates, var_place};

/// Where the sequence of a loop with moving indexes comes from.
enum Source {
    /// A binding in scope, or one declared just before the loop.
    Var(usize),
    /// An array literal (parenthesised or not).
    Lit(Ty),
}

impl Gen {
    /// A `for x in seq` loop (with the declarations it needs before it), or
    /// `None` when nothing in scope fits the shape chosen.
    pub(super) fn for_each(&mut self, depth: u32) -> Option<Vec<Stmt>> {
        match self.rng.below(10) {
            0..=3 => self.for_each_var(depth).map(|s| vec![s]),
            4 | 5 => self.for_each_place(depth).map(|s| vec![s]),
            _ => self.for_each_moved(depth),
        }
    }

    /// Whether a loop over `n` elements fits the work budget.
    fn trips_fit(&self, n: u32) -> bool {
        u64::from(n) * self.mult <= MAX_MULT
    }

    /// The paths into `ty` that lead to an array through at least one
    /// index, with a trip count that fits.
    fn row_paths(&self, ty: &Ty) -> Vec<Vec<Tmpl>> {
        templates(ty, &self.p.structs)
            .into_iter()
            .filter(|(path, t)| {
                matches!(t, Ty::Array(_, n) if self.trips_fit(*n))
                    && path.iter().any(|e| matches!(e, Tmpl::Index(_)))
            })
            .map(|(path, _)| path)
            .collect()
    }

    /// `for x in v { … }` over a whole array binding.
    fn for_each_var(&mut self, depth: u32) -> Option<Stmt> {
        let arrays: Vec<usize> = self
            .scope
            .iter()
            .copied()
            .filter(|&v| matches!(self.p.vars[v].ty, Ty::Array(_, n) if self.trips_fit(n)))
            .collect();
        if arrays.is_empty() {
            return None;
        }
        let a = self.rng.pick(&arrays);
        let seq = Seq::Place(var_place(a));
        Some(self.for_each_loop(depth, seq, &[]))
    }

    /// `for x in v[e].f { … }`: a row or array field reached through
    /// in-range index expressions (which may read variables the body
    /// assigns).
    fn for_each_place(&mut self, depth: u32) -> Option<Stmt> {
        let mut cands: Vec<(usize, Vec<Tmpl>)> = Vec::new();
        for &v in &self.scope {
            for path in self.row_paths(&self.p.vars[v].ty) {
                cands.push((v, path));
            }
        }
        if cands.is_empty() {
            return None;
        }
        let (root, tmpl) = self.rng.pick(&cands);
        let path = self.path(tmpl);
        Some(self.for_each_loop(depth, Seq::Place(Place { root, path }), &[]))
    }

    /// `var j: T = …; for x in g[j] { … j = …; … }`: the sequence is a
    /// place (a local, a static, a field path, a row of rows) or an indexed
    /// array literal, at least one of whose indexes is a fresh variable that
    /// the body assigns, sometimes out of range.
    fn for_each_moved(&mut self, depth: u32) -> Option<Vec<Stmt>> {
        let mut out = Vec::new();
        let source = match self.rng.below(4) {
            0 => Source::Lit(self.rows_ty()),
            1 => {
                // A new binding with rows (of rows, or of structs).
                let ty = self.rows_ty();
                let ty = match self.p.structs.first() {
                    Some(fields)
                        if self.rng.coin() && fields.iter().any(|f| matches!(f, Ty::Array(..))) =>
                    {
                        if self.rng.coin() {
                            Ty::Struct(0)
                        } else {
                            Ty::Array(Box::new(Ty::Struct(0)), 2)
                        }
                    }
                    _ => ty,
                };
                let init = self.framed(&mut out, |g| g.agg_init(&ty, 2));
                let g = self.new_var("v", ty, VarKind::Local);
                out.push(Stmt::Let {
                    var: g,
                    annotate: true,
                    init,
                });
                self.scope.push(g);
                Source::Var(g)
            }
            _ => {
                let cands: Vec<usize> = self
                    .scope
                    .iter()
                    .copied()
                    .filter(|&v| !self.row_paths(&self.p.vars[v].ty).is_empty())
                    .collect();
                if cands.is_empty() {
                    return None;
                }
                // Statics and deeper paths are rarer than locals: prefer them.
                let rare: Vec<usize> = cands
                    .iter()
                    .copied()
                    .filter(|&v| {
                        self.p.vars[v].kind == VarKind::Static
                            || self
                                .row_paths(&self.p.vars[v].ty)
                                .iter()
                                .any(|p| p.len() > 1)
                    })
                    .collect();
                if !rare.is_empty() && self.rng.coin() {
                    Source::Var(self.rng.pick(&rare))
                } else {
                    Source::Var(self.rng.pick(&cands))
                }
            }
        };
        let ty = match &source {
            Source::Var(v) => self.p.vars[*v].ty.clone(),
            Source::Lit(t) => t.clone(),
        };
        let paths = self.row_paths(&ty);
        if paths.is_empty() {
            // Rows too long for the budget: no loop (a new binding stays,
            // as any other binding; after a literal, nothing is left).
            return Some(out);
        }
        // The longest paths (two indexes) half of the time.
        let longest = paths.iter().map(Vec::len).max().unwrap_or(0);
        let tmpl = if self.rng.coin() {
            let long: Vec<Vec<Tmpl>> = paths
                .iter()
                .filter(|p| p.len() == longest)
                .cloned()
                .collect();
            self.rng.pick(&long)
        } else {
            self.rng.pick(&paths)
        };
        // Every index is a fresh variable or, sometimes, an in-range
        // expression; at least one is a variable.
        let slots = tmpl.iter().filter(|e| matches!(e, Tmpl::Index(_))).count();
        let keep = self.rng.below(slots as u64) as usize;
        let mut moving: Vec<(usize, IntTy, u32)> = Vec::new();
        let mut path = Vec::new();
        let mut slot = 0;
        for e in tmpl {
            match e {
                Tmpl::Field(k) => path.push(PathElem::Field(k)),
                Tmpl::Index(n) => {
                    let idx = if slot == keep || self.rng.chance(2, 3) {
                        let t = self.rng.pick(&INTS);
                        let init = self.framed(&mut out, |g| g.index_init(t, n));
                        let j = self.new_var("j", Ty::Int(t), VarKind::Local);
                        out.push(Stmt::Let {
                            var: j,
                            annotate: true,
                            init: Init::Scalar(init),
                        });
                        self.scope.push(j);
                        moving.push((j, t, n));
                        Expr::Read(var_place(j))
                    } else {
                        self.framed(&mut out, |g| g.index(n))
                    };
                    path.push(PathElem::Index(Box::new(idx), n));
                    slot += 1;
                }
            }
        }
        let seq = match source {
            Source::Var(root) => Seq::Place(Place { root, path }),
            Source::Lit(ty) => {
                self.post_nest += 1;
                let init = self.framed(&mut out, |g| g.literal(&ty));
                self.post_nest -= 1;
                let mut prim = Prim::Lit(ty, init);
                if self.rng.chance(1, 4) {
                    prim = Prim::Paren(Box::new(prim));
                }
                Seq::Post(prim, path)
            }
        };
        let s = self.for_each_loop(depth, seq, &moving);
        out.push(s);
        Some(out)
    }

    /// `f`'s result; the guards it hoists go to `out`, which then gets the
    /// statement that uses the result (each declaration before the loop may
    /// read the ones before it).
    fn framed<T>(&mut self, out: &mut Vec<Stmt>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.preludes.push(Vec::new());
        let r = f(self);
        out.extend(self.preludes.pop().unwrap_or_default());
        r
    }

    /// `[[T; m]; n]` or `[[[T; m]; 2]; 2]`, at most 128 bytes.
    fn rows_ty(&mut self) -> Ty {
        let el = self.scalar_ty();
        let row = Ty::Array(Box::new(el), self.rng.between(1, 4) as u32);
        if self.rng.chance(1, 3) {
            let rows = Ty::Array(Box::new(row), 2);
            Ty::Array(Box::new(rows), 2)
        } else {
            Ty::Array(Box::new(row), self.rng.between(2, 4) as u32)
        }
    }

    /// The initial value of an index variable of type `t` for an array of
    /// `n`: in range.
    fn index_init(&mut self, t: IntTy, n: u32) -> Expr {
        let n128 = i128::from(n);
        if self.rng.coin() {
            return Expr::Lit(t, self.rng.between(0, n128 - 1));
        }
        let e = self.int_expr(t, 2, false);
        if t.signed() {
            let c = Expr::Cast(IntTy::U32, Box::new(e));
            let r = Expr::Arith(
                ArOp::Rem,
                IntTy::U32,
                Box::new(c),
                Box::new(Expr::Lit(IntTy::U32, n128)),
            );
            Expr::Cast(t, Box::new(r))
        } else {
            Expr::Arith(ArOp::Rem, t, Box::new(e), Box::new(Expr::Lit(t, n128)))
        }
    }

    /// The loop over `seq`, whose body assigns every variable of `moving`
    /// (index variable, its type, the length it indexes) once, at the top
    /// level of the body, between random statements.
    fn for_each_loop(&mut self, depth: u32, seq: Seq, moving: &[(usize, IntTy, u32)]) -> Stmt {
        let seq_ty = match &seq {
            Seq::Place(p) => self.p.place_ty(p),
            Seq::Post(prim, path) => {
                let mut prim = prim;
                while let Prim::Paren(x) = prim {
                    prim = x;
                }
                let Prim::Lit(ty, _) = prim else {
                    unreachable!("a literal sequence")
                };
                self.p.path_ty(ty.clone(), path)
            }
        };
        let Ty::Array(el, n) = seq_ty else {
            unreachable!("a sequence is an array")
        };
        let x = self.new_var("x", (*el).clone(), VarKind::ForVar);
        let saved = self.enter_loop(u64::from(n));
        self.scope.push(x);
        let mark = self.scope.len();
        let body = if moving.is_empty() {
            let k = self.rng.between(1, 3) as usize;
            self.stmts_keep(k, depth + 1, true, true).0
        } else {
            let k = self.rng.between(0, 2) as usize;
            let (mut body, diverges) = self.stmts_keep(k, depth + 1, true, true);
            if diverges {
                // Before the statements (and out of their bindings' scope):
                // nothing follows a diverging one.
                self.scope.truncate(mark);
                let moves = self.index_moves(moving);
                body.splice(0..0, moves);
            } else {
                let moves = self.index_moves(moving);
                body.extend(moves);
                let k = self.rng.between(0, 2) as usize;
                body.extend(self.stmts_keep(k, depth + 1, true, true).0);
            }
            body
        };
        self.scope.truncate(mark);
        self.scope.pop();
        self.leave_loop(saved);
        Stmt::ForEach { var: x, seq, body }
    }

    /// One assignment to each moving index variable (the first always, the
    /// others sometimes): to another row, one past the last, further out of
    /// range, a step up or down, or any value; sometimes under an `if`.
    fn index_moves(&mut self, moving: &[(usize, IntTy, u32)]) -> Vec<Stmt> {
        let mut out = Vec::new();
        // Expressions here are evaluated at every trip: no hoisted guards.
        let prelude_ok = std::mem::replace(&mut self.prelude_ok, false);
        for (i, &(j, t, n)) in moving.iter().enumerate() {
            if i > 0 && self.rng.chance(1, 3) {
                continue;
            }
            let n128 = i128::from(n);
            let (op, value) = match self.rng.below(6) {
                0 => (None, Expr::Lit(t, self.rng.between(0, n128 - 1))),
                1 => (None, Expr::Lit(t, n128)),
                2 => {
                    let lo = if t.signed() { -2 } else { n128 };
                    (None, Expr::Lit(t, self.rng.between(lo, n128 + 5)))
                }
                3 => (Some(CompOp::Ar(ArOp::Add)), Expr::Lit(t, 1)),
                4 => (Some(CompOp::Ar(ArOp::Sub)), Expr::Lit(t, 1)),
                _ => (None, self.int_expr(t, 2, true)),
            };
            let mut s = Stmt::Assign {
                place: var_place(j),
                op,
                value: Init::Scalar(value),
            };
            if self.rng.chance(1, 4) {
                let cond = self.bool_expr(2);
                s = Stmt::If {
                    cond,
                    then: vec![s],
                    els: None,
                };
            }
            self.work += self.mult;
            out.push(s);
        }
        self.prelude_ok = prelude_ok;
        out
    }
}
