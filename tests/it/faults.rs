//! Two runs that meet, links planted in the state directory, and what the state directory's
//! permissions let others read.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::*;

fn import(em: &Emulator, state: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut c = vs(&["import"]);
    c.arg(root().join("samples/oee_semi_wide_de.csv"))
        .arg("-m")
        .arg(root().join("samples/oee_semi_wide_de.mapping.toml"))
        .args(["--url", &em.url, "--concurrency", "1"])
        .arg("--state-dir")
        .arg(state)
        .args(extra);
    c
}

/// The first entry of a folder (the one journal, the one run directory).
fn first_in(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.all()))
}

#[test]
fn a_second_import_to_the_same_server_waits_or_stops_with_exit_4() {
    // 72 records, one at a time, 40 ms each: the first import writes for about 3 s.
    let em = Emulator::start(&["--latency-ms", "40"]);
    let state = tempfile::tempdir().unwrap();
    let first = import(&em, state.path(), &["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !em.log().iter().any(|l| l["method"] == "PUT") {
        assert!(Instant::now() < deadline, "the first import never wrote");
        std::thread::sleep(Duration::from_millis(10));
    }
    // At once: refused, naming who holds the lock, before any request of its own.
    let requests_before = em.log().len();
    let refused = run(import(&em, state.path(), &[]));
    assert_eq!(refused.code, 4, "{}", refused.all());
    assert!(
        refused.stderr.contains("another import to"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("importing"), "{}", refused.stderr);
    let gets_by_second = em.log()[requests_before..]
        .iter()
        .filter(|l| l["method"] == "GET")
        .count();
    // (The first import only writes now; any GET would be the second's.)
    assert_eq!(gets_by_second, 0, "the refused import sent requests");
    // Waiting in line: it runs after the first and finds nothing left to send.
    let waited = run(import(
        &em,
        state.path(),
        &["--wait-lock", "60", "--format", "json"],
    ));
    let first: Run = first.wait_with_output().unwrap().into();
    assert_eq!(first.code, 0, "{}", first.all());
    assert_eq!(json(&first)["summary"]["records_written"], 72);
    assert!(waited.code == 0 || waited.code == 3, "{}", waited.all());
    let w = json(&waited);
    assert_eq!(w["summary"]["records_written"], 0, "{w}");
    assert_eq!(w["summary"]["records_unchanged"], 72, "{w}");
    let puts = em.log().iter().filter(|l| l["method"] == "PUT").count();
    assert_eq!(puts, 72, "every record sent once");
    let mut snap = snapshots();
    snap.add_filter(r"pid \d+ since [^)]*", "pid [PID] since [TIME]");
    snap.bind(|| insta::assert_snapshot!("second_import_locked", shown(&refused)));
}

#[test]
fn a_link_planted_for_the_journal_is_not_followed_and_state_is_private() {
    let em = Emulator::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let r = run(import(&em, state.path(), &[]));
    assert_eq!(r.code, 0, "{}", r.all());
    // State directories 0700, files 0600.
    for sub in ["", "journals", "runs", "locks"] {
        let mode = std::fs::metadata(state.path().join(sub))
            .unwrap()
            .permissions()
            .mode();
        if !sub.is_empty() {
            assert_eq!(mode & 0o777, 0o700, "{sub}: {mode:o}");
        }
    }
    let journal = first_in(&state.path().join("journals"));
    let run_dir = first_in(&state.path().join("runs"));
    for f in [
        journal.clone(),
        run_dir.join("undo.json"),
        run_dir.join("report.json"),
    ] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}: {mode:o}", f.display());
    }
    // A link where the journal goes, pointing at someone else's file.
    let victim = state.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::remove_file(&journal).unwrap();
    std::os::unix::fs::symlink(&victim, &journal).unwrap();
    let again = run(import(&em, state.path(), &["--no-skip-unchanged"]));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(again.code, 2, "{}", again.all());
}

#[test]
fn an_endless_answer_is_cut_off_in_bounded_time_and_memory() {
    let em = Emulator::start(&["--endless-body"]);
    let started = Instant::now();
    let r = run(vs(&["kpis", "--url", &em.url]));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        r.stderr.contains("the answer is larger than 64 MiB"),
        "{}",
        r.stderr
    );
    snapshots().bind(|| insta::assert_snapshot!("endless_body", shown(&r)));
}

#[test]
fn get_retries_follow_max_attempts() {
    let em = Emulator::start(&["--fail-rate", "1.0"]);
    let r = run(vs(&[
        "kpis",
        "--url",
        &em.url,
        "--max-attempts",
        "2",
        "--retry-base-ms",
        "1",
    ]));
    assert_eq!(r.code, 2, "{}", r.all());
    let gets = em.log().iter().filter(|l| l["method"] == "GET").count();
    assert_eq!(gets, 2, "{}", r.all());
}

#[test]
fn throttling_with_huge_or_no_retry_after_loses_nothing() {
    for emulator in [
        // Random 429s asking for ~584 billion years: capped by --retry-cap.
        vec![
            "--throttle-rate",
            "0.3",
            "--retry-after-secs",
            "18446744073709551615",
        ],
        // A steady limit that says nothing about when to come back.
        vec!["--throttle-rps", "40", "--no-retry-after"],
        vec!["--throttle-rps", "40"],
    ] {
        let em = Emulator::start(&emulator);
        let state = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let r = run(import(
            &em,
            state.path(),
            &["--retry-cap", "1", "--format", "json"],
        ));
        assert_eq!(r.code, 0, "{emulator:?}: {}", r.all());
        let s = &json(&r)["summary"];
        assert_eq!(s["records_written"], 72, "{emulator:?}: {s}");
        assert_eq!(s["records_failed"], 0, "{emulator:?}: {s}");
        assert!(started.elapsed() < Duration::from_secs(60), "{emulator:?}");
        // Exact on the server.
        let after = run(import(
            &em,
            state.path(),
            &["--dry-run", "--diff", "--format", "json"],
        ));
        assert_eq!(
            json(&after)["summary"]["records_unchanged"],
            72,
            "{emulator:?}"
        );
    }
}

#[test]
fn a_damaged_journal_header_is_said_and_nothing_is_sent_twice() {
    let em = Emulator::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let first = run(import(&em, state.path(), &[]));
    assert_eq!(first.code, 0, "{}", first.all());
    let journal = first_in(&state.path().join("journals"));
    let text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&journal, format!("{{damaged{}", &text[10..])).unwrap();
    let puts_before = em.log().iter().filter(|l| l["method"] == "PUT").count();
    let again = run(import(&em, state.path(), &[]));
    assert!(again.code == 0 || again.code == 3, "{}", again.all());
    assert!(
        again.stderr.contains("not a journal vsimport can read"),
        "{}",
        again.stderr
    );
    let puts_after = em.log().iter().filter(|l| l["method"] == "PUT").count();
    assert_eq!(puts_before, puts_after, "nothing sent twice");
}

#[test]
fn a_write_applied_whose_answers_were_all_lost_counts_as_written() {
    // Every write is applied, then its connection dropped: no PUT ever gets an answer.
    let em = Emulator::start(&["--reset-rate", "1.0"]);
    let state = tempfile::tempdir().unwrap();
    let r = run(import(
        &em,
        state.path(),
        &[
            "--max-attempts",
            "2",
            "--retry-base-ms",
            "1",
            "--format",
            "json",
        ],
    ));
    let s = &json(&r)["summary"];
    assert_eq!(s["records_failed"], 0, "{s}");
    assert_eq!(s["records_written"], 72, "{s}");
    assert_eq!(r.code, 0, "{}", r.all());
    let after = run(import(
        &em,
        state.path(),
        &["--dry-run", "--diff", "--format", "json"],
    ));
    assert_eq!(json(&after)["summary"]["records_unchanged"], 72);
}

/// Every numeric flag, with values clap must refuse and with the extremes of its range: a
/// usage error (exit 2) naming the flag, or a normal run; never a panic.
#[test]
fn no_numeric_flag_value_panics() {
    let csv = root().join("samples/oee_semi_wide_de.csv");
    let csv = csv.to_str().unwrap();
    let mapping = root().join("samples/oee_semi_wide_de.mapping.toml");
    let mapping = mapping.to_str().unwrap();
    let catalog = sample_catalog();
    let catalog = catalog.to_str().unwrap();
    let state = tempfile::tempdir().unwrap();
    let state = state.path().to_str().unwrap();
    let offline = [
        "import",
        csv,
        "-m",
        mapping,
        "--dry-run",
        "--catalog",
        catalog,
    ];
    let nonsense = [
        "-1",
        "NaN",
        "inf",
        "-inf",
        "1e400",
        "1e-300",
        "18446744073709551616",
        "99999999999999999999999999",
        "0x10",
        "",
    ];
    let flags: &[(&[&str], &str)] = &[
        (&offline, "--timeout"),
        (&offline, "--concurrency"),
        (&offline, "--max-rps"),
        (&offline, "--max-attempts"),
        (&offline, "--retry-base-ms"),
        (&offline, "--retry-cap"),
        (&offline, "--header-row"),
        (&offline, "--threads"),
        (&offline, "--wait-lock"),
        (&["inspect", csv], "--rows"),
        (&["runs", "--state-dir", state], "--limit"),
        (
            &["runs", "prune", "--dry-run", "--state-dir", state],
            "--older-than",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--latency-ms",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--fail-rate",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--throttle-rps",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--throttle-rate",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--retry-after-secs",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--reset-rate",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--seed",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--range-days",
        ),
        (
            &["emulator", "--catalog", "/nonexistent/catalog.json"],
            "--range-months",
        ),
    ];
    for (command, flag) in flags {
        for value in nonsense {
            let mut args = command.to_vec();
            args.extend([flag, value]);
            let r = run(vs(&args));
            assert!(
                !r.all().contains("panicked") && matches!(r.code, 0..=4),
                "{args:?}: exit {}\n{}",
                r.code,
                r.all()
            );
            if r.code == 2 && r.stderr.contains("invalid value") {
                assert!(r.stderr.contains(flag), "{args:?}: {}", r.stderr);
            }
        }
    }
    // The extremes each range allows, in one real import against the emulator; the
    // server's extremes in its own flags.
    let em = Emulator::start(&[
        "--throttle-rps",
        "4294967295",
        "--retry-after-secs",
        "18446744073709551615",
        "--seed",
        "18446744073709551615",
        "--range-days",
        "3660",
        "--range-months",
        "120",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let r = run(vs(&[
        "import",
        csv,
        "-m",
        mapping,
        "--url",
        &em.url,
        "--state-dir",
        dir.path().to_str().unwrap(),
        "--timeout",
        "3600",
        "--concurrency",
        "512",
        "--max-attempts",
        "50",
        "--retry-base-ms",
        "600000",
        "--retry-cap",
        "3600",
        "--max-rps",
        "100000",
        "--threads",
        "256",
        "--wait-lock",
        "86400",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(json(&r)["summary"]["records_failed"], 0, "{}", r.all());
    for extreme in [
        vec![
            "--max-rps",
            "0.001",
            "--concurrency",
            "1",
            "--max-attempts",
            "1",
        ],
        vec!["--retry-base-ms", "1", "--retry-cap", "1", "--timeout", "1"],
    ] {
        let mut args = offline.to_vec();
        args.extend(extreme.iter().copied());
        let r = run(vs(&args));
        assert_eq!(r.code, 0, "{args:?}: {}", r.all());
    }
    for rows in ["0", "18446744073709551615"] {
        let r = run(vs(&["inspect", csv, "--rows", rows]));
        assert_eq!(r.code, 0, "--rows {rows}: {}", r.all());
    }
    let r = run(vs(&[
        "runs",
        "--state-dir",
        state,
        "--limit",
        "18446744073709551615",
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    let r = run(vs(&[
        "runs",
        "prune",
        "--dry-run",
        "--state-dir",
        state,
        "--older-than",
        "500000000y",
    ]));
    assert!(
        matches!(r.code, 0 | 2) && !r.all().contains("panicked"),
        "{}",
        r.all()
    );
}
