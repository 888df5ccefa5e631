//! `kplc fmt`: rewrites KPL files in their canonical layout
//! ([`kpl_lang::format`]), checks that they are in it (`--check`, for CI), or
//! formats standard input to standard output (`-`).
//!
//! Exit status: 0 when every file is (now) formatted; 1 when a file has
//! syntax errors, or a habit from another language that the compiler reads
//! as something else (they are shown and the file is left alone) or, with
//! `--check`, when a file would change; 2 for I/O and usage problems.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codespan_reporting::term::termcolor::{BufferedStandardStream, ColorChoice};
use kpl_lang::format::{FormatError, format_source};

use crate::render;

/// What happened to one input.
enum Outcome {
    Unchanged,
    Changed,
    Refused,
}

/// A short diff-like hint: the first region where `old` and `new` differ,
/// as `-`/`+` lines with its line number.
pub fn hint(name: &str, old: &str, new: &str) -> String {
    const MAX_LINES: usize = 8;
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!("--> {name}:{}\n", prefix + 1);
    let mut section = |lines: &[&str], sign: char| {
        for l in lines.iter().take(MAX_LINES) {
            out.push_str(&format!("{sign} {l}\n"));
        }
        if lines.len() > MAX_LINES {
            out.push_str(&format!(
                "{sign} … ({} more lines)\n",
                lines.len() - MAX_LINES
            ));
        }
    };
    section(&a[prefix..a.len() - suffix], '-');
    section(&b[prefix..b.len() - suffix], '+');
    if prefix == a.len().min(b.len()) && a.len() == b.len() {
        // Same lines: the difference is in line endings or the final newline.
        out.push_str("  (only the line endings or the final newline differ)\n");
    }
    out
}

/// Replaces the contents of the file at `path` (through a symbolic link,
/// keeping its permissions) so that it holds either the old text or the new
/// one, never a part: the new text goes to a file beside it first, which
/// then takes its place.
fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.kplc-fmt-{}", std::process::id()));
    let result = std::fs::write(&temp, text)
        .and_then(|()| {
            let permissions = std::fs::metadata(&target)?.permissions();
            std::fs::set_permissions(&temp, permissions)
        })
        .and_then(|()| std::fs::rename(&temp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Formats one text: the formatted text, or `None` after reporting why not.
fn format_one(
    name: &str,
    src: &str,
    stderr: &mut BufferedStandardStream,
) -> Result<Option<String>, String> {
    let (errors, why) = match format_source(src) {
        Ok(out) => return Ok(Some(out)),
        Err(FormatError::Syntax(diags)) => (diags, "its syntax errors"),
        Err(FormatError::NotAsWritten(at)) => {
            // No syntax error, but a habit the checker reports (the tree is
            // not the text's): its errors say what to write instead.
            let (imports, _) = crate::std_imports::ImportSources::embedded().load();
            let analysis = kpl_lang::analyze(src, &imports);
            let errors: Vec<_> = analysis
                .diagnostics
                .into_iter()
                .filter(|d| d.is_error())
                .collect();
            if errors.is_empty() {
                let (line, col) = kpl_lang::LineIndex::new(src).line_col(src, at.start as usize);
                crate::errln!(
                    "kplc: {name}:{line}:{col}: not formatted: the compiler reads this part as something other than what is written"
                );
                return Ok(None);
            }
            (errors, "its errors")
        }
        Err(e @ FormatError::Internal(_)) => {
            crate::errln!("kplc: {name}: {e}");
            return Ok(None);
        }
    };
    let lines = kpl_lang::LineIndex::new(src);
    // As many as `kplc check` shows by default: a file that is one flood of
    // syntax errors is refused as fast as it is checked.
    let shown = render::shown(&errors, render::DEFAULT_SHOWN);
    for &i in &shown.indexes {
        render::render_to(stderr, name, src, &lines, &errors[i]).map_err(|e| e.to_string())?;
    }
    // Out before the lines below, which are written unbuffered.
    stderr.flush().map_err(|e| e.to_string())?;
    if let Some(note) = render::hidden_note(name, &shown, "`kplc check --max-diagnostics 0`") {
        crate::errln!("kplc: {note}");
    }
    crate::errln!("kplc: {name}: not formatted because of {why}");
    Ok(None)
}

fn one(path: &Path, check: bool, stderr: &mut BufferedStandardStream) -> Result<Outcome, String> {
    let stdin = crate::cli_io::is_standard_stream(path);
    let name = crate::cli_io::input_name(path);
    let src = crate::cli_io::read_source(path)?;
    let Some(out) = format_one(&name, &src, stderr)? else {
        return Ok(Outcome::Refused);
    };
    let changed = out != src;
    let print = |text: &str| {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("cannot write to standard output: {e}"))
    };
    if check {
        if changed {
            print(&format!(
                "{name} is not formatted\n{}",
                hint(&name, &src, &out)
            ))?;
        }
    } else if stdin {
        print(&out)?;
    } else if changed {
        replace_file(path, &out).map_err(|e| format!("cannot write `{name}`: {e}"))?;
    }
    Ok(if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    })
}

/// `kplc fmt [--check] FILE...` (`-` is standard input).
pub fn main(files: &[PathBuf], check: bool, color: ColorChoice) -> ExitCode {
    // Buffered, as `kplc check`'s: a diagnostic rendered piece by piece
    // straight to standard error was a system call per piece (per character
    // of an excerpt with non-ASCII text), 5.9 s for 1 MiB of such lines.
    let mut stderr = BufferedStandardStream::stderr(color);
    let (mut refused, mut unformatted) = (0usize, 0usize);
    for path in files {
        match one(path, check, &mut stderr) {
            Ok(Outcome::Unchanged) => {}
            Ok(Outcome::Changed) => unformatted += 1,
            Ok(Outcome::Refused) => refused += 1,
            Err(e) => {
                let _ = stderr.flush();
                crate::errln!("kplc: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if check && unformatted > 0 {
        crate::errln!(
            "kplc: {unformatted} file{} would be reformatted (run `kplc fmt` on {})",
            if unformatted == 1 { "" } else { "s" },
            if unformatted == 1 { "it" } else { "them" }
        );
    }
    if refused > 0 || (check && unformatted > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_shows_the_first_differing_lines() {
        let h = hint("a.kpl", "x\ny\nz\n", "x\nY\nz\n");
        assert_eq!(h, "--> a.kpl:2\n- y\n+ Y\n");
        let h = hint("a.kpl", "x\r\n", "x\n");
        assert!(h.contains("line endings"), "{h}");
        assert!(hint("a.kpl", "x", "x\n").contains("final newline"));
    }
}
