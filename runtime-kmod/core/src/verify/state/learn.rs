//! What a conditional branch learns about slice lengths and indexes from
//! the flags' comparison (see `transfer::refine`, which calls these), and
//! the lookups of the relational rules (`verify::scaled`, which states
//! what they prove), all read from the packed fact table: unpacking every
//! fact of a scan into a [`super::Fact`] cost more than the rules' work.

use super::{
    Abs, K_BELOW_LEN, K_SUM_OF, LEN_PAYLOAD, LEN_SCALED_BIG, LEN_SCALED_SMALL, Operand, Rec,
    T_BELOW_CONST, T_CONST, T_LEN_AT_LEAST, UNKNOWN, Val, factor, len_payload, len_scaled_payload,
    scaled_bit,
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

    /// Whether some `Fact::Scaled` has `x` first: the test that spares the
    /// relational rules (`verify::scaled`) their work at the branches and
    /// adds that have nothing to do with them, read from the packed table
    /// without unpacking a fact.
    #[inline]
    pub(in crate::verify) fn has_scaled(&self, x: Val) -> bool {
        x != UNKNOWN
            && self.scaled & scaled_bit(x) != 0
            && self.recs().iter().any(|r| r.a == x && r.is_scaled())
    }

    /// Whether the table may hold a `Fact::Scaled` (false: it holds none).
    #[inline]
    pub(in crate::verify) fn any_scaled(&self) -> bool {
        self.scaled != 0
    }

    /// Whether the value named `v` is below 2^32 by a fact about it (read
    /// packed, as [`Abs::has_scaled`]): `v < n` with `n <= 2^32`, `v` a
    /// slice length, or `v` below one (a length-table entry is below 2^32:
    /// the host's half of the contract, `sandbox.md`, section 7).
    pub(in crate::verify) fn below_2_32(&self, v: Val) -> bool {
        v != UNKNOWN
            && self.firsts.may_contain(v)
            && self.recs().iter().any(|r| {
                r.a == v
                    && ((r.b == T_BELOW_CONST && r.k <= 1 << 32)
                        || r.is_len_of()
                        || r.is_below_len())
            })
    }

    /// For `a = k·y` with `y` a slice length, and `b` one (a name, or the
    /// entry itself): `Fact::LenScaled` `{ big: b's handle, small: y's, k }`,
    /// the first four (see `scaled::learn_len_scaled`, which argues it).
    pub(in crate::verify) fn learn_len_scaled(&mut self, a: Val, b: Operand) {
        let mut out = [None; 4];
        let mut n = 0usize;
        let recs = self.recs();
        let lengths = |v: Val| {
            recs.iter()
                .filter(move |r| r.a == v && v != UNKNOWN && r.is_len_of())
                .map(|r| (r.b, r.k & LEN_PAYLOAD))
        };
        for (y, k) in self.scaled_of(a) {
            for (small, ps) in lengths(y) {
                let mut add = |big: Val, pb: u64| {
                    if let Some(slot) = out.get_mut(n) {
                        *slot = Some(Rec {
                            a: big,
                            b: small,
                            k: len_scaled_payload(k, pb, ps),
                        });
                        n = n.saturating_add(1);
                    }
                };
                match b {
                    Operand::Len { m, w, s } => add(m, len_payload(w, s)),
                    Operand::Val(v) => lengths(v).for_each(|(m, pb)| add(m, pb)),
                    Operand::Imm(_) => {}
                }
            }
        }
        for g in out.into_iter().flatten() {
            self.add_rec(g);
        }
    }

    /// The `(y, k)` of each `Fact::Scaled { x, y, k }` about `x`.
    pub(in crate::verify) fn scaled_of(&self, x: Val) -> impl Iterator<Item = (Val, u32)> + '_ {
        self.recs()
            .iter()
            .filter(move |r| r.a == x && x != UNKNOWN && r.is_scaled())
            .map(|r| (r.b, factor(r.k)))
    }

    /// The `t` of a `Fact::SumOf { t, e, k: 1 }`, if the table has one.
    pub(in crate::verify) fn successor_of(&self, e: Val) -> Option<Val> {
        self.recs()
            .iter()
            .find(|r| {
                r.b == e && e != UNKNOWN && r.a != UNKNOWN && r.k == K_SUM_OF | 1 && !r.unary()
            })
            .map(|r| r.a)
    }

    /// Whether `y < table(sw, ss)[small]` (a `Fact::BelowLen`) and some
    /// `Fact::LenScaled` says `table(bw, bs)[big] >= k · table(sw, ss)[small]`;
    /// with `big = Some((m, s, write))`, only for `big = m`, `bs = s` and,
    /// if `write`, `bw`.
    pub(in crate::verify) fn below_scaled_len(
        &self,
        y: Val,
        k: u32,
        big: Option<(Val, u8, bool)>,
    ) -> bool {
        let recs = self.recs();
        recs.iter()
            .filter(|r| r.a == y && y != UNKNOWN && r.is_below_len())
            .any(|r| {
                let small = r.k & LEN_PAYLOAD;
                recs.iter().any(|g| {
                    g.is_len_scaled()
                        && g.b == r.b
                        && (g.k >> LEN_SCALED_SMALL) & LEN_PAYLOAD == small
                        && factor(g.k) == k
                        && big.is_none_or(|(m, s, write)| {
                            let table = (g.k >> LEN_SCALED_BIG) & LEN_PAYLOAD;
                            g.a == m
                                && (table == len_payload(true, s)
                                    || (!write && table == len_payload(false, s)))
                        })
                })
            })
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
