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
//! - [`Fact::Scaled`] `x = k·y` as integers, about two names;
//! - [`Fact::LenScaled`] `table(bw, bs)[big] ≥ k · table(sw, ss)[small]`,
//!   about two masked handles: like every length-table fact it speaks of
//!   entries the plugin cannot write, which stay the same for the call.
//!
//! Every function here either establishes one of them from what the state
//! already proves, or consumes them in the memory rule; each states the
//! arithmetic that makes it exact. All factors are below 2^16 and every
//! bound is checked without wrapping, so no rule relies on a product that
//! could overflow.

use super::Fact;
use super::state::{Abs, MAX_SCALE, Operand, UNKNOWN, Val};

/// Whether the value named `y` is below 2^32, from a fact about the name:
/// `y < n` with `n ≤ 2^32`. (Whether a *register* holds such a value is
/// the `narrow` bit, which the caller asks itself.) A slice length is not
/// enough: the host may hand in slices of 2^32 elements or more.
pub(super) fn below_2_32(st: &Abs, y: Val) -> bool {
    y != UNKNOWN
        && st
            .facts_first_about(y)
            .any(|f| matches!(f, Fact::BelowConst { idx, n } if idx == y && n <= 1 << 32))
}

/// Whether a 64-bit `add r, k` (`k ≥ 0`) of the value named `e` cannot
/// wrap, from a bound on `e` (the caller has asked the `narrow` bit
/// already): `e < n ≤ 2^32` and `k < 2^31` keep the sum below 2^33; and
/// `e < table(w, s)[m]`, an entry of at most 2^64 − 1, leaves room for
/// `k = 1`.
pub(super) fn add_cannot_wrap(st: &Abs, e: Val, k: u32) -> bool {
    if e == UNKNOWN {
        return false;
    }
    st.facts_first_about(e).any(|f| match f {
        Fact::BelowConst { idx, n } => idx == e && n <= 1 << 32 && k < 1 << 31,
        Fact::BelowLen { idx, .. } => idx == e && k == 1,
        _ => false,
    })
}

/// The factor of `imul x, y, imm` (64-bit) when the product is exact:
/// `1 ≤ imm ≤ MAX_SCALE` and `y < 2^32` (`y_narrow`: the register's bit,
/// or [`below_2_32`] of its name), so `imm·y < 2^48`.
pub(super) fn imul_factor(st: &Abs, y: Val, y_narrow: bool, imm: i64) -> Option<u32> {
    let k = u32::try_from(imm)
        .ok()
        .filter(|&k| (1..=MAX_SCALE).contains(&k))?;
    (y != UNKNOWN && (y_narrow || below_2_32(st, y))).then_some(k)
}

/// What a 64-bit `add r, c` of the value named `x` steps: the new counter
/// `t` and the factor `k`, when `x = k·y`, `k = c`, the counter was
/// stepped `t = y + 1` (a [`Fact::SumOf`]) and is below a length another
/// slice is at least `k` times as long as: `y < table(sw, ss)[small]` and
/// `table(·)[big] ≥ k · table(sw, ss)[small]`. Then `x + c = k·y + k =
/// k·t ≤ k · table(sw, ss)[small] ≤ table(·)[big] < 2^64`: the add did not
/// wrap, and the new value is `k·t` exactly.
pub(super) fn stepped(st: &Abs, x: Val, c: i64) -> Option<(Val, u32)> {
    if x == UNKNOWN {
        return None;
    }
    st.facts_first_about(x).find_map(|f| {
        let Fact::Scaled { x: fx, y, k } = f else {
            return None;
        };
        if fx != x || i64::from(k) != c {
            return None;
        }
        let t = st.facts().find_map(|g| match g {
            Fact::SumOf { t, e, k: 1 } if e == y && t != UNKNOWN => Some(t),
            _ => None,
        })?;
        below_scaled_len(st, y, k).then_some((t, k))
    })
}

/// Whether `y < table(sw, ss)[small]` for some entry that some other entry
/// is at least `k` times as large as.
fn below_scaled_len(st: &Abs, y: Val, k: u32) -> bool {
    st.facts_first_about(y).any(|f| match f {
        Fact::BelowLen { idx, m, w, s } if idx == y => st.facts().any(|g| {
            matches!(g, Fact::LenScaled { small, sw, ss, k: gk, .. }
                if small == m && sw == w && ss == s && gk == k)
        }),
        _ => false,
    })
}

/// What an edge where `a ≤ b` (unsigned, 64-bit compare) teaches: for
/// `a = k·y` with `y = table(sw, ss)[small]`, and `b` an entry
/// `table(bw, bs)[big]` (the compare's memory operand, or a name that is
/// one), `table(bw, bs)[big] ≥ k · table(sw, ss)[small]`. At most four
/// facts, read before any is added (adding may reorder the table).
pub(super) fn learn_len_scaled(st: &mut Abs, a: Val, b: Operand) {
    if a == UNKNOWN {
        return;
    }
    let mut out = [None; 4];
    let mut n = 0usize;
    let bigs = |st: &Abs, each: &mut dyn FnMut(Val, bool, u8)| match b {
        Operand::Len { m, w, s } => each(m, w, s),
        Operand::Val(v) if v != UNKNOWN => {
            for f in st.facts_first_about(v) {
                if let Fact::LenOf { len, m, w, s } = f
                    && len == v
                {
                    each(m, w, s);
                }
            }
        }
        _ => {}
    };
    for f in st.facts_first_about(a) {
        let Fact::Scaled { x, y, k } = f else {
            continue;
        };
        if x != a {
            continue;
        }
        for g in st.facts_first_about(y) {
            let Fact::LenOf {
                len,
                m: small,
                w: sw,
                s: ss,
            } = g
            else {
                continue;
            };
            if len != y {
                continue;
            }
            bigs(st, &mut |big, bw, bs| {
                if let Some(slot) = out.get_mut(n) {
                    *slot = Some(Fact::LenScaled {
                        big,
                        bw,
                        bs,
                        small,
                        sw,
                        ss,
                        k,
                    });
                    n = n.saturating_add(1);
                }
            });
        }
    }
    for f in out.into_iter().flatten() {
        st.add(f);
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
    let s64 = u64::from(s);
    st.facts_first_about(i).any(|f| {
        let Fact::Scaled { x, y, k } = f else {
            return false;
        };
        let room = u64::from(k).saturating_mul(s64);
        if x != i || disp.saturating_add(s64) > room {
            return false;
        }
        st.facts_first_about(y).any(|g| match g {
            Fact::BelowLen {
                idx,
                m: small,
                w: sw,
                s: ss,
            } if idx == y => st.facts().any(|h| {
                matches!(h, Fact::LenScaled { big, bw, bs, small: hs, sw: hw, ss: hss, k: hk }
                    if big == m && bs == s && (bw || !write)
                        && hs == small && hw == sw && hss == ss && hk == k)
            }),
            _ => false,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        // A slice length is not below 2^32 by the host's contract.
        let len = with(&[Fact::LenOf {
            len: y,
            m: Y,
            w: false,
            s: 1,
        }]);
        assert_eq!(imul_factor(&len, y, false, 3), None);
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
        // Below a length of at most 2^64 - 1: room for 1, not for 2.
        assert!(add_cannot_wrap(&below_len, e, 1));
        assert!(!add_cannot_wrap(&below_len, e, 2));
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
