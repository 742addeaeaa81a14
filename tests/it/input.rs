//! The input is read once, from a file, a named pipe or standard input, and the report is the
//! same whichever it came from.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use crate::harness::*;

fn sample(name: &str) -> String {
    root()
        .join("samples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// A dry run's JSON report of `file` (a path or `-`), with `stdin` piped in when given; the
/// input's name is replaced by `INPUT` so reports of the same bytes compare equal.
fn report(file: &str, shown: &str, mapping: &str, stdin: Option<&[u8]>) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let mut cmd = vs(&[
        "import",
        file,
        "-m",
        mapping,
        "--catalog",
        &sample("catalog.json"),
        "--dry-run",
        "--format",
        "json",
        "--records",
        "--report",
        out.to_str().unwrap(),
    ]);
    let r: Run = match stdin {
        Some(bytes) => {
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut w = child.stdin.take().unwrap();
            let bytes = bytes.to_vec();
            let writer = std::thread::spawn(move || {
                let _ = w.write_all(&bytes);
            });
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap();
            out.into()
        }
        None => run(cmd),
    };
    assert!(r.code == 0 || r.code == 1, "{file}: {}", r.all());
    let mut doc: Value = serde_json::from_str(&r.stdout).unwrap();
    rename(&mut doc, shown);
    let rejected = std::fs::read_to_string(out.join("rejected.csv")).unwrap();
    (doc, rejected)
}

/// Every string `from` in `v` becomes `INPUT`.
fn rename(v: &mut Value, from: &str) {
    match v {
        Value::String(s) if s == from => *s = "INPUT".into(),
        Value::Array(a) => a.iter_mut().for_each(|x| rename(x, from)),
        Value::Object(o) => o.values_mut().for_each(|x| rename(x, from)),
        _ => {}
    }
}

#[test]
fn standard_input_reads_like_the_file() {
    for (name, mapping) in [
        ("oee_semi_wide_de.csv", "oee_semi_wide_de.mapping.toml"),
        ("weekly_safety_wide.csv", "weekly_safety_wide.mapping.toml"),
        ("shift_times.xlsx", "shift_times.mapping.toml"),
    ] {
        let path = sample(name);
        let bytes = std::fs::read(&path).unwrap();
        let (from_file, rejected_file) = report(&path, &path, &sample(mapping), None);
        let (from_stdin, rejected_stdin) = report("-", "<stdin>", &sample(mapping), Some(&bytes));
        assert_eq!(from_file, from_stdin, "{name}");
        assert_eq!(rejected_file, rejected_stdin, "{name}");
        assert!(
            from_file["summary"]["records_planned"].as_u64().unwrap() > 0,
            "{name}: {from_file}"
        );
    }
}

#[test]
#[cfg(unix)]
fn a_named_pipe_reads_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, mapping) in [
        ("oee_semi_wide_de.csv", "oee_semi_wide_de.mapping.toml"),
        ("shift_times.xlsx", "shift_times.mapping.toml"),
    ] {
        let path = sample(name);
        let fifo = dir.path().join(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let bytes = std::fs::read(&path).unwrap();
        let target = fifo.clone();
        let writer = std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(target)
                .unwrap();
            f.write_all(&bytes).unwrap();
        });
        let shown = fifo.to_str().unwrap().to_string();
        let (from_pipe, rejected_pipe) = report(&shown, &shown, &sample(mapping), None);
        writer.join().unwrap();
        let (from_file, rejected_file) = report(&path, &path, &sample(mapping), None);
        assert_eq!(from_file, from_pipe, "{name}");
        assert_eq!(rejected_file, rejected_pipe, "{name}");
    }
}

#[test]
fn rows_rejected_after_the_read_come_from_standard_input_too() {
    // A conflict is found by the dedupe stage, after the whole input was read: both rows go
    // to rejected.csv as the input had them.
    let text = "Date,Team,KPI,Actual,Target,Note\n2025-01-06,Montage Süd,OEE,80,90,first\n2025-01-07,Montage Süd,OEE,81,90,\n2025-01-06,Montage Süd,OEE,85,90,second\n";
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(
        &m,
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
    )
    .unwrap();
    let (doc, rejected) = report("-", "<stdin>", m.to_str().unwrap(), Some(text.as_bytes()));
    assert_eq!(doc["summary"]["rows_rejected"], 2, "{doc}");
    let lines: Vec<&str> = rejected.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "{rejected}");
    assert!(
        lines[1].starts_with("2025-01-06,Montage Süd,OEE,80,90,first,2,"),
        "{rejected}"
    );
    assert!(
        lines[2].starts_with("2025-01-06,Montage Süd,OEE,85,90,second,4,"),
        "{rejected}"
    );
}
