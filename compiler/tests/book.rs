//! Every ```kpl block in the book is a complete program that must give
//! exactly the outcome written on its fence:
//!
//! - ```` ```kpl ```` — no errors (warnings allowed);
//! - ```` ```kpl,E0200,W0001 ```` — the set of error codes is exactly the
//!   listed E codes, and each listed W code is reported.
//!
//! The error index (`book/src/errors/`) is also checked for shape: one file
//! per code, each with a failing example of its own code and a fix.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kpl_lang::{Code, Severity};
use kplc::std_imports::ImportSources;

struct Block {
    file: PathBuf,
    line: usize,
    expected: Vec<String>,
    code: String,
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

fn kpl_blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).expect("readable markdown");
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    let mut in_other_block = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let fence = trimmed.strip_prefix("```");
        if in_other_block {
            in_other_block = fence.is_none();
        } else if let Some(b) = current.as_mut() {
            if fence.is_some() {
                blocks.extend(current.take());
            } else {
                b.code.push_str(line);
                b.code.push('\n');
            }
        } else if let Some(info) = fence {
            let mut parts = info.split(',').map(str::trim);
            if parts.next() == Some("kpl") {
                current = Some(Block {
                    file: path.to_path_buf(),
                    line: i + 1,
                    expected: parts.filter(|p| !p.is_empty()).map(String::from).collect(),
                    code: String::new(),
                });
            } else {
                in_other_block = true;
            }
        }
    }
    assert!(
        current.is_none(),
        "{}: unterminated code block",
        path.display()
    );
    blocks
}

fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

#[test]
fn every_book_block_has_its_stated_outcome() {
    let (imports, _) = ImportSources::embedded().load();
    let mut files = Vec::new();
    markdown_files(&book_dir(), &mut files);
    let mut failures = Vec::new();
    let mut count = 0;
    for f in &files {
        for b in kpl_blocks(f) {
            count += 1;
            for e in &b.expected {
                assert!(
                    Code::parse(e).is_some(),
                    "{}:{}: unknown code `{e}` on the fence",
                    b.file.display(),
                    b.line
                );
            }
            let analysis = kpl_lang::analyze(&b.code, &imports);
            let got_errors: BTreeSet<String> = analysis
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.code.to_string())
                .collect();
            let got_all: BTreeSet<String> = analysis
                .diagnostics
                .iter()
                .map(|d| d.code.to_string())
                .collect();
            let want_errors: BTreeSet<String> = b
                .expected
                .iter()
                .filter(|c| c.starts_with('E'))
                .cloned()
                .collect();
            let missing_warnings: Vec<&String> = b
                .expected
                .iter()
                .filter(|c| c.starts_with('W') && !got_all.contains(*c))
                .collect();
            if got_errors != want_errors || !missing_warnings.is_empty() {
                let rendered: Vec<String> = analysis
                    .diagnostics
                    .iter()
                    .map(|d| format!("  {} {}", d.code, d.message))
                    .collect();
                failures.push(format!(
                    "{}:{}: expected {:?}, got:\n{}",
                    b.file.display(),
                    b.line,
                    b.expected,
                    rendered.join("\n")
                ));
            }
        }
    }
    assert!(count > 50, "only {count} kpl blocks found in the book");
    assert!(
        failures.is_empty(),
        "{} of {count} book blocks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn error_index_has_one_entry_per_code() {
    let dir = book_dir().join("errors");
    for code in Code::ALL {
        let path = dir.join(format!("{code}.md"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("# {code}: ")),
            "{}: first line must be `# {code}: title`",
            path.display()
        );
        let blocks = kpl_blocks(&path);
        assert!(
            blocks
                .iter()
                .any(|b| b.expected.contains(&code.to_string())),
            "{}: needs an example block fenced ```kpl,{code}",
            path.display()
        );
        assert!(
            blocks
                .iter()
                .any(|b| b.expected.iter().all(|c| !c.starts_with('E'))),
            "{}: needs a corrected example without errors",
            path.display()
        );
        // `kplc explain` prints exactly this file.
        assert_eq!(
            code.explanation(),
            text,
            "{code}: explanation is not the book file"
        );
    }
    // No stray entries for codes that do not exist.
    for entry in std::fs::read_dir(&dir).expect("errors dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        if let Some(stem) = name.strip_suffix(".md")
            && stem != "index"
        {
            assert!(
                Code::parse(stem).is_some(),
                "book/src/errors/{name} names no code"
            );
        }
    }
}
