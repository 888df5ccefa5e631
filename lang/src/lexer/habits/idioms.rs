//! Idioms of Rust, Python and C that other rules (see the parent module for how
//! habits are found, reported and rewritten) do not read: Rust's `match`
//! used as a value (`let y = match x { … };`), a type's function
//! (`Vec::new()`, `P::new(1)`), Python's `assert c;`, C's struct local
//! `struct P p;`, and the counted loop
//! `for (i, x) in xs.iter().enumerate()` (Python's `for i, x in
//! enumerate(xs)`). Each is one E0001, and the tokens are rewritten so that
//! nothing else is reported: the `let` holding a `match` or `Vec::new()`
//! stays declared (with an error value, whose uses are not checked against
//! a guess), the assertion is the `if` it means, the loop declares both of
//! its names.
//!
//! Every rule looks at most [`WALK`] tokens ahead or jumps a bracketed group
//! by its pair, so the pass stays linear; each needs a token sequence that
//! valid KPL never has, so `match`, `assert` and `enumerate` stay ordinary
//! names.

use super::tokens::starts_statement;
use super::{Rewriter, e, edit};
use crate::diag::Applicability;
use crate::lexer::Tok;
use crate::span::Span;

/// Tokens a rule here walks before it gives up.
const WALK: usize = 64;

/// Rust's types of a growable or heap-allocated value.
const HEAP_TYPES: [&str; 9] = [
    "Vec", "VecDeque", "String", "HashMap", "HashSet", "BTreeMap", "Box", "Rc", "Arc",
];

impl<'a> Rewriter<'a> {
    /// The habit starting at token `i` among those of this module, if any
    /// (as [`Rewriter::habit`]).
    pub(super) fn idiom_habit(&mut self, i: usize) -> Option<usize> {
        let old: &'a [(Tok, Span)] = self.old;
        let t = &old[i].0;
        if self.braces == 0 {
            return None;
        }
        match (t, self.tok(i + 1)) {
            // Rust's `let y = match x { 1 => 2, _ => 3 };`
            (Tok::Ident(w), Some(Tok::Ident(_) | Tok::Int(_) | Tok::Sym("(")))
                if &**w == "match"
                    && matches!(
                        self.prev(),
                        Some((Tok::Sym("=" | "(" | ",") | Tok::Kw("return"), _))
                    ) =>
            {
                self.match_value(i)
            }
            // Rust's `Vec::new()`, `P::new(1)`
            (Tok::Ident(ty), Some(Tok::Sym("::")))
                if ty.starts_with(|c: char| c.is_ascii_uppercase())
                    && matches!(self.tok(i + 2), Some(Tok::Ident(_)))
                    && self.is(i + 3, "(")
                    && self.pair.get(i + 3).is_some_and(|&c| c != usize::MAX) =>
            {
                self.type_function(i)
            }
            // Python's `assert x > 1;`
            (Tok::Ident(w), Some(Tok::Ident(_) | Tok::Int(_) | Tok::Kw("true" | "false")))
                if &**w == "assert" && starts_statement(self.prev()) =>
            {
                self.python_assert(i)
            }
            // C's struct local `struct P p;`
            (Tok::Kw("struct"), Some(Tok::Ident(ty)))
                if starts_statement(self.prev())
                    && matches!(self.tok(i + 2), Some(Tok::Ident(_)))
                    && self.is(i + 3, ";") =>
            {
                let ty = ty.clone();
                let (ts, ns) = (self.span(i + 1), self.span(i + 2));
                let name = self.text(ns).to_string();
                self.diags.push(
                    e(
                        "a local is declared with `var`, its type after the name, and a value",
                        self.span(i).to(ns),
                        "C's declaration of a struct",
                    )
                    .with_note("every local has a value from its declaration on, and a struct's type is named without `struct`")
                    .with_help(format!(
                        "write `var {name}: {ty} = {ty} {{ .field = value, … }};` with every field of `{ty}`"
                    )),
                );
                self.push(Tok::Kw("var"), self.span(i));
                self.push(Tok::Ident(name.into()), ns);
                self.push(Tok::Sym(":"), ns.end_point());
                self.push(Tok::Ident(ty), ts);
                self.push(Tok::Sym("="), ns.end_point());
                self.push(Tok::BadInt, ns.end_point());
                Some(i + 3)
            }
            // `for (i, x) in xs.iter().enumerate() {`, `for i, x in enumerate(xs) {`
            (Tok::Kw("for"), Some(Tok::Sym("(") | Tok::Ident(_))) => self.enumerate_loop(i),
            _ => None,
        }
    }

    /// The first `{` after token `from` at its level (groups in between
    /// jumped), at most `limit` tokens on and before any `;` or `}`.
    fn block_open(&self, from: usize, limit: usize) -> Option<usize> {
        let mut open = from + 1;
        while !self.is(open, "{") {
            if open - from > limit || matches!(self.tok(open), None | Some(Tok::Sym(";" | "}"))) {
                return None;
            }
            open = self.next_at_level(open);
        }
        Some(open)
    }

    /// Whether tokens `k` and `k + 1` are `=>` (two tokens in KPL).
    fn fat_arrow(&self, k: usize) -> bool {
        self.is(k, "=") && self.is(k + 1, ">") && self.touching(k)
    }

    /// `match` at `i` where a value goes: the whole `match … { … }` is read
    /// as an error value. Taken only when its block has an arm's `=>`,
    /// which no KPL has.
    fn match_value(&mut self, i: usize) -> Option<usize> {
        let open = self.block_open(i, WALK)?;
        let close = *self.pair.get(open)?;
        if close == usize::MAX || !(open + 1..close.min(open + WALK)).any(|k| self.fat_arrow(k)) {
            return None;
        }
        let whole = self.span(i).to(self.span(close));
        self.diags.push(
            e("KPL has no `match`", self.span(i), "Rust's `match` used as a value")
                .with_note("KPL branches with `if`, `else if` and `else`, which are statements: they have no value")
                .with_help(
                    "declare the variable first and assign it in each branch: `var y: u32 = 3; if x == 1 { y = 2; }`",
                ),
        );
        self.push(Tok::BadInt, whole);
        Some(close + 1)
    }

    /// `Type::f(…)` at `i`: a type has no functions in KPL. Read as an
    /// error value.
    fn type_function(&mut self, i: usize) -> Option<usize> {
        let close = self.pair[i + 3];
        let ty = self.text(self.span(i)).to_string();
        let f = self.text(self.span(i + 2)).to_string();
        let head = self.span(i).to(self.span(i + 2));
        let d = if HEAP_TYPES.contains(&ty.as_str()) {
            e(format!("KPL has no `{ty}`"), head, "a Rust library type")
                .with_note("a plugin has no heap: every array has the length it is declared with")
                .with_help("declare an array as long as the most you need, `var v: [u32; 16] = [0; 16];`, and count the elements in use in a `var n: u32 = 0;`")
        } else {
            e(
                format!("KPL has no associated functions: `{ty}::{f}` is Rust"),
                head,
                "a type's function",
            )
            .with_note("a type has no functions of its own in KPL: every function is an item at the top level, called by its name alone")
            .with_help(format!(
                "declare `fn {}(…) -> {ty}` at the top level and call it by its name",
                f.to_ascii_lowercase()
            ))
        };
        self.diags.push(d);
        self.push(Tok::BadInt, self.span(i).to(self.span(close)));
        Some(close + 1)
    }

    /// Python's `assert c;` (or `assert c, "why";`) at `i`: read as
    /// `if !(c) { abort; }`, the fix when there is no message.
    fn python_assert(&mut self, i: usize) -> Option<usize> {
        let mut k = i + 1;
        let mut comma = None;
        while !self.is(k, ";") {
            if k - i > WALK || matches!(self.tok(k), None | Some(Tok::Sym("{" | "}"))) {
                return None;
            }
            if comma.is_none() && self.is(k, ",") {
                comma = Some(k);
            }
            k = self.next_at_level(k);
        }
        let semi = k;
        let cond_end = comma.unwrap_or(semi);
        if cond_end == i + 1 {
            return None;
        }
        let s = self.span(i);
        let cond = self.span(i + 1).to(self.span(cond_end - 1));
        let d = e("KPL has no `assert`", s, "Python's assert statement")
            .with_note("`abort;` stops the plugin, as a failed assertion stops a program");
        let d = match comma {
            Some(_) => d.with_help(format!(
                "test the condition: `if !({}) {{ abort; }}` (a message cannot go with it)",
                self.text(cond)
            )),
            None => {
                let fix = format!("if !({}) {{ abort; }}", self.text(cond));
                d.with_fix(format!("write `{fix}`"), s.to(self.span(semi)), fix)
            }
        };
        self.diags.push(d);
        let at = self.span(semi);
        self.push(Tok::Kw("if"), s);
        self.push(Tok::Sym("!"), s);
        self.push(Tok::Sym("("), cond.start_point());
        for k in i + 1..cond_end {
            let (t, ts) = self.old[k].clone();
            self.push(t, ts);
        }
        self.push(Tok::Sym(")"), cond.end_point());
        self.push(Tok::Sym("{"), at);
        self.push(Tok::Kw("abort"), at);
        self.push(Tok::Sym(";"), at);
        self.push(Tok::Sym("}"), at.end_point());
        Some(semi + 1)
    }

    /// A sequence written `name` or `a.b.c`, from `from` up to before
    /// `end`.
    fn plain_path(&self, from: usize, end: usize) -> bool {
        end > from
            && end - from <= 7
            && (from..end).all(|k| {
                if (k - from).is_multiple_of(2) {
                    matches!(self.tok(k), Some(Tok::Ident(_)))
                } else {
                    self.is(k, ".")
                }
            })
            && (end - from) % 2 == 1
    }

    /// `for (i, x) in xs.iter().enumerate() {` or Python's `for i, x in
    /// enumerate(xs) {` at `i` (the `for`): read as `for i in 0..xs.len {
    /// let x = xs[i]; …`, the fix.
    fn enumerate_loop(&mut self, i: usize) -> Option<usize> {
        let paren = self.is(i + 1, "(");
        let a = i + 1 + usize::from(paren);
        let (Some(Tok::Ident(index)), true, Some(Tok::Ident(item))) =
            (self.tok(a), self.is(a + 1, ","), self.tok(a + 2))
        else {
            return None;
        };
        let after = a + 3 + usize::from(paren);
        if (paren && !self.is(a + 3, ")")) || self.tok(after) != Some(&Tok::Kw("in")) {
            return None;
        }
        // The body's `{`, within a few tokens.
        let open = self.block_open(after, 16)?;
        let seq_from = after + 1;
        // `enumerate(xs)`, or `xs.enumerate()` after any of `.iter()`,
        // `.iter_mut()`, `.into_iter()`.
        let seq_end = if matches!(self.tok(seq_from), Some(Tok::Ident(w)) if &**w == "enumerate")
            && self.is(seq_from + 1, "(")
            && self.pair.get(seq_from + 1) == Some(&(open - 1))
        {
            (seq_from + 2, open - 1)
        } else {
            let mut end = open;
            let call = |r: &Self, at: usize, names: &[&str]| {
                at >= 4
                    && r.is(at - 1, ")")
                    && r.is(at - 2, "(")
                    && matches!(r.tok(at - 3), Some(Tok::Ident(w)) if names.contains(&&**w))
                    && r.is(at - 4, ".")
            };
            if !call(self, end, &["enumerate"]) {
                return None;
            }
            end -= 4;
            if call(self, end, &["iter", "iter_mut", "into_iter"]) {
                end -= 4;
            }
            (seq_from, end)
        };
        let (from, end) = seq_end;
        if !self.plain_path(from, end) || index == item {
            return None;
        }
        let (index, item) = (index.clone(), item.clone());
        let seq = self
            .text(self.span(from).to(self.span(end - 1)))
            .to_string();
        let header = self.span(i + 1).to(self.span(open - 1));
        let kpl_header = format!("{index} in 0..{seq}.len");
        let line_start = self.src[..self.span(i).start as usize]
            .rfind('\n')
            .map_or(0, |n| n + 1);
        let indent: String = self.src[line_start..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let body_at = self.span(open).end_point();
        let let_item = format!("let {item} = {seq}[{index}];");
        self.diags.push(
            e(
                "KPL's `for` gives the elements or the indices, not both",
                header,
                "a counted loop over pairs",
            )
            .with_note("KPL has no tuples and no `enumerate`: loop over the indices and read the element at each")
            .with_fix_edits(
                "loop over the indices and read each element",
                Applicability::MachineApplicable,
                vec![
                    edit(header, kpl_header),
                    edit(body_at, format!("\n{indent}    {let_item}")),
                ],
            ),
        );
        let (fs, is_, ss) = (self.span(i), self.span(a), self.span(after));
        self.push(Tok::Kw("for"), fs);
        self.push(Tok::Ident(index.clone()), is_);
        self.push(Tok::Kw("in"), ss);
        self.push(Tok::Int(0), ss.end_point());
        self.push(Tok::Sym(".."), ss.end_point());
        let path: Vec<(Tok, Span)> = self.old[from..end].to_vec();
        for (t, s) in &path {
            self.push(t.clone(), *s);
        }
        let end_at = self.span(end - 1).end_point();
        self.push(Tok::Sym("."), end_at);
        self.push(Tok::Ident("len".into()), end_at);
        let (t, s) = self.old[open].clone();
        self.track(&t, open);
        self.push(t, s);
        let item_at = self.span(a + 2);
        self.push(Tok::Kw("let"), body_at);
        self.push(Tok::Ident(item), item_at);
        self.push(Tok::Sym("="), body_at);
        for (t, s) in path {
            self.push(t, s);
        }
        self.push(Tok::Sym("["), body_at);
        self.push(Tok::Ident(index), is_);
        self.push(Tok::Sym("]"), body_at);
        self.push(Tok::Sym(";"), body_at);
        Some(open + 1)
    }
}
