//! What an event may make the lake and the answers do: a record that fails
//! for good is dead-lettered, never acknowledged unrecorded (item 7); no
//! input makes an answer, a log line or a dead letter large or puts control
//! characters in it (item 8); two files of one run land it once (item 9).

use std::io::Write;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::servers::{self, duckdb_count, Aws, Fault, FaultProxy};
use crate::support::{common, events};

const API_KEY: &str = "hostile-outcomes-key-0123456789";

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join(kind).join(name)).unwrap()
}

fn event(keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            json!({"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
                "s3":{"bucket":{"name":"src"},"object":{"key": key, "eTag": format!("e{i}"), "sequencer": "0A"}}})
        })
        .collect();
    json!({ "Records": records })
}

/// `handle-event -` with RUST_LOG=info: its output, and the report.
fn handle_event(aws: &Aws, event: &Value, env: &[(&str, String)]) -> (Output, Value) {
    let mut child = servers::uploader(aws)
        .args([
            "handle-event",
            "-",
            "--dest",
            "s3://lake/serratus",
            "--no-glue",
        ])
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

fn parquet_keys(aws: &Aws) -> Vec<String> {
    aws.lake_files()
        .into_keys()
        .filter(|k| k.ends_with(".parquet"))
        .collect()
}

#[test]
fn a_source_s3_refuses_for_good_is_dead_lettered_and_a_lost_dead_letter_is_a_503() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/SRR612821.summary",
        &fixture("nucleotide", "SRR612821.summary"),
    );
    // S3 refuses the source (403: access denied, a KMS key it may not use).
    // While `lake_refuses` holds, the lake refuses the dead letter too.
    let lake_refuses = Arc::new(AtomicBool::new(true));
    let source_refused = Arc::new(AtomicBool::new(true));
    let proxy = {
        let (lake_refuses, source_refused) = (lake_refuses.clone(), source_refused.clone());
        FaultProxy::start(aws.s3.port, move |method, path, _| {
            let source = method == "GET" && path.starts_with("/src/");
            let dead_letter = method == "PUT" && path.starts_with("/lake/serratus/_errors/");
            let refuse = (source && source_refused.load(Ordering::SeqCst))
                || (dead_letter && lake_refuses.load(Ordering::SeqCst));
            refuse.then_some(Fault::Error(403, "AccessDenied"))
        })
    };
    let proxy_url = proxy.url();
    let serve = servers::serve(
        &aws,
        &["--dest", "s3://lake/serratus", "--no-glue"],
        API_KEY,
        &[("AWS_ENDPOINT_URL_S3", proxy_url.as_str())],
    );
    let post = || {
        let (status, body) = events::post(
            &serve.url(),
            &[("x-api-key", API_KEY)],
            &event(&["summary2/SRR612821.summary"]),
        );
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap_or(json!(body)),
        )
    };

    // Neither landed nor recorded: the sender must keep the event.
    let (status, report) = post();
    assert_eq!(status, 503, "{report}");
    let record = &report["records"][0];
    assert_eq!(record["outcome"], "failed");
    assert_eq!(record["retryable"], true);
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains("GET s3://src/summary2/SRR612821.summary: HTTP 403")
            && error.contains("writing its dead letter failed too")
            && error.contains("HTTP 403"),
        "{error}"
    );
    assert!(
        aws.lake_files()
            .keys()
            .all(|k| k.contains("_manifests/") || k.ends_with("/_lake.json"))
            && parquet_keys(&aws).is_empty()
    );

    // The dead letter can be written: 200, and the answer says dead-lettered.
    lake_refuses.store(false, Ordering::SeqCst);
    let (status, report) = post();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["records"][0]["outcome"], "dead-lettered");
    let files = aws.lake_files();
    let dead: Value =
        serde_json::from_slice(&files["serratus/_errors/nucleotide/SRR612821.json"]).unwrap();
    assert!(
        dead["error"]
            .as_str()
            .unwrap()
            .contains("GET s3://src/summary2/SRR612821.summary: HTTP 403"),
        "{dead}"
    );
    assert_eq!(dead["source"]["key"], "summary2/SRR612821.summary");
    assert!(parquet_keys(&aws).is_empty());

    // Once S3 lets it be read, the redelivered event lands and clears the dead letter.
    source_refused.store(false, Ordering::SeqCst);
    let (status, report) = post();
    assert_eq!(
        (status, &report["records"][0]["outcome"]),
        (200, &json!("landed")),
        "{report}"
    );
    let files = aws.lake_files();
    assert!(!files.contains_key("serratus/_errors/nucleotide/SRR612821.json"));
    assert_eq!(
        duckdb_count(&aws.lake_dir().join("serratus"), "nucleotide/sequence"),
        140
    );
}

#[test]
fn no_input_makes_an_answer_a_log_line_or_a_dead_letter_large_or_puts_control_characters_in_them() {
    let aws = Aws::start();
    const GARBAGE: usize = 20 << 20;
    // A 20 MB key-like token with no '=', and a 20 MB number.
    let mut no_equals =
        b"readlength=95;SUMZER_COMMENT=sra=SRR999,genome=cov3ma,version=200818,date=200911-18:01;\n"
            .to_vec();
    no_equals.extend(std::iter::repeat_n(b'x', GARBAGE));
    no_equals.extend(b";\n");
    aws.put_source("summary2/SRR999.summary", &no_equals);
    let mut long_number =
        b"readlength=95;SUMZER_COMMENT=sra=SRR998,genome=cov3ma,version=200818,date=200911-18:01;\nfamcvg=w;fam=F;score="
            .to_vec();
    long_number.extend(std::iter::repeat_n(b'7', GARBAGE));
    long_number.extend(b";\n");
    aws.put_source("summary2/SRR998.summary", &long_number);
    // A key that would clear a terminal and forge a log line.
    let forging = "summary2/SRR612821\u{1b}[2J\nlevel=INFO forged.summary";

    let (out, report) = handle_event(
        &aws,
        &event(&[
            "summary2/SRR999.summary",
            "summary2/SRR998.summary",
            forging,
        ]),
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let outcomes: Vec<&str> = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["dead-lettered", "dead-lettered", "dead-lettered"]
    );
    assert_eq!(
        report["records"][0]["error"],
        format!(
            "s3://src/summary2/SRR999.summary:2: field '{}… ({GARBAGE} bytes)': missing '=' after the key",
            "x".repeat(80)
        )
    );
    assert_eq!(
        report["records"][1]["error"],
        format!(
            "s3://src/summary2/SRR998.summary:2: field 'score': integer \"{}… ({GARBAGE} bytes)\" out of range",
            "7".repeat(80)
        )
    );
    assert_eq!(
        report["records"][2]["key"],
        "summary2/SRR612821\\u{1b}[2J\\nlevel=INFO forged.summary"
    );
    // Bounded everywhere: the report, every log line, every dead letter.
    assert!(
        out.stdout.len() < 8 * 1024,
        "report of {} bytes",
        out.stdout.len()
    );
    assert!(stderr.len() < 16 * 1024, "log of {} bytes", stderr.len());
    for (name, bytes) in [("report", &out.stdout), ("log", &out.stderr)] {
        assert!(
            !bytes
                .iter()
                .any(|b| *b == 0x1b || (*b < 0x20 && *b != b'\n')),
            "control characters in the {name}"
        );
    }
    assert!(
        !stderr.lines().any(|l| l.starts_with("level=INFO forged")),
        "a forged log line: {stderr}"
    );
    let files = aws.lake_files();
    let dead_letters: Vec<(&String, &Vec<u8>)> = files
        .iter()
        .filter(|(k, _)| k.contains("/_errors/"))
        .collect();
    assert_eq!(
        dead_letters.len(),
        3,
        "{:?}",
        files.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in dead_letters {
        assert!(bytes.len() < 4096, "{key}: {} bytes", bytes.len());
        assert!(!bytes.contains(&0x1b), "{key}");
    }
    assert!(parquet_keys(&aws).is_empty());
}

#[test]
fn replay_of_two_files_of_one_run_lands_it_once_and_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in/nucleotide");
    std::fs::create_dir_all(&input).unwrap();
    let bytes = fixture("nucleotide", "SRR612821.summary");
    // A copy under another run's name: its header still says SRR612821.
    std::fs::write(input.join("SRR1000008.summary"), &bytes).unwrap();
    std::fs::write(input.join("SRR612821.summary"), &bytes).unwrap();
    let lake = dir.path().join("lake");
    let out = crate::support::common::uploader_command()
        .arg("--component")
        .arg(common::component_path())
        .args(["replay", "--lake"])
        .arg(&lake)
        .arg(dir.path().join("in"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let copy = input.join("SRR1000008.summary");
    let original = input.join("SRR612821.summary");
    let expected = format!(
        "{}:1: field 'SUMZER_COMMENT': run \"SRR612821\" is already in this batch, from \"{}\"",
        copy.display(),
        original.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(duckdb_count(&lake, "nucleotide/sequence"), 140);
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
}
