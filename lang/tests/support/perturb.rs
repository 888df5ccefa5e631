//! Text transformations for testing the formatter, shared by
//! `lang/tests/format.rs` and `compiler/tests/fmt.rs`: the whitespace
//! between tokens rewritten in ways that must not change the formatted
//! result, and comments dropped into the gaps between tokens.

#![allow(dead_code)]

use kpl_lang::lexer;

/// The gaps between tokens (and before the first and after the last), as
/// byte ranges.
pub fn gaps(src: &str) -> Vec<(usize, usize)> {
    let toks = lexer::lex(src).tokens;
    let mut out = Vec::new();
    let mut at = 0;
    for (_, s) in &toks {
        out.push((at, s.start as usize));
        at = s.end as usize;
    }
    out.push((at, src.len()));
    out
}

pub fn has_comment(gap: &str) -> bool {
    gap.contains("//") || gap.contains("/*")
}

/// `src` with each gap replaced by `f(index, gap text)`.
pub fn rewrite_gaps(src: &str, mut f: impl FnMut(usize, &str) -> String) -> String {
    let mut out = String::new();
    let mut copied = 0;
    for (i, (a, b)) in gaps(src).into_iter().enumerate() {
        out.push_str(&src[copied..a]);
        out.push_str(&f(i, &src[a..b]));
        copied = b;
    }
    out.push_str(&src[copied..]);
    out
}

/// Whitespace between tokens changed without changing its meaning for the
/// layout: a gap without comments keeps whether it holds a blank line, and
/// otherwise gets any mix of spaces, tabs and single newlines; in a gap
/// with comments only the runs of spaces and tabs change.
pub fn perturb(src: &str, choices: &[u8]) -> String {
    let mut k = 0;
    let mut pick = |n: usize| {
        let c = choices.get(k).copied().unwrap_or(0) as usize;
        k += 1;
        c % n
    };
    rewrite_gaps(src, |i, gap| {
        if i == 0 {
            return gap.to_string();
        }
        if has_comment(gap) {
            let mut out = String::new();
            let mut chars = gap.chars().peekable();
            let mut in_comment: Option<bool> = None; // Some(true): block
            while let Some(c) = chars.next() {
                match in_comment {
                    None if c == '/' && matches!(chars.peek(), Some('/' | '*')) => {
                        in_comment = Some(chars.peek() == Some(&'*'));
                        out.push(c);
                    }
                    None if c == ' ' || c == '\t' => {
                        while matches!(chars.peek(), Some(' ' | '\t')) {
                            chars.next();
                        }
                        out.push_str(["  ", "\t", " ", "   "][pick(4)]);
                    }
                    None => out.push(c),
                    Some(false) => {
                        if c == '\n' {
                            in_comment = None;
                        }
                        out.push(c);
                    }
                    Some(true) => {
                        out.push(c);
                        if c == '*' && chars.peek() == Some(&'/') {
                            out.push('/');
                            chars.next();
                            in_comment = None;
                        }
                    }
                }
            }
            return out;
        }
        if gap.matches('\n').count() >= 2 {
            return ["\n\n", "\n  \n\t\n   ", " \n\n\n\n"][pick(3)].to_string();
        }
        [" ", "\n", "  \n      ", "\t", "\n\t\t", "   "][pick(6)].to_string()
    })
}

/// The comments of a formatted text, in order, as trimmed lines.
pub fn comment_texts(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (a, b) in gaps(src) {
        let g = &src[a..b];
        let mut rest = g;
        while let Some(at) = rest.find('/') {
            let tail = &rest[at..];
            if tail.starts_with("//") {
                let end = tail.find('\n').unwrap_or(tail.len());
                out.push(tail[..end].trim_end().to_string());
                rest = &tail[end..];
            } else if tail.starts_with("/*") {
                let end = tail.find("*/").map_or(tail.len(), |e| e + 2);
                out.push(
                    tail[..end]
                        .lines()
                        .map(str::trim_end)
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                rest = &tail[end..];
            } else {
                rest = &tail[1..];
            }
        }
    }
    out
}

/// Drops a comment into gaps chosen by `choices`: a line comment, a block
/// comment on the line, or a block comment over two lines.
pub fn with_comments(src: &str, choices: &[u8]) -> String {
    rewrite_gaps(src, |i, gap| {
        let c = choices.get(i % choices.len().max(1)).copied().unwrap_or(0);
        let comment = match c % 7 {
            0 => format!(" // c{i}\n"),
            1 => format!(" /* b{i} */ "),
            2 => format!("\n/* m{i}\n   second line */\n"),
            3 => format!("\n// own {i}\n"),
            _ => return gap.to_string(),
        };
        if c & 0x80 != 0 {
            format!("{gap}{comment}")
        } else {
            format!("{comment}{gap}")
        }
    })
}

/// `n` pseudo-random bytes from `seed` (splitmix64), for [`perturb`] and
/// [`with_comments`].
pub fn choices(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}
