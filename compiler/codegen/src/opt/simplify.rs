//! IR → IR, within one function: constant folding and propagation (through
//! registers with a single definition), immediate operands, strength
//! reduction of multiplication and unsigned division by powers of two,
//! branch folding, and dead code elimination. Folding uses the same
//! canonical 64-bit arithmetic the machine code performs, so results cannot
//! differ.

use crate::analysis::{def_counts, dominates, dominators, predecessors, reverse_postorder};
use crate::ir::*;

/// Folding, narrowing, copy propagation and dead code, to a fixed point.
pub fn simplify(f: &mut Func) {
    for _ in 0..8 {
        let changed = fold(f) | constant_indexes(f);
        let narrowed = redundant_norms(f) | narrow_u32(f) | store_truncations(f);
        let propagated = propagate_copies(f) | thread_constant_branches(f) | thread_empty_jumps(f);
        let removed = dead_code(f);
        if !changed && !narrowed && !propagated && !removed {
            break;
        }
    }
}

/// The canonical range a single-definition register is known to stay in:
/// `(bytes, signed)`, or `None` when unknown (a full 64-bit value).
fn known_ranges(f: &Func) -> Vec<Option<Scalar>> {
    let defs = def_counts(f);
    let mut range = vec![None; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            let (d, r) = match inst {
                Inst::Load { dst, ty, .. } | Inst::Norm { dst, ty, .. } => (*dst, Some(*ty)),
                Inst::Cmp { dst, .. } | Inst::CmpImm { dst, .. } => (*dst, Some(Scalar::BOOL)),
                // A mask by a non-negative immediate bounds the result by
                // it: `(b & 0x0F) as u32` needs no zero-extension (the
                // verifier, too, counts such an `and` as leaving the upper
                // half zero).
                Inst::BinImm {
                    op: Op::And,
                    dst,
                    imm,
                    ..
                } if *imm >= 0 => {
                    let size = match *imm {
                        0..=0xff => 1,
                        0x100..=0xffff => 2,
                        _ => 4,
                    };
                    (
                        *dst,
                        Some(Scalar {
                            size,
                            signed: false,
                        }),
                    )
                }
                _ => continue,
            };
            if defs[d as usize] == 1 {
                range[d as usize] = r;
            }
        }
    }
    range
}

/// Whether every value of canonical `from` is already canonical in `to`.
fn fits(from: Scalar, to: Scalar) -> bool {
    match (from.signed, to.signed) {
        (false, false) | (true, true) => from.size <= to.size,
        (false, true) => from.size < to.size,
        (true, false) => false,
    }
}

/// `Norm` of a value already in range (e.g. a `u8` load widened to `u32`)
/// is a copy.
fn redundant_norms(f: &mut Func) -> bool {
    let range = known_ranges(f);
    let mut changed = false;
    for b in &mut f.blocks {
        for (inst, _) in &mut b.insts {
            if let Inst::Norm { dst, a, ty } = *inst
                && range[a as usize].is_some_and(|r| fits(r, ty))
            {
                *inst = Inst::Copy { dst, src: a };
                changed = true;
            }
        }
    }
    changed
}

/// `n = Norm(a, ty)` stored later in the same block by a store of at most
/// `ty`'s size, with `a` not written in between, stores `a` instead: a store
/// writes only the low bytes, which `a` and `n` share. The `Norm` then goes
/// when nothing else reads `n` (`out[i] = (x >> 8) as u8` needs no `movzx`
/// before its byte store). One pass per block, remembering where each
/// register was last written, keeps it linear in the block's length.
fn store_truncations(f: &mut Func) -> bool {
    // Per register: (block, position) of its last write seen so far.
    let mut last = vec![(usize::MAX, 0usize); f.n_vregs as usize];
    let mut changed = false;
    for (bi, b) in f.blocks.iter_mut().enumerate() {
        for j in 0..b.insts.len() {
            if let Inst::Store { src, ty, .. } = b.insts[j].0
                && let (lb, i) = last[src as usize]
                && lb == bi
                && let Inst::Norm { a, ty: nty, .. } = b.insts[i].0
                && a != src
                && ty.size <= nty.size
                && (last[a as usize].0 != bi || last[a as usize].1 < i)
                && let Inst::Store { src, .. } = &mut b.insts[j].0
            {
                *src = a;
                changed = true;
            }
            if let Some(d) = b.insts[j].0.def() {
                last[d as usize] = (bi, j);
            }
        }
    }
    changed
}

/// `t = a op b; d = Norm(t, u32)` with `t` used only there becomes the 32-bit
/// form of `op` writing `d` directly: x86's 32-bit operations zero-extend.
fn narrow_u32(f: &mut Func) -> bool {
    let defs = def_counts(f);
    let uses = f.use_counts();
    let u32_ty = Scalar {
        size: 4,
        signed: false,
    };
    let narrow = |op: Op| match op {
        Op::Add => Some(Op::Add32),
        Op::Sub => Some(Op::Sub32),
        Op::Mul => Some(Op::Mul32),
        Op::Shl => Some(Op::Shl32),
        _ => None,
    };
    // Registers known to hold a value below 32 (`x & imm`, imm < 32).
    let mut small = vec![false; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::BinImm {
                op: Op::And,
                dst,
                imm,
                ..
            } = inst
                && defs[*dst as usize] == 1
                && (0..32).contains(imm)
            {
                small[*dst as usize] = true;
            }
        }
    }
    let mut changed = false;
    for b in &mut f.blocks {
        for i in 1..b.insts.len() {
            let Inst::Norm { dst, a, ty } = b.insts[i].0 else {
                continue;
            };
            if ty != u32_ty || uses[a as usize] != 1 || defs[a as usize] != 1 {
                continue;
            }
            // The definition must be the instruction right before.
            let prev = &mut b.insts[i - 1].0;
            // A 32-bit shift masks its amount to 5 bits: only a constant
            // amount below 32 keeps the 64-bit result's low half.
            let shift_ok = match prev {
                Inst::BinImm {
                    op: Op::Shl, imm, ..
                } => (0..32).contains(imm),
                Inst::Bin { op: Op::Shl, b, .. } => small[*b as usize],
                _ => true,
            };
            let ok = shift_ok
                && match prev {
                    Inst::Bin { op, dst: t, .. } | Inst::BinImm { op, dst: t, .. } if *t == a => {
                        match narrow(*op) {
                            Some(n) => {
                                *op = n;
                                *t = dst;
                                true
                            }
                            None => false,
                        }
                    }
                    _ => false,
                };
            if ok {
                b.insts[i].0 = Inst::Copy { dst, src: dst };
                changed = true;
            }
        }
        b.insts
            .retain(|(inst, _)| !matches!(inst, Inst::Copy { dst, src } if dst == src));
    }
    changed
}

/// Replaces uses of `dst` by `src` for `dst = src` where both registers have
/// a single definition (so they hold the same value wherever `dst` is live).
fn propagate_copies(f: &mut Func) -> bool {
    let defs = def_counts(f);
    let params: Vec<V> = f.params.clone();
    let mut alias: Vec<V> = (0..f.n_vregs).collect();
    let mut any = false;
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::Copy { dst, src } = *inst
                && defs[dst as usize] == 1
                && defs[src as usize] == 1
                && !params.contains(&dst)
            {
                alias[dst as usize] = src;
                any = true;
            }
        }
    }
    if !any {
        return false;
    }
    let resolve = |mut v: V| {
        for _ in 0..64 {
            let n = alias[v as usize];
            if n == v {
                break;
            }
            v = n;
        }
        v
    };
    let mut changed = false;
    let mut map = |v: &mut V| {
        let r = resolve(*v);
        if r != *v {
            *v = r;
            changed = true;
        }
    };
    for b in &mut f.blocks {
        for (inst, _) in &mut b.insts {
            inst.map_uses(&mut map);
        }
        match &mut b.term {
            Term::Branch { cond: v, .. } | Term::Ret(Some(v)) => map(v),
            _ => {}
        }
    }
    changed
}

fn constants(f: &Func) -> Vec<Option<i64>> {
    let defs = def_counts(f);
    let mut consts = vec![None; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::Const { dst, value } = inst
                && defs[*dst as usize] == 1
            {
                consts[*dst as usize] = Some(*value);
            }
        }
    }
    consts
}

fn eval(op: Op, a: i64, b: i64) -> i64 {
    match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Mul => a.wrapping_mul(b),
        Op::And => a & b,
        Op::Or => a | b,
        Op::Xor => a ^ b,
        Op::Shl => a.wrapping_shl((b & 63) as u32),
        Op::Shr => ((a as u64) >> (b & 63)) as i64,
        Op::Sar => a >> (b & 63),
        Op::Add32 => i64::from(a.wrapping_add(b) as u32),
        Op::Sub32 => i64::from(a.wrapping_sub(b) as u32),
        Op::Mul32 => i64::from(a.wrapping_mul(b) as u32),
        Op::Shl32 => i64::from((a as u32).wrapping_shl((b & 31) as u32)),
        Op::MulHiU => ((u128::from(a as u64) * u128::from(b as u64)) >> 64) as i64,
        Op::MulHiS => ((i128::from(a) * i128::from(b)) >> 64) as i64,
    }
}

/// `a op imm` when the constant makes it trivial: `x + 0`, `x * 1`,
/// `x << 0`, ... are `x`, and `x * 0` and `x & 0` are 0. A 32-bit form
/// also zero-extends, which `x` alone may not be: `x *₃₂ 1` is `x`'s low
/// half, a `Norm` to `u32` (a `mov r32, r32`, not an `imul`), which
/// [`redundant_norms`] makes a copy where `x` is known to fit.
fn identity(op: Op, dst: V, a: V, imm: i32) -> Option<Inst> {
    let copy = Some(Inst::Copy { dst, src: a });
    let zero = Some(Inst::Const { dst, value: 0 });
    let low_half = Some(Inst::Norm {
        dst,
        a,
        ty: Scalar {
            size: 4,
            signed: false,
        },
    });
    match (op, imm) {
        (Op::Add | Op::Sub | Op::Or | Op::Xor | Op::Shl | Op::Shr | Op::Sar, 0) => copy,
        (Op::Mul, 1) | (Op::And, -1) => copy,
        (Op::Mul | Op::Mul32 | Op::And, 0) => zero,
        (Op::Add32 | Op::Sub32 | Op::Shl32, 0) | (Op::Mul32, 1) => low_half,
        _ => None,
    }
}

fn fold(f: &mut Func) -> bool {
    let consts = constants(f);
    let c = |v: V| consts[v as usize];
    let mut changed = false;
    for b in &mut f.blocks {
        for (inst, _) in &mut b.insts {
            let new = match inst {
                Inst::Copy { dst, src } => c(*src).map(|value| Inst::Const { dst: *dst, value }),
                Inst::Bin { op, dst, a, b } => match (c(*a), c(*b)) {
                    (Some(x), Some(y)) => Some(Inst::Const {
                        dst: *dst,
                        value: eval(*op, x, y),
                    }),
                    (None, Some(y)) if i32::try_from(y).is_ok() => {
                        if *op == Op::Mul && y > 0 && (y as u64).is_power_of_two() {
                            Some(Inst::BinImm {
                                op: Op::Shl,
                                dst: *dst,
                                a: *a,
                                imm: y.trailing_zeros() as i32,
                            })
                        } else {
                            Some(Inst::BinImm {
                                op: *op,
                                dst: *dst,
                                a: *a,
                                imm: y as i32,
                            })
                        }
                    }
                    (Some(x), None)
                        if i32::try_from(x).is_ok()
                            && matches!(
                                op,
                                Op::Add
                                    | Op::Mul
                                    | Op::And
                                    | Op::Or
                                    | Op::Xor
                                    | Op::MulHiU
                                    | Op::MulHiS
                            ) =>
                    {
                        Some(Inst::BinImm {
                            op: *op,
                            dst: *dst,
                            a: *b,
                            imm: x as i32,
                        })
                    }
                    _ => None,
                },
                Inst::BinImm { op, dst, a, imm } => match c(*a) {
                    Some(x) => Some(Inst::Const {
                        dst: *dst,
                        value: eval(*op, x, i64::from(*imm)),
                    }),
                    None => identity(*op, *dst, *a, *imm),
                },
                Inst::Neg { dst, a } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: x.wrapping_neg(),
                }),
                Inst::Not { dst, a } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: !x,
                }),
                Inst::Norm { dst, a, ty } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: ty.normalize(x),
                }),
                Inst::Cmp { cc, dst, a, b } => match (c(*a), c(*b)) {
                    (Some(x), Some(y)) => Some(Inst::Const {
                        dst: *dst,
                        value: i64::from(cc.eval(x, y)),
                    }),
                    (None, Some(y)) if i32::try_from(y).is_ok() => Some(Inst::CmpImm {
                        cc: *cc,
                        dst: *dst,
                        a: *a,
                        imm: y as i32,
                    }),
                    // `c < n` is `n > c`: the constant becomes the
                    // immediate (a peeled loop's tests: `opt::peel`).
                    (Some(x), None) if i32::try_from(x).is_ok() => Some(Inst::CmpImm {
                        cc: cc.swap(),
                        dst: *dst,
                        a: *b,
                        imm: x as i32,
                    }),
                    _ => None,
                },
                Inst::CmpImm { cc, dst, a, imm } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: i64::from(cc.eval(x, i64::from(*imm))),
                }),
                // Unsigned division by a power of two cannot trap: a shift
                // or a mask (operands are zero-extended, so 64-bit
                // arithmetic is exact).
                Inst::Div {
                    dst,
                    a,
                    b,
                    signed: false,
                    rem,
                    ..
                } => c(*b)
                    .filter(|&y| y > 0 && (y as u64).is_power_of_two())
                    .and_then(|y| {
                        if *rem {
                            i32::try_from(y - 1).ok().map(|mask| Inst::BinImm {
                                op: Op::And,
                                dst: *dst,
                                a: *a,
                                imm: mask,
                            })
                        } else {
                            Some(Inst::BinImm {
                                op: Op::Shr,
                                dst: *dst,
                                a: *a,
                                imm: y.trailing_zeros() as i32,
                            })
                        }
                    }),
                _ => None,
            };
            if let Some(new) = new
                && new != *inst
            {
                *inst = new;
                changed = true;
            }
        }
        if let Term::Branch { cond, then, els } = b.term
            && let Some(x) = c(cond)
        {
            b.term = Term::Jump(if x != 0 { then } else { els });
            changed = true;
        }
    }
    changed
}

/// An access to the stack, statics or read-only data at a constant index
/// that its check proves in range becomes an access at a fixed
/// displacement: no index register, no check (it could never trap).
fn constant_indexes(f: &mut Func) -> bool {
    let candidate = |inst: &Inst| {
        inst.addr().is_some_and(|a| {
            a.index.is_some()
                && matches!(a.base, Base::Stack(_) | Base::Static(_) | Base::Rodata(_))
        })
    };
    // Slice accesses only (most functions): no constants to look up.
    if !f
        .blocks
        .iter()
        .any(|b| b.insts.iter().any(|(i, _)| candidate(i)))
    {
        return false;
    }
    let consts = constants(f);
    let mut changed = false;
    for b in &mut f.blocks {
        for (inst, _) in &mut b.insts {
            let Some(addr) = inst.addr_mut() else {
                continue;
            };
            let Some(index) = addr.index else {
                continue;
            };
            if !matches!(
                addr.base,
                Base::Stack(_) | Base::Static(_) | Base::Rodata(_)
            ) {
                continue;
            }
            let Some(c) = consts[index.v as usize].and_then(|c| u64::try_from(c).ok()) else {
                continue;
            };
            let in_range = match index.check {
                Check::Below(limit, _) => c < limit,
                Check::Proven => true,
                Check::SliceLen(_) | Check::BelowLen(..) | Check::Combined => false,
            };
            let disp = c
                .checked_mul(u64::from(index.scale))
                .and_then(|d| d.checked_add(u64::from(addr.disp)))
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| *d <= i32::MAX as u32);
            if let (true, Some(disp)) = (in_range, disp) {
                addr.index = None;
                addr.disp = disp;
                changed = true;
            }
        }
    }
    changed
}

/// A block that ends by setting `c` to a constant and jumps to an empty
/// block that only branches on `c` jumps straight to the branch's target:
/// an inlined `bool` result tested at once (`mov r9d, 1; jmp L ... L: test
/// r9, r9; je X`) becomes direct jumps. Never through a loop header, which
/// would give its loop a second entry. The analyses are recomputed after
/// each retarget. Blocks left unreachable are emptied, so that the
/// registers only they read (the tested `c`) die.
fn thread_constant_branches(f: &mut Func) -> bool {
    const MAX_THREADED: usize = 64;
    let mut changed = false;
    // Each retarget removes an edge into an empty branch block for good,
    // so there are at most as many as blocks; and each analyses the whole
    // function again, so they are bounded by `MAX_THREADED` too (a function
    // with thousands of them would cost thousands of times its size; past
    // the bound the branches stay, which is correct, only slower).
    for _ in 0..f.blocks.len().min(MAX_THREADED) {
        // Without a jump to an empty branch block there is nothing to
        // retarget: the analyses below are not worth computing.
        let candidate = f.blocks.iter().any(|b| {
            let Term::Jump(l) = b.term else {
                return false;
            };
            let target = &f.blocks[l as usize];
            target.insts.is_empty() && matches!(target.term, Term::Branch { .. })
        });
        if !candidate {
            break;
        }
        let rpo = reverse_postorder(f);
        let idom = dominators(f);
        let preds = predecessors(f);
        let found = rpo.iter().find_map(|&b| {
            let Term::Jump(l) = f.blocks[b as usize].term else {
                return None;
            };
            let target = &f.blocks[l as usize];
            let Term::Branch { cond, then, els } = target.term else {
                return None;
            };
            if !target.insts.is_empty() || preds[l as usize].iter().any(|&p| dominates(&idom, l, p))
            {
                return None;
            }
            let last = f.blocks[b as usize]
                .insts
                .iter()
                .rev()
                .find(|(inst, _)| inst.def() == Some(cond));
            match last {
                Some((Inst::Const { value, .. }, _)) => {
                    Some((b, if *value != 0 { then } else { els }))
                }
                _ => None,
            }
        });
        let Some((b, to)) = found else { break };
        f.blocks[b as usize].term = Term::Jump(to);
        changed = true;
    }
    if changed {
        clear_unreachable(f);
    }
    changed
}

/// Empties the blocks no path from the entry reaches, so that neither the
/// registers only they read nor the edges they would add (to the
/// predecessor counts the later passes consult) survive.
fn clear_unreachable(f: &mut Func) {
    let mut reachable = vec![false; f.blocks.len()];
    for b in reverse_postorder(f) {
        reachable[b as usize] = true;
    }
    for (b, block) in f.blocks.iter_mut().enumerate() {
        if !reachable[b] {
            block.insts.clear();
            block.term = Term::Ret(None);
        }
    }
}

/// Every edge into an empty block that only jumps on goes straight to that
/// jump's target (followed through chains of such blocks). Inlining leaves
/// them: a `return true` in a loop of the callee becomes `mov r, 1; jmp
/// join`, `thread_constant_branches` sends it past the join's test, and
/// what remains is a jump to a jump (`jne L; jmp T` where one `je T`
/// suffices). Every edge into the empty block moves alike, so a loop keeps
/// one entry: when the empty block was a loop's header, the block it jumps
/// to becomes the header, reached by the same entry and back edges, whose
/// budget checks sit in their own (non-empty) blocks. The entry block keeps
/// its place (control enters the function there); a cycle of empty blocks
/// (which no loop can be: its back edge carries a budget check) is left as
/// it is.
fn thread_empty_jumps(f: &mut Func) -> bool {
    let n = f.blocks.len();
    let forward: Vec<BlockId> = (0..n as BlockId)
        .map(|b| {
            let mut cur = b;
            for _ in 0..n {
                let block = &f.blocks[cur as usize];
                match block.term {
                    Term::Jump(t) if block.insts.is_empty() && t != cur => cur = t,
                    _ => return cur,
                }
            }
            b
        })
        .collect();
    let mut changed = false;
    for block in &mut f.blocks {
        let retarget = |t: &mut BlockId, changed: &mut bool| {
            if forward[*t as usize] != *t {
                *t = forward[*t as usize];
                *changed = true;
            }
        };
        block.term.map_targets(|t| retarget(t, &mut changed));
    }
    if changed {
        clear_unreachable(f);
    }
    changed
}

/// Dead code: an instruction without effect whose result nothing reads,
/// or whose result a later instruction of its block overwrites before
/// anything reads it (`var x: u32 = 0; x = f(y);`: a register written
/// twice, which copy propagation leaves alone).
fn dead_code(f: &mut Func) -> bool {
    let uses = f.use_counts();
    let mut removed = false;
    // `overwritten[v] == stamp`: going backwards through the block, `v` is
    // written later in it before any read. One stamp per block, so the
    // table is never cleared.
    let mut overwritten = vec![0u32; f.n_vregs as usize];
    let mut read = Vec::new();
    let mut keep = Vec::new();
    for (stamp, b) in (1u32..).zip(&mut f.blocks) {
        keep.clear();
        keep.resize(b.insts.len(), true);
        for (k, (inst, _)) in b.insts.iter().enumerate().rev() {
            let def = inst.def();
            if !inst.has_effect()
                && let Some(d) = def
                && (uses[d as usize] == 0 || overwritten[d as usize] == stamp)
            {
                keep[k] = false;
                continue;
            }
            if let Some(d) = def {
                overwritten[d as usize] = stamp;
            }
            read.clear();
            inst.uses(&mut read);
            for &r in &read {
                overwritten[r as usize] = 0;
            }
        }
        let before = b.insts.len();
        let mut k = 0;
        b.insts.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        removed |= b.insts.len() != before;
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::optimize;

    #[test]
    fn a_write_overwritten_before_any_read_is_dead() {
        // r1 = 5 (dead: overwritten); r1 = r0 + 1; r2 = r1 * 3 reads it;
        // r1 = 7 overwrites again, and the return reads that one. A
        // checked load into r3, overwritten, stays: it may trap.
        let konst = |dst, value| (Inst::Const { dst, value }, 0);
        let bin = |op, dst, a, imm| (Inst::BinImm { op, dst, a, imm }, 0);
        let load = (
            Inst::Load {
                dst: 3,
                addr: Addr {
                    base: Base::Static(0),
                    index: Some(Index {
                        v: 0,
                        scale: 1,
                        check: Check::Below(4, 0),
                    }),
                    disp: 0,
                },
                ty: Scalar {
                    size: 1,
                    signed: false,
                },
            },
            0,
        );
        let mut f = Func::for_test(
            vec![Block {
                insts: vec![
                    konst(1, 5),
                    bin(Op::Add, 1, 0, 1),
                    bin(Op::Mul, 2, 1, 3),
                    konst(1, 7),
                    load,
                    konst(3, 0),
                    (
                        Inst::Bin {
                            op: Op::Add,
                            dst: 4,
                            a: 1,
                            b: 2,
                        },
                        0,
                    ),
                    (
                        Inst::Bin {
                            op: Op::Add,
                            dst: 4,
                            a: 4,
                            b: 3,
                        },
                        0,
                    ),
                ],
                term: Term::Ret(Some(4)),
                term_pos: 0,
            }],
            5,
            true,
        );
        assert!(dead_code(&mut f));
        let insts: Vec<&Inst> = f.blocks[0].insts.iter().map(|(i, _)| i).collect();
        assert_eq!(insts.len(), 7, "{insts:?}");
        assert!(
            !insts
                .iter()
                .any(|i| matches!(i, Inst::Const { dst: 1, value: 5 })),
            "{insts:?}"
        );
        assert!(insts.iter().any(|i| matches!(i, Inst::Load { .. })));
    }

    /// `((((x + 0) * 1) << 0) & -1) ^ ((x * 0) & x)` is `x`; every step is
    /// a trivial constant operand.
    #[test]
    fn trivial_constant_operands_vanish() {
        let imm = |op, dst, a, imm| (Inst::BinImm { op, dst, a, imm }, 0);
        let mut f = Func::for_test(
            vec![Block {
                insts: vec![
                    imm(Op::Add, 1, 0, 0),
                    imm(Op::Mul, 2, 1, 1),
                    imm(Op::Shl, 3, 2, 0),
                    imm(Op::And, 4, 3, -1),
                    imm(Op::Mul, 5, 0, 0),
                    (
                        Inst::Bin {
                            op: Op::And,
                            dst: 6,
                            a: 5,
                            b: 0,
                        },
                        0,
                    ),
                    (
                        Inst::Bin {
                            op: Op::Xor,
                            dst: 7,
                            a: 4,
                            b: 6,
                        },
                        0,
                    ),
                ],
                term: Term::Ret(Some(7)),
                term_pos: 0,
            }],
            8,
            true,
        );
        optimize(&mut f);
        let insts: Vec<&Inst> = f.blocks[0].insts.iter().map(|(i, _)| i).collect();
        assert!(insts.is_empty(), "{insts:?}");
        assert_eq!(f.blocks[0].term, Term::Ret(Some(0)));
    }

    #[test]
    fn folds_through_single_definitions() {
        let mut f = Func::for_test(
            vec![Block {
                insts: vec![
                    (Inst::Const { dst: 1, value: 6 }, 0),
                    (Inst::Const { dst: 2, value: 7 }, 0),
                    (
                        Inst::Bin {
                            op: Op::Mul,
                            dst: 3,
                            a: 1,
                            b: 2,
                        },
                        0,
                    ),
                    (Inst::Const { dst: 4, value: 8 }, 0),
                    (
                        Inst::Bin {
                            op: Op::Mul,
                            dst: 5,
                            a: 0,
                            b: 4,
                        },
                        0,
                    ),
                    (
                        Inst::Bin {
                            op: Op::Add,
                            dst: 6,
                            a: 5,
                            b: 3,
                        },
                        0,
                    ),
                ],
                term: Term::Ret(Some(6)),
                term_pos: 0,
            }],
            7,
            true,
        );
        optimize(&mut f);
        let insts: Vec<&Inst> = f.blocks[0].insts.iter().map(|(i, _)| i).collect();
        assert_eq!(
            insts,
            vec![
                &Inst::BinImm {
                    op: Op::Shl,
                    dst: 5,
                    a: 0,
                    imm: 3
                },
                &Inst::BinImm {
                    op: Op::Add,
                    dst: 6,
                    a: 5,
                    imm: 42
                },
            ]
        );
    }

    /// A function of `x` (register 0) storing `insts`' last value as a byte.
    fn byte_store(insts: Vec<Inst>, stored: V, n_vregs: u32) -> Func {
        let mut all: Vec<(Inst, u32)> = insts.into_iter().map(|i| (i, 0)).collect();
        all.push((
            Inst::Store {
                addr: Addr {
                    base: Base::Static(0),
                    index: None,
                    disp: 0,
                },
                src: stored,
                ty: Scalar {
                    size: 1,
                    signed: false,
                },
                second_byte: false,
            },
            0,
        ));
        Func::for_test(
            vec![Block {
                insts: all,
                term: Term::Ret(None),
                term_pos: 0,
            }],
            n_vregs,
            false,
        )
    }

    fn stored(f: &Func) -> Option<V> {
        f.blocks[0].insts.iter().find_map(|(i, _)| match i {
            Inst::Store { src, .. } => Some(*src),
            _ => None,
        })
    }

    fn has_norm(f: &Func) -> bool {
        f.blocks[0]
            .insts
            .iter()
            .any(|(i, _)| matches!(i, Inst::Norm { .. }))
    }

    const U8: Scalar = Scalar {
        size: 1,
        signed: false,
    };

    #[test]
    fn a_tested_constant_bool_jumps_straight_to_the_target() {
        // b0: if x { b1: c = 1 } else { b2: c = 0 }; b3: if c { b4 } else { b5 }
        let block = Block::for_test;
        let mut f = Func::for_test(
            vec![
                block(
                    vec![],
                    Term::Branch {
                        cond: 0,
                        then: 1,
                        els: 2,
                    },
                ),
                block(vec![Inst::Const { dst: 1, value: 1 }], Term::Jump(3)),
                block(vec![Inst::Const { dst: 1, value: 0 }], Term::Jump(3)),
                block(
                    vec![],
                    Term::Branch {
                        cond: 1,
                        then: 4,
                        els: 5,
                    },
                ),
                block(vec![], Term::Ret(Some(0))),
                block(vec![Inst::Const { dst: 2, value: 7 }], Term::Ret(Some(2))),
            ],
            3,
            true,
        );
        simplify(&mut f);
        // b1 and b2 jump straight to b4 and b5, their constants dead; then
        // b0's branch goes past the two empty jumps.
        assert_eq!(
            f.blocks[0].term,
            Term::Branch {
                cond: 0,
                then: 4,
                els: 5
            },
            "{f}"
        );
        assert!(
            f.blocks[1..4]
                .iter()
                .all(|b| b.insts.is_empty() && b.term == Term::Ret(None)),
            "unreachable blocks are emptied: {f}"
        );
    }

    #[test]
    fn jumps_go_past_empty_blocks_and_a_loop_keeps_one_entry() {
        // b0 → b1 (empty) → b2: loop header, b3 its latch back to b1.
        let block = Block::for_test;
        let mut f = Func::for_test(
            vec![
                block(vec![], Term::Jump(1)),
                block(vec![], Term::Jump(2)),
                block(
                    vec![],
                    Term::Branch {
                        cond: 0,
                        then: 3,
                        els: 4,
                    },
                ),
                block(vec![Inst::Budget { site: 0 }], Term::Jump(1)),
                block(vec![], Term::Ret(None)),
            ],
            1,
            false,
        );
        assert!(thread_empty_jumps(&mut f));
        // The entry block stays where control enters; both edges into b1
        // (entry and back edge) now reach b2, the loop's one header.
        assert_eq!(f.blocks[0].term, Term::Jump(2));
        assert_eq!(f.blocks[3].term, Term::Jump(2));
        assert_eq!(f.blocks[1].term, Term::Ret(None));
        assert!(!thread_empty_jumps(&mut f));
        // A cycle of empty blocks is left alone.
        f.blocks[1].term = Term::Jump(5);
        f.blocks.push(block(vec![], Term::Jump(1)));
        f.blocks[0].term = Term::Jump(1);
        f.layout.push(5);
        assert!(!thread_empty_jumps(&mut f));
    }

    /// `ret Norm(x & mask, ty)` for parameter `x` (register 0).
    fn masked_norm(mask: i32, ty: Scalar) -> Func {
        Func::for_test(
            vec![Block {
                insts: vec![
                    (
                        Inst::BinImm {
                            op: Op::And,
                            dst: 1,
                            a: 0,
                            imm: mask,
                        },
                        0,
                    ),
                    (Inst::Norm { dst: 2, a: 1, ty }, 0),
                ],
                term: Term::Ret(Some(2)),
                term_pos: 0,
            }],
            3,
            true,
        )
    }

    #[test]
    fn a_mask_by_a_non_negative_immediate_needs_no_norm() {
        let u32_ = Scalar {
            size: 4,
            signed: false,
        };
        let mut f = masked_norm(0x0F, u32_);
        simplify(&mut f);
        assert!(!has_norm(&f), "{f}");
        // `x & 0x1_0000` may exceed a u16; `x & -1` is all of x.
        let u16_ = Scalar {
            size: 2,
            signed: false,
        };
        let mut f = masked_norm(0x1_0000, u16_);
        simplify(&mut f);
        assert!(has_norm(&f), "{f}");
        let mut f = masked_norm(-1, u32_);
        simplify(&mut f);
        assert!(has_norm(&f), "{f}");
    }

    #[test]
    fn a_byte_store_of_a_truncation_stores_the_value() {
        // `store8 (x >> 8) as u8` stores `x >> 8`: same low byte.
        let mut f = byte_store(
            vec![
                Inst::BinImm {
                    op: Op::Shr,
                    dst: 1,
                    a: 0,
                    imm: 8,
                },
                Inst::Norm {
                    dst: 2,
                    a: 1,
                    ty: U8,
                },
            ],
            2,
            3,
        );
        simplify(&mut f);
        assert_eq!(stored(&f), Some(1));
        assert!(!has_norm(&f), "the Norm is dead once the store reads 1");
    }

    #[test]
    fn a_truncation_whose_source_changes_before_the_store_stays() {
        // `n = x as u8; x = x + 1; store8 n`: storing `x` would store the
        // incremented value.
        let mut f = byte_store(
            vec![
                Inst::Norm {
                    dst: 2,
                    a: 0,
                    ty: U8,
                },
                Inst::BinImm {
                    op: Op::Add,
                    dst: 0,
                    a: 0,
                    imm: 1,
                },
            ],
            2,
            3,
        );
        simplify(&mut f);
        assert_eq!(stored(&f), Some(2));
        assert!(has_norm(&f));
    }

    #[test]
    fn a_wider_store_than_the_truncation_keeps_it() {
        let mut f = byte_store(
            vec![Inst::Norm {
                dst: 2,
                a: 0,
                ty: U8,
            }],
            2,
            3,
        );
        if let Some((Inst::Store { ty, .. }, _)) = f.blocks[0].insts.last_mut() {
            ty.size = 4;
        }
        simplify(&mut f);
        assert_eq!(stored(&f), Some(2));
        assert!(has_norm(&f));
    }
}
