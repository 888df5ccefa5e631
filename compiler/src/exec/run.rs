//! Running compiled plugins on the host runtime: converts a compiled image to
//! the host's load format, marshals typed arguments (integers, bools and
//! slices with their element types), and maps traps back to source lines.

use kpl_host::{Arg, GuardedBuf, Instance, LoadError, ScalarType, ValType};
use kpl_lang::types::{IntTy, Ty};

use crate::codegen::Compiled;

/// A typed argument for an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i128),
    Bool(bool),
    /// A read-only slice's elements.
    Slice(Vec<i128>),
    /// A writable slice's initial elements; updated in place by [`Runner::call`].
    SliceMut(Vec<i128>),
}

/// The outcome of an invocation that did not return normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapInfo {
    pub kind: kpl_host::TrapKind,
    /// 1-based line and column of the trapping operation, from the object's
    /// source map (None if the object has no location for it).
    pub location: Option<(u32, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    NoSuchExport(String),
    Arity {
        expected: usize,
        given: usize,
    },
    BadArgument {
        index: usize,
        why: String,
    },
    Trap(TrapInfo),
    /// The host could not map memory for the arguments.
    Memory(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NoSuchExport(n) => write!(f, "the plugin exports no function `{n}`"),
            CallError::Arity { expected, given } => {
                write!(f, "the export takes {expected} argument(s), {given} given")
            }
            CallError::BadArgument { index, why } => write!(f, "argument {}: {why}", index + 1),
            CallError::Trap(t) => write!(f, "trap: {}", t.kind.describe()),
            CallError::Memory(why) => write!(f, "cannot map memory for the arguments: {why}"),
        }
    }
}

/// A loaded plugin, callable by export name with typed values.
pub struct Runner {
    pub instance: Instance,
}

fn int_of(t: ScalarType) -> Option<IntTy> {
    Some(match t {
        ScalarType::U8 => IntTy::U8,
        ScalarType::U16 => IntTy::U16,
        ScalarType::U32 => IntTy::U32,
        ScalarType::U64 => IntTy::U64,
        ScalarType::I8 => IntTy::I8,
        ScalarType::I16 => IntTy::I16,
        ScalarType::I32 => IntTy::I32,
        ScalarType::I64 => IntTy::I64,
        ScalarType::Bool => return None,
    })
}

fn ty_of(t: ValType) -> Ty {
    match t {
        ValType::Scalar(s) => int_of(s).map_or(Ty::Bool, Ty::Int),
        ValType::Slice { elem, writable } => Ty::Slice {
            mutable: writable,
            elem: int_of(elem).unwrap_or(IntTy::U8),
        },
    }
}

/// Slices live in guarded memory, so a stray access past one faults.
fn guarded(bytes: &[u8]) -> Result<GuardedBuf, CallError> {
    GuardedBuf::new(bytes).map_err(|e| CallError::Memory(e.to_string()))
}

fn elem_bytes(t: IntTy, values: &[i128]) -> Vec<u8> {
    let size = (t.bits() / 8) as usize;
    let mut out = Vec::with_capacity(values.len() * size);
    for &v in values {
        out.extend_from_slice(&(t.wrap(v) as u64).to_le_bytes()[..size]);
    }
    out
}

fn read_elems(t: IntTy, bytes: &[u8]) -> Vec<i128> {
    let size = (t.bits() / 8) as usize;
    bytes
        .chunks_exact(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            t.wrap(i128::from(u64::from_le_bytes(b)))
        })
        .collect()
}

/// Interprets a canonical 64-bit register value as a value of `ty`.
pub fn decode_result(ty: &Ty, raw: u64) -> Value {
    match ty {
        Ty::Bool => Value::Bool(raw & 1 != 0),
        Ty::Int(t) => Value::Int(t.wrap(i128::from(raw))),
        _ => Value::Int(i128::from(raw)),
    }
}

impl Runner {
    /// Loads object bytes through the loader core, as the kernel would.
    pub fn load(object: &[u8]) -> Result<Runner, LoadError> {
        Ok(Runner {
            instance: Instance::load(object)?,
        })
    }

    /// Writes `compiled` as an object and loads it.
    pub fn new(compiled: &Compiled, source_file: &str, src: &str) -> Result<Runner, LoadError> {
        Runner::load(&crate::object::write(compiled, source_file, src))
    }

    /// Calls an export. Writable slices in `args` are updated with the
    /// plugin's writes (also after a trap: effects are not rolled back).
    pub fn call(
        &mut self,
        name: &str,
        args: &mut [Value],
        fuel: u64,
    ) -> Result<Option<Value>, CallError> {
        let handle = self
            .instance
            .export(name)
            .ok_or_else(|| CallError::NoSuchExport(name.to_string()))?;
        let export = self
            .instance
            .export_info(handle)
            .ok_or_else(|| CallError::NoSuchExport(name.to_string()))?;
        let params: Vec<Ty> = export.params.iter().map(|p| ty_of(*p)).collect();
        let ret: Option<Ty> = export.ret.map(|r| ty_of(ValType::Scalar(r)));
        if params.len() != args.len() {
            return Err(CallError::Arity {
                expected: params.len(),
                given: args.len(),
            });
        }
        let mut buffers: Vec<GuardedBuf> = Vec::new();
        let mut plan = Vec::new();
        for (i, (p, a)) in params.iter().zip(args.iter()).enumerate() {
            let bad = |why: &str| CallError::BadArgument {
                index: i,
                why: why.to_string(),
            };
            match (p, a) {
                (Ty::Int(t), Value::Int(v)) => {
                    if *v < IntTy::min(*t) || *v > IntTy::max(*t) {
                        return Err(bad(&format!("{v} does not fit in {}", t.name())));
                    }
                    plan.push((0, t.wrap(*v) as u64));
                }
                (Ty::Bool, Value::Bool(b)) => plan.push((0, u64::from(*b))),
                (
                    Ty::Slice {
                        mutable: false,
                        elem,
                    },
                    Value::Slice(v) | Value::SliceMut(v),
                ) => {
                    buffers.push(guarded(&elem_bytes(*elem, v))?);
                    plan.push((1, (buffers.len() - 1) as u64));
                }
                (
                    Ty::Slice {
                        mutable: true,
                        elem,
                    },
                    Value::SliceMut(v),
                ) => {
                    buffers.push(guarded(&elem_bytes(*elem, v))?);
                    plan.push((2, (buffers.len() - 1) as u64));
                }
                (Ty::Slice { mutable: true, .. }, _) => {
                    return Err(bad("expected a writable slice"));
                }
                _ => return Err(bad(&format!("expected a value of type {p}"))),
            }
        }
        let result = {
            let mut host_args: Vec<Arg<'_>> = Vec::new();
            let mut rest: &mut [GuardedBuf] = &mut buffers;
            for (i, &(kind, v)) in plan.iter().enumerate() {
                match kind {
                    0 => host_args.push(Arg::Int(v)),
                    _ => {
                        let (first, tail) = rest.split_at_mut(1);
                        rest = tail;
                        let elem_size = match &params[i] {
                            Ty::Slice { elem, .. } => (elem.bits() / 8) as usize,
                            _ => 1,
                        };
                        let bytes = first[0].as_mut_slice();
                        if kind == 1 {
                            host_args.push(Arg::Slice { bytes, elem_size });
                        } else {
                            host_args.push(Arg::SliceMut { bytes, elem_size });
                        }
                    }
                }
            }
            self.instance.call(handle, &mut host_args, fuel)
        };
        // Copy writable slices back.
        let mut b = 0;
        for (i, &(kind, _)) in plan.iter().enumerate() {
            if kind == 0 {
                continue;
            }
            if kind == 2
                && let (Ty::Slice { elem, .. }, Value::SliceMut(v)) = (&params[i], &mut args[i])
            {
                *v = read_elems(*elem, buffers[b].as_slice());
            }
            b += 1;
        }
        match result {
            Ok(raw) => Ok(ret.as_ref().map(|t| decode_result(t, raw))),
            Err(kpl_host::CallError::Trap(trap)) => Err(CallError::Trap(TrapInfo {
                kind: trap.kind,
                location: self.instance.location(trap.code_offset),
            })),
            // The checks above make these unreachable; reported, not panicked.
            Err(kpl_host::CallError::Arity { expected, given }) => Err(CallError::Arity {
                expected: expected as usize,
                given: given as usize,
            }),
            Err(kpl_host::CallError::BadArgument { index, why }) => Err(CallError::BadArgument {
                index: index as usize,
                why: why.to_string(),
            }),
            Err(kpl_host::CallError::ForeignExport) => {
                Err(CallError::NoSuchExport(name.to_string()))
            }
        }
    }
}
