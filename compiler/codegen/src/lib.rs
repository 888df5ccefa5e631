//! kpl-codegen: the compiler proper as a library. A checked program
//! (`kpl_lang::analyze`) goes in; a `.kpo` object comes out.
//!
//! ```text
//!  kpl_lang::analyze ─► lower ─► opt ─► opt::inline ─► backend::regalloc ─► backend::emit
//!                         (ir)   (ir)       (ir)              (ir)           (bytes, patched with
//!                                                                              format::image_layout)
//!                                                 pipeline::Compiled ─► object::write ─► .kpo
//! ```
//!
//! [`pipeline`] is the only module that sequences the stages; each stage
//! module below it depends on [`ir`] (and [`analysis`]) and on nothing to its
//! right or left. The object layout comes from `kpl_runtime_core::format`,
//! the definition the loader uses, so compiler and loader agree by
//! construction.
//!
//! Start reading at [`pipeline::compile_with`].

pub mod analysis;
pub mod backend;
pub mod ir;
pub mod lower;
pub mod object;
pub mod opt;
pub mod pipeline;
pub mod std_imports;
pub mod tune;

pub use object::kpo;
pub use pipeline::{Compiled, compile, compile_with};

/// Compiles KPL source against the embedded import table to `.kpo` bytes:
/// `Err` with the diagnostics when the source has errors. `source_file` is
/// the name recorded in the object's source map.
pub fn compile_source(source_file: &str, src: &str) -> Result<Vec<u8>, Vec<kpl_lang::Diagnostic>> {
    let (imports, _) = std_imports::ImportSources::embedded().load();
    let a = kpl_lang::analyze(src, &imports);
    if a.has_errors() {
        return Err(a.diagnostics);
    }
    let compiled = compile(&a.file, &a.program);
    Ok(object::write(&compiled, source_file, src))
}
