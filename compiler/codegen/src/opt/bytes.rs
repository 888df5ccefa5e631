//! A byte store of `x >> 8` becomes a store of `x`'s second byte, last of
//! all passes, right before register allocation:
//!
//! ```text
//!   t = x >> 8 ; store8 [m], t          (before: shr t, 8 ; mov [m], t_l)
//!   store8 [m], second_byte(x)          (after: mov eax, x ; movzx eax, ah ;
//!                                        mov [m], al)
//! ```
//!
//! Why: `(… ) >> 8) as u8` is how fixed-point code ends (grayscale's
//! `(77 * r + 150 * g + 29 * b) >> 8`) and how a 16-bit field is written
//! out big-endian. AMD's Zen cores run shifts on two of their four integer
//! ports, one of them the only port with a multiplier: with three multiplies
//! and that shift per pixel, the grayscale loop took 5 cycles a pixel where
//! its multiplies need 3. `movzx eax, ah` runs on any port; the two moves
//! around it cost no port at all (register renaming). Intel's cores are
//! the other way round (`movzx r32, ah` competes with the multiplies, the
//! shift does not), so [`crate::opt::finish`] runs this pass only when the
//! tuning asks for it ([`crate::tune::Tune`]).
//!
//! When: `t` has one write, `x >> 8` (logical or arithmetic: bits 8–15 of
//! `x` either way), and one read, the store, in the same block; `x` is not
//! written between the two. The store then reads `x` where the shift read
//! it, with the same value, and the shift goes (its only reader is gone).
//! Every pass that reads a store's value runs earlier, so none has to know
//! the flag ([`crate::ir::Inst::Store`]); the emitter and the allocator see
//! `x` as the store's source, which is what they need.

use crate::analysis::def_counts;
use crate::ir::{Func, Inst, Op};

/// Rewrites every such store; whether one changed.
pub fn store_second_bytes(f: &mut Func) -> bool {
    let defs = def_counts(f);
    let uses = f.use_counts();
    // Per register: (block, position) of its last write seen so far.
    let mut last = vec![(usize::MAX, 0usize); f.n_vregs as usize];
    let mut changed = false;
    for (bi, b) in f.blocks.iter_mut().enumerate() {
        let mut shift_gone = vec![false; b.insts.len()];
        for j in 0..b.insts.len() {
            if let Inst::Store {
                src,
                ty,
                second_byte: false,
                ..
            } = b.insts[j].0
                && ty.size == 1
                && defs[src as usize] == 1
                && uses[src as usize] == 1
                && let (lb, i) = last[src as usize]
                && lb == bi
                && let Inst::BinImm {
                    op: Op::Shr | Op::Sar,
                    a,
                    imm: 8,
                    ..
                } = b.insts[i].0
                && a != src
                && (last[a as usize].0 != bi || last[a as usize].1 < i)
                && let Inst::Store {
                    src, second_byte, ..
                } = &mut b.insts[j].0
            {
                *src = a;
                *second_byte = true;
                shift_gone[i] = true;
                changed = true;
            }
            if let Some(d) = b.insts[j].0.def() {
                last[d as usize] = (bi, j);
            }
        }
        let mut gone = shift_gone.into_iter();
        b.insts.retain(|_| !gone.next().unwrap_or(false));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Addr, Base, Block, Scalar, Term, V};

    fn byte_store(src: V) -> Inst {
        Inst::Store {
            addr: Addr {
                base: Base::Static(0),
                index: None,
                disp: 0,
            },
            src,
            ty: Scalar {
                size: 1,
                signed: false,
            },
            second_byte: false,
        }
    }

    fn shr(dst: V, a: V, imm: i32) -> Inst {
        Inst::BinImm {
            op: Op::Shr,
            dst,
            a,
            imm,
        }
    }

    fn run(insts: Vec<Inst>, term: Term) -> (bool, Vec<Inst>) {
        let mut f = Func::for_test(vec![Block::for_test(insts, term)], 4, true);
        let changed = store_second_bytes(&mut f);
        (
            changed,
            f.blocks[0].insts.iter().map(|(i, _)| i.clone()).collect(),
        )
    }

    #[test]
    fn the_shift_goes_and_the_store_reads_its_operand() {
        let (changed, insts) = run(vec![shr(1, 0, 8), byte_store(1)], Term::Ret(None));
        assert!(changed);
        assert_eq!(insts.len(), 1);
        assert!(matches!(
            insts[0],
            Inst::Store {
                src: 0,
                second_byte: true,
                ..
            }
        ));
    }

    #[test]
    fn other_shapes_are_left_alone() {
        let cases: Vec<(&str, Vec<Inst>, Term)> = vec![
            (
                "a shift by 16",
                vec![shr(1, 0, 16), byte_store(1)],
                Term::Ret(None),
            ),
            (
                "the shift's result read again",
                vec![shr(1, 0, 8), byte_store(1)],
                Term::Ret(Some(1)),
            ),
            (
                "its operand written in between",
                vec![
                    shr(1, 0, 8),
                    Inst::Const { dst: 0, value: 7 },
                    byte_store(1),
                ],
                Term::Ret(None),
            ),
            (
                "a shift in place",
                vec![shr(0, 0, 8), byte_store(0)],
                Term::Ret(None),
            ),
            (
                "a 2-byte store",
                vec![
                    shr(1, 0, 8),
                    Inst::Store {
                        addr: Addr {
                            base: Base::Static(0),
                            index: None,
                            disp: 0,
                        },
                        src: 1,
                        ty: Scalar {
                            size: 2,
                            signed: false,
                        },
                        second_byte: false,
                    },
                ],
                Term::Ret(None),
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
