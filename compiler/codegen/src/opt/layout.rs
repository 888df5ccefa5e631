//! Block layout, last before register allocation: tiny return blocks (a
//! `ret` of nothing or of a constant) leave the straight line, and a jump to
//! one that would not fall through becomes a copy of it.
//!
//! ```text
//!   cmp rsi, 20 ; jae L ; xor eax, eax ; ret ; L: ...     (before)
//!   cmp rsi, 20 ; jb R ; ...             R: xor eax, eax ; ret
//!   ... ; jb loop ; jmp R                                 (before)
//!   ... ; jb loop ; xor eax, eax ; ret
//! ```
//!
//! Why: the emitter falls through to the next block in the layout and
//! branches to the other side. With the returns laid out where the lowering
//! put them (right after the test that leads to them), every test the code
//! passes on its way through (`if pkt.len < 20 { return DROP; }`, and each
//! iteration of a search loop that returns on a match) is a taken branch
//! over the return. Moving the returns to the end of the function makes
//! the way on fall through and the early exits the taken branches, which
//! is the static guess a compiler without a profile makes (Ball and Larus'
//! return heuristic: a branch to a block that returns is predicted not
//! taken). A jump to a return that is not the next block is replaced by
//! the return itself (`mov eax, imm; ret` instead of `jmp` to it), and a
//! branch whose two sides are both elsewhere gets a copy of its return side
//! as the block right after it, so it needs one `jcc` instead of `jcc` +
//! `jmp`.
//!
//! Only the order of blocks and copies of returns change, so what the
//! function computes does not. The copies define a fresh register (the
//! return value's constant), so every register keeps its definitions. A
//! return block moved to the end has no successors, so no loop gains or
//! loses a block and no back edge changes; the entry block stays first.

use crate::analysis::reachable_order;
use crate::ir::{Block, BlockId, Func, Inst, Term, V};

/// A block that is only a return of nothing or of a constant: the constant
/// (with the register it is loaded into) when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tiny {
    Void,
    Const(V, i64),
}

fn tiny(f: &Func, b: BlockId) -> Option<Tiny> {
    let block = &f.blocks[b as usize];
    match (block.insts.as_slice(), &block.term) {
        ([], Term::Ret(None)) => Some(Tiny::Void),
        ([(Inst::Const { dst, value }, _)], Term::Ret(Some(r))) if dst == r => {
            Some(Tiny::Const(*dst, *value))
        }
        _ => None,
    }
}

/// A fresh copy of the tiny return block `b`, its constant in a new register.
fn copy_of(f: &mut Func, b: BlockId) -> Block {
    let block = f.blocks[b as usize].clone();
    match tiny(f, b) {
        Some(Tiny::Const(_, value)) => {
            let dst = f.n_vregs;
            f.n_vregs += 1;
            Block {
                insts: vec![(Inst::Const { dst, value }, block.insts[0].1)],
                term: Term::Ret(Some(dst)),
                term_pos: block.term_pos,
            }
        }
        _ => block,
    }
}

/// Lays out `f` (see the module docs). Returns whether anything changed.
pub fn place_returns(f: &mut Func) -> bool {
    let before = (f.layout.clone(), f.blocks.len());
    let order = reachable_order(f);
    let (rets, mut rest): (Vec<BlockId>, Vec<BlockId>) =
        order.iter().partition(|&&b| b != 0 && tiny(f, b).is_some());
    rest.extend(&rets);
    let mut layout = Vec::with_capacity(rest.len());
    for (pos, &b) in rest.iter().enumerate() {
        layout.push(b);
        let next = rest.get(pos + 1).copied();
        match f.blocks[b as usize].term {
            Term::Jump(t) if Some(t) != next && tiny(f, t).is_some() => {
                let copy = copy_of(f, t);
                let block = &mut f.blocks[b as usize];
                block.insts.extend(copy.insts);
                block.term = copy.term;
                block.term_pos = copy.term_pos;
            }
            Term::Branch { cond, then, els } if Some(then) != next && Some(els) != next => {
                // The side that becomes the next block: the return.
                let (side, other) = if tiny(f, els).is_some() {
                    (els, then)
                } else if tiny(f, then).is_some() {
                    (then, els)
                } else {
                    continue;
                };
                let copy = copy_of(f, side);
                let new = f.blocks.len() as BlockId;
                f.blocks.push(copy);
                f.blocks[b as usize].term = if side == els {
                    Term::Branch {
                        cond,
                        then: other,
                        els: new,
                    }
                } else {
                    Term::Branch {
                        cond,
                        then: new,
                        els: other,
                    }
                };
                layout.push(new);
            }
            _ => {}
        }
    }
    // Blocks no path reaches keep a place at the end (the register
    // allocator drops them).
    let mut laid_out = vec![false; f.blocks.len()];
    for &b in &layout {
        laid_out[b as usize] = true;
    }
    for b in 0..f.blocks.len() as BlockId {
        if !laid_out[b as usize] {
            layout.push(b);
        }
    }
    f.layout = layout;
    (f.layout.clone(), f.blocks.len()) != before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Block, Cc};

    /// `if p < 20 { return 0 } loop { if p == k { return 1 } } return 0`
    /// in the lowering's shape: each return right after its test.
    fn search() -> Func {
        let cmp = |dst, imm| Inst::CmpImm {
            cc: Cc::B,
            dst,
            a: 0,
            imm,
        };
        Func::for_test(
            vec![
                Block::for_test(
                    vec![cmp(1, 20)],
                    Term::Branch {
                        cond: 1,
                        then: 1,
                        els: 2,
                    },
                ),
                Block::for_test(vec![Inst::Const { dst: 2, value: 0 }], Term::Ret(Some(2))),
                Block::for_test(
                    vec![cmp(3, 30)],
                    Term::Branch {
                        cond: 3,
                        then: 3,
                        els: 4,
                    },
                ),
                Block::for_test(vec![Inst::Const { dst: 4, value: 1 }], Term::Ret(Some(4))),
                Block::for_test(
                    vec![Inst::Budget { site: 0 }, cmp(5, 40)],
                    Term::Branch {
                        cond: 5,
                        then: 2,
                        els: 5,
                    },
                ),
                Block::for_test(vec![], Term::Jump(6)),
                Block::for_test(vec![Inst::Const { dst: 6, value: 0 }], Term::Ret(Some(6))),
            ],
            7,
            true,
        )
    }

    #[test]
    fn returns_leave_the_straight_line() {
        let mut f = search();
        assert!(place_returns(&mut f));
        // The tests and the loop first, then the returns; block 5's jump to
        // the return that no longer follows it is the return itself.
        assert_eq!(f.layout, vec![0, 2, 4, 5, 1, 3, 6]);
        assert_eq!(
            f.blocks[5].insts,
            vec![(Inst::Const { dst: 7, value: 0 }, 0)]
        );
        assert_eq!(f.blocks[5].term, Term::Ret(Some(7)));
        assert_eq!(f.n_vregs, 8);
        // Laid out again, nothing moves.
        assert!(!place_returns(&mut f));
    }

    #[test]
    fn a_branch_with_both_sides_elsewhere_gets_its_return_as_the_next_block() {
        let mut f = search();
        // The loop's exit test now leaves for a return directly.
        f.blocks[4].term = Term::Branch {
            cond: 5,
            then: 2,
            els: 6,
        };
        f.blocks[5] = Block::for_test(vec![], Term::Ret(None));
        assert!(place_returns(&mut f));
        // Block 7 is the copy of block 6, right after the branch.
        assert_eq!(f.layout, vec![0, 2, 4, 7, 1, 3, 6, 5]);
        assert_eq!(
            f.blocks[4].term,
            Term::Branch {
                cond: 5,
                then: 2,
                els: 7
            }
        );
        assert_eq!(
            f.blocks[7].insts,
            vec![(Inst::Const { dst: 7, value: 0 }, 0)]
        );
        assert_eq!(f.blocks[7].term, Term::Ret(Some(7)));
    }
}
