//! Sending many record requests at once: workers take records in plan order and send each
//! through the client (one pooled reqwest client, one limit, one retry policy:
//! [`Client::tried`]). What cannot be
//! written ends as a failed outcome with the server's message. The run stops early (the rest
//! "not sent") when every request would fail alike: bad credentials, a missing permission, a
//! refused media type, a server that stopped answering, a journal that cannot be written, or
//! the client's stop (Ctrl-C).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, Client, RecordBody, RecordKey, Tally};

/// What to do with one record.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Put(RecordBody),
    Delete,
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) key: RecordKey,
    pub(crate) op: Op,
}

/// The tasks of a run, each made when it is sent: an import's tasks are made from the plan's
/// entries (held as tasks, 1M records took 72 MB through the send); an undo's are a list.
pub(crate) trait TaskList: Send + Sync {
    fn len(&self) -> usize;
    fn task(&self, i: usize) -> Task;
}

impl TaskList for Vec<Task> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn task(&self, i: usize) -> Task {
        self[i].clone()
    }
}

/// How one record ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The server acknowledged it (for a DELETE, 404 means it was already gone).
    Done { status: u16 },
    /// Given up: the last answer or transport error.
    Failed {
        status: Option<u16>,
        message: String,
        attempts: u32,
    },
    /// Never sent, because the run stopped first.
    NotSent { reason: String },
}

impl Outcome {
    pub(crate) fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }
}

/// One outcome per task, held compactly: each acknowledged task's status (two bytes; 0 while
/// it has none), the others by task index, and why the tasks never tried were not sent.
/// (As a vector of outcomes, 1M tasks held 32 MB, and twice that while it was made.)
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    done: Vec<u16>,
    other: std::collections::BTreeMap<usize, Outcome>,
    not_sent: String,
}

impl Outcomes {
    fn new(n: usize) -> Outcomes {
        Outcomes {
            done: vec![0; n],
            ..Outcomes::default()
        }
    }

    fn set(&mut self, i: usize, o: Outcome) {
        match o {
            Outcome::Done { status } if status != 0 => self.done[i] = status,
            o => {
                self.other.insert(i, o);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.done.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// How task `i` ended.
    pub(crate) fn get(&self, i: usize) -> Outcome {
        match self.done.get(i) {
            Some(&status) if status != 0 => Outcome::Done { status },
            _ => self
                .other
                .get(&i)
                .cloned()
                .unwrap_or_else(|| Outcome::NotSent {
                    reason: self.not_sent.clone(),
                }),
        }
    }

    /// Every task's outcome, in task order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Outcome> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The tasks not written (failed, or not sent), in task order.
    pub(crate) fn unwritten(&self) -> impl Iterator<Item = (usize, Outcome)> + '_ {
        self.done
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == 0)
            .map(|(i, _)| (i, self.get(i)))
    }

    /// Written, failed and not sent.
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        let written = self.done.iter().filter(|s| **s != 0).count() as u64;
        let failed = self
            .other
            .values()
            .filter(|o| matches!(o, Outcome::Failed { .. }))
            .count() as u64;
        (written, failed, self.len() as u64 - written - failed)
    }
}

/// The result of a run: one outcome per task, in task order, and the counters.
#[derive(Debug)]
pub(crate) struct Sent {
    pub(crate) outcomes: Outcomes,
    /// Requests, retries and throttling answers of this run.
    pub(crate) tally: Tally,
    pub(crate) elapsed: Duration,
    /// Why the run stopped before the end, if it did.
    pub(crate) stopped: Option<String>,
    /// The lowest the adaptive concurrency went.
    pub(crate) min_concurrency: usize,
    /// CPU time this process spent while sending (Linux; `None` elsewhere).
    pub(crate) cpu: Option<Duration>,
}

/// This process's CPU time so far (user + system), from `/proc/self/stat` (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ: 100 on every Linux configuration in use.
    Some(Duration::from_millis(ticks * 10))
}

/// Called with a task (its index, and the task as sent) and the status once the server
/// acknowledged it; an error stops the run (nothing more is sent).
pub(crate) type OnDone = dyn Fn(usize, &Task, u16) -> Result<(), String> + Send + Sync;

struct Shared {
    client: Client,
    tasks: Arc<dyn TaskList>,
    next: AtomicUsize,
    outcomes: Mutex<Outcomes>,
    failed: AtomicU64,
    start: Tally,
    /// Records given up on after transport errors, in a row (reset by any answer).
    dead_streak: AtomicUsize,
    /// Cancelled by the client's stop (Ctrl-C) or by [`Shared::halt`].
    stop: CancellationToken,
    stop_reason: Mutex<Option<String>>,
    progress: ProgressBar,
    on_done: Box<OnDone>,
}

impl Shared {
    fn halt(&self, reason: String) {
        if let Ok(mut r) = self.stop_reason.lock()
            && r.is_none()
        {
            *r = Some(reason);
        }
        self.stop.cancel();
    }

    fn finish(&self, i: usize, outcome: Outcome) {
        if !outcome.is_done() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut o) = self.outcomes.lock() {
            o.set(i, outcome);
        }
        self.progress.inc(1);
        let retries = (self.client.tally() - self.start).retries;
        let failed = self.failed.load(Ordering::Relaxed);
        if retries > 0 || failed > 0 {
            self.progress
                .set_message(format!("{retries} retried, {failed} failed"));
        }
    }
}

/// Whether `record` holds every value of `body` (the same slot, forecast flag and number).
fn holds(record: &crate::api::Record, body: &RecordBody) -> bool {
    body.values.iter().all(|v| {
        record.values.iter().any(|h| {
            h.kpi_value_id == v.kpi_value_id
                && h.forecast == v.forecast
                && h.value.as_f64() == v.value.as_f64()
        })
    })
}

/// Workers at most: records in flight plus records waiting to be tried again.
const MAX_WORKERS: usize = 4096;

/// Statuses after which every other request would fail the same way.
fn fatal(e: &ApiError) -> bool {
    matches!(e.status(), Some(401 | 403 | 406 | 415))
}

/// Runs every task; returns when all have an outcome (or the run stopped).
pub(crate) async fn run(
    client: Client,
    tasks: Arc<dyn TaskList>,
    progress: ProgressBar,
    on_done: Box<OnDone>,
) -> Sent {
    let started = Instant::now();
    let cpu_before = process_cpu();
    let n = tasks.len();
    let concurrency = client.concurrency();
    let shared = Arc::new(Shared {
        stop: client.stop_token().child_token(),
        start: client.tally(),
        client,
        next: AtomicUsize::new(0),
        outcomes: Mutex::new(Outcomes::new(n)),
        failed: AtomicU64::new(0),
        dead_streak: AtomicUsize::new(0),
        stop_reason: Mutex::new(None),
        progress,
        on_done,
        tasks,
    });
    // More workers than slots (up to twice, at most 32 more), so records between attempts do
    // not leave slots unused; and one more for every record waiting out a Retry-After or a
    // backoff, so a throttled record's wait holds up no other record (up to MAX_WORKERS).
    let base = (concurrency + concurrency.min(32)).min(n).max(1);
    let waiting = shared.client.waiting();
    let alive = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    let spawn = |set: &mut tokio::task::JoinSet<()>| {
        let shared = shared.clone();
        let alive = alive.clone();
        let waiting = waiting.clone();
        alive.fetch_add(1, Ordering::SeqCst);
        set.spawn(async move {
            while !shared.stop.is_cancelled() {
                let i = shared.next.fetch_add(1, Ordering::SeqCst);
                if i >= shared.tasks.len() {
                    break;
                }
                let outcome = one(&shared, i, concurrency).await;
                shared.finish(i, outcome);
                // Fewer records wait now than when this worker was added: it goes.
                let want = base + waiting.now.load(Ordering::Relaxed);
                if alive.load(Ordering::SeqCst) > want {
                    break;
                }
            }
            alive.fetch_sub(1, Ordering::SeqCst);
        });
    };
    for _ in 0..base {
        spawn(&mut set);
    }
    loop {
        tokio::select! {
            joined = set.join_next() => {
                if joined.is_none() {
                    break;
                }
            }
            _ = waiting.started.notified() => {}
        }
        let want = (base + waiting.now.load(Ordering::Relaxed)).min(MAX_WORKERS);
        while alive.load(Ordering::SeqCst) < want
            && shared.next.load(Ordering::SeqCst) < n
            && !shared.stop.is_cancelled()
        {
            spawn(&mut set);
        }
    }
    let stopped = match shared.stop_reason.lock().ok().and_then(|r| r.clone()) {
        Some(r) => Some(r),
        None if shared.stop.is_cancelled() => Some("interrupted".to_string()),
        None => None,
    };
    let mut outcomes = match shared.outcomes.lock() {
        Ok(mut o) => std::mem::take(&mut *o),
        Err(_) => Outcomes::new(n),
    };
    outcomes.not_sent = stopped.clone().unwrap_or_else(|| "the run stopped".into());
    Sent {
        outcomes,
        tally: shared.client.tally() - shared.start,
        elapsed: started.elapsed(),
        cpu: process_cpu()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before)),
        stopped,
        min_concurrency: shared.client.min_concurrency(),
    }
}

/// One record, through its retries.
async fn one(shared: &Shared, i: usize, concurrency: usize) -> Outcome {
    let task = &shared.tasks.task(i);
    let client = &shared.client;
    let stop = &shared.stop;
    let found = |found: bool| if found { 200 } else { 404 };
    let tried = match &task.op {
        Op::Put(body) => {
            client
                .tried(stop, || client.put_record_once(&task.key, body))
                .await
        }
        Op::Delete => {
            client
                .tried(stop, || async {
                    client.delete_record_once(&task.key).await.map(found)
                })
                .await
        }
    };
    // Every attempt of a PUT lost its answer: the write may have been applied all the same.
    // The server says whether it holds the values; if it does, the record is written.
    let result = match (tried.result, &task.op) {
        (Err(e), Op::Put(body)) if e.status().is_none() && !stop.is_cancelled() => {
            match client.record(&task.key).await {
                Ok(Some(held)) if holds(&held, body) => Ok(200),
                _ => Err(e),
            }
        }
        (r, _) => r,
    };
    match result {
        Ok(status) => {
            shared.dead_streak.store(0, Ordering::Relaxed);
            if let Err(e) = (shared.on_done)(i, task, status) {
                shared.halt(format!("the journal could not be written: {e}"));
            }
            Outcome::Done { status }
        }
        // Stopped before it was sent, or while waiting to send it again.
        Err(e) if matches!(e, ApiError::Stopped) || (e.is_retryable() && stop.is_cancelled()) => {
            Outcome::NotSent {
                reason: shared
                    .stop_reason
                    .lock()
                    .ok()
                    .and_then(|r| r.clone())
                    .unwrap_or_else(|| "interrupted".into()),
            }
        }
        Err(e) => {
            if e.status().is_some() {
                shared.dead_streak.store(0, Ordering::Relaxed);
            }
            if fatal(&e) {
                shared.halt(format!("the server refused a request ({})", e.short()));
            } else if e.status().is_none() {
                let streak = shared.dead_streak.fetch_add(1, Ordering::Relaxed) + 1;
                if streak >= (concurrency * 2).max(10) {
                    shared.halt(format!(
                        "the server stopped answering ({streak} records in a row failed: {})",
                        e.short()
                    ));
                }
            }
            Outcome::Failed {
                status: e.status(),
                message: e.short(),
                attempts: tried.attempts,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_held_compactly_and_read_back_as_set() {
        let mut o = Outcomes::new(5);
        o.set(0, Outcome::Done { status: 201 });
        o.set(
            2,
            Outcome::Failed {
                status: Some(422),
                message: "refused".into(),
                attempts: 1,
            },
        );
        o.set(
            3,
            Outcome::NotSent {
                reason: "interrupted".into(),
            },
        );
        o.set(4, Outcome::Done { status: 404 });
        o.not_sent = "the run stopped".into();
        assert_eq!(o.len(), 5);
        assert_eq!(o.get(0), Outcome::Done { status: 201 });
        assert_eq!(o.get(4), Outcome::Done { status: 404 });
        // Never tried: not sent, for the run's reason.
        assert_eq!(
            o.get(1),
            Outcome::NotSent {
                reason: "the run stopped".into()
            }
        );
        assert_eq!(
            o.get(3),
            Outcome::NotSent {
                reason: "interrupted".into()
            }
        );
        assert!(matches!(
            o.get(2),
            Outcome::Failed {
                status: Some(422),
                ..
            }
        ));
        assert_eq!(o.counts(), (2, 1, 2));
        let unwritten: Vec<usize> = o.unwritten().map(|(i, _)| i).collect();
        assert_eq!(unwritten, [1, 2, 3]);
        assert_eq!(o.iter().filter(Outcome::is_done).count(), 2);
    }
}
