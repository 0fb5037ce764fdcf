//! What a lake holds, read back for assertions: its rows as DuckDB reads
//! them, the lake `replay` makes of given summaries (the expected one), and
//! whether every object is named by a complete manifest.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::json;
use summary_lake::Kind;

use super::{common, servers};

/// The first `keep` lines of a summary: a shorter version of it, with
/// fewer rows.
pub fn first_lines(bytes: &[u8], keep: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let kept: Vec<&str> = text.lines().take(keep).collect();
    (kept.join("\n") + "\n").into_bytes()
}

/// The lake `replay` makes of the summaries under `summaries`, at `lake`:
/// what those versions alone leave.
pub fn replayed(summaries: &Path, lake: &Path) -> PathBuf {
    let replay = super::common::uploader_command()
        .arg("--component")
        .arg(common::component_path())
        .args([
            "replay",
            summaries.to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    lake.to_path_buf()
}

/// Every row of every table, as DuckDB reads them (see `lake_rows.py`).
pub fn lake_rows(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = Kind::ALL
        .iter()
        .flat_map(|kind| {
            summary_lake::catalog::tables_of(*kind).map(move |t| format!("{kind}/{}", t.name))
        })
        .collect();
    let out = servers::python("lake_rows.py")
        .arg(dir)
        .args(&tables)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every manifest is complete and every Parquet object is named by one.
pub fn assert_every_object_named(lake: &Path) {
    let mut named = BTreeSet::new();
    let mut objects = BTreeSet::new();
    for entry in walk(lake) {
        let key = entry
            .strip_prefix(lake)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if key.starts_with("_manifests/") {
            let manifest: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
            assert_eq!(manifest["complete"], json!(true), "{key}");
            for object in manifest["objects"].as_array().unwrap() {
                named.insert(object.as_str().unwrap().to_string());
            }
        } else if key.ends_with(".parquet") {
            objects.insert(key);
        }
    }
    let orphans: Vec<&String> = objects.difference(&named).collect();
    assert!(
        orphans.is_empty(),
        "{} objects no manifest names, e.g. {:?}",
        orphans.len(),
        orphans.first()
    );
    let missing: Vec<&String> = named.difference(&objects).collect();
    assert!(
        missing.is_empty(),
        "{} named objects missing, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

/// Every file under `dir`, hidden ones (s3s-fs's metadata) left out.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let hidden = path.file_name().unwrap().to_string_lossy().starts_with('.');
        if path.is_dir() {
            files.extend(walk(&path));
        } else if !hidden {
            files.push(path);
        }
    }
    files
}

/// The outcome of the one record of a `handle-event` that exited 0.
pub fn outcome_of(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["records"][0]["outcome"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
