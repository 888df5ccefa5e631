//! What is kept of an item the parser could not make sense of: the name its
//! first tokens declare, so that the one mistake inside it is not followed
//! by "cannot find" errors at every use of the name.

use crate::ast::Ident;
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
