//! `kplc fmt`: the canonical layout of a KPL source file.
//!
//! [`format_source`] parses the file, refuses it if it has lexical or syntax
//! errors (it is never reformatted by guesswork), and prints the syntax tree
//! again with every comment of the source in place. The layout rules are in
//! the book (`book/src/guide/formatting.md`); each is tested.
//!
//! The pieces: the comments are found in the gaps between the lexer's tokens
//! (the lexer and the parser are untouched: the tokens the parser sees are
//! the same); [`build`] turns the tree and the comments into a layout
//! [`doc::Doc`]; [`doc`] prints it within [`MAX_WIDTH`] columns.
//!
//! Before it returns, the formatter checks its own output: it must parse
//! without errors, have the same tokens as the input except for trailing
//! commas of lists, and the same comments in the same order. Should that
//! ever fail (a bug), the file is refused rather than changed.

mod build;
pub mod doc;

use crate::diag::Diagnostic;
use crate::span::Span;
use build::{Builder, Comment};

/// The width the formatter fills lines up to. Longer lines remain only where
/// nothing can be broken (a long string, name or comment).
pub const MAX_WIDTH: usize = 100;

/// Why a file was not formatted.
#[derive(Debug)]
pub enum FormatError {
    /// The file has lexical or syntax errors: these diagnostics, sorted.
    Syntax(Vec<Diagnostic>),
    /// The file has no syntax error, but the compiler reads part of it as
    /// something other than what is written, starting at this span: a habit
    /// from another language that the checker reports (`kernel::log(x)`
    /// without its `use`, a path to a module a plugin does not have). The
    /// syntax tree is not the text's, so it cannot be laid out; `kplc
    /// check` says what to write instead.
    NotAsWritten(Span),
    /// The formatter could not reproduce the file faithfully (a bug in the
    /// formatter; the file is left alone).
    Internal(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Syntax(d) => write!(
                f,
                "the file has {} syntax error{}; it is not formatted",
                d.len(),
                if d.len() == 1 { "" } else { "s" }
            ),
            FormatError::NotAsWritten(at) => write!(
                f,
                "the file is not KPL as written from byte {} on (`kplc check` says why); it is not formatted",
                at.start
            ),
            FormatError::Internal(why) => write!(
                f,
                "internal formatter error ({why}); the file is left as it is"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// The canonical layout of `src`. Idempotent: formatting the result again
/// gives it back unchanged.
pub fn format_source(src: &str) -> Result<String, FormatError> {
    let crate::SourceParse {
        file,
        diagnostics,
        tokens,
        rewritten_at,
        ..
    } = crate::parse_source_tokens(src);
    let errors: Vec<Diagnostic> = diagnostics.into_iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        return Err(FormatError::Syntax(errors));
    }
    if let Some(at) = rewritten_at {
        return Err(FormatError::NotAsWritten(at));
    }
    let comments = comments(src, &tokens).map_err(FormatError::Internal)?;
    let mut builder = Builder::new(src, &tokens, &comments);
    let doc = builder.file(&file);
    if let Some(why) = builder.failed {
        return Err(FormatError::Internal(why));
    }
    let out = doc::print(&doc, MAX_WIDTH, builder.groups);
    drop(doc);
    check_faithful(src, &tokens, &comments, &out).map_err(FormatError::Internal)?;
    Ok(out)
}

/// The comments of `src`: everything in the gaps between tokens that is not
/// whitespace. A gap holding anything else (which the lexer would have
/// reported) is an error.
fn comments(src: &str, tokens: &[Span]) -> Result<Vec<Comment>, String> {
    let mut out = Vec::new();
    // A byte-order mark at the very start is not part of the text (the
    // lexer skips it too); it is dropped from the output.
    let mut gap_start = if src.starts_with('\u{FEFF}') { 3 } else { 0 };
    let ends = tokens
        .iter()
        .map(|s| (s.start as usize, s.end as usize))
        .chain(std::iter::once((src.len(), src.len())));
    for (start, end) in ends {
        let gap = src.get(gap_start..start).ok_or("a token out of order")?;
        let mut rest = gap;
        while let Some(c) = rest.chars().next() {
            let at = gap_start + (gap.len() - rest.len());
            if c.is_whitespace() {
                rest = &rest[c.len_utf8()..];
            } else if rest.starts_with("//") {
                // Ends at a line break, a lone `\r` included, as in the
                // lexer.
                let len = rest.find(['\n', '\r']).unwrap_or(rest.len());
                out.push(Comment {
                    span: Span::new(at, at + len),
                    block: false,
                });
                rest = &rest[len..];
            } else if let Some(body) = rest.strip_prefix("/*") {
                let len = body.find("*/").ok_or("an unterminated comment")? + 4;
                out.push(Comment {
                    span: Span::new(at, at + len),
                    block: true,
                });
                rest = &rest[len..];
            } else {
                return Err(format!("unexpected `{c}` between tokens"));
            }
        }
        gap_start = end;
    }
    Ok(out)
}

/// A comment's text as the formatter keeps it: each line without trailing
/// whitespace.
fn comment_lines(text: &str) -> Vec<&str> {
    doc::lines(text).map(str::trim_end).collect()
}

/// The token texts of `src`, without the commas that end a list (the only
/// tokens the formatter adds or removes).
fn essential_tokens<'a>(src: &'a str, tokens: &[Span]) -> Vec<&'a str> {
    let text = |i: usize| tokens.get(i).and_then(|s| src.get(s.range()));
    (0..tokens.len())
        .filter(|&i| !(text(i) == Some(",") && matches!(text(i + 1), Some(")" | "]" | "}"))))
        .filter_map(text)
        .collect()
}

/// The output parses, and has the input's tokens and comments.
fn check_faithful(
    src: &str,
    tokens: &[Span],
    comments_in: &[Comment],
    out: &str,
) -> Result<(), String> {
    let reparsed = crate::parse_source_tokens(out);
    let out_tokens = reparsed.tokens;
    if let Some(d) = reparsed.diagnostics.iter().find(|d| d.is_error()) {
        return Err(format!("the output does not parse: {}", d.message));
    }
    if essential_tokens(src, tokens) != essential_tokens(out, &out_tokens) {
        return Err("the output's tokens differ from the input's".to_string());
    }
    let out_comments = comments(out, &out_tokens)?;
    let texts = |s: &'_ str, cs: &[Comment]| -> Vec<Vec<String>> {
        cs.iter()
            .map(|c| {
                comment_lines(s.get(c.span.range()).unwrap_or(""))
                    .into_iter()
                    .map(String::from)
                    .collect()
            })
            .collect()
    };
    if texts(src, comments_in) != texts(out, &out_comments) {
        return Err("the output's comments differ from the input's".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        match format_source(src) {
            Ok(s) => s,
            Err(e) => panic!("{e}: {src}"),
        }
    }

    #[test]
    fn comments_are_found_between_tokens() {
        let src = "// a\nfn /* b */ f() {} /// c\n/* d\n e */";
        let toks: Vec<Span> = crate::lexer::lex(src)
            .tokens
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let cs = comments(src, &toks).unwrap();
        let texts: Vec<&str> = cs.iter().map(|c| &src[c.span.range()]).collect();
        assert_eq!(texts, ["// a", "/* b */", "/// c", "/* d\n e */"]);
    }

    #[test]
    fn syntax_errors_are_refused() {
        assert!(matches!(
            format_source("fn f() { let x = ; }"),
            Err(FormatError::Syntax(_))
        ));
        assert!(matches!(
            format_source("fn f() { x $ }"),
            Err(FormatError::Syntax(_))
        ));
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n  \n"), "");
        assert_eq!(
            fmt("// only\n\n\n// comments   \n"),
            "// only\n\n// comments\n"
        );
    }

    #[test]
    fn spacing_is_canonical() {
        assert_eq!(
            fmt("export   fn f(a:u32,b:u32)->u32{return a+b*2;}"),
            "export fn f(a: u32, b: u32) -> u32 {\n    return a + b * 2;\n}\n"
        );
    }
}
