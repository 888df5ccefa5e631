//! Written types → [`Ty`]: type names (E0102), where each kind of type may
//! appear ([`TypePos`], E0207), array lengths as constant expressions (E0503),
//! the size limit, and the layout of every struct (a struct that contains
//! itself is E0504).

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::*;
use crate::codes::Code;
use crate::consteval::Value;
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::suggest;
use crate::types::{IntTy, Layout, StructId, Ty, round_up};

use super::body::Body;
use super::expr::is_untyped_literal;
use super::program::layout_of;
use super::{Checker, FieldDef, Global, GlobalKind, NameKind, State, limits};

/// Where a type is written; decides which types are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TypePos {
    Local,
    Field,
    Global,
    Param,
    Return,
    ArrayElem,
    Cast,
}

impl<'a> Checker<'a> {
    pub(super) fn resolve_type(&mut self, ty: &Type, pos: TypePos) -> Ty {
        let resolved = match &ty.kind {
            TypeKind::Error => return Ty::Error,
            TypeKind::Named(name) => {
                match name.as_str() {
                    "bool" => Ty::Bool,
                    "str" => {
                        self.report(
                        Diagnostic::new(
                            Code::E0207,
                            "`str` is only allowed in import declarations",
                            ty.span,
                            "not allowed here",
                        )
                        .with_note("a string literal can be passed directly to an import that takes `str`"),
                    );
                        return Ty::Error;
                    }
                    _ => {
                        if let Some(t) = IntTy::from_name(name) {
                            Ty::Int(t)
                        } else {
                            match self.d.globals.get(name) {
                                Some(Global {
                                    kind: GlobalKind::Struct(i),
                                    ..
                                }) => {
                                    let i = *i;
                                    self.mark_used(name);
                                    Ty::Struct(StructId(i as u32), name.clone())
                                }
                                Some(Global {
                                    kind: GlobalKind::Poisoned,
                                    ..
                                }) => return Ty::Error,
                                Some(g) => {
                                    let kind = g.kind.describe();
                                    self.report(Diagnostic::new(
                                        Code::E0102,
                                        format!("`{name}` is a {kind}, not a type"),
                                        ty.span,
                                        "expected a type",
                                    ));
                                    return Ty::Error;
                                }
                                None => {
                                    self.report_unknown_type(name, ty.span);
                                    return Ty::Error;
                                }
                            }
                        }
                    }
                }
            }
            TypeKind::Slice { mutable, elem } => {
                let elem_ty = self.resolve_type(elem, TypePos::ArrayElem);
                let Some(e) = elem_ty.as_int() else {
                    if !elem_ty.is_error() {
                        self.report(Diagnostic::new(
                            Code::E0207,
                            format!("slices of `{elem_ty}` are not supported"),
                            elem.span,
                            "slice elements must be integers",
                        ));
                    }
                    return Ty::Error;
                };
                if !matches!(pos, TypePos::Param) {
                    let d = Diagnostic::new(
                        Code::E0207,
                        format!("slice type not allowed in {}", describe_pos(pos)),
                        ty.span,
                        "slices only exist as function parameters",
                    );
                    // C's and Rust's reinterpreting cast: say how KPL reads
                    // a wider integer out of bytes.
                    let (w, e) = (e.bits() / 8, Ty::Int(e));
                    let d = match (pos, w) {
                        (TypePos::Cast, 2..) => d
                            .with_note("KPL never reinterprets memory: a slice keeps its element type")
                            .with_help(format!(
                                "read each `{e}` from its {w} bytes, little-endian: `b[i] as {e} | b[i + 1] as {e} << 8{}`",
                                if w > 2 { " | …" } else { "" }
                            )),
                        _ => d.with_note(
                            "the host hands slices to exported functions; pass them on as parameters",
                        ),
                    };
                    self.report(d);
                    return Ty::Error;
                }
                Ty::Slice {
                    mutable: *mutable,
                    elem: e,
                }
            }
            TypeKind::Array(elem, len) => {
                let elem_ty = self.resolve_type(elem, TypePos::ArrayElem);
                let n = self.array_len(len);
                match (elem_ty, n) {
                    (Ty::Error, _) | (_, None) => return Ty::Error,
                    (elem_ty, Some(n)) => {
                        let ty_ = Ty::Array(Arc::new(elem_ty), n);
                        if !self.check_size(&ty_, len.span) {
                            return Ty::Error;
                        }
                        ty_
                    }
                }
            }
        };
        let aggregate = matches!(resolved, Ty::Array(..) | Ty::Struct(..));
        if aggregate && matches!(pos, TypePos::Param | TypePos::Return | TypePos::Cast) {
            let msg = match pos {
                TypePos::Param => "parameters must be integers, bool or slices",
                TypePos::Return => "functions return an integer, a bool or nothing",
                _ => "casts convert between integer types",
            };
            self.report(
                Diagnostic::new(
                    Code::E0207,
                    format!("`{resolved}` not allowed in {}", describe_pos(pos)),
                    ty.span,
                    msg,
                )
                .with_note(
                    "arrays and structs live in locals and statics; pass the pieces you need",
                ),
            );
            return Ty::Error;
        }
        resolved
    }

    /// Whether an unknown type `name` at `span` was reported already (in
    /// the declarations, or earlier in this body): then this use joins
    /// that diagnostic, as a label and an edit of its fix, or, in a body
    /// for a name the declarations reported, is the same mistake, unsaid.
    fn unknown_type_again(&mut self, name: &str, span: Span) -> bool {
        if self.in_body && self.d.unknown_types.contains(name) {
            return true;
        }
        let Some(&at) = self.unknown_type_at.get(name) else {
            return false;
        };
        let message = format!("unknown type `{name}`");
        let Some(d) = self
            .diags
            .get_mut(at)
            .filter(|d| d.code == Code::E0102 && d.message == message.as_str())
        else {
            return false;
        };
        d.also_used_here(span);
        true
    }

    fn report_unknown_type(&mut self, name: &str, span: Span) {
        if self.unknown_type_again(name, span) {
            return;
        }
        let mut candidates: Vec<&str> = BUILTIN_TYPES.to_vec();
        candidates.extend(self.global_candidates(name, NameKind::Struct));
        let mut d = Diagnostic::new(
            Code::E0102,
            format!("unknown type `{name}`"),
            span,
            "not a type",
        );
        if let Some((kpl, why)) = suggest::foreign_type(name) {
            d = d
                .with_note(format!(
                    "KPL's integer types name their width: u8 u16 u32 u64 i8 i16 i32 i64; {why}"
                ))
                .with_fix(format!("write `{kpl}`"), span, kpl);
        } else if name == "void" {
            // C's `void`: there is no type for "nothing" to write.
            d = d.with_note(
                "KPL has no `void`: a function that returns nothing has no `-> type` part \
                 (`fn f(x: u32) {`), and one that takes nothing has empty parentheses",
            );
        } else if matches!(name, "f32" | "f64" | "float" | "double") {
            d = d
                .with_note("KPL has no floating-point numbers: kernel code keeps the FPU's state untouched")
                .with_help("scale to an integer unit (thousandths, say) and use an integer type");
        } else if matches!(name, "string" | "String" | "str" | "Str") {
            d = d
                .with_note(
                    "KPL has no strings: text is bytes, which a plugin is given as a slice `[]u8`",
                )
                .with_maybe_fix("write `[]u8`", span, "[]u8");
        } else if let Some(kpl) = match name {
            "number" | "Number" | "Long" => Some("i64"),
            "Integer" | "integer" | "Int" => Some("i32"),
            "Boolean" => Some("bool"),
            _ => None,
        } {
            d = d
                .with_note("KPL's integer types name their width: u8 u16 u32 u64 i8 i16 i32 i64")
                .with_maybe_fix(format!("write `{kpl}`"), span, kpl);
        } else if let Some(s) = suggest::closest(name, candidates) {
            d = d.with_maybe_fix(format!("did you mean `{s}`?"), span, s.to_string());
            // The struct meant is used, not also W0003.
            let s = s.to_string();
            self.mark_used(&s);
        }
        if !self.in_body {
            self.d.to_mut().unknown_types.insert(name.to_string());
        }
        self.unknown_type_at
            .insert(name.to_string(), self.diags.len());
        self.report(d);
    }

    /// Evaluates an array length or repeat count: a constant of any integer
    /// type, between 1 and the size limit.
    pub(super) fn array_len(&mut self, len: &Expr) -> Option<u64> {
        let mut body = Body::new(None, None);
        // A literal length is checked as i64 so that `-4` is reported as an
        // invalid length rather than an out-of-range literal.
        let want = is_untyped_literal(len).then_some(Ty::Int(IntTy::I64));
        let t = self.expr(&mut body, len, want.as_ref());
        if t.is_error() {
            return None;
        }
        if t.as_int().is_none() {
            self.report(Diagnostic::new(
                Code::E0200,
                format!("array length must be an integer, found `{t}`"),
                len.span,
                "expected an integer",
            ));
            return None;
        }
        let v = self.eval(len)?.as_int()?;
        self.tables
            .const_values
            .insert(len.id, Value::Int(v, t.as_int()?));
        if v < 1 || v > limits::TYPE_BYTES as i128 {
            self.report(
                Diagnostic::new(
                    Code::E0503,
                    format!("invalid array length {v}"),
                    len.span,
                    format!("must be between 1 and {}", limits::TYPE_BYTES),
                )
                .with_note("empty arrays are not allowed; the largest type is 1 MiB"),
            );
            return None;
        }
        Some(v as u64)
    }

    /// The count of `[value; count]` where the declared type it is to
    /// fill has an error already (`var b: [u8; 0] = [0; 0];`): checked for
    /// its own errors (an unknown name), not as a length, which repeats the
    /// declaration's mistake.
    pub(super) fn quiet_repeat_count(&mut self, count: &Expr) {
        let mut body = Body::new(None, None);
        let want = is_untyped_literal(count).then_some(Ty::Int(IntTy::I64));
        self.expr(&mut body, count, want.as_ref());
    }

    pub(super) fn check_size(&mut self, ty: &Ty, span: Span) -> bool {
        let size = layout_of(ty, &self.d.program.structs).size;
        if size > limits::TYPE_BYTES {
            self.report(Diagnostic::new(
                Code::E0503,
                format!("type `{ty}` is {size} bytes"),
                span,
                format!("larger than the {} byte limit", limits::TYPE_BYTES),
            ));
            return false;
        }
        true
    }

    /// Lays out struct `root` and, first, every struct it contains. The
    /// recursion over contained structs runs on an explicit stack: a chain of
    /// structs each containing the next may be as long as the file.
    pub(super) fn resolve_struct(&mut self, root: usize) {
        match self.d.struct_state[root] {
            State::Done(()) => return,
            State::InProgress => {
                let s = self.items().structs[root];
                self.report(
                    Diagnostic::new(
                        Code::E0504,
                        format!("struct `{}` contains itself", s.name.name),
                        s.name.span,
                        "this struct would have infinite size",
                    )
                    .with_help("a struct cannot contain itself, directly or through other structs or arrays"),
                );
                return;
            }
            State::Todo => {}
        }
        let mut stack = vec![self.start_struct(root)];
        while let Some(top) = stack.last_mut() {
            let s: &'a StructItem = self.items().structs[top.index];
            // A field whose struct had to be laid out first.
            if let Some((ty, k)) = top.waiting.take() {
                self.add_field(top, &s.fields[k], ty);
                continue;
            }
            let Some(f) = s.fields.get(top.next) else {
                if let Some(done) = stack.pop() {
                    self.finish_struct(done);
                }
                continue;
            };
            let k = top.next;
            top.next += 1;
            if let Some(prev) = top.names.get(&f.name.name) {
                let d = Diagnostic::declared_twice(
                    Code::E0106,
                    "field",
                    &f.name.name,
                    f.name.span,
                    *prev,
                );
                self.report(d);
                continue;
            }
            top.names.insert(f.name.name.clone(), f.name.span);
            let mut ty = self.resolve_type(&f.ty, TypePos::Field);
            // Make sure nested structs are laid out first (and catch cycles).
            let mut inner = &ty;
            while let Ty::Array(e, _) = inner {
                inner = e;
            }
            if let Ty::Struct(id, _) = inner {
                let id = id.0 as usize;
                match self.d.struct_state[id] {
                    State::InProgress => {
                        if !top.cyclic {
                            self.report(
                                Diagnostic::new(
                                    Code::E0504,
                                    format!("struct `{}` contains itself", s.name.name),
                                    f.ty.span,
                                    "this field makes the struct infinitely large",
                                )
                                .with_secondary(s.name.span, "struct defined here"),
                            );
                        }
                        top.cyclic = true;
                        ty = Ty::Error;
                    }
                    State::Todo => {
                        top.waiting = Some((ty, k));
                        let frame = self.start_struct(id);
                        stack.push(frame);
                        continue;
                    }
                    State::Done(()) => {}
                }
            }
            self.add_field(top, f, ty);
        }
    }

    fn start_struct(&mut self, index: usize) -> StructFrame {
        self.d.to_mut().struct_state[index] = State::InProgress;
        StructFrame {
            index,
            next: 0,
            fields: Vec::new(),
            names: HashMap::new(),
            offset: 0,
            align: 1,
            cyclic: false,
            waiting: None,
        }
    }

    fn add_field(&mut self, frame: &mut StructFrame, f: &Field, ty: Ty) {
        let l = layout_of(&ty, &self.d.program.structs);
        frame.offset = round_up(frame.offset, l.align);
        frame.fields.push(FieldDef {
            name: f.name.name.clone(),
            ty,
            offset: frame.offset,
            span: f.name.span,
            doc: f.doc.clone(),
        });
        frame.offset = frame.offset.saturating_add(l.size);
        frame.align = frame.align.max(l.align);
    }

    fn finish_struct(&mut self, frame: StructFrame) {
        let s = self.items().structs[frame.index];
        let layout = Layout {
            size: round_up(frame.offset, frame.align),
            align: frame.align,
        };
        let d = self.d.to_mut();
        let def = &mut d.program.structs[frame.index];
        def.set_fields(frame.fields);
        def.layout = layout;
        d.struct_state[frame.index] = State::Done(());
        if layout.size > limits::TYPE_BYTES {
            self.report(Diagnostic::new(
                Code::E0503,
                format!("struct `{}` is {} bytes", s.name.name, layout.size),
                s.name.span,
                format!("larger than the {} byte limit", limits::TYPE_BYTES),
            ));
        }
    }
}

/// A struct being laid out by [`Checker::resolve_struct`].
struct StructFrame {
    index: usize,
    /// The next field to look at.
    next: usize,
    fields: Vec<FieldDef>,
    /// Field names seen so far, with their spans.
    names: HashMap<String, Span>,
    offset: u64,
    align: u64,
    cyclic: bool,
    /// A field (type, index) waiting for its struct's layout.
    waiting: Option<(Ty, usize)>,
}

pub(super) const BUILTIN_TYPES: [&str; 9] =
    ["bool", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];

fn describe_pos(pos: TypePos) -> &'static str {
    match pos {
        TypePos::Local => "a variable",
        TypePos::Field => "a struct field",
        TypePos::Global => "a constant or static",
        TypePos::Param => "a parameter",
        TypePos::Return => "a return type",
        TypePos::ArrayElem => "an array element",
        TypePos::Cast => "a cast",
    }
}
