//! The checks every CSV record passes before it becomes a row. Input: a record's fields
//! ([`Fields`]: the parser's record or a line split by hand) with its (line, byte). Output:
//! whether it is a row to hand on, the block's counts ([`ReadStats`]) and a diagnostic for
//! each ragged row (the first [`KEEP_PROBLEMS`] of a block); a record wider than a
//! spreadsheet is a [`ReadError`].

use super::{ReadError, ReadStats};
use crate::diag::{Diagnostic, Location, Severity};

/// How many problems of one kind are kept per block (all are counted).
const KEEP_PROBLEMS: usize = 1000;

/// The most fields a row at the top of a CSV may have while the header is looked for (a
/// worksheet is 16,384 columns wide): a line of delimiters is refused before its fields are
/// turned into names.
pub(crate) const MAX_COLUMNS: usize = 16_384;

/// A row with more fields than a spreadsheet has columns.
pub(crate) fn too_wide(file: &str, line: u64, fields: usize, delimiter: Option<u8>) -> ReadError {
    let taken = delimiter.map_or_else(String::new, |d| format!(" ({:?} was taken)", d as char));
    ReadError::new(
        file,
        "limit",
        format!(
            "line {line} has {} fields, more than the limit of {} columns (a spreadsheet's width)",
            super::limits::thousands(fields as u64),
            super::limits::thousands(MAX_COLUMNS as u64)
        ),
        format!("check the delimiter{taken} and the file; --delimiter sets another"),
    )
}

/// A record's fields, read by [`Admit::admit`]: the parser's record or a split line.
pub(crate) trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> &[u8];
}

impl Fields for csv::ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &[u8] {
        self.get(i).unwrap_or_default()
    }
}

/// A line split by hand: its first fields (at most one more than a sheet has columns) and
/// how many it has.
pub(crate) struct Split<'a, 't>(pub(crate) &'a [&'t str], pub(crate) usize);

impl Fields for Split<'_, '_> {
    fn count(&self) -> usize {
        self.1
    }
    fn field(&self, i: usize) -> &[u8] {
        self.0.get(i).map_or(&[], |s| s.as_bytes())
    }
}

/// The checks every record of a block passes before it is handed on, and their counts.
pub(crate) struct Admit<'a> {
    pub(crate) stats: ReadStats,
    kept_ragged: usize,
    width: usize,
    header_len: usize,
    file: &'a std::sync::Arc<str>,
    problems: &'a mut Vec<Diagnostic>,
}

impl<'a> Admit<'a> {
    /// The checks of a block whose rows are read `width` cells wide under a header of
    /// `header_len` names; ragged rows are noted in `problems`.
    pub(crate) fn new(
        width: usize,
        header_len: usize,
        file: &'a std::sync::Arc<str>,
        problems: &'a mut Vec<Diagnostic>,
    ) -> Self {
        Admit {
            stats: ReadStats::default(),
            kept_ragged: 0,
            width,
            header_len,
            file,
            problems,
        }
    }

    /// Whether the record at (`line`, `byte`) is a row to hand on: one wider than a sheet is
    /// an error, a blank one is counted and skipped, a ragged one noted and kept.
    pub(crate) fn admit<F: Fields + ?Sized>(
        &mut self,
        fields: &F,
        line: u64,
        byte: u64,
    ) -> Result<bool, ReadError> {
        let len = fields.count();
        if len > MAX_COLUMNS {
            return Err(too_wide(self.file, line, len, None));
        }
        if (0..len).all(|i| fields.field(i).iter().all(u8::is_ascii_whitespace)) {
            self.stats.empty_rows += 1;
            return Ok(false);
        }
        if len != self.header_len {
            let extra_values = (self.width..len).any(|i| !fields.field(i).trim_ascii().is_empty());
            if len < self.header_len || extra_values {
                self.stats.ragged_rows += 1;
                if self.kept_ragged < KEEP_PROBLEMS {
                    self.kept_ragged += 1;
                    self.problems.push(ragged(
                        self.file,
                        line,
                        Some(byte),
                        len,
                        self.header_len,
                        extra_values,
                    ));
                }
            }
        }
        self.stats.rows += 1;
        Ok(true)
    }
}

fn ragged(
    file: &std::sync::Arc<str>,
    line: u64,
    byte: Option<u64>,
    len: usize,
    header_len: usize,
    extra_values: bool,
) -> Diagnostic {
    let (message, help) = if len < header_len {
        (
            format!(
                "this row has {len} fields, the header has {header_len}: the missing cells are read as empty"
            ),
            "a delimiter may be missing, or a quote left open on an earlier line",
        )
    } else {
        debug_assert!(extra_values);
        (
            format!(
                "this row has {len} fields, the header has {header_len}: values past the last named column are ignored"
            ),
            "a value may contain an unquoted delimiter (e.g. a decimal comma in a comma-separated file)",
        )
    };
    Diagnostic {
        code: "vsimport::read::ragged_row",
        severity: Severity::Warning,
        location: Location {
            file: file.clone(),
            sheet: None,
            row: line,
            column: None,
            byte,
        },
        message,
        help: Some(help.to_string()),
        context: None,
    }
}
