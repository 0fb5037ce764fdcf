//! Operating the tools: `/metrics` of `serve` and `consume-sqs` parsed by
//! the official Prometheus client's parser with counters equal to what was
//! sent, `--dry-run` writing nothing and listing what a real run writes,
//! `--json` counts equal to the lake's, log formats, exit codes and shell
//! completions.

use crate::support::common;
use crate::support::events;
use crate::support::servers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use serde_json::{json, Value};
use servers::{Aws, FaultProxy, Server};

const API_KEY: &str = "ops-api-key-0123456789";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `summary-uploader --component … --cache-dir CACHE ARGS` (no AWS).
fn local(args: &[&str], cache: &Path) -> Output {
    crate::support::common::uploader_command()
        .arg("--component")
        .arg(common::component_path())
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SUMMARY_LOG_FORMAT")
        .output()
        .unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            text(&out.stdout)
        )
    })
}

/// A scrape of `url`, as `prometheus_client.parser` read it.
struct Scrape {
    families: BTreeMap<String, String>,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    fn of(url: &str) -> Scrape {
        let out = servers::python("scrape_metrics.py")
            .arg(url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the parser refused {url}: {}",
            text(&out.stderr)
        );
        let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            parsed["content_type"]
                .as_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4"),
            "{parsed}"
        );
        Scrape {
            families: serde_json::from_value(parsed["families"].clone()).unwrap(),
            samples: parsed["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap().to_string(),
                        serde_json::from_value(s["labels"].clone()).unwrap(),
                        s["value"].as_f64().unwrap(),
                    )
                })
                .collect(),
        }
    }

    /// The sample `name` whose labels include `labels`; 0 when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?}: {found:?}");
        found.first().copied().unwrap_or(0.0) as u64
    }

    fn record(&self, outcome: &str) -> u64 {
        self.value("summary_records_total", &[("outcome", outcome)])
    }
}

/// What the lake under `root` holds: runs landed (manifests), dead
/// letters and Parquet objects.
fn lake_counts(root: &Path) -> (u64, u64, u64) {
    let files = files_under(root);
    let count = |f: &dyn Fn(&str) -> bool| files.keys().filter(|k| f(k)).count() as u64;
    (
        count(&|k| k.starts_with("_manifests/")),
        count(&|k| k.starts_with("_errors/")),
        count(&|k| k.ends_with(".parquet")),
    )
}

/// Every file under `root` (hidden ones left out), relative path to bytes.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let key = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                out.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn assert_scrape_matches_lake(scrape: &Scrape, lake: &Path, events: u64) {
    let (landed, dead_lettered, parquet) = lake_counts(lake);
    assert!(landed > 0);
    assert_eq!(scrape.value("summary_events_total", &[]), events);
    assert_eq!(scrape.record("landed"), landed);
    assert_eq!(scrape.record("dead_lettered"), dead_lettered);
    assert_eq!(scrape.record("failed"), 0);
    assert_eq!(
        scrape.value("summary_lake_objects_written_total", &[("type", "parquet")]),
        parquet
    );
    assert_eq!(
        scrape.value(
            "summary_lake_objects_written_total",
            &[("type", "dead_letter")]
        ),
        dead_lettered
    );
    let parquet_bytes: u64 = files_under(lake)
        .iter()
        .filter(|(k, _)| k.ends_with(".parquet"))
        .map(|(_, v)| v.len() as u64)
        .sum();
    assert_eq!(
        scrape.value("summary_lake_written_bytes_total", &[("type", "parquet")]),
        parquet_bytes
    );
    assert_eq!(
        scrape.value("summary_event_duration_seconds_count", &[]),
        events,
        "one latency per event"
    );
    assert!(scrape.value("summary_conversion_duration_seconds_count", &[]) >= landed);
    for (family, kind) in [
        ("summary_records", "counter"),
        ("summary_lake_written_bytes", "counter"),
        ("summary_retries", "counter"),
        ("summary_event_duration_seconds", "histogram"),
        ("summary_events_in_flight", "gauge"),
    ] {
        assert_eq!(
            scrape.families.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
}

#[test]
fn serve_metrics_count_what_was_sent_during_and_after_a_run() {
    let aws = Aws::start();
    let mut keys = aws.put_fixture_sources();
    aws.put_source("summary2/SRR999999.summary", b"not a summary\n");
    keys.push("summary2/SRR999999.summary".into());
    let serve: Server = servers::serve(
        &aws,
        &["--dest", "s3://lake/ops", "--no-glue", "--workers", "2"],
        API_KEY,
        &[],
    );
    let metrics = format!("{}/metrics", serve.url());
    let lake = aws.lake_dir().join("ops");

    let before = Scrape::of(&metrics);
    assert_eq!(
        before.record("landed"),
        0,
        "no API key needed, zeros before any event"
    );

    let (first, second) = keys.split_at(keys.len() / 2);
    for key in first {
        let (status, body) = events::post(
            &serve.url(),
            &[("x-api-key", API_KEY)],
            &events::s3_event(std::slice::from_ref(key)),
        );
        assert_eq!(status, 200, "{body}");
    }
    let during = Scrape::of(&metrics);
    assert_scrape_matches_lake(&during, &lake, first.len() as u64);
    assert_eq!(during.record("landed"), first.len() as u64);

    // The rest in one event, scraped while it is worked on.
    let url = serve.url();
    let event = events::s3_event(second);
    let poster = std::thread::spawn(move || events::post(&url, &[("x-api-key", API_KEY)], &event));
    let mut scrapes = 0;
    let mut seen_in_flight = false;
    while !poster.is_finished() {
        let scrape = Scrape::of(&metrics);
        assert!(scrape.record("landed") >= during.record("landed"));
        seen_in_flight |= scrape.value("summary_events_in_flight", &[]) == 1;
        scrapes += 1;
    }
    let (status, body) = poster.join().unwrap();
    assert_eq!(status, 200, "a dead letter is an answer too: {body}");
    assert!(
        scrapes > 0 && seen_in_flight,
        "scraped {scrapes} times while the event ran"
    );

    let after = Scrape::of(&metrics);
    assert_scrape_matches_lake(&after, &lake, first.len() as u64 + 1);
    assert_eq!(after.record("landed"), keys.len() as u64 - 1);
    assert_eq!(after.record("dead_lettered"), 1);
    assert_eq!(after.value("summary_events_in_flight", &[]), 0);
}

fn sqs_call(aws: &Aws, action: &str, body: Value) -> Value {
    let (status, answer) = aws.sqs_call(action, body);
    assert_eq!(status, 200, "{action}: {answer}");
    answer
}

fn send(aws: &Aws, queue: &str, keys: &[String]) {
    for chunk in keys.chunks(10) {
        let entries: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, key)| json!({"Id": format!("e{i}"), "MessageBody": events::s3_event(std::slice::from_ref(key)).to_string()}))
            .collect();
        sqs_call(
            aws,
            "SendMessageBatch",
            json!({"QueueUrl": queue, "Entries": entries}),
        );
    }
}

fn wait_until(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn consume_sqs_metrics_count_what_was_sent() {
    let aws = Aws::start();
    let proxy = FaultProxy::serializing(aws.glue.port);
    let keys = aws.put_fixture_sources();
    let queue = sqs_call(
        &aws,
        "CreateQueue",
        json!({"QueueName": "ops", "Attributes": {"VisibilityTimeout": "30"}}),
    )["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let port = servers::free_port();
    let child = servers::uploader(&aws)
        .env("AWS_ENDPOINT_URL_SQS", proxy.url())
        .args([
            "consume-sqs",
            "--queue-url",
            &queue,
            "--dest",
            "s3://lake/ops",
            "--no-glue",
        ])
        .args([
            "--wait",
            "1",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let consumer = Server { child, port };
    let metrics = format!("{}/metrics", consumer.url());
    let lake = aws.lake_dir().join("ops");
    let landed = |n: u64| Scrape::of(&metrics).record("landed") == n;

    wait_until(30, "the metrics listener", || servers::listening(port));
    assert_eq!(Scrape::of(&metrics).record("landed"), 0);
    let (first, second) = keys.split_at(keys.len() / 2);
    send(&aws, &queue, first);
    wait_until(120, "the first half to land", || landed(first.len() as u64));
    assert_scrape_matches_lake(&Scrape::of(&metrics), &lake, first.len() as u64);
    send(&aws, &queue, second);
    wait_until(120, "every message to land", || landed(keys.len() as u64));
    assert_scrape_matches_lake(&Scrape::of(&metrics), &lake, keys.len() as u64);
    assert_eq!(Scrape::of(&metrics).record("dead_lettered"), 0);
}

/// The fixtures of `kind` as a backfill index, and their folder.
fn index_of(kind: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let runs: Vec<String> = common::fixture_files(kind)
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let index = dir.join(format!("{kind}.txt"));
    std::fs::write(&index, runs.join("\n") + "\n").unwrap();
    (index, common::fixtures().join(kind))
}

/// The `put KEY BYTES` and `delete KEY` lines of a dry run's JSON.
fn changes(document: &Value) -> (BTreeMap<String, u64>, BTreeSet<String>) {
    let mut puts = BTreeMap::new();
    let mut deletes = BTreeSet::new();
    for line in document["changes"].as_array().unwrap() {
        let line = line.as_str().unwrap();
        match line.split(' ').collect::<Vec<_>>()[..] {
            ["put", key, bytes] => {
                puts.insert(key.to_string(), bytes.parse().unwrap());
            }
            ["delete", key] => {
                deletes.insert(key.to_string());
            }
            _ => panic!("unexpected change line {line:?}"),
        }
    }
    (puts, deletes)
}

#[test]
fn dry_runs_write_nothing_and_list_what_a_real_run_writes() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let lake = scratch.path().join("lake");
    let dest = lake.to_str().unwrap();
    let (index, source) = index_of("nucleotide", scratch.path());
    let backfill = |extra: &[&str]| {
        let mut args = vec![
            "backfill",
            "--index",
            index.to_str().unwrap(),
            "--source",
            source.to_str().unwrap(),
            "--kind",
            "nucleotide",
            "--dest",
            dest,
            "--batch-runs",
            "7",
            "--json",
        ];
        args.extend(extra);
        local(&args, &cache)
    };

    // backfill: the dry run writes nothing, and lists exactly what the real run writes.
    let dry = ok_json(&backfill(&["--dry-run"]));
    assert_eq!(dry["dry_run"], true);
    assert!(
        files_under(&lake).is_empty(),
        "a dry run wrote {:?}",
        files_under(&lake).keys()
    );
    let (puts, deletes) = changes(&dry);
    assert!(deletes.is_empty());
    let real = ok_json(&backfill(&[]));
    assert_eq!(real["dry_run"], false);
    let written = files_under(&lake);
    assert_eq!(
        puts.keys().collect::<Vec<_>>(),
        written.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in &written {
        if key.ends_with(".parquet") {
            assert_eq!(puts[key], bytes.len() as u64, "{key}");
        }
    }
    // Its JSON counts are the lake's, and the dry run's are the same.
    let (landed, _, parquet) = lake_counts(&lake);
    for document in [&dry, &real] {
        assert_eq!(document["report"]["runs_landed"], landed);
        assert_eq!(document["metrics"]["records"]["landed"], landed);
        assert_eq!(
            document["metrics"]["lake_objects_written"]["parquet"],
            parquet
        );
        assert_eq!(
            document["metrics"]["lake_objects_written"]["manifest"],
            landed
        );
    }

    // compact merges per-run objects (what events, or replays of one file
    // per batch, write): the dry run leaves every byte, and lists what
    // compaction changes.
    let lake = scratch.path().join("per-run");
    let dest = lake.to_str().unwrap();
    let replayed = local(
        &[
            "replay",
            source.to_str().unwrap(),
            "--dest",
            dest,
            "--batch",
            "1",
            "--json",
        ],
        &cache,
    );
    ok_json(&replayed);
    let before = files_under(&lake);
    // --min-files 1: in the run-bucket layout most of the fixtures' buckets
    // hold one run.
    let compact = |extra: &[&str]| {
        let mut args = vec!["compact", "--dest", dest, "--json", "--min-files", "1"];
        args.extend(extra);
        local(&args, &cache)
    };
    let dry = ok_json(&compact(&["--dry-run"]));
    assert_eq!(
        files_under(&lake),
        before,
        "compact --dry-run changed the lake"
    );
    let (puts, deletes) = changes(&dry);
    assert!(puts.keys().any(|k| k.contains("/compact-")), "{dry}");
    assert!(deletes.len() > 20, "{dry}");
    let real = ok_json(&compact(&[]));
    let after = files_under(&lake);
    let gone: BTreeSet<String> = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(deletes, gone);
    assert_eq!(puts.keys().cloned().collect::<BTreeSet<_>>(), changed);
    assert_eq!(
        real["report"]["nucleotide"]["merged"],
        dry["report"]["nucleotide"]["merged"]
    );

    // clear: refused without --yes (exit 3), listed with --dry-run, gone with --yes.
    let refused = local(&["clear", "--dest", dest, "--kind", "nucleotide"], &cache);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
    let dry = local(
        &["clear", "--dest", dest, "--kind", "nucleotide", "--dry-run"],
        &cache,
    );
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert_eq!(
        files_under(&lake),
        after,
        "clear --dry-run deleted something"
    );
    let listed: BTreeSet<String> = text(&dry.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("delete "))
        .map(str::to_string)
        .collect();
    // Everything of the kind; the lake's descriptor stays.
    let of_kind: BTreeSet<String> = after
        .keys()
        .filter(|k| *k != "_lake.json")
        .cloned()
        .collect();
    assert_eq!(listed, of_kind);
    let cleared = local(
        &["clear", "--dest", dest, "--kind", "nucleotide", "--yes"],
        &cache,
    );
    assert_eq!(cleared.status.code(), Some(0), "{}", text(&cleared.stderr));
    assert_eq!(
        files_under(&lake).into_keys().collect::<Vec<_>>(),
        ["_lake.json"]
    );
}

#[test]
fn replay_json_counts_equal_the_lake() {
    let scratch = tempfile::tempdir().unwrap();
    let lake = scratch.path().join("lake");
    let out = local(
        &[
            "replay",
            common::fixtures().to_str().unwrap(),
            "--dest",
            lake.to_str().unwrap(),
            "--json",
        ],
        &scratch.path().join("cache"),
    );
    let document = ok_json(&out);
    let (landed, dead_lettered, parquet) = lake_counts(&lake);
    assert_eq!(document["report"]["converted"], landed);
    assert_eq!(document["report"]["failed"], dead_lettered);
    assert_eq!(document["report"]["objects_written"], parquet);
    assert_eq!(document["metrics"]["records"]["landed"], landed);
    assert_eq!(
        document["metrics"]["lake_objects_written"]["parquet"],
        parquet
    );
    let bytes: u64 = files_under(&lake)
        .iter()
        .filter(|(k, _)| k.ends_with(".parquet"))
        .map(|(_, v)| v.len() as u64)
        .sum();
    assert_eq!(document["metrics"]["lake_written_bytes"]["parquet"], bytes);
    assert_eq!(document["report"]["bytes_out"], bytes);
}

#[test]
fn logs_carry_no_escapes_off_a_terminal_and_json_logs_are_one_object_per_line() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let replay = |lake: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut command = crate::support::common::uploader_command();
        command
            .arg("--component")
            .arg(common::component_path())
            .arg("--cache-dir")
            .arg(&cache)
            .args([
                "replay",
                common::fixtures().join("rdrp").to_str().unwrap(),
                "--dest",
            ])
            .arg(scratch.path().join(lake))
            .args(extra)
            .env_remove("RUST_LOG")
            .env_remove("SUMMARY_LOG_FORMAT")
            .env_remove("NO_COLOR")
            .envs(env.iter().copied());
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stderr)
    };

    let logs = replay("text", &["-v"], &[]);
    assert!(logs.contains(" INFO "), "-v logs at info: {logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "escape sequences off a terminal: {logs:?}"
    );

    for (lake, extra, env) in [
        ("json-flag", &["-vv", "--log-format", "json"][..], &[][..]),
        (
            "json-env",
            &["-v"][..],
            &[("SUMMARY_LOG_FORMAT", "json")][..],
        ),
        (
            "json-rust-log",
            &["-q"][..],
            &[("SUMMARY_LOG_FORMAT", "json"), ("RUST_LOG", "info")][..],
        ),
    ] {
        let logs = replay(lake, extra, env);
        let lines: Vec<&str> = logs.lines().collect();
        assert!(lines.len() >= 2, "{lake}: {logs}");
        for line in lines {
            let object: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{lake}: not a JSON object ({e}): {line}"));
            assert!(object["timestamp"].is_string(), "{line}");
            assert!(object["level"].is_string(), "{line}");
            assert!(object["message"].is_string(), "{line}");
        }
        assert!(
            logs.contains("\"message\":\"batch stored\""),
            "{lake}: {logs}"
        );
    }

    assert_eq!(replay("quiet", &["-q"], &[]), "", "-q: errors only");
}

#[test]
fn completions_name_every_command_and_usage_errors_exit_2() {
    let commands: Vec<String> = summary_uploader::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(commands.len() >= 11, "{commands:?}");
    for shell in ["bash", "zsh"] {
        let out = crate::support::common::uploader_command()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        for command in &commands {
            assert!(script.contains(command.as_str()), "{shell}: no {command}");
        }
        for kind in ["nucleotide", "protein", "rdrp"] {
            assert!(script.contains(kind), "{shell}: --kind values: no {kind}");
        }
    }

    let out = crate::support::common::uploader_command()
        .args(["clear", "--kind", "dna", "--dest", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("[possible values: nucleotide, protein, rdrp]"),
        "{}",
        text(&out.stderr)
    );
    let help = crate::support::common::uploader_command()
        .args(["backfill", "--help"])
        .output()
        .unwrap();
    let help = text(&help.stdout);
    for value in ["- nucleotide:", "- protein:", "- rdrp:"] {
        assert!(help.contains(value), "backfill --help: no {value}\n{help}");
    }
}
