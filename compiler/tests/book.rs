//! Every ```kpl block in the book is a complete program that must give
//! exactly the outcome written on its fence:
//!
//! - ```` ```kpl ```` — no errors (warnings allowed);
//! - ```` ```kpl,E0200,W0001 ```` — the set of error codes is exactly the
//!   listed E codes, and each listed W code is reported.
//!
//! A `file=NAME` part on a fence is not a code: the guide's test
//! (`compiler/tests/guide.rs`) saves the block under that name.
//!
//! The error index (`book/src/errors/`) is also checked for shape: one file
//! per code, each with a failing example of its own code and a fix.
//!
//! The book as a whole: every page is in `SUMMARY.md` and every page
//! `SUMMARY.md` names exists; every link inside the book resolves to a page
//! of the book (and its `#anchor` to a heading of that page); no link, and
//! no address written out, leaves the repository. (`mdbook build`
//! in `scripts/test-all.sh` then renders the book.)
//!
//! `performance.md`'s prose is also the text of its generator
//! (`compiler/examples/perf_report.rs`), so a regeneration cannot revert it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kpl_lang::{Code, Severity};
use kplc::std_imports::ImportSources;

#[path = "support/meaning.rs"]
mod meaning;
#[path = "../../lang/tests/support/perturb.rs"]
mod perturb;

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
                    // `file=NAME` names the file the guide saves the block
                    // as (compiler/tests/guide.rs); it is not a code.
                    expected: parts
                        .filter(|p| !p.is_empty() && !p.contains('='))
                        .map(String::from)
                        .collect(),
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

/// Every ```kpl block is in `kplc fmt`'s layout, except blocks that show a
/// syntax error (the formatter refuses those). For each block that compiles,
/// the block with its whitespace scrambled formats back to it, and with
/// comments dropped into it, formatted, compiles to the same object.
#[test]
fn every_book_block_is_formatted() {
    use kpl_lang::format::{FormatError, format_source};
    const SYNTAX: [&str; 7] = [
        "E0001", "E0002", "E0003", "E0004", "E0005", "E0006", "E0508",
    ];
    let mut files = Vec::new();
    markdown_files(&book_dir(), &mut files);
    let mut failures = Vec::new();
    for f in &files {
        for (k, b) in kpl_blocks(f).into_iter().enumerate() {
            let at = format!("{}:{}", b.file.display(), b.line);
            let syntax_error = b.expected.iter().any(|c| SYNTAX.contains(&c.as_str()));
            match format_source(&b.code) {
                Ok(_) if syntax_error => {
                    failures.push(format!("{at}: formatted, but fenced as a syntax error"))
                }
                Ok(out) if out != b.code => failures.push(format!(
                    "{at}: not formatted (run `kplc fmt` on it):\n{}",
                    kplc::fmt::hint("block", &b.code, &out)
                )),
                Ok(_) => {}
                Err(FormatError::Syntax(_)) if syntax_error => continue,
                Err(e) => failures.push(format!("{at}: {e}")),
            }
            if b.expected.iter().any(|c| c.starts_with('E')) {
                continue;
            }
            let seed = (b.line * 131 + k) as u64;
            let scrambled = perturb::perturb(&b.code, &perturb::choices(seed, 1 << 14));
            if format_source(&scrambled).ok().as_deref() != Some(b.code.as_str()) {
                failures.push(format!("{at}: scrambled whitespace formats differently"));
            }
            let commented = perturb::with_comments(&b.code, &perturb::choices(seed, 1 << 14));
            let same = match format_source(&commented) {
                Ok(out) => meaning::meaning(&out).ok() == meaning::meaning(&b.code).ok(),
                Err(_) => false,
            };
            if !same {
                failures.push(format!(
                    "{at}: with comments, formatted, it compiles differently"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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

/// The text of a markdown file outside fenced code blocks and (unless
/// `keep_code`) inline code.
fn prose_with(text: &str, keep_code: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Drop inline code spans (or just their backquotes).
        let mut kept = String::new();
        for (k, part) in line.split('`').enumerate() {
            if k % 2 == 0 || keep_code {
                kept.push_str(part);
            }
        }
        out.push((i + 1, kept));
    }
    out
}

fn prose(text: &str) -> Vec<(usize, String)> {
    prose_with(text, false)
}

/// Link targets `[text](target)` in prose, with their line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (line, prose) in prose(text) {
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((line, after[..end].trim().to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// The anchors mdbook gives a page's headings: lower-case text, spaces as
/// `-`, other punctuation dropped, `-1`, `-2`… for repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in prose_with(text, true) {
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let title = title.trim_start_matches('#').trim();
        // Link text stays, its target goes.
        let mut plain = String::new();
        let mut rest = title;
        while let Some(at) = rest.find("](") {
            plain.push_str(&rest[..at]);
            rest = rest[at + 2..].split_once(')').map_or("", |(_, r)| r);
        }
        plain.push_str(rest);
        let id: String = plain
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c.to_ascii_lowercase())
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while seen.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        seen.insert(unique);
    }
    seen
}

#[test]
fn every_link_in_the_book_resolves() {
    let src = book_dir().canonicalize().expect("book/src");
    let mut files = Vec::new();
    markdown_files(&src, &mut files);
    let mut broken = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable markdown");
        // An address written out (`<https://…>`, or in prose) leaves the
        // repository as surely as a link does.
        for (n, l) in text.lines().enumerate() {
            if l.contains("http://") || l.contains("https://") {
                broken.push(format!("{}:{}: a web address", f.display(), n + 1));
            }
        }
        for (line, target) in links(&text) {
            let at = format!("{}:{line}: `{target}`", f.display());
            if target.contains("://") || target.starts_with("mailto:") {
                broken.push(format!(
                    "{at}: the book is read without a network: no link leaves the repository"
                ));
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let page = if path.is_empty() {
                f.clone()
            } else {
                match f.parent().expect("dir").join(path).canonicalize() {
                    Ok(p) => p,
                    Err(_) => {
                        broken.push(format!("{at}: no such file"));
                        continue;
                    }
                }
            };
            if !page.starts_with(&src) {
                broken.push(format!("{at}: points outside the book"));
                continue;
            }
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&page).unwrap_or_default();
                if !anchors(&text).contains(anchor) {
                    broken.push(format!("{at}: no heading with this anchor"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn summary_lists_every_page_and_only_pages_that_exist() {
    let src = book_dir();
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).expect("SUMMARY.md");
    let listed: BTreeSet<PathBuf> = links(&summary)
        .into_iter()
        .map(|(_, t)| src.join(t))
        .collect();
    for p in &listed {
        assert!(
            p.is_file(),
            "SUMMARY.md names {} but it does not exist",
            p.display()
        );
    }
    let mut files = Vec::new();
    markdown_files(&src, &mut files);
    for f in files {
        if f.file_name().is_some_and(|n| n == "SUMMARY.md") {
            continue;
        }
        assert!(
            listed.contains(&f),
            "{} is not in SUMMARY.md, so the book never shows it",
            f.display()
        );
    }
}

#[test]
fn readme_points_only_inside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    // Every backquoted path with a slash that names a file or directory.
    for (k, span) in readme.split('`').enumerate() {
        if k % 2 == 0 || span.contains(' ') || !span.contains('/') || span.contains("://") {
            continue;
        }
        let path = span.trim_end_matches('/');
        if path.starts_with("..") {
            panic!("README.md points outside the repository: `{span}`");
        }
        if path.ends_with(".md") {
            assert!(
                root.join(path).is_file(),
                "README.md names `{span}`, which is not in the repository"
            );
        }
    }
}

/// The text of the string constant `name` in Rust source `src` (a plain
/// `"…"` literal with `\\`, `\"` and line-continuation escapes only).
fn string_constant(src: &str, name: &str) -> String {
    let head = format!("const {name}: &str = \"");
    let start = src
        .find(&head)
        .unwrap_or_else(|| panic!("no constant {name}"))
        + head.len();
    let body = &src[start..];
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => match chars.next() {
                // A line continuation skips the newline and the next
                // line's leading spaces.
                Some('\n') => {
                    let rest: String = chars.clone().collect();
                    let skipped = rest.len() - rest.trim_start_matches(' ').len();
                    for _ in 0..skipped {
                        chars.next();
                    }
                }
                Some(e @ ('\\' | '"')) => out.push(e),
                other => panic!("unexpected escape {other:?} in {name}"),
            },
            c => out.push(c),
        }
    }
    panic!("unterminated constant {name}")
}

/// `performance.md` is written by `compiler/examples/perf_report.rs` from a
/// criterion run; its prose sections are constants of that tool. Anyone
/// editing the page's prose must edit the constants too, or the next
/// regeneration silently reverts the page: this test catches the drift.
#[test]
fn performance_page_prose_matches_its_generator() {
    let root = book_dir().join("../..");
    let tool = std::fs::read_to_string(root.join("compiler/examples/perf_report.rs"))
        .expect("perf_report.rs");
    let page = std::fs::read_to_string(book_dir().join("performance.md")).expect("performance.md");
    for name in ["EXPLANATIONS", "INCREMENTAL_INTRO", "INCREMENTAL_NOTES"] {
        let text = string_constant(&tool, name);
        assert!(
            page.contains(&text),
            "book/src/performance.md does not contain perf_report.rs's {name} \
             as written: edit both (or regenerate the page)"
        );
    }
}
