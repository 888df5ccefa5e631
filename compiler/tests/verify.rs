//! No false rejections: every object kplc produces — every program of the
//! execution suite, every example and a sample of differential-test
//! programs — passes the verifier.

use kpl_runtime_core::Object;
use kplc::std_imports::ImportSources;

fn verify_bytes(bytes: &[u8]) -> Result<u64, String> {
    let obj = Object::parse(bytes).map_err(|e| e.to_string())?;
    kpl_host::verify_object(&obj)
        .map(|v| v.max_stack)
        .map_err(|e| e.to_string())
}

fn compile(name: &str, src: &str, imports: &kpl_lang::imports::ImportTable) -> Vec<u8> {
    let a = kpl_lang::analyze(src, imports);
    assert!(!a.has_errors(), "{name}: {:?}", a.diagnostics);
    let c = kplc::codegen::compile(&a.file, &a.program);
    kplc::object::write(&c, name, src)
}

#[test]
fn everything_kplc_emits_verifies() {
    let (imports, _) = ImportSources::embedded().load();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    for dir in [
        "tests/exec",
        "../examples/grayscale",
        "../examples/packet_filter",
        "../examples/checksum",
        "../examples/histogram",
        "../examples/rate_limiter",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "kpl") {
                sources.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    for seed in 0..500 {
        sources.push((
            format!("difftest seed {seed}"),
            kplc::difftest::generate(seed).kpl,
        ));
    }
    let mut failures = Vec::new();
    for (name, src) in &sources {
        if let Err(e) = verify_bytes(&compile(name, src, &imports)) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} objects rejected:\n{}",
        failures.len(),
        sources.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
