//! Every rejection the emulator makes, asserted over HTTP against the real binary.

use crate::harness::*;

struct Fixture {
    emu: Emulator,
    oee: String,
    oee_actual: String,
    oee_target: String,
    scrap: String,
    scrap_actual: String,
    near_misses: String,
    near_actual: String,
    ppm: String,
    ppm_actual: String,
    shift_start: String,
    shift_actual: String,
    downtime: String,
    downtime_actual: String,
    downtime_mech: String,
    sued: String,
    qs: String,
}

fn fixture(extra: &[&str]) -> Fixture {
    let emu = Emulator::start(extra);
    let cat = catalog();
    let oee = kpi("OEE");
    let scrap = kpi("Scrap");
    let near = kpi("Near misses");
    let ppm = kpi("PPM");
    let shift = kpi("Shift start");
    let down = kpi("Downtime by cause");
    Fixture {
        emu,
        oee: oee["id"].as_str().unwrap().into(),
        oee_actual: id_of(&oee["kpiValues"], "Actual"),
        oee_target: id_of(&oee["kpiValues"], "Target"),
        scrap: scrap["id"].as_str().unwrap().into(),
        scrap_actual: id_of(&scrap["kpiValues"], "Actual"),
        near_misses: near["id"].as_str().unwrap().into(),
        near_actual: id_of(&near["kpiValues"], "Actual"),
        ppm: ppm["id"].as_str().unwrap().into(),
        ppm_actual: id_of(&ppm["kpiValues"], "Actual"),
        shift_start: shift["id"].as_str().unwrap().into(),
        shift_actual: id_of(&shift["kpiValues"], "Actual"),
        downtime: down["id"].as_str().unwrap().into(),
        downtime_actual: id_of(&down["kpiValues"], "Actual"),
        downtime_mech: id_of(&down["subTiles"], "Mechanical"),
        sued: id_of(&cat["teams"], "Montage Süd"),
        qs: id_of(&cat["teams"], "Qualitätssicherung"),
    }
}

fn one(value_id: &str, v: &str) -> String {
    format!(r#"{{"values":[{{"kpiValueId":"{value_id}","value":{v}}}]}}"#)
}

fn assert_error(a: &Answer, status: u16, needle: &str) {
    assert_eq!(a.status, status, "{:?}", a.body);
    let msg = a.body["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{msg:?} does not contain {needle:?}");
    assert_eq!(a.body["status"], status);
}

#[test]
fn meta_endpoints_serve_the_catalog() {
    let f = fixture(&[]);
    let http = f.emu.http();
    let list = http.get("exchange/kpi");
    assert_eq!(list.status, 200);
    assert_eq!(list.body.as_array().unwrap().len(), 26);
    let detail = http.get(&format!("exchange/kpi/{}", f.oee));
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body, kpi("OEE"));
}

#[test]
fn authentication_401_and_403() {
    let f = fixture(&["--forbidden-user", "viewer:pw"]);
    let http = f.emu.http();
    let none = http.send("GET", "exchange/kpi", None, None, None);
    assert_error(&none, 401, "authentication required");
    let wrong = http.send("GET", "exchange/kpi", Some((USER, "nope")), None, None);
    assert_error(&wrong, 401, "bad credentials");
    let forbidden = http.send("GET", "exchange/kpi", Some(("viewer", "pw")), None, None);
    assert_error(&forbidden, 403, "lacks the API permission");
}

#[test]
fn media_type_415() {
    let f = fixture(&[]);
    let path = format!("exchange/kpi-data/2025-01-06/{}/{}", f.sued, f.oee);
    for ct in [None, Some("application/json"), Some("text/plain")] {
        let a = f.emu.http().send(
            "PUT",
            &path,
            Some((USER, PASSWORD)),
            ct,
            Some(&one(&f.oee_actual, "80")),
        );
        assert_error(&a, 415, "Content-Type must be");
    }
    let v3 = f.emu.http().send(
        "PUT",
        &path,
        Some((USER, PASSWORD)),
        Some(V3),
        Some(&one(&f.oee_actual, "80")),
    );
    assert_eq!(v3.status, 201);
}

#[test]
fn unknown_things_404_and_bad_uuids_400() {
    let f = fixture(&[]);
    let http = f.emu.http();
    let ghost = "00000000-0000-0000-0000-00000000dead";
    assert_error(&http.get(&format!("exchange/kpi/{ghost}")), 404, "no KPI");
    assert_error(&http.get("exchange/kpi/not-a-uuid"), 400, "not a UUID");
    let body = one(&f.oee_actual, "1");
    assert_error(
        &http.put(
            &format!("exchange/kpi-data/2025-01-06/{}/{ghost}", f.sued),
            &body,
        ),
        404,
        "no KPI",
    );
    assert_error(
        &http.put(
            &format!("exchange/kpi-data/2025-01-06/{ghost}/{}", f.oee),
            &body,
        ),
        404,
        "no team",
    );
    assert_error(
        &http.put(&format!("exchange/kpi-data/2025-01-06/x/{}", f.oee), &body),
        400,
        "not a UUID",
    );
    assert_error(
        &http.get(&format!(
            "exchange/kpi-data/2025-01-06/{}/{}",
            f.sued, f.oee
        )),
        404,
        "no record",
    );
    assert_error(&http.get("exchange/nothing-here"), 404, "no such endpoint");
    let del = http.send(
        "DELETE",
        &format!("exchange/kpi-data/2025-01-06/{}/{}", f.sued, f.oee),
        Some((USER, PASSWORD)),
        None,
        None,
    );
    assert_error(&del, 404, "no record");
}

#[test]
fn record_rules_400() {
    let f = fixture(&[]);
    let http = f.emu.http();
    let oee = |date: &str| format!("exchange/kpi-data/{date}/{}/{}", f.sued, f.oee);
    // Not a recording team of OEE.
    assert_error(
        &http.put(
            &format!("exchange/kpi-data/2025-01-06/{}/{}", f.qs, f.oee),
            &one(&f.oee_actual, "1"),
        ),
        400,
        "not a recording team",
    );
    // A value id of another KPI.
    assert_error(
        &http.put(&oee("2025-01-06"), &one(&f.scrap_actual, "1")),
        400,
        "is not a value of KPI",
    );
    // Integer KPI.
    assert_error(
        &http.put(
            &format!("exchange/kpi-data/2025-01-06/{}/{}", f.sued, f.scrap),
            &one(&f.scrap_actual, "2.5"),
        ),
        400,
        "whole numbers only",
    );
    // Time KPI: minutes since midnight.
    assert_error(
        &http.put(
            &format!("exchange/kpi-data/2025-01-06/{}/{}", f.sued, f.shift_start),
            &one(&f.shift_actual, "1440"),
        ),
        400,
        "0 to 1439",
    );
    // Dates must be yyyy-MM-dd.
    for bad in ["06.01.2025", "2025-1-6", "2025-02-30"] {
        assert_error(&http.put(&oee(bad), &one(&f.oee_actual, "1")), 400, "date");
    }
    // Sub-tile KPI without a sub-tile.
    assert_error(
        &http.put(
            &format!("exchange/kpi-data/2025-01-06/{}/{}", f.sued, f.downtime),
            &one(&f.downtime_actual, "5"),
        ),
        400,
        "sub-tile",
    );
    let with_tile = http.put(
        &format!(
            "exchange/kpi-data/2025-01-06/{}/{}/{}",
            f.sued, f.downtime, f.downtime_mech
        ),
        &one(&f.downtime_actual, "5"),
    );
    assert_eq!(with_tile.status, 201, "{:?}", with_tile.body);
    // Forecasts need v3.
    let fc = format!(
        r#"{{"values":[{{"kpiValueId":"{}","value":1,"forecast":true}}]}}"#,
        f.oee_actual
    );
    assert_error(&http.put(&oee("2025-01-07"), &fc), 400, "forecast");
    // Garbage body.
    assert_error(
        &http.put(&oee("2025-01-07"), "{not json"),
        400,
        "not a record",
    );
}

#[test]
fn strict_dates_reject_and_lenient_moves() {
    let f = fixture(&[]);
    let http = f.emu.http();
    let week = |date: &str| format!("exchange/kpi-data/{date}/{}/{}", f.sued, f.near_misses);
    let month = |date: &str| format!("exchange/kpi-data/{date}/{}/{}", f.qs, f.ppm);
    assert_error(
        &http.put(&week("2025-01-15"), &one(&f.near_actual, "1")),
        400,
        "use 2025-01-13",
    );
    assert_error(
        &http.put(&month("2025-03-15"), &one(&f.ppm_actual, "1")),
        400,
        "use 2025-03-01",
    );
    assert_eq!(
        http.put(&week("2025-01-13"), &one(&f.near_actual, "1"))
            .status,
        201
    );
    assert_eq!(
        http.put(&month("2025-03-01"), &one(&f.ppm_actual, "1"))
            .status,
        201
    );

    let lenient = fixture(&["--strict-dates", "false"]);
    let http = lenient.emu.http();
    assert_eq!(
        http.put(&week("2025-01-15"), &one(&f.near_actual, "4"))
            .status,
        201
    );
    let moved = http.get(&week("2025-01-13"));
    assert_eq!(moved.status, 200);
    assert_eq!(moved.body["date"], "2025-01-13");
    assert_eq!(moved.body["values"][0]["value"], 4);
}

#[test]
fn range_limits_per_interval() {
    let f = fixture(&[]);
    let http = f.emu.http();
    let q = |kpi: &str, from: &str, to: &str| {
        format!("exchange/kpi-data?kpi-id={kpi}&from={from}&to={to}")
    };
    assert_eq!(http.get(&q(&f.oee, "2025-01-01", "2025-01-31")).status, 200);
    assert_error(
        &http.get(&q(&f.oee, "2025-01-01", "2025-02-01")),
        400,
        "31 days",
    );
    assert_eq!(
        http.get(&q(&f.near_misses, "2025-01-01", "2025-06-30"))
            .status,
        200
    );
    assert_error(
        &http.get(&q(&f.near_misses, "2025-01-01", "2025-07-01")),
        400,
        "6 months",
    );
    assert_error(
        &http.get(&q(&f.ppm, "2024-01-01", "2025-01-01")),
        400,
        "6 months",
    );
    // v3 allows 24 months for MONTH KPIs.
    let v3 = http.send(
        "GET",
        &q(&f.ppm, "2024-01-01", "2025-12-31"),
        Some((USER, PASSWORD)),
        None,
        None,
    );
    assert_eq!(v3.status, 400);
    let client = reqwest::blocking::Client::new();
    let ok = client
        .get(format!(
            "{}/{}",
            f.emu.url,
            q(&f.ppm, "2024-01-01", "2025-12-31")
        ))
        .basic_auth(USER, Some(PASSWORD))
        .header("Accept", V3)
        .send()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_error(
        &http.get(&q(&f.oee, "2025-02-01", "2025-01-01")),
        400,
        "after",
    );
    assert_error(
        &http.get("exchange/kpi-data?from=2025-01-01&to=2025-01-02"),
        400,
        "kpi-id",
    );
}

#[test]
fn put_merges_defaults_targets_and_reads_back_newest_first() {
    let f = fixture(&[]);
    let http = f.emu.http();
    let path = |d: &str| format!("exchange/kpi-data/{d}/{}/{}", f.sued, f.oee);
    assert_eq!(
        http.put(&path("2025-01-06"), &one(&f.oee_actual, "81.5"))
            .status,
        201
    );
    let rec = http.get(&path("2025-01-06")).body;
    // The target was absent and none existed: the server set it to 0 (API.md).
    assert_eq!(rec["values"][1]["kpiValueId"], f.oee_target.as_str());
    assert_eq!(rec["values"][1]["value"], 0);
    assert_eq!(
        http.put(&path("2025-01-06"), &one(&f.oee_target, "85"))
            .status,
        200
    );
    assert_eq!(
        http.put(&path("2025-01-06"), &one(&f.oee_actual, "82"))
            .status,
        200
    );
    let rec = http.get(&path("2025-01-06")).body;
    assert_eq!(rec["values"][0]["value"], 82);
    assert_eq!(rec["values"][1]["value"], 85);
    assert_eq!(
        http.put(&path("2025-01-08"), &one(&f.oee_actual, "70"))
            .status,
        201
    );
    let list = http.get(&format!(
        "exchange/kpi-data?kpi-id={}&from=2025-01-01&to=2025-01-31",
        f.oee
    ));
    let dates: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2025-01-08", "2025-01-06"]);
    let del = http.send(
        "DELETE",
        &path("2025-01-08"),
        Some((USER, PASSWORD)),
        None,
        None,
    );
    assert_eq!(del.status, 204);
    assert_eq!(http.get(&path("2025-01-08")).status, 404);
}

#[test]
fn fault_injection_shows_in_the_request_log() {
    let f = fixture(&["--fail-rate", "0.3", "--reset-rate", "0.5", "--seed", "7"]);
    let http = f.emu.http();
    let mut resets_seen = 0;
    for day in 1..=28 {
        let path = format!("exchange/kpi-data/2025-02-{day:02}/{}/{}", f.sued, f.oee);
        let res = reqwest::blocking::Client::new()
            .put(format!("{}/{}", f.emu.url, path))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", V2)
            .body(one(&f.oee_actual, "50"))
            .send();
        if res.is_err() {
            resets_seen += 1;
        }
    }
    let _ = http;
    let log = f.emu.log();
    assert_eq!(log.len(), 28);
    let fails = log.iter().filter(|l| l["fault"] == "fail").count();
    let resets = log.iter().filter(|l| l["fault"] == "reset").count();
    assert!(fails > 0, "no injected 503 in {log:?}");
    assert!(resets > 0, "no injected reset in {log:?}");
    assert!(
        log.iter()
            .filter(|l| l["fault"] == "fail")
            .all(|l| l["status"] == 503)
    );
    // A dropped connection is seen by the client as an error, yet the write was applied.
    assert_eq!(resets_seen, resets);
    let reset_path = log.iter().find(|l| l["fault"] == "reset").unwrap()["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/api/")
        .to_string();
    assert_eq!(f.emu.http().get(&reset_path).status, 200);
}

#[test]
fn throttling_answers_429_with_retry_after() {
    let f = fixture(&["--throttle-rps", "3"]);
    let client = reqwest::blocking::Client::new();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let r = client
            .get(format!("{}/exchange/kpi", f.emu.url))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .unwrap();
        if r.status() == 429 {
            retry_after = r
                .headers()
                .get("Retry-After")
                .map(|v| v.to_str().unwrap().to_string());
        }
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert!(
        f.emu
            .log()
            .iter()
            .any(|l| l["fault"] == "throttle" && l["status"] == 429)
    );
}

#[test]
fn latency_is_applied() {
    let f = fixture(&["--latency-ms", "150"]);
    let t = std::time::Instant::now();
    assert_eq!(f.emu.http().get("exchange/kpi").status, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(150));
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_s = state.to_str().unwrap();
    let f = fixture(&["--state", state_s]);
    let path = format!("exchange/kpi-data/2025-01-06/{}/{}", f.sued, f.oee);
    assert_eq!(
        f.emu.http().put(&path, &one(&f.oee_actual, "77")).status,
        201
    );
    let stderr = f.emu.stop();
    assert!(stderr.contains("1 record saved"), "{stderr}");
    let again = Emulator::start(&["--state", state_s]);
    let rec = again.http().get(&path);
    assert_eq!(rec.status, 200);
    assert_eq!(rec.body["values"][0]["value"], 77);
}

#[test]
fn invalid_catalog_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("catalog.json");
    std::fs::write(&bad, "{\"kpis\": [ {\"id\": 1} ]}").unwrap();
    let r = run(vs(&["emulator", "--catalog", bad.to_str().unwrap()]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("catalog.json: not a catalog"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("vsimport::catalog::invalid"),
        "{}",
        r.stderr
    );
    let missing = run(vs(&["emulator", "--catalog", "/nonexistent/catalog.json"]));
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("cannot read the catalog file"),
        "{}",
        missing.stderr
    );
}
