//! The read stage: a CSV or Excel file in, a stream of located, typed rows out.
//!
//! [`Source::open`] looks at the file once (format, encoding, delimiter, sheet, header row),
//! then [`Source::for_each_row`] hands every data row to a callback as a borrowed [`Row`]. A
//! row knows its 1-based row number (CSV: the line the record starts on; Excel: the sheet row)
//! and, for CSV, the byte offset where it starts, so every later message can point at
//! `export.csv:12:3` or `export.xlsx › Sheet1!C7`. Cells are converted on access
//! ([`Row::cell`]) without copying: CSV is read in constant memory, one record at a time;
//! a worksheet is held once, as calamine loaded it.
//!
//! CSV cells are always text (or empty): whether `1,5` is a number depends on the file's
//! locale, which the normalise stage decides. Excel cells keep their types: numbers, dates,
//! times, durations, booleans and error values such as `#DIV/0!`.
//!
//! Problems that do not stop the read (ragged rows, undecodable bytes) are collected as
//! [`Diagnostic`]s; problems that do (not a spreadsheet, corrupt, encrypted, no header) are a
//! [`ReadError`].

mod csv_source;
mod excel;
mod header;
mod lines;
mod sniff;
mod xlsx_merges;

use std::path::Path;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::diag::{Diagnostic, Location};
pub use sniff::Format;
pub use sniff::read_up_to as sniff_read;

/// One cell's value, borrowed from the row it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// A time of day (an Excel time cell, an ISO time).
    Time(NaiveTime),
    /// An elapsed time (`[h]:mm` cells, ODS durations).
    Duration(TimeDelta),
    /// A spreadsheet error value: `#DIV/0!`, `#N/A`, ...
    Error(&'static str),
    /// Bytes that are not valid text in the file's encoding.
    Invalid(&'a [u8]),
}

impl Cell<'_> {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            // Most cells start with a visible ASCII character: no need to trim them.
            Cell::Text(s) => match s.as_bytes().first() {
                None => true,
                Some(b) if b.is_ascii_graphic() => false,
                Some(_) => s.trim().is_empty(),
            },
            _ => false,
        }
    }

    /// The type's name, for messages and `inspect`.
    pub fn kind(&self) -> &'static str {
        match self {
            Cell::Empty => "empty",
            Cell::Text(_) => "text",
            Cell::Int(_) | Cell::Float(_) => "number",
            Cell::Bool(_) => "bool",
            Cell::Date(_) => "date",
            Cell::DateTime(_) => "datetime",
            Cell::Time(_) => "time",
            Cell::Duration(_) => "duration",
            Cell::Error(_) => "error",
            Cell::Invalid(_) => "invalid",
        }
    }

    /// How the cell reads as text (a header name, a rejected row written back to CSV).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => (*s).to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", *f as i64)
                } else {
                    f.to_string()
                }
            }
            Cell::Bool(b) => b.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::DateTime(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
            Cell::Time(t) => t.format("%H:%M:%S").to_string(),
            Cell::Duration(d) => {
                let secs = d.num_seconds();
                format!("{}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60)
            }
            Cell::Error(e) => (*e).to_string(),
            Cell::Invalid(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// Which sheet to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetChoice {
    Name(String),
    /// 1-based position in the workbook.
    Index(usize),
}

impl SheetChoice {
    /// A number is a position, anything else a name.
    pub fn parse(s: &str) -> SheetChoice {
        match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => SheetChoice::Index(n),
            _ => SheetChoice::Name(s.to_string()),
        }
    }
}

/// What the caller knows about the file (the mapping's `[source]` section, or flags).
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    pub sheet: Option<SheetChoice>,
    /// 1-based header row; detected when absent.
    pub header_row: Option<u64>,
    pub delimiter: Option<u8>,
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Column names the mapping expects: they help find the header row.
    pub expected_columns: Vec<String>,
    /// Refuse worksheets with more cells than this (a guard against decompression bombs).
    pub max_cells: Option<u64>,
}

/// The default cell limit for one worksheet: 1M rows x 50 columns.
pub const DEFAULT_MAX_CELLS: u64 = 50_000_000;

/// What `open` found out, and how.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Detected {
    pub file: String,
    pub format: Format,
    /// CSV: the encoding's WHATWG name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sheets: Vec<String>,
    /// 1-based.
    pub header_row: u64,
    pub columns: Vec<String>,
    /// 1-based column number of `columns[0]` (Excel ranges need not start in column A).
    pub first_column: u32,
    /// How each choice was made, for `--verbose` and `inspect`.
    pub notes: Vec<String>,
}

/// A fatal read problem: the file cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", sheet.as_ref().map(|s| format!(" › {s}")).unwrap_or_default())]
pub struct ReadError {
    pub file: String,
    pub sheet: Option<String>,
    pub message: String,
    /// `vsimport::read::…`
    pub code: String,
    pub help: Option<String>,
}

impl miette::Diagnostic for ReadError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display + 'a>)
    }
}

impl ReadError {
    fn new(file: &str, code: &str, message: impl Into<String>, help: impl Into<String>) -> Self {
        ReadError {
            file: file.to_string(),
            sheet: None,
            message: message.into(),
            code: format!("vsimport::read::{code}"),
            help: Some(help.into()),
        }
    }
}

/// Counts from a full read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadStats {
    /// Data rows handed to the callback.
    pub rows: u64,
    /// Rows below the header with no value at all (skipped).
    pub empty_rows: u64,
    /// CSV rows with missing fields or values past the last named column.
    pub ragged_rows: u64,
}

/// One data row, borrowed from the reader.
pub struct Row<'a> {
    /// 1-based row number (CSV: line the record starts on; Excel: sheet row).
    pub number: u64,
    /// CSV: byte offset of the record's start in the decoded text.
    pub byte: Option<u64>,
    data: RowData<'a>,
}

enum RowData<'a> {
    /// A record that is valid UTF-8 as a whole (checked once).
    Csv(&'a csv::StringRecord),
    /// A record with bytes that are not UTF-8: fields are checked one by one.
    CsvBytes(&'a csv::ByteRecord),
    Sheet(&'a [calamine::Data]),
}

impl<'a> Row<'a> {
    /// Number of cells present (may differ from the header's width).
    pub fn len(&self) -> usize {
        match self.data {
            RowData::Csv(r) => r.len(),
            RowData::CsvBytes(r) => r.len(),
            RowData::Sheet(cells) => cells.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell in column `i` (0-based, relative to the header); `Empty` past the row's end.
    /// Whether cell `i` is empty (or missing), without decoding it.
    pub fn cell_is_empty(&self, i: usize) -> bool {
        match self.data {
            RowData::Csv(r) => r.get(i).is_none_or(str::is_empty),
            RowData::CsvBytes(r) => r.get(i).is_none_or(<[u8]>::is_empty),
            RowData::Sheet(_) => self.cell(i).is_empty(),
        }
    }

    pub fn cell(&self, i: usize) -> Cell<'a> {
        match self.data {
            RowData::Csv(r) => match r.get(i) {
                None | Some("") => Cell::Empty,
                Some(s) => Cell::Text(s),
            },
            RowData::CsvBytes(r) => match r.get(i) {
                None | Some([]) => Cell::Empty,
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(s) => Cell::Text(s),
                    Err(_) => Cell::Invalid(bytes),
                },
            },
            RowData::Sheet(cells) => cells.get(i).map(excel::convert).unwrap_or(Cell::Empty),
        }
    }

    /// The cells in order (cheaper than `cell(i)` for each `i` on CSV rows).
    pub fn cells(&self) -> Box<dyn Iterator<Item = Cell<'a>> + 'a> {
        match self.data {
            RowData::Csv(r) => Box::new(r.iter().map(|s| {
                if s.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(s)
                }
            })),
            RowData::CsvBytes(r) => Box::new(r.iter().map(|b| match std::str::from_utf8(b) {
                Ok("") => Cell::Empty,
                Ok(s) => Cell::Text(s),
                Err(_) => Cell::Invalid(b),
            })),
            RowData::Sheet(cells) => Box::new(cells.iter().map(excel::convert)),
        }
    }
}

/// An opened input file, ready to stream its rows.
pub struct Source {
    detected: Detected,
    file: Arc<str>,
    sheet: Option<Arc<str>>,
    inner: Inner,
    problems: Vec<Diagnostic>,
}

enum Inner {
    Csv(csv_source::CsvSource),
    Sheet(excel::SheetSource),
}

impl Source {
    /// Opens `path`, detects what it is and finds the header row.
    pub fn open(path: &Path, opts: &SourceOptions) -> Result<Source, ReadError> {
        let shown = path.display().to_string();
        let mut file = std::fs::File::open(path).map_err(|e| {
            ReadError::new(
                &shown,
                "io",
                format!("cannot open the file: {e}"),
                "check the path and that the file is readable",
            )
        })?;
        let format = sniff::format(&shown, path, &mut file)?;
        let (inner, detected) = match format {
            Format::Csv => {
                let (src, det) = csv_source::CsvSource::open(&shown, file, opts)?;
                (Inner::Csv(src), det)
            }
            _ => {
                drop(file);
                let (src, det) = excel::SheetSource::open(&shown, path, format, opts)?;
                (Inner::Sheet(src), det)
            }
        };
        Ok(Source {
            file: Arc::from(shown.as_str()),
            sheet: detected.sheet.as_deref().map(Arc::from),
            detected,
            inner,
            problems: Vec::new(),
        })
    }

    pub fn detected(&self) -> &Detected {
        &self.detected
    }

    /// Where cell `col` (0-based, header-relative) of row `row` is.
    pub fn locate(&self, row: &Row<'_>, col: Option<usize>) -> Location {
        Location {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row: row.number,
            column: col.map(|c| self.detected.first_column + c as u32),
            byte: row.byte,
        }
    }

    /// The file's name as shown in messages, shared.
    pub fn file_name(&self) -> &Arc<str> {
        &self.file
    }

    pub fn sheet_name(&self) -> Option<&Arc<str>> {
        self.sheet.as_ref()
    }

    /// Hands every data row below the header to `f`, in order. Empty rows are skipped and
    /// counted; ragged CSV rows and undecodable records become problems, and reading goes on.
    /// `f` returns `false` to stop early.
    pub fn for_each_row(
        &mut self,
        mut f: impl FnMut(&Row<'_>) -> bool,
    ) -> Result<ReadStats, ReadError> {
        let width = self.detected.columns.len();
        let file = self.file.clone();
        let sheet = self.sheet.clone();
        let problems = &mut self.problems;
        match &mut self.inner {
            Inner::Csv(src) => src.for_each_row(width, &file, problems, &mut f),
            Inner::Sheet(src) => Ok(src.for_each_row(width, &mut f)),
        }
        .map_err(|mut e| {
            e.sheet = sheet.as_deref().map(str::to_string);
            e
        })
    }

    /// For a large UTF-8 CSV file: `parts - 1` more sources reading the file's later pieces
    /// (this one then stops where the second begins), so threads can share the work. `None`
    /// when the file does not allow it (other formats and encodings, quotes before the last
    /// cut, small files).
    pub fn split(&mut self, path: &Path, parts: usize) -> Option<Vec<Source>> {
        const MIN_BYTES: u64 = 8 << 20;
        let Inner::Csv(csv) = &mut self.inner else {
            return None;
        };
        if std::fs::metadata(path).ok()?.len() < MIN_BYTES {
            return None;
        }
        let utf8 = self.detected.encoding.as_deref() == Some("UTF-8");
        let rest = csv.split_parts(path, utf8, parts)?;
        Some(
            rest.into_iter()
                .map(|part| Source {
                    detected: self.detected.clone(),
                    file: self.file.clone(),
                    sheet: self.sheet.clone(),
                    inner: Inner::Csv(part),
                    problems: Vec::new(),
                })
                .collect(),
        )
    }

    /// Problems found while reading (so far).
    pub fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    pub fn take_problems(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_of_cells() {
        assert_eq!(Cell::Float(4.0).display(), "4");
        assert_eq!(Cell::Float(4.25).display(), "4.25");
        assert_eq!(
            Cell::Duration(TimeDelta::minutes(26 * 60 + 5)).display(),
            "26:05:00"
        );
        assert!(Cell::Text("  ").is_empty());
    }

    #[test]
    fn sheet_choice() {
        assert_eq!(SheetChoice::parse("2"), SheetChoice::Index(2));
        assert_eq!(
            SheetChoice::parse("Daten"),
            SheetChoice::Name("Daten".into())
        );
    }
}
