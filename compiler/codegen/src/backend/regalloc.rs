//! Register allocation by linear scan over live intervals.
//!
//! Liveness is computed per block by backward dataflow (the IR is not SSA:
//! a KPL `var` is one virtual register assigned many times), then each
//! virtual register gets one conservative interval over the linear block
//! order. Registers whose interval spans a call may only live in callee-saved
//! registers (or are spilled), because calls clobber the caller-saved ones.
//! `rax`, `rcx` and `rdx` are never allocated: the emitter uses them as
//! scratch for division, shifts, calls and spilled operands. `r13`–`r15` are
//! reserved by the runtime ABI.

use crate::analysis::reachable_order;
use crate::ir::{Func, Inst, Op, Term, V};

/// Where a virtual register lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// A machine register (dynasm/x86 numbering: rbx = 3, rsi = 6, ...).
    Reg(u8),
    /// A spill slot, by index.
    Spill(u32),
    /// Never used.
    Unused,
}

/// Caller-saved registers handed out first (cheap: no save/restore).
pub const CALLER_SAVED: [u8; 6] = [6, 7, 8, 9, 10, 11];
/// The argument registers of the calling convention, in order.
const ARG_REGS: [u8; 6] = [7, 6, 2, 1, 8, 9];
/// Callee-saved registers for values live across calls.
pub const CALLEE_SAVED: [u8; 3] = [3, 12, 5];

#[derive(Clone, Debug)]
pub struct Allocation {
    pub loc: Vec<Loc>,
    pub spill_slots: u32,
    /// Callee-saved registers the function uses (to save in its prologue).
    pub callee_saved_used: Vec<u8>,
    /// Blocks in emission order (unreachable blocks dropped).
    pub order: Vec<u32>,
}

/// One set of registers per block, all in one buffer: block `b`'s set is
/// the `words` words from `b * words` (one allocation per analysis, not
/// one per block).
struct BlockSets {
    words: usize,
    bits: Vec<u64>,
}

impl BlockSets {
    fn new(blocks: usize, n: usize) -> BlockSets {
        let words = n.div_ceil(64);
        BlockSets {
            words,
            bits: vec![0; blocks * words],
        }
    }
    fn row(&self, b: usize) -> &[u64] {
        &self.bits[b * self.words..(b + 1) * self.words]
    }
    fn row_mut(&mut self, b: usize) -> &mut [u64] {
        &mut self.bits[b * self.words..(b + 1) * self.words]
    }
}

fn insert(set: &mut [u64], v: V) {
    set[(v / 64) as usize] |= 1 << (v % 64);
}

fn contains(set: &[u64], v: V) -> bool {
    set[(v / 64) as usize] & (1 << (v % 64)) != 0
}

/// `a ∪= b`.
fn union_with(a: &mut [u64], b: &[u64]) {
    for (a, b) in a.iter_mut().zip(b) {
        *a |= *b;
    }
}

/// `set ∪= gen ∪ (out − kill)`; whether `set` grew.
fn union_transfer(set: &mut [u64], gen_: &[u64], out: &[u64], kill: &[u64]) -> bool {
    let mut changed = false;
    for (((a, g), o), k) in set.iter_mut().zip(gen_).zip(out).zip(kill) {
        let n = *a | *g | (*o & !*k);
        changed |= n != *a;
        *a = n;
    }
    changed
}

/// The members of `set` in increasing order.
fn members(set: &[u64]) -> impl Iterator<Item = V> + '_ {
    set.iter().enumerate().flat_map(|(w, &bits)| {
        let mut rest = bits;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let i = rest.trailing_zeros();
            rest &= rest - 1;
            Some((w * 64) as V + i)
        })
    })
}

/// Every register the allocator may hand out, in the order it tries them.
const ANY_REG: [u8; 9] = [
    CALLER_SAVED[0],
    CALLER_SAVED[1],
    CALLER_SAVED[2],
    CALLER_SAVED[3],
    CALLER_SAVED[4],
    CALLER_SAVED[5],
    CALLEE_SAVED[0],
    CALLEE_SAVED[1],
    CALLEE_SAVED[2],
];

pub fn allocate(f: &Func) -> Allocation {
    let n = f.n_vregs as usize;
    let order = reachable_order(f);

    // Only a register with an upward-exposed use in some block (a use
    // before any definition in that block) can be live into or out of a
    // block: being live in means a path to such a use with no definition on
    // it. So the dataflow runs over those registers alone, numbered densely
    // (`global`, and `dense` back from register to number); a long function
    // of temporaries then costs its blocks times its few long-lived
    // registers, not times all of its registers (which made a function of
    // 8,000 `if`s take 430 MB and grow with the square of its size).
    let mut dense = vec![u32::MAX; n];
    let mut global: Vec<V> = Vec::new();
    {
        // `defined_in[v] == b`: `v` has a definition earlier in block `b`.
        let mut defined_in = vec![u32::MAX; n];
        let mut exposed = |u: V, b: u32, defined_in: &[u32]| {
            if defined_in[u as usize] != b && dense[u as usize] == u32::MAX {
                dense[u as usize] = global.len() as u32;
                global.push(u);
            }
        };
        for &b in &order {
            let block = &f.blocks[b as usize];
            for (inst, _) in &block.insts {
                inst.each_use(|u| exposed(u, b, &defined_in));
                if let Some(d) = inst.def() {
                    defined_in[d as usize] = b;
                }
            }
            if let Term::Branch { cond: v, .. } | Term::Ret(Some(v)) = &block.term {
                exposed(*v, b, &defined_in);
            }
        }
    }

    // Per-block upward-exposed uses and definitions, of those registers.
    let nb = f.blocks.len();
    let mut gen_ = BlockSets::new(nb, global.len());
    let mut kill = BlockSets::new(nb, global.len());
    let is_global = |v: V| dense[v as usize] != u32::MAX;
    for &b in &order {
        let block = &f.blocks[b as usize];
        let b = b as usize;
        let (g, k) = (gen_.row_mut(b), kill.row_mut(b));
        for (inst, _) in &block.insts {
            inst.each_use(|u| {
                if is_global(u) && !contains(k, dense[u as usize]) {
                    insert(g, dense[u as usize]);
                }
            });
            if let Some(d) = inst.def()
                && is_global(d)
            {
                insert(k, dense[d as usize]);
            }
        }
        match &block.term {
            Term::Branch { cond: v, .. } | Term::Ret(Some(v))
                if is_global(*v) && !contains(k, dense[*v as usize]) =>
            {
                insert(g, dense[*v as usize])
            }
            _ => {}
        }
    }
    let mut live_in = BlockSets::new(nb, global.len());
    let mut live_out = BlockSets::new(nb, global.len());
    let mut changed = true;
    let mut out = vec![0u64; gen_.words];
    while changed {
        changed = false;
        for &b in order.iter().rev() {
            out.fill(0);
            for s in f.blocks[b as usize].term.successors() {
                union_with(&mut out, live_in.row(s as usize));
            }
            // in = gen ∪ (out − kill)
            let b = b as usize;
            changed |= union_transfer(live_in.row_mut(b), gen_.row(b), &out, kill.row(b));
            union_with(live_out.row_mut(b), &out);
        }
    }

    // Intervals over the linear order. Parameters are defined at position 0.
    let mut start = vec![u32::MAX; n];
    let mut end = vec![0u32; n];
    let touch = |v: V, p: u32, start: &mut Vec<u32>, end: &mut Vec<u32>| {
        let v = v as usize;
        start[v] = start[v].min(p);
        end[v] = end[v].max(p);
    };
    for &p in &f.params {
        touch(p, 0, &mut start, &mut end);
    }
    let mut calls = Vec::new();
    // Per register: the position of a definition and the operand the
    // emitter copies into the result first (`mov t, a; add t, k`).
    let mut hint_src: Vec<Option<(u32, [Option<V>; 2])>> = vec![None; n];
    let mut pos = 2u32;
    for &b in &order {
        let block = &f.blocks[b as usize];
        let block_start = pos;
        for i in members(live_in.row(b as usize)) {
            touch(global[i as usize], block_start, &mut start, &mut end);
        }
        for (inst, _) in &block.insts {
            inst.each_use(|u| touch(u, pos, &mut start, &mut end));
            if let Some(d) = inst.def() {
                touch(d, pos + 1, &mut start, &mut end);
                hint_src[d as usize] = Some((pos + 1, two_address_sources(inst)));
            }
            if inst.is_call() {
                calls.push(pos);
            }
            pos += 2;
        }
        match &block.term {
            Term::Branch { cond: v, .. } | Term::Ret(Some(v)) => {
                touch(*v, pos, &mut start, &mut end)
            }
            _ => {}
        }
        for i in members(live_out.row(b as usize)) {
            touch(global[i as usize], pos + 1, &mut start, &mut end);
        }
        pos += 2;
    }

    let mut intervals: Vec<(u32, u32, V)> = (0..n)
        .filter(|&v| start[v] != u32::MAX)
        .map(|v| (start[v], end[v], v as V))
        .collect();
    intervals.sort_unstable();

    let mut loc = vec![Loc::Unused; n];
    let mut spill_slots = 0u32;
    let mut active: Vec<(u32, V, u8)> = Vec::new();
    let mut callee_saved_used: Vec<u8> = Vec::new();
    // A call at position c clobbers values live across it: a def before c
    // (def positions are odd, use positions even) and a use after it.
    // The positions are increasing, so one binary search per interval (a
    // scan of every call made a function of many calls quadratic).
    let crosses = |s: u32, e: u32| {
        let after_start = calls.partition_point(|&c| c <= s);
        calls.get(after_start).is_some_and(|&c| c < e)
    };
    for &(s, e, v) in &intervals {
        active.retain(|&(end, _, _)| end >= s);
        let across = crosses(s, e);
        let candidates: &[u8] = if across { &CALLEE_SAVED } else { &ANY_REG };
        // A parameter prefers the register it arrives in: the prologue
        // then has nothing to move.
        let hint = f
            .params
            .iter()
            .position(|&p| p == v)
            .and_then(|k| ARG_REGS.get(k).copied())
            .filter(|r| candidates.contains(r));
        // A result computed from an operand whose interval ends right
        // there prefers the operand's register: the emitter's copy of the
        // operand into the result then disappears.
        let coalesce = hint_src[v as usize]
            .filter(|&(at, _)| at == s)
            .into_iter()
            .flat_map(|(_, srcs)| srcs.into_iter().flatten())
            .filter_map(|src| match loc[src as usize] {
                Loc::Reg(r) if end[src as usize] < s => Some(r),
                _ => None,
            })
            .filter(|r| candidates.contains(r));
        let free = hint
            .into_iter()
            .chain(coalesce)
            .chain(candidates.iter().copied())
            .find(|r| !active.iter().any(|&(_, _, ar)| ar == *r));
        let reg = match free {
            Some(r) => Some(r),
            None => {
                // Spill whichever eligible active interval ends last.
                let victim = active
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, _, r))| candidates.contains(r))
                    .max_by_key(|(_, (end, _, _))| *end)
                    .map(|(i, &(end, vv, r))| (i, end, vv, r));
                match victim {
                    Some((i, vend, vv, r)) if vend > e => {
                        loc[vv as usize] = Loc::Spill(spill_slots);
                        spill_slots += 1;
                        active.remove(i);
                        Some(r)
                    }
                    _ => None,
                }
            }
        };
        match reg {
            Some(r) => {
                loc[v as usize] = Loc::Reg(r);
                active.push((e, v, r));
                if CALLEE_SAVED.contains(&r) && !callee_saved_used.contains(&r) {
                    callee_saved_used.push(r);
                }
            }
            None => {
                loc[v as usize] = Loc::Spill(spill_slots);
                spill_slots += 1;
            }
        }
    }
    callee_saved_used.sort_unstable();
    Allocation {
        loc,
        spill_slots,
        callee_saved_used,
        order,
    }
}

/// The operands the emitter may compute the result in place of (`mov t,
/// a` then `op t, …`; for a commutative operation `b` too, which the
/// emitter then operates with `a`), for the forms that do.
fn two_address_sources(inst: &Inst) -> [Option<V>; 2] {
    match *inst {
        Inst::Copy { src, .. } => [Some(src), None],
        Inst::BinImm { op, a, .. }
            if !matches!(op, Op::Mul | Op::Mul32 | Op::MulHiU | Op::MulHiS) =>
        {
            [Some(a), None]
        }
        Inst::Bin { op, a, b, .. } => match op {
            Op::Add | Op::Mul | Op::And | Op::Or | Op::Xor | Op::Add32 | Op::Mul32 => {
                [Some(a), Some(b)]
            }
            Op::Sub | Op::Sub32 => [Some(a), None],
            Op::Shl | Op::Shr | Op::Sar | Op::Shl32 | Op::MulHiU | Op::MulHiS => [None, None],
        },
        Inst::Neg { a, .. } | Inst::Not { a, .. } | Inst::Norm { a, .. } => [Some(a), None],
        _ => [None, None],
    }
}
