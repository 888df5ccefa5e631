//! Loop versioning for scaled indexes: a counted loop `for i in 0..b.len`
//! whose strength-reduced index `p = k*i` reads `a[p]`, `a[p + 1]`, …
//! `a[p + k - 1]` (the grayscale loop: `rgb[3*i]`, `+ 1`, `+ 2`) checks
//! `p + c < a.len` on every trip, although one comparison before the loop,
//! `k * b.len <= a.len`, proves every one of them. That comparison now
//! chooses between the loop as it was and a copy without those checks:
//!
//! ```text
//!   P: cmp i, n ; jae exit          P: cmp i, n ; jae exit
//!   H: q = p + c                    V: cmp n, 2^31 - 1 ; jae H
//!      cmp q, len_a ; jae trap         t = n * k ; cmp t, 2^31 - 1 ; jae H
//!                                      cmp t, len_a ; ja H
//!      [a + q] ...                     p = i * k
//!   L: i = i + 1                    H': [a + p + c] ...      (no check)
//!      p = p + k (32-bit)           L': i = i + 1
//!      cmp i, n ; jb H                  p = p + k (64-bit) ; cmp i, n ; jb H'
//!                                   H: (the loop as it was)
//! ```
//!
//! When it applies: a natural loop with no loop inside it, of at most
//! [`MAX_BLOCKS`] blocks and [`MAX_INSTS`] instructions, whose header `H`
//! has exactly one predecessor outside the loop, every predecessor of `H`
//! ending with `c = i <u n` and branching to `H` when `c` holds, `n` a
//! slice length (its one definition a `SliceLen`) the loop never writes.
//! Inside the loop `i` is written once, `i = i + 1` (64-bit), and `p` once,
//! `p = p + k` (`1 <= k <=` [`MAX_FACTOR`]), later in the same block; outside
//! it each is written once, by constants `ci` and `cp = k * ci` in one block
//! that dominates `H` (what strength reduction leaves). The accesses
//! versioned are the slice reads and writes in `H`, before any write of `i`
//! or `p`, indexed by `p` or by `q = p + c` (`0 <= c < k`) with a check
//! against a slice length register (`Check::BelowLen`).
//!
//! Why the copy computes the same: `p == k*i` (modulo 2^32 for a 32-bit
//! step, 2^64 for a 64-bit one) whenever control reaches `H`: the two
//! constants make it true, and each trip steps `i` by 1 and then `p` by
//! `k`, in one block, so it holds again at the end of that block (a trap
//! between the two steps ends the call). The copy is entered only where
//! `i < n` was just tested (from `P` through `V`, or from a copied latch),
//! and `V` proved `n < 2^31 - 1` (so `t = k*n` is exact in 64 bits),
//! `k*n < 2^31 - 1` and `k*n <= len_a`. Then `k*i < k*n < 2^31`: no
//! multiple of `k*i` wrapped, so `p` holds `k*i` exactly, in 32 bits as in
//! 64, and every versioned index `p + c <= k*i + k - 1 < k*n <= len_a`
//! computes without wrapping and passes its check. Dropping the checks
//! changes nothing, and so does the copy's `p = i * k` (the value `p`
//! holds) and its 64-bit step (`p + k = k*(i + 1) <= k*n < 2^31`: no 32-bit
//! wrap to keep). The original loop runs unchanged when `V` fails, with its
//! traps. (The bound on `k*n` does not rely on a slice length being below
//! 2^32, which the host does not promise.)
//!
//! Why the verifier accepts the copy: `V` and the copy give it, in order,
//! `n < 2^31 - 1`, `t = k·n` exactly (`imul` of a value below 2^32), then on
//! the edge where `t <= len_a` the fact `table(a) >= k · table(b)`;
//! `p = k·i` from the `imul` (`i` is narrow there, from its constant);
//! `i < table(b)` from the loop tests; `t' = i + 1` from the step, and
//! `p' = k·t'` from `p`'s 64-bit step; and with those the access
//! `[a + p*s + c*s]` is inside `a` (`book/src/runtime/sandbox.md`,
//! "`x = k·y`"). The verifier carries the length relation in a bounded
//! table, so it can lose it in a long loop: the pipeline verifies every
//! function this pass changed and compiles a refused one again without it
//! (`crate::pipeline`, as for `opt::guards`).
//!
//! The pass runs once per function after `opt::version` (so it sees that
//! pass's copies too) and before `opt::bounds`, which then merges the checks
//! of the original loop only: the copy's accesses are unchecked.

use std::collections::HashSet;

use super::version::{copy_loop, tested_below};
use crate::analysis::{dominates, dominators, natural_loops, predecessors, reverse_postorder};
use crate::ir::*;

/// The largest loop copied, in blocks and in instructions.
const MAX_BLOCKS: usize = 16;
const MAX_INSTS: usize = 96;
/// Loops versioned per function at most (each analyses the function again;
/// see `opt::version`).
const MAX_VERSIONED: usize = 16;
/// The largest factor `k` (the verifier's bound on a scaled index's).
pub const MAX_FACTOR: i32 = 0xFFFF;
/// `V` sends lengths of at least this many elements to the original loop,
/// so that `k * n` is exact in 64 bits for the verifier too.
const MAX_COUNT: i32 = 0x7FFF_FFFF;

/// One versioned access: its position in the header and its offset `c`.
struct Access {
    at: usize,
    offset: u32,
}

/// What one loop's versioning needs.
struct Plan {
    header: BlockId,
    body: Vec<BlockId>,
    entry: BlockId,
    i: V,
    n: V,
    p: V,
    k: i32,
    /// The latch block and the position of `p`'s step in it.
    step: (BlockId, usize),
    /// The distinct length registers the versioned accesses check against.
    lens: Vec<V>,
    accesses: Vec<Access>,
}

/// Versions every loop that qualifies (see the module docs). Returns the
/// function as it was when anything changed: the pipeline goes back to it
/// if the verifier refuses the result.
pub fn version_scaled_loops(f: &mut Func) -> Option<Func> {
    let mut done: Vec<BlockId> = Vec::new();
    let mut before = None;
    while done.len() < MAX_VERSIONED
        && let Some(plan) = find(f, &done)
    {
        done.push(plan.header);
        before.get_or_insert_with(|| f.clone());
        apply(f, &plan);
    }
    before
}

/// Every write of each register: (block, index).
fn writes(f: &Func) -> Vec<Vec<(BlockId, usize)>> {
    let mut w: Vec<Vec<(BlockId, usize)>> = vec![Vec::new(); f.n_vregs as usize];
    for (bi, b) in f.blocks.iter().enumerate() {
        for (k, (inst, _)) in b.insts.iter().enumerate() {
            if let Some(d) = inst.def() {
                w[d as usize].push((bi as BlockId, k));
            }
        }
    }
    w
}

fn inst_of(f: &Func, (b, k): (BlockId, usize)) -> &Inst {
    &f.blocks[b as usize].insts[k].0
}

fn find(f: &Func, done: &[BlockId]) -> Option<Plan> {
    let rpo = reverse_postorder(f);
    let idom = dominators(f, &rpo);
    let loops = natural_loops(f, &idom);
    if loops.is_empty() {
        return None;
    }
    let preds = predecessors(f);
    let headers: HashSet<BlockId> = loops.iter().map(|(h, _)| *h).collect();
    let writes = writes(f);
    for (h, body) in &loops {
        let h = *h;
        if done.contains(&h)
            || body.len() > MAX_BLOCKS
            || body.iter().any(|o| *o != h && headers.contains(o))
            || body
                .iter()
                .map(|&b| f.blocks[b as usize].insts.len())
                .sum::<usize>()
                > MAX_INSTS
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
        // `n` a slice length, defined once (outside: the loop tests it).
        if f.params.contains(&n)
            || !matches!(&writes[n as usize][..], [w] if matches!(inst_of(f, *w), Inst::SliceLen { .. }))
            || body.contains(&writes[n as usize][0].0)
        {
            continue;
        }
        // `i`: one write inside, `i = i + 1`, and one outside.
        let inside = |v: V| -> Vec<(BlockId, usize)> {
            writes[v as usize]
                .iter()
                .copied()
                .filter(|(b, _)| body.contains(b))
                .collect()
        };
        let [(latch, ki)] = inside(i)[..] else {
            continue;
        };
        if !matches!(inst_of(f, (latch, ki)), Inst::BinImm { op: Op::Add, dst, a, imm: 1 } if *dst == i && *a == i)
        {
            continue;
        }
        // `p`: stepped once, after `i` in the latch.
        let latch_insts = &f.blocks[latch as usize].insts;
        for (kp, (step, _)) in latch_insts.iter().enumerate().skip(ki + 1) {
            let Inst::BinImm {
                op: Op::Add | Op::Add32,
                dst: p,
                a,
                imm: k,
            } = *step
            else {
                continue;
            };
            if a != p || p == i || !(1..=MAX_FACTOR).contains(&k) || inside(p).len() != 1 {
                continue;
            }
            if f.params.contains(&p) || f.params.contains(&i) || read_outside(f, body, p) {
                continue;
            }
            if !paired_constants(
                f,
                &writes,
                &idom,
                body,
                h,
                i,
                p,
                k,
                matches!(step, Inst::BinImm { op: Op::Add32, .. }),
            ) {
                continue;
            }
            let (accesses, lens) = versioned_accesses(f, &writes, h, i, p, k);
            if accesses.is_empty() {
                continue;
            }
            return Some(Plan {
                header: h,
                body: body.iter().copied().collect(),
                entry,
                i,
                n,
                p,
                k,
                step: (latch, kp),
                lens,
                accesses,
            });
        }
    }
    None
}

/// Whether a block outside the loop reads `v`.
fn read_outside(f: &Func, body: &std::collections::BTreeSet<BlockId>, v: V) -> bool {
    f.blocks.iter().enumerate().any(|(b, block)| {
        !body.contains(&(b as BlockId))
            && (block.insts.iter().any(|(inst, _)| {
                let mut read = false;
                inst.each_use(|u| read |= u == v);
                read
            }) || matches!(block.term, Term::Branch { cond: r, .. } | Term::Ret(Some(r)) if r == v))
    })
}

/// Whether `i` and `p` are each written once outside the loop, by constants
/// `ci` and `cp` in one block that dominates the header, with `cp = k*ci`
/// (in 32 bits when `p` steps in 32).
#[allow(clippy::too_many_arguments)]
fn paired_constants(
    f: &Func,
    writes: &[Vec<(BlockId, usize)>],
    idom: &[Option<BlockId>],
    body: &std::collections::BTreeSet<BlockId>,
    h: BlockId,
    i: V,
    p: V,
    k: i32,
    step32: bool,
) -> bool {
    let outside = |v: V| -> Vec<(BlockId, usize)> {
        writes[v as usize]
            .iter()
            .copied()
            .filter(|(b, _)| !body.contains(b))
            .collect()
    };
    let (&[wi], &[wp]) = (&outside(i)[..], &outside(p)[..]) else {
        return false;
    };
    if wi.0 != wp.0 || !dominates(idom, wi.0, h) {
        return false;
    }
    let (Inst::Const { value: ci, .. }, Inst::Const { value: cp, .. }) =
        (inst_of(f, wi), inst_of(f, wp))
    else {
        return false;
    };
    let want = ci.wrapping_mul(i64::from(k));
    let want = if step32 { want as u32 as i64 } else { want };
    *cp == want
}

/// The accesses of the header, before any write of `i` or `p`, indexed by
/// `p + c` (`0 <= c < k`) with a length-register check, and the distinct
/// length registers they check against.
fn versioned_accesses(
    f: &Func,
    writes: &[Vec<(BlockId, usize)>],
    h: BlockId,
    i: V,
    p: V,
    k: i32,
) -> (Vec<Access>, Vec<V>) {
    let mut accesses = Vec::new();
    let mut lens: Vec<V> = Vec::new();
    let insts = &f.blocks[h as usize].insts;
    for (at, (inst, _)) in insts.iter().enumerate() {
        if let Inst::Load { addr, .. } | Inst::Store { addr, .. } = inst
            && matches!(addr.base, Base::Slice(_) | Base::SlicePtr(_))
            && addr.disp == 0
            && let Some(Index {
                v: q,
                scale,
                check: Check::BelowLen(len, _),
            }) = addr.index
            && matches!(&writes[len as usize][..], [w] if matches!(inst_of(f, *w), Inst::SliceLen { size, .. } if *size == scale))
            && let Some(c) = offset_from(f, writes, h, at, p, q)
            && c < k
            && let Some(offset) = u32::try_from(c).ok()
        {
            accesses.push(Access { at, offset });
            if !lens.contains(&len) {
                lens.push(len);
            }
        }
        if matches!(inst.def(), Some(d) if d == i || d == p) {
            break;
        }
    }
    (accesses, lens)
}

/// `c` when `q` is `p` (0) or `q = p + c` (`c >= 0`), written once, earlier
/// in the header than position `at`.
fn offset_from(
    f: &Func,
    writes: &[Vec<(BlockId, usize)>],
    h: BlockId,
    at: usize,
    p: V,
    q: V,
) -> Option<i32> {
    if q == p {
        return Some(0);
    }
    let &[(b, k)] = &writes[q as usize][..] else {
        return None;
    };
    if b != h || k >= at {
        return None;
    }
    match *inst_of(f, (b, k)) {
        Inst::BinImm {
            op: Op::Add | Op::Add32,
            a,
            imm,
            ..
        } if a == p && imm >= 0 => Some(imm),
        _ => None,
    }
}

fn apply(f: &mut Func, plan: &Plan) {
    let before = f.n_vregs;
    let copy = copy_loop(f, &plan.body);
    let h = copy.block(plan.header);
    // The copy's `p` is a register of its own (nothing after the loop reads
    // `p`): its 64-bit writes then never reach the original loop, whose
    // checks `opt::bounds` still merges knowing `p` is a `u32`.
    let p = f.n_vregs;
    f.n_vregs += 1;
    for &b in &plan.body {
        for (inst, _) in &mut f.blocks[copy.block(b) as usize].insts {
            inst.map_uses(&mut |r| {
                if *r == plan.p {
                    *r = p;
                }
            });
            inst.map_def(&mut |r| {
                if *r == plan.p {
                    *r = p;
                }
            });
        }
    }
    // The copy's accesses: unchecked, indexed by `p` with `c*s` as the
    // displacement. Their index registers, if nothing else reads them,
    // are no longer computed.
    let mut dropped: Vec<V> = Vec::new();
    {
        let block = &mut f.blocks[h as usize];
        for a in &plan.accesses {
            if let Some(addr) = block.insts[a.at].0.addr_mut()
                && let Some(index) = &mut addr.index
            {
                if index.v != p {
                    dropped.push(index.v);
                }
                addr.disp = a.offset * u32::from(index.scale);
                index.v = p;
                index.check = Check::Proven;
            }
        }
    }
    let mut uses = vec![0u32; f.n_vregs as usize];
    for &b in &plan.body {
        for (inst, _) in &f.blocks[copy.block(b) as usize].insts {
            inst.each_use(|v| uses[v as usize] += 1);
        }
        if let Term::Branch { cond: v, .. } | Term::Ret(Some(v)) =
            f.blocks[copy.block(b) as usize].term
        {
            uses[v as usize] += 1;
        }
    }
    // A register the copy renamed is read nowhere else. Besides the
    // index computations, the lowering's bounds probes (a load whose result
    // nothing reads, there only for its check) go: unchecked, they do
    // nothing.
    let renamed = |v: V| v >= before;
    let block = &mut f.blocks[h as usize];
    let mut at = 0usize;
    block.insts.retain(|(inst, _)| {
        let versioned = plan.accesses.iter().any(|a| a.at == at);
        at += 1;
        let unread = |d: V| uses[d as usize] == 0 && renamed(d);
        match inst {
            Inst::Load { dst, .. } if versioned => !unread(*dst),
            _ => !matches!(inst.def(), Some(d) if dropped.contains(&d) && unread(d)),
        }
    });
    // The copy's step of `p`, in 64 bits.
    let (latch, kp) = plan.step;
    if let Inst::BinImm { op, .. } = &mut f.blocks[copy.block(latch) as usize].insts[kp].0 {
        *op = Op::Add;
    }
    // `V`: `n < 2^31 - 1`; `t = k*n < 2^31 - 1`; `t <= len` for each
    // length; then `P'`. Each test that fails goes to the original loop.
    let pos = f.blocks[plan.entry as usize].term_pos;
    let first = f.blocks.len() as BlockId;
    let fast = first + 2 + plan.lens.len() as BlockId;
    let t = f.n_vregs;
    f.n_vregs += 1;
    let mut tests: Vec<Vec<Inst>> = vec![
        vec![Inst::CmpImm {
            cc: Cc::B,
            dst: 0,
            a: plan.n,
            imm: MAX_COUNT,
        }],
        vec![
            Inst::BinImm {
                op: Op::Mul,
                dst: t,
                a: plan.n,
                imm: plan.k,
            },
            Inst::CmpImm {
                cc: Cc::B,
                dst: 0,
                a: t,
                imm: MAX_COUNT,
            },
        ],
    ];
    for &len in &plan.lens {
        tests.push(vec![Inst::Cmp {
            cc: Cc::Be,
            dst: 0,
            a: t,
            b: len,
        }]);
    }
    for (j, mut insts) in tests.into_iter().enumerate() {
        // Each block's last instruction is its test: it gets a register.
        let c = f.n_vregs;
        f.n_vregs += 1;
        if let Some(last) = insts.last_mut() {
            last.map_def(&mut |d| *d = c);
        }
        f.blocks.push(Block {
            insts: insts.into_iter().map(|i| (i, pos)).collect(),
            term: Term::Branch {
                cond: c,
                then: first + 1 + j as BlockId,
                els: plan.header,
            },
            term_pos: pos,
        });
    }
    f.blocks.push(Block {
        insts: vec![(
            Inst::BinImm {
                op: Op::Mul,
                dst: p,
                a: plan.i,
                imm: plan.k,
            },
            pos,
        )],
        term: Term::Jump(h),
        term_pos: pos,
    });
    if let Term::Branch { then, .. } = &mut f.blocks[plan.entry as usize].term {
        *then = first;
    }
    let chooser: Vec<BlockId> = (first..fast).collect();
    copy.lay_out_after(f, plan.header, &chooser, &[fast]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::test_support::optimised;

    /// Slice accesses by their check: (length-checked, proven).
    fn checks(f: &Func) -> (usize, usize) {
        let mut checked = 0;
        let mut proven = 0;
        for b in &f.blocks {
            for (inst, _) in &b.insts {
                if let Inst::Load { addr, .. } | Inst::Store { addr, .. } = inst
                    && matches!(addr.base, Base::Slice(_) | Base::SlicePtr(_))
                {
                    match addr.index.map(|i| i.check) {
                        Some(Check::BelowLen(..)) => checked += 1,
                        Some(Check::Proven) => proven += 1,
                        _ => {}
                    }
                }
            }
        }
        (checked, proven)
    }

    const TRIPLES: &str = "
        export fn f(a: []u8, out: []mut u32) {
            for i in START..out.len {
                let p = K * i;
                out[i] = a[p] as u32 + a[p + 1] as u32 + a[p + LAST] as u32;
            }
        }
    ";

    fn triples(start: &str, k: &str, last: &str) -> Func {
        let src = TRIPLES
            .replace("START", start)
            .replace("K", k)
            .replace("LAST", last);
        optimised(&src, "f")
    }

    #[test]
    fn a_scaled_loop_gets_an_unchecked_copy_once() {
        let mut f = triples("0", "3", "2");
        // Three checked reads; the write `out[i]` is proven by the loop.
        assert_eq!(checks(&f), (3, 1));
        let before = f.clone();
        let kept = version_scaled_loops(&mut f).expect("versioned");
        assert_eq!(kept, before);
        // The loop as it was, and the copy with all four proven; the copy's
        // index additions are gone.
        assert_eq!(checks(&f), (3, 5));
        // The three tests before the copy: `n`, `3*n` and `3*n <= a.len`.
        let tests = f
            .blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|(i, _)| {
                matches!(
                    i,
                    Inst::CmpImm { imm: MAX_COUNT, .. } | Inst::Cmp { cc: Cc::Be, .. }
                )
            })
            .count();
        assert_eq!(tests, 3);
        // Once is all: neither loop qualifies again.
        assert!(version_scaled_loops(&mut f).is_none());
    }

    #[test]
    fn a_counter_from_a_constant_qualifies() {
        let mut f = triples("1", "3", "2");
        assert!(version_scaled_loops(&mut f).is_some());
    }

    #[test]
    fn offsets_past_the_factor_and_other_shapes_are_left_alone() {
        // `a[3*i + 3]` is not below `3*n`: that read keeps its check, the
        // others are versioned.
        let mut f = triples("0", "3", "3");
        assert!(version_scaled_loops(&mut f).is_some());
        assert_eq!(checks(&f), (4, 4));
        // A bound that is no slice length.
        let src = "
            export fn f(a: []u8, out: []mut u32, n: u32) {
                for i in 0..n {
                    out[0] = a[2 * i] as u32 + a[2 * i + 1] as u32;
                }
            }
        ";
        assert!(version_scaled_loops(&mut optimised(src, "f")).is_none());
        // The scaled index is read after the loop.
        let src = "
            export fn f(a: []u8, out: []mut u32) -> u32 {
                var p: u32 = 0;
                for i in 0..out.len {
                    p = 2 * i;
                    out[i] = a[p] as u32;
                }
                return p;
            }
        ";
        assert!(version_scaled_loops(&mut optimised(src, "f")).is_none());
        // The counter steps by 2.
        let src = "
            export fn f(a: []u8, out: []mut u32) {
                var i: u32 = 0;
                while i < out.len {
                    out[i] = a[3 * i] as u32;
                    i += 2;
                }
            }
        ";
        assert!(version_scaled_loops(&mut optimised(src, "f")).is_none());
    }
}
