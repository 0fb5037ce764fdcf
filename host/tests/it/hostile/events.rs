//! What an event may make the edge do: bucket names and keys that would
//! steer signed requests to another host or object (none may be sent),
//! `s3://` locations on the command line checked the same way, and one
//! event naming one key thousands of times (landed once).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::common;
use crate::support::servers::{self, duckdb_count, Aws, FaultProxy};

const API_KEY: &str = "hostile-events-api-key-0123456789";

/// A loopback listener standing for a host an attacker wants the signed
/// requests to reach: it counts the connections it gets, and answers each
/// with S3's 404 so that a request that does reach it ends quickly.
struct CountingListener {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl CountingListener {
    fn start() -> CountingListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(n) if n > 0 => head.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
                let body = "<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>";
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        CountingListener { port, connections }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Bucket names that, put into a request URL, would send it elsewhere
/// (another host, port, path, query or fragment) or that S3 could not hold.
fn malicious_buckets(port: u16) -> Vec<String> {
    vec![
        format!("127.0.0.1:{port}/x"),
        format!("127.0.0.1:{port}"),
        "evil.example/".into(),
        "a?b".into(),
        "a#b".into(),
        format!("user@127.0.0.1:{port}"),
        "127.0.0.1".into(),
        "UPPERCASE".into(),
        "a".repeat(64),
        "a..b".into(),
        String::new(),
        "lake/_manifests/nucleotide/SRR1.json?".into(),
        format!("127.0.0.1:{port}\r\nx-injected: 1"),
    ]
}

/// One S3 notification naming `summary2/SRR<n>.summary` in each bucket
/// (a run of its own each), plus keys with dot segments in bucket `src`.
fn malicious_event(buckets: &[String]) -> (Value, usize) {
    let mut records: Vec<Value> = buckets
        .iter()
        .enumerate()
        .map(|(n, bucket)| {
            json!({"eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": format!("summary2/SRR{}.summary", n + 1)}}})
        })
        .collect();
    for key in [
        "../lake/summary2/SRR900.summary",
        "summary2/./../../lake/summary2/SRR901.summary",
    ] {
        records.push(json!({"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "src"}, "object": {"key": key}}}));
    }
    let count = records.len();
    (json!({ "Records": records }), count)
}

/// `summary-uploader` with S3 at `s3_endpoint` (dummy credentials: no
/// request should be sent at all), addressed path-style or virtual-host.
fn uploader(s3_endpoint: &str, path_style: bool) -> Command {
    let mut command = crate::support::common::uploader_command();
    command
        .arg("--component")
        .arg(common::component_path())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "AKIDHOSTILETEST")
        .env("AWS_SECRET_ACCESS_KEY", "hostile-test-secret")
        .env("AWS_SESSION_TOKEN", "hostile-test-session-token")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_S3", s3_endpoint)
        .env(
            "AWS_S3_FORCE_PATH_STYLE",
            if path_style { "true" } else { "false" },
        );
    command
}

/// Every record of a report refused for its bucket name or key, none sent.
fn assert_every_record_refused(report: &Value, count: usize) {
    let records = report["records"].as_array().expect("a report");
    assert_eq!(records.len(), count, "{report}");
    for record in records {
        let error = record["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("is not a valid S3 bucket name")
                || error.contains("is not a valid S3 object key"),
            "{record}"
        );
        // Failed for good: recorded as a dead letter, never just acknowledged.
        assert_eq!(record["outcome"], "dead-lettered", "{record}");
    }
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Issue 17, item 4: with S3 (path-style) or a target host (virtual-host)
/// on the counting listener, not one request is sent for any malicious
/// bucket name or dot-segment key; a valid bucket does reach the listener,
/// so the count would see one.
#[test]
fn malicious_bucket_names_and_keys_send_no_request() {
    let listener = CountingListener::start();
    let dir = tempfile::tempdir().unwrap();
    let (event, count) = malicious_event(&malicious_buckets(listener.port));
    let event_path = dir.path().join("event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    for path_style in [true, false] {
        let lake = dir.path().join(if path_style {
            "lake-path"
        } else {
            "lake-vhost"
        });
        let out = uploader(&listener.url(), path_style)
            .args(["handle-event"])
            .arg(&event_path)
            .arg("--dest")
            .arg(&lake)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "path-style {path_style}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_every_record_refused(&stdout_json(&out), count);
        assert_eq!(
            listener.connections(),
            0,
            "path-style {path_style}: a request reached the listener"
        );
        assert!(
            files_under(&lake).iter().all(|f| f.starts_with("_errors/")
                || f == "_lake.json"
                || f.starts_with(".locks/")),
            "{:?}",
            files_under(&lake)
        );
    }

    // The same through serve, the internet-facing endpoint.
    let lake = dir.path().join("lake-serve");
    let serve = start_serve(
        &mut uploader(&listener.url(), true),
        &["--dest", lake.to_str().unwrap()],
    );
    let (status, body) =
        crate::support::events::post(&serve.url(), &[("x-api-key", API_KEY)], &event);
    assert_eq!(status, 200, "{body}");
    assert_every_record_refused(&serde_json::from_str(&body).unwrap(), count);
    assert_eq!(listener.connections(), 0, "serve sent a request");

    // Control: a valid bucket goes to the endpoint, which the listener is.
    let control = json!({"Records": [{"eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "src"}, "object": {"key": "summary2/SRR77.summary"}}}]});
    let (status, body) =
        crate::support::events::post(&serve.url(), &[("x-api-key", API_KEY)], &control);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"outcome\":\"source-gone\""), "{body}");
    assert_eq!(listener.connections(), 1);
}

/// `command serve --listen <a free port> args` with the API key, waited
/// for until it listens; killed when dropped.
fn start_serve(command: &mut Command, args: &[&str]) -> servers::Server {
    let port = servers::free_port();
    let child = command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .env("SUMMARY_UPLOADER_API_KEY", API_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting serve");
    let mut server = servers::Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !servers::listening(port) {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("serve exited with {status} before listening on {port}");
        }
        assert!(Instant::now() < deadline, "serve did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// `s3://` locations given on the command line (`--dest`, `--index`,
/// `--source`) are checked as S3 names: a clear error, exit 2, nothing sent.
#[test]
fn s3_locations_on_the_command_line_are_checked() {
    let listener = CountingListener::start();
    let dir = tempfile::tempdir().unwrap();
    let event_path = dir.path().join("event.json");
    std::fs::write(
        &event_path,
        json!({"Records": [{"s3": {"bucket": {"name": "src"}, "object": {"key": "summary2/SRR1.summary"}}}]})
            .to_string(),
    )
    .unwrap();
    let index = dir.path().join("runs.txt");
    std::fs::write(&index, "SRR1\n").unwrap();
    let port = listener.port;
    let dest_bucket = format!("s3://127.0.0.1:{port}/x");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                "handle-event".into(),
                event_path.display().to_string(),
                "--dest".into(),
                dest_bucket.clone(),
            ],
            format!(
                "error: \"{dest_bucket}\" is not a usable S3 location: bucket name \"127.0.0.1:{port}\" is not a valid S3 bucket name: only lowercase letters, digits, '.' and '-' are allowed"
            ),
        ),
        (
            vec![
                "handle-event".into(),
                event_path.display().to_string(),
                "--dest".into(),
                "s3://lake/a/../../other".into(),
            ],
            "error: \"s3://lake/a/../../other\" is not a usable S3 location: key prefix \"a/../../other\" is not a valid S3 key prefix: it has a '.' or '..' path segment, which HTTP clients resolve to another path".into(),
        ),
        (
            vec![
                "backfill".into(),
                "--kind".into(),
                "nucleotide".into(),
                "--index".into(),
                "s3://a?b/runs.txt".into(),
                "--source".into(),
                dir.path().display().to_string(),
                "--dest".into(),
                dir.path().join("lake").display().to_string(),
            ],
            "error: \"s3://a?b/runs.txt\" is not a usable S3 location: bucket name \"a?b\" is not a valid S3 bucket name: only lowercase letters, digits, '.' and '-' are allowed".into(),
        ),
        (
            vec![
                "backfill".into(),
                "--kind".into(),
                "nucleotide".into(),
                "--index".into(),
                index.display().to_string(),
                "--source".into(),
                "s3://UPPER/summary2".into(),
                "--dest".into(),
                dir.path().join("lake").display().to_string(),
            ],
            "error: \"s3://UPPER/summary2\" is not a usable S3 location: bucket name \"UPPER\" is not a valid S3 bucket name: only lowercase letters, digits, '.' and '-' are allowed".into(),
        ),
    ];
    for (args, message) in cases {
        let out = uploader(&listener.url(), true)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().last(), Some(message.as_str()), "{args:?}");
    }
    assert_eq!(listener.connections(), 0);
    assert!(!dir.path().join("lake").exists());
}

/// Issue 17, item 9: one event naming one key without eTag 13,000 times
/// (under serve's 1 MiB body limit) lands the run once: as many PUTs, and
/// one source GET, as the same event naming it once.
#[test]
fn thirteen_thousand_copies_of_one_key_land_once() {
    let aws = Aws::start();
    let key = "summary2/SRR612821.summary";
    aws.put_source(
        key,
        &std::fs::read(common::fixtures().join("nucleotide/SRR612821.summary")).unwrap(),
    );
    let requests: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = requests.clone();
    let proxy = FaultProxy::start(aws.s3.port, move |method, path, _| {
        seen.lock()
            .unwrap()
            .push((method.to_string(), path.to_string()));
        None
    });
    let serve = servers::serve(
        &aws,
        &["--dest", "s3://lake/serratus", "--no-glue"],
        API_KEY,
        &[("AWS_ENDPOINT_URL_S3", proxy.url().as_str())],
    );
    let record = json!({"s3": {"bucket": {"name": "src"}, "object": {"key": key}}});
    let copies = json!({ "Records": vec![record.clone(); 13_000] });
    assert!(
        copies.to_string().len() < 1 << 20,
        "{} bytes",
        copies.to_string().len()
    );
    let counts = |requests: &[(String, String)]| {
        // The lake's descriptor is written once, before the first object.
        let puts = requests
            .iter()
            .filter(|(m, p)| m == "PUT" && !p.ends_with("/_lake.json"))
            .count();
        let source_gets = requests
            .iter()
            .filter(|(m, p)| m == "GET" && p.starts_with("/src/"))
            .count();
        (puts, source_gets)
    };

    let (status, body) =
        crate::support::events::post(&serve.url(), &[("x-api-key", API_KEY)], &copies);
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["records"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(report["records"][0]["outcome"], "landed", "{body}");
    let of_copies = counts(&requests.lock().unwrap());
    let lake = aws.lake_dir().join("serratus");
    let rows = duckdb_count(&lake, "nucleotide/sequence");
    let files: Vec<String> = aws.lake_files().into_keys().collect();
    requests.lock().unwrap().clear();

    // The same key named once (no eTag: processed again, as a new version)
    let once = json!({ "Records": [record] });
    let (status, body) =
        crate::support::events::post(&serve.url(), &[("x-api-key", API_KEY)], &once);
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["records"][0]["outcome"], "landed", "{body}");
    let of_once = counts(&requests.lock().unwrap());
    assert_eq!(
        of_copies, of_once,
        "(PUTs, source GETs): 13,000 copies vs one"
    );
    assert_eq!(of_once.1, 1);
    assert!(of_once.0 >= 3, "{of_once:?}");
    assert_eq!(duckdb_count(&lake, "nucleotide/sequence"), rows);
    assert!(rows > 0);
    assert_eq!(aws.lake_files().into_keys().collect::<Vec<_>>(), files);
}

/// Issue 17, item 6: a newer version whose sequencer is shorter
/// (`006300000000000000` after `0062000000000000000A`, as AWS compares
/// them: right-padded with zeros) lands instead of being skipped as older;
/// the older one sent again is `older`; a version of another key of the
/// same run is not held back by sequencer; a non-hex sequencer is a
/// malformed event that changes nothing.
#[test]
fn sequencers_order_versions_as_aws_documents_through_serve() {
    let aws = Aws::start();
    let fixture =
        |name: &str| std::fs::read(common::fixtures().join("nucleotide").join(name)).unwrap();
    let key = "summary2/SRR612821.summary";
    let serve = servers::serve(
        &aws,
        &["--dest", "s3://lake/serratus", "--no-glue"],
        API_KEY,
        &[],
    );
    let post = |key: &str, etag: &str, sequencer: &str| {
        let event = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "src"},
            "object": {"key": key, "eTag": etag, "sequencer": sequencer}}}]});
        let (status, body) =
            crate::support::events::post(&serve.url(), &[("x-api-key", API_KEY)], &event);
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap_or(json!(body)),
        )
    };
    let lake = aws.lake_dir().join("serratus");
    let sequences = || duckdb_count(&lake, "nucleotide/sequence");

    // Version A (140 sequences), then version B (another summary's rows under this run).
    aws.put_source(key, &fixture("SRR612821.summary"));
    let (status, report) = post(key, "a", "0062000000000000000A");
    assert_eq!(
        (status, &report["records"][0]["outcome"]),
        (200, &json!("landed")),
        "{report}"
    );
    assert_eq!(sequences(), 140);
    let version_b = String::from_utf8(fixture("SRR612821.summary"))
        .unwrap()
        .lines()
        .take(30)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    aws.put_source(key, version_b.as_bytes());
    let (status, report) = post(key, "b", "006300000000000000");
    assert_eq!(
        (status, &report["records"][0]["outcome"]),
        (200, &json!("landed")),
        "{report}"
    );
    let b_rows = sequences();
    assert!(b_rows < 140, "{b_rows}");

    // A again (a late redelivery): older, nothing changes.
    let (status, report) = post(key, "a", "0062000000000000000A");
    assert_eq!(
        (status, &report["records"][0]["outcome"]),
        (200, &json!("older")),
        "{report}"
    );
    assert_eq!(sequences(), b_rows);

    // A non-hex sequencer could hold every later version back: refused whole.
    let before = aws.lake_files();
    let (status, report) = post(key, "z", "zzzzzzzzzzzzzzzzzzzz");
    assert_eq!(status, 400, "{report}");
    assert!(
        report
            .as_str()
            .unwrap()
            .contains("sequencer \"zzzzzzzzzzzzzzzzzzzz\" is not a string of hexadecimal digits"),
        "{report}"
    );
    assert_eq!(aws.lake_files(), before);

    // The same run under another key (another bucket's layout): its
    // sequencer is not comparable with this key's, so it is not skipped.
    let other_key = "archive/summary2/SRR612821.summary";
    aws.put_source(other_key, &fixture("SRR612821.summary"));
    let (status, report) = post(other_key, "c", "0001");
    assert_eq!(
        (status, &report["records"][0]["outcome"]),
        (200, &json!("landed")),
        "{report}"
    );
    assert_eq!(sequences(), 140);
}
