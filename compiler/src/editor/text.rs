//! The text of an open document between two checks, as the language server
//! receives it: whole texts (full synchronisation, which the server asks
//! for) and ranged edits (which clients may send anyway). A ranged edit is
//! addressed by LSP positions, so applying it to a `String` meant a line
//! index of the whole text and a copy of its tail per edit: a burst of
//! twenty thousand edits to a megabyte took nine seconds before the server
//! could check anything. Edits go to a rope instead (`ropey`, O(log n) per
//! edit and per position), and the text is flattened once, when the
//! database gets it.
//!
//! Positions mean what [`kpl_lang::LineIndex::offset_utf16`] says, so that
//! an edit lands where the position a diagnostic was published at points:
//! lines end at `\n`, `\r\n` or a lone `\r` (ropey's `cr_lines`); a column
//! past the end of its line is the line's end; a line past the last is the
//! end of the text; a column inside a surrogate pair is the next character.

use ropey::Rope;

/// A position as the protocol counts it: a 0-based line and a column in
/// UTF-16 code units (`lsp.rs` converts from the protocol's types, which
/// only it uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

impl Position {
    pub fn new(line: u32, character: u32) -> Position {
        Position { line, character }
    }
}

/// A document's text with the changes not yet given to the database.
pub enum PendingText {
    /// A whole text, as opened or as fully synchronised.
    Whole(String),
    /// A text with ranged edits applied.
    Edited(Rope),
}

impl PendingText {
    /// Applies one change: a whole text, or the text that replaces a range.
    pub fn apply(self, range: Option<(Position, Position)>, text: String) -> PendingText {
        let Some(range) = range else {
            return PendingText::Whole(text);
        };
        let mut rope = match self {
            PendingText::Whole(s) => Rope::from_str(&s),
            PendingText::Edited(rope) => rope,
        };
        let (a, b) = (char_at(&rope, range.0), char_at(&rope, range.1));
        let (a, b) = (a.min(b), a.max(b));
        rope.remove(a..b);
        rope.insert(a, &text);
        PendingText::Edited(rope)
    }

    /// The text, flattened.
    pub fn into_string(self) -> String {
        match self {
            PendingText::Whole(s) => s,
            PendingText::Edited(rope) => rope.to_string(),
        }
    }
}

/// The char index of an LSP position in `rope` (see the module's first
/// lines for what a position past an end means).
fn char_at(rope: &Rope, p: Position) -> usize {
    let line = p.line as usize;
    if line >= rope.len_lines() {
        return rope.len_chars();
    }
    let start = rope.line_to_char(line);
    // The line's end, before its line break.
    let mut end = rope.line_to_char(line + 1);
    if end > start && rope.char(end - 1) == '\n' {
        end -= 1;
    }
    if end > start && rope.char(end - 1) == '\r' {
        end -= 1;
    }
    let line_units = rope.char_to_utf16_cu(start);
    let target = line_units.saturating_add(p.character as usize);
    if target >= rope.char_to_utf16_cu(end) {
        return end;
    }
    // The first char that starts at or after the target: ropey answers the
    // char a unit inside a surrogate pair belongs to, one before that.
    let c = rope.utf16_cu_to_char(target);
    if rope.char_to_utf16_cu(c) < target {
        c + 1
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kpl_lang::LineIndex;

    /// Every position of a text with every kind of line break and of char
    /// width (and positions past every end) lands where the line index the
    /// rest of the server uses puts it.
    #[test]
    fn positions_agree_with_the_line_index() {
        let text = "ab\r\né€😀x\rq\n\n😀😀\r\r\nend";
        let rope = Rope::from_str(text);
        let index = LineIndex::new(text);
        for line in 0..10u32 {
            for character in 0..12u32 {
                let byte = index.offset_utf16(text, line as usize, character as usize);
                let c = char_at(&rope, Position::new(line, character));
                assert_eq!(
                    rope.char_to_byte(c),
                    byte,
                    "line {line}, character {character}"
                );
            }
        }
    }

    /// Random ranged edits give the text that the same edits give applied
    /// to a `String` through the line index (what the server did before).
    #[test]
    fn edits_agree_with_edits_on_a_string() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(n)) as u32
        };
        let pieces = [
            "",
            "a",
            "\n",
            "\r\n",
            "\r",
            "é",
            "😀",
            "fn f() {}\n",
            "\r\n\r",
        ];
        let mut pending = PendingText::Whole("start\r\nof é text\n😀".to_string());
        let mut plain = "start\r\nof é text\n😀".to_string();
        for _ in 0..2000 {
            let p = |next: &mut dyn FnMut(u32) -> u32| Position::new(next(8), next(10));
            let range = (p(&mut next), p(&mut next));
            let insert = pieces[next(pieces.len() as u32) as usize].to_string();
            let index = LineIndex::new(&plain);
            let at =
                |q: Position| index.offset_utf16(&plain, q.line as usize, q.character as usize);
            let (a, b) = (at(range.0), at(range.1));
            plain.replace_range(a.min(b)..a.max(b), &insert);
            pending = pending.apply(Some(range), insert);
        }
        assert_eq!(pending.into_string(), plain);
    }
}
