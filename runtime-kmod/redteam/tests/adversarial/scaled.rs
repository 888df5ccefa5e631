//! C10: an index `k` times a loop counter (`x = k·y`), proved inside a slice
//! by one test before the loop, `k · len_b <= len_a`
//! (`runtime-kmod/core/src/verify/scaled.rs`).
//!
//! The accepted form (`scaled_baseline`, what `opt::scaled` emits): `a` a
//! read-only byte slice, `b` a writable slice read through its 2-byte
//! table, so that with the oracle's equal byte lengths `2 · len_b <= len_a`
//! holds and the loop runs:
//!
//! ```text
//!   cmp len_b, 2^31 - 1 ; jae done      len_b < 2^31
//!   imul t, len_b, k ; cmp t, len_a ; ja done
//!   cmp i, len_b ; jae done             (i = 0)
//!   imul p, i, k
//! head:
//!   a[p], a[p + k - 1] ; b[i] = …
//!   add i, 1 ; add p, k ; fuel ; cmp i, len_b ; jb head
//! ```
//!
//! Each object below breaks one step of it, with a factor that makes the
//! broken loop read or write past a slice on the oracle's inputs.

use super::{RO8, U64, label};
use crate::common::asm::{Obj, R, single};
use iced_x86::code_asm::*;
use kpl_runtime_core::{ScalarType, ValType};
use kplc::kpo::ObjectParts;
use kplc::kpo::TrapKind::Budget;

/// A writable slice of 2-byte elements.
const RW16: ValType = ValType::Slice {
    elem: ScalarType::U16,
    writable: true,
};

/// The step of the accepted form an object changes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Break {
    /// None: the accepted form.
    Nothing,
    /// The length test is left out.
    NoTest,
    /// The loop runs on the test's other edge (`k · len_b > len_a`).
    WrongEdge,
    /// The second read is at `p + k`, one past what the test covers.
    DispPast,
    /// `p` steps by `k + 1` while `i` steps by 1.
    StepTooFar,
    /// The reads go through another handle's base (an empty slot).
    OtherBase,
    /// A write through the read-only slice whose read length was tested.
    WriteReadOnly,
    /// The reads are of 2-byte elements against the byte length.
    ScaleMismatch,
    /// A path that skips the length test joins the one that took it.
    JoinUntested,
    /// The test multiplies a scalar argument, not `len_b`.
    TestOfScalar,
    /// The loop's test compares `i` with `len_a`, not `len_b`.
    LoopTestsOtherLength,
}

/// The loop of the module docs with factor `k`, broken at `brk`.
fn scaled_loop(k: i32, brk: Break) -> ObjectParts {
    single(&[Budget], &[RO8, RW16, U64], 8, |o: &mut Obj| -> R {
        let (mut head, mut done, mut tested) = (label(o), label(o), label(o));
        // a: len_a (bytes, read table) in r8, base in r9 (not through rax:
        // the short `and eax, imm32` form is not in the instruction set).
        o.a.and(edi, 7)?;
        o.a.mov(r8, qword_ptr(r15 + rdi * 8 + 0x100))?;
        o.a.mov(r9, qword_ptr(r15 + rdi * 8 + 0x20))?;
        if brk == Break::OtherBase {
            o.a.add(edi, 2)?;
            o.a.and(edi, 7)?;
            o.a.mov(r9, qword_ptr(r15 + rdi * 8 + 0x20))?;
        }
        // b: len_b (2-byte elements, write table) in r10, base in r11.
        o.a.and(esi, 7)?;
        o.a.mov(r10, qword_ptr(r15 + rsi * 8 + 0x240))?;
        o.a.mov(r11, qword_ptr(r15 + rsi * 8 + 0x20))?;
        o.a.xor(ecx, ecx)?;
        if brk == Break::JoinUntested {
            o.a.cmp(rdx, 5)?;
            o.a.jae(tested)?;
        }
        if brk == Break::TestOfScalar {
            o.a.cmp(rdx, 0x7FFF_FFFF)?;
            o.a.jae(done)?;
            o.a.imul_3(rax, rdx, k)?;
        } else {
            o.a.cmp(r10, 0x7FFF_FFFF)?;
            o.a.jae(done)?;
            o.a.imul_3(rax, r10, k)?;
        }
        if brk != Break::NoTest {
            o.a.cmp(rax, r8)?;
            if brk == Break::WrongEdge {
                o.a.jbe(done)?;
            } else {
                o.a.ja(done)?;
            }
        }
        o.a.set_label(&mut tested)?;
        o.a.cmp(rcx, r10)?;
        o.a.jae(done)?;
        o.a.imul_3(rdi, rcx, k)?;
        o.a.set_label(&mut head)?;
        if brk == Break::ScaleMismatch {
            o.a.movzx(eax, word_ptr(r9 + rdi * 2))?;
        } else {
            o.a.movzx(eax, byte_ptr(r9 + rdi))?;
        }
        let last = if brk == Break::DispPast { k } else { k - 1 };
        o.a.movzx(esi, byte_ptr(r9 + rdi + last))?;
        o.a.add(eax, esi)?;
        if brk == Break::WriteReadOnly {
            o.a.mov(byte_ptr(r9 + rdi), al)?;
        } else {
            o.a.mov(word_ptr(r11 + rcx * 2), ax)?;
        }
        o.a.add(rcx, 1)?;
        o.a.add(rdi, if brk == Break::StepTooFar { k + 1 } else { k })?;
        o.a.dec(r13)?;
        o.a.je(o.stub[0])?;
        if brk == Break::LoopTestsOtherLength {
            o.a.cmp(rcx, r8)?;
        } else {
            o.a.cmp(rcx, r10)?;
        }
        o.a.jb(head)?;
        o.a.set_label(&mut done)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// The accepted form.
pub(super) fn scaled_baseline() -> ObjectParts {
    scaled_loop(2, Break::Nothing)
}

/// The `c10_` objects, each an escape on the oracle's inputs.
pub(super) fn corpus() -> Vec<(&'static str, ObjectParts)> {
    vec![
        ("c10_scaled_no_test", scaled_loop(3, Break::NoTest)),
        ("c10_scaled_wrong_edge", scaled_loop(3, Break::WrongEdge)),
        ("c10_scaled_disp_past", scaled_loop(2, Break::DispPast)),
        ("c10_scaled_step_too_far", scaled_loop(2, Break::StepTooFar)),
        ("c10_scaled_other_base", scaled_loop(2, Break::OtherBase)),
        (
            "c10_scaled_write_readonly",
            scaled_loop(2, Break::WriteReadOnly),
        ),
        (
            "c10_scaled_scale_mismatch",
            scaled_loop(2, Break::ScaleMismatch),
        ),
        (
            "c10_scaled_join_untested",
            scaled_loop(3, Break::JoinUntested),
        ),
        (
            "c10_scaled_test_of_scalar",
            scaled_loop(3, Break::TestOfScalar),
        ),
        (
            "c10_scaled_loop_tests_other_length",
            scaled_loop(2, Break::LoopTestsOtherLength),
        ),
    ]
}
