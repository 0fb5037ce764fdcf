//! Queued S3 events: the SQS JSON API requests a queue consumer sends
//! (receive, delete, change visibility) and the reading of their answers,
//! and the SQS batch AWS Lambda is invoked with, with its partial-failure
//! answer. Messages are data here; hosts send the requests.

use serde_json::{json, Value};

use crate::request::{json_api_request, Endpoint, HttpRequest};

/// SQS returns and accepts at most ten messages per call.
pub const MAX_MESSAGES: u32 = 10;
/// The longest long poll SQS allows.
pub const MAX_WAIT_SECONDS: u32 = 20;
/// The longest visibility timeout SQS allows (12 hours).
pub const MAX_VISIBILITY_SECONDS: u32 = 43_200;

/// One queued message: an event document and what SQS needs to settle it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    /// What SQS needs to delete the message or change its visibility (a
    /// Lambda batch carries it too, but Lambda settles its messages itself).
    pub receipt_handle: String,
    pub body: String,
    /// How many times SQS has handed this message out (1 the first time).
    pub receive_count: Option<u32>,
}

/// A POST of one SQS action (JSON protocol).
pub fn request(endpoint: &Endpoint, action: &str, body: &Value) -> HttpRequest {
    json_api_request(
        endpoint,
        "application/x-amz-json-1.0",
        &format!("AmazonSQS.{action}"),
        body,
    )
}

pub fn aws_endpoint(region: &str) -> Endpoint {
    Endpoint {
        scheme: "https".into(),
        host: format!("sqs.{region}.amazonaws.com"),
        port: None,
    }
}

/// A long poll for up to `max` messages, each hidden from other consumers
/// for `visibility_seconds` once received.
pub fn receive_message(
    queue_url: &str,
    max: u32,
    wait_seconds: u32,
    visibility_seconds: u32,
) -> Value {
    json!({
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": max.clamp(1, MAX_MESSAGES),
        "WaitTimeSeconds": wait_seconds.min(MAX_WAIT_SECONDS),
        "VisibilityTimeout": visibility_seconds.min(MAX_VISIBILITY_SECONDS),
        "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        "AttributeNames": ["ApproximateReceiveCount"],
    })
}

pub fn delete_message(queue_url: &str, receipt_handle: &str) -> Value {
    json!({"QueueUrl": queue_url, "ReceiptHandle": receipt_handle})
}

/// Sets the visibility of up to ten received messages: a longer one while
/// they are worked on, 0 to hand them back to the queue at once.
pub fn change_visibility_batch(queue_url: &str, receipt_handles: &[&str], seconds: u32) -> Value {
    let entries: Vec<Value> = receipt_handles
        .iter()
        .enumerate()
        .map(|(index, handle)| {
            json!({
                "Id": format!("m{index}"),
                "ReceiptHandle": handle,
                "VisibilityTimeout": seconds.min(MAX_VISIBILITY_SECONDS),
            })
        })
        .collect();
    json!({"QueueUrl": queue_url, "Entries": entries})
}

/// The messages of a ReceiveMessage answer (none when the poll timed out).
pub fn parse_received(body: &[u8]) -> Result<Vec<Message>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("ReceiveMessage answer is not JSON: {e}"))?;
    let Some(messages) = value.get("Messages") else {
        return Ok(Vec::new());
    };
    let messages = messages
        .as_array()
        .ok_or("ReceiveMessage answer: Messages is not a list")?;
    messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let field = |name: &str| {
                message
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("ReceiveMessage answer: message {index} has no {name}"))
            };
            Ok(Message {
                id: field("MessageId")?,
                receipt_handle: field("ReceiptHandle")?,
                body: field("Body")?,
                receive_count: receive_count(message.get("Attributes")),
            })
        })
        .collect()
}

fn receive_count(attributes: Option<&Value>) -> Option<u32> {
    attributes?
        .get("ApproximateReceiveCount")?
        .as_str()?
        .parse()
        .ok()
}

/// The entries a batch call could not apply, as `Id: Code: Message`.
pub fn batch_failures(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return vec!["unreadable answer".into()];
    };
    let Some(failed) = value.get("Failed").and_then(Value::as_array) else {
        return Vec::new();
    };
    failed
        .iter()
        .map(|entry| {
            let text = |name: &str| entry.get(name).and_then(Value::as_str).unwrap_or("?");
            format!("{}: {}: {}", text("Id"), text("Code"), text("Message"))
        })
        .collect()
}

/// The messages of a Lambda invocation by an SQS event source mapping, or
/// `None` when the event is something else (an S3 notification, SNS,
/// EventBridge), which is then one event document.
pub fn lambda_batch(event: &Value) -> Option<Vec<Message>> {
    let records = event.get("Records")?.as_array()?;
    if records.is_empty() {
        return None;
    }
    records
        .iter()
        .map(|record| {
            if record.get("eventSource").and_then(Value::as_str) != Some("aws:sqs") {
                return None;
            }
            let text = |name: &str| record.get(name).and_then(Value::as_str).map(str::to_string);
            Some(Message {
                id: text("messageId")?,
                receipt_handle: text("receiptHandle").unwrap_or_default(),
                body: text("body")?,
                receive_count: receive_count(record.get("attributes")),
            })
        })
        .collect()
}

/// The answer to a Lambda SQS batch that reports partial failures
/// (`ReportBatchItemFailures`): only these messages return to the queue.
pub fn batch_item_failures<'a>(failed_ids: impl IntoIterator<Item = &'a str>) -> Value {
    let failures: Vec<Value> = failed_ids
        .into_iter()
        .map(|id| json!({"itemIdentifier": id}))
        .collect();
    json!({"batchItemFailures": failures})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_use_the_json_protocol() {
        let endpoint = Endpoint::parse("http://127.0.0.1:5000").unwrap();
        let body = receive_message("http://127.0.0.1:5000/123/q", 25, 60, 30);
        let request = request(&endpoint, "ReceiveMessage", &body);
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "http://127.0.0.1:5000/");
        assert_eq!(
            request.header("x-amz-target"),
            Some("AmazonSQS.ReceiveMessage")
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-amz-json-1.0")
        );
        let sent: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(sent["MaxNumberOfMessages"], 10, "capped at SQS's limit");
        assert_eq!(sent["WaitTimeSeconds"], 20, "capped at SQS's limit");
        assert_eq!(sent["VisibilityTimeout"], 30);
        assert_eq!(
            aws_endpoint("eu-west-1").host,
            "sqs.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn visibility_batches_number_their_entries() {
        let body = change_visibility_batch("q", &["h1", "h2"], 0);
        assert_eq!(body["Entries"][1]["Id"], "m1");
        assert_eq!(body["Entries"][1]["ReceiptHandle"], "h2");
        assert_eq!(body["Entries"][0]["VisibilityTimeout"], 0);
    }

    #[test]
    fn received_messages_are_read_and_checked() {
        let answer =
            br#"{"Messages":[{"MessageId":"a","ReceiptHandle":"r","Body":"{}","MD5OfBody":"x",
            "Attributes":{"ApproximateReceiveCount":"3"}}]}"#;
        assert_eq!(
            parse_received(answer).unwrap(),
            vec![Message {
                id: "a".into(),
                receipt_handle: "r".into(),
                body: "{}".into(),
                receive_count: Some(3),
            }]
        );
        assert_eq!(parse_received(b"{}").unwrap(), vec![]);
        assert!(parse_received(b"<xml/>").unwrap_err().contains("not JSON"));
        let error = parse_received(br#"{"Messages":[{"MessageId":"a","Body":"{}"}]}"#).unwrap_err();
        assert!(error.contains("message 0 has no ReceiptHandle"), "{error}");
    }

    #[test]
    fn failed_batch_entries_are_named() {
        let answer = br#"{"Successful":[{"Id":"m0"}],"Failed":[{"Id":"m1","Code":"ReceiptHandleIsInvalid","Message":"gone","SenderFault":true}]}"#;
        assert_eq!(
            batch_failures(answer),
            vec!["m1: ReceiptHandleIsInvalid: gone"]
        );
        assert!(batch_failures(br#"{"Successful":[]}"#).is_empty());
    }

    #[test]
    fn lambda_sqs_batches_are_told_from_other_events() {
        let batch = json!({"Records": [
            {"messageId": "1", "receiptHandle": "r1", "body": "{\"Records\":[]}", "eventSource": "aws:sqs",
             "attributes": {"ApproximateReceiveCount": "1"}},
            {"messageId": "2", "receiptHandle": "r2", "body": "not json", "eventSource": "aws:sqs"}
        ]});
        let messages = lambda_batch(&batch).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            (messages[0].id.as_str(), messages[0].receive_count),
            ("1", Some(1))
        );
        assert_eq!(messages[1].body, "not json");
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]});
        assert_eq!(lambda_batch(&s3), None);
        assert_eq!(lambda_batch(&json!({"Records": []})), None);
        assert_eq!(
            lambda_batch(&json!({"detail-type": "Object Created"})),
            None
        );
        let broken = json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]});
        assert_eq!(lambda_batch(&broken), None, "a record without messageId");
    }

    #[test]
    fn partial_failures_name_the_failed_messages() {
        assert_eq!(
            batch_item_failures(["2"]),
            json!({"batchItemFailures": [{"itemIdentifier": "2"}]})
        );
        assert_eq!(
            batch_item_failures(std::iter::empty()),
            json!({"batchItemFailures": []})
        );
    }
}
