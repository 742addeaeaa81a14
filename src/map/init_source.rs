//! What a file's first rows say about reading it, for `mapping init`: [`Detected`] and a
//! [`Sample`] of the first rows in; out, the `[source]` block the mapping keeps (so the next
//! export is read the same way, whatever a later sniff would decide) and which columns hold
//! dates.

use std::fmt::Write as _;

use crate::normalize::{DateOptions, parse_date_text};
use crate::read::{Detected, Format, Row};

/// How many data rows `mapping init` looks at.
pub(crate) const SAMPLE_ROWS: usize = 200;

/// The first rows' cells, per column: (text, the cell's kind as [`Cell::kind`](crate::read::Cell::kind) names it).
#[derive(Debug, Default, Clone)]
pub(crate) struct Sample {
    columns: Vec<Vec<(String, &'static str)>>,
}

impl Sample {
    /// Keeps `row`'s cells (up to [`SAMPLE_ROWS`] rows).
    pub(crate) fn add(&mut self, row: &Row<'_>, width: usize) {
        if self.columns.len() < width {
            self.columns.resize(width, Vec::new());
        }
        for (i, col) in self.columns.iter_mut().enumerate().take(width) {
            if col.len() >= SAMPLE_ROWS {
                continue;
            }
            let cell = row.cell(i);
            col.push((cell.display(), cell.kind()));
        }
    }

    fn cells(&self, col: usize) -> impl Iterator<Item = &(String, &'static str)> {
        self.columns
            .get(col)
            .into_iter()
            .flatten()
            .filter(|(t, _)| !t.trim().is_empty())
    }

    /// The first cell of column `col` that starts with a totals word (`Summe`, `Gesamt`,
    /// `Total`, `Sum`): a totals row under the data.
    pub(crate) fn totals(&self, col: usize) -> Option<String> {
        self.cells(col)
            .map(|(t, _)| t.trim())
            .find(|t| {
                let first = t
                    .split(|c: char| !c.is_alphanumeric())
                    .next()
                    .unwrap_or("")
                    .to_lowercase();
                [
                    "summe",
                    "gesamt",
                    "gesamtsumme",
                    "gesamtergebnis",
                    "total",
                    "totals",
                    "sum",
                ]
                .contains(&first.as_str())
            })
            .map(str::to_string)
    }

    /// Every non-empty cell of column `col` a number (at least one): an amount column.
    pub(crate) fn numeric_like(&self, col: usize) -> bool {
        let mut any = false;
        for (text, kind) in self.cells(col) {
            any = true;
            let t = text.trim().trim_end_matches('%').trim();
            let looks = *kind == "number"
                || (*kind == "text"
                    && t.bytes().any(|b| b.is_ascii_digit())
                    && t.bytes().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'.' | b',' | b'-' | b'+' | b' ' | b'\'')
                    }));
            if !looks {
                return false;
            }
        }
        any
    }

    /// Every non-empty cell of column `col` one of `names` (any case; at least one cell): a
    /// column of value names (`Actual`, `Target`).
    pub(crate) fn names_like(&self, col: usize, names: &[String]) -> bool {
        let mut any = false;
        for (text, _) in self.cells(col) {
            any = true;
            let t = text.trim().to_lowercase();
            if !names.contains(&t) {
                return false;
            }
        }
        any
    }

    /// Every non-empty cell of column `col` a date (at least one): a column named like
    /// "Week starting" holding 2025-01-06 is the date column.
    pub(crate) fn date_like(&self, col: usize) -> bool {
        let opts = DateOptions::default();
        let mut any = false;
        for (text, kind) in self.cells(col) {
            any = true;
            let looks = matches!(*kind, "date" | "datetime")
                || (*kind == "text"
                    && text.bytes().any(|b| b.is_ascii_digit())
                    && text.bytes().any(|b| matches!(b, b'-' | b'.' | b'/'))
                    && parse_date_text(text, &opts).is_ok());
            if !looks {
                return false;
            }
        }
        any
    }

    /// Day first or month first, when `col` has `a/b/yyyy` dates: `Some(Some(true))` day first
    /// (a day above 12 came first), `Some(Some(false))` month first, `Some(None)` undecided.
    fn day_order(&self, col: usize) -> Option<Option<bool>> {
        let (mut slash, mut day_first, mut month_first) = (false, false, false);
        for (text, _) in self.cells(col) {
            let parts: Vec<&str> = text.trim().split('/').collect();
            if parts.len() != 3 {
                continue;
            }
            let (Ok(a), Ok(b)) = (parts[0].parse::<u32>(), parts[1].parse::<u32>()) else {
                continue;
            };
            slash = true;
            day_first |= a > 12 && b <= 12;
            month_first |= b > 12 && a <= 12;
        }
        slash.then_some(match (day_first, month_first) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        })
    }

    /// The decimal separator the value columns show: `Ok(Some(","))`, `Ok(Some("."))`,
    /// `Ok(None)` when they show none, `Err` when they show both.
    fn decimal(&self, cols: &[usize]) -> Result<Option<&'static str>, ()> {
        let (mut comma, mut dot) = (false, false);
        for &c in cols {
            // Workbook numbers are numbers: only text cells show a separator.
            for (text, _) in self.cells(c).filter(|(_, k)| *k == "text") {
                let t = text.trim().trim_start_matches(['-', '+']);
                let shape = |sep: char| {
                    t.split_once(sep).is_some_and(|(a, b)| {
                        !a.is_empty()
                            && !b.is_empty()
                            && a.bytes().all(|x| x.is_ascii_digit())
                            && b.bytes().all(|x| x.is_ascii_digit())
                    })
                };
                // `1.250` may be a thousands separator: it settles nothing.
                let three = t.rsplit_once(['.', ',']).is_some_and(|(_, b)| b.len() == 3);
                comma |= shape(',') && !three;
                dot |= shape('.') && !three;
            }
        }
        match (comma, dot) {
            (true, true) => Err(()),
            (true, false) => Ok(Some(",")),
            (false, true) => Ok(Some(".")),
            (false, false) => Ok(None),
        }
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The `[source]` block: what was detected in the file, written out.
pub(crate) fn block(
    det: &Detected,
    sample: &Sample,
    date_col: Option<usize>,
    value_cols: &[usize],
) -> String {
    let mut s = String::from("[source]\n");
    let _ = writeln!(
        s,
        "# As detected in {}; kept here so every later export is read the same way.",
        det.file
    );
    let workbook = det.format != Format::Csv;
    if workbook && let Some(sheet) = &det.sheet {
        let _ = writeln!(s, "sheet = {}", quote(sheet));
    }
    let _ = writeln!(s, "header_row = {}", det.header_row);
    if !workbook {
        if let Some(d) = det.delimiter {
            let shown = if d == '\t' {
                "\\t".to_string()
            } else {
                d.to_string()
            };
            let _ = writeln!(s, "delimiter = \"{shown}\"");
        }
        if let Some(e) = &det.encoding {
            let _ = writeln!(s, "encoding = {}", quote(&e.to_lowercase()));
        }
    }
    match sample.decimal(value_cols) {
        Ok(Some(d)) => {
            let _ = writeln!(s, "decimal = \"{d}\"");
        }
        Ok(None) => {}
        Err(()) => {
            let _ = writeln!(
                s,
                "# TODO: the values show both 1,5 and 1.5: set decimal = \",\" or \".\""
            );
        }
    }
    match date_col.and_then(|c| sample.day_order(c)) {
        Some(Some(first)) => {
            let _ = writeln!(
                s,
                "dayfirst = {first}  # {} in the file",
                if first {
                    "day-first dates such as 13/01/2025"
                } else {
                    "month-first dates such as 01/13/2025"
                }
            );
        }
        Some(None) => {
            let _ = writeln!(
                s,
                "# TODO: dates like 03/04/2025 read either way: set dayfirst = true (3 April) or false (4 March)"
            );
        }
        None => {}
    }
    if let Some((col, text)) = date_col.and_then(|c| Some((c, sample.totals(c)?)))
        && let Some(name) = det.columns.get(col)
    {
        let _ = writeln!(
            s,
            "skip_rows_where = {{ {} = \"{TOTALS}\" }}  # a totals row ({}) in the file",
            quote(name),
            quote(&text)
        );
    }
    s
}

/// The pattern `mapping init` writes for totals rows (any case, as `skip_rows_where` reads it).
const TOTALS: &str = "^(summe|gesamt|total|sum)";

/// The date parse of a text cell, for tests of the module's reading.
#[cfg(test)]
fn parses(text: &str) -> bool {
    use crate::normalize::DateParse;
    matches!(
        parse_date_text(text, &DateOptions::default()),
        Ok(DateParse::Date { .. } | DateParse::Slash { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cols: &[&[&str]]) -> Sample {
        Sample {
            columns: cols
                .iter()
                .map(|c| c.iter().map(|t| (t.to_string(), "text")).collect())
                .collect(),
        }
    }

    #[test]
    fn dates_columns_and_separators() {
        let s = sample(&[
            &["2025-01-06", "2025-01-13"],
            &["85,5", "90"],
            &["1.250", "3.5"],
            &["13/01/2025", "03/04/2025"],
            &["Montage", "2025-01-06"],
        ]);
        assert!(s.date_like(0));
        assert!(!s.date_like(1));
        assert!(!s.date_like(4));
        assert!(s.date_like(3));
        assert!(parses("03/04/2025"));
        assert_eq!(s.decimal(&[1]), Ok(Some(",")));
        assert_eq!(s.decimal(&[2]), Ok(Some(".")));
        assert_eq!(s.decimal(&[1, 2]), Err(()));
        assert_eq!(s.day_order(3), Some(Some(true)));
        assert_eq!(s.day_order(0), None);
        assert_eq!(sample(&[&["03/04/2025"]]).day_order(0), Some(None));
        let t = sample(&[&["06.01.2025", "Summe KW 2"], &["Actual", "target", "12"]]);
        assert_eq!(t.totals(0).as_deref(), Some("Summe KW 2"));
        assert_eq!(t.totals(1), None);
        assert!(t.names_like(1, &["actual".into(), "target".into(), "12".into()]));
        assert!(!t.numeric_like(1));
        assert!(sample(&[&["1,5", "-3", "85 %", "1'000"]]).numeric_like(0));
    }
}
