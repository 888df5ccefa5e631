//! Syntax analysis: tokens to the [`ast`](crate::ast) with error recovery.
//!
//! Recovery is layered so that one mistake gives one error and the rest of the
//! file is still checked: a broken parenthesised or bracketed expression
//! becomes `ExprKind::Error`; a broken statement is skipped up to its `;` (or
//! the next statement keyword) and becomes `StmtKind::Error`; a broken item is
//! skipped up to the next item keyword. A missing `;` is reported and parsing
//! carries on as if it were there. Later stages treat error nodes as "already
//! reported" and never complain about them again.

use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;

use chumsky::{input::ValueInput, prelude::*};

use crate::ast::*;
use crate::codes::Code;
use crate::delims;
use crate::diag::{Diagnostic, Label};
use crate::lexer::{DocLine, Tok};
use crate::span::Span;
use line_starts::LineStarts;

mod budget;
mod docs;
mod error;
mod fast;
mod habits;
mod line_starts;
mod prefix;
mod recovered;
mod reuse;
mod segment;
mod skip;
mod tags;
use budget::within_budget;
pub use budget::{FILE_ERROR_BUDGET, ITEM_ERROR_BUDGET};
pub(crate) use budget::{cut_lexed, lexer_cut};
use error::{ParseError, Part, Place, SyntaxError, to_diagnostic};
use fast::{by_pass, given_up, raising, rest_of_group, semi_shortcut, sym_of};
use habits::{
    assign_as_comparison, blame_unclosed_brace, braceless_body_is_whole, first_struct_semi_each,
    is_typo_of, kw_or_typo, tail_expressions, typo_tag,
};
use recovered::{bound_depth, declared_name};
use segment::group;
use skip::{ends_statement, skip_until};

type Extra<Er> = extra::Full<Er, <Er as error::PassState>::State, ()>;
/// A recursive parser as `recursive` hands it to its own definition.
type Rec<'t, I, O, Er> = Recursive<chumsky::recursive::Direct<'t, 't, I, O, Extra<Er>>>;

// Custom parser errors are tagged so they can be turned into the right code:
// the tags are in `tags`.
pub(crate) use tags::*;

/// The primitive types, which a C or Rust programmer may call as a cast.
const PRIMITIVES: [&str; 9] = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bool"];

fn sym<'t, I, Er: ParseError<'t, I>>(s: &'static str) -> impl Parser<'t, I, Tok, Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    just(Tok::Sym(s))
}

fn kw<'t, I, Er: ParseError<'t, I>>(k: &'static str) -> impl Parser<'t, I, Tok, Extra<Er>> + Clone
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    just(Tok::Kw(k))
}

fn mk(kind: ExprKind, span: SimpleSpan) -> Expr {
    Expr {
        id: ExprId(0),
        kind,
        span: span.into(),
    }
}

/// How deeply expressions, statements and types may nest (E0508).
pub const MAX_NESTING: usize = 128;

pub(crate) const STMT_KEYWORDS: [&str; 9] = [
    "let", "var", "if", "while", "for", "return", "break", "continue", "abort",
];
pub(crate) const ITEM_KEYWORDS: [&str; 7] =
    ["use", "const", "static", "struct", "fn", "export", "extern"];

/// What the file's parsers share with `parse`: the tokens that start a
/// line, the source, the current segment's stop token, the early errors,
/// the fast pass's statements for the detailed pass (see `reuse`).
type Shared<'t> = (
    Rc<LineStarts>,
    Rc<str>,
    Rc<Cell<Option<SimpleSpan>>>,
    budget::EarlyErrors,
    reuse::Hook<'t>,
);

#[allow(clippy::too_many_lines)]
fn file_parser<'t, I, Er: ParseError<'t, I>>(
    shared: Shared<'t>,
) -> (
    impl Parser<'t, I, Vec<Item>, Extra<Er>>,
    reuse::StmtParser<'t, I, Er>,
)
where
    I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
{
    let (first_on_line, src, stop, early, hook) = shared;
    let fast_stmt = Rc::new(std::cell::RefCell::new(None));
    // The source text of a span, for fixes that keep the user's operands.
    let source = src.clone();
    let text =
        move |span: Span| -> String { src.get(span.range()).unwrap_or_default().to_string() };
    let ident = select! { Tok::Ident(name) => name.to_string() }
        .map_with(|name, e| Ident {
            name,
            span: Span::from(e.span()),
        })
        .labelled(Part::Identifier);
    // A primitive or a C or Rust type name where a C or Rust habit puts a
    // type, as the KPL type it means (`int` is `i32`).
    let c_type_name = select! { Tok::Ident(n) if habits::names_a_type(&n) => n.to_string() }
        .map_with(|name, e| {
            habits::c_type(Ident {
                name,
                span: Span::from(e.span()),
            })
        });

    // `;` that may be missing at the end of a line (or before `}` or the end
    // of the file): report it and carry on as if it were there. Anywhere else
    // a missing `;` means the statement itself is broken, and the parser's
    // own error says how.
    let line_break = any()
        .map_with(|t: Tok, e| (t, e.span()))
        .filter(move |(t, span): &(Tok, SimpleSpan)| {
            *t == Tok::Sym("}") || first_on_line.contains(span.start)
        })
        .ignored()
        .or(end())
        .rewind();
    let semi = sym(";").ignored().or(line_break.validate(|(), e, emitter| {
        emitter.emit(Er::tagged(e.span(), MISSING_SEMI));
    }));

    // The recursive parsers are made with `recursive`, which hands each
    // definition a weak handle to itself: a parser declared with
    // `Recursive::declare` and cloned into its own definition holds itself
    // strongly, a cycle that is never freed (one parser, about 12 KB, leaked
    // per parse: per chunk in the database, so tens of megabytes per
    // database). Types and expressions need each other, so the type parser is
    // made twice from `ty_with`: inside the expression's definition (holding
    // the expression weakly) and once more for the rest of the grammar.
    let ty_with = |ty: Rec<'t, I, Type, Er>, expr: Rec<'t, I, Expr, Er>| {
        // The lexer's stand-in for a macro's unknown types is the error type.
        let named = ident.map(|i| match i.name.as_str() {
            crate::lexer::UNKNOWN_TYPE => TypeKind::Error,
            _ => TypeKind::Named(i.name),
        });
        // `[T; n]`, or Rust's slice `[T]` (also after `&` or `&mut`), which
        // is KPL's `[]T`. The element type is parsed once for both: trying
        // one form and then the other would double the work per level.
        let rust_ref = sym("&")
            .ignore_then(kw("mut").or_not())
            .map(|m| m.is_some())
            .or_not();
        let array = rust_ref
            .then(
                ty.clone()
                    .then(sym(";").ignore_then(expr.clone()).or_not())
                    .delimited_by(sym("["), sym("]")),
            )
            .validate({
                let text = text.clone();
                move |(reference, (elem, len)): (Option<bool>, (Type, Option<Expr>)), e, emitter| {
                    match (reference, len) {
                        (None, Some(len)) => TypeKind::Array(Box::new(elem), Box::new(len)),
                        (reference, _) => {
                            let mutable = reference.unwrap_or(false);
                            within_budget::<I, Er>(emitter, || {
                                Er::tagged_fix(e.span(), RUST_SLICE, || {
                                    let m = if mutable { "mut " } else { "" };
                                    format!("[]{m}{}", text(elem.span))
                                })
                            });
                            TypeKind::Slice {
                                mutable,
                                elem: Box::new(elem),
                            }
                        }
                    }
                }
            });
        let base = choice((named, array)).map_with(|kind, e| Type {
            kind,
            span: Span::from(e.span()),
        });
        // `[]` prefixes are collected and folded, not parsed recursively:
        // a long run of them is not nested in brackets, so nothing else
        // bounds the recursion.
        let slice_prefix = sym("[")
            .then(sym("]"))
            .ignore_then(kw("mut").or_not())
            .map(|m| m.is_some());
        slice_prefix
            .repeated()
            .foldr_with(base, |mutable, elem, e| Type {
                kind: TypeKind::Slice {
                    mutable,
                    elem: Box::new(elem),
                },
                span: Span::from(e.span()),
            })
            .labelled(Part::Type)
            .boxed()
    };

    let expr = recursive(|expr: Rec<'t, I, Expr, Er>| {
        let ty = recursive(|ty| ty_with(ty, expr.clone()));
        let args = expr
            .clone()
            .separated_by(sym(","))
            .allow_trailing()
            .collect::<Vec<_>>();

        let literal = select! {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Str(s) => ExprKind::Str(s.to_string()),
            Tok::Kw("true") => ExprKind::Bool(true),
            Tok::Kw("false") => ExprKind::Bool(false),
            Tok::BadInt => ExprKind::Error,
        }
        .map_with(|k, e| mk(k, e.span()));

        // `.x = e`, or Rust's `x: e` (reported once per literal).
        let field_init = choice((
            sym(".")
                .ignore_then(ident)
                .then_ignore(sym("="))
                .map(|n| (n, false)),
            ident.then_ignore(sym(":")).map(|n| (n, true)),
        ))
        .then(expr.clone())
        .map(|((name, rust), value)| (FieldInit { name, value }, rust));
        let struct_lit = ident
            .then(
                field_init
                    .separated_by(sym(","))
                    .allow_trailing()
                    .at_least(1)
                    .collect::<Vec<_>>()
                    .delimited_by(sym("{"), sym("}")),
            )
            .validate({
                let text = text.clone();
                move |(name, fields): (Ident, Vec<(FieldInit, bool)>), e, emitter| {
                    if fields.iter().any(|(_, rust)| *rust) {
                        within_budget::<I, Er>(emitter, || {
                            Er::tagged_fix(e.span(), RUST_STRUCT_LIT, || {
                                let inits: Vec<String> = fields
                                    .iter()
                                    .map(|(f, _)| {
                                        format!(".{} = {}", f.name.name, text(f.value.span))
                                    })
                                    .collect();
                                format!("{} {{ {} }}", name.name, inits.join(", "))
                            })
                        });
                    }
                    let fields = fields.into_iter().map(|(f, _)| f).collect();
                    mk(ExprKind::StructLit(name, fields), e.span())
                }
            });
        // `u32(x)`: a conversion written as a call (C++, Rust's `u32::from`).
        // Any argument list is taken here, once; only one argument is a cast.
        let call_cast = select! { Tok::Ident(n) if PRIMITIVES.contains(&&*n) => n.to_string() }
            .map_with(|n, e| Type {
                kind: TypeKind::Named(n),
                span: Span::from(e.span()),
            })
            .then(args.clone().delimited_by(sym("("), sym(")")))
            .validate({
                let text = text.clone();
                move |(ty, mut values): (Type, Vec<Expr>), e, emitter| {
                    if values.len() != 1 {
                        let callee = Expr {
                            id: ExprId(0),
                            kind: ExprKind::Name(text(ty.span)),
                            span: ty.span,
                        };
                        return mk(ExprKind::Call(Box::new(callee), values), e.span());
                    }
                    let value = values.remove(0);
                    within_budget::<I, Er>(emitter, || {
                        Er::tagged_fix(e.span(), CALL_CAST, || {
                            let operand = text(value.span);
                            let simple = operand
                                .chars()
                                .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
                            let ty_name = text(ty.span);
                            if simple {
                                format!("{operand} as {ty_name}")
                            } else {
                                format!("({operand}) as {ty_name}")
                            }
                        })
                    });
                    mk(ExprKind::Cast(Box::new(value), ty), e.span())
                }
            });
        let name = ident.map_with(|i, e| mk(ExprKind::Name(i.name), e.span()));

        let array = expr
            .clone()
            .then(
                sym(";").ignore_then(expr.clone()).map(Ok).or(sym(",")
                    .ignore_then(expr.clone())
                    .repeated()
                    .collect::<Vec<_>>()
                    .then_ignore(sym(",").or_not())
                    .map(Err)),
            )
            .delimited_by(sym("["), sym("]"))
            .map_with(|(first, rest), e| match rest {
                Ok(count) => mk(
                    ExprKind::ArrayRepeat(Box::new(first), Box::new(count)),
                    e.span(),
                ),
                Err(more) => {
                    let mut elems = vec![first];
                    elems.extend(more);
                    mk(ExprKind::ArrayLit(elems), e.span())
                }
            })
            .recover_with(via_parser(raising(
                group(Some("[")).map_with(|(), e| mk(ExprKind::Error, e.span())),
            )));

        // `(x = 1)`: assignment is never an expression, so inside
        // parentheses `=` is a comparison gone wrong (C's `if (x = 1)`).
        let paren = assign_as_comparison(expr.clone())
            .delimited_by(sym("("), sym(")"))
            .map_with(|inner, e| mk(ExprKind::Paren(Box::new(inner)), e.span()))
            .recover_with(via_parser(raising(
                group(Some("(")).map_with(|(), e| mk(ExprKind::Error, e.span())),
            )));

        let primary = by_pass(
            {
                let named = choice((struct_lit.clone(), call_cast.clone(), name));
                let (array, paren) = (array.clone(), paren.clone());
                custom(move |inp| match inp.peek() {
                    // A name is a struct literal only before `{`, and a
                    // conversion only if a primitive's before `(`.
                    Some(Tok::Ident(n)) => match fast::second(inp) {
                        Some(Tok::Sym("{")) => inp.parse(&named),
                        Some(Tok::Sym("(")) if PRIMITIVES.contains(&&*n) => inp.parse(&named),
                        _ => inp.parse(name),
                    },
                    Some(Tok::Sym("[")) => inp.parse(&array),
                    Some(Tok::Sym("(")) => inp.parse(&paren),
                    _ => inp.parse(literal),
                })
            },
            choice((literal, struct_lit, call_cast, name, array, paren)),
        )
        .labelled(Part::Expression)
        .boxed();

        enum Postfix {
            Call(Vec<Expr>),
            Index(Expr),
            Field(Ident),
        }
        let len_call = sym(".")
            .ignore_then(ident.filter(|i: &Ident| i.name == "len"))
            .then_ignore(sym("(").then(sym(")")).validate(|_, e, emitter| {
                within_budget::<I, Er>(emitter, || Er::tagged(e.span(), LEN_CALL))
            }))
            .map(Postfix::Field);
        let call = args
            .clone()
            .delimited_by(sym("("), sym(")"))
            .map(Postfix::Call);
        let index = expr
            .clone()
            .delimited_by(sym("["), sym("]"))
            .map(Postfix::Index);
        let field = sym(".").ignore_then(ident).map(Postfix::Field);
        // C's `p->x`: reported and read as `p.x` (KPL has no pointers).
        let arrow = sym("->")
            .validate(|_, e, emitter| {
                within_budget::<I, Er>(emitter, || {
                    Er::tagged_fix(e.span(), ARROW_FIELD, || ".".to_string())
                })
            })
            .ignore_then(ident)
            .map(Postfix::Field);
        let postfix_op = by_pass(
            {
                let dot = len_call.clone().or(field.clone());
                let (call, index, field, arrow) =
                    (call.clone(), index.clone(), field.clone(), arrow.clone());
                custom(move |inp| match inp.peek() {
                    // Only `.len` may be `.len()`.
                    Some(Tok::Sym(".")) => {
                        let at = inp.save();
                        inp.skip();
                        let after = inp.peek();
                        inp.rewind(at);
                        match after {
                            Some(Tok::Ident(n)) if &*n == "len" => inp.parse(&dot),
                            _ => inp.parse(&field),
                        }
                    }
                    Some(Tok::Sym("(")) => inp.parse(&call),
                    Some(Tok::Sym("[")) => inp.parse(&index),
                    Some(Tok::Sym("->")) => inp.parse(&arrow),
                    _ => Err(Er::nothing()),
                })
            },
            choice((len_call, call, index, field, arrow)),
        );
        let postfix = primary
            .foldl_with(postfix_op.repeated(), |base, op, e| {
                let kind = match op {
                    Postfix::Call(args) => ExprKind::Call(Box::new(base), args),
                    Postfix::Index(index) => ExprKind::Index(Box::new(base), Box::new(index)),
                    Postfix::Field(field) => ExprKind::Field(Box::new(base), field),
                };
                mk(kind, e.span())
            })
            .boxed();

        let unary = prefix::unary(postfix);

        // C's `(u32)x`: a cast written before its operand, read as
        // `x as u32`. Only a primitive or a C or Rust type name is taken
        // between the parentheses (no KPL value has such a name), so
        // `(x)` and `(a + b) * 2` never come here.
        let c_cast = c_type_name
            .delimited_by(sym("("), sym(")"))
            .then(unary.clone())
            .validate({
                let text = text.clone();
                move |(ty, value): (Type, Expr), e, emitter| {
                    // The operand is a unary expression, which binds tighter
                    // than `as`: it needs no parentheses of its own.
                    within_budget::<I, Er>(emitter, || {
                        Er::tagged_fix(e.span(), C_CAST, || {
                            format!("{} as {}", text(value.span), habits::type_name(&ty))
                        })
                    });
                    mk(ExprKind::Cast(Box::new(value), ty), e.span())
                }
            })
            .labelled(Part::Expression);

        let cast = c_cast
            .or(unary)
            .foldl_with(kw("as").ignore_then(ty.clone()).repeated(), |e, t, ex| {
                mk(ExprKind::Cast(Box::new(e), t), ex.span())
            })
            .boxed();

        /// A level of binary operators `ops`, read as `fast` in the fast pass.
        fn level<'t, I, Er, P, O, F>(
            operand: P,
            ops: O,
            fast: F,
        ) -> impl Parser<'t, I, Expr, Extra<Er>> + Clone
        where
            I: ValueInput<'t, Token = Tok, Span = SimpleSpan>,
            Er: ParseError<'t, I>,
            P: Parser<'t, I, Expr, Extra<Er>> + Clone + 't,
            O: Parser<'t, I, BinOp, Extra<Er>> + Clone + 't,
            F: Parser<'t, I, BinOp, Extra<Er>> + Clone + 't,
        {
            operand
                .clone()
                .foldl_with(
                    by_pass(fast, ops)
                        .map_with(|op, e| (op, Span::from(e.span())))
                        .then(operand)
                        .repeated(),
                    |lhs, ((op, op_span), rhs), e| {
                        mk(
                            ExprKind::Binary {
                                op,
                                op_span,
                                lhs: Box::new(lhs),
                                rhs: Box::new(rhs),
                            },
                            e.span(),
                        )
                    },
                )
                .boxed()
        }

        let product = level(
            cast,
            choice((
                sym("*").to(BinOp::Mul),
                sym("/").to(BinOp::Div),
                sym("%").to(BinOp::Rem),
            )),
            sym_of(&[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)]),
        );
        let sum = level(
            product,
            choice((sym("+").to(BinOp::Add), sym("-").to(BinOp::Sub))),
            sym_of(&[("+", BinOp::Add), ("-", BinOp::Sub)]),
        );
        let shift = level(
            sum,
            choice((sym("<<").to(BinOp::Shl), sym(">>").to(BinOp::Shr))),
            sym_of(&[("<<", BinOp::Shl), (">>", BinOp::Shr)]),
        );
        // One symbol is one look at the token either way.
        let bitand = level(
            shift,
            sym("&").to(BinOp::BitAnd),
            sym("&").to(BinOp::BitAnd),
        );
        let bitxor = level(
            bitand,
            sym("^").to(BinOp::BitXor),
            sym("^").to(BinOp::BitXor),
        );
        let bitor = level(bitxor, sym("|").to(BinOp::BitOr), sym("|").to(BinOp::BitOr));

        let cmp_op = by_pass(
            sym_of(&[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ]),
            choice((
                sym("==").to(BinOp::Eq),
                sym("!=").to(BinOp::Ne),
                sym("<=").to(BinOp::Le),
                sym(">=").to(BinOp::Ge),
                sym("<").to(BinOp::Lt),
                sym(">").to(BinOp::Gt),
            )),
        )
        .map_with(|op, e| (op, Span::from(e.span())));
        let comparison = bitor
            .clone()
            .then(cmp_op.then(bitor).repeated().collect::<Vec<_>>())
            .validate(|(first, rest), e, emitter| {
                if rest.len() > 1 {
                    emitter.emit(Er::tagged(e.span(), CHAINED_CMP));
                    // Reported; an error node keeps the checker from guessing a meaning.
                    return mk(ExprKind::Error, e.span());
                }
                rest.into_iter().fold(first, |lhs, ((op, op_span), rhs)| {
                    let span = lhs.span.to(rhs.span);
                    Expr {
                        id: ExprId(0),
                        kind: ExprKind::Binary {
                            op,
                            op_span,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                        },
                        span,
                    }
                })
            })
            .boxed();

        // Python's `and` and `or` (and C++'s alternative tokens): reported
        // and read as `&&` and `||`. A word after an operand is never KPL.
        let word_op = |word: &'static str, op: BinOp, kpl: &'static str| {
            select! { Tok::Ident(n) if &*n == word => () }.validate(move |(), e, emitter| {
                within_budget::<I, Er>(emitter, || {
                    Er::tagged_fix(e.span(), WORD_OP, || kpl.to_string())
                });
                op
            })
        };
        let and = level(
            comparison,
            sym("&&")
                .to(BinOp::And)
                .or(word_op("and", BinOp::And, "&&")),
            sym("&&")
                .to(BinOp::And)
                .or(word_op("and", BinOp::And, "&&")),
        );
        let or = level(
            and,
            sym("||").to(BinOp::Or).or(word_op("or", BinOp::Or, "||")),
            sym("||").to(BinOp::Or).or(word_op("or", BinOp::Or, "||")),
        );
        or.labelled(Part::Expression).boxed()
    });
    let ty = recursive(|ty| ty_with(ty, expr.clone()));

    // Skips the rest of a broken statement: at least one token, then up to and
    // including `;`, stopping before `}` or a keyword that starts a statement.
    let nested_skip = || group(None);
    let stmt_stop = select! { t if ends_statement(&t) => () };
    let stmt_step = nested_skip().or(any().and_is(stmt_stop.not()).ignored());
    let skip_to_stop = skip_until(ends_statement, stmt_step);
    let skip_rest = skip_to_stop.clone().then(sym(";").or_not()).ignored();
    // A broken `let` or `var` still declares its name (with its type if that
    // much parsed, else the error type), so later uses are not reported.
    let broken_decl = choice((kw("let"), kw("var")))
        .ignore_then(kw("mut").or_not())
        .ignore_then(ident)
        .then(sym(":").ignore_then(ty.clone()).or_not())
        .then_ignore(skip_rest.clone())
        .map_with(|(name, ty), e| Stmt {
            kind: StmtKind::Let {
                mutable: true,
                name,
                ty,
                init: mk(ExprKind::Error, e.span()),
            },
            span: Span::from(e.span()),
        });
    let skip_stmt = broken_decl.or(nested_skip()
        .or(any().and_is(sym("}").not()).ignored())
        .then(skip_rest)
        .map_with(|_, e| Stmt {
            kind: StmtKind::Error,
            span: Span::from(e.span()),
        }));
    // An expression that could not be parsed where one is required, e.g. after
    // `let x =`: skip to the end of the statement and keep the binding.
    // The skip may be empty (`let x = ;`): the enclosing statement has
    // already consumed its keyword, so parsing still makes progress.
    let expr_or_skip = expr.clone().recover_with(via_parser(raising(
        skip_to_stop
            .clone()
            .map_with(|(), e| mk(ExprKind::Error, e.span())),
    )));
    // After a complete statement head (`let x = 1 +;`): skip the rest up to
    // `;` so the binding survives, reporting the one error. Yields whether
    // the statement ended cleanly; if not, its value is an error node.
    let end_of_stmt = semi.clone().to(true).recover_with(via_parser(raising(
        nested_skip()
            .or(any().and_is(stmt_stop.not()).ignored())
            .then(skip_to_stop)
            .then(sym(";").or_not())
            .to(false),
    )));
    let broken = |e: Expr, clean: bool| {
        if clean {
            e
        } else {
            Expr {
                id: ExprId(0),
                kind: ExprKind::Error,
                span: e.span,
            }
        }
    };

    let block = recursive(|block: Rec<'t, I, Block, Er>| {
        // `if … else if … else …` is a chain, collected and folded into nested
        // statements rather than parsed recursively: nothing else bounds the
        // length of a chain.
        // A condition; C's `if x = 1` is reported and read as `x == 1`.
        let cond = assign_as_comparison(expr.clone());
        let simple = choice((
            kw("break").to(StmtKind::Break),
            kw("continue").to(StmtKind::Continue),
            kw("abort").to(StmtKind::Abort),
            kw("return")
                .ignore_then(expr.clone().or_not())
                .map(StmtKind::Return),
            // `retrun x;`: a misspelled `return` followed by what only follows a
            // keyword (`ret(x);` stays a call).
            select! { Tok::Ident(name) if is_typo_of(&name, "return") => () }
                .validate(|(), e, emitter| emitter.emit(Er::tagged(e.span(), typo_tag("return"))))
                .ignore_then(
                    expr.clone()
                        .and_is(select! { Tok::Ident(_) | Tok::Int(_) => () }.rewind())
                        .map(Some),
                )
                .map(StmtKind::Return),
            // `erturn (a + b);`, `retrun -1;`, `retrun;`: a name as long as
            // `return` and one edit from it is no function's or variable's
            // (a short one, `ret(x)`, may be).
            select! { Tok::Ident(name) if name.len() >= 5 && is_typo_of(&name, "return") => () }
                .validate(|(), e, emitter| emitter.emit(Er::tagged(e.span(), typo_tag("return"))))
                .ignore_then(choice((
                    expr.clone()
                        .and_is(
                            select! { Tok::Str(_) | Tok::Sym("(" | "-" | "!" | "~") => () }
                                .rewind(),
                        )
                        .map(Some),
                    sym(";").rewind().to(None),
                )))
                .map(StmtKind::Return),
        ))
        .then(end_of_stmt.clone())
        .map(move |(kind, clean)| match kind {
            StmtKind::Return(Some(e)) => StmtKind::Return(Some(broken(e, clean))),
            other => other,
        });
        let assign_op = choice((
            sym("=").to(None),
            sym("+=").to(Some(BinOp::Add)),
            sym("-=").to(Some(BinOp::Sub)),
            sym("*=").to(Some(BinOp::Mul)),
            sym("/=").to(Some(BinOp::Div)),
            sym("%=").to(Some(BinOp::Rem)),
            sym("&=").to(Some(BinOp::BitAnd)),
            sym("|=").to(Some(BinOp::BitOr)),
            sym("^=").to(Some(BinOp::BitXor)),
            sym("<<=").to(Some(BinOp::Shl)),
            sym(">>=").to(Some(BinOp::Shr)),
        ))
        .map_with(|op, e| (op, Span::from(e.span())));
        let expr_or_assign = expr
            .clone()
            .then(assign_op.then(expr_or_skip.clone()).or_not())
            .then(end_of_stmt.clone())
            .map(move |((target, assign), clean)| match assign {
                Some(((op, op_span), value)) => StmtKind::Assign {
                    target,
                    op,
                    op_span,
                    value: broken(value, clean),
                },
                None => StmtKind::Expr(broken(target, clean)),
            });
        // C's `if (c) return 1;` and `while (i < n) i += 1;`: a body
        // without braces, reported and read as the block it means. Only
        // tried where a `{` was expected and is missing.
        let braceless_stmt = simple.clone().or(expr_or_assign.clone());
        let braceless = |tag: &'static str| {
            let text = text.clone();
            braceless_stmt.clone().validate(move |kind, e, emitter| {
                let span = Span::from(e.span());
                if braceless_body_is_whole(&kind, &text(span)) {
                    emitter.emit(Er::tagged_fix(e.span(), tag, || {
                        format!("{{ {} }}", text(span))
                    }));
                } else {
                    let first = text(span).split_whitespace().next().map_or(0, str::len);
                    let at = span.start as usize;
                    emitter.emit(Er::tagged(SimpleSpan::from(at..at + first), NO_BODY));
                }
                Block {
                    stmts: vec![Stmt { kind, span }],
                    span,
                }
            })
        };
        let body = block.clone().or(braceless(BRACELESS));
        let loop_body = block.clone().or(braceless(BRACELESS_LOOP));
        let if_head = kw_or_typo("if")
            .map_with(|_, e| Span::from(e.span()))
            .then(cond.clone())
            .then(body.clone())
            .map(|((at, cond), then)| (at, cond, then));
        let if_stmt = if_head
            .clone()
            .then(
                kw("else")
                    .ignore_then(if_head)
                    .repeated()
                    .collect::<Vec<_>>(),
            )
            .then(kw("else").ignore_then(body).or_not())
            .map(|((first, rest), last)| {
                let link = |(at, cond, then): (Span, Expr, Block), els: Option<Stmt>| {
                    let end = els.as_ref().map_or(then.span.end, |s| s.span.end);
                    Stmt {
                        span: Span {
                            start: at.start,
                            end,
                        },
                        kind: StmtKind::If {
                            cond,
                            then,
                            els: els.map(Box::new),
                        },
                    }
                };
                let mut els = last.map(|b| Stmt {
                    span: b.span,
                    kind: StmtKind::Block(b),
                });
                for head in rest.into_iter().rev() {
                    els = Some(link(head, els));
                }
                link(first, els)
            })
            .boxed();

        let stmt = {
            // Rust's `let mut` is KPL's `var`.
            let let_mut = kw("let")
                .then(kw("mut"))
                .validate(|_, e, emitter| emitter.emit(Er::tagged(e.span(), LET_MUT)))
                .to(true);
            let let_stmt = choice((
                let_mut,
                kw_or_typo("let").to(false),
                kw_or_typo("var").to(true),
            ))
            .then(ident)
            .then(sym(":").ignore_then(ty.clone()).or_not())
            .then(
                sym("=")
                    .ignore_then(expr_or_skip.clone())
                    .map(|init| (init, false))
                    .or(sym(";").rewind().validate(|_, e, emitter| {
                        emitter.emit(Er::tagged(e.span(), LET_NO_INIT));
                        (mk(ExprKind::Error, e.span()), true)
                    })),
            )
            .then(end_of_stmt.clone())
            .map(
                // Rust's `let y: u32;` is assigned later (that is why it
                // has no value): the local is read as a `var`, so that
                // those assignments are not E0300 on top of the one error.
                move |((((mutable, name), ty), (init, deferred)), clean)| StmtKind::Let {
                    mutable: mutable || deferred,
                    name,
                    ty,
                    init: broken(init, clean),
                },
            );
            // C's `u32 y = x;` is KPL's `let y: u32 = x;` (a name followed by a
            // name never starts a KPL statement).
            let c_decl = select! { Tok::Ident(n) => n.to_string() }
                .map_with(|n, e| Type {
                    kind: TypeKind::Named(n),
                    span: Span::from(e.span()),
                })
                .then(ident)
                // `b a =;` is a slip (`b = a;` swapped), not C's declaration.
                .then_ignore(sym("=").then(sym(";").not()))
                .validate({
                    let text = text.clone();
                    move |(ty, name): (Type, Ident), e, emitter| {
                        let fix = || habits::c_decl_fix(&text(ty.span), &name.name);
                        emitter.emit(Er::tagged_fix(e.span(), C_DECL, fix));
                        (ty, name)
                    }
                })
                .then(expr_or_skip.clone())
                .then(end_of_stmt.clone())
                .map(move |(((ty, name), init), clean)| StmtKind::Let {
                    mutable: true,
                    name,
                    ty: Some(ty).filter(|t| t.kind != TypeKind::Named("auto".into())),
                    init: broken(init, clean),
                });
            let while_stmt = kw_or_typo("while")
                .ignore_then(cond.clone())
                .then(loop_body.clone())
                .map(|(cond, body)| StmtKind::While { cond, body });
            // Rust's `loop { … }` is `while true { … }`.
            let loop_stmt = select! { Tok::Ident(n) if &*n == "loop" => () }
                .validate(|(), e, emitter| emitter.emit(Er::tagged(e.span(), LOOP_KW)))
                .ignore_then(block.clone())
                .map_with(|body, e| StmtKind::While {
                    cond: mk(ExprKind::Bool(true), e.span()),
                    body,
                });
            // C's `do { … } while (c);`: KPL's loops test first. Read as the
            // loop it means, `while true { …; if !(c) { break; } }` (names
            // declared in it stay declared, the condition's uses are uses),
            // and reported once with that rewrite.
            let do_while = select! { Tok::Ident(n) if &*n == "do" => () }
                .map_with(|(), e| Span::from(e.span()))
                .then(block.clone())
                .then(kw("while").map_with(|_, e| Span::from(e.span())))
                .then(cond.clone())
                .then_ignore(sym(";").or_not())
                .validate({
                    let source = source.clone();
                    move |(((do_at, body), while_at), cond): (((Span, Block), Span), Expr),
                          e,
                          emitter| {
                        let whole = Span::from(e.span());
                        emitter.emit(Er::tagged_diagnostic(e.span(), DO_WHILE, || {
                            habits::do_while(&source, do_at, &body, while_at, &cond, whole)
                        }));
                        habits::do_while_loop(do_at, body, while_at, cond, whole)
                    }
                });
            // C's `switch (x) { … }` and Rust's `match x { … }`: KPL branches
            // with `if` / `else if`. The arms are not KPL, so the statement is
            // skipped whole and read as a broken one (in its function no
            // missing return or unused local is reported: the arms may hold
            // them). `match(x);`, a call, is not taken here: no `{` follows.
            let switch_stmt = select! { Tok::Ident(n) if &*n == "switch" || &*n == "match" => () }
                .map_with(|(), e| e.span())
                .then_ignore(cond.clone())
                .then_ignore(group(Some("{")))
                .validate(|keyword, _, emitter| {
                    emitter.emit(Er::tagged(keyword, SWITCH_KW));
                    StmtKind::Error
                });
            // C's `for (var i = a; i < b; i++)` is `for i in a..b`. The header is
            // read as that loop when it has exactly that shape (`<=` reads as a
            // bound one higher), else skipped.
            let step = choice((
                ident.then_ignore(sym("+").then(sym("+"))),
                sym("+").then(sym("+")).ignore_then(ident),
                ident
                    .then_ignore(sym("+="))
                    .then_ignore(select! { Tok::Int(v) if v == 1 => () }),
            ));
            // The loop variable as C, C# or Rust declare it: `i`, `let i`,
            // `var i: u32`, or C's `int i` / `uint32_t i` (a type name
            // then the name).
            let c_for_var = choice((
                choice((kw("let"), kw("var"))).ignore_then(ident),
                ident.then(ident).map(|(_c_type, name)| name),
                ident,
            ));
            // JavaScript's `for (x in seq)`, `for (let x of seq)`, C++'s
            // `for (auto x : seq)`, `for (i in 0..n)`. (With `const`, the
            // delimiter balancing has closed the `(` at the item keyword.)
            let paren_each = choice((kw("let"), kw("var")))
                .or_not()
                .ignore_then(ident.then_ignore(ident.then(sym(":")).rewind()).or_not())
                .ignore_then(ident)
                .then_ignore(choice((
                    kw("in").ignored(),
                    select! { Tok::Ident(n) if &*n == "of" => () },
                    sym(":").ignored(),
                )))
                .then(expr.clone())
                .then(sym("..").ignore_then(expr.clone()).or_not())
                .delimited_by(sym("("), sym(")"))
                .map_with({
                    let text = text.clone();
                    move |((var, seq), end): ((Ident, Expr), Option<Expr>), _| {
                        let each = format!("for {} in {}", var.name, text(seq.span));
                        let fix = end.as_ref().map(|x| format!("{each}..{}", text(x.span)));
                        let iter =
                            end.map_or(ForIter::Each(seq.clone()), |x| ForIter::Range(seq, x));
                        (var, iter, Some(fix.unwrap_or(each)))
                    }
                });
            let c_for_header = c_for_var
                .then_ignore(sym(":").then(ty.clone()).or_not())
                .then_ignore(sym("="))
                .then(expr.clone())
                .then_ignore(sym(";"))
                .then(ident)
                .then(choice((sym("<").to(false), sym("<=").to(true))))
                .then(expr.clone())
                .then_ignore(sym(";"))
                .then(step)
                .delimited_by(sym("("), sym(")"))
                .try_map_with({
                    let text = text.clone();
                    move |(((((var, first), tested), inclusive), bound), stepped), e| {
                        if tested.name != var.name || stepped.name != var.name {
                            return Err(Er::tagged(e.span(), C_FOR));
                        }
                        let end_text = if inclusive {
                            format!("{} + 1", text(bound.span))
                        } else {
                            text(bound.span)
                        };
                        let fix = format!("for {} in {}..{}", var.name, text(first.span), end_text);
                        let end = if inclusive {
                            let span = bound.span;
                            let one = Expr {
                                id: ExprId(0),
                                kind: ExprKind::Int(1),
                                span,
                            };
                            Expr {
                                id: ExprId(0),
                                kind: ExprKind::Binary {
                                    op: BinOp::Add,
                                    op_span: span,
                                    lhs: Box::new(bound),
                                    rhs: Box::new(one),
                                },
                                span,
                            }
                        } else {
                            bound
                        };
                        Ok((var, first, end, fix))
                    }
                })
                .map(|(var, first, end, fix)| (var, ForIter::Range(first, end), Some(fix)));
            let c_for =
                kw("for")
                    .ignore_then(c_for_header.or(paren_each).or(group(Some("(")).map_with(
                        |(), e| {
                            let error = mk(ExprKind::Error, e.span());
                            let var = Ident {
                                name: "_".to_string(),
                                span: Span::from(e.span()),
                            };
                            (var, ForIter::Range(error.clone(), error), None)
                        },
                    )))
                    .validate(|(var, iter, fix), e, emitter| {
                        emitter.emit(match fix {
                            Some(fix) => Er::tagged_fix(e.span(), C_FOR, || fix),
                            None => Er::tagged(e.span(), C_FOR),
                        });
                        (var, iter)
                    })
                    .then(loop_body.clone())
                    .map(|((var, iter), body)| StmtKind::For { var, iter, body });
            let for_stmt = kw_or_typo("for")
                .ignore_then(ident)
                .then_ignore(kw_or_typo("in"))
                .then(expr.clone())
                .then(sym("..").ignore_then(expr.clone()).or_not())
                .then(loop_body.clone())
                .map(|(((var, first), end), body)| StmtKind::For {
                    var,
                    iter: match end {
                        Some(end) => ForIter::Range(first, end),
                        None => ForIter::Each(first),
                    },
                    body,
                });
            let block_stmt = block.clone().map(StmtKind::Block);

            let spanned = |kind, e: &mut chumsky::input::MapExtra<'t, '_, I, Extra<Er>>| Stmt {
                kind,
                span: Span::from(e.span()),
            };
            // Only a name may start a statement of any kind (a misspelled
            // keyword, a C declaration, …); a keyword or a symbol starts one
            // kind or an expression. Of the kinds, only a C declaration
            // (`uint32_t x = …`) reads a name after a name that is neither a
            // misspelled keyword nor another language's, and it fails unless
            // a `=` follows them: names on lines of their own (each a `;`
            // missing) would otherwise try every kind, line after line.
            let fast = {
                let if_stmt = if_stmt.clone();
                let let_stmt = let_stmt.clone().map_with(spanned);
                let while_stmt = while_stmt.clone().map_with(spanned);
                let for_stmt = c_for.clone().or(for_stmt.clone()).map_with(spanned);
                let simple = simple.clone().map_with(spanned);
                let block_stmt = block_stmt.clone().map_with(spanned);
                let expr_stmt = expr_or_assign.clone().map_with(spanned);
                let any_stmt = if_stmt.clone().or(choice((
                    let_stmt.clone(),
                    switch_stmt.clone().map_with(spanned),
                    c_decl.clone().map_with(spanned),
                    while_stmt.clone(),
                    loop_stmt.clone().map_with(spanned),
                    do_while.clone().map_with(spanned),
                    for_stmt.clone(),
                    simple.clone(),
                    block_stmt.clone(),
                    expr_stmt.clone(),
                )));
                custom(move |inp| match inp.peek() {
                    // Any kind, if the name may be a misspelled keyword, one
                    // of the other languages' or a C declaration's type.
                    Some(Tok::Ident(n)) => {
                        let c_decl = matches!(fast::second(inp), Some(Tok::Ident(_)))
                            && fast::ahead(inp, 2) == Some(Tok::Sym("="));
                        let any_kind = c_decl
                            || matches!(&*n, "switch" | "match" | "loop" | "do")
                            || ["if", "let", "var", "while", "for", "return"]
                                .iter()
                                .any(|k| is_typo_of(&n, k));
                        if any_kind {
                            inp.parse(&any_stmt)
                        } else {
                            inp.parse(&expr_stmt)
                        }
                    }
                    Some(Tok::Kw("if")) => inp.parse(&if_stmt),
                    Some(Tok::Kw("let" | "var")) => inp.parse(&let_stmt),
                    Some(Tok::Kw("while")) => inp.parse(&while_stmt),
                    Some(Tok::Kw("for")) => inp.parse(&for_stmt),
                    Some(Tok::Kw("break" | "continue" | "abort" | "return")) => inp.parse(&simple),
                    Some(Tok::Sym("{")) => inp.parse(&block_stmt),
                    _ => inp.parse(&expr_stmt),
                })
            };
            by_pass(
                fast,
                if_stmt.or(choice((
                    let_stmt,
                    switch_stmt,
                    c_decl,
                    while_stmt,
                    loop_stmt,
                    do_while,
                    c_for,
                    for_stmt,
                    simple,
                    block_stmt,
                    expr_or_assign,
                ))
                .map_with(spanned)),
            )
            .labelled(Part::Statement)
            .recover_with(via_parser(raising(skip_stmt)))
            .boxed()
        };

        // Once the fast pass has raised an error, its segment is parsed again
        // in detail and nothing more of it matters: the rest of each block is
        // skipped at the cost of counting its tokens. (The detailed pass has
        // no such alternative, which would add to what it expected.)
        let stmt = reuse::recorded(stmt);
        *fast_stmt.borrow_mut() = Some(stmt.clone());
        let stmts = if Er::FAST {
            given_up()
                .ignore_then(rest_of_group())
                .map_with(|(), e| Stmt {
                    kind: StmtKind::Error,
                    span: Span::from(e.span()),
                })
                .or(stmt)
                .repeated()
                .collect::<Vec<_>>()
                .boxed()
        } else {
            budget::stmt_or_rest(reuse::reusing(hook.clone(), stmt))
                .repeated()
                .collect::<Vec<_>>()
                .boxed()
        };
        stmts
            .delimited_by(sym("{"), sym("}"))
            .map_with(|stmts, e| Block {
                stmts,
                span: Span::from(e.span()),
            })
            .recover_with(via_parser(raising(group(Some("{")).map_with(|(), e| {
                let span = Span::from(e.span());
                Block {
                    stmts: vec![Stmt {
                        kind: StmtKind::Error,
                        span,
                    }],
                    span,
                }
            }))))
            .boxed()
    });

    // A parameter without a type (`function f(x)`, Python's `def f(x)`,
    // Go's `a, b u32`): reported once, and declared with an unknown type,
    // so that its uses are not "cannot find" errors too.
    let untyped_param = ident
        .then_ignore(choice((sym(","), sym(")"))).rewind())
        .validate(|name: Ident, e, emitter| {
            emitter.emit(Er::tagged(e.span(), PARAM_NO_TYPE));
            let span = name.span;
            Param {
                name,
                ty: Type {
                    kind: TypeKind::Error,
                    span,
                },
            }
        });
    // Go's `b u32`: the type right after the name, without the colon.
    let go_param = ident.then(ty.clone()).validate({
        let text = text.clone();
        move |(name, ty): (Ident, Type), e, emitter| {
            let fix = format!("{}: {}", name.name, text(ty.span));
            emitter.emit(Er::tagged_fix(e.span(), PARAM_NO_COLON, || fix));
            Param { name, ty }
        }
    });
    let param = ident
        .then_ignore(sym(":"))
        .then(ty.clone())
        .map(|(name, ty)| Param { name, ty })
        .or(go_param)
        .or(untyped_param);
    let sig = ident
        .then(
            param
                .separated_by(sym(","))
                .allow_trailing()
                .collect::<Vec<_>>()
                .delimited_by(sym("("), sym(")")),
        )
        .then(
            sym("->")
                .ignored()
                // TypeScript's and Python's `): u32`: reported and read as
                // `-> u32`.
                .or(sym(":").validate(|_, e, emitter| {
                    emitter.emit(Er::tagged_fix(e.span(), COLON_RET, || " ->".to_string()))
                }))
                .ignore_then(ty.clone())
                .or_not(),
        )
        .map(|((name, params), ret)| FnSig { name, params, ret });

    let use_item = kw_or_typo("use")
        .ignore_then(ident)
        .then_ignore(sym("::"))
        .then(
            ident
                .map(|i| (vec![i], None))
                .or(ident
                    .separated_by(sym(","))
                    .allow_trailing()
                    .at_least(1)
                    .collect::<Vec<_>>()
                    .delimited_by(sym("{"), sym("}"))
                    .map(|names| (names, None)))
                // Rust's glob: E0110 from the checker, which knows what the
                // file uses (see `UseItem::glob`).
                .or(sym("*").map_with(|_, e| (Vec::new(), Some(Span::from(e.span()))))),
        )
        .then_ignore(semi.clone())
        .map(|(module, (names, glob))| {
            ItemKind::Use(UseItem {
                module,
                names,
                glob,
            })
        });
    // A `const` or `static` without its type keeps its name, with the error
    // type (uses of it are not reported again).
    let global_ty = sym(":")
        .ignore_then(ty.clone())
        .or(sym("=").rewind().validate(|_, e, emitter| {
            emitter.emit(Er::tagged(e.span(), UNTYPED_GLOBAL));
            Type {
                kind: TypeKind::Error,
                span: Span::from(e.span()),
            }
        }));
    // C's `const int N = 10;`: read as `const N: i32 = 10;` (a KPL global
    // names itself first, so a type name, a name and `=` never start one).
    let c_global = c_type_name
        .then(ident)
        .then_ignore(sym("=").rewind())
        .validate(|(ty, name): (Type, Ident), e, emitter| {
            emitter.emit(Er::tagged_fix(e.span(), C_GLOBAL, || {
                format!("{}: {}", name.name, habits::type_name(&ty))
            }));
            (name, ty)
        });
    let global = |keyword: &'static str| {
        kw_or_typo(keyword)
            .ignore_then(
                kw("mut")
                    .validate(|_, e, emitter| emitter.emit(Er::tagged(e.span(), STATIC_MUT)))
                    .or_not(),
            )
            .ignore_then(c_global.clone().or(ident.then(global_ty.clone())))
            .then_ignore(sym("="))
            .then(expr_or_skip.clone())
            .then_ignore(semi.clone())
            .map(|((name, ty), value)| GlobalItem { name, ty, value })
    };
    let field = ident
        .then_ignore(sym(":"))
        .then(ty.clone())
        .map(|(name, ty)| Field {
            name,
            ty,
            doc: None,
        });
    // C's `;` after a field is read as `,` (reported once per struct, see
    // `parse`).
    let field_sep = sym(",")
        .ignored()
        .or(sym(";").validate(|_, e, emitter| emitter.emit(Er::tagged(e.span(), STRUCT_SEMI))));
    let struct_item = kw_or_typo("struct")
        .ignore_then(ident)
        .then(
            field
                .separated_by(field_sep)
                .allow_trailing()
                .collect::<Vec<_>>()
                .delimited_by(sym("{"), sym("}")),
        )
        .map(|(name, fields)| ItemKind::Struct(StructItem { name, fields }));
    // Rust's `pub fn` is `export fn`; `fun`, `func`, `function` are `fn`.
    let pub_kw = select! { Tok::Ident(n) if &*n == "pub" => () }
        .validate(|(), e, emitter| emitter.emit(Er::tagged(e.span(), PUB_FN)));
    let fn_item = kw_or_typo("export")
        .or(pub_kw)
        .map_with(|(), e| Span::from(e.span()))
        .or_not()
        .then_ignore(kw_or_typo("fn"))
        .then(sig.clone())
        .then(block.clone())
        .map(|((export, sig), body)| {
            ItemKind::Fn(FnItem {
                export,
                sig,
                returns_value: returns_a_value(&body),
                body,
            })
        });
    // C's `u32 f(u32 x) { … }` and `void f(int x) { … }`, `export`ed or
    // not: reported once and read as `fn f(x: u32) -> u32 { … }`, C type names given their KPL
    // names (a name, a name and `(` never start a KPL item). Parameters of
    // any other shape (`uint8_t *buf`) leave it to the general recovery.
    let c_type = ident.map(habits::c_type);
    let c_param = c_type.then(ident).map(|(ty, name)| Param { name, ty });
    let c_fn_item = kw("export")
        .ignored()
        .map_with(|(), e| Span::from(e.span()))
        .or_not()
        .then(c_type)
        .then(ident)
        .then(
            select! { Tok::Ident(n) if &*n == "void" => () }
                .to(Vec::new())
                .or(c_param
                    .separated_by(sym(","))
                    .allow_trailing()
                    .collect::<Vec<_>>())
                .delimited_by(sym("("), sym(")")),
        )
        .validate(
            |(((export, ret), name), params): habits::CFnHead, e, emitter| {
                let ret =
                    Some(ret).filter(|t| !matches!(&t.kind, TypeKind::Named(n) if n == "void"));
                let sig = FnSig { name, params, ret };
                emitter.emit(Er::tagged_fix(e.span(), C_FN, || {
                    let head = habits::c_function_fix(&sig);
                    if export.is_some() {
                        format!("export {head}")
                    } else {
                        head
                    }
                }));
                (export, sig)
            },
        )
        .then(block.clone())
        .map(|((export, sig), body)| {
            ItemKind::Fn(FnItem {
                export,
                sig,
                returns_value: returns_a_value(&body),
                body,
            })
        });
    let extern_item = kw("extern")
        .ignore_then(kw("fn"))
        .ignore_then(sig)
        .then_ignore(semi.clone())
        .map(ItemKind::ExternFn);

    let item_start = select! { Tok::Kw(k) if ITEM_KEYWORDS.contains(&k) => () };
    let skip_item = any()
        .ignored()
        .then(skip_until(
            |t| matches!(t, Tok::Kw(k) if ITEM_KEYWORDS.contains(k)),
            nested_skip().or(any().and_is(item_start.not()).ignored()),
        ))
        .to(ItemKind::Error(None));

    let item = choice((
        use_item,
        global("const").map(ItemKind::Const),
        global("static").map(ItemKind::Static),
        struct_item,
        fn_item,
        extern_item,
        c_fn_item,
    ))
    .labelled(Part::Item)
    .recover_with(via_parser(raising(skip_item)))
    .map_with(|kind, e| Item {
        kind,
        span: Span::from(e.span()),
        doc: None,
    });

    // A segment (see `segment`) ends before its stop token: no item starts
    // there, and the stop token is the last the parser reads.
    let stop_token = stop.clone();
    let at_stop = any()
        .map_with(|_: Tok, e| e.span())
        .filter(move |s: &SimpleSpan| Some(*s) == stop_token.get())
        .ignored();
    // As in a block (see `stmts`), the fast pass skips the rest of a
    // segment once it has raised an error.
    let item = if Er::FAST {
        given_up()
            .ignore_then(any().and_is(at_stop.clone().not()).repeated().at_least(1))
            .map_with(|(), e| Item {
                kind: ItemKind::Error(None),
                span: Span::from(e.span()),
                doc: None,
            })
            .or(item)
            .boxed()
    } else {
        item.boxed()
    };
    let file = at_stop
        .clone()
        .not()
        .ignore_then(budget::item_start(early.clone()))
        .ignore_then(item)
        .repeated()
        .collect::<Vec<_>>()
        .then_ignore(budget::rest_of_file(early, stop))
        .then_ignore(end().or(at_stop));
    let stmt = fast_stmt
        .borrow_mut()
        .take()
        .expect("set with the block parser");
    (file, stmt)
}

/// Parses the token stream of `src`, whose lexical errors are `lexical`
/// (for the file's error budget, see `budget`). Also returns the
/// errors the budget counted: with [`ITEM_ERROR_BUDGET`]'s count of each
/// item read, the lexical and delimiter errors.
pub fn parse(
    src: &str,
    tokens: &[(Tok, Span)],
    docs: &[DocLine],
    lexical: &[Diagnostic],
) -> (File, Vec<Diagnostic>, usize) {
    let src_len = src.len();
    let lexed_tokens = tokens;
    let balanced = delims::balance(tokens);
    let tokens = &balanced.tokens;
    let early = budget::early_errors(lexical, &balanced.diagnostics);
    let first_on_line = LineStarts::of_tokens(src, tokens);
    let simple: Vec<(Tok, SimpleSpan)> = tokens
        .iter()
        .map(|(t, s)| (t.clone(), SimpleSpan::from(s.range())))
        .collect();
    let eoi = SimpleSpan::from(src_len..src_len);
    let first_on_line = Rc::new(first_on_line);
    let shared_src: Rc<str> = Rc::from(src);
    // Parsed segment by segment (see `segment`): fast without error
    // details, again with them only where the fast parse found errors.
    let stop = Rc::new(Cell::new(None));
    let hook = reuse::Hook::default();
    let shared: Shared = (
        first_on_line,
        shared_src,
        stop.clone(),
        early.clone(),
        hook.clone(),
    );
    let (fast, fast_stmt) = file_parser::<_, EmptyErr>(shared.clone());
    let stop_at = Rc::new(Cell::new(0));
    *hook.borrow_mut() = Some(reuse::hook_fn(
        src,
        &simple,
        reuse::tokens,
        fast_stmt,
        stop_at.clone(),
        eoi,
    ));
    let mut detailed = None;
    let (mut items, mut errors, mut stops) = (Vec::new(), Vec::new(), Vec::new());
    let mut from = 0;
    budget::file_start();
    for to in segment::ends(tokens) {
        let spent = budget::file_spent();
        // The segment and its stop token, the first of the next segment.
        let upto = simple.get(from..=to).unwrap_or(&simple[from..]);
        stop.set(simple.get(to).map(|(_, s)| *s));
        let eoi = simple.get(to).map_or(eoi, |(_, s)| *s);
        stop_at.set(to);
        let input = || reuse::tokens(upto, eoi);
        error::reset();
        budget::reset();
        let (parsed, e) = (fast.parse_with_state(input(), &mut ())).into_output_errors();
        let noted = error::take_missing_semis();
        match parsed {
            // (A fast parse that cut the file is dropped, and the count
            // of one kept is what it kept: see `budget`.)
            Some(parsed) if e.is_empty() && !error::gave_up() && budget::file_cut().is_none() => {
                items.extend(parsed);
                budget::restore_file_spent(spent);
            }
            // The only errors are `;` missing at ends of lines: as many
            // kept as noted (see `fast::semi_shortcut`).
            Some(parsed)
                if !error::gave_up()
                    && semi_shortcut()
                    && e.len() == noted.len()
                    && budget::file_cut().is_none() =>
            {
                items.extend(parsed);
                budget::restore_file_spent(spent + noted.len());
                errors.extend(noted.into_iter().map(SyntaxError::missing_semi));
            }
            _ => {
                let (parser, _) =
                    detailed.get_or_insert_with(|| file_parser::<_, SyntaxError>(shared.clone()));
                budget::restore_file_spent(spent);
                let (parsed, e) =
                    (parser.parse_with_state(input(), &mut budget::Counts)).into_output_errors();
                items.extend(parsed.unwrap_or_default());
                errors.extend(e);
                stops.extend(budget::take_stops());
            }
        }
        if budget::file_cut().is_some() {
            break;
        }
        from = to;
    }
    let counted = budget::file_spent().saturating_add(early.len());
    let file_cut = budget::file_cut();
    // Only a file with errors asks where they are.
    let place = Place::new(if errors.is_empty() { &[] } else { tokens });
    let errors = first_struct_semi_each(errors, tokens);
    // The unbalanced delimiters come first: where the parser then complains
    // about the same spot, the one syntax error kept per line is theirs.
    let mut diagnostics = balanced.diagnostics;
    budget::cut_file(&mut diagnostics, file_cut);
    // The parser's complaints about a closer inserted by the balancing, or
    // about a group emptied for nesting too deeply, are about what was
    // already reported.
    let inserted: HashSet<u32> = tokens
        .iter()
        .zip(&balanced.inserted)
        .filter(|(_, v)| **v)
        .map(|((_, s), _)| s.start)
        .collect();
    let silenced = |span: Span| {
        let regions = &balanced.too_deep;
        let next = regions.partition_point(|(_, region)| region.end <= span.start);
        (span.start == span.end && inserted.contains(&span.start))
            || regions
                .get(next)
                .is_some_and(|(_, region)| region.start <= span.start)
    };
    diagnostics.extend(
        errors
            .into_iter()
            .filter(|e| !silenced(Span::from(e.span)))
            .map(|e| to_diagnostic(e, tokens, src, &place)),
    );
    budget::cut_short(&mut diagnostics, &stops, &items);
    let cascades = blame_unclosed_brace(&mut diagnostics, src, lexed_tokens);
    if !cascades.is_empty() {
        diagnostics.retain(|d| {
            !(d.message == "unexpected `else`" && cascades.contains(&d.primary.span.start))
        });
    }
    // Later stages walk the tree recursively; bound its depth first.
    let mut kept = bound_depth(items, &balanced.too_deep, &mut diagnostics);
    for item in &mut kept {
        if let ItemKind::Error(name) = &mut item.kind {
            *name = declared_name(tokens, item.span);
        }
    }
    let mut file = File { items: kept };
    tail_expressions(&mut file, &mut diagnostics, src);
    docs::attach(&mut file, tokens, docs);
    number_exprs(&mut file);
    (file, diagnostics, counted)
}
