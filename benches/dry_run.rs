//! The dry run (read, map, normalise, validate against the catalog, dedupe, plan) against the
//! raw csv / calamine read of the same file. Run: `cargo bench --bench dry_run`.
//! Inputs are generated into target/bench-data on first run. Figures: docs/PERFORMANCE.md.

#[path = "support/gen.rs"]
mod generator;

use std::path::PathBuf;
use std::sync::OnceLock;

use calamine::{Data, Reader};
use vsimport::dedupe::OnConflict;

fn csv_1m() -> &'static PathBuf {
    static F: OnceLock<PathBuf> = OnceLock::new();
    F.get_or_init(generator::csv_1m)
}

fn xlsx_100k() -> &'static PathBuf {
    static F: OnceLock<PathBuf> = OnceLock::new();
    F.get_or_init(generator::xlsx_100k)
}

fn mapping() -> &'static PathBuf {
    static F: OnceLock<PathBuf> = OnceLock::new();
    F.get_or_init(|| {
        generator::bench_file("semi_wide.mapping.toml", |p| {
            std::fs::write(
                p,
                "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
            )
            .expect("write mapping")
        })
    })
}

fn catalog() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join("catalog.json")
}

fn main() {
    csv_1m();
    xlsx_100k();
    mapping();
    divan::main();
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn csv_raw_byte_records() -> usize {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(csv_1m())
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
    let r = vsimport::cmd::import::dry_run(csv_1m(), mapping(), &catalog(), OnConflict::Error)
        .expect("dry run");
    assert_eq!(r.summary.values_planned, 2_000_000);
    r.summary.values_planned
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn xlsx_raw_calamine_range() -> usize {
    let mut wb = calamine::open_workbook_auto(xlsx_100k()).expect("open");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("range");
    range
        .cells()
        .filter(|(_, _, d)| !matches!(d, Data::Empty))
        .count()
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn xlsx_dry_run() -> u64 {
    let r = vsimport::cmd::import::dry_run(xlsx_100k(), mapping(), &catalog(), OnConflict::Error)
        .expect("dry run");
    assert_eq!(r.summary.values_planned, 200_000);
    r.summary.values_planned
}
