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
        if skip_rest_of_group(inp) {
            Ok(())
        } else {
            Err(Er::nothing())
        }
    })
}

/// Skips the tokens up to the `}` that closes the enclosing group, counting
/// nested groups instead of parsing them; whether it skipped any.
pub(super) fn skip_rest_of_group<'t, I, Er>(inp: &mut InputRef<'t, '_, I, Extra<Er>>) -> bool
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    let mut depth = 0usize;
    let mut skipped = false;
    loop {
        match inp.peek() {
            // The end of the input ends every group.
            None => return skipped,
            Some(Tok::Sym("}")) if depth == 0 => return skipped,
            Some(Tok::Sym("(" | "[" | "{")) => depth = depth.saturating_add(1),
            // A stray closer (the balancer leaves none, but this must not
            // count on it) is skipped like any token.
            Some(Tok::Sym(")" | "]" | "}")) => depth = depth.saturating_sub(1),
            _ => {}
        }
        inp.skip();
        skipped = true;
    }
}

/// The token after the current one, looked at without reading either (the
/// fast pass tells a struct literal, a conversion or a statement kind by it).
pub(super) fn second<'t, I, Er>(inp: &mut InputRef<'t, '_, I, Extra<Er>>) -> Option<Tok>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    ahead(inp, 1)
}

/// The token `n` places after the current one, looked at without reading.
pub(super) fn ahead<'t, I, Er>(inp: &mut InputRef<'t, '_, I, Extra<Er>>, n: usize) -> Option<Tok>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
{
    let at = inp.save();
    for _ in 0..n {
        inp.skip();
    }
    let after = inp.peek();
    inp.rewind(at);
    after
}

thread_local! {
    static SEMI_SHORTCUT: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether a segment whose only errors are `;` missing at ends of lines
/// keeps its fast parse, with those errors, instead of being parsed again
/// in detail (always, but in the test that compares the two).
///
/// Why that is the detailed parse's result. The fast pass notes each
/// missing `;` it reports ([`super::error::take_missing_semis`]) and does not
/// give up for it. A report in a branch that the parse then gives up is
/// not kept among its errors, so when the errors kept are exactly as many
/// as the reports noted, and nothing else was raised, every noted report is
/// a kept one and there is no other error. Such a parse succeeded along one
/// path on which `semi` read a line break as a `;` at each noted place. That
/// rule is the same parser in both passes, and where a `;` follows, the
/// passes build the same tree ([`by_pass`]: the fast pass differs only in
/// which error a failing input gets). The detailed pass therefore succeeds
/// along the same path, with the same tree, and its only errors are the
/// same reports, in the same order: a success records no expected-found
/// error. `tests::semi_shortcut_is_the_detailed_parse` compares the two on
/// every fixture with each line-ending `;` removed in turn and all at once.
pub(super) fn semi_shortcut() -> bool {
    SEMI_SHORTCUT.with(std::cell::Cell::get)
}

#[cfg(test)]
pub(super) mod tests {
    use super::SEMI_SHORTCUT;
    use crate::diag::Diagnostic;

    /// Every fixture of the compiler's UI, one-mistake and example
    /// directories.
    pub(in crate::parser) fn fixtures() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut sources = Vec::new();
        let mut dirs = vec![
            root.join("compiler/tests/ui"),
            root.join("compiler/tests/one_mistake"),
        ];
        for entry in std::fs::read_dir(root.join("examples")).expect("examples") {
            dirs.push(entry.expect("example").path());
        }
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut paths: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
            paths.sort();
            for path in paths {
                if path.extension().is_some_and(|e| e == "kpl") {
                    sources.push(std::fs::read_to_string(&path).expect("fixture"));
                }
            }
        }
        sources
    }

    /// The tree, syntax diagnostics and errors counted by the file's budget
    /// of `src`, with the shortcut or not.
    fn parse(src: &str, shortcut: bool) -> (crate::ast::File, Vec<Diagnostic>, usize) {
        SEMI_SHORTCUT.with(|s| s.set(shortcut));
        let lexed = crate::lexer::lex(src);
        let parsed = super::super::parse(src, &lexed.tokens, &lexed.docs, &lexed.diagnostics);
        SEMI_SHORTCUT.with(|s| s.set(true));
        parsed
    }

    /// The offsets of every `;` that ends its line.
    fn line_end_semis(src: &str) -> Vec<usize> {
        src.match_indices(';')
            .map(|(i, _)| i)
            .filter(|&i| src[i + 1..].starts_with(['\n', '\r']) || i + 1 == src.len())
            .collect()
    }

    /// See [`super::semi_shortcut`]: a segment whose only errors are `;`
    /// missing at ends of lines gets from the fast parse the tree and the
    /// errors that the detailed parse gives it. Each fixture is parsed
    /// whole, with each `;` that ends a line removed in turn (at most 60 per
    /// fixture, spread over it), and with all of them removed.
    #[test]
    fn semi_shortcut_is_the_detailed_parse() {
        let (mut variants, mut only_semis) = (0, 0);
        for src in fixtures() {
            let semis = line_end_semis(&src);
            let step = semis.len().div_ceil(60).max(1);
            let mut inputs = vec![src.clone()];
            for &at in semis.iter().step_by(step) {
                inputs.push(format!("{}{}", &src[..at], &src[at + 1..]));
            }
            let mut all = src.clone();
            for &at in semis.iter().rev() {
                all.remove(at);
            }
            inputs.push(all);
            for input in &inputs {
                let fast = parse(input, true);
                let detailed = parse(input, false);
                assert_eq!(fast, detailed, "{input}");
                variants += 1;
                only_semis += usize::from(
                    !fast.1.is_empty() && fast.1.iter().all(|d| d.message == "expected `;`"),
                );
            }
        }
        // The comparison covers many inputs that take the shortcut.
        assert!(variants > 2000, "{variants} inputs");
        assert!(only_semis > 1000, "{only_semis} with only missing `;`");
    }
}
