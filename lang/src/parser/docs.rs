//! Doc comments: each run of `///` lines, which the lexer keeps apart
//! from the tokens, goes to the item or struct field it documents.

use super::error::token_before;
use crate::ast::{File, ItemKind};
use crate::lexer::{DocLine, Tok};
use crate::span::Span;

/// Attaches each run of `///` lines to the item or struct field that follows
/// it directly (no other token in between).
pub(super) fn attach(file: &mut File, tokens: &[(Tok, Span)], docs: &[DocLine]) {
    if docs.is_empty() {
        return;
    }
    let doc_before = |start: u32| -> Option<String> {
        let prev_end = token_before(tokens, start).map_or(0, |(_, s)| s.end);
        let first = docs.partition_point(|d| d.span.start < prev_end);
        let lines: Vec<&str> = docs[first..]
            .iter()
            .take_while(|d| d.span.end <= start)
            .map(|d| d.text.as_str())
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    };
    for item in &mut file.items {
        item.doc = doc_before(item.span.start);
        if let ItemKind::Struct(s) = &mut item.kind {
            for f in &mut s.fields {
                f.doc = doc_before(f.name.span.start);
            }
        }
    }
}
