//! Rendering diagnostics at the edge: codespan-reporting for terminals (the
//! one human renderer), JSON lines for editors and CI annotators.
//!
//! codespan-reporting was chosen over ariadne: its output has no trailing
//! whitespace (stable snapshots), it takes byte ranges natively, offers an
//! ASCII mode, and its diagnostic type is plain data.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel, LabelStyle};
use codespan_reporting::files::{self, Files};
use codespan_reporting::term::{self, termcolor::WriteColor};
use kpl_lang::{Diagnostic, LineIndex, Severity};
use serde::Serialize;

/// Lines longer than this many bytes are shown as windows around the
/// labels, so that a diagnostic on a one-megabyte line prints a few hundred
/// bytes, not the megabyte.
const LONG_LINE: usize = 400;
/// Bytes shown on each side of a label's ends in a long line.
const CONTEXT: usize = 80;
const ELLIPSIS: &str = "...";

/// One source line as shown: pieces of the real line, joined by `...`.
struct ExcerptLine {
    /// 0-based line in the real source.
    real: usize,
    /// Byte range in [`Excerpt::text`] (including the `\n` after it).
    range: Range<usize>,
    /// (byte range in the source, where it starts in the excerpt).
    pieces: Vec<(Range<usize>, usize)>,
}

/// What codespan-reporting sees of the source for one diagnostic: only the
/// lines its labels touch (every line in between for a label spanning lines,
/// and the one after, which codespan may show between two labels), long
/// lines cut to windows. Line and column numbers stay the real ones. The
/// cost of rendering a diagnostic is therefore independent of the size of
/// the file and of the length of its lines, and a file whose lines end in a
/// lone `\r` is shown line by line like any other.
struct Excerpt<'a> {
    name: &'a str,
    src: &'a str,
    index: &'a LineIndex,
    text: String,
    lines: Vec<ExcerptLine>,
}

impl<'a> Excerpt<'a> {
    fn new(name: &'a str, src: &'a str, index: &'a LineIndex, d: &Diagnostic) -> Excerpt<'a> {
        let spans: Vec<Range<usize>> = std::iter::once(&d.primary)
            .chain(&d.secondary)
            .map(|l| {
                let a = floor_char_boundary(src, l.span.start as usize);
                let b = floor_char_boundary(src, l.span.end as usize);
                a..b.max(a)
            })
            .collect();
        let mut wanted: Vec<usize> = Vec::new();
        for r in &spans {
            let (first, last) = (index.line_of(r.start), index.line_of(r.end));
            wanted.extend(first..=(last + 1).min(index.len() - 1));
        }
        wanted.sort_unstable();
        wanted.dedup();
        // Every label's ends, sorted, so that each line finds its own with a
        // binary search: a diagnostic may have a label on each of thousands
        // of lines (a long call cycle), and looking at every label for every
        // line made rendering it quadratic.
        let mut ends: Vec<usize> = spans.iter().flat_map(|r| [r.start, r.end]).collect();
        ends.sort_unstable();
        let mut excerpt = Excerpt {
            name,
            src,
            index,
            text: String::new(),
            lines: Vec::with_capacity(wanted.len()),
        };
        for line in wanted {
            let content = index.line_range(src, line);
            let windows = if content.len() <= LONG_LINE {
                vec![content.clone()]
            } else {
                // The label ends on this line (its end included), sorted.
                let first = ends.partition_point(|&p| p < content.start);
                let last = ends.partition_point(|&p| p <= content.end);
                let mut points = ends[first..last].to_vec();
                if points.is_empty() {
                    points.push(content.start);
                }
                let mut windows: Vec<Range<usize>> = Vec::new();
                for p in points {
                    let a = floor_char_boundary(src, p.saturating_sub(CONTEXT).max(content.start));
                    let b = ceil_char_boundary(src, (p + CONTEXT).min(content.end));
                    match windows.last_mut() {
                        Some(w) if a <= w.end + ELLIPSIS.len() => w.end = w.end.max(b),
                        _ => windows.push(a..b),
                    }
                }
                windows
            };
            let start = excerpt.text.len();
            let mut pieces = Vec::with_capacity(windows.len());
            for (i, w) in windows.iter().enumerate() {
                if i > 0 || w.start > content.start {
                    excerpt.text.push_str(ELLIPSIS);
                }
                pieces.push((w.clone(), excerpt.text.len()));
                push_visible(&mut excerpt.text, &src[w.clone()]);
            }
            if windows.last().is_some_and(|w| w.end < content.end) {
                excerpt.text.push_str(ELLIPSIS);
            }
            excerpt.text.push('\n');
            excerpt.lines.push(ExcerptLine {
                real: line,
                range: start..excerpt.text.len(),
                pieces,
            });
        }
        excerpt
    }

    fn line(&self, real: usize) -> Option<&ExcerptLine> {
        self.lines
            .binary_search_by_key(&real, |l| l.real)
            .ok()
            .map(|i| &self.lines[i])
    }

    /// Where byte `offset` of the source is in the excerpt.
    fn to_excerpt(&self, offset: usize) -> usize {
        let Some(line) = self.line(self.index.line_of(offset)) else {
            return 0;
        };
        let mut at = line.range.start;
        for (real, start) in &line.pieces {
            if offset < real.start {
                break;
            }
            at = start + (offset.min(real.end) - real.start);
        }
        at
    }

    /// Where byte `at` of the excerpt is in the source.
    fn to_source(&self, line: &ExcerptLine, at: usize) -> usize {
        let mut offset = self.index.line_start(line.real);
        for (real, start) in &line.pieces {
            if at < *start {
                break;
            }
            offset = real.start + (at - start).min(real.len());
        }
        offset
    }

    /// What codespan-reporting writes for `d` (with the default
    /// configuration, without colour), written here directly when `d` has
    /// the most common shapes: every label on one line of its own, every
    /// line shown of printable ASCII. Codespan writes its output a char at
    /// a time through the formatting machinery, which made that most of the
    /// cost of a file with a hundred thousand diagnostics; this writes the
    /// same bytes a piece at a time (`tests::direct_layout_is_codespans`
    /// compares the two). `None` for any other shape.
    fn render_simple(&self, d: &Diagnostic) -> Option<String> {
        // (line index, label range in the line, primary, message), in the
        // order codespan shows them: by line.
        let mut labels: Vec<(usize, Range<usize>, bool, &str)> =
            Vec::with_capacity(1 + d.secondary.len());
        let primary = std::iter::once((&d.primary, true));
        for (label, is_primary) in primary.chain(d.secondary.iter().map(|l| (l, false))) {
            let a = self.to_excerpt(floor_char_boundary(self.src, label.span.start as usize));
            let b = self.to_excerpt(floor_char_boundary(self.src, label.span.end as usize));
            let range = a..b.max(a);
            let line_index = self.line_index((), range.start).ok()?;
            if self.line_index((), range.end).ok()? != line_index {
                return None;
            }
            let line_range = self.line_range((), line_index).ok()?;
            let start = range.start - line_range.start;
            let end = (range.end - line_range.start).max(start + 1);
            labels.push((line_index, start..end, is_primary, &label.message));
        }
        let header = {
            let (line_index, range, _, _) = &labels[0];
            let line_start = self.line_range((), *line_index).ok()?.start;
            let column = self
                .column_number((), *line_index, line_start + range.start)
                .ok()?;
            (line_index + 1, column)
        };
        labels.sort_by_key(|l| l.0);
        // Two labels on one line hang their messages: codespan's layout.
        if labels.windows(2).any(|w| w[0].0 == w[1].0) {
            return None;
        }
        let width = |n: usize| n.ilog10() as usize + 1;
        let padding = width(labels.last()?.0 + 1);
        let line_text = |line_index: usize| -> Option<&str> {
            let range = self.line_range((), line_index).ok()?;
            let source = self.text[range].trim_end_matches(['\n', '\r', '\0']);
            source
                .bytes()
                .all(|c| (b' '..=b'~').contains(&c))
                .then_some(source)
        };
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let code = d.code.as_str();
        let mut out = String::with_capacity(256 * labels.len() + 256);
        let gutter = |out: &mut String, number: Option<usize>| {
            let digits = number.map_or(0, width);
            for _ in digits..padding {
                out.push(' ');
            }
            if let Some(n) = number {
                push_number(out, n);
            }
        };
        out.push_str(severity);
        if !code.is_empty() {
            out.push('[');
            out.push_str(code);
            out.push(']');
        }
        out.push_str(": ");
        out.push_str(&d.message);
        out.push('\n');
        gutter(&mut out, None);
        out.push_str(" ┌─ ");
        out.push_str(self.name);
        out.push(':');
        push_number(&mut out, header.0);
        out.push(':');
        push_number(&mut out, header.1);
        out.push('\n');
        gutter(&mut out, None);
        out.push_str(" │\n");
        for (k, (line_index, range, is_primary, message)) in labels.iter().enumerate() {
            let source = line_text(*line_index)?;
            gutter(&mut out, Some(line_index + 1));
            out.push_str(" │ ");
            out.push_str(source);
            out.push('\n');
            gutter(&mut out, None);
            out.push_str(" │ ");
            // One column per byte of the line and one past its end: a space
            // before the label, a caret under it.
            let caret = if *is_primary { '^' } else { '-' };
            for i in 0..(source.len() + 1).min(range.end) {
                out.push(if i >= range.start { caret } else { ' ' });
            }
            if !message.is_empty() {
                out.push(' ');
                out.push_str(message);
            }
            out.push('\n');
            if let Some((next, ..)) = labels.get(k + 1) {
                match next - line_index {
                    1 => {}
                    2 => {
                        let between = line_text(line_index + 1)?;
                        gutter(&mut out, Some(line_index + 2));
                        out.push_str(" │ ");
                        out.push_str(between);
                        out.push('\n');
                    }
                    _ => {
                        gutter(&mut out, None);
                        out.push_str(" ·\n");
                    }
                }
            }
        }
        let notes = notes(d, self.src);
        if !notes.is_empty() {
            gutter(&mut out, None);
            out.push_str(" │\n");
        }
        for note in &notes {
            for (k, line) in note.lines().enumerate() {
                gutter(&mut out, None);
                out.push_str(if k == 0 { " = " } else { "   " });
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
        Some(out)
    }

    fn to_codespan(&self, d: &Diagnostic) -> CsDiagnostic<()> {
        let severity = match d.severity {
            Severity::Error => codespan_reporting::diagnostic::Severity::Error,
            Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
        };
        let range = |span: kpl_lang::Span| {
            let a = self.to_excerpt(floor_char_boundary(self.src, span.start as usize));
            let b = self.to_excerpt(floor_char_boundary(self.src, span.end as usize));
            a..b.max(a)
        };
        let mut labels = vec![
            CsLabel::new(LabelStyle::Primary, (), range(d.primary.span))
                .with_message(d.primary.message.clone()),
        ];
        labels.extend(d.secondary.iter().map(|l| {
            CsLabel::new(LabelStyle::Secondary, (), range(l.span)).with_message(l.message.clone())
        }));
        CsDiagnostic::new(severity)
            .with_code(d.code.as_str())
            .with_message(d.message.clone())
            .with_labels(labels)
            .with_notes(notes(d, self.src))
    }
}

impl<'a> Files<'a> for Excerpt<'_> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, files::Error> {
        let i = self
            .lines
            .partition_point(|l| l.range.end <= byte_index)
            .min(self.lines.len().saturating_sub(1));
        Ok(self.lines.get(i).map_or(0, |l| l.real))
    }

    fn column_number(
        &'a self,
        (): (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, files::Error> {
        let line = self.line(line_index).ok_or(files::Error::LineTooLarge {
            given: line_index,
            max: self.index.len() - 1,
        })?;
        let offset = self.to_source(line, byte_index);
        Ok(self.index.line_col(self.src, offset).1)
    }

    fn line_range(&'a self, (): (), line_index: usize) -> Result<Range<usize>, files::Error> {
        self.line(line_index)
            .map(|l| l.range.clone())
            .ok_or(files::Error::LineTooLarge {
                given: line_index,
                max: self.index.len() - 1,
            })
    }
}

/// Appends `text` with each ASCII control character but the tab (which
/// codespan expands) shown as `?`: a terminal draws them as nothing, or
/// moves the cursor, and a label on them had no caret at all. One byte for
/// one byte, so that offsets in the excerpt stay those of the source; the
/// message names the character (E0003's `invalid character `\u{1}``).
fn push_visible(out: &mut String, text: &str) {
    if !text.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        out.push_str(text);
        return;
    }
    out.extend(text.chars().map(|c| {
        if c.is_ascii_control() && c != '\t' {
            '?'
        } else {
            c
        }
    }));
}

/// Writes `n` in decimal without the formatting machinery.
fn push_number(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(d as char);
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn ceil_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

/// The `note: …` and `help: …` lines shown under a diagnostic of `src`
/// (terminal and editor alike). A one-edit fix shows its replacement; a fix
/// of several edits on one line shows that line as the edits leave it.
pub fn notes(d: &Diagnostic, src: &str) -> Vec<String> {
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    for h in &d.help {
        match h.suggestion() {
            Some(s) if !h.message.contains(s.replacement.trim()) => {
                notes.push(format!("help: {} (`{}`)", h.message, s.replacement.trim()))
            }
            _ => match edited_line(src, &h.edits) {
                Some(line) if h.edits.len() > 1 => {
                    notes.push(format!("help: {}: `{line}`", h.message))
                }
                _ => notes.push(format!("help: {}", h.message)),
            },
        }
    }
    notes
}

/// The line holding every edit of `edits` as they leave it (trimmed), if
/// they are all on one line.
fn edited_line(src: &str, edits: &[kpl_lang::diag::Suggestion]) -> Option<String> {
    let first = edits.first()?;
    let (a, b) = (first.span.start as usize, edits.last()?.span.end as usize);
    if b > src.len() || !src.is_char_boundary(a) || !src.is_char_boundary(b) {
        return None;
    }
    // Only short lines are shown (and searched: the cost of a diagnostic
    // must not grow with the length of its line).
    const SHOWN: usize = 160;
    if b - a > SHOWN || src[a..b].contains(['\n', '\r']) {
        return None;
    }
    let before = floor_char_boundary(src, a.saturating_sub(SHOWN));
    let start = match src[before..a].rfind(['\n', '\r']) {
        Some(i) => before + i + 1,
        None if before == 0 => 0,
        None => return None,
    };
    let after = floor_char_boundary(src, b + SHOWN);
    let end = match src[b..after].find(['\n', '\r']) {
        Some(i) => b + i,
        None if after == src.len() => src.len(),
        None => return None,
    };
    let mut line = String::new();
    let mut at = start;
    for e in edits {
        let (s, t) = (e.span.start as usize, e.span.end as usize);
        if s < at || !src.is_char_boundary(s) || !src.is_char_boundary(t) {
            return None;
        }
        line.push_str(&src[at..s]);
        line.push_str(&e.replacement);
        at = t;
    }
    line.push_str(&src[at..end]);
    Some(line.trim().to_string())
}

/// How many diagnostics of one file `kplc check` and `kplc build` show
/// unless `--max-diagnostics` says otherwise. A file with more is a flood
/// (one broken construct repeated, a file that is not KPL at all): the
/// first screens say what is wrong, and rendering a few hundred thousand
/// excerpts took seconds and hundreds of megabytes of output for nothing a
/// reader would look at. Go's compiler stops at 10 errors, clang at 20.
pub const DEFAULT_SHOWN: usize = 100;

/// Which of one file's diagnostics are shown under a limit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shown {
    /// Indexes of the shown diagnostics, in their order in the file.
    pub indexes: Vec<usize>,
    /// Errors left out.
    pub hidden_errors: usize,
    /// Warnings left out.
    pub hidden_warnings: usize,
}

impl Shown {
    pub fn hidden(&self) -> usize {
        self.hidden_errors + self.hidden_warnings
    }
}

/// Chooses at most `limit` of `diags` to show (`0`: every one). Errors come
/// first: the first `limit` errors in the order of the file, then warnings,
/// in that order, while room is left; so a thousand warnings never hide the
/// one error that stops the build. The shown ones keep their order.
pub fn shown(diags: &[Diagnostic], limit: usize) -> Shown {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if limit == 0 || diags.len() <= limit {
        return Shown {
            indexes: (0..diags.len()).collect(),
            ..Shown::default()
        };
    }
    let shown_errors = errors.min(limit);
    let shown_warnings = warnings.min(limit - shown_errors);
    let (mut errors_left, mut warnings_left) = (shown_errors, shown_warnings);
    let mut indexes = Vec::with_capacity(limit);
    for (i, d) in diags.iter().enumerate() {
        let left = if d.is_error() {
            &mut errors_left
        } else {
            &mut warnings_left
        };
        if *left > 0 {
            *left -= 1;
            indexes.push(i);
        }
    }
    Shown {
        indexes,
        hidden_errors: errors - shown_errors,
        hidden_warnings: warnings - shown_warnings,
    }
}

/// What [`shown`] left out, e.g. `208240 more diagnostics not shown
/// (208239 errors, 1 warning)`; `None` when nothing was.
pub fn hidden_summary(shown: &Shown) -> Option<String> {
    if shown.hidden() == 0 {
        return None;
    }
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    Some(format!(
        "{} not shown ({}, {})",
        plural(shown.hidden(), "more diagnostic"),
        plural(shown.hidden_errors, "error"),
        plural(shown.hidden_warnings, "warning"),
    ))
}

/// The line a command writes after a file's shown diagnostics: the file,
/// [`hidden_summary`], and `show_all`, how to see every one (e.g.
/// ``"`--max-diagnostics 0`"``); `None` when nothing was left out.
pub fn hidden_note(file_name: &str, shown: &Shown, show_all: &str) -> Option<String> {
    hidden_summary(shown)
        .map(|summary| format!("{file_name}: {summary}; {show_all} shows every one"))
}

/// The most labels shown on one line of a diagnostic. Codespan hangs the
/// messages of several labels on one line below it, each on a row of its
/// own that draws a `│` for every label left of it: k labels on one line
/// are k rows of k columns. A line of a hundred thousand Rust lifetimes,
/// one diagnostic labelling each, took minutes and gigabytes of output to
/// show; past this many, nobody reads them anyway.
const LABELS_PER_LINE: usize = 10;

/// `d` with at most [`LABELS_PER_LINE`] labels on each line (the primary
/// label always kept, the others in their order), and a note saying how
/// many more each crowded line has; `d` itself when no line is crowded.
/// Only the human rendering is thinned: JSON lists every label.
fn thinned<'d>(lines: &LineIndex, d: &'d Diagnostic) -> Cow<'d, Diagnostic> {
    if d.secondary.len() < LABELS_PER_LINE {
        return Cow::Borrowed(d);
    }
    let line_of = |l: &kpl_lang::diag::Label| lines.line_of(l.span.start as usize);
    let mut on_line: HashMap<usize, usize> = HashMap::new();
    on_line.insert(line_of(&d.primary), 1);
    let mut kept = Vec::new();
    // Labels left out, by line.
    let mut left_out: BTreeMap<usize, usize> = BTreeMap::new();
    for label in &d.secondary {
        let line = line_of(label);
        let count = on_line.entry(line).or_default();
        *count += 1;
        if *count <= LABELS_PER_LINE {
            kept.push(label.clone());
        } else {
            *left_out.entry(line).or_default() += 1;
        }
    }
    if left_out.is_empty() {
        return Cow::Borrowed(d);
    }
    let mut thin = Diagnostic {
        secondary: kept,
        ..d.clone()
    };
    for (line, more) in left_out {
        let labels = if more == 1 { "label" } else { "labels" };
        thin.notes
            .push(format!("{more} more {labels} on line {} not shown", line + 1).into());
    }
    Cow::Owned(thin)
}

/// Renders one diagnostic as plain text (no colour), e.g. for snapshots.
/// `lines` must be the index of `src`.
pub fn render_plain(file_name: &str, src: &str, lines: &LineIndex, d: &Diagnostic) -> String {
    let d = &*thinned(lines, d);
    let file = Excerpt::new(file_name, src, lines, d);
    if let Some(text) = file.render_simple(d) {
        return text;
    }
    term::emit_into_string(&term::Config::default(), &file, &file.to_codespan(d))
        .unwrap_or_else(|e| format!("{}: {} (could not render: {e})\n", d.code, d.message))
}

/// Renders to a terminal writer, with colour if the writer supports it.
/// `lines` must be the index of `src`.
pub fn render_to(
    out: &mut dyn WriteColor,
    file_name: &str,
    src: &str,
    lines: &LineIndex,
    d: &Diagnostic,
) -> std::io::Result<()> {
    let d = &*thinned(lines, d);
    let file = Excerpt::new(file_name, src, lines, d);
    if !out.supports_color()
        && let Some(text) = file.render_simple(d)
    {
        return out.write_all(text.as_bytes());
    }
    term::emit_to_write_style(out, &term::Config::default(), &file, &file.to_codespan(d)).map_err(
        |e| match e {
            files::Error::Io(e) => e,
            other => std::io::Error::other(other),
        },
    )
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
struct JsonLabel<'a> {
    primary: bool,
    message: &'a str,
    #[serde(flatten)]
    pos: JsonPos,
}

#[derive(Serialize)]
struct JsonSuggestion<'a> {
    start: u32,
    end: u32,
    replacement: &'a str,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    #[serde(flatten)]
    pos: JsonPos,
    replacement: &'a str,
}

#[derive(Serialize)]
struct JsonHelp<'a> {
    message: &'a str,
    /// `null` for advice in prose only.
    applicability: Option<&'static str>,
    edits: Vec<JsonEdit<'a>>,
    /// The edit of a one-edit fix (what tools read before `edits` existed).
    suggestion: Option<JsonSuggestion<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    #[serde(flatten)]
    pos: JsonPos,
    labels: Vec<JsonLabel<'a>>,
    notes: &'a [kpl_lang::diag::Text],
    help: Vec<JsonHelp<'a>>,
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
        message: &d.primary.message,
        pos: pos(src, lines, d.primary.span),
    }];
    labels.extend(d.secondary.iter().map(|l| JsonLabel {
        primary: false,
        message: &l.message,
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
                message: &h.message,
                applicability: (!h.edits.is_empty()).then(|| h.applicability.as_str()),
                edits: h
                    .edits
                    .iter()
                    .map(|e| JsonEdit {
                        pos: pos(src, lines, e.span),
                        replacement: &e.replacement,
                    })
                    .collect(),
                suggestion: h.suggestion().map(|s| JsonSuggestion {
                    start: s.span.start,
                    end: s.span.end,
                    replacement: &s.replacement,
                }),
            })
            .collect(),
        rendered: render_plain(file_name, src, lines, d),
    };
    serde_json::to_string(&json).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// codespan-reporting's rendering of `d`, never the direct one.
    fn codespan(src: &str, lines: &LineIndex, d: &Diagnostic) -> String {
        let file = Excerpt::new("t.kpl", src, lines, d);
        term::emit_into_string(&term::Config::default(), &file, &file.to_codespan(d))
            .expect("codespan renders")
    }

    /// Every diagnostic of every UI and one-mistake fixture, and of every
    /// hostile shape at a small size, that the direct layout takes renders
    /// exactly as codespan-reporting renders it.
    #[test]
    fn direct_layout_is_codespans() {
        let imports = crate::std_imports::ImportSources::embedded().load().0;
        let mut sources: Vec<String> = Vec::new();
        for dir in ["tests/ui", "tests/one_mistake"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(&dir).expect("fixture directory") {
                let path = entry.expect("fixture").path();
                if path.extension().is_some_and(|e| e == "kpl") {
                    sources.push(std::fs::read_to_string(&path).expect("fixture text"));
                }
            }
        }
        for shape in kpl_testgen::hostile::shapes() {
            sources.push((shape.build)(hostile_size(&shape)));
        }
        let (mut direct, mut total, mut several) = (0, 0, 0);
        for src in &sources {
            let lines = LineIndex::new(src);
            for d in kpl_lang::analyze(src, &imports).diagnostics {
                total += 1;
                let file = Excerpt::new("t.kpl", src, &lines, &d);
                if let Some(text) = file.render_simple(&d) {
                    direct += 1;
                    several += usize::from(!d.secondary.is_empty());
                    assert_eq!(text, codespan(src, &lines, &d), "{src}");
                }
            }
        }
        // Most diagnostics take the direct way; the rest fall back.
        assert!(direct * 2 > total && direct < total, "{direct} of {total}");
        // Diagnostics with several labels take it too.
        assert!(several > 0, "{several} with several labels");
    }

    #[test]
    fn the_limit_shows_errors_first_in_file_order() {
        use kpl_lang::Code;
        let d = |code| Diagnostic::new(code, "m", kpl_lang::Span::new(0, 1), "l");
        let (e, w) = (Code::E0100, Code::W0001);
        let diags = [d(w), d(e), d(w), d(w), d(e), d(w)];
        // No limit, or room for every one: all, nothing hidden.
        for limit in [0, 6, 7] {
            let all = shown(&diags, limit);
            assert_eq!(all.indexes, [0, 1, 2, 3, 4, 5]);
            assert_eq!(hidden_note("f", &all, "`--max-diagnostics 0`"), None);
        }
        // Both errors, then the first warnings, in the file's order.
        let some = shown(&diags, 4);
        assert_eq!(some.indexes, [0, 1, 2, 4]);
        assert_eq!((some.hidden_errors, some.hidden_warnings), (0, 2));
        // Fewer places than errors: the first errors only.
        let one = shown(&diags, 1);
        assert_eq!(one.indexes, [1]);
        assert_eq!((one.hidden_errors, one.hidden_warnings), (1, 4));
        assert_eq!(
            hidden_note("f.kpl", &one, "`--max-diagnostics 0`").unwrap(),
            "f.kpl: 5 more diagnostics not shown (1 error, 4 warnings); \
             `--max-diagnostics 0` shows every one"
        );
    }

    /// A diagnostic with a label on each of 100,000 Rust lifetimes on one
    /// line shows ten of them and says how many more there are: codespan
    /// draws k labels on one line as k rows of k columns, so showing every
    /// one took minutes and gigabytes. JSON still lists each.
    #[test]
    fn a_crowded_line_shows_a_few_labels() {
        let n = 100_000;
        let src = format!("fn f() {{\n    {}\n}}\n", "'a ".repeat(n));
        let lines = LineIndex::new(&src);
        let lexed = kpl_lang::lexer::lex(&src);
        let d = &lexed.diagnostics[0];
        assert_eq!(d.secondary.len(), n - 1);
        let text = render_plain("t.kpl", &src, &lines, d);
        assert_eq!(
            text.matches("and here").count(),
            LABELS_PER_LINE - 1,
            "{text}"
        );
        let note = format!("{} more labels on line 2 not shown", n - LABELS_PER_LINE);
        assert!(text.contains(&note), "{text}");
        assert!(text.len() < 4096, "{} bytes", text.len());
        let json = render_json("t.kpl", &src, &lines, d);
        assert_eq!(json.matches("\"and here\"").count(), n - 1);
    }

    /// A size at which each hostile shape has a few dozen items or levels,
    /// and its long lines are longer than [`LONG_LINE`].
    fn hostile_size(shape: &kpl_testgen::hostile::Shape) -> usize {
        kpl_testgen::hostile::size_for(shape, 2 << 10)
    }
}
