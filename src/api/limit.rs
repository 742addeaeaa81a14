//! One limit for every request a client sends — the catalog's reads, the comparison's GET
//! windows, the PUTs of an import and the DELETEs of an undo: at most `--concurrency` in
//! flight, at most `--max-rps` per second (governor), and a pause when the server asks for one.
//!
//! The number in flight adapts (AIMD): one more per round of successful answers, half on a
//! burst of throttling answers (429/503, at most one cut per 250 ms), never above the
//! configured concurrency. It is a semaphore whose permits are topped up to the current limit
//! as requests finish, so a waiting request is woken one at a time.

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

struct GateState {
    limit: f64,
    max: f64,
    min_seen: f64,
    /// Permits in existence: available in the semaphore plus in flight.
    issued: usize,
    pause_until: Option<Instant>,
    last_cut: Option<Instant>,
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
            sem: Semaphore::new(n),
            state: Mutex::new(GateState {
                limit: max,
                max,
                min_seen: max,
                issued: n,
                pause_until: None,
                last_cut: None,
            }),
            rate: limits.max_rps.and_then(quota).map(RateLimiter::direct),
            counters: Counters::default(),
        }
    }

    /// Waits for a slot, the end of a pause and the rate limit; then the request may go.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
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
            Signal::Answered => s.limit = (s.limit + 1.0 / s.limit).min(s.max),
            Signal::Throttled(after) => {
                self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                // One cut per burst of throttled answers, not one per answer.
                if s.last_cut
                    .is_none_or(|t| now.duration_since(t) > Duration::from_millis(250))
                {
                    s.limit = (s.limit / 2.0).max(1.0);
                    s.min_seen = s.min_seen.min(s.limit);
                    s.last_cut = Some(now);
                }
                if let Some(d) = after
                    && let Some(until) = now.checked_add(d)
                {
                    s.pause_until = Some(s.pause_until.map_or(until, |p| p.max(until)));
                }
            }
            Signal::NoAnswer => {}
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

    #[tokio::test]
    async fn throttling_halves_the_limit_and_successes_bring_it_back() {
        let l = Limiter::new(Limits {
            concurrency: 8,
            max_rps: None,
        });
        l.acquire().await.done(Signal::Throttled(None));
        assert_eq!(l.min_seen(), 4);
        for _ in 0..200 {
            l.acquire().await.done(Signal::Answered);
        }
        assert_eq!(l.sem.available_permits(), 8);
        assert_eq!(l.tally().requests, 201);
        assert_eq!(l.tally().throttled, 1);
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
