//! The HTTP endpoint for S3 events, whichever server runs it (the native
//! `serve` or the Spin app): event documents from an EventBridge API
//! destination (API-key header) or an SNS HTTPS subscription (signed
//! messages). Unauthenticated requests get 401 and cause no read, write or
//! delete; 200 means every output is durable, 5xx asks for redelivery.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use summary_edge::request::{find_header, HttpRequest};
use summary_edge::sns;

use crate::aws::Transport;
use crate::pipeline::Pipeline;

/// Event documents are at most 256 KB (SNS, EventBridge); this leaves room.
pub const MAX_EVENT_BYTES: u64 = 1 << 20;

/// SNS signing certificates are a few KB.
const MAX_CERT_BYTES: u64 = 64 * 1024;

/// Who may post events.
pub struct Authenticator {
    /// Lower-case header name carrying the API key.
    api_key_header: String,
    api_key: Option<String>,
    /// A certificate SNS messages must verify against, instead of fetching
    /// their SigningCertURL.
    sns_cert: Option<Vec<u8>>,
    /// Accepted topic ARNs; empty accepts any.
    sns_topics: Vec<String>,
    /// Fetches SNS signing certificates.
    transport: Box<dyn Transport>,
    fetched_certs: Mutex<HashMap<String, Vec<u8>>>,
}

impl Authenticator {
    pub fn new(
        api_key_header: &str,
        api_key: Option<String>,
        sns_cert: Option<Vec<u8>>,
        sns_topics: Vec<String>,
        transport: Box<dyn Transport>,
    ) -> Self {
        let api_key = api_key.filter(|k| !k.is_empty());
        if api_key.is_none() {
            tracing::warn!("no API key configured: only signed SNS messages will be accepted");
        }
        Authenticator {
            api_key_header: api_key_header.to_ascii_lowercase(),
            api_key,
            sns_cert,
            sns_topics,
            transport,
            fetched_certs: Mutex::new(HashMap::new()),
        }
    }

    /// How the request proved itself, or why it did not.
    pub fn authenticate(
        &self,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<&'static str, String> {
        if let (Some(expected), Some(given)) =
            (&self.api_key, find_header(headers, &self.api_key_header))
        {
            return if constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                Ok("api-key")
            } else {
                Err("wrong API key".into())
            };
        }
        let message: Value = serde_json::from_slice(body)
            .map_err(|_| "no API key and not a signed SNS message".to_string())?;
        if !sns::is_sns_message(&message) {
            return Err("no API key and not a signed SNS message".into());
        }
        let topic = message
            .get("TopicArn")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !self.sns_topics.is_empty() && !self.sns_topics.iter().any(|t| t == topic) {
            return Err(format!("SNS topic {topic:?} is not accepted"));
        }
        let cert = match &self.sns_cert {
            Some(cert) => cert.clone(),
            None => self.fetch_cert(
                message
                    .get("SigningCertURL")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            )?,
        };
        sns::verify(&message, &cert)?;
        Ok("sns-signature")
    }

    fn fetch_cert(&self, url: &str) -> Result<Vec<u8>, String> {
        if !sns::is_trusted_cert_url(url) {
            return Err(format!(
                "SigningCertURL {url:?} is not an SNS certificate URL"
            ));
        }
        if let Some(cert) = self
            .fetched_certs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(url)
        {
            return Ok(cert.clone());
        }
        let request = HttpRequest {
            method: "GET",
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let response = self
            .transport
            .send(&request, MAX_CERT_BYTES)
            .map_err(|e| format!("fetching {url}: {}", e.message))?;
        if !response.is_success() {
            return Err(format!("fetching {url}: HTTP {}", response.status));
        }
        self.fetched_certs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(url.to_string(), response.body.clone());
        Ok(response.body)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What to send back.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    fn new(status: u16, body: impl Into<String>) -> Self {
        Answer {
            status,
            body: body.into(),
        }
    }

    pub fn content_type(&self) -> &'static str {
        if self.body.starts_with('{') {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        }
    }
}

/// The request's body as the server read it: at most `MAX_EVENT_BYTES + 1`
/// bytes, or why it could not be read.
pub type ReadBody = Result<Vec<u8>, String>;

/// Answers one request: `GET /healthz`, or an event document POSTed to
/// any path.
pub fn answer(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: ReadBody,
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> Answer {
    match (method, path) {
        ("GET", "/healthz") => Answer::new(200, "ok\n"),
        ("POST", _) => match body {
            Err(e) => Answer::new(400, format!("reading the request: {e}\n")),
            Ok(bytes) if bytes.len() as u64 > MAX_EVENT_BYTES => {
                Answer::new(413, "event document too large\n")
            }
            Ok(bytes) => answer_event(headers, &bytes, pipeline, auth),
        },
        ("GET", _) => Answer::new(404, "not found\n"),
        _ => Answer::new(405, "method not allowed\n"),
    }
}

fn answer_event(
    headers: &[(String, String)],
    bytes: &[u8],
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> Answer {
    let method = match auth.authenticate(headers, bytes) {
        Ok(method) => method,
        Err(reason) => {
            tracing::warn!(%reason, "unauthenticated request refused");
            return Answer::new(401, format!("unauthenticated: {reason}\n"));
        }
    };
    match pipeline.handle_event(bytes) {
        Err(error) => {
            tracing::warn!(%error, "malformed event refused");
            Answer::new(400, format!("malformed event: {error}\n"))
        }
        Ok(report) => {
            // 422 when no record names a summary: the sender is misrouted;
            // redelivering would not help, and it is worth noticing.
            let status = if report.needs_retry() {
                503
            } else if report.nothing_routed() {
                422
            } else {
                200
            };
            tracing::info!(
                auth = method,
                records = report.records.len(),
                status,
                "event handled"
            );
            Answer::new(status, format!("{}\n", report.to_json()))
        }
    }
}
