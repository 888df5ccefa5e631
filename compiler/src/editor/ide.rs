//! Editor features over the database, in plain data (byte offsets and
//! strings): hover, go to definition, document symbols and completion.
//! `lsp.rs` turns them into protocol messages; nothing here knows about LSP.
//!
//! Every function takes a byte offset that may be anywhere (past the end,
//! inside a character, in a broken file) and answers `None` or an empty list
//! rather than failing.

use std::collections::HashMap;

use kpl_lang::ast::{self, ExprKind, ItemKind, StmtKind, TypeKind};
use kpl_lang::check::{AtomicOp, Decls, FnChecked, LocalKind, Res};
use kpl_lang::imports::ImportFn;
use kpl_lang::types::Ty;
use kpl_lang::{Span, lexer};
use salsa::Database;

use crate::db::{self, Item, Parsed, SourceFile};

/// A hover: the range it applies to and Markdown text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoverInfo {
    pub span: Span,
    pub markdown: String,
}

/// Where a definition is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A span of the same file.
    Here(Span),
    /// A span of an import declaration file (`ImportModule::path`).
    ImportFile { path: String, span: Span },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Function,
    Struct,
    Field,
    Constant,
    Static,
    Import,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    pub detail: String,
    /// The whole item.
    pub span: Span,
    /// The name.
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    Local,
    Function,
    Struct,
    Field,
    Constant,
    Static,
    Import,
    Keyword,
    Type,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: String,
    pub doc: Option<String>,
}

/// What is under the cursor.
#[derive(Clone, Debug)]
enum Occ {
    /// An expression (by local id) of a function body or signature.
    Expr(ast::ExprId, ExprShape),
    /// The field name in `base.field`.
    FieldAccess(ast::ExprId, String),
    /// A `let`/`var`/`for` name or a parameter, by its virtual span.
    Binding(Span),
    /// The name of an item.
    ItemName(String),
    /// A field declared in a struct.
    FieldDecl(String, String),
    /// `.field = …` in a struct literal of the given struct.
    FieldInit(String, String),
    /// A type name.
    TypeName(String),
    /// A name in `use module::{…}`.
    UseName(String, String),
}

#[derive(Clone, Debug)]
enum ExprShape {
    Name(String),
    Other,
}

/// The item under `offset` in virtual coordinates, reassembled (a function's
/// body put back), with its index.
fn item_at<'db>(
    db: &'db dyn Database,
    file: SourceFile,
    offset: u32,
) -> Option<(usize, Item<'db>, ast::Item)> {
    let parsed = db::parse(db, file);
    let k = parsed.item_at(offset)?;
    let item = *db::items(db, file).get(k)?;
    let mut full = (**item.decl(db)).clone();
    if let (ItemKind::Fn(f), Some(body)) = (&mut full.kind, item.body(db)) {
        f.body = (**body).clone();
    }
    Some((k, item, full))
}

/// Every occurrence in `item` with its virtual span.
fn occurrences(item: &ast::Item) -> Vec<(Span, Occ)> {
    let mut out = Vec::new();
    match &item.kind {
        ItemKind::Use(u) => {
            for n in &u.names {
                out.push((n.span, Occ::UseName(u.module.name.clone(), n.name.clone())));
            }
        }
        ItemKind::Const(g) | ItemKind::Static(g) => {
            out.push((g.name.span, Occ::ItemName(g.name.name.clone())));
            type_occ(&g.ty, &mut out);
            expr_occ(&g.value, &mut out);
        }
        ItemKind::Struct(s) => {
            out.push((s.name.span, Occ::ItemName(s.name.name.clone())));
            for f in &s.fields {
                out.push((
                    f.name.span,
                    Occ::FieldDecl(s.name.name.clone(), f.name.name.clone()),
                ));
                type_occ(&f.ty, &mut out);
            }
        }
        ItemKind::Fn(f) => {
            out.push((f.sig.name.span, Occ::ItemName(f.sig.name.name.clone())));
            for p in &f.sig.params {
                out.push((p.name.span, Occ::Binding(p.name.span)));
                type_occ(&p.ty, &mut out);
            }
            if let Some(t) = &f.sig.ret {
                type_occ(t, &mut out);
            }
            block_occ(&f.body, &mut out);
        }
        ItemKind::ExternFn(sig) => {
            out.push((sig.name.span, Occ::ItemName(sig.name.name.clone())));
        }
        ItemKind::Error(_) => {}
    }
    out
}

fn type_occ(t: &ast::Type, out: &mut Vec<(Span, Occ)>) {
    match &t.kind {
        TypeKind::Named(n) => out.push((t.span, Occ::TypeName(n.clone()))),
        TypeKind::Array(elem, len) => {
            type_occ(elem, out);
            expr_occ(len, out);
        }
        TypeKind::Slice { elem, .. } => type_occ(elem, out),
        TypeKind::Error => {}
    }
}

fn block_occ(b: &ast::Block, out: &mut Vec<(Span, Occ)>) {
    for s in &b.stmts {
        stmt_occ(s, out);
    }
}

fn stmt_occ(s: &ast::Stmt, out: &mut Vec<(Span, Occ)>) {
    match &s.kind {
        StmtKind::Let { name, ty, init, .. } => {
            out.push((name.span, Occ::Binding(name.span)));
            if let Some(t) = ty {
                type_occ(t, out);
            }
            expr_occ(init, out);
        }
        StmtKind::Assign { target, value, .. } => {
            expr_occ(target, out);
            expr_occ(value, out);
        }
        StmtKind::If { cond, then, els } => {
            expr_occ(cond, out);
            block_occ(then, out);
            if let Some(e) = els {
                stmt_occ(e, out);
            }
        }
        StmtKind::While { cond, body } => {
            expr_occ(cond, out);
            block_occ(body, out);
        }
        StmtKind::For { var, iter, body } => {
            out.push((var.span, Occ::Binding(var.span)));
            match iter {
                ast::ForIter::Range(a, b) => {
                    expr_occ(a, out);
                    expr_occ(b, out);
                }
                ast::ForIter::Each(e) => expr_occ(e, out),
            }
            block_occ(body, out);
        }
        StmtKind::Return(Some(e)) | StmtKind::Expr(e) => expr_occ(e, out),
        StmtKind::Block(b) => block_occ(b, out),
        _ => {}
    }
}

fn expr_occ(e: &ast::Expr, out: &mut Vec<(Span, Occ)>) {
    let shape = match &e.kind {
        ExprKind::Name(n) => ExprShape::Name(n.clone()),
        _ => ExprShape::Other,
    };
    out.push((e.span, Occ::Expr(e.id, shape)));
    match &e.kind {
        ExprKind::Field(base, name) => {
            out.push((name.span, Occ::FieldAccess(base.id, name.name.clone())));
            expr_occ(base, out);
        }
        ExprKind::StructLit(name, inits) => {
            out.push((name.span, Occ::TypeName(name.name.clone())));
            for i in inits {
                out.push((
                    i.name.span,
                    Occ::FieldInit(name.name.clone(), i.name.name.clone()),
                ));
                expr_occ(&i.value, out);
            }
        }
        ExprKind::Unary(_, x) | ExprKind::Paren(x) => expr_occ(x, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            expr_occ(lhs, out);
            expr_occ(rhs, out);
        }
        ExprKind::Cast(x, t) => {
            expr_occ(x, out);
            type_occ(t, out);
        }
        ExprKind::Call(c, args) => {
            expr_occ(c, out);
            for a in args {
                expr_occ(a, out);
            }
        }
        ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => {
            expr_occ(a, out);
            expr_occ(b, out);
        }
        ExprKind::ArrayLit(elems) => {
            for x in elems {
                expr_occ(x, out);
            }
        }
        _ => {}
    }
}

/// The innermost occurrence whose text span contains `offset` (touching
/// its end counts, so a cursor right after a name finds it).
fn occurrence_at(parsed: &Parsed, item: &ast::Item, offset: u32) -> Option<(Span, Span, Occ)> {
    occurrences(item)
        .into_iter()
        .map(|(v, o)| (parsed.to_text(v), v, o))
        .filter(|(t, _, _)| t.start <= offset && offset <= t.end && t.end > t.start)
        .min_by_key(|(t, _, _)| t.end - t.start)
}

/// A global name as the declarations see it.
enum Global<'a> {
    Fn(usize),
    Struct(usize),
    Const(usize),
    Static(usize),
    Import(&'a ImportFn),
}

fn global<'a>(decls: &'a Decls, name: &str) -> Option<Global<'a>> {
    let p = &decls.program;
    if let Some(i) = p.functions.iter().position(|f| f.name == name) {
        return Some(Global::Fn(i));
    }
    if let Some(i) = p.structs.iter().position(|s| s.name == name) {
        return Some(Global::Struct(i));
    }
    if let Some(i) = p.consts.iter().position(|c| c.name == name) {
        return Some(Global::Const(i));
    }
    if let Some(i) = p.statics.iter().position(|c| c.name == name) {
        return Some(Global::Static(i));
    }
    p.imports
        .iter()
        .find(|f| f.name == name)
        .map(Global::Import)
}

fn fn_signature(decls: &Decls, i: usize) -> String {
    let Some(f) = decls.program.functions.get(i) else {
        return String::new();
    };
    let params: Vec<String> = f
        .locals
        .iter()
        .filter(|l| l.kind == LocalKind::Param)
        .map(|l| format!("{}: {}", l.name, l.ty))
        .collect();
    // Declarations carry parameter types; names are in the locals only after
    // the body is checked, so fall back to the types alone.
    let params = if params.len() == f.params.len() {
        params
    } else {
        f.params.iter().map(|t| t.to_string()).collect()
    };
    let export = if f.exported { "export " } else { "" };
    match &f.ret {
        Some(r) => format!("{export}fn {}({}) -> {r}", f.name, params.join(", ")),
        None => format!("{export}fn {}({})", f.name, params.join(", ")),
    }
}

/// `fn name(p: T, …)` with parameter names from the syntax.
fn fn_signature_from_syntax(tree: &ast::File, decls: &Decls, i: usize) -> String {
    let Some(f) = decls.program.functions.get(i) else {
        return String::new();
    };
    let Some(ItemKind::Fn(item)) = tree.items.get(f.item).map(|it| &it.kind) else {
        return fn_signature(decls, i);
    };
    let params: Vec<String> = item
        .sig
        .params
        .iter()
        .zip(&f.params)
        .map(|(p, t)| format!("{}: {t}", p.name.name))
        .collect();
    let export = if f.exported { "export " } else { "" };
    match &f.ret {
        Some(r) => format!("{export}fn {}({}) -> {r}", f.name, params.join(", ")),
        None => format!("{export}fn {}({})", f.name, params.join(", ")),
    }
}

/// The `///` doc of the item declaring `name` (of the given kind).
fn item_doc(tree: &ast::File, kind: &str, name: &str) -> Option<String> {
    tree.items.iter().find_map(|it| {
        let (k, n) = item_kind_and_name(it)?;
        (k == kind && n == name).then(|| it.doc.clone()).flatten()
    })
}

/// `("fn" | "struct" | "const" | "static", name)` of an item that has a doc
/// comment place of its own.
fn item_kind_and_name(it: &ast::Item) -> Option<(&'static str, &str)> {
    match &it.kind {
        ItemKind::Fn(f) => Some(("fn", &f.sig.name.name)),
        ItemKind::Struct(s) => Some(("struct", &s.name.name)),
        ItemKind::Const(g) => Some(("const", &g.name.name)),
        ItemKind::Static(g) => Some(("static", &g.name.name)),
        _ => None,
    }
}

/// [`item_doc`] of every item at once, for callers that look up every
/// item: one look-up each instead of a walk over the items each, which
/// made completion in a file of 20,000 functions quadratic (1.3 s, and
/// 6.5 s when they all had one name).
fn item_docs(tree: &ast::File) -> HashMap<(&'static str, &str), &str> {
    let mut docs = HashMap::new();
    for it in &tree.items {
        if let (Some(key), Some(doc)) = (item_kind_and_name(it), &it.doc) {
            docs.entry(key).or_insert(doc.as_str());
        }
    }
    docs
}

fn field_doc(tree: &ast::File, strukt: &str, field: &str) -> Option<String> {
    tree.items.iter().find_map(|it| match &it.kind {
        ItemKind::Struct(s) if s.name.name == strukt => s
            .fields
            .iter()
            .find(|f| f.name.name == field)
            .and_then(|f| f.doc.clone()),
        _ => None,
    })
}

fn markdown(code: &str, doc: Option<&str>) -> String {
    let mut s = format!("```kpl\n{code}\n```");
    if let Some(d) = doc.map(str::trim).filter(|d| !d.is_empty()) {
        s.push_str("\n\n---\n\n");
        s.push_str(d);
    }
    s
}

fn global_hover(tree: &ast::File, decls: &Decls, name: &str) -> Option<String> {
    Some(match global(decls, name)? {
        Global::Fn(i) => markdown(
            &fn_signature_from_syntax(tree, decls, i),
            item_doc(tree, "fn", name).as_deref(),
        ),
        Global::Struct(i) => {
            let s = &decls.program.structs[i];
            let fields: Vec<String> = s
                .fields()
                .iter()
                .map(|f| format!("    {}: {},", f.name, f.ty))
                .collect();
            markdown(
                &format!(
                    "struct {} {{\n{}\n}}\n// size {}, align {}",
                    s.name,
                    fields.join("\n"),
                    s.layout.size,
                    s.layout.align
                ),
                item_doc(tree, "struct", name).as_deref(),
            )
        }
        Global::Const(i) => {
            let c = &decls.program.consts[i];
            markdown(
                &format!("const {}: {}", c.name, c.ty),
                item_doc(tree, "const", name).as_deref(),
            )
        }
        Global::Static(i) => {
            let c = &decls.program.statics[i];
            markdown(
                &format!("static {}: {}", c.name, c.ty),
                item_doc(tree, "static", name).as_deref(),
            )
        }
        Global::Import(f) => import_hover(f),
    })
}

fn import_hover(f: &ImportFn) -> String {
    let mut s = format!(
        "```kpl\n{}\n```\n\n`{}::{}`",
        f.display_signature(),
        f.module,
        f.name
    );
    if !f.doc.trim().is_empty() {
        s.push_str("\n\n---\n\n");
        s.push_str(f.doc.trim());
    }
    s
}

fn local_text(l: &kpl_lang::check::LocalDef) -> String {
    let kw = match l.kind {
        LocalKind::Param => "param",
        LocalKind::Let => "let",
        LocalKind::Var => "var",
        LocalKind::ForVar => "for",
    };
    format!("{kw} {}: {}", l.name, l.ty)
}

fn checked<'a>(db: &'a dyn Database, item: Item<'a>) -> Option<&'a FnChecked> {
    db::check_fn(db, item).as_deref()
}

fn type_of(c: Option<&FnChecked>, id: ast::ExprId) -> Option<&Ty> {
    c?.expr_types.get(id.0 as usize).filter(|t| !t.is_error())
}

fn struct_field<'a>(
    decls: &'a Decls,
    ty: &Ty,
    field: &str,
) -> Option<&'a kpl_lang::check::FieldDef> {
    let Ty::Struct(id, _) = ty else { return None };
    decls
        .program
        .structs
        .get(id.0 as usize)?
        .fields()
        .iter()
        .find(|f| f.name == field)
}

fn struct_named<'a>(decls: &'a Decls, name: &str) -> Option<&'a kpl_lang::check::StructDef> {
    decls.program.structs.iter().find(|s| s.name == name)
}

/// Hover at byte `offset`: the type of the expression or name under the
/// cursor, with the doc comment of what it refers to.
pub fn hover(db: &dyn Database, file: SourceFile, offset: u32) -> Option<HoverInfo> {
    let parsed = db::parse(db, file);
    let (_, item, full) = item_at(db, file, offset)?;
    let (span, _, occ) = occurrence_at(parsed, &full, offset)?;
    let decls = &**db::decls(db, file);
    let tree = &**db::text_ast(db, file);
    let c = checked(db, item);
    let markdown = match occ {
        Occ::Expr(id, ExprShape::Name(name)) => {
            match c.and_then(|c| c.resolutions.get(&id).map(|r| (c, *r))) {
                Some((c, Res::Local(i))) => {
                    markdown(&local_text(c.def.as_ref()?.locals.get(i as usize)?), None)
                }
                _ => global_hover(tree, decls, &name).or_else(|| atomic_hover(&name))?,
            }
        }
        Occ::Expr(id, ExprShape::Other) => markdown(&type_of(c, id)?.to_string(), None),
        Occ::FieldAccess(base, field) => {
            let ty = type_of(c, base)?;
            let f = struct_field(decls, ty, &field);
            match (ty, f) {
                (Ty::Struct(_, s), Some(f)) => markdown(
                    &format!("{s}.{}: {}", f.name, f.ty),
                    field_doc(tree, s, &field).as_deref(),
                ),
                (Ty::Array(..) | Ty::Slice { .. }, _) if field == "len" => {
                    markdown("len: u32", Some("The number of elements."))
                }
                _ => return None,
            }
        }
        Occ::Binding(v) => {
            let c = c?;
            let def = c.def.as_ref()?;
            let l = def.locals.iter().find(|l| l.span == v)?;
            markdown(&local_text(l), None)
        }
        Occ::ItemName(name) | Occ::TypeName(name) => {
            global_hover(tree, decls, &name).or_else(|| builtin_type_hover(&name))?
        }
        Occ::FieldDecl(s, f) | Occ::FieldInit(s, f) => {
            let def = struct_named(decls, &s)?;
            let (_, fd) = def.field(&f)?;
            markdown(
                &format!("{s}.{}: {} // offset {}", fd.name, fd.ty, fd.offset),
                field_doc(tree, &s, &f).as_deref(),
            )
        }
        Occ::UseName(module, name) => {
            let table = file.imports(db);
            import_hover(table.module(&module)?.function(&name)?)
        }
    };
    Some(HoverInfo { span, markdown })
}

/// What an atomic built-in does, besides the one line of the reference.
const ATOMIC_NOTE: &str = "One indivisible, sequentially consistent operation on `place`, \
an integer inside a static (a static, an element of a static array, a field of a static \
struct); `T` is its type and the type of the other arguments.";

fn atomic_hover(name: &str) -> Option<String> {
    let op = AtomicOp::from_name(name)?;
    Some(markdown(
        op.reference_signature(),
        Some(&format!("`{}`\n\n{ATOMIC_NOTE}", op.doc())),
    ))
}

fn builtin_type_hover(name: &str) -> Option<String> {
    let doc = match name {
        "bool" => "`true` or `false`, one byte.",
        "u8" | "u16" | "u32" | "u64" => "An unsigned integer of the given width.",
        "i8" | "i16" | "i32" | "i64" => "A two's-complement integer of the given width.",
        _ => return None,
    };
    Some(markdown(name, Some(doc)))
}

/// Go to definition at byte `offset`.
pub fn definition(db: &dyn Database, file: SourceFile, offset: u32) -> Option<Target> {
    let parsed = db::parse(db, file);
    let (_, item, full) = item_at(db, file, offset)?;
    let (_, _, occ) = occurrence_at(parsed, &full, offset)?;
    let decls = &**db::decls(db, file);
    let c = checked(db, item);
    let here = |v: Span| Some(Target::Here(parsed.to_text(v)));
    let global_def = |name: &str| -> Option<Target> {
        match global(decls, name)? {
            Global::Fn(i) => here(decls.program.functions[i].span),
            Global::Struct(i) => here(decls.program.structs[i].span),
            Global::Const(i) => here(decls.program.consts[i].span),
            Global::Static(i) => here(decls.program.statics[i].span),
            // A use of an import goes to the `use` that brings it into
            // scope; from there, to its declaration in the `.kpli` file.
            Global::Import(f) => use_site(db, file, &f.name).map(Target::Here),
        }
    };
    match occ {
        Occ::Expr(id, ExprShape::Name(name)) => {
            match c.and_then(|c| c.resolutions.get(&id).map(|r| (c, *r))) {
                Some((c, Res::Local(i))) => here(c.def.as_ref()?.locals.get(i as usize)?.span),
                _ => global_def(&name),
            }
        }
        Occ::Expr(_, ExprShape::Other) => None,
        Occ::FieldAccess(base, field) => here(struct_field(decls, type_of(c, base)?, &field)?.span),
        Occ::Binding(v) => here(v),
        Occ::ItemName(name) | Occ::TypeName(name) => global_def(&name),
        Occ::FieldDecl(s, f) | Occ::FieldInit(s, f) => here(
            struct_named(decls, &s)?
                .fields()
                .iter()
                .find(|x| x.name == f)?
                .span,
        ),
        Occ::UseName(module, name) => {
            let table = file.imports(db);
            let f = table.module(&module)?.function(&name)?;
            Some(Target::ImportFile {
                path: table.module(&module)?.path.clone(),
                span: f.span,
            })
        }
    }
}

/// The `use` site that brings import `name` into scope.
pub fn use_site(db: &dyn Database, file: SourceFile, name: &str) -> Option<Span> {
    db::text_ast(db, file)
        .items
        .iter()
        .find_map(|it| match &it.kind {
            ItemKind::Use(u) => u.names.iter().find(|n| n.name == name).map(|n| n.span),
            _ => None,
        })
}

/// The outline of the file.
pub fn symbols(db: &dyn Database, file: SourceFile) -> Vec<Symbol> {
    let parsed = db::parse(db, file);
    let decls = &**db::decls(db, file);
    let tree = &**db::text_ast(db, file);
    let mut out = Vec::new();
    let mut fn_index = 0;
    for (it, place) in tree.items.iter().zip(&parsed.placements) {
        let span = place.text;
        match &it.kind {
            ItemKind::Fn(f) => {
                out.push(Symbol {
                    name: f.sig.name.name.clone(),
                    kind: SymbolKind::Function,
                    detail: fn_signature_from_syntax(tree, decls, fn_index),
                    span,
                    name_span: f.sig.name.span,
                    children: Vec::new(),
                });
                fn_index += 1;
            }
            ItemKind::Struct(s) => out.push(Symbol {
                name: s.name.name.clone(),
                kind: SymbolKind::Struct,
                detail: String::new(),
                span,
                name_span: s.name.span,
                children: s
                    .fields
                    .iter()
                    .map(|f| Symbol {
                        name: f.name.name.clone(),
                        kind: SymbolKind::Field,
                        detail: type_text(&f.ty),
                        span: f.name.span.to(f.ty.span),
                        name_span: f.name.span,
                        children: Vec::new(),
                    })
                    .collect(),
            }),
            ItemKind::Const(g) | ItemKind::Static(g) => out.push(Symbol {
                name: g.name.name.clone(),
                kind: if matches!(it.kind, ItemKind::Const(_)) {
                    SymbolKind::Constant
                } else {
                    SymbolKind::Static
                },
                detail: type_text(&g.ty),
                span,
                name_span: g.name.span,
                children: Vec::new(),
            }),
            ItemKind::Use(u) => {
                for n in &u.names {
                    out.push(Symbol {
                        name: n.name.clone(),
                        kind: SymbolKind::Import,
                        detail: format!("{}::{}", u.module.name, n.name),
                        span,
                        name_span: n.span,
                        children: Vec::new(),
                    })
                }
            }
            ItemKind::ExternFn(_) | ItemKind::Error(_) => {}
        }
    }
    out
}

fn type_text(t: &ast::Type) -> String {
    match &t.kind {
        TypeKind::Named(n) => n.clone(),
        TypeKind::Array(e, _) => format!("[{}; …]", type_text(e)),
        TypeKind::Slice { mutable, elem } => {
            format!(
                "[]{}{}",
                if *mutable { "mut " } else { "" },
                type_text(elem)
            )
        }
        TypeKind::Error => "?".to_string(),
    }
}

const BUILTIN_TYPES: [&str; 9] = ["bool", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Completion at byte `offset`: struct fields after `.`, an import module's
/// functions after `module::`, otherwise the locals in scope, the globals,
/// the atomic built-ins, keywords and built-in types.
pub fn complete(db: &dyn Database, file: SourceFile, offset: u32) -> Vec<Completion> {
    let text = file.text(db);
    let mut at = (offset as usize).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..at];
    // The word being typed.
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(before.len(), |(i, _)| i);
    let prefix = &before[..word_start];
    // `module::name` or inside `use module::{a, b, …}`.
    let in_use_list = prefix
        .trim_start()
        .strip_prefix("use ")
        .and_then(|r| r.split_once("::{"))
        .filter(|(_, list)| !list.contains('}'))
        .map(|(m, _)| m.trim());
    if let Some(module) = prefix.strip_suffix("::").or(in_use_list) {
        let m = trailing_ident(module);
        let table = file.imports(db);
        return match table.module(m) {
            Some(module) => module
                .functions
                .iter()
                .map(|f| Completion {
                    label: f.name.clone(),
                    kind: CompletionKind::Import,
                    detail: f.display_signature(),
                    doc: Some(f.doc.trim().to_string()).filter(|d| !d.is_empty()),
                })
                .collect(),
            None => Vec::new(),
        };
    }
    if let Some(chain) = prefix.strip_suffix('.') {
        return field_completions(db, file, line_start as u32 + word_start as u32, chain);
    }
    let mut out = local_completions(db, file, offset);
    let decls = &**db::decls(db, file);
    let tree = &**db::text_ast(db, file);
    let docs = item_docs(tree);
    let doc = |kind: &'static str, name: &str| docs.get(&(kind, name)).map(|d| d.to_string());
    let p = &decls.program;
    for (i, f) in p.functions.iter().enumerate() {
        out.push(Completion {
            label: f.name.clone(),
            kind: CompletionKind::Function,
            detail: fn_signature_from_syntax(tree, decls, i),
            doc: doc("fn", &f.name),
        });
    }
    for s in &p.structs {
        out.push(Completion {
            label: s.name.clone(),
            kind: CompletionKind::Struct,
            detail: format!("struct {}", s.name),
            doc: doc("struct", &s.name),
        });
    }
    for c in &p.consts {
        out.push(Completion {
            label: c.name.clone(),
            kind: CompletionKind::Constant,
            detail: format!("const {}: {}", c.name, c.ty),
            doc: doc("const", &c.name),
        });
    }
    for c in &p.statics {
        out.push(Completion {
            label: c.name.clone(),
            kind: CompletionKind::Static,
            detail: format!("static {}: {}", c.name, c.ty),
            doc: doc("static", &c.name),
        });
    }
    for f in &p.imports {
        out.push(Completion {
            label: f.name.clone(),
            kind: CompletionKind::Import,
            detail: f.display_signature(),
            doc: Some(f.doc.trim().to_string()).filter(|d| !d.is_empty()),
        });
    }
    for op in AtomicOp::ALL {
        out.push(Completion {
            label: op.name().to_string(),
            kind: CompletionKind::Function,
            detail: op.reference_signature().to_string(),
            doc: Some(format!("`{}`\n\n{ATOMIC_NOTE}", op.doc())),
        });
    }
    for t in BUILTIN_TYPES {
        out.push(Completion {
            label: t.to_string(),
            kind: CompletionKind::Type,
            detail: "built-in type".to_string(),
            doc: None,
        });
    }
    for k in lexer::KEYWORDS {
        out.push(Completion {
            label: k.to_string(),
            kind: CompletionKind::Keyword,
            detail: "keyword".to_string(),
            doc: None,
        });
    }
    out
}

fn trailing_ident(s: &str) -> &str {
    let start = s
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(s.len(), |(i, _)| i);
    &s[start..]
}

/// The locals of the function around `offset` that are in scope there:
/// parameters, and bindings declared earlier in an enclosing block.
fn local_completions(db: &dyn Database, file: SourceFile, offset: u32) -> Vec<Completion> {
    scope_locals(db, file, offset)
        .into_iter()
        .map(|l| Completion {
            label: l.name.clone(),
            kind: CompletionKind::Local,
            detail: local_text(&l),
            doc: None,
        })
        .collect()
}

fn scope_locals(
    db: &dyn Database,
    file: SourceFile,
    offset: u32,
) -> Vec<kpl_lang::check::LocalDef> {
    let parsed = db::parse(db, file);
    let Some((_, item, full)) = item_at(db, file, offset) else {
        return Vec::new();
    };
    let Some(def) = checked(db, item).and_then(|c| c.def.as_ref()) else {
        return Vec::new();
    };
    let ItemKind::Fn(f) = &full.kind else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    collect_blocks(&f.body, &mut blocks);
    let blocks: Vec<Span> = blocks.iter().map(|b| parsed.to_text(*b)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    // Later bindings shadow earlier ones: walk from the last.
    for l in def.locals.iter().rev() {
        let span = parsed.to_text(l.span);
        let visible = l.kind == LocalKind::Param
            || (span.end <= offset
                && blocks
                    .iter()
                    .filter(|b| b.contains(span))
                    .min_by_key(|b| b.end - b.start)
                    .is_some_and(|b| b.start <= offset && offset <= b.end));
        if visible && seen.insert(l.name.clone()) {
            out.push(l.clone());
        }
    }
    out.reverse();
    out
}

fn collect_blocks(b: &ast::Block, out: &mut Vec<Span>) {
    out.push(b.span);
    for s in &b.stmts {
        collect_stmt_blocks(s, out);
    }
}

fn collect_stmt_blocks(s: &ast::Stmt, out: &mut Vec<Span>) {
    match &s.kind {
        StmtKind::If { then, els, .. } => {
            collect_blocks(then, out);
            if let Some(e) = els {
                collect_stmt_blocks(e, out);
            }
        }
        StmtKind::While { body, .. } | StmtKind::For { body, .. } | StmtKind::Block(body) => {
            collect_blocks(body, out)
        }
        _ => {}
    }
}

/// Fields after `chain.` where `chain` is e.g. `p`, `s.inner` or `a[i].b`.
fn field_completions(
    db: &dyn Database,
    file: SourceFile,
    offset: u32,
    chain: &str,
) -> Vec<Completion> {
    let decls = &**db::decls(db, file);
    let tree = &**db::text_ast(db, file);
    let Some(ty) = chain_type(db, file, decls, offset, chain) else {
        return Vec::new();
    };
    match &ty {
        Ty::Struct(id, name) => decls
            .program
            .structs
            .get(id.0 as usize)
            .map(|s| {
                s.fields()
                    .iter()
                    .map(|f| Completion {
                        label: f.name.clone(),
                        kind: CompletionKind::Field,
                        detail: format!("{}: {}", f.name, f.ty),
                        doc: field_doc(tree, name, &f.name),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Ty::Array(..) | Ty::Slice { .. } => vec![Completion {
            label: "len".to_string(),
            kind: CompletionKind::Field,
            detail: "len: u32".to_string(),
            doc: Some("The number of elements.".to_string()),
        }],
        _ => Vec::new(),
    }
}

/// The type of a simple access chain written just before `offset`.
fn chain_type(
    db: &dyn Database,
    file: SourceFile,
    decls: &Decls,
    offset: u32,
    chain: &str,
) -> Option<Ty> {
    // Take the chain's trailing part made of names, dots and balanced [..].
    let bytes = chain.as_bytes();
    let mut i = bytes.len();
    let mut depth = 0i32;
    while i > 0 {
        let c = bytes[i - 1] as char;
        match c {
            ']' => depth += 1,
            '[' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '.' => {}
            _ if is_ident_char(c) => {}
            _ => break,
        }
        i -= 1;
    }
    let chain = &chain[i..];
    // Split into segments: name, then `.field` / `[..]` steps.
    let mut steps: Vec<&str> = Vec::new();
    let mut rest = chain;
    let head_len = rest.find(['.', '[']).unwrap_or(rest.len());
    let head = &rest[..head_len];
    rest = &rest[head_len..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.find(['.', '[']).unwrap_or(r.len());
            steps.push(&r[..n]);
            rest = &r[n..];
        } else if rest.starts_with('[') {
            let mut d = 0;
            let mut end = rest.len();
            for (j, ch) in rest.char_indices() {
                match ch {
                    '[' => d += 1,
                    ']' => {
                        d -= 1;
                        if d == 0 {
                            end = j + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            steps.push("[]");
            rest = &rest[end..];
        } else {
            return None;
        }
    }
    if head.is_empty() {
        return None;
    }
    let mut ty = scope_locals(db, file, offset)
        .into_iter()
        .find(|l| l.name == head)
        .map(|l| l.ty)
        .or_else(|| match global(decls, head)? {
            Global::Static(i) => Some(decls.program.statics[i].ty.clone()),
            Global::Const(i) => Some(decls.program.consts[i].ty.clone()),
            _ => None,
        })?;
    for s in steps {
        ty = match (s, &ty) {
            ("[]", Ty::Array(e, _)) => (**e).clone(),
            ("[]", Ty::Slice { elem, .. }) => Ty::Int(*elem),
            (f, t) => struct_field(decls, t, f)?.ty.clone(),
        };
    }
    Some(ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table completion uses finds the doc comment the walk of
    /// `item_doc` finds: the first item of that kind and name that has one,
    /// with names repeated and shared between kinds.
    #[test]
    fn item_docs_agree_with_item_doc() {
        let src = "fn g() {}\n/// second g\nfn g() {}\n/// third g\nfn g() {}\n\
                   /// the struct\nstruct g { a: u8 }\nconst h: u32 = 1;\n\
                   /// static h\nstatic h: u32 = 2;\n/// const k\nconst k: u32 = 3;\n";
        let (tree, _) = kpl_lang::parse_source(src);
        let docs = item_docs(&tree);
        for kind in ["fn", "struct", "const", "static"] {
            for name in ["g", "h", "k", "missing"] {
                assert_eq!(
                    docs.get(&(kind, name)).map(|d| d.to_string()),
                    item_doc(&tree, kind, name),
                    "{kind} {name}"
                );
            }
        }
        assert_eq!(
            item_doc(&tree, "fn", "g").as_deref().map(str::trim),
            Some("second g")
        );
    }
}
