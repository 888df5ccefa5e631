//! Shared code of the red-team tests: the verifier entry point, the
//! execution oracle, the project's programs compiled by kplc, and an
//! assembler for hand-made objects.
#![allow(dead_code)]

pub mod asm;
pub mod oracle;

use kpl_runtime_core::Object;
use kpl_runtime_core::verify::OwnedWorkspace;

/// Why an object was refused: the rule (as the kernel test names it) and
/// the verifier's words.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub rule: String,
    pub what: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

/// The one place the tests call the verifier (its API is being rewritten):
/// `Err` is the verifier's (or the parser's) reason to refuse the object.
pub fn verify(bytes: &[u8]) -> Result<(), Refusal> {
    dump(bytes);
    let obj = Object::parse(bytes).map_err(|e| Refusal {
        rule: "parse".into(),
        what: format!("parse: {e:?}"),
    })?;
    OwnedWorkspace::for_object(&obj)
        .verify(&obj)
        .map(|_| ())
        .map_err(|e| Refusal {
            rule: e.rule.to_string(),
            what: e.to_string(),
        })
}

/// With `KPL_DUMP_OBJECTS=DIR`, every object a test verifies is written
/// to `DIR`, named by its content hash: the red team's objects for the
/// verdict A/B harness (`runtime-kmod/core/examples/verdicts.rs`).
fn dump(bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("KPL_DUMP_OBJECTS") {
        let name = format!("redteam_{:016x}.kpo", kpl_runtime_core::xxh64(bytes));
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).expect("dump object");
    }
}

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every program of `compiler/tests/exec/*.kpl` and `examples/*/*.kpl`
/// that kplc compiles, as (path, object parts).
pub fn programs() -> Vec<(String, kplc::kpo::ObjectParts)> {
    let (imports, _) = kplc::std_imports::ImportSources::embedded().load();
    let root = root();
    let mut paths = Vec::new();
    for dir in ["compiler/tests/exec"] {
        for e in std::fs::read_dir(root.join(dir)).expect("exec dir") {
            paths.push(e.expect("entry").path());
        }
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
    let mut out = Vec::new();
    for p in paths {
        let Ok(src) = std::fs::read_to_string(&p) else {
            continue;
        };
        let a = kpl_lang::analyze(&src, &imports);
        if a.has_errors() {
            continue;
        }
        let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
        let c = kplc::codegen::compile(&a.file, &a.program);
        out.push((name.clone(), kplc::object::parts(&c, &name, &src)));
    }
    out
}

/// A deterministic generator (splitmix64).
pub struct Rng(u64);

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// Stream `index` of `seed`: a generator that depends on both and on
    /// nothing else (streams start at hashed, unrelated states).
    pub fn stream(seed: u64, index: u64) -> Rng {
        Rng(mix(mix(seed.wrapping_add(GOLDEN))
            ^ mix(index.wrapping_mul(GOLDEN) ^ 0x5851_f42d_4c95_7f2d)))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// An environment variable as a number.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
