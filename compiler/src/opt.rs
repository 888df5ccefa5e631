//! Optimisations on the IR: constant folding and propagation (through
//! registers with a single definition), immediate operands, strength
//! reduction of multiplication by powers of two, branch folding, and dead
//! code elimination. Folding uses the same canonical 64-bit arithmetic the
//! machine code performs, so results cannot differ.

use crate::ir::*;

pub fn optimize(f: &mut Func) {
    for _ in 0..8 {
        let changed = fold(f);
        let removed = dead_code(f);
        if !changed && !removed {
            break;
        }
    }
}

fn def_counts(f: &Func) -> Vec<u32> {
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

fn constants(f: &Func) -> Vec<Option<i64>> {
    let defs = def_counts(f);
    let mut consts = vec![None; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::Const { dst, value } = inst
                && defs[*dst as usize] == 1
            {
                consts[*dst as usize] = Some(*value);
            }
        }
    }
    consts
}

fn eval(op: Op, a: i64, b: i64) -> i64 {
    match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Mul => a.wrapping_mul(b),
        Op::And => a & b,
        Op::Or => a | b,
        Op::Xor => a ^ b,
        Op::Shl => a.wrapping_shl((b & 63) as u32),
        Op::Shr => ((a as u64) >> (b & 63)) as i64,
        Op::Sar => a >> (b & 63),
    }
}

fn fold(f: &mut Func) -> bool {
    let consts = constants(f);
    let c = |v: V| consts[v as usize];
    let mut changed = false;
    for b in &mut f.blocks {
        for (inst, _) in &mut b.insts {
            let new = match inst {
                Inst::Copy { dst, src } => c(*src).map(|value| Inst::Const { dst: *dst, value }),
                Inst::Bin { op, dst, a, b } => match (c(*a), c(*b)) {
                    (Some(x), Some(y)) => Some(Inst::Const {
                        dst: *dst,
                        value: eval(*op, x, y),
                    }),
                    (None, Some(y)) if i32::try_from(y).is_ok() => {
                        if *op == Op::Mul && y > 0 && (y as u64).is_power_of_two() {
                            Some(Inst::BinImm {
                                op: Op::Shl,
                                dst: *dst,
                                a: *a,
                                imm: y.trailing_zeros() as i32,
                            })
                        } else {
                            Some(Inst::BinImm {
                                op: *op,
                                dst: *dst,
                                a: *a,
                                imm: y as i32,
                            })
                        }
                    }
                    (Some(x), None)
                        if i32::try_from(x).is_ok()
                            && matches!(op, Op::Add | Op::Mul | Op::And | Op::Or | Op::Xor) =>
                    {
                        Some(Inst::BinImm {
                            op: *op,
                            dst: *dst,
                            a: *b,
                            imm: x as i32,
                        })
                    }
                    _ => None,
                },
                Inst::BinImm { op, dst, a, imm } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: eval(*op, x, i64::from(*imm)),
                }),
                Inst::Neg { dst, a } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: x.wrapping_neg(),
                }),
                Inst::Not { dst, a } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: !x,
                }),
                Inst::Norm { dst, a, ty } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: ty.normalize(x),
                }),
                Inst::Cmp { cc, dst, a, b } => match (c(*a), c(*b)) {
                    (Some(x), Some(y)) => Some(Inst::Const {
                        dst: *dst,
                        value: i64::from(cc.eval(x, y)),
                    }),
                    (None, Some(y)) if i32::try_from(y).is_ok() => Some(Inst::CmpImm {
                        cc: *cc,
                        dst: *dst,
                        a: *a,
                        imm: y as i32,
                    }),
                    _ => None,
                },
                Inst::CmpImm { cc, dst, a, imm } => c(*a).map(|x| Inst::Const {
                    dst: *dst,
                    value: i64::from(cc.eval(x, i64::from(*imm))),
                }),
                _ => None,
            };
            if let Some(new) = new
                && new != *inst
            {
                *inst = new;
                changed = true;
            }
        }
        if let Term::Branch { cond, then, els } = b.term
            && let Some(x) = c(cond)
        {
            b.term = Term::Jump(if x != 0 { then } else { els });
            changed = true;
        }
    }
    changed
}

fn dead_code(f: &mut Func) -> bool {
    let mut uses = vec![0u32; f.n_vregs as usize];
    let mut buf = Vec::new();
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            buf.clear();
            inst.uses(&mut buf);
            for &u in &buf {
                uses[u as usize] += 1;
            }
        }
        match &b.term {
            Term::Branch { cond: v, .. } | Term::Ret(Some(v)) => uses[*v as usize] += 1,
            _ => {}
        }
    }
    let mut removed = false;
    for b in &mut f.blocks {
        let before = b.insts.len();
        b.insts.retain(|(inst, _)| {
            inst.has_effect() || inst.def().is_none_or(|d| uses[d as usize] > 0)
        });
        removed |= b.insts.len() != before;
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_through_single_definitions() {
        let mut f = Func {
            name: "t".into(),
            exported: true,
            params: vec![0],
            returns_value: true,
            blocks: vec![Block {
                insts: vec![
                    (Inst::Const { dst: 1, value: 6 }, 0),
                    (Inst::Const { dst: 2, value: 7 }, 0),
                    (
                        Inst::Bin {
                            op: Op::Mul,
                            dst: 3,
                            a: 1,
                            b: 2,
                        },
                        0,
                    ),
                    (Inst::Const { dst: 4, value: 8 }, 0),
                    (
                        Inst::Bin {
                            op: Op::Mul,
                            dst: 5,
                            a: 0,
                            b: 4,
                        },
                        0,
                    ),
                    (
                        Inst::Bin {
                            op: Op::Add,
                            dst: 6,
                            a: 5,
                            b: 3,
                        },
                        0,
                    ),
                ],
                term: Term::Ret(Some(6)),
                term_pos: 0,
            }],
            n_vregs: 7,
            aggregate_bytes: 0,
            first_site: 0,
        };
        optimize(&mut f);
        let insts: Vec<&Inst> = f.blocks[0].insts.iter().map(|(i, _)| i).collect();
        assert_eq!(
            insts,
            vec![
                &Inst::BinImm {
                    op: Op::Shl,
                    dst: 5,
                    a: 0,
                    imm: 3
                },
                &Inst::BinImm {
                    op: Op::Add,
                    dst: 6,
                    a: 5,
                    imm: 42
                },
            ]
        );
    }
}
