//! Grammar coverage of the differential generator (`kplc::difftest`): the
//! generated programs must exercise every production of
//! `book/src/reference/grammar.md`, in every position that matters for code
//! generation.
//!
//! The list of what must be covered is read from grammar.md itself: every
//! rule, every top-level alternative of a rule and every quoted token. Each
//! of those has a classifier here that recognises it in a parsed program, so
//! a production added to grammar.md without a classifier fails this test,
//! and one the generator never writes fails it too. On top of the
//! productions come the contexts a grammar rule alone does not name: every
//! postfix (call, index, field, `.len`) on every kind of primary and after
//! every other postfix, parenthesised expressions in each postfix and operand
//! position, and literals of every aggregate shape (the two miscompilations of
//! issue 13 hid exactly there), and the semantic shapes of
//! [`MOVED_INDEX_SHAPES`]: a `for` loop over a row whose index the body
//! assigns (a miscompilation the generator once could not write hid there).
//! Combinations the checker rejects are listed in [`IMPOSSIBLE`] with the
//! reason.
//!
//! The coverage is measured on the parsed and checked KPL text (not on the
//! generator's own tree), over the first `KPL_COVERAGE_SEEDS` (default 300)
//! seeds. `--nocapture` prints the measurement.

use std::collections::{BTreeMap, BTreeSet};

use kpl_lang::ast::{self, BinOp, ExprKind, ForIter, ItemKind, StmtKind, TypeKind, UnOp};
use kpl_lang::check::Program;
use kpl_lang::types::Ty;

/// The grammar rules only declaration files (`.kpli`) use: generated
/// programs are plugins, and the import table is parsed by its own tests.
const DECL_ONLY: &[&str] = &["decl_file", "extern_fn"];

/// Contexts the checker rejects, with the reason: the generator must not
/// (and cannot) write them, so they are not required.
const IMPOSSIBLE: &[(&str, &str)] = &[
    ("call on INT", "E0108: only a name is callable"),
    ("call on STRING", "E0108"),
    ("call on \"true\"", "E0108"),
    ("call on \"false\"", "E0108"),
    ("call on struct_lit", "E0108"),
    ("call on array literal", "E0108"),
    ("call on repeat", "E0108"),
    ("call after call", "E0108: calls return scalars"),
    ("call after index", "E0108"),
    ("call after field", "E0108"),
    ("call after len", "E0108"),
    ("index on INT", "E0205: not an array or slice"),
    (
        "index on STRING",
        "E0205 (a string is only an import argument)",
    ),
    ("index on \"true\"", "E0205"),
    ("index on \"false\"", "E0205"),
    ("index on struct_lit", "E0205"),
    ("index after call", "E0205: calls return scalars"),
    ("index after len", "E0205: `.len` is a u32"),
    ("field on INT", "E0105"),
    ("field on STRING", "E0105"),
    ("field on \"true\"", "E0105"),
    ("field on \"false\"", "E0105"),
    ("field on array literal", "E0105: arrays have only `.len`"),
    ("field on repeat", "E0105"),
    ("field after call", "E0105"),
    ("field after len", "E0105"),
    ("len on INT", "E0105"),
    ("len on STRING", "E0105"),
    ("len on \"true\"", "E0105"),
    ("len on \"false\"", "E0105"),
    (
        "len on struct_lit",
        "E0105 (unless the struct has a field `len`)",
    ),
    ("len after call", "E0105"),
    ("len after len", "E0105"),
];

/// One `name = body ;` rule of grammar.md.
struct Rule {
    name: String,
    body: String,
}

fn grammar_rules() -> Vec<Rule> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../book/src/reference/grammar.md"
    ))
    .expect("grammar.md");
    let mut rules: Vec<Rule> = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_block = line.trim() == "```text";
            continue;
        }
        if !in_block {
            continue;
        }
        let code = strip_comments(line);
        let head = code.trim_start();
        let starts_rule = !line.starts_with(' ')
            && head.split_once('=').is_some_and(|(n, _)| {
                let n = n.trim();
                !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if starts_rule {
            let (n, b) = head.split_once('=').unwrap();
            rules.push(Rule {
                name: n.trim().to_string(),
                body: b.to_string(),
            });
        } else if let Some(r) = rules.last_mut() {
            r.body.push(' ');
            r.body.push_str(&code);
        }
    }
    for r in &mut rules {
        let b = r.body.trim();
        r.body = b.strip_suffix(';').unwrap_or(b).trim().to_string();
    }
    rules
}

fn strip_comments(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("(*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*)").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out
}

/// Splits at `|` outside quotes, parentheses and brackets.
fn alternatives(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut cur = String::new();
    for c in body.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' | '{' if !quoted => depth += 1,
            ')' | ']' | '}' if !quoted => depth -= 1,
            '|' if !quoted && depth == 0 => {
                out.push(normalize(&cur));
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(normalize(&cur));
    out
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn quoted_tokens(body: &str) -> Vec<String> {
    body.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, t)| t.to_string())
        .collect()
}

/// Everything that must be covered: `rule NAME`, `alt NAME: TEXT`,
/// `token "T"` from grammar.md, and the contexts.
fn required(rules: &[Rule]) -> BTreeSet<String> {
    let mut req = BTreeSet::new();
    let mut primaries = Vec::new();
    for r in rules
        .iter()
        .filter(|r| !DECL_ONLY.contains(&r.name.as_str()))
    {
        req.insert(format!("rule {}", r.name));
        let alts = alternatives(&r.body);
        if alts.len() > 1 {
            for a in &alts {
                req.insert(format!("alt {}: {a}", r.name));
            }
        }
        if r.name == "primary" {
            primaries = alts.iter().map(|a| primary_label(a)).collect();
        }
        for t in quoted_tokens(&r.body) {
            req.insert(format!("token \"{t}\""));
        }
    }
    assert!(!primaries.is_empty(), "grammar.md has no `primary` rule");
    let suffixes = ["call", "index", "field", "len"];
    for s in suffixes {
        for p in &primaries {
            req.insert(format!("{s} on {p}"));
        }
        for after in ["call", "index", "field", "len"] {
            req.insert(format!("{s} after {after}"));
        }
    }
    for pos in PAREN_POSITIONS {
        req.insert(format!("paren as {pos}"));
    }
    for (lit, parts) in LITERAL_SHAPES {
        for part in *parts {
            req.insert(format!("{lit} of {part}"));
        }
    }
    for shape in MOVED_INDEX_SHAPES {
        req.insert((*shape).to_string());
    }
    for (k, _) in IMPOSSIBLE {
        assert!(
            req.remove(*k),
            "IMPOSSIBLE lists `{k}`, which is not a required context"
        );
    }
    req
}

const PAREN_POSITIONS: &[&str] = &[
    "callee",
    "callee of a callee",
    "index base",
    "field base",
    "len base",
    "cast operand",
    "unary operand",
    "binary operand",
    "condition",
];

const LITERAL_SHAPES: &[(&str, &[&str])] = &[
    ("array literal", &["scalars", "arrays", "structs"]),
    ("repeat", &["a scalar", "an array", "a struct"]),
    (
        "struct literal",
        &["scalar fields", "array fields", "struct fields"],
    ),
];

/// `for x in seq` where `seq` indexes a place or an array literal with an
/// index expression that reads a variable the loop's body assigns. The
/// sequence is evaluated once, before the first trip (statements.md), so
/// the loop keeps walking the row it started on, even when the body moves
/// the index out of range; kplc once re-read the index at every trip
/// (`tests/exec/for_each_place_evaluated_once.kpl`). The first is the shape
/// itself, the others the kinds of sequence it must come in.
const MOVED_INDEX_SHAPES: &[&str] = &[
    "for over a place whose index the body assigns",
    "for over a local's row whose index the body assigns",
    "for over a static's row whose index the body assigns",
    "for over a row through a field whose index the body assigns",
    "for over a place with two indexes, one of which the body assigns",
    "for over an indexed array literal whose index the body assigns",
];

/// The names an expression reads.
fn names_in(e: &ast::Expr, out: &mut BTreeSet<String>) {
    match &e.kind {
        ExprKind::Name(n) => {
            out.insert(n.clone());
        }
        ExprKind::Unary(_, x)
        | ExprKind::Paren(x)
        | ExprKind::Field(x, _)
        | ExprKind::Cast(x, _) => names_in(x, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            names_in(lhs, out);
            names_in(rhs, out);
        }
        ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => {
            names_in(a, out);
            names_in(b, out);
        }
        ExprKind::Call(f, args) => {
            names_in(f, out);
            args.iter().for_each(|a| names_in(a, out));
        }
        ExprKind::ArrayLit(xs) => xs.iter().for_each(|x| names_in(x, out)),
        ExprKind::StructLit(_, fs) => fs.iter().for_each(|f| names_in(&f.value, out)),
        ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Error => {}
    }
}

/// Whether the block assigns (at any depth) a variable named in `names`.
fn assigns_any(b: &ast::Block, names: &BTreeSet<String>) -> bool {
    b.stmts.iter().any(|s| stmt_assigns_any(s, names))
}

fn stmt_assigns_any(s: &ast::Stmt, names: &BTreeSet<String>) -> bool {
    match &s.kind {
        StmtKind::Assign { target, .. } => {
            let mut root = target;
            while let ExprKind::Index(x, _) | ExprKind::Field(x, _) = &root.kind {
                root = x;
            }
            matches!(&root.kind, ExprKind::Name(n) if names.contains(n))
        }
        StmtKind::If { then, els, .. } => {
            assigns_any(then, names) || els.as_ref().is_some_and(|e| stmt_assigns_any(e, names))
        }
        StmtKind::While { body, .. } | StmtKind::For { body, .. } => assigns_any(body, names),
        StmtKind::Block(b) => assigns_any(b, names),
        _ => false,
    }
}

/// The label of a `primary` alternative: a name for the literal forms the
/// grammar only comments.
fn primary_label(alt: &str) -> String {
    match alt {
        "\"[\" expr { \",\" expr } [ \",\" ] \"]\"" => "array literal".to_string(),
        "\"[\" expr \";\" expr \"]\"" => "repeat".to_string(),
        "\"(\" expr \")\"" => "paren".to_string(),
        _ => alt.to_string(),
    }
}

/// What one program exercises.
struct Walk<'a> {
    prog: &'a Program,
    seen: BTreeSet<String>,
    /// The names of the file's statics.
    statics: BTreeSet<String>,
}

impl Walk<'_> {
    fn hit(&mut self, key: impl Into<String>) {
        self.seen.insert(key.into());
    }

    fn file(&mut self, f: &ast::File) {
        self.hit("rule file");
        for item in &f.items {
            if let ItemKind::Static(g) = &item.kind {
                self.statics.insert(g.name.name.clone());
            }
        }
        for item in &f.items {
            self.hit("rule item");
            if item.doc.is_some() {
                self.hit("rule doc");
            }
            match &item.kind {
                ItemKind::Use(_) => self.hit("rule use"),
                ItemKind::Const(g) | ItemKind::Static(g) => {
                    self.hit(if matches!(item.kind, ItemKind::Const(_)) {
                        "rule const"
                    } else {
                        "rule static"
                    });
                    self.ty(&g.ty);
                    self.expr(&g.value);
                }
                ItemKind::Struct(s) => {
                    self.hit("rule struct");
                    for field in &s.fields {
                        self.hit("rule field");
                        if field.doc.is_some() {
                            self.hit("rule doc");
                        }
                        self.ty(&field.ty);
                    }
                }
                ItemKind::Fn(func) => {
                    self.hit("rule function");
                    for p in &func.sig.params {
                        self.hit("rule param");
                        self.ty(&p.ty);
                    }
                    if let Some(t) = &func.sig.ret {
                        self.ty(t);
                    }
                    self.block(&func.body);
                }
                ItemKind::ExternFn(_) | ItemKind::Error(_) => {}
            }
        }
    }

    fn ty(&mut self, t: &ast::Type) {
        self.hit("rule type");
        match &t.kind {
            TypeKind::Named(_) => self.hit("alt type: IDENT"),
            TypeKind::Array(e, n) => {
                self.hit("alt type: \"[\" type \";\" expr \"]\"");
                self.ty(e);
                self.expr(n);
            }
            TypeKind::Slice { elem, .. } => {
                self.hit("alt type: \"[\" \"]\" [ \"mut\" ] type");
                self.ty(elem);
            }
            TypeKind::Error => {}
        }
    }

    fn block(&mut self, b: &ast::Block) {
        self.hit("rule block");
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        self.hit("rule stmt");
        match &s.kind {
            StmtKind::Let { ty, init, .. } => {
                self.hit("rule let_stmt");
                self.hit("alt stmt: let_stmt");
                if let Some(t) = ty {
                    self.ty(t);
                }
                self.expr(init);
            }
            StmtKind::Assign {
                target, op, value, ..
            } => {
                let sym = op.map_or(String::new(), |o| o.symbol().to_string());
                self.hit(format!("alt assign_op: \"{sym}=\""));
                self.hit("rule assign_stmt");
                self.hit("alt stmt: assign_stmt");
                self.hit("rule assign_op");
                self.hit("rule place");
                self.expr(target);
                self.expr(value);
            }
            StmtKind::If { cond, then, els } => {
                self.hit("rule if_stmt");
                self.hit("alt stmt: if_stmt");
                self.cond(cond);
                self.block(then);
                if let Some(e) = els {
                    match &e.kind {
                        StmtKind::If { .. } => self.stmt(e),
                        StmtKind::Block(b) => self.block(b),
                        _ => self.stmt(e),
                    }
                }
            }
            StmtKind::While { cond, body } => {
                self.hit("alt stmt: \"while\" expr block");
                self.cond(cond);
                self.block(body);
            }
            StmtKind::For { iter, body, .. } => {
                self.hit("alt stmt: \"for\" IDENT \"in\" expr [ \"..\" expr ] block");
                match iter {
                    ForIter::Range(a, b) => {
                        self.hit("for over a range");
                        self.expr(a);
                        self.expr(b);
                    }
                    ForIter::Each(e) => {
                        self.hit("for over a sequence");
                        self.moved_index(e, body);
                        self.expr(e);
                    }
                }
                self.block(body);
            }
            StmtKind::Break => self.hit("alt stmt: \"break\" \";\""),
            StmtKind::Continue => self.hit("alt stmt: \"continue\" \";\""),
            StmtKind::Return(v) => {
                self.hit("alt stmt: \"return\" [ expr ] \";\"");
                match v {
                    Some(e) => self.expr(e),
                    None => self.hit("return without a value"),
                }
            }
            StmtKind::Abort => self.hit("alt stmt: \"abort\" \";\""),
            StmtKind::Expr(e) => {
                self.hit("alt stmt: expr \";\"");
                self.expr(e);
            }
            StmtKind::Block(b) => {
                self.hit("alt stmt: block");
                self.block(b);
            }
            StmtKind::Error => {}
        }
    }

    /// The [`MOVED_INDEX_SHAPES`] of `for x in seq { body }`.
    fn moved_index(&mut self, seq: &ast::Expr, body: &ast::Block) {
        let mut names = BTreeSet::new();
        let (mut indexes, mut field) = (0, false);
        let mut root = seq;
        loop {
            match &root.kind {
                ExprKind::Index(base, i) => {
                    indexes += 1;
                    names_in(i, &mut names);
                    root = base;
                }
                ExprKind::Field(base, _) => {
                    field = true;
                    root = base;
                }
                _ => break,
            }
        }
        if indexes == 0 || !assigns_any(body, &names) {
            return;
        }
        let mut lit = root;
        while let ExprKind::Paren(x) = &lit.kind {
            lit = x;
        }
        match &root.kind {
            ExprKind::Name(n) => {
                self.hit(MOVED_INDEX_SHAPES[0]);
                self.hit(if self.statics.contains(n) {
                    MOVED_INDEX_SHAPES[2]
                } else {
                    MOVED_INDEX_SHAPES[1]
                });
                if field {
                    self.hit(MOVED_INDEX_SHAPES[3]);
                }
                if indexes > 1 {
                    self.hit(MOVED_INDEX_SHAPES[4]);
                }
            }
            _ if matches!(lit.kind, ExprKind::ArrayLit(_) | ExprKind::ArrayRepeat(..)) => {
                self.hit(MOVED_INDEX_SHAPES[5]);
            }
            _ => {}
        }
    }

    fn cond(&mut self, e: &ast::Expr) {
        if matches!(e.kind, ExprKind::Paren(_)) {
            self.hit("paren as condition");
        }
        self.expr(e);
    }

    fn is_agg(&self, e: &ast::Expr) -> Option<&'static str> {
        match self.prog.type_of(e.id) {
            Ty::Array(..) => Some("array"),
            Ty::Struct(..) => Some("struct"),
            _ => None,
        }
    }

    /// The primary at the root of a postfix chain, and the suffix just
    /// before this one (if any).
    fn chain_base(&self, base: &ast::Expr) -> String {
        match &base.kind {
            ExprKind::Call(..) => "after call".to_string(),
            ExprKind::Index(..) => "after index".to_string(),
            ExprKind::Field(_, f) if f.name == "len" && self.is_agg(base).is_none() => {
                "after len".to_string()
            }
            ExprKind::Field(..) => "after field".to_string(),
            ExprKind::Int(_) => "on INT".to_string(),
            ExprKind::Str(_) => "on STRING".to_string(),
            ExprKind::Bool(true) => "on \"true\"".to_string(),
            ExprKind::Bool(false) => "on \"false\"".to_string(),
            ExprKind::Name(_) => "on IDENT".to_string(),
            ExprKind::StructLit(..) => "on struct_lit".to_string(),
            ExprKind::ArrayLit(_) => "on array literal".to_string(),
            ExprKind::ArrayRepeat(..) => "on repeat".to_string(),
            ExprKind::Paren(_) => "on paren".to_string(),
            _ => "on another expression".to_string(),
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        self.hit("rule expr");
        match &e.kind {
            ExprKind::Int(_) => self.primary("INT"),
            ExprKind::Str(_) => self.primary("STRING"),
            ExprKind::Bool(true) => self.primary("\"true\""),
            ExprKind::Bool(false) => self.primary("\"false\""),
            ExprKind::Name(_) => self.primary("IDENT"),
            ExprKind::Paren(x) => {
                self.primary("\"(\" expr \")\"");
                self.expr(x);
            }
            ExprKind::StructLit(_, fields) => {
                self.primary("struct_lit");
                self.hit("rule struct_lit");
                for f in fields {
                    match self.is_agg(&f.value) {
                        Some("array") => self.hit("struct literal of array fields"),
                        Some(_) => self.hit("struct literal of struct fields"),
                        None => self.hit("struct literal of scalar fields"),
                    }
                    self.expr(&f.value);
                }
            }
            ExprKind::ArrayLit(xs) => {
                self.primary("\"[\" expr { \",\" expr } [ \",\" ] \"]\"");
                for x in xs {
                    match self.is_agg(x) {
                        Some("array") => self.hit("array literal of arrays"),
                        Some(_) => self.hit("array literal of structs"),
                        None => self.hit("array literal of scalars"),
                    }
                    self.expr(x);
                }
            }
            ExprKind::ArrayRepeat(x, n) => {
                self.primary("\"[\" expr \";\" expr \"]\"");
                match self.is_agg(x) {
                    Some("array") => self.hit("repeat of an array"),
                    Some(_) => self.hit("repeat of a struct"),
                    None => self.hit("repeat of a scalar"),
                }
                self.expr(x);
                self.expr(n);
            }
            ExprKind::Unary(op, x) => {
                self.hit("rule unary");
                self.hit("alt unary: ( \"-\" | \"!\" | \"~\" ) unary");
                self.hit(match op {
                    UnOp::Neg => "unary -",
                    UnOp::Not => "unary !",
                    UnOp::BitNot => "unary ~",
                });
                if matches!(x.kind, ExprKind::Paren(_)) {
                    self.hit("paren as unary operand");
                }
                self.expr(x);
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let rule = match op {
                    BinOp::Or => "or_expr",
                    BinOp::And => "and_expr",
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        self.hit("rule cmp_op");
                        self.hit(format!("alt cmp_op: \"{}\"", op.symbol()));
                        "cmp_expr"
                    }
                    BinOp::BitOr => "bitor_expr",
                    BinOp::BitXor => "xor_expr",
                    BinOp::BitAnd => "bitand_expr",
                    BinOp::Shl | BinOp::Shr => "shift_expr",
                    BinOp::Add | BinOp::Sub => "add_expr",
                    BinOp::Mul | BinOp::Div | BinOp::Rem => "mul_expr",
                };
                self.hit(format!("rule {rule}"));
                for x in [lhs, rhs] {
                    if matches!(x.kind, ExprKind::Paren(_)) {
                        self.hit("paren as binary operand");
                    }
                    self.expr(x);
                }
            }
            ExprKind::Cast(x, t) => {
                self.hit("rule cast");
                if matches!(x.kind, ExprKind::Paren(_)) {
                    self.hit("paren as cast operand");
                }
                self.expr(x);
                self.ty(t);
            }
            ExprKind::Call(callee, args) => {
                self.postfix("call", callee);
                self.hit("rule call_args");
                if let ExprKind::Paren(inner) = &callee.kind {
                    self.hit("paren as callee");
                    if matches!(inner.kind, ExprKind::Paren(_)) {
                        self.hit("paren as callee of a callee");
                    }
                }
                self.expr(callee);
                for a in args {
                    self.expr(a);
                }
            }
            ExprKind::Index(base, i) => {
                self.postfix("index", base);
                if matches!(base.kind, ExprKind::Paren(_)) {
                    self.hit("paren as index base");
                }
                self.expr(base);
                self.expr(i);
            }
            ExprKind::Field(base, f) => {
                let kind = if f.name == "len" && !matches!(self.is_agg(base), Some("struct")) {
                    "len"
                } else {
                    "field"
                };
                self.postfix(kind, base);
                if matches!(base.kind, ExprKind::Paren(_)) {
                    self.hit(format!("paren as {kind} base"));
                }
                self.expr(base);
            }
            ExprKind::Error => {}
        }
    }

    fn primary(&mut self, alt: &str) {
        self.hit("rule primary");
        self.hit("rule postfix");
        self.hit("alt unary: postfix");
        self.hit(format!("alt primary: {alt}"));
    }

    fn postfix(&mut self, suffix: &str, base: &ast::Expr) {
        self.hit("rule postfix");
        let at = self.chain_base(base);
        self.hit(format!("{suffix} {at}"));
    }
}

/// Tokens of the source that grammar.md quotes.
fn tokens(src: &str, quoted: &BTreeSet<String>, seen: &mut BTreeSet<String>) {
    for (_, span) in kpl_lang::lexer::lex(src).tokens {
        let text = &src[span.start as usize..span.end as usize];
        if quoted.contains(text) {
            seen.insert(format!("token \"{text}\""));
        }
    }
}

fn seeds() -> u64 {
    std::env::var("KPL_COVERAGE_SEEDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(300)
}

#[test]
fn generator_covers_every_production_of_the_grammar() {
    let rules = grammar_rules();
    let req = required(&rules);
    let quoted: BTreeSet<String> = rules
        .iter()
        .filter(|r| !DECL_ONLY.contains(&r.name.as_str()))
        .flat_map(|r| quoted_tokens(&r.body))
        .collect();
    let (imports, _) = kplc::std_imports::ImportSources::embedded().load();
    // How many programs exercise each key.
    let mut count: BTreeMap<String, u64> = BTreeMap::new();
    let n = seeds();
    for seed in 0..n {
        let case = kplc::difftest::generate(seed);
        let a = kpl_lang::analyze(&case.kpl, &imports);
        assert!(!a.has_errors(), "seed {seed} does not check");
        let mut w = Walk {
            prog: &a.program,
            seen: BTreeSet::new(),
            statics: BTreeSet::new(),
        };
        w.file(&a.file);
        tokens(&case.kpl, &quoted, &mut w.seen);
        for k in w.seen {
            *count.entry(k).or_default() += 1;
        }
    }
    let covered: Vec<&String> = req.iter().filter(|k| count.contains_key(*k)).collect();
    let missing: Vec<&String> = req.iter().filter(|k| !count.contains_key(*k)).collect();
    println!(
        "grammar coverage over {n} programs: {} of {} required productions and contexts ({:.1} %)",
        covered.len(),
        req.len(),
        100.0 * covered.len() as f64 / req.len() as f64
    );
    for k in &req {
        println!("{:>6}  {k}", count.get(k).copied().unwrap_or(0));
    }
    assert!(
        missing.is_empty(),
        "the generator never writes {} of {} required productions/contexts:\n  {}",
        missing.len(),
        req.len(),
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn every_grammar_alternative_has_a_classifier() {
    // A production added to grammar.md must be recognised by the walk:
    // otherwise it could never be covered and the test above would only
    // say "missing". The classifier's alternative names are the grammar's
    // own text, so a renamed or reworded alternative is caught here.
    let rules = grammar_rules();
    let known_alts: BTreeSet<&str> = [
        "alt type: IDENT",
        "alt type: \"[\" type \";\" expr \"]\"",
        "alt type: \"[\" \"]\" [ \"mut\" ] type",
        "alt stmt: let_stmt",
        "alt stmt: assign_stmt",
        "alt stmt: if_stmt",
        "alt stmt: \"while\" expr block",
        "alt stmt: \"for\" IDENT \"in\" expr [ \"..\" expr ] block",
        "alt stmt: \"break\" \";\"",
        "alt stmt: \"continue\" \";\"",
        "alt stmt: \"return\" [ expr ] \";\"",
        "alt stmt: \"abort\" \";\"",
        "alt stmt: expr \";\"",
        "alt stmt: block",
        "alt unary: ( \"-\" | \"!\" | \"~\" ) unary",
        "alt unary: postfix",
        "alt primary: INT",
        "alt primary: STRING",
        "alt primary: \"true\"",
        "alt primary: \"false\"",
        "alt primary: IDENT",
        "alt primary: struct_lit",
        "alt primary: \"[\" expr { \",\" expr } [ \",\" ] \"]\"",
        "alt primary: \"[\" expr \";\" expr \"]\"",
        "alt primary: \"(\" expr \")\"",
    ]
    .into_iter()
    .collect();
    let known_rules = [
        "file",
        "item",
        "doc",
        "use",
        "const",
        "static",
        "struct",
        "field",
        "function",
        "param",
        "type",
        "block",
        "stmt",
        "let_stmt",
        "assign_stmt",
        "assign_op",
        "place",
        "if_stmt",
        "expr",
        "or_expr",
        "and_expr",
        "cmp_expr",
        "cmp_op",
        "bitor_expr",
        "xor_expr",
        "bitand_expr",
        "shift_expr",
        "add_expr",
        "mul_expr",
        "cast",
        "unary",
        "postfix",
        "call_args",
        "primary",
        "struct_lit",
    ];
    let mut unknown = Vec::new();
    for k in required(&rules) {
        if let Some(r) = k.strip_prefix("rule ") {
            if !known_rules.contains(&r) {
                unknown.push(k.clone());
            }
        } else if k.starts_with("alt ")
            && !known_alts.contains(k.as_str())
            && !k.starts_with("alt assign_op: \"")
            && !k.starts_with("alt cmp_op: \"")
        {
            unknown.push(k.clone());
        }
    }
    assert!(
        unknown.is_empty(),
        "grammar.md has productions this test cannot recognise (teach `Walk` and the generator):\n  {}",
        unknown.join("\n  ")
    );
}
