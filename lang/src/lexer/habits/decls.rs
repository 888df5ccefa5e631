//! Declaration habits in the token stream (see the parent module for how
//! habits are found, reported and rewritten): C's array local `u8 buf[16];`,
//! JavaScript's `const x = 1;` in a body, a `let` or `var` at the top level,
//! a `static` or `const` without a value (C's `static int c;`),
//! several names in one declaration (`var x, y: u32;`, `let a, b = 1, 2;`),
//! and C's or Rust's pointer parameter (`u8 *p`, `p: *u8`). Each is one
//! E0001 whose rewrite keeps every name it declares declared. Each rule
//! reads at most one statement, which it then consumes, so the pass stays
//! linear.

use super::tokens::{is_type_name, starts_statement};
use super::{Rewriter, Tok, e, edit};
use crate::diag::Applicability;
use crate::span::Span;

/// A declaration with more names than this is left to the parser: the
/// rewrite copies the type once per name.
const MAX_NAMES: usize = 16;

impl<'a> Rewriter<'a> {
    /// The declaration habit starting at token `i`, if any (as
    /// [`Rewriter::habit`]).
    pub(super) fn decl_habit(&mut self, i: usize) -> Option<usize> {
        // Borrowed from the old tokens (not from `self`), as in `habit`.
        let old: &'a [(Tok, Span)] = self.old;
        let t = &old[i].0;
        match (t, old.get(i + 1).map(|(t, _)| t)) {
            // C's `u8 buf[16];`, `u32 a[4] = {1, 2, 3, 4};`
            (Tok::Ident(ty), Some(Tok::Ident(_)))
                if self.braces > 0
                    && self.sig.is_none_or(|(_, close)| i > close)
                    && is_type_name(ty)
                    && self.is(i + 2, "[")
                    && starts_statement(self.prev()) =>
            {
                self.c_array_local(i)
            }
            // JavaScript's `const x = 1;` in a function body
            (Tok::Kw("const"), Some(Tok::Ident(_)))
                if self.braces > 0 && self.is(i + 2, "=") && starts_statement(self.prev()) =>
            {
                let s = self.span(i);
                self.diags.push(
                    e(
                        "a local is declared with `let`",
                        s,
                        "JavaScript's `const`",
                    )
                    .with_note("KPL's `const` declares a global, at the top level; a `let` local never changes")
                    .with_fix("write `let`", s, "let"),
                );
                self.push(Tok::Kw("let"), s);
                Some(i + 1)
            }
            // C's `static int c;`: `static c: u32;` without a value
            (Tok::Kw(k @ ("static" | "const")), Some(Tok::Ident(_)))
                if self.braces == 0 && self.is(i + 2, ":") && starts_statement(self.prev()) =>
            {
                self.global_no_value(i, k)
            }
            // `let x = 1;`, `var n = 0;` at the top level
            (Tok::Kw(k @ ("let" | "var")), Some(Tok::Ident(_)))
                if self.braces == 0 && starts_statement(self.prev()) =>
            {
                self.top_level_binding(i, k)
            }
            // `var x, y: u32;`, `let a, b = 1, 2;`
            (Tok::Kw(k @ ("let" | "var")), Some(Tok::Ident(_)))
                if self.braces > 0 && self.is(i + 2, ",") && starts_statement(self.prev()) =>
            {
                self.several_names(i, k)
            }
            // C's pointer parameter `u8 *p`, and the read-only one
            // `const char *s`
            (Tok::Ident(_) | Tok::Kw("const"), _) if let Some(after) = self.c_pointer_param(i) => {
                Some(after)
            }
            // Rust's or Go's pointer type `p: *u8`, `p: *mut u8`
            (Tok::Sym("*"), Some(next))
                if matches!(self.prev(), Some((Tok::Sym(":"), _)))
                    && self.sig.is_some_and(|(open, close)| i > open && i < close) =>
            {
                let (mutable, elem_at) = match next {
                    Tok::Kw("mut") => (true, i + 2),
                    Tok::Kw("const") => (false, i + 2),
                    _ => (false, i + 1),
                };
                let Some((Tok::Ident(elem), _)) = old.get(elem_at) else {
                    return None;
                };
                if !is_type_name(elem) || !(self.is(elem_at + 1, ",") || self.is(elem_at + 1, ")"))
                {
                    return None;
                }
                let name = self
                    .out()
                    .len()
                    .checked_sub(2)
                    .and_then(|k| self.out().get(k));
                let Some((Tok::Ident(name), _)) = name else {
                    return None;
                };
                let name = name.to_string();
                let m = if mutable { "mut " } else { "" };
                let kpl_elem = crate::suggest::foreign_type(elem).map_or(&**elem, |(k, _)| k);
                let fix = format!("[]{m}{kpl_elem}");
                let whole = self.span(i).to(self.span(elem_at));
                self.pointer_param_as(whole, fix.clone(), format!("`{name}: {fix}`"));
                let star = self.span(i);
                self.push(Tok::Sym("["), star);
                self.push(Tok::Sym("]"), star);
                if mutable {
                    self.push(Tok::Kw("mut"), self.span(i + 1));
                }
                self.push(Tok::Ident(kpl_elem.into()), self.span(elem_at));
                Some(elem_at + 1)
            }
            _ => None,
        }
    }

    /// C's pointer parameter written over `whole`, which `fix` replaces:
    /// reported once per parameter list, as C's parameter order is.
    /// C's pointer parameter at `i`, `u8 *p` or `const char *s`: reported
    /// and read as the slice it stands for, `p: []u8`; the index after it.
    fn c_pointer_param(&mut self, i: usize) -> Option<usize> {
        let ty_at = match self.tok(i)? {
            Tok::Kw("const") => i + 1,
            _ => i,
        };
        let Some(Tok::Ident(ty)) = self.tok(ty_at) else {
            return None;
        };
        if !(self.in_params(i)
            && is_type_name(ty)
            && self.is(ty_at + 1, "*")
            && matches!(self.tok(ty_at + 2), Some(Tok::Ident(_)))
            && (self.is(ty_at + 3, ",") || self.is(ty_at + 3, ")")))
        {
            return None;
        }
        let name = self.text(self.span(ty_at + 2)).to_string();
        let elem = crate::suggest::foreign_type(ty).map_or(&**ty, |(k, _)| k);
        let fix = format!("{name}: []{elem}");
        let elem: Tok = Tok::Ident(elem.into());
        let whole = self.span(i).to(self.span(ty_at + 2));
        self.pointer_param(whole, fix);
        let (n, ns) = self.old[ty_at + 2].clone();
        let star = self.span(ty_at + 1);
        self.push(n, ns);
        self.push(Tok::Sym(":"), ns.end_point());
        self.push(Tok::Sym("["), star);
        self.push(Tok::Sym("]"), star);
        self.push(elem, self.span(ty_at));
        Some(ty_at + 3)
    }

    fn pointer_param(&mut self, whole: Span, fix: String) {
        let shown = format!("`{fix}`");
        self.pointer_param_as(whole, fix, shown);
    }

    fn pointer_param_as(&mut self, whole: Span, fix: String, shown: String) {
        let sig = self.sig.map(|(open, _)| open);
        let note =
            "a slice `[]T` is an array's elements and their number (`p.len`); KPL has no pointers";
        match self.param_diag {
            Some((at, d)) if Some(at) == sig => {
                let d = &mut self.diags[d];
                if let Some(h) = d.help.first_mut() {
                    h.edits.push(edit(whole, fix));
                    h.message = "write each parameter as `name: type`, a buffer as a slice".into();
                }
                if !d.notes.iter().any(|n| n == note) {
                    d.notes.push(note.into());
                }
            }
            _ => {
                self.param_diag = sig.map(|at| (at, self.diags.len()));
                self.diags.push(
                    e(
                        "KPL passes a buffer as a slice, not a pointer",
                        whole,
                        "a pointer parameter",
                    )
                    .with_note(note)
                    .with_fix(format!("write {shown}"), whole, fix),
                );
            }
        }
    }

    /// C's array local at `i` (its element type): `T name[N];` is read as
    /// `var name: [T; N] = [0; N];`, `T name[N] = { … };` as
    /// `let name: [T; N] = [ … ];` (both mutable, as C's are, so that
    /// their assignments are not E0300 on top of the one error).
    fn c_array_local(&mut self, i: usize) -> Option<usize> {
        let open = i + 2;
        let close = *self.pair.get(open)?;
        if close == usize::MAX || close <= open + 1 {
            return None;
        }
        let init = match self.tok(close + 1) {
            Some(Tok::Sym(";")) => None,
            Some(Tok::Sym("=")) if self.is(close + 2, "{") => {
                let brace = close + 2;
                let end = *self.pair.get(brace)?;
                if end == usize::MAX || !self.is(end + 1, ";") {
                    return None;
                }
                Some((brace, end))
            }
            _ => return None,
        };
        let (ty, ty_span) = self.old[i].clone();
        let Tok::Ident(ty_name) = &ty else {
            return None;
        };
        let elem = crate::suggest::foreign_type(ty_name).map_or(&**ty_name, |(k, _)| k);
        let elem: std::rc::Rc<str> = elem.into();
        let (name, name_span) = self.old[i + 1].clone();
        let len = self
            .text(self.span(open + 1).to(self.span(close - 1)))
            .to_string();
        let head = ty_span.to(self.span(close));
        let declared = format!("{}: [{elem}; {len}]", self.text(name_span));
        let mut d = e(
            "KPL declares an array local with `let` or `var` and an array type",
            head,
            "C's array declaration",
        );
        d = match init {
            None => {
                let zero = if &*elem == "bool" { "false" } else { "0" };
                let fix = format!("var {declared} = [{zero}; {len}]");
                d.with_note("every local has a value: `[0; N]` is N zeros")
                    .with_fix(format!("write `{fix}`"), head, fix)
            }
            Some((brace, end)) => d
                .with_note("an array literal is written in `[ ]`")
                .with_fix_edits(
                    format!("write `let {declared} = [ … ]`"),
                    Applicability::MachineApplicable,
                    vec![
                        edit(head, format!("let {declared}")),
                        edit(self.span(brace), "["),
                        edit(self.span(end), "]"),
                    ],
                ),
        };
        self.diags.push(d);
        // `var name: [T; N]`, then `= [0; N]` or the literal in `[ ]`.
        self.push(Tok::Kw("var"), ty_span.start_point());
        self.push(name, name_span);
        self.push(Tok::Sym(":"), name_span.end_point());
        self.push(Tok::Sym("["), self.span(open));
        self.push(Tok::Ident(elem.clone()), ty_span);
        self.push(Tok::Sym(";"), self.span(open).end_point());
        for k in open + 1..close {
            let t = self.old[k].clone();
            self.push(t.0, t.1);
        }
        self.push(Tok::Sym("]"), self.span(close));
        match init {
            None => {
                // The copy of the length is given the spans of the `]`.
                let at = self.span(close).end_point();
                self.push(Tok::Sym("="), at);
                self.push(Tok::Sym("["), at);
                let zero = if &*elem == "bool" {
                    Tok::Kw("false")
                } else {
                    Tok::Int(0)
                };
                self.push(zero, at);
                self.push(Tok::Sym(";"), at);
                for k in open + 1..close {
                    let t = self.old[k].0.clone();
                    self.push(t, at);
                }
                self.push(Tok::Sym("]"), at);
                Some(close + 1)
            }
            Some((brace, end)) => {
                self.push(Tok::Sym("="), self.span(close + 1));
                self.push(Tok::Sym("["), self.span(brace));
                self.later
                    .insert(end, vec![(Tok::Sym("]"), self.span(end))]);
                Some(brace + 1)
            }
        }
    }

    /// `static NAME: TYPE;` or `const NAME: TYPE;` (`k` at `i`), with no
    /// `= VALUE`: reported and read with a zero of the type (the error
    /// value for a type without one), so the global stays declared.
    fn global_no_value(&mut self, i: usize, k: &str) -> Option<usize> {
        // The type: up to `;` at this level, within a few tokens.
        const MAX_TYPE_TOKENS: usize = 32;
        let from = i + 3;
        let mut semi = from;
        while !self.is(semi, ";") {
            match self.tok(semi) {
                None | Some(Tok::Sym("=" | "{" | "}")) | Some(Tok::Kw(_)) => return None,
                _ => {}
            }
            semi = self.next_at_level(semi);
            if semi > from + MAX_TYPE_TOKENS {
                return None;
            }
        }
        if semi == from {
            return None;
        }
        let s = self.span(i);
        let ty = self
            .text(self.span(from).to(self.span(semi - 1)))
            .to_string();
        // A zero of the type, as text and tokens: `0`, `false`, or an
        // array of them (`[0; 16]`).
        let scalar = |name: &str| match crate::suggest::foreign_type(name).map_or(name, |(t, _)| t)
        {
            "bool" => Some(("false", Tok::Kw("false"))),
            t if super::tokens::INT_TYPES.contains(&t) => Some(("0", Tok::Int(0))),
            _ => None,
        };
        let zero: Option<(String, Vec<Tok>)> = if semi == from + 1 {
            self.tok(from)
                .and_then(|t| match t {
                    Tok::Ident(n) => scalar(n),
                    _ => None,
                })
                .map(|(z, t)| (z.to_string(), vec![t]))
        } else if self.is(from, "[")
            && self.pair.get(from) == Some(&(semi - 1))
            && self.is(from + 2, ";")
            && from + 3 < semi - 1
        {
            match self.tok(from + 1) {
                Some(Tok::Ident(n)) => scalar(n).map(|(z, t)| {
                    let len = self.text(self.span(from + 3).to(self.span(semi - 2)));
                    let mut toks = vec![Tok::Sym("["), t, Tok::Sym(";")];
                    toks.extend((from + 3..semi - 1).map(|k| self.old[k].0.clone()));
                    toks.push(Tok::Sym("]"));
                    (format!("[{z}; {len}]"), toks)
                }),
                _ => None,
            }
        } else {
            None
        };
        let head = s.to(self.span(semi - 1));
        let at = self.span(semi).start_point();
        let name = self.text(self.span(i + 1)).to_string();
        let what = if k == "static" {
            "a static"
        } else {
            "a constant"
        };
        let mut d = e(
            format!("{what} needs an initial value"),
            head,
            "expected `= VALUE`",
        );
        d = match (&zero, k) {
            (Some((z, _)), _) => {
                let fixed = format!("{k} {name}: {ty} = {z};");
                // C gives a `static` without a value zero: the same value.
                let (applicability, note) = if k == "static" {
                    (
                        Applicability::MachineApplicable,
                        "C starts a `static` without a value at zero; KPL writes the value",
                    )
                } else {
                    (
                        Applicability::MaybeIncorrect,
                        "a constant's value is written where it is declared",
                    )
                };
                d.with_note(note).with_fix_edits(
                    format!("write `{fixed}`"),
                    applicability,
                    vec![edit(at, format!(" = {z}"))],
                )
            }
            (None, _) => d.with_help(format!("give it a value: `{k} {name}: {ty} = …;`")),
        };
        self.diags.push(d);
        let (kw, ks) = self.old[i].clone();
        self.push(kw, ks);
        let mut value = vec![(Tok::Sym("="), at)];
        match zero {
            Some((_, toks)) => value.extend(toks.into_iter().map(|t| (t, at))),
            None => value.push((Tok::BadInt, at)),
        }
        value.push(self.old[semi].clone());
        self.later.insert(semi, value);
        Some(i + 1)
    }

    /// `let` or `var` at the top level (`k` at `i`): read as the `const` or
    /// `static` it means, so its uses resolve.
    fn top_level_binding(&mut self, i: usize, k: &str) -> Option<usize> {
        let s = self.span(i);
        let (global, what) = match k {
            "let" => ("const", "a constant"),
            _ => ("static", "a global variable"),
        };
        let name = self.span(i + 1);
        let mut d = e(
            format!("`{k}` declares a local, inside a function"),
            s,
            "at the top level",
        )
        .with_note(format!(
            "at the top level, {what} is declared with `{global}`"
        ));
        if self.is(i + 2, ":") {
            d = d.with_fix(format!("write `{global}`"), s, global);
        } else if self.is(i + 2, "=") {
            // A global needs its type: guessed from a literal value.
            let value = self.tok(i + 3);
            let ends = self.is(i + 4, ";");
            let guess = match value {
                Some(Tok::Int(_)) if ends => Some("u32"),
                Some(Tok::Kw("true" | "false")) if ends => Some("bool"),
                _ => None,
            };
            let n = self.text(name);
            d = match guess {
                Some(ty) => d.with_fix_edits(
                    format!("write `{global} {n}: {ty}` (or the type it is used as)"),
                    Applicability::MaybeIncorrect,
                    vec![edit(s, global), edit(name.end_point(), format!(": {ty}"))],
                ),
                None => d.with_help(format!("write `{global} {n}: TYPE = …`")),
            };
        } else {
            return None;
        }
        self.diags.push(d);
        // Without a type the parser gives the global the error type (its
        // own error is on this line, so not reported): no use of it is
        // then reported either.
        self.push(Tok::Kw(global), s);
        Some(i + 1)
    }

    /// `let a, b = 1, 2;` or `var x, y: u32;` (`k` at `i`): read as one
    /// declaration per name, each with its value (`0` for an integer type
    /// without one), so that every name stays declared; without a written
    /// type, with the error value, so that no use is checked against a
    /// type guessed from a broken declaration.
    fn several_names(&mut self, i: usize, k: &'static str) -> Option<usize> {
        // The names: `a , b , c` up to `:`, `=` or `;`.
        let mut names = vec![i + 1];
        let mut j = i + 2;
        while self.is(j, ",") && matches!(self.tok(j + 1), Some(Tok::Ident(_))) {
            names.push(j + 1);
            j += 2;
            if names.len() > MAX_NAMES {
                return None;
            }
        }
        // The type, up to `=` or `;` at this level.
        let ty = if self.is(j, ":") {
            let from = j + 1;
            let mut m = from;
            while m < self.old.len() && !self.is(m, "=") && !self.is(m, ";") && !self.is(m, "}") {
                m = self.next_at_level(m);
            }
            if m == from {
                return None;
            }
            j = m;
            Some((from, m))
        } else {
            None
        };
        // The values, separated by `,` at this level, up to `;`.
        let mut values = Vec::new();
        if self.is(j, "=") {
            let mut from = j + 1;
            let mut m = from;
            loop {
                if m >= self.old.len() || self.is(m, "}") {
                    return None;
                }
                if self.is(m, ",") || self.is(m, ";") {
                    if m == from {
                        return None;
                    }
                    values.push((from, m));
                    if self.is(m, ";") {
                        break;
                    }
                    from = m + 1;
                }
                m = self.next_at_level(m);
            }
            j = m;
        }
        if !self.is(j, ";") {
            return None;
        }
        let ty_text = ty.map(|(a, b)| self.text(self.span(a).to(self.span(b - 1))).to_string());
        let int_ty = ty_text.as_deref().is_some_and(|t| {
            super::tokens::INT_TYPES.contains(&t) || crate::suggest::foreign_type(t).is_some()
        });
        let paired = values.len() == names.len();
        // The fix: one declaration per name, where the statement was.
        let decl = |n: usize, v: Option<(usize, usize)>| {
            let mut out = format!("{k} {}", self.text(self.span(names[n])));
            if let Some(t) = &ty_text {
                out.push_str(&format!(": {t}"));
            }
            match v {
                Some((a, b)) => {
                    out.push_str(&format!(
                        " = {}",
                        self.text(self.span(a).to(self.span(b - 1)))
                    ));
                }
                None if int_ty => out.push_str(" = 0"),
                None => {}
            }
            out.push(';');
            out
        };
        let whole = self.span(i).to(self.span(j));
        let mut d = e(
            "a declaration declares one name",
            whole,
            "several names in one declaration",
        );
        let fixable = paired || (values.is_empty() && int_ty);
        d = if fixable {
            let text: Vec<String> = (0..names.len())
                .map(|n| decl(n, paired.then(|| values[n])))
                .collect();
            // Without a type, each name's type would come from its value:
            // the names are read with the error type (below), so their uses
            // are not checked against a guess, and the fix cannot promise
            // that they agree with it.
            let applicability = if ty.is_none() {
                Applicability::MaybeIncorrect
            } else {
                Applicability::MachineApplicable
            };
            d.with_fix_edits(
                "declare each name on its own",
                applicability,
                vec![edit(whole, text.join(" "))],
            )
        } else {
            d.with_help(format!(
                "declare each name on its own, with its value: `{k} a = 1;` then `{k} b = 2;`"
            ))
        };
        self.diags.push(d);
        // The tokens: one declaration per name, mutable (as a `var`) when
        // it has no value, so that its later assignments are not E0300.
        for (n, &at) in names.iter().enumerate() {
            let (name, ns) = self.old[at].clone();
            let kw = if paired || k == "var" { k } else { "var" };
            let kw_span = if n == 0 {
                self.span(i)
            } else {
                ns.start_point()
            };
            self.push(Tok::Kw(kw), kw_span);
            self.push(name, ns);
            if let Some((a, b)) = ty {
                self.push(Tok::Sym(":"), ns.end_point());
                for m in a..b {
                    let (t, s) = self.old[m].clone();
                    self.push(t, if n == 0 { s } else { ns.end_point() });
                }
            }
            let value = if paired { values.get(n).copied() } else { None };
            match value {
                // A name with no type written gets the error type: the
                // declaration is broken, and its uses are not checked
                // against a guess (its value is on the reported line,
                // whose other errors are dropped anyway).
                Some((a, b)) if ty.is_none() => {
                    self.push(Tok::Sym("="), self.span(a).start_point());
                    self.push(Tok::BadInt, self.span(a).to(self.span(b - 1)));
                    self.push(Tok::Sym(";"), self.span(b));
                }
                Some((a, b)) => {
                    self.push(Tok::Sym("="), self.span(a).start_point());
                    for m in a..b {
                        let (t, s) = self.old[m].clone();
                        self.push(t, s);
                    }
                    self.push(Tok::Sym(";"), self.span(b));
                }
                None => {
                    let at = ns.end_point();
                    self.push(Tok::Sym("="), at);
                    self.push(Tok::Int(0), at);
                    self.push(Tok::Sym(";"), at);
                }
            }
        }
        // (A value the names do not pair with is dropped: it is this
        // statement's mistake.)
        Some(j + 1)
    }
}
