//! The one retry policy of every request (backon): exponential backoff with full jitter,
//! honouring `Retry-After`, stopping at once when the run is stopped.
//!
//! - Retried: connection errors, timeouts, 408, 429, 500, 502, 503 and 504. Every request the
//!   client sends is safe to repeat: GETs read, a PUT is create-or-update, and a DELETE that
//!   finds nothing says so (404), which the caller counts as done.
//! - The wait after the n-th failed attempt is `random(0, min(2 s, cap, base · 2ⁿ⁻¹))` ("full
//!   jitter"), or the server's `Retry-After` (capped by `cap`) when it sent one.
//! - A throttling answer (429, or 503 with `Retry-After`) is the server scheduling the
//!   request, not a failure of it: it does not use up an attempt (at most [`MAX_SCHEDULED`]
//!   times). The request waits the `Retry-After` (capped) plus up to a tenth more, so requests
//!   throttled together do not all come back in the same instant; without one, the backoff.
//! - While a request waits, it is counted in [`Waiting`], so the sender can keep other records
//!   going meanwhile (a wait holds no slot of the limit).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio_util::sync::CancellationToken;

use super::ApiError;

/// The longest backoff between attempts (a `Retry-After` may be longer, up to the cap). The
/// backoff spreads the retries of one record; the load on a struggling server is bounded by
/// the limiter's windows (the concurrency halves and a rate cap is set), so a longer one only
/// makes the last records of an import wait: at 15 % random 503s, waits of 4 s and more made
/// the writing of 10,000 records take 12 s instead of 6 s.
pub(crate) const BACKOFF_CEILING: Duration = Duration::from_secs(2);

/// Throttling answers with `Retry-After` one request may get without using up its attempts.
pub(crate) const MAX_SCHEDULED: u32 = 100;

/// Requests waiting to be tried again, and a signal each time one starts waiting.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    pub(crate) now: std::sync::atomic::AtomicUsize,
    pub(crate) started: tokio::sync::Notify,
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub(crate) max_attempts: u32,
    /// The first backoff ceiling; doubles per attempt.
    pub(crate) base: Duration,
    /// No single wait is longer than this (a `Retry-After` above it is capped too).
    pub(crate) cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
        }
    }
}

/// The result of a request through its retries.
#[derive(Debug)]
pub(crate) struct Tried<T> {
    pub(crate) result: Result<T, ApiError>,
    /// Attempts made (at least 1 unless stopped before the first).
    pub(crate) attempts: u32,
}

impl RetryPolicy {
    /// The ceiling of the backoff after `failures` failed attempts: `base · 2ⁿ⁻¹`, at most
    /// [`BACKOFF_CEILING`] and `cap`. Counting failures rather than answers matters: a record
    /// throttled five times and then answered 503 waited up to 2 s where 0.2 s was meant,
    /// which was the last second of the 30 % faults benchmark.
    pub(crate) fn backoff_ceiling(&self, failures: u32) -> Duration {
        let ceiling = self.cap.min(BACKOFF_CEILING).max(Duration::from_millis(1));
        let doubled = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
        self.base
            .max(Duration::from_millis(1))
            .saturating_mul(doubled)
            .min(ceiling)
    }

    /// The server's `Retry-After`, capped.
    pub(crate) fn capped(&self, after: Duration) -> Duration {
        after.min(self.cap)
    }

    /// Runs `attempt` until it succeeds, fails with an error that is not worth repeating, the
    /// attempts are spent, or `stop` is cancelled (waits end at once then).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        stop: &CancellationToken,
        waiting: Option<std::sync::Arc<Waiting>>,
        mut attempt: F,
    ) -> Tried<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let attempts = AtomicU32::new(0);
        let failures = AtomicU32::new(0);
        let scheduled = AtomicU32::new(0);
        let backoff = ExponentialBuilder::new()
            .with_min_delay(self.base.max(Duration::from_millis(1)))
            .with_max_delay(self.cap.min(BACKOFF_CEILING).max(Duration::from_millis(1)))
            .with_factor(2.0)
            .without_max_times();
        let op = || {
            attempts.fetch_add(1, Relaxed);
            attempt()
        };
        let sleep_stop = stop.clone();
        let result = op
            .retry(backoff)
            .sleep(move |d: Duration| {
                let stop = sleep_stop.clone();
                let waiting = waiting.clone();
                async move {
                    if let Some(w) = &waiting {
                        w.now.fetch_add(1, Relaxed);
                        w.started.notify_one();
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = stop.cancelled() => {}
                    }
                    if let Some(w) = &waiting {
                        w.now.fetch_sub(1, Relaxed);
                    }
                }
            })
            .when(|e: &ApiError| e.is_retryable() && !stop.is_cancelled())
            .adjust(|e: &ApiError, next: Option<Duration>| {
                let scheduling =
                    e.is_throttle() && (e.retry_after().is_some() || e.status() == Some(429));
                if scheduling && scheduled.load(Relaxed) < MAX_SCHEDULED {
                    scheduled.fetch_add(1, Relaxed);
                    return Some(match e.retry_after() {
                        // Capped first: a Retry-After of u64::MAX seconds must not overflow.
                        Some(after) => {
                            let a = self.capped(after);
                            self.capped(a.mul_f64(1.0 + 0.1 * fastrand::f64()))
                        }
                        // A 429 without a time: the backoff's ceiling for this round, jittered.
                        None => next
                            .unwrap_or(self.base)
                            .mul_f64(fastrand::f64())
                            .max(self.base),
                    });
                }
                let failed = failures.fetch_add(1, Relaxed) + 1;
                if failed >= self.max_attempts {
                    return None;
                }
                // Full jitter: anywhere between no wait and the exponential ceiling, which
                // doubles per failure; scheduled waits are not failures and do not raise it.
                Some(self.backoff_ceiling(failed).mul_f64(fastrand::f64()))
            })
            .notify(|e: &ApiError, wait: Duration| {
                tracing::debug!(?wait, error = %e.short(), "retrying");
            })
            .await;
        Tried {
            result,
            attempts: attempts.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(retry_after: Option<u64>) -> ApiError {
        ApiError::Status {
            request: "GET x".into(),
            status: 503,
            message: String::new(),
            help: None,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn stops_on_permanent_errors() {
        let mut calls = 0;
        let t: Tried<()> = quick(5)
            .run(&CancellationToken::new(), None, || {
                calls += 1;
                async {
                    Err(ApiError::Status {
                        request: "PUT x".into(),
                        status: 400,
                        message: "bad".into(),
                        help: None,
                        retry_after: None,
                    })
                }
            })
            .await;
        assert!(t.result.is_err());
        assert_eq!((calls, t.attempts), (1, 1));
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let mut calls = 0;
        let t: Tried<()> = quick(3)
            .run(&CancellationToken::new(), None, || {
                calls += 1;
                async { Err(unavailable(None)) }
            })
            .await;
        assert!(t.result.is_err());
        assert_eq!((calls, t.attempts), (3, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_capped_and_does_not_use_up_attempts() {
        let policy = RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(1),
            cap: Duration::from_secs(5),
        };
        let started = tokio::time::Instant::now();
        let mut calls = 0;
        let t: Tried<u32> = policy
            .run(&CancellationToken::new(), None, || {
                calls += 1;
                let n = calls;
                async move {
                    if n <= 3 {
                        Err(unavailable(Some(3600)))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(t.result.unwrap(), 4);
        // Three scheduled waits of Retry-After 3600 s, each capped at 5 s.
        assert_eq!(started.elapsed(), Duration::from_secs(15));
        assert_eq!(t.attempts, 4);
    }

    #[test]
    fn the_backoff_ceiling_doubles_per_failure_up_to_the_ceiling() {
        let p = RetryPolicy::default();
        let ms = |n| p.backoff_ceiling(n).as_millis();
        assert_eq!(
            [ms(1), ms(2), ms(3), ms(4), ms(5)],
            [200, 400, 800, 1600, 2000]
        );
        assert_eq!(ms(u32::MAX), 2000);
        let tight = RetryPolicy {
            cap: Duration::from_millis(300),
            ..p
        };
        assert_eq!(tight.backoff_ceiling(9).as_millis(), 300);
    }

    #[tokio::test(start_paused = true)]
    async fn scheduled_waits_do_not_raise_the_backoff_of_a_later_failure() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(20),
        };
        let started = tokio::time::Instant::now();
        let mut calls = 0;
        let t: Tried<u32> = policy
            .run(&CancellationToken::new(), None, || {
                calls += 1;
                let n = calls;
                async move {
                    match n {
                        1..=6 => Err(ApiError::Status {
                            request: "PUT x".into(),
                            status: 429,
                            message: String::new(),
                            help: None,
                            retry_after: Some(Duration::from_secs(1)),
                        }),
                        7 => Err(unavailable(None)),
                        _ => Ok(n),
                    }
                }
            })
            .await;
        assert_eq!(t.result.unwrap(), 8);
        // Six waits of 1 s (+ up to a tenth each), then one backoff of at most 100 ms: the
        // first failure's, not the seventh answer's (which would be up to 2 s).
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(6), "{waited:?}");
        assert!(waited <= Duration::from_millis(6_600 + 100), "{waited:?}");
    }

    #[tokio::test]
    async fn a_stop_ends_the_wait_and_the_retries() {
        let stop = CancellationToken::new();
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_secs(60),
            cap: Duration::from_secs(60),
        };
        let s = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.cancel();
        });
        let started = std::time::Instant::now();
        let t: Tried<()> = policy
            .run(&stop, None, || async { Err(unavailable(None)) })
            .await;
        assert!(t.result.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
        // Stopped before the attempts ran out (a full-jitter wait may be near zero, so one
        // or two more attempts can fit into the first 20 ms).
        assert!(t.attempts < 10, "{}", t.attempts);
    }
}
