//! Every message users read, pinned by snapshots (tests/it/snapshots): the help of every
//! command, the dry run, import and re-import of every sample, each diagnostic code at a cell
//! that causes it, and the fatal errors. A change to a message shows up as a snapshot diff.

use crate::harness::*;

// Paths are relative to the checkout (commands run there), so that messages wrap the same
// wherever the checkout is.
fn sample(name: &str) -> String {
    format!("samples/{name}")
}

fn data(name: &str) -> String {
    format!("tests/data/{name}")
}

/// `vsimport ARGS` run in the checkout.
fn here(args: &[&str]) -> std::process::Command {
    let mut c = vs(args);
    c.current_dir(root());
    c
}

#[test]
fn help_of_every_command() {
    for (name, args) in [
        ("help", vec!["--help"]),
        ("help_import", vec!["import", "--help"]),
        ("help_undo", vec!["undo", "--help"]),
        ("help_mapping", vec!["mapping", "--help"]),
        ("help_mapping_init", vec!["mapping", "init", "--help"]),
        ("help_inspect", vec!["inspect", "--help"]),
        ("help_kpis", vec!["kpis", "--help"]),
        ("help_export", vec!["export", "--help"]),
        ("help_runs", vec!["runs", "--help"]),
        ("help_runs_prune", vec!["runs", "prune", "--help"]),
        ("help_demo", vec!["demo", "--help"]),
        ("help_emulator", vec!["emulator", "--help"]),
        ("help_watch", vec!["watch", "--help"]),
        ("help_template", vec!["template", "--help"]),
        ("help_completions", vec!["completions", "--help"]),
    ] {
        let r = run(here(&args).env("COLUMNS", "100"));
        assert_eq!(r.code, 0, "{name}: {}", r.all());
        snapshots().bind(|| insta::assert_snapshot!(name, r.stdout));
    }
}

#[test]
fn every_sample_dry_run_import_and_reimport() {
    for (stem, file) in [
        ("oee_semi_wide_de", "oee_semi_wide_de.csv"),
        ("weekly_safety_wide", "weekly_safety_wide.csv"),
        ("shift_times", "shift_times.xlsx"),
    ] {
        let em = Emulator::start(&[]);
        let states = tempfile::tempdir().unwrap();
        let mapping = sample(&format!("{stem}.mapping.toml"));
        let base = |extra: &[&str]| {
            let mut args = vec![
                "import".to_string(),
                sample(file),
                "-m".into(),
                mapping.clone(),
                "--url".into(),
                em.url.clone(),
                "--state-dir".into(),
                states.path().to_str().unwrap().to_string(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(here(&refs))
        };
        let dry = base(&["--dry-run", "--diff"]);
        let import = base(&[]);
        let again = base(&[]);
        snapshots().bind(|| {
            insta::assert_snapshot!(format!("sample_{stem}_dry_run"), shown(&dry));
            insta::assert_snapshot!(format!("sample_{stem}_import"), shown(&import));
            insta::assert_snapshot!(format!("sample_{stem}_reimport"), shown(&again));
        });
    }
}

const LONG: &str = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\nsub_tile = \"Sub-tile\"\nvalue_name = \"Value\"\nvalue = \"Amount\"\n";
const LONG_HEADER: &str = "Date,Team,KPI,Sub-tile,Value,Amount\n";
const SEMI: &str = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n";
const SEMI_HEADER: &str = "Date,Team,KPI,Actual,Target\n";

/// A dry run of `rows` (after the layout's header) against the sample catalog, showing every
/// note.
fn dry_run(mapping: &str, header: &str, rows: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("export.csv");
    std::fs::write(&f, format!("{header}{rows}")).unwrap();
    let m = dir.path().join("mapping.toml");
    std::fs::write(&m, mapping).unwrap();
    let cat = sample_catalog();
    let mut args = vec![
        "import",
        "export.csv",
        "-m",
        "mapping.toml",
        "--catalog",
        cat.to_str().unwrap(),
        "--dry-run",
        "--notes",
    ];
    args.extend_from_slice(extra);
    run(vs(&args).current_dir(dir.path()))
}

#[test]
fn each_diagnostic_at_a_cell_that_causes_it() {
    let d = "2025-01-06,Montage Süd";
    let long = |rows: &str| dry_run(LONG, LONG_HEADER, rows, &[]);
    let semi = |rows: &str| dry_run(SEMI, SEMI_HEADER, rows, &[]);
    let cases: Vec<(&str, Run)> = vec![
        ("read_ragged_row", long(&format!("{d},OEE,,Actual\n"))),
        ("row_missing_name", long("2025-01-06,,OEE,,Actual,80\n")),
        ("row_no_values", semi(&format!("{d},OEE,,\n"))),
        (
            "catalog_unknown_team",
            long("2025-01-06,Montage Sud,OEE,,Actual,80\n"),
        ),
        (
            "catalog_unknown_kpi",
            long(&format!("{d},OEF,,Actual,80\n")),
        ),
        (
            "catalog_unknown_value",
            long(&format!("{d},OEE,,Actaul,80\n")),
        ),
        (
            "catalog_not_recording_team",
            long("2025-01-06,Wareneingang,OEE,,Actual,80\n"),
        ),
        (
            "catalog_unknown_sub_tile",
            long(&format!(
                "{d},Downtime by cause,Hydraulics,Actual,30\n{d},OEE,Mechanical,Actual,80\n"
            )),
        ),
        (
            "catalog_sub_tile_missing",
            long(&format!("{d},Downtime by cause,,Actual,30\n")),
        ),
        (
            "date_invalid",
            long("2025-13-45,Montage Süd,OEE,,Actual,80\n"),
        ),
        (
            "date_out_of_range",
            long("0000-01-01,Montage Süd,OEE,,Actual,80\n9999-12-31,Montage Süd,OEE,,Actual,80\n"),
        ),
        (
            "date_time_dropped",
            long("2025-01-06 08:15,Montage Süd,OEE,,Actual,80\n"),
        ),
        (
            "date_ambiguous",
            long("03/04/2025,Montage Süd,OEE,,Actual,80\n"),
        ),
        (
            "date_inconsistent",
            long(
                "25/01/2025,Montage Süd,OEE,,Actual,80\n01/26/2025,Montage Süd,OEE,,Actual,81\n03/04/2025,Montage Süd,OEE,,Actual,82\n",
            ),
        ),
        (
            "date_order_detected",
            long("25/01/2025,Montage Süd,OEE,,Actual,80\n03/04/2025,Montage Süd,OEE,,Actual,82\n"),
        ),
        (
            "date_snapped",
            long("2025-01-08,Montage Süd,Near misses,,Actual,3\n"),
        ),
        (
            "number_invalid",
            long(&format!("{d},OEE,,Actual,approx. 80\n")),
        ),
        (
            "number_beyond_a_double",
            long(&format!(
                "{d},OEE,,Actual,1e-400\n2025-01-07,Montage Süd,OEE,,Actual,1e400\n"
            )),
        ),
        (
            "number_not_integer",
            long(&format!("{d},Output,,Actual,12.5\n")),
        ),
        ("number_percent", long(&format!("{d},Output,,Actual,12%\n"))),
        (
            "number_ambiguous",
            long(&format!("{d},Output,,Actual,\"1,234\"\n")),
        ),
        (
            "number_decimal_detected",
            long(&format!(
                "{d},OEE,,Actual,\"85,5\"\n2025-01-07,Montage Süd,Output,,Actual,\"1.234\"\n"
            )),
        ),
        (
            "time_invalid",
            long(&format!("{d},Shift start,,Actual,25:99\n")),
        ),
        (
            "time_seconds_dropped",
            long(&format!("{d},Shift start,,Actual,06:00:30\n")),
        ),
        (
            "dedupe_conflict",
            long(&format!("{d},OEE,,Actual,80\n{d},OEE,,Actual,85\n")),
        ),
        (
            "dedupe_merged",
            long(&format!("{d},OEE,,Actual,80\n{d},OEE,,Actual,80\n")),
        ),
        (
            "dedupe_conflict_settled",
            dry_run(
                LONG,
                LONG_HEADER,
                &format!("{d},OEE,,Actual,80\n{d},OEE,,Actual,85\n"),
                &["--on-conflict", "last"],
            ),
        ),
        (
            "plan_targets_missing",
            long(&format!("{d},OEE,,Actual,80\n")),
        ),
    ];
    for (name, r) in cases {
        assert!([0, 1, 3].contains(&r.code), "{name}: {}", r.all());
        snapshots().bind(|| insta::assert_snapshot!(format!("diag_{name}"), shown(&r)));
    }
}

#[test]
fn fatal_errors() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        "[source]\ndate_format = \"%d.%m.%Q\"\n\n[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n",
    )
    .unwrap();
    let twice = dir.path().join("twice.toml");
    std::fs::write(
        &twice,
        "[columns]\ndate = \"Date\"\nteam = \"Date\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n",
    )
    .unwrap();
    let cat = sample("catalog.json");
    let csv = sample("oee_semi_wide_de.csv");
    let semi = sample("oee_semi_wide_de.mapping.toml");
    let dry = |file: &str, extra: &[&str]| {
        let mut args = vec!["import", file, "--catalog", &cat, "--dry-run"];
        args.extend_from_slice(extra);
        run(here(&args))
    };
    let in_dir = |mapping: &str| {
        let csv = root().join(&csv);
        let cat = root().join(&cat);
        run(vs(&[
            "import",
            csv.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
            "--dry-run",
            "-m",
            mapping,
        ])
        .current_dir(dir.path()))
    };
    let cases: Vec<(&str, Run)> = vec![
        ("mapping_date_format", in_dir("typo.toml")),
        ("mapping_column_twice", in_dir("twice.toml")),
        ("read_empty", dry(&data("empty.csv"), &["-m", &semi])),
        (
            "read_not_a_spreadsheet",
            dry(&data("image.csv"), &["-m", &semi]),
        ),
        ("read_corrupt", dry(&data("not_a_zip.xlsx"), &["-m", &semi])),
        (
            "read_encrypted",
            dry(&data("encrypted.xlsx"), &["-m", &semi]),
        ),
        ("read_no_header", dry(&data("no_header.csv"), &[])),
        (
            "read_sheet_missing",
            dry(
                &data("multi_sheet.xlsx"),
                &["-m", &semi, "--sheet", "Februr"],
            ),
        ),
        ("read_not_found", dry("no-such-export.csv", &["-m", &semi])),
        (
            "usage_delimiter",
            dry(&csv, &["-m", &semi, "--delimiter", ";;"]),
        ),
        (
            "settings_no_server",
            run(vs(&["import", &csv, "-m", &semi, "--dry-run", "--diff"])),
        ),
        (
            "api_connection_refused",
            run(vs(&[
                "kpis",
                "--url",
                "http://127.0.0.1:9/api",
                "--max-attempts",
                "1",
            ])),
        ),
    ];
    for (name, r) in cases {
        assert_eq!(r.code, 2, "{name}: {}", r.all());
        snapshots().bind(|| insta::assert_snapshot!(format!("fatal_{name}"), shown(&r)));
    }
    // Bad credentials, against the emulator.
    let em = Emulator::start(&[]);
    let r = run(here(&["kpis", "--url", &em.url]).env("VS_PASSWORD", "wrong"));
    assert_eq!(r.code, 2, "{}", r.all());
    snapshots().bind(|| insta::assert_snapshot!("fatal_api_unauthorized", shown(&r)));
}

#[test]
fn inspect_kpis_mapping_init_export_and_undo() {
    let inspect = run(here(&["inspect", &sample("oee_semi_wide_de.csv")]));
    let inspect_xlsx = run(here(&[
        "inspect",
        &sample("shift_times.xlsx"),
        "--rows",
        "2",
    ]));
    let init = run(here(&[
        "mapping",
        "init",
        &data("dup_keys.csv"),
        "--catalog",
        &sample("catalog.json"),
    ]));
    let em = Emulator::start(&[]);
    let kpis = run(here(&["kpis", "--url", &em.url]));
    let states = tempfile::tempdir().unwrap();
    let state = states.path().to_str().unwrap();
    let import = run(here(&[
        "import",
        &sample("oee_semi_wide_de.csv"),
        "-m",
        &sample("oee_semi_wide_de.mapping.toml"),
        "--url",
        &em.url,
        "--state-dir",
        state,
        "--format",
        "json",
    ]));
    assert_eq!(import.code, 0, "{}", import.all());
    let doc: serde_json::Value = serde_json::from_str(&import.stdout).unwrap();
    let id = doc["upload"]["run"].as_str().unwrap().to_string();
    let export = run(here(&[
        "export",
        "--url",
        &em.url,
        "--kpi",
        "OEE",
        "--from",
        "2025-01-06",
        "--to",
        "2025-01-07",
    ]));
    let undo_dry = run(here(&["undo", &id, "--state-dir", state, "--dry-run"]));
    let undo = run(here(&["undo", &id, "--state-dir", state]));
    // The undo's page, beside the import's report.
    let page = std::path::Path::new(state)
        .join("runs")
        .join(&id)
        .join("undo.html");
    let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    assert!(
        html.contains(&format!("<h1 id=\"headline\">Undo of import {id}: ")),
        "{html}"
    );
    let again = run(here(&["undo", &id, "--state-dir", state]));
    for (name, r) in [
        ("inspect_csv", &inspect),
        ("inspect_xlsx", &inspect_xlsx),
        ("mapping_init", &init),
        ("kpis", &kpis),
        ("export", &export),
        ("undo_dry_run", &undo_dry),
        ("undo", &undo),
        ("undo_again", &again),
    ] {
        assert_eq!(r.code, 0, "{name}: {}", r.all());
        snapshots().bind(|| insta::assert_snapshot!(name, shown(r)));
    }
}
