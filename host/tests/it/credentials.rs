//! Role credentials the AWS way, against s3s-fs and moto: from a container
//! credentials endpoint (ECS, EKS Pod Identity) and from IMDSv2, both
//! served on loopback by the test, fetched once and again before expiry.

use crate::support::common;
use crate::support::servers;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use servers::{duckdb_count, Aws};

/// Each request a fake credentials server saw: method, path, headers.
type Seen = Arc<Mutex<Vec<(String, String, Vec<(String, String)>)>>>;

/// Serves `answer(method, path)` on loopback; returns the URL and the log.
fn fake_server(answer: impl Fn(&str, &str) -> (u16, String) + Send + 'static) -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let (method, path) = (request.method().to_string(), request.url().to_string());
            let headers = request
                .headers()
                .iter()
                .map(|h| {
                    (
                        h.field.to_string().to_ascii_lowercase(),
                        h.value.to_string(),
                    )
                })
                .collect();
            log.lock()
                .unwrap()
                .push((method.clone(), path.clone(), headers));
            let (status, body) = answer(&method, &path);
            let _ =
                request.respond(tiny_http::Response::from_string(body).with_status_code(status));
        }
    });
    (url, seen)
}

fn role_credentials(aws: &Aws, expires_in: Duration) -> String {
    let expiration = SystemTime::now() + expires_in;
    let seconds = expiration
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{seconds}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let expiration = String::from_utf8(out.stdout).unwrap().trim().to_string();
    json!({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": aws.access_key,
        "SecretAccessKey": aws.secret_key, "Token": "", "Expiration": expiration})
    .to_string()
}

fn record(key: &str) -> Value {
    json!({"eventVersion":"2.1","eventName":"ObjectCreated:Put",
        "s3":{"bucket":{"name":"src"},"object":{"key": key, "sequencer": "01"}}})
}

/// `handle-event` on two summaries with no keys in the environment.
fn handle_without_keys(aws: &Aws, env: &[(&str, &str)]) -> std::process::Output {
    for (key, fixture) in [
        ("summary2/SRR612821.summary", "nucleotide/SRR612821.summary"),
        (
            "psummary/DRR1017695.psummary",
            "protein/DRR1017695.psummary",
        ),
    ] {
        aws.put_source(
            key,
            &std::fs::read(common::fixtures().join(fixture)).unwrap(),
        );
    }
    let path = aws.s3_root.path().join("event.json");
    let records = [
        record("summary2/SRR612821.summary"),
        record("psummary/DRR1017695.psummary"),
    ];
    std::fs::write(&path, json!({ "Records": records }).to_string()).unwrap();
    servers::uploader(aws)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .args([
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            "s3://lake/serratus",
        ])
        .output()
        .unwrap()
}

#[test]
fn container_credentials_are_fetched_once_with_the_pod_identity_token() {
    let aws = Aws::start();
    let answer = role_credentials(&aws, Duration::from_secs(3600));
    let (url, seen) = fake_server(move |_, _| (200, answer.clone()));
    let token_file = aws.s3_root.path().join("token");
    std::fs::write(&token_file, "pod-identity-token\n").unwrap();
    let out = handle_without_keys(
        &aws,
        &[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                &format!("{url}/v1/credentials"),
            ),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
        ],
    );
    common::assert_success(&out);
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
    assert_eq!(duckdb_count(&lake, "protein/sra"), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        1,
        "fetched once for dozens of signed calls: {seen:?}"
    );
    let (method, path, headers) = &seen[0];
    assert_eq!((method.as_str(), path.as_str()), ("GET", "/v1/credentials"));
    assert!(
        headers.contains(&("authorization".into(), "pod-identity-token".into())),
        "{headers:?}"
    );
}

#[test]
fn credentials_about_to_expire_are_fetched_again() {
    let aws = Aws::start();
    // Inside the five-minute refresh window from the start.
    let answer = role_credentials(&aws, Duration::from_secs(120));
    let (url, seen) = fake_server(move |_, _| (200, answer.clone()));
    let out = handle_without_keys(
        &aws,
        &[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{url}/creds"),
        )],
    );
    common::assert_success(&out);
    assert!(
        seen.lock().unwrap().len() > 2,
        "fetched again before each call"
    );
}

#[test]
fn instance_role_credentials_come_from_imds_v2() {
    let aws = Aws::start();
    let answer = role_credentials(&aws, Duration::from_secs(3600));
    let (url, seen) = fake_server(move |method, path| match (method, path) {
        ("PUT", "/latest/api/token") => (200, "imds-session-token".into()),
        ("GET", "/latest/meta-data/iam/security-credentials/") => (200, "uploader-role".into()),
        ("GET", "/latest/meta-data/iam/security-credentials/uploader-role") => {
            (200, answer.clone())
        }
        _ => (404, String::new()),
    });
    let out = handle_without_keys(&aws, &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)]);
    common::assert_success(&out);
    assert_eq!(
        duckdb_count(&aws.lake_dir().join("serratus"), "nucleotide/sra"),
        1
    );
    let seen = seen.lock().unwrap();
    let calls: Vec<(&str, &str)> = seen
        .iter()
        .map(|(m, p, _)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("PUT", "/latest/api/token"),
            ("GET", "/latest/meta-data/iam/security-credentials/"),
            (
                "GET",
                "/latest/meta-data/iam/security-credentials/uploader-role"
            ),
        ]
    );
    assert!(seen[0].2.contains(&(
        "x-aws-ec2-metadata-token-ttl-seconds".into(),
        "21600".into()
    )));
    for (_, _, headers) in &seen[1..] {
        assert!(
            headers.contains(&(
                "x-aws-ec2-metadata-token".into(),
                "imds-session-token".into()
            )),
            "{headers:?}"
        );
    }
}

#[test]
fn no_credentials_anywhere_is_a_clear_error() {
    let aws = Aws::start();
    let (url, _) = fake_server(|_, _| (404, String::new()));
    let out = handle_without_keys(&aws, &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = report["records"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("no AWS credentials: none in the environment"),
        "{error}"
    );
    assert!(error.contains("HTTP 404 (after 3 tries)"), "{error}");
    assert!(aws.lake_files().is_empty());
}
