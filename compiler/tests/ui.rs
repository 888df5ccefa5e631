//! Diagnostic golden tests. Each `tests/ui/*.kpl` starts with
//! `// expect: CODE, CODE, ...` (or `none`): the exact sequence of diagnostic
//! codes, in source order, that checking the file must give. The rendered
//! output of every case is an insta snapshot under `snapshots/ui/`.

use kplc::render;
use kplc::std_imports::ImportSources;

fn expected_codes(src: &str) -> Vec<String> {
    // (A case may start with a byte-order mark.)
    let first = src
        .trim_start_matches('\u{FEFF}')
        .lines()
        .next()
        .unwrap_or_default();
    let list = first
        .strip_prefix("// expect:")
        .unwrap_or_else(|| panic!("first line must be `// expect: ...`, found {first:?}"))
        .trim();
    if list == "none" {
        return Vec::new();
    }
    list.split(',').map(|c| c.trim().to_string()).collect()
}

#[test]
fn ui_cases() {
    let (imports, problems) = ImportSources::embedded().load();
    assert!(
        problems.is_empty(),
        "std-imports has problems: {problems:?}"
    );
    let mut failures = Vec::new();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/ui");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("ui/*.kpl", |path| {
            let src = std::fs::read_to_string(path).expect("readable case");
            let name = format!("ui/{}", path.file_name().unwrap().to_string_lossy());
            let analysis = kpl_lang::analyze(&src, &imports);
            let got: Vec<String> = analysis
                .diagnostics
                .iter()
                .map(|d| d.code.to_string())
                .collect();
            let want = expected_codes(&src);
            if got != want {
                failures.push(format!("{name}: expected {want:?}, got {got:?}"));
            }
            let lines = kpl_lang::LineIndex::new(&src);
            let rendered: String = analysis
                .diagnostics
                .iter()
                .map(|d| render::render_plain(&name, &src, &lines, d))
                .collect();
            insta::assert_snapshot!("diagnostics", rendered);
        });
    });
    assert!(
        failures.is_empty(),
        "{} case(s) gave the wrong diagnostics:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The oracle for "fixes point the right way": for every fix of every
/// diagnostic of the corpus (placeholders aside), apply its edits and check
/// again. The diagnostic must be gone and no diagnostic may appear that was
/// not there before (compared by code and position, moved by the edits).
#[test]
fn every_fix_fixes_its_diagnostic() {
    use kpl_lang::diag::Applicability;
    let (imports, _) = ImportSources::embedded().load();
    let mut failures = Vec::new();
    let mut applied = 0;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "kpl"))
        .collect();
    paths.sort();
    for path in paths {
        let src = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let before = kpl_lang::analyze(&src, &imports).diagnostics;
        for d in &before {
            for h in &d.help {
                if h.edits.is_empty() || h.applicability == Applicability::HasPlaceholders {
                    continue;
                }
                applied += 1;
                // Offsets after the edits (applied last to first).
                let moved = |o: u32| -> u32 {
                    let mut at = i64::from(o);
                    for e in &h.edits {
                        if e.span.end <= o && !(e.span.start == e.span.end && e.span.start == o) {
                            at += e.replacement.len() as i64 - i64::from(e.span.end - e.span.start);
                        }
                    }
                    at as u32
                };
                let mut fixed = src.clone();
                for e in h.edits.iter().rev() {
                    fixed.replace_range(e.span.range(), &e.replacement);
                }
                let after = kpl_lang::analyze(&fixed, &imports).diagnostics;
                let key = |x: &kpl_lang::Diagnostic| (x.code, x.primary.span.start);
                let old: Vec<_> = before
                    .iter()
                    .filter(|x| *x != d)
                    .map(|x| (x.code, moved(x.primary.span.start)))
                    .collect();
                let target = (d.code, moved(d.primary.span.start));
                // A guess (maybe-incorrect) must fix its diagnostic, but may
                // uncover errors it hid: only a machine-applicable fix
                // promises a clean result.
                let strict = h.applicability == Applicability::MachineApplicable;
                let new: Vec<String> = after
                    .iter()
                    .filter(|x| key(x) == target || (strict && !old.contains(&key(x))))
                    .map(|x| format!("{} {}", x.code, x.message))
                    .collect();
                if !new.is_empty() {
                    failures.push(format!(
                        "{name}: {} `{}` (help `{}`): after the fix: {new:?}\n{fixed}",
                        d.code, d.message, h.message
                    ));
                }
            }
        }
    }
    assert!(applied > 0);
    assert!(
        failures.is_empty(),
        "{} fix(es) of {applied} do not fix their diagnostic or add one:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
