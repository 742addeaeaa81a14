//! The peak resident memory a vsimport child logs at exit (`peak_rss_kb=`, its `VmHWM`, with
//! `RUST_LOG=vsimport=debug`): wait4's `ru_maxrss` also counts the parent's pages at the
//! spawn, which a bench that made a large input first would add to every child.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a child run with its debug log said.
pub struct Logged {
    pub status: ExitStatus,
    /// Read by the benches that parse it (a dry run's plan is only drained).
    #[allow(dead_code)]
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// From the spawn to its exit.
    pub took: Duration,
}

/// Runs `cmd` with `RUST_LOG=vsimport=debug` (so that it logs its peak; the API client's
/// line per request left out, which an import of 1M records would otherwise write a million
/// times into the time measured), reading both of its outputs (standard error on a thread of
/// its own, so that neither pipe fills).
pub fn run_logged(cmd: &mut Command) -> Logged {
    let started = Instant::now();
    let mut child = cmd
        .env("RUST_LOG", "vsimport=debug,vsimport::api=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vsimport");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        err
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("wait");
    let took = started.elapsed();
    let stderr = reader.join().expect("stderr reader");
    Logged {
        status,
        stdout,
        stderr,
        took,
    }
}

/// The peak in KB from a child's standard error.
pub fn peak_rss_kb(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.split("peak_rss_kb=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kb in: {stderr}"))
}
