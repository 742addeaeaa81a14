//! Writing under throttling and faults, through the real binaries over loopback HTTP.
//! Run: `cargo bench --bench faults` (figures: docs/PERFORMANCE.md).
//!
//! 10,000 records, emulator `--latency-ms 10`, `--concurrency 32`, five runs per case:
//! - random faults: 5 %, 15 % and 30 % of requests, half 503 (`--fail-rate`), half 429 with
//!   `Retry-After: 1` (`--throttle-rate`), seeds 1..5;
//! - a steady limit: `--throttle-rps 500`, with and without `Retry-After`.
//!
//! Each run is checked exact: no record failed or left unsent, and a dry run with diff
//! against the server afterwards finds all 10,000 unchanged. Printed: the writing phase and
//! the whole import (median), their ratios to the clean case, requests and throttled answers.

#[path = "support/gen.rs"]
mod generator;

#[path = "support/emulator.rs"]
mod emulator;

use emulator::Emulator;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_vsimport");
const RECORDS: u64 = 10_000;

fn vsimport(
    em: &Emulator,
    csv: &Path,
    mapping: &Path,
    state: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("import")
        .arg(csv)
        .arg("--mapping")
        .arg(mapping)
        .args([
            "--url",
            &em.url,
            "--concurrency",
            "32",
            "--format",
            "json",
            "--quiet",
        ])
        .args(extra)
        .arg("--state-dir")
        .arg(state)
        .env("VS_USER", "u")
        .env("VS_PASSWORD", "p")
        .stderr(Stdio::inherit())
        .output()
        .expect("run import");
    serde_json::from_slice(&out.stdout).expect("report json")
}

struct Run {
    upload: f64,
    wall: f64,
    requests: u64,
    throttled: u64,
}

fn one(csv: &Path, mapping: &Path, emulator: &[String]) -> Run {
    let mut args = vec!["--latency-ms".to_string(), "10".to_string()];
    args.extend(emulator.iter().cloned());
    let em = Emulator::start(BIN, &args);
    let state = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    // VSIMPORT_BENCH_ARGS: more import flags (e.g. "--retry-base-ms 100"), to compare policies.
    let extra = std::env::var("VSIMPORT_BENCH_ARGS").unwrap_or_default();
    let extra: Vec<&str> = extra.split_whitespace().collect();
    let doc = vsimport(&em, csv, mapping, state.path(), &extra);
    let wall = started.elapsed().as_secs_f64();
    let s = &doc["summary"];
    assert_eq!(s["records_written"], RECORDS, "{emulator:?}: {s}");
    assert_eq!(s["records_failed"], 0, "{emulator:?}: {s}");
    assert_eq!(s["records_not_sent"], 0, "{emulator:?}: {s}");
    // Exact: the server holds every record with the file's values.
    let after = vsimport(&em, csv, mapping, state.path(), &["--dry-run", "--diff"]);
    assert_eq!(
        after["summary"]["records_unchanged"], RECORDS,
        "{emulator:?}: {}",
        after["summary"]
    );
    Run {
        upload: doc["upload"]["seconds"].as_f64().unwrap_or(f64::NAN),
        wall,
        requests: doc["upload"]["requests"].as_u64().unwrap_or(0),
        throttled: doc["upload"]["throttled"].as_u64().unwrap_or(0),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let csv = generator::csv_10k().clone();
    let mapping = generator::semi_wide_mapping().clone();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let cases: Vec<(&str, f64, Vec<String>)> = vec![
        ("clean", f64::INFINITY, s(&[])),
        (
            "5 % (2.5 % 503, 2.5 % 429 RA 1)",
            1.5,
            s(&["--fail-rate", "0.025", "--throttle-rate", "0.025"]),
        ),
        (
            "15 % (7.5 % 503, 7.5 % 429 RA 1)",
            2.0,
            s(&["--fail-rate", "0.075", "--throttle-rate", "0.075"]),
        ),
        (
            "30 % (15 % 503, 15 % 429 RA 1)",
            3.0,
            s(&["--fail-rate", "0.15", "--throttle-rate", "0.15"]),
        ),
        (
            "steady --throttle-rps 500, Retry-After 1",
            f64::NAN,
            s(&["--throttle-rps", "500"]),
        ),
        (
            "steady --throttle-rps 500, no Retry-After",
            f64::NAN,
            s(&["--throttle-rps", "500", "--no-retry-after"]),
        ),
    ];
    println!(
        "faults bench: {RECORDS} records, emulator --latency-ms 10, --concurrency 32, 5 runs each (seeds 1..5), every run exact"
    );
    println!(
        "| case | writing (median) | whole import | writing / clean | target | requests | throttled |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut clean = (f64::NAN, f64::NAN);
    // VSIMPORT_BENCH_ONLY=substr: only the cases whose name contains it (and the clean one).
    let only = std::env::var("VSIMPORT_BENCH_ONLY").ok();
    for (name, target, args) in cases {
        if name != "clean" && only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let mut runs = Vec::new();
        for seed in 1..=5 {
            let mut a = args.clone();
            a.extend(["--seed".to_string(), seed.to_string()]);
            runs.push(one(&csv, &mapping, &a));
        }
        let up = median(runs.iter().map(|r| r.upload).collect());
        let wall = median(runs.iter().map(|r| r.wall).collect());
        if name == "clean" {
            clean = (up, wall);
        }
        println!(
            "| {name} | {up:.2} s | {wall:.2} s | {:.2}x | {} | {} | {} |",
            up / clean.0,
            if target.is_nan() {
                "0 failed".to_string()
            } else if target.is_infinite() {
                String::new()
            } else {
                format!("≤ {target}x")
            },
            runs.iter()
                .map(|r| r.requests.to_string())
                .collect::<Vec<_>>()
                .join("/"),
            runs.iter()
                .map(|r| r.throttled.to_string())
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
}
