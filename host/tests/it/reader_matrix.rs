//! Every object of a replayed fixture lake opens and reads back the same
//! rows in every reader scientists use: pyarrow, DuckDB, polars (current)
//! and polars 1.30, a release from before polars learned the
//! IEEE_754_TOTAL_ORDER column order that parquet 60+ writes for doubles
//! (see the parquet line of the workspace Cargo.toml). pyarrow must also see
//! min/max statistics for `sra`, the count columns and `depth`.
//!
//! And the converter is deterministic: the same batch twice gives the same
//! bytes, natively and through the component.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use summary_guest::{batch_name, convert_batch, SummaryInput};
use summary_lake::Kind;
use summary_pipeline::convert::{Batch, Convert, Summary};
use summary_uploader::converter::{Converter, GuestLimits};

use crate::support::common;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tools() -> PathBuf {
    std::env::var_os("SERRATUS_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/serratus-tools")
        })
}

/// An interpreter, from `$env` or the default path; fails loudly.
fn python(env: &str, default: PathBuf) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    assert!(
        path.exists(),
        "{env}: no Python at {}: run scripts/setup (it installs the readers)",
        path.display()
    );
    path
}

fn read_with(python: &Path, reader: &str, lake: &Path) -> Value {
    let out = Command::new(python)
        .arg(repo().join("host/tests/it/python/reader_matrix.py"))
        .arg(reader)
        .arg(lake)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{reader} ({}): {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn replay(lake: &Path, cache: &Path, extra: &[&str]) {
    let out = crate::support::common::uploader_command()
        .arg("--component")
        .arg(common::component_path())
        .arg("--cache-dir")
        .arg(cache)
        .arg("replay")
        .arg("--lake")
        .arg(lake)
        .args(extra)
        .arg(common::fixtures())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("60 converted, 0 failed"), "{stdout}");
}

#[test]
fn every_reader_opens_every_object_and_reads_the_same_rows() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    // Batch objects (the default, one batch per kind) and per-run objects,
    // of the score-pctid layout; and per-run objects of the run-bucket
    // layout, whose files hold score and pctid as int32 columns.
    for (name, extra, fewest_objects, fewest_stats) in [
        ("batched", &[][..], 500, 1000),
        ("per-run", &["--batch", "1"][..], 500, 1000),
        (
            "run-bucket",
            &["--batch", "1", "--layout", "run-bucket"][..],
            150,
            300,
        ),
    ] {
        let lake = scratch.path().join(name);
        replay(&lake, &cache, extra);

        let venv = python("SUMMARY_VENV_PYTHON", repo().join(".venv/bin/python"));
        let old_polars = python(
            "SUMMARY_POLARS_1_30_PYTHON",
            tools().join("polars-1.30/bin/python"),
        );
        let reference = read_with(&venv, "pyarrow", &lake);
        let objects = reference["objects"].as_object().unwrap();
        assert!(
            objects.len() > fewest_objects,
            "{name}: {} objects",
            objects.len()
        );
        let rows: u64 = objects
            .values()
            .map(|o| {
                assert!(o.get("error").is_none(), "{name}: pyarrow: {o}");
                o["rows"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(rows, 5616, "{name}: every row of the fixtures");

        let readers = [
            ("duckdb", read_with(&venv, "duckdb", &lake)),
            ("polars", read_with(&venv, "polars", &lake)),
            ("polars 1.30", read_with(&old_polars, "polars", &lake)),
        ];
        assert!(
            readers[2].1["version"]
                .as_str()
                .unwrap()
                .starts_with("1.30."),
            "{}",
            readers[2].1["version"]
        );
        for (reader, read) in &readers {
            let theirs = read["objects"].as_object().unwrap();
            assert_eq!(
                theirs.keys().collect::<Vec<_>>(),
                objects.keys().collect::<Vec<_>>(),
                "{name}: {reader} saw other objects"
            );
            let mut differ = Vec::new();
            for (key, ours) in objects {
                let other = &theirs[key];
                if other.get("error").is_some() {
                    differ.push(format!("{key}: {}", other["error"]));
                } else if other != ours {
                    differ.push(format!("{key}: pyarrow {ours} {reader} {other}"));
                }
            }
            assert!(
                differ.is_empty(),
                "{name}: {reader} ({}) reads {} of {} objects differently, e.g. {:?}",
                read["version"],
                differ.len(),
                objects.len(),
                &differ[..differ.len().min(3)]
            );
        }

        let stats = read_with(&venv, "stats", &lake);
        assert!(
            stats["checked"].as_u64().unwrap() > fewest_stats,
            "{name}: {stats}"
        );
        assert_eq!(stats["missing"], serde_json::json!([]), "{name}");
    }
}

fn fixture_summaries(kind: Kind) -> Vec<Summary> {
    common::fixture_files(kind.as_str())
        .into_iter()
        .map(|path| Summary {
            kind,
            source: path.display().to_string(),
            bytes: std::fs::read(&path).unwrap(),
        })
        .collect()
}

#[test]
fn the_same_batch_twice_gives_the_same_bytes_natively_and_through_the_component() {
    let converter =
        Converter::load(&common::component_path(), None, GuestLimits::default()).unwrap();
    for kind in Kind::ALL {
        let summaries = fixture_summaries(kind);
        let inputs: Vec<SummaryInput> = summaries
            .iter()
            .map(|s| SummaryInput {
                kind: s.kind,
                source: &s.source,
                bytes: &s.bytes,
            })
            .collect();
        let name = batch_name(&inputs);
        let native = [
            convert_batch(&inputs, summary_guest::Layout::ScorePctid, &name).unwrap(),
            convert_batch(&inputs, summary_guest::Layout::ScorePctid, &name).unwrap(),
        ];
        let wasm = [
            converter
                .convert(summary_lake::Layout::ScorePctid, &summaries)
                .unwrap(),
            converter
                .convert(summary_lake::Layout::ScorePctid, &summaries)
                .unwrap(),
        ];
        fn of_native(b: &summary_guest::Batch) -> Vec<(&str, &[u8])> {
            b.objects
                .iter()
                .map(|o| (o.key.as_str(), o.bytes.as_slice()))
                .collect()
        }
        fn of_wasm(b: &Batch) -> Vec<(&str, &[u8])> {
            b.objects
                .iter()
                .map(|o| (o.key.as_str(), o.bytes.as_slice()))
                .collect()
        }
        let first = of_native(&native[0]);
        assert!(first.len() > 20, "{kind}: {} objects", first.len());
        assert!(first == of_native(&native[1]), "{kind}: native runs differ");
        assert!(
            first == of_wasm(&wasm[0]),
            "{kind}: component differs from native"
        );
        assert!(
            first == of_wasm(&wasm[1]),
            "{kind}: second component run differs"
        );
    }
}
