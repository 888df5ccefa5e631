//! kplc as a library: everything around the compiler that the `kplc` binary,
//! its tests and its benchmarks share. The compiler itself (lowering, the
//! optimiser, the back end, the object writer) is the `kpl-codegen` crate
//! (`compiler/codegen`); this crate adds what an embedder does not need:
//!
//! - [`db`]: the incremental salsa database behind `check`, `build` and the
//!   language server;
//! - [`editor`]: editor features as plain data ([`editor::ide`]) and the
//!   Language Server ([`editor::lsp`], the only user of the protocol types);
//! - [`exec`]: running objects on the user-space host runtime, and the
//!   examples' `cases.txt` format;
//! - [`fmt`]: `kplc fmt`, files in their canonical layout;
//! - [`kernel`]: the `/dev/kpl` ioctl client and its uapi header;
//! - [`render`]: diagnostics for a terminal or as JSON;
//! - [`cli_io`]: the command line's size limits and checked output.
//!
//! The binary (`main.rs`, with the command line in `cli/`) parses the
//! arguments and dispatches here.

pub mod cli_io;
pub mod db;
pub mod editor;
pub mod exec;
pub mod fmt;
pub mod kernel;
pub mod render;

pub use kpl_codegen::{kpo, lower, object, std_imports, tune};

/// The compiler's entry points under their historical path `kplc::codegen`:
/// compile a checked program, compile the database's assembled parts, and
/// list code.
pub mod codegen {
    pub use kpl_codegen::backend::disasm::disassemble_object;
    pub use kpl_codegen::pipeline::*;
}

pub use editor::{ide, lsp};
pub use exec::{cases, run};
pub use kernel::uapi as kernel_uapi;

/// The dev-only generators, under their old paths, for kplc's own tests and
/// benchmarks: only the `testgen` feature (turned on by kplc's
/// dev-dependency on itself) brings them in; a build of `kplc` never does.
#[cfg(feature = "testgen")]
#[doc(hidden)]
pub use kpl_testgen::{difftest, synth};
