//! Delimiter balancing: the pass between the lexer and the parser that makes
//! every `(`, `[` and `{` in the token stream closed, and bounds how deeply
//! they nest, so that the parser never has to guess where a group ends.
//!
//! Why a separate pass: a parser with recovery that meets an unclosed
//! delimiter cannot skip "to the matching closer", so it falls back to
//! re-parsing the rest of the file once per enclosing construct; with nested
//! unclosed groups that doubles per level. Here the stream is fixed up once,
//! in one linear walk:
//!
//! - A closer that matches the innermost open group closes it. A closer that
//!   matches an outer group first closes the groups inside it; one that
//!   matches no open group is dropped (outside any group it is left to the
//!   parser, which reports it as a stray token).
//! - Tokens that can never appear inside a group end it: an item keyword
//!   (`fn`, `struct`, … — items exist only at the top level) closes every open
//!   group; a statement keyword (`let`, `if`, `return`, …) closes the `(` and
//!   `[` groups opened since the innermost `{`; a `;` closes `(` groups
//!   (a `;` may stand directly inside `[ ]` and `{ }`, never inside `( )`);
//!   outside every `{ }`, `->` closes every group (it follows a signature's
//!   parameter list, never stands inside one); and a `{` directly inside
//!   `( )` that cannot start a struct literal (`Name {` then `.field` or
//!   `}`) closes the `( )` groups since the innermost other group: it is a
//!   block, and the `)` before it is missing (`if (x == 1 {`). Likewise
//!   a `{` after an operand directly inside `[ ]` closes the groups since
//!   the innermost block (`if a[i > 0 {`), an assignment directly inside
//!   `[ ]` closes the `[` groups on top (`a[i = 1;`), and an `else` after a
//!   `;` closes the block it stands in, unless an `if` of that block may
//!   be C's braceless one (`if c { x = 1; else {`). A `;` directly inside
//!   an index, a list or a struct literal closes it (`s[i;`, `[0, 0;`,
//!   `P { .x = 1 ;`), and a `[` closed after the statement's `;` is closed
//!   before it (`x = [0;` then a statement keyword).
//!   The end of the file closes everything.
//! - Groups are closed by *virtual* closers: empty-span tokens just after the
//!   previous real token. Each event that inserts them is one E0001 pointing
//!   at where the closer is missing, with the unclosed opener as a secondary
//!   label; the parser's own complaints about a virtual token are dropped.
//! - A group nested more than [`MAX_DEPTH`] delimiters deep is dropped
//!   (its contents and its delimiters). The group around it is still deeper
//!   than [`MAX_NESTING`](crate::parser::MAX_NESTING) syntax-tree levels
//!   (every delimiter adds at least one level below an item's top, except a
//!   parameter list or a struct's braces), so the parser's depth check
//!   reports E0508 for the item exactly where it would have without the drop.
//!   The parser therefore never recurses more than `MAX_DEPTH` groups deep,
//!   and recovery that skips a group never skips more than that many levels.

use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::lexer::Tok;
use crate::parser::{ITEM_KEYWORDS, MAX_NESTING, STMT_KEYWORDS};
use crate::span::Span;

/// Groups nested deeper than this are dropped. Two more than
/// [`MAX_NESTING`]: a function's parameter list or a struct's braces enclose
/// their contents without being a level of the syntax tree, and the group
/// around a dropped one must still be too deep by itself.
pub const MAX_DEPTH: usize = MAX_NESTING + 2;

/// A balanced token stream and what was done to get it.
pub struct Balanced {
    pub tokens: Vec<(Tok, Span)>,
    /// Whether each token of `tokens` was inserted here (a virtual closer).
    pub inserted: Vec<bool>,
    /// Groups whose contents were dropped for nesting too deeply, in source
    /// order: the first dropped opener, and the span of the outermost kept
    /// group around it (where the parser's complaints about the missing
    /// contents are not worth reporting).
    pub too_deep: Vec<(Span, Span)>,
    /// Unclosed and stray delimiters (E0001).
    pub diagnostics: Vec<Diagnostic>,
}

/// The three kinds of group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delim {
    Paren,
    Bracket,
    Brace,
}

impl Delim {
    fn of(sym: &str) -> Option<Delim> {
        match sym {
            "(" | ")" => Some(Delim::Paren),
            "[" | "]" => Some(Delim::Bracket),
            "{" | "}" => Some(Delim::Brace),
            _ => None,
        }
    }

    fn open(self) -> &'static str {
        ["(", "[", "{"][self as usize]
    }

    fn close(self) -> &'static str {
        [")", "]", "}"][self as usize]
    }
}

/// An open group: small and `Copy`, as a hostile file holds a million.
#[derive(Clone, Copy)]
struct Open {
    delim: Delim,
    /// A `(` right after `for`: C's `for (var i = 0; i < n; i++)`, which
    /// holds `;` and `var`. The parser reports it as one mistake; closing the
    /// group at its first `;` would add a cascade of unbalanced delimiters.
    c_for: bool,
    /// A `{` with an `if` directly inside: an `else` after a `;` in it may
    /// be C's braceless `if c x; else y;`, not a sign of a missing `}`.
    has_if: bool,
    /// A `[` right after an operand (an index, `s[i]`), or one with a `,`
    /// directly inside (a list, `[1, 2]`): neither holds a `;`, unlike an
    /// array's `[0; 4]` or a type's `[u8; 4]`.
    no_semicolon: bool,
    /// A `{` that starts a struct literal (`P { .x = 1 }`): it holds no `;`.
    literal: bool,
    span: Span,
    /// For a group at depth `MAX_DEPTH`: the index in `too_deep` of the
    /// first group dropped inside it.
    dropped: Option<u32>,
}

impl Open {
    /// A statement keyword closes the groups above the innermost of these.
    fn holds_statements(&self) -> bool {
        self.delim == Delim::Brace || self.c_for
    }

    /// A `;` closes the groups above the innermost of these.
    fn holds_semicolons(&self) -> bool {
        self.delim != Delim::Paren || self.c_for
    }
}

/// Indices into a stack of open groups of the ones with some property, in
/// order, so that the innermost is found at once rather than by a walk down
/// the stack (a closer that matches nothing under a million open groups
/// would walk them all, and the next one again).
#[derive(Default)]
struct Marks(Vec<u32>);

impl Marks {
    fn innermost(&self) -> Option<usize> {
        self.0.last().map(|&i| i as usize)
    }

    /// Forgets the groups from index `len` up (the stack was cut to `len`).
    fn cut(&mut self, len: usize) {
        while self.0.last().is_some_and(|&i| i as usize >= len) {
            self.0.pop();
        }
    }
}

struct Balancer {
    out: Vec<(Tok, Span)>,
    inserted: Vec<bool>,
    stack: Vec<Open>,
    /// Where in `stack` the groups of each `Delim` are.
    of_kind: [Marks; 3],
    /// Where in `stack` the groups that hold statements, and `;`, are.
    statements: Marks,
    semicolons: Marks,
    too_deep: Vec<(Span, Span)>,
    diagnostics: Vec<Diagnostic>,
    /// End of the last real token, where virtual closers go.
    last_end: u32,
    /// When the last real token is a `;`: the end of the token before it.
    /// A `[` still open after a statement's `;` lost its `]` before that
    /// `;` (`[[0; 3; 3];`), and a `]` after it would not parse.
    before_semicolon: Option<u32>,
    /// Whether the last real token was `for`.
    after_for: bool,
}

impl Balancer {
    /// Whether a token at the current depth is kept: everything inside a
    /// group nested deeper than `MAX_DEPTH` is dropped.
    fn keeps(&self, depth: usize) -> bool {
        depth <= MAX_DEPTH
    }

    fn push(&mut self, tok: Tok, span: Span, inserted: bool) {
        self.out.push((tok, span));
        self.inserted.push(inserted);
    }

    fn open(&mut self, open: Open) {
        let at = self.stack.len() as u32;
        self.of_kind[open.delim as usize].0.push(at);
        if open.holds_statements() {
            self.statements.0.push(at);
        }
        if open.holds_semicolons() {
            self.semicolons.0.push(at);
        }
        self.stack.push(open);
    }

    /// Forgets the groups from index `len` up.
    fn cut(&mut self, len: usize) {
        self.stack.truncate(len);
        for m in &mut self.of_kind {
            m.cut(len);
        }
        self.statements.cut(len);
        self.semicolons.cut(len);
    }

    /// Closes the groups above `keep` with virtual closers, as one event.
    /// Only groups up to `MAX_DEPTH` deep get a closer or a mention, so this
    /// costs at most that much however many groups it closes.
    fn close_to(&mut self, keep: usize) {
        let len = self.stack.len();
        if len <= keep {
            return;
        }
        let at = Span {
            start: self.last_end,
            end: self.last_end,
        };
        // Reported unless the whole event lies inside a dropped group.
        let kept = keep..len.min(MAX_DEPTH).max(keep);
        let mut shift = false;
        let reported = &self.stack[kept.clone()];
        if let Some(innermost) = reported.last() {
            let (open, close) = (innermost.delim.open(), innermost.delim.close());
            // The closer is missing where it can go: a `]` before the
            // statement's `;`. (The virtual closers stay after it: the
            // parser reads the group as it was written.)
            let missing = match self.before_semicolon {
                Some(end) if innermost.delim == Delim::Bracket => Span { start: end, end },
                _ => at,
            };
            shift = missing != at;
            let mut d = Diagnostic::new(
                Code::E0001,
                format!("unclosed `{open}`"),
                missing,
                format!("expected `{close}` here"),
            )
            .with_secondary(innermost.span, format!("this `{open}` is not closed"))
            // Where the group was meant to end is a guess: `(a + b as u64;`
            // may mean `(a + b) as u64;`. Closing it here makes the text
            // parse, not necessarily say what was meant.
            .with_maybe_fix(format!("close the `{open}`"), missing, close);
            let others = reported.len() - 1;
            for o in reported.iter().rev().skip(1).take(2) {
                let open = o.delim.open();
                d = d.with_secondary(o.span, format!("this `{open}` is not closed either"));
            }
            if others > 2 {
                d = d.with_note(format!(
                    "{others} delimiters opened before it are not closed either"
                ));
            }
            self.diagnostics.push(d);
        }
        // When the closers go before the statement's `;`, they are put
        // there in the stream too (`s[i;` is read as `s[i];`, with no
        // complaint about the `;`), unless a `}` is among them.
        let semicolon = if shift
            && self.stack[kept.clone()]
                .iter()
                .all(|o| o.delim != Delim::Brace)
            && self
                .out
                .last()
                .is_some_and(|(t, s)| *t == Tok::Sym(";") && s.end == self.last_end)
        {
            self.inserted.pop();
            self.out.pop()
        } else {
            None
        };
        let at = match (&semicolon, self.before_semicolon) {
            (Some(_), Some(end)) => Span { start: end, end },
            _ => at,
        };
        // The group at depth j + 1 is kept if its opener was.
        for j in kept.rev() {
            let o = self.stack[j];
            self.push(Tok::Sym(o.delim.close()), at, true);
            self.end_region(&o, at);
        }
        if let Some((t, s)) = semicolon {
            self.push(t, s, false);
        }
        self.cut(keep);
    }

    /// A group at depth `MAX_DEPTH` closes: the region of what was dropped
    /// inside it ends with its closer.
    fn end_region(&mut self, group: &Open, closer: Span) {
        if let Some(region) = group
            .dropped
            .and_then(|i| self.too_deep.get_mut(i as usize))
        {
            region.1 = group.span.to(closer);
        }
    }

    fn token(&mut self, tok: Tok, span: Span, next: Option<&Tok>) {
        let is_for = tok == Tok::Kw("for");
        let is_semicolon = tok == Tok::Sym(";");
        if tok == Tok::Sym("{")
            && self
                .stack
                .last()
                .is_some_and(|o| o.delim == Delim::Paren && !o.c_for)
            && !self.starts_struct_literal(next)
        {
            // Inside `( )` a `{` only starts a struct literal, `Name {`
            // then `.field` or `}`: any other is a block, and the `(` before
            // it is missing its `)` (`if (x == 1 {`). Closed here, where the
            // `)` belongs, rather than at the end of the enclosing block.
            let keep = self.semicolons.innermost().map_or(0, |i| i + 1);
            self.close_to(keep);
        }
        self.missing_closer_before(&tok, next);
        match tok {
            Tok::Sym(s @ ("(" | "[" | "{")) => {
                let after_operand = matches!(
                    self.out.last(),
                    Some((
                        Tok::Ident(_) | Tok::Int(_) | Tok::Str(_) | Tok::Sym(")" | "]"),
                        _
                    ))
                );
                let literal = s == "{" && self.starts_struct_literal(next);
                let depth = self.stack.len() + 1;
                if self.keeps(depth) {
                    self.push(tok, span, false);
                }
                if depth == MAX_DEPTH + 1
                    && let Some(parent) = self.stack.last_mut()
                    && parent.dropped.is_none()
                {
                    parent.dropped = Some(self.too_deep.len() as u32);
                    self.too_deep.push((span, parent.span.to(span)));
                }
                let delim = Delim::of(s).unwrap_or(Delim::Brace);
                self.open(Open {
                    delim,
                    c_for: self.after_for && delim == Delim::Paren,
                    has_if: false,
                    no_semicolon: s == "[" && after_operand,
                    literal,
                    span,
                    dropped: None,
                });
            }
            Tok::Sym(s @ (")" | "]" | "}")) => {
                let delim = Delim::of(s).unwrap_or(Delim::Brace);
                match self.of_kind[delim as usize].innermost() {
                    Some(at) => {
                        self.close_to(at + 1);
                        let depth = self.stack.len();
                        if let Some(&group) = self.stack.last() {
                            self.cut(depth - 1);
                            if self.keeps(depth) {
                                self.push(tok, span, false);
                                self.end_region(&group, span);
                            }
                        }
                    }
                    None if self.stack.is_empty() => self.push(tok, span, false),
                    None => {
                        if self.keeps(self.stack.len()) {
                            let open = delim.open();
                            self.diagnostics.push(Diagnostic::new(
                                Code::E0001,
                                format!("unexpected `{s}`"),
                                span,
                                format!("no `{open}` is open here"),
                            ));
                        }
                    }
                }
            }
            Tok::Kw(k) if ITEM_KEYWORDS.contains(&k) => {
                self.close_to(0);
                self.push(tok, span, false);
            }
            Tok::Kw(k) if STMT_KEYWORDS.contains(&k) => {
                let block = self.statements.innermost();
                self.close_to(block.map_or(0, |b| b + 1));
                if k == "if"
                    && let Some(o) = self.stack.last_mut()
                {
                    o.has_if = true;
                }
                if self.keeps(self.stack.len()) {
                    self.push(tok, span, false);
                }
            }
            // Outside every brace group, `->` only follows a signature's
            // `)`: a `(` still open there is the parameter list's, missing
            // its `)` (`fn f(a: u32 -> u32 {`). Closing it here, not at the
            // next item, leaves the parser nothing more to complain about.
            // (Inside a body, `p->x` is C's field access: a habit of its
            // own, left alone.)
            Tok::Sym("->") if self.statements.innermost().is_none() => {
                self.close_to(0);
                self.push(tok, span, false);
            }
            Tok::Sym(";") => {
                let keep = self.semicolons.innermost().map_or(0, |i| i + 1);
                self.close_to(keep);
                if self.keeps(self.stack.len()) {
                    self.push(tok, span, false);
                }
            }
            _ => {
                if self.keeps(self.stack.len()) {
                    self.push(tok, span, false);
                }
            }
        }
        self.before_semicolon = is_semicolon.then_some(self.last_end);
        self.last_end = span.end;
        self.after_for = is_for;
    }
}

impl Balancer {
    /// Closes the groups a token shows to be missing their closer: a
    /// `{` (not a struct literal's) or an assignment directly inside
    /// `[ ]`, which no index or array holds (`if a[i > 0 {`, `a[i = 1;`),
    /// a `;` directly inside an index, a list or a struct literal (`s[i;`,
    /// `[0, 0;`, `P { .x = 1 ;`),
    /// and an `else` after a `;` in a block with no `if` of its own, whose
    /// `}` was lost (`if c { x = 1; else {`). Each costs O(1): the groups
    /// closed are popped.
    fn missing_closer_before(&mut self, tok: &Tok, next: Option<&Tok>) {
        let Some(top) = self.stack.last() else {
            return;
        };
        match tok {
            // After an operand: `[{ P .x = 1 }]` is a literal gone wrong
            // inside the array, not an index that lost its `]`.
            Tok::Sym("{")
                if top.delim == Delim::Bracket
                    && !self.starts_struct_literal(next)
                    && matches!(
                        self.out.last(),
                        Some((Tok::Ident(_) | Tok::Int(_) | Tok::Sym(")" | "]"), _))
                    ) =>
            {
                let keep = self.statements.innermost().map_or(0, |i| i + 1);
                self.close_to(keep);
            }
            Tok::Sym(op)
                if crate::lexer::ASSIGNMENT_OPS.contains(op)
                    && top.delim == Delim::Bracket
                    && top.no_semicolon =>
            {
                // Only the run of `[` on top: `(x = 1)` is a habit the
                // parser reports itself. Only in an index or a list: an
                // array's `[[0; 4; 4];` still open at the next line's
                // `g[0] = 1;` lost its `]` on the line before.
                let below = [Delim::Paren, Delim::Brace]
                    .iter()
                    .filter_map(|d| self.of_kind[*d as usize].innermost())
                    .max();
                self.close_to(below.map_or(0, |b| b + 1));
            }
            Tok::Sym(",") if top.delim == Delim::Bracket => {
                if let Some(o) = self.stack.last_mut() {
                    o.no_semicolon = true;
                }
            }
            // `s[i;`, `[0, 0;`: the `]` is lost before the `;` (and with it
            // any `)` after, which the `;` would close in a second event).
            // (Not an empty one: `0[; 4]` is `[0; 4]` with two tokens
            // swapped, and `0[]; 4]` no fix.)
            Tok::Sym(";")
                if top.delim == Delim::Bracket
                    && top.no_semicolon
                    && !matches!(self.out.last(), Some((Tok::Sym("["), _))) =>
            {
                let keep = self.statements.innermost().map_or(0, |i| i + 1);
                self.close_to(keep);
            }
            // `P { .x = 1 ;`: the literal's `}` is lost (directly inside
            // it: `P { .a = [0; 4] }` holds an array's `;`).
            Tok::Sym(";") if top.delim == Delim::Brace && top.literal => {
                self.close_to(self.stack.len() - 1);
            }
            Tok::Kw("else")
                if top.delim == Delim::Brace
                    && !top.has_if
                    && self.of_kind[Delim::Brace as usize].0.len() >= 2
                    && matches!(self.out.last(), Some((Tok::Sym(";"), _))) =>
            {
                self.close_to(self.stack.len() - 1);
            }
            _ => {}
        }
    }

    /// Whether a `{` that comes now, followed by `next`, can start a struct
    /// literal: after the struct's name, then a `.field` or the `}` of an
    /// empty one.
    fn starts_struct_literal(&self, next: Option<&Tok>) -> bool {
        matches!(self.out.last(), Some((Tok::Ident(_), _)))
            && matches!(next, Some(Tok::Sym("." | "}")))
    }
}

/// How far [`closed_soon`] looks: a constant, so that a file of statement
/// keywords in parentheses is still balanced in linear time.
const LOOK_AHEAD: usize = 32;

/// Whether the group `delim` open before `rest` is closed within
/// [`LOOK_AHEAD`] tokens, before anything that ends a statement or an item
/// (`;`, a brace, an item keyword) and at its own level.
fn closed_soon(rest: &[(Tok, Span)], delim: Delim) -> bool {
    let mut depth = 0usize;
    for (t, _) in rest.iter().take(LOOK_AHEAD) {
        match t {
            Tok::Sym(";" | "{" | "}") => return false,
            Tok::Kw(k) if ITEM_KEYWORDS.contains(k) => return false,
            Tok::Sym("(" | "[") => depth += 1,
            Tok::Sym(c @ (")" | "]")) => {
                if depth == 0 {
                    return Delim::of(c) == Some(delim);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    false
}

/// Balances `tokens` (see the module documentation).
pub fn balance(tokens: &[(Tok, Span)]) -> Balanced {
    let mut b = Balancer {
        out: Vec::with_capacity(tokens.len()),
        inserted: Vec::with_capacity(tokens.len()),
        stack: Vec::new(),
        of_kind: Default::default(),
        statements: Marks::default(),
        semicolons: Marks::default(),
        too_deep: Vec::new(),
        diagnostics: Vec::new(),
        last_end: 0,
        before_semicolon: None,
        after_for: false,
    };
    for (i, (tok, span)) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map(|(t, _)| t);
        // A statement keyword inside a `( )` or `[ ]` that is closed right
        // after it (`g(return)`, `(let x = 1)`) is a mistake inside the
        // group, which the parser reports, not a sign of a missing `)`.
        if let Tok::Kw(k) = tok
            && STMT_KEYWORDS.contains(k)
            && let Some(open) = b.stack.last()
            && open.delim != Delim::Brace
            && !open.c_for
            && closed_soon(tokens.get(i + 1..).unwrap_or_default(), open.delim)
        {
            if b.keeps(b.stack.len()) {
                b.push(tok.clone(), *span, false);
            }
            b.last_end = span.end;
            b.before_semicolon = None;
            b.after_for = false;
            continue;
        }
        b.token(tok.clone(), *span, next);
    }
    b.close_to(0);
    Balanced {
        tokens: b.out,
        inserted: b.inserted,
        too_deep: b.too_deep,
        diagnostics: b.diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    fn shape(src: &str) -> (String, usize) {
        let lexed = lex(src);
        let b = balance(&lexed.tokens);
        let text: Vec<String> = b
            .tokens
            .iter()
            .zip(&b.inserted)
            .map(|((t, _), v)| {
                let s = match t {
                    Tok::Sym(s) | Tok::Kw(s) => s.to_string(),
                    Tok::Ident(n) => n.to_string(),
                    Tok::Int(v) => v.to_string(),
                    other => other.to_string(),
                };
                if *v { format!("<{s}>") } else { s }
            })
            .collect();
        (text.join(" "), b.diagnostics.len())
    }

    #[test]
    fn balanced_input_is_untouched() {
        let src = "fn f(a: [u8; 2]) { if a[0] == (1) { g(a); } }";
        let (s, n) = shape(src);
        assert_eq!(n, 0);
        assert!(!s.contains('<'));
    }

    #[test]
    fn unclosed_groups_are_closed_where_they_must_end() {
        assert_eq!(shape("fn f() { g(x; }").0, "fn f ( ) { g ( x <)> ; }");
        assert_eq!(
            shape("fn f() { if a { \nfn g() {}").0,
            "fn f ( ) { if a { <}> <}> fn g ( ) { }"
        );
        assert_eq!(
            shape("fn f() { x = (1 + \nlet y = 2; }").0,
            "fn f ( ) { x = ( 1 + <)> let y = 2 ; }"
        );
        assert_eq!(shape("fn f() { ((( }").0, "fn f ( ) { ( ( ( <)> <)> <)> }");
        assert_eq!(shape("fn f() { [1; 2 }").0, "fn f ( ) { [ 1 ; 2 <]> }");
    }

    #[test]
    fn a_keyword_inside_a_closed_group_closes_nothing() {
        assert_eq!(
            shape("fn f() { g(return); (let x = 1); a[break]; }"),
            (
                "fn f ( ) { g ( return ) ; ( let x = 1 ) ; a [ break ] ; }".to_string(),
                0
            )
        );
        // Not closed before the `;`: the `(` is still missing its `)`.
        assert_eq!(shape("fn f() { g(return; }").1, 1);
    }

    #[test]
    fn stray_closers() {
        // Inside a group: dropped and reported.
        assert_eq!(shape("fn f() { ) }"), ("fn f ( ) { }".to_string(), 1));
        // At the top level: left to the parser.
        assert_eq!(shape("fn f() { } }"), ("fn f ( ) { } }".to_string(), 0));
    }

    #[test]
    fn a_group_closed_from_outside_is_forgotten() {
        // `)` closes the `[` inside its group; the `]` after it then matches
        // nothing open (and `;` and `let` find the `{`, not a closed group).
        assert_eq!(
            shape("fn f() { ( [ ) ] }"),
            ("fn f ( ) { ( [ <]> ) }".to_string(), 2)
        );
        assert_eq!(
            shape("fn f() { { ( } ; let"),
            ("fn f ( ) { { ( <)> } ; let <}>".to_string(), 2)
        );
    }

    #[test]
    fn one_diagnostic_per_closing_event() {
        let (_, n) = shape(&format!("fn f() {{ {}", "(".repeat(5000)));
        assert_eq!(n, 1);
    }

    #[test]
    fn deep_groups_are_dropped() {
        let src = format!("const C: u8 = {}1{};", "(".repeat(300), ")".repeat(300));
        let lexed = lex(&src);
        let b = balance(&lexed.tokens);
        assert_eq!(b.too_deep.len(), 1);
        assert!(b.diagnostics.is_empty());
        let opens = b.tokens.iter().filter(|(t, _)| *t == Tok::Sym("(")).count();
        let closes = b.tokens.iter().filter(|(t, _)| *t == Tok::Sym(")")).count();
        assert_eq!((opens, closes), (MAX_DEPTH, MAX_DEPTH));
        let (at, region) = b.too_deep[0];
        assert_eq!(&src[at.range()], "(");
        assert_eq!(at.start as usize, 14 + MAX_DEPTH);
        assert_eq!(
            region,
            Span::new(13 + MAX_DEPTH, src.len() - 1 - MAX_DEPTH + 1)
        );
    }
}
