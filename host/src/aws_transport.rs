//! The native host's side of AWS calls: configuration the AWS CLI's way
//! (flags, environment, `~/.aws` profiles, through `aws-config`) and HTTP
//! over `ureq`. Signing and retries are shared with the Spin app
//! (`summary_pipeline::aws_client`).

use std::io::Read;
use std::time::Duration;

use anyhow::Result;
use summary_aws::credentials::Source;
use summary_aws::request::HttpRequest;
use summary_pipeline::aws_client::{check_declared_length, check_read_length};
pub use summary_pipeline::aws_client::{
    describe_failure, error_code, parse_s3_url, AwsClient, AwsConfig, CallError, HttpResponse,
    Transport,
};

use crate::aws_sdk_config::{self, FALLBACK_REGION};

/// The global flags that choose where and as whom AWS is called, as the
/// AWS CLI names them.
#[derive(Clone, Debug, Default)]
pub struct AwsFlags {
    /// `--profile`: else `AWS_PROFILE`, else `default`.
    pub profile: Option<String>,
    /// `--region`: else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
    /// `region`, IMDS, else us-east-1.
    pub region: Option<String>,
    /// `--endpoint-url`: every service's endpoint, over `AWS_ENDPOINT_URL_S3`
    /// (and `_GLUE`, `_SQS`) and `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// `--no-sign-request`: send every request unsigned (public buckets).
    pub no_sign_request: bool,
}

/// The native host's AWS client: region and credentials from `aws-config`'s
/// default chain (credentials fetched at the first call that signs),
/// endpoints, path style and retries from the environment
/// (`AwsConfig::from_vars`), flags over both.
pub fn native_aws(flags: &AwsFlags, request_timeout: Duration) -> Result<AwsClient> {
    let resolved = aws_sdk_config::resolve(flags.profile.as_deref(), flags.region.as_deref())?;
    let region = resolved.region.unwrap_or_else(|| {
        tracing::info!("no region in the environment, the profile or IMDS: {FALLBACK_REGION}");
        FALLBACK_REGION.into()
    });
    let endpoint_url = flags.endpoint_url.clone();
    let mut config = AwsConfig::from_vars(|name| match name {
        "AWS_REGION" => Some(region.clone()),
        "AWS_ENDPOINT_URL"
        | "AWS_ENDPOINT_URL_S3"
        | "AWS_ENDPOINT_URL_GLUE"
        | "AWS_ENDPOINT_URL_SQS"
            if endpoint_url.is_some() =>
        {
            endpoint_url.clone()
        }
        _ => std::env::var(name).ok(),
    })?;
    config.request_timeout = request_timeout;
    tracing::info!(
        region = %config.region,
        profile = flags.profile.as_deref().unwrap_or(""),
        signed = !flags.no_sign_request,
        "AWS configuration"
    );
    if flags.no_sign_request {
        config.credentials = Ok(Source::Anonymous);
        return Ok(native_client(config));
    }
    Ok(native_client(config).with_credentials_provider(Box::new(resolved.credentials)))
}

/// A client sending over `ureq`, each exchange bounded by the config's
/// timeout, signing with the config's credentials.
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use crate::cli::Cli;

    #[test]
    fn the_aws_flags_fit_the_command_line() {
        // Clashing names (a global flag and a command's own) panic here.
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "summary-uploader",
            "--profile",
            "lake-writer",
            "--region",
            "eu-west-3",
            "replay",
            "x",
            "--endpoint-url",
            "http://127.0.0.1:9000",
            "--no-sign-request",
        ])
        .unwrap();
        let flags = cli.aws_flags();
        assert_eq!(flags.profile.as_deref(), Some("lake-writer"));
        assert_eq!(flags.region.as_deref(), Some("eu-west-3"));
        assert_eq!(flags.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(flags.no_sign_request);
        // --profile is global, as in the AWS CLI: after the command too;
        // gen-corpus's row spread is --distribution.
        let cli = Cli::try_parse_from([
            "summary-uploader",
            "backfill",
            "--index",
            "i",
            "--source",
            "s3://src/summary2",
            "--kind",
            "nucleotide",
            "--dest",
            "lake",
            "--profile",
            "lake-writer",
        ])
        .unwrap();
        assert_eq!(cli.aws_flags().profile.as_deref(), Some("lake-writer"));
        let cli = Cli::try_parse_from([
            "summary-uploader",
            "gen-corpus",
            "--distribution",
            "serratus",
            "--out",
            "x",
        ])
        .unwrap();
        assert_eq!(cli.aws_flags().profile, None);
    }
}
