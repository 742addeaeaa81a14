//! The CLI reference (man/vsimport.1, docs/CLI.md) is current; completions and --version.

use crate::harness::*;

#[test]
fn cli_reference_is_current() {
    let (man, md) = vsimport::cli_reference();
    let man_path = root().join("man/vsimport.1");
    let md_path = root().join("docs/CLI.md");
    if std::env::var_os("VSIMPORT_BLESS").is_some() {
        std::fs::create_dir_all(root().join("man")).unwrap();
        std::fs::write(&man_path, &man).unwrap();
        std::fs::write(&md_path, &md).unwrap();
        return;
    }
    let stale = "out of date: run `VSIMPORT_BLESS=1 cargo test --test it cli_reference` and commit";
    assert!(
        std::fs::read(&man_path).is_ok_and(|b| b == man),
        "man/vsimport.1 is {stale}"
    );
    assert!(
        std::fs::read_to_string(&md_path).is_ok_and(|t| t == md),
        "docs/CLI.md is {stale}"
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = run(vs(&["completions", shell]));
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("vsimport"), "{shell}");
        assert!(
            r.stdout.contains("--dry-run"),
            "{shell}: flags of subcommands"
        );
    }
    // The bash script parses.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("vsimport.bash");
    std::fs::write(&script, run(vs(&["completions", "bash"])).stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let bad = run(vs(&["completions", "tcsh"]));
    assert_eq!(bad.code, 2);
    snapshots().bind(|| insta::assert_snapshot!("completions_unknown_shell", bad.stderr));
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let r = run(vs(&["--version"]));
    assert_eq!(r.code, 0);
    let v = r.stdout.trim();
    let rest = v
        .strip_prefix(concat!("vsimport ", env!("CARGO_PKG_VERSION"), " (commit "))
        .unwrap_or_else(|| panic!("{v}"));
    let (commit, date) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(", built "))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{v}"
    );
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        "{v}"
    );
}
