//! Writes the workbook test fixtures in `tests/data/` with a real writer (rust_xlsxwriter).
//! `scripts/make_fixtures.sh` runs this, then has LibreOffice convert some of them to xls and
//! ods. Run from the repository root: `cargo run --example make_fixtures`.

use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Formula, Workbook, XlsxError};

fn main() -> Result<(), XlsxError> {
    std::fs::create_dir_all("tests/data").map_err(XlsxError::IoError)?;
    export_basic()?;
    multi_sheet()?;
    dates_1904_source()?;
    no_header()?;
    shift_times()?;
    println!("wrote tests/data/*.xlsx");
    Ok(())
}

/// A typical BI export: a hidden notes sheet first, then the data sheet with a merged title,
/// a blank row, the header, typed cells (dates, times, a duration, numbers, text, a formula
/// with its cached result, an error formula, a boolean), a team name merged down two rows, a
/// header cell merged across two columns, and formatted blank cells far below and to the
/// right (trailing empty rows and columns).
fn export_basic() -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let time = Format::new().set_num_format("hh:mm");
    let duration = Format::new().set_num_format("[h]:mm");
    let datetime = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let bold = Format::new().set_bold();
    let center = Format::new().set_align(FormatAlign::Center);

    let notes = wb.add_worksheet();
    notes.set_name("Hinweise")?;
    notes.write_string(0, 0, "Exported from the MES; do not edit")?;
    notes.set_hidden(true);

    let ws = wb.add_worksheet();
    ws.set_name("Daten")?;
    // The active sheet cannot be hidden: make the data sheet active.
    ws.set_active(true);
    ws.merge_range(0, 0, 0, 7, "OEE Export Werk 3", &center)?;
    for (c, h) in [
        "Datum",
        "Team",
        "OEE %",
        "Schichtbeginn",
        "Stillstand",
        "Ausschuss",
        "Kennzahl",
    ]
    .iter()
    .enumerate()
    {
        if *h == "Kennzahl" {
            ws.merge_range(2, c as u16, 2, c as u16 + 1, h, &bold)?;
        } else {
            ws.write_string_with_format(2, c as u16, *h, &bold)?;
        }
    }
    // Row 4 (index 3).
    ws.write_datetime_with_format(3, 0, ExcelDateTime::from_ymd(2025, 1, 6)?, &date)?;
    ws.merge_range(3, 1, 4, 1, "Montage Süd", &Format::new())?;
    ws.write_number(3, 2, 85.5)?;
    ws.write_datetime_with_format(3, 3, ExcelDateTime::from_hms(6, 0, 0)?, &time)?;
    ws.write_number_with_format(3, 4, 1.25, &duration)?;
    ws.write_formula(3, 5, Formula::new("=10/2").set_result("5"))?;
    ws.write_string(3, 6, "OEE")?;
    ws.write_boolean(3, 7, true)?;
    // Row 5: a datetime with a time part, an error formula, a big integer.
    ws.write_datetime_with_format(
        4,
        0,
        ExcelDateTime::from_ymd(2025, 1, 7)?.and_hms(14, 43, 20)?,
        &datetime,
    )?;
    ws.write_number(4, 2, 0.1 + 0.2)?;
    ws.write_datetime_with_format(4, 3, ExcelDateTime::from_hms(14, 43, 0)?, &time)?;
    ws.write_formula(4, 5, Formula::new("=1/0").set_result("#DIV/0!"))?;
    ws.write_number(4, 6, 123456789012.0)?;
    // Row 6 empty, row 7 with one value, rows below only formatted blanks.
    ws.write_string(6, 1, "Lager")?;
    ws.write_number(6, 2, 70.0)?;
    ws.write_blank(30, 12, &bold)?;
    wb.save("tests/data/export_basic.xlsx")
}

/// Three sheets for choosing by name and by number.
fn multi_sheet() -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    for (name, value) in [("Januar", 1.0), ("Februar", 2.0), ("März", 3.0)] {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        ws.write_string(0, 0, "Team")?;
        ws.write_string(0, 1, "Wert")?;
        ws.write_string(1, 0, "Lager")?;
        ws.write_number(1, 1, value)?;
    }
    wb.save("tests/data/multi_sheet.xlsx")
}

/// Dates as 1904-based serial numbers with a date format; make_fixtures.sh then switches the
/// workbook to the 1904 date system (rust_xlsxwriter writes only 1900 workbooks).
fn dates_1904_source() -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Date")?;
    ws.write_string(0, 1, "Output")?;
    // 2025-01-01 is serial 45658 in 1900 and 44196 in 1904.
    ws.write_number_with_format(1, 0, 44196.0, &date)?;
    ws.write_number(1, 1, 42.0)?;
    wb.save("tests/data/dates_1904.xlsx")
}

/// Numbers only: no row can be the header.
fn no_header() -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..5u32 {
        ws.write_number(r, 0, f64::from(r))?;
        ws.write_number(r, 1, f64::from(r * 2))?;
    }
    wb.save("tests/data/no_header.xlsx")
}

/// A Time KPI from Excel time cells (and one day fraction and one minutes number), with
/// Excel date cells, semi-wide.
fn shift_times() -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let time = Format::new().set_num_format("hh:mm");
    let ws = wb.add_worksheet();
    ws.set_name("Schichten")?;
    for (c, h) in ["Datum", "Team", "Kennzahl", "Ist", "Soll"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h)?;
    }
    type Shift<'a> = (u8, &'a str, (u8, u8), (u8, u8));
    let rows: [Shift; 3] = [
        (6, "Montage Süd", (5, 58), (6, 0)),
        (7, "Montage Süd", (6, 4), (6, 0)),
        (7, "Montage Nord", (14, 43), (14, 30)),
    ];
    for (i, (day, team, actual, target)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_datetime_with_format(r, 0, ExcelDateTime::from_ymd(2025, 1, *day)?, &date)?;
        ws.write_string(r, 1, *team)?;
        ws.write_string(r, 2, "Shift start")?;
        ws.write_datetime_with_format(
            r,
            3,
            ExcelDateTime::from_hms(actual.0 as u16, actual.1, 0)?,
            &time,
        )?;
        ws.write_datetime_with_format(
            r,
            4,
            ExcelDateTime::from_hms(target.0 as u16, target.1, 0)?,
            &time,
        )?;
    }
    // A day fraction typed as a plain number (06:30) and plain minutes (450 = 07:30).
    ws.write_datetime_with_format(4, 0, ExcelDateTime::from_ymd(2025, 1, 8)?, &date)?;
    ws.write_string(4, 1, "Lackiererei")?;
    ws.write_string(4, 2, "Shift start")?;
    ws.write_number(4, 3, 0.2708333333333333)?;
    ws.write_number(4, 4, 450.0)?;
    wb.save("tests/data/shift_times.xlsx")?;
    wb.save("samples/shift_times.xlsx")
}
