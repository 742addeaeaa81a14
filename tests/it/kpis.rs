//! `vsimport kpis` against the emulator and against servers that are not the emulator.

use crate::harness::*;

#[test]
fn lists_the_catalog_as_a_table() {
    let emu = Emulator::start(&[]);
    let r = run(vs(&["kpis", "--url", &emu.url]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shift = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Shift start"))
        .expect("Shift start row");
    for cell in ["DAY", "Time", "yes", "Actual, Target", "Montage Süd"] {
        assert!(shift.contains(cell), "{shift:?} lacks {cell:?}");
    }
    let downtime = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Downtime by cause"))
        .unwrap();
    assert!(downtime.contains("Mechanical, Electrical, Material shortage, Changeover"));
    assert!(r.stdout.ends_with("26 KPIs, 12 teams\n"), "{}", r.stdout);
    // One list request, then one detail request per KPI.
    let log = emu.log();
    assert_eq!(log.len(), 27);
    assert_eq!(
        log.iter()
            .filter(|l| l["path"] == "/api/exchange/kpi")
            .count(),
        1
    );
}

#[test]
fn json_and_save_round_trip_through_the_emulator() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("snapshot.json");
    let r = run(vs(&[
        "kpis",
        "--url",
        &emu.url,
        "--json",
        "--save",
        saved.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let printed: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(printed["kpis"], catalog()["kpis"]);
    assert_eq!(printed["teams"].as_array().unwrap().len(), 12);
    assert!(r.err().contains("saved 26 KPIs and 12 teams"));
    // The snapshot is a catalog the emulator can serve.
    let second = Emulator::start_with_catalog(&saved, &[]);
    let again = run(vs(&["kpis", "--url", &second.url, "--json"]));
    assert_eq!(again.stdout, r.stdout);
}

#[test]
fn works_against_any_server_that_follows_the_api() {
    // Not the emulator: unknown fields, missing optional fields, a trailing slash in --url.
    let server = TinyServer::start(10, |path| {
        match path {
        "/api/exchange/kpi" => (
            200,
            "application/json;charset=UTF-8",
            r#"[{"id":"6a1b8f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b","name":"Durchlaufzeit","archived":false}]"#
                .to_string(),
        ),
        "/api/exchange/kpi/6a1b8f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b" => (
            200,
            "application/vs.v2.0+json",
            r##"{"id":"6a1b8f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b","name":"Durchlaufzeit",
                "kpiValueTimeReference":"WEEK","kpiValueIsInteger":false,"color":"#ff0000",
                "kpiValues":[{"id":"11111111-2222-4333-8444-555555555555","name":"Ist","order":1}],
                "recordingTeams":[{"id":"21111111-2222-4333-8444-555555555555","name":"Fräserei","leader":"x"}]}"##
                .to_string(),
        ),
        _ => (404, "application/json", r#"{"message":"nope"}"#.to_string()),
    }
    });
    let url = format!("{}/", server.url);
    let r = run(vs(&["kpis", "--url", &url]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Durchlaufzeit"))
        .unwrap();
    assert!(
        row.contains("WEEK") && row.contains("Ist") && row.contains("Fräserei"),
        "{row}"
    );
    let seen = server.seen.lock().unwrap();
    assert!(
        seen.iter()
            .all(|h| h.contains("authorization: Basic ") || h.contains("Authorization: Basic "))
    );
    // No media type is asked for: the documentation shows no Accept header (API-NOTES.md).
    assert!(
        seen.iter()
            .all(|h| h.to_lowercase().contains("accept: */*"))
    );
}

#[test]
fn wrong_password_is_one_clear_error() {
    let emu = Emulator::start(&[]);
    let r = run(vs(&["kpis", "--url", &emu.url]).env("VS_PASSWORD", "wrong"));
    assert_eq!(r.code, 2);
    assert!(r.err().contains("GET "), "{}", r.stderr);
    assert!(
        r.err()
            .contains("/api/exchange/kpi failed: HTTP 401: bad credentials"),
        "{}",
        r.stderr
    );
    assert!(
        r.err().contains("check VS_USER and VS_PASSWORD"),
        "{}",
        r.stderr
    );
    assert!(!r.err().contains("panicked"));
}

#[test]
fn html_and_garbage_answers_are_named() {
    let html = TinyServer::start(3, |_| {
        (
            200,
            "text/html",
            "<!DOCTYPE html><html><body>Login</body></html>".to_string(),
        )
    });
    let r = run(vs(&["kpis", "--url", &html.url]));
    assert_eq!(r.code, 2);
    assert!(
        r.err().contains("the answer could not be read"),
        "{}",
        r.stderr
    );
    assert!(r.err().contains("(an HTML page came back)"), "{}", r.stderr);
    assert!(
        r.err().contains("The answer began with: <!DOCTYPE"),
        "{}",
        r.stderr
    );

    let garbage = TinyServer::start(3, |_| (200, "application/json", "[{\"id\": 12".to_string()));
    let r = run(vs(&["kpis", "--url", &garbage.url]));
    assert_eq!(r.code, 2);
    assert!(
        r.err()
            .contains("/api/exchange/kpi: the answer could not be read"),
        "{}",
        r.stderr
    );

    // 502 is retried (--max-attempts), then reported with the server's page named.
    let html_error = TinyServer::start(10, |_| {
        (
            502,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head></html>".to_string(),
        )
    });
    let r = run(vs(&[
        "kpis",
        "--url",
        &html_error.url,
        "--max-attempts",
        "6",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.err()
            .contains("(6 attempts) failed: HTTP 502: the server answered with an HTML page"),
        "{}",
        r.stderr
    );
}

#[test]
fn unknown_host_tls_failure_and_plain_http_are_refused_clearly() {
    let r = run(vs(&[
        "kpis",
        "--url",
        "https://no-such-host.invalid/api",
        "--timeout",
        "10",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.err()
            .contains("GET https://no-such-host.invalid/api/exchange/kpi failed"),
        "{}",
        r.stderr
    );

    // The emulator speaks plain HTTP: an https:// client must fail the TLS handshake.
    let emu = Emulator::start(&[]);
    let https = emu.url.replace("http://", "https://");
    let r = run(vs(&["kpis", "--url", &https, "--timeout", "10"]));
    assert_eq!(r.code, 2);
    assert!(r.err().contains("failed"), "{}", r.stderr);
    assert!(
        r.err().to_lowercase().contains("tls")
            || r.err().contains("handshake")
            || r.err().contains("certificate"),
        "{}",
        r.stderr
    );

    let r = run(vs(&["kpis", "--url", "http://192.0.2.10/api"]));
    assert_eq!(r.code, 2);
    assert!(r.err().contains("refusing plain http://"), "{}", r.stderr);
    assert!(r.err().contains("--allow-http"), "{}", r.stderr);

    let r = run(vs(&["kpis"]));
    assert_eq!(r.code, 2);
    assert!(r.err().contains("no server given"), "{}", r.stderr);
}

#[test]
fn config_file_and_password_stdin() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vsimport.toml");
    std::fs::write(
        &cfg,
        format!(
            "url = \"{}\"\nuser = \"{USER}\"\npassword_command = \"printf '%s' '{PASSWORD}'\"\n",
            emu.url
        ),
    )
    .unwrap();
    private(&cfg);
    let r = run(vs(&["kpis", "--config", cfg.to_str().unwrap()])
        .env_remove("VS_USER")
        .env_remove("VS_PASSWORD"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("26 KPIs"));

    let r = run_with_stdin(
        vs(&["kpis", "--url", &emu.url, "--password-stdin"]).env_remove("VS_PASSWORD"),
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The default config location is $XDG_CONFIG_HOME/vsimport/config.toml.
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("vsimport")).unwrap();
    std::fs::copy(&cfg, xdg.join("vsimport").join("config.toml")).unwrap();
    let r = run(vs(&["kpis"])
        .env("XDG_CONFIG_HOME", &xdg)
        .env_remove("VS_USER")
        .env_remove("VS_PASSWORD"));
    assert_eq!(r.code, 0, "{}", r.stderr);
}
