//! What `vsimport watch` says: one log line per event (text or JSON), the `--check`
//! listing, and the notes beside a file's report.

use std::fmt::Write;

use serde_json::json;

use crate::watch::outcome::{Ending, Event, FileResult};

use super::{count, thousands};

/// One event as a log line (no newline): `2026-12-01 17:30:15 done inbox/x.csv: ...`.
pub(crate) fn line(event: &Event, at: chrono::DateTime<chrono::Utc>) -> String {
    let time = at.format("%Y-%m-%d %H:%M:%S");
    match event {
        Event::Started {
            root,
            host,
            pid,
            took_over,
            once,
        } => {
            let mut s = format!(
                "{time} started watching {} (host {host}, pid {pid}){}",
                root.display(),
                if *once { ", once" } else { "" }
            );
            if let Some(t) = took_over {
                let _ = write!(s, "; took over a stale lock ({t})");
            }
            s
        }
        Event::File(f) => format!("{time} {}", file_line(f)),
        Event::RetryLater { file, retry_in } => format!(
            "{time} waiting {file}: tried again in {} s",
            retry_in.as_secs().max(1)
        ),
        Event::Pruned { folders } => format!(
            "{time} pruned {} older than --keep-days",
            count(*folders as u64, "done folder", "done folders")
        ),
        Event::HookFailed { file, message } => {
            format!("{time} warning {file}: --on-file-done failed: {message}")
        }
        Event::NoEvents { message } => format!(
            "{time} warning no change events ({message}); the inbox is looked at every rescan interval"
        ),
        Event::Stopped {
            done,
            failed,
            waiting,
        } => format!(
            "{time} stopped: {} done, {} failed, {} waiting in processing/",
            thousands(*done),
            thousands(*failed),
            thousands(*waiting)
        ),
    }
}

/// A file's outcome, without the time.
pub(crate) fn file_line(f: &FileResult) -> String {
    let c = &f.counts;
    let resumed = if f.resumed { " (resumed)" } else { "" };
    match &f.ending {
        Ending::Done { .. } => {
            let mut s = format!(
                "done {}: {} written, {} unchanged",
                f.file,
                thousands(c.written),
                thousands(c.unchanged)
            );
            if c.rows_rejected > 0 {
                let _ = write!(s, ", {} rejected", count(c.rows_rejected, "row", "rows"));
            }
            let _ = write!(s, "{resumed} -> {}", f.now_at);
            s
        }
        Ending::Duplicate { of, at } => format!(
            "duplicate {}: the same content as {of}, imported {}; nothing sent -> {}",
            f.file,
            at.format("%Y-%m-%d %H:%M UTC"),
            f.now_at
        ),
        Ending::Failed { why, .. } => format!("failed {}: {why}{resumed} -> {}", f.file, f.now_at),
        Ending::Waiting { why } => format!("waiting {}: {why}", f.file),
        Ending::Checkpointed => format!(
            "stopped {}: {} written so far; the next start finishes it",
            f.file,
            thousands(c.written)
        ),
    }
}

/// One event as a JSON log line (no newline).
pub(crate) fn json_line(event: &Event, at: chrono::DateTime<chrono::Utc>) -> String {
    let time = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let v = match event {
        Event::Started {
            root,
            host,
            pid,
            took_over,
            once,
        } => {
            json!({"time": time, "event": "started", "root": root.display().to_string(), "host": host, "pid": pid, "took_over": took_over, "once": once})
        }
        Event::File(f) => {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("time".into(), json!(time));
                o.insert("event".into(), json!("file"));
            }
            v
        }
        Event::RetryLater { file, retry_in } => {
            json!({"time": time, "event": "retry_later", "file": file, "retry_in_secs": retry_in.as_secs()})
        }
        Event::Pruned { folders } => json!({"time": time, "event": "pruned", "folders": folders}),
        Event::HookFailed { file, message } => {
            json!({"time": time, "event": "hook_failed", "file": file, "message": message})
        }
        Event::NoEvents { message } => {
            json!({"time": time, "event": "no_events", "message": message})
        }
        Event::Stopped {
            done,
            failed,
            waiting,
        } => {
            json!({"time": time, "event": "stopped", "done": done, "failed": failed, "waiting": waiting})
        }
    };
    v.to_string()
}

/// What `watch --check` found, one line per item.
#[derive(Debug, Default)]
pub(crate) struct Check {
    /// (what, result) of each setting checked: "ok" or the problem.
    pub(crate) checks: Vec<(String, Result<String, String>)>,
    /// Files that would be taken now.
    pub(crate) now: Vec<String>,
    /// Files still being written.
    pub(crate) settling: Vec<String>,
    /// Files whose content was imported before: (file, the earlier one).
    pub(crate) duplicates: Vec<(String, String)>,
    /// Files in processing/ that the next start resumes.
    pub(crate) resumed: Vec<String>,
    /// Entries left alone, and why.
    pub(crate) ignored: Vec<(String, &'static str)>,
}

impl Check {
    pub(crate) fn ok(&self) -> bool {
        self.checks.iter().all(|(_, r)| r.is_ok())
    }
}

/// The `--check` listing.
pub(crate) fn check(c: &Check) -> String {
    let mut s = String::new();
    for (what, r) in &c.checks {
        match r {
            Ok(detail) => {
                let _ = writeln!(s, "ok       {what}: {detail}");
            }
            Err(problem) => {
                let _ = writeln!(s, "PROBLEM  {what}: {problem}");
            }
        }
    }
    let _ = writeln!(s);
    let list = |s: &mut String, title: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(s, "{title}:");
            for i in items {
                let _ = writeln!(s, "  {i}");
            }
        }
    };
    list(&mut s, "would be resumed (in processing/)", &c.resumed);
    list(&mut s, "would be imported now", &c.now);
    list(
        &mut s,
        "still being written (taken once settled)",
        &c.settling,
    );
    let dups: Vec<String> = c
        .duplicates
        .iter()
        .map(|(f, of)| format!("{f}: the same content as {of}; would go to done/ unsent"))
        .collect();
    list(&mut s, "already imported", &dups);
    let ign: Vec<String> = c
        .ignored
        .iter()
        .map(|(f, why)| format!("{f}: {why}"))
        .collect();
    list(&mut s, "left alone", &ign);
    if c.now.is_empty() && c.resumed.is_empty() && c.settling.is_empty() && c.duplicates.is_empty()
    {
        let _ = writeln!(s, "the inbox is empty: nothing would be imported now");
    }
    if !c.ok() {
        let _ = writeln!(s, "\nfix the problems above, then run vsimport watch again");
    }
    s
}

/// The `watch` section added to a file's report.json.
pub(crate) fn report_section(
    f: &FileResult,
    received: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    json!({
        "file": f.file,
        "received": received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "outcome": f.ending.name(),
        "detail": file_line(f),
        "moved_to": f.now_at,
        "resumed": f.resumed,
    })
}
