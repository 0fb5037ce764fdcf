//! `backfill`, `compact` and `clear` end to end: local folders, and S3
//! (s3s-fs) with S3 events and Glue (moto) in between.

use crate::support::common;
use crate::support::events;
use crate::support::servers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;

use serde_json::Value;
use servers::{Aws, Fault, FaultProxy};

/// `kind/table` of every table of the lake.
fn tables() -> Vec<String> {
    summary_lake::catalog::TABLES
        .iter()
        .map(|t| format!("{}/{}", t.kind, t.name))
        .collect()
}

fn local(args: &[&str], cache: &Path) -> Output {
    crate::support::common::uploader_command()
        .arg("--component")
        .arg(common::component_path())
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .unwrap()
}

fn on_aws(aws: &Aws, args: &[&str], env: &[(&str, &str)]) -> Output {
    servers::uploader(aws)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// `handle-event FILE --dest DEST --no-glue`, which must land everything.
fn handle_event(aws: &Aws, event_file: &Path, dest: &str) -> String {
    let file = event_file.to_str().unwrap();
    ok(&on_aws(
        aws,
        &["handle-event", file, "--dest", dest, "--no-glue"],
        &[],
    ))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    stdout
}

/// The runs of the fixtures of a kind, as an index file's lines.
fn write_index(path: &Path, runs: &[String]) {
    std::fs::write(path, runs.join("\n") + "\n").unwrap();
}

/// Every row of every table of the lake at `dir` (partition columns from
/// the path), each row as text, sorted: equal dumps mean the same rows.
fn rows(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let out = servers::python("lake_rows.py")
        .arg(dir)
        .args(tables())
        .output()
        .unwrap();
    assert!(out.status.success(), "duckdb: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn total(rows: &BTreeMap<String, Vec<String>>) -> usize {
    rows.values().map(Vec::len).sum()
}

/// The rows of `rows` without those of `run` (the first column is `sra`).
fn without(rows: &BTreeMap<String, Vec<String>>, run: &str) -> BTreeMap<String, Vec<String>> {
    let prefix = format!("[\"{run}\",");
    rows.iter()
        .map(|(t, r)| {
            (
                t.clone(),
                r.iter()
                    .filter(|r| !r.starts_with(&prefix))
                    .cloned()
                    .collect(),
            )
        })
        .collect()
}

fn only(rows: &BTreeMap<String, Vec<String>>, run: &str) -> BTreeMap<String, Vec<String>> {
    let prefix = format!("[\"{run}\",");
    rows.iter()
        .map(|(t, r)| {
            (
                t.clone(),
                r.iter()
                    .filter(|r| r.starts_with(&prefix))
                    .cloned()
                    .collect(),
            )
        })
        .collect()
}

/// Every file under `dir` (hidden ones aside), relative path to bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let key = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The lake is consistent: every object a manifest lists exists and holds
/// that run's rows, and every run an object holds lists it.
fn assert_manifests_match_objects(lake: &Path, kind: &str) {
    let out = servers::python("object_runs.py")
        .arg(lake)
        .arg(kind)
        .output()
        .unwrap();
    assert!(out.status.success(), "duckdb: {}", text(&out.stderr));
    let held: BTreeSet<(String, String)> =
        serde_json::from_slice::<Vec<(String, String)>>(&out.stdout)
            .unwrap()
            .into_iter()
            .collect();
    let mut listed = BTreeSet::new();
    let manifests = lake.join("_manifests").join(kind);
    for entry in std::fs::read_dir(&manifests).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        let manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(manifest["complete"], true, "{}", path.display());
        let run = manifest["run"].as_str().unwrap().to_string();
        for object in manifest["objects"].as_array().unwrap() {
            listed.insert((object.as_str().unwrap().to_string(), run.clone()));
        }
    }
    let not_listed: Vec<_> = held.difference(&listed).collect();
    let not_held: Vec<_> = listed.difference(&held).collect();
    assert!(
        not_listed.is_empty(),
        "rows in objects their run's manifest does not list: {not_listed:?}"
    );
    assert!(
        not_held.is_empty(),
        "manifests list objects without the run's rows: {not_held:?}"
    );
}

#[test]
fn backfill_of_the_fixtures_equals_their_replay_row_for_row() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let lake = scratch.path().join("backfilled");
    for kind in ["nucleotide", "protein", "rdrp"] {
        let mut runs = common::fixture_runs(kind);
        if kind == "nucleotide" {
            runs.push("SRR404".into());
            runs.push("not-a-run".into());
        }
        let index = scratch.path().join(format!("{kind}.txt"));
        write_index(&index, &runs);
        let source = common::fixtures().join(kind);
        let out = local(
            &[
                "backfill",
                "--index",
                index.to_str().unwrap(),
                "--source",
                source.to_str().unwrap(),
                "--kind",
                kind,
                "--dest",
                lake.to_str().unwrap(),
                "--batch-runs",
                "7",
            ],
            &cache,
        );
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        if kind == "nucleotide" {
            assert_eq!(
                out.status.code(),
                Some(1),
                "a run failed\n{stdout}\n{stderr}"
            );
            assert!(
                stderr.contains(&format!(
                    "{}:22: \"not-a-run\" is not an SRA run accession",
                    index.display()
                )),
                "{stderr}"
            );
            assert!(
                stderr.contains("SRR404.summary: not found (run SRR404 of the index)"),
                "{stderr}"
            );
            assert!(
                stdout.contains("20 runs landed, 0 kept (an S3 event landed them), 1 failed"),
                "{stdout}"
            );
            let dead: Value = serde_json::from_slice(
                &std::fs::read(lake.join("_errors/nucleotide/SRR404.json")).unwrap(),
            )
            .unwrap();
            assert!(
                dead["error"].as_str().unwrap().contains("not found"),
                "{dead}"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
            let batches = common::backfill_batches(kind, &runs, 7, (0, 1));
            assert!(
                stdout.contains(&format!("backfilled {batches} batches (0 already done)")),
                "{stdout}"
            );
            assert!(stdout.contains("20 runs landed"), "{stdout}");
        }
    }
    let replayed = scratch.path().join("replayed");
    ok(&local(
        &[
            "replay",
            common::fixtures().to_str().unwrap(),
            "--lake",
            replayed.to_str().unwrap(),
        ],
        &cache,
    ));

    let backfilled_rows = rows(&lake);
    assert_eq!(total(&backfilled_rows), 5616);
    assert_eq!(backfilled_rows["nucleotide/sequence"].len(), 1089);
    assert_eq!(backfilled_rows["rdrp/sequence"].len(), 3219);
    assert_eq!(
        backfilled_rows,
        rows(&replayed),
        "backfill and replay hold the same rows"
    );

    // one object per (table, partition) per batch, named after the batch
    let objects: Vec<String> = snapshot(&lake)
        .into_keys()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    assert!(
        objects
            .iter()
            .all(|k| k.rsplit('/').next().unwrap().starts_with("backfill-")),
        "{objects:?}"
    );
    let batches: BTreeSet<&str> = objects
        .iter()
        .map(|k| k.rsplit('/').next().unwrap())
        .collect();
    let planned: usize = ["nucleotide", "protein", "rdrp"]
        .iter()
        .map(|kind| {
            // SRR404 is missing: a batch of it alone (its own bucket) writes
            // no object, and with the others it changes no slice's count.
            common::backfill_batches(kind, &common::fixture_runs(kind), 7, (0, 1))
        })
        .sum();
    assert_eq!(
        batches.len(),
        planned,
        "the batches of each kind: {batches:?}"
    );
    for kind in ["nucleotide", "protein", "rdrp"] {
        assert_manifests_match_objects(&lake, kind);
    }

    // row groups hold whole runs and never share one (groups are cut by size
    // at run boundaries), so min/max statistics single out a run's group
    let out = servers::python("row_groups.py")
        .arg(&lake)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "[]",
        "runs in several row groups, or in none"
    );
}

#[test]
fn an_interrupted_backfill_resumes_where_it_stopped() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let corpus = scratch.path().join("corpus");
    ok(&local(
        &[
            "gen-corpus",
            "--seed",
            "7",
            "--files",
            "150",
            "--out",
            corpus.to_str().unwrap(),
        ],
        &cache,
    ));
    let source = corpus.join("nucleotide");
    let mut runs: Vec<String> = std::fs::read_dir(&source)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".summary")
                .to_string()
        })
        .collect();
    runs.sort();
    assert!(runs.len() >= 30, "{} nucleotide runs", runs.len());
    let index = scratch.path().join("index.txt");
    write_index(&index, &runs);
    let backfill = |lake: &Path| -> Vec<String> {
        vec![
            "backfill".into(),
            "--index".into(),
            index.display().to_string(),
            "--source".into(),
            source.display().to_string(),
            "--kind".into(),
            "nucleotide".into(),
            "--dest".into(),
            lake.display().to_string(),
            "--batch-runs".into(),
            "4".into(),
            "--jobs".into(),
            "1".into(),
        ]
    };
    let planned = summary_plan::backfill::plan_batches(
        summary_lake::Kind::Nucleotide,
        common::lake_layout(),
        &runs,
        4,
        0,
        1,
    );
    let batches = planned.len();
    // The run of the 4th batch is made to block; the three before it land.
    let stuck_run = planned[3].runs[0].clone();
    let landed_before: usize = planned[..3].iter().map(|b| b.runs.len()).sum();

    let clean = scratch.path().join("clean");
    let args = backfill(&clean);
    ok(&local(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &cache,
    ));

    // The run of the 4th batch is a FIFO nobody writes: the backfill stops
    // there, reading, with three batches done; then it is killed.
    let stuck = source.join(format!("{stuck_run}.summary"));
    let saved = std::fs::read(&stuck).unwrap();
    std::fs::remove_file(&stuck).unwrap();
    let status = Command::new("mkfifo").arg(&stuck).status().unwrap();
    assert!(status.success(), "mkfifo");
    let lake = scratch.path().join("interrupted");
    let args = backfill(&lake);
    let mut child = crate::support::common::uploader_command()
        .arg("--component")
        .arg(common::component_path())
        .arg("--cache-dir")
        .arg(&cache)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoints = lake.join("_backfill/nucleotide");
    let count = || {
        std::fs::read_dir(&checkpoints)
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count() < 3 {
        assert!(std::time::Instant::now() < deadline, "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backfill ended early"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(count(), 3, "stopped in the 4th batch");
    std::fs::remove_file(&stuck).unwrap();
    std::fs::write(&stuck, saved).unwrap();

    let resumed = ok(&local(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &cache,
    ));
    assert!(
        resumed.contains(&format!("backfilled {batches} batches (3 already done)")),
        "{resumed}"
    );
    assert!(
        resumed.contains(&format!("{} runs landed", runs.len() - landed_before)),
        "{resumed}"
    );
    assert_eq!(
        snapshot(&lake),
        snapshot(&clean),
        "the resumed backfill equals an uninterrupted one"
    );

    // a finished backfill re-run does nothing
    let again = ok(&local(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &cache,
    ));
    assert!(
        again.contains(&format!("({batches} already done)")) && again.contains("0 objects"),
        "{again}"
    );
}

#[test]
fn shards_together_equal_the_unsharded_backfill() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let index = scratch.path().join("index.txt");
    write_index(&index, &common::fixture_runs("rdrp"));
    let source = common::fixtures().join("rdrp");
    let backfill = |lake: &Path, shard: &str| {
        let out = local(
            &[
                "backfill",
                "--index",
                index.to_str().unwrap(),
                "--source",
                source.to_str().unwrap(),
                "--kind",
                "rdrp",
                "--dest",
                lake.to_str().unwrap(),
                "--batch-runs",
                "3",
                "--shard",
                shard,
            ],
            &cache,
        );
        ok(&out)
    };
    let runs = common::fixture_runs("rdrp");
    let whole = scratch.path().join("whole");
    let all = common::backfill_batches("rdrp", &runs, 3, (0, 1));
    assert!(backfill(&whole, "0/1").contains(&format!("backfilled {all} batches")));
    let sharded = scratch.path().join("sharded");
    for shard in 0..3 {
        let batches = common::backfill_batches("rdrp", &runs, 3, (shard, 3));
        let out = backfill(&sharded, &format!("{shard}/3"));
        assert!(
            out.contains(&format!("backfilled {batches} batches (0 already done)")),
            "{out}"
        );
    }
    let (a, b) = (snapshot(&whole), snapshot(&sharded));
    assert!(
        a.keys().any(|k| k.starts_with("rdrp/sequence/")),
        "{:?}",
        a.keys()
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert!(
        a == b,
        "the three shards wrote exactly the unsharded backfill's bytes"
    );
}

/// A nucleotide summary of `run` with fewer rows: its header and first
/// `lines` lines.
fn shortened(run_file: &Path, lines: usize) -> Vec<u8> {
    let text = std::fs::read_to_string(run_file).unwrap();
    let kept: Vec<&str> = text.lines().take(lines).collect();
    (kept.join("\n") + "\n").into_bytes()
}

#[test]
fn a_run_replaced_after_backfill_leaves_its_batch_objects_and_an_earlier_event_wins_over_backfill()
{
    let aws = Aws::start();
    aws.put_fixture_sources();
    let runs = common::fixture_runs("nucleotide");
    aws.put_source("index/nucleotide.txt", (runs.join("\n") + "\n").as_bytes());
    let scratch = tempfile::tempdir().unwrap();
    let dest = "s3://lake/serratus";
    let lake = aws.lake_dir().join("serratus");

    // An event lands SRR612821 before the backfill.
    let early = "SRR612821";
    let event = events::s3_event(&[format!("summary2/{early}.summary")]);
    let event_file = scratch.path().join("early.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    handle_event(&aws, &event_file, dest);

    let backfill = [
        "backfill",
        "--index",
        "s3://src/index/nucleotide.txt",
        "--source",
        "s3://src/summary2",
        "--kind",
        "nucleotide",
        "--dest",
        dest,
        "--batch-runs",
        "8",
    ];
    let out = ok(&on_aws(&aws, &backfill, &[]));
    assert!(
        out.contains("19 runs landed, 1 kept (an S3 event landed them), 0 failed"),
        "{out}"
    );
    let before = rows(&lake);
    assert_eq!(before["nucleotide/sequence"].len(), 1089, "every row once");
    assert_eq!(before["nucleotide/sra"].len(), 20);
    assert_manifests_match_objects(&lake, "nucleotide");
    let (status, table) = aws.glue_call(
        "GetTable",
        serde_json::json!({"DatabaseName": "summary", "Name": "nfamily"}),
    );
    assert_eq!(status, 200, "{table}");

    // DRR11074882 (in the first batch) is replaced: a newer version, fewer rows.
    let replaced = "DRR11074882";
    let original = common::fixtures()
        .join("nucleotide")
        .join(format!("{replaced}.summary"));
    let new_version = shortened(&original, 6);
    aws.put_source(&format!("summary2/{replaced}.summary"), &new_version);
    let expected_dir = scratch.path().join("expected");
    std::fs::create_dir_all(expected_dir.join("nucleotide")).unwrap();
    std::fs::write(
        expected_dir.join(format!("nucleotide/{replaced}.summary")),
        &new_version,
    )
    .unwrap();
    ok(&local(
        &[
            "replay",
            expected_dir.to_str().unwrap(),
            "--lake",
            scratch.path().join("expected-lake").to_str().unwrap(),
        ],
        &scratch.path().join("cache"),
    ));
    let expected_rows = rows(&scratch.path().join("expected-lake"));
    assert!(
        total(&expected_rows) < total(&only(&before, replaced)),
        "the new version has fewer rows"
    );

    let batch_objects_before: BTreeSet<String> = snapshot(&lake)
        .into_keys()
        .filter(|k| k.contains("/backfill-"))
        .collect();
    let mut event = events::s3_event(&[format!("summary2/{replaced}.summary")]);
    event["Records"][0]["s3"]["object"]["sequencer"] = "02".into();
    event["Records"][0]["s3"]["object"]["eTag"] = "e2".into();
    std::fs::write(&event_file, event.to_string()).unwrap();
    let report = ok(&on_aws(
        &aws,
        &["handle-event", event_file.to_str().unwrap(), "--dest", dest],
        &[],
    ));
    assert!(report.contains("\"landed\""), "{report}");

    let after = rows(&lake);
    assert_eq!(
        without(&after, replaced),
        without(&before, replaced),
        "other runs' rows are intact"
    );
    assert_eq!(
        only(&after, replaced),
        expected_rows,
        "the run holds exactly its new rows"
    );
    assert_manifests_match_objects(&lake, "nucleotide");
    let batch_objects_after: BTreeSet<String> = snapshot(&lake)
        .into_keys()
        .filter(|k| k.contains("/backfill-"))
        .collect();
    assert!(
        batch_objects_after.is_subset(&batch_objects_before),
        "batch objects keep their keys"
    );
    assert!(
        batch_objects_after.len() < batch_objects_before.len(),
        "objects only the run had are gone"
    );
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(lake.join(format!("_manifests/nucleotide/{replaced}.json"))).unwrap(),
    )
    .unwrap();
    assert!(
        manifest["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.as_str().unwrap().contains(&format!("/{replaced}-"))),
        "{manifest}"
    );

    // The redelivered event and a re-run backfill change nothing.
    let again = ok(&on_aws(
        &aws,
        &["handle-event", event_file.to_str().unwrap(), "--dest", dest],
        &[],
    ));
    assert!(again.contains("already-done"), "{again}");
    let redo: Vec<&str> = backfill.iter().copied().chain(["--redo"]).collect();
    let out = ok(&on_aws(&aws, &redo, &[]));
    assert!(out.contains("18 runs landed, 2 kept"), "{out}");
    assert_eq!(rows(&lake), after);

    // clear: nothing without --yes; then the kind's objects, manifests and Glue tables go.
    let out = on_aws(
        &aws,
        &["clear", "--dest", dest, "--kind", "nucleotide"],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("would delete 20 objects under s3://lake/serratus/_manifests/nucleotide/"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(rows(&lake), after, "nothing deleted without --yes");
    let out = ok(&on_aws(
        &aws,
        &["clear", "--dest", dest, "--kind", "nucleotide", "--yes"],
        &[],
    ));
    assert!(
        out.contains("dropped Glue tables nsra, nfamily, nsequence"),
        "{out}"
    );
    let left: Vec<String> = snapshot(&lake)
        .into_keys()
        .filter(|k| k.contains("nucleotide"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let (status, answer) = aws.glue_call(
        "GetTable",
        serde_json::json!({"DatabaseName": "summary", "Name": "nfamily"}),
    );
    assert_eq!(
        (
            status,
            answer["__type"]
                .as_str()
                .unwrap_or_default()
                .ends_with("EntityNotFoundException")
        ),
        (400, true),
        "{answer}"
    );
}

#[test]
fn compaction_interrupted_at_each_step_then_rerun_loses_and_doubles_nothing() {
    let aws = Aws::start();
    let keys: Vec<String> = aws
        .put_fixture_sources()
        .into_iter()
        .filter(|k| k.starts_with("psummary/"))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let event_file = scratch.path().join("event.json");
    std::fs::write(&event_file, events::s3_event(&keys).to_string()).unwrap();
    let dest = "s3://lake/serratus";
    let lake = aws.lake_dir().join("serratus");
    let land = || handle_event(&aws, &event_file, dest);
    land();
    let expected = rows(&lake);
    assert_eq!(expected["protein/sequence"].len(), 299);
    let per_run_objects = snapshot(&lake)
        .keys()
        .filter(|k| k.ends_with(".parquet"))
        .count();

    let compact = ["compact", "--dest", dest, "--kind", "protein", "--no-glue"];
    // (what fails, the request) for each step of a chunk
    type Matcher = fn(&str, &str) -> bool;
    let steps: [(&str, Matcher); 5] = [
        ("journal written", |m, p| {
            m == "PUT" && p.contains("/_compaction/")
        }),
        ("output written", |m, p| {
            m == "PUT" && p.contains("/compact-")
        }),
        ("manifests updated", |m, p| {
            m == "PUT" && p.contains("/_manifests/")
        }),
        ("per-run objects deleted", |m, p| {
            m == "DELETE" && p.ends_with(".parquet")
        }),
        ("journal deleted", |m, p| {
            m == "DELETE" && p.contains("/_compaction/")
        }),
    ];
    for (step, matches) in steps {
        eprintln!("compaction failing at: {step}");
        let proxy = FaultProxy::start(aws.s3.port, move |method, path, _| {
            matches(method, path).then_some(Fault::Status(500))
        });
        let out = on_aws(
            &aws,
            &compact,
            &[("AWS_ENDPOINT_URL_S3", proxy.url().as_str())],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "{step}: the compaction stops\n{}",
            text(&out.stderr)
        );
        assert!(proxy.faults_served.load(Ordering::SeqCst) > 0, "{step}");
        drop(proxy);

        let out = ok(&on_aws(&aws, &compact, &[]));
        assert!(out.contains("compacted protein"), "{step}: {out}");
        assert_eq!(
            rows(&lake),
            expected,
            "{step}: every row once after the re-run"
        );
        assert_manifests_match_objects(&lake, "protein");
        let files = snapshot(&lake);
        assert!(
            !files.keys().any(|k| k.starts_with("_compaction/")),
            "{step}: no journal left"
        );
        let objects = files.keys().filter(|k| k.ends_with(".parquet")).count();
        assert!(
            objects < per_run_objects,
            "{step}: {objects} objects from {per_run_objects}"
        );
        let again = ok(&on_aws(&aws, &compact, &[]));
        assert!(
            again.contains("0 runs merged into 0 objects"),
            "{step}: {again}"
        );

        ok(&on_aws(
            &aws,
            &[
                "clear",
                "--dest",
                dest,
                "--kind",
                "protein",
                "--yes",
                "--no-glue",
            ],
            &[],
        ));
        // Clearing a kind leaves the lake, and its descriptor.
        let left: Vec<String> = snapshot(&lake).into_keys().collect();
        assert_eq!(left, ["_lake.json"], "{step}: cleared");
        land();
    }
}

#[test]
fn an_event_landing_while_its_backfill_batch_is_in_flight_wins() {
    let aws = Aws::start();
    aws.put_fixture_sources();
    let scratch = tempfile::tempdir().unwrap();
    let runs = common::fixture_runs("nucleotide");
    let index = scratch.path().join("index.txt");
    write_index(&index, &runs);
    // The backfill reads a local copy of the fixtures, one of them a FIFO:
    // the batch waits there, after reading the manifests, until the test
    // writes the summary in.
    let source = scratch.path().join("nucleotide");
    std::fs::create_dir_all(&source).unwrap();
    for file in common::fixture_files("nucleotide") {
        std::fs::copy(&file, source.join(file.file_name().unwrap())).unwrap();
    }
    // A batch waits on the FIFO of one of its runs while an event lands
    // another of its runs (in the run-bucket layout, where the nucleotide
    // fixtures' runs are each in a bucket of their own, that same run).
    let planned = summary_plan::backfill::plan_batches(
        summary_lake::Kind::Nucleotide,
        common::lake_layout(),
        &runs,
        20,
        0,
        1,
    );
    let shared = planned
        .iter()
        .max_by_key(|b| b.runs.len())
        .expect("a batch");
    let waiting = source.join(format!("{}.summary", shared.runs[0]));
    let waiting_bytes = std::fs::read(&waiting).unwrap();
    std::fs::remove_file(&waiting).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&waiting)
        .status()
        .unwrap()
        .success());
    let dest = "s3://lake/serratus";
    let lake = aws.lake_dir().join("serratus");
    let backfill = servers::uploader(&aws)
        .args([
            "backfill",
            "--index",
            index.to_str().unwrap(),
            "--source",
            source.to_str().unwrap(),
        ])
        .args([
            "--kind",
            "nucleotide",
            "--dest",
            dest,
            "--no-glue",
            "--batch-runs",
            "20",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The FIFO opens for writing once the backfill opened it for reading:
    // then the batch has read its manifests and waits in its downloads.
    let mut writer = {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let opened = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&waiting);
            if let Ok(file) = opened {
                // SAFETY: clears O_NONBLOCK on a descriptor this test owns.
                assert_eq!(
                    unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, 0) },
                    0
                );
                break file;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the backfill never read the FIFO"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };

    let overtaking = shared.runs.get(1).unwrap_or(&shared.runs[0]);
    let event_file = scratch.path().join("event.json");
    let event = events::s3_event(&[format!("summary2/{overtaking}.summary")]);
    std::fs::write(&event_file, event.to_string()).unwrap();
    handle_event(&aws, &event_file, dest);
    std::io::Write::write_all(&mut writer, &waiting_bytes).unwrap();
    drop(writer);
    let out = backfill.wait_with_output().unwrap();
    let stdout = ok(&out);
    assert!(
        stdout.contains("19 runs landed, 1 kept (an S3 event landed them)"),
        "{stdout}"
    );

    let replayed = scratch.path().join("replayed");
    ok(&local(
        &[
            "replay",
            common::fixtures().join("nucleotide").to_str().unwrap(),
            "--lake",
            replayed.to_str().unwrap(),
        ],
        &scratch.path().join("cache"),
    ));
    assert_eq!(rows(&lake), rows(&replayed), "every row once");
    assert_manifests_match_objects(&lake, "nucleotide");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(lake.join(format!("_manifests/nucleotide/{overtaking}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["source"]["sequencer"], "01",
        "the event's manifest stays"
    );
}
