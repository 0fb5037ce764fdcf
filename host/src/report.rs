//! What the commands that end (`replay`, `backfill`, `compact`, `clear`)
//! print last: their own summary, the metrics' figures
//! (`summary_pipeline::metrics`) and, for a dry run, every change it
//! would have made; as text for people, or as one JSON document on
//! standard output (`--json`).

use serde_json::{json, Value};
use summary_pipeline::metrics;

use crate::context::OpenedLake;

/// Prints the end of `command` into `lake`: `summary` is the command's own
/// line (text) and `details` its own figures (JSON).
pub fn finish(command: &str, lake: &OpenedLake, as_json: bool, summary: &str, details: Value) {
    let figures = metrics::figures();
    if as_json {
        let mut document = json!({
            "command": command,
            "lake": lake.store.describe(),
            "dry_run": lake.dry_run.is_some(),
            "report": details,
            "metrics": figures.to_json(),
        });
        if let Some(changes) = &lake.dry_run {
            document["changes"] = json!(changes.lines());
        }
        println!("{document}");
        return;
    }
    if let Some(changes) = &lake.dry_run {
        for line in changes.lines() {
            println!("{line}");
        }
    }
    println!("{summary}");
    println!("figures: {}", figures.summary_line());
    if let Some(changes) = &lake.dry_run {
        let (puts, deletes) = changes.counts();
        println!("dry run: {puts} objects would be written and {deletes} deleted; nothing was");
    }
}
