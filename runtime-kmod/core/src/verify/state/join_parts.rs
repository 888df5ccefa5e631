//! The join's parts that are not the state's own methods: how tracked
//! slots and facts are read across a join (`Abs::join`), and what the
//! written bytes become.

use super::{Abs, NO_SLOT, Pairs, Rec, SLOTS, Slot, UNKNOWN, is_fresh, is_phi_of};

/// The tracked slots after a join of `a` with `e` at block `b`: those
/// tracked at the same depth on both sides, in `a`'s order, each named by
/// `pairs` for its pair of values (locations `16 + position`); and whether
/// a side stops tracking a slot that may hold an address (the bytes stay
/// in memory untracked: the joined `stack_dirty` must then be set).
pub(super) fn join_slots(a: &Abs, e: &Abs, pairs: &mut Pairs, b: u32) -> ([Slot; SLOTS], bool) {
    let mut slots = [NO_SLOT; SLOTS];
    let mut dirty = false;
    let mut n = 0usize;
    if a.slots == e.slots {
        // The same slots on both sides (most joins): each tracked one
        // stays as it is, which is what the general case below does for
        // it (`e` tracks it at the same position), unless it holds a stale
        // name. One pass lists them and looks for one.
        let mut stale = false;
        for &sa in a.slots.iter().filter(|s| s.val() != UNKNOWN) {
            stale |= is_phi_of(sa.val(), b);
            if let Some(s) = slots.get_mut(n) {
                *s = sa;
                n = n.saturating_add(1);
            }
        }
        if !stale {
            // Every slot `e` tracks (a name other than `UNKNOWN`) `a`
            // tracks at the same depth, so `e_drops_ptr_slot` can only be
            // true of an untracked entry with its address bit set.
            let dropped = e
                .slots
                .iter()
                .any(|s| s.ptr() && s.val() == UNKNOWN && a.slot(s.depth()).is_none());
            return (slots, dropped);
        }
        (slots, n) = ([NO_SLOT; SLOTS], 0);
    }
    for (i, &sa) in a.slots.iter().enumerate() {
        if sa.val() == UNKNOWN {
            continue;
        }
        if e.slots.get(i) == Some(&sa) && !is_phi_of(sa.val(), b) {
            // The same slot on both sides keeps its name and bits.
            if let Some(s) = slots.get_mut(n) {
                *s = sa;
                n = n.saturating_add(1);
            }
            continue;
        }
        let Some(se) = e.slot_near(sa.depth(), i) else {
            dirty |= sa.ptr();
            continue;
        };
        let loc = u8::try_from(16usize.saturating_add(n)).unwrap_or(31);
        let v = pairs.name(sa.val(), se.val(), b, loc);
        if v != UNKNOWN
            && let Some(s) = slots.get_mut(n)
        {
            *s = Slot::new(
                sa.depth(),
                v,
                sa.ptr() || se.ptr(),
                sa.narrow() && se.narrow(),
            );
            n = n.saturating_add(1);
        }
    }
    (slots, dirty | e_drops_ptr_slot(a, e))
}

/// Whether [`join_slots`] of two sides that both have `slots` gives
/// `slots` back and drops no address: no slot holds a stale `phi(b, ·)`
/// (it would be renamed), the tracked slots come first (the join lists
/// them without gaps), and every other entry is empty (an untracked entry
/// with its address bit set would be dropped, and its bit would go to
/// `stack_dirty`).
pub(super) fn slots_kept(slots: &[Slot; SLOTS], b: u32) -> bool {
    let mut gap = false;
    for s in slots {
        if *s == NO_SLOT {
            gap = true;
        } else if gap || s.val() == UNKNOWN || is_phi_of(s.val(), b) {
            return false;
        }
    }
    true
}

/// Whether `e` tracks a slot that may hold an address at a depth `a` does
/// not track (the join then loses it; see [`join_slots`]).
fn e_drops_ptr_slot(a: &Abs, e: &Abs) -> bool {
    e.slots
        .iter()
        .any(|s| s.ptr() && a.slot(s.depth()).is_none())
}

/// Renamed facts a join can read from `fa`, a fact of side `a`: for every
/// way to read its names as joined names (see [`Pairs::options`]), the fact
/// about the joined names, given to `sink` when `e` has the fact about the
/// names on its side. `e` is `None` at a loop header's first join, where
/// both sides are the edge's state and every pair is `(v, v)`: the fact
/// about the names on `e`'s side is then `fa` itself, which the edge has.
/// The reading as itself is left out (the caller decided it); so are, at a
/// loop header's first join, a constant or a length for a register the
/// loop writes (what it held on entry is rarely what the back edge
/// brings).
///
/// Every reading given to `sink` reaches a location (what [`reaches`](super::reaches)
/// asks of every fact a join keeps), without a scan: it names at least one
/// joined name from `pairs` (the only reading made of unrenamed names alone
/// is the reading as itself, left out above, since a stale name has no
/// such reading), and the caller has put every joined name `pairs` made
/// into the location it was made for before calling (a register by
/// [`Abs::join`] and `join_in_place`, a slot by [`join_slots`]).
pub(super) fn renamed_readings(
    fa: &Rec,
    pairs: &Pairs,
    b: u32,
    fresh: u16,
    e: Option<&Abs>,
    mut sink: impl FnMut(Rec),
) {
    let [x0, x1] = fa.args();
    if fa.unary() {
        // The loops below for a one-name fact (most facts), without the
        // options: its readings are `x0`'s pairs', as many as `options`
        // keeps (it puts `(x0, x0)`, the reading left out, first when `x0`
        // reads as itself; no pair reads so: `x0` is no `phi(b, ·)` then).
        let mut room = 3u8.saturating_sub(u8::from(x0 != UNKNOWN && !is_phi_of(x0, b)));
        for p in pairs.list.get(..pairs.n).unwrap_or(&[]) {
            if p.0 != x0 {
                continue;
            }
            let (e0, j0) = (p.1, p.2);
            let fj = fa.with_args([j0, 0]);
            if !(fj.is_const_or_len() && is_fresh(j0, b, fresh))
                && e.is_none_or(|e| e.has_rec(fa.with_args([e0, 0])))
            {
                sink(fj);
            }
            room = room.saturating_sub(1);
            if room == 0 {
                break;
            }
        }
        return;
    }
    // A stale name has no reading as itself: `(x, x)` is then a pair.
    let stale = is_phi_of(x0, b) || is_phi_of(x1, b);
    let (c0, n0) = pairs.options(x0, b);
    let (c1, n1) = pairs.options(x1, b);
    // A two-name fact keeps its kind under any renaming (`with_args`
    // replaces both names and keeps the payload), so whether a reading is
    // a length is the fact's.
    let len = fa.is_const_or_len();
    for &(e0, j0) in c0.get(..n0).unwrap_or(&[]) {
        for &(e1, j1) in c1.get(..n1).unwrap_or(&[]) {
            if !stale && (e0, j0) == (x0, x0) && (e1, j1) == (x1, x1) {
                continue;
            }
            if len && is_fresh(j0, b, fresh) {
                continue;
            }
            // `has_rec` first: its filter rejects most readings at once.
            if e.is_none_or(|e| e.has_rec(fa.with_args([e0, e1]))) {
                sink(fa.with_args([j0, j1]));
            }
        }
    }
}

/// The bytes written on both paths.
pub(super) fn intersect((alo, ahi): (u32, u32), (elo, ehi): (u32, u32)) -> (u32, u32) {
    let (lo, hi) = (alo.max(elo), ahi.min(ehi));
    if lo < hi { (lo, hi) } else { (0, 0) }
}
