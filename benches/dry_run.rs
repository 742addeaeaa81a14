//! The dry run (read, map, normalise, validate against the catalog, dedupe, plan) against the
//! raw csv / calamine read of the same file. Run: `cargo bench --bench dry_run`.
//! Inputs are generated into target/bench-data on first run. Figures: docs/PERFORMANCE.md.

#[path = "support/gen.rs"]
mod generator;

use std::path::PathBuf;

use calamine::{Data, Reader};
use vsimport::OnConflict;

fn catalog() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join("catalog.json")
}

fn main() {
    generator::csv_1m();
    generator::xlsx_100k();
    generator::semi_wide_mapping();
    divan::main();
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn csv_raw_byte_records() -> usize {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(generator::csv_1m())
        .expect("open");
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while r.read_byte_record(&mut rec).expect("read") {
        n += rec.len();
    }
    n
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn csv_dry_run() -> u64 {
    let r = vsimport::dry_run(
        generator::csv_1m(),
        generator::semi_wide_mapping(),
        &catalog(),
        OnConflict::Error,
    )
    .expect("dry run");
    assert_eq!(r.summary.values_planned, 2_000_000);
    r.summary.values_planned
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
fn xlsx_dry_run() -> u64 {
    let r = vsimport::dry_run(
        generator::xlsx_100k(),
        generator::semi_wide_mapping(),
        &catalog(),
        OnConflict::Error,
    )
    .expect("dry run");
    assert_eq!(r.summary.values_planned, 200_000);
    r.summary.values_planned
}
