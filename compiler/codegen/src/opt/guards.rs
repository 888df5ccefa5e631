//! Slice reads and writes at a constant index that an earlier length test
//! already proves in range: after `if s.len < n { return ... }`, the
//! accesses `s[c]` with `c < n` on the path that passed the test need no
//! check of their own.
//!
//! ```text
//! B:  cmp len, n · jb  T            (or jae/ja/jbe: the edge where len >= n)
//! S:  ... s[c] ...  c a constant < n: checked → Proven
//! ```
//!
//! When it applies: the test is a fused compare-and-branch ending block
//! `P` (`CmpImm` of `len` with an immediate, its result used only by the
//! branch), `len` has one definition, a `SliceLen`; `S` is the successor
//! where `len >= n` (`B`/`Ae` against `n`, `A`/`Be` against `n - 1`), and
//! `P` is its only predecessor by one edge. The access is in `S` or in a
//! block reached from `S` through blocks each with one edge in (none of
//! them a loop header, then), its check is `BelowLen(len, _)` against that
//! same `len`, at displacement 0, and its index is a constant `c` (one
//! definition) with `0 <= c < n`. No block on that path holds a division
//! (its code branches inside the block, see below).
//!
//! Why the result is the same: on the path from the test to the access,
//! `len` (one definition) still holds the value the test saw, so `c < n <=
//! len`: the check would pass, and dropping it changes nothing.
//!
//! A proven access then reads `[base + z + c*s]` instead of `[base + c']`
//! with `c'` a register holding `c` (`mov r, 9; movzx r, byte [base + r]`):
//! `z = 0` is defined first thing in the block the test leads to, once for
//! every access below that test, and the constants only the accesses read
//! go. The address is the same (`0*s + c*s`).
//!
//! The verifier proves the unchecked access itself (`book/src/runtime/
//! sandbox.md`, "len >= n"): the 64-bit `cmp len, n` and the branch give
//! "length table entry `m` is at least `n`" on the edge into `S`, a fact
//! about the masked handle `m`, and the access `[base + c*s]` with `base =
//! slice_ptr[m]`, the index register known to hold 0 and the displacement
//! `c*s` (the verifier's rule: `0*s + c*s + s <= n*s`) is inside the
//! slice. The verifier carries the fact through blocks with one edge in as
//! it is; a join (which the path excludes, and which a division's own
//! branches would make inside a block) keeps a fact only while a register
//! holds one of its names, and `m` is a scratch register's value.
//!
//! The path rule is necessary, not sufficient: the verifier's fact table
//! is bounded, and a long function can push the fact out (when only a
//! scratch register held `m`) or reload the handle from a spill slot the
//! verifier no longer tracks, which gives it a new name the fact does not
//! mention. Neither is predictable from the IR, so the pipeline verifies
//! what it lays out and compiles a function the verifier refuses again
//! from its form before this pass (`crate::pipeline`, `refused_function`).
//!
//! The pass runs once per function last before register allocation, after
//! [`super::bounds::merge_checks`] (`crate::pipeline`): no later pass may
//! rewrite the unchecked accesses it leaves.

use crate::analysis::{def_counts, predecessors, reverse_postorder};
use crate::ir::{BlockId, Cc, Check, Func, Inst, Term, V};

/// How many blocks with one edge in an access may lie below the test.
const MAX_CHAIN: usize = 16;

/// The largest displacement a proven constant index becomes: far below
/// `i32::MAX`, so `disp + size` never overflows the encoding.
const MAX_DISP: u64 = 1 << 30;

/// Whether [`prove_constant_indexes`] could change `f`: some slice access
/// at displacement 0 has a bounds check and an index some `Const` writes.
/// A cheap test, so that the pipeline keeps a copy of the checked form
/// (and the pass computes its analyses) only for such a function.
pub fn may_prove(f: &Func) -> bool {
    let mut constant = vec![false; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::Const { dst, .. } = *inst {
                constant[dst as usize] = true;
            }
        }
    }
    f.blocks.iter().flat_map(|b| &b.insts).any(|(inst, _)| {
        inst.addr().is_some_and(|a| {
            a.disp == 0
                && a.index.is_some_and(|i| {
                    matches!(i.check, Check::BelowLen(..)) && constant[i.v as usize]
                })
        })
    })
}

/// Turns the checks of constant-index slice accesses proved by a dominating
/// length test into `Proven`. Returns whether anything changed.
pub fn prove_constant_indexes(f: &mut Func) -> bool {
    if !may_prove(f) {
        return false;
    }
    let defs = def_counts(f);
    // Edges from blocks the entry cannot reach (an `if` without `else`
    // leaves one) are no way in: the emitter lays out only reachable
    // blocks, and the verifier counts only edges from reached ones.
    let mut reachable = vec![false; f.blocks.len()];
    for b in reverse_postorder(f) {
        reachable[b as usize] = true;
    }
    let all = predecessors(f);
    let preds: Vec<Vec<BlockId>> = (0..all.len())
        .map(|b| {
            all[b]
                .iter()
                .copied()
                .filter(|&x| reachable[x as usize])
                .collect()
        })
        .collect();
    let uses = f.use_counts();
    // The constant of every register with one definition that is one.
    let mut consts: Vec<Option<i64>> = vec![None; f.n_vregs as usize];
    // Registers with one definition that is a slice length.
    let mut is_len = vec![false; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            match *inst {
                Inst::Const { dst, value } if defs[dst as usize] == 1 => {
                    consts[dst as usize] = Some(value);
                }
                Inst::SliceLen { dst, .. } if defs[dst as usize] == 1 => {
                    is_len[dst as usize] = true;
                }
                _ => {}
            }
        }
    }
    // The guard each block starts under: `(len, n)`, `len >= n`.
    let guard: Vec<Option<(V, u64)>> = (0..f.blocks.len())
        .map(|s| entry_guard(f, &preds, &uses, &is_len, s as BlockId))
        .collect();
    // The zero register of each guarded block that some access below it
    // uses as its index (defined first thing in that block).
    let mut zero: Vec<Option<V>> = vec![None; f.blocks.len()];
    let mut changed = false;
    for b in 0..f.blocks.len() {
        let guards = guards_above(f, &preds, &guard, b as BlockId);
        if guards.is_empty() {
            continue;
        }
        for (inst, _) in &mut f.blocks[b].insts {
            let Some(addr) = inst.addr_mut() else {
                continue;
            };
            let Some(index) = addr.index.as_mut() else {
                continue;
            };
            let Check::BelowLen(len, _) = index.check else {
                continue;
            };
            let Some(c) = consts[index.v as usize].and_then(|c| u64::try_from(c).ok()) else {
                continue;
            };
            if addr.disp != 0 {
                continue;
            }
            let Some(&(_, _, s)) = guards.iter().find(|&&(l, n, _)| l == len && c < n) else {
                continue;
            };
            index.check = Check::Proven;
            changed = true;
            // `[base + z + c*scale]` with `z = 0` from the guarded block:
            // one register for every constant index below the test, and
            // no `mov r, c` per access.
            let Some(disp) = c
                .checked_mul(u64::from(index.scale))
                .filter(|&d| d <= MAX_DISP)
            else {
                continue;
            };
            let z = *zero[s as usize].get_or_insert_with(|| {
                f.n_vregs += 1;
                f.n_vregs - 1
            });
            index.v = z;
            addr.disp = disp as u32;
        }
    }
    // The constants the rewritten accesses no longer read (`pkt[9]`'s
    // `mov r, 9`): nothing else runs after this pass to remove them.
    if zero.iter().any(Option::is_some) {
        let uses = f.use_counts();
        for b in &mut f.blocks {
            b.insts.retain(|(inst, _)| {
                !matches!(*inst, Inst::Const { dst, .. }
                    if uses[dst as usize] == 0 && defs[dst as usize] == 1)
            });
        }
    }
    for (s, z) in zero.iter().enumerate() {
        if let Some(z) = *z {
            let pos = f.blocks[s]
                .insts
                .first()
                .map_or(f.blocks[s].term_pos, |x| x.1);
            f.blocks[s]
                .insts
                .insert(0, (Inst::Const { dst: z, value: 0 }, pos));
        }
    }
    changed
}

/// The guard `(len, n)` that holds on entry to block `s` when its only
/// predecessor ends in a fused `cmp len, imm` whose branch reaches `s` only
/// on the edge where `len >= n`.
fn entry_guard(
    f: &Func,
    preds: &[Vec<BlockId>],
    uses: &[u32],
    is_len: &[bool],
    s: BlockId,
) -> Option<(V, u64)> {
    let [p] = preds[s as usize][..] else {
        return None;
    };
    if s == 0 || p == s {
        return None;
    }
    let pb = &f.blocks[p as usize];
    let Term::Branch { cond, then, els } = pb.term else {
        return None;
    };
    if then == els {
        return None;
    }
    let (Inst::CmpImm { cc, dst, a, imm }, _) = *pb.insts.last()? else {
        return None;
    };
    // Fused with the branch (what the emitter does then): a 64-bit `cmp`
    // right before the `jcc`, as the verifier needs it.
    if dst != cond || uses[cond as usize] != 1 || !is_len[a as usize] {
        return None;
    }
    let imm = u64::try_from(imm).ok()?;
    // The condition on the edge into `s`.
    let cc = if s == then { cc } else { cc.invert() };
    let n = match cc {
        Cc::Ae => imm,
        Cc::A => imm.checked_add(1)?,
        _ => return None,
    };
    (n > 0).then_some((a, n))
}

/// The guards that hold at every instruction of block `b`: those on entry
/// to `b` and to each block above it through single edges, up to
/// [`MAX_CHAIN`] blocks, stopping at a block with a division or more than
/// one edge in. Empty when `b` itself holds a division.
fn guards_above(
    f: &Func,
    preds: &[Vec<BlockId>],
    guard: &[Option<(V, u64)>],
    b: BlockId,
) -> Vec<(V, u64, BlockId)> {
    let has_div = |x: BlockId| {
        f.blocks[x as usize]
            .insts
            .iter()
            .any(|(i, _)| matches!(i, Inst::Div { .. }))
    };
    let mut out = Vec::new();
    let mut cur = b;
    for _ in 0..MAX_CHAIN {
        if has_div(cur) {
            break;
        }
        if let Some((len, n)) = guard[cur as usize] {
            out.push((len, n, cur));
        }
        let [p] = preds[cur as usize][..] else {
            break;
        };
        let one_edge = f.blocks[p as usize]
            .term
            .successors()
            .iter()
            .filter(|&&s| s == cur)
            .count()
            == 1;
        if cur == 0 || p == cur || !one_edge {
            break;
        }
        cur = p;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::prove_constant_indexes;
    use crate::ir::{Check, Func};
    use crate::opt::test_support::optimised;

    /// The checks of the function's slice loads, in block order, after the
    /// pass: `true` for one it proved.
    fn proven(src: &str) -> Vec<bool> {
        let mut f: Func = optimised(src, "f");
        prove_constant_indexes(&mut f);
        f.blocks
            .iter()
            .flat_map(|b| b.insts.iter())
            .filter_map(|(i, _)| match i {
                crate::ir::Inst::Load { addr, .. } => addr.index.map(|x| x.check),
                _ => None,
            })
            .filter_map(|c| match c {
                Check::Proven => Some(true),
                Check::BelowLen(..) => Some(false),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn constant_indexes_below_the_tested_length_are_proven() {
        let src = "export fn f(s: []u8) -> u32 {
            if s.len < 4 { return 0; }
            return s[0] as u32 + s[3] as u32 + s[4] as u32;
        }";
        assert_eq!(proven(src), [true, true, false]);
    }

    #[test]
    fn the_edge_where_the_test_fails_proves_nothing() {
        let src = "export fn f(s: []u8) -> u32 {
            if s.len >= 4 { return 0; }
            return s[1] as u32;
        }";
        assert_eq!(proven(src), [false]);
    }

    #[test]
    fn greater_than_proves_one_more() {
        let src = "export fn f(s: []u8) -> u32 {
            if s.len > 4 { return s[4] as u32 + s[5] as u32; }
            return 0;
        }";
        assert_eq!(proven(src), [true, false]);
    }

    #[test]
    fn a_join_below_the_test_ends_the_proof() {
        let src = "export fn f(s: []u8, k: u32) -> u32 {
            if s.len < 4 { return 0; }
            var x: u32 = 1;
            if k == 3 { x = 2; }
            return s[1] as u32 + x;
        }";
        assert_eq!(proven(src), [false]);
    }

    #[test]
    fn another_slice_is_not_proved() {
        let src = "export fn f(a: []u8, b: []u8) -> u32 {
            if a.len < 4 { return 0; }
            return b[1] as u32;
        }";
        assert_eq!(proven(src), [false]);
    }
}
