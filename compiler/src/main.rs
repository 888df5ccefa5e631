//! `kplc`, the KPL compiler's command line. Everything is in [`cli`]; the
//! compiler and the tools around it are the `kplc` library and `kpl-codegen`.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::main()
}
