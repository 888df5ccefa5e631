//! No input makes the loader panic: valid objects with bytes flipped,
//! inserted, deleted, overwritten or cut off (with the hash, and sometimes
//! the length, recomputed so the damage reaches the structural checks), and
//! plain random bytes. Whatever is accepted must also be fully usable.

mod common;

use common::*;
use kpl_runtime_core::format::SectionKind;
use kpl_runtime_core::*;
use proptest::prelude::*;

const HOST: &[HostImport<'static>] = &[
    HostImport {
        module: "kernel",
        name: "clock_ns",
        hash: CLOCK_NS,
    },
    HostImport {
        module: "kernel",
        name: "log",
        hash: LOG,
    },
];

/// Parses and, if accepted, drives every accessor, the linker and the image
/// writers. Returns whether the object was accepted.
fn exercise(bytes: &[u8]) -> bool {
    let o = match Object::parse(bytes) {
        Ok(o) => o,
        Err(e) => {
            assert!(e.at <= bytes.len(), "{e}");
            let _ = e.to_string();
            return false;
        }
    };
    let l = o.layout();
    assert_eq!(l.code_len as usize, o.code().len());
    assert_eq!(o.imports().count(), o.import_count());
    assert_eq!(o.trap_sites().count(), o.trap_site_count());
    for e in o.exports() {
        assert_eq!(o.export(e.name), Some(e));
        assert_eq!(
            o.function_containing(e.code_offset).map(|f| f.code_offset),
            Some(e.code_offset)
        );
    }
    for f in o.functions() {
        assert!(f.code_offset + f.code_len <= l.code_len);
    }
    for t in o.trap_sites() {
        assert!(t.code_offset < l.code_len);
        let _ = o.location_of(t.code_offset);
    }
    for off in 0..=l.code_len.saturating_add(1).min(4096) {
        let _ = o.location_of(off);
        let _ = o.function_containing(off);
    }
    let _ = o.trap_site(o.trap_site_count() as u64);
    let mut res = vec![0u32; o.import_count()];
    if let Err(e) = link(&o, HOST, &mut res) {
        let _ = e.to_string();
    }
    let mut image = vec![0u8; l.image_len as usize];
    write_image(&o, &vec![0; o.import_count()], &mut image).unwrap();
    let mut data = vec![0u8; l.data_size as usize];
    write_data(&o, &mut data).unwrap();
    true
}

fn bases() -> Vec<Vec<u8>> {
    let mut small = sample();
    for k in [
        SectionKind::Rodata,
        SectionKind::TrapSites,
        SectionKind::SourceMap,
    ] {
        small.sec(k).clear();
    }
    vec![sample().build(), small.build()]
}

#[test]
fn every_single_bit_flip_and_cut() {
    let mut accepted = 0;
    let mut total = 0;
    for base in bases() {
        assert!(exercise(&base));
        for at in 0..base.len() {
            for bit in 0..8 {
                let mut b = base.clone();
                b[at] ^= 1 << bit;
                total += 2;
                accepted += exercise(&b) as usize;
                fix_hash(&mut b);
                accepted += exercise(&b) as usize;
            }
            let mut b = base[..at].to_vec();
            fix_len_and_hash(&mut b);
            total += 2;
            accepted += exercise(&base[..at]) as usize + exercise(&b) as usize;
        }
    }
    // Flips that survive are ones the format cannot see: code bytes, string
    // bytes of names that stay identifiers, stack bounds, hash-fixed values.
    println!("{accepted} of {total} single-bit mutants accepted");
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Set32(usize, u32),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    let interesting = prop_oneof![
        Just(0u32),
        Just(1),
        Just(8),
        Just(0x7fff_ffff),
        Just(u32::MAX),
        0u32..1024,
        any::<u32>()
    ];
    prop_oneof![
        (pos, 1u8..).prop_map(|(p, m)| Mutation::Flip(p, m)),
        (pos, any::<u8>()).prop_map(|(p, v)| Mutation::Insert(p, v)),
        pos.prop_map(Mutation::Delete),
        (pos, interesting).prop_map(|(p, v)| Mutation::Set32(p, v)),
        pos.prop_map(Mutation::Truncate),
    ]
}

fn apply(b: &mut Vec<u8>, m: &Mutation) {
    let n = b.len().max(1);
    match *m {
        Mutation::Flip(p, mask) => {
            if let Some(x) = b.get_mut(p % n) {
                *x ^= mask;
            }
        }
        Mutation::Insert(p, v) => b.insert(p % (b.len() + 1), v),
        Mutation::Delete(p) => {
            if !b.is_empty() {
                b.remove(p % n);
            }
        }
        Mutation::Set32(p, v) => {
            // Word-aligned, where the format's fields are.
            let at = (p % n) & !3;
            if at + 4 <= b.len() {
                b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        Mutation::Truncate(p) => b.truncate(p % n),
    }
}

proptest! {
    // Seeds are random each run; failures print the minimal input instead of
    // writing a regressions file into the source tree.
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_objects_never_panic(
        base in 0usize..2,
        muts in prop::collection::vec(mutation(), 1..6),
        fix in 0u8..3,
    ) {
        let mut b = bases().swap_remove(base);
        for m in &muts {
            apply(&mut b, m);
        }
        match fix {
            0 => {}
            1 => fix_hash(&mut b),
            _ => fix_len_and_hash(&mut b),
        }
        exercise(&b);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
    }

    #[test]
    fn random_bytes_behind_a_valid_header_never_panic(
        count in 0u32..12,
        data_size in prop_oneof![Just(0u32), 0u32..64, any::<u32>()],
        rest in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut b = Vec::new();
        b.extend_from_slice(b"KPO\0\x01\0\0\0");
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(&count.to_le_bytes());
        b.extend_from_slice(&data_size.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&rest);
        fix_len_and_hash(&mut b);
        exercise(&b);
    }
}
