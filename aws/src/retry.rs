//! When and how long to wait before trying a request again: a policy as
//! data, so every call site retries the same way.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (`AWS_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// `AWS_RETRY_MODE`.
    pub mode: RetryMode,
}

/// `AWS_RETRY_MODE`, as the AWS SDKs and CLI read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryMode {
    /// Backoff with jitter between tries (`legacy` is taken as this).
    Standard,
    /// The same, and every request of the process is also slowed down while
    /// AWS throttles (a client-side rate limit that recovers on success).
    Adaptive,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            mode: RetryMode::Standard,
        }
    }
}

impl RetryPolicy {
    /// The default policy with `AWS_MAX_ATTEMPTS` (tries in all, from 1)
    /// and `AWS_RETRY_MODE` (`standard`, `adaptive`; `legacy` is taken as
    /// `standard`) applied; `var` reads one variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut policy = RetryPolicy::default();
        if let Some(text) = var("AWS_MAX_ATTEMPTS").filter(|v| !v.trim().is_empty()) {
            policy.max_attempts = text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    format!("AWS_MAX_ATTEMPTS={text:?}: give the number of tries in all, 1 to 100")
                })?;
        }
        if let Some(text) = var("AWS_RETRY_MODE").filter(|v| !v.trim().is_empty()) {
            policy.mode = match text.trim().to_ascii_lowercase().as_str() {
                "standard" | "legacy" => RetryMode::Standard,
                "adaptive" => RetryMode::Adaptive,
                _ => return Err(format!("AWS_RETRY_MODE={text:?}: use standard or adaptive")),
            };
        }
        Ok(policy)
    }

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

/// Adaptive mode's client-side rate limit, as a least gap between two
/// requests of the process: doubled (from 20 ms, up to 2 s) on each
/// throttled answer, halved on each success (none once under 5 ms). A
/// simpler cousin of the SDKs' CUBIC token bucket, with the same effect:
/// a throttled process sends less until AWS accepts again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveRate {
    pub gap: Duration,
}

impl AdaptiveRate {
    pub fn throttled(&mut self) {
        self.gap = (self.gap * 2)
            .max(Duration::from_millis(20))
            .min(Duration::from_secs(2));
    }

    pub fn succeeded(&mut self) {
        self.gap /= 2;
        if self.gap < Duration::from_millis(5) {
            self.gap = Duration::ZERO;
        }
    }
}

/// What to do about an answer that was not a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Final: the caller reads it (404, 403 AccessDenied, 412 and 409 of a
    /// conditional write, ...).
    Final,
    /// Try again after a backoff.
    Retry,
    /// Throttled: try again after a backoff, and in adaptive mode slow
    /// every request down.
    Throttled,
    /// The credentials expired: fetch them again, then try again.
    RefreshCredentials,
    /// The request's time is too far from the server's: sign with the
    /// server's clock (its `Date` header), then try again.
    CorrectClock,
}

/// How to treat an answer of `status` with AWS error code `code`, as the
/// AWS SDKs' standard retry mode does.
pub fn classify(status: u16, code: Option<&str>) -> Verdict {
    // Conditional writes (If-Match, If-None-Match) lost to another writer:
    // the caller decides, a retry would only lose again.
    if status == 412
        || code == Some("PreconditionFailed")
        || code == Some("ConditionalRequestConflict")
    {
        return Verdict::Final;
    }
    match code {
        Some(code) if is_expired_credentials_code(code) => return Verdict::RefreshCredentials,
        Some(code) if is_clock_skew_code(code) => return Verdict::CorrectClock,
        Some(code) if is_throttling_code(code) => return Verdict::Throttled,
        Some(code) if is_transient_code(code) => return Verdict::Retry,
        _ => {}
    }
    match status {
        429 => Verdict::Throttled,
        _ if is_retryable_status(status) => Verdict::Retry,
        _ => Verdict::Final,
    }
}

/// Codes of credentials that expired while in use (a session token).
pub fn is_expired_credentials_code(code: &str) -> bool {
    matches!(
        code,
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired"
    )
}

/// Codes of a request signed with a clock too far off the server's.
pub fn is_clock_skew_code(code: &str) -> bool {
    matches!(
        code,
        "RequestTimeTooSkewed"
            | "RequestExpired"
            | "RequestInTheFuture"
            | "InvalidSignatureException"
    )
}

/// Codes of failures a retry can fix, whatever the status (S3's
/// `RequestTimeout` comes as HTTP 400).
pub fn is_transient_code(code: &str) -> bool {
    matches!(
        code,
        "RequestTimeout" | "RequestTimeoutException" | "PriorRequestNotComplete"
    )
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
    fn variables_set_the_tries_and_the_mode() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            RetryPolicy::from_vars(vars(&[])).unwrap(),
            RetryPolicy::default()
        );
        let policy = RetryPolicy::from_vars(vars(&[
            ("AWS_MAX_ATTEMPTS", "3"),
            ("AWS_RETRY_MODE", "Adaptive"),
        ]))
        .unwrap();
        assert_eq!((policy.max_attempts, policy.mode), (3, RetryMode::Adaptive));
        assert_eq!(
            RetryPolicy::from_vars(vars(&[("AWS_RETRY_MODE", "legacy")]))
                .unwrap()
                .mode,
            RetryMode::Standard
        );
        assert!(RetryPolicy::from_vars(vars(&[("AWS_MAX_ATTEMPTS", "0")]))
            .unwrap_err()
            .starts_with("AWS_MAX_ATTEMPTS=\"0\""));
        assert!(RetryPolicy::from_vars(vars(&[("AWS_RETRY_MODE", "eager")]))
            .unwrap_err()
            .contains("standard or adaptive"));
    }

    #[test]
    fn answers_are_classified_as_the_sdks_do() {
        assert_eq!(classify(400, Some("RequestTimeout")), Verdict::Retry);
        assert_eq!(
            classify(403, Some("RequestTimeTooSkewed")),
            Verdict::CorrectClock
        );
        assert_eq!(
            classify(400, Some("ExpiredToken")),
            Verdict::RefreshCredentials
        );
        assert_eq!(classify(503, Some("SlowDown")), Verdict::Throttled);
        assert_eq!(classify(429, None), Verdict::Throttled);
        assert_eq!(classify(500, None), Verdict::Retry);
        assert_eq!(classify(403, Some("AccessDenied")), Verdict::Final);
        assert_eq!(classify(404, Some("NoSuchKey")), Verdict::Final);
        // Conditional writes are never retried here.
        assert_eq!(classify(412, Some("PreconditionFailed")), Verdict::Final);
        assert_eq!(classify(412, None), Verdict::Final);
        assert_eq!(
            classify(409, Some("ConditionalRequestConflict")),
            Verdict::Final
        );
    }

    #[test]
    fn the_adaptive_gap_grows_when_throttled_and_shrinks_on_success() {
        let mut rate = AdaptiveRate::default();
        rate.throttled();
        assert_eq!(rate.gap, Duration::from_millis(20));
        for _ in 0..20 {
            rate.throttled();
        }
        assert_eq!(rate.gap, Duration::from_secs(2));
        for _ in 0..8 {
            rate.succeeded();
        }
        assert_eq!(
            rate.gap,
            Duration::from_micros(7812) + Duration::from_nanos(500)
        );
        rate.succeeded();
        assert_eq!(rate.gap, Duration::ZERO);
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
