//! Slice accesses whose index an enclosing test already bounds by the
//! slice's length: in `while i < s.len { … s[i] … i += 1; }` (and any
//! `if i < s.len { … s[i] … }`), `s[i]` is reached only where `i < s.len`
//! held and `i` has not been written since, so its check cannot fail.
//!
//! ```text
//! P:  t = i < len · branch t → S        (or i >= len → else S; len > i)
//! S:  … s[i] …   check BelowLen(len) → Proven, while i and len stay unwritten
//! ```
//!
//! `for i in 0..s.len` loops get this from the lowering (their variable is
//! never assigned); a `while` loop's counter is a `var`, so it takes a
//! dataflow over the function.
//!
//! The facts: a pair `(i, len)` means "`i < len`, unsigned, on 64 bits",
//! with `len` a register of one definition, a `SliceLen`. *Established* on
//! the edge of a branch whose condition is, at the end of its block, a
//! `Cmp` of `i` against `len` that says `i < len` on that edge (`B` on the
//! taken edge, `Ae` on the other, and `A`/`Be` with the operands swapped),
//! with neither register written after the compare in that block.
//! *Killed* by any write of `i` (or of `len`, which has one write, before
//! any use). *Join*: intersection over the edges from reachable blocks, so
//! a block has a fact only if every way in brings it. The analysis is the
//! usual forward fixed point from "everything" at every block but the
//! entry: it only ever removes facts, so it ends. At most [`MAX_FACTS`]
//! pairs are tracked (a bit each); others are simply not proved.
//!
//! Why the result is the same: the check `index < len` that becomes
//! `Proven` is the fact, which holds whenever the access runs, so the check
//! would have passed. One fact proves two checks: `i < len` for `len` the
//! slice's writable length also proves `i` below its readable length,
//! because the writable table holds the length or 0 (the verifier counts a
//! writable-length fact for reads too).
//!
//! The verifier proves the unchecked access itself, from the same compare
//! and branch (`book/src/runtime/sandbox.md`, an index below a length on
//! the edge, kept through joins while registers hold its names), as it
//! does for `for` loops. It may still refuse (its fact table is bounded,
//! and a spill it stops tracking renames a value): the pipeline verifies
//! what it lays out and goes back to the form before this pass for a
//! function it refuses (`crate::pipeline`).

use crate::analysis::{def_counts, predecessors, reverse_postorder};
use crate::ir::{BlockId, Cc, Check, Func, Inst, Term, V};

/// Pairs tracked per function: a `u64` of facts per block.
const MAX_FACTS: usize = 64;

/// Rounds of the fixed point before the function is left as it is.
const MAX_ROUNDS: usize = 64;

/// Whether [`prove_tested_indexes`] could change `f`: some access has a
/// `BelowLen` check at displacement 0. Cheap, so that the pipeline keeps a
/// copy of the checked form only for such a function.
pub fn may_prove(f: &Func) -> bool {
    f.blocks.iter().flat_map(|b| &b.insts).any(|(inst, _)| {
        inst.addr().is_some_and(|a| {
            a.disp == 0
                && a.index
                    .is_some_and(|i| matches!(i.check, Check::BelowLen(..)))
        })
    })
}

/// What the branch ending `b` establishes: the pair `(i, len)`, whether
/// `i < len` holds on its `then` edge (else on its `els` edge), and the
/// position of the compare.
fn edge_fact(f: &Func, is_len: &[bool], b: BlockId) -> Option<((V, V), bool, usize)> {
    let block = &f.blocks[b as usize];
    let Term::Branch { cond, then, els } = block.term else {
        return None;
    };
    if then == els {
        return None;
    }
    let at = block
        .insts
        .iter()
        .rposition(|(i, _)| i.def() == Some(cond))?;
    let Inst::Cmp { cc, a, b: rhs, .. } = block.insts[at].0 else {
        return None;
    };
    let (i, len, on_then) = match cc {
        Cc::B => (a, rhs, true),
        Cc::Ae => (a, rhs, false),
        Cc::A => (rhs, a, true),
        Cc::Be => (rhs, a, false),
        _ => return None,
    };
    if i == len || !is_len[len as usize] {
        return None;
    }
    let written_after = block.insts[at + 1..]
        .iter()
        .any(|(x, _)| matches!(x.def(), Some(d) if d == i || d == len));
    (!written_after).then_some(((i, len), on_then, at))
}

/// Writes the compare at `at` in `b` as `i` against `len` (`len > i`
/// becomes `i < len`): the verifier learns an index below a length from
/// `cmp index, len` and `jb`/`jae` only, the form the lowering gives
/// `for` loops.
fn index_first(f: &mut Func, b: usize, at: usize) {
    if let Inst::Cmp { cc, a, b: rhs, .. } = &mut f.blocks[b].insts[at].0
        && matches!(cc, Cc::A | Cc::Be)
    {
        *cc = cc.swap();
        core::mem::swap(a, rhs);
    }
}

/// Turns the checks of slice accesses whose index is below the length on
/// every way in (see the module docs) into `Proven`. Whether any changed.
pub fn prove_tested_indexes(f: &mut Func) -> bool {
    if !may_prove(f) {
        return false;
    }
    let defs = def_counts(f);
    let mut is_len = vec![false; f.n_vregs as usize];
    // Each length's slice (a handle of one definition), table and scale.
    let mut table: Vec<Option<(V, bool, u8)>> = vec![None; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::SliceLen {
                dst,
                handle,
                writable,
                size,
            } = *inst
                && defs[dst as usize] == 1
            {
                is_len[dst as usize] = true;
                if defs[handle as usize] == 1 {
                    table[dst as usize] = Some((handle, writable, size));
                }
            }
        }
    }
    // Whether `i < len` proves `i < checked`: the same length, or the
    // writable length of the slice whose readable length is checked (the
    // writable table holds the length or 0, never more; an assignment
    // `out[i] = …` reads `out[i]` first, against the readable one).
    let proves = |len: V, checked: V| {
        len == checked
            || matches!(
                (table[len as usize], table[checked as usize]),
                (Some((h, true, s)), Some((h2, false, s2))) if h == h2 && s == s2
            )
    };
    // The pairs some branch establishes, numbered by first appearance.
    let mut facts: Vec<(V, V)> = Vec::new();
    let mut edge: Vec<Option<(usize, bool)>> = vec![None; f.blocks.len()];
    for (b, edge) in edge.iter_mut().enumerate() {
        let Some((fact, on_then, at)) = edge_fact(f, &is_len, b as BlockId) else {
            continue;
        };
        let k = match facts.iter().position(|&p| p == fact) {
            Some(k) => k,
            None if facts.len() < MAX_FACTS => {
                facts.push(fact);
                facts.len() - 1
            }
            None => continue,
        };
        *edge = Some((k, on_then));
        index_first(f, b, at);
    }
    if facts.is_empty() {
        return false;
    }
    // The facts a write of each register kills, and each block's kills.
    let mut kills_of = vec![0u64; f.n_vregs as usize];
    for (k, &(i, len)) in facts.iter().enumerate() {
        kills_of[i as usize] |= 1 << k;
        kills_of[len as usize] |= 1 << k;
    }
    let kill: Vec<u64> = f
        .blocks
        .iter()
        .map(|b| {
            b.insts
                .iter()
                .filter_map(|(x, _)| x.def())
                .fold(0, |m, d| m | kills_of[d as usize])
        })
        .collect();
    let order = reverse_postorder(f);
    let mut reachable = vec![false; f.blocks.len()];
    for &b in &order {
        reachable[b as usize] = true;
    }
    let preds = predecessors(f);
    let all = if facts.len() == 64 {
        u64::MAX
    } else {
        (1u64 << facts.len()) - 1
    };
    // What leaves `p` along its edge to `s`.
    let out = |inn: &[u64], p: BlockId, s: BlockId| -> u64 {
        let mut o = inn[p as usize] & !kill[p as usize];
        if let Some((k, on_then)) = edge[p as usize]
            && let Term::Branch { then, els, .. } = f.blocks[p as usize].term
            && (if on_then { then } else { els }) == s
        {
            o |= 1 << k;
        }
        o
    };
    let entry = order.first().copied().unwrap_or(0);
    let mut inn = vec![all; f.blocks.len()];
    inn[entry as usize] = 0;
    // Each round only clears bits (the sets start full); in reverse
    // postorder a round or two past the loops' nesting depth settles it.
    // A function that has not settled by then keeps all its checks: a
    // set still shrinking may hold facts that do not hold.
    let mut settled = false;
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        for &b in &order {
            if b == entry {
                continue;
            }
            let mut v = all;
            for &p in &preds[b as usize] {
                if reachable[p as usize] {
                    v &= out(&inn, p, b);
                }
            }
            if v != inn[b as usize] {
                inn[b as usize] = v;
                changed = true;
            }
        }
        if !changed {
            settled = true;
            break;
        }
    }
    if !settled {
        return false;
    }
    let mut changed = false;
    for &b in &order {
        let mut now = inn[b as usize];
        for (inst, _) in &mut f.blocks[b as usize].insts {
            if now != 0
                && let Some(addr) = inst.addr_mut()
                && addr.disp == 0
                && let Some(index) = addr.index.as_mut()
                && let Check::BelowLen(checked, _) = index.check
                && facts.iter().enumerate().any(|(k, &(i, len))| {
                    now & (1 << k) != 0 && i == index.v && proves(len, checked)
                })
            {
                index.check = Check::Proven;
                changed = true;
            }
            if let Some(d) = inst.def() {
                now &= !kills_of[d as usize];
            }
        }
    }
    if changed {
        drop_unread_reads(f);
    }
    changed
}

/// Drops the reads left with no reader: a proven load whose value nothing
/// uses (`out[i] = v` reads `out[i]` first, for its check only), then a
/// length nothing uses any more. Neither can trap or write; nothing runs
/// after this pass to remove them.
fn drop_unread_reads(f: &mut Func) {
    for pass in 0..2 {
        let uses = f.use_counts();
        for b in &mut f.blocks {
            b.insts.retain(|(inst, _)| match *inst {
                Inst::Load { dst, ref addr, .. } if pass == 0 => {
                    uses[dst as usize] != 0 || !addr.index.is_some_and(|i| i.check == Check::Proven)
                }
                Inst::SliceLen { dst, .. } if pass == 1 => uses[dst as usize] != 0,
                _ => true,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Addr, Base, Block, Index, Scalar};

    // Registers: 0 the slice's handle, 1 its length, 2 its base, 3 the
    // index, 4 the test, 5 the loaded value, 6 a copy of it.

    /// A read of the loaded value, so that the load stays.
    fn read_value() -> Inst {
        Inst::Copy { dst: 6, src: 5 }
    }
    fn load(index: V) -> Inst {
        Inst::Load {
            dst: 5,
            addr: Addr {
                base: Base::SlicePtr(2),
                index: Some(Index {
                    v: index,
                    scale: 1,
                    check: Check::BelowLen(1, 0),
                }),
                disp: 0,
            },
            ty: Scalar {
                size: 1,
                signed: false,
            },
        }
    }

    /// `len = s.len; i = 0; b1: if i < len { b2: body } else { b3 }`,
    /// with `body` in `b2` followed by `i += 1` and a jump back.
    fn loop_with(body: Vec<Inst>, cc: Cc) -> Func {
        let mut b2 = body;
        b2.push(Inst::BinImm {
            op: crate::ir::Op::Add,
            dst: 3,
            a: 3,
            imm: 1,
        });
        let (then, els) = if cc == Cc::B { (2, 3) } else { (3, 2) };
        Func::for_test(
            vec![
                Block::for_test(
                    vec![
                        Inst::SliceLen {
                            dst: 1,
                            handle: 0,
                            writable: false,
                            size: 1,
                        },
                        Inst::SliceBase { dst: 2, handle: 0 },
                        Inst::Const { dst: 3, value: 0 },
                    ],
                    Term::Jump(1),
                ),
                Block::for_test(
                    vec![Inst::Cmp {
                        cc,
                        dst: 4,
                        a: 3,
                        b: 1,
                    }],
                    Term::Branch { cond: 4, then, els },
                ),
                Block::for_test(b2, Term::Jump(1)),
                Block::for_test(vec![], Term::Ret(Some(3))),
            ],
            7,
            true,
        )
    }

    fn checks(f: &Func) -> Vec<Check> {
        f.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter_map(|(i, _)| i.addr()?.index.map(|x| x.check))
            .collect()
    }

    #[test]
    fn an_access_below_the_loop_test_is_proven() {
        let mut f = loop_with(vec![load(3), read_value()], Cc::B);
        assert!(prove_tested_indexes(&mut f));
        assert_eq!(checks(&f), vec![Check::Proven]);
    }

    #[test]
    fn a_write_of_the_index_before_the_access_keeps_the_check() {
        let bump = Inst::BinImm {
            op: crate::ir::Op::Add,
            dst: 3,
            a: 3,
            imm: 1,
        };
        let mut f = loop_with(vec![bump, load(3), read_value()], Cc::B);
        assert!(!prove_tested_indexes(&mut f));
        assert_eq!(checks(&f), vec![Check::BelowLen(1, 0)]);
    }

    #[test]
    fn the_edge_where_the_test_failed_proves_nothing() {
        // `if i >= len` taken into the body: the body runs when i >= len.
        let mut f = loop_with(vec![load(3), read_value()], Cc::Ae);
        // With Ae the loop's `then` is the exit and `els` the body: proven.
        assert!(prove_tested_indexes(&mut f));
        // The same test with the edges the other way round: not proven.
        let mut g = loop_with(vec![load(3), read_value()], Cc::Ae);
        if let Term::Branch { then, els, .. } = &mut g.blocks[1].term {
            core::mem::swap(then, els);
        }
        assert!(!prove_tested_indexes(&mut g));
        assert_eq!(checks(&g), vec![Check::BelowLen(1, 0)]);
    }
}
