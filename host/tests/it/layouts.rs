//! The `run-bucket` layout end to end on a local lake: what a new lake
//! gets, the same rows as the `score-pctid` layout (read by DuckDB and
//! pyarrow), backfill batches and compaction per bucket, and a lake that
//! refuses the other layout.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{common, servers};

/// `summary-uploader` with no layout asked (a new lake's default), or `layout`.
fn uploader(layout: Option<&str>, args: &[&str]) -> Output {
    let mut command = common::uploader_command();
    command
        .env_remove("SUMMARY_LAYOUT")
        .arg("--component")
        .arg(common::component_path())
        .args(args);
    if let Some(layout) = layout {
        command.args(["--layout", layout]);
    }
    command.output().unwrap()
}

fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tables() -> Vec<String> {
    summary_lake::Kind::ALL
        .iter()
        .flat_map(|kind| {
            summary_lake::catalog::tables_of(*kind).map(move |t| format!("{kind}/{}", t.name))
        })
        .collect()
}

fn layout_rows(lake: &Path) -> Value {
    let out = servers::python("layout_rows.py")
        .arg(lake)
        .args(tables())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every Parquet key of the lake, relative to it.
fn parquet_keys(lake: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut keys = Vec::new();
    walk(lake, lake, &mut keys);
    keys.sort();
    keys
}

fn fixtures_copy(root: &Path) -> PathBuf {
    let source = root.join("in");
    for kind in ["nucleotide", "protein", "rdrp"] {
        std::fs::create_dir_all(source.join(kind)).unwrap();
        for file in common::fixture_files(kind) {
            std::fs::copy(&file, source.join(kind).join(file.file_name().unwrap())).unwrap();
        }
    }
    source
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn a_new_lake_is_run_bucket_with_the_rows_of_the_score_pctid_layout() {
    let scratch = tempfile::tempdir().unwrap();
    let source = fixtures_copy(scratch.path());
    let bucketed = scratch.path().join("bucketed");
    let classic = scratch.path().join("classic");
    let source = source.to_str().unwrap();
    succeeded(&uploader(
        None,
        &["replay", source, "--lake", bucketed.to_str().unwrap()],
    ));
    succeeded(&uploader(
        Some("score-pctid"),
        &["replay", source, "--lake", classic.to_str().unwrap()],
    ));

    let descriptor: Value =
        serde_json::from_slice(&std::fs::read(bucketed.join("_lake.json")).unwrap()).unwrap();
    assert_eq!(
        descriptor,
        serde_json::json!({"format": 1, "layout": "run-bucket"})
    );
    let classic_descriptor = std::fs::read_to_string(classic.join("_lake.json")).unwrap();
    assert!(
        classic_descriptor.contains("\"score-pctid\""),
        "{classic_descriptor}"
    );

    // Every table, the run tables too, is split by bucket; no score/pctid path.
    let keys = parquet_keys(&bucketed);
    assert!(!keys.is_empty());
    for key in &keys {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 4, "{key}");
        assert!(
            parts[2].starts_with("bucket=") && parts[2].len() == 9,
            "{key}"
        );
    }
    // Far fewer objects than the score/pctid layout for the same batch.
    let classic_keys = parquet_keys(&classic);
    assert!(
        keys.len() * 3 < classic_keys.len(),
        "{} run-bucket objects, {} score-pctid objects",
        keys.len(),
        classic_keys.len()
    );

    let (ours, theirs) = (layout_rows(&bucketed), layout_rows(&classic));
    for reader in ["duckdb", "pyarrow"] {
        for table in tables() {
            let (a, b) = (&ours[reader][&table], &theirs[reader][&table]);
            assert!(
                !b.as_array().unwrap().is_empty() || table.ends_with("/sra"),
                "{table}"
            );
            assert_eq!(a, b, "{reader}: {table} differs between the layouts");
        }
    }
    for table in tables() {
        if !theirs["duckdb"][&table].as_array().unwrap().is_empty() {
            assert_eq!(
                ours["buckets"][&table],
                Value::Bool(true),
                "{table}: bucket = right(sra, 2)"
            );
        }
    }
}

#[test]
fn a_lake_refuses_the_other_layout_and_writes_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let source = fixtures_copy(scratch.path());
    let lake = scratch.path().join("lake");
    let (source, lake_arg) = (source.to_str().unwrap(), lake.to_str().unwrap());
    succeeded(&uploader(
        Some("score-pctid"),
        &["replay", source, "--lake", lake_arg],
    ));
    let before = snapshot(&lake);
    for command in [
        vec!["replay", source, "--lake", lake_arg],
        vec!["compact", "--lake", lake_arg],
    ] {
        let out = uploader(Some("run-bucket"), &command);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command:?}: the command could not run as asked"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "{lake_arg} is a score-pctid lake (its _lake.json says so), not run-bucket"
            )),
            "{command:?}: {stderr}"
        );
        assert_eq!(snapshot(&lake), before, "{command:?} wrote to the lake");
    }
    // Without --layout the lake's own layout is used.
    succeeded(&uploader(None, &["replay", source, "--lake", lake_arg]));
    assert!(parquet_keys(&lake).iter().all(|k| !k.contains("bucket=")));
}

#[test]
fn per_run_objects_compact_per_bucket_and_backfill_batches_lie_in_one_bucket() {
    let scratch = tempfile::tempdir().unwrap();
    let source = fixtures_copy(scratch.path());
    let rdrp = source.join("rdrp");
    let per_run = scratch.path().join("per-run");
    let lake_arg = per_run.to_str().unwrap();
    // One summary per batch: what S3 events write, one object per table per run.
    succeeded(&uploader(
        None,
        &[
            "replay",
            rdrp.to_str().unwrap(),
            "--lake",
            lake_arg,
            "--batch",
            "1",
        ],
    ));
    let runs: BTreeSet<String> = common::fixture_runs("rdrp").into_iter().collect();
    let keys = parquet_keys(&per_run);
    let manifests = std::fs::read_dir(per_run.join("_manifests/rdrp"))
        .unwrap()
        .count();
    assert_eq!(manifests, runs.len());
    assert!(
        keys.len() <= runs.len() * 4,
        "{} objects for {} runs: at most one per table (4) per run",
        keys.len(),
        runs.len()
    );
    let before = layout_rows(&per_run);

    let out = uploader(
        None,
        &["compact", "--lake", lake_arg, "--kind", "rdrp", "--json"],
    );
    succeeded(&out);
    let compacted = parquet_keys(&per_run);
    let folders = |keys: &[String]| -> BTreeSet<String> {
        keys.iter()
            .map(|k| k.rsplit_once('/').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(folders(&compacted), folders(&keys), "the same buckets");
    for folder in folders(&compacted) {
        let inside = compacted
            .iter()
            .filter(|k| k.starts_with(&format!("{folder}/")))
            .count();
        assert_eq!(
            inside, 1,
            "{folder}: one object per table and bucket after compaction"
        );
    }
    assert_eq!(layout_rows(&per_run), before, "compaction keeps every row");

    // Backfill: batches of 7 runs, grouped by bucket.
    let index = scratch.path().join("rdrp.index");
    std::fs::write(&index, runs.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap();
    let backfill = |lake: &Path, batch_runs: &str| {
        succeeded(&uploader(
            None,
            &[
                "backfill",
                "--index",
                index.to_str().unwrap(),
                "--source",
                rdrp.to_str().unwrap(),
                "--kind",
                "rdrp",
                "--lake",
                lake.to_str().unwrap(),
                "--batch-runs",
                batch_runs,
            ],
        ))
    };
    let backfilled = scratch.path().join("backfilled");
    backfill(&backfilled, "7");
    for key in parquet_keys(&backfilled) {
        let name = key.rsplit('/').next().unwrap();
        assert!(name.starts_with("backfill-"), "{key}");
    }
    let by_batch: BTreeMap<String, BTreeSet<String>> =
        parquet_keys(&backfilled)
            .into_iter()
            .fold(BTreeMap::new(), |mut map, key| {
                let (folder, name) = key.rsplit_once('/').unwrap();
                let bucket = folder.rsplit('/').next().unwrap().to_string();
                map.entry(name.to_string()).or_default().insert(bucket);
                map
            });
    for (batch, buckets) in &by_batch {
        assert_eq!(buckets.len(), 1, "{batch} spans {buckets:?}");
    }
    assert_eq!(layout_rows(&backfilled)["duckdb"], before["duckdb"]);

    // Batches of one run: buckets holding two runs get two batch objects
    // per table, which compaction merges like per-run objects.
    let batches_of_one = scratch.path().join("batches-of-one");
    let lake_arg = batches_of_one.to_str().unwrap();
    backfill(&batches_of_one, "1");
    let batch_keys = parquet_keys(&batches_of_one);
    let crowded: BTreeSet<String> = folders(&batch_keys)
        .into_iter()
        .filter(|folder| {
            batch_keys
                .iter()
                .filter(|k| k.starts_with(&format!("{folder}/")))
                .count()
                == 2
        })
        .collect();
    assert!(
        crowded.iter().any(|f| f.ends_with("bucket=42"))
            && crowded.iter().any(|f| f.ends_with("bucket=54")),
        "buckets 42 and 54 hold two runs each: {crowded:?}"
    );
    let out = uploader(
        None,
        &["compact", "--lake", lake_arg, "--kind", "rdrp", "--json"],
    );
    succeeded(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["report"]["rdrp"]["outputs"].as_u64(),
        Some(crowded.len() as u64),
        "one output per crowded folder: {report}"
    );
    let merged = parquet_keys(&batches_of_one);
    for folder in folders(&merged) {
        let inside: Vec<&String> = merged
            .iter()
            .filter(|k| k.starts_with(&format!("{folder}/")))
            .collect();
        assert_eq!(inside.len(), 1, "{folder}: {inside:?}");
        assert_eq!(
            inside[0].contains("/compact-"),
            crowded.contains(&folder),
            "{folder}: {inside:?}"
        );
    }
    assert_eq!(layout_rows(&batches_of_one)["duckdb"], before["duckdb"]);
}
