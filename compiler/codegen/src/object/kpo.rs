//! The `.kpo` writer: turns the code generator's output ([`ObjectParts`])
//! into the bytes of format v1. Constants, entry layouts and the image layout
//! rule come from `kpl-runtime-core`, the loader's crate, so the writer and
//! the loader share one definition of the format
//! (book/src/reference/object-format.md).
//!
//! Output is reproducible: tables whose order carries no meaning are sorted
//! here, strings are interned in a fixed order, and nothing depends on time,
//! paths or hash-map iteration.

use std::collections::HashMap;

pub use kpl_runtime_core::format::{
    ImageLayout, MAX_PARAMS, ScalarType, TrapKind, ValType, image_layout,
};
pub use kpl_runtime_core::{LoadError, Object, SourceLoc, TrapSite};

use kpl_runtime_core::SectionKind;
use kpl_runtime_core::format::*;

/// Everything the code generator hands to the writer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectParts {
    /// Machine code; image offset 0.
    pub code: Vec<u8>,
    /// Constant arrays and string bytes; image offset `image_layout(..).rodata_offset`.
    pub rodata: Vec<u8>,
    /// Initial bytes of the writable data region.
    pub data_init: Vec<u8>,
    /// Size of the writable data region (at least `data_init.len()`; the rest is zeroed).
    pub data_size: u32,
    /// Imports in slot order (the code calls slot `k` for `imports[k]`).
    pub imports: Vec<ImportEntry>,
    /// Exports, in any order (written sorted by name).
    pub exports: Vec<ExportEntry>,
    /// Functions, in any order (written sorted by code offset).
    pub functions: Vec<FunctionEntry>,
    /// Trap sites; site `k` is `trap_sites[k]`, the index the trap stub stores.
    pub trap_sites: Vec<TrapSite>,
    /// Source file name shown with trap locations (no control characters).
    pub source_file: String,
    /// Code offset → line/column, in any order. Several entries at one offset:
    /// the last one pushed wins. Line and column 0 mean "no location".
    pub source_map: Vec<SourceLoc>,
    /// The statics by name, in any order (written sorted by name).
    pub statics: Vec<StaticEntry>,
}

/// A static: where it lives in the data region and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticEntry {
    pub name: String,
    pub offset: u32,
    pub size: u32,
    /// The scalar type of a scalar static or of an array's elements.
    pub elem: Option<ScalarType>,
    /// Elements of type `elem` (1 for a scalar; 0 without `elem`).
    pub count: u32,
}

/// An import slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportEntry {
    /// Import module (`kernel`).
    pub module: String,
    /// Function name.
    pub name: String,
    /// FNV-1a-64 of the canonical signature text (see `kpl_lang::imports`).
    pub sig_hash: u64,
}

/// An export: entry point `code_offset` (a function start) with its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportEntry {
    pub name: String,
    pub code_offset: u32,
    /// At most [`MAX_PARAMS`].
    pub params: Vec<ValType>,
    /// `None` for a function without a return value.
    pub ret: Option<ScalarType>,
}

/// A function's code range and stack bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionEntry {
    pub name: String,
    pub code_offset: u32,
    pub code_len: u32,
    /// Bytes the function itself moves `rsp` below its entry value (pushes
    /// plus frame); the verifier adds callees over the call graph.
    pub stack_bound: u32,
}

impl ObjectParts {
    /// Pulls function extents and trap-site offsets back inside `code`, and
    /// drops source locations past its end, after bytes were inserted or
    /// removed (the verifier's mutation test and fuzz target), so the
    /// container stays consistent and the verifier, not the parser, judges
    /// the edited code.
    pub fn clamp_to_code(&mut self) {
        let len = u32::try_from(self.code.len()).unwrap_or(u32::MAX);
        for f in self.functions.iter_mut() {
            f.code_offset = f.code_offset.min(len);
            f.code_len = f.code_len.min(len - f.code_offset);
        }
        for s in self.trap_sites.iter_mut() {
            s.code_offset = s.code_offset.min(len.saturating_sub(1));
        }
        // A source location past the end of the code describes nothing.
        self.source_map.retain(|l| l.code_offset < len);
    }

    /// The image layout of these parts: where RODATA and the import slots
    /// land relative to the code, for RIP-relative displacements.
    pub fn layout(&self) -> ImageLayout {
        image_layout(
            u32_len(self.code.len()),
            u32_len(self.rodata.len()),
            u32_len(self.imports.len()),
            self.data_size,
        )
        .expect("image larger than 4 GiB")
    }
}

fn u32_len(n: usize) -> u32 {
    u32::try_from(n).expect("object part larger than 4 GiB")
}

/// The STRINGS section under construction: each distinct string once, in
/// order of first use.
#[derive(Default)]
struct Strings {
    bytes: Vec<u8>,
    seen: HashMap<String, u32>,
}

impl Strings {
    /// Appends the (offset u32, length u32) reference of `s` to `out`.
    fn put(&mut self, out: &mut Vec<u8>, s: &str) {
        let off = match self.seen.get(s) {
            Some(&off) => off,
            None => {
                let off = u32_len(self.bytes.len());
                self.bytes.extend_from_slice(s.as_bytes());
                self.seen.insert(s.to_string(), off);
                off
            }
        };
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&u32_len(s.len()).to_le_bytes());
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Encodes `parts` as a `.kpo` object. The parts must describe a valid
/// object (names are identifiers, offsets inside the code, exports at
/// function starts, …); debug builds check the result with the loader's own
/// parser and panic on a violation, which is a bug in the code generator.
pub fn write(parts: &ObjectParts) -> Vec<u8> {
    let out = encode(parts);
    if cfg!(debug_assertions)
        && let Err(e) = Object::parse(&out)
    {
        panic!("kpo::write produced an object the loader refuses: {e}");
    }
    out
}

/// [`write`] for parts that may not describe a valid object (a fuzzer's or
/// a red team's mutants): the loader's verdict instead of a panic, in every
/// build. (A fuzzer aborts on any panic, so it cannot catch `write`'s.)
pub fn try_write(parts: &ObjectParts) -> Result<Vec<u8>, LoadError> {
    let out = encode(parts);
    Object::parse(&out)?;
    Ok(out)
}

fn encode(parts: &ObjectParts) -> Vec<u8> {
    let mut strings = Strings::default();

    let mut source_map = Vec::new();
    strings.put(&mut source_map, &parts.source_file);
    for loc in canonical_source_map(&parts.source_map) {
        put_u32(&mut source_map, loc.code_offset);
        put_u32(&mut source_map, loc.line);
        put_u32(&mut source_map, loc.col);
    }
    if parts.source_file.is_empty() && source_map.len() == SOURCE_MAP_HEADER_LEN {
        source_map.clear(); // nothing to say: omit the section
    }

    let mut imports = Vec::new();
    for i in &parts.imports {
        strings.put(&mut imports, &i.module);
        strings.put(&mut imports, &i.name);
        imports.extend_from_slice(&i.sig_hash.to_le_bytes());
    }

    let mut sorted_exports: Vec<_> = parts.exports.iter().collect();
    sorted_exports.sort_by(|a, b| a.name.cmp(&b.name));
    let mut exports = Vec::new();
    for e in sorted_exports {
        assert!(
            e.params.len() <= MAX_PARAMS,
            "export `{}` has too many parameters",
            e.name
        );
        strings.put(&mut exports, &e.name);
        put_u32(&mut exports, e.code_offset);
        exports.push(e.ret.map_or(RET_NONE, |r| r as u8));
        exports.push(e.params.len() as u8);
        let mut codes = [0u8; MAX_PARAMS];
        for (c, p) in codes.iter_mut().zip(&e.params) {
            *c = p.code();
        }
        exports.extend_from_slice(&codes);
    }

    let mut sorted_functions: Vec<_> = parts.functions.iter().collect();
    sorted_functions.sort_by_key(|f| (f.code_offset, f.code_len));
    let mut functions = Vec::new();
    for f in sorted_functions {
        strings.put(&mut functions, &f.name);
        put_u32(&mut functions, f.code_offset);
        put_u32(&mut functions, f.code_len);
        put_u32(&mut functions, f.stack_bound);
    }

    let mut trap_sites = Vec::new();
    for t in &parts.trap_sites {
        trap_sites.extend_from_slice(&[t.kind as u8, 0, 0, 0]);
        put_u32(&mut trap_sites, t.code_offset);
    }

    let mut sorted_statics: Vec<_> = parts.statics.iter().collect();
    sorted_statics.sort_by(|a, b| a.name.cmp(&b.name));
    let mut statics = Vec::new();
    for v in sorted_statics {
        strings.put(&mut statics, &v.name);
        put_u32(&mut statics, v.offset);
        put_u32(&mut statics, v.size);
        statics.extend_from_slice(&[v.elem.map_or(0, |t| t as u8), 0, 0, 0]);
        put_u32(&mut statics, v.count);
    }

    let sections: [(SectionKind, &[u8]); SECTION_KINDS] = [
        (SectionKind::Code, &parts.code),
        (SectionKind::Rodata, &parts.rodata),
        (SectionKind::DataInit, &parts.data_init),
        (SectionKind::Imports, &imports),
        (SectionKind::Exports, &exports),
        (SectionKind::Functions, &functions),
        (SectionKind::TrapSites, &trap_sites),
        (SectionKind::SourceMap, &source_map),
        (SectionKind::Strings, &strings.bytes),
        (SectionKind::Statics, &statics),
    ];
    let present: Vec<_> = sections.iter().filter(|(_, s)| !s.is_empty()).collect();

    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // flags
    out.extend_from_slice(&0u64.to_le_bytes()); // hash, filled in last
    put_u32(&mut out, 0); // total length, filled in last
    put_u32(&mut out, present.len() as u32);
    put_u32(&mut out, parts.data_size);
    put_u32(&mut out, 0); // reserved
    debug_assert_eq!(out.len(), HEADER_LEN);

    // Canonical placement: each section at the next 8-aligned offset.
    let mut pos = HEADER_LEN + present.len() * SECTION_ENTRY_LEN;
    for (kind, bytes) in &present {
        pos = pos.next_multiple_of(SECTION_ALIGN);
        put_u32(&mut out, *kind as u32);
        put_u32(&mut out, u32_len(pos));
        put_u32(&mut out, u32_len(bytes.len()));
        pos += bytes.len();
    }
    for (_, bytes) in &present {
        out.resize(out.len().next_multiple_of(SECTION_ALIGN), 0);
        out.extend_from_slice(bytes);
    }
    out.resize(out.len().next_multiple_of(SECTION_ALIGN), 0);

    let total = u32_len(out.len());
    out[TOTAL_LEN_OFFSET..TOTAL_LEN_OFFSET + 4].copy_from_slice(&total.to_le_bytes());
    let hash = xxh64(&out[HASHED_FROM..]);
    out[HASH_OFFSET..HASH_OFFSET + 8].copy_from_slice(&hash.to_le_bytes());
    out
}

/// Sorted by offset, one entry per offset (the last given wins), and no entry
/// that repeats the previous entry's location (lookups give the same answer).
fn canonical_source_map(entries: &[SourceLoc]) -> Vec<SourceLoc> {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|e| e.code_offset); // stable: keeps push order per offset
    let mut out: Vec<SourceLoc> = Vec::with_capacity(sorted.len());
    for e in sorted {
        if out.last().is_some_and(|l| l.code_offset == e.code_offset) {
            out.pop();
        }
        if out
            .last()
            .is_some_and(|l| (l.line, l.col) == (e.line, e.col))
        {
            continue;
        }
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kpl_runtime_core::{Export, Function, Import, LoadErrorKind};

    fn sample() -> ObjectParts {
        let code: Vec<u8> = (0..100u8).collect();
        ObjectParts {
            code,
            rodata: b"hello\x01\x02\x03".to_vec(),
            data_init: vec![7, 0, 0, 0, 9],
            data_size: 64,
            imports: vec![
                ImportEntry {
                    module: "kernel".into(),
                    name: "log_u64".into(),
                    sig_hash: 0xda3b0447b5025835,
                },
                ImportEntry {
                    module: "kernel".into(),
                    name: "clock_ns".into(),
                    sig_hash: 0xed6981b84b514391,
                },
            ],
            exports: vec![
                ExportEntry {
                    name: "run".into(),
                    code_offset: 40,
                    params: vec![
                        ValType::Slice {
                            elem: ScalarType::U8,
                            writable: true,
                        },
                        ValType::Scalar(ScalarType::I32),
                        ValType::Scalar(ScalarType::Bool),
                    ],
                    ret: Some(ScalarType::U64),
                },
                ExportEntry {
                    name: "init".into(),
                    code_offset: 0,
                    params: vec![],
                    ret: None,
                },
            ],
            functions: vec![
                FunctionEntry {
                    name: "run".into(),
                    code_offset: 40,
                    code_len: 40,
                    stack_bound: 96,
                },
                FunctionEntry {
                    name: "init".into(),
                    code_offset: 0,
                    code_len: 20,
                    stack_bound: 8,
                },
                FunctionEntry {
                    name: "helper".into(),
                    code_offset: 20,
                    code_len: 20,
                    stack_bound: 24,
                },
            ],
            trap_sites: vec![
                TrapSite {
                    kind: TrapKind::Bounds,
                    code_offset: 50,
                },
                TrapSite {
                    kind: TrapKind::Budget,
                    code_offset: 60,
                },
                TrapSite {
                    kind: TrapKind::DivByZero,
                    code_offset: 25,
                },
            ],
            source_file: "examples/demo/demo.kpl".into(),
            source_map: vec![
                SourceLoc {
                    code_offset: 40,
                    line: 10,
                    col: 5,
                },
                SourceLoc {
                    code_offset: 0,
                    line: 3,
                    col: 1,
                },
                SourceLoc {
                    code_offset: 20,
                    line: 7,
                    col: 1,
                },
                SourceLoc {
                    code_offset: 50,
                    line: 11,
                    col: 9,
                },
                SourceLoc {
                    code_offset: 50,
                    line: 12,
                    col: 9,
                }, // same offset: last wins
                SourceLoc {
                    code_offset: 55,
                    line: 12,
                    col: 9,
                }, // same location: dropped
                SourceLoc {
                    code_offset: 90,
                    line: 0,
                    col: 0,
                }, // stubs: no location
            ],
            statics: vec![
                StaticEntry {
                    name: "table".into(),
                    offset: 8,
                    size: 12,
                    elem: Some(ScalarType::I16),
                    count: 6,
                },
                StaticEntry {
                    name: "hits".into(),
                    offset: 0,
                    size: 8,
                    elem: Some(ScalarType::U64),
                    count: 1,
                },
                StaticEntry {
                    name: "state".into(),
                    offset: 24,
                    size: 16,
                    elem: None,
                    count: 0,
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let bytes = write(&p);
        let o = Object::parse(&bytes).unwrap();
        assert_eq!(o.code(), &p.code[..]);
        assert_eq!(o.rodata(), &p.rodata[..]);
        assert_eq!(o.data_init(), &p.data_init[..]);
        assert_eq!(o.layout(), p.layout());
        assert_eq!(o.layout().data_size, 64);

        let imports: Vec<Import> = o.imports().collect();
        assert_eq!(imports.len(), 2);
        for (k, (got, want)) in imports.iter().zip(&p.imports).enumerate() {
            assert_eq!(got.slot as usize, k);
            assert_eq!(
                (got.module, got.name, got.sig_hash),
                (&*want.module, &*want.name, want.sig_hash)
            );
        }

        let exports: Vec<Export> = o.exports().collect();
        assert_eq!(
            exports.iter().map(|e| e.name).collect::<Vec<_>>(),
            ["init", "run"]
        );
        let run = o.export("run").unwrap();
        assert_eq!(run.code_offset, 40);
        assert_eq!(run.signature.params(), &p.exports[0].params[..]);
        assert_eq!(run.signature.ret, Some(ScalarType::U64));
        assert_eq!(o.export("init").unwrap().signature.params(), &[]);
        assert_eq!(o.export("init").unwrap().signature.ret, None);
        assert!(o.export("nope").is_none());

        let functions: Vec<Function> = o.functions().collect();
        let names: Vec<_> = functions
            .iter()
            .map(|f| (f.name, f.code_offset, f.code_len, f.stack_bound))
            .collect();
        assert_eq!(
            names,
            [
                ("init", 0, 20, 8),
                ("helper", 20, 20, 24),
                ("run", 40, 40, 96)
            ]
        );
        let statics: Vec<_> = o
            .statics()
            .map(|v| (v.name, v.offset, v.size, v.elem, v.count))
            .collect();
        assert_eq!(
            statics,
            [
                ("hits", 0, 8, Some(ScalarType::U64), 1),
                ("state", 24, 16, None, 0),
                ("table", 8, 12, Some(ScalarType::I16), 6),
            ]
        );
        assert_eq!(o.static_var("table").unwrap().offset, 8);
        assert!(o.static_var("nope").is_none());
        assert_eq!(o.function_containing(39).unwrap().name, "helper");
        assert!(o.function_containing(80).is_none());

        assert_eq!(o.trap_sites().collect::<Vec<_>>(), p.trap_sites);
        assert_eq!(
            o.trap_site(2),
            Some(TrapSite {
                kind: TrapKind::DivByZero,
                code_offset: 25
            })
        );
        assert_eq!(o.trap_site(3), None);
        assert_eq!(o.trap_site(u64::MAX), None);

        assert_eq!(o.source_file(), "examples/demo/demo.kpl");
        let map: Vec<_> = o
            .source_map()
            .map(|l| (l.code_offset, l.line, l.col))
            .collect();
        assert_eq!(
            map,
            [(0, 3, 1), (20, 7, 1), (40, 10, 5), (50, 12, 9), (90, 0, 0)]
        );
        assert_eq!(o.location_of(0), Some((3, 1)));
        assert_eq!(o.location_of(25), Some((7, 1)));
        assert_eq!(o.location_of(57), Some((12, 9)));
        assert_eq!(o.location_of(95), None);
        assert_eq!(o.location_of(100), None);
    }

    #[test]
    fn reproducible_and_order_independent() {
        let p = sample();
        let a = write(&p);
        assert_eq!(a, write(&p.clone()));
        // Reordering tables whose order has no meaning changes nothing.
        let mut q = p.clone();
        q.exports.reverse();
        q.functions.reverse();
        q.source_map.retain(|e| e.line != 11);
        q.source_map.reverse();
        assert_eq!(a, write(&q));
        // Reordering imports does: slot order is semantic.
        let mut r = p.clone();
        r.imports.reverse();
        assert_ne!(a, write(&r));
    }

    #[test]
    fn hash_covers_everything_after_it() {
        let bytes = write(&sample());
        let stored = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
        assert_eq!(stored, xxh64(&bytes[16..]));
        assert_eq!(Object::parse(&bytes).unwrap().hash(), stored);
        for at in [20, 40, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            let e = Object::parse(&bad).unwrap_err();
            assert!(matches!(e.kind, LoadErrorKind::HashMismatch { .. }), "{e}");
        }
    }

    #[test]
    fn empty_object_is_header_only() {
        let bytes = write(&ObjectParts::default());
        assert_eq!(bytes.len(), HEADER_LEN);
        let o = Object::parse(&bytes).unwrap();
        assert_eq!(o.code(), &[] as &[u8]);
        assert_eq!(o.source_file(), "");
        assert_eq!(o.layout().image_len, 0);
    }

    /// The example of book/src/reference/object-format.md, byte for byte
    /// (its hash checked independently with `xxhsum -H1`).
    #[test]
    fn book_example() {
        let parts = ObjectParts {
            code: vec![0xf3, 0x0f, 0x1e, 0xfa, 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3],
            exports: vec![ExportEntry {
                name: "answer".into(),
                code_offset: 0,
                params: vec![],
                ret: Some(ScalarType::U32),
            }],
            functions: vec![FunctionEntry {
                name: "answer".into(),
                code_offset: 0,
                code_len: 10,
                stack_bound: 0,
            }],
            source_file: "a.kpl".into(),
            source_map: vec![
                SourceLoc {
                    code_offset: 0,
                    line: 1,
                    col: 1,
                },
                SourceLoc {
                    code_offset: 4,
                    line: 2,
                    col: 5,
                },
            ],
            ..ObjectParts::default()
        };
        let hex = "\
            4b504f0001000000a1416f1559bc1456d0000000050000000000000000000000\
            01000000600000000a0000000500000070000000140000000600000088000000\
            1400000008000000a00000002000000009000000c00000000b00000000000000\
            f30f1efab82a000000c300000000000005000000060000000000000003000000\
            00000000000000000500000006000000000000000a0000000000000000000000\
            0000000005000000000000000100000001000000040000000200000005000000\
            612e6b706c616e737765720000000000";
        let bytes = write(&parts);
        let got: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, hex);
        assert_eq!(Object::parse(&bytes).unwrap().hash(), 0x5614bc59156f41a1);
    }

    #[test]
    fn layout_rule() {
        let l = image_layout(17, 3, 2, 0).unwrap();
        assert_eq!((l.rodata_offset, l.slots_offset, l.image_len), (32, 40, 56));
        assert_eq!(l.slot_offset(1), Some(48));
        assert_eq!(l.slot_offset(2), None);
        let l = image_layout(32, 0, 1, 0).unwrap();
        assert_eq!((l.rodata_offset, l.slots_offset, l.image_len), (32, 32, 40));
        assert!(image_layout(u32::MAX, 0, 0, 0).is_none());
    }

    #[test]
    #[should_panic(expected = "loader refuses")]
    #[cfg(debug_assertions)]
    fn invalid_parts_are_caught_in_debug() {
        let mut p = sample();
        p.exports[0].code_offset = 41; // not a function start
        write(&p);
    }
}
