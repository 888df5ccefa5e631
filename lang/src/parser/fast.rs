//! The fast pass's shortcuts. A segment is parsed first with an error type
//! that records nothing and only says whether it has errors (see
//! [`super::error`]); what it parses is kept only if it has none. So where an
//! error cannot matter any more, or would only say what was expected, this
//! pass may take shortcuts the detailed pass cannot: try only the
//! alternatives that can start with the token at hand, and stop parsing a
//! segment in earnest once it has raised an error.

use chumsky::{
    input::{InputRef, ValueInput},
    prelude::*,
};

use super::Extra;
use super::error::ParseError;
use crate::lexer::Tok;

/// A recovery's parser: when it recovers, an error was raised, which the
/// fast pass notes (see [`ParseError::raised`]).
pub(super) fn raising<'t, I, O, Er, P>(p: P) -> impl Parser<'t, I, O, Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    P: Parser<'t, I, O, Extra<Er>> + Clone,
{
    p.map(|v| {
        Er::raised();
        v
    })
}

/// `fast` in the fast pass, `detailed` in the detailed one. After every
/// operand some thirty alternatives (every operator, `as`, `.`, `(`, …) fail
/// on the next token, each a parser call that records what it expected: the
/// fast pass, whose errors say nothing, instead looks at the token once and
/// tries only the alternatives that can start with it, in their order. It
/// parses a correct input to the same tree, and a broken one fails
/// somewhere all the same (its segment is then parsed in detail); the
/// detailed pass keeps every alternative for what the diagnostics list as
/// expected.
pub(super) fn by_pass<'t, I, O, Er, F, D>(fast: F, detailed: D) -> Boxed<'t, 't, I, O, Extra<Er>>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    F: Parser<'t, I, O, Extra<Er>> + Clone + 't,
    D: Parser<'t, I, O, Extra<Er>> + Clone + 't,
{
    if Er::FAST {
        fast.boxed()
    } else {
        detailed.boxed()
    }
}

/// The fast pass's reading of one of the symbols of `table` (see [`by_pass`]).
pub(super) fn sym_of<'t, I, Er, O>(
    table: &'static [(&'static str, O)],
) -> impl Parser<'t, I, O, Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    O: Clone + 't,
{
    custom(move |inp| {
        let found = match inp.peek() {
            Some(Tok::Sym(s)) => table.iter().find(|(t, _)| *t == s),
            _ => None,
        };
        match found {
            Some((_, o)) => {
                inp.skip();
                Ok(o.clone())
            }
            None => Err(Er::nothing()),
        }
    })
}

/// `p`, which in the fast pass is not tried at a token `first` rejects (see
/// [`by_pass`]): `first` accepts every token `p` can start with.
pub(super) fn starting<'t, I, O, Er, P>(
    first: fn(&Tok) -> bool,
    p: P,
) -> Boxed<'t, 't, I, O, Extra<Er>>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    P: Parser<'t, I, O, Extra<Er>> + Clone + 't,
    O: 't,
{
    let guarded = p.clone();
    by_pass(
        custom(move |inp| match inp.peek() {
            Some(t) if first(&t) => inp.parse(&guarded),
            _ => Err(Er::nothing()),
        }),
        p,
    )
}

/// Succeeds, reading nothing, once the fast pass has raised an error.
pub(super) fn given_up<'t, I, Er: ParseError<'t, I>>() -> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    custom(|_| {
        if Er::gave_up() {
            Ok(())
        } else {
            Err(Er::nothing())
        }
    })
}

/// Skips the tokens up to the `}` that closes the enclosing group (at least
/// one), counting nested groups instead of parsing them.
pub(super) fn rest_of_group<'t, I, Er: ParseError<'t, I>>()
-> impl Parser<'t, I, (), Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    custom(|inp| {
        let mut depth = 0usize;
        let mut skipped = false;
        loop {
            match inp.peek() {
                // The end of the input ends every group.
                None => return if skipped { Ok(()) } else { Err(Er::nothing()) },
                Some(Tok::Sym("}")) if depth == 0 => {
                    return if skipped { Ok(()) } else { Err(Er::nothing()) };
                }
                Some(Tok::Sym("(" | "[" | "{")) => depth = depth.saturating_add(1),
                // A stray closer (the balancer leaves none, but this must
                // not count on it) is skipped like any token.
                Some(Tok::Sym(")" | "]" | "}")) => depth = depth.saturating_sub(1),
                _ => {}
            }
            inp.skip();
            skipped = true;
        }
    })
}

/// The token after the current one, looked at without reading either (the
/// fast pass tells a struct literal, a conversion or a statement kind by it).
pub(super) fn second<'t, I, Er>(inp: &mut InputRef<'t, '_, I, Extra<Er>>) -> Option<Tok>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    let at = inp.save();
    inp.skip();
    let after = inp.peek();
    inp.rewind(at);
    after
}
