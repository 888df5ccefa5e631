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

use std::collections::HashMap;

use crate::ast::*;
use crate::codes::Code;
use crate::consteval::{self, Value};
use crate::diag::Diagnostic;
use crate::imports::{ImportFn, ImportTable};
use crate::span::Span;
use crate::suggest;
use crate::types::{IntTy, Layout, StructId, Ty, round_up};

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
    pub fields: Vec<FieldDef>,
    pub layout: Layout,
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
    fn unchecked(name: &Ident) -> GlobalDef {
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

fn layout_of(ty: &Ty, structs: &[StructDef]) -> Layout {
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

/// Where a type is written; decides which types are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TypePos {
    Local,
    Field,
    Global,
    Param,
    Return,
    ArrayElem,
    Cast,
}

/// Per-body state: scopes of locals and what the body has done with them.
struct Body {
    /// Index into `Program::functions`, or `None` for constant initialisers.
    func: Option<usize>,
    const_context: bool,
    ret: Option<Ty>,
    locals: Vec<LocalDef>,
    used: Vec<bool>,
    assigned: Vec<bool>,
    scopes: Vec<Vec<(String, u32)>>,
    loop_depth: u32,
    callees: Vec<(usize, Span)>,
}

impl Body {
    fn new(func: Option<usize>, ret: Option<Ty>) -> Body {
        Body {
            func,
            const_context: func.is_none(),
            ret,
            locals: Vec::new(),
            used: Vec::new(),
            assigned: Vec::new(),
            scopes: vec![Vec::new()],
            loop_depth: 0,
            callees: Vec::new(),
        }
    }

    fn declare(&mut self, def: LocalDef) -> u32 {
        let id = self.locals.len() as u32;
        self.scopes
            .last_mut()
            .expect("a body always has a scope")
            .push((def.name.clone(), id));
        self.locals.push(def);
        self.used.push(false);
        self.assigned.push(false);
        id
    }

    fn lookup(&self, name: &str) -> Option<u32> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }

    fn visible_names(&self) -> Vec<&str> {
        self.scopes
            .iter()
            .flat_map(|s| s.iter().map(|(n, _)| n.as_str()))
            .collect()
    }
}

/// Control flow after a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Execution may continue with the next statement.
    Continues,
    /// Never continues (return, abort, break, continue on every path).
    Diverges,
    /// Contains a syntax error; no flow-based diagnostics.
    Unknown,
}

fn is_untyped_literal(e: &Expr) -> bool {
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

    // ----- items -------------------------------------------------------------

    fn define(&mut self, name: &Ident, kind: GlobalKind) -> bool {
        if BUILTIN_TYPES.contains(&name.name.as_str()) {
            self.report(Diagnostic::new(
                Code::E0101,
                format!("`{}` is a built-in type name", name.name),
                name.span,
                format!("cannot name a {}", kind.describe()),
            ));
            return false;
        }
        if let Some(prev) = self.globals.get(&name.name) {
            let d = Diagnostic::new(
                Code::E0101,
                format!("`{}` is defined more than once", name.name),
                name.span,
                format!("`{}` redefined here", name.name),
            )
            .with_secondary(
                prev.span,
                format!("first defined here as a {}", prev.kind.describe()),
            )
            .with_help("every item, import and type shares one namespace; rename one of them");
            self.report(d);
            return false;
        }
        self.globals.insert(
            name.name.clone(),
            Global {
                kind,
                span: name.span,
                used: false,
            },
        );
        true
    }

    fn collect_items(&mut self) {
        let file = self.file;
        for (index, item) in file.items.iter().enumerate() {
            match &item.kind {
                ItemKind::Use(u) => self.collect_use(u),
                ItemKind::Const(g) => {
                    let i = self.const_items.len();
                    self.const_items.push(g);
                    self.const_state.push(State::Todo);
                    self.program.consts.push(GlobalDef::unchecked(&g.name));
                    self.define(&g.name, GlobalKind::Const(i));
                }
                ItemKind::Static(g) => {
                    let i = self.static_items.len();
                    self.static_items.push(g);
                    self.program.statics.push(GlobalDef::unchecked(&g.name));
                    self.define(&g.name, GlobalKind::Static(i));
                }
                ItemKind::Struct(s) => {
                    let i = self.struct_items.len();
                    self.struct_items.push(s);
                    self.struct_state.push(State::Todo);
                    self.program.structs.push(StructDef {
                        name: s.name.name.clone(),
                        span: s.name.span,
                        fields: Vec::new(),
                        layout: Layout::scalar(1),
                    });
                    self.define(&s.name, GlobalKind::Struct(i));
                }
                ItemKind::Fn(f) => {
                    let i = self.fn_items.len();
                    self.fn_items.push((index, f));
                    self.program.functions.push(FnDef {
                        name: f.sig.name.name.clone(),
                        span: f.sig.name.span,
                        exported: f.export.is_some(),
                        item: index,
                        params: Vec::new(),
                        ret: None,
                        locals: Vec::new(),
                        callees: Vec::new(),
                        frame_bytes: 0,
                        stack_bytes: 0,
                    });
                    self.define(&f.sig.name, GlobalKind::Fn(i));
                }
                ItemKind::ExternFn(sig) => self.report(
                    Diagnostic::new(
                        Code::E0001,
                        "`extern fn` declarations belong in std-imports files",
                        item.span,
                        "not allowed in a plugin",
                    )
                    .with_help(format!(
                        "to call a kernel function, `use` it, e.g. `use kernel::{};`",
                        sig.name.name
                    )),
                ),
                ItemKind::Error => {}
            }
        }
    }

    fn collect_use(&mut self, u: &UseItem) {
        let Some(module) = self.imports.module(&u.module.name) else {
            let names: Vec<&str> = self
                .imports
                .modules
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            let mut d = Diagnostic::new(
                Code::E0104,
                format!("there is no import module `{}`", u.module.name),
                u.module.span,
                "unknown module",
            );
            d = match suggest::closest(&u.module.name, names.iter().copied()) {
                Some(s) => d.with_fix(format!("did you mean `{s}`?"), u.module.span, s),
                None => d.with_note(format!("available modules: {}", names.join(", "))),
            };
            self.report(d);
            for name in &u.names {
                self.define(name, GlobalKind::Poisoned);
            }
            return;
        };
        for name in &u.names {
            match module.function(&name.name) {
                Some(f) => {
                    let i = self.program.imports.len();
                    if self.define(name, GlobalKind::Import(i)) {
                        self.program.imports.push(f.clone());
                        self.import_uses.push(name.span);
                    }
                }
                None => {
                    let mut d = Diagnostic::new(
                        Code::E0103,
                        format!("module `{}` has no import `{}`", module.name, name.name),
                        name.span,
                        "not in the import table",
                    );
                    if let Some(s) = suggest::closest(
                        &name.name,
                        module.functions.iter().map(|f| f.name.as_str()),
                    ) {
                        d = d.with_fix(format!("did you mean `{s}`?"), name.span, s);
                    } else {
                        d = d.with_note(format!(
                            "the plugin may only call the functions declared in std-imports/{}.kpli",
                            module.name
                        ));
                    }
                    self.report(d);
                    self.define(name, GlobalKind::Poisoned);
                }
            }
        }
    }

    // ----- types -------------------------------------------------------------

    fn resolve_type(&mut self, ty: &Type, pos: TypePos) -> Ty {
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
                            match self.globals.get_mut(name) {
                                Some(Global {
                                    kind: GlobalKind::Struct(i),
                                    used,
                                    ..
                                }) => {
                                    *used = true;
                                    Ty::Struct(StructId(*i as u32), name.clone())
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
                    self.report(
                        Diagnostic::new(
                            Code::E0207,
                            format!("slice type not allowed in {}", describe_pos(pos)),
                            ty.span,
                            "slices only exist as function parameters",
                        )
                        .with_note("the host hands slices to exported functions; pass them on as parameters"),
                    );
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
                        let ty_ = Ty::Array(Box::new(elem_ty), n);
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

    fn report_unknown_type(&mut self, name: &str, span: Span) {
        let mut candidates: Vec<&str> = BUILTIN_TYPES.to_vec();
        candidates.extend(self.struct_items.iter().map(|s| s.name.name.as_str()));
        let mut d = Diagnostic::new(
            Code::E0102,
            format!("unknown type `{name}`"),
            span,
            "not a type",
        );
        if let Some(s) = suggest::closest(name, candidates) {
            d = d.with_fix(format!("did you mean `{s}`?"), span, s);
        } else if matches!(
            name,
            "int" | "char" | "long" | "usize" | "isize" | "uint" | "size_t"
        ) {
            d = d.with_help("KPL has explicit widths: u8 u16 u32 u64 i8 i16 i32 i64");
        }
        self.report(d);
    }

    /// Evaluates an array length or repeat count: a constant of any integer
    /// type, between 1 and the size limit.
    fn array_len(&mut self, len: &Expr) -> Option<u64> {
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
        self.program
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

    fn check_size(&mut self, ty: &Ty, span: Span) -> bool {
        let size = layout_of(ty, &self.program.structs).size;
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

    fn resolve_struct(&mut self, i: usize) {
        match self.struct_state[i] {
            State::Done(()) => return,
            State::InProgress => {
                let s = self.struct_items[i];
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
        self.struct_state[i] = State::InProgress;
        let s = self.struct_items[i];
        let mut fields: Vec<FieldDef> = Vec::new();
        let mut offset = 0u64;
        let mut align = 1u64;
        let mut cyclic = false;
        for f in &s.fields {
            if let Some(prev) = fields.iter().find(|p| p.name == f.name.name) {
                let d = Diagnostic::declared_twice(
                    Code::E0106,
                    "field",
                    &f.name.name,
                    f.name.span,
                    prev.span,
                );
                self.report(d);
                continue;
            }
            let mut ty = self.resolve_type(&f.ty, TypePos::Field);
            // Make sure nested structs are laid out first (and catch cycles).
            let mut inner = &ty;
            while let Ty::Array(e, _) = inner {
                inner = e;
            }
            if let Ty::Struct(id, _) = inner {
                let id = id.0 as usize;
                if self.struct_state[id] == State::InProgress {
                    if !cyclic {
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
                    cyclic = true;
                    ty = Ty::Error;
                } else {
                    self.resolve_struct(id);
                }
            }
            let l = layout_of(&ty, &self.program.structs);
            offset = round_up(offset, l.align);
            fields.push(FieldDef {
                name: f.name.name.clone(),
                ty,
                offset,
                span: f.name.span,
                doc: f.doc.clone(),
            });
            offset = offset.saturating_add(l.size);
            align = align.max(l.align);
        }
        let layout = Layout {
            size: round_up(offset, align),
            align,
        };
        let def = &mut self.program.structs[i];
        def.fields = fields;
        def.layout = layout;
        self.struct_state[i] = State::Done(());
        if layout.size > limits::TYPE_BYTES {
            self.report(Diagnostic::new(
                Code::E0503,
                format!("struct `{}` is {} bytes", s.name.name, layout.size),
                s.name.span,
                format!("larger than the {} byte limit", limits::TYPE_BYTES),
            ));
        }
    }

    // ----- constants and statics --------------------------------------------

    fn eval_const(&mut self, i: usize) -> Option<Value> {
        match &self.const_state[i] {
            State::Done(v) => return v.clone(),
            State::InProgress => {
                let g = self.const_items[i];
                self.report(
                    Diagnostic::new(
                        Code::E0504,
                        format!("constant `{}` depends on itself", g.name.name),
                        g.name.span,
                        "its value needs its own value",
                    )
                    .with_help("break the cycle by writing one of the values out"),
                );
                self.const_state[i] = State::Done(None);
                return None;
            }
            State::Todo => {}
        }
        self.const_state[i] = State::InProgress;
        let g = self.const_items[i];
        let ty = self.resolve_type(&g.ty, TypePos::Global);
        self.program.consts[i].ty = ty.clone();
        let mut body = Body::new(None, None);
        let got = self.expr(&mut body, &g.value, Some(&ty));
        self.expect_type(&g.value, &got, &ty);
        let value = if got.is_error() || ty.is_error() || !got.fits(&ty) {
            None
        } else {
            self.eval(&g.value)
        };
        if self.const_state[i] == State::InProgress {
            self.const_state[i] = State::Done(value.clone());
        }
        self.program.consts[i].value = value.clone();
        value
    }

    fn check_statics(&mut self) {
        let mut static_total = 0u64;
        let mut reported = false;
        for i in 0..self.static_items.len() {
            let g = self.static_items[i];
            let ty = self.resolve_type(&g.ty, TypePos::Global);
            self.program.statics[i].ty = ty.clone();
            let mut body = Body::new(None, None);
            let got = self.expr(&mut body, &g.value, Some(&ty));
            self.expect_type(&g.value, &got, &ty);
            if !got.is_error() && !ty.is_error() && got.fits(&ty) {
                self.program.statics[i].value = self.eval(&g.value);
            }
            let size = layout_of(&ty, &self.program.structs).size;
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
        for i in 0..self.const_items.len() {
            let ty = self.program.consts[i].ty.clone();
            if ty.is_scalar() {
                continue;
            }
            const_total = const_total.saturating_add(layout_of(&ty, &self.program.structs).size);
            if const_total > limits::STATIC_BYTES {
                let span = self.const_items[i].name.span;
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
    fn eval(&mut self, e: &Expr) -> Option<Value> {
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
        let ty = self.program.type_of(e.id).clone();
        let int_ty = ty.as_int();
        match &e.kind {
            ExprKind::Int(v) => {
                let t = int_ty.ok_or(EvalError::Reported)?;
                Ok(Value::Int(t.wrap(i128::from(*v)), t))
            }
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Paren(x) => self.try_eval(x),
            ExprKind::Name(_) => match self.program.resolutions.get(&e.id).copied() {
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
                match (b, i) {
                    (Value::Array(elems), Value::Int(i, _)) => {
                        if i < 0 || i >= elems.len() as i128 {
                            return Err(EvalError::Bounds(index.span, i, elems.len() as u64));
                        }
                        Ok(elems[i as usize].clone())
                    }
                    _ => Err(EvalError::Reported),
                }
            }
            ExprKind::Field(base, field) => {
                let base_ty = self.program.type_of(base.id).clone();
                if field.name == "len"
                    && let Ty::Array(_, n) = base_ty
                {
                    return Ok(Value::Int(n as i128, IntTy::U32));
                }
                let b = self.try_eval(base)?;
                let (Value::Struct(fields), Ty::Struct(id, _)) = (b, base_ty) else {
                    return Err(EvalError::Reported);
                };
                let def = &self.program.structs[id.0 as usize];
                let idx = def
                    .fields
                    .iter()
                    .position(|f| f.name == field.name)
                    .ok_or(EvalError::Reported)?;
                fields.get(idx).cloned().ok_or(EvalError::Reported)
            }
            ExprKind::StructLit(_, inits) => {
                let Ty::Struct(id, _) = &ty else {
                    return Err(EvalError::Reported);
                };
                let names: Vec<String> = self.program.structs[id.0 as usize]
                    .fields
                    .iter()
                    .map(|f| f.name.clone())
                    .collect();
                let mut values = Vec::with_capacity(names.len());
                for name in names {
                    let init = inits
                        .iter()
                        .find(|i| i.name.name == name)
                        .ok_or(EvalError::Reported)?;
                    values.push(self.try_eval(&init.value)?);
                }
                Ok(Value::Struct(values))
            }
            ExprKind::ArrayLit(elems) => {
                let mut values = Vec::with_capacity(elems.len());
                for x in elems {
                    values.push(self.try_eval(x)?);
                }
                Ok(Value::Array(values))
            }
            ExprKind::ArrayRepeat(x, _) => {
                let Ty::Array(_, n) = ty else {
                    return Err(EvalError::Reported);
                };
                let v = self.try_eval(x)?;
                Ok(Value::Array(vec![v; n as usize]))
            }
            ExprKind::Call(..) => Err(EvalError::NotConstant(
                e.span,
                "function calls happen at run time".into(),
            )),
            ExprKind::Str(_) | ExprKind::Error => Err(EvalError::Reported),
        }
    }

    /// The value of `e` if it is a constant, without reporting anything.
    fn quiet_eval(&mut self, e: &Expr) -> Option<Value> {
        if !is_constant_shape(e, &self.program.resolutions) {
            return None;
        }
        let before = self.diags.len();
        let v = self.try_eval(e).ok();
        self.diags.truncate(before);
        v
    }

    // ----- functions ---------------------------------------------------------

    fn check_signatures(&mut self) {
        for i in 0..self.fn_items.len() {
            let (_, f) = self.fn_items[i];
            let params: Vec<Ty> = f
                .sig
                .params
                .iter()
                .map(|p| self.resolve_type(&p.ty, TypePos::Param))
                .collect();
            let ret = f
                .sig
                .ret
                .as_ref()
                .map(|t| self.resolve_type(t, TypePos::Return));
            if f.sig.params.len() > limits::PARAMS {
                let extra = &f.sig.params[limits::PARAMS];
                self.report(
                    Diagnostic::new(
                        Code::E0507,
                        format!(
                            "`{}` has {} parameters; at most {} are allowed",
                            f.sig.name.name,
                            f.sig.params.len(),
                            limits::PARAMS
                        ),
                        extra.name.span.to(f
                            .sig
                            .params
                            .last()
                            .map_or(extra.name.span, |p| p.ty.span)),
                        "too many parameters",
                    )
                    .with_note("all parameters are passed in registers")
                    .with_help("group related values into a slice, or split the function"),
                );
            }
            let def = &mut self.program.functions[i];
            def.params = params;
            def.ret = ret;
        }
    }

    fn check_fn(&mut self, i: usize, f: &FnItem) {
        let ret = self.program.functions[i].ret.clone();
        let mut body = Body::new(Some(i), ret.clone());
        for (p, ty) in f
            .sig
            .params
            .iter()
            .zip(self.program.functions[i].params.clone())
        {
            if let Some(prev) = body
                .locals
                .iter()
                .find(|l| l.name == p.name.name && l.name != "_")
            {
                let d = Diagnostic::declared_twice(
                    Code::E0101,
                    "parameter",
                    &p.name.name,
                    p.name.span,
                    prev.span,
                );
                self.report(d);
            }
            body.declare(LocalDef {
                name: p.name.name.clone(),
                ty,
                kind: LocalKind::Param,
                span: p.name.span,
            });
        }
        let flow = self.block(&mut body, &f.body, false);
        if flow == Flow::Continues
            && let (Some(ret_ty), Some(ret_ast)) = (&ret, &f.sig.ret)
            && !ret_ty.is_error()
        {
            let end = Span::new(
                f.body.span.end.saturating_sub(1) as usize,
                f.body.span.end as usize,
            );
            self.report(
                Diagnostic::new(
                    Code::E0400,
                    format!("`{}` may end without returning a value", f.sig.name.name),
                    end,
                    format!(
                        "execution can reach the end of the function without returning a `{ret_ty}`"
                    ),
                )
                .with_secondary(ret_ast.span, "the function promises this return type")
                .with_help("add a `return` at the end; loops never count as returning"),
            );
        }
        self.finish_body(&body);
        let frame = body.locals.iter().fold(limits::FRAME_OVERHEAD, |acc, l| {
            acc.saturating_add(round_up(layout_of(&l.ty, &self.program.structs).size, 8))
        });
        let def = &mut self.program.functions[i];
        def.locals = body.locals;
        def.callees = body.callees;
        def.frame_bytes = frame;
    }

    /// Unused-binding and never-assigned warnings for a finished body.
    fn finish_body(&mut self, body: &Body) {
        for (i, l) in body.locals.iter().enumerate() {
            if l.name.starts_with('_') || l.kind == LocalKind::Param {
                continue;
            }
            if !body.used[i] {
                let what = match l.kind {
                    LocalKind::ForVar => "loop variable",
                    _ => "variable",
                };
                self.report(
                    Diagnostic::new(
                        Code::W0001,
                        format!("{what} `{}` is never read", l.name),
                        l.span,
                        "never read",
                    )
                    .with_fix(
                        "if this is intentional, prefix it with an underscore",
                        l.span,
                        format!("_{}", l.name),
                    ),
                );
            } else if l.kind == LocalKind::Var && !body.assigned[i] {
                self.report(
                    Diagnostic::new(
                        Code::W0006,
                        format!(
                            "variable `{}` is declared with `var` but never assigned",
                            l.name
                        ),
                        l.span,
                        "never assigned after its declaration",
                    )
                    .with_help("declare it with `let`"),
                );
            }
        }
    }

    fn block(&mut self, body: &mut Body, block: &Block, new_scope: bool) -> Flow {
        if new_scope {
            body.scopes.push(Vec::new());
        }
        let mut flow = Flow::Continues;
        let mut warned = false;
        for s in &block.stmts {
            if flow == Flow::Diverges && !warned {
                warned = true;
                self.report(
                    Diagnostic::new(
                        Code::W0002,
                        "unreachable statement",
                        s.span,
                        "this is never executed",
                    )
                    .with_note(
                        "it follows a `return`, `break`, `continue` or `abort` on every path",
                    ),
                );
            }
            let f = self.stmt(body, s);
            flow = match (flow, f) {
                (Flow::Diverges, _) => Flow::Diverges,
                (Flow::Unknown, _) | (_, Flow::Unknown) => Flow::Unknown,
                (_, f) => f,
            };
        }
        if new_scope {
            body.scopes.pop();
        }
        flow
    }

    fn stmt(&mut self, body: &mut Body, s: &Stmt) -> Flow {
        match &s.kind {
            StmtKind::Error => Flow::Unknown,
            StmtKind::Let {
                mutable,
                name,
                ty,
                init,
            } => {
                self.enclosing_locals =
                    body.visible_names().into_iter().map(String::from).collect();
                let declared = ty.as_ref().map(|t| self.resolve_type(t, TypePos::Local));
                let got = self.expr(body, init, declared.as_ref());
                let local_ty = match &declared {
                    Some(d) => {
                        self.expect_type(init, &got, d);
                        d.clone()
                    }
                    None => match &got {
                        Ty::Unit => {
                            self.report_unit_value(init);
                            Ty::Error
                        }
                        Ty::Slice { .. } => {
                            self.report(
                                Diagnostic::new(
                                    Code::E0207,
                                    "a slice cannot be stored in a variable",
                                    init.span,
                                    "slices only exist as function parameters",
                                )
                                .with_help("use the parameter directly"),
                            );
                            Ty::Error
                        }
                        other => other.clone(),
                    },
                };
                let id = body.declare(LocalDef {
                    name: name.name.clone(),
                    ty: local_ty,
                    kind: if *mutable {
                        LocalKind::Var
                    } else {
                        LocalKind::Let
                    },
                    span: name.span,
                });
                self.program.bindings.insert(name.span, id);
                Flow::Continues
            }
            StmtKind::Assign {
                target,
                op,
                op_span,
                value,
            } => {
                let target_ty = self.place(body, target);
                match op {
                    None => {
                        let got = self.expr(body, value, Some(&target_ty));
                        self.expect_type(value, &got, &target_ty);
                    }
                    Some(op) => {
                        let fake_span = *op_span;
                        self.binary_types(body, *op, fake_span, None, target_ty, value, true);
                    }
                }
                Flow::Continues
            }
            StmtKind::If { cond, then, els } => {
                self.condition(body, cond);
                let a = self.block(body, then, true);
                let b = match els {
                    Some(e) => self.stmt(body, e),
                    None => Flow::Continues,
                };
                match (a, b) {
                    (Flow::Diverges, Flow::Diverges) => Flow::Diverges,
                    (Flow::Unknown, _) | (_, Flow::Unknown) => Flow::Unknown,
                    _ => Flow::Continues,
                }
            }
            StmtKind::While { cond, body: b } => {
                self.condition(body, cond);
                body.loop_depth += 1;
                let f = self.block(body, b, true);
                body.loop_depth -= 1;
                if f == Flow::Unknown {
                    Flow::Unknown
                } else {
                    Flow::Continues
                }
            }
            StmtKind::For { var, iter, body: b } => {
                let var_ty = match iter {
                    ForIter::Range(lo, hi) => {
                        let t = self.same_int_pair(body, lo, hi, "range bounds");
                        t.map_or(Ty::Error, Ty::Int)
                    }
                    ForIter::Each(seq) => {
                        let t = self.expr(body, seq, None);
                        match t {
                            Ty::Array(elem, _) => *elem,
                            Ty::Slice { elem, .. } => Ty::Int(elem),
                            Ty::Error => Ty::Error,
                            other => {
                                self.report(
                                    Diagnostic::new(
                                        Code::E0200,
                                        format!("mismatched types: cannot iterate over a value of type `{other}`"),
                                        seq.span,
                                        "not an array or slice",
                                    )
                                    .with_help("to count, use a range: `for i in 0..n`"),
                                );
                                Ty::Error
                            }
                        }
                    }
                };
                body.scopes.push(Vec::new());
                let id = body.declare(LocalDef {
                    name: var.name.clone(),
                    ty: var_ty,
                    kind: LocalKind::ForVar,
                    span: var.span,
                });
                self.program.bindings.insert(var.span, id);
                body.loop_depth += 1;
                let f = self.block(body, b, true);
                body.loop_depth -= 1;
                body.scopes.pop();
                if f == Flow::Unknown {
                    Flow::Unknown
                } else {
                    Flow::Continues
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                if body.loop_depth == 0 {
                    let word = if s.kind == StmtKind::Break {
                        "break"
                    } else {
                        "continue"
                    };
                    self.report(Diagnostic::new(
                        Code::E0401,
                        format!("`{word}` outside of a loop"),
                        s.span,
                        "not inside `while` or `for`",
                    ));
                }
                Flow::Diverges
            }
            StmtKind::Abort => Flow::Diverges,
            StmtKind::Return(value) => {
                let ret = body.ret.clone();
                let fn_name = body
                    .func
                    .map(|i| self.program.functions[i].name.clone())
                    .unwrap_or_default();
                match (value, ret) {
                    (Some(v), Some(r)) => {
                        let got = self.expr(body, v, Some(&r));
                        self.expect_type(v, &got, &r);
                    }
                    (Some(v), None) => {
                        self.expr(body, v, None);
                        self.report(
                            Diagnostic::new(
                                Code::E0402,
                                format!("`{fn_name}` has no return type but returns a value"),
                                v.span,
                                "unexpected return value",
                            )
                            .with_help(
                                "declare the return type, e.g. `-> u32`, or remove the value",
                            ),
                        );
                    }
                    (None, Some(r)) => {
                        if !r.is_error() {
                            self.report(Diagnostic::new(
                                Code::E0402,
                                format!("`{fn_name}` must return a `{r}`"),
                                s.span,
                                format!("`return` without a `{r}` value"),
                            ));
                        }
                    }
                    (None, None) => {}
                }
                Flow::Diverges
            }
            StmtKind::Expr(e) => {
                let t = self.expr(body, e, None);
                let inner = e.unparen();
                if !matches!(inner.kind, ExprKind::Call(..) | ExprKind::Error) && !t.is_error() {
                    self.report(
                        Diagnostic::new(
                            Code::W0005,
                            "expression value is unused",
                            e.span,
                            "this value is computed and thrown away",
                        )
                        .with_help("did you mean to assign it, e.g. `x = ...;`?"),
                    );
                }
                Flow::Continues
            }
            StmtKind::Block(b) => self.block(body, b, true),
        }
    }

    fn condition(&mut self, body: &mut Body, cond: &Expr) {
        let t = self.expr(body, cond, Some(&Ty::Bool));
        if !t.is_error() && t != Ty::Bool {
            let mut d = Diagnostic::new(
                Code::E0200,
                format!("condition must be `bool`, found `{t}`"),
                cond.span,
                "expected `bool`",
            );
            if t.as_int().is_some() {
                d = d.with_fix(
                    "integers are not truth values; compare explicitly",
                    cond.span.end_point(),
                    " != 0",
                );
            }
            self.report(d);
        }
    }

    /// Type-checks an assignment target and reports mutability errors.
    fn place(&mut self, body: &mut Body, target: &Expr) -> Ty {
        let t = self.expr_inner(body, target, None, true);
        self.check_mutable(body, target);
        t
    }

    fn check_mutable(&mut self, body: &mut Body, target: &Expr) {
        match &target.kind {
            ExprKind::Paren(x) => self.check_mutable(body, x),
            ExprKind::Name(name) => match self.program.resolutions.get(&target.id).copied() {
                Some(Res::Local(id)) => {
                    let l = body.locals[id as usize].clone();
                    body.assigned[id as usize] = true;
                    match l.kind {
                        LocalKind::Var => {}
                        LocalKind::Let => self.report(
                            Diagnostic::new(
                                Code::E0300,
                                format!("cannot assign twice to immutable variable `{name}`"),
                                target.span,
                                "cannot assign",
                            )
                            .with_secondary(l.span, format!("`{name}` is declared with `let`"))
                            .with_help("declare it with `var` to make it mutable"),
                        ),
                        LocalKind::Param => self.report(
                            Diagnostic::new(
                                Code::E0300,
                                format!("cannot assign to parameter `{name}`"),
                                target.span,
                                "parameters are immutable",
                            )
                            .with_secondary(l.span, "parameter declared here")
                            .with_help(format!("copy it into a variable first: `var {name}_ = {name};`")),
                        ),
                        LocalKind::ForVar => self.report(
                            Diagnostic::new(
                                Code::E0300,
                                format!("cannot assign to loop variable `{name}`"),
                                target.span,
                                "loop variables are immutable",
                            )
                            .with_secondary(l.span, "loop variable declared here")
                            .with_help("use a `while` loop with a `var` counter to control the stepping"),
                        ),
                    }
                }
                Some(Res::Static(_)) | None => {}
                Some(Res::Const(_)) => self.report(
                    Diagnostic::new(
                        Code::E0302,
                        format!("cannot assign to constant `{name}`"),
                        target.span,
                        "constants never change",
                    )
                    .with_help("use a `static` for plugin state that changes"),
                ),
                Some(Res::Fn(_) | Res::Import(_)) => self.report(Diagnostic::new(
                    Code::E0302,
                    format!("cannot assign to function `{name}`"),
                    target.span,
                    "not a variable",
                )),
            },
            ExprKind::Field(base, field)
                if field.name == "len"
                    && matches!(self.program.type_of(base.id), Ty::Array(..) | Ty::Slice { .. }) =>
            {
                self.report(Diagnostic::new(
                    Code::E0302,
                    "cannot assign to `.len`",
                    target.span,
                    "the length of an array or slice is fixed",
                ));
            }
            ExprKind::Field(base, _) => self.check_mutable(body, base),
            ExprKind::Index(base, _) => {
                let base_ty = self.program.type_of(base.id).clone();
                if let Ty::Slice { mutable, elem } = base_ty {
                    if !mutable {
                        let mut d = Diagnostic::new(
                            Code::E0301,
                            "cannot write through a read-only slice",
                            target.span,
                            format!("`{}` has type `[]{}`", base_text(base), elem.name()),
                        );
                        if let Some(Res::Local(id)) = self.program.resolutions.get(&base.id).copied() {
                            let l = &body.locals[id as usize];
                            if l.kind == LocalKind::Param {
                                d = d.with_secondary(l.span, "declared read-only here").with_help(
                                    format!("declare the parameter as `[]mut {}`", elem.name()),
                                );
                            }
                        }
                        self.report(d);
                    }
                    // The slice itself is not reassigned; its elements are.
                    if let Some(Res::Local(id)) = self.program.resolutions.get(&base.id).copied() {
                        body.assigned[id as usize] = true;
                    }
                } else {
                    self.check_mutable(body, base);
                }
            }
            ExprKind::Error => {}
            _ => self.report(
                Diagnostic::new(
                    Code::E0302,
                    "invalid left-hand side of assignment",
                    target.span,
                    "cannot assign to this expression",
                )
                .with_note("you can assign to variables, statics, their fields and elements, and elements of `[]mut` slices"),
            ),
        }
    }

    fn report_unit_value(&mut self, e: &Expr) {
        let name = match &e.unparen().kind {
            ExprKind::Call(callee, _) => base_text(callee),
            _ => "this".to_string(),
        };
        self.report(Diagnostic::new(
            Code::E0403,
            format!("`{name}` does not return a value"),
            e.span,
            "has no value",
        ));
    }

    /// Reports a type mismatch between `got` (the type of `e`) and `want`.
    fn expect_type(&mut self, e: &Expr, got: &Ty, want: &Ty) {
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
        if let (Some(_), Some(w)) = (got.as_int(), want.as_int()) {
            if is_untyped_literal(e) {
                // Cannot happen for plain literals (they adopt the type);
                // keep a generic message.
            } else {
                d = d.with_fix(
                    format!("convert explicitly with `as {}`", w.name()),
                    e.span.end_point(),
                    format!(" as {}", w.name()),
                );
                d = d.with_note("KPL never converts integer types implicitly");
            }
        } else if *got == Ty::Bool && want.as_int().is_some() {
            d = d.with_fix(
                "convert with `as` (true is 1, false is 0)",
                e.span.end_point(),
                format!(" as {want}"),
            );
        } else if got.as_int().is_some() && *want == Ty::Bool {
            d = d.with_fix("compare explicitly", e.span.end_point(), " != 0");
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

    // ----- expressions -------------------------------------------------------

    fn expr(&mut self, body: &mut Body, e: &Expr, expected: Option<&Ty>) -> Ty {
        self.expr_inner(body, e, expected, false)
    }

    fn record(&mut self, e: &Expr, ty: Ty) -> Ty {
        let idx = e.id.0 as usize;
        if self.program.expr_types.len() <= idx {
            self.program.expr_types.resize(idx + 1, Ty::Error);
        }
        self.program.expr_types[idx] = ty.clone();
        ty
    }

    fn expr_inner(
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
                            let d = if t.as_int().is_some() {
                                d.with_fix(
                                    "for a bitwise not, use `~`",
                                    Span::new(e.span.start as usize, e.span.start as usize + 1),
                                    "~",
                                )
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
                if matches!(op, BinOp::And | BinOp::Or) {
                    for side in [lhs, rhs] {
                        let t = self.expr(body, side, Some(&Ty::Bool));
                        if !t.is_error() && t != Ty::Bool {
                            self.report(
                                Diagnostic::new(
                                    Code::E0200,
                                    format!(
                                        "mismatched types: `{}` needs bool operands, found `{t}`",
                                        op.symbol()
                                    ),
                                    side.span,
                                    "expected `bool`",
                                )
                                .with_secondary(*op_span, "logical operator"),
                            );
                        }
                    }
                    return Ty::Bool;
                }
                if op.is_comparison() {
                    let (lt, rt) = self.operand_pair(body, lhs, rhs, None);
                    let t = self.binary_result(*op, *op_span, e, &lt, &rt, lhs, rhs);
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
                match lhs_ty {
                    Some(lt) => self.binary_types(body, *op, *op_span, Some(e), lt, rhs, false),
                    None => {
                        let (lt, rt) = self.operand_pair(body, lhs, rhs, expected);
                        self.binary_result(*op, *op_span, e, &lt, &rt, lhs, rhs)
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
                        d = d.with_help("to test an integer, compare it: `x != 0`");
                    }
                    self.report(d);
                    return Ty::Error;
                }
                to
            }
            ExprKind::Call(callee, args) => self.call(body, e, callee, args),
            ExprKind::Index(base, index) => {
                let bt = self.expr_inner(body, base, None, is_place);
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
                        *elem
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
                        let def = &self.program.structs[id.0 as usize];
                        if let Some(f) = def.fields.iter().find(|f| f.name == field.name) {
                            return f.ty.clone();
                        }
                        let names: Vec<String> =
                            def.fields.iter().map(|f| f.name.clone()).collect();
                        let mut d = Diagnostic::new(
                            Code::E0105,
                            format!("struct `{name}` has no field `{}`", field.name),
                            field.span,
                            "unknown field",
                        );
                        if let Some(s) =
                            suggest::closest(&field.name, names.iter().map(String::as_str))
                        {
                            d = d.with_fix(format!("did you mean `{s}`?"), field.span, s);
                        } else if !names.is_empty() {
                            d = d.with_note(format!("its fields are: {}", names.join(", ")));
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
                for x in elems {
                    let t = self.expr(body, x, elem_ty.as_ref());
                    match &elem_ty {
                        Some(want) => self.expect_type(x, &t, want),
                        None => {
                            if t == Ty::Unit {
                                self.report_unit_value(x);
                            }
                            elem_ty = Some(t)
                        }
                    }
                }
                let elem_ty = elem_ty.unwrap_or(Ty::Error);
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
                Ty::Array(Box::new(elem_ty), elems.len() as u64)
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
                self.enclosing_locals =
                    body.visible_names().into_iter().map(String::from).collect();
                let n = self.array_len(count);
                match (n, want_elem.unwrap_or(t)) {
                    (Some(n), elem) if !elem.is_error() => {
                        let ty = Ty::Array(Box::new(elem), n);
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

    /// Checks two operands that must have the same type. A literal operand
    /// takes the other operand's type, so the typed side is checked first.
    fn operand_pair(
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
    fn binary_types(
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
    fn binary_result(
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
    fn check_constant_comparison(&mut self, op: BinOp, e: &Expr, lhs: &Expr, rhs: &Expr, lt: &Ty) {
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

    fn same_int_pair(
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

    fn name(&mut self, body: &mut Body, e: &Expr, name: &str, is_place: bool) -> Ty {
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
            self.program.resolutions.insert(e.id, Res::Local(id));
            return body.locals[id as usize].ty.clone();
        }
        let Some(g) = self.globals.get_mut(name) else {
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
            g.used = true;
        }
        match kind {
            GlobalKind::Const(i) => {
                self.program.resolutions.insert(e.id, Res::Const(i as u32));
                if self.const_state[i] == State::Todo {
                    // Its type is needed now; its value is computed lazily.
                    self.eval_const(i);
                }
                self.program.consts[i].ty.clone()
            }
            GlobalKind::Static(i) => {
                self.program.resolutions.insert(e.id, Res::Static(i as u32));
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
                let t = &self.static_items[i].ty;
                // Statics are checked before bodies; their type is final.
                if self.program.statics[i].ty.is_error() && !matches!(t.kind, TypeKind::Error) {
                    return Ty::Error;
                }
                self.program.statics[i].ty.clone()
            }
            GlobalKind::Poisoned => Ty::Error,
            GlobalKind::Fn(i) | GlobalKind::Import(i) => {
                let res = if matches!(kind, GlobalKind::Fn(_)) {
                    Res::Fn(i as u32)
                } else {
                    Res::Import(i as u32)
                };
                self.program.resolutions.insert(e.id, res);
                if is_place {
                    // `f = ...`: the assignment check reports it (E0302).
                    return Ty::Error;
                }
                self.report(
                    Diagnostic::new(
                        Code::E0109,
                        format!("function `{name}` used as a value"),
                        e.span,
                        "functions can only be called",
                    )
                    .with_fix(
                        "to call it, add parentheses",
                        e.span.end_point(),
                        "()",
                    ),
                );
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

    fn report_unknown_name(&mut self, body: &Body, span: Span, name: &str, calling: bool) {
        let mut d = Diagnostic::new(
            Code::E0100,
            format!("cannot find `{name}` in this scope"),
            span,
            "not found",
        );
        let mut candidates: Vec<String> = if body.const_context {
            Vec::new()
        } else {
            body.visible_names().into_iter().map(String::from).collect()
        };
        for (n, g) in &self.globals {
            let callable = matches!(g.kind, GlobalKind::Fn(_) | GlobalKind::Import(_));
            if callable == calling && !matches!(g.kind, GlobalKind::Struct(_)) {
                candidates.push(n.clone());
            }
        }
        candidates.sort();
        if let Some(import) = self.imports.find_anywhere(name).next() {
            d = d.with_help(format!(
                "`{name}` is a kernel import: add `use {}::{name};` at the top of the file",
                import.module
            ));
        } else if let Some(s) = suggest::closest(name, candidates.iter().map(String::as_str)) {
            d = d.with_fix(format!("did you mean `{s}`?"), span, s);
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
        self.report(d);
    }

    fn call(&mut self, body: &mut Body, e: &Expr, callee: &Expr, args: &[Expr]) -> Ty {
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
        let (params, ret, res, fn_name) = match self.globals.get_mut(name.as_str()) {
            None => {
                self.report_unknown_name(body, callee.span, name, true);
                self.unknown_call_args(body, args);
                return Ty::Error;
            }
            Some(g) => {
                let kind = g.kind;
                if !matches!(kind, GlobalKind::Fn(i) if body.func == Some(i)) {
                    g.used = true;
                }
                match kind {
                    GlobalKind::Fn(i) => {
                        let f = &self.program.functions[i];
                        (
                            f.params.clone(),
                            f.ret.clone(),
                            Res::Fn(i as u32),
                            f.name.clone(),
                        )
                    }
                    GlobalKind::Import(i) => {
                        let f = &self.program.imports[i];
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
                        self.report(Diagnostic::new(
                            Code::E0108,
                            format!("`{name}` is a {}, not a function", other.describe()),
                            callee.span,
                            "not callable",
                        ));
                        return Ty::Error;
                    }
                }
            }
        };
        self.program.resolutions.insert(callee.id, res);
        self.record(callee, Ty::Error);
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
                Res::Fn(i) => d.with_secondary(
                    self.program.functions[i as usize].span,
                    "function defined here",
                ),
                Res::Import(i) => d.with_note(format!(
                    "the import is declared as `{}`",
                    self.program.imports[i as usize].display_signature()
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
    fn unknown_call_args(&mut self, body: &mut Body, args: &[Expr]) {
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
        let def = self.program.structs[id.0 as usize].clone();
        let mut seen: Vec<&Ident> = Vec::new();
        let mut ok = true;
        for init in inits {
            if let Some(prev) = seen.iter().find(|p| p.name == init.name.name) {
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
            seen.push(&init.name);
            match def.fields.iter().find(|f| f.name == init.name.name) {
                Some(f) => {
                    let got = self.expr(body, &init.value, Some(&f.ty));
                    self.expect_type(&init.value, &got, &f.ty);
                }
                None => {
                    let mut d = Diagnostic::new(
                        Code::E0105,
                        format!("struct `{sname}` has no field `{}`", init.name.name),
                        init.name.span,
                        "unknown field",
                    );
                    if let Some(s) = suggest::closest(
                        &init.name.name,
                        def.fields.iter().map(|f| f.name.as_str()),
                    ) {
                        d = d.with_fix(format!("did you mean `{s}`?"), init.name.span, s);
                    }
                    self.report(d);
                    self.expr(body, &init.value, None);
                    ok = false;
                }
            }
        }
        let missing: Vec<&str> = def
            .fields
            .iter()
            .filter(|f| !inits.iter().any(|i| i.name.name == f.name))
            .map(|f| f.name.as_str())
            .collect();
        if !missing.is_empty() && ok {
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.report(
                Diagnostic::new(
                    Code::E0107,
                    format!(
                        "missing field{} {list} in `{sname}`",
                        if missing.len() == 1 { "" } else { "s" }
                    ),
                    name.span,
                    "every field must be given a value",
                )
                .with_secondary(def.span, "struct defined here"),
            );
        }
        ty
    }

    // ----- whole-program rules ----------------------------------------------

    fn check_call_graph(&mut self) {
        let n = self.program.functions.len();
        // Iterative DFS with colours; a grey target closes a cycle.
        let mut colour = vec![0u8; n];
        let mut in_cycle = vec![false; n];
        let mut reported: Vec<Vec<usize>> = Vec::new();
        for root in 0..n {
            if colour[root] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            colour[root] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let callees = &self.program.functions[node].callees;
                if *next < callees.len() {
                    let (callee, _) = callees[*next];
                    *next += 1;
                    match colour[callee] {
                        0 => {
                            colour[callee] = 1;
                            stack.push((callee, 0));
                        }
                        1 => {
                            let start = stack.iter().position(|(f, _)| *f == callee).unwrap_or(0);
                            let cycle: Vec<usize> =
                                stack[start..].iter().map(|(f, _)| *f).collect();
                            for &f in &cycle {
                                in_cycle[f] = true;
                            }
                            let mut key = cycle.clone();
                            key.sort_unstable();
                            if !reported.contains(&key) {
                                reported.push(key);
                                self.report_cycle(&cycle);
                            }
                        }
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                    stack.pop();
                }
            }
        }
        // Stack depth in reverse topological order (memoised DFS).
        let mut depth: Vec<Option<(u64, Option<usize>)>> = vec![None; n];
        for f in 0..n {
            self.stack_depth(f, &in_cycle, &mut depth);
        }
        let mut called = vec![false; n];
        for f in &self.program.functions {
            for (c, _) in &f.callees {
                called[*c] = true;
            }
        }
        for f in 0..n {
            let (d, _) = depth[f].unwrap_or((0, None));
            self.program.functions[f].stack_bytes = d;
            if d > limits::STACK_BYTES && !called[f] && !in_cycle[f] {
                let mut chain = Vec::new();
                let mut cur = Some(f);
                while let Some(c) = cur {
                    let def = &self.program.functions[c];
                    chain.push(format!("`{}` ({} bytes)", def.name, def.frame_bytes));
                    cur = depth[c].and_then(|(_, next)| next);
                }
                let def = &self.program.functions[f];
                self.diags.push(
                    Diagnostic::new(
                        Code::E0505,
                        format!("`{}` may use {d} bytes of stack", def.name),
                        def.span,
                        format!("the limit is {} bytes", limits::STACK_BYTES),
                    )
                    .with_note(format!("deepest call chain: {}", chain.join(" -> ")))
                    .with_help("move large arrays into statics, or make them smaller"),
                );
            }
        }
    }

    fn stack_depth(
        &self,
        f: usize,
        in_cycle: &[bool],
        memo: &mut Vec<Option<(u64, Option<usize>)>>,
    ) -> u64 {
        if let Some((d, _)) = memo[f] {
            return d;
        }
        if in_cycle[f] {
            memo[f] = Some((self.program.functions[f].frame_bytes, None));
            return self.program.functions[f].frame_bytes;
        }
        // Placeholder guards against cycles the colouring missed.
        memo[f] = Some((self.program.functions[f].frame_bytes, None));
        let mut deepest = (0u64, None);
        for &(c, _) in &self.program.functions[f].callees {
            let d = self.stack_depth(c, in_cycle, memo);
            if d > deepest.0 {
                deepest = (d, Some(c));
            }
        }
        let total = self.program.functions[f]
            .frame_bytes
            .saturating_add(deepest.0);
        memo[f] = Some((total, deepest.1));
        total
    }

    fn report_cycle(&mut self, cycle: &[usize]) {
        let names: Vec<String> = cycle
            .iter()
            .chain(cycle.first())
            .map(|&f| format!("`{}`", self.program.functions[f].name))
            .collect();
        // The call that closes the cycle is reported at its call site.
        let first = cycle[0];
        let mut edges = Vec::new();
        for (k, &f) in cycle.iter().enumerate() {
            let target = cycle[(k + 1) % cycle.len()];
            if let Some((_, span)) = self.program.functions[f]
                .callees
                .iter()
                .find(|(c, _)| *c == target)
            {
                edges.push((*span, self.program.functions[target].name.clone()));
            }
        }
        let (primary, target) = edges
            .last()
            .cloned()
            .unwrap_or((self.program.functions[first].span, String::new()));
        let mut d = if cycle.len() == 1 {
            Diagnostic::new(
                Code::E0500,
                format!(
                    "function `{}` calls itself",
                    self.program.functions[first].name
                ),
                primary,
                "recursive call",
            )
        } else {
            Diagnostic::new(
                Code::E0500,
                format!("recursion: {}", names.join(" -> ")),
                primary,
                format!("this call to `{target}` closes the cycle"),
            )
        };
        for (span, name) in edges.iter().take(edges.len().saturating_sub(1)) {
            d = d.with_secondary(*span, format!("calls `{name}`"));
        }
        d = d
            .with_note(format!("call cycle: {}", names.join(" -> ")))
            .with_help("KPL forbids recursion so every plugin's stack use is bounded; rewrite it as a loop");
        self.report(d);
    }

    fn check_unused(&mut self) {
        let mut unused: Vec<(Span, GlobalKind, String)> = self
            .globals
            .iter()
            .filter(|(_, g)| !g.used)
            .map(|(n, g)| (g.span, g.kind, n.clone()))
            .collect();
        unused.sort_by_key(|(s, _, _)| *s);
        for (span, kind, name) in unused {
            match kind {
                GlobalKind::Fn(i) if self.program.functions[i].exported => {}
                GlobalKind::Poisoned => {}
                GlobalKind::Import(_) => self.report(
                    Diagnostic::new(
                        Code::W0004,
                        format!("import `{name}` is never used"),
                        span,
                        "unused import",
                    )
                    .with_help("remove it from the `use` list"),
                ),
                _ => {
                    if name.starts_with('_') {
                        continue;
                    }
                    self.report(
                        Diagnostic::new(
                            Code::W0003,
                            format!("{} `{name}` is never used", kind.describe()),
                            span,
                            "unused",
                        )
                        .with_help("remove it, or `export` it if the host should call it"),
                    )
                }
            }
        }
        if !self.program.functions.iter().any(|f| f.exported) {
            let span = self.file.items.first().map_or(Span::default(), |i| {
                Span::new(i.span.start as usize, i.span.start as usize)
            });
            self.report(
                Diagnostic::new(
                    Code::W0007,
                    "the plugin exports no functions",
                    span,
                    "nothing here can be called by the host",
                )
                .with_help("mark entry points with `export fn`"),
            );
        }
    }
}

const BUILTIN_TYPES: [&str; 9] = ["bool", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];

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

/// The source-ish text of a simple expression, for messages.
fn base_text(e: &Expr) -> String {
    match &e.unparen().kind {
        ExprKind::Name(n) => n.clone(),
        ExprKind::Field(b, f) => format!("{}.{}", base_text(b), f.name),
        ExprKind::Index(b, _) => format!("{}[..]", base_text(b)),
        _ => "this".to_string(),
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
