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
    ///
    /// The tokens are not all in the order of the source: the items
    /// written inside a function are moved after it. So a gap between two
    /// tokens may be most of the file, and a line of functions nested in
    /// each other made the gaps' sum quadratic (over 8 s a MiB). A long gap
    /// is answered from an index of the line breaks instead, built the
    /// first time one is met.
    pub(super) fn of_tokens(src: &str, tokens: &[(crate::lexer::Tok, crate::span::Span)]) -> Self {
        const SHORT_GAP: usize = 256;
        let mut set = LineStarts::new(src.len());
        let mut breaks: Option<Vec<usize>> = None;
        let mut prev_end = 0;
        for (_, span) in tokens {
            let start = span.start as usize;
            let starts_line = match src.get(prev_end..start) {
                None => false,
                Some(gap) if gap.len() <= SHORT_GAP => gap.contains(['\n', '\r']),
                Some(_) => {
                    let breaks = breaks.get_or_insert_with(|| {
                        src.bytes()
                            .enumerate()
                            .filter(|&(_, b)| b == b'\n' || b == b'\r')
                            .map(|(i, _)| i)
                            .collect()
                    });
                    breaks
                        .get(breaks.partition_point(|&b| b < prev_end))
                        .is_some_and(|&b| b < start)
                }
            };
            if starts_line {
                set.insert(start);
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

    /// Tokens out of the source's order (items moved out of a function)
    /// are answered as in order: by the text between each and the one
    /// before it in the list, a long gap as a short one.
    #[test]
    fn long_and_backward_gaps() {
        use crate::lexer::Tok;
        use crate::span::Span;
        let pad = " ".repeat(1000);
        let src = format!("a{pad}b\n{pad}c{pad}\rd");
        let at = |c: &str| src.find(c).unwrap();
        let tok = |c: &str| (Tok::Ident(c.into()), Span::new(at(c), at(c) + 1));
        let set = LineStarts::of_tokens(&src, &[tok("a"), tok("b"), tok("c"), tok("a"), tok("d")]);
        // `b` follows `a` on its line; `c` starts the next; `a` again,
        // after `c`, is behind it; `d` is after a `\r` past `a`.
        assert!(!set.contains(at("b")));
        assert!(set.contains(at("c")));
        assert!(!set.contains(at("a")));
        assert!(set.contains(at("d")));
        let far = LineStarts::of_tokens(&src, &[tok("a"), tok("c")]);
        assert!(far.contains(at("c")));
    }

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
