//! The `.kpo` parser: [`Object::parse`] checks every byte the loader will
//! rely on (header, hash, section placement, every table entry), after which
//! the accessors read entries straight out of the borrowed bytes.

use crate::error::{LoadError, LoadErrorKind as K};
use crate::format::*;

/// A validated object, borrowing its bytes (nothing is copied).
#[derive(Clone, Copy, Debug)]
pub struct Object<'a> {
    hash: u64,
    layout: ImageLayout,
    /// File offset of each section, indexed by kind (0 = absent), for error offsets.
    section_at: [u32; SECTION_KINDS + 1],
    code: &'a [u8],
    rodata: &'a [u8],
    data_init: &'a [u8],
    strings: &'a [u8],
    imports: &'a [[u8; IMPORT_ENTRY_LEN]],
    exports: &'a [[u8; EXPORT_ENTRY_LEN]],
    functions: &'a [[u8; FUNCTION_ENTRY_LEN]],
    trap_sites: &'a [[u8; TRAP_SITE_ENTRY_LEN]],
    source_file: &'a str,
    source_map: &'a [[u8; SOURCE_MAP_ENTRY_LEN]],
    statics: &'a [[u8; STATIC_ENTRY_LEN]],
}

/// A static of the plugin, as STATICS lists it: where it lives in the
/// data region and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticVar<'a> {
    /// Source name.
    pub name: &'a str,
    /// Byte offset in the data region.
    pub offset: u32,
    /// Size in bytes; `offset + size <= data size`.
    pub size: u32,
    /// The scalar type of a scalar static or of an array's elements
    /// (`count` of them, naturally aligned); `None` for anything else
    /// (structs, nested arrays), whose bytes have no declared layout.
    pub elem: Option<ScalarType>,
    /// Number of elements of type `elem` (1 for a scalar); 0 when `elem`
    /// is `None`.
    pub count: u32,
}

/// An import; its slot index is its position in IMPORTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Import<'a> {
    /// Slot index.
    pub slot: u32,
    /// Import module (`kernel`).
    pub module: &'a str,
    /// Function name.
    pub name: &'a str,
    /// FNV-1a-64 of the canonical signature text.
    pub sig_hash: u64,
}

/// Parameter and return types of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    len: u8,
    params: [ValType; MAX_PARAMS],
    /// Return type; `None` for a function without a return value.
    pub ret: Option<ScalarType>,
}

impl Signature {
    /// Builds a signature; `None` if there are more than 6 parameters.
    pub fn new(params: &[ValType], ret: Option<ScalarType>) -> Option<Signature> {
        let mut all = [ValType::Scalar(ScalarType::U8); MAX_PARAMS];
        all.get_mut(..params.len())?.copy_from_slice(params);
        Some(Signature {
            len: u8::try_from(params.len()).ok()?,
            params: all,
            ret,
        })
    }

    /// Parameter types in order.
    pub fn params(&self) -> &[ValType] {
        self.params.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// An export: a function the host may invoke by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export<'a> {
    /// Name the host invokes it by.
    pub name: &'a str,
    /// Entry point (the start of a function).
    pub code_offset: u32,
    /// Parameter and return types.
    pub signature: Signature,
}

/// A function of the plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function<'a> {
    /// Source name.
    pub name: &'a str,
    /// First byte in CODE.
    pub code_offset: u32,
    /// Length in bytes.
    pub code_len: u32,
    /// Bytes of stack the function itself uses below its entry `rsp`
    /// (pushes and frame; the callees' frames are not included).
    pub stack_bound: u32,
}

/// A trap site: where a check was emitted and what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// The trap code reported when this site fires.
    pub kind: TrapKind,
    /// Code offset of the checked operation (look it up in the source map).
    pub code_offset: u32,
}

/// One source-map entry: code from `code_offset` up to the next entry comes
/// from `line:col` (both 0: no source location).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceLoc {
    /// First code offset covered.
    pub code_offset: u32,
    /// 1-based line, or 0.
    pub line: u32,
    /// 1-based column in characters, or 0.
    pub col: u32,
}

/// The source-map header of an object without SOURCE_MAP: the empty name.
static NO_SOURCE_FILE: [u8; SOURCE_MAP_HEADER_LEN] = [0; SOURCE_MAP_HEADER_LEN];

fn err(at: usize, kind: K) -> LoadError {
    LoadError { at, kind }
}

fn too_large(at: usize, what: &'static str, limit: usize) -> LoadError {
    err(at, K::TooLarge { what, limit })
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..)?.first_chunk().map(|c| u16::from_le_bytes(*c))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..)?.first_chunk().map(|c| u32::from_le_bytes(*c))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..)?.first_chunk().map(|c| u64::from_le_bytes(*c))
}

fn byte_at(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

fn usize_of(v: u32) -> usize {
    // Lossless wherever usize has at least 32 bits (every target we build for).
    v as usize
}

/// Splits a section into fixed-size entries.
fn entries<const N: usize>(
    s: &[u8],
    kind: SectionKind,
    at: usize,
) -> Result<&[[u8; N]], LoadError> {
    match s.as_chunks::<N>() {
        (e, []) => Ok(e),
        _ => Err(err(at, K::BadSectionLength(kind))),
    }
}

fn zeros(b: &[u8], from: usize, to: usize) -> Result<(), LoadError> {
    let pad = b
        .get(from..to)
        .ok_or(err(from.min(b.len()), K::Truncated))?;
    match pad.iter().position(|&x| x != 0) {
        Some(i) => Err(err(from.saturating_add(i), K::NonZeroReserved)),
        None => Ok(()),
    }
}

impl<'a> Object<'a> {
    /// Parses and validates an object. Never panics; any inconsistency is an
    /// error with the byte offset of the offending field.
    pub fn parse(bytes: &'a [u8]) -> Result<Object<'a>, LoadError> {
        let len = bytes.len();
        let header = bytes.get(..HEADER_LEN).ok_or(err(len, K::Truncated))?;
        if header.first_chunk::<4>() != Some(&MAGIC) {
            return Err(err(0, K::BadMagic));
        }
        let version = u16_at(header, 4).unwrap_or(0);
        if version != VERSION {
            return Err(err(4, K::UnsupportedVersion(version)));
        }
        let flags = u16_at(header, 6).unwrap_or(0);
        if flags != 0 {
            return Err(err(6, K::UnknownFlags(flags)));
        }
        let declared = u32_at(header, TOTAL_LEN_OFFSET).unwrap_or(0);
        if usize_of(declared) != len {
            return Err(err(
                TOTAL_LEN_OFFSET,
                K::LengthMismatch {
                    declared,
                    actual: len,
                },
            ));
        }
        if len > MAX_OBJECT_LEN {
            return Err(too_large(TOTAL_LEN_OFFSET, "object", MAX_OBJECT_LEN));
        }
        // The hash is checked first: a damaged object says so, rather than
        // reporting whichever structural check the damage happens to hit.
        let stored = u64_at(header, HASH_OFFSET).unwrap_or(0);
        let computed = xxh64(bytes.get(HASHED_FROM..).unwrap_or(&[]));
        if stored != computed {
            return Err(err(HASH_OFFSET, K::HashMismatch { stored, computed }));
        }
        zeros(bytes, RESERVED_OFFSET, HEADER_LEN)?;
        let data_size = u32_at(header, DATA_SIZE_OFFSET).unwrap_or(0);
        if data_size > MAX_DATA_SIZE {
            let limit = usize_of(MAX_DATA_SIZE);
            return Err(too_large(DATA_SIZE_OFFSET, "data size", limit));
        }

        // Section table. Placement is canonical (each section at the next
        // 8-aligned offset after the previous one, zero padding, no gaps,
        // nothing after the last), so overlap and hidden bytes are impossible
        // and the same contents always give the same bytes.
        let count = usize_of(u32_at(header, SECTION_COUNT_OFFSET).unwrap_or(0));
        if count > SECTION_KINDS {
            let count_at = SECTION_COUNT_OFFSET;
            return Err(too_large(count_at, "section count", SECTION_KINDS));
        }
        // count <= 9, so neither product nor sum can overflow.
        let mut pos = HEADER_LEN.saturating_add(count.saturating_mul(SECTION_ENTRY_LEN));
        let table = bytes.get(HEADER_LEN..pos).ok_or(err(len, K::Truncated))?;
        let mut ranges: [(u32, u32); SECTION_KINDS + 1] = [(0, 0); SECTION_KINDS + 1];
        let mut prev = 0u32;
        for i in 0..count {
            let at = HEADER_LEN.saturating_add(i.saturating_mul(SECTION_ENTRY_LEN));
            let entry = i.saturating_mul(SECTION_ENTRY_LEN);
            let code = u32_at(table, entry).unwrap_or(0);
            let offset = u32_at(table, entry.saturating_add(4)).unwrap_or(0);
            let length = u32_at(table, entry.saturating_add(8)).unwrap_or(0);
            let kind = SectionKind::from_u32(code).ok_or(err(at, K::UnknownSection(code)))?;
            if code <= prev {
                return Err(err(at, K::SectionOrder(kind)));
            }
            prev = code;
            if length == 0 {
                return Err(err(at.saturating_add(8), K::EmptySection(kind)));
            }
            let start = pos
                .checked_next_multiple_of(SECTION_ALIGN)
                .ok_or(err(at, K::Truncated))?;
            if usize_of(offset) != start {
                return Err(err(
                    at.saturating_add(4),
                    K::SectionPlacement {
                        kind,
                        expected: start,
                    },
                ));
            }
            zeros(bytes, pos, start)?;
            pos = start
                .checked_add(usize_of(length))
                .ok_or(err(at, K::Truncated))?;
            if pos > len {
                return Err(err(at.saturating_add(8), K::Truncated));
            }
            if let Some(r) = ranges.get_mut(usize_of(code)) {
                *r = (offset, length);
            }
        }
        let end = pos
            .checked_next_multiple_of(SECTION_ALIGN)
            .ok_or(err(pos, K::Truncated))?;
        zeros(bytes, pos, end)?;
        if end != len {
            return Err(err(end, K::TrailingBytes));
        }

        let mut section_at = [0u32; SECTION_KINDS + 1];
        for (a, r) in section_at.iter_mut().zip(ranges.iter()) {
            *a = r.0;
        }
        let sec = |kind: SectionKind| -> (&'a [u8], usize) {
            let (start, length) = ranges.get(kind as usize).copied().unwrap_or((0, 0));
            let (start, length) = (usize_of(start), usize_of(length));
            let s = start.checked_add(length).and_then(|e| bytes.get(start..e));
            (s.unwrap_or(&[]), start)
        };

        let (code, code_at) = sec(SectionKind::Code);
        let (rodata, rodata_at) = sec(SectionKind::Rodata);
        let (data_init, data_at) = sec(SectionKind::DataInit);
        if code.len() > usize_of(MAX_CODE_LEN) {
            return Err(too_large(code_at, "CODE", usize_of(MAX_CODE_LEN)));
        }
        if rodata.len() > usize_of(MAX_RODATA_LEN) {
            return Err(too_large(rodata_at, "RODATA", usize_of(MAX_RODATA_LEN)));
        }
        if data_init.len() > usize_of(data_size) {
            return Err(err(data_at, K::DataInitTooLong));
        }
        let (s, at) = sec(SectionKind::Imports);
        let imports = entries(s, SectionKind::Imports, at)?;
        let (s, at) = sec(SectionKind::Exports);
        let exports = entries(s, SectionKind::Exports, at)?;
        let (s, at) = sec(SectionKind::Functions);
        let functions = entries(s, SectionKind::Functions, at)?;
        let (s, at) = sec(SectionKind::TrapSites);
        let trap_sites = entries(s, SectionKind::TrapSites, at)?;
        let (s, map_at) = sec(SectionKind::SourceMap);
        let (map_header, map_entries) = match s {
            [] => (NO_SOURCE_FILE.as_slice(), s),
            _ => s
                .split_at_checked(SOURCE_MAP_HEADER_LEN)
                .ok_or(err(map_at, K::BadSectionLength(SectionKind::SourceMap)))?,
        };
        let map_entries_at = map_at.saturating_add(SOURCE_MAP_HEADER_LEN);
        let source_map = entries(map_entries, SectionKind::SourceMap, map_entries_at)?;
        let (strings, _) = sec(SectionKind::Strings);
        let (s, at) = sec(SectionKind::Statics);
        let statics = entries(s, SectionKind::Statics, at)?;
        if statics.len() > MAX_STATICS {
            return Err(too_large(at, "STATICS entries", MAX_STATICS));
        }

        // The u32 casts below cannot truncate: every section is < 16 MiB.
        let code_len = u32::try_from(code.len()).unwrap_or(u32::MAX);
        let rodata_len = u32::try_from(rodata.len()).unwrap_or(u32::MAX);
        let slots = u32::try_from(imports.len()).unwrap_or(u32::MAX);
        let layout = image_layout(code_len, rodata_len, slots, data_size).ok_or(too_large(
            0,
            "image",
            usize_of(u32::MAX),
        ))?;

        let mut obj = Object {
            hash: stored,
            layout,
            section_at,
            code,
            rodata,
            data_init,
            strings,
            imports,
            exports,
            functions,
            trap_sites,
            source_file: "",
            source_map,
            statics,
        };
        obj.source_file = obj.file_name(map_header, map_at)?;
        obj.validate_tables()?;
        Ok(obj)
    }

    /// Byte offset of field `field` of entry `index` of a section (for errors).
    fn field_at(&self, kind: SectionKind, entry_len: usize, index: usize, field: usize) -> usize {
        let base = usize_of(self.section_at.get(kind as usize).copied().unwrap_or(0));
        let base = match kind {
            SectionKind::SourceMap => base.saturating_add(SOURCE_MAP_HEADER_LEN),
            _ => base,
        };
        base.saturating_add(index.saturating_mul(entry_len))
            .saturating_add(field)
    }

    /// The string referenced by (offset u32, length u32) at `e[field..]`.
    fn string(&self, e: &[u8], field: usize) -> Option<&'a [u8]> {
        let off = usize_of(u32_at(e, field)?);
        let len = usize_of(u32_at(e, field.checked_add(4)?)?);
        self.strings.get(off..off.checked_add(len)?)
    }

    /// An identifier (import module/name, export or function name).
    fn name(&self, e: &[u8], field: usize) -> Option<&'a str> {
        let s = self.string(e, field)?;
        if is_identifier(s) {
            core::str::from_utf8(s).ok()
        } else {
            None
        }
    }

    fn checked_name(&self, e: &[u8], field: usize, at: usize) -> Result<&'a str, LoadError> {
        self.string(e, field).ok_or(err(at, K::StringOutOfBounds))?;
        self.name(e, field).ok_or(err(at, K::BadName))
    }

    fn file_name(&self, header: &[u8], at: usize) -> Result<&'a str, LoadError> {
        let s = self
            .string(header, 0)
            .ok_or(err(at, K::StringOutOfBounds))?;
        let s = core::str::from_utf8(s).map_err(|_| err(at, K::BadFileName))?;
        // Printed into kernel logs: no control characters.
        if s.chars().any(char::is_control) {
            return Err(err(at, K::BadFileName));
        }
        Ok(s)
    }

    fn inside_code(&self, offset: u32, len: u32) -> bool {
        offset
            .checked_add(len)
            .is_some_and(|end| end <= self.layout.code_len)
    }

    fn validate_tables(&self) -> Result<(), LoadError> {
        use SectionKind as S;
        for (i, e) in self.imports.iter().enumerate() {
            let at = |f| self.field_at(S::Imports, IMPORT_ENTRY_LEN, i, f);
            self.checked_name(e, 0, at(0))?;
            self.checked_name(e, 8, at(8))?;
        }

        let mut prev_end = 0u32;
        for (i, e) in self.functions.iter().enumerate() {
            let at = |f| self.field_at(S::Functions, FUNCTION_ENTRY_LEN, i, f);
            self.checked_name(e, 0, at(0))?;
            let f = self.decode_function(e).ok_or(err(at(0), K::Truncated))?;
            if f.code_len == 0 {
                return Err(err(at(12), K::EmptyFunction));
            }
            if !self.inside_code(f.code_offset, f.code_len) {
                return Err(err(at(8), K::OutsideCode));
            }
            if f.code_offset < prev_end {
                return Err(err(at(8), K::NotSorted(S::Functions)));
            }
            prev_end = f.code_offset.saturating_add(f.code_len);
        }

        let mut prev_name: Option<&[u8]> = None;
        for (i, e) in self.exports.iter().enumerate() {
            let at = |f| self.field_at(S::Exports, EXPORT_ENTRY_LEN, i, f);
            let name = self.checked_name(e, 0, at(0))?.as_bytes();
            if prev_name.is_some_and(|p| p >= name) {
                return Err(err(at(0), K::NotSorted(S::Exports)));
            }
            prev_name = Some(name);
            let offset = u32_at(e, 8).unwrap_or(u32::MAX);
            if self.function_index_at(offset).is_none() {
                return Err(err(at(8), K::ExportNotAFunction));
            }
            let ret = byte_at(e, 12);
            if ret != RET_NONE && ScalarType::from_code(ret).is_none() {
                return Err(err(at(12), K::BadType(ret)));
            }
            let n = byte_at(e, 13);
            if usize::from(n) > MAX_PARAMS {
                return Err(err(at(13), K::TooManyParams(n)));
            }
            for p in 0..MAX_PARAMS {
                let code = byte_at(e, p.saturating_add(14));
                let ok = if p < usize::from(n) {
                    ValType::from_code(code).is_some()
                } else {
                    code == 0
                };
                if !ok {
                    return Err(err(at(p.saturating_add(14)), K::BadType(code)));
                }
            }
        }

        for (i, e) in self.trap_sites.iter().enumerate() {
            let at = |f| self.field_at(S::TrapSites, TRAP_SITE_ENTRY_LEN, i, f);
            let kind = byte_at(e, 0);
            if TrapKind::from_code(kind).is_none() {
                return Err(err(at(0), K::BadTrapKind(kind)));
            }
            zeros(e, 1, 4).map_err(|_| err(at(1), K::NonZeroReserved))?;
            if !self.inside_code(u32_at(e, 4).unwrap_or(u32::MAX), 1) {
                return Err(err(at(4), K::OutsideCode));
            }
        }

        let mut prev: Option<u32> = None;
        for (i, e) in self.source_map.iter().enumerate() {
            let at = |f| self.field_at(S::SourceMap, SOURCE_MAP_ENTRY_LEN, i, f);
            let loc = decode_loc(e);
            if !self.inside_code(loc.code_offset, 1) {
                return Err(err(at(0), K::OutsideCode));
            }
            if prev.is_some_and(|p| p >= loc.code_offset) {
                return Err(err(at(0), K::NotSorted(S::SourceMap)));
            }
            prev = Some(loc.code_offset);
            if (loc.line == 0) != (loc.col == 0) {
                return Err(err(at(4), K::BadLocation));
            }
        }
        self.validate_statics()
    }

    /// STATICS: names sorted (so distinct), each static inside the data
    /// region with a size that matches its element type and count and a
    /// naturally aligned offset, and no two sharing a byte. The pairwise
    /// disjointness check is quadratic in at most [`MAX_STATICS`] entries.
    fn validate_statics(&self) -> Result<(), LoadError> {
        use SectionKind as S;
        let data_size = self.layout.data_size;
        let mut prev_name: Option<&[u8]> = None;
        for (i, e) in self.statics.iter().enumerate() {
            let at = |f| self.field_at(S::Statics, STATIC_ENTRY_LEN, i, f);
            let name = self.checked_name(e, 0, at(0))?.as_bytes();
            if prev_name.is_some_and(|p| p >= name) {
                return Err(err(at(0), K::NotSorted(S::Statics)));
            }
            prev_name = Some(name);
            let (offset, size) = static_extent(e);
            if offset.checked_add(size).is_none_or(|end| end > data_size) {
                return Err(err(at(8), K::OutsideData));
            }
            let code = byte_at(e, 16);
            zeros(e, 17, 20).map_err(|_| err(at(17), K::NonZeroReserved))?;
            let count = u32_at(e, 20).unwrap_or(u32::MAX);
            let shape_ok = match code {
                0 => count == 0,
                c => {
                    let t = ScalarType::from_code(c).ok_or(err(at(16), K::BadType(c)))?;
                    count.checked_mul(t.size()) == Some(size)
                        && offset.checked_rem(t.size()) == Some(0)
                }
            };
            if !shape_ok {
                return Err(err(at(12), K::BadStaticShape));
            }
            for other in self.statics.get(..i).unwrap_or(&[]) {
                let (o, n) = static_extent(other);
                // Both end inside the data region (checked), so no overflow.
                let disjoint = offset.saturating_add(size) <= o || o.saturating_add(n) <= offset;
                if !disjoint && size > 0 && n > 0 {
                    return Err(err(at(8), K::OverlappingStatics));
                }
            }
        }
        Ok(())
    }

    fn decode_function(&self, e: &[u8]) -> Option<Function<'a>> {
        Some(Function {
            name: self.name(e, 0)?,
            code_offset: u32_at(e, 8)?,
            code_len: u32_at(e, 12)?,
            stack_bound: u32_at(e, 16)?,
        })
    }

    /// The index of the function starting exactly at `code_offset`.
    pub fn function_index_at(&self, code_offset: u32) -> Option<usize> {
        self.functions
            .binary_search_by_key(&code_offset, |e| u32_at(e, 8).unwrap_or(0))
            .ok()
    }

    // ---- accessors (all entries were validated by `parse`) ----

    /// The content hash (XXH64), usable as the plugin's identity.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Where code, rodata and slots go in the image, and the data size.
    pub fn layout(&self) -> ImageLayout {
        self.layout
    }

    /// Machine code.
    pub fn code(&self) -> &'a [u8] {
        self.code
    }

    /// Read-only data.
    pub fn rodata(&self) -> &'a [u8] {
        self.rodata
    }

    /// Initial bytes of the writable data region (the rest of it is zero).
    pub fn data_init(&self) -> &'a [u8] {
        self.data_init
    }

    /// Number of imports (and of import slots).
    pub fn import_count(&self) -> usize {
        self.imports.len()
    }

    /// Import slot `slot`.
    pub fn import(&self, slot: usize) -> Option<Import<'a>> {
        let e = self.imports.get(slot)?;
        Some(Import {
            slot: u32::try_from(slot).ok()?,
            module: self.name(e, 0)?,
            name: self.name(e, 8)?,
            sig_hash: u64_at(e, 16)?,
        })
    }

    /// Imports in slot order.
    pub fn imports(&self) -> impl Iterator<Item = Import<'a>> + '_ {
        (0..self.imports.len()).filter_map(|i| self.import(i))
    }

    /// Byte offset of import `slot`'s entry in the object (for messages).
    pub fn import_entry_at(&self, slot: usize) -> usize {
        self.field_at(SectionKind::Imports, IMPORT_ENTRY_LEN, slot, 0)
    }

    fn decode_export(&self, e: &[u8; EXPORT_ENTRY_LEN]) -> Option<Export<'a>> {
        let mut params = [ValType::Scalar(ScalarType::U8); MAX_PARAMS];
        let n = e[13];
        for (i, p) in params.iter_mut().enumerate().take(usize::from(n)) {
            *p = ValType::from_code(byte_at(e, i.checked_add(14)?))?;
        }
        let ret = match e[12] {
            RET_NONE => None,
            c => Some(ScalarType::from_code(c)?),
        };
        Some(Export {
            name: self.name(e, 0)?,
            code_offset: u32_at(e, 8)?,
            signature: Signature {
                len: n,
                params,
                ret,
            },
        })
    }

    /// Exports, sorted by name.
    pub fn exports(&self) -> impl Iterator<Item = Export<'a>> + '_ {
        self.exports.iter().filter_map(|e| self.decode_export(e))
    }

    /// Each export's entry offset and parameter count, in the order of
    /// [`Object::exports`], read straight from the entries without decoding
    /// names and types (all the verifier needs of them). `parse` validated
    /// every entry, so this has one item per item of `exports`, with
    /// `params` equal to its `signature.params().len()` (0 for a count past
    /// [`MAX_PARAMS`], as `params()` gives, which `parse` refuses anyway).
    pub fn export_sites(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.exports.iter().map(|e| {
            let n = usize::from(byte_at(e, 13));
            let params = if n <= MAX_PARAMS { n } else { 0 };
            (u32_at(e, 8).unwrap_or(u32::MAX), params)
        })
    }

    /// The export called `name` (binary search).
    pub fn export(&self, name: &str) -> Option<Export<'a>> {
        let i = self
            .exports
            .binary_search_by(|e| self.string(e, 0).unwrap_or(&[]).cmp(name.as_bytes()))
            .ok()?;
        self.decode_export(self.exports.get(i)?)
    }

    /// Functions, sorted by code offset.
    pub fn functions(&self) -> impl Iterator<Item = Function<'a>> + '_ {
        self.functions
            .iter()
            .filter_map(|e| self.decode_function(e))
    }

    /// Function `i` in code order.
    pub fn function(&self, i: usize) -> Option<Function<'a>> {
        self.decode_function(self.functions.get(i)?)
    }

    /// The function whose code contains `code_offset`.
    pub fn function_containing(&self, code_offset: u32) -> Option<Function<'a>> {
        let i = self
            .functions
            .partition_point(|e| u32_at(e, 8).unwrap_or(0) <= code_offset);
        let f = self.decode_function(self.functions.get(i.checked_sub(1)?)?)?;
        (code_offset.checked_sub(f.code_offset)? < f.code_len).then_some(f)
    }

    /// Number of trap sites.
    pub fn trap_site_count(&self) -> usize {
        self.trap_sites.len()
    }

    /// Trap site `k`, as written to the context block by the trap stub.
    pub fn trap_site(&self, k: u64) -> Option<TrapSite> {
        let e = self.trap_sites.get(usize::try_from(k).ok()?)?;
        Some(TrapSite {
            kind: TrapKind::from_code(e[0])?,
            code_offset: u32_at(e, 4)?,
        })
    }

    /// Trap sites in index order.
    pub fn trap_sites(&self) -> impl Iterator<Item = TrapSite> + '_ {
        (0..self.trap_sites.len()).filter_map(|k| self.trap_site(k as u64))
    }

    fn decode_static(&self, e: &[u8]) -> Option<StaticVar<'a>> {
        let (offset, size) = static_extent(e);
        Some(StaticVar {
            name: self.name(e, 0)?,
            offset,
            size,
            elem: ScalarType::from_code(byte_at(e, 16)),
            count: u32_at(e, 20)?,
        })
    }

    /// The statics STATICS lists, sorted by name (empty without the section).
    pub fn statics(&self) -> impl Iterator<Item = StaticVar<'a>> + '_ {
        self.statics.iter().filter_map(|e| self.decode_static(e))
    }

    /// The static called `name` (binary search).
    pub fn static_var(&self, name: &str) -> Option<StaticVar<'a>> {
        let i = self
            .statics
            .binary_search_by(|e| self.string(e, 0).unwrap_or(&[]).cmp(name.as_bytes()))
            .ok()?;
        self.decode_static(self.statics.get(i)?)
    }

    /// Name of the source file the source map refers to ("" if unknown).
    pub fn source_file(&self) -> &'a str {
        self.source_file
    }

    /// Source-map entries, sorted by code offset.
    pub fn source_map(&self) -> impl Iterator<Item = SourceLoc> + 'a {
        self.source_map.iter().map(decode_loc)
    }

    /// (line, column) of the code at `code_offset`: the last entry at or
    /// before it, unless that entry says "no location" or the offset is past CODE.
    pub fn location_of(&self, code_offset: u32) -> Option<(u32, u32)> {
        if code_offset >= self.layout.code_len {
            return None;
        }
        let i = self
            .source_map
            .partition_point(|e| decode_loc(e).code_offset <= code_offset);
        let loc = decode_loc(self.source_map.get(i.checked_sub(1)?)?);
        (loc.line != 0).then_some((loc.line, loc.col))
    }
}

/// (offset, size) of a STATICS entry.
fn static_extent(e: &[u8]) -> (u32, u32) {
    (
        u32_at(e, 8).unwrap_or(u32::MAX),
        u32_at(e, 12).unwrap_or(u32::MAX),
    )
}

fn decode_loc(e: &[u8; SOURCE_MAP_ENTRY_LEN]) -> SourceLoc {
    SourceLoc {
        code_offset: u32_at(e, 0).unwrap_or(0),
        line: u32_at(e, 4).unwrap_or(0),
        col: u32_at(e, 8).unwrap_or(0),
    }
}
