//! The red team's adversarial corpus: hand-made objects, several per escape
//! class (C1–C6 of `/work/shared/notes/verifier-anchors.md`, C7: the
//! atomic forms, C8: one bounds check covering accesses at constant
//! offsets, C9: a slice length tested against a constant, and C10: an index
//! `k` times a loop counter, in `adversarial/scaled.rs`), each of which
//! the verifier must REJECT. Each object is also run by the execution oracle
//! with verification skipped, and the oracle must flag it: that proves the
//! object is a real escape, not just an unusual form.
//!
//! Ten of these were accepted by the first verifier (a linear pass with
//! rules that looked at the previous instruction); the CFG and abstract
//! interpretation rewrite rejects all of them. `census` runs all of them and
//! prints the verdicts.
//!
//! With `KPL_ADVERSARIAL_DIR` set, every object the verifier rejects is
//! written there as `redteam_NAME.RULE.kpo` for the kernel test
//! (`scripts/kernel-test.sh`), like `compiler/tests/adversarial.rs` does.

mod common;
#[path = "adversarial/scaled.rs"]
mod scaled;

use common::asm::{Obj, R, object, single};
use iced_x86::code_asm::*;
use kpl_runtime_core::{ScalarType, ValType};
use kplc::kpo::ObjectParts;
use kplc::kpo::TrapKind::{Bounds, Budget, DivByZero, Overflow};

const U64: ValType = ValType::Scalar(ScalarType::U64);
const I64: ValType = ValType::Scalar(ScalarType::I64);
const RO8: ValType = ValType::Slice {
    elem: ScalarType::U8,
    writable: false,
};

fn label(o: &mut Obj) -> CodeLabel {
    o.a.create_label()
}

/// `dec r13; jz budget_stub; jmp head`: the budget check of a back edge.
fn back_edge(o: &mut Obj, budget: usize, head: CodeLabel) -> R {
    o.a.dec(r13)?;
    o.a.je(o.stub[budget])?;
    o.a.jmp(head)
}

// ---- C1: rules that look at "the instruction right before" ----

/// A jump lands between `cmp idx, 8` and its `jae`, carrying the flags of
/// another comparison: the indexed statics access is unchecked.
fn c1_cmp_jcc() -> ObjectParts {
    single(&[Bounds], &[U64], 8, |o| {
        let mut mid = label(o);
        o.a.xor(r8d, r8d)?;
        o.a.cmp(r8, 8)?;
        o.a.jmp(mid)?;
        o.a.cmp(rdi, 8)?;
        o.a.set_label(&mut mid)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rax, qword_ptr(r14 + rdi * 8))?;
        o.a.ret()
    })
}

/// A conditional branch to a trap stub does not end its block: its
/// fall-through goes on in the same block. A jump from elsewhere onto that
/// fall-through must still be a join, not inherit the check it skipped.
fn c1_jump_past_bounds_check() -> ObjectParts {
    single(&[Bounds], &[U64, U64], 8, |o| {
        let mut past = label(o);
        o.a.cmp(rsi, 5)?;
        o.a.jne(past)?;
        o.a.cmp(rdi, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.set_label(&mut past)?;
        o.a.mov(rax, qword_ptr(r14 + rdi * 8))?;
        o.a.ret()
    })
}

/// A branch lands between `dec r13` and `jz`: the loop never spends fuel.
fn c1_dec_jz() -> ObjectParts {
    single(&[Budget], &[], 8, |o| {
        let (mut head, mut mid) = (label(o), label(o));
        o.a.xor(ecx, ecx)?;
        o.a.set_label(&mut head)?;
        o.a.add(rcx, 1)?;
        o.a.test(rcx, rcx)?;
        o.a.jne(mid)?;
        o.a.dec(r13)?;
        o.a.set_label(&mut mid)?;
        o.a.je(o.stub[0])?;
        o.a.jmp(head)
    })
}

/// A branch lands between `mov rdi, r15` and the import call: the host gets
/// a forged context.
fn c1_mov_rdi_call() -> ObjectParts {
    object(&[], |o| {
        o.imports = 1;
        o.declare("f", 16, Some(vec![]));
        o.define("f");
        let mut mid = o.a.create_label();
        o.a.sub(rsp, 8).unwrap();
        o.a.xor(edi, edi).unwrap();
        o.a.jmp(mid).unwrap();
        o.a.mov(rdi, r15).unwrap();
        o.a.set_label(&mut mid).unwrap();
        o.call_import(0);
        o.a.add(rsp, 8).unwrap();
        o.a.ret().unwrap();
    })
}

/// A branch lands between the divisor's zero test and its `jz`.
fn c1_test_div() -> ObjectParts {
    single(&[DivByZero], &[U64, U64], 8, |o| {
        let mut mid = label(o);
        o.a.mov(rcx, rsi)?;
        o.a.mov(eax, 1)?;
        o.a.test(rax, rax)?;
        o.a.jmp(mid)?;
        o.a.test(rcx, rcx)?;
        o.a.set_label(&mut mid)?;
        o.a.je(o.stub[0])?;
        o.a.mov(rax, rdi)?;
        o.a.xor(edx, edx)?;
        o.a.div(rcx)?;
        o.a.ret()
    })
}

/// A branch lands between `xor edx, edx` and `div`: rdx holds the dividend
/// and the quotient overflows (#DE).
fn c1_xor_div() -> ObjectParts {
    single(&[DivByZero], &[U64, U64], 8, |o| {
        let mut mid = label(o);
        o.a.mov(rcx, rsi)?;
        o.a.test(rcx, rcx)?;
        o.a.je(o.stub[0])?;
        o.a.mov(rax, rdi)?;
        o.a.mov(rdx, rdi)?;
        o.a.jmp(mid)?;
        o.a.xor(edx, edx)?;
        o.a.set_label(&mut mid)?;
        o.a.div(rcx)?;
        o.a.ret()
    })
}

/// A branch lands between `cqo` and `idiv`.
fn c1_cqo_idiv() -> ObjectParts {
    single(&[DivByZero, Overflow], &[I64, I64], 8, |o| {
        let mut mid = label(o);
        o.a.mov(rcx, rsi)?;
        o.a.test(rcx, rcx)?;
        o.a.je(o.stub[0])?;
        o.a.cmp(rcx, -1)?;
        o.a.je(o.stub[1])?;
        o.a.mov(rax, rdi)?;
        o.a.mov(rdx, rdi)?;
        o.a.jmp(mid)?;
        o.a.cqo()?;
        o.a.set_label(&mut mid)?;
        o.a.idiv(rcx)?;
        o.a.ret()
    })
}

/// A branch lands between the slice handle's mask and the length-table
/// load: the unmasked handle indexes past the context block's tables.
fn c1_mask_table() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        let mut mid = label(o);
        o.a.mov(edx, 0x40)?;
        o.a.jmp(mid)?;
        o.a.mov(rdx, rdi)?;
        o.a.and(edx, 7)?;
        o.a.set_label(&mut mid)?;
        o.a.cmp(rsi, qword_ptr(r15 + rdx * 8 + 0x100))?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rdx, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.movzx(eax, byte_ptr(rdx + rsi))?;
        o.a.ret()
    })
}

/// A branch lands between the slice bounds check and its `jae` (both paths
/// live: a large index takes the path with the other comparison's flags).
fn c1_slice_cmp_jae() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        let (mut mid, mut b) = (label(o), label(o));
        o.a.mov(rdx, rdi)?;
        o.a.and(edx, 7)?;
        o.a.xor(r8d, r8d)?;
        o.a.cmp(rsi, 100)?;
        o.a.jbe(b)?;
        o.a.cmp(r8, 1)?;
        o.a.jmp(mid)?;
        o.a.set_label(&mut b)?;
        o.a.cmp(rsi, qword_ptr(r15 + rdx * 8 + 0x100))?;
        o.a.set_label(&mut mid)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rdx, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.movzx(eax, byte_ptr(rdx + rsi))?;
        o.a.ret()
    })
}

/// The loop's back edge (with its budget check) lands on the `jae` of the
/// bounds check, not on its `cmp`: from the second iteration on, the `jae`
/// tests the borrow of `sub idx, step` (the structural mutator found this).
fn c1_back_edge_onto_jae() -> ObjectParts {
    single(&[Bounds, Budget], &[U64], 8, |o| {
        let mut head = label(o);
        o.a.xor(ecx, ecx)?;
        o.a.xor(eax, eax)?;
        o.a.cmp(rcx, 8)?;
        o.a.set_label(&mut head)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rdx, qword_ptr(r14 + rcx * 8))?;
        o.a.add(rax, rdx)?;
        o.a.sub(rcx, rdi)?;
        back_edge(o, 1, head)
    })
}

// ---- C2: loop headers ----

/// An irreducible loop: the second entry goes into the body past the
/// header's bounds check.
fn c2_second_entry() -> ObjectParts {
    single(&[Bounds, Budget], &[U64, U64], 8, |o| {
        let (mut head, mut body) = (label(o), label(o));
        o.a.mov(rcx, rdi)?;
        o.a.test(rsi, rsi)?;
        o.a.jne(body)?;
        o.a.set_label(&mut head)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.set_label(&mut body)?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.add(rcx, 1)?;
        back_edge(o, 1, head)
    })
}

/// An irreducible inner loop: a jump from the function's entry goes into
/// the body of a loop nested in another, past the inner header's bounds
/// check. (The dominators come from one pass over the forward edges; this
/// shape is where a wrong argument for that would show: the body's forward
/// predecessors are the entry and the inner header.)
fn c2_nested_second_entry() -> ObjectParts {
    single(&[Bounds, Budget], &[U64, U64], 8, |o| {
        let (mut outer, mut inner, mut body) = (label(o), label(o), label(o));
        o.a.mov(rcx, rdi)?;
        o.a.test(rsi, rsi)?;
        o.a.jne(body)?;
        o.a.set_label(&mut outer)?;
        o.a.xor(ecx, ecx)?;
        o.a.set_label(&mut inner)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.set_label(&mut body)?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.add(rcx, 1)?;
        o.a.dec(r13)?;
        o.a.je(o.stub[1])?;
        o.a.cmp(rcx, 4)?;
        o.a.jb(inner)?;
        back_edge(o, 1, outer)
    })
}

/// The index is checked once before the loop and incremented around it
/// without a new check.
fn c2_fact_before_loop() -> ObjectParts {
    single(&[Bounds, Budget], &[U64], 8, |o| {
        let mut head = label(o);
        o.a.mov(rcx, rdi)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.set_label(&mut head)?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.add(rcx, 1)?;
        back_edge(o, 1, head)
    })
}

/// A checked index is spilled before the loop; the loop reloads it, uses
/// it, and overwrites the spill slot with the incremented value.
fn c2_spill_overwritten() -> ObjectParts {
    single(&[Bounds, Budget], &[U64], 24, |o| {
        let mut head = label(o);
        o.a.sub(rsp, 16)?;
        o.a.mov(rcx, rdi)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(qword_ptr(rsp), rcx)?;
        o.a.set_label(&mut head)?;
        o.a.mov(rcx, qword_ptr(rsp))?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.add(rcx, 1)?;
        o.a.mov(qword_ptr(rsp), rcx)?;
        back_edge(o, 1, head)
    })
}

/// Loop-proven slice access: the loop's header compares the index against
/// the slice length, but a second entry skips the header.
fn c2_slice_loop_second_entry() -> ObjectParts {
    single(&[Budget], &[RO8, U64], 8, |o| {
        let (mut head, mut body, mut done) = (label(o), label(o), label(o));
        o.a.mov(rdx, rdi)?;
        o.a.and(edx, 7)?;
        o.a.mov(r8, qword_ptr(r15 + rdx * 8 + 0x100))?;
        o.a.mov(r9, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.mov(rcx, rsi)?;
        o.a.xor(eax, eax)?;
        o.a.cmp(rsi, 3)?;
        o.a.ja(body)?;
        o.a.xor(ecx, ecx)?;
        o.a.set_label(&mut head)?;
        o.a.cmp(rcx, r8)?;
        o.a.jae(done)?;
        o.a.set_label(&mut body)?;
        o.a.movzx(r10d, byte_ptr(r9 + rcx))?;
        o.a.add(rax, r10)?;
        o.a.add(rcx, 1)?;
        back_edge(o, 0, head)?;
        o.a.set_label(&mut done)?;
        o.a.ret()
    })
}

/// A loop header's first join gives the registers the loop writes names of
/// their own and copies the entry facts to them: here a checked index and
/// its alias, which the loop increments without a check. The fact must die
/// at the back edge's join.
fn c2_fresh_alias() -> ObjectParts {
    single(&[Bounds, Budget], &[U64], 8, |o| {
        let mut head = label(o);
        o.a.mov(rcx, rdi)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rdx, rcx)?;
        o.a.set_label(&mut head)?;
        o.a.mov(rax, qword_ptr(r14 + rdx * 8))?;
        o.a.add(rcx, 1)?;
        o.a.mov(rdx, rcx)?;
        back_edge(o, 1, head)
    })
}

/// A masked slice handle on entry to a loop indexes the context block's
/// length table; the loop then overwrites the handle with an unmasked
/// argument, so the second trip reads outside the table.
fn c2_masked_handle_clobbered() -> ObjectParts {
    single(&[Budget], &[RO8, U64], 8, |o| {
        let mut head = label(o);
        o.a.mov(rdx, rdi)?;
        o.a.and(edx, 7)?;
        o.a.set_label(&mut head)?;
        o.a.mov(r8, qword_ptr(r15 + rdx * 8 + 0x100))?;
        o.a.mov(rdx, rsi)?;
        back_edge(o, 0, head)
    })
}

/// A block of the loop placed after the loop's back edge in reverse
/// postorder (an inner loop's body, searched first): the header's fresh
/// set misses what it writes, an index checked before the outer loop and
/// incremented in there without a check.
fn c2_loop_block_after_latch() -> ObjectParts {
    single(&[Bounds, Budget], &[U64, U64], 8, |o| {
        let (mut head, mut inner, mut body) = (label(o), label(o), label(o));
        o.a.mov(rcx, rdi)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.set_label(&mut head)?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.set_label(&mut inner)?;
        o.a.test(rsi, rsi)?;
        o.a.jne(body)?;
        o.a.add(rsi, 1)?;
        back_edge(o, 1, head)?;
        o.a.set_label(&mut body)?;
        o.a.add(rcx, 1)?;
        o.a.sub(rsi, 1)?;
        back_edge(o, 1, inner)
    })
}

// ---- C8: one check for accesses at constant offsets (`t = e + k`) ----
//
// The accepted form (`sum_baseline`): `e` with its upper 32 bits zero, `t =
// e + k` by a 64-bit `add`, `cmp t, len; jae trap`, then `[base + e + d]`
// for `0 <= d <= k`. Each object below breaks one step of it.

/// Masked handle in rdx, its byte length in r8 and base in r9.
fn slice_regs(o: &mut Obj) -> R {
    o.a.mov(rdx, rdi)?;
    o.a.and(edx, 7)?;
    o.a.mov(r8, qword_ptr(r15 + rdx * 8 + 0x100))?;
    o.a.mov(r9, qword_ptr(r15 + rdx * 8 + 0x20))
}

/// `r10 = rcx + k` (64-bit) and `cmp r10, r8; jae trap` (not rax: its
/// short `add rax, imm32` form is not in the sandbox's instruction set).
fn check_sum(o: &mut Obj, k: i32) -> R {
    o.a.mov(r10, rcx)?;
    o.a.add(r10, k)?;
    o.a.cmp(r10, r8)?;
    o.a.jae(o.stub[0])
}

/// The accepted form, reading the last byte the check covers (`e = len -
/// 3`, `t = e + 2`): the corpus's objects differ from it in one step.
fn sum_baseline() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(rcx, r8)?;
        o.a.sub(ecx, 3)?;
        check_sum(o, 2)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.movzx(r11d, byte_ptr(r9 + rcx + 2))?;
        o.a.add(eax, r11d)?;
        o.a.ret()
    })
}

/// `e` is a 64-bit argument (-1): `e + 2` wraps to 1, below the length,
/// and `[base + e]` is the byte before the slice.
fn c8_sum_wrap64() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(rcx, rsi)?;
        check_sum(o, 2)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// `t` by a 32-bit `add` of a 32-bit `e` (0xFFFF_FFFF): `t` wraps to 1.
fn c8_sum_add32() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(ecx, esi)?;
        o.a.mov(r10d, ecx)?;
        o.a.add(r10d, 2)?;
        o.a.cmp(r10, r8)?;
        o.a.jae(o.stub[0])?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// `t` by a 32-bit `lea` (the only `lea` the decoder takes is of
/// read-only data, `[rip + disp]`).
fn c8_sum_lea32() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(ecx, esi)?;
        o.a.lea(r10d, dword_ptr(rcx + 2))?;
        o.a.cmp(r10, r8)?;
        o.a.jae(o.stub[0])?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// The displacement is one past what the check covers: `e + 2 < len`,
/// access `[base + e + 3]` (the byte at `len`).
fn c8_sum_disp_past() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(rcx, r8)?;
        o.a.sub(ecx, 3)?;
        check_sum(o, 2)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx + 3))?;
        o.a.ret()
    })
}

/// A negative displacement: `[base + e - 1]` with `e = 0`.
fn c8_sum_disp_negative() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.xor(ecx, ecx)?;
        check_sum(o, 2)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx - 1))?;
        o.a.ret()
    })
}

/// `e` is redefined between the check and the access.
fn c8_sum_redefined() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(rcx, r8)?;
        o.a.sub(ecx, 3)?;
        check_sum(o, 2)?;
        o.a.add(ecx, 100)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx + 2))?;
        o.a.ret()
    })
}

/// Two paths join before the access and only one checked `e + 1`
/// (`e = len - 1`): with a small argument the unchecked path reads the
/// byte at `len`.
fn c8_sum_join_unchecked() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        let mut join = label(o);
        slice_regs(o)?;
        o.a.mov(rcx, r8)?;
        o.a.sub(ecx, 1)?;
        o.a.cmp(rsi, 5)?;
        o.a.jb(join)?;
        check_sum(o, 1)?;
        o.a.set_label(&mut join)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx + 1))?;
        o.a.ret()
    })
}

/// `e + 2` is checked once before a loop whose back edge increments `e`:
/// the fact about the entry value must not survive the header's join.
fn c8_sum_back_edge() -> ObjectParts {
    single(&[Bounds, Budget], &[RO8, U64], 8, |o| {
        let mut head = label(o);
        slice_regs(o)?;
        o.a.xor(ecx, ecx)?;
        check_sum(o, 2)?;
        o.a.set_label(&mut head)?;
        o.a.movzx(r11d, byte_ptr(r9 + rcx + 2))?;
        o.a.add(rcx, 1)?;
        back_edge(o, 1, head)
    })
}

/// The check is against one slice's length, the access through another
/// handle's base (an empty slot: length 0).
fn c8_sum_wrong_slice() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(rdx, rdi)?;
        o.a.add(rdx, 1)?;
        o.a.and(edx, 7)?;
        o.a.mov(r9, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.xor(ecx, ecx)?;
        check_sum(o, 2)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx + 1))?;
        o.a.ret()
    })
}

/// The check is against the byte length, the access by 8-byte elements.
fn c8_sum_scale_mismatch() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(rcx, r8)?;
        o.a.sub(ecx, 3)?;
        check_sum(o, 2)?;
        o.a.mov(rax, qword_ptr(r9 + rcx * 8 + 16))?;
        o.a.ret()
    })
}

/// The access is 4 bytes wide at the last byte the check covers.
fn c8_sum_width_mismatch() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.mov(rcx, r8)?;
        o.a.sub(ecx, 3)?;
        check_sum(o, 2)?;
        o.a.mov(eax, dword_ptr(r9 + rcx + 2))?;
        o.a.ret()
    })
}

/// `e` is 32-bit on one path and a 64-bit argument (-1) on the other: the
/// join must not keep "upper 32 bits zero".
fn c8_narrow_join() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        let mut join = label(o);
        slice_regs(o)?;
        o.a.mov(ecx, esi)?;
        o.a.cmp(rsi, 5)?;
        o.a.jb(join)?;
        o.a.mov(rcx, rsi)?;
        o.a.set_label(&mut join)?;
        check_sum(o, 2)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// A 32-bit `e` is spilled, a 32-bit store sets the slot's upper half,
/// and the reload must not count as 32-bit.
fn c8_narrow_spill_overwritten() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 24, |o| {
        o.a.sub(rsp, 16)?;
        slice_regs(o)?;
        o.a.mov(ecx, esi)?;
        o.a.mov(qword_ptr(rsp), rcx)?;
        o.a.mov(dword_ptr(rsp + 4), ecx)?;
        o.a.mov(rcx, qword_ptr(rsp))?;
        check_sum(o, 2)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.add(rsp, 16)?;
        o.a.ret()
    })
}

/// Each `c8_` object is refused at its access by the memory rule (the step
/// it changes), not earlier for an unrelated form; the 32-bit `lea` is not
/// in the instruction set at all.
#[test]
fn c8_rejected_by_the_memory_rule() {
    for (name, parts) in corpus() {
        if !name.starts_with("c8_") {
            continue;
        }
        let want = if name == "c8_sum_lea32" {
            "decode"
        } else {
            "memory"
        };
        match common::verify(&kplc::kpo::write(&parts)) {
            Err(r) => assert_eq!(r.rule, want, "{name}: {r:?}"),
            Ok(()) => panic!("{name}: accepted"),
        }
    }
}

/// The accepted form is accepted, and the oracle finds nothing wrong with
/// it: each `c8_` object is rejected for the step it changes.
#[test]
fn sum_baseline_accepted() {
    let bytes = kplc::kpo::write(&sum_baseline());
    let (v, _) = common::oracle::check_object(&bytes);
    assert!(v.is_empty(), "the oracle flags the baseline: {v:?}");
    if let Err(r) = common::verify(&bytes) {
        panic!("the baseline is rejected: {r:?}");
    }
}

// ---- C9: a length tested against a constant (`table[m] >= n`) ----
//
// The accepted forms (`len_at_least_accepted`): `cmp len, c` (64-bit) and
// the edge where the length is at least `c` (or `c + 1` after `ja`), then
// `[base + i]` with `i` a constant below that. Each object below breaks one
// step of it; the oracle's slices have 64, 13, 0 and 8 bytes.

/// `cmp r8, c; jb trap`: on the fall-through `len >= c`.
fn test_len(o: &mut Obj, c: i32) -> R {
    o.a.cmp(r8, c)?;
    o.a.jb(o.stub[0])
}

/// The accepted forms, each reading the last byte its test covers.
fn len_at_least_forms() -> Vec<(&'static str, ObjectParts)> {
    vec![
        (
            "jb not taken",
            single(&[Bounds], &[RO8, U64], 8, |o| {
                slice_regs(o)?;
                test_len(o, 8)?;
                o.a.mov(ecx, 7)?;
                o.a.movzx(eax, byte_ptr(r9 + rcx))?;
                o.a.ret()
            }),
        ),
        (
            "jbe not taken, displacement",
            single(&[Bounds], &[RO8, U64], 8, |o| {
                slice_regs(o)?;
                o.a.cmp(r8, 7)?;
                o.a.jbe(o.stub[0])?;
                o.a.xor(ecx, ecx)?;
                o.a.movzx(eax, byte_ptr(r9 + rcx + 7))?;
                o.a.ret()
            }),
        ),
        (
            "jae taken, a later block",
            single(&[Bounds], &[RO8, U64], 8, |o| {
                let mut ok = label(o);
                slice_regs(o)?;
                o.a.cmp(r8, 8)?;
                o.a.jae(ok)?;
                o.a.xor(eax, eax)?;
                o.a.ret()?;
                o.a.set_label(&mut ok)?;
                o.a.mov(ecx, 7)?;
                o.a.movzx(eax, byte_ptr(r9 + rcx))?;
                o.a.ret()
            }),
        ),
    ]
}

/// The constant is the tested length itself: `len >= 8`, index 8.
fn c9_len_const_past() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(ecx, 8)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// The access is on the edge where the test failed: `len < 9`.
fn c9_len_wrong_edge() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.cmp(r8, 9)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(ecx, 8)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// `ja` not taken (`jbe` taken) is `len <= 7`; and `jbe` not taken after
/// `cmp len, 7` is `len >= 8`, not 9: index 8 is past a length of 8.
fn c9_len_above_off_by_one() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        o.a.cmp(r8, 7)?;
        o.a.jbe(o.stub[0])?;
        o.a.mov(ecx, 8)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// The test is of one slice's length, the access through another handle's
/// base (an empty slot: length 0).
fn c9_len_wrong_slice() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(rdx, rdi)?;
        o.a.add(rdx, 1)?;
        o.a.and(edx, 7)?;
        o.a.mov(r9, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.mov(ecx, 3)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// The index register held a constant, then an argument.
fn c9_len_index_redefined() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(ecx, 3)?;
        o.a.add(rcx, rsi)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// Two paths join before the access and only one tested the length (a
/// large argument skips the test; the oracle pairs one with an empty
/// slice).
fn c9_len_join_untested() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        let mut join = label(o);
        slice_regs(o)?;
        o.a.cmp(rsi, 5)?;
        o.a.jae(join)?;
        test_len(o, 8)?;
        o.a.set_label(&mut join)?;
        o.a.mov(ecx, 3)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// The length is tested before a loop that masks a new handle on every
/// trip (the first trip's mask finds the tested handle again, the next
/// ones an empty slot): the fact must not reach the later trips.
fn c9_len_loop_handle() -> ObjectParts {
    single(&[Bounds, Budget], &[RO8, U64], 8, |o| {
        let mut head = label(o);
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(r10, rdi)?;
        o.a.xor(eax, eax)?;
        o.a.set_label(&mut head)?;
        o.a.mov(rdx, r10)?;
        o.a.and(edx, 7)?;
        o.a.mov(r9, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.mov(ecx, 7)?;
        o.a.movzx(r11d, byte_ptr(r9 + rcx))?;
        o.a.add(rax, r11)?;
        o.a.add(r10, 1)?;
        back_edge(o, 1, head)
    })
}

/// A write through a read-only slice whose (read-only) length was tested.
fn c9_len_write_readonly() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(ecx, 3)?;
        o.a.mov(byte_ptr(r9 + rcx), sil)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// A 4-byte read at the last byte the test covers.
fn c9_len_width_mismatch() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(ecx, 7)?;
        o.a.mov(eax, dword_ptr(r9 + rcx))?;
        o.a.ret()
    })
}

/// A displacement one past what the test covers: index 7, `+ 1`.
fn c9_len_disp_past() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(ecx, 7)?;
        o.a.movzx(eax, byte_ptr(r9 + rcx + 1))?;
        o.a.ret()
    })
}

/// The byte length tested, the access by 8-byte elements.
fn c9_len_scale_mismatch() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        slice_regs(o)?;
        test_len(o, 8)?;
        o.a.mov(ecx, 1)?;
        o.a.mov(rax, qword_ptr(r9 + rcx * 8))?;
        o.a.ret()
    })
}

/// Each `c9_` object is refused by the memory rule at its access.
#[test]
fn c9_rejected_by_the_memory_rule() {
    for (name, parts) in corpus() {
        if !name.starts_with("c9_") {
            continue;
        }
        match common::verify(&kplc::kpo::write(&parts)) {
            Err(r) => assert_eq!(r.rule, "memory", "{name}: {r:?}"),
            Ok(()) => panic!("{name}: accepted"),
        }
    }
}

/// The accepted forms are accepted, and the oracle finds nothing wrong
/// with them: each `c9_` object is rejected for the step it changes.
#[test]
fn len_at_least_accepted() {
    for (what, parts) in len_at_least_forms() {
        let bytes = kplc::kpo::write(&parts);
        let (v, _) = common::oracle::check_object(&bytes);
        assert!(v.is_empty(), "{what}: the oracle flags it: {v:?}");
        if let Err(r) = common::verify(&bytes) {
            panic!("{what}: rejected: {r:?}");
        }
    }
}

/// Each `c10_` object is refused by the memory rule at an access.
#[test]
fn c10_rejected_by_the_memory_rule() {
    for (name, parts) in scaled::corpus() {
        match common::verify(&kplc::kpo::write(&parts)) {
            Err(r) => assert_eq!(r.rule, "memory", "{name}: {r:?}"),
            Ok(()) => panic!("{name}: accepted"),
        }
    }
}

/// The accepted form is accepted, and the oracle finds nothing wrong with
/// it (its loop runs on every input but the empty slices).
#[test]
fn scaled_baseline_accepted() {
    let bytes = kplc::kpo::write(&scaled::scaled_baseline());
    let (v, insns) = common::oracle::check_object(&bytes);
    assert!(v.is_empty(), "the oracle flags the baseline: {v:?}");
    // The loop ran: 32 trips of 10 instructions on each 64-byte input.
    assert!(
        insns > 2 * 32 * 10,
        "the loop did not run ({insns} instructions)"
    );
    if let Err(r) = common::verify(&bytes) {
        panic!("the baseline is rejected: {r:?}");
    }
}

// ---- C3: callees ----

/// `f` keeps a checked index in a callee-saved register across a call to
/// `g`, which clobbers that register.
fn c3_clobber(reg: AsmRegister64, reg32: AsmRegister32) -> ObjectParts {
    object(&[Bounds], |o| {
        o.declare("f", 16, Some(vec![U64]));
        let g = o.declare("g", 8, None);
        o.define("f");
        o.a.push(reg).unwrap();
        o.a.mov(reg, rdi).unwrap();
        o.a.cmp(reg, 8).unwrap();
        o.a.jae(o.stub[0]).unwrap();
        o.a.call(g).unwrap();
        o.a.mov(rax, qword_ptr(r14 + reg * 8)).unwrap();
        o.a.pop(reg).unwrap();
        o.a.ret().unwrap();
        o.define("g");
        o.a.mov(reg32, 0x0800_0000).unwrap();
        o.a.ret().unwrap();
    })
}

/// The callee writes past its own frame into its caller's spill slot.
fn c3_callee_writes_spill() -> ObjectParts {
    object(&[Bounds], |o| {
        o.declare("f", 24, Some(vec![U64]));
        let g = o.declare("g", 16, None);
        o.define("f");
        o.a.sub(rsp, 16).unwrap();
        o.a.mov(rcx, rdi).unwrap();
        o.a.cmp(rcx, 8).unwrap();
        o.a.jae(o.stub[0]).unwrap();
        o.a.mov(qword_ptr(rsp), rcx).unwrap();
        o.a.mov(rdi, 0x4000_0000u64).unwrap();
        o.a.call(g).unwrap();
        o.a.mov(rcx, qword_ptr(rsp)).unwrap();
        o.a.mov(rax, qword_ptr(r14 + rcx * 8)).unwrap();
        o.a.add(rsp, 16).unwrap();
        o.a.ret().unwrap();
        o.define("g");
        o.a.sub(rsp, 8).unwrap();
        o.a.mov(qword_ptr(rsp + 16), rdi).unwrap();
        o.a.add(rsp, 8).unwrap();
        o.a.ret().unwrap();
    })
}

// ---- C4: forms not modelled exactly ----

/// An immediate stored over a spill slot that held a checked index.
fn c4_store_imm_spill() -> ObjectParts {
    single(&[Bounds], &[U64], 24, |o| {
        o.a.sub(rsp, 16)?;
        o.a.mov(rcx, rdi)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(qword_ptr(rsp), rcx)?;
        o.a.mov(qword_ptr(rsp), 0x1000_0000)?;
        o.a.mov(rcx, qword_ptr(rsp))?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.add(rsp, 16)?;
        o.a.ret()
    })
}

/// `setcc` writes the low byte of a register holding a slice base.
fn c4_setcc_base() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        o.a.mov(rdx, rdi)?;
        o.a.and(edx, 7)?;
        o.a.cmp(rsi, qword_ptr(r15 + rdx * 8 + 0x100))?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rdx, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.setb(dl)?;
        o.a.movzx(eax, byte_ptr(rdx + rsi))?;
        o.a.ret()
    })
}

/// A 32-bit store overwrites the upper half of a spilled checked index.
fn c4_store32_spill() -> ObjectParts {
    single(&[Bounds], &[U64], 24, |o| {
        o.a.sub(rsp, 16)?;
        o.a.mov(rcx, rdi)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(qword_ptr(rsp), rcx)?;
        o.a.mov(eax, 0x10)?;
        o.a.mov(dword_ptr(rsp + 4), eax)?;
        o.a.mov(rcx, qword_ptr(rsp))?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.add(rsp, 16)?;
        o.a.ret()
    })
}

/// `mov edx, edx` truncates a slice pointer to 32 bits.
fn c4_truncated_pointer() -> ObjectParts {
    single(&[Bounds], &[RO8, U64], 8, |o| {
        o.a.mov(rdx, rdi)?;
        o.a.and(edx, 7)?;
        o.a.cmp(rsi, qword_ptr(r15 + rdx * 8 + 0x100))?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rdx, qword_ptr(r15 + rdx * 8 + 0x20))?;
        o.a.mov(edx, edx)?;
        o.a.movzx(eax, byte_ptr(rdx + rsi))?;
        o.a.ret()
    })
}

/// The index is checked with a 32-bit compare and used as 64 bits.
fn c4_cmp32_index64() -> ObjectParts {
    single(&[Bounds], &[U64], 8, |o| {
        o.a.mov(rcx, rdi)?;
        o.a.cmp(ecx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.ret()
    })
}

/// `movsxd` of an index checked as a signed 32-bit value.
fn c4_movsxd_index() -> ObjectParts {
    single(&[Bounds], &[U64], 8, |o| {
        o.a.mov(ecx, edi)?;
        o.a.cmp(ecx, 8)?;
        o.a.jge(o.stub[0])?;
        o.a.movsxd(rcx, ecx)?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.ret()
    })
}

/// 8/16/32-bit writes to reserved registers.
fn c4_r14d() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.mov(r14d, r14d)?;
        o.a.mov(rax, qword_ptr(r14))?;
        o.a.ret()
    })
}

fn c4_setcc_r15b() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.cmp(rax, rax)?;
        o.a.sete(r15b)?;
        o.a.mov(rax, qword_ptr(r15 + 0x100))?;
        o.a.ret()
    })
}

fn c4_r13d() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.mov(r13d, 0x7fff_ffff)?;
        o.a.ret()
    })
}

// ---- C5: budget ----

/// One path around the loop reaches the back-edge `jmp` without the check.
fn c5_skip_check() -> ObjectParts {
    single(&[Budget], &[], 8, |o| {
        let (mut head, mut jmp) = (label(o), label(o));
        o.a.xor(ecx, ecx)?;
        o.a.set_label(&mut head)?;
        o.a.add(rcx, 1)?;
        o.a.mov(edx, ecx)?;
        o.a.and(edx, 1)?;
        o.a.test(edx, edx)?;
        o.a.jne(jmp)?;
        o.a.dec(r13)?;
        o.a.je(o.stub[0])?;
        o.a.set_label(&mut jmp)?;
        o.a.jmp(head)
    })
}

/// An unchecked `dec r13` before the checked one: fuel 1 wraps and the
/// loop runs forever.
fn c5_double_dec() -> ObjectParts {
    single(&[Budget], &[], 8, |o| {
        let mut head = label(o);
        o.a.xor(ecx, ecx)?;
        o.a.set_label(&mut head)?;
        o.a.add(rcx, 1)?;
        o.a.dec(r13)?;
        back_edge(o, 0, head)
    })
}

/// After `dec r13`, a `jb` to a Bounds stub inside the block (never taken:
/// `dec` leaves the carry of the `add` before it) instead of the `jz`: the
/// fuel wraps and the loop never ends.
fn c5_dec_jb_stub() -> ObjectParts {
    single(&[Bounds, Budget], &[], 8, |o| {
        let mut head = label(o);
        o.a.xor(ecx, ecx)?;
        o.a.set_label(&mut head)?;
        o.a.add(rcx, 1)?;
        o.a.dec(r13)?;
        o.a.jb(o.stub[0])?;
        o.a.cmp(rcx, 0)?;
        o.a.je(o.stub[1])?;
        o.a.jmp(head)
    })
}

/// The fuel check's `jz` goes to a Bounds stub.
fn c5_wrong_stub() -> ObjectParts {
    single(&[Bounds], &[], 8, |o| {
        let mut head = label(o);
        o.a.set_label(&mut head)?;
        o.a.add(rcx, 1)?;
        back_edge(o, 0, head)
    })
}

/// r13 written other than by `dec`.
fn c5_add_r13() -> ObjectParts {
    single(&[Budget], &[], 8, |o| {
        let mut head = label(o);
        o.a.set_label(&mut head)?;
        o.a.add(r13, 2)?;
        back_edge(o, 0, head)
    })
}

/// The back edge is a `jnz` to the head after `dec r13` (never a Budget trap).
fn c5_jnz_back() -> ObjectParts {
    single(&[Budget], &[], 8, |o| {
        let mut head = label(o);
        o.a.set_label(&mut head)?;
        o.a.add(rcx, 1)?;
        o.a.cmp(rcx, rcx)?;
        o.a.jne(o.stub[0])?;
        o.a.jmp(head)
    })
}

// ---- C6: data as code, stack games ----

fn code_bytes() -> Vec<u8> {
    // mov eax, 42; ret (padded)
    let mut r = vec![0xb8, 42, 0, 0, 0, 0xc3];
    r.resize(32, 0xcc);
    r
}

/// `call rel32` into RODATA, which holds machine code.
fn c6_call_rodata() -> ObjectParts {
    object(&[], |o| {
        o.rodata = code_bytes();
        o.declare("f", 16, Some(vec![]));
        o.define("f");
        o.a.sub(rsp, 8).unwrap();
        o.a.call(o.lay.rodata).unwrap();
        o.a.add(rsp, 8).unwrap();
        o.a.ret().unwrap();
    })
}

/// `jmp rel32` into RODATA.
fn c6_jmp_rodata() -> ObjectParts {
    object(&[], |o| {
        o.rodata = code_bytes();
        o.declare("f", 8, Some(vec![]));
        o.define("f");
        o.a.jmp(o.lay.rodata).unwrap();
    })
}

/// `call rel32` to an import slot (its bytes are an address, run as code).
fn c6_call_slot() -> ObjectParts {
    object(&[], |o| {
        o.imports = 1;
        o.declare("f", 16, Some(vec![]));
        o.define("f");
        o.a.sub(rsp, 8).unwrap();
        o.a.call(o.lay.slots).unwrap();
        o.a.add(rsp, 8).unwrap();
        o.a.ret().unwrap();
    })
}

/// A store into `saved_rsp`, then a trap: the unwind stub loads the forged
/// stack pointer.
fn c6_store_saved_rsp() -> ObjectParts {
    single(&[Bounds], &[], 8, |o| {
        o.a.mov(rax, rsp)?;
        o.a.sub(rax, 64)?;
        o.a.mov(qword_ptr(r15), rax)?;
        o.a.jmp(o.stub[0])
    })
}

/// `ret` with rsp moved: returns into the trampoline's saved area.
fn c6_ret_moved_rsp() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.add(rsp, 8)?;
        o.a.ret()
    })
}

/// rsp truncated to 32 bits.
fn c6_rsp_truncated() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.mov(esp, esp)?;
        o.a.ret()
    })
}

/// A function writes trap_site itself and jumps to the unwind stub.
fn c6_forged_trap_site() -> ObjectParts {
    single(&[Bounds], &[], 8, |o| {
        o.a.mov(qword_ptr(r15 + 8), 77)?;
        o.a.jmp(o.unwind)
    })
}

// ---- C7: the atomic forms (`lock xadd`, `lock cmpxchg`, `xchg`) ----

/// `lock xadd` one qword past the end of the 64-byte statics.
fn c7_lock_past_data() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.mov(eax, 1)?;
        o.a.lock().xadd(qword_ptr(r14 + 64), rax)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// `xchg` on the context block's saved `rsp`: the unwind would return
/// through a plugin-chosen stack.
fn c7_xchg_context() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.xor(eax, eax)?;
        o.a.xchg(qword_ptr(r15), rax)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// `lock cmpxchg` on the trap-site field of the context block.
fn c7_cmpxchg_context() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.xor(eax, eax)?;
        o.a.mov(ecx, 5)?;
        o.a.lock().cmpxchg(qword_ptr(r15 + 8), rcx)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// A `lock` prefix on a form that is not on the list (`lock add [m], r`),
/// here adding to the context block's saved `rsp`.
fn c7_lock_other_form() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.mov(eax, 64)?;
        o.a.lock().add(qword_ptr(r15), rax)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// `lock cmpxchg` rewrites `rax` with the old value when the comparison
/// fails: a bound proved for `rax` before it (a copy of a compared `rcx`)
/// must not survive. The static holds 0x0200_0000, so `[r14 + rax*8]`
/// then reads the context block.
fn c7_cmpxchg_stale_rax() -> ObjectParts {
    single(&[Bounds], &[], 8, |o| {
        o.a.mov(ecx, 0x0200_0000)?;
        o.a.mov(qword_ptr(r14), rcx)?;
        o.a.xor(ecx, ecx)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.mov(rax, rcx)?;
        o.a.xor(edx, edx)?;
        o.a.lock().cmpxchg(qword_ptr(r14), rdx)?;
        o.a.mov(rax, qword_ptr(r14 + rax * 8))?;
        o.a.ret()
    })
}

/// `lock xadd` writes its register: a bound proved for it before must not
/// survive either (the old value 0x0200_0000 comes back in `rcx`).
fn c7_xadd_stale_reg() -> ObjectParts {
    single(&[Bounds], &[], 8, |o| {
        o.a.mov(ecx, 0x0200_0000)?;
        o.a.mov(qword_ptr(r14 + 8), rcx)?;
        o.a.xor(ecx, ecx)?;
        o.a.cmp(rcx, 8)?;
        o.a.jae(o.stub[0])?;
        o.a.lock().xadd(qword_ptr(r14 + 8), rcx)?;
        o.a.mov(rax, qword_ptr(r14 + rcx * 8))?;
        o.a.ret()
    })
}

/// `xchg` with `r14` as its register: the statics base would become the
/// static's value.
fn c7_xchg_r14() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.xchg(qword_ptr(r14), r14)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// A misaligned locked access (4 bytes at offset 58, inside the statics).
/// In a larger data region the same form at offset 62 would span two cache
/// lines: a split lock stalls every CPU and faults in the kernel where
/// split-lock detection is on. The oracle flags every misaligned atomic
/// access.
fn c7_lock_unaligned() -> ObjectParts {
    single(&[], &[], 8, |o| {
        o.a.mov(eax, 1)?;
        o.a.lock().xadd(dword_ptr(r14 + 58), eax)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

fn corpus() -> Vec<(&'static str, ObjectParts)> {
    vec![
        ("c1_cmp_jcc", c1_cmp_jcc()),
        ("c1_dec_jz", c1_dec_jz()),
        ("c1_mov_rdi_call", c1_mov_rdi_call()),
        ("c1_test_div", c1_test_div()),
        ("c1_xor_div", c1_xor_div()),
        ("c1_cqo_idiv", c1_cqo_idiv()),
        ("c1_mask_table", c1_mask_table()),
        ("c1_slice_cmp_jae", c1_slice_cmp_jae()),
        ("c1_back_edge_onto_jae", c1_back_edge_onto_jae()),
        ("c1_jump_past_bounds_check", c1_jump_past_bounds_check()),
        ("c2_second_entry", c2_second_entry()),
        ("c2_nested_second_entry", c2_nested_second_entry()),
        ("c2_fact_before_loop", c2_fact_before_loop()),
        ("c2_spill_overwritten", c2_spill_overwritten()),
        ("c2_slice_loop_second_entry", c2_slice_loop_second_entry()),
        ("c2_fresh_alias", c2_fresh_alias()),
        ("c2_masked_handle_clobbered", c2_masked_handle_clobbered()),
        ("c2_loop_block_after_latch", c2_loop_block_after_latch()),
        ("c3_clobber_rbx", c3_clobber(rbx, ebx)),
        ("c3_clobber_rbp", c3_clobber(rbp, ebp)),
        ("c3_clobber_r12", c3_clobber(r12, r12d)),
        ("c3_callee_writes_spill", c3_callee_writes_spill()),
        ("c4_store_imm_spill", c4_store_imm_spill()),
        ("c4_setcc_base", c4_setcc_base()),
        ("c4_store32_spill", c4_store32_spill()),
        ("c4_truncated_pointer", c4_truncated_pointer()),
        ("c4_cmp32_index64", c4_cmp32_index64()),
        ("c4_movsxd_index", c4_movsxd_index()),
        ("c4_r14d", c4_r14d()),
        ("c4_setcc_r15b", c4_setcc_r15b()),
        ("c4_r13d", c4_r13d()),
        ("c5_skip_check", c5_skip_check()),
        ("c5_double_dec", c5_double_dec()),
        ("c5_wrong_stub", c5_wrong_stub()),
        ("c5_dec_jb_stub", c5_dec_jb_stub()),
        ("c5_add_r13", c5_add_r13()),
        ("c5_jnz_back", c5_jnz_back()),
        ("c6_call_rodata", c6_call_rodata()),
        ("c6_jmp_rodata", c6_jmp_rodata()),
        ("c6_call_slot", c6_call_slot()),
        ("c6_store_saved_rsp", c6_store_saved_rsp()),
        ("c6_ret_moved_rsp", c6_ret_moved_rsp()),
        ("c6_rsp_truncated", c6_rsp_truncated()),
        ("c6_forged_trap_site", c6_forged_trap_site()),
        ("c7_lock_past_data", c7_lock_past_data()),
        ("c7_xchg_context", c7_xchg_context()),
        ("c7_cmpxchg_context", c7_cmpxchg_context()),
        ("c7_lock_other_form", c7_lock_other_form()),
        ("c7_cmpxchg_stale_rax", c7_cmpxchg_stale_rax()),
        ("c7_xadd_stale_reg", c7_xadd_stale_reg()),
        ("c7_xchg_r14", c7_xchg_r14()),
        ("c7_lock_unaligned", c7_lock_unaligned()),
        ("c8_sum_wrap64", c8_sum_wrap64()),
        ("c8_sum_add32", c8_sum_add32()),
        ("c8_sum_lea32", c8_sum_lea32()),
        ("c8_sum_disp_past", c8_sum_disp_past()),
        ("c8_sum_disp_negative", c8_sum_disp_negative()),
        ("c8_sum_redefined", c8_sum_redefined()),
        ("c8_sum_join_unchecked", c8_sum_join_unchecked()),
        ("c8_sum_back_edge", c8_sum_back_edge()),
        ("c8_sum_wrong_slice", c8_sum_wrong_slice()),
        ("c8_sum_scale_mismatch", c8_sum_scale_mismatch()),
        ("c8_sum_width_mismatch", c8_sum_width_mismatch()),
        ("c8_narrow_join", c8_narrow_join()),
        ("c8_narrow_spill_overwritten", c8_narrow_spill_overwritten()),
        ("c9_len_const_past", c9_len_const_past()),
        ("c9_len_wrong_edge", c9_len_wrong_edge()),
        ("c9_len_above_off_by_one", c9_len_above_off_by_one()),
        ("c9_len_wrong_slice", c9_len_wrong_slice()),
        ("c9_len_index_redefined", c9_len_index_redefined()),
        ("c9_len_join_untested", c9_len_join_untested()),
        ("c9_len_loop_handle", c9_len_loop_handle()),
        ("c9_len_write_readonly", c9_len_write_readonly()),
        ("c9_len_width_mismatch", c9_len_width_mismatch()),
        ("c9_len_disp_past", c9_len_disp_past()),
        ("c9_len_scale_mismatch", c9_len_scale_mismatch()),
    ]
    .into_iter()
    .chain(scaled::corpus())
    .collect()
}

/// The object is an escape (the oracle flags it with verification skipped)
/// and the verifier rejects it.
fn rejected(name: &str) {
    let parts = corpus()
        .into_iter()
        .find(|(n, _)| *n == name)
        .expect("in the corpus")
        .1;
    let bytes = kplc::kpo::write(&parts);
    let (v, _) = common::oracle::check_object(&bytes);
    assert!(
        !v.is_empty(),
        "{name}: the oracle sees nothing wrong: not an escape"
    );
    match common::verify(&bytes) {
        Ok(()) => panic!(
            "{name}: ACCEPTED by the verifier; the oracle saw:\n{}",
            v.join("\n")
        ),
        Err(r) => {
            if let Some(dir) = std::env::var_os("KPL_ADVERSARIAL_DIR") {
                std::fs::write(
                    std::path::Path::new(&dir).join(format!("redteam_{name}.{}.kpo", r.rule)),
                    &bytes,
                )
                .expect("write the corpus");
            }
        }
    }
}

/// Every object is an escape; prints the current verifier's verdicts.
#[test]
fn census() {
    let mut accepted = Vec::new();
    for (name, parts) in corpus() {
        let bytes = kplc::kpo::write(&parts);
        let (v, _) = common::oracle::check_object(&bytes);
        assert!(
            !v.is_empty(),
            "{name}: the oracle sees nothing wrong: not an escape"
        );
        match common::verify(&bytes) {
            Ok(()) => {
                eprintln!("ACCEPTED {name}: {}", v[0]);
                accepted.push(name);
            }
            Err(r) => eprintln!("rejected {name}: {r}  [oracle: {}]", v[0]),
        }
    }
    eprintln!(
        "{} of {} accepted by the current verifier: {accepted:?}",
        accepted.len(),
        corpus().len()
    );
}

macro_rules! cases {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {
        /// One test per object: an escape, and rejected by the verifier.
        mod must_reject {
            $(#[test] $(#[$m])* fn $name() { super::rejected(stringify!($name)); })*
        }
    };
}

cases!(
    c1_cmp_jcc,
    c1_dec_jz,
    c1_mov_rdi_call,
    c1_test_div,
    c1_xor_div,
    c1_cqo_idiv,
    c1_mask_table,
    c1_slice_cmp_jae,
    c1_back_edge_onto_jae,
    c1_jump_past_bounds_check,
    c2_second_entry,
    c2_nested_second_entry,
    c2_fact_before_loop,
    c2_spill_overwritten,
    c2_slice_loop_second_entry,
    c2_fresh_alias,
    c2_masked_handle_clobbered,
    c2_loop_block_after_latch,
    c3_clobber_rbx,
    c3_clobber_rbp,
    c3_clobber_r12,
    c3_callee_writes_spill,
    c4_store_imm_spill,
    c4_setcc_base,
    c4_store32_spill,
    c4_truncated_pointer,
    c4_cmp32_index64,
    c4_movsxd_index,
    c4_r14d,
    c4_setcc_r15b,
    c4_r13d,
    c5_skip_check,
    c5_double_dec,
    c5_wrong_stub,
    c5_dec_jb_stub,
    c5_add_r13,
    c5_jnz_back,
    c6_call_rodata,
    c6_jmp_rodata,
    c6_call_slot,
    c6_store_saved_rsp,
    c6_ret_moved_rsp,
    c6_rsp_truncated,
    c6_forged_trap_site,
    c7_lock_past_data,
    c7_xchg_context,
    c7_cmpxchg_context,
    c7_lock_other_form,
    c7_cmpxchg_stale_rax,
    c7_xadd_stale_reg,
    c7_xchg_r14,
    c7_lock_unaligned,
    c8_sum_wrap64,
    c8_sum_add32,
    c8_sum_lea32,
    c8_sum_disp_past,
    c8_sum_disp_negative,
    c8_sum_redefined,
    c8_sum_join_unchecked,
    c8_sum_back_edge,
    c8_sum_wrong_slice,
    c8_sum_scale_mismatch,
    c8_sum_width_mismatch,
    c8_narrow_join,
    c8_narrow_spill_overwritten,
    c9_len_const_past,
    c9_len_wrong_edge,
    c9_len_above_off_by_one,
    c9_len_wrong_slice,
    c9_len_index_redefined,
    c9_len_join_untested,
    c9_len_loop_handle,
    c9_len_write_readonly,
    c9_len_width_mismatch,
    c9_len_disp_past,
    c9_len_scale_mismatch,
    c10_scaled_no_test,
    c10_scaled_wrong_edge,
    c10_scaled_disp_past,
    c10_scaled_step_too_far,
    c10_scaled_other_base,
    c10_scaled_write_readonly,
    c10_scaled_scale_mismatch,
    c10_scaled_join_untested,
    c10_scaled_test_of_scalar,
    c10_scaled_loop_tests_other_length,
);
