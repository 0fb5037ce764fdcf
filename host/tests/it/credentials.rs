//! Credentials and region the AWS way (through `aws-config`), against
//! s3s-fs and moto: from a container credentials endpoint (ECS, EKS Pod
//! Identity) and from IMDSv2, both served on loopback by the test, fetched
//! once and again before expiry; from profiles in `~/.aws` (keys,
//! `credential_process`), from a web identity token; and none at all
//! (`--no-sign-request`) for public buckets.

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
            // What IMDS sends with a session token (and harmless elsewhere).
            let ttl =
                tiny_http::Header::from_bytes("x-aws-ec2-metadata-token-ttl-seconds", "21600")
                    .unwrap();
            let _ = request.respond(
                tiny_http::Response::from_string(body)
                    .with_status_code(status)
                    .with_header(ttl),
            );
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

/// `handle-event` on two summaries with no keys in the environment, `env`
/// over the servers' (an empty value unsets).
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
    // A HOME of its own: no profile of the machine's may answer.
    let home = aws.s3_root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut command = servers::uploader(aws);
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("HOME", &home);
    // An empty value unsets the variable.
    for (name, value) in env {
        match value {
            &"" => command.env_remove(name),
            _ => command.env(name, value),
        };
    }
    command
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
    // No newline at the end: aws-config refuses a token ending in whitespace.
    std::fs::write(&token_file, "pod-identity-token").unwrap();
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
        error.contains("no AWS credentials (looked in the environment, the profile in ~/.aws, web identity, the container endpoint and the instance metadata service): "),
        "{error}"
    );
    assert!(
        error.contains(
            "Ec2InstanceMetadata: the credential provider was not enabled: received 404 from IMDS"
        ),
        "{error}"
    );
    assert!(error.contains("(after 3 tries)"), "{error}");
    assert!(aws.lake_files().is_empty());
}

/// Writes `~/.aws/credentials` and `~/.aws/config` under `home`.
fn aws_files(home: &std::path::Path, credentials: &str, config: &str) {
    let dir = home.join(".aws");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("credentials"), credentials).unwrap();
    std::fs::write(dir.join("config"), config).unwrap();
}

/// The region the run said it uses (its `AWS configuration` log line).
fn region_used(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|line| line.contains("AWS configuration"))
        .unwrap_or_else(|| panic!("no 'AWS configuration' line in {stderr}"));
    line.split("region=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_profile_in_home_gives_the_keys_and_the_region_and_flags_come_first() {
    let aws = Aws::start();
    let home = aws.s3_root.path().join("home");
    aws_files(
        &home,
        &format!(
            "[default]\naws_access_key_id = AKIAWRONGWRONGWRONG\naws_secret_access_key = wrong\n\n\
             [lake-writer]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            aws.access_key, aws.secret_key
        ),
        "[default]\nregion = ap-south-1\n\n[profile lake-writer]\nregion = eu-west-3\n",
    );
    let out = handle_without_keys(&aws, &[("AWS_PROFILE", "lake-writer"), ("AWS_REGION", "")]);
    common::assert_success(&out);
    assert_eq!(region_used(&out), "eu-west-3", "the profile's region");
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
    assert_eq!(duckdb_count(&lake, "protein/sra"), 1);

    // --profile over AWS_PROFILE, --region over the profile's.
    let out = handle_without_keys(&aws, &[("AWS_PROFILE", "default"), ("AWS_REGION", "")]);
    assert_eq!(region_used(&out), "ap-south-1");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("InvalidAccessKeyId")
            || String::from_utf8_lossy(&out.stdout).contains("403"),
        "the default profile's wrong keys were used: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = servers::uploader(&aws)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "default")
        .env_remove("AWS_REGION")
        .env("HOME", &home)
        .env("RUST_LOG", "info")
        .args([
            "--profile",
            "lake-writer",
            "--region",
            "us-west-2",
            "handle-event",
            "-",
            "--dest",
            "s3://lake/serratus",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let event = json!({"Records": [record("summary2/SRR612821.summary")]});
            child
                .stdin
                .take()
                .unwrap()
                .write_all(event.to_string().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    common::assert_success(&out);
    assert_eq!(region_used(&out), "us-west-2");
}

#[test]
fn credential_process_in_a_profile_gives_the_keys() {
    let aws = Aws::start();
    let home = aws.s3_root.path().join("home");
    let script = aws.s3_root.path().join("credentials.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho '{}'\n",
            json!({"Version": 1, "AccessKeyId": aws.access_key, "SecretAccessKey": aws.secret_key})
        ),
    )
    .unwrap();
    aws_files(
        &home,
        "",
        &format!(
            "[profile by-process]\ncredential_process = /bin/sh {}\nregion = us-east-1\n",
            script.display()
        ),
    );
    let out = handle_without_keys(&aws, &[("AWS_PROFILE", "by-process")]);
    common::assert_success(&out);
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
    assert_eq!(duckdb_count(&lake, "protein/sra"), 1);
}

#[test]
fn a_web_identity_token_is_exchanged_for_role_credentials() {
    let aws = Aws::start();
    // An STS stand-in: moto's STS hands out random keys, which s3s-fs (one
    // fixed key pair) would refuse; this one answers with the keys s3s-fs
    // takes, and records what it was asked.
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let sts_url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = asked.clone();
    let (access_key, secret_key) = (aws.access_key.clone(), aws.secret_key.clone());
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            log.lock().unwrap().push(body);
            let answer = format!(
                "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{access_key}</AccessKeyId>\
                 <SecretAccessKey>{secret_key}</SecretAccessKey><SessionToken>web-session</SessionToken>\
                 <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
                 <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/uploader/ci</Arn>\
                 <AssumedRoleId>AROAEXAMPLE:ci</AssumedRoleId></AssumedRoleUser>\
                 <SubjectFromWebIdentityToken>ci</SubjectFromWebIdentityToken>\
                 </AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r1</RequestId>\
                 </ResponseMetadata></AssumeRoleWithWebIdentityResponse>"
            );
            let _ =
                request.respond(tiny_http::Response::from_string(answer).with_header(
                    tiny_http::Header::from_bytes("Content-Type", "text/xml").unwrap(),
                ));
        }
    });
    let token = aws.s3_root.path().join("web-identity-token");
    std::fs::write(&token, "oidc-token-from-the-ci").unwrap();
    let out = handle_without_keys(
        &aws,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/uploader"),
            ("AWS_ROLE_SESSION_NAME", "ci"),
            ("AWS_ENDPOINT_URL_STS", &sts_url),
            // moto's Glue knows no session token "web-session".
            ("SUMMARY_NO_GLUE", "1"),
        ],
    );
    common::assert_success(&out);
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 1, "exchanged once: {asked:?}");
    for part in [
        "Action=AssumeRoleWithWebIdentity",
        "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fuploader",
        "RoleSessionName=ci",
        "WebIdentityToken=oidc-token-from-the-ci",
    ] {
        assert!(asked[0].contains(part), "{part} in {}", asked[0]);
    }
}

#[test]
fn no_sign_request_reads_a_public_bucket_and_says_so_when_a_bucket_is_not() {
    let public = servers::moto_without_auth();
    // Public as a bucket on AWS is made public: readable and listable by anyone.
    let public_read = [("x-amz-acl", "public-read")];
    let (status, body) = servers::http(
        "PUT",
        &format!("{}/lovelywater", public.url()),
        &public_read,
        b"",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let fixture = std::fs::read(common::fixtures().join("nucleotide/SRR612821.summary")).unwrap();
    let (status, _) = servers::http(
        "PUT",
        &format!("{}/lovelywater/summary2/SRR612821.summary", public.url()),
        &public_read,
        &fixture,
    );
    assert_eq!(status, 200);
    let work = tempfile::tempdir().unwrap();
    let index = work.path().join("runs.txt");
    std::fs::write(&index, "SRR612821\n").unwrap();
    let backfill = |endpoint: &str, bucket: &str, lake: &str| {
        crate::support::common::uploader_command()
            .arg("--component")
            .arg(common::component_path())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .env("HOME", work.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args([
                "--no-sign-request",
                "--endpoint-url",
                endpoint,
                "--region",
                "us-east-1",
            ])
            .args([
                "backfill",
                "--index",
                index.to_str().unwrap(),
                "--kind",
                "nucleotide",
            ])
            .args(["--source", &format!("s3://{bucket}/summary2")])
            .args(["--dest", work.path().join(lake).to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = backfill(&public.url(), "lovelywater", "lake");
    common::assert_success(&out);
    assert_eq!(duckdb_count(&work.path().join("lake"), "nucleotide/sra"), 1);

    // A list, unsigned.
    let client = summary_uploader::aws_transport::native_aws(
        &summary_uploader::aws_transport::AwsFlags {
            endpoint_url: Some(public.url()),
            region: Some("us-east-1".into()),
            no_sign_request: true,
            ..Default::default()
        },
        Duration::from_secs(30),
    )
    .unwrap();
    let store = summary_uploader::s3_store::S3Store::new(&client, "lovelywater".into(), "".into());
    use summary_pipeline::store::ObjectStore;
    assert_eq!(
        store.list("summary2/").unwrap(),
        ["summary2/SRR612821.summary"]
    );

    // s3s-fs takes signed requests only.
    let aws = Aws::start();
    aws.put_source("summary2/SRR612821.summary", &fixture);
    let out = backfill(&aws.s3.url(), "src", "refused");
    assert_ne!(out.status.code(), Some(0));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "sent unsigned (--no-sign-request): the bucket does not allow anonymous access"
        ),
        "{text}"
    );
}
