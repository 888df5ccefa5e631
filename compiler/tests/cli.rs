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
