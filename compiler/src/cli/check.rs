//! `kplc check` (diagnostics for people or as JSON lines, one database for
//! every file) and `kplc explain` (the error-index page of a code).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use codespan_reporting::term::termcolor::BufferedStandardStream;
use kpl_codegen::std_imports::ImportSources;
use kpl_lang::{Code, LineIndex, Severity};
use kplc::{cli_io, errln, out, render};

use super::{ColorMode, MessageFormat, color_choice, finish, usage};

pub(super) fn check(
    files: &[PathBuf],
    format: MessageFormat,
    color: ColorMode,
    imports_dir: Option<PathBuf>,
    deny_warnings: bool,
    max_diagnostics: usize,
) -> ExitCode {
    let sources = match &imports_dir {
        Some(dir) => match ImportSources::from_dir(dir) {
            Ok(s) => s,
            Err(e) => {
                errln!("kplc: {e}");
                return ExitCode::from(2);
            }
        },
        None => ImportSources::embedded(),
    };
    // Buffered (flushed after each file): one write per piece of a rendered
    // diagnostic would be a system call each.
    let mut stderr = BufferedStandardStream::stderr(color_choice(color));
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let (table, import_problems) = sources.load();
    let (mut errors, mut warnings) = (0usize, 0usize);
    let mut emit = |name: &str, src: &str, diags: &[kpl_lang::Diagnostic]| {
        let lines = LineIndex::new(src);
        for d in diags {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
        }
        let shown = render::shown(diags, max_diagnostics);
        for &i in &shown.indexes {
            let d = &diags[i];
            let result = match format {
                MessageFormat::Human => render::render_to(&mut stderr, name, src, &lines, d),
                MessageFormat::Json => {
                    writeln!(stdout, "{}", render::render_json(name, src, &lines, d))
                }
            };
            if result.is_err() {
                return false;
            }
        }
        let flushed = stderr.flush().is_ok() && stdout.flush().is_ok();
        // On standard error in both formats: a JSON reader gets only
        // diagnostics on standard output, and a person learns of the rest.
        if let Some(note) = render::hidden_note(name, &shown, "`--max-diagnostics 0`") {
            errln!("kplc: {note}");
        }
        flushed
    };
    for p in &import_problems {
        let text = sources
            .files
            .iter()
            .find(|(path, _)| *path == p.path)
            .map_or("", |(_, t)| t.as_str());
        if !emit(&p.path, text, std::slice::from_ref(&p.diagnostic)) {
            return usage("cannot write the diagnostics".to_string());
        }
    }
    if import_problems.iter().any(|p| p.diagnostic.is_error()) {
        errln!("kplc: the import declarations have errors");
        return ExitCode::from(2);
    }
    // One database for every file checked.
    let db = kplc::db::Db::default();
    let table = std::sync::Arc::new(table);
    for path in files {
        let src = match cli_io::read_source(path) {
            Ok(src) => src,
            Err(e) => return usage(e),
        };
        let file = db.file(src.clone(), table.clone());
        let name = cli_io::input_name(path);
        if !emit(&name, &src, kplc::db::diagnostics(&db, file)) {
            return usage("cannot write the diagnostics".to_string());
        }
    }
    // The process ends right after this: the operating system takes back the
    // database's memory at once, while freeing its trees, tables and memos
    // one allocation at a time was a tenth of a check of a large file. (The
    // editor server keeps and drops databases, so `Db` itself still frees
    // everything; `tests/memory.rs` checks that.)
    std::mem::forget(db);
    if format == MessageFormat::Human {
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        errln!(
            "kplc: checked {}: {}, {}",
            plural(files.len(), "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        );
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) fn explain(code: &str) -> ExitCode {
    match Code::parse(code) {
        Some(c) => finish(out!("{}", c.explanation())),
        None => usage(format!(
            "`{code}` is not a KPL diagnostic code (codes look like E0200 or W0001)"
        )),
    }
}
