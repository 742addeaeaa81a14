//! The rows of an xlsx sheet, streamed from calamine's cell reader: only the row being read
//! is held, so memory does not grow with the sheet (a 1M-row sheet loaded whole as a calamine
//! `Range` took 417 MB). Input: the workbook's bytes, the sheet's name, its merged regions,
//! and the column window (first column, width); output: one row at a time as
//! `(sheet row, &[DataRef])`, each merged region filled from its top-left cell, as
//! [`super::excel`] does for a sheet loaded whole.
//!
//! Rows come in the order the sheet stores them. Excel and every library that writes xlsx
//! store them in order; a row stored after a later one is refused as damage (a streamed row
//! has been handed on already), and so is a cell past Excel's last row or column.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use calamine::{DataRef, Dimensions, Xlsx, XlsxError, open_workbook_from_rs};

/// Excel's last row and column (0-based).
const LAST_ROW: u32 = 1_048_575;
const LAST_COL: u32 = 16_383;

/// A workbook read from memory.
pub(crate) type Book = Xlsx<Cursor<Arc<[u8]>>>;

/// Opens the workbook in `bytes` (its shared strings and styles are read; no sheet is).
pub(crate) fn open(bytes: &Arc<[u8]>) -> Result<Book, XlsxError> {
    open_workbook_from_rs(Cursor::new(bytes.clone()))
}

/// Why a sheet could not be streamed to its end.
#[derive(Debug)]
pub(crate) enum Problem {
    Xlsx(XlsxError),
    /// Sheet row `row` (0-based) is stored after row `after`.
    OutOfOrder {
        row: u32,
        after: u32,
    },
    /// A cell at (row, column), 0-based, past Excel's last row or column.
    Beyond((u32, u32)),
    /// More cells with values than `max_cells` (the limit given).
    TooMany(u64),
    /// The reader library panicked, with this message.
    Panicked(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Xlsx(e) => write!(f, "{e}"),
            Problem::OutOfOrder { row, after } => write!(
                f,
                "row {} is stored after row {} (rows are stored in order)",
                u64::from(*row) + 1,
                u64::from(*after) + 1
            ),
            Problem::Beyond((r, c)) => write!(
                f,
                "a cell at row {}, column {} lies past the last row or column a sheet can have",
                u64::from(*r) + 1,
                u64::from(*c) + 1
            ),
            Problem::Panicked(why) => write!(f, "the reader failed on it ({why})"),
            Problem::TooMany(max) => write!(
                f,
                "the sheet has more than {} cells with values, the limit",
                super::limits::thousands(*max)
            ),
        }
    }
}

/// Merged regions, filled into the rows they cover as the rows go by.
struct Merges<'a> {
    /// Sorted by first row; single cells left out; clipped to the sheet's bounds.
    regions: Vec<Dimensions>,
    /// Region by its top-left cell.
    starts: HashMap<(u32, u32), usize>,
    /// Each region's top-left value, once its row has been read.
    tops: Vec<Option<DataRef<'a>>>,
    /// The first region not yet begun.
    next: usize,
    /// Regions begun and not yet ended.
    active: Vec<usize>,
}

impl<'a> Merges<'a> {
    fn new(merges: &[Dimensions]) -> Merges<'a> {
        let mut regions: Vec<Dimensions> = merges
            .iter()
            .filter(|m| m.start.0 <= m.end.0.min(LAST_ROW) && m.start.1 <= m.end.1.min(LAST_COL))
            .map(|m| Dimensions {
                start: m.start,
                end: (m.end.0.min(LAST_ROW), m.end.1.min(LAST_COL)),
            })
            .filter(|m| m.start != m.end)
            .collect();
        regions.sort_by_key(|m| m.start);
        let starts = regions
            .iter()
            .enumerate()
            .map(|(i, m)| (m.start, i))
            .collect();
        Merges {
            tops: vec![None; regions.len()],
            regions,
            starts,
            next: 0,
            active: Vec::new(),
        }
    }

    /// Remembers `v` if `pos` is a region's top-left cell.
    fn see(&mut self, pos: (u32, u32), v: &DataRef<'a>) {
        if self.starts.is_empty() {
            return;
        }
        if let Some(&i) = self.starts.get(&pos) {
            self.tops[i] = Some(v.clone());
        }
    }

    /// Begins the regions starting at or before row `r` and ends those ending before it.
    fn advance(&mut self, r: u32) {
        while let Some(m) = self.regions.get(self.next)
            && m.start.0 <= r
        {
            self.active.push(self.next);
            self.next += 1;
        }
        let regions = &self.regions;
        self.active.retain(|&i| regions[i].end.0 >= r);
    }

    /// Whether row `r` (after every row before it) lies in a begun region with a value to
    /// copy: such a row is not empty even when the sheet stores no cell in it.
    fn covers(&mut self, r: u32) -> bool {
        self.advance(r);
        self.active.iter().any(|&i| {
            self.regions[i].start.0 < r
                && self.tops[i]
                    .as_ref()
                    .is_some_and(|v| !matches!(v, DataRef::Empty))
        })
    }

    /// Copies each region's top-left value into its cells in row `r` (cells from column
    /// `base` on; `grow`: the row is made longer to hold them).
    fn fill(&mut self, r: u32, base: u32, row: &mut Vec<DataRef<'a>>, grow: bool) {
        self.advance(r);
        for &i in &self.active {
            let m = &self.regions[i];
            let Some(v) = self.tops[i]
                .as_ref()
                .filter(|v| !matches!(v, DataRef::Empty))
            else {
                continue;
            };
            if grow {
                let end = (m.end.1 + 1).saturating_sub(base) as usize;
                if row.len() < end {
                    row.resize(end, DataRef::Empty);
                }
            }
            for c in m.start.1.max(base)..=m.end.1 {
                let Some(slot) = row.get_mut((c - base) as usize) else {
                    break;
                };
                if (r, c) != m.start {
                    *slot = v.clone();
                }
            }
        }
    }
}

/// The sheet to stream and how: its name, its merged regions, the first column of the rows
/// handed on (0-based), and how many cells with values it may have (`max_cells`).
pub(crate) struct Sheet<'s> {
    pub(crate) name: &'s str,
    pub(crate) merges: &'s [Dimensions],
    pub(crate) base: u32,
    pub(crate) max_cells: u64,
}

/// A sheet's rows, read one at a time.
pub(crate) struct Rows<'a> {
    cells: calamine::XlsxCellReader<'a, Cursor<Arc<[u8]>>>,
    merges: Merges<'a>,
    base: u32,
    row: Vec<DataRef<'a>>,
    /// The row is as long as its last value (no fixed width).
    grow: bool,
    /// The first cell of the next row, read already.
    ahead: Option<calamine::Cell<DataRef<'a>>>,
    /// The last row handed out.
    last: Option<u32>,
    done: bool,
    /// Cells with values read, and how many may be.
    read: u64,
    max_cells: u64,
}

impl<'a> Rows<'a> {
    /// The rows of `sheet`, each as `width` cells from column `base` (0-based) on, or (`None`)
    /// up to its last value. `Ok(None)` when `sheet` is not a worksheet (a chart sheet): it
    /// has no rows.
    pub(crate) fn new(
        book: &'a mut Book,
        sheet: &Sheet<'_>,
        width: Option<usize>,
    ) -> Result<Option<Rows<'a>>, Problem> {
        let cells = match book.worksheet_cells_reader(sheet.name) {
            Ok(r) => r,
            Err(XlsxError::NotAWorksheet(_)) => return Ok(None),
            Err(e) => return Err(Problem::Xlsx(e)),
        };
        Ok(Some(Rows {
            cells,
            merges: Merges::new(sheet.merges),
            base: sheet.base,
            row: vec![DataRef::Empty; width.unwrap_or(0)],
            grow: width.is_none(),
            ahead: None,
            last: None,
            done: false,
            read: 0,
            max_cells: sheet.max_cells,
        }))
    }

    /// The next cell with a value.
    fn read_cell(&mut self) -> Result<Option<calamine::Cell<DataRef<'a>>>, Problem> {
        loop {
            let cells = &mut self.cells;
            // calamine can panic on a damaged sheet; that is the file's error, not a crash.
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cells.next_cell()))
                .map_err(|p| {
                    Problem::Panicked(
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "no reason given".into()),
                    )
                })?
                .map_err(Problem::Xlsx)?;
            match next {
                None => return Ok(None),
                Some(c) if matches!(c.get_value(), DataRef::Empty) => continue,
                Some(c) => {
                    let (r, col) = c.get_position();
                    if r > LAST_ROW || col > LAST_COL {
                        return Err(Problem::Beyond((r, col)));
                    }
                    self.read += 1;
                    if self.read > self.max_cells {
                        return Err(Problem::TooMany(self.max_cells));
                    }
                    return Ok(Some(c));
                }
            }
        }
    }

    /// The next row that has a value (stored, or copied from a merged region), as its sheet
    /// row (0-based) and its cells; `None` after the last row that stores a value.
    pub(crate) fn next_row(&mut self) -> Result<Option<(u32, &mut [DataRef<'a>])>, Problem> {
        if self.ahead.is_none() && !self.done {
            self.ahead = self.read_cell()?;
            self.done = self.ahead.is_none();
        }
        let Some(stored) = self.ahead.as_ref().map(|c| c.get_position().0) else {
            return Ok(None);
        };
        let from = self.last.map_or(0, |l| l + 1);
        if let Some(after) = self.last
            && stored <= after
        {
            return Err(Problem::OutOfOrder { row: stored, after });
        }
        // A row between two stored ones counts only when a merged region reaches into it.
        let r = if from < stored && self.merges.covers(from) {
            from
        } else {
            stored
        };
        if self.grow {
            self.row.clear();
        } else {
            self.row.fill(DataRef::Empty);
        }
        if r == stored {
            while let Some(c) = self.ahead.take_if(|c| c.get_position().0 == stored) {
                let pos = c.get_position();
                self.merges.see(pos, c.get_value());
                if let Some(i) = pos.1.checked_sub(self.base).map(|i| i as usize) {
                    if self.grow && self.row.len() <= i {
                        self.row.resize(i + 1, DataRef::Empty);
                    }
                    if let Some(slot) = self.row.get_mut(i) {
                        *slot = c.get_value().clone();
                    }
                }
                self.ahead = self.read_cell()?;
            }
            self.done = self.ahead.is_none();
        }
        self.merges.fill(r, self.base, &mut self.row, self.grow);
        self.last = Some(r);
        Ok(Some((r, &mut self.row)))
    }
}

/// Rows read together, handed from the reading thread to the checking one.
struct Batch<'a> {
    /// Sheet rows (0-based).
    numbers: Vec<u32>,
    /// Their cells, `width` a row.
    cells: Vec<DataRef<'a>>,
}

/// Rows handed over at a time (a batch of five-column rows is about 170 KB).
const BATCH_ROWS: usize = 1024;
/// Batches read ahead of the checking.
const BATCHES_AHEAD: usize = 4;

/// Hands each row below sheet row `after` (0-based) that has a value to `f`, in order, as its
/// 1-based number and `width` cells from column `base`, until `f` says stop. calamine's parse
/// (inflating, XML) runs on a second thread while `f` runs on this one: parsing is most of a
/// workbook's cost (a 100k-row sheet: 0.23 s of 0.36-0.44 s), and the rows' checks the rest.
pub(crate) fn each_row(
    book: &mut Book,
    sheet: &Sheet<'_>,
    width: usize,
    after: u32,
    f: &mut dyn FnMut(u64, &[DataRef<'_>]) -> bool,
) -> Result<(), Problem> {
    let width = width.max(1);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch<'_>, Problem>>(BATCHES_AHEAD);
        scope.spawn(move || {
            let mut rows = match Rows::new(book, sheet, Some(width)) {
                Ok(Some(rows)) => rows,
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            loop {
                let mut batch = Batch {
                    numbers: Vec::with_capacity(BATCH_ROWS),
                    cells: Vec::with_capacity(BATCH_ROWS * width),
                };
                let mut end = false;
                while batch.numbers.len() < BATCH_ROWS {
                    match rows.next_row() {
                        Ok(Some((r, cells))) if r > after => {
                            batch.numbers.push(r);
                            batch.cells.extend(cells.iter_mut().map(std::mem::take));
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            end = true;
                            break;
                        }
                        Err(e) => {
                            let _ = tx.send(Ok(batch));
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                // A closed channel: the checking stopped early.
                if tx.send(Ok(batch)).is_err() || end {
                    return;
                }
            }
        });
        for batch in rx {
            let batch = batch?;
            for (r, cells) in batch.numbers.iter().zip(batch.cells.chunks_exact(width)) {
                if !f(u64::from(*r) + 1, cells) {
                    // Dropping the channel stops the reading thread.
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(write: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Book {
        let mut wb = rust_xlsxwriter::Workbook::new();
        write(wb.add_worksheet());
        let bytes: Arc<[u8]> = Arc::from(wb.save_to_buffer().unwrap());
        open(&bytes).unwrap()
    }

    fn text(v: &DataRef<'_>) -> String {
        match v {
            DataRef::Empty => String::new(),
            DataRef::SharedString(s) => s.to_string(),
            DataRef::String(s) => s.clone(),
            DataRef::Float(f) => f.to_string(),
            other => format!("{other:?}"),
        }
    }

    fn sheet(merges: &[Dimensions], base: u32) -> Sheet<'_> {
        Sheet {
            name: "Sheet1",
            merges,
            base,
            max_cells: u64::MAX,
        }
    }

    fn all(book: &mut Book, merges: &[Dimensions], base: u32, width: usize) -> Vec<String> {
        let mut rows = Rows::new(book, &sheet(merges, base), Some(width))
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        while let Some((r, cells)) = rows.next_row().unwrap() {
            let cells: Vec<String> = cells.iter().map(text).collect();
            out.push(format!("{}:{}", r + 1, cells.join("|")));
        }
        out
    }

    #[test]
    fn rows_in_a_window_with_gaps() {
        let mut b = book(|ws| {
            ws.write(1, 1, "Date").unwrap();
            ws.write(1, 2, "KPI").unwrap();
            ws.write(2, 1, 1.5).unwrap();
            ws.write(5, 3, "far").unwrap();
            ws.write(5, 0, "left").unwrap();
        });
        assert_eq!(all(&mut b, &[], 1, 2), vec!["2:Date|KPI", "3:1.5|", "6:|"]);
    }

    #[test]
    fn merged_regions_are_filled_also_into_rows_that_store_nothing() {
        let mut b = book(|ws| {
            ws.write(0, 0, "Team").unwrap();
            ws.write(0, 1, "Value").unwrap();
            ws.write(1, 0, "Line 1").unwrap();
            ws.write(1, 1, 1).unwrap();
            ws.write(3, 1, 3).unwrap();
            ws.write(5, 1, 5).unwrap();
        });
        let merge = Dimensions {
            start: (1, 0),
            end: (3, 0),
        };
        assert_eq!(
            all(&mut b, &[merge], 0, 2),
            vec![
                "1:Team|Value",
                "2:Line 1|1",
                "3:Line 1|",
                "4:Line 1|3",
                "6:|5"
            ]
        );
        // A region with an empty top-left cell copies nothing.
        let empty = Dimensions {
            start: (2, 1),
            end: (4, 1),
        };
        assert_eq!(
            all(&mut b, &[empty], 0, 2),
            vec!["1:Team|Value", "2:Line 1|1", "4:|3", "6:|5"]
        );
    }

    #[test]
    fn rows_read_on_a_second_thread_come_in_order_and_stop_when_asked() {
        let mut b = book(|ws| {
            ws.write(0, 0, "Value").unwrap();
            for r in 1..=3000u32 {
                ws.write(r, 0, f64::from(r)).unwrap();
            }
        });
        let mut seen = Vec::new();
        each_row(&mut b, &sheet(&[], 0), 1, 0, &mut |n, cells| {
            seen.push((n, text(&cells[0])));
            true
        })
        .unwrap();
        assert_eq!(seen.len(), 3000);
        assert!(
            seen.iter()
                .enumerate()
                .all(|(i, (n, v))| *n == i as u64 + 2 && *v == (i + 1).to_string())
        );
        // Stopping early ends the reading thread too (the scope would wait for it forever).
        let mut n = 0;
        each_row(&mut b, &sheet(&[], 0), 1, 0, &mut |_, _| {
            n += 1;
            n < 1500
        })
        .unwrap();
        assert_eq!(n, 1500);
    }

    #[test]
    fn without_a_width_each_row_is_as_long_as_its_last_value() {
        let mut b = book(|ws| {
            ws.write(0, 0, "Title").unwrap();
            ws.write(1, 2, "x").unwrap();
        });
        // A region reaching past the row's last stored value makes it longer.
        let merge = Dimensions {
            start: (1, 2),
            end: (1, 4),
        };
        let mut rows = Rows::new(&mut b, &sheet(&[merge], 0), None)
            .unwrap()
            .unwrap();
        let mut lens = Vec::new();
        while let Some((_, cells)) = rows.next_row().unwrap() {
            lens.push(cells.iter().map(text).collect::<Vec<_>>().join("|"));
        }
        assert_eq!(lens, vec!["Title", "||x|x|x"]);
    }

    #[test]
    fn cells_past_max_cells_are_refused() {
        let mut b = book(|ws| {
            for r in 0..10 {
                ws.write(r, 0, "x").unwrap();
            }
        });
        let few = Sheet {
            max_cells: 9,
            ..sheet(&[], 0)
        };
        let e = each_row(&mut b, &few, 1, 0, &mut |_, _| true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the sheet has more than 9 cells with values, the limit"
        );
        let enough = Sheet {
            max_cells: 10,
            ..sheet(&[], 0)
        };
        assert!(each_row(&mut b, &enough, 1, 0, &mut |_, _| true).is_ok());
    }

    #[test]
    fn damage_is_refused() {
        let mut m = Merges::new(&[Dimensions {
            start: (0, 0),
            end: (u32::MAX, u32::MAX),
        }]);
        m.see((0, 0), &DataRef::Int(1));
        assert!(m.covers(LAST_ROW));
        assert_eq!(m.regions[0].end, (LAST_ROW, LAST_COL));
        let shown = Problem::OutOfOrder { row: 2, after: 9 }.to_string();
        assert_eq!(
            shown,
            "row 3 is stored after row 10 (rows are stored in order)"
        );
    }
}
