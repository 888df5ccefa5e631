//! Address leaks: objects that try to hand a host address (a stack, code
//! or kernel address) to the plugin's own data, where a result or a store
//! could reveal it. The execution oracle judges memory accesses and control
//! transfers, not where values came from, so these are judged by the
//! verifier's verdict alone: each must be REJECTED.
//!
//! Three kinds: registers an import's host code leaves behind, the return
//! address, and stack bytes a function reads without having written them
//! (junk left by host code, an interrupt or an earlier callee; the
//! written-bytes rule of `book/src/runtime/sandbox.md`).
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
