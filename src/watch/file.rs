//! One file through the watch: a settled [`Candidate`] is moved into processing/ ([`take`]),
//! becoming an [`InHand`]; [`import`] runs the import pipeline on it and moves it, with its
//! reports, to done/ or failed/, giving a [`FileResult`]. A file whose trouble is not its
//! own (the server, the credentials, a broken mapping file) stays in processing/ and is
//! tried again; files left there by a watch that died are resumed through the upload
//! journal.
//!
//! Order, for crash safety: the reports are moved next to where the file will go, then the
//! file is renamed there, then its content is added to the ledger. A crash before the rename
//! leaves the file in processing/ (imported again on start: the journal finishes what was
//! cut off, and records already on the server are unchanged, so none is written twice).

use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::folders::{End, Folders, unique};
use super::ledger::{self, Ledger};
use super::outcome::{Counts, Ending, FileResult};
use super::scan::Candidate;
use crate::api::Client;
use crate::error::Error;
use crate::map::Mapping;
use crate::pipeline;
use crate::settings::watch::Watch;
use crate::upload::engine;

/// The reports that travel with a file: `report.json` becomes `NAME.report.json`, ...
const REPORTS: [&str; 5] = [
    "report.json",
    "report.html",
    "rejected.csv",
    "failed.csv",
    "failed.mapping.toml",
];

/// The suffixes a file's reports take beside it.
const COMPANIONS: [&str; 6] = [
    ".report.json",
    ".report.html",
    ".rejected.csv",
    ".failed.csv",
    ".failed.mapping.toml",
    ".checked.xlsx",
];

/// A file in processing/.
#[derive(Debug, Clone)]
pub(crate) struct InHand {
    pub(crate) path: PathBuf,
    pub(crate) sub: Option<String>,
    pub(crate) name: String,
    /// As it arrived, relative to ROOT.
    pub(crate) arrived_as: String,
    /// Found in processing/ when the watch started: an earlier watch had it in hand.
    pub(crate) left_over: bool,
    pub(crate) received: chrono::DateTime<chrono::Utc>,
}

/// What a file's import runs with.
pub(crate) struct Context<'a> {
    pub(crate) watch: &'a Watch,
    pub(crate) folders: &'a Folders,
    pub(crate) client: &'a Client,
    pub(crate) stop: &'a CancellationToken,
}

/// `path` relative to ROOT, for logs and reports.
pub(crate) fn relative(folders: &Folders, path: &Path) -> String {
    path.strip_prefix(&folders.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Moves a settled file from the inbox into processing/ (one rename: another process sees
/// it in one place or the other); `None` when it is gone.
pub(crate) fn take(folders: &Folders, c: &Candidate) -> Result<Option<InHand>, Error> {
    let mut dir = folders.processing.clone();
    if let Some(s) = &c.sub {
        dir.push(s);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
    let dest = unique(&dir, &c.name, &[]);
    match std::fs::rename(&c.path, &dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(c.path.display(), e)),
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| c.name.clone());
    Ok(Some(InHand {
        arrived_as: relative(folders, &c.path),
        path: dest,
        sub: c.sub.clone(),
        name,
        left_over: false,
        received: chrono::Utc::now(),
    }))
}

/// Files in processing/ (and its subfolders), oldest first.
pub(crate) fn in_processing(folders: &Folders) -> Vec<InHand> {
    let (mut files, _) = super::scan::list(&folders.processing);
    files.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.path.cmp(&b.path)));
    files
        .into_iter()
        .map(|c| {
            let mut arrived = folders.inbox.clone();
            if let Some(s) = &c.sub {
                arrived.push(s);
            }
            arrived.push(&c.name);
            InHand {
                arrived_as: relative(folders, &arrived),
                path: c.path,
                sub: c.sub,
                name: c.name,
                left_over: true,
                received: chrono::Utc::now(),
            }
        })
        .collect()
}

/// The mapping of a file: `inbox/NAME/mapping.toml` for a file from inbox/NAME/, else the
/// watch's; `None`: matched to the catalog.
pub(crate) fn mapping_path(w: &Watch, folders: &Folders, sub: Option<&str>) -> Option<PathBuf> {
    if let Some(s) = sub {
        let own = folders.inbox.join(s).join("mapping.toml");
        if own.is_file() {
            return Some(own);
        }
    }
    w.mapping.clone()
}

fn load_mapping(path: Option<PathBuf>) -> Result<Option<(Mapping, String)>, Error> {
    match path {
        Some(p) => Ok(Some((Mapping::load(&p)?, p.display().to_string()))),
        None => Ok(None),
    }
}

/// Whether a record's failure may pass (the connection, throttling, the server's own
/// trouble), so that the file waits rather than fails.
fn transient(o: &engine::Outcome) -> bool {
    match o {
        engine::Outcome::Failed { status, .. } => {
            status.is_none_or(|s| matches!(s, 408 | 429 | 500..=599))
        }
        engine::Outcome::NotSent { .. } => true,
        engine::Outcome::Done { .. } => false,
    }
}

/// Whether an error that stopped a file's import is the file's (it fails) or not (it waits).
fn files_fault(e: &Error) -> bool {
    matches!(
        e,
        Error::Read(_) | Error::Mapping { .. } | Error::Usage { .. }
    )
}

/// Imports a file in processing/ and moves it to where it ends.
pub(crate) async fn import(
    cx: &Context<'_>,
    ledger: &mut Ledger,
    f: &InHand,
) -> Result<FileResult, Error> {
    let started = Instant::now();
    let folders = cx.folders;
    let mut result = FileResult {
        file: f.arrived_as.clone(),
        ending: Ending::Checkpointed,
        now_at: relative(folders, &f.path),
        report: None,
        counts: Counts::default(),
        resumed: false,
        run: None,
        seconds: 0.0,
    };
    let sha = match ledger::hash_file(&f.path) {
        Ok(h) => h,
        Err(e) => {
            result.ending = Ending::Waiting { why: e.to_string() };
            return Ok(result);
        }
    };
    if !f.left_over
        && let Some(prev) = ledger.get(&sha)
    {
        result.ending = Ending::Duplicate {
            of: prev.name.clone(),
            at: prev.at,
        };
        let reports = folders.processing.join(format!(".reports-{}", &sha[..16]));
        crate::upload::state::ensure_dir(&reports)?;
        let doc = serde_json::json!({"version": 1});
        crate::persist::write_atomic(&reports.join("report.json"), format!("{doc}\n").as_bytes())?;
        finish(cx, f, &reports, End::Done, &mut result, started)?;
        return Ok(result);
    }
    let mapping = match load_mapping(mapping_path(cx.watch, folders, f.sub.as_deref())) {
        Ok(m) => m,
        Err(e) => {
            result.ending = Ending::Waiting {
                why: format!("the mapping cannot be used: {e}"),
            };
            return Ok(result);
        }
    };
    let reports = folders.processing.join(format!(".reports-{}", &sha[..16]));
    let import = cx.watch.import_for(&f.path, mapping, &reports, false);
    let run = pipeline::run(&import, Some(cx.client), cx.stop).await;
    let end = match run {
        Ok(o) => {
            let rejected = o.checked.findings.stats.rows_rejected;
            result.counts.rows_rejected = rejected;
            if let Some(w) = &o.written {
                result.counts.written = w.written;
                result.counts.unchanged = w.unchanged + w.already;
                result.counts.failed = w.failed;
                result.counts.not_sent = w.not_sent;
                result.resumed = w.resumed.is_some() || f.left_over;
                result.run = (w.written > 0).then(|| w.run.clone());
            }
            let failures: Vec<engine::Outcome> = o
                .written
                .iter()
                .flat_map(|w| w.unwritten().map(|(_, x)| x))
                .collect();
            let code = pipeline::exit_code(&o);
            if cx.stop.is_cancelled() && result.counts.not_sent > 0 {
                result.ending = Ending::Checkpointed;
                None
            } else if o.held_back {
                result.ending = Ending::Failed {
                    code: 1,
                    why: format!(
                        "{} rejected, and on_rejected = \"hold\": nothing written",
                        crate::report::count(rejected, "row", "rows")
                    ),
                };
                Some(End::Failed)
            } else if failures.iter().any(transient) {
                result.ending = Ending::Waiting {
                    why: format!(
                        "{} not written yet (the server did not take them)",
                        crate::report::count(failures.len() as u64, "record", "records")
                    ),
                };
                None
            } else if !failures.is_empty() {
                result.ending = Ending::Failed {
                    code: 1,
                    why: format!(
                        "the server refused {} (see the .failed.csv)",
                        crate::report::count(failures.len() as u64, "record", "records")
                    ),
                };
                Some(End::Failed)
            } else if o.checked.plan.is_empty() && rejected > 0 {
                result.ending = Ending::Failed {
                    code: 1,
                    why: format!(
                        "every row was rejected ({}; see the .rejected.csv)",
                        crate::report::count(rejected, "row", "rows")
                    ),
                };
                Some(End::Failed)
            } else {
                result.ending = Ending::Done { code };
                Some(End::Done)
            }
        }
        Err(Error::Interrupted { .. }) => {
            result.ending = Ending::Checkpointed;
            None
        }
        Err(e) if files_fault(&e) => {
            let code = e.exit_code();
            result.ending = Ending::Failed {
                code,
                why: first_line(&e.to_string()),
            };
            crate::upload::state::ensure_dir(&reports)?;
            crate::persist::write_atomic(
                &reports.join("report.json"),
                crate::report::error_document(&e, code).as_bytes(),
            )?;
            Some(End::Failed)
        }
        Err(e) => {
            result.ending = Ending::Waiting {
                why: first_line(&e.to_string()),
            };
            None
        }
    };
    match end {
        Some(end) => {
            finish(cx, f, &reports, end, &mut result, started)?;
            if end == End::Done {
                ledger.add(ledger::Entry {
                    sha256: sha,
                    name: f.arrived_as.clone(),
                    done: result.now_at.clone(),
                    at: chrono::Utc::now(),
                })?;
            }
        }
        None => {
            let _ = std::fs::remove_dir_all(&reports);
            result.seconds = started.elapsed().as_secs_f64();
        }
    }
    Ok(result)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}

/// Moves the file and its reports (from `reports`) to done/ or failed/, with the `watch`
/// section in its report.json.
fn finish(
    cx: &Context<'_>,
    f: &InHand,
    reports: &Path,
    end: End,
    result: &mut FileResult,
    started: Instant,
) -> Result<(), Error> {
    let folders = cx.folders;
    let today = chrono::Local::now().date_naive();
    let dir = folders.dated(end, today, f.sub.as_deref())?;
    let dest = unique(&dir, &f.name, &COMPANIONS);
    let base = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| f.name.clone());
    result.now_at = relative(folders, &dest);
    result.seconds = started.elapsed().as_secs_f64();
    let report_json = dir.join(format!("{base}.report.json"));
    result.report = Some(relative(folders, &report_json));
    for (from, suffix) in REPORTS.iter().zip(COMPANIONS) {
        let src = reports.join(from);
        if !src.is_file() {
            continue;
        }
        // An empty rejected.csv (the header alone) says nothing: not kept.
        if *from == "rejected.csv" && result.counts.rows_rejected == 0 {
            continue;
        }
        let to = dir.join(format!("{base}{suffix}"));
        if *from == "report.json" {
            let text = std::fs::read_to_string(&src).map_err(|e| Error::io(src.display(), e))?;
            let mut doc: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({}));
            if let Some(o) = doc.as_object_mut() {
                o.insert(
                    "watch".into(),
                    crate::report::watch::report_section(result, f.received),
                );
            }
            let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
            out.push('\n');
            crate::persist::write_atomic(&to, out.as_bytes())?;
        } else {
            std::fs::rename(&src, &to).map_err(|e| Error::io(src.display(), e))?;
        }
    }
    // `annotate = true`: the checked workbook, named after the file.
    for e in std::fs::read_dir(reports).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().ends_with(".checked.xlsx") {
            let to = dir.join(format!("{base}.checked.xlsx"));
            std::fs::rename(e.path(), &to).map_err(|err| Error::io(e.path().display(), err))?;
        }
    }
    std::fs::rename(&f.path, &dest).map_err(|e| Error::io(f.path.display(), e))?;
    let _ = std::fs::remove_dir_all(reports);
    Ok(())
}
