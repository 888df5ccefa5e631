//! A join's working tables: the names it gives to pairs of values, and
//! room for the renamed facts it adds (see `Abs::join`).

use super::{EXTRA, NameSet, Rec, SLOTS, UNKNOWN, Val, is_phi_of, phi};

/// Locations per join: 12 registers and the slots.
const LOCS: usize = 12 + SLOTS;

/// The names a join gives to pairs of values `(on a's side, on e's side)`.
/// A join's working tables, kept by the caller from one join to the next
/// (in `Work`) so that no join clears them: zeroing them on every join
/// cost about 1 % of a large plugin's verification. Nothing is read from
/// them but entries written by the same join: [`Pairs`] reads its `list`
/// below `n` only, which [`JoinRoom::pairs`] and [`Pairs::clear`] reset to
/// 0, and `join_in_place` reads `extra` below its own count, which starts
/// at 0. So what a join computes does not depend on what an earlier join
/// left in them.
pub(crate) struct JoinRoom {
    pub(super) pairs: Pairs,
    pub(super) extra: [Rec; EXTRA],
}

impl JoinRoom {
    /// Empty tables.
    pub(crate) const EMPTY: JoinRoom = JoinRoom {
        pairs: Pairs {
            list: [(0, 0, 0); LOCS],
            n: 0,
            from: NameSet::EMPTY,
        },
        extra: [Rec::NONE; EXTRA],
    };

    /// The pairs, with none in them.
    pub(super) fn pairs(&mut self) -> &mut Pairs {
        self.pairs.clear();
        &mut self.pairs
    }
}

pub(super) struct Pairs {
    pub(super) list: [(Val, Val, Val); LOCS],
    pub(super) n: usize,
    /// Every `a`-side name of `list` (a clear bit: no renamed reading).
    pub(super) from: NameSet,
}

impl Pairs {
    /// No pairs: what a fresh table holds (the entries past `n` are never
    /// read).
    pub(super) fn clear(&mut self) {
        self.n = 0;
        self.from = NameSet::EMPTY;
    }

    pub(super) fn name(&mut self, va: Val, ve: Val, b: u32, loc: u8) -> Val {
        if va == ve && !is_phi_of(va, b) && va != UNKNOWN {
            return va;
        }
        self.name_renamed(va, ve, b, loc)
    }

    /// [`Pairs::name`] of a pair that does not keep its name (`va != ve`, or
    /// one stale `phi(b, ·)`: what `join_in_place` knows of its renamed
    /// registers): `name` would go straight on to this.
    pub(super) fn name_renamed(&mut self, va: Val, ve: Val, b: u32, loc: u8) -> Val {
        if va == UNKNOWN || ve == UNKNOWN {
            return UNKNOWN;
        }
        let seen = self.list.iter().take(self.n);
        if let Some(&(_, _, j)) = seen.clone().find(|p| p.0 == va && p.1 == ve) {
            return j;
        }
        let j = phi(b, loc);
        if let Some(slot) = self.list.get_mut(self.n) {
            *slot = (va, ve, j);
            self.n = self.n.saturating_add(1);
            self.from.insert(va);
        }
        j
    }

    /// A name of its own for register `loc`, which holds `va` on the one
    /// edge into `b` so far (the first join at a loop header, where `a`
    /// and `e` are the same state): facts about `va` are read for it as
    /// for any renamed location.
    pub(super) fn fresh(&mut self, va: Val, b: u32, loc: u8) -> Val {
        if va == UNKNOWN {
            return UNKNOWN;
        }
        let j = phi(b, loc);
        if let Some(slot) = self.list.get_mut(self.n) {
            *slot = (va, va, j);
            self.n = self.n.saturating_add(1);
            self.from.insert(va);
        }
        j
    }

    /// The ways a name `x` of side `a` can appear after the join: as
    /// `(name on e's side, joined name)`, the first `n` of the array. At
    /// most three: `x` itself (when it is not a stale `phi(b, ·)`), and the
    /// joined names of the first locations holding `x` on side `a`
    /// (locations with the same pair share their name; more pairs with the
    /// same `x` are rare, and missing one only loses a fact).
    pub(super) fn options(&self, x: Val, b: u32) -> ([(Val, Val); 3], usize) {
        let mut out = [(0, 0); 3];
        let mut k = 0usize;
        if x != UNKNOWN
            && !is_phi_of(x, b)
            && let Some(o) = out.first_mut()
        {
            *o = (x, x);
            k = 1;
        }
        for p in self.list.get(..self.n).unwrap_or(&[]) {
            if p.0 == x
                && let Some(o) = out.get_mut(k)
            {
                *o = (p.1, p.2);
                k = k.saturating_add(1);
            }
        }
        (out, k)
    }
}
