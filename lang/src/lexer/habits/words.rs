//! Habits of other languages spelt with words (see the parent module for
//! how habits are found, reported and rewritten): a modifier before `fn`
//! (`async fn`, `inline fn`, `const fn`, `export default fn`), JavaScript's
//! `for x of xs`, Go's `for cond {` loop, Python's `is`, `is not` and
//! `pass`, Rust's `u32::from(x)` and `for x in xs.iter()`, Go's `:=` after
//! `let` and its local `var x u32 = 1`. Each rule looks at a bounded number
//! of tokens (the argument of `from` is copied once), so the pass stays
//! linear.

use super::tokens::{INT_TYPES, ends_operand, is_type_name, names_a_type, starts_statement};
use super::{Rewriter, e};
use crate::lexer::Tok;
use crate::span::Span;

/// The words a rule of this module starts at.
pub(super) fn starts_word_habit(w: &str, next: Option<&Tok>) -> bool {
    matches!(
        w,
        "of" | "is" | "pass" | "iter" | "iter_mut" | "into_iter" | "final" | "then" | "do"
    ) || matches!(next, Some(Tok::Kw("fn")))
}

impl<'a> Rewriter<'a> {
    /// The habit starting at token `i` among those of this module, if any
    /// (as [`Rewriter::habit`]).
    pub(super) fn word_habit(&mut self, i: usize) -> Option<usize> {
        let old: &'a [(Tok, Span)] = self.old;
        let (t, s) = (&old[i].0, old[i].1);
        match (t, old.get(i + 1).map(|(t, _)| t)) {
            // A modifier before `fn` on its line (a `fn` starting a line
            // starts an item, where the editor's database parses apart).
            (Tok::Ident(m), Some(Tok::Kw("fn")))
                if self.braces == 0
                    && !matches!(&**m, "pub" | "unsafe")
                    && self.line_break_before(i + 1).is_none() =>
            {
                self.fn_modifier(i, m)
            }
            (Tok::Kw(m @ ("const" | "static")), Some(Tok::Kw("fn")))
                if self.braces == 0 && self.line_break_before(i + 1).is_none() =>
            {
                self.fn_modifier(i, m)
            }
            // JavaScript's `for x of xs`
            (Tok::Ident(w), _)
                if &**w == "of"
                    && self.braces > 0
                    && matches!(self.out(), [.., (Tok::Kw("for"), _), (Tok::Ident(_), _)]) =>
            {
                self.diags.push(
                    e("KPL's `for` loops with `in`", s, "JavaScript's `of`").with_fix(
                        "write `in`",
                        s,
                        "in",
                    ),
                );
                self.push(Tok::Kw("in"), s);
                Some(i + 1)
            }
            // Go's `for cond {` and `for {`
            (Tok::Kw("for"), Some(next)) if self.braces > 0 && self.go_for(i, next) => {
                let endless = self.is(i + 1, "{");
                let (message, fix) = if endless {
                    ("an endless loop is `while true`", "while true")
                } else {
                    ("a loop on a condition is `while`", "while")
                };
                self.diags.push(
                    e(
                        "KPL's `for` loops over a range or an array",
                        s,
                        "Go's loop on a condition",
                    )
                    .with_fix(message, s, fix),
                );
                self.track(&Tok::Kw("while"), i);
                self.push(Tok::Kw("while"), s);
                if endless {
                    self.push(Tok::Kw("true"), s.end_point());
                }
                Some(i + 1)
            }
            // Python's `x is y`, `x is not y`
            (Tok::Ident(w), next)
                if &**w == "is" && self.braces > 0 && ends_operand(self.prev()) =>
            {
                let not = matches!(next, Some(Tok::Ident(n)) if &**n == "not");
                let (whole, op) = if not {
                    (s.to(self.span(i + 1)), "!=")
                } else {
                    (s, "==")
                };
                self.diags.push(
                    e(
                        format!("KPL compares with `{op}`"),
                        whole,
                        "Python's identity test",
                    )
                    .with_fix(format!("write `{op}`"), whole, op),
                );
                self.push(Tok::Sym(op), whole);
                Some(if not { i + 2 } else { i + 1 })
            }
            // Python's `pass`
            (Tok::Ident(w), next)
                if &**w == "pass"
                    && self.braces > 0
                    && starts_statement(self.prev())
                    && matches!(next, None | Some(Tok::Sym(";" | "}"))) =>
            {
                let end = if self.is(i + 1, ";") { i + 1 } else { i };
                let whole = s.to(self.span(end));
                self.diags.push(
                    e("KPL has no `pass`", s, "Python's empty statement")
                        .with_note("a block may be empty: `{}`")
                        .with_fix("remove it", whole, ""),
                );
                Some(end + 1)
            }
            // Rust's `for x in xs.iter() {`
            (Tok::Ident(w), Some(Tok::Sym("(")))
                if matches!(&**w, "iter" | "iter_mut" | "into_iter")
                    && self.is(i + 2, ")")
                    && self.is(i + 3, "{")
                    && self
                        .header
                        .as_ref()
                        .is_some_and(|h| h.kw == "for" && h.depth == 0)
                    && matches!(self.out(), [.., (Tok::Ident(_), _), (Tok::Sym("."), _)]) =>
            {
                let dot = self.prev().map_or(s, |(_, p)| *p);
                let whole = dot.to(self.span(i + 2));
                self.diags.push(
                    e(
                        format!("KPL's `for` loops over an array or slice itself: no `.{w}()`"),
                        whole,
                        "Rust's iterator",
                    )
                    .with_fix(format!("remove `.{w}()`"), whole, ""),
                );
                self.own();
                self.toks.pop();
                Some(i + 3)
            }
            // Rust's `u32::from(x)`
            (Tok::Ident(ty), Some(Tok::Sym("::")))
                if INT_TYPES.contains(&&**ty)
                    && matches!(self.tok(i + 2), Some(Tok::Ident(f)) if &**f == "from")
                    && self.is(i + 3, "(") =>
            {
                self.rust_from_call(i)
            }
            // Go's `let y := x`
            (Tok::Sym(":"), Some(Tok::Sym("=")))
                if self.touching(i)
                    && matches!(
                        self.out(),
                        [.., (Tok::Kw("let" | "var"), _), (Tok::Ident(_), _)]
                    ) =>
            {
                let both = s.to(self.span(i + 1));
                self.diags.push(
                    e(
                        "a local is declared `let name = value`: no `:` before the `=`",
                        both,
                        "Go's `:=`",
                    )
                    .with_fix("write `=`", both, "="),
                );
                self.push(Tok::Sym("="), both);
                Some(i + 2)
            }
            // Go's `var x u32 = 1`
            (Tok::Ident(_), Some(Tok::Ident(ty)))
                if (is_type_name(ty) || ty.starts_with(|c: char| c.is_ascii_uppercase()))
                    && matches!(self.prev(), Some((Tok::Kw("let" | "var"), _)))
                    && (self.is(i + 2, "=") || self.is(i + 2, ";")) =>
            {
                let at = s.end_point();
                let ty_s = self.span(i + 1);
                let kpl = crate::suggest::foreign_type(ty).map_or(&**ty, |(k, _)| k);
                let fix = format!("{}: {kpl}", self.text(s));
                let d = e(
                    "a local's type follows a `:`",
                    s.to(ty_s),
                    "Go's declaration",
                )
                .with_fix(format!("write `{fix}`"), s.to(ty_s), fix);
                self.diags.push(d);
                self.push(t.clone(), s);
                self.push(Tok::Sym(":"), at);
                self.push(self.old[i + 1].0.clone(), ty_s);
                Some(i + 2)
            }
            // Java's `final u32 y = x;`
            (Tok::Ident(w), Some(Tok::Ident(ty)))
                if &**w == "final"
                    && self.braces > 0
                    && starts_statement(self.prev())
                    && names_a_type(ty)
                    && matches!(self.tok(i + 2), Some(Tok::Ident(_)))
                    && self.is(i + 3, "=") =>
            {
                let (name, ns) = self.old[i + 2].clone();
                let kpl = crate::suggest::foreign_type(ty).map_or(&**ty, |(k, _)| k);
                let whole = s.to(ns);
                let fix = format!("let {}: {kpl}", self.text(ns));
                self.diags.push(
                    e("KPL has no `final`", whole, "Java's declaration")
                        .with_note("a local declared with `let` is never assigned again")
                        .with_fix(format!("write `{fix}`"), whole, fix),
                );
                // The type as written: a C one is then of the error type,
                // as for C's `int y = x;` (no mismatch follows the guess).
                self.push(Tok::Kw("let"), s);
                self.push(name, ns);
                self.push(Tok::Sym(":"), ns.end_point());
                self.push(self.old[i + 1].0.clone(), self.span(i + 1));
                Some(i + 3)
            }
            // Pascal's and Lua's `if c then {`, `while c do {`
            (Tok::Ident(w), Some(Tok::Sym("{")))
                if matches!(&**w, "then" | "do")
                    && ends_operand(self.prev())
                    && self.header.as_ref().is_some_and(|h| {
                        h.depth == 0
                            && matches!((h.kw, &**w), ("if", "then") | ("while" | "for", "do"))
                    }) =>
            {
                let with_blank = Span::new(s.start as usize, self.span(i + 1).start as usize);
                self.diags.push(
                    e(format!("KPL has no `{w}`"), s, "not part of a condition")
                        .with_note("the block in braces follows the condition directly")
                        .with_fix(format!("remove `{w}`"), with_blank, ""),
                );
                Some(i + 1)
            }
            // Python's annotated assignment `y: u32 = x;` as a statement
            (Tok::Ident(name), Some(Tok::Sym(":")))
                if self.braces > 0
                    && starts_statement(self.prev())
                    && self
                        .top_open
                        .is_some_and(|o| o < 2 || self.tok(o - 2) != Some(&Tok::Kw("struct")))
                    && matches!(self.tok(i + 2), Some(Tok::Ident(ty)) if names_a_type(ty))
                    && self.is(i + 3, "=") =>
            {
                let at = Span::new(s.start as usize, s.start as usize);
                let kw = if self.assigned_later(i + 4, name) {
                    "var"
                } else {
                    "let"
                };
                self.diags.push(
                    e(
                        format!("a local is declared with `{kw}`"),
                        s,
                        "Python's annotated name",
                    )
                    .with_note("assigning a name that was never declared does not declare it")
                    .with_fix(
                        format!("write `{kw}` before it"),
                        at,
                        format!("{kw} "),
                    ),
                );
                self.push(Tok::Kw(kw), at);
                self.push(t.clone(), s);
                Some(i + 1)
            }
            // C's local without a value, `u32 y;`
            (Tok::Ident(ty), Some(Tok::Ident(_)))
                if self.braces > 0
                    && starts_statement(self.prev())
                    && is_type_name(ty)
                    && self.is(i + 2, ";")
                    && self
                        .top_open
                        .is_some_and(|o| o < 2 || self.tok(o - 2) != Some(&Tok::Kw("struct"))) =>
            {
                let kpl = crate::suggest::foreign_type(ty).map_or(&**ty, |(k, _)| k);
                let zero = if kpl == "bool" { "false" } else { "0" };
                let ns = self.span(i + 1);
                let whole = s.to(ns);
                let fix = format!("var {}: {kpl} = {zero}", self.text(ns));
                self.diags.push(
                    e(
                        "a local is declared with `var`, its type after the name, and a value",
                        whole,
                        "C's declaration",
                    )
                    .with_note("every local has a value from its declaration on")
                    .with_fix(format!("write `{fix}`"), whole, fix),
                );
                self.push(Tok::Kw("var"), s);
                self.push(self.old[i + 1].0.clone(), ns);
                self.push(Tok::Sym(":"), ns.end_point());
                self.push(t.clone(), s);
                self.push(Tok::Sym("="), ns.end_point());
                let value = if zero == "0" {
                    Tok::Int(0)
                } else {
                    Tok::Kw("false")
                };
                self.push(value, ns.end_point());
                Some(i + 2)
            }
            // A default value of a parameter, `y: u32 = 1`, or of a field
            (Tok::Sym("="), _)
                if ends_operand(self.prev())
                    && (self.sig.is_some_and(|(open, close)| open < i && i < close)
                        || (self.braces == 1
                            && self.top_open.is_some_and(|o| {
                                o >= 2 && self.tok(o - 2) == Some(&Tok::Kw("struct"))
                            }))) =>
            {
                self.default_value(i)
            }
            _ => None,
        }
    }

    /// A default value at the `=` at `i`, up to the `,`, `)` or `}` after
    /// it: reported and dropped.
    fn default_value(&mut self, i: usize) -> Option<usize> {
        const MAX_VALUE_TOKENS: usize = 32;
        let mut k = i + 1;
        while k < self.old.len() && !self.is(k, ",") && !self.is(k, ")") && !self.is(k, "}") {
            if k > i + MAX_VALUE_TOKENS || self.is(k, ";") || self.is(k, "{") {
                return None;
            }
            k = self.next_at_level(k);
        }
        if k == i + 1 {
            return None;
        }
        let from = self.prev().map_or(self.span(i), |(_, p)| p.end_point());
        let whole = from.to(self.span(k - 1));
        let param = self.sig.is_some_and(|(open, close)| open < i && i < close);
        let (message, note) = if param {
            (
                "a parameter has no default value",
                "every call gives every argument",
            )
        } else {
            (
                "a field has no default value",
                "every struct literal gives every field",
            )
        };
        // One diagnostic per parameter list or struct, whose fix removes
        // every default value in it.
        let at = if param {
            self.sig.map(|(open, _)| open)
        } else {
            self.top_open
        };
        let slot = if param {
            self.param_diag
        } else {
            self.field_diag
        };
        match slot {
            Some((o, d)) if Some(o) == at && self.diags[d].message == message => {
                if let Some(h) = self.diags[d].help.first_mut() {
                    h.edits.push(super::edit(whole, ""));
                    h.message = "remove each default value".into();
                }
            }
            _ => {
                let slot = at.map(|o| (o, self.diags.len()));
                if param {
                    self.param_diag = slot;
                } else {
                    self.field_diag = slot;
                }
                let d = e(
                    message,
                    self.span(i).to(self.span(k - 1)),
                    "a default value",
                );
                self.diags
                    .push(d.with_note(note).with_fix("remove it", whole, ""));
            }
        }
        Some(k)
    }

    /// Whether the `for` at `i` starts Go's loop on a condition: `for {`,
    /// or a name and then an operator no range or C loop has there.
    fn go_for(&self, i: usize, next: &Tok) -> bool {
        match next {
            Tok::Sym("{") => true,
            Tok::Ident(_) => matches!(
                self.tok(i + 2),
                Some(Tok::Sym(
                    "<" | ">" | "<=" | ">=" | "==" | "!=" | "&&" | "||"
                ))
            ),
            _ => false,
        }
    }

    /// A modifier `m` at `i`, before `fn`, at the top level: reported and
    /// dropped.
    fn fn_modifier(&mut self, i: usize, m: &str) -> Option<usize> {
        let s = self.span(i);
        // `exprot fn`: the keyword misspelt, as the parser reads `exprot`
        // before anything else.
        if crate::suggest::is_typo_of(m, "export") {
            self.diags
                .push(crate::suggest::keyword_typo(m, "export", s));
            self.push(Tok::Kw("export"), s);
            return Some(i + 1);
        }
        // `next fn() -> u32`: the function's name written before `fn`.
        if self.is(i + 2, "(") && !is_modifier(m) {
            let whole = s.to(self.span(i + 1));
            self.diags.push(
                e(
                    format!("the name of a function goes after `fn`: `fn {m}(`"),
                    whole,
                    "the name before `fn`",
                )
                .with_fix(format!("write `fn {m}`"), whole, format!("fn {m}")),
            );
            self.push(Tok::Kw("fn"), self.span(i + 1));
            self.push(self.old[i].0.clone(), s);
            return Some(i + 2);
        }
        let with_blank = Span::new(s.start as usize, self.span(i + 1).start as usize);
        let note = match m {
            "async" => "a function runs to its end when it is called: there is nothing to await",
            "inline" | "const" => "the compiler decides what to inline and what to compute ahead",
            "static" | "private" => "a function without `export` is the plugin's own already",
            "public" | "default" => "`export fn` is what the host calls",
            _ => {
                "a function is declared `fn name(param: type) -> type`, or `export fn` for the host"
            }
        };
        let d = e(format!("KPL has no `{m} fn`"), s, "not part of a function");
        self.diags.push(if matches!(m, "public") {
            d.with_note(note).with_fix("write `export`", s, "export")
        } else {
            d.with_note(note)
                .with_fix(format!("remove `{m}`"), with_blank, "")
        });
        if m == "public" {
            self.push(Tok::Kw("export"), s);
        }
        Some(i + 1)
    }

    /// Rust's `T::from(x)` at `i`: reported and read as `(x) as T`.
    fn rust_from_call(&mut self, i: usize) -> Option<usize> {
        let open = i + 3;
        let close = self
            .pair
            .get(open)
            .copied()
            .filter(|&c| c != usize::MAX && c > open + 1)?;
        let ty = self.old[i].clone();
        let head = self.span(i).to(self.span(open));
        let whole = head.to(self.span(close));
        let (arg, arg_end) = (self.span(open + 1), self.span(close - 1));
        let text = self.text(arg.to(arg_end));
        let name = self.text(ty.1).to_string();
        let fixed = if close == open + 2 {
            format!("{text} as {name}")
        } else {
            format!("({text}) as {name}")
        };
        self.diags.push(
            e(
                "KPL converts with `as`, after the value",
                whole,
                "Rust's conversion",
            )
            .with_fix(format!("write `{fixed}`"), whole, fixed),
        );
        self.push(Tok::Sym("("), head);
        for k in open + 1..close {
            let (t, sp) = self.old[k].clone();
            self.push(t, sp);
        }
        let cs = self.span(close);
        self.push(Tok::Sym(")"), cs);
        self.push(Tok::Kw("as"), cs);
        self.push(ty.0, cs);
        Some(close + 1)
    }
}

/// The words other languages put before `fn` (C, C++, Java, JavaScript,
/// Kotlin, Swift, Rust): before `fn (` with no name after it, any other word
/// is the function's own name, misplaced.
fn is_modifier(w: &str) -> bool {
    matches!(
        w,
        "async"
            | "inline"
            | "static"
            | "private"
            | "public"
            | "protected"
            | "default"
            | "extern"
            | "virtual"
            | "override"
            | "open"
            | "internal"
            | "final"
            | "abstract"
    )
}
