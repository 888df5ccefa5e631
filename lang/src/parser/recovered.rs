//! What is kept of an item the parser could not make sense of: the name its
//! first tokens declare, so that the one mistake inside it is not followed
//! by "cannot find" errors at every use of the name; and of an item that
//! nests too deeply, its signature or name.

use super::MAX_NESTING;
use crate::ast::{Block, Expr, ExprId, ExprKind, Ident, Item, ItemKind, Stmt, StmtKind, too_deep};
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::lexer::Tok;
use crate::span::Span;

/// The name an item that did not parse declares, when its first tokens
/// still say: `[export | pub] fn|struct|const|static NAME` (or a misspelled
/// `fn` the parser reads as one) inside the item's span.
pub(super) fn declared_name(tokens: &[(Tok, Span)], item: Span) -> Option<Ident> {
    let first = tokens.partition_point(|(_, s)| s.start < item.start);
    let mut rest = tokens
        .get(first..)?
        .iter()
        .take_while(|(_, s)| s.end <= item.end);
    let mut next = rest.next()?;
    if matches!(&next.0, Tok::Kw("export")) || matches!(&next.0, Tok::Ident(n) if &**n == "pub") {
        next = rest.next()?;
    }
    let keyword = match &next.0 {
        Tok::Kw(k) => matches!(*k, "fn" | "struct" | "const" | "static"),
        Tok::Ident(n) => matches!(&**n, "fun" | "func" | "function"),
        _ => false,
    };
    match rest.next() {
        Some((Tok::Ident(n), span)) if keyword => Some(Ident {
            name: n.to_string(),
            span: *span,
        }),
        _ => None,
    }
}

/// What is kept of an item that nests too deeply: a function keeps its
/// signature (so calls to it still check) with an already-reported body; a
/// global keeps its name and type with an error initialiser. The deep part is
/// freed by the tree's iterative `Drop`.
pub(super) fn shallow_remains(mut item: Item) -> Item {
    let span = item.span;
    match &mut item.kind {
        ItemKind::Fn(f) => {
            f.body = Block {
                stmts: vec![Stmt {
                    kind: StmtKind::Error,
                    span,
                }],
                span,
            };
        }
        ItemKind::Const(g) | ItemKind::Static(g) => {
            g.value = Expr {
                id: ExprId(0),
                kind: ExprKind::Error,
                span: g.value.span,
            };
        }
        _ => {}
    }
    if too_deep(&item, MAX_NESTING).is_some() {
        // The signature or type itself is too deep.
        return Item {
            kind: ItemKind::Error(None),
            span,
            doc: None,
        };
    }
    item
}

/// The items to keep, each no deeper than [`MAX_NESTING`] (later stages
/// walk the tree recursively): an item nested deeper, or holding a group the
/// delimiter balancing dropped for its depth (`too_deep`: (opener, region),
/// in source order), gets one E0508 and keeps only what
/// [`shallow_remains`] keeps.
pub(super) fn bound_depth(
    items: Vec<Item>,
    too_deep_groups: &[(Span, Span)],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Item> {
    let mut kept = Vec::new();
    let mut dropped = too_deep_groups.iter().map(|(at, _)| *at).peekable();
    for item in items {
        // The first group dropped by the balancing inside this item, if any
        // (both are in source order).
        while dropped.next_if(|at| at.start < item.span.start).is_some() {}
        let mut deep = None;
        while let Some(at) = dropped.next_if(|at| at.start < item.span.end) {
            deep.get_or_insert(at);
        }
        // An item with a dropped group is always too deep (see `delims`);
        // its dropped opener is only a fallback for where to say so.
        match too_deep(&item, MAX_NESTING).or(deep) {
            None => kept.push(item),
            Some(span) => {
                diagnostics.push(
                    Diagnostic::new(
                        Code::E0508,
                        format!("nesting deeper than {MAX_NESTING} levels"),
                        span,
                        "too deeply nested",
                    )
                    .with_help("split the expression or block using local variables or functions"),
                );
                kept.push(shallow_remains(item));
            }
        }
    }
    kept
}
