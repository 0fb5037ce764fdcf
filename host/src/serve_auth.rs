//! Who `serve` accepts events from: its authentication options (API key,
//! SNS topics and certificates) and the authenticator they describe.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use summary_pipeline::endpoint::Authenticator;

use crate::aws::UreqTransport;

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

/// The authenticator `serve` options describe; the API key is read from the
/// environment, never from the command line.
pub fn authenticator(options: AuthOptions) -> Result<Authenticator> {
    let api_key = std::env::var(&options.api_key_env).ok();
    let sns_cert = match &options.sns_cert {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading --sns-cert {}", path.display()))?,
        ),
        None => None,
    };
    Ok(Authenticator::new(
        &options.api_key_header,
        api_key,
        sns_cert,
        options.sns_topics,
        Box::new(UreqTransport::new(Duration::from_secs(10))),
    ))
}
