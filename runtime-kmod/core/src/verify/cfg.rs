//! The control-flow graph of one function, built from its decoded
//! instructions, and the structural checks on it.
//!
//! Blocks start at the function's entry, at every branch target and after
//! every branch or `ret`, except a conditional branch to a trap stub: its
//! only edge in the graph is the fall-through, so its block goes on. Every
//! edge is explicit (a conditional branch has its taken and its
//! fall-through edge, a trap stub target is an exit).
//! Then a depth-first search numbers the reachable blocks in reverse
//! postorder, dominators are computed (one pass over the forward edges,
//! each join found as the nearest common ancestor in the dominator tree
//! built so far, through jump pointers: `O(log n)` steps per edge on any
//! graph, after up to 8 plain steps; a work cap no graph reaches ends a walk on an inconsistent tree; why one pass is
//! enough: `sandbox.md`), and
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

/// Work allowed per block before the dominator computation (or the
/// reducibility check) gives up. A block has at most two out-edges, and
/// each costs at most one nearest-common-dominator (or ancestor) search of
/// at most 4·b + 4 steps, `b` the bits of `n`, after at most
/// [`NEAR_STEPS`] of the plain walk (`tests::step_bound`): with code of at
/// most 256 KiB, `n` < 2^18 blocks and a search takes at most 84 steps, so
/// no graph, however shaped, needs more than 168 per block. The cap only
/// stops a walk that would not end if the tree were inconsistent. (It was
/// 64 when the search walked up one dominator at a time: a loop of 200
/// `if … { break; }` needed more, and kplc's own code for it was refused.)
const DOM_WORK_PER_BLOCK: usize = 256;

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
    // tree edges) is final when the pass gets to it, and the block takes
    // its place in the tree then. `reducible` then
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
        place_in_tree(states, b, idom);
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
                nearest_common_dominator(states, b, old, &mut budget).ok_or(too_complex)?
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

fn depth(states: &[State], b: u32) -> u32 {
    states.get(b as usize).map_or(0, |s| s.dom_depth)
}

fn jump(states: &[State], b: u32) -> u32 {
    states.get(b as usize).map_or(NONE, |s| s.dom_jump)
}

/// Gives `b`, whose immediate dominator `p` is final and placed, its depth
/// and jump pointer (`p == b`: the root). The jump pointers are skew-binary
/// (Myers, 1983): `b` jumps where its parent's jump jumps when the parent's
/// last two jumps were of one length, else to its parent. So where a node
/// jumps depends only on its depth, the jumps from any node up to the root
/// cover lengths `1, 1, 3, 7, 15, …` in a skew-binary way, and
/// [`ancestor_at_depth`] and [`nearest_common_dominator`] take `O(log n)`
/// steps, with one word per block.
fn place_in_tree(states: &mut [State], b: u32, p: u32) {
    let (d, j) = if p == b {
        (0, b)
    } else {
        let (dp, jp) = (depth(states, p), jump(states, p));
        let (djp, jjp) = (depth(states, jp), jump(states, jp));
        let even = dp.wrapping_sub(djp) == djp.wrapping_sub(depth(states, jjp));
        (dp.saturating_add(1), if even { jjp } else { p })
    };
    if let Some(s) = states.get_mut(b as usize) {
        s.dom_depth = d;
        s.dom_jump = j;
    }
}

/// The ancestor of `v` at depth `d` (at most `v`'s) in the dominator tree,
/// spending `budget`; `None` when the budget runs out or the tree does not
/// lead there (a jump that does not go up).
fn ancestor_at_depth(states: &[State], mut v: u32, d: u32, budget: &mut usize) -> Option<u32> {
    while depth(states, v) > d {
        let j = jump(states, v);
        let up = if depth(states, j) >= d {
            j
        } else {
            idom(states, v)
        };
        if up == NONE || depth(states, up) >= depth(states, v) {
            return None;
        }
        v = up;
        *budget = budget.checked_sub(1)?;
    }
    Some(v)
}

/// Steps [`nearest_common_dominator`] first takes one dominator at a time,
/// as Cooper, Harvey and Kennedy's intersection does: most joins in kplc's
/// code are a few blocks up, where that is cheaper than the jump pointers.
const NEAR_STEPS: u32 = 8;

/// The nearest common dominator of `a` and `b` (both placed), spending
/// `budget`. First up to [`NEAR_STEPS`] steps of the plain walk: the block
/// later in reverse postorder is replaced by its immediate dominator, which
/// keeps the answer (a common dominator of both comes before both). Then,
/// at one depth, two nodes' jumps land at one depth: if they land on
/// different nodes, the common dominator is above both landings, else it is
/// at or below them and the parents are the next to compare.
fn nearest_common_dominator(
    states: &[State],
    mut a: u32,
    mut b: u32,
    budget: &mut usize,
) -> Option<u32> {
    for _ in 0..NEAR_STEPS {
        if a == b {
            return Some(a);
        }
        if rpo(states, a) > rpo(states, b) {
            a = idom(states, a);
        } else {
            b = idom(states, b);
        }
        if a == NONE || b == NONE {
            return None;
        }
        *budget = budget.checked_sub(1)?;
    }
    let d = depth(states, a).min(depth(states, b));
    let mut a = ancestor_at_depth(states, a, d, budget)?;
    let mut b = ancestor_at_depth(states, b, d, budget)?;
    while a != b {
        let (ja, jb) = (jump(states, a), jump(states, b));
        (a, b) = if ja != jb {
            (ja, jb)
        } else {
            (idom(states, a), idom(states, b))
        };
        if a == NONE || b == NONE {
            return None;
        }
        *budget = budget.checked_sub(1)?;
    }
    Some(a)
}

/// Whether `v` dominates `u` (both placed), spending `budget`: whether
/// `u`'s ancestor at `v`'s depth is `v`. A loop's header is usually a few
/// blocks up from its back edge's source, so up to [`NEAR_STEPS`] steps go
/// one dominator at a time before the jump pointers.
fn dominates(states: &[State], v: u32, mut u: u32, budget: &mut usize) -> Option<bool> {
    let dv = depth(states, v);
    for _ in 0..NEAR_STEPS {
        if depth(states, u) <= dv {
            return Some(u == v);
        }
        u = idom(states, u);
        if u == NONE {
            return None;
        }
        *budget = budget.checked_sub(1)?;
    }
    Some(depth(states, u) >= dv && ancestor_at_depth(states, u, dv, budget)? == v)
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
        let ub = u32::try_from(u).unwrap_or(NONE);
        for v in succ {
            if let Some(t) = states.get_mut(v as usize) {
                t.in_edges = t.in_edges.saturating_add(1);
            }
            let rv = rpo(states, v);
            if v == NONE || rv > ru {
                continue;
            }
            let is_header = dominates(states, v, ub, &mut budget).ok_or(err(
                fx.start,
                Rule::Structure,
                "control flow too complex to analyse",
            ))?;
            if !is_header {
                return Err(err(
                    start,
                    Rule::Structure,
                    "a loop entered other than through its header (irreducible control flow)",
                ));
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
        Op::Mov { dst, src, .. }
        | Op::Extend { dst, src, .. }
        | Op::ExtendHigh { dst, src }
        | Op::ImulImm { dst, src, .. } => (bit(src), bit(dst)),
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

// Tests index, count and narrow freely: a panic there is a failed test,
// not a path of the loader.
#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// A dominator tree given by each block's parent (the root's is
    /// itself, every other's comes before it), placed in index order as
    /// `dominators` places blocks in reverse postorder, and numbered so.
    fn placed(parents: &[u32]) -> Vec<State> {
        let mut states = vec![State::UNREACHED; parents.len()];
        for (b, &p) in parents.iter().enumerate() {
            states[b].idom = p;
            states[b].rpo = b as u32;
            place_in_tree(&mut states, b as u32, p);
        }
        states
    }

    /// The ancestors of `b` from itself up to the root, one parent at a
    /// time: what the verifier walked before the jump pointers.
    fn walk_up(parents: &[u32], mut b: u32) -> Vec<u32> {
        let mut up = vec![b];
        while parents[b as usize] != b {
            b = parents[b as usize];
            up.push(b);
        }
        up
    }

    /// The most steps the jump pointers may take for one search in a tree
    /// of `n` blocks: the bound `DOM_WORK_PER_BLOCK` is argued from.
    fn step_bound(n: usize) -> usize {
        4 * (usize::BITS - n.leading_zeros()) as usize + 4 + NEAR_STEPS as usize
    }

    /// Depths, ancestors and nearest common dominators agree with walking
    /// up one parent at a time, on a chain (the deepest tree: the shape
    /// of a loop of `n` exits), a broom, a binary tree and random trees,
    /// and no search takes more steps than `step_bound`.
    #[test]
    fn jump_pointers_answer_as_the_walk_up_does() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let n = 3000u32;
        let chain: Vec<u32> = (0..n).map(|b| b.saturating_sub(1)).collect();
        let broom: Vec<u32> = (0..n)
            .map(|b| {
                if b < n / 2 {
                    b.saturating_sub(1)
                } else {
                    n / 2 - 1
                }
            })
            .collect();
        let binary: Vec<u32> = (0..n).map(|b| b.saturating_sub(1) / 2).collect();
        let mut trees = vec![chain, broom, binary];
        for _ in 0..4 {
            // Parents close by (deep trees) or anywhere before.
            let near = 1 + next(8);
            trees.push(
                (0..n)
                    .map(|b| {
                        if b == 0 {
                            0
                        } else {
                            b - 1 - next(u64::from(b).min(near)) as u32
                        }
                    })
                    .collect(),
            );
            trees.push(
                (0..n)
                    .map(|b| if b == 0 { 0 } else { next(u64::from(b)) as u32 })
                    .collect(),
            );
        }
        for parents in &trees {
            let states = placed(parents);
            let bound = step_bound(parents.len());
            for _ in 0..2000 {
                let (a, b) = (next(u64::from(n)) as u32, next(u64::from(n)) as u32);
                let (up_a, up_b) = (walk_up(parents, a), walk_up(parents, b));
                assert_eq!(depth(&states, a) as usize, up_a.len() - 1);
                // An ancestor of `a` at every fifth depth.
                for d in (0..up_a.len()).step_by(5) {
                    let mut budget = usize::MAX;
                    let found = ancestor_at_depth(&states, a, d as u32, &mut budget);
                    assert_eq!(found, Some(up_a[up_a.len() - 1 - d]));
                    assert!(
                        usize::MAX - budget <= bound,
                        "{} steps",
                        usize::MAX - budget
                    );
                }
                let common = up_a.iter().copied().find(|x| up_b.contains(x));
                let mut budget = usize::MAX;
                assert_eq!(nearest_common_dominator(&states, a, b, &mut budget), common);
                assert!(
                    usize::MAX - budget <= bound,
                    "{} steps",
                    usize::MAX - budget
                );
                // Near joins, which the plain walk answers: `a` with its
                // own dominators a few levels up, either way round, and
                // with the last child of each of them.
                let mut budget = usize::MAX;
                assert_eq!(
                    dominates(&states, b, a, &mut budget),
                    Some(up_a.contains(&b))
                );
                assert!(usize::MAX - budget <= bound);
                for &x in up_a.iter().take(12) {
                    let mut budget = usize::MAX;
                    assert_eq!(dominates(&states, x, a, &mut budget), Some(true));
                    for (p, q) in [(a, x), (x, a)] {
                        let mut budget = usize::MAX;
                        assert_eq!(
                            nearest_common_dominator(&states, p, q, &mut budget),
                            Some(x)
                        );
                    }
                    let child = (1..n).rev().find(|&c| parents[c as usize] == x);
                    if let Some(c) = child {
                        let up_c = walk_up(parents, c);
                        let common = up_a.iter().copied().find(|y| up_c.contains(y));
                        let mut budget = usize::MAX;
                        assert_eq!(nearest_common_dominator(&states, a, c, &mut budget), common);
                    }
                }
            }
        }
    }

    /// The deepest tree code of 256 KiB can give (a chain of 2^18 blocks):
    /// every search within `step_bound`, the number `DOM_WORK_PER_BLOCK`
    /// is argued from.
    #[test]
    fn the_deepest_tree_is_searched_within_the_bound() {
        let n = 1u32 << 18;
        let chain: Vec<u32> = (0..n).map(|b| b.saturating_sub(1)).collect();
        let states = placed(&chain);
        let bound = step_bound(n as usize);
        assert_eq!(bound, 88);
        let mut most = 0;
        for a in (0..n).step_by(977).chain([n - 1, n - 2]) {
            for d in (0..=a).step_by(1201).chain([0, a / 2, a.saturating_sub(1)]) {
                let mut budget = usize::MAX;
                assert_eq!(ancestor_at_depth(&states, a, d, &mut budget), Some(d));
                let mut both = usize::MAX;
                assert_eq!(
                    nearest_common_dominator(&states, a, d + (a - d) / 3, &mut both),
                    Some(d + (a - d) / 3)
                );
                let mut check = usize::MAX;
                assert_eq!(dominates(&states, d, a, &mut check), Some(true));
                assert_eq!(dominates(&states, a, d, &mut check), Some(a == d));
                most = most.max(usize::MAX - budget).max(usize::MAX - both);
            }
        }
        assert!(most <= bound, "{most} steps");
    }

    /// A budget too small for a search ends it with `None`, and a tree
    /// whose jump does not go up (not one `place_in_tree` builds) ends it
    /// too, instead of looping.
    #[test]
    fn searches_end_on_an_exhausted_budget_or_a_broken_tree() {
        let parents: Vec<u32> = (0..64u32).map(|b| b.saturating_sub(1)).collect();
        let mut states = placed(&parents);
        // Every search from depth 62 given one step fewer than it takes.
        for d in 0..62 {
            let mut budget = usize::MAX;
            assert_eq!(ancestor_at_depth(&states, 62, d, &mut budget), Some(d));
            let mut budget = usize::MAX - budget - 1;
            assert_eq!(ancestor_at_depth(&states, 62, d, &mut budget), None);
        }
        states[40].dom_jump = 50;
        states[40].idom = 50;
        let mut budget = usize::MAX;
        assert_eq!(ancestor_at_depth(&states, 40, 0, &mut budget), None);
    }
}
