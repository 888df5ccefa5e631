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

    /// An empty span at the start of `self` (where a missing token before
    /// it would go).
    pub fn start_point(self) -> Span {
        Span {
            start: self.start,
            end: self.start,
        }
    }

    /// An empty span at the end of `self` (where a missing token would go).
    pub fn end_point(self) -> Span {
        Span {
            start: self.end,
            end: self.end,
        }
    }

    /// Whether `inner` lies within `self` (ends included).
    pub fn contains(self, inner: Span) -> bool {
        self.start <= inner.start && inner.end <= self.end
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
///
/// Lines end at `\n`, `\r\n` or a lone `\r`, as the Language Server
/// Protocol counts them. Every conversion costs at most a binary search and
/// a scan of [`CHECKPOINT`] bytes, however long the line: a file may be one
/// line of a megabyte with a diagnostic every few bytes.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<u32>,
    /// For a text that is not all ASCII: the number of chars and of UTF-16
    /// units before every multiple of [`CHECKPOINT`] bytes.
    checkpoints: Vec<(u32, u32)>,
}

/// Distance in bytes between two counting checkpoints of a [`LineIndex`].
pub const CHECKPOINT: usize = 1024;

/// A byte that starts a char (is not a UTF-8 continuation byte).
fn starts_char(b: u8) -> bool {
    (b as i8) >= -0x40
}

/// Chars and UTF-16 units that start in `bytes` (a 4-byte char is 2 units).
fn count(bytes: &[u8]) -> (u32, u32) {
    // Byte-wide counters over runs short enough not to overflow them: the
    // loop is vectorised sixteen bytes at a time (a `usize` count was four).
    let (mut chars, mut astral) = (0u32, 0u32);
    for run in bytes.chunks(u8::MAX as usize) {
        let (c, a) = run.iter().fold((0u8, 0u8), |(c, a), &b| {
            (c + u8::from(starts_char(b)), a + u8::from(b >= 0xF0))
        });
        chars += u32::from(c);
        astral += u32::from(a);
    }
    (chars, chars + astral)
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        let bytes = text.as_bytes();
        // Eight bytes at a time: a word none of whose bytes is below 14
        // (`\r` is 13) holds no terminator and is skipped whole; only the
        // words that may hold one are walked byte by byte.
        const ONES: u64 = u64::from_le_bytes([1; 8]);
        const HIGHS: u64 = ONES << 7;
        for (k, word) in bytes.chunks(8).enumerate() {
            if let Ok(w) = <[u8; 8]>::try_from(word) {
                let x = u64::from_le_bytes(w);
                // Nonzero exactly when some byte of `x` is below 14.
                if x.wrapping_sub(ONES * 14) & !x & HIGHS == 0 {
                    continue;
                }
            }
            for (j, &b) in word.iter().enumerate() {
                let i = k * 8 + j;
                if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                    line_starts.push(i as u32 + 1);
                }
            }
        }
        let mut checkpoints = Vec::new();
        if !text.is_ascii() {
            let (mut chars, mut units) = (0, 0);
            for chunk in bytes.chunks(CHECKPOINT) {
                checkpoints.push((chars, units));
                let (c, u) = count(chunk);
                chars += c;
                units += u;
            }
            checkpoints.push((chars, units));
        }
        LineIndex {
            line_starts,
            checkpoints,
        }
    }

    /// The number of lines (a text without a line terminator has one).
    pub fn len(&self) -> usize {
        self.line_starts.len()
    }

    /// Never true: even the empty text has one line.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Chars and UTF-16 units before byte `offset` of `text`.
    fn counts(&self, text: &str, offset: usize) -> (u32, u32) {
        if self.checkpoints.is_empty() {
            return (offset as u32, offset as u32);
        }
        let k = offset / CHECKPOINT;
        let (chars, units) = self.checkpoints.get(k).copied().unwrap_or_default();
        let (c, u) = count(&text.as_bytes()[k * CHECKPOINT..offset]);
        (chars + c, units + u)
    }

    /// Chars and UTF-16 units from byte `start` to byte `offset` of `text`
    /// (`start <= offset`): counted directly over a short distance (a
    /// column within its line, usually), through the checkpoints over a
    /// long one.
    fn counts_between(&self, text: &str, start: usize, offset: usize) -> (u32, u32) {
        if self.checkpoints.is_empty() {
            let d = (offset - start) as u32;
            return (d, d);
        }
        if offset - start <= CHECKPOINT {
            return count(&text.as_bytes()[start..offset]);
        }
        let (c0, u0) = self.counts(text, start);
        let (c1, u1) = self.counts(text, offset);
        (c1 - c0, u1 - u0)
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

    /// Byte range of line `line`'s text, without its terminator (empty past
    /// the last line).
    pub fn line_range(&self, text: &str, line: usize) -> Range<usize> {
        let Some(&start) = self.line_starts.get(line) else {
            return text.len()..text.len();
        };
        let start = start as usize;
        let end = match self.line_starts.get(line + 1) {
            None => text.len(),
            Some(&next) => {
                let next = next as usize;
                if text.as_bytes()[..next].ends_with(b"\r\n") {
                    next - 2
                } else {
                    next - 1
                }
            }
        };
        start..end.max(start)
    }

    /// 1-based (line, column) with the column counted in chars. Offsets past the
    /// end or inside a UTF-8 sequence are clamped to the previous char boundary.
    /// A leading byte-order mark is not a column (the lexer skips it, and
    /// editors do not show it), as rustc counts; the LSP positions of
    /// [`LineIndex::line_col_utf16`] count it, because they are positions
    /// in the text the client sent.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let mut col = self.counts_between(text, start, offset).0;
        if line == 0 && offset >= 3 && text.starts_with('\u{feff}') {
            col -= 1;
        }
        (line + 1, col as usize + 1)
    }

    /// 0-based (line, UTF-16 column), the position encoding LSP uses by default.
    pub fn line_col_utf16(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let col = self.counts_between(text, start, offset).1;
        (line, col as usize)
    }

    /// Inverse of [`LineIndex::line_col_utf16`]: byte offset of a 0-based
    /// (line, UTF-16 column), clamped to the line's end; a column inside a
    /// surrogate pair moves to the end of its character.
    pub fn offset_utf16(&self, text: &str, line: usize, col: usize) -> usize {
        if line >= self.line_starts.len() {
            return text.len();
        }
        let Range { start, end } = self.line_range(text, line);
        if self.checkpoints.is_empty() {
            return start.saturating_add(col).min(end);
        }
        let target = (self.counts(text, start).1 as usize).saturating_add(col);
        // Start from the last checkpoint inside the line that is not past
        // the target, then walk at most one checkpoint's distance.
        let first = start.div_ceil(CHECKPOINT);
        let last = end / CHECKPOINT;
        let mut from = start;
        if first <= last {
            let k =
                first + self.checkpoints[first..=last].partition_point(|c| c.1 as usize <= target);
            if k > first {
                from = (k - 1) * CHECKPOINT;
                while !text.is_char_boundary(from) {
                    from += 1;
                }
            }
        }
        let mut units = self.counts(text, from).1 as usize;
        for (i, c) in text[from..end].char_indices() {
            if units >= target {
                return from + i;
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
    fn a_leading_byte_order_mark_is_not_a_column() {
        let text = "\u{feff}let x;\nlet y;";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, text.find('l').unwrap()), (1, 1));
        assert_eq!(idx.line_col(text, text.find('x').unwrap()), (1, 5));
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, text.find('y').unwrap()), (2, 5));
        assert_eq!(idx.line_col_utf16(text, text.find('x').unwrap()), (0, 5));
    }

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

    #[test]
    fn long_non_ascii_lines_count_like_a_walk() {
        // Lines longer than a checkpoint, with chars of every width straddling
        // checkpoint boundaries.
        let mut text = String::new();
        for i in 0..3000 {
            text.push(['a', 'é', '€', '😀'][i % 4]);
            if i % 997 == 0 {
                text.push_str(["\n", "\r\n", "\r"][i % 3]);
            }
        }
        let idx = LineIndex::new(&text);
        for (offset, _) in text.char_indices().step_by(7) {
            let line = idx.line_of(offset);
            let start = idx.line_start(line);
            let before = &text[start..offset];
            let col16: usize = before.chars().map(char::len_utf16).sum();
            assert_eq!(
                idx.line_col(&text, offset),
                (line + 1, before.chars().count() + 1)
            );
            assert_eq!(idx.line_col_utf16(&text, offset), (line, col16));
            assert_eq!(idx.offset_utf16(&text, line, col16), offset);
        }
    }

    #[test]
    fn line_starts_match_a_byte_walk_across_chunk_edges() {
        // Terminators of each kind at every distance from a chunk edge,
        // `\r\n` split across one included.
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(["x", "\n", "yz", "\r\n", "\r", "é"][i % 6]);
            text.push_str(&"a".repeat(i % 35));
        }
        let bytes = text.as_bytes();
        let mut walk = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                walk.push(i as u32 + 1);
            }
        }
        assert_eq!(LineIndex::new(&text).line_starts, walk);
    }

    #[test]
    fn every_line_terminator_counts() {
        // `\n`, `\r\n` and a lone `\r` each end one line.
        let text = "a\nb\r\nc\rd\r\re";
        let idx = LineIndex::new(text);
        assert_eq!(idx.len(), 6);
        for (ch, line) in [('a', 0), ('b', 1), ('c', 2), ('d', 3), ('e', 5)] {
            let at = text.find(ch).unwrap();
            assert_eq!(idx.line_col_utf16(text, at), (line, 0));
            assert_eq!(idx.offset_utf16(text, line, 0), at);
        }
        // The end of a line is before its terminator, whichever it is.
        assert_eq!(idx.offset_utf16(text, 1, 9), text.find("\r\nc").unwrap());
        assert_eq!(idx.offset_utf16(text, 2, 9), text.find("\rd").unwrap());
        assert_eq!(idx.offset_utf16(text, 4, 9), text.find("\re").unwrap());
        assert_eq!(idx.line_col(text, text.find('e').unwrap()), (6, 1));
    }
}
