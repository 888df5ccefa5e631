//! "Did you mean" suggestions by edit distance.

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

/// The most candidates a caller with very many names should offer
/// [`closest`]: each costs an edit distance.
pub const MAX_CANDIDATES: usize = 256;

/// The largest edit distance a suggestion for `name` may be at: a third of
/// its length, at least 1.
pub fn limit(name: &str) -> usize {
    (name.chars().count() / 3).max(1)
}

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

/// The closest candidate within a distance that scales with the name's
/// length ([`limit`]), ties broken alphabetically.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = limit(name);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                edit_distance(name, c)
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
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
        assert_eq!(closest("Count", ["count"]), Some("count"));
    }
}
