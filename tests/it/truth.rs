//! What the user is told is what happened: fatal errors as JSON for scripts, and messages in
//! plain words where the operating system's would reach the user.

use crate::harness::*;

#[test]
fn a_fatal_error_with_format_json_is_a_json_document() {
    let dir = tempfile::tempdir().unwrap();
    let cat = sample_catalog();
    let r = in_dir(
        dir.path(),
        &[
            "import",
            "missing.csv",
            "--catalog",
            cat.to_str().unwrap(),
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 2);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert_eq!(v["version"], 1);
    assert_eq!(v["error"]["code"], "vsimport::read::io");
    assert_eq!(v["error"]["exit_code"], 2);
    assert_eq!(
        v["error"]["message"],
        "missing.csv: cannot open the file: No such file or directory (os error 2)".replace(
            "No such file or directory (os error 2)",
            "no such file or directory"
        )
    );
    assert!(v["error"]["help"].as_str().unwrap().contains("path"));
    // The people's rendering still goes to stderr.
    assert!(r.stderr.contains("× missing.csv"), "{}", r.stderr);
}

#[test]
fn existing_files_directories_and_dates_are_said_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        root().join("samples/oee_semi_wide_de.csv"),
        d.join("export.csv"),
    )
    .unwrap();
    std::fs::copy(sample_catalog(), d.join("catalog.json")).unwrap();
    std::fs::write(d.join("mapping.toml"), "kept").unwrap();
    std::fs::create_dir(d.join("out")).unwrap();
    let init = |extra: &[&str]| {
        let mut args = vec!["mapping", "init", "export.csv", "--catalog", "catalog.json"];
        args.extend_from_slice(extra);
        in_dir(d, &args)
    };
    let exists = init(&["-o", "mapping.toml"]);
    assert_eq!(exists.code, 2);
    assert_eq!(
        std::fs::read_to_string(d.join("mapping.toml")).unwrap(),
        "kept"
    );
    let directory = init(&["-o", "out"]);
    assert_eq!(directory.code, 2);
    let forced = init(&["-o", "mapping.toml", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert!(
        std::fs::read_to_string(d.join("mapping.toml"))
            .unwrap()
            .contains("[columns]")
    );
    let report_file = in_dir(
        d,
        &[
            "import",
            "export.csv",
            "-m",
            "mapping.toml",
            "--catalog",
            "catalog.json",
            "--dry-run",
            "--report",
            "catalog.json",
        ],
    );
    assert_eq!(report_file.code, 2);
    let directory_input = in_dir(
        d,
        &[
            "import",
            "out",
            "-m",
            "mapping.toml",
            "--catalog",
            "catalog.json",
            "--dry-run",
        ],
    );
    assert_eq!(directory_input.code, 2);
    let bad_date = in_dir(
        d,
        &[
            "export",
            "--url",
            "http://127.0.0.1:9/api",
            "--from",
            "01.13.2025",
        ],
    );
    assert_eq!(bad_date.code, 2);
    // export -o an existing file: refused before any request.
    let emu = Emulator::start(&[]);
    let export = in_dir(
        d,
        &[
            "export",
            "--url",
            &emu.url,
            "--kpi",
            "OEE",
            "--from",
            "01.01.2025",
            "--to",
            "2025-01-31",
            "-o",
            "catalog.json",
        ],
    );
    assert_eq!(export.code, 2);
    assert!(emu.log().is_empty(), "no request may be made");
    snapshots().bind(|| {
        insta::assert_snapshot!("truth_output_exists", shown(&exists));
        insta::assert_snapshot!("truth_output_is_a_directory", shown(&directory));
        insta::assert_snapshot!("truth_report_is_a_file", shown(&report_file));
        insta::assert_snapshot!("truth_input_is_a_directory", shown(&directory_input));
        insta::assert_snapshot!("truth_bad_date_flag", shown(&bad_date));
        insta::assert_snapshot!("truth_export_output_exists", shown(&export));
    });
}

#[test]
fn not_available_marks_are_no_value_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(sample_catalog(), d.join("catalog.json")).unwrap();
    std::fs::write(
        d.join("mapping.toml"),
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("export.csv"),
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,Output,120,-\n2025-03-04,Montage Süd,Output,n/a,130\n2025-03-05,Montage Süd,Output,#N/A,k.A.\n",
    )
    .unwrap();
    let args = [
        "import",
        "export.csv",
        "-m",
        "mapping.toml",
        "--catalog",
        "catalog.json",
        "--dry-run",
        "--notes",
    ];
    let r = in_dir(d, &args);
    // Two records planned with their valid values; the third row has no values at all.
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("2 planned with 2 values"), "{}", r.stdout);
    // Told that only "-" means no value, "n/a" is no number and rejects its row.
    std::fs::write(
        d.join("mapping.toml"),
        "[source]\nempty_values = [\"-\"]\n[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
    )
    .unwrap();
    let told = in_dir(d, &args);
    assert_eq!(told.code, 1, "{}", told.all());
    snapshots().bind(|| {
        insta::assert_snapshot!("truth_empty_values", shown(&r));
    });
}

#[test]
fn totals_rows_are_skipped_when_the_mapping_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(sample_catalog(), d.join("catalog.json")).unwrap();
    let columns = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n";
    std::fs::write(
        d.join("export.csv"),
        "Date,Team,KPI,Actual\n2025-03-03,Montage Süd,Output,120\n2025-03-03,Montage Nord,Output,80\n2025-03-03,Summe,Output,200\n,GESAMT,,200\n",
    )
    .unwrap();
    let args = [
        "import",
        "export.csv",
        "-m",
        "mapping.toml",
        "--catalog",
        "catalog.json",
        "--dry-run",
        "--notes",
    ];
    // Without the option, the totals rows are rejected every month.
    std::fs::write(d.join("mapping.toml"), columns).unwrap();
    let r = in_dir(d, &args);
    assert_eq!(r.code, 1, "{}", r.all());
    // With it, they are skipped and counted, and nothing is rejected.
    std::fs::write(
        d.join("mapping.toml"),
        format!(
            "[source]\nskip_rows_where = {{ \"Team\" = \"^(summe|gesamt|total)\" }}\n{columns}"
        ),
    )
    .unwrap();
    let r = in_dir(d, &args);
    assert_eq!(r.code, 0, "{}", r.all());
    snapshots().bind(|| insta::assert_snapshot!("truth_skip_rows_where", shown(&r)));
    // A pattern that is not one: one error at its line.
    std::fs::write(
        d.join("mapping.toml"),
        format!("[source]\nskip_rows_where = {{ \"Team\" = \"(summe\" }}\n{columns}"),
    )
    .unwrap();
    let bad = in_dir(d, &args);
    assert_eq!(bad.code, 2);
    assert!(
        bad.err()
            .contains("skip_rows_where \"Team\" is not a pattern"),
        "{}",
        bad.stderr
    );
}

#[test]
fn aliases_name_teams_and_kpis_the_way_the_export_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(sample_catalog(), d.join("catalog.json")).unwrap();
    std::fs::write(
        d.join("export.csv"),
        "Date,Team,KPI,Actual\n2025-03-03,MN,Ausbringung,120\n2025-03-03,ms,Output,80\n",
    )
    .unwrap();
    let mapping = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\n[aliases]\nteam = { \"MN\" = \"Montage Nord\", \"MS\" = \"Montage Süd\" }\nkpi = { \"Ausbringung\" = \"Output\" }\n";
    std::fs::write(d.join("mapping.toml"), mapping).unwrap();
    let args = [
        "import",
        "export.csv",
        "-m",
        "mapping.toml",
        "--catalog",
        "catalog.json",
        "--dry-run",
        "--format",
        "json",
    ];
    let r = in_dir(d, &args);
    assert_eq!(r.code, 0, "{}", r.all());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let teams: Vec<&str> = v["by_team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team"].as_str().unwrap())
        .collect();
    assert_eq!(teams, vec!["Montage Nord", "Montage Süd"]);
    assert_eq!(v["by_kpi"][0]["kpi"], "Output");
    assert_eq!(v["by_kpi"][0]["records"], 2);
    // An alias for a name the catalog does not have: one error before any row.
    std::fs::write(
        d.join("mapping.toml"),
        mapping.replace("\"Montage Nord\"", "\"Montage Nort\""),
    )
    .unwrap();
    let bad = in_dir(d, &args[..7]);
    assert_eq!(bad.code, 2);
    snapshots().bind(|| insta::assert_snapshot!("truth_alias_unknown", shown(&bad)));
}

#[test]
fn one_convention_for_json_output() {
    let file = root().join("samples/oee_semi_wide_de.csv");
    let file = file.to_str().unwrap();
    let a = run(vs(&["inspect", file, "--format", "json"]));
    let b = run(vs(&["inspect", file, "--json"]));
    assert_eq!(a.code, 0, "{}", a.all());
    assert_eq!(a.stdout, b.stdout);
    assert!(serde_json::from_str::<serde_json::Value>(&a.stdout).is_ok());
    let emu = Emulator::start(&[]);
    let a = run(vs(&["kpis", "--url", &emu.url, "--format", "json"]));
    let b = run(vs(&["kpis", "--url", &emu.url, "--json"]));
    assert_eq!(a.code, 0, "{}", a.all());
    assert_eq!(a.stdout, b.stdout);
    assert!(serde_json::from_str::<serde_json::Value>(&a.stdout).is_ok());
}
