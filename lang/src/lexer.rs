//! Lexical analysis: source text to tokens.
//!
//! The chumsky grammar here never fails: anything it cannot classify becomes a
//! raw "invalid" token. A second, plain pass turns raw tokens into [`Tok`]s,
//! decoding literals and reporting lexical errors (E0002–E0005) with precise
//! spans. Comments are dropped from the token stream; `///` doc comments are
//! kept aside so the parser can attach them to items.

use std::rc::Rc;

use chumsky::prelude::*;

use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::span::Span;

pub const KEYWORDS: &[&str] = &[
    "abort", "as", "break", "const", "continue", "else", "export", "extern", "false", "fn", "for",
    "if", "in", "let", "mut", "return", "static", "struct", "true", "use", "var", "while",
];

/// A token as the parser sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tok {
    // Shared, not owned: the parser clones a token each time it looks at
    // one (every alternative it tries), and cloning an owned name was an
    // allocation each time, a tenth of a check.
    Ident(Rc<str>),
    Int(u64),
    Str(Rc<str>),
    /// A keyword, e.g. `fn`.
    Kw(&'static str),
    /// A malformed integer literal (already reported); parses as an error expression.
    BadInt,
    /// Punctuation or an operator, e.g. `<<=`.
    Sym(&'static str),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Ident(name) => write!(f, "identifier `{name}`"),
            Tok::Int(v) => write!(f, "integer `{v}`"),
            Tok::Str(_) => write!(f, "string literal"),
            Tok::Kw(k) => write!(f, "`{k}`"),
            Tok::BadInt => write!(f, "malformed integer"),
            Tok::Sym(s) => write!(f, "`{s}`"),
        }
    }
}

/// A `///` comment: its text (without the slashes) and where it sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocLine {
    pub text: String,
    pub span: Span,
}

pub struct Lexed {
    pub tokens: Vec<(Tok, Span)>,
    pub docs: Vec<DocLine>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Clone, Debug)]
enum Raw<'src> {
    Word(&'src str),
    Number(&'src str),
    Str(&'src str),
    Sym(&'static str),
    Doc(&'src str),
    BlockComment {
        terminated: bool,
    },
    /// C's and Rust's `'a'`: reported, and read as the byte it means.
    Char(char),
    Invalid(char),
}

const SYMBOLS: [&str; 44] = [
    "<<=", ">>=", "::", "..", "->", "==", "!=", "<=", ">=", "<<", ">>", "&&", "||", "+=", "-=",
    "*=", "/=", "%=", "&=", "|=", "^=", "(", ")", "{", "}", "[", "]", ",", ";", ":", ".", "=", "<",
    ">", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!",
];

fn raw_lexer<'src>()
-> impl Parser<'src, &'src str, Vec<(Raw<'src>, SimpleSpan)>, extra::Default> + 'src {
    let word = any()
        .filter(|c: &char| c.is_ascii_alphabetic() || *c == '_')
        .then(
            any()
                .filter(|c: &char| c.is_ascii_alphanumeric() || *c == '_')
                .repeated(),
        )
        .to_slice()
        .map(Raw::Word);
    // A number is a digit followed by any word characters; validity is decided
    // afterwards so that `0b102` or `12ab` is one malformed literal, not two tokens.
    let number = any()
        .filter(char::is_ascii_digit)
        .then(
            any()
                .filter(|c: &char| c.is_ascii_alphanumeric() || *c == '_')
                .repeated(),
        )
        .to_slice()
        .map(Raw::Number);
    let string = just('"')
        .then(
            choice((
                just('\\').then(none_of("\r\n")).ignored(),
                none_of("\\\"\r\n").ignored(),
            ))
            .repeated(),
        )
        .then(just('"').or_not())
        .to_slice()
        .map(Raw::Str);
    let doc = just("///")
        .ignore_then(none_of("\r\n").repeated().to_slice())
        .map(Raw::Doc);
    // Lines end at `\n`, `\r\n` or a lone `\r`.
    let line_comment = just("//").then(none_of("\r\n").repeated()).ignored();
    let block_comment = just("/*")
        .then(any().and_is(just("*/").not()).repeated())
        .ignore_then(just("*/").or_not())
        .map(|end| Raw::BlockComment {
            terminated: end.is_some(),
        });
    // Longest symbols come first in SYMBOLS, so the first match is the longest.
    let symbol = choice(SYMBOLS.map(|sym| just(sym).to_slice()))
        .map(|text: &str| Raw::Sym(SYMBOLS.iter().copied().find(|s| *s == text).unwrap_or(";")));
    let char_lit = just('\'')
        .ignore_then(choice((
            just('\\').ignore_then(choice((
                just('n').to('\n'),
                just('t').to('\t'),
                just('r').to('\r'),
                just('0').to('\0'),
                just('\\'),
                just('\''),
            ))),
            none_of("\\'\r\n"),
        )))
        .then_ignore(just('\''))
        .map(Raw::Char);
    let invalid = any().map(Raw::Invalid);

    let token = choice((
        doc,
        block_comment,
        word,
        number,
        string,
        char_lit,
        symbol,
        invalid,
    ));
    let skip = choice((
        line_comment.and_is(just("///").not()),
        any().filter(|c: &char| c.is_whitespace()).ignored(),
    ))
    .repeated();

    // A byte-order mark is allowed at the very start (editors on Windows
    // write one) and nowhere else.
    just('\u{FEFF}').or_not().ignore_then(
        token
            .map_with(|t, e| (t, e.span()))
            .padded_by(skip)
            .repeated()
            .collect(),
    )
}

/// Lexes a whole file. Never fails: problems become diagnostics, and the
/// offending text is either dropped (invalid characters) or turned into a
/// token that parses as an error node (malformed numbers) so parsing goes on.
pub fn lex(src: &str) -> Lexed {
    let raw = raw_lexer().parse(src).into_output().unwrap_or_default();
    let mut out = Lexed {
        tokens: Vec::with_capacity(raw.len()),
        docs: Vec::new(),
        diagnostics: Vec::new(),
    };
    for (raw, span) in raw {
        let span = Span::from(span);
        match raw {
            Raw::Word(w) => out.tokens.push((
                match KEYWORDS.iter().find(|k| **k == w) {
                    Some(k) => Tok::Kw(k),
                    None => Tok::Ident(w.into()),
                },
                span,
            )),
            Raw::Number(text) => {
                let tok = match parse_int(text) {
                    Ok(v) => Tok::Int(v),
                    Err(why) => {
                        out.diagnostics.push(
                            Diagnostic::new(
                                Code::E0004,
                                format!("malformed integer literal `{text}`"),
                                span,
                                why,
                            )
                            .with_help(
                                "integer literals are decimal (`42`), hex (`0x2a`), octal (`0o52`) or binary (`0b101010`), up to 18446744073709551615",
                            ),
                        );
                        Tok::BadInt
                    }
                };
                out.tokens.push((tok, span));
            }
            Raw::Str(text) => {
                let value = decode_string(text, span, &mut out.diagnostics);
                out.tokens.push((Tok::Str(value.into()), span));
            }
            Raw::Sym(s) => out.tokens.push((Tok::Sym(s), span)),
            Raw::Doc(text) => out.docs.push(DocLine {
                text: text.strip_prefix(' ').unwrap_or(text).to_string(),
                span,
            }),
            Raw::BlockComment { terminated } => {
                if !terminated {
                    out.diagnostics.push(
                        Diagnostic::new(
                            Code::E0002,
                            "unterminated block comment",
                            Span::new(span.start as usize, span.start as usize + 2),
                            "this comment is never closed",
                        )
                        .with_help("close it with `*/`; block comments do not nest"),
                    );
                }
            }
            Raw::Char(c) => {
                let d = Diagnostic::new(
                    Code::E0003,
                    "KPL has no character literals",
                    span,
                    "a character literal",
                );
                if c.is_ascii() {
                    let value = c as u64;
                    out.diagnostics.push(
                        d.with_note("a byte is an integer; this one is ASCII")
                            .with_fix(
                                format!("write its value `{value}`"),
                                span,
                                value.to_string(),
                            ),
                    );
                    out.tokens.push((Tok::Int(value), span));
                } else {
                    out.diagnostics
                        .push(d.with_help("write the bytes of its UTF-8 encoding"));
                    out.tokens.push((Tok::BadInt, span));
                }
            }
            Raw::Invalid(c) => {
                let mut d = Diagnostic::new(
                    Code::E0003,
                    format!("invalid character `{}` in source", c.escape_default()),
                    span,
                    "not part of KPL's syntax",
                );
                if c == '\'' {
                    d = d.with_help("string literals use double quotes: \"...\"");
                } else if c == '?' {
                    // C's `c ? a : b` (Rust's `?` never reaches a plugin:
                    // KPL has no `Result`).
                    d = d
                        .with_note("KPL has no conditional operator `c ? a : b`")
                        .with_help("write an `if` statement: `if c { x = a; } else { x = b; }`");
                }
                out.diagnostics.push(d);
            }
        }
    }
    out
}

/// Parses the text of an integer literal (with `0x`/`0o`/`0b` prefix and `_`
/// separators). The error is a label explaining what is wrong.
pub fn parse_int(text: &str) -> Result<u64, String> {
    let (radix, digits) = if let Some(d) = text.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = text.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = text.strip_prefix("0b") {
        (2, d)
    } else {
        (10, text)
    };
    let mut value: u64 = 0;
    let mut any_digit = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let Some(d) = c.to_digit(radix) else {
            let base = match radix {
                16 => "hexadecimal",
                8 => "octal",
                2 => "binary",
                _ => "decimal",
            };
            return Err(format!("`{c}` is not a {base} digit"));
        };
        any_digit = true;
        value = value
            .checked_mul(radix as u64)
            .and_then(|v| v.checked_add(d as u64))
            .ok_or_else(|| "does not fit in 64 bits".to_string())?;
    }
    if !any_digit {
        return Err("no digits after the prefix".to_string());
    }
    Ok(value)
}

/// Decodes a string literal's source text (with its quotes), reporting
/// unterminated literals and bad escapes.
fn decode_string(text: &str, span: Span, diags: &mut Vec<Diagnostic>) -> String {
    let terminated = text.len() >= 2 && text.ends_with('"') && !ends_with_escaped_quote(text);
    if !terminated {
        diags.push(
            Diagnostic::new(
                Code::E0002,
                "unterminated string literal",
                Span::new(span.start as usize, span.start as usize + 1),
                "this string is never closed",
            )
            .with_note("a string literal must end with `\"` on the same line"),
        );
    }
    let body = if terminated {
        &text[1..text.len() - 1]
    } else {
        &text[1..]
    };
    let body_start = span.start as usize + 1;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        let decoded = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            '0' => Some('\0'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            'x' => {
                let hex: String = (0..2)
                    .filter_map(|_| {
                        chars
                            .next_if(|(_, h)| h.is_ascii_hexdigit())
                            .map(|(_, h)| h)
                    })
                    .collect();
                if hex.len() == 2 {
                    u8::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|b| b.is_ascii())
                        .map(char::from)
                } else {
                    None
                }
            }
            _ => None,
        };
        match decoded {
            Some(ch) => value.push(ch),
            None => {
                let len = 1 + e.len_utf8();
                diags.push(
                    Diagnostic::new(
                        Code::E0005,
                        format!("invalid escape sequence `\\{}`", e.escape_default()),
                        Span::new(body_start + i, body_start + i + len),
                        "unknown escape",
                    )
                    .with_help(
                        "valid escapes are \\n \\t \\r \\0 \\\\ \\\" and \\xHH (HH at most 7f)",
                    ),
                );
            }
        }
    }
    value
}

fn ends_with_escaped_quote(text: &str) -> bool {
    // `"abc\"` ends with a quote that is escaped: count the backslashes before it.
    let bytes = text.as_bytes();
    let mut n = 0;
    let mut i = bytes.len() - 1;
    while i > 1 && bytes[i - 1] == b'\\' {
        n += 1;
        i -= 1;
    }
    n % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).tokens.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn longest_symbol_wins() {
        assert_eq!(
            toks("a<<=b..c::d"),
            vec![
                Tok::Ident("a".into()),
                Tok::Sym("<<="),
                Tok::Ident("b".into()),
                Tok::Sym(".."),
                Tok::Ident("c".into()),
                Tok::Sym("::"),
                Tok::Ident("d".into())
            ]
        );
    }

    #[test]
    fn integer_forms() {
        assert_eq!(parse_int("0xFF_FF"), Ok(0xffff));
        assert_eq!(parse_int("0b1010"), Ok(10));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_int("18446744073709551616").is_err());
        assert!(parse_int("0b102").is_err());
        assert!(parse_int("0x").is_err());
        assert_eq!(
            toks("0..10"),
            vec![Tok::Int(0), Tok::Sym(".."), Tok::Int(10)]
        );
    }

    #[test]
    fn comments_and_docs() {
        let l = lex("/// doc\n// plain\nfn /* x */ f");
        assert_eq!(l.docs.len(), 1);
        assert_eq!(l.docs[0].text, "doc");
        assert_eq!(l.tokens.len(), 2);
        assert!(l.diagnostics.is_empty());
    }

    #[test]
    fn lexical_errors() {
        let codes = |s: &str| {
            lex(s)
                .diagnostics
                .iter()
                .map(|d| d.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("\"abc"), vec![Code::E0002]);
        assert_eq!(codes("/* abc"), vec![Code::E0002]);
        assert_eq!(codes("a $ b"), vec![Code::E0003]);
        assert_eq!(codes("\"a\\qb\""), vec![Code::E0005]);
        assert_eq!(codes("\"a\\\"b\""), vec![]);
        assert_eq!(codes("\"a\\\""), vec![Code::E0002]);
        assert_eq!(codes("12ab"), vec![Code::E0004]);
        assert_eq!(toks("12ab"), vec![Tok::BadInt]);
    }

    #[test]
    fn leading_byte_order_mark_is_skipped() {
        let l = lex("\u{FEFF}fn f");
        assert!(l.diagnostics.is_empty());
        assert_eq!(l.tokens[0], (Tok::Kw("fn"), Span::new(3, 5)));
        // Anywhere else it is an invalid character.
        assert_eq!(lex("fn \u{FEFF}f").diagnostics[0].code, Code::E0003);
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        assert_eq!(toks("// c\rfn"), vec![Tok::Kw("fn")]);
        assert_eq!(toks("// c\r\nfn"), vec![Tok::Kw("fn")]);
        let l = lex("/// doc\r\nfn");
        assert_eq!(l.docs[0].text, "doc");
        assert_eq!(lex("\"abc\rfn").diagnostics[0].code, Code::E0002);
    }
}
