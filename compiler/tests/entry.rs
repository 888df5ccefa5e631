//! The host's entry path (`kpl-host`'s inline-assembly entry): a trap from
//! deep inside a call chain — after plugin code has overwritten `rbx`,
//! `rbp` and `r12` and moved `rsp` through several frames — must come back
//! to the host with every callee-saved register and the stack pointer as
//! they were, on every call path (`call`, `call_scalars`, `call_bound`),
//! and a budget trap must still report the fuel left. The registers are
//! checked directly: an assembly harness loads marker values into them,
//! runs the calls, and reports which ones changed. Before any of that,
//! `call` must refuse every argument that does not match its parameter
//! (a read-only buffer for `[]mut` above all) without running anything.

use std::ffi::c_void;

use kpl_host::{Arg, BoundArg, CallError, GuardedBuf, Instance, TrapKind};
use kplc::std_imports::ImportSources;

/// Calls down three levels with values live across every call (so each
/// level keeps them in callee-saved registers), then indexes `s`: an index
/// past the end traps in `leaf` with the whole chain on the stack.
/// `spin` traps on fuel the same way.
const SRC: &str = r#"
fn leaf(s: []u8, i: u32, n: u32) -> u32 {
    var t: u32 = 0;
    for k in 0..n {
        t = t * 31 + k;
    }
    return (s[i] as u32) + t;
}

fn level3(s: []u8, a: u32, b: u32, n: u32) -> u32 {
    let x = a * 3 + 1;
    let y = b * 5 + 2;
    let z = a ^ b;
    let r = leaf(s, a + b, n);
    return r + x + y + z;
}

fn level2(s: []u8, a: u32, b: u32, n: u32) -> u32 {
    let x = a * 7 + 3;
    let y = b * 11 + 4;
    let z = a | b;
    let r = level3(s, a, b, n);
    return r + x + y + z;
}

export fn deep(s: []u8, a: u32, b: u32, n: u32) -> u32 {
    let x = a * 13 + 5;
    let y = b * 17 + 6;
    let z = a & b;
    let r = level2(s, a, b, n);
    return r + x + y + z;
}

export fn two(a: []u8, n: u32, b: []u8) -> u32 {
    return a.len + n + b.len;
}

export fn fill(out: []mut u16) -> u32 {
    out[0] = 7;
    return out.len;
}

export fn deep_scalar(a: u32, b: u32, n: u32) -> u32 {
    let x = a * 19 + 7;
    let y = b * 23 + 8;
    let z = a + b;
    var t: u32 = 0;
    for k in 0..n {
        t = t + k;
    }
    if a > 100 {
        abort;
    }
    return t + x + y + z;
}
"#;

/// What `deep` returns for in-range arguments, computed the same way.
fn deep_expected(s: &[u8], a: u32, b: u32, n: u32) -> u32 {
    let w = u32::wrapping_add;
    let m = u32::wrapping_mul;
    let t = (0..n).fold(0u32, |t, k| w(m(t, 31), k));
    let leaf = w(u32::from(s[(a + b) as usize]), t);
    let l3 = w(w(w(leaf, w(m(a, 3), 1)), w(m(b, 5), 2)), a ^ b);
    let l2 = w(w(w(l3, w(m(a, 7), 3)), w(m(b, 11), 4)), a | b);
    w(w(w(l2, w(m(a, 13), 5)), w(m(b, 17), 6)), a & b)
}

fn compile() -> (Vec<u8>, String) {
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(SRC, &imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let c = kplc::codegen::compile(&a.file, &a.program);
    (
        kplc::object::write(&c, "entry.kpl", SRC),
        kplc::codegen::disassemble(&c),
    )
}

// `with_marked_registers(f, arg)`: sets rbx, rbp, r12–r15 to marker
// values, calls `f(arg)` (a System V function, which must preserve them),
// and returns a bit per register that did not come back: rbx 0, rbp 1,
// r12 2, r13 3, r14 4, r15 5, and bit 6 if rsp moved. The host's own
// values are restored before returning.
std::arch::global_asm!(
    ".globl kpl_test_with_marked_registers",
    "kpl_test_with_marked_registers:",
    "push rbx",
    "push rbp",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    // rsp is 16-byte aligned here (entry: 8 mod 16, then 56 bytes), so the
    // call below is made as the ABI wants; the slot remembers rsp.
    "mov [rsp], rsp",
    "movabs rbx, 0x1b1b1b1b1b1b1b1b",
    "movabs rbp, 0x2b2b2b2b2b2b2b2b",
    "movabs r12, 0x3c3c3c3c3c3c3c3c",
    "movabs r13, 0x4d4d4d4d4d4d4d4d",
    "movabs r14, 0x5e5e5e5e5e5e5e5e",
    "movabs r15, 0x6f6f6f6f6f6f6f6f",
    "mov rax, rdi",
    "mov rdi, rsi",
    "call rax",
    "xor eax, eax",
    "movabs rcx, 0x1b1b1b1b1b1b1b1b",
    "cmp rbx, rcx",
    "setne dl",
    "movzx edx, dl",
    "or eax, edx",
    "movabs rcx, 0x2b2b2b2b2b2b2b2b",
    "cmp rbp, rcx",
    "setne dl",
    "movzx edx, dl",
    "shl edx, 1",
    "or eax, edx",
    "movabs rcx, 0x3c3c3c3c3c3c3c3c",
    "cmp r12, rcx",
    "setne dl",
    "movzx edx, dl",
    "shl edx, 2",
    "or eax, edx",
    "movabs rcx, 0x4d4d4d4d4d4d4d4d",
    "cmp r13, rcx",
    "setne dl",
    "movzx edx, dl",
    "shl edx, 3",
    "or eax, edx",
    "movabs rcx, 0x5e5e5e5e5e5e5e5e",
    "cmp r14, rcx",
    "setne dl",
    "movzx edx, dl",
    "shl edx, 4",
    "or eax, edx",
    "movabs rcx, 0x6f6f6f6f6f6f6f6f",
    "cmp r15, rcx",
    "setne dl",
    "movzx edx, dl",
    "shl edx, 5",
    "or eax, edx",
    "cmp [rsp], rsp",
    "setne dl",
    "movzx edx, dl",
    "shl edx, 6",
    "or eax, edx",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbp",
    "pop rbx",
    "ret",
);

unsafe extern "sysv64" {
    fn kpl_test_with_marked_registers(
        f: unsafe extern "sysv64" fn(*mut c_void),
        arg: *mut c_void,
    ) -> u64;
}

/// Runs `body` with the marker values in the callee-saved registers and
/// returns the mask of registers it changed.
fn registers_changed_by(body: &mut dyn FnMut()) -> u64 {
    extern "sysv64" fn trampoline(arg: *mut c_void) {
        // SAFETY: `arg` is the `&mut &mut dyn FnMut()` passed below, live
        // for the duration of the harness call.
        let body = unsafe { &mut *arg.cast::<&mut dyn FnMut()>() };
        // A panic must not unwind through the assembly harness.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
            std::process::abort();
        }
    }
    let mut body = body;
    // SAFETY: the harness saves and restores every callee-saved register
    // and calls `trampoline` as a System V function with `arg`.
    unsafe {
        kpl_test_with_marked_registers(trampoline, (&mut body as *mut &mut dyn FnMut()).cast())
    }
}

// A function that breaks the ABI on purpose: it returns with r12 changed.
std::arch::global_asm!(
    ".globl kpl_test_clobber_r12",
    "kpl_test_clobber_r12:",
    "mov r12, 7",
    "ret",
);

unsafe extern "sysv64" {
    fn kpl_test_clobber_r12(arg: *mut c_void);
}

#[test]
fn the_harness_sees_a_register_that_is_not_restored() {
    // The check itself must be able to fail.
    // SAFETY: the harness restores the host's r12 itself before returning,
    // whatever the function left in it.
    let mask =
        unsafe { kpl_test_with_marked_registers(kpl_test_clobber_r12, std::ptr::null_mut()) };
    assert_eq!(mask, 1 << 2);
}

#[test]
fn the_test_plugin_overwrites_the_callee_saved_registers() {
    // Otherwise the tests below would prove nothing about them.
    let (_, listing) = compile();
    for reg in ["rbx", "rbp", "r12"] {
        assert!(
            listing.contains(&format!("push    {reg}")),
            "no function of the test plugin uses {reg}:\n{listing}"
        );
    }
}

#[test]
fn a_deep_trap_restores_every_host_register_on_each_call_path() {
    let (object, _) = compile();
    let mut inst = Instance::load(&object).expect("loads");
    let deep = inst.export("deep").expect("deep");
    let deep_scalar = inst.export("deep_scalar").expect("deep_scalar");
    let bytes: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
    let mut results = Vec::new();
    let mask = registers_changed_by(&mut || {
        for round in 0..200u32 {
            let (a, b) = (round % 30, round % 7);
            let mut args = [
                Arg::Slice {
                    bytes: &bytes,
                    elem_size: 1,
                },
                Arg::Int(u64::from(a)),
                Arg::Int(u64::from(b)),
                Arg::Int(5),
            ];
            results.push(inst.call(deep, &mut args, 1000));
            // Index 64 + b: past the end, from three calls down.
            args[1] = Arg::Int(64);
            results.push(inst.call(deep, &mut args, 1000));
            // A budget trap in the leaf's loop.
            args[1] = Arg::Int(u64::from(a));
            args[3] = Arg::Int(1_000_000);
            results.push(inst.call(deep, &mut args, 50));
            results.push(inst.call_scalars(deep_scalar, &[u64::from(a), 1, 3], 1000));
            results.push(inst.call_scalars(deep_scalar, &[101, 1, 3], 1000));
        }
    });
    assert_eq!(mask, 0, "registers changed by the calls (bit per register)");
    for (k, chunk) in results.chunks(5).enumerate() {
        let (a, b) = (k as u32 % 30, k as u32 % 7);
        assert_eq!(chunk[0], Ok(u64::from(deep_expected(&bytes, a, b, 5))));
        let kind = |r: &Result<u64, CallError>| match r {
            Err(CallError::Trap(t)) => Some(t.kind),
            _ => None,
        };
        assert_eq!(kind(&chunk[1]), Some(TrapKind::Bounds), "{:?}", chunk[1]);
        assert_eq!(kind(&chunk[2]), Some(TrapKind::Budget), "{:?}", chunk[2]);
        // t = 0 + 1 + 2, x = a * 19 + 7, y = 1 * 23 + 8, z = a + 1.
        let expected = 3 + (a * 19 + 7) + 31 + (a + 1);
        assert_eq!(chunk[3], Ok(u64::from(expected)));
        assert_eq!(kind(&chunk[4]), Some(TrapKind::Abort), "{:?}", chunk[4]);
    }
    // The last call was the abort: fuel as it was at the trap.
    assert!(inst.fuel_left() > 0 && inst.fuel_left() < 1000);
    let mut args = [
        Arg::Slice {
            bytes: &bytes,
            elem_size: 1,
        },
        Arg::Int(1),
        Arg::Int(1),
        Arg::Int(1_000_000),
    ];
    assert!(matches!(
        inst.call(deep, &mut args, 50),
        Err(CallError::Trap(_))
    ));
    assert_eq!(inst.fuel_left(), 0, "a budget trap leaves no fuel");
}

#[test]
fn bound_calls_restore_host_registers_after_a_trap() {
    let (object, _) = compile();
    let mut inst = Instance::load(&object).expect("loads");
    let deep = inst.export("deep").expect("deep");
    let buf = GuardedBuf::new(&[9u8; 16]).expect("maps");
    let bound = inst.bind(buf, false).ok().expect("binds");
    let mut results = Vec::new();
    let mask = registers_changed_by(&mut || {
        for a in 0..40u64 {
            let args = [
                BoundArg::Slice(bound),
                BoundArg::Int(a),
                BoundArg::Int(0),
                BoundArg::Int(2),
            ];
            results.push(inst.call_bound(deep, &args, 1000));
        }
    });
    assert_eq!(mask, 0, "registers changed by the calls (bit per register)");
    for (a, r) in results.iter().enumerate() {
        if a < 16 {
            let s = [9u8; 16];
            assert_eq!(*r, Ok(u64::from(deep_expected(&s, a as u32, 0, 2))));
        } else {
            assert!(
                matches!(r, Err(CallError::Trap(t)) if t.kind == TrapKind::Bounds),
                "{r:?}"
            );
        }
    }
}

#[test]
fn a_call_needing_more_slots_than_are_free_names_the_first_slice_left_out() {
    let (object, _) = compile();
    let mut inst = Instance::load(&object).expect("loads");
    let two = inst.export("two").expect("two");
    let (a, b) = ([1u8; 3], [2u8; 5]);
    let call = |inst: &mut Instance| {
        let mut args = [
            Arg::Slice {
                bytes: &a,
                elem_size: 1,
            },
            Arg::Int(10),
            Arg::Slice {
                bytes: &b,
                elem_size: 1,
            },
        ];
        inst.call(two, &mut args, 1000)
    };
    let mut bound = Vec::new();
    for k in 0..8 {
        // With 6 slots bound both slices fit; with 7 only the first.
        let expected = match k {
            0..=6 => Ok(18),
            7 => Err(2),
            _ => unreachable!(),
        };
        let got = call(&mut inst).map_err(|e| match e {
            CallError::BadArgument { index, why } => {
                assert_eq!(why, kpl_host::Misfit::NoFreeSlot, "{why}");
                index as usize
            }
            other => panic!("{other:?}"),
        });
        assert_eq!(got, expected, "with {k} slots bound");
        let buf = GuardedBuf::new(&[0u8; 4]).expect("maps");
        bound.push(inst.bind(buf, false).ok().expect("binds"));
    }
    // All 8 bound: the first slice finds no slot.
    assert!(matches!(
        call(&mut inst),
        Err(CallError::BadArgument { index: 0, .. })
    ));
    // Slots freed again serve the next call.
    for b in bound.drain(..2) {
        assert!(inst.unbind(b).is_some());
    }
    assert_eq!(call(&mut inst), Ok(18));
}

/// `call` refuses every argument that does not match its parameter, with
/// the reason and the argument's index, before anything runs or any slot
/// is filled (the fast path and the general one share the check); a call
/// that matches still works afterwards, with its slices in their slots.
#[test]
fn call_refuses_mismatched_arguments_before_anything_runs() {
    let (object, _) = compile();
    let mut inst = Instance::load(&object).expect("loads");
    let two = inst.export("two").expect("two");
    let fill = inst.export("fill").expect("fill");
    let (a, b) = ([1u8; 3], [2u8; 5]);
    let mut out = [0u8; 9];
    let slice = |bytes| Arg::Slice {
        bytes,
        elem_size: 1,
    };
    let expect_bad = |r: Result<u64, CallError>, index: usize, reason: &str| match r {
        Err(CallError::BadArgument { index: i, why }) => {
            assert_eq!(i as usize, index, "{why}");
            assert!(why.as_str().contains(reason), "{why}");
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        inst.call(two, &mut [slice(&a), Arg::Int(10), slice(&b)], 1000),
        Ok(18)
    );
    let fuel = inst.fuel_left();
    let r = inst.call(two, &mut [Arg::Int(0), Arg::Int(10), slice(&b)], 1000);
    expect_bad(r, 0, "an integer for a slice");
    let r = inst.call(two, &mut [slice(&a), slice(&b), slice(&b)], 1000);
    expect_bad(r, 1, "a slice for a scalar");
    let r = inst.call(two, &mut [slice(&a), Arg::Int(1 << 32), slice(&b)], 1000);
    expect_bad(r, 1, "out of range");
    let wide = Arg::Slice {
        bytes: &b,
        elem_size: 2,
    };
    let r = inst.call(two, &mut [slice(&a), Arg::Int(10), wide], 1000);
    expect_bad(r, 2, "element size");
    let read_only = Arg::Slice {
        bytes: &out,
        elem_size: 2,
    };
    let r = inst.call(fill, &mut [read_only], 1000);
    expect_bad(r, 0, "read-only slice for a `[]mut`");
    assert_eq!(
        inst.call(two, &mut [slice(&a), Arg::Int(10)], 1000),
        Err(CallError::Arity {
            expected: 3,
            given: 2
        })
    );
    let other = Instance::load(&object).expect("loads");
    let foreign = other.export("two").expect("two");
    assert_eq!(
        inst.call(foreign, &mut [slice(&a), Arg::Int(10), slice(&b)], 1000),
        Err(CallError::ForeignExport)
    );
    assert_eq!(inst.fuel_left(), fuel, "a refused call ran plugin code");
    // A writable buffer: `[]T` gets it read-only, `[]mut u16` writable, in
    // whole elements (9 bytes are 4 u16s).
    let r = inst.call(
        two,
        &mut [
            slice(&a),
            Arg::Int(1),
            Arg::SliceMut {
                bytes: &mut out,
                elem_size: 1,
            },
        ],
        1000,
    );
    assert_eq!(r, Ok(13));
    let r = inst.call(
        fill,
        &mut [Arg::SliceMut {
            bytes: &mut out,
            elem_size: 2,
        }],
        1000,
    );
    assert_eq!(r, Ok(4));
    assert_eq!(u16::from_ne_bytes([out[0], out[1]]), 7);
    assert_eq!(
        inst.call(two, &mut [slice(&a), Arg::Int(10), slice(&b)], 1000),
        Ok(18)
    );
}

/// Each arity's entry block (`kpl-host`'s `enter_plugin` has one per
/// argument count and loads only those registers): every parameter must
/// arrive in its own register, in order, on each call path. The exports
/// weigh their parameters by distinct powers of 16, so a swapped, missing
/// or stale register changes the result.
#[test]
fn each_arity_gets_its_arguments_in_order_on_each_call_path() {
    const ARITIES: &str = r#"
export fn a0() -> u64 { return 7; }
export fn a1(a: u64) -> u64 { return a; }
export fn a2(a: u64, b: u64) -> u64 { return a + b * 16; }
export fn a3(a: u64, b: u64, c: u64) -> u64 { return a + b * 16 + c * 256; }
export fn a4(a: u64, b: u64, c: u64, d: u64) -> u64 {
    return a + b * 16 + c * 256 + d * 4096;
}
export fn a5(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    return a + b * 16 + c * 256 + d * 4096 + e * 65536;
}
export fn a6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64 {
    return a + b * 16 + c * 256 + d * 4096 + e * 65536 + f * 1048576;
}
"#;
    let (imports, _) = ImportSources::embedded().load();
    let a = kpl_lang::analyze(ARITIES, &imports);
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let c = kplc::codegen::compile(&a.file, &a.program);
    let object = kplc::object::write(&c, "arities.kpl", ARITIES);
    let mut inst = Instance::load(&object).expect("loads");
    let args: [u64; 6] = [1, 2, 3, 4, 5, 6];
    for n in 0..=6usize {
        let e = inst.export(&format!("a{n}")).expect("export");
        let expected = if n == 0 {
            7
        } else {
            (0..n).map(|k| args[k] << (4 * k)).sum()
        };
        // A six-argument call first, so that a block failing to load a
        // register would more likely find a wrong value than a right one.
        let six = inst.export("a6").expect("a6");
        assert_eq!(inst.call_scalars(six, &[9; 6], 10), Ok(0x99_9999));
        assert_eq!(inst.call_scalars(e, &args[..n], 10), Ok(expected), "a{n}");
        let mut boxed: Vec<Arg<'_>> = args[..n].iter().map(|&v| Arg::Int(v)).collect();
        assert_eq!(inst.call(e, &mut boxed, 10), Ok(expected), "a{n} by call");
        let bound: Vec<BoundArg> = args[..n].iter().map(|&v| BoundArg::Int(v)).collect();
        assert_eq!(
            inst.call_bound(e, &bound, 10),
            Ok(expected),
            "a{n} by call_bound"
        );
    }
}

/// A slice of 4 GiB or more is refused before anything runs: every
/// length-table entry must stay below 2^32 (a KPL `.len` is a `u32`, and
/// the verifier relies on it). The 4 GiB are a private anonymous mapping
/// with no reservation: readable zero pages, none of them touched.
#[test]
fn a_slice_of_four_gib_is_refused() {
    let (object, _) = compile();
    let mut inst = Instance::load(&object).expect("loads");
    let two = inst.export("two").expect("two");
    let len = kpl_host::MAX_SLICE_BYTES;
    // SAFETY: a fresh private anonymous mapping, owned here and unmapped
    // below; nothing else refers to it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap of 4 GiB");
    {
        // SAFETY: `p` is `len` readable bytes (zero pages on demand) that
        // live until the `munmap` below, after the last use of `big`.
        let big: &[u8] = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
        let small = [2u8; 5];
        let mut args = [
            Arg::Slice {
                bytes: big,
                elem_size: 1,
            },
            Arg::Int(10),
            Arg::Slice {
                bytes: &small,
                elem_size: 1,
            },
        ];
        match inst.call(two, &mut args, 1000) {
            Err(CallError::BadArgument { index: 0, why }) => {
                assert_eq!(why, kpl_host::Misfit::TooLong, "{why}");
            }
            other => panic!("{other:?}"),
        }
        // One byte less is a slice like any other (its first bytes are 0).
        args[0] = Arg::Slice {
            bytes: &big[..len - 1],
            elem_size: 1,
        };
        assert!(inst.call(two, &mut args, 1000).is_ok());
    }
    // SAFETY: the mapping made above, no longer borrowed.
    assert_eq!(unsafe { libc::munmap(p, len) }, 0);
}
