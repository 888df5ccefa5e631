//! The verifier's one relational bound: an index that is `k` times a
//! counter, where the counter is below one slice's length and another
//! slice is at least `k` times as long. It lets a counted loop read
//! `rgb[3*i]`, `rgb[3*i + 1]`, `rgb[3*i + 2]` for every `i < out.len`
//! without a check per access, once one test before the loop has compared
//! `3 * out.len` with `rgb.len` (`compiler/codegen/src/opt/scaled.rs`
//! emits that test and the loop that relies on it).
//!
//! Two facts carry it (`book/src/runtime/sandbox.md`, "`x = k·y`"):
//!
//! - [`Fact::Scaled`](super::Fact::Scaled) `x = k·y` as integers, about two names;
//! - [`Fact::LenScaled`](super::Fact::LenScaled) `table(bw, bs)[big] ≥ k · table(sw, ss)[small]`,
//!   about two masked handles: like every length-table fact it speaks of
//!   entries the plugin cannot write, which stay the same for the call.
//!
//! Every function here either establishes one of them from what the state
//! already proves, or consumes them in the memory rule; each states the
//! arithmetic that makes it exact. All factors are below 2^16, every
//! length-table entry is below 2^32 (what the host promises: `sandbox.md`,
//! section 7), and every bound is checked without wrapping, so no rule
//! relies on a product that could overflow.

use super::state::{Abs, MAX_SCALE, Operand, UNKNOWN, Val};

/// Whether a 64-bit `add r, k` (`k >= 0`) of the value named `e` cannot
/// wrap, from a bound on `e` (the caller has asked the `narrow` bit
/// already): `e < 2^32` ([`Abs::below_2_32`]) and `k < 2^31` keep the sum
/// below 2^33.
pub(super) fn add_cannot_wrap(st: &Abs, e: Val, k: u32) -> bool {
    k < 1 << 31 && st.below_2_32(e)
}

/// The factor of `imul x, y, imm` (64-bit) when the product is exact:
/// `1 <= imm <= MAX_SCALE` and `y < 2^32` (`y_narrow`: the register's bit,
/// or [`Abs::below_2_32`] of its name), so `imm·y < 2^48`.
pub(super) fn imul_factor(st: &Abs, y: Val, y_narrow: bool, imm: i64) -> Option<u32> {
    let k = u32::try_from(imm)
        .ok()
        .filter(|&k| (1..=MAX_SCALE).contains(&k))?;
    (y != UNKNOWN && (y_narrow || st.below_2_32(y))).then_some(k)
}

/// What a 64-bit `add r, c` of the value named `x` steps: the new counter
/// `t` and the factor `k`, when `x = k·y`, `k = c`, the counter was
/// stepped `t = y + 1` (a [`Fact::SumOf`](super::Fact::SumOf)) and is below a length another
/// slice is at least `k` times as long as: `y < table(sw, ss)[small]` and
/// `table(·)[big] ≥ k · table(sw, ss)[small]`. Then `x + c = k·y + k =
/// k·t ≤ k · table(sw, ss)[small] ≤ table(·)[big] < 2^64`: the add did not
/// wrap, and the new value is `k·t` exactly.
pub(super) fn stepped(st: &Abs, x: Val, c: i64) -> Option<(Val, u32)> {
    if !st.has_scaled(x) {
        return None;
    }
    st.scaled_of(x).find_map(|(y, k)| {
        if i64::from(k) != c {
            return None;
        }
        let t = st.successor_of(y)?;
        st.below_scaled_len(y, k, None).then_some((t, k))
    })
}

/// What an edge where `a ≤ b` (unsigned, 64-bit compare) teaches: for
/// `a = k·y` with `y = table(sw, ss)[small]`, and `b` an entry
/// `table(bw, bs)[big]` (the compare's memory operand, or a name that is
/// one), `table(bw, bs)[big] ≥ k · table(sw, ss)[small]`. At most four
/// facts, read before any is added (adding may reorder the table).
pub(super) fn learn_len_scaled(st: &mut Abs, a: Val, b: Operand) {
    if st.has_scaled(a) {
        st.learn_len_scaled(a, b);
    }
}

/// Whether `[base + i*s + disp]` (`s` bytes; `base = slice_ptr[m]`) lies
/// inside the slice because `i = k·y`, `y < table(sw, ss)[small]`, and
/// `table(w, s)[m] ≥ k · table(sw, ss)[small]` (writable if `write`), with
/// `0 ≤ disp` and `disp + s ≤ k·s`: the access's bytes end by
/// `k·y·s + disp + s ≤ k·(y + 1)·s ≤ k · table(sw, ss)[small] · s ≤
/// table(w, s)[m] · s`, which is within the slice.
pub(super) fn below_len_by_scaled(st: &Abs, i: Val, m: Val, s: u8, disp: i32, write: bool) -> bool {
    let Ok(disp) = u64::try_from(disp) else {
        return false;
    };
    if !st.has_scaled(i) {
        return false;
    }
    let s64 = u64::from(s);
    st.scaled_of(i).any(|(y, k)| {
        disp.saturating_add(s64) <= u64::from(k).saturating_mul(s64)
            && st.below_scaled_len(y, k, Some((m, s, write)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Fact;
    use crate::verify::state::def;

    fn with(facts: &[Fact]) -> Abs {
        let mut st = Abs::EMPTY;
        for &f in facts {
            st.add(f);
        }
        st
    }

    const Y: Val = (1 << 29) | (1 << 5);

    #[test]
    fn a_product_is_scaled_only_when_it_cannot_wrap() {
        let y = def(1, 2);
        let none = with(&[]);
        // A register known narrow; a name below 2^32; nothing known.
        assert_eq!(imul_factor(&none, y, true, 3), Some(3));
        let below = with(&[Fact::BelowConst { idx: y, n: 1 << 32 }]);
        assert_eq!(imul_factor(&below, y, false, 3), Some(3));
        let above = with(&[Fact::BelowConst {
            idx: y,
            n: (1 << 32) + 1,
        }]);
        assert_eq!(imul_factor(&above, y, false, 3), None);
        assert_eq!(imul_factor(&none, y, false, 3), None);
        // A slice length, and a value below one, are below 2^32 by the
        // host's half of the contract.
        let len = with(&[Fact::LenOf {
            len: y,
            m: Y,
            w: false,
            s: 1,
        }]);
        assert_eq!(imul_factor(&len, y, false, 3), Some(3));
        let below_len = with(&[Fact::BelowLen {
            idx: y,
            m: Y,
            w: false,
            s: 8,
        }]);
        assert_eq!(imul_factor(&below_len, y, false, 3), Some(3));
        // A fact about another name says nothing of this one.
        assert_eq!(imul_factor(&len, def(1, 3), false, 3), None);
        // Factors outside 1..=MAX_SCALE, and the unknown name.
        for k in [0, -1, i64::from(MAX_SCALE) + 1, 1 << 40] {
            assert_eq!(imul_factor(&none, y, true, k), None, "{k}");
        }
        assert_eq!(imul_factor(&none, UNKNOWN, true, 3), None);
    }

    #[test]
    fn a_bounded_add_cannot_wrap() {
        let e = def(2, 3);
        let below_len = with(&[Fact::BelowLen {
            idx: e,
            m: Y,
            w: false,
            s: 1,
        }]);
        // Below a length, which is below 2^32.
        assert!(add_cannot_wrap(&below_len, e, 1));
        assert!(add_cannot_wrap(&below_len, e, (1 << 31) - 1));
        assert!(!add_cannot_wrap(&below_len, e, 1 << 31));
        let below = with(&[Fact::BelowConst { idx: e, n: 1 << 32 }]);
        assert!(add_cannot_wrap(&below, e, (1 << 31) - 1));
        assert!(!add_cannot_wrap(&below, e, 1 << 31));
        assert!(!add_cannot_wrap(&with(&[]), e, 1));
    }

    /// `x = 3·y`, `t = y + 1`, `y < table(w, 1)[small]`, and
    /// `table(r, 1)[big] >= k · table(w, 1)[small]`, less fact `skip`.
    fn loop_state_but(k: u32, skip: usize) -> (Abs, Val, Val, Val, Val) {
        let (x, y, t) = (def(10, 1), def(11, 2), def(12, 2));
        let (big, small) = (def(1, 0), def(2, 0));
        let facts = [
            Fact::Scaled { x, y, k: 3 },
            Fact::SumOf { t, e: y, k: 1 },
            Fact::BelowLen {
                idx: y,
                m: small,
                w: true,
                s: 1,
            },
            Fact::LenScaled {
                big,
                bw: false,
                bs: 1,
                small,
                sw: true,
                ss: 1,
                k,
            },
        ];
        let mut st = Abs::EMPTY;
        for (i, &f) in facts.iter().enumerate() {
            if i != skip {
                st.add(f);
            }
        }
        (st, x, y, t, big)
    }

    fn loop_state(k: u32) -> (Abs, Val, Val, Val, Val) {
        loop_state_but(k, usize::MAX)
    }

    #[test]
    fn a_step_keeps_the_relation_only_with_every_premise() {
        let (st, x, _, t, _) = loop_state(3);
        assert_eq!(stepped(&st, x, 3), Some((t, 3)));
        // The step is not the factor.
        assert_eq!(stepped(&st, x, 4), None);
        assert_eq!(stepped(&st, x, 2), None);
        // The length relation is for another factor: no bound on `k·t`.
        let (other, x, ..) = loop_state(2);
        assert_eq!(stepped(&other, x, 3), None);
        // Without any one premise.
        for skip in 0..4 {
            let (st, x, ..) = loop_state_but(3, skip);
            assert_eq!(stepped(&st, x, 3), None, "without fact {skip}");
        }
    }

    #[test]
    fn an_access_is_inside_only_below_k_times_the_counter_bound() {
        let (st, x, _, _, big) = loop_state(3);
        // Bytes 3y .. 3y + 2 of a read: inside; 3y + 3 is not.
        for d in 0..3 {
            assert!(below_len_by_scaled(&st, x, big, 1, d, false), "{d}");
        }
        assert!(!below_len_by_scaled(&st, x, big, 1, 3, false));
        assert!(!below_len_by_scaled(&st, x, big, 1, -1, false));
        // A write needs the writable table's relation.
        assert!(!below_len_by_scaled(&st, x, big, 1, 0, true));
        // Another scale, another handle, the counter itself.
        assert!(!below_len_by_scaled(&st, x, big, 2, 0, false));
        assert!(!below_len_by_scaled(&st, x, def(3, 0), 1, 0, false));
        let (st, _, y, _, big) = loop_state(3);
        assert!(!below_len_by_scaled(&st, y, big, 1, 0, false));
    }

    #[test]
    fn a_length_relation_is_learned_from_a_product_of_a_length() {
        let (t, n, lena) = (def(20, 1), def(21, 2), def(22, 3));
        let (ma, mb) = (def(1, 0), def(2, 0));
        let facts = [
            Fact::Scaled { x: t, y: n, k: 3 },
            Fact::LenOf {
                len: n,
                m: mb,
                w: true,
                s: 1,
            },
            Fact::LenOf {
                len: lena,
                m: ma,
                w: false,
                s: 1,
            },
        ];
        let want = Fact::LenScaled {
            big: ma,
            bw: false,
            bs: 1,
            small: mb,
            sw: true,
            ss: 1,
            k: 3,
        };
        let mut st = with(&facts);
        learn_len_scaled(&mut st, t, Operand::Val(lena));
        assert!(st.has(want));
        // The memory operand names the entry itself.
        let mut st = with(&facts);
        learn_len_scaled(
            &mut st,
            t,
            Operand::Len {
                m: ma,
                w: false,
                s: 1,
            },
        );
        assert!(st.has(want));
        // A constant, or a value that is no length, teaches nothing; nor
        // does a product of something that is no length.
        for b in [Operand::Imm(100), Operand::Val(def(23, 4))] {
            let mut st = with(&facts);
            learn_len_scaled(&mut st, t, b);
            assert!(!st.facts().any(|f| matches!(f, Fact::LenScaled { .. })));
        }
        let mut st = with(&facts[1..]);
        st.add(Fact::Scaled {
            x: t,
            y: def(24, 5),
            k: 3,
        });
        learn_len_scaled(&mut st, t, Operand::Val(lena));
        assert!(!st.facts().any(|f| matches!(f, Fact::LenScaled { .. })));
    }
}
