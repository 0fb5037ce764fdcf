//! A converted batch into the lake (backfill batches and replayed
//! batches): its plan in two parts, with the runs an S3 event landed in
//! between read again.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use summary_lake::Kind;
use summary_plan::batch::{BatchPlan, BatchRun, RunResult};
use summary_plan::manifest::{manifest_key, ReadManifest, SourceVersion};
use summary_plan::{ParquetObject, Plan};

use crate::apply::{read_manifest, Applied, Lake, MAX_SWAP_ROUNDS};
use crate::parallel::try_map;
use crate::store::content_etag;

/// What landing a batch did.
#[derive(Debug, Default)]
pub struct BatchLanded {
    /// Converted runs whose manifest now names the batch's objects.
    pub landed: Vec<String>,
    /// Converted runs an S3 event landed while the batch was written: they
    /// keep the event's version.
    pub overtaken: Vec<String>,
    pub applied: Applied,
}

/// Writes a batch: `objects` under the batch's keys (named `name`) and the
/// manifests and dead letters of `runs`. A run whose manifest another
/// writer changed while the batch was written leaves the batch's objects,
/// and so does, with `events_win`, a run whose manifest an S3 event wrote
/// (events are the live path and carry the newest version). `last` (a
/// checkpoint) is applied once everything else is.
pub fn land_batch(
    lake: &Lake,
    kind: Kind,
    name: &str,
    mut runs: Vec<BatchRun>,
    objects: Vec<ParquetObject>,
    events_win: bool,
    last: impl FnOnce(&BatchLanded) -> Plan,
) -> Result<BatchLanded> {
    let names: Vec<String> = runs.iter().map(|r| r.run.clone()).collect();
    // Steps 1–4. Pending manifests replace only the versions read: when
    // another writer swapped one, the manifests are read again and the
    // batch planned again (its objects are the same bytes).
    let mut attempt = 0;
    let (plan, applied) = loop {
        attempt += 1;
        let plan = BatchPlan::new(kind, name, runs.clone(), &objects, events_win);
        match lake.apply(&plan.write(objects.clone())) {
            Ok(applied) => break (plan, applied),
            Err(Error::Conflict(lost)) if attempt < MAX_SWAP_ROUNDS => {
                tracing::info!(batch = name, attempt, %lost, "a manifest changed; planning the batch again");
                crate::backoff::pause(attempt);
                for (run, now) in runs.iter_mut().zip(read_manifests(lake, kind, &names)?) {
                    run.manifest = now;
                }
            }
            Err(error) => return Err(error),
        }
    };
    // Steps 5–6, on the manifests as they are now: a run whose manifest
    // another writer changed since the batch wrote or read it leaves the
    // batch; the others' final manifests replace only the batch's version.
    let ours: BTreeMap<String, Option<String>> = runs
        .iter()
        .map(|run| {
            let key = manifest_key(kind.as_str(), &run.run);
            let version = applied
                .versions
                .get(&key)
                .cloned()
                .or_else(|| run.manifest.as_ref().map(|read| read.version.clone()));
            (run.run.clone(), version)
        })
        .collect();
    let mut attempt = 0;
    let (now, finished) = loop {
        attempt += 1;
        let now: BTreeMap<String, Option<ReadManifest>> = names
            .iter()
            .cloned()
            .zip(read_manifests(lake, kind, &names)?)
            .collect();
        match lake.apply(&plan.finish(&now, &ours)) {
            Ok(finished) => break (now, finished),
            Err(Error::Conflict(lost)) if attempt < MAX_SWAP_ROUNDS => {
                tracing::info!(batch = name, attempt, %lost, "a manifest changed; finishing the batch again");
                crate::backoff::pause(attempt);
            }
            Err(error) => return Err(error),
        }
    };
    let mut landed = BatchLanded {
        applied,
        ..Default::default()
    };
    landed.applied.retired += finished.retired;
    let overtaken = plan.overtaken(&now, &ours);
    for run in plan.runs() {
        if matches!(run.result, RunResult::Converted { .. }) {
            match overtaken.contains(&run.run) {
                true => landed.overtaken.push(run.run.clone()),
                false => landed.landed.push(run.run.clone()),
            }
        }
    }
    lake.apply(&last(&landed))?;
    Ok(landed)
}

/// The manifests of `runs` (`None` for a run without one), with their
/// versions.
pub fn read_manifests(
    lake: &Lake,
    kind: Kind,
    runs: &[String],
) -> Result<Vec<Option<ReadManifest>>> {
    try_map(runs, lake.io_concurrency, |run| {
        read_manifest(lake.store, &manifest_key(kind.as_str(), run))
    })
}

/// The version of a local file: it has no ETag, so its content hash
/// stands in (the one a local lake's objects carry).
pub fn local_file_version(path: &str, bytes: &[u8]) -> SourceVersion {
    SourceVersion {
        bucket: String::new(),
        key: path.to_string(),
        etag: Some(content_etag(bytes)),
        version_id: None,
        sequencer: None,
    }
}
