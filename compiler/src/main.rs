//! `kplc`, the KPL compiler's command line. Everything is in [`cli`]; the
//! compiler and the tools around it are the `kplc` library and `kpl-codegen`.

use std::process::ExitCode;

mod cli;

/// mimalloc rather than the C library's allocator: the front end builds a
/// tree, tables and diagnostics out of many small allocations (about a
/// hundred per item of a file), and on hostile input of a megabyte glibc's
/// malloc and free were a fifth to a quarter of all the work
/// (`book/src/reference/limits.md`, "Hostile input"). Its version 2 (the
/// crate's `v2` feature): version 3 was as fast but peaked at up to 2.7
/// times glibc's resident memory, version 2 at 1.3 times at most. Only the
/// binary: the libraries leave the choice to whoever links them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
