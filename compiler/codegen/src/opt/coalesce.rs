//! A value computed only to be copied into a variable is computed into the
//! variable, last of the passes, right before register allocation:
//!
//! ```text
//!   t = s + x ; s = t            (before: add r10d, esi ; mov rsi, r10)
//!   s = s + x                    (after:  add esi, r10d)
//! ```
//!
//! Why: the lowering evaluates an assignment's right-hand side into a fresh
//! register and then copies it into the variable (`s += a[i]`, `i = i + 1`
//! and every other assignment to a `var`), because the variable may be read
//! by the expression. The allocator does not coalesce copies, so each such
//! assignment cost a `mov` and kept two registers live, in the innermost
//! loops too.
//!
//! When: the copy `v = t` comes right after the instruction that writes
//! `t`, and `t` is written once and read once (by the copy) and is not a
//! parameter. Renaming that write to `v` and dropping the copy changes no
//! value anywhere: nothing runs between the two, so nothing could have
//! read `v`'s old value after the write or `t` before the copy; the
//! instruction reads its operands before it writes (the emitter computes
//! into a scratch register whenever the destination's register is an
//! operand's, as it must already when the allocator gives both one
//! register). It runs after every optimisation because those passes
//! propagate facts only through registers written once: the variable is
//! written many times, the temporary once.

use crate::analysis::def_counts;
use crate::ir::{Func, Inst};

/// Folds every such copy into the write before it; whether one changed.
pub fn coalesce_copies(f: &mut Func) -> bool {
    let defs = def_counts(f);
    let uses = f.use_counts();
    let mut is_param = vec![false; f.n_vregs as usize];
    for &p in &f.params {
        is_param[p as usize] = true;
    }
    let mut changed = false;
    for b in &mut f.blocks {
        let mut copy_gone = vec![false; b.insts.len()];
        for i in 1..b.insts.len() {
            if let Inst::Copy { dst: v, src: t } = b.insts[i].0
                && v != t
                && !copy_gone[i - 1]
                && b.insts[i - 1].0.def() == Some(t)
                && defs[t as usize] == 1
                && uses[t as usize] == 1
                && !is_param[t as usize]
            {
                b.insts[i - 1].0.map_def(&mut |d| *d = v);
                copy_gone[i] = true;
                changed = true;
            }
        }
        let mut gone = copy_gone.into_iter();
        b.insts.retain(|_| !gone.next().unwrap_or(false));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Block, Op, Term};

    fn add(dst: u32, a: u32, b: u32) -> Inst {
        Inst::Bin {
            op: Op::Add32,
            dst,
            a,
            b,
        }
    }

    fn run(insts: Vec<Inst>, term: Term) -> (bool, Vec<Inst>) {
        let mut f = Func::for_test(vec![Block::for_test(insts, term)], 5, true);
        let changed = coalesce_copies(&mut f);
        (
            changed,
            f.blocks[0].insts.iter().map(|(i, _)| i.clone()).collect(),
        )
    }

    #[test]
    fn an_assignment_is_computed_into_its_variable() {
        // s (1) = s + x (0), through t (2).
        let (changed, insts) = run(
            vec![
                Inst::Const { dst: 1, value: 5 },
                add(2, 1, 0),
                Inst::Copy { dst: 1, src: 2 },
            ],
            Term::Ret(Some(1)),
        );
        assert!(changed);
        assert_eq!(insts, vec![Inst::Const { dst: 1, value: 5 }, add(1, 1, 0)]);
    }

    #[test]
    fn other_shapes_are_left_alone() {
        let cases: Vec<(&str, Vec<Inst>, Term)> = vec![
            (
                "the temporary read again",
                vec![add(2, 1, 0), Inst::Copy { dst: 1, src: 2 }],
                Term::Ret(Some(2)),
            ),
            (
                "an instruction between the write and the copy",
                vec![
                    add(2, 1, 0),
                    Inst::Const { dst: 3, value: 1 },
                    Inst::Copy { dst: 1, src: 2 },
                ],
                Term::Ret(Some(1)),
            ),
            (
                "the temporary written twice",
                vec![
                    add(2, 1, 0),
                    Inst::Copy { dst: 1, src: 2 },
                    Inst::Const { dst: 2, value: 0 },
                ],
                Term::Ret(Some(1)),
            ),
            (
                "a parameter copied",
                vec![add(0, 1, 1), Inst::Copy { dst: 1, src: 0 }],
                Term::Ret(Some(1)),
            ),
        ];
        for (name, insts, term) in cases {
            let before = insts.clone();
            let (changed, after) = run(insts, term);
            assert!(!changed, "{name}");
            assert_eq!(after, before, "{name}");
        }
    }
}
