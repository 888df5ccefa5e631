//! The checker's result types: [`Program`] and what it holds (structs with
//! their layouts, constants and statics with their values, functions with
//! their locals, callees and stack estimates, and what each name refers to).
//!
//! Later stages read the syntax tree through these tables; they are plain data
//! and are re-exported from [`crate::check`].

use std::collections::HashMap;

use crate::ast::*;
use crate::consteval::Value;
use crate::imports::ImportFn;
use crate::span::Span;
use crate::suggest;
use crate::types::{Layout, Ty};

use super::limits;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub ty: Ty,
    pub offset: u64,
    pub span: Span,
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructDef {
    pub name: String,
    pub span: Span,
    /// In declaration order; set with [`StructDef::set_fields`], which
    /// indexes them.
    fields: Vec<FieldDef>,
    pub layout: Layout,
    /// Where each field is in `fields`, by name, and the fields by the
    /// length of their names (for suggestions): a field access or an
    /// initialiser costs the same in a struct of three fields or of ten
    /// thousand.
    index: FieldIndex,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FieldIndex {
    by_name: HashMap<String, u32>,
    by_len: HashMap<usize, Vec<u32>>,
}

impl StructDef {
    /// A struct whose fields are not known yet.
    pub fn new(name: String, span: Span, layout: Layout) -> StructDef {
        StructDef {
            name,
            span,
            fields: Vec::new(),
            layout,
            index: FieldIndex::default(),
        }
    }

    /// Sets the fields (names unique: a repeated one is found at its
    /// first).
    pub fn set_fields(&mut self, fields: Vec<FieldDef>) {
        let mut index = FieldIndex::default();
        for (i, f) in fields.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            index.by_name.entry(f.name.clone()).or_insert(i);
            index
                .by_len
                .entry(f.name.chars().count())
                .or_default()
                .push(i);
        }
        self.fields = fields;
        self.index = index;
    }

    /// The fields in declaration order.
    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    /// The position and definition of field `name`.
    pub fn field(&self, name: &str) -> Option<(usize, &FieldDef)> {
        let i = *self.index.by_name.get(name)? as usize;
        self.fields.get(i).map(|f| (i, f))
    }

    /// Field names for a "did you mean" about `name`: those within the
    /// suggestion distance in length, closest lengths first, at most
    /// [`suggest::MAX_CANDIDATES`] (so that many misspelt uses of a struct
    /// with many fields cost their number, not its product with the
    /// fields).
    pub fn field_candidates(&self, name: &str) -> Vec<&str> {
        suggest::nearby_lengths(name)
            .flat_map(|l| self.index.by_len.get(&l).into_iter().flatten())
            .filter_map(|&i| self.fields.get(i as usize))
            .map(|f| f.name.as_str())
            .take(suggest::MAX_CANDIDATES)
            .collect()
    }

    /// Up to `max` field names in declaration order and how many there
    /// are, for a note that lists them.
    pub fn some_field_names(&self, max: usize) -> (Vec<&str>, usize) {
        let names = self.fields.iter().take(max).map(|f| f.name.as_str());
        (names.collect(), self.fields.len())
    }
}

/// A `const` or `static` after checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalDef {
    pub name: String,
    pub span: Span,
    pub ty: Ty,
    /// `None` when the initialiser had an error.
    pub value: Option<Value>,
}

impl GlobalDef {
    /// A placeholder filled in once the item has been checked.
    pub(super) fn unchecked(name: &Ident) -> GlobalDef {
        GlobalDef {
            name: name.name.clone(),
            span: name.span,
            ty: Ty::Error,
            value: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalKind {
    Param,
    Let,
    Var,
    ForVar,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalDef {
    pub name: String,
    pub ty: Ty,
    pub kind: LocalKind,
    /// The binding's name in the source.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnDef {
    pub name: String,
    pub span: Span,
    pub exported: bool,
    /// Index of the item in `File::items`.
    pub item: usize,
    pub params: Vec<Ty>,
    pub ret: Option<Ty>,
    /// Parameters first (in order), then every other binding.
    pub locals: Vec<LocalDef>,
    /// Direct calls to plugin functions: (callee index, call span).
    pub callees: Vec<(usize, Span)>,
    /// Stack estimate for this frame alone, and for the deepest chain below it.
    pub frame_bytes: u64,
    pub stack_bytes: u64,
}

/// What a name in an expression refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Res {
    /// Index into the enclosing function's `FnDef::locals`.
    Local(u32),
    Const(u32),
    Static(u32),
    Fn(u32),
    /// Index into `Program::imports`.
    Import(u32),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    pub structs: Vec<StructDef>,
    pub consts: Vec<GlobalDef>,
    pub statics: Vec<GlobalDef>,
    pub functions: Vec<FnDef>,
    /// The imports the plugin `use`s, in order of appearance.
    pub imports: Vec<ImportFn>,
    /// Type of every expression, indexed by `ExprId`.
    pub expr_types: Vec<Ty>,
    pub resolutions: HashMap<ExprId, Res>,
    /// The local each `let`/`var`/`for` binding introduces, keyed by the span
    /// of its name.
    pub bindings: HashMap<Span, u32>,
    /// Values of expressions that are compile-time constants where a later
    /// stage needs them (array lengths, repeat counts).
    pub const_values: HashMap<ExprId, Value>,
}

impl Program {
    pub fn type_of(&self, id: ExprId) -> &Ty {
        self.expr_types.get(id.0 as usize).unwrap_or(&Ty::Error)
    }

    pub fn layout(&self, ty: &Ty) -> Layout {
        layout_of(ty, &self.structs)
    }
}

pub(super) fn layout_of(ty: &Ty, structs: &[StructDef]) -> Layout {
    match ty {
        Ty::Bool => Layout::scalar(1),
        Ty::Int(t) => Layout::scalar(u64::from(t.bits() / 8)),
        Ty::Array(elem, n) => {
            let e = layout_of(elem, structs);
            Layout {
                size: e.size.saturating_mul(*n),
                align: e.align,
            }
        }
        Ty::Struct(id, _) => structs
            .get(id.0 as usize)
            .map_or(Layout::scalar(1), |s| s.layout),
        Ty::Slice { .. } | Ty::Str => Layout {
            size: limits::SLICE_BYTES,
            align: 8,
        },
        Ty::Unit | Ty::Error => Layout { size: 0, align: 1 },
    }
}
