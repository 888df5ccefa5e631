//! The `kplc` command line: exit statuses, output channels and formats.

use std::path::Path;
use std::process::{Command, Output};

/// `kplc args`, run from the repository's root (the paths the tests give
/// are relative to it).
fn kplc_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kplc"));
    c.args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    c
}

fn kplc(args: &[&str]) -> Output {
    kplc_command(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("kplc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `kplc run` of the grayscale export of `program` (source or object) on
/// the example's sample image, the 6,144-byte result written to `out`;
/// asserts it exits 0.
fn run_grayscale(program: &str, extra: &[&str], out: &Path) -> Output {
    let mut args = vec!["run", program];
    args.extend_from_slice(extra);
    let out = out.to_str().unwrap();
    args.extend([
        "--entry",
        "grayscale",
        "--in",
        "examples/grayscale/sample.rgb",
        "--out-len",
        "6144",
        "--out",
        out,
    ]);
    let run = kplc(&args);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    run
}

#[test]
fn clean_examples_exit_zero() {
    let out = kplc(&[
        "check",
        "examples/grayscale/grayscale.kpl",
        "examples/packet_filter/packet_filter.kpl",
        "examples/checksum/checksum.kpl",
        "examples/histogram/histogram.kpl",
        "examples/rate_limiter/rate_limiter.kpl",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("checked 5 files: 0 errors, 0 warnings"));
}

#[test]
fn errors_exit_one_warnings_do_not() {
    let out = kplc(&["check", "compiler/tests/ui/e0200_let_annotation.kpl"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error[E0200]"), "{err}");
    // Not a terminal: no colour escapes.
    assert!(!err.contains('\u{1b}'), "{err}");

    let out = kplc(&["check", "compiler/tests/ui/w0001_unused_let.kpl"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("warning[W0001]"));

    let out = kplc(&[
        "check",
        "--deny-warnings",
        "compiler/tests/ui/w0001_unused_let.kpl",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn colour_can_be_forced() {
    let out = kplc(&[
        "check",
        "--color",
        "always",
        "compiler/tests/ui/e0200_let_annotation.kpl",
    ]);
    assert!(text(&out.stderr).contains('\u{1b}'));
}

#[test]
fn missing_file_is_one_clear_line_and_exit_two() {
    let out = kplc(&["check", "no/such/file.kpl"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kplc: cannot read `no/such/file.kpl`"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(kplc(&["check"]).status.code(), Some(2));
    assert_eq!(kplc(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(kplc(&["explain", "E9999"]).status.code(), Some(2));
    assert_eq!(kplc(&["--help"]).status.code(), Some(0));
}

#[test]
fn json_lines_carry_positions_codes_and_suggestions() {
    let out = kplc(&[
        "check",
        "--message-format",
        "json",
        "compiler/tests/ui/e0102_misspelled_primitive.kpl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("valid JSON");
    assert_eq!(v["code"], "E0102");
    assert_eq!(v["severity"], "error");
    assert_eq!(
        v["file"],
        "compiler/tests/ui/e0102_misspelled_primitive.kpl"
    );
    for key in ["start", "end", "line", "column", "end_line", "end_column"] {
        assert!(v[key].is_u64(), "{key} missing in {v}");
    }
    assert_eq!(v["labels"][0]["primary"], true);
    let suggestion = &v["help"][0]["suggestion"];
    assert!(suggestion["replacement"].is_string(), "{v}");
    // The byte range points at the misspelt type in the source.
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/e0102_misspelled_primitive.kpl"),
    )
    .unwrap();
    let (s, e) = (
        v["start"].as_u64().unwrap() as usize,
        v["end"].as_u64().unwrap() as usize,
    );
    assert!(kpl_lang::types::IntTy::from_name(&src[s..e]).is_none());
    assert!(v["rendered"].as_str().unwrap().contains("E0102"));
}

#[test]
fn explain_prints_the_error_index_entry() {
    let out = kplc(&["explain", "e0200"]);
    assert_eq!(out.status.code(), Some(0));
    let expected = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/errors/E0200.md"),
    )
    .unwrap();
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn non_utf8_source_is_rejected_cleanly() {
    let dir = std::env::temp_dir().join(format!("kplc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.kpl");
    std::fs::write(&path, [0x66, 0x6e, 0xff, 0xfe]).unwrap();
    let out = kplc(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not valid UTF-8"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn build_run_and_disasm_round_trip() {
    let dir = std::env::temp_dir().join(format!("kplc-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join("gray.kpo");
    let out = dir.join("gray.raw");
    let built = kplc(&[
        "build",
        "examples/grayscale/grayscale.kpl",
        "-o",
        obj.to_str().unwrap(),
    ]);
    assert_eq!(built.status.code(), Some(0), "{}", text(&built.stderr));
    // Reproducible: building again gives the same bytes.
    let again = dir.join("again.kpo");
    kplc(&[
        "build",
        "examples/grayscale/grayscale.kpl",
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&obj).unwrap(), std::fs::read(&again).unwrap());
    let run = run_grayscale(obj.to_str().unwrap(), &[], &out);
    assert!(text(&run.stdout).starts_with("grayscale: returned 0"));
    let rgb = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/grayscale/sample.rgb"),
    )
    .unwrap();
    let want: Vec<u8> = rgb
        .chunks(3)
        .map(|p| ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8)
        .collect();
    assert_eq!(std::fs::read(&out).unwrap(), want);
    let listing = kplc(&["disasm", obj.to_str().unwrap()]);
    assert_eq!(listing.status.code(), Some(0));
    assert!(
        text(&listing.stdout).starts_with("grayscale:\n0000:  f30f1efa"),
        "{}",
        text(&listing.stdout)
    );
    let asm = kplc(&["build", "examples/grayscale/grayscale.kpl", "--emit", "asm"]);
    assert!(text(&asm.stdout).contains("trap_unwind:"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn traps_report_kind_and_source_line() {
    let run = kplc(&[
        "run",
        "compiler/tests/exec/trap_budget_infinite_loop.kpl",
        "--entry",
        "spin",
        "--fuel",
        "100000",
    ]);
    assert_eq!(run.status.code(), Some(3));
    assert_eq!(
        text(&run.stderr).trim(),
        "kplc: spin: trap Budget (time budget exhausted) at compiler/tests/exec/trap_budget_infinite_loop.kpl:11:5"
    );
}

#[test]
fn bad_objects_and_arguments_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("kplc-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.kpo");
    std::fs::write(&bad, b"KPO\0garbage").unwrap();
    let r = kplc(&["run", bad.to_str().unwrap(), "--entry", "x"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("cannot load"),
        "{}",
        text(&r.stderr)
    );
    let d = kplc(&["disasm", bad.to_str().unwrap()]);
    assert_eq!(d.status.code(), Some(1));
    let r = kplc(&["run", "examples/checksum/checksum.kpl", "--entry", "nope"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("exports no function `nope` (exports: checksum, verify)"),
        "{}",
        text(&r.stderr)
    );
    let r = kplc(&[
        "run",
        "examples/histogram/histogram.kpl",
        "--entry",
        "count",
        "--arg",
        "banana",
    ]);
    assert_eq!(r.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn verify_accepts_kplc_output_and_rejects_tampering() {
    let dir = std::env::temp_dir().join(format!("kplc-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join("h.kpo");
    let b = kplc(&[
        "build",
        "examples/histogram/histogram.kpl",
        "-o",
        obj.to_str().unwrap(),
    ]);
    assert_eq!(b.status.code(), Some(0));
    let v = kplc(&["verify", obj.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    assert!(text(&v.stdout).contains("verified"));
    // Any changed byte breaks the content hash first.
    let mut bytes = std::fs::read(&obj).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&obj, &bytes).unwrap();
    let v = kplc(&["verify", obj.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs kplc and returns its output with its peak resident set in KiB
/// (`wait4`'s rusage of exactly this child).
// The child is reaped by `wait4` below, which std's lint cannot see.
#[allow(clippy::zombie_processes)]
fn kplc_with_max_rss(args: &[&str]) -> (Output, i64) {
    use std::io::Read;
    let mut child = kplc_command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kplc runs");
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; the pid is our child,
    // not yet reaped (std's Child only reaps in wait/try_wait).
    let (rc, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let rc = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        (rc, usage)
    };
    assert!(rc > 0, "wait4 failed");
    let status = std::os::unix::process::ExitStatusExt::from_raw(status);
    (
        Output {
            status,
            stdout,
            stderr,
        },
        usage.ru_maxrss,
    )
}

fn gray_reference(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks(3)
        .map(|p| ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8)
        .collect()
}

#[test]
fn run_moves_a_1080p_frame_as_bytes() {
    let dir = std::env::temp_dir().join(format!("kplc-frame-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (1920usize, 1080usize);
    let mut seed = 0x1234_5678u32;
    let rgb: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect();
    let input = dir.join("frame.rgb");
    let output = dir.join("frame.gray");
    std::fs::write(&input, &rgb).unwrap();
    let obj = dir.join("gray.kpo");
    let built = kplc(&[
        "build",
        "examples/grayscale/grayscale.kpl",
        "-o",
        obj.to_str().unwrap(),
    ]);
    assert_eq!(built.status.code(), Some(0), "{}", text(&built.stderr));
    let out_len = (w * h).to_string();
    let (run, max_rss_kib) = kplc_with_max_rss(&[
        "run",
        obj.to_str().unwrap(),
        "--entry",
        "grayscale",
        "--in",
        input.to_str().unwrap(),
        "--out-len",
        &out_len,
        "--out",
        output.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(text(&run.stdout).starts_with("grayscale: returned 0 ("));
    assert_eq!(std::fs::read(&output).unwrap(), gray_reference(&rgb));
    // 6 MB in, 2 MB out: memory follows the buffers (it was 148 MB when
    // every element went through an i128; about 18 MB now). Linux keeps the
    // spawning process's high-water mark across exec, so a peak no higher
    // than this test process's own says nothing about kplc: only a peak
    // above both is kplc's, and it must be small.
    let parent_hwm_kib: i64 = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(
        max_rss_kib < 48 * 1024 || max_rss_kib <= parent_hwm_kib,
        "kplc run peaked at {max_rss_kib} KiB for an 8 MB frame (this test: {parent_hwm_kib} KiB)"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_refuses_buffers_past_the_limit_before_allocating() {
    let r = kplc(&[
        "run",
        "examples/grayscale/grayscale.kpl",
        "--entry",
        "grayscale",
        "--in",
        "examples/grayscale/sample.rgb",
        "--out-len",
        "4294967296",
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    assert_eq!(
        text(&r.stderr).trim(),
        "kplc: --out-len is 4294967296 bytes, more than the limit of 1073741824 bytes (1 GiB) per buffer"
    );
    let r = kplc(&[
        "run",
        "examples/histogram/histogram.kpl",
        "--entry",
        "top",
        "--repeat",
        "0",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("--repeat 0"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn run_rejects_arguments_the_export_does_not_take() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--entry",
                "grayscale",
                "--in",
                "examples/grayscale/sample.rgb",
                "--arg",
                "1",
            ],
            "kplc: `grayscale([]u8, []mut u8) -> u32` takes 0 scalar argument(s) (--arg), 1 given",
        ),
        (
            &["--entry", "grayscale"],
            "kplc: `grayscale([]u8, []mut u8) -> u32` takes 1 read-only slice(s) (--in), 0 given",
        ),
        (
            &[
                "--entry",
                "grayscale",
                "--in",
                "examples/grayscale/sample.rgb",
                "--in",
                "examples/grayscale/sample.rgb",
            ],
            "kplc: `grayscale([]u8, []mut u8) -> u32` takes 1 read-only slice(s) (--in), 2 given",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["run", "examples/grayscale/grayscale.kpl"];
        all.extend_from_slice(args);
        let r = kplc(&all);
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&r.stderr).trim(), *want, "{args:?}");
    }
    let r = kplc(&[
        "run",
        "examples/histogram/histogram.kpl",
        "--entry",
        "count",
        "--arg",
        "4294967296",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        text(&r.stderr).trim(),
        "kplc: argument 1 of `count(u32) -> u64` (u32): 4294967296 does not fit in u32"
    );
    let r = kplc(&[
        "run",
        "examples/histogram/histogram.kpl",
        "--entry",
        "top",
        "--out-len",
        "4",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("takes no writable slice"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn run_repeat_prints_median_min_max_of_the_calls() {
    let r = kplc(&[
        "run",
        "examples/histogram/histogram.kpl",
        "--entry",
        "count",
        "--arg",
        "7",
        "--repeat",
        "5",
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let out = text(&r.stdout);
    assert!(out.starts_with("count: returned 0 (median "), "{out}");
    assert!(out.contains(", min ") && out.contains(", max "), "{out}");
    assert!(out.trim_end().ends_with(", 5 runs)"), "{out}");
}

#[test]
fn build_emit_with_output_writes_the_text_not_the_object() {
    let dir = std::env::temp_dir().join(format!("kplc-emit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let asm = dir.join("gray.s");
    let ir = dir.join("gray.ir");
    let r = kplc(&[
        "build",
        "examples/grayscale/grayscale.kpl",
        "--emit",
        "asm",
        "-o",
        asm.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(r.stdout.is_empty());
    let stdout_asm = kplc(&["build", "examples/grayscale/grayscale.kpl", "--emit", "asm"]);
    assert_eq!(std::fs::read(&asm).unwrap(), stdout_asm.stdout);
    assert!(text(&stdout_asm.stdout).contains("trap_unwind:"));
    let r = kplc(&[
        "build",
        "examples/grayscale/grayscale.kpl",
        "--emit",
        "ir",
        "-o",
        ir.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let stdout_ir = kplc(&["build", "examples/grayscale/grayscale.kpl", "--emit", "ir"]);
    assert_eq!(std::fs::read(&ir).unwrap(), stdout_ir.stdout);
    assert!(!stdout_ir.stdout.is_empty());
    assert_ne!(stdout_ir.stdout, stdout_asm.stdout);
    std::fs::remove_dir_all(&dir).ok();
}

/// `kplc ARGS` with standard output on `/dev/full` (every write fails with
/// ENOSPC).
fn kplc_to_full(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists");
    kplc_command(args).stdout(full).output().expect("kplc runs")
}

#[test]
fn a_failed_write_is_a_clear_error_and_exit_two() {
    let dir = std::env::temp_dir().join(format!("kplc-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join("gray.kpo");
    let built = kplc(&[
        "build",
        "examples/grayscale/grayscale.kpl",
        "-o",
        obj.to_str().unwrap(),
    ]);
    assert_eq!(built.status.code(), Some(0), "{}", text(&built.stderr));
    let unformatted = dir.join("messy.kpl");
    std::fs::write(&unformatted, "export fn f()->u32{return 1;}\n").unwrap();
    let obj = obj.to_str().unwrap();
    for args in [
        &["explain", "E0200"][..],
        &["disasm", obj],
        &["verify", obj],
        &[
            "run",
            obj,
            "--entry",
            "grayscale",
            "--in",
            "examples/grayscale/sample.rgb",
        ],
        &["build", "examples/grayscale/grayscale.kpl", "--emit", "asm"],
        &["build", "examples/grayscale/grayscale.kpl", "--emit", "ir"],
        &[
            "check",
            "--message-format",
            "json",
            "compiler/tests/ui/w0001_unused_let.kpl",
        ],
        &["fmt", "--check", unformatted.to_str().unwrap()],
        &["build", "examples/checksum/checksum.kpl", "-o", "-"],
    ] {
        let out = kplc_to_full(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("cannot write") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn endless_inputs_stop_at_their_limit() {
    for args in [
        &["check", "/dev/zero"][..],
        &["build", "/dev/zero", "--emit", "asm"],
        &["fmt", "/dev/zero"],
        &["disasm", "/dev/zero"],
        &["verify", "/dev/zero"],
        &["run", "/dev/zero.kpo", "--entry", "f"],
    ] {
        let out = kplc(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        // /dev/zero.kpo does not exist: that one is a plain read error.
        assert!(
            err.contains("is larger than 16 MiB") || err.contains("cannot read"),
            "{args:?}: {err}"
        );
    }
    // A buffer for `kplc run` may be up to 1 GiB, so /dev/zero is read that
    // far (not taken for empty, as its size in metadata would say).
    let out = kplc(&[
        "run",
        "examples/grayscale/grayscale.kpl",
        "--entry",
        "grayscale",
        "--in",
        "/dev/zero",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`/dev/zero` is 1073741825 bytes, more than the limit"),
        "{err}"
    );
}

/// `kplc` with `stdin` as its standard input.
fn kplc_reading(args: &[&str], stdin: impl Into<std::process::Stdio>) -> Output {
    kplc_command(args).stdin(stdin).output().expect("kplc runs")
}

/// `-` is standard input for every command that reads a source or an
/// object, and standard output for `build -o`: a plugin can be built and
/// checked in a pipe, and the diagnostics name it `<stdin>`.
#[test]
fn a_dash_is_standard_input_or_output() {
    let source = |p: &str| {
        std::fs::File::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)).unwrap()
    };
    let out = kplc_reading(
        &["check", "-", "--color", "never"],
        source("compiler/tests/ui/e0100_unknown_function.kpl"),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[E0100]") && err.contains("┌─ <stdin>:"),
        "{err}"
    );

    let built = kplc_reading(
        &["build", "-", "-o", "-"],
        source("examples/checksum/checksum.kpl"),
    );
    assert_eq!(built.status.code(), Some(0), "{}", text(&built.stderr));
    let from_file = kplc(&["build", "examples/checksum/checksum.kpl", "-o", "-"]);
    assert_eq!(
        from_file.status.code(),
        Some(0),
        "{}",
        text(&from_file.stderr)
    );
    // The same code; only the source's name inside differs.
    assert!(built.stdout.len() > 64 && built.stdout.len() + 32 > from_file.stdout.len());
    let object = std::env::temp_dir().join(format!("kplc-dash-{}.kpo", std::process::id()));
    std::fs::write(&object, &built.stdout).unwrap();
    for cmd in ["verify", "disasm"] {
        let out = kplc_reading(&[cmd, "-"], std::fs::File::open(&object).unwrap());
        assert_eq!(out.status.code(), Some(0), "{cmd}: {}", text(&out.stderr));
    }
    let out = kplc_reading(&["verify", "-"], std::fs::File::open(&object).unwrap());
    assert!(
        text(&out.stdout).starts_with("<stdin>: verified"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_file(&object).ok();

    for args in [
        &["check", "-"][..],
        &["build", "-", "-o", "/dev/null"],
        &["disasm", "-"],
        &["fmt", "-"],
    ] {
        let out = kplc_reading(args, std::fs::File::open("/dev/zero").unwrap());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("`<stdin>` is larger than 16 MiB"),
            "{args:?}: {err}"
        );
    }
}

/// More machine code than the loader takes (256 KiB) is refused by
/// `kplc build` itself, with the size and the limit, not written out for the
/// loader to reject.
#[test]
fn build_refuses_code_over_the_loader_limit() {
    let dir = std::env::temp_dir().join(format!("kplc-bigcode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = 3000;
    let mut src = String::new();
    for i in 0..n {
        src.push_str(&format!(
            "fn g{i}(x: u32) -> u32 {{\n    var y = x * {} + (x >> 3);\n    y = y ^ (y << 5);\n    \
             y = y + {i} * (x >> 7);\n    y = y * (y >> 11) + {i};\n    y = y ^ (y >> 13);\n    \
             return y + (x << 2) * {};\n}}\n",
            i + 3,
            i + 5
        ));
    }
    src.push_str("export fn f(x: u32) -> u32 {\n    var s: u32 = 0;\n");
    for i in 0..n {
        src.push_str(&format!("    s = s ^ g{i}(x);\n"));
    }
    src.push_str("    return s;\n}\n");
    let kpl = dir.join("big.kpl");
    let kpo = dir.join("big.kpo");
    std::fs::write(&kpl, src).unwrap();
    let out = kplc(&["build", kpl.to_str().unwrap(), "-o", kpo.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bytes (limit 262144); split the plugin"),
        "{err}"
    );
    assert!(!kpo.exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// `kplc kernel` checks where to attach before it opens the device: an
/// unknown hook is a usage error naming the valid ones, and detach must be
/// told which attachment.
#[test]
fn kernel_hook_names_are_usage_errors() {
    for (hook, what) in [
        ("ipv5:local-in", "unknown address family `ipv5`"),
        ("ipv4:ingress", "unknown hook point `ingress`"),
        ("local-in", "expected FAMILY:POINT"),
    ] {
        let out = kplc(&["kernel", "attach", "1", "--hook", hook]);
        assert_eq!(out.status.code(), Some(2), "{hook}");
        let err = text(&out.stderr);
        assert!(err.contains(what), "{hook}: {err}");
        assert!(
            err.contains("`pre-routing`, `local-in`, `forward`, `local-out` or `post-routing`"),
            "{hook}: {err}"
        );
    }
    let out = kplc(&["kernel", "detach"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("<ATTACHMENT|--hook <HOOK>>"));
    let out = kplc(&["kernel", "detach", "--priority", "5"]);
    assert_eq!(out.status.code(), Some(2));
    // A valid hook gets as far as the device.
    let out = Command::new(env!("CARGO_BIN_EXE_kplc"))
        .args(["kernel", "attach", "1", "--hook", "ipv6:prerouting"])
        .env("KPL_DEV", "/nonexistent/kpl")
        .output()
        .expect("kplc runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot open `/nonexistent/kpl`"));
}

#[test]
fn json_fixes_carry_applicability_and_every_edit() {
    let case = "compiler/tests/ui/e0200_fix_signed_unsigned_compare.kpl";
    let out = kplc(&["check", "--message-format", "json", case]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let help = &v["help"][0];
    assert_eq!(help["applicability"], "machine-applicable", "{v}");
    // Two edits (`a as i64 < b as i64`): no single `suggestion`.
    assert_eq!(help["suggestion"], serde_json::Value::Null, "{v}");
    let edits = help["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 2, "{v}");
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/ui/e0200_fix_signed_unsigned_compare.kpl"),
    )
    .unwrap();
    let mut fixed = src.clone();
    for e in edits.iter().rev() {
        let (s, t) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        let line = src[..s].matches('\n').count() + 1;
        assert_eq!(e["line"], line as u64, "{e}");
        fixed.replace_range(s..t, e["replacement"].as_str().unwrap());
    }
    assert!(fixed.contains("return a as i64 < b as i64;"), "{fixed}");

    // A narrowing is only maybe-incorrect; prose-only help has no applicability.
    let out = kplc(&[
        "check",
        "--message-format",
        "json",
        "compiler/tests/ui/e0200_fix_u64_i64_compare.kpl",
    ]);
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["help"][0]["applicability"], "maybe-incorrect", "{v}");
    let out = kplc(&[
        "check",
        "--message-format",
        "json",
        "compiler/tests/ui/w0001_var_written_never_read.kpl",
    ]);
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(
        v["help"][0]["applicability"],
        serde_json::Value::Null,
        "{v}"
    );
    assert_eq!(v["help"][0]["edits"], serde_json::json!([]), "{v}");
}

/// A flood of diagnostics: 152 unused locals (warnings) with three errors
/// among and after them.
fn flood_source() -> String {
    let mut s = String::from("export fn f() -> u32 {\n");
    for i in 0..150 {
        if i == 10 || i == 120 {
            s.push_str(&format!("    let e{i}: u32 = missing_{i};\n"));
        }
        s.push_str(&format!("    let a{i} = 1;\n"));
    }
    s.push_str("    return missing_last;\n}\n");
    s
}

#[test]
fn a_flood_shows_its_errors_first_and_says_what_it_left_out() {
    let dir = std::env::temp_dir().join(format!("kplc-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flood.kpl");
    std::fs::write(&file, flood_source()).unwrap();
    let path = file.to_str().unwrap();

    let out = kplc(&["check", path]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    // Every error is shown, whatever its place, and 97 warnings with them.
    assert_eq!(err.matches("error[E").count(), 3, "{err}");
    assert_eq!(err.matches("warning[W0001]").count(), 97, "{err}");
    // In the order of the file: the last error after the last warning shown.
    let last_error = err.rfind("error[E").unwrap();
    assert!(err.rfind("warning[W0001]").unwrap() < last_error);
    assert!(err.contains("`missing_last`"), "{err}");
    assert!(
        err.contains("flood.kpl: 55 more diagnostics not shown (0 errors, 55 warnings); `--max-diagnostics 0` shows every one"),
        "{err}"
    );
    // The summary counts every diagnostic.
    assert!(err.contains("3 errors, 152 warnings"), "{err}");

    // JSON: only diagnostics on standard output; the note on standard error.
    let out = kplc(&["check", "--message-format", "json", path]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 100);
    assert!(lines.iter().all(|l| l.starts_with('{')));
    assert!(text(&out.stderr).contains("55 more diagnostics not shown"));

    // A limit of its own, and none at all.
    let out = kplc(&["check", "--max-diagnostics", "2", path]);
    let err = text(&out.stderr);
    assert_eq!(err.matches("error[E").count(), 2, "{err}");
    assert!(!err.contains("warning[W"), "{err}");
    assert!(err.contains("153 more diagnostics not shown (1 error, 152 warnings)"));
    let out = kplc(&["check", "--max-diagnostics", "0", path]);
    let err = text(&out.stderr);
    assert_eq!(err.matches("warning[W0001]").count(), 152, "{err}");
    assert!(!err.contains("not shown"), "{err}");

    // `kplc build` takes the same limit.
    let out = kplc(&["build", "--max-diagnostics", "5", "--emit", "asm", path]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.matches("error[E").count(), 3, "{err}");
    assert_eq!(err.matches("warning[W0001]").count(), 2, "{err}");
    assert!(err.contains("150 more diagnostics not shown (0 errors, 150 warnings)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_of_nul_bytes_is_one_diagnostic() {
    let dir = std::env::temp_dir().join(format!("kplc-nul-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("zeros.kpl");
    std::fs::write(&file, vec![0u8; 1 << 20]).unwrap();
    let out = kplc(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0003]: 1048576 invalid characters `\\u{0}` in a row in source"),
        "{err}"
    );
    assert!(err.contains("checked 1 file: 1 error, 0 warnings"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--tune` chooses between encodings of the same computation: the grayscale
/// example's byte store of `sum >> 8` is a shift for Intel and a read of
/// AH for AMD, and both objects compute the same image. `native` (the
/// default) is one of the two; anything else is a usage error.
#[test]
fn tune_changes_the_encoding_not_the_result() {
    let dir = std::env::temp_dir().join(format!("kplc-tune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = "examples/grayscale/grayscale.kpl";
    let asm = |tune: &str| {
        let out = kplc(&["build", src, "--emit", "asm", "--tune", tune]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let (amd, intel, native) = (asm("amd"), asm("intel"), asm("native"));
    assert!(
        amd.contains("movzx   eax, ah") && !amd.contains("shr"),
        "{amd}"
    );
    assert!(
        intel.contains("shr     r11, 8") && !intel.contains(", ah"),
        "{intel}"
    );
    assert!(native == amd || native == intel);
    // The default is `native`.
    let default = kplc(&["build", src, "--emit", "asm"]);
    assert_eq!(text(&default.stdout), native);
    let mut images = Vec::new();
    for tune in ["amd", "intel"] {
        let out = dir.join(format!("{tune}.gray"));
        run_grayscale(src, &["--tune", tune], &out);
        images.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(images[0], images[1]);
    assert!(images[0].iter().any(|&b| b != 0));
    let bad = kplc(&["build", src, "--tune", "arm"]);
    assert_eq!(bad.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
