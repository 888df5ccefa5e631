//! `kplc run`: compiles (or reads) an object and hands it to
//! `kplc::exec::invoke`, which loads it on the host runtime, binds
//! `--arg`/`--in`/`--out` to the export's parameters as bytes, calls it
//! (`--repeat` times) and reports its value and the call's own time, or its
//! trap.

use std::path::PathBuf;
use std::process::ExitCode;

use kplc::cli_io::{self, MAX_OBJECT_BYTES};
use kplc::{errln, outln};

use super::build::{FrontEnd, compile_to_object};
use super::{finish, usage};

pub(super) fn run(file: PathBuf, options: FrontEnd, req: kplc::exec::invoke::Request) -> ExitCode {
    use kplc::exec::invoke::{RunError, invoke};
    let object = if file.extension().is_some_and(|e| e == "kpo") {
        match cli_io::read_bounded(&file, MAX_OBJECT_BYTES, "an object file") {
            Ok(b) => b,
            Err(e) => return usage(e),
        }
    } else {
        match compile_to_object(&file, options) {
            Ok((bytes, _)) => bytes,
            Err(code) => return code,
        }
    };
    match invoke(&object, &cli_io::input_name(&file), &req) {
        Ok(report) => finish(outln!("{}", report.line())),
        Err(RunError::Trap(msg)) => {
            errln!("kplc: {msg}");
            ExitCode::from(3)
        }
        Err(RunError::Usage(msg)) => usage(msg),
    }
}
