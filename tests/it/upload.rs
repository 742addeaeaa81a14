//! Writing: the real binary imports into the emulator over HTTP, with injected faults,
//! kills, permanent rejections, diffs, resume and undo; the final server state is read from
//! the emulator's own state file and compared with what the input file says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// A semi-wide export of "Attendance rate" (DAY, 12 teams, Actual + Target).
struct Data {
    dir: tempfile::TempDir,
    csv: PathBuf,
    mapping: PathBuf,
    /// (date, team id) → (actual, target)
    expected: BTreeMap<(String, String), (f64, f64)>,
}

fn attendance(days: usize, teams: usize, salt: u64) -> Data {
    let dir = tempfile::tempdir().unwrap();
    let k = kpi("Attendance rate");
    let team_list: Vec<(String, String)> = k["recordingTeams"]
        .as_array()
        .unwrap()
        .iter()
        .take(teams)
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let mut csv = String::from("Date,Team,Actual,Target\n");
    let mut expected = BTreeMap::new();
    for d in 0..days {
        let date = start + chrono::Days::new(d as u64);
        for (i, (name, id)) in team_list.iter().enumerate() {
            let actual = ((d as u64 * 31 + i as u64 * 7 + salt) % 1000) as f64 / 10.0;
            let target = 90.0 + (i % 5) as f64;
            csv.push_str(&format!("{date},{name},{actual},{target}\n"));
            expected.insert((date.to_string(), id.clone()), (actual, target));
        }
    }
    let path = dir.path().join("attendance.csv");
    std::fs::write(&path, csv).unwrap();
    let mapping = dir.path().join("attendance.toml");
    std::fs::write(
        &mapping,
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = { value = \"Attendance rate\" }\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
    )
    .unwrap();
    Data {
        dir,
        csv: path,
        mapping,
        expected,
    }
}

/// The emulator's state file: (date, team id) → value id → number.
fn state(path: &Path) -> BTreeMap<(String, String), BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = (
                r["date"].as_str().unwrap().to_string(),
                r["teamId"].as_str().unwrap().to_string(),
            );
            let vals = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    (
                        x["kpiValueId"].as_str().unwrap().to_string(),
                        x["value"].as_f64().unwrap(),
                    )
                })
                .collect();
            (key, vals)
        })
        .collect()
}

/// Asserts that the server holds exactly the file's records.
fn assert_state_is(state_file: &Path, data: &Data) {
    let k = kpi("Attendance rate");
    let actual_id = id_of(&k["kpiValues"], "Actual");
    let target_id = id_of(&k["kpiValues"], "Target");
    let got = state(state_file);
    assert_eq!(got.len(), data.expected.len(), "record count on the server");
    for (key, (a, t)) in &data.expected {
        let vals = got
            .get(key)
            .unwrap_or_else(|| panic!("record {key:?} missing"));
        assert_eq!(vals.get(&actual_id), Some(a), "Actual of {key:?}");
        assert_eq!(vals.get(&target_id), Some(t), "Target of {key:?}");
        assert_eq!(vals.len(), 2, "values of {key:?}");
    }
}

fn import(em: &Emulator, data: &Data, state_dir: &Path, extra: &[&str]) -> Command {
    let mut c = vs(&["import"]);
    c.arg(&data.csv)
        .arg("--mapping")
        .arg(&data.mapping)
        .args(["--url", &em.url])
        .arg("--state-dir")
        .arg(state_dir)
        .args(extra);
    c
}

fn report_of(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()))
}

/// Every acknowledged record in the journals under `state_dir`: key → times acknowledged.
fn journal_acks(state_dir: &Path) -> BTreeMap<String, usize> {
    let mut acks = BTreeMap::new();
    for e in std::fs::read_dir(state_dir.join("journals")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in text.lines().skip(1) {
            // Ack lines carry a key; a finished run's last line does not.
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                && let Some(key) = v["key"].as_str()
            {
                *acks.entry(key.to_string()).or_insert(0) += 1;
            }
        }
    }
    acks
}

#[test]
fn ten_thousand_records_through_faults_end_exact() {
    let data = attendance(834, 12, 0);
    let planned = data.expected.len() as u64;
    let state_file = data.dir.path().join("server.json");
    let em = Emulator::start(&[
        "--fail-rate",
        "0.05",
        "--throttle-rps",
        "500",
        "--reset-rate",
        "0.02",
        "--seed",
        "7",
        "--state",
        state_file.to_str().unwrap(),
    ]);
    let states = tempfile::tempdir().unwrap();
    let r = run(import(
        &em,
        &data,
        states.path(),
        &[
            "--concurrency",
            "16",
            "--retry-base-ms",
            "20",
            "--retry-cap",
            "2",
            "--format",
            "json",
        ],
    ));
    let doc = report_of(&r);
    let s = &doc["summary"];
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(s["records_planned"], planned);
    assert_eq!(
        s["records_written"].as_u64().unwrap() + s["records_failed"].as_u64().unwrap(),
        planned
    );
    assert_eq!(s["records_failed"], 0);
    assert!(s["retries"].as_u64().unwrap() > 0, "faults were injected");
    assert!(doc["upload"]["throttled"].as_u64().unwrap() > 0);
    // The adaptive limit went down while the server throttled.
    assert!(doc["upload"]["min_concurrency"].as_u64().unwrap() < 16);
    // The faults really happened on the server side.
    let log = em.log();
    for fault in ["fail", "throttle", "reset"] {
        assert!(
            log.iter().any(|l| l["fault"] == fault),
            "no {fault} in the emulator log"
        );
    }
    em.stop();
    assert_state_is(&state_file, &data);
    // One acknowledgement per record.
    let acks = journal_acks(states.path());
    assert_eq!(acks.len() as u64, planned);
    assert!(acks.values().all(|n| *n == 1));
}

#[test]
fn killed_imports_resume_and_finish_exactly() {
    let mut mid_write = 0;
    for seed in [1u64, 2, 3] {
        let data = attendance(200, 10, seed);
        let state_file = data.dir.path().join("server.json");
        let em = Emulator::start(&[
            "--latency-ms",
            "3",
            "--reset-rate",
            "0.01",
            "--seed",
            &seed.to_string(),
            "--state",
            state_file.to_str().unwrap(),
        ]);
        let states = tempfile::tempdir().unwrap();
        // Kill -9 somewhere in the middle of the writing.
        let mut child = import(&em, &data, states.path(), &["--concurrency", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = 150 + (seed * 7919) % 500;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        let first = journal_acks(states.path()).len();
        if first > 0 && first < data.expected.len() {
            mid_write += 1;
        }
        // Run again: it finishes the rest.
        let r = run(import(&em, &data, states.path(), &["--format", "json"]));
        assert_eq!(r.code, 0, "seed {seed}: {}", r.stderr);
        let doc = report_of(&r);
        let s = &doc["summary"];
        let planned = data.expected.len() as u64;
        assert_eq!(
            s["records_written"].as_u64().unwrap()
                + s["records_already_written"].as_u64().unwrap()
                + s["records_unchanged"].as_u64().unwrap(),
            planned,
            "seed {seed}"
        );
        assert_eq!(s["records_failed"], 0);
        em.stop();
        assert_state_is(&state_file, &data);
        let acks = journal_acks(states.path());
        assert!(
            acks.values().all(|n| *n == 1),
            "seed {seed}: a record was acknowledged twice"
        );
        assert!(
            (acks.len() as u64) <= planned && acks.len() >= first,
            "seed {seed}: {} acks, {first} before the kill",
            acks.len()
        );
    }
    assert!(
        mid_write > 0,
        "no kill landed while records were being written"
    );
}

#[test]
fn a_torn_journal_line_is_tolerated() {
    let data = attendance(20, 5, 0);
    let em = Emulator::start(&[]);
    let states = tempfile::tempdir().unwrap();
    let r = run(import(&em, &data, states.path(), &[]));
    assert_eq!(r.code, 0, "{}", r.all());
    // Cut the journal in the middle of its last line, as a kill during a write would.
    let jdir = states.path().join("journals");
    let path = std::fs::read_dir(&jdir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // A kill leaves no `finished` line: take it off, and cut the last ack line.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().last().unwrap().contains("\"finished\""),
        "{text}"
    );
    let text = text.trim_end().rsplit_once('\n').unwrap().0;
    let cut = text.len() - 10;
    std::fs::write(&path, &text[..cut]).unwrap();
    let r = run(import(
        &em,
        &data,
        states.path(),
        &["--no-skip-unchanged", "--format", "json"],
    ));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = report_of(&r);
    // The record of the torn line is sent again; the rest are known from the journal.
    assert_eq!(doc["summary"]["records_written"], 1);
    assert_eq!(doc["summary"]["records_already_written"], 99);
    let acks = journal_acks(states.path());
    assert_eq!(acks.len(), 100);
    assert!(acks.values().all(|n| *n == 1));
}

/// An emulator whose catalog lets only the teams `keep` accepts record "Attendance rate"
/// (while the plan is made with the sample catalog: the server then rejects the others).
fn server_where_attendance_is_recorded_by(
    dir: &Path,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> Emulator {
    let mut c = catalog();
    for k in c["kpis"].as_array_mut().unwrap() {
        if k["name"] == "Attendance rate" {
            k["recordingTeams"].as_array_mut().unwrap().retain(&keep);
        }
    }
    let path = dir.join("server-catalog.json");
    std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
    Emulator::start_with_catalog(&path, &[])
}

#[test]
fn a_permanent_rejection_is_tried_once_and_reported() {
    // The sample catalog lets 12 teams record Attendance rate; pick a team the server knows
    // but that does not record it, by removing one from the server's catalog.
    let dir = tempfile::tempdir().unwrap();
    let victim = kpi("Attendance rate")["recordingTeams"][0].clone();
    let em = server_where_attendance_is_recorded_by(dir.path(), |t| t["id"] != victim["id"]);
    let data = attendance(3, 4, 0);
    let states = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let r = run(import(
        &em,
        &data,
        states.path(),
        &[
            "--catalog",
            sample_catalog().to_str().unwrap(),
            "--report",
            report_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
    ));
    assert_eq!(r.code, 1, "{}", r.all());
    let doc = report_of(&r);
    assert_eq!(doc["summary"]["records_failed"], 3);
    assert_eq!(doc["summary"]["records_written"], 9);
    // Each rejected record was sent exactly once.
    let victim_id = victim["id"].as_str().unwrap();
    let puts: Vec<_> = em
        .log()
        .into_iter()
        .filter(|l| l["method"] == "PUT" && l["path"].as_str().unwrap().contains(victim_id))
        .collect();
    assert_eq!(puts.len(), 3);
    assert!(puts.iter().all(|l| l["status"] == 400));
    // failed.csv names them with the server's message.
    let failed = std::fs::read_to_string(report_dir.join("failed.csv")).unwrap();
    assert_eq!(failed.lines().count(), 4, "{failed}");
    assert!(failed.contains(victim_id));
    assert!(failed.contains(",400,"), "{failed}");
    assert!(failed.contains("recording team"), "{failed}");
}

#[test]
fn failed_records_can_be_imported_again_from_failed_csv() {
    let data = attendance(5, 3, 0);
    // Every request fails: all 15 records end in failed.csv.
    let broken = Emulator::start(&["--fail-rate", "1.0"]);
    let states = tempfile::tempdir().unwrap();
    let report_dir = data.dir.path().join("report");
    let r = run(import(
        &broken,
        &data,
        states.path(),
        &[
            "--catalog",
            sample_catalog().to_str().unwrap(),
            "--max-attempts",
            "2",
            "--retry-base-ms",
            "1",
            "--report",
            report_dir.to_str().unwrap(),
        ],
    ));
    // Reading the current values fails first: the import stops before writing anything.
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err().contains("503"), "{}", r.err());
    drop(broken);

    // Writes fail, reads work: a server that rejects these records (400) as above, then a
    // fixed server takes the failed.csv.
    let dir = tempfile::tempdir().unwrap();
    let rejecting = server_where_attendance_is_recorded_by(dir.path(), |_| false);
    let r = run(import(
        &rejecting,
        &data,
        states.path(),
        &[
            "--catalog",
            sample_catalog().to_str().unwrap(),
            "--report",
            report_dir.to_str().unwrap(),
        ],
    ));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("15 failed"), "{}", r.stdout);
    let failed = report_dir.join("failed.csv");
    let mapping = report_dir.join("failed.mapping.toml");
    assert!(mapping.exists());
    let state_file = dir.path().join("server.json");
    let fixed = Emulator::start(&["--state", state_file.to_str().unwrap()]);
    let r = run(vs(&["import"])
        .arg(&failed)
        .arg("--mapping")
        .arg(&mapping)
        .args(["--url", &fixed.url])
        .arg("--state-dir")
        .arg(states.path()));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("15 records"), "{}", r.stdout);
    fixed.stop();
    assert_state_is(&state_file, &data);
}

#[test]
fn diff_shows_changes_and_import_sends_only_those() {
    let data = attendance(10, 3, 0);
    let em = Emulator::start(&[]);
    let states = tempfile::tempdir().unwrap();
    let r = run(import(&em, &data, states.path(), &["--dry-run", "--diff"]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("Compared with the server: 30 new, 0 changed, 0 unchanged"),
        "{}",
        r.stdout
    );
    assert!(
        !em.log().iter().any(|l| l["method"] == "PUT"),
        "a dry run wrote"
    );
    assert_eq!(run(import(&em, &data, states.path(), &[])).code, 0);
    // Change two values in the file.
    let text = std::fs::read_to_string(&data.csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for i in [1, 5] {
        let mut cells: Vec<&str> = lines[i].split(',').collect();
        cells[2] = "12.5";
        lines[i] = cells.join(",");
    }
    std::fs::write(&data.csv, lines.join("\n") + "\n").unwrap();
    let r = run(import(
        &em,
        &data,
        states.path(),
        &["--dry-run", "--diff", "--format", "json"],
    ));
    let doc = report_of(&r);
    assert_eq!(doc["summary"]["records_changed"], 2);
    assert_eq!(doc["summary"]["records_unchanged"], 28);
    let change = &doc["changes"][0];
    assert_eq!(change["values"][0]["name"], "Actual");
    assert_eq!(change["values"][0]["new"], 12.5);
    let puts_before = em.log().iter().filter(|l| l["method"] == "PUT").count();
    let r = run(import(&em, &data, states.path(), &[]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("2 records; 28 unchanged"), "{}", r.stdout);
    let puts_after = em.log().iter().filter(|l| l["method"] == "PUT").count();
    assert_eq!(puts_after - puts_before, 2);
    // Not a terminal: no progress bars in the output.
    assert!(
        !r.stderr.contains("ETA") && !r.stderr.contains('\r'),
        "{}",
        r.stderr
    );
}

/// `data`'s file without its target column, each actual as `actual` makes it from the
/// file's, and a mapping for it.
fn actuals_only(data: &Data, actual: impl Fn(&str) -> &str) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(&data.csv).unwrap();
    let csv: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let c: Vec<&str> = l.split(',').collect();
            let a = if i == 0 { c[2] } else { actual(c[2]) };
            format!("{},{},{a}\n", c[0], c[1])
        })
        .collect();
    let csv_path = data.dir.path().join("actuals.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let mapping = data.dir.path().join("actuals.toml");
    std::fs::write(
        &mapping,
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = { value = \"Attendance rate\" }\n[values]\n\"Actual\" = \"Actual\"\n",
    )
    .unwrap();
    (csv_path, mapping)
}

#[test]
fn server_targets_are_kept_and_undo_restores() {
    let k = kpi("Attendance rate");
    let target_id = id_of(&k["kpiValues"], "Target");
    let data = attendance(4, 2, 0);
    let state_file = data.dir.path().join("server.json");
    let em = Emulator::start(&["--state", state_file.to_str().unwrap()]);
    let states = tempfile::tempdir().unwrap();
    // First import: actuals and targets.
    let r = run(import(&em, &data, states.path(), &[]));
    assert_eq!(r.code, 0, "{}", r.all());
    let first_id = undo_id(&r.stdout);
    // Second import: actuals only, changed.
    let (csv2, mapping2) = actuals_only(&data, |_| "1.5");
    let r = run(vs(&["import"])
        .arg(&csv2)
        .arg("--mapping")
        .arg(&mapping2)
        .args(["--url", &em.url, "--format", "json"])
        .arg("--state-dir")
        .arg(states.path()));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = report_of(&r);
    assert_eq!(doc["summary"]["records_changed"], 8);
    assert_eq!(doc["upload"]["targets_kept"], 8);
    let second_id = doc["upload"]["run"].as_str().unwrap().to_string();

    // Undo the second import: the first import's values are back.
    let undo = |id: &str, extra: &[&str]| {
        run(vs(&["undo", id])
            .args(["--url", &em.url])
            .arg("--state-dir")
            .arg(states.path())
            .args(extra))
    };
    let r = undo(&second_id, &["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("would restore 8 records"), "{}", r.stdout);
    let r = undo(&second_id, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("8 records restored"), "{}", r.stdout);
    let r = run(import(&em, &data, states.path(), &["--dry-run", "--diff"]));
    assert!(
        r.stdout.contains("0 new, 0 changed, 8 unchanged"),
        "{}",
        r.stdout
    );
    // A second undo of the same import does nothing.
    assert!(undo(&second_id, &[]).stderr.contains("already undone"));
    // Undo the first: the records it created are deleted.
    let r = undo(&first_id, &[]);
    assert!(r.stdout.contains("8 deleted"), "{}", r.stdout);
    em.stop();
    let s = state(&state_file);
    assert!(s.is_empty(), "{s:?}");
    let _ = target_id;
}

fn undo_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("undo: vsimport undo "))
        .map(|s| s.split_whitespace().next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no undo id in {stdout}"))
}

#[test]
fn bad_credentials_stop_the_run_at_once() {
    let data = attendance(10, 3, 0);
    let em = Emulator::start(&[]);
    let states = tempfile::tempdir().unwrap();
    let r = run(import(&em, &data, states.path(), &[]).env("VS_PASSWORD", "wrong"));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err().contains("401"), "{}", r.err());
    assert!(!em.log().iter().any(|l| l["method"] == "PUT"));
}

#[test]
fn answers_without_key_fields_are_read_record_by_record() {
    // A server whose list answers carry only the values (the public schema shows no key
    // fields): the comparison falls back to one GET per planned record.
    let data = attendance(3, 2, 0);
    let k = kpi("Attendance rate");
    let actual = id_of(&k["kpiValues"], "Actual");
    let target = id_of(&k["kpiValues"], "Target");
    let team = k["recordingTeams"][0]["id"].as_str().unwrap().to_string();
    let (a, t) = data.expected[&("2020-01-02".to_string(), team.clone())];
    let known = format!("/api/exchange/kpi-data/2020-01-02/{team}/");
    let server = TinyServer::start(20, move |path| {
        if path.starts_with("/api/exchange/kpi-data?") {
            let list = format!(r#"[{{"values":[{{"kpiValueId":"{actual}","value":1}}]}}]"#);
            (200, "application/json", list)
        } else if path.starts_with(&known) {
            let rec = format!(
                r#"{{"values":[{{"kpiValueId":"{actual}","value":{a}}},{{"kpiValueId":"{target}","value":{t}}}]}}"#
            );
            (200, "application/json", rec)
        } else {
            (
                404,
                "application/json",
                r#"{"message":"no record"}"#.to_string(),
            )
        }
    });
    let r = run(vs(&["import"])
        .arg(&data.csv)
        .arg("--mapping")
        .arg(&data.mapping)
        .args(["--catalog", sample_catalog().to_str().unwrap()])
        .args(["--url", &server.url, "--dry-run", "--diff"]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("Compared with the server: 5 new, 0 changed, 1 unchanged"),
        "{}",
        r.stdout
    );
    let seen = server.seen.lock().unwrap();
    let one_by_one = seen
        .iter()
        .filter(|h| h.starts_with("GET /api/exchange/kpi-data/"))
        .count();
    assert_eq!(one_by_one, 6, "{seen:?}");
}

#[test]
fn ctrl_c_and_sigterm_stop_sending_and_a_rerun_finishes() {
    for signal in ["-INT", "-TERM"] {
        interrupted_while_writing(signal);
    }
}

/// Interrupted (SIGINT as Ctrl-C sends, or SIGTERM as a scheduler does) while writing: the
/// journal is kept, the rest is reported as not sent, and a rerun sends only the rest.
fn interrupted_while_writing(signal: &str) {
    let data = attendance(100, 10, 4);
    let state_file = data.dir.path().join("server.json");
    let em = Emulator::start(&["--latency-ms", "5", "--state", state_file.to_str().unwrap()]);
    let states = tempfile::tempdir().unwrap();
    let child = import(
        &em,
        &data,
        states.path(),
        &["--concurrency", "2", "--format", "json"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Wait until some records are written, then interrupt as Ctrl-C would.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while em.log().iter().filter(|l| l["method"] == "PUT").count() < 50 {
        assert!(std::time::Instant::now() < deadline, "no writes seen");
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 1, "{signal}: {}", r.all());
    let doc = report_of(&r);
    assert_eq!(doc["upload"]["stopped"], "interrupted");
    let s = &doc["summary"];
    let written = s["records_written"].as_u64().unwrap();
    let not_sent = s["records_not_sent"].as_u64().unwrap();
    assert!(written >= 50 && not_sent > 0, "{s}");
    // Records never sent are not failures.
    assert_eq!(s["records_failed"], 0, "{s}");
    assert_eq!(written + not_sent, 1000);
    // Running it again sends the rest.
    let r = run(import(&em, &data, states.path(), &["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.all());
    em.stop();
    assert_state_is(&state_file, &data);
}

#[test]
fn ctrl_c_and_sigterm_before_writing_stop_with_nothing_written() {
    for signal in ["-INT", "-TERM"] {
        let data = attendance(20, 2, 1);
        // Every answer takes 3 s: the signal comes while the server's values are being read.
        let em = Emulator::start(&["--latency-ms", "3000"]);
        let states = tempfile::tempdir().unwrap();
        let child = import(&em, &data, states.path(), &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !em.log().iter().any(|l| l["method"] == "GET") {
            assert!(std::time::Instant::now() < deadline, "no reads seen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let r: Run = child.wait_with_output().unwrap().into();
        assert_eq!(r.code, 130, "{signal}: {}", r.all());
        assert!(
            r.stderr.contains("nothing was written"),
            "{signal}: {}",
            r.stderr
        );
        assert!(
            !em.log().iter().any(|l| l["method"] == "PUT"),
            "{signal}: a record was written"
        );
        if signal == "-TERM" {
            snapshots().bind(|| insta::assert_snapshot!("sigterm_before_writing", shown(&r)));
        }
    }
}

#[test]
fn max_rps_spaces_the_requests() {
    let data = attendance(6, 5, 0);
    let em = Emulator::start(&[]);
    let states = tempfile::tempdir().unwrap();
    let r = run(import(
        &em,
        &data,
        states.path(),
        &["--max-rps", "100", "--concurrency", "8"],
    ));
    assert_eq!(r.code, 0, "{}", r.all());
    let ms: Vec<f64> = em
        .log()
        .iter()
        .filter(|l| l["method"] == "PUT")
        .map(|l| l["ms"].as_f64().unwrap())
        .collect();
    assert_eq!(ms.len(), 30);
    // 30 requests at most 100 a second: the last starts at least 290 ms after the first
    // (a lower bound: the limit can only make it slower).
    let span =
        ms.iter().cloned().fold(f64::MIN, f64::max) - ms.iter().cloned().fold(f64::MAX, f64::min);
    assert!(span >= 280.0, "30 requests within {span} ms");
}

#[test]
fn writes_to_a_server_that_closes_every_connection() {
    // Not the emulator: one answer per connection (`Connection: close`), plain
    // Content-Length bodies. Every record is written on a new connection.
    let data = attendance(3, 2, 0);
    let server = TinyServer::start(40, |path| {
        if path.starts_with("/api/exchange/kpi-data?") {
            (200, "application/json", "[]".to_string())
        } else {
            (201, "application/json", "{}".to_string())
        }
    });
    let states = tempfile::tempdir().unwrap();
    let r = run(vs(&["import"])
        .arg(&data.csv)
        .arg("--mapping")
        .arg(&data.mapping)
        .args(["--catalog", sample_catalog().to_str().unwrap()])
        .args(["--url", &server.url, "--format", "json"])
        .arg("--state-dir")
        .arg(states.path()));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = report_of(&r);
    assert_eq!(doc["summary"]["records_written"], 6);
    assert_eq!(doc["summary"]["retries"], 0);
    let seen = server.seen.lock().unwrap();
    let puts: Vec<&String> = seen.iter().filter(|h| h.starts_with("PUT ")).collect();
    assert_eq!(puts.len(), 6, "{seen:?}");
    // The request head: the vendor media type, Basic Auth, a Host header, a body length.
    let head = puts[0].to_lowercase();
    for h in [
        "host: 127.0.0.1:",
        "authorization: basic ",
        "accept: */*",
        "content-type: application/vs.v2.0+json",
        "content-length: ",
    ] {
        assert!(head.contains(h), "{h} missing in {head}");
    }
}

/// Unchanged records sent again (`--no-skip-unchanged`) from a file without targets: the
/// comparison keeps the server's values of those records too, so their targets are sent back
/// and the import can be undone.
#[test]
fn unchanged_records_sent_again_keep_their_targets_and_can_be_undone() {
    let data = attendance(4, 2, 0);
    let em = Emulator::start(&[]);
    let states = tempfile::tempdir().unwrap();
    let r = run(import(&em, &data, states.path(), &[]));
    assert_eq!(r.code, 0, "{}", r.all());
    // The same actuals, without the target column.
    let (csv2, mapping2) = actuals_only(&data, |a| a);
    let r = run(vs(&["import"])
        .arg(&csv2)
        .arg("--mapping")
        .arg(&mapping2)
        .args(["--url", &em.url, "--format", "json", "--no-skip-unchanged"])
        .arg("--state-dir")
        .arg(states.path()));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = report_of(&r);
    assert_eq!(doc["summary"]["records_unchanged"], 0, "{}", doc["summary"]);
    assert_eq!(doc["summary"]["records_written"], 8, "{}", doc["summary"]);
    assert_eq!(doc["upload"]["targets_kept"], 8, "{}", doc["upload"]);
    let id = doc["upload"]["run"].as_str().unwrap().to_string();
    // The server holds the first import's values, targets included.
    let r = run(import(&em, &data, states.path(), &["--dry-run", "--diff"]));
    assert!(
        r.stdout.contains("0 new, 0 changed, 8 unchanged"),
        "{}",
        r.stdout
    );
    let r = run(vs(&["undo", &id, "--dry-run"])
        .args(["--url", &em.url])
        .arg("--state-dir")
        .arg(states.path()));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("would restore 8 records"), "{}", r.stdout);
    em.stop();
}

/// A server whose list answers carry no key fields (the public schema shows none): each
/// planned record of those windows is read on its own, so the comparison, the skipping of
/// unchanged records and undo work as with keyed answers.
#[test]
fn answers_without_key_fields_are_compared_record_by_record() {
    let data = attendance(40, 3, 0);
    let em = Emulator::start(&["--keyless-lists"]);
    let states = tempfile::tempdir().unwrap();
    let r = run(import(&em, &data, states.path(), &["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = report_of(&r);
    assert_eq!(doc["summary"]["records_new"], 120, "{}", doc["summary"]);
    assert_eq!(doc["summary"]["records_written"], 120, "{}", doc["summary"]);
    // The same file again: every record is found unchanged, one GET each, and none is sent.
    let r = run(import(&em, &data, states.path(), &["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = report_of(&r);
    assert_eq!(
        doc["summary"]["records_unchanged"], 120,
        "{}",
        doc["summary"]
    );
    assert_eq!(doc["summary"]["records_written"], 0, "{}", doc["summary"]);
    // A changed copy: the changes are found, written and undone.
    let changed = attendance(40, 3, 5);
    let r = run(import(&em, &changed, states.path(), &["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = report_of(&r);
    let n = doc["summary"]["records_changed"].as_u64().unwrap();
    assert!(n > 100, "{}", doc["summary"]);
    assert_eq!(doc["summary"]["records_written"], n, "{}", doc["summary"]);
    let id = doc["upload"]["run"].as_str().unwrap().to_string();
    let r = run(vs(&["undo", &id])
        .args(["--url", &em.url])
        .arg("--state-dir")
        .arg(states.path()));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains(&format!("{n} records restored")),
        "{}",
        r.stdout
    );
    let r = run(import(&em, &data, states.path(), &["--dry-run", "--diff"]));
    assert!(
        r.stdout.contains("0 new, 0 changed, 120 unchanged"),
        "{}",
        r.stdout
    );
    em.stop();
}
