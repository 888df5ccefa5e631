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

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ast::*;
use crate::consteval::Value;
use crate::diag::Diagnostic;
use crate::imports::ImportTable;
use crate::span::Span;
use crate::suggest;
use crate::types::Ty;

mod atomic;
mod body;
mod consts;
mod expr;
mod foreign;
mod graph;
mod items;
mod ops;
mod paths;
mod program;
mod resolve;

pub use atomic::AtomicOp;
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
    /// Most statics a plugin may declare (the object's STATICS table, whose
    /// loader check compares every pair, lists each).
    pub const STATICS: usize = 1024;
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
    let mut program = cx.d.into_owned().program;
    cx.tables.into_program(&mut program);
    Checked {
        program,
        diagnostics,
    }
}

/// The checker's state once every declaration has been checked: names,
/// struct layouts, constant values, statics and function signatures, with the
/// diagnostics about them. Function bodies are checked against it one at a
/// time by [`check_function`]; [`check_whole`] then applies the whole-program
/// rules. Together they give the same diagnostics as [`check`].
///
/// A body is checked against a borrowed `Decls`, never a copy: checking it
/// costs the body's size, not the file's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decls {
    globals: HashMap<String, Global>,
    /// Global names the declarations themselves use.
    used: HashSet<String>,
    const_state: Vec<State<Option<Value>>>,
    struct_state: Vec<State<()>>,
    import_uses: Vec<Span>,
    /// The unknown type names the declarations reported (E0102): a body's
    /// use of one is the same mistake, not reported again.
    unknown_types: HashSet<String>,
    /// Global names by kind and length in chars, sorted: where "did you
    /// mean" looks.
    names_by_len: BTreeMap<(NameKind, usize), suggest::NameIndex>,
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
    let mut d = cx.d.into_owned();
    cx.tables.into_program(&mut d.program);
    d.used = cx.used;
    d.diagnostics = cx.diags;
    d
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
        // Built field by field: the side tables, the diagnostics and the
        // names the declarations use are dropped, so they are not copied
        // first (they are most of a large file's declarations).
        let p = &self.program;
        let functions = p
            .functions
            .iter()
            .map(|f| {
                if keep(&f.name) {
                    f.clone()
                } else {
                    FnDef {
                        name: f.name.clone(),
                        span: Span::default(),
                        exported: f.exported,
                        item: f.item,
                        params: Vec::new(),
                        ret: None,
                        locals: f.locals.clone(),
                        callees: f.callees.clone(),
                        frame_bytes: f.frame_bytes,
                        stack_bytes: f.stack_bytes,
                    }
                }
            })
            .collect();
        Decls {
            globals: self.globals.clone(),
            // What the declarations use is counted by `check_whole`; a body
            // reports every global it uses.
            used: HashSet::new(),
            const_state: self.const_state.clone(),
            struct_state: self.struct_state.clone(),
            import_uses: self.import_uses.clone(),
            unknown_types: self.unknown_types.clone(),
            names_by_len: self.names_by_len.clone(),
            program: Program {
                structs: p.structs.clone(),
                consts: p.consts.clone(),
                statics: p.statics.clone(),
                functions,
                imports: p.imports.clone(),
                expr_types: Vec::new(),
                resolutions: HashMap::new(),
                bindings: HashMap::new(),
                const_values: HashMap::new(),
            },
            diagnostics: Vec::new(),
        }
    }

    /// Whether `name` is a plugin function (not an import, constant, …).
    pub fn is_function(&self, name: &str) -> bool {
        matches!(
            self.globals.get(name).map(|g| g.kind),
            Some(GlobalKind::Fn(_))
        )
    }

    /// The index in `Program::functions` of the plugin function `name`.
    pub fn function_index(&self, name: &str) -> Option<usize> {
        match self.globals.get(name).map(|g| g.kind) {
            Some(GlobalKind::Fn(i)) => Some(i),
            _ => None,
        }
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
    check_function_parts(file, imports, decls, sigs, index, &item.sig, &item.body)
}

/// [`check_function_with`] of a function given as its signature and body
/// apart, as the database keeps them: no copy of the body is made to check it.
pub fn check_function_parts(
    file: &File,
    imports: &ImportTable,
    decls: &Decls,
    sigs: &[(usize, FnDef)],
    index: usize,
    sig: &FnSig,
    body: &Block,
) -> FnChecked {
    if index >= decls.program.functions.len() {
        return FnChecked::default();
    }
    let mut cx = Checker::resume(file, imports, decls);
    for (i, def) in sigs {
        if *i < decls.program.functions.len() {
            cx.sigs.insert(*i, def.clone());
        }
    }
    cx.check_fn(index, sig, body);
    let mut used: Vec<String> = cx
        .used
        .iter()
        .filter(|n| !decls.used.contains(*n))
        .cloned()
        .collect();
    used.sort();
    let mut def = cx.func(index).clone();
    if let Some(facts) = cx.body_facts.pop() {
        facts.apply(&mut def);
    }
    FnChecked {
        index,
        def: Some(def),
        used,
        expr_types: cx.tables.expr_types,
        resolutions: cx.tables.resolutions,
        bindings: cx.tables.bindings,
        const_values: cx.tables.const_values,
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
    cx.used = decls.used.clone();
    let program = &mut cx.d.to_mut().program;
    for f in fns {
        if let (Some(def), Some(slot)) = (&f.def, program.functions.get_mut(f.index)) {
            slot.locals = def.locals.clone();
            slot.callees = def.callees.clone();
            slot.frame_bytes = def.frame_bytes;
        }
    }
    for f in fns {
        cx.used.extend(f.used.iter().cloned());
    }
    cx.check_call_graph();
    cx.check_unused();
    cx.diags
}

/// The per-expression side tables a checker fills (moved into the
/// [`Program`] at the end).
#[derive(Clone, Debug, Default)]
struct Tables {
    expr_types: Vec<Ty>,
    resolutions: HashMap<ExprId, Res>,
    bindings: HashMap<Span, u32>,
    const_values: HashMap<ExprId, Value>,
}

impl Tables {
    fn type_of(&self, id: ExprId) -> &Ty {
        self.expr_types.get(id.0 as usize).unwrap_or(&Ty::Error)
    }

    fn into_program(self, p: &mut Program) {
        p.expr_types = self.expr_types;
        p.resolutions = self.resolutions;
        p.bindings = self.bindings;
        p.const_values = self.const_values;
    }
}

/// What checking one body found out about its function.
#[derive(Clone, Debug)]
struct BodyFacts {
    index: usize,
    locals: Vec<LocalDef>,
    callees: Vec<(usize, Span)>,
    frame_bytes: u64,
}

impl BodyFacts {
    fn apply(self, def: &mut FnDef) {
        def.locals = self.locals;
        def.callees = self.callees;
        def.frame_bytes = self.frame_bytes;
    }
}

/// The items of the file by kind, in order (their index is the one in
/// `Program`'s vectors).
#[derive(Default)]
struct Items<'a> {
    structs: Vec<&'a StructItem>,
    consts: Vec<&'a GlobalItem>,
    statics: Vec<&'a GlobalItem>,
    fns: Vec<(usize, &'a FnItem)>,
}

impl<'a> Items<'a> {
    fn of(file: &'a File) -> Items<'a> {
        let mut items = Items::default();
        for (index, item) in file.items.iter().enumerate() {
            match &item.kind {
                ItemKind::Const(g) => items.consts.push(g),
                ItemKind::Static(g) => items.statics.push(g),
                ItemKind::Struct(s) => items.structs.push(s),
                ItemKind::Fn(f) => items.fns.push((index, f)),
                ItemKind::Use(_) | ItemKind::ExternFn(_) | ItemKind::Error(_) => {}
            }
        }
        items
    }
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

/// What a name may be suggested for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NameKind {
    /// A function or import: for a call.
    Callable,
    /// A constant, static or failed name: for a value.
    Value,
    Struct,
}

impl GlobalKind {
    fn name_kind(self) -> NameKind {
        match self {
            GlobalKind::Fn(_) | GlobalKind::Import(_) => NameKind::Callable,
            GlobalKind::Struct(_) => NameKind::Struct,
            GlobalKind::Const(_) | GlobalKind::Static(_) | GlobalKind::Poisoned => NameKind::Value,
        }
    }

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
    /// The declarations: built by this checker, or borrowed from the
    /// [`Decls`] a body is checked against (a body check never copies them).
    d: Cow<'a, Decls>,
    /// Global names used by what this checker checked.
    used: HashSet<String>,
    tables: Tables,
    /// Signatures put back into a [`Decls::for_body`], by function index.
    sigs: HashMap<usize, FnDef>,
    /// Locals, callees and frame of each body checked, not yet applied.
    body_facts: Vec<BodyFacts>,
    items: OnceCell<Items<'a>>,
    /// Names of the locals visible where a constant expression inside a
    /// function is being checked (array lengths), to explain E0501.
    enclosing_locals: Vec<String>,
    /// Locals declared with no type and a bare integer literal, or an array
    /// literal of them, by the span of their name: the literals' values. A
    /// mismatch on such a local (or an element of it) is fixed at the
    /// declaration (`var i: u32 = 0`, `let t: [u8; 3] = [1, 2, 3]`), not
    /// at the use.
    literal_decls: HashMap<Span, ops::Lit>,
    /// Uses of those locals, or of their elements (`t[i]`): (the span of
    /// the declared name, the values).
    literal_uses: HashMap<ExprId, (Span, ops::Lit)>,
    /// Declaration fixes already suggested (declared name, type): a later
    /// mismatch the same fix removes is not reported again.
    decl_fixes: HashSet<(Span, crate::types::IntTy)>,
    /// The declaration fixes of the body being checked, merged at its end.
    decl_fix_uses: Vec<ops::DeclFixUse>,
    /// While the value of `x = value` is checked, with `x` such a local:
    /// the span of its declared name. The value's context type is then
    /// `x`'s own literal default, which a declaration fix changes too, so
    /// an operand `x` in it is not held to that type (see
    /// `Checker::operand_fix`).
    assigning_literal: Option<Span>,
    /// Unknown type names reported (E0102) in the declarations, or in the
    /// body being checked: the index of the diagnostic in `diags`, which
    /// later uses join as "also used here".
    unknown_type_at: HashMap<String, usize>,
    /// A function body is being checked (the declarations are done).
    in_body: bool,
}

impl<'a> Checker<'a> {
    fn new(file: &'a File, imports: &'a ImportTable) -> Self {
        Checker {
            file,
            imports,
            diags: Vec::new(),
            d: Cow::Owned(Decls::default()),
            used: HashSet::new(),
            tables: Tables::default(),
            sigs: HashMap::new(),
            body_facts: Vec::new(),
            items: OnceCell::new(),
            enclosing_locals: Vec::new(),
            literal_decls: HashMap::new(),
            literal_uses: HashMap::new(),
            decl_fixes: HashSet::new(),
            decl_fix_uses: Vec::new(),
            assigning_literal: None,
            unknown_type_at: HashMap::new(),
            in_body: false,
        }
    }

    fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The file's items by kind (built on first use).
    fn items(&self) -> &Items<'a> {
        self.items.get_or_init(|| Items::of(self.file))
    }

    /// Function `i` as this checker sees it (with a signature put back).
    fn func(&self, i: usize) -> &FnDef {
        self.sigs
            .get(&i)
            .unwrap_or_else(|| &self.d.program.functions[i])
    }

    /// Global names of `kind`, for a "did you mean" about `name`: those
    /// within the suggestion distance in length, closest lengths first and,
    /// within a length, nearest to `name` first ([`suggest::NameIndex`]), at
    /// most [`suggest::MAX_CANDIDATES`] of them, so that a file with many
    /// unknown names among many globals is not quadratic.
    fn global_candidates(&self, name: &str, kind: NameKind) -> Vec<&str> {
        suggest::nearby_lengths(name)
            .flat_map(|l| {
                self.d
                    .names_by_len
                    .get(&(kind, l))
                    .into_iter()
                    .flat_map(|names| names.near(name))
            })
            .take(suggest::MAX_CANDIDATES)
            .collect()
    }

    /// Records a use of global `name` (a function calling itself does not
    /// count).
    fn mark_used(&mut self, name: &str) {
        if !self.used.contains(name) {
            self.used.insert(name.to_string());
        }
    }

    fn run(&mut self) {
        self.run_decls();
        for i in 0..self.items().fns.len() {
            let (_, f) = self.items().fns[i];
            self.check_fn(i, &f.sig, &f.body);
            for facts in std::mem::take(&mut self.body_facts) {
                let def = &mut self.d.to_mut().program.functions[facts.index];
                facts.apply(def);
            }
        }
        self.check_call_graph();
        self.check_unused();
    }

    /// Phase 1: everything but function bodies and the whole-program rules.
    fn run_decls(&mut self) {
        self.collect_items();
        let d = self.d.to_mut();
        for (name, g) in &d.globals {
            d.names_by_len
                .entry((g.kind.name_kind(), name.chars().count()))
                .or_default()
                .insert(name);
        }
        for i in 0..self.items().structs.len() {
            self.resolve_struct(i);
        }
        for i in 0..self.items().consts.len() {
            self.eval_const(i);
        }
        self.check_statics();
        self.check_signatures();
    }

    /// A checker over `file` in the state `decls` left it in, with no
    /// diagnostics yet. `decls` is borrowed, not copied.
    fn resume(file: &'a File, imports: &'a ImportTable, decls: &'a Decls) -> Self {
        let mut cx = Checker::new(file, imports);
        cx.d = Cow::Borrowed(decls);
        cx
    }
}
