//! The read stage against the raw parsers it is built on, on the same files.
//!
//! CSV: 1M rows x 5 columns (semi-wide layout), raw `csv::ByteRecord` loop vs vsimport's
//! located cells. XLSX: 100k rows x 5 columns, raw calamine `worksheet_range` vs vsimport.
//! Both sides touch every cell. Files are generated into target/bench-data on first run.
//! Run: `cargo bench --bench read`. Figures: docs/PERFORMANCE.md.

#[path = "support/gen.rs"]
mod generator;

use calamine::{Data, Reader};
use vsimport::{Cell, Input, Source, SourceOptions};

fn main() {
    // Generate before timing.
    generator::csv_1m();
    generator::xlsx_100k();
    divan::main();
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn csv_raw_byte_records() -> usize {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(generator::csv_1m())
        .expect("open");
    let mut rec = csv::ByteRecord::new();
    let mut bytes = 0;
    while r.read_byte_record(&mut rec).expect("read") {
        for f in rec.iter() {
            bytes += f.len();
        }
    }
    bytes
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn csv_vsimport_cells() -> usize {
    let mut src = Source::open(
        &Input::Path(generator::csv_1m().clone()),
        &SourceOptions::default(),
    )
    .expect("open");
    let width = src.detected().columns.len();
    let mut bytes = 0;
    src.for_each_row(|row| {
        for i in 0..width {
            if let Cell::Text(s) = row.cell(i) {
                bytes += s.len();
            }
        }
        true
    })
    .expect("read");
    bytes
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn xlsx_raw_calamine_range() -> usize {
    let mut wb = calamine::open_workbook_auto(generator::xlsx_100k()).expect("open");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("range");
    range
        .cells()
        .filter(|(_, _, d)| !matches!(d, Data::Empty))
        .count()
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn xlsx_vsimport_cells() -> usize {
    let mut src = Source::open(
        &Input::Path(generator::xlsx_100k().clone()),
        &SourceOptions::default(),
    )
    .expect("open");
    let width = src.detected().columns.len();
    let mut n = 0;
    src.for_each_row(|row| {
        for i in 0..width {
            if !matches!(row.cell(i), Cell::Empty) {
                n += 1;
            }
        }
        true
    })
    .expect("read");
    n
}
