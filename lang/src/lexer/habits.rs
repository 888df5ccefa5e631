//! Habits from other languages that show in the token stream alone: an
//! operator KPL spells otherwise (`<>`, `===`, `**`, `>>>`, Go's `:=`,
//! Python's `not` and `elif`, C's `++x`), a Rust macro call (`println!`,
//! `assert!`), an associated constant (`u32::MAX`), a decimal fraction, a
//! `range(n)` or `step` in a `for` header, a `;` between a condition and its
//! block, `goto`, and the items KPL does not have (`enum`, `impl`,
//! `typedef`, ...) or has only at the top level (a `fn` or `use` inside a
//! body); [`more`], [`decls`], [`blocks`], [`newcomer`] and [`idioms`]
//! have the rest. Each is reported once, as an E0001 (E0004 for a
//! fraction) with the KPL spelling and a fix where there is one, and the
//! tokens are rewritten into what the user meant, so the parser and the
//! checker see a correct program there and nothing cascades: a name
//! declared with `:=` stays declared, a nested `fn` is moved after the
//! function holding it and stays callable.
//!
//! One pass over the tokens, after a pass that pairs every bracket with its
//! closer: each rule looks a fixed number of tokens around it, or jumps over
//! a bracketed group by its pair, so the whole is linear in the file. Every
//! rewrite stays inside one top-level item, so a chunk of the editor's
//! database lexes the same alone as inside its file.

use std::cell::OnceCell;
use std::collections::BTreeMap;

mod blocks;
mod decls;
mod idioms;
mod macros;
mod more;
mod newcomer;
mod tokens;
mod words;

use super::{Lexed, Tok};
use crate::codes::Code;
use crate::diag::{Applicability, Diagnostic, Suggestion};
use crate::span::Span;
use tokens::{
    INT_TYPES, associated_constant, ends_operand, is_kpl_type, is_statement_keyword,
    may_start_habit, names_a_type, pairs, starts_operand, starts_statement,
};

/// Rewrites `out.tokens` (lexed from `src`) as described above, adding a
/// diagnostic for each habit found.
pub(super) fn rewrite(src: &str, out: &mut Lexed) {
    let old = std::mem::take(&mut out.tokens);
    let pair = pairs(&old);
    let mut r = Rewriter {
        src,
        old: &old,
        pair: &pair,
        toks: Vec::new(),
        same: Some(0),
        changed_from: 0,
        diags: Vec::new(),
        later: BTreeMap::new(),
        braces: 0,
        top_open: None,
        header: None,
        ret: None,
        sig: None,
        param_diag: None,
        field_diag: None,
        py_item: None,
        py_closes: BTreeMap::new(),
        py_open: 0,
        assignments: OnceCell::new(),
        py_budget: old
            .len()
            .saturating_mul(blocks::BLOCK_WALK_PER_TOKEN)
            .saturating_add(4096),
        statement_ends: OnceCell::new(),
    };
    let mut i = 0;
    while i < old.len() {
        r.python_line(i);
        if let Some(instead) = r.later.remove(&i) {
            r.own();
            r.toks.extend(instead);
            i += 1;
            continue;
        }
        i = r.step(i);
    }
    r.python_line(old.len());
    let Rewriter {
        toks,
        same,
        changed_from,
        diags,
        ..
    } = r;
    if same.is_none() {
        let end = Span::new(src.len(), src.len());
        out.rewritten_at = Some(old.get(changed_from).map_or(end, |t| t.1));
    }
    out.tokens = match same {
        Some(n) => {
            debug_assert_eq!(n, old.len());
            // The tokens are kept as long as the file: give back what the
            // lexer's doubling left spare, as the copy did (an in-place
            // shrink).
            let mut old = old;
            old.shrink_to_fit();
            old
        }
        None => toks,
    };
    if diags.is_empty() {
        return;
    }
    // At most one error per line, as for the parser's: a second habit on a
    // line already reported (or with a lexical error) is read as meant but
    // not reported.
    let lines = crate::span::LineIndex::new(src);
    let mut broken: std::collections::HashSet<usize> = out
        .diagnostics
        .iter()
        .map(|d| lines.line_of(d.primary.span.start as usize))
        .collect();
    let mut diags = diags;
    diags.sort_by_key(|d| d.primary.span.start);
    out.diagnostics.extend(
        diags
            .into_iter()
            .filter(|d| broken.insert(lines.line_of(d.primary.span.start as usize))),
    );
}

/// A `for`, `if` or `while` header being read: its keyword and the depth
/// of brackets inside it (`(`, `[`, and a struct literal's `{`, which a `.`
/// follows: `if p == P { .x = 1 } {`).
struct Header {
    kw: &'static str,
    depth: usize,
    /// A `..` was seen (a range).
    range: bool,
}

/// A nested item with the items nested in it put after it
/// ([`Rewriter::flatten`]).
struct Flattened {
    tokens: Vec<(Tok, Span)>,
    /// Each item's first and last token and the item it was nested in
    /// (`None` for the first, the one reported).
    items: Vec<(usize, usize, Option<usize>)>,
}

struct Rewriter<'a> {
    src: &'a str,
    old: &'a [(Tok, Span)],
    pair: &'a [usize],
    /// The tokens written so far, once they differ from the old ones (see
    /// `same`).
    toks: Vec<(Tok, Span)>,
    /// `Some(n)` while no habit has changed anything: what is written so far
    /// is then exactly `old[..n]`, which is not copied into `toks` until a
    /// habit writes something else ([`Rewriter::own`]). Most files have no
    /// habit, and copying every token (a second token vector as large as
    /// the first) was a tenth of lexing.
    same: Option<usize>,
    /// The index of the first old token not kept as written, once `same`
    /// is `None`.
    changed_from: usize,
    diags: Vec<Diagnostic>,
    /// Tokens to emit instead of the old token at an index still ahead.
    later: BTreeMap<usize, Vec<(Tok, Span)>>,
    /// How many `{` are open.
    braces: usize,
    /// The `{` of the top-level item being read.
    top_open: Option<usize>,
    header: Option<Header>,
    /// Which names later statements assign, once a fix has asked.
    assignments: OnceCell<super::LaterAssignments>,
    /// Inside a `return` statement: the depth of brackets in it.
    ret: Option<usize>,
    /// The `(` and `)` of the parameter list of the function being read.
    sig: Option<(usize, usize)>,
    /// The diagnostic of C's parameter order in the list opened at this
    /// index (the others of the list are added to its fix).
    param_diag: Option<(usize, usize)>,
    /// The diagnostic of Go's fields without `:` in the struct whose `{`
    /// is at this index (the others of the struct are added to its fix).
    field_diag: Option<(usize, usize)>,
    /// The top-level item whose Python block was reported ([`blocks`]).
    py_item: Option<(usize, usize)>,
    /// How many Python blocks end before each token index.
    py_closes: BTreeMap<usize, usize>,
    /// How many Python blocks are open.
    py_open: usize,
    /// How many more tokens the walks to Python blocks' ends may take.
    py_budget: usize,
    /// Each old token's [`Rewriter::statement_end`], once one is asked.
    statement_ends: OnceCell<Vec<usize>>,
}

fn e(message: impl Into<crate::diag::Text>, span: Span, label: &'static str) -> Diagnostic {
    Diagnostic::new(Code::E0001, message, span, label)
}

fn edit(span: Span, text: impl Into<crate::diag::Text>) -> Suggestion {
    Suggestion {
        span,
        replacement: text.into(),
    }
}

fn ident(t: &Tok) -> Option<&str> {
    match t {
        Tok::Ident(n) => Some(n),
        _ => None,
    }
}

impl<'a> Rewriter<'a> {
    fn at(&self, k: usize) -> Option<&(Tok, Span)> {
        self.old.get(k)
    }

    fn tok(&self, k: usize) -> Option<&Tok> {
        self.old.get(k).map(|(t, _)| t)
    }

    fn span(&self, k: usize) -> Span {
        self.old.get(k).map_or(Span::new(0, 0), |(_, s)| *s)
    }

    /// Whether the value that starts at old token `from` names something
    /// (a local, a constant, a call, `true`): then it has a type of its
    /// own, not the default of a bare literal. Reads at most to its `;`,
    /// and at most 64 tokens.
    fn typed_value(&self, from: usize) -> bool {
        (from..from.saturating_add(64))
            .map_while(|k| self.tok(k).filter(|t| **t != Tok::Sym(";")))
            .any(|t| matches!(t, Tok::Ident(_) | Tok::Kw("true" | "false")))
    }

    /// Whether a statement from old token `from` on, in the block being
    /// read there, assigns `name`: a fix that declares it then says `var`.
    fn assigned_later(&self, from: usize, name: &str) -> bool {
        self.assignments
            .get_or_init(|| super::LaterAssignments::new(self.old))
            .after(from, name)
    }

    // Inline: `s` is a constant at every call, so the comparison folds to a
    // byte or two instead of a call of `memcmp`.
    #[inline]
    fn is(&self, k: usize, s: &str) -> bool {
        matches!(self.tok(k), Some(Tok::Sym(x)) if *x == s)
    }

    /// The token after `k` at `k`'s nesting level: past the whole group
    /// when `k` opens one (`pair` maps an opener to its closer), `k + 1`
    /// otherwise. Always greater than `k`, so a walk with it ends.
    fn next_at_level(&self, k: usize) -> usize {
        self.pair
            .get(k)
            .copied()
            .filter(|&p| p > k && p != usize::MAX)
            .unwrap_or(k)
            + 1
    }

    /// The first `;` or `}` at `from`'s nesting level, or the end of the
    /// tokens. Read from a table of every token's answer, built once: the
    /// habits that ask (`a if c else b`, `return a, b`, C++'s streams, …)
    /// may start anywhere in a statement, and walking to its end for each
    /// made a line of a hundred thousand Python one-line blocks without a
    /// `;` quadratic (over 6 s for 512 KiB).
    fn statement_end(&self, from: usize) -> usize {
        let ends = self.statement_ends.get_or_init(|| {
            let n = self.old.len();
            let mut ends = vec![n; n];
            for k in (0..n).rev() {
                ends[k] = if self.is(k, ";") || self.is(k, "}") {
                    k
                } else {
                    ends.get(self.next_at_level(k)).copied().unwrap_or(n)
                };
            }
            ends
        });
        ends.get(from).copied().unwrap_or(from)
    }

    /// Tokens `k` and `k + 1` touch (no blank between them).
    fn touching(&self, k: usize) -> bool {
        match (self.old.get(k), self.old.get(k + 1)) {
            (Some((_, a)), Some((_, b))) => a.end == b.start,
            _ => false,
        }
    }

    fn text(&self, span: Span) -> &str {
        self.src.get(span.range()).unwrap_or_default()
    }

    /// The tokens written so far.
    fn out(&self) -> &[(Tok, Span)] {
        match self.same {
            Some(n) => &self.old[..n],
            None => &self.toks,
        }
    }

    /// Copies what was written so far into `toks`, before writing anything
    /// else.
    fn own(&mut self) {
        if let Some(n) = self.same.take() {
            self.changed_from = n;
            self.toks = Vec::with_capacity(self.old.len());
            self.toks.extend_from_slice(&self.old[..n]);
        }
    }

    fn prev(&self) -> Option<&(Tok, Span)> {
        self.out().last()
    }

    fn push(&mut self, t: Tok, s: Span) {
        self.own();
        self.toks.push((t, s));
    }

    /// Handles the token at `i` (and any it consumes); returns the index of
    /// the next token to look at.
    fn step(&mut self, i: usize) -> usize {
        if let Some(next) = self.habit(i) {
            // It may have dropped tokens without writing any.
            self.own();
            return next;
        }
        let (t, s) = &self.old[i];
        self.track(t, i);
        match &mut self.same {
            Some(n) => {
                debug_assert_eq!(*n, i);
                *n += 1;
            }
            None => self.toks.push((t.clone(), *s)),
        }
        i + 1
    }

    /// Keeps the brace depth and the header being read up to date for a
    /// token that is kept.
    fn track(&mut self, t: &Tok, i: usize) {
        match t {
            Tok::Sym("{") => {
                // At the header's own level, any `{` but a struct literal's
                // opens the body; every other one nests.
                let literal = self.is(i + 1, ".")
                    && matches!(self.tok(i + 2), Some(Tok::Ident(_)))
                    && self.is(i + 3, "=");
                match &mut self.header {
                    Some(h) if h.depth == 0 && !literal => self.header = None,
                    Some(h) => h.depth += 1,
                    None => {}
                }
                if self.braces == 0 {
                    self.top_open = Some(i);
                }
                self.braces += 1;
                if let Some(d) = &mut self.ret {
                    *d += 1;
                }
            }
            Tok::Sym("}") => {
                if let Some(h) = &mut self.header {
                    h.depth = h.depth.saturating_sub(1);
                }
                self.braces = self.braces.saturating_sub(1);
                self.ret = match self.ret {
                    Some(d) if d > 0 => Some(d - 1),
                    _ => None,
                };
            }
            Tok::Sym("(" | "[") => {
                if let Some(h) = &mut self.header {
                    h.depth += 1;
                }
                if let Some(d) = &mut self.ret {
                    *d += 1;
                }
                if i > 1
                    && matches!(t, Tok::Sym("("))
                    && matches!(self.tok(i - 1), Some(Tok::Ident(_)))
                    && matches!(self.tok(i - 2), Some(Tok::Kw("fn")))
                    && self.pair[i] != usize::MAX
                {
                    self.sig = Some((i, self.pair[i]));
                }
            }
            Tok::Sym(")" | "]") => {
                if let Some(h) = &mut self.header {
                    h.depth = h.depth.saturating_sub(1);
                }
                if let Some(d) = &mut self.ret {
                    *d = d.saturating_sub(1);
                }
            }
            Tok::Sym("..") => {
                if let Some(h) = &mut self.header {
                    h.range = true;
                }
            }
            // A `;` inside brackets is an array's (`[0; 4]`, `[u8; 4]`),
            // not the end of a statement: a header or a `return` goes on.
            // (Ending the header there made the body's `{` after
            // `if ([S { .a = [0; 2] }])[0].a {` read as a struct literal's.)
            Tok::Sym(";") => {
                if self.header.as_ref().is_none_or(|h| h.depth == 0) {
                    self.header = None;
                }
                if !matches!(self.ret, Some(d) if d > 0) {
                    self.ret = None;
                }
            }
            Tok::Kw("return") => self.ret = Some(0),
            Tok::Kw(k @ ("if" | "while" | "for")) => {
                self.header = Some(Header {
                    kw: k,
                    depth: 0,
                    range: false,
                });
            }
            _ => {}
        }
    }

    /// The habit starting at token `i`, if any: reported, its rewrite
    /// pushed; returns the index after what it consumed.
    #[allow(clippy::too_many_lines)]
    fn habit(&mut self, i: usize) -> Option<usize> {
        // Borrowed from the old tokens, not cloned: this runs on every token.
        let old: &'a [(Tok, Span)] = self.old;
        let (t, s) = (&old[i].0, old[i].1);
        let next = old.get(i + 1).map(|(t, _)| t);
        if !may_start_habit(t, next) {
            return None;
        }
        if let Some(after) = self
            .decl_habit(i)
            .or_else(|| self.word_habit(i))
            .or_else(|| self.newcomer_habit(i))
            .or_else(|| self.idiom_habit(i))
        {
            return Some(after);
        }
        let touching = self.touching(i);
        match (t, next) {
            // `a <> b`
            (Tok::Sym("<"), Some(Tok::Sym(">"))) if touching && ends_operand(self.prev()) => {
                let both = s.to(self.span(i + 1));
                self.diags.push(
                    e("KPL writes `<>` as `!=`", both, "not an operator in KPL").with_fix(
                        "write `!=`",
                        both,
                        "!=",
                    ),
                );
                self.push(Tok::Sym("!="), both);
                Some(i + 2)
            }
            // `a === b`, `a !== b`
            (Tok::Sym(op @ ("==" | "!=")), Some(Tok::Sym("="))) if touching => {
                let both = s.to(self.span(i + 1));
                let found = format!("{op}=");
                self.diags.push(
                    e(format!("KPL has no `{found}`"), both, "JavaScript's strict comparison")
                        .with_note("KPL never converts a value to another type, so `==` and `!=` are already strict")
                        .with_fix(format!("write `{op}`"), both, *op),
                );
                self.push(Tok::Sym(op), both);
                Some(i + 2)
            }
            // `x ** 2`
            (Tok::Sym("*"), Some(Tok::Sym("*"))) if touching && ends_operand(self.prev()) => {
                let both = s.to(self.span(i + 1));
                let mut d = e("KPL has no power operator `**`", both, "exponentiation");
                // `x ** 2` is `x * x` when `x` is a whole operand.
                let square = match (self.prev(), self.tok(i + 2), self.tok(i + 3)) {
                    (Some((Tok::Ident(x), xs)), Some(Tok::Int(2)), after)
                        if !matches!(
                            self.out()
                                .len()
                                .checked_sub(2)
                                .and_then(|k| self.out().get(k)),
                            Some((Tok::Sym("." | "->"), _))
                        ) && !matches!(
                            after,
                            Some(Tok::Kw("as") | Tok::Sym("(" | "[" | "."))
                        ) =>
                    {
                        Some((format!("{x} * {x}"), xs.to(self.span(i + 2))))
                    }
                    _ => None,
                };
                d = match square {
                    Some((fix, span)) => d.with_fix(format!("multiply: `{fix}`"), span, fix),
                    None => d.with_help(
                        "multiply it out (`x * x * x`), or multiply in a loop for a variable exponent",
                    ),
                };
                self.diags.push(d);
                self.push(Tok::Sym("*"), both);
                Some(i + 2)
            }
            // Java's `x >>> 1`, `x >>>= 1`
            (Tok::Sym(">>"), Some(Tok::Sym(rest @ (">" | ">=")))) if touching => {
                let both = s.to(self.span(i + 1));
                let kpl = if *rest == ">" { ">>" } else { ">>=" };
                self.diags.push(
                    e(
                        format!("KPL has no `>>{rest}`"),
                        both,
                        "Java's unsigned shift",
                    )
                    .with_note(
                        "`>>` shifts zeros in for the unsigned types (`u8` … `u64`) and copies the sign bit for the signed ones",
                    )
                    .with_maybe_fix(
                        format!("write `{kpl}`, on an unsigned value (`x as u32 >> 1` for an `i32` `x`)"),
                        both,
                        kpl,
                    ),
                );
                self.push(Tok::Sym(kpl), both);
                Some(i + 2)
            }
            // Rust's `let (a, b) = (x, y);`
            (Tok::Kw(k @ ("let" | "var")), Some(Tok::Sym("("))) => self.tuple_let(i, k),
            // C's designated initialiser without the dot: `P { x = 1 }`
            (Tok::Sym("{"), Some(Tok::Ident(_)))
                if self.braces > 0
                    && self.header.is_none()
                    && self.is(i + 2, "=")
                    && matches!(self.prev(), Some((Tok::Ident(n), _))
                        if !matches!(&**n, "loop" | "do" | "match" | "switch" | "unsafe" | "else"))
                    // `-> u32 {` opens a function's body (inside an unclosed
                    // block, a function can follow `{` at depth > 0).
                    && !matches!(self.out().iter().rev().nth(1), Some((Tok::Sym("->"), _)))
                    && self.pair[i] != usize::MAX =>
            {
                let close = self.pair[i];
                // The field names: after the `{` and after each `,` at this
                // level, when followed by `=`.
                let mut fields = Vec::new();
                let mut k = i + 1;
                let mut at_start = true;
                while k < close {
                    // A `;` makes it a block (`esle { y = 1; }`, a misspelt
                    // `else`), not a literal missing its dots.
                    if self.is(k, ";") {
                        return None;
                    }
                    if at_start && matches!(self.tok(k), Some(Tok::Ident(_))) && self.is(k + 1, "=")
                    {
                        fields.push(k);
                    }
                    at_start = self.is(k, ",");
                    k = self.next_at_level(k);
                }
                let edits: Vec<Suggestion> = fields
                    .iter()
                    .map(|&f| {
                        let at = self.span(f).start as usize;
                        edit(Span::new(at, at), ".")
                    })
                    .collect();
                let span = self.prev().map_or(s, |(_, p)| *p).to(self.span(close));
                self.diags.push(
                    e(
                        "struct literal fields are written `.name = value`",
                        span,
                        "C's designated initialiser without its `.`",
                    )
                    .with_fix_edits(
                        "put a `.` before each field name",
                        Applicability::MachineApplicable,
                        edits,
                    ),
                );
                self.track(t, i);
                self.push(t.clone(), s);
                for &f in &fields {
                    let at = self.span(f).start as usize;
                    let mut toks = vec![(Tok::Sym("."), Span::new(at, at))];
                    toks.push(self.old[f].clone());
                    self.later.insert(f, toks);
                }
                Some(i + 1)
            }
            // Go's `y := x + 1;`
            (Tok::Ident(name), Some(Tok::Sym(":")))
                if self.is(i + 2, "=")
                    && self.touching(i + 1)
                    && starts_statement(self.prev())
                    && self.braces > 0 =>
            {
                let assign = self.span(i + 1).to(self.span(i + 2));
                // `var` when a later statement of the block assigns it.
                let kw = if self.assigned_later(i + 3, name) {
                    "var"
                } else {
                    "let"
                };
                self.diags.push(
                    e(
                        "KPL declares a local with `let` (or `var`), not `:=`",
                        assign,
                        "Go's short declaration",
                    )
                    .with_fix_edits(
                        format!("write `{kw} {name} = …`"),
                        // A value of literals alone (`y := 0`) takes the
                        // type `i32` where Go's took the type of its uses.
                        if self.typed_value(i + 3) {
                            Applicability::MachineApplicable
                        } else {
                            Applicability::MaybeIncorrect
                        },
                        vec![edit(s.start_point(), format!("{kw} ")), edit(assign, "=")],
                    ),
                );
                self.push(Tok::Kw(kw), s.start_point());
                self.push(t.clone(), s);
                self.push(Tok::Sym("="), assign);
                Some(i + 3)
            }
            // Python's `not x`
            (Tok::Ident(w), _)
                if &**w == "not"
                    && !ends_operand(self.prev())
                    && !matches!(
                        self.prev(),
                        Some((
                            Tok::Kw("fn" | "let" | "var" | "const" | "static" | "struct" | "for"),
                            _
                        ))
                    )
                    && starts_operand(self.at(i + 1)) =>
            {
                let upto = Span::new(s.start as usize, self.span(i + 1).start as usize);
                self.diags
                    .push(e("KPL writes `not` as `!`", s, "Python's `not`").with_fix(
                        "write `!`",
                        upto,
                        "!",
                    ));
                self.push(Tok::Sym("!"), s);
                Some(i + 1)
            }
            // `} elif c {`
            (Tok::Ident(w), _)
                if matches!(&**w, "elif" | "elsif" | "elseif")
                    && matches!(self.prev(), Some((Tok::Sym("}"), _)))
                    && starts_operand(self.at(i + 1)) =>
            {
                self.diags.push(
                    e(
                        format!("KPL writes `{w}` as `else if`"),
                        s,
                        "not a KPL keyword",
                    )
                    .with_fix("write `else if`", s, "else if"),
                );
                let mid = (s.start as usize + 2).min(s.end as usize);
                self.push(Tok::Kw("else"), Span::new(s.start as usize, mid));
                self.push(Tok::Kw("if"), Span::new(mid, s.end as usize));
                Some(i + 1)
            }
            // C's `--i;` and `++i;`, and `i++;` and `i--;`
            (Tok::Sym(op @ ("+" | "-")), Some(Tok::Sym(op2)))
                if op == op2 && touching && starts_statement(self.prev()) =>
            {
                let Some(Tok::Ident(x)) = self.tok(i + 2).cloned() else {
                    return None;
                };
                if !self.is(i + 3, ";") {
                    return None;
                }
                let whole = s.to(self.span(i + 2));
                self.increment(op, &x, whole, self.span(i + 2));
                Some(i + 3)
            }
            (Tok::Ident(x), Some(Tok::Sym(op @ ("+" | "-"))))
                if starts_statement(self.prev())
                    && self.is(i + 2, op)
                    && self.touching(i + 1)
                    && self.is(i + 3, ";") =>
            {
                let whole = s.to(self.span(i + 2));
                self.increment(op, &x.clone(), whole, s);
                Some(i + 3)
            }
            // Rust's `u32::MAX`
            (Tok::Ident(ty), Some(Tok::Sym("::"))) if INT_TYPES.contains(&&**ty) => {
                let name = ident(self.tok(i + 2)?)?.to_string();
                let value = associated_constant(ty, &name)?;
                let whole = s.to(self.span(i + 2));
                let in_operation = matches!(
                    self.prev(),
                    Some((
                        Tok::Sym(
                            "==" | "!="
                                | "<"
                                | "<="
                                | ">"
                                | ">="
                                | "+"
                                | "-"
                                | "*"
                                | "/"
                                | "%"
                                | "&"
                                | "|"
                                | "^"
                                | "+="
                                | "-="
                                | "&="
                                | "|="
                                | "^="
                        ),
                        _
                    ))
                );
                let applicability = if in_operation {
                    Applicability::MachineApplicable
                } else {
                    Applicability::MaybeIncorrect
                };
                self.diags.push(
                    e(
                        format!("KPL has no associated constants: `{ty}::{name}` is `{value}`"),
                        whole,
                        "Rust's associated constant",
                    )
                    .with_fix_edits(
                        "write the number",
                        applicability,
                        vec![edit(whole, value.clone())],
                    ),
                );
                match value.strip_prefix('-') {
                    Some(digits) => {
                        self.push(
                            Tok::Sym("-"),
                            Span::new(s.start as usize, s.start as usize + 1),
                        );
                        let v = digits.parse().unwrap_or(0);
                        self.push(
                            Tok::Int(v),
                            Span::new(s.start as usize + 1, whole.end as usize),
                        );
                    }
                    None => {
                        let v = super::parse_int(&value).unwrap_or(0);
                        self.push(Tok::Int(v), whole);
                    }
                }
                Some(i + 3)
            }
            // Rust's macros: `println!(…)`, `assert!(…)`, `vec![…]`
            (Tok::Ident(name), Some(Tok::Sym("!")))
                if touching && (self.is(i + 2, "(") || self.is(i + 2, "[")) =>
            {
                Some(self.macro_call(i, &name.clone()))
            }
            // Rust's `fn max<T>(…)`
            (Tok::Kw("fn"), Some(Tok::Ident(_))) if self.is(i + 2, "<") => {
                // The `>` closing the parameters, within a few tokens.
                let close = (i + 3..self.old.len().min(i + 40))
                    .take_while(|&k| !self.is(k, "(") && !self.is(k, "{") && !self.is(k, ";"))
                    .find(|&k| self.is(k, ">") || self.is(k, ">>"))?;
                let generics = self.span(i + 2).to(self.span(close));
                self.diags.push(
                    e("KPL has no generics", generics, "type parameters")
                        .with_help("write the function for the type it is used with (one function per type): `fn max(a: u32, b: u32) -> u32`"),
                );
                self.push(t.clone(), s);
                let (n, ns) = self.old[i + 1].clone();
                self.push(n, ns);
                Some(close + 1)
            }
            // Rust's `while let x = e {`, `if let`
            (Tok::Kw(k @ ("while" | "if")), Some(Tok::Kw("let"))) => {
                let kw = *k;
                let mut d = e(
                    format!("KPL has no `{kw} let`"),
                    s.to(self.span(i + 1)),
                    "Rust's pattern matching",
                )
                .with_note("KPL has no patterns, `Option` or `Result`: a condition is a `bool`");
                d = d.with_help(format!("test a condition: `{kw} i > 0 {{ … }}`"));
                self.diags.push(d);
                self.track(t, i);
                self.push(t.clone(), s);
                // `let x =` is dropped; the value is read as the condition.
                let skip = if matches!(self.tok(i + 2), Some(Tok::Ident(_))) && self.is(i + 3, "=")
                {
                    i + 4
                } else {
                    i + 2
                };
                Some(skip)
            }
            // Go's and Python's `return a, b;`
            (Tok::Sym(","), _) if self.ret == Some(0) => {
                let k = self.statement_end(i);
                // (Not the arms of Rust's `match`, reported on their own.)
                if !self.is(k, ";") {
                    return None;
                }
                let extra = s.to(self.span(k - 1));
                self.diags.push(
                    e("a function returns one value", extra, "a second value")
                        .with_help("return a struct with a field for each value, or write one function per value"),
                );
                Some(k)
            }
            // `export add(…)`: `fn` forgotten
            (Tok::Kw("export"), Some(Tok::Ident(_))) if self.is(i + 2, "(") => {
                let at = self.span(i + 1).start_point();
                self.diags.push(
                    e(
                        "a function is declared with `fn`",
                        self.span(i + 1),
                        "expected `fn` before the name",
                    )
                    .with_fix("write `export fn`", at, "fn "),
                );
                self.push(t.clone(), s);
                self.push(Tok::Kw("fn"), at);
                Some(i + 1)
            }
            // `fn f(x: u32) u32 {`: `->` forgotten
            (Tok::Sym(")"), Some(Tok::Ident(ty)))
                if self.sig.is_some_and(|(_, close)| close == i)
                    && self.is(i + 2, "{")
                    && names_a_type(ty) =>
            {
                let at = s.end_point();
                let before_type = self.span(i + 1).start_point();
                self.diags.push(
                    e(
                        "a function's return type follows `->`",
                        self.span(i + 1),
                        "expected `->` before the type",
                    )
                    .with_fix("write `->`", before_type, "-> "),
                );
                self.track(t, i);
                self.push(t.clone(), s);
                self.push(Tok::Sym("->"), at);
                Some(i + 1)
            }
            // Rust's `let y = if c { 1 } else { 2 };` (`more.rs`)
            (Tok::Sym("}"), Some(Tok::Sym(";")))
                if self.braces >= 2
                    && let Some(at) = self.if_used_as_value(i) =>
            {
                self.report_if_as_value(t, s, i, at)
            }
            // `while c { … };`: a `;` after a block
            (Tok::Sym("}"), Some(Tok::Sym(";")))
                if self.braces >= 2 && self.block_not_literal(i) =>
            {
                let semi = self.span(i + 1);
                self.diags.push(
                    e("no `;` goes after a block", semi, "not needed after `}`").with_fix(
                        "remove the `;`",
                        semi,
                        "",
                    ),
                );
                self.track(t, i);
                self.push(t.clone(), s);
                Some(i + 2)
            }
            // C's `unsigned int`, `long long`, … as one type name
            (Tok::Ident(a), Some(Tok::Ident(b)))
                if matches!(&**a, "unsigned" | "signed" | "long" | "short")
                    && matches!(&**b, "int" | "char" | "short" | "long") =>
            {
                let mut end = i + 1;
                if matches!(self.tok(i + 2), Some(Tok::Ident(c)) if matches!(&**c, "int" | "long"))
                {
                    end = i + 2;
                }
                let whole = s.to(self.span(end));
                let words: Vec<&str> = (i..=end)
                    .filter_map(|k| self.tok(k).and_then(ident))
                    .collect();
                self.push(Tok::Ident(words.join(" ").into()), whole);
                Some(end + 1)
            }
            // Rust's `mut x: u32` and C's `u32 x` as parameters
            (Tok::Kw("mut"), Some(Tok::Ident(x))) if self.in_params(i) && self.is(i + 2, ":") => {
                let x = x.clone();
                let body = self.body_open()?;
                let body_at = self.span(body);
                let after = body_at.end_point();
                self.diags.push(
                    e(
                        "a parameter cannot be `mut` in KPL",
                        s,
                        "Rust's `mut` parameter",
                    )
                    .with_note("parameters never change; a `var` declared from one can")
                    .with_fix_edits(
                        "remove `mut` and copy the parameter into a `var` at the start of the body",
                        Applicability::MachineApplicable,
                        vec![
                            edit(
                                Span::new(s.start as usize, self.span(i + 1).start as usize),
                                "",
                            ),
                            edit(after, format!("\n    var {x} = {x};")),
                        ],
                    ),
                );
                let mut open = vec![self.old[body].clone()];
                if let Some(prev) = self.later.remove(&body) {
                    open = prev;
                }
                open.extend([
                    (Tok::Kw("var"), after),
                    (Tok::Ident(x.clone()), after),
                    (Tok::Sym("="), after),
                    (Tok::Ident(x), after),
                    (Tok::Sym(";"), after),
                ]);
                self.later.insert(body, open);
                Some(i + 1)
            }
            (Tok::Ident(ty), Some(Tok::Ident(x)))
                if self.in_params(i)
                    && names_a_type(ty)
                    // `byte u32` is Go's order (or a lost `:`), not C's: a
                    // KPL type second names the type, whatever the first
                    // word could mean in C (the parser reports it so).
                    && (is_kpl_type(ty) || !is_kpl_type(x))
                    && (self.is(i + 2, ",")
                        || self.is(i + 2, ")")
                        || self.c_array_declarator(i + 2).is_some()) =>
            {
                let element = crate::suggest::foreign_type(ty)
                    .map_or(&**ty, |(k, _)| k)
                    .to_string();
                // C's `uint8_t buf[16]` parameter is a pointer to the
                // buffer's first element: in KPL, a slice.
                let array = self.c_array_declarator(i + 2);
                let last = array.unwrap_or(i + 1);
                let kpl = match array {
                    Some(_) => format!("[]{element}"),
                    None => element.clone(),
                };
                let whole = s.to(self.span(last));
                let fix = format!("{x}: {kpl}");
                // One diagnostic per parameter list, fixing every parameter.
                let sig = self.sig.map(|(open, _)| open);
                match self.param_diag {
                    Some((at, d)) if Some(at) == sig => {
                        if let Some(h) = self.diags[d].help.first_mut() {
                            h.edits.push(edit(whole, fix));
                            h.message = "write each parameter as `name: type`".into();
                        }
                    }
                    _ => {
                        self.param_diag = sig.map(|at| (at, self.diags.len()));
                        self.diags.push(
                            e(
                                "a parameter is written `name: type`",
                                whole,
                                "C's parameter declaration",
                            )
                            .with_fix(
                                format!("write `{fix}`"),
                                whole,
                                fix,
                            ),
                        );
                    }
                }
                let ns = self.span(i + 1);
                self.push(Tok::Ident(x.clone()), s);
                self.push(Tok::Sym(":"), s.end_point());
                if let Some(close) = array {
                    self.push(Tok::Sym("["), self.span(i + 2));
                    self.push(Tok::Sym("]"), self.span(close));
                }
                self.push(Tok::Ident(element.into()), ns);
                Some(last + 1)
            }
            // `1.5`
            (Tok::Int(_) | Tok::BadInt, Some(Tok::Sym(".")))
                if touching
                    && self.touching(i + 1)
                    && matches!(self.tok(i + 2), Some(Tok::Int(_) | Tok::BadInt))
                    && !matches!(self.prev(), Some((Tok::Sym("."), _))) =>
            {
                let whole = s.to(self.span(i + 2));
                self.diags.push(
                    Diagnostic::new(
                        Code::E0004,
                        "KPL has no floating-point numbers",
                        whole,
                        "a decimal fraction",
                    )
                    .with_note("all KPL arithmetic is on integers")
                    .with_help(
                        "scale to an integer unit (thousandths, say), or multiply and divide: `x * 3 / 2` is `x * 1.5` rounded down",
                    ),
                );
                self.push(Tok::BadInt, whole);
                Some(i + 3)
            }
            // Python's `for i in range(n)`
            (Tok::Kw("in"), Some(Tok::Ident(r))) if &**r == "range" && self.is(i + 2, "(") => {
                self.range_call(i)
            }
            // `for i in 0..n step 2 {`
            (Tok::Ident(w), _)
                if matches!(&**w, "step" | "by")
                    && ends_operand(self.prev())
                    && self
                        .header
                        .as_ref()
                        .is_some_and(|h| h.kw == "for" && h.range && h.depth == 0) =>
            {
                // Up to the body's `{`.
                let mut k = i + 1;
                while k < self.old.len() && !self.is(k, "{") {
                    k = self.next_at_level(k);
                }
                let end = self.span(k - 1).end as usize;
                let extra = Span::new(s.start as usize, end);
                self.diags.push(
                    e(
                        format!("KPL's ranges count up by one: there is no `{w}`"),
                        extra,
                        "not part of a `for` header",
                    )
                    .with_help(
                        "to step by more, loop with `while`: `var i = a; while i < b { …; i += 2; }`",
                    ),
                );
                Some(k)
            }
            // C's `if (x > 255); {`
            (Tok::Sym(";"), Some(Tok::Sym("{")))
                if self
                    .header
                    .as_ref()
                    .is_some_and(|h| h.kw != "for" && h.depth == 0) =>
            {
                let kw = self.header.as_ref().map_or("if", |h| h.kw);
                // A statement block after C's `do { … } while (c);` is not this.
                if kw == "while" && self.after_do_block() {
                    return None;
                }
                self.diags.push(
                    e(
                        format!("no `;` goes between the condition of `{kw}` and its block"),
                        s,
                        "this `;` ends the statement",
                    )
                    .with_fix("remove the `;`", s, ""),
                );
                Some(i + 1)
            }
            // C's `goto out;`
            (Tok::Ident(w), Some(Tok::Ident(_)))
                if &**w == "goto" && self.is(i + 2, ";") && starts_statement(self.prev()) =>
            {
                let whole = s.to(self.span(i + 2));
                self.diags.push(
                    e("KPL has no `goto`", whole, "C's jump")
                        .with_help("leave a loop with `break`, go on with its next round with `continue`, leave the function with `return`"),
                );
                Some(i + 3)
            }
            (Tok::Ident(w), Some(Tok::Ident(_)))
                if self.braces == 0 && starts_statement(self.prev()) =>
            {
                self.foreign_item(i, &w.clone())
            }
            (Tok::Kw(k @ ("fn" | "use" | "const" | "static" | "struct")), _)
                if self.braces > 0 && starts_statement(self.prev()) =>
            {
                self.nested_item(i, k, false)
            }
            _ => self.more_habit(i),
        }
    }

    /// Whether the `}` at `close` ends a block of statements, not a struct
    /// literal: its `{` follows `else`, `)` or `]`, or what it holds starts
    /// like a statement.
    fn block_not_literal(&self, close: usize) -> bool {
        let open = self.pair[close];
        if open == usize::MAX || open >= close {
            return false;
        }
        let before = open.checked_sub(1).and_then(|k| self.tok(k));
        matches!(before, Some(Tok::Kw("else") | Tok::Sym(")" | "]")))
            || self
                .tok(open + 1)
                .is_some_and(|t| is_statement_keyword(t) || *t == Tok::Sym("}"))
    }

    /// Whether token `i` starts a parameter of the function being read
    /// (right after its `(` or a `,`). A `,` inside a parameter's type
    /// cannot be valid KPL, so the brackets between are not counted (which
    /// would cost the list's length per parameter).
    fn in_params(&self, i: usize) -> bool {
        let Some((open, close)) = self.sig else {
            return false;
        };
        i > open && i < close && (i == open + 1 || self.is(i - 1, ","))
    }

    /// The `]` of C's array declarator `[]` or `[N]` at `open`, when a
    /// parameter ends with it (`,` or `)` follows).
    fn c_array_declarator(&self, open: usize) -> Option<usize> {
        if !self.is(open, "[") {
            return None;
        }
        let close = *self.pair.get(open)?;
        let short = close == open + 1
            || (close == open + 2
                && matches!(self.tok(open + 1), Some(Tok::Int(_) | Tok::Ident(_))));
        (close != usize::MAX && short && (self.is(close + 1, ",") || self.is(close + 1, ")")))
            .then_some(close)
    }

    /// The `{` of the body of the function whose parameters are read.
    fn body_open(&self) -> Option<usize> {
        let (_, close) = self.sig?;
        (close + 1..self.old.len().min(close + 12)).find(|&k| self.is(k, "{"))
    }

    /// Whether the `while` whose header is being read follows the block of
    /// C's `do { … }`.
    fn after_do_block(&self) -> bool {
        let toks = self.out();
        let Some(w) = toks.iter().rposition(|(t, _)| *t == Tok::Kw("while")) else {
            return false;
        };
        let Some(close) = w.checked_sub(1) else {
            return false;
        };
        if !matches!(toks.get(close), Some((Tok::Sym("}"), _))) {
            return false;
        }
        // The `{` paired with that `}` among the kept tokens.
        let mut depth = 0usize;
        for k in (0..close).rev() {
            match &toks[k].0 {
                Tok::Sym("}") => depth += 1,
                Tok::Sym("{") if depth == 0 => {
                    return matches!(k.checked_sub(1).map(|p| &toks[p].0), Some(Tok::Ident(d)) if &**d == "do");
                }
                Tok::Sym("{") => depth -= 1,
                _ => {}
            }
        }
        false
    }

    /// `++x;`, `x++;` (and `--`): reported and read as `x += 1;`.
    fn increment(&mut self, op: &str, x: &str, whole: Span, name: Span) {
        let kpl = format!("{x} {op}= 1");
        self.diags.push(
            e(
                format!("KPL has no `{op}{op}` operator"),
                whole,
                if op == "+" {
                    "C's increment"
                } else {
                    "C's decrement"
                },
            )
            .with_fix(format!("write `{kpl}`"), whole, kpl.clone()),
        );
        let at = name.end_point();
        self.push(Tok::Ident(x.into()), name);
        self.push(Tok::Sym(if op == "+" { "+=" } else { "-=" }), at);
        self.push(Tok::Int(1), at);
    }

    /// `in range(n)` / `in range(a, b)` at `i` (the `in`).
    fn range_call(&mut self, i: usize) -> Option<usize> {
        let open = i + 2;
        let close = *self.pair.get(open)?;
        if close == usize::MAX || close == open + 1 {
            return None;
        }
        let commas: Vec<usize> = {
            let mut v = Vec::new();
            let mut k = open + 1;
            while k < close {
                if self.is(k, ",") {
                    v.push(k);
                }
                k = self
                    .pair
                    .get(k)
                    .copied()
                    .filter(|&p| p > k && p < close)
                    .unwrap_or(k)
                    + 1;
            }
            v
        };
        let head = self.span(i + 1).to(self.span(open));
        let closer = self.span(close);
        let (d_in, s_in) = self.old[i].clone();
        self.push(d_in, s_in);
        let d = e(
            "KPL's `for` takes a range `a..b`, not `range(…)`",
            self.span(i + 1).to(closer),
            "Python's `range`",
        );
        // `range(len(xs))`: KPL's length is the field `xs.len`.
        if close == open + 5
            && matches!(self.tok(open + 1), Some(Tok::Ident(l)) if &**l == "len")
            && self.is(open + 2, "(")
            && matches!(self.tok(open + 3), Some(Tok::Ident(_)))
            && self.is(open + 4, ")")
        {
            let (name, name_span) = self.old[open + 3].clone();
            let fix = format!("0..{}.len", self.text(name_span));
            self.diags.push(d.with_fix_edits(
                format!("write `{fix}` (a slice's or array's length is its field `len`)"),
                Applicability::MachineApplicable,
                vec![edit(self.span(i + 1).to(closer), fix)],
            ));
            let inner = self.span(open + 4);
            self.push(Tok::Int(0), head.start_point());
            self.push(Tok::Sym(".."), head);
            self.push(name, name_span);
            self.push(Tok::Sym("."), inner.start_point());
            self.push(Tok::Ident("len".into()), inner);
            return Some(close + 1);
        }
        match commas.as_slice() {
            [] => {
                self.diags.push(d.with_fix_edits(
                    "write `0..n`",
                    Applicability::MachineApplicable,
                    vec![edit(head, "0.."), edit(closer, "")],
                ));
                self.push(Tok::Int(0), head.start_point());
                self.push(Tok::Sym(".."), head);
            }
            [comma, ..] => {
                let comma = *comma;
                let mut d = d;
                if commas.len() == 1 {
                    let c = self.span(comma);
                    let after = self.span(comma + 1);
                    d = d.with_fix_edits(
                        "write `a..b`",
                        Applicability::MachineApplicable,
                        vec![
                            edit(head, ""),
                            edit(Span::new(c.start as usize, after.start as usize), ".."),
                            edit(closer, ""),
                        ],
                    );
                } else {
                    d = d.with_help(
                        "KPL's ranges count up by one: to step by more, loop with `while`",
                    );
                }
                self.diags.push(d);
                self.later
                    .insert(comma, vec![(Tok::Sym(".."), self.span(comma))]);
                // Anything after a second comma (the step) is dropped.
                if let Some(&second) = commas.get(1) {
                    for k in second..close {
                        self.later.insert(k, Vec::new());
                    }
                }
            }
        }
        self.later.insert(close, Vec::new());
        Some(open + 1)
    }

    /// A top-level item KPL does not have (`enum`, `impl`, `typedef`, ...)
    /// at `i`: reported and skipped as a whole.
    fn foreign_item(&mut self, i: usize, w: &str) -> Option<usize> {
        let (message, help): (&str, &str) = match w {
            "enum" => (
                "KPL has no `enum`",
                "name the values with constants: `const PASS: u32 = 0;`",
            ),
            "impl" | "trait" => (
                "KPL has no methods or traits",
                "write plain functions: `fn get(n: u32) -> u32 { … }`",
            ),
            "class" => (
                "KPL has no classes",
                "a `struct` holds data; functions are written at the top level",
            ),
            "union" => (
                "KPL has no `union`",
                "use a `struct`, or one integer and shifts and masks",
            ),
            "typedef" | "type" => (
                "KPL has no type aliases",
                "write the type itself where the alias would be used",
            ),
            "namespace" | "mod" | "module" => (
                "KPL has no modules or namespaces",
                "a plugin is one file: write its items at the top level",
            ),
            _ => return None,
        };
        // To the item's end: its first `{ … }` group, or its `;`.
        let mut k = i + 1;
        let end = loop {
            match self.tok(k) {
                None => break k.saturating_sub(1),
                Some(Tok::Sym(";")) => break k,
                Some(Tok::Sym("{")) => match self.pair[k] {
                    usize::MAX => break k,
                    close => {
                        // `typedef struct { … } Name;` goes on to its `;`.
                        if self.is(close + 1, ";")
                            || (matches!(self.tok(close + 1), Some(Tok::Ident(_)))
                                && self.is(close + 2, ";"))
                        {
                            k = close + 1;
                            continue;
                        }
                        break close;
                    }
                },
                Some(Tok::Sym("(" | "[")) if self.pair[k] != usize::MAX => k = self.pair[k] + 1,
                Some(Tok::Kw(kw)) if crate::parser::ITEM_KEYWORDS.contains(kw) => {
                    break k.saturating_sub(1);
                }
                Some(_) => k += 1,
            }
        };
        let span = self.span(i);
        let whole = span.to(self.span(end));
        let mut d = e(message, span, "not a KPL item");
        if self.text(whole).contains('\n') {
            d = d.with_secondary(whole.end_point(), "skipped up to here");
        }
        self.diags.push(d.with_help(help));
        Some(end + 1)
    }

    /// Where the item whose keyword `k` is at `i` has its body's `{` (a
    /// `fn` or `struct`; `None` for the others) and its last token: the
    /// `}` paired with that `{`, or the `;` of the others. `None` if that
    /// is not before `bound` (the item is not whole inside its container).
    fn item_extent(&self, i: usize, k: &str, bound: usize) -> Option<(Option<usize>, usize)> {
        let braced = matches!(k, "fn" | "struct");
        let mut j = i + 1;
        loop {
            match self.tok(j)? {
                Tok::Sym("{") if braced => {
                    let close = self.pair[j];
                    return (close != usize::MAX && close < bound).then_some((Some(j), close));
                }
                Tok::Sym(";") if !braced => return (j < bound).then_some((None, j)),
                Tok::Sym("}") => return None,
                Tok::Sym("(" | "[" | "{") => {
                    let close = self.pair[j];
                    if close == usize::MAX || close >= bound {
                        return None;
                    }
                    j = close + 1;
                }
                _ => j += 1,
            }
        }
    }

    /// The tokens `i..=last` of a nested item, with the items nested in it
    /// (at any depth) taken out and put after it, each whole, outer ones
    /// first: the item and everything in it as top-level items. Also the
    /// items in that order: their first and last tokens and the index of
    /// the item they were nested in. One walk, linear in the tokens.
    fn flatten(&self, i: usize, body: Option<usize>, last: usize) -> Flattened {
        // Which item each token belongs to, then the tokens grouped by item
        // (a counting sort, so in order within each): a buffer per item was
        // several allocations for each of thousands of nested items.
        let mut owner: Vec<usize> = Vec::with_capacity(last + 1 - i);
        let mut counts = vec![0usize];
        let mut items = vec![(i, last, None)];
        // The items being read, innermost last: the index of each (in
        // `counts` and `items`), where its body starts and where it ends.
        let mut open: Vec<(usize, Option<usize>, usize)> = vec![(0, body, last)];
        for j in i..=last {
            while open.len() > 1 && open.last().is_some_and(|&(_, _, end)| j > end) {
                open.pop();
            }
            let Some(&(mut cur, body, end)) = open.last() else {
                break;
            };
            if let Some(Tok::Kw(k @ ("fn" | "use" | "const" | "static" | "struct"))) = self.tok(j)
                && body.is_some_and(|b| j > b)
                && starts_statement(self.old.get(j - 1))
                && let Some((inner_body, inner_end)) = self.item_extent(j, k, end)
            {
                items.push((j, inner_end, Some(cur)));
                cur = counts.len();
                counts.push(0);
                open.push((cur, inner_body, inner_end));
            }
            if let (Some(n), Some(_)) = (counts.get_mut(cur), self.old.get(j)) {
                *n += 1;
                owner.push(cur);
            }
        }
        // Where each item's tokens start in the result.
        let mut next: Vec<usize> = counts
            .iter()
            .scan(0, |at, &n| {
                let start = *at;
                *at += n;
                Some(start)
            })
            .collect();
        let mut order = vec![0usize; owner.len()];
        for (k, &o) in owner.iter().enumerate() {
            order[next[o]] = i + k;
            next[o] += 1;
        }
        Flattened {
            tokens: order.iter().map(|&j| self.old[j].clone()).collect(),
            items,
        }
    }

    /// The whole lines of the tokens `first..=last` (with the line break
    /// after them) and their indentation, if nothing else is on them.
    fn own_lines(&self, first: usize, last: usize) -> Option<(Span, &str)> {
        let src = self.src;
        let (start, end) = (
            self.span(first).start as usize,
            self.span(last).end as usize,
        );
        // Walked a blank at a time from the tokens, not searched for the
        // line breaks: searched, each of a hundred thousand items written
        // on one line in a body read the whole line (over 6 s a MiB).
        let bytes = src.as_bytes();
        let mut line_start = start;
        while line_start > 0 && matches!(bytes[line_start - 1], b' ' | b'\t') {
            line_start -= 1;
        }
        if line_start > 0 && bytes[line_start - 1] != b'\n' {
            return None;
        }
        let indent = &src[line_start..start];
        let rest = &src[end..];
        let mut line_rest = rest.len();
        for (i, c) in rest.char_indices() {
            if c == '\n' {
                line_rest = i + 1;
                break;
            }
            if !c.is_whitespace() {
                return None;
            }
        }
        Some((Span::new(line_start, end + line_rest), indent))
    }

    /// The text that the items of `flat` become after the function: each
    /// item's own lines without those of the items nested in it, dedented,
    /// outer ones first. `None` if an item shares a line with other code.
    fn flattened_text(&self, flat: &Flattened) -> Option<String> {
        let cuts = flat
            .items
            .iter()
            .map(|&(first, last, _)| self.own_lines(first, last))
            .collect::<Option<Vec<_>>>()?;
        // The items directly inside each one, in order: those of item `p`
        // are `kids[kids_at[p]..kids_at[p + 1]]` (one list for all, not one
        // per item: there may be thousands).
        let mut kids_at = vec![0usize; cuts.len() + 1];
        for &(_, _, parent) in &flat.items {
            if let Some(n) = parent.and_then(|p| kids_at.get_mut(p + 1)) {
                *n += 1;
            }
        }
        for p in 1..kids_at.len() {
            kids_at[p] += kids_at[p - 1];
        }
        let mut fill = kids_at.clone();
        let mut kids = vec![0usize; kids_at[cuts.len()]];
        for (k, &(_, _, parent)) in flat.items.iter().enumerate() {
            if let Some(p) = parent.filter(|&p| p < cuts.len()) {
                kids[fill[p]] = k;
                fill[p] += 1;
            }
        }
        // Each item's own text, dedented line by line, straight into the
        // result, items separated by a blank line.
        let mut text = String::new();
        let mut own = String::new();
        for (p, &(cut, indent)) in cuts.iter().enumerate() {
            own.clear();
            let mut at = cut.start as usize;
            for kid in kids[kids_at[p]..kids_at[p + 1]]
                .iter()
                .filter_map(|&k| cuts.get(k))
                .map(|&(kid, _)| kid)
            {
                own.push_str(&self.src[at..kid.start as usize]);
                at = kid.end as usize;
            }
            own.push_str(&self.src[at..cut.end as usize]);
            if p > 0 {
                text.push_str("\n\n");
            }
            for (n, line) in own.lines().enumerate() {
                if n > 0 {
                    text.push('\n');
                }
                text.push_str(line.strip_prefix(indent).unwrap_or(line).trim_end());
            }
        }
        Some(text)
    }
}
