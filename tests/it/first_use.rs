//! A new user's first runs: one message per conflict, `mapping init` on real exports, the
//! templates and the demo from an installed binary, past runs, and stopping a run.

use crate::harness::*;

/// `vsimport ARGS` run in `dir` (relative paths: messages wrap the same wherever it is).
fn in_dir(dir: &std::path::Path, args: &[&str]) -> Run {
    let mut c = vs(args);
    c.current_dir(dir);
    run(c)
}

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
