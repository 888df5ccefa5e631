//! The set of tokens that start a line, by their byte offset: where a
//! missing `;` is recoverable (see `line_break` in the grammar).
//!
//! A bit per byte of the source rather than a `HashSet`: the set is built
//! from every token and asked about at every place a `;` may be missing,
//! and hashing each offset (SipHash) there was a few percent of parsing a
//! large file. A bit per byte is an eighth of the source's size.

pub(super) struct LineStarts {
    bits: Vec<u64>,
}

impl LineStarts {
    /// An empty set for offsets `0..=len`.
    pub(super) fn new(len: usize) -> LineStarts {
        LineStarts {
            bits: vec![0; len / 64 + 1],
        }
    }

    /// Adds `offset`, which is at most the `len` the set was made for.
    pub(super) fn insert(&mut self, offset: usize) {
        if let Some(word) = self.bits.get_mut(offset / 64) {
            *word |= 1 << (offset % 64);
        }
    }

    /// The tokens of `tokens` that start a line of `src`: a missing `;`
    /// before one of them is recoverable.
    pub(super) fn of_tokens(src: &str, tokens: &[(crate::lexer::Tok, crate::span::Span)]) -> Self {
        let mut set = LineStarts::new(src.len());
        let mut prev_end = 0;
        for (_, span) in tokens {
            let gap = src.get(prev_end..span.start as usize).unwrap_or("");
            if gap.contains(['\n', '\r']) {
                set.insert(span.start as usize);
            }
            prev_end = span.end as usize;
        }
        set
    }

    pub(super) fn contains(&self, offset: usize) -> bool {
        self.bits
            .get(offset / 64)
            .is_some_and(|word| word & (1 << (offset % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::LineStarts;

    #[test]
    fn holds_what_was_inserted_and_nothing_else() {
        let mut set = LineStarts::new(200);
        for at in [0, 63, 64, 65, 127, 200] {
            set.insert(at);
        }
        for at in 0..=201 {
            assert_eq!(
                set.contains(at),
                [0, 63, 64, 65, 127, 200].contains(&at),
                "{at}"
            );
        }
    }
}
