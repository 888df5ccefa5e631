//! Generated-assembly snapshots: every example and every program of the
//! execution corpus, disassembled with symbolic names. This is how code
//! generation changes are reviewed: a diff here is a diff in machine code.

use kplc::std_imports::ImportSources;

fn listing(path: &std::path::Path, imports: &kpl_lang::imports::ImportTable) -> String {
    let src = std::fs::read_to_string(path).expect("readable");
    let analysis = kpl_lang::analyze(&src, imports);
    assert!(
        !analysis.has_errors(),
        "{}: {:?}",
        path.display(),
        analysis.diagnostics
    );
    let compiled = kplc::codegen::compile(&analysis.file, &analysis.program);
    kplc::codegen::disassemble(&compiled)
}

#[test]
fn example_assembly() {
    let (imports, _) = ImportSources::embedded().load();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/asm");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("../../examples", "*/*.kpl", |path| {
            insta::assert_snapshot!("example", listing(path, &imports));
        });
        insta::glob!("exec/*.kpl", |path| {
            insta::assert_snapshot!("construct", listing(path, &imports));
        });
    });
}
