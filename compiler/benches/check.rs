//! Front-end speed: `check` (lex, parse, resolve, type-check, rules) of a
//! generated 5,000-line plugin and of the grayscale example, and `build`
//! (check + code generation + object) of the generated plugin.

use criterion::{Criterion, criterion_group, criterion_main};
use kplc::std_imports::ImportSources;
use std::hint::black_box;

fn bench_check(c: &mut Criterion) {
    let (imports, _) = ImportSources::embedded().load();
    let big = kplc::synth::plugin(5000);
    let gray = include_str!("../../examples/grayscale/grayscale.kpl");
    let mut g = c.benchmark_group("check");
    g.bench_function("generated_5000_lines", |b| {
        b.iter(|| kpl_lang::analyze(black_box(&big), &imports))
    });
    g.bench_function("grayscale_example", |b| {
        b.iter(|| kpl_lang::analyze(black_box(gray), &imports))
    });
    g.finish();
    let mut g = c.benchmark_group("build");
    g.sample_size(20);
    g.bench_function("generated_5000_lines", |b| {
        b.iter(|| {
            let a = kpl_lang::analyze(black_box(&big), &imports);
            let c = kplc::codegen::compile(&a.file, &a.program);
            black_box(kplc::object::write(&c, "synth.kpl", &big))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_check);
criterion_main!(benches);
