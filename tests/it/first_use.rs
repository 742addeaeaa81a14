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
            "import", "c.csv", "-m", "m.toml", "--catalog", "catalog.json", "--dry-run",
            "--report", "rep",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert_eq!(r.stderr.matches("vsimport::dedupe::conflict").count(), 1);
    assert!(r.stdout.contains("4 read, 3 rejected"), "{}", r.stdout);
    // Every row of the conflict is in rejected.csv with the reason.
    let rejected = std::fs::read_to_string(d.join("rep/rejected.csv")).unwrap();
    assert_eq!(rejected.matches("has 80 in row 2, 85 in row 3, 90 in row 4").count(), 3);
    snapshots().bind(|| insta::assert_snapshot!("conflict_once", shown(&r)));
}
