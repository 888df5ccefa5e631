//! The book's guide (`book/src/guide/getting-started.md`), run as written.
//!
//! The chapter is read top to bottom. A ```` ```kpl,…,file=NAME ```` block is
//! saved as `NAME` in a fresh directory (its outcome is checked by
//! `book.rs`). A ```` ```console ```` block is run there: each `$ COMMAND`
//! line goes to `sh -c` with the `kplc` under test first on `PATH`, and the
//! lines after it, up to the next `$`, are its expected output (standard
//! output and error together). In expected output, a line `...` stands for
//! any number of lines and `[..]` for any text within a line. A block fenced
//! `console,exit=N` expects every command in it to exit with status N; others
//! expect 0.
//!
//! `console,kernel` and `console,install` blocks need root, the kernel module
//! or a network, so they are checked for syntax only: a `kplc` command by
//! `kplc SUBCOMMAND… --help` accepting every `--option` it uses, a `cargo`
//! command likewise by `cargo SUBCOMMAND --help`, a `scripts/` command by the
//! script existing, and anything else must be one of a few system tools.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUIDE: &str = "../book/src/guide/getting-started.md";

/// System tools a kernel or install block may name; not run here.
const SYSTEM_TOOLS: &[&str] = &["apt-get", "insmod", "rmmod", "modprobe", "ping", "cat"];

enum Step {
    File {
        name: String,
        text: String,
    },
    Console {
        line: usize,
        fence: Vec<String>,
        body: Vec<String>,
    },
}

fn steps(text: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let parts: Vec<String> = info.split(',').map(|p| p.trim().to_string()).collect();
        let mut body = Vec::new();
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                break;
            }
            body.push(l.to_string());
        }
        match parts[0].as_str() {
            "kpl" => {
                if let Some(name) = parts.iter().find_map(|p| p.strip_prefix("file=")) {
                    let mut text = body.join("\n");
                    text.push('\n');
                    out.push(Step::File {
                        name: name.to_string(),
                        text,
                    });
                }
            }
            "console" => out.push(Step::Console {
                line: i + 1,
                fence: parts[1..].to_vec(),
                body,
            }),
            _ => {}
        }
    }
    out
}

/// `$ command` lines with the output lines that follow each.
fn commands(body: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in body {
        if let Some(cmd) = l.strip_prefix("$ ") {
            out.push((cmd.to_string(), Vec::new()));
        } else if let Some((_, expected)) = out.last_mut() {
            expected.push(l.clone());
        }
    }
    out
}

fn line_matches(pattern: &str, actual: &str) -> bool {
    let pieces: Vec<&str> = pattern.split("[..]").collect();
    if pieces.len() == 1 {
        return pattern == actual;
    }
    let Some(mut rest) = actual.strip_prefix(pieces[0]) else {
        return false;
    };
    for (k, piece) in pieces.iter().enumerate().skip(1) {
        if k == pieces.len() - 1 {
            return rest.ends_with(piece);
        }
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((e, rest)) => {
            !actual.is_empty() && line_matches(e, actual[0]) && output_matches(rest, &actual[1..])
        }
    }
}

fn kplc() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kplc"))
}

fn run_host(dir: &Path, cmd: &str) -> (i32, String) {
    let bin_dir = kplc().parent().expect("bin dir").to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{cmd} 2>&1"))
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .expect("sh runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The `--options` of a command line.
fn options(words: &[&str]) -> Vec<String> {
    words
        .iter()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap_or(w).to_string())
        .collect()
}

fn help_accepts(program: &Path, subcommands: &[&str], used: &[String]) -> Result<(), String> {
    let out = Command::new(program)
        .args(subcommands)
        .arg("--help")
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!("`{} --help` failed", subcommands.join(" ")));
    }
    let help = String::from_utf8_lossy(&out.stdout);
    for o in used {
        if !help.contains(o.as_str()) {
            return Err(format!("`{}` has no option {o}", subcommands.join(" ")));
        }
    }
    Ok(())
}

fn check_syntax(cmd: &str) -> Result<(), String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let words: &[&str] = match words.first() {
        Some(&"sudo") => &words[1..],
        _ => &words,
    };
    let Some((&program, args)) = words.split_first() else {
        return Err("empty command".into());
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match program {
        "kplc" => {
            // The subcommand path: leading words that are not values.
            let subs: Vec<&str> = args
                .iter()
                .take_while(|w| !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase()))
                .take(2)
                .copied()
                .collect();
            help_accepts(&kplc(), &subs, &options(args))
        }
        "cargo" => {
            let sub = args.first().copied().unwrap_or_default();
            help_accepts(Path::new("cargo"), &[sub], &options(args))
        }
        p if p.starts_with("scripts/") => {
            if root.join(p).is_file() {
                Ok(())
            } else {
                Err(format!("no script {p}"))
            }
        }
        p if SYSTEM_TOOLS.contains(&p) => Ok(()),
        p => Err(format!(
            "`{p}` is neither kplc, cargo, a script nor a known system tool"
        )),
    }
}

#[test]
fn the_guide_runs_as_written() {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join(GUIDE);
    let text = std::fs::read_to_string(&guide).expect("the guide");
    let dir = std::env::temp_dir().join(format!("kpl-guide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    let mut ran = 0;
    for step in steps(&text) {
        match step {
            Step::File { name, text } => {
                std::fs::write(dir.join(&name), text).expect("write the plugin");
            }
            Step::Console { line, fence, body } => {
                let syntax_only = fence.iter().any(|f| f == "kernel" || f == "install");
                let status: i32 = fence
                    .iter()
                    .find_map(|f| f.strip_prefix("exit="))
                    .map_or(0, |s| s.parse().expect("exit=N"));
                for (cmd, expected) in commands(&body) {
                    ran += 1;
                    let at = format!("{GUIDE}:{line}: `{cmd}`");
                    if syntax_only {
                        if let Err(e) = check_syntax(&cmd) {
                            failures.push(format!("{at}: {e}"));
                        }
                        continue;
                    }
                    let (code, out) = run_host(&dir, &cmd);
                    if code != status {
                        failures.push(format!(
                            "{at}: exit status {code}, expected {status}\n{out}"
                        ));
                        continue;
                    }
                    let actual: Vec<&str> = out.lines().map(str::trim_end).collect();
                    let expected: Vec<String> =
                        expected.iter().map(|l| l.trim_end().to_string()).collect();
                    if !output_matches(&expected, &actual) {
                        failures.push(format!(
                            "{at}: output differs\n--- expected\n{}\n--- actual\n{}",
                            expected.join("\n"),
                            actual.join("\n")
                        ));
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ran >= 20, "only {ran} commands found in the guide");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn wildcards_match_as_documented() {
    assert!(line_matches("returned 0 ([..]µs)", "returned 0 (58.75µs)"));
    assert!(!line_matches("returned 0 ([..]µs)", "returned 1 (58.75µs)"));
    let exp = vec!["a".to_string(), "...".to_string()];
    assert!(output_matches(&exp, &["a", "b", "c"]));
    assert!(!output_matches(&exp, &["b"]));
}
