//! Workbooks through calamine: xlsx, xlsm, xlsb, xls, ods, from the file's bytes read once
//! into memory. In: the bytes and [`SourceOptions`]; out: a [`SheetSource`] whose rows are
//! handed on one at a time as `&[DataRef]`, and the [`Detected`] layout. An xlsx sheet is
//! streamed at each pass ([`super::xlsx_rows`]), so memory does not grow with it; other
//! formats load the chosen sheet once (`worksheet_range`, cached formula results included).
//! Merged cells are filled from their top-left cell; cells become [`super::Cell`]s on access
//! ([`super::sheet_cell`]).

use std::io::Cursor;
use std::sync::Arc;

/// The first sheet of a checked workbook (`--annotate`), and how its first cell begins: the
/// reader passes over it to the data.
pub(crate) const CHECKED_PROBLEMS_SHEET: &str = "Problems";
pub(crate) const CHECKED_PROBLEMS_TITLE: &str = "Problems found by vsimport in ";

use std::collections::{HashMap, HashSet};

use calamine::{Data, DataRef, DataType, Range, Reader, Sheets, open_workbook_from_rs};

use super::header::{self, Candidate};
use super::sheet_cell::convert;
use super::xlsx_merges::Scanned;
use super::xlsx_rows;
use super::{Detected, Format, ReadError, ReadStats, Row, RowData, SheetChoice, SourceOptions};
use crate::suggest::did_you_mean;

pub(crate) struct SheetSource {
    cells: Cells,
    /// 0-based sheet row of the header.
    header_row: u32,
}

/// Where a sheet's cells come from.
enum Cells {
    /// xls, xlsb, ods: the sheet loaded whole, merged regions filled.
    Loaded(Range<Data>),
    /// xlsx: streamed from the workbook's bytes at each pass ([`xlsx_rows`]).
    Streamed {
        bytes: Arc<[u8]>,
        sheet: String,
        merges: Vec<calamine::Dimensions>,
        /// The first column (0-based) that holds a value in the rows searched for the header.
        base: u32,
        /// `max_cells`: cells with values the sheet may have (counted as they are read).
        max_cells: u64,
    },
}

fn open_error(shown: &str, e: calamine::Error) -> ReadError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("password") || lower.contains("encrypt") {
        return ReadError::new(
            shown,
            "encrypted",
            "the workbook is password-protected",
            "save a copy without a password and import that",
        );
    }
    ReadError::new(
        shown,
        "corrupt",
        format!("the workbook cannot be read: {text}"),
        "the file may be truncated or damaged: export or save it again; open and re-save it in Excel or LibreOffice if the problem stays",
    )
}

impl SheetSource {
    pub(crate) fn open(
        shown: &str,
        bytes: Arc<[u8]>,
        format: Format,
        opts: &SourceOptions,
    ) -> Result<(SheetSource, Detected), ReadError> {
        if let Err(b) =
            super::zip_guard::check(&bytes, &super::zip_guard::ZipLimits::from(&opts.limits))
        {
            return Err(ReadError::new(
                shown,
                "limit",
                b.message,
                if b.self_contradicting {
                    "the file contradicts itself (damaged, or made to exhaust memory): export it again from the BI tool".to_string()
                } else {
                    format!(
                        "a workbook this big or this packed is refused before it is unpacked; if the file is genuine, {}",
                        super::limits::raise_hint(b.key)
                    )
                },
            ));
        }
        if format == Format::Xls {
            let max_cells = opts.limits.get(super::Limit::Cells, true);
            match super::cfb_guard::check(&bytes, max_cells) {
                Ok(()) => {}
                Err(super::cfb_guard::Problem::Damaged(why)) => {
                    return Err(ReadError::new(
                        shown,
                        "corrupt",
                        format!("the workbook cannot be read: its container is damaged ({why})"),
                        "the file is damaged, or not what its name says: export or save it again; open and re-save it in Excel or LibreOffice if the problem stays",
                    ));
                }
                Err(super::cfb_guard::Problem::TooManyCells(cells)) => {
                    return Err(too_many_cells(
                        shown,
                        format!(
                            "a sheet declares {} cells, more than the limit of {}",
                            super::limits::thousands(cells),
                            super::limits::thousands(max_cells)
                        ),
                    ));
                }
            }
        }
        let rs = Cursor::new(bytes.clone());
        let mut wb: Sheets<Cursor<Arc<[u8]>>> = match format {
            Format::Xls => open_workbook_from_rs(rs)
                .map(Sheets::Xls)
                .map_err(calamine::Error::Xls),
            Format::Xlsb => open_workbook_from_rs(rs)
                .map(Sheets::Xlsb)
                .map_err(calamine::Error::Xlsb),
            Format::Ods => open_workbook_from_rs(rs)
                .map(Sheets::Ods)
                .map_err(calamine::Error::Ods),
            _ => open_workbook_from_rs(rs)
                .map(Sheets::Xlsx)
                .map_err(calamine::Error::Xlsx),
        }
        .map_err(|e| open_error(shown, e))?;
        let metadata = wb.sheets_metadata().to_vec();
        let names: Vec<String> = metadata.iter().map(|s| s.name.clone()).collect();
        let mut notes = Vec::new();
        let sheet_err = |message: String, help: String| ReadError {
            file: shown.to_string(),
            sheet: None,
            message,
            code: "vsimport::read::sheet_missing".into(),
            help: Some(help),
        };
        let sheet = match &opts.sheet {
            Some(SheetChoice::Name(n)) => {
                let found = names
                    .iter()
                    .find(|s| *s == n)
                    .or_else(|| names.iter().find(|s| s.eq_ignore_ascii_case(n)));
                match found {
                    Some(s) => s.clone(),
                    None => {
                        let help = match did_you_mean(n, names.iter().map(String::as_str)) {
                            Some(s) => {
                                format!("did you mean {s:?}? The sheets are: {}", names.join(", "))
                            }
                            None => format!("the sheets are: {}", names.join(", ")),
                        };
                        return Err(sheet_err(format!("there is no sheet named {n:?}"), help));
                    }
                }
            }
            Some(SheetChoice::Index(i)) => match names.get(i - 1) {
                Some(s) => s.clone(),
                None => {
                    return Err(sheet_err(
                        format!(
                            "there is no sheet number {i}: the workbook has {}",
                            names.len()
                        ),
                        format!("the sheets are: {}", names.join(", ")),
                    ));
                }
            },
            None => {
                let visible = |s: &&calamine::Sheet| {
                    s.visible == calamine::SheetVisible::Visible
                        && s.typ == calamine::SheetType::WorkSheet
                };
                // A checked workbook (`--annotate`) opens on vsimport's own list of problems;
                // its data is the next sheet.
                let own_list = |s: &calamine::Sheet, wb: &mut Sheets<Cursor<Arc<[u8]>>>| {
                    s.name == CHECKED_PROBLEMS_SHEET
                        && wb.worksheet_range(&s.name).is_ok_and(|r| {
                            r.get_value((0, 0))
                                .is_some_and(|v| v.to_string().starts_with(CHECKED_PROBLEMS_TITLE))
                        })
                };
                let mut candidates = metadata.iter().filter(visible);
                let first = match candidates.next() {
                    Some(s) if own_list(s, &mut wb) => candidates.next().or(Some(s)),
                    other => other,
                }
                .or_else(|| metadata.first())
                .ok_or_else(|| {
                    ReadError::new(
                        shown,
                        "empty",
                        "the workbook has no sheets",
                        "export the report again",
                    )
                })?;
                notes.push(format!(
                    "sheet: {:?} (the first visible worksheet; sheets: {})",
                    first.name,
                    names.join(", ")
                ));
                first.name.clone()
            }
        };
        if opts.sheet.is_some() {
            notes.push(format!(
                "sheet: {sheet:?} (configured; sheets: {})",
                names.join(", ")
            ));
        }
        let with_sheet = |mut e: ReadError| {
            e.sheet = Some(sheet.clone());
            e
        };
        // Guard against sheets too big to hold (a small xlsx can unpack to gigabytes).
        let max_cells = opts.limits.get(super::Limit::Cells, true);
        let declared = match &mut wb {
            Sheets::Xlsx(x) => x
                .worksheet_cells_reader(&sheet)
                .ok()
                .map(|r| r.dimensions()),
            _ => None,
        };
        if let Some(dim) = declared {
            let cells = u64::from(dim.end.0.saturating_sub(dim.start.0) + 1)
                * u64::from(dim.end.1.saturating_sub(dim.start.1) + 1);
            if cells > max_cells {
                return Err(with_sheet(too_many_cells(
                    shown,
                    format!(
                        "the sheet declares {} cells, more than the limit of {}",
                        super::limits::thousands(cells),
                        super::limits::thousands(max_cells)
                    ),
                )));
            }
        }
        let empty = || {
            with_sheet(ReadError::new(
                shown,
                "empty",
                "the sheet is empty",
                format!(
                    "pick the sheet with the data (sheets: {})",
                    names.join(", ")
                ),
            ))
        };
        // How many rows from the first that has a value are searched for the header.
        let search = |start_row: u32| match opts.header_row {
            Some(l) => (l as usize).saturating_sub(start_row as usize),
            None => header::SEARCH_ROWS,
        };
        let (cells, top, first_column, candidates) = match &mut wb {
            Sheets::Xlsx(x) => {
                let merges = match super::xlsx_merges::scan_sheet(&bytes, &sheet) {
                    Scanned::Merges(m) => m,
                    Scanned::Unknown => x.merge_cells_by_sheet_name(&sheet).unwrap_or_default(),
                    Scanned::TooDeep(depth) => {
                        return Err(with_sheet(ReadError::new(
                            shown,
                            "corrupt",
                            format!(
                                "the sheet's XML nests at least {} elements deep (a worksheet nests fewer than 10; the limit is {})",
                                super::limits::thousands(depth.unsigned_abs()),
                                super::xlsx_merges::MAX_DEPTH
                            ),
                            "the file is damaged, or made to exhaust a reader: export it again from the BI tool",
                        )));
                    }
                };
                let regions = merges.iter().filter(|m| m.start != m.end).count();
                if regions > 0 {
                    notes.push(format!(
                        "merged: {regions} merged regions filled from their top-left cell"
                    ));
                }
                let top = first_rows(x, &sheet, &merges, max_cells, &search)
                    .map_err(|p| with_sheet(stream_error(shown, p)))?;
                let Some(base) = top.iter().filter_map(|(_, _, first)| *first).min() else {
                    return Err(empty());
                };
                let candidates = top_candidates(&top, base);
                let start_row = top.first().map_or(0, |(r, ..)| *r);
                (
                    Cells::Streamed {
                        bytes: bytes.clone(),
                        sheet: sheet.clone(),
                        merges,
                        base,
                        max_cells,
                    },
                    start_row,
                    base,
                    candidates,
                )
            }
            other => {
                let merges = match other {
                    Sheets::Xls(x) => x.merge_cells_by_sheet_name(&sheet).unwrap_or_default(),
                    _ => Vec::new(),
                };
                let mut range = other
                    .worksheet_range(&sheet)
                    .map_err(|e| with_sheet(open_error(shown, e)))?;
                let (h, w) = range.get_size();
                if (h as u64) * (w as u64) > max_cells {
                    return Err(with_sheet(too_many_cells(
                        shown,
                        format!(
                            "the sheet has {} x {} cells, more than the limit of {}",
                            super::limits::thousands(h as u64),
                            super::limits::thousands(w as u64),
                            super::limits::thousands(max_cells)
                        ),
                    )));
                }
                if fill_merged(&mut range, &merges) > 0 {
                    notes.push(format!(
                        "merged: {} merged regions filled from their top-left cell",
                        merges.len()
                    ));
                }
                let Some((start_row, start_col)) = range.start() else {
                    return Err(empty());
                };
                let mut row = Vec::new();
                let candidates = range
                    .rows()
                    .take(search(start_row))
                    .enumerate()
                    .map(|(i, cells)| {
                        as_refs(cells, &mut row);
                        candidate(u64::from(start_row) + i as u64 + 1, &row)
                    })
                    .collect();
                (Cells::Loaded(range), start_row, start_col, candidates)
            }
        };
        let (header_index, note) =
            header::pick(&candidates, opts.header_row, &opts.expected_columns).map_err(
                |(message, help)| with_sheet(ReadError::new(shown, "no_header", message, help)),
            )?;
        notes.push(format!("header: {note}"));
        let header = &candidates[header_index];
        let detected = Detected {
            file: shown.to_string(),
            format,
            encoding: None,
            delimiter: None,
            sheet: Some(sheet.clone()),
            sheets: names,
            header_row: header.number,
            columns: header::names(header),
            first_column: first_column + 1,
            notes,
        };
        Ok((
            SheetSource {
                cells,
                header_row: top.saturating_add(header_index as u32),
            },
            detected,
        ))
    }

    /// The cells of the sheet rows `numbers` (1-based) that hold data, as text, by number.
    pub(crate) fn rows_text(
        &self,
        shown: &str,
        numbers: &[u64],
        width: usize,
    ) -> Result<HashMap<u64, Vec<String>>, ReadError> {
        let wanted: HashSet<u64> = numbers.iter().copied().collect();
        let mut out = HashMap::new();
        self.each_row(shown, width, &mut |number, cells| {
            if wanted.contains(&number) {
                out.insert(number, cells.iter().map(|d| convert(d).display()).collect());
            }
            out.len() < wanted.len()
        })?;
        Ok(out)
    }

    pub(crate) fn for_each_row(
        &self,
        shown: &str,
        width: usize,
        f: &mut dyn FnMut(&Row<'_>) -> bool,
    ) -> Result<ReadStats, ReadError> {
        let mut stats = ReadStats::default();
        let mut prev = u64::from(self.header_row) + 1;
        self.each_row(shown, width, &mut |number, cells| {
            // Rows between two that hold values are empty.
            stats.empty_rows += number.saturating_sub(prev + 1);
            prev = number;
            if cells.iter().all(|d| match d {
                DataRef::String(s) => s.trim().is_empty(),
                DataRef::SharedString(s) => s.trim().is_empty(),
                d => d.is_empty(),
            }) {
                stats.empty_rows += 1;
                return true;
            }
            stats.rows += 1;
            f(&Row {
                number,
                byte: None,
                data: RowData::Sheet(cells),
            })
        })?;
        // Blank rows at the very end are not worth mentioning.
        Ok(stats)
    }

    /// Hands each row below the header that holds a value (or lies in a merged region) to
    /// `f` as its 1-based number and its first `width` cells, until `f` says stop.
    fn each_row(
        &self,
        shown: &str,
        width: usize,
        f: &mut dyn FnMut(u64, &[DataRef<'_>]) -> bool,
    ) -> Result<(), ReadError> {
        let width = width.max(1);
        match &self.cells {
            Cells::Loaded(range) => {
                let start = range.start().map_or(0, |(r, _)| r);
                let mut row = Vec::new();
                for (i, cells) in range.rows().enumerate() {
                    let r = start.saturating_add(i as u32);
                    if r <= self.header_row {
                        continue;
                    }
                    as_refs(&cells[..cells.len().min(width)], &mut row);
                    if !f(u64::from(r) + 1, &row) {
                        break;
                    }
                }
                Ok(())
            }
            Cells::Streamed {
                bytes,
                sheet,
                merges,
                base,
                max_cells,
            } => {
                let problem = |p: xlsx_rows::Problem| stream_error(shown, p);
                let mut book =
                    xlsx_rows::open(bytes).map_err(|e| problem(xlsx_rows::Problem::Xlsx(e)))?;
                let sheet = xlsx_rows::Sheet {
                    name: sheet,
                    merges,
                    base: *base,
                    max_cells: *max_cells,
                };
                xlsx_rows::each_row(&mut book, &sheet, width, self.header_row, f).map_err(problem)
            }
        }
    }
}

/// A loaded row's cells as the streamed ones are, borrowed.
fn as_refs<'a>(cells: &'a [Data], out: &mut Vec<DataRef<'a>>) {
    out.clear();
    out.extend(cells.iter().map(|d| match d {
        Data::Empty => DataRef::Empty,
        Data::String(s) => DataRef::SharedString(s),
        Data::Int(i) => DataRef::Int(*i),
        Data::Float(f) => DataRef::Float(*f),
        Data::Bool(b) => DataRef::Bool(*b),
        Data::DateTime(dt) => DataRef::DateTime(*dt),
        Data::DateTimeIso(s) => DataRef::DateTimeIso(s.clone()),
        Data::DurationIso(s) => DataRef::DurationIso(s.clone()),
        Data::Error(e) => DataRef::Error(e.clone()),
    }));
}

/// One row searched for the header.
fn candidate(number: u64, cells: &[DataRef<'_>]) -> Candidate {
    Candidate {
        number,
        cells: cells
            .iter()
            .map(|d| convert(d).display().trim().to_string())
            .collect(),
        label: cells
            .iter()
            .map(|d| match d {
                DataRef::String(s) => !header::looks_like_data(s),
                DataRef::SharedString(s) => !header::looks_like_data(s),
                _ => false,
            })
            .collect(),
    }
}

/// The first rows of a streamed sheet, owned: each as (0-based row, cells from column A up
/// to its last value, the column of its first value).
type TopRows = Vec<(u32, Vec<Data>, Option<u32>)>;

/// The rows searched for the header, from the first that holds a value: `search` says how
/// many, given that row.
fn first_rows(
    book: &mut xlsx_rows::Book,
    name: &str,
    merges: &[calamine::Dimensions],
    max_cells: u64,
    search: &dyn Fn(u32) -> usize,
) -> Result<TopRows, xlsx_rows::Problem> {
    let sheet = xlsx_rows::Sheet {
        name,
        merges,
        base: 0,
        max_cells,
    };
    let Some(mut rows) = xlsx_rows::Rows::new(book, &sheet, None)? else {
        return Ok(Vec::new());
    };
    let mut top = TopRows::new();
    let mut end = None;
    while let Some((r, cells)) = rows.next_row()? {
        let end = *end.get_or_insert_with(|| u64::from(r) + search(r) as u64);
        if u64::from(r) >= end {
            break;
        }
        let first = cells.iter().position(|d| !d.is_empty());
        let len = cells
            .iter()
            .rposition(|d| !d.is_empty())
            .map_or(0, |i| i + 1);
        let owned = cells[..len].iter().cloned().map(Data::from).collect();
        top.push((r, owned, first.map(|i| i as u32)));
    }
    Ok(top)
}

/// The header candidates from the first rows: rows that store nothing included (as the
/// loaded sheets have them), cells from column `base` on, all as wide as the widest.
fn top_candidates(top: &TopRows, base: u32) -> Vec<Candidate> {
    let (Some((first, ..)), Some((last, ..))) = (top.first(), top.last()) else {
        return Vec::new();
    };
    let width = top
        .iter()
        .map(|(_, cells, _)| cells.len().saturating_sub(base as usize))
        .max()
        .unwrap_or(0);
    let mut row = Vec::with_capacity(width);
    let mut stored = top.iter().peekable();
    (*first..=*last)
        .map(|r| {
            let cells = stored
                .next_if(|(at, ..)| *at == r)
                .map_or(&[][..], |(_, cells, _)| {
                    cells.get(base as usize..).unwrap_or(&[])
                });
            as_refs(cells, &mut row);
            row.resize(width, DataRef::Empty);
            candidate(u64::from(r) + 1, &row)
        })
        .collect()
}

/// A sheet with more cells than `max_cells` allows, as `message` says.
fn too_many_cells(shown: &str, message: String) -> ReadError {
    ReadError::new(
        shown,
        "too_big",
        message,
        format!(
            "split the export; if the sheet really is that big, {}",
            super::limits::raise_hint("max_cells")
        ),
    )
}

/// A sheet that could not be streamed to its end.
fn stream_error(shown: &str, p: xlsx_rows::Problem) -> ReadError {
    match p {
        xlsx_rows::Problem::Xlsx(e) => open_error(shown, calamine::Error::Xlsx(e)),
        xlsx_rows::Problem::TooMany(_) => too_many_cells(shown, p.to_string()),
        other => ReadError::new(
            shown,
            "corrupt",
            format!("the workbook cannot be read: {other}"),
            "the file is damaged, or not what its name says: export or save it again; open and re-save it in Excel or LibreOffice if the problem stays",
        ),
    }
}

/// Copies each merged region's top-left value into the region's other cells. Returns how
/// many cells were filled.
fn fill_merged(range: &mut Range<Data>, merges: &[calamine::Dimensions]) -> usize {
    let (Some(start), Some(end)) = (range.start(), range.end()) else {
        return 0;
    };
    let mut filled = 0;
    for m in merges {
        let Some(value) = range.get_value(m.start).cloned() else {
            continue;
        };
        if matches!(value, Data::Empty) {
            continue;
        }
        for r in m.start.0.max(start.0)..=m.end.0.min(end.0) {
            for c in m.start.1.max(start.1)..=m.end.1.min(end.1) {
                if (r, c) != m.start {
                    range.set_value((r, c), value.clone());
                    filled += 1;
                }
            }
        }
    }
    filled
}
