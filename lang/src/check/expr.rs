//! Expressions: the type of every expression (recorded in
//! `Program::expr_types`), integer literals typed from their context, names
//! resolved to locals, constants, statics, functions and imports, calls and
//! their arguments, casts, indexing, and struct literals.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::*;
use crate::codes::Code;
use crate::consteval::Value;
use crate::diag::{Applicability, Diagnostic, Suggestion};
use crate::span::Span;
use crate::suggest;
use crate::types::{IntTy, Ty};

use super::body::{Body, local_names_in};
use super::foreign::{foreign_function, foreign_value};
use super::ops::{Lit, Operands, UseFit, article, cast_edits, widens};
use super::resolve::TypePos;
use super::{Checker, GlobalKind, NameKind, Res, State, StructDef};

pub(super) fn is_untyped_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) => true,
        ExprKind::Paren(x) | ExprKind::Unary(UnOp::Neg | UnOp::BitNot, x) => is_untyped_literal(x),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            !op.is_comparison()
                && !matches!(op, BinOp::And | BinOp::Or)
                && is_untyped_literal(lhs)
                && (matches!(op, BinOp::Shl | BinOp::Shr) || is_untyped_literal(rhs))
        }
        _ => false,
    }
}

/// Whether `e` is a `+` with a string literal on either side. Only its own
/// operands are looked at (a look down the whole chain at every `+` of it
/// would be quadratic): the checker reaches the outermost `+` of a chain
/// first, and one with a literal further down is found when its own `+` is.
fn joins_strings(e: &Expr) -> bool {
    match &e.unparen().kind {
        ExprKind::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
            ..
        } => [lhs, rhs]
            .iter()
            .any(|x| matches!(x.unparen().kind, ExprKind::Str(_))),
        _ => false,
    }
}

/// English's "x is 1 or 2" as `x == 1 || 2`: an integer literal beside a
/// comparison of a name is that name compared again (a guess: the fix is
/// maybe incorrect).
fn compared_again(d: Diagnostic, side: &Expr, other: &Expr) -> Diagnostic {
    if let (
        ExprKind::Int(v),
        ExprKind::Binary {
            op: op @ (BinOp::Eq | BinOp::Ne),
            lhs,
            ..
        },
    ) = (&side.unparen().kind, &other.unparen().kind)
        && let ExprKind::Name(name) = &lhs.unparen().kind
    {
        let cmp = op.symbol();
        return d.with_maybe_fix(
            format!("compare `{name}` again"),
            side.span,
            format!("{name} {cmp} {v}"),
        );
    }
    d
}

/// The pieces of a chain of `+`, in order.
fn join_pieces<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.unparen().kind {
        ExprKind::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
            ..
        } => {
            join_pieces(lhs, out);
            join_pieces(rhs, out);
        }
        _ => out.push(e),
    }
}

impl<'a> Checker<'a> {
    /// A `+` joining strings (JavaScript's, Python's): one E0206 for the
    /// whole chain, not one per literal in it, with the joined literal as
    /// the fix when every piece is a literal. The other pieces are checked
    /// on their own.
    fn string_join(&mut self, body: &mut Body, e: &Expr, op_span: Span) -> Ty {
        let mut pieces = Vec::new();
        join_pieces(e, &mut pieces);
        let mut joined = Some(String::new());
        for p in &pieces {
            match (&p.unparen().kind, joined.as_mut()) {
                (ExprKind::Str(text), Some(j)) => j.push_str(text),
                (ExprKind::Str(_), None) => {}
                _ => {
                    joined = None;
                    self.expr(body, p, None);
                }
            }
        }
        let mut d = Diagnostic::new(
            Code::E0206,
            "strings cannot be joined with `+`",
            e.span,
            "KPL has no string values to join",
        )
        .with_secondary(op_span, "joins strings in JavaScript or Python");
        // A literal spelled without escapes is the fix as it is.
        match joined.filter(|j| {
            j.chars()
                .all(|c| (' '..='~').contains(&c) && !matches!(c, '"' | '\\'))
        }) {
            Some(j) => d = d.with_fix("write one string literal", e.span, format!("\"{j}\"")),
            None => {
                d = d.with_help(
                    "pass the text and the value in one call, e.g. `log_u64(\"count: \", n)`",
                )
            }
        }
        self.report(d);
        Ty::Error
    }

    pub(super) fn expr(&mut self, body: &mut Body, e: &Expr, expected: Option<&Ty>) -> Ty {
        self.expr_inner(body, e, expected, false)
    }

    /// Records the type of an expression checked (or reported) elsewhere.
    pub(super) fn record_checked(&mut self, e: &Expr, ty: Ty) {
        self.record(e, ty.clone());
        if let ExprKind::Paren(x) | ExprKind::Unary(_, x) = &e.kind {
            self.record_checked(x, ty);
        }
    }

    pub(super) fn record(&mut self, e: &Expr, ty: Ty) -> Ty {
        let idx = e.id.0 as usize;
        if self.tables.expr_types.len() <= idx {
            self.tables.expr_types.resize(idx + 1, Ty::Error);
        }
        self.tables.expr_types[idx] = ty.clone();
        ty
    }

    pub(super) fn expr_inner(
        &mut self,
        body: &mut Body,
        e: &Expr,
        expected: Option<&Ty>,
        is_place: bool,
    ) -> Ty {
        let ty = self.expr_kind(body, e, expected, is_place);
        self.record(e, ty)
    }

    fn literal_type(&mut self, value: i128, e: &Expr, expected: Option<&Ty>) -> Ty {
        let t = match expected {
            Some(Ty::Int(t)) => *t,
            _ => IntTy::I32,
        };
        if value < t.min() || value > t.max() {
            let mut d = Diagnostic::new(
                Code::E0202,
                format!("integer literal `{value}` does not fit in `{}`", t.name()),
                e.span,
                format!("`{}` holds {}..={}", t.name(), t.min(), t.max()),
            );
            if expected.is_none() {
                d = d
                    .with_note("a literal with no other type from context is an `i32`")
                    .with_help("give it a type, e.g. `let x: u64 = ...;`");
            } else if value < 0 && !t.signed() {
                d = d.with_help(format!(
                    "for the bit pattern, write `~0` or `{:#x}`",
                    t.wrap(value)
                ));
            }
            self.report(d);
            return Ty::Error;
        }
        Ty::Int(t)
    }

    fn expr_kind(
        &mut self,
        body: &mut Body,
        e: &Expr,
        expected: Option<&Ty>,
        is_place: bool,
    ) -> Ty {
        match &e.kind {
            ExprKind::Error => Ty::Error,
            ExprKind::Int(v) => self.literal_type(i128::from(*v), e, expected),
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Str(_) => {
                if expected == Some(&Ty::Str) {
                    return Ty::Str;
                }
                self.report(
                    Diagnostic::new(
                        Code::E0206,
                        "string literals can only be passed to imports that take `str`",
                        e.span,
                        "string literal not allowed here",
                    )
                    .with_note(
                        "KPL has no string values; text only goes to imports such as `kernel::log`",
                    ),
                );
                Ty::Error
            }
            ExprKind::Paren(x) => self.expr_inner(body, x, expected, is_place),
            ExprKind::Name(name) => self.name(body, e, name, is_place),
            ExprKind::Unary(op, x) => {
                // A negated literal is one value: `-128` fits an i8.
                if *op == UnOp::Neg
                    && let ExprKind::Int(v) = x.unparen().kind
                {
                    let t = self.literal_type(-i128::from(v), e, expected);
                    if !t.is_error() {
                        self.record(x, t.clone());
                        if let ExprKind::Paren(inner) = &x.kind {
                            self.record(inner, t.clone());
                        }
                    }
                    return t;
                }
                match op {
                    UnOp::Not => {
                        let t = self.expr(body, x, Some(&Ty::Bool));
                        if !t.is_error() && t != Ty::Bool {
                            let d = Diagnostic::new(
                                Code::E0203,
                                format!("`!` cannot be applied to `{t}`"),
                                e.span,
                                "`!` needs a bool",
                            );
                            let bang = Span::new(e.span.start as usize, e.span.start as usize + 1);
                            let d = if t.as_int().is_some() && expected == Some(&Ty::Bool) {
                                // A truth value is wanted: `!n` meant "n is zero".
                                d.with_fix_edits(
                                    "to test for zero, compare with `== 0`",
                                    Applicability::MachineApplicable,
                                    vec![
                                        Suggestion {
                                            span: bang,
                                            replacement: "".into(),
                                        },
                                        Suggestion {
                                            span: x.span.end_point(),
                                            replacement: " == 0".into(),
                                        },
                                    ],
                                )
                            } else if t.as_int().is_some() {
                                d.with_fix("for a bitwise not, use `~`", bang, "~")
                            } else {
                                d
                            };
                            self.report(d);
                            return Ty::Error;
                        }
                        t
                    }
                    UnOp::Neg | UnOp::BitNot => {
                        let want = expected.filter(|t| t.as_int().is_some());
                        let t = self.expr(body, x, want);
                        if !t.is_error() && t.as_int().is_none() {
                            let mut d = Diagnostic::new(
                                Code::E0203,
                                format!("`{}` cannot be applied to `{t}`", op.symbol()),
                                e.span,
                                "needs an integer",
                            );
                            if t == Ty::Bool && *op == UnOp::BitNot {
                                d = d.with_fix(
                                    "for a logical not, use `!`",
                                    Span::new(e.span.start as usize, e.span.start as usize + 1),
                                    "!",
                                );
                            }
                            self.report(d);
                            return Ty::Error;
                        }
                        t
                    }
                }
            }
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                if *op == BinOp::Add && joins_strings(e) {
                    return self.string_join(body, e, *op_span);
                }
                if matches!(op, BinOp::And | BinOp::Or) {
                    for (side, other) in [(lhs, rhs), (rhs, lhs)] {
                        let t = self.expr(body, side, Some(&Ty::Bool));
                        if !t.is_error() && t != Ty::Bool {
                            let d = Diagnostic::new(
                                Code::E0200,
                                format!(
                                    "mismatched types: `{}` needs bool operands, found `{t}`",
                                    op.symbol()
                                ),
                                side.span,
                                "expected `bool`",
                            )
                            .with_secondary(*op_span, "logical operator");
                            self.report(compared_again(d, side, other));
                        }
                    }
                    return Ty::Bool;
                }
                if op.is_comparison() {
                    let (lt, rt) = self.operand_pair(body, lhs, rhs, None);
                    let t = self.binary_result(*op, *op_span, &lt, &rt, lhs, rhs, None);
                    if t.is_error() {
                        return Ty::Bool;
                    }
                    self.check_constant_comparison(*op, e, lhs, rhs, &lt);
                    return Ty::Bool;
                }
                let lhs_ty = if is_untyped_literal(lhs)
                    && !is_untyped_literal(rhs)
                    && !matches!(op, BinOp::Shl | BinOp::Shr)
                {
                    None
                } else {
                    Some(self.expr(
                        body,
                        lhs,
                        expected.filter(|t| t.as_int().is_some() || **t == Ty::Bool),
                    ))
                };
                let ctx = expected.and_then(Ty::as_int);
                match lhs_ty {
                    Some(lt) => {
                        self.binary_types(body, *op, *op_span, Operands::Binary(e), lt, rhs, ctx)
                    }
                    None => {
                        let (lt, rt) = self.operand_pair(body, lhs, rhs, expected);
                        self.binary_result(*op, *op_span, &lt, &rt, lhs, rhs, ctx)
                    }
                }
            }
            ExprKind::Cast(x, t) => {
                let to = self.resolve_type(t, TypePos::Cast);
                // The operand gets no type from the cast: `300 as u8` is the
                // i32 300 truncated, and `-1 as u32` is all ones.
                let from = self.expr(body, x, None);
                if to.is_error() || from.is_error() {
                    return if to.as_int().is_some() { to } else { Ty::Error };
                }
                let ok = to.as_int().is_some() && (from.as_int().is_some() || from == Ty::Bool);
                if !ok {
                    let mut d = Diagnostic::new(
                        Code::E0204,
                        format!("cannot cast `{from}` to `{to}`"),
                        e.span,
                        "invalid cast",
                    )
                    .with_note("`as` converts integers and bools to integer types");
                    if to == Ty::Bool && from.as_int().is_some() {
                        // `!=` binds looser than `as`, but every operator
                        // that takes a bool binds looser still (`&&`, `||`)
                        // or is unary, and one that takes an integer made
                        // the cast an error anyway: `c && n as bool` becomes
                        // `c && n != 0`, and `a & b as bool` the meant
                        // `(a & b) != 0`.
                        d = d.with_fix(
                            "to test an integer, compare it with 0",
                            Span::new(x.span.end as usize, e.span.end as usize),
                            " != 0",
                        );
                    }
                    self.report(d);
                    return Ty::Error;
                }
                to
            }
            ExprKind::Call(callee, args) => self.call(body, e, callee, args, expected),
            ExprKind::Index(base, index) => {
                let bt = self.expr_inner(body, base, None, is_place);
                // An element of a local array typed by its literals.
                if let ExprKind::Name(_) = &base.unparen().kind
                    && let Some(Res::Local(id)) =
                        self.tables.resolutions.get(&base.unparen().id).copied()
                    && let Some(l) = body.locals.get(id as usize)
                    && let Some(v) = self.literal_decls.get(&l.span).copied()
                    && v.is_array()
                {
                    self.literal_uses.insert(e.id, (l.span, v));
                }
                let it = self.expr(body, index, None);
                if !it.is_error() && it.as_int().is_none() {
                    self.report(Diagnostic::new(
                        Code::E0200,
                        format!("index must be an integer, found `{it}`"),
                        index.span,
                        "expected an integer",
                    ));
                }
                match bt {
                    Ty::Array(elem, n) => {
                        if let Some(Value::Int(i, _)) = self.quiet_eval(index)
                            && (i < 0 || i >= i128::from(n))
                        {
                            self.report(Diagnostic::new(
                                Code::E0208,
                                format!("index {i} is out of bounds for an array of length {n}"),
                                index.span,
                                format!("valid indices are 0..={}", n - 1),
                            ));
                        }
                        Arc::unwrap_or_clone(elem)
                    }
                    Ty::Slice { elem, .. } => Ty::Int(elem),
                    Ty::Error => Ty::Error,
                    other => {
                        self.report(Diagnostic::new(
                            Code::E0205,
                            format!("cannot index into a value of type `{other}`"),
                            base.span,
                            "not an array or slice",
                        ));
                        Ty::Error
                    }
                }
            }
            ExprKind::Field(base, field) => {
                let bt = self.expr_inner(body, base, None, is_place);
                match &bt {
                    Ty::Error => Ty::Error,
                    Ty::Array(..) | Ty::Slice { .. } if field.name == "len" => Ty::Int(IntTy::U32),
                    Ty::Struct(id, name) => {
                        let def = &self.d.program.structs[id.0 as usize];
                        if let Some((_, f)) = def.field(&field.name) {
                            return f.ty.clone();
                        }
                        let mut d = Diagnostic::new(
                            Code::E0105,
                            format!("struct `{name}` has no field `{}`", field.name),
                            field.span,
                            "unknown field",
                        );
                        if let Some(s) =
                            suggest::closest(&field.name, def.field_candidates(&field.name))
                        {
                            d = d.with_maybe_fix(
                                format!("did you mean `{s}`?"),
                                field.span,
                                s.to_string(),
                            );
                        } else if let Some(note) = fields_note(def) {
                            d = d.with_note(note);
                        }
                        self.report(d);
                        Ty::Error
                    }
                    other => {
                        let mut d = Diagnostic::new(
                            Code::E0105,
                            format!("no field `{}` on type `{other}`", field.name),
                            field.span,
                            "unknown field",
                        );
                        if matches!(other, Ty::Array(..) | Ty::Slice { .. }) {
                            d = d.with_note("arrays and slices have one property: `.len`");
                            // Other languages' names for it (`s.length`,
                            // `s.size`, `s.count`) mean the same thing.
                            if matches!(
                                field.name.as_str(),
                                "length" | "size" | "count" | "Length" | "Count" | "len_"
                            ) {
                                d = d.with_fix("write `.len`", field.span, "len");
                            }
                        } else {
                            d = d.with_note(
                                "only structs have fields; arrays and slices have `.len`",
                            );
                        }
                        self.report(d);
                        Ty::Error
                    }
                }
            }
            ExprKind::StructLit(name, inits) => self.struct_lit(body, name, inits),
            ExprKind::ArrayLit(elems) => {
                let (want_elem, want_len) = match expected {
                    Some(Ty::Array(elem, n)) => (Some((**elem).clone()), Some(*n)),
                    _ => (None, None),
                };
                let mut elem_ty = want_elem.clone();
                // Unannotated, with integer elements of other types than the
                // first's: reported together, so that the fix converts every
                // element to the type that holds them all.
                let mut mixed: Vec<(&Expr, IntTy)> = Vec::new();
                let typed_first = elems.first().is_some_and(|x| !is_untyped_literal(x));
                for x in elems {
                    let t = self.expr(body, x, elem_ty.as_ref());
                    match &elem_ty {
                        Some(want) => {
                            if want_elem.is_none()
                                && typed_first
                                && let (Some(a), Some(b)) = (want.as_int(), t.as_int())
                                && a != b
                            {
                                mixed.push((x, b));
                                continue;
                            }
                            self.expect_type(x, &t, want)
                        }
                        None => {
                            if t == Ty::Unit {
                                self.report_unit_value(x);
                            }
                            elem_ty = Some(t)
                        }
                    }
                }
                let elem_ty = elem_ty.unwrap_or(Ty::Error);
                if let (false, Some(first)) = (mixed.is_empty(), elem_ty.as_int()) {
                    self.report_mixed_elements(elems, first, &mixed);
                    return Ty::Error;
                }
                if let Some(n) = want_len
                    && n != elems.len() as u64
                {
                    self.report(
                        Diagnostic::new(
                            Code::E0200,
                            format!(
                                "mismatched types: expected an array of {n} elements, found {}",
                                elems.len()
                            ),
                            e.span,
                            format!("this array has {} elements", elems.len()),
                        )
                        .with_help(format!("for {n} copies of one value, write `[value; {n}]`")),
                    );
                    return Ty::Error;
                }
                if elem_ty.is_error() {
                    return Ty::Error;
                }
                Ty::Array(Arc::new(elem_ty), elems.len() as u64)
            }
            ExprKind::ArrayRepeat(x, count) if expected.is_some_and(Ty::is_error) => {
                // The declared type is the mistake (`[u8; 0] = [0; 0]`).
                self.expr(body, x, None);
                self.quiet_repeat_count(count);
                Ty::Error
            }
            ExprKind::ArrayRepeat(x, count) => {
                let want_elem = match expected {
                    Some(Ty::Array(elem, _)) => Some((**elem).clone()),
                    _ => None,
                };
                let t = self.expr(body, x, want_elem.as_ref());
                if let Some(w) = &want_elem {
                    self.expect_type(x, &t, w);
                }
                self.enclosing_locals = local_names_in(body, None, Some(count));
                let n = self.array_len(count);
                match (n, want_elem.unwrap_or(t)) {
                    (Some(n), elem) if !elem.is_error() => {
                        let ty = Ty::Array(Arc::new(elem), n);
                        if !self.check_size(&ty, count.span) {
                            return Ty::Error;
                        }
                        ty
                    }
                    _ => Ty::Error,
                }
            }
        }
    }

    pub(super) fn name(&mut self, body: &mut Body, e: &Expr, name: &str, is_place: bool) -> Ty {
        if name == "_" {
            self.report(Diagnostic::new(
                Code::E0100,
                "`_` cannot be read",
                e.span,
                "`_` only discards a value",
            ));
            return Ty::Error;
        }
        if !body.const_context
            && let Some(id) = body.lookup(name)
        {
            if !is_place {
                body.used[id as usize] = true;
            }
            self.tables.resolutions.insert(e.id, Res::Local(id));
            let decl = body.locals[id as usize].span;
            // An array's uses are its elements (see `Index`).
            if let Some(v) = self.literal_decls.get(&decl).copied()
                && !v.is_array()
            {
                self.literal_uses.insert(e.id, (decl, v));
            }
            return body.locals[id as usize].ty.clone();
        }
        let Some(g) = self.d.globals.get(name) else {
            if body.const_context && self.enclosing_locals.iter().any(|n| n == name) {
                self.report(
                    Diagnostic::new(
                        Code::E0501,
                        format!("`{name}` is a variable, not a constant"),
                        e.span,
                        "only known at run time",
                    )
                    .with_note(
                        "array lengths and repeat counts are fixed at compile time; use a `const`",
                    ),
                );
                return Ty::Error;
            }
            self.report_unknown_name(body, e.span, name, false);
            return Ty::Error;
        };
        let kind = g.kind;
        if !matches!(kind, GlobalKind::Fn(i) if body.func == Some(i)) {
            self.mark_used(name);
        }
        match kind {
            GlobalKind::Const(i) => {
                self.tables.resolutions.insert(e.id, Res::Const(i as u32));
                if self.d.const_state[i] == State::Todo {
                    // Its type is needed now; its value is computed lazily.
                    self.eval_const(i);
                }
                self.d.program.consts[i].ty.clone()
            }
            GlobalKind::Static(i) => {
                self.tables.resolutions.insert(e.id, Res::Static(i as u32));
                if body.const_context {
                    self.report(
                        Diagnostic::new(
                            Code::E0501,
                            format!("static `{name}` cannot be used in a constant expression"),
                            e.span,
                            "a static's value can change at run time",
                        )
                        .with_help("use a `const` for values known at compile time"),
                    );
                    return Ty::Error;
                }
                let t = &self.items().statics[i].ty;
                // Statics are checked before bodies; their type is final.
                if self.d.program.statics[i].ty.is_error() && !matches!(t.kind, TypeKind::Error) {
                    return Ty::Error;
                }
                self.d.program.statics[i].ty.clone()
            }
            GlobalKind::Poisoned => Ty::Error,
            GlobalKind::Fn(i) | GlobalKind::Import(i) => {
                let res = if matches!(kind, GlobalKind::Fn(_)) {
                    Res::Fn(i as u32)
                } else {
                    Res::Import(i as u32)
                };
                self.tables.resolutions.insert(e.id, res);
                if is_place {
                    // `f = ...`: the assignment check reports it (E0302).
                    return Ty::Error;
                }
                let params: Vec<String> = match kind {
                    GlobalKind::Fn(i) => self.func(i).params.iter().map(Ty::to_string).collect(),
                    _ => self.d.program.imports[i]
                        .params
                        .iter()
                        .map(|(_, t)| t.to_string())
                        .collect(),
                };
                let d = Diagnostic::new(
                    Code::E0109,
                    format!("function `{name}` used as a value"),
                    e.span,
                    "functions can only be called",
                );
                self.report(if params.is_empty() {
                    d.with_fix("to call it, add parentheses", e.span.end_point(), "()")
                } else {
                    // The arguments are for the user to write.
                    let holes: Vec<String> = params.iter().map(|t| format!("/* {t} */")).collect();
                    d.with_fix_edits(
                        "to call it, add the arguments in parentheses",
                        Applicability::HasPlaceholders,
                        vec![Suggestion {
                            span: e.span.end_point(),
                            replacement: format!("({})", holes.join(", ")).into(),
                        }],
                    )
                });
                Ty::Error
            }
            GlobalKind::Struct(_) => {
                self.report(
                    Diagnostic::new(
                        Code::E0109,
                        format!("struct `{name}` used as a value"),
                        e.span,
                        "a type, not a value",
                    )
                    .with_help(format!(
                        "to build a value, write `{name} {{ .field = value, ... }}`"
                    )),
                );
                Ty::Error
            }
        }
    }

    /// Whether `name` at `span`, which `s` would mend, is a misspelling
    /// already reported in this body with the same suggestion: then that
    /// diagnostic gets this use as a secondary label and its edit.
    fn misspelt_again(&mut self, body: &Body, span: Span, name: &str, s: &str) -> bool {
        let Some((at, meant)) = body.misspelt.get(name) else {
            return false;
        };
        let Some(d) = self.diags.get_mut(*at).filter(|d| {
            meant == s && d.code == Code::E0100 && d.primary.span != span && d.help.len() == 1
        }) else {
            return false;
        };
        if d.also_used_here(span)
            && let Some(h) = d.help.first_mut()
        {
            h.message = format!("did you mean `{s}`? (each use changed)").into();
        }
        true
    }

    fn report_unknown_name(&mut self, body: &mut Body, span: Span, name: &str, calling: bool) {
        // Only the first use of a value never declared is reported: the
        // others are the same mistake (`total += x;`, then `return
        // total;`). Not calls, nor a name with a fix (a misspelling, C's
        // `NULL`): each use is then a place to mend on its own.
        if !calling && body.unknown_reported.contains(name) {
            return;
        }
        let mut d = Diagnostic::new(
            Code::E0100,
            format!("cannot find `{name}` in this scope"),
            span,
            "not found",
        );
        let mut candidates: Vec<&str> = if body.const_context {
            Vec::new()
        } else {
            body.candidates(name)
        };
        let kind = if calling {
            NameKind::Callable
        } else {
            NameKind::Value
        };
        candidates.extend(self.global_candidates(name, kind));
        if let Some((kpl, why)) = foreign_value(name) {
            d = d.with_note(why);
            if let Some(kpl) = kpl {
                d = d.with_fix(format!("write `{kpl}`"), span, kpl);
            }
        } else if let Some(import) = self.imports.find_anywhere(name).next() {
            let decl = format!("use {}::{name};", import.module);
            d = d.with_use_fix(
                format!("`{name}` is a kernel import: add `{decl}` at the top of the file"),
                decl,
                Vec::new(),
            );
        } else if calling && let Some((why, instead, import)) = foreign_function(name) {
            // The advice names a standard import: kept only when the
            // import table in use has it.
            d = d.with_note(why);
            if import.is_none_or(|i| self.imports.find_anywhere(i).next().is_some()) {
                d = d.with_help(instead);
            }
        } else if let Some(s) = suggest::closest(name, candidates.iter().copied()) {
            let s = s.to_string();
            if self.misspelt_again(body, span, name, &s) {
                return;
            }
            body.misspelt
                .insert(name.to_string(), (self.diags.len(), s.clone()));
            d = d.with_maybe_fix(format!("did you mean `{s}`?"), span, s.clone());
            // The misspelt use was meant for `s`: without it, `s` would
            // also get a warning (never read, never assigned, never used)
            // that only the misspelling caused, with a fix that is wrong
            // once the misspelling is mended.
            match body.lookup(&s) {
                Some(id) if !body.const_context => body.mark_meant(id),
                _ => self.mark_used(&s),
            }
        } else if calling
            && let Some(s) = suggest::closest(
                name,
                self.imports
                    .modules
                    .iter()
                    .flat_map(|m| m.functions.iter().map(|f| f.name.as_str())),
            )
            && let Some(f) = self.imports.find_anywhere(s).next()
        {
            d = d.with_help(format!(
                "did you mean the kernel import `{s}`? add `use {}::{s};`",
                f.module
            ));
        }
        if !calling && d.help.iter().all(|h| h.edits.is_empty()) {
            body.unknown_reported.insert(name.to_string());
        }
        self.report(d);
    }

    /// Rust's tuple-struct literal `P(a, 2)` of struct number `i`: built
    /// with its fields named in KPL, `P { .x = a, .y = 2 }`, the fix when
    /// there is one argument per field (taken in declaration order, as
    /// Rust's positional fields are). Where another type is expected (the
    /// struct returned from a `-> u32` function) the fix is only a guess:
    /// the literal it writes is then a mismatch of its own.
    fn tuple_struct_fix(
        &self,
        d: Diagnostic,
        i: usize,
        call: &Expr,
        args: &[Expr],
        expected: Option<&Ty>,
    ) -> Diagnostic {
        let Some(def) = self.d.program.structs.get(i) else {
            return d;
        };
        let fields = def.fields();
        let d = d.with_note("a struct is built with a literal that names its fields");
        let (Some(first), Some(last)) = (args.first(), args.last()) else {
            return d;
        };
        if fields.len() != args.len() {
            return d.with_help(format!(
                "write `{} {{ .{} = … }}`",
                def.name,
                fields.first().map_or("field", |f| f.name.as_str())
            ));
        }
        let Some(callee_end) = (match &call.kind {
            ExprKind::Call(callee, _) => Some(callee.span.end as usize),
            _ => None,
        }) else {
            return d;
        };
        let mut edits = Vec::with_capacity(args.len() + 1);
        let gap = |from: u32, to: u32, text: String| Suggestion {
            span: Span::new(from as usize, to as usize),
            replacement: text.into(),
        };
        edits.push(gap(
            callee_end as u32,
            first.span.start,
            format!(" {{ .{} = ", fields[0].name),
        ));
        for (k, (a, b)) in args.iter().zip(args.iter().skip(1)).enumerate() {
            edits.push(gap(
                a.span.end,
                b.span.start,
                format!(", .{} = ", fields[k + 1].name),
            ));
        }
        edits.push(gap(last.span.end, call.span.end, " }".to_string()));
        let fits = expected.is_none_or(|t| matches!(t, Ty::Struct(id, _) if id.0 as usize == i));
        d.with_fix_edits(
            "name the fields, in their declaration order",
            if fits {
                Applicability::MachineApplicable
            } else {
                Applicability::MaybeIncorrect
            },
            edits,
        )
    }

    fn call(
        &mut self,
        body: &mut Body,
        e: &Expr,
        callee: &Expr,
        args: &[Expr],
        expected: Option<&Ty>,
    ) -> Ty {
        // `kernel::log(x)`: see `paths.rs`.
        if let Some(t) = self.module_path_call(body, callee, args) {
            return t;
        }
        // Rust's `a.min(b)`: a method call, which KPL does not have (a
        // struct field of that name is still "not a function" below).
        if let ExprKind::Field(base, field) = &callee.unparen().kind
            && field.name != "len"
        {
            let bt = self.expr(body, base, None);
            for a in args {
                self.expr(body, a, None);
            }
            let is_field = matches!(&bt, Ty::Struct(id, _)
                if self.d.program.structs[id.0 as usize].field(&field.name).is_some());
            if !bt.is_error() && !is_field {
                let d = Diagnostic::new(
                    Code::E0108,
                    format!(
                        "KPL has no methods: `.{}(…)` cannot be called on a `{bt}`",
                        field.name
                    ),
                    field.span,
                    "a method call",
                );
                // Other languages' ways of asking a sequence its length.
                let length = matches!(bt, Ty::Slice { .. } | Ty::Array(..))
                    && args.is_empty()
                    && matches!(
                        field.name.as_str(),
                        "size" | "length" | "count" | "Len" | "Length" | "Count" | "size_of"
                    );
                let ends = (base.span.end, e.span.end, args.is_empty());
                if let Some(d) = super::foreign::conversion_method(&d, &field.name, ends, expected)
                    .filter(|_| bt.as_int().is_some())
                {
                    self.report(d);
                    return Ty::Error;
                }
                self.report(if length {
                    d.with_note("a slice or an array knows its length: `.len`, a field, not a call")
                        .with_fix(
                            "write `.len`",
                            Span::new(field.span.start as usize, e.span.end as usize),
                            "len",
                        )
                } else {
                    d.with_note("a value has no functions of its own: functions are written at the top level and called by name")
                        .with_help(format!("write a function and pass the value to it: `{}({}, …)`", field.name, "value"))
                });
                return Ty::Error;
            }
            if is_field {
                self.report(Diagnostic::new(
                    Code::E0108,
                    format!("field `{}` is not a function", field.name),
                    callee.span,
                    "not callable",
                ));
            }
            return Ty::Error;
        }
        let ExprKind::Name(name) = &callee.unparen().kind else {
            let t = self.expr(body, callee, None);
            for a in args {
                self.expr(body, a, None);
            }
            if !t.is_error() {
                self.report(Diagnostic::new(
                    Code::E0108,
                    format!("a value of type `{t}` is not a function"),
                    callee.span,
                    "not callable",
                ));
            }
            return Ty::Error;
        };
        if !body.const_context
            && let Some(id) = body.lookup(name)
        {
            body.used[id as usize] = true;
            let l = body.locals[id as usize].clone();
            for a in args {
                self.expr(body, a, None);
            }
            // A local whose initialiser was broken (`let f = |v| v * 2;`,
            // already reported) may have been meant as anything.
            if l.ty.is_error() {
                return Ty::Error;
            }
            self.report(
                Diagnostic::new(
                    Code::E0108,
                    format!("`{name}` is a variable, not a function"),
                    callee.span,
                    "not callable",
                )
                .with_secondary(
                    l.span,
                    format!("`{name}` declared here with type `{}`", l.ty),
                ),
            );
            return Ty::Error;
        }
        if let Some(op) = super::AtomicOp::from_name(name) {
            // Built-ins: their names are reserved, so no item shadows them.
            return self.atomic_call(body, e, callee, op, args);
        }
        let (params, ret, res, fn_name) = match self.d.globals.get(name.as_str()).map(|g| g.kind) {
            None => {
                self.report_unknown_name(body, callee.span, name, true);
                // `len(s)`, `strlen(s)` of a named slice or array: the
                // advice is an edit, `s.len`.
                if matches!(name.as_str(), "len" | "strlen")
                    && let [arg] = args
                    && matches!(arg.unparen().kind, ExprKind::Name(_) | ExprKind::Field(..))
                    && let Some(d) = self.diags.last_mut()
                    && d.code == Code::E0100
                    && d.primary.span == callee.span
                {
                    let with_len = format!("{}.len", super::ops::expr_text(arg));
                    d.help.retain(|h| !h.edits.is_empty());
                    *d = d
                        .clone()
                        .with_fix(format!("write `{with_len}`"), e.span, with_len);
                }
                if foreign_value(name).is_some() {
                    // `sizeof(Header)`: the argument is a type, as C meant.
                    for a in args {
                        if let ExprKind::Name(n) = &a.unparen().kind {
                            self.mark_used(n);
                        }
                        self.record(a, Ty::Error);
                    }
                } else {
                    self.unknown_call_args(body, args);
                }
                return Ty::Error;
            }
            Some(kind) => {
                if !matches!(kind, GlobalKind::Fn(i) if body.func == Some(i)) {
                    self.mark_used(name);
                }
                match kind {
                    GlobalKind::Fn(i) => {
                        let f = self.func(i);
                        (
                            f.params.clone(),
                            f.ret.clone(),
                            Res::Fn(i as u32),
                            f.name.clone(),
                        )
                    }
                    GlobalKind::Import(i) => {
                        let f = &self.d.program.imports[i];
                        (
                            f.params.iter().map(|(_, t)| t.clone()).collect(),
                            f.ret.clone(),
                            Res::Import(i as u32),
                            f.name.clone(),
                        )
                    }
                    GlobalKind::Poisoned => {
                        self.unknown_call_args(body, args);
                        return Ty::Error;
                    }
                    other => {
                        self.unknown_call_args(body, args);
                        let mut d = Diagnostic::new(
                            Code::E0108,
                            format!("`{name}` is a {}, not a function", other.describe()),
                            callee.span,
                            "not callable",
                        );
                        if let GlobalKind::Struct(i) = other {
                            d = self.tuple_struct_fix(d, i, e, args, expected);
                        }
                        self.report(d);
                        return Ty::Error;
                    }
                }
            }
        };
        // Keyed by the name itself, like every other resolution: in `(f)(x)`
        // the callee is a parenthesised name, and lowering and the editor
        // look the name up.
        self.tables.resolutions.insert(callee.unparen().id, res);
        self.record(callee, Ty::Error);
        self.record(callee.unparen(), Ty::Error);
        if body.const_context {
            for a in args {
                self.expr(body, a, None);
            }
            self.report(Diagnostic::new(
                Code::E0501,
                format!("cannot call `{fn_name}` in a constant expression"),
                e.span,
                "function calls happen at run time",
            ));
            return Ty::Error;
        }
        if let Res::Fn(i) = res {
            body.callees.push((i as usize, e.span));
        }
        if args.len() != params.len() {
            let plural = if params.len() == 1 { "" } else { "s" };
            let mut d = Diagnostic::new(
                Code::E0201,
                format!(
                    "`{fn_name}` takes {} argument{plural} but {} {} given",
                    params.len(),
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                e.span,
                format!("expected {} argument{plural}", params.len()),
            );
            d = match res {
                Res::Fn(i) => d.with_secondary(self.func(i as usize).span, "function defined here"),
                Res::Import(i) => d.with_note(format!(
                    "the import is declared as `{}`",
                    self.d.program.imports[i as usize].display_signature()
                )),
                _ => d,
            };
            self.report(d);
        }
        for (i, a) in args.iter().enumerate() {
            match params.get(i) {
                Some(p) => {
                    let got = self.expr(body, a, Some(p));
                    self.expect_type(a, &got, p);
                }
                None => {
                    self.expr(body, a, None);
                }
            }
        }
        ret.unwrap_or(Ty::Unit)
    }

    /// Arguments of a call whose callee is unknown: checked for their own
    /// errors, but a string literal is not blamed (the callee might take one).
    pub(super) fn unknown_call_args(&mut self, body: &mut Body, args: &[Expr]) {
        for a in args {
            if matches!(a.unparen().kind, ExprKind::Str(_)) {
                self.record(a, Ty::Error);
            } else {
                self.expr(body, a, None);
            }
        }
    }

    fn struct_lit(&mut self, body: &mut Body, name: &Ident, inits: &[FieldInit]) -> Ty {
        let ty = self.resolve_type(
            &Type {
                kind: TypeKind::Named(name.name.clone()),
                span: name.span,
            },
            TypePos::Local,
        );
        let Ty::Struct(id, sname) = &ty else {
            if !ty.is_error() {
                self.report(Diagnostic::new(
                    Code::E0102,
                    format!("`{}` is not a struct", name.name),
                    name.span,
                    "expected a struct name",
                ));
            }
            for i in inits {
                self.expr(body, &i.value, None);
            }
            return Ty::Error;
        };
        let sid = id.0 as usize;
        // The initialisers seen so far by name, each field looked up in the
        // struct's index: a literal costs its initialisers, not their
        // product with each other or with the struct's fields.
        let mut seen: HashMap<&str, &Ident> = HashMap::new();
        let mut given = 0usize;
        let mut ok = true;
        for init in inits {
            if let Some(prev) = seen.get(init.name.name.as_str()) {
                self.report(
                    Diagnostic::new(
                        Code::E0106,
                        format!("field `{}` is given twice", init.name.name),
                        init.name.span,
                        "given again here",
                    )
                    .with_secondary(prev.span, "first given here"),
                );
                self.expr(body, &init.value, None);
                ok = false;
                continue;
            }
            seen.insert(&init.name.name, &init.name);
            let def = &self.d.program.structs[sid];
            match def.field(&init.name.name).map(|(_, f)| f.ty.clone()) {
                Some(want) => {
                    given += 1;
                    let got = self.expr(body, &init.value, Some(&want));
                    self.expect_type(&init.value, &got, &want);
                }
                None => {
                    let mut d = Diagnostic::new(
                        Code::E0105,
                        format!("struct `{sname}` has no field `{}`", init.name.name),
                        init.name.span,
                        "unknown field",
                    );
                    let name = &init.name.name;
                    if let Some(s) = suggest::closest(name, def.field_candidates(name)) {
                        d = d.with_maybe_fix(
                            format!("did you mean `{s}`?"),
                            init.name.span,
                            s.to_string(),
                        );
                    }
                    self.report(d);
                    self.expr(body, &init.value, None);
                    ok = false;
                }
            }
        }
        let def = &self.d.program.structs[sid];
        let missing = def.fields().len().saturating_sub(given);
        if missing > 0 && ok {
            // The first few missing fields: the walk stops after them, so it
            // is as long as the initialisers plus a few, whatever the size of
            // the struct.
            let list = def
                .fields()
                .iter()
                .filter(|f| !seen.contains_key(f.name.as_str()))
                .take(MISSING_LISTED)
                .map(|f| format!("`{}`", f.name))
                .collect::<Vec<_>>()
                .join(", ");
            let more = match missing.saturating_sub(MISSING_LISTED) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            let d = Diagnostic::new(
                Code::E0107,
                format!(
                    "missing field{} {list}{more} in `{sname}`",
                    if missing == 1 { "" } else { "s" }
                ),
                name.span,
                "every field must be given a value",
            )
            .with_secondary(def.span, "struct defined here");
            self.report(d);
        }
        ty
    }
}

/// The most missing fields an E0107 names (the rest are counted).
const MISSING_LISTED: usize = 8;

/// The note of an unknown field with no suggestion: the struct's fields, the
/// first few if it has many.
fn fields_note(def: &StructDef) -> Option<String> {
    let (names, total) = def.some_field_names(MISSING_LISTED);
    if names.is_empty() {
        return None;
    }
    let more = match total.saturating_sub(names.len()) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!("its fields are: {}{more}", names.join(", ")))
}

impl<'a> Checker<'a> {
    /// Remembers a local declared with no type from a bare literal (`var i
    /// = 0`): a mismatch on it is then fixed at the declaration.
    pub(super) fn note_literal_decl(&mut self, name: Span, init: &Expr) {
        if let Some(v) = Lit::of(init) {
            self.literal_decls.insert(name, v);
        }
    }

    /// `target = value`: like [`Checker::expect_type`], but a target whose
    /// type only came from a literal is fixed at its declaration.
    pub(super) fn expect_assigned(&mut self, target: &Expr, value: &Expr, got: &Ty, want: &Ty) {
        if let (Some(g), Some(w)) = (got.as_int(), want.as_int())
            && g != w
            && !widens(g, w)
            && let Some((decl, v)) = self.literal_uses.get(&target.unparen().id).copied()
            && v.fits(g)
        {
            let d = Diagnostic::new(
                Code::E0200,
                format!("mismatched types: expected `{want}`, found `{got}`"),
                value.span,
                format!("expected `{want}`"),
            );
            if let Some(d) =
                self.decl_fix(d, target, decl, w, g, UseFit::widens().meeting(value, g))
            {
                self.report(d.with_note("KPL never converts integer types implicitly"));
            }
            return;
        }
        // A narrower value (a mismatch, converted where it is below,
        // unless the local's other uses make a declaration fix serve them
        // all), or a value of the local's type that such a fix must keep.
        if let (Some(g), Some(w)) = (got.as_int(), want.as_int())
            && (g != w || !is_untyped_literal(value))
            && let Some((decl, _)) = self.literal_uses.get(&target.unparen().id).copied()
        {
            let fit = UseFit::widens().meeting(value, g);
            self.record_decl_use(decl, target, w, g, fit, value.span, g != w);
        }
        self.expect_type(value, got, want);
    }

    /// The elements of an unannotated array literal have integer types
    /// other than the first element's (`mixed`, with their types): one
    /// diagnostic, whose fix converts every element to the type that holds
    /// them all (never narrowing one of them).
    fn report_mixed_elements(&mut self, elems: &[Expr], first: IntTy, mixed: &[(&Expr, IntTy)]) {
        let (x, t) = mixed[0];
        let mut d = Diagnostic::new(
            Code::E0200,
            format!(
                "mismatched types: array elements of types `{}` and `{}`",
                first.name(),
                t.name()
            ),
            x.span,
            format!("`{}`", t.name()),
        )
        .with_secondary(
            elems[0].span,
            format!("`{}`, the type of the first element", first.name()),
        )
        .with_note("every element of an array has the same type; KPL never converts integer types implicitly");
        let type_of = |e: &Expr| {
            mixed
                .iter()
                .find(|(m, _)| std::ptr::eq(*m, e))
                .map_or(first, |(_, t)| *t)
        };
        let all: Vec<IntTy> = std::iter::once(first)
            .chain(mixed.iter().map(|(_, t)| *t))
            .collect();
        let target = all
            .iter()
            .copied()
            .find(|w| all.iter().all(|t| widens(*t, *w)))
            .or_else(|| {
                [IntTy::I16, IntTy::I32, IntTy::I64]
                    .into_iter()
                    .find(|w| all.iter().all(|t| widens(*t, *w)))
            });
        match target {
            Some(w) => {
                let edits: Vec<Suggestion> = elems
                    .iter()
                    .filter(|e| !is_untyped_literal(e) && type_of(e) != w)
                    .flat_map(|e| cast_edits(e, w))
                    .collect();
                d = d.with_fix_edits(
                    format!("convert the elements to `{}` with `as`", w.name()),
                    Applicability::MachineApplicable,
                    edits,
                );
            }
            None => {
                // No type holds them all (`u64` and a signed type).
                let edits: Vec<Suggestion> = mixed
                    .iter()
                    .flat_map(|(e, _)| cast_edits(e, first))
                    .collect();
                d = d.with_fix_edits(
                    format!(
                        "convert the elements to `{}`, the first one's type, with `as` (values that do not fit change)",
                        first.name()
                    ),
                    Applicability::MaybeIncorrect,
                    edits,
                );
            }
        }
        self.report(d);
    }

    /// Reports a type mismatch between `got` (the type of `e`) and `want`.
    pub(super) fn expect_type(&mut self, e: &Expr, got: &Ty, want: &Ty) {
        if let (Some(g), Some(w)) = (got.as_int(), want.as_int())
            && g == w
            && let Some((decl, _)) = self.literal_uses.get(&e.unparen().id).copied()
        {
            // A use that needs the local's type as it is: a declaration
            // fix for another use must not break it.
            let fit = UseFit::exact().or_converted(e);
            self.record_decl_use(decl, e, g, g, fit, e.span, false);
        }
        if got.fits(want) {
            return;
        }
        if *got == Ty::Unit {
            self.report_unit_value(e);
            return;
        }
        let mut d = Diagnostic::new(
            Code::E0200,
            format!("mismatched types: expected `{want}`, found `{got}`"),
            e.span,
            format!("expected `{want}`"),
        );
        if let (Some(g), Some(w)) = (got.as_int(), want.as_int()) {
            if is_untyped_literal(e) {
                // Cannot happen for plain literals (they adopt the type);
                // keep a generic message.
            } else if let Some((decl, v)) = self.literal_uses.get(&e.unparen().id).copied()
                && v.fits(w)
            {
                match self.decl_fix(d, e, decl, g, w, UseFit::exact().or_converted(e)) {
                    Some(fixed) => d = fixed,
                    None => return,
                }
            } else if let Some(locals) = self.literal_operands(e, w) {
                d = super::ops::declarations_fix(d, locals, g, w);
            } else {
                d = conversion_help(d, e, g, w);
            }
            d = d.with_note("KPL never converts integer types implicitly");
        } else if *got == Ty::Bool && want.as_int().is_some() {
            d = d.with_fix(
                "convert with `as` (true is 1, false is 0)",
                e.span.end_point(),
                format!(" as {want}"),
            );
        } else if got.as_int().is_some()
            && *want == Ty::Bool
            && let Some(v @ (0 | 1)) = super::ops::literal_value(e)
        {
            // C's `return 1;` for true: the boolean itself.
            let b = if v == 1 { "true" } else { "false" };
            d = d.with_fix(format!("write `{b}`"), e.span, b);
        } else if got.as_int().is_some() && *want == Ty::Bool {
            d = d.with_fix_edits(
                "compare explicitly",
                Applicability::MachineApplicable,
                compare_edits(e),
            );
        } else if let (
            Ty::Slice {
                mutable: false,
                elem,
            },
            Ty::Slice { mutable: true, .. },
        ) = (got, want)
        {
            d = d.with_note(format!(
                "a read-only `[]{}` cannot be passed where a writable `[]mut {}` is expected",
                elem.name(),
                elem.name()
            ));
        }
        self.report(d);
    }
}

/// `e != 0`, parenthesised where `!=` would bind to part of `e`.
fn compare_edits(e: &Expr) -> Vec<Suggestion> {
    let end = Suggestion {
        span: e.span.end_point(),
        replacement: if matches!(e.kind, ExprKind::Binary { .. }) {
            ") != 0".into()
        } else {
            " != 0".into()
        },
    };
    if matches!(e.kind, ExprKind::Binary { .. }) {
        vec![
            Suggestion {
                span: Span::new(e.span.start as usize, e.span.start as usize),
                replacement: "(".into(),
            },
            end,
        ]
    } else {
        vec![end]
    }
}

/// The conversion of a value of type `g` where a `w` is wanted. Widening
/// is exact; for an arithmetic expression it is done on the operands, so
/// that the operation happens in the wider type (`a as u64 + b as u64`,
/// `x as u64 << 8`), which is why the wider type was asked for. Narrowing
/// may change the value: maybe-incorrect.
fn conversion_help(d: Diagnostic, e: &Expr, g: IntTy, w: IntTy) -> Diagnostic {
    if !widens(g, w) {
        return d.with_fix_edits(
            format!(
                "convert with `as {}` (values that do not fit in {} `{}` change)",
                w.name(),
                article(w),
                w.name()
            ),
            Applicability::MaybeIncorrect,
            cast_edits(e, w),
        );
    }
    if let ExprKind::Binary { op, .. } = &e.unparen().kind
        && let Some(edits) = widened_leaves(e, w)
        && !edits.is_empty()
    {
        let message = if matches!(op, BinOp::Shl | BinOp::Shr) {
            format!(
                "shift in `{}`: convert the shifted value with `as {}`",
                w.name(),
                w.name()
            )
        } else {
            format!(
                "compute it in `{}`: convert the operands with `as {}`",
                w.name(),
                w.name()
            )
        };
        return d.with_fix_edits(message, Applicability::MachineApplicable, edits);
    }
    d.with_fix_edits(
        format!("convert explicitly with `as {}`", w.name()),
        Applicability::MachineApplicable,
        cast_edits(e, w),
    )
}

/// The casts to `w` that make the arithmetic `e` happen in `w`: one on
/// each leaf of its tree of arithmetic operators (through parentheses; of
/// a shift, only the shifted side), none on untyped literals, which take
/// the type of the other side. Casting only the whole (`(a + b) as u32`)
/// would keep the narrow operation and its wrap-around, which is why the
/// wider type was asked for (`(a + b) / 2` of two `u8`s is an average only
/// in the wider type). `None` when the tree holds something else than
/// arithmetic (a comparison, `&&`) or more than [`MAX_WIDENED_LEAVES`]
/// leaves: then one cast of the whole is the readable fix.
fn widened_leaves(e: &Expr, w: IntTy) -> Option<Vec<Suggestion>> {
    const MAX_WIDENED_LEAVES: usize = 8;
    let mut edits = Vec::new();
    let mut leaves = 0;
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        let x = x.unparen();
        match &x.kind {
            ExprKind::Binary { op, lhs, rhs, .. } => {
                if op.is_comparison() || matches!(op, BinOp::And | BinOp::Or) {
                    return None;
                }
                // Right to left, so that the edits come out in source order.
                if !matches!(op, BinOp::Shl | BinOp::Shr) {
                    stack.push(rhs);
                }
                stack.push(lhs);
            }
            _ if is_untyped_literal(x) => {}
            _ => {
                leaves += 1;
                if leaves > MAX_WIDENED_LEAVES {
                    return None;
                }
                edits.extend(cast_edits(x, w));
            }
        }
    }
    Some(edits)
}
