//! `kplc build`, and what every compiling command shares: the front end
//! through the database (diagnostics rendered, nothing built on an error), the
//! check of the real stack frames against the limit, and source → object bytes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use std::io::Write;

use codespan_reporting::term::termcolor::BufferedStandardStream;
use kpl_codegen::std_imports::ImportSources;
use kpl_lang::LineIndex;
use kplc::{cli_io, errln, out, render};

use super::{ColorMode, Emit, color_choice, usage};

/// What the compiling commands (`build`, `run`) share on their command line.
pub(super) struct FrontEnd {
    pub color: ColorMode,
    /// Directory of `.kpli` import declarations (`None`: the built-in ones).
    pub imports: Option<PathBuf>,
    /// Diagnostics shown at most (0: every one); see [`render::shown`].
    pub max_diagnostics: usize,
}

/// Loads the import table and a source file, and checks it; on errors, the
/// diagnostics are rendered and the exit status to use is returned.
pub(super) fn front_end(
    path: &std::path::Path,
    options: FrontEnd,
) -> Result<
    (
        String,
        kpl_lang::Analysis,
        Arc<kpl_codegen::pipeline::Compiled>,
    ),
    ExitCode,
> {
    let FrontEnd {
        color,
        imports,
        max_diagnostics,
    } = options;
    let sources = match &imports {
        Some(dir) => ImportSources::from_dir(dir).map_err(usage)?,
        None => ImportSources::embedded(),
    };
    let (table, problems) = sources.load();
    if problems.iter().any(|p| p.diagnostic.is_error()) {
        errln!("kplc: the import declarations have errors (run `kplc check` for details)");
        return Err(ExitCode::from(2));
    }
    let src = cli_io::read_source(path).map_err(usage)?;
    let db = kplc::db::Db::default();
    let file = db.file(src.clone(), Arc::new(table));
    let analysis = kplc::db::analysis(&db, file);
    // Buffered: one write per piece of a diagnostic would be a system call each.
    let mut stderr = BufferedStandardStream::stderr(color_choice(color));
    let name = path.display().to_string();
    let lines = LineIndex::new(&src);
    let shown = render::shown(&analysis.diagnostics, max_diagnostics);
    for &i in &shown.indexes {
        let d = &analysis.diagnostics[i];
        let _ = render::render_to(&mut stderr, &name, &src, &lines, d);
    }
    let _ = stderr.flush();
    if let Some(note) = render::hidden_note(&name, &shown, "`--max-diagnostics 0`") {
        errln!("kplc: {note}");
    }
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

pub(super) fn build(
    path: &std::path::Path,
    output: Option<&std::path::Path>,
    emit: Option<Emit>,
    options: FrontEnd,
) -> ExitCode {
    let (_src, analysis, compiled) = match front_end(path, options) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // `--emit` writes its text to `-o FILE` when given (no object then),
    // else to standard output; without `--emit`, `-o` gets the object.
    let text = match emit {
        Some(Emit::Ir) => Some(
            kpl_codegen::pipeline::optimized_ir(&analysis.file, &analysis.program)
                .iter()
                .map(|f| f.to_string())
                .collect::<String>(),
        ),
        Some(Emit::Asm) => Some(kpl_codegen::pipeline::disassemble(&compiled)),
        None => None,
    };
    let bytes = match (text, output) {
        (Some(text), None) => return super::finish(out!("{text}")),
        (Some(text), Some(_)) => text.into_bytes(),
        (None, Some(_)) => {
            if let Err(code) = check_limits(&compiled, path) {
                return code;
            }
            kpl_codegen::object::write(&compiled, &path.display().to_string(), &_src)
        }
        (None, None) => {
            return usage("nothing to do: give -o FILE.kpo and/or --emit asm|ir".to_string());
        }
    };
    if let Some(out) = output
        && let Err(e) = std::fs::write(out, &bytes)
    {
        return usage(format!("cannot write `{}`: {e}", out.display()));
    }
    ExitCode::SUCCESS
}

/// Compiles a source file to object bytes (rendering diagnostics).
pub(super) fn compile_to_object(
    path: &std::path::Path,
    options: FrontEnd,
) -> Result<(Vec<u8>, kpl_codegen::pipeline::Compiled), ExitCode> {
    let (src, _analysis, compiled) = front_end(path, options)?;
    check_limits(&compiled, path)?;
    let name = path.display().to_string();
    Ok((
        kpl_codegen::object::write(&compiled, &name, &src),
        Arc::unwrap_or_clone(compiled),
    ))
}

/// The front end bounds the stack with an estimate; after register
/// allocation the real frames are known and must fit the same limit. The
/// code's size is known only now too.
fn check_limits(
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
    // The loader rejects an object with more code than this; say so here,
    // where the plugin's author can act on it, instead of at load time.
    let code = c.code.bytes.len();
    let max = kpl_runtime_core::format::MAX_CODE_LEN as usize;
    if code > max {
        errln!(
            "kplc: {}: the generated code is {code} bytes (limit {max}); split the plugin",
            path.display()
        );
        return Err(ExitCode::from(1));
    }
    Ok(())
}
