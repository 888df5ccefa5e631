//! Lowering expressions to values in virtual registers: literals, names,
//! arithmetic with KPL's wrapping (`Norm`), shift masking and checked
//! division, comparisons, casts, `&&`/`||` as branches, and calls to plugin
//! functions, imports and the atomic built-ins.

use kpl_lang::ast::{self, BinOp, ExprKind, UnOp};
use kpl_lang::check::{AtomicOp, Res};
use kpl_lang::consteval::Value;
use kpl_lang::types::{IntTy, Ty};

use crate::ir::*;

use super::{Lower, Storage, scalar_of};

impl Lower<'_, '_> {
    pub(super) fn expr_for_effect(&mut self, e: &ast::Expr) {
        match &e.unparen().kind {
            ExprKind::Call(..) => {
                self.call(e.unparen(), false);
            }
            _ => {
                // Evaluated for its traps (e.g. a checked index), value dropped.
                if matches!(self.ty(e), Ty::Array(..) | Ty::Struct(..)) {
                    self.aggregate_for_effect(e);
                } else {
                    self.expr(e);
                }
            }
        }
    }

    /// Evaluates an aggregate-typed expression only for its effects: its
    /// calls, and the bounds checks of its indexes. An expression that has
    /// neither (a variable, a field of one, a literal of constants) emits
    /// nothing.
    fn aggregate_for_effect(&mut self, e: &ast::Expr) {
        if !may_call_or_trap(e) {
            return;
        }
        let saved = self.pos;
        self.pos = e.span.start;
        if let Some(p) = self.place(e)
            && let Some((v, stride, check)) = p.index
        {
            self.run_check(v, check, p.base, stride);
        }
        self.pos = saved;
    }

    fn norm(&mut self, v: V, ty: &Ty) -> V {
        match ty {
            Ty::Int(t) if t.bits() < 64 => {
                let dst = self.vreg();
                self.emit(Inst::Norm {
                    dst,
                    a: v,
                    ty: Scalar::of_int(*t),
                });
                dst
            }
            _ => v,
        }
    }

    /// `a op b` for arithmetic and bitwise operators, with KPL's semantics.
    pub(super) fn arith(&mut self, op: BinOp, ty: &Ty, a: V, b: V, _rhs_ty: &Ty) -> V {
        let int = ty.as_int();
        let signed = int.is_some_and(IntTy::signed);
        let dst = self.vreg();
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let op = match op {
                    BinOp::Add => Op::Add,
                    BinOp::Sub => Op::Sub,
                    _ => Op::Mul,
                };
                self.emit(Inst::Bin { op, dst, a, b });
                self.norm(dst, ty)
            }
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => {
                let op = match op {
                    BinOp::BitAnd => Op::And,
                    BinOp::BitOr => Op::Or,
                    _ => Op::Xor,
                };
                // Canonical inputs give a canonical result.
                self.emit(Inst::Bin { op, dst, a, b });
                dst
            }
            BinOp::Shl | BinOp::Shr => {
                let bits = int.map_or(64, IntTy::bits);
                let amount = self.vreg();
                self.emit(Inst::BinImm {
                    op: Op::And,
                    dst: amount,
                    a: b,
                    imm: (bits - 1) as i32,
                });
                let op = match (op, signed) {
                    (BinOp::Shl, _) => Op::Shl,
                    (_, true) => Op::Sar,
                    _ => Op::Shr,
                };
                self.emit(Inst::Bin {
                    op,
                    dst,
                    a,
                    b: amount,
                });
                if op == Op::Shl {
                    self.norm(dst, ty)
                } else {
                    dst
                }
            }
            BinOp::Div | BinOp::Rem => {
                let div0 = self.site(TrapKind::DivByZero);
                let overflow = self.site(TrapKind::Overflow);
                self.emit(Inst::Div {
                    dst,
                    a,
                    b,
                    signed,
                    rem: op == BinOp::Rem,
                    min: if signed {
                        int.map(|t| t.min() as i64)
                    } else {
                        None
                    },
                    narrow: !signed && int.is_some_and(|t| t.bits() <= 32),
                    div0,
                    overflow,
                });
                dst
            }
            _ => dst,
        }
    }

    pub(super) fn expr(&mut self, e: &ast::Expr) -> V {
        let saved = self.pos;
        self.pos = e.span.start;
        let v = self.expr_inner(e);
        self.pos = saved;
        v
    }

    fn expr_inner(&mut self, e: &ast::Expr) -> V {
        let ty = self.ty(e);
        match &e.kind {
            ExprKind::Int(v) => {
                let s = scalar_of(&ty);
                self.konst(s.normalize(*v as i64))
            }
            ExprKind::Bool(b) => self.konst(i64::from(*b)),
            ExprKind::Paren(x) => self.expr(x),
            ExprKind::Unary(op, x) => {
                if *op == UnOp::Neg
                    && let ExprKind::Int(v) = x.unparen().kind
                {
                    let s = scalar_of(&ty);
                    return self.konst(s.normalize((v as i64).wrapping_neg()));
                }
                let a = self.expr(x);
                let dst = self.vreg();
                match op {
                    UnOp::Neg => {
                        self.emit(Inst::Neg { dst, a });
                        self.norm(dst, &ty)
                    }
                    UnOp::BitNot => {
                        self.emit(Inst::Not { dst, a });
                        self.norm(dst, &ty)
                    }
                    UnOp::Not => {
                        self.emit(Inst::BinImm {
                            op: Op::Xor,
                            dst,
                            a,
                            imm: 1,
                        });
                        dst
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => match op {
                BinOp::And | BinOp::Or => self.short_circuit(e),
                op if op.is_comparison() => {
                    let lt = self.ty(lhs);
                    let a = self.expr(lhs);
                    let b = self.expr(rhs);
                    let signed = matches!(lt, Ty::Int(t) if t.signed());
                    let cc = cmp_cc(*op, signed);
                    let dst = self.vreg();
                    self.emit(Inst::Cmp { cc, dst, a, b });
                    dst
                }
                op => {
                    let a = self.expr(lhs);
                    let b = self.expr(rhs);
                    let rt = self.ty(rhs);
                    self.arith(*op, &ty, a, b, &rt)
                }
            },
            ExprKind::Cast(x, _) => {
                let a = self.expr(x);
                let from = self.ty(x);
                if from == ty {
                    return a;
                }
                self.norm(a, &ty)
            }
            ExprKind::Call(..) => self.call(e, true).unwrap_or_else(|| self.konst(0)),
            ExprKind::Name(_) => match self.tables.resolutions.get(&e.id).copied() {
                Some(Res::Local(l)) => match self.local_storage(l) {
                    Storage::Scalar(v) | Storage::Slice(v) => v,
                    _ => self.konst(0),
                },
                Some(Res::Const(i)) => match &self.prog.consts[i as usize].value {
                    Some(Value::Int(v, _)) => self.konst(*v as i64),
                    Some(Value::Bool(b)) => self.konst(i64::from(*b)),
                    _ => self.konst(0),
                },
                Some(Res::Static(_)) => match self.place(e) {
                    Some(p) => self.load(p, scalar_of(&ty)),
                    None => self.konst(0),
                },
                _ => self.konst(0),
            },
            ExprKind::Field(base, f)
                if f.name == "len" && matches!(self.ty(base), Ty::Array(..) | Ty::Slice { .. }) =>
            {
                match self.ty(base) {
                    Ty::Array(_, n) => {
                        // `e.len` evaluates `e` (its calls and bounds checks),
                        // then ignores the value.
                        self.aggregate_for_effect(base);
                        self.konst(n as i64)
                    }
                    t => {
                        let (writable, size) = match t {
                            Ty::Slice { mutable, elem } => (mutable, Scalar::of_int(elem).size),
                            _ => (false, 1),
                        };
                        let h = self.expr(base);
                        let dst = self.vreg();
                        self.emit(Inst::SliceLen {
                            dst,
                            handle: h,
                            writable,
                            size,
                        });
                        dst
                    }
                }
            }
            ExprKind::Field(..) | ExprKind::Index(..) => match self.place(e) {
                Some(p) => self.load(p, scalar_of(&ty)),
                None => self.konst(0),
            },
            // Aggregates and strings are never scalar values.
            _ => self.konst(0),
        }
    }

    fn short_circuit(&mut self, e: &ast::Expr) -> V {
        let result = self.vreg();
        let t = self.new_block();
        let f = self.new_block();
        let join = self.new_block();
        self.branch(e, t, f);
        self.switch_to(t);
        self.emit(Inst::Const {
            dst: result,
            value: 1,
        });
        self.terminate(Term::Jump(join));
        self.switch_to(f);
        self.emit(Inst::Const {
            dst: result,
            value: 0,
        });
        self.terminate(Term::Jump(join));
        self.switch_to(join);
        result
    }

    /// Evaluates a condition as control flow (short-circuiting `&&`/`||`).
    pub(super) fn branch(&mut self, cond: &ast::Expr, then: BlockId, els: BlockId) {
        match &cond.unparen().kind {
            ExprKind::Binary {
                op: BinOp::And,
                lhs,
                rhs,
                ..
            } => {
                let mid = self.new_block();
                self.branch(lhs, mid, els);
                self.switch_to(mid);
                self.branch(rhs, then, els);
            }
            ExprKind::Binary {
                op: BinOp::Or,
                lhs,
                rhs,
                ..
            } => {
                let mid = self.new_block();
                self.branch(lhs, then, mid);
                self.switch_to(mid);
                self.branch(rhs, then, els);
            }
            ExprKind::Unary(UnOp::Not, x) => self.branch(x, els, then),
            _ => {
                let c = self.expr(cond);
                self.terminate(Term::Branch { cond: c, then, els });
            }
        }
    }

    fn call(&mut self, e: &ast::Expr, want_value: bool) -> Option<V> {
        let ExprKind::Call(callee, args) = &e.kind else {
            return None;
        };
        if let ExprKind::Name(n) = &callee.unparen().kind
            && let Some(op) = AtomicOp::from_name(n)
        {
            // The checker resolves no name for a built-in (its name is reserved).
            return Some(self.atomic(op, args));
        }
        let res = self.tables.resolutions.get(&callee.unparen().id).copied()?;
        match res {
            Res::Fn(f) => {
                let vs: Vec<V> = args.iter().map(|a| self.expr(a)).collect();
                let returns = self.fn_def_get(f as usize).is_some_and(|d| d.ret.is_some());
                let dst = (returns && want_value).then(|| self.vreg());
                let dst = dst.or_else(|| returns.then(|| self.vreg()));
                self.emit(Inst::Call {
                    dst,
                    func: f,
                    args: vs,
                });
                dst
            }
            Res::Import(i) => {
                let mut out = Vec::new();
                for a in args {
                    match &a.unparen().kind {
                        ExprKind::Str(s) => {
                            let (offset, len) = self.mb.string(s);
                            out.push(ImportArg::Str { offset, len });
                        }
                        _ => {
                            let v = self.expr(a);
                            out.push(ImportArg::Value(v));
                        }
                    }
                }
                let returns = self.prog.imports[i as usize].ret.is_some();
                let dst = returns.then(|| self.vreg());
                self.emit(Inst::CallImport {
                    dst,
                    slot: i,
                    args: out,
                });
                // Host results are normalised to the declared type.
                match (dst, &self.prog.imports[i as usize].ret.clone()) {
                    (Some(d), Some(t)) => Some(self.norm(d, t)),
                    _ => dst,
                }
            }
            _ => None,
        }
    }
}

/// Whether evaluating `e` may call a function or trap (a division, an
/// index); otherwise evaluating it for its effects does nothing.
pub(super) fn may_call_or_trap(e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Call(..) | ExprKind::Index(..) | ExprKind::Error => true,
        ExprKind::Binary { op, lhs, rhs, .. } => {
            matches!(op, BinOp::Div | BinOp::Rem) || may_call_or_trap(lhs) || may_call_or_trap(rhs)
        }
        ExprKind::Paren(x)
        | ExprKind::Unary(_, x)
        | ExprKind::Cast(x, _)
        | ExprKind::Field(x, _) => may_call_or_trap(x),
        ExprKind::ArrayRepeat(x, _) => may_call_or_trap(x),
        ExprKind::StructLit(_, fields) => fields.iter().any(|f| may_call_or_trap(&f.value)),
        ExprKind::ArrayLit(elems) => elems.iter().any(may_call_or_trap),
        ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Name(_) => false,
    }
}

fn cmp_cc(op: BinOp, signed: bool) -> Cc {
    match (op, signed) {
        (BinOp::Eq, _) => Cc::Eq,
        (BinOp::Ne, _) => Cc::Ne,
        (BinOp::Lt, true) => Cc::Lt,
        (BinOp::Le, true) => Cc::Le,
        (BinOp::Gt, true) => Cc::Gt,
        (BinOp::Ge, true) => Cc::Ge,
        (BinOp::Lt, false) => Cc::B,
        (BinOp::Le, false) => Cc::Be,
        (BinOp::Gt, false) => Cc::A,
        (BinOp::Ge, false) => Cc::Ae,
        _ => Cc::Ne,
    }
}
