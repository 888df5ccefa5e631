//! KPL front end: source text → syntax tree → checked program, with every
//! problem reported as a [`diag::Diagnostic`] carrying a stable code and spans.
//!
//! Stages, each owning its types: [`lexer`] → [`parser`] (→ [`ast`]) →
//! [`check`] (name resolution, types, constants, control flow, call graph and
//! limits). [`imports`] loads the kernel import table from `std-imports/`.
//! Nothing here generates code.

pub mod ast;
pub mod check;
pub mod codes;
pub mod consteval;
pub mod delims;
pub mod diag;
pub mod format;
pub mod imports;
pub mod lexer;
pub mod parser;
pub mod span;
pub mod suggest;
pub mod types;
mod use_fix;

pub use use_fix::place_missing_uses;

/// The largest source file the tools read (16 MiB): `kplc` refuses a
/// longer file and the language server does not check a longer document.
/// The front end itself is linear in its input and would take any size up
/// to its `u32` spans; this keeps every run short.
pub const MAX_SOURCE_BYTES: usize = 16 << 20;

pub use codes::Code;
pub use diag::{Diagnostic, Severity};
pub use span::{LineIndex, Span};

/// Lexes and parses one source file. Lexical and syntax errors are returned
/// together, sorted, with follow-on syntax errors on an already-broken line
/// dropped so that each mistake is reported once.
pub fn parse_source(src: &str) -> (ast::File, Vec<Diagnostic>) {
    let parsed = parse_source_tokens(src);
    (parsed.file, parsed.diagnostics)
}

/// What [`parse_source_tokens`] gives.
pub struct SourceParse {
    pub file: ast::File,
    /// Lexical and syntax errors, as [`parse_source`] gives them.
    pub diagnostics: Vec<Diagnostic>,
    /// The span of every token (comments and whitespace are not tokens),
    /// in source order.
    pub tokens: Vec<Span>,
    /// The errors the file's error budget counted ([`FILE_ERROR_BUDGET`]):
    /// at least that many where the file was cut short (E0008). The same
    /// for a run of whole items parsed alone as inside the file, so parts
    /// parsed apart whose counts add up to less were not cut anywhere.
    pub errors_counted: usize,
    /// Where a habit made the tokens differ from the text, when one did
    /// ([`lexer::Lexed::rewritten_at`]).
    pub rewritten_at: Option<Span>,
}

pub use parser::{FILE_ERROR_BUDGET, ITEM_ERROR_BUDGET};

/// [`parse_source`], also returning the tokens and the errors counted.
pub fn parse_source_tokens(src: &str) -> SourceParse {
    let mut lexed = lexer::lex(src);
    let rewritten_at = lexed.rewritten_at;
    let lexer_cut = parser::cut_lexed(&mut lexed);
    let (file, mut syntax, errors_counted) =
        parser::parse(src, &lexed.tokens, &lexed.docs, &lexed.diagnostics);
    // (`errors_counted` includes every lexical error read: see
    // `parser::cut_lexed` for why the database's chunks then agree.)
    if let Some((cut, read_to)) = lexer_cut
        && !syntax.iter().any(|d| d.code == Code::E0008)
    {
        syntax.retain(|d| d.primary.span.start < read_to);
        syntax.push(parser::lexer_cut(cut));
    }
    // A block comment never closed runs to the end of the file: the `}` it
    // swallowed is not also reported unclosed, nor anything after it.
    if let Some(at) = unterminated_comment(&lexed.diagnostics) {
        syntax.retain(|d| d.primary.span.start < at && !d.message.starts_with("unclosed `"));
    }
    let lines = LineIndex::new(src);
    let mut diags = lexed.diagnostics;
    // Nothing is reported in the part of a file cut short (E0008).
    if let Some(cut) = syntax.iter().find(|d| d.code == Code::E0008) {
        let at = cut.primary.span.start;
        diags.retain(|d| d.primary.span.start < at);
    }
    // Indexed by line: whether an error on it was kept already.
    let mut broken_lines = vec![false; lines.len()];
    let mut break_line = |d: &Diagnostic| {
        let line = lines.line_of(d.primary.span.start as usize);
        // (`line_of` is always a line of the text; were it not, the
        // diagnostic would be kept.)
        broken_lines
            .get_mut(line)
            .is_none_or(|broken| !std::mem::replace(broken, true))
    };
    // Only an error breaks a line: a warning of the lexer's (W0010 on
    // `0755`) once hid the syntax errors after it on its line, and the
    // broken statement compiled, as if it were not there.
    for d in diags.iter().filter(|d| d.is_error()) {
        break_line(d);
    }
    diag::sort(&mut syntax);
    diags.reserve(syntax.len());
    for d in syntax {
        // Where an item was cut short is said even on a broken line, and
        // leaves the line to the error read last before the cut.
        if matches!(d.code, Code::E0007 | Code::E0008) || break_line(&d) {
            diags.push(d);
        }
    }
    diag::sort(&mut diags);
    // In source order: the lexer moves a nested item's tokens after the
    // function holding it, and whoever maps positions to tokens (the
    // editor's database, the formatter) searches these spans by position.
    let mut tokens: Vec<Span> = lexed.tokens.iter().map(|(_, s)| *s).collect();
    if !tokens.is_sorted_by_key(|s| (s.start, s.end)) {
        tokens.sort_by_key(|s| (s.start, s.end));
    }
    SourceParse {
        file,
        diagnostics: diags,
        tokens,
        errors_counted,
        rewritten_at,
    }
}

/// The result of checking one plugin source: the tree, the checked program
/// and every diagnostic (syntax and semantic), sorted by position.
pub struct Analysis {
    pub file: ast::File,
    pub program: check::Program,
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks a plugin.
pub fn analyze(src: &str, imports: &imports::ImportTable) -> Analysis {
    let (file, syntax) = parse_source(src);
    let checked = check::check(&file, imports);
    let mut diagnostics = combine(src, &file, syntax, checked.diagnostics);
    place_missing_uses(src, &mut diagnostics);
    Analysis {
        file,
        program: checked.program,
        diagnostics,
    }
}

/// Joins the lexical and syntax diagnostics of `src` with the semantic ones
/// of its (recovered) tree, dropping every semantic diagnostic that may be a
/// consequence of the broken parts, and sorts the result (see "One mistake,
/// one diagnostic" in the book's diagnostics chapter):
///
/// - anything whose primary span starts on a line with a lexical or syntax
///   error: that line was parsed by guesswork; and anything whose fix edits
///   such a line (it blames the guess: `let a, b = 1, 2;` then a use of
///   `a` as a `u64`, "give `a` the type `u64`");
/// - in a function with a syntax error anywhere in it, the diagnostics that
///   the broken part could have prevented: unused or never-assigned locals
///   (W0001, W0006: their use or assignment may sit in the broken part),
///   unreachable code (W0002) and a missing return (E0400: the `return` may
///   be the broken statement), and unused values (W0005);
/// - with a syntax error anywhere in the file, the file-wide lints that any
///   broken part could have prevented: unused items and imports (W0003,
///   W0004) and a plugin without exports (W0007);
/// - an unknown name (E0100, E0102) written on a broken line anywhere: that
///   line may be its declaration; and in a broken function, an error about a
///   value (see `about_a_value`) whose expression starts with such a name;
/// - in a file cut short by its error budget (E0008), every one: the names
///   declared in the unread part are unknown.
pub fn combine(
    src: &str,
    file: &ast::File,
    syntax: Vec<Diagnostic>,
    semantic: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let fns: Vec<Span> = file
        .items
        .iter()
        .filter(|i| matches!(i.kind, ast::ItemKind::Fn(_)))
        .map(|i| i.span)
        .collect();
    combine_fns(src, &fns, syntax, semantic)
}

/// [`combine`] given the spans of the file's functions in source order
/// (all it reads of the tree).
pub fn combine_fns(
    src: &str,
    fns: &[Span],
    mut syntax: Vec<Diagnostic>,
    mut semantic: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    if syntax.is_empty() {
        // Nothing is broken: every semantic diagnostic stays (and the line
        // index of the whole text is not needed).
        diag::sort(&mut semantic);
        return semantic;
    }
    let broken = BrokenParts::new(src, fns, &syntax);
    syntax.extend(
        semantic
            .into_iter()
            .filter(|d| broken.keeps_diagnostic(src, d, |s| s)),
    );
    diag::sort(&mut syntax);
    syntax
}

/// Where a file's lexical and syntax errors are, to decide which semantic
/// diagnostics [`combine`] keeps. Asked per diagnostic before it is built
/// into the result, so that a caller holding them elsewhere (the compiler's
/// database) copies only those kept: on a file dense with syntax errors,
/// nearly every semantic diagnostic is dropped.
pub struct BrokenParts {
    lines: LineIndex,
    /// Indexed by line: whether a lexical or syntax error starts on it.
    broken_lines: Vec<bool>,
    /// Spans of the functions with a syntax error, in source order.
    broken_fns: Vec<Span>,
    any_syntax: bool,
    /// The file was cut short (E0008): the names its unread part declares
    /// are unknown, so no semantic diagnostic can be trusted.
    cut: bool,
    /// Every name written on a broken line: such a line may be the
    /// declaration its error kept from being read (`ststic n: u32 = 0;`,
    /// `use kernel:{log};`), so that a name it mentions is not reported
    /// unknown elsewhere (E0100, E0102).
    broken_names: std::collections::HashSet<String>,
    /// The same names by length (then text): where a name garbled by the
    /// broken line is looked for (see [`BrokenParts::garbled_there`]).
    broken_by_len: Vec<(usize, String)>,
}

/// Whether `code` is an error about a value's type or use (field, call,
/// operator, conversion, assignment, returned value): what a guessed type
/// of a name causes, unlike a name declared twice or a static rule.
fn about_a_value(code: Code) -> bool {
    matches!(
        code,
        Code::E0105
            | Code::E0108
            | Code::E0109
            | Code::E0200
            | Code::E0201
            | Code::E0202
            | Code::E0203
            | Code::E0204
            | Code::E0205
            | Code::E0206
            | Code::E0208
            | Code::E0300
            | Code::E0301
            | Code::E0302
            | Code::E0303
            | Code::E0304
            | Code::E0402
            | Code::E0403
    )
}

/// Where a block comment that is never closed starts, if `diags` (lexical
/// ones among them) report one: it runs to the end of the file.
fn unterminated_comment(diags: &[Diagnostic]) -> Option<u32> {
    diags
        .iter()
        .find(|d| d.code == Code::E0002 && d.message == "unterminated block comment")
        .map(|d| d.primary.span.start)
}

/// Where the expression starts of which the name at `at` is a field
/// (`data.len`, `p.a.b`, `xs[i].len`), if it is one: the start of the name
/// the chain of fields and indexes begins with.
fn chain_head(src: &str, at: u32) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = (at as usize).min(bytes.len());
    let mut head = None;
    // Bounded: a chain is read back at most this many bytes.
    let stop = i.saturating_sub(256);
    loop {
        let mut j = i;
        while j > stop && bytes[j - 1].is_ascii_whitespace() {
            j -= 1;
        }
        if j == stop || bytes[j - 1] != b'.' || (j >= 2 && bytes[j - 2] == b'.') {
            return head;
        }
        j -= 1;
        while j > stop && bytes[j - 1].is_ascii_whitespace() {
            j -= 1;
        }
        // Index groups after the name: `xs[i][j].len`.
        while j > stop && bytes[j - 1] == b']' {
            let mut depth = 0usize;
            while j > stop {
                j -= 1;
                match bytes[j] {
                    b']' => depth += 1,
                    b'[' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if depth != 0 {
                return head;
            }
        }
        let end = j;
        while j > stop && (bytes[j - 1].is_ascii_alphanumeric() || bytes[j - 1] == b'_') {
            j -= 1;
        }
        if j == end || bytes[j].is_ascii_digit() {
            return head;
        }
        head = Some(j);
        i = j;
    }
}

/// The text of `span` in `src` (empty if it is not a span of `src`).
fn span_text(src: &str, span: Span) -> &str {
    src.get(span.range()).unwrap_or_default()
}

impl BrokenParts {
    /// `fns` are the spans of the file's functions in source order.
    pub fn new(src: &str, fns: &[Span], syntax: &[Diagnostic]) -> BrokenParts {
        let lines = LineIndex::new(src);
        let mut broken_lines = vec![false; lines.len()];
        let mut starts: Vec<u32> = Vec::with_capacity(syntax.len());
        for d in syntax {
            let at = d.primary.span.start;
            if let Some(line) = broken_lines.get_mut(lines.line_of(at as usize)) {
                *line = true;
            }
            starts.push(at);
        }
        starts.sort_unstable();
        // A block comment never closed ends the function it starts in,
        // whose span then stops short of it.
        let cut_fn = unterminated_comment(syntax)
            .and_then(|at| fns.iter().rev().find(|s| s.start < at).copied());
        let broken_fns: Vec<Span> = fns
            .iter()
            .copied()
            .filter(|s| {
                let first = starts.partition_point(|&at| at < s.start);
                starts.get(first).is_some_and(|&at| at <= s.end) || Some(*s) == cut_fn
            })
            .collect();
        let mut broken_names = std::collections::HashSet::new();
        for (i, _) in broken_lines.iter().enumerate().filter(|(_, b)| **b) {
            let text = src.get(lines.line_range(src, i)).unwrap_or_default();
            let mut rest = text;
            while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
                let word = &rest[start..];
                let len = word
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(word.len());
                // A digit run's tail (`0x1F`, `10u`) is not a name.
                let after_digit = rest[..start].ends_with(|c: char| c.is_ascii_digit());
                if !after_digit {
                    broken_names.insert(word[..len].to_string());
                }
                rest = &word[len..];
            }
        }
        let mut broken_by_len: Vec<(usize, String)> =
            broken_names.iter().map(|n| (n.len(), n.clone())).collect();
        broken_by_len.sort_unstable();
        BrokenParts {
            lines,
            broken_lines,
            broken_fns,
            any_syntax: !syntax.is_empty(),
            cut: syntax.iter().any(|d| d.code == Code::E0008),
            broken_names,
            broken_by_len,
        }
    }

    /// Whether a semantic diagnostic with `code` whose primary span starts
    /// at text offset `at` and covers `text` is kept (the rules are
    /// [`combine`]'s).
    fn keeps(&self, code: Code, at: u32, text: &str) -> bool {
        let line = self.lines.line_of(at as usize);
        if self.cut || self.broken_lines.get(line).copied().unwrap_or(false) {
            return false;
        }
        match code {
            Code::W0003 | Code::W0004 | Code::W0007 => !self.any_syntax,
            Code::E0100 | Code::E0102 => {
                !self.broken_names.contains(text) && !self.garbled_there(text)
            }
            // In the broken function, a type error about an expression that
            // starts with a name the broken line wrote (`data.len` after
            // `data: ]u8`): the error's recovery guessed that name's type.
            _ if about_a_value(code) && self.in_broken_fn(at) => {
                let name = text
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default();
                name.is_empty() || !self.broken_names.contains(name)
            }
            Code::W0001 | Code::W0002 | Code::W0005 | Code::W0006 | Code::E0400 => {
                !self.in_broken_fn(at)
            }
            _ => true,
        }
    }

    /// Whether semantic diagnostic `d` is kept: by the rules of `keeps` for
    /// its code and primary span, and only if no fix of it edits a broken
    /// line. `to_text` maps its spans to text
    /// offsets in `src` (the identity for a tree in text coordinates; the
    /// database's diagnostics are in virtual ones).
    pub fn keeps_diagnostic(
        &self,
        src: &str,
        d: &Diagnostic,
        to_text: impl Fn(Span) -> Span,
    ) -> bool {
        let primary = to_text(d.primary.span);
        let text = match chain_head(src, primary.start) {
            // `data.len`, `p.x.y`, `buf[i].len`: the error is about the
            // field, the expression starts with the name before it.
            Some(head) if about_a_value(d.code) => {
                span_text(src, Span::new(head, primary.end as usize))
            }
            _ => span_text(src, primary),
        };
        self.keeps(d.code, primary.start, text)
            && !self.edits_broken_line(
                d.help
                    .iter()
                    .flat_map(|h| &h.edits)
                    .map(|e| to_text(e.span).start),
            )
    }

    /// Whether a semantic diagnostic's fix edits a line with a lexical or
    /// syntax error: it blames what that error's recovery guessed (the
    /// type of a name a broken declaration declared, `let a, b = 1, 2;`),
    /// so it is a consequence of that error.
    /// `edits` are where its fix's edits start.
    fn edits_broken_line(&self, edits: impl IntoIterator<Item = u32>) -> bool {
        edits.into_iter().any(|at| {
            let line = self.lines.line_of(at as usize);
            self.broken_lines.get(line).copied().unwrap_or(false)
        })
    }

    /// Whether a broken line writes `name` garbled, as its error left it:
    /// run together with the token after or before it (`static traceu32
    /// : = 0;`, `fn markd(: u32)`) or one edit away. That line is then
    /// likely the declaration of `name`, which its error kept from being
    /// read. Names shorter than 3 bytes are not looked for (too many
    /// words contain them), and at most a bounded number of the broken
    /// lines' names are compared.
    fn garbled_there(&self, name: &str) -> bool {
        const MAX_COMPARED: usize = 256;
        const LONGER: usize = 8;
        let n = name.len();
        if n < 3 {
            return false;
        }
        let from = self.broken_by_len.partition_point(|(l, _)| *l + 1 < n);
        self.broken_by_len[from..]
            .iter()
            .take_while(|(l, _)| *l <= n + LONGER)
            .take(MAX_COMPARED)
            .any(|(l, b)| {
                (*l > n && (b.starts_with(name) || b.ends_with(name)))
                    || (n >= 4 && suggest::distance_within(name, b, 1).is_some())
            })
    }

    fn in_broken_fn(&self, at: u32) -> bool {
        let next = self.broken_fns.partition_point(|s| s.end < at);
        self.broken_fns.get(next).is_some_and(|s| s.start <= at)
    }
}
