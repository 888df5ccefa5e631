//! Writes the objects of the verifier's verdict A/B check (see
//! `runtime-kmod/core/examples/verdicts.rs`) into a directory: every
//! program of `compiler/tests/exec` and `examples/*` that kplc compiles,
//! the differential generator's programs for seeds `0..1500`, and the
//! synthetic large plugin of the verifier benchmark.
//! `cargo run --release -p kplc --example verdict_corpus -- DIR [SEEDS]`.

use kplc::std_imports::ImportSources;
use std::path::{Path, PathBuf};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: verdict_corpus DIR [SEEDS]"));
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1500);
    std::fs::create_dir_all(&out).expect("output directory");
    let (imports, _) = ImportSources::embedded().load();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut paths = Vec::new();
    for e in std::fs::read_dir(root.join("compiler/tests/exec")).expect("exec dir") {
        paths.push(e.expect("entry").path());
    }
    for e in std::fs::read_dir(root.join("examples")).expect("examples") {
        let d = e.expect("entry").path();
        if d.is_dir() {
            for f in std::fs::read_dir(&d).expect("example dir") {
                paths.push(f.expect("entry").path());
            }
        }
    }
    paths.retain(|p| p.extension().is_some_and(|x| x == "kpl"));
    paths.sort();
    for p in paths {
        let Ok(src) = std::fs::read_to_string(&p) else {
            continue;
        };
        let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
        sources.push((name.replace('/', "_"), src));
    }
    for seed in 0..seeds {
        sources.push((
            format!("difftest_{seed:05}"),
            kplc::difftest::generate(seed).kpl,
        ));
    }
    sources.push(("synth_5000".into(), kplc::synth::plugin(5000)));
    let mut written = 0usize;
    for (name, src) in &sources {
        let a = kpl_lang::analyze(src, &imports);
        if a.has_errors() {
            continue; // a UI test's program: nothing to verify
        }
        let c = kplc::codegen::compile(&a.file, &a.program);
        let bytes = kplc::object::write(&c, name, src);
        std::fs::write(out.join(format!("{name}.kpo")), bytes).expect("write object");
        written += 1;
    }
    eprintln!("{written} objects in {}", out.display());
}
