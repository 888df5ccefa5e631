//! Fuzz target: the verifier against mutated code. The fuzzer's bytes are an
//! edit script (flip, insert, delete at chosen offsets) applied to the code
//! of a valid object (an example plugin, chosen by the first byte); the
//! object is rebuilt with a consistent container and verified. The verifier
//! must never panic, and every mutant it accepts is run by the host runtime
//! with guard pages around plugin memory: a wild access or jump crashes the
//! fuzzer, which is the finding. (`compiler/tests/mutants.rs` is the same
//! idea run in CI, with each mutant in a child process.)
//!
//! Run: `cargo +stable fuzz run -s none verify_mutants`.
#![no_main]

use std::sync::OnceLock;

use kpl_host::{Arg, Instance, ValType};
use kplc::kpo::ObjectParts;
use libfuzzer_sys::fuzz_target;

const PLUGINS: [(&str, &str); 3] = [
    (
        "grayscale.kpl",
        include_str!("../../examples/grayscale/grayscale.kpl"),
    ),
    (
        "checksum.kpl",
        include_str!("../../examples/checksum/checksum.kpl"),
    ),
    (
        "packet_filter.kpl",
        include_str!("../../examples/packet_filter/packet_filter.kpl"),
    ),
];

fn originals() -> &'static [ObjectParts] {
    static PARTS: OnceLock<Vec<ObjectParts>> = OnceLock::new();
    PARTS.get_or_init(|| {
        let (imports, _) = kplc::std_imports::ImportSources::embedded().load();
        PLUGINS
            .iter()
            .map(|(name, src)| {
                let a = kpl_lang::analyze(src, &imports);
                let c = kplc::codegen::compile(&a.file, &a.program);
                kplc::object::parts(&c, name, src)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, script)) = data.split_first() else {
        return;
    };
    let all = originals();
    let mut parts = all[usize::from(pick) % all.len()].clone();
    // Edit script: (kind, offset lo, offset hi, byte) quadruples.
    for e in script.chunks_exact(4) {
        let at = usize::from(u16::from_le_bytes([e[1], e[2]])) % parts.code.len().max(1);
        match e[0] % 3 {
            0 => parts.code[at] ^= e[3],
            1 => parts.code.insert(at, e[3]),
            _ if parts.code.len() > 1 => {
                parts.code.remove(at);
            }
            _ => {}
        }
    }
    parts.clamp_to_code();
    // Not `write`: its debug check panics on parts the loader refuses,
    // and libFuzzer turns any panic into a crash, caught or not.
    let Ok(bytes) = kplc::kpo::try_write(&parts) else {
        return;
    };
    // Instance::load parses, verifies and only then maps.
    let Ok(mut inst) = Instance::load(&bytes) else {
        return;
    };
    inst.host_mut().quiet = true;
    let exports = inst.exports().to_vec();
    let input = [0x5Au8; 96];
    for ex in exports {
        let mut outs: Vec<Vec<u8>> = ex
            .params
            .iter()
            .filter(|p| matches!(p, ValType::Slice { writable: true, .. }))
            .map(|_| vec![0u8; 64])
            .collect();
        let mut outs = outs.iter_mut();
        let mut args: Vec<Arg<'_>> = ex
            .params
            .iter()
            .map(|p| match p {
                ValType::Slice {
                    writable: false,
                    elem,
                } => Arg::Slice {
                    bytes: &input,
                    elem_size: elem.size() as usize,
                },
                ValType::Slice {
                    writable: true,
                    elem,
                } => Arg::SliceMut {
                    bytes: outs.next().expect("one buffer per writable slice"),
                    elem_size: elem.size() as usize,
                },
                ValType::Scalar(kpl_host::ScalarType::Bool) => Arg::Int(1),
                _ => Arg::Int(3),
            })
            .collect();
        let Some(export) = inst.export(&ex.name) else {
            continue;
        };
        let _ = inst.call(export, &mut args, 100_000);
    }
});
