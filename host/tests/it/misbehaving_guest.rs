//! Guests built to misbehave (written in WAT, matching wit/summary.wit) are
//! stopped by the host with the right error, and the next call, in a fresh
//! store of a well-behaved converter in the same process, converts.

use crate::support::common;

use std::time::{Duration, Instant};

use summary_lake::Kind;
use summary_pipeline::convert::{Convert, Summary};
use summary_uploader::converter::{Converter, GuestLimits};

/// A component exporting `serratus:summary/converter@0.3.0` whose core
/// `convert` runs `body`.
fn component(body: &str) -> Vec<u8> {
    let text = format!(
        r#"(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    (func (export "convert") (param i32 i32 i32 i32 i32) (result i32) {body})
    (func (export "merge") (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32) unreachable))
  (core instance $i (instantiate $m))
  (type $kind' (enum "nucleotide" "protein" "rdrp"))
  (export $kind "kind" (type $kind'))
  (type $layout' (enum "score-pctid" "run-bucket"))
  (export $layout "layout" (type $layout'))
  (type $summary' (record (field "kind" $kind) (field "source" string) (field "bytes" (list u8))))
  (export $summary "summary" (type $summary'))
  (type $table-count' (record (field "table" string) (field "rows" u64)))
  (export $table-count "table-count" (type $table-count'))
  (type $converted' (record (field "run" string) (field "tables" (list $table-count))))
  (export $converted "converted" (type $converted'))
  (type $parse-error' (record (field "line" u32) (field "field" string) (field "message" string)))
  (export $parse-error "parse-error" (type $parse-error'))
  (type $outcome' (variant (case "converted" $converted) (case "failed" $parse-error)))
  (export $outcome "outcome" (type $outcome'))
  (type $partition' (record (field "score" u8) (field "pctid" u8)))
  (export $partition "partition" (type $partition'))
  (type $parquet-object' (record (field "key" string) (field "kind" $kind) (field "table" string)
    (field "partition" (option $partition)) (field "rows" u64) (field "runs" (list string)) (field "bytes" (list u8))))
  (export $parquet-object "parquet-object" (type $parquet-object'))
  (type $batch' (record (field "outcomes" (list $outcome)) (field "objects" (list $parquet-object))))
  (export $batch "batch" (type $batch'))
  (func $convert (param "layout" $layout) (param "batch-name" string) (param "summaries" (list $summary)) (result (result $batch (error string)))
    (canon lift (core func $i "convert") (memory $i "mem") (realloc (func $i "realloc"))))
  (type $merged' (record (field "rows" u64) (field "runs" (list string)) (field "bytes" (list u8))))
  (export $merged "merged" (type $merged'))
  (func $merge (param "layout" $layout) (param "kind" $kind) (param "table" string) (param "parts" (list (list u8)))
    (param "drop-runs" (list string)) (result (result (option $merged) (error string)))
    (canon lift (core func $i "merge") (memory $i "mem") (realloc (func $i "realloc"))))
  (instance $converter
    (export "kind" (type $kind))
    (export "layout" (type $layout))
    (export "summary" (type $summary))
    (export "table-count" (type $table-count))
    (export "converted" (type $converted))
    (export "parse-error" (type $parse-error))
    (export "outcome" (type $outcome))
    (export "partition" (type $partition))
    (export "parquet-object" (type $parquet-object))
    (export "batch" (type $batch))
    (export "convert" (func $convert))
    (export "merged" (type $merged))
    (export "merge" (func $merge)))
  (export "serratus:summary/converter@0.3.0" (instance $converter))
)"#
    );
    wat::parse_str(text).expect("valid component text")
}

fn load(body: &str, limits: GuestLimits) -> (Converter, tempfile::NamedTempFile) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), component(body)).unwrap();
    (Converter::load(file.path(), None, limits).unwrap(), file)
}

fn summary() -> Vec<Summary> {
    let bytes = std::fs::read(common::fixtures().join("protein/DRR1017695.psummary")).unwrap();
    vec![Summary {
        kind: Kind::Protein,
        source: "DRR1017695.psummary".into(),
        bytes,
    }]
}

fn the_real_converter_still_converts() {
    let converter =
        Converter::load(&common::component_path(), None, GuestLimits::default()).unwrap();
    let batch = converter
        .convert(summary_lake::Layout::ScorePctid, &summary())
        .unwrap();
    assert_eq!(batch.objects.len(), 5);
}

#[test]
fn an_infinite_loop_is_stopped_at_the_time_limit() {
    let limits = GuestLimits {
        base_time: Duration::from_millis(300),
        time_per_mib: Duration::ZERO,
        ..GuestLimits::default()
    };
    let (converter, _file) = load("(loop $forever (br $forever)) (unreachable)", limits);
    let started = Instant::now();
    let error = converter
        .convert(summary_lake::Layout::ScorePctid, &summary())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("the converter failed on this batch: too slow: took longer than 300ms"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped promptly: {:?}",
        started.elapsed()
    );
    // the same converter, a fresh store: stopped again, not stuck
    assert!(converter
        .convert(summary_lake::Layout::ScorePctid, &summary())
        .unwrap_err()
        .to_string()
        .contains("too slow"));
    the_real_converter_still_converts();
}

#[test]
fn a_huge_memory_grow_is_refused_at_the_memory_limit() {
    let limits = GuestLimits {
        base_memory: 32 << 20,
        memory_per_input_byte: 0,
        ..GuestLimits::default()
    };
    // ask for 4 GiB of pages, and trap if refused (grow returns -1)
    let (converter, _file) = load("(if (i32.eq (memory.grow (i32.const 65535)) (i32.const -1)) (then (unreachable))) (i32.const 0)", limits);
    let error = converter
        .convert(summary_lake::Layout::ScorePctid, &summary())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("the converter failed on this batch: too large: needed more than 33554432 bytes of guest memory"),
        "{error}"
    );
    the_real_converter_still_converts();
}

#[test]
fn a_trap_is_an_error_for_that_call_only() {
    let (converter, _file) = load("(unreachable)", GuestLimits::default());
    let error = converter
        .convert(summary_lake::Layout::ScorePctid, &summary())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("the converter failed on this batch: the guest trapped"),
        "{error}"
    );
    assert!(error.contains("unreachable"), "{error}");
    the_real_converter_still_converts();
}
