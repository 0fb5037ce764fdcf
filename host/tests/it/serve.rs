//! `serve` over HTTP: authentication, status codes, and the fixtures
//! landing through it exactly as through `handle-event`.

use crate::support::common;
use crate::support::events;
use crate::support::servers;

use events::{s3_event, sns_notification};
use serde_json::{json, Value};
use servers::{duckdb_count, http, Aws, Server};

const API_KEY: &str = "test-api-key-0123456789";

fn start_serve(aws: &Aws) -> Server {
    let cert = events::sns_cert_path();
    servers::serve(
        aws,
        &[
            "--dest",
            "s3://lake/serratus",
            "--sns-cert",
            cert.to_str().unwrap(),
            "--sns-topic",
            events::SNS_TOPIC,
        ],
        API_KEY,
        &[],
    )
}

fn post(serve: &Server, headers: &[(&str, &str)], body: &Value) -> (u16, String) {
    events::post(&serve.url(), headers, body)
}

#[test]
fn unauthenticated_requests_get_401_and_touch_nothing() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/SRR612821.summary",
        &std::fs::read(common::fixtures().join("nucleotide/SRR612821.summary")).unwrap(),
    );
    let serve = start_serve(&aws);
    assert_eq!(
        http("GET", &format!("{}/healthz", serve.url()), &[], b""),
        (200, b"ok\n".to_vec())
    );
    let event = s3_event(&["summary2/SRR612821.summary".into()]);
    assert_eq!(post(&serve, &[], &event).0, 401);
    assert_eq!(post(&serve, &[("x-api-key", "wrong")], &event).0, 401);
    let mut forged = sns_notification(&event);
    forged["Message"] = json!(s3_event(&["summary2/SRR1.summary".into()]).to_string());
    let (status, body) = post(&serve, &[], &forged);
    assert_eq!(
        (status, body.as_str()),
        (401, "unauthenticated: SNS signature does not verify\n")
    );
    let mut untrusted = forged.clone();
    untrusted["Signature"] = json!("AAAA");
    assert_eq!(post(&serve, &[], &untrusted).0, 401);
    assert!(aws.lake_files().is_empty(), "nothing written");

    // malformed events are 4xx, not retried
    let (status, body) = post(
        &serve,
        &[("x-api-key", API_KEY)],
        &json!({"hello": "world"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.starts_with("malformed event: event has an unknown shape"),
        "{body}"
    );
    assert_eq!(
        http("PUT", &format!("{}/events", serve.url()), &[], b"{}").0,
        405
    );
}

#[test]
fn the_fixtures_land_through_serve_as_through_handle_event() {
    let aws = Aws::start();
    let keys = aws.put_fixture_sources();
    let serve = start_serve(&aws);
    // EventBridge API destination style (API key), one object per event
    for key in &keys[..30] {
        let (status, body) = post(
            &serve,
            &[("x-api-key", API_KEY)],
            &s3_event(std::slice::from_ref(key)),
        );
        assert_eq!(status, 200, "{key}: {body}");
        assert!(body.contains("\"outcome\":\"landed\""), "{body}");
    }
    // SNS HTTPS subscription style (signed), many objects per event
    let (status, body) = post(&serve, &[], &sns_notification(&s3_event(&keys[30..])));
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["records"].as_array().unwrap().len(), 30);
    assert!(
        report["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "landed"),
        "{body}"
    );

    let lake = aws.lake_dir().join("serratus");
    let served = aws.lake_files();
    for (table, rows) in [
        ("nucleotide/sequence", 1089),
        ("nucleotide/family", 91),
        ("protein/sequence", 299),
        ("rdrp/sequence", 3219),
        ("rdrp/sra", 20),
    ] {
        assert_eq!(duckdb_count(&lake, table), rows, "{table}");
    }
    // the same events again: 200, nothing rewritten
    let (status, body) = post(&serve, &[("x-api-key", API_KEY)], &s3_event(&keys));
    assert_eq!(status, 200);
    assert_eq!(body.matches("already-done").count(), 60, "{body}");
    assert_eq!(aws.lake_files(), served);

    // handle-event over the same keys into another prefix writes the same objects
    let path = aws.s3_root.path().join("all.json");
    std::fs::write(&path, s3_event(&keys).to_string()).unwrap();
    let out = servers::uploader(&aws)
        .args([
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            "s3://lake/direct",
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
    let all = aws.lake_files();
    let parquet = |prefix: &str| -> Vec<(String, Vec<u8>)> {
        all.iter()
            .filter(|(k, _)| k.starts_with(prefix) && k.ends_with(".parquet"))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect()
    };
    let (through_serve, direct) = (parquet("serratus/"), parquet("direct/"));
    assert_eq!(through_serve.len(), direct.len());
    assert!(
        through_serve == direct,
        "same keys and bytes through serve and handle-event"
    );
}
