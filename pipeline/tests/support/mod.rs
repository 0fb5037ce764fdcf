//! What the in-process tests of plans share: the guest called natively, an
//! in-memory Glue, fixtures, and the work of an event, a backfill batch and
//! a compaction, each as its command does it.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use summary_lake::catalog::{file_table, table, Table};
use summary_lake::keys::{parse_object_key, Partition};
use summary_lake::{Kind, Layout};
use summary_pipeline::apply::{read_manifest, Catalog, Lake};
use summary_pipeline::batch::{land_batch, local_file_version, read_manifests};
use summary_pipeline::compaction::{compact_chunk, finish_journal, plan_kind, Planned};
use summary_pipeline::convert::{
    Batch, Convert, ConvertError, Merged, Outcome, ParseError, Summary,
};
use summary_pipeline::error::{Error, Result};
use summary_pipeline::events::{land_converted, RecordOutcome};
use summary_pipeline::store::ObjectStore;
use summary_plan::backfill::{batch_name, checkpoint_key};
use summary_plan::batch::{BatchRun, RunResult};
use summary_plan::compaction::{journal_prefix, ChunkLimits, Journal};
use summary_plan::manifest::{decide, manifest_key, Decision, SourceVersion};
use summary_plan::step::json_bytes;
use summary_plan::{ParquetObject, Plan, Step};

/// The guest's code, called natively.
pub struct NativeConverter;

thread_local! {
    static LAYOUT: std::cell::Cell<Layout> = const { std::cell::Cell::new(Layout::ScorePctid) };
}

/// Runs `test` once per lake layout: every lake [`lake`] makes meanwhile
/// has that layout.
pub fn each_layout(test: impl Fn()) {
    for layout in Layout::ALL {
        LAYOUT.with(|l| l.set(layout));
        eprintln!("layout {layout}");
        test();
    }
    LAYOUT.with(|l| l.set(Layout::ScorePctid));
}

impl Convert for NativeConverter {
    fn convert(&self, layout: Layout, summaries: &[Summary]) -> Result<Batch, ConvertError> {
        let inputs: Vec<summary_guest::SummaryInput> = summaries
            .iter()
            .map(|s| summary_guest::SummaryInput {
                kind: s.kind,
                source: &s.source,
                bytes: &s.bytes,
            })
            .collect();
        let name = summary_guest::batch_name(&inputs);
        let batch =
            summary_guest::convert_batch(&inputs, layout, &name).map_err(ConvertError::Failed)?;
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
        layout: Layout,
        kind: Kind,
        name: &str,
        parts: &[Vec<u8>],
        drop_runs: &[String],
    ) -> Result<Option<Merged>, ConvertError> {
        let table = file_table(table(kind, name).expect("a lake table"), layout);
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
pub struct MemoryCatalog(pub Mutex<BTreeSet<(String, Option<Partition>)>>);

impl Catalog for MemoryCatalog {
    fn ensure_table(&self, table: &'static Table, _: Layout) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert((table.glue_name.to_string(), None));
        Ok(())
    }

    fn add_partitions(
        &self,
        table: &'static Table,
        _: Layout,
        partitions: &[Partition],
    ) -> Result<()> {
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

pub fn lake<'a>(store: &'a dyn ObjectStore, catalog: &'a MemoryCatalog) -> Lake<'a> {
    Lake {
        store,
        layout: LAYOUT.with(|l| l.get()),
        catalog: Some(catalog),
        converter: &NativeConverter,
        io_concurrency: 1,
    }
}

pub fn assert_same_lake(
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

pub fn fixture(kind: &str, run: &str) -> (String, Vec<u8>) {
    if let Some(i) = bucket_mates().iter().position(|mate| mate == run) {
        let original = &nucleotide_runs()[i];
        let (path, bytes) = fixture("nucleotide", original);
        let text = String::from_utf8(bytes).expect("a nucleotide fixture is text");
        return (
            path.replace(original.as_str(), run),
            text.replace(original.as_str(), run).into_bytes(),
        );
    }
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

pub fn nucleotide_runs() -> Vec<String> {
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

/// Four runs in one bucket of the run-bucket layout (the nucleotide
/// fixtures' runs are each in a bucket of their own), and so in the same
/// score/pctid partitions too: the first four nucleotide fixtures, their
/// run renamed to end in 77. `fixture` gives their summaries.
pub fn bucket_mates() -> Vec<String> {
    nucleotide_runs()[..4]
        .iter()
        .map(|run| format!("{}77", &run[..run.len() - 2]))
        .collect()
}

/// In the folders of [`bucket_mates`]: a batch object and a per-run object
/// compacted together, then another per-run object beside that output.
pub fn compacted_batch_beside_a_new_event(lake: &Lake) -> Result<()> {
    let mates = bucket_mates();
    backfill_batch(lake, &mates[..2], &[])?;
    event(
        lake,
        &mates[2],
        &fixture("nucleotide", &mates[2]).1,
        "e1",
        "01",
    )?;
    compact(lake)?;
    event(
        lake,
        &mates[3],
        &fixture("nucleotide", &mates[3]).1,
        "e1",
        "01",
    )
}

/// The first `lines` lines of a run's summary: a newer version with fewer rows.
pub fn shortened(bytes: &[u8], lines: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out.into_bytes()
}

/// What an S3 event does with one converted summary, from its manifest on.
pub fn event(lake: &Lake, run: &str, bytes: &[u8], etag: &str, sequencer: &str) -> Result<()> {
    event_of(
        lake,
        run,
        bytes,
        &format!("summary2/{run}.summary"),
        etag,
        sequencer,
    )
}

/// An event of the summary at `source_key`: sequencers order only events
/// of one key.
pub fn event_of(
    lake: &Lake,
    run: &str,
    bytes: &[u8],
    source_key: &str,
    etag: &str,
    sequencer: &str,
) -> Result<()> {
    let kind = Kind::Nucleotide;
    let source = SourceVersion {
        bucket: "sources".into(),
        key: source_key.into(),
        etag: Some(etag.into()),
        version_id: None,
        sequencer: Some(sequencer.into()),
    };
    let existing = read_manifest(lake.store, &manifest_key(kind.as_str(), run))?;
    if decide(existing.as_ref().map(|r| &r.manifest), &source) != Decision::Process {
        return Ok(());
    }
    let batch = lake.converter.convert(
        lake.layout,
        &[Summary {
            kind,
            source: source.key.clone(),
            bytes: bytes.to_vec(),
        }],
    )?;
    match land_converted(lake, existing, kind, run, source, batch.objects)? {
        RecordOutcome::Landed { .. }
        | RecordOutcome::AlreadyDone { .. }
        | RecordOutcome::Older { .. } => Ok(()),
        other => panic!("an event of {run}: {other:?}"),
    }
}

/// What a backfill batch does once its summaries are fetched: runs an
/// event landed are kept; `missing` runs fail and are dead-lettered.
pub fn backfill_batch(lake: &Lake, runs: &[String], missing: &[&str]) -> Result<()> {
    let kind = Kind::Nucleotide;
    let name = batch_name(kind, runs);
    let manifests = read_manifests(lake, kind, runs)?;
    let work: Vec<(&String, _)> = runs
        .iter()
        .zip(manifests)
        .filter(|(_, m)| {
            !m.as_ref()
                .is_some_and(|m| m.manifest.source.sequencer.is_some())
        })
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
        lake.converter.convert(lake.layout, &summaries)?.objects
    }
    .into_iter()
    .map(|o| ParquetObject {
        key: parse_object_key(&o.key).unwrap().renamed(&name),
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
pub fn compact(lake: &Lake) -> Result<()> {
    let kind = Kind::Nucleotide;
    for key in lake.store.list(&journal_prefix(kind))? {
        // Gone since the listing: another compaction finished it.
        let Some(bytes) = lake.store.get(&key)? else {
            continue;
        };
        let journal = Journal::from_json(&bytes).map_err(Error::Unreadable)?;
        finish_journal(lake, &journal)?;
    }
    let limits = ChunkLimits {
        max_files: 100,
        // The nucleotide fixtures' runs are each in a bucket of their own:
        // in run-bucket, a bucket of one object is compacted too, so that
        // every step of a chunk is exercised.
        min_files: match lake.layout {
            Layout::ScorePctid => 2,
            Layout::RunBucket => 1,
        },
        ..ChunkLimits::default()
    };
    let Planned { chunks, sources } = plan_kind(lake, kind, &limits)?;
    for chunk in &chunks {
        compact_chunk(lake, kind, chunk, &sources)?;
    }
    Ok(())
}
