//! Unsigned division and remainder of 32-bit (or narrower) values by a
//! constant, as a multiplication by a fixed-point reciprocal and shifts
//! (Granlund and Montgomery, "Division by invariant integers using
//! multiplication", 1994): a 64-bit `imul` and a shift instead of a `div`.
//! Powers of two are `simplify`'s (a shift or a mask); signed and 64-bit
//! division keep the `div`/`idiv` (they need the high half of a 128-bit
//! product, which the sandbox's instruction set does not include).

use crate::analysis::def_counts;
use crate::ir::*;

/// The reciprocal of `d` for dividends below 2^32: `(m, n)` with
/// `floor(x * m / 2^n) == floor(x / d)` for every `x < 2^32`, `m < 2^33`.
///
/// Why: with `e = m * d - 2^n` and `0 <= e <= 2^(n-32)`,
/// `x * m / 2^n = x / d + e * x / (d * 2^n)`, and the error term is below
/// `1 / d`, too small to carry `x / d = q + r / d` (`r <= d - 1`) past
/// `q + 1`. The smallest such `n` from 32 up is taken; `n = 32 + ceil(log2
/// d)` always qualifies, because there `e < d <= 2^(n-32)`.
pub fn reciprocal(d: u64) -> Option<(u64, u32)> {
    if d < 3 || d.is_power_of_two() || d > u64::from(u32::MAX >> 1) {
        return None;
    }
    let l = 64 - (d - 1).leading_zeros();
    for n in 32..=32 + l {
        let p = 1u128 << n;
        let m = p.div_ceil(u128::from(d));
        let e = m * u128::from(d) - p;
        if e <= 1u128 << (n - 32) {
            return u64::try_from(m)
                .ok()
                .filter(|&m| m < 1 << 33)
                .map(|m| (m, n));
        }
    }
    None
}

/// Rewrites every unsigned `Div` of narrow operands by a constant divisor
/// (a single-definition `Const`). Returns whether anything changed.
pub fn by_constants(f: &mut Func) -> bool {
    let defs = def_counts(f);
    let mut konst: Vec<Option<i64>> = vec![None; f.n_vregs as usize];
    for b in &f.blocks {
        for (inst, _) in &b.insts {
            if let Inst::Const { dst, value } = *inst
                && defs[dst as usize] == 1
            {
                konst[dst as usize] = Some(value);
            }
        }
    }
    let mut changed = false;
    for bi in 0..f.blocks.len() {
        let mut k = 0;
        while k < f.blocks[bi].insts.len() {
            let (inst, pos) = f.blocks[bi].insts[k].clone();
            let Inst::Div {
                dst,
                a,
                b,
                signed: false,
                rem,
                narrow: true,
                ..
            } = inst
            else {
                k += 1;
                continue;
            };
            let Some((m, n)) = konst[b as usize].and_then(|d| reciprocal(d as u64)) else {
                k += 1;
                continue;
            };
            let d = konst[b as usize].unwrap_or(0);
            let mut fresh = || {
                f.n_vregs += 1;
                f.n_vregs - 1
            };
            let q = if rem { fresh() } else { dst };
            let mut seq = Vec::new();
            let mul = |seq: &mut Vec<Inst>, dst: V, a: V, c: u64, fresh: &mut dyn FnMut() -> V| {
                match i32::try_from(c) {
                    Ok(imm) => seq.push(Inst::BinImm {
                        op: Op::Mul,
                        dst,
                        a,
                        imm,
                    }),
                    Err(_) => {
                        let r = fresh();
                        seq.push(Inst::Const {
                            dst: r,
                            value: c as i64,
                        });
                        seq.push(Inst::Bin {
                            op: Op::Mul,
                            dst,
                            a,
                            b: r,
                        });
                    }
                }
            };
            let t = fresh();
            if m < 1 << 32 {
                // x * m < 2^64: the low half of the product is all of it.
                mul(&mut seq, t, a, m, &mut fresh);
                seq.push(Inst::BinImm {
                    op: Op::Shr,
                    dst: q,
                    a: t,
                    imm: n as i32,
                });
            } else {
                // m = 2^32 + m': x * m / 2^n = (x + x * m' / 2^32) / 2^(n-32),
                // and flooring inside first does not change the result.
                let (t2, t3) = (fresh(), fresh());
                mul(&mut seq, t, a, m - (1 << 32), &mut fresh);
                seq.push(Inst::BinImm {
                    op: Op::Shr,
                    dst: t2,
                    a: t,
                    imm: 32,
                });
                seq.push(Inst::Bin {
                    op: Op::Add,
                    dst: t3,
                    a: t2,
                    b: a,
                });
                seq.push(Inst::BinImm {
                    op: Op::Shr,
                    dst: q,
                    a: t3,
                    imm: n as i32 - 32,
                });
            }
            if rem {
                // x - q * d, exact in 64 bits (both below 2^32).
                let qd = fresh();
                mul(&mut seq, qd, q, d as u64, &mut fresh);
                seq.push(Inst::Bin {
                    op: Op::Sub,
                    dst,
                    a,
                    b: qd,
                });
            }
            let len = seq.len();
            f.blocks[bi]
                .insts
                .splice(k..k + 1, seq.into_iter().map(|i| (i, pos)));
            k += len;
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::reciprocal;

    /// The reciprocal against the `div` it replaces, on the edges of the
    /// dividend range and a spread of values, for many divisors.
    #[test]
    fn reciprocals_divide_exactly() {
        let mut divisors: Vec<u64> = (3..2000).collect();
        divisors.extend([
            7,
            641,
            10_000,
            65_535,
            65_537,
            1 << 20 | 1,
            0x7FFF_FFFF,
            1_000_000_007,
        ]);
        let mut xs: Vec<u64> = vec![0, 1, 2, u64::from(u32::MAX), u64::from(u32::MAX) - 1];
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            xs.push(s >> 32);
        }
        for d in divisors {
            let Some((m, n)) = reciprocal(d) else {
                assert!(d.is_power_of_two() || d > u64::from(u32::MAX >> 1), "{d}");
                continue;
            };
            for &x in xs
                .iter()
                .chain(&[d - 1, d, d + 1, (u64::from(u32::MAX) / d) * d])
            {
                let q = if m < 1 << 32 {
                    (x * m) >> n
                } else {
                    (((x * (m - (1 << 32))) >> 32) + x) >> (n - 32)
                };
                assert_eq!(q, x / d, "{x} / {d} with m = {m:#x}, n = {n}");
            }
        }
    }
}
