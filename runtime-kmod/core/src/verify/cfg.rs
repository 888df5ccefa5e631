//! The control-flow graph of one function, built from its decoded
//! instructions, and the structural checks on it.
//!
//! Blocks start at the function's entry, at every branch target and after
//! every branch or `ret`, except a conditional branch to a trap stub: its
//! only edge in the graph is the fall-through, so its block goes on. Every
//! edge is explicit (a conditional branch has its taken and its
//! fall-through edge, a trap stub target is an exit).
//! Then a depth-first search numbers the reachable blocks in reverse
//! postorder, dominators are computed (Cooper, Harvey and Kennedy's
//! algorithm in one pass over the forward edges, with a work cap so that no
//! input makes it quadratic; why one pass is enough: `sandbox.md`), and
//! the graph must be **reducible**: every edge that goes back in reverse
//! postorder targets a block that dominates its source. Such a target is a
//! loop header, and a loop can be entered only through it.

use super::{FnCtx, Rule, State, VerifyError, Work, err, target};
use crate::decode::{AluOp, Op};

/// No block: an exit (trap stub) or no edge.
pub(super) const NONE: u32 = u32::MAX;

pub(super) const START: u8 = 1;
pub(super) const LEADER: u8 = 2;
pub(super) const FUNC: u8 = 4;

pub(super) fn flag(flags: &[u8], at: u32) -> u8 {
    flags.get(at as usize).copied().unwrap_or(0)
}

fn mark(flags: &mut [u8], at: u32, bit: u8) {
    if let Some(b) = flags.get_mut(at as usize) {
        *b |= bit;
    }
}

/// Builds the blocks of the function whose instructions are `w.insns[first..last]`
/// into `w.states[..n]`, numbers them in reverse postorder and checks the
/// structure. Returns `n` (blocks, reachable or not) and the number reached.
pub(super) fn build(
    fx: &FnCtx<'_, '_>,
    w: &mut Work<'_>,
    first: usize,
    last: usize,
) -> Result<(usize, usize), VerifyError> {
    let fi = w.insns.get(first..last).unwrap_or(&[]);
    // Leaders.
    mark(w.flags, fx.start, LEADER);
    for d in fi {
        match d.op {
            Op::Jcc { rel, .. } | Op::Jmp { rel } => {
                let t = target(d.end(), rel);
                if t >= fx.stubs_start {
                    if !fx.is_stub(t) {
                        return Err(err(d.at, Rule::Branch, "branch outside the code"));
                    }
                    if matches!(d.op, Op::Jcc { .. }) {
                        // Its only edge in the graph is its fall-through:
                        // the block goes on (`process` refines along it).
                        continue;
                    }
                } else {
                    if t < fx.start || t >= fx.end {
                        return Err(err(d.at, Rule::Branch, "branch into another function"));
                    }
                    if flag(w.flags, t) & START == 0 {
                        return Err(err(
                            d.at,
                            Rule::Branch,
                            "branch into the middle of an instruction",
                        ));
                    }
                    if t == fx.start {
                        return Err(err(d.at, Rule::Branch, "branch to the function's entry"));
                    }
                    mark(w.flags, t, LEADER);
                }
                mark(w.flags, d.end(), LEADER);
            }
            Op::Ret => mark(w.flags, d.end(), LEADER),
            _ => {}
        }
    }
    // Blocks in address order, each with its register effects (one pass
    // over the instructions for both, which it reads from memory once):
    // `uses` (registers it may read before writing them) and `writes`
    // (registers it may write). The effects so far are block `n - 1`'s. An
    // instruction's reads come before its writes, so a register it both
    // reads and writes is used.
    let mut n = 0usize;
    let (mut uses, mut writes) = (0u16, 0u16);
    for (j, d) in fi.iter().enumerate() {
        if flag(w.flags, d.at) & LEADER == 0 {
            let (reads, written) = reg_effects(&d.op);
            uses |= reads & !writes;
            writes |= written;
            continue;
        }
        if let Some(prev) = n.checked_sub(1).and_then(|p| w.states.get_mut(p)) {
            (prev.uses, prev.writes) = (uses, writes);
        }
        (uses, writes) = reg_effects(&d.op);
        let b = u32::try_from(n).unwrap_or(NONE);
        if let Some(s) = w.slot.get_mut(d.at as usize) {
            *s = b;
        }
        let blk =
            w.states
                .get_mut(n)
                .ok_or(err(fx.start, Rule::Workspace, "not enough block slots"))?;
        blk.reset_unreached();
        blk.first = u32::try_from(first.saturating_add(j)).unwrap_or(NONE);
        blk.start = d.at;
        if let Some(prev) = n.checked_sub(1).and_then(|p| w.states.get_mut(p)) {
            prev.last = blk_first(first, j);
        }
        n = n.saturating_add(1);
    }
    if let Some(prev) = n.checked_sub(1).and_then(|p| w.states.get_mut(p)) {
        prev.last = u32::try_from(last).unwrap_or(NONE);
        (prev.uses, prev.writes) = (uses, writes);
    }
    // Successors.
    for b in 0..n {
        let Some(blk) = w.states.get(b) else { continue };
        let lasti = blk.last.saturating_sub(1) as usize;
        let Some(d) = w.insns.get(lasti).copied() else {
            continue;
        };
        let block_at = |t: u32| -> u32 {
            if t >= fx.stubs_start {
                NONE
            } else {
                w.slot.get(t as usize).copied().unwrap_or(NONE)
            }
        };
        let next = if d.end() < fx.end {
            Some(block_at(d.end()))
        } else {
            None
        };
        let fall = || {
            next.ok_or(err(
                d.at,
                Rule::Branch,
                "execution can run off the end of the function",
            ))
        };
        let succ = match d.op {
            Op::Jcc { rel, .. } => [block_at(target(d.end(), rel)), fall()?],
            Op::Jmp { rel } => [block_at(target(d.end(), rel)), NONE],
            Op::Ret => [NONE, NONE],
            _ => [fall()?, NONE],
        };
        if let Some(blk) = w.states.get_mut(b) {
            blk.succ = succ;
        }
    }
    let reached = number(w, n);
    dominators(fx, w, reached)?;
    reducible(fx, w, n)?;
    loop_writes(w, reached);
    liveness(w, reached);
    Ok((n, reached))
}

fn blk_first(first: usize, j: usize) -> u32 {
    u32::try_from(first.saturating_add(j)).unwrap_or(NONE)
}

/// Depth-first search from block 0 without recursion (the parent links
/// and the next successor to visit live in the blocks); gives every reached
/// block its reverse-postorder number `rpo` and fills `order` (block at
/// each position). Returns the number of reached blocks.
fn number(w: &mut Work<'_>, n: usize) -> usize {
    let states = &mut *w.states;
    if n == 0 {
        return 0;
    }
    let mut post = 0u32;
    let mut b = 0u32;
    if let Some(s) = states.get_mut(0) {
        s.visited = true;
    }
    while let Some(s) = states.get_mut(b as usize) {
        if s.next_succ < 2 {
            let next = s
                .succ
                .get(usize::from(s.next_succ))
                .copied()
                .unwrap_or(NONE);
            s.next_succ = s.next_succ.saturating_add(1);
            if let Some(c) = states.get_mut(next as usize)
                && !c.visited
            {
                c.visited = true;
                c.parent = b;
                b = next;
            }
        } else {
            s.rpo = post; // postorder for now
            post = post.saturating_add(1);
            if b == 0 {
                break;
            }
            b = s.parent;
        }
    }
    let reached = post;
    for i in 0..n {
        let Some(s) = states.get_mut(i) else { continue };
        if s.visited {
            s.rpo = reached.saturating_sub(1).saturating_sub(s.rpo);
            let pos = s.rpo as usize;
            if let Some(o) = states.get_mut(pos) {
                o.order = u32::try_from(i).unwrap_or(NONE);
            }
        } else {
            s.rpo = NONE;
        }
    }
    reached as usize
}

/// Work allowed per block and edge before the dominator computation gives
/// up: kplc's functions need a few steps each; a hostile graph that would
/// need more is rejected rather than analysed in quadratic time.
const DOM_WORK_PER_BLOCK: usize = 64;

fn dominators(fx: &FnCtx<'_, '_>, w: &mut Work<'_>, reached: usize) -> Result<(), VerifyError> {
    let states = &mut *w.states;
    let mut budget = reached
        .saturating_mul(DOM_WORK_PER_BLOCK)
        .saturating_add(4096);
    let too_complex = err(
        fx.start,
        Rule::Structure,
        "control flow too complex to analyse",
    );
    for pos in 0..reached {
        let b = order(states, pos);
        if let Some(s) = states.get_mut(b as usize) {
            s.idom = if pos == 0 { b } else { NONE };
        }
    }
    // One pass in reverse postorder over the forward edges only (those to a
    // later position): every forward predecessor of a block comes before
    // it, so its immediate dominator in the graph of forward edges (an
    // acyclic graph every reached block is reached in, through the search's
    // tree edges) is final when the pass gets to it. `reducible` then
    // checks every other edge `u -> v` against these dominators; if `v`
    // dominates `u` in the forward graph for every one of them, the
    // dominators of the whole graph are these (argument in `sandbox.md`,
    // section 2): the graph is reducible exactly when the check passes.
    for pos in 0..reached {
        let b = order(states, pos);
        let Some(&State {
            succ,
            idom,
            rpo: rb,
            ..
        }) = states.get(b as usize)
        else {
            continue;
        };
        if idom == NONE {
            continue;
        }
        for s in succ {
            let Some(&State {
                idom: old, rpo: rs, ..
            }) = states.get(s as usize)
            else {
                continue;
            };
            if rs <= rb {
                continue; // not a forward edge
            }
            let new = if old == NONE {
                b
            } else {
                intersect(states, b, old, &mut budget).ok_or(too_complex)?
            };
            if let Some(x) = states.get_mut(s as usize) {
                x.idom = new;
            }
        }
        budget = budget.checked_sub(1).ok_or(too_complex)?;
    }
    Ok(())
}

fn order(states: &[State], pos: usize) -> u32 {
    states.get(pos).map_or(NONE, |s| s.order)
}

fn rpo(states: &[State], b: u32) -> u32 {
    states.get(b as usize).map_or(NONE, |s| s.rpo)
}

fn idom(states: &[State], b: u32) -> u32 {
    states.get(b as usize).map_or(NONE, |s| s.idom)
}

/// The nearest common dominator of `a` and `b`, spending `budget`.
fn intersect(states: &[State], mut a: u32, mut b: u32, budget: &mut usize) -> Option<u32> {
    while a != b {
        while rpo(states, a) > rpo(states, b) {
            a = idom(states, a);
            *budget = budget.checked_sub(1)?;
            if a == NONE {
                return None;
            }
        }
        while rpo(states, b) > rpo(states, a) {
            b = idom(states, b);
            *budget = budget.checked_sub(1)?;
            if b == NONE {
                return None;
            }
        }
    }
    Some(a)
}

/// Every edge that goes back in reverse postorder must target a dominator
/// of its source; that target is a loop header.
fn reducible(fx: &FnCtx<'_, '_>, w: &mut Work<'_>, n: usize) -> Result<(), VerifyError> {
    let states = &mut *w.states;
    let mut budget = n.saturating_mul(DOM_WORK_PER_BLOCK).saturating_add(4096);
    for u in 0..n {
        let Some(&State {
            succ,
            rpo: ru,
            start,
            ..
        }) = states.get(u)
        else {
            continue;
        };
        if ru == NONE {
            continue;
        }
        for v in succ {
            if let Some(t) = states.get_mut(v as usize) {
                t.in_edges = t.in_edges.saturating_add(1);
            }
            let rv = rpo(states, v);
            if v == NONE || rv > ru {
                continue;
            }
            // Does `v` dominate `u`? Walk up from `u`.
            let mut x = u32::try_from(u).unwrap_or(NONE);
            loop {
                if x == v {
                    break;
                }
                let up = idom(states, x);
                budget = budget.checked_sub(1).ok_or(err(
                    fx.start,
                    Rule::Structure,
                    "control flow too complex to analyse",
                ))?;
                if up == x || up == NONE {
                    return Err(err(
                        start,
                        Rule::Structure,
                        "a loop entered other than through its header (irreducible control flow)",
                    ));
                }
                x = up;
            }
            if let Some(h) = states.get_mut(v as usize) {
                h.header = true;
                h.latch = if h.latch == NONE { ru } else { h.latch.max(ru) };
            }
        }
    }
    Ok(())
}

/// Range scans allowed per reached block when [`loop_writes`] unions the
/// blocks of each loop: kplc's loops nest a few deep; past the cap a header
/// simply gets no registers to rename (the analysis stays exact, only
/// slower to reach its fixed point).
const LOOP_SCAN_PER_BLOCK: usize = 8;

/// For every loop header, the registers some instruction of the loop may
/// write (`State::fresh`): the blocks from the header to its last back
/// edge's source in reverse postorder, which hold the loop's blocks in the
/// usual layouts. Only the speed of the fixed-point iteration depends on
/// this set, never its soundness: the first join at the header gives these
/// registers names of their own (`Abs::join`), and a register the set
/// misses or includes needlessly only costs another pass over the loop.
///
/// Cost: one mask per position of each span (`build` made them),
/// O(blocks x loop depth), and the budget bounds their sum.
fn loop_writes(w: &mut Work<'_>, reached: usize) {
    let states = &mut *w.states;
    let mut budget = reached
        .saturating_mul(LOOP_SCAN_PER_BLOCK)
        .saturating_add(256);
    for pos in 0..reached {
        let b = order(states, pos);
        let Some(&State {
            header: true,
            latch,
            ..
        }) = states.get(b as usize)
        else {
            continue;
        };
        let end = (latch as usize).min(reached.saturating_sub(1));
        let Some(span) = end.checked_sub(pos).map(|s| s.saturating_add(1)) else {
            continue;
        };
        let Some(left) = budget.checked_sub(span) else {
            continue;
        };
        budget = left;
        let mut mask = 0u16;
        for q in pos..=end {
            let c = order(states, q);
            mask |= states.get(c as usize).map_or(0, |s| s.writes);
        }
        if let Some(s) = states.get_mut(b as usize) {
            s.fresh = mask;
        }
    }
}

/// Rounds of [`liveness`] before it gives up. A round visits the blocks in
/// postorder, so that each block sees its successors' latest sets except
/// across back edges; on a reducible graph the sets settle within the loop
/// nesting depth plus two rounds, which this allows for kplc's functions.
const LIVENESS_ROUNDS: usize = 8;

/// `State::live_in` of every reached block: the registers that may be read
/// on some path from its entry before they are written — the least fixed
/// point of `live_in(b) = uses(b) | (live_out(b) & !writes(b))`, with
/// `live_out(b)` the union of its successors' `live_in` (a trap stub's
/// reads nothing: it ends the plugin). `ret` and calls read every register
/// ([`reg_effects`]), so nothing a caller, a callee or the host can see is
/// ever dead.
///
/// Only the joins' precision depends on these sets, never soundness: a
/// join forgets a dead register (no name, possibly an address, upper bits
/// unknown), which is a weaker state whatever the sets say. A register
/// wrongly called dead could only make a program rejected. So if the sets
/// have not settled after [`LIVENESS_ROUNDS`] (they grow towards the fixed
/// point from below), every register is taken as live everywhere.
fn liveness(w: &mut Work<'_>, reached: usize) {
    let states = &mut *w.states;
    for pos in 0..reached {
        let b = order(states, pos);
        if let Some(s) = states.get_mut(b as usize) {
            s.live_in = s.uses;
        }
    }
    for _ in 0..LIVENESS_ROUNDS {
        let mut changed = false;
        for pos in (0..reached).rev() {
            let b = order(states, pos);
            let Some(&State {
                succ,
                uses,
                writes,
                live_in,
                ..
            }) = states.get(b as usize)
            else {
                continue;
            };
            let out = succ.iter().fold(0u16, |m, &t| {
                m | states.get(t as usize).map_or(0, |s| s.live_in)
            });
            let new = uses | (out & !writes);
            if new != live_in {
                changed = true;
                if let Some(s) = states.get_mut(b as usize) {
                    s.live_in = new;
                }
            }
        }
        if !changed {
            return;
        }
    }
    for pos in 0..reached {
        let b = order(states, pos);
        if let Some(s) = states.get_mut(b as usize) {
            s.live_in = u16::MAX;
        }
    }
}

/// The general registers an instruction may read and those it may write,
/// as a bit per register, from one exhaustive match.
///
/// Reads: every register an operand names as a source or an address, a
/// destination written only in part (`setcc`) or read by the operation
/// (arithmetic, `xadd`), and the implicit operands (`rax`/`rdx` of `div`,
/// `cqo`, `mul`, `cmpxchg`, `cl` of a shift); `ret`, a call and an import
/// call read all sixteen. Over-approximating is safe (a register taken as
/// read stays live), and so is missing one: see [`liveness`].
///
/// Writes: every register the instruction may change; a call writes every
/// caller-saved register.
#[inline(always)]
pub(super) fn reg_effects(op: &Op) -> (u16, u16) {
    const ALL: u16 = u16::MAX;
    const CALL: u16 = 0b0000_1111_1100_0111;
    const RAX: u16 = 1;
    const RCX: u16 = 1 << 1;
    const RDX: u16 = 1 << 2;
    let bit = |r: u8| 1u16.checked_shl(u32::from(r)).unwrap_or(0);
    let mem = |m: &crate::decode::Mem| {
        let base = match m.base {
            crate::decode::Base::Reg(r) => bit(r),
            crate::decode::Base::Rip => 0,
        };
        base | m.index.map_or(0, |(r, _)| bit(r))
    };
    match *op {
        Op::Endbr64 | Op::Jcc { .. } | Op::Jmp { .. } => (0, 0),
        Op::MovImm { dst, .. } | Op::Pop { reg: dst } => (0, bit(dst)),
        Op::Push { reg } => (bit(reg), 0),
        Op::Unary { reg, .. } | Op::Dec { reg } => (bit(reg), bit(reg)),
        Op::Ret => (ALL, 0),
        Op::Call { .. } | Op::CallRip { .. } => (ALL, CALL),
        Op::Cqo => (RAX, RDX),
        Op::Mov { dst, src, .. } | Op::Extend { dst, src, .. } | Op::ImulImm { dst, src, .. } => {
            (bit(src), bit(dst))
        }
        Op::Load { dst, mem: m, .. } | Op::Lea { dst, mem: m } => (mem(&m), bit(dst)),
        Op::StoreImm { mem: m, .. } | Op::CmpMemImm { mem: m, .. } => (mem(&m), 0),
        Op::Store { src, mem: m } => (bit(src) | mem(&m), 0),
        Op::CmpMem { reg, mem: m, .. } => (bit(reg) | mem(&m), 0),
        Op::Alu { op, dst, src, .. } => {
            let cmp = matches!(op, AluOp::Cmp | AluOp::Test);
            (bit(dst) | bit(src), if cmp { 0 } else { bit(dst) })
        }
        Op::AluImm { op, dst, .. } => {
            let cmp = matches!(op, AluOp::Cmp | AluOp::Test);
            (bit(dst), if cmp { 0 } else { bit(dst) })
        }
        Op::Imul { dst, src, .. } => (bit(dst) | bit(src), bit(dst)),
        Op::Setcc { dst, .. } => (bit(dst), bit(dst)),
        Op::Shift { dst, count, .. } => {
            let cl = if count == crate::decode::Count::Cl {
                RCX
            } else {
                0
            };
            (bit(dst) | cl, bit(dst))
        }
        Op::LockXadd { reg, mem: m } | Op::Xchg { reg, mem: m } => (bit(reg) | mem(&m), bit(reg)),
        Op::LockCmpxchg { reg, mem: m } => (RAX | bit(reg) | mem(&m), RAX),
        Op::Div { src, .. } => (RAX | RDX | bit(src), RAX | RDX),
        Op::MulWide { src, .. } => (RAX | bit(src), RAX | RDX),
    }
}
