//! Whether a name is assigned later in its block: the question behind a
//! fix that declares a local in KPL's way. C's `u32 i = 0;`, C++'s
//! `auto i = 0;` and Python's `i: u32 = 0;` become `var` when a later
//! statement of the block assigns `i` (or an element or field of it, `++`
//! included), and `let` otherwise; `let` there would only trade the
//! diagnostic for E0300 at the assignment.
//!
//! A file may hold a million such declarations, so the answer cannot be a
//! scan to the end of each block. [`LaterAssignments`] indexes the file
//! once (linear in its tokens) and answers each question with two binary
//! searches. It is built only when a first question is asked.

use std::collections::HashMap;

use super::Tok;
use crate::span::Span;

/// How many tokens of a place (`name`, `.field`, `[index]`) are read to
/// find the operator after it. Bounded so that places that never close
/// (`i[ i[ i[ …`) cost a constant each, not the rest of the file.
const PLACE_TOKENS: usize = 256;

/// The statements that assign a name, by name, and where each block ends.
pub(crate) struct LaterAssignments {
    /// For each token, the index of the `}` closing the innermost block it
    /// is in (the token count when that block is never closed).
    block_end: Vec<usize>,
    /// For each name, the indexes (ascending) of the statements that start
    /// with an assignment to it.
    assigning: HashMap<Box<str>, Vec<usize>>,
}

impl LaterAssignments {
    pub(crate) fn new(tokens: &[(Tok, Span)]) -> LaterAssignments {
        // Backwards, the `}` not yet matched are on a stack whose top is
        // the nearest: the end of the block of the token being read.
        let mut block_end = vec![tokens.len(); tokens.len()];
        let mut unmatched = Vec::new();
        for (k, (t, _)) in tokens.iter().enumerate().rev() {
            match t {
                Tok::Sym("}") => unmatched.push(k),
                Tok::Sym("{") => {
                    unmatched.pop();
                }
                _ => {}
            }
            if let (Some(end), Some(slot)) = (unmatched.last(), block_end.get_mut(k)) {
                *slot = *end;
            }
        }
        let mut assigning: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        for (k, (t, _)) in tokens.iter().enumerate() {
            let Tok::Ident(name) = t else { continue };
            let starts_statement =
                k == 0 || matches!(tokens.get(k - 1), Some((Tok::Sym(";" | "{" | "}"), _)));
            if starts_statement && assigns(tokens, k + 1) {
                assigning.entry((**name).into()).or_default().push(k);
            }
        }
        LaterAssignments {
            block_end,
            assigning,
        }
    }

    /// Whether a statement among `tokens[from..]`, in the block being read
    /// at `from` (up to the `}` that closes it, nested blocks included),
    /// assigns `name`: `name = …`, `name += …`, `name[i] = …`,
    /// `name.x = …`, C's `name++`.
    pub(crate) fn after(&self, from: usize, name: &str) -> bool {
        let Some(&end) = self.block_end.get(from) else {
            return false;
        };
        let Some(at) = self.assigning.get(name) else {
            return false;
        };
        at.get(at.partition_point(|&k| k < from))
            .is_some_and(|&k| k < end)
    }
}

/// Whether the place that goes on at `tokens[from]` (fields and indexes,
/// brackets balanced) is followed by an assignment operator or `++`/`--`.
fn assigns(tokens: &[(Tok, Span)], from: usize) -> bool {
    let tok = |k: usize| tokens.get(k).map(|(t, _)| t);
    let end = tokens.len().min(from.saturating_add(PLACE_TOKENS));
    let (mut j, mut open) = (from, 0usize);
    while j < end {
        match tok(j) {
            Some(Tok::Sym("[")) => open += 1,
            Some(Tok::Sym("]")) if open > 0 => open -= 1,
            Some(Tok::Sym(".")) if open == 0 => j += 1,
            _ if open > 0 => {}
            _ => break,
        }
        j += 1;
    }
    if open > 0 {
        return false;
    }
    match tok(j) {
        Some(Tok::Sym(op @ ("+" | "-"))) => tok(j + 1) == Some(&Tok::Sym(op)),
        Some(Tok::Sym(op)) => super::ASSIGNMENT_OPS.contains(op),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::LaterAssignments;
    use crate::lexer::lex;

    /// Whether `name`, declared by the statement that ends at the first `;`
    /// of `src`, is assigned after it.
    fn later(src: &str, name: &str) -> bool {
        let lexed = lex(src);
        let toks = &lexed.tokens;
        let from = toks
            .iter()
            .position(|(t, _)| *t == crate::lexer::Tok::Sym(";"))
            .map_or(0, |k| k + 1);
        LaterAssignments::new(toks).after(from, name)
    }

    #[test]
    fn assignments_of_every_form_count() {
        for body in [
            "i = 1;",
            "i += 1;",
            "i <<= 1;",
            "i++;",
            "i--;",
            "i[0] = 1;",
            "i[j[0]] = 1;",
            "i.x = 1;",
            "i.x[2].y |= 1;",
            "if c { i = 1; }",
            "while c { if d { i++; } }",
        ] {
            assert!(
                later(&format!("fn f() {{ let i = 0; {body} }}"), "i"),
                "{body}"
            );
        }
    }

    #[test]
    fn reads_comparisons_and_other_names_do_not() {
        for body in [
            "",
            "g(i);",
            "i == 1;",
            "i <= 1;",
            "j = i;",
            "x.i = 1;",
            "g(i = 1);",
            "i[0 == 1;",
            "i + 1;",
        ] {
            assert!(
                !later(&format!("fn f() {{ let i = 0; {body} }}"), "i"),
                "{body}"
            );
        }
    }

    #[test]
    fn only_the_rest_of_the_block_counts() {
        // After the block's `}`: another block's `i`.
        assert!(!later("fn f() { { let i = 0; } i = 1; }", "i"));
        // Before the declaration.
        assert!(!later("fn f() { i = 1; let i = 0; }", "i"));
        // A block never closed goes on to the end of the file.
        assert!(later("fn f() { let i = 0; if c { i = 2;", "i"));
    }

    #[test]
    fn a_place_that_never_closes_is_read_only_so_far() {
        let src = format!("fn f() {{ let i = 0; {} }}", "i[ ".repeat(100_000));
        assert!(!later(&src, "i"));
    }
}
