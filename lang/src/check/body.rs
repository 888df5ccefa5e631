//! Function signatures and bodies: parameters and return types (E0507), the
//! per-body scopes of locals ([`Body`]), statements and their control flow
//! ([`Flow`]: E0400 missing return, W0002 unreachable code, E0401 `break`
//! outside a loop), assignment targets and mutability (E0300–E0302), unused
//! and never-assigned locals (W0001, W0006), and each function's frame size.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::*;
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::suggest;
use crate::types::{Ty, round_up};

use super::expr::is_untyped_literal;
use super::program::layout_of;
use super::resolve::TypePos;
use super::{BodyFacts, Checker, LocalDef, LocalKind, Res, limits};

/// Per-body state: scopes of locals and what the body has done with them.
pub(super) struct Body {
    /// Index into `Program::functions`, or `None` for constant initialisers.
    pub(super) func: Option<usize>,
    pub(super) const_context: bool,
    ret: Option<Ty>,
    /// Where a function's missing return type would go: the start of its
    /// body's `{`.
    ret_at: Option<Span>,
    /// An E0402 for a value returned without a return type was reported:
    /// the other such `return`s are the same mistake.
    value_without_ret_reported: bool,
    /// A `return;` without the value its function returns was reported
    /// (E0402): a local never read is then likely the value lost there,
    /// not a second mistake, and gets no W0001.
    value_missing_reported: bool,
    pub(super) locals: Vec<LocalDef>,
    pub(super) used: Vec<bool>,
    assigned: Vec<bool>,
    scopes: Vec<Vec<(String, u32)>>,
    /// The locals each name refers to, innermost last (kept in step with
    /// `scopes`, so a lookup does not scan every local of the function).
    visible: HashMap<String, Vec<u32>>,
    /// The names of `visible`, by length in chars, for a "did you mean":
    /// [`Body::candidates`] looks only at the lengths a suggestion may have.
    /// Built at the body's first "did you mean" and kept in step after it:
    /// most bodies have no unknown name, and indexing every local (three
    /// strings and two ordered inserts each) was a tenth of checking a
    /// function of many parameters.
    visible_by_len: OnceCell<HashMap<usize, suggest::NameIndex>>,
    loop_depth: u32,
    pub(super) callees: Vec<(usize, Span)>,
    /// The last "expression value is unused" (W0005) of the body: its
    /// index among the checker's diagnostics, the expression's span and
    /// type. A function that ends on it and on no `return` lost its
    /// `return` (`total;`): E0400 then takes its place (see `check_fn`).
    last_unused_value: Option<(usize, Span, Ty)>,
    /// The read-only slice locals written through (E0301), reported once.
    read_only_written: std::collections::HashSet<u32>,
    /// For each `let` or `var` local, by id: the keyword and what follows
    /// it up to the name, which E0300's fix replaces with `var ` and
    /// W0006's with `let `.
    decl_keywords: HashMap<u32, Span>,
    /// The unknown names already reported (E0100) in this body: a name
    /// never declared is one mistake however often it is used, so only its
    /// first use is reported (`total += x;` and then `return total;`).
    pub(super) unknown_reported: std::collections::HashSet<String>,
    /// The misspelt names reported (E0100 with a did-you-mean) in this
    /// body: the index of the diagnostic and the name it suggests. A later
    /// use of the same name that suggests the same is the same mistake: a
    /// secondary label and an edit of that diagnostic's fix.
    pub(super) misspelt: HashMap<String, (usize, String)>,
}

/// Adds `name` to the index of names by length in chars.
fn index_by_len(by_len: &mut HashMap<usize, suggest::NameIndex>, name: &str) {
    by_len.entry(name.chars().count()).or_default().insert(name);
}

impl Body {
    pub(super) fn new(func: Option<usize>, ret: Option<Ty>) -> Body {
        Body {
            func,
            const_context: func.is_none(),
            ret,
            ret_at: None,
            value_without_ret_reported: false,
            value_missing_reported: false,
            locals: Vec::new(),
            used: Vec::new(),
            assigned: Vec::new(),
            scopes: vec![Vec::new()],
            visible: HashMap::new(),
            visible_by_len: OnceCell::new(),
            loop_depth: 0,
            callees: Vec::new(),
            decl_keywords: HashMap::new(),
            last_unused_value: None,
            read_only_written: std::collections::HashSet::new(),
            unknown_reported: std::collections::HashSet::new(),
            misspelt: HashMap::new(),
        }
    }

    fn declare(&mut self, def: LocalDef) -> u32 {
        let id = self.locals.len() as u32;
        self.scopes
            .last_mut()
            .expect("a body always has a scope")
            .push((def.name.clone(), id));
        let ids = self.visible.entry(def.name.clone()).or_default();
        if ids.is_empty()
            && let Some(by_len) = self.visible_by_len.get_mut()
        {
            index_by_len(by_len, &def.name);
        }
        ids.push(id);
        self.locals.push(def);
        self.used.push(false);
        self.assigned.push(false);
        id
    }

    fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    fn pop_scope(&mut self) {
        for (name, _) in self.scopes.pop().unwrap_or_default() {
            if let Some(ids) = self.visible.get_mut(&name) {
                ids.pop();
                if ids.is_empty() {
                    self.visible.remove(&name);
                    if let Some(names) = self
                        .visible_by_len
                        .get_mut()
                        .and_then(|by_len| by_len.get_mut(&name.chars().count()))
                    {
                        names.remove(&name);
                    }
                }
            }
        }
    }

    /// Local `id` is what a misspelt name meant: it counts as read and
    /// assigned, since the misspelt use may have been either.
    pub(super) fn mark_meant(&mut self, id: u32) {
        if let Some(u) = self.used.get_mut(id as usize) {
            *u = true;
        }
        if let Some(a) = self.assigned.get_mut(id as usize) {
            *a = true;
        }
    }

    pub(super) fn lookup(&self, name: &str) -> Option<u32> {
        self.visible.get(name).and_then(|ids| ids.last().copied())
    }

    /// Visible locals for a "did you mean" about `name`: those within the
    /// suggestion distance in length, closest lengths first and, within a
    /// length, nearest to `name` first ([`suggest::NameIndex`]), at most
    /// [`suggest::MAX_CANDIDATES`] of them. A function with many locals and
    /// many unknown names then costs their sum, not their product (each
    /// unknown name looked at every local, and an edit distance for each).
    pub(super) fn candidates(&self, name: &str) -> Vec<&str> {
        let by_len = self.visible_by_len.get_or_init(|| {
            let mut by_len = HashMap::new();
            for visible in self.visible.keys() {
                index_by_len(&mut by_len, visible);
            }
            by_len
        });
        suggest::nearby_lengths(name)
            .flat_map(|l| {
                by_len
                    .get(&l)
                    .into_iter()
                    .flat_map(|names| names.near(name))
            })
            .take(suggest::MAX_CANDIDATES)
            .collect()
    }
}

/// The names in `ty` (its array lengths) and `e` that are locals of `body`:
/// what a constant expression there may wrongly use (E0501 explains it).
pub(super) fn local_names_in(body: &Body, ty: Option<&Type>, e: Option<&Expr>) -> Vec<String> {
    super::consts::names_in(ty, e)
        .into_iter()
        .filter(|n| body.lookup(n).is_some())
        .map(str::to_string)
        .collect()
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

impl<'a> Checker<'a> {
    pub(super) fn check_signatures(&mut self) {
        for i in 0..self.items().fns.len() {
            let (_, f) = self.items().fns[i];
            let params: Vec<Ty> = f
                .sig
                .params
                .iter()
                .map(|p| self.resolve_type(&p.ty, TypePos::Param))
                .collect();
            let ret = match &f.sig.ret {
                Some(t) => Some(self.resolve_type(t, TypePos::Return)),
                // Its body reports the E0402 (see `check_fn`); its calls
                // are of the error type rather than each an E0403: one
                // mistake, one diagnostic.
                None if f.returns_value => Some(Ty::Error),
                None => None,
            };
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
            let def = &mut self.d.to_mut().program.functions[i];
            def.params = params;
            def.ret = ret;
        }
    }

    pub(super) fn check_fn(&mut self, i: usize, sig: &FnSig, body_ast: &Block) {
        // Without a declared return type the body returns nothing, even when
        // the signature's type is the error type for a body that returns a
        // value (`check_signatures`): that `return` is the E0402.
        let ret = sig.ret.as_ref().and(self.func(i).ret.clone());
        let first_diag = self.diags.len();
        self.in_body = true;
        self.unknown_type_at.clear();
        let mut body = Body::new(Some(i), ret.clone());
        body.ret_at = Some(body_ast.span.start_point());
        for (p, ty) in sig.params.iter().zip(self.func(i).params.clone()) {
            // Only parameters are declared so far: a name already visible
            // is an earlier parameter's (a lookup, not a scan of them all,
            // which made a long parameter list quadratic).
            if let Some(prev) = body
                .lookup(&p.name.name)
                .filter(|_| p.name.name != "_")
                .and_then(|id| body.locals.get(id as usize))
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
        let flow = self.block(&mut body, body_ast, false);
        if flow == Flow::Continues
            && let (Some(ret_ty), Some(ret_ast)) = (&ret, &sig.ret)
            && !ret_ty.is_error()
        {
            let end = Span::new(
                body_ast.span.end.saturating_sub(1) as usize,
                body_ast.span.end as usize,
            );
            let d = Diagnostic::new(
                Code::E0400,
                format!("`{}` may end without returning a value", sig.name.name),
                end,
                format!(
                    "execution can reach the end of the function without returning a `{ret_ty}`"
                ),
            )
            .with_secondary(ret_ast.span, "the function promises this return type");
            // `total;` as the last statement: the `return` before it was
            // lost. One mistake, so its W0005 goes and E0400 says it.
            let lost_return = match (&body.last_unused_value, body_ast.stmts.last()) {
                (Some((index, span, ty)), Some(last))
                    if matches!(&last.kind, StmtKind::Expr(e) if e.span == *span)
                        && (ty == ret_ty || ty.as_int().is_some() && ret_ty.as_int().is_some()) =>
                {
                    Some((*index, *span, ty == ret_ty))
                }
                _ => None,
            };
            if let Some((index, _, _)) = lost_return {
                self.diags.remove(index);
            }
            self.report(match lost_return {
                Some((_, span, same_type)) => {
                    let d = d.with_secondary(span, "computed and thrown away: no `return`");
                    let message = "write `return` before the last statement's value";
                    let at = Span::new(span.start as usize, span.start as usize);
                    if same_type {
                        d.with_fix(message, at, "return ")
                    } else {
                        d.with_maybe_fix(message, at, "return ")
                    }
                }
                None => d.with_help("add a `return` at the end; loops never count as returning"),
            });
        }
        self.merge_decl_fixes(first_diag);
        self.finish_body(&body);
        let frame = body.locals.iter().fold(limits::FRAME_OVERHEAD, |acc, l| {
            acc.saturating_add(round_up(layout_of(&l.ty, &self.d.program.structs).size, 8))
        });
        self.body_facts.push(BodyFacts {
            index: i,
            locals: body.locals,
            callees: body.callees,
            frame_bytes: frame,
        });
    }

    /// Unused-binding and never-assigned warnings for a finished body.
    fn finish_body(&mut self, body: &Body) {
        for (i, l) in body.locals.iter().enumerate() {
            if l.name.starts_with('_') || l.kind == LocalKind::Param {
                continue;
            }
            if !body.used[i] {
                if body.value_missing_reported {
                    continue;
                }
                let what = match l.kind {
                    LocalKind::ForVar => "loop variable",
                    _ => "variable",
                };
                let d = Diagnostic::new(
                    Code::W0001,
                    format!("{what} `{}` is never read", l.name),
                    l.span,
                    "never read",
                );
                // Renaming only the declaration would orphan the
                // assignments: then the advice stays prose.
                self.report(if body.assigned[i] {
                    d.with_help(format!(
                        "if this is intentional, rename it `_{}` here and where it is assigned",
                        l.name
                    ))
                } else {
                    d.with_fix(
                        "if this is intentional, prefix it with an underscore",
                        l.span,
                        format!("_{}", l.name),
                    )
                });
            } else if l.kind == LocalKind::Var && !body.assigned[i] {
                let d = Diagnostic::new(
                    Code::W0006,
                    format!(
                        "variable `{}` is declared with `var` but never assigned",
                        l.name
                    ),
                    l.span,
                    "never assigned after its declaration",
                );
                self.report(match body.decl_keywords.get(&(i as u32)).copied() {
                    Some(keyword) => d.with_fix("declare it with `let`", keyword, "let "),
                    None => d.with_help("declare it with `let`"),
                });
            }
        }
    }

    fn block(&mut self, body: &mut Body, block: &Block, new_scope: bool) -> Flow {
        if new_scope {
            body.push_scope();
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
            body.pop_scope();
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
                self.enclosing_locals = local_names_in(body, ty.as_ref(), None);
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
                self.tables.bindings.insert(name.span, id);
                if s.span.start < name.span.start {
                    body.decl_keywords.insert(
                        id,
                        Span::new(s.span.start as usize, name.span.start as usize),
                    );
                }
                if ty.is_none() {
                    self.note_literal_decl(name.span, init);
                }
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
                        let literal = self
                            .literal_uses
                            .get(&target.unparen().id)
                            .map(|&(decl, _)| decl);
                        let outer = std::mem::replace(&mut self.assigning_literal, literal);
                        let got = self.expr(body, value, Some(&target_ty));
                        self.assigning_literal = outer;
                        self.expect_assigned(target, value, &got, &target_ty);
                    }
                    Some(op) => {
                        let fake_span = *op_span;
                        self.compound_types(body, *op, fake_span, target, target_ty, value);
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
                            Ty::Array(elem, _) => Arc::unwrap_or_clone(elem),
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
                body.push_scope();
                let id = body.declare(LocalDef {
                    name: var.name.clone(),
                    ty: var_ty,
                    kind: LocalKind::ForVar,
                    span: var.span,
                });
                self.tables.bindings.insert(var.span, id);
                body.loop_depth += 1;
                let f = self.block(body, b, true);
                body.loop_depth -= 1;
                body.pop_scope();
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
                    .map(|i| self.func(i).name.clone())
                    .unwrap_or_default();
                match (value, ret) {
                    (Some(v), Some(r)) => {
                        let got = self.expr(body, v, Some(&r));
                        self.expect_type(v, &got, &r);
                    }
                    (Some(v), None) => {
                        let got = self.expr(body, v, None);
                        if std::mem::replace(&mut body.value_without_ret_reported, true) {
                            return Flow::Diverges;
                        }
                        let d = Diagnostic::new(
                            Code::E0402,
                            format!("`{fn_name}` has no return type but returns a value"),
                            v.span,
                            "unexpected return value",
                        );
                        // The value's type is the return type meant; a bare
                        // literal's type is only a guess.
                        let d = match (body.ret_at, &got) {
                            (Some(at), Ty::Int(_) | Ty::Bool) => {
                                let msg = format!("declare the return type `{got}`");
                                if is_untyped_literal(v) {
                                    d.with_maybe_fix(msg, at, format!("-> {got} "))
                                } else {
                                    d.with_fix(msg, at, format!("-> {got} "))
                                }
                            }
                            _ => d.with_help("declare the return type, or remove the value"),
                        };
                        self.report(d);
                    }
                    (None, Some(r)) => {
                        if !r.is_error() {
                            body.value_missing_reported = true;
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
                    body.last_unused_value = Some((self.diags.len(), e.span, t.clone()));
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
        let before = self.diags.len();
        self.check_mutable(body, target);
        // Nothing can be assigned there (`1 = x;`, a constant, a function):
        // the value is checked for its own errors, not against that type.
        if self.diags[before..].iter().any(|d| d.code == Code::E0302) {
            return Ty::Error;
        }
        t
    }

    fn check_mutable(&mut self, body: &mut Body, target: &Expr) {
        match &target.kind {
            ExprKind::Paren(x) => self.check_mutable(body, x),
            ExprKind::Name(name) => match self.tables.resolutions.get(&target.id).copied() {
                Some(Res::Local(id)) => {
                    let l = body.locals[id as usize].clone();
                    body.assigned[id as usize] = true;
                    match l.kind {
                        LocalKind::Var => {}
                        LocalKind::Let => {
                            let d = Diagnostic::new(
                                Code::E0300,
                                format!("cannot assign twice to immutable variable `{name}`"),
                                target.span,
                                "cannot assign",
                            )
                            .with_secondary(l.span, format!("`{name}` is declared with `let`"));
                            self.report(match body.decl_keywords.get(&id).copied() {
                                Some(keyword) => d.with_fix(
                                    "declare it with `var` to make it mutable",
                                    keyword,
                                    "var ",
                                ),
                                None => d.with_help("declare it with `var` to make it mutable"),
                            });
                        }
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
                    && matches!(self.tables.type_of(base.id), Ty::Array(..) | Ty::Slice { .. }) =>
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
                let base_ty = self.tables.type_of(base.id).clone();
                if let Ty::Slice { mutable, elem } = base_ty {
                    let local = match self.tables.resolutions.get(&base.id).copied() {
                        Some(Res::Local(id)) => Some(id),
                        _ => None,
                    };
                    // One error per read-only slice and function: every write
                    // through it is the same mistake (its declaration).
                    if !mutable && local.is_none_or(|id| body.read_only_written.insert(id)) {
                        let mut d = Diagnostic::new(
                            Code::E0301,
                            "cannot write through a read-only slice",
                            target.span,
                            format!("`{}` has type `[]{}`", base_text(base), elem.name()),
                        );
                        if let Some(id) = local {
                            let l = &body.locals[id as usize];
                            if l.kind == LocalKind::Param {
                                d = d
                                    .with_secondary(l.span, "declared read-only here")
                                    .with_note("every write through it is this error, reported once")
                                    .with_help(format!(
                                        "declare the parameter as `[]mut {}`",
                                        elem.name()
                                    ));
                            }
                        }
                        self.report(d);
                    }
                    // The slice itself is not reassigned; its elements are.
                    if let Some(id) = local {
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

    pub(super) fn report_unit_value(&mut self, e: &Expr) {
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
