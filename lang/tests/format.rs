//! `kplc fmt`'s formatter (`kpl_lang::format`): snapshots of a corpus of
//! tricky inputs (`tests/format/*.kpl`, outputs in `snapshots/format/`),
//! idempotence, and properties over the examples and the corpus: changing
//! the whitespace between tokens does not change the result, comments
//! dropped into any gap survive in order, and no input makes it panic.
//! Each layout rule of the book's formatting chapter has a test in
//! `format_rules.rs`.

use std::path::{Path, PathBuf};

use kpl_lang::format::{FormatError, format_source};
use proptest::prelude::*;

#[path = "support/perturb.rs"]
mod perturb;
use perturb::{choices, comment_texts, has_comment, perturb, rewrite_gaps, with_comments};

fn fmt(src: &str) -> String {
    match format_source(src) {
        Ok(s) => s,
        Err(e) => panic!("{e}\n--- input:\n{src}"),
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
            assert_eq!(
                fmt(&src),
                src,
                "{name} is not formatted: run `kplc fmt` on it"
            );
        }
    }
}

#[test]
fn whitespace_between_tokens_does_not_matter() {
    for (name, src) in corpus() {
        let want = fmt(&src);
        for seed in 0..4 {
            let variant = perturb(&src, &choices(seed, 4096));
            assert_eq!(fmt(&variant), want, "{name}, seed {seed}:\n{variant}");
        }
        // Every token on a line of its own, and everything on few lines.
        for (gap, what) in [("\n", "one token per line"), (" ", "joined lines")] {
            let variant = rewrite_gaps(&src, |i, g| {
                if i == 0 || has_comment(g) || g.matches('\n').count() >= 2 {
                    g.to_string()
                } else {
                    gap.to_string()
                }
            });
            assert_eq!(fmt(&variant), want, "{name}: {what}");
        }
    }
}

#[test]
fn comments_in_every_gap_survive_in_order() {
    for (name, src) in corpus() {
        // Each kind of comment, before or after the whitespace of the gap.
        for (choice, late) in [(0u8, 0u8), (1, 0x80), (2, 0), (3, 0x80)] {
            let variant = with_comments(&src, &[choice | late]);
            let once = fmt(&variant);
            assert_eq!(
                comment_texts(&once),
                comment_texts(&variant),
                "{name}: comments lost or moved out of order"
            );
            assert_eq!(
                fmt(&once),
                once,
                "{name}: not idempotent with comments {choice}\n{once}"
            );
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
            Err(FormatError::NotAsWritten(at)) => prop_assert!(at.end as usize <= src.len()),
            Err(FormatError::Internal(why)) => prop_assert!(false, "internal error: {}", why),
        }
    }
}

/// Nesting at the parser's limit (128 levels) formats on a test thread's
/// small stack; one level more is refused (E0508).
#[test]
fn deep_nesting_formats_or_is_refused() {
    let limit = kpl_lang::parser::MAX_NESTING;
    let parens = |n: usize| format!("const A: u32 = {}1{};\n", "(".repeat(n), ")".repeat(n));
    // An `if` and its block are two levels.
    let blocks = |n: usize| {
        format!(
            "fn f() {{\n{}return;\n{}}}\n",
            "if true {\n".repeat(n / 2),
            "}\n".repeat(n / 2)
        )
    };
    let chain = |n: usize| format!("const A: u32 = 1{};\n", " + 1".repeat(n));
    for make in [parens, blocks, chain] {
        let ok = make(limit - 2);
        let once = fmt(&ok);
        assert_eq!(fmt(&once), once);
        assert!(matches!(
            format_source(&make(limit * 2)),
            Err(FormatError::Syntax(_))
        ));
    }
}
