//! `kplc run` on bytes: loads an object on the host runtime, hands input
//! files to read-only slice parameters and a zero-filled buffer to the
//! writable one *as bytes* (each buffer is read straight into guarded memory,
//! no per-element conversion), checks the command-line arguments against the
//! export's signature before anything runs, and times the invocations alone.
//!
//! Limits (documented in the book's guide and in the README):
//! every buffer is at most [`MAX_BUFFER_BYTES`]; `--repeat` is at most
//! [`MAX_REPEAT`]. Going past either is a usage error (exit status 2), found
//! before any memory is allocated.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use kpl_host::{Arg, GuardedBuf, Instance, ScalarType, ValType};

/// The largest buffer `kplc run` hands to a plugin: 1 GiB.
pub const MAX_BUFFER_BYTES: u64 = 1 << 30;

/// The largest `--repeat`.
pub const MAX_REPEAT: u32 = 1_000_000;

/// What to call and with what, as given on the command line.
#[derive(Clone, Debug)]
pub struct Request {
    pub entry: String,
    /// `--arg` texts, for the scalar parameters in order.
    pub args: Vec<String>,
    /// `--in` files, for the read-only slice parameters in order.
    pub inputs: Vec<PathBuf>,
    /// Where to write the writable slice afterwards.
    pub out: Option<PathBuf>,
    /// Size of the writable slice in bytes (default: the first input's).
    pub out_len: Option<u64>,
    pub fuel: u64,
    /// Invocations to time (at least 1).
    pub repeat: u32,
}

/// Why `kplc run` stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// A usage or I/O problem (exit status 2).
    Usage(String),
    /// The plugin trapped (exit status 3); the message names the kind and
    /// `file:line:col`.
    Trap(String),
}

/// A finished run: the returned value as text and the time of each call.
#[derive(Clone, Debug)]
pub struct Report {
    pub entry: String,
    pub value: Option<String>,
    pub times: Vec<Duration>,
}

impl Report {
    /// `entry: returned V (T)`, or with several runs
    /// `entry: returned V (median T, min T, max T, N runs)`.
    pub fn line(&self) -> String {
        let value = self.value.as_deref().unwrap_or("()");
        let mut sorted = self.times.clone();
        sorted.sort();
        let timing = match sorted.as_slice() {
            [] => String::new(),
            [one] => format!(" ({one:.2?})"),
            all => format!(
                " (median {:.2?}, min {:.2?}, max {:.2?}, {} runs)",
                all[all.len() / 2],
                all[0],
                all[all.len() - 1],
                all.len()
            ),
        };
        format!("{}: returned {value}{timing}", self.entry)
    }
}

fn usage<T>(msg: impl Into<String>) -> Result<T, RunError> {
    Err(RunError::Usage(msg.into()))
}

/// Parses a scalar argument for a parameter of type `t`: decimal (with an
/// optional `-` and `_` separators), `0x` hex, or `true`/`false` for `bool`.
/// Returns the canonical 64-bit form the ABI passes.
pub fn parse_scalar(t: ScalarType, text: &str) -> Result<u64, String> {
    if t == ScalarType::Bool {
        return match text {
            "true" | "1" => Ok(1),
            "false" | "0" => Ok(0),
            _ => Err(format!("`{text}` is not a bool (true or false)")),
        };
    }
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let body = body.replace('_', "");
    let magnitude = match body.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok(),
        None => body.parse::<i128>().ok(),
    };
    let Some(m) = magnitude.filter(|_| !body.is_empty() && !body.starts_with(['+', '-'])) else {
        return Err(format!("`{text}` is not an integer"));
    };
    let v = if neg { -m } else { m };
    let (lo, hi): (i128, i128) = match t {
        ScalarType::U8 => (0, u8::MAX.into()),
        ScalarType::U16 => (0, u16::MAX.into()),
        ScalarType::U32 => (0, u32::MAX.into()),
        ScalarType::U64 => (0, u64::MAX.into()),
        ScalarType::I8 => (i8::MIN.into(), i8::MAX.into()),
        ScalarType::I16 => (i16::MIN.into(), i16::MAX.into()),
        ScalarType::I32 => (i32::MIN.into(), i32::MAX.into()),
        ScalarType::I64 => (i64::MIN.into(), i64::MAX.into()),
        ScalarType::Bool => unreachable!("handled above"),
    };
    if v < lo || v > hi {
        return Err(format!("{text} does not fit in {}", t.name()));
    }
    // Canonical form: sign-extended for signed types, zero-extended otherwise.
    Ok(if lo < 0 { v as i64 as u64 } else { v as u64 })
}

/// The returned register value as text, by the export's return type.
fn result_text(t: ScalarType, raw: u64) -> String {
    match t {
        ScalarType::Bool => (raw & 1 != 0).to_string(),
        ScalarType::I8 => (raw as i8).to_string(),
        ScalarType::I16 => (raw as i16).to_string(),
        ScalarType::I32 => (raw as i32).to_string(),
        ScalarType::I64 => (raw as i64).to_string(),
        ScalarType::U8 => (raw as u8).to_string(),
        ScalarType::U16 => (raw as u16).to_string(),
        ScalarType::U32 => (raw as u32).to_string(),
        ScalarType::U64 => raw.to_string(),
    }
}

fn check_size(what: &str, bytes: u64) -> Result<usize, RunError> {
    if bytes > MAX_BUFFER_BYTES {
        return usage(format!(
            "{what} is {bytes} bytes, more than the limit of {MAX_BUFFER_BYTES} bytes (1 GiB) per buffer"
        ));
    }
    usize::try_from(bytes).or_else(|_| usage(format!("{what}: {bytes} bytes do not fit in memory")))
}

/// Reads `path` straight into guarded memory (after checking its size).
/// A pipe or device has no size to check: it is read up to the limit first
/// (`/dev/zero` stops there, and its size in metadata, 0, is not taken for
/// its length).
fn read_input(path: &std::path::Path) -> Result<GuardedBuf, RunError> {
    let io = |e: std::io::Error| RunError::Usage(format!("cannot read `{}`: {e}", path.display()));
    let what = format!("`{}`", path.display());
    let mut file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        let bytes = crate::cli_io::read_at_most(file, MAX_BUFFER_BYTES).map_err(io)?;
        check_size(&what, bytes.len() as u64)?;
        let mut buf =
            GuardedBuf::zeroed(bytes.len()).map_err(|e| RunError::Usage(e.to_string()))?;
        buf.as_mut_slice().copy_from_slice(&bytes);
        return Ok(buf);
    }
    let len = check_size(&what, meta.len())?;
    let mut buf = GuardedBuf::zeroed(len).map_err(|e| RunError::Usage(e.to_string()))?;
    file.read_exact(buf.as_mut_slice()).map_err(io)?;
    Ok(buf)
}

/// One buffer per slice parameter, in parameter order.
enum Planned {
    Scalar(u64),
    Input(GuardedBuf),
    Output(GuardedBuf),
    PendingOutput,
}

/// Loads `object` (verified), checks the request against the export's
/// signature, calls it `repeat` times on the same buffers (statics persist
/// between calls) and writes the writable slice to `--out`.
pub fn invoke(object: &[u8], file: &str, req: &Request) -> Result<Report, RunError> {
    if req.repeat == 0 || req.repeat > MAX_REPEAT {
        return usage(format!(
            "--repeat {}: give a count from 1 to {MAX_REPEAT}",
            req.repeat
        ));
    }
    let mut instance =
        Instance::load(object).or_else(|e| usage(format!("cannot load `{file}`: {e}")))?;
    let Some(handle) = instance.export(&req.entry) else {
        let names: Vec<&str> = instance.exports().iter().map(|e| e.name.as_str()).collect();
        return usage(format!(
            "`{file}` exports no function `{}` (exports: {})",
            req.entry,
            names.join(", ")
        ));
    };
    let info = instance
        .export_info(handle)
        .cloned()
        .expect("a handle of this instance");
    let sig = info.signature_text();
    let count = |f: fn(&ValType) -> bool| info.params.iter().filter(|p| f(p)).count();
    let scalars = count(|p| matches!(p, ValType::Scalar(_)));
    let ins = count(|p| {
        matches!(
            p,
            ValType::Slice {
                writable: false,
                ..
            }
        )
    });
    let outs = count(|p| matches!(p, ValType::Slice { writable: true, .. }));
    if req.args.len() != scalars {
        return usage(format!(
            "`{sig}` takes {scalars} scalar argument(s) (--arg), {} given",
            req.args.len()
        ));
    }
    if req.inputs.len() != ins {
        return usage(format!(
            "`{sig}` takes {ins} read-only slice(s) (--in), {} given",
            req.inputs.len()
        ));
    }
    if outs > 1 {
        return usage(format!(
            "`{sig}` takes {outs} writable slices; kplc run supports one"
        ));
    }
    if outs == 0 && (req.out.is_some() || req.out_len.is_some()) {
        return usage(format!(
            "`{sig}` takes no writable slice: --out and --out-len do not apply"
        ));
    }
    // Sizes are checked before anything is read or allocated.
    let out_len = match req.out_len {
        Some(n) => Some(check_size("--out-len", n)?),
        None => None,
    };
    let mut scalar_args = req.args.iter();
    let mut inputs = req.inputs.iter();
    let mut first_input_len = None;
    let mut plan = Vec::with_capacity(info.params.len());
    for (i, p) in info.params.iter().enumerate() {
        plan.push(match *p {
            ValType::Scalar(t) => {
                let text = scalar_args.next().expect("counted above");
                let v = parse_scalar(t, text).or_else(|why| {
                    usage(format!(
                        "argument {} of `{sig}` ({}): {why}",
                        i + 1,
                        t.name()
                    ))
                })?;
                Planned::Scalar(v)
            }
            ValType::Slice {
                writable: false, ..
            } => {
                let buf = read_input(inputs.next().expect("counted above"))?;
                first_input_len.get_or_insert(buf.len());
                Planned::Input(buf)
            }
            // Sized once every input is known.
            ValType::Slice { writable: true, .. } => Planned::PendingOutput,
        });
    }
    if let Some(slot) = plan
        .iter_mut()
        .find(|p| matches!(p, Planned::PendingOutput))
    {
        let len = out_len.or(first_input_len).unwrap_or(0);
        *slot = Planned::Output(
            GuardedBuf::zeroed(len)
                .or_else(|e| usage(format!("cannot map memory for --out-len: {e}")))?,
        );
    }
    let elem_sizes: Vec<usize> = info
        .params
        .iter()
        .map(|p| match p {
            ValType::Slice { elem, .. } => elem.size() as usize,
            ValType::Scalar(_) => 0,
        })
        .collect();
    let mut times = Vec::with_capacity(req.repeat as usize);
    let mut result = Ok(0);
    for _ in 0..req.repeat {
        let mut args: Vec<Arg<'_>> = plan
            .iter_mut()
            .zip(&elem_sizes)
            .map(|(p, &elem_size)| match p {
                Planned::Scalar(v) => Arg::Int(*v),
                Planned::Input(b) => Arg::Slice {
                    bytes: b.as_slice(),
                    elem_size,
                },
                Planned::Output(b) => Arg::SliceMut {
                    bytes: b.as_mut_slice(),
                    elem_size,
                },
                Planned::PendingOutput => unreachable!("sized above"),
            })
            .collect();
        let started = std::time::Instant::now();
        result = instance.call(handle, &mut args, req.fuel);
        times.push(started.elapsed());
        if result.is_err() {
            break;
        }
    }
    // The writable slice is saved even after a trap (effects are not rolled back).
    if let Some(path) = &req.out
        && let Some((Planned::Output(b), size)) = plan
            .iter()
            .zip(&elem_sizes)
            .find(|(p, _)| matches!(p, Planned::Output(_)))
    {
        let whole = b.len() / size * size;
        std::fs::write(path, &b.as_slice()[..whole])
            .or_else(|e| usage(format!("cannot write `{}`: {e}", path.display())))?;
    }
    match result {
        Ok(raw) => Ok(Report {
            entry: req.entry.clone(),
            value: info.ret.map(|t| result_text(t, raw)),
            times,
        }),
        Err(kpl_host::CallError::Trap(t)) => {
            let at = match instance.location(t.code_offset) {
                Some((line, col)) => format!(" at {}:{line}:{col}", instance.source_file()),
                None => String::new(),
            };
            Err(RunError::Trap(format!(
                "{}: trap {} ({}){at}",
                req.entry,
                t.kind,
                t.kind.describe()
            )))
        }
        Err(e) => usage(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_parse_to_canonical_form_and_refuse_what_does_not_fit() {
        assert_eq!(parse_scalar(ScalarType::U8, "255"), Ok(255));
        assert_eq!(parse_scalar(ScalarType::I8, "-1"), Ok(u64::MAX));
        assert_eq!(parse_scalar(ScalarType::U32, "0x1_0"), Ok(16));
        assert_eq!(parse_scalar(ScalarType::Bool, "true"), Ok(1));
        assert!(
            parse_scalar(ScalarType::U8, "256")
                .unwrap_err()
                .contains("does not fit in u8")
        );
        assert!(parse_scalar(ScalarType::U8, "-1").is_err());
        assert!(parse_scalar(ScalarType::U8, "--1").is_err());
        assert!(parse_scalar(ScalarType::Bool, "2").is_err());
        assert!(parse_scalar(ScalarType::U64, "banana").is_err());
    }

    #[test]
    fn report_line_gives_median_min_max() {
        let ms = Duration::from_millis;
        let r = Report {
            entry: "f".into(),
            value: Some("7".into()),
            times: vec![ms(3), ms(1), ms(2)],
        };
        assert_eq!(
            r.line(),
            "f: returned 7 (median 2.00ms, min 1.00ms, max 3.00ms, 3 runs)"
        );
    }
}
