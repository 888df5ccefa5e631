//! Python's blocks (see the parent module for how habits are found,
//! reported and rewritten): a header ended by `:` at the end of its line
//! (`fn f(x: u32) -> u32:`, `if x > 1:`, `while c:`, `for i in a..b:`,
//! `else:`) with its block indented under it. Reported once per top-level
//! item, and read as the braces the indentation means: the `:` as `{`, a
//! `}` before the first line indented no deeper than the header's, and a
//! `;` at the end of each statement line in it, so the function is checked
//! as after the fix and nothing cascades. Finding a block's end looks at a
//! bounded number of tokens, and all of them together at most a few times
//! the file's.

use super::tokens::ends_operand;
use super::{Rewriter, Tok, e};
use crate::span::Span;

/// Tokens a block may span before the rule gives up (and the parser
/// reports the `:`).
const MAX_BLOCK_TOKENS: usize = 4096;

/// Tokens all the blocks of a file may span together, per token of the
/// file: nested blocks are each walked to their end, so without this a
/// file of blocks nested ever deeper would cost its length times
/// [`MAX_BLOCK_TOKENS`].
pub(super) const BLOCK_WALK_PER_TOKEN: usize = 4;

/// How far back from `:` the return type of a function may start.
const MAX_RET_TOKENS: usize = 8;

impl Rewriter<'_> {
    /// When token `k` starts a line: the indentation of that line (the
    /// blanks after the last line break between it and the token before).
    pub(super) fn line_break_before(&self, k: usize) -> Option<usize> {
        let end = match k.checked_sub(1) {
            Some(p) => self.span(p).end as usize,
            None => 0,
        };
        let start = self.span(k).start as usize;
        let gap = self.src.get(end..start)?;
        let nl = gap.rfind('\n')?;
        let after = &gap[nl + 1..];
        Some(after.len() - after.trim_start_matches([' ', '\t']).len())
    }

    /// Whether the `:` at `i` ends a header the Python way: last on its
    /// line, after an `if`, `while` or `for` condition, an `else`, or a
    /// function's parameters or return type.
    fn python_header(&self, i: usize) -> bool {
        if self.line_break_before(i + 1).is_none() && i + 1 < self.old.len() {
            return self.one_line_header();
        }
        if self
            .header
            .as_ref()
            .is_some_and(|h| h.depth == 0 && matches!(h.kw, "if" | "while" | "for"))
        {
            return true;
        }
        if matches!(self.prev(), Some((Tok::Kw("else"), _))) {
            return true;
        }
        self.braces == 0
            && self.sig.is_some_and(|(_, close)| {
                close < i
                    && i - close <= MAX_RET_TOKENS
                    && (close + 1 == i || self.is(close + 1, "->"))
            })
    }

    /// Whether a `:` with more on its line after it ends Python's one-line
    /// header (`if x > 1: return 1`, `while c: x += 1`, `else: return 0`):
    /// after the condition of `if`, `while` or `for` (where KPL has no `:`)
    /// or after `else`, inside a function.
    fn one_line_header(&self) -> bool {
        self.braces > 0
            && (self
                .header
                .as_ref()
                .is_some_and(|h| h.depth == 0 && matches!(h.kw, "if" | "while" | "for"))
                || matches!(self.prev(), Some((Tok::Kw("else"), _))))
    }

    /// The `:` at `i` if it ends a Python header: reported (once per
    /// top-level item) and read as `{`; the block's `}` is due where the
    /// indentation ends it.
    pub(super) fn python_block(&mut self, i: usize) -> Option<usize> {
        if !self.python_header(i) {
            return None;
        }
        let header_indent = self.line_indent_of(i)?;
        // The block: the lines after the header indented deeper than it, or
        // the rest of the header's line.
        let one_line = self.line_break_before(i + 1).is_none();
        let mut k = i + 1;
        let end = loop {
            if k >= self.old.len() {
                break self.old.len();
            }
            if k > i + MAX_BLOCK_TOKENS || self.py_budget == 0 {
                return None;
            }
            self.py_budget -= 1;
            if self.is(k, "}") && self.pair.get(k).is_none_or(|&o| o == usize::MAX || o < i) {
                break k;
            }
            if self
                .line_break_before(k)
                .is_some_and(|ind| one_line || ind <= header_indent)
            {
                break k;
            }
            // `if c: {` is no Python block.
            if one_line && self.is(k, "{") {
                return None;
            }
            k = self.next_at_level(k);
        };
        if end == i + 1 {
            return None;
        }
        let s = self.span(i);
        // The top-level item: this function when the `:` is its header's.
        let item = if self.braces == 0 {
            Some(i)
        } else {
            self.top_open
        };
        // A one-line block's fix: ` {` for the `:`, and ` }` (with the
        // `;` the statement lacks) after its last token.
        let fix = one_line.then(|| {
            let last = self.span(end - 1);
            let close = if self.is(end - 1, ";") || self.is(end - 1, "}") {
                " }"
            } else {
                "; }"
            };
            let from = self.prev().map_or(s, |(_, p)| p.end_point());
            [
                super::edit(from.to(s), " {"),
                super::edit(last.end_point(), close),
            ]
        });
        match self.py_item {
            Some((at, d)) if item == Some(at) => {
                let help = self.diags.get_mut(d).and_then(|d| d.help.first_mut());
                if let (Some(h), Some(fix)) = (help.filter(|h| !h.edits.is_empty()), fix) {
                    h.edits.extend(fix);
                }
            }
            _ => {
                self.py_item = item.map(|at| (at, self.diags.len()));
                let d = if one_line {
                    e(
                        "blocks are written in braces, also on one line",
                        s,
                        "Python's one-line block",
                    )
                } else {
                    e(
                        "blocks are written in braces, not with `:` and indentation",
                        s,
                        "Python's block",
                    )
                };
                let d = d
                    .with_note("KPL ends each statement with `;`; indentation means nothing to it");
                self.diags.push(match fix {
                    Some(fix) => d.with_fix_edits(
                        "write the block in braces",
                        crate::diag::Applicability::MachineApplicable,
                        fix.to_vec(),
                    ),
                    None => d.with_help(
                        "write `{` instead of the `:`, `}` where the block ends, and `;` after each statement",
                    ),
                });
            }
        }
        self.track(&Tok::Sym("{"), i);
        self.push(Tok::Sym("{"), s);
        *self.py_closes.entry(end).or_insert(0) += 1;
        self.py_open += 1;
        Some(i + 1)
    }

    /// Before token `k` (at `i` in the main loop): inside a Python block,
    /// the `;` ending the line before, and the `}` of each block ending
    /// here.
    pub(super) fn python_line(&mut self, k: usize) {
        if self.py_open == 0 {
            return;
        }
        // (A habit may have consumed the token a block ends at.)
        let mut closes = 0;
        while let Some((&at, &n)) = self.py_closes.first_key_value()
            && at <= k
        {
            self.py_closes.remove(&at);
            closes += n;
        }
        let starts_line = k >= self.old.len() || self.line_break_before(k).is_some();
        let continues = matches!(self.tok(k), Some(Tok::Sym(_) | Tok::Kw("as")));
        let ends_statement = ends_operand(self.prev())
            || matches!(
                self.prev(),
                Some((Tok::Kw("return" | "break" | "continue" | "abort"), _))
            );
        if ends_statement && (closes > 0 || (starts_line && !continues)) {
            let at = self.prev().map_or(Span::new(0, 0), |(_, p)| p.end_point());
            self.push(Tok::Sym(";"), at);
        }
        for _ in 0..closes {
            let at = self.prev().map_or(Span::new(0, 0), |(_, p)| p.end_point());
            self.push(Tok::Sym("}"), at);
            self.track(&Tok::Sym("}"), k);
            self.py_open -= 1;
        }
    }
}
