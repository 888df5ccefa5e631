//! `kplc`, the KPL compiler's command line: argument parsing (clap) and
//! dispatch, one file per group of subcommands:
//!
//! - `check.rs`: `kplc check` and `kplc explain` (diagnostics);
//! - `build.rs`: `kplc build`, and the front end every compiling command shares;
//! - `run.rs`: `kplc run` (an export on the host runtime);
//! - `object.rs`: `kplc verify` and `kplc disasm` (commands on a `.kpo`);
//! - `kplc lsp` and `kplc kernel` call into the library
//!   ([`kplc::editor::lsp`], [`kplc::kernel`]).
//!
//! This is the only part of kplc that reads argv and sets the exit status.
//! Exit status: 0 when there are no errors (warnings allowed), 1 when a
//! checked file has errors, 2 for usage and I/O problems, including a file
//! over its size limit and any failure to write the output (see
//! [`kplc::cli_io`]); 3: `kplc run` trapped.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::ColorChoice;
use kplc::errln;

mod build;
mod check;
mod object;
mod run;

use build::{FrontEnd, build};
use check::{check, explain};
use object::{disasm, verify_cmd};
use run::run;

#[derive(Parser)]
#[command(
    name = "kplc",
    version,
    about = "The KPL (Kernel Plugin Language) compiler"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The processors the generated code is tuned for: `native` (the one
    /// running kplc), `amd` (Zen) or `intel`. The code is correct on every
    /// x86-64 processor; only its speed differs. The library's default,
    /// which tests and reproducible builds use, is `amd`.
    #[arg(long, value_enum, global = true, default_value = "native")]
    tune: TuneChoice,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TuneChoice {
    /// The processor kplc runs on.
    Native,
    /// AMD's Zen cores.
    Amd,
    /// Intel's Core and Xeon cores.
    Intel,
}

impl TuneChoice {
    fn tune(self) -> kpl_codegen::tune::Tune {
        use kpl_codegen::tune::Tune;
        match self {
            TuneChoice::Native => Tune::host(),
            TuneChoice::Amd => Tune::Amd,
            TuneChoice::Intel => Tune::Intel,
        }
    }
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// Intel-syntax disassembly with symbolic names.
    Asm,
    /// The optimised IR, per function.
    Ir,
}

#[derive(Subcommand)]
enum Command {
    /// Check plugins for errors without generating code.
    Check {
        /// Plugin source files (`.kpl`; `-`: standard input).
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
        /// Show at most N diagnostics per file, errors first (0: all of them).
        #[arg(long, value_name = "N", default_value_t = kplc::render::DEFAULT_SHOWN)]
        max_diagnostics: usize,
    },
    /// Compile a plugin to machine code.
    Build {
        /// The plugin's source (`.kpl`; `-`: standard input).
        file: PathBuf,
        /// Output object file (`.kpo`; `-`: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print the generated assembly (or IR) instead of writing an object;
        /// with `-o FILE`, write it to FILE.
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorMode,
        #[arg(long)]
        imports: Option<PathBuf>,
        /// Show at most N diagnostics per file, errors first (0: all of them).
        #[arg(long, value_name = "N", default_value_t = kplc::render::DEFAULT_SHOWN)]
        max_diagnostics: usize,
    },
    /// Compile and run an export on the host runtime.
    ///
    /// Scalar parameters take `--arg` values in order; read-only slice
    /// parameters take `--in` files in order; a writable slice parameter gets
    /// a zero-filled buffer of `--out-len` bytes (default: the size of the
    /// first input), written to `--out` afterwards. Buffers are at most
    /// 1 GiB each. Prints the time of the call itself; with `--repeat N`,
    /// the median, minimum and maximum of N calls on the same buffers.
    Run {
        /// The plugin: an object (`.kpo`) or its source (`-`: source on
        /// standard input).
        file: PathBuf,
        #[arg(long)]
        entry: String,
        /// A scalar argument (decimal, negative, 0x hex, true/false).
        #[arg(long = "arg", allow_hyphen_values = true)]
        args: Vec<String>,
        /// A file handed to the next read-only slice parameter.
        #[arg(long = "in")]
        inputs: Vec<PathBuf>,
        /// Where to write the writable slice after the call.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Size in bytes of the writable slice (at most 1 GiB).
        #[arg(long)]
        out_len: Option<u64>,
        /// Call the export N times and print the median (and min/max) time.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Fuel for the invocation (loop iterations before a Budget trap).
        #[arg(long, default_value_t = kpl_host::DEFAULT_FUEL)]
        fuel: u64,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorMode,
        #[arg(long)]
        imports: Option<PathBuf>,
        /// Show at most N diagnostics per file, errors first (0: all of them).
        #[arg(long, value_name = "N", default_value_t = kplc::render::DEFAULT_SHOWN)]
        max_diagnostics: usize,
    },
    /// Print the disassembly of a `.kpo` object.
    Disasm {
        /// The object (`-`: standard input).
        file: PathBuf,
    },
    /// Check a `.kpo` object against the sandbox rules, as the runtimes do
    /// before loading it. Exit 0 if it verifies, 1 if not.
    Verify {
        /// The object (`-`: standard input).
        file: PathBuf,
    },
    /// Rewrite files in the canonical layout (`-`: standard input to output).
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; exit 1 listing the files that are not formatted.
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorMode,
    },
    /// Print the explanation of a diagnostic code, e.g. `kplc explain E0200`.
    Explain { code: String },
    /// Run the Language Server (LSP over stdio) for editors.
    Lsp {
        /// Directory of `.kpli` import declarations (default: the built-in std-imports).
        #[arg(long)]
        imports: Option<PathBuf>,
    },
    /// Drive the kernel module through /dev/kpl (load, run, attach, ...).
    Kernel {
        #[command(subcommand)]
        cmd: kplc::kernel::KernelCmd,
    },
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` go to standard output: a failed
            // write there is an error like any other output's.
            let printed = e.print();
            if e.use_stderr() {
                return ExitCode::from(2);
            }
            return match printed.and_then(|()| std::io::Write::flush(&mut std::io::stdout())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    errln!("kplc: cannot write to standard output: {err}");
                    ExitCode::from(2)
                }
            };
        }
    };
    // Before anything compiles: every `Options::default()` takes it.
    kpl_codegen::tune::set_process_tune(cli.tune.tune());
    match cli.command {
        Command::Check {
            files,
            message_format,
            color,
            imports,
            deny_warnings,
            max_diagnostics,
        } => check(
            &files,
            message_format,
            color,
            imports,
            deny_warnings,
            max_diagnostics,
        ),
        Command::Explain { code } => explain(&code),
        Command::Fmt {
            files,
            check,
            color,
        } => kplc::fmt::main(&files, check, color_choice(color)),
        Command::Kernel { cmd } => kplc::kernel::main(cmd),
        Command::Lsp { imports } => match kplc::editor::lsp::run(imports) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                errln!("kplc lsp: {e}");
                ExitCode::from(2)
            }
        },
        Command::Disasm { file } => disasm(&file),
        Command::Verify { file } => verify_cmd(&file),
        Command::Run {
            file,
            entry,
            args,
            inputs,
            out,
            out_len,
            repeat,
            fuel,
            color,
            imports,
            max_diagnostics,
        } => run(
            file,
            FrontEnd {
                color,
                imports,
                max_diagnostics,
            },
            kplc::exec::invoke::Request {
                entry,
                args,
                inputs,
                out,
                out_len,
                fuel,
                repeat,
            },
        ),
        Command::Build {
            file,
            output,
            emit,
            color,
            imports,
            max_diagnostics,
        } => build(
            &file,
            output.as_deref(),
            emit,
            FrontEnd {
                color,
                imports,
                max_diagnostics,
            },
        ),
    }
}

/// Reports a usage or I/O problem; its exit status.
fn usage(message: String) -> ExitCode {
    errln!("kplc: {message}");
    ExitCode::from(2)
}

/// Success, or exit status 2 after a failed write.
fn finish(written: Result<(), String>) -> ExitCode {
    written.map_or_else(usage, |()| ExitCode::SUCCESS)
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
