//! The `kplc` command line: exit statuses, output channels and formats.

use std::path::Path;
use std::process::{Command, Output};

fn kplc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kplc"))
        .args(args)
        .env_remove("NO_COLOR")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("kplc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
    let run = kplc(&[
        "run",
        obj.to_str().unwrap(),
        "--entry",
        "grayscale",
        "--in",
        "examples/grayscale/sample.rgb",
        "--out-len",
        "6144",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
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

/// `kplc ARGS` with standard output on `/dev/full` (every write fails with
/// ENOSPC).
fn kplc_to_full(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists");
    Command::new(env!("CARGO_BIN_EXE_kplc"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .stdout(full)
        .output()
        .expect("kplc runs")
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
        &["disasm", "/dev/zero"],
        &["verify", "/dev/zero"],
        &["run", "/dev/zero.kpo", "--entry", "f"],
        &[
            "run",
            "examples/grayscale/grayscale.kpl",
            "--entry",
            "grayscale",
            "--in",
            "/dev/zero",
        ],
    ] {
        let out = kplc(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        // /dev/zero.kpo does not exist: that one is a plain read error.
        assert!(
            err.contains("is larger than 16 MiB, the limit for") || err.contains("cannot read"),
            "{args:?}: {err}"
        );
    }
    let out = kplc(&[
        "run",
        "examples/grayscale/grayscale.kpl",
        "--entry",
        "grayscale",
        "--in",
        "examples/grayscale/sample.rgb",
        "--out-len",
        "100000000000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the limit for an output"));
}
