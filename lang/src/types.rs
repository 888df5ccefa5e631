//! Semantic types and their memory layout.

use std::fmt;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntTy {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}

impl IntTy {
    pub const ALL: [IntTy; 8] = [
        IntTy::U8,
        IntTy::U16,
        IntTy::U32,
        IntTy::U64,
        IntTy::I8,
        IntTy::I16,
        IntTy::I32,
        IntTy::I64,
    ];

    pub fn bits(self) -> u32 {
        match self {
            IntTy::U8 | IntTy::I8 => 8,
            IntTy::U16 | IntTy::I16 => 16,
            IntTy::U32 | IntTy::I32 => 32,
            IntTy::U64 | IntTy::I64 => 64,
        }
    }

    pub fn signed(self) -> bool {
        matches!(self, IntTy::I8 | IntTy::I16 | IntTy::I32 | IntTy::I64)
    }

    pub fn min(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.bits() - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self.signed() {
            (1i128 << (self.bits() - 1)) - 1
        } else {
            (1i128 << self.bits()) - 1
        }
    }

    /// Reduces `v` modulo 2^bits into the type's range (two's complement wrap).
    pub fn wrap(self, v: i128) -> i128 {
        let bits = self.bits();
        let modulus = 1i128 << bits;
        let mut r = v.rem_euclid(modulus);
        if self.signed() && r > self.max() {
            r -= modulus;
        }
        r
    }

    pub fn name(self) -> &'static str {
        match self {
            IntTy::U8 => "u8",
            IntTy::U16 => "u16",
            IntTy::U32 => "u32",
            IntTy::U64 => "u64",
            IntTy::I8 => "i8",
            IntTy::I16 => "i16",
            IntTy::I32 => "i32",
            IntTy::I64 => "i64",
        }
    }

    pub fn from_name(name: &str) -> Option<IntTy> {
        IntTy::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Index of a struct definition in [`crate::check::Program::structs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StructId(pub u32);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Bool,
    Int(IntTy),
    /// The element is shared: the checker records a type for every
    /// expression, and a deep copy per nested array literal made
    /// `[[[…]]]` quadratic in its depth.
    Array(Arc<Ty>, u64),
    Struct(StructId, String),
    Slice {
        mutable: bool,
        elem: IntTy,
    },
    /// Only as an import parameter: a string literal.
    Str,
    /// The "type" of a call to a function that returns nothing.
    Unit,
    /// Something already reported; compatible with everything.
    Error,
}

impl Ty {
    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Int(_))
    }

    pub fn as_int(&self) -> Option<IntTy> {
        match self {
            Ty::Int(t) => Some(*t),
            _ => None,
        }
    }

    /// Whether a value of type `self` may be used where `want` is expected.
    /// The one implicit conversion: `[]mut T` is accepted as `[]T`.
    pub fn fits(&self, want: &Ty) -> bool {
        match (self, want) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (
                Ty::Slice { elem: a, .. },
                Ty::Slice {
                    mutable: false,
                    elem: b,
                },
            ) => a == b,
            _ => self == want,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Bool => f.write_str("bool"),
            Ty::Int(t) => f.write_str(t.name()),
            Ty::Array(elem, n) => write!(f, "[{elem}; {n}]"),
            Ty::Struct(_, name) => f.write_str(name),
            Ty::Slice { mutable, elem } => {
                write!(f, "[]{}{}", if *mutable { "mut " } else { "" }, elem.name())
            }
            Ty::Str => f.write_str("str"),
            Ty::Unit => f.write_str("()"),
            Ty::Error => f.write_str("{unknown}"),
        }
    }
}

/// Size and alignment in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub size: u64,
    pub align: u64,
}

impl Layout {
    pub fn scalar(size: u64) -> Layout {
        Layout { size, align: size }
    }
}

pub fn round_up(n: u64, align: u64) -> u64 {
    n.div_ceil(align.max(1)).saturating_mul(align.max(1))
}
