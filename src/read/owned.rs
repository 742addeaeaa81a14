//! Rows read whole and owned: for writing a file out again (the checked workbook). In: an
//! [`Input`] and its [`SourceOptions`]. Out: the [`Detected`] layout and every data row's
//! cells as [`OwnedCell`]s.

use super::{Cell, Detected, Input, ReadError, Source, SourceOptions};

/// One cell as read, owned.
#[derive(Debug, Clone)]
pub(crate) enum OwnedCell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// An Excel date, time or date-time (days since 1899-12-30) and its number format.
    Serial(f64, &'static str),
}

impl OwnedCell {
    /// From a cell of the reader.
    pub(crate) fn of(c: &Cell<'_>) -> OwnedCell {
        let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
        let days = |dt: chrono::NaiveDateTime| {
            (dt - base.and_hms_opt(0, 0, 0).unwrap_or_default()).num_milliseconds() as f64
                / 86_400_000.0
        };
        match c {
            Cell::Empty => OwnedCell::Empty,
            Cell::Text(s) => OwnedCell::Text((*s).to_string()),
            Cell::Int(i) => OwnedCell::Number(*i as f64),
            Cell::Float(f) => OwnedCell::Number(*f),
            Cell::Bool(b) => OwnedCell::Bool(*b),
            Cell::Date(d) => OwnedCell::Serial(
                days(d.and_hms_opt(0, 0, 0).unwrap_or_default()),
                "yyyy-mm-dd",
            ),
            Cell::DateTime(dt) => OwnedCell::Serial(days(*dt), "yyyy-mm-dd hh:mm"),
            Cell::Time(t) => {
                use chrono::Timelike;
                OwnedCell::Serial(f64::from(t.num_seconds_from_midnight()) / 86_400.0, "hh:mm")
            }
            Cell::Duration(d) => OwnedCell::Serial(d.num_seconds() as f64 / 86_400.0, "[h]:mm"),
            Cell::Error(e) => OwnedCell::Text((*e).to_string()),
            Cell::Invalid(b) => OwnedCell::Text(String::from_utf8_lossy(b).into_owned()),
        }
    }
}

/// Data rows by row number, their cells owned.
pub(crate) type OwnedRows = Vec<(u64, Vec<OwnedCell>)>;

/// Every data row of `input`, its cells owned, up to row `max_row`: for writing the file out
/// again (the checked workbook).
pub(crate) fn all_rows(
    input: &Input,
    opts: &SourceOptions,
    max_row: u64,
) -> Result<(Detected, OwnedRows), ReadError> {
    let mut source = Source::open(input, opts)?;
    let detected = source.detected().clone();
    let mut rows = Vec::new();
    source.for_each_row(|row| {
        rows.push((row.number, row.cells().map(|c| OwnedCell::of(&c)).collect()));
        row.number < max_row
    })?;
    Ok((detected, rows))
}
