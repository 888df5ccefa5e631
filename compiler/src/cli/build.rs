//! `kplc build`, and what every compiling command shares: the front end
//! through the database (diagnostics rendered, nothing built on an error), the
//! check of the real stack frames against the limit, and source → object bytes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use codespan_reporting::term::termcolor::StandardStream;
use kpl_codegen::std_imports::ImportSources;
use kplc::render;

use super::{ColorMode, Emit, color_choice};

/// Loads the import table and a source file, and checks it; on errors, the
/// diagnostics are rendered and the exit status to use is returned.
pub(super) fn front_end(
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
            eprintln!("kplc: {e}");
            ExitCode::from(2)
        })?,
        None => ImportSources::embedded(),
    };
    let (table, problems) = sources.load();
    if problems.iter().any(|p| p.diagnostic.is_error()) {
        eprintln!("kplc: the import declarations have errors (run `kplc check` for details)");
        return Err(ExitCode::from(2));
    }
    let src = read_source(path)?;
    let db = kplc::db::Db::default();
    let file = db.file(src.clone(), Arc::new(table));
    let analysis = kplc::db::analysis(&db, file);
    let mut stderr = StandardStream::stderr(color_choice(color));
    let name = path.display().to_string();
    for d in &analysis.diagnostics {
        let _ = render::render_to(&mut stderr, &name, &src, d);
    }
    if analysis.has_errors() {
        let n = analysis.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!(
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
    let bytes = std::fs::read(path).map_err(|e| {
        eprintln!("kplc: cannot read `{}`: {e}", path.display());
        ExitCode::from(2)
    })?;
    String::from_utf8(bytes).map_err(|_| {
        eprintln!("kplc: `{}` is not valid UTF-8", path.display());
        ExitCode::from(2)
    })
}

pub(super) fn build(
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
        (Some(text), None) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        (Some(text), Some(_)) => text.into_bytes(),
        (None, Some(_)) => {
            if let Err(code) = check_stack(&compiled, path) {
                return code;
            }
            kpl_codegen::object::write(&compiled, &path.display().to_string(), &_src)
        }
        (None, None) => {
            eprintln!("kplc: nothing to do: give -o FILE.kpo and/or --emit asm|ir");
            return ExitCode::from(2);
        }
    };
    if let Some(out) = output
        && let Err(e) = std::fs::write(out, &bytes)
    {
        eprintln!("kplc: cannot write `{}`: {e}", out.display());
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// Compiles a source file to object bytes (rendering diagnostics).
pub(super) fn compile_to_object(
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

/// The front end bounds the stack with an estimate; after register
/// allocation the real frames are known and must fit the same limit.
fn check_stack(
    c: &kpl_codegen::pipeline::Compiled,
    path: &std::path::Path,
) -> Result<(), ExitCode> {
    let limit = kpl_lang::check::limits::STACK_BYTES;
    let (depth, chain) = c.max_stack();
    if depth > limit {
        eprintln!(
            "kplc: {}: the generated code needs {depth} bytes of stack (limit {limit}): {}",
            path.display(),
            chain.join(" -> ")
        );
        return Err(ExitCode::from(1));
    }
    Ok(())
}
