//! The detailed pass takes the fast pass's tree of every statement that
//! has no error. A segment with one error is parsed again in detail (see
//! `segment`), and a segment is at least an item: a function of a
//! megabyte with one broken line cost a detailed parse of the megabyte
//! (2.0 s for lines of nested array literals, 1.4 s for nested calls, where
//! the fast pass takes a fifth of that). Now the detailed pass parses in
//! detail only the statements that hold an error, and the blocks around
//! them down to the error.
//!
//! Why the tree and the errors are those of the detailed parse. A
//! statement the fast pass parses without raising or noting anything is a
//! correct input, which both passes parse to the same tree (see
//! `fast::by_pass`), and the detailed pass would report nothing in it. What
//! the detailed pass records of it is only what failing alternatives
//! expected, at positions up to the token after it (an `if` looks for
//! `else` there). Those would be listed in an error only at that token, so a
//! statement is taken only where the token after it is the block's `}` or
//! starts another statement without errors: the next error is then further
//! on, where what was expected before is forgotten.
//!
//! Why it stays linear. A fast parse of a statement records, for every
//! statement it reads inside it, whether that one had errors (`recorded`).
//! A statement with errors inside a statement with errors is then known
//! and parsed in detail at once, not tried fast again at each level of
//! nesting; a correct one is parsed fast once more, for its tree, and then
//! skipped. So every token is parsed fast at most a few times, and in detail
//! only inside the statements that hold an error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chumsky::{
    input::{InputRef, ValueInput},
    prelude::*,
};

use super::Extra;
use super::budget;
use super::error::{self, ParseError};
use crate::ast::Stmt;
use crate::lexer::Tok;
use chumsky::error::EmptyErr;

/// The input of a parse: tokens up to a segment's stop token, which is the
/// end of input. One function, so that a segment and a statement in it are
/// the same type of input, which one grammar parses.
pub(super) fn tokens(
    tokens: &[(Tok, SimpleSpan)],
    eoi: SimpleSpan,
) -> impl ValueInput<'_, Token = Tok, Span = SimpleSpan> {
    tokens.map(eoi, |(t, s)| (t, s))
}

/// A block's statement parser, which `file_parser` gives out for `hook_fn`.
pub(super) type StmtParser<'t, I, Er> = Boxed<'t, 't, I, Stmt, Extra<Er>>;

/// The fast pass's parse of the statement starting at a byte offset: the
/// statement and its number of tokens, if it has no errors and may be taken
/// (see the module's comment). Set once the fast parser is built.
pub(super) type Hook<'t> = Rc<RefCell<Option<Rc<dyn Fn(u32) -> Option<(Stmt, usize)> + 't>>>>;

thread_local! {
    /// Whether the detailed pass takes the fast pass's statements (always,
    /// but in the test that compares the two).
    static REUSE: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
    /// While a statement is parsed fast for the detailed pass: the
    /// statements read so far, by their first token's offset, with the end
    /// of their span and whether they had no errors.
    static SEEN: RefCell<Option<HashMap<u32, (u32, bool)>>> = const { RefCell::new(None) };
}

/// The fast pass's `stmt`, which notes what it reads while a statement is
/// parsed for the detailed pass. In the fast pass a statement is started
/// only while nothing has been raised (see `stmts`), so whether it raised
/// is whether the flag is set after it.
pub(super) fn recorded<'t, I, Er, P>(stmt: P) -> Boxed<'t, 't, I, Stmt, Extra<Er>>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    P: Parser<'t, I, Stmt, Extra<Er>> + Clone + 't,
{
    if !Er::FAST {
        return stmt.boxed();
    }
    custom(move |inp: &mut InputRef<'t, '_, I, Extra<Er>>| {
        let watching = SEEN.with(|s| s.borrow().is_some()) && !Er::gave_up();
        let semis = error::missing_semis();
        let s = inp.parse(&stmt)?;
        if watching {
            let clean = !Er::gave_up() && error::missing_semis() == semis;
            SEEN.with(|seen| {
                if let Some(seen) = &mut *seen.borrow_mut() {
                    seen.insert(s.span.start, (s.span.end, clean));
                }
            });
        }
        Ok(s)
    })
    .boxed()
}

/// The tokens' (offset, index), sorted, and the sorted offsets of those that
/// cannot be found by their offset (see `hook_fn`).
type Tables = (Vec<(u32, u32)>, Vec<u32>);

/// The hook's function for a parse of `src` whose tokens are `all`: `fast` is the
/// fast pass's `stmt`, `stop` the index in `all` of the current segment's
/// stop token.
pub(super) fn hook_fn<'t, I>(
    src: &'t str,
    all: &'t [(Tok, SimpleSpan)],
    input: impl Fn(&'t [(Tok, SimpleSpan)], SimpleSpan) -> I + 't,
    fast: Boxed<'t, 't, I, Stmt, Extra<EmptyErr>>,
    stop: Rc<std::cell::Cell<usize>>,
    eoi: SimpleSpan,
) -> Rc<dyn Fn(u32) -> Option<(Stmt, usize)> + 't>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    // A statement, not the segment: the parse fails at the token after it,
    // where the rest of the input would be, and the statement is taken
    // from the side (`lazy` would read the rest of the segment, for every
    // statement).
    let parsed: Rc<RefCell<Option<Stmt>>> = Rc::default();
    let into = parsed.clone();
    let fast = fast.map(move |s| *into.borrow_mut() = Some(s));
    let known: RefCell<HashMap<u32, (u32, bool)>> = RefCell::default();
    // The statement at `at` (an index in `all`), parsed fast, and the
    // statements read in it noted in `known`.
    let segment_stop = stop.clone();
    let parse_at = move |at: usize, known: &RefCell<HashMap<u32, (u32, bool)>>| {
        let to = segment_stop.get();
        let segment_eoi = all.get(to).map_or(eoi, |(_, s)| *s);
        let upto = all.get(at..=to).or_else(|| all.get(at..))?;
        let spent = budget::file_spent();
        error::reset();
        SEEN.with(|s| *s.borrow_mut() = Some(HashMap::new()));
        let _ = fast.parse_with_state(input(upto, segment_eoi), &mut ());
        let out = parsed.borrow_mut().take();
        let seen = SEEN.with(|s| s.borrow_mut().take()).unwrap_or_default();
        let clean = !error::gave_up() && error::missing_semis() == 0;
        error::reset();
        budget::restore_file_spent(spent);
        known.borrow_mut().extend(seen);
        let out = out?;
        known
            .borrow_mut()
            .insert(out.span.start, (out.span.end, clean));
        clean.then_some(out)
    };
    // A token as the source has it: not one a habit of the lexer made up
    // (braces for a Python block, a `var` for a `mut` parameter), whose
    // statement is left to the detailed pass.
    let genuine = move |(t, s): &(Tok, SimpleSpan)| {
        let text = src.get(s.start..s.end).unwrap_or("");
        !text.is_empty()
            && match t {
                Tok::Ident(n) => **n == *text,
                Tok::Kw(k) | Tok::Sym(k) => *k == text,
                Tok::Int(_) => text.starts_with(|c: char| c.is_ascii_digit()),
                Tok::Str(_) => text.starts_with('"'),
                Tok::BadInt => false,
            }
    };
    // Tokens are found by their offset, the only one the detailed pass can
    // tell: so only a token whose offset no other token has, and that is
    // not empty. The lexer's habits insert tokens that share an offset
    // (`var x = x;` for a `mut` parameter, of no width) or repeat a span
    // elsewhere (`let (a, b) = (1, 2)` as two `let`s).
    // (Offset, index) of every token, sorted, built when first needed: eight
    // bytes a token, where a hash map of them was several times that. With
    // them, sorted, the offsets of the tokens that cannot be found (see
    // `spoilt`).
    let build = move || {
        let mut v: Vec<(u32, u32)> = (0..all.len())
            .map(|i| (all[i].1.start as u32, i as u32))
            .collect();
        v.sort_unstable();
        let shared = |k: usize| {
            (k > 0 && v[k - 1].0 == v[k].0) || v.get(k + 1).is_some_and(|n| n.0 == v[k].0)
        };
        let lost: Vec<u32> = (0..v.len())
            .filter(|&k| shared(k) || !genuine(&all[v[k].1 as usize]))
            .map(|k| v[k].0)
            .collect();
        (v, lost)
    };
    let tables: Rc<std::cell::OnceCell<Tables>> = Rc::default();
    let by_offset = tables.clone();
    let index = move |offset: u32| {
        let by_offset = &by_offset.get_or_init(build).0;
        let first = by_offset.partition_point(|&(o, _)| o < offset);
        let (o, i) = *by_offset.get(first)?;
        let alone = o == offset
            && by_offset.get(first + 1).is_none_or(|&(o, _)| o != offset)
            && genuine(&all[i as usize]);
        alone.then_some(i as usize)
    };
    // Whether a token that cannot be found lies in `start..end`: a
    // statement there is not taken (see below), so it is not parsed fast
    // again only to be refused. A statement holding a token a habit of the
    // lexer made (`range(0, n)` read as `0..n`) was parsed fast at every
    // level of the blocks around it, each parse reading everything inside:
    // 1 MiB of `for` loops 100 deep around such a header took 3.8 s. (A
    // token moved from elsewhere whose offset lies there refuses a
    // statement that could have been taken: it is parsed in detail, to the
    // same tree.)
    let spoilt = move |start: u32, end: u32| {
        let lost = &tables.get_or_init(build).1;
        let k = lost.partition_point(|&o| o < start);
        lost.get(k).is_some_and(|&o| o < end)
    };
    let pending: RefCell<Option<Stmt>> = RefCell::default();
    Rc::new(move |offset: u32| {
        let at = index(offset)?;
        let status = known.borrow().get(&offset).copied();
        if status.is_some_and(|(end, clean)| !clean || spoilt(offset, end)) {
            return None;
        }
        let ahead = pending.borrow_mut().take();
        let stmt = match ahead {
            Some(s) if s.span.start == offset => s,
            _ => parse_at(at, &known)?,
        };
        // Its tokens, each alone at its offset and in order, and the one
        // after them.
        let mut next = at;
        let mut end = offset;
        while let Some((_, s)) = all
            .get(next)
            .filter(|(_, s)| (s.start as u32) < stmt.span.end)
        {
            if (s.start as u32) < end || index(s.start as u32) != Some(next) {
                return None;
            }
            end = s.end as u32;
            next += 1;
        }
        if end != stmt.span.end || next == at {
            return None;
        }
        // The token after it ends the block, or starts a correct statement.
        let taken = match all.get(next) {
            Some(close @ (Tok::Sym("}"), _)) => genuine(close),
            Some((_, s)) if next < stop.get() && index(s.start as u32) == Some(next) => {
                let after = known.borrow().get(&(s.start as u32)).copied();
                match after {
                    Some((_, clean)) => clean,
                    // Kept for when the detailed pass gets there.
                    None => parse_at(next, &known)
                        .map(|s| *pending.borrow_mut() = Some(s))
                        .is_some(),
                }
            }
            _ => false,
        };
        taken.then_some((stmt, next - at))
    })
}

/// The detailed pass's `stmt`: the fast pass's tree where the hook gives
/// one, read past as tokens; `stmt` otherwise.
pub(super) fn reusing<'t, I, Er, P>(hook: Hook<'t>, stmt: P) -> Boxed<'t, 't, I, Stmt, Extra<Er>>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    P: Parser<'t, I, Stmt, Extra<Er>> + Clone + 't,
{
    if Er::FAST {
        return stmt.boxed();
    }
    custom(move |inp: &mut InputRef<'t, '_, I, Extra<Er>>| {
        let f = hook
            .borrow()
            .clone()
            .filter(|_| REUSE.with(std::cell::Cell::get));
        let at = inp.save();
        let start = inp.cursor();
        if let (Some(f), Some(_)) = (f, inp.next()) {
            let first = inp.span_since(&start).start as u32;
            inp.rewind(at);
            if let Some((s, tokens)) = f(first) {
                // Read past exactly its tokens, or parse it here after all.
                let at = inp.save();
                let start = inp.cursor();
                let read = (0..tokens).take_while(|_| inp.next().is_some()).count();
                if read == tokens && crate::span::Span::from(inp.span_since(&start)) == s.span {
                    return Ok(s);
                }
                inp.rewind(at);
            }
        } else {
            inp.rewind(at);
        }
        inp.parse(&stmt)
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::REUSE;
    use crate::parser::fast::tests::fixtures;

    fn parse(src: &str, reuse: bool) -> (crate::ast::File, Vec<crate::diag::Diagnostic>, usize) {
        REUSE.with(|r| r.set(reuse));
        let lexed = crate::lexer::lex(src);
        let parsed = super::super::parse(src, &lexed.tokens, &lexed.docs, &lexed.diagnostics);
        REUSE.with(|r| r.set(true));
        parsed
    }

    /// The detailed pass gives the same tree, diagnostics and count with
    /// the fast pass's statements as without them, on every fixture with a
    /// mistake put at the start of a line (at most 20 lines per fixture,
    /// spread over it, each of several mistakes) and with a line dropped.
    #[test]
    fn reused_statements_are_the_detailed_parse() {
        const MISTAKES: [&str; 8] = [
            ") ",
            "let = ; ",
            "x = 1 ",
            "} ",
            "else { } ",
            "if x ",
            "retrun 1; ",
            "1 + ",
        ];
        let mut variants = 0;
        for src in fixtures() {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .filter(|&i| i < src.len())
                .collect();
            let step = starts.len().div_ceil(20).max(1);
            for (k, &at) in starts.iter().step_by(step).enumerate() {
                let mistake = MISTAKES[k % MISTAKES.len()];
                let end = src[at..].find('\n').map_or(src.len(), |e| at + e + 1);
                for input in [
                    format!("{}{mistake}{}", &src[..at], &src[at..]),
                    format!("{}{}", &src[..at], &src[end..]),
                ] {
                    assert_eq!(parse(&input, true), parse(&input, false), "{input}");
                    variants += 1;
                }
            }
        }
        assert!(variants > 2000, "{variants} inputs");
    }
}
