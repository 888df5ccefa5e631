//! "Did you mean" suggestions by edit distance.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// Edit distance in chars, counting an adjacent transposition (`conut` →
/// `count`) as one edit: optimal string alignment distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = best;
        }
    }
    d[a.len() * w + b.len()]
}

/// The edit distance of [`edit_distance`] if it is at most `limit`, else
/// `None`, in less time: a length difference over `limit` answers at once;
/// names of up to [`SHORT`] chars (all but the hostile ones) use buffers on
/// the stack instead of three allocations, and longer ones only the cells
/// within `limit` of the diagonal ([`banded_distance_within`]); and the rows
/// stop as soon as two in a row exceed `limit` everywhere. (Each cell of the
/// next row is at least the least cell of the row above, or of the row above
/// that plus one for a transposition, so from there on every cell exceeds
/// `limit`, the last one too.) A "did you mean" computes thousands of these
/// in a file with many unknown names.
pub fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la.abs_diff(lb) > limit {
        return None;
    }
    if la > SHORT || lb > SHORT {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        return banded_distance_within(&a, &b, limit);
    }
    let mut ab = ['\0'; SHORT];
    let mut bb = ['\0'; SHORT];
    for (d, c) in ab.iter_mut().zip(a.chars()) {
        *d = c;
    }
    for (d, c) in bb.iter_mut().zip(b.chars()) {
        *d = c;
    }
    let (a, b) = (&ab[..la], &bb[..lb]);
    // Row `i` of the distance table is `rows[i % 3]`: the transposition
    // looks two rows up.
    let mut rows = [[0usize; SHORT + 1]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(lb + 1) {
        *cell = j;
    }
    let mut above_min = 0;
    for i in 1..=la {
        let (cur, up, up2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[cur][0] = i;
        let mut row_min = i;
        for j in 1..=lb {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[up][j] + 1)
                .min(rows[cur][j - 1] + 1)
                .min(rows[up][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[up2][j - 2] + 1);
            }
            rows[cur][j] = best;
            row_min = row_min.min(best);
        }
        if row_min > limit && above_min > limit {
            return None;
        }
        above_min = row_min;
    }
    let d = rows[la % 3][lb];
    (d <= limit).then_some(d)
}

/// [`distance_within`] for names of any length, in `O(len · limit)` time
/// and `O(limit)` memory. Cell `(i, j)` of the distance table is at least
/// `|j - i|` (each step off the diagonal is an insertion or a deletion), and
/// a path from it to the last cell costs at least the difference of what is
/// left of the two names, `|(lb - j) - (la - i)|`. A cell where the two add
/// up to more than `limit` is on no path within `limit`, so only the band of
/// diagonals `k = j - i` where `|k| + |lb - la - k| <= limit` is computed (at
/// most `limit + 1` of them: half of `|k| <= limit`), three rows of it, and
/// every value over `limit` is kept as `limit + 1`: each computed cell is the
/// table's value when that is within `limit`, and over it otherwise. Without
/// this, a 500,000-char unknown name against a declared one of the same
/// length filled a table of 2.5 · 10¹¹ cells (a "did you mean" that never
/// ended).
fn banded_distance_within(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > limit {
        return None;
    }
    let over = limit + 1;
    // The diagonals `k` of the band are `low..=low + width - 1`, written as
    // offsets from `low`: `k - low = j - i - low`. With `skew = lb - la` (at
    // most `limit` either way), `|k| + |skew - k| <= limit` holds exactly
    // for `k` from `(skew - limit) / 2` rounded up to `(skew + limit) / 2`
    // rounded down.
    let (limit_i, skew) = (limit as isize, lb as isize - la as isize);
    let low = (skew - limit_i).div_euclid(2) + (skew - limit_i).rem_euclid(2);
    let high = (skew + limit_i).div_euclid(2);
    let width = (high - low + 1) as usize;
    // Cell `(i, j)` is `row_i[j - i - low]`: the cell above is one to the
    // right, the one to the left one to the left, and the diagonal ones
    // (substitution, transposition) at the same place.
    let at = |i: usize, j: usize| (j as isize - i as isize - low) as usize;
    let (mut up2, mut up, mut cur) = (vec![over; width], vec![over; width], vec![over; width]);
    for j in 0..=lb.min(high.max(0) as usize) {
        if j as isize >= low {
            up[at(0, j)] = j;
        }
    }
    let mut above_min = 0;
    for i in 1..=la {
        cur.fill(over);
        // Column 0, `k = -i`, while it is in the band.
        if -(i as isize) >= low {
            cur[at(i, 0)] = i.min(over);
        }
        let first = (i as isize + low).max(1);
        let last = (i as isize + high).min(lb as isize);
        for j in first as usize..=last.max(0) as usize {
            let here = at(i, j);
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = up[here] + cost;
            if let Some(&above) = up.get(here + 1) {
                best = best.min(above + 1);
            }
            if let Some(&left) = here.checked_sub(1).and_then(|l| cur.get(l)) {
                best = best.min(left + 1);
            }
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(up2[here] + 1);
            }
            cur[here] = best.min(over);
        }
        let row_min = cur.iter().copied().min().unwrap_or(over);
        if row_min > limit && above_min > limit {
            return None;
        }
        above_min = row_min;
        // The row two up is the next row's scratch space.
        std::mem::swap(&mut up2, &mut up);
        std::mem::swap(&mut up, &mut cur);
    }
    let d = up[at(la, lb)];
    (d <= limit).then_some(d)
}

/// Names longer than this (in chars) take [`banded_distance_within`].
const SHORT: usize = 64;

/// The most candidates a caller with very many names should offer
/// [`closest`]: each costs an edit distance.
pub const MAX_CANDIDATES: usize = 256;

/// The largest edit distance a suggestion for `name` may be at: a third of
/// its length, at least 1 and at most [`MAX_LIMIT`].
pub fn limit(name: &str) -> usize {
    (name.chars().count() / 3).clamp(1, MAX_LIMIT)
}

/// The limit of a name of [`SHORT`] chars, and of every longer one: a
/// name of 100 chars with 30 letters wrong is not a misspelling, and the
/// cost of a comparison ([`banded_distance_within`]) grows with the limit.
const MAX_LIMIT: usize = SHORT / 3;

/// How many candidates of a near length a name longer than [`SHORT`] chars
/// is compared with (the likeliest come first: [`NameIndex::near`]). Each
/// comparison costs `len · (2 · MAX_LIMIT + 1)` steps, so that a file of
/// such names, each misspelt, costs a constant times its size, as a file of
/// short ones does (which the bit-vector path of [`Pattern`] makes cheap).
const LONG_CANDIDATES: usize = 4;

/// The lengths a candidate for `name` may have (at most [`limit`] away
/// from its own), closest first: `len`, `len + 1`, `len - 1`, `len + 2`, …
/// For callers that index their names by length, so that a "did you mean"
/// looks at the likeliest names first and can stop at [`MAX_CANDIDATES`].
pub fn nearby_lengths(name: &str) -> impl Iterator<Item = usize> {
    let len = name.chars().count();
    (0..=limit(name)).flat_map(move |delta| {
        [
            len.checked_add(delta),
            len.checked_sub(delta).filter(|_| delta > 0),
        ]
        .into_iter()
        .flatten()
    })
}

/// Names of one length (of one kind, in one scope), kept where a "did you
/// mean" that cannot look at all of them looks first: [`NameIndex::near`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameIndex {
    /// The names, in alphabetical order.
    forward: BTreeSet<String>,
    /// Each name spelt backwards, to the name.
    backward: BTreeMap<String, String>,
}

impl NameIndex {
    pub fn insert(&mut self, name: &str) {
        self.forward.insert(name.to_string());
        self.backward.insert(reversed(name), name.to_string());
    }

    pub fn remove(&mut self, name: &str) {
        self.forward.remove(name);
        self.backward.remove(&reversed(name));
    }

    /// The names nearest to `name`, nearest first: alternately the next
    /// nearest in alphabetical order (before or after it, in turn) and the
    /// next nearest spelt backwards. A misspelling usually keeps a name's
    /// first letters or its last ones (`hnadler_7` for `handler_7`), so the
    /// name it means is near it in one of the two orders; taking the first
    /// names of the alphabet instead would make "did you mean" in a file
    /// with hundreds of names of one length point at an unrelated one. A
    /// name may come twice.
    pub fn near<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> + 's {
        let before = self
            .forward
            .range::<str, _>((Bound::Unbounded, Bound::Excluded(name)))
            .rev();
        let after = self
            .forward
            .range::<str, _>((Bound::Included(name), Bound::Unbounded));
        let by_start = interleave(before, after).map(String::as_str);
        let backwards = reversed(name);
        let before = self
            .backward
            .range::<String, _>((Bound::Unbounded, Bound::Excluded(backwards.clone())))
            .rev();
        let after = self
            .backward
            .range::<String, _>((Bound::Included(backwards), Bound::Unbounded));
        let by_end = interleave(before, after).map(|(_, n)| n.as_str());
        interleave(by_start, by_end)
    }
}

fn reversed(name: &str) -> String {
    name.chars().rev().collect()
}

/// `a0, b0, a1, b1, …`, then the rest of the longer one.
fn interleave<T>(
    a: impl Iterator<Item = T>,
    b: impl Iterator<Item = T>,
) -> impl Iterator<Item = T> {
    let (mut a, mut b) = (a.fuse(), b.fuse());
    let mut a_next = true;
    std::iter::from_fn(move || {
        let next = if a_next {
            a.next().or_else(|| b.next())
        } else {
            b.next().or_else(|| a.next())
        };
        a_next = !a_next;
        next
    })
}

/// The closest candidate within a distance that scales with the name's
/// length ([`limit`]), ties broken alphabetically. A name longer than
/// [`SHORT`] chars is compared only with the first [`LONG_CANDIDATES`]
/// candidates whose length is within that distance.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = limit(name);
    let len = name.chars().count();
    let compared = if len > SHORT {
        LONG_CANDIDATES
    } else {
        usize::MAX
    };
    let pattern = Pattern::new(name);
    // Nearest lengths first: the length difference is a lower bound of the
    // distance, so once a candidate at distance `d` is found, only those
    // at most `d` longer or shorter can still win (or tie, and win by
    // name). A caller's locals then cost nothing when a function of the
    // name's own length is one edit away (each used to cost an edit
    // distance, in the order the caller listed them).
    let mut near: Vec<(usize, &str)> = candidates
        .into_iter()
        // `_` names nothing that can be read or called: never a suggestion.
        .filter(|&c| c != "_")
        .map(|c| (c.chars().count().abs_diff(len), c))
        .filter(|&(delta, _)| delta <= limit)
        .take(compared)
        .collect();
    near.sort_by_key(|&(delta, _)| delta);
    let mut best: Option<(usize, &str)> = None;
    for (delta, c) in near {
        let within = best.map_or(limit, |(d, _)| d);
        if delta > within {
            break;
        }
        // Distance 0 is the name itself, which is no suggestion; the same
        // name in other case is one, the closest there can be.
        let found = match pattern.distance_within(c, within) {
            Some(0) => None,
            _ if c.eq_ignore_ascii_case(name) => Some((0, c)),
            d => d.map(|d| (d, c)),
        };
        if let Some(f) = found
            && best.is_none_or(|b| f < b)
        {
            best = Some(f);
        }
    }
    best.map(|(_, c)| c)
}

/// A name prepared for many [`edit_distance`]s against candidates: for an
/// ASCII name of at most 64 bytes, where each of its bytes occurs, one bit
/// per position, so that an ASCII candidate costs a few word operations per
/// byte (the bit-vector algorithm of Myers, with Hyyrö's extension to
/// adjacent transpositions) instead of a row of the distance table. A "did
/// you mean" compares an unknown name with up to [`MAX_CANDIDATES`] names,
/// and a file may have thousands of unknown names.
struct Pattern<'n> {
    name: &'n str,
    /// `positions[b]`: bit `i` set where the name's byte `i` is `b`.
    positions: Option<[u64; 128]>,
}

impl<'n> Pattern<'n> {
    fn new(name: &'n str) -> Pattern<'n> {
        let positions = (name.is_ascii() && !name.is_empty() && name.len() <= 64).then(|| {
            let mut positions = [0u64; 128];
            for (i, b) in name.bytes().enumerate() {
                positions[usize::from(b)] |= 1 << i;
            }
            positions
        });
        Pattern { name, positions }
    }

    /// [`edit_distance`] to `c`, if it is at most `limit`.
    fn distance_within(&self, c: &str, limit: usize) -> Option<usize> {
        let Some(positions) = &self.positions else {
            return distance_within(self.name, c, limit);
        };
        if !c.is_ascii() {
            return distance_within(self.name, c, limit);
        }
        let m = self.name.len();
        if m.abs_diff(c.len()) > limit {
            return None;
        }
        // Column `j` of the distance table (the name down, `c` across) as
        // its vertical differences: bit `i` of `up` (`down`) set where cell
        // `i + 1` is one more (less) than cell `i`. Column 0 is 0, 1, …, m.
        let top = 1u64 << (m - 1);
        let (mut up, mut down) = (if m == 64 { u64::MAX } else { (1u64 << m) - 1 }, 0u64);
        let mut distance = m;
        let (mut diag_zero, mut eq_before) = (0u64, 0u64);
        for b in c.bytes() {
            let eq = positions[usize::from(b)];
            // A transposition: the name's bytes `i - 1, i` are `c`'s
            // `j, j - 1`, where the diagonal step before was not free.
            let swap = ((!diag_zero & eq) << 1) & eq_before;
            diag_zero = (((eq & up).wrapping_add(up)) ^ up) | eq | down | swap;
            let mut h_up = down | !(diag_zero | up);
            let mut h_down = diag_zero & up;
            if h_up & top != 0 {
                distance += 1;
            } else if h_down & top != 0 {
                distance -= 1;
            }
            // Row 0 is 0, 1, …: every horizontal step into it is +1.
            h_up = (h_up << 1) | 1;
            h_down <<= 1;
            up = h_down | !(diag_zero | h_up);
            down = h_up & diag_zero;
            eq_before = eq;
        }
        (distance <= limit).then_some(distance)
    }
}

/// The KPL type that a C or Rust programmer means by `name`, and why.
pub fn foreign_type(name: &str) -> Option<(&'static str, &'static str)> {
    const C: &str = "this is the C type of the same width on x86-64";
    const RUST: &str = "this is the Rust type of the same meaning";
    Some(match name {
        "uint8_t" | "uchar" | "byte" => ("u8", C),
        "char" => ("u8", "a C `char` is a byte"),
        "uint16_t" | "ushort" => ("u16", C),
        "uint32_t" | "uint" | "unsigned" | "unsigned int" => ("u32", C),
        "unsigned char" => ("u8", C),
        "signed char" => ("i8", C),
        "unsigned short" | "unsigned short int" => ("u16", C),
        "short int" => ("i16", C),
        "signed int" => ("i32", C),
        "unsigned long" | "unsigned long long" | "unsigned long int" => ("u64", C),
        "long long" | "long int" | "long long int" => ("i64", C),
        "uint64_t" | "ulong" | "size_t" | "uintptr_t" => ("u64", C),
        "int8_t" => ("i8", C),
        "int16_t" | "short" => ("i16", C),
        "int32_t" | "int" => ("i32", C),
        "int64_t" | "long" | "ssize_t" | "intptr_t" | "ptrdiff_t" => ("i64", C),
        "boolean" | "_Bool" => ("bool", C),
        "usize" => ("u32", "lengths (`.len`) and indices are `u32` in KPL"),
        "isize" => ("i64", RUST),
        _ => return None,
    })
}

/// Whether identifier `name` is probably keyword `k` misspelled: close by
/// edit distance (one edit, a transposition counting as one), but not a
/// shorter name that merely shares letters (`i` is not `if`).
pub(crate) fn is_typo_of(name: &str, k: &str) -> bool {
    // One edit changes the length by at most one: most names are out at once.
    name != k
        && name.len() + 1 >= k.len()
        && name.len() <= k.len() + 1
        && name.len() >= 2
        && edit_distance(name, k) <= 1
        || matches!(
            (k, name),
            ("fn", "fun" | "func" | "function" | "def") | ("return", "ret")
        )
}

/// The error for `found` written where keyword `keyword` was meant (see
/// [`is_typo_of`]), with the fix that writes the keyword: one message
/// whether the lexer or the parser finds it.
pub(crate) fn keyword_typo(
    found: &str,
    keyword: &str,
    span: crate::span::Span,
) -> crate::Diagnostic {
    crate::Diagnostic::new(
        crate::codes::Code::E0001,
        format!("`{found}` is not a keyword"),
        span,
        format!("did you mean `{keyword}`?"),
    )
    .with_fix(format!("write `{keyword}`"), span, keyword.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("conut", "count"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("conut", ["count", "cpu_id"]), Some("count"));
        assert_eq!(closest("x", ["y", "abc"]), Some("y"));
        assert_eq!(closest("totally", ["count"]), None);
        // Nearest lengths are compared first, but the answer is still the
        // closest name, ties to the alphabetically first, whatever the
        // order given and the lengths.
        assert_eq!(closest("abcd", ["abce", "abcx", "abc"]), Some("abc"));
        assert_eq!(closest("abcd", ["abc", "abcx", "abce"]), Some("abc"));
        assert_eq!(
            closest(
                "hnadler_7",
                ["value_7", "handler_8", "handler_7", "hander_7"]
            ),
            Some("handler_7")
        );
        assert_eq!(closest("Count", ["coun", "count"]), Some("count"));
        assert_eq!(closest("Count", ["count"]), Some("count"));
    }

    #[test]
    fn near_names_first_by_either_end() {
        let mut index = NameIndex::default();
        for n in ["handler_1", "handler_2", "handler_3", "zzz", "aaa"] {
            index.insert(n);
        }
        // Misspelt at the start: the name spelt backwards finds it.
        let near: Vec<&str> = index.near("hnadler_2").take(4).collect();
        assert!(near.contains(&"handler_2"), "{near:?}");
        // Misspelt at the end: alphabetical order finds it.
        let near: Vec<&str> = index.near("handler_2x").take(4).collect();
        assert!(near.contains(&"handler_2"), "{near:?}");
        index.remove("handler_2");
        assert!(!index.near("handler_2").any(|n| n == "handler_2"));
        assert_eq!(index.near("q").count(), 8);
    }

    /// `p.distance_within(b, limit)` is the table's distance when that is
    /// within `limit`, and `None` otherwise, for every limit of `limits`.
    fn assert_pattern_agrees(p: &Pattern<'_>, b: &str, limits: &[usize]) {
        let d = edit_distance(p.name, b);
        for &limit in limits {
            assert_eq!(
                p.distance_within(b, limit),
                (d <= limit).then_some(d),
                "{} {b} {limit}",
                p.name
            );
        }
    }

    /// The bit-vector distance agrees with the table on every pair of
    /// strings up to length 6 over a three-letter alphabet (where
    /// transpositions and repeats abound), and on long and non-ASCII ones.
    #[test]
    fn pattern_agrees_with_edit_distance() {
        let mut words = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..6 {
            let mut next = Vec::new();
            for w in &frontier {
                for c in ['a', 'b', 'c'] {
                    next.push(format!("{w}{c}"));
                }
            }
            words.extend(next.iter().cloned());
            frontier = next;
        }
        // Every word against a sample of the others (all pairs is 1.2 M).
        for (k, a) in words.iter().enumerate() {
            let p = Pattern::new(a);
            for b in words.iter().skip(k % 7).step_by(7) {
                assert_pattern_agrees(&p, b, &[0, 1, 2, 3, 6]);
            }
        }
        let long: Vec<String> = vec![
            "x".repeat(64),
            "x".repeat(63) + "y",
            "y".to_string() + &"x".repeat(63),
            "ab".repeat(32),
            "ba".repeat(32),
            "abc".repeat(21),
            "héllo".to_string(),
            "hello".to_string(),
        ];
        for a in &long {
            let p = Pattern::new(a);
            for b in &long {
                assert_pattern_agrees(&p, b, &[0, 1, 3, 64, 70]);
            }
        }
    }

    /// The band agrees with the whole table under every limit, on names
    /// past [`SHORT`] chars that differ at the start, the middle, the end,
    /// by transpositions, by length, and in non-ASCII letters.
    #[test]
    fn banded_distance_agrees_with_edit_distance() {
        let base: String = (0..90)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let mut words = vec![base.clone()];
        let edits: [fn(&mut Vec<char>); 8] = [
            |w| w.swap(0, 1),
            |w| w.swap(44, 45),
            |w| {
                let n = w.len();
                w.swap(n - 2, n - 1);
            },
            |w| w[30] = 'é',
            |w| {
                w.remove(10);
            },
            |w| w.insert(60, 'q'),
            |w| w.truncate(70),
            |w| w.extend("zzzzzzzzzzzzzzzzzzzzzzzzz".chars()),
        ];
        for (k, edit) in edits.iter().enumerate() {
            let mut w: Vec<char> = words[k % words.len()].chars().collect();
            edit(&mut w);
            words.push(w.into_iter().collect());
        }
        words.push("é".repeat(80));
        words.push("é".repeat(79) + "e");
        for a in &words {
            for b in &words {
                let d = edit_distance(a, b);
                for limit in [0, 1, 2, 3, 5, 8, 13, 21, 30, 100] {
                    let (ca, cb): (Vec<char>, Vec<char>) =
                        (a.chars().collect(), b.chars().collect());
                    assert_eq!(
                        banded_distance_within(&ca, &cb, limit),
                        (d <= limit).then_some(d),
                        "{a} {b} {limit}"
                    );
                    assert_eq!(distance_within(a, b, limit), (d <= limit).then_some(d));
                }
            }
        }
    }

    /// The band agrees with the whole table on every pair of words up to
    /// length 5 over a three-letter alphabet, under every limit up to past
    /// their lengths: every skew of lengths and every band edge.
    #[test]
    fn banded_distance_agrees_on_every_small_pair() {
        let mut words: Vec<Vec<char>> = vec![Vec::new()];
        let mut frontier = words.clone();
        for _ in 0..5 {
            let mut next = Vec::new();
            for w in &frontier {
                for c in ['a', 'b', 'c'] {
                    let mut w = w.clone();
                    w.push(c);
                    next.push(w);
                }
            }
            words.extend(next.iter().cloned());
            frontier = next;
        }
        for (k, a) in words.iter().enumerate() {
            for b in words.iter().skip(k % 3).step_by(3) {
                let (sa, sb): (String, String) = (a.iter().collect(), b.iter().collect());
                let d = edit_distance(&sa, &sb);
                for limit in 0..7 {
                    assert_eq!(
                        banded_distance_within(a, b, limit),
                        (d <= limit).then_some(d),
                        "{sa} {sb} {limit}"
                    );
                }
            }
        }
    }

    /// A name of any length gets its suggestion, in time and memory linear
    /// in its length: the whole table of two 200,000-char names is 4 · 10¹⁰
    /// cells, which this test could not fill.
    #[test]
    fn long_names_are_suggested_within_the_band() {
        let name = "a".repeat(200_000);
        let typo = "a".repeat(199_999) + "b";
        let swapped = "b".to_string() + &"a".repeat(199_998) + "c";
        assert_eq!(closest(&typo, [name.as_str()]), Some(name.as_str()));
        assert_eq!(closest(&swapped, [name.as_str()]), Some(name.as_str()));
        // Over the capped limit: no suggestion, however long the names.
        let far = "b".repeat(MAX_LIMIT + 1) + &"a".repeat(199_999 - MAX_LIMIT);
        assert_eq!(closest(&far, [name.as_str()]), None);
        // Only the first candidates of a near length are compared.
        let decoys: Vec<String> = (0..LONG_CANDIDATES)
            .map(|i| format!("{}{i}", "z".repeat(199_999)))
            .collect();
        let mut candidates: Vec<&str> = decoys.iter().map(String::as_str).collect();
        candidates.push(&name);
        assert_eq!(closest(&typo, candidates.iter().copied()), None);
        candidates.rotate_right(1);
        assert_eq!(closest(&typo, candidates), Some(name.as_str()));
    }

    /// `distance_within` agrees with `edit_distance` under every limit, on
    /// short names, names past the stack buffers, and non-ASCII ones.
    #[test]
    fn distance_within_agrees_with_edit_distance() {
        let long_a = "a".repeat(70) + "bc";
        let long_b = "a".repeat(70) + "cb";
        let words = [
            "", "a", "ab", "ba", "abc", "acb", "count", "conut", "cuont", "kitten", "sitting",
            "flaw", "lawn", "héllo", "hello", "ħello", "abcdefgh", "badcfehg", "totally", "x",
            "xyzzy", &long_a, &long_b,
        ];
        for a in words {
            for b in words {
                let d = edit_distance(a, b);
                for limit in 0..12 {
                    assert_eq!(
                        distance_within(a, b, limit),
                        (d <= limit).then_some(d),
                        "{a} {b} {limit}"
                    );
                }
            }
        }
    }
}
