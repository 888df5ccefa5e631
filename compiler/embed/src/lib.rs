//! `kpl`: run KPL plugins inside a Rust program, in the shape of wasmtime's
//! embedding API.
//!
//! - An [`Engine`] holds the configuration: the fuel each instance starts
//!   with, and the embedder's own import declarations (`.kpli` files, the
//!   same format as `std-imports/kernel.kpli`).
//! - A [`Module`] is a compiled plugin: from source ([`Module::new`], errors
//!   as a [`CompileError`] with `file:line:col`) or from a `.kpo` object
//!   ([`Module::from_object`]). Either way the verifier checks the code
//!   before anything can run it.
//! - A [`Linker`] provides the embedder's host functions by module and name;
//!   each must be declared in one of the engine's `.kpli` files, and is
//!   linked by the signature hash of that declaration exactly like the
//!   kernel table (the plugin calls it through a read-only import slot that
//!   the verifier treats like any other).
//! - An [`Instance`] is a linked, mapped plugin with its own statics, fuel
//!   and bound buffers; [`Instance::get_typed_func`] gives a [`TypedFunc`]
//!   checked against the export's signature.
//!
//! The book's chapter "Embedding KPL" (`book/src/embedding.md`) walks
//! through `examples/embedding.rs`. This crate contains no `unsafe`: the
//! machine code runs in `kpl-host`, which only runs verified code.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]
#![forbid(unsafe_code)]

mod error;
mod typed;

use std::rc::Rc;
use std::sync::Arc;

pub use error::{CompileError, Diagnostic, Error, Location, Trap};
pub use kpl_codegen::tune::Tune;
use kpl_host::{BoundArg, Export, GuardedBuf, HostFunc};
pub use kpl_host::{Caller, DEFAULT_FUEL, ExportInfo, ScalarType, TrapKind, ValType};
use kpl_lang::imports::ImportTable;
use kpl_lang::types::{IntTy, Ty};
pub use typed::{BoundSlice, Elem, IntoHostFunc, Params, Results, Scalar, Slice, SliceMut};

/// Settings for an [`Engine`].
#[derive(Clone, Debug)]
pub struct Config {
    fuel: u64,
    imports: Vec<(String, String)>,
    tune: Tune,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            fuel: DEFAULT_FUEL,
            imports: Vec::new(),
            tune: Tune::host(),
        }
    }
}

impl Config {
    pub fn new() -> Config {
        Config::default()
    }

    /// The fuel every new instance starts with (default [`DEFAULT_FUEL`]).
    /// Calls use it up; [`Instance::set_fuel`] refills it.
    pub fn fuel(&mut self, fuel: u64) -> &mut Config {
        self.fuel = fuel;
        self
    }

    /// The processors [`Module::new`] tunes the code for (default: the one
    /// this program runs on, [`Tune::host`]). Only the speed depends on it.
    pub fn tune(&mut self, tune: Tune) -> &mut Config {
        self.tune = tune;
        self
    }

    /// Adds an import declaration file: `path` names it (its stem is the
    /// module name, so `host.kpli` declares module `host`), `text` is its
    /// contents. The built-in `kernel` module is always there.
    pub fn imports(&mut self, path: &str, text: &str) -> &mut Config {
        self.imports.push((path.to_string(), text.to_string()));
        self
    }
}

struct EngineInner {
    fuel: u64,
    tune: Tune,
    table: ImportTable,
}

/// The compiler and runtime settings modules and instances share. Cheap to
/// clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl Engine {
    /// Loads the import declarations: the built-in kernel table and the
    /// config's files. A mistake in a file is a [`CompileError`].
    pub fn new(config: &Config) -> Result<Engine, Error> {
        let mut files = kpl_codegen::std_imports::ImportSources::embedded().files;
        files.extend(config.imports.iter().cloned());
        let (table, problems) = ImportTable::load(&files);
        let mut diagnostics = Vec::new();
        for p in &problems {
            let text = files
                .iter()
                .find(|(path, _)| *path == p.path)
                .map_or("", |(_, t)| t.as_str());
            diagnostics.push(error::render(&p.path, text, &p.diagnostic));
        }
        let mut seen = Vec::new();
        for m in &table.modules {
            if seen.contains(&m.name) {
                return Err(Error::Link(format!(
                    "module `{}` is declared twice (`{}`)",
                    m.name, m.path
                )));
            }
            seen.push(m.name.clone());
        }
        if diagnostics.iter().any(|d| d.is_error) {
            return Err(Error::Compile(CompileError { diagnostics }));
        }
        Ok(Engine {
            inner: Arc::new(EngineInner {
                fuel: config.fuel,
                tune: config.tune,
                table,
            }),
        })
    }
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(&Config::default()).expect("the built-in import table loads")
    }
}

/// A compiled, verified plugin, ready to be instantiated any number of
/// times.
#[derive(Clone)]
pub struct Module {
    object: Arc<[u8]>,
    exports: Vec<ExportInfo>,
}

impl Module {
    /// Compiles `source` against the engine's import declarations. `file`
    /// is the name diagnostics and trap locations use.
    pub fn new(engine: &Engine, file: &str, source: &str) -> Result<Module, Error> {
        let analysis = kpl_lang::analyze(source, &engine.inner.table);
        if analysis.has_errors() {
            return Err(Error::Compile(CompileError {
                diagnostics: analysis
                    .diagnostics
                    .iter()
                    .map(|d| error::render(file, source, d))
                    .collect(),
            }));
        }
        let options = kpl_codegen::lower::Options {
            tune: engine.inner.tune,
            ..Default::default()
        };
        let compiled = kpl_codegen::compile_with(&analysis.file, &analysis.program, options);
        let (depth, chain) = compiled.max_stack();
        let limit = kpl_lang::check::limits::STACK_BYTES;
        if depth > limit {
            return Err(Error::Verify(format!(
                "the generated code needs {depth} bytes of stack (limit {limit}): {}",
                chain.join(" -> ")
            )));
        }
        Module::from_object(engine, &kpl_codegen::object::write(&compiled, file, source))
    }

    /// Parses and verifies a `.kpo` object (as `kplc build` writes).
    pub fn from_object(_engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        let obj =
            kpl_runtime_core::Object::parse(bytes).map_err(|e| Error::Object(e.to_string()))?;
        kpl_host::verify_object(&obj)?;
        let exports = obj
            .exports()
            .map(|e| ExportInfo {
                name: e.name.to_string(),
                params: e.signature.params().to_vec(),
                ret: e.signature.ret,
            })
            .collect();
        Ok(Module {
            object: bytes.into(),
            exports,
        })
    }

    /// The object's bytes (to save as a `.kpo`).
    pub fn object(&self) -> &[u8] {
        &self.object
    }

    /// Names and signatures of the exports, sorted by name.
    pub fn exports(&self) -> &[ExportInfo] {
        &self.exports
    }
}

/// The runtime type of a declared import parameter or result.
fn val_type(t: &Ty) -> Option<ValType> {
    let int = |i: &IntTy| match i {
        IntTy::U8 => ScalarType::U8,
        IntTy::U16 => ScalarType::U16,
        IntTy::U32 => ScalarType::U32,
        IntTy::U64 => ScalarType::U64,
        IntTy::I8 => ScalarType::I8,
        IntTy::I16 => ScalarType::I16,
        IntTy::I32 => ScalarType::I32,
        IntTy::I64 => ScalarType::I64,
    };
    Some(match t {
        Ty::Bool => ValType::Scalar(ScalarType::Bool),
        Ty::Int(i) => ValType::Scalar(int(i)),
        Ty::Slice { mutable, elem } => ValType::Slice {
            elem: int(elem),
            writable: *mutable,
        },
        _ => return None,
    })
}

/// Host functions by module and name, to instantiate modules with.
pub struct Linker {
    engine: Engine,
    funcs: Vec<HostFunc>,
}

impl Linker {
    pub fn new(engine: &Engine) -> Linker {
        Linker {
            engine: engine.clone(),
            funcs: Vec::new(),
        }
    }

    /// The declaration of `module::name` in the engine's import files.
    fn declared(&self, module: &str, name: &str) -> Result<&kpl_lang::imports::ImportFn, Error> {
        if self
            .funcs
            .iter()
            .any(|f| f.module == module && f.name == name)
        {
            return Err(Error::Link(format!("`{module}::{name}` is defined twice")));
        }
        self.engine
            .inner
            .table
            .module(module)
            .and_then(|m| m.function(name))
            .ok_or_else(|| {
                Error::Link(format!(
                    "`{module}::{name}` is not declared in the engine's import files"
                ))
            })
    }

    fn push(
        &mut self,
        module: &str,
        name: &str,
        hash: u64,
        ret: Option<ScalarType>,
        func: kpl_host::HostFn,
    ) {
        self.funcs.push(HostFunc {
            module: module.to_string(),
            name: name.to_string(),
            hash,
            ret,
            func,
        });
    }

    /// Defines `module::name` with an untyped closure, for any declared
    /// signature (`str` and slice parameters included): it gets the
    /// [`Caller`] and the five argument registers (a `str` takes two: offset
    /// and length, read with [`Caller::str_bytes`]; a slice one: its handle,
    /// read with [`Caller::slice`] / [`Caller::slice_mut`]) and returns the
    /// result, which the runtime narrows to the declared return type.
    pub fn func(
        &mut self,
        module: &str,
        name: &str,
        f: impl Fn(&mut Caller<'_>, [u64; 5]) -> u64 + 'static,
    ) -> Result<&mut Linker, Error> {
        let decl = self.declared(module, name)?;
        let (hash, ret) = (decl.hash, decl.ret.as_ref().and_then(val_type));
        let ret = ret.and_then(|r| match r {
            ValType::Scalar(s) => Some(s),
            ValType::Slice { .. } => None,
        });
        self.push(module, name, hash, ret, Rc::new(f));
        Ok(self)
    }

    /// Defines `module::name` with a typed closure over scalars, e.g.
    /// `|a: u32, b: u32| a.max(b)`; its parameter and result types must be
    /// the declared ones.
    pub fn func_wrap<P, R, F: IntoHostFunc<P, R>>(
        &mut self,
        module: &str,
        name: &str,
        f: F,
    ) -> Result<&mut Linker, Error> {
        let decl = self.declared(module, name)?;
        let declared: Vec<Option<ValType>> = decl.params.iter().map(|(_, t)| val_type(t)).collect();
        let given: Vec<Option<ValType>> = F::params()
            .into_iter()
            .map(|s| Some(ValType::Scalar(s)))
            .collect();
        let declared_ret = decl.ret.as_ref().and_then(val_type);
        let given_ret = F::ret().map(ValType::Scalar);
        if declared != given || declared_ret != given_ret {
            let params: Vec<&str> = F::params().iter().map(|s| s.name()).collect();
            return Err(Error::Signature(format!(
                "`{module}::{name}` is declared `{}`; the closure takes ({}) and returns {}",
                decl.display_signature(),
                params.join(", "),
                given_ret.map_or("()".to_string(), kpl_host::type_text)
            )));
        }
        let hash = decl.hash;
        self.push(module, name, hash, F::ret(), f.into_host_fn());
        Ok(self)
    }

    /// Links `module` against these host functions (then the kernel table)
    /// and maps it. A missing import is an [`Error::Link`] naming it.
    pub fn instantiate(&self, module: &Module) -> Result<Instance, Error> {
        let inner = kpl_host::Instance::load_with(&module.object, &self.funcs)?;
        let statics = kpl_runtime_core::Object::parse(&module.object)
            .map_err(|e| Error::Object(e.to_string()))?
            .statics()
            .filter_map(|v| {
                let elem = v.elem?;
                Some((v.name.to_string(), (v.offset, v.count, elem)))
            })
            .collect();
        Ok(Instance {
            inner,
            statics,
            fuel: self.engine.inner.fuel,
        })
    }
}

/// A linked, mapped plugin: its statics persist across calls, and so does
/// its fuel (each call uses what is left; [`set_fuel`](Instance::set_fuel)
/// refills it).
pub struct Instance {
    inner: kpl_host::Instance,
    fuel: u64,
    /// The integer statics by name (the object's STATICS table): data
    /// offset, element count and element type.
    statics: std::collections::HashMap<String, (u32, u32, ScalarType)>,
}

impl Instance {
    /// The export `name` as a typed function. Fails with
    /// [`Error::Signature`] unless `P` and `R` are exactly the export's
    /// parameter and return types (`Slice<T>` for `[]T`, `SliceMut<T>` for
    /// `[]mut T`, `()` for no result).
    pub fn get_typed_func<P: Params, R: Results>(
        &self,
        name: &str,
    ) -> Result<TypedFunc<P, R>, Error> {
        let export = self
            .inner
            .export(name)
            .ok_or_else(|| Error::NoExport(name.to_string()))?;
        let info = self
            .inner
            .export_info(export)
            .ok_or_else(|| Error::NoExport(name.to_string()))?;
        let (params, ret) = (P::types(), R::ret());
        if info.params != params || info.ret != ret {
            let show = |p: &[ValType], r: Option<ScalarType>| {
                let p: Vec<String> = p.iter().map(|t| kpl_host::type_text(*t)).collect();
                match r {
                    Some(r) => format!("({}) -> {}", p.join(", "), r.name()),
                    None => format!("({})", p.join(", ")),
                }
            };
            return Err(Error::Signature(format!(
                "export `{name}` is `fn{}`, asked for as `fn{}`",
                show(&info.params, info.ret),
                show(&params, ret)
            )));
        }
        Ok(TypedFunc {
            export,
            _types: std::marker::PhantomData,
        })
    }

    /// Names and signatures of the exports.
    pub fn exports(&self) -> &[ExportInfo] {
        self.inner.exports()
    }

    /// Element `index` of the static `name` (0 for a scalar static): an
    /// integer or `bool` static, or an array of them, whose type must be
    /// `T`. Fails with [`Error::NoStatic`] for an unknown name, a struct
    /// or nested array, or an index past the end, and with
    /// [`Error::Signature`] for another type.
    pub fn get_static<T: Scalar>(&self, name: &str, index: u32) -> Result<T, Error> {
        let &(offset, count, elem) = self
            .statics
            .get(name)
            .ok_or_else(|| Error::NoStatic(name.to_string()))?;
        if elem != T::TYPE {
            return Err(Error::Signature(format!(
                "static `{name}` holds `{}`, asked for as `{}`",
                elem.name(),
                T::TYPE.name()
            )));
        }
        if index >= count {
            return Err(Error::NoStatic(format!("{name}[{index}]")));
        }
        let size = elem.size() as usize;
        let at = offset as usize + index as usize * size;
        let words = self.inner.data();
        let mut raw = [0u8; 8];
        for (k, b) in raw.iter_mut().take(size).enumerate() {
            let byte = at + k;
            let word = words.get(byte / 8).copied().unwrap_or(0);
            *b = (word >> (8 * (byte % 8))) as u8;
        }
        Ok(T::from_raw(u64::from_le_bytes(raw)))
    }

    /// Fuel left for the next calls.
    pub fn fuel(&self) -> u64 {
        self.fuel
    }

    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel = fuel;
    }

    /// Lines the plugin logged with `kernel::log*` (not printed).
    pub fn log(&self) -> &[String] {
        &self.inner.host().log
    }

    fn bind(&mut self, bytes: &[u8], writable: bool) -> Result<kpl_host::Bound, Error> {
        let buf = GuardedBuf::new(bytes)?;
        self.inner
            .bind(buf, writable)
            .map_err(|_| Error::Argument("all 8 slice slots of the instance are bound".to_string()))
    }

    /// A slice of `bytes` bytes may be bound: shorter than 4 GiB (a KPL
    /// `.len` is a `u32`, and the sandbox relies on it). Asked before any
    /// memory is allocated.
    fn slice_fits(bytes: usize) -> Result<(), Error> {
        if bytes >= kpl_host::MAX_SLICE_BYTES {
            return Err(Error::Argument(format!(
                "a slice of {bytes} bytes: slices are shorter than 4 GiB"
            )));
        }
        Ok(())
    }

    /// Copies `values` into memory owned by the instance, bound once for
    /// any number of calls as a read-only `[]T` argument.
    pub fn bind_slice<T: Elem>(&mut self, values: &[T]) -> Result<Slice<T>, Error> {
        Self::slice_fits(std::mem::size_of_val(values))?;
        let mut bytes = Vec::with_capacity(std::mem::size_of_val(values));
        values.iter().for_each(|v| v.put_le(&mut bytes));
        Ok(Slice::new(self.bind(&bytes, false)?))
    }

    /// `len` zero elements owned by the instance, bound once as a writable
    /// `[]mut T` argument.
    pub fn bind_slice_mut<T: Elem>(&mut self, len: usize) -> Result<SliceMut<T>, Error> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| Error::Argument(format!("{len} elements do not fit in memory")))?;
        Self::slice_fits(bytes)?;
        let buf = GuardedBuf::zeroed(bytes)?;
        let bound = self.inner.bind(buf, true).map_err(|_| {
            Error::Argument("all 8 slice slots of the instance are bound".to_string())
        })?;
        Ok(SliceMut::new(bound))
    }

    /// The bytes of a bound slice (little-endian elements).
    pub fn bytes(&self, slice: &impl BoundSlice) -> Result<&[u8], Error> {
        self.inner
            .bound_bytes(slice.bound())
            .ok_or_else(|| Error::Argument("a slice not bound to this instance".to_string()))
    }

    /// The bytes of a bound slice, to refill between calls.
    pub fn bytes_mut(&mut self, slice: &impl BoundSlice) -> Result<&mut [u8], Error> {
        self.inner
            .bound_bytes_mut(slice.bound())
            .ok_or_else(|| Error::Argument("a slice not bound to this instance".to_string()))
    }

    /// Unbinds a slice; its memory is freed and later calls refuse it.
    pub fn unbind(&mut self, slice: impl BoundSlice) -> Result<(), Error> {
        self.inner
            .unbind(slice.bound())
            .map(drop)
            .ok_or_else(|| Error::Argument("a slice not bound to this instance".to_string()))
    }

    fn trap(&self, t: kpl_host::Trap) -> Error {
        Error::Trap(Trap {
            kind: t.kind,
            location: self
                .inner
                .location(t.code_offset)
                .map(|(line, col)| Location {
                    file: self.inner.source_file().to_string(),
                    line,
                    col,
                }),
        })
    }
}

/// An export with its signature checked: calls need no further type checks.
pub struct TypedFunc<P, R> {
    export: Export,
    _types: std::marker::PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        TypedFunc {
            export: self.export,
            _types: std::marker::PhantomData,
        }
    }
}

impl<P: Params, R: Results> TypedFunc<P, R> {
    /// Calls the export on `instance` (the one it came from) with the
    /// instance's fuel; afterwards [`Instance::fuel`] is what is left.
    pub fn call(&self, instance: &mut Instance, params: P) -> Result<R, Error> {
        if instance.fuel == 0 {
            return Err(Error::Trap(Trap {
                kind: TrapKind::Budget,
                location: None,
            }));
        }
        let mut args = [BoundArg::Int(0); 6];
        let n = params.args(&mut args);
        let result = instance
            .inner
            .call_bound(self.export, &args[..n], instance.fuel);
        match result {
            Ok(raw) => {
                instance.fuel = instance.inner.fuel_left();
                Ok(R::from_raw(raw))
            }
            Err(kpl_host::CallError::Trap(t)) => {
                instance.fuel = instance.inner.fuel_left();
                Err(instance.trap(t))
            }
            Err(kpl_host::CallError::ForeignExport) => Err(Error::Argument(
                "a function of another instance".to_string(),
            )),
            Err(e) => Err(Error::Argument(e.to_string())),
        }
    }
}
