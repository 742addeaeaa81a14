//! The checked workbook (`--annotate`: `NAME.checked.xlsx`): the analyst's own rows and columns
//! with every cell that has a problem filled red (errors) or yellow (warnings) and a note
//! carrying the message and the fix; first a sheet "Problems" listing them with links to the
//! cells. Fix the marked cells and import the checked workbook with the same mapping: rows and
//! columns keep their positions, and the reader passes over the "Problems" sheet.
//!
//! In: the input's rows as read ([`Rows`]) and the run's findings. Out: the workbook's bytes.
//! Every text is written as a string, never as a formula.

use std::collections::BTreeMap;

use rust_xlsxwriter::{Format, Note, Url, Workbook};

use crate::diag::{Severity, column_letters};
use crate::findings::Findings;
use crate::read::{CHECKED_PROBLEMS_SHEET, CHECKED_PROBLEMS_TITLE, OwnedCell as Value};

/// Rows at most: the whole workbook is held in memory while it is made (about 3.7 KB a row,
/// measured: 372 MB for 100,000 rows with 100,000 problems), so larger files get no checked
/// workbook (their rejected.csv lists the rows with problems).
pub(crate) const MAX_ROWS: u64 = 100_000;
/// Problems listed at most.
pub(crate) const MAX_MARKED: usize = 20_000;
/// Cells given a note at most (the first ones; the rest are filled and listed). A note is a
/// drawing object each: 100,000 of them took 1.7 GB and a minute to write (debug build).
pub(crate) const MAX_NOTES: usize = 5_000;

/// The input as read: where its header is, and every data row by its row number.
pub(crate) struct Rows {
    pub(crate) file: String,
    /// The data sheet's name in the checked workbook.
    pub(crate) sheet: String,
    pub(crate) header_row: u64,
    /// 1-based sheet column of the header's first cell.
    pub(crate) first_column: u32,
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<(u64, Vec<Value>)>,
}

/// A cell's text, for the list of problems.
fn text(v: &Value) -> String {
    match v {
        Value::Empty => String::new(),
        Value::Text(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Serial(v, _) => v.to_string(),
    }
}

/// What is marked on one cell.
struct Mark {
    severity: Severity,
    lines: Vec<String>,
}

/// Makes the workbook.
pub(crate) fn write(rows: &Rows, findings: &Findings) -> Result<Vec<u8>, String> {
    let xl = |e: rust_xlsxwriter::XlsxError| e.to_string();
    // Marks by (0-based row, 0-based column): the diagnostics with a cell, then the rejected
    // rows no diagnostic points into (beyond the kept ones) on their first cell.
    let first_col = rows.first_column.saturating_sub(1) as u16;
    let mut marks: BTreeMap<(u32, u16), Mark> = BTreeMap::new();
    let mut listed: Vec<(u32, u16, Severity, String, Option<String>)> = Vec::new();
    for d in &findings.diags.list {
        if d.severity == Severity::Info || listed.len() >= MAX_MARKED {
            continue;
        }
        let Ok(row) = u32::try_from(d.location.row.saturating_sub(1)) else {
            continue;
        };
        let col = d
            .location
            .column
            .map_or(first_col, |c| c.saturating_sub(1) as u16);
        let m = marks.entry((row, col)).or_insert(Mark {
            severity: d.severity,
            lines: Vec::new(),
        });
        if d.severity == Severity::Error {
            m.severity = Severity::Error;
        }
        let mut line = d.message.clone();
        if let Some(h) = &d.help {
            line.push_str("\nFix: ");
            line.push_str(h);
        }
        m.lines.push(line);
        listed.push((row, col, d.severity, d.message.clone(), d.help.clone()));
    }
    let marked_rows: std::collections::HashSet<u32> = marks.keys().map(|(r, _)| *r).collect();
    findings
        .rejected
        .each(|row, r| {
            if listed.len() >= MAX_MARKED {
                return false;
            }
            let Ok(row) = u32::try_from(row.saturating_sub(1)) else {
                return true;
            };
            if marked_rows.contains(&row) {
                return true;
            }
            let why = r.reasons.join("; ");
            marks.insert(
                (row, first_col),
                Mark {
                    severity: Severity::Error,
                    lines: vec![why.clone()],
                },
            );
            listed.push((row, first_col, Severity::Error, why, None));
            true
        })
        .map_err(|e| e.to_string())?;

    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let error = Format::new().set_background_color("#F4B6B0");
    let warning = Format::new().set_background_color("#FCE8A6");
    let cell_text: BTreeMap<u64, &Vec<Value>> = rows.rows.iter().map(|(n, v)| (*n, v)).collect();
    let quoted = rows.sheet.replace('\'', "''");

    // The list first.
    let list = book.add_worksheet();
    list.set_name(CHECKED_PROBLEMS_SHEET).map_err(xl)?;
    list.write_string_with_format(
        0,
        0,
        format!("{CHECKED_PROBLEMS_TITLE}{}", rows.file),
        &bold,
    )
    .map_err(xl)?;
    list.write_string(
        1,
        0,
        "Fix the marked cells on the next sheet, then import this workbook again with the same mapping.",
    )
    .map_err(xl)?;
    for (i, h) in [
        "Cell",
        "Row",
        "Column",
        "Cell text",
        "Severity",
        "Problem",
        "How to fix",
    ]
    .iter()
    .enumerate()
    {
        list.write_string_with_format(3, i as u16, *h, &bold)
            .map_err(xl)?;
    }
    for (i, (row, col, severity, message, help)) in listed.iter().enumerate() {
        let r = 4 + i as u32;
        let name = format!("{}{}", column_letters(u32::from(*col) + 1), row + 1);
        let url = Url::new(format!("internal:'{quoted}'!{name}")).set_text(&name);
        list.write_url(r, 0, url).map_err(xl)?;
        list.write_number(r, 1, f64::from(row + 1)).map_err(xl)?;
        let column = (*col as usize)
            .checked_sub(first_col as usize)
            .and_then(|c| rows.columns.get(c))
            .cloned()
            .unwrap_or_default();
        list.write_string(r, 2, &column).map_err(xl)?;
        let text = cell_text
            .get(&u64::from(row + 1))
            .and_then(|v| v.get((*col as usize).checked_sub(first_col as usize)?))
            .map(text)
            .unwrap_or_default();
        list.write_string(r, 3, &text).map_err(xl)?;
        list.write_string(r, 4, format!("{severity:?}").to_lowercase())
            .map_err(xl)?;
        list.write_string(r, 5, message).map_err(xl)?;
        list.write_string(r, 6, help.as_deref().unwrap_or(""))
            .map_err(xl)?;
    }
    for (c, w) in [
        (0u16, 10.0),
        (1, 7.0),
        (2, 16.0),
        (3, 22.0),
        (4, 9.0),
        (5, 60.0),
        (6, 60.0),
    ] {
        list.set_column_width(c, w).map_err(xl)?;
    }

    // The data, where it was.
    let data = book.add_worksheet();
    data.set_name(&rows.sheet).map_err(xl)?;
    let header_row = u32::try_from(rows.header_row.saturating_sub(1)).map_err(|e| e.to_string())?;
    for (i, h) in rows.columns.iter().enumerate() {
        data.write_string_with_format(header_row, first_col + i as u16, h, &bold)
            .map_err(xl)?;
    }
    for (n, cells) in &rows.rows {
        if *n > MAX_ROWS {
            break;
        }
        let r = (*n - 1) as u32;
        for (i, v) in cells.iter().enumerate() {
            let c = first_col + i as u16;
            let format = marks.get(&(r, c)).map(|m| match m.severity {
                Severity::Error => &error,
                _ => &warning,
            });
            let plain = Format::new();
            let f = format.unwrap_or(&plain);
            match v {
                Value::Empty => {
                    if format.is_some() {
                        data.write_blank(r, c, f).map_err(xl)?;
                    }
                }
                Value::Text(s) => {
                    data.write_string_with_format(r, c, s, f).map_err(xl)?;
                }
                Value::Number(x) => {
                    data.write_number_with_format(r, c, *x, f).map_err(xl)?;
                }
                Value::Bool(b) => {
                    data.write_boolean_with_format(r, c, *b, f).map_err(xl)?;
                }
                Value::Serial(x, num) => {
                    let f = f.clone().set_num_format(*num);
                    data.write_number_with_format(r, c, *x, &f).map_err(xl)?;
                }
            }
        }
    }
    // Notes on the marked cells (and fills where the cell is past the row's end).
    for (i, ((r, c), m)) in marks.iter().enumerate() {
        if i < MAX_NOTES {
            let text: String = m.lines.join("\n\n").chars().take(2000).collect();
            let note = Note::new(text)
                .set_author("vsimport")
                .set_width(360)
                .set_height(140);
            data.insert_note(*r, *c, &note).map_err(xl)?;
        }
        let has_cell = cell_text.get(&u64::from(r + 1)).is_some_and(|v| {
            (*c as usize)
                .checked_sub(first_col as usize)
                .is_some_and(|i| i < v.len())
        });
        if !has_cell {
            let f = if m.severity == Severity::Error {
                &error
            } else {
                &warning
            };
            data.write_blank(*r, *c, f).map_err(xl)?;
        }
    }
    data.set_freeze_panes(header_row + 1, 0).map_err(xl)?;
    for i in 0..rows.columns.len() {
        data.set_column_width(first_col + i as u16, 14.0)
            .map_err(xl)?;
    }
    book.save_to_buffer().map_err(xl)
}
