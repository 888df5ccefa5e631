//! Fuzz target: lex, parse and check arbitrary input against the real import
//! table. Any panic, hang or stack overflow is a bug.
//!
//! Run: `cargo +stable fuzz run -s none parse_check` (or with nightly and
//! ASan: `cargo +nightly fuzz run parse_check`).
#![no_main]

use std::sync::OnceLock;

use kpl_lang::imports::ImportTable;
use libfuzzer_sys::fuzz_target;

fn imports() -> &'static ImportTable {
    static TABLE: OnceLock<ImportTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let src = include_str!("../../std-imports/kernel.kpli");
        ImportTable::load(&[("std-imports/kernel.kpli".into(), src.into())]).0
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let analysis = kpl_lang::analyze(src, imports());
        // Every diagnostic's span lies within the source.
        for d in &analysis.diagnostics {
            assert!(d.primary.span.end as usize <= src.len());
        }
    }
});
