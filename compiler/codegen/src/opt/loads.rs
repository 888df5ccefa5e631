//! Redundant loads: a load of the same address as an earlier one on the
//! same straight path, with nothing in between that may write memory,
//! becomes a copy of the earlier result.
//!
//! ```text
//! B:  x = load [a]          ; the packet filter's `pkt[0] >> 4`
//!     ...                   ; no store, atomic or call
//! S:  y = load [a]          ; `pkt[0] & 0x0F`  →  y = copy x
//! ```
//!
//! When it applies: both loads read the same [`Addr`] (the same base
//! register, the same index register or the same constant index, the same
//! scale, displacement and check apart from its trap site) with the same
//! [`Scalar`] type; every register involved (the results, the base, the
//! index unless it is a constant, the length a check compares with) has
//! one definition; and the later load is in the same block as the earlier
//! one, or in a block reached from it through blocks with one edge in (an
//! extended basic block), with no [`Inst::Store`], [`Inst::Atomic`],
//! [`Inst::Call`] or [`Inst::CallImport`] on the way.
//!
//! Why the result is the same: with one definition, each register holds
//! the same value at both loads (the later one is reached from the earlier
//! one without passing its definition again, since the path has no join),
//! so both read the same bytes; the plugin wrote nothing in between. The
//! earlier access passed its check (or it would have trapped), and the
//! later one's check compares the same index with the same bound, so it
//! would pass too. Another CPU may write a static (or the host a buffer)
//! between the two reads; reading once is one of the interleavings the
//! memory model already allows (`book/src/reference/atomics.md`: a plain
//! load, and `atomic_load`, is one `mov`, and nothing orders the two reads
//! against another CPU's writes but what the plugin itself does between
//! them, which here is nothing).

use std::collections::HashMap;

use crate::analysis::{def_counts, predecessors, reverse_postorder};
use crate::ir::{Addr, Base, Check, Func, Inst, Scalar, V};

/// How an index is named in a key: a register, or the constant it holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum IndexKey {
    Reg(V),
    Const(i64),
}

/// What a check compares with, without its trap site.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum CheckKey {
    Below(u64),
    SliceLen,
    BelowLen(V),
    Proven,
    Combined,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum BaseKey {
    Stack(u32),
    Static(u32),
    Rodata(u32),
    Slice(V),
    SlicePtr(V),
}

type Key = (BaseKey, Option<(IndexKey, u8, CheckKey)>, u32, (u8, bool));

/// Replaces loads that repeat an earlier one on the same straight path by
/// copies (see the module docs). Returns whether anything changed.
pub fn merge_loads(f: &mut Func) -> bool {
    let defs = def_counts(f);
    let mut consts: Vec<Option<i64>> = vec![None; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::Const { dst, value } = *inst
                && defs[dst as usize] == 1
            {
                consts[dst as usize] = Some(value);
            }
        }
    }
    let one = |v: V| defs.get(v as usize) == Some(&1);
    let key = |addr: &Addr, ty: Scalar| -> Option<Key> {
        let base = match addr.base {
            Base::Stack(o) => BaseKey::Stack(o),
            Base::Static(o) => BaseKey::Static(o),
            Base::Rodata(o) => BaseKey::Rodata(o),
            Base::Slice(v) if one(v) => BaseKey::Slice(v),
            Base::SlicePtr(v) if one(v) => BaseKey::SlicePtr(v),
            Base::Slice(_) | Base::SlicePtr(_) => return None,
        };
        let index = match addr.index {
            None => None,
            Some(i) => {
                let v = match consts[i.v as usize] {
                    Some(c) => IndexKey::Const(c),
                    None if one(i.v) => IndexKey::Reg(i.v),
                    None => return None,
                };
                let check = match i.check {
                    Check::Below(limit, _) => CheckKey::Below(limit),
                    Check::SliceLen(_) => CheckKey::SliceLen,
                    Check::BelowLen(len, _) if one(len) => CheckKey::BelowLen(len),
                    Check::BelowLen(..) => return None,
                    Check::Proven => CheckKey::Proven,
                    Check::Combined => CheckKey::Combined,
                };
                Some((v, i.scale, check))
            }
        };
        Some((base, index, addr.disp, (ty.size, ty.signed)))
    };
    let preds = predecessors(f);
    let rpo = reverse_postorder(f);
    // The extended basic blocks as a forest: a block inherits from the one
    // edge in, from a block before it in reverse postorder (a back edge's
    // source is not: such a block starts empty).
    let mut position = vec![usize::MAX; f.blocks.len()];
    for (i, &b) in rpo.iter().enumerate() {
        position[b as usize] = i;
    }
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); f.blocks.len()];
    let mut roots = Vec::new();
    for &b in &rpo {
        match preds[b as usize][..] {
            [p] if b != 0
                && position[p as usize] < position[b as usize]
                && f.blocks[p as usize]
                    .term
                    .successors()
                    .iter()
                    .filter(|&&s| s == b)
                    .count()
                    == 1 =>
            {
                children[p as usize].push(b)
            }
            _ => roots.push(b),
        }
    }
    // Walked depth first with one table of the loads available and an
    // undo log (a copy of the table per block was quadratic in memory: a
    // chain of 4,000 `if … { return …; }` each followed by a load held
    // 3.3 GB of copies).
    let mut available = Available::default();
    let mut changed = false;
    let mut stack: Vec<(u32, Option<(usize, usize)>)> =
        roots.iter().rev().map(|&b| (b, None)).collect();
    while let Some((b, mark)) = stack.pop() {
        if let Some(mark) = mark {
            available.leave(mark);
            continue;
        }
        stack.push((b, Some(available.mark())));
        stack.extend(children[b as usize].iter().rev().map(|&c| (c, None)));
        for (inst, _) in &mut f.blocks[b as usize].insts {
            match inst {
                Inst::Store { .. }
                | Inst::Atomic { .. }
                | Inst::Call { .. }
                | Inst::CallImport { .. } => available.clear(),
                Inst::Load { dst, addr, ty } => {
                    let dst = *dst;
                    let Some(k) = key(addr, *ty).filter(|_| one(dst)) else {
                        continue;
                    };
                    match available.get(&k) {
                        Some(earlier) => {
                            *inst = Inst::Copy { dst, src: earlier };
                            changed = true;
                        }
                        None => available.insert(k, dst),
                    }
                }
                _ => {}
            }
        }
    }
    drop_probes(f) || changed
}

/// The loads available on the path of extended basic blocks being walked:
/// each entry with the sequence number of its insertion, and the numbers
/// at which the path cleared the table (a store, atomic or call), so that
/// a clear costs one push and an entry from before the last clear is not
/// available. What a block inserted or cleared is undone when the walk
/// leaves it.
#[derive(Default)]
struct Available {
    loads: HashMap<Key, (V, u64)>,
    undo: Vec<(Key, Option<(V, u64)>)>,
    clears: Vec<u64>,
    seq: u64,
}

impl Available {
    fn get(&self, k: &Key) -> Option<V> {
        let since = self.clears.last().copied().unwrap_or(0);
        self.loads
            .get(k)
            .filter(|&&(_, at)| at > since)
            .map(|&(v, _)| v)
    }

    fn insert(&mut self, k: Key, v: V) {
        self.seq += 1;
        let old = self.loads.insert(k, (v, self.seq));
        self.undo.push((k, old));
    }

    fn clear(&mut self) {
        self.seq += 1;
        self.clears.push(self.seq);
    }

    /// Where the undo log and the clears stand, to come back to.
    fn mark(&self) -> (usize, usize) {
        (self.undo.len(), self.clears.len())
    }

    /// Undoes everything since `mark`, latest first.
    fn leave(&mut self, (undo, clears): (usize, usize)) {
        while self.undo.len() > undo {
            let Some((k, old)) = self.undo.pop() else {
                break;
            };
            match old {
                Some(entry) => self.loads.insert(k, entry),
                None => self.loads.remove(&k),
            };
        }
        self.clears.truncate(clears);
    }
}

/// Removes a bounds probe (a load whose result nothing reads, left by the
/// lowering to check a place before the right-hand side is evaluated)
/// when the very next instruction accesses the same index with the same
/// check and trap site: it traps in exactly the same case, at the same
/// site, with nothing run in between. Returns whether anything changed.
fn drop_probes(f: &mut Func) -> bool {
    let uses = f.use_counts();
    let mut changed = false;
    for b in &mut f.blocks {
        let mut k = 0;
        while k + 1 < b.insts.len() {
            let probe = match &b.insts[k].0 {
                Inst::Load { dst, addr, .. } if uses[*dst as usize] == 0 => addr.index,
                _ => None,
            };
            let next = match &b.insts[k + 1].0 {
                Inst::Load { addr, .. } | Inst::Store { addr, .. } => addr.index,
                _ => None,
            };
            match (probe, next) {
                (Some(p), Some(n))
                    if p.v == n.v
                        && p.check == n.check
                        && !matches!(p.check, Check::Proven | Check::Combined) =>
                {
                    b.insts.remove(k);
                    changed = true;
                }
                _ => k += 1,
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use crate::ir::{Func, Inst};
    use crate::opt::test_support::optimised;

    fn loads(f: &Func) -> usize {
        f.blocks
            .iter()
            .flat_map(|b| b.insts.iter())
            .filter(|(i, _)| matches!(i, Inst::Load { .. }))
            .count()
    }

    #[test]
    fn a_repeated_read_on_a_straight_path_is_read_once() {
        let f = optimised(
            "export fn f(s: []u8) -> u32 {
                 if s[0] >> 4 != 4 { return 0; }
                 return (s[0] & 15) as u32 + s[1] as u32;
             }",
            "f",
        );
        assert_eq!(loads(&f), 2, "{f}");
    }

    #[test]
    fn a_store_in_between_keeps_both_reads() {
        let f = optimised(
            "static n: u32 = 0;
             export fn f(s: []mut u8) -> u32 {
                 let a = n;
                 s[0] = 1;
                 let b = n;
                 n = a + 1;
                 return a + b + n;
             }",
            "f",
        );
        // `a`, `b` and the last `n` (after the store to `n`).
        let statics = f
            .blocks
            .iter()
            .flat_map(|b| b.insts.iter())
            .filter(|(i, _)| {
                matches!(i, Inst::Load { addr, .. } if matches!(addr.base, crate::ir::Base::Static(_)))
            })
            .count();
        assert_eq!(statics, 3, "{f}");
    }

    #[test]
    fn a_join_in_between_keeps_both_reads() {
        let f = optimised(
            "static n: u32 = 0;
             export fn f(k: u32) -> u32 {
                 var a: u32 = n;
                 if k == 3 { a = 7; }
                 return a + n;
             }",
            "f",
        );
        assert_eq!(loads(&f), 2, "{f}");
    }

    #[test]
    fn a_probe_right_before_the_same_checked_store_goes() {
        let f = optimised(
            "static a: [u16; 16] = [0; 16];
             export fn f(i: u32, v: u32) {
                 a[i] = v as u16;
             }",
            "f",
        );
        assert_eq!(loads(&f), 0, "{f}");
    }

    #[test]
    fn a_probe_before_a_call_stays() {
        let f = optimised(
            "static a: [u16; 16] = [0; 16];
             fn g(v: u32) -> u32 { return v * 3; }
             export fn f(i: u32, v: u32) {
                 a[i] = g(v) as u16;
             }",
            "f",
        );
        assert_eq!(loads(&f), 1, "{f}");
    }

    #[test]
    fn different_indexes_are_different_reads() {
        let f = optimised(
            "export fn f(s: []u8, i: u32) -> u32 {
                 return s[i] as u32 + s[i + 1] as u32 + s[i] as u32;
             }",
            "f",
        );
        assert_eq!(loads(&f), 2, "{f}");
    }
}
