//! KPL front end: source text → syntax tree → checked program, with every
//! problem reported as a [`diag::Diagnostic`] carrying a stable code and spans.
//!
//! Stages, each owning its types: [`lexer`] → [`parser`] (→ [`ast`]) →
//! [`check`] (name resolution, types, constants, control flow, call graph and
//! limits). [`imports`] loads the kernel import table from `std-imports/`.
//! Nothing here generates code.

use std::collections::HashSet;

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
    let (file, diags, _) = parse_source_tokens(src);
    (file, diags)
}

/// [`parse_source`], also returning the span of every token (comments and
/// whitespace are not tokens), in order.
pub fn parse_source_tokens(src: &str) -> (ast::File, Vec<Diagnostic>, Vec<Span>) {
    let lexed = lexer::lex(src);
    let (file, syntax) = parser::parse(src, &lexed.tokens, &lexed.docs);
    let lines = LineIndex::new(src);
    let mut diags = lexed.diagnostics;
    let mut broken_lines: HashSet<usize> = diags
        .iter()
        .map(|d| lines.line_of(d.primary.span.start as usize))
        .collect();
    let mut syntax = syntax;
    diag::sort(&mut syntax);
    for d in syntax {
        if broken_lines.insert(lines.line_of(d.primary.span.start as usize)) {
            diags.push(d);
        }
    }
    diag::sort(&mut diags);
    let tokens = lexed.tokens.iter().map(|(_, s)| *s).collect();
    (file, diags, tokens)
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
    let (file, mut diagnostics) = parse_source(src);
    let checked = check::check(&file, imports);
    // A line with a syntax error was parsed by guesswork: semantic complaints
    // about it would be about the guess, not the code.
    let lines = LineIndex::new(src);
    let broken: HashSet<usize> = diagnostics
        .iter()
        .map(|d| lines.line_of(d.primary.span.start as usize))
        .collect();
    diagnostics.extend(
        checked
            .diagnostics
            .into_iter()
            .filter(|d| !broken.contains(&lines.line_of(d.primary.span.start as usize))),
    );
    diag::sort(&mut diagnostics);
    Analysis {
        file,
        program: checked.program,
        diagnostics,
    }
}
