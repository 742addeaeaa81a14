//! Retrying a request: exponential backoff with full jitter, honouring `Retry-After`.
//!
//! Used for the read-only meta and record GETs here, and by the upload stage for PUTs
//! (a PUT is create-or-update, so repeating one is safe).

use std::future::Future;
use std::time::Duration;

use super::ApiError;
use crate::rng::Rng;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff ceiling; doubles per attempt.
    pub base: Duration,
    /// No single wait is longer than this (a `Retry-After` above it is capped too).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): full jitter,
    /// `random(0, min(cap, base * 2^(attempt-1)))`, or the server's `Retry-After` when it
    /// sent one (capped).
    pub fn delay(&self, attempt: u32, err: &ApiError, rng: &mut Rng) -> Duration {
        if let Some(after) = err.retry_after() {
            return after.min(self.cap);
        }
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.cap);
        ceiling.mul_f64(rng.next_f64())
    }

    /// Runs `op` until it succeeds, fails with a non-retryable error, or the attempts are
    /// spent. Returns the result and how many retries were made.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> (Result<T, ApiError>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut rng = Rng::from_time();
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return (Ok(v), attempt - 1),
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    let wait = self.delay(attempt, &e, &mut rng);
                    tracing::debug!(attempt, ?wait, error = %e.short(), "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return (Err(e), attempt - 1),
            }
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

    #[test]
    fn delays_grow_and_are_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        let mut rng = Rng::seeded(42);
        let e = unavailable(None);
        for attempt in 1..10 {
            let d = p.delay(attempt, &e, &mut rng);
            let ceiling = Duration::from_millis(100 * (1 << (attempt - 1))).min(p.cap);
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::default();
        let mut rng = Rng::seeded(1);
        assert_eq!(
            p.delay(1, &unavailable(Some(3)), &mut rng),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(1, &unavailable(Some(300)), &mut rng),
            Duration::from_secs(20)
        );
    }

    #[tokio::test]
    async fn stops_on_permanent_errors() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let mut calls = 0;
        let (r, retries): (Result<(), _>, _) = p
            .run(|| {
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
        assert!(r.is_err());
        assert_eq!(retries, 0);
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let p = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let mut calls = 0;
        let (r, retries): (Result<(), _>, _) = p
            .run(|| {
                calls += 1;
                async { Err(unavailable(None)) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!((calls, retries), (3, 2));
    }
}
