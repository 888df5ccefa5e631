//! A hand-written object builder for the loader's tests: sections are raw
//! bytes that a test can edit before `build` places them canonically and
//! hashes them. Deliberately independent of kplc's writer.

#![allow(dead_code)]

use kpl_runtime_core::format::*;

/// Raw section contents, indexed by kind - 1 (empty = omitted).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    pub sections: [Vec<u8>; SECTION_KINDS],
    pub data_size: u32,
}

impl Parts {
    pub fn sec(&mut self, kind: SectionKind) -> &mut Vec<u8> {
        &mut self.sections[kind as usize - 1]
    }

    /// Appends `s` to STRINGS and returns its (offset, length) reference.
    pub fn string(&mut self, s: &str) -> [u8; 8] {
        let strings = self.sec(SectionKind::Strings);
        let off = strings.len() as u32;
        strings.extend_from_slice(s.as_bytes());
        let mut r = [0; 8];
        r[..4].copy_from_slice(&off.to_le_bytes());
        r[4..].copy_from_slice(&(s.len() as u32).to_le_bytes());
        r
    }

    pub fn build(&self) -> Vec<u8> {
        let present: Vec<(u32, &Vec<u8>)> = (1..)
            .zip(self.sections.iter())
            .filter(|(_, s)| !s.is_empty())
            .collect();
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&[0; 2 + 8 + 4]);
        out.extend_from_slice(&(present.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.data_size.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        let mut pos = HEADER_LEN + present.len() * SECTION_ENTRY_LEN;
        for (kind, s) in &present {
            pos = pos.next_multiple_of(8);
            for v in [*kind, pos as u32, s.len() as u32] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            pos += s.len();
        }
        for (_, s) in &present {
            out.resize(out.len().next_multiple_of(8), 0);
            out.extend_from_slice(s);
        }
        out.resize(out.len().next_multiple_of(8), 0);
        let len = out.len() as u32;
        out[16..20].copy_from_slice(&len.to_le_bytes());
        fix_hash(&mut out);
        out
    }
}

/// Recomputes the content hash (and nothing else) of a possibly broken object.
pub fn fix_hash(bytes: &mut [u8]) {
    if bytes.len() >= 16 {
        let h = xxh64(&bytes[16..]);
        bytes[8..16].copy_from_slice(&h.to_le_bytes());
    }
}

/// Sets the total-length field to the actual length, then the hash.
pub fn fix_len_and_hash(bytes: &mut [u8]) {
    if bytes.len() >= 20 {
        let len = bytes.len() as u32;
        bytes[16..20].copy_from_slice(&len.to_le_bytes());
    }
    fix_hash(bytes);
}

pub const CLOCK_NS: u64 = 0xed6981b84b514391;
pub const LOG: u64 = 0x036fe1a0764b7cdc;

/// A small valid object: 64 bytes of code with functions `a_fn` (0..32,
/// exported as `(u8, []mut u16) -> i32`) and `b` (32..64, exported, no
/// params), two imports, two trap sites, a source map, three statics.
pub fn sample() -> Parts {
    let mut p = Parts {
        data_size: 16,
        ..Parts::default()
    };
    *p.sec(SectionKind::Code) = vec![0x90; 64];
    *p.sec(SectionKind::Rodata) = b"abc".to_vec();
    *p.sec(SectionKind::DataInit) = vec![1, 2];

    let mut imports = Vec::new();
    for (m, n, h) in [("kernel", "clock_ns", CLOCK_NS), ("kernel", "log", LOG)] {
        imports.extend_from_slice(&p.string(m));
        imports.extend_from_slice(&p.string(n));
        imports.extend_from_slice(&h.to_le_bytes());
    }
    *p.sec(SectionKind::Imports) = imports;

    let mut exports = Vec::new();
    exports.extend_from_slice(&p.string("a_fn"));
    exports.extend_from_slice(&0u32.to_le_bytes());
    exports.extend_from_slice(&[7, 2, 0x01, 0x22, 0, 0, 0, 0]); // -> i32, (u8, []mut u16)
    exports.extend_from_slice(&p.string("b"));
    exports.extend_from_slice(&32u32.to_le_bytes());
    exports.extend_from_slice(&[0; 8]);
    *p.sec(SectionKind::Exports) = exports;

    let mut functions = Vec::new();
    for (name, off, len, stack) in [("a_fn", 0u32, 32u32, 16u32), ("b", 32, 32, 0)] {
        functions.extend_from_slice(&p.string(name));
        for v in [off, len, stack] {
            functions.extend_from_slice(&v.to_le_bytes());
        }
    }
    *p.sec(SectionKind::Functions) = functions;

    let mut traps = Vec::new();
    for (kind, off) in [(3u8, 10u32), (4, 40)] {
        traps.extend_from_slice(&[kind, 0, 0, 0]);
        traps.extend_from_slice(&off.to_le_bytes());
    }
    *p.sec(SectionKind::TrapSites) = traps;

    let mut map = p.string("t.kpl").to_vec();
    for (off, line, col) in [(0u32, 1u32, 1u32), (10, 2, 5), (32, 5, 3), (60, 0, 0)] {
        for v in [off, line, col] {
            map.extend_from_slice(&v.to_le_bytes());
        }
    }
    *p.sec(SectionKind::SourceMap) = map;

    // count: u32 at 0, pair: [i16; 2] at 4, state: a struct at 8.
    let mut statics = Vec::new();
    for (name, off, size, elem, count) in [
        ("count", 0u32, 4u32, 3u8, 1u32),
        ("pair", 4, 4, 6, 2),
        ("state", 8, 8, 0, 0),
    ] {
        statics.extend_from_slice(&p.string(name));
        statics.extend_from_slice(&off.to_le_bytes());
        statics.extend_from_slice(&size.to_le_bytes());
        statics.extend_from_slice(&[elem, 0, 0, 0]);
        statics.extend_from_slice(&count.to_le_bytes());
    }
    *p.sec(SectionKind::Statics) = statics;
    p
}
