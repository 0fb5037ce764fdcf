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
/// its own: the 2021 layout, whose keys (`score=…/pctid=…`) the older tests
/// spell out. `layouts.rs` runs the main paths in `run-bucket`.
pub const LAYOUT: &str = "score-pctid";

/// `summary-uploader` writing lakes of [`LAYOUT`] unless told otherwise.
pub fn uploader_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_summary-uploader"));
    command.env("SUMMARY_LAYOUT", LAYOUT);
    command
}
