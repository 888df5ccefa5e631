//! Why an object was refused: a [`LoadError`] is the byte offset of the
//! offending field plus a small [`LoadErrorKind`]; a [`LinkError`] names the
//! import that failed. Both print with `core::fmt` only.

use core::fmt;

use crate::format::SectionKind;

/// An object failed to parse; `at` is the byte offset of the offending field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Byte offset in the object.
    pub at: usize,
    /// What is wrong there.
    pub kind: LoadErrorKind,
}

/// What is wrong with an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// The bytes end before the header, the section table or a section does.
    Truncated,
    /// The first four bytes are not `KPO\0`.
    BadMagic,
    /// A version this loader does not read.
    UnsupportedVersion(u16),
    /// Flag bits that v1 does not define.
    UnknownFlags(u16),
    /// The header's total length differs from the number of bytes given.
    LengthMismatch {
        /// Total length in the header.
        declared: u32,
        /// Bytes handed to the parser.
        actual: usize,
    },
    /// Bytes after the end of the last section (and its padding).
    TrailingBytes,
    /// The content hash does not match the bytes.
    HashMismatch {
        /// Hash in the header.
        stored: u64,
        /// XXH64 of the bytes after the hash field.
        computed: u64,
    },
    /// A reserved field or padding byte is not zero.
    NonZeroReserved,
    /// A section kind v1 does not define.
    UnknownSection(u32),
    /// Section kinds are not strictly increasing in the table.
    SectionOrder(SectionKind),
    /// A section of length 0 is listed (empty sections are omitted).
    EmptySection(SectionKind),
    /// A section does not start where the canonical placement puts it.
    SectionPlacement {
        /// The section.
        kind: SectionKind,
        /// Where it must start.
        expected: usize,
    },
    /// A section's length is not a whole number of entries.
    BadSectionLength(SectionKind),
    /// A size exceeds a limit of the format.
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// DATA_INIT is longer than the data size in the header.
    DataInitTooLong,
    /// A string reference points outside STRINGS.
    StringOutOfBounds,
    /// A name is not a KPL identifier.
    BadName,
    /// The source file name is not UTF-8 or contains control characters.
    BadFileName,
    /// A code offset (or range) is not inside CODE.
    OutsideCode,
    /// A function has length 0.
    EmptyFunction,
    /// Entries that must be sorted (and distinct, or not overlapping) are not.
    NotSorted(SectionKind),
    /// An export's code offset is not the start of a function.
    ExportNotAFunction,
    /// A type code that does not exist, or is not allowed in that position.
    BadType(u8),
    /// More parameters than the language allows.
    TooManyParams(u8),
    /// A trap kind code outside 1..=5.
    BadTrapKind(u8),
    /// A source location with line 0 but column not 0, or column 0 but line not 0.
    BadLocation,
    /// A static's bytes are not inside the data region.
    OutsideData,
    /// Two statics share bytes of the data region.
    OverlappingStatics,
    /// A static's size does not match its element type and count, or a
    /// scalar static (or element) is not naturally aligned.
    BadStaticShape,
}

impl fmt::Display for LoadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LoadErrorKind as K;
        match *self {
            K::Truncated => f.write_str("object is truncated"),
            K::BadMagic => f.write_str("not a .kpo object (bad magic)"),
            K::UnsupportedVersion(v) => write!(f, "unsupported format version {v} (expected 1)"),
            K::UnknownFlags(v) => write!(f, "unknown flags {v:#06x}"),
            K::LengthMismatch { declared, actual } => {
                write!(f, "header says {declared} bytes, object has {actual}")
            }
            K::TrailingBytes => f.write_str("bytes after the last section"),
            K::HashMismatch { stored, computed } => {
                write!(
                    f,
                    "content hash {stored:#018x} does not match the bytes ({computed:#018x})"
                )
            }
            K::NonZeroReserved => f.write_str("reserved field or padding is not zero"),
            K::UnknownSection(k) => write!(f, "unknown section kind {k}"),
            K::SectionOrder(k) => write!(f, "section {} out of order or repeated", k.name()),
            K::EmptySection(k) => write!(f, "section {} is empty (omit it)", k.name()),
            K::SectionPlacement { kind, expected } => {
                write!(
                    f,
                    "section {} must start at byte {expected:#x}",
                    kind.name()
                )
            }
            K::BadSectionLength(k) => {
                write!(f, "section {} is not a whole number of entries", k.name())
            }
            K::TooLarge { what, limit } => write!(f, "{what} exceeds the limit of {limit}"),
            K::DataInitTooLong => f.write_str("DATA_INIT is longer than the data size"),
            K::StringOutOfBounds => f.write_str("string reference outside STRINGS"),
            K::BadName => f.write_str("name is not an identifier"),
            K::BadFileName => f.write_str("source file name is not printable UTF-8"),
            K::OutsideCode => f.write_str("code offset outside CODE"),
            K::EmptyFunction => f.write_str("function of length 0"),
            K::NotSorted(k) => write!(
                f,
                "{} entries are not sorted, distinct and disjoint",
                k.name()
            ),
            K::ExportNotAFunction => f.write_str("export does not start at a function"),
            K::BadType(c) => write!(f, "invalid type code {c:#04x}"),
            K::TooManyParams(n) => write!(f, "{n} parameters (at most 6)"),
            K::BadTrapKind(c) => write!(f, "invalid trap kind {c}"),
            K::BadLocation => f.write_str("invalid source location"),
            K::OutsideData => f.write_str("static outside the data region"),
            K::OverlappingStatics => f.write_str("two statics overlap"),
            K::BadStaticShape => {
                f.write_str("static size does not match its type, or it is misaligned")
            }
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {:#x}: {}", self.at, self.kind)
    }
}

/// Linking or laying out a parsed object failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError<'a> {
    /// The host has no import with this module and name.
    Missing {
        /// Slot index of the import.
        slot: u32,
        /// Byte offset of the import's entry in the object.
        at: usize,
        /// Import module.
        module: &'a str,
        /// Import name.
        name: &'a str,
    },
    /// The host has the import, with another signature.
    HashMismatch {
        /// Slot index of the import.
        slot: u32,
        /// Byte offset of the import's entry in the object.
        at: usize,
        /// Import module.
        module: &'a str,
        /// Import name.
        name: &'a str,
        /// Signature hash the plugin was compiled against.
        object_hash: u64,
        /// Signature hash of the host's function.
        host_hash: u64,
    },
    /// A caller-provided buffer is too small.
    BufferTooSmall {
        /// Which buffer.
        what: &'static str,
        /// Length needed.
        needed: usize,
        /// Length given.
        got: usize,
    },
    /// CODE cannot be placed apart from its read-only part: an instruction
    /// with a RIP-relative operand cannot be relocated (see `write_code`).
    Relocation {
        /// Code offset of the instruction.
        code_offset: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for LinkError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LinkError::Missing {
                slot,
                at,
                module,
                name,
            } => write!(
                f,
                "byte {at:#x}: import {slot} `{module}::{name}` is not provided by the host"
            ),
            LinkError::HashMismatch {
                slot,
                at,
                module,
                name,
                object_hash,
                host_hash,
            } => write!(
                f,
                "byte {at:#x}: import {slot} `{module}::{name}` has signature hash {object_hash:#018x}, \
                 the host's is {host_hash:#018x} (compiled against another declaration)"
            ),
            LinkError::BufferTooSmall { what, needed, got } => {
                write!(f, "{what} buffer holds {got}, needs {needed}")
            }
            LinkError::Relocation {
                code_offset,
                reason,
            } => write!(f, "code offset {code_offset:#x}: cannot relocate: {reason}"),
        }
    }
}
