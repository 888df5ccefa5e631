//! The joins forget registers that are dead at their block
//! (`cfg::liveness`, `book/src/runtime/sandbox.md` §2 and §3). Forgetting
//! only weakens a state, so it can never let an object through; what could
//! go wrong is the other way: a read the liveness sets miss would make the
//! verifier forget a register the program still needs, and reject good
//! code. These objects read a register *implicitly* right after a join —
//! the operands an instruction's encoding does not name, and the registers
//! `ret` and an import call check — where the proof the instruction needs
//! was made before the join. Each must be accepted, and each is run under
//! the execution oracle, which must see nothing wrong. The last tests pin
//! the point of forgetting: a loop that reloads an address into a scratch
//! register runs its header once.
mod common;
use common::asm::{Obj, R, object, single};
use iced_x86::code_asm::*;
use kpl_runtime_core::verify::OwnedWorkspace;
use kpl_runtime_core::{Object, ScalarType, ValType};
use kplc::kpo::ObjectParts;
use kplc::kpo::TrapKind::{Bounds, Budget, DivByZero, Overflow};

const U64: ValType = ValType::Scalar(ScalarType::U64);
const I64: ValType = ValType::Scalar(ScalarType::I64);

/// `test rdi, rdi; je join; mov r9d, 1; join:` — a join of two paths that
/// agree on every register but `r9`, which nothing reads after.
fn join_here(o: &mut Obj) -> R {
    let mut join = o.a.create_label();
    o.a.test(rdi, rdi)?;
    o.a.je(join)?;
    o.a.mov(r9d, 1)?;
    o.a.set_label(&mut join)?;
    Ok(())
}

/// `div rcx` reads `rdx` (proved zero) and `rax` without naming them.
fn div_reads_rdx_rax() -> ObjectParts {
    single(&[DivByZero], &[U64, U64], 8, |o| {
        o.a.mov(rcx, rsi)?;
        o.a.test(rcx, rcx)?;
        o.a.je(o.stub[0])?;
        o.a.mov(rax, rdi)?;
        o.a.xor(edx, edx)?;
        join_here(o)?;
        o.a.div(rcx)?;
        o.a.ret()
    })
}

/// `idiv rcx` reads the sign `cqo` put in `rdx` before the join.
fn idiv_reads_cqo_sign() -> ObjectParts {
    single(&[DivByZero, Overflow], &[I64, I64], 8, |o| {
        o.a.mov(rcx, rsi)?;
        o.a.test(rcx, rcx)?;
        o.a.je(o.stub[0])?;
        o.a.cmp(rcx, -1)?;
        o.a.je(o.stub[1])?;
        o.a.mov(rax, rdi)?;
        o.a.cqo()?;
        join_here(o)?;
        o.a.idiv(rcx)?;
        o.a.ret()
    })
}

/// An import call reads the context in `rdi` (and checks the other
/// argument registers hold no address) without naming them.
fn import_reads_context() -> ObjectParts {
    object(&[], |o| {
        o.imports = 1;
        o.declare("f", 16, Some(vec![U64]));
        o.define("f");
        o.a.sub(rsp, 8).unwrap();
        o.a.mov(rax, rdi).unwrap();
        o.a.xor(esi, esi).unwrap();
        o.a.xor(edx, edx).unwrap();
        o.a.xor(ecx, ecx).unwrap();
        o.a.xor(r8d, r8d).unwrap();
        o.a.mov(rdi, r15).unwrap();
        o.a.xor(r9d, r9d).unwrap();
        let mut join = o.a.create_label();
        o.a.test(rax, rax).unwrap();
        o.a.je(join).unwrap();
        o.a.mov(r10d, 1).unwrap();
        o.a.set_label(&mut join).unwrap();
        o.call_import(0);
        o.a.add(rsp, 8).unwrap();
        o.a.xor(eax, eax).unwrap();
        o.a.ret().unwrap();
    })
}

/// `ret` reads the callee-saved registers (they must hold their entry
/// values) and `rax` (it must hold no address).
fn ret_reads_saved_and_rax() -> ObjectParts {
    single(&[], &[U64], 8, |o| {
        o.a.mov(eax, 7)?;
        join_here(o)?;
        o.a.ret()
    })
}

/// A shift by `cl` reads `rcx` as data.
fn shift_reads_cl() -> ObjectParts {
    single(&[], &[U64, U64], 8, |o| {
        o.a.mov(ecx, esi)?;
        o.a.mov(rax, rdi)?;
        join_here(o)?;
        o.a.shl(rax, cl)?;
        o.a.ret()
    })
}

/// `lock cmpxchg` reads `rax` (the expected value) as data.
fn cmpxchg_reads_rax() -> ObjectParts {
    single(&[], &[U64, U64], 8, |o| {
        o.a.mov(eax, edi)?;
        join_here(o)?;
        o.a.lock().cmpxchg(qword_ptr(r14 + 8), rsi)?;
        o.a.xor(eax, eax)?;
        o.a.ret()
    })
}

/// `setb al` writes only the low byte: the upper bits of `rax` (zero, no
/// address) come from before the join.
fn setcc_keeps_upper_bits() -> ObjectParts {
    single(&[], &[U64, U64], 8, |o| {
        o.a.xor(eax, eax)?;
        join_here(o)?;
        o.a.cmp(rdi, rsi)?;
        o.a.setb(al)?;
        o.a.ret()
    })
}

fn implicit_reads() -> Vec<(&'static str, ObjectParts)> {
    vec![
        ("div_reads_rdx_rax", div_reads_rdx_rax()),
        ("idiv_reads_cqo_sign", idiv_reads_cqo_sign()),
        ("import_reads_context", import_reads_context()),
        ("ret_reads_saved_and_rax", ret_reads_saved_and_rax()),
        ("shift_reads_cl", shift_reads_cl()),
        ("cmpxchg_reads_rax", cmpxchg_reads_rax()),
        ("setcc_keeps_upper_bits", setcc_keeps_upper_bits()),
    ]
}

#[test]
fn implicit_reads_after_a_join_are_live() {
    let mut wrong = Vec::new();
    for (name, parts) in implicit_reads() {
        let bytes = kplc::kpo::write(&parts);
        if let Err(e) = common::verify(&bytes) {
            wrong.push(format!("{name}: rejected: {e}"));
        }
        let (v, _) = common::oracle::check_object(&bytes);
        if !v.is_empty() {
            wrong.push(format!("{name}: the oracle saw: {}", v.join("; ")));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `f(n, _, _)`: a loop over `i < n` that reloads the address of a
/// read-only table into `rdx` each time round (as kplc does for a constant
/// table indexed in a loop) and reads entry `i & 7`. Blocks: the entry,
/// the loop (one block: its bounds and fuel checks branch to trap stubs)
/// and the exit. `rdx` holds no address on entry (it is a parameter) and
/// one on the back edge. It is dead at the loop header unless
/// `read_rdx_first`: then the loop adds it to its sum before reloading it.
fn table_loop(read_rdx_first: bool) -> ObjectParts {
    object(&[Bounds, Budget], |o| {
        o.rodata = (0u8..32).collect();
        o.declare("f", 8, Some(vec![U64, U64, U64]));
        o.define("f");
        let (mut head, mut exit) = (o.a.create_label(), o.a.create_label());
        o.a.xor(ecx, ecx).unwrap();
        o.a.xor(esi, esi).unwrap();
        o.a.cmp(rcx, rdi).unwrap();
        o.a.jae(exit).unwrap();
        o.a.set_label(&mut head).unwrap();
        if read_rdx_first {
            o.a.add(rsi, rdx).unwrap();
        }
        o.lea_rodata(rdx, 0);
        o.a.mov(r8, rcx).unwrap();
        o.a.and(r8d, 7).unwrap();
        o.a.cmp(r8, 8).unwrap();
        o.a.jae(o.stub[0]).unwrap();
        o.a.mov(eax, dword_ptr(rdx + r8 * 4)).unwrap();
        o.a.add(esi, eax).unwrap();
        o.a.add(rcx, 1).unwrap();
        o.a.dec(r13).unwrap();
        o.a.je(o.stub[1]).unwrap();
        o.a.cmp(rcx, rdi).unwrap();
        o.a.jb(head).unwrap();
        o.a.set_label(&mut exit).unwrap();
        o.a.mov(rax, rsi).unwrap();
        o.a.ret().unwrap();
    })
}

#[test]
fn a_scratch_address_does_not_rerun_the_loop() {
    let bytes = kplc::kpo::write(&table_loop(false));
    let obj = Object::parse(&bytes).expect("parses");
    let verified = OwnedWorkspace::for_object(&obj)
        .verify(&obj)
        .expect("accepted");
    // Entry, loop, exit: each once. Without forgetting `rdx` at the
    // header, its address bit from the back edge changed the header's
    // state and the loop ran twice (4 runs).
    assert_eq!(verified.block_runs, 3);
    let (v, _) = common::oracle::check_object(&bytes);
    assert!(v.is_empty(), "the oracle saw: {}", v.join("\n"));
}

/// The same loop with `rdx` live at the header (read as data before it is
/// reloaded): nothing may be forgotten, and the address the back edge
/// brings makes that read an error.
#[test]
fn a_live_scratch_address_is_not_forgotten() {
    let parts = table_loop(true);
    let bytes = kplc::kpo::write(&parts);
    let e = common::verify(&bytes).expect_err("the back edge's address is read as data");
    assert_eq!(e.rule, "pointer", "{e}");
}
