//! `kplc fmt`'s formatter (`kpl_lang::format`): snapshots of a corpus of
//! tricky inputs (`tests/format/*.kpl`, outputs in `snapshots/format/`),
//! idempotence, and properties over the examples and the corpus: changing
//! the whitespace between tokens does not change the result, comments
//! dropped into any gap survive in order, and no input makes it panic.
//! Each layout rule of the book's formatting chapter has a test in
//! `format_rules.rs`.

use std::path::{Path, PathBuf};

use kpl_lang::format::{FormatError, format_source};
use kpl_lang::lexer;
use proptest::prelude::*;

fn fmt(src: &str) -> String {
    match format_source(src) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::write("/tmp/fmtw/fail.kpl", src);
            panic!("{e}\n--- input:\n{src}")
        }
    }
}

fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [root.join("tests/format"), root.join("../examples")] {
        let mut found = Vec::new();
        collect_kpl(&dir, &mut found);
        found.sort();
        files.extend(found);
    }
    assert!(files.len() >= 8, "corpus too small: {files:?}");
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            (p.display().to_string(), text)
        })
        .collect()
}

fn collect_kpl(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            collect_kpl(&p, out);
        } else if p.extension().is_some_and(|x| x == "kpl") {
            out.push(p);
        }
    }
}

/// The gaps between tokens (and before the first and after the last), as
/// byte ranges.
fn gaps(src: &str) -> Vec<(usize, usize)> {
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

fn has_comment(gap: &str) -> bool {
    gap.contains("//") || gap.contains("/*")
}

/// `src` with each gap replaced by `f(index, gap text)`.
fn rewrite_gaps(src: &str, mut f: impl FnMut(usize, &str) -> String) -> String {
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
fn perturb(src: &str, choices: &[u8]) -> String {
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

#[test]
fn corpus_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/format");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("format/*.kpl", |path| {
            let src = std::fs::read_to_string(path).expect("readable case");
            insta::assert_snapshot!("formatted", fmt(&src));
        });
    });
}

#[test]
fn formatting_is_idempotent_on_the_corpus() {
    for (name, src) in corpus() {
        let once = fmt(&src);
        let twice = fmt(&once);
        assert_eq!(once, twice, "{name}: formatting twice changes the result");
    }
}

#[test]
fn examples_are_formatted() {
    for (name, src) in corpus() {
        if name.contains("examples") {
            assert_eq!(fmt(&src), src, "{name} is not formatted: run `kplc fmt` on it");
        }
    }
}

#[test]
fn whitespace_between_tokens_does_not_matter() {
    for (name, src) in corpus() {
        let want = fmt(&src);
        for seed in 0..4u8 {
            let choices: Vec<u8> = (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8 ^ seed.wrapping_mul(37))
                .collect();
            let variant = perturb(&src, &choices);
            assert_eq!(fmt(&variant), want, "{name}, seed {seed}:\n{variant}");
        }
        // Every token on a line of its own, and everything on few lines.
        let tall = rewrite_gaps(&src, |i, g| {
            if i == 0 || has_comment(g) || g.matches('\n').count() >= 2 {
                g.to_string()
            } else {
                "\n".to_string()
            }
        });
        assert_eq!(fmt(&tall), want, "{name}: one token per line");
        let wide = rewrite_gaps(&src, |i, g| {
            if i == 0 || has_comment(g) || g.matches('\n').count() >= 2 {
                g.to_string()
            } else {
                " ".to_string()
            }
        });
        assert_eq!(fmt(&wide), want, "{name}: joined lines");
    }
}

/// The comments of a formatted text, in order, as trimmed lines.
fn comment_texts(src: &str) -> Vec<String> {
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
fn with_comments(src: &str, choices: &[u8]) -> String {
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

#[test]
fn comments_in_every_gap_survive_in_order() {
    for (name, src) in corpus() {
        for choice in 0..4u8 {
            for late in [0, 0x80] {
                let variant = with_comments(&src, &[choice | late]);
                let once = fmt(&variant);
                assert_eq!(
                    comment_texts(&once),
                    comment_texts(&variant),
                    "{name}: comments lost or moved out of order"
                );
                if fmt(&once) != once {
                    let _ = std::fs::write("/tmp/fmtw/variant.kpl", &variant);
                }
                assert_eq!(fmt(&once), once, "{name}: not idempotent with comments {choice}\n{once}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_comments_and_whitespace_keep_formatting_stable(
        which in 0usize..64,
        choices in proptest::collection::vec(any::<u8>(), 1..64),
        spaces in proptest::collection::vec(any::<u8>(), 1..256),
    ) {
        let files = corpus();
        let (name, src) = &files[which % files.len()];
        let variant = perturb(&with_comments(src, &choices), &spaces);
        let once = fmt(&variant);
        prop_assert_eq!(comment_texts(&once), comment_texts(&variant), "{}", name);
        prop_assert_eq!(fmt(&once), once.clone(), "{}: not idempotent:\n{}", name, variant);
    }

    #[test]
    fn arbitrary_text_is_formatted_or_refused_without_panicking(src in "\\PC{0,300}") {
        match format_source(&src) {
            Ok(out) => prop_assert_eq!(fmt(&out), out),
            Err(FormatError::Syntax(d)) => prop_assert!(!d.is_empty()),
            Err(FormatError::Internal(why)) => prop_assert!(false, "internal error: {}", why),
        }
    }
}
