//! Workbooks through calamine: xlsx, xlsm, xlsb, xls, ods, from the file's bytes read once
//! into memory. The chosen sheet is loaded once (`worksheet_range`, cached formula results
//! included); merged cells are filled from their top-left cell; cells are converted to
//! [`Cell`]s on access.

use std::io::Cursor;
use std::sync::Arc;

/// The first sheet of a checked workbook (`--annotate`), and how its first cell begins: the
/// reader passes over it to the data.
pub(crate) const CHECKED_PROBLEMS_SHEET: &str = "Problems";
pub(crate) const CHECKED_PROBLEMS_TITLE: &str = "Problems found by vsimport in ";

use calamine::{Data, DataType, Range, Reader, Sheets, open_workbook_from_rs};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::header::{self, Candidate};
use super::xlsx_merges::Scanned;
use super::{
    Cell, Detected, Format, ReadError, ReadStats, Row, RowData, SheetChoice, SourceOptions,
};
use crate::suggest::did_you_mean;

pub(crate) struct SheetSource {
    range: Range<Data>,
    /// Index (in `range.rows()`) of the header row.
    header_index: usize,
    /// 0-based sheet row of the range's first row.
    start_row: u32,
}

fn error_static(e: &calamine::CellErrorType) -> &'static str {
    use calamine::CellErrorType as E;
    match e {
        E::Div0 => "#DIV/0!",
        E::NA => "#N/A",
        E::Name => "#NAME?",
        E::Null => "#NULL!",
        E::Num => "#NUM!",
        E::Ref => "#REF!",
        E::Value => "#VALUE!",
        E::GettingData => "#DATA!",
    }
}

/// The spreadsheet error value spelled exactly by `s`, if any.
pub(crate) fn error_literal(s: &str) -> Option<&'static str> {
    const ERRORS: [&str; 8] = [
        "#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!",
    ];
    ERRORS.iter().copied().find(|e| *e == s)
}

/// `PT14H43M20S`, `P1DT2H`, `-PT5M` (ODS durations) as a time delta.
fn parse_iso_duration(s: &str) -> Option<TimeDelta> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('P')?;
    let (days_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, t),
        None => (s, ""),
    };
    let mut ms: f64 = 0.0;
    let mut num = String::new();
    for c in days_part.chars() {
        match c {
            'D' => {
                ms += num.parse::<f64>().ok()? * 86_400_000.0;
                num.clear();
            }
            c if c.is_ascii_digit() || c == '.' => num.push(c),
            _ => return None,
        }
    }
    if !num.is_empty() {
        return None;
    }
    for c in time_part.chars() {
        let unit = match c {
            'H' => 3_600_000.0,
            'M' => 60_000.0,
            'S' => 1_000.0,
            c if c.is_ascii_digit() || c == '.' || c == ',' => {
                num.push(if c == ',' { '.' } else { c });
                continue;
            }
            _ => return None,
        };
        ms += num.parse::<f64>().ok()? * unit;
        num.clear();
    }
    if !num.is_empty() {
        return None;
    }
    let d = TimeDelta::milliseconds(ms.round() as i64);
    Some(if neg { -d } else { d })
}

fn parse_iso(s: &str) -> Option<Cell<'static>> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(Cell::Date(d));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(if dt.time() == NaiveTime::MIN {
                Cell::Date(dt.date())
            } else {
                Cell::DateTime(dt)
            });
        }
    }
    for f in ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"] {
        if let Ok(t) = NaiveTime::parse_from_str(s, f) {
            return Some(Cell::Time(t));
        }
    }
    None
}

/// One calamine value as a cell.
pub(crate) fn convert(d: &Data) -> Cell<'_> {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) if s.is_empty() => Cell::Empty,
        // Error values saved as text (ODS writes them so) are errors all the same.
        Data::String(s) => match error_literal(s) {
            Some(e) => Cell::Error(e),
            None => Cell::Text(s),
        },
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Float(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => {
            if dt.is_duration() {
                return dt
                    .as_duration()
                    .map(Cell::Duration)
                    .unwrap_or(Cell::Float(dt.as_f64()));
            }
            let v = dt.as_f64();
            match dt.as_datetime() {
                // A time-only cell is a fraction of a day (its date part is Excel's day 0).
                Some(ndt) if (0.0..1.0).contains(&v) => Cell::Time(ndt.time()),
                Some(ndt) if ndt.time() == NaiveTime::MIN => Cell::Date(ndt.date()),
                Some(ndt) => Cell::DateTime(ndt),
                None => Cell::Float(v),
            }
        }
        Data::DateTimeIso(s) => parse_iso(s).unwrap_or(Cell::Text(s)),
        Data::DurationIso(s) => parse_iso_duration(s)
            .map(Cell::Duration)
            .unwrap_or(Cell::Text(s)),
        Data::Error(e) => Cell::Error(error_static(e)),
    }
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
                    return Err(ReadError::new(
                        shown,
                        "too_big",
                        format!(
                            "a sheet declares {} cells, more than the limit of {}",
                            super::limits::thousands(cells),
                            super::limits::thousands(max_cells)
                        ),
                        format!(
                            "split the export; if the sheet really is that big, {}",
                            super::limits::raise_hint("max_cells")
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
                return Err(with_sheet(ReadError::new(
                    shown,
                    "too_big",
                    format!(
                        "the sheet declares {} cells, more than the limit of {}",
                        super::limits::thousands(cells),
                        super::limits::thousands(max_cells)
                    ),
                    format!(
                        "split the export; if the sheet really is that big, {}",
                        super::limits::raise_hint("max_cells")
                    ),
                )));
            }
        }
        let (range, merges) = match &mut wb {
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
                (
                    x.worksheet_range(&sheet).map_err(calamine::Error::Xlsx),
                    merges,
                )
            }
            Sheets::Xls(x) => {
                let merges = x.merge_cells_by_sheet_name(&sheet).unwrap_or_default();
                (
                    x.worksheet_range(&sheet).map_err(calamine::Error::Xls),
                    merges,
                )
            }
            other => (other.worksheet_range(&sheet), Vec::new()),
        };
        let mut range = range.map_err(|e| with_sheet(open_error(shown, e)))?;
        let (h, w) = range.get_size();
        if (h as u64) * (w as u64) > max_cells {
            return Err(with_sheet(ReadError::new(
                shown,
                "too_big",
                format!(
                    "the sheet has {} x {} cells, more than the limit of {}",
                    super::limits::thousands(h as u64),
                    super::limits::thousands(w as u64),
                    super::limits::thousands(max_cells)
                ),
                format!(
                    "split the export; if the sheet really is that big, {}",
                    super::limits::raise_hint("max_cells")
                ),
            )));
        }
        let filled = fill_merged(&mut range, &merges);
        if filled > 0 {
            notes.push(format!(
                "merged: {} merged regions filled from their top-left cell",
                merges.len()
            ));
        }
        let Some((start_row, start_col)) = range.start() else {
            return Err(with_sheet(ReadError::new(
                shown,
                "empty",
                "the sheet is empty",
                format!(
                    "pick the sheet with the data (sheets: {})",
                    names.join(", ")
                ),
            )));
        };
        let candidates: Vec<Candidate> = range
            .rows()
            .take(match opts.header_row {
                Some(l) => (l as usize).saturating_sub(start_row as usize),
                None => header::SEARCH_ROWS,
            })
            .enumerate()
            .map(|(i, row)| {
                let cells: Vec<String> = row
                    .iter()
                    .map(|d| convert(d).display().trim().to_string())
                    .collect();
                let label = row
                    .iter()
                    .map(|d| matches!(d, Data::String(s) if !header::looks_like_data(s)))
                    .collect();
                Candidate {
                    number: u64::from(start_row) + i as u64 + 1,
                    cells,
                    label,
                }
            })
            .collect();
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
            first_column: start_col + 1,
            notes,
        };
        Ok((
            SheetSource {
                range,
                header_index,
                start_row,
            },
            detected,
        ))
    }

    /// The cells of sheet row `number` (1-based), as text.
    pub(crate) fn row_text(&self, number: u64, width: usize) -> Option<Vec<String>> {
        let i = usize::try_from(number.checked_sub(u64::from(self.start_row) + 1)?).ok()?;
        let cells = self.range.rows().nth(i)?;
        Some(
            cells
                .iter()
                .take(width.max(1))
                .map(|d| convert(d).display())
                .collect(),
        )
    }

    pub(crate) fn for_each_row(
        &mut self,
        width: usize,
        f: &mut dyn FnMut(&Row<'_>) -> bool,
    ) -> ReadStats {
        let mut stats = ReadStats::default();
        for (i, cells) in self.range.rows().enumerate().skip(self.header_index + 1) {
            let cells = &cells[..cells.len().min(width.max(1))];
            if cells.iter().all(|d| match d {
                Data::String(s) => s.trim().is_empty(),
                d => d.is_empty(),
            }) {
                stats.empty_rows += 1;
                continue;
            }
            stats.rows += 1;
            let row = Row {
                number: u64::from(self.start_row) + i as u64 + 1,
                byte: None,
                data: RowData::Sheet(cells),
            };
            if !f(&row) {
                break;
            }
        }
        // Blank rows at the very end are not worth mentioning.
        stats
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(
            parse_iso_duration("PT14H43M00S"),
            Some(TimeDelta::minutes(14 * 60 + 43))
        );
        assert_eq!(parse_iso_duration("P1DT2H"), Some(TimeDelta::hours(26)));
        assert_eq!(parse_iso_duration("-PT5M"), Some(TimeDelta::minutes(-5)));
        assert_eq!(
            parse_iso_duration("PT1.5S"),
            Some(TimeDelta::milliseconds(1500))
        );
        assert_eq!(parse_iso_duration("14:43"), None);
    }

    #[test]
    fn iso_dates_and_times() {
        assert_eq!(
            parse_iso("2025-03-01"),
            Some(Cell::Date(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()))
        );
        assert_eq!(
            parse_iso("2025-03-01T00:00:00"),
            Some(Cell::Date(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()))
        );
        assert!(matches!(
            parse_iso("2025-03-01T08:15:00"),
            Some(Cell::DateTime(_))
        ));
        assert!(matches!(parse_iso("08:15:00"), Some(Cell::Time(_))));
        assert_eq!(parse_iso("soon"), None);
    }

    #[test]
    fn excel_serials() {
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        let date = Data::DateTime(ExcelDateTime::new(
            45658.0,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(
            convert(&date),
            Cell::Date(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())
        );
        let time = Data::DateTime(ExcelDateTime::new(
            0.6131944444,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(convert(&time).display(), "14:43:00");
        let dur = Data::DateTime(ExcelDateTime::new(
            1.25,
            ExcelDateTimeType::TimeDelta,
            false,
        ));
        assert_eq!(convert(&dur), Cell::Duration(TimeDelta::hours(30)));
        let d1904 = Data::DateTime(ExcelDateTime::new(
            44196.0,
            ExcelDateTimeType::DateTime,
            true,
        ));
        assert_eq!(
            convert(&d1904),
            Cell::Date(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())
        );
    }
}
