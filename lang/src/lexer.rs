//! Lexical analysis: source text to tokens.
//!
//! A first pass decides each token by its first character and never fails:
//! anything it cannot classify becomes a raw "invalid" token. A second pass
//! turns raw tokens into [`Tok`]s, decoding literals and reporting lexical
//! errors (E0002–E0005) with precise spans. Comments are dropped from the token stream; `///` doc comments are
//! kept aside so the parser can attach them to items.

use std::rc::Rc;

mod assigned;
mod directive;
mod habits;
pub(crate) use assigned::LaterAssignments;
pub use directive::UNKNOWN_TYPE;

use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::span::Span;

pub const KEYWORDS: &[&str] = &[
    "abort", "as", "break", "const", "continue", "else", "export", "extern", "false", "fn", "for",
    "if", "in", "let", "mut", "return", "static", "struct", "true", "use", "var", "while",
];

/// A token as the parser sees it.
#[derive(Clone, Debug, Eq)]
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

/// The parser compares the next token with every token its alternatives
/// expect, so this is inline and settles the common case, two different
/// kinds of token, on the discriminant alone; a keyword or symbol is a
/// `&'static str` from the lexer's tables, so the same pointer settles most
/// of the rest before the bytes are compared. It is the same relation as the
/// derived one (same variant, equal contents), so `Hash` below, which hashes
/// the variant and its contents as a derived one would, stays consistent
/// with it: equal tokens hash alike.
impl PartialEq for Tok {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        if std::mem::discriminant(self) != std::mem::discriminant(other) {
            return false;
        }
        match (self, other) {
            (Tok::Kw(a), Tok::Kw(b)) | (Tok::Sym(a), Tok::Sym(b)) => std::ptr::eq(*a, *b) || a == b,
            (Tok::Ident(a), Tok::Ident(b)) | (Tok::Str(a), Tok::Str(b)) => a == b,
            (Tok::Int(a), Tok::Int(b)) => a == b,
            (Tok::BadInt, Tok::BadInt) => true,
            _ => false,
        }
    }
}

impl std::hash::Hash for Tok {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Tok::Ident(s) | Tok::Str(s) => s.hash(state),
            Tok::Kw(s) | Tok::Sym(s) => s.hash(state),
            Tok::Int(v) => v.hash(state),
            Tok::BadInt => {}
        }
    }
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
    /// Where the tokens first differ from the text, when a habit rewrote
    /// them (`kernel::log(x)` is read as `(kernel).log(x)` and reported by
    /// the checker, not here): the span of the first token not kept as
    /// written. The formatter refuses such a file, since the syntax tree is
    /// not the text's.
    pub rewritten_at: Option<Span>,
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
    /// Rust's `'name`: a loop label (`'outer:`, with its colon, when
    /// `defines`; or after `break` and `continue`) or a lifetime. Reported,
    /// and read as nothing.
    Label {
        defines: bool,
    },
    /// A line that starts with `#`: C's preprocessor or Rust's attributes.
    Directive(&'src str),
    /// Text between typographic quotes (`“hello”`, pasted from a document):
    /// reported, and read as the string literal it means.
    SmartStr(&'src str),
    /// Python's docstring `"""text"""` where a statement or item starts:
    /// reported, and read as a comment.
    DocString(&'src str),
    /// Python's and JavaScript's `'hello world'`: reported, and read as
    /// the string literal it means (its text, without escapes or `"`).
    SingleStr(&'src str),
    Invalid(char),
}

/// The punctuation and operators, longest first where one is a prefix of
/// another (the lexer takes the longest that matches).
pub(crate) const SYMBOLS: [&str; 44] = [
    "<<=", ">>=", "::", "..", "->", "==", "!=", "<=", ">=", "<<", ">>", "&&", "||", "+=", "-=",
    "*=", "/=", "%=", "&=", "|=", "^=", "(", ")", "{", "}", "[", "]", ",", ";", ":", ".", "=", "<",
    ">", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!",
];

/// The assignment operators among [`SYMBOLS`]: `=` and the compound ones.
pub(crate) const ASSIGNMENT_OPS: [&str; 11] = [
    "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=",
];

/// The index of `sym` in [`SYMBOLS`], found while compiling.
const fn index_of(sym: &str) -> usize {
    let mut i = 0;
    while i < SYMBOLS.len() {
        let (a, b) = (SYMBOLS[i].as_bytes(), sym.as_bytes());
        if a.len() == b.len() {
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a symbol")
}

/// The index of a symbol in [`SYMBOLS`], as a constant.
macro_rules! at {
    ($sym:literal) => {{
        const I: usize = index_of($sym);
        I
    }};
}

/// The index of symbol `sym` in [`SYMBOLS`] (`None` if it is not one).
pub(crate) fn symbol_index(sym: &str) -> Option<usize> {
    symbol(sym.as_bytes()).filter(|&i| SYMBOLS[i].len() == sym.len())
}

/// The symbol at the start of `rest` (its index in [`SYMBOLS`]), longest
/// first: one `match` on the first byte, then at most two more bytes looked
/// at. (Trying each of the 44 symbols in turn was a tenth of a check.)
fn symbol(rest: &[u8]) -> Option<usize> {
    let next = rest.get(1).copied();
    let eq = next == Some(b'=');
    Some(match rest.first()? {
        b'<' if next == Some(b'<') && rest.get(2) == Some(&b'=') => at!("<<="),
        b'>' if next == Some(b'>') && rest.get(2) == Some(&b'=') => at!(">>="),
        b'<' if next == Some(b'<') => at!("<<"),
        b'>' if next == Some(b'>') => at!(">>"),
        b'<' if eq => at!("<="),
        b'>' if eq => at!(">="),
        b'<' => at!("<"),
        b'>' => at!(">"),
        b':' if next == Some(b':') => at!("::"),
        b':' => at!(":"),
        b'.' if next == Some(b'.') => at!(".."),
        b'.' => at!("."),
        b'-' if next == Some(b'>') => at!("->"),
        b'-' if eq => at!("-="),
        b'-' => at!("-"),
        b'=' if eq => at!("=="),
        b'=' => at!("="),
        b'!' if eq => at!("!="),
        b'!' => at!("!"),
        b'&' if next == Some(b'&') => at!("&&"),
        b'&' if eq => at!("&="),
        b'&' => at!("&"),
        b'|' if next == Some(b'|') => at!("||"),
        b'|' if eq => at!("|="),
        b'|' => at!("|"),
        b'+' if eq => at!("+="),
        b'+' => at!("+"),
        b'*' if eq => at!("*="),
        b'*' => at!("*"),
        b'/' if eq => at!("/="),
        b'/' => at!("/"),
        b'%' if eq => at!("%="),
        b'%' => at!("%"),
        b'^' if eq => at!("^="),
        b'^' => at!("^"),
        b'(' => at!("("),
        b')' => at!(")"),
        b'{' => at!("{"),
        b'}' => at!("}"),
        b'[' => at!("["),
        b']' => at!("]"),
        b',' => at!(","),
        b';' => at!(";"),
        b'~' => at!("~"),
        _ => return None,
    })
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where the line holding `from` ends: at `\n`, `\r\n` or a lone `\r`
/// (the offset of that character, or the end of the text).
fn line_end(src: &str, from: usize) -> usize {
    src.as_bytes()[from..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(src.len(), |n| from + n)
}

/// The raw tokens of `src` with their byte spans: one pass, deciding each
/// token by its first character. Never fails: a character that starts no
/// token is [`Raw::Invalid`].
fn raw_tokens(src: &str) -> Vec<(Raw<'_>, Span)> {
    let bytes = src.as_bytes();
    let mut out: Vec<(Raw<'_>, Span)> = Vec::with_capacity(src.len() / 4);
    // A byte-order mark is allowed at the very start (editors on Windows
    // write one) and nowhere else.
    let mut i = if src.starts_with('\u{FEFF}') { 3 } else { 0 };
    // No `"""` closes a docstring after here (see `Raw::DocString`).
    let mut no_triple_quote = false;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let rest = &bytes[i..];
        let raw = match b {
            b'#' if directive::starts_directive(src, i) => {
                i = directive::directive_end(src, i);
                Raw::Directive(&src[start..i])
            }
            b'/' if rest.starts_with(b"///") => {
                i = line_end(src, i);
                Raw::Doc(&src[start + 3..i])
            }
            b'/' if rest.starts_with(b"//") && floor_division(src, out.last(), i) => {
                i += 2;
                Raw::Sym("//")
            }
            b'/' if rest.starts_with(b"//") => {
                i = line_end(src, i);
                continue;
            }
            b'/' if rest.starts_with(b"/*") => {
                let close = src[i + 2..].find("*/");
                i = close.map_or(src.len(), |n| i + 2 + n + 2);
                Raw::BlockComment {
                    terminated: close.is_some(),
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                i += 1 + rest[1..].iter().take_while(|&&b| is_word_byte(b)).count();
                Raw::Word(&src[start..i])
            }
            b if b.is_ascii_digit() => {
                // Any word characters after the digit belong to it; validity
                // is decided afterwards, so that `0b102` or `12ab` is one
                // malformed literal, not two tokens.
                i += 1 + rest[1..].iter().take_while(|&&b| is_word_byte(b)).count();
                Raw::Number(&src[start..i])
            }
            b'"' if rest.starts_with(b"\"\"\"")
                && !no_triple_quote
                && matches!(
                    out.last(),
                    None | Some((Raw::Sym("{" | ";" | "}" | ":"), _))
                ) =>
            {
                // Searched once to the end of the file at most: where none
                // closes, none later does either.
                match src[i + 3..].find("\"\"\"") {
                    Some(n) => {
                        i += 3 + n + 3;
                        Raw::DocString(&src[start..i])
                    }
                    None => {
                        no_triple_quote = true;
                        i += 2;
                        Raw::Str(&src[start..i])
                    }
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        // A `\` escapes any character but a line break.
                        Some(b'\\') => match src[i + 1..].chars().next() {
                            Some(c) if c != '\r' && c != '\n' => i += 1 + c.len_utf8(),
                            _ => break,
                        },
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\r' | b'\n') | None => break,
                        Some(_) => i += src[i..].chars().next().map_or(1, char::len_utf8),
                    }
                }
                Raw::Str(&src[start..i])
            }
            b'\'' => match char_literal(&src[i + 1..]) {
                Some((c, len)) => {
                    i += 1 + len;
                    Raw::Char(c)
                }
                None if rest
                    .get(1)
                    .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
                    && !closes_quote(&rest[1..]) =>
                {
                    i += 1 + rest[1..].iter().take_while(|&&b| is_word_byte(b)).count();
                    // `'outer:` (not `'a::`) defines a label.
                    let blanks = bytes[i..]
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    let defines = bytes.get(i + blanks) == Some(&b':')
                        && bytes.get(i + blanks + 1) != Some(&b':');
                    if defines {
                        i += blanks + 1;
                    }
                    Raw::Label { defines }
                }
                None => match single_quoted(&rest[1..]) {
                    Some(len) => {
                        i += 1 + len + 1;
                        Raw::SingleStr(&src[start + 1..start + 1 + len])
                    }
                    None => {
                        i += 1;
                        Raw::Invalid('\'')
                    }
                },
            },
            _ => {
                if let Some(sym) = symbol(rest) {
                    let sym = SYMBOLS[sym];
                    i += sym.len();
                    Raw::Sym(sym)
                } else {
                    let c = src[i..].chars().next().unwrap_or('\0');
                    i += c.len_utf8();
                    if c.is_whitespace() {
                        continue;
                    }
                    // A bounded look, 200 characters and not past the end of
                    // the line (which is not looked for first: a long line of
                    // opening quotes must stay linear).
                    let closer = matches!(c, '\u{201C}' | '\u{201E}')
                        .then(|| {
                            src[i..]
                                .char_indices()
                                .take(200)
                                .take_while(|(_, ch)| !matches!(ch, '\n' | '\r'))
                                .find(|(_, ch)| matches!(ch, '\u{201D}' | '\u{201C}'))
                                .map(|(n, _)| n)
                        })
                        .flatten();
                    match closer {
                        Some(n) => {
                            i += n + 3;
                            Raw::SmartStr(&src[start..i])
                        }
                        None => Raw::Invalid(c),
                    }
                }
            }
        };
        // A run of one invalid character is one token, and one diagnostic:
        // a file that is not text (a megabyte of NUL bytes) would otherwise
        // give a diagnostic per byte. `?` and `'` are left alone: each has
        // its own advice, which looks at its neighbours.
        if let Raw::Invalid(c) = raw
            && !matches!(c, '?' | '\'')
            && let Some((Raw::Invalid(last), span)) = out.last_mut()
            && *last == c
            && span.end as usize == start
        {
            span.end = i as u32;
            continue;
        }
        out.push((raw, Span::new(start, i)));
    }
    out
}

/// The value of `text` if it is a whole number written with a float's
/// exponent, `1e6` or `25E3`, that fits in a `u64`.
fn exponent_literal(text: &str) -> Option<u64> {
    let (mantissa, exp) = text.split_once(['e', 'E'])?;
    if mantissa.is_empty()
        || !mantissa.bytes().all(|b| b.is_ascii_digit())
        || exp.is_empty()
        || exp.len() > 2
        || !exp.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let m: u64 = mantissa.parse().ok()?;
    m.checked_mul(10u64.checked_pow(exp.parse().ok()?)?)
}

/// Whether the `//` at `at` is Python's floor division (`x // 2;`), not a
/// comment: it follows an operand on its own line (a name, a number, `)`
/// or `]`), and the rest of the line reads as the rest of an expression (it
/// starts with an operand and ends with `;`, `{` or `)`), which a comment
/// after a statement never does: its statement's `;` is before it.
fn floor_division(src: &str, last: Option<&(Raw<'_>, Span)>, at: usize) -> bool {
    let Some((raw, span)) = last else {
        return false;
    };
    let operand = match raw {
        Raw::Word(w) => !matches!(*w, "return" | "else" | "let" | "var" | "in" | "as"),
        Raw::Number(_) => true,
        Raw::Sym(s) => matches!(*s, ")" | "]"),
        _ => false,
    };
    let between = src.get(span.end as usize..at).unwrap_or("\n");
    if !operand || between.contains(['\n', '\r']) {
        return false;
    }
    let end = line_end(src, at);
    let rest = src[at + 2..end].trim();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    // Prose is words in a row (`x // the first (see g)`); code has an
    // operator or a bracket after its first word.
    let after_first = rest.trim_start_matches(word).trim_start();
    let code = rest.starts_with(|c: char| word(c) || c == '(')
        && !after_first.starts_with(word)
        && rest.ends_with([';', '{', ')'])
        && !rest.contains("//");
    // A comment there is valid when the expression goes on on the next
    // line (`x // half\n    / 2;`): only a statement, a `}` or the end of
    // the file may follow a line that ended the statement.
    let next = src[end..].trim_start();
    code && (next.is_empty() || next.starts_with(|c: char| word(c) || c == '}'))
}

/// C's and Rust's `'a'` after its opening quote: the character it means and
/// the length of the rest of the literal (its closing quote included), or
/// `None` if what follows the quote is not a character literal.
fn char_literal(rest: &str) -> Option<(char, usize)> {
    let mut chars = rest.chars();
    let (c, len) = match chars.next()? {
        '\\' => {
            let c = match chars.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                c @ ('\\' | '\'') => c,
                _ => return None,
            };
            (c, 2)
        }
        '\'' | '\r' | '\n' => return None,
        c => (c, c.len_utf8()),
    };
    (chars.next()? == '\'').then_some((c, len + 1))
}

/// A string between the wrong quotes (each `quote_bytes` long) at `span`:
/// one E0003 at the opening quote (its message, label and the fix's help),
/// whose fix writes `"` for both, and the
/// string token of `inner`, its text.
fn misquoted_string(
    span: Span,
    quote_bytes: usize,
    (message, label, help): (&'static str, &'static str, &'static str),
    inner: &str,
    out: &mut Lexed,
) {
    let (open, close) = (
        Span::new(span.start as usize, span.start as usize + quote_bytes),
        Span::new(span.end as usize - quote_bytes, span.end as usize),
    );
    let quote = |span| crate::diag::Suggestion {
        span,
        replacement: "\"".into(),
    };
    out.diagnostics.push(
        Diagnostic::new(Code::E0003, message, open, label).with_fix_edits(
            help,
            crate::diag::Applicability::MachineApplicable,
            vec![quote(open), quote(close)],
        ),
    );
    out.tokens.push((Tok::Str(inner.into()), span));
}

/// The length of the text of a single-quoted string (`'hello world'`)
/// after its opening quote: up to a closing `'` on the same line, within a
/// bounded look, holding no `"` or `\` (which would need rewriting, not
/// just other quotes) and at least two characters (one is a character
/// literal's business).
fn single_quoted(after: &[u8]) -> Option<usize> {
    let len = after
        .iter()
        .take(200)
        .take_while(|&&b| !matches!(b, b'\'' | b'\n' | b'\r' | b'"' | b'\\'))
        .count();
    (after.get(len) == Some(&b'\'') && len >= 2).then_some(len)
}

/// Whether a `'` that closes a single-quoted string (`'hello world'`,
/// Python's and JavaScript's) follows on the line, within a bounded look:
/// one not followed by a letter or `_`, as the next label or lifetime of the
/// line (`<'a, 'b>`) would be.
fn closes_quote(after: &[u8]) -> bool {
    after
        .iter()
        .take(200)
        .take_while(|&&b| b != b'\n' && b != b'\r')
        .enumerate()
        .any(|(k, &b)| {
            b == b'\''
                && !after
                    .get(k + 1)
                    .is_some_and(|&n| n.is_ascii_alphabetic() || n == b'_')
        })
}

/// What removing the lifetime at `span` takes with it: its `<` and `>`
/// when it is the only parameter (`fn f<'a>(` becomes `fn f(`, where
/// `fn f<>(` would read as generics), its `,` and the blanks after when a
/// parameter follows (`<'a, T>`), else the blanks after it
/// (`with_blanks`). Looks at most 64 blanks back.
fn lifetime_removal(src: &str, span: Span, with_blanks: Span) -> Span {
    let bytes = src.as_bytes();
    let start = span.start as usize;
    let blanks_before = bytes
        .get(..start)
        .unwrap_or_default()
        .iter()
        .rev()
        .take(64)
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let open = start.checked_sub(blanks_before + 1);
    let end = with_blanks.end as usize;
    match (open.and_then(|o| bytes.get(o)), bytes.get(end)) {
        (Some(b'<'), Some(b'>')) => Span::new(open.unwrap_or(start), end + 1),
        (_, Some(b',')) => {
            let blanks = bytes
                .get(end + 1..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            Span::new(start, end + 1 + blanks)
        }
        _ => with_blanks,
    }
}

/// Rust's loop label or lifetime at `span`: one diagnostic, and no token,
/// so that the loop, the `break` or the type around it reads as KPL.
fn label(src: &str, span: Span, defines: bool, out: &mut Lexed) {
    // The removal takes the blanks after it too (`'outer: while`).
    let blanks = src[span.end as usize..]
        .bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    let with_blanks = Span::new(span.start as usize, span.end as usize + blanks);
    let jump = match out.tokens.last() {
        Some((Tok::Kw(k @ ("break" | "continue")), at)) => Some((*k, *at)),
        _ => None,
    };
    let d = if defines {
        Diagnostic::new(
            Code::E0001,
            "KPL has no loop labels",
            span,
            "Rust's loop label",
        )
        .with_note("`break` and `continue` act on the innermost loop")
        .with_maybe_fix("remove the label", with_blanks, "")
    } else if let Some((kw, at)) = jump {
        Diagnostic::new(
            Code::E0001,
            "KPL has no loop labels",
            span,
            format!("Rust's labelled `{kw}`"),
        )
        .with_note(format!(
            "`{kw}` acts on the innermost loop; to leave an outer loop, set a `var` flag before \
             `break` and test it after the inner loop"
        ))
        .with_maybe_fix(
            format!("remove the label (then `{kw}` acts on the innermost loop)"),
            Span::new(at.end as usize, span.end as usize),
            "",
        )
    } else {
        Diagnostic::new(Code::E0001, "KPL has no lifetimes", span, "Rust's lifetime")
            .with_note(
                "a slice is valid for the whole call that received it: there is nothing to name",
            )
            .with_fix("remove it", lifetime_removal(src, span, with_blanks), "")
    };
    // `'a` twice in one signature, a label and its `break` on one line: one
    // error per line (as for every other syntax error), whose fix removes
    // them all. Whether the line goes on is asked from the last label
    // merged, not the first: asked from the first, a line of a hundred
    // thousand `'a` was searched again for each (quadratic: 135 GB read for a MiB).
    if let Some(prev) = out.diagnostics.last_mut()
        && prev.code == Code::E0001
        && prev.message == d.message
        && prev.help.len() == 1
        && d.help.len() == 1
        && src
            .get(
                prev.secondary.last().unwrap_or(&prev.primary).span.end as usize
                    ..span.start as usize,
            )
            .is_some_and(|between| !between.contains(['\n', '\r']))
        && prev.help[0]
            .edits
            .last()
            .zip(d.help[0].edits.first())
            .is_some_and(|(a, b)| a.span.end <= b.span.start)
    {
        prev.secondary.push(crate::diag::Label {
            span,
            message: "and here".into(),
        });
        let more = d.help[0].edits.clone();
        prev.help[0].edits.extend(more);
        prev.help[0].applicability = prev.help[0].applicability.max(d.help[0].applicability);
        return;
    }
    out.diagnostics.push(d);
}

/// Lexes a whole file. Never fails: problems become diagnostics, and the
/// offending text is either dropped (invalid characters) or turned into a
/// token that parses as an error node (malformed numbers) so parsing goes on.
pub fn lex(src: &str) -> Lexed {
    let raw = raw_tokens(src);
    let mut out = Lexed {
        tokens: Vec::with_capacity(raw.len()),
        docs: Vec::new(),
        diagnostics: Vec::new(),
        rewritten_at: None,
    };
    // Lexical errors so far, and how many diagnostics there were when they
    // passed the file's budget: what the loop reports after that starts
    // past the place `parser::cut_lexed` cuts the file (that place is at or
    // before the budget's next error, and these come later), so it is not
    // kept. A megabyte of stray control characters was a million
    // diagnostics, 280 MB, all dropped by the cut.
    let mut errors = 0usize;
    let mut muted_from: Option<usize> = None;
    for (raw, span) in raw {
        let before = out.diagnostics.len();
        lex_one(src, raw, span, &mut out);
        match muted_from {
            Some(len) => out.diagnostics.truncate(len),
            None => {
                errors += out.diagnostics[before..]
                    .iter()
                    .filter(|d| d.is_error())
                    .count();
                if errors > crate::parser::FILE_ERROR_BUDGET {
                    muted_from = Some(out.diagnostics.len());
                }
            }
        }
    }
    habits::rewrite(src, &mut out);
    out
}

/// Turns one raw token into tokens, docs and diagnostics.
fn lex_one(src: &str, raw: Raw<'_>, span: Span, out: &mut Lexed) {
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
                Ok(v) => {
                    if let Some(d) = leading_zero(text, v, span) {
                        out.diagnostics.push(d);
                    }
                    Tok::Int(v)
                }
                Err(why) => match literal_suffix(text) {
                    // Rust's typed literal.
                    Some(s) => {
                        typed_literal(out, text, span, &s);
                        return;
                    }
                    None if let Some((value, digits_len)) = c_suffix(text) => {
                        c_suffixed(out, text, span, value, digits_len);
                        return;
                    }
                    // `1e6`: a float's exponent, for a whole number.
                    None if let Some(value) = exponent_literal(text) => {
                        out.diagnostics.push(
                            Diagnostic::new(
                                Code::E0004,
                                format!("KPL has no floating-point numbers: `{text}` is `{value}`"),
                                span,
                                "a float's exponent",
                            )
                            .with_note("all KPL arithmetic is on integers")
                            .with_fix(
                                format!("write `{value}`"),
                                span,
                                value.to_string(),
                            ),
                        );
                        Tok::Int(value)
                    }
                    None => {
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
                },
            };
            out.tokens.push((tok, span));
        }
        Raw::Str(text) => {
            let value = decode_string(text, span, &mut out.diagnostics);
            out.tokens.push((Tok::Str(value.into()), span));
        }
        // Python's `x // 2` (see `floor_division`).
        Raw::Sym("//") => {
            out.diagnostics.push(
                Diagnostic::new(
                    Code::E0001,
                    "KPL has no floor division `//`: `//` starts a comment",
                    span,
                    "Python's floor division",
                )
                .with_note("`/` on integers already rounds toward zero")
                .with_fix("write `/`", span, "/"),
            );
            out.tokens.push((Tok::Sym("/"), span));
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
        Raw::Directive(line) => {
            let rest = &src[span.end as usize..];
            let brk = if rest.starts_with("\r\n") {
                2
            } else {
                usize::from(rest.starts_with(['\n', '\r']))
            };
            let removal = Span::new(span.start as usize, span.end as usize + brk);
            directive::directive(line, span, removal, out);
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
        Raw::Label { defines } => label(src, span, defines, out),
        // Both read as the string they mean, with one error whose fix
        // writes straight double quotes.
        Raw::SingleStr(text) => misquoted_string(
            span,
            1,
            (
                "a string is written in double quotes",
                "a single-quoted string, as in Python or JavaScript",
                "write double quotes `\"`",
            ),
            text,
            out,
        ),
        Raw::DocString(text) => {
            // The fix makes each line of it a comment, indented as the
            // first. Only the blanks before it are looked at (a search back
            // to the line's start cost the whole line per docstring, and a
            // line of them was quadratic).
            let before = &src[..span.start as usize];
            let blanks = before.trim_end_matches([' ', '\t']);
            let indent = &before[blanks.len()..];
            let own_line = blanks.is_empty() || blanks.ends_with('\n');
            let inner = &text[3..text.len() - 3];
            let mut d = Diagnostic::new(
                Code::E0001,
                "KPL has no docstrings",
                span,
                "Python's docstring",
            )
            .with_note("a `///` comment before an item documents it; `//` starts a comment");
            if own_line {
                let lines: Vec<String> = inner
                    .lines()
                    .map(str::trim)
                    .map(|l| {
                        if l.is_empty() {
                            "//".to_string()
                        } else {
                            format!("// {l}")
                        }
                    })
                    .collect();
                let lines = if lines.is_empty() {
                    vec!["//".to_string()]
                } else {
                    lines
                };
                d = d.with_fix(
                    "write it as a comment",
                    span,
                    lines.join(&format!("\n{indent}")),
                );
            }
            out.diagnostics.push(d);
        }
        // Both quotes are three bytes in UTF-8.
        Raw::SmartStr(text) => misquoted_string(
            span,
            3,
            (
                "typographic quotes do not delimit a string",
                "a quotation mark from a word processor",
                "write straight double quotes `\"`",
            ),
            &text[3..text.len() - 3],
            out,
        ),
        Raw::Invalid(c) => {
            let c_text = c.escape_default();
            let message = match (span.end - span.start) as usize / c.len_utf8() {
                1 => format!("invalid character `{c_text}` in source"),
                run => format!("{run} invalid characters `{c_text}` in a row in source"),
            };
            let mut d = Diagnostic::new(Code::E0003, message, span, "not part of KPL's syntax");
            if c == '\'' {
                d = d.with_help("string literals use double quotes: \"...\"");
            } else if c == '?' && rust_try(src, span, out.tokens.last()) {
                d = Diagnostic::new(
                        Code::E0003,
                        "KPL has no `?` operator",
                        span,
                        "Rust's error propagation",
                    )
                    .with_note("KPL has no `Result` or `Option`: a function returns a plain value, and `abort;` stops the plugin")
                    .with_maybe_fix("remove the `?`", span, "");
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

/// Whether the `?` at `span` is Rust's error propagation (`f(x)?;`): right
/// after an operand, and before what may follow one, not before the second
/// operand of C's `c ? a : b`.
fn rust_try(src: &str, span: Span, prev: Option<&(Tok, Span)>) -> bool {
    let after_operand = prev.is_some_and(|(t, s)| {
        s.end == span.start && matches!(t, Tok::Ident(_) | Tok::Sym(")" | "]"))
    });
    let rest = src[span.end as usize..].trim_start_matches([' ', '\t']);
    after_operand && (rest.is_empty() || rest.starts_with([';', ')', ',', '.', '}', '\n', '\r']))
}

/// W0010: C's octal `0755`, which KPL reads as decimal 755. Only where the
/// two readings differ: a literal of octal digits after a leading `0`
/// whose value is 8 or more (`007` is 7 either way).
fn leading_zero(text: &str, value: u64, span: Span) -> Option<Diagnostic> {
    let digits = text.strip_prefix('0')?;
    if !digits.starts_with(|c: char| c.is_ascii_digit())
        || !digits.bytes().all(|b| matches!(b, b'0'..=b'7' | b'_'))
        || value < 8
    {
        return None;
    }
    let decimal = digits.trim_start_matches(['0', '_']);
    Some(
        Diagnostic::new(
            Code::W0010,
            format!("`{text}` is decimal {value} in KPL, not octal as in C"),
            span,
            "leading zero",
        )
        .with_maybe_fix("for octal, write `0o`", span, format!("0o{digits}"))
        .with_maybe_fix(
            "for decimal, drop the leading zero",
            span,
            decimal.to_string(),
        ),
    )
}

/// Rust's typed literal, `0u32` or `255_u8`: the value, the length of the
/// digits (before the suffix and its `_`), the KPL type the suffix names
/// (`usize` and `isize` are `u32` and `i64`, as `suggest::foreign_type` says) and
/// whether the value fits in it (then `value as T` is exact).
struct LiteralSuffix {
    value: u64,
    digits_len: usize,
    ty: &'static str,
    fits: bool,
}

/// Reports Rust's typed literal `text` (at `span`) and reads it as the cast
/// it stands for, `value as T`, so the rest of the file is checked as after
/// the fix.
fn typed_literal(out: &mut Lexed, text: &str, span: Span, s: &LiteralSuffix) {
    let start = span.start as usize;
    let cut = start.saturating_add(s.digits_len);
    let digits = Span::new(start, cut);
    let suffix = Span::new(cut, span.end as usize);
    let text_digits = &text[..s.digits_len];
    let d = Diagnostic::new(
        Code::E0004,
        format!("KPL has no literal suffixes: `{text}`"),
        suffix,
        "Rust's type suffix",
    );
    out.diagnostics.push(if s.fits {
        d.with_fix(
            format!("write `{text_digits} as {}`", s.ty),
            span,
            format!("{text_digits} as {}", s.ty),
        )
    } else {
        d.with_help(format!(
            "`{text_digits}` does not fit in a `{}`: write it without the suffix",
            s.ty
        ))
    });
    out.tokens.push((Tok::Int(s.value), digits));
    out.tokens.push((Tok::Kw("as"), suffix));
    out.tokens.push((Tok::Ident(s.ty.into()), suffix));
}

/// C's integer suffix (`10u`, `5L`, `1000UL`, `7ull`): the value and the
/// length of the digits before the suffix.
fn c_suffix(text: &str) -> Option<(u64, usize)> {
    let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
    let suffix = &text[digits.len()..];
    let lower = suffix.to_ascii_lowercase();
    let known = matches!(
        lower.as_str(),
        "u" | "l" | "ul" | "lu" | "ll" | "ull" | "llu"
    );
    // `lL` is not C's: both `l`s of a `long long` are in the same case.
    if !known || suffix.contains("lL") || suffix.contains("Ll") {
        return None;
    }
    Some((parse_int(digits).ok()?, digits.len()))
}

/// Reports C's suffixed literal `text` (at `span`) and reads it as the
/// number alone.
fn c_suffixed(out: &mut Lexed, text: &str, span: Span, value: u64, digits_len: usize) {
    let start = span.start as usize;
    let cut = start.saturating_add(digits_len);
    let suffix = Span::new(cut, span.end as usize);
    let shown = &text[digits_len..];
    let ty = if shown.contains(['l', 'L']) {
        "u64"
    } else {
        "u32"
    };
    out.diagnostics.push(
        Diagnostic::new(
            Code::E0004,
            format!("C's `{shown}` suffix: KPL integer literals have no suffix"),
            suffix,
            "C's integer suffix",
        )
        .with_note(format!(
            "a literal takes its type from where it is used; where nothing gives one, convert it: `{} as {ty}`",
            &text[..digits_len]
        ))
        .with_fix(format!("remove `{shown}`"), suffix, ""),
    );
    out.tokens.push((Tok::Int(value), Span::new(start, cut)));
}

fn literal_suffix(text: &str) -> Option<LiteralSuffix> {
    const SUFFIXES: [(&str, &str, u64); 10] = [
        ("u8", "u8", 0xFF),
        ("u16", "u16", 0xFFFF),
        ("u32", "u32", 0xFFFF_FFFF),
        ("u64", "u64", u64::MAX),
        ("usize", "u32", 0xFFFF_FFFF),
        ("i8", "i8", 0x7F),
        ("i16", "i16", 0x7FFF),
        ("i32", "i32", 0x7FFF_FFFF),
        ("i64", "i64", 0x7FFF_FFFF_FFFF_FFFF),
        ("isize", "i64", 0x7FFF_FFFF_FFFF_FFFF),
    ];
    SUFFIXES.iter().find_map(|&(suffix, ty, max)| {
        let digits = text.strip_suffix(suffix)?;
        let digits = digits.strip_suffix('_').unwrap_or(digits);
        let value = parse_int(digits).ok()?;
        Some(LiteralSuffix {
            value,
            digits_len: digits.len(),
            ty,
            fits: value <= max,
        })
    })
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

    /// A line of Rust lifetimes is one diagnostic labelling each. Whether
    /// the line went on was once searched from its first label for each
    /// new one: for these 200,000 that was 60 GB of text read.
    #[test]
    fn a_line_of_lifetimes_is_one_diagnostic() {
        let n = 200_000;
        let lexed = lex(&format!("fn f() {{ {}}}\n", "'a ".repeat(n)));
        let [d] = lexed.diagnostics.as_slice() else {
            panic!("{} diagnostics", lexed.diagnostics.len());
        };
        assert_eq!(d.secondary.len(), n - 1);
        assert_eq!(d.help[0].edits.len(), n);
    }

    /// The lifetime's fix, applied: `<'a>` goes whole (`f<>` would be
    /// generics), `'a, ` goes with its comma, `&'a x` keeps one blank.
    #[test]
    fn removing_a_lifetime_leaves_no_empty_brackets() {
        for (src, want) in [
            ("fn f<'a>(x: u32) {}", "fn f(x: u32) {}"),
            ("fn f< 'a >(x: u32) {}", "fn f(x: u32) {}"),
            ("struct S<'a, T> {}", "struct S<T> {}"),
            ("fn f(x: &'a [u8]) {}", "fn f(x: &[u8]) {}"),
        ] {
            let lexed = lex(src);
            let d = lexed
                .diagnostics
                .iter()
                .find(|d| d.message == "KPL has no lifetimes")
                .unwrap_or_else(|| panic!("{src}: no lifetime diagnostic"));
            let e = &d.help[0].edits[0];
            let fixed = format!(
                "{}{}{}",
                &src[..e.span.start as usize],
                e.replacement,
                &src[e.span.end as usize..]
            );
            assert_eq!(fixed, want, "{src}");
        }
    }

    /// Python's one-line blocks on one line without a `;`: each `if`
    /// after an operand may be Python's `a if c else b`, which asks where
    /// its statement ends. Walked for each, that was 200,000 walks of up
    /// to 1.2 million tokens.
    #[test]
    fn a_line_of_python_blocks_lexes() {
        let n = 200_000;
        let lexed = lex(&format!(
            "fn f() {{ {}}}\n",
            "if x > 1: return 1 ".repeat(n)
        ));
        assert!(lexed.tokens.len() > 6 * n);
    }

    /// Constructs whose fix depends on whether they start their line (or
    /// have it to themselves), 100,000 on one line: each once searched
    /// the line for its start and end, 100,000 times 2 MB read.
    #[test]
    fn a_line_of_tuples_or_nested_items_lexes() {
        let n = 100_000;
        for unit in ["let (a, b) = (x, y); ", "const N: u32 = 1; "] {
            let lexed = lex(&format!("fn f() {{\n    {}\n}}\n", unit.repeat(n)));
            assert_eq!(lexed.diagnostics.len(), 1, "{unit}");
        }
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

    /// The longest-match reading of `text` with the symbol table: what
    /// [`symbol`]'s one `match` must agree with.
    fn longest_match(mut text: &str) -> Vec<Tok> {
        let mut out = Vec::new();
        while let Some(s) = SYMBOLS.iter().find(|s| text.starts_with(**s)) {
            out.push(Tok::Sym(s));
            text = &text[s.len()..];
        }
        assert!(text.is_empty(), "{text:?} is not symbols");
        out
    }

    #[test]
    fn symbols_split_by_longest_match() {
        for (i, a) in SYMBOLS.iter().enumerate() {
            assert_eq!(symbol_index(a), Some(i));
            assert_eq!(toks(a), vec![Tok::Sym(a)]);
            for b in SYMBOLS {
                for c in ["", "=", ".", "<", ">"] {
                    let text = format!("{a}{b}{c}");
                    // `//` and `/*` start comments.
                    if !text.contains("//") && !text.contains("/*") {
                        // (Before the habits pass, which reads `<>` as `!=`.)
                        let raw: Vec<Tok> = raw_tokens(&text)
                            .into_iter()
                            .map(|(r, _)| match r {
                                Raw::Sym(s) => Tok::Sym(s),
                                other => panic!("{text:?}: {other:?}"),
                            })
                            .collect();
                        assert_eq!(raw, longest_match(&text), "{text:?}");
                    }
                }
            }
        }
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
        // A run of one invalid character is one diagnostic over the run;
        // a different character, or a gap, starts another.
        let run = lex("a \0\0\0\0 b $$@ \0");
        let spans: Vec<(u32, u32)> = run
            .diagnostics
            .iter()
            .map(|d| (d.primary.span.start, d.primary.span.end))
            .collect();
        assert_eq!(spans, vec![(2, 6), (9, 11), (11, 12), (13, 14)]);
        assert!(
            run.diagnostics[0]
                .message
                .starts_with("4 invalid characters")
        );
        assert!(
            run.diagnostics[3]
                .message
                .starts_with("invalid character `")
        );
        // `?` and `'` keep one diagnostic each: their advice is per character.
        assert_eq!(codes("a ?? b").len(), 2);
        assert_eq!(codes("\"a\\qb\""), vec![Code::E0005]);
        assert_eq!(codes("\"a\\\"b\""), vec![]);
        assert_eq!(codes("\"a\\\""), vec![Code::E0002]);
        assert_eq!(codes("12ab"), vec![Code::E0004]);
        assert_eq!(toks("12ab"), vec![Tok::BadInt]);
    }

    #[test]
    fn c_octal_literals_warn_where_the_readings_differ() {
        let w0010 = |s: &str| {
            let l = lex(s);
            let fixes: Vec<String> = l
                .diagnostics
                .iter()
                .filter(|d| d.code == Code::W0010)
                .flat_map(|d| &d.help)
                .flat_map(|h| h.edits.iter().map(|e| e.replacement.to_string()))
                .collect();
            (l.tokens.len(), fixes)
        };
        assert_eq!(w0010("0755"), (1, vec!["0o755".into(), "755".into()]));
        assert_eq!(w0010("0_10"), (1, vec![]));
        assert_eq!(w0010("010_0"), (1, vec!["0o10_0".into(), "10_0".into()]));
        for quiet in ["0", "00", "007", "0789", "0o755", "0x10", "755", "10"] {
            assert_eq!(w0010(quiet), (1, vec![]), "{quiet}");
        }
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
