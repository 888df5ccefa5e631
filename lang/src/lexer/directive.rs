//! C's preprocessor lines (`#include <stdio.h>`, `#define N 10`) and Rust's
//! attributes (`#[derive(Debug)]`), written out of habit. A `#` that starts
//! a line (after blanks) followed by a word or `[` takes the whole line: it
//! is reported once, with what KPL does instead, and the rest of the line is
//! not parsed (which would only add errors about C's syntax). `#define` of a
//! number is read as the `const` it means, so its uses are not reported.

use super::{KEYWORDS, Lexed, Tok, parse_int};
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::span::Span;

/// Whether the `#` at byte `at` starts a directive line: only blanks before
/// it on its line, and a word, `[` or `![` after it (blanks between
/// allowed). Any other `#` is an invalid character.
pub(super) fn starts_directive(src: &str, at: usize) -> bool {
    let bytes = src.as_bytes();
    let line_start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .map_or(0, |n| n + 1);
    if !bytes[line_start..at]
        .iter()
        .all(|&b| b == b' ' || b == b'\t')
    {
        return false;
    }
    let after = src[at + 1..].trim_start_matches([' ', '\t']).as_bytes();
    match after {
        [b'[', ..] | [b'!', b'[', ..] => true,
        [b, ..] => b.is_ascii_alphabetic(),
        [] => false,
    }
}

/// Reports the directive `line` (its text from `#` to the end of the line,
/// at `span`; `removal` also covers the line break) and, for `#define` of
/// a number, pushes the tokens of the `const` it means.
pub(super) fn directive(line: &str, span: Span, removal: Span, out: &mut Lexed) {
    let start = span.start as usize;
    let rest = line[1..].trim_start_matches([' ', '\t']);
    let word_at = line.len() - rest.len();
    let word_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let word = &rest[..word_len];
    let e = |message: &str, label: &str| Diagnostic::new(Code::E0001, message, span, label);
    let remove = |d: Diagnostic| d.with_fix("remove the line", removal, "");
    let d = match word {
        "" => remove(
            e("KPL has no attributes", "Rust's attribute")
                .with_note("a function the host calls is `export fn`; a struct needs no `derive`"),
        ),
        "include" => remove(
            e("KPL has no `#include`", "C's preprocessor").with_note(
                "there are no header files: a plugin declares the kernel services it calls with `use`, e.g. `use kernel::{log, clock_ns};`",
            ),
        ),
        "define" => {
            let after = &rest[word_len..];
            let body = after.trim_start_matches([' ', '\t']);
            let name_at = word_at + word_len + (after.len() - body.len());
            let name_len = body
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let name = &body[..name_len];
            let tail = &body[name_len..];
            let value_text = tail.trim_matches([' ', '\t']);
            let value_at =
                start + name_at + name_len + (tail.len() - tail.trim_start_matches([' ', '\t']).len());
            let value = (!body[name_len..].starts_with('('))
                .then(|| parse_int(value_text).ok())
                .flatten()
                .filter(|_| name.bytes().next().is_some_and(|b| !b.is_ascii_digit()))
                .filter(|_| !KEYWORDS.contains(&name));
            let d = e("KPL has no `#define`", "C's preprocessor");
            match value {
                Some(v) => {
                    let ty = if v > u64::from(u32::MAX) { "u64" } else { "u32" };
                    let fix = format!("const {name}: {ty} = {value_text};");
                    let define = Span::new(start, start + word_at + word_len);
                    let value_span = Span::new(value_at, value_at + value_text.len());
                    push_const(out, define, (name, start + name_at), ty, (v, value_span));
                    d.with_fix(format!("declare a constant: `{fix}`"), span, fix)
                }
                None => d.with_help(
                    "declare a constant, e.g. `const N: u32 = 10;`; a macro with parameters is a function",
                ),
            }
        }
        other => e(
            "KPL has no preprocessor",
            &format!("C's `#{other}`"),
        )
        .with_help("a plugin is one file, compiled as it is written: remove the line and keep the code you mean"),
    };
    out.diagnostics.push(d);
}

/// The tokens of `const NAME: TY = VALUE;` for `#define NAME VALUE`:
/// `const` stands on `#define`, the name and the value on theirs, the rest
/// between them with no width.
fn push_const(
    out: &mut Lexed,
    define: Span,
    name: (&str, usize),
    ty: &'static str,
    value: (u64, Span),
) {
    let (name, name_at) = name;
    let (value, value_span) = value;
    let name_span = Span::new(name_at, name_at + name.len());
    let after_name = Span::new(name_span.end as usize, name_span.end as usize);
    let before_value = Span::new(value_span.start as usize, value_span.start as usize);
    let after_value = Span::new(value_span.end as usize, value_span.end as usize);
    out.tokens.extend([
        (Tok::Kw("const"), define),
        (Tok::Ident(name.into()), name_span),
        (Tok::Sym(":"), after_name),
        (Tok::Ident(ty.into()), after_name),
        (Tok::Sym("="), before_value),
        (Tok::Int(value), value_span),
        (Tok::Sym(";"), after_value),
    ]);
}
