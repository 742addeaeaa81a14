//! `vsimport demo`, the README's first command.

use crate::harness::*;

#[test]
fn demo_runs_on_the_bundled_emulator() {
    let out = tempfile::tempdir().unwrap();
    let r = run(
        vs(&["demo", "--catalog", sample_catalog().to_str().unwrap()])
            .arg("--samples")
            .arg(root().join("samples"))
            .arg("--out")
            .arg(out.path())
            .env_remove("VS_USER")
            .env_remove("VS_PASSWORD"),
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr
            .contains("demo: emulator listening on http://127.0.0.1:")
    );
    // Every sample: a dry run with diff (all new), then the import (all written).
    for (sample, records) in [
        ("oee_semi_wide_de", 72),
        ("weekly_safety_wide", 48),
        ("shift_times", 4),
    ] {
        assert!(
            r.stdout.contains(&format!(
                "Compared with the server: {records} new, 0 changed"
            )),
            "{sample}: {}",
            r.stdout
        );
        assert!(
            r.stdout
                .contains(&format!(": {records} records; 0 unchanged")),
            "{sample}: {}",
            r.stdout
        );
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join(sample).join("report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(report["summary"]["records_written"], records);
        assert_eq!(report["mode"], "import");
    }
    assert!(
        r.stderr
            .contains("the emulator held 124 records when it stopped"),
        "{}",
        r.stderr
    );
}
