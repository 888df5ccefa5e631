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

/// One mistake, one diagnostic: every file of `tests/one_mistake/` is a
/// correct plugin with one typical first mistake of a C or Rust programmer
/// (its first line says which). Checking it must give exactly one
/// diagnostic, an error: nothing the mistake merely caused (a name it
/// declared reported as missing, an unused variable whose use was in the
/// broken part, a missing return after a broken statement) may follow.
#[test]
fn one_mistake_one_diagnostic() {
    let (imports, _) = ImportSources::embedded().load();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/one_mistake");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/one_mistake exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "kpl"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 30,
        "the corpus has only {} files",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let src = std::fs::read_to_string(path).expect("readable case");
        let analysis = kpl_lang::analyze(&src, &imports);
        let got: Vec<String> = analysis
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        if got.len() != 1 || !analysis.diagnostics[0].is_error() {
            failures.push(format!("{}: {got:?}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} file(s) did not give exactly one error:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
