//! What became of a file in the watch ([`FileResult`]), and the other things a watch logs
//! ([`Event`]): plain data, rendered for people and for the log by `report::watch`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// How a file ended (for now: a waiting file is tried again).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub(crate) enum Ending {
    /// Imported: to done/. `code` as `import`'s exit code (0, 1 with rejected rows, 3 nothing
    /// in it to write).
    Done { code: u8 },
    /// The same content as a file imported before: to done/, nothing sent.
    Duplicate {
        of: String,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Could not be imported as it is (not a spreadsheet, columns the mapping does not fit,
    /// rows rejected under `on_rejected = "hold"`, records the server refused): to failed/.
    Failed { code: u8, why: String },
    /// Not the file's fault (the server down, credentials, a broken mapping file): it stays
    /// in processing/ and is tried again.
    Waiting { why: String },
    /// Stopped by SIGINT/SIGTERM while writing: the journal is kept, and the next start
    /// finishes it.
    Checkpointed,
}

impl Ending {
    /// The exit code this file gives `--once`.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Ending::Done { code } | Ending::Failed { code, .. } => *code,
            Ending::Duplicate { .. } | Ending::Checkpointed => 0,
            Ending::Waiting { .. } => 2,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Ending::Done { .. } => "done",
            Ending::Duplicate { .. } => "duplicate",
            Ending::Failed { .. } => "failed",
            Ending::Waiting { .. } => "waiting",
            Ending::Checkpointed => "checkpointed",
        }
    }
}

/// The worse of two exit codes: 2 (failed) over 1 (partly) over 3 (nothing to do) over 0.
pub(crate) fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        0 => 0,
        3 => 1,
        1 => 2,
        _ => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Record counts of a file's import.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Counts {
    pub(crate) written: u64,
    pub(crate) unchanged: u64,
    pub(crate) rows_rejected: u64,
    pub(crate) failed: u64,
    pub(crate) not_sent: u64,
}

/// One file through the watch.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileResult {
    /// As it arrived, relative to ROOT (`inbox/weekly/export.csv`).
    pub(crate) file: String,
    #[serde(flatten)]
    pub(crate) ending: Ending,
    /// Where the file is now, relative to ROOT.
    pub(crate) now_at: String,
    /// Its report.json, relative to ROOT (none while it waits).
    pub(crate) report: Option<String>,
    pub(crate) counts: Counts,
    /// A run that an earlier, interrupted watch had started was finished.
    pub(crate) resumed: bool,
    /// The undo id, when records were written.
    pub(crate) run: Option<String>,
    pub(crate) seconds: f64,
}

/// What a watch logs besides files.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    Started {
        root: PathBuf,
        host: String,
        pid: u32,
        /// The stale lock taken over, if any.
        took_over: Option<String>,
        once: bool,
    },
    File(FileResult),
    /// A file in processing/ waits; tried again after `retry_in`.
    RetryLater {
        file: String,
        retry_in: Duration,
    },
    /// Done folders removed by `--keep-days`.
    Pruned {
        folders: usize,
    },
    /// The `--on-file-done` command failed.
    HookFailed {
        file: String,
        message: String,
    },
    /// The change events are not available; the inbox is looked at every rescan interval.
    NoEvents {
        message: String,
    },
    Stopped {
        done: u64,
        failed: u64,
        waiting: u64,
    },
}
