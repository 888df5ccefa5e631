//! Analyses shared by the IR passes, computed on demand from a function and
//! never cached in it: how often and where each register is written, the blocks in
//! reverse postorder and in layout order, predecessors, immediate
//! dominators and natural loops.
//! Analyses only read the IR; the passes in `opt` and the back end use them,
//! and this module uses nothing but `ir`.

use std::collections::{BTreeSet, HashMap};

use crate::ir::*;

/// How many times each virtual register is written (parameters count once).
pub fn def_counts(f: &Func) -> Vec<u32> {
    let mut defs = vec![0u32; f.n_vregs as usize];
    for &p in &f.params {
        defs[p as usize] += 1;
    }
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Some(d) = inst.def() {
                defs[d as usize] += 1;
            }
        }
    }
    defs
}

/// Every write of each register: (block, index of the instruction).
pub fn def_sites(f: &Func) -> Vec<Vec<(BlockId, usize)>> {
    let mut writes: Vec<Vec<(BlockId, usize)>> = vec![Vec::new(); f.n_vregs as usize];
    for (bi, b) in f.blocks.iter().enumerate() {
        for (k, (inst, _)) in b.insts.iter().enumerate() {
            if let Some(d) = inst.def() {
                writes[d as usize].push((bi as BlockId, k));
            }
        }
    }
    writes
}

/// Blocks reachable from the entry in reverse postorder.
pub fn reverse_postorder(f: &Func) -> Vec<BlockId> {
    let n = f.blocks.len();
    let mut seen = vec![false; n];
    let mut post = Vec::with_capacity(n);
    // Iterative DFS: (block, next successor index).
    let mut stack: Vec<(BlockId, usize)> = vec![(0, 0)];
    seen[0] = true;
    while let Some(&mut (b, ref mut i)) = stack.last_mut() {
        let succ = f.blocks[b as usize].term.successors();
        if let Some(&s) = succ.get(*i) {
            *i += 1;
            if !seen[s as usize] {
                seen[s as usize] = true;
                stack.push((s, 0));
            }
        } else {
            post.push(b);
            stack.pop();
        }
    }
    post.reverse();
    post
}

/// Blocks reachable from the entry, in layout order (`Func::layout`):
/// the order the back end emits them in.
pub fn reachable_order(f: &Func) -> Vec<u32> {
    let n = f.blocks.len();
    let mut seen = vec![false; n];
    let mut stack = vec![0u32];
    while let Some(b) = stack.pop() {
        if std::mem::replace(&mut seen[b as usize], true) {
            continue;
        }
        stack.extend(f.blocks[b as usize].term.successors());
    }
    let mut order: Vec<u32> = f
        .layout
        .iter()
        .copied()
        .filter(|b| seen[*b as usize])
        .collect();
    // Any reachable block missing from the layout goes last (never
    // expected). `seen` is cleared as the layout takes each block, so that
    // this costs one pass, not a search of the order per block.
    for &b in &order {
        seen[b as usize] = false;
    }
    for b in 0..n as u32 {
        if seen[b as usize] {
            order.push(b);
        }
    }
    order
}

/// Immediate dominators (Cooper, Harvey and Kennedy); `None` for blocks not
/// reachable from the entry, `Some(0)` for the entry itself.
pub fn dominators(f: &Func, rpo: &[BlockId]) -> Vec<Option<BlockId>> {
    let n = f.blocks.len();
    let mut order = vec![usize::MAX; n];
    for (i, &b) in rpo.iter().enumerate() {
        order[b as usize] = i;
    }
    let preds = predecessors(f);
    let mut idom: Vec<Option<BlockId>> = vec![None; n];
    idom[0] = Some(0);
    let intersect = |idom: &[Option<BlockId>], mut a: BlockId, mut b: BlockId| {
        while a != b {
            while order[a as usize] > order[b as usize] {
                a = idom[a as usize].unwrap_or(0);
            }
            while order[b as usize] > order[a as usize] {
                b = idom[b as usize].unwrap_or(0);
            }
        }
        a
    };
    let mut changed = true;
    while changed {
        changed = false;
        for &b in rpo.iter().skip(1) {
            let mut new: Option<BlockId> = None;
            for &p in &preds[b as usize] {
                if idom[p as usize].is_none() {
                    continue;
                }
                new = Some(match new {
                    None => p,
                    Some(cur) => intersect(&idom, p, cur),
                });
            }
            if new.is_some() && idom[b as usize] != new {
                idom[b as usize] = new;
                changed = true;
            }
        }
    }
    idom
}

/// The distinct predecessors of every block, each block's in increasing
/// order: `preds[b]` is a slice. All lists share one buffer (two
/// allocations per function, not one per block).
pub struct Predecessors {
    /// Block `b`'s list is `list[start[b]..start[b + 1]]`.
    start: Vec<u32>,
    list: Vec<BlockId>,
}

impl std::ops::Index<usize> for Predecessors {
    type Output = [BlockId];
    fn index(&self, b: usize) -> &[BlockId] {
        &self.list[self.start[b] as usize..self.start[b + 1] as usize]
    }
}

impl Predecessors {
    /// The number of blocks.
    pub fn len(&self) -> usize {
        self.start.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A branch whose two targets are one block is one edge.
fn distinct(s: &[BlockId]) -> &[BlockId] {
    match s {
        [x, y] if x == y => &s[..1],
        _ => s,
    }
}

/// The distinct predecessors of every block.
pub fn predecessors(f: &Func) -> Predecessors {
    let n = f.blocks.len();
    let mut start = vec![0u32; n + 1];
    for b in &f.blocks {
        let s = b.term.successors();
        for &t in distinct(&s) {
            start[t as usize + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut list = vec![0; start[n] as usize];
    for (i, b) in f.blocks.iter().enumerate() {
        let s = b.term.successors();
        for &t in distinct(&s) {
            list[fill[t as usize] as usize] = i as BlockId;
            fill[t as usize] += 1;
        }
    }
    Predecessors { start, list }
}

/// Whether `a` dominates `b` (given the immediate dominators).
pub fn dominates(idom: &[Option<BlockId>], a: BlockId, mut b: BlockId) -> bool {
    loop {
        if a == b {
            return true;
        }
        match idom[b as usize] {
            Some(p) if p != b => b = p,
            _ => return false,
        }
    }
}

/// The dominator tree numbered by a depth-first walk, so that whether one
/// block dominates another is two comparisons ([`DomTree::dominates`])
/// instead of a walk up the tree: in a chain of `n` `if`s the tree is `n`
/// deep, and asking once per edge made [`natural_loops`] quadratic.
pub struct DomTree {
    /// When the walk entered and left each block's subtree.
    enter: Vec<u32>,
    leave: Vec<u32>,
}

impl DomTree {
    /// The tree of `idom` (a block whose entry is `None` or itself is a
    /// root), walked without recursion.
    pub fn new(idom: &[Option<BlockId>]) -> DomTree {
        let n = idom.len();
        let mut children: Vec<Vec<BlockId>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (b, d) in idom.iter().enumerate() {
            match *d {
                Some(p) if p as usize != b => children[p as usize].push(b as BlockId),
                _ => roots.push(b as BlockId),
            }
        }
        let (mut enter, mut leave) = (vec![0u32; n], vec![0u32; n]);
        let mut clock = 0u32;
        let mut stack: Vec<(BlockId, usize)> = Vec::new();
        for root in roots {
            enter[root as usize] = clock;
            clock += 1;
            stack.push((root, 0));
            while let Some((b, next)) = stack.last_mut() {
                if let Some(&c) = children[*b as usize].get(*next) {
                    *next += 1;
                    enter[c as usize] = clock;
                    clock += 1;
                    stack.push((c, 0));
                } else {
                    leave[*b as usize] = clock;
                    clock += 1;
                    stack.pop();
                }
            }
        }
        DomTree { enter, leave }
    }

    /// Whether `a` dominates `b`: the same answer as [`dominates`].
    pub fn dominates(&self, a: BlockId, b: BlockId) -> bool {
        let (a, b) = (a as usize, b as usize);
        self.enter[a] <= self.enter[b] && self.leave[b] <= self.leave[a]
    }
}

/// Natural loops: header and body (header included), one per header.
pub fn natural_loops(f: &Func, idom: &[Option<BlockId>]) -> Vec<(BlockId, BTreeSet<BlockId>)> {
    let preds = predecessors(f);
    let tree = DomTree::new(idom);
    let mut loops: Vec<(BlockId, BTreeSet<BlockId>)> = Vec::new();
    // Where each header's loop is in `loops` (a search of `loops` per back
    // edge was quadratic in a function of many loops).
    let mut index_of: HashMap<BlockId, usize> = HashMap::new();
    for (b, block) in f.blocks.iter().enumerate() {
        let b = b as BlockId;
        if idom[b as usize].is_none() {
            continue;
        }
        for h in block.term.successors() {
            if !tree.dominates(h, b) {
                continue;
            }
            let mut body = BTreeSet::from([h]);
            let mut work = vec![b];
            while let Some(x) = work.pop() {
                if body.insert(x) {
                    work.extend(preds[x as usize].iter().copied());
                }
            }
            match index_of.get(&h) {
                Some(&i) => loops[i].1.extend(body),
                None => {
                    index_of.insert(h, loops.len());
                    loops.push((h, body));
                }
            }
        }
    }
    loops
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `DomTree::dominates` answers as the walk up the tree does, on every
    /// pair of blocks of a forest with a chain, branching, a self-rooted
    /// entry and blocks with no dominator.
    #[test]
    fn dom_tree_agrees_with_the_walk() {
        let idom: Vec<Option<BlockId>> = vec![
            Some(0),
            Some(0),
            Some(1),
            Some(1),
            Some(3),
            None,
            Some(5),
            Some(4),
            None,
            Some(2),
        ];
        let tree = DomTree::new(&idom);
        for a in 0..idom.len() as BlockId {
            for b in 0..idom.len() as BlockId {
                assert_eq!(tree.dominates(a, b), dominates(&idom, a, b), "{a} {b}");
            }
        }
    }

    #[test]
    fn predecessors_are_distinct_and_in_block_order() {
        let branch = |then, els| Term::Branch { cond: 0, then, els };
        // b0 → b2 twice (one edge), b1 → b2 and b3, b3 → b1 (a loop),
        // b2 returns; b4 (unreachable) → b1.
        let f = Func::for_test(
            vec![
                Block::for_test(vec![], branch(2, 2)),
                Block::for_test(vec![], branch(3, 2)),
                Block::for_test(vec![], Term::Ret(None)),
                Block::for_test(vec![], Term::Jump(1)),
                Block::for_test(vec![], Term::Jump(1)),
            ],
            1,
            false,
        );
        let preds = predecessors(&f);
        assert_eq!(preds.len(), 5);
        let lists: Vec<&[BlockId]> = (0..5).map(|b| &preds[b]).collect();
        assert_eq!(lists, [&[][..], &[3, 4], &[0, 1], &[1], &[]]);
        assert_eq!(&*f.blocks[0].term.successors(), &[2, 2]);
        assert_eq!(
            f.blocks[3]
                .term
                .successors()
                .into_iter()
                .collect::<Vec<_>>(),
            [1]
        );
        assert!(f.blocks[2].term.successors().is_empty());
    }
}
