//! `vsimport demo`, the README's first command.

use crate::harness::*;

#[test]
fn demo_runs_on_the_bundled_emulator() {
    let r = run(
        vs(&["demo", "--catalog", sample_catalog().to_str().unwrap()])
            .env_remove("VS_USER")
            .env_remove("VS_PASSWORD"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("demo: emulator listening on http://127.0.0.1:")
    );
    assert!(r.stdout.contains("Shift start"));
    assert!(r.stdout.ends_with("26 KPIs, 12 teams\n"));
}
