//! Hostile files (tests/data/hostile): a clean diagnostic and exit 2, in bounded time and
//! memory (the child's own peak RSS, as it logs it).

use std::time::{Duration, Instant};

use crate::harness::*;

/// Runs vsimport with `args` and `-v`: (exit code, stderr, wall time, peak RSS in bytes).
/// The peak is the child's own, from wait4's rusage (`ru_maxrss`), checked against what
/// vsimport logs at the end (VmHWM): the larger of the two counts.
#[allow(clippy::zombie_processes)] // waited for with wait4, for its rusage
fn measured(cwd: &std::path::Path, args: &[&str]) -> (i32, String, Duration, u64) {
    use std::io::Read;
    let started = Instant::now();
    let mut all = args.to_vec();
    all.push("-v");
    let mut child = vs(&all)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).unwrap();
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).unwrap();
        String::from_utf8_lossy(&v).into_owned()
    });
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child just spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let took = started.elapsed();
    let _ = out.join().unwrap();
    let stderr = err.join().unwrap();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let logged_kb: u64 = stderr
        .lines()
        .find_map(|l| l.split("peak_rss_kb=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kb in: {stderr}"));
    let rusage_kb = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    let shown: String = stderr
        .lines()
        .filter(|l| !l.contains(" DEBUG "))
        .collect::<Vec<_>>()
        .join("\n");
    (code, shown, took, rusage_kb.max(logged_kb) * 1024)
}

/// What each file of the hostile corpus must end in: the exit code of `inspect` and of a dry
/// run, and a text the diagnostic holds. Every file ends in one diagnostic and exit 2 but two
/// that are read: bytes that are not UTF-8 are refused at each cell, and rejected rows are
/// rejected (exit 1 for a dry run, as for any rejected row).
const EXPECTED: &[(&str, i32, i32, &str)] = &[
    (
        "lying_shared_strings.xlsx",
        2,
        2,
        "4,000,000,000 shared strings",
    ),
    ("zip_bomb.xlsx", 2, 2, "max_unpacked_bytes"),
    ("ods_bomb.ods", 2, 2, "max_unpacked_bytes"),
    ("one_gb_row.xlsx", 2, 2, "max_zip_ratio"),
    (
        "lying_size_bomb.xlsx",
        2,
        2,
        "larger than its declared uncompressed size",
    ),
    ("nested_xml.xlsx", 2, 2, "nests at least"),
    ("xxe.xlsx", 2, 2, "unrecognized entity `&e;`"),
    ("billion_laughs.xlsx", 2, 2, "unrecognized entity `&lol9;`"),
    ("huge_dimension.xlsx", 2, 2, "max_cells"),
    (
        "rows_out_of_order.xlsx",
        2,
        2,
        "row 30 is stored after row 61",
    ),
    (
        "cell_past_last_column.xlsx",
        2,
        2,
        "past the last row or column",
    ),
    ("not_a_zip.xlsx", 2, 2, "not a zip archive"),
    ("invalid_utf8.csv", 0, 1, "vsimport::cell::not_text"),
    ("picture.csv", 2, 2, "PNG image"),
    ("calamine_cfb_panic.xls", 2, 2, "cannot be read"),
    ("calamine_cfb_loop.xls", 2, 2, "its container is damaged"),
    ("calamine_xls_dimensions.xls", 2, 2, "max_cells"),
    ("generated/endless_quote.csv", 2, 2, "max_record_bytes"),
    ("generated/huge_field.csv", 2, 2, "max_record_bytes"),
    ("generated/commas.csv", 2, 2, "max_record_bytes"),
    ("generated/million_columns.csv", 2, 2, "16,384 columns"),
    ("generated/wide_header.csv", 2, 2, "16,384 columns"),
    ("generated/late_wide_row.csv", 2, 2, "16,384 columns"),
    ("generated/sparse.csv", 2, 2, "NUL bytes"),
    ("generated/sparse.xlsx", 2, 2, "not a zip archive"),
    (
        "generated/rejected_rows.csv",
        0,
        1,
        "vsimport::date::invalid",
    ),
];

#[test]
fn every_hostile_file_ends_in_a_clean_error_fast_and_small() {
    let generated = crate::hostile_corpus::generated_dir();
    let dir = crate::hostile_corpus::dir();
    // Every file of the corpus has its expectation.
    let mut names: Vec<String> = crate::hostile_corpus::committed_names()
        .into_iter()
        .chain(crate::hostile_corpus::found_by_fuzzing())
        .map(String::from)
        .chain(
            crate::hostile_corpus::generated()
                .into_iter()
                .map(|(n, _)| format!("generated/{n}")),
        )
        .collect();
    names.sort();
    let mut expected: Vec<String> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(generated.is_dir());
    let mapping = root().join("samples/oee_semi_wide_de.mapping.toml");
    let catalog = sample_catalog();
    let mut shown_all = String::new();
    for (name, inspect_code, dry_code, key) in EXPECTED {
        // Relative to the corpus, so that messages wrap the same in any checkout.
        let p = *name;
        for (args, code) in [
            (vec!["inspect", p], *inspect_code),
            (
                vec![
                    "import",
                    p,
                    "-m",
                    mapping.to_str().unwrap(),
                    "--catalog",
                    catalog.to_str().unwrap(),
                    "--dry-run",
                ],
                *dry_code,
            ),
        ] {
            let (got, err, took, rss) = measured(&dir, &args);
            eprintln!(
                "{name} {}: exit {got}, {took:.2?}, {} MB",
                args[0],
                rss >> 20
            );
            assert_eq!(got, code, "{name} {}: {err}", args[0]);
            if code != 0 {
                // The terminal wraps lines: the words, in order.
                let flat = err
                    .split_whitespace()
                    .filter(|w| *w != "│")
                    .collect::<Vec<_>>()
                    .join(" ");
                assert!(flat.contains(key), "{name} {}: {err}", args[0]);
            }
            for bad in [
                "panicked",
                "memory allocation",
                "RUST_BACKTRACE",
                "root:x:0",
            ] {
                assert!(!err.contains(bad), "{name}: {err}");
            }
            assert!(!err.contains('\u{1b}'), "{name}: a raw escape sequence");
            assert!(
                err.len() < 20_000,
                "{name}: {} bytes of messages",
                err.len()
            );
            assert!(
                took < Duration::from_secs(5),
                "{name} {}: {took:?}",
                args[0]
            );
            assert!(
                rss < 256 << 20,
                "{name} {}: peak RSS {} MB",
                args[0],
                rss >> 20
            );
            if args[0] == "inspect" && code == 2 {
                shown_all.push_str(&format!("## {name}\n{err}\n"));
            }
        }
    }
    snapshots().bind(|| insta::assert_snapshot!("hostile_corpus", shown_all));
}

#[test]
fn long_cells_and_escape_sequences_are_shown_cut_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cells.csv");
    let big = "x".repeat(1_000_000);
    std::fs::write(
        &csv,
        format!(
            "Datum;Team;Kennzahl;Ist;Soll\n06.01.2025;\u{1b}[31mRED\u{1b}[0m;OEE;85,0;90\n06.01.2025;Montage Süd;{big};85,0;90\n"
        ),
    )
    .unwrap();
    let p = csv.to_str().unwrap();
    let inspect = run(vs(&["inspect", p]));
    assert_eq!(inspect.code, 0, "{}", inspect.all());
    let dry = catalog_dry_run(&csv, "oee_semi_wide_de.mapping.toml", &[]);
    assert_eq!(dry.code, 1, "{}", dry.all());
    for (what, r) in [("inspect", &inspect), ("dry run", &dry)] {
        let all = r.all();
        assert!(!all.contains('\u{1b}'), "{what}: a raw escape sequence");
        assert!(all.len() < 20_000, "{what}: {} bytes", all.len());
        assert!(all.contains("more characters)"), "{what}: {all}");
    }
    let shown = format!(
        "## inspect\n{}\n## dry run\n{}",
        shown(&inspect),
        shown(&dry)
    )
    .replace(dir.path().to_str().unwrap(), "[DIR]");
    snapshots().bind(|| insta::assert_snapshot!("hostile_cells", shown));
}

#[test]
fn a_negative_value_in_rejected_csv_imports_again_as_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("neg.csv");
    std::fs::write(
        &csv,
        "Datum;Team;Kennzahl;Ist;Soll\n31.02.2025;Montage Süd;OEE;-5,0;90\n",
    )
    .unwrap();
    let dry = |file: &std::path::Path, report: &std::path::Path| {
        catalog_dry_run(
            file,
            "oee_semi_wide_de.mapping.toml",
            &["--format", "json", "--report", report.to_str().unwrap()],
        )
    };
    let r = dry(&csv, &dir.path().join("r1"));
    assert_eq!(r.code, 1, "{}", r.all());
    let rejected = std::fs::read_to_string(dir.path().join("r1/rejected.csv")).unwrap();
    assert!(rejected.contains(";-5,0;"), "{rejected}");
    // Fixed and imported again: the value is the number it was.
    let fixed = dir.path().join("fixed.csv");
    std::fs::write(&fixed, rejected.replace("31.02.2025", "28.02.2025")).unwrap();
    let r = dry(&fixed, &dir.path().join("r2"));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["summary"]["records_planned"], 1, "{doc}");
}
