//! The oracle's own tests: every program the project ships compiles to an
//! object the verifier accepts and the oracle finds clean (no false
//! positives), and a few objects with one known fault are flagged.

mod common;

use common::oracle::{self, Arg, Engine, Outcome, Run};
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
fn body_object(body: impl Fn(&mut common::asm::Obj)) -> Vec<u8> {
    let parts = common::asm::object(&[kplc::kpo::TrapKind::Budget], |o| {
        o.declare("f", 8, Some(vec![]));
        o.define("f");
        body(o);
    });
    kplc::kpo::write(&parts)
}

/// Runs `f` of `bytes` once with fuel 10, in `engine` or in a new one.
fn run_f(bytes: &[u8], args: Vec<Arg>, engine: Option<&mut Engine>) -> oracle::Report {
    let obj = Object::parse(bytes).expect("parse");
    let s = Rc::new(oracle::Static::new(&obj));
    let run = Run {
        export: "f".into(),
        args,
        fuel: 10,
    };
    match engine {
        Some(e) => e.run(&obj, &s, &run),
        None => oracle::run(&obj, &s, &run),
    }
}

fn run_body(body: impl Fn(&mut common::asm::Obj), args: Vec<Arg>) -> oracle::Report {
    run_f(&body_object(body), args, None)
}

type Body = Box<dyn Fn(&mut common::asm::Obj)>;

/// The objects of [`known_faults_are_flagged`]: one clean, then one fault
/// each.
fn fault_cases() -> Vec<(&'static str, Body)> {
    use iced_x86::code_asm::*;
    vec![
        (
            "clean",
            Box::new(|o| {
                o.a.mov(eax, 7).unwrap();
                o.a.ret().unwrap();
            }),
        ),
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
    ]
}

fn ro_slice() -> Vec<Arg> {
    vec![Arg::Slice {
        bytes: vec![1; 16],
        writable: false,
    }]
}

#[test]
fn known_faults_are_flagged() {
    let mut cases = fault_cases().into_iter();
    let (_, clean) = cases.next().expect("clean");
    let r = run_body(clean, vec![]);
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert_eq!(r.outcome, Outcome::Returned(7));
    for (what, body) in cases {
        let r = run_body(body, ro_slice());
        assert!(
            !r.violations.is_empty(),
            "{what}: not flagged ({:?})",
            r.outcome
        );
        eprintln!("{what}: {}", r.violations[0]);
    }
}

/// unicorn-engine 2.1.5's `mem_write` leaves the blocks translated from the
/// old bytes in its cache: a reused engine must invalidate them itself.
/// (If this ever fails, unicorn started to invalidate on its own; the
/// engine's invalidation stays correct.)
#[test]
fn unicorn_keeps_stale_translations() {
    use unicorn_engine::unicorn_const::{Arch, Mode, Prot};
    use unicorn_engine::{RegisterX86, Unicorn};
    let mut uc = Unicorn::new(Arch::X86, Mode::MODE_64).expect("unicorn");
    uc.mem_map(0x10000, 0x1000, Prot::ALL).expect("map");
    // One instruction, with the stop address elsewhere (unicorn
    // invalidates the block that ends at the stop address, as the oracle's
    // stop address is outside the image).
    let run = |uc: &mut Unicorn<'_, ()>, code: &[u8]| {
        uc.mem_write(0x10000, code).expect("write");
        uc.emu_start(0x10000, 0x20000, 0, 1).expect("run");
        uc.reg_read(RegisterX86::RAX).expect("rax")
    };
    // mov eax, imm32; nop
    assert_eq!(run(&mut uc, &[0xb8, 7, 0, 0, 0, 0x90]), 7);
    assert_eq!(
        run(&mut uc, &[0xb8, 9, 0, 0, 0, 0x90]),
        7,
        "stale block ran"
    );
    uc.ctl_remove_cache(0x10001, 0x10002).expect("invalidate");
    assert_eq!(run(&mut uc, &[0xb8, 9, 0, 0, 0, 0x90]), 9);
}

/// Object A, then B at the same address in the same engine: B's code runs,
/// not A's translation, including when the two differ in one byte inside a
/// block (the immediate of `mov eax, imm`), and back again.
#[test]
fn reused_engine_runs_the_new_code() {
    use iced_x86::code_asm::*;
    let object = |v: u32| {
        body_object(move |o| {
            o.a.xor(ecx, ecx).unwrap();
            o.a.mov(eax, v).unwrap();
            o.a.add(eax, ecx).unwrap();
            o.a.ret().unwrap();
        })
    };
    let (a, b) = (object(7), object(9));
    assert_eq!(a.len(), b.len());
    let mut e = Engine::new();
    let mut first = 0;
    for (k, (bytes, want)) in [(&a, 7), (&b, 9), (&b, 9), (&a, 7), (&b, 9)]
        .into_iter()
        .enumerate()
    {
        let r = run_f(bytes, vec![], Some(&mut e));
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert_eq!(r.outcome, Outcome::Returned(want));
        if k == 0 {
            first = e.invalidated;
        }
    }
    // After the first load (the whole image), only the immediate's byte
    // was rewritten and invalidated, three times.
    assert_eq!(e.image_loads, 4);
    assert_eq!(e.invalidated - first, 3);
}

/// One engine, reused over the shipped programs and the known faults in
/// two orders, gives for every invocation the report a fresh engine gives.
#[test]
fn reused_engine_matches_fresh_engines() {
    // (name, object, whether its runs get the known faults' slice)
    let mut objects: Vec<(String, Vec<u8>, bool)> = common::programs()
        .iter()
        .step_by(7)
        .map(|(name, parts)| (name.clone(), kplc::kpo::write(parts), false))
        .collect();
    for (what, body) in fault_cases() {
        objects.push((what.to_string(), body_object(body), true));
    }
    let mut e = Engine::new();
    let (mut runs, mut flagged) = (0, 0);
    for pass in 0..2 {
        if pass == 1 {
            objects.reverse();
        }
        for (name, bytes, slice) in &objects {
            let obj = Object::parse(bytes).expect("parse");
            let s = Rc::new(oracle::Static::new(&obj));
            let mut all = oracle::default_runs(&obj);
            for r in all.iter_mut().filter(|_| *slice) {
                r.args = ro_slice();
            }
            for r in &all {
                let reused = e.run(&obj, &s, r);
                let fresh = oracle::run(&obj, &s, r);
                assert_eq!(reused, fresh, "{name}: {r:?}");
                runs += 1;
                flagged += usize::from(!fresh.violations.is_empty());
            }
        }
    }
    eprintln!("{runs} runs agree, {flagged} of them flagged");
    assert!(flagged >= 12, "only {flagged} runs flagged");
}

/// The atomic forms run under the oracle: a compiled plugin using every
/// atomic built-in (in straight-line code, so each locked instruction the
/// object contains is executed) returns what the semantics say, with no
/// finding; and the object does contain `lock xadd`, `lock cmpxchg` and
/// `xchg` on memory, so unicorn executed them and the oracle's memory hook
/// saw their accesses.
#[test]
fn atomic_forms_run_clean() {
    let src = "\
static c: u32 = 0;
static a: [u16; 4] = [0; 4];

export fn f(x: u64) -> u64 {
    let o1 = atomic_add(c, 5);
    let o2 = atomic_sub(c, 2);
    let o3 = atomic_cas(c, 3, 40);
    let o4 = atomic_cas(c, 3, 7);
    let o5 = atomic_swap(a[x], 9);
    atomic_store(a[x], 11);
    let o6 = atomic_load(a[x]);
    let o7 = atomic_load(c);
    return o1 as u64 + (o2 as u64) * 10 + (o3 as u64) * 100 + (o4 as u64) * 1000
        + (o5 as u64) * 100000 + (o6 as u64) * 1000000 + (o7 as u64) * 100000000;
}
";
    let (imports, _) = kplc::std_imports::ImportSources::embedded().load();
    let a = kpl_lang::analyze(src, &imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let c = kplc::codegen::compile(&a.file, &a.program);
    let bytes = kplc::kpo::write(&kplc::object::parts(&c, "atomic.kpl", src));
    common::verify(&bytes).expect("the verifier accepts kplc's atomic forms");
    let obj = Object::parse(&bytes).expect("parse");
    let (mut xadd, mut cmpxchg, mut xchg) = (0, 0, 0);
    let code = obj.code();
    let mut at = 0;
    while at < code.len() {
        let Ok(insn) = kpl_runtime_core::decode::decode(&code[at..]) else {
            break; // the trap stubs' padding
        };
        match insn.op {
            kpl_runtime_core::decode::Op::LockXadd { .. } => xadd += 1,
            kpl_runtime_core::decode::Op::LockCmpxchg { .. } => cmpxchg += 1,
            kpl_runtime_core::decode::Op::Xchg { .. } => xchg += 1,
            _ => {}
        }
        at += usize::from(insn.len);
    }
    assert_eq!((xadd, cmpxchg, xchg), (2, 2, 2), "locked forms in the code");
    // 0 + 5*10 + 3*100 + 40*1000 + 0 + 11*10^6 + 40*10^8
    let want = 50 + 300 + 40_000 + 11_000_000 + 4_000_000_000;
    for x in 0..4 {
        let r = run_f(&bytes, vec![Arg::Int(x)], None);
        assert!(r.violations.is_empty(), "x = {x}: {:?}", r.violations);
        assert_eq!(r.outcome, Outcome::Returned(want), "x = {x}");
    }
    let r = run_f(&bytes, vec![Arg::Int(4)], None);
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert!(matches!(r.outcome, Outcome::Trapped(_)), "{:?}", r.outcome);
}
