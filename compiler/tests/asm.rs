//! Generated-assembly snapshots: every example and every program of the
//! execution corpus, disassembled with symbolic names. This is how code
//! generation changes are reviewed: a diff here is a diff in machine code.

use kplc::std_imports::ImportSources;

fn listing(path: &std::path::Path, imports: &kpl_lang::imports::ImportTable) -> String {
    tuned_listing(path, imports, kplc::lower::Options::default())
}

fn tuned_listing(
    path: &std::path::Path,
    imports: &kpl_lang::imports::ImportTable,
    options: kplc::lower::Options,
) -> String {
    let src = std::fs::read_to_string(path).expect("readable");
    let analysis = kpl_lang::analyze(&src, imports);
    assert!(
        !analysis.has_errors(),
        "{}: {:?}",
        path.display(),
        analysis.diagnostics
    );
    let compiled = kplc::codegen::compile_with(&analysis.file, &analysis.program, options);
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

/// The snapshots above are the default tuning (`Tune::Amd`, whatever the
/// machine: tests never see the host's). The one choice `Tune::Intel` makes
/// differently, the second byte of a value stored by a shift rather than
/// read as AH–BH, is snapshot on the two programs where it shows.
#[test]
fn intel_tuned_assembly() {
    use kplc::tune::Tune;
    assert_eq!(kplc::lower::Options::default().tune, Tune::Amd);
    let (imports, _) = ImportSources::embedded().load();
    let intel = kplc::lower::Options {
        tune: Tune::Intel,
        ..Default::default()
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/asm");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (name, path) in [
        ("grayscale", "../examples/grayscale/grayscale.kpl"),
        ("second_byte_stores", "tests/exec/second_byte_stores.kpl"),
    ] {
        let path = root.join(path);
        let amd = listing(&path, &imports);
        let listing = tuned_listing(&path, &imports, intel);
        // Every high-byte read of the default form is a shift here.
        assert!(amd.contains(", ah") || amd.contains(", ch") || amd.contains(", dh"));
        for high in [", ah", ", bh", ", ch", ", dh"] {
            assert!(!listing.contains(high), "{name}: {listing}");
        }
        assert!(listing.contains("shr"), "{name}: {listing}");
        settings.bind(|| insta::assert_snapshot!(format!("intel@{name}"), listing));
    }
}
