//! "Did you mean …?" for names that match nothing: case-insensitive edit distance (strsim).

/// Edit distance (Levenshtein, over characters).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// The closest candidate within a third of the name's length (at least 2 edits), if any.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // A name is short; a long cell is not one, and comparing it with every name would cost
    // its length times theirs.
    if name.len() > 200 {
        return None;
    }
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
