//! Slice accesses made cheap: each access's reads of the context block
//! (the slice's base pointer and its length in the access's table) become
//! instructions of their own, which loop-invariant code motion lifts out of
//! loops and dominator-based common-subexpression elimination merges.
//!
//! A plugin's slice table does not change during an invocation, so these
//! reads are pure functions of the (masked) handle, and reading one
//! speculatively never traps. The verifier follows the values through
//! registers and spill slots (value numbers), so `cmp idx, len; jae trap`
//! with `len` and the base loaded before the loop still proves the access.

use std::collections::{BTreeSet, HashMap};

use crate::analysis::{def_counts, dominators, natural_loops, predecessors, reverse_postorder};
use crate::ir::*;

/// Splits every slice access into `SliceBase` (+ `SliceLen` when checked)
/// and an access through the base register.
pub fn expand_slice_accesses(f: &mut Func) {
    let mut next = f.n_vregs;
    for b in &mut f.blocks {
        let old = std::mem::take(&mut b.insts);
        for (mut inst, pos) in old {
            let write = matches!(inst, Inst::Store { .. });
            let addr = match &mut inst {
                Inst::Load { addr, .. } | Inst::Store { addr, .. } => addr,
                _ => {
                    b.insts.push((inst, pos));
                    continue;
                }
            };
            let (Base::Slice(handle), Some(index)) = (addr.base, addr.index.as_mut()) else {
                b.insts.push((inst, pos));
                continue;
            };
            let site = match index.check {
                Check::SliceLen(site) => Some(site),
                Check::Proven => None,
                // Never produced for slices; left to the emitter's general form.
                Check::Below(..) | Check::Combined | Check::BelowLen(..) => {
                    b.insts.push((inst, pos));
                    continue;
                }
            };
            let base = next;
            next += 1;
            b.insts.push((Inst::SliceBase { dst: base, handle }, pos));
            if let Some(site) = site {
                let len = next;
                next += 1;
                b.insts.push((
                    Inst::SliceLen {
                        dst: len,
                        handle,
                        writable: write,
                        size: index.scale,
                    },
                    pos,
                ));
                index.check = Check::BelowLen(len, site);
            }
            addr.base = Base::SlicePtr(base);
            b.insts.push((inst, pos));
        }
    }
    f.n_vregs = next;
}

/// A context-block read that may move: its handle, if `inst` is one.
fn pure_read(inst: &Inst) -> Option<V> {
    match *inst {
        Inst::SliceBase { handle, .. } | Inst::SliceLen { handle, .. } => Some(handle),
        _ => None,
    }
}

/// Moves pure slice reads whose handle does not change in a loop to the
/// loop's preheader (made when the header has no single outside
/// predecessor ending in a jump to it). Inner loops go first, so a read
/// climbs as far out as its handle allows. Returns whether anything moved.
pub fn hoist_loop_invariant_reads(f: &mut Func) -> bool {
    let idom = dominators(f);
    let mut loops = natural_loops(f, &idom);
    loops.sort_by_key(|(_, body)| body.len());
    let defs = def_counts(f);
    let mut moved = false;
    for i in 0..loops.len() {
        let (header, body) = loops[i].clone();
        if header == 0 {
            // No block runs before the entry: nothing to hoist into.
            continue;
        }
        let defined_inside: BTreeSet<V> = body
            .iter()
            .flat_map(|&b| f.blocks[b as usize].insts.iter())
            .filter_map(|(inst, _)| inst.def())
            .collect();
        let movable = |inst: &Inst| {
            pure_read(inst).is_some_and(|h| !defined_inside.contains(&h))
                && inst.def().is_some_and(|d| defs[d as usize] == 1)
        };
        let any = body.iter().any(|&b| {
            f.blocks[b as usize]
                .insts
                .iter()
                .any(|(inst, _)| movable(inst))
        });
        if !any {
            continue;
        }
        let pre = preheader(f, header, &body);
        // The new block belongs to every loop that encloses this one.
        for (_, outer) in loops.iter_mut().skip(i + 1) {
            if outer.contains(&header) {
                outer.insert(pre);
            }
        }
        let mut lifted = Vec::new();
        for b in f.layout.clone() {
            if !body.contains(&b) {
                continue;
            }
            let insts = std::mem::take(&mut f.blocks[b as usize].insts);
            let (go, stay): (Vec<_>, Vec<_>) = insts.into_iter().partition(|(i, _)| movable(i));
            f.blocks[b as usize].insts = stay;
            lifted.extend(go);
        }
        f.blocks[pre as usize].insts.extend(lifted);
        moved = true;
    }
    moved
}

/// The block that runs right before the loop at `header` is entered from
/// outside, created if needed.
fn preheader(f: &mut Func, header: BlockId, body: &BTreeSet<BlockId>) -> BlockId {
    let outside: Vec<BlockId> = predecessors(f)[header as usize]
        .iter()
        .copied()
        .filter(|p| !body.contains(p))
        .collect();
    if let [p] = outside[..]
        && f.blocks[p as usize].term == Term::Jump(header)
    {
        return p;
    }
    let pre = f.blocks.len() as BlockId;
    f.blocks.push(Block {
        insts: Vec::new(),
        term: Term::Jump(header),
        term_pos: f.blocks[header as usize].term_pos,
    });
    for p in outside {
        match &mut f.blocks[p as usize].term {
            Term::Jump(t) => *t = pre,
            Term::Branch { then, els, .. } => {
                for t in [then, els] {
                    if *t == header {
                        *t = pre;
                    }
                }
            }
            Term::Ret(_) => {}
        }
    }
    let at = f.layout.iter().position(|&b| b == header).unwrap_or(0);
    f.layout.insert(at, pre);
    pre
}

/// Replaces a pure slice read by a copy of an identical one that dominates
/// it (same handle, table and scale; single definitions only, so both see
/// the same handle and the earlier result is never overwritten). Returns
/// whether anything changed.
pub fn merge_reads(f: &mut Func) -> bool {
    let rpo = reverse_postorder(f);
    let idom = dominators(f);
    let defs = def_counts(f);
    // Children in the dominator tree.
    let mut children = vec![Vec::new(); f.blocks.len()];
    for &b in rpo.iter().skip(1) {
        if let Some(p) = idom[b as usize] {
            children[p as usize].push(b);
        }
    }
    type Key = (bool, V, bool, u8);
    let key = |inst: &Inst| -> Option<(Key, V)> {
        match *inst {
            Inst::SliceBase { dst, handle } => Some(((false, handle, false, 0), dst)),
            Inst::SliceLen {
                dst,
                handle,
                writable,
                size,
            } => Some(((true, handle, writable, size), dst)),
            _ => None,
        }
    };
    let mut available: HashMap<Key, V> = HashMap::new();
    let mut changed = false;
    // Preorder walk with an undo log per block.
    enum Step {
        Enter(BlockId),
        Leave(Vec<Key>),
    }
    let mut work = vec![Step::Enter(0)];
    while let Some(step) = work.pop() {
        let b = match step {
            Step::Leave(added) => {
                for k in added {
                    available.remove(&k);
                }
                continue;
            }
            Step::Enter(b) => b,
        };
        let mut added = Vec::new();
        for (inst, _) in &mut f.blocks[b as usize].insts {
            let Some((k, dst)) = key(inst) else {
                continue;
            };
            if defs[k.1 as usize] != 1 || defs[dst as usize] != 1 {
                continue;
            }
            match available.get(&k) {
                Some(&earlier) => {
                    *inst = Inst::Copy { dst, src: earlier };
                    changed = true;
                }
                None => {
                    available.insert(k, dst);
                    added.push(k);
                }
            }
        }
        work.push(Step::Leave(added));
        for &c in children[b as usize].iter().rev() {
            work.push(Step::Enter(c));
        }
    }
    changed
}

/// Moves each `SliceBase` of a handle up to right after a `SliceLen` of
/// the same handle in a block that dominates it (or earlier in its own
/// block), so that the emitter masks the handle once for both reads
/// (`mov rax, h; and eax, 7` then two loads through `rax`). Single
/// definitions only (the handle holds the same value at both places and
/// the base is written nowhere else); never into a loop the base's block
/// is not in. The read is pure and cannot trap, so reading it earlier, on
/// paths that then return without using it, changes nothing but one load
/// there. Only in functions without calls. Returns whether anything moved.
pub fn pair_reads(f: &mut Func) -> bool {
    // A base read moved above a call would live across it: a callee-saved
    // register or a spill slot for a load the call saved nothing on. (A
    // caller still holding calls after inlining is left as it is.)
    if f.blocks
        .iter()
        .any(|b| b.insts.iter().any(|(i, _)| i.is_call()))
    {
        return false;
    }
    let rpo = reverse_postorder(f);
    let idom = dominators(f);
    let defs = def_counts(f);
    let loops = natural_loops(f, &idom);
    let tree = crate::analysis::DomTree::new(&idom);
    let in_loop = |b: BlockId| -> Vec<bool> { loops.iter().map(|(_, l)| l.contains(&b)).collect() };
    // Where each single-definition `SliceLen` of a single-definition handle is.
    let mut len_at: HashMap<V, (BlockId, usize)> = HashMap::new();
    for &b in &rpo {
        for (k, (inst, _)) in f.blocks[b as usize].insts.iter().enumerate() {
            if let Inst::SliceLen { dst, handle, .. } = *inst
                && defs[dst as usize] == 1
                && defs[handle as usize] == 1
            {
                len_at.entry(handle).or_insert((b, k));
            }
        }
    }
    let mut moves = Vec::new();
    for &b in &rpo {
        for (k, (inst, _)) in f.blocks[b as usize].insts.iter().enumerate() {
            let Inst::SliceBase { dst, handle } = *inst else {
                continue;
            };
            let Some(&(d, at)) = len_at.get(&handle) else {
                continue;
            };
            if defs[dst as usize] != 1 || (d == b && k == at + 1) {
                continue;
            }
            let above = if d == b { at < k } else { tree.dominates(d, b) };
            let (ld, lb) = (in_loop(d), in_loop(b));
            if above && ld.iter().zip(&lb).all(|(&x, &y)| !x || y) {
                moves.push((b, k, d, at));
            }
        }
    }
    // Remove from the back so positions stay valid, then insert.
    moves.sort_by_key(|&(b, k, _, _)| std::cmp::Reverse((b, k)));
    let mut lifted = Vec::new();
    for &(b, k, d, _) in &moves {
        let inst = f.blocks[b as usize].insts.remove(k);
        lifted.push((d, inst));
    }
    let changed = !lifted.is_empty();
    for (d, (inst, pos)) in lifted {
        let Inst::SliceBase { handle, .. } = inst else {
            continue;
        };
        let at = f.blocks[d as usize]
            .insts
            .iter()
            .position(|(i, _)| matches!(*i, Inst::SliceLen { handle: h, .. } if h == handle))
            .map_or(0, |p| p + 1);
        f.blocks[d as usize].insts.insert(at, (inst, pos));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::test_support::optimised;

    /// Blocks that belong to some loop.
    fn loop_blocks(f: &Func) -> BTreeSet<BlockId> {
        let idom = dominators(f);
        natural_loops(f, &idom)
            .into_iter()
            .flat_map(|(_, body)| body)
            .collect()
    }

    fn reads_in(f: &Func, blocks: &BTreeSet<BlockId>) -> usize {
        blocks
            .iter()
            .flat_map(|&b| f.blocks[b as usize].insts.iter())
            .filter(|(i, _)| pure_read(i).is_some())
            .count()
    }

    fn all_reads(f: &Func) -> usize {
        let all: BTreeSet<BlockId> = (0..f.blocks.len() as BlockId).collect();
        reads_in(f, &all)
    }

    #[test]
    fn slice_reads_leave_nested_loops_and_merge() {
        let f = optimised(
            "export fn f(s: []u8, out: []mut u8) -> u32 {
                 var t: u32 = 0;
                 for k in 0..3 {
                     for i in 0..out.len {
                         out[i] = s[i];
                         t += s[i] as u32;
                     }
                 }
                 return t;
             }",
            "f",
        );
        assert_eq!(reads_in(&f, &loop_blocks(&f)), 0, "{f}");
        // out: base + the loop bound's writable length; s: base + read length.
        assert_eq!(all_reads(&f), 4, "{f}");
    }

    #[test]
    fn reads_of_a_handle_that_changes_in_the_loop_stay() {
        // The loop itself cannot change a slice parameter, but a read whose
        // handle is defined inside a loop must stay there: build one by hand.
        let mut f = Func::for_test(
            vec![
                Block {
                    insts: vec![],
                    term: Term::Jump(1),
                    term_pos: 0,
                },
                Block {
                    insts: vec![
                        (Inst::Copy { dst: 1, src: 0 }, 0),
                        (Inst::SliceBase { dst: 2, handle: 1 }, 0),
                        (Inst::SliceBase { dst: 3, handle: 0 }, 0),
                    ],
                    term: Term::Branch {
                        cond: 2,
                        then: 1,
                        els: 2,
                    },
                    term_pos: 0,
                },
                Block {
                    insts: vec![],
                    term: Term::Ret(Some(3)),
                    term_pos: 0,
                },
            ],
            4,
            false,
        );
        assert!(hoist_loop_invariant_reads(&mut f));
        let in_loop: Vec<&Inst> = f.blocks[1].insts.iter().map(|(i, _)| i).collect();
        assert_eq!(
            in_loop,
            vec![
                &Inst::Copy { dst: 1, src: 0 },
                &Inst::SliceBase { dst: 2, handle: 1 }
            ]
        );
        assert_eq!(
            f.blocks[0].insts,
            vec![(Inst::SliceBase { dst: 3, handle: 0 }, 0)]
        );
    }

    #[test]
    fn a_loop_entered_from_a_branch_gets_a_preheader() {
        let f = optimised(
            "export fn f(s: []u8, n: u32) -> u32 {
                 var t: u32 = 0;
                 if n > 3 {
                     var i: u32 = 0;
                     while i < n {
                         t += s[i] as u32;
                         i += 1;
                     }
                 }
                 return t;
             }",
            "f",
        );
        assert_eq!(reads_in(&f, &loop_blocks(&f)), 0, "{f}");
        assert_eq!(all_reads(&f), 2, "{f}");
    }
}
