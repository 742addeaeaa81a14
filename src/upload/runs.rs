//! Past runs in the state directory: the run directories listed as [`PastRun`]s (newest
//! first) for `vsimport runs` and `undo --last`, and [`prune`] removing run directories and
//! journals older than a cut-off.

use std::path::{Path, PathBuf};

use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::undo;
use crate::error::Error;

/// One past import, as its run directory tells it. A field is `None` where the file that
/// holds it is missing or unreadable (an import stopped before it wrote any).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PastRun {
    pub(crate) id: String,
    /// When it started (UTC, from the id), RFC 3339.
    pub(crate) started: String,
    #[serde(skip)]
    pub(crate) at: NaiveDateTime,
    /// Orders runs started in the same second.
    #[serde(skip)]
    modified: Option<std::time::SystemTime>,
    pub(crate) file: Option<String>,
    pub(crate) server: Option<String>,
    pub(crate) written: Option<u64>,
    pub(crate) failed: Option<u64>,
    pub(crate) not_sent: Option<u64>,
    /// Records the undo data covers (0: nothing to undo).
    pub(crate) undo_records: Option<u64>,
    pub(crate) undone: bool,
    #[serde(skip)]
    pub(crate) dir: PathBuf,
}

/// undo.json without its records (they are skipped, not kept).
#[derive(Deserialize)]
struct UndoHead {
    url: String,
    file: String,
    records: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ReportHead {
    summary: ReportSummary,
}

#[derive(Deserialize)]
struct ReportSummary {
    records_written: Option<u64>,
    records_failed: Option<u64>,
    records_not_sent: Option<u64>,
}

/// The time in a run id (`YYYYMMDD-HHMMSS-xxxx`), `None` for a directory not named like one.
pub(crate) fn id_time(id: &str) -> Option<NaiveDateTime> {
    let (stamp, rand) = id.rsplit_once('-')?;
    if rand.len() != 4 || !rand.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S").ok()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Every run directory under `state/runs`, newest first.
pub(crate) fn list(state: &Path) -> Result<Vec<PastRun>, Error> {
    let dir = state.join("runs");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir.display(), e)),
    };
    let mut runs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
        // Only directories named like a run id; a planted link or stray file is left alone.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let id = entry.file_name().to_string_lossy().into_owned();
        let Some(at) = id_time(&id).filter(|_| is_dir) else {
            continue;
        };
        let path = entry.path();
        let modified = entry.metadata().and_then(|m| m.modified()).ok();
        let head: Option<UndoHead> = read_json(&path.join("undo.json"));
        let report: Option<ReportHead> = read_json(&path.join("report.json"));
        let summary = report.map(|r| r.summary);
        runs.push(PastRun {
            id,
            started: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            at,
            modified,
            file: head.as_ref().map(|h| h.file.clone()),
            server: head.as_ref().map(|h| h.url.clone()),
            written: summary.as_ref().and_then(|s| s.records_written),
            failed: summary.as_ref().and_then(|s| s.records_failed),
            not_sent: summary.as_ref().and_then(|s| s.records_not_sent),
            undo_records: head.as_ref().map(|h| h.records.len() as u64),
            undone: undo::undone_marker(&path).exists(),
            dir: path,
        });
    }
    runs.sort_by(|a, b| (b.at, b.modified, &b.id).cmp(&(a.at, a.modified, &a.id)));
    Ok(runs)
}

/// The newest run that wrote something (what `undo --last` undoes).
pub(crate) fn last_written(state: &Path) -> Result<PastRun, Error> {
    list(state)?
        .into_iter()
        .find(|r| r.undo_records.unwrap_or(0) > 0)
        .ok_or_else(|| Error::Usage {
            message: format!("no import in {} wrote anything", state.display()),
            help: Some(
                "`vsimport runs` lists the imports; pass --state-dir if they used another".into(),
            ),
        })
}

/// What [`prune`] removed (or, with `dry_run`, would remove).
#[derive(Debug, Default)]
pub(crate) struct Pruned {
    pub(crate) runs: Vec<String>,
    pub(crate) journals: usize,
    pub(crate) cutoff: Option<NaiveDateTime>,
}

/// Removes run directories started before `now - older_than`, and journals (interrupted
/// runs that can no longer usefully be finished) last written before then.
pub(crate) fn prune(
    state: &Path,
    older_than: std::time::Duration,
    dry_run: bool,
) -> Result<Pruned, Error> {
    let age = chrono::Duration::from_std(older_than).map_err(|_| Error::Usage {
        message: "--older-than is too long".into(),
        help: Some("use e.g. 90d or 1y".into()),
    })?;
    let cutoff = Utc::now()
        .naive_utc()
        .checked_sub_signed(age)
        .ok_or_else(|| Error::Usage {
            message: "--older-than reaches before the calendar".into(),
            help: Some("use e.g. 90d or 1y".into()),
        })?;
    let mut out = Pruned {
        cutoff: Some(cutoff),
        ..Pruned::default()
    };
    for run in list(state)? {
        if run.at < cutoff {
            if !dry_run {
                // remove_dir_all does not follow symbolic links inside the directory.
                std::fs::remove_dir_all(&run.dir).map_err(|e| Error::io(run.dir.display(), e))?;
            }
            out.runs.push(run.id);
        }
    }
    out.runs.reverse();
    let journals = state.join("journals");
    if let Ok(entries) = std::fs::read_dir(&journals) {
        let limit = std::time::SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(std::time::UNIX_EPOCH);
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let is_journal = meta.is_file()
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.ends_with(".jsonl"));
            if is_journal && meta.modified().is_ok_and(|m| m < limit) {
                if !dry_run {
                    let path = entry.path();
                    std::fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                }
                out.journals += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_carry_their_time() {
        let t = id_time("20261128-101500-3fa2").unwrap();
        assert_eq!(t.to_string(), "2026-11-28 10:15:00");
        assert!(id_time("20261128-101500").is_none());
        assert!(id_time("notes").is_none());
        assert!(id_time("20261128-101500-zzzz").is_none());
    }
}
