//! The read stage: an [`Input`] (a file, a pipe or standard input) in, a stream of located,
//! typed [`Row`]s out.
//!
//! [`Source::open`] opens the input once and looks at its start (format, encoding, delimiter,
//! sheet, header row); [`Source::fold_rows`] then hands every data row to a callback as a
//! borrowed [`Row`] — a CSV text in blocks on several threads, each block folded into its own
//! state, the states returned in file order. The input is read once, front to back, and
//! hashed on the way ([`Source::sha256`]). A row knows its 1-based row number (CSV: the line
//! the record starts on; Excel: the sheet row) and, for CSV, the byte offset where it starts,
//! so every later message can point at `export.csv:12:3` or `export.xlsx › Sheet1!C7`. Cells
//! are converted on access ([`Row::cell`]) without copying.
//!
//! CSV cells are always text (or empty): whether `1,5` is a number depends on the file's
//! locale, which the normalise stage decides. Excel cells keep their types: numbers, dates,
//! times, durations, booleans and error values such as `#DIV/0!`.
//!
//! Problems that do not stop the read (ragged rows, undecodable bytes) are collected as
//! [`Diagnostic`]s; problems that do (not a spreadsheet, corrupt, encrypted, no header) are a
//! [`ReadError`]. Rows rejected after the read can be read back with [`Source::fetch`].

mod admit;
mod blocks;
mod cfb_guard;
mod csv_source;
mod excel;
mod owned;
mod plain;
mod zip_guard;
pub(crate) use excel::{CHECKED_PROBLEMS_SHEET, CHECKED_PROBLEMS_TITLE};
pub(crate) use owned::{OwnedCell, all_rows};
mod header;
mod limits;
pub(crate) use limits::{Limit, Limits, parse_flag as parse_limit_flag};
mod input;
mod lines;
mod sheet_cell;
mod sniff;
mod xlsx_merges;
mod xlsx_rows;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::diag::Diagnostic;
pub(crate) use csv_source::BLOCK as CSV_BLOCK_BYTES;
pub use input::Input;
pub use sniff::Format;
pub(crate) use sniff::parse_delimiter;

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
    pub(crate) fn parse(s: &str) -> SheetChoice {
        match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => SheetChoice::Index(n),
            _ => SheetChoice::Name(s.to_string()),
        }
    }
}

/// What the caller knows about the file (the mapping's `[source]` section, or flags).
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    pub(crate) sheet: Option<SheetChoice>,
    /// 1-based header row; detected when absent.
    pub(crate) header_row: Option<u64>,
    pub(crate) delimiter: Option<u8>,
    pub(crate) encoding: Option<&'static encoding_rs::Encoding>,
    /// Column names the mapping expects: they help find the header row.
    pub(crate) expected_columns: Vec<String>,
    /// Limits on what the input may hold (`[source]` keys, `--limit`), over the defaults.
    pub(crate) limits: Limits,
    /// Compute the input's SHA-256 while reading it (for the journal of an import).
    pub(crate) hash: bool,
}

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
    pub(crate) file: String,
    pub(crate) sheet: Option<String>,
    pub(crate) message: String,
    /// `vsimport::read::…`
    pub(crate) code: String,
    pub(crate) help: Option<String>,
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
    pub(crate) fn new(
        file: &str,
        code: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
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
    pub(crate) rows: u64,
    /// Rows below the header with no value at all (skipped).
    pub(crate) empty_rows: u64,
    /// CSV rows with missing fields or values past the last named column.
    pub(crate) ragged_rows: u64,
}

/// One data row, borrowed from the reader.
pub struct Row<'a> {
    /// 1-based row number (CSV: line the record starts on; Excel: sheet row).
    pub(crate) number: u64,
    /// CSV: byte offset of the record's start in the decoded text.
    pub(crate) byte: Option<u64>,
    data: RowData<'a>,
}

enum RowData<'a> {
    /// A record's fields as slices of its block's text (checked as UTF-8 once per block).
    Fields(&'a [&'a str]),
    /// A record that is valid UTF-8 as a whole (checked once).
    Csv(&'a csv::StringRecord),
    /// A record with bytes that are not UTF-8: fields are checked one by one.
    CsvBytes(&'a csv::ByteRecord),
    Sheet(&'a [calamine::DataRef<'a>]),
}

impl<'a> Row<'a> {
    /// Number of cells present (may differ from the header's width).
    pub fn len(&self) -> usize {
        match self.data {
            RowData::Fields(f) => f.len(),
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
    pub(crate) fn cell_is_empty(&self, i: usize) -> bool {
        match self.data {
            RowData::Fields(f) => f.get(i).is_none_or(|s| s.is_empty()),
            RowData::Csv(r) => r.get(i).is_none_or(str::is_empty),
            RowData::CsvBytes(r) => r.get(i).is_none_or(<[u8]>::is_empty),
            RowData::Sheet(_) => self.cell(i).is_empty(),
        }
    }

    /// Cell `i` of the row (`Empty` past its end). A split line's (most CSV rows) is found
    /// inline, the others out of line: about 25 instructions a cell fewer (cachegrind, the
    /// 50-column wide export).
    #[inline(always)]
    pub fn cell(&self, i: usize) -> Cell<'a> {
        match self.data {
            RowData::Fields(f) => match f.get(i) {
                None | Some(&"") => Cell::Empty,
                Some(s) => Cell::Text(s),
            },
            _ => self.other_cell(i),
        }
    }

    /// [`Row::cell`] of a row that is not a split line.
    #[inline(never)]
    fn other_cell(&self, i: usize) -> Cell<'a> {
        match self.data {
            RowData::Fields(_) => self.cell(i),
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
            RowData::Sheet(cells) => cells.get(i).map(sheet_cell::convert).unwrap_or(Cell::Empty),
        }
    }

    /// The cells in order (cheaper than `cell(i)` for each `i` on CSV rows).
    pub fn cells(&self) -> Box<dyn Iterator<Item = Cell<'a>> + 'a> {
        match self.data {
            RowData::Fields(f) => Box::new(f.iter().map(|s| {
                if s.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(s)
                }
            })),
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
            RowData::Sheet(cells) => Box::new(cells.iter().map(sheet_cell::convert)),
        }
    }
}

/// An opened input, ready to stream its rows.
pub struct Source {
    detected: Detected,
    file: Arc<str>,
    sheet: Option<Arc<str>>,
    inner: Inner,
    problems: Vec<Diagnostic>,
    digest: input::Digest,
    again: input::Again,
    /// The size of a regular file.
    len: Option<u64>,
}

enum Inner {
    Csv(Box<csv_source::CsvSource>),
    Sheet(excel::SheetSource),
}

impl Source {
    /// Opens `input`, detects what it is and finds the header row.
    pub fn open(input: &Input, opts: &SourceOptions) -> Result<Source, ReadError> {
        let opened = input::Opened::open(input, opts.hash)?;
        let shown = opened.shown.clone();
        let (mut reader, digest, again, len) = opened.into_reader();
        let mut prefix = vec![0u8; sniff::PREFIX];
        let n =
            sniff::read_up_to(&mut reader, &mut prefix).map_err(|e| sniff::io_error(&shown, e))?;
        prefix.truncate(n);
        let mut format = sniff::format(&shown, &prefix, &input.extension())?;
        let (inner, detected) = match format {
            Format::Csv => {
                let max = opts.limits.get(Limit::InputBytes, false);
                if let Some(l) = len.filter(|l| *l > max) {
                    return Err(sniff::input_too_big(&shown, Some(l), max));
                }
                let reader = Box::new(limits::Capped::new(reader, max, prefix.len() as u64));
                let (src, det) = csv_source::CsvSource::open(&shown, prefix, reader, opts)?;
                (Inner::Csv(Box::new(src)), det)
            }
            _ => {
                let max = opts.limits.get(Limit::InputBytes, true);
                let mut bytes = prefix;
                // Room for the whole file at once (a regular file's size is known): no
                // doubling and copying as it is read.
                if let Some(l) = len
                    .filter(|l| *l <= max)
                    .and_then(|l| usize::try_from(l).ok())
                {
                    bytes.reserve_exact(l.saturating_sub(bytes.len()).saturating_add(1));
                }
                std::io::Read::take(reader, max.saturating_sub(bytes.len() as u64) + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| sniff::io_error(&shown, e))?;
                if bytes.len() as u64 > max {
                    return Err(sniff::input_too_big(&shown, None, max));
                }
                if format == Format::Xlsx && input.extension().is_empty() {
                    format = sniff::zip_kind(&bytes);
                }
                // calamine can panic on a damaged workbook (found by fuzzing: an xls whose
                // sector chain points past its end); that is this file's error, not a crash.
                let bytes: Arc<[u8]> = Arc::from(bytes);
                let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    excel::SheetSource::open(&shown, bytes, format, opts)
                }));
                let (src, det) = match opened {
                    Ok(r) => r?,
                    Err(panic) => return Err(sniff::reader_failed(&shown, panic.as_ref())),
                };
                (Inner::Sheet(src), det)
            }
        };
        Ok(Source {
            file: Arc::from(shown.as_str()),
            sheet: detected.sheet.as_deref().map(Arc::from),
            detected,
            inner,
            problems: Vec::new(),
            digest,
            again,
            len,
        })
    }

    pub fn detected(&self) -> &Detected {
        &self.detected
    }

    /// The file's name as shown in messages, shared.
    pub(crate) fn file_name(&self) -> &Arc<str> {
        &self.file
    }

    pub(crate) fn sheet_name(&self) -> Option<&Arc<str>> {
        self.sheet.as_ref()
    }

    /// The size of a regular file (`None` for a stream).
    pub(crate) fn size(&self) -> Option<u64> {
        self.len
    }

    /// SHA-256 of the input's bytes, once it has been read to the end.
    pub(crate) fn sha256(&self) -> Option<String> {
        self.digest.sha256()
    }

    /// Hands every data row below the header to `f`, in order, on this thread. Empty rows
    /// are skipped and counted; ragged CSV rows and undecodable records become problems, and
    /// reading goes on. `f` returns `false` to stop early.
    pub fn for_each_row(
        &mut self,
        mut f: impl FnMut(&Row<'_>) -> bool,
    ) -> Result<ReadStats, ReadError> {
        let width = self.detected.columns.len();
        let file = self.file.clone();
        let sheet = self.sheet.clone();
        let problems = &mut self.problems;
        let stats = match &mut self.inner {
            Inner::Csv(src) => {
                let header_len = src.header_len();
                let mut total = ReadStats::default();
                let mut go_on = true;
                for part in src.parts() {
                    let mut part = part.map_err(|e| sniff::io_error(&file, e))?;
                    let stats =
                        part.for_each_row(width, header_len, &file, problems, &mut |r| {
                            go_on = f(r);
                            go_on
                        })?;
                    total.add(stats);
                    if !go_on {
                        break;
                    }
                }
                Ok(total)
            }
            Inner::Sheet(src) => src.for_each_row(&file, width, &mut f),
        };
        stats.map_err(|mut e: ReadError| {
            e.sheet = sheet.as_deref().map(str::to_string);
            e
        })
    }

    /// Folds every data row into per-part states: a CSV text is read in blocks, each folded
    /// on one of `threads` threads into a state made by `init`; `join` gets the states in
    /// file order as soon as each is next (so that appending them gives what one fold over
    /// all rows would, and finished parts do not pile up while later ones are read).
    /// `progress` is told how far the read got (CSV: bytes; workbooks: rows).
    pub(crate) fn fold_rows<S: Send>(
        &mut self,
        threads: usize,
        init: impl Fn() -> S + Sync,
        each: impl Fn(&mut S, &Row<'_>) + Sync,
        join: &mut dyn FnMut(S),
        progress: &(dyn Fn(u64) + Sync),
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<ReadStats, ReadError> {
        let width = self.detected.columns.len();
        let file = self.file.clone();
        let Inner::Csv(src) = &mut self.inner else {
            let mut state = init();
            let mut n = 0u64;
            let stats = self.for_each_row(|row| {
                each(&mut state, row);
                n += 1;
                if n.is_multiple_of(4096) {
                    progress(4096);
                    return !stop();
                }
                true
            })?;
            join(state);
            return Ok(stats);
        };
        let header_len = src.header_len();
        let spare = src.spare();
        type Done<S> = Result<(S, ReadStats, Vec<Diagnostic>), ReadError>;
        // One block's rows into `state`.
        let fold_into = |part: Result<csv_source::Part, std::io::Error>,
                         state: &mut S|
         -> Result<(ReadStats, Vec<Diagnostic>), ReadError> {
            let mut part = part.map_err(|e| sniff::io_error(&file, e))?;
            let mut problems = Vec::new();
            if stop() {
                return Ok((ReadStats::default(), problems));
            }
            let mut last: Option<u64> = None;
            let mut n = 0u32;
            let stats = part.for_each_row(width, header_len, &file, &mut problems, &mut |row| {
                each(state, row);
                n = n.wrapping_add(1);
                if n.is_multiple_of(4096) {
                    if let (Some(b), Some(l)) = (row.byte, last) {
                        progress(b.saturating_sub(l));
                    }
                    last = row.byte;
                }
                true
            })?;
            if let Some(spare) = &spare {
                spare.give(part.into_buffer());
            }
            Ok((stats, problems))
        };
        if threads <= 1 {
            // One thread: every block into one state.
            let mut state = init();
            let mut total = ReadStats::default();
            for part in src.parts() {
                let (stats, p) = fold_into(part, &mut state)?;
                total.add(stats);
                self.problems.extend(p);
            }
            join(state);
            return Ok(total);
        }
        let fold = |part| -> Done<S> {
            let mut state = init();
            let (stats, problems) = fold_into(part, &mut state)?;
            Ok((state, stats, problems))
        };
        use rayon::iter::{ParallelBridge, ParallelIterator};
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| {
                ReadError::new(
                    &file,
                    "io",
                    format!("cannot start {threads} threads: {e}"),
                    "run again with --threads 1",
                )
            })?;
        // Parts finish out of order; the ones ahead of the next wait here (a few: the
        // channel is bounded, so readers pause while this thread joins).
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Done<S>)>(threads);
        let mut waiting: BTreeMap<usize, Done<S>> = BTreeMap::new();
        let mut next = 0usize;
        let mut total = ReadStats::default();
        let mut failed: Option<ReadError> = None;
        let problems = &mut self.problems;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let parts = src.parts().enumerate();
                pool.install(|| {
                    parts.par_bridge().for_each_with(tx, |tx, (i, p)| {
                        // A closed channel means the join below ended early: nothing to do.
                        let _ = tx.send((i, fold(p)));
                    })
                });
            });
            for (i, done) in rx {
                waiting.insert(i, done);
                while let Some(done) = waiting.remove(&next) {
                    next += 1;
                    if failed.is_some() {
                        continue;
                    }
                    match done {
                        Ok((state, stats, p)) => {
                            join(state);
                            total.add(stats);
                            problems.extend(p);
                        }
                        Err(e) => failed = Some(e),
                    }
                }
            }
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    pub(crate) fn take_problems(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.problems)
    }

    /// The cells of rows read before, as text, by row number: CSV rows read again from the
    /// input (which stays open, or was copied as it was read), workbook rows from the sheet in
    /// memory. Rows that cannot be found are left out.
    pub(crate) fn fetch(&self, rows: &[u64]) -> Result<HashMap<u64, Vec<String>>, ReadError> {
        let width = self.detected.columns.len();
        match &self.inner {
            Inner::Csv(src) => src
                .fetch(&self.again, rows)
                .map_err(|e| sniff::io_error(&self.file, e)),
            Inner::Sheet(src) => src.rows_text(&self.file, rows, width),
        }
    }
}

impl ReadStats {
    fn add(&mut self, o: ReadStats) {
        self.rows += o.rows;
        self.empty_rows += o.empty_rows;
        self.ragged_rows += o.ragged_rows;
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
