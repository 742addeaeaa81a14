//! `vsimport import --dry-run`: every normalisation, validation and dedupe rule on fixtures,
//! through the real binary, with the report as JSON and the rendered diagnostics pinned.

use serde_json::Value;

use crate::harness::*;

fn data(name: &str) -> String {
    root()
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn sample(name: &str) -> String {
    root()
        .join("samples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

const SEMI: &str = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n";

/// Runs a dry run with a mapping text; returns the run and the JSON report (with records).
fn dry(file: &str, mapping: &str, extra: &[&str]) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("mapping.toml");
    std::fs::write(&m, mapping).unwrap();
    let cat = sample("catalog.json");
    let mut args = vec![
        "import",
        file,
        "--mapping",
        m.to_str().unwrap(),
        "--catalog",
        cat.as_str(),
        "--dry-run",
        "--format",
        "json",
        "--records",
    ];
    args.extend_from_slice(extra);
    let r = run(vs(&args));
    assert!(
        r.code == 0 || r.code == 1,
        "{file}: exit {} {}",
        r.code,
        r.stderr
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    (r, v)
}

fn codes(v: &Value) -> Vec<(String, u64)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["row"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn diag<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {}", v["diagnostics"]))
}

/// (date, team, [(value name, value)]) of a planned record.
type Planned = (String, String, Vec<(String, f64)>);

/// Every planned record.
fn records(v: &Value) -> Vec<Planned> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["date"].as_str().unwrap().to_string(),
                r["team_name"].as_str().unwrap().to_string(),
                r["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| {
                        (
                            x["name"].as_str().unwrap().to_string(),
                            x["value"].as_f64().unwrap(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn german_locale_sample() {
    let (r, v) = dry(
        &sample("oee_semi_wide_de.csv"),
        &std::fs::read_to_string(sample("oee_semi_wide_de.mapping.toml")).unwrap(),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &v["summary"];
    assert_eq!(
        (s["rows_read"].as_u64(), s["rows_rejected"].as_u64()),
        (Some(72), Some(0))
    );
    assert_eq!(
        (s["records_planned"].as_u64(), s["values_planned"].as_u64()),
        (Some(72), Some(144))
    );
    let recs = records(&v);
    // Decimal commas and dd.mm.yyyy dates.
    assert_eq!(recs[0].0, "2025-01-06");
    assert!(recs.iter().any(|r| {
        r.2.iter()
            .any(|(n, x)| n == "Actual" && (*x - 85.0).abs() < 1e-9)
    }));
    assert!(
        recs.iter()
            .all(|r| r.2.iter().all(|(_, x)| x.fract() == 0.0 || r.2.len() == 2))
    );
}

#[test]
fn german_numbers_thousands_percent_and_ambiguity() {
    let mapping = "[columns]\ndate = \"Datum\"\nteam = \"Team\"\nkpi = \"Kennzahl\"\n[values]\n\"Ist\" = \"Actual\"\n\"Soll\" = \"Target\"\n";
    let (r, v) = dry(&data("german_numbers.csv"), mapping, &[]);
    assert_eq!(r.code, 1);
    let recs = records(&v);
    let on = |date: &str| recs.iter().find(|r| r.0 == date).unwrap().2.clone();
    // 1.234: a thousands point, because the file writes 85,5 elsewhere.
    assert_eq!(
        on("2025-01-06"),
        vec![("Actual".into(), 1234.0), ("Target".into(), 1250.0)]
    );
    assert_eq!(
        diag(&v, "vsimport::number::decimal_detected")["message"],
        "numbers like \"1.234\" are read with a decimal comma because row 3 has \"85,5 %\""
    );
    assert_eq!(on("2025-01-07")[0], ("Actual".into(), 85.5));
    // "3 %" for a KPI measured in pcs: used as 3, with a warning.
    assert_eq!(diag(&v, "vsimport::number::percent")["row"], 4);
    assert_eq!(on("2025-01-08")[0], ("Actual".into(), 3.0));
    // With no clue in the file, a semicolon file reads 1.234 as 1234, with a warning.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("no_clue.csv");
    std::fs::write(
        &f,
        "Datum;Team;Kennzahl;Ist;Soll\n06.01.2025;Montage Süd;Output;1.234;1.250\n",
    )
    .unwrap();
    let (_, v) = dry(f.to_str().unwrap(), mapping, &[]);
    assert_eq!(records(&v)[0].2[0], ("Actual".into(), 1234.0));
    assert!(
        diag(&v, "vsimport::number::ambiguous")["help"]
            .as_str()
            .unwrap()
            .contains("decimal = \",\"")
    );
    // Told decimal = ",": no warning.
    let told = format!("[source]\ndecimal = \",\"\n{mapping}");
    let (_, v) = dry(f.to_str().unwrap(), &told, &[]);
    assert!(
        !codes(&v)
            .iter()
            .any(|(c, _)| c == "vsimport::number::ambiguous")
    );
    let recs = records(&v);
    assert_eq!(
        recs.iter().find(|r| r.0 == "2025-01-06").unwrap().2[0],
        ("Actual".into(), 1234.0)
    );
}

#[test]
fn ambiguous_dates_are_never_guessed() {
    let (r, v) = dry(&data("ambiguous_dates.csv"), SEMI, &[]);
    assert_eq!(r.code, 1);
    assert_eq!(v["summary"]["rows_rejected"], 3);
    assert_eq!(v["summary"]["records_planned"], 0);
    let d = diag(&v, "vsimport::date::ambiguous");
    assert_eq!(
        d["message"],
        "\"01/02/2025\" is the 1st of February or the 2nd of January: no date in the file tells which"
    );
    assert!(d["help"].as_str().unwrap().contains("dayfirst"));
    // Told day-first: February.
    let (r, v) = dry(
        &data("ambiguous_dates.csv"),
        &format!("[source]\ndayfirst = true\n{SEMI}"),
        &[],
    );
    assert_eq!(r.code, 0);
    assert_eq!(v["by_kpi"][0]["first_date"], "2025-02-01");
    assert_eq!(v["by_kpi"][0]["last_date"], "2025-02-03");
    // Told month-first: January 2nd, February 2nd, March 2nd.
    let (_, v) = dry(
        &data("ambiguous_dates.csv"),
        &format!("[source]\ndayfirst = false\n{SEMI}"),
        &[],
    );
    assert_eq!(v["by_kpi"][0]["first_date"], "2025-01-02");
    assert_eq!(v["by_kpi"][0]["last_date"], "2025-03-02");
    // Or by date_format.
    let (_, v) = dry(
        &data("ambiguous_dates.csv"),
        &format!("[source]\ndate_format = \"%m/%d/%Y\"\n{SEMI}"),
        &[],
    );
    assert_eq!(v["by_kpi"][0]["first_date"], "2025-01-02");
}

#[test]
fn slash_dates_decided_by_the_file_or_inconsistent() {
    let (r, v) = dry(&data("slash_dates_dayfirst_evidence.csv"), SEMI, &[]);
    assert_eq!(r.code, 0, "{}", v["diagnostics"]);
    assert_eq!(records(&v)[0].0, "2025-02-01");
    assert!(
        diag(&v, "vsimport::date::order_detected")["message"]
            .as_str()
            .unwrap()
            .contains("row 3 has \"25/02/2025\"")
    );
    let (r, v) = dry(&data("slash_dates_inconsistent.csv"), SEMI, &[]);
    assert_eq!(r.code, 1);
    assert_eq!(v["summary"]["rows_rejected"], 1);
    assert_eq!(diag(&v, "vsimport::date::inconsistent")["row"], 2);
}

#[test]
fn time_kpis_from_text() {
    let (r, v) = dry(&data("time_text.csv"), SEMI, &[]);
    assert_eq!(r.code, 1);
    let recs = records(&v);
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[0].2,
        vec![("Actual".into(), 883.0), ("Target".into(), 360.0)]
    );
    assert_eq!(recs[1].2[0], ("Actual".into(), 883.0));
    assert_eq!(diag(&v, "vsimport::time::seconds_dropped")["row"], 4);
    let bad: Vec<u64> = codes(&v)
        .into_iter()
        .filter(|(c, _)| c == "vsimport::time::invalid")
        .map(|x| x.1)
        .collect();
    // 480 could be minutes or a clock without its colon; 24:10 and "soon" are no times.
    assert_eq!(bad, vec![3, 5, 6]);
    assert_eq!(diag(&v, "vsimport::time::invalid")["column_name"], "Target");
    // Declared as minutes, 480 is 08:00.
    let (r, v) = dry(
        &data("time_text.csv"),
        &format!("[source]\ntime_format = \"minutes\"\n{SEMI}"),
        &[],
    );
    assert_eq!(r.code, 1);
    let recs = records(&v);
    assert_eq!(
        recs[1].2,
        vec![("Actual".into(), 883.0), ("Target".into(), 480.0)]
    );
}

#[test]
fn time_kpis_from_excel_cells() {
    let mapping = std::fs::read_to_string(sample("shift_times.mapping.toml")).unwrap();
    let (r, v) = dry(&data("shift_times.xlsx"), &mapping, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let recs = records(&v);
    assert_eq!(
        recs[0],
        (
            "2025-01-06".into(),
            "Montage Süd".into(),
            vec![("Actual".into(), 358.0), ("Target".into(), 360.0)]
        )
    );
    assert_eq!(
        recs[2].2,
        vec![("Actual".into(), 883.0), ("Target".into(), 870.0)]
    );
    // A day fraction (06:30) and plain minutes (450).
    assert_eq!(
        recs[3].2,
        vec![("Actual".into(), 390.0), ("Target".into(), 450.0)]
    );
}

#[test]
fn week_and_month_snapping_merges_and_conflicts() {
    let (r, v) = dry(&data("snapping.csv"), SEMI, &[]);
    assert_eq!(r.code, 1);
    let recs = records(&v);
    // Wednesday and Friday of one week: the same record, the same values, merged.
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].0, "2025-01-06");
    assert_eq!(v["summary"]["duplicates_merged"], 2);
    let snapped = codes(&v)
        .into_iter()
        .filter(|(c, _)| c == "vsimport::date::snapped")
        .count();
    assert_eq!(snapped, 4);
    // The 17th and 31st of March: both filed under March 1st, with different actuals.
    assert_eq!(v["summary"]["conflicts"], 1);
    assert_eq!(v["summary"]["rows_rejected"], 2);
    let d = diag(&v, "vsimport::dedupe::conflict");
    assert!(d["message"].as_str().unwrap().contains("2025-03-01"), "{d}");
    // --on-conflict last keeps the later row.
    let (r, v) = dry(&data("snapping.csv"), SEMI, &["--on-conflict", "last"]);
    assert_eq!(r.code, 0);
    let ppm = records(&v)
        .into_iter()
        .find(|r| r.0 == "2025-03-01")
        .unwrap();
    assert_eq!(ppm.2[0], ("Actual".into(), 130.5));
}

#[test]
fn duplicates_merged_and_conflicting() {
    let (r, v) = dry(&data("dup_keys.csv"), SEMI, &[]);
    assert_eq!(r.code, 1);
    let s = &v["summary"];
    // Rows 2 and 3 are the same record: merged (2 values). Rows 6 and 7 fill different slots
    // of one record: merged into one record without conflict.
    assert_eq!(s["duplicates_merged"], 2);
    assert_eq!(s["conflicts"], 1);
    assert_eq!(s["rows_rejected"], 2);
    let recs = records(&v);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].0, "2025-01-08");
    assert_eq!(
        recs[1].2,
        vec![("Actual".into(), 60.0), ("Target".into(), 95.0)]
    );
    let merged: Vec<u64> = codes(&v)
        .into_iter()
        .filter(|(c, _)| c == "vsimport::dedupe::merged")
        .map(|x| x.1)
        .collect();
    assert_eq!(merged, vec![3, 3]);
    let (_, v) = dry(&data("dup_keys.csv"), SEMI, &["--on-conflict", "first"]);
    assert_eq!(records(&v)[1].2[0], ("Actual".into(), 70.0));
}

#[test]
fn every_catalog_error_has_a_suggestion() {
    let (r, v) = dry(&data("catalog_errors.csv"), SEMI, &[]);
    assert_eq!(r.code, 1);
    assert_eq!(v["summary"]["rows_rejected"], 6);
    let team = diag(&v, "vsimport::catalog::unknown_team");
    assert_eq!(
        (team["row"].as_u64(), team["help"].as_str()),
        (Some(2), Some("did you mean \"Montage Süd\"?"))
    );
    assert_eq!(
        diag(&v, "vsimport::catalog::unknown_kpi")["help"],
        "did you mean \"OEE\"?"
    );
    let rec = diag(&v, "vsimport::catalog::not_recording_team");
    assert!(
        rec["help"]
            .as_str()
            .unwrap()
            .starts_with("the recording teams of \"OEE\" are: Montage Süd")
    );
    assert!(
        diag(&v, "vsimport::catalog::sub_tile_missing")["help"]
            .as_str()
            .unwrap()
            .contains("Mechanical, Electrical")
    );
    assert_eq!(diag(&v, "vsimport::number::not_integer")["row"], 6);
    // Rework has no Target slot.
    let slot = diag(&v, "vsimport::catalog::unknown_value");
    assert_eq!(
        slot["message"],
        "KPI \"Rework\" has no value named \"Target\""
    );
    assert_eq!(slot["help"], "known: Actual");
}

#[test]
fn long_layout_value_names_and_sub_tiles() {
    let mapping = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\nsub_tile = \"Sub-tile\"\nvalue_name = \"Value\"\nvalue = \"Amount\"\n";
    let (r, v) = dry(&data("long_subtiles.csv"), mapping, &[]);
    assert_eq!(r.code, 1);
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().any(|r| r["sub_tile"].is_string()));
    assert!(
        diag(&v, "vsimport::catalog::unknown_sub_tile")["help"]
            .as_str()
            .unwrap()
            .starts_with("known: Mechanical, Electrical")
    );
    assert_eq!(
        diag(&v, "vsimport::catalog::unknown_value")["help"],
        "did you mean \"Actual\"?"
    );
    // OEE row 6 (Target) is planned; its Actual row 5 is rejected: the record warns about nothing.
    assert_eq!(v["summary"]["rows_rejected"], 2);
}

#[test]
fn report_dir_has_report_json_and_a_reimportable_rejected_csv() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(&m, "[columns]\ndate = \"Datum\"\nteam = \"Team\"\nkpi = \"Kennzahl\"\n[values]\n\"Ist\" = \"Actual\"\n\"Soll\" = \"Target\"\n").unwrap();
    let out = dir.path().join("report");
    let r = run(vs(&[
        "import",
        &data("german_numbers.csv"),
        "-m",
        m.to_str().unwrap(),
        "--catalog",
        &sample("catalog.json"),
        "--dry-run",
        "--report",
        out.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for k in [
        "rows_read",
        "rows_rejected",
        "records_planned",
        "values_planned",
        "duplicates_merged",
    ] {
        assert!(report["summary"][k].is_u64(), "summary.{k}");
    }
    let d = &report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .unwrap();
    for k in ["code", "severity", "file", "row", "column", "message"] {
        assert!(!d[k].is_null(), "diagnostic.{k}");
    }
    let rejected = std::fs::read_to_string(out.join("rejected.csv")).unwrap();
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(
        lines[0],
        "\u{feff}Datum;Team;Kennzahl;Ist;Soll;vsimport_row;vsimport_problems"
    );
    // The formula-like team cell is neutralised; the row number and reason follow.
    assert!(
        lines[1].starts_with("09.01.2025;\"'=HYPERLINK(\"\"x\"\")\";OEE;1;2;5;"),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 2);
    // Re-importable: the same mapping reads it (the extra columns are ignored).
    let again = run(vs(&[
        "import",
        out.join("rejected.csv").to_str().unwrap(),
        "-m",
        m.to_str().unwrap(),
        "--catalog",
        &sample("catalog.json"),
        "--dry-run",
        "--format",
        "json",
    ]));
    let v: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["summary"]["rows_read"], 1);
    assert!(
        diag(&v, "vsimport::catalog::unknown_team")["message"]
            .as_str()
            .unwrap()
            .contains("\"=HYPERLINK(\\\"x\\\")\""),
        "{}",
        v["diagnostics"]
    );
}

#[test]
fn rendered_diagnostics_are_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(&m, SEMI).unwrap();
    let r = run(vs(&[
        "import",
        &data("catalog_errors.csv"),
        "-m",
        m.to_str().unwrap(),
        "--catalog",
        &sample("catalog.json"),
        "--dry-run",
    ]));
    assert_eq!(r.code, 1);
    let file = data("catalog_errors.csv");
    let expected = format!(
        "vsimport::catalog::unknown_team

  × {file}:2:2: no team named \"Montage Sud\" in the catalog
   ╭─[{file}:2:1]
 2 │ 2025-01-06,Montage Sud,OEE,80,90
   ·            ─────┬─────
   ·                 ╰── \"Team\" (column 2)
   ╰────
  help: did you mean \"Montage Süd\"?
"
    );
    assert!(r.stderr.starts_with(&expected), "got:\n{}", r.stderr);
    assert!(r.stdout.starts_with("Plan for "), "{}", r.stdout);
    assert!(
        r.stdout.contains("rows: 6 read, 6 rejected"),
        "{}",
        r.stdout
    );
}

#[test]
fn many_problems_of_one_kind_are_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("many.csv");
    let mut text = String::from("Date,Team,KPI,Actual,Target\n");
    for i in 0..500 {
        text.push_str(&format!(
            "2025-01-{:02},Montage Süd,OEE,approx. 80,90\n",
            i % 28 + 1
        ));
    }
    std::fs::write(&f, text).unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(&m, SEMI).unwrap();
    let r = run(vs(&[
        "import",
        f.to_str().unwrap(),
        "-m",
        m.to_str().unwrap(),
        "--catalog",
        &sample("catalog.json"),
        "--dry-run",
    ]));
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.matches("vsimport::number::invalid\n").count(), 3);
    assert!(
        r.err().contains(
            "… and 497 more like this in column D (\"Actual\") [vsimport::number::invalid]"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_codes() {
    let (r, _) = dry(
        &sample("weekly_safety_wide.csv"),
        &std::fs::read_to_string(sample("weekly_safety_wide.mapping.toml")).unwrap(),
        &[],
    );
    assert_eq!(r.code, 0);
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(&m, "[columns]\ndate = \"Datum\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n").unwrap();
    let r = run(vs(&[
        "import",
        &data("dup_keys.csv"),
        "-m",
        m.to_str().unwrap(),
        "--catalog",
        &sample("catalog.json"),
        "--dry-run",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.err()
            .contains("[columns] date names the column \"Datum\""),
        "{}",
        r.stderr
    );
    assert!(r.err().contains("did you mean \"Date\"?"), "{}", r.stderr);
}

#[test]
fn without_a_mapping_columns_are_matched_or_a_mapping_suggested() {
    let cat = sample("catalog.json");
    let r = run(vs(&[
        "import",
        &data("dup_keys.csv"),
        "--catalog",
        &cat,
        "--dry-run",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no --mapping given: columns matched to the catalog"),
        "{}",
        r.stderr
    );
    // An unsure match stops with the suggestion.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("odd.csv");
    std::fs::write(&f, "Datm,Team,OEE\n2025-01-06,Montage Süd,80\n").unwrap();
    let r = run(vs(&[
        "import",
        f.to_str().unwrap(),
        "--catalog",
        &cat,
        "--dry-run",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("# unsure: \"Datm\" taken as the date"),
        "{}",
        r.stderr
    );
    // mapping init writes it.
    let out = dir.path().join("odd.mapping.toml");
    let r = run(vs(&[
        "mapping",
        "init",
        f.to_str().unwrap(),
        "--catalog",
        &cat,
        "-o",
        out.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("date = \"Datm\"  # unsure"), "{text}");
    assert!(
        text.contains("\"OEE\" = { kpi = \"OEE\", value = \"Actual\" }"),
        "{text}"
    );
    let r = run(vs(&[
        "import",
        f.to_str().unwrap(),
        "-m",
        out.to_str().unwrap(),
        "--catalog",
        &cat,
        "--dry-run",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn every_sample_plans_correctly_against_the_emulator() {
    let emu = Emulator::start(&[]);
    for (file, mapping, records, values) in [
        (
            "oee_semi_wide_de.csv",
            "oee_semi_wide_de.mapping.toml",
            72,
            144,
        ),
        (
            "weekly_safety_wide.csv",
            "weekly_safety_wide.mapping.toml",
            48,
            48,
        ),
        ("shift_times.xlsx", "shift_times.mapping.toml", 4, 8),
    ] {
        let r = run(vs(&[
            "import",
            &sample(file),
            "-m",
            &sample(mapping),
            "--url",
            &emu.url,
            "--dry-run",
            "--format",
            "json",
        ]));
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["summary"]["records_planned"], records, "{file}");
        assert_eq!(v["summary"]["values_planned"], values, "{file}");
        assert_eq!(v["summary"]["rows_rejected"], 0, "{file}");
    }
    // A dry run only reads: the catalog, never a record write.
    assert!(emu.log().iter().all(|l| l["method"] == "GET"));
}

#[test]
fn a_large_file_checked_on_two_threads_gives_the_same_result_as_one() {
    // Over 8 MB, CRLF, blank lines, bad rows in both halves, a conflict across the halves,
    // and a slash date in the second half decided by a row in the first.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.csv");
    let mut text = String::from("Export\r\n\r\nDate,Team,KPI,Actual,Target\r\n");
    let teams = ["Montage Süd", "Montage Nord", "Lackiererei"];
    for i in 0..260_000u32 {
        let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()
            + chrono::Duration::days(i64::from(i / 3));
        let team = teams[(i % 3) as usize];
        let line = match i {
            5 => format!("25/01/2000,{team},OEE,80,90"),
            1_000 | 200_000 => format!("{day},{team},OEE,oops,90"),
            150_000 => format!("{day},Nowhere,OEE,80,90"),
            259_990 => format!("03/04/2001,{team},OEE,80,90"),
            259_999 => "2000-01-01,Montage Nord,OEE,99,90".to_string(),
            _ => format!("{day},{team},OEE,{}.5,90", 60 + i % 30),
        };
        text.push_str(&line);
        text.push_str("\r\n");
        if i % 50_000 == 7 {
            text.push_str("\r\n");
        }
    }
    std::fs::write(&f, &text).unwrap();
    assert!(text.len() > 9 << 20);
    let m = dir.path().join("m.toml");
    // 86,667 days from 2000: past 2100, which the mapping allows.
    std::fs::write(&m, format!("[source]\nyears = [2000, 2300]\n{SEMI}")).unwrap();
    let cat = sample("catalog.json");
    let go = |threads: &str, out: &str| {
        let report = dir.path().join(out);
        let r = run(vs(&[
            "import",
            f.to_str().unwrap(),
            "-m",
            m.to_str().unwrap(),
            "--catalog",
            &cat,
            "--dry-run",
            "--format",
            "json",
            "--threads",
            threads,
            "--report",
            report.to_str().unwrap(),
        ]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        (
            v,
            std::fs::read_to_string(report.join("rejected.csv")).unwrap(),
        )
    };
    let (one, rejected_one) = go("1", "one");
    // The file is cut into pieces that two or three threads take in turn.
    for (threads, out) in [("2", "two"), ("3", "three")] {
        let (many, rejected_many) = go(threads, out);
        assert_eq!(one["summary"], many["summary"], "{threads} threads");
        assert_eq!(one["by_kpi"], many["by_kpi"], "{threads} threads");
        assert_eq!(one["diagnostics"], many["diagnostics"], "{threads} threads");
        assert_eq!(rejected_one, rejected_many, "{threads} threads");
    }
    // And the result is right: 2 bad numbers, 1 unknown team, and 3 conflicts of 2 rows each
    // (25/01/2000, 03/04/2001 and the last row each repeat a record with another value).
    assert_eq!(one["summary"]["rows_read"], 260_000);
    assert_eq!(one["summary"]["rows_rejected"], 9);
    assert_eq!(one["summary"]["conflicts"], 3);
    let rows: Vec<u64> = one["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["row"].as_u64().unwrap())
        .collect();
    // Line numbers count the title, the blank line, the header and the inserted blank lines.
    assert!(rows.contains(&(1_000 + 4 + 1)), "{rows:?}");
    assert!(rows.contains(&(200_000 + 4 + 4)), "{rows:?}");
    // The slash date in the second half was decided by row 9's 25/01/2000: day first.
    assert!(
        one["diagnostics"]
            .to_string()
            .contains("vsimport::date::order_detected")
    );
}

#[test]
fn the_cap_per_kind_of_problem_holds_on_several_threads() {
    // Over 8 MB, with bad numbers few in the first part of the file and many after it (a
    // part of the file with fewer than 1,000 of the kind, then one with more): whatever the
    // threads, the report keeps the first 1,000 of the kind and counts them all.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.csv");
    let mut text = String::from("Date,Team,KPI,Actual,Target\n");
    for i in 0..300_000u32 {
        let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()
            + chrono::Duration::days(i64::from(i));
        let bad = (60_000..100_000).contains(&i) && i % 60 == 0 || i >= 100_000 && i % 10 == 0;
        let actual = if bad {
            "oops".to_string()
        } else {
            format!("{}.5", 60 + i % 30)
        };
        text.push_str(&format!("{day},Montage Süd,OEE,{actual},90\n"));
    }
    assert!(text.len() > 8 << 20);
    std::fs::write(&f, &text).unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(&m, SEMI).unwrap();
    let cat = sample("catalog.json");
    let go = |threads: &str| {
        let r = run(vs(&[
            "import",
            f.to_str().unwrap(),
            "-m",
            m.to_str().unwrap(),
            "--catalog",
            &cat,
            "--dry-run",
            "--format",
            "json",
            "--threads",
            threads,
        ]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        serde_json::from_str::<Value>(&r.stdout).unwrap()
    };
    let one = go("1");
    let two = go("2");
    let kept = |v: &Value| {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] == "vsimport::number::invalid")
            .count()
    };
    assert_eq!(kept(&one), 1000);
    assert_eq!(kept(&two), 1000);
    assert_eq!(one["diagnostics"], two["diagnostics"]);
    assert_eq!(one["diagnostic_counts"], two["diagnostic_counts"]);
    assert_eq!(
        one["diagnostic_counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "vsimport::number::invalid")
            .unwrap()["count"],
        20_667
    );
}

/// A workbook is streamed row by row: a title row, the header from column B, a team merged
/// down over three rows (the two below hold no team but the merge's), a blank row, and a
/// conflict between two rows whose cells rejected.csv gets by streaming the sheet again.
#[test]
fn a_streamed_workbook_fills_merged_rows_and_refetches_conflicting_rows() {
    use rust_xlsxwriter::{Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("streamed.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Daten").unwrap();
    ws.write(0, 1, "Produktion Januar").unwrap();
    for (c, h) in ["Datum", "Team", "Kennzahl", "Ist"].iter().enumerate() {
        ws.write(2, c as u16 + 1, *h).unwrap();
    }
    // Rows 4-6: one team merged down.
    ws.merge_range(3, 2, 5, 2, "Montage Süd", &Format::new())
        .unwrap();
    for (r, day, v) in [
        (3u32, "06.01.2025", 81.0),
        (4, "07.01.2025", 82.0),
        (5, "08.01.2025", 83.0),
    ] {
        ws.write(r, 1, day).unwrap();
        ws.write(r, 3, "OEE").unwrap();
        ws.write(r, 4, v).unwrap();
    }
    // A blank row, then the same record as row 4 with another value: a conflict.
    ws.write(7, 1, "06.01.2025").unwrap();
    ws.write(7, 2, "Montage Süd").unwrap();
    ws.write(7, 3, "OEE").unwrap();
    ws.write(7, 4, 99.0).unwrap();
    wb.save(&f).unwrap();
    let out = dir.path().join("report");
    let (r, v) = dry(
        f.to_str().unwrap(),
        "[columns]\ndate = \"Datum\"\nteam = \"Team\"\nkpi = \"Kennzahl\"\n[values]\n\"Ist\" = \"Actual\"\n",
        &["--report", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(v["summary"]["rows_read"], 4, "{}", r.stdout);
    assert_eq!(v["summary"]["conflicts"], 1);
    assert_eq!(v["summary"]["rows_rejected"], 2);
    // Rows 5 and 6 took the team from the merged region: their records are planned.
    assert_eq!(v["summary"]["records_planned"], 2);
    let rejected = std::fs::read_to_string(out.join("rejected.csv")).unwrap();
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(lines.len(), 3, "{rejected}");
    assert!(
        lines[1].starts_with("06.01.2025,Montage Süd,OEE,81,4,"),
        "{rejected}"
    );
    assert!(
        lines[2].starts_with("06.01.2025,Montage Süd,OEE,99,8,"),
        "{rejected}"
    );
}

#[test]
fn a_rejected_row_plans_none_of_its_values() {
    // Each rejected row has a good value beside the bad cell (before it and after it), an
    // ambiguous number, or an unknown team; only the last row is planned.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mixed.csv");
    std::fs::write(
        &f,
        "Date,Team,KPI,Actual,Target\n\
         2024-01-01,Montage Süd,OEE,80,oops\n\
         2024-01-02,Montage Süd,OEE,oops,90\n\
         2024-01-03,Nowhere,OEE,80,90\n\
         2024-01-05,Montage Süd,OEE,\"1,234\",oops\n\
         2024-01-04,Montage Süd,OEE,81,91\n",
    )
    .unwrap();
    let (_, v) = dry(f.to_str().unwrap(), SEMI, &[]);
    assert_eq!(v["summary"]["rows_rejected"], 4, "{}", v["diagnostics"]);
    assert_eq!(v["summary"]["records_planned"], 1);
    assert_eq!(v["summary"]["values_planned"], 2);
    assert_eq!(
        records(&v),
        vec![(
            "2024-01-04".to_string(),
            "Montage Süd".to_string(),
            vec![("Actual".to_string(), 81.0), ("Target".to_string(), 91.0)]
        )]
    );
    // The rejected row's ambiguous number is not settled against another row's value.
    assert!(
        !v["diagnostics"].to_string().contains("ambiguous"),
        "{}",
        v["diagnostics"]
    );
}
