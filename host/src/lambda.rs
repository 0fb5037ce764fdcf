//! AWS Lambda (custom runtime `provided.al2023`, the binary named
//! `bootstrap`): invocations by S3 directly, by SNS, by EventBridge, by an
//! SQS event source mapping, or by an S3 Batch Operations job. For SQS
//! batches, only the messages that did not land are reported back
//! (`batchItemFailures`, which needs the mapping's
//! `ReportBatchItemFailures`), so one bad summary does not redeliver the
//! good ones. A Batch Operations invocation is answered task by task
//! (`Succeeded`, `TemporaryFailure`, `PermanentFailure`). Any other event
//! fails the invocation when a record did not land, so Lambda's retries and
//! on-failure destination take it.

use std::fmt;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde_json::Value;
use summary_aws::batch_operations::{self, ResultCode, TaskResult};
use summary_aws::event::decode_event_value;
use summary_aws::sqs;
use summary_lake::text::bounded_message;

use crate::cli::LambdaArgs;
use crate::context::Context;
use crate::events::{Pipeline, RecordOutcome};

/// Longest `resultString` of a Batch Operations task: the completion
/// report keeps it beside the key.
const MAX_RESULT_CHARS: usize = 400;

/// Why an invocation failed, with the `errorType` Lambda reports for it
/// (in its logs, metrics and the on-failure destination's record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationError {
    pub error_type: ErrorType,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// The payload is no event this function knows (nothing was done).
    MalformedEvent,
    /// Some record could not land (dead-lettered or failed): see the message.
    RecordsNotLanded,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::MalformedEvent => "MalformedEvent",
            ErrorType::RecordsNotLanded => "RecordsNotLanded",
        }
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(error: InvocationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type.as_str().into(),
            error_message: error.message,
        }
    }
}

/// The answer to one invocation, or the error that fails it.
pub fn handle_invocation(pipeline: &Pipeline, payload: &Value) -> Result<Value, InvocationError> {
    let malformed = |message: String| InvocationError {
        error_type: ErrorType::MalformedEvent,
        message,
    };
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
    if batch_operations::is_invocation(payload) {
        let invocation = batch_operations::decode(payload).map_err(malformed)?;
        return Ok(handle_batch_operations(pipeline, &invocation));
    }
    let decoded =
        decode_event_value(payload).map_err(|e| malformed(format!("malformed event: {e}")))?;
    let report = pipeline.handle_decoded(decoded);
    if report.all_landed() {
        Ok(report.to_json())
    } else {
        Err(InvocationError {
            error_type: ErrorType::RecordsNotLanded,
            message: format!("not every record landed: {}", report.to_json()),
        })
    }
}

/// Converts each task's summary as an event's record would be, and says
/// how each went.
fn handle_batch_operations(
    pipeline: &Pipeline,
    invocation: &batch_operations::Invocation,
) -> Value {
    let results: Vec<TaskResult> = invocation
        .tasks
        .iter()
        .map(|task| {
            let (code, message) = task_result(&pipeline.process(&task.object));
            TaskResult {
                task_id: task.task_id.clone(),
                code,
                message: bounded_message(&message, MAX_RESULT_CHARS),
            }
        })
        .collect();
    let failed = results
        .iter()
        .filter(|r| r.code != ResultCode::Succeeded)
        .count();
    let user_arguments = Value::Object(invocation.user_arguments.clone());
    tracing::info!(
        job = invocation.job_id.as_deref().unwrap_or(""),
        schema = %invocation.schema_version,
        tasks = results.len(),
        failed,
        %user_arguments,
        "S3 Batch Operations invocation handled"
    );
    batch_operations::answer(invocation, &results)
}

/// A record's outcome as a Batch Operations result. A key no route takes
/// succeeds as skipped: an inventory of a whole bucket lists other files,
/// and a job fails once most of its tasks have.
fn task_result(outcome: &RecordOutcome) -> (ResultCode, String) {
    use ResultCode::*;
    match outcome {
        RecordOutcome::Landed { run, objects, .. } => {
            (Succeeded, format!("landed {run}: {objects} objects"))
        }
        RecordOutcome::AlreadyDone { run } => (Succeeded, format!("{run} already landed")),
        RecordOutcome::Older { run, .. } => {
            (Succeeded, format!("{run}: a newer version is in the lake"))
        }
        RecordOutcome::NotASummary => (Succeeded, "skipped: no route takes this key".into()),
        RecordOutcome::SourceGone => (PermanentFailure, "no such key".into()),
        RecordOutcome::DeadLettered { run, error } => {
            (PermanentFailure, format!("dead-lettered {run}: {error}"))
        }
        RecordOutcome::Failed {
            error,
            retryable: true,
        } => (TemporaryFailure, error.clone()),
        RecordOutcome::Failed {
            error,
            retryable: false,
        } => (PermanentFailure, error.clone()),
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
        std::future::ready(handle_invocation(pipeline, &event.payload))
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
    run(&ctx.pipeline(&lake, &edge)?)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_become_batch_operations_results() {
        let code = |outcome: RecordOutcome| task_result(&outcome).0;
        assert_eq!(
            code(RecordOutcome::Landed {
                run: "SRR1".into(),
                objects: 3,
                deleted: 0
            }),
            ResultCode::Succeeded
        );
        assert_eq!(code(RecordOutcome::NotASummary), ResultCode::Succeeded);
        assert_eq!(
            code(RecordOutcome::SourceGone),
            ResultCode::PermanentFailure
        );
        assert_eq!(
            code(RecordOutcome::DeadLettered {
                run: "SRR1".into(),
                error: "bad".into()
            }),
            ResultCode::PermanentFailure
        );
        assert_eq!(
            code(RecordOutcome::Failed {
                error: "503".into(),
                retryable: true
            }),
            ResultCode::TemporaryFailure
        );
        assert_eq!(
            code(RecordOutcome::Failed {
                error: "403".into(),
                retryable: false
            }),
            ResultCode::PermanentFailure
        );
        let error: lambda_runtime::Diagnostic = InvocationError {
            error_type: ErrorType::RecordsNotLanded,
            message: "not every record landed".into(),
        }
        .into();
        assert_eq!(error.error_type, "RecordsNotLanded");
    }
}
