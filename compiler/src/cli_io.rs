//! Input and output of the command line, bounded and checked.
//!
//! Every file a subcommand reads goes through [`read_bounded`] with the
//! limit for its kind, so that `kplc check /dev/zero` stops at the limit
//! with a message instead of filling memory. Everything written to standard
//! output goes through [`out!`](crate::out)/[`outln!`](crate::outln), which
//! return an error (exit status 2 in `main`) instead of panicking the way
//! `println!` does on a full disk or a closed pipe; messages to standard
//! error go through [`errln!`](crate::errln), which never panics (if
//! standard error itself cannot be written, there is nowhere left to say so).

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

/// The largest plugin or import-declaration source (`.kpl`, `.kpli`) kplc
/// reads: 16 MiB. The front end is linear, so this bounds its time too.
pub const MAX_SOURCE_BYTES: u64 = kpl_lang::MAX_SOURCE_BYTES as u64;
/// The largest object file (`.kpo`) kplc reads: 16 MiB (objects the
/// compiler writes are far smaller: code is limited to 256 KiB).
pub const MAX_OBJECT_BYTES: u64 = 16 << 20;
/// The largest data file `kplc kernel run --in` reads, and the largest
/// output it asks for: 16 MiB. (`kplc run` on the host runtime has its own
/// limit per buffer, `exec::invoke::MAX_BUFFER_BYTES`.)
pub const MAX_DATA_BYTES: u64 = 16 << 20;

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads `input` to its end or to `limit + 1` bytes, whichever comes
/// first (more than `limit` tells the caller the input is too long). The
/// buffer never grows past `limit + 1`: `read_to_end` doubles its capacity,
/// so reading an endless input up to a limit of 1 GiB held 2 GiB.
pub fn read_at_most(input: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut input = input.take(limit.saturating_add(1));
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        if bytes.len() == bytes.capacity() {
            let grow = bytes.capacity().max(8 << 10);
            let room = cap.saturating_sub(bytes.len()).min(grow);
            if room == 0 {
                return Ok(bytes);
            }
            bytes.reserve_exact(room);
        }
        let len = bytes.len();
        bytes.resize(bytes.capacity(), 0);
        match input.read(&mut bytes[len..]) {
            Ok(0) => {
                bytes.truncate(len);
                return Ok(bytes);
            }
            Ok(n) => bytes.truncate(len + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => bytes.truncate(len),
            Err(e) => return Err(e),
        }
    }
}

/// Whether `path` names standard input (or, for `-o`, standard output):
/// `-`, as in most Unix tools. A file really named `-` is `./-`.
pub fn is_standard_stream(path: &Path) -> bool {
    path == Path::new("-")
}

/// How messages and diagnostics name an input: its path, or `<stdin>`.
pub fn input_name(path: &Path) -> String {
    if is_standard_stream(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads at most `limit` bytes of `path` (standard input for `-`); a longer
/// input (or an endless one, such as `/dev/zero`) is an error naming the
/// limit for `what`.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let name = input_name(path);
    let bytes = if is_standard_stream(path) {
        read_at_most(std::io::stdin().lock(), limit)
    } else {
        std::fs::File::open(path).and_then(|file| read_at_most(file, limit))
    }
    .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "`{name}` is larger than {}, the limit for {what}",
            human(limit)
        ));
    }
    Ok(bytes)
}

/// A plugin or declaration source: at most [`MAX_SOURCE_BYTES`], UTF-8.
pub fn read_source(path: &Path) -> Result<String, String> {
    let bytes = read_bounded(path, MAX_SOURCE_BYTES, "a source file")?;
    String::from_utf8(bytes).map_err(|_| format!("`{}` is not valid UTF-8", input_name(path)))
}

/// Writes `bytes` to `path`, or to standard output for `-` (then flushed,
/// so that a full disk or a closed pipe is an error here).
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if is_standard_stream(path) {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to standard output: {e}"))
    } else {
        std::fs::write(path, bytes).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    }
}

/// Writes to standard output and flushes, so that a write error is seen
/// here and not lost at exit.
pub fn write_stdout(args: fmt::Arguments<'_>) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

/// Writes to standard error, ignoring failure.
pub fn write_stderr(args: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `print!` that returns `Result<(), String>` instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli_io::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` that returns `Result<(), String>` instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli_io::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli_io::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_input_stops_at_the_limit() {
        let err = read_bounded(Path::new("/dev/zero"), 1000, "a test").unwrap_err();
        assert_eq!(
            err,
            "`/dev/zero` is larger than 1000 bytes, the limit for a test"
        );
        assert!(human(16 << 20) == "16 MiB");
    }

    #[test]
    fn reading_to_a_limit_never_holds_more_than_the_limit() {
        for limit in [0u64, 1, 8191, 8192, 8193, 100_000] {
            let bytes = read_at_most(std::io::repeat(7), limit).unwrap();
            assert_eq!(bytes.len() as u64, limit + 1);
            assert!(bytes.capacity() as u64 <= limit + 1, "{limit}");
            let short = vec![1u8; 5000];
            assert_eq!(
                read_at_most(&short[..], limit).unwrap().len() as u64,
                (limit + 1).min(5000)
            );
        }
    }
}
