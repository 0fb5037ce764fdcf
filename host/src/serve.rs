//! `serve`: an HTTP endpoint for S3 events from an EventBridge API
//! destination (API-key header) or an SNS HTTPS subscription (signed
//! messages). Unauthenticated requests get 401 and cause no read, write or
//! delete; 200 means every output is durable, 5xx asks for redelivery.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;
use summary_edge::request::find_header;
use summary_edge::sns;

use crate::pipeline::Pipeline;

/// Event documents are at most 256 KB (SNS, EventBridge); this leaves room.
const MAX_EVENT_BYTES: u64 = 1 << 20;

#[derive(clap::Args, Clone, Debug)]
pub struct AuthOptions {
    /// Header carrying the API key (what an EventBridge API destination connection sends).
    #[arg(long, default_value = "x-api-key", value_name = "NAME")]
    pub api_key_header: String,
    /// Environment variable holding the API key; it is never read from the command line.
    #[arg(long, default_value = "SUMMARY_UPLOADER_API_KEY", value_name = "VAR")]
    pub api_key_env: String,
    /// PEM certificate SNS messages must verify against (default: fetch SigningCertURL, SNS hosts only).
    #[arg(long, value_name = "FILE")]
    pub sns_cert: Option<PathBuf>,
    /// SNS topic ARNs accepted (repeatable; default: any).
    #[arg(long = "sns-topic", value_name = "ARN")]
    pub sns_topics: Vec<String>,
}

pub struct Authenticator {
    api_key_header: String,
    api_key: Option<String>,
    sns_cert: Option<Vec<u8>>,
    sns_topics: Vec<String>,
    fetched_certs: Mutex<HashMap<String, Vec<u8>>>,
}

impl Authenticator {
    pub fn from_options(options: AuthOptions) -> Result<Self> {
        let api_key = std::env::var(&options.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        let sns_cert = match &options.sns_cert {
            Some(path) => Some(
                std::fs::read(path)
                    .with_context(|| format!("reading --sns-cert {}", path.display()))?,
            ),
            None => None,
        };
        if api_key.is_none() {
            tracing::warn!(
                env = %options.api_key_env,
                "no API key configured: only signed SNS messages will be accepted"
            );
        }
        Ok(Authenticator {
            api_key_header: options.api_key_header.to_ascii_lowercase(),
            api_key,
            sns_cert,
            sns_topics: options.sns_topics,
            fetched_certs: Mutex::new(HashMap::new()),
        })
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
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut response = agent
            .get(url)
            .call()
            .map_err(|e| format!("fetching {url}: {e}"))?;
        let cert = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .map_err(|e| format!("fetching {url}: {e}"))?;
        self.fetched_certs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(url.to_string(), cert.clone());
        Ok(cert)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Answers requests until the process is stopped.
pub fn serve(
    listen: &str,
    workers: usize,
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> Result<()> {
    let server = tiny_http::Server::http(listen)
        .map_err(|e| anyhow::anyhow!("listening on {listen}: {e}"))?;
    let address = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_else(|| listen.to_string());
    eprintln!("serving on http://{address} (POST event documents, GET /healthz)");
    tracing::info!(%address, workers, "serving");
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                while let Ok(request) = server.recv() {
                    answer(request, pipeline, auth);
                }
            });
        }
    });
    Ok(())
}

fn answer(mut request: tiny_http::Request, pipeline: &Pipeline, auth: &Authenticator) {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.url().to_string();
    let (status, body) = match (request.method(), path.as_str()) {
        (tiny_http::Method::Get, "/healthz") => (200, "ok\n".to_string()),
        (tiny_http::Method::Post, _) => {
            let headers: Vec<(String, String)> = request
                .headers()
                .iter()
                .map(|h| (h.field.to_string(), h.value.to_string()))
                .collect();
            let mut bytes = Vec::new();
            match request
                .as_reader()
                .take(MAX_EVENT_BYTES + 1)
                .read_to_end(&mut bytes)
            {
                Err(e) => (400, format!("reading the request: {e}\n")),
                Ok(_) if bytes.len() as u64 > MAX_EVENT_BYTES => {
                    (413, "event document too large\n".into())
                }
                Ok(_) => handle_post(&headers, &bytes, pipeline, auth),
            }
        }
        (tiny_http::Method::Get, _) => (404, "not found\n".into()),
        _ => (405, "method not allowed\n".into()),
    };
    tracing::info!(%method, %path, status, ms = started.elapsed().as_millis() as u64, "request");
    let content_type = if body.starts_with('{') {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(
            tiny_http::Header::from_bytes("content-type", content_type).expect("valid header"),
        );
    if let Err(e) = request.respond(response) {
        tracing::warn!(error = %e, "could not send the answer");
    }
}

fn handle_post(
    headers: &[(String, String)],
    bytes: &[u8],
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> (u16, String) {
    let method = match auth.authenticate(headers, bytes) {
        Ok(method) => method,
        Err(reason) => {
            tracing::warn!(%reason, "unauthenticated request refused");
            return (401, format!("unauthenticated: {reason}\n"));
        }
    };
    match pipeline.handle_event(bytes) {
        Err(error) => {
            tracing::warn!(%error, "malformed event refused");
            (400, format!("malformed event: {error}\n"))
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
            (status, format!("{}\n", report.to_json()))
        }
    }
}
