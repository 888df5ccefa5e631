//! The verifier's verdict A/B harness: a pure performance change to the
//! verifier must give every object exactly the verdict it had (accept with
//! the same stack depth, or reject with the same rule and offset).
//!
//! `verdicts DIR` verifies every `*.kpo` in `DIR` (sorted by name) and 20
//! deterministic byte mutants of each one's code section (the content hash
//! recomputed, so that the mutant reaches the verifier), prints one line per
//! object and a digest of all lines. Run it with the old and the new
//! verifier on the same directory and compare the outputs. The objects come
//! from `cargo run -p kplc --example verdict_corpus -- DIR` and from the red
//! team's tests run with `KPL_DUMP_OBJECTS=DIR`.
//!
//! `verdicts --loop N FILE` verifies one object `N` times (for profiling:
//! `valgrind --tool=callgrind
//! --toggle-collect='kpl_runtime_core::verify::verify'`).

use kpl_runtime_core::Object;
use kpl_runtime_core::format::{HASH_OFFSET, HASHED_FROM};
use kpl_runtime_core::verify::{self, Decoded, FuncInfo, State, Workspace};
use kpl_runtime_core::xxh64;

/// Mutants per object.
const MUTANTS: u64 = 20;

/// One verification: what the verifier says, as one line of text.
fn verdict(bytes: &[u8]) -> String {
    let obj = match Object::parse(bytes) {
        Ok(o) => o,
        Err(e) => return format!("parse {e:?}"),
    };
    // Buffers by hand, not `OwnedWorkspace`: this file is copied into an
    // older checkout to build its verifier as the baseline, and older cores
    // do not have it.
    let n = Workspace::needs(&obj);
    let mut flags = vec![0u8; n.code_bytes];
    let mut slot = vec![0u32; n.code_bytes];
    let mut insns = vec![Decoded::EMPTY; n.insns];
    let mut states = vec![State::UNREACHED; n.states];
    let mut funcs = vec![FuncInfo::EMPTY; n.functions];
    let mut ws = Workspace {
        flags: &mut flags,
        slot: &mut slot,
        insns: &mut insns,
        states: &mut states,
        funcs: &mut funcs,
    };
    match verify::verify(&obj, &mut ws) {
        Ok(v) => format!("accept max_stack={}", v.max_stack),
        Err(e) => format!("reject {} {:#x} {}", e.rule, e.offset, e.what),
    }
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes that make interesting instructions when they replace others:
/// prefixes, opcodes of the allowed forms, ModRM bytes, `ret`, `int3`.
const INTERESTING: [u8; 16] = [
    0x48, 0x49, 0x4c, 0x4d, 0x41, 0x89, 0x8b, 0x83, 0x0f, 0x84, 0x85, 0xe9, 0xeb, 0xc3, 0xcc, 0x90,
];

/// Mutant `k` of `bytes`, whose code section is `code` (byte offsets), or
/// `None` if there is no code to mutate.
fn mutant(bytes: &[u8], code: (usize, usize), k: u64) -> Option<Vec<u8>> {
    let (start, len) = code;
    if len == 0 {
        return None;
    }
    let mut rng = Rng(xxh64(bytes) ^ k.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut m = bytes.to_vec();
    let at = start + rng.below(len);
    match k % 5 {
        0 => m[at] ^= 1 << rng.below(8),
        1 => m[at] = rng.next() as u8,
        2 => m[at] = INTERESTING[rng.below(INTERESTING.len())],
        3 => {
            for i in 0..1 + rng.below(4) {
                if at + i < start + len {
                    m[at + i] = rng.next() as u8;
                }
            }
        }
        _ => {
            // A run of code copied over another place of the code.
            let n = 1 + rng.below(8);
            let from = start + rng.below(len);
            for i in 0..n {
                if at + i < start + len && from + i < start + len {
                    m[at + i] = bytes[from + i];
                }
            }
        }
    }
    let h = xxh64(&m[HASHED_FROM..]);
    m[HASH_OFFSET..HASH_OFFSET + 8].copy_from_slice(&h.to_le_bytes());
    Some(m)
}

fn code_range(bytes: &[u8]) -> Option<(usize, usize)> {
    let obj = Object::parse(bytes).ok()?;
    let code = obj.code();
    let start = (code.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    Some((start, code.len()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--loop") {
        let n: u64 = args
            .get(1)
            .and_then(|s| s.parse().ok())
            .expect("--loop N FILE");
        let bytes = std::fs::read(args.get(2).expect("--loop N FILE")).expect("read object");
        let mut last = String::new();
        for _ in 0..n {
            last = verdict(std::hint::black_box(&bytes));
        }
        println!("{last}");
        return;
    }
    let dir = std::path::PathBuf::from(args.first().expect("usage: verdicts DIR"));
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("object directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "kpo"))
        .collect();
    paths.sort();
    let mut all = String::new();
    let (mut objects, mut accepted) = (0u64, 0u64);
    for p in &paths {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let bytes = std::fs::read(p).expect("read object");
        let mut lines = vec![format!("{name} {}", verdict(&bytes))];
        if let Some(code) = code_range(&bytes) {
            for k in 0..MUTANTS {
                if let Some(m) = mutant(&bytes, code, k) {
                    lines.push(format!("{name}#{k} {}", verdict(&m)));
                }
            }
        }
        for l in lines {
            objects += 1;
            accepted += u64::from(l.contains(" accept "));
            println!("{l}");
            all.push_str(&l);
            all.push('\n');
        }
    }
    println!(
        "digest {:016x} objects {objects} accepted {accepted}",
        xxh64(all.as_bytes())
    );
}
