//! Hostile input (`kpl_testgen::hostile`): every shape at 256 KiB, 512 KiB
//! and 1 MiB, through what `kplc check` does (a fresh database, the
//! diagnostics, each rendered for a terminal). The growth table in
//! `book/src/reference/limits.md` comes from here: doubling an input should
//! cost at most about 2.2 times as much, and 1 MiB of any shape well under a
//! second.
//!
//! `cargo bench -p kplc --bench hostile [-- SHAPE]`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kpl_testgen::hostile;
use kplc::std_imports::ImportSources;

/// Sizes in bytes: each twice the one before.
const SIZES: [usize; 3] = [256 << 10, 512 << 10, 1 << 20];

fn check_and_render(src: &str, imports: &Arc<kpl_lang::imports::ImportTable>) -> usize {
    let db = kplc::db::Db::default();
    let file = db.file(src.to_string(), imports.clone());
    let diags = kplc::db::diagnostics(&db, file);
    let lines = kpl_lang::LineIndex::new(src);
    diags
        .iter()
        .map(|d| kplc::render::render_plain("hostile.kpl", src, &lines, d).len())
        .sum()
}

fn bench_hostile(c: &mut Criterion) {
    let imports = Arc::new(ImportSources::embedded().load().0);
    let mut g = c.benchmark_group("hostile");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for shape in hostile::shapes() {
        for bytes in SIZES {
            let src = (shape.build)(hostile::size_for(&shape, bytes));
            g.throughput(Throughput::Bytes(src.len() as u64));
            g.bench_with_input(BenchmarkId::new(shape.name, bytes >> 10), &src, |b, src| {
                b.iter(|| check_and_render(black_box(src), &imports))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_hostile);
criterion_main!(benches);
