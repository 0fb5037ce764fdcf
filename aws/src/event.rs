//! S3 object-created notifications in every shape AWS delivers them:
//! the S3 notification itself, wrapped in SQS (Lambda batch) or SNS, or as
//! EventBridge `Object Created`; plus the `s3:TestEvent` and SNS
//! subscription confirmations, which are reported, not processed.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;
use summary_lake::text::quoted;

use crate::sequencer::{compare_sequencers, is_valid_sequencer};

/// One object to convert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// Decoded (the notification form-encodes keys).
    pub key: String,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    /// Orders events of one key: a later write has a greater sequencer.
    pub sequencer: Option<String>,
}

/// Something in an event that is not an object to convert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// `s3:TestEvent`: S3 checking the destination; acknowledged.
    TestEvent { bucket: Option<String> },
    /// An SNS subscription confirmation: an operator must confirm it.
    SubscriptionConfirmation {
        topic_arn: Option<String>,
        subscribe_url: Option<String>,
    },
    /// A record of another event (object removed, ...).
    Ignored {
        event_name: String,
        key: Option<String>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedEvent {
    pub objects: Vec<ObjectRef>,
    pub notices: Vec<Notice>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("event is not JSON: {0}")]
    NotJson(String),
    #[error("event has an unknown shape: {0}")]
    UnknownShape(String),
    #[error("event record {index}: {message}")]
    BadRecord { index: usize, message: String },
    #[error("event nests envelopes deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error(
        "event names {count} distinct records (objects and notices), more than the {MAX_RECORDS} one event may name; split it, or load in bulk with backfill"
    )]
    TooManyRecords { count: usize },
}

/// The most distinct records (objects after de-duplication, plus notices)
/// one event document may name. AWS's own deliveries name one object each
/// (an S3 notification, an EventBridge event, an SNS message); a Lambda
/// SQS batch of up to 10,000 messages is split into its messages before
/// decoding, each checked on its own. Past this, one request could make
/// the endpoint fetch and convert thousands of objects.
pub const MAX_RECORDS: usize = 1_000;

/// SNS inside SQS inside a Lambda batch is three; more is not AWS.
const MAX_DEPTH: usize = 4;

/// Decodes one event document.
pub fn decode_event(bytes: &[u8]) -> Result<DecodedEvent, EventError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| EventError::NotJson(e.to_string()))?;
    decode_event_value(&value)
}

/// Decodes an event document already parsed (a Lambda payload). Its
/// objects are de-duplicated ([`dedup_objects`]), then counted against
/// [`MAX_RECORDS`].
pub fn decode_event_value(value: &Value) -> Result<DecodedEvent, EventError> {
    let mut decoded = DecodedEvent::default();
    decode_value(value, 0, &mut decoded)?;
    decoded.objects = dedup_objects(decoded.objects);
    let count = decoded.objects.len() + decoded.notices.len();
    if count > MAX_RECORDS {
        return Err(EventError::TooManyRecords { count });
    }
    Ok(decoded)
}

/// Each object once, before any work starts: records naming the same
/// bucket, key and version (eTag and version id, at least one known) keep
/// their first occurrence; records of a bucket and key with neither keep
/// the one with the greatest sequencer (the latest write; the first of
/// equals, a sequencer beating none), at the place of the first.
pub fn dedup_objects(objects: Vec<ObjectRef>) -> Vec<ObjectRef> {
    let mut kept: Vec<ObjectRef> = Vec::new();
    // (bucket, key, eTag, version id) -> its place in `kept`
    let mut places = HashMap::new();
    for object in objects {
        let identity = (
            object.bucket.clone(),
            object.key.clone(),
            object.etag.clone(),
            object.version_id.clone(),
        );
        match places.get(&identity) {
            None => {
                places.insert(identity, kept.len());
                kept.push(object);
            }
            Some(&place) => {
                let unversioned = object.etag.is_none() && object.version_id.is_none();
                if unversioned && later(&object, &kept[place]) {
                    kept[place] = object;
                }
            }
        }
    }
    kept
}

/// Whether `a`'s sequencer orders it after `b`'s (both already checked).
fn later(a: &ObjectRef, b: &ObjectRef) -> bool {
    match (&a.sequencer, &b.sequencer) {
        (Some(a), Some(b)) => compare_sequencers(a, b) == Ordering::Greater,
        (Some(_), None) => true,
        _ => false,
    }
}

fn decode_value(value: &Value, depth: usize, out: &mut DecodedEvent) -> Result<(), EventError> {
    if depth > MAX_DEPTH {
        return Err(EventError::TooDeep);
    }
    let Some(object) = value.as_object() else {
        return Err(EventError::UnknownShape("not a JSON object".into()));
    };
    if let Some(records) = object.get("Records") {
        let records = records
            .as_array()
            .ok_or_else(|| EventError::UnknownShape("Records is not a list".into()))?;
        for (index, record) in records.iter().enumerate() {
            decode_record(index, record, depth, out)?;
        }
        return Ok(());
    }
    if object.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        out.notices.push(Notice::TestEvent {
            bucket: str_field(value, "Bucket"),
        });
        return Ok(());
    }
    if let Some(kind) = object.get("Type").and_then(Value::as_str) {
        return decode_sns(kind, value, depth, out);
    }
    if object.contains_key("detail-type") {
        return decode_eventbridge(value, out);
    }
    let keys: Vec<String> = object.keys().take(8).map(|k| quoted(k)).collect();
    Err(EventError::UnknownShape(format!(
        "no Records, Type, detail-type or Event (keys: {})",
        keys.join(", ")
    )))
}

fn decode_record(
    index: usize,
    record: &Value,
    depth: usize,
    out: &mut DecodedEvent,
) -> Result<(), EventError> {
    let bad = |message: &str| EventError::BadRecord {
        index,
        message: message.to_string(),
    };
    // SQS batch record (Lambda): the body is another event document.
    if let Some(body) = record.get("body").and_then(Value::as_str) {
        let inner: Value =
            serde_json::from_str(body).map_err(|e| bad(&format!("SQS body is not JSON: {e}")))?;
        return decode_value(&inner, depth + 1, out).map_err(|e| nested(index, e));
    }
    // SNS record (Lambda): the message is another event document.
    if let Some(sns) = record.get("Sns") {
        let message = sns
            .get("Message")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Sns without Message"))?;
        let inner: Value = serde_json::from_str(message)
            .map_err(|e| bad(&format!("SNS Message is not JSON: {e}")))?;
        return decode_value(&inner, depth + 1, out).map_err(|e| nested(index, e));
    }
    let s3 = record
        .get("s3")
        .ok_or_else(|| bad("no s3, body or Sns field"))?;
    let event_name = record
        .get("eventName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let key = s3
        .pointer("/object/key")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("s3.object.key missing"))?;
    let key = form_decode(key).map_err(|e| bad(&e))?;
    // S3 writes `ObjectCreated:Put`; S3-compatible stores often `s3:ObjectCreated:Put`.
    let created = event_name
        .trim_start_matches("s3:")
        .starts_with("ObjectCreated:");
    if !created && !event_name.is_empty() {
        out.notices.push(Notice::Ignored {
            event_name: event_name.to_string(),
            key: Some(key),
        });
        return Ok(());
    }
    let bucket = s3
        .pointer("/bucket/name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("s3.bucket.name missing"))?;
    let object = &s3["object"];
    out.objects.push(ObjectRef {
        bucket: bucket.to_string(),
        key,
        size: object.get("size").and_then(Value::as_u64),
        etag: match version_field(object, "eTag").map_err(|e| bad(&e))? {
            Some(etag) => Some(clean_etag(etag)),
            None => version_field(object, "etag")
                .map_err(|e| bad(&e))?
                .map(clean_etag),
        },
        version_id: version_field(object, "versionId").map_err(|e| bad(&e))?,
        sequencer: sequencer_field(object).map_err(|e| bad(&e))?,
    });
    Ok(())
}

fn decode_sns(
    kind: &str,
    value: &Value,
    depth: usize,
    out: &mut DecodedEvent,
) -> Result<(), EventError> {
    match kind {
        "Notification" => {
            let message = value
                .get("Message")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    EventError::UnknownShape("SNS notification without Message".into())
                })?;
            let inner: Value = serde_json::from_str(message)
                .map_err(|e| EventError::UnknownShape(format!("SNS Message is not JSON: {e}")))?;
            decode_value(&inner, depth + 1, out)
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            out.notices.push(Notice::SubscriptionConfirmation {
                topic_arn: str_field(value, "TopicArn"),
                subscribe_url: str_field(value, "SubscribeURL"),
            });
            Ok(())
        }
        other => Err(EventError::UnknownShape(format!(
            "SNS message of Type {}",
            quoted(other)
        ))),
    }
}

fn decode_eventbridge(value: &Value, out: &mut DecodedEvent) -> Result<(), EventError> {
    let detail_type = value
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let bad = |message: &str| EventError::BadRecord {
        index: 0,
        message: message.to_string(),
    };
    let key = value
        .pointer("/detail/object/key")
        .and_then(Value::as_str)
        .map(form_decode)
        .transpose()
        .map_err(|e| bad(&e))?;
    if detail_type != "Object Created" {
        out.notices.push(Notice::Ignored {
            event_name: detail_type.to_string(),
            key,
        });
        return Ok(());
    }
    let key = key.ok_or_else(|| bad("detail.object.key missing"))?;
    let bucket = value
        .pointer("/detail/bucket/name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("detail.bucket.name missing"))?;
    let object = &value["detail"]["object"];
    out.objects.push(ObjectRef {
        bucket: bucket.to_string(),
        key,
        size: object.get("size").and_then(Value::as_u64),
        etag: version_field(object, "etag")
            .map_err(|e| bad(&e))?
            .map(clean_etag),
        version_id: version_field(object, "version-id").map_err(|e| bad(&e))?,
        sequencer: sequencer_field(object).map_err(|e| bad(&e))?,
    });
    Ok(())
}

fn nested(index: usize, error: EventError) -> EventError {
    match error {
        EventError::TooDeep => EventError::TooDeep,
        other => EventError::BadRecord {
            index,
            message: other.to_string(),
        },
    }
}

/// The object's sequencer, if it has one: hexadecimal digits, as S3 writes
/// them. Anything else could not be ordered (and, compared as text, could
/// hold every later version of the run back).
fn sequencer_field(object: &Value) -> Result<Option<String>, String> {
    match object.get("sequencer") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(sequencer)) if is_valid_sequencer(sequencer) => {
            Ok(Some(sequencer.clone()))
        }
        Some(Value::String(sequencer)) => Err(format!(
            "sequencer {} is not a string of hexadecimal digits",
            quoted(sequencer)
        )),
        Some(_) => Err("sequencer is not a string".into()),
    }
}

/// The longest ETag or version id taken: S3's are tens of characters; a
/// longer one would only bloat manifests and reports.
const MAX_VERSION_FIELD: usize = 1024;

/// An ETag or version id, if the object has one of a plausible length.
fn version_field(object: &Value, name: &str) -> Result<Option<String>, String> {
    match str_field(object, name) {
        Some(value) if value.len() > MAX_VERSION_FIELD => Err(format!(
            "{name} {} is longer than {MAX_VERSION_FIELD} bytes",
            quoted(&value)
        )),
        other => Ok(other),
    }
}

fn str_field(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_string)
}

/// ETags sometimes arrive quoted; compare them bare.
fn clean_etag(etag: String) -> String {
    etag.trim_matches('"').to_string()
}

/// `application/x-www-form-urlencoded` decoding, as S3 encodes keys in
/// notifications: `+` is a space, `%2B` a plus.
pub fn form_decode(s: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(s.len());
    let raw = s.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = raw
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                match byte {
                    Some(b) => bytes.push(b),
                    None => return Err(format!("bad percent escape in key {}", quoted(s))),
                }
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).map_err(|_| format!("key {} does not decode to UTF-8", quoted(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S3: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
        "eventTime":"2020-09-11T18:01:00.000Z","eventName":"ObjectCreated:Put",
        "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"lovelywater","arn":"arn:aws:s3:::lovelywater"},
        "object":{"key":"summary2/SRR1+copy%2B1.summary","size":1234,"eTag":"\"abc\"","versionId":"v1","sequencer":"0055AED6DCD90281E5"}}}]}"#;

    fn object(key: &str) -> ObjectRef {
        ObjectRef {
            bucket: "lovelywater".into(),
            key: key.into(),
            size: Some(1234),
            etag: Some("abc".into()),
            version_id: Some("v1".into()),
            sequencer: Some("0055AED6DCD90281E5".into()),
        }
    }

    #[test]
    fn s3_notification_with_encoded_key() {
        let d = decode_event(S3.as_bytes()).unwrap();
        assert_eq!(d.objects, [object("summary2/SRR1 copy+1.summary")]);
        assert!(d.notices.is_empty());
    }

    #[test]
    fn minimal_record_has_only_bucket_and_key() {
        let d = decode_event(br#"{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"psummary/SRR2.psummary"}}}]}"#).unwrap();
        assert_eq!(
            d.objects,
            [ObjectRef {
                bucket: "b".into(),
                key: "psummary/SRR2.psummary".into(),
                size: None,
                etag: None,
                version_id: None,
                sequencer: None
            }]
        );
    }

    #[test]
    fn sqs_and_sns_wrappers() {
        let sqs = json!({"Records":[{"messageId":"m1","eventSource":"aws:sqs","body": S3}]});
        assert_eq!(
            decode_event(sqs.to_string().as_bytes()).unwrap().objects,
            [object("summary2/SRR1 copy+1.summary")]
        );
        let sns = json!({"Type":"Notification","MessageId":"x","TopicArn":"arn:t","Message": S3});
        assert_eq!(
            decode_event(sns.to_string().as_bytes())
                .unwrap()
                .objects
                .len(),
            1
        );
        let sns_in_sqs = json!({"Records":[{"body": sns.to_string()}]});
        assert_eq!(
            decode_event(sns_in_sqs.to_string().as_bytes())
                .unwrap()
                .objects
                .len(),
            1
        );
        let lambda_sns = json!({"Records":[{"EventSource":"aws:sns","Sns":{"Message": S3}}]});
        assert_eq!(
            decode_event(lambda_sns.to_string().as_bytes())
                .unwrap()
                .objects
                .len(),
            1
        );
    }

    #[test]
    fn eventbridge_object_created() {
        let eb = r#"{"version":"0","id":"1","detail-type":"Object Created","source":"aws.s3","account":"1",
            "time":"2021-11-12T00:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::lovelywater"],
            "detail":{"version":"0","bucket":{"name":"lovelywater"},"object":{"key":"rsummary/SRR3.psummary",
            "size":5,"etag":"e1","version-id":"v9","sequencer":"00617F08299329D189"},"request-id":"r","requester":"1","reason":"PutObject"}}"#;
        let d = decode_event(eb.as_bytes()).unwrap();
        assert_eq!(d.objects[0].key, "rsummary/SRR3.psummary");
        assert_eq!(d.objects[0].version_id.as_deref(), Some("v9"));
        assert_eq!(d.objects[0].etag.as_deref(), Some("e1"));
        assert_eq!(
            d.objects[0].sequencer.as_deref(),
            Some("00617F08299329D189")
        );
        let deleted = eb.replace("Object Created", "Object Deleted");
        let d = decode_event(deleted.as_bytes()).unwrap();
        assert!(d.objects.is_empty());
        assert_eq!(
            d.notices,
            [Notice::Ignored {
                event_name: "Object Deleted".into(),
                key: Some("rsummary/SRR3.psummary".into())
            }]
        );
    }

    #[test]
    fn test_events_confirmations_and_removals_are_notices() {
        let t = br#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2020-01-01T00:00:00Z","Bucket":"lovelywater","RequestId":"r","HostId":"h"}"#;
        assert_eq!(
            decode_event(t).unwrap().notices,
            [Notice::TestEvent {
                bucket: Some("lovelywater".into())
            }]
        );
        let c = br#"{"Type":"SubscriptionConfirmation","TopicArn":"arn:t","SubscribeURL":"https://sns/confirm","Message":"You have chosen"}"#;
        assert_eq!(
            decode_event(c).unwrap().notices,
            [Notice::SubscriptionConfirmation {
                topic_arn: Some("arn:t".into()),
                subscribe_url: Some("https://sns/confirm".into())
            }]
        );
        let prefixed = S3.replace(
            "ObjectCreated:Put",
            "s3:ObjectCreated:CompleteMultipartUpload",
        );
        assert_eq!(decode_event(prefixed.as_bytes()).unwrap().objects.len(), 1);
        let removed = S3.replace("ObjectCreated:Put", "ObjectRemoved:Delete");
        let d = decode_event(removed.as_bytes()).unwrap();
        assert!(d.objects.is_empty());
        assert_eq!(
            d.notices,
            [Notice::Ignored {
                event_name: "ObjectRemoved:Delete".into(),
                key: Some("summary2/SRR1 copy+1.summary".into())
            }]
        );
    }

    #[test]
    fn malformed_events_are_errors() {
        assert!(matches!(decode_event(b"{"), Err(EventError::NotJson(_))));
        assert!(matches!(
            decode_event(b"[]"),
            Err(EventError::UnknownShape(_))
        ));
        assert!(matches!(
            decode_event(br#"{"hello":1}"#),
            Err(EventError::UnknownShape(_))
        ));
        assert!(matches!(
            decode_event(br#"{"Records":{}}"#),
            Err(EventError::UnknownShape(_))
        ));
        assert_eq!(
            decode_event(br#"{"Records":[{"s3":{"bucket":{"name":"b"},"object":{}}}]}"#),
            Err(EventError::BadRecord {
                index: 0,
                message: "s3.object.key missing".into()
            })
        );
        assert!(matches!(
            decode_event(br#"{"Records":[{"body":"not json"}]}"#),
            Err(EventError::BadRecord { .. })
        ));
        let mut deep = S3.to_string();
        for _ in 0..6 {
            deep = json!({"Type":"Notification","Message": deep}).to_string();
        }
        assert_eq!(decode_event(deep.as_bytes()), Err(EventError::TooDeep));
    }

    fn record(key: &str, extra: Value) -> Value {
        let mut object = json!({"key": key});
        object
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object": object}})
    }

    fn decode_records(records: Vec<Value>) -> Result<DecodedEvent, EventError> {
        decode_event(json!({ "Records": records }).to_string().as_bytes())
    }

    #[test]
    fn etags_and_version_ids_have_a_bounded_length() {
        let long = "e".repeat(MAX_VERSION_FIELD + 1);
        for field in ["eTag", "versionId"] {
            let error = decode_records(vec![record("k", json!({ field: long }))]).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "event record 0: {field} \"{}… (1025 bytes)\" is longer than 1024 bytes",
                    "e".repeat(80)
                )
            );
        }
        let fits = "e".repeat(MAX_VERSION_FIELD);
        let decoded = decode_records(vec![record("k", json!({"eTag": fits}))]).unwrap();
        assert_eq!(decoded.objects[0].etag.as_deref(), Some(fits.as_str()));
    }

    #[test]
    fn sequencers_must_be_hexadecimal() {
        let ok = decode_records(vec![record(
            "k",
            json!({"sequencer": "00617f08299329D189"}),
        )]);
        assert_eq!(
            ok.unwrap().objects[0].sequencer.as_deref(),
            Some("00617f08299329D189")
        );
        assert_eq!(
            decode_records(vec![record("k", json!({"sequencer": null}))])
                .unwrap()
                .objects[0]
                .sequencer,
            None
        );
        for (sequencer, message) in [
            (
                json!("zzzz"),
                "sequencer \"zzzz\" is not a string of hexadecimal digits",
            ),
            (
                json!(""),
                "sequencer \"\" is not a string of hexadecimal digits",
            ),
            (
                json!("00AB\u{1b}[2J"),
                "sequencer \"00AB\\u{1b}[2J\" is not a string of hexadecimal digits",
            ),
            (json!(12), "sequencer is not a string"),
        ] {
            let records = vec![
                record("ok", json!({})),
                record("k", json!({ "sequencer": sequencer })),
            ];
            assert_eq!(
                decode_records(records),
                Err(EventError::BadRecord {
                    index: 1,
                    message: message.into()
                })
            );
        }
        let long = "z".repeat(5000);
        let Err(EventError::BadRecord { message, .. }) =
            decode_records(vec![record("k", json!({ "sequencer": long }))])
        else {
            panic!("a bad record");
        };
        assert!(
            message.ends_with("… (5000 bytes)\" is not a string of hexadecimal digits"),
            "{message}"
        );
        // EventBridge carries its sequencer in the same place
        let eb = json!({"detail-type": "Object Created", "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "k", "sequencer": "not-hex"}}});
        assert_eq!(
            decode_event(eb.to_string().as_bytes()),
            Err(EventError::BadRecord {
                index: 0,
                message: "sequencer \"not-hex\" is not a string of hexadecimal digits".into()
            })
        );
    }

    #[test]
    fn objects_are_deduplicated_by_bucket_key_and_version() {
        let decoded = decode_records(vec![
            record("a", json!({"eTag": "e1", "sequencer": "02"})),
            record("b", json!({})),
            // the same version again, even with another sequencer: the first is kept
            record("a", json!({"eTag": "\"e1\"", "sequencer": "01"})),
            // another version of `a`: kept
            record("a", json!({"eTag": "e2", "sequencer": "03"})),
            record("a", json!({"eTag": "e1", "versionId": "v1"})),
            record("a", json!({"versionId": "v1"})),
            record("a", json!({"versionId": "v1"})),
            // no eTag nor version: the greatest sequencer, at the first one's place
            record("c", json!({"sequencer": "0062000000000000000A"})),
            record("c", json!({"sequencer": "006300000000000000"})),
            record("c", json!({"sequencer": "0061"})),
            record("c", json!({})),
            record("b", json!({})),
        ])
        .unwrap();
        type Seen<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let seen: Vec<Seen> = decoded
            .objects
            .iter()
            .map(|o| {
                (
                    o.key.as_str(),
                    o.etag.as_deref(),
                    o.version_id.as_deref(),
                    o.sequencer.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a", Some("e1"), None, Some("02")),
                ("b", None, None, None),
                ("a", Some("e2"), None, Some("03")),
                ("a", Some("e1"), Some("v1"), None),
                ("a", None, Some("v1"), None),
                ("c", None, None, Some("006300000000000000")),
            ]
        );
        // another bucket is another object
        let mut other = record("b", json!({}));
        other["s3"]["bucket"]["name"] = json!("other");
        let decoded = decode_records(vec![record("b", json!({})), other]).unwrap();
        assert_eq!(decoded.objects.len(), 2);
        // copies across envelopes of one document (an SQS-shaped batch) too
        let inner = json!({"Records": [record("d", json!({"eTag": "e"}))]}).to_string();
        let batch = json!({"Records": [{"body": inner}, {"body": inner}, {"body": inner}]});
        assert_eq!(
            decode_event(batch.to_string().as_bytes())
                .unwrap()
                .objects
                .len(),
            1
        );
    }

    #[test]
    fn an_event_names_a_bounded_number_of_records() {
        // 13,000 copies of one key are one object
        let copies = vec![record("summary2/SRR1.summary", json!({})); 13_000];
        assert_eq!(decode_records(copies).unwrap().objects.len(), 1);
        let distinct = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| record(&format!("summary2/SRR{i}.summary"), json!({})))
                .collect()
        };
        assert_eq!(
            decode_records(distinct(MAX_RECORDS)).unwrap().objects.len(),
            MAX_RECORDS
        );
        let error = decode_records(distinct(MAX_RECORDS + 1)).unwrap_err();
        assert_eq!(error, EventError::TooManyRecords { count: 1001 });
        assert_eq!(
            error.to_string(),
            "event names 1001 distinct records (objects and notices), more than the 1000 one event may name; split it, or load in bulk with backfill"
        );
        // notices count too
        let mut records = distinct(MAX_RECORDS);
        let mut removed = record("x", json!({}));
        removed["eventName"] = json!("ObjectRemoved:Delete");
        records.push(removed);
        assert_eq!(
            decode_records(records),
            Err(EventError::TooManyRecords { count: 1001 })
        );
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%2Bc%20d").unwrap(), "a b+c d");
        assert_eq!(form_decode("caf%C3%A9").unwrap(), "café");
        assert!(form_decode("bad%2").is_err());
        assert!(form_decode("bad%zz").is_err());
        assert!(form_decode("%FF").is_err());
    }
}
