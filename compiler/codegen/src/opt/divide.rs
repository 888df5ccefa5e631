//! Division and remainder by a constant without a `div`/`idiv`:
//!
//! - unsigned values of at most 32 bits, by a constant that is not a power
//!   of two: a multiplication by a fixed-point reciprocal and shifts
//!   (Granlund and Montgomery, "Division by invariant integers using
//!   multiplication", 1994), a 64-bit `imul` and a shift;
//! - signed values of at most 32 bits, by a constant of magnitude at least 3
//!   that is not a power of two: the same with a signed reciprocal, whose
//!   truncated quotient is the floored one plus the dividend's sign bit
//!   (Hacker's Delight, 10-1);
//! - 64-bit values (and narrower ones whose divisor has no 32-bit
//!   reciprocal), unsigned or signed, by the same constants: the same two
//!   methods with 64-bit reciprocals, whose product needs its high half
//!   ([`Op::MulHiU`], [`Op::MulHiS`]: the one-operand `mul`/`imul` into
//!   `rdx:rax`); an unsigned divisor above 2^63 is a comparison (the
//!   quotient is 0 or 1);
//! - signed values of any width, by `±2^k` (`k >= 1`): an arithmetic shift
//!   of the dividend biased by `2^k - 1` when it is negative, so the shift
//!   truncates toward zero.
//!
//! Unsigned powers of two are `simplify`'s (a shift or a mask). Dividing by
//! 0, 1 or -1 keeps the `Div` (0 traps; `MIN / -1` traps with Overflow).
//! Every other constant divisor can never trap, so nothing the rewrite
//! drops was reachable.

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
    let max_d = u64::from(u32::MAX >> 1);
    smallest_reciprocal(d, 32, 33, max_d, |e, n| e <= 1u128 << (n - 32)).map(|(m, n)| (m as u64, n))
}

/// The reciprocal of `d` for signed dividends of at most 32 bits: `(m, n)`
/// with `floor(x * m / 2^n) + (x < 0) == x / d` (truncated) for every
/// `-2^31 <= x < 2^31`, and `m < 2^32`, so `|x * m| < 2^63` never overflows
/// a 64-bit `imul`.
///
/// Why: with `e = m * d - 2^n`, `0 < e < 2^(n-31)` and `y = |x| <= 2^31`,
/// `y * m / 2^n = y / d + δ` with `0 < δ = y * e / (d * 2^n) < 1 / d`
/// (`e > 0` because `d` is not a power of two). Writing `y = q * d + r`,
/// `y / d + δ = q + (r + d * δ) / d` with `0 < r + d * δ < d`: for `x >= 0`
/// the floor is `q`; for `x < 0` the floor of the negation is `-q - 1`, and
/// adding 1 gives the truncated `-q`. The smallest `n` from 31 up is taken;
/// `n = 31 + ceil(log2 d)` always qualifies (`e < d < 2^(n-31)`), and there
/// `m = ceil(2^n / d) < 2^32` because `d > 2^(n-32)`.
pub fn signed_reciprocal(d: u64) -> Option<(u64, u32)> {
    let max_d = u64::from(u32::MAX >> 1);
    smallest_reciprocal(d, 31, 32, max_d, |e, n| e < 1u128 << (n - 31)).map(|(m, n)| (m as u64, n))
}

/// The reciprocal of `d` for every 64-bit dividend: `(m, n)` with
/// `floor(x * m / 2^n) == floor(x / d)` for every `x < 2^64`, `n >= 64` and
/// `m < 2^65`. The argument of [`reciprocal`] with 64 for 32: the error
/// `e = m * d - 2^n <= 2^(n-64)` keeps `e * x / (d * 2^n)` below `1 / d`,
/// and `n = 64 + ceil(log2 d)` always qualifies. Divisors above 2^63 have
/// none (the quotient is 0 or 1: a comparison).
pub fn reciprocal64(d: u64) -> Option<(u128, u32)> {
    smallest_reciprocal(d, 64, 65, 1 << 63, |e, n| e <= 1u128 << (n - 64))
}

/// The reciprocal of `|d|` for signed 64-bit dividends: `(m, n)` with
/// `floor(x * m / 2^n) + (x < 0) == x / |d|` (truncated) for every
/// `-2^63 <= x < 2^63`, `n >= 64` and `m < 2^64`. The argument of
/// [`signed_reciprocal`] with 63 for 31 (`0 < e < 2^(n-63)`, `|x| <= 2^63`);
/// the search starts at 64, not 63, so that the high half of the 128-bit
/// product is `floor(x * m / 2^64)` and the rest an arithmetic shift, and
/// `n = 63 + ceil(log2 d)` (at least 64 for `d >= 3`) still qualifies.
pub fn signed_reciprocal64(d: u64) -> Option<(u64, u32)> {
    smallest_reciprocal(d, 64, 64, 1 << 63, |e, n| e < 1u128 << (n - 63))
        .and_then(|(m, n)| Some((u64::try_from(m).ok()?, n)))
}

/// The search the reciprocals share: for `n` from `base` to `base +
/// ceil(log2 d)`, the first
/// `m = ceil(2^n / d)` whose error `e = m * d - 2^n` passes
/// `small_enough(e, n)`, if that `m` is below `2^m_bits`. Divisors below 3,
/// powers of two and those above `max_d` have none.
fn smallest_reciprocal(
    d: u64,
    base: u32,
    m_bits: u32,
    max_d: u64,
    small_enough: impl Fn(u128, u32) -> bool,
) -> Option<(u128, u32)> {
    if d < 3 || d.is_power_of_two() || d > max_d {
        return None;
    }
    // `max_d <= 2^63`: `l <= 63` and `n <= 127`, so `2^n` fits a u128.
    let l = 64 - (d - 1).leading_zeros();
    for n in base..=base + l {
        let p = 1u128 << n;
        let m = p.div_ceil(u128::from(d));
        let e = m * u128::from(d) - p;
        if small_enough(e, n) {
            return (m < 1 << m_bits).then_some((m, n));
        }
    }
    None
}

/// Rewrites every division or remainder by a constant divisor (a
/// single-definition `Const`) that one of the module's methods covers.
/// Returns whether anything changed.
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
    // Each block is rebuilt in one pass (a splice per division moved the
    // rest of the block each time: a function of `n` divisions by
    // constants took `n²` moves).
    for bi in 0..f.blocks.len() {
        if !f.blocks[bi]
            .insts
            .iter()
            .any(|(i, _)| matches!(i, Inst::Div { b, .. } if konst[*b as usize].is_some()))
        {
            continue;
        }
        let old = std::mem::take(&mut f.blocks[bi].insts);
        let mut insts = Vec::with_capacity(old.len());
        for (inst, pos) in old {
            match by_multiplication(&inst, &konst, &mut f.n_vregs) {
                Some(new) => {
                    insts.extend(new.into_iter().map(|i| (i, pos)));
                    changed = true;
                }
                None => insts.push((inst, pos)),
            }
        }
        f.blocks[bi].insts = insts;
    }
    changed
}

/// The instructions that compute `inst`, a division or remainder by a
/// constant, by multiplication; `None` for any other instruction or when
/// no method applies.
fn by_multiplication(inst: &Inst, konst: &[Option<i64>], n_vregs: &mut u32) -> Option<Vec<Inst>> {
    let Inst::Div {
        dst,
        a,
        b,
        signed,
        rem,
        min,
        narrow,
        ..
    } = *inst
    else {
        return None;
    };
    let d = konst[b as usize]?;
    let mut seq = Seq {
        insts: Vec::new(),
        n_vregs,
    };
    // The 32-bit methods first (one `imul`), when they apply.
    match (signed, min) {
        (false, _) if narrow => seq
            .unsigned(dst, a, d, rem)
            .or_else(|| seq.unsigned64(dst, a, d, rem)),
        (false, _) => seq.unsigned64(dst, a, d, rem),
        (true, Some(_)) if d.unsigned_abs().is_power_of_two() => seq.signed_pow2(dst, a, d, rem),
        // At most 32 bits: the type's minimum is at least -2^31.
        (true, Some(min)) if min >= i64::from(i32::MIN) => seq
            .signed(dst, a, d, rem)
            .or_else(|| seq.signed64(dst, a, d, rem)),
        (true, Some(_)) => seq.signed64(dst, a, d, rem),
        _ => None,
    }?;
    Some(seq.insts)
}

/// A replacement sequence being built, with the function's register count
/// for fresh registers.
struct Seq<'a> {
    insts: Vec<Inst>,
    n_vregs: &'a mut u32,
}

impl Seq<'_> {
    fn fresh(&mut self) -> V {
        *self.n_vregs += 1;
        *self.n_vregs - 1
    }

    fn push(&mut self, i: Inst) {
        self.insts.push(i);
    }

    fn imm(&mut self, op: Op, dst: V, a: V, imm: i32) {
        self.push(Inst::BinImm { op, dst, a, imm });
    }

    fn bin(&mut self, op: Op, dst: V, a: V, b: V) {
        self.push(Inst::Bin { op, dst, a, b });
    }

    /// `dst = a * c` (64-bit, wrapping): an immediate when `c` fits one.
    fn mul(&mut self, dst: V, a: V, c: u64) {
        match i32::try_from(c) {
            Ok(imm) => self.imm(Op::Mul, dst, a, imm),
            Err(_) => {
                let r = self.fresh();
                self.push(Inst::Const {
                    dst: r,
                    value: c as i64,
                });
                self.bin(Op::Mul, dst, a, r);
            }
        }
    }

    /// `dst = a - q * c`: the remainder from the quotient (`q * c` is the
    /// exact product `(a / d) * d` wherever it is used).
    fn remainder(&mut self, dst: V, a: V, q: V, c: u64) {
        let qd = self.fresh();
        self.mul(qd, q, c);
        self.bin(Op::Sub, dst, a, qd);
    }

    /// Unsigned `a / d` or `a % d`, both below 2^32 ([`reciprocal`]).
    fn unsigned(&mut self, dst: V, a: V, d: i64, rem: bool) -> Option<()> {
        let (m, n) = reciprocal(d as u64)?;
        let q = if rem { self.fresh() } else { dst };
        let t = self.fresh();
        if m < 1 << 32 {
            // x * m < 2^64: the low half of the product is all of it.
            self.mul(t, a, m);
            self.imm(Op::Shr, q, t, n as i32);
        } else {
            // m = 2^32 + m': x * m / 2^n = (x + x * m' / 2^32) / 2^(n-32),
            // and flooring inside first does not change the result.
            let (t2, t3) = (self.fresh(), self.fresh());
            self.mul(t, a, m - (1 << 32));
            self.imm(Op::Shr, t2, t, 32);
            self.bin(Op::Add, t3, t2, a);
            self.imm(Op::Shr, q, t3, n as i32 - 32);
        }
        if rem {
            // x - q * d, exact in 64 bits (both below 2^32).
            self.remainder(dst, a, q, d as u64);
        }
        Some(())
    }

    /// `dst = c` in a fresh register when `c` does not fit an immediate
    /// (the operand of a high multiplication).
    fn konst(&mut self, c: i64) -> V {
        let r = self.fresh();
        self.push(Inst::Const { dst: r, value: c });
        r
    }

    /// `dst = a >> k` (logical or arithmetic), or a copy for `k = 0`.
    fn shift(&mut self, op: Op, dst: V, a: V, k: u32) {
        if k == 0 {
            self.push(Inst::Copy { dst, src: a });
        } else {
            self.imm(op, dst, a, k as i32);
        }
    }

    /// Unsigned `a / d` or `a % d` on 64 bits ([`reciprocal64`]). With
    /// `m < 2^64` the quotient is `mulhi(a, m) >> (n - 64)`. Otherwise
    /// `m = 2^64 + m'` and `a * m / 2^n = (a + a * m' / 2^64) / 2^(n-64)`
    /// (flooring the inner quotient first changes nothing); `a + t`, with
    /// `t = mulhi(a, m') <= a`, may not fit 64 bits, so its half is
    /// `t + (a - t) / 2` and the shift one less (`n >= 65` here, since
    /// `n = 64` gives `m = ceil(2^64 / d) < 2^64`). A divisor above 2^63
    /// goes at most once: the quotient is `a >= d`. The remainder is
    /// `a - q * d`, exact (`q * d <= a`).
    fn unsigned64(&mut self, dst: V, a: V, d: i64, rem: bool) -> Option<()> {
        let du = d as u64;
        if du < 3 || du.is_power_of_two() {
            return None;
        }
        let q = if rem { self.fresh() } else { dst };
        if du > 1 << 63 {
            let c = self.konst(d);
            self.push(Inst::Cmp {
                cc: Cc::Ae,
                dst: q,
                a,
                b: c,
            });
        } else {
            let (m, n) = reciprocal64(du)?;
            let hi = self.fresh();
            if m < 1 << 64 {
                let c = self.konst(m as u64 as i64);
                self.bin(Op::MulHiU, hi, a, c);
                self.shift(Op::Shr, q, hi, n - 64);
            } else {
                let c = self.konst((m - (1 << 64)) as u64 as i64);
                let (diff, half, sum) = (self.fresh(), self.fresh(), self.fresh());
                self.bin(Op::MulHiU, hi, a, c);
                self.bin(Op::Sub, diff, a, hi);
                self.imm(Op::Shr, half, diff, 1);
                self.bin(Op::Add, sum, half, hi);
                self.shift(Op::Shr, q, sum, n - 65);
            }
        }
        if rem {
            self.remainder(dst, a, q, du);
        }
        Some(())
    }

    /// Signed `a / d` or `a % d` on 64 bits ([`signed_reciprocal64`] of
    /// `|d|`, `|d| >= 3` not a power of two). The signed high product of `a`
    /// and `m` read as a signed number is `floor(a * m / 2^64)` when
    /// `m < 2^63`; for `m >= 2^63` it is `a` less, so `a` is added back
    /// (the sum's magnitude is below `|a|`: no overflow). Then as in
    /// [`signed`](Seq::signed): shift arithmetically by `n - 64`, add the
    /// dividend's sign bit, negate for `d < 0`; the remainder is
    /// `a - q * |d|` for `q` the quotient by `|d|`.
    fn signed64(&mut self, dst: V, a: V, d: i64, rem: bool) -> Option<()> {
        let (m, n) = signed_reciprocal64(d.unsigned_abs())?;
        let c = self.konst(m as i64);
        let (prod, hi, sign) = (self.fresh(), self.fresh(), self.fresh());
        self.bin(Op::MulHiS, prod, a, c);
        let floor = if m >= 1 << 63 {
            let t = self.fresh();
            self.bin(Op::Add, t, prod, a);
            t
        } else {
            prod
        };
        self.shift(Op::Sar, hi, floor, n - 64);
        self.imm(Op::Shr, sign, a, 63);
        self.signed_finish(dst, a, hi, sign, d, rem);
        Some(())
    }

    /// Signed `a / d` or `a % d`, `a` of at most 32 bits, sign-extended
    /// ([`signed_reciprocal`] of `|d|`; the quotient by `d < 0` is the
    /// negated quotient by `|d|`). `|d| >= 3`, so nothing overflows: the
    /// quotient's magnitude is below the dividend's, and the remainder
    /// `a - q * d` is exact in 64 bits.
    fn signed(&mut self, dst: V, a: V, d: i64, rem: bool) -> Option<()> {
        let (m, n) = signed_reciprocal(d.unsigned_abs())?;
        let (t, hi, sign) = (self.fresh(), self.fresh(), self.fresh());
        self.mul(t, a, m);
        self.imm(Op::Sar, hi, t, n as i32);
        // +1 for a negative dividend: floor to truncation.
        self.imm(Op::Shr, sign, a, 63);
        self.signed_finish(dst, a, hi, sign, d, rem);
        Some(())
    }

    /// The end of a signed division by a reciprocal: `hi` is the floored
    /// quotient of `a` by `|d|` and `sign` is 1 for a negative `a`, so
    /// `hi + sign` truncates toward zero; then negated for `d < 0`, or the
    /// remainder `a - q * |d|` (which is `a - (a / d) * d`).
    fn signed_finish(&mut self, dst: V, a: V, hi: V, sign: V, d: i64, rem: bool) {
        if !rem && d > 0 {
            self.bin(Op::Add, dst, hi, sign);
            return;
        }
        let q = self.fresh();
        self.bin(Op::Add, q, hi, sign);
        if rem {
            self.remainder(dst, a, q, d.unsigned_abs());
        } else {
            self.push(Inst::Neg { dst, a: q });
        }
    }

    /// Signed `a / d` or `a % d` by `d = ±2^k`, `k >= 1`, any width: `a`
    /// plus `2^k - 1` when negative (`(a >> 63) >>> (64 - k)`: no overflow,
    /// a negative `a` only moves toward 0), shifted arithmetically by `k`,
    /// truncates toward zero; negated for `d < 0`. The remainder is
    /// `a - (that << k)`, exact: `(a / |d|) * |d|` has `a`'s sign and at
    /// most its magnitude (and `d = i64::MIN` gives 1 for `i64::MIN`,
    /// 0 otherwise, as it should).
    fn signed_pow2(&mut self, dst: V, a: V, d: i64, rem: bool) -> Option<()> {
        let k = d.unsigned_abs().trailing_zeros();
        if k == 0 {
            return None; // ±1: `MIN / -1` traps, so the `Div` stays.
        }
        let (sign, bias, biased) = (self.fresh(), self.fresh(), self.fresh());
        self.imm(Op::Sar, sign, a, 63);
        self.imm(Op::Shr, bias, sign, 64 - k as i32);
        self.bin(Op::Add, biased, a, bias);
        if rem {
            // a - ((a + bias) & -2^k): the multiple of 2^k the quotient
            // stands for, the shift's low bits cleared in place.
            let multiple = self.fresh();
            let mask = (u64::MAX << k) as i64;
            match i32::try_from(mask) {
                Ok(imm) => self.imm(Op::And, multiple, biased, imm),
                Err(_) => {
                    let r = self.fresh();
                    self.push(Inst::Const {
                        dst: r,
                        value: mask,
                    });
                    self.bin(Op::And, multiple, biased, r);
                }
            }
            self.bin(Op::Sub, dst, a, multiple);
        } else if d > 0 {
            self.imm(Op::Sar, dst, biased, k as i32);
        } else {
            let q = self.fresh();
            self.imm(Op::Sar, q, biased, k as i32);
            self.push(Inst::Neg { dst, a: q });
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::{reciprocal, reciprocal64, signed_reciprocal, signed_reciprocal64};

    /// Dividends for the signed checks: every edge of `i32` and a spread.
    fn signed_dividends() -> Vec<i64> {
        let mut xs: Vec<i64> = vec![0, 1, -1, 2, -2, 3, -3];
        for e in [i64::from(i32::MIN), i64::from(i32::MAX)] {
            xs.extend([e, e - e.signum(), e - 2 * e.signum()]);
        }
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..4000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            xs.push(i64::from((s >> 32) as u32 as i32));
        }
        xs
    }

    /// The signed reciprocal's sequence (`sar(x * m, n) + (x >>> 63)`,
    /// negated for a negative divisor) against Rust's `/` and `%`.
    #[test]
    fn signed_reciprocals_divide_exactly() {
        let mut divisors: Vec<i64> = (3..1500).collect();
        divisors.extend([641, 10_000, 65_535, 65_537, 1_000_000_007, 0x7FFF_FFFF]);
        let negs: Vec<i64> = divisors.iter().map(|d| -d).collect();
        divisors.extend(negs);
        let xs = signed_dividends();
        for d in divisors {
            let Some((m, n)) = signed_reciprocal(d.unsigned_abs()) else {
                assert!(d.unsigned_abs().is_power_of_two(), "{d}");
                continue;
            };
            assert!(m < 1 << 32);
            for &x in xs.iter().chain(&[d - 1, d, d + 1, -d, -d + 1, -d - 1]) {
                let Ok(x32) = i32::try_from(x) else { continue };
                let prod = x.checked_mul(m as i64).expect("no overflow");
                let q = (prod >> n) + ((x as u64) >> 63) as i64;
                let q = if d < 0 { -q } else { q };
                let r = x - q * d;
                let d32 = d as i32;
                assert_eq!(q, i64::from(x32 / d32), "{x} / {d}, m = {m:#x}, n = {n}");
                assert_eq!(r, i64::from(x32 % d32), "{x} % {d}");
            }
        }
    }

    /// The shift sequence for `±2^k` against Rust's `/` and `%` on `i64`.
    #[test]
    fn signed_powers_of_two_divide_exactly() {
        let mut xs: Vec<i64> = signed_dividends();
        xs.extend([
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            i64::MAX - 1,
            1 << 40,
            -(1 << 40) - 1,
        ]);
        for k in 1..64u32 {
            let p = (1u64 << k) as i64; // i64::MIN for k = 63
            for d in [p, p.wrapping_neg()] {
                for &x in &xs {
                    let bias = ((x >> 63) as u64 >> (64 - k)) as i64;
                    let biased = x + bias;
                    let t = biased >> k;
                    let q = if d > 0 { t } else { t.wrapping_neg() };
                    let r = x - (biased & (u64::MAX << k) as i64);
                    let (Some(wq), Some(wr)) = (x.checked_div(d), x.checked_rem(d)) else {
                        continue; // MIN / -1 only, which is not a power of two
                    };
                    assert_eq!(q, wq, "{x} / {d}");
                    assert_eq!(r, wr, "{x} % {d}");
                }
            }
        }
    }

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

    /// 64-bit divisors: small ones, each kind of reciprocal, the largest of
    /// each sign, and a pseudo-random spread over every magnitude.
    fn divisors64() -> Vec<u64> {
        let mut ds: Vec<u64> = (3..600).collect();
        ds.extend([
            641,
            1_000_000_007,
            (1 << 31) - 1,
            (1 << 31) + 1,
            (1 << 32) - 1,
            (1 << 32) + 1,
            0x5555_5555_5555_5555,
            1_000_000_000_000_000_009,
            (1 << 62) + 1,
            (1 << 63) - 1,
            (1 << 63) - 3,
        ]);
        let mut s = 0xD1B5_4A32_D192_ED03u64;
        for k in 2..64 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ds.push((s >> (64 - k)) | 1 << (k - 1));
        }
        ds.retain(|d| !d.is_power_of_two());
        ds
    }

    /// 64-bit dividends: the ends, the multiples of `d` nearest them, and
    /// a spread.
    fn dividends64(d: u64) -> Vec<u64> {
        let top = (u64::MAX / d) * d;
        let mut xs = vec![0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1];
        xs.extend([d - 1, d, d + 1, top, top - 1, top - d, top - d + 1]);
        let half = ((1u64 << 63) / d) * d;
        xs.extend([half, half - 1, half + d - 1, half.wrapping_neg(), !half]);
        let mut s = 0x2545_F491_4F6C_DD1Du64 ^ d;
        for _ in 0..300 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            xs.push(s);
        }
        xs
    }

    /// The unsigned 64-bit sequence (`mulhi` and a shift, or the 65-bit
    /// reciprocal's halving add) against Rust's `/`.
    #[test]
    fn reciprocals64_divide_exactly() {
        let mulhi = |a: u64, b: u64| ((u128::from(a) * u128::from(b)) >> 64) as u64;
        for d in divisors64() {
            let (m, n) = reciprocal64(d).expect("every divisor below 2^63 has one");
            assert!(n >= 64 && m < 1 << 65, "{d}: {m:#x} {n}");
            for x in dividends64(d) {
                let q = if m < 1 << 64 {
                    mulhi(x, m as u64) >> (n - 64)
                } else {
                    assert!(n >= 65);
                    let t = mulhi(x, (m - (1 << 64)) as u64);
                    (((x - t) >> 1) + t) >> (n - 65)
                };
                assert_eq!(q, x / d, "{x} / {d}, m = {m:#x}, n = {n}");
            }
        }
        assert_eq!(reciprocal64((1 << 63) + 1), None);
        assert_eq!(reciprocal64(1 << 40), None);
    }

    /// The signed 64-bit sequence (`mulhs`, plus the dividend when `m`
    /// reads as negative, an arithmetic shift, plus the sign bit, negated
    /// for a negative divisor) against Rust's `/` and `%` on `i64`.
    #[test]
    fn signed_reciprocals64_divide_exactly() {
        let mulhs = |a: i64, b: i64| ((i128::from(a) * i128::from(b)) >> 64) as i64;
        for d in divisors64() {
            let (m, n) = signed_reciprocal64(d).expect("every divisor below 2^63 has one");
            assert!(n >= 64, "{d}");
            for d in [d as i64, -(d as i64)] {
                for x in dividends64(d.unsigned_abs()) {
                    let x = x as i64;
                    let mut floor = mulhs(x, m as i64);
                    if m >= 1 << 63 {
                        floor += x;
                    }
                    let q = (floor >> (n - 64)) + ((x as u64) >> 63) as i64;
                    let q = if d < 0 { -q } else { q };
                    let r = x.wrapping_sub(q.wrapping_mul(d));
                    assert_eq!(q, x / d, "{x} / {d}, m = {m:#x}, n = {n}");
                    assert_eq!(r, x % d, "{x} % {d}");
                }
            }
        }
    }
}
