//! Compile time of long functions (`kpl_testgen::long_functions`) at `n`,
//! `2n` and `4n`: each doubling should about double the time. Checked and
//! analysed outside the timing; what is timed is `codegen::compile`, the
//! back end from the checked program to machine code.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpl_testgen::long_functions;
use kplc::std_imports::ImportSources;

fn benches(c: &mut Criterion) {
    let (imports, _) = ImportSources::embedded().load();
    let mut g = c.benchmark_group("compile_growth");
    g.sample_size(10);
    for (name, build) in long_functions::shapes() {
        for n in [1_000, 2_000, 4_000] {
            let src = build(n);
            let a = kpl_lang::analyze(&src, &imports);
            assert!(!a.has_errors(), "{:?}", a.diagnostics);
            g.bench_function(format!("{name}_{n}"), |b| {
                b.iter(|| kplc::codegen::compile(black_box(&a.file), black_box(&a.program)))
            });
        }
    }
    g.finish();
}

criterion_group!(compile_growth, benches);
criterion_main!(compile_growth);
