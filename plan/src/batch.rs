//! The plan of a batch (a backfill batch, or a batch of replayed files):
//! one converter call wrote one object per (table, partition) holding the
//! rows of all its converted runs, and each run's manifest names the
//! objects holding its rows.
//!
//! In order, so that every run stays findable through its manifest
//! whatever point a crash stops at:
//! 1. manifests listing old and new objects, incomplete, for the runs that
//!    leave objects;
//! 2. the batch objects; 3. the runs leave their old objects; 4. Glue
//!    ([`BatchPlan::write`]);
//! 5. runs an S3 event landed meanwhile leave the batch's objects;
//! 6. the final manifests and dead letters ([`BatchPlan::finish`]), each
//!    manifest written only over the version read just before: one that
//!    an event swapped in between is not replaced (the driver reads again
//!    and plans the run as overtaken);
//! 7. the checkpoint, for a backfill.

use std::collections::{BTreeMap, BTreeSet};

use summary_lake::keys::parse_object_key;
use summary_lake::Kind;

use crate::backfill::departures;
use crate::manifest::{
    error_key, manifest_key, Manifest, ReadManifest, SourceVersion, MANIFEST_FORMAT,
};
use crate::object::ParquetObject;
use crate::step::{json_bytes, Plan, Precondition, Step};
use crate::version::registration;

/// A run of the batch, and what the batch read about it.
#[derive(Clone, Debug)]
pub struct BatchRun {
    pub run: String,
    /// Its manifest when the batch began.
    pub manifest: Option<ReadManifest>,
    pub result: RunResult,
    /// An earlier attempt left a dead letter.
    pub dead_lettered: bool,
}

#[derive(Clone, Debug)]
pub enum RunResult {
    /// Its rows are in the batch's objects.
    Converted { source: SourceVersion },
    /// It did not convert: it keeps its rows outside this batch (as an
    /// event's dead letter keeps the previous version), and its dead letter
    /// is written if one is given.
    Failed {
        dead_letter: Option<serde_json::Value>,
    },
}

/// A converted batch, planned.
#[derive(Clone, Debug)]
pub struct BatchPlan {
    kind: Kind,
    /// The name of every object of the batch.
    name: String,
    runs: Vec<BatchRun>,
    /// Each batch object's key and the runs it holds.
    objects: BTreeMap<String, Vec<String>>,
    /// A run whose manifest an S3 event wrote keeps the event's version.
    events_win: bool,
}

impl BatchPlan {
    /// `objects` are the converter's, already under the batch's keys. With
    /// `events_win`, a run whose manifest an S3 event wrote (it has a
    /// sequencer) keeps the event's version and leaves the batch.
    pub fn new(
        kind: Kind,
        name: &str,
        runs: Vec<BatchRun>,
        objects: &[ParquetObject],
        events_win: bool,
    ) -> Self {
        BatchPlan {
            events_win,
            kind,
            name: name.to_string(),
            runs,
            objects: objects
                .iter()
                .map(|o| (o.key.clone(), o.runs.clone()))
                .collect(),
        }
    }

    pub fn runs(&self) -> &[BatchRun] {
        &self.runs
    }

    /// A converted run's manifest once the batch is whole.
    fn final_manifest(&self, run: &BatchRun, source: &SourceVersion) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            kind: self.kind.to_string(),
            run: run.run.clone(),
            source: source.clone(),
            objects: self.new_keys(run).unwrap_or_default(),
            retiring: Vec::new(),
            complete: true,
        }
    }

    /// Whether an S3 event wrote the run's manifest and the event wins.
    pub fn is_overtaken(&self, manifest: Option<&Manifest>) -> bool {
        self.events_win && manifest.is_some_and(|m| m.source.sequencer.is_some())
    }

    /// The batch objects holding a converted run's rows.
    fn new_keys(&self, run: &BatchRun) -> Option<Vec<String>> {
        matches!(run.result, RunResult::Converted { .. }).then(|| {
            self.objects
                .iter()
                .filter(|(_, runs)| runs.contains(&run.run))
                .map(|(key, _)| key.clone())
                .collect()
        })
    }

    /// A failed run's objects outside this batch: it only leaves this
    /// batch's objects (those written again without it, and those of an
    /// earlier run of the batch that are not written again).
    fn outside_batch(&self, run: &BatchRun) -> Option<Vec<String>> {
        if matches!(run.result, RunResult::Converted { .. }) {
            return None;
        }
        let manifest = &run.manifest.as_ref()?.manifest;
        Some(
            manifest
                .all_objects()
                .into_iter()
                .filter(|k| !parse_object_key(k).is_some_and(|k| k.name == self.name))
                .collect(),
        )
    }

    /// Steps 1 to 4, given the batch's objects (as passed to [`BatchPlan::new`]).
    pub fn write(&self, objects: Vec<ParquetObject>) -> Plan {
        let batch_keys: BTreeSet<String> = self.objects.keys().cloned().collect();
        let kept: Vec<(&BatchRun, Vec<String>)> = self
            .runs
            .iter()
            // An event's version is not the batch's to change.
            .filter(|run| !self.is_overtaken(run.manifest.as_ref().map(|r| &r.manifest)))
            .filter_map(|run| {
                let keys = self.new_keys(run).or_else(|| self.outside_batch(run))?;
                Some((run, keys))
            })
            .collect();
        let leaving = departures(
            kept.iter().filter_map(|(run, keys)| {
                Some((&run.manifest.as_ref()?.manifest, keys.as_slice()))
            }),
            &batch_keys,
        );
        let leavers: BTreeSet<&str> = leaving.values().flatten().map(String::as_str).collect();
        let pending = self
            .runs
            .iter()
            .filter(|run| leavers.contains(run.run.as_str()))
            .filter_map(|run| {
                let read = run.manifest.as_ref()?;
                let old = &read.manifest;
                let objects = self
                    .new_keys(run)
                    .or_else(|| self.outside_batch(run))
                    .unwrap_or_default();
                let retiring = old
                    .all_objects()
                    .into_iter()
                    .filter(|k| !objects.contains(k))
                    .collect();
                let source = match &run.result {
                    RunResult::Converted { source } => source.clone(),
                    RunResult::Failed { .. } => old.source.clone(),
                };
                Some(Step::PutManifest {
                    key: manifest_key(self.kind.as_str(), &run.run),
                    manifest: Manifest {
                        objects,
                        retiring,
                        complete: false,
                        source,
                        ..old.clone()
                    },
                    expect: Precondition::of(Some(read)),
                })
            });
        let register = registration(self.kind, &objects);
        Plan::new()
            .then(pending)
            .then(objects.into_iter().map(|o| Step::PutObject {
                key: o.key,
                bytes: o.bytes,
            }))
            .then(
                leaving
                    .into_iter()
                    .map(|(key, runs)| Step::Retire { key, runs }),
            )
            .then(register)
    }

    /// The runs whose manifest another writer changed since the batch
    /// wrote or read it (its version in `now` is not the one in `ours`),
    /// or, with `events_win`, that an S3 event wrote (it has a sequencer);
    /// a converted run whose manifest already is the batch's final one is
    /// not among them.
    pub fn overtaken(
        &self,
        now: &BTreeMap<String, Option<ReadManifest>>,
        ours: &BTreeMap<String, Option<String>>,
    ) -> BTreeSet<String> {
        self.runs
            .iter()
            .filter(|run| {
                let read = now.get(&run.run).and_then(Option::as_ref);
                let current = read.map(|r| &r.manifest);
                let changed =
                    read.map(|r| &r.version) != ours.get(&run.run).and_then(Option::as_ref);
                let done = match &run.result {
                    RunResult::Converted { source } => {
                        current == Some(&self.final_manifest(run, source))
                    }
                    RunResult::Failed { .. } => false,
                };
                current.is_some() && !done && (changed || self.is_overtaken(current))
            })
            .map(|run| run.run.clone())
            .collect()
    }

    /// Steps 5 and 6, given every run's manifest as read now (`now`) and
    /// the version of it the batch last wrote or read (`ours`, `None` for
    /// none): the [`BatchPlan::overtaken`] runs keep the manifest they have
    /// (converted ones leave the batch's objects); the others' manifests
    /// are written if they changed, only over the version in `now`.
    pub fn finish(
        &self,
        now: &BTreeMap<String, Option<ReadManifest>>,
        ours: &BTreeMap<String, Option<String>>,
    ) -> Plan {
        let overtaken = self.overtaken(now, ours);
        let mut leaving_batch: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut writes = Vec::new();
        for run in &self.runs {
            let key = manifest_key(self.kind.as_str(), &run.run);
            let read = now.get(&run.run).and_then(Option::as_ref);
            let current = read.map(|r| &r.manifest);
            let expect = Precondition::of(read);
            let lost = overtaken.contains(&run.run);
            match &run.result {
                RunResult::Converted { .. } if lost => {
                    for object in self.new_keys(run).unwrap_or_default() {
                        leaving_batch
                            .entry(object)
                            .or_default()
                            .push(run.run.clone());
                    }
                }
                RunResult::Converted { source } => {
                    let manifest = self.final_manifest(run, source);
                    if current != Some(&manifest) {
                        writes.push(Step::PutManifest {
                            key,
                            manifest,
                            expect,
                        });
                    }
                    if run.dead_lettered {
                        writes.push(Step::DeleteDeadLetter {
                            key: error_key(self.kind.as_str(), &run.run),
                        });
                    }
                }
                RunResult::Failed { dead_letter } => {
                    // An event's version is the run's: nothing of it to change.
                    if let (Some(old), Some(kept), false) = (current, self.outside_batch(run), lost)
                    {
                        if kept != old.objects || !old.retiring.is_empty() || !old.complete {
                            writes.push(if kept.is_empty() {
                                Step::DeleteManifest { key }
                            } else {
                                Step::PutManifest {
                                    key,
                                    manifest: Manifest {
                                        objects: kept,
                                        retiring: Vec::new(),
                                        complete: true,
                                        ..old.clone()
                                    },
                                    expect,
                                }
                            });
                        }
                    }
                    if let Some(record) = dead_letter {
                        writes.push(Step::PutDeadLetter {
                            key: error_key(self.kind.as_str(), &run.run),
                            bytes: json_bytes(record),
                        });
                    }
                }
            }
        }
        Plan::new()
            .then(
                leaving_batch
                    .into_iter()
                    .map(|(key, runs)| Step::Retire { key, runs }),
            )
            .then(writes)
    }
}
