//! `kplc build`, and what every compiling command shares: the front end
//! through the database (diagnostics rendered, nothing built on an error), the
//! check of the real stack frames against the limit, and source → object bytes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use std::io::{IsTerminal, Write};

use codespan_reporting::term::termcolor::BufferedStandardStream;
use kpl_codegen::std_imports::ImportSources;
use kpl_lang::LineIndex;
use kplc::{cli_io, errln, out, render};

use super::{ColorMode, Emit, color_choice, finish, usage};

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
    let name = cli_io::input_name(path);
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
        (None, Some(out)) if cli_io::is_standard_stream(out) && std::io::stdout().is_terminal() => {
            // As gzip does: object bytes on a terminal are noise at best and
            // escape sequences at worst.
            return usage(
                "not writing a binary object to a terminal: redirect standard output or give -o FILE.kpo"
                    .to_string(),
            );
        }
        (None, Some(_)) => match verified_object(&compiled, path, &_src) {
            Ok(bytes) => bytes,
            Err(code) => return code,
        },
        (None, None) => {
            return usage("nothing to do: give -o FILE.kpo and/or --emit asm|ir".to_string());
        }
    };
    match output {
        Some(out) => finish(cli_io::write_output(out, &bytes)),
        None => ExitCode::SUCCESS,
    }
}

/// Compiles a source file to object bytes (rendering diagnostics).
pub(super) fn compile_to_object(
    path: &std::path::Path,
    options: FrontEnd,
) -> Result<(Vec<u8>, kpl_codegen::pipeline::Compiled), ExitCode> {
    let (src, _analysis, compiled) = front_end(path, options)?;
    let bytes = verified_object(&compiled, path, &src)?;
    Ok((bytes, Arc::unwrap_or_clone(compiled)))
}

/// The object of `c`, once it is within the limits and the verifier the
/// runtimes run accepts it. kplc means to emit only code the verifier
/// accepts (`compiler/tests/verify.rs`); when it does not, the mistake is
/// the compiler's, and it is reported here, as one, rather than by the
/// runtime that would refuse the object at load time.
fn verified_object(
    c: &kpl_codegen::pipeline::Compiled,
    path: &std::path::Path,
    src: &str,
) -> Result<Vec<u8>, ExitCode> {
    check_limits(c, path)?;
    let bytes = kpl_codegen::object::write(c, &cli_io::input_name(path), src);
    // The check `kplc verify` and the host runtime make.
    let verdict = kpl_runtime_core::Object::parse(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|obj| kpl_host::verify_object(&obj).map_err(|e| e.to_string()));
    if let Err(e) = verdict {
        errln!(
            "kplc: {}: internal compiler error: the generated code does not pass the verifier ({e}), so no runtime would load it; please report this with the source file",
            cli_io::input_name(path)
        );
        return Err(ExitCode::from(1));
    }
    Ok(bytes)
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
            cli_io::input_name(path),
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
            cli_io::input_name(path)
        );
        return Err(ExitCode::from(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object the verifier refuses is reported as the compiler's error
    /// and not written; the same code unchanged is written.
    #[test]
    fn code_the_verifier_refuses_is_an_internal_error() {
        let (imports, _) = ImportSources::embedded().load();
        let src = "export fn f(x: u32) -> u32 { return x + 1; }";
        let a = kpl_lang::analyze(src, &imports);
        let mut c = kplc::codegen::compile(&a.file, &a.program);
        let path = std::path::Path::new("f.kpl");
        assert!(verified_object(&c, path, src).is_ok());
        // `ud2` over the first instruction: an instruction no rule accepts.
        c.code.bytes[..2].copy_from_slice(&[0x0f, 0x0b]);
        assert_eq!(verified_object(&c, path, src), Err(ExitCode::from(1)));
    }
}
