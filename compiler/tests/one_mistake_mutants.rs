//! "One mistake, one diagnostic", measured on mistakes nobody wrote by hand:
//! every example and `tests/exec` program that checks clean gets one
//! single-token mistake at a time (a token deleted or doubled, two tokens
//! swapped, a `;` or a closer deleted, two letters of a keyword swapped),
//! and the diagnostics of the mutant are counted: its errors, and the
//! warnings the program did not have. A cascade shows as more than one.
//!
//! Some mutants are two mistakes (a `;` swapped onto the next line is one
//! missing and one extra) and some leave nothing to tell a cascade from
//! (a declaration's name deleted), so the test holds a floor under the
//! share of mutants with exactly one diagnostic, just below what the
//! compiler reaches today (`KPL_MUTANT_REPORT=1` prints the worst cases). `KPL_ONE_MISTAKE_MUTANTS=N` sets how many mutants
//! each program gets (default 12).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kpl_lang::{Diagnostic, Severity};
use kplc::difftest::Rng;
use kplc::std_imports::ImportSources;

#[path = "support/fixes.rs"]
mod fixes;

/// The least share, in thousandths, of the mutants (with any diagnostic)
/// that get exactly one. Measured 2026-12-06: 960 (2,887 of 3,007), then
/// 976 (2,936 of 3,007) once a function's `}` swapped with its last `;` or
/// with the next item's keyword was read as one mistake, then 981 (2,951)
/// once a `]` lost before a `;`, an assignment or a block's `{`, a `}`
/// lost before `else` or a struct literal's `;`, were each closed where
/// they belong. The mutants are
/// the same on every run (a fixed seed), so this is a ratchet: turning off
/// one rule of `BrokenParts` (names on a broken line) fails it. Raise it
/// when the compiler gets better.
const FLOOR_PER_MILLE: u64 = 980;

const KEYWORDS: [&str; 12] = [
    "fn", "let", "var", "return", "if", "else", "while", "for", "struct", "const", "static",
    "export",
];

fn programs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [root.join("../examples"), root.join("tests/exec")] {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("a directory of programs") {
                let p = entry.expect("an entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "kpl") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// One single-token mistake in `src`, or `None` when the drawn kind has no
/// place in it.
fn mutate(src: &str, tokens: &[(usize, usize)], rng: &mut Rng) -> Option<String> {
    let pick = |rng: &mut Rng, of: &[(usize, usize)]| -> Option<(usize, usize)> {
        (!of.is_empty()).then(|| of[rng.below(of.len() as u64) as usize])
    };
    let text = |(a, b): (usize, usize)| &src[a..b];
    let with = |a: usize, b: usize, new: &str| format!("{}{new}{}", &src[..a], &src[b..]);
    match rng.below(6) {
        0 => pick(rng, tokens).map(|(a, b)| with(a, b, "")),
        1 => {
            let (a, b) = pick(rng, tokens)?;
            Some(with(b, b, &format!(" {}", text((a, b)))))
        }
        2 => {
            let i = rng.below(tokens.len().saturating_sub(1).max(1) as u64) as usize;
            let (x, y) = (*tokens.get(i)?, *tokens.get(i + 1)?);
            Some(format!(
                "{}{}{}{}{}",
                &src[..x.0],
                text(y),
                &src[x.1..y.0],
                text(x),
                &src[y.1..]
            ))
        }
        3 => {
            let semis: Vec<_> = tokens.iter().copied().filter(|&t| text(t) == ";").collect();
            pick(rng, &semis).map(|(a, b)| with(a, b, ""))
        }
        4 => {
            let closers: Vec<_> = tokens
                .iter()
                .copied()
                .filter(|&t| matches!(text(t), ")" | "]" | "}"))
                .collect();
            pick(rng, &closers).map(|(a, b)| with(a, b, ""))
        }
        _ => {
            let words: Vec<_> = tokens
                .iter()
                .copied()
                .filter(|&t| text(t).len() > 2 && KEYWORDS.contains(&text(t)))
                .collect();
            let (a, b) = pick(rng, &words)?;
            let mut w: Vec<u8> = src[a..b].bytes().collect();
            let i = rng.below(w.len() as u64 - 1) as usize;
            w.swap(i, i + 1);
            Some(with(a, b, std::str::from_utf8(&w).ok()?))
        }
    }
}

/// How many mutants each program gets: `KPL_ONE_MISTAKE_MUTANTS`, or 12.
fn mutants_per_program() -> u64 {
    std::env::var("KPL_ONE_MISTAKE_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

/// The byte ranges of `src`'s tokens as written (none the lexer made up).
fn token_spans(src: &str) -> Vec<(usize, usize)> {
    kpl_lang::lexer::lex(src)
        .tokens
        .iter()
        .map(|(_, s)| (s.start as usize, s.end as usize))
        .filter(|&(a, b)| a < b)
        .collect()
}

fn key(d: &Diagnostic) -> (String, String) {
    (d.code.to_string(), d.message.to_string())
}

#[test]
fn single_token_mistakes_give_one_diagnostic() {
    let (imports, _) = ImportSources::embedded().load();
    let per_program = mutants_per_program();
    let report = std::env::var_os("KPL_MUTANT_REPORT").is_some();
    let mut rng = Rng::new(0x6f6e_655f_6d69);
    let (mut judged, mut one) = (0u64, 0u64);
    let mut worst: Vec<(usize, String, String)> = Vec::new();
    let mut programs_used = 0;
    for path in programs() {
        let src = std::fs::read_to_string(&path).expect("a readable program");
        let base = kpl_lang::analyze(&src, &imports);
        if base.has_errors() {
            continue;
        }
        programs_used += 1;
        let mut known: HashMap<(String, String), usize> = HashMap::new();
        for d in &base.diagnostics {
            *known.entry(key(d)).or_default() += 1;
        }
        let tokens = token_spans(&src);
        for _ in 0..per_program {
            let Some(mutant) = mutate(&src, &tokens, &mut rng) else {
                continue;
            };
            let got = kpl_lang::analyze(&mutant, &imports).diagnostics;
            let mut left = known.clone();
            let count = got
                .iter()
                .filter(|d| {
                    d.severity == Severity::Error || {
                        // A warning the program had is not the mutant's.
                        let k = left.entry(key(d)).or_default();
                        let new = *k == 0;
                        *k = k.saturating_sub(1);
                        new
                    }
                })
                .count();
            if count == 0 {
                continue;
            }
            judged += 1;
            if count == 1 {
                one += 1;
            } else if report {
                let codes: Vec<String> = got
                    .iter()
                    .map(|d| format!("{} {}", d.code, d.message))
                    .collect();
                worst.push((
                    count,
                    path.display().to_string(),
                    format!("{codes:?}\n{mutant}"),
                ));
            }
        }
    }
    if report {
        worst.sort_by_key(|w| std::cmp::Reverse(w.0));
        for (n, p, detail) in worst.iter().take(20) {
            eprintln!("{n} diagnostics: {p}: {detail}\n");
        }
    }
    eprintln!(
        "{programs_used} programs, {judged} mutants with a diagnostic, {one} with exactly one ({} per mille)",
        one * 1000 / judged.max(1)
    );
    assert!(programs_used >= 50, "only {programs_used} clean programs");
    assert!(judged >= 400, "only {judged} mutants judged");
    assert!(
        one * 1000 >= FLOOR_PER_MILLE * judged,
        "{one} of {judged} mutants got exactly one diagnostic, under {FLOOR_PER_MILLE} per mille \
         (KPL_MUTANT_REPORT=1 lists the worst)"
    );
}

/// Fixes as data on the same mutants: every fix offered (placeholders
/// aside), applied alone, removes its diagnostic, and a machine-applicable
/// one adds none (`support/fixes.rs`). The UI corpus checks the fixes its
/// authors thought of; these are the mistakes nobody chose. When this test
/// came (2026-12-06), 247 of 1,931 fixes failed it; none do now.
/// `KPL_ONE_MISTAKE_MUTANTS=40` (6,227 fixes) still finds 13, nearly all a
/// maybe-incorrect `]` closing a `[` that holds two `;` (`[[0; 3; 3];`),
/// where the balancing cannot tell an array's `;` from a statement's.
#[test]
fn every_fix_of_a_mutant_fixes_it() {
    let (imports, _) = ImportSources::embedded().load();
    let per_program = mutants_per_program();
    let mut rng = Rng::new(0x6669_7865_735f);
    let (mut applied, mut failures) = (0usize, Vec::new());
    for path in programs() {
        let src = std::fs::read_to_string(&path).expect("a readable program");
        let base = kpl_lang::analyze(&src, &imports);
        if base.has_errors() {
            continue;
        }
        let tokens = token_spans(&src);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        for _ in 0..per_program {
            if let Some(mutant) = mutate(&src, &tokens, &mut rng) {
                let (n, f) = fixes::check_fixes(&name, &mutant, &imports, &base.diagnostics);
                applied += n;
                failures.extend(f);
            }
        }
    }
    eprintln!("{applied} fixes of mutants applied and checked");
    assert!(applied >= 300, "only {applied} fixes offered");
    assert!(
        failures.is_empty(),
        "{} fix(es) of {applied} do not fix their diagnostic or add one:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
