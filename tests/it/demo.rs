//! `vsimport demo`, the README's first command: one short story, from any directory.

use crate::harness::*;

#[test]
fn demo_tells_one_short_story_outside_the_checkout() {
    let out = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let mut c = vs(&["demo", "--out"]);
    c.arg(out.path())
        .current_dir(cwd.path())
        .env_remove("VS_USER")
        .env_remove("VS_PASSWORD");
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.lines().count() < 40, "{}", r.stdout);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    // Last week's 9 records on the server: 2 of them differ, 7 are the same.
    assert!(
        r.stdout
            .contains("Compared with the server: 63 new, 2 changed, 7 unchanged")
    );
    assert!(
        r.stdout
            .contains(": 65 records; 7 unchanged (not sent); 0 failed")
    );
    assert!(r.stdout.contains("Nothing to send to http://127.0.0.1:"));
    // No undo id for an emulator that is gone when the demo ends; the plan is shown once.
    assert!(!r.stdout.contains("vsimport undo"), "{}", r.stdout);
    assert_eq!(r.stdout.matches("Plan for").count(), 1);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["summary"]["records_written"], 65);
    assert_eq!(report["mode"], "import");
    // The samples are written out for the user to try.
    assert!(out.path().join("samples/oee_semi_wide_de.csv").exists());
    snapshots().bind(|| insta::assert_snapshot!("demo_story", shown(&r)));
}
