//! The errors of the embedding API: one [`Error`] enum whose variants say
//! what failed, with [`CompileError`] (rendered diagnostics, each with its
//! `file:line:col`) and [`Trap`] (kind and source location) as their own
//! types, reachable through [`std::error::Error::source`].

use std::fmt;

use kpl_host::TrapKind;

/// Anything the embedding API can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The source (or an import declaration file) has errors.
    Compile(CompileError),
    /// The bytes are not a well-formed object.
    Object(String),
    /// The verifier rejected the object's code.
    Verify(String),
    /// An import could not be linked: missing, another signature, or a host
    /// function for something no `.kpli` file declares.
    Link(String),
    /// A typed export or host function does not match the declared signature.
    Signature(String),
    /// The module has no export of this name.
    NoExport(String),
    /// The instance has no integer static (or element) of this name.
    NoStatic(String),
    /// An argument the runtime refused (a slice of another instance, …).
    Argument(String),
    /// The plugin trapped.
    Trap(Trap),
    /// The operating system refused memory.
    Os(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(e) => write!(f, "{e}"),
            Error::Object(e) => write!(f, "invalid object: {e}"),
            Error::Verify(e) => write!(f, "rejected by the verifier: {e}"),
            Error::Link(e) => write!(f, "cannot link: {e}"),
            Error::Signature(e) => write!(f, "signature mismatch: {e}"),
            Error::NoExport(name) => write!(f, "the module exports no function `{name}`"),
            Error::NoStatic(name) => write!(f, "the instance has no integer static `{name}`"),
            Error::Argument(e) => write!(f, "bad argument: {e}"),
            Error::Trap(t) => write!(f, "{t}"),
            Error::Os(e) => write!(f, "out of memory: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Compile(e) => Some(e),
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }
}

impl From<kpl_host::LoadError> for Error {
    fn from(e: kpl_host::LoadError) -> Error {
        match e {
            kpl_host::LoadError::Object(e) => Error::Object(e),
            kpl_host::LoadError::Link(e) => Error::Link(e),
            kpl_host::LoadError::Verify(e) => Error::Verify(e.to_string()),
            kpl_host::LoadError::Os(e) => Error::Os(e),
        }
    }
}

/// A source position: file, 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// An invocation that stopped at a checked operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    pub kind: TrapKind,
    /// Where in the plugin's source, from the object's line table (`None`
    /// if the object has no location for it, or no call was made because
    /// the instance had no fuel left).
    pub location: Option<Location>,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trap {}: {}", self.kind, self.kind.describe())?;
        match &self.location {
            Some(at) => write!(f, " at {at}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Trap {}

/// One diagnostic of a failed compilation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `E0200` and the like; `kplc explain CODE` prints its explanation.
    pub code: String,
    pub is_error: bool,
    pub message: String,
    pub location: Location,
    /// Header, location, the source line with the span underlined, notes.
    pub rendered: String,
}

/// Source (or import declarations) that did not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// Errors and warnings in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            f.write_str(&d.rendered)?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileError {}

/// Renders `d` (in `file`, whose text is `src`) without a terminal library:
///
/// ```text
/// error[E0200]: mismatched types
///   --> plugin.kpl:3:13
///    |
///  3 |     let x: u8 = 300;
///    |             ^^^ expected `u8`
/// ```
pub(crate) fn render(file: &str, src: &str, d: &kpl_lang::Diagnostic) -> Diagnostic {
    let lines = kpl_lang::LineIndex::new(src);
    let span = d.primary.span.range();
    let (line, col) = lines.line_col(src, span.start);
    let start = lines.line_start(line - 1);
    let text = src[start..].lines().next().unwrap_or("");
    let width = src
        .get(span.clone())
        .map_or(1, |s| s.lines().next().unwrap_or("").chars().count().max(1));
    let severity = match d.severity {
        kpl_lang::Severity::Error => "error",
        kpl_lang::Severity::Warning => "warning",
    };
    let gutter = " ".repeat(line.to_string().len());
    let mut out = format!(
        "{severity}[{}]: {}\n{gutter}--> {file}:{line}:{col}\n{gutter} |\n{line} | {text}\n{gutter} | {}{} {}",
        d.code,
        d.message,
        " ".repeat(col - 1),
        "^".repeat(width),
        d.primary.message
    );
    for note in &d.notes {
        out.push_str(&format!("\n{gutter} = note: {note}"));
    }
    for help in &d.help {
        out.push_str(&format!("\n{gutter} = help: {}", help.message));
    }
    Diagnostic {
        code: d.code.to_string(),
        is_error: d.is_error(),
        message: d.message.to_string(),
        location: Location {
            file: file.to_string(),
            line: line as u32,
            col: col as u32,
        },
        rendered: out,
    }
}
