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

struct BitSet(Vec<u64>);

impl BitSet {
    fn new(n: usize) -> BitSet {
        BitSet(vec![0; n.div_ceil(64)])
    }
    fn insert(&mut self, v: V) {
        self.0[(v / 64) as usize] |= 1 << (v % 64);
    }
    fn contains(&self, v: V) -> bool {
        self.0[(v / 64) as usize] & (1 << (v % 64)) != 0
    }
    fn union_with(&mut self, other: &BitSet) -> bool {
        let mut changed = false;
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            let n = *a | *b;
            changed |= n != *a;
            *a = n;
        }
        changed
    }
    fn iter(&self) -> impl Iterator<Item = V> + '_ {
        self.0.iter().enumerate().flat_map(|(w, bits)| {
            (0..64)
                .filter(move |i| bits & (1 << i) != 0)
                .map(move |i| (w * 64 + i) as V)
        })
    }
}

pub fn allocate(f: &Func) -> Allocation {
    let n = f.n_vregs as usize;
    let order = reachable_order(f);
    let mut uses = Vec::new();

    // Per-block upward-exposed uses and definitions.
    let nb = f.blocks.len();
    let mut gen_: Vec<BitSet> = (0..nb).map(|_| BitSet::new(n)).collect();
    let mut kill: Vec<BitSet> = (0..nb).map(|_| BitSet::new(n)).collect();
    for &b in &order {
        let block = &f.blocks[b as usize];
        let (g, k) = (&mut gen_[b as usize], &mut kill[b as usize]);
        for (inst, _) in &block.insts {
            uses.clear();
            inst.uses(&mut uses);
            for &u in &uses {
                if !k.contains(u) {
                    g.insert(u);
                }
            }
            if let Some(d) = inst.def() {
                k.insert(d);
            }
        }
        match &block.term {
            Term::Branch { cond, .. } if !k.contains(*cond) => g.insert(*cond),
            Term::Ret(Some(v)) if !k.contains(*v) => g.insert(*v),
            _ => {}
        }
    }
    let mut live_in: Vec<BitSet> = (0..nb).map(|_| BitSet::new(n)).collect();
    let mut live_out: Vec<BitSet> = (0..nb).map(|_| BitSet::new(n)).collect();
    let mut changed = true;
    while changed {
        changed = false;
        for &b in order.iter().rev() {
            let mut out = BitSet::new(n);
            for s in f.blocks[b as usize].term.successors() {
                out.union_with(&live_in[s as usize]);
            }
            // in = gen ∪ (out − kill)
            let mut inn = BitSet::new(n);
            for v in out.iter() {
                if !kill[b as usize].contains(v) {
                    inn.insert(v);
                }
            }
            inn.union_with(&gen_[b as usize]);
            changed |= live_in[b as usize].union_with(&inn);
            live_out[b as usize].union_with(&out);
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
        for v in live_in[b as usize].iter() {
            touch(v, block_start, &mut start, &mut end);
        }
        for (inst, _) in &block.insts {
            uses.clear();
            inst.uses(&mut uses);
            for &u in &uses {
                touch(u, pos, &mut start, &mut end);
            }
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
        for v in live_out[b as usize].iter() {
            touch(v, pos + 1, &mut start, &mut end);
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
    let crosses = |s: u32, e: u32| calls.iter().any(|&c| s < c && c < e);
    for &(s, e, v) in &intervals {
        active.retain(|&(end, _, _)| end >= s);
        let across = crosses(s, e);
        let candidates: Vec<u8> = if across {
            CALLEE_SAVED.to_vec()
        } else {
            CALLER_SAVED
                .iter()
                .chain(CALLEE_SAVED.iter())
                .copied()
                .collect()
        };
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
