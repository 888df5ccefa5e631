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

/// Immediate dominators; `None` for blocks not reachable from the entry,
/// `Some(0)` for the entry itself.
///
/// Lengauer and Tarjan's algorithm with path compression, `O(e log n)` on
/// any graph. Cooper, Harvey and Kennedy's iteration, used before, is
/// quadratic when one block joins many predecessors that sit deep in a
/// chain of branches (a loop of `n` `if … { break; }` ran `n²/2` steps up
/// the tree for its exit), and every loop pass asks for the dominators.
/// Everything is numbered by a depth-first preorder from the entry; the
/// walks are loops over explicit stacks, never recursion.
pub fn dominators(f: &Func) -> Vec<Option<BlockId>> {
    const NONE: u32 = u32::MAX;
    let n = f.blocks.len();
    let preds = predecessors(f);
    // Preorder number of each block (NONE: unreachable), the block of each
    // number, and each number's parent in the spanning tree.
    let mut number = vec![NONE; n];
    let mut block_of: Vec<BlockId> = Vec::with_capacity(n);
    let mut parent: Vec<u32> = Vec::with_capacity(n);
    let mut stack: Vec<(BlockId, usize)> = vec![(0, 0)];
    number[0] = 0;
    block_of.push(0);
    parent.push(NONE);
    while let Some(&mut (b, ref mut next)) = stack.last_mut() {
        let succ = f.blocks[b as usize].term.successors();
        if let Some(&s) = succ.get(*next) {
            *next += 1;
            if number[s as usize] == NONE {
                number[s as usize] = block_of.len() as u32;
                parent.push(number[b as usize]);
                block_of.push(s);
                stack.push((s, 0));
            }
        } else {
            stack.pop();
        }
    }
    let count = block_of.len();
    // All in preorder numbers: the semidominator, the forest's links
    // (`ancestor`, NONE for a root) and the vertex of least semidominator on
    // the compressed path (`label`).
    let mut semi: Vec<u32> = (0..count as u32).collect();
    let mut label: Vec<u32> = (0..count as u32).collect();
    let mut ancestor = vec![NONE; count];
    let mut idom = vec![0u32; count];
    // The vertices whose semidominator is each vertex, as linked lists.
    let mut bucket_head = vec![NONE; count];
    let mut bucket_next = vec![NONE; count];
    let mut path: Vec<u32> = Vec::new();
    // The vertex of least semidominator between `v` and its forest root
    // (exclusive), compressing the path on the way.
    let mut eval = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
        if ancestor[v as usize] == NONE {
            return v;
        }
        let mut u = v;
        while ancestor[ancestor[u as usize] as usize] != NONE {
            path.push(u);
            u = ancestor[u as usize];
        }
        while let Some(x) = path.pop() {
            let a = ancestor[x as usize] as usize;
            if semi[label[a] as usize] < semi[label[x as usize] as usize] {
                label[x as usize] = label[a];
            }
            ancestor[x as usize] = ancestor[a];
        }
        label[v as usize]
    };
    for w in (1..count).rev() {
        for &p in &preds[block_of[w] as usize] {
            let v = number[p as usize];
            if v == NONE {
                continue;
            }
            let u = eval(v, &mut ancestor, &mut label, &semi);
            if semi[u as usize] < semi[w] {
                semi[w] = semi[u as usize];
            }
        }
        let s = semi[w] as usize;
        bucket_next[w] = bucket_head[s];
        bucket_head[s] = w as u32;
        let pw = parent[w];
        ancestor[w] = pw;
        let mut v = std::mem::replace(&mut bucket_head[pw as usize], NONE);
        while v != NONE {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            idom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                pw
            };
            v = bucket_next[v as usize];
        }
    }
    for w in 1..count {
        if idom[w] != semi[w] {
            idom[w] = idom[idom[w] as usize];
        }
    }
    let mut result: Vec<Option<BlockId>> = vec![None; n];
    result[0] = Some(0);
    for w in 1..count {
        result[block_of[w] as usize] = Some(block_of[idom[w] as usize]);
    }
    result
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

    /// Whether `b` is reachable from the entry without passing `a`.
    fn reachable_avoiding(f: &Func, a: Option<BlockId>, b: BlockId) -> bool {
        let mut seen = vec![false; f.blocks.len()];
        let mut work = vec![0 as BlockId];
        while let Some(x) = work.pop() {
            if Some(x) == a || std::mem::replace(&mut seen[x as usize], true) {
                continue;
            }
            work.extend(f.blocks[x as usize].term.successors());
        }
        seen[b as usize]
    }

    /// The dominators of 3,000 random graphs of up to 14 blocks (loops,
    /// self-loops, irreducible cycles, unreachable blocks, both targets of a
    /// branch one block) are those of the definition: `a` dominates a
    /// reachable `b` when no path from the entry reaches `b` avoiding `a`.
    #[test]
    fn dominators_are_those_of_the_definition() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        for _ in 0..3000 {
            let n = 1 + next(14) as usize;
            let blocks = (0..n)
                .map(|_| {
                    let term = match next(5) {
                        0 => Term::Ret(None),
                        1 | 2 => Term::Jump(next(n as u64) as BlockId),
                        _ => Term::Branch {
                            cond: 0,
                            then: next(n as u64) as BlockId,
                            els: next(n as u64) as BlockId,
                        },
                    };
                    Block::for_test(vec![], term)
                })
                .collect();
            let f = Func::for_test(blocks, 1, false);
            let idom = dominators(&f);
            for b in 0..n as BlockId {
                let reachable = reachable_avoiding(&f, None, b);
                assert_eq!(idom[b as usize].is_some(), reachable, "{f}");
                if !reachable {
                    continue;
                }
                for a in 0..n as BlockId {
                    let by_definition = a == b || !reachable_avoiding(&f, Some(a), b);
                    assert_eq!(dominates(&idom, a, b), by_definition, "{a} {b} {f}");
                }
            }
        }
    }

    /// A loop of `n` `if … { break; }` (every exit deep in a chain of
    /// branches, all joining after the loop): the exit's dominator is the
    /// first test, and each other test's is the one before it.
    #[test]
    fn a_chain_of_exits_has_the_header_as_the_exit_dominator() {
        let n = 2000u32;
        // b0 → b1 (header); test i is block 2 + i, branching to the exit
        // (block 2 + n) or the next test; the last test loops back.
        let branch = |then, els| Term::Branch { cond: 0, then, els };
        let exit = 2 + n;
        let mut blocks = vec![
            Block::for_test(vec![], Term::Jump(1)),
            Block::for_test(vec![], Term::Jump(2)),
        ];
        for i in 0..n {
            let next = if i + 1 == n { 1 } else { 3 + i };
            blocks.push(Block::for_test(vec![], branch(exit, next)));
        }
        blocks.push(Block::for_test(vec![], Term::Ret(None)));
        let f = Func::for_test(blocks, 1, false);
        let idom = dominators(&f);
        assert_eq!(idom[exit as usize], Some(2));
        assert_eq!(idom[2], Some(1));
        for i in 1..n {
            assert_eq!(idom[2 + i as usize], Some(1 + i), "test {i}");
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
