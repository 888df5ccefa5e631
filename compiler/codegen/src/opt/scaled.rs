//! Bounds checks of scaled indexes, proved once per loop: a counted loop
//! `for i in 0..b.len` whose strength-reduced index `p = k*i` reads or
//! writes `a[p]`, `a[p + 1]`, … `a[p + k - 1]` (the grayscale loop:
//! `rgb[3*i]`, `+ 1`, `+ 2`) checks `p + c < a.len` on every trip, although
//! `k * b.len <= a.len` proves every one of them.
//!
//! When a test before the loop already says so (grayscale's `if out.len *
//! 3 != rgb.len { return … }`, on the edge where it does not return), the
//! loop loses those checks where it is. Otherwise one test on the way in
//! chooses between the loop as it was and a copy without them:
//!
//! ```text
//!   P: cmp i, n ; jae exit          P: cmp i, n ; jae exit
//!   H: q = p + c                    V: t = n * k ; cmp t, len_a ; ja H
//!      cmp q, len_a ; jae trap      P': p' = i * k
//!      [a + q] ...                  H: (the loop as it was)
//!   L: i = i + 1                    H': [a + p' + c*s] ...    (no check)
//!      p = p + k (32-bit)           L': i = i + 1
//!      cmp i, n ; jb H                  p' = p' + k (64-bit) ; cmp i, n ; jb H'
//! ```
//!
//! (In place, `V` is not needed: `P'` goes between `P` and `H`, and `H`, `L`
//! are rewritten as `H'`, `L'` are.)
//!
//! When it applies: a natural loop with no loop inside it, of at most
//! [`MAX_BLOCKS`] blocks and [`MAX_INSTS`] instructions, whose header `H`
//! has exactly one predecessor outside the loop, every predecessor of `H`
//! ending with `c = i <u n` and branching to `H` when `c` holds, `n` a
//! slice length: its one write a `SliceLen` outside the loop, in a block
//! that dominates `H`. Inside the loop `i` is written once, `i = i + 1`
//! (64-bit), and `p` once, `p = p + k` (`1 <= k <=` [`MAX_FACTOR`]), later
//! in the same block; outside it each is written once, by constants `ci`
//! and `cp = k * ci` in one block that dominates `H` (what strength
//! reduction leaves), and nothing outside the loop reads `p`. The accesses
//! are the slice reads and writes in `H`, before any write of `i` or `p`,
//! indexed by `p` or by `q = p + c` (`0 <= c < k`) with a check against a
//! slice length register (`Check::BelowLen`) written the same way as `n`,
//! of the access's element size. In place when, for each such length, some
//! block on the dominator chain of `P` is entered only from a branch on
//! `n * k <= len` (or `<`, `==`) taken the way where it holds, `len` that
//! length or the same slice's from the writable table (never more).
//!
//! Why the result computes the same: `p == k*i` (modulo 2^32 for a 32-bit
//! step, 2^64 for a 64-bit one) whenever control reaches `H`: the two
//! constants make it true, and each trip steps `i` by 1 and then `p` by
//! `k`, in one block, so it holds again at the end of that block (a trap
//! between the two steps ends the call). The rewritten loop is entered only
//! where `i < n` was just tested (from `P`, or from its own latch), and
//! `k*n <= len_a` holds there (tested by `V`, or before). Every length is
//! below 2^32 (a KPL `.len` is a `u32`, and the host hands in no slice of
//! 4 GiB or more: `book/src/runtime/sandbox.md`, section 7), so `t = n*k`
//! is exact in 64 bits and `k*i < k*n <= len_a < 2^32`: no multiple of `k*i`
//! wrapped, `p` holds `k*i` exactly, in 32 bits as in 64, and every index
//! `p + c <= k*i + k - 1 < k*n <= len_a` computes without wrapping and
//! passes its check. Dropping the checks changes nothing, and neither does
//! `P'` (it writes the value `p` holds) nor the 64-bit step (`p + k =
//! k*(i + 1) <= k*n < 2^32`: no 32-bit wrap to keep). The loop's `p` is a
//! register of its own in the result, and nothing after the loop reads it.
//! With a copy, the original loop runs unchanged when `V` fails, with its
//! traps.
//!
//! Why the verifier accepts it: the test gives it, in order, `t = k·n`
//! exactly (`imul` of a length, below 2^32), then on the edge where `t <=
//! len_a` the fact `table(a) >= k · table(b)`; `P'` gives `p = k·i` (`i` is
//! below a length there); the loop tests give `i < table(b)`; the step of
//! `i` gives `t' = i + 1`, and `p`'s 64-bit step `p' = k·t'`; and with those
//! the access `[a + p*s + c*s]` is inside `a` (`book/src/runtime/
//! sandbox.md`, "`x = k·y`"). The verifier carries the length relation in a
//! bounded table, so it can lose it in a long loop: the pipeline verifies
//! what it lays out and compiles a refused function again without this
//! pass (`crate::pipeline`, as for `opt::guards`).
//!
//! The pass runs once per function after `opt::version` (so it sees that
//! pass's copies too) and before `opt::bounds`, which then merges the checks
//! of an original loop only: the rewritten accesses are unchecked. A copy
//! goes after the original loop in the layout, so that the original `p`'s
//! register is not live across it.

use super::version::{CountedLoop, copy_loop, counted_loops};
use crate::analysis::{def_sites, dominates};
use crate::ir::*;

/// The largest loop copied, in blocks and in instructions.
const MAX_BLOCKS: usize = 16;
const MAX_INSTS: usize = 96;
/// Loops versioned per function at most (each analyses the function again;
/// see `opt::version`).
const MAX_VERSIONED: usize = 16;
/// The largest factor `k` (the verifier's bound on a scaled index's).
pub const MAX_FACTOR: i32 = 0xFFFF;

/// One versioned access: its position in the header and its offset `c`.
struct Access {
    at: usize,
    offset: u32,
}

/// What one loop's versioning needs.
struct Plan {
    lp: CountedLoop,
    p: V,
    k: i32,
    /// The latch block and the position of `p`'s step in it.
    step: (BlockId, usize),
    /// The distinct length registers the versioned accesses check against.
    lens: Vec<V>,
    accesses: Vec<Access>,
    /// A test before the loop already proves `k*n <= len` for each length:
    /// the loop is rewritten where it is, with no copy and no `V`.
    in_place: bool,
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
        done.push(plan.lp.header);
        before.get_or_insert_with(|| f.clone());
        apply(f, &plan);
    }
    before
}

fn inst_of(f: &Func, (b, k): (BlockId, usize)) -> &Inst {
    &f.blocks[b as usize].insts[k].0
}

fn find(f: &Func, done: &[BlockId]) -> Option<Plan> {
    let (loops, idom, preds) = counted_loops(f, done, MAX_BLOCKS, MAX_INSTS);
    if loops.is_empty() {
        return None;
    }
    let writes = def_sites(f);
    for lp in loops {
        let (h, entry, i, n) = (lp.header, lp.entry, lp.i, lp.n);
        // A copy: `lp` goes into the plan.
        let body = &lp.body.clone();
        // A register written once, before the loop (in a block that
        // dominates the header and is not in the loop), by a `SliceLen`:
        // its value is the same at the tests before the loop and in it.
        let length_before_loop = |v: V| {
            !f.params.contains(&v)
                && matches!(&writes[v as usize][..], [w]
                    if !body.contains(&w.0) && dominates(&idom, w.0, h)
                        && matches!(inst_of(f, *w), Inst::SliceLen { .. }))
        };
        if !length_before_loop(n) {
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
            let (accesses, lens) = versioned_accesses(f, &writes, &length_before_loop, h, i, p, k);
            if accesses.is_empty() {
                continue;
            }
            let in_place = lens
                .iter()
                .all(|&len| tested_before(f, &idom, &preds, &writes, entry, n, k, len));
            return Some(Plan {
                lp,
                p,
                k,
                step: (latch, kp),
                lens,
                accesses,
                in_place,
            });
        }
    }
    None
}

/// Whether `k*n <= len` holds whenever `entry` runs: some block on its
/// dominator chain (itself included) has one predecessor, which ends by
/// branching to it on the edge where `t <= len` holds, `t = n * k` (64-bit)
/// written once. (`n` and `len` are written once, before the loop.)
#[allow(clippy::too_many_arguments)]
fn tested_before(
    f: &Func,
    idom: &[Option<BlockId>],
    preds: &crate::analysis::Predecessors,
    writes: &[Vec<(BlockId, usize)>],
    entry: BlockId,
    n: V,
    k: i32,
    len: V,
) -> bool {
    let mut b = entry;
    // The chain is at most as long as there are blocks.
    for _ in 0..f.blocks.len() {
        if let [d] = preds[b as usize] {
            let block = &f.blocks[d as usize];
            if let (&Term::Branch { cond, then, els }, Some((last, _))) =
                (&block.term, block.insts.last())
                && then != els
                && let Inst::Cmp {
                    cc,
                    dst,
                    a: t,
                    b: l,
                } = *last
                && dst == cond
                && bounds_length(f, writes, l, len)
                && matches!(&writes[t as usize][..], [w]
                    if matches!(inst_of(f, *w), Inst::BinImm { op: Op::Mul, a, imm, .. }
                        if *a == n && *imm == k))
            {
                let holds = match cc {
                    Cc::Be | Cc::B | Cc::Eq => then == b,
                    Cc::A | Cc::Ae | Cc::Ne => els == b,
                    _ => false,
                };
                if holds {
                    return true;
                }
            }
        }
        match idom[b as usize] {
            Some(up) if up != b => b = up,
            _ => return false,
        }
    }
    false
}

/// Whether a test against `l` bounds `len`: the same register, or the
/// lengths of one slice with one element size, `l` from the writable table
/// (which holds the length or 0: never more than the other table).
fn bounds_length(f: &Func, writes: &[Vec<(BlockId, usize)>], l: V, len: V) -> bool {
    if l == len {
        return true;
    }
    let slice_len = |v: V| match &writes[v as usize][..] {
        [w] => match *inst_of(f, *w) {
            Inst::SliceLen {
                handle,
                writable,
                size,
                ..
            } => Some((handle, writable, size)),
            _ => None,
        },
        _ => None,
    };
    match (slice_len(l), slice_len(len)) {
        (Some((hl, wl, sl)), Some((h, _, s))) => hl == h && sl == s && wl,
        _ => false,
    }
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
/// `p + c` (`0 <= c < k`) with a check against a length register written
/// before the loop, and the distinct length registers they check against.
fn versioned_accesses(
    f: &Func,
    writes: &[Vec<(BlockId, usize)>],
    length_before_loop: &dyn Fn(V) -> bool,
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
            && length_before_loop(len)
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
    let pos = f.blocks[plan.lp.entry as usize].term_pos;
    if plan.in_place {
        // A test before the loop proves its accesses already: the loop
        // itself is rewritten, entered through `P'`.
        let p = rewrite(f, plan, &plan.lp.body, &|b| b);
        // A length only the dropped checks read is no longer loaded, and
        // the old `p`'s constant (nothing reads `p` now) not written.
        let uses = f.use_counts();
        for block in &mut f.blocks {
            block.insts.retain(|(inst, _)| match inst {
                Inst::SliceLen { dst, .. } if plan.lens.contains(dst) => uses[*dst as usize] > 0,
                Inst::Const { dst, .. } if *dst == plan.p => uses[*dst as usize] > 0,
                _ => true,
            });
        }
        let fast = push_block(
            f,
            vec![scaled_counter(plan, p)],
            Term::Jump(plan.lp.header),
            pos,
        );
        if let Term::Branch { then, .. } = &mut f.blocks[plan.lp.entry as usize].term {
            *then = fast;
        }
        let at = f
            .layout
            .iter()
            .position(|&b| b == plan.lp.header)
            .unwrap_or(f.layout.len());
        f.layout.insert(at, fast);
        return;
    }
    let copy = copy_loop(f, &plan.lp.body);
    let p = rewrite(f, plan, &plan.lp.body, &|b| copy.block(b));
    // `V`: `t = k*n`, then `t <= len` for each length (each test that fails
    // goes to the original loop), then `P'` into the copy.
    let first = f.blocks.len() as BlockId;
    let fast = first + plan.lens.len() as BlockId;
    let t = f.n_vregs;
    f.n_vregs += 1;
    for (j, &len) in plan.lens.iter().enumerate() {
        let c = f.n_vregs;
        f.n_vregs += 1;
        let mut insts = Vec::new();
        if j == 0 {
            insts.push(Inst::BinImm {
                op: Op::Mul,
                dst: t,
                a: plan.lp.n,
                imm: plan.k,
            });
        }
        insts.push(Inst::Cmp {
            cc: Cc::Be,
            dst: c,
            a: t,
            b: len,
        });
        let next = first + 1 + j as BlockId;
        push_block(
            f,
            insts,
            Term::Branch {
                cond: c,
                then: next,
                els: plan.lp.header,
            },
            pos,
        );
    }
    let h = copy.block(plan.lp.header);
    push_block(f, vec![scaled_counter(plan, p)], Term::Jump(h), pos);
    if let Term::Branch { then, .. } = &mut f.blocks[plan.lp.entry as usize].term {
        *then = first;
    }
    let chooser: Vec<BlockId> = (first..fast).collect();
    copy.lay_out_after(f, plan.lp.header, &chooser, &[fast]);
}

/// `p = i * k` in 64 bits: the value the loop's `p` holds on the way in.
fn scaled_counter(plan: &Plan, p: V) -> Inst {
    Inst::BinImm {
        op: Op::Mul,
        dst: p,
        a: plan.lp.i,
        imm: plan.k,
    }
}

/// Appends a block of `insts` (all at source position `pos`); its id.
fn push_block(f: &mut Func, insts: Vec<Inst>, term: Term, pos: u32) -> BlockId {
    f.blocks.push(Block {
        insts: insts.into_iter().map(|i| (i, pos)).collect(),
        term,
        term_pos: pos,
    });
    (f.blocks.len() - 1) as BlockId
}

/// Rewrites the loop's blocks `body` as found at `at(b)` (the loop itself,
/// or its copy): `p` becomes a register of its own, stepped in 64 bits,
/// and the versioned accesses are unchecked, indexed by it with `c*s` as
/// the displacement. Returns the new register. Index computations and
/// bounds probes (a load whose result nothing reads, there only for its
/// check) that nothing reads any more go.
///
/// A register of its own, because nothing after the loop reads `p`: in a
/// copy, its 64-bit writes then never reach the original loop, whose checks
/// `opt::bounds` still merges knowing `p` is a `u32`.
fn rewrite(
    f: &mut Func,
    plan: &Plan,
    body: &std::collections::BTreeSet<BlockId>,
    at: &dyn Fn(BlockId) -> BlockId,
) -> V {
    let p = f.n_vregs;
    f.n_vregs += 1;
    for &b in body {
        for (inst, _) in &mut f.blocks[at(b) as usize].insts {
            let mut swap = |r: &mut V| {
                if *r == plan.p {
                    *r = p;
                }
            };
            inst.map_uses(&mut swap);
            inst.map_def(&mut swap);
        }
    }
    let h = at(plan.lp.header);
    let mut dropped: Vec<V> = Vec::new();
    for a in &plan.accesses {
        if let Some(addr) = f.blocks[h as usize].insts[a.at].0.addr_mut()
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
    let uses = f.use_counts();
    let mut k = 0usize;
    f.blocks[h as usize].insts.retain(|(inst, _)| {
        let versioned = plan.accesses.iter().any(|a| a.at == k);
        k += 1;
        let unread = |d: V| uses[d as usize] == 0;
        match inst {
            Inst::Load { dst, .. } if versioned => !unread(*dst),
            _ => !matches!(inst.def(), Some(d) if dropped.contains(&d) && unread(d)),
        }
    });
    let (latch, kp) = plan.step;
    if let Inst::BinImm { op, .. } = &mut f.blocks[at(latch) as usize].insts[kp].0 {
        *op = Op::Add;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::test_support::{check_counts, optimised};

    /// Slice accesses by their check: (length-checked, proven).
    fn checks(f: &Func) -> (usize, usize) {
        check_counts(f, |inst| {
            matches!(inst, Inst::Load { addr, .. } | Inst::Store { addr, .. }
                if matches!(addr.base, Base::Slice(_) | Base::SlicePtr(_)))
        })
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

    /// Tests `t <= len` before a loop.
    fn length_tests(f: &Func) -> usize {
        f.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|(i, _)| matches!(i, Inst::Cmp { cc: Cc::Be, .. }))
            .count()
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
        // One test before the copy: `3*n <= a.len`.
        assert_eq!(length_tests(&f), 1);
        // Once is all: neither loop qualifies again.
        assert!(version_scaled_loops(&mut f).is_none());
    }

    #[test]
    fn a_test_before_the_loop_lets_it_lose_its_checks_in_place() {
        let src = "
            export fn f(a: []u8, out: []mut u32) -> u32 {
                if (out.len as u64) * 3 TEST a.len as u64 {
                    return 1;
                }
                for i in 0..out.len {
                    out[i] = a[3 * i] as u32 + a[3 * i + 1] as u32 + a[3 * i + 2] as u32;
                }
                return 0;
            }
        ";
        for test in ["!=", ">"] {
            let mut f = optimised(&src.replace("TEST", test), "f");
            let blocks = f.blocks.len();
            assert!(version_scaled_loops(&mut f).is_some(), "{test}");
            // No copy, no test added: the one loop, all four proven.
            assert_eq!(checks(&f), (0, 4), "{test}");
            assert_eq!(f.blocks.len(), blocks + 1, "{test}: only `P'`");
        }
        // The test the wrong way round (the loop runs when `3*n > a.len`),
        // or with another factor: a copy, as without a test.
        for test in ["==", "<"] {
            let mut f = optimised(&src.replace("TEST", test), "f");
            assert!(version_scaled_loops(&mut f).is_some(), "{test}");
            assert_eq!(checks(&f), (3, 5), "{test}");
        }
        let mut f = optimised(&src.replace("TEST", "!=").replace("* 3 ", "* 4 "), "f");
        assert!(version_scaled_loops(&mut f).is_some());
        assert_eq!(checks(&f), (3, 5));
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
