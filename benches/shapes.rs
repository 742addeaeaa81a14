//! Dry runs on the shapes real exports have, each against the raw csv-crate read of the same
//! file in the same run: rows grouped, in random and reverse order, a German cp1252 file with
//! `;` and decimal commas (its raw read includes transcoding with encoding_rs), the long
//! layout at 2M rows, the wide layout, and a plant of 48 KPIs (DAY/WEEK/MONTH, Time, percent,
//! integer, sub-tiles) and 30 teams with non-ASCII names in random order, against its own
//! generated catalog; and semi-wide workbooks of 100k and 1M rows against calamine's range
//! read of the same file. vsimport runs as the release binary in a child process
//! (`import FILE -m MAPPING --catalog CATALOG --dry-run -q`), so its peak RSS is
//! its own (the `VmHWM` it logs at exit). Medians of 5 runs; prints one table (docs/PERFORMANCE.md).
//! Run: `cargo bench --bench shapes` (`VSIMPORT_BENCH_THREADS=1` for one thread,
//! `VSIMPORT_BENCH_ONLY=xlsx` for the shapes whose name contains `xlsx`).

#[path = "support/gen.rs"]
mod generator;

#[path = "support/peak.rs"]
mod peak;

use std::path::Path;
use std::time::{Duration, Instant};

use generator::Raw;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The raw read of `path`: every field of every record (every cell of the sheet) touched.
fn raw(path: &Path, kind: Raw) -> usize {
    if kind == Raw::Calamine {
        use calamine::Reader;
        let mut wb = calamine::open_workbook_auto(path).expect("open");
        let name = wb.sheet_names()[0].clone();
        let range = wb.worksheet_range(&name).expect("range");
        return range
            .cells()
            .filter(|(_, _, d)| !matches!(d, calamine::Data::Empty))
            .count();
    }
    let cp1252 = kind == Raw::Cp1252;
    let file = std::fs::File::open(path).expect("open");
    let input: Box<dyn std::io::Read> = if cp1252 {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::WINDOWS_1252))
                .build(file),
        )
    } else {
        Box::new(file)
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if cp1252 { b';' } else { b',' })
        .from_reader(std::io::BufReader::with_capacity(1 << 20, input));
    let mut rec = csv::ByteRecord::new();
    let mut bytes = 0;
    while r.read_byte_record(&mut rec).expect("read") {
        for f in rec.iter() {
            bytes += f.len();
        }
    }
    bytes
}

/// One dry run in a child process: (wall time, peak RSS in MB). The peak is the one vsimport
/// logs at exit (`VmHWM`, its own address space's high-water mark): wait4's `ru_maxrss` also
/// counts the parent's pages at the spawn, which a raw read of a workbook makes large.
fn dry_run(file: &Path, mapping: &Path, catalog: &Path) -> (Duration, u64) {
    let run = peak::run_logged(
        std::process::Command::new(env!("CARGO_BIN_EXE_vsimport"))
            .arg("import")
            .arg(file)
            .arg("-m")
            .arg(mapping)
            .arg("--catalog")
            .arg(catalog)
            .args(["--dry-run", "-q"])
            .args(threads()),
    );
    assert!(
        run.status.code().is_some_and(|c| c <= 1),
        "{}: {}",
        file.display(),
        run.status
    );
    let kb = peak::peak_rss_kb(&run.stderr);
    (run.took, kb / 1024)
}

/// `VSIMPORT_BENCH_THREADS=N` passes `--threads N` (default: vsimport's own choice).
fn threads() -> Vec<String> {
    std::env::var("VSIMPORT_BENCH_THREADS")
        .map(|n| vec!["--threads".to_string(), n])
        .unwrap_or_default()
}

fn main() {
    let shapes = generator::shapes();
    if !threads().is_empty() {
        println!("vsimport {}", threads().join(" "));
    }
    println!("| input | raw read | vsimport dry run | ratio | peak RSS |");
    println!("|---|---|---|---|---|");
    let only = std::env::var("VSIMPORT_BENCH_ONLY").unwrap_or_default();
    for (name, file, mapping, kind, catalog) in shapes {
        if !name.contains(only.as_str()) {
            continue;
        }
        let mut raws = Vec::new();
        let mut runs = Vec::new();
        let mut peak = 0;
        for _ in 0..5 {
            let t = Instant::now();
            std::hint::black_box(raw(&file, kind));
            raws.push(t.elapsed());
            let (took, rss) = dry_run(&file, &mapping, &catalog);
            runs.push(took);
            peak = peak.max(rss);
        }
        let (r, v) = (median(raws), median(runs));
        println!(
            "| {name} | {:.3} s | {:.3} s | {:.1}x | {peak} MB |",
            r.as_secs_f64(),
            v.as_secs_f64(),
            v.as_secs_f64() / r.as_secs_f64()
        );
    }
}
