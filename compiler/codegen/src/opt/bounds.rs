//! One bounds check for several slice reads at constant offsets from one
//! index: `s[e]`, `s[e + 1]`, `s[e + 2]` in one block become `t = e + 2`,
//! one checked read `s[t]` (moved to the first read's place), and unchecked
//! reads `[base + e]`, `[base + e + 1]` with the offset as a displacement.
//!
//! ```text
//! e = e as u32 · t = e + cmax (64-bit) · cmp t, len · jae trap (first read's site)
//! v_max = [base + t*s] · v_c = [base + e*s + c*s] for each other offset c
//! ```
//!
//! When it applies: the reads are loads of one slice (same base, length
//! table and scale); their indexes are `e` itself or `e + c` (`c >= 0`)
//! computed in the block from an unchanged `e`; two offsets differ, one of
//! them 0 (`s[e]` itself is read); every
//! definition of `e` yields a `u32`; and nothing between the first read (or
//! offset computation) and the last has an effect or may trap (no store,
//! call, division, budget check or other checked access), nor writes `e`,
//! the length or the base.
//!
//! Why the result is the same: `e < 2^32`, so `e + cmax` does not wrap and
//! `t < len` gives `e + c < len` for every offset, and (a slice has at most
//! 2^32 - 1 elements) no 32-bit `e + c` wraps: every read gets the element
//! the checked read would, and none traps. When `t >= len`, the reads trap
//! with Bounds as the originals would, reported at the first read's site:
//! the largest offset's read is out of range unless `e + cmax` wraps in 32
//! bits, and then `e` itself is within `cmax` of 2^32, so the read of
//! `s[e]` is past the end of any slice shorter than 2^32 - cmax elements
//! (offsets are at most 64; a group without `s[e]`, all of whose indexes
//! may wrap to small ones, is left alone). Nothing
//! between the reads is observable, so trapping before the first is the same
//! as trapping at the later one. The largest offset's read may move up to
//! the first read's place: nothing in between writes memory.
//!
//! The verifier proves the unchecked reads from the one check
//! (`book/src/runtime/sandbox.md`, "t = e + k"): `e = e as u32` is a 32-bit
//! `mov` (upper bits zero), `t = e + cmax` a 64-bit `add` of it (no wrap),
//! `cmp t, len` + `jae` bounds `t`, and each displacement `c*s` is at most
//! `cmax*s`. The zero-extension is a no-op on the value; it is there so
//! that the proof never depends on how `e` reached the block. It is left
//! out when `e`'s last write is earlier on the only path to the group (in
//! the block, or in blocks with one edge in) and is itself one the
//! verifier marks `narrow` (a 32-bit `add`, say), with no call in between
//! ([`written_narrow_before`]). A loop-carried index still gets it on every
//! trip: the verifier's loop-header join drops `narrow` for the registers
//! the loop writes (`sandbox.md`, "a loop header's first join"), so the
//! 32-bit `add` on the back edge does not reach the reads.
//!
//! The pass runs once per function after inlining (`crate::pipeline`), last
//! before register allocation: a later pass would see the unchecked reads
//! as ordinary code.

use crate::analysis::{Predecessors, predecessors};
use crate::ir::{Addr, Base, BlockId, Check, Func, Index, Inst, Op, Scalar, V};
use std::collections::{BTreeMap, HashMap};

/// The largest offset merged (see the module docs: a slice shorter than
/// 2^32 - 64 elements is then past its end wherever `e + c` wraps).
const MAX_OFFSET: i64 = 64;

/// One access of a group: its position in the block, its offset from the
/// shared index, and where its index was computed from it (if not the
/// shared index itself).
#[derive(Clone, Copy, Debug)]
struct Member {
    at: usize,
    offset: i64,
    def_at: Option<usize>,
}

/// What the accesses of one group share: slice base, length, scale, index.
type Key = (V, V, u8, V);

/// Merges the checks of every group of reads at two or more offsets.
/// Returns whether anything changed.
pub fn merge_checks(f: &mut Func) -> bool {
    let narrow = narrow_vregs(f);
    let preds = predecessors(f);
    let mut changed = false;
    for b in 0..f.blocks.len() as BlockId {
        // Each merge turns checked reads into unchecked ones: this ends.
        while merge_one(f, b, &narrow, &preds) {
            changed = true;
        }
    }
    changed
}

/// Merges the largest group of block `b` that can be; whether one could.
fn merge_one(f: &mut Func, b: BlockId, narrow: &[bool], preds: &Predecessors) -> bool {
    merge(f, b, narrow, preds).is_some()
}

fn merge(f: &mut Func, b: BlockId, narrow: &[bool], preds: &Predecessors) -> Option<()> {
    let insts = &f.blocks[b as usize].insts;
    let mut groups: BTreeMap<Key, Vec<Member>> = BTreeMap::new();
    // Where each register was last written in the block so far: a map the
    // size of the block, not a table of every register of the function
    // (cleared for each block, that was quadratic in a long function).
    let mut last_def: HashMap<V, usize> = HashMap::new();
    for (at, (inst, _)) in insts.iter().enumerate() {
        if let Some(Addr {
            base: Base::SlicePtr(base),
            index:
                Some(Index {
                    v: t,
                    scale,
                    check: Check::BelowLen(len, _),
                }),
            disp: 0,
        }) = access(inst)
        {
            groups
                .entry((base, len, scale, t))
                .or_default()
                .push(Member {
                    at,
                    offset: 0,
                    def_at: None,
                });
            // `t = e + c` computed in this block, `e` unchanged since.
            if let Some(&d) = last_def.get(&t)
                && let Inst::BinImm {
                    op: Op::Add | Op::Add32,
                    a: e,
                    imm,
                    ..
                } = insts[d].0
                && e != t
                && (0..MAX_OFFSET).contains(&i64::from(imm))
                && last_def.get(&e).is_none_or(|&de| de < d)
            {
                groups
                    .entry((base, len, scale, e))
                    .or_default()
                    .push(Member {
                        at,
                        offset: i64::from(imm),
                        def_at: Some(d),
                    });
            }
        }
        if let Some(d) = inst.def() {
            last_def.insert(d, at);
        }
    }
    // The largest group with two different offsets (one check then covers
    // two that were separate; repeated reads of one element are not worth
    // the versioning), whose index is a `u32` and whose region leaves the
    // index, length and base alone.
    let (key, members) = groups
        .into_iter()
        .filter(|((base, len, _, e), m)| {
            m.iter().any(|x| x.offset != m[0].offset)
                && m.iter().any(|x| x.offset == 0)
                && narrow.get(*e as usize) == Some(&true)
                && region_ok(insts, m, &[*base, *len, *e])
        })
        .max_by_key(|(_, m)| m.len())?;
    let (_, len, scale, e) = key;
    let first = region_start(&members)?;
    let cmax = members.iter().map(|m| m.offset).max()?;
    // The read that keeps the check: the largest offset's first read. It
    // moves to the region's start, so nothing in between may read or
    // write what it loads into.
    let top = members.iter().find(|m| m.offset == cmax)?.at;
    let (Inst::Load { dst: top_dst, .. }, _) = insts[top] else {
        return None;
    };
    let mut used = Vec::new();
    for (i, _) in &insts[first..top] {
        used.clear();
        i.uses(&mut used);
        if used.contains(&top_dst) || i.def() == Some(top_dst) {
            return None;
        }
    }
    let site = match access(&insts[members[0].at].0)?.index?.check {
        Check::BelowLen(_, site) => site,
        _ => return None,
    };
    let pos = insts[members[0].at].1;

    // Offset computations only the merged reads use go.
    let uses = f.use_counts();
    let mut member_uses: BTreeMap<V, u32> = BTreeMap::new();
    for m in &members {
        if let Some(i) = access(&insts[m.at].0).and_then(|a| a.index)
            && i.v != e
        {
            *member_uses.entry(i.v).or_default() += 1;
        }
    }
    let dead: Vec<usize> = members
        .iter()
        .filter_map(|m| m.def_at)
        .filter(|&d| {
            insts[d]
                .0
                .def()
                .is_some_and(|t| uses[t as usize] == member_uses.get(&t).copied().unwrap_or(0))
        })
        .collect();

    let extend = !written_narrow_before(f, preds, b, e, first, MAX_BLOCKS_BACK);

    let t = f.n_vregs;
    f.n_vregs += 1;
    let old = std::mem::take(&mut f.blocks[b as usize].insts);
    let mut out = Vec::with_capacity(old.len() + 2);
    for (k, (mut inst, p)) in old.into_iter().enumerate() {
        if k == first {
            if extend {
                out.push((
                    Inst::Norm {
                        dst: e,
                        a: e,
                        ty: Scalar {
                            size: 4,
                            signed: false,
                        },
                    },
                    pos,
                ));
            }
            out.push((
                Inst::BinImm {
                    op: Op::Add,
                    dst: t,
                    a: e,
                    imm: cmax as i32,
                },
                pos,
            ));
        }
        if dead.contains(&k) {
            continue;
        }
        if let Some(m) = members.iter().find(|m| m.at == k) {
            if let Some(addr) = inst.addr_mut() {
                addr.index = Some(Index {
                    v: e,
                    scale,
                    check: Check::Proven,
                });
                addr.disp = (m.offset * i64::from(scale)) as u32;
            }
            if k == top {
                // Checked at the start instead: `s[t]` under the first
                // read's site.
                if let Some(addr) = inst.addr_mut() {
                    addr.index = Some(Index {
                        v: t,
                        scale,
                        check: Check::BelowLen(len, site),
                    });
                    addr.disp = 0;
                }
                let at = out
                    .iter()
                    .position(|(i, _)| matches!(i, Inst::BinImm { dst, .. } if *dst == t))
                    .map_or(out.len(), |x| x + 1);
                out.insert(at, (inst, pos));
                continue;
            }
        }
        out.push((inst, p));
    }
    f.blocks[b as usize].insts = out;
    Some(())
}

/// How many single-entry blocks [`written_narrow_before`] looks back
/// through (an inlined callee's body starts a block of its own).
const MAX_BLOCKS_BACK: u32 = 4;

/// Whether the last write of `e` before `first` in block `b` is one the
/// verifier sees zero the upper 32 bits (`narrow` in
/// `book/src/runtime/sandbox.md`), on the only path to `first`, with
/// nothing in between that may clear that bit: then the zero-extension is
/// already done. The write is in `b` or, when `b` has one edge in (and is
/// not the entry), in its predecessor, and so on back: the verifier's state
/// at a block with one edge in is that edge's state, with no join. A call
/// clears the bit of every register; a division is left out because its
/// code branches inside the block, and the verifier joins there (a join
/// keeps the bit when both sides have it, but nothing here needs to depend
/// on that). Loads, compares, arithmetic and the fuel and bounds checks
/// (`jcc` to a trap stub, no join) keep it.
///
/// The forms are those of [`narrow_vregs`] that the emitter writes with an
/// instruction the verifier marks `narrow`: a 32-bit `add` or `sub`, a
/// zero-extension or unsigned load of at most 4 bytes, `and` with a
/// non-negative immediate, a constant below 2^32 (`xor r32, r32`,
/// `mov r32, imm` or `mov r64, imm`, all narrow), and a copy of a register
/// for which the same holds at the copy.
fn written_narrow_before(
    f: &Func,
    preds: &Predecessors,
    b: BlockId,
    e: V,
    first: usize,
    back: u32,
) -> bool {
    let insts = &f.blocks[b as usize].insts[..first];
    let keeps = |from: usize| {
        insts[from..]
            .iter()
            .all(|(i, _)| !i.is_call() && !matches!(i, Inst::Div { .. }))
    };
    let Some(d) = insts.iter().rposition(|(i, _)| i.def() == Some(e)) else {
        // Written before the block: only through its one edge in.
        let [p] = preds[b as usize][..] else {
            return false;
        };
        let p_term = &f.blocks[p as usize].term;
        let one_edge = p_term.successors().iter().filter(|&&s| s == b).count() == 1;
        return back > 0
            && b != 0
            && p != b
            && one_edge
            && keeps(0)
            && written_narrow_before(f, preds, p, e, f.blocks[p as usize].insts.len(), back - 1);
    };
    keeps(d + 1)
        && match insts[d].0 {
            Inst::Const { value, .. } => u32::try_from(value).is_ok(),
            Inst::Bin {
                op: Op::Add32 | Op::Sub32,
                ..
            }
            | Inst::BinImm {
                op: Op::Add32 | Op::Sub32,
                ..
            } => true,
            Inst::BinImm {
                op: Op::And, imm, ..
            } => imm >= 0,
            Inst::Norm { ty, .. } | Inst::Load { ty, .. } => !ty.signed && ty.size <= 4,
            // A 64-bit `mov` copies the bit (an inlined callee's parameter
            // is a copy of the caller's argument); the chain only goes
            // back, so it ends.
            Inst::Copy { src, .. } => written_narrow_before(f, preds, b, src, d, back),
            // `imul r32` and `shl r32` zero the upper half too, but the
            // verifier does not model it (they are not in its list).
            _ => false,
        }
}

/// The address of a load (a store's effect is observable before a later
/// read traps, so stores are never merged).
fn access(inst: &Inst) -> Option<Addr> {
    match inst {
        Inst::Load { addr, .. } => Some(*addr),
        _ => None,
    }
}

/// Whether nothing in the group's region other than its reads has an
/// effect or may trap, and nothing writes one of `fixed`.
fn region_ok(insts: &[(Inst, u32)], members: &[Member], fixed: &[V]) -> bool {
    let (Some(first), Some(last)) = (region_start(members), region_end(members)) else {
        return false;
    };
    (first..=last).all(|k| {
        let i = &insts[k].0;
        (members.iter().any(|m| m.at == k) || !i.has_effect())
            && !i.def().is_some_and(|d| fixed.contains(&d))
    })
}

fn region_start(members: &[Member]) -> Option<usize> {
    members
        .iter()
        .map(|m| m.def_at.unwrap_or(m.at).min(m.at))
        .min()
}

fn region_end(members: &[Member]) -> Option<usize> {
    members.iter().map(|m| m.at).max()
}

/// Which registers hold a value below 2^32 wherever they are read: every
/// definition yields a `u32` (a 32-bit operation, a small constant, a
/// zero-extension or narrow unsigned load, a mask, or a copy of such a
/// register). Parameters are not (nothing here says what the caller put
/// there).
fn narrow_vregs(f: &Func) -> Vec<bool> {
    let mut narrow = vec![true; f.n_vregs as usize];
    for &p in &f.params {
        narrow[p as usize] = false;
    }
    loop {
        let mut changed = false;
        for b in &f.blocks {
            for (inst, _) in &b.insts {
                let Some(d) = inst.def() else { continue };
                let ok = match *inst {
                    Inst::Const { value, .. } => u32::try_from(value).is_ok(),
                    Inst::Bin {
                        op: Op::Add32 | Op::Sub32 | Op::Mul32 | Op::Shl32,
                        ..
                    }
                    | Inst::BinImm {
                        op: Op::Add32 | Op::Sub32 | Op::Mul32 | Op::Shl32,
                        ..
                    } => true,
                    Inst::BinImm {
                        op: Op::And, imm, ..
                    } => imm >= 0,
                    Inst::Norm { ty, .. } | Inst::Load { ty, .. } => !ty.signed && ty.size <= 4,
                    Inst::Copy { src, .. } => narrow[src as usize],
                    _ => false,
                };
                if !ok && narrow[d as usize] {
                    narrow[d as usize] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            return narrow;
        }
    }
}
