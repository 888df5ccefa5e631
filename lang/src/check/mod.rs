//! Semantic analysis: name resolution, type checking, constant evaluation,
//! control-flow rules, the call graph and the static limits.
//!
//! The result is a [`Program`]: per-expression types and name resolutions in
//! side tables keyed by [`ExprId`], resolved struct layouts, evaluated
//! constants and static initialisers, and per-function facts (locals, callees,
//! stack frame). Later stages read the syntax tree through these tables.
//!
//! Error nodes and `Ty::Error` mean "already reported": nothing downstream of
//! them reports again, so one mistake gives one diagnostic.
//!
//! Phases, in order (see [`check`]), one file each:
//!
//! - `items.rs`: collect the items into one namespace;
//! - `resolve.rs`: written types, array lengths, struct layouts;
//! - `consts.rs`: constants (lazily, with cycle detection) and statics;
//! - `body.rs`: function signatures, then each body's statements and flow;
//! - `expr.rs` and `ops.rs`: expressions, names, calls and operators;
//! - `graph.rs`: the call graph (recursion, stack depth) and unused items.
//!
//! This file holds the entry points ([`check`], and [`check_decls`],
//! [`check_function`], [`check_whole`] for the incremental database), the
//! language [`limits`] and the checker's state; `program.rs` the result types.

use std::collections::HashMap;

use crate::ast::*;
use crate::consteval::Value;
use crate::diag::Diagnostic;
use crate::imports::ImportTable;
use crate::span::Span;
use crate::types::Ty;

mod body;
mod consts;
mod expr;
mod graph;
mod items;
mod ops;
mod program;
mod resolve;

pub use program::{FieldDef, FnDef, GlobalDef, LocalDef, LocalKind, Program, Res, StructDef};

/// Limits of the language (see `book/src/reference/limits.md`).
pub mod limits {
    /// Stack bytes a call chain from any function may use.
    pub const STACK_BYTES: u64 = 8192;
    /// Fixed per-frame overhead in the stack estimate (return address, saved
    /// registers, spill space).
    pub const FRAME_OVERHEAD: u64 = 64;
    /// Total bytes of statics, and separately of aggregate constants.
    pub const STATIC_BYTES: u64 = 65536;
    /// Largest size of any single type.
    pub const TYPE_BYTES: u64 = 1 << 20;
    /// Most parameters a function may take.
    pub const PARAMS: usize = 6;
    /// Stack size counted for a slice parameter (pointer and length).
    pub const SLICE_BYTES: u64 = 16;
}

#[derive(Clone, Debug)]
pub struct Checked {
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks a parsed plugin against the import table.
pub fn check(file: &File, imports: &ImportTable) -> Checked {
    let mut cx = Checker::new(file, imports);
    cx.run();
    let mut diagnostics = cx.diags;
    crate::diag::sort(&mut diagnostics);
    Checked {
        program: cx.program,
        diagnostics,
    }
}

/// The checker's state once every declaration has been checked: names,
/// struct layouts, constant values, statics and function signatures, with the
/// diagnostics about them. Function bodies are checked against it one at a
/// time by [`check_function`]; [`check_whole`] then applies the whole-program
/// rules. Together they give the same diagnostics as [`check`].
#[derive(Clone, Debug, PartialEq)]
pub struct Decls {
    globals: HashMap<String, Global>,
    const_state: Vec<State<Option<Value>>>,
    struct_state: Vec<State<()>>,
    import_uses: Vec<Span>,
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
}

/// One function body checked against [`Decls`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FnChecked {
    /// Index into `Program::functions`.
    pub index: usize,
    /// The function with its locals, callees and frame size filled in.
    pub def: Option<FnDef>,
    /// Global names the body uses (for the unused-item warnings).
    pub used: Vec<String>,
    pub expr_types: Vec<Ty>,
    pub resolutions: HashMap<ExprId, Res>,
    pub bindings: HashMap<Span, u32>,
    pub const_values: HashMap<ExprId, Value>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Phase 1 of [`check`]: collects the items and checks everything but
/// function bodies and the whole-program rules.
pub fn check_decls(file: &File, imports: &ImportTable) -> Decls {
    let mut cx = Checker::new(file, imports);
    cx.run_decls();
    Decls {
        globals: cx.globals,
        const_state: cx.const_state,
        struct_state: cx.struct_state,
        import_uses: cx.import_uses,
        program: cx.program,
        diagnostics: cx.diags,
    }
}

impl Decls {
    /// The index in `Program::functions` of each function item, in order.
    pub fn function_count(&self) -> usize {
        self.program.functions.len()
    }

    /// A copy with the side tables of the declarations dropped (so a body's
    /// expression ids may start from 0) and the signatures of every function
    /// not in `keep` cleared. A body checked against it gives the same result
    /// as against `self` as long as it only calls functions in `keep`.
    pub fn for_body(&self, keep: &dyn Fn(&str) -> bool) -> Decls {
        let mut d = self.clone();
        d.diagnostics.clear();
        d.program.expr_types.clear();
        d.program.resolutions.clear();
        d.program.bindings.clear();
        d.program.const_values.clear();
        // What the declarations use is counted by `check_whole`; a body
        // reports every global it uses.
        for g in d.globals.values_mut() {
            g.used = false;
        }
        for f in &mut d.program.functions {
            if !keep(&f.name) {
                f.params.clear();
                f.ret = None;
                f.span = Span::default();
            }
        }
        d
    }

    /// Whether `name` is a plugin function (not an import, constant, …).
    pub fn is_function(&self, name: &str) -> bool {
        matches!(
            self.globals.get(name).map(|g| g.kind),
            Some(GlobalKind::Fn(_))
        )
    }
}

/// Checks the body of function `index` (the `index`-th function item of
/// `file`), given as `item` because `file` may hold only its signature.
pub fn check_function(
    file: &File,
    imports: &ImportTable,
    decls: &Decls,
    index: usize,
    item: &FnItem,
) -> FnChecked {
    check_function_with(file, imports, decls, &[], index, item)
}

/// [`check_function`] against `decls` with the functions in `sigs` (index
/// into `Program::functions`, definition) put back: `decls` may be a
/// [`Decls::for_body`] that kept no signature, shared by every body.
pub fn check_function_with(
    file: &File,
    imports: &ImportTable,
    decls: &Decls,
    sigs: &[(usize, FnDef)],
    index: usize,
    item: &FnItem,
) -> FnChecked {
    if index >= decls.program.functions.len() {
        return FnChecked::default();
    }
    let mut cx = Checker::resume(file, imports, decls);
    for (i, def) in sigs {
        if let Some(slot) = cx.program.functions.get_mut(*i) {
            *slot = def.clone();
        }
    }
    cx.check_fn(index, item);
    let mut used: Vec<String> = cx
        .globals
        .iter()
        .filter(|(n, g)| g.used && decls.globals.get(*n).is_some_and(|d| !d.used))
        .map(|(n, _)| n.clone())
        .collect();
    used.sort();
    let program = cx.program;
    FnChecked {
        index,
        def: program.functions.get(index).cloned(),
        used,
        expr_types: program.expr_types,
        resolutions: program.resolutions,
        bindings: program.bindings,
        const_values: program.const_values,
        diagnostics: cx.diags,
    }
}

/// The whole-program rules (recursion, stack depth, unused items, no
/// exports) over the declarations and every checked body.
pub fn check_whole(
    file: &File,
    imports: &ImportTable,
    decls: &Decls,
    fns: &[&FnChecked],
) -> Vec<Diagnostic> {
    let mut cx = Checker::resume(file, imports, decls);
    for f in fns {
        if let (Some(def), Some(slot)) = (&f.def, cx.program.functions.get_mut(f.index)) {
            slot.locals = def.locals.clone();
            slot.callees = def.callees.clone();
            slot.frame_bytes = def.frame_bytes;
        }
        for name in &f.used {
            if let Some(g) = cx.globals.get_mut(name) {
                g.used = true;
            }
        }
    }
    cx.check_call_graph();
    cx.check_unused();
    cx.diags
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum GlobalKind {
    Struct(usize),
    Const(usize),
    Static(usize),
    Fn(usize),
    Import(usize),
    /// A name whose definition failed (e.g. an unknown import): uses of it
    /// are silently of unknown type.
    Poisoned,
}

impl GlobalKind {
    fn describe(self) -> &'static str {
        match self {
            GlobalKind::Struct(_) => "struct",
            GlobalKind::Const(_) => "constant",
            GlobalKind::Static(_) => "static",
            GlobalKind::Fn(_) => "function",
            GlobalKind::Import(_) => "import",
            GlobalKind::Poisoned => "name",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Global {
    kind: GlobalKind,
    span: Span,
    used: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State<T> {
    Todo,
    InProgress,
    Done(T),
}

struct Checker<'a> {
    file: &'a File,
    imports: &'a ImportTable,
    diags: Vec<Diagnostic>,
    globals: HashMap<String, Global>,
    struct_items: Vec<&'a StructItem>,
    struct_state: Vec<State<()>>,
    const_items: Vec<&'a GlobalItem>,
    const_state: Vec<State<Option<Value>>>,
    static_items: Vec<&'a GlobalItem>,
    fn_items: Vec<(usize, &'a FnItem)>,
    /// The `use` name spans of each import, for W0004.
    import_uses: Vec<Span>,
    /// Names of the locals visible where a constant expression inside a
    /// function is being checked (array lengths), to explain E0501.
    enclosing_locals: Vec<String>,
    program: Program,
}

impl<'a> Checker<'a> {
    fn new(file: &'a File, imports: &'a ImportTable) -> Self {
        Checker {
            file,
            imports,
            diags: Vec::new(),
            globals: HashMap::new(),
            struct_items: Vec::new(),
            struct_state: Vec::new(),
            const_items: Vec::new(),
            const_state: Vec::new(),
            static_items: Vec::new(),
            fn_items: Vec::new(),
            import_uses: Vec::new(),
            enclosing_locals: Vec::new(),
            program: Program::default(),
        }
    }

    fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn run(&mut self) {
        self.run_decls();
        for i in 0..self.fn_items.len() {
            let (_, f) = self.fn_items[i];
            self.check_fn(i, f);
        }
        self.check_call_graph();
        self.check_unused();
    }

    /// Phase 1: everything but function bodies and the whole-program rules.
    fn run_decls(&mut self) {
        self.collect_items();
        for i in 0..self.struct_items.len() {
            self.resolve_struct(i);
        }
        for i in 0..self.const_items.len() {
            self.eval_const(i);
        }
        self.check_statics();
        self.check_signatures();
    }

    /// A checker over `file` in the state `decls` left it in, with no
    /// diagnostics yet: only the item references are rebuilt from the file.
    fn resume(file: &'a File, imports: &'a ImportTable, decls: &Decls) -> Self {
        let mut cx = Checker::new(file, imports);
        for (index, item) in file.items.iter().enumerate() {
            match &item.kind {
                ItemKind::Const(g) => cx.const_items.push(g),
                ItemKind::Static(g) => cx.static_items.push(g),
                ItemKind::Struct(s) => cx.struct_items.push(s),
                ItemKind::Fn(f) => cx.fn_items.push((index, f)),
                ItemKind::Use(_) | ItemKind::ExternFn(_) | ItemKind::Error => {}
            }
        }
        cx.globals = decls.globals.clone();
        cx.const_state = decls.const_state.clone();
        cx.struct_state = decls.struct_state.clone();
        cx.import_uses = decls.import_uses.clone();
        cx.program = decls.program.clone();
        cx
    }
}
