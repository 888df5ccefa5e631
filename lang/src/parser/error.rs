//! The parser's error types, and the diagnostics made of them. A file is
//! parsed with chumsky's [`EmptyErr`] first; only a file with syntax errors
//! is parsed again with [`SyntaxError`], which records where each failure
//! was, the token found there, what the grammar expected and the habit it
//! recognised, if any.
//!
//! Why not chumsky's `Rich`: every alternative that fails on a token records
//! what it expected, and after a complete operand some thirty alternatives
//! (every operator, `as`, `.`, `(`, …) fail on the same token. `Rich` keeps
//! them in a vector, allocated per failure and merged with a linear search
//! per entry, which made the detailed pass several times slower than the
//! fast one. Here the expected set is a bit set over the tokens and labels
//! the grammar can expect: building, merging and replacing one is a few
//! instructions and never allocates.

use chumsky::DefaultExpected;
use chumsky::error::{EmptyErr, Error};
use chumsky::input::Input;
use chumsky::inspector::Inspector;
use chumsky::label::LabelError;
use chumsky::prelude::SimpleSpan;
use chumsky::util::MaybeRef;

use super::habits::habit;
use super::{CHAINED_CMP, MISSING_SEMI, budget};
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::lexer::{self, KEYWORDS, Tok};
use crate::span::Span;

/// The parts of the grammar named in what it expects (`.labelled(…)`): one
/// entry in an expected list instead of every token that could start one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Identifier,
    Type,
    Expression,
    Statement,
    Item,
}

impl Part {
    const ALL: [Part; 5] = [
        Part::Identifier,
        Part::Type,
        Part::Expression,
        Part::Statement,
        Part::Item,
    ];

    fn text(self) -> &'static str {
        match self {
            Part::Identifier => "identifier",
            Part::Type => "type",
            Part::Expression => "expression",
            Part::Statement => "statement",
            Part::Item => "item",
        }
    }
}

/// Bit positions in an [`Expected`] set: the symbols (in the lexer's table
/// order), then the keywords, then these.
const KW_BASE: u32 = lexer::SYMBOLS.len() as u32;
const IDENT: u32 = KW_BASE + KEYWORDS.len() as u32;
const INT: u32 = IDENT + 1;
const STR: u32 = IDENT + 2;
const ANY: u32 = IDENT + 3;
const END: u32 = IDENT + 4;
const PART_BASE: u32 = IDENT + 5;
const _: () = assert!(PART_BASE + Part::ALL.len() as u32 <= 128);

/// A set of what the grammar expected at one position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Expected(u128);

impl Expected {
    fn bit(tok: &Tok) -> u32 {
        match tok {
            Tok::Sym(s) => lexer::symbol_index(s).map_or(ANY, |i| i as u32),
            Tok::Kw(k) => KEYWORDS
                .iter()
                .position(|w| w == k)
                .map_or(ANY, |i| KW_BASE + i as u32),
            Tok::Ident(_) => IDENT,
            Tok::Int(_) | Tok::BadInt => INT,
            Tok::Str(_) => STR,
        }
    }

    fn with(self, bit: u32) -> Self {
        Expected(self.0 | 1 << bit)
    }

    fn add_default(self, e: DefaultExpected<'_, Tok>) -> Self {
        match e {
            DefaultExpected::Token(t) => self.with(Self::bit(&t)),
            DefaultExpected::Any => self.with(ANY),
            DefaultExpected::EndOfInput => self.with(END),
            // Neither names anything the user could write.
            _ => self,
        }
    }

    fn from_defaults<'a>(es: impl IntoIterator<Item = DefaultExpected<'a, Tok>>) -> Self {
        es.into_iter()
            .fold(Expected::default(), |set, e| set.add_default(e))
    }

    /// What the set holds, as a diagnostic names it (e.g. "`;`",
    /// "identifier", "end of file"), in bit order.
    pub(super) fn names(self) -> Vec<String> {
        (0..128u32)
            .filter(|b| self.0 & (1 << b) != 0)
            .filter_map(|b| {
                Some(match b {
                    b if b < KW_BASE => format!("`{}`", lexer::SYMBOLS[b as usize]),
                    b if b < IDENT => format!("`{}`", KEYWORDS[(b - KW_BASE) as usize]),
                    IDENT => "identifier".to_string(),
                    INT => "integer".to_string(),
                    STR => "string literal".to_string(),
                    ANY => "more input".to_string(),
                    END => "end of file".to_string(),
                    b => Part::ALL.get((b - PART_BASE) as usize)?.text().to_string(),
                })
            })
            .collect()
    }

    /// The label of an expected-found error: "expected `;`", "expected `)`,
    /// `,` or an operator", …. A hostile input has thousands of errors but few
    /// distinct expected sets, so each label is built once per set (and per
    /// what the position drops from it) and cloned after. The cache is bounded
    /// by the grammar's sets, not by the input.
    pub(super) fn label(
        self,
        drop_end: bool,
        drop_mut: bool,
        drop_arrow: bool,
        drop_assign: bool,
    ) -> String {
        type Labels = std::collections::HashMap<(Expected, [bool; 4]), String>;
        thread_local! {
            static LABELS: std::cell::RefCell<Labels> = std::cell::RefCell::default();
        }
        let key = (self, [drop_end, drop_mut, drop_arrow, drop_assign]);
        if let Some(label) = LABELS.with(|l| l.borrow().get(&key).cloned()) {
            return label;
        }
        let mut wanted = self.names();
        if drop_end {
            wanted.retain(|w| w != "end of file");
        }
        // `let mut` is accepted only to say it is `var`.
        if drop_mut {
            wanted.retain(|w| w != "`mut`");
        }
        // C's `p->x` is accepted only to say it is `p.x`.
        if drop_arrow {
            wanted.retain(|w| w != "`->`");
        }
        if drop_assign {
            wanted.retain(|w| w != "`=`");
        }
        wanted.sort();
        wanted.dedup();
        // After a complete operand every operator could follow; listing
        // them all buries the one token the user forgot.
        let is_operator = |w: &String| {
            super::OPERATOR_TOKENS
                .iter()
                .any(|op| w.trim_matches('`') == *op)
        };
        if wanted.iter().filter(|w| is_operator(w)).count() >= 5 {
            wanted.retain(|w| !is_operator(w));
            wanted.push("an operator".to_string());
        }
        let label = match wanted.len() {
            0 => "unexpected here".to_string(),
            1 => format!("expected {}", wanted[0]),
            _ => {
                let last = wanted.pop().unwrap_or_default();
                format!("expected {} or {}", wanted.join(", "), last)
            }
        };
        LABELS.with(|l| l.borrow_mut().insert(key, label.clone()));
        label
    }
}

/// A habit or other mistake the grammar recognised itself: its tag (see the
/// tag constants in `parser.rs`) and the text that replaces the error's span
/// to fix it, if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Custom {
    pub tag: &'static str,
    pub fix: Option<String>,
    /// The whole diagnostic, for a habit whose fix needs more than one
    /// edit or whose labels need spans only the grammar knows.
    pub diagnostic: Option<crate::diag::Diagnostic>,
}

/// One syntax error of the detailed pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub span: SimpleSpan,
    /// The token where parsing failed; `None` at the end of the input.
    pub found: Option<Tok>,
    pub expected: Expected,
    /// Set for an error the grammar raised itself; `found` and `expected`
    /// then mean nothing.
    pub custom: Option<Box<Custom>>,
}

/// The parser state a pass keeps (see [`super::budget::Counts`]): the
/// detailed pass gives back what an alternative it drops spent; the fast
/// pass keeps nothing, since it only counts the `;` missing at ends of
/// lines, and keeps its parse only where every one it noted was kept.
pub(super) trait PassState {
    type State: Default + 'static;
}

impl PassState for EmptyErr {
    type State = ();
}

impl PassState for SyntaxError {
    type State = super::budget::Counts;
}

/// What the grammar needs of its error type: chumsky's error traits, and a
/// way to raise a tagged error (with a fix).
pub(super) trait ParseError<'t, I: Input<'t>>:
    Error<'t, I> + LabelError<'t, I, Part> + PassState<State: Inspector<'t, I>> + 't
{
    /// A custom error carrying one of the tags.
    fn tagged(span: SimpleSpan, tag: &'static str) -> Self;
    /// A tagged error with the text that replaces `span` to fix it.
    fn tagged_fix(span: SimpleSpan, tag: &'static str, fix: impl FnOnce() -> String) -> Self;
    /// A tagged error whose diagnostic the grammar builds itself.
    fn tagged_diagnostic(
        span: SimpleSpan,
        tag: &'static str,
        make: impl FnOnce() -> crate::diag::Diagnostic,
    ) -> Self;
    /// Whether this is the fast pass's error type, whose errors say nothing:
    /// its grammar may then take shortcuts that change which error a broken
    /// input gets, never what a correct one parses to.
    const FAST: bool;
    /// A failure of a shortcut of the fast pass (see [`Self::FAST`]).
    fn nothing() -> Self;
    /// Notes that the parse raised an error (a recovery or a habit): in
    /// the fast pass, its segment is parsed again in detail, so nothing
    /// more of it matters; in the detailed pass, the error is spent from the
    /// item's budget (see `budget`).
    fn raised() {}
    /// Whether the fast pass raised an error since [`reset`].
    fn gave_up() -> bool {
        false
    }
}

thread_local! {
    static RAISED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where the fast pass reported a `;` missing at the end of a line,
    /// in the order it reported them (see [`take_missing_semis`]).
    static MISSING_SEMIS: std::cell::RefCell<Vec<SimpleSpan>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Starts a fast parse of a segment: nothing raised yet.
pub(super) fn reset() {
    RAISED.with(|r| r.set(false));
    MISSING_SEMIS.with(|m| m.borrow_mut().clear());
}

/// The `;` missing at the end of a line that the fast pass reported since
/// [`reset`], whether or not the branch that reported one was kept. A `;`
/// missing there is the one error the fast pass recovers from without
/// giving up (`semi` in the grammar reads the line break as the `;`, in
/// both passes alike), so that a segment whose only mistakes are these
/// needs no detailed parse; the caller checks that every one of them is
/// an error the parse kept.
pub(super) fn take_missing_semis() -> Vec<SimpleSpan> {
    MISSING_SEMIS.with(|m| std::mem::take(&mut *m.borrow_mut()))
}

/// How many `;` missing at ends of lines the fast pass noted since [`reset`].
pub(super) fn missing_semis() -> usize {
    MISSING_SEMIS.with(|m| m.borrow().len())
}

/// Whether the fast pass raised an error since [`reset`].
pub(super) fn gave_up() -> bool {
    RAISED.with(std::cell::Cell::get)
}

// A tagged error is raised by a habit or a recovery, or is the failure of
// an alternative that recognises a habit: either way the segment has (or
// probably has) an error, and the fast pass may stop caring. Except a `;`
// missing at the end of a line, which is only noted (`take_missing_semis`).
impl<'t, I: Input<'t>> ParseError<'t, I> for EmptyErr {
    fn tagged(span: SimpleSpan, tag: &'static str) -> Self {
        if tag == MISSING_SEMI {
            MISSING_SEMIS.with(|m| m.borrow_mut().push(span));
            // An item that may be over its budget is the detailed pass's
            // to cut short (see `budget`).
            budget::spend();
            if budget::exhausted() {
                <Self as ParseError<'t, I>>::raised();
            }
        } else {
            <Self as ParseError<'t, I>>::raised();
        }
        EmptyErr::default()
    }
    fn tagged_fix(_: SimpleSpan, _: &'static str, _: impl FnOnce() -> String) -> Self {
        <Self as ParseError<'t, I>>::raised();
        EmptyErr::default()
    }
    fn tagged_diagnostic(
        _: SimpleSpan,
        _: &'static str,
        _: impl FnOnce() -> crate::diag::Diagnostic,
    ) -> Self {
        <Self as ParseError<'t, I>>::raised();
        EmptyErr::default()
    }
    const FAST: bool = true;
    fn nothing() -> Self {
        EmptyErr::default()
    }
    fn raised() {
        RAISED.with(|r| r.set(true));
    }
    fn gave_up() -> bool {
        gave_up()
    }
}

impl SyntaxError {
    /// The error the grammar's `semi` reports for a `;` missing at the end
    /// of a line, as its `tagged` makes it.
    pub(super) fn missing_semi(span: SimpleSpan) -> SyntaxError {
        SyntaxError::custom(span, MISSING_SEMI, None, None)
    }

    /// An error a parser rule raised on purpose (`tag`), with the fix or
    /// the whole diagnostic it carries, if any.
    fn custom(
        span: SimpleSpan,
        tag: &'static str,
        fix: Option<String>,
        diagnostic: Option<crate::diag::Diagnostic>,
    ) -> Self {
        SyntaxError {
            span,
            found: None,
            expected: Expected::default(),
            custom: Some(Box::new(Custom {
                tag,
                fix,
                diagnostic,
            })),
        }
    }
}

impl<'t, I: Input<'t, Token = Tok, Span = SimpleSpan>> ParseError<'t, I> for SyntaxError {
    // Every tagged error spends: one the parse keeps is counted, and one
    // made by an alternative that fails is given back when the parser
    // backtracks past it (`budget::Counts`).
    fn tagged(span: SimpleSpan, tag: &'static str) -> Self {
        budget::spend();
        SyntaxError::custom(span, tag, None, None)
    }
    fn tagged_fix(span: SimpleSpan, tag: &'static str, fix: impl FnOnce() -> String) -> Self {
        budget::spend();
        SyntaxError::custom(span, tag, Some(fix()), None)
    }
    fn tagged_diagnostic(
        span: SimpleSpan,
        tag: &'static str,
        make: impl FnOnce() -> crate::diag::Diagnostic,
    ) -> Self {
        budget::spend();
        SyntaxError::custom(span, tag, None, Some(make()))
    }
    const FAST: bool = false;
    fn nothing() -> Self {
        SyntaxError::custom(SimpleSpan::from(0..0), "shortcut", None, None)
    }
    fn raised() {
        budget::spend();
    }
}

// The merging rules are `Rich`'s, so the diagnostics are the same: a custom
// error wins over an expected-found one (the first of two customs wins);
// two expected-found errors at one position unite their expected sets and
// keep the first found token.
impl<'t, I: Input<'t, Token = Tok, Span = SimpleSpan>> Error<'t, I> for SyntaxError {
    fn merge(mut self, other: Self) -> Self {
        if self.custom.is_none() {
            if other.custom.is_some() {
                return SyntaxError {
                    span: self.span,
                    ..other
                };
            }
            self.expected.0 |= other.expected.0;
        }
        self
    }
}

impl<'t, I: Input<'t, Token = Tok, Span = SimpleSpan>> LabelError<'t, I, DefaultExpected<'t, Tok>>
    for SyntaxError
{
    fn expected_found<E: IntoIterator<Item = DefaultExpected<'t, Tok>>>(
        expected: E,
        found: Option<MaybeRef<'t, Tok>>,
        span: SimpleSpan,
    ) -> Self {
        SyntaxError {
            span,
            found: found.map(MaybeRef::into_inner),
            expected: Expected::from_defaults(expected),
            custom: None,
        }
    }

    fn merge_expected_found<E: IntoIterator<Item = DefaultExpected<'t, Tok>>>(
        mut self,
        expected: E,
        found: Option<MaybeRef<'t, Tok>>,
        _: SimpleSpan,
    ) -> Self {
        if self.custom.is_none() {
            self.expected = expected
                .into_iter()
                .fold(self.expected, |set, e| set.add_default(e));
            if self.found.is_none() {
                self.found = found.map(MaybeRef::into_inner);
            }
        }
        self
    }

    fn replace_expected_found<E: IntoIterator<Item = DefaultExpected<'t, Tok>>>(
        self,
        expected: E,
        found: Option<MaybeRef<'t, Tok>>,
        span: SimpleSpan,
    ) -> Self {
        SyntaxError {
            span,
            found: found.map(MaybeRef::into_inner),
            expected: Expected::from_defaults(expected),
            custom: None,
        }
    }
}

impl<'t, I: Input<'t, Token = Tok, Span = SimpleSpan>> LabelError<'t, I, Part> for SyntaxError {
    fn expected_found<E: IntoIterator<Item = Part>>(
        expected: E,
        found: Option<MaybeRef<'t, Tok>>,
        span: SimpleSpan,
    ) -> Self {
        SyntaxError {
            span,
            found: found.map(MaybeRef::into_inner),
            expected: expected
                .into_iter()
                .fold(Expected::default(), |set, l| set.with(PART_BASE + l as u32)),
            custom: None,
        }
    }

    fn label_with(&mut self, label: Part) {
        // As `Rich`: the label replaces what was expected; a custom error
        // becomes an expected-found one (with no found token).
        if self.custom.take().is_some() {
            self.found = None;
        }
        self.expected = Expected::default().with(PART_BASE + label as u32);
    }
}

/// The last token that ends at or before `offset` (tokens are in order).
pub(super) fn token_before(tokens: &[(Tok, Span)], offset: u32) -> Option<&(Tok, Span)> {
    let n = tokens.partition_point(|(_, s)| s.end <= offset);
    n.checked_sub(1).map(|i| &tokens[i])
}

/// Where an error is, as far as its label depends on it: inside braces (a
/// body, where "end of file" is never what the user should write next) and
/// directly inside parentheses (where an operand is followed by `=` only as
/// C's `if (x = 1)`). One pass over the tokens; each question is a binary
/// search.
pub(super) struct Place<'t> {
    tokens: &'t [(Tok, Span)],
    /// How many `{` are open before each token.
    braces_before: Vec<u32>,
    /// Whether the innermost group open before each token is a `(`.
    parens_before: Vec<bool>,
    /// Which names later statements assign, once a fix has asked.
    assignments: std::cell::OnceCell<crate::lexer::LaterAssignments>,
}

impl<'t> Place<'t> {
    pub(super) fn new(tokens: &'t [(Tok, Span)]) -> Place<'t> {
        let (mut braces, mut open) = (0u32, Vec::new());
        let (mut braces_before, mut parens_before) = (
            Vec::with_capacity(tokens.len()),
            Vec::with_capacity(tokens.len()),
        );
        for (t, _) in tokens {
            braces_before.push(braces);
            parens_before.push(open.last().copied().unwrap_or(false));
            match t {
                Tok::Sym("{") => {
                    braces = braces.saturating_add(1);
                    open.push(false);
                }
                Tok::Sym("}") => {
                    braces = braces.saturating_sub(1);
                    open.pop();
                }
                Tok::Sym("(") => open.push(true),
                Tok::Sym("[") => open.push(false),
                Tok::Sym(")" | "]") => {
                    open.pop();
                }
                _ => {}
            }
        }
        Place {
            tokens,
            braces_before,
            parens_before,
            assignments: std::cell::OnceCell::new(),
        }
    }

    /// Whether `name` is assigned by a statement at or after token `from`,
    /// in the block being read there.
    fn assigned_later(&self, from: usize, name: &str) -> bool {
        self.assignments
            .get_or_init(|| crate::lexer::LaterAssignments::new(self.tokens))
            .after(from, name)
    }

    fn index(&self, at: u32) -> usize {
        self.tokens.partition_point(|(_, s)| s.start < at)
    }

    fn in_braces(&self, at: u32) -> bool {
        self.braces_before
            .get(self.index(at))
            .is_some_and(|&d| d > 0)
    }

    fn in_parens(&self, at: u32) -> bool {
        self.parens_before
            .get(self.index(at))
            .copied()
            .unwrap_or(false)
    }
}

/// E0006's fix: `a < b < c` becomes `a < b && b < c`, each operand between
/// two comparisons repeated after an `&&`. The chain is a whole operand of
/// the comparison level, and every operator that binds more loosely (`&&`,
/// `||`) takes bools, so the pieces joined with `&&` mean what the chain was
/// meant to. It is a guess (maybe-incorrect) when a `==` or `!=` is in the
/// chain (C reads `a == b == c` as comparing `a == b` with `c`) or when a
/// repeated operand calls a function (it would then run twice).
fn split_chained_comparison(
    d: Diagnostic,
    tokens: &[(Tok, Span)],
    src: &str,
    chain: Span,
) -> Diagnostic {
    use crate::diag::{Applicability, Suggestion};
    let first = tokens.partition_point(|(_, s)| s.start < chain.start);
    let mut depth = 0u32;
    // The chain's comparison operators (outside any brackets in it), and
    // whether a call sits between each and the next.
    let mut ops: Vec<(Span, &str)> = Vec::new();
    let mut calls_between: Vec<bool> = Vec::new();
    let mut prev: Option<&Tok> = None;
    for (tok, s) in tokens[first..]
        .iter()
        .take_while(|(_, s)| s.end <= chain.end)
    {
        match tok {
            Tok::Sym("(" | "[" | "{") => {
                if matches!(tok, Tok::Sym("("))
                    && matches!(prev, Some(Tok::Ident(_)))
                    && let Some(c) = calls_between.last_mut()
                {
                    *c = true;
                }
                depth += 1;
            }
            Tok::Sym(")" | "]" | "}") => depth = depth.saturating_sub(1),
            Tok::Sym(op @ ("==" | "!=" | "<=" | ">=" | "<" | ">")) if depth == 0 => {
                ops.push((*s, op));
                calls_between.push(false);
            }
            _ => {}
        }
        prev = Some(tok);
    }
    // The chain with ` && OPERAND` before each comparison after the first:
    // one edit for the whole chain, so that the help can show the result.
    let prose = |d: Diagnostic| d.with_help("split it with `&&`, e.g. `a < b && b < c`");
    let Some(whole) = src.get(chain.range()).filter(|_| ops.len() >= 2) else {
        return prose(d);
    };
    let mut fixed = String::with_capacity(whole.len() * 2);
    let mut copied = chain.start as usize;
    for pair in ops.windows(2) {
        let (left, right) = (pair[0].0, pair[1].0);
        let middle = src
            .get(left.end as usize..right.start as usize)
            .unwrap_or_default()
            .trim();
        if middle.is_empty() {
            return prose(d);
        }
        let at = right.start as usize;
        fixed.push_str(&src[copied..at]);
        if !fixed.ends_with(char::is_whitespace) {
            fixed.push(' ');
        }
        fixed.push_str(&format!("&& {middle} "));
        copied = at;
    }
    fixed.push_str(&src[copied..chain.end as usize]);
    let guess = ops.iter().any(|(_, op)| matches!(*op, "==" | "!="))
        || calls_between[..calls_between.len() - 1].iter().any(|&c| c);
    let message = if fixed.len() <= 60 && !fixed.contains('\n') {
        format!("split it with `&&`: `{fixed}`")
    } else {
        "split it with `&&`, repeating the operand between each two comparisons".to_string()
    };
    d.with_fix_edits(
        message,
        if guess {
            Applicability::MaybeIncorrect
        } else {
            Applicability::MachineApplicable
        },
        vec![Suggestion {
            span: chain,
            replacement: fixed.into(),
        }],
    )
}

/// `state state = s;`, read as C's declaration `T name =`: the same word
/// twice is a slip, not a type (C declares a name of its own type only in
/// puzzles).
fn doubled_word(span: Span, src: &str) -> Option<Diagnostic> {
    let text = src.get(span.range())?;
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if words.next()? != first {
        return None;
    }
    let start = span.start as usize;
    let blanks = text[first.len()..].len() - text[first.len()..].trim_start().len();
    Some(
        Diagnostic::new(
            Code::E0001,
            format!("`{first}` is written twice"),
            Span::new(start, start + first.len()),
            "repeated",
        )
        .with_maybe_fix(
            format!("remove the repeated `{first}`"),
            Span::new(start, start + first.len() + blanks),
            "",
        ),
    )
}

pub(super) fn to_diagnostic(
    err: SyntaxError,
    tokens: &[(Tok, Span)],
    src: &str,
    place: &Place<'_>,
) -> Diagnostic {
    let span = Span::from(err.span);
    if let Some(custom) = &err.custom {
        if let Some(d) = &custom.diagnostic {
            return d.clone();
        }
        let tag = custom.tag;
        if tag == super::C_DECL
            && let Some(d) = doubled_word(span, src)
        {
            return d;
        }
        // C's `u32 i = 0;` is `var i: u32 = 0;` when `i` is assigned later
        // in its block (the grammar, reading one statement, cannot know).
        let as_var = custom.fix.as_deref().and_then(|fix| {
            let rest = fix.strip_prefix("let ").filter(|_| tag == super::C_DECL)?;
            let name = rest.split([':', ' ']).next().unwrap_or_default();
            let next = tokens.partition_point(|(_, s)| s.start < span.end);
            place
                .assigned_later(next, name)
                .then(|| format!("var {rest}"))
        });
        // Rust's `[T]` with a closer the balancing put there (`s: [[]u8`),
        // or around a slice or an array (`[[u32; 2]`, a `[` doubled): no
        // `[]T` to write, KPL has no slice of either.
        let fix = custom.fix.as_deref().filter(|fix| {
            tag != super::RUST_SLICE
                || src.get(span.range()).is_some_and(|t| t.ends_with(']'))
                    && !fix
                        .get(2..)
                        .unwrap_or_default()
                        .trim_start_matches("mut ")
                        .starts_with('[')
        });
        if let Some(d) = habit(tag, as_var.as_deref().or(fix), span, src) {
            return d;
        }
        return match tag {
            MISSING_SEMI => {
                // Point just after the previous token, where the `;` belongs.
                let before = token_before(tokens, span.start);
                let at = before.map(|(_, s)| s.end_point()).unwrap_or(span);
                let d = Diagnostic::new(Code::E0001, "expected `;`", at, "add `;` here");
                // `return }`: the value may be what is missing, not the `;`.
                let after_return = before.is_some_and(|(t, _)| *t == Tok::Kw("return"));
                d.with_fix_unless_guess(
                    after_return,
                    "statements and declarations end with `;`",
                    at,
                    ";",
                )
            }
            CHAINED_CMP => split_chained_comparison(
                Diagnostic::new(
                    Code::E0006,
                    "comparison operators cannot be chained",
                    span,
                    "two comparisons in a row",
                ),
                tokens,
                src,
                span,
            ),
            other => Diagnostic::new(Code::E0001, other, span, "here"),
        };
    }
    let found = err.found;
    let drop_end = found.is_some() && place.in_braces(span.start);
    // `let mut` is accepted only to say it is `var`.
    let prev = token_before(tokens, span.start);
    let before = prev.map(|(t, _)| t);
    let drop_mut = before == Some(&Tok::Kw("let"));
    // After an operand `->` is expected only as C's `p->x`; after a `)` it
    // may also be a function's return type.
    let drop_arrow = before != Some(&Tok::Sym(")"));
    // Directly inside `( )`, `=` is expected only as C's `if (x = 1)`.
    let drop_assign = place.in_parens(span.start);
    let label = err
        .expected
        .label(drop_end, drop_mut, drop_arrow, drop_assign);
    let found_text = match &found {
        Some(t) => t.to_string(),
        None => "end of file".to_string(),
    };
    let mut d = Diagnostic::new(
        Code::E0001,
        format!("unexpected {found_text}"),
        span,
        label.clone(),
    );
    match found.as_ref() {
        Some(Tok::Kw(k)) if label == "expected identifier" => {
            d = d.with_note(format!("`{k}` is a keyword and cannot be used as a name"));
        }
        Some(Tok::Kw(k @ ("let" | "var" | "if" | "while" | "for" | "return")))
            if label.contains("item") =>
        {
            d = d.with_help(format!(
                "`{k}` belongs inside a function; at the top level use `const` or `static`"
            ));
        }
        // `g(return)`, `(let x = 1)`: a statement where a value goes.
        Some(Tok::Kw(
            k
            @ ("let" | "var" | "if" | "while" | "for" | "return" | "break" | "continue" | "abort"),
        )) if label.contains("expression") => {
            d = d.with_help(format!(
                "`{k}` starts a statement, which has no value in KPL: write it as a statement of its own"
            ));
        }
        // `(a, b)` and `t.0`: a tuple.
        Some(Tok::Sym(",")) if label.contains("`)`") && !label.contains("`,`") => {
            d = d.with_help("KPL has no tuples: to keep several values together, declare a struct");
        }
        Some(Tok::Int(_)) if label == "expected identifier" && before == Some(&Tok::Sym(".")) => {
            d = d.with_help("KPL has no tuples: a struct's fields have names (`p.x`)");
        }
        Some(Tok::Sym("|" | "||")) if label.contains("expression") => {
            d = d.with_help(
                "KPL has no closures: write a `fn` at the top level and call it by name",
            );
        }
        // `g(n 2)`, `[1 2]`, `fn f(a: u32 b: u32)`: two operands in a row
        // where a list goes on with `,`.
        Some(Tok::Ident(_) | Tok::Int(_) | Tok::Str(_) | Tok::Kw("true" | "false"))
            if label.contains("`,`")
                && prev.is_some_and(|(t, s)| {
                    s.end < span.start
                        && matches!(
                            t,
                            Tok::Ident(_)
                                | Tok::Int(_)
                                | Tok::Str(_)
                                | Tok::Kw("true" | "false")
                                | Tok::Sym(")" | "]")
                        )
                }) =>
        {
            let doubled = prev.filter(|(t, _)| Some(t) == found.as_ref());
            d = match doubled {
                // `x: u32 u32`, `g(n n)`: the same word twice is a slip of
                // the keyboard more often than a missing `,`.
                Some((_, first)) => d.with_maybe_fix(
                    format!("remove the repeated {found_text}"),
                    Span::new(first.end as usize, span.end as usize),
                    "",
                ),
                // Right after the first of the two, where a `,` is written.
                // Sure when the second starts another line (a field or an
                // argument per line, one `,` forgotten); on one line, `[1 2]`
                // may as well have been `[12]`.
                None => d.with_fix_unless_guess(
                    !prev.is_some_and(|(_, s)| {
                        src.get(s.end as usize..span.start as usize)
                            .is_some_and(|gap| gap.contains('\n'))
                    }),
                    "if these are two items of a list, separate them with `,`",
                    prev.map_or(span, |(_, s)| s.end_point()),
                    ",",
                ),
            };
        }
        Some(Tok::Sym(op @ ("+" | "-"))) => {
            let prev = token_before(tokens, span.start);
            if prev.is_some_and(|(t, s)| *t == Tok::Sym(op) && s.end == span.start) {
                d = d.with_help(format!(
                    "KPL has no `{op}{op}` operator; write `x {op}= 1;`"
                ));
            }
        }
        _ => {}
    }
    // C's `i--;`: the second `-` was read as a negation missing its operand.
    let n = tokens.partition_point(|(_, s)| s.end <= span.start);
    if let [.., (Tok::Sym("-"), a), (Tok::Sym("-"), b)] = &tokens[..n]
        && a.end == b.start
        && d.help.is_empty()
    {
        d = d.with_help("KPL has no `--` operator; write `x -= 1;`");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_names_what_it_stands_for() {
        let all = Expected(!0);
        let names = all.names();
        for s in lexer::SYMBOLS {
            assert!(names.contains(&format!("`{s}`")), "{s}");
        }
        for k in KEYWORDS {
            assert!(names.contains(&format!("`{k}`")), "{k}");
        }
        for l in Part::ALL {
            assert!(names.contains(&l.text().to_string()));
        }
        let one = |t: Tok| Expected::default().with(Expected::bit(&t)).names();
        assert_eq!(one(Tok::Sym("<<=")), vec!["`<<=`"]);
        assert_eq!(one(Tok::Sym("!")), vec!["`!`"]);
        assert_eq!(one(Tok::Kw("while")), vec!["`while`"]);
        assert_eq!(one(Tok::Ident("x".into())), vec!["identifier"]);
        assert_eq!(one(Tok::BadInt), vec!["integer"]);
    }
}
