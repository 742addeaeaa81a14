//! One limit for every request a client sends — the catalog's reads, the comparison's GET
//! windows, the PUTs of an import and the DELETEs of an undo: at most `--concurrency` in
//! flight, at most `--max-rps` per second (governor), and an adaptive rate when the server
//! limits us.
//!
//! Throttling answers (429, 503) are judged per window of [`WINDOW`], not one by one: a server
//! that throttles a steady share of requests at random (a busy gateway) is not a limit to back
//! off from — each throttled request just waits its own `Retry-After` (see `retry.rs`) — while a
//! server that throttles because we are too fast shows a share that rises with our rate. So,
//! per window with at least [`MIN_ANSWERS`] answers and `f` its throttled share:
//! - `f > 0.5`, or `f` above the mean share of the last [`FLOOR_WINDOWS`] windows by more than
//!   0.1 and three standard deviations of the window's sampling noise (with three windows
//!   seen): the server is limiting us. If we were sending as fast as the limit allows, a rate
//!   cap is set at 90 % of the rate the server accepted in that window (its limit, measured);
//!   when `f > 0.5` the concurrency halves too (never below 1).
//! - Otherwise the cap, if any, rises 5 % per 200 ms (probing for more), and each success adds
//!   `1/limit` to the concurrency (one more per round, up to `--concurrency`).
//! - `f > 0.9` with a `Retry-After`: every request waits until then (capped), at most once per
//!   window — the server is asking for a pause, not for one request to wait.
//!
//! Under a steady limit the rate settles between 90 % and about 110 % of it; random throttling
//! of up to a third of the requests leaves the rate alone. The cap is a pacing clock rather than
//! governor: governor's quota is fixed when it is built, and this one moves every window.
//! The concurrency is a semaphore whose permits are topped up to the current limit as requests
//! finish, so a waiting request is woken one at a time.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

/// The limits every request of one client shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    /// Requests in flight at most (the adaptive limit starts here and never exceeds it).
    pub(crate) concurrency: usize,
    /// Requests per second at most.
    pub(crate) max_rps: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 8,
            max_rps: None,
        }
    }
}

/// How an attempt ended, as far as the limit cares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signal {
    /// The server answered (whatever the status, unless throttling).
    Answered,
    /// 429 or 503, with the server's `Retry-After` when it sent one.
    Throttled(Option<Duration>),
    /// No answer (connection error, timeout) or the attempt was abandoned.
    NoAnswer,
}

/// How long a window of answers is judged over.
pub(crate) const WINDOW: Duration = Duration::from_millis(200);
/// Fewer answers than this in a window say nothing about the server (a window is extended
/// until it has them): 64 answers put a share within about ±0.06 of the server's.
pub(crate) const MIN_ANSWERS: u32 = 64;
/// Windows over which the server's usual throttled share is averaged.
pub(crate) const FLOOR_WINDOWS: usize = 10;

/// The current window's answers.
#[derive(Debug)]
struct Window {
    start: Instant,
    answers: u32,
    throttled: u32,
    /// The longest `Retry-After` in it.
    after: Option<Duration>,
    /// A request had to wait for a slot: we were sending as fast as the limit lets us, so
    /// the rate the server accepted is its limit, not just what we happened to send.
    saturated: bool,
}

struct GateState {
    limit: f64,
    max: f64,
    min_seen: f64,
    /// Permits in existence: available in the semaphore plus in flight.
    issued: usize,
    pause_until: Option<Instant>,
    window: Window,
    /// Throttled shares of the last windows (oldest first).
    shares: std::collections::VecDeque<f64>,
    /// The adaptive rate cap (requests per second), when the server showed a limit.
    cap: Option<f64>,
    /// When the next request may go under the cap.
    next_slot: Instant,
    /// The last window showed the server limiting us (the concurrency does not grow then).
    limiting: bool,
}

/// Counters over the client's life, read before and after a phase to report on it.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) throttled: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) requests: u64,
    pub(crate) retries: u64,
    pub(crate) throttled: u64,
}

impl std::ops::Sub for Tally {
    type Output = Tally;
    fn sub(self, o: Tally) -> Tally {
        Tally {
            requests: self.requests.saturating_sub(o.requests),
            retries: self.retries.saturating_sub(o.retries),
            throttled: self.throttled.saturating_sub(o.throttled),
        }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("tally", &self.tally())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Limiter {
    /// Requests waiting to be tried again (the sender keeps other records going meanwhile).
    pub(crate) waiting: std::sync::Arc<super::retry::Waiting>,
    sem: Semaphore,
    state: Mutex<GateState>,
    rate: Option<DefaultDirectRateLimiter>,
    pub(crate) counters: Counters,
}

/// A slot for one attempt; given back with [`Permit::done`] (or on drop, as `NoAnswer`).
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
    signal: Option<Signal>,
}

impl Permit<'_> {
    pub(crate) fn done(mut self, signal: Signal) {
        self.signal = Some(signal);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter
            .release(self.signal.take().unwrap_or(Signal::NoAnswer));
    }
}

/// Ends the window: what its throttled share says about the server (see the module's doc).
fn judge(s: &mut GateState, now: Instant) {
    let w = std::mem::replace(
        &mut s.window,
        Window {
            start: now,
            answers: 0,
            throttled: 0,
            after: None,
            saturated: false,
        },
    );
    if w.answers < MIN_ANSWERS {
        // Too few to judge; keep counting into the next window.
        s.window = Window {
            start: w.start,
            ..w
        };
        return;
    }
    let f = f64::from(w.throttled) / f64::from(w.answers);
    // The server's usual share: the mean of the last windows; a window is above it only by
    // more than 0.1 and three standard deviations of its own sampling noise.
    let base = if s.shares.is_empty() {
        f64::NAN
    } else {
        s.shares.iter().sum::<f64>() / s.shares.len() as f64
    };
    let noise = 3.0 * (base * (1.0 - base) / f64::from(w.answers)).sqrt();
    let elapsed = now.duration_since(w.start).as_secs_f64().max(1e-3);
    let severe = f > 0.5;
    s.limiting = severe || (s.shares.len() >= 3 && f > base + noise.max(0.1));
    if s.limiting {
        // The accepted rate is the server's limit only when we sent as fast as we could, and
        // densely enough to measure it (a window that took long is our own backoff's pace).
        if w.saturated && elapsed <= 2.0 * WINDOW.as_secs_f64() {
            // 90 % of what the server accepted, but never below half of what we sent: a
            // server that counts per second accepts nothing in some windows, and one window
            // at most halves the rate.
            let accepted = f64::from(w.answers - w.throttled) / elapsed;
            let sent = f64::from(w.answers) / elapsed;
            let cap = (accepted * 0.9).max(sent * 0.5).max(1.0);
            s.cap = Some(s.cap.map_or(cap, |c| c.min(cap)));
        }
        if severe {
            s.limit = (s.limit / 2.0).max(1.0);
            s.min_seen = s.min_seen.min(s.limit);
        }
        if f > 0.9
            && let Some(after) = w.after
            && let Some(until) = now.checked_add(after)
        {
            s.pause_until = Some(s.pause_until.map_or(until, |p| p.max(until)));
        }
    } else if let Some(c) = s.cap {
        // 5 % per 200 ms, however long the window was.
        s.cap = Some(c * 1.05_f64.powf(elapsed / WINDOW.as_secs_f64()));
    }
    tracing::debug!(
        share = f,
        base,
        answers = w.answers,
        cap = ?s.cap,
        limit = s.limit,
        "throttling window"
    );
    s.shares.push_back(f);
    if s.shares.len() > FLOOR_WINDOWS {
        s.shares.pop_front();
    }
}

/// The governor quota for `rps` requests per second, one at a time (no bursts).
fn quota(rps: f64) -> Option<Quota> {
    if !(rps.is_finite() && rps > 0.0) {
        return None;
    }
    if rps >= 1.0 && rps.fract() == 0.0 && rps <= f64::from(u32::MAX) {
        return Some(Quota::per_second(NonZeroU32::new(rps as u32)?).allow_burst(NonZeroU32::MIN));
    }
    Quota::with_period(Duration::from_secs_f64(1.0 / rps))
}

impl Limiter {
    pub(crate) fn new(limits: Limits) -> Limiter {
        let n = limits.concurrency.max(1);
        let max = n as f64;
        Limiter {
            waiting: std::sync::Arc::default(),
            sem: Semaphore::new(n),
            state: Mutex::new(GateState {
                limit: max,
                max,
                min_seen: max,
                issued: n,
                pause_until: None,
                window: Window {
                    start: Instant::now(),
                    answers: 0,
                    throttled: 0,
                    after: None,
                    saturated: false,
                },
                shares: std::collections::VecDeque::new(),
                cap: None,
                next_slot: Instant::now(),
                limiting: false,
            }),
            rate: limits.max_rps.and_then(quota).map(RateLimiter::direct),
            counters: Counters::default(),
        }
    }

    /// Waits for a slot, the end of a pause and the rate limit; then the request may go.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        if self.sem.available_permits() == 0
            && let Ok(mut s) = self.state.lock()
        {
            s.window.saturated = true;
        }
        if let Ok(p) = self.sem.acquire().await {
            p.forget();
        }
        let permit = Permit {
            limiter: self,
            signal: None,
        };
        loop {
            let pause = self.state.lock().ok().and_then(|s| s.pause_until);
            match pause {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => break,
            }
        }
        // The adaptive cap: each request takes the next slot of the pacing clock.
        let slot = self.state.lock().ok().and_then(|mut s| {
            let cap = s.cap?;
            let now = Instant::now();
            let at = s.next_slot.max(now);
            s.next_slot = at + Duration::from_secs_f64(1.0 / cap.max(1.0));
            (at > now).then_some(at)
        });
        if let Some(at) = slot {
            tokio::time::sleep_until(at.into()).await;
        }
        if let Some(rate) = &self.rate {
            rate.until_ready().await;
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        permit
    }

    fn release(&self, signal: Signal) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        match signal {
            Signal::Answered => {
                s.window.answers += 1;
                if !s.limiting {
                    s.limit = (s.limit + 1.0 / s.limit).min(s.max);
                }
            }
            Signal::Throttled(after) => {
                self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                s.window.answers += 1;
                s.window.throttled += 1;
                if let Some(a) = after {
                    s.window.after = Some(s.window.after.map_or(a, |b| b.max(a)));
                }
            }
            Signal::NoAnswer => {}
        }
        if now.duration_since(s.window.start) >= WINDOW {
            judge(&mut s, now);
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

    /// The lowest the adaptive limit went.
    pub(crate) fn min_seen(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.min_seen.floor() as usize)
            .unwrap_or(1)
    }

    pub(crate) fn tally(&self) -> Tally {
        Tally {
            requests: self.counters.requests.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            throttled: self.counters.throttled.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_for_whole_and_fractional_rates() {
        assert!(quota(0.0).is_none());
        assert!(quota(f64::NAN).is_none());
        assert!(quota(-3.0).is_none());
        assert_eq!(
            quota(2.0).map(|q| q.replenish_interval()),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            quota(0.5).map(|q| q.replenish_interval()),
            Some(Duration::from_secs(2))
        );
    }

    /// One window of `n` answers, `throttled` of them throttled, closed after [`WINDOW`].
    async fn window(l: &Limiter, n: u32, throttled: u32) {
        for i in 0..n {
            let signal = if i % 10 < throttled * 10 / n {
                Signal::Throttled(None)
            } else {
                Signal::Answered
            };
            l.acquire().await.done(signal);
        }
        std::thread::sleep(WINDOW + Duration::from_millis(5));
        l.acquire().await.done(Signal::Answered);
    }

    #[tokio::test]
    async fn a_steady_share_is_left_alone_and_a_throttled_majority_halves_the_limit() {
        let l = Limiter::new(Limits {
            concurrency: 8,
            max_rps: None,
        });
        // 30 % throttled, window after window: a busy server, not a limit.
        for _ in 0..4 {
            window(&l, 100, 30).await;
        }
        assert_eq!(l.min_seen(), 8);
        // 80 %: the server is limiting us.
        window(&l, 100, 80).await;
        assert_eq!(l.min_seen(), 4);
        assert_eq!(l.tally().throttled, 4 * 30 + 80);
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_does_not_overflow() {
        let l = Limiter::new(Limits::default());
        l.acquire()
            .await
            .done(Signal::Throttled(Some(Duration::from_secs(u64::MAX))));
        // No panic; the pause is simply not set when it cannot be represented.
        assert!(l.state.lock().unwrap().pause_until.is_none());
    }
}
