//! `kplc fmt` never changes what a program means: over the examples, the
//! differential generator's random programs and the synthetic plugins, the
//! formatted text (of the program, of the program with its whitespace
//! scrambled, and with comments dropped into it) compiles to the same object
//! as the original. "The same" is exact for the code, data, imports,
//! exports, functions and trap sites; the source map, which records
//! line:column positions, must point at the same tokens. Also the command
//! line: in place, `--check`, standard input, syntax errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kpl_lang::format::format_source;

#[path = "support/meaning.rs"]
mod meaning;
#[path = "../../lang/tests/support/perturb.rs"]
mod perturb;
use meaning::meaning;
use perturb::{choices, perturb, with_comments};

fn fmt(src: &str) -> String {
    format_source(src).unwrap_or_else(|e| panic!("{e}\n--- input:\n{src}"))
}

/// The formatted program compiles to what `src` does; so does the program
/// with comments dropped into it, formatted, when `with_comments`. With its
/// whitespace scrambled, it formats to exactly the same text.
fn assert_same_meaning(name: &str, src: &str, seed: u64, with_comments_too: bool) {
    let want = meaning(src).unwrap_or_else(|e| panic!("{name}: {e}"));
    let formatted = fmt(src);
    assert_eq!(fmt(&formatted), formatted, "{name}: not idempotent");
    let scrambled = perturb(src, &choices(seed, 1 << 16));
    assert_eq!(
        fmt(&scrambled),
        formatted,
        "{name}: whitespace changes the result"
    );
    let mut variants = vec![("formatted", formatted)];
    if with_comments_too {
        let commented = fmt(&with_comments(src, &choices(seed ^ 0xc0, 1 << 16)));
        variants.push(("with comments", commented));
    }
    for (what, text) in variants {
        let got = meaning(&text).unwrap_or_else(|e| panic!("{name} ({what}): {e}\n{text}"));
        assert!(
            got == want,
            "{name} ({what}): the formatted program compiles differently\n{text}"
        );
    }
}

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("examples/") {
        let dir = dir.expect("entry").path();
        if let Ok(files) = std::fs::read_dir(&dir) {
            for f in files {
                let p = f.expect("entry").path();
                if p.extension().is_some_and(|x| x == "kpl") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    assert!(out.len() >= 5, "examples missing: {out:?}");
    out
}

#[test]
fn examples_keep_their_meaning() {
    for (i, p) in examples().iter().enumerate() {
        let src = std::fs::read_to_string(p).expect("readable example");
        assert_same_meaning(&p.display().to_string(), &src, i as u64, true);
    }
}

/// Seeds of the differential generator to format: `KPL_FMT_SEEDS=N`
/// (default 12; each seed parses and compiles the program a few times,
/// which takes a while in a debug build).
fn seeds() -> u64 {
    std::env::var("KPL_FMT_SEEDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(12)
}

#[test]
fn generated_programs_keep_their_meaning() {
    for seed in 0..seeds() {
        let case = kplc::difftest::generate(seed);
        assert_same_meaning(&format!("difftest seed {seed}"), &case.kpl, seed, seed < 4);
    }
}

#[test]
fn synthetic_plugins_keep_their_meaning() {
    for lines in [40, 200] {
        let src = kplc::synth::plugin(lines);
        assert_same_meaning(&format!("synth::plugin({lines})"), &src, lines as u64, true);
    }
}

fn kplc(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kplc"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kplc runs");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("stdin written");
    drop(input);
    child.wait_with_output().expect("kplc finishes")
}

const MESSY: &str = "export fn f(a:u32)->u32{return a+1;} // done\n";
const TIDY: &str = "export fn f(a: u32) -> u32 {\n    return a + 1;\n} // done\n";

#[test]
fn command_line() {
    let dir = std::env::temp_dir().join(format!("kplc-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let messy = dir.join("messy.kpl");
    let tidy = dir.join("tidy.kpl");
    let broken = dir.join("broken.kpl");
    std::fs::write(&messy, MESSY).unwrap();
    std::fs::write(&tidy, TIDY).unwrap();
    std::fs::write(&broken, "export fn f() {\n    let x = ;\n}\n").unwrap();
    let path = |p: &Path| p.display().to_string();

    // --check: lists the file that would change, with a hint; changes nothing.
    let out = kplc(&["fmt", "--check", &path(&messy), &path(&tidy)], None);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{} is not formatted", path(&messy))),
        "{stdout}"
    );
    assert!(!stdout.contains("tidy.kpl"), "{stdout}");
    assert!(
        stdout.contains("- export fn f(a:u32)->u32{return a+1;} // done"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ export fn f(a: u32) -> u32 {"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), MESSY);
    let out = kplc(&["fmt", "--check", &path(&tidy)], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());

    // In place.
    let out = kplc(&["fmt", &path(&messy), &path(&tidy)], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), TIDY);
    assert_eq!(std::fs::read_to_string(&tidy).unwrap(), TIDY);

    // Standard input to standard output.
    let out = kplc(&["fmt", "-"], Some(MESSY));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), TIDY);

    // Syntax errors: shown, exit 1, the file untouched, the others formatted.
    std::fs::write(&messy, MESSY).unwrap();
    let before = std::fs::read_to_string(&broken).unwrap();
    let out = kplc(
        &["fmt", "--color", "never", &path(&broken), &path(&messy)],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[E0001]"), "{stderr}");
    // Standard error is buffered: the diagnostics still come before the
    // line that says what became of the file.
    let (diagnostic, verdict) = (
        stderr.find("error[E0001]"),
        stderr.find("not formatted because of its syntax errors"),
    );
    assert!(
        diagnostic.is_some() && verdict.is_some() && diagnostic < verdict,
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), before);
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), TIDY);
    let out = kplc(&["fmt", "-"], Some("fn ("));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "nothing is printed for a broken input"
    );
    // A flood of syntax errors: the first 100, and a line on the rest.
    let flood = format!("export fn f() {{ {}}}\n", "$ ".repeat(150));
    let out = kplc(&["fmt", "-"], Some(&flood));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("error[E0003]").count(), 100, "{stderr}");
    assert!(
        stderr.contains("<stdin>: 50 more diagnostics not shown (50 errors, 0 warnings)"),
        "{stderr}"
    );

    // Through a symbolic link: the file it points to changes, the link stays.
    #[cfg(unix)]
    {
        let link = dir.join("link.kpl");
        std::fs::write(&messy, MESSY).unwrap();
        std::os::unix::fs::symlink(&messy, &link).unwrap();
        let out = kplc(&["fmt", &path(&link)], None);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&messy).unwrap(), TIDY);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("kplc-fmt"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    // A full standard output is a write error: exit 2, no panic.
    if Path::new("/dev/full").exists() {
        let full = std::fs::File::create("/dev/full").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kplc"))
            .args(["fmt", "--check", &path(&broken), "-"])
            .stdin(std::process::Stdio::null())
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "a syntax error is not a write error"
        );
        let full = std::fs::File::create("/dev/full").unwrap();
        std::fs::write(&messy, MESSY).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kplc"))
            .args(["fmt", "--check", &path(&messy)])
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot write to standard output"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    // I/O problems: exit 2.
    let out = kplc(&["fmt", &path(&dir.join("missing.kpl"))], None);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(&messy, [0xff_u8, 0xfe]).unwrap();
    let out = kplc(&["fmt", &path(&messy)], None);
    assert_eq!(out.status.code(), Some(2));
    let out = kplc(&["fmt"], None);
    assert_eq!(out.status.code(), Some(2), "no file is a usage error");

    let _ = std::fs::remove_dir_all(&dir);
}

/// A byte-order mark at the start (which `kplc check` and `build` accept)
/// is dropped: in place, on standard input, and `--check` reports the file
/// as not formatted; also when the file holds nothing else, or a comment.
#[test]
fn a_byte_order_mark_is_dropped() {
    let dir = std::env::temp_dir().join(format!("kplc-fmt-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        (format!("\u{FEFF}{TIDY}"), TIDY),
        (format!("\u{FEFF}{MESSY}"), TIDY),
        ("\u{FEFF}".to_string(), ""),
        ("\u{FEFF}\n".to_string(), ""),
        (
            "\u{FEFF}// only a comment\n".to_string(),
            "// only a comment\n",
        ),
        ("\u{FEFF}/* c */".to_string(), "/* c */\n"),
    ];
    for (i, (src, want)) in cases.iter().enumerate() {
        let out = kplc(&["fmt", "-"], Some(src));
        assert_eq!(out.status.code(), Some(0), "{src:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), *want, "{src:?}");

        let file = dir.join(format!("bom{i}.kpl"));
        let path = file.display().to_string();
        std::fs::write(&file, src).unwrap();
        let out = kplc(&["fmt", "--check", &path], None);
        assert_eq!(out.status.code(), Some(1), "{src:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("is not formatted"),
            "{out:?}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), *src);
        let out = kplc(&["fmt", &path], None);
        assert_eq!(out.status.code(), Some(0), "{src:?}: {out:?}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), *want);
        let out = kplc(&["fmt", "--check", &path], None);
        assert_eq!(out.status.code(), Some(0), "{src:?}: {out:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fuzz-ish: generated programs (other seeds than above), with their
/// whitespace scrambled and comments dropped in, always format (no panic, no
/// internal error), keep their comments, and format to a fixed point.
#[test]
fn generated_programs_with_comments_format_to_a_fixed_point() {
    for seed in 1000..1000 + seeds() {
        let src = kplc::difftest::generate(seed).kpl;
        let mixed = perturb(
            &with_comments(&src, &choices(seed, 1 << 16)),
            &choices(!seed, 1 << 16),
        );
        let once = fmt(&mixed);
        assert_eq!(
            perturb::comment_texts(&once),
            perturb::comment_texts(&mixed),
            "seed {seed}"
        );
        assert_eq!(fmt(&once), once, "seed {seed}: not idempotent");
    }
}
