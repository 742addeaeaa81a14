//! Finding the header row among the first rows of a file: title rows, notes and blank rows
//! above it are skipped.

/// How many rows at the top are searched.
pub(crate) const SEARCH_ROWS: usize = 50;

/// One candidate row as text cells.
pub(crate) struct Candidate {
    /// 1-based row number.
    pub(crate) number: u64,
    pub(crate) cells: Vec<String>,
    /// Per cell: true when the cell is a label (text that is not a number or a date).
    pub(crate) label: Vec<bool>,
}

/// Whether a text cell looks like data rather than a column name: a number (with decimal
/// comma or point, thousands separators, percent) or a date/time (digits and `.`/`-`/`/`/`:`).
pub(crate) fn looks_like_data(s: &str) -> bool {
    let t = s.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return false;
    }
    let mut digits = 0;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits += 1;
        } else if !matches!(c, '.' | ',' | '-' | '+' | '/' | ':' | ' ' | '\u{a0}' | '\'') {
            return false;
        }
    }
    digits > 0
}

/// The outcome: the chosen row (index into the candidates) and why.
pub(crate) struct Choice {
    pub(crate) index: usize,
    pub(crate) note: String,
}

/// Picks the header row. With expected column names, the row matching the most of them
/// (case-insensitive) wins, earliest first. Otherwise, the first row whose non-empty cells
/// are all labels and which has at least two of them and at least half as many as the widest
/// row in the search window.
pub(crate) fn choose(candidates: &[Candidate], expected: &[String]) -> Option<Choice> {
    let expected: Vec<String> = expected.iter().map(|e| e.trim().to_lowercase()).collect();
    if !expected.is_empty() {
        let mut best: Option<(usize, usize)> = None;
        for (i, c) in candidates.iter().enumerate() {
            // Each cell lowercased once: lowercasing it again for each expected name took
            // 41 M instructions on a 52-column export (50 rows x 52 names x 52 cells).
            let cells: std::collections::HashSet<String> = c
                .cells
                .iter()
                .map(|cell| cell.trim().to_lowercase())
                .collect();
            let matches = expected.iter().filter(|e| cells.contains(*e)).count();
            if matches > 0 && best.is_none_or(|(_, m)| matches > m) {
                best = Some((i, matches));
            }
        }
        if let Some((i, m)) = best {
            return Some(Choice {
                index: i,
                note: format!(
                    "row {} (detected: {m} of {} expected column names found there)",
                    candidates[i].number,
                    expected.len()
                ),
            });
        }
    }
    let widest = candidates
        .iter()
        .map(|c| c.cells.iter().filter(|s| !s.trim().is_empty()).count())
        .max()
        .unwrap_or(0);
    for (i, c) in candidates.iter().enumerate() {
        let non_empty = c.cells.iter().filter(|s| !s.trim().is_empty()).count();
        let labels = c
            .cells
            .iter()
            .zip(&c.label)
            .filter(|(s, l)| !s.trim().is_empty() && **l)
            .count();
        // A title merged across the columns fills them all with one text: not a header.
        let mut distinct: Vec<&str> = c
            .cells
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        let enough = distinct.len() >= 2.min(widest) && labels * 2 >= widest;
        if non_empty > 0 && labels == non_empty && enough {
            let skipped = if i == 0 {
                String::new()
            } else {
                "; rows above it skipped as titles or notes".to_string()
            };
            return Some(Choice {
                index: i,
                note: format!(
                    "row {} (detected: first row of {labels} column names{skipped})",
                    c.number
                ),
            });
        }
    }
    None
}

/// The header row: the configured one (1-based `row`), or the detected one. `Ok` is the
/// candidate's index and a note saying how it was found; `Err` is (message, help).
pub(crate) fn pick(
    candidates: &[Candidate],
    configured: Option<u64>,
    expected: &[String],
) -> Result<(usize, String), (String, String)> {
    match configured {
        Some(l) => candidates
            .iter()
            .position(|c| c.number == l)
            .map(|i| (i, format!("row {l} (configured)")))
            .ok_or_else(|| {
                (
                    format!("header_row = {l}, but row {l} is blank or outside the data"),
                    "set header_row to the row (CSV: line; blank lines count) that holds the column names".into(),
                )
            }),
        None => choose(candidates, expected)
            .map(|c| (c.index, c.note))
            .ok_or_else(|| {
                (
                    format!(
                        "no header row found in the first {} rows: no row has column names (text that is not numbers or dates) across the columns",
                        candidates.len()
                    ),
                    "set header_row in the mapping's [source] section (or --header-row) to the row with the column names".into(),
                )
            }),
    }
}

/// The header's column names up to the last non-empty one.
pub(crate) fn names(header: &Candidate) -> Vec<String> {
    let width = header
        .cells
        .iter()
        .rposition(|c| !c.is_empty())
        .map(|i| i + 1)
        .unwrap_or(0);
    header.cells[..width].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(number: u64, cells: &[&str]) -> Candidate {
        Candidate {
            number,
            cells: cells.iter().map(|s| s.to_string()).collect(),
            label: cells.iter().map(|s| !looks_like_data(s)).collect(),
        }
    }

    #[test]
    fn data_detection() {
        assert!(looks_like_data("85,5 %"));
        assert!(looks_like_data("01.01.2025"));
        assert!(looks_like_data("1.234.567,89"));
        assert!(looks_like_data("14:43"));
        assert!(!looks_like_data("OEE %"));
        assert!(!looks_like_data("Datum"));
        assert!(!looks_like_data(""));
    }

    #[test]
    fn skips_titles_and_blank_rows() {
        let rows = [
            cand(1, &["OEE report, plant 3", "", ""]),
            cand(2, &["", "", ""]),
            cand(3, &["Exported", "05.01.2025", ""]),
            cand(4, &["Datum", "Team", "OEE %"]),
            cand(5, &["01.01.2025", "Montage Süd", "85,5"]),
        ];
        let c = choose(&rows, &[]).unwrap();
        assert_eq!(c.index, 3);
        assert!(c.note.contains("row 4"));
    }

    #[test]
    fn a_merged_title_is_not_a_header() {
        let rows = [
            cand(1, &["OEE Export", "OEE Export", "OEE Export"]),
            cand(2, &["Date", "Team", "Amount"]),
        ];
        assert_eq!(choose(&rows, &[]).unwrap().index, 1);
    }

    #[test]
    fn expected_names_win() {
        let rows = [
            cand(1, &["Plant", "Line"]),
            cand(2, &["Date", "Team", "Amount"]),
        ];
        assert_eq!(choose(&rows, &[]).unwrap().index, 0);
        let c = choose(&rows, &["date".into(), "amount".into()]).unwrap();
        assert_eq!(c.index, 1);
    }

    #[test]
    fn the_row_with_most_expected_names_wins_in_any_case_and_spacing() {
        let rows = [
            cand(1, &["Report", "Date"]),
            cand(2, &[" DATE ", "team", "Amount", "amount"]),
            cand(3, &["Date", "Team", "x"]),
        ];
        let expected = ["date".into(), "Team ".into(), "AMOUNT".into()];
        let c = choose(&rows, &expected).unwrap();
        assert_eq!(c.index, 1);
        assert!(c.note.contains("3 of 3"), "{}", c.note);
        // An expected name given twice counts twice, as before.
        let c = choose(&rows, &["date".into(), "date".into()]).unwrap();
        assert_eq!(c.index, 0);
        assert!(c.note.contains("2 of 2"), "{}", c.note);
    }

    #[test]
    fn no_header_in_pure_data() {
        let rows = [cand(1, &["1", "2"]), cand(2, &["3", "4"])];
        assert!(choose(&rows, &[]).is_none());
    }
}
