//! Mutation testing of the verifier: code of valid objects is mutated (bit
//! flips, inserted and deleted bytes), the object rebuilt with a correct
//! content hash, and verified. The verifier must never panic; every mutant
//! it accepts is run by `kplc run` in a child process, which must end
//! normally or with a trap — never by a signal (a wild access or jump).
//!
//! `KPL_MUTANTS=N` sets the number of mutants (default 400),
//! `KPL_MUTANT_SEED=S` the random seed (default 42).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kpl_runtime_core::Object;
use kplc::difftest::Rng;
use kplc::std_imports::ImportSources;

#[test]
fn accepted_mutants_stay_in_the_sandbox() {
    let (imports, _) = ImportSources::embedded().load();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let programs = [
        "tests/exec/algo_sort_signed.kpl",
        "tests/exec/for_over_slice.kpl",
        "tests/exec/static_ring_buffer.kpl",
        "tests/exec/div_i32.kpl",
        "tests/exec/array_nested_2d.kpl",
        "../examples/grayscale/grayscale.kpl",
        "../examples/packet_filter/packet_filter.kpl",
        "../examples/checksum/checksum.kpl",
    ];
    let n: usize = std::env::var("KPL_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let dir = std::env::temp_dir().join(format!("kpl-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.bin");
    std::fs::write(&input, (0..96u8).collect::<Vec<_>>()).unwrap();
    let seed = std::env::var("KPL_MUTANT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let mut rng = Rng::new(seed);
    let (mut accepted, mut ran, mut failures) = (0, 0, Vec::new());
    let parts: Vec<_> = programs
        .iter()
        .filter_map(|p| {
            let src = std::fs::read_to_string(root.join(p)).ok()?;
            let a = kpl_lang::analyze(&src, &imports);
            let c = kplc::codegen::compile(&a.file, &a.program);
            Some(kplc::object::parts(&c, p, &src))
        })
        .collect();
    for i in 0..n {
        let mut parts = parts[i % parts.len()].clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(parts.code.len() as u64) as usize;
            match rng.below(3) {
                0 => parts.code[at] ^= 1 << rng.below(8),
                1 => parts.code.insert(at, rng.next_u64() as u8),
                _ => {
                    parts.code.remove(at);
                }
            }
        }
        parts.clamp_to_code();
        let Ok(bytes) = kplc::kpo::try_write(&parts) else {
            continue; // the container the parts describe is refused
        };
        let Ok(obj) = Object::parse(&bytes) else {
            continue;
        };
        if kpl_host::verify_object(&obj).is_err() {
            continue;
        }
        accepted += 1;
        let Some(export) = obj.exports().next() else {
            continue;
        };
        let path = dir.join(format!("m{i}.kpo"));
        std::fs::write(&path, &bytes).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kplc"));
        cmd.arg("run")
            .arg(&path)
            .arg("--entry")
            .arg(export.name)
            .arg("--fuel")
            .arg("100000");
        for p in export.signature.params() {
            match p {
                kpl_runtime_core::ValType::Slice {
                    writable: false, ..
                } => {
                    cmd.arg("--in").arg(&input);
                }
                kpl_runtime_core::ValType::Slice { writable: true, .. } => {
                    cmd.arg("--out-len").arg("64");
                }
                _ => {
                    cmd.arg("--arg").arg("3");
                }
            }
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        ran += 1;
        match status.and_then(|s| s.code()) {
            Some(0 | 2 | 3) => {}
            other => failures.push(format!(
                "mutant {i} of {}: exit {other:?} (kept as {})",
                export.name,
                path.display()
            )),
        }
    }
    if failures.is_empty() {
        std::fs::remove_dir_all(&dir).ok();
    }
    eprintln!("mutants: {n} made, {accepted} accepted by the verifier, {ran} executed");
    assert!(
        failures.is_empty(),
        "{} accepted mutants escaped:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
