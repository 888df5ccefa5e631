//! Where the token stream is cut into segments that are parsed one at a
//! time, each first without error details and again with them only if it
//! has errors: a file with one broken item costs one fast parse of
//! everything and a detailed parse of that item's segment, not a detailed
//! parse of the whole file (several times slower: it records what every
//! failing alternative expected). A file whose delimiters were repaired
//! used to be parsed in detail throughout; one of nested functions, each
//! closed by the balancing, took 1.4 s a MiB.
//!
//! Why the items come out as they would from one parse of the whole file:
//! a segment starts at an item keyword (`fn`, `struct`, `export`, …)
//! outside every group, right after a `}` or `;`, and its input ends with
//! that next segment's first token, its *stop*, where no item is started.
//! The parse of an item never reads past such a keyword: items nest only
//! at the top level, so no item's grammar holds an item keyword after its
//! first token except `fn` after `export`, `extern` or `pub` (never after
//! `}` or `;`), and the item-level recovery skips up to the next item
//! keyword outside groups. So everything a whole-file parse looks at while
//! it parses the items of a segment, including the stop token it fails on
//! or stops before, is in the segment's input, and the parser keeps no
//! state from one item to the next (what failed is recorded per position,
//! and every failure inside an item is further on than any earlier item's).

use chumsky::{input::ValueInput, prelude::*};

use super::error::ParseError;
use super::{Extra, ITEM_KEYWORDS};
use crate::lexer::Tok;

/// A segment holds at least this many tokens (past it, the next item
/// keyword that may start one ends it): a parse has a fixed cost, and one
/// per item would be most of the time of a file of tiny items.
const MIN_TOKENS: usize = 256;

/// The index of each segment's stop token in `tokens` (a balanced stream),
/// the last being `tokens.len()` (no stop: the end of the input).
pub(super) fn ends<S>(tokens: &[(Tok, S)]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut prev_ends_item = true;
    for (i, (t, _)) in tokens.iter().enumerate() {
        match t {
            Tok::Sym("(" | "[" | "{") => depth += 1,
            Tok::Sym(")" | "]" | "}") => depth = depth.saturating_sub(1),
            Tok::Kw(k)
                if depth == 0
                    && prev_ends_item
                    && i - start >= MIN_TOKENS
                    && ITEM_KEYWORDS.contains(k) =>
            {
                ends.push(i);
                start = i;
            }
            _ => {}
        }
        prev_ends_item = matches!(t, Tok::Sym("}" | ";"));
    }
    ends.push(tokens.len());
    ends
}

/// Skips one delimited group, from `open` (one of `(`, `[`, `{`, or any of
/// them if `None`) to its closer. The token stream is balanced
/// ([`crate::delims`]), so this is a plain count, not a parse: recovery that
/// skips a group costs the group's length and never recurses.
pub(super) fn group<'t, I, Er: ParseError<'t, I>>(
    open: Option<&'static str>,
) -> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    let opener = any().filter(move |t: &Tok| match (t, open) {
        (Tok::Sym(s), Some(o)) => *s == o,
        (Tok::Sym(s), None) => matches!(*s, "(" | "[" | "{"),
        _ => false,
    });
    opener.ignore_then(custom(|inp| {
        let before = inp.cursor();
        let mut depth = 1usize;
        loop {
            match inp.next() {
                Some(Tok::Sym("(" | "[" | "{")) => depth += 1,
                Some(Tok::Sym(")" | "]" | "}")) => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Some(_) => {}
                // Unreachable on a balanced stream.
                None => return Err(Er::tagged(inp.span_since(&before), "unbalanced group")),
            }
        }
    }))
}
