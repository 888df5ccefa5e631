//! Binary operators: pairing the two operands (a literal takes the other
//! side's type), the result type of each operator (E0200, E0203), and shifts
//! and comparisons whose outcome the operand types already decide (W0008,
//! W0009).

use crate::ast::*;
use crate::codes::Code;
use crate::consteval::Value;
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::types::{IntTy, Ty};

use super::Checker;
use super::body::Body;
use super::expr::is_untyped_literal;

impl<'a> Checker<'a> {
    /// Checks two operands that must have the same type. A literal operand
    /// takes the other operand's type, so the typed side is checked first.
    pub(super) fn operand_pair(
        &mut self,
        body: &mut Body,
        lhs: &Expr,
        rhs: &Expr,
        expected: Option<&Ty>,
    ) -> (Ty, Ty) {
        let expected = expected.filter(|t| t.as_int().is_some() || **t == Ty::Bool);
        if is_untyped_literal(lhs) && !is_untyped_literal(rhs) {
            let rt = self.expr(body, rhs, expected);
            let want = Some(&rt).filter(|t| t.as_int().is_some());
            let lt = self.expr(body, lhs, want);
            (lt, rt)
        } else {
            let lt = self.expr(body, lhs, expected);
            let want = Some(&lt).filter(|t| t.as_int().is_some() || **t == Ty::Bool);
            let rt = self.expr(body, rhs, want);
            (lt, rt)
        }
    }

    /// For `lhs op rhs` (and `place op= rhs`) once the left type is known.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn binary_types(
        &mut self,
        body: &mut Body,
        op: BinOp,
        op_span: Span,
        whole: Option<&Expr>,
        lt: Ty,
        rhs: &Expr,
        compound: bool,
    ) -> Ty {
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            // The amount gets no type from the shifted value.
            let rt = self.expr(body, rhs, None);
            if lt.is_error() || rt.is_error() {
                return if lt.as_int().is_some() { lt } else { Ty::Error };
            }
            let (Some(l), Some(_)) = (lt.as_int(), rt.as_int()) else {
                let bad = if lt.as_int().is_none() { &lt } else { &rt };
                self.report(Diagnostic::new(
                    Code::E0203,
                    format!("`{}` cannot be applied to `{bad}`", op.symbol()),
                    op_span,
                    "shifts need integer operands",
                ));
                return Ty::Error;
            };
            if let Some(Value::Int(amount, _)) = self.quiet_eval(rhs)
                && (amount < 0 || amount >= i128::from(l.bits()))
            {
                let masked = (amount as u64) & u64::from(l.bits() - 1);
                self.report(
                    Diagnostic::new(
                        Code::W0008,
                        format!(
                            "shift amount {amount} is not less than the width of `{}`",
                            l.name()
                        ),
                        rhs.span,
                        format!("the amount is masked to {masked}"),
                    )
                    .with_note(format!(
                        "shift amounts are taken modulo the bit width ({})",
                        l.bits()
                    )),
                );
            }
            return lt;
        }
        let want = Some(&lt).filter(|t| t.as_int().is_some() || **t == Ty::Bool);
        let rt = self.expr(body, rhs, want);
        match whole {
            Some(e) => {
                let ExprKind::Binary { lhs, .. } = &e.kind else {
                    return Ty::Error;
                };
                self.binary_result(op, op_span, e, &lt, &rt, lhs, rhs)
            }
            None => {
                debug_assert!(compound);
                self.arith_result(op, op_span, op_span, &lt, &rt, None, rhs)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn binary_result(
        &mut self,
        op: BinOp,
        op_span: Span,
        e: &Expr,
        lt: &Ty,
        rt: &Ty,
        lhs: &Expr,
        rhs: &Expr,
    ) -> Ty {
        if op.is_comparison() {
            if lt.is_error() || rt.is_error() {
                return Ty::Error;
            }
            let ordering = !matches!(op, BinOp::Eq | BinOp::Ne);
            let operand_ok = |t: &Ty| t.as_int().is_some() || (!ordering && *t == Ty::Bool);
            if !operand_ok(lt) || !operand_ok(rt) {
                let bad = if operand_ok(lt) { rt } else { lt };
                self.report(
                    Diagnostic::new(
                        Code::E0203,
                        format!("`{}` cannot compare values of type `{bad}`", op.symbol()),
                        op_span,
                        if ordering {
                            "ordering needs integers"
                        } else {
                            "equality needs integers or bools"
                        },
                    )
                    .with_note("arrays and structs are compared element by element, in a loop"),
                );
                return Ty::Error;
            }
            if lt != rt {
                self.report_operand_mismatch(op, op_span, e, lt, rt, lhs, rhs);
                return Ty::Error;
            }
            return Ty::Bool;
        }
        self.arith_result(op, op_span, e.span, lt, rt, Some(lhs), rhs)
    }

    #[allow(clippy::too_many_arguments)]
    fn arith_result(
        &mut self,
        op: BinOp,
        op_span: Span,
        whole: Span,
        lt: &Ty,
        rt: &Ty,
        lhs: Option<&Expr>,
        rhs: &Expr,
    ) -> Ty {
        if lt.is_error() || rt.is_error() {
            return if lt.as_int().is_some() {
                lt.clone()
            } else {
                Ty::Error
            };
        }
        let bitwise = matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor);
        let operand_ok = |t: &Ty| t.as_int().is_some() || (bitwise && *t == Ty::Bool);
        if !operand_ok(lt) || !operand_ok(rt) {
            let bad = if operand_ok(lt) { rt } else { lt };
            let mut d = Diagnostic::new(
                Code::E0203,
                format!("`{}` cannot be applied to `{bad}`", op.symbol()),
                op_span,
                if bitwise {
                    "needs integers or bools"
                } else {
                    "needs integers"
                },
            );
            if *bad == Ty::Bool && matches!(op, BinOp::Add | BinOp::Mul) {
                d = d.with_help("for logic, use `||` and `&&`");
            }
            self.report(d);
            return Ty::Error;
        }
        if lt != rt {
            let mut d = Diagnostic::new(
                Code::E0200,
                format!("mismatched types: `{lt}` {} `{rt}`", op.symbol()),
                op_span,
                "operands have different types",
            );
            if let Some(l) = lhs {
                d = d.with_secondary(l.span, format!("`{lt}`"));
            }
            d = d.with_secondary(rhs.span, format!("`{rt}`"));
            if let Some(li) = lt.as_int() {
                d = d.with_fix(
                    format!("convert the right operand with `as {}`", li.name()),
                    rhs.span.end_point(),
                    format!(" as {}", li.name()),
                );
            }
            let _ = whole;
            self.report(d.with_note("KPL never converts integer types implicitly"));
            return Ty::Error;
        }
        lt.clone()
    }

    #[allow(clippy::too_many_arguments)]
    fn report_operand_mismatch(
        &mut self,
        op: BinOp,
        op_span: Span,
        _e: &Expr,
        lt: &Ty,
        rt: &Ty,
        lhs: &Expr,
        rhs: &Expr,
    ) {
        let mut d = Diagnostic::new(
            Code::E0200,
            format!("mismatched types: cannot compare `{lt}` with `{rt}`"),
            op_span,
            format!("`{}` needs operands of the same type", op.symbol()),
        )
        .with_secondary(lhs.span, format!("`{lt}`"))
        .with_secondary(rhs.span, format!("`{rt}`"));
        if let (Some(a), Some(b)) = (lt.as_int(), rt.as_int()) {
            // Suggest widening the narrower side; otherwise convert the right.
            let (target, side) = if b.bits() > a.bits() {
                (b, lhs)
            } else {
                (a, rhs)
            };
            d = d.with_fix(
                format!("convert with `as {}`", target.name()),
                side.span.end_point(),
                format!(" as {}", target.name()),
            );
        }
        self.report(d);
    }

    /// W0009: an unsigned value compared with zero in a way that is always
    /// true or false.
    pub(super) fn check_constant_comparison(
        &mut self,
        op: BinOp,
        e: &Expr,
        lhs: &Expr,
        rhs: &Expr,
        lt: &Ty,
    ) {
        let Some(t) = lt.as_int() else { return };
        if t.signed() {
            return;
        }
        let is_zero = |x: &Expr| matches!(x.unparen().kind, ExprKind::Int(0));
        let verdict = match op {
            BinOp::Ge if is_zero(rhs) => Some(true),
            BinOp::Lt if is_zero(rhs) => Some(false),
            BinOp::Le if is_zero(lhs) => Some(true),
            BinOp::Gt if is_zero(lhs) => Some(false),
            _ => None,
        };
        if let Some(v) = verdict {
            self.report(
                Diagnostic::new(
                    Code::W0009,
                    format!("comparison is always {v}"),
                    e.span,
                    format!("a `{}` is never negative", t.name()),
                )
                .with_help("if a negative value was possible, use a signed type"),
            );
        }
    }

    pub(super) fn same_int_pair(
        &mut self,
        body: &mut Body,
        lo: &Expr,
        hi: &Expr,
        what: &str,
    ) -> Option<IntTy> {
        let (lt, rt) = self.operand_pair(body, lo, hi, None);
        if lt.is_error() || rt.is_error() {
            return None;
        }
        for (t, x) in [(&lt, lo), (&rt, hi)] {
            if t.as_int().is_none() {
                self.report(Diagnostic::new(
                    Code::E0200,
                    format!("{what} must be integers, found `{t}`"),
                    x.span,
                    "expected an integer",
                ));
                return None;
            }
        }
        if lt != rt {
            let mut d = Diagnostic::new(
                Code::E0200,
                format!("mismatched types: {what} are `{lt}` and `{rt}`"),
                lo.span.to(hi.span),
                "both bounds need the same type",
            )
            .with_secondary(lo.span, format!("`{lt}`"))
            .with_secondary(hi.span, format!("`{rt}`"));
            if let Some(r) = rt.as_int() {
                d = d.with_fix(
                    format!("convert with `as {}`", r.name()),
                    lo.span.end_point(),
                    format!(" as {}", r.name()),
                );
            }
            self.report(d);
            return None;
        }
        lt.as_int()
    }
}
