//! Faults between the host and S3: nothing lost, nothing doubled.

use crate::support::common;
use crate::support::servers;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use servers::{http, Aws, Fault, FaultProxy};

const API_KEY: &str = "fault-test-key";

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join(kind).join(name)).unwrap()
}

fn event(key: &str) -> String {
    json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
        "object":{"key": key, "sequencer":"0A", "eTag":"e1"}}}]})
    .to_string()
}

/// The objects under one lake prefix, relative key to bytes.
fn objects(aws: &Aws, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    aws.lake_files()
        .into_iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(&format!("{prefix}/"))
                .map(|k| (k.to_string(), v))
        })
        .collect()
}

/// The clean run: the same event, no faults, into `prefix`.
fn clean_run(aws: &Aws, key: &str, prefix: &str) {
    let path = aws.s3_root.path().join(format!("{prefix}.json"));
    std::fs::write(&path, event(key)).unwrap();
    let out = servers::uploader(aws)
        .args([
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            &format!("s3://lake/{prefix}"),
            "--no-glue",
        ])
        .args(["--io-concurrency", "2"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn exhausted_retries_answer_503_and_the_redelivery_completes_exactly() {
    let aws = Aws::start();
    let key = "rsummary/DRR13913260.psummary";
    aws.put_source(key, &fixture("rdrp", "DRR13913260.rsummary.psummary"));
    clean_run(&aws, key, "clean");

    // every PUT fails while the switch is on: the first object write exhausts its retries
    let failing = Arc::new(AtomicBool::new(true));
    let switch = failing.clone();
    let proxy = FaultProxy::start(aws.s3.port, move |method, _, nth| {
        (method == "PUT" && nth > 3 && switch.load(Ordering::SeqCst)).then_some(Fault::Status(503))
    });
    let proxy_url = proxy.url();
    let serve = servers::serve(
        &aws,
        &["--dest", "s3://lake/faulty", "--no-glue"],
        API_KEY,
        &[("AWS_ENDPOINT_URL_S3", proxy_url.as_str())],
    );
    let url = format!("{}/", serve.url());
    let (status, body) = http(
        "POST",
        &url,
        &[("x-api-key", API_KEY)],
        event(key).as_bytes(),
    );
    let body = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("\"retryable\":true") && body.contains("after 5 tries"),
        "{body}"
    );
    assert!(proxy.faults_served.load(Ordering::SeqCst) >= 5);
    assert_ne!(
        objects(&aws, "faulty"),
        objects(&aws, "clean"),
        "the first delivery did not complete"
    );

    // the sender redelivers once S3 is healthy again
    failing.store(false, Ordering::SeqCst);
    let (status, body) = http(
        "POST",
        &url,
        &[("x-api-key", API_KEY)],
        event(key).as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        objects(&aws, "faulty"),
        objects(&aws, "clean"),
        "exactly the clean run's objects, manifest included"
    );
}

#[test]
fn killed_at_random_points_then_redelivered_equals_a_clean_run() {
    let aws = Aws::start();
    // a generated RdRp summary of a few hundred KB: thousands of objects, a
    // run long enough to be killed in the middle of its writes
    let summary = (0..300)
        .map(|i| summary_corpus::generate(1, i))
        .find(|s| s.kind == summary_lake::Kind::Rdrp && (150_000..400_000).contains(&s.bytes.len()))
        .expect("such a summary in the corpus");
    let key = &format!("rsummary/{}.psummary", summary.run);
    aws.put_source(key, &summary.bytes);
    clean_run(&aws, key, "clean");
    let clean = objects(&aws, "clean");
    assert!(
        clean.len() > 1000,
        "a summary with many objects: {}",
        clean.len()
    );

    let path = aws.s3_root.path().join("event.json");
    std::fs::write(&path, event(key)).unwrap();
    // Count the PUTs reaching S3 through a proxy, and kill each run after
    // a chosen number of them: the pending manifest, one object, and points
    // through the objects (each run redoes the whole plan from the start).
    let puts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = puts.clone();
    let proxy = FaultProxy::start(aws.s3.port, move |method, _, _| {
        if method == "PUT" {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        None
    });
    let n = clean.len();
    let mut killed_mid_way = 0;
    // the pending manifest, the first object, then four points drawn at random (seeded)
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut points = vec![1, 2];
    points.extend((0..4).map(|_| rng.usize(3..n)));
    for kill_after in points {
        let before = puts.load(Ordering::SeqCst);
        let mut child = servers::uploader(&aws)
            .args([
                "handle-event",
                path.to_str().unwrap(),
                "--dest",
                "s3://lake/killed",
                "--no-glue",
            ])
            .args(["--io-concurrency", "2"])
            .env("AWS_ENDPOINT_URL_S3", proxy.url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        while puts.load(Ordering::SeqCst) - before < kill_after
            && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill(); // SIGKILL
        if child.wait().unwrap().code().is_none() {
            killed_mid_way += 1;
        }
    }
    assert_eq!(killed_mid_way, 6, "every run was killed before it finished");
    // the redelivery
    let out = servers::uploader(&aws)
        .args([
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            "s3://lake/killed",
            "--no-glue",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let killed = objects(&aws, "killed");
    assert_eq!(
        killed.keys().collect::<Vec<_>>(),
        clean.keys().collect::<Vec<_>>(),
        "same keys"
    );
    assert!(killed == clean, "same bytes, manifest included");
}

#[test]
fn an_oversized_event_document_is_413_and_touches_nothing() {
    let aws = Aws::start();
    let serve = servers::serve(&aws, &["--dest", "s3://lake/x", "--no-glue"], API_KEY, &[]);
    let huge = format!("{{\"Records\":[],\"pad\":\"{}\"}}", "x".repeat(2 << 20));
    let (status, _) = http(
        "POST",
        &format!("{}/", serve.url()),
        &[("x-api-key", API_KEY)],
        huge.as_bytes(),
    );
    assert_eq!(status, 413);
    let (status, body) = http(
        "POST",
        &format!("{}/", serve.url()),
        &[("x-api-key", API_KEY)],
        b"{not json",
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let url = format!("{}/", serve.url());
    let missing_key = br#"{"Records":[{"s3":{"bucket":{"name":"src"},"object":{}}}]}"#;
    assert_eq!(
        http("POST", &url, &[("x-api-key", API_KEY)], missing_key).0,
        400
    );
    let unrouted = event("elsewhere/SRR1.txt");
    let (status, body) = http("POST", &url, &[("x-api-key", API_KEY)], unrouted.as_bytes());
    assert_eq!(
        status,
        422,
        "a key outside the routes: {}",
        String::from_utf8_lossy(&body)
    );
    assert!(aws.lake_files().is_empty());
}

#[test]
fn every_kind_of_fault_on_s3_and_glue_is_retried_and_the_lake_is_exact() {
    let aws = Aws::start();
    let key = "summary2/DRR11074882.summary";
    aws.put_source(key, &fixture("nucleotide", "DRR11074882.summary"));
    clean_run(&aws, key, "clean");

    let manifest_puts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = manifest_puts.clone();
    let s3 = FaultProxy::start(aws.s3.port, move |method, path, nth| match (method, nth) {
        ("GET", 1) => Some(Fault::Reset), // the manifest read
        ("GET", 3) => Some(Fault::Hang(Duration::from_millis(2500))), // the source GET (after one retry)
        ("PUT", _) if path.contains("_manifests") => match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Some(Fault::Status(500)), // the pending manifest
            2 => Some(Fault::Reset),       // the final manifest
            _ => None,
        },
        ("PUT", 6) => Some(Fault::SlowDown),
        ("PUT", 9) => Some(Fault::Reset),
        ("PUT", 12) => Some(Fault::Hang(Duration::from_millis(2500))),
        _ => None,
    });
    let glue = FaultProxy::start(aws.glue.port, |_, _, nth| match nth {
        1 => Some(Fault::Status(500)),
        3 => Some(Fault::Reset),
        5 => Some(Fault::Hang(Duration::from_millis(2500))),
        7 => Some(Fault::SlowDown),
        _ => None,
    });
    let path = aws.s3_root.path().join("faulty.json");
    std::fs::write(&path, event(key)).unwrap();
    let out = servers::uploader(&aws)
        .args([
            "--request-timeout",
            "1",
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            "s3://lake/faulty",
        ])
        .env("AWS_ENDPOINT_URL_S3", s3.url())
        .env("AWS_ENDPOINT_URL_GLUE", glue.url())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        s3.faults_served.load(Ordering::SeqCst),
        7,
        "every S3 fault was met"
    );
    assert_eq!(
        glue.faults_served.load(Ordering::SeqCst),
        4,
        "every Glue fault was met"
    );
    assert!(
        objects(&aws, "faulty") == objects(&aws, "clean"),
        "exactly the clean run's objects and manifest"
    );
    let (status, tables) = aws.glue_call("GetTables", json!({"DatabaseName": "summary"}));
    assert_eq!(status, 200);
    assert_eq!(tables["TableList"].as_array().unwrap().len(), 3);
}

/// `handle-event` of `key`'s event into `s3://lake/{prefix}` through `proxy`, with `env`.
fn run_through(
    aws: &Aws,
    key: &str,
    prefix: &str,
    proxy: &FaultProxy,
    env: &[(&str, &str)],
) -> std::process::Output {
    let path = aws.s3_root.path().join(format!("{prefix}.json"));
    std::fs::write(&path, event(key)).unwrap();
    servers::uploader(aws)
        .args([
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            &format!("s3://lake/{prefix}"),
            "--no-glue",
        ])
        .env("AWS_ENDPOINT_URL_S3", proxy.url())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn request_timeout_skew_and_expired_token_are_retried_and_the_lake_is_exact() {
    let aws = Aws::start();
    let key = "summary2/DRR11074882.summary";
    aws.put_source(key, &fixture("nucleotide", "DRR11074882.summary"));
    clean_run(&aws, key, "clean");
    for (prefix, fault) in [
        ("timeout", Fault::Error(400, "RequestTimeout")),
        ("skewed", Fault::Error(403, "RequestTimeTooSkewed")),
        ("expired", Fault::Error(400, "ExpiredToken")),
    ] {
        // The source GET's first try and two PUTs of objects.
        let proxy = FaultProxy::start(aws.s3.port, move |method, _, nth| {
            matches!((method, nth), ("GET", 2) | ("PUT", 3) | ("PUT", 5)).then_some(fault)
        });
        let out = run_through(&aws, key, prefix, &proxy, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{prefix}: {stderr}");
        assert_eq!(
            proxy.faults_served.load(Ordering::SeqCst),
            3,
            "{prefix}: {stderr}"
        );
        assert!(
            objects(&aws, prefix) == objects(&aws, "clean"),
            "{prefix}: exactly the clean run's objects and manifest"
        );
    }
}

#[test]
fn aws_max_attempts_bounds_the_tries_and_a_failed_precondition_is_not_retried() {
    let aws = Aws::start();
    let key = "summary2/DRR11074882.summary";
    aws.put_source(key, &fixture("nucleotide", "DRR11074882.summary"));
    // The manifest read fails twice: two tries in all are not enough...
    let twice = || {
        FaultProxy::start(aws.s3.port, |method, _, nth| {
            (method == "GET" && nth <= 2).then_some(Fault::Status(503))
        })
    };
    let proxy = twice();
    let out = run_through(
        &aws,
        key,
        "two",
        &proxy,
        &[("AWS_MAX_ATTEMPTS", "2"), ("AWS_RETRY_MODE", "adaptive")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("(after 2 tries)"), "{stderr}");
    assert_eq!(proxy.faults_served.load(Ordering::SeqCst), 2);
    // ...three are.
    let proxy = twice();
    let out = run_through(&aws, key, "three", &proxy, &[("AWS_MAX_ATTEMPTS", "3")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(proxy.faults_served.load(Ordering::SeqCst), 2);

    // A 412 (a conditional write that lost) is the caller's to read, never retried.
    let proxy = FaultProxy::start(aws.s3.port, |method, _, nth| {
        (method == "GET" && nth == 1).then_some(Fault::Error(412, "PreconditionFailed"))
    });
    let out = run_through(&aws, key, "precondition", &proxy, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(proxy.faults_served.load(Ordering::SeqCst), 1, "{stderr}");
    assert!(stderr.contains("412"), "{stderr}");
    assert!(!stderr.contains("AWS call failed"), "not retried: {stderr}");

    let out = servers::uploader(&aws)
        .args(["handle-event", "-", "--no-glue"])
        .env("AWS_RETRY_MODE", "eager")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AWS_RETRY_MODE=\"eager\": use standard or adaptive"),
        "{stderr}"
    );
}
