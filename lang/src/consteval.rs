//! Compile-time values and the operator semantics shared by constant
//! evaluation. The arithmetic here is the language's dynamic semantics (see
//! `book/src/reference/semantics.md`), so the back end can fold constants
//! with exactly the results the machine code would produce.

use std::sync::Arc;

use crate::ast::{BinOp, UnOp};
use crate::types::IntTy;

/// Aggregates are shared, not copied: a constant is read wherever it is
/// named and indexed (`B = A[i]` for each of thousands of `B`s), and a
/// copy per read made a file of such reads quadratic. A repeat `[v; n]`
/// keeps one element: building its `n` values first made one line,
/// `const C: [u8; 1048576] = [0; 1048576];`, cost 210 MB (and 25 of them
/// aborted the compiler), before its size was even refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// An integer, kept in its type's range (`IntTy::wrap`).
    Int(i128, IntTy),
    Bool(bool),
    Array(Arc<[Value]>),
    /// `n` copies of one element.
    Repeat(Arc<Value>, u64),
    Struct(Arc<[Value]>),
}

impl Value {
    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(v, _) => Some(*v),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Element `i` of an array, if it has one.
    pub fn element(&self, i: u64) -> Option<&Value> {
        match self {
            Value::Array(elems) => elems.get(usize::try_from(i).ok()?),
            Value::Repeat(v, n) => (i < *n).then_some(&**v),
            _ => None,
        }
    }

    /// The number of elements of an array.
    pub fn array_len(&self) -> Option<u64> {
        match self {
            Value::Array(elems) => Some(elems.len() as u64),
            Value::Repeat(_, n) => Some(*n),
            _ => None,
        }
    }

    /// Little-endian bytes, laid out as in memory (struct padding is zero).
    pub fn write_bytes(
        &self,
        ty: &crate::types::Ty,
        program: &crate::check::Program,
        out: &mut Vec<u8>,
    ) {
        use crate::types::Ty;
        match (self, ty) {
            (Value::Int(v, t), _) => {
                let bytes = (*v as u64).to_le_bytes();
                out.extend_from_slice(&bytes[..(t.bits() / 8) as usize]);
            }
            (Value::Bool(b), _) => out.push(u8::from(*b)),
            (Value::Array(elems), Ty::Array(elem_ty, _)) => {
                for e in elems.iter() {
                    e.write_bytes(elem_ty, program, out);
                }
            }
            (Value::Repeat(v, n), Ty::Array(elem_ty, _)) => {
                let start = out.len();
                v.write_bytes(elem_ty, program, out);
                let one = out.len() - start;
                for _ in 1..*n {
                    out.extend_from_within(start..start + one);
                }
            }
            (Value::Struct(fields), Ty::Struct(id, _)) => {
                let start = out.len();
                if let Some(def) = program.structs.get(id.0 as usize) {
                    for (value, field) in fields.iter().zip(def.fields()) {
                        let at = start + field.offset as usize;
                        out.resize(at.max(out.len()), 0);
                        value.write_bytes(&field.ty, program, out);
                    }
                    out.resize(start + def.layout.size as usize, 0);
                }
            }
            _ => {}
        }
    }
}

/// Why an operation has no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    DivByZero,
    Overflow,
}

impl Fault {
    pub fn describe(self) -> &'static str {
        match self {
            Fault::DivByZero => "division by zero",
            Fault::Overflow => "overflow: the minimum value divided by -1",
        }
    }
}

/// `lhs op rhs` on integers of type `ty` (for shifts, `rhs` may have any
/// integer type; only its value matters). Comparisons return 0/1.
pub fn int_binary(op: BinOp, ty: IntTy, lhs: i128, rhs: i128) -> Result<i128, Fault> {
    let bits = ty.bits();
    Ok(match op {
        BinOp::Add => ty.wrap(lhs + rhs),
        BinOp::Sub => ty.wrap(lhs - rhs),
        BinOp::Mul => ty.wrap(lhs.wrapping_mul(rhs)),
        BinOp::Div | BinOp::Rem => {
            if rhs == 0 {
                return Err(Fault::DivByZero);
            }
            if ty.signed() && lhs == ty.min() && rhs == -1 {
                return Err(Fault::Overflow);
            }
            // i128 division truncates toward zero, remainder takes the dividend's sign.
            if op == BinOp::Div {
                ty.wrap(lhs / rhs)
            } else {
                ty.wrap(lhs % rhs)
            }
        }
        BinOp::Shl | BinOp::Shr => {
            let amount = (rhs as u64 & u64::from(bits - 1)) as u32;
            if op == BinOp::Shl {
                ty.wrap(lhs << amount)
            } else {
                // lhs is in range: arithmetic shift for signed, logical for unsigned.
                lhs >> amount
            }
        }
        BinOp::BitAnd => ty.wrap(lhs & rhs),
        BinOp::BitOr => ty.wrap(lhs | rhs),
        BinOp::BitXor => ty.wrap(lhs ^ rhs),
        BinOp::Eq => i128::from(lhs == rhs),
        BinOp::Ne => i128::from(lhs != rhs),
        BinOp::Lt => i128::from(lhs < rhs),
        BinOp::Le => i128::from(lhs <= rhs),
        BinOp::Gt => i128::from(lhs > rhs),
        BinOp::Ge => i128::from(lhs >= rhs),
        BinOp::And | BinOp::Or => 0,
    })
}

pub fn int_unary(op: UnOp, ty: IntTy, v: i128) -> i128 {
    match op {
        UnOp::Neg => ty.wrap(-v),
        UnOp::BitNot => ty.wrap(!v),
        UnOp::Not => v,
    }
}

/// `v as to`, for a value of integer type.
pub fn int_cast(v: i128, to: IntTy) -> i128 {
    to.wrap(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_and_traps() {
        use IntTy::*;
        assert_eq!(int_binary(BinOp::Add, U8, 255, 1), Ok(0));
        assert_eq!(int_binary(BinOp::Sub, I8, -128, 1), Ok(127));
        assert_eq!(int_binary(BinOp::Mul, I32, 0x4000_0000, 4), Ok(0));
        assert_eq!(int_binary(BinOp::Div, I32, -7, 2), Ok(-3));
        assert_eq!(int_binary(BinOp::Rem, I32, -7, 2), Ok(-1));
        assert_eq!(int_binary(BinOp::Div, I8, -128, -1), Err(Fault::Overflow));
        assert_eq!(
            int_binary(BinOp::Rem, I64, i64::MIN as i128, -1),
            Err(Fault::Overflow)
        );
        assert_eq!(int_binary(BinOp::Div, U32, 1, 0), Err(Fault::DivByZero));
        assert_eq!(int_binary(BinOp::Shl, U32, 1, 33), Ok(2));
        assert_eq!(int_binary(BinOp::Shr, I8, -128, 7), Ok(-1));
        assert_eq!(int_binary(BinOp::Shr, U8, 128, 7), Ok(1));
        assert_eq!(int_binary(BinOp::Shl, I8, 1, 7), Ok(-128));
        assert_eq!(int_unary(UnOp::Neg, I8, -128), -128);
        assert_eq!(int_unary(UnOp::BitNot, U16, 0), 0xffff);
        assert_eq!(int_cast(-1, U32), 0xffff_ffff);
        assert_eq!(int_cast(0x1ff, I8), -1);
        assert_eq!(int_cast(300, U8), 44);
    }
}
