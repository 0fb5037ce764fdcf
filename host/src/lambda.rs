//! AWS Lambda (custom runtime `provided.al2023`, the binary named
//! `bootstrap`): invocations by S3 directly, by SNS, by EventBridge, or by
//! an SQS event source mapping. For SQS batches, only the messages that did
//! not land are reported back (`batchItemFailures`, which needs the mapping's
//! `ReportBatchItemFailures`), so one bad summary does not redeliver the
//! good ones. Any other event fails the invocation when a record did not
//! land, so Lambda's retries and on-failure destination take it.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde_json::Value;
use summary_aws::event::decode_event_value;
use summary_aws::sqs;

use crate::cli::LambdaArgs;
use crate::context::Context;
use crate::events::Pipeline;

/// The answer to one invocation, or the error that fails it.
pub fn handle_invocation(pipeline: &Pipeline, payload: &Value) -> Result<Value, String> {
    if let Some(messages) = sqs::lambda_batch(payload) {
        let failed: Vec<&str> = messages
            .iter()
            .filter(|m| !pipeline.handle_message(&m.id, m.body.as_bytes()))
            .map(|m| m.id.as_str())
            .collect();
        tracing::info!(
            messages = messages.len(),
            failed = failed.len(),
            "SQS batch handled"
        );
        return Ok(sqs::batch_item_failures(failed));
    }
    let decoded = decode_event_value(payload).map_err(|e| format!("malformed event: {e}"))?;
    let report = pipeline.handle_decoded(decoded);
    if report.all_landed() {
        Ok(report.to_json())
    } else {
        Err(format!("not every record landed: {}", report.to_json()))
    }
}

/// Serves invocations from the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`)
/// until the environment stops the process. One invocation at a time, as
/// Lambda sends them; the converter was loaded once, before the first.
pub fn run(pipeline: &Pipeline) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the Lambda runtime's event loop")?;
    let handler = lambda_runtime::service_fn(|event: lambda_runtime::LambdaEvent<Value>| {
        let answer =
            handle_invocation(pipeline, &event.payload).map_err(lambda_runtime::Error::from);
        std::future::ready(answer)
    });
    runtime
        .block_on(lambda_runtime::run(handler))
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// `lambda`: the Lambda runtime loop.
pub fn command(args: LambdaArgs, ctx: &Context) -> Result<ExitCode> {
    let LambdaArgs { destination, edge } = args;
    if destination.dest.is_none() {
        anyhow::bail!("set SUMMARY_DEST (or --dest) to the lake, s3://BUCKET[/PREFIX]");
    }
    let lake = ctx.open_lake(&destination)?;
    run(&ctx.pipeline(&lake, &edge))?;
    Ok(ExitCode::SUCCESS)
}
