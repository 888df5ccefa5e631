//! The error budget of one item: after [`ITEM_ERROR_BUDGET`] syntax errors
//! in one item, the detailed pass skips the rest of the item's blocks and
//! reports that once (E0007), instead of going on at several microseconds
//! and a diagnostic per error. A megabyte of broken lines in one function
//! was half a million diagnostics and over a second; no one reads past the
//! first screen of them, and the first ones are what the user fixes first.
//!
//! What counts: every syntax error the detailed pass keeps. Each recovery
//! (a statement, block or item skipped after a failure,
//! [`super::fast::raising`]) and each tagged error (a `;` missing at the
//! end of a line, a habit from C or Rust) spends one. An alternative that
//! fails may have spent too (one that looks for a habit makes a tagged
//! error as it fails, or recovers inside before failing further on), but
//! chumsky drops the errors emitted since the point it backtracks to, and
//! the detailed pass's state, [`Counts`], gives back what was spent since
//! then. So the count is that of the errors kept: a correct statement
//! spends nothing, however many alternatives it tries and drops. (That is
//! what `correct_statements_parsed_in_detail_spend_nothing` checks; it
//! fails when [`Counts`] gives nothing back.) The count is what the budget
//! is about, not what is shown: one syntax error per line is shown, so a
//! line may spend several. Lexical errors do not count towards an item's
//! budget; they are found before parsing.
//!
//! Why the budget gives the same tree on every path (the database parses
//! chunks of items, `kpl_lang::analyze` the whole file, each cut into
//! segments of its own): the count restarts at every item and depends only
//! on the item's tokens, since segments and chunks hold whole items. The
//! fast pass keeps its parse of a segment whose only errors are missing
//! `;` (`fast::semi_shortcut`), each noted one kept, which are then exactly
//! the errors the detailed pass would count; it counts the missing `;` it
//! notes too (with nothing given back: its state is `()`, so that a
//! correct file, which only the fast pass reads, pays nothing for the
//! budget), and gives up (the segment is then parsed in detail) when an
//! item's count reaches the budget. So a fast parse is kept only where the detailed pass
//! would not have stopped either; it also stops the fast pass from reading
//! the rest of such an item statement by statement.
//!
//! The file's budget (E0008): an item is not started once the errors
//! counted in the file reach [`FILE_ERROR_BUDGET`], and the rest of the
//! file is skipped. What counts at an item's start is every error spent in
//! the items before it (as above, including those spent after their own
//! budget ran out) and every lexical and delimiter error before its first
//! token ([`EarlyErrors`]: found before parsing, the same in a chunk as in
//! the file, since a chunk lexes and balances alike alone). Why it is the
//! same on every path: each item's count depends only on its tokens, so the
//! count at an item is the sum over the items before it, whatever the
//! segments; a segment's fast parse that is dropped gives back what it
//! spent ([`restore_file_spent`]), and one that is kept is counted as the
//! errors it kept, which are what the detailed pass would have counted.
//! (The fast pass gives nothing back as it goes, so a `;` it noted in an
//! alternative it then dropped stays counted while it runs: its count is
//! never below the detailed pass's. So it cuts the file no later than the
//! detailed pass would, and a fast parse that cut the file is dropped.) The database parses chunks apart and adds up
//! their counts ([`crate::SourceParse::errors_counted`]); the count at any
//! item of the whole file is at most that sum, so where the sum is under
//! the budget no item was cut in either, and otherwise the database parses
//! the file whole. A count that stops exactly at the budget after the last
//! item cuts nothing: there is nothing left to read.

use std::cell::{Cell, RefCell};

use chumsky::{
    input::{Checkpoint, Cursor, Input, InputRef, ValueInput},
    inspector::Inspector,
    prelude::*,
};

use super::Extra;
use super::error::ParseError;
use super::fast::skip_rest_of_group;
use crate::ast::{Item, Stmt, StmtKind};
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::lexer::Tok;
use crate::span::Span;

/// Syntax errors in one item after which the rest of it is skipped.
pub const ITEM_ERROR_BUDGET: usize = 1000;

/// Errors in one file (the parser's, counted as for an item, and the
/// lexical and delimiter errors found before parsing) after which no
/// further item is read.
pub const FILE_ERROR_BUDGET: usize = 2000;

thread_local! {
    /// The file's count ([`FILE_SPENT`]) when the item being parsed
    /// started: what the item spent is the difference.
    static ITEM_START: Cell<usize> = const { Cell::new(0) };
    /// Whether the item being parsed was already cut short.
    static CUT: Cell<bool> = const { Cell::new(false) };
    /// Where each item cut short stopped being read, in parse order.
    static STOPS: RefCell<Vec<SimpleSpan>> = const { RefCell::new(Vec::new()) };
    /// Errors the parser counted in the file's items so far (the item's
    /// count is this less [`ITEM_START`], so backtracking restores one
    /// number).
    static FILE_SPENT: Cell<usize> = const { Cell::new(0) };
    /// Where the file stopped being read: its first unread token.
    static FILE_CUT: Cell<Option<SimpleSpan>> = const { Cell::new(None) };
}

/// The parser's state, which holds nothing: the counts live in the
/// thread-locals above, where the error constructors, which see no state,
/// spend them. What it does is give them back whenever the parser
/// backtracks, as chumsky drops the errors emitted since the point it goes
/// back to: so what an alternative the parse drops spent is not counted,
/// and the counts are those of the errors the parse keeps.
#[derive(Clone, Copy, Default)]
pub(super) struct Counts;

impl<'t, I: Input<'t>> Inspector<'t, I> for Counts {
    /// The file's count (the item's is the file's less [`ITEM_START`]),
    /// and the stops recorded so far and whether the item was cut: a
    /// dropped alternative that read a block past the item's budget must
    /// not leave its stop behind, or the kept parse, which may never have
    /// reached the budget, would be cut there (`do { … }` without its
    /// `while`, whose block is read and then dropped, showed it).
    type Checkpoint = (usize, usize, bool);
    fn on_token(&mut self, _: &I::Token) {}
    fn on_save<'p>(&self, _: &Cursor<'t, 'p, I>) -> (usize, usize, bool) {
        (
            FILE_SPENT.with(Cell::get),
            STOPS.with(|s| s.borrow().len()),
            CUT.with(Cell::get),
        )
    }
    fn on_rewind<'p>(&mut self, at: &Checkpoint<'t, 'p, I, (usize, usize, bool)>) {
        let (spent, stops, cut) = *at.inspector();
        FILE_SPENT.with(|s| s.set(spent));
        STOPS.with(|s| s.borrow_mut().truncate(stops));
        CUT.with(|c| c.set(cut));
    }
}

/// The positions of the errors found before parsing (lexical ones and the
/// delimiter balancing's), sorted, as the file's budget counts them at
/// each item's start.
pub(super) type EarlyErrors = std::rc::Rc<Vec<u32>>;

/// The early errors' positions (see [`EarlyErrors`]): the lexer's
/// (`lexical`) and the delimiter balancing's (`balancing`).
pub(super) fn early_errors(lexical: &[Diagnostic], balancing: &[Diagnostic]) -> EarlyErrors {
    let mut early: Vec<u32> = lexical
        .iter()
        .chain(balancing)
        .filter(|d| d.is_error())
        .map(|d| d.primary.span.start)
        .collect();
    early.sort_unstable();
    std::rc::Rc::new(early)
}

/// Starts a file's parse: nothing spent, nothing cut.
pub(super) fn file_start() {
    FILE_SPENT.with(|s| s.set(0));
    FILE_CUT.with(|c| c.set(None));
}

/// The errors the parser counted in the file so far, to restore when a
/// segment's fast parse is dropped.
pub(super) fn file_spent() -> usize {
    FILE_SPENT.with(Cell::get)
}

/// Restores the file's count to `spent` (see [`file_spent`]), and forgets
/// a cut that the dropped parse made.
pub(super) fn restore_file_spent(spent: usize) {
    FILE_SPENT.with(|s| s.set(spent));
    FILE_CUT.with(|c| c.set(None));
}

/// Where the file stopped being read, if its budget was spent.
pub(super) fn file_cut() -> Option<SimpleSpan> {
    FILE_CUT.with(Cell::get)
}

/// Reads nothing, and starts an item's budget: nothing spent, nothing cut.
/// Fails instead where the file's budget is spent: the errors the parser
/// counted in the items before, and the `early` ones before the item's
/// first token, reach [`FILE_ERROR_BUDGET`].
pub(super) fn item_start<'t, I, Er>(early: EarlyErrors) -> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    custom(move |inp: &mut InputRef<'t, '_, I, Extra<Er>>| {
        if file_exhausted(inp, &early) {
            return Err(Er::nothing());
        }
        ITEM_START.with(|s| s.set(file_spent()));
        CUT.with(|c| c.set(false));
        Ok(())
    })
}

/// Whether the file's budget is spent at the next token: the errors the
/// parser counted in the items before it and the `early` ones before it
/// reach [`FILE_ERROR_BUDGET`]. False at the end of the input.
fn file_exhausted<'t, I, Er>(inp: &mut InputRef<'t, '_, I, Extra<Er>>, early: &[u32]) -> bool
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    let before = inp.save();
    let next = inp.next();
    let at = inp.span_since(before.cursor()).start as u32;
    inp.rewind(before);
    let early_before = early.partition_point(|&e| e < at);
    next.is_some() && file_spent().saturating_add(early_before) >= FILE_ERROR_BUDGET
}

/// Where the file's budget stopped the items (see [`item_start`]): skips
/// every token up to the segment's stop (`stop`, or the end), and records
/// where the skipping starts. Reads nothing where the budget is not spent.
pub(super) fn rest_of_file<'t, I, Er>(
    early: EarlyErrors,
    stop: std::rc::Rc<Cell<Option<SimpleSpan>>>,
) -> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    custom(move |inp: &mut InputRef<'t, '_, I, Extra<Er>>| {
        if !file_exhausted(inp, &early) {
            return Ok(());
        }
        let mut first = None;
        loop {
            let before = inp.save();
            if inp.next().is_none() {
                break;
            }
            let span = inp.span_since(before.cursor());
            if Some(span) == stop.get() {
                inp.rewind(before);
                break;
            }
            first.get_or_insert(span);
        }
        if first.is_some() {
            FILE_CUT.with(|c| c.set(first));
        }
        Ok(())
    })
}

/// One more error in the item (and the file).
pub(super) fn spend() {
    FILE_SPENT.with(|s| s.set(s.get().saturating_add(1)));
}

/// Whether the item has spent its budget.
pub(super) fn exhausted() -> bool {
    file_spent().saturating_sub(ITEM_START.with(Cell::get)) >= ITEM_ERROR_BUDGET
}

/// Emits the error `make` builds, unless the detailed pass has spent the
/// item's budget: one expression can hold a habit per token (`***…*p`,
/// `a and b and …`), and a million of them were a million errors kept in
/// memory (half a gigabyte), of which one is shown per line. Not emitted,
/// the error is not spent either, so the item's count stops at the budget
/// and the block cuts the item short at its next statement (E0007), as it
/// does for errors on lines of their own. The fast pass always emits: its
/// error costs nothing and makes it give the segment to the detailed pass.
pub(super) fn within_budget<'t, I, Er>(
    emitter: &mut chumsky::input::Emitter<Er>,
    make: impl FnOnce() -> Er,
) where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    if Er::FAST || !exhausted() {
        emitter.emit(make());
    }
}

/// Starts a segment's parse: no stop recorded.
pub(super) fn reset() {
    STOPS.with(|s| s.borrow_mut().clear());
}

/// Where items were cut short since [`reset`], one span per item: the
/// skipped tokens of its innermost block at that point.
pub(super) fn take_stops() -> Vec<SimpleSpan> {
    STOPS.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// Drops the syntax errors (the parser's and the delimiter balancing's) in
/// the parts of items that were not read, after each stop of `stops` up to
/// the end of its item in `items` (both in source order), and says for
/// each item where it stopped (E0007).
pub(super) fn cut_short(diagnostics: &mut Vec<Diagnostic>, stops: &[SimpleSpan], items: &[Item]) {
    if stops.is_empty() {
        return;
    }
    let cuts: Vec<Span> = stops
        .iter()
        .map(|stop| {
            let start = stop.start as u32;
            let k = items.partition_point(|i| i.span.end < start);
            let end = items.get(k).map_or(stop.end as u32, |i| i.span.end);
            Span {
                start,
                end: end.max(start),
            }
        })
        .collect();
    diagnostics.retain(|d| {
        let at = d.primary.span.start;
        let k = cuts.partition_point(|c| c.end < at);
        // An error at the stop itself is the last one read (the statement
        // before failed on the token where the skipping starts).
        cuts.get(k).is_none_or(|c| at <= c.start)
    });
    diagnostics.extend(cuts.iter().map(|c| {
        Diagnostic::new(
            Code::E0007,
            format!("too many syntax errors: the parser stops reading this item after {ITEM_ERROR_BUDGET}"),
            Span {
                start: c.start,
                end: c.start,
            },
            "not read from here on",
        )
        .with_note("the rest of the item is neither parsed nor checked")
        .with_help("fix the first errors and check again")
    }));
}

/// Where the file was cut short (its first unread token), if it was:
/// drops the delimiter balancing's errors (`early`) at and after it and
/// says so (E0008). The parser made none after it (those at it are about
/// the item read last, which failed there). The caller drops the lexical
/// ones (see [`crate::parse_source_tokens`]).
pub(super) fn cut_file(early: &mut Vec<Diagnostic>, cut: Option<SimpleSpan>) {
    let Some(cut) = cut else { return };
    let at = cut.start as u32;
    early.retain(|d| d.primary.span.start < at);
    early.push(file_cut_short(
        at,
        format!("too many errors: the parser stops reading the file after {FILE_ERROR_BUDGET}"),
    ));
}

/// The E0008 of a file cut short at `at`, by the parser's count or the
/// lexer's ([`cut_file`], [`lexer_cut`]).
fn file_cut_short(at: u32, message: String) -> Diagnostic {
    Diagnostic::new(
        Code::E0008,
        message,
        Span { start: at, end: at },
        "not read from here on",
    )
    .with_note("the rest of the file is neither parsed nor checked, and the type checker reports nothing in this file")
    .with_help("fix the first errors and check again")
}

/// The file's budget applied by the lexer's errors alone, which the
/// parser's counts meet only at the next item's start (so a megabyte of
/// `x++;` lines in one function was 200,000 diagnostics, each statement
/// parsed in detail: 0.57 s and 330 MB). Once the lexer has reported
/// [`FILE_ERROR_BUDGET`] errors, nothing from the next one on is read: the
/// tokens and docs kept are those that end before it, and the lexical
/// diagnostics those that start before it. Returns where that next error
/// starts (the cut, which E0008 points at: [`lexer_cut`]) and where the
/// last token kept ends: the parser's diagnostics from there on are about
/// what the cut left unread (the delimiters it leaves open, a statement it
/// leaves half read), and the caller drops them.
///
/// Why the database's chunks agree: a chunk lexes alike alone, so the
/// lexical errors of the file are those of its chunks, and a chunk's count
/// ([`crate::SourceParse::errors_counted`]) includes every lexical error it
/// read (`parser::parse` adds all the early errors to what the items
/// spent): where the chunks' counts add up to less than the budget, there
/// were not enough lexical errors for the file's lexer to cut either, and
/// otherwise the database parses the file whole.
pub(crate) fn cut_lexed(lexed: &mut crate::lexer::Lexed) -> Option<(u32, u32)> {
    let mut errors: Vec<u32> = lexed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.primary.span.start)
        .collect();
    if errors.len() <= FILE_ERROR_BUDGET {
        return None;
    }
    let (_, &mut cut, _) = errors.select_nth_unstable(FILE_ERROR_BUDGET);
    lexed.tokens.retain(|(_, s)| s.end <= cut);
    lexed.docs.retain(|d| d.span.end <= cut);
    lexed.diagnostics.retain(|d| d.primary.span.start < cut);
    let read_to = lexed.tokens.iter().map(|(_, s)| s.end).max().unwrap_or(0);
    Some((cut, read_to))
}

/// The E0008 of a file the lexer's errors cut short at `at` ([`cut_lexed`]).
pub(crate) fn lexer_cut(at: u32) -> Diagnostic {
    file_cut_short(
        at,
        format!(
            "too many errors: the file is not read past its {FILE_ERROR_BUDGET}th lexical error"
        ),
    )
}

/// A block's next statement, as `stmt` parses it; once the item's budget
/// is spent, the rest of the block instead, skipped as one error statement
/// (the first such skip of an item is recorded for its E0007).
pub(super) fn stmt_or_rest<'t, I, Er, P>(stmt: P) -> impl Parser<'t, I, Stmt, Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    P: Parser<'t, I, Stmt, Extra<Er>> + Clone,
{
    custom(move |inp: &mut InputRef<'t, '_, I, Extra<Er>>| {
        if exhausted() {
            let before = inp.cursor();
            if skip_rest_of_group(inp) {
                let span = inp.span_since(&before);
                if !CUT.with(|c| c.replace(true)) {
                    STOPS.with(|s| s.borrow_mut().push(span));
                }
                return Ok(Stmt {
                    kind: StmtKind::Error,
                    span: Span::from(span),
                });
            }
        }
        inp.parse(&stmt)
    })
}

#[cfg(test)]
mod tests {
    use super::ITEM_ERROR_BUDGET;
    use crate::codes::Code;

    /// A correct function parsed in detail (one broken statement at its end
    /// puts it there) spends nothing, however long: no alternative the detailed
    /// pass tries and drops counts, not even those that look for a
    /// misspelled keyword (`retur`, `whil`) or a C declaration (`b c`).
    #[test]
    fn correct_statements_parsed_in_detail_spend_nothing() {
        let stmts = "    b += a;
    if a == 1 { b = 3; } else if b > 2 { b = 4; } else { b = 5; }
    while b < 10 { b += 1; }
    for i in 0..3 { b += i as u32; }
    b = ret(b);
    let retur = b;
    b = retur;
    whil(b);
    {
        let c = b;
        b = c;
    }
";
        let src = format!(
            "fn ret(v: u32) -> u32 {{\n    return v;\n}}\n\nfn whil(v: u32) {{\n}}\n\n\
             export fn big(x: u32) -> u32 {{\n    var b: u32 = x;\n    let a: u32 = 1;\n\
             {}    let z = b +;\n    return b;\n}}\n",
            stmts.repeat(2 * ITEM_ERROR_BUDGET)
        );
        let (_, diags) = crate::parse_source(&src);
        let codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::E0001], "{:?}", diags.first());
        assert_eq!(&*diags[0].message, "unexpected `;`");
    }

    /// A block read past the item's budget by an alternative that is then
    /// dropped leaves no cut behind: `do { … }` without its `while` is one
    /// error at what follows (the block is skipped with the statement),
    /// however many errors the block holds, and the next statement is read.
    #[test]
    fn a_cut_in_a_dropped_alternative_is_forgotten() {
        let line = format!("        {}\n", "=;".repeat(50));
        for lines in [2, 19, 21, 45] {
            let src = format!(
                "export fn f() -> u32 {{\n    do {{\n{}    }}\n    let y: u32 = 1;\n    return y;\n}}\n",
                line.repeat(lines)
            );
            let (_, diags) = crate::parse_source(&src);
            let got: Vec<(Code, &str)> = diags.iter().map(|d| (d.code, &*d.message)).collect();
            assert_eq!(got, [(Code::E0001, "unexpected `let`")], "{lines} lines");
        }
    }

    /// Habits the parser reads (C's `=` in a condition, a misspelled
    /// `return`, Rust's `let mut`) are counted one each, as kept: a
    /// function of 1,500 is cut after the 1,000th, and its last line read
    /// is the 1,000th.
    #[test]
    fn habits_the_parser_reads_are_counted_once_each() {
        let lines = [
            "    if (x = 1) {}\n",
            "    retrun x;\n",
            "    let mut y = x;\n",
        ];
        for line in lines {
            let src = format!(
                "export fn f(x: u32) -> u32 {{\n{}    return x;\n}}\n",
                line.repeat(ITEM_ERROR_BUDGET * 3 / 2)
            );
            let (_, diags) = crate::parse_source(&src);
            let errors = diags.iter().filter(|d| d.code == Code::E0001).count();
            let cut: Vec<_> = diags.iter().filter(|d| d.code == Code::E0007).collect();
            assert_eq!(errors, ITEM_ERROR_BUDGET, "{line}");
            assert_eq!(cut.len(), 1, "{line}");
            let last_read = src
                .match_indices(line)
                .nth(ITEM_ERROR_BUDGET - 1)
                .unwrap()
                .0;
            let first_unread = last_read + line.len();
            let at = cut[0].primary.span.start as usize;
            assert!(
                at > last_read && at <= first_unread + 4,
                "{line}: cut at {at}"
            );
        }
    }
}
