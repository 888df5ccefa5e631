//! Binary operators: pairing the two operands (a literal takes the other
//! side's type), the result type of each operator (E0200, E0203), and shifts
//! and comparisons whose outcome the operand types already decide (W0008,
//! W0009), and a divisor that is always zero (W0011).
//!
//! Also the choice of conversion a mismatch suggests, shared with the other
//! mismatches in `expr.rs`. The rules: never narrow one side where widening
//! the other works; a local whose type only came from an unannotated literal
//! is fixed at its declaration; the type the context wants (return type,
//! annotation, parameter) decides which side converts; the mismatches of
//! one such local merge into one diagnostic whose fix serves every use
//! (`merge_decl_fixes`). Applying a
//! machine-applicable fix must make the program check (the UI test applies
//! every fix of the corpus and checks again).

use std::collections::HashMap;

use crate::ast::*;
use crate::codes::Code;
use crate::consteval::Value;
use crate::diag::{Applicability, Diagnostic, Suggestion};
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
        let ctx = expected.and_then(Ty::as_int);
        if is_untyped_literal(lhs) && !is_untyped_literal(rhs) {
            let rt = self.expr(body, rhs, expected);
            if self.literal_misfit(lhs, rhs, &rt, ctx) {
                return (Ty::Error, Ty::Error);
            }
            let want = Some(&rt).filter(|t| t.as_int().is_some());
            let lt = self.expr(body, lhs, want);
            (lt, rt)
        } else {
            let lt = self.expr(body, lhs, expected);
            if self.literal_misfit(rhs, lhs, &lt, ctx) {
                return (Ty::Error, Ty::Error);
            }
            let want = Some(&lt).filter(|t| t.as_int().is_some() || **t == Ty::Bool);
            let rt = self.expr(body, rhs, want);
            (lt, rt)
        }
    }

    /// A bare literal operand `lit` that does not fit the type `other_ty` of
    /// the other operand: one diagnostic, at the literal, suggesting to
    /// widen the other operand (the literal then takes the wider type).
    /// Returns whether it reported (the literal is then recorded as checked).
    fn literal_misfit(
        &mut self,
        lit: &Expr,
        other: &Expr,
        other_ty: &Ty,
        ctx: Option<IntTy>,
    ) -> bool {
        let (Some(v), Some(ot)) = (literal_value(lit), other_ty.as_int()) else {
            return false;
        };
        if holds(ot, v) {
            return false;
        }
        self.record_checked(lit, Ty::Error);
        let mut d = Diagnostic::new(
            Code::E0202,
            format!("integer literal `{v}` does not fit in `{}`", ot.name()),
            lit.span,
            format!("`{}` holds {}..={}", ot.name(), ot.min(), ot.max()),
        )
        .with_secondary(
            other.span,
            format!(
                "the other operand is {} `{}`, so the literal is one too",
                article(ot),
                ot.name()
            ),
        );
        // With a context, the result must have its type; otherwise prefer
        // the usual widths to the smallest one that fits.
        let candidates: Vec<IntTy> = match ctx {
            Some(c) => vec![c],
            None if ot.signed() => vec![IntTy::I32, IntTy::I64],
            None => vec![IntTy::U32, IntTy::U64, IntTy::I32, IntTy::I64],
        };
        let target = candidates
            .into_iter()
            .find(|t| widens(ot, *t) && holds(*t, v));
        match target {
            Some(t) => {
                if let Some((decl, _)) = self.literal_uses.get(&other.unparen().id).copied() {
                    match self.decl_fix(d, other, decl, ot, t, UseFit::widens()) {
                        Some(fixed) => d = fixed,
                        None => return true,
                    }
                } else {
                    d = d.with_fix_edits(
                        format!("widen the other operand with `as {}`", t.name()),
                        Applicability::MachineApplicable,
                        cast_edits(other, t),
                    );
                }
            }
            None => {
                if let Some(c) = ctx {
                    d = d.with_note(format!("the result must be {} `{}`", article(c), c.name()));
                }
                if v < 0 && !ot.signed() {
                    d = d.with_help(format!(
                        "for the bit pattern, write `~0` or `{:#x}`",
                        ot.wrap(v)
                    ));
                }
            }
        }
        self.report(d);
        true
    }

    /// `place op= value`: the place's type is fixed, so only the value (or a
    /// declaration) is converted.
    pub(super) fn compound_types(
        &mut self,
        body: &mut Body,
        op: BinOp,
        op_span: Span,
        target: &Expr,
        lt: Ty,
        rhs: &Expr,
    ) -> Ty {
        self.binary_types(body, op, op_span, Operands::Compound(target), lt, rhs, None)
    }

    /// For `lhs op rhs` (and `place op= rhs`) once the left type is known;
    /// `ctx` is the type the context wants for the result.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn binary_types(
        &mut self,
        body: &mut Body,
        op: BinOp,
        op_span: Span,
        whole: Operands<'_>,
        lt: Ty,
        rhs: &Expr,
        ctx: Option<IntTy>,
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
        if let Operands::Binary(e) = whole
            && let ExprKind::Binary { lhs, .. } = &e.kind
            && self.literal_misfit(rhs, lhs, &lt, ctx)
        {
            return Ty::Error;
        }
        let want = Some(&lt).filter(|t| t.as_int().is_some() || **t == Ty::Bool);
        let rt = self.expr(body, rhs, want);
        // (In a constant's initializer the evaluation reports it: E0502.)
        if matches!(op, BinOp::Div | BinOp::Rem)
            && !body.const_context
            && rt.as_int().is_some()
            && let Some(Value::Int(0, _)) = self.quiet_eval(rhs)
        {
            self.report(
                Diagnostic::new(
                    Code::W0011,
                    format!("`{}` by zero: this always traps when it runs", op.symbol()),
                    rhs.span,
                    "this divisor is always 0",
                )
                .with_note("dividing by zero ends the call with a `DivByZero` trap"),
            );
        }
        match whole {
            Operands::Binary(e) => {
                let ExprKind::Binary { lhs, .. } = &e.kind else {
                    return Ty::Error;
                };
                self.binary_result(op, op_span, &lt, &rt, lhs, rhs, ctx)
            }
            Operands::Compound(target) => {
                self.arith_result(op, op_span, &lt, &rt, Operands::Compound(target), rhs, None)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn binary_result(
        &mut self,
        op: BinOp,
        op_span: Span,
        lt: &Ty,
        rt: &Ty,
        lhs: &Expr,
        rhs: &Expr,
        ctx: Option<IntTy>,
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
                self.report_operand_mismatch(op, op_span, lt, rt, lhs, rhs);
                return Ty::Error;
            }
            if let Some(t) = lt.as_int() {
                self.note_literal_operands((lhs, rhs), t, None, false, op_span);
            }
            return Ty::Bool;
        }
        self.arith_result(op, op_span, lt, rt, Operands::Binary(lhs), rhs, ctx)
    }

    /// `lhs` is the left operand itself here (or the compound target).
    #[allow(clippy::too_many_arguments)]
    fn arith_result(
        &mut self,
        op: BinOp,
        op_span: Span,
        lt: &Ty,
        rt: &Ty,
        lhs: Operands<'_>,
        rhs: &Expr,
        ctx: Option<IntTy>,
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
                // Sum and product of truth values, as in Boolean algebra:
                // with two bools the meaning is plain, but a guess still.
                let logic = if matches!(op, BinOp::Add) { "||" } else { "&&" };
                d = if *lt == Ty::Bool && *rt == Ty::Bool && matches!(lhs, Operands::Binary(_)) {
                    d.with_maybe_fix(format!("for logic, write `{logic}`"), op_span, logic)
                } else {
                    d.with_help("for logic, use `||` and `&&`")
                };
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
            let (left, compound) = match lhs {
                Operands::Binary(l) => (l, false),
                Operands::Compound(t) => (t, true),
            };
            if !compound {
                d = d.with_secondary(left.span, format!("`{lt}`"));
            }
            d = d.with_secondary(rhs.span, format!("`{rt}`"));
            if let (Some(a), Some(b)) = (lt.as_int(), rt.as_int()) {
                match self.operand_fix(d, (left, a), (rhs, b), ctx, compound) {
                    Some(fixed) => d = fixed,
                    None => return Ty::Error,
                }
            }
            self.report(d.with_note("KPL never converts integer types implicitly"));
            return Ty::Error;
        }
        if let Some(t) = lt.as_int() {
            let (left, compound) = match lhs {
                Operands::Binary(l) => (l, false),
                Operands::Compound(t) => (t, true),
            };
            self.note_literal_operands((left, rhs), t, ctx, compound, op_span);
        }
        lt.clone()
    }

    fn report_operand_mismatch(
        &mut self,
        op: BinOp,
        op_span: Span,
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
            match self.operand_fix(d, (lhs, a), (rhs, b), None, false) {
                Some(fixed) => d = fixed,
                None => return,
            }
        }
        self.report(bool_against_digit(d, op, (lt, lhs), (rt, rhs)));
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
            if let (Some(a), Some(b)) = (lt.as_int(), rt.as_int()) {
                match self.operand_fix(d, (lo, a), (hi, b), None, false) {
                    Some(fixed) => d = fixed,
                    None => return None,
                }
            }
            self.report(d);
            return None;
        }
        lt.as_int()
    }
}

/// The operands of a binary operator: the left one of `lhs op rhs`, or the
/// place of `place op= rhs` (which cannot be converted).
#[derive(Clone, Copy)]
pub(super) enum Operands<'e> {
    Binary(&'e Expr),
    Compound(&'e Expr),
}

/// Whether every value of `from` is a value of `to` (`as to` loses nothing).
pub(super) fn widens(from: IntTy, to: IntTy) -> bool {
    match (from.signed(), to.signed()) {
        (false, false) | (true, true) => to.bits() >= from.bits(),
        (false, true) => to.bits() > from.bits(),
        (true, false) => false,
    }
}

pub(super) fn holds(t: IntTy, v: i128) -> bool {
    t.min() <= v && v <= t.max()
}

/// The value of a bare integer literal, possibly negated or parenthesised.
pub(super) fn literal_value(e: &Expr) -> Option<i128> {
    match &e.kind {
        ExprKind::Int(v) => Some(i128::from(*v)),
        ExprKind::Paren(x) => literal_value(x),
        ExprKind::Unary(UnOp::Neg, x) => match x.unparen().kind {
            ExprKind::Int(v) => Some(-i128::from(v)),
            _ => None,
        },
        _ => None,
    }
}

/// C's truth test on a `bool`, `flag == 1` or `done != 0` (also with
/// the digit first): the help says a `bool` is its own test, with the fix
/// `flag` or `!done`.
fn bool_against_digit(
    d: Diagnostic,
    op: BinOp,
    (lt, lhs): (&Ty, &Expr),
    (rt, rhs): (&Ty, &Expr),
) -> Diagnostic {
    let digit = |e: &Expr| match e.unparen().kind {
        ExprKind::Int(v @ (0 | 1)) => Some(v),
        _ => None,
    };
    let (flag, digit_side, v) = match (lt, rt) {
        (Ty::Bool, Ty::Int(_)) => match digit(rhs) {
            Some(v) => (lhs, rhs, v),
            None => return d,
        },
        (Ty::Int(_), Ty::Bool) => match digit(lhs) {
            Some(v) => (rhs, lhs, v),
            None => return d,
        },
        _ => return d,
    };
    let truth = match op {
        BinOp::Eq => v == 1,
        BinOp::Ne => v == 0,
        _ => return d,
    };
    // Everything but the flag goes: the operator and the digit.
    let (flag_span, digit_span) = (flag.span, digit_side.span);
    let mut edits = if flag_span.start < digit_span.start {
        vec![Suggestion {
            span: Span::new(flag_span.end as usize, digit_span.end as usize),
            replacement: "".into(),
        }]
    } else {
        vec![Suggestion {
            span: Span::new(digit_span.start as usize, flag_span.start as usize),
            replacement: "".into(),
        }]
    };
    let written = if truth {
        "the `bool` itself"
    } else {
        "its negation `!`"
    };
    if !truth {
        let parenthesise = matches!(flag.kind, ExprKind::Binary { .. });
        let at = flag_span.start as usize;
        edits.push(Suggestion {
            span: Span::new(at, at),
            replacement: if parenthesise { "!(" } else { "!" }.into(),
        });
        if parenthesise {
            let end = flag_span.end as usize;
            edits.push(Suggestion {
                span: Span::new(end, end),
                replacement: ")".into(),
            });
        }
    }
    d.with_note("a `bool` is `true` or `false`, never a number: KPL does not convert between them")
        .with_fix_edits(
            format!("test {written}"),
            Applicability::MachineApplicable,
            edits,
        )
}

/// The edits converting `e` to `to`: `as to` after it, with parentheses
/// around a binary operation (`as` binds tighter than every operator).
pub(super) fn cast_edits(e: &Expr, to: IntTy) -> Vec<Suggestion> {
    CastSite::of(e).edits(to)
}

/// Where `as T` goes to convert an expression: its span, and whether it
/// needs parentheses first (a binary operation binds looser than `as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CastSite {
    span: Span,
    parenthesise: bool,
}

impl CastSite {
    pub(super) fn of(e: &Expr) -> CastSite {
        CastSite {
            span: e.span,
            parenthesise: matches!(e.kind, ExprKind::Binary { .. }),
        }
    }

    fn edits(self, to: IntTy) -> Vec<Suggestion> {
        let suffix = |r: &str| Suggestion {
            span: self.span.end_point(),
            replacement: format!("{r} as {}", to.name()).into(),
        };
        if self.parenthesise {
            vec![
                Suggestion {
                    span: Span::new(self.span.start as usize, self.span.start as usize),
                    replacement: "(".into(),
                },
                suffix(")"),
            ]
        } else {
            vec![suffix("")]
        }
    }
}

/// The values a local typed by its literals got (see
/// `Checker::literal_decls`): one bare integer literal, or the elements of
/// an array literal of them (`len`: the array's length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Lit {
    lo: i128,
    hi: i128,
    len: Option<u64>,
}

impl Lit {
    /// The literal (or array of literals) `init`, if that is what it is.
    pub(super) fn of(init: &Expr) -> Option<Lit> {
        match &init.unparen().kind {
            ExprKind::ArrayLit(elems) => {
                let mut values = elems.iter().map(literal_value);
                let first = values.next()??;
                let (mut lo, mut hi) = (first, first);
                for v in values {
                    let v = v?;
                    (lo, hi) = (lo.min(v), hi.max(v));
                }
                Some(Lit {
                    lo,
                    hi,
                    len: Some(elems.len() as u64),
                })
            }
            ExprKind::ArrayRepeat(x, n) => {
                let v = literal_value(x)?;
                let n = u64::try_from(literal_value(n)?).ok()?;
                Some(Lit {
                    lo: v,
                    hi: v,
                    len: Some(n),
                })
            }
            _ => literal_value(init).map(|v| Lit {
                lo: v,
                hi: v,
                len: None,
            }),
        }
    }

    /// Whether every value fits in `t`.
    pub(super) fn fits(self, t: IntTy) -> bool {
        holds(t, self.lo) && holds(t, self.hi)
    }

    /// Whether these are an array's elements.
    pub(super) fn is_array(self) -> bool {
        self.len.is_some()
    }

    fn type_text(self, t: IntTy) -> String {
        type_text(self.len, t)
    }

    fn what_it_is(self, name: &str, t: IntTy) -> String {
        what_it_is(self.len, name, t)
    }
}

/// The type of a literal-typed local (an array of `len` elements if
/// `len`) with elements (or value) of type `t`.
fn type_text(len: Option<u64>, t: IntTy) -> String {
    match len {
        Some(n) => format!("[{}; {n}]", t.name()),
        None => t.name().to_string(),
    }
}

/// "`n` is an `i32`" or "`t` holds `i32`s", of the literal-typed local
/// `name` (an array if `len`) whose values are `t`s.
fn what_it_is(len: Option<u64>, name: &str, t: IntTy) -> String {
    match len {
        Some(_) => format!(
            "`{name}` holds `{}`s because of its initial value",
            t.name()
        ),
        None => format!(
            "`{name}` is {} `{}` because of its initial value",
            article(t),
            t.name()
        ),
    }
}

/// The name of the local a literal use (`n`, `t[i]`) reads.
fn local_name(e: &Expr) -> String {
    match &e.unparen().kind {
        ExprKind::Index(base, _) => local_name(base),
        _ => expr_text(e),
    }
}

/// At most this many mismatches of one literal-typed local merge into one
/// diagnostic, and only when it has at most [`MAX_MERGED_USES`] uses
/// recorded; past that each keeps its own (as without merging).
const MAX_MERGED_MISMATCHES: usize = 16;
const MAX_MERGED_USES: usize = 256;

/// What a use of a literal-typed local needs of the type a merged
/// declaration fix gives it (fields of [`DeclFixUse`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct UseFit {
    exact: bool,
    meets: Option<(CastSite, IntTy)>,
    here: Option<CastSite>,
}

impl UseFit {
    /// The type asked for, exactly.
    pub(super) fn exact() -> UseFit {
        UseFit {
            exact: true,
            meets: None,
            here: None,
        }
    }

    /// The type asked for or any it widens to.
    pub(super) fn widens() -> UseFit {
        UseFit {
            exact: false,
            meets: None,
            here: None,
        }
    }

    /// Or the local, used as `e`, is converted here to the type asked
    /// for, from a chosen type that widens to it.
    pub(super) fn or_converted(self, e: &Expr) -> UseFit {
        UseFit {
            here: Some(CastSite::of(e)),
            ..self
        }
    }

    /// And `e`, a `ty`, is converted to the chosen type.
    pub(super) fn meeting(self, e: &Expr, ty: IntTy) -> UseFit {
        UseFit {
            meets: Some((CastSite::of(e), ty)),
            ..self
        }
    }
}

/// How one use of a local typed by its literal (`var n = 0`) that is
/// reported as a mismatch constrains the type `t` a merged declaration fix
/// gives the local (see [`Checker::merge_decl_fixes`]).
#[derive(Clone, Debug)]
pub(super) struct DeclFixUse {
    /// The declared name's span, and the name.
    decl: Span,
    name: String,
    /// The local's type now (its literal's default type).
    got: IntTy,
    /// The type the use asks the local to have.
    want: IntTy,
    /// `t` must be `want` itself (a return value, an argument, an operation
    /// whose result the context types); otherwise `want` must widen to `t`.
    exact: bool,
    /// What the local meets here, and its type: converted with `as t` when
    /// that is not `t` (it must widen to `t`).
    meets: Option<(CastSite, IntTy)>,
    /// For an exact use: the local as used here, converted with `as want`
    /// when `t` is not `want` but widens to it.
    here: Option<CastSite>,
    /// The primary span of the mismatch's diagnostic.
    at: Span,
    /// Whether a diagnostic was reported for the use: a use whose
    /// declaration fix an earlier diagnostic already suggested has none,
    /// but a merged fix must still convert what it meets.
    reported: bool,
}

impl DeclFixUse {
    /// Whether `t` serves this use, given the literal's value `v`.
    fn served_by(&self, t: IntTy, v: Lit) -> bool {
        v.fits(t)
            && if self.exact {
                self.want == t || (self.here.is_some() && widens(t, self.want))
            } else {
                widens(self.want, t)
            }
            && self.meets.is_none_or(|(_, m)| widens(m, t))
    }
}

/// The fix [`Checker::literal_operands`] found: `: want` after each local's
/// name, with a label at each declaration saying what it is now (a `got`).
/// A guess (maybe-incorrect): a later use of a local may need its type.
pub(super) fn declarations_fix(
    d: Diagnostic,
    mut locals: Vec<(Span, String)>,
    got: IntTy,
    want: IntTy,
) -> Diagnostic {
    locals.sort_by_key(|(at, _)| at.start);
    let names: Vec<String> = locals.iter().map(|(_, n)| format!("`{n}`")).collect();
    let message = match names.as_slice() {
        [init @ .., last] if !init.is_empty() => format!(
            "give {} and {last} the type `{}` where they are declared",
            init.join(", "),
            want.name()
        ),
        _ => format!(
            "give {} the type `{}` where it is declared",
            names.join(""),
            want.name()
        ),
    };
    let mut d = d;
    for (decl, name) in &locals {
        d = d.with_secondary(*decl, what_it_is(None, name, got));
    }
    // `: want` after each name: an insertion, which the merging of one
    // local's declaration fixes (`merge_decl_fixes`, whose uses model one
    // local changing) does not take for its own.
    let edits = locals
        .iter()
        .map(|(decl, _)| Suggestion {
            span: decl.end_point(),
            replacement: format!(": {}", want.name()).into(),
        })
        .collect();
    d.with_fix_edits(message, Applicability::MaybeIncorrect, edits)
}

/// "a `u32`" but "an `i32`".
pub(super) fn article(t: IntTy) -> &'static str {
    if t.signed() { "an" } else { "a" }
}

/// The mismatch of an operand, the literal-typed local `this` declared at
/// `decl` with the value `v`, and `other`, a `want`, where the result must
/// be a `want` too but `v` does not fit in one: a label saying so at the
/// declaration, and a help naming a type that holds both sides.
fn literal_misfit(
    d: Diagnostic,
    this: &Expr,
    other: &Expr,
    decl: Span,
    v: Lit,
    want: IntTy,
) -> Diagnostic {
    let name = local_name(this);
    let value = if holds(want, v.lo) { v.hi } else { v.lo };
    let d = d.with_secondary(
        decl,
        format!(
            "`{name}` is {value}, which does not fit in {} `{}`",
            article(want),
            want.name()
        ),
    );
    let wider = IntTy::ALL
        .into_iter()
        .find(|&t| widens(want, t) && v.fits(t) && t.bits() > want.bits());
    match wider {
        Some(t) => d.with_help(format!(
            "compute in a type that holds {value}, such as `{t}` (`{name}: {t}` where it is \
             declared, and `{other} as {t}`), then give the result that type or convert \
             it to `{want}` on purpose",
            t = t.name(),
            other = expr_text(other),
            want = want.name(),
        )),
        None => d.with_help(format!(
            "no integer type holds both {value} and every `{}`: check the value of `{name}`",
            want.name()
        )),
    }
}

/// The smallest signed type holding every value of both `a` and `b`.
fn common_type(a: IntTy, b: IntTy) -> Option<IntTy> {
    [IntTy::I16, IntTy::I32, IntTy::I64]
        .into_iter()
        .find(|t| widens(a, *t) && widens(b, *t))
}

impl<'a> Checker<'a> {
    /// The help of a mismatch between two operands `(expr, type)`: fix the
    /// declaration of a local typed by a literal, else widen one side to the
    /// other (or to the context's type), else both to a common type, and
    /// only as a last resort narrow (maybe-incorrect). `compound`: the left
    /// operand is the place of `place op= value` and cannot be converted.
    /// `None`: an earlier diagnostic's declaration fix removes this one too.
    pub(super) fn operand_fix(
        &mut self,
        d: Diagnostic,
        (lhs, lt): (&Expr, IntTy),
        (rhs, rt): (&Expr, IntTy),
        ctx: Option<IntTy>,
        compound: bool,
    ) -> Option<Diagnostic> {
        // A side whose type is only an unannotated literal's default: what
        // it asks of that local is recorded for `merge_decl_fixes`, and the
        // fix goes to the declaration when the other side's type is wanted.
        for ((this, this_t), other_t) in [((lhs, lt), rt), ((rhs, rt), lt)] {
            let Some((decl, v)) = self.literal_uses.get(&this.unparen().id).copied() else {
                continue;
            };
            let this_is_lhs = std::ptr::eq(this, lhs);
            let other = if this_is_lhs { rhs } else { lhs };
            // `x = x + n` with `x` this local: the context is `x`'s own
            // type, which the declaration fix changes with it, so it holds
            // `x` to nothing: as in `x += n` (and as without a context). A
            // context of another type (`x = f(x + n)`) still holds.
            let ctx = ctx.filter(|&c| c != this_t || self.assigning_literal != Some(decl));
            // `place op= n`: the place keeps its type, so `n` must have it.
            let fit = if compound && !this_is_lhs {
                UseFit::exact()
            } else {
                match ctx {
                    Some(_) => UseFit::exact().meeting(other, other_t),
                    None => UseFit::widens().meeting(other, other_t),
                }
            };
            let wanted = match ctx {
                Some(c) => c == other_t,
                None => !widens(other_t, this_t) || compound,
            };
            if wanted && v.fits(other_t) {
                return self.decl_fix(d, this, decl, this_t, other_t, fit);
            }
            // The literal itself does not fit in the type wanted (`let y =
            // 300; return x + y` with `x: u8` and a `u8` result): no cast
            // of `y` is right, since it changes the value. Say so, where
            // the value is, rather than suggest `y as u8`.
            if wanted && !v.is_array() {
                self.record_decl_use(decl, this, this_t, other_t, fit, d.primary.span, true);
                return Some(literal_misfit(d, this, other, decl, v, other_t));
            }
            // The context wants a type the other side widens to (`n +
            // s.len` returned as a `u64`): the local gets that type, and
            // what it meets is converted (`merge_decl_fixes` adds the
            // `as`, from `fit`), rather than both sides converted.
            if let Some(c) = ctx
                && !compound
                && c != this_t
                && widens(other_t, c)
                && v.fits(c)
            {
                return self.decl_fix(d, this, decl, this_t, c, fit);
            }
            let want = ctx.unwrap_or(other_t);
            self.record_decl_use(decl, this, this_t, want, fit, d.primary.span, true);
        }
        let side = |left: bool| if left { "left" } else { "right" };
        let one = |d: Diagnostic, left: bool, to: IntTy| {
            let (e, from) = if left { (lhs, lt) } else { (rhs, rt) };
            if widens(from, to) {
                d.with_fix_edits(
                    format!("convert the {} operand with `as {}`", side(left), to.name()),
                    Applicability::MachineApplicable,
                    cast_edits(e, to),
                )
            } else {
                d.with_fix_edits(
                    format!(
                        "convert the {} operand with `as {}` (values that do not fit in {} `{}` change)",
                        side(left),
                        to.name(),
                        article(to),
                        to.name()
                    ),
                    Applicability::MaybeIncorrect,
                    cast_edits(e, to),
                )
            }
        };
        if compound {
            return Some(one(d, false, lt));
        }
        if let Some(c) = ctx {
            // The result must be a `c`: converting to anything else would
            // move the mismatch to the context.
            if c == lt {
                return Some(one(d, false, c));
            }
            if c == rt {
                return Some(one(d, true, c));
            }
            // Neither operand has the wanted type: both are converted to it
            // (a narrowing of either makes the fix a guess).
            let mut edits = cast_edits(lhs, c);
            edits.extend(cast_edits(rhs, c));
            let exact = widens(lt, c) && widens(rt, c);
            return Some(d.with_fix_edits(
                if exact {
                    format!("convert both operands with `as {}`", c.name())
                } else {
                    format!(
                        "convert both operands with `as {}` (values that do not fit in {} `{}` change)",
                        c.name(),
                        article(c),
                        c.name()
                    )
                },
                if exact {
                    Applicability::MachineApplicable
                } else {
                    Applicability::MaybeIncorrect
                },
                edits,
            ));
        }
        Some(if widens(rt, lt) {
            one(d, false, lt)
        } else if widens(lt, rt) {
            one(d, true, rt)
        } else if let Some(t) = common_type(lt, rt) {
            let mut edits = cast_edits(lhs, t);
            edits.extend(cast_edits(rhs, t));
            d.with_fix_edits(
                format!(
                    "convert both operands with `as {}`, which holds every `{}` and `{}`",
                    t.name(),
                    lt.name(),
                    rt.name()
                ),
                Applicability::MachineApplicable,
                edits,
            )
        } else {
            one(d, false, lt)
        })
    }

    /// The locals (declaration, name) to give the type `want` where they
    /// are declared ([`declarations_fix`]) for a mismatch whose value `e` is
    /// arithmetic on locals typed by their literals, where a `want` is
    /// wanted (`let a = 1; let b = 2; return a + b;` in a function returning
    /// `u32`), rather than convert the result (a narrowing, when the
    /// literals' type does not widen to `want`). `None` unless every
    /// operand (through `+`, `-`, `*`, `/`, `%`, `&`, `|`, `^`, `~`,
    /// parentheses, and the left side of a shift) is such a local, not an
    /// array, whose literals fit a `want` and whose uses checked so far a
    /// `want` serves, or a plain literal, and there is at least one local.
    pub(super) fn literal_operands(&self, e: &Expr, want: IntTy) -> Option<Vec<(Span, String)>> {
        /// More would make the help a list nobody reads; each costs a label.
        const MAX_LOCALS: usize = 4;
        let mut locals: Vec<(Span, String)> = Vec::new();
        let mut operands = vec![e];
        while let Some(x) = operands.pop() {
            let x = x.unparen();
            match &x.kind {
                ExprKind::Binary { op, lhs, rhs, .. } => match op {
                    BinOp::Add
                    | BinOp::Sub
                    | BinOp::Mul
                    | BinOp::Div
                    | BinOp::Rem
                    | BinOp::BitAnd
                    | BinOp::BitOr
                    | BinOp::BitXor => operands.extend([&**lhs, &**rhs]),
                    BinOp::Shl | BinOp::Shr => operands.push(lhs),
                    _ => return None,
                },
                ExprKind::Unary(UnOp::BitNot, inner) => operands.push(inner),
                ExprKind::Int(_) => {}
                _ => match self.literal_uses.get(&x.id) {
                    // (Uses of the local checked so far must be served by
                    // the new type too, but for those inside `e`, where the
                    // other operands change with it.)
                    Some(&(decl, v))
                        if !v.is_array()
                            && v.fits(want)
                            && self
                                .decl_fix_uses
                                .iter()
                                .filter(|u| u.decl == decl && !e.span.contains(u.at))
                                .all(|u| u.served_by(want, v)) =>
                    {
                        if !locals.iter().any(|(at, _)| *at == decl) {
                            if locals.len() == MAX_LOCALS {
                                return None;
                            }
                            locals.push((decl, local_name(x)));
                        }
                    }
                    _ => return None,
                },
            }
        }
        (!locals.is_empty()).then_some(locals)
    }

    /// The fix `name: want` on the declaration `decl` of the local used as
    /// `e` (now a `got` because of its literal), with a label there; `None`
    /// when the same fix was suggested already. `fit` says what the use
    /// needs if the local gets another type, for [`Self::merge_decl_fixes`].
    pub(super) fn decl_fix(
        &mut self,
        d: Diagnostic,
        e: &Expr,
        decl: Span,
        got: IntTy,
        want: IntTy,
        fit: UseFit,
    ) -> Option<Diagnostic> {
        let reported = self.decl_fixes.insert((decl, want));
        self.record_decl_use(decl, e, got, want, fit, d.primary.span, reported);
        if !reported {
            return None;
        }
        let name = local_name(e);
        // (`decl` always comes from `literal_uses`, so it has an entry.)
        let len = self.literal_decls.get(&decl).and_then(|l| l.len);
        let ty = type_text(len, want);
        Some(
            d.with_secondary(decl, what_it_is(len, &name, got))
                .with_fix(
                    format!("give `{name}` the type `{ty}` where it is declared"),
                    decl,
                    format!("{name}: {ty}"),
                ),
        )
    }

    /// Records a mismatch on the literal-typed local used as `e`, declared
    /// at `decl`, for [`Self::merge_decl_fixes`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_decl_use(
        &mut self,
        decl: Span,
        e: &Expr,
        got: IntTy,
        want: IntTy,
        fit: UseFit,
        at: Span,
        reported: bool,
    ) {
        self.decl_fix_uses.push(DeclFixUse {
            decl,
            name: local_name(e),
            got,
            want,
            exact: fit.exact,
            meets: fit.meets,
            here: fit.here,
            at,
            reported,
        });
    }

    /// Records what the well-typed operation `lhs op rhs` (both of type
    /// `t`) asks of a literal-typed local among its operands, so that a
    /// declaration fix suggested for another use does not break this one.
    pub(super) fn note_literal_operands(
        &mut self,
        (lhs, rhs): (&Expr, &Expr),
        t: IntTy,
        ctx: Option<IntTy>,
        compound: bool,
        at: Span,
    ) {
        for (this, other, this_is_lhs) in [(lhs, rhs, true), (rhs, lhs, false)] {
            let Some((decl, _)) = self.literal_uses.get(&this.unparen().id).copied() else {
                continue;
            };
            if compound && !this_is_lhs {
                self.record_decl_use(decl, this, t, t, UseFit::exact(), at, false);
                continue;
            }
            // The literal adopts whatever type the local gets.
            let meets = |fit: UseFit| {
                if is_untyped_literal(other) {
                    fit
                } else {
                    fit.meeting(other, t)
                }
            };
            match ctx {
                // The result must be a `c`: a mismatch, reported where the
                // whole operation is, when `c` is not `t`.
                Some(c) if !compound => {
                    let whole = lhs.span.to(rhs.span);
                    self.record_decl_use(decl, this, t, c, meets(UseFit::exact()), whole, c != t);
                }
                _ if is_untyped_literal(other) => {}
                _ => self.record_decl_use(decl, this, t, t, meets(UseFit::widens()), at, false),
            }
        }
    }

    /// One mistake, one diagnostic, and fixes that do not break what
    /// works. A local typed by its literal (`var n = 0`) that meets several
    /// types (`n += s[i]` a `u8`, `return n` a `u32`) got one diagnostic
    /// per mismatched use, each with a fix serving that use alone. When one
    /// type `t` serves every recorded use, mismatched or not (see
    /// [`DeclFixUse::served_by`]; the candidates are the types the uses ask
    /// for), the first of those diagnostics gets the one fix `n: t` with
    /// `as t` on what the uses meet, labels at the other mismatched uses,
    /// and the other diagnostics are dropped: applying that fix removes them
    /// all. When no type serves them all, a declaration fix that breaks
    /// another use stays, as a guess (maybe-incorrect). `first_diag`: where
    /// the body's diagnostics start in `self.diags`.
    pub(super) fn merge_decl_fixes(&mut self, first_diag: usize) {
        let uses = std::mem::take(&mut self.decl_fix_uses);
        if !uses.iter().any(|u| u.reported) {
            return;
        }
        let mut groups: Vec<(Span, Vec<&DeclFixUse>)> = Vec::new();
        let mut group_of: HashMap<Span, usize> = HashMap::new();
        for u in &uses {
            let g = *group_of.entry(u.decl).or_insert_with(|| {
                groups.push((u.decl, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(u);
        }
        // The body's mismatches by primary span (a mismatch is reported
        // once where it is), so that finding a use's diagnostic is not a
        // scan of them all.
        let mut at_span: HashMap<Span, usize> = HashMap::new();
        for i in first_diag..self.diags.len() {
            if self.diags[i].code == Code::E0200 {
                at_span.entry(self.diags[i].primary.span).or_insert(i);
            }
        }
        let mut dropped: Vec<usize> = Vec::new();
        for (decl, group) in &groups {
            if group.iter().any(|u| u.reported) {
                dropped.extend(self.merged_decl_fix(&at_span, *decl, group));
            }
        }
        dropped.sort_unstable();
        dropped.dedup();
        for i in dropped.into_iter().rev() {
            self.diags.remove(i);
        }
    }

    /// Merges one local's diagnostics (see [`Self::merge_decl_fixes`]) into
    /// the first; returns the indices of the others, to drop.
    fn merged_decl_fix(
        &mut self,
        at_span: &HashMap<Span, usize>,
        decl: Span,
        group: &[&DeclFixUse],
    ) -> Vec<usize> {
        let Some(v) = self.literal_decls.get(&decl).copied() else {
            return Vec::new();
        };
        let reported: Vec<&DeclFixUse> = group.iter().copied().filter(|u| u.reported).collect();
        // A merged diagnostic labels every use and converts what each
        // meets: beyond a screenful it would not help, and the checks
        // below are quadratic in it.
        if reported.len() > MAX_MERGED_MISMATCHES || group.len() > MAX_MERGED_USES {
            return Vec::new();
        }
        let Some(found) = reported
            .iter()
            .map(|u| at_span.get(&u.at).copied())
            .collect::<Option<Vec<usize>>>()
        else {
            return Vec::new();
        };
        if found
            .iter()
            .enumerate()
            .any(|(k, i)| found[..k].contains(i))
        {
            return Vec::new();
        }
        let (name, got) = (reported[0].name.as_str(), reported[0].got);
        let decl_edit = |t: IntTy| format!("{name}: {}", v.type_text(t));
        // Whether the fix `n: t` alone (no conversions) serves every use.
        let alone = |t: IntTy| {
            group.iter().all(|u| {
                u.served_by(t, v)
                    && u.meets.is_none_or(|(_, m)| m == t)
                    && (!u.exact || u.want == t)
            })
        };
        let decl_fix_of = |d: &Diagnostic| {
            d.help.iter().position(|h| {
                h.edits
                    .iter()
                    .any(|e| e.span == decl && e.replacement.starts_with(name))
            })
        };
        let mut present = [false; IntTy::ALL.len()];
        for u in group {
            if let Some(k) = IntTy::ALL.iter().position(|&t| t == u.want) {
                present[k] = true;
            }
        }
        let serving: Vec<IntTy> = IntTy::ALL
            .into_iter()
            .zip(present)
            .filter(|&(_, p)| p)
            .map(|(t, _)| t)
            .filter(|&t| group.iter().all(|u| u.served_by(t, v)))
            .collect();
        // Of the types that serve every use: the one a use needs exactly (a
        // return type, a parameter's: that use then needs no conversion),
        // else the one every other widens to. Not the narrowest: `var sum =
        // 0; sum += data[i];` with bytes would make an accumulator a `u8`.
        let exact = serving
            .iter()
            .copied()
            .find(|&t| group.iter().any(|u| u.exact && u.want == t));
        let widest = serving
            .iter()
            .copied()
            .find(|&t| serving.iter().all(|&s| widens(s, t)));
        let Some(t) = exact.or(widest).or(serving.first().copied()) else {
            // No one type: each declaration fix that breaks another use is
            // only a guess.
            for (u, &i) in reported.iter().zip(&found) {
                if let Some(h) = decl_fix_of(&self.diags[i])
                    && !alone(u.want)
                {
                    let help = &mut self.diags[i].help[h];
                    help.applicability = Applicability::MaybeIncorrect;
                    help.message
                        .to_mut()
                        .push_str(&format!(" (other uses of `{name}` then need conversions)"));
                }
            }
            return Vec::new();
        };
        if let [only] = found[..]
            && (decl_fix_of(&self.diags[only]).is_none() || alone(reported[0].want))
        {
            // One mismatch, converted where it is or fixed at a declaration
            // that serves every use: as it is.
            return Vec::new();
        }
        let mut edits = Vec::new();
        if t != got {
            edits.push(Suggestion {
                span: decl,
                replacement: decl_edit(t).into(),
            });
        }
        for u in group {
            if let Some((site, m)) = u.meets
                && m != t
            {
                edits.extend(site.edits(t));
            }
            if let Some(site) = u.here
                && u.want != t
            {
                edits.extend(site.edits(u.want));
            }
        }
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        edits.dedup();
        if edits.is_empty() || edits.windows(2).any(|w| w[1].span.start < w[0].span.end) {
            return Vec::new();
        }
        let Some(keep) = (0..found.len()).min_by_key(|&k| self.diags[found[k]].primary.span.start)
        else {
            return Vec::new();
        };
        let mut kept = self.diags[found[keep]].clone();
        kept.help.retain(|h| h.edits.is_empty());
        if !kept.secondary.iter().any(|l| l.span == decl) {
            kept = kept.with_secondary(decl, v.what_it_is(name, got));
        }
        for (k, u) in reported.iter().enumerate() {
            if k != keep {
                let (a, w) = (article(u.want), u.want.name());
                let what = if v.is_array() {
                    format!("an element of `{name}`")
                } else {
                    format!("`{name}`")
                };
                kept = kept.with_secondary(
                    u.at,
                    if u.exact {
                        format!("here {what} must be {a} `{w}`")
                    } else {
                        format!("here {what} meets {a} `{w}`")
                    },
                );
            }
        }
        let widened = edits.len() > usize::from(t != got);
        let message = if t == got {
            format!("convert where `{name}` is used with `as`")
        } else if widened {
            format!(
                "give `{name}` the type `{}` where it is declared, and convert where it is used with `as`",
                v.type_text(t)
            )
        } else {
            format!(
                "give `{name}` the type `{}` where it is declared",
                v.type_text(t)
            )
        };
        kept = kept.with_fix_edits(message, Applicability::MachineApplicable, edits);
        self.diags[found[keep]] = kept;
        found
            .into_iter()
            .enumerate()
            .filter(|&(k, _)| k != keep)
            .map(|(_, i)| i)
            .collect()
    }
}

/// The text of a simple expression for a message (a name, a field).
pub(super) fn expr_text(e: &Expr) -> String {
    match &e.unparen().kind {
        ExprKind::Name(n) => n.clone(),
        ExprKind::Field(b, f) => format!("{}.{}", expr_text(b), f.name),
        _ => "it".to_string(),
    }
}
