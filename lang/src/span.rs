//! Byte-offset source spans shared by every stage of the front end.

use std::ops::Range;

/// A half-open byte range `start..end` into one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// An empty span at the end of `self` (where a missing token would go).
    pub fn end_point(self) -> Span {
        Span {
            start: self.end,
            end: self.end,
        }
    }
}

impl From<chumsky::span::SimpleSpan> for Span {
    fn from(s: chumsky::span::SimpleSpan) -> Span {
        Span::new(s.start, s.end)
    }
}

/// A value together with the span it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }
}

/// Maps byte offsets to 1-based line and column numbers (columns counted in
/// Unicode scalar values, like codespan-reporting, and in UTF-16 units for LSP).
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i as u32 + 1);
            }
        }
        LineIndex { line_starts }
    }

    /// 0-based line containing `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&(offset as u32)) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(0) as usize
    }

    /// 1-based (line, column) with the column counted in chars. Offsets past the
    /// end or inside a UTF-8 sequence are clamped to the previous char boundary.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        (line + 1, text[start..offset].chars().count() + 1)
    }

    /// 0-based (line, UTF-16 column), the position encoding LSP uses by default.
    pub fn line_col_utf16(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let col = text[start..offset].chars().map(char::len_utf16).sum();
        (line, col)
    }

    /// Inverse of [`LineIndex::line_col_utf16`]: byte offset of a 0-based
    /// (line, UTF-16 column), clamped to the line's end.
    pub fn offset_utf16(&self, text: &str, line: usize, col: usize) -> usize {
        if line >= self.line_starts.len() {
            return text.len();
        }
        let start = self.line_start(line);
        let end = self
            .line_starts
            .get(line + 1)
            .map(|&s| s as usize)
            .unwrap_or(text.len());
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            if units >= col || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_and_utf16_units() {
        let text = "ab\n// é😀x\nz";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(idx.line_col(text, x), (2, 6));
        assert_eq!(idx.line_col_utf16(text, x), (1, 6));
        assert_eq!(idx.offset_utf16(text, 1, 6), x);
        assert_eq!(idx.offset_utf16(text, 1, 4), x - 4);
        assert_eq!(idx.line_col(text, text.len()), (3, 2));
        // Past the end of a line clamps to the line end.
        assert_eq!(idx.offset_utf16(text, 0, 99), 2);
    }
}
