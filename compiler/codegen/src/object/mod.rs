//! From compiled code to a `.kpo` object: export signatures, per-function
//! stack bounds, trap sites, the source map (code offset → line:column) and
//! the statics by name.

pub mod kpo;

use kpl_lang::LineIndex;
use kpl_lang::types::{IntTy, Ty};

use crate::pipeline::Compiled;
use kpo::{
    ExportEntry, FunctionEntry, ImportEntry, ObjectParts, ScalarType, SourceLoc, StaticEntry,
    TrapSite, ValType,
};

fn scalar(t: &Ty) -> ScalarType {
    match t {
        Ty::Int(i) => int_scalar(*i),
        _ => ScalarType::Bool,
    }
}

fn int_scalar(t: IntTy) -> ScalarType {
    match t {
        IntTy::U8 => ScalarType::U8,
        IntTy::U16 => ScalarType::U16,
        IntTy::U32 => ScalarType::U32,
        IntTy::U64 => ScalarType::U64,
        IntTy::I8 => ScalarType::I8,
        IntTy::I16 => ScalarType::I16,
        IntTy::I32 => ScalarType::I32,
        IntTy::I64 => ScalarType::I64,
    }
}

fn val_type(t: &Ty) -> ValType {
    match t {
        Ty::Slice { mutable, elem } => ValType::Slice {
            elem: int_scalar(*elem),
            writable: *mutable,
        },
        other => ValType::Scalar(scalar(other)),
    }
}

/// Everything the object records about a compiled plugin. `src` is the
/// source text the compilation came from (for line:column).
pub fn parts(c: &Compiled, source_file: &str, src: &str) -> ObjectParts {
    let lines = LineIndex::new(src);
    let loc = |byte: u32| {
        let (line, col) = lines.line_col(src, byte as usize);
        (line as u32, col as u32)
    };
    let mut source_map: Vec<SourceLoc> = c
        .code
        .source_map
        .iter()
        .map(|&(code_offset, byte)| {
            let (line, col) = loc(byte);
            SourceLoc {
                code_offset,
                line,
                col,
            }
        })
        .collect();
    source_map.sort_by_key(|l| l.code_offset);
    ObjectParts {
        code: c.code.bytes.clone(),
        rodata: c.rodata.clone(),
        data_init: c.data_init.clone(),
        data_size: c.data_size,
        imports: c
            .imports
            .iter()
            .map(|i| ImportEntry {
                module: i.module.clone(),
                name: i.name.clone(),
                sig_hash: i.hash,
            })
            .collect(),
        exports: c
            .code
            .funcs
            .iter()
            .zip(&c.signatures)
            .filter(|(f, _)| f.exported)
            .map(|(f, (params, ret))| ExportEntry {
                name: f.name.clone(),
                code_offset: f.offset,
                params: params.iter().map(val_type).collect(),
                ret: ret.as_ref().map(scalar),
            })
            .collect(),
        functions: c
            .code
            .funcs
            .iter()
            .map(|f| FunctionEntry {
                name: f.name.clone(),
                code_offset: f.offset,
                code_len: f.len,
                stack_bound: f.frame_bytes,
            })
            .collect(),
        trap_sites: c
            .sites
            .iter()
            .map(|&(kind, code_offset, _)| TrapSite { kind, code_offset })
            .collect(),
        source_file: source_file.to_string(),
        source_map,
        statics: c
            .statics
            .iter()
            .map(|v| StaticEntry {
                name: v.name.clone(),
                offset: v.offset,
                size: v.size,
                elem: v.elem.as_ref().map(scalar),
                count: v.count,
            })
            .collect(),
    }
}

/// Compiles to object bytes.
pub fn write(c: &Compiled, source_file: &str, src: &str) -> Vec<u8> {
    kpo::write(&parts(c, source_file, src))
}
