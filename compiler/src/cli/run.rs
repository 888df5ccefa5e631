//! `kplc run`: compiles (or reads) an object, loads it on the host runtime,
//! marshals `--arg`/`--in`/`--out` into the export's parameters, calls it and
//! reports its value or trap.

use std::path::PathBuf;
use std::process::ExitCode;

use super::ColorMode;
use super::build::compile_to_object;

pub(super) struct RunRequest {
    pub(super) file: PathBuf,
    pub(super) entry: String,
    pub(super) args: Vec<String>,
    pub(super) inputs: Vec<PathBuf>,
    pub(super) out: Option<PathBuf>,
    pub(super) out_len: Option<usize>,
    pub(super) fuel: u64,
    pub(super) color: ColorMode,
    pub(super) imports: Option<PathBuf>,
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

pub(super) fn run(req: RunRequest) -> ExitCode {
    use kpl_host::ValType;
    use kplc::exec::run::{CallError, Runner, Value};
    let is_object = req.file.extension().is_some_and(|e| e == "kpo");
    let object = if is_object {
        match std::fs::read(&req.file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("kplc: cannot read `{}`: {e}", req.file.display());
                return ExitCode::from(2);
            }
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
            eprintln!("kplc: cannot load `{}`: {e}", req.file.display());
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
        eprintln!(
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
                    eprintln!("kplc: parameter {} needs an input file (--in)", i + 1);
                    return ExitCode::from(2);
                };
                let bytes = match std::fs::read(path) {
                    Ok(b) => b,
                    Err(e) => {
                        eprintln!("kplc: cannot read `{}`: {e}", path.display());
                        return ExitCode::from(2);
                    }
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
                    eprintln!("kplc: parameter {} needs a value (--arg)", i + 1);
                    return ExitCode::from(2);
                };
                match parse_scalar(text) {
                    Some(v) => v,
                    None => {
                        eprintln!("kplc: `{text}` is not an integer or bool");
                        return ExitCode::from(2);
                    }
                }
            }
        };
        values.push(v);
    }
    if let Some((i, size)) = out_index {
        let bytes = req.out_len.or(first_input_len).unwrap_or(0);
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
            eprintln!("kplc: cannot write `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    match result {
        Ok(value) => {
            match value {
                Some(Value::Int(v)) => println!("{}: returned {v} ({elapsed:.2?})", req.entry),
                Some(Value::Bool(b)) => println!("{}: returned {b} ({elapsed:.2?})", req.entry),
                _ => println!("{}: returned ({elapsed:.2?})", req.entry),
            }
            ExitCode::SUCCESS
        }
        Err(CallError::Trap(t)) => {
            let at = match t.location {
                Some((line, col)) => format!(" at {}:{line}:{col}", runner.instance.source_file()),
                None => String::new(),
            };
            eprintln!(
                "kplc: {}: trap {} ({}){at}",
                req.entry,
                t.kind,
                t.kind.describe()
            );
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("kplc: {e}");
            ExitCode::from(2)
        }
    }
}
