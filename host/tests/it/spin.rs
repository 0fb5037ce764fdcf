//! The Spin app (`spin.toml`, `spin-app/`), served by a wasmtime +
//! wasi-http stand-in for Spin (`support/spin_host.rs`) exactly as the
//! manifest describes it: the same events give the same objects, bytes,
//! answers and Glue catalog as the native `serve`.

use crate::support::common;
use crate::support::events;
use crate::support::servers;
use crate::support::spin_host;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use events::{eventbridge_event, post, s3_event, sns_notification};
use serde_json::{json, Value};
use servers::{http, Aws};
use spin_host::SpinHost;

const API_KEY: &str = "spin-api-key-0123456789";
const COMPONENT: &str = "summary-uploader";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(repo().join("spin.toml")).unwrap();
    text.parse().expect("spin.toml is TOML")
}

fn table<'a>(value: &'a toml::Table, path: &[&str]) -> &'a toml::Table {
    let mut current = value;
    for key in path {
        current = current
            .get(*key)
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("spin.toml has no table {}", path.join(".")));
    }
    current
}

/// The `{{ name }}` references of a template.
fn references(template: &str) -> Vec<String> {
    template
        .split("{{")
        .skip(1)
        .map(|part| part.split("}}").next().unwrap().trim().to_string())
        .collect()
}

fn render(template: &str, values: &HashMap<String, String>) -> String {
    let mut out = template.to_string();
    for name in references(template) {
        let value = values
            .get(&name)
            .unwrap_or_else(|| panic!("spin.toml: {{{{ {name} }}}} names no variable"));
        out = out.replace(&format!("{{{{ {name} }}}}"), value);
    }
    out
}

/// What Spin would hand the component: the application variables (the
/// test's values over the manifest's defaults; a missing required one is
/// an error) rendered through the component's variable templates.
fn component_variables(given: &[(&str, String)]) -> HashMap<String, String> {
    let manifest = manifest();
    let mut app = HashMap::new();
    for (name, declaration) in table(&manifest, &["variables"]) {
        let declaration = declaration.as_table().unwrap();
        let value = given
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                declaration
                    .get("default")
                    .map(|d| d.as_str().unwrap().to_string())
            });
        match value {
            Some(value) => {
                app.insert(name.clone(), value);
            }
            None => assert!(
                declaration.get("required").and_then(toml::Value::as_bool) != Some(true),
                "the required variable {name} is not given"
            ),
        }
    }
    for (name, _) in given {
        assert!(
            app.contains_key(*name),
            "{name} is not declared in spin.toml"
        );
    }
    table(&manifest, &["component", COMPONENT, "variables"])
        .iter()
        .map(|(name, template)| (name.clone(), render(template.as_str().unwrap(), &app)))
        .collect()
}

/// A file the manifest names, relative to it; it must have been built.
fn built(relative: &str) -> PathBuf {
    let path = repo().join(relative);
    assert!(
        path.exists(),
        "spin.toml names {relative}, which does not exist: run scripts/setup (or scripts/build-components)"
    );
    path
}

/// The app as `spin up` would run it, against the test's S3 and Glue,
/// writing under `s3://lake/<prefix>` and Glue database `<database>`.
fn start_spin(aws: &Aws, prefix: &str, database: &str) -> SpinHost {
    let manifest = manifest();
    let component = table(&manifest, &["component", COMPONENT]);
    let source = built(component["source"].as_str().unwrap());
    let dependency = table(&manifest, &["component", COMPONENT, "dependencies"])
        ["serratus:summary/converter@0.3.0"]["path"]
        .as_str()
        .unwrap();
    let cert = std::fs::read_to_string(events::sns_cert_path()).unwrap();
    let variables = component_variables(&[
        ("aws_access_key_id", aws.access_key.clone()),
        ("aws_secret_access_key", aws.secret_key.clone()),
        ("aws_endpoint_url_s3", aws.s3_url()),
        ("aws_endpoint_url_glue", aws.glue.url()),
        ("lake_bucket", "lake".into()),
        ("lake_prefix", prefix.into()),
        ("glue_database", database.into()),
        ("api_key", API_KEY.into()),
        ("sns_signing_cert", cert),
        ("sns_topic_arns", events::SNS_TOPIC.into()),
        ("lake_layout", common::layout().into()),
    ]);
    SpinHost::start(&source, &built(dependency), variables)
}

fn start_native(aws: &Aws, prefix: &str, database: &str) -> servers::Server {
    let cert = events::sns_cert_path();
    servers::serve(
        aws,
        &[
            "--dest",
            &format!("s3://lake/{prefix}"),
            "--glue-database",
            database,
            "--sns-cert",
            cert.to_str().unwrap(),
            "--sns-topic",
            events::SNS_TOPIC,
        ],
        API_KEY,
        &[],
    )
}

/// The lake's files under `prefix/`, keyed relative to it.
fn lake_under(aws: &Aws, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    aws.lake_files()
        .into_iter()
        .filter_map(|(key, bytes)| {
            key.strip_prefix(&format!("{prefix}/"))
                .map(|rest| (rest.to_string(), bytes))
        })
        .collect()
}

/// A Glue database's tables (columns, partition keys, location relative to
/// the lake's root) and each table's partitions.
fn glue_state(aws: &Aws, database: &str, lake: &str) -> BTreeMap<String, Value> {
    let (status, tables) = aws.glue_call("GetTables", json!({"DatabaseName": database}));
    assert_eq!(status, 200, "{tables}");
    let mut state = BTreeMap::new();
    for table in tables["TableList"].as_array().unwrap() {
        let name = table["Name"].as_str().unwrap().to_string();
        let descriptor = &table["StorageDescriptor"];
        let (status, partitions) = aws.glue_call(
            "GetPartitions",
            json!({"DatabaseName": database, "TableName": name}),
        );
        assert_eq!(status, 200, "{partitions}");
        let partitions: BTreeSet<String> = partitions["Partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{} at {}", p["Values"], p["StorageDescriptor"]["Location"]))
            .collect();
        let description = json!({"columns": descriptor["Columns"], "partition_keys": table["PartitionKeys"],
            "location": descriptor["Location"], "parameters": table["Parameters"], "partitions": partitions});
        // The lake's own URL is the one expected difference.
        let description = description.to_string().replace(lake, "LAKE");
        state.insert(name, serde_json::from_str(&description).unwrap());
    }
    state
}

/// The answer with the prefix-dependent parts made comparable.
fn normalized(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| json!(body))
}

#[test]
fn the_spin_app_writes_what_the_native_host_writes() {
    let aws = Aws::start();
    let keys = aws.put_fixture_sources();
    // One malformed summary: dead-lettered by both, the rest still lands.
    aws.put_source(
        "summary2/SRR9999999.summary",
        b"sra=SRR9999999\nnot a summary line\n",
    );
    let native = start_native(&aws, "native", "native_db");
    let spin = start_spin(&aws, "spin", "spin_db");

    let mut documents: Vec<Value> = keys[..20]
        .iter()
        .map(|key| eventbridge_event(key))
        .collect();
    documents.push(s3_event(&keys[20..40]));
    documents.push(sns_notification(&s3_event(&keys[40..])));
    documents.push(eventbridge_event("summary2/SRR9999999.summary"));
    // A redelivery: nothing new is written.
    documents.push(eventbridge_event(&keys[0]));
    for document in &documents {
        let headers: &[(&str, &str)] = if document.get("Type").is_some() {
            &[]
        } else {
            &[("x-api-key", API_KEY)]
        };
        let (native_status, native_body) = post(&native.url(), headers, document);
        let (spin_status, spin_body) = post(&spin.url(), headers, document);
        assert_eq!(
            (spin_status, normalized(&spin_body)),
            (native_status, normalized(&native_body)),
            "the Spin app answered differently; its log:\n{}",
            spin.log_text()
        );
        assert_eq!(spin_status, 200, "{spin_body}");
    }
    let last: Value = serde_json::from_str(
        &post(
            &spin.url(),
            &[("x-api-key", API_KEY)],
            &eventbridge_event(&keys[0]),
        )
        .1,
    )
    .unwrap();
    assert_eq!(last["records"][0]["outcome"], "already-done");

    let native_lake = lake_under(&aws, "native");
    let spin_lake = lake_under(&aws, "spin");
    let parquet = spin_lake.keys().filter(|k| k.ends_with(".parquet")).count();
    // An object per table and partition, or per table and bucket.
    let fewest = if common::score_pctid() { 500 } else { 150 };
    assert!(
        parquet > fewest,
        "the fixtures make hundreds of objects: {parquet}"
    );
    assert!(
        spin_lake.contains_key("_errors/nucleotide/SRR9999999.json"),
        "dead-lettered: {:?}",
        spin_lake
            .keys()
            .filter(|k| k.starts_with('_'))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        spin_lake.keys().collect::<Vec<_>>(),
        native_lake.keys().collect::<Vec<_>>(),
        "the same object keys"
    );
    for (key, bytes) in &spin_lake {
        assert!(native_lake[key] == *bytes, "{key}: different bytes");
    }

    let native_glue = glue_state(&aws, "native_db", "s3://lake/native");
    let spin_glue = glue_state(&aws, "spin_db", "s3://lake/spin");
    assert_eq!(
        spin_glue.len(),
        11,
        "every table of the three kinds: {:?}",
        spin_glue.keys()
    );
    for (table, description) in &spin_glue {
        assert!(description["partitions"].as_array().is_some(), "{table}");
        assert!(
            native_glue.get(table) == Some(description),
            "Glue table {table}: the Spin app registered {description}\nthe native host {:?}",
            native_glue.get(table)
        );
    }
    assert_eq!(spin_glue.len(), native_glue.len());
}

#[test]
fn the_spin_app_refuses_what_the_native_host_refuses() {
    let aws = Aws::start();
    let spin = start_spin(&aws, "spin", "spin_db");
    assert_eq!(
        http("GET", &format!("{}/healthz", spin.url()), &[], b""),
        (200, b"ok\n".to_vec())
    );
    assert_eq!(
        http("GET", &format!("{}/nothing", spin.url()), &[], b"").0,
        404
    );
    let event = s3_event(&["summary2/SRR612821.summary".into()]);
    let (status, body) = post(&spin.url(), &[], &event);
    assert_eq!(
        (status, body.as_str()),
        (
            401,
            "unauthenticated: no API key and not a signed SNS message\n"
        )
    );
    assert_eq!(
        post(&spin.url(), &[("x-api-key", "wrong")], &event),
        (401, "unauthenticated: wrong API key\n".into())
    );
    let mut forged = sns_notification(&event);
    forged["Message"] = json!(s3_event(&["summary2/SRR1.summary".into()]).to_string());
    assert_eq!(
        post(&spin.url(), &[], &forged),
        (
            401,
            "unauthenticated: SNS signature does not verify\n".into()
        )
    );
    // only the topics of sns_topic_arns, only recent messages
    let mut other_topic = events::sns_envelope(&event);
    other_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:999999999999:other");
    assert_eq!(
        post(&spin.url(), &[], &events::sns_signed(other_topic)),
        (
            401,
            "unauthenticated: SNS topic \"arn:aws:sns:us-east-1:999999999999:other\" is not accepted\n"
                .into()
        )
    );
    let mut old = events::sns_envelope(&event);
    old["Timestamp"] = json!("2026-01-01T00:00:00.000Z");
    let (status, body) = post(&spin.url(), &[], &events::sns_signed(old));
    assert_eq!(status, 401, "{body}");
    assert!(
        body.starts_with("unauthenticated: SNS message of \"2026-01-01T00:00:00.000Z\" is ")
            && body.ends_with(" s old, more than the 3600 s accepted\n"),
        "{body}"
    );
    let (status, body) = post(
        &spin.url(),
        &[("x-api-key", API_KEY)],
        &json!({"hello": "world"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.starts_with("malformed event: event has an unknown shape"),
        "{body}"
    );
    let huge = vec![b' '; (1 << 20) + 10];
    let (status, _) = http(
        "POST",
        &format!("{}/events", spin.url()),
        &[("x-api-key", API_KEY)],
        &huge,
    );
    assert_eq!(status, 413);
    // An object that is gone: nothing to convert, not an error.
    let (status, body) = post(
        &spin.url(),
        &[("x-api-key", API_KEY)],
        &eventbridge_event("summary2/SRR1.summary"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"outcome\":\"source-gone\""), "{body}");
    assert!(
        aws.lake_files().is_empty(),
        "nothing written: {:?}",
        aws.lake_files().keys()
    );
}

#[test]
fn spin_toml_is_a_valid_manifest_whose_files_and_variables_resolve() {
    let manifest = manifest();
    assert_eq!(manifest["spin_manifest_version"].as_integer(), Some(2));
    let triggers = manifest["trigger"]["http"].as_array().unwrap();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0]["component"].as_str(), Some(COMPONENT));
    assert_eq!(triggers[0]["route"].as_str(), Some("/..."));

    let component = table(&manifest, &["component", COMPONENT]);
    built(component["source"].as_str().unwrap());
    let dependencies = table(&manifest, &["component", COMPONENT, "dependencies"]);
    assert_eq!(dependencies.len(), 1);
    // The dependency names the interface the WIT declares, at its version.
    let wit = std::fs::read_to_string(repo().join("wit/summary.wit")).unwrap();
    assert!(
        wit.starts_with("package serratus:summary@0.3.0;"),
        "{}",
        &wit[..40]
    );
    assert!(wit.contains("interface converter {"));
    let guest = built(
        dependencies["serratus:summary/converter@0.3.0"]["path"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        std::fs::read(&guest).unwrap(),
        std::fs::read(common::component_path()).unwrap(),
        "the Spin app depends on the same converter the native host runs"
    );

    // Every template names declared variables; outbound hosts use names
    // that are both application and component variables.
    let app_variables = table(&manifest, &["variables"]);
    let component_variables = table(&manifest, &["component", COMPONENT, "variables"]);
    for (name, template) in component_variables {
        for reference in references(template.as_str().unwrap()) {
            assert!(
                app_variables.contains_key(&reference),
                "{name} = {template}: {reference} is not declared"
            );
        }
    }
    let hosts = component["allowed_outbound_hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    for host in hosts {
        for reference in references(host.as_str().unwrap()) {
            assert!(
                app_variables.contains_key(&reference)
                    && component_variables.contains_key(&reference),
                "{host}"
            );
        }
    }
    let defaults: HashMap<String, String> = app_variables
        .iter()
        .filter_map(|(n, d)| {
            d.get("default")
                .map(|d| (n.clone(), d.as_str().unwrap().to_string()))
        })
        .collect();
    let rendered: Vec<String> = hosts
        .iter()
        .map(|h| render(h.as_str().unwrap(), &defaults))
        .collect();
    assert_eq!(
        rendered,
        [
            "https://s3.us-east-1.amazonaws.com",
            "https://glue.us-east-1.amazonaws.com",
            "https://sns.us-east-1.amazonaws.com"
        ]
    );
    // Credentials and the API key are secrets.
    for secret in [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "api_key",
    ] {
        assert_eq!(
            app_variables[secret]["secret"].as_bool(),
            Some(true),
            "{secret}"
        );
    }
    // Every variable the app reads is a component variable.
    let config = std::fs::read_to_string(repo().join("spin-app/src/config.rs")).unwrap();
    let read: Vec<&str> = config
        .split("variable(\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(read.len() >= 8, "{read:?}");
    for name in read.iter().copied().chain([
        "aws_region",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_endpoint_url_s3",
        "aws_endpoint_url_glue",
    ]) {
        assert!(
            component_variables.contains_key(name),
            "the app reads {name}, which spin.toml does not give it"
        );
    }
    // `spin build` runs the project's own build script.
    let build = table(&manifest, &["component", COMPONENT, "build"]);
    let command = build["command"].as_str().unwrap();
    assert_eq!(command, "scripts/build-components");
    let script = repo().join(command);
    use std::os::unix::fs::PermissionsExt;
    assert!(
        std::fs::metadata(&script).unwrap().permissions().mode() & 0o111 != 0,
        "{command} is executable"
    );
}
