//! Log lines on standard error: text for people (coloured only at a
//! terminal, never with NO_COLOR) or one JSON object per line (CloudWatch,
//! log shippers). The level is RUST_LOG's when set, else -q/-v's.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, LogFormat};

/// The format asked for: `--log-format` / `SUMMARY_LOG_FORMAT`, else JSON
/// when Lambda's own log format is JSON (`AWS_LAMBDA_LOG_FORMAT`, so
/// CloudWatch gets one kind of line), else text.
pub fn format(cli: &Cli) -> LogFormat {
    cli.log_format
        .unwrap_or_else(|| match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(format) if format.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        })
}

/// Whether text lines may carry colour escapes.
pub fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the process's subscriber, as `cli` asks.
pub fn init(cli: &Cli) {
    // aws-config warns when IMDS has no region: off EC2, always.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| format!("{},aws_config::imds::region=error", cli.log_level()).into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format(cli) {
        LogFormat::Text => builder.with_ansi(colour()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_ansi(false)
            .init(),
    }
}
