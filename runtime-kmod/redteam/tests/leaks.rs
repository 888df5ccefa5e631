//! Address leaks: objects that try to hand a host address (a stack, code
//! or kernel address) to the plugin's own data, where a result or a store
//! could reveal it. The execution oracle judges memory accesses and control
//! transfers, not where values came from, so these are judged by the
//! verifier's verdict alone: each must be REJECTED.
//!
//! The kinds: registers an import's host code leaves behind, the return
//! address, stack bytes a function reads without having written them
//! (junk left by host code, an interrupt or an earlier callee; the
//! written-bytes rule of `book/src/runtime/sandbox.md`), registers the entry
//! path leaves (laundering them through renaming included), and host values
//! passed to an import, which may print them.
mod common;
use common::asm::object;
use iced_x86::code_asm::*;
use kpl_runtime_core::{ScalarType, ValType};
use kplc::kpo::ObjectParts;

fn cases() -> Vec<(&'static str, ObjectParts)> {
    vec![
        (
            "uninit_frame_read",
            object(&[], |o| {
                o.declare("f", 16, Some(vec![]));
                o.define("f");
                o.a.sub(rsp, 8).unwrap();
                o.a.mov(rax, qword_ptr(rsp)).unwrap();
                o.a.add(rsp, 8).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "uninit_below_read_after_import",
            object(&[], |o| {
                o.imports = 1;
                o.declare("f", 64, Some(vec![]));
                o.define("f");
                o.a.sub(rsp, 8).unwrap();
                o.a.mov(rdi, r15).unwrap();
                o.call_import(0);
                o.a.sub(rsp, 32).unwrap();
                o.a.mov(rax, qword_ptr(rsp)).unwrap();
                o.a.add(rsp, 40).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "import_junk_rcx",
            object(&[], |o| {
                o.imports = 1;
                o.declare("f", 16, Some(vec![]));
                o.define("f");
                o.a.sub(rsp, 8).unwrap();
                o.a.mov(rdi, r15).unwrap();
                o.call_import(0);
                o.a.mov(rax, rcx).unwrap();
                o.a.add(rsp, 8).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "return_address_read",
            object(&[], |o| {
                o.declare("f", 8, Some(vec![]));
                o.define("f");
                o.a.mov(rax, qword_ptr(rsp)).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "callee_reads_return_address",
            object(&[], |o| {
                o.declare("f", 32, Some(vec![]));
                let g = o.declare("g", 8, None);
                o.define("f");
                o.a.sub(rsp, 8).unwrap();
                o.a.call(g).unwrap();
                o.a.add(rsp, 8).unwrap();
                o.a.ret().unwrap();
                o.define("g");
                o.a.mov(rax, qword_ptr(rsp)).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "push_rsp",
            object(&[], |o| {
                o.declare("f", 16, Some(vec![]));
                o.define("f");
                o.a.push(rsp).unwrap();
                o.a.pop(rax).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "stale_callee_frame",
            object(&[], |o| {
                o.declare("f", 64, Some(vec![]));
                let g = o.declare("g", 32, None);
                o.define("f");
                o.a.sub(rsp, 8).unwrap();
                o.a.call(g).unwrap();
                o.a.sub(rsp, 16).unwrap();
                o.a.mov(rax, qword_ptr(rsp)).unwrap();
                o.a.add(rsp, 24).unwrap();
                o.a.ret().unwrap();
                o.define("g");
                // The context's address, spilled and popped: it stays in the
                // memory under the caller's rsp.
                o.a.mov(rcx, r15).unwrap();
                o.a.push(rcx).unwrap();
                o.a.pop(rcx).unwrap();
                o.a.ret().unwrap();
            }),
        ),
    ]
}

fn rejected(name: &str) {
    let (_, parts) = cases()
        .into_iter()
        .find(|(n, _)| *n == name)
        .expect("in the list");
    let bytes = kplc::kpo::write(&parts);
    if common::verify(&bytes).is_ok() {
        panic!("{name}: ACCEPTED by the verifier: a host address reaches plugin data");
    }
}

/// `rcx` after an import call holds whatever the host left there.
#[test]
fn import_junk_rcx() {
    rejected("import_junk_rcx");
}

/// The return address (a code address of the caller or the trampoline).
#[test]
fn return_address_read() {
    rejected("return_address_read");
}

#[test]
fn callee_reads_return_address() {
    rejected("callee_reads_return_address");
}

#[test]
fn push_rsp() {
    rejected("push_rsp");
}

/// A callee's spilled address stays under the caller's rsp.
#[test]
fn stale_callee_frame() {
    rejected("stale_callee_frame");
}

/// The bytes under a fresh frame are whatever was there.
#[test]
fn uninit_frame_read() {
    rejected("uninit_frame_read");
}

/// An import's own frames lie under the caller's `rsp`.
#[test]
fn uninit_below_read_after_import() {
    rejected("uninit_below_read_after_import");
}

/// An export called with one parameter (`rdi`) that moves `src` to `rax`
/// and returns, or (`store`) stores it in its statics first.
fn export_reading(src: AsmRegister64, store: bool) -> ObjectParts {
    object(&[], |o| {
        o.declare("f", 8, Some(vec![ValType::Scalar(ScalarType::U64)]));
        o.define("f");
        if store {
            o.a.mov(qword_ptr(r14), src).unwrap();
            o.a.xor(eax, eax).unwrap();
        } else {
            o.a.mov(rax, src).unwrap();
        }
        o.a.ret().unwrap();
    })
}

/// What the host's (and the kernel's) entry path leaves in registers that
/// are not the export's parameters: `r10` the saved stack address, `r11`
/// the entry address, `rbx`/`rbp`/`r12` the host's own values (a frame
/// pointer), and the argument registers past the export's arity. An
/// export may read only its parameters and `rax` (0 at entry, set by both
/// trampolines): returning or storing any other entry value is rejected,
/// while the parameter and `rax` are accepted.
#[test]
fn entry_registers_other_than_parameters() {
    for (name, r) in [
        ("r10", r10),
        ("r11", r11),
        ("rbx", rbx),
        ("rbp", rbp),
        ("r12", r12),
        ("rsi", rsi),
        ("rcx", rcx),
        ("r9", r9),
    ] {
        for store in [false, true] {
            let bytes = kplc::kpo::write(&export_reading(r, store));
            let verdict = common::verify(&bytes);
            assert!(
                verdict.is_err(),
                "{name} (store: {store}): ACCEPTED: an entry value reaches the plugin"
            );
        }
    }
    for (name, r) in [("rdi", rdi), ("rax", rax)] {
        for store in [false, true] {
            let bytes = kplc::kpo::write(&export_reading(r, store));
            let verdict = common::verify(&bytes);
            assert!(verdict.is_ok(), "{name} (store: {store}): {verdict:?}");
        }
    }
}

/// The rule `entry_registers_other_than_parameters` first tested looked
/// at value *names* (an export's reads of its entry values): a host value the plugin never read under its
/// entry name got a new one and was then free to return. Each object below
/// was accepted before the entry state marked those registers as possible
/// host addresses (a property of locations that survives every renaming):
/// the value pushed, then pushed out of the verifier's slot table by twelve
/// more pushes and reloaded from the untracked slot; copied on one path of a
/// join (the join renames it); pushed on one path of a join and popped
/// after it; and left in a register for a plugin function that launders it
/// through a join and returns it to the export.
#[test]
fn host_values_laundered_through_renaming() {
    let regs = [
        ("r10", r10),
        ("r11", r11),
        ("rbp", rbp),
        ("rbx", rbx),
        ("r12", r12),
        ("rsi", rsi),
        ("r9", r9),
    ];
    for (name, src) in regs {
        for pushes in [12i32, 13, 20] {
            let parts = object(&[], |o| {
                let frame = 8 + 8 * (pushes as u32 + 1);
                o.declare("f", frame, Some(vec![ValType::Scalar(ScalarType::U64)]));
                o.define("f");
                o.a.push(src).unwrap();
                for _ in 0..pushes {
                    o.a.push(rbx).unwrap();
                }
                o.a.mov(rax, qword_ptr(rsp + 8 * pushes)).unwrap();
                o.a.add(rsp, 8 * (pushes + 1)).unwrap();
                o.a.ret().unwrap();
            });
            let verdict = common::verify(&kplc::kpo::write(&parts));
            assert!(
                verdict.is_err(),
                "{name} evicted after {pushes} pushes: ACCEPTED"
            );
        }
        let joined = |push: bool| {
            object(&[], |o| {
                o.declare("f", 16, Some(vec![ValType::Scalar(ScalarType::U64)]));
                o.define("f");
                if push {
                    pop_after_join(o, src);
                } else {
                    return_through_join(o, src);
                }
            })
        };
        for push in [false, true] {
            let verdict = common::verify(&kplc::kpo::write(&joined(push)));
            assert!(
                verdict.is_err(),
                "{name} renamed at a join (push: {push}): ACCEPTED"
            );
        }
        // `f(x)` calls `g`, which returns `src` (f's host value, never
        // written) after a join renamed it; `f` returns what `g` returned.
        let parts = object(&[], |o| {
            let g = o.declare("g", 8, None);
            o.declare("f", 16, Some(vec![ValType::Scalar(ScalarType::U64)]));
            o.define("g");
            return_through_join(o, src);
            o.define("f");
            o.a.sub(rsp, 8).unwrap();
            o.a.call(g).unwrap();
            o.a.add(rsp, 8).unwrap();
            o.a.ret().unwrap();
        });
        let verdict = common::verify(&kplc::kpo::write(&parts));
        assert!(verdict.is_err(), "{name} laundered by a callee: ACCEPTED");
    }
    // The parameter itself, through the same shapes, is the plugin's own.
    let parts = object(&[], |o| {
        o.declare("f", 16, Some(vec![ValType::Scalar(ScalarType::U64)]));
        o.define("f");
        return_through_join(o, rdi);
    });
    let verdict = common::verify(&kplc::kpo::write(&parts));
    assert!(verdict.is_ok(), "the parameter through a join: {verdict:?}");
}

/// `if rdi { rcx = src } else { rcx = 0 }; return rcx`: the join gives
/// `rcx` a new name for the pair (`src`'s value, 0).
fn return_through_join(o: &mut common::asm::Obj, src: AsmRegister64) {
    let mut other = o.a.create_label();
    let mut join = o.a.create_label();
    o.a.test(rdi, rdi).unwrap();
    o.a.jz(other).unwrap();
    o.a.mov(rcx, src).unwrap();
    o.a.jmp(join).unwrap();
    o.a.set_label(&mut other).unwrap();
    o.a.xor(ecx, ecx).unwrap();
    o.a.set_label(&mut join).unwrap();
    o.a.mov(rax, rcx).unwrap();
    o.a.ret().unwrap();
}

/// `if rdi { push src } else { push rdi }; pop rax; ret`: the join gives
/// the slot a new name for the pair.
fn pop_after_join(o: &mut common::asm::Obj, src: AsmRegister64) {
    let mut other = o.a.create_label();
    let mut join = o.a.create_label();
    o.a.test(rdi, rdi).unwrap();
    o.a.jz(other).unwrap();
    o.a.push(src).unwrap();
    o.a.jmp(join).unwrap();
    o.a.set_label(&mut other).unwrap();
    o.a.push(rdi).unwrap();
    o.a.set_label(&mut join).unwrap();
    o.a.pop(rax).unwrap();
    o.a.ret().unwrap();
}

/// An export `f(x)` that zeroes the argument registers, puts `src` (after
/// `before`) into `dest` and calls import 0 with the context in `rdi`.
fn import_called_with(
    src: AsmRegister64,
    dest: AsmRegister64,
    before: impl Fn(&mut common::asm::Obj),
) -> ObjectParts {
    object(&[], |o| {
        o.imports = 1;
        o.declare("f", 32, Some(vec![ValType::Scalar(ScalarType::U64)]));
        o.define("f");
        o.a.sub(rsp, 8).unwrap();
        before(o);
        o.a.mov(r11, rdi).unwrap();
        for r in [esi, edx, ecx, r8d, r9d] {
            o.a.xor(r, r).unwrap();
        }
        o.a.mov(dest, src).unwrap();
        o.a.mov(rdi, r15).unwrap();
        o.call_import(0);
        o.a.add(rsp, 8).unwrap();
        o.a.ret().unwrap();
    })
}

/// An import reads its arguments as integers and may show them (`log_u64`
/// prints one to the kernel log): a host address in any argument register
/// would leak it. Each entry value that is not a parameter (`r10` the saved
/// kernel stack address, `r11`, `rbx`, `rbp`, `r12`), the context's address,
/// an earlier import's leftovers and a host value spilled and reloaded, in
/// each of the five argument registers: rejected. The parameter (copied
/// through `r11` before the registers are cleared) is accepted.
#[test]
fn host_values_passed_to_imports() {
    let dests = [
        ("rsi", rsi),
        ("rdx", rdx),
        ("rcx", rcx),
        ("r8", r8),
        ("r9", r9),
    ];
    let nothing = |_: &mut common::asm::Obj| {};
    for (dname, dest) in dests {
        for (sname, src) in [
            ("r10", r10),
            ("rbx", rbx),
            ("rbp", rbp),
            ("r12", r12),
            ("ctx", r15),
        ] {
            let bytes = kplc::kpo::write(&import_called_with(src, dest, nothing));
            assert!(
                common::verify(&bytes).is_err(),
                "{sname} passed to an import in {dname}: ACCEPTED"
            );
        }
        // Leftovers of an earlier import call: `rax` aside, every
        // caller-saved register holds whatever the host left.
        let after_import = |o: &mut common::asm::Obj| {
            o.a.push(rdi).unwrap();
            o.a.sub(rsp, 8).unwrap();
            o.a.mov(rdi, r15).unwrap();
            o.call_import(0);
            o.a.add(rsp, 8).unwrap();
            o.a.pop(rdi).unwrap();
        };
        let bytes = kplc::kpo::write(&import_called_with(rax, dest, |o| {
            after_import(o);
            o.a.mov(rax, r10).unwrap();
        }));
        assert!(
            common::verify(&bytes).is_err(),
            "an earlier import's r10 passed in {dname}: ACCEPTED"
        );
        // A host value spilled and reloaded keeps what it is.
        let bytes = kplc::kpo::write(&import_called_with(rax, dest, |o| {
            o.a.mov(qword_ptr(rsp), r10).unwrap();
            o.a.mov(rax, qword_ptr(rsp)).unwrap();
        }));
        assert!(
            common::verify(&bytes).is_err(),
            "r10 spilled and reloaded, passed in {dname}: ACCEPTED"
        );
        let bytes = kplc::kpo::write(&import_called_with(r11, dest, nothing));
        let verdict = common::verify(&bytes);
        assert!(verdict.is_ok(), "the parameter in {dname}: {verdict:?}");
    }
    // Without the clearing, an export of one parameter leaves its host's
    // values in rsi…r9.
    let parts = object(&[], |o| {
        o.imports = 1;
        o.declare("f", 16, Some(vec![ValType::Scalar(ScalarType::U64)]));
        o.define("f");
        o.a.sub(rsp, 8).unwrap();
        o.a.mov(rsi, rdi).unwrap();
        o.a.mov(rdi, r15).unwrap();
        o.call_import(0);
        o.a.add(rsp, 8).unwrap();
        o.a.ret().unwrap();
    });
    assert!(
        common::verify(&kplc::kpo::write(&parts)).is_err(),
        "an export's registers past its arity passed to an import: ACCEPTED"
    );
}
