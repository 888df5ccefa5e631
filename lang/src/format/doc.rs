//! The formatter's layout language and its printer.
//!
//! A [`Doc`] describes text with optional line breaks, in the style of
//! Wadler's "prettier printer" and Prettier's document builders: a
//! [`Doc::Group`] is printed on one line if it fits in the remaining width,
//! otherwise each [`Doc::Line`] directly inside it becomes a newline. Hard
//! breaks (a line comment, a statement separator) force every enclosing
//! group to break; that is computed once, when a group is built.
//!
//! The printer is iterative (an explicit stack), so a document of any depth
//! prints without recursion. Newlines collapse: a break requested at the
//! start of a line only changes the indentation of that line, and
//! [`Doc::BlankLine`] asks for one empty line however many breaks precede
//! it. Indentation is written lazily, so no line ends in spaces.

/// Columns per indentation level.
pub const INDENT: usize = 4;

/// The deepest indentation the printer writes (12 levels). Past it, code is
/// not indented further and every group prints flat (on one line, however
/// long) unless a hard break forces it open. Without a cap, a hostile file
/// nested *d* deep would print *d* levels of indentation on each of its
/// lines: 1 MiB of 100-deep array literals became 200 MB. With it, a line
/// carries at most this much indentation, and a nest deeper than the cap is
/// one line, so the output stays within a constant factor of the input.
/// Real code is seldom nested half this deep.
pub const MAX_INDENT: usize = 12 * INDENT;

/// Identifies a group so that an [`Doc::IfBreak`] elsewhere can follow its
/// decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupId(pub u32);

#[derive(Debug)]
pub enum Doc<'s> {
    Nil,
    /// Text without a newline.
    Text(&'s str),
    /// Text that may span lines (a block comment); trailing whitespace is
    /// dropped from each of its lines.
    Verbatim(&'s str),
    /// One space, unless the line is still empty or already ends in a space.
    Space,
    Concat(Vec<Doc<'s>>),
    /// The contents' line breaks are indented one more level.
    Indent(Box<Doc<'s>>),
    Group {
        doc: Box<Doc<'s>>,
        /// Contains a hard break, so it never prints flat.
        broken: bool,
        id: Option<GroupId>,
    },
    /// A space when the enclosing group is flat, else a newline.
    Line,
    /// Nothing when the enclosing group is flat, else a newline.
    SoftLine,
    /// Always a newline.
    HardLine,
    /// A newline and one empty line (never two).
    BlankLine,
    /// `broken` if the group (`group`, or else the enclosing one) breaks.
    IfBreak {
        broken: Box<Doc<'s>>,
        flat: Box<Doc<'s>>,
        group: Option<GroupId>,
    },
    /// Printed at the end of the current line, just before the next newline
    /// (a trailing `//` comment moved past a `,` or `;`).
    LineSuffix(&'s str),
    /// Forces the enclosing groups to break; prints nothing.
    BreakParent,
    /// Prints nothing, but counts as text this wide when deciding whether a
    /// group fits: room for code that a comment pushed to the next line.
    Reserve(usize),
    /// Alternating contents and separators (`Line`s); as many contents per
    /// line as fit.
    Fill(Vec<Doc<'s>>),
}

/// The lines of `text`, split at each line break: `\r\n`, `\n`, or a lone
/// `\r` (the lexer ends a line at each; the output has `\n` only).
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.find(['\n', '\r']) {
            Some(i) => {
                let skip = if r[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&r[i + skip..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The number of line breaks in `text` (see [`lines`]).
pub fn line_breaks(text: &str) -> usize {
    lines(text).count() - 1
}

pub fn concat(parts: Vec<Doc<'_>>) -> Doc<'_> {
    Doc::Concat(parts)
}

pub fn indent(doc: Doc<'_>) -> Doc<'_> {
    Doc::Indent(Box::new(doc))
}

pub fn group(doc: Doc<'_>, id: Option<GroupId>) -> Doc<'_> {
    let broken = has_hard_break(&doc);
    Doc::Group {
        doc: Box::new(doc),
        broken,
        id,
    }
}

pub fn if_break<'s>(broken: Doc<'s>, flat: Doc<'s>, group: Option<GroupId>) -> Doc<'s> {
    Doc::IfBreak {
        broken: Box::new(broken),
        flat: Box::new(flat),
        group,
    }
}

/// Whether `doc` contains a break that forces its enclosing group to break.
/// Stops at nested groups, which know the answer already.
fn has_hard_break(doc: &Doc<'_>) -> bool {
    let mut stack = vec![doc];
    while let Some(d) = stack.pop() {
        match d {
            // A multi-line comment is not a break of the code: it takes no
            // room (see `Printer::verbatim`), and counting its newline here
            // would break the group in one pass but not in the next, where
            // the comment may sit at the end of a line instead.
            Doc::HardLine | Doc::BlankLine | Doc::BreakParent => return true,
            Doc::Group { broken: true, .. } => return true,
            Doc::Concat(parts) | Doc::Fill(parts) => stack.extend(parts.iter()),
            Doc::Indent(inner) => stack.push(inner),
            _ => {}
        }
    }
    false
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// What is left to print: a document, or the tail of a fill.
#[derive(Clone, Copy)]
enum Item<'a, 's> {
    Doc(&'a Doc<'s>),
    Fill(&'a [Doc<'s>]),
}

#[derive(Clone, Copy)]
struct Cmd<'a, 's> {
    indent: usize,
    mode: Mode,
    item: Item<'a, 's>,
}

fn push<'a, 's>(stack: &mut Vec<Cmd<'a, 's>>, indent: usize, mode: Mode, d: &'a Doc<'s>) {
    stack.push(Cmd {
        indent,
        mode,
        item: Item::Doc(d),
    });
}

fn width(s: &str) -> isize {
    s.chars().count() as isize
}

struct Printer<'s> {
    max_width: usize,
    out: String,
    /// Column of the next character (counting the pending indentation).
    col: usize,
    /// Nothing but (unwritten) indentation on the current line.
    at_line_start: bool,
    pending_indent: usize,
    /// The output ends in a collapsible space.
    last_space: bool,
    suffixes: Vec<&'s str>,
    modes: Vec<Option<Mode>>,
    /// Lines written so far.
    line: usize,
    /// The current line holds a comment.
    line_has_comment: bool,
    /// Trailing `//` comments, placed by [`align`] once all lines are known.
    marks: Vec<Mark<'s>>,
}

/// A trailing comment to insert at byte `at` of the output, after `code`
/// columns of code on line `line`.
struct Mark<'s> {
    at: usize,
    line: usize,
    code: usize,
    text: &'s str,
}

/// Writes the trailing comments into `out`: those on consecutive lines
/// start in one column, one space after the longest code among them.
fn align(out: &str, marks: &[Mark<'_>]) -> String {
    let mut result = String::with_capacity(out.len() + marks.len() * 40);
    let mut copied = 0;
    let mut run_start = 0;
    while run_start < marks.len() {
        let mut run_end = run_start + 1;
        while run_end < marks.len() && marks[run_end].line == marks[run_end - 1].line + 1 {
            run_end += 1;
        }
        let column = marks[run_start..run_end]
            .iter()
            .map(|m| m.code)
            .max()
            .unwrap_or(0)
            + 1;
        for m in &marks[run_start..run_end] {
            result.push_str(out.get(copied..m.at).unwrap_or(""));
            copied = m.at;
            result.extend(std::iter::repeat_n(' ', column.saturating_sub(m.code)));
            for (i, line) in lines(m.text).enumerate() {
                if i > 0 {
                    result.push('\n');
                }
                result.push_str(line.trim_end());
            }
        }
        run_start = run_end;
    }
    result.push_str(out.get(copied..).unwrap_or(""));
    result
}

impl<'s> Printer<'s> {
    fn text(&mut self, s: &str) {
        if self.at_line_start {
            self.out
                .extend(std::iter::repeat_n(' ', self.pending_indent));
            self.col = self.pending_indent;
            self.at_line_start = false;
        }
        self.out.push_str(s);
        self.col += s.chars().count();
        self.last_space = false;
    }

    /// A comment. It takes no room in the layout: the column stays where
    /// the code before it (and the space before it) left it, so a comment
    /// never changes how the code around it is broken.
    fn verbatim(&mut self, s: &str) {
        let code_col = if self.at_line_start {
            self.pending_indent
        } else if self.last_space {
            self.col.saturating_sub(1)
        } else {
            self.col
        };
        let mut lines = lines(s);
        if let Some(first) = lines.next() {
            self.text(first.trim_end());
        }
        self.line_has_comment = true;
        for line in lines {
            self.out.push('\n');
            self.line += 1;
            self.out.push_str(line.trim_end());
        }
        self.col = code_col;
    }

    fn space(&mut self) {
        if !self.at_line_start && !self.last_space {
            self.out.push(' ');
            self.col += 1;
            self.last_space = true;
        }
    }

    /// Ends the current line's code: trailing spaces go, and the pending
    /// trailing comments are noted for alignment (or written, if one spans
    /// lines).
    fn flush_suffixes(&mut self, indent: usize) {
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
        self.last_space = false;
        let mut after_line_comment = false;
        for s in std::mem::take(&mut self.suffixes) {
            let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
            let code = self.out[line_start..].chars().count();
            // Only comments after plain code are aligned.
            let plain = code > 0 && !self.line_has_comment;
            if after_line_comment {
                // Nothing can follow a `//` comment on its line.
                self.out.push('\n');
                self.line += 1;
                self.out.extend(std::iter::repeat_n(' ', indent));
                self.verbatim(s);
            } else if s.starts_with("/*") || !plain {
                // Block comments keep to their code: one space before them
                // (none after `(` or `[`), never aligned.
                if !(s.starts_with("/*") && self.out.ends_with(['(', '['])) {
                    self.space();
                }
                self.verbatim(s);
            } else {
                self.marks.push(Mark {
                    at: self.out.len(),
                    line: self.line,
                    code,
                    text: s,
                });
            }
            after_line_comment = s.starts_with("//");
        }
    }

    fn newline(&mut self, indent: usize) {
        // (A comment waiting for the end of a line that is still empty
        // gets that line to itself.)
        if self.at_line_start && self.suffixes.is_empty() {
            self.pending_indent = indent;
            self.col = indent;
            return;
        }
        self.flush_suffixes(indent);
        self.out.push('\n');
        self.line += 1;
        self.line_has_comment = false;
        self.at_line_start = true;
        self.pending_indent = indent;
        self.col = indent;
        self.last_space = false;
    }

    fn blank_line(&mut self, indent: usize) {
        self.newline(indent);
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
            self.line += 1;
        }
    }

    /// The branch of an [`Doc::IfBreak`] that applies: `broken` if its group
    /// (or else the enclosing one, in `mode`) breaks.
    fn if_break<'a>(
        &self,
        broken: &'a Doc<'s>,
        flat: &'a Doc<'s>,
        group: Option<GroupId>,
        mode: Mode,
    ) -> &'a Doc<'s> {
        if self.group_mode(group, mode) == Mode::Break {
            broken
        } else {
            flat
        }
    }

    fn group_mode(&self, id: Option<GroupId>, otherwise: Mode) -> Mode {
        match id {
            Some(GroupId(g)) => self
                .modes
                .get(g as usize)
                .copied()
                .flatten()
                .unwrap_or(Mode::Flat),
            None => otherwise,
        }
    }

    /// Whether `items` (printed flat, first one first) followed by `rest`
    /// (in their own modes, last one first) reach a line break before the
    /// line is full. With `must_be_flat`, a group that has to break means
    /// no.
    fn fits(&self, items: &[Item<'_, 's>], rest: &[Cmd<'_, 's>], must_be_flat: bool) -> bool {
        let mut room = self.max_width as isize - self.col as isize;
        // Spaces count as the printer writes them: collapsed, only before
        // text on the same line (trailing ones are trimmed), and the one
        // before a comment not at all (the comment takes its column, see
        // `verbatim`). Counting each `Space` instead made a comment cost
        // columns, so code broke next to a comment that, once the comment
        // ended the line on the next pass, it would not break.
        let mut space = self.last_space && !self.at_line_start;
        if space {
            room += 1;
        }
        let mut line_start = self.at_line_start;
        let mut local: Vec<(Mode, Item<'_, 's>)> =
            items.iter().rev().map(|i| (Mode::Flat, *i)).collect();
        let mut rest_index = rest.len();
        // A comment waiting for the end of the line: the line must end at
        // the next possible break.
        let mut suffix = !self.suffixes.is_empty();
        // Past `items`: a line break there ends the measurement. Inside
        // `items`, a forced break starts a new line that must fit too.
        let mut in_rest = false;
        loop {
            if room < 0 {
                return false;
            }
            let (mode, item) = match local.pop() {
                Some(x) => x,
                None => {
                    if rest_index == 0 {
                        return true;
                    }
                    in_rest = true;
                    rest_index -= 1;
                    let c = rest[rest_index];
                    (c.mode, c.item)
                }
            };
            let doc = match item {
                Item::Fill(parts) => {
                    local.extend(parts.iter().rev().map(|p| (mode, Item::Doc(p))));
                    continue;
                }
                Item::Doc(d) => d,
            };
            match doc {
                Doc::Nil | Doc::BreakParent => {}
                Doc::LineSuffix(_) => suffix = true,
                Doc::Text(_) | Doc::Reserve(_) => {
                    if std::mem::take(&mut space) {
                        room -= 1;
                    }
                    line_start = false;
                    room -= match doc {
                        Doc::Text(s) => width(s),
                        Doc::Reserve(n) => *n as isize,
                        _ => 0,
                    };
                }
                // Comments take no room, not even their line breaks: the
                // printer puts the code after a comment in the column it
                // would have without it, so they never change how code is
                // laid out.
                Doc::Verbatim(_) => space = false,
                Doc::Space => space = !line_start,
                Doc::Concat(parts) | Doc::Fill(parts) => {
                    local.extend(parts.iter().rev().map(|p| (mode, Item::Doc(p))));
                }
                Doc::Indent(inner) => local.push((mode, Item::Doc(inner))),
                Doc::Group { doc, broken, .. } => {
                    if must_be_flat && *broken {
                        return false;
                    }
                    let m = if *broken { Mode::Break } else { mode };
                    local.push((m, Item::Doc(doc)));
                }
                Doc::Line | Doc::SoftLine => {
                    if mode == Mode::Break {
                        if in_rest {
                            return true;
                        }
                        room = self.max_width as isize;
                        suffix = false;
                        (space, line_start) = (false, true);
                        continue;
                    }
                    if suffix {
                        return false;
                    }
                    if matches!(doc, Doc::Line) {
                        space = space || !line_start;
                    }
                }
                Doc::HardLine | Doc::BlankLine => {
                    if in_rest {
                        return true;
                    }
                    room = self.max_width as isize;
                    suffix = false;
                    (space, line_start) = (false, true);
                }
                Doc::IfBreak {
                    broken,
                    flat,
                    group,
                } => {
                    let chosen = self.if_break(broken, flat, *group, mode);
                    local.push((mode, Item::Doc(chosen)));
                }
            }
        }
    }

    fn print<'a>(&mut self, root: &'a Doc<'s>) {
        let mut stack: Vec<Cmd<'a, 's>> = vec![Cmd {
            indent: 0,
            mode: Mode::Break,
            item: Item::Doc(root),
        }];
        while let Some(cmd) = stack.pop() {
            let Cmd { indent, mode, item } = cmd;
            let doc = match item {
                Item::Fill(parts) => {
                    self.fill(indent, mode, parts, &mut stack);
                    continue;
                }
                Item::Doc(d) => d,
            };
            match doc {
                Doc::Nil | Doc::BreakParent | Doc::Reserve(_) => {}
                Doc::Text(s) => self.text(s),
                Doc::Verbatim(s) => self.verbatim(s),
                Doc::Space => self.space(),
                Doc::Concat(parts) => {
                    for p in parts.iter().rev() {
                        push(&mut stack, indent, mode, p);
                    }
                }
                Doc::Indent(inner) => {
                    push(&mut stack, (indent + INDENT).min(MAX_INDENT), mode, inner);
                }
                Doc::Group { doc, broken, id } => {
                    let m = if *broken {
                        Mode::Break
                    } else if mode == Mode::Flat
                        || indent >= MAX_INDENT
                        || self.fits(&[Item::Doc(doc)], &stack, false)
                    {
                        Mode::Flat
                    } else {
                        Mode::Break
                    };
                    if let Some(GroupId(g)) = id
                        && let Some(slot) = self.modes.get_mut(*g as usize)
                    {
                        *slot = Some(m);
                    }
                    push(&mut stack, indent, m, doc);
                }
                Doc::Line => {
                    if mode == Mode::Flat {
                        self.space();
                    } else {
                        self.newline(indent);
                    }
                }
                Doc::SoftLine => {
                    if mode == Mode::Break {
                        self.newline(indent);
                    }
                }
                Doc::HardLine => self.newline(indent),
                Doc::BlankLine => self.blank_line(indent),
                Doc::IfBreak {
                    broken,
                    flat,
                    group,
                } => {
                    let chosen = self.if_break(broken, flat, *group, mode);
                    push(&mut stack, indent, mode, chosen);
                }
                Doc::LineSuffix(s) => self.suffixes.push(s),
                Doc::Fill(parts) => self.fill(indent, mode, parts, &mut stack),
            }
        }
        self.flush_suffixes(0);
    }

    /// Prettier's fill: a content goes flat if it fits; the separator after
    /// it breaks unless the next content fits on the line too.
    fn fill<'a>(
        &mut self,
        indent: usize,
        mode: Mode,
        parts: &'a [Doc<'s>],
        stack: &mut Vec<Cmd<'a, 's>>,
    ) {
        let Some(content) = parts.first() else {
            return;
        };
        let cmd = |mode, d: &'a Doc<'s>| Cmd {
            indent,
            mode,
            item: Item::Doc(d),
        };
        let content_fits = self.fits(&[Item::Doc(content)], &[], true);
        let content_mode = if content_fits {
            Mode::Flat
        } else {
            Mode::Break
        };
        let Some(sep) = parts.get(1) else {
            stack.push(cmd(content_mode, content));
            return;
        };
        let Some(next) = parts.get(2) else {
            stack.push(cmd(content_mode, sep));
            stack.push(cmd(content_mode, content));
            return;
        };
        let both_fit = self.fits(
            &[Item::Doc(content), Item::Doc(sep), Item::Doc(next)],
            &[],
            true,
        );
        stack.push(Cmd {
            indent,
            mode,
            item: Item::Fill(&parts[2..]),
        });
        if both_fit {
            stack.push(cmd(Mode::Flat, sep));
            stack.push(cmd(Mode::Flat, content));
        } else {
            stack.push(cmd(Mode::Break, sep));
            stack.push(cmd(content_mode, content));
        }
    }
}

/// Prints `doc` in lines of at most `max_width` columns where the layout
/// allows it; `groups` is the number of group ids handed out. The result
/// has no trailing spaces, no blank lines at either end, and ends in one
/// newline unless it is empty.
pub fn print(doc: &Doc<'_>, max_width: usize, groups: u32) -> String {
    let mut p = Printer {
        max_width,
        out: String::new(),
        col: 0,
        at_line_start: true,
        pending_indent: 0,
        last_space: false,
        suffixes: Vec::new(),
        modes: vec![None; groups as usize],
        line: 0,
        line_has_comment: false,
        marks: Vec::new(),
    };
    p.print(doc);
    let mut out = align(&p.out, &p.marks);
    let kept = out.trim_end().len();
    out.truncate(kept);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'s>(name: &'s str, args: &[&'s str]) -> Doc<'s> {
        let mut inner = vec![Doc::SoftLine];
        for (i, a) in args.iter().enumerate() {
            inner.push(Doc::Text(a));
            if i + 1 < args.len() {
                inner.push(Doc::Text(","));
                inner.push(Doc::Line);
            }
        }
        inner.push(if_break(Doc::Text(","), Doc::Nil, None));
        group(
            concat(vec![
                Doc::Text(name),
                Doc::Text("("),
                indent(concat(inner)),
                Doc::SoftLine,
                Doc::Text(")"),
            ]),
            None,
        )
    }

    #[test]
    fn a_group_breaks_only_when_it_does_not_fit() {
        let d = call("f", &["aaaa", "bbbb"]);
        assert_eq!(print(&d, 100, 0), "f(aaaa, bbbb)\n");
        assert_eq!(print(&d, 10, 0), "f(\n    aaaa,\n    bbbb,\n)\n");
    }

    #[test]
    fn hard_breaks_force_the_group_and_newlines_collapse() {
        let d = group(
            concat(vec![
                Doc::Text("a"),
                Doc::HardLine,
                Doc::HardLine,
                Doc::Line,
                Doc::Text("b"),
            ]),
            None,
        );
        assert_eq!(print(&d, 100, 0), "a\nb\n");
        let d = concat(vec![
            Doc::Text("a"),
            Doc::BlankLine,
            Doc::BlankLine,
            Doc::HardLine,
            Doc::Text("b"),
        ]);
        assert_eq!(print(&d, 100, 0), "a\n\nb\n");
    }

    #[test]
    fn line_suffixes_go_to_the_end_of_the_line() {
        let d = concat(vec![
            Doc::Text("a"),
            Doc::LineSuffix("// c"),
            Doc::Text(";"),
            Doc::HardLine,
            Doc::Text("b"),
        ]);
        assert_eq!(print(&d, 100, 0), "a; // c\nb\n");
    }

    #[test]
    fn fill_packs_as_many_as_fit() {
        let items = ["1,", "2,", "3,", "4,", "5"];
        let mut parts = Vec::new();
        for (i, t) in items.iter().enumerate() {
            if i > 0 {
                parts.push(Doc::Line);
            }
            parts.push(Doc::Text(t));
        }
        let d = group(
            concat(vec![
                Doc::Text("["),
                indent(concat(vec![Doc::SoftLine, Doc::Fill(parts)])),
                Doc::SoftLine,
                Doc::Text("]"),
            ]),
            None,
        );
        assert_eq!(print(&d, 10, 0), "[\n    1, 2,\n    3, 4,\n    5\n]\n");
    }
}
