//! Local profiling aid (not committed).
use kpl_host::VerifyBuffers;
use kpl_runtime_core::Object;
use kplc::std_imports::ImportSources;
use std::time::Instant;

fn object(src: &str) -> Vec<u8> {
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(src, &imports);
    assert!(!a.has_errors());
    let c = kplc::codegen::compile(&a.file, &a.program);
    kplc::object::write(&c, "bench.kpl", src)
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "gray".into());
    let iters: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let src = if which.ends_with(".kpl") {
        std::fs::read_to_string(&which).unwrap()
    } else if which == "gray" {
        include_str!("../../examples/grayscale/grayscale.kpl").to_string()
    } else {
        kplc::synth::plugin(5000)
    };
    let bytes = object(&src);
    let obj = Object::parse(&bytes).unwrap();
    let mut b = VerifyBuffers::for_object(&obj);
    let mut best = f64::MAX;
    let mut runs = 0;
    for _ in 0..iters {
        let t = Instant::now();
        let v = b.verify(&obj).unwrap();
        runs = v.block_runs;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let n = obj.code().len() as f64;
    println!(
        "{which}: code {} bytes, block runs {runs}, best {:.2} us, {:.1} MB/s",
        n,
        best * 1e6,
        n / best / 1e6
    );
}
