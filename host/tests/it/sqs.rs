//! `consume-sqs` against moto's SQS (the same server as Glue; signatures
//! checked) and s3s-fs: S3-shaped messages land once, poison messages end
//! in the dead-letter queue, SIGTERM loses and doubles nothing, and a
//! burst of 1,000 messages lands exactly once.

use crate::support::common;
use crate::support::servers;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::assert_success;
use serde_json::{json, Value};
use servers::{duckdb_count, Aws, FaultProxy};
use summary_corpus::{generate, GeneratedSummary};
use summary_lake::Kind;

/// Every table of the lake, as DuckDB sees it.
const TABLES: [&str; 11] = [
    "nucleotide/sra",
    "nucleotide/family",
    "nucleotide/sequence",
    "protein/sra",
    "protein/family",
    "protein/protein",
    "protein/sequence",
    "rdrp/sra",
    "rdrp/phylum",
    "rdrp/family",
    "rdrp/sequence",
];

fn create_queue(aws: &Aws, name: &str, attributes: Value) -> String {
    let (status, answer) = aws.sqs_call(
        "CreateQueue",
        json!({"QueueName": name, "Attributes": attributes}),
    );
    assert_eq!(status, 200, "CreateQueue: {answer}");
    answer["QueueUrl"].as_str().unwrap().to_string()
}

fn queue_arn(aws: &Aws, url: &str) -> String {
    let (status, answer) = aws.sqs_call(
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    );
    assert_eq!(status, 200, "{answer}");
    answer["Attributes"]["QueueArn"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Messages waiting and messages in flight.
fn queue_counts(aws: &Aws, url: &str) -> (u64, u64) {
    let (status, answer) = aws.sqs_call(
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames":
            ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]}),
    );
    assert_eq!(status, 200, "{answer}");
    let count = |name: &str| {
        answer["Attributes"][name]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    (
        count("ApproximateNumberOfMessages"),
        count("ApproximateNumberOfMessagesNotVisible"),
    )
}

fn send_all(aws: &Aws, url: &str, bodies: &[String]) {
    for chunk in bodies.chunks(10) {
        let entries: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| json!({"Id": format!("e{i}"), "MessageBody": body}))
            .collect();
        let (status, answer) = aws.sqs_call(
            "SendMessageBatch",
            json!({"QueueUrl": url, "Entries": entries}),
        );
        assert_eq!(status, 200, "{answer}");
        assert!(
            answer
                .get("Failed")
                .is_none_or(|f| f.as_array().unwrap().is_empty()),
            "{answer}"
        );
    }
}

fn s3_notification(key: &str) -> Value {
    json!({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
        "s3":{"bucket":{"name":"src"},"object":{"key": key, "eTag": "e1", "sequencer": "01"}}}]})
}

/// The message bodies S3 sends to a queue, in each shape it can arrive
/// in: direct, through SNS (raw delivery off), through EventBridge.
fn message_body(index: usize, key: &str) -> String {
    match index % 3 {
        0 => s3_notification(key).to_string(),
        1 => json!({"Type": "Notification", "MessageId": format!("sns-{index}"),
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:summaries",
                "Message": s3_notification(key).to_string()})
        .to_string(),
        _ => json!({"version": "0", "detail-type": "Object Created", "source": "aws.s3",
                "detail": {"bucket": {"name": "src"}, "object": {"key": key, "etag": "e1", "sequencer": "01"}}})
        .to_string(),
    }
}

/// `consume-sqs` of `queue` into `s3://lake/<prefix>`, its SQS calls
/// through `proxy` (one at a time, see [`FaultProxy::serializing`]).
fn consumer(
    aws: &Aws,
    proxy: &FaultProxy,
    queue: &str,
    prefix: &str,
    args: &[&str],
) -> std::process::Command {
    let mut command = servers::uploader(aws);
    command
        .env("AWS_ENDPOINT_URL_SQS", proxy.url())
        .args(["consume-sqs", "--queue-url", queue, "--dest"])
        .arg(format!("s3://lake/{prefix}"))
        .args(["--wait", "1"])
        .args(args)
        .env("RUST_LOG", "info");
    command
}

/// Rows per table under a lake folder.
fn row_counts(lake: &Path) -> BTreeMap<&'static str, u64> {
    TABLES
        .iter()
        .map(|table| (*table, duckdb_count(lake, table)))
        .collect()
}

/// Rows per table of the fixtures replayed into a local lake: what the
/// queue must produce.
fn expected_fixture_rows(aws: &Aws) -> BTreeMap<&'static str, u64> {
    let lake = aws.s3_root.path().join("expected");
    let out = servers::uploader(aws)
        .arg("replay")
        .arg("--lake")
        .arg(&lake)
        .arg(common::fixtures())
        .output()
        .unwrap();
    assert_success(&out);
    row_counts(&lake)
}

/// The consumer's closing line, `received N, deleted N, left N, released N`.
fn closing_counts(stderr: &str) -> [u64; 4] {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("consumer stopped: received"))
        .unwrap_or_else(|| panic!("no closing line in {stderr}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    numbers[numbers.len() - 4..].try_into().unwrap()
}

/// Every one of `messages` was received and deleted, none left or handed
/// back. SQS delivers at least once (and moto, with several receivers,
/// sometimes hands a message out twice), so a message may be received and
/// deleted more than once; the lake's row counts, checked by each test, show
/// that a second delivery changes nothing.
fn assert_all_deleted(counts: [u64; 4], messages: u64, stderr: &str) {
    let [received, deleted, left, released] = counts;
    assert!(
        received >= messages,
        "received {received} of {messages}: {stderr}"
    );
    assert_eq!((deleted, left, released), (received, 0, 0), "{stderr}");
}

#[test]
fn s3_messages_for_the_fixtures_land_once_and_are_deleted() {
    let aws = Aws::start();
    let proxy = FaultProxy::serializing(aws.glue.port);
    let keys = aws.put_fixture_sources();
    let queue = create_queue(&aws, "summaries", json!({"VisibilityTimeout": "30"}));
    let mut bodies: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| message_body(i, key))
        .collect();
    bodies.push(
        json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "src"}).to_string(),
    );
    send_all(&aws, &queue, &bodies);
    assert_eq!(queue_counts(&aws, &queue), (61, 0));

    let out = consumer(
        &aws,
        &proxy,
        &queue,
        "serratus",
        &["--until-empty", "--concurrency", "2"],
    )
    .output()
    .unwrap();
    let stderr = assert_success(&out);
    assert_all_deleted(closing_counts(&stderr), 61, &stderr);
    assert_eq!(queue_counts(&aws, &queue), (0, 0), "every message deleted");
    let lake = aws.lake_dir().join("serratus");
    let expected = expected_fixture_rows(&aws);
    assert_eq!(row_counts(&lake), expected);
    assert_eq!(expected["rdrp/sequence"], 3219);
    let (status, table) = aws.glue_call(
        "GetTable",
        json!({"DatabaseName": "summary", "Name": "nsequence"}),
    );
    assert_eq!(status, 200, "{table}");

    // The same messages delivered again: deleted, nothing rewritten.
    let before = aws.lake_files();
    send_all(&aws, &queue, &bodies);
    let out = consumer(&aws, &proxy, &queue, "serratus", &["--until-empty"])
        .output()
        .unwrap();
    let stderr = assert_success(&out);
    assert_all_deleted(closing_counts(&stderr), 61, &stderr);
    assert_eq!(aws.lake_files(), before, "a redelivery writes nothing");
    assert_eq!(row_counts(&lake), expected);
}

/// Waits until `check` holds, for at most `seconds`.
fn wait_until(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn terminate(mut child: Child) -> Output {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the consumer did not stop within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn poison_messages_are_retried_then_end_in_the_dead_letter_queue() {
    let aws = Aws::start();
    let proxy = FaultProxy::serializing(aws.glue.port);
    let dlq = create_queue(&aws, "summaries-dlq", json!({}));
    let policy = json!({"deadLetterTargetArn": queue_arn(&aws, &dlq), "maxReceiveCount": "2"});
    let queue = create_queue(
        &aws,
        "summaries",
        json!({"VisibilityTimeout": "1", "RedrivePolicy": policy.to_string()}),
    );
    aws.put_source(
        "summary2/SRR612821.summary",
        &std::fs::read(common::fixtures().join("nucleotide/SRR612821.summary")).unwrap(),
    );
    aws.put_source(
        "summary2/SRR9999999.summary",
        b"readlength=abc;SUMZER_COMMENT=sra=SRR9999999,genome=cov3ma,version=200818,date=200911-08:55;\n",
    );
    let corrupt = s3_notification("summary2/SRR9999999.summary").to_string();
    let not_json = "this is not an event".to_string();
    let good = s3_notification("summary2/SRR612821.summary").to_string();
    send_all(&aws, &queue, &[corrupt.clone(), not_json.clone(), good]);

    let child = consumer(
        &aws,
        &proxy,
        &queue,
        "serratus",
        &["--visibility-timeout", "1"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until(90, "both poison messages in the dead-letter queue", || {
        queue_counts(&aws, &dlq).0 == 2
    });
    let out = terminate(child);
    let stderr = assert_success(&out);
    let [received, deleted, left, released] = closing_counts(&stderr);
    assert_eq!((deleted, released), (1, 0), "{stderr}");
    assert_eq!(
        left, 4,
        "each poison message tried maxReceiveCount = 2 times: {stderr}"
    );
    assert_eq!(received, 5, "{stderr}");
    assert_eq!(queue_counts(&aws, &queue), (0, 0));

    let (_, answer) = aws.sqs_call(
        "ReceiveMessage",
        json!({"QueueUrl": dlq, "MaxNumberOfMessages": 10}),
    );
    let mut parked: Vec<String> = answer["Messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Body"].as_str().unwrap().to_string())
        .collect();
    parked.sort();
    let mut poison = vec![corrupt, not_json];
    poison.sort();
    assert_eq!(parked, poison);

    let lake = aws.lake_dir().join("serratus");
    assert_eq!(
        duckdb_count(&lake, "nucleotide/sra"),
        1,
        "the good summary landed"
    );
    let error: Value = serde_json::from_slice(
        &std::fs::read(lake.join("_errors/nucleotide/SRR9999999.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        error["error"],
        "s3://src/summary2/SRR9999999.summary:1: field 'readlength': invalid integer \"abc\""
    );
    assert!(
        stderr.contains("malformed message left for redelivery"),
        "{stderr}"
    );
}

#[test]
fn sigterm_mid_batch_loses_nothing_and_doubles_nothing() {
    let aws = Aws::start();
    let proxy = FaultProxy::serializing(aws.glue.port);
    let keys = aws.put_fixture_sources();
    let queue = create_queue(&aws, "summaries", json!({"VisibilityTimeout": "30"}));
    let bodies: Vec<String> = keys
        .iter()
        .map(|key| s3_notification(key).to_string())
        .collect();
    send_all(&aws, &queue, &bodies);
    let lake = aws.lake_dir().join("serratus");

    let child = consumer(
        &aws,
        &proxy,
        &queue,
        "serratus",
        &["--batch", "10", "--concurrency", "1"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // SIGTERM as soon as the first summary is complete: mid-batch.
    wait_until(60, "the first summary to land", || {
        std::fs::read_dir(lake.join("_manifests/nucleotide"))
            .map(|entries| entries.count() > 0)
            .unwrap_or(false)
    });
    let out = terminate(child);
    let stderr = assert_success(&out);
    let [received, deleted, left, released] = closing_counts(&stderr);
    assert_eq!(left, 0, "{stderr}");
    assert!(
        released > 0,
        "the unstarted messages were handed back: {stderr}"
    );
    assert_eq!(received, deleted + released, "{stderr}");
    assert!(deleted < 60, "stopped before the end: {stderr}");
    // Handed back at once, not after the 30 s visibility timeout.
    assert_eq!(queue_counts(&aws, &queue), (60 - deleted, 0));

    let out = consumer(&aws, &proxy, &queue, "serratus", &["--until-empty"])
        .output()
        .unwrap();
    let stderr = assert_success(&out);
    assert_all_deleted(closing_counts(&stderr), 60 - deleted, &stderr);
    assert_eq!(queue_counts(&aws, &queue), (0, 0));
    assert_eq!(row_counts(&lake), expected_fixture_rows(&aws));
}

#[test]
fn a_burst_of_a_thousand_messages_lands_exactly_once() {
    let aws = Aws::start();
    let proxy = FaultProxy::serializing(aws.glue.port);
    // 1,000 generated summaries of typical size, up to 16 KB (large ones
    // cost hundreds of PUTs each; the benchmark covers them).
    let corpus: Vec<GeneratedSummary> = (0..)
        .map(|i| generate(5, i))
        .filter(|s| s.bytes.len() <= 16_000)
        .take(1000)
        .collect();
    let mut bodies = Vec::new();
    for summary in &corpus {
        let key = match summary.kind {
            Kind::Nucleotide => format!("summary2/{}.summary", summary.run),
            Kind::Protein => format!("psummary/{}.psummary", summary.run),
            Kind::Rdrp => format!("rsummary/{}.psummary", summary.run),
        };
        aws.put_source(&key, &summary.bytes);
        bodies.push(s3_notification(&key).to_string());
    }
    let queue = create_queue(&aws, "burst", json!({"VisibilityTimeout": "60"}));
    send_all(&aws, &queue, &bodies);
    assert_eq!(queue_counts(&aws, &queue), (1000, 0));

    let started = Instant::now();
    let out = consumer(
        &aws,
        &proxy,
        &queue,
        "burst",
        &["--until-empty", "--concurrency", "4", "--no-glue"],
    )
    .output()
    .unwrap();
    let stderr = assert_success(&out);
    eprintln!(
        "1,000 messages through consume-sqs --concurrency 4: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_all_deleted(closing_counts(&stderr), 1000, &stderr);
    assert_eq!(queue_counts(&aws, &queue), (0, 0));

    // Exactly once: DuckDB's row counts equal the generator's, table by table.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for summary in &corpus {
        for (table, rows) in &summary.rows {
            *expected
                .entry(format!("{}/{table}", summary.kind))
                .or_default() += rows;
        }
    }
    let counts: BTreeMap<String, u64> = row_counts(&aws.lake_dir().join("burst"))
        .into_iter()
        .map(|(table, rows)| (table.to_string(), rows))
        .collect();
    assert_eq!(counts, expected);
}

#[test]
fn a_message_stays_hidden_while_a_slow_summary_is_worked_on() {
    let aws = Aws::start();
    let proxy = FaultProxy::serializing(aws.glue.port);
    // The first S3 GET hangs 4 s and is retried: the summary takes longer
    // than the 2 s visibility timeout.
    let slow_s3 = FaultProxy::start(aws.s3.port, |method, _, nth| {
        (method == "GET" && nth == 1).then_some(servers::Fault::Hang(Duration::from_secs(4)))
    });
    aws.put_source(
        "summary2/SRR612821.summary",
        &std::fs::read(common::fixtures().join("nucleotide/SRR612821.summary")).unwrap(),
    );
    let queue = create_queue(&aws, "summaries", json!({}));
    send_all(
        &aws,
        &queue,
        &[s3_notification("summary2/SRR612821.summary").to_string()],
    );

    let started = Instant::now();
    let child = consumer(
        &aws,
        &proxy,
        &queue,
        "serratus",
        &[
            "--visibility-timeout",
            "2",
            "--concurrency",
            "2",
            "--request-timeout",
            "10",
        ],
    )
    .env("AWS_ENDPOINT_URL_S3", slow_s3.url())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until(60, "the message to be deleted", || {
        queue_counts(&aws, &queue) == (0, 0)
    });
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "the GET was held"
    );
    // Long enough for a message whose visibility lapsed to be received again.
    std::thread::sleep(Duration::from_secs(3));
    let out = terminate(child);
    let stderr = assert_success(&out);
    assert_eq!(
        closing_counts(&stderr),
        [1, 1, 0, 0],
        "received once, though it took longer than its visibility timeout: {stderr}"
    );
    assert_eq!(
        slow_s3
            .faults_served
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(
        duckdb_count(&aws.lake_dir().join("serratus"), "nucleotide/sra"),
        1
    );
}

#[test]
fn a_queue_that_does_not_exist_stops_the_consumer_with_a_clear_error() {
    let aws = Aws::start();
    let proxy = FaultProxy::serializing(aws.glue.port);
    let missing = format!("{}/123456789012/no-such-queue", aws.glue.url());
    let out = consumer(&aws, &proxy, &missing, "serratus", &["--until-empty"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let error = stderr.lines().last().unwrap();
    assert!(
        error.starts_with(&format!("error: SQS ReceiveMessage {missing}: HTTP 400")),
        "{error}"
    );
    assert!(error.contains("QueueDoesNotExist"), "{error}");
    assert!(aws.lake_files().is_empty());
}
