//! The parser accepts the sample object and refuses each kind of damage with
//! the right error and byte offset; the linker and image writers behave.

mod common;

use common::*;
use kpl_runtime_core::format::*;
use kpl_runtime_core::*;

use LoadErrorKind as K;
use SectionKind as S;

/// File offset of section `kind` in `bytes` (read back from the table).
fn section_at(bytes: &[u8], kind: SectionKind) -> usize {
    let count = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| 32 + 12 * i)
        .find(|&e| u32::from_le_bytes(bytes[e..e + 4].try_into().unwrap()) == kind as u32)
        .map(|e| u32::from_le_bytes(bytes[e + 4..e + 8].try_into().unwrap()) as usize)
        .unwrap()
}

/// Applies `edit` to the sample's sections, rebuilds, and returns the error.
fn refuse(edit: impl FnOnce(&mut Parts)) -> (LoadError, Vec<u8>) {
    let mut p = sample();
    edit(&mut p);
    let bytes = p.build();
    let e = Object::parse(&bytes).expect_err("object should be refused");
    (e, bytes)
}

fn put32(v: &mut [u8], at: usize, x: u32) {
    v[at..at + 4].copy_from_slice(&x.to_le_bytes());
}

#[test]
fn sample_parses_with_all_contents() {
    let bytes = sample().build();
    let o = Object::parse(&bytes).unwrap();
    assert_eq!(o.code().len(), 64);
    assert_eq!(o.rodata(), b"abc");
    assert_eq!(o.data_init(), &[1, 2]);
    let l = o.layout();
    assert_eq!(
        (
            l.code_len,
            l.rodata_offset,
            l.rodata_len,
            l.slots_offset,
            l.slot_count,
            l.image_len,
            l.data_size
        ),
        (64, 64, 3, 72, 2, 88, 16)
    );
    let imports: Vec<_> = o
        .imports()
        .map(|i| (i.slot, i.module, i.name, i.sig_hash))
        .collect();
    assert_eq!(
        imports,
        [
            (0, "kernel", "clock_ns", CLOCK_NS),
            (1, "kernel", "log", LOG)
        ]
    );
    let a = o.export("a_fn").unwrap();
    assert_eq!(a.code_offset, 0);
    assert_eq!(
        a.signature.params(),
        &[
            ValType::Scalar(ScalarType::U8),
            ValType::Slice {
                elem: ScalarType::U16,
                writable: true
            }
        ]
    );
    assert_eq!(a.signature.ret, Some(ScalarType::I32));
    assert_eq!(o.exports().count(), 2);
    assert_eq!(
        o.functions().map(|f| f.stack_bound).collect::<Vec<_>>(),
        [16, 0]
    );
    assert_eq!(o.function_containing(33).unwrap().name, "b");
    assert_eq!(
        o.trap_site(1),
        Some(TrapSite {
            kind: TrapKind::Budget,
            code_offset: 40
        })
    );
    assert_eq!(o.source_file(), "t.kpl");
    assert_eq!(o.location_of(9), Some((1, 1)));
    assert_eq!(o.location_of(10), Some((2, 5)));
    assert_eq!(o.location_of(59), Some((5, 3)));
    assert_eq!(o.location_of(60), None);
    assert_eq!(o.location_of(64), None);
}

#[test]
fn header_errors() {
    let good = sample().build();
    let check = |edit: &dyn Fn(&mut Vec<u8>), at: usize, kind: LoadErrorKind| {
        let mut b = good.clone();
        edit(&mut b);
        assert_eq!(Object::parse(&b).unwrap_err(), LoadError { at, kind });
    };
    check(&|b| b.truncate(31), 31, K::Truncated);
    check(&|b| b[3] = b'!', 0, K::BadMagic);
    check(&|b| b[4] = 2, 4, K::UnsupportedVersion(2));
    check(&|b| b[6] = 1, 6, K::UnknownFlags(1));
    let len = good.len();
    check(
        &|b| b.push(0),
        16,
        K::LengthMismatch {
            declared: len as u32,
            actual: len + 1,
        },
    );
    let mut b = good.clone();
    b[200] ^= 1;
    assert!(matches!(
        Object::parse(&b).unwrap_err(),
        LoadError {
            at: 8,
            kind: K::HashMismatch { .. }
        }
    ));
    check(
        &|b| {
            b[28] = 1;
            fix_hash(b)
        },
        28,
        K::NonZeroReserved,
    );
    check(
        &|b| {
            put32(b, 24, MAX_DATA_SIZE + 1);
            fix_hash(b)
        },
        24,
        K::TooLarge {
            what: "data size",
            limit: MAX_DATA_SIZE as usize,
        },
    );
}

#[test]
fn section_table_errors() {
    // Nine sections (without STATICS), so the table ends off an 8-byte boundary.
    let mut p = sample();
    p.sec(S::Statics).clear();
    let good = p.build();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        fix_hash(&mut b);
        Object::parse(&b).unwrap_err()
    };
    assert_eq!(
        edit(&|b| put32(b, 20, 11)),
        LoadError {
            at: 20,
            kind: K::TooLarge {
                what: "section count",
                limit: 10
            }
        }
    );
    assert_eq!(
        edit(&|b| put32(b, 32 + 12, 12)),
        LoadError {
            at: 44,
            kind: K::UnknownSection(12)
        }
    );
    assert_eq!(
        edit(&|b| put32(b, 32 + 12, 1)),
        LoadError {
            at: 44,
            kind: K::SectionOrder(S::Code)
        }
    );
    assert_eq!(
        edit(&|b| put32(b, 32 + 4, 152)),
        LoadError {
            at: 36,
            kind: K::SectionPlacement {
                kind: S::Code,
                expected: 144
            }
        }
    );
    // Growing CODE by one byte moves everything after it: RODATA misplaced.
    assert_eq!(
        edit(&|b| put32(b, 32 + 8, 65)),
        LoadError {
            at: 48,
            kind: K::SectionPlacement {
                kind: S::Rodata,
                expected: 216
            }
        }
    );
    assert_eq!(
        edit(&|b| put32(b, 32 + 8, 0)),
        LoadError {
            at: 40,
            kind: K::EmptySection(S::Code)
        }
    );
    // Padding after the 108-byte table (140..144) and after RODATA must be zero.
    assert_eq!(
        edit(&|b| b[141] = 1),
        LoadError {
            at: 141,
            kind: K::NonZeroReserved
        }
    );
    let pad = section_at(&good, S::Rodata) + 3;
    assert_eq!(
        edit(&|b| b[pad + 2] = 1),
        LoadError {
            at: pad + 2,
            kind: K::NonZeroReserved
        }
    );
    // Extra bytes after the last section.
    let mut b = good.clone();
    b.extend_from_slice(&[0; 8]);
    fix_len_and_hash(&mut b);
    let e = Object::parse(&b).unwrap_err();
    assert_eq!(
        e,
        LoadError {
            at: good.len(),
            kind: K::TrailingBytes
        }
    );
    // A section running past the end.
    let mut b = good.clone();
    b.truncate(b.len() - 8);
    fix_len_and_hash(&mut b);
    assert_eq!(Object::parse(&b).unwrap_err().kind, K::Truncated);
}

#[test]
fn section_size_errors() {
    let (e, b) = refuse(|p| p.sec(S::Imports).push(0));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Imports),
            kind: K::BadSectionLength(S::Imports)
        }
    );
    let (e, _) = refuse(|p| p.sec(S::SourceMap).truncate(4));
    assert_eq!(e.kind, K::BadSectionLength(S::SourceMap));
    let (e, _) = refuse(|p| p.sec(S::SourceMap).push(0));
    assert_eq!(e.kind, K::BadSectionLength(S::SourceMap));
    let (e, b) = refuse(|p| *p.sec(S::Code) = vec![0x90; MAX_CODE_LEN as usize + 1]);
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Code),
            kind: K::TooLarge {
                what: "CODE",
                limit: MAX_CODE_LEN as usize
            }
        }
    );
    let (e, b) = refuse(|p| p.data_size = 1);
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::DataInit),
            kind: K::DataInitTooLong
        }
    );
}

#[test]
fn name_errors() {
    // Import 1's name reference points past STRINGS.
    let (e, b) = refuse(|p| put32(p.sec(S::Imports), 24 + 8, 10_000));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Imports) + 24 + 8,
            kind: K::StringOutOfBounds
        }
    );
    // A name that is not an identifier ("" or starting with a digit).
    let (e, _) = refuse(|p| put32(p.sec(S::Exports), 4, 0));
    assert_eq!(e.kind, K::BadName);
    let (e, _) = refuse(|p| {
        let r = p.string("9lives");
        p.sec(S::Functions)[..8].copy_from_slice(&r);
    });
    assert_eq!(e.kind, K::BadName);
    let (e, b) = refuse(|p| {
        let r = p.string("a\nb.kpl");
        p.sec(S::SourceMap)[..8].copy_from_slice(&r);
    });
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::SourceMap),
            kind: K::BadFileName
        }
    );
    let (e, _) = refuse(|p| {
        p.sec(S::Strings).push(0xFF);
        let off = p.sec(S::Strings).len() as u32 - 1;
        let map = p.sec(S::SourceMap);
        put32(map, 0, off);
        put32(map, 4, 1);
    });
    assert_eq!(e.kind, K::BadFileName);
}

#[test]
fn function_errors() {
    let f = |i: usize, field: usize| 20 * i + field;
    let (e, b) = refuse(|p| put32(p.sec(S::Functions), f(1, 12), 0));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Functions) + f(1, 12),
            kind: K::EmptyFunction
        }
    );
    let (e, b) = refuse(|p| put32(p.sec(S::Functions), f(1, 12), 33));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Functions) + f(1, 8),
            kind: K::OutsideCode
        }
    );
    let (e, _) = refuse(|p| put32(p.sec(S::Functions), f(1, 8), u32::MAX));
    assert_eq!(e.kind, K::OutsideCode);
    // Overlapping: b starts inside a_fn.
    let (e, b) = refuse(|p| put32(p.sec(S::Functions), f(1, 8), 31));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Functions) + f(1, 8),
            kind: K::NotSorted(S::Functions)
        }
    );
}

#[test]
fn export_errors() {
    let x = |i: usize, field: usize| 20 * i + field;
    let (e, b) = refuse(|p| put32(p.sec(S::Exports), x(1, 8), 33));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Exports) + x(1, 8),
            kind: K::ExportNotAFunction
        }
    );
    // Not sorted by name: swap the two names.
    let (e, _) = refuse(|p| {
        let s = p.sec(S::Exports);
        let (a, b) = (s[0..8].to_vec(), s[20..28].to_vec());
        s[0..8].copy_from_slice(&b);
        s[20..28].copy_from_slice(&a);
    });
    assert_eq!(e.kind, K::NotSorted(S::Exports));
    // Duplicate names.
    let (e, _) = refuse(|p| {
        let s = p.sec(S::Exports);
        let a = s[0..8].to_vec();
        s[20..28].copy_from_slice(&a);
    });
    assert_eq!(e.kind, K::NotSorted(S::Exports));
    let (e, b) = refuse(|p| p.sec(S::Exports)[12] = 0x13); // []u32 as a return type
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Exports) + 12,
            kind: K::BadType(0x13)
        }
    );
    let (e, _) = refuse(|p| p.sec(S::Exports)[13] = 7);
    assert_eq!(e.kind, K::TooManyParams(7));
    let (e, b) = refuse(|p| p.sec(S::Exports)[15] = 0x29); // []mut bool
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Exports) + 15,
            kind: K::BadType(0x29)
        }
    );
    let (e, _) = refuse(|p| p.sec(S::Exports)[14] = 0); // a declared parameter of type "none"
    assert_eq!(e.kind, K::BadType(0));
    let (e, b) = refuse(|p| p.sec(S::Exports)[16] = 1); // a byte beyond the parameter count
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::Exports) + 16,
            kind: K::BadType(1)
        }
    );
}

#[test]
fn trap_site_and_source_map_errors() {
    let (e, b) = refuse(|p| p.sec(S::TrapSites)[8] = 6);
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::TrapSites) + 8,
            kind: K::BadTrapKind(6)
        }
    );
    let (e, _) = refuse(|p| p.sec(S::TrapSites)[0] = 0);
    assert_eq!(e.kind, K::BadTrapKind(0));
    let (e, b) = refuse(|p| p.sec(S::TrapSites)[2] = 1);
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::TrapSites) + 1,
            kind: K::NonZeroReserved
        }
    );
    let (e, b) = refuse(|p| put32(p.sec(S::TrapSites), 12, 64));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::TrapSites) + 12,
            kind: K::OutsideCode
        }
    );

    let entry = |i: usize| 8 + 12 * i;
    let (e, b) = refuse(|p| put32(p.sec(S::SourceMap), entry(2), 10));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::SourceMap) + entry(2),
            kind: K::NotSorted(S::SourceMap)
        }
    );
    let (e, _) = refuse(|p| put32(p.sec(S::SourceMap), entry(3), 64));
    assert_eq!(e.kind, K::OutsideCode);
    let (e, b) = refuse(|p| put32(p.sec(S::SourceMap), entry(3) + 8, 1));
    assert_eq!(
        e,
        LoadError {
            at: section_at(&b, S::SourceMap) + entry(3) + 4,
            kind: K::BadLocation
        }
    );
}

#[test]
fn statics_by_name() {
    let bytes = sample().build();
    let o = Object::parse(&bytes).unwrap();
    let all: Vec<_> = o
        .statics()
        .map(|v| (v.name, v.offset, v.size, v.elem, v.count))
        .collect();
    assert_eq!(
        all,
        [
            ("count", 0, 4, Some(ScalarType::U32), 1),
            ("pair", 4, 4, Some(ScalarType::I16), 2),
            ("state", 8, 8, None, 0),
        ]
    );
    assert_eq!(o.static_var("pair").map(|v| v.offset), Some(4));
    assert_eq!(o.static_var("stat"), None);
    assert_eq!(o.static_var("zzz"), None);
}

#[test]
fn static_errors() {
    let entry = |i: usize| 24 * i;
    let at = |b: &[u8], i: usize, f: usize| section_at(b, S::Statics) + entry(i) + f;
    // Names out of order, and the same name twice.
    let (e, b) = refuse(|p| {
        let r = p.string("state");
        p.sec(S::Statics)[entry(1)..entry(1) + 8].copy_from_slice(&r);
    });
    assert_eq!(
        e,
        LoadError {
            at: at(&b, 2, 0),
            kind: K::NotSorted(S::Statics)
        }
    );
    let (e, b) = refuse(|p| {
        let r = p.string("count");
        p.sec(S::Statics)[entry(1)..entry(1) + 8].copy_from_slice(&r);
    });
    assert_eq!(
        e,
        LoadError {
            at: at(&b, 1, 0),
            kind: K::NotSorted(S::Statics)
        }
    );
    // A bad name, a name outside STRINGS.
    let (e, _) = refuse(|p| {
        let r = p.string("9lives");
        p.sec(S::Statics)[..8].copy_from_slice(&r);
    });
    assert_eq!(e.kind, K::BadName);
    let (e, _) = refuse(|p| put32(p.sec(S::Statics), 4, 9999));
    assert_eq!(e.kind, K::StringOutOfBounds);
    // Past the end of the data region, and an offset + size that wraps.
    let (e, b) = refuse(|p| put32(p.sec(S::Statics), entry(2) + 8, 12));
    assert_eq!(
        e,
        LoadError {
            at: at(&b, 2, 8),
            kind: K::OutsideData
        }
    );
    let (e, _) = refuse(|p| {
        put32(p.sec(S::Statics), entry(2) + 8, 8);
        put32(p.sec(S::Statics), entry(2) + 12, u32::MAX - 3);
    });
    assert_eq!(e.kind, K::OutsideData);
    // Overlaps: `state` moved onto `pair`, and `count` grown into it.
    let (e, b) = refuse(|p| put32(p.sec(S::Statics), entry(2) + 8, 6));
    assert_eq!(
        e,
        LoadError {
            at: at(&b, 2, 8),
            kind: K::OverlappingStatics
        }
    );
    let (e, _) = refuse(|p| {
        put32(p.sec(S::Statics), entry(0) + 12, 8);
        put32(p.sec(S::Statics), entry(0) + 20, 2);
    });
    assert_eq!(e.kind, K::OverlappingStatics);
    // Shapes: size not count × element size, a misaligned scalar, a count
    // without an element type, an unknown type code, reserved bytes.
    let (e, b) = refuse(|p| put32(p.sec(S::Statics), entry(1) + 20, 3));
    assert_eq!(
        e,
        LoadError {
            at: at(&b, 1, 12),
            kind: K::BadStaticShape
        }
    );
    let (e, _) = refuse(|p| {
        // pair as one i32 at offset 4 is fine; as [u64; ..] at 4 it is misaligned.
        p.sec(S::Statics)[entry(1) + 16] = 4;
        put32(p.sec(S::Statics), entry(1) + 12, 8);
        put32(p.sec(S::Statics), entry(1) + 20, 1);
        put32(p.sec(S::Statics), entry(2) + 8, 12);
        put32(p.sec(S::Statics), entry(2) + 12, 4);
    });
    assert_eq!(e.kind, K::BadStaticShape);
    let (e, _) = refuse(|p| put32(p.sec(S::Statics), entry(2) + 20, 1));
    assert_eq!(e.kind, K::BadStaticShape);
    let (e, b) = refuse(|p| p.sec(S::Statics)[entry(0) + 16] = 0x11);
    assert_eq!(
        e,
        LoadError {
            at: at(&b, 0, 16),
            kind: K::BadType(0x11)
        }
    );
    let (e, b) = refuse(|p| p.sec(S::Statics)[entry(0) + 18] = 1);
    assert_eq!(
        e,
        LoadError {
            at: at(&b, 0, 17),
            kind: K::NonZeroReserved
        }
    );
    let (e, _) = refuse(|p| p.sec(S::Statics).push(0));
    assert_eq!(e.kind, K::BadSectionLength(S::Statics));
}

#[test]
fn optional_sections() {
    // Only CODE and FUNCTIONS (+ STRINGS for the name): no imports, no map.
    let mut p = sample();
    for k in [
        S::Rodata,
        S::DataInit,
        S::Imports,
        S::Exports,
        S::TrapSites,
        S::SourceMap,
        S::Statics,
    ] {
        p.sec(k).clear();
    }
    p.data_size = 0;
    let bytes = p.build();
    let o = Object::parse(&bytes).unwrap();
    assert_eq!(o.source_file(), "");
    assert_eq!(o.location_of(0), None);
    assert_eq!(o.import_count(), 0);
    assert_eq!(o.layout().image_len, 64);
}

#[test]
fn errors_display_with_offsets() {
    let e = LoadError {
        at: 0x2c,
        kind: K::SectionOrder(S::Code),
    };
    assert_eq!(
        e.to_string(),
        "byte 0x2c: section CODE out of order or repeated"
    );
    let e = LoadError {
        at: 8,
        kind: K::HashMismatch {
            stored: 1,
            computed: 2,
        },
    };
    assert_eq!(
        e.to_string(),
        "byte 0x8: content hash 0x0000000000000001 does not match the bytes (0x0000000000000002)"
    );
}

const HOST: &[HostImport<'static>] = &[
    HostImport {
        module: "kernel",
        name: "log",
        hash: LOG,
    },
    HostImport {
        module: "kernel",
        name: "cpu_id",
        hash: 0x298fd6e8ba18a31c,
    },
    HostImport {
        module: "kernel",
        name: "clock_ns",
        hash: CLOCK_NS,
    },
];

#[test]
fn link_resolves_by_name_and_hash() {
    let bytes = sample().build();
    let o = Object::parse(&bytes).unwrap();
    let mut res = [u32::MAX; 3];
    link(&o, HOST, &mut res).unwrap();
    assert_eq!(res, [2, 0, u32::MAX]);

    let e = link(&o, &HOST[..2], &mut res).unwrap_err();
    let at = section_at(&bytes, S::Imports);
    assert_eq!(
        e,
        LinkError::Missing {
            slot: 0,
            at,
            module: "kernel",
            name: "clock_ns"
        }
    );
    assert_eq!(
        e.to_string(),
        format!("byte {at:#x}: import 0 `kernel::clock_ns` is not provided by the host")
    );

    let wrong = [HostImport { hash: 1, ..HOST[2] }, HOST[0]];
    let e = link(&o, &wrong, &mut res).unwrap_err();
    assert_eq!(
        e,
        LinkError::HashMismatch {
            slot: 0,
            at,
            module: "kernel",
            name: "clock_ns",
            object_hash: CLOCK_NS,
            host_hash: 1
        }
    );
    assert!(
        e.to_string()
            .contains("signature hash 0xed6981b84b514391, the host's is 0x0000000000000001")
    );

    let e = link(&o, HOST, &mut res[..1]).unwrap_err();
    assert_eq!(
        e,
        LinkError::BufferTooSmall {
            what: "resolution",
            needed: 2,
            got: 1
        }
    );
}

#[test]
fn image_and_data() {
    let bytes = sample().build();
    let o = Object::parse(&bytes).unwrap();
    let l = o.layout();
    let mut image = vec![0u8; 4096];
    write_image(&o, &[0x1111, 0x2222], &mut image).unwrap();
    assert_eq!(&image[..64], o.code());
    assert_eq!(&image[64..67], b"abc");
    assert!(image[67..72].iter().all(|&b| b == 0xCC));
    assert_eq!(&image[72..80], &0x1111u64.to_le_bytes());
    assert_eq!(&image[80..88], &0x2222u64.to_le_bytes());
    assert!(image[88..].iter().all(|&b| b == 0xCC));
    assert_eq!(l.slot_offset(1), Some(80));

    assert!(matches!(
        write_image(&o, &[1, 2], &mut image[..87]),
        Err(LinkError::BufferTooSmall {
            what: "image",
            needed: 88,
            got: 87
        })
    ));
    assert!(matches!(
        write_image(&o, &[1], &mut image),
        Err(LinkError::BufferTooSmall {
            what: "slots",
            needed: 2,
            got: 1
        })
    ));

    let mut data = vec![0xAAu8; 20];
    write_data(&o, &mut data).unwrap();
    assert_eq!(data[..3], [1, 2, 0]);
    assert!(data[2..].iter().all(|&b| b == 0));
    assert!(write_data(&o, &mut data[..15]).is_err());
}

#[test]
fn value_type_codes_round_trip() {
    for code in 0..=255u8 {
        if let Some(t) = ValType::from_code(code) {
            assert_eq!(t.code(), code);
        }
    }
    let valid = (0..=255u8)
        .filter(|&c| ValType::from_code(c).is_some())
        .count();
    assert_eq!(valid, 9 + 8 + 8);
}

#[test]
fn identifiers() {
    for ok in ["a", "_", "_x9", "clock_ns", "Z"] {
        assert!(is_identifier(ok.as_bytes()), "{ok}");
    }
    for bad in ["", "9a", "a-b", "a b", "é", "a\0"] {
        assert!(!is_identifier(bad.as_bytes()), "{bad:?}");
    }
}

#[test]
fn xxh64_reference_vectors() {
    // From `xxhsum -H1` (xxHash 0.8).
    let seq = |n: u8| (0..n).collect::<Vec<u8>>();
    let cases: [(&[u8], u64); 4] = [
        (b"", 0xef46db3751d8e999),
        (b"a", 0xd24ec4f1a98c6e5b),
        (b"abc", 0x44bc2cf5ad770999),
        (
            b"Nobody inspects the spammish repetition",
            0xfbcea83c8a378bf1,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(xxh64(input), want, "{input:?}");
    }
    let lens = [
        (31, 0xc346d2b59b4d8ee1),
        (39, 0x00a396ef1679a859),
        (100, 0x6ac1e58032166597),
    ];
    for (n, want) in lens.into_iter().chain([
        (103, 0xab3e7961fd618891),
        (111, 0x666cc5e38345de58),
        (112, 0xf9a92625d5b4bccd),
    ]) {
        assert_eq!(xxh64(&seq(n)), want, "0..{n}");
    }
    assert_eq!(xxh64(&[b'x'; 1000]), 0x4cb9a3b69cb700e1);
}
