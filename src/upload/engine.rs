//! Sending many record requests at once: a fixed pool of workers takes records in plan
//! order; an adaptive gate decides how many requests may be in flight (AIMD: one more per
//! round of successes, half on 429/503), spaces them under `--max-rps`, and holds everyone
//! back when the server sends `Retry-After`. Each record is retried on its own with
//! exponential backoff and full jitter; what cannot be written ends as a failed outcome with
//! the server's message. The run stops early (the rest "not sent") when every request would
//! fail alike: bad credentials, a missing permission, a refused media type, a server that
//! stopped answering, or a journal that cannot be written.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokio::sync::Semaphore;

use crate::api::direct::{Direct, Lane};
use crate::api::{ApiError, Client, RecordBody, RecordKey, RetryPolicy};
use crate::rng::Rng;

/// What to do with one record.
#[derive(Debug, Clone)]
pub enum Op {
    Put(RecordBody),
    Delete,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub key: RecordKey,
    pub op: Op,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests in flight at most (the adaptive limit starts here and never exceeds it).
    pub concurrency: usize,
    /// Requests per second at most.
    pub max_rps: Option<f64>,
    pub retry: RetryPolicy,
}

/// How one record ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
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
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }
}

/// The result of a run: one outcome per task, in task order, and the counters.
#[derive(Debug)]
pub struct Sent {
    pub outcomes: Vec<Outcome>,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub elapsed: Duration,
    /// Why the run stopped before the end, if it did.
    pub stopped: Option<String>,
    /// The lowest the adaptive concurrency went.
    pub min_concurrency: usize,
    /// CPU time this process spent while sending (Linux; `None` elsewhere).
    pub cpu: Option<Duration>,
}

/// This process's CPU time so far (user + system), from `/proc/self/stat` (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ: 100 on every Linux configuration in use.
    Some(Duration::from_millis(ticks * 10))
}

/// Called with a task's index and status once the server acknowledged it; an error stops
/// the run (nothing more is sent).
pub type OnDone = dyn Fn(usize, u16) -> Result<(), String> + Send + Sync;

struct GateState {
    limit: f64,
    max: f64,
    min_seen: f64,
    /// Permits in existence: available in the semaphore plus in flight.
    issued: usize,
    pause_until: Option<Instant>,
    next_send: Instant,
    last_cut: Option<Instant>,
}

/// The adaptive concurrency and rate gate: a semaphore whose permits are topped up to the
/// current limit as requests finish (so a waiting worker is woken one at a time), and taken
/// out of circulation when the limit is cut.
struct Gate {
    sem: Semaphore,
    state: Mutex<GateState>,
    interval: Option<Duration>,
}

enum Signal {
    Ok,
    Throttle(Option<Duration>),
    Other,
}

impl Gate {
    fn new(concurrency: usize, max_rps: Option<f64>) -> Gate {
        let n = concurrency.max(1);
        let max = n as f64;
        Gate {
            sem: Semaphore::new(n),
            state: Mutex::new(GateState {
                limit: max,
                max,
                min_seen: max,
                issued: n,
                pause_until: None,
                next_send: Instant::now(),
                last_cut: None,
            }),
            interval: max_rps
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
        }
    }

    /// Waits for a slot; returns once this request may be sent.
    async fn acquire(&self) {
        if let Ok(p) = self.sem.acquire().await {
            p.forget();
        }
        loop {
            let wait = match self.state.lock() {
                Err(_) => return,
                Ok(mut s) => {
                    let now = Instant::now();
                    match s.pause_until {
                        Some(t) if t > now => t,
                        _ => match self.interval {
                            Some(iv) => {
                                let slot = s.next_send.max(now);
                                s.next_send = slot + iv;
                                slot
                            }
                            None => now,
                        },
                    }
                }
            };
            if wait <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(wait.into()).await;
            if self.interval.is_some() {
                // The slot was reserved; a pause that started meanwhile is checked again.
                let paused = self
                    .state
                    .lock()
                    .ok()
                    .and_then(|s| s.pause_until)
                    .is_some_and(|t| t > Instant::now());
                if !paused {
                    return;
                }
            }
        }
    }

    fn release(&self, signal: Signal) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        match signal {
            Signal::Ok => s.limit = (s.limit + 1.0 / s.limit).min(s.max),
            Signal::Throttle(after) => {
                // One cut per burst of throttled answers, not one per answer.
                if s.last_cut
                    .is_none_or(|t| now.duration_since(t) > Duration::from_millis(250))
                {
                    s.limit = (s.limit / 2.0).max(1.0);
                    s.min_seen = s.min_seen.min(s.limit);
                    s.last_cut = Some(now);
                }
                if let Some(d) = after {
                    let until = now + d;
                    s.pause_until = Some(s.pause_until.map_or(until, |p| p.max(until)));
                }
            }
            Signal::Other => {}
        }
        // This request's permit is used up; bring the permits to the limit.
        s.issued = s.issued.saturating_sub(1);
        let target = (s.limit.floor() as usize).max(1);
        if s.issued < target {
            self.sem.add_permits(target - s.issued);
            s.issued = target;
        } else if s.issued > target {
            let excess = (s.issued - target).min(self.sem.available_permits());
            if excess > 0
                && let Ok(p) = self.sem.try_acquire_many(excess as u32)
            {
                p.forget();
                s.issued -= excess;
            }
        }
    }

    fn min_seen(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.min_seen.floor() as usize)
            .unwrap_or(1)
    }
}

struct Shared {
    client: Client,
    /// Direct connections for the writes (`None`: through the general client, e.g. when a
    /// proxy is configured).
    direct: Option<Direct>,
    tasks: Arc<Vec<Task>>,
    limits: Limits,
    gate: Gate,
    next: AtomicUsize,
    outcomes: Mutex<Vec<Option<Outcome>>>,
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
    /// Records given up on after transport errors, in a row (reset by any answer).
    dead_streak: AtomicUsize,
    stop: AtomicBool,
    stop_reason: Mutex<Option<String>>,
    cancel: Arc<AtomicBool>,
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
        self.stop.store(true, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        if self.cancel.load(Ordering::SeqCst) {
            self.halt("interrupted".into());
        }
        self.stop.load(Ordering::SeqCst)
    }

    fn finish(&self, i: usize, outcome: Outcome) {
        if !outcome.is_done() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut o) = self.outcomes.lock() {
            o[i] = Some(outcome);
        }
        self.progress.inc(1);
        let retries = self.retries.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        if retries > 0 || failed > 0 {
            self.progress
                .set_message(format!("{retries} retried, {failed} failed"));
        }
    }
}

/// Statuses after which every other request would fail the same way.
fn fatal(e: &ApiError) -> bool {
    matches!(e.status(), Some(401 | 403 | 406 | 415))
}

/// Runs every task; returns when all have an outcome (or the run stopped).
pub async fn run(
    client: Client,
    tasks: Arc<Vec<Task>>,
    limits: Limits,
    progress: ProgressBar,
    cancel: Arc<AtomicBool>,
    on_done: Box<OnDone>,
) -> Sent {
    let started = Instant::now();
    let cpu_before = process_cpu();
    let n = tasks.len();
    let direct = if crate::api::direct::proxy_configured(client.base_url()) {
        None
    } else {
        match Direct::new(&client) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::debug!("writes go through the general client: {e}");
                None
            }
        }
    };
    let shared = Arc::new(Shared {
        direct,
        client,
        gate: Gate::new(limits.concurrency, limits.max_rps),
        limits,
        next: AtomicUsize::new(0),
        outcomes: Mutex::new(vec![None; n]),
        requests: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        dead_streak: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        stop_reason: Mutex::new(None),
        cancel,
        progress,
        on_done,
        tasks,
    });
    // More workers than slots (up to twice, at most 32 more), so records waiting out a backoff
    // do not leave slots unused; each worker has its own connection once it sends.
    let c = limits.concurrency.max(1);
    let workers = (c + c.min(32)).min(n);
    let seed = Rng::from_time().next_u64();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let shared = shared.clone();
        set.spawn(async move {
            let mut rng = Rng::seeded(seed ^ (w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut lane = Lane::default();
            while !shared.stopping() {
                let i = shared.next.fetch_add(1, Ordering::SeqCst);
                if i >= shared.tasks.len() {
                    break;
                }
                let outcome = one(&shared, i, &mut rng, &mut lane).await;
                shared.finish(i, outcome);
            }
        });
    }
    while set.join_next().await.is_some() {}
    let stopped = shared.stop_reason.lock().ok().and_then(|r| r.clone());
    let outcomes = match shared.outcomes.lock() {
        Ok(mut o) => std::mem::take(&mut *o),
        Err(_) => Vec::new(),
    };
    let reason = stopped.clone().unwrap_or_else(|| "the run stopped".into());
    let mut outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| Outcome::NotSent {
                reason: reason.clone(),
            })
        })
        .collect();
    outcomes.resize(
        n,
        Outcome::NotSent {
            reason: reason.clone(),
        },
    );
    Sent {
        outcomes,
        requests: shared.requests.load(Ordering::Relaxed),
        retries: shared.retries.load(Ordering::Relaxed),
        throttled: shared.throttled.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        cpu: process_cpu()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before)),
        stopped,
        min_concurrency: shared.gate.min_seen(),
    }
}

/// Throttling answers with `Retry-After` one record may get without using up its attempts.
const MAX_SCHEDULED: u32 = 100;

/// One record, through its retries.
async fn one(shared: &Shared, i: usize, rng: &mut Rng, lane: &mut Lane) -> Outcome {
    let task = &shared.tasks[i];
    let policy = shared.limits.retry;
    let mut attempt = 1;
    let mut scheduled = 0;
    loop {
        shared.gate.acquire().await;
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let found = |found: bool| if found { 200 } else { 404 };
        let res = match (&shared.direct, &task.op) {
            (Some(d), Op::Put(body)) => d.put_record(lane, &task.key, body).await,
            (Some(d), Op::Delete) => d.delete_record(lane, &task.key).await.map(found),
            (None, Op::Put(body)) => shared.client.put_record(&task.key, body).await,
            (None, Op::Delete) => shared.client.delete_record(&task.key).await.map(found),
        };
        match res {
            Ok(status) => {
                shared.gate.release(Signal::Ok);
                shared.dead_streak.store(0, Ordering::Relaxed);
                if let Err(e) = (shared.on_done)(i, status) {
                    shared.halt(format!("the journal could not be written: {e}"));
                }
                return Outcome::Done { status };
            }
            Err(e) => {
                if e.is_throttle() {
                    shared.throttled.fetch_add(1, Ordering::Relaxed);
                    shared.gate.release(Signal::Throttle(e.retry_after()));
                } else {
                    shared.gate.release(Signal::Other);
                }
                if e.status().is_some() {
                    shared.dead_streak.store(0, Ordering::Relaxed);
                }
                if fatal(&e) {
                    shared.halt(format!("the server refused a request ({})", e.short()));
                    return Outcome::Failed {
                        status: e.status(),
                        message: e.short(),
                        attempts: attempt,
                    };
                }
                // A throttling answer with Retry-After is the server scheduling the request,
                // not a failure of it: it does not use up an attempt (up to a bound).
                if e.is_throttle()
                    && e.retry_after().is_some()
                    && scheduled < MAX_SCHEDULED
                    && !shared.stopping()
                {
                    scheduled += 1;
                    shared.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(policy.delay(attempt, &e, rng)).await;
                    continue;
                }
                if e.is_retryable() && attempt < policy.max_attempts && !shared.stopping() {
                    shared.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = policy.delay(attempt, &e, rng);
                    tracing::debug!(attempt, ?wait, error = %e.short(), "retrying {}", task.key.path());
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                if e.status().is_none() {
                    let streak = shared.dead_streak.fetch_add(1, Ordering::Relaxed) + 1;
                    if streak >= (shared.limits.concurrency * 2).max(10) {
                        shared.halt(format!(
                            "the server stopped answering ({streak} records in a row failed: {})",
                            e.short()
                        ));
                    }
                }
                return Outcome::Failed {
                    status: e.status(),
                    message: e.short(),
                    attempts: attempt,
                };
            }
        }
    }
}
