//! Fuzz target: lex, parse and check arbitrary input against the real import
//! table, and format it when it parses. Any panic, hang or stack overflow is
//! a bug; so is a formatter that cannot reproduce a file faithfully (its
//! internal error) or whose output is not a fixed point.
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
        match kpl_lang::format::format_source(src) {
            Ok(out) => match kpl_lang::format::format_source(&out) {
                Ok(again) => assert_eq!(again, out, "formatting is not idempotent"),
                Err(e) => panic!("the formatter's output does not format: {e}"),
            },
            // Refused: syntax errors, or a habit the checker reports.
            Err(
                kpl_lang::format::FormatError::Syntax(_)
                | kpl_lang::format::FormatError::NotAsWritten(_),
            ) => {}
            Err(e) => panic!("{e}"),
        }
    }
});
