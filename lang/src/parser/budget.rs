//! The error budget of one item: after [`ITEM_ERROR_BUDGET`] syntax errors
//! in one item, the detailed pass skips the rest of the item's blocks and
//! reports that once (E0007), instead of going on at several microseconds
//! and a diagnostic per error. A megabyte of broken lines in one function
//! was half a million diagnostics and over a second; no one reads past the
//! first screen of them, and the first ones are what the user fixes first.
//!
//! What counts: each recovery (a statement, block or item skipped after a
//! failure, [`super::fast::raising`]) and each `;` missing at the end of a
//! line. Both are errors the parse keeps: a recovery ends in a parse that
//! goes on, and `semi`, which reports the `;`, is the last part of every
//! statement, so an alternative that reached it succeeds. (A recovery
//! inside an alternative that is then abandoned would count too; the
//! statement alternatives fail on their first tokens, before any block
//! they hold, so where the only errors are missing `;` none is.) Other
//! tagged errors (a habit from C or Rust) are not counted, because the
//! failure of an alternative that looks for a habit makes one too, and is
//! dropped. The count is what the budget is about, not what is shown: one
//! syntax error per line is shown, so a line may spend several.
//!
//! Why the budget gives the same tree on every path (the database parses
//! chunks of items, `kpl_lang::analyze` the whole file, each cut into
//! segments of its own): the count restarts at every item and depends only
//! on the item's tokens, since segments and chunks hold whole items. The
//! fast pass keeps its parse of a segment whose only errors are missing
//! `;` (`fast::semi_shortcut`), which are then exactly the errors the
//! detailed pass would count; it counts the missing `;` it notes too, and
//! gives up (the segment is then parsed in detail) when an item's count
//! reaches the budget. So a fast parse is kept only where the detailed pass
//! would not have stopped either; it also stops the fast pass from reading
//! the rest of such an item statement by statement.

use std::cell::{Cell, RefCell};

use chumsky::{input::InputRef, input::ValueInput, prelude::*};

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

thread_local! {
    /// Errors counted in the item being parsed in detail.
    static SPENT: Cell<usize> = const { Cell::new(0) };
    /// Whether the item being parsed was already cut short.
    static CUT: Cell<bool> = const { Cell::new(false) };
    /// Where each item cut short stopped being read, in parse order.
    static STOPS: RefCell<Vec<SimpleSpan>> = const { RefCell::new(Vec::new()) };
}

/// Reads nothing, and starts an item's budget: nothing spent, nothing cut.
pub(super) fn item_start<'t, I, Er>() -> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    custom(|_| {
        SPENT.with(|s| s.set(0));
        CUT.with(|c| c.set(false));
        Ok(())
    })
}

/// One more error in the item.
pub(super) fn spend() {
    SPENT.with(|s| s.set(s.get().saturating_add(1)));
}

/// Whether the item has spent its budget.
pub(super) fn exhausted() -> bool {
    SPENT.with(Cell::get) >= ITEM_ERROR_BUDGET
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
}
