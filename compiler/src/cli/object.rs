//! Commands on a `.kpo` object: `kplc verify` (the sandbox rules, as the
//! runtimes check them before loading) and `kplc disasm` (its code listing).

use std::process::ExitCode;

use kplc::cli_io::{self, MAX_OBJECT_BYTES};
use kplc::{errln, out, outln};

use super::{finish, usage};

/// Reads and parses the object at `path` for `f`; an unreadable file is a
/// usage problem (exit 2), a malformed object a rejection (exit 1).
fn with_object(
    path: &std::path::Path,
    f: impl FnOnce(&kpl_runtime_core::Object<'_>) -> ExitCode,
) -> ExitCode {
    let bytes = match cli_io::read_bounded(path, MAX_OBJECT_BYTES, "an object file") {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    match kpl_runtime_core::Object::parse(&bytes) {
        Ok(obj) => f(&obj),
        Err(e) => {
            errln!(
                "kplc: `{}` is not a valid object: {e}",
                cli_io::input_name(path)
            );
            ExitCode::from(1)
        }
    }
}

pub(super) fn verify_cmd(path: &std::path::Path) -> ExitCode {
    with_object(path, |obj| match kpl_host::verify_object(obj) {
        Ok(v) => finish(outln!(
            "{}: verified ({} bytes of code, stack at most {} bytes)",
            cli_io::input_name(path),
            obj.code().len(),
            v.max_stack
        )),
        Err(kpl_host::LoadError::Verify(e)) => {
            let at = match obj.location_of(e.offset) {
                Some((line, col)) => format!(" ({}:{line}:{col})", obj.source_file()),
                None => String::new(),
            };
            errln!("kplc: `{}` rejected: {e}{at}", cli_io::input_name(path));
            ExitCode::from(1)
        }
        Err(e) => {
            errln!("kplc: `{}`: {e}", cli_io::input_name(path));
            ExitCode::from(1)
        }
    })
}

pub(super) fn disasm(path: &std::path::Path) -> ExitCode {
    with_object(path, |obj| {
        finish(out!(
            "{}",
            kpl_codegen::backend::disasm::disassemble_object(obj)
        ))
    })
}
