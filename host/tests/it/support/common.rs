//! Shared by the host's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The built converter component: `$SUMMARY_COMPONENT`, else the guest
/// build output. Fails loudly rather than skipping.
pub fn component_path() -> PathBuf {
    let path = std::env::var_os("SUMMARY_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("wasm32-wasip2/release-guest/summary_guest.wasm")
        });
    assert!(
        path.exists(),
        "no converter component at {}: run scripts/setup first",
        path.display()
    );
    path
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/summaries")
}

/// Every fixture of a kind, sorted by path.
pub fn fixture_files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Asserts that a command exited 0, showing its standard error if not;
/// returns that standard error.
pub fn assert_success(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

/// The layout of the lakes the integration tests make unless a test picks
/// its own: `$SUMMARY_TEST_LAYOUT`, else `score-pctid`. `scripts/test` runs
/// the modules of the write paths once per layout; `layouts.rs` compares
/// the two.
pub fn layout() -> &'static str {
    static LAYOUT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LAYOUT.get_or_init(|| {
        let layout = std::env::var("SUMMARY_TEST_LAYOUT").unwrap_or_else(|_| "score-pctid".into());
        assert!(
            ["score-pctid", "run-bucket"].contains(&layout.as_str()),
            "SUMMARY_TEST_LAYOUT={layout:?}: expected score-pctid or run-bucket"
        );
        layout
    })
}

/// [`layout`] as the library names it.
pub fn lake_layout() -> summary_lake::Layout {
    layout().parse().expect("checked by layout()")
}

/// Whether the tests' lakes are of the `score-pctid` layout.
pub fn score_pctid() -> bool {
    layout() == "score-pctid"
}

/// `summary-uploader` writing lakes of [`layout`] unless told otherwise.
pub fn uploader_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_summary-uploader"));
    command.env("SUMMARY_LAYOUT", layout());
    command
}

/// The run accessions of a kind's fixtures, from their file names.
pub fn fixture_runs(kind: &str) -> Vec<String> {
    fixture_files(kind)
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            name.split('.').next().unwrap().to_string()
        })
        .collect()
}

/// How many batches `backfill --batch-runs N --shard I/N` makes of `runs`
/// in the tests' layout (the run-bucket layout groups runs by bucket).
pub fn backfill_batches(
    kind: &str,
    runs: &[String],
    batch_runs: usize,
    shard: (usize, usize),
) -> usize {
    let kind: summary_lake::Kind = kind.parse().unwrap();
    let runs: Vec<String> = runs
        .iter()
        .filter(|r| summary_lake::keys::is_run_accession(r))
        .cloned()
        .collect();
    summary_plan::backfill::plan_batches(kind, lake_layout(), &runs, batch_runs, shard.0, shard.1)
        .len()
}
