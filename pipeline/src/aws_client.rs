//! AWS configuration and signed calls with retries, over whichever HTTP
//! transport the host has. The requests themselves are built by
//! `summary-aws`; sending them is the host's `Transport`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::error::{Context, Error, Result};
use summary_aws::credentials;
use summary_aws::request::{sign_request, Credentials, Endpoint, HttpRequest, SigningProfile};
use summary_aws::retry::{classify, AdaptiveRate, RetryMode, RetryPolicy, Verdict};
use summary_aws::s3::{validate_bucket_name, validate_key_prefix, InvalidName, S3Endpoint};
use summary_lake::text::{excerpt, quoted};

/// Where and as whom to call AWS, read the AWS way from the environment.
#[derive(Clone, Debug)]
pub struct AwsConfig {
    pub region: String,
    /// How requests are signed (fixed keys, or none); an error only
    /// matters once a call needs them (replay into a local lake needs
    /// none). A client with a `CredentialsProvider` (the native host's
    /// aws-config chain) uses that instead, unless this is `Anonymous`.
    pub credentials: Result<credentials::Source, String>,
    pub s3: S3Endpoint,
    pub glue: Endpoint,
    pub sqs: Endpoint,
    /// Longest one HTTP exchange may take before it counts as failed (and is retried).
    pub request_timeout: Duration,
    /// `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`.
    pub retry: RetryPolicy,
}

impl AwsConfig {
    /// Read the AWS way from variables named as in the environment:
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ENDPOINT_URL_S3`,
    /// `AWS_ENDPOINT_URL_GLUE`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL`,
    /// `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`. A custom S3 endpoint is
    /// addressed path-style unless `AWS_S3_FORCE_PATH_STYLE` is a "no"
    /// (`false`, `0`, `no`, `off`). The native host passes the environment
    /// with aws-config's region and the flags over it; the Spin app its
    /// variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let credentials = credentials::source(var);
        let shared = var("AWS_ENDPOINT_URL");
        let s3 = match var("AWS_ENDPOINT_URL_S3").or_else(|| shared.clone()) {
            Some(url) => S3Endpoint {
                endpoint: Endpoint::parse(&url)
                    .map_err(Error::Permanent)
                    .context("AWS_ENDPOINT_URL_S3")?,
                path_style: match var("AWS_S3_FORCE_PATH_STYLE") {
                    None => true,
                    value => {
                        summary_aws::boolean::setting("AWS_S3_FORCE_PATH_STYLE", value.as_deref())
                            .map_err(Error::Permanent)?
                    }
                },
            },
            None => S3Endpoint::aws(&region),
        };
        let service_endpoint = |variable: &str, aws: fn(&str) -> Endpoint| match var(variable)
            .or_else(|| shared.clone())
        {
            Some(url) => Endpoint::parse(&url)
                .map_err(Error::Permanent)
                .context(variable),
            None => Ok(aws(&region)),
        };
        let glue = service_endpoint("AWS_ENDPOINT_URL_GLUE", summary_aws::glue::aws_endpoint)?;
        let sqs = service_endpoint("AWS_ENDPOINT_URL_SQS", summary_aws::sqs::aws_endpoint)?;
        let retry = RetryPolicy::from_vars(var).map_err(Error::Permanent)?;
        Ok(AwsConfig {
            region,
            credentials,
            s3,
            glue,
            sqs,
            request_timeout: Duration::from_secs(60),
            retry,
        })
    }
}

/// An HTTP answer with its body read (up to the caller's cap).
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        summary_aws::request::find_header(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends one request and reads its answer: the host's HTTP client. Failing
/// to get an answer at all is a `CallError` (retryable unless the answer
/// was refused for its size); any answer, whatever its status, is `Ok`.
pub trait Transport: Send + Sync {
    fn send(&self, request: &HttpRequest, max_body: u64) -> Result<HttpResponse, CallError>;
}

/// Refuses an answer whose declared length is over `max_body`, before its
/// body is read.
pub fn check_declared_length(
    request: &HttpRequest,
    headers: &[(String, String)],
    max_body: u64,
) -> Result<(), CallError> {
    let declared = summary_aws::request::find_header(headers, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > max_body => Err(CallError {
            message: format!(
                "{request:?}: answer of {length} bytes is over the {max_body}-byte limit"
            ),
            retryable: false,
            too_large: true,
        }),
        _ => Ok(()),
    }
}

/// Refuses a body read up to `max_body + 1` bytes that went over.
pub fn check_read_length(
    request: &HttpRequest,
    body: &[u8],
    max_body: u64,
) -> Result<(), CallError> {
    if body.len() as u64 > max_body {
        return Err(CallError {
            message: format!("{request:?}: answer over the {max_body}-byte limit"),
            retryable: false,
            too_large: true,
        });
    }
    Ok(())
}

/// Where credentials come from when the host knows better than the
/// variables (the native host: `aws-config`'s default chain).
pub trait CredentialsProvider: Send + Sync {
    /// Credentials fetched now, and when they expire (`None`: never).
    fn provide(&self) -> Result<(Credentials, Option<SystemTime>), String>;
}

/// Signs, sends and retries AWS calls.
pub struct AwsClient {
    pub config: AwsConfig,
    transport: Box<dyn Transport>,
    pub retry: RetryPolicy,
    /// The host's credentials provider, if it has one: it then takes the
    /// place of `config.credentials`.
    provider: Option<Box<dyn CredentialsProvider>>,
    /// Credentials from `provider`, and when they expire; fetched again
    /// shortly before, or when AWS says they expired.
    fetched: Mutex<Option<(Credentials, Option<SystemTime>)>>,
    /// How far the servers' clock is ahead of ours, in milliseconds (learnt
    /// from a `RequestTimeTooSkewed` answer's `Date`); requests are signed
    /// with the servers' time.
    clock_skew_ms: Mutex<i64>,
    /// Adaptive retry mode's least gap between requests, and when the
    /// next request may go.
    rate: Mutex<(AdaptiveRate, Option<std::time::Instant>)>,
}

/// A request failed: how, and whether trying again later could help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CallError {
    pub message: String,
    pub retryable: bool,
    /// The answer was over the caller's size limit (refused, not read).
    pub too_large: bool,
}

/// A bucket or key no request could be built with: nothing was sent, and
/// trying again cannot help.
impl From<InvalidName> for CallError {
    fn from(error: InvalidName) -> Self {
        CallError {
            message: error.to_string(),
            retryable: false,
            too_large: false,
        }
    }
}

impl AwsClient {
    pub fn new(config: AwsConfig, transport: Box<dyn Transport>) -> Self {
        AwsClient {
            retry: config.retry,
            config,
            transport,
            provider: None,
            fetched: Mutex::new(None),
            clock_skew_ms: Mutex::new(0),
            rate: Mutex::new((AdaptiveRate::default(), None)),
        }
    }

    /// Takes credentials from `provider` instead of `config.credentials`.
    pub fn with_credentials_provider(mut self, provider: Box<dyn CredentialsProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The credentials to sign with now (`None`: send unsigned): fixed ones
    /// from the variables, or the provider's, fetched (with retries) and
    /// cached until shortly before they expire.
    pub fn credentials(&self) -> Result<Option<Credentials>, CallError> {
        let fail = |message: String, retryable| CallError {
            message,
            retryable,
            too_large: false,
        };
        let provider = match (&self.provider, &self.config.credentials) {
            (_, Ok(credentials::Source::Anonymous)) => return Ok(None),
            (Some(provider), _) => provider,
            (None, Ok(credentials::Source::Environment(fixed))) => return Ok(Some(fixed.clone())),
            (None, Err(message)) => return Err(fail(message.clone(), false)),
        };
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((credentials, expiration)) = fetched.as_ref() {
            if !credentials::needs_refresh(*expiration, SystemTime::now()) {
                return Ok(Some(credentials.clone()));
            }
        }
        // Fewer tries than a service call: off EC2 there is no IMDS to wait for.
        let retry = RetryPolicy {
            max_attempts: 3,
            ..self.retry
        };
        let mut attempt = 0;
        let (credentials, expiration) = loop {
            attempt += 1;
            match provider.provide() {
                Ok(answer) => break answer,
                Err(message) if retry.should_retry(attempt) => {
                    crate::metrics::retried("credentials");
                    tracing::warn!(attempt, %message, "fetching credentials failed");
                    std::thread::sleep(retry.delay(attempt, fastrand::f64()));
                }
                Err(message) => {
                    return Err(fail(format!("{message} (after {attempt} tries)"), true));
                }
            }
        };
        tracing::info!(access_key_id = %credentials.access_key_id, ?expiration, "credentials fetched");
        *fetched = Some((credentials.clone(), expiration));
        Ok(Some(credentials))
    }

    /// Sends a request built by `build` (rebuilt and re-signed each try),
    /// retrying what the AWS SDKs retry (`summary_aws::retry::classify`):
    /// transport errors, throttling, 5xx answers, S3's `RequestTimeout`;
    /// after `ExpiredToken` the credentials are fetched again, after
    /// `RequestTimeTooSkewed` requests are signed with the server's clock.
    /// Any other answer is returned for the caller to read. Bodies longer
    /// than `max_body` bytes are refused.
    pub fn call(
        &self,
        profile: SigningProfile,
        service: &str,
        max_body: u64,
        build: impl Fn() -> HttpRequest,
    ) -> Result<HttpResponse, CallError> {
        let mut credentials = self.credentials()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_for_rate_limit();
            let mut request = build();
            if let Some(credentials) = &credentials {
                sign_request(
                    &mut request,
                    profile,
                    service,
                    &self.config.region,
                    credentials,
                    self.signing_time(),
                )
                .map_err(|e| CallError {
                    message: e.to_string(),
                    retryable: false,
                    too_large: false,
                })?;
            }
            let started = std::time::Instant::now();
            let mut refresh_credentials = false;
            let (cause, message) = match self.send(&request, max_body) {
                Ok(response) if response.is_success() => {
                    self.adjust_rate(AdaptiveRate::succeeded);
                    return Ok(response);
                }
                Ok(response) => {
                    let code = error_code(&response);
                    let verdict = classify(response.status, code.as_deref());
                    if verdict == Verdict::Final && credentials.is_none() && response.status == 403
                    {
                        {
                            return Err(CallError {
                                message: describe_failure(
                                    &format!(
                                        "{request:?} sent unsigned (--no-sign-request): the bucket \
                                         does not allow anonymous access; drop --no-sign-request \
                                         to sign with your credentials"
                                    ),
                                    &response,
                                ),
                                retryable: false,
                                too_large: false,
                            });
                        }
                    }
                    let cause = match verdict {
                        Verdict::Final => return Ok(response),
                        Verdict::Retry => "server_error",
                        Verdict::Throttled => {
                            self.adjust_rate(AdaptiveRate::throttled);
                            "throttled"
                        }
                        Verdict::RefreshCredentials => {
                            refresh_credentials = true;
                            "expired_credentials"
                        }
                        Verdict::CorrectClock => {
                            self.correct_clock(&response);
                            "clock_skew"
                        }
                    };
                    let message = format!(
                        "{request:?}: HTTP {} {}",
                        response.status,
                        code.unwrap_or_default()
                    );
                    (cause, message)
                }
                Err(e) if !e.retryable => return Err(e),
                Err(e) => ("transport", format!("{request:?}: {}", e.message)),
            };
            tracing::warn!(attempt, ms = started.elapsed().as_millis() as u64, %message, "AWS call failed");
            if !self.retry.should_retry(attempt) {
                return Err(CallError {
                    message: format!("{message} (after {attempt} tries)"),
                    retryable: true,
                    too_large: false,
                });
            }
            crate::metrics::retried(cause);
            std::thread::sleep(self.retry.delay(attempt, fastrand::f64()));
            if refresh_credentials {
                credentials = self.refresh_credentials()?;
            }
        }
    }

    /// Drops cached credentials and gets them again (after AWS said they
    /// expired, whatever their stated expiry).
    fn refresh_credentials(&self) -> Result<Option<Credentials>, CallError> {
        *self.fetched.lock().unwrap_or_else(|e| e.into_inner()) = None;
        tracing::info!("credentials expired in use: fetching them again");
        self.credentials()
    }

    /// Now by the servers' clock, as far as it is known.
    fn signing_time(&self) -> SystemTime {
        let skew = *self.clock_skew_ms.lock().unwrap_or_else(|e| e.into_inner());
        let now = SystemTime::now();
        if skew >= 0 {
            now + Duration::from_millis(skew as u64)
        } else {
            now - Duration::from_millis(skew.unsigned_abs())
        }
    }

    /// Learns the servers' clock from a skew error's `Date` header.
    fn correct_clock(&self, response: &HttpResponse) {
        let Some(server) = response
            .header("date")
            .and_then(credentials::parse_http_date)
        else {
            return;
        };
        let skew_ms = match server.duration_since(SystemTime::now()) {
            Ok(ahead) => ahead.as_millis() as i64,
            Err(behind) => -(behind.duration().as_millis() as i64),
        };
        tracing::warn!(
            skew_ms,
            "this machine's clock is off AWS's: signing with AWS's time"
        );
        *self.clock_skew_ms.lock().unwrap_or_else(|e| e.into_inner()) = skew_ms;
    }

    /// In adaptive mode, waits until the least gap since the last request
    /// has passed (and claims the next slot).
    fn wait_for_rate_limit(&self) {
        if self.retry.mode != RetryMode::Adaptive {
            return;
        }
        let wait = {
            let mut rate = self.rate.lock().unwrap_or_else(|e| e.into_inner());
            let now = std::time::Instant::now();
            let slot = rate.1.map_or(now, |next| next.max(now));
            rate.1 = Some(slot + rate.0.gap);
            slot - now
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    fn adjust_rate(&self, change: fn(&mut AdaptiveRate)) {
        if self.retry.mode == RetryMode::Adaptive {
            change(&mut self.rate.lock().unwrap_or_else(|e| e.into_inner()).0);
        }
    }

    /// Sends an S3 request (signed, retried) if it could be built: a name
    /// S3 could not hold is a non-retryable error and nothing is sent.
    pub fn call_s3(
        &self,
        request: Result<HttpRequest, InvalidName>,
        max_body: u64,
    ) -> Result<HttpResponse, CallError> {
        let request = request?;
        self.call(SigningProfile::S3, "s3", max_body, || request.clone())
    }

    /// GETs `s3://bucket/key` (retried as every call): the answer, or
    /// `None` for a 404; any other answer is an error a retry would not fix.
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
        max_body: u64,
    ) -> Result<Option<HttpResponse>, CallError> {
        // Checked before anything is sent: the names may come from an event.
        let response = self
            .call_s3(self.config.s3.get_object(bucket, key), max_body)
            .map_err(|e| CallError {
                message: format!("fetching {}: {}", object_url(bucket, key), e.message),
                ..e
            })?;
        match response.status {
            200 => Ok(Some(response)),
            404 => Ok(None),
            _ => Err(CallError {
                message: describe_failure(&format!("GET {}", object_url(bucket, key)), &response),
                retryable: false,
                too_large: false,
            }),
        }
    }

    /// One exchange, not signed, not retried.
    pub fn send(&self, request: &HttpRequest, max_body: u64) -> Result<HttpResponse, CallError> {
        self.transport.send(request, max_body)
    }
}

/// The AWS error code of an answer: S3's XML `<Code>` or a JSON `__type`.
pub fn error_code(response: &HttpResponse) -> Option<String> {
    summary_aws::s3::parse_error(&response.body)
        .0
        .or_else(|| summary_aws::glue::error_type(&response.body).0)
}

/// A failed answer as a message: status, code and AWS's message.
pub fn describe_failure(what: &str, response: &HttpResponse) -> String {
    let (code, message) = match summary_aws::s3::parse_error(&response.body) {
        (Some(code), message) => (Some(code), message),
        _ => summary_aws::glue::error_type(&response.body),
    };
    format!(
        "{what}: HTTP {} {} {}",
        response.status,
        code.unwrap_or_default(),
        message.unwrap_or_default()
    )
    .trim_end()
    .to_string()
}

/// `s3://bucket/key` for a message, the key cut to a short excerpt.
pub fn object_url(bucket: &str, key: &str) -> String {
    format!("s3://{}/{}", excerpt(bucket), excerpt(key))
}

/// `s3://bucket[/prefix]` split into bucket and prefix (without slashes at
/// the ends), both checked as S3 names: the URL comes from the command line
/// or a Spin variable, and names a place requests will be sent to.
pub fn parse_s3_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| Error::Permanent(format!("{} is not an s3:// URL", quoted(url))))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::Permanent(format!("{} names no bucket", quoted(url))));
    }
    let prefix = prefix.trim_matches('/');
    validate_bucket_name(bucket)
        .and_then(|()| validate_key_prefix(prefix))
        .map_err(|e| {
            Error::Permanent(format!("{} is not a usable S3 location: {e}", quoted(url)))
        })?;
    Ok((bucket.to_string(), prefix.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_are_split_and_checked() {
        assert_eq!(
            parse_s3_url("s3://lake/serratus/").unwrap(),
            ("lake".into(), "serratus".into())
        );
        assert_eq!(
            parse_s3_url("s3://lake").unwrap(),
            ("lake".into(), "".into())
        );
        assert_eq!(
            parse_s3_url("s3://idx/index/runs.txt").unwrap(),
            ("idx".into(), "index/runs.txt".into())
        );
        for (url, message) in [
            ("lake/x", "\"lake/x\" is not an s3:// URL"),
            ("s3:///x", "\"s3:///x\" names no bucket"),
            (
                "s3://127.0.0.1:7777/x",
                "\"s3://127.0.0.1:7777/x\" is not a usable S3 location: bucket name \"127.0.0.1:7777\" is not a valid S3 bucket name: only lowercase letters, digits, '.' and '-' are allowed",
            ),
            (
                "s3://Lake/x",
                "\"s3://Lake/x\" is not a usable S3 location: bucket name \"Lake\" is not a valid S3 bucket name: only lowercase letters, digits, '.' and '-' are allowed",
            ),
            (
                "s3://lake/a/../b",
                "\"s3://lake/a/../b\" is not a usable S3 location: key prefix \"a/../b\" is not a valid S3 key prefix: it has a '.' or '..' path segment, which HTTP clients resolve to another path",
            ),
            (
                "s3://lake/a\nb",
                "\"s3://lake/a\\nb\" is not a usable S3 location: key prefix \"a\\nb\" is not a valid S3 key prefix: it contains a control character",
            ),
        ] {
            assert_eq!(
                format!("{:#}", parse_s3_url(url).unwrap_err()),
                message,
                "{url:?}"
            );
        }
    }
}
