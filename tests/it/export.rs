//! `vsimport export`: ranges longer than one window are split, and the CSV is complete.

use crate::harness::*;

fn one(value_id: &str, v: i64) -> String {
    format!(r#"{{"values":[{{"kpiValueId":"{value_id}","value":{v}}}]}}"#)
}

#[test]
fn export_splits_long_ranges_into_windows() {
    let emu = Emulator::start(&[]);
    let http = emu.http();
    let cat = catalog();
    let output = kpi("Output");
    let actual = id_of(&output["kpiValues"], "Actual");
    let sued = id_of(&cat["teams"], "Montage Süd");
    let nord = id_of(&cat["teams"], "Montage Nord");
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    // 75 days x 2 teams; each record also gets a default target (0), so 2 values each.
    for i in 0..75 {
        let d = start + chrono::Duration::days(i);
        for team in [&sued, &nord] {
            let path = format!(
                "exchange/kpi-data/{d}/{team}/{}",
                output["id"].as_str().unwrap()
            );
            assert_eq!(http.put(&path, &one(&actual, i)).status, 201);
        }
    }
    let before = emu.log().len();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let r = run(vs(&[
        "export",
        "--url",
        &emu.url,
        "--kpi",
        "output",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-16",
        "-o",
        out.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.err().contains("exported 150 records (300 values)"),
        "{}",
        r.stderr
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "Date,Team,KPI,Sub-tile,Value,Amount,Forecast");
    assert_eq!(lines.len(), 301);
    assert!(lines.contains(&"2025-03-16,Montage Süd,Output,,Actual,74,"));
    assert!(lines.contains(&"2025-01-01,Montage Nord,Output,,Target,0,"));
    // Three windows: Jan 1-31, Feb 1 - Mar 3, Mar 4-16, each within the 31-day limit.
    let windows: Vec<String> = emu.log()[before..]
        .iter()
        .filter(|l| l["path"] == "/api/exchange/kpi-data")
        .map(|l| l["query"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(windows.len(), 3, "{windows:?}");
    assert!(
        windows[1].contains("from=2025-02-01&to=2025-03-03"),
        "{windows:?}"
    );
    assert!(
        emu.log()
            .iter()
            .all(|l| l["status"] == 200 || l["status"] == 201)
    );

    // --team narrows it down; stdout when no -o.
    let r = run(vs(&[
        "export",
        "--url",
        &emu.url,
        "--kpi",
        "Output",
        "--team",
        "montage nord",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-16",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 151);
    assert!(!r.stdout.contains("Montage Süd"));
}

#[test]
fn export_of_a_weekly_kpi_over_a_year() {
    let emu = Emulator::start(&[]);
    let http = emu.http();
    let near = kpi("Near misses");
    let actual = id_of(&near["kpiValues"], "Actual");
    let team = id_of(&catalog()["teams"], "Lackiererei");
    let monday = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for w in 0..52 {
        let d = monday + chrono::Duration::weeks(w);
        let path = format!(
            "exchange/kpi-data/{d}/{team}/{}",
            near["id"].as_str().unwrap()
        );
        assert_eq!(http.put(&path, &one(&actual, w)).status, 201);
    }
    let r = run(vs(&[
        "export",
        "--url",
        &emu.url,
        "--kpi",
        "Near misses",
        "--from",
        "2024-01-01",
        "--to",
        "2024-12-31",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 53);
    let gets = emu
        .log()
        .iter()
        .filter(|l| l["path"] == "/api/exchange/kpi-data")
        .count();
    assert_eq!(gets, 2);
}

#[test]
fn unknown_kpi_or_team_suggests() {
    let emu = Emulator::start(&[]);
    let r = run(vs(&[
        "export",
        "--url",
        &emu.url,
        "--kpi",
        "Scrap rat",
        "--from",
        "2025-01-01",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.err().contains("no KPI named \"Scrap rat\""),
        "{}",
        r.stderr
    );
    assert!(
        r.err().contains("did you mean \"Scrap rate\"?"),
        "{}",
        r.stderr
    );
    let r = run(vs(&[
        "export",
        "--url",
        &emu.url,
        "--kpi",
        "OEE",
        "--team",
        "Montage Sud",
        "--from",
        "2025-01-01",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.err().contains("did you mean \"Montage Süd\"?"),
        "{}",
        r.stderr
    );
}
