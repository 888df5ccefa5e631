//! Verifications of the verifier benchmark's large generated plugin (or of
//! `grayscale`), for counting instructions per verification with callgrind
//! (deterministic, unlike criterion on a shared machine):
//!
//! ```text
//! cargo build --release -p kplc --example verify_count
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*verify_count*verify_n*' \
//!     target/release/examples/verify_count synth 3
//! ```
//!
//! `WHICH` is `synth` (the 5,000-line plugin of `benches/verify.rs`) or
//! `grayscale`; divide the count by `N`. A third argument writes the object
//! to that file (to profile the verifier alone, with debug information).

use std::hint::black_box;

use kpl_host::VerifyBuffers;
use kpl_runtime_core::Object;
use kplc::std_imports::ImportSources;

fn object(src: &str) -> Vec<u8> {
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(src, &imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let c = kplc::codegen::compile(&a.file, &a.program);
    kplc::object::write(&c, "bench.kpl", src)
}

#[inline(never)]
fn verify_n(buffers: &mut VerifyBuffers, obj: &Object<'_>, n: u32) {
    for _ in 0..n {
        buffers.verify(black_box(obj)).expect("verifies");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (which, n) = match args.as_slice() {
        [_, which, n] | [_, which, n, _] => (which.as_str(), n.parse::<u32>().ok()),
        _ => ("", None),
    };
    let src = match which {
        "synth" => kplc::synth::plugin(5000),
        "grayscale" => include_str!("../../examples/grayscale/grayscale.kpl").to_string(),
        _ => String::new(),
    };
    let Some(n) = n.filter(|_| !src.is_empty()) else {
        eprintln!("usage: verify_count synth|grayscale N [OUT.kpo]");
        std::process::exit(2);
    };
    let bytes = object(&src);
    if let Some(out) = args.get(3) {
        std::fs::write(out, &bytes).expect("writes the object");
    }
    let obj = Object::parse(&bytes).expect("parses");
    eprintln!("{} bytes of code", obj.code().len());
    let mut buffers = VerifyBuffers::for_object(&obj);
    verify_n(&mut buffers, &obj, n);
}
