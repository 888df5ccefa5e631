//! Diagnostic golden tests. Each `tests/ui/*.kpl` starts with
//! `// expect: CODE, CODE, ...` (or `none`): the exact sequence of diagnostic
//! codes, in source order, that checking the file must give. The rendered
//! output of every case is an insta snapshot under `snapshots/ui/`.

use kplc::render;
use kplc::std_imports::ImportSources;

#[path = "support/fixes.rs"]
mod fixes;
use fixes::check_fixes;

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

/// The `.kpl` files of a corpus directory under `compiler/`, in name order.
fn kpl_files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "kpl"))
        .collect();
    paths.sort();
    paths
}

/// The oracle for "fixes point the right way", over the whole UI corpus.
#[test]
fn every_fix_fixes_its_diagnostic() {
    let (imports, _) = ImportSources::embedded().load();
    let mut failures = Vec::new();
    let mut applied = 0;
    for path in kpl_files("tests/ui") {
        let src = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (n, f) = check_fixes(&name, &src, &imports, &[]);
        applied += n;
        failures.extend(f);
    }
    eprintln!("{applied} fixes of the UI corpus applied and checked");
    assert!(applied > 50, "only {applied} fixes in the corpus");
    assert!(
        failures.is_empty(),
        "{} fix(es) of {applied} do not fix their diagnostic or add one:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same oracle over every pair of integer types in each place a
/// mismatch can arise, with every context type: a mismatch always gets a
/// fix, it is machine-applicable whenever a lossless conversion exists,
/// and every fix fixes.
#[test]
fn generated_mismatches_get_working_fixes() {
    use kpl_lang::diag::Applicability;
    use kpl_lang::types::IntTy;
    let (imports, _) = ImportSources::embedded().load();
    let lossless = |from: IntTy, to: IntTy| match (from.signed(), to.signed()) {
        (false, false) | (true, true) => to.bits() >= from.bits(),
        (false, true) => to.bits() > from.bits(),
        (true, false) => false,
    };
    let some_lossless = |l: IntTy, r: IntTy| {
        IntTy::ALL
            .into_iter()
            .any(|t| lossless(l, t) && lossless(r, t))
    };
    let mut failures = Vec::new();
    let mut applied = 0;
    let mut cases = 0;
    for l in IntTy::ALL {
        for r in IntTy::ALL {
            if l == r {
                continue;
            }
            let (ln, rn) = (l.name(), r.name());
            // (source, whether a lossless fix must exist)
            let mut programs: Vec<(String, bool)> = vec![
                (
                    format!("export fn f(a: {ln}, b: {rn}) -> bool {{\n    return a < b;\n}}\n"),
                    some_lossless(l, r),
                ),
                (
                    format!(
                        "export fn f(a: {ln}, b: {rn}) -> {ln} {{\n    var x: {ln} = a;\n    x += b;\n    return x;\n}}\n"
                    ),
                    lossless(r, l),
                ),
                (
                    format!(
                        "fn g(x: {rn}) -> {rn} {{\n    return x;\n}}\n\nexport fn f(a: {ln}) -> {rn} {{\n    return g(a) + g(a * a);\n}}\n"
                    ),
                    lossless(l, r),
                ),
                (
                    format!(
                        "export fn f(a: {ln}) -> bool {{\n    let i = 0;\n    let s: {rn} = 7;\n    return i < s && a == a;\n}}\n"
                    ),
                    true,
                ),
            ];
            programs.extend([
                // An annotated `let`, a field, an array element, a shift.
                (
                    format!("export fn f(a: {ln}) -> {rn} {{\n    let x: {rn} = a;\n    return x;\n}}\n"),
                    lossless(l, r),
                ),
                (
                    format!("struct S {{\n    f: {rn},\n}}\n\nexport fn f(a: {ln}) -> {rn} {{\n    let s = S {{ .f = a }};\n    return s.f;\n}}\n"),
                    lossless(l, r),
                ),
                (
                    format!("export fn f(a: {ln}, b: {rn}) -> {rn} {{\n    let xs: [{rn}; 2] = [b, a];\n    return xs[1];\n}}\n"),
                    lossless(l, r),
                ),
                (
                    format!("export fn f(a: {ln}) -> {rn} {{\n    let x: {rn} = a << 3;\n    return x;\n}}\n"),
                    lossless(l, r),
                ),
                (
                    format!("export fn f(a: {ln}, b: {rn}) -> bool {{\n    let xs = [a, b, a];\n    return xs[0] == xs[2];\n}}\n"),
                    some_lossless(l, r),
                ),
                // Assigned to, and compared with, a local typed by its literal.
                (
                    format!("export fn f(a: {ln}) -> bool {{\n    var x = 0;\n    x = a;\n    return x == a;\n}}\n"),
                    true,
                ),
                (
                    format!("export fn f(a: {ln}, b: {rn}) -> bool {{\n    var n = 1;\n    n += a;\n    return n == a && b == b;\n}}\n"),
                    true,
                ),
            ]);
            for c in IntTy::ALL {
                let cn = c.name();
                programs.push((
                    format!("export fn f(a: {ln}, b: {rn}) -> {cn} {{\n    return a * b;\n}}\n"),
                    lossless(l, c) && lossless(r, c),
                ));
            }
            for (src, must_be_exact) in programs {
                cases += 1;
                let diags = kpl_lang::analyze(&src, &imports).diagnostics;
                let Some(d) = diags.iter().find(|d| d.is_error()) else {
                    // e.g. a `u8` return of a `u8` operation: no mismatch
                    continue;
                };
                let exact = d.help.iter().any(|h| {
                    h.applicability == Applicability::MachineApplicable && !h.edits.is_empty()
                });
                if must_be_exact && !exact {
                    failures.push(format!(
                        "no machine-applicable fix for {} in\n{src}",
                        d.message
                    ));
                }
                if d.help.iter().all(|h| h.edits.is_empty()) {
                    failures.push(format!("no fix at all for {} in\n{src}", d.message));
                }
                let (n, f) = check_fixes("generated", &src, &imports, &[]);
                applied += n;
                failures.extend(f);
            }
        }
    }
    for t in IntTy::ALL {
        for c in IntTy::ALL {
            for v in ["1000", "100000", "5000000000", "-1", "-40000"] {
                let (tn, cn) = (t.name(), c.name());
                let src = format!("export fn f(b: {tn}) -> {cn} {{\n    return b + {v};\n}}\n");
                cases += 1;
                let diags = kpl_lang::analyze(&src, &imports).diagnostics;
                let errors = diags.iter().filter(|d| d.is_error()).count();
                if errors > 1 {
                    failures.push(format!("{errors} errors (one mistake) in\n{src}"));
                }
                let (n, f) = check_fixes("generated", &src, &imports, &[]);
                applied += n;
                failures.extend(f);
            }
        }
    }
    // A local typed by its literal that meets an `l` and is returned as an
    // `r`: one mistake (its missing annotation). When `l` widens to `r`, one
    // declaration fix serves every use: exactly one error, and its fix works.
    for l in IntTy::ALL {
        for r in IntTy::ALL {
            let (ln, rn) = (l.name(), r.name());
            for src in [
                format!(
                    "export fn f(a: {ln}) -> {rn} {{\n    var n = 0;\n    n += a;\n    return n;\n}}\n"
                ),
                format!(
                    "export fn f(a: {ln}) -> {rn} {{\n    var m = 0;\n    if a > m {{\n        m = a;\n    }}\n    return m;\n}}\n"
                ),
                format!(
                    "export fn f(a: {ln}) -> {rn} {{\n    var m = 1;\n    m = a;\n    return m + 1;\n}}\n"
                ),
                format!(
                    "export fn f(a: {ln}) -> {rn} {{\n    var t = [0; 4];\n    t[1] = a;\n    return t[1];\n}}\n"
                ),
                format!(
                    "export fn f(a: {ln}, i: u32) -> {rn} {{\n    let t = [1, 2, 3];\n    if t[i % 3] > a {{\n        return 0;\n    }}\n    return t[0];\n}}\n"
                ),
            ] {
                cases += 1;
                let diags = kpl_lang::analyze(&src, &imports).diagnostics;
                let errors = diags.iter().filter(|d| d.is_error()).count();
                if lossless(l, r) && errors != usize::from(l != IntTy::I32 || r != IntTy::I32) {
                    failures.push(format!("{errors} errors (one mistake) in\n{src}"));
                }
                let (n, f) = check_fixes("generated", &src, &imports, &[]);
                applied += n;
                failures.extend(f);
            }
        }
    }
    eprintln!("{cases} generated cases, {applied} fixes applied and checked");
    assert!(applied > 500, "only {applied} fixes in {cases} cases");
    assert!(
        failures.is_empty(),
        "{} problem(s) in {cases} generated cases ({applied} fixes applied):\n{}",
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
    let paths = kpl_files("tests/one_mistake");
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
