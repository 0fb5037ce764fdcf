//! When and how long to wait before trying a request again: a policy as
//! data, so every call site retries the same way.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `attempt + 1` (after `attempt` failures, from 1):
    /// capped exponential backoff with full jitter. `jitter` is a random
    /// number in [0, 1), supplied by the caller so this stays pure.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        exponential
            .min(self.max_delay)
            .mul_f64(jitter.clamp(0.0, 1.0))
    }

    pub fn should_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

/// Whether an HTTP answer is worth retrying: throttling and server errors.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Error codes AWS services use for throttling, whatever the status.
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "RequestThrottled"
            | "InternalError"
            | "ServiceUnavailable"
            | "InternalServiceException"
            | "ConcurrentModificationException"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(p.delay(30, 1.0), Duration::from_secs(5));
        assert_eq!(p.delay(3, 0.5), Duration::from_millis(200));
        assert_eq!(p.delay(3, 0.0), Duration::ZERO);
        assert!(p.should_retry(4) && !p.should_retry(5));
    }

    #[test]
    fn retryable_answers() {
        assert!(is_retryable_status(503) && is_retryable_status(500) && is_retryable_status(429));
        assert!(
            !is_retryable_status(403) && !is_retryable_status(404) && !is_retryable_status(200)
        );
        assert!(is_throttling_code("SlowDown") && !is_throttling_code("AccessDenied"));
    }
}
