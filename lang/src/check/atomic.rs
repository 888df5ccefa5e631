//! The atomic built-in functions (`atomic_add`, `atomic_sub`, `atomic_swap`,
//! `atomic_cas`, `atomic_load`, `atomic_store`): their names (reserved in the
//! item namespace), arity, and the rule that their first argument is an
//! integer place inside a static (E0303, E0304), the only memory two
//! invocations running on different CPUs share. See
//! `book/src/reference/atomics.md`.

use crate::ast::*;
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::types::Ty;

use super::body::Body;
use super::{Checker, Res};

/// One atomic built-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `atomic_add(place, v) -> old`: wrapping add.
    Add,
    /// `atomic_sub(place, v) -> old`: wrapping subtract.
    Sub,
    /// `atomic_swap(place, v) -> old`.
    Swap,
    /// `atomic_cas(place, expected, new) -> old`: stores `new` only if the
    /// place held `expected`.
    Cas,
    /// `atomic_load(place) -> value`.
    Load,
    /// `atomic_store(place, v)`.
    Store,
}

impl AtomicOp {
    /// Every built-in, for the reserved names.
    pub const ALL: [AtomicOp; 6] = [
        AtomicOp::Add,
        AtomicOp::Sub,
        AtomicOp::Swap,
        AtomicOp::Cas,
        AtomicOp::Load,
        AtomicOp::Store,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AtomicOp::Add => "atomic_add",
            AtomicOp::Sub => "atomic_sub",
            AtomicOp::Swap => "atomic_swap",
            AtomicOp::Cas => "atomic_cas",
            AtomicOp::Load => "atomic_load",
            AtomicOp::Store => "atomic_store",
        }
    }

    /// The built-in called `name`, if it is one.
    pub fn from_name(name: &str) -> Option<AtomicOp> {
        AtomicOp::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Arguments, the place included.
    pub fn arity(self) -> usize {
        match self {
            AtomicOp::Load => 1,
            AtomicOp::Cas => 3,
            AtomicOp::Add | AtomicOp::Sub | AtomicOp::Swap | AtomicOp::Store => 2,
        }
    }

    /// The signature as the reference writes it, for notes.
    pub fn signature(self) -> &'static str {
        match self {
            AtomicOp::Add => "atomic_add(place, value) -> old value",
            AtomicOp::Sub => "atomic_sub(place, value) -> old value",
            AtomicOp::Swap => "atomic_swap(place, value) -> old value",
            AtomicOp::Cas => "atomic_cas(place, expected, new) -> old value",
            AtomicOp::Load => "atomic_load(place) -> value",
            AtomicOp::Store => "atomic_store(place, value)",
        }
    }

    /// The signature as the reference's table writes it (`T` is the
    /// integer type of the place), for the editor.
    pub fn reference_signature(self) -> &'static str {
        match self {
            AtomicOp::Add => "atomic_add(place, value) -> T",
            AtomicOp::Sub => "atomic_sub(place, value) -> T",
            AtomicOp::Swap => "atomic_swap(place, value) -> T",
            AtomicOp::Cas => "atomic_cas(place, expected, new) -> T",
            AtomicOp::Load => "atomic_load(place) -> T",
            AtomicOp::Store => "atomic_store(place, value)",
        }
    }

    /// What it does, in the reference's words, for the editor.
    pub fn doc(self) -> &'static str {
        match self {
            AtomicOp::Add => "place = place + value (wrapping); returns the old value",
            AtomicOp::Sub => "place = place - value (wrapping); returns the old value",
            AtomicOp::Swap => "place = value; returns the old value",
            AtomicOp::Cas => "if place == expected { place = new }; returns the old value",
            AtomicOp::Load => "returns the value",
            AtomicOp::Store => "place = value",
        }
    }
}

/// Why an operand is not a static place: the local it is rooted in, if any.
enum NotStatic {
    Local(String),
    Slice(String),
    Const(String),
    Other,
}

impl Checker<'_> {
    /// Checks a call of an atomic built-in and returns its type.
    pub(super) fn atomic_call(
        &mut self,
        body: &mut Body,
        e: &Expr,
        callee: &Expr,
        op: AtomicOp,
        args: &[Expr],
    ) -> Ty {
        self.record_checked(callee, Ty::Error);
        let name = op.name();
        if body.const_context {
            for a in args {
                self.expr(body, a, None);
            }
            self.report(Diagnostic::new(
                Code::E0501,
                format!("cannot call `{name}` in a constant expression"),
                e.span,
                "atomic operations happen at run time",
            ));
            return Ty::Error;
        }
        let want = op.arity();
        if args.len() != want {
            let plural = if want == 1 { "" } else { "s" };
            self.report(
                Diagnostic::new(
                    Code::E0201,
                    format!(
                        "`{name}` takes {want} argument{plural} but {} {} given",
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                    e.span,
                    format!("expected {want} argument{plural}"),
                )
                .with_note(format!("the built-in is `{}`", op.signature())),
            );
        }
        let Some((place, rest)) = args.split_first() else {
            return Ty::Error;
        };
        let pt = self.expr(body, place, None);
        let int = if pt.is_error() {
            None
        } else if let Err(why) = self.static_place(place) {
            let (label, help) = match why {
                NotStatic::Local(l) => (
                    format!("`{l}` is a local, not a static"),
                    "each invocation has its own locals and parameters; keep shared state in a `static`",
                ),
                NotStatic::Slice(l) => (
                    format!("an element of the slice `{l}`"),
                    "a slice is the caller's buffer for this invocation; keep shared state in a `static`",
                ),
                NotStatic::Const(c) => (
                    format!("`{c}` is a constant"),
                    "constants never change; use a `static` for state that does",
                ),
                NotStatic::Other => (
                    "not a place inside a static".to_string(),
                    "name a static, or an element or field of one",
                ),
            };
            self.report(
                Diagnostic::new(
                    Code::E0303,
                    format!("the first argument of `{name}` must be a place inside a static"),
                    place.span,
                    label,
                )
                .with_note(
                    "statics are the only memory that invocations running at the same time share",
                )
                .with_help(help),
            );
            None
        } else if matches!(pt, Ty::Int(_)) {
            Some(pt.clone())
        } else {
            let mut d = Diagnostic::new(
                Code::E0304,
                format!("`{name}` needs an integer place, found `{pt}`"),
                place.span,
                format!("has type `{pt}`"),
            );
            d = match pt {
                Ty::Bool => d.with_help("keep a flag in a `u8` holding 0 or 1"),
                Ty::Array(..) | Ty::Struct(..) => {
                    d.with_help("operate on one integer element or field at a time")
                }
                _ => d,
            };
            self.report(d);
            None
        };
        for a in rest {
            let got = self.expr(body, a, int.as_ref());
            if let Some(t) = &int {
                self.expect_type(a, &got, t);
            }
        }
        match (op, int) {
            (AtomicOp::Store, _) => Ty::Unit,
            (_, Some(t)) => t,
            (_, None) => Ty::Error,
        }
    }

    /// Whether `e` is a static, or an element or field of one (any depth).
    fn static_place(&self, e: &Expr) -> Result<(), NotStatic> {
        match &e.kind {
            ExprKind::Paren(x) => self.static_place(x),
            ExprKind::Name(n) => match self.tables.resolutions.get(&e.id) {
                Some(Res::Static(_)) => Ok(()),
                Some(Res::Local(_)) => Err(NotStatic::Local(n.clone())),
                Some(Res::Const(_)) => Err(NotStatic::Const(n.clone())),
                _ => Err(NotStatic::Other),
            },
            ExprKind::Field(_, f) if f.name == "len" => Err(NotStatic::Other),
            ExprKind::Index(base, _)
                if matches!(self.tables.type_of(base.id), Ty::Slice { .. }) =>
            {
                let name = match &base.unparen().kind {
                    ExprKind::Name(n) => n.clone(),
                    _ => "this".to_string(),
                };
                Err(NotStatic::Slice(name))
            }
            ExprKind::Field(base, _) | ExprKind::Index(base, _) => self.static_place(base),
            _ => Err(NotStatic::Other),
        }
    }
}
