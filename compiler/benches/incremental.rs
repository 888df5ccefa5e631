//! Editor latency through the salsa database (`kplc::db`): a cold check of
//! the generated 5,000-line plugin, and the re-check after a one-line edit
//! of one function body (what `kplc lsp` does on each keystroke before it
//! publishes diagnostics). Also a comment edit and a signature edit, and
//! cold and incremental builds (per-function code generation).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use kplc::db::{self, Db};
use kplc::std_imports::ImportSources;

/// `src` with the first `from` after `anchor` replaced by `to`.
fn edit_after(src: &str, anchor: &str, from: &str, to: &str) -> String {
    let a = src.find(anchor).expect("anchor");
    let at = a + src[a..].find(from).expect("text to edit");
    format!("{}{to}{}", &src[..at], &src[at + from.len()..])
}

fn bench_incremental(c: &mut Criterion) {
    let (table, _) = ImportSources::embedded().load();
    let imports = Arc::new(table);
    let big = kplc::synth::plugin(5000);
    let body_edit = edit_after(&big, "fn mix_100(", "(acc >> 13)", "(acc >> 11)");
    let comment_edit = edit_after(
        &big,
        "/// Mixes a block of data, variant 100.",
        "variant",
        "kind",
    );
    let sig_edit = edit_after(&big, "fn mix_100(", "seed: u32", "seed: u64");
    let new_fn = edit_after(
        &big,
        "/// Mixes a block of data, variant 100.",
        "/// Mixes",
        "fn extra(x: u32) -> u32 {\n    return x + 1;\n}\n\n/// Mixes",
    );
    let mut g = c.benchmark_group("incremental");
    g.bench_function("cold_check_5000_lines", |b| {
        b.iter(|| {
            let db = Db::default();
            let file = db.file(big.clone(), imports.clone());
            black_box(db::diagnostics(&db, file).len())
        })
    });
    for (name, edited) in [
        ("recheck_after_body_edit", &body_edit),
        ("recheck_after_comment_edit", &comment_edit),
        ("recheck_after_signature_edit", &sig_edit),
        ("recheck_after_adding_a_function", &new_fn),
    ] {
        let mut db = Db::default();
        let file = db.file(big.clone(), imports.clone());
        assert!(db::diagnostics(&db, file).is_empty());
        let mut flip = false;
        g.bench_function(name, |b| {
            b.iter(|| {
                flip = !flip;
                let text = if flip { edited } else { &big };
                db.set_text(file, text.clone());
                black_box(db::diagnostics(&db, file).len())
            })
        });
    }
    // Builds: the object through per-function code generation.
    g.bench_function("cold_build_5000_lines", |b| {
        b.iter(|| {
            let db = Db::default();
            let file = db.file(big.clone(), imports.clone());
            black_box(db::compiled(&db, file).is_some())
        })
    });
    let mut db = Db::default();
    let file = db.file(big.clone(), imports.clone());
    assert!(db::compiled(&db, file).is_some());
    let mut flip = false;
    g.bench_function("rebuild_after_body_edit", |b| {
        b.iter(|| {
            flip = !flip;
            let text = if flip { &body_edit } else { &big };
            db.set_text(file, text.clone());
            black_box(db::compiled(&db, file).is_some())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_incremental);
criterion_main!(benches);
