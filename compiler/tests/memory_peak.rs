//! Peak memory of `kplc check` on hostile input (`kpl_testgen::hostile`),
//! bounded in proportion to the input (`book/src/reference/limits.md`,
//! "Hostile input"), so that a regression such as a leak per parse cannot
//! come back unnoticed.
//!
//! Each shape is written to a file and checked by the `kplc` binary in a
//! child process; the child's peak resident set comes from `wait4`'s
//! resource usage, which is that child's alone.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use kpl_testgen::hostile;

/// Bytes of source per shape: big enough that memory proportional to the
/// input dominates the process's fixed cost.
const SOURCE_BYTES: usize = 128 << 10;
/// The fixed cost of a `kplc` process (code, import table, buffers): the
/// smallest shapes peak at 18 to 22 MB in a debug build.
const BASE_BYTES: u64 = 16 << 20;
/// The most a byte of source may cost at the peak, above the base. Measured
/// 2026-12-02 the worst shape (`stray_closers`) peaks at 56 MB here; the leak
/// of one parser per chunk, fixed then, cost about 560 bytes per byte of
/// `const_chain`. 2026-12-06 the worst is `nested_fn_line`, a function per 9
/// bytes (`fn g() { ` nested on one line, each moved after its function):
/// 66 MB, 394 bytes per byte. A function costs about 3 KB in the database and
/// the checker, whatever its size, so the densest functions set this bound;
/// it stays under the leak's cost.
const PER_SOURCE_BYTE: u64 = 448;

/// Runs `kplc check FILE` and returns its peak resident set in bytes.
fn peak_rss_of_check(path: &std::path::Path) -> u64 {
    // Reaped by `wait4` below, which `Child` does not know about.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_kplc"))
        .args(["check", "--color", "never"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kplc");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (integers only).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; `status` and
    // `usage` are valid and writable for the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let status = std::process::ExitStatus::from_raw(status);
    // 0: no errors, 1: errors found; anything else is a crash or a refusal.
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "kplc check {} ended with {status}",
        path.display()
    );
    // ru_maxrss is in kilobytes on Linux.
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn peak_memory_is_proportional_to_the_input() {
    let dir = std::env::temp_dir().join(format!("kpl-memory-peak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut over = Vec::new();
    for shape in hostile::shapes() {
        let src = (shape.build)(hostile::size_for(&shape, SOURCE_BYTES));
        let path = dir.join(format!("{}.kpl", shape.name));
        std::fs::write(&path, &src).expect("write shape");
        let peak = peak_rss_of_check(&path);
        let bound = BASE_BYTES + PER_SOURCE_BYTE * src.len() as u64;
        eprintln!(
            "{}: {} KB (bound {} KB)",
            shape.name,
            peak >> 10,
            bound >> 10
        );
        if peak > bound {
            over.push(format!(
                "{}: {} KB for {} bytes (bound {} KB)",
                shape.name,
                peak >> 10,
                src.len(),
                bound >> 10
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        over.is_empty(),
        "peak memory over its bound:\n{}",
        over.join("\n")
    );
}
