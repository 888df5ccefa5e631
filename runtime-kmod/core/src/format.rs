//! The `.kpo` format v1 as constants and small types: header and entry layouts,
//! section kinds, value-type and trap codes, limits, the content hash and the
//! image layout rule. The writer in kplc and the loader both use these, so the
//! format is defined once (byte-level prose: book/src/reference/object-format.md).

/// First four bytes of every object.
pub const MAGIC: [u8; 4] = *b"KPO\0";
/// The format version this crate reads and kplc writes.
pub const VERSION: u16 = 1;
/// Length of the fixed header; the section table follows it.
pub const HEADER_LEN: usize = 32;
/// Offset of the content hash in the header.
pub const HASH_OFFSET: usize = 8;
/// The hash covers the bytes from here (just after the hash field) to the end.
pub const HASHED_FROM: usize = 16;
/// Offset of the total length (u32) in the header.
pub const TOTAL_LEN_OFFSET: usize = 16;
/// Offset of the section count (u32) in the header.
pub const SECTION_COUNT_OFFSET: usize = 20;
/// Offset of the writable data size (u32) in the header.
pub const DATA_SIZE_OFFSET: usize = 24;
/// Offset of the reserved u32 (must be 0) in the header.
pub const RESERVED_OFFSET: usize = 28;
/// One section-table entry: kind u32, offset u32, length u32.
pub const SECTION_ENTRY_LEN: usize = 12;
/// Every section starts at a multiple of this, and the file ends at one.
pub const SECTION_ALIGN: usize = 8;

/// IMPORTS entry: module (off u32, len u32), name (off u32, len u32), signature hash u64.
pub const IMPORT_ENTRY_LEN: usize = 24;
/// EXPORTS entry: name (off, len), code offset u32, return type u8, param count u8, 6 param types.
pub const EXPORT_ENTRY_LEN: usize = 20;
/// FUNCTIONS entry: name (off, len), code offset u32, code length u32, stack bound u32.
pub const FUNCTION_ENTRY_LEN: usize = 20;
/// TRAP_SITES entry: kind u8, 3 zero bytes, code offset u32.
pub const TRAP_SITE_ENTRY_LEN: usize = 8;
/// SOURCE_MAP starts with the source file name (off u32, len u32)...
pub const SOURCE_MAP_HEADER_LEN: usize = 8;
/// ...followed by entries: code offset u32, line u32, column u32.
pub const SOURCE_MAP_ENTRY_LEN: usize = 12;

/// STATICS entry: name (off, len), data offset u32, size u32, element type
/// u8, 3 zero bytes, element count u32.
pub const STATIC_ENTRY_LEN: usize = 24;

/// Largest object the loader accepts.
pub const MAX_OBJECT_LEN: usize = 16 << 20;
/// Largest CODE section (the language's code-size limit).
pub const MAX_CODE_LEN: u32 = 256 << 10;
/// Largest RODATA section (constants are limited to 64 KiB; strings come on top).
pub const MAX_RODATA_LEN: u32 = 1 << 20;
/// Largest writable data region (statics are limited to 64 KiB plus alignment).
pub const MAX_DATA_SIZE: u32 = 1 << 20;
/// Entries of STATICS (the language's limit on statics, E0506): the
/// loader's disjointness check compares every pair.
pub const MAX_STATICS: usize = 1024;
/// Parameters of a function (the language's limit, E0507).
pub const MAX_PARAMS: usize = 6;

/// Section kinds, in the order they must appear in the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum SectionKind {
    /// Machine code.
    Code = 1,
    /// Read-only data: constant arrays and string bytes.
    Rodata = 2,
    /// Initial bytes of the writable data region.
    DataInit = 3,
    /// Imports; the slot index of an import is its position.
    Imports = 4,
    /// Exports, sorted by name.
    Exports = 5,
    /// Functions, sorted by code offset.
    Functions = 6,
    /// Trap sites; site `k` is entry `k`.
    TrapSites = 7,
    /// Source file name and code offset → line/column entries.
    SourceMap = 8,
    /// UTF-8 bytes referenced by (offset, length) from the other sections.
    Strings = 9,
    /// The statics by name: where each lives in the data region and its
    /// type, sorted by name.
    Statics = 10,
}

/// Number of section kinds in v1.
pub const SECTION_KINDS: usize = 10;

impl SectionKind {
    /// The kind with this code, if it exists in v1.
    pub const fn from_u32(code: u32) -> Option<SectionKind> {
        Some(match code {
            1 => SectionKind::Code,
            2 => SectionKind::Rodata,
            3 => SectionKind::DataInit,
            4 => SectionKind::Imports,
            5 => SectionKind::Exports,
            6 => SectionKind::Functions,
            7 => SectionKind::TrapSites,
            8 => SectionKind::SourceMap,
            9 => SectionKind::Strings,
            10 => SectionKind::Statics,
            _ => return None,
        })
    }

    /// Name as written in the format documentation.
    pub const fn name(self) -> &'static str {
        match self {
            SectionKind::Code => "CODE",
            SectionKind::Rodata => "RODATA",
            SectionKind::DataInit => "DATA_INIT",
            SectionKind::Imports => "IMPORTS",
            SectionKind::Exports => "EXPORTS",
            SectionKind::Functions => "FUNCTIONS",
            SectionKind::TrapSites => "TRAP_SITES",
            SectionKind::SourceMap => "SOURCE_MAP",
            SectionKind::Strings => "STRINGS",
            SectionKind::Statics => "STATICS",
        }
    }
}

/// A scalar type: an integer type or `bool`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum ScalarType {
    U8 = 1,
    U16 = 2,
    U32 = 3,
    U64 = 4,
    I8 = 5,
    I16 = 6,
    I32 = 7,
    I64 = 8,
    Bool = 9,
}

impl ScalarType {
    /// The scalar type with this code.
    pub const fn from_code(code: u8) -> Option<ScalarType> {
        Some(match code {
            1 => ScalarType::U8,
            2 => ScalarType::U16,
            3 => ScalarType::U32,
            4 => ScalarType::U64,
            5 => ScalarType::I8,
            6 => ScalarType::I16,
            7 => ScalarType::I32,
            8 => ScalarType::I64,
            9 => ScalarType::Bool,
            _ => return None,
        })
    }

    /// Size of a value in bytes (also the element size of a slice).
    pub const fn size(self) -> u32 {
        match self {
            ScalarType::U8 | ScalarType::I8 | ScalarType::Bool => 1,
            ScalarType::U16 | ScalarType::I16 => 2,
            ScalarType::U32 | ScalarType::I32 => 4,
            ScalarType::U64 | ScalarType::I64 => 8,
        }
    }

    /// KPL spelling.
    pub const fn name(self) -> &'static str {
        match self {
            ScalarType::U8 => "u8",
            ScalarType::U16 => "u16",
            ScalarType::U32 => "u32",
            ScalarType::U64 => "u64",
            ScalarType::I8 => "i8",
            ScalarType::I16 => "i16",
            ScalarType::I32 => "i32",
            ScalarType::I64 => "i64",
            ScalarType::Bool => "bool",
        }
    }
}

/// Type code flag of a read-only slice `[]T` (low nibble: the element type).
pub const SLICE_RO: u8 = 0x10;
/// Type code flag of a writable slice `[]mut T`.
pub const SLICE_RW: u8 = 0x20;
/// Return-type code of a function without a return value.
pub const RET_NONE: u8 = 0;

/// The type of an export parameter: a scalar, or a slice of an integer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// An integer or `bool`, passed in a register.
    Scalar(ScalarType),
    /// `[]T` or `[]mut T` (T an integer type), passed as a handle.
    Slice {
        /// Element type (never `Bool`).
        elem: ScalarType,
        /// `[]mut T`.
        writable: bool,
    },
}

impl ValType {
    /// One-byte code: the scalar's code, or `SLICE_RO`/`SLICE_RW` | element code.
    pub const fn code(self) -> u8 {
        match self {
            ValType::Scalar(s) => s as u8,
            ValType::Slice { elem, writable } => {
                (if writable { SLICE_RW } else { SLICE_RO }) | elem as u8
            }
        }
    }

    /// Decodes a parameter type code; `None` for 0, unknown codes and `[]bool`.
    pub const fn from_code(code: u8) -> Option<ValType> {
        let writable = match code & 0xF0 {
            0 => {
                return match ScalarType::from_code(code) {
                    Some(s) => Some(ValType::Scalar(s)),
                    None => None,
                };
            }
            SLICE_RO => false,
            SLICE_RW => true,
            _ => return None,
        };
        match ScalarType::from_code(code & 0x0F) {
            Some(ScalarType::Bool) | None => None,
            Some(elem) => Some(ValType::Slice { elem, writable }),
        }
    }
}

/// Why an invocation trapped (the codes of book/src/reference/traps.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum TrapKind {
    DivByZero = 1,
    Overflow = 2,
    Bounds = 3,
    Budget = 4,
    Abort = 5,
}

impl TrapKind {
    /// The trap kind with this code.
    pub const fn from_code(code: u8) -> Option<TrapKind> {
        Some(match code {
            1 => TrapKind::DivByZero,
            2 => TrapKind::Overflow,
            3 => TrapKind::Bounds,
            4 => TrapKind::Budget,
            5 => TrapKind::Abort,
            _ => return None,
        })
    }

    /// Name as in the language reference.
    pub const fn name(self) -> &'static str {
        match self {
            TrapKind::DivByZero => "DivByZero",
            TrapKind::Overflow => "Overflow",
            TrapKind::Bounds => "Bounds",
            TrapKind::Budget => "Budget",
            TrapKind::Abort => "Abort",
        }
    }

    /// What happened, in words for a trap report.
    pub const fn describe(self) -> &'static str {
        match self {
            TrapKind::DivByZero => "division by zero",
            TrapKind::Overflow => "signed division overflow (MIN / -1)",
            TrapKind::Bounds => "index out of bounds",
            TrapKind::Budget => "time budget exhausted",
            TrapKind::Abort => "abort",
        }
    }
}

impl core::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn xxh_round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn xxh_merge(acc: u64, v: u64) -> u64 {
    (acc ^ xxh_round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

/// XXH64 with seed 0: the content hash of an object, over bytes
/// `HASHED_FROM..`. Chosen over FNV-1a (the import signature hash) because it
/// reads 32 bytes per step instead of one — about 10× faster, which matters
/// when load time is counted in microseconds — while being just as standard:
/// the kernel has `xxh64()` and `xxhsum -H1` prints it.
pub fn xxh64(bytes: &[u8]) -> u64 {
    let (stripes, rest) = bytes.as_chunks::<32>();
    let mut acc = if stripes.is_empty() {
        P5
    } else {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        for stripe in stripes {
            let (lanes, _) = stripe.as_chunks::<8>();
            for (v, lane) in v.iter_mut().zip(lanes) {
                *v = xxh_round(*v, u64::from_le_bytes(*lane));
            }
        }
        let [v1, v2, v3, v4] = v;
        let mut acc = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
        for v in [v1, v2, v3, v4] {
            acc = xxh_merge(acc, v);
        }
        acc
    };
    acc = acc.wrapping_add(bytes.len() as u64);
    let (words, rest) = rest.as_chunks::<8>();
    for w in words {
        acc = (acc ^ xxh_round(0, u64::from_le_bytes(*w)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
    }
    let rest = match rest.split_first_chunk::<4>() {
        Some((w, rest)) => {
            let w = u64::from(u32::from_le_bytes(*w));
            acc = (acc ^ w.wrapping_mul(P1))
                .rotate_left(23)
                .wrapping_mul(P2)
                .wrapping_add(P3);
            rest
        }
        None => rest,
    };
    for &b in rest {
        acc = (acc ^ u64::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    acc ^= acc >> 33;
    acc = acc.wrapping_mul(P2);
    acc ^= acc >> 29;
    acc = acc.wrapping_mul(P3);
    acc ^ (acc >> 32)
}

/// Alignment of RODATA in the image (relative to the image base, which the
/// runtime places at least this aligned — in practice page-aligned).
pub const RODATA_ALIGN: u32 = 16;
/// Alignment of the import-slot table in the image.
pub const SLOTS_ALIGN: u32 = 8;
/// Size of one import slot (a 64-bit function address).
pub const SLOT_LEN: u32 = 8;

/// Where each part of a loaded plugin lives. The executable image is CODE at
/// offset 0, RODATA at `rodata_offset`, then the import slots; the writable
/// data region (statics) is a separate allocation of `data_size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageLayout {
    /// CODE occupies image bytes `0..code_len`.
    pub code_len: u32,
    /// `align_up(code_len, 16)`.
    pub rodata_offset: u32,
    /// Length of RODATA.
    pub rodata_len: u32,
    /// `align_up(rodata_offset + rodata_len, 8)`.
    pub slots_offset: u32,
    /// Number of import slots (one per import).
    pub slot_count: u32,
    /// `slots_offset + 8 * slot_count`: bytes of the image.
    pub image_len: u32,
    /// Bytes of the writable data region (DATA_INIT, then zeros).
    pub data_size: u32,
}

impl ImageLayout {
    /// Image offset of import slot `k`: code at offset `o` reaches it with
    /// `call [rip + slot_offset(k) - end_of_instruction(o)]`.
    pub const fn slot_offset(&self, k: u32) -> Option<u32> {
        if k >= self.slot_count {
            return None;
        }
        // Cannot overflow: slots_offset + 8 * slot_count was computed checked.
        Some(self.slots_offset.wrapping_add(k.wrapping_mul(SLOT_LEN)))
    }

    /// Length of the image's read-only part, `image_len − rodata_offset`:
    /// RODATA, padding and the import slots, which a runtime maps apart
    /// from the code and never executable (see `write_code`, `write_ro`).
    pub const fn ro_len(&self) -> u32 {
        // Cannot overflow: image_len >= rodata_offset by construction.
        self.image_len.saturating_sub(self.rodata_offset)
    }
}

/// The image layout rule of format v1. The code generator calls it with the
/// final code length to compute RIP-relative displacements to RODATA and the
/// slots; the loader calls it for the parsed object, so both agree by
/// construction. `None` if a size does not fit in u32.
pub const fn image_layout(
    code_len: u32,
    rodata_len: u32,
    import_count: u32,
    data_size: u32,
) -> Option<ImageLayout> {
    let Some(rodata_offset) = code_len.checked_next_multiple_of(RODATA_ALIGN) else {
        return None;
    };
    let Some(rodata_end) = rodata_offset.checked_add(rodata_len) else {
        return None;
    };
    let Some(slots_offset) = rodata_end.checked_next_multiple_of(SLOTS_ALIGN) else {
        return None;
    };
    let Some(slots_len) = import_count.checked_mul(SLOT_LEN) else {
        return None;
    };
    let Some(image_len) = slots_offset.checked_add(slots_len) else {
        return None;
    };
    Some(ImageLayout {
        code_len,
        rodata_offset,
        rodata_len,
        slots_offset,
        slot_count: import_count,
        image_len,
        data_size,
    })
}

/// True if `s` is a KPL identifier (`[A-Za-z_][A-Za-z0-9_]*`). Names in an
/// object must be: it keeps them printable in a kernel log line as they are.
pub const fn is_identifier(s: &[u8]) -> bool {
    let [first, rest @ ..] = s else {
        return false;
    };
    let mut rest = rest;
    if !(first.is_ascii_alphabetic() || *first == b'_') {
        return false;
    }
    while let [b, tail @ ..] = rest {
        if !(b.is_ascii_alphanumeric() || *b == b'_') {
            return false;
        }
        rest = tail;
    }
    true
}
