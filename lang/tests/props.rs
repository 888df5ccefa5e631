//! Properties of the front end on hostile input: it never panics, never
//! hangs, and always answers with diagnostics.

use kpl_lang::imports::ImportTable;
use proptest::prelude::*;

fn imports() -> ImportTable {
    let src = include_str!("../../std-imports/kernel.kpli");
    ImportTable::load(&[("std-imports/kernel.kpli".into(), src.into())]).0
}

const VOCABULARY: &[&str] = &[
    "fn", "export", "let", "var", "const", "static", "struct", "use", "if", "else", "while", "for",
    "in", "return", "break", "continue", "abort", "as", "mut", "true", "false", "extern", "kernel",
    "::", "(", ")", "{", "}", "[", "]", ";", ",", ":", ".", "..", "->", "=", "+=", "<<=", "==",
    "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "&&", "||", "<<", ">>", "x", "y",
    "s", "f", "Point", "u8", "u32", "i64", "bool", "0", "1", "255", "0xff", "-1", "\"msg\"",
    "clock_ns", "log_u64", "[]u8", "[]mut u8", "/* c */", "// c\n", "\n",
];

proptest! {
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,300}") {
        let t = imports();
        let _ = kpl_lang::analyze(&src, &t);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let t = imports();
        let src = String::from_utf8_lossy(&bytes);
        let _ = kpl_lang::analyze(&src, &t);
    }

    #[test]
    fn random_token_sequences_never_panic(
        toks in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..120)
    ) {
        let t = imports();
        let src = toks.join(" ");
        let analysis = kpl_lang::analyze(&src, &t);
        // Garbage is never silently accepted as a plugin with exports.
        if !analysis.has_errors() {
            prop_assert!(analysis.program.functions.iter().all(|f| !f.name.is_empty()));
        }
    }

    /// Token soup wrapped in a function body: exercises statement recovery.
    #[test]
    fn random_bodies_never_panic(
        toks in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..80)
    ) {
        let t = imports();
        let src = format!("export fn f(s: []u8, o: []mut u8) -> u32 {{ {} }}\nexport fn g() -> u32 {{ return 1; }}", toks.join(" "));
        let analysis = kpl_lang::analyze(&src, &t);
        // Recovery keeps the second function whatever the first one holds.
        prop_assert!(analysis.program.functions.iter().any(|f| f.name == "g")
            || analysis.has_errors());
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let t = imports();
    for (open, close) in [("(", ")"), ("[", "]"), ("-", ""), ("{", "}")] {
        let n = 100_000;
        let body = format!(
            "{}1{}",
            open.repeat(n),
            close.repeat(if close.is_empty() { 0 } else { n })
        );
        let src = if open == "{" {
            format!("export fn f() {{ {body} }}")
        } else {
            format!("export fn f() -> i32 {{ return {body}; }}")
        };
        let analysis = kpl_lang::analyze(&src, &t);
        assert!(analysis.has_errors(), "{open}: no error");
    }
    let long_sum = format!(
        "export fn f() -> i32 {{ return {}1; }}",
        "1 + ".repeat(50_000)
    );
    let analysis = kpl_lang::analyze(&long_sum, &t);
    assert!(
        analysis
            .diagnostics
            .iter()
            .any(|d| d.code == kpl_lang::Code::E0508)
    );
}

const SEEDS: &[&str] = &[
    include_str!("../../examples/grayscale/grayscale.kpl"),
    include_str!("../../examples/packet_filter/packet_filter.kpl"),
    include_str!("../../examples/checksum/checksum.kpl"),
    include_str!("../../examples/histogram/histogram.kpl"),
    include_str!("../../examples/rate_limiter/rate_limiter.kpl"),
];

/// Splits on whitespace and punctuation boundaries, keeping the pieces.
fn pieces(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in src.chars() {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

proptest! {
    /// Valid plugins with a few pieces deleted, duplicated or replaced: the
    /// nearest thing to a user mid-edit.
    #[test]
    fn edited_examples_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, proptest::sample::select(VOCABULARY)), 1..6)
    ) {
        let t = imports();
        let mut p = pieces(SEEDS[seed]);
        for (at, kind, word) in edits {
            if p.is_empty() { break; }
            let i = at.index(p.len());
            match kind {
                0 => { p.remove(i); }
                1 => { let dup = p[i].clone(); p.insert(i, dup); }
                _ => { p[i] = word.to_string(); }
            }
        }
        let _ = kpl_lang::analyze(&p.concat(), &t);
    }
}

#[test]
fn examples_are_clean() {
    let t = imports();
    for src in SEEDS {
        let a = kpl_lang::analyze(src, &t);
        assert!(a.diagnostics.is_empty(), "{:#?}", a.diagnostics);
    }
}
