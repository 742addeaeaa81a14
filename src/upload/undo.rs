//! Undo data: before an import writes, the previous values of every record it will send are
//! saved in its run directory (`STATE/runs/ID/undo.json`). Undoing an import ([`UndoPlan`],
//! [`undo`]) puts them back and deletes the records the import created; records changed
//! since are left alone unless forced.
//!
//! The API cannot remove a single value from a record, so a value slot that the import added
//! to an existing record stays; the plan says how many there are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use super::engine::{self, Op, Outcome, Task};
use crate::api::{Client, RecordBody, RecordKey, RecordValue};
use crate::catalog::CatalogIndex;
use crate::error::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UndoFile {
    pub(crate) version: u32,
    pub(crate) run: String,
    /// When the import started (RFC 3339).
    pub(crate) created: String,
    /// The API base the import wrote to.
    pub(crate) url: String,
    pub(crate) file: String,
    /// Whether the server's values were read before writing; without them (`--compare
    /// never`) there is nothing to restore, and undo refuses.
    #[serde(default = "yes")]
    pub(crate) compared: bool,
    pub(crate) records: Vec<UndoRecord>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UndoRecord {
    #[serde(flatten)]
    pub(crate) key: RecordKey,
    /// The server's values before the import; `None` when the import created the record.
    pub(crate) before: Option<Vec<RecordValue>>,
    /// The values the import sent.
    pub(crate) after: Vec<RecordValue>,
}

/// `STATE/runs/ID`.
pub(crate) fn run_dir(state: &Path, id: &str) -> PathBuf {
    state.join("runs").join(id)
}

fn check_id(id: &str) -> Result<(), Error> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::Usage {
            message: format!("{id:?} is not an import id"),
            help: Some(
                "an import prints its id, e.g. `undo: vsimport undo 20261128-101500-3fa2`".into(),
            ),
        });
    }
    Ok(())
}

/// Writes `undo` (an [`UndoFile`], or a [`UndoView`] with the same fields) as `undo.json` in
/// `dir`, streamed to the file: as one string the undo data of 1M records took 330 MB.
pub(crate) fn save(dir: &Path, undo: &impl Serialize) -> Result<PathBuf, Error> {
    super::state::ensure_dir(dir)?;
    let path = dir.join("undo.json");
    crate::persist::write_atomic_with(&path, |w| {
        serde_json::to_writer(w, undo).map_err(std::io::Error::other)
    })?;
    Ok(path)
}

/// An [`UndoRecord`] made from what is about to be sent.
#[derive(Serialize)]
pub(crate) struct UndoRecordRef<'a> {
    #[serde(flatten)]
    pub(crate) key: RecordKey,
    pub(crate) before: Option<&'a [RecordValue]>,
    pub(crate) after: After<'a>,
}

/// The values an [`UndoRecordRef`] sends: an earlier run's, borrowed, or a task's body, shared.
pub(crate) enum After<'a> {
    Borrowed(&'a [RecordValue]),
    Shared(Arc<[RecordValue]>),
}

impl Serialize for After<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            After::Borrowed(v) => v.serialize(s),
            After::Shared(v) => v[..].serialize(s),
        }
    }
}

/// An [`UndoFile`] whose records are written from borrowed parts as they are serialised
/// (at 1M records, collecting them first held two copies of every record's values: 300 MB).
#[derive(Serialize)]
#[serde(bound = "Records<I>: Serialize")]
pub(crate) struct UndoView<'a, I> {
    pub(crate) version: u32,
    pub(crate) run: &'a str,
    pub(crate) created: &'a str,
    pub(crate) url: &'a str,
    pub(crate) file: &'a str,
    pub(crate) compared: bool,
    pub(crate) records: Records<I>,
}

/// Records to serialise from an iterator, once.
pub(crate) struct Records<I>(pub(crate) std::cell::Cell<Option<I>>);

impl<'a, I: Iterator<Item = UndoRecordRef<'a>>> Serialize for Records<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.take().into_iter().flatten())
    }
}

pub(crate) fn load(state: &Path, id: &str) -> Result<UndoFile, Error> {
    check_id(id)?;
    let path = run_dir(state, id).join("undo.json");
    let text = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Usage {
                message: format!("no import with id {id} in {}", state.display()),
                help: Some(format!(
                    "the ids are the directory names under {}; pass --state-dir if the import used another",
                    state.join("runs").display()
                )),
            }
        } else {
            Error::io(path.display(), e)
        }
    })?;
    serde_json::from_slice(&text)
        .map_err(|e| Error::io(path.display(), format!("not undo data: {e}")))
}

/// What undoing an import will do.
pub(crate) struct UndoPlan {
    pub(crate) file: UndoFile,
    pub(crate) tasks: Vec<Task>,
    pub(crate) to_restore: u64,
    pub(crate) to_delete: u64,
    /// Records the import created that are gone already.
    pub(crate) gone: u64,
    /// Records changed after the import (left alone without `force`), and a few of their keys.
    pub(crate) skipped: u64,
    pub(crate) skipped_examples: Vec<String>,
    /// Values the import added to existing records (they stay: the API cannot remove one).
    pub(crate) added_slots: u64,
}

impl UndoPlan {
    /// Compares the import's records with the server's now.
    pub(crate) async fn new(
        client: &Client,
        index: &CatalogIndex,
        file: UndoFile,
        force: bool,
    ) -> Result<UndoPlan, Error> {
        if !file.compared {
            return Err(Error::Usage {
                message: format!(
                    "import {} was written without reading the server's values first (--compare never), so there is nothing to put back",
                    file.run
                ),
                help: Some(format!(
                    "the records it sent are in runs/{}/undo.json under the state directory; import a file with the right values to correct them",
                    file.run
                )),
            });
        }
        let keys: Vec<RecordKey> = file.records.iter().map(|r| r.key).collect();
        let current = super::compare::read_current(client, index, keys.len(), &|i| keys[i]).await?;
        let mut p = UndoPlan {
            file: UndoFile {
                records: Vec::new(),
                ..file.clone()
            },
            tasks: Vec::new(),
            to_restore: 0,
            to_delete: 0,
            gone: 0,
            skipped: 0,
            skipped_examples: Vec::new(),
            added_slots: 0,
        };
        for r in &file.records {
            let cur = current.get(&r.key);
            let ours = cur.is_some_and(|c| super::compare::holds(c, &r.after));
            if !ours && !force {
                // Changed (or deleted) by someone else since the import.
                if r.before.is_none() && cur.is_none() {
                    p.gone += 1;
                } else {
                    p.skipped += 1;
                    if p.skipped_examples.len() < 10 {
                        p.skipped_examples.push(r.key.path());
                    }
                }
                continue;
            }
            match &r.before {
                None if cur.is_none() => p.gone += 1,
                None => {
                    p.to_delete += 1;
                    p.tasks.push(Task {
                        key: r.key,
                        op: Op::Delete,
                    });
                }
                Some(before) => {
                    p.added_slots += r
                        .after
                        .iter()
                        .filter(|a| {
                            !before.iter().any(|b| {
                                b.kpi_value_id == a.kpi_value_id && b.forecast == a.forecast
                            })
                        })
                        .count() as u64;
                    p.to_restore += 1;
                    p.tasks.push(Task {
                        key: r.key,
                        op: Op::Put(RecordBody {
                            values: before.as_slice().into(),
                        }),
                    });
                }
            }
        }
        p.file = file;
        Ok(p)
    }
}

/// What an undo did.
#[derive(Debug, Serialize)]
pub(crate) struct Undone {
    pub(crate) at: String,
    pub(crate) restored: u64,
    pub(crate) deleted: u64,
    pub(crate) skipped: u64,
    pub(crate) failed: u64,
    #[serde(skip)]
    pub(crate) seconds: f64,
    /// Records that could not be undone, and why.
    #[serde(skip)]
    pub(crate) problems: Vec<(String, String)>,
}

/// Carries out an undo plan; when everything was undone, marks the run as undone.
pub(crate) async fn undo(
    client: &Client,
    plan: &UndoPlan,
    run_dir: &Path,
    progress: ProgressBar,
) -> Result<Undone, Error> {
    let sent = engine::run(
        client.clone(),
        Arc::new(plan.tasks.clone()) as Arc<dyn engine::TaskList>,
        progress.clone(),
        Box::new(|_, _, _| Ok(())),
    )
    .await;
    progress.finish_and_clear();
    let mut done = Undone {
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        restored: 0,
        deleted: 0,
        skipped: plan.skipped,
        failed: 0,
        seconds: sent.elapsed.as_secs_f64(),
        problems: Vec::new(),
    };
    for (task, o) in plan.tasks.iter().zip(sent.outcomes.iter()) {
        match (&o, &task.op) {
            (Outcome::Done { .. }, Op::Put(_)) => done.restored += 1,
            (Outcome::Done { .. }, Op::Delete) => done.deleted += 1,
            (Outcome::Failed { message, .. }, _) | (Outcome::NotSent { reason: message }, _) => {
                done.failed += 1;
                done.problems.push((task.key.path(), message.clone()));
            }
        }
    }
    if done.failed == 0 {
        let json = serde_json::to_vec_pretty(&done).map_err(|e| Error::io(run_dir.display(), e))?;
        crate::persist::write_atomic(&undone_marker(run_dir), &json)?;
    }
    Ok(done)
}

/// The marker an undone run gets.
pub(crate) fn undone_marker(run_dir: &Path) -> PathBuf {
    run_dir.join("undone.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_leave_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), "../etc").is_err());
        let e = load(dir.path(), "20261128-000000-abcd").unwrap_err();
        assert!(e.to_string().contains("no import with id"));
    }

    #[test]
    fn a_view_is_written_as_the_undo_file_it_stands_for() {
        let id = |n: u128| uuid::Uuid::from_u128(n);
        let value = |n: u128, v: i64| RecordValue {
            kpi_value_id: id(n),
            value: v.into(),
            forecast: false,
        };
        let key = |day: u32| RecordKey {
            date: chrono::NaiveDate::from_ymd_opt(2025, 1, day).unwrap(),
            team: id(1),
            kpi: id(2),
            sub_tile: (day == 2).then(|| id(3)),
        };
        let file = UndoFile {
            version: 1,
            run: "20261202-000000-abcd".into(),
            created: "2026-12-02T00:00:00Z".into(),
            url: "http://127.0.0.1:1/api/".into(),
            file: "a.csv".into(),
            compared: true,
            records: vec![
                UndoRecord {
                    key: key(1),
                    before: Some(vec![value(7, 1)]),
                    after: vec![value(7, 2), value(8, 3)],
                },
                UndoRecord {
                    key: key(2),
                    before: None,
                    after: vec![value(7, 4)],
                },
            ],
        };
        let view = UndoView {
            version: file.version,
            run: &file.run,
            created: &file.created,
            url: &file.url,
            file: &file.file,
            compared: file.compared,
            records: Records(std::cell::Cell::new(Some(file.records.iter().map(|r| {
                UndoRecordRef {
                    key: r.key,
                    before: r.before.as_deref(),
                    after: After::Borrowed(&r.after),
                }
            })))),
        };
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &view).unwrap();
        let written = std::fs::read_to_string(dir.path().join("undo.json")).unwrap();
        assert_eq!(written, serde_json::to_string(&file).unwrap());
    }
}
