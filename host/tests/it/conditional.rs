//! Conditional writes as the servers decide them: moto's S3 and s3s-fs
//! (each its own implementation of `If-None-Match: *` and `If-Match`) give
//! the store the same answers, and a store that refuses them (501) is a
//! clear, retryable error that dead-letters nothing, until the operator
//! chooses to write without them.

use crate::support::{common, servers};

use serde_json::{json, Value};
use servers::{duckdb_count, Aws, FaultProxy};
use summary_aws::request::HttpRequest;
use summary_pipeline::aws_client::AwsConfig;
use summary_pipeline::error::Error;
use summary_pipeline::s3_store::S3Store;
use summary_pipeline::store::{Expected, ObjectStore};
use summary_uploader::aws_transport::native_client;

/// Creates `bucket` at `endpoint` and checks every answer of the store's
/// compare-and-swap there.
fn conditional_writes_hold(aws: &Aws, endpoint: &str, bucket: &str) {
    let vars = [
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", aws.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY", aws.secret_key.clone()),
        ("AWS_ENDPOINT_URL_S3", endpoint.to_string()),
    ];
    let var = |name: &str| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    let config = AwsConfig::from_vars(var).unwrap();
    let client = native_client(config);
    let host = endpoint.trim_start_matches("http://").to_string();
    let created = client
        .call_s3(
            Ok(HttpRequest {
                method: "PUT",
                url: format!("{endpoint}/{bucket}"),
                headers: vec![("host".into(), host)],
                body: Vec::new(),
            }),
            1 << 20,
        )
        .unwrap();
    assert!(
        created.is_success() || created.status == 409,
        "creating {bucket}: {}",
        created.status
    );
    let store = S3Store::new(&client, bucket.into(), "lake".into());
    let key = "_manifests/nucleotide/SRR1.json";
    let first = store.put_if(key, b"1", &Expected::Absent).unwrap();
    assert!(
        matches!(
            store.put_if(key, b"2", &Expected::Absent),
            Err(Error::Conflict(_))
        ),
        "{endpoint}: a second create loses"
    );
    let read = store.get_versioned(key).unwrap().unwrap();
    assert_eq!(
        (read.bytes.as_slice(), read.etag.as_str()),
        (&b"1"[..], first.as_str()),
        "{endpoint}"
    );
    let second = store
        .put_if(key, b"2", &Expected::Version(first.clone()))
        .unwrap();
    assert_ne!(second, first);
    assert!(
        matches!(
            store.put_if(key, b"3", &Expected::Version(first)),
            Err(Error::Conflict(_))
        ),
        "{endpoint}: a swap from a version no longer there loses"
    );
    assert_eq!(store.get(key).unwrap().unwrap(), b"2", "{endpoint}");
}

#[test]
fn moto_and_s3s_fs_decide_conditional_writes_alike() {
    let aws = Aws::start();
    // moto serves S3 beside Glue, SQS and IAM
    conditional_writes_hold(&aws, &aws.glue.url(), "moto-lake");
    conditional_writes_hold(&aws, &aws.s3_url(), "lake");
}

#[test]
fn a_store_refusing_conditional_writes_is_a_clear_retryable_error_until_told_to_write_without() {
    let aws = Aws::start();
    let key = "summary2/SRR612821.summary";
    aws.put_source(
        key,
        &std::fs::read(common::fixtures().join("nucleotide/SRR612821.summary")).unwrap(),
    );
    let refusing = FaultProxy::refusing_conditional_writes(aws.s3.port);
    let event = json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
        "object":{"key": key, "eTag": "e1", "sequencer": "01"}}}]});
    let path = aws.s3_root.path().join("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let handle = |env: &[(&str, &str)]| {
        let out = servers::uploader(&aws)
            .args([
                "handle-event",
                path.to_str().unwrap(),
                "--dest",
                "s3://lake/serratus",
                "--no-glue",
            ])
            .env("AWS_ENDPOINT_URL_S3", refusing.url())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out, report)
    };

    let (out, report) = handle(&[]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let record = &report["records"][0];
    assert_eq!(record["outcome"], "failed", "{report}");
    assert_eq!(
        record["retryable"], true,
        "the event stays with its sender: {report}"
    );
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains("does not support conditional writes")
            && error.contains("NotImplemented")
            && error.contains("SUMMARY_UNCONDITIONAL_WRITES=1"),
        "{error}"
    );
    let files = aws.lake_files();
    assert!(
        !files
            .keys()
            .any(|k| k.contains("/_errors/") || k.contains("/_manifests/")),
        "no dead letter and no manifest: {:?}",
        files.keys().collect::<Vec<_>>()
    );

    let (out, report) = handle(&[("SUMMARY_UNCONDITIONAL_WRITES", "1")]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["records"][0]["outcome"], "landed", "{report}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("run one writer per kind"),
        "the choice is logged"
    );
    assert_eq!(
        duckdb_count(&aws.lake_dir().join("serratus"), "nucleotide/sra"),
        1
    );
    let (out, _) = handle(&[("SUMMARY_UNCONDITIONAL_WRITES", "maybe")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SUMMARY_UNCONDITIONAL_WRITES=\"maybe\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
