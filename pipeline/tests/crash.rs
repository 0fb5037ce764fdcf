//! In-process crash tests of every plan kind: each write of the lake is
//! made to fail in turn (before it happens, and after it happened with the
//! answer lost), the same work is then run again, and the final lake must
//! be byte for byte the lake of an uninterrupted run, Glue included. No
//! servers: an in-memory store, the converter built natively.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use summary_lake::catalog::{table, Table};
use summary_lake::keys::{object_key, Partition};
use summary_lake::Kind;
use summary_pipeline::apply::{read_manifest, Catalog, Lake};
use summary_pipeline::batch::{land_batch, local_file_version, read_manifests};
use summary_pipeline::compaction::{compact_chunk, finish_journal};
use summary_pipeline::convert::{
    Batch, Convert, ConvertError, Merged, Outcome, ParseError, Summary,
};
use summary_pipeline::error::{Error, Result};
use summary_pipeline::events::land_converted;
use summary_pipeline::store::{MemoryStore, ObjectStore, PutOutcome};
use summary_plan::backfill::{batch_name, checkpoint_key};
use summary_plan::batch::{BatchRun, RunResult};
use summary_plan::compaction::{journal_prefix, plan_chunks, Journal};
use summary_plan::manifest::{decide, manifest_key, Decision, SourceVersion};
use summary_plan::step::json_bytes;
use summary_plan::{ParquetObject, Plan, Step};

/// The guest's code, called natively.
struct NativeConverter;

impl Convert for NativeConverter {
    fn convert(&self, summaries: &[Summary]) -> Result<Batch, ConvertError> {
        let inputs: Vec<summary_guest::SummaryInput> = summaries
            .iter()
            .map(|s| summary_guest::SummaryInput {
                kind: s.kind,
                source: &s.source,
                bytes: &s.bytes,
            })
            .collect();
        let batch = summary_guest::convert_batch(&inputs).map_err(ConvertError::Failed)?;
        Ok(Batch {
            outcomes: batch
                .outcomes
                .into_iter()
                .map(|o| match o {
                    summary_guest::Outcome::Converted { run, tables } => Outcome::Converted {
                        run,
                        tables: tables
                            .iter()
                            .map(|t| (t.table.to_string(), t.rows))
                            .collect(),
                    },
                    summary_guest::Outcome::Failed(e) => Outcome::Failed(ParseError {
                        line: e.line,
                        field: e.field.to_string(),
                        message: e.message.to_string(),
                    }),
                })
                .collect(),
            objects: batch
                .objects
                .into_iter()
                .map(|o| ParquetObject {
                    key: o.key,
                    table: o.table.to_string(),
                    partition: o.partition,
                    rows: o.rows,
                    runs: o.runs,
                    bytes: o.bytes,
                })
                .collect(),
        })
    }

    fn merge(
        &self,
        kind: Kind,
        name: &str,
        parts: &[Vec<u8>],
        drop_runs: &[String],
    ) -> Result<Option<Merged>, ConvertError> {
        let table = table(kind, name).expect("a lake table");
        let merged = summary_guest::merge(table, parts, drop_runs).map_err(ConvertError::Failed)?;
        Ok(merged.map(|m| Merged {
            rows: m.rows,
            runs: m.runs,
            bytes: m.bytes,
        }))
    }
}

/// Glue as a set of (table, partition).
#[derive(Default)]
struct MemoryCatalog(Mutex<BTreeSet<(String, Option<Partition>)>>);

impl Catalog for MemoryCatalog {
    fn ensure_table(&self, table: &'static Table) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert((table.glue_name.to_string(), None));
        Ok(())
    }

    fn add_partitions(&self, table: &'static Table, partitions: &[Partition]) -> Result<()> {
        let mut set = self.0.lock().unwrap();
        set.insert((table.glue_name.to_string(), None));
        set.extend(
            partitions
                .iter()
                .map(|p| (table.glue_name.to_string(), Some(*p))),
        );
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The write never happens.
    Lost,
    /// The write happens; its answer is lost.
    Unanswered,
}

/// The memory store, failing its `fail_at`-th write (a put or delete).
struct FailingStore<'a> {
    inner: &'a MemoryStore,
    fail_at: usize,
    fault: Fault,
    writes: AtomicUsize,
}

impl FailingStore<'_> {
    fn write<T>(&self, key: &str, write: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.writes.fetch_add(1, Ordering::SeqCst) != self.fail_at {
            return write();
        }
        if let Fault::Unanswered = self.fault {
            write()?;
        }
        Err(Error::Transient(format!(
            "injected failure ({:?}) writing {key}",
            self.fault
        )))
    }
}

impl ObjectStore for FailingStore<'_> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        self.write(key, || self.inner.put(key, bytes))
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.write(key, || self.inner.delete(key))
    }
    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        self.write(prefix, || self.inner.delete_prefix(prefix))
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix)
    }
    fn describe(&self) -> String {
        "failing memory".into()
    }
}

fn lake<'a>(store: &'a dyn ObjectStore, catalog: &'a MemoryCatalog) -> Lake<'a> {
    Lake {
        store,
        catalog: Some(catalog),
        converter: &NativeConverter,
        io_concurrency: 1,
    }
}

/// Runs `setup`, then `work`, uninterrupted: the expected lake. Then, for
/// every write `work` makes and both faults, a fresh lake after `setup`
/// where that write fails, then `work` again without faults: the lake must
/// be the expected one. Returns the number of writes of one `work`.
fn crash_at_every_write(
    setup: impl Fn(&Lake) -> Result<()>,
    work: impl Fn(&Lake) -> Result<()>,
) -> usize {
    let run = |fail_at: usize, fault: Fault| {
        let store = MemoryStore::default();
        let catalog = MemoryCatalog::default();
        setup(&lake(&store, &catalog)).expect("setup");
        let failing = FailingStore {
            inner: &store,
            fail_at,
            fault,
            writes: AtomicUsize::new(0),
        };
        let first = work(&lake(&failing, &catalog));
        let writes = failing.writes.load(Ordering::SeqCst);
        (store, catalog, first, writes)
    };
    let (expected, expected_catalog, first, writes) = run(usize::MAX, Fault::Lost);
    first.expect("the uninterrupted run");
    let expected = expected.snapshot();
    let expected_catalog = expected_catalog.0.into_inner().unwrap();
    assert!(writes > 0);
    for fault in [Fault::Lost, Fault::Unanswered] {
        for fail_at in 0..writes {
            let (store, catalog, first, _) = run(fail_at, fault);
            assert!(
                first.is_err(),
                "write {fail_at} ({fault:?}) failed, yet the work reported success"
            );
            work(&lake(&store, &catalog))
                .unwrap_or_else(|e| panic!("the re-run after write {fail_at} ({fault:?}): {e:#}"));
            let got = store.snapshot();
            assert_same_lake(
                &expected,
                &got,
                &format!("write {fail_at} ({fault:?}) failed, then a re-run"),
            );
            assert_eq!(
                catalog.0.into_inner().unwrap(),
                expected_catalog,
                "Glue after write {fail_at} ({fault:?})"
            );
        }
    }
    writes
}

fn assert_same_lake(
    expected: &BTreeMap<String, Vec<u8>>,
    got: &BTreeMap<String, Vec<u8>>,
    when: &str,
) {
    let keys = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<BTreeSet<_>>();
    let (want, have) = (keys(expected), keys(got));
    assert!(
        want == have,
        "{when}: missing {:?}, extra {:?}",
        want.difference(&have).collect::<Vec<_>>(),
        have.difference(&want).collect::<Vec<_>>()
    );
    for (key, bytes) in expected {
        assert!(
            got[key] == *bytes,
            "{when}: {key} differs:\n{}\nvs\n{}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&got[key])
        );
    }
}

fn fixture(kind: &str, run: &str) -> (String, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/summaries")
        .join(kind);
    let path = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the fixtures are in ../shared beside the repository)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{run}."))
        })
        .unwrap_or_else(|| panic!("no fixture of {run} in {}", dir.display()));
    (path.display().to_string(), std::fs::read(&path).unwrap())
}

fn nucleotide_runs() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/summaries/nucleotide");
    let mut runs: Vec<String> = std::fs::read_dir(dir)
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
    runs
}

/// The first `lines` lines of a run's summary: a newer version with fewer rows.
fn shortened(bytes: &[u8], lines: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out.into_bytes()
}

/// What an S3 event does with one converted summary, from its manifest on.
fn event(lake: &Lake, run: &str, bytes: &[u8], etag: &str, sequencer: &str) -> Result<()> {
    let kind = Kind::Nucleotide;
    let source = SourceVersion {
        bucket: "sources".into(),
        key: format!("summary2/{run}.summary"),
        etag: Some(etag.into()),
        version_id: None,
        sequencer: Some(sequencer.into()),
    };
    let existing = read_manifest(lake.store, &manifest_key(kind.as_str(), run))?;
    if decide(existing.as_ref(), &source) != Decision::Process {
        return Ok(());
    }
    let batch = lake.converter.convert(&[Summary {
        kind,
        source: source.key.clone(),
        bytes: bytes.to_vec(),
    }])?;
    land_converted(lake, existing.as_ref(), kind, run, source, batch.objects)?;
    Ok(())
}

/// What a backfill batch does once its summaries are fetched: runs an
/// event landed are kept; `missing` runs fail and are dead-lettered.
fn backfill_batch(lake: &Lake, runs: &[String], missing: &[&str]) -> Result<()> {
    let kind = Kind::Nucleotide;
    let name = batch_name(kind, runs);
    let manifests = read_manifests(lake, kind, runs)?;
    let work: Vec<(&String, _)> = runs
        .iter()
        .zip(manifests)
        .filter(|(_, m)| !m.as_ref().is_some_and(|m| m.source.sequencer.is_some()))
        .collect();
    let mut summaries = Vec::new();
    let mut batch_runs = Vec::new();
    for (run, manifest) in work {
        let result = if missing.contains(&run.as_str()) {
            RunResult::Failed {
                dead_letter: Some(
                    serde_json::json!({"source": run, "kind": "nucleotide", "error": "not found"}),
                ),
            }
        } else {
            let (path, bytes) = fixture("nucleotide", run);
            let source = local_file_version(&path, &bytes);
            summaries.push(Summary {
                kind,
                source: path,
                bytes,
            });
            RunResult::Converted { source }
        };
        batch_runs.push(BatchRun {
            run: run.clone(),
            manifest,
            result,
            dead_lettered: false,
        });
    }
    let objects: Vec<ParquetObject> = if summaries.is_empty() {
        Vec::new()
    } else {
        lake.converter.convert(&summaries)?.objects
    }
    .into_iter()
    .map(|o| ParquetObject {
        key: object_key(table(kind, &o.table).unwrap(), o.partition, &name),
        ..o
    })
    .collect();
    let checkpoint = |_: &_| {
        Plan::new().then([Step::PutCheckpoint {
            key: checkpoint_key(kind, &name),
            bytes: json_bytes(&serde_json::json!({"batch": name})),
        }])
    };
    land_batch(lake, kind, &name, batch_runs, objects, true, checkpoint)?;
    Ok(())
}

/// What `compact` does for one kind.
fn compact(lake: &Lake) -> Result<()> {
    let kind = Kind::Nucleotide;
    for key in lake.store.list(&journal_prefix(kind))? {
        let journal =
            Journal::from_json(&lake.store.get(&key)?.unwrap()).map_err(Error::Unreadable)?;
        finish_journal(lake, &journal)?;
    }
    let chunks = plan_chunks(
        &lake.store.list(&summary_lake::prefixes::objects(kind))?,
        2,
        100,
    );
    let mut sources = BTreeMap::new();
    for chunk in &chunks {
        for (_, run) in &chunk.inputs {
            if let Some(m) = read_manifest(lake.store, &manifest_key(kind.as_str(), run))? {
                sources.insert(run.clone(), m.source);
            }
        }
    }
    for chunk in &chunks {
        compact_chunk(lake, kind, chunk, &sources)?;
    }
    Ok(())
}

fn nothing(_: &Lake) -> Result<()> {
    Ok(())
}

#[test]
fn an_event_landing_a_new_run() {
    let run = nucleotide_runs()[0].clone();
    let (_, bytes) = fixture("nucleotide", &run);
    let writes = crash_at_every_write(nothing, |lake| event(lake, &run, &bytes, "e1", "01"));
    assert!(writes > 5, "{writes} writes");
}

#[test]
fn an_event_replacing_a_run() {
    let run = nucleotide_runs()[0].clone();
    let (_, bytes) = fixture("nucleotide", &run);
    let newer = shortened(&bytes, 8);
    let writes = crash_at_every_write(
        |lake| event(lake, &run, &bytes, "e1", "01"),
        |lake| event(lake, &run, &newer, "e2", "02"),
    );
    assert!(writes > 5, "{writes} writes");
}

#[test]
fn a_backfill_batch_with_a_missing_summary() {
    let runs: Vec<String> = nucleotide_runs()[..4].to_vec();
    let missing = runs[3].clone();
    let writes = crash_at_every_write(nothing, |lake| {
        backfill_batch(lake, &runs, &[missing.as_str()])
    });
    assert!(writes > 5, "{writes} writes");
}

#[test]
fn a_run_moving_between_backfill_batches() {
    let all = nucleotide_runs();
    let first: Vec<String> = all[..3].to_vec();
    let second: Vec<String> = all[2..5].to_vec();
    let writes = crash_at_every_write(
        |lake| backfill_batch(lake, &first, &[]),
        |lake| backfill_batch(lake, &second, &[]),
    );
    assert!(writes > 5, "{writes} writes");
}

#[test]
fn a_compaction_of_event_landed_runs() {
    let runs: Vec<String> = nucleotide_runs()[..4].to_vec();
    let writes = crash_at_every_write(
        |lake| {
            for run in &runs {
                let (_, bytes) = fixture("nucleotide", run);
                event(lake, run, &bytes, "e1", "01")?;
            }
            Ok(())
        },
        compact,
    );
    assert!(writes > 5, "{writes} writes");
}
