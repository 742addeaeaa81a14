//! The values the stages hand on, below all of them.
//!
//! Vocabulary, one name per idea:
//! - a **cell** is what the read stage gives ([`crate::read::Cell`]);
//! - an **entry** is one value for one slot of one record, with the row it came from (the
//!   validate stage's output, [`Entry`]);
//! - a **record** is what the API stores under date + team + KPI (+ sub-tile): the dedupe stage
//!   groups entries into records ([`crate::dedupe::Records`]);
//! - a **planned record** is a record ready to send: its API key, its values, its source rows
//!   (the plan stage's output, [`crate::plan::PlannedRecord`]);
//! - a **change** is how a planned record compares with the server, and an **outcome** how its
//!   write ended (the upload stage's outputs).

use std::sync::Arc;

use chrono::NaiveDate;

use crate::diag::Location;

/// `sub_tile` of an entry without one.
pub(crate) const NO_SUB_TILE: u16 = u16::MAX;

/// One value for one slot of one record, with the row it came from. KPI, team, sub-tile and
/// slot are indices into the catalog ([`crate::catalog::CatalogIndex`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    pub(crate) kpi: u32,
    pub(crate) date: NaiveDate,
    pub(crate) team: u32,
    pub(crate) sub_tile: u16,
    pub(crate) slot: u16,
    pub(crate) forecast: bool,
    /// The cell was written with a percent sign (`85%`): the validate stage checks that a
    /// KPI's cells do not mix `85%` with bare numbers such as `0.85`.
    pub(crate) percent_sign: bool,
    pub(crate) value: f64,
    /// The row it came from (1-based file row; files past 4,294,967,295 rows keep that
    /// number for the rest). 32 bits keep an entry at 32 bytes, which the dedupe and plan
    /// passes over millions of entries feel.
    pub(crate) row: u32,
    /// Its place among the entries of its row (column order), so that two entries of one
    /// row for the same slot keep their order through an unstable sort. Fits the two bytes
    /// the fields above leave free: an entry stays 32 bytes.
    pub(crate) seq: u16,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 32);

impl Entry {
    pub(crate) fn row(&self) -> u64 {
        u64::from(self.row)
    }

    /// The record it belongs to: (KPI, date, team, sub-tile).
    pub(crate) fn record(&self) -> (u32, NaiveDate, u32, u16) {
        (self.kpi, self.date, self.team, self.sub_tile)
    }
}

/// The source rows of a record's entries, ascending, each once.
pub(crate) fn source_rows(entries: &[Entry]) -> Vec<u64> {
    let mut rows: Vec<u64> = entries.iter().map(Entry::row).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// Where the rows come from, for locations and rendered rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub(crate) file: Arc<str>,
    pub(crate) sheet: Option<Arc<str>>,
    /// 1-based column number of `columns[0]`.
    pub(crate) first_column: u32,
    pub(crate) columns: Vec<String>,
    /// CSV delimiter (for rendering a row as the file has it).
    pub(crate) delimiter: Option<char>,
}

impl Origin {
    /// Where cell `col` (0-based, header-relative) of row `row` is.
    pub(crate) fn location(&self, row: u64, byte: Option<u64>, col: Option<usize>) -> Location {
        Location {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row,
            column: col.map(|c| self.first_column + c as u32),
            byte,
        }
    }
}
