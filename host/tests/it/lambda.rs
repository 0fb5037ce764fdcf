//! The AWS Lambda entry point: the handler called with real-shaped
//! payloads against s3s-fs and moto, and the whole runtime loop of the
//! binary (run as `bootstrap`, no arguments) driven over HTTP by a local
//! Lambda Runtime API.

use crate::support::common;
use crate::support::servers;

use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use servers::{duckdb_count, Aws};
use summary_aws::credentials::Source;
use summary_aws::request::{Credentials, Endpoint};
use summary_aws::s3::S3Endpoint;
use summary_lake::source::default_routes;
use summary_uploader::aws_transport::{native_client, AwsClient, AwsConfig};
use summary_uploader::converter::{Converter, GuestLimits};
use summary_uploader::events::Pipeline;
use summary_uploader::glue_catalog::GlueCatalog;
use summary_uploader::lambda::{handle_invocation, ErrorType};
use summary_uploader::s3_store::S3Store;

fn client(aws: &Aws) -> AwsClient {
    let moto = Endpoint::parse(&aws.glue.url()).unwrap();
    native_client(AwsConfig {
        region: "us-east-1".into(),
        credentials: Ok(Source::Environment(Credentials {
            access_key_id: aws.access_key.clone(),
            secret_access_key: aws.secret_key.clone(),
            session_token: None,
        })),
        s3: S3Endpoint {
            endpoint: Endpoint::parse(&aws.s3_url()).unwrap(),
            path_style: true,
        },
        glue: moto.clone(),
        sqs: moto,
        request_timeout: Duration::from_secs(30),
        retry: Default::default(),
    })
}

fn s3_record(key: &str) -> Value {
    json!({"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
        "eventTime":"2026-11-25T00:00:00.000Z","eventName":"ObjectCreated:Put",
        "s3":{"s3SchemaVersion":"1.0","configurationId":"summaries",
            "bucket":{"name":"src","arn":"arn:aws:s3:::src"},
            "object":{"key": key,"size": 1000,"eTag":"0123456789abcdef","sequencer":"0055AED6DCD90281E5"}}})
}

/// What Lambda passes for an SQS event source mapping.
fn sqs_record(id: &str, body: &str) -> Value {
    json!({"messageId": id, "receiptHandle": format!("AQEB-{id}"), "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764028800000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1764028800001"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:summaries", "awsRegion": "us-east-1"})
}

fn put_fixture(aws: &Aws, key: &str, fixture: &str) {
    aws.put_source(
        key,
        &std::fs::read(common::fixtures().join(fixture)).unwrap(),
    );
}

const CORRUPT: &[u8] = b"readlength=abc;SUMZER_COMMENT=sra=SRR9999999,genome=cov3ma,version=200818,date=200911-08:55;\n";

#[test]
fn the_handler_lands_s3_events_and_reports_only_the_bad_sqs_record() {
    let aws = Aws::start();
    put_fixture(
        &aws,
        "summary2/SRR612821.summary",
        "nucleotide/SRR612821.summary",
    );
    put_fixture(
        &aws,
        "psummary/DRR1017695.psummary",
        "protein/DRR1017695.psummary",
    );
    put_fixture(
        &aws,
        "rsummary/SRR1744881.psummary",
        "rdrp/SRR1744881.rsummary.psummary",
    );
    aws.put_source("summary2/SRR9999999.summary", CORRUPT);

    let converter =
        Converter::load(&common::component_path(), None, GuestLimits::default()).unwrap();
    let client = client(&aws);
    let store = S3Store::new(&client, "lake".into(), "serratus".into());
    let catalog = GlueCatalog::new(&client, "summary".into(), "s3://lake/serratus".into());
    let layout = summary_pipeline::descriptor::LakeLayout::new(Some(common::lake_layout()), true);
    let pipeline = Pipeline {
        converter: &converter,
        lake: &store,
        layout: &layout,
        source: &client,
        catalog: Some(&catalog),
        routes: default_routes(),
        max_source_bytes: 1 << 28,
        io_concurrency: 4,
    };

    // S3 invoking the function directly.
    let answer = handle_invocation(
        &pipeline,
        &json!({"Records": [s3_record("summary2/SRR612821.summary")]}),
    )
    .unwrap();
    assert_eq!(answer["records"][0]["outcome"], "landed", "{answer}");
    assert_eq!(answer["records"][0]["run"], "SRR612821");

    // An SQS batch: two good messages, a corrupt summary, a body that is no event.
    let batch = json!({"Records": [
        sqs_record("m-good-1", &json!({"Records": [s3_record("psummary/DRR1017695.psummary")]}).to_string()),
        sqs_record("m-bad", &json!({"Records": [s3_record("summary2/SRR9999999.summary")]}).to_string()),
        sqs_record("m-good-2", &json!({"Records": [s3_record("rsummary/SRR1744881.psummary")]}).to_string()),
        sqs_record("m-not-an-event", "hello"),
    ]});
    let answer = handle_invocation(&pipeline, &batch).unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}, {"itemIdentifier": "m-not-an-event"}]})
    );
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
    assert_eq!(duckdb_count(&lake, "protein/sra"), 1);
    assert_eq!(duckdb_count(&lake, "rdrp/sra"), 1);
    assert!(lake.join("_errors/nucleotide/SRR9999999.json").exists());

    // Redelivered: nothing fails that landed before.
    let answer = handle_invocation(&pipeline, &batch).unwrap();
    assert_eq!(answer["batchItemFailures"].as_array().unwrap().len(), 2);
    assert_eq!(duckdb_count(&lake, "protein/sra"), 1, "not doubled");

    // A direct S3 event whose summary is corrupt fails the invocation.
    let error = handle_invocation(
        &pipeline,
        &json!({"Records": [s3_record("summary2/SRR9999999.summary")]}),
    )
    .unwrap_err();
    assert_eq!(error.error_type, ErrorType::RecordsNotLanded);
    assert!(
        error.message.starts_with("not every record landed"),
        "{error}"
    );
    assert!(
        error
            .message
            .contains("field 'readlength': invalid integer"),
        "{error}"
    );
    let error = handle_invocation(&pipeline, &json!({"hello": "world"})).unwrap_err();
    assert_eq!(error.error_type, ErrorType::MalformedEvent);
    assert!(
        error
            .message
            .starts_with("malformed event: event has an unknown shape"),
        "{error}"
    );
}

/// One exchange the local Runtime API saw: path and body.
type Seen = (String, Value);

/// A Lambda Runtime API on loopback handing out `events` in order, then
/// holding `/next` open; every other request is reported on the channel.
fn runtime_api(events: Vec<Value>) -> (u16, mpsc::Receiver<Seen>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let (sender, seen) = mpsc::channel();
    std::thread::spawn(move || {
        let mut events = events.into_iter().enumerate();
        for mut request in server.incoming_requests() {
            let url = request.url().to_string();
            if url == "/2018-06-01/runtime/invocation/next" {
                let _ = sender.send((url, Value::Null));
                let Some((index, event)) = events.next() else {
                    // No more work: hold the runtime here until the test ends.
                    std::thread::sleep(Duration::from_secs(600));
                    continue;
                };
                let deadline = (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    + Duration::from_secs(60))
                .as_millis()
                .to_string();
                let header = |name: &str, value: &str| {
                    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
                };
                let response = tiny_http::Response::from_string(event.to_string())
                    .with_header(header("Content-Type", "application/json"))
                    .with_header(header(
                        "Lambda-Runtime-Aws-Request-Id",
                        &format!("request-{index}"),
                    ))
                    .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline))
                    .with_header(header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:summary-uploader",
                    ))
                    .with_header(header(
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-5759e988-bd862e3fe1be46a994272793",
                    ));
                let _ = request.respond(response);
            } else {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let _ = sender.send((url, serde_json::from_str(&body).unwrap_or(Value::Null)));
                let _ =
                    request.respond(tiny_http::Response::from_string("{}").with_status_code(202));
            }
        }
    });
    (port, seen)
}

#[test]
fn the_binary_runs_as_bootstrap_under_a_lambda_runtime_api() {
    let aws = Aws::start();
    put_fixture(
        &aws,
        "summary2/SRR612821.summary",
        "nucleotide/SRR612821.summary",
    );
    aws.put_source("summary2/SRR9999999.summary", CORRUPT);
    let sqs_batch = json!({"Records": [
        sqs_record("m-good", &json!({"Records": [s3_record("summary2/SRR612821.summary")]}).to_string()),
        sqs_record("m-bad", &json!({"Records": [s3_record("summary2/SRR9999999.summary")]}).to_string()),
    ]});
    let direct_bad = json!({"Records": [s3_record("summary2/SRR9999999.summary")]});
    let (port, seen) = runtime_api(vec![sqs_batch, direct_bad]);

    // The deployment zip's layout: bootstrap with the component beside it.
    let task = tempfile::tempdir().unwrap();
    let bootstrap = task.path().join("bootstrap");
    std::fs::copy(env!("CARGO_BIN_EXE_summary-uploader"), &bootstrap).unwrap();
    std::fs::copy(
        common::component_path(),
        task.path().join("summary_guest.wasm"),
    )
    .unwrap();
    let out = std::process::Command::new(&bootstrap)
        .args([
            "--cache-dir",
            task.path().join("precompiled").to_str().unwrap(),
            "precompile",
        ])
        .env_remove("SUMMARY_COMPONENT")
        .output()
        .unwrap();
    common::assert_success(&out);
    let precompiled: Vec<_> = std::fs::read_dir(task.path().join("precompiled"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        precompiled.len() == 1 && precompiled[0].ends_with(".cwasm"),
        "{precompiled:?}"
    );
    let started = Instant::now();
    let mut child = std::process::Command::new(&bootstrap)
        .envs(aws.env())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "summary-uploader")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("SUMMARY_DEST", "s3://lake/serratus")
        .env("SUMMARY_LAYOUT", common::layout())
        .env("HOME", task.path())
        .env_remove("SUMMARY_COMPONENT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let next = |what: &str| {
        seen.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the runtime never sent {what}"))
    };
    assert_eq!(
        next("its first /next").0,
        "/2018-06-01/runtime/invocation/next"
    );
    eprintln!(
        "cold start (process start to first /next, precompiled component): {} ms",
        started.elapsed().as_millis()
    );
    let (path, body) = next("the SQS batch's answer");
    assert_eq!(path, "/2018-06-01/runtime/invocation/request-0/response");
    assert_eq!(
        body,
        json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}]})
    );
    assert_eq!(
        next("a second /next").0,
        "/2018-06-01/runtime/invocation/next"
    );
    let (path, body) = next("the failed invocation's error");
    assert_eq!(path, "/2018-06-01/runtime/invocation/request-1/error");
    let message = body["errorMessage"].as_str().unwrap_or_default();
    assert_eq!(body["errorType"], "RecordsNotLanded", "{body}");
    assert!(message.starts_with("not every record landed"), "{body}");
    assert!(message.contains("SRR9999999"), "{body}");
    assert_eq!(
        next("a third /next").0,
        "/2018-06-01/runtime/invocation/next"
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !task.path().join(".cache").exists(),
        "the shipped precompiled component was used, nothing compiled into $HOME/.cache"
    );
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
    assert!(lake.join("_errors/nucleotide/SRR9999999.json").exists());
}

/// The binary started as Lambda starts `bootstrap` (no arguments) against
/// the local Runtime API on `port`, its log in `log`.
fn start_function(
    aws: &Aws,
    port: u16,
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> std::process::Child {
    crate::support::common::uploader_command()
        .envs(aws.env())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "summary-uploader")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("SUMMARY_DEST", "s3://lake/serratus")
        .env("SUMMARY_COMPONENT", common::component_path())
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The answer the function posted for invocation `index`, skipping `/next`
/// calls (its log, `log`, shown if it never answers).
fn answer_of(seen: &mpsc::Receiver<Seen>, index: usize, log: &std::path::Path) -> (String, Value) {
    loop {
        let (path, body) = seen
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "the function never answered invocation {index}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        if path != "/2018-06-01/runtime/invocation/next" {
            assert!(path.contains(&format!("/request-{index}/")), "{path}");
            return (path, body);
        }
    }
}

#[test]
fn summary_no_glue_takes_1_and_true_and_names_itself_when_it_is_neither() {
    let aws = Aws::start();
    let logs = tempfile::tempdir().unwrap();
    for (index, (value, run)) in [("1", "SRR612821"), ("true", "SRR1234567")]
        .into_iter()
        .enumerate()
    {
        let key = format!("summary2/{run}.summary");
        let fixture =
            std::fs::read_to_string(common::fixtures().join("nucleotide/SRR612821.summary"))
                .unwrap();
        aws.put_source(&key, fixture.replace("SRR612821", run).as_bytes());
        let (port, seen) = runtime_api(vec![json!({"Records": [s3_record(&key)]})]);
        let log = logs.path().join(format!("{index}.log"));
        // JSON logs as Lambda asks for them, at the level RUST_LOG sets.
        let mut child = start_function(
            &aws,
            port,
            &[
                ("SUMMARY_NO_GLUE", value),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("RUST_LOG", "info"),
            ],
            &log,
        );
        let (path, body) = answer_of(&seen, 0, &log);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            path.ends_with("/response"),
            "SUMMARY_NO_GLUE={value}: {path} {body}"
        );
        assert_eq!(body["records"][0]["outcome"], "landed", "{body}");
        assert_eq!(body["records"][0]["run"], run);
        let log = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<Value> = log
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
            })
            .collect();
        let done = lines
            .iter()
            .find(|line| line["message"] == "record done")
            .unwrap_or_else(|| panic!("no 'record done' line in {log}"));
        assert_eq!(done["level"], "INFO");
        assert_eq!(done["outcome"], "landed");
    }
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 2);
    let (status, answer) = aws.glue_call("GetDatabase", json!({"Name": "summary"}));
    assert_eq!(status, 400, "Glue was left alone: {answer}");
    assert_eq!(answer["__type"], "EntityNotFoundException", "{answer}");

    let out = crate::support::common::uploader_command()
        .envs(aws.env())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:1")
        .env("SUMMARY_DEST", "s3://lake/serratus")
        .env("SUMMARY_NO_GLUE", "maybe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SUMMARY_NO_GLUE (the environment variable of --no-glue) is \"maybe\": use 1/0, true/false, yes/no or on/off"),
        "{stderr}"
    );
}

#[test]
fn s3_batch_operations_tasks_are_answered_one_by_one() {
    let aws = Aws::start();
    put_fixture(
        &aws,
        "summary2/SRR612821.summary",
        "nucleotide/SRR612821.summary",
    );
    put_fixture(
        &aws,
        "psummary/DRR1017695.psummary",
        "protein/DRR1017695.psummary",
    );
    aws.put_source("summary2/SRR9999999.summary", CORRUPT);
    let schema_1 = json!({"invocationSchemaVersion": "1.0", "invocationId": "inv-1",
    "job": {"id": "job-1"},
    "tasks": [
        {"taskId": "t-good", "s3Key": "summary2/SRR612821.summary", "s3VersionId": null, "s3BucketArn": "arn:aws:s3:::src"},
        {"taskId": "t-missing", "s3Key": "summary2/SRR0000001.summary", "s3VersionId": null, "s3BucketArn": "arn:aws:s3:::src"},
        {"taskId": "t-malformed", "s3Key": "summary2/SRR9999999.summary", "s3VersionId": null, "s3BucketArn": "arn:aws:s3:::src"},
    ]});
    let schema_2 = json!({"invocationSchemaVersion": "2.0", "invocationId": "inv-2",
    "job": {"id": "job-2", "userArguments": {"note": "backfill"}},
    "tasks": [
        {"taskId": "u-good", "s3Bucket": "src", "s3Key": "psummary/DRR1017695.psummary", "s3VersionId": null},
        {"taskId": "u-missing", "s3Bucket": "src", "s3Key": "psummary/DRR0000001.psummary", "s3VersionId": null},
        {"taskId": "u-malformed", "s3Bucket": "src", "s3Key": "summary2/SRR9999999.summary", "s3VersionId": null},
    ]});
    let (port, seen) = runtime_api(vec![schema_1, schema_2]);
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("log");
    let mut child = start_function(&aws, port, &[], &log);
    let answers = [answer_of(&seen, 0, &log), answer_of(&seen, 1, &log)];
    let _ = child.kill();
    let _ = child.wait();
    for ((path, answer), (version, id, prefix)) in answers
        .iter()
        .zip([("1.0", "inv-1", "t"), ("2.0", "inv-2", "u")])
    {
        assert!(path.ends_with("/response"), "{path} {answer}");
        assert_eq!(answer["invocationSchemaVersion"], version);
        assert_eq!(answer["invocationId"], id);
        assert_eq!(answer["treatMissingKeysAs"], "PermanentFailure");
        let results = answer["results"].as_array().unwrap();
        let codes: Vec<(&str, &str)> = results
            .iter()
            .map(|r| {
                (
                    r["taskId"].as_str().unwrap(),
                    r["resultCode"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                (format!("{prefix}-good").as_str(), "Succeeded"),
                (format!("{prefix}-missing").as_str(), "PermanentFailure"),
                (format!("{prefix}-malformed").as_str(), "PermanentFailure"),
            ],
            "{answer}"
        );
        assert_eq!(results[1]["resultString"], "no such key");
        let malformed = results[2]["resultString"].as_str().unwrap();
        assert!(
            malformed.starts_with("dead-lettered SRR9999999: "),
            "{malformed}"
        );
        assert!(
            malformed.contains("field 'readlength': invalid integer"),
            "{malformed}"
        );
        assert!(malformed.chars().count() <= 400);
    }
    for (answer, run) in [(&answers[0].1, "SRR612821"), (&answers[1].1, "DRR1017695")] {
        let landed = answer["results"][0]["resultString"].as_str().unwrap();
        let objects: usize = landed
            .strip_prefix(&format!("landed {run}: "))
            .and_then(|rest| rest.strip_suffix(" objects"))
            .unwrap_or_else(|| panic!("{landed}"))
            .parse()
            .unwrap();
        assert!(objects > 0, "{landed}");
    }
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
    assert_eq!(duckdb_count(&lake, "protein/sra"), 1);
    // Nothing else written: the two runs' objects and manifests, one dead letter.
    let files: Vec<String> = aws.lake_files().into_keys().collect();
    let other: Vec<&String> = files
        .iter()
        .filter(|f| {
            !(f.contains("SRR612821")
                || f.contains("DRR1017695")
                || f.as_str() == "serratus/_errors/nucleotide/SRR9999999.json"
                || f.as_str() == "serratus/_lake.json")
        })
        .collect();
    assert!(
        other.is_empty(),
        "unexpected objects {other:?} in {files:?}"
    );
    assert!(
        files.contains(&"serratus/_errors/nucleotide/SRR9999999.json".to_string()),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.contains("0000001")), "{files:?}");
}
