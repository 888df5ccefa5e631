//! `kplc`, the KPL compiler's command line.
//!
//! Exit status: 0 when there are no errors (warnings allowed), 1 when a
//! checked file has errors, 2 for usage and I/O problems.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use kpl_lang::{Code, LineIndex, Severity};
use kplc::render;
use kplc::std_imports::ImportSources;

#[derive(Parser)]
#[command(
    name = "kplc",
    version,
    about = "The KPL (Kernel Plugin Language) compiler"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    /// Rendered for people, with source excerpts.
    Human,
    /// One JSON object per line, for editors and CI annotators.
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorMode {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Check plugins for errors without generating code.
    Check {
        /// Plugin source files (`.kpl`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        message_format: MessageFormat,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorMode,
        /// Directory of `.kpli` import declarations (default: the built-in std-imports).
        #[arg(long)]
        imports: Option<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Print the explanation of a diagnostic code, e.g. `kplc explain E0200`.
    Explain { code: String },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check {
            files,
            message_format,
            color,
            imports,
            deny_warnings,
        } => check(&files, message_format, color, imports, deny_warnings),
        Command::Explain { code } => explain(&code),
    }
}

fn explain(code: &str) -> ExitCode {
    match Code::parse(code) {
        Some(c) => {
            print!("{}", c.explanation());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "kplc: `{code}` is not a KPL diagnostic code (codes look like E0200 or W0001)"
            );
            ExitCode::from(2)
        }
    }
}

fn color_choice(mode: ColorMode) -> ColorChoice {
    match mode {
        ColorMode::Always => ColorChoice::Always,
        ColorMode::Never => ColorChoice::Never,
        ColorMode::Auto => {
            // Colour only on a terminal, and never when NO_COLOR is set to
            // anything non-empty (no-color.org) or the terminal is dumb.
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            if std::io::stderr().is_terminal() && !no_color && !dumb {
                ColorChoice::Always
            } else {
                ColorChoice::Never
            }
        }
    }
}

fn check(
    files: &[PathBuf],
    format: MessageFormat,
    color: ColorMode,
    imports_dir: Option<PathBuf>,
    deny_warnings: bool,
) -> ExitCode {
    let sources = match &imports_dir {
        Some(dir) => match ImportSources::from_dir(dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("kplc: {e}");
                return ExitCode::from(2);
            }
        },
        None => ImportSources::embedded(),
    };
    let mut stderr = StandardStream::stderr(color_choice(color));
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let (table, import_problems) = sources.load();
    let (mut errors, mut warnings) = (0usize, 0usize);
    let mut emit = |name: &str, src: &str, diags: &[kpl_lang::Diagnostic]| {
        let lines = LineIndex::new(src);
        for d in diags {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            let result = match format {
                MessageFormat::Human => render::render_to(&mut stderr, name, src, d),
                MessageFormat::Json => {
                    writeln!(stdout, "{}", render::render_json(name, src, &lines, d))
                }
            };
            if result.is_err() {
                return false;
            }
        }
        true
    };
    for p in &import_problems {
        let text = sources
            .files
            .iter()
            .find(|(path, _)| *path == p.path)
            .map_or("", |(_, t)| t.as_str());
        emit(&p.path, text, std::slice::from_ref(&p.diagnostic));
    }
    if import_problems.iter().any(|p| p.diagnostic.is_error()) {
        eprintln!("kplc: the import declarations have errors");
        return ExitCode::from(2);
    }
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("kplc: cannot read `{}`: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let Ok(src) = String::from_utf8(bytes) else {
            eprintln!("kplc: `{}` is not valid UTF-8", path.display());
            return ExitCode::from(2);
        };
        let analysis = kpl_lang::analyze(&src, &table);
        let name = path.display().to_string();
        if !emit(&name, &src, &analysis.diagnostics) {
            return ExitCode::from(2);
        }
    }
    if format == MessageFormat::Human {
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        eprintln!(
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
