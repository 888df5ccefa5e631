//! Where the `use` of a "call an import without `use`" fix goes.
//!
//! The checker of a body sees only that body (the editor checks each
//! function apart from the rest of the file, in its own coordinates), so it
//! marks such a fix with the declaration it needs ([`Help::missing_use`])
//! and this pass, run on the file's final diagnostics in text coordinates,
//! adds the insertion: on a new line after the file's last top-level `use`,
//! or, when there is none, on its own line before the first item (above the
//! item's `///` comment, below the file's leading comments).

use crate::diag::{Diagnostic, Help, Suggestion};
use crate::lexer::{self, Tok};
use crate::span::Span;

/// Completes every fix in `diags` that still needs its `use`: the edit is
/// added and sorted among the fix's others. The file is lexed again only
/// when some fix needs it.
pub fn place_missing_uses(src: &str, diags: &mut [Diagnostic]) {
    let pending = |h: &Help| h.missing_use.is_some();
    if !diags.iter().any(|d| d.help.iter().any(pending)) {
        return;
    }
    let (at, after_uses) = anchor(src);
    for help in diags.iter_mut().flat_map(|d| d.help.iter_mut()) {
        let Some(decl) = help.missing_use.take() else {
            continue;
        };
        let replacement = if after_uses {
            format!("\n{decl}")
        } else {
            format!("{decl}\n\n")
        };
        help.edits.push(Suggestion {
            span: Span::new(at, at),
            replacement: replacement.into(),
        });
        help.edits.sort_by_key(|e| (e.span.start, e.span.end));
    }
}

/// The offset a new `use` goes at, and whether that is the end of the last
/// top-level `use` (else: the start of the line of the first item).
fn anchor(src: &str) -> (usize, bool) {
    let lexed = lexer::lex(src);
    let mut depth = 0usize;
    let mut in_use = false;
    let mut last_use_end = None;
    let mut first_item = None;
    for (tok, span) in &lexed.tokens {
        match tok {
            Tok::Sym("{") | Tok::Sym("(") | Tok::Sym("[") => depth += 1,
            Tok::Sym("}") | Tok::Sym(")") | Tok::Sym("]") => depth = depth.saturating_sub(1),
            Tok::Kw("use") if depth == 0 => in_use = true,
            Tok::Sym(";") if depth == 0 && in_use => {
                in_use = false;
                last_use_end = Some(span.end as usize);
            }
            _ => {}
        }
        if first_item.is_none() {
            first_item = Some(span.start as usize);
        }
    }
    if let Some(end) = last_use_end {
        return (end, true);
    }
    let mut at = first_item.unwrap_or(src.len());
    // The first item's `///` lines belong to it: the `use` goes above them.
    if let Some(doc) = lexed.docs.first()
        && (doc.span.start as usize) < at
    {
        at = doc.span.start as usize;
    }
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    (line_start, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Code;

    fn fixed(src: &str) -> String {
        let mut d = vec![
            Diagnostic::new(Code::E0100, "x", Span::new(0, 0), "x").with_use_fix(
                "add it",
                "use kernel::log;",
                vec![],
            ),
        ];
        place_missing_uses(src, &mut d);
        let mut out = src.to_string();
        for e in d[0].help[0].edits.iter().rev() {
            out.replace_range(e.span.start as usize..e.span.end as usize, &e.replacement);
        }
        assert!(d[0].help[0].missing_use.is_none());
        out
    }

    #[test]
    fn after_the_last_use_or_above_the_first_item() {
        assert_eq!(
            fixed("use kernel::clock_ns;\nuse kernel::{a, b};\n\nfn f() {}\n"),
            "use kernel::clock_ns;\nuse kernel::{a, b};\nuse kernel::log;\n\nfn f() {}\n"
        );
        assert_eq!(
            fixed("// SPDX: MIT\n\n/// Counts.\nexport fn f() {}\n"),
            "// SPDX: MIT\n\nuse kernel::log;\n\n/// Counts.\nexport fn f() {}\n"
        );
        assert_eq!(
            fixed("export fn f() {}\nuse kernel::clock_ns;\n"),
            "export fn f() {}\nuse kernel::clock_ns;\nuse kernel::log;\n"
        );
        assert_eq!(fixed("  fn f() {}"), "use kernel::log;\n\n  fn f() {}");
    }

    #[test]
    fn nothing_to_place_leaves_the_diagnostics_alone() {
        let d = Diagnostic::new(Code::E0100, "x", Span::new(0, 0), "x").with_help("prose");
        let mut ds = vec![d.clone()];
        place_missing_uses("fn f() {}", &mut ds);
        assert_eq!(ds, vec![d]);
    }
}
