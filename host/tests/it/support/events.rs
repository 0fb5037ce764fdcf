//! Event documents as AWS sends them, for tests of the HTTP endpoints.
#![allow(dead_code)]

use base64::Engine as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};

/// An S3 event notification naming objects of bucket `src`.
pub fn s3_event(keys: &[String]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({"eventVersion":"2.1","eventName":"ObjectCreated:Put",
            "s3":{"bucket":{"name":"src"},"object":{"key": key, "sequencer":"01", "eTag":"e"}}})
        })
        .collect();
    json!({ "Records": records })
}

/// What an EventBridge API destination posts for one S3 object.
pub fn eventbridge_event(key: &str) -> Value {
    json!({"version": "0", "id": "ev-1", "detail-type": "Object Created", "source": "aws.s3",
        "region": "us-east-1", "time": "2026-11-25T00:00:00Z",
        "detail": {"bucket": {"name": "src"}, "object": {"key": key, "etag": "e", "sequencer": "01"}}})
}

/// The PEM certificate the test SNS key signs for.
pub fn sns_cert_path() -> std::path::PathBuf {
    super::common::fixtures().join("../sns/test-signing-cert.pem")
}

fn sns_key() -> rsa::RsaPrivateKey {
    let pem =
        std::fs::read_to_string(super::common::fixtures().join("../sns/test-signing-key.pem"))
            .unwrap();
    rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

/// The topic test SNS notifications are published to.
pub const SNS_TOPIC: &str = "arn:aws:sns:us-east-1:1:summaries";

/// An SNS notification carrying `message` as SNS would send it now, not yet
/// signed: the test topic, the current Timestamp and a fresh MessageId.
pub fn sns_envelope(message: &Value) -> Value {
    json!({"Type":"Notification","MessageId": fresh_message_id(),"TopicArn": SNS_TOPIC,
        "Message": message.to_string(),
        "Timestamp": summary_aws::sns::format_timestamp(std::time::SystemTime::now()),
        "SignatureVersion":"2",
        "SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7e57.pem"})
}

/// Signs an SNS message the way Amazon SNS does (SignatureVersion 2), with
/// the key of `sns_cert_path`'s certificate.
pub fn sns_signed(mut envelope: Value) -> Value {
    let text = summary_aws::sns::string_to_sign(&envelope).unwrap();
    let signature = SigningKey::<rsa::sha2::Sha256>::new(sns_key())
        .sign(text.as_bytes())
        .to_vec();
    envelope["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(signature));
    envelope
}

/// A signed SNS notification carrying `message`, sent now (see `sns_envelope`).
pub fn sns_notification(message: &Value) -> Value {
    sns_signed(sns_envelope(message))
}

/// A MessageId no other test message has: SNS's UUID form, from the process,
/// the time and a counter.
fn fresh_message_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8000-{:012x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst) & 0xffff,
        (nanos >> 48) & 0xfff,
        nanos & 0xffff_ffff_ffff
    )
}

/// POSTs a JSON document to `<url>/events`; the status and body text.
pub fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, String) {
    let (status, body) = super::servers::http(
        "POST",
        &format!("{url}/events"),
        headers,
        body.to_string().as_bytes(),
    );
    (status, String::from_utf8_lossy(&body).into_owned())
}
