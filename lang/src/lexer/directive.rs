//! C's preprocessor lines (`#include <stdio.h>`, `#define N 10`) and Rust's
//! attributes (`#[derive(Debug)]`), written out of habit. A `#` that starts
//! a line (after blanks) followed by a word or `[` takes the whole line: it
//! is reported once, with what KPL does instead, and the rest of the line is
//! not parsed (which would only add errors about C's syntax); a line ended
//! by `\` goes on to the next, as in C. `#define` of a number is read as
//! the `const` it means, and a macro with parameters (`#define SQ(x) …`) as a
//! function of that name whose types are unknown, so the uses of either are
//! not reported again.

use super::{KEYWORDS, Lexed, Tok, line_end, parse_int};
use crate::codes::Code;
use crate::diag::{Applicability, Diagnostic};
use crate::span::Span;

/// The words that may follow `#` in C's preprocessor (the others start a
/// comment in Python or a shell script).
const C_DIRECTIVES: [&str; 14] = [
    "if",
    "ifdef",
    "ifndef",
    "elif",
    "else",
    "endif",
    "undef",
    "pragma",
    "error",
    "warning",
    "line",
    "import",
    "include_next",
    "elifdef",
];

/// The type name the lexer gives the parameters and result of a macro it
/// reads as a function: the parser makes it the error type (which agrees
/// with every type, so no use of the macro is reported). No identifier the
/// lexer reads from a file contains `{`, so a file cannot name it.
pub const UNKNOWN_TYPE: &str = "{unknown}";

/// Where the directive starting at byte `at` ends: the end of its line, or
/// of a later one when each line before it ends with `\` (C's line
/// continuation, common in multi-line macros).
pub(super) fn directive_end(src: &str, at: usize) -> usize {
    let mut end = line_end(src, at);
    while src[at..end].trim_end_matches([' ', '\t']).ends_with('\\') {
        let rest = &src[end..];
        let brk = if rest.starts_with("\r\n") {
            2
        } else {
            usize::from(rest.starts_with(['\n', '\r']))
        };
        if brk == 0 {
            break;
        }
        end = line_end(src, end + brk);
    }
    end
}

/// Whether the `#` at byte `at` starts a directive line: only blanks before
/// it on its line, and a word, `[` or `![` after it (blanks between
/// allowed). Any other `#` is an invalid character.
pub(super) fn starts_directive(src: &str, at: usize) -> bool {
    // Look back over blanks only, not to the start of the line: a line of
    // many `#` would otherwise be scanned again for each of them.
    let before = src.as_bytes()[..at]
        .iter()
        .rev()
        .find(|&&b| b != b' ' && b != b'\t');
    if before.is_some_and(|&b| b != b'\n' && b != b'\r') {
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
/// a number or with parameters, pushes the tokens of the `const` or `fn`
/// it means.
pub(super) fn directive(line: &str, span: Span, removal: Span, out: &mut Lexed) {
    let start = span.start as usize;
    let rest = line[1..].trim_start_matches([' ', '\t']);
    let word_at = line.len() - rest.len();
    let word_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let word = &rest[..word_len];
    let e = |message: &str, label: &str| {
        Diagnostic::new(Code::E0001, message.to_string(), span, label.to_string())
    };
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
            let named = name.bytes().next().is_some_and(|b| !b.is_ascii_digit())
                && !KEYWORDS.contains(&name);
            let value = (!body[name_len..].starts_with('('))
                .then(|| parse_int(value_text).ok())
                .flatten()
                .filter(|_| named);
            if let Some(m) = macro_head(tail).filter(|_| named) {
                let d = e(
                    "KPL has no macros: a macro with parameters is a `fn`",
                    "C's `#define` with parameters",
                );
                let name = (name, start + name_at);
                let d = function_macro(d, name, &m, span, out);
                out.diagnostics.push(d);
                return;
            }
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
                None => d.with_help("declare a constant, e.g. `const N: u32 = 10;`"),
            }
        }
        // Python's and the shell's comments.
        other if !C_DIRECTIVES.contains(&other) => {
            let hash = Span::new(start, start + 1);
            Diagnostic::new(Code::E0001, "`#` does not start a comment in KPL", hash, "not a comment")
                .with_fix("comments start with `//`", hash, "//")
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

/// A macro's parameter list and body: `(a, b) body` after its name, the
/// `(` right after the name (with a blank between, C reads an object-like
/// macro whose value starts with `(`).
struct MacroHead<'a> {
    /// Each parameter and its offset in the text after the name.
    params: Vec<(&'a str, usize)>,
    /// The offset of `)` in the text after the name.
    close: usize,
    /// The replacement text, its line continuations made blanks.
    body: String,
}

fn macro_head(tail: &str) -> Option<MacroHead<'_>> {
    let inner = tail.strip_prefix('(')?;
    let close = inner.find(')')?;
    let mut params = Vec::new();
    let mut at = 1;
    for p in inner[..close].split(',') {
        let name = p.trim_matches([' ', '\t']);
        let offset = at + (p.len() - p.trim_start_matches([' ', '\t']).len());
        at += p.len() + 1;
        let word = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if name.is_empty() {
            continue;
        }
        if !word || name.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        params.push((name, offset));
    }
    let body = inner[close + 1..]
        .split(['\n', '\r'])
        .map(|l| {
            l.trim_matches([' ', '\t'])
                .trim_end_matches('\\')
                .trim_end()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some(MacroHead {
        params,
        close: close + 1,
        body,
    })
}

/// The diagnostic for a macro with parameters, which KPL writes as a
/// function; pushes the tokens of `fn NAME(a: ?, b: ?) -> ? { abort; }`
/// (the types unknown), so that the macro's name stays declared and calls
/// of it are not reported as unknown names or mismatched types. Every
/// token stands on the directive's first line, where the combined
/// diagnostics keep only this one.
fn function_macro(
    d: Diagnostic,
    (name, name_at): (&str, usize),
    m: &MacroHead<'_>,
    span: Span,
    out: &mut Lexed,
) -> Diagnostic {
    let d = d.with_note(
        "a function is called the same way; one that is not `export` is private to the plugin",
    );
    let at = |offset: usize, len: usize| Span::new(offset, offset + len);
    let after_name = name_at + name.len();
    let unknown = || Tok::Ident(UNKNOWN_TYPE.into());
    let mut toks = vec![
        (Tok::Kw("fn"), at(span.start as usize, 1)),
        (Tok::Ident(name.into()), at(name_at, name.len())),
        (Tok::Sym("("), at(after_name, 1)),
    ];
    for (i, (p, offset)) in m.params.iter().enumerate() {
        let p_at = after_name + offset;
        if i > 0 {
            toks.push((Tok::Sym(","), at(p_at, 0)));
        }
        toks.push((Tok::Ident((*p).into()), at(p_at, p.len())));
        toks.push((Tok::Sym(":"), at(p_at + p.len(), 0)));
        toks.push((unknown(), at(p_at + p.len(), 0)));
    }
    let close = after_name + m.close;
    toks.extend([
        (Tok::Sym(")"), at(close, 1)),
        (Tok::Sym("->"), at(close + 1, 0)),
        (unknown(), at(close + 1, 0)),
        (Tok::Sym("{"), at(close + 1, 0)),
        (Tok::Kw("abort"), at(close + 1, 0)),
        (Tok::Sym(";"), at(close + 1, 0)),
        (Tok::Sym("}"), at(close + 1, 0)),
    ]);
    out.tokens.extend(toks);
    // An expression macro becomes a function returning it; one with
    // statements (`;`, `{`) or C's operators KPL lacks (`?:`, `#`) is only
    // described. The types are a guess either way.
    let params: Vec<String> = m.params.iter().map(|(p, _)| format!("{p}: u32")).collect();
    let head = format!("fn {name}({})", params.join(", "));
    let expression = !m.body.is_empty() && !m.body.contains([';', '{', '}', '?', '#']);
    if expression {
        let body = m.body.as_str();
        let fix = format!("{head} -> u32 {{ return {body}; }}");
        d.with_fix_edits(
            format!("write a function (the types are a guess): `{fix}`"),
            Applicability::MaybeIncorrect,
            vec![crate::diag::Suggestion {
                span,
                replacement: fix.into(),
            }],
        )
    } else {
        d.with_help(format!(
            "write a function, e.g. `{head} {{ … }}`, with the types it takes and returns"
        ))
    }
}
