//! What a program means, for checking that formatting never changes it
//! (shared by `fmt.rs` and `book.rs`): the object it compiles to, with the
//! source map's positions expressed as tokens rather than line:column.

#![allow(dead_code)]

use std::sync::OnceLock;

use kpl_lang::imports::ImportTable;
use kpl_lang::lexer;

pub fn imports() -> &'static ImportTable {
    static TABLE: OnceLock<ImportTable> = OnceLock::new();
    TABLE.get_or_init(|| kplc::std_imports::ImportSources::embedded().load().0)
}

/// Where each source byte offset lies: the index of its token among the
/// tokens that are not list-ending commas, and the offset inside the token.
pub fn token_positions(src: &str) -> impl Fn(u32) -> (usize, u32) {
    let toks = lexer::lex(src).tokens;
    let text = |i: usize| toks.get(i).map(|(_, s)| &src[s.range()]);
    let mut starts = Vec::new();
    let mut ordinal = 0;
    for (i, (_, s)) in toks.iter().enumerate() {
        starts.push((s.start, s.end, ordinal));
        let list_end = text(i) == Some(",") && matches!(text(i + 1), Some(")" | "]" | "}"));
        if !list_end {
            ordinal += 1;
        }
    }
    move |byte| {
        let i = starts.partition_point(|&(_, end, _)| end <= byte);
        match starts.get(i) {
            Some(&(start, _, ord)) => (ord, byte.saturating_sub(start)),
            None => (ordinal, 0),
        }
    }
}

/// What an object means: its bytes with the source map left out, and the
/// source map and trap sites as (code offset, token position).
pub type Meaning = (Vec<u8>, Vec<(u32, (usize, u32))>);

pub fn meaning(src: &str) -> Result<Meaning, String> {
    let a = kpl_lang::analyze(src, imports());
    if a.has_errors() {
        let codes: Vec<String> = a.diagnostics.iter().map(|d| d.code.to_string()).collect();
        return Err(format!("does not compile: {codes:?}"));
    }
    let compiled = kplc::codegen::compile(&a.file, &a.program);
    let mut parts = kplc::object::parts(&compiled, "plugin.kpl", src);
    parts.source_map.clear();
    let bytes = kplc::kpo::write(&parts);
    let token_position = token_positions(src);
    let mut positions: Vec<(u32, (usize, u32))> = compiled
        .code
        .source_map
        .iter()
        .map(|&(code, byte)| (code, token_position(byte)))
        .collect();
    positions.extend(
        compiled
            .sites
            .iter()
            .map(|&(_, code, byte)| (code, token_position(byte))),
    );
    Ok((bytes, positions))
}
