//! The edge function against real S3 (s3s-fs, which checks every SigV4
//! signature and payload hash) and Glue (moto, signatures checked).

use crate::support::common;
use crate::support::servers;

use std::process::Output;

use serde_json::{json, Value};
use servers::{duckdb_count, Aws};

fn uploader(aws: &Aws, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = servers::uploader(aws);
    command.args(args).envs(aws.env());
    command.env("RUST_LOG", "info");
    match stdin {
        None => command.output().unwrap(),
        Some(bytes) => {
            use std::io::Write;
            let mut child = command
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(bytes).unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

fn handle(aws: &Aws, event: &Value) -> (Output, Value) {
    let out = uploader(
        aws,
        &["handle-event", "-", "--dest", "s3://lake/serratus"],
        Some(event.to_string().as_bytes()),
    );
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

fn s3_event(key: &str, sequencer: &str) -> Value {
    let encoded: String = key.replace('+', "%2B").replace(' ', "+");
    json!({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
        "s3":{"bucket":{"name":"src"},"object":{"key": encoded, "size": 100, "eTag": format!("etag-{sequencer}"), "sequencer": sequencer}}}]})
}

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join(kind).join(name)).unwrap()
}

fn outcomes(report: &Value) -> Vec<String> {
    report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_event_shape_lands_and_notices_are_acknowledged() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/DRR11074882.summary",
        &fixture("nucleotide", "DRR11074882.summary"),
    );
    aws.put_source(
        "psummary/DRR1017695.psummary",
        &fixture("protein", "DRR1017695.psummary"),
    );
    aws.put_source(
        "rsummary/DRR13913260.psummary",
        &fixture("rdrp", "DRR13913260.rsummary.psummary"),
    );
    aws.put_source(
        "rsummary/SRR1744881.psummary",
        &fixture("rdrp", "SRR1744881.rsummary.psummary"),
    );
    let s3 = s3_event("summary2/DRR11074882.summary", "01");
    let sqs = json!({"Records":[{"messageId":"m","eventSource":"aws:sqs","body": s3_event("psummary/DRR1017695.psummary", "01").to_string()}]});
    let sns = json!({"Type":"Notification","MessageId":"n","TopicArn":"arn:aws:sns:us-east-1:1:t","Message": s3_event("rsummary/DRR13913260.psummary", "01").to_string()});
    let eventbridge = json!({"version":"0","detail-type":"Object Created","source":"aws.s3",
        "detail":{"bucket":{"name":"src"},"object":{"key":"rsummary/SRR1744881.psummary","size":128,"etag":"e","version-id":"v1","sequencer":"01"}}});
    for event in [&s3, &sqs, &sns, &eventbridge] {
        let (out, report) = handle(&aws, event);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(outcomes(&report), ["landed"]);
    }
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sequence"), 79);
    assert_eq!(duckdb_count(&lake, "protein/sequence"), 2);
    assert_eq!(
        duckdb_count(&lake, "rdrp/sequence"),
        294,
        "DRR13913260 has 294 vircvg lines, SRR1744881 none"
    );
    assert_eq!(duckdb_count(&lake, "rdrp/sra"), 2);
    let manifest: Value =
        serde_json::from_slice(&aws.lake_files()["serratus/_manifests/rdrp/SRR1744881.json"])
            .unwrap();
    assert_eq!(manifest["source"]["version_id"], "v1");
    let objects = manifest["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{manifest}");
    let sra = match common::score_pctid() {
        true => "rdrp/sra/SRR1744881",
        false => "rdrp/sra/bucket=81/SRR1744881",
    };
    assert!(
        is_version_object(objects[0].as_str().unwrap(), sra),
        "{manifest}"
    );
    assert_eq!(manifest["complete"], true);

    // notices: acknowledged, nothing processed, exit 0
    let before = aws.lake_files();
    for notice in [
        json!({"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-24T00:00:00Z","Bucket":"src"}),
        json!({"Type":"SubscriptionConfirmation","TopicArn":"arn:t","SubscribeURL":"https://sns.example/confirm","Message":"confirm"}),
        json!({"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"src"},"object":{"key":"summary2/DRR11074882.summary"}}}]}),
    ] {
        let (out, report) = handle(&aws, &notice);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(report["records"], json!([]));
        assert_eq!(report["notices"].as_array().unwrap().len(), 1);
    }
    assert_eq!(aws.lake_files(), before);
}

#[test]
fn keys_with_spaces_and_plus_are_decoded() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/run data+x/summary2/SRR612821.summary",
        &fixture("nucleotide", "SRR612821.summary"),
    );
    let (out, report) = handle(
        &aws,
        &s3_event("summary2/run data+x/summary2/SRR612821.summary", "01"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(outcomes(&report), ["landed"]);
    assert_eq!(
        report["records"][0]["key"],
        "summary2/run data+x/summary2/SRR612821.summary"
    );
    let sra = match common::score_pctid() {
        true => "serratus/nucleotide/sra/SRR612821",
        false => "serratus/nucleotide/sra/bucket=21/SRR612821",
    };
    assert!(aws.lake_files().keys().any(|k| is_version_object(k, sra)));
}

#[test]
fn a_repeated_event_writes_nothing_and_a_replaced_summary_moves_its_rows() {
    let aws = Aws::start();
    let original = fixture("protein", "DRR1017695.psummary");
    aws.put_source("psummary/DRR1017695.psummary", &original);
    let (out, _) = handle(&aws, &s3_event("psummary/DRR1017695.psummary", "0100"));
    assert_eq!(out.status.code(), Some(0));
    let first = aws.lake_files();
    let mtimes = |aws: &Aws| -> Vec<std::time::SystemTime> {
        aws.lake_files()
            .keys()
            .map(|k| {
                std::fs::metadata(aws.lake_dir().join(k))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect()
    };
    let first_mtimes = mtimes(&aws);

    // the same event again: nothing written
    let (out, report) = handle(&aws, &s3_event("psummary/DRR1017695.psummary", "0100"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(outcomes(&report), ["already-done"]);
    assert_eq!(aws.lake_files(), first);
    assert_eq!(mtimes(&aws), first_mtimes);
    assert_eq!(
        duckdb_count(&aws.lake_dir().join("serratus"), "protein/sequence"),
        2
    );

    // a new version whose family row moves from score=3/pctid=62 to score=90/pctid=70
    let replaced = String::from_utf8(original).unwrap().replace(
        "famcvg=_________.__.____________;fam=Deltavirus;score=3;pctid=62;",
        "famcvg=_________.__.____________;fam=Deltavirus;score=90;pctid=70;",
    );
    aws.put_source("psummary/DRR1017695.psummary", replaced.as_bytes());
    let (out, report) = handle(&aws, &s3_event("psummary/DRR1017695.psummary", "0101"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // every object of the old version: the new version's keys carry its token
    let files = aws.lake_files();
    let has = |prefix: &str| files.keys().any(|k| is_version_object(k, prefix));
    if common::score_pctid() {
        assert_eq!(report["records"][0]["deleted"], 5);
        assert!(
            !has("serratus/protein/family/score=3/pctid=62/DRR1017695"),
            "stale object gone"
        );
        assert!(has("serratus/protein/family/score=90/pctid=70/DRR1017695"));
    } else {
        // one object per table, the family row's new score inside it
        assert_eq!(report["records"][0]["deleted"], 4);
        assert!(has("serratus/protein/family/bucket=95/DRR1017695"));
        assert_eq!(
            files.keys().filter(|k| k.contains("/DRR1017695-")).count(),
            4,
            "the old version's objects are gone"
        );
    }
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "protein/family"), 1);

    // the older event arriving late changes nothing
    aws.put_source(
        "psummary/DRR1017695.psummary",
        &fixture("protein", "DRR1017695.psummary"),
    );
    let (_, report) = handle(&aws, &s3_event("psummary/DRR1017695.psummary", "0100"));
    assert_eq!(outcomes(&report), ["older"]);
    assert_eq!(aws.lake_files(), files);
}

#[test]
fn a_corrupt_summary_is_dead_lettered_and_the_others_land() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/SRR612821.summary",
        &fixture("nucleotide", "SRR612821.summary"),
    );
    aws.put_source(
        "summary2/SRR999.summary",
        b"readlength=95;SUMZER_COMMENT=sra=SRR999,genome=cov3ma,version=200818,date=200911-18:01;\nfamcvg=w;fam=F;score=abc;\n",
    );
    aws.put_source(
        "summary2/ERR2567813.summary",
        &fixture("nucleotide", "ERR2567813.summary"),
    );
    let mut event = s3_event("summary2/SRR612821.summary", "01");
    let records = event["Records"].as_array_mut().unwrap();
    let mut bad = records[0].clone();
    bad["s3"]["object"]["key"] = json!("summary2/SRR999.summary");
    let mut other = records[0].clone();
    other["s3"]["object"]["key"] = json!("summary2/ERR2567813.summary");
    records.push(bad);
    records.push(other);
    let (out, report) = handle(&aws, &event);
    assert_eq!(out.status.code(), Some(1), "not every record landed");
    assert_eq!(outcomes(&report), ["landed", "dead-lettered", "landed"]);
    assert_eq!(
        report["records"][1]["error"],
        "s3://src/summary2/SRR999.summary:2: field 'score': invalid integer \"abc\""
    );
    let files = aws.lake_files();
    let dead: Value =
        serde_json::from_slice(&files["serratus/_errors/nucleotide/SRR999.json"]).unwrap();
    assert_eq!(
        dead["detail"],
        json!({"line": 2, "field": "score", "message": "invalid integer \"abc\""})
    );
    assert_eq!(dead["source"]["key"], "summary2/SRR999.summary");
    assert!(!files
        .keys()
        .any(|k| k.contains("SRR999") && k.ends_with(".parquet")));
    assert_eq!(
        duckdb_count(&aws.lake_dir().join("serratus"), "nucleotide/sra"),
        2
    );
}

#[test]
fn a_wrong_secret_key_is_a_clear_error_and_writes_nothing() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/SRR612821.summary",
        &fixture("nucleotide", "SRR612821.summary"),
    );
    let mut command = servers::uploader(&aws);
    command.env("AWS_SECRET_ACCESS_KEY", "wrong");
    let event = s3_event("summary2/SRR612821.summary", "01");
    let path = aws.s3_root.path().join("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let out = command
        .args([
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            "s3://lake/serratus",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = report["records"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 403") && error.contains("SignatureDoesNotMatch"),
        "{error}"
    );
    assert!(
        !error.contains("wrong"),
        "the secret never reaches a message: {error}"
    );
    assert!(aws.lake_files().is_empty());
}

#[test]
fn glue_tables_are_created_once_with_projection_and_partitions_registered() {
    let aws = Aws::start();
    for name in ["DRR11074882.summary", "SRR612821.summary"] {
        aws.put_source(&format!("summary2/{name}"), &fixture("nucleotide", name));
        let (out, _) = handle(&aws, &s3_event(&format!("summary2/{name}"), "01"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (status, tables) = aws.glue_call("GetTables", json!({"DatabaseName": "summary"}));
    assert_eq!(status, 200, "{tables}");
    // moto checks signatures too
    let (status, refused) = aws.glue_call_as(
        "wrong-secret",
        "GetTables",
        json!({"DatabaseName": "summary"}),
    );
    assert_eq!(status, 403, "{refused}");
    let mut names: Vec<&str> = tables["TableList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["nfamily", "nsequence", "nsra"]);
    let (_, family) = aws.glue_call(
        "GetTable",
        json!({"DatabaseName": "summary", "Name": "nfamily"}),
    );
    let parameters = &family["Table"]["Parameters"];
    assert_eq!(parameters["projection.enabled"], "true");
    if !common::score_pctid() {
        // the bucket projected, nothing registered per partition
        assert_eq!(parameters["projection.bucket.type"], "enum");
        assert_eq!(
            parameters["storage.location.template"],
            "s3://lake/serratus/nucleotide/family/bucket=${bucket}/"
        );
        assert_eq!(
            family["Table"]["PartitionKeys"],
            json!([{"Name":"bucket","Type":"string"}])
        );
        let columns = family["Table"]["StorageDescriptor"]["Columns"]
            .as_array()
            .unwrap();
        assert_eq!(
            columns[columns.len() - 1],
            json!({"Name":"pctid","Type":"int"})
        );
        let (_, partitions) = aws.glue_call(
            "GetPartitions",
            json!({"DatabaseName": "summary", "TableName": "nfamily"}),
        );
        assert_eq!(partitions["Partitions"], json!([]));
    } else {
        assert_eq!(parameters["projection.score.type"], "integer");
        assert_eq!(parameters["projection.score.range"], "0,100");
        assert_eq!(parameters["projection.pctid.range"], "0,100");
        assert_eq!(
            parameters["storage.location.template"],
            "s3://lake/serratus/nucleotide/family/score=${score}/pctid=${pctid}/"
        );
        assert_eq!(
            family["Table"]["PartitionKeys"],
            json!([{"Name":"score","Type":"int"},{"Name":"pctid","Type":"int"}])
        );
        assert_eq!(
            family["Table"]["StorageDescriptor"]["Columns"][3],
            json!({"Name":"depth","Type":"double"})
        );
        let (_, partitions) = aws.glue_call(
            "GetPartitions",
            json!({"DatabaseName": "summary", "TableName": "nfamily"}),
        );
        let mut values: Vec<String> = partitions["Partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Values"].to_string())
            .collect();
        values.sort();
        let expected_families = [("100", "91"), ("100", "92"), ("46", "91")];
        assert!(values.len() >= expected_families.len(), "{values:?}");
        for (score, pctid) in expected_families {
            assert!(
                values.contains(&format!(r#"["{score}","{pctid}"]"#)),
                "{values:?}"
            );
        }
    }

    // a table someone else defined differently is an error, never replaced
    aws.glue_call(
        "DeleteTable",
        json!({"DatabaseName": "summary", "Name": "nsra"}),
    );
    let mut foreign = summary_aws::glue::create_table(
        "summary",
        &summary_lake::catalog::NUCLEOTIDE_SRA,
        common::lake_layout(),
        "s3://lake/serratus",
    );
    foreign["TableInput"]["StorageDescriptor"]["Columns"][1]["Type"] = json!("int");
    assert_eq!(aws.glue_call("CreateTable", foreign).0, 200);
    aws.put_source(
        "summary2/SRR7819569.summary",
        &fixture("nucleotide", "SRR7819569.summary"),
    );
    let (out, report) = handle(&aws, &s3_event("summary2/SRR7819569.summary", "01"));
    assert_eq!(out.status.code(), Some(1));
    let error = report["records"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("Glue table nsra has columns (sra string, readlength int,"),
        "{error}"
    );
}

#[test]
fn s3_answering_500_is_retried_and_the_summary_lands_once() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/DRR11074882.summary",
        &fixture("nucleotide", "DRR11074882.summary"),
    );
    // the source GET (the first GET reads the manifest) and two PUTs in the middle of the file's objects fail once
    let proxy = servers::FaultProxy::start(aws.s3.port, |method, _path, nth| match (method, nth) {
        ("GET", 2) | ("PUT", 3) => Some(servers::Fault::Status(500)),
        ("PUT", 5) => Some(servers::Fault::Status(503)),
        _ => None,
    });
    let mut command = servers::uploader(&aws);
    command.env("AWS_ENDPOINT_URL_S3", proxy.url());
    let path = aws.s3_root.path().join("event.json");
    std::fs::write(
        &path,
        s3_event("summary2/DRR11074882.summary", "01").to_string(),
    )
    .unwrap();
    let out = command
        .args([
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            "s3://lake/serratus",
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
    assert_eq!(
        proxy
            .faults_served
            .load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(duckdb_count(&lake, "nucleotide/sequence"), 79);
    assert_eq!(duckdb_count(&lake, "nucleotide/family"), 6);
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 1);
}

#[test]
fn replay_writes_an_s3_lake_and_registers_it() {
    let aws = Aws::start();
    let out = uploader(
        &aws,
        &[
            "replay",
            common::fixtures().to_str().unwrap(),
            "--dest",
            "s3://lake/replayed",
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("into s3://lake/replayed in"));
    let lake = aws.lake_dir().join("replayed");
    assert_eq!(duckdb_count(&lake, "nucleotide/sra"), 20);
    assert_eq!(duckdb_count(&lake, "rdrp/sra"), 20);
    let (_, tables) = aws.glue_call("GetTables", json!({"DatabaseName": "summary"}));
    assert_eq!(tables["TableList"].as_array().unwrap().len(), 11);
}

#[test]
fn keys_outside_the_routes_are_reported_and_skipped() {
    let aws = Aws::start();
    let (out, report) = handle(&aws, &s3_event("notes/README.txt", "01"));
    assert_eq!(out.status.code(), Some(0), "nothing to do is not a failure");
    assert_eq!(outcomes(&report), ["not-a-summary"]);
    assert!(aws.lake_files().is_empty());
}

#[test]
fn oversized_sources_are_refused_by_event_size_and_by_content_length() {
    let aws = Aws::start();
    aws.put_source(
        "summary2/DRR11074882.summary",
        &fixture("nucleotide", "DRR11074882.summary"),
    );
    let limit = ["--max-summary-bytes", "1000"];
    // the event says the size: refused before any download
    let sized = s3_event("summary2/DRR11074882.summary", "01"); // size 100 in the event: allowed...
    let mut big = sized.clone();
    big["Records"][0]["s3"]["object"]["size"] = json!(5_000);
    let out = uploader(
        &aws,
        &[
            &["handle-event", "-", "--dest", "s3://lake/serratus"][..],
            &limit[..],
        ]
        .concat(),
        Some(big.to_string().as_bytes()),
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcomes(&report), ["dead-lettered"]);
    assert_eq!(
        report["records"][0]["error"],
        "s3://src/summary2/DRR11074882.summary: 5000 bytes is over the 1000-byte limit"
    );
    // ...and when the event's size is wrong or missing, the Content-Length refuses it
    let out = uploader(
        &aws,
        &[
            &["handle-event", "-", "--dest", "s3://lake/serratus"][..],
            &limit[..],
        ]
        .concat(),
        Some(sized.to_string().as_bytes()),
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcomes(&report), ["dead-lettered"], "{report}");
    let error = report["records"][0]["error"].as_str().unwrap();
    assert!(
        error
            .starts_with("s3://src/summary2/DRR11074882.summary: over the 1000-byte summary limit"),
        "{error}"
    );
    assert!(
        !aws.lake_files().keys().any(|k| k.ends_with(".parquet")),
        "nothing converted"
    );
}

/// Whether `key` is `<run_prefix>-<16 hex>.parquet`: an object of one
/// version of a run, its token a hash of the version's bytes.
fn is_version_object(key: &str, run_prefix: &str) -> bool {
    key.strip_prefix(run_prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_suffix(".parquet"))
        .is_some_and(|token| token.len() == 16 && token.bytes().all(|b| b.is_ascii_hexdigit()))
}
