//! What is kept of an item the parser could not make sense of: the name its
//! first tokens declare, so that the one mistake inside it is not followed
//! by "cannot find" errors at every use of the name; and of an item that
//! nests too deeply, its signature or name.

use super::MAX_NESTING;
use crate::ast::{Block, Expr, ExprId, ExprKind, Ident, Item, ItemKind, Stmt, StmtKind, too_deep};
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
