//! The password, and its Basic Auth form, appear in no output of any command: successes,
//! failures, help, and with RUST_LOG=trace.

use base64::Engine;

use crate::harness::*;

fn forbidden() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        PASSWORD.to_string(),
        b64.encode(format!("{USER}:{PASSWORD}")),
        b64.encode(PASSWORD),
        // The same, as another password would be sent (wrong-password case below).
        b64.encode(format!("{USER}:{PASSWORD}-typo")),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for f in forbidden() {
        assert!(!text.contains(&f), "{what} leaked {f:?}:\n{text}");
    }
}

#[test]
fn no_secret_in_any_output() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "url = \"{}\"\nuser = \"{USER}\"\npassword_command = \"echo {PASSWORD}\"\n",
            emu.url
        ),
    )
    .unwrap();
    private(&cfg);
    let html = TinyServer::start(5, |_| (200, "text/html", "<html>login</html>".into()));
    let cases: Vec<(&str, Vec<String>, Option<&str>)> = vec![
        (
            "kpis",
            vec!["kpis".into(), "--url".into(), emu.url.clone()],
            None,
        ),
        (
            "kpis --json",
            vec![
                "kpis".into(),
                "--json".into(),
                "--url".into(),
                emu.url.clone(),
            ],
            None,
        ),
        (
            "export",
            vec![
                "export".into(),
                "--url".into(),
                emu.url.clone(),
                "--kpi".into(),
                "OEE".into(),
                "--from".into(),
                "2025-01-01".into(),
                "--to".into(),
                "2025-03-01".into(),
                "-o".into(),
                out.to_str().unwrap().into(),
            ],
            None,
        ),
        (
            "config file",
            vec![
                "kpis".into(),
                "--config".into(),
                cfg.to_str().unwrap().into(),
            ],
            None,
        ),
        (
            "wrong password",
            vec!["kpis".into(), "--url".into(), emu.url.clone()],
            Some("typo"),
        ),
        (
            "unknown KPI",
            vec![
                "export".into(),
                "--url".into(),
                emu.url.clone(),
                "--kpi".into(),
                "nope".into(),
                "--from".into(),
                "2025-01-01".into(),
            ],
            None,
        ),
        (
            "html server",
            vec!["kpis".into(), "--url".into(), html.url.clone()],
            None,
        ),
        (
            "refused port",
            vec![
                "kpis".into(),
                "--url".into(),
                "http://127.0.0.1:9/api".into(),
                "--timeout".into(),
                "3".into(),
            ],
            None,
        ),
        (
            "import",
            vec![
                "import".into(),
                root()
                    .join("samples/weekly_safety_wide.csv")
                    .display()
                    .to_string(),
                "--mapping".into(),
                root()
                    .join("samples/weekly_safety_wide.mapping.toml")
                    .display()
                    .to_string(),
                "--url".into(),
                emu.url.clone(),
                "--state-dir".into(),
                dir.path().join("state").display().to_string(),
                "--report".into(),
                dir.path().join("report").display().to_string(),
            ],
            None,
        ),
        ("help", vec!["--help".into()], None),
        ("kpis help", vec!["kpis".into(), "--help".into()], None),
        (
            "emulator help",
            vec!["emulator".into(), "--help".into()],
            None,
        ),
    ];
    for (what, args, variant) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = vs(&args);
        cmd.env("RUST_LOG", "trace");
        if variant == Some("typo") {
            cmd.env("VS_PASSWORD", format!("{PASSWORD}-typo"));
        }
        if what == "config file" {
            cmd.env_remove("VS_PASSWORD").env_remove("VS_USER");
        }
        let r = run(&mut cmd);
        assert_clean(what, &r.all());
        assert!(!r.all().contains("panicked"), "{what}: {}", r.all());
        if what.contains("help") {
            assert_eq!(r.code, 0);
        } else if ["kpis", "kpis --json", "export", "config file", "import"].contains(&what) {
            assert_eq!(r.code, 0, "{what}: {}", r.stderr);
            // trace output really was on, so the check above saw the client's logging.
            assert!(
                r.stderr.contains("TRACE") || r.stderr.contains("DEBUG"),
                "{what}: {}",
                r.stderr
            );
        } else {
            assert_eq!(r.code, 2, "{what}: {}", r.all());
        }
    }
    assert_clean("exported CSV", &std::fs::read_to_string(&out).unwrap());
    // Everything the import left behind: journal, undo data, reports.
    let mut files = vec![dir.path().join("report")];
    let mut seen = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_clean(
                &p.display().to_string(),
                &std::fs::read_to_string(&p).unwrap(),
            );
            seen += 1;
        }
        if p == dir.path().join("report") {
            files.push(dir.path().join("state"));
        }
    }
    assert!(seen >= 5, "{seen} files checked");
    // Undo, with trace logging too.
    let runs = dir.path().join("state").join("runs");
    let id = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let r = run(vs(&["undo", id.to_str().unwrap(), "--url", &emu.url])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("RUST_LOG", "trace"));
    assert_eq!(r.code, 0, "{}", r.all());
    assert_clean("undo", &r.all());
    let emu_err = emu.stop();
    assert_clean("emulator", &emu_err);
}

#[test]
fn emulator_trace_output_is_clean_too() {
    let mut child = std::process::Command::new(BIN)
        .args(["emulator", "--catalog"])
        .arg(sample_catalog())
        .args(["--user", USER])
        .env("VS_EMULATOR_PASSWORD", PASSWORD)
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let r = run(vs(&["kpis", "--url", line.trim()]).env("RUST_LOG", "trace"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    terminate(&mut child);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_clean("emulator with trace", &err);
    assert_clean("kpis with trace", &r.all());
}

#[test]
fn a_server_echoing_the_authorization_header_leaks_nothing() {
    let emu = Emulator::start(&["--echo-auth"]);
    let state = tempfile::tempdir().unwrap();
    let mut c = vs(&["import"]);
    c.arg(root().join("samples/oee_semi_wide_de.csv"))
        .arg("-m")
        .arg(root().join("samples/oee_semi_wide_de.mapping.toml"))
        .args(["--url", &emu.url, "--max-attempts", "1"])
        .arg("--state-dir")
        .arg(state.path());
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.all());
    assert_clean("stdout and stderr", &r.all());
    // Everything written to the state directory: failed.csv, report.json, journals, undo.
    let mut files = 0;
    for entry in walk(state.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert_clean(&entry.display().to_string(), &text);
        files += 1;
    }
    assert!(files >= 3, "{files} files");
    let failed = walk(state.path())
        .into_iter()
        .find(|p| p.ends_with("failed.csv"))
        .expect("failed.csv");
    let text = std::fs::read_to_string(failed).unwrap();
    assert!(text.contains("Authorization: [redacted]"), "{text}");
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn tenants_are_dns_labels_and_a_bad_url_is_shown_without_its_credentials() {
    let tenant = run(vs(&["kpis", "--tenant", "x.evil.com/api#"]));
    assert_eq!(tenant.code, 2, "{}", tenant.all());
    assert!(
        tenant.stderr.contains("is not a tenant name"),
        "{}",
        tenant.stderr
    );
    let url = run(vs(&[
        "kpis",
        "--url",
        "https://someone:Hunter2-x@exa mple.com/api",
    ]));
    assert_eq!(url.code, 2, "{}", url.all());
    assert!(!url.all().contains("Hunter2"), "{}", url.all());
    assert!(
        url.stderr.contains("https://***@exa mple.com/api"),
        "{}",
        url.stderr
    );
    snapshots().bind(|| {
        insta::assert_snapshot!(
            "tenant_and_url_checked",
            format!("{}\n{}", shown(&tenant), shown(&url))
        )
    });
}

#[test]
fn a_config_with_a_password_command_that_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "url = \"http://127.0.0.1:9/api\"\nuser = \"u\"\npassword_command = \"echo secret\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(vs(&["kpis", "--config", cfg.to_str().unwrap()]).env_remove("VS_PASSWORD"));
    assert_eq!(r.code, 2, "{}", r.all());
    let s = shown(&r).replace(dir.path().to_str().unwrap(), "[DIR]");
    snapshots().bind(|| insta::assert_snapshot!("config_not_private", s));
    // The same in a watched folder's vsimport.toml.
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(&cfg, root.join("vsimport.toml")).unwrap();
    std::fs::set_permissions(
        root.join("vsimport.toml"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let r = run(vs(&["watch", root.to_str().unwrap(), "--once"]).env_remove("VS_PASSWORD"));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
}

/// Every file under `dir`, any depth (links not followed).
fn all_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => todo.push(p),
                Ok(m) if m.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// A file's text as a reader of it would see it: a workbook's parts unpacked.
fn text_of(p: &std::path::Path) -> String {
    use std::io::Read;
    let bytes = std::fs::read(p).unwrap();
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(&bytes)) {
        for i in 0..zip.len() {
            let mut part = Vec::new();
            zip.by_index(i).unwrap().read_to_end(&mut part).unwrap();
            text.push_str(&String::from_utf8_lossy(&part));
        }
    }
    text
}

/// A random password and the forms it must never be seen in: itself, Basic Auth's Base64 of
/// `user:password` (also of the mistyped `password-typo` the tests send), and its own Base64.
fn canary() -> (String, Vec<String>) {
    let canary = format!("Canary-{:016x}-Pw", fastrand::u64(..));
    let b64 = base64::engine::general_purpose::STANDARD;
    let forms = vec![
        canary.clone(),
        b64.encode(format!("{USER}:{canary}")),
        b64.encode(&canary),
        b64.encode(format!("{USER}:{canary}-typo")),
    ];
    (canary, forms)
}

/// Asserts that no file under `dir` (workbooks unpacked) holds any of `forms`; how many files.
fn assert_no_file_holds(dir: &std::path::Path, forms: &[String]) -> usize {
    let files = all_files(dir);
    for p in &files {
        let text = text_of(p);
        for f in forms {
            assert!(!text.contains(f.as_str()), "{} leaked {f:?}", p.display());
        }
    }
    files.len()
}

#[test]
fn a_random_canary_password_is_nowhere_after_a_watched_success_and_failures() {
    let (canary, forms) = canary();
    let em = Emulator::start_with_password(&canary, &[]);
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("vsimport.toml"),
        format!(
            "url = \"{}\"\n[watch]\nmapping = {:?}\nannotate = true\n",
            em.url,
            crate::harness::root()
                .join("samples/oee_semi_wide_de.mapping.toml")
                .display()
                .to_string()
        ),
    )
    .unwrap();
    let inbox = root.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let sample =
        std::fs::read(crate::harness::root().join("samples/oee_semi_wide_de.csv")).unwrap();
    std::fs::write(inbox.join("good.csv"), &sample).unwrap();
    std::fs::write(inbox.join("broken.xlsx"), b"not a workbook").unwrap();
    let watch = |password: &str| {
        run(vs(&[
            "watch",
            root.path().to_str().unwrap(),
            "--once",
            "--settle-secs",
            "0",
        ])
        .env("VS_PASSWORD", password)
        .env("RUST_LOG", "trace"))
    };
    // A success and a failing file, then a wrong password (the file waits), all at trace level.
    let ok = watch(&canary);
    assert_eq!(ok.code, 2, "{}", ok.all());
    std::fs::write(
        inbox.join("again.csv"),
        b"Datum;Team;Kennzahl;Ist;Soll\n07.01.2025;Lackiererei;OEE;80;90\n",
    )
    .unwrap();
    let wrong = watch(&format!("{canary}-typo"));
    assert_eq!(wrong.code, 2, "{}", wrong.all());
    for (what, text) in [("first run", ok.all()), ("wrong password", wrong.all())] {
        for f in &forms {
            assert!(!text.contains(f.as_str()), "{what} leaked {f:?}");
        }
        assert!(
            !text.contains(&format!("{canary}-typo")),
            "{what} leaked the typed one"
        );
    }
    let checked = assert_no_file_holds(root.path(), &forms);
    // The log, the status, the ledger, a report, a journal and the undo data were among them.
    assert!(checked >= 8, "{checked} files");
    let em_err = em.stop();
    assert!(!em_err.contains(&canary));
}

#[test]
fn a_random_canary_password_is_nowhere_after_imports_that_succeed_and_fail_and_undo() {
    let (canary, forms) = canary();
    let good = Emulator::start_with_password(&canary, &[]);
    // A server that refuses every write with the request's Authorization header in its body.
    let echo = Emulator::start_with_password(&canary, &["--echo-auth"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = root().join("samples/oee_semi_wide_de.csv");
    let mapping = root().join("samples/oee_semi_wide_de.mapping.toml");
    let import = |url: &str, report: &str, password: &str| {
        run(vs(&[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--url",
            url,
            "--state-dir",
            state.to_str().unwrap(),
            "--report",
            dir.path().join(report).to_str().unwrap(),
            "--annotate",
        ])
        .env("VS_PASSWORD", password)
        .env("RUST_LOG", "trace"))
    };
    let ok = import(&good.url, "ok", &canary);
    assert!(ok.code <= 1, "{}", ok.all());
    let failed = import(&echo.url, "failed", &canary);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(dir.path().join("failed/failed.csv").is_file());
    let wrong = import(&good.url, "wrong", &format!("{canary}-typo"));
    assert_eq!(wrong.code, 2, "{}", wrong.all());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ok/report.json")).unwrap())
            .unwrap();
    let run_id = report["upload"]["run"].as_str().unwrap().to_string();
    let undo = run(vs(&[
        "undo",
        &run_id,
        "--url",
        &good.url,
        "--state-dir",
        state.to_str().unwrap(),
    ])
    .env("VS_PASSWORD", &canary)
    .env("RUST_LOG", "trace"));
    assert_eq!(undo.code, 0, "{}", undo.all());
    for (what, r) in [
        ("import", &ok),
        ("failing import", &failed),
        ("wrong password", &wrong),
        ("undo", &undo),
    ] {
        let text = r.all();
        // Trace logging was on: the check saw the client's own lines.
        assert!(text.contains("TRACE"), "{what}: no trace output");
        for f in &forms {
            assert!(!text.contains(f.as_str()), "{what} leaked {f:?}");
        }
    }
    let checked = assert_no_file_holds(dir.path(), &forms);
    // Reports (json, html, rejected, failed, checked workbook), journal, undo data.
    assert!(checked >= 10, "{checked} files");
    for em in [good, echo] {
        let log = em.stop();
        assert!(!log.contains(&canary));
    }
}

#[test]
fn a_redirect_is_never_followed_with_the_credentials() {
    let elsewhere = TinyServer::start(5, |_| (200, "application/json", "[]".into()));
    let location: &'static str =
        Box::leak(format!("text/plain\r\nLocation: {}/kpis", elsewhere.url).into_boxed_str());
    for status in [301, 302, 307, 308] {
        let redirector = TinyServer::start(6, move |_| (status, location, String::new()));
        let r = run(vs(&["kpis", "--url", &redirector.url]).env("RUST_LOG", "trace"));
        assert_eq!(r.code, 2, "{status}: {}", r.all());
        assert!(!redirector.seen.lock().unwrap().is_empty());
        assert!(
            elsewhere.seen.lock().unwrap().is_empty(),
            "{status}: the redirect was followed"
        );
        assert_clean(&format!("redirect {status}"), &r.all());
        if status == 302 {
            let plain = run(vs(&["kpis", "--url", &redirector.url]));
            let shown = plain.stderr.replace(&redirector.url, "[URL]");
            snapshots().bind(|| insta::assert_snapshot!("redirect_refused", shown));
        }
    }
}
