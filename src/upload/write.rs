//! An import's writing: the plan's records and their [`Comparison`] in, [`Written`] out.
//!
//! Decides what to send (new and changed records; unchanged ones only with
//! `--no-skip-unchanged`), adds the server's targets to records that carry none
//! (`--no-keep-targets` turns that off), saves undo data before the first PUT, and sends
//! through the [`engine`], recording every acknowledged record in the
//! [`journal`](super::journal). The journal only finishes an interrupted run: a record the
//! server no longer holds as written is sent again, and a finished run's journal is closed,
//! so the next import of the same file is a run of its own.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use indicatif::ProgressBar;

use super::compare::{Change, Comparison, body_values};
use super::engine::{self, Op, Outcome, Sent, Task, TaskList};
use super::journal::{Header, Journal};
use super::{state, undo};
use crate::api::{Client, RecordBody, RecordValue};
use crate::catalog::CatalogIndex;
use crate::error::Error;
use crate::plan::{Planned, hash_text, values_hash};

/// How to write.
#[derive(Debug, Clone)]
pub(crate) struct WriteOptions {
    /// Leave out records the server already holds with the same values.
    pub(crate) skip_unchanged: bool,
    /// Send the server's target values back for records whose file has no targets.
    pub(crate) keep_targets: bool,
    /// Ignore an interrupted run's journal and send everything.
    pub(crate) restart: bool,
    /// Where journals and run directories live.
    pub(crate) state_dir: PathBuf,
    /// How long to wait for another import to the same server to end (`--wait-lock`).
    pub(crate) wait_lock: std::time::Duration,
}

/// The input being imported, as the journal knows it.
#[derive(Debug, Clone)]
pub(crate) struct Imported<'a> {
    /// The name shown.
    pub(crate) file: &'a str,
    /// SHA-256 of its bytes.
    pub(crate) sha256: &'a str,
}

/// An earlier, interrupted run of the same import that this one finishes.
#[derive(Debug, Clone)]
pub(crate) struct Resumed {
    pub(crate) started: String,
    /// Records it had written.
    pub(crate) acked: usize,
}

/// What the writing did.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) run: String,
    pub(crate) run_dir: PathBuf,
    pub(crate) journal: PathBuf,
    pub(crate) url: String,
    pub(crate) resumed: Option<Resumed>,
    /// Incomplete journal lines ignored (the last run was cut off while writing one).
    pub(crate) torn: usize,
    /// An unreadable journal of this import was replaced.
    pub(crate) journal_discarded: bool,
    /// Per task (in [`Sent::outcomes`]'s order), the plan index of its record; the records
    /// of no task were not sent (unchanged, or written by the interrupted run).
    pub(crate) task_record: Vec<u32>,
    /// Not sent: written by the interrupted run this one finishes.
    pub(crate) already: u64,
    /// Not sent: the server already holds these values.
    pub(crate) unchanged: u64,
    pub(crate) written: u64,
    pub(crate) failed: u64,
    /// Never sent because the run stopped first.
    pub(crate) not_sent: u64,
    pub(crate) targets_kept: u64,
    /// Whether `vsimport undo` can revert it (the server's values were read first).
    pub(crate) undoable: bool,
    pub(crate) sent: Sent,
    pub(crate) concurrency: usize,
}

impl Written {
    /// The planned records not written (failed, or not sent), by plan index, in plan order.
    pub(crate) fn unwritten(&self) -> impl Iterator<Item = (usize, Outcome)> + '_ {
        self.sent
            .outcomes
            .unwritten()
            .map(|(t, o)| (self.task_record[t] as usize, o))
    }
}

/// An import's tasks: planned records by plan index, each made when it is sent; a record
/// whose body gets the server's targets holds that body.
struct WriteTasks {
    planned: Planned,
    records: Vec<u32>,
    /// Bodies with the server's targets added, by task index.
    kept: HashMap<u32, Arc<[RecordValue]>>,
}

impl WriteTasks {
    fn values(&self, t: usize) -> Arc<[RecordValue]> {
        match self.kept.get(&(t as u32)) {
            Some(v) => v.clone(),
            None => self.planned.values(self.records[t] as usize),
        }
    }
}

impl TaskList for WriteTasks {
    fn len(&self) -> usize {
        self.records.len()
    }

    fn task(&self, t: usize) -> Task {
        Task {
            key: self.planned.key(self.records[t] as usize),
            op: Op::Put(RecordBody {
                values: self.values(t),
            }),
        }
    }
}

/// Writes `records` (with their comparison) through `client`.
pub(crate) async fn write(
    client: &Client,
    index: &CatalogIndex,
    records: &Planned,
    cmp: &Comparison,
    input: Imported<'_>,
    opts: &WriteOptions,
    progress: impl FnOnce(u64) -> ProgressBar,
) -> Result<Written, Error> {
    let url = client.base_url().to_string();
    let header = Header {
        journal: 1,
        file: input.file.to_string(),
        sha256: input.sha256.to_string(),
        url: url.clone(),
        started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run: state::new_run_id(),
    };
    let new_run = header.run.clone();
    let journal = Journal::open(&opts.state_dir, header, opts.restart)?;
    let run = journal.header.run.clone();
    let resumed = (run != new_run).then(|| Resumed {
        started: journal.header.started.clone(),
        acked: journal.acked.len(),
    });
    let run_dir = undo::run_dir(&opts.state_dir, &run);

    // Decide what to send: a plan index per task (4 bytes; a task held as its key and body
    // took 72 at 1M records, the journal's hash 8 more: it is made again when acknowledged).
    let mut tasks = WriteTasks {
        planned: records.clone(),
        records: Vec::with_capacity(records.len()),
        kept: HashMap::new(),
    };
    let (mut already, mut unchanged, mut targets_kept) = (0u64, 0u64, 0u64);
    for i in 0..records.len() {
        if cmp.change(i) == Change::Unchanged {
            let acked = !journal.acked.is_empty()
                && journal.is_acked(
                    &records.key(i).path(),
                    &hash_text(values_hash(&records.values(i))),
                );
            if opts.skip_unchanged || acked {
                if acked {
                    already += 1;
                } else {
                    unchanged += 1;
                }
                continue;
            }
        }
        if opts.keep_targets
            && let Some(cur) = cmp.before(i)
        {
            let (values, kept) =
                body_values(index, records.kpi(i), &records.values(i), Some(cur), true);
            if kept > 0 {
                targets_kept += kept as u64;
                tasks.kept.insert(tasks.records.len() as u32, values);
            }
        }
        tasks.records.push(i as u32);
    }

    // Undo data before the first write: each task's key, the server's values before and the
    // values to send, written from the tasks as they are made (no copy); a resumed run adds
    // what the first run lacked.
    let earlier = match undo::load(&opts.state_dir, &run) {
        Ok(u) if resumed.is_some() => Some(u),
        _ => None,
    };
    let compared = earlier.as_ref().is_none_or(|u| u.compared) && cmp.skipped.is_none();
    let undoable = compared;
    {
        let earlier_records = earlier.as_ref().map_or(&[][..], |u| &u.records[..]);
        let known: std::collections::HashSet<&crate::api::RecordKey> =
            earlier_records.iter().map(|r| &r.key).collect();
        let kept = earlier_records.iter().map(|r| undo::UndoRecordRef {
            key: r.key,
            before: r.before.as_deref(),
            after: undo::After::Borrowed(&r.after),
        });
        let tasks = &tasks;
        let added = (0..tasks.len())
            .map(|t| (t, tasks.planned.key(tasks.records[t] as usize)))
            .filter(|(_, key)| !known.contains(key))
            .map(|(t, key)| undo::UndoRecordRef {
                key,
                before: cmp.before(tasks.records[t] as usize),
                after: undo::After::Shared(tasks.values(t)),
            });
        let view = undo::UndoView {
            version: 1,
            run: &run,
            created: earlier
                .as_ref()
                .map_or(&journal.header.started, |u| &u.created),
            url: earlier.as_ref().map_or(&url, |u| &u.url),
            file: earlier.as_ref().map_or(input.file, |u| &u.file),
            compared,
            records: undo::Records(std::cell::Cell::new(Some(kept.chain(added)))),
        };
        undo::save(&run_dir, &view)?;
    }
    drop(earlier);

    // Send, the journal reaching the file every 10 ms.
    let journal = Arc::new(journal);
    let tasks = Arc::new(tasks);
    let on_done: Box<engine::OnDone> = {
        let journal = journal.clone();
        let tasks = tasks.clone();
        Box::new(move |t, task: &Task, status| {
            // The hash is of the planned values: the body sent, unless targets were added.
            let hash = match (&task.op, tasks.kept.contains_key(&(t as u32))) {
                (Op::Put(body), false) => values_hash(&body.values),
                _ => values_hash(&tasks.planned.values(tasks.records[t] as usize)),
            };
            journal
                .ack(&task.key.path(), &hash_text(hash), status)
                .map_err(|e| e.to_string())
        })
    };
    let flusher = {
        let journal = journal.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
            loop {
                tick.tick().await;
                if let Err(e) = journal.flush() {
                    tracing::warn!("{e}");
                }
            }
        })
    };
    let bar = progress(tasks.len() as u64);
    let sent = engine::run(
        client.clone(),
        tasks.clone() as Arc<dyn TaskList>,
        bar.clone(),
        on_done,
    )
    .await;
    bar.finish_and_clear();
    flusher.abort();
    journal.sync()?;
    let (written, failed, not_sent) = sent.outcomes.counts();
    // The engine's callback holds the other reference; it is gone with the run.
    let task_record = Arc::try_unwrap(tasks).map_or_else(|t| t.records.clone(), |t| t.records);
    if failed == 0 && not_sent == 0 {
        // Everything is on the server: nothing is left for a re-run to finish.
        journal.finish()?;
    }
    Ok(Written {
        run,
        run_dir,
        journal: journal.path.clone(),
        url,
        resumed,
        torn: journal.torn,
        journal_discarded: journal.discarded,
        task_record,
        already,
        unchanged,
        written,
        failed,
        not_sent,
        targets_kept,
        undoable,
        sent,
        concurrency: client.concurrency(),
    })
}
