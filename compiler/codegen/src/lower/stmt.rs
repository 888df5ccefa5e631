//! Lowering statements: blocks, `let`/`var`, `if`, `while` and `for` loops
//! (with the budget check on each back-edge, and the index range a `for`
//! proves so that its bounds checks can be omitted), `return`, `break`,
//! `continue`, and plain and compound assignment.

use kpl_lang::ast::{self, BinOp, ExprKind, ForIter, StmtKind};
use kpl_lang::check::{Program, Res};
use kpl_lang::types::Ty;

use crate::ir::*;

use super::{Lower, Place, Proof, Storage, scalar_of};

impl Lower<'_, '_> {
    pub(super) fn block(&mut self, b: &ast::Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    /// Starts a fresh block for code after an unconditional jump, so that
    /// (unreachable) statements still have somewhere to go.
    fn dead_end(&mut self) {
        let b = self.new_block();
        self.switch_to(b);
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        self.pos = s.span.start;
        match &s.kind {
            StmtKind::Let { name, init, .. } => {
                let (_, storage) = self.declare(name.span);
                match storage {
                    Storage::Scalar(v) => {
                        let x = self.expr(init);
                        self.emit(Inst::Copy { dst: v, src: x });
                    }
                    Storage::Aggregate(off, size) => {
                        let place = Place {
                            base: Base::Stack(off),
                            disp: 0,
                            whole: size,
                            index: None,
                        };
                        self.store_aggregate(place, init);
                    }
                    _ => {}
                }
            }
            StmtKind::Assign {
                target, op, value, ..
            } => self.assign(target, *op, value),
            StmtKind::If { cond, then, els } => {
                let then_b = self.new_block();
                let else_b = self.new_block();
                let join = self.new_block();
                self.branch(cond, then_b, else_b);
                self.switch_to(then_b);
                self.block(then);
                self.terminate(Term::Jump(join));
                self.switch_to(else_b);
                if let Some(e) = els {
                    self.stmt(e);
                }
                self.terminate(Term::Jump(join));
                self.switch_to(join);
            }
            StmtKind::While { cond, body } => {
                let loop_pos = s.span.start;
                let header = self.new_block();
                let body_b = self.new_block();
                let latch = self.new_block();
                let exit = self.new_block();
                self.terminate(Term::Jump(header));
                self.switch_to(header);
                self.branch(cond, body_b, exit);
                self.switch_to(body_b);
                self.loop_body(body, header, latch, exit, loop_pos, None);
            }
            StmtKind::For { var, iter, body } => self.for_loop(var, iter, body),
            StmtKind::Break | StmtKind::Continue => {
                if let Some(&(brk, cont)) = self.loops.last() {
                    let to = if s.kind == StmtKind::Break { brk } else { cont };
                    self.terminate(Term::Jump(to));
                }
                self.dead_end();
            }
            StmtKind::Return(value) => {
                let v = value.as_ref().map(|e| self.expr(e));
                self.terminate(Term::Ret(v));
                self.dead_end();
            }
            StmtKind::Abort => {
                let site = self.site(TrapKind::Abort);
                self.emit(Inst::Trap { site });
                self.terminate(Term::Ret(None));
                self.dead_end();
            }
            StmtKind::Expr(e) => {
                self.expr_for_effect(e);
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::Error => {}
        }
    }

    /// Starts a counted loop: jumps to a new header block that branches to
    /// a new body block while `idx cc bound`, else to a new exit block. With
    /// `latch`, a latch block is created between body and exit (the layout
    /// order). Returns (header, latch, exit) with the body block current.
    pub(super) fn loop_head(
        &mut self,
        idx: V,
        cc: Cc,
        bound: V,
        latch: bool,
    ) -> (BlockId, BlockId, BlockId) {
        let header = self.new_block();
        let body = self.new_block();
        let latch = if latch { self.new_block() } else { body };
        let exit = self.new_block();
        self.terminate(Term::Jump(header));
        self.switch_to(header);
        let c = self.vreg();
        self.emit(Inst::Cmp {
            cc,
            dst: c,
            a: idx,
            b: bound,
        });
        self.terminate(Term::Branch {
            cond: c,
            then: body,
            els: exit,
        });
        self.switch_to(body);
        (header, latch, exit)
    }

    /// Fuel check and jump back to the loop header. `loop_pos` is the loop
    /// statement's source offset: a Budget trap is reported there.
    /// A loop's body and latch: inside the body `break` goes to `exit` and
    /// `continue` to `latch`, which adds 1 to `counter` (if any) and takes
    /// the budgeted back-edge to `header`; lowering goes on at `exit`.
    fn loop_body(
        &mut self,
        body: &ast::Block,
        header: BlockId,
        latch: BlockId,
        exit: BlockId,
        loop_pos: u32,
        counter: Option<V>,
    ) {
        self.loops.push((exit, latch));
        self.block(body);
        self.loops.pop();
        self.terminate(Term::Jump(latch));
        self.switch_to(latch);
        if let Some(c) = counter {
            self.emit(Inst::BinImm {
                op: Op::Add,
                dst: c,
                a: c,
                imm: 1,
            });
        }
        self.back_edge(header, loop_pos);
        self.switch_to(exit);
    }

    pub(super) fn back_edge(&mut self, header: BlockId, loop_pos: u32) {
        self.pos = loop_pos;
        if self.options.budget_checks {
            let site = self.site(TrapKind::Budget);
            self.emit(Inst::Budget { site });
        }
        self.terminate(Term::Jump(header));
    }

    fn for_loop(&mut self, var: &ast::Ident, iter: &ForIter, body: &ast::Block) {
        let loop_pos = self.pos;
        let (var_id, var_storage) = self.declare(var.span);
        match iter {
            ForIter::Range(lo, hi) => {
                let Storage::Scalar(i) = var_storage else {
                    return;
                };
                let ty = self.ty(lo);
                let signed = matches!(ty, Ty::Int(t) if t.signed());
                let start = self.expr(lo);
                let end_value = self.expr(hi);
                // The bound is a snapshot: the body may change the variable it came from.
                let end = self.vreg();
                self.emit(Inst::Copy {
                    dst: end,
                    src: end_value,
                });
                self.emit(Inst::Copy { dst: i, src: start });
                let proof = self.range_proof(lo, hi, signed);
                // With a proof both bounds are non-negative, so the unsigned
                // compare is the same test — and the one the verifier reads
                // as "index below bound".
                let cc = if signed && proof.is_none() {
                    Cc::Lt
                } else {
                    Cc::B
                };
                let (header, latch, exit) = self.loop_head(i, cc, end, true);
                let proof = proof.filter(|_| !self.options.local_checks);
                if let Some(p) = proof {
                    self.proven.push((var_id, p));
                }
                // i < end <= MAX, so i + 1 cannot wrap: no Norm needed.
                self.loop_body(body, header, latch, exit, loop_pos, Some(i));
                if proof.is_some() {
                    self.proven.pop();
                }
            }
            ForIter::Each(seq) => {
                let place = match self.place(seq) {
                    Some(p) => p,
                    None => {
                        // An array value that is not a place (a literal):
                        // evaluate it once into a temporary.
                        let size = self.prog.layout(&self.ty(seq)).size as u32;
                        let tmp = self.temp_aggregate(&self.ty(seq));
                        self.store_aggregate(tmp, seq);
                        let _ = size;
                        tmp
                    }
                };
                // The sequence is evaluated once: its index and slice handle
                // are copied, so that the body's assignments to the locals
                // they came from (`for x in g[j] { j = 1; }`) do not move the
                // loop to another row.
                let place = self.snapshot(place);
                let seq_ty = self.ty(seq);
                let (len, elem_ty) = match (&seq_ty, place.base) {
                    (Ty::Slice { elem, .. }, Base::Slice(h)) => {
                        let n = self.vreg();
                        self.emit(Inst::SliceLen {
                            dst: n,
                            handle: h,
                            writable: false,
                            size: Scalar::of_int(*elem).size,
                        });
                        (n, Ty::Int(*elem))
                    }
                    (Ty::Array(elem, n), _) => (self.konst(*n as i64), (**elem).clone()),
                    _ => return,
                };
                let idx = self.konst(0);
                let (header, latch, exit) = self.loop_head(idx, Cc::B, len, true);
                let elem_size = self.prog.layout(&elem_ty).size as u32;
                let check = self.loop_check(|site| match &seq_ty {
                    Ty::Array(_, n) => Check::Below(*n, site),
                    _ => Check::SliceLen(site),
                });
                let elem_place = self.indexed(place, idx, elem_size, check);
                match var_storage {
                    Storage::Scalar(v) => {
                        let x = self.load(elem_place, scalar_of(&elem_ty));
                        self.emit(Inst::Copy { dst: v, src: x });
                    }
                    Storage::Aggregate(off, size) => {
                        let dst = Place {
                            base: Base::Stack(off),
                            disp: 0,
                            whole: size,
                            index: None,
                        };
                        self.copy(dst, elem_place, size);
                    }
                    _ => {}
                }
                self.loop_body(body, header, latch, exit, loop_pos, Some(idx));
            }
        }
    }

    /// `place` with its registers (a slice's handle, the dynamic index)
    /// copied into fresh ones, which nothing else writes.
    fn snapshot(&mut self, mut place: Place) -> Place {
        let copy = |this: &mut Self, v: V| {
            let fresh = this.vreg();
            this.emit(Inst::Copy { dst: fresh, src: v });
            fresh
        };
        place.base = match place.base {
            Base::Slice(h) => Base::Slice(copy(self, h)),
            Base::SlicePtr(p) => Base::SlicePtr(copy(self, p)),
            other => other,
        };
        if let Some((i, stride, check)) = place.index {
            place.index = Some((copy(self, i), stride, check));
        }
        place
    }

    /// What `for i in lo..hi` proves about `i` inside the body.
    fn range_proof(&mut self, lo: &ast::Expr, hi: &ast::Expr, signed: bool) -> Option<Proof> {
        let nonneg = !signed || matches!(lo.unparen().kind, ExprKind::Int(_));
        if !nonneg {
            return None;
        }
        match &hi.unparen().kind {
            ExprKind::Field(base, f) if f.name == "len" => {
                match self.tables.resolutions.get(&base.unparen().id) {
                    Some(Res::Local(l)) => match self.locals[*l as usize] {
                        Storage::Slice(_) => Some(Proof::SliceLen(*l)),
                        _ => match self.ty(base) {
                            Ty::Array(_, n) => Some(Proof::Below(n)),
                            _ => None,
                        },
                    },
                    _ => match self.ty(base) {
                        Ty::Array(_, n) => Some(Proof::Below(n)),
                        _ => None,
                    },
                }
            }
            ExprKind::Int(n) => Some(Proof::Below(*n)),
            _ => None,
        }
    }

    fn assign(&mut self, target: &ast::Expr, op: Option<BinOp>, value: &ast::Expr) {
        let ty = self.ty(target);
        // A scalar local: a register.
        if let ExprKind::Name(_) = target.unparen().kind
            && let Some(Res::Local(l)) = self.tables.resolutions.get(&target.unparen().id)
            && let Storage::Scalar(v) = self.local_storage(*l)
        {
            let x = match op {
                None => self.expr(value),
                Some(op) => {
                    let rhs = self.expr(value);
                    self.arith(op, &ty, v, rhs, &self.ty(value))
                }
            };
            self.emit(Inst::Copy { dst: v, src: x });
            return;
        }
        let Some(place) = self.place(target) else {
            return;
        };
        if matches!(ty, Ty::Array(..) | Ty::Struct(..)) {
            // A literal is built element by element; if building it reads
            // the target (or calls, which may write statics), build it in a
            // temporary first: the old value must be read in full.
            let literal = matches!(
                value.unparen().kind,
                ExprKind::StructLit(..) | ExprKind::ArrayLit(..) | ExprKind::ArrayRepeat(..)
            );
            let root = place_root(target).and_then(|r| self.tables.resolutions.get(&r).copied());
            if literal && reads_or_calls(value, root, self.tables) {
                let tmp = self.temp_aggregate(&ty);
                self.store_aggregate(tmp, value);
                let size = self.prog.layout(&ty).size as u32;
                self.copy(place, tmp, size);
            } else {
                self.store_aggregate(place, value);
            }
            return;
        }
        let s = scalar_of(&ty);
        // The place (its indexes and their checks) is evaluated before the
        // right-hand side: `a[9] = f()` traps without calling f.
        if op.is_none()
            && let Some((v, stride, check)) = place.index
        {
            self.run_check(v, check, place.base, stride);
        }
        let x = match op {
            None => self.expr(value),
            Some(op) => {
                // The place is evaluated once; its checks already ran.
                let old = self.load(place, s);
                let rhs = self.expr(value);
                self.arith(op, &ty, old, rhs, &self.ty(value))
            }
        };
        self.store(place, x, s);
    }
}

/// The expression id of the variable a place expression is rooted at.
fn place_root(e: &ast::Expr) -> Option<ast::ExprId> {
    match &e.kind {
        ExprKind::Name(_) => Some(e.id),
        ExprKind::Paren(x) | ExprKind::Field(x, _) | ExprKind::Index(x, _) => place_root(x),
        _ => None,
    }
}

/// Whether evaluating `e` may read the variable `root` or call a function.
fn reads_or_calls(e: &ast::Expr, root: Option<Res>, prog: &Program) -> bool {
    match &e.kind {
        ExprKind::Name(_) => root.is_some() && prog.resolutions.get(&e.id).copied() == root,
        ExprKind::Call(..) => true,
        ExprKind::Paren(x)
        | ExprKind::Unary(_, x)
        | ExprKind::Cast(x, _)
        | ExprKind::Field(x, _) => reads_or_calls(x, root, prog),
        ExprKind::Binary { lhs, rhs, .. } => {
            reads_or_calls(lhs, root, prog) || reads_or_calls(rhs, root, prog)
        }
        ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => {
            reads_or_calls(a, root, prog) || reads_or_calls(b, root, prog)
        }
        ExprKind::StructLit(_, fields) => {
            fields.iter().any(|f| reads_or_calls(&f.value, root, prog))
        }
        ExprKind::ArrayLit(elems) => elems.iter().any(|x| reads_or_calls(x, root, prog)),
        ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Error => false,
    }
}
