//! Separately lowered functions → one [`Module`](super::Module): the
//! database lowers and optimises each function on its own, then merges their
//! read-only data (each constant and string once, in order of first use),
//! renumbers their trap sites and maps their source positions, giving the
//! module [`lower_with`](super::lower_with) would have built.

use std::collections::HashMap;

use kpl_lang::types::round_up;

use crate::ir::*;

use super::{LoweredFn, Module, RodataKey};

/// Puts separately lowered functions together into the module
/// [`lower_with`] would have built: rodata merged in order of first use
/// (each constant and string once), trap sites renumbered, and source
/// positions mapped by `pos`. The functions may already be optimised (the
/// database's path does so before assembling).
pub fn assemble(
    parts: &[&LoweredFn],
    data_init: Vec<u8>,
    data_size: u32,
    pos: &dyn Fn(u32) -> u32,
) -> Module {
    let mut rodata: Vec<u8> = Vec::new();
    let mut placed: HashMap<RodataKey, u32> = HashMap::new();
    let mut sites = Vec::new();
    let mut funcs = Vec::new();
    for part in parts {
        // (local start, local end, global start) of each piece.
        let mut moved: Vec<(u32, u32, u32)> = Vec::new();
        for piece in &part.rodata {
            let at = *placed.entry(piece.key.clone()).or_insert_with(|| {
                let at = round_up(rodata.len() as u64, piece.align.max(1)) as usize;
                rodata.resize(at, 0);
                rodata.extend_from_slice(&piece.bytes);
                at as u32
            });
            moved.push((piece.offset, piece.offset + piece.bytes.len() as u32, at));
        }
        let first = sites.len() as u32;
        sites.extend(part.sites.iter().map(|&(k, p)| (k, pos(p))));
        let mut f = part.func.clone();
        f.first_site = first;
        relocate(&mut f, first, &moved, pos);
        funcs.push(f);
    }
    Module {
        funcs,
        rodata,
        data_init,
        data_size,
        sites,
        // The caller has the program: see `static_table`.
        statics: Vec::new(),
    }
}

/// Renumbers trap sites (+`first`), moves rodata offsets and maps source
/// positions in one function.
fn relocate(f: &mut Func, first: u32, moved: &[(u32, u32, u32)], pos: &dyn Fn(u32) -> u32) {
    // An offset inside (or at the start of) a piece moves with the piece:
    // the first piece, in order, that starts at it, or else the one before
    // it that holds it. A function lays its pieces out one after another, so
    // they are sorted by start and a binary search finds it (a scan per
    // reference made a function of n strings n² to assemble).
    let sorted = moved.windows(2).all(|w| w[0].0 <= w[1].0);
    let piece_of = |o: u32| -> Option<&(u32, u32, u32)> {
        if !sorted {
            return moved
                .iter()
                .find(|(a, b, _)| *a <= o && (o < *b || o == *a));
        }
        let q = moved.partition_point(|(a, _, _)| *a < o);
        match moved.get(q) {
            Some(p) if p.0 == o => Some(p),
            _ => q.checked_sub(1).map(|k| &moved[k]).filter(|p| o < p.1),
        }
    };
    let rodata = |o: &mut u32| {
        if let Some(&(from, _, to)) = piece_of(*o) {
            *o = *o - from + to;
        }
    };
    for b in &mut f.blocks {
        b.term_pos = pos(b.term_pos);
        for (inst, p) in &mut b.insts {
            *p = pos(*p);
            inst.sites_mut(|s| *s += first);
            if let Some(Addr {
                base: Base::Rodata(o),
                ..
            }) = inst.addr_mut()
            {
                rodata(o);
            }
            if let Inst::CallImport { args, .. } = inst {
                for a in args {
                    if let ImportArg::Str { offset, .. } = a {
                        rodata(offset);
                    }
                }
            }
        }
    }
}
