//! What a conditional branch learns about slice lengths and indexes from
//! the flags' comparison, read from the packed fact table (see
//! `transfer::refine`, which calls these).

use super::{
    Abs, K_BELOW_LEN, LEN_PAYLOAD, Rec, T_BELOW_CONST, T_CONST, T_LEN_AT_LEAST, UNKNOWN, Val,
};

impl Abs {
    /// What a branch learns from `v >= n` (`n > 0`) when `v` is a slice
    /// length: for each `Fact::LenOf` `{ len: v, m, w, s }` (the first
    /// four, in table order), `Fact::LenAtLeast` `{ m, w, s, n }`.
    /// Read from the packed table directly: unpacking every fact about `v`
    /// into [`Fact`]s on the stack cost a branch far more time than its
    /// instructions (stores and loads of different widths).
    pub(in crate::verify) fn learn_len_at_least(&mut self, v: Val, n: u32) {
        self.learn(v, |r| {
            r.is_len_of().then(|| Rec {
                a: r.b,
                b: T_LEN_AT_LEAST,
                k: ((r.k & LEN_PAYLOAD) << 32) | u64::from(n),
            })
        });
    }

    /// What a branch learns from `idx < v`: for each of the first four
    /// facts about `v` that is a `Fact::LenOf` `{ len: v, m, w, s }` or a
    /// `Fact::Const` `(v, c)` with `c > 0`, in table order,
    /// `Fact::BelowLen` `{ idx, m, w, s }` or `Fact::BelowConst`
    /// `{ idx, n: c }` (see [`Abs::learn_len_at_least`] on why packed).
    pub(in crate::verify) fn learn_below(&mut self, idx: Val, v: Val) {
        self.learn(v, |r| {
            if r.is_len_of() {
                Some(Rec {
                    a: idx,
                    b: r.b,
                    k: K_BELOW_LEN | (r.k & LEN_PAYLOAD),
                })
            } else if r.b == T_CONST && r.k > 0 {
                Some(Rec {
                    a: idx,
                    b: T_BELOW_CONST,
                    k: r.k,
                })
            } else {
                None
            }
        });
    }

    /// Adds the first four facts `learn` makes of the facts whose first
    /// name is `v` (as [`Abs::facts_first_about`] lists them), once all
    /// four are read: adding one may reorder the table being read.
    fn learn(&mut self, v: Val, learn: impl Fn(&Rec) -> Option<Rec>) {
        let mut out = [None; 4];
        if v == UNKNOWN || !self.firsts.may_contain(v) {
            return;
        }
        let mut k = 0usize;
        for r in self.recs().iter().filter(|r| r.a == v) {
            if let Some(g) = learn(r)
                && let Some(slot) = out.get_mut(k)
            {
                *slot = Some(g);
                k = k.saturating_add(1);
            }
        }
        for g in out.into_iter().flatten() {
            self.add_rec(g);
        }
    }
}
