//! The executor: the only code that writes the lake. It carries out a
//! [`Plan`] stage by stage, the steps of a stage at most `io_concurrency`
//! at once, and stops at the first failure: the plan's order is what
//! makes a re-run finish an interrupted write (see `summary-plan`).
//! Retries of single requests happen below, in the AWS client.
//!
//! Writes another writer may race are compare-and-swaps: manifests and
//! journals replace only the version their plan expects, and steps that
//! read before they write (retire, claim) swap only the version they read,
//! reading again when they lose. A plan whose manifest was swapped by
//! another writer stops with [`Error::Conflict`]; its driver reads again
//! and plans again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use crate::error::{Context, Error, Result};
use summary_lake::catalog::{table, Table};
use summary_lake::keys::{parse_object_key, Partition};
use summary_lake::Layout;
use summary_plan::compaction::{decide_claim, ClaimDecision};
use summary_plan::manifest::{Manifest, ReadManifest};
use summary_plan::step::Precondition;
use summary_plan::{Plan, Step};

use crate::convert::Convert;
use crate::parallel::try_map;
use crate::shared::{retire, Retired};
use crate::store::{Expected, ObjectStore, PutOutcome};

/// Where tables and partitions are registered (Glue, or a test's record).
/// The tables (and partitions) a lake of `layout` is read through.
pub trait Catalog: Sync {
    fn ensure_table(&self, table: &'static Table, layout: Layout) -> Result<()>;
    fn add_partitions(
        &self,
        table: &'static Table,
        layout: Layout,
        partitions: &[Partition],
    ) -> Result<()>;
}

/// What a plan is applied to.
pub struct Lake<'a> {
    pub store: &'a dyn ObjectStore,
    /// What the converter writes: the lake's layout, as its descriptor says.
    pub layout: Layout,
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
    /// The version (ETag) each conditional write of the plan left, by key.
    pub versions: BTreeMap<String, String>,
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
        let written = Written::default();
        for stage in &plan.stages {
            for done in try_map(stage, self.io_concurrency, |step| {
                self.step(step, &written)
                    .inspect_err(|error| {
                        if matches!(error, Error::Conflict(_)) {
                            crate::metrics::precondition_failed(step.label());
                        }
                    })
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
        applied.versions = written.lock().drain().collect();
        Ok(applied)
    }

    fn step(&self, step: &Step, written: &Written) -> Result<Done> {
        let store = self.store;
        match step {
            Step::PutManifest {
                key,
                manifest,
                expect,
            } => written.swap(store, key, &manifest.to_json(), expect)?,
            Step::PutJournal {
                key,
                journal,
                expect,
            } => written.swap(store, key, &journal.to_json(), expect)?,
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
                let input = summary_plan::compaction::JournalInput {
                    key: input.clone(),
                    run: run.clone(),
                    source: source.clone(),
                };
                // Chunks of other partitions, and events, update the same
                // run's manifest: swap only the version read.
                let claimed = swap_until_settled(
                    key,
                    || {
                        let read = read_manifest(store, key)?;
                        Ok(
                            match decide_claim(read.as_ref().map(|r| &r.manifest), &input, output) {
                                ClaimDecision::Claimed => Swap::Done(true),
                                ClaimDecision::Moved => Swap::Done(false),
                                ClaimDecision::Claim(manifest) => Swap::Write {
                                    bytes: manifest.to_json(),
                                    expected: Expected::of_version(read.map(|r| r.version)),
                                    then: true,
                                },
                            },
                        )
                    },
                    store,
                )?;
                return Ok(Done::Claimed(run.clone(), claimed));
            }
            Step::Register { kind, partitions } => {
                if let Some(catalog) = self.catalog {
                    register(catalog, self.layout, *kind, partitions)?;
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
        // The output's key says its layout, as the inputs' do.
        let layout = parse_object_key(output).map_or(Layout::ScorePctid, |k| k.layout());
        match self.converter.merge(layout, kind, table, &parts, &[])? {
            // Created only: another compaction of the chunk may have merged
            // it, and deleted inputs this one then could not read.
            Some(merged) => match self.store.put_if(output, &merged.bytes, &Expected::Absent) {
                Ok(_) => Ok(Some(merged.bytes.len() as u64)),
                Err(Error::Conflict(_)) => Ok(self.store.get(output)?.map(|b| b.len() as u64)),
                Err(error) => Err(error),
            },
            None => Ok(None),
        }
    }
}

/// The manifest at `key` with its version, if there is one; an unreadable
/// one is an error saying how to get past it.
pub fn read_manifest(lake: &dyn ObjectStore, key: &str) -> Result<Option<ReadManifest>> {
    let Some(object) = lake.get_versioned(key)? else {
        return Ok(None);
    };
    match Manifest::from_json(&object.bytes) {
        Ok(manifest) => Ok(Some(ReadManifest {
            manifest,
            version: object.etag,
        })),
        Err(error) => Err(Error::Unreadable(format!(
            "{key}: {error}; fix or delete it to let the run be written again"
        ))),
    }
}

/// The versions this plan's conditional writes left, for later stages
/// that expect [`Precondition::Earlier`].
#[derive(Default)]
struct Written(Mutex<HashMap<String, String>>);

impl Written {
    fn swap(
        &self,
        store: &dyn ObjectStore,
        key: &str,
        bytes: &[u8],
        expect: &Precondition,
    ) -> Result<()> {
        let expected = match expect {
            Precondition::Absent => Expected::Absent,
            Precondition::Version(etag) => Expected::Version(etag.clone()),
            Precondition::Earlier => {
                let earlier = self.lock().get(key).cloned();
                Expected::Version(earlier.ok_or_else(|| {
                    Error::Permanent(format!(
                        "{key}: the plan expects a version an earlier stage wrote, and none did"
                    ))
                })?)
            }
        };
        let version = store.put_if(key, bytes, &expected)?;
        self.lock().insert(key.to_string(), version);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What one round of a read-modify-write does.
pub(crate) enum Swap<T> {
    /// Nothing to write: the result.
    Done(T),
    /// Write `bytes` over the version read, then the result is `then`.
    Write {
        bytes: Vec<u8>,
        expected: Expected,
        then: T,
    },
    /// Delete the object. Unconditionally: S3-compatible stores (and the
    /// test servers) lack conditional deletes. Callers delete only shared
    /// objects emptied of every run; one written again meanwhile under the
    /// same key (a batch redone) holds runs whose manifests the batch then
    /// checks again.
    Delete(T),
}

/// Rounds of read, decide, compare-and-swap on `key` until one swap holds
/// (another writer's swap in between makes the round start again), at
/// most [`MAX_SWAP_ROUNDS`] times.
pub(crate) fn swap_until_settled<T>(
    key: &str,
    mut round: impl FnMut() -> Result<Swap<T>>,
    store: &dyn ObjectStore,
) -> Result<T> {
    // This process's writers of the key queue rather than race.
    let _turn = crate::turns::take(key);
    for attempt in 1..=MAX_SWAP_ROUNDS {
        match round()? {
            Swap::Done(result) => return Ok(result),
            Swap::Delete(result) => {
                store.delete(key)?;
                return Ok(result);
            }
            Swap::Write {
                bytes,
                expected,
                then,
            } => match store.put_if(key, &bytes, &expected) {
                Ok(_) => return Ok(then),
                Err(Error::Conflict(_)) if attempt < MAX_SWAP_ROUNDS => {
                    crate::metrics::precondition_failed("read again and swap");
                    tracing::debug!(key, attempt, "lost a compare-and-swap; reading again");
                    crate::backoff::pause(attempt);
                }
                Err(error) => return Err(error),
            },
        }
    }
    unreachable!("the last round returns")
}

/// Rounds of read and swap of one key before a writer gives up with a
/// retryable conflict: only a key under constant contention gets there.
pub const MAX_SWAP_ROUNDS: u32 = 8;

/// Creates the kind's tables and registers their partitions.
fn register(
    catalog: &dyn Catalog,
    layout: Layout,
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
            catalog.ensure_table(table, layout)?;
        } else {
            catalog.add_partitions(table, layout, &list)?;
        }
    }
    Ok(())
}
