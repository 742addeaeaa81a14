//! Every shell command in README.md and docs/ runs as the page says: each file's fenced `sh`
//! blocks are run in order as one script (so an `export` or a background emulator carries
//! on to the next block, as for a reader following the page), in a fresh directory holding a
//! copy of samples/, with `vsimport` (and `cargo run --`) being the binary under test. A
//! command must exit 0 unless a `# exit N` comment beside it says otherwise.
//!
//! Placeholders (`STATE/runs/ID`, `--tenant acme`) go in `text` blocks, which are not run.
//! docs/PERFORMANCE.md is left out: its `sh` blocks are benchmark recipes that need gigabytes
//! of generated inputs and a release build (`cargo bench` runs them).

use std::path::Path;

use crate::harness::*;

/// The `sh` blocks of a markdown page: (line of the fence, the block's lines).
fn sh_blocks(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```sh" => current = Some((n + 1, Vec::new())),
            None => {}
            Some(_) if line.trim() == "```" => out.extend(current.take()),
            Some((_, lines)) => lines.push(line.to_string()),
        }
    }
    out
}

/// A command's expected exit code: `# exit N` beside it, else 0.
fn expected(command: &str) -> i32 {
    command
        .rsplit_once("# exit ")
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The page as one bash script that stops at the first command exiting otherwise than the
/// page says, naming it.
fn script(page: &str, blocks: &[(usize, Vec<String>)], port: u16) -> String {
    let mut s = String::from(
        r#"set -u
vsimport() { "$VSIMPORT_BIN" "$@"; }
cargo() {
  if [ "$1" = run ]; then shift; [ "${1:-}" = "--" ] && shift; vsimport "$@"
  else echo "(not run by the docs test: cargo $*)"; fi
}
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
"#,
    );
    for (fence, lines) in blocks {
        // Lines ending in a backslash continue on the next.
        let mut commands: Vec<(usize, String)> = Vec::new();
        let mut pending: Option<(usize, String)> = None;
        for (i, line) in lines.iter().enumerate() {
            let line = line.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
            let (start, mut text) = pending.take().unwrap_or((fence + 1 + i, String::new()));
            if let Some(head) = line.trim_end().strip_suffix('\\') {
                text.push_str(head);
                pending = Some((start, text));
                continue;
            }
            text.push_str(&line);
            commands.push((start, text));
        }
        for (line, command) in commands {
            let code = command.trim();
            if code.is_empty() || code.starts_with('#') {
                continue;
            }
            let shown = code.replace('\'', "'\\''");
            let before_comment = code.split(" #").next().unwrap_or(code).trim_end();
            if let Some(background) = before_comment.strip_suffix('&') {
                // A server in the background (its output to a file, so that it holds none of
                // the script's pipes): wait until it listens.
                s.push_str(&format!(
                    "{background} >>background.log 2>&1 &\nfor _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done\n"
                ));
                continue;
            }
            let want = expected(code);
            s.push_str(&format!(
                "{code}\n__rc=$?; if [ \"$__rc\" != {want} ]; then echo '{page}:{line}: exit '\"$__rc\"', the page says {want}: {shown}' >&2; exit 99; fi\n"
            ));
        }
    }
    s
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn pages() -> Vec<String> {
    let mut pages = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".md") && n != "PERFORMANCE.md")
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

#[test]
fn every_documented_command_runs_as_the_page_says() {
    let mut ran = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(root().join(&page)).unwrap();
        let blocks: Vec<_> = sh_blocks(&text)
            .into_iter()
            .filter(|(_, lines)| {
                lines
                    .iter()
                    .any(|l| l.contains("vsimport ") || l.contains("cargo run --"))
            })
            .collect();
        if blocks.is_empty() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        copy_dir(&root().join("samples"), &dir.path().join("samples"));
        let script = script(&page, &blocks, free_port());
        std::fs::write(dir.path().join("page.sh"), &script).unwrap();
        let out = std::process::Command::new("timeout")
            .args(["-k", "5", "120", "bash", "page.sh"])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("NO_COLOR", "1")
            .env("VSIMPORT_BIN", env!("CARGO_BIN_EXE_vsimport"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{page}: {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran.push(page);
    }
    // The pages with commands to try: none may drop out of the test unnoticed.
    for page in ["README.md", "docs/GETTING-STARTED.md", "docs/EXIT-CODES.md"] {
        assert!(ran.contains(&page.to_string()), "{page} ran: {ran:?}");
    }
}

#[test]
fn a_command_exiting_otherwise_than_its_page_says_fails_the_script() {
    let blocks = vec![(
        1,
        vec!["vsimport explain date::ambiguous   # exit 1".to_string()],
    )];
    let s = script("page.md", &blocks, 1);
    let out = std::process::Command::new("bash")
        .args(["-c", &s])
        .env("VSIMPORT_BIN", env!("CARGO_BIN_EXE_vsimport"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(99));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("page.md:2: exit 0, the page says 1: vsimport explain date::ambiguous"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
