//! The split image: `write_code` moves exactly the RIP-relative
//! displacements by the distance between the code part and the read-only
//! part, refuses what it cannot relocate without panicking, and together
//! with `write_ro` reproduces the contiguous image when the parts are placed
//! as in the virtual layout.

mod common;

use common::*;
use kpl_runtime_core::format::*;
use kpl_runtime_core::*;

/// Code of the sample (64 bytes; rodata_offset 64, slots at 72 and 80,
/// image_len 88), with the offset of every disp32 and its virtual target.
fn code() -> (Vec<u8>, Vec<(usize, u32)>) {
    let mut c = Vec::new();
    let mut fields = Vec::new();
    let mut rip = |c: &mut Vec<u8>, opcode: &[u8], target: u32| {
        c.extend_from_slice(opcode);
        let end = c.len() + 4;
        fields.push((c.len(), target));
        c.extend_from_slice(&(target as i32 - end as i32).to_le_bytes());
    };
    // a_fn, 0..32
    c.extend_from_slice(&[0xF3, 0x0F, 0x1E, 0xFA]); // endbr64
    rip(&mut c, &[0x48, 0x8D, 0x15], 65); // lea rdx, [rip -> rodata+1]
    rip(&mut c, &[0x8B, 0x05], 64); // mov eax, [rip -> rodata]
    c.extend_from_slice(&[0x4C, 0x89, 0xFF]); // mov rdi, r15
    rip(&mut c, &[0xFF, 0x15], 80); // call [rip -> slot 1]
    c.extend_from_slice(&[0xB8, 42, 0, 0, 0, 0xC3]); // mov eax, 42; ret
    assert_eq!(c.len(), 32);
    // b, 32..64
    c.extend_from_slice(&[0xF3, 0x0F, 0x1E, 0xFA]);
    rip(&mut c, &[0x48, 0x3B, 0x05], 64); // cmp rax, [rip -> rodata]
    rip(&mut c, &[0x0F, 0xB6, 0x05], 66); // movzx eax, byte [rip -> rodata+2]
    c.extend_from_slice(&[0xB8, 1, 0, 0, 0, 0xB8, 2, 0, 0, 0]);
    c.extend_from_slice(&[0x4C, 0x89, 0xFF, 0xC3]);
    assert_eq!(c.len(), 64);
    (c, fields)
}

fn object_with(code: Vec<u8>) -> Vec<u8> {
    let mut p = sample();
    *p.sec(SectionKind::Code) = code;
    p.build()
}

fn disp_at(c: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(c[at..at + 4].try_into().unwrap())
}

#[test]
fn ro_len_is_the_tail_of_the_virtual_layout() {
    let l = image_layout(64, 3, 2, 0).unwrap();
    assert_eq!(l.ro_len(), 88 - 64);
    assert_eq!(image_layout(5, 0, 0, 0).unwrap().ro_len(), 0);
}

#[test]
fn contiguous_placement_leaves_code_unchanged() {
    let (c, _) = code();
    let bytes = object_with(c.clone());
    let o = Object::parse(&bytes).unwrap();
    let mut out = vec![0u8; 4096];
    write_code(&o, &mut out, 64).unwrap();
    assert_eq!(&out[..64], &c[..]);
    assert!(out[64..].iter().all(|&b| b == 0xCC));
}

#[test]
fn split_parts_at_virtual_offsets_equal_the_contiguous_image() {
    let (c, _) = code();
    let bytes = object_with(c);
    let o = Object::parse(&bytes).unwrap();
    let l = o.layout();
    let mut whole = vec![0u8; l.image_len as usize];
    write_image(&o, &[0x1111, 0x2222], &mut whole).unwrap();
    let mut split = vec![0u8; l.image_len as usize];
    let (code_part, ro_part) = split.split_at_mut(l.rodata_offset as usize);
    write_code(&o, code_part, i64::from(l.rodata_offset)).unwrap();
    write_ro(&o, &[0x1111, 0x2222], ro_part).unwrap();
    assert_eq!(whole, split);
}

#[test]
fn displacements_move_by_exactly_the_placement() {
    let (c, fields) = code();
    let bytes = object_with(c.clone());
    let o = Object::parse(&bytes).unwrap();
    for delta in [0x1000i64, 0x7fff_0000, -0x2000, -0x7fff_0000, 64 + 16, 0] {
        let mut out = vec![0u8; 64];
        write_code(&o, &mut out, delta).unwrap();
        for (i, (&new, &old)) in out.iter().zip(&c).enumerate() {
            if !fields.iter().any(|&(f, _)| (f..f + 4).contains(&i)) {
                assert_eq!(new, old, "byte {i} changed with delta {delta:#x}");
            }
        }
        for &(f, target) in &fields {
            let d = disp_at(&out, f);
            assert_eq!(i64::from(d), i64::from(disp_at(&c, f)) + delta - 64);
            // The relocated operand reaches virtual offset `target` of the
            // image, i.e. byte `target - rodata_offset` of the read-only part.
            assert_eq!(
                (f + 4) as i64 + i64::from(d),
                delta + i64::from(target) - 64
            );
        }
    }
}

#[test]
fn displacement_overflow_is_refused() {
    let (c, _) = code();
    let bytes = object_with(c);
    let o = Object::parse(&bytes).unwrap();
    let mut out = vec![0u8; 64];
    for delta in [
        i64::from(i32::MAX) + 64,
        i64::from(i32::MIN),
        1 << 40,
        i64::MAX,
        i64::MIN,
    ] {
        let e = write_code(&o, &mut out, delta).unwrap_err();
        assert!(
            matches!(e, LinkError::Relocation { code_offset: 4, reason } if reason.contains("32 bits")),
            "{delta:#x}: {e:?}"
        );
    }
    let e = write_code(&o, &mut out[..63], 64).unwrap_err();
    assert_eq!(
        e,
        LinkError::BufferTooSmall {
            what: "code",
            needed: 64,
            got: 63
        }
    );
}

/// Replaces bytes `at..` of the sample code by `insn` and expects a
/// relocation error at `at`.
fn refused_at(at: usize, insn: &[u8], why: &str) {
    let (mut c, _) = code();
    c[at..at + insn.len()].copy_from_slice(insn);
    let bytes = object_with(c);
    let o = Object::parse(&bytes).unwrap();
    let mut out = vec![0u8; 64];
    match write_code(&o, &mut out, 0x10000) {
        Err(LinkError::Relocation {
            code_offset,
            reason,
        }) => {
            assert_eq!(code_offset as usize, at, "{reason}");
            assert!(reason.contains(why), "{reason}");
        }
        other => panic!("{insn:02x?}: {other:?}"),
    }
}

#[test]
fn unrelocatable_code_is_refused() {
    // mov qword [rip + 0x20], 1 (a store into the image, StoreImm).
    refused_at(
        4,
        &[0x48, 0xC7, 0x05, 0x20, 0, 0, 0, 1, 0, 0, 0],
        "not relocated",
    );
    // mov [rip + 0x20], eax (Store).
    refused_at(11, &[0x89, 0x05, 0x20, 0, 0, 0], "not relocated");
    // cmp byte [rip + 0x20], 0 (CmpMemImm).
    refused_at(11, &[0x80, 0x3D, 0x20, 0, 0, 0, 0], "not relocated");
    // syscall.
    refused_at(4, &[0x0F, 0x05], "undecodable");
    // lea into the code, not into the read-only part.
    refused_at(4, &[0x48, 0x8D, 0x15, 0xF0, 0xFF, 0xFF, 0xFF], "outside");
    // call [rip] to past the slots.
    refused_at(20, &[0xFF, 0x15, 0x40, 0, 0, 0], "outside");
    // An instruction running past the end of a_fn into b.
    refused_at(26, &[0x90, 0x90, 0x90, 0x90, 0x90, 0xB8], "undecodable");
    refused_at(31, &[0xB8], "past its function");
}

#[test]
fn bytes_after_the_functions_are_copied_as_they_are() {
    let (mut c, _) = code();
    // b now ends at 48: 36..43 cmp, 43..47 mov rdi,r15 + ret;
    // 48..64 stand for the trap stubs, here bytes that would decode as a
    // RIP-relative store.
    c[43..47].copy_from_slice(&[0x4C, 0x89, 0xFF, 0xC3]);
    c[47] = 0xCC;
    let tail = [
        0x89, 0x05, 1, 2, 3, 4, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC,
    ];
    c[48..].copy_from_slice(&tail);
    let mut p = sample();
    *p.sec(SectionKind::Code) = c.clone();
    let mut functions = Vec::new();
    for (name, off, len, stack) in [("a_fn", 0u32, 32u32, 16u32), ("b", 32, 15, 0)] {
        functions.extend_from_slice(&p.string(name));
        for v in [off, len, stack] {
            functions.extend_from_slice(&v.to_le_bytes());
        }
    }
    *p.sec(SectionKind::Functions) = functions;
    let bytes = p.build();
    let o = Object::parse(&bytes).unwrap();
    let mut out = vec![0u8; 64];
    write_code(&o, &mut out, 0x100).unwrap();
    assert_eq!(&out[47..], &c[47..]);
    assert_eq!(disp_at(&out, 39), disp_at(&c, 39) + 0x100 - 64);
}

#[test]
fn write_ro_places_rodata_then_slots() {
    let (c, _) = code();
    let bytes = object_with(c);
    let o = Object::parse(&bytes).unwrap();
    let mut ro = vec![0u8; 4096];
    write_ro(&o, &[0x1111, 0x2222], &mut ro).unwrap();
    assert_eq!(&ro[..3], b"abc");
    assert!(ro[3..8].iter().all(|&b| b == 0xCC));
    assert_eq!(&ro[8..16], &0x1111u64.to_le_bytes());
    assert_eq!(&ro[16..24], &0x2222u64.to_le_bytes());
    assert!(ro[24..].iter().all(|&b| b == 0xCC));
    assert_eq!(
        write_ro(&o, &[1, 2], &mut ro[..23]),
        Err(LinkError::BufferTooSmall {
            what: "read-only part",
            needed: 24,
            got: 23
        })
    );
    assert_eq!(
        write_ro(&o, &[1], &mut ro),
        Err(LinkError::BufferTooSmall {
            what: "slots",
            needed: 2,
            got: 1
        })
    );
}

#[test]
fn garbage_code_never_panics() {
    // A deterministic xorshift over many random codes, some seeded with
    // RIP-relative opcodes so that the relocation path is reached.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = vec![0u8; 64];
    let mut ok = 0;
    for round in 0..3000 {
        let (mut c, _) = code();
        let flips = 1 + next() % 6;
        for _ in 0..flips {
            let at = (next() % 64) as usize;
            c[at] = next() as u8;
        }
        if round % 3 == 0 {
            c.iter_mut().for_each(|b| *b = next() as u8);
        }
        let bytes = object_with(c);
        let o = Object::parse(&bytes).unwrap();
        let delta = (next() as i64) >> (next() % 64);
        if write_code(&o, &mut out, delta).is_ok() {
            ok += 1;
        }
    }
    assert!(ok > 0);
}
