//! S3 Batch Operations' "Invoke AWS Lambda function" payloads: the
//! invocation (schema 1.0, a bucket ARN per task; schema 2.0, a bucket name
//! per task and the job's `userArguments`) and the answer, one result per
//! task (S3 user guide, "Invoke AWS Lambda function").

use serde_json::{json, Map, Value};

use crate::event::{form_decode, ObjectRef};

/// One invocation: usually one task, any number taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// `1.0` or `2.0`, echoed in the answer.
    pub schema_version: String,
    /// Echoed in the answer.
    pub invocation_id: String,
    pub job_id: Option<String>,
    /// The job's `userArguments` (schema 2.0), for the logs.
    pub user_arguments: Map<String, Value>,
    pub tasks: Vec<Task>,
}

/// One object of the job's manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub task_id: String,
    pub object: ObjectRef,
}

/// What the job records for a task: `TemporaryFailure` is retried by
/// Batch Operations; `PermanentFailure` goes to the completion report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultCode {
    Succeeded,
    TemporaryFailure,
    PermanentFailure,
}

impl ResultCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Succeeded => "Succeeded",
            ResultCode::TemporaryFailure => "TemporaryFailure",
            ResultCode::PermanentFailure => "PermanentFailure",
        }
    }
}

/// A task's result as the answer carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskResult {
    pub task_id: String,
    pub code: ResultCode,
    /// Short: the completion report keeps it as the task's message.
    pub message: String,
}

/// Whether `payload` is a Batch Operations invocation (it names an
/// `invocationSchemaVersion` and has `tasks`), whatever else it holds.
pub fn is_invocation(payload: &Value) -> bool {
    payload.get("invocationSchemaVersion").is_some() && payload.get("tasks").is_some()
}

/// Reads an invocation. Keys come URL-encoded, as in the job's CSV
/// manifest or inventory report, and are decoded as S3 event keys are.
pub fn decode(payload: &Value) -> Result<Invocation, String> {
    let text = |value: &Value, field: &str| -> Result<String, String> {
        value
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("S3 Batch Operations invocation: no {field}"))
    };
    let schema_version = text(payload, "invocationSchemaVersion")?;
    if schema_version != "1.0" && schema_version != "2.0" {
        return Err(format!(
            "S3 Batch Operations invocation schema {schema_version:?}: only 1.0 and 2.0 are known"
        ));
    }
    let invocation_id = text(payload, "invocationId")?;
    let job = payload.get("job");
    let job_id = job
        .and_then(|j| j.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let user_arguments = job
        .and_then(|j| j.get("userArguments"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let tasks = payload
        .get("tasks")
        .and_then(Value::as_array)
        .ok_or("S3 Batch Operations invocation: tasks is not a list")?;
    let tasks = tasks
        .iter()
        .enumerate()
        .map(|(index, task)| {
            decode_task(task).map_err(|e| format!("S3 Batch Operations task {index}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Invocation {
        schema_version,
        invocation_id,
        job_id,
        user_arguments,
        tasks,
    })
}

fn decode_task(task: &Value) -> Result<Task, String> {
    let field = |name: &str| task.get(name).and_then(Value::as_str);
    let task_id = field("taskId").ok_or("no taskId")?.to_string();
    // 2.0 names the bucket; 1.0 its ARN, `arn:PARTITION:s3:...:BUCKET`.
    let bucket = match (field("s3Bucket"), field("s3BucketArn")) {
        (Some(bucket), _) => bucket.to_string(),
        (None, Some(arn)) if arn.starts_with("arn:") => {
            arn.rsplit(':').next().unwrap_or_default().to_string()
        }
        (None, Some(arn)) => return Err(format!("s3BucketArn {arn:?} is not an ARN")),
        (None, None) => return Err("neither s3Bucket nor s3BucketArn".into()),
    };
    if bucket.is_empty() {
        return Err("the bucket name is empty".into());
    }
    let key = form_decode(field("s3Key").ok_or("no s3Key")?)?;
    Ok(Task {
        task_id,
        object: ObjectRef {
            bucket,
            key,
            size: None,
            etag: None,
            version_id: field("s3VersionId").map(str::to_string),
            sequencer: None,
        },
    })
}

/// The answer to `invocation`: its schema version and id echoed, a result
/// per task, and a key found missing counted as a permanent failure (a
/// backfill's completion report should list it).
pub fn answer(invocation: &Invocation, results: &[TaskResult]) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({"taskId": r.task_id, "resultCode": r.code.as_str(), "resultString": r.message})
        })
        .collect();
    json!({
        "invocationSchemaVersion": invocation.schema_version,
        "treatMissingKeysAs": ResultCode::PermanentFailure.as_str(),
        "invocationId": invocation.invocation_id,
        "results": results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_1_names_a_bucket_arn_and_schema_2_a_bucket() {
        let v1 = json!({"invocationSchemaVersion": "1.0", "invocationId": "inv-1",
            "job": {"id": "job-1"},
            "tasks": [{"taskId": "t1", "s3Key": "summary2/SRR1.summary", "s3VersionId": null,
                "s3BucketArn": "arn:aws:s3:::lovelywater"}]});
        assert!(is_invocation(&v1));
        let invocation = decode(&v1).unwrap();
        assert_eq!(invocation.job_id.as_deref(), Some("job-1"));
        assert_eq!(invocation.tasks[0].object.bucket, "lovelywater");
        assert_eq!(invocation.tasks[0].object.key, "summary2/SRR1.summary");
        assert_eq!(invocation.tasks[0].object.version_id, None);

        let v2 = json!({"invocationSchemaVersion": "2.0", "invocationId": "inv-2",
            "job": {"id": "job-2", "userArguments": {"note": "backfill"}},
            "tasks": [
                {"taskId": "a", "s3Bucket": "src", "s3Key": "summary2/SRR%20x+y.summary", "s3VersionId": "v7"},
                {"taskId": "b", "s3BucketArn": "arn:aws:s3:us-east-1:0123456788:other", "s3Key": "k"}]});
        let invocation = decode(&v2).unwrap();
        assert_eq!(invocation.user_arguments["note"], "backfill");
        assert_eq!(invocation.tasks[0].object.key, "summary2/SRR x y.summary");
        assert_eq!(invocation.tasks[0].object.version_id.as_deref(), Some("v7"));
        assert_eq!(invocation.tasks[1].object.bucket, "other");

        let answer = answer(
            &invocation,
            &[TaskResult {
                task_id: "a".into(),
                code: ResultCode::TemporaryFailure,
                message: "try again".into(),
            }],
        );
        assert_eq!(
            answer,
            json!({"invocationSchemaVersion": "2.0", "treatMissingKeysAs": "PermanentFailure",
                "invocationId": "inv-2",
                "results": [{"taskId": "a", "resultCode": "TemporaryFailure", "resultString": "try again"}]})
        );
    }

    #[test]
    fn malformed_invocations_are_refused_with_the_reason() {
        let base = |tasks: Value| json!({"invocationSchemaVersion": "1.0", "invocationId": "i", "tasks": tasks});
        for (payload, message) in [
            (base(json!("x")), "tasks is not a list"),
            (
                base(json!([{"s3Key": "k", "s3Bucket": "b"}])),
                "task 0: no taskId",
            ),
            (
                base(json!([{"taskId": "t", "s3Key": "k"}])),
                "neither s3Bucket nor s3BucketArn",
            ),
            (
                base(json!([{"taskId": "t", "s3Key": "k", "s3BucketArn": "b"}])),
                "is not an ARN",
            ),
            (base(json!([{"taskId": "t", "s3Bucket": "b"}])), "no s3Key"),
            (
                json!({"invocationSchemaVersion": "3.0", "invocationId": "i", "tasks": []}),
                "only 1.0 and 2.0",
            ),
            (
                json!({"invocationSchemaVersion": "1.0", "tasks": []}),
                "no invocationId",
            ),
        ] {
            let error = decode(&payload).unwrap_err();
            assert!(error.contains(message), "{error} / {message}");
        }
    }
}
