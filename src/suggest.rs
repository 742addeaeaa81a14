//! "Did you mean …?" for names that match nothing: case-insensitive edit distance.

/// Levenshtein distance over chars.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within a third of the name's length (at least 2 edits), if any.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.trim().to_lowercase();
    let limit = (lower.chars().count() / 3).max(2);
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    // Else a name that contains a known one as a word, or the other way round
    // ("OEE rate" -> "OEE"), the longest first.
    close.or_else(|| {
        candidates
            .iter()
            .filter(|c| {
                let cl = c.to_lowercase();
                cl.chars().count() >= 3
                    && (lower.split_whitespace().any(|w| w == cl)
                        || cl.split_whitespace().any(|w| w == lower)
                        || (lower.contains(&cl) && lower.contains(' ')))
            })
            .max_by_key(|c| c.len())
            .copied()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("Süd", "Sud"), 1);
    }

    #[test]
    fn suggestions() {
        let names = ["OEE", "Scrap rate", "Montage Süd"];
        assert_eq!(did_you_mean("scrap rat", names), Some("Scrap rate"));
        assert_eq!(did_you_mean("Montage Sud", names), Some("Montage Süd"));
        assert_eq!(did_you_mean("Throughput", names), None);
        assert_eq!(did_you_mean("OEE rate", names), Some("OEE"));
    }
}
