//! Dry runs on the shapes real exports have, each against the raw csv-crate read of the same
//! file in the same run: rows grouped, in random and reverse order, a German cp1252 file with
//! `;` and decimal commas (its raw read includes transcoding with encoding_rs), the long
//! layout at 2M rows, the wide layout, and a plant of 48 KPIs (DAY/WEEK/MONTH, Time, percent,
//! integer, sub-tiles) and 30 teams with non-ASCII names in random order, against its own
//! generated catalog. vsimport runs as the release binary in a child process
//! (`import FILE -m MAPPING --catalog CATALOG --dry-run -q`), so its peak RSS is
//! its own (wait4's rusage). Medians of 5 runs; prints one table (docs/PERFORMANCE.md).
//! Run: `cargo bench --bench shapes` (`VSIMPORT_BENCH_THREADS=1` for one thread).

#[path = "support/gen.rs"]
mod generator;

use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The raw csv-crate read of `path`: every field of every record touched.
fn raw(path: &Path, cp1252: bool) -> usize {
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

/// One dry run in a child process: (wall time, peak RSS in MB).
#[allow(clippy::zombie_processes)] // waited for with wait4, for its rusage
fn dry_run(file: &Path, mapping: &Path, catalog: &Path) -> (Duration, u64) {
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_vsimport"))
        .arg("import")
        .arg(file)
        .arg("-m")
        .arg(mapping)
        .arg("--catalog")
        .arg(catalog)
        .args(["--dry-run", "-q"])
        .args(threads())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child just spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let took = started.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1,
        "{}: status {status}",
        file.display()
    );
    (took, usage.ru_maxrss as u64 / 1024)
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
    println!("| input | raw csv read | vsimport dry run | ratio | peak RSS |");
    println!("|---|---|---|---|---|");
    for (name, file, mapping, cp1252, catalog) in shapes {
        let mut raws = Vec::new();
        let mut runs = Vec::new();
        let mut peak = 0;
        for _ in 0..5 {
            let t = Instant::now();
            std::hint::black_box(raw(&file, cp1252));
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
