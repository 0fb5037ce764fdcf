//! Who `serve` accepts events from: its authentication options (API key,
//! SNS topics, message age and certificates) and the authenticator they
//! describe.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use summary_pipeline::endpoint::{Authenticator, SnsOptions, SnsTopics, LONGEST_SNS_MAX_AGE};

use crate::aws_transport::UreqTransport;

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
    /// An SNS topic ARN whose messages are accepted (repeatable); without it (or
    /// --sns-any-topic) every SNS message is refused.
    #[arg(long = "sns-topic", value_name = "ARN")]
    pub sns_topics: Vec<String>,
    /// Accept SNS messages of any topic: anyone with an AWS account can then post
    /// messages SNS signed for a topic of their own. Prefer --sns-topic.
    #[arg(long, conflicts_with = "sns_topics")]
    pub sns_any_topic: bool,
    /// SNS messages whose Timestamp is older than this are refused (replays); at most a week.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=LONGEST_SNS_MAX_AGE.as_secs()))]
    pub sns_max_age: u64,
}

/// How a `serve` operator accepts SNS topics (quoted when none is).
const HOW_TO_ACCEPT_TOPICS: &str =
    "pass --sns-topic ARN (repeatable), or --sns-any-topic to accept any topic";

/// The authenticator `serve` options describe; the API key is read from the
/// environment, never from the command line.
pub fn authenticator(options: AuthOptions) -> Result<Authenticator> {
    let api_key = std::env::var(&options.api_key_env).ok();
    let cert = match &options.sns_cert {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading --sns-cert {}", path.display()))?,
        ),
        None => None,
    };
    let topics = SnsTopics::from_options(options.sns_topics, options.sns_any_topic)
        .map_err(anyhow::Error::msg)?;
    let sns = SnsOptions {
        topics,
        how_to_accept_topics: HOW_TO_ACCEPT_TOPICS,
        max_age: Duration::from_secs(options.sns_max_age),
        cert,
    };
    Ok(Authenticator::new(
        &options.api_key_header,
        api_key,
        sns,
        // Short: a fetch holds a worker, and SNS answers within a second.
        Box::new(UreqTransport::new(Duration::from_secs(3))),
    ))
}
