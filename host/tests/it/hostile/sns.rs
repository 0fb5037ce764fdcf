//! SNS authentication against the real `serve`: only the topics given,
//! only recent messages, only SNS's certificate hosts, and a message
//! answered 200 is never processed again (item 5 of issue 17).
//!
//! Messages are signed with the test key and verified with `--sns-cert`; S3
//! is reached through a counting proxy, so "touches nothing" is a count of
//! zero requests as well as an unchanged lake.

use std::io::Read;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::support::events::{
    self, s3_event, sns_envelope, sns_notification, sns_signed, SNS_TOPIC,
};
use crate::support::servers::{self, Aws, Fault, FaultProxy, Server};

const API_KEY: &str = "hostile-sns-api-key-0123456789";
const KEY: &str = "summary2/SRR612821.summary";
const OTHER_TOPIC: &str = "arn:aws:sns:us-east-1:999999999999:anyones-topic";

/// S3 behind a proxy that counts every request and, while `failing` is
/// set, answers every PUT 503.
struct CountedS3 {
    proxy: FaultProxy,
    requests: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl CountedS3 {
    fn start(aws: &Aws) -> CountedS3 {
        let requests = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicBool::new(false));
        let (count, fail) = (requests.clone(), failing.clone());
        let proxy = FaultProxy::start(aws.s3.port, move |method, _, _| {
            count.fetch_add(1, Ordering::SeqCst);
            (method == "PUT" && fail.load(Ordering::SeqCst)).then_some(Fault::Status(503))
        });
        CountedS3 {
            proxy,
            requests,
            failing,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// `aws` with the summary of `KEY` in its source bucket, and its S3 counted.
fn aws_with_a_summary() -> (Aws, CountedS3) {
    let aws = Aws::start();
    aws.put_source(
        KEY,
        &std::fs::read(crate::support::common::fixtures().join("nucleotide/SRR612821.summary"))
            .unwrap(),
    );
    let s3 = CountedS3::start(&aws);
    (aws, s3)
}

/// `serve` verifying SNS messages with the test certificate, with `options`.
fn start_serve(aws: &Aws, s3: &CountedS3, options: &[&str]) -> Server {
    let cert = events::sns_cert_path();
    let mut args = vec![
        "--dest",
        "s3://lake/serratus",
        "--no-glue",
        "--sns-cert",
        cert.to_str().unwrap(),
    ];
    args.extend_from_slice(options);
    let proxy = s3.proxy.url();
    servers::serve(aws, &args, API_KEY, &[("AWS_ENDPOINT_URL_S3", &proxy)])
}

fn post(serve: &Server, headers: &[(&str, &str)], body: &Value) -> (u16, String) {
    events::post(&serve.url(), headers, body)
}

fn event() -> Value {
    s3_event(&[KEY.to_string()])
}

/// A signed notification of `event()` as `change` leaves its envelope.
fn signed_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut envelope = sns_envelope(&event());
    change(&mut envelope);
    sns_signed(envelope)
}

/// Posts `message` and checks it is refused with `reason`, and that it
/// caused no S3 request and left the lake as it was.
fn assert_refused(aws: &Aws, s3: &CountedS3, serve: &Server, message: &Value, reason: &str) {
    let (lake, requests) = (aws.lake_files(), s3.requests());
    assert_eq!(
        post(serve, &[], message),
        (401, format!("unauthenticated: {reason}\n"))
    );
    assert_eq!(
        s3.requests(),
        requests,
        "no S3 request for a refused message"
    );
    assert!(aws.lake_files() == lake, "the lake is unchanged");
}

/// Posts `message` and checks it lands.
fn assert_lands(serve: &Server, headers: &[(&str, &str)], message: &Value) {
    let (status, body) = post(serve, headers, message);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"outcome\":\"landed\""), "{body}");
}

#[test]
fn a_signed_message_of_a_topic_not_given_is_refused() {
    let (aws, s3) = aws_with_a_summary();
    let serve = start_serve(&aws, &s3, &["--sns-topic", SNS_TOPIC]);
    let other = signed_with(|m| m["TopicArn"] = json!(OTHER_TOPIC));
    assert_refused(
        &aws,
        &s3,
        &serve,
        &other,
        &format!("SNS topic \"{OTHER_TOPIC}\" is not accepted"),
    );
    // a topic made to forge log lines is quoted short and escaped
    let forging = format!("\u{1b}[2J\nlevel=INFO accepted{}", "x".repeat(5000));
    let (status, body) = post(
        &serve,
        &[],
        &signed_with(|m| m["TopicArn"] = json!(forging)),
    );
    assert_eq!(status, 401);
    assert!(
        body.starts_with("unauthenticated: SNS topic \"\\u{1b}[2J\\nlevel=INFO acceptedxxx"),
        "{body}"
    );
    assert!(
        body.ends_with("… (5024 bytes)\" is not accepted\n"),
        "{body}"
    );
    assert_eq!(body.lines().count(), 1, "{body}");
    // the SigningCertURL must be SNS's, even with --sns-cert
    let bucket_named_sns = signed_with(|m| {
        m["SigningCertURL"] = json!("https://sns.s3.amazonaws.com/SimpleNotificationService-x.pem")
    });
    assert_refused(
        &aws,
        &s3,
        &serve,
        &bucket_named_sns,
        "SigningCertURL \"https://sns.s3.amazonaws.com/SimpleNotificationService-x.pem\" is not an SNS certificate URL",
    );
    assert!(aws.lake_files().is_empty(), "nothing written");
    // the topic given lands
    assert_lands(&serve, &[], &sns_notification(&event()));
}

#[test]
fn without_sns_topic_an_sns_message_is_refused_saying_what_to_pass() {
    let (aws, s3) = aws_with_a_summary();
    let serve = start_serve(&aws, &s3, &[]);
    assert_refused(
        &aws,
        &s3,
        &serve,
        &sns_notification(&event()),
        &format!(
            "SNS message of topic \"{SNS_TOPIC}\" refused: no SNS topic is accepted; \
             pass --sns-topic ARN (repeatable), or --sns-any-topic to accept any topic"
        ),
    );
    assert!(aws.lake_files().is_empty(), "nothing written");
    // an API-key deployment needs neither flag
    assert_lands(&serve, &[("x-api-key", API_KEY)], &event());
}

#[test]
fn with_sns_any_topic_any_topic_lands_and_the_risk_is_logged() {
    let (aws, s3) = aws_with_a_summary();
    let log = tempfile::NamedTempFile::new().unwrap();
    let serve = serve_logging_to(&aws, &s3, &["--sns-any-topic"], log.path());
    assert_lands(
        &serve,
        &[],
        &signed_with(|m| m["TopicArn"] = json!(OTHER_TOPIC)),
    );
    let log = std::fs::read_to_string(log.path()).unwrap();
    let warning = log
        .lines()
        .find(|line| line.contains("WARN") && line.contains("ANY topic"))
        .unwrap_or_else(|| panic!("no warning about any topic in the log:\n{log}"));
    assert!(
        warning.contains("anyone with an AWS account can publish to a topic of their own"),
        "{warning}"
    );
    // both at once is refused at start
    let out = servers::uploader(&aws)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:1",
            "--dest",
            "s3://lake/serratus",
        ])
        .args(["--sns-any-topic", "--sns-topic", SNS_TOPIC])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'--sns-any-topic' cannot be used with '--sns-topic <ARN>'"),
        "{stderr}"
    );
}

#[test]
fn old_future_and_undated_messages_are_refused() {
    let (aws, s3) = aws_with_a_summary();
    let serve = start_serve(&aws, &s3, &["--sns-topic", SNS_TOPIC]);
    let sent = |offset_seconds: i64| {
        let now = SystemTime::now();
        let at = if offset_seconds < 0 {
            now - Duration::from_secs(offset_seconds.unsigned_abs())
        } else {
            now + Duration::from_secs(offset_seconds as u64)
        };
        summary_aws::sns::format_timestamp(at)
    };

    let two_hours_old = sent(-7200);
    let (lake, requests) = (aws.lake_files(), s3.requests());
    let (status, body) = post(
        &serve,
        &[],
        &signed_with(|m| m["Timestamp"] = json!(two_hours_old)),
    );
    assert_eq!(status, 401, "{body}");
    let age = seconds_in(
        &body,
        &format!("unauthenticated: SNS message of \"{two_hours_old}\" is "),
        " s old, more than the 3600 s accepted\n",
    );
    // the server's clock has moved on a little by the time it checks
    assert!((7200..7260).contains(&age), "{body}");
    assert_eq!(s3.requests(), requests);
    assert!(aws.lake_files() == lake);

    let ten_minutes_ahead = sent(600);
    let (status, body) = post(
        &serve,
        &[],
        &signed_with(|m| m["Timestamp"] = json!(ten_minutes_ahead)),
    );
    assert_eq!(status, 401, "{body}");
    let ahead = seconds_in(
        &body,
        &format!("unauthenticated: SNS message of \"{ten_minutes_ahead}\" is "),
        " s ahead of this clock, more than the 300 s accepted\n",
    );
    assert!((540..=600).contains(&ahead), "{body}");

    for (timestamp, reason) in [
        (
            "2026-11-29 20:15:08Z",
            "SNS Timestamp \"2026-11-29 20:15:08Z\" is not a UTC time like 2026-11-29T20:15:08.123Z",
        ),
        (
            "1 hour ago",
            "SNS Timestamp \"1 hour ago\" is not a UTC time like 2026-11-29T20:15:08.123Z",
        ),
    ] {
        let message = signed_with(|m| m["Timestamp"] = json!(timestamp));
        assert_refused(&aws, &s3, &serve, &message, reason);
    }
    // (SNS signs the Timestamp: an undated message cannot carry a valid
    // signature; it is refused before the signature is checked)
    let mut undated = sns_notification(&event());
    undated.as_object_mut().unwrap().remove("Timestamp");
    assert_refused(&aws, &s3, &serve, &undated, "SNS message without Timestamp");
    assert!(aws.lake_files().is_empty(), "nothing written");
    drop(serve);

    // --sns-max-age narrows the window
    let serve = start_serve(
        &aws,
        &s3,
        &["--sns-topic", SNS_TOPIC, "--sns-max-age", "60"],
    );
    let two_minutes_old = sent(-120);
    let (status, body) = post(
        &serve,
        &[],
        &signed_with(|m| m["Timestamp"] = json!(two_minutes_old)),
    );
    assert_eq!(status, 401, "{body}");
    assert!(
        body.ends_with(" s old, more than the 60 s accepted\n"),
        "{body}"
    );
    assert!(aws.lake_files().is_empty(), "nothing written");
    // a message inside the window lands
    assert_lands(&serve, &[], &sns_notification(&event()));
}

#[test]
fn a_message_is_processed_until_answered_200_and_then_never_again() {
    let (aws, s3) = aws_with_a_summary();
    let serve = start_serve(&aws, &s3, &["--sns-topic", SNS_TOPIC]);
    let message = sns_notification(&event());
    let message_id = message["MessageId"].as_str().unwrap().to_string();

    // S3 fails every write: 503, so SNS would redeliver the same MessageId
    s3.failing.store(true, Ordering::SeqCst);
    let (status, body) = post(&serve, &[], &message);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"retryable\":true"), "{body}");
    s3.failing.store(false, Ordering::SeqCst);

    // the redelivery is processed and lands
    assert_lands(&serve, &[], &message);
    let landed = aws.lake_files();
    assert!(
        landed.keys().filter(|k| k.ends_with(".parquet")).count() > 0,
        "{:?}",
        landed.keys()
    );

    // the same message again (a replay): 200, nothing read or written
    let requests = s3.requests();
    assert_eq!(
        post(&serve, &[], &message),
        (
            200,
            format!(
                "duplicate: SNS message \"{message_id}\" was answered 200 before; nothing processed\n"
            )
        )
    );
    assert_eq!(s3.requests(), requests, "no S3 request for a duplicate");
    assert!(aws.lake_files() == landed, "the lake is unchanged");

    // another message of the same event is not a duplicate: it is
    // processed, and the manifests find nothing new to write
    let (status, body) = post(&serve, &[], &sns_notification(&event()));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"outcome\":\"already-done\""), "{body}");
    assert!(s3.requests() > requests);
    assert!(aws.lake_files() == landed, "the lake is unchanged");
}

/// The number of seconds between `before` and `after` in `body`.
fn seconds_in(body: &str, before: &str, after: &str) -> u64 {
    body.strip_prefix(before)
        .and_then(|rest| rest.strip_suffix(after))
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("{body:?} is not {before:?}<seconds>{after:?}"))
}

/// `serve` as `start_serve` starts it, its log (stderr) written to `log`.
fn serve_logging_to(aws: &Aws, s3: &CountedS3, options: &[&str], log: &std::path::Path) -> Server {
    let cert = events::sns_cert_path();
    let port = servers::free_port();
    let child = servers::uploader(aws)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--dest", "s3://lake/serratus", "--no-glue", "--sns-cert"])
        .arg(&cert)
        .args(options)
        .env("SUMMARY_UPLOADER_API_KEY", API_KEY)
        .env("AWS_ENDPOINT_URL_S3", s3.proxy.url())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("starting serve");
    let mut server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !servers::listening(port) {
        if let Ok(Some(status)) = server.child.try_wait() {
            let mut text = String::new();
            let _ = std::fs::File::open(log).and_then(|mut f| f.read_to_string(&mut text));
            panic!("serve exited with {status} before listening:\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "serve did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// A validly signed envelope with a `Records` list added beside it: the
/// signature vouches only for the signed fields, so only the signed
/// Message is processed; the injected records are never fetched.
#[test]
fn records_added_beside_a_valid_signature_are_not_acted_on() {
    let (aws, s3) = aws_with_a_summary();
    let injected_key = "summary2/ERR2567813.summary";
    aws.put_source(
        injected_key,
        &std::fs::read(crate::support::common::fixtures().join("nucleotide/ERR2567813.summary"))
            .unwrap(),
    );
    let serve = start_serve(&aws, &s3, &["--sns-topic", SNS_TOPIC]);
    let mut tampered = sns_notification(&event());
    tampered["Records"] = s3_event(&[injected_key.to_string()])["Records"].clone();
    let (status, body) = post(&serve, &[], &tampered);
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [KEY], "{body}");
    assert!(
        !aws.lake_files().keys().any(|k| k.contains("ERR2567813")),
        "the injected record landed"
    );
}
