//! The kernel import table: the functions a plugin may call, declared in
//! `std-imports/*.kpli` files (module name = file stem) with `extern fn`
//! items. This is the single source of truth for the compiler, the host
//! runtime and the kernel module; each import's identity is its module, name
//! and signature hash.

use crate::ast::{ItemKind, TypeKind};
use crate::codes::Code;
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::types::{IntTy, Ty};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportFn {
    pub module: String,
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub ret: Option<Ty>,
    pub doc: String,
    /// Where it is declared in its `.kpli` file.
    pub span: Span,
    /// FNV-1a-64 of [`ImportFn::canonical_signature`].
    pub hash: u64,
}

impl ImportFn {
    /// `kernel::log_u64(str,u64)->()`: the text the signature hash is taken of.
    pub fn canonical_signature(&self) -> String {
        canonical_signature(&self.module, &self.name, &self.params, self.ret.as_ref())
    }

    /// `fn log_u64(msg: str, value: u64)` for hover texts and messages.
    pub fn display_signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        match &self.ret {
            Some(r) => format!("fn {}({}) -> {r}", self.name, params.join(", ")),
            None => format!("fn {}({})", self.name, params.join(", ")),
        }
    }
}

pub fn canonical_signature(
    module: &str,
    name: &str,
    params: &[(String, Ty)],
    ret: Option<&Ty>,
) -> String {
    let params: Vec<String> = params.iter().map(|(_, t)| t.to_string()).collect();
    let ret = ret.map_or("()".to_string(), |t| t.to_string());
    format!("{module}::{name}({})->{ret}", params.join(","))
}

/// 64-bit FNV-1a, the signature hash. Tiny and easy to reimplement in C.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportModule {
    pub name: String,
    /// The file it was loaded from (for diagnostics and go-to-definition).
    pub path: String,
    pub functions: Vec<ImportFn>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportTable {
    pub modules: Vec<ImportModule>,
}

/// A problem in an import declaration file.
#[derive(Clone, Debug)]
pub struct ImportFileDiagnostic {
    pub path: String,
    pub diagnostic: Diagnostic,
}

impl ImportTable {
    /// Loads declaration files given as `(path, text)`; the module name is the
    /// file stem. Problems are returned with the file they belong to.
    pub fn load(files: &[(String, String)]) -> (ImportTable, Vec<ImportFileDiagnostic>) {
        let mut table = ImportTable::default();
        let mut problems = Vec::new();
        for (path, text) in files {
            let module = std::path::Path::new(path)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("imports")
                .to_string();
            let (m, diags) = load_module(&module, path, text);
            problems.extend(diags.into_iter().map(|diagnostic| ImportFileDiagnostic {
                path: path.clone(),
                diagnostic,
            }));
            table.modules.push(m);
        }
        (table, problems)
    }

    pub fn module(&self, name: &str) -> Option<&ImportModule> {
        self.modules.iter().find(|m| m.name == name)
    }

    /// All imports with this name, in any module (for "did you mean to `use`").
    pub fn find_anywhere(&self, name: &str) -> impl Iterator<Item = &ImportFn> {
        self.modules
            .iter()
            .flat_map(|m| m.functions.iter())
            .filter(move |f| f.name == name)
    }
}

impl ImportModule {
    pub fn function(&self, name: &str) -> Option<&ImportFn> {
        self.functions.iter().find(|f| f.name == name)
    }
}

fn load_module(module: &str, path: &str, text: &str) -> (ImportModule, Vec<Diagnostic>) {
    let (file, mut diags) = crate::parse_source(text);
    let mut functions: Vec<ImportFn> = Vec::new();
    for item in &file.items {
        let sig = match &item.kind {
            ItemKind::ExternFn(sig) => sig,
            ItemKind::Error(_) => continue,
            _ => {
                diags.push(Diagnostic::new(
                    Code::E0001,
                    "only `extern fn` declarations are allowed in an import file",
                    item.span,
                    "not an `extern fn`",
                ));
                continue;
            }
        };
        if let Some(first) = functions.iter().find(|f| f.name == sig.name.name) {
            diags.push(Diagnostic::declared_twice(
                Code::E0101,
                "import",
                &sig.name.name,
                sig.name.span,
                first.span,
            ));
            continue;
        }
        if sig.params.len() > crate::check::limits::PARAMS {
            diags.push(Diagnostic::new(
                Code::E0507,
                format!(
                    "import `{}` has {} parameters; at most {} are allowed",
                    sig.name.name,
                    sig.params.len(),
                    crate::check::limits::PARAMS
                ),
                sig.name.span,
                "too many parameters",
            ));
        }
        let mut params = Vec::new();
        for p in &sig.params {
            let ty = import_type(&p.ty.kind, true).unwrap_or_else(|why| {
                diags.push(Diagnostic::new(
                    Code::E0207,
                    format!("type not allowed in an import parameter: {why}"),
                    p.ty.span,
                    "not allowed here",
                ));
                Ty::Error
            });
            params.push((p.name.name.clone(), ty));
        }
        let ret = sig.ret.as_ref().map(|t| {
            import_type(&t.kind, false)
                .and_then(|ty| {
                    if ty.is_scalar() {
                        Ok(ty)
                    } else {
                        Err(format!("`{ty}` cannot be returned"))
                    }
                })
                .unwrap_or_else(|why| {
                    diags.push(Diagnostic::new(
                        Code::E0207,
                        format!("type not allowed as an import result: {why}"),
                        t.span,
                        "not allowed here",
                    ));
                    Ty::Error
                })
        });
        let sig_text = canonical_signature(module, &sig.name.name, &params, ret.as_ref());
        functions.push(ImportFn {
            module: module.to_string(),
            name: sig.name.name.clone(),
            hash: fnv1a64(sig_text.as_bytes()),
            params,
            ret,
            doc: item.doc.clone().unwrap_or_default(),
            span: sig.name.span,
        });
    }
    (
        ImportModule {
            name: module.to_string(),
            path: path.to_string(),
            functions,
        },
        diags,
    )
}

fn import_type(kind: &TypeKind, param: bool) -> Result<Ty, String> {
    match kind {
        TypeKind::Named(n) if n == "bool" => Ok(Ty::Bool),
        TypeKind::Named(n) if n == "str" && param => Ok(Ty::Str),
        TypeKind::Named(n) => IntTy::from_name(n)
            .map(Ty::Int)
            .ok_or_else(|| format!("`{n}` (imports use bool, integers, str and slices)")),
        TypeKind::Slice { mutable, elem } if param => match &elem.kind {
            TypeKind::Named(n) => IntTy::from_name(n)
                .map(|elem| Ty::Slice {
                    mutable: *mutable,
                    elem,
                })
                .ok_or_else(|| "slice elements must be integers".to_string()),
            _ => Err("slice elements must be integers".to_string()),
        },
        TypeKind::Slice { .. } => Err("slices cannot be returned".to_string()),
        TypeKind::Array(..) => Err("arrays cannot cross the import boundary".to_string()),
        TypeKind::Error => Ok(Ty::Error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn loads_declarations() {
        let src =
            "/// Says hi.\nextern fn log_u64(msg: str, value: u64);\nextern fn now() -> u64;\n";
        let (t, problems) = ImportTable::load(&[("std/kernel.kpli".into(), src.into())]);
        assert!(problems.is_empty(), "{problems:?}");
        let m = t.module("kernel").unwrap();
        let f = m.function("log_u64").unwrap();
        assert_eq!(f.doc, "Says hi.");
        assert_eq!(f.canonical_signature(), "kernel::log_u64(str,u64)->()");
        assert_eq!(f.hash, fnv1a64(b"kernel::log_u64(str,u64)->()"));
        assert_eq!(
            m.function("now").unwrap().canonical_signature(),
            "kernel::now()->u64"
        );
    }

    #[test]
    fn rejects_non_extern_items_and_bad_types() {
        let src = "fn f() {}\nextern fn g(a: [u8; 4]) -> []u8;\n";
        let (_, problems) = ImportTable::load(&[("k.kpli".into(), src.into())]);
        let codes: Vec<Code> = problems.iter().map(|p| p.diagnostic.code).collect();
        assert_eq!(codes, vec![Code::E0001, Code::E0207, Code::E0207]);
    }

    #[test]
    fn import_parameter_limit() {
        let src = "extern fn g(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, h: u8);\n";
        let (_, problems) = ImportTable::load(&[("k.kpli".into(), src.into())]);
        let codes: Vec<Code> = problems.iter().map(|p| p.diagnostic.code).collect();
        assert_eq!(codes, vec![Code::E0507]);
    }
}
