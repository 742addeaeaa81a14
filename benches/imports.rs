//! Imports of many records into the emulator (latency 0), through the real binaries over
//! loopback HTTP: peak resident memory and time per record.
//! Run: `cargo bench --bench imports` (figures: docs/PERFORMANCE.md).
//!
//! Cases: 10,000 records (three runs, the median: the time per record to compare with),
//! 1,000,000 records, the same file again (every record unchanged on the server: compared,
//! none sent), and 2,000,000 records (semi-wide rows, Actual and Target, dates from 2000 on:
//! the 2M file's reach past 2100, so its mapping allows years up to 3000). Goal (issue "fast
//! on the shapes real exports have"): peak RSS under 300 MB at 1M and 2M records, the time per
//! record no worse than at 10k. Each run is checked: every record written (or unchanged).

#[path = "support/gen.rs"]
mod generator;

#[path = "support/emulator.rs"]
mod emulator;

#[path = "support/peak.rs"]
mod peak;

use emulator::Emulator;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_vsimport");

struct Run {
    seconds: f64,
    peak_mb: f64,
    written: u64,
    unchanged: u64,
}

fn import(em: &Emulator, csv: &Path, mapping: &Path, state: &Path) -> Run {
    let run = peak::run_logged(
        std::process::Command::new(BIN)
            .arg("import")
            .arg(csv)
            .arg("--mapping")
            .arg(mapping)
            .args(["--url", &em.url, "--format", "json", "--quiet"])
            .arg("--state-dir")
            .arg(state)
            .env("VS_USER", "u")
            .env("VS_PASSWORD", "p"),
    );
    assert!(
        run.status.success(),
        "{}: {}\n{}",
        csv.display(),
        run.status,
        run.stderr
    );
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).expect("report json");
    let s = &doc["summary"];
    Run {
        seconds: run.took.as_secs_f64(),
        peak_mb: peak::peak_rss_kb(&run.stderr) as f64 / 1024.0,
        written: s["records_written"].as_u64().unwrap_or(0),
        unchanged: s["records_unchanged"].as_u64().unwrap_or(0),
    }
}

fn row(case: &str, records: u64, r: &Run, goal: &str) {
    println!(
        "| {case} | {records} | {:.2} s | {:.1} µs | {:.0} MB | {goal} |",
        r.seconds,
        r.seconds * 1e6 / records as f64,
        r.peak_mb
    );
}

fn main() {
    let mapping = generator::semi_wide_mapping().clone();
    let wide_years = generator::bench_file("semi_wide_years.mapping.toml", |p| {
        let m = std::fs::read_to_string(&mapping).expect("read mapping");
        std::fs::write(p, format!("[source]\nyears = [1000, 3000]\n{m}")).expect("write mapping")
    });
    let csv_2m = generator::bench_file("semi_wide_2m.csv", |p| {
        generator::write_csv(
            p,
            2_000_000,
            generator::Layout::SemiWide,
            generator::Locale::En,
        )
        .expect("write csv")
    });
    println!("imports bench: emulator at latency 0, semi-wide CSV, each case on a fresh emulator");
    println!("| case | records | time | per record | peak RSS | goal |");
    println!("|---|---|---|---|---|---|");

    let mut small: Vec<Run> = (0..3)
        .map(|_| {
            let em = Emulator::start(BIN, &[]);
            let state = tempfile::tempdir().expect("tempdir");
            let r = import(&em, generator::csv_10k(), &mapping, state.path());
            assert_eq!(r.written, 10_000);
            r
        })
        .collect();
    small.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    row("10k new (median of 3)", 10_000, &small[1], "");

    let em = Emulator::start(BIN, &[]);
    let state = tempfile::tempdir().expect("tempdir");
    let r = import(&em, generator::csv_1m(), &mapping, state.path());
    assert_eq!(r.written, 1_000_000);
    row("1M new", 1_000_000, &r, "< 300 MB");
    let r = import(&em, generator::csv_1m(), &mapping, state.path());
    assert_eq!((r.written, r.unchanged), (0, 1_000_000));
    row("1M again (unchanged)", 1_000_000, &r, "");
    drop(em);

    let em = Emulator::start(BIN, &[]);
    let state = tempfile::tempdir().expect("tempdir");
    let r = import(&em, &csv_2m, &wide_years, state.path());
    assert_eq!(r.written, 2_000_000);
    row("2M new", 2_000_000, &r, "< 300 MB");
}
