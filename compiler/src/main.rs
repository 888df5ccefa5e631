//! `kplc`, the KPL compiler's command line.
//!
//! Exit status: 0 when there are no errors (warnings allowed), 1 when a
//! checked file has errors, 2 for usage and I/O problems (including a file
//! over its size limit and any failure to write the output: see
//! [`kplc::cli_io`]).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{BufferedStandardStream, ColorChoice};
use kpl_codegen::std_imports::ImportSources;
use kpl_lang::{Code, LineIndex, Severity};
use kplc::cli_io::{self, MAX_DATA_BYTES, MAX_OBJECT_BYTES};
use kplc::{errln, out, outln, render};

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
    /// Compile a plugin to machine code.
    Build {
        file: PathBuf,
        /// Output object file (`.kpo`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print the generated assembly instead of (or as well as) writing an object.
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorMode,
        #[arg(long)]
        imports: Option<PathBuf>,
    },
    /// Compile and run an export on the host runtime.
    ///
    /// Scalar parameters take `--arg` values in order; read-only slice
    /// parameters take `--in` files in order; a writable slice parameter gets
    /// a zero-filled buffer of `--out-len` bytes (default: the size of the
    /// first input), written to `--out` afterwards.
    Run {
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
        /// Size in bytes of the writable slice.
        #[arg(long)]
        out_len: Option<usize>,
        /// Fuel for the invocation (loop iterations before a Budget trap).
        #[arg(long, default_value_t = kpl_host::DEFAULT_FUEL)]
        fuel: u64,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorMode,
        #[arg(long)]
        imports: Option<PathBuf>,
    },
    /// Print the disassembly of a `.kpo` object.
    Disasm { file: PathBuf },
    /// Check a `.kpo` object against the sandbox rules, as the runtimes do
    /// before loading it. Exit 0 if it verifies, 1 if not.
    Verify { file: PathBuf },
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
            fuel,
            color,
            imports,
        } => run(RunRequest {
            file,
            entry,
            args,
            inputs,
            out,
            out_len,
            fuel,
            color,
            imports,
        }),
        Command::Build {
            file,
            output,
            emit,
            color,
            imports,
        } => build(&file, output.as_deref(), emit, color, imports),
    }
}

fn explain(code: &str) -> ExitCode {
    match Code::parse(code) {
        Some(c) => finish(out!("{}", c.explanation())),
        None => {
            errln!("kplc: `{code}` is not a KPL diagnostic code (codes look like E0200 or W0001)");
            ExitCode::from(2)
        }
    }
}

/// Loads the import table and a source file, and checks it; on errors, the
/// diagnostics are rendered and the exit status to use is returned.
fn front_end(
    path: &std::path::Path,
    color: ColorMode,
    imports_dir: Option<PathBuf>,
) -> Result<
    (
        String,
        kpl_lang::Analysis,
        Arc<kpl_codegen::pipeline::Compiled>,
    ),
    ExitCode,
> {
    let sources = match &imports_dir {
        Some(dir) => ImportSources::from_dir(dir).map_err(|e| {
            errln!("kplc: {e}");
            ExitCode::from(2)
        })?,
        None => ImportSources::embedded(),
    };
    let (table, problems) = sources.load();
    if problems.iter().any(|p| p.diagnostic.is_error()) {
        errln!("kplc: the import declarations have errors (run `kplc check` for details)");
        return Err(ExitCode::from(2));
    }
    let src = read_source(path)?;
    let db = kplc::db::Db::default();
    let file = db.file(src.clone(), Arc::new(table));
    let analysis = kplc::db::analysis(&db, file);
    // Buffered: one write per diagnostic's pieces would be a system call each.
    let mut stderr = BufferedStandardStream::stderr(color_choice(color));
    let name = path.display().to_string();
    let lines = LineIndex::new(&src);
    for d in &analysis.diagnostics {
        let _ = render::render_to(&mut stderr, &name, &src, &lines, d);
    }
    let _ = stderr.flush();
    if analysis.has_errors() {
        let n = analysis.diagnostics.iter().filter(|d| d.is_error()).count();
        errln!(
            "kplc: {name}: {n} error{}; nothing was built",
            if n == 1 { "" } else { "s" }
        );
        return Err(ExitCode::from(1));
    }
    // Code generation per function, through the same database.
    let compiled = kplc::db::compiled(&db, file)
        .clone()
        .ok_or(ExitCode::from(1))?;
    Ok((src, analysis, compiled))
}

fn read_source(path: &std::path::Path) -> Result<String, ExitCode> {
    cli_io::read_source(path).map_err(usage)
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

fn build(
    path: &std::path::Path,
    output: Option<&std::path::Path>,
    emit: Option<Emit>,
    color: ColorMode,
    imports: Option<PathBuf>,
) -> ExitCode {
    let (_src, analysis, compiled) = match front_end(path, color, imports) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let written = match emit {
        Some(Emit::Ir) => kpl_codegen::pipeline::optimized_ir(&analysis.file, &analysis.program)
            .iter()
            .try_for_each(|f| out!("{f}")),
        Some(Emit::Asm) => out!("{}", kpl_codegen::pipeline::disassemble(&compiled)),
        None => Ok(()),
    };
    if let Err(e) = written {
        return usage(e);
    }
    if let Some(out) = output {
        if let Err(code) = check_stack(&compiled, path) {
            return code;
        }
        let bytes = kpl_codegen::object::write(&compiled, &path.display().to_string(), &_src);
        if let Err(e) = std::fs::write(out, &bytes) {
            errln!("kplc: cannot write `{}`: {e}", out.display());
            return ExitCode::from(2);
        }
    } else if emit.is_none() {
        errln!("kplc: nothing to do: give -o FILE.kpo and/or --emit asm|ir");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

struct RunRequest {
    file: PathBuf,
    entry: String,
    args: Vec<String>,
    inputs: Vec<PathBuf>,
    out: Option<PathBuf>,
    out_len: Option<usize>,
    fuel: u64,
    color: ColorMode,
    imports: Option<PathBuf>,
}

fn parse_scalar(text: &str) -> Option<kplc::exec::run::Value> {
    use kplc::exec::run::Value;
    match text {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let body = body.replace('_', "");
    let v = match body.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None => body.parse::<i128>().ok()?,
    };
    Some(Value::Int(if neg { -v } else { v }))
}

/// Compiles a source file to object bytes (rendering diagnostics).
fn compile_to_object(
    path: &std::path::Path,
    color: ColorMode,
    imports: Option<PathBuf>,
) -> Result<(Vec<u8>, kpl_codegen::pipeline::Compiled), ExitCode> {
    let (src, _analysis, compiled) = front_end(path, color, imports)?;
    check_stack(&compiled, path)?;
    let name = path.display().to_string();
    Ok((
        kpl_codegen::object::write(&compiled, &name, &src),
        Arc::unwrap_or_clone(compiled),
    ))
}

fn run(req: RunRequest) -> ExitCode {
    use kpl_host::ValType;
    use kplc::exec::run::{CallError, Runner, Value};
    let is_object = req.file.extension().is_some_and(|e| e == "kpo");
    let object = if is_object {
        match cli_io::read_bounded(&req.file, MAX_OBJECT_BYTES, "an object file") {
            Ok(b) => b,
            Err(e) => return usage(e),
        }
    } else {
        match compile_to_object(&req.file, req.color, req.imports.clone()) {
            Ok((bytes, _)) => bytes,
            Err(code) => return code,
        }
    };
    let mut runner = match Runner::load(&object) {
        Ok(r) => r,
        Err(e) => {
            errln!("kplc: cannot load `{}`: {e}", req.file.display());
            return ExitCode::from(2);
        }
    };
    let Some(export) = runner
        .instance
        .exports()
        .iter()
        .find(|e| e.name == req.entry)
        .cloned()
    else {
        let names: Vec<&str> = runner
            .instance
            .exports()
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        errln!(
            "kplc: `{}` exports no function `{}` (exports: {})",
            req.file.display(),
            req.entry,
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let mut scalars = req.args.iter();
    let mut inputs = req.inputs.iter();
    let mut values = Vec::new();
    let mut out_index = None;
    let mut first_input_len = None;
    for (i, p) in export.params.iter().enumerate() {
        let v = match *p {
            ValType::Slice {
                writable: false,
                elem,
            } => {
                let Some(path) = inputs.next() else {
                    errln!("kplc: parameter {} needs an input file (--in)", i + 1);
                    return ExitCode::from(2);
                };
                let bytes = match cli_io::read_bounded(path, MAX_DATA_BYTES, "an input") {
                    Ok(b) => b,
                    Err(e) => return usage(e),
                };
                first_input_len.get_or_insert(bytes.len());
                let size = elem.size() as usize;
                Value::Slice(
                    bytes
                        .chunks(size)
                        .map(|c| {
                            let mut b = [0u8; 8];
                            b[..c.len()].copy_from_slice(c);
                            // Wrapped into the element type when marshalled.
                            i128::from(u64::from_le_bytes(b))
                        })
                        .collect(),
                )
            }
            ValType::Slice {
                writable: true,
                elem,
            } => {
                out_index = Some((i, elem.size() as usize));
                Value::SliceMut(Vec::new())
            }
            ValType::Scalar(_) => {
                let Some(text) = scalars.next() else {
                    errln!("kplc: parameter {} needs a value (--arg)", i + 1);
                    return ExitCode::from(2);
                };
                match parse_scalar(text) {
                    Some(v) => v,
                    None => {
                        errln!("kplc: `{text}` is not an integer or bool");
                        return ExitCode::from(2);
                    }
                }
            }
        };
        values.push(v);
    }
    if let Some((i, size)) = out_index {
        let bytes = req.out_len.or(first_input_len).unwrap_or(0);
        if bytes as u64 > MAX_DATA_BYTES {
            return usage(format!(
                "--out-len {bytes} is larger than {} MiB, the limit for an output",
                MAX_DATA_BYTES >> 20
            ));
        }
        values[i] = Value::SliceMut(vec![0; bytes / size]);
    }
    let started = std::time::Instant::now();
    let result = runner.call(&req.entry, &mut values, req.fuel);
    let elapsed = started.elapsed();
    if let (Some((i, size)), Some(path)) = (out_index, &req.out)
        && let Value::SliceMut(v) = &values[i]
    {
        let bytes: Vec<u8> = v
            .iter()
            .flat_map(|x| (*x as u64).to_le_bytes()[..size].to_vec())
            .collect();
        if let Err(e) = std::fs::write(path, bytes) {
            errln!("kplc: cannot write `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    match result {
        Ok(value) => finish(match value {
            Some(Value::Int(v)) => outln!("{}: returned {v} ({elapsed:.2?})", req.entry),
            Some(Value::Bool(b)) => outln!("{}: returned {b} ({elapsed:.2?})", req.entry),
            _ => outln!("{}: returned ({elapsed:.2?})", req.entry),
        }),
        Err(CallError::Trap(t)) => {
            let at = match t.location {
                Some((line, col)) => format!(" at {}:{line}:{col}", runner.instance.source_file()),
                None => String::new(),
            };
            errln!(
                "kplc: {}: trap {} ({}){at}",
                req.entry,
                t.kind,
                t.kind.describe()
            );
            ExitCode::from(3)
        }
        Err(e) => {
            errln!("kplc: {e}");
            ExitCode::from(2)
        }
    }
}

/// The front end bounds the stack with an estimate; after register
/// allocation the real frames are known and must fit the same limit.
fn check_stack(
    c: &kpl_codegen::pipeline::Compiled,
    path: &std::path::Path,
) -> Result<(), ExitCode> {
    let limit = kpl_lang::check::limits::STACK_BYTES;
    let (depth, chain) = c.max_stack();
    if depth > limit {
        errln!(
            "kplc: {}: the generated code needs {depth} bytes of stack (limit {limit}): {}",
            path.display(),
            chain.join(" -> ")
        );
        return Err(ExitCode::from(1));
    }
    Ok(())
}

/// Reads and parses the object at `path` for `f`; an unreadable file is a
/// usage problem (exit 2), a malformed object a rejection (exit 1).
fn with_object(
    path: &std::path::Path,
    f: impl FnOnce(&kpl_runtime_core::Object<'_>) -> ExitCode,
) -> ExitCode {
    let bytes = match cli_io::read_bounded(path, MAX_OBJECT_BYTES, "an object file") {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    match kpl_runtime_core::Object::parse(&bytes) {
        Ok(obj) => f(&obj),
        Err(e) => {
            errln!("kplc: `{}` is not a valid object: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

fn verify_cmd(path: &std::path::Path) -> ExitCode {
    with_object(path, |obj| match kpl_host::verify_object(obj) {
        Ok(v) => finish(outln!(
            "{}: verified ({} bytes of code, stack at most {} bytes)",
            path.display(),
            obj.code().len(),
            v.max_stack
        )),
        Err(kpl_host::LoadError::Verify(e)) => {
            let at = match obj.location_of(e.offset) {
                Some((line, col)) => format!(" ({}:{line}:{col})", obj.source_file()),
                None => String::new(),
            };
            errln!("kplc: `{}` rejected: {e}{at}", path.display());
            ExitCode::from(1)
        }
        Err(e) => {
            errln!("kplc: `{}`: {e}", path.display());
            ExitCode::from(1)
        }
    })
}

fn disasm(path: &std::path::Path) -> ExitCode {
    with_object(path, |obj| {
        finish(out!(
            "{}",
            kpl_codegen::backend::disasm::disassemble_object(obj)
        ))
    })
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
        stderr.flush().is_ok() && stdout.flush().is_ok()
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
        let src = match read_source(path) {
            Ok(src) => src,
            Err(code) => return code,
        };
        let file = db.file(src.clone(), table.clone());
        let name = path.display().to_string();
        if !emit(&name, &src, kplc::db::diagnostics(&db, file)) {
            return usage("cannot write the diagnostics".to_string());
        }
    }
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
