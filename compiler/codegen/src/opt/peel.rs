//! Peeling of short counted loops: a loop `for i in c..n` whose header
//! indexes a table of `N` elements by `i` (`ports[i]`, `ports: [u16; 16]`)
//! runs at most `N - c` trips before that access traps, so its first `N -
//! c` trips are copied out, one after another, each with `i` a constant;
//! the loop itself follows the last copy, entered with `i = N`.
//!
//! ```text
//!   E: cmp i, n ; jb H               E: cmp i, n ; jb H0
//!   H: [base + i*s] ...              H0: [base + c*s] ...        (copy, i = c)
//!   L: i += 1 ; budget               L0: budget ; cmp c+1, n ; jb H1 else exit
//!      cmp i, n ; jb H else exit     H1: [base + (c+1)*s] ...    (copy, i = c+1)
//!                                    ...
//!                                    L(K-1): budget ; cmp N, n ; jb R else exit
//!                                    R:  i = N
//!                                    H:  (the loop as it was)
//! ```
//!
//! Each copy's accesses then have a constant index, which
//! [`super::simplify`] folds into the displacement (no mask, no check, no
//! register), its tests compare `n` with a constant, and there is no back
//! edge: for the packet filter's search of its 16 ports, 9 instructions per
//! port (mask, read, compare, step, budget, test) become 7 (read, compare,
//! budget, test against a constant).
//!
//! When it applies: a counted loop ([`super::version::counted_loops`]:
//! innermost, every edge into the header a branch on `i <u n`, one of them
//! from the block `E` before the loop) of at most [`MAX_INSTS`]
//! instructions, with one latch `L` (the header's one predecessor inside),
//! where `i`'s only write in the loop is `i = i + 1`; `i` holds a constant `c ≥ 0` on the
//! edge into the header (its last write before it, in `E` or in the chain of
//! blocks with one edge in above `E`, is `i = c`); and the header, before
//! the increment, reads or writes the stack, a static or read-only data at
//! index `i` with the check `i < N`, `c < N ≤ c + MAX_TRIPS`.
//!
//! Why the result is the same: peeling is correct for any number of copies.
//! Copy `k` is trip `k` of the loop: it is entered only when trip `k`
//! would start (from `E` or from copy `k - 1`'s latch, on the same test
//! `i <u n` with `i` replaced by the value it holds on that edge, `c + k`),
//! it runs the loop's instructions in order with `i` replaced by that value
//! before the increment and by `c + k + 1` after it (the only write of `i`
//! in the loop), its registers are the loop's own (shared, or renamed
//! where only the loop uses them: [`super::version::copy_loop`]), and its
//! exits go where the loop's go. The budget check of each trip stays, so
//! the fuel spent is the same. `i` itself is not written in the copies:
//! an exit of a copy to a block from which `i` may be read before it is
//! written goes through a block that sets `i` to its value on that edge;
//! and the loop is entered from the last copy through `R`, which
//! sets it to `c + K`, the value it holds after `K` trips. The access is why `K = N - c`
//! copies suffice: a trip with `i = N` traps at that access in the loop.
//!
//! Why the verifier accepts it: the copies hold no loop (no back edge, so
//! no fuel rule beyond the decrement being tested), and a folded access
//! `[base + c*s]` is proved by its displacement alone.
//!
//! The pass runs once per function after inlining (`crate::pipeline`),
//! followed by a simplification when it changed something, and before
//! [`super::version`]: the loop left after `R` is entered by a jump, not a
//! test, so it is not versioned (it only ever runs into its trap).

use super::version::{CountedLoop, LoopCopy, copy_loop, counted_loops, table_accesses};
use crate::analysis::Predecessors;
use crate::ir::*;

/// The largest loop peeled, in instructions, and the most trips copied.
const MAX_INSTS: usize = 24;
const MAX_TRIPS: u64 = 16;
/// Loops peeled per function at most (each finding analyses the whole
/// function again).
const MAX_PEELED: usize = 4;

/// What peeling one loop needs.
struct Plan {
    lp: CountedLoop,
    latch: BlockId,
    /// The increment's position in the latch.
    step: usize,
    start: i64,
    trips: u64,
    /// `live[b]`: `i` may be read from the start of block `b` on before it
    /// is written. An exit of a copy to such a block sets `i` first.
    live: Vec<bool>,
}

/// Peels every loop that qualifies (see the module docs). Returns whether
/// anything changed.
pub fn peel_short_loops(f: &mut Func) -> bool {
    let mut done: Vec<BlockId> = Vec::new();
    while done.len() < MAX_PEELED
        && let Some(plan) = find(f, &done)
    {
        done.push(plan.lp.header);
        apply(f, &plan);
    }
    !done.is_empty()
}

fn find(f: &Func, done: &[BlockId]) -> Option<Plan> {
    let (loops, _, preds) = counted_loops(f, done, usize::MAX, MAX_INSTS);
    loops.into_iter().find_map(|lp| {
        let h = lp.header;
        let inside: Vec<BlockId> = preds[h as usize]
            .iter()
            .copied()
            .filter(|p| lp.body.contains(p))
            .collect();
        let [latch] = inside[..] else { return None };
        let step = only_step(f, &lp, latch)?;
        let start = start_value(f, &preds, lp.entry, lp.i)?;
        let limit = table_accesses(&f.blocks[h as usize], lp.i)
            .into_iter()
            .map(|(_, n)| n)
            .min()?;
        let start_u = u64::try_from(start).ok()?;
        let trips = limit
            .checked_sub(start_u)
            .filter(|t| (1..=MAX_TRIPS).contains(t))?;
        let live = live_in(f, lp.i, &preds);
        Some(Plan {
            lp,
            latch,
            step,
            start,
            trips,
            live,
        })
    })
}

/// The position of `i = i + 1` in the latch, if that is `i`'s only write
/// in the loop.
fn only_step(f: &Func, lp: &CountedLoop, latch: BlockId) -> Option<usize> {
    let mut step = None;
    for &b in &lp.body {
        for (k, (inst, _)) in f.blocks[b as usize].insts.iter().enumerate() {
            if inst.def() != Some(lp.i) {
                continue;
            }
            match inst {
                Inst::BinImm {
                    op: Op::Add,
                    a,
                    imm: 1,
                    ..
                } if *a == lp.i && b == latch && step.is_none() => step = Some(k),
                _ => return None,
            }
        }
    }
    step
}

/// Sends every exit of the copy of trip `value` to a block where `i` may
/// be read ([`live_in`]) through a block that sets `i` to what it holds on
/// that edge in the loop: `value` before the step, `value + 1` after it
/// (exits from the latch). The copies do not write `i`. `onward` (the next
/// trip's header, or the block back into the loop) is not an exit.
fn set_index_on_exits(f: &mut Func, plan: &Plan, copy: &LoopCopy, value: i64, onward: BlockId) {
    let lp = &plan.lp;
    let copies: Vec<BlockId> = lp.body.iter().map(|&b| copy.block(b)).collect();
    for &b in &lp.body {
        let c = copy.block(b);
        let held = if b == plan.latch { value + 1 } else { value };
        let pos = f.blocks[c as usize].term_pos;
        let mut exits: Vec<BlockId> = f.blocks[c as usize].term.successors().to_vec();
        exits.retain(|t| {
            !copies.contains(t)
                && !lp.body.contains(t)
                && *t != onward
                && plan.live.get(*t as usize) == Some(&true)
        });
        exits.dedup();
        for t in exits {
            let setter = f.blocks.len() as BlockId;
            f.blocks.push(Block {
                insts: vec![(
                    Inst::Const {
                        dst: lp.i,
                        value: held,
                    },
                    pos,
                )],
                term: Term::Jump(t),
                term_pos: pos,
            });
            f.layout.push(setter);
            f.blocks[c as usize].term.map_targets(|x| {
                if *x == t {
                    *x = setter;
                }
            });
        }
    }
}

/// For each block, whether `i` may be read from its start on before it is
/// written (liveness of one register: a block reads it first, or passes
/// it through to a successor that may).
fn live_in(f: &Func, i: V, preds: &Predecessors) -> Vec<bool> {
    let n = f.blocks.len();
    // Per block: (reads `i` before writing it, writes it).
    let mut buf = Vec::new();
    let local: Vec<(bool, bool)> = f
        .blocks
        .iter()
        .map(|block| {
            for (inst, _) in &block.insts {
                buf.clear();
                inst.uses(&mut buf);
                if buf.contains(&i) {
                    return (true, false);
                }
                if inst.def() == Some(i) {
                    return (false, true);
                }
            }
            let read = matches!(block.term, Term::Branch { cond, .. } | Term::Ret(Some(cond)) if cond == i);
            (read, false)
        })
        .collect();
    let mut live: Vec<bool> = local.iter().map(|&(read, _)| read).collect();
    let mut work: Vec<usize> = (0..n).filter(|&b| live[b]).collect();
    while let Some(b) = work.pop() {
        for &p in &preds[b] {
            let p = p as usize;
            if !live[p] && !local[p].1 {
                live[p] = true;
                work.push(p);
            }
        }
    }
    live
}

/// The constant `i` holds at the end of `entry`: its last write there, or
/// in the chain of blocks with one edge in above it, is `i = c`.
fn start_value(f: &Func, preds: &Predecessors, entry: BlockId, i: V) -> Option<i64> {
    let mut b = entry;
    for _ in 0..8 {
        if let Some((inst, _)) = f.blocks[b as usize]
            .insts
            .iter()
            .rev()
            .find(|(inst, _)| inst.def() == Some(i))
        {
            return match inst {
                Inst::Const { value, .. } => Some(*value),
                _ => None,
            };
        }
        let [p] = preds[b as usize] else { return None };
        b = p;
    }
    None
}

fn apply(f: &mut Func, plan: &Plan) {
    let lp = &plan.lp;
    let h = lp.header;
    // The block that enters the loop as it was, after the copies.
    let rejoin = f.blocks.len() as BlockId;
    let pos = f.blocks[h as usize].term_pos;
    f.blocks.push(Block {
        insts: vec![(
            Inst::Const {
                dst: lp.i,
                value: plan.start + plan.trips as i64,
            },
            pos,
        )],
        term: Term::Jump(h),
        term_pos: pos,
    });
    let mut next = rejoin;
    let mut headers = Vec::new();
    // From the last trip up, so each copy's latch knows the next header.
    for k in (0..plan.trips).rev() {
        let copy = copy_loop(f, &lp.body);
        let value = plan.start + k as i64;
        let (before, after) = (f.n_vregs, f.n_vregs + 1);
        f.n_vregs += 2;
        for &b in &lp.body {
            let c = copy.block(b);
            let block = &mut f.blocks[c as usize];
            let split = if b == plan.latch {
                plan.step
            } else {
                block.insts.len()
            };
            for (n, (inst, _)) in block.insts.iter_mut().enumerate() {
                let to = if n < split { before } else { after };
                inst.map_uses(&mut |r| {
                    if *r == lp.i {
                        *r = to;
                    }
                });
            }
            if let Term::Branch { cond, .. } | Term::Ret(Some(cond)) = &mut block.term
                && *cond == lp.i
            {
                // The latch's terminator comes after the increment.
                *cond = if b == plan.latch { after } else { before };
            }
            if b == plan.latch {
                // The increment: its value is the next trip's constant.
                block.insts[plan.step].0 = Inst::Const {
                    dst: after,
                    value: value + 1,
                };
                // The back edge goes on to the next trip.
                let copied_h = copy.block(h);
                block.term.map_targets(|t| {
                    if *t == copied_h {
                        *t = next;
                    }
                });
            }
        }
        set_index_on_exits(f, plan, &copy, value, next);
        let ch = copy.block(h);
        let first_pos = f.blocks[ch as usize]
            .insts
            .first()
            .map_or(f.blocks[ch as usize].term_pos, |(_, p)| *p);
        f.blocks[ch as usize]
            .insts
            .insert(0, (Inst::Const { dst: before, value }, first_pos));
        headers.push((ch, copy));
        next = ch;
    }
    if let Term::Branch { then, .. } = &mut f.blocks[lp.entry as usize].term {
        *then = next;
    }
    // Layout: the copies in trip order, then `rejoin`, then the loop.
    headers.reverse();
    for (_, copy) in &headers {
        copy.lay_out(f, h, &[]);
    }
    let at = f
        .layout
        .iter()
        .position(|&b| b == h)
        .unwrap_or(f.layout.len());
    f.layout.insert(at, rejoin);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::simplify::simplify;
    use crate::opt::test_support::optimised;

    /// Accesses with an index register, and without (a constant folded
    /// into the displacement).
    fn indexed_and_folded(f: &Func) -> (usize, usize) {
        let accesses = f
            .blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter_map(|(i, _)| i.addr())
            .filter(|a| matches!(a.base, Base::Static(_) | Base::Stack(_)));
        accesses.fold((0, 0), |(i, c), a| {
            if a.index.is_some() {
                (i + 1, c)
            } else {
                (i, c + 1)
            }
        })
    }

    fn budgets(f: &Func) -> usize {
        f.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|(i, _)| matches!(i, Inst::Budget { .. }))
            .count()
    }

    fn peeled(src: &str, name: &str) -> Option<Func> {
        let mut f = optimised(src, name);
        peel_short_loops(&mut f).then(|| {
            simplify(&mut f);
            f
        })
    }

    const SEARCH: &str = "
        static ports: [u16; 16] = [0; 16];
        static count: u32 = 0;
        export fn find(port: u32) -> bool {
            for i in 0..count {
                if ports[i] as u32 == port {
                    return true;
                }
            }
            return false;
        }
    ";

    #[test]
    fn a_search_of_a_short_table_is_copied_out_trip_by_trip() {
        let f = peeled(SEARCH, "find").expect("peeled");
        // Sixteen trips with the index folded, each with its budget check,
        // and the loop after them (one indexed read, one budget check); the
        // read of `count` has no index either.
        assert_eq!(indexed_and_folded(&f), (1, 16 + 1));
        assert_eq!(budgets(&f), 17);
        // The copies' tests compare the count with a constant.
        let tests = f
            .blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|(i, _)| matches!(i, Inst::CmpImm { cc: Cc::A, .. }))
            .count();
        assert!(tests >= 15, "{f}");
    }

    #[test]
    fn the_trips_copied_are_those_left_below_the_table_length() {
        let src = SEARCH.replace("0..count", "3..count");
        let f = peeled(&src, "find").expect("peeled");
        assert_eq!(indexed_and_folded(&f), (1, 13 + 1));
    }

    #[test]
    fn loops_that_do_not_qualify_are_left_alone() {
        // The start is not a constant; the table is longer than the trips
        // copied at most.
        let from = SEARCH
            .replace("0..count", "from..count")
            .replace("find(port: u32)", "find(port: u32, from: u32)");
        assert!(peeled(&from, "find").is_none());
        assert!(peeled(&SEARCH.replace("16", "32"), "find").is_none());

        // The index written in the loop besides its step, or read after
        // the loop (no source gives either: a `for` variable is neither,
        // and a `while` steps through a copy), made by hand from the loop
        // that is peeled.
        let f = optimised(SEARCH, "find");
        let (loops, ..) = counted_loops(&f, &[], usize::MAX, MAX_INSTS);
        let lp = loops.first().expect("a counted loop");
        // Where the loop's test sends control when it fails.
        let Term::Branch { els: exit, .. } = f.blocks[lp.entry as usize].term else {
            panic!("the entry test branches");
        };
        let mut read_after = f.clone();
        let spare = read_after.n_vregs;
        read_after.n_vregs += 1;
        read_after.blocks[exit as usize].insts.insert(
            0,
            (
                Inst::Copy {
                    dst: spare,
                    src: lp.i,
                },
                0,
            ),
        );
        let mut written = f.clone();
        written.blocks[lp.header as usize].insts.push((
            Inst::BinImm {
                op: Op::Add,
                dst: lp.i,
                a: lp.i,
                imm: 0,
            },
            0,
        ));
        assert!(!peel_short_loops(&mut written));
        let mut g = f;
        assert!(peel_short_loops(&mut g), "the loop itself");
        // Read after the loop (where the search fails), the index is
        // peeled too, and each exit to that block sets it first: from each
        // trip's latch, after the step (1..=16). The exits where the match
        // is found return without reading it and set nothing. The block
        // back into the loop sets it to 16 as well.
        assert!(peel_short_loops(&mut read_after));
        let mut set: Vec<i64> = read_after
            .blocks
            .iter()
            .filter_map(|b| match (&b.insts[..], &b.term) {
                ([(Inst::Const { dst, value }, _)], Term::Jump(_)) if *dst == lp.i => Some(*value),
                _ => None,
            })
            .collect();
        set.sort_unstable();
        let mut want: Vec<i64> = (1..=16).collect();
        want.push(16);
        want.sort_unstable();
        assert_eq!(set, want);
    }
}
