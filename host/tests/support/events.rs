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
    crate::common::fixtures().join("../sns/test-signing-cert.pem")
}

fn sns_key() -> rsa::RsaPrivateKey {
    let pem =
        std::fs::read_to_string(crate::common::fixtures().join("../sns/test-signing-key.pem"))
            .unwrap();
    rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

/// Signs an SNS notification the way Amazon SNS does (SignatureVersion 2).
pub fn sns_notification(message: &Value) -> Value {
    let mut envelope = json!({"Type":"Notification","MessageId":"m-1","TopicArn":"arn:aws:sns:us-east-1:1:summaries",
        "Message": message.to_string(),"Timestamp":"2026-11-24T00:00:00.000Z","SignatureVersion":"2",
        "SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"});
    let text = summary_edge::sns::string_to_sign(&envelope).unwrap();
    let signature = SigningKey::<rsa::sha2::Sha256>::new(sns_key())
        .sign(text.as_bytes())
        .to_vec();
    envelope["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(signature));
    envelope
}

/// POSTs a JSON document to `<url>/events`; the status and body text.
pub fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, String) {
    let (status, body) = crate::servers::http(
        "POST",
        &format!("{url}/events"),
        headers,
        body.to_string().as_bytes(),
    );
    (status, String::from_utf8_lossy(&body).into_owned())
}
