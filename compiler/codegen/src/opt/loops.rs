//! Loop transformations, IR → IR: induction-variable strength reduction
//! (`i * k` in a loop becomes a register stepped by `k * c` wherever `i`
//! steps by `c`) and loop rotation (the exit test is copied to the end of
//! the loop, so an iteration runs one conditional branch back to the top
//! instead of a jump up to a test that branches down again).
//!
//! Both keep the checks the verifier reads: rotation copies only
//! instructions that cannot trap, and the copied test compares the same
//! values, so the loop body is entered only with the comparison that proves
//! its `Proven` accesses, from the entry test and from the bottom test alike.

use crate::analysis::{def_counts, def_sites, dominators, natural_loops, predecessors};
use crate::ir::*;

/// A multiplication `i * k` by its register, operation and constant.
type Product = (V, Op, i32);
/// An instruction by block and index.
type Site = (BlockId, usize);

/// At most this many instructions are copied from a loop's test into each
/// of its back edges.
const MAX_TEST_INSTS: usize = 6;

/// Replaces `t = i * k` inside a loop, where every write to `i` inside the
/// loop is `i = i + c`, by `t = p` with a new register `p` kept equal to
/// `i * k`: set to `i * k` after every other write to `i`, and stepped by
/// `k * c` after every `i = i + c`. Returns whether anything changed.
///
/// Why it is exact: `p == i * k` (in the multiplication's own wrapping
/// arithmetic) holds after every write to `i`, and nothing else writes
/// `p`. For `Mul32` (low 32 bits) any 64-bit or 32-bit step keeps it, since
/// the low 32 bits of a sum or product depend only on the low 32 bits of
/// the operands; a 64-bit `Mul` is stepped only by 64-bit adds whose
/// `k * c` fits the immediate.
pub fn strength_reduce(f: &mut Func) -> bool {
    let idom = dominators(f);
    let loops = natural_loops(f, &idom);
    if loops.is_empty() {
        return false;
    }
    let writes = def_sites(f);
    let step = |inst: &Inst, i: V, op: Op| -> Option<i64> {
        match *inst {
            Inst::BinImm {
                op: Op::Add,
                dst,
                a,
                imm,
            } if dst == i && a == i => Some(i64::from(imm)),
            Inst::BinImm {
                op: Op::Add32,
                dst,
                a,
                imm,
            } if dst == i && a == i && op == Op::Mul32 => Some(i64::from(imm)),
            _ => None,
        }
    };
    // (i, op, k) → the multiplications to replace, as (block, index).
    let mut found: Vec<(Product, Vec<Site>)> = Vec::new();
    for (_, body) in &loops {
        if body.contains(&0) {
            continue;
        }
        for &b in body {
            for (k, (inst, _)) in f.blocks[b as usize].insts.iter().enumerate() {
                let Inst::BinImm { op, a: i, imm, .. } = *inst else {
                    continue;
                };
                if !matches!(op, Op::Mul | Op::Mul32) {
                    continue;
                }
                let ws = &writes[i as usize];
                let inside: Vec<_> = ws.iter().filter(|(wb, _)| body.contains(wb)).collect();
                let steps_only = inside.iter().all(|&&(wb, wk)| {
                    step(&f.blocks[wb as usize].insts[wk].0, i, op).is_some_and(|c| {
                        op == Op::Mul32
                            || c.checked_mul(i64::from(imm))
                                .and_then(|x| i32::try_from(x).ok())
                                .is_some()
                    })
                });
                if inside.is_empty() || !steps_only {
                    continue;
                }
                let key = (i, op, imm);
                match found.iter_mut().find(|(kk, _)| *kk == key) {
                    Some((_, sites)) => {
                        if !sites.contains(&(b, k)) {
                            sites.push((b, k));
                        }
                    }
                    None => found.push((key, vec![(b, k)])),
                }
            }
        }
    }
    if found.is_empty() {
        return false;
    }
    // Insertions after writes, per block: (index, instruction), and
    // replacements of the multiplications.
    let mut inserts: Vec<Vec<(usize, Inst)>> = vec![Vec::new(); f.blocks.len()];
    let mut param_inits: Vec<Inst> = Vec::new();
    for ((i, op, k), muls) in found {
        let p = f.n_vregs;
        f.n_vregs += 1;
        let add = if op == Op::Mul32 { Op::Add32 } else { Op::Add };
        for &(wb, wk) in &writes[i as usize] {
            let inst = &f.blocks[wb as usize].insts[wk].0;
            let new = match (step(inst, i, op), inst) {
                // A constant start gives a constant `p` (`i` itself has
                // several writes, so propagation would not fold it).
                (_, &Inst::Const { value, .. }) => Inst::Const {
                    dst: p,
                    value: if op == Op::Mul32 {
                        i64::from((value as u32).wrapping_mul(k as u32))
                    } else {
                        value.wrapping_mul(i64::from(k))
                    },
                },
                (Some(c), _) if op == Op::Mul32 || i32::try_from(c * i64::from(k)).is_ok() => {
                    Inst::BinImm {
                        op: add,
                        dst: p,
                        a: p,
                        imm: (c as i32).wrapping_mul(k),
                    }
                }
                _ => Inst::BinImm {
                    op,
                    dst: p,
                    a: i,
                    imm: k,
                },
            };
            inserts[wb as usize].push((wk + 1, new));
        }
        if f.params.contains(&i) {
            param_inits.push(Inst::BinImm {
                op,
                dst: p,
                a: i,
                imm: k,
            });
        }
        for (b, x) in muls {
            let (inst, _) = &mut f.blocks[b as usize].insts[x];
            if let Inst::BinImm { dst, .. } = *inst {
                *inst = Inst::Copy { dst, src: p };
            }
        }
    }
    for (b, mut ins) in inserts.into_iter().enumerate() {
        ins.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        let block = &mut f.blocks[b];
        for (at, inst) in ins {
            let pos = block.insts.get(at - 1).map_or(0, |(_, s)| *s);
            block.insts.insert(at, (inst, pos));
        }
    }
    if !param_inits.is_empty() {
        let pos = f.blocks[0].insts.first().map_or(0, |(_, s)| *s);
        for (n, inst) in param_inits.into_iter().enumerate() {
            f.blocks[0].insts.insert(n, (inst, pos));
        }
    }
    forward_local_copies(f);
    true
}

/// `t = p` followed, in the same block, by every use of a single-write `t`
/// before `p` is written again: the uses read `p` and the copy goes (the
/// copies strength reduction leaves, which copy propagation cannot remove
/// because `p` has several writes).
fn forward_local_copies(f: &mut Func) {
    let defs = def_counts(f);
    let uses = f.use_counts();
    let mut buf = Vec::new();
    for b in &mut f.blocks {
        let mut k = 0;
        while k < b.insts.len() {
            let Inst::Copy { dst: t, src: p } = b.insts[k].0 else {
                k += 1;
                continue;
            };
            if defs[t as usize] != 1 || t == p {
                k += 1;
                continue;
            }
            // Count the uses of `t` up to the next write of `p` (that
            // instruction included: it reads before it writes).
            let mut seen = 0;
            let mut end = b.insts.len();
            let mut term_ok = true;
            for (j, (inst, _)) in b.insts.iter().enumerate().skip(k + 1) {
                buf.clear();
                inst.uses(&mut buf);
                seen += buf.iter().filter(|&&u| u == t).count() as u32;
                if inst.def() == Some(p) {
                    end = j + 1;
                    term_ok = false;
                    break;
                }
            }
            let in_term = match &b.term {
                Term::Branch { cond: v, .. } | Term::Ret(Some(v)) if *v == t => 1,
                _ => 0,
            };
            if seen + if term_ok { in_term } else { 0 } != uses[t as usize] {
                k += 1;
                continue;
            }
            let mut swap = |v: &mut V| {
                if *v == t {
                    *v = p;
                }
            };
            for (inst, _) in &mut b.insts[k + 1..end] {
                inst.map_uses(&mut swap);
            }
            if term_ok && let Term::Branch { cond: v, .. } | Term::Ret(Some(v)) = &mut b.term {
                swap(v);
            }
            b.insts.remove(k);
        }
    }
}

/// Whether a copy of `inst` may run once more at a loop's back edge: it
/// cannot trap, has no effect and calls nothing.
fn copyable(inst: &Inst) -> bool {
    match inst {
        Inst::Const { .. }
        | Inst::Copy { .. }
        | Inst::Bin { .. }
        | Inst::BinImm { .. }
        | Inst::Neg { .. }
        | Inst::Not { .. }
        | Inst::Norm { .. }
        | Inst::Cmp { .. }
        | Inst::CmpImm { .. }
        | Inst::SliceLen { .. }
        | Inst::SliceBase { .. } => true,
        Inst::Load { .. } => !inst.has_effect(),
        _ => false,
    }
}

/// Rotates every loop whose header is a small test (`copyable`
/// instructions ending in a branch out of the loop on one side only) and
/// whose back edges all end in a jump to it: each back edge gets a copy of the test and branches itself, so
/// the header runs only on entry. Registers the test writes for itself
/// alone get fresh names in the copies (a compare stays single-use, so the
/// back end still fuses it with its branch). Returns whether anything
/// changed.
pub fn rotate(f: &mut Func) -> bool {
    let idom = dominators(f);
    let loops = natural_loops(f, &idom);
    let preds = predecessors(f);
    let defs = def_counts(f);
    let uses = f.use_counts();
    let mut changed = false;
    let mut buf = Vec::new();
    for (h, body) in loops {
        let header = &f.blocks[h as usize];
        // The test must leave the loop on one side: a header that branches
        // within the loop on both (the first `if` of a `while true` body)
        // would, copied to the back edges, enter the loop at both targets,
        // which is irreducible control flow (the verifier refuses it).
        let exits = |t: &BlockId| !body.contains(t);
        if !matches!(header.term, Term::Branch { then, els, .. } if exits(&then) != exits(&els))
            || header.insts.len() > MAX_TEST_INSTS
            || !header.insts.iter().all(|(i, _)| copyable(i))
        {
            continue;
        }
        let latches: Vec<BlockId> = preds[h as usize]
            .iter()
            .copied()
            .filter(|p| body.contains(p))
            .collect();
        if latches.is_empty()
            || latches
                .iter()
                .any(|&l| l == h || f.blocks[l as usize].term != Term::Jump(h))
        {
            continue;
        }
        // Registers written in the header and read nowhere else.
        let mut local_uses = vec![0u32; 0];
        let mut local: Vec<V> = Vec::new();
        for (inst, _) in &header.insts {
            if let Some(d) = inst.def() {
                local.push(d);
            }
        }
        local_uses.resize(local.len(), 0);
        for (inst, _) in &header.insts {
            buf.clear();
            inst.uses(&mut buf);
            for u in &buf {
                if let Some(x) = local.iter().position(|d| d == u) {
                    local_uses[x] += 1;
                }
            }
        }
        if let Term::Branch { cond, .. } = header.term
            && let Some(x) = local.iter().position(|d| *d == cond)
        {
            local_uses[x] += 1;
        }
        let private: Vec<V> = local
            .iter()
            .zip(&local_uses)
            .filter(|&(&d, &n)| defs[d as usize] == 1 && uses[d as usize] == n)
            .map(|(&d, _)| d)
            .collect();
        let test = header.insts.clone();
        let term = header.term.clone();
        let term_pos = header.term_pos;
        for l in latches {
            let fresh: Vec<(V, V)> = private
                .iter()
                .map(|&d| {
                    f.n_vregs += 1;
                    (d, f.n_vregs - 1)
                })
                .collect();
            let mut rename = |v: &mut V| {
                if let Some(&(_, n)) = fresh.iter().find(|(d, _)| d == v) {
                    *v = n;
                }
            };
            let latch = &mut f.blocks[l as usize];
            for (inst, pos) in &test {
                let mut c = inst.clone();
                c.map_uses(&mut rename);
                c.map_def(&mut rename);
                latch.insts.push((c, *pos));
            }
            let mut t = term.clone();
            if let Term::Branch { cond, .. } = &mut t {
                rename(cond);
            }
            latch.term = t;
            latch.term_pos = term_pos;
        }
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::test_support::optimised;

    /// Whether every edge that closes a cycle goes to a block dominating
    /// its source (reducible control flow): depth-first from the entry, an
    /// edge to a block still on the path closes a cycle.
    fn reducible(f: &Func) -> bool {
        let idom = dominators(f);
        let n = f.blocks.len();
        let (mut on_path, mut seen) = (vec![false; n], vec![false; n]);
        let mut stack: Vec<(BlockId, usize)> = vec![(0, 0)];
        seen[0] = true;
        on_path[0] = true;
        while let Some(&mut (b, ref mut next)) = stack.last_mut() {
            let succs = f.blocks[b as usize].term.successors();
            if let Some(&t) = succs.get(*next) {
                *next += 1;
                if on_path[t as usize] {
                    if !crate::analysis::dominates(&idom, t, b) {
                        return false;
                    }
                } else if !seen[t as usize] {
                    seen[t as usize] = true;
                    on_path[t as usize] = true;
                    stack.push((t, 0));
                }
            } else {
                on_path[b as usize] = false;
                stack.pop();
            }
        }
        true
    }

    /// `while true` whose body starts with an `if`: the loop's header
    /// branches inside the loop both ways, so there is no test to rotate.
    /// Copying it to the back edge entered the loop at both targets (the
    /// differential generator's seed 22196, refused by the verifier as
    /// irreducible).
    #[test]
    fn a_header_that_does_not_leave_the_loop_is_not_rotated() {
        let src = "
            static g: i32 = 0;
            export fn f(a: u64) -> u64 {
                while true {
                    var d: i16 = g as i16;
                    var n: i16 = -1;
                    if n == -32768 && d == -1 {
                    }
                    n = ~(n % 2);
                }
                return a;
            }
        ";
        let f = optimised(src, "f");
        assert!(reducible(&f), "{f}");
    }

    fn loop_insts(f: &Func) -> Vec<Inst> {
        let idom = dominators(f);
        let mut blocks: Vec<BlockId> = natural_loops(f, &idom)
            .into_iter()
            .flat_map(|(_, body)| body)
            .collect();
        blocks.sort_unstable();
        blocks.dedup();
        blocks
            .iter()
            .flat_map(|&b| f.blocks[b as usize].insts.iter().map(|(i, _)| i.clone()))
            .collect()
    }

    const STRIDED: &str = "export fn f(s: []u8, out: []mut u8) -> u32 {
        for i in 0..out.len {
            let p = 3 * i;
            out[i] = s[p] ^ s[p + 2];
        }
        return 0;
    }";

    #[test]
    fn a_multiplied_index_becomes_a_stepped_register() {
        let f = optimised(STRIDED, "f");
        let body = loop_insts(&f);
        assert!(
            !body.iter().any(|i| matches!(
                i,
                Inst::BinImm {
                    op: Op::Mul | Op::Mul32,
                    ..
                }
            )),
            "{f}"
        );
        assert!(
            body.iter()
                .any(|i| matches!(i, Inst::BinImm { op: Op::Add32, imm: 3, dst, a } if dst == a)),
            "{f}"
        );
    }

    #[test]
    fn a_rotated_loop_branches_back_from_its_bottom() {
        let f = optimised(STRIDED, "f");
        let idom = dominators(&f);
        let loops = natural_loops(&f, &idom);
        assert_eq!(loops.len(), 1, "{f}");
        let (h, body) = &loops[0];
        // Every back edge is a conditional branch: no jump up to a test.
        let preds = predecessors(&f);
        for l in preds[*h as usize].iter().filter(|p| body.contains(p)) {
            assert!(
                matches!(f.blocks[*l as usize].term, Term::Branch { then, .. } if then == *h),
                "{f}"
            );
        }
        // The loop holds exactly one compare-and-branch of `i` against the
        // bound besides the three bounds checks' accesses.
        let compares = loop_insts(&f)
            .iter()
            .filter(|i| matches!(i, Inst::Cmp { .. } | Inst::CmpImm { .. }))
            .count();
        assert_eq!(compares, 1, "{f}");
    }

    #[test]
    fn a_loop_whose_test_can_trap_is_not_rotated() {
        // The test reads `s[i]` with a bounds check: copying it would run a
        // trapping access twice as often, so the loop keeps its shape.
        let f = optimised(
            "export fn f(s: []u8) -> u32 {
                 var i: u32 = 0;
                 while s[i] != 0 {
                     i += 1;
                 }
                 return i;
             }",
            "f",
        );
        let idom = dominators(&f);
        let preds = predecessors(&f);
        for (h, body) in natural_loops(&f, &idom) {
            for l in preds[h as usize].iter().filter(|p| body.contains(p)) {
                assert_eq!(f.blocks[*l as usize].term, Term::Jump(h), "{f}");
            }
        }
    }
}
