//! The executor: the only code that writes the lake. It carries out a
//! [`Plan`] stage by stage, the steps of a stage at most `io_concurrency`
//! at once, and stops at the first failure: the plan's order is what
//! makes a re-run finish an interrupted write (see `summary-plan`).
//! Retries of single requests happen below, in the AWS client.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Context, Error, Result};
use summary_lake::catalog::{table, Table};
use summary_lake::keys::Partition;
use summary_plan::compaction::{decide_claim, ClaimDecision};
use summary_plan::manifest::Manifest;
use summary_plan::{Plan, Step};

use crate::convert::Convert;
use crate::parallel::try_map;
use crate::shared::{retire, Retired};
use crate::store::{ObjectStore, PutOutcome};

/// Where tables and partitions are registered (Glue, or a test's record).
pub trait Catalog: Sync {
    fn ensure_table(&self, table: &'static Table) -> Result<()>;
    fn add_partitions(&self, table: &'static Table, partitions: &[Partition]) -> Result<()>;
}

/// What a plan is applied to.
pub struct Lake<'a> {
    pub store: &'a dyn ObjectStore,
    pub catalog: Option<&'a dyn Catalog>,
    /// Rewrites shared objects and merges compaction chunks.
    pub converter: &'a dyn Convert,
    /// Steps of one stage in flight at once.
    pub io_concurrency: usize,
}

/// What applying a plan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Parquet objects written, and those that already held these bytes.
    pub objects_written: usize,
    pub objects_unchanged: usize,
    /// Bytes of the Parquet objects written or merged.
    pub bytes_written: u64,
    /// Objects deleted or rewritten without some runs.
    pub retired: usize,
    /// Compaction: whether the output exists, and its size.
    pub merged_output: Option<u64>,
    /// Compaction: the runs whose manifest lists the output.
    pub claimed: BTreeSet<String>,
}

/// One step's result, folded into [`Applied`].
enum Done {
    Nothing,
    Object(PutOutcome, u64),
    Retired(Retired),
    Merged(Option<u64>),
    Claimed(String, bool),
}

impl Lake<'_> {
    /// Carries out `plan`: stage after stage; the first failure stops it.
    pub fn apply(&self, plan: &Plan) -> Result<Applied> {
        let mut applied = Applied::default();
        for stage in &plan.stages {
            for done in try_map(stage, self.io_concurrency, |step| {
                self.step(step)
                    .with_context(|| format!("{} {}", step.label(), step.target()))
            })? {
                match done {
                    Done::Nothing => {}
                    Done::Object(PutOutcome::Written, bytes) => {
                        applied.objects_written += 1;
                        applied.bytes_written += bytes;
                    }
                    Done::Object(PutOutcome::Unchanged, bytes) => {
                        applied.objects_unchanged += 1;
                        applied.bytes_written += bytes;
                    }
                    Done::Retired(Retired::Untouched) => {}
                    Done::Retired(_) => applied.retired += 1,
                    Done::Merged(size) => applied.merged_output = size,
                    Done::Claimed(run, true) => {
                        applied.claimed.insert(run);
                    }
                    Done::Claimed(_, false) => {}
                }
            }
        }
        Ok(applied)
    }

    fn step(&self, step: &Step) -> Result<Done> {
        let store = self.store;
        match step {
            Step::PutManifest { key, manifest } => {
                store.put(key, &manifest.to_json())?;
            }
            Step::PutJournal { key, journal } => {
                store.put(key, &journal.to_json())?;
            }
            Step::PutObject { key, bytes } => {
                let outcome = store.put(key, bytes)?;
                return Ok(Done::Object(outcome, bytes.len() as u64));
            }
            Step::PutDeadLetter { key, bytes } | Step::PutCheckpoint { key, bytes } => {
                store.put(key, bytes)?;
            }
            Step::DeleteManifest { key }
            | Step::DeleteObject { key }
            | Step::DeleteDeadLetter { key }
            | Step::DeleteJournal { key } => store.delete(key)?,
            Step::Retire { key, runs } => {
                return Ok(Done::Retired(retire(store, self.converter, key, runs)?));
            }
            Step::Merge {
                kind,
                table,
                inputs,
                output,
            } => return self.merge(*kind, table, inputs, output).map(Done::Merged),
            Step::Claim {
                key,
                run,
                input,
                output,
                source,
            } => {
                // Chunks of other partitions update the same run's manifest.
                let _guard = key_lock(key);
                let manifest = read_manifest(store, key)?;
                let input = summary_plan::compaction::JournalInput {
                    key: input.clone(),
                    run: run.clone(),
                    source: source.clone(),
                };
                let claimed = match decide_claim(manifest.as_ref(), &input, output) {
                    ClaimDecision::Claimed => true,
                    ClaimDecision::Claim(manifest) => {
                        store.put(key, &manifest.to_json())?;
                        true
                    }
                    ClaimDecision::Moved => false,
                };
                return Ok(Done::Claimed(run.clone(), claimed));
            }
            Step::Register { kind, partitions } => {
                if let Some(catalog) = self.catalog {
                    register(catalog, *kind, partitions)?;
                }
            }
        }
        Ok(Done::Nothing)
    }

    /// The output's size once it exists: merged from the inputs unless it
    /// was written before (then no input was deleted yet, or all were).
    /// `None` when the inputs hold no rows.
    fn merge(
        &self,
        kind: summary_lake::Kind,
        table: &str,
        inputs: &[String],
        output: &str,
    ) -> Result<Option<u64>> {
        if let Some(bytes) = self.store.get(output)? {
            return Ok(Some(bytes.len() as u64));
        }
        let parts: Vec<Vec<u8>> = try_map(inputs, self.io_concurrency, |key| self.store.get(key))?
            .into_iter()
            .flatten()
            .collect();
        match self.converter.merge(kind, table, &parts, &[])? {
            Some(merged) => {
                self.store.put(output, &merged.bytes)?;
                Ok(Some(merged.bytes.len() as u64))
            }
            None => Ok(None),
        }
    }
}

/// The manifest at `key`, if there is one; an unreadable one is an error
/// saying how to get past it.
pub fn read_manifest(lake: &dyn ObjectStore, key: &str) -> Result<Option<Manifest>> {
    let Some(bytes) = lake.get(key)? else {
        return Ok(None);
    };
    match Manifest::from_json(&bytes) {
        Ok(manifest) => Ok(Some(manifest)),
        Err(error) => Err(Error::Unreadable(format!(
            "{key}: {error}; fix or delete it to let the run be written again"
        ))),
    }
}

/// Creates the kind's tables and registers their partitions.
fn register(
    catalog: &dyn Catalog,
    kind: summary_lake::Kind,
    partitions: &[(String, Option<Partition>)],
) -> Result<()> {
    let mut by_table: BTreeMap<&str, Vec<Partition>> = BTreeMap::new();
    for (name, partition) in partitions {
        by_table.entry(name).or_default().extend(partition);
    }
    for (name, mut list) in by_table {
        let table = table(kind, name).ok_or_else(|| {
            Error::Permanent(format!("the converter wrote unknown table {kind}/{name}"))
        })?;
        list.sort();
        list.dedup();
        if list.is_empty() {
            catalog.ensure_table(table)?;
        } else {
            catalog.add_partitions(table, &list)?;
        }
    }
    Ok(())
}

/// One of a fixed set of locks, picked by the key's hash: read-modify-write
/// steps on one key are serialised within this process.
pub fn key_lock(key: &str) -> MutexGuard<'static, ()> {
    const STRIPES: usize = 64;
    static LOCKS: [Mutex<()>; STRIPES] = [const { Mutex::new(()) }; STRIPES];
    let hash = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    LOCKS[(hash % STRIPES as u64) as usize]
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}
