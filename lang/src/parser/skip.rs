//! Skipping the rest of a broken statement or item: tokens and whole groups
//! up to a token that stops the skip (`;`, `}` or a keyword, as the caller
//! says), read in a loop that looks at each token once.
//!
//! The skip was `step.repeated()`, `step` being "a group, or a token that
//! is not a stop": per token that was a checkpoint saved, a group opener
//! tried and failed, each stop tried and failed inside a `not`, every
//! failure recording what it expected. Recovery skips whatever follows a
//! mistake, so a line of a million `+` or `-` cost three skips of a million
//! tokens at 0.1 µs a token or more (one in each pass, one more in the
//! fast parse of the broken statement that `reuse` tries). Only what the
//! last, failing `step` records is ever seen (every failure before it is at
//! an earlier token, and what the parser expected at an earlier token is
//! forgotten once it records anything further on): [`skip_until`] tries
//! `step` once where it stops, so the errors are those of the repetition.

use chumsky::{
    input::{InputRef, ValueInput},
    prelude::*,
};

use super::Extra;
use super::error::ParseError;
use crate::lexer::Tok;

/// Where the rest of a broken statement ends: at its `;`, or before the
/// `}` of its block or a keyword that starts another statement or an item.
pub(super) fn ends_statement(t: &Tok) -> bool {
    match t {
        Tok::Sym(s) => matches!(*s, ";" | "}"),
        Tok::Kw(k) => super::STMT_KEYWORDS.contains(k) || super::ITEM_KEYWORDS.contains(k),
        _ => false,
    }
}

/// `step.repeated()`, where `step` reads one group (from `(`, `[` or `{`
/// to its closer) or one token that `stops` rejects, and fails on any
/// other token and at the end of the input. The stream is balanced
/// ([`crate::delims`]), so a group is a count of openers and closers.
pub(super) fn skip_until<'t, I, Er, S>(
    stops: fn(&Tok) -> bool,
    step: S,
) -> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    S: Parser<'t, I, (), Extra<Er>> + Clone,
{
    let run = custom(move |inp: &mut InputRef<'t, '_, I, Extra<Er>>| {
        loop {
            match inp.peek() {
                Some(Tok::Sym("(" | "[" | "{")) => {
                    let before = inp.save();
                    inp.skip();
                    let mut depth = 1usize;
                    while depth > 0 {
                        match inp.next() {
                            Some(Tok::Sym("(" | "[" | "{")) => depth += 1,
                            Some(Tok::Sym(")" | "]" | "}")) => depth -= 1,
                            Some(_) => {}
                            // Unreachable on a balanced stream: `step`
                            // then fails on the group, as it would have.
                            None => {
                                inp.rewind(before);
                                return Ok(());
                            }
                        }
                    }
                }
                Some(t) if !stops(&t) => inp.skip(),
                _ => return Ok(()),
            }
        }
    });
    // `step` fails here: what it expected is what the repetition's last
    // try recorded.
    run.then_ignore(step.or_not())
}
