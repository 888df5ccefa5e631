//! Prefix operators: `-x`, `!x`, `~x`, and C's `&x`, `&mut x` and `*p`,
//! which are reported and read as `x` and `p` (KPL has no pointers).
//!
//! A run of them is read in one loop that looks at each token once and
//! parses only the operator it is. Chumsky's `repeated` tried every
//! alternative in turn (four failed, each recording what it expected,
//! before a `*` was read) and saved a checkpoint per operator: a line of a
//! million `*` took 0.86 s and 520 MB. The errors the run reports are
//! bounded by the item's budget (see [`within_budget`]).

use chumsky::{
    input::{InputRef, ValueInput},
    prelude::*,
};

use super::budget::within_budget;
use super::error::{ParseError, Part};
use super::fast::by_pass;
use super::{ADDR_OF, DEREF, Extra, kw, mk, sym};
use crate::ast::{Expr, ExprKind, UnOp};
use crate::lexer::Tok;

/// A unary expression: a run of prefix operators, then `operand` (a
/// postfix expression), folded from the right.
pub(super) fn unary<'t, I, Er, P>(operand: P) -> Boxed<'t, 't, I, Expr, Extra<Er>>
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
    Er: ParseError<'t, I>,
    P: Parser<'t, I, Expr, Extra<Er>> + Clone + 't,
{
    let neg = sym("-").to(Some(UnOp::Neg));
    let not = sym("!").to(Some(UnOp::Not));
    let bit_not = sym("~").to(Some(UnOp::BitNot));
    let addr_of = sym("&")
        .or(sym("&&"))
        .then(kw("mut").or_not())
        .validate(|_, e, emitter| {
            within_budget::<I, Er>(emitter, || Er::tagged(e.span(), ADDR_OF));
            None
        });
    let deref = sym("*").validate(|_, e, emitter| {
        within_budget::<I, Er>(emitter, || Er::tagged(e.span(), DEREF));
        None
    });
    // What the run's end expected, for the detailed pass's error there:
    // every operator (it never matches: the loop read them all).
    let any_op = choice((
        neg.clone(),
        not.clone(),
        bit_not.clone(),
        addr_of.clone(),
        deref.clone(),
    ));
    let end = by_pass(empty(), any_op.or_not().ignored());
    // Each operator kept and where it starts (one reported is dropped: it
    // is read as its operand, and a run of a million of them kept nothing).
    let run = custom(move |inp: &mut InputRef<'t, '_, I, Extra<Er>>| {
        let mut ops: Vec<(UnOp, usize)> = Vec::new();
        loop {
            let before = inp.cursor();
            // The token was looked at: none of these can fail.
            let op = match inp.peek() {
                Some(Tok::Sym("-")) => inp.parse(&neg)?,
                Some(Tok::Sym("!")) => inp.parse(&not)?,
                Some(Tok::Sym("~")) => inp.parse(&bit_not)?,
                Some(Tok::Sym("&" | "&&")) => inp.parse(&addr_of)?,
                Some(Tok::Sym("*")) => inp.parse(&deref)?,
                _ => return Ok(ops),
            };
            if let Some(op) = op {
                ops.push((op, inp.span_since(&before).start));
            }
        }
    });
    run.then_ignore(end)
        .then(operand)
        .map_with(|(ops, operand), e| {
            let end = e.span().end;
            ops.into_iter().rfold(operand, |operand, (op, start)| {
                mk(
                    ExprKind::Unary(op, Box::new(operand)),
                    SimpleSpan::from(start..end),
                )
            })
        })
        .labelled(Part::Expression)
        .boxed()
}
