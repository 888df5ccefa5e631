//! The host maps a plugin as two parts — code read+execute, rodata and
//! import slots read-only and never executable — and calls reach only
//! verified exports of the same instance, with arguments matching their
//! signatures.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::ops::Range;
use std::process::Command;

use common::*;
use kpl_host::{Arg, CallError, Instance};
use kpl_runtime_core::format::SectionKind;

/// A verified object with two exports, built by hand:
///
/// ```text
/// take(x: u8, s: []mut u16) -> u32:   0: endbr64; mov eax, edi; ret
/// get() -> u32:                       7: endbr64
///                                        lea rdx, [rip -> rodata]
///                                        movzx eax, byte [rdx + 2]
///                                        movzx ecx, byte [rip -> rodata + 1]
///                                        add eax, ecx; ret
/// unwind stub:                       32: mov rsp, [r15]; ret
/// ```
///
/// RODATA is "xyz" at virtual offset 48, one import slot at 56.
fn object() -> Vec<u8> {
    let mut p = Parts::default();
    let mut code = vec![0xF3, 0x0F, 0x1E, 0xFA, 0x89, 0xF8, 0xC3];
    code.extend_from_slice(&[0xF3, 0x0F, 0x1E, 0xFA]);
    code.extend_from_slice(&[0x48, 0x8D, 0x15]);
    code.extend_from_slice(&(48i32 - 18).to_le_bytes());
    code.extend_from_slice(&[0x0F, 0xB6, 0x42, 0x02]);
    code.extend_from_slice(&[0x0F, 0xB6, 0x0D]);
    code.extend_from_slice(&(49i32 - 29).to_le_bytes());
    code.extend_from_slice(&[0x01, 0xC8, 0xC3]);
    assert_eq!(code.len(), 32);
    code.extend_from_slice(&[0x49, 0x8B, 0x27, 0xC3]);
    *p.sec(SectionKind::Code) = code;
    *p.sec(SectionKind::Rodata) = b"xyz".to_vec();

    let mut imports = Vec::new();
    imports.extend_from_slice(&p.string("kernel"));
    imports.extend_from_slice(&p.string("clock_ns"));
    imports.extend_from_slice(&CLOCK_NS.to_le_bytes());
    *p.sec(SectionKind::Imports) = imports;

    let mut exports = Vec::new();
    exports.extend_from_slice(&p.string("get"));
    exports.extend_from_slice(&7u32.to_le_bytes());
    exports.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0]); // -> u32, ()
    exports.extend_from_slice(&p.string("take"));
    exports.extend_from_slice(&0u32.to_le_bytes());
    exports.extend_from_slice(&[3, 2, 0x01, 0x22, 0, 0, 0, 0]); // -> u32, (u8, []mut u16)
    *p.sec(SectionKind::Exports) = exports;

    let mut functions = Vec::new();
    for (name, off, len) in [("take", 0u32, 7u32), ("get", 7, 25)] {
        functions.extend_from_slice(&p.string(name));
        for v in [off, len, 8] {
            functions.extend_from_slice(&v.to_le_bytes());
        }
    }
    *p.sec(SectionKind::Functions) = functions;

    let mut map = p.string("t.kpl").to_vec();
    for v in [0u32, 1, 1] {
        map.extend_from_slice(&v.to_le_bytes());
    }
    *p.sec(SectionKind::SourceMap) = map;
    p.build()
}

/// The permissions (`r-xp`, …) of every mapping overlapping `range`.
fn protections(range: &Range<usize>) -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (lo, hi) = f.next()?.split_once('-')?;
            let (lo, hi) = (
                usize::from_str_radix(lo, 16).ok()?,
                usize::from_str_radix(hi, 16).ok()?,
            );
            (lo < range.end && range.start < hi).then(|| f.next().unwrap().to_string())
        })
        .collect()
}

#[test]
fn code_is_read_execute_and_rodata_read_only() {
    let inst = Instance::load(&object()).unwrap();
    let (code, ro) = inst.image_parts();
    assert_eq!(protections(&code), ["r-xp"]);
    assert_eq!(protections(&ro), ["r--p"]);
    // Guard pages on both sides of both parts, inaccessible.
    for g in [
        code.start - 4096..code.start,
        code.end..code.end + 4096,
        ro.start - 4096..ro.start,
        ro.end..ro.end + 4096,
    ] {
        assert_eq!(protections(&g), ["---p"], "{g:x?}");
    }
    assert!(ro.start.abs_diff(code.start) < 1 << 31);
    // The read-only part starts with RODATA, then the slot holds the
    // address of the host's clock_ns.
    // SAFETY: the read-only part is mapped readable for the life of `inst`.
    let ro_bytes = unsafe { std::slice::from_raw_parts(ro.start as *const u8, 16) };
    assert_eq!(&ro_bytes[..3], b"xyz");
    assert_ne!(u64::from_le_bytes(ro_bytes[8..16].try_into().unwrap()), 0);
}

#[test]
fn relocated_rip_operands_read_rodata() {
    let mut inst = Instance::load(&object()).unwrap();
    let get = inst.export("get").unwrap();
    assert_eq!(inst.call_scalars(get, &[], 10), Ok(u64::from(b'z' + b'y')));
    assert_eq!(inst.call(get, &mut [], 10), Ok(u64::from(b'z' + b'y')));
}

/// Run in a child process by `executing_rodata_faults`: jumps into the
/// read-only part, which must fault (SIGSEGV) rather than run.
#[test]
fn child_jump_into_rodata() {
    if std::env::var_os("KPL_NX_CHILD").is_none() {
        return;
    }
    let inst = Instance::load(&object()).unwrap();
    let (_, ro) = inst.image_parts();
    // The page is not executable, so fetching the first instruction faults
    // whatever the bytes are.
    // SAFETY: deliberately unsound, in a child process whose only purpose
    // is to show that this faults.
    let f: extern "C" fn() -> u64 = unsafe { std::mem::transmute(ro.start) };
    std::hint::black_box(f());
    std::process::exit(0); // not reached if the page is not executable
}

#[test]
fn executing_rodata_faults() {
    use std::os::unix::process::ExitStatusExt;
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_jump_into_rodata",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KPL_NX_CHILD", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
}

#[test]
fn calls_go_only_to_exports_of_the_same_instance() {
    let mut a = Instance::load(&object()).unwrap();
    let b = Instance::load(&object()).unwrap();
    assert!(a.export("nope").is_none());
    let get_b = b.export("get").unwrap();
    assert_eq!(
        a.call_scalars(get_b, &[], 10),
        Err(CallError::ForeignExport)
    );
    assert_eq!(a.call(get_b, &mut [], 10), Err(CallError::ForeignExport));
    assert!(a.export_info(get_b).is_none());
    let get_a = a.export("get").unwrap();
    assert_eq!(a.export_info(get_a).unwrap().name, "get");
    assert_ne!(get_a, get_b);
}

#[test]
fn arguments_must_match_the_signature() {
    let mut inst = Instance::load(&object()).unwrap();
    let take = inst.export("take").unwrap();
    let get = inst.export("get").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        inst.call_scalars(get, &[1], 10),
        Err(CallError::Arity {
            expected: 0,
            given: 1
        })
    );
    assert!(matches!(
        inst.call_scalars(take, &[7, 0], 10),
        Err(CallError::BadArgument { index: 1, .. })
    ));
    let mut cases: Vec<(Vec<Arg<'_>>, usize)> = Vec::new();
    let bufs: Vec<&mut [u8]> = buf.chunks_mut(2).collect();
    let mut bufs = bufs.into_iter();
    let mut next = || bufs.next().unwrap();
    // u8 out of range.
    cases.push((
        vec![
            Arg::Int(300),
            Arg::SliceMut {
                bytes: next(),
                elem_size: 2,
            },
        ],
        0,
    ));
    // A read-only slice for `[]mut u16`.
    cases.push((
        vec![
            Arg::Int(1),
            Arg::Slice {
                bytes: &[0, 0],
                elem_size: 2,
            },
        ],
        1,
    ));
    // Wrong element size.
    cases.push((
        vec![
            Arg::Int(1),
            Arg::SliceMut {
                bytes: next(),
                elem_size: 1,
            },
        ],
        1,
    ));
    // A slice for the scalar, an integer for the slice.
    cases.push((
        vec![
            Arg::SliceMut {
                bytes: next(),
                elem_size: 1,
            },
            Arg::Int(0),
        ],
        0,
    ));
    for (mut args, index) in cases {
        match inst.call(take, &mut args, 10) {
            Err(CallError::BadArgument { index: i, .. }) => assert_eq!(i as usize, index),
            other => panic!("{other:?}"),
        }
    }
    let mut ok = [0u8; 4];
    let mut args = [
        Arg::Int(7),
        Arg::SliceMut {
            bytes: &mut ok,
            elem_size: 2,
        },
    ];
    assert_eq!(inst.call(take, &mut args, 10), Ok(7));
}

/// `call_scalars` for an export with a slice parameter is refused however
/// many arguments it is given: 255 of them once matched the `u8::MAX`
/// marker that stood for "not every parameter is a scalar", and `take`
/// ran with an integer where its `[]mut u16` handle goes.
#[test]
fn scalar_calls_of_a_slice_export_are_refused_at_any_count() {
    let mut inst = Instance::load(&object()).unwrap();
    let take = inst.export("take").unwrap();
    let get = inst.export("get").unwrap();
    // The plugin code leaves `r13` alone, so the fuel left after a call is
    // the fuel it was given: a refused call leaves this 10.
    assert!(inst.call_scalars(get, &[], 10).is_ok());
    assert_eq!(inst.fuel_left(), 10);
    for n in [0usize, 1, 3, 6, 7, 254, 255, 256, 1000] {
        // 0 for the slice parameter: the range check of a parameter that
        // is not a scalar accepts 0 only, so this got past it too.
        let mut args = vec![0u64; n];
        if let Some(a) = args.first_mut() {
            *a = 7;
        }
        let want = CallError::Arity {
            expected: 2,
            given: n as u32,
        };
        assert_eq!(inst.call_scalars(take, &args, 1000), Err(want), "{n}");
        assert_eq!(inst.fuel_left(), 10, "{n} arguments: nothing may run");
    }
    // The right count: refused for the slice parameter.
    assert_eq!(
        inst.call_scalars(take, &[7, 0], 1000),
        Err(CallError::BadArgument {
            index: 1,
            why: kpl_host::Misfit::SliceParameter
        })
    );
    assert_eq!(inst.fuel_left(), 10);
}
