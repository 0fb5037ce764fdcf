//! The native host's side of AWS calls: configuration from the process
//! environment and HTTP over `ureq`. Signing, retries and credentials are
//! shared with the Spin app (`summary_pipeline::aws`).

use std::io::Read;
use std::time::Duration;

use anyhow::Result;
use summary_aws::request::HttpRequest;
use summary_pipeline::aws_client::{check_declared_length, check_read_length};
pub use summary_pipeline::aws_client::{
    describe_failure, error_code, parse_s3_url, AwsClient, AwsConfig, CallError, HttpResponse,
    Transport,
};

/// `AwsConfig` from the process environment (see `AwsConfig::from_vars`).
pub fn config_from_env() -> Result<AwsConfig> {
    Ok(AwsConfig::from_vars(
        |name| std::env::var(name).ok(),
        |path| std::fs::read_to_string(path).map_err(|e| e.to_string()),
    )?)
}

/// A client sending over `ureq`, each exchange bounded by the config's timeout.
pub fn native_client(config: AwsConfig) -> AwsClient {
    let transport = UreqTransport::new(config.request_timeout);
    AwsClient::new(config, Box::new(transport))
}

pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(timeout))
            .user_agent("summary-uploader")
            .build()
            .into();
        UreqTransport { agent }
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: &HttpRequest, max_body: u64) -> Result<HttpResponse, CallError> {
        let failure = |message: String, retryable| CallError {
            message,
            retryable,
            too_large: false,
        };
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let http_request = builder
            .body(request.body.clone())
            .map_err(|e| failure(format!("building {request:?}: {e}"), false))?;
        let mut response = self
            .agent
            .run(http_request)
            .map_err(|e| failure(e.to_string(), true))?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        check_declared_length(request, &headers, max_body)?;
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(max_body + 1)
            .read_to_end(&mut body)
            .map_err(|e| failure(format!("{request:?}: reading the answer: {e}"), true))?;
        check_read_length(request, &body, max_body)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
