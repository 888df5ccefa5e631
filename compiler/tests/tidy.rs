//! Conventions of the source tree, checked mechanically so that they hold
//! without anyone remembering them. Each failure names the file and the rule.
//!
//! - Every `.rs` file under `lang/`, `compiler/`, `runtime-kmod/` and
//!   `std-imports/` opens with a `//!` comment saying what the file is for:
//!   sources, tests, benchmarks and examples alike.
//! - No source file there (`.rs`, `.c`, `.h`, `.S`) is longer than
//!   [`MAX_LINES`] lines, except those in [`LONG_FILES`], each with its
//!   reason. An entry whose file has gone or has become short enough fails
//!   too, so the list can only shrink.
//! - No `dbg!`, `todo!` or `unimplemented!` in any crate's `src/`.
//! - Two architecture invariants (`book/src/internals/architecture.md`):
//!   only the language server (`compiler/src/editor/lsp.rs` and its wire,
//!   `transport.rs`) uses the protocol crates (`lsp_types`, `lsp_server`),
//!   and only `compiler/src/kernel/` calls `libc::ioctl`.
//! - The fuzz crate (`fuzz/`, its own workspace) has its own committed
//!   `Cargo.lock`, and every package it shares with the main workspace is
//!   locked there at the main `Cargo.lock`'s version. Without it, a fresh
//!   machine resolves the fuzz build anew and can pick a newer release of a
//!   dependency than the workspace was written against (it did: a salsa
//!   macro crate's patch release broke the CI fuzz build).
//!
//! Build output (`target/`) and hidden directories are not looked at.

use std::path::{Path, PathBuf};

/// The directories whose files these rules cover.
const ROOTS: [&str; 4] = ["lang", "compiler", "runtime-kmod", "std-imports"];

/// The longest a source file may be. Past this a file holds more than one
/// idea; split it along its seams (see `book/src/internals/architecture.md`).
const MAX_LINES: usize = 1600;

/// Files allowed to be longer than [`MAX_LINES`], as (path from the
/// repository root, why it cannot be split). Empty: every file fits.
const LONG_FILES: &[(&str, &str)] = &[];

/// Extensions of the files the length rule applies to.
const SOURCE_EXTENSIONS: [&str; 4] = ["rs", "c", "h", "S"];

/// Macros that mark unfinished or debugging code.
const FORBIDDEN_MACROS: [&str; 3] = ["dbg!", "todo!", "unimplemented!"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("compiler/ has a parent")
        .to_path_buf()
}

/// One file under [`ROOTS`]: its path from the repository root (with `/`)
/// and its text.
struct SourceFile {
    path: String,
    text: String,
}

impl SourceFile {
    fn extension(&self) -> &str {
        Path::new(&self.path)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
    }

    /// Whether the file is part of a crate's `src/` (not its tests,
    /// benchmarks or examples).
    fn in_src(&self) -> bool {
        self.path.split('/').any(|part| part == "src")
    }
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(&path, root, out);
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !SOURCE_EXTENSIONS.contains(&ext) {
            continue;
        }
        let rel = path.strip_prefix(root).expect("under the root");
        let rel: Vec<&str> = rel
            .iter()
            .map(|p| p.to_str().expect("UTF-8 path"))
            .collect();
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out.push(SourceFile {
            path: rel.join("/"),
            text,
        });
    }
}

fn source_files() -> Vec<SourceFile> {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ROOTS {
        walk(&root.join(dir), &root, &mut files);
    }
    assert!(
        files.iter().any(|f| f.path == "lang/src/lib.rs"),
        "the walk found no sources; is the repository root {}?",
        root.display()
    );
    files
}

/// The `.rs` files in a crate's `src/`.
fn rust_src_files() -> Vec<SourceFile> {
    source_files()
        .into_iter()
        .filter(|f| f.extension() == "rs" && f.in_src())
        .collect()
}

/// Fails with every problem found, one per line.
#[track_caller]
fn report(rule: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{rule}:\n{}",
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Whether `text` contains `word` not preceded by a character of an
/// identifier (so `dbg!` matches, `my_dbg!` does not).
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let problems = source_files()
        .iter()
        .filter(|f| f.extension() == "rs" && !f.text.starts_with("//!"))
        .map(|f| {
            format!(
                "{}: does not start with a `//!` comment saying what the file is for",
                f.path
            )
        })
        .collect();
    report("every .rs file starts with a `//!` module doc", problems);
}

#[test]
fn no_source_file_is_too_long() {
    let files = source_files();
    let mut problems = Vec::new();
    for f in &files {
        let lines = f.text.lines().count();
        if lines > MAX_LINES && !LONG_FILES.iter().any(|(p, _)| *p == f.path) {
            problems.push(format!(
                "{}: {lines} lines, over {MAX_LINES}; split it along its seams \
                 (or add it to LONG_FILES in compiler/tests/tidy.rs with a reason)",
                f.path
            ));
        }
    }
    for (path, _) in LONG_FILES {
        match files.iter().find(|f| f.path == *path) {
            None => problems.push(format!(
                "{path}: in LONG_FILES but does not exist; remove the entry"
            )),
            Some(f) if f.text.lines().count() <= MAX_LINES => problems.push(format!(
                "{path}: in LONG_FILES but now {} lines; remove the entry",
                f.text.lines().count()
            )),
            Some(_) => {}
        }
    }
    report(&format!("no source file over {MAX_LINES} lines"), problems);
}

#[test]
fn no_debugging_macros_in_src() {
    let mut problems = Vec::new();
    for f in &rust_src_files() {
        for (n, line) in f.text.lines().enumerate() {
            for m in FORBIDDEN_MACROS {
                if contains_word(line, m) {
                    problems.push(format!("{}:{}: `{m}`", f.path, n + 1));
                }
            }
        }
    }
    report(
        "no dbg!, todo! or unimplemented! in a crate's src/",
        problems,
    );
}

/// The language server and its wire: the only files that speak the protocol.
const PROTOCOL_FILES: [&str; 2] = [
    "compiler/src/editor/lsp.rs",
    "compiler/src/editor/transport.rs",
];

#[test]
fn protocol_and_ioctls_stay_at_their_edges() {
    let mut problems = Vec::new();
    for f in &rust_src_files() {
        for word in ["lsp_types", "lsp_server"] {
            if !PROTOCOL_FILES.contains(&f.path.as_str()) && contains_word(&f.text, word) {
                problems.push(format!(
                    "{}: uses `{word}`; only {} speak the protocol",
                    f.path,
                    PROTOCOL_FILES.join(" and ")
                ));
            }
        }
        if !f.path.starts_with("compiler/src/kernel/") && contains_word(&f.text, "libc::ioctl") {
            problems.push(format!(
                "{}: calls `libc::ioctl`; only compiler/src/kernel/ talks to /dev/kpl",
                f.path
            ));
        }
    }
    report("protocol and device I/O only at their edges", problems);
}

#[test]
fn the_word_matcher_respects_identifiers() {
    assert!(contains_word("    dbg!(x);", "dbg!"));
    assert!(contains_word("dbg!(x)", "dbg!"));
    assert!(!contains_word("my_dbg!(x)", "dbg!"));
    assert!(!contains_word("xtodo!()", "todo!"));
    assert!(contains_word("use lsp_types::Url;", "lsp_types"));
}

/// `(name, version)` of every package in a `Cargo.lock`.
fn locked_packages(lock: &str) -> Vec<(String, String)> {
    let mut packages = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if line == "[[package]]" {
            name = None;
        } else if let Some(value) = line.strip_prefix("name = ") {
            name = Some(value.trim_matches('"').to_string());
        } else if let (Some(value), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            packages.push((n, value.trim_matches('"').to_string()));
        }
    }
    packages
}

#[test]
fn the_fuzz_crate_is_locked_like_the_workspace() {
    let root = repo_root();
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let main = locked_packages(&read("Cargo.lock"));
    let fuzz = locked_packages(&read("fuzz/Cargo.lock"));
    assert!(
        fuzz.iter().any(|(n, _)| n == "libfuzzer-sys"),
        "fuzz/Cargo.lock does not lock libfuzzer-sys"
    );
    let mut problems = Vec::new();
    for (name, version) in &fuzz {
        let in_main: Vec<&String> = main
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        if !in_main.is_empty() && !in_main.contains(&version) {
            problems.push(format!(
                "{name} {version} in fuzz/Cargo.lock, {} in Cargo.lock (copy Cargo.lock to fuzz/ and run `cargo metadata --manifest-path fuzz/Cargo.toml`)",
                in_main.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    report("fuzz/Cargo.lock differs from Cargo.lock", problems);
}
