//! A converted batch into the lake (backfill batches and replayed
//! batches): its plan in two parts, with the runs an S3 event landed in
//! between read again.

use std::collections::BTreeSet;

use crate::error::Result;
use sha2::{Digest, Sha256};
use summary_lake::text::hex;
use summary_lake::Kind;
use summary_plan::batch::{BatchPlan, BatchRun, RunResult};
use summary_plan::manifest::{manifest_key, Manifest, SourceVersion};
use summary_plan::{ParquetObject, Plan};

use crate::apply::{read_manifest, Applied, Lake};
use crate::parallel::try_map;

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
/// manifests and dead letters of `runs`. With `events_win`, a run whose
/// manifest an S3 event wrote since `runs` were read leaves the batch's
/// objects (events are the live path and carry the newest version).
/// `last` (a checkpoint) is applied once everything else is.
pub fn land_batch(
    lake: &Lake,
    kind: Kind,
    name: &str,
    runs: Vec<BatchRun>,
    objects: Vec<ParquetObject>,
    events_win: bool,
    last: impl FnOnce(&BatchLanded) -> Plan,
) -> Result<BatchLanded> {
    let plan = BatchPlan::new(kind, name, runs, &objects);
    let mut landed = BatchLanded {
        applied: lake.apply(&plan.write(objects))?,
        ..Default::default()
    };
    let converted: Vec<&str> = plan
        .runs()
        .iter()
        .filter(|r| matches!(r.result, RunResult::Converted { .. }))
        .map(|r| r.run.as_str())
        .collect();
    let overtaken: BTreeSet<String> = if events_win {
        landed_by_events(lake, kind, &converted)?
    } else {
        BTreeSet::new()
    };
    let finished = lake.apply(&plan.finish(&overtaken))?;
    landed.applied.retired += finished.retired;
    landed.landed = converted
        .iter()
        .filter(|run| !overtaken.contains(**run))
        .map(|run| run.to_string())
        .collect();
    landed.overtaken = overtaken.into_iter().collect();
    lake.apply(&last(&landed))?;
    Ok(landed)
}

/// The runs whose manifest an S3 event wrote (one GET per run: it narrows
/// the race with events to the moment between this read and the manifest
/// write). A batch only works on runs whose manifest has no sequencer.
fn landed_by_events(lake: &Lake, kind: Kind, runs: &[&str]) -> Result<BTreeSet<String>> {
    let now = try_map(runs, lake.io_concurrency, |run| {
        let Some(bytes) = lake.store.get(&manifest_key(kind.as_str(), run))? else {
            return Ok::<_, crate::error::Error>(None);
        };
        let by_event = Manifest::from_json(&bytes).is_ok_and(|m| m.source.sequencer.is_some());
        Ok(by_event.then(|| run.to_string()))
    })?;
    Ok(now.into_iter().flatten().collect())
}

/// The manifests of `runs` (`None` for a run without one).
pub fn read_manifests(lake: &Lake, kind: Kind, runs: &[String]) -> Result<Vec<Option<Manifest>>> {
    try_map(runs, lake.io_concurrency, |run| {
        read_manifest(lake.store, &manifest_key(kind.as_str(), run))
    })
}

/// The version of a local file: it has no ETag, so its content hash
/// stands in.
pub fn local_file_version(path: &str, bytes: &[u8]) -> SourceVersion {
    SourceVersion {
        bucket: String::new(),
        key: path.to_string(),
        etag: Some(hex(&Sha256::digest(bytes)[..16])),
        version_id: None,
        sequencer: None,
    }
}
