//! The oracle's own tests: every program the project ships compiles to an
//! object the verifier accepts and the oracle finds clean (no false
//! positives), and a few objects with one known fault are flagged.

mod common;

use common::oracle::{self, Arg, Outcome, Run};
use kpl_runtime_core::Object;
use std::rc::Rc;

#[test]
fn compiled_programs_are_clean() {
    let progs = common::programs();
    assert!(progs.len() > 100, "only {} programs compiled", progs.len());
    let (mut insns, mut runs) = (0u64, 0usize);
    let mut bad = Vec::new();
    for (name, parts) in &progs {
        let bytes = kplc::kpo::write(parts);
        if let Err(e) = common::verify(&bytes) {
            bad.push(format!("{name}: rejected by the verifier: {e}"));
            continue;
        }
        let (v, n) = oracle::check_object(&bytes);
        insns += n;
        runs += 1;
        for v in v {
            bad.push(format!("{name}: {v}"));
        }
    }
    eprintln!("{runs} programs run under the oracle, {insns} instructions");
    assert!(
        bad.is_empty(),
        "{} findings:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// `endbr64; <body>` as the only export `f`, frame 0.
fn run_body(body: impl Fn(&mut common::asm::Obj), args: Vec<Arg>) -> oracle::Report {
    let parts = common::asm::object(&[kplc::kpo::TrapKind::Budget], |o| {
        o.declare("f", 8, Some(vec![]));
        o.define("f");
        body(o);
    });
    let bytes = kplc::kpo::write(&parts);
    let obj = Object::parse(&bytes).expect("parse");
    let s = Rc::new(oracle::Static::new(&obj));
    oracle::run(
        &obj,
        &s,
        &Run {
            export: "f".into(),
            args,
            fuel: 10,
        },
    )
}

type Body = Box<dyn Fn(&mut common::asm::Obj)>;

#[test]
fn known_faults_are_flagged() {
    use iced_x86::code_asm::*;
    // A clean one first.
    let r = run_body(
        |o| {
            o.a.mov(eax, 7).unwrap();
            o.a.ret().unwrap();
        },
        vec![],
    );
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert_eq!(r.outcome, Outcome::Returned(7));
    let cases: Vec<(&str, Body)> = vec![
        (
            "write",
            Box::new(|o| {
                o.a.mov(qword_ptr(r15), rax).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "r14 changed",
            Box::new(|o| {
                o.a.add(r14, 8).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "past the end of the statics",
            Box::new(|o| {
                o.a.mov(rax, qword_ptr(r14 + 64)).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "CPU exception",
            Box::new(|o| {
                o.a.xor(ecx, ecx).unwrap();
                o.a.div(rcx).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "loop without fuel",
            Box::new(|o| {
                let mut l = o.a.create_label();
                o.a.set_label(&mut l).unwrap();
                o.a.add(rcx, 1).unwrap();
                o.a.jmp(l).unwrap();
            }),
        ),
        (
            "callee-saved",
            Box::new(|o| {
                o.a.xor(ebx, ebx).unwrap();
                o.a.ret().unwrap();
            }),
        ),
        (
            "slice 0 read-only",
            Box::new(|o| {
                o.a.mov(rdx, qword_ptr(r15 + 0x20)).unwrap();
                o.a.mov(byte_ptr(rdx), al).unwrap();
                o.a.ret().unwrap();
            }),
        ),
    ];
    for (what, body) in cases {
        let r = run_body(
            body,
            vec![Arg::Slice {
                bytes: vec![1; 16],
                writable: false,
            }],
        );
        assert!(
            !r.violations.is_empty(),
            "{what}: not flagged ({:?})",
            r.outcome
        );
        eprintln!("{what}: {}", r.violations[0]);
    }
}
