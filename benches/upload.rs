//! Upload throughput against the emulator, through the real binaries over loopback HTTP.
//! Run: `cargo bench --bench upload` (figures: docs/PERFORMANCE.md).
//!
//! 1. Bound: 10,000 records, emulator `--latency-ms 10`, `--concurrency 32`: the writing
//!    phase against the bound records / (concurrency / latency) = 3.125 s.
//! 2. CPU at latency 0: the client's and the emulator's CPU time per request (from
//!    /proc/PID/stat, Linux only), to show which side is the limit.
//! 3. The sequential Python `requests` loop (benches/python_put.py) over the same records,
//!    unless `VS_BENCH_SKIP_PYTHON=1`.

#[path = "support/gen.rs"]
mod generator;

#[path = "support/emulator.rs"]
mod emulator;

use emulator::Emulator;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_vsimport");
const RECORDS: u64 = 10_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data() -> (PathBuf, PathBuf) {
    let csv = generator::csv_10k().clone();
    let mapping = generator::semi_wide_mapping().clone();
    (csv, mapping)
}

/// utime + stime of a process, in seconds (Linux; None elsewhere).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

struct Import {
    wall: f64,
    /// The client's own CPU while writing, from its report.
    writing_cpu: Option<f64>,
    upload_seconds: f64,
    requests: u64,
    written: u64,
    client_cpu: Option<f64>,
}

fn import(em: &Emulator, csv: &Path, mapping: &Path, concurrency: u32, extra: &[&str]) -> Import {
    let state = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("import")
        .arg(csv)
        .arg("--mapping")
        .arg(mapping)
        .args(["--url", &em.url, "--concurrency", &concurrency.to_string()])
        .args(["--format", "json", "--quiet"])
        .args(extra)
        .arg("--state-dir")
        .arg(state.path())
        .env("VS_USER", "u")
        .env("VS_PASSWORD", "p")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start import");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    // Sample the client's CPU until it exits (the last sample is within 2 ms of the end).
    let mut client_cpu = None;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if let Some(c) = cpu_seconds(pid) {
            client_cpu = Some(c);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = started.elapsed().as_secs_f64();
    let out = reader.join().expect("stdout reader");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("report json");
    Import {
        wall,
        upload_seconds: doc["upload"]["seconds"].as_f64().unwrap_or(f64::NAN),
        writing_cpu: doc["upload"]["cpu_seconds"].as_f64(),
        requests: doc["upload"]["requests"].as_u64().unwrap_or(0),
        written: doc["summary"]["records_written"].as_u64().unwrap_or(0),
        client_cpu,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let (csv, mapping) = data();
    let latency = 10u64;
    let concurrency = 32u32;
    let bound = RECORDS as f64 / (concurrency as f64 / (latency as f64 / 1000.0));
    println!(
        "upload bench: {RECORDS} records, emulator --latency-ms {latency}, --concurrency {concurrency}"
    );
    println!(
        "  bound records/(concurrency/latency) = {bound:.3} s; target ≤ {:.3} s (90% of the bound rate)",
        bound / 0.9
    );
    let mut uploads = Vec::new();
    let mut walls = Vec::new();
    for i in 0..5 {
        let em = Emulator::start(BIN, &["--latency-ms".to_string(), latency.to_string()]);
        let r = import(&em, &csv, &mapping, concurrency, &[]);
        assert_eq!(r.written, RECORDS, "run {i} wrote {} records", r.written);
        println!(
            "  run {i}: writing {:.3} s ({:.0} records/s, {:.0}% of bound rate), whole import {:.3} s, {} requests",
            r.upload_seconds,
            RECORDS as f64 / r.upload_seconds,
            100.0 * bound / r.upload_seconds,
            r.wall,
            r.requests
        );
        uploads.push(r.upload_seconds);
        walls.push(r.wall);
    }
    let up = median(uploads);
    println!(
        "  median: writing {up:.3} s = {:.0}% of the bound rate; whole import {:.3} s",
        100.0 * bound / up,
        median_or(&walls)
    );

    println!("latency 0, --concurrency {concurrency}: CPU per request");
    for i in 0..5 {
        // The client's CPU for everything but the writing: the same import as a dry run with
        // diff (catalog, reading and checking, reading the current values).
        let em = Emulator::start(BIN, &["--latency-ms".to_string(), "0".to_string()]);
        let dry = import(&em, &csv, &mapping, concurrency, &["--dry-run", "--diff"]);
        let before = cpu_seconds(em.child.id());
        let r = import(&em, &csv, &mapping, concurrency, &[]);
        let after = cpu_seconds(em.child.id());
        let emu_cpu = match (before, after) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let per = |c: Option<f64>| {
            c.map_or("n/a".to_string(), |c| {
                format!("{:.1} µs", c * 1e6 / r.requests.max(1) as f64)
            })
        };
        let writing_cpu = match (r.client_cpu, dry.client_cpu) {
            (Some(a), Some(b)) => Some(a - b),
            _ => None,
        };
        println!(
            "  run {i}: writing {:.3} s ({:.0} requests/s); client CPU per request: {} while writing, {} import minus dry run ({} whole import); emulator CPU {} per request (the import); client busy {}",
            r.upload_seconds,
            r.requests as f64 / r.upload_seconds,
            per(r.writing_cpu),
            per(writing_cpu),
            per(r.client_cpu),
            per(emu_cpu),
            r.writing_cpu.map_or("n/a".into(), |c| format!(
                "{:.0} % of the writing time",
                100.0 * c / r.upload_seconds
            )),
        );
    }

    if std::env::var_os("VS_BENCH_SKIP_PYTHON").is_none() {
        // The Python loop at latency 10, same records.
        let em = Emulator::start(BIN, &["--latency-ms".to_string(), latency.to_string()]);
        let started = Instant::now();
        let status = Command::new("python3")
            .arg(root().join("benches/python_put.py"))
            .arg(&csv)
            .arg(root().join("samples/catalog.json"))
            .arg(&em.url)
            .env("VS_USER", "u")
            .env("VS_PASSWORD", "p")
            .status();
        let secs = started.elapsed().as_secs_f64();
        match status {
            Ok(s) if s.success() => println!(
                "python requests, sequential, latency {latency} ms: {secs:.1} s; vsimport is {:.0}x faster (writing phase) / {:.0}x (whole import)",
                secs / up,
                secs / median_or(&walls)
            ),
            other => println!("python comparison did not run: {other:?}"),
        }
    }
}

fn median_or(v: &[f64]) -> f64 {
    median(v.to_vec())
}
