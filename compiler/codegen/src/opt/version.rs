//! Loop versioning for constant-bounded indexes: a loop `for i in 0..n`
//! that indexes an array of a power-of-two length `N` (`ports[i]` with
//! `ports: [u16; 16]`) checks `i < N` on every trip, because nothing tells
//! the compiler (or the verifier) that `n ≤ N`. One test before the loop,
//! `n ≤ N`, now chooses between the loop as it was and a copy whose checks
//! are a mask instead:
//!
//! ```text
//!   P: cmp i, n ; jae exit           P: cmp i, n ; jae exit
//!   H: cmp i, N ; jae trap           V: cmp n, N ; ja H
//!      [base + i*s] ...              H': and i, N - 1
//!      ... cmp i, n ; jb H              [base + i*s] ...
//!                                       ... cmp i, n ; jb H'
//!                                    H: (the loop as it was)
//! ```
//!
//! When it applies: a natural loop with no loop inside it, of at most
//! [`MAX_BLOCKS`] blocks and [`MAX_INSTS`] instructions, whose header `H`
//! has exactly one predecessor outside the loop, and every predecessor of
//! `H` ends with `c = i <u n` (the last instruction) and branches to `H`
//! when `c` holds, for one pair of registers `i`, `n`; the loop never writes
//! `n`. The accesses versioned are those in `H` before any write of `i`,
//! to the stack, statics or read-only data, indexed by `i` with a check
//! `i < N` for a power of two `N ≤ 2^30` (the smallest such `N` among them
//! is the one tested).
//!
//! Why the copy computes the same: `H'` is entered only on an edge where
//! `i <u n` was just tested true (from `P` through `V`, which writes no
//! register the test read, or from a copied latch), and in the copy
//! `n ≤ N`; so `i < N` at the top of `H'`, the mask `i & (N - 1)` is `i`
//! itself, and every versioned check would have passed: dropping it
//! changes nothing. `H'` writes `i` with the value it already holds, so
//! the rest of the copy sees what the original would. The original loop
//! runs unchanged when `n > N`, with its traps.
//!
//! Why the verifier accepts the copy: `and r, N - 1` gives the index the
//! fact `i < N` (`book/src/runtime/sandbox.md`, "Facts"), exactly the bound
//! the `cmp i, N; jae` check gave it, so each access's extent is what it was.
//!
//! The pass runs once per function after inlining (`crate::pipeline`),
//! before the bounds-check merging and the block layout; no later pass
//! folds, so the mask (a second write of `i`) stays where it is put.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::analysis::{Predecessors, dominators, natural_loops, predecessors};
use crate::ir::*;

/// The largest loop copied, in blocks and in instructions.
const MAX_BLOCKS: usize = 16;
const MAX_INSTS: usize = 64;
/// Loops versioned per function at most. Each versioning analyses the
/// whole function again (its copy changes the graph), so without a bound a
/// function of `n` such loops cost `n` times its size: 1,000 loops over a
/// 16-byte table took 10 s to compile. Past the bound loops keep their
/// checks, which is correct, only slower.
const MAX_VERSIONED: usize = 32;

/// What one loop's versioning needs: the loop, the tested power of two and
/// the accesses of the header (by instruction index) whose checks the copy
/// drops.
struct Plan {
    lp: CountedLoop,
    limit: u64,
    accesses: Vec<usize>,
}

/// Versions every loop that qualifies (see the module docs). Returns
/// whether anything changed.
pub fn version_loops(f: &mut Func) -> bool {
    let mut changed = false;
    // Each versioning leaves the original loop with no access to version
    // in its copy's place and the copy with none left: one per loop, and
    // the loops are finitely many.
    let mut done: Vec<BlockId> = Vec::new();
    while done.len() < MAX_VERSIONED
        && let Some(plan) = find(f, &done)
    {
        done.push(plan.lp.header);
        apply(f, &plan);
        changed = true;
    }
    changed
}

/// The `(i, n)` of a block that ends with `c = i <u n` and branches to
/// `to` when `c` holds.
pub(super) fn tested_below(block: &Block, to: BlockId) -> Option<(V, V)> {
    let Term::Branch { cond, then, els } = block.term else {
        return None;
    };
    match block.insts.last() {
        Some((
            Inst::Cmp {
                cc: Cc::B,
                dst,
                a,
                b,
            },
            _,
        )) if *dst == cond && then == to && els != to => Some((*a, *b)),
        _ => None,
    }
}

/// An innermost natural loop counted by `i <u n`: every edge into its
/// header, from its one predecessor outside the loop (`entry`) and from
/// its latches, is a branch on `c = i <u n` taken when `c` holds.
pub(super) struct CountedLoop {
    pub(super) header: BlockId,
    pub(super) body: BTreeSet<BlockId>,
    pub(super) entry: BlockId,
    pub(super) i: V,
    pub(super) n: V,
}

/// The counted loops of `f` whose header is not in `done`, of at most
/// `max_blocks` blocks and `max_insts` instructions, with the analyses
/// they were found with (what both versioning passes start from).
pub(super) fn counted_loops(
    f: &Func,
    done: &[BlockId],
    max_blocks: usize,
    max_insts: usize,
) -> (Vec<CountedLoop>, Vec<Option<BlockId>>, Predecessors) {
    let idom = dominators(f);
    let loops = natural_loops(f, &idom);
    let preds = predecessors(f);
    // A loop with another header in its body has a loop inside it (asked
    // of each loop's body, not of every pair of loops).
    let headers: HashSet<BlockId> = loops.iter().map(|(h, _)| *h).collect();
    let mut out = Vec::new();
    for (h, body) in loops {
        if done.contains(&h)
            || body.len() > max_blocks
            || body.iter().any(|o| *o != h && headers.contains(o))
            || body
                .iter()
                .map(|&b| f.blocks[b as usize].insts.len())
                .sum::<usize>()
                > max_insts
        {
            continue;
        }
        let outside: Vec<BlockId> = preds[h as usize]
            .iter()
            .copied()
            .filter(|p| !body.contains(p))
            .collect();
        let [entry] = outside[..] else { continue };
        let Some((i, n)) = tested_below(&f.blocks[entry as usize], h) else {
            continue;
        };
        if preds[h as usize]
            .iter()
            .any(|&p| tested_below(&f.blocks[p as usize], h) != Some((i, n)))
        {
            continue;
        }
        out.push(CountedLoop {
            header: h,
            body,
            entry,
            i,
            n,
        });
    }
    (out, idom, preds)
}

fn find(f: &Func, done: &[BlockId]) -> Option<Plan> {
    let (loops, ..) = counted_loops(f, done, MAX_BLOCKS, MAX_INSTS);
    for lp in loops {
        let (h, i, n) = (lp.header, lp.i, lp.n);
        if lp.body.iter().any(|&b| {
            f.blocks[b as usize]
                .insts
                .iter()
                .any(|(inst, _)| inst.def() == Some(n))
        }) {
            continue;
        }
        let mut accesses = Vec::new();
        let mut limit = u64::MAX;
        for (k, lim) in table_accesses(&f.blocks[h as usize], i) {
            if lim.is_power_of_two() && lim <= 1 << 30 {
                accesses.push(k);
                limit = limit.min(lim);
            }
        }
        if accesses.is_empty() {
            continue;
        }
        return Some(Plan {
            lp,
            limit,
            accesses,
        });
    }
    None
}

/// The reads and writes of `block`, up to its first write of `i`, of the
/// stack, a static or read-only data at index `i` with the check `i < N`:
/// their positions and `N` (the accesses `opt::peel` and this pass look
/// for in a counted loop's header).
pub(super) fn table_accesses(block: &Block, i: V) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    for (k, (inst, _)) in block.insts.iter().enumerate() {
        if let Inst::Load { addr, .. } | Inst::Store { addr, .. } = inst
            && matches!(
                addr.base,
                Base::Stack(_) | Base::Static(_) | Base::Rodata(_)
            )
            && let Some(Index {
                v,
                check: Check::Below(lim, _),
                ..
            }) = addr.index
            && v == i
        {
            out.push((k, lim));
        }
        if inst.def() == Some(i) {
            break;
        }
    }
    out
}

fn apply(f: &mut Func, plan: &Plan) {
    let copy = copy_loop(f, &plan.lp.body);
    let h = copy.block(plan.lp.header);
    {
        let block = &mut f.blocks[h as usize];
        for &k in &plan.accesses {
            if let Some(addr) = block.insts[k].0.addr_mut()
                && let Some(index) = &mut addr.index
            {
                index.check = Check::Proven;
            }
        }
        let pos = block.insts.first().map_or(block.term_pos, |(_, p)| *p);
        block.insts.insert(
            0,
            (
                Inst::BinImm {
                    op: Op::And,
                    dst: plan.lp.i,
                    a: plan.lp.i,
                    imm: (plan.limit - 1) as i32,
                },
                pos,
            ),
        );
    }
    let c = f.n_vregs;
    f.n_vregs += 1;
    let pos = f.blocks[plan.lp.entry as usize].term_pos;
    let v = f.blocks.len() as BlockId;
    f.blocks.push(Block {
        insts: vec![(
            Inst::CmpImm {
                cc: Cc::Be,
                dst: c,
                a: plan.lp.n,
                imm: plan.limit as i32,
            },
            pos,
        )],
        term: Term::Branch {
            cond: c,
            then: h,
            els: plan.lp.header,
        },
        term_pos: pos,
    });
    if let Term::Branch { then, .. } = &mut f.blocks[plan.lp.entry as usize].term {
        *then = v;
    }
    copy.lay_out(f, plan.lp.header, &[v]);
}

/// A copy of a loop's blocks appended to the function ([`copy_loop`]).
pub(super) struct LoopCopy {
    /// Block of the loop → its copy.
    copy: BTreeMap<BlockId, BlockId>,
    /// The loop's blocks, as given.
    body: BTreeSet<BlockId>,
}

impl LoopCopy {
    /// The copy of `b` (`b` itself when it is not in the loop).
    pub(super) fn block(&self, b: BlockId) -> BlockId {
        self.copy.get(&b).copied().unwrap_or(b)
    }

    /// Puts `first` (the blocks that choose a version), then the copy,
    /// where the loop was in the layout, and the loop after them.
    pub(super) fn lay_out(&self, f: &mut Func, header: BlockId, first: &[BlockId]) {
        let at = f
            .layout
            .iter()
            .position(|&b| b == header)
            .unwrap_or(f.layout.len());
        let mut new: Vec<BlockId> = first.to_vec();
        new.extend(self.copied_in_layout(f));
        f.layout.splice(at..at, new);
    }

    /// Puts `first` where the loop was in the layout, the loop after it, and
    /// then `then` and the copy: registers live only from before the loop
    /// into it are then not live across the copy.
    pub(super) fn lay_out_after(
        &self,
        f: &mut Func,
        header: BlockId,
        first: &[BlockId],
        then: &[BlockId],
    ) {
        let mut new: Vec<BlockId> = then.to_vec();
        new.extend(self.copied_in_layout(f));
        let end = f
            .layout
            .iter()
            .rposition(|b| self.body.contains(b))
            .map_or(f.layout.len(), |k| k + 1);
        f.layout.splice(end..end, new);
        let at = f
            .layout
            .iter()
            .position(|&b| b == header)
            .unwrap_or(f.layout.len());
        f.layout.splice(at..at, first.iter().copied());
    }

    /// The copies of the loop's blocks, in the loop's layout order.
    fn copied_in_layout(&self, f: &Func) -> Vec<BlockId> {
        f.layout
            .iter()
            .filter(|b| self.body.contains(b))
            .map(|&b| self.block(b))
            .collect()
    }
}

/// Appends a copy of the loop `body` to `f`: its edges inside the loop go
/// to the copy, its exits where the loop's go. Registers the loop's blocks
/// alone read and write get new ones in the copy. The others (the index,
/// the bound, what the loop carries in and leaves behind) are shared, so
/// both versions read and write them alike and what follows the loop finds
/// them whichever one ran. Renaming keeps each copy's temporaries to its
/// own stretch of the layout: shared, their live intervals would span both
/// loops and crowd the register file. Nothing enters the copy until the
/// caller sends an edge there.
pub(super) fn copy_loop(f: &mut Func, body: &BTreeSet<BlockId>) -> LoopCopy {
    let base = f.blocks.len() as BlockId;
    let copy: BTreeMap<BlockId, BlockId> = body
        .iter()
        .enumerate()
        .map(|(k, &b)| (b, base + k as BlockId))
        .collect();
    let map = |b: BlockId| copy.get(&b).copied().unwrap_or(b);
    let mut shared = vec![false; f.n_vregs as usize];
    let mut in_loop = vec![false; f.n_vregs as usize];
    for &p in &f.params {
        shared[p as usize] = true;
    }
    let mut buf = Vec::new();
    for (k, block) in f.blocks.iter().enumerate() {
        let seen = if body.contains(&(k as BlockId)) {
            &mut in_loop
        } else {
            &mut shared
        };
        for (inst, _) in &block.insts {
            buf.clear();
            inst.uses(&mut buf);
            buf.extend(inst.def());
            for &r in &buf {
                seen[r as usize] = true;
            }
        }
        if let Term::Branch { cond: r, .. } | Term::Ret(Some(r)) = block.term {
            seen[r as usize] = true;
        }
    }
    let mut rename: Vec<V> = (0..f.n_vregs).collect();
    for r in 0..f.n_vregs {
        if in_loop[r as usize] && !shared[r as usize] {
            rename[r as usize] = f.n_vregs;
            f.n_vregs += 1;
        }
    }
    for &b in body {
        let mut block = f.blocks[b as usize].clone();
        block.term.map_targets(|t| *t = map(*t));
        for (inst, _) in &mut block.insts {
            inst.map_uses(&mut |r| *r = rename[*r as usize]);
            inst.map_def(&mut |r| *r = rename[*r as usize]);
        }
        if let Term::Branch { cond: r, .. } | Term::Ret(Some(r)) = &mut block.term {
            *r = rename[*r as usize];
        }
        f.blocks.push(block);
    }
    LoopCopy {
        copy,
        body: body.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::test_support::{check_counts, optimised};

    /// Loads by their check: (checked, proven).
    fn checks(f: &Func) -> (usize, usize) {
        check_counts(f, |inst| matches!(inst, Inst::Load { .. }))
    }

    const SUM: &str = "
        static a: [u32; LEN] = [0; LEN];
        static n: u32 = 0;
        export fn sum() -> u32 {
            var s: u32 = 0;
            for i in 0..n {
                s += a[i];
            }
            return s;
        }
    ";

    #[test]
    fn a_power_of_two_array_gets_a_masked_copy_of_the_loop() {
        let mut f = optimised(&SUM.replace("LEN", "16"), "sum");
        assert_eq!(checks(&f), (1, 0));
        assert!(version_loops(&mut f));
        // The loop as it was, and the copy: its read unchecked, after a
        // mask by 15 at the top of its header.
        assert_eq!(checks(&f), (1, 1));
        let masks = f
            .blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|(i, _)| {
                matches!(
                    i,
                    Inst::BinImm {
                        op: Op::And,
                        imm: 15,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(masks, 1);
        let tests = f
            .blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|(i, _)| {
                matches!(
                    i,
                    Inst::CmpImm {
                        cc: Cc::Be,
                        imm: 16,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(tests, 1);
        // Once is all: the copy and the original no longer qualify.
        assert!(!version_loops(&mut f));
    }

    #[test]
    fn other_lengths_and_other_bounds_are_left_alone() {
        // A mask cannot bound an index by 10.
        let mut f = optimised(&SUM.replace("LEN", "10"), "sum");
        assert!(!version_loops(&mut f));
        // The index is not the one the loop tests.
        let src = SUM
            .replace("LEN", "16")
            .replace("0..n", "0..n - 1")
            .replace("a[i]", "a[i + 1]");
        let mut f = optimised(&src, "sum");
        assert!(!version_loops(&mut f));
    }
}
