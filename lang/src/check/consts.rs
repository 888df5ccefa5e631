//! Constants and statics: `const` items evaluated on demand (a constant that
//! depends on itself is E0504), `static` initialisers and the static-data
//! limit (E0506), and compile-time evaluation of constant expressions (E0501,
//! E0502, E0208) with the operator semantics of [`crate::consteval`].

use std::collections::HashMap;

use crate::ast::*;
use crate::codes::Code;
use crate::consteval::{self, Value};
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::types::{IntTy, Ty};

use super::body::Body;
use super::program::layout_of;
use super::resolve::TypePos;
use super::{Checker, Res, State, limits};

impl<'a> Checker<'a> {
    /// The value of constant `root`, evaluating it (and, first, every
    /// constant it needs) if that has not been done yet.
    ///
    /// Evaluation is ordered on an explicit stack instead of recursing
    /// through the checker: a constant is entered, the constants its type
    /// names are entered and finished, its type is resolved, the constants
    /// its initializer names are entered and finished, and only then is its
    /// initializer checked and evaluated, when everything it needs is done.
    /// This is the order the recursive definition visits them in, so the
    /// diagnostics are the same, but a chain of constants each defined by the
    /// next may be as long as the file. A constant found again while it is
    /// being entered closes a cycle: E0504, reported where the recursion
    /// would have reported it.
    pub(super) fn eval_const(&mut self, root: usize) -> Option<Value> {
        match &self.d.const_state[root] {
            State::Done(v) => return v.clone(),
            State::InProgress => {
                let g = self.items().consts[root];
                self.report(
                    Diagnostic::new(
                        Code::E0504,
                        format!("constant `{}` depends on itself", g.name.name),
                        g.name.span,
                        "its value needs its own value",
                    )
                    .with_help("break the cycle by writing one of the values out"),
                );
                self.d.to_mut().const_state[root] = State::Done(None);
                return None;
            }
            State::Todo => {}
        }
        let mut stack = vec![self.enter_const(root)];
        while let Some(top) = stack.last_mut() {
            if let Some(next) = top.needs.pop() {
                if self.d.const_state[next] == State::Todo {
                    let frame = self.enter_const(next);
                    stack.push(frame);
                }
                continue;
            }
            let i = top.index;
            if !top.typed {
                // Everything the type names is done: resolve it.
                top.typed = true;
                let g = self.items().consts[i];
                let ty = self.resolve_type(&g.ty, TypePos::Global);
                self.d.to_mut().program.consts[i].ty = ty;
                top.needs = self.consts_named(None, Some(&g.value));
                continue;
            }
            stack.pop();
            self.finish_const(i);
        }
        self.d.program.consts[root].value.clone()
    }

    fn enter_const(&mut self, index: usize) -> ConstFrame {
        self.d.to_mut().const_state[index] = State::InProgress;
        let g = self.items().consts[index];
        ConstFrame {
            index,
            typed: false,
            needs: self.consts_named(Some(&g.ty), None),
        }
    }

    /// Checks and evaluates the initializer of constant `i`, whose type is
    /// resolved.
    fn finish_const(&mut self, i: usize) {
        let g = self.items().consts[i];
        let ty = self.d.program.consts[i].ty.clone();
        let mut body = Body::new(None, None);
        let got = self.expr(&mut body, &g.value, Some(&ty));
        self.expect_type(&g.value, &got, &ty);
        let value = if got.is_error() || ty.is_error() || !got.fits(&ty) {
            None
        } else {
            self.eval(&g.value)
        };
        let d = self.d.to_mut();
        if d.const_state[i] == State::InProgress {
            d.const_state[i] = State::Done(value.clone());
        }
        d.program.consts[i].value = value;
    }

    /// The constants named in `ty` (its array lengths) and `e`, in reverse
    /// source order (the next one to enter is last).
    fn consts_named(&self, ty: Option<&Type>, e: Option<&Expr>) -> Vec<usize> {
        let mut found: Vec<usize> = names_in(ty, e)
            .into_iter()
            .filter_map(|n| match self.d.globals.get(n).map(|g| g.kind) {
                Some(super::GlobalKind::Const(i)) => Some(i),
                _ => None,
            })
            .collect();
        found.reverse();
        found
    }

    pub(super) fn check_statics(&mut self) {
        let mut static_total = 0u64;
        let mut reported = false;
        for i in 0..self.items().statics.len() {
            let g = self.items().statics[i];
            let ty = self.resolve_type(&g.ty, TypePos::Global);
            self.d.to_mut().program.statics[i].ty = ty.clone();
            let mut body = Body::new(None, None);
            let got = self.expr(&mut body, &g.value, Some(&ty));
            self.expect_type(&g.value, &got, &ty);
            if !got.is_error() && !ty.is_error() && got.fits(&ty) {
                let value = self.eval(&g.value);
                self.d.to_mut().program.statics[i].value = value;
            }
            if i == limits::STATICS {
                self.report(
                    Diagnostic::new(
                        Code::E0506,
                        "too many statics",
                        g.name.span,
                        format!("static number {} of the plugin", i + 1),
                    )
                    .with_note(format!(
                        "a plugin may declare at most {} statics; group related ones in a struct or array",
                        limits::STATICS
                    )),
                );
            }
            let size = layout_of(&ty, &self.d.program.structs).size;
            static_total = static_total.saturating_add(size);
            if static_total > limits::STATIC_BYTES && !reported {
                reported = true;
                self.report(
                    Diagnostic::new(
                        Code::E0506,
                        "plugin statics exceed the static data limit",
                        g.name.span,
                        format!(
                            "with this static the plugin needs {static_total} bytes of static data"
                        ),
                    )
                    .with_note(format!(
                        "a plugin may have at most {} bytes of statics",
                        limits::STATIC_BYTES
                    )),
                );
            }
        }
        let mut const_total = 0u64;
        for i in 0..self.items().consts.len() {
            let ty = self.d.program.consts[i].ty.clone();
            if ty.is_scalar() {
                continue;
            }
            const_total = const_total.saturating_add(layout_of(&ty, &self.d.program.structs).size);
            if const_total > limits::STATIC_BYTES {
                let span = self.items().consts[i].name.span;
                self.report(
                    Diagnostic::new(
                        Code::E0506,
                        "constant tables exceed the read-only data limit",
                        span,
                        format!("with this constant the plugin needs {const_total} bytes of read-only data"),
                    )
                    .with_note(format!(
                        "array and struct constants may total at most {} bytes",
                        limits::STATIC_BYTES
                    )),
                );
                break;
            }
        }
    }

    /// Evaluates an already type-checked constant expression. Reports E0501
    /// for anything that is not constant and E0502 when evaluation faults.
    pub(super) fn eval(&mut self, e: &Expr) -> Option<Value> {
        match self.try_eval(e) {
            Ok(v) => Some(v),
            Err(EvalError::NotConstant(span, why)) => {
                self.report(
                    Diagnostic::new(
                        Code::E0501,
                        "not a constant expression",
                        span,
                        why,
                    )
                    .with_note("constants, statics' initial values and array lengths are computed at compile time from literals and other constants"),
                );
                None
            }
            Err(EvalError::Fault(span, fault)) => {
                self.report(Diagnostic::new(
                    Code::E0502,
                    format!("constant evaluation failed: {}", fault.describe()),
                    span,
                    "this operation has no value",
                ));
                None
            }
            Err(EvalError::Bounds(span, index, len)) => {
                self.report(Diagnostic::new(
                    Code::E0208,
                    format!("index {index} is out of bounds for length {len}"),
                    span,
                    "out of bounds",
                ));
                None
            }
            Err(EvalError::Reported) => None,
        }
    }

    fn try_eval(&mut self, e: &Expr) -> Result<Value, EvalError> {
        let ty = self.tables.type_of(e.id).clone();
        let int_ty = ty.as_int();
        match &e.kind {
            ExprKind::Int(v) => {
                let t = int_ty.ok_or(EvalError::Reported)?;
                Ok(Value::Int(t.wrap(i128::from(*v)), t))
            }
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Paren(x) => self.try_eval(x),
            ExprKind::Name(_) => match self.tables.resolutions.get(&e.id).copied() {
                Some(Res::Const(i)) => self.eval_const(i as usize).ok_or(EvalError::Reported),
                Some(Res::Static(_)) => Err(EvalError::NotConstant(
                    e.span,
                    "a static's value can change at run time".into(),
                )),
                Some(Res::Local(_)) => Err(EvalError::NotConstant(
                    e.span,
                    "a variable is only known at run time".into(),
                )),
                _ => Err(EvalError::Reported),
            },
            ExprKind::Unary(op, x) => {
                // `-128` as an i8 literal: fold the negation into the literal.
                let v = self.try_eval(x)?;
                match (op, v) {
                    (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (op, Value::Int(v, t)) => Ok(Value::Int(consteval::int_unary(*op, t, v), t)),
                    _ => Err(EvalError::Reported),
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let a = self.try_eval(lhs)?;
                if let (BinOp::And | BinOp::Or, Value::Bool(x)) = (op, &a) {
                    // Short-circuit, as at run time.
                    if (*op == BinOp::And && !x) || (*op == BinOp::Or && *x) {
                        return Ok(Value::Bool(*x));
                    }
                    return self.try_eval(rhs);
                }
                let b = self.try_eval(rhs)?;
                match (a, b) {
                    (Value::Int(x, t), Value::Int(y, _)) => {
                        let r = consteval::int_binary(*op, t, x, y)
                            .map_err(|f| EvalError::Fault(e.span, f))?;
                        Ok(if op.is_comparison() {
                            Value::Bool(r != 0)
                        } else {
                            Value::Int(r, t)
                        })
                    }
                    (Value::Bool(x), Value::Bool(y)) => Ok(Value::Bool(match op {
                        BinOp::Eq => x == y,
                        BinOp::Ne => x != y,
                        BinOp::BitAnd => x & y,
                        BinOp::BitOr => x | y,
                        BinOp::BitXor => x ^ y,
                        _ => return Err(EvalError::Reported),
                    })),
                    _ => Err(EvalError::Reported),
                }
            }
            ExprKind::Cast(x, _) => {
                let v = self.try_eval(x)?;
                let to = int_ty.ok_or(EvalError::Reported)?;
                match v {
                    Value::Int(v, _) => Ok(Value::Int(consteval::int_cast(v, to), to)),
                    Value::Bool(b) => Ok(Value::Int(i128::from(b), to)),
                    _ => Err(EvalError::Reported),
                }
            }
            ExprKind::Index(base, index) => {
                let b = self.try_eval(base)?;
                let i = self.try_eval(index)?;
                let (Some(len), Value::Int(i, _)) = (b.array_len(), i) else {
                    return Err(EvalError::Reported);
                };
                u64::try_from(i)
                    .ok()
                    .and_then(|i| b.element(i))
                    .cloned()
                    .ok_or(EvalError::Bounds(index.span, i, len))
            }
            ExprKind::Field(base, field) => {
                let base_ty = self.tables.type_of(base.id).clone();
                if field.name == "len"
                    && let Ty::Array(_, n) = base_ty
                {
                    return Ok(Value::Int(n as i128, IntTy::U32));
                }
                let b = self.try_eval(base)?;
                let (Value::Struct(fields), Ty::Struct(id, _)) = (b, base_ty) else {
                    return Err(EvalError::Reported);
                };
                let def = &self.d.program.structs[id.0 as usize];
                let (idx, _) = def.field(&field.name).ok_or(EvalError::Reported)?;
                fields.get(idx).cloned().ok_or(EvalError::Reported)
            }
            ExprKind::StructLit(_, inits) => {
                let Ty::Struct(id, _) = &ty else {
                    return Err(EvalError::Reported);
                };
                // Each initialiser at its field's position (found by name in
                // the struct's index), evaluated in source order.
                let n = self.d.program.structs[id.0 as usize].fields().len();
                let mut values: Vec<Option<Value>> = vec![None; n];
                for init in inits {
                    let def = &self.d.program.structs[id.0 as usize];
                    let (k, _) = def.field(&init.name.name).ok_or(EvalError::Reported)?;
                    let v = self.try_eval(&init.value)?;
                    *values.get_mut(k).ok_or(EvalError::Reported)? = Some(v);
                }
                values
                    .into_iter()
                    .collect::<Option<std::sync::Arc<[_]>>>()
                    .map(Value::Struct)
                    .ok_or(EvalError::Reported)
            }
            ExprKind::ArrayLit(elems) => {
                let mut values = Vec::with_capacity(elems.len());
                for x in elems {
                    values.push(self.try_eval(x)?);
                }
                Ok(Value::Array(values.into()))
            }
            ExprKind::ArrayRepeat(x, _) => {
                let Ty::Array(_, n) = ty else {
                    return Err(EvalError::Reported);
                };
                let v = self.try_eval(x)?;
                Ok(Value::Repeat(std::sync::Arc::new(v), n))
            }
            ExprKind::Call(..) => Err(EvalError::NotConstant(
                e.span,
                "function calls happen at run time".into(),
            )),
            ExprKind::Str(_) | ExprKind::Error => Err(EvalError::Reported),
        }
    }

    /// The value of `e` if it is a constant, without reporting anything.
    pub(super) fn quiet_eval(&mut self, e: &Expr) -> Option<Value> {
        if !is_constant_shape(e, &self.tables.resolutions) {
            return None;
        }
        let before = self.diags.len();
        let v = self.try_eval(e).ok();
        self.diags.truncate(before);
        v
    }
}

/// Whether `e` is built only from literals and constants (so evaluating it
/// cannot report anything new).
fn is_constant_shape(e: &Expr, res: &HashMap<ExprId, Res>) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Bool(_) => true,
        ExprKind::Name(_) => matches!(res.get(&e.id), Some(Res::Const(_))),
        ExprKind::Paren(x) | ExprKind::Unary(_, x) | ExprKind::Cast(x, _) => {
            is_constant_shape(x, res)
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            is_constant_shape(lhs, res) && is_constant_shape(rhs, res)
        }
        _ => false,
    }
}

enum EvalError {
    NotConstant(Span, String),
    Fault(Span, consteval::Fault),
    Bounds(Span, i128, u64),
    Reported,
}

/// A constant being evaluated by [`Checker::eval_const`].
struct ConstFrame {
    index: usize,
    /// Whether its type has been resolved (then `needs` are the constants
    /// of its initializer, else those of its type).
    typed: bool,
    /// Constants still to enter before the next step, the next one last.
    needs: Vec<usize>,
}

/// The names in `ty` (its array lengths) and `e`, in source order.
pub(super) fn names_in<'n>(ty: Option<&'n Type>, e: Option<&'n Expr>) -> Vec<&'n str> {
    enum Node<'n> {
        Expr(&'n Expr),
        Type(&'n Type),
    }
    let mut found = Vec::new();
    let mut todo: Vec<Node<'_>> = Vec::new();
    todo.extend(e.map(Node::Expr));
    todo.extend(ty.map(Node::Type));
    while let Some(node) = todo.pop() {
        // Children are pushed last-first, so they come off in source order.
        match node {
            Node::Type(t) => match &t.kind {
                TypeKind::Array(elem, len) => {
                    todo.push(Node::Expr(len));
                    todo.push(Node::Type(elem));
                }
                TypeKind::Slice { elem, .. } => todo.push(Node::Type(elem)),
                TypeKind::Named(_) | TypeKind::Error => {}
            },
            Node::Expr(e) => match &e.kind {
                ExprKind::Name(n) => found.push(n.as_str()),
                ExprKind::Unary(_, x) | ExprKind::Paren(x) | ExprKind::Field(x, _) => {
                    todo.push(Node::Expr(x))
                }
                ExprKind::Binary { lhs, rhs, .. }
                | ExprKind::Index(lhs, rhs)
                | ExprKind::ArrayRepeat(lhs, rhs) => {
                    todo.push(Node::Expr(rhs));
                    todo.push(Node::Expr(lhs));
                }
                ExprKind::Cast(x, t) => {
                    todo.push(Node::Type(t));
                    todo.push(Node::Expr(x));
                }
                ExprKind::Call(c, args) => {
                    todo.extend(args.iter().rev().map(Node::Expr));
                    todo.push(Node::Expr(c));
                }
                ExprKind::StructLit(_, fields) => {
                    todo.extend(fields.iter().rev().map(|f| Node::Expr(&f.value)));
                }
                ExprKind::ArrayLit(elems) => todo.extend(elems.iter().rev().map(Node::Expr)),
                ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Error => {}
            },
        }
    }
    found
}
