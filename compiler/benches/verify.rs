//! Load-time cost of isolation: parse + verify + link + image write of
//! `grayscale` with buffers allocated up front (as the kernel module keeps
//! them per load), and the verifier's throughput in bytes of code on a large
//! generated plugin. The baseline in the same run is parse + link + write
//! alone, so the ratio is what verification adds.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kpl_host::VerifyBuffers;
use kpl_runtime_core::{HostImport, Object};
use kplc::std_imports::ImportSources;

fn object(src: &str) -> Vec<u8> {
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(src, &imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let c = kplc::codegen::compile(&a.file, &a.program);
    kplc::object::write(&c, "bench.kpl", src)
}

/// Every buffer one load needs, sized for `bytes`.
struct Buffers {
    verifier: VerifyBuffers,
    resolution: Vec<u32>,
    slots: Vec<u64>,
    image: Vec<u8>,
    data: Vec<u8>,
}

impl Buffers {
    fn for_object(bytes: &[u8]) -> Buffers {
        let obj = Object::parse(bytes).expect("parses");
        let layout = obj.layout();
        Buffers {
            verifier: VerifyBuffers::for_object(&obj),
            resolution: vec![0; obj.import_count()],
            slots: vec![0; obj.import_count()],
            image: vec![0; layout.image_len as usize],
            data: vec![0; layout.data_size as usize],
        }
    }

    fn verify(&mut self, obj: &Object<'_>) {
        self.verifier.verify(obj).expect("verifies");
    }

    fn link(&mut self, obj: &Object<'_>, host: &[HostImport<'_>]) {
        kpl_runtime_core::link(obj, host, &mut self.resolution).expect("links");
        for (s, &r) in self.slots.iter_mut().zip(&self.resolution) {
            *s = 0x1000 + u64::from(r) * 16;
        }
        kpl_runtime_core::write_image(obj, &self.slots, &mut self.image).expect("image");
        kpl_runtime_core::write_data(obj, &mut self.data).expect("data");
    }
}

fn benches(c: &mut Criterion) {
    let host_table = kpl_host::host_imports();
    let host: Vec<HostImport<'_>> = host_table
        .iter()
        .map(|h| HostImport {
            module: h.module,
            name: h.name,
            hash: h.hash,
        })
        .collect();

    let gray_src = include_str!("../../examples/grayscale/grayscale.kpl");
    let gray = object(gray_src);
    let mut b = Buffers::for_object(&gray);
    let mut g = c.benchmark_group("load_grayscale");
    g.bench_function("parse_verify_link", |bench| {
        bench.iter(|| {
            let obj = Object::parse(black_box(&gray)).expect("parses");
            b.verify(&obj);
            b.link(&obj, &host);
        })
    });
    g.bench_function("parse_link_baseline", |bench| {
        bench.iter(|| {
            let obj = Object::parse(black_box(&gray)).expect("parses");
            b.link(&obj, &host);
        })
    });
    g.finish();

    let big_src = kplc::synth::plugin(5000);
    let big = object(&big_src);
    let obj = Object::parse(&big).expect("parses");
    let code_len = obj.code().len() as u64;
    let mut b = Buffers::for_object(&big);
    let mut g = c.benchmark_group("verifier_throughput");
    g.throughput(Throughput::Bytes(code_len));
    g.bench_function(format!("synth_5000_lines_{code_len}_bytes"), |bench| {
        bench.iter(|| b.verify(black_box(&obj)))
    });
    g.finish();
}

criterion_group!(verify_benches, benches);
criterion_main!(verify_benches);
