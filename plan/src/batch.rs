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
//! 6. the final manifests and dead letters ([`BatchPlan::finish`]);
//! 7. the checkpoint, for a backfill.

use std::collections::{BTreeMap, BTreeSet};

use summary_lake::keys::parse_object_key;
use summary_lake::Kind;

use crate::backfill::departures;
use crate::manifest::{error_key, manifest_key, Manifest, SourceVersion, MANIFEST_FORMAT};
use crate::object::ParquetObject;
use crate::step::{json_bytes, Plan, Step};
use crate::version::registration;

/// A run of the batch, and what the batch read about it.
#[derive(Clone, Debug)]
pub struct BatchRun {
    pub run: String,
    /// Its manifest when the batch began.
    pub manifest: Option<Manifest>,
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
}

impl BatchPlan {
    /// `objects` are the converter's, already under the batch's keys.
    pub fn new(kind: Kind, name: &str, runs: Vec<BatchRun>, objects: &[ParquetObject]) -> Self {
        BatchPlan {
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
        let manifest = run.manifest.as_ref()?;
        Some(
            manifest
                .objects
                .iter()
                .filter(|k| !parse_object_key(k).is_some_and(|k| k.name == self.name))
                .cloned()
                .collect(),
        )
    }

    /// Steps 1 to 4, given the batch's objects (as passed to [`BatchPlan::new`]).
    pub fn write(&self, objects: Vec<ParquetObject>) -> Plan {
        let batch_keys: BTreeSet<String> = self.objects.keys().cloned().collect();
        let kept: Vec<(&BatchRun, Vec<String>)> = self
            .runs
            .iter()
            .filter_map(|run| {
                let keys = self.new_keys(run).or_else(|| self.outside_batch(run))?;
                Some((run, keys))
            })
            .collect();
        let leaving = departures(
            kept.iter()
                .filter_map(|(run, keys)| Some((run.manifest.as_ref()?, keys.as_slice()))),
            &batch_keys,
        );
        let leavers: BTreeSet<&str> = leaving.values().flatten().map(String::as_str).collect();
        let pending = self
            .runs
            .iter()
            .filter(|run| leavers.contains(run.run.as_str()))
            .filter_map(|run| {
                let old = run.manifest.as_ref()?;
                let mut listed = old.objects.clone();
                listed.extend(self.new_keys(run).unwrap_or_default());
                listed.sort();
                listed.dedup();
                let source = match &run.result {
                    RunResult::Converted { source } => source.clone(),
                    RunResult::Failed { .. } => old.source.clone(),
                };
                Some(Step::PutManifest {
                    key: manifest_key(self.kind.as_str(), &run.run),
                    manifest: Manifest {
                        objects: listed,
                        complete: false,
                        source,
                        ..old.clone()
                    },
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

    /// Steps 5 and 6, given the converted runs whose manifest an S3 event
    /// wrote since the batch read it (`overtaken`): those leave the batch's
    /// objects and keep the event's manifest. Each manifest is written only
    /// if it changed.
    pub fn finish(&self, overtaken: &BTreeSet<String>) -> Plan {
        let mut leaving_batch: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut writes = Vec::new();
        for run in &self.runs {
            let key = manifest_key(self.kind.as_str(), &run.run);
            match &run.result {
                RunResult::Converted { .. } if overtaken.contains(&run.run) => {
                    for object in self.new_keys(run).unwrap_or_default() {
                        leaving_batch
                            .entry(object)
                            .or_default()
                            .push(run.run.clone());
                    }
                }
                RunResult::Converted { source } => {
                    let manifest = Manifest {
                        format: MANIFEST_FORMAT,
                        kind: self.kind.to_string(),
                        run: run.run.clone(),
                        source: source.clone(),
                        objects: self.new_keys(run).unwrap_or_default(),
                        complete: true,
                    };
                    if run.manifest.as_ref() != Some(&manifest) {
                        writes.push(Step::PutManifest { key, manifest });
                    }
                    if run.dead_lettered {
                        writes.push(Step::DeleteDeadLetter {
                            key: error_key(self.kind.as_str(), &run.run),
                        });
                    }
                }
                RunResult::Failed { dead_letter } => {
                    if let (Some(old), Some(kept)) = (&run.manifest, self.outside_batch(run)) {
                        if kept != old.objects {
                            writes.push(if kept.is_empty() {
                                Step::DeleteManifest { key }
                            } else {
                                Step::PutManifest {
                                    key,
                                    manifest: Manifest {
                                        objects: kept,
                                        complete: true,
                                        ..old.clone()
                                    },
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
