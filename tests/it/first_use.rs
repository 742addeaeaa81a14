//! A new user's first runs: one message per conflict, `mapping init` on real exports, the
//! templates and the demo from an installed binary, past runs, and stopping a run.

use crate::harness::*;

#[test]
fn one_conflict_is_one_message_and_every_row_of_it_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(sample_catalog(), d.join("catalog.json")).unwrap();
    std::fs::write(
        d.join("c.csv"),
        "Date,Team,KPI,Actual\n2025-01-06,Montage Nord,OEE,80\n2025-01-06,Montage Nord,OEE,85\n\
         2025-01-06,Montage Nord,OEE,90\n2025-01-07,Montage Nord,OEE,70\n",
    )
    .unwrap();
    std::fs::write(
        d.join("m.toml"),
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\nActual = \"Actual\"\n",
    )
    .unwrap();
    let r = in_dir(
        d,
        &[
            "import",
            "c.csv",
            "-m",
            "m.toml",
            "--catalog",
            "catalog.json",
            "--dry-run",
            "--report",
            "rep",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert_eq!(r.stderr.matches("vsimport::dedupe::conflict").count(), 1);
    assert!(r.stdout.contains("4 read, 3 rejected"), "{}", r.stdout);
    // Every row of the conflict is in rejected.csv with the reason.
    let rejected = std::fs::read_to_string(d.join("rep/rejected.csv")).unwrap();
    assert_eq!(
        rejected
            .matches("has 80 in row 2, 85 in row 3, 90 in row 4")
            .count(),
        3
    );
    snapshots().bind(|| insta::assert_snapshot!("conflict_once", shown(&r)));
}

#[test]
fn mapping_init_writes_what_it_detected_and_the_mapping_imports_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(sample_catalog(), d.join("catalog.json")).unwrap();
    // A German export: title row, cp1252, semicolons, decimal commas, day-first slash dates,
    // Istwert/Sollwert columns.
    let german = "Kennzahlen Werk 3\n\nDatum;Team;Kennzahl;Istwert;Sollwert\n\
                  13/01/2025;Montage S\u{fc}d;OEE;85,5;90\n03/02/2025;Montage S\u{fc}d;OEE;86,25;90\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(german);
    std::fs::write(d.join("de.csv"), &bytes).unwrap();
    // A weekly file whose date column is named "Week starting".
    std::fs::write(
        d.join("weekly.csv"),
        "Week starting,Team,Near misses\n2025-01-06,Werkzeugbau,2\n2025-01-13,Werkzeugbau,0\n",
    )
    .unwrap();
    let mut shown_all = String::new();
    for name in ["de", "weekly"] {
        let init = in_dir(
            d,
            &[
                "mapping",
                "init",
                &format!("{name}.csv"),
                "--catalog",
                "catalog.json",
                "-o",
                &format!("{name}.toml"),
            ],
        );
        assert_eq!(init.code, 0, "{}", init.all());
        let toml = std::fs::read_to_string(d.join(format!("{name}.toml"))).unwrap();
        assert!(!toml.contains("TODO"), "{toml}");
        shown_all.push_str(&format!("=== {name}.toml\n{toml}"));
        let dry = in_dir(
            d,
            &[
                "import",
                &format!("{name}.csv"),
                "-m",
                &format!("{name}.toml"),
                "--catalog",
                "catalog.json",
                "--dry-run",
            ],
        );
        assert_eq!(dry.code, 0, "{name}: {}", dry.all());
        assert!(dry.stdout.contains("2 read, 0 rejected"), "{}", dry.stdout);
    }
    assert!(shown_all.contains("\"Istwert\" = \"Actual\""));
    assert!(shown_all.contains("dayfirst = true"));
    assert!(shown_all.contains("date = \"Week starting\""));
    assert!(!shown_all.contains("sheet ="), "no sheet for a CSV");
    snapshots().bind(|| insta::assert_snapshot!("mapping_init_detected", shown_all));
}

#[test]
fn mapping_init_layout_prints_the_built_in_templates() {
    for (layout, file) in [
        ("long", "long.toml"),
        ("semi-wide", "semi-wide.toml"),
        ("wide", "wide.toml"),
    ] {
        let r = run(vs(&["mapping", "init", "--layout", layout]));
        assert_eq!(r.code, 0, "{}", r.all());
        let on_disk = std::fs::read_to_string(root().join("templates").join(file)).unwrap();
        assert_eq!(r.stdout, on_disk, "{layout}");
    }
    // Outside the checkout, and to a file.
    let dir = tempfile::tempdir().unwrap();
    let r = in_dir(
        dir.path(),
        &["mapping", "init", "--layout", "wide", "-o", "m.toml"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(dir.path().join("m.toml").exists());
    let both = run(vs(&["mapping", "init", "x.csv", "--layout", "long"]));
    let neither = run(vs(&["mapping", "init"]));
    snapshots().bind(|| {
        insta::assert_snapshot!(
            "mapping_init_layout_usage",
            format!("{}\n{}", shown(&both), shown(&neither))
        )
    });
}

/// Records on the emulator's state file (written when it stops).
fn server_records(state_file: &std::path::Path) -> usize {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state_file).unwrap()).unwrap();
    v["records"].as_array().unwrap().len()
}

#[test]
fn runs_lists_past_imports_undo_last_undoes_the_newest_and_prune_removes_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = d.join("server.json");
    let em = Emulator::start(&["--state", server.to_str().unwrap()]);
    let state = d.join("state");
    let import = |file: &str| {
        let mut c = vs(&["import"]);
        c.arg(root().join("samples").join(file))
            .arg("-m")
            .arg(root().join("samples/oee_semi_wide_de.mapping.toml"))
            .args(["--url", &em.url])
            .arg("--state-dir")
            .arg(&state);
        run(c)
    };
    let first = import("oee_semi_wide_de.earlier.csv");
    assert_eq!(first.code, 0, "{}", first.all());
    let second = import("oee_semi_wide_de.csv");
    assert_eq!(second.code, 0, "{}", second.all());
    // A run from long ago, a stray file and a planted link: only the run is pruned.
    let old = state.join("runs/20250101-000000-abcd");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("report.json"), "{}").unwrap();
    let outside = d.join("keep-me");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("data.txt"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, state.join("runs/20240101-000000-dead")).unwrap();
    std::fs::write(state.join("runs/notes.txt"), "mine").unwrap();

    let state_arg = state.to_str().unwrap();
    let listed = run(vs(&["runs", "--state-dir", state_arg]));
    assert_eq!(listed.code, 0, "{}", listed.all());
    let json = run(vs(&["runs", "--state-dir", state_arg, "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{}", json.stdout);
    assert_eq!(runs[0]["written"], 65);
    assert_eq!(runs[1]["written"], 9);
    assert_eq!(runs[2]["id"], "20250101-000000-abcd");
    assert!(runs[2]["file"].is_null());

    // undo --last: the newest import that wrote, i.e. the 65 records of the second.
    let undo = run(vs(&["undo", "--last", "--state-dir", state_arg]));
    assert_eq!(undo.code, 0, "{}", undo.all());
    let after = run(vs(&["runs", "--state-dir", state_arg, "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&after.stdout).unwrap();
    assert_eq!(doc["runs"][0]["undone"], true);
    assert_eq!(doc["runs"][1]["undone"], false);

    let prune_dry = run(vs(&[
        "runs",
        "prune",
        "--older-than",
        "90d",
        "--dry-run",
        "--state-dir",
        state_arg,
    ]));
    assert!(old.exists());
    let prune = run(vs(&[
        "runs",
        "prune",
        "--older-than",
        "90d",
        "--state-dir",
        state_arg,
    ]));
    assert_eq!(prune.code, 0, "{}", prune.all());
    assert!(!old.exists());
    assert!(
        outside.join("data.txt").exists(),
        "a planted link is not followed"
    );
    assert!(state.join("runs/notes.txt").exists());
    // Runs made today are kept.
    let left = run(vs(&["runs", "--state-dir", state_arg]));
    assert_eq!(
        left.stdout
            .lines()
            .filter(|l| l.contains("oee_semi_wide_de"))
            .count(),
        2
    );
    let bad_age = run(vs(&[
        "runs",
        "prune",
        "--older-than",
        "1h",
        "--state-dir",
        state_arg,
    ]));
    assert_eq!(bad_age.code, 2);

    // The server: last week's 9 records again, as before the undone import.
    em.stop();
    assert_eq!(server_records(&server), 9);
    let mut snap = snapshots();
    snap.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?", "[DATE TIME]");
    snap.bind(|| {
        insta::assert_snapshot!(
            "runs_undo_last_prune",
            format!(
                "{}\n{}\n{}\n{}\n{}",
                shown(&listed),
                shown(&undo),
                shown(&prune_dry),
                shown(&prune),
                shown(&bad_age)
            )
        )
    });
}

#[test]
fn the_password_is_asked_for_without_echo_at_a_terminal() {
    use std::io::{Read, Write};
    let em = Emulator::start(&[]);
    // `script` gives vsimport a terminal; the password is typed once the prompt shows.
    let mut child = at_terminal(&format!("kpis --url {}", em.url), None)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (bsdutils) runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("Password for") {
        assert!(std::time::Instant::now() < deadline, "no prompt: {seen:?}");
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "ended before the prompt: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // The prompt is printed just before echo is turned off (rpassword's order); a person
    // types after reading it, so the test waits a moment too instead of racing that window.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    let all = String::from_utf8_lossy(&seen).replace('\r', "");
    assert!(status.success(), "{all}");
    assert!(
        all.contains(&format!("Password for {USER} at {}", em.url)),
        "{all}"
    );
    assert!(all.contains("OEE"), "the catalog was read: {all}");
    assert!(!all.contains(PASSWORD), "the password was echoed: {all}");
    // Without a terminal there is no prompt: the error says where a password comes from.
    let mut c = vs(&["kpis", "--url", &em.url]);
    c.env_remove("VS_PASSWORD");
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("no password given"), "{}", r.stderr);
}

/// A server that accepts connections and never answers; counts the connections.
fn silent_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(conn);
        }
    });
    (url, count)
}

#[test]
fn a_server_that_never_answers_is_said_at_once_with_a_spinner_meanwhile() {
    let (url, connections) = silent_server();
    let started = std::time::Instant::now();
    let r = run(vs(&["kpis", "--url", &url, "--timeout", "2"]));
    let took = started.elapsed();
    assert_eq!(r.code, 2, "{}", r.all());
    // One attempt, not six: the server has never answered.
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        r.stderr.contains("sent no answer within 2 s"),
        "{}",
        r.stderr
    );
    // Nothing listening: said at once too.
    let refused = run(vs(&["kpis", "--url", "http://127.0.0.1:9/api"]));
    assert_eq!(refused.code, 2);
    snapshots().bind(|| {
        insta::assert_snapshot!(
            "server_never_answers",
            format!("{}\n{}", shown(&r), shown(&refused))
        )
    });
    // At a terminal, a spinner says what is awaited after a second.
    let (url, _) = silent_server();
    let out = at_terminal(&format!("kpis --url {url} --timeout 3"), Some(PASSWORD))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown_at_terminal = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown_at_terminal.contains("waiting for 127.0.0.1:"),
        "{shown_at_terminal}"
    );
    assert!(shown_at_terminal.contains("reading the KPI catalog"));
}
