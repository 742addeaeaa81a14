//! report.html with 100,000 problems: its size, and how long headless Chromium takes to
//! render it beyond a blank page. Run: `cargo bench --bench html` (needs Debian's chromium;
//! figures: docs/PERFORMANCE.md).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_vsimport");
const ROWS: usize = 100_000;

fn chromium_seconds(page: &Path) -> f64 {
    let profile = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let out = Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (apt-get install chromium)");
    assert!(out.status.success());
    started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    // Three kinds of problem in turn: an unknown team, a number that is not one, a date that
    // does not exist.
    let mut csv = String::from("Datum;Team;Kennzahl;Ist;Soll\n");
    for i in 0..ROWS {
        let day = 1 + i % 28;
        match i % 3 {
            0 => csv.push_str(&format!("{day:02}.01.2025;Team {i};OEE;85,0;90\n")),
            1 => csv.push_str(&format!("{day:02}.01.2025;Montage Süd;OEE;8x{i};90\n")),
            _ => csv.push_str(&format!("31.02.2025;Montage Süd;OEE;{i},0;90\n")),
        }
    }
    let file = dir.path().join("problems.csv");
    std::fs::write(&file, csv).expect("write");
    let report = dir.path().join("report");
    let started = Instant::now();
    let status = Command::new(BIN)
        .arg("import")
        .arg(&file)
        .arg("-m")
        .arg(root.join("samples/oee_semi_wide_de.mapping.toml"))
        .arg("--catalog")
        .arg(root.join("samples/catalog.json"))
        .args(["--dry-run", "--quiet", "--report"])
        .arg(&report)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("vsimport");
    let dry = started.elapsed().as_secs_f64();
    assert_eq!(status.code(), Some(1));
    let page = report.join("report.html");
    let size = std::fs::metadata(&page).expect("report.html").len();
    let json = std::fs::metadata(report.join("report.json"))
        .expect("report.json")
        .len();
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!doctype html><title>x</title><p>x</p>").expect("write");
    let mut pages = Vec::new();
    let mut blanks = Vec::new();
    for _ in 0..5 {
        blanks.push(chromium_seconds(&blank));
        pages.push(chromium_seconds(&page));
    }
    let (p, b) = (median(pages), median(blanks));
    println!("report.html with {ROWS} problems (3 kinds), release build:");
    println!(
        "| dry run | report.html | report.json | Chromium: page | blank page | render beyond blank |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {dry:.2} s | {:.0} KB | {:.0} KB | {p:.2} s | {b:.2} s | {:.2} s |",
        size as f64 / 1024.0,
        json as f64 / 1024.0,
        p - b
    );
}
