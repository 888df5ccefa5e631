//! Rendering diagnostics at the edge: codespan-reporting for terminals (the
//! one human renderer), JSON lines for editors and CI annotators.
//!
//! codespan-reporting was chosen over ariadne: its output has no trailing
//! whitespace (stable snapshots), it takes byte ranges natively, offers an
//! ASCII mode, and its diagnostic type is plain data.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel, LabelStyle};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::WriteColor};
use kpl_lang::{Diagnostic, LineIndex, Severity};
use serde::Serialize;

fn to_codespan(d: &Diagnostic) -> CsDiagnostic<()> {
    let severity = match d.severity {
        Severity::Error => codespan_reporting::diagnostic::Severity::Error,
        Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
    };
    let mut labels = vec![
        CsLabel::new(LabelStyle::Primary, (), d.primary.span.range())
            .with_message(d.primary.message.clone()),
    ];
    labels.extend(d.secondary.iter().map(|l| {
        CsLabel::new(LabelStyle::Secondary, (), l.span.range()).with_message(l.message.clone())
    }));
    CsDiagnostic::new(severity)
        .with_code(d.code.as_str())
        .with_message(d.message.clone())
        .with_labels(labels)
        .with_notes(notes(d))
}

/// The `note: …` and `help: …` lines shown under a diagnostic (terminal and
/// editor alike).
pub fn notes(d: &Diagnostic) -> Vec<String> {
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    for h in &d.help {
        match &h.suggestion {
            Some(s) if !h.message.contains(s.replacement.trim()) => {
                notes.push(format!("help: {} (`{}`)", h.message, s.replacement.trim()))
            }
            _ => notes.push(format!("help: {}", h.message)),
        }
    }
    notes
}

/// Renders one diagnostic as plain text (no colour), e.g. for snapshots.
pub fn render_plain(file_name: &str, src: &str, d: &Diagnostic) -> String {
    let file = SimpleFile::new(file_name, src);
    term::emit_into_string(&term::Config::default(), &file, &to_codespan(d))
        .unwrap_or_else(|e| format!("{}: {} (could not render: {e})\n", d.code, d.message))
}

/// Renders to a terminal writer, with colour if the writer supports it.
pub fn render_to(
    out: &mut dyn WriteColor,
    file_name: &str,
    src: &str,
    d: &Diagnostic,
) -> std::io::Result<()> {
    let file = SimpleFile::new(file_name, src);
    term::emit_to_write_style(out, &term::Config::default(), &file, &to_codespan(d))
        .map_err(std::io::Error::other)
}

#[derive(Serialize)]
struct JsonPos {
    start: u32,
    end: u32,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(Serialize)]
struct JsonLabel {
    primary: bool,
    message: String,
    #[serde(flatten)]
    pos: JsonPos,
}

#[derive(Serialize)]
struct JsonSuggestion {
    start: u32,
    end: u32,
    replacement: String,
}

#[derive(Serialize)]
struct JsonHelp {
    message: String,
    suggestion: Option<JsonSuggestion>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    #[serde(flatten)]
    pos: JsonPos,
    labels: Vec<JsonLabel>,
    notes: &'a [String],
    help: Vec<JsonHelp>,
    rendered: String,
}

fn pos(src: &str, lines: &LineIndex, span: kpl_lang::Span) -> JsonPos {
    let (line, column) = lines.line_col(src, span.start as usize);
    let (end_line, end_column) = lines.line_col(src, span.end as usize);
    JsonPos {
        start: span.start,
        end: span.end,
        line,
        column,
        end_line,
        end_column,
    }
}

/// One JSON object (one line) per diagnostic.
pub fn render_json(file_name: &str, src: &str, lines: &LineIndex, d: &Diagnostic) -> String {
    let mut labels = vec![JsonLabel {
        primary: true,
        message: d.primary.message.clone(),
        pos: pos(src, lines, d.primary.span),
    }];
    labels.extend(d.secondary.iter().map(|l| JsonLabel {
        primary: false,
        message: l.message.clone(),
        pos: pos(src, lines, l.span),
    }));
    let json = JsonDiagnostic {
        file: file_name,
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        code: d.code.as_str(),
        message: &d.message,
        pos: pos(src, lines, d.primary.span),
        labels,
        notes: &d.notes,
        help: d
            .help
            .iter()
            .map(|h| JsonHelp {
                message: h.message.clone(),
                suggestion: h.suggestion.as_ref().map(|s| JsonSuggestion {
                    start: s.span.start,
                    end: s.span.end,
                    replacement: s.replacement.clone(),
                }),
            })
            .collect(),
        rendered: render_plain(file_name, src, d),
    };
    serde_json::to_string(&json).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
