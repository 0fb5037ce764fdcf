//! Compaction into the lake: the chunks of a kind planned over what the
//! lake holds now, then each chunk: the journal and the merged output, the
//! claims on the input runs' manifests (read as they are now), and the
//! inputs that moved go. `summary_plan::compaction` has the rules.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Context, Error, Result};
use summary_lake::keys::parse_object_key;
use summary_lake::Kind;
use summary_plan::compaction::{
    claims, merge_step, mergeable, plan_chunks, settle, start_chunk, to_read, Chunk, ChunkLimits,
    Journal, JournalInput, JOURNAL_FORMAT,
};
use summary_plan::manifest::SourceVersion;
use summary_plan::Plan;

use crate::apply::Lake;
use crate::batch::read_manifests;
use crate::parallel::try_map;

/// The chunks of one kind, and each input run's manifest source when they
/// were planned (a run without manifest is left out).
#[derive(Debug, Default)]
pub struct Planned {
    pub chunks: Vec<Chunk>,
    pub sources: BTreeMap<String, SourceVersion>,
}

/// Plans the compaction of `kind` over the objects the lake holds now: the
/// runs of the small shared objects are read from the objects, and every
/// run's manifest says which objects are its version's.
pub fn plan_kind(lake: &Lake, kind: Kind, limits: &ChunkLimits) -> Result<Planned> {
    let objects = lake
        .store
        .list_sized(&summary_lake::prefixes::objects(kind))?;
    let (per_run, shared) = to_read(&objects, limits);
    let shared_runs = runs_in(lake, kind, &shared)?;
    let runs: Vec<String> = per_run
        .into_iter()
        .chain(shared_runs.values().flatten().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let manifests: BTreeMap<String, _> = runs
        .iter()
        .cloned()
        .zip(read_manifests(lake, kind, &runs)?)
        .filter_map(|(run, read)| Some((run, read?.manifest)))
        .collect();
    let chunks = plan_chunks(
        &mergeable(&objects, &shared_runs, &manifests, limits),
        limits,
    );
    let sources = manifests
        .into_iter()
        .map(|(run, manifest)| (run, manifest.source))
        .collect();
    Ok(Planned { chunks, sources })
}

/// The runs whose rows each of the shared objects `keys` holds, read from
/// the objects (an object gone since the listing is left out).
fn runs_in(lake: &Lake, kind: Kind, keys: &[String]) -> Result<BTreeMap<String, Vec<String>>> {
    let runs = try_map(keys, lake.io_concurrency, |key| -> Result<_> {
        let Some(bytes) = lake.store.get(key)? else {
            return Ok(None);
        };
        let parsed = parse_object_key(key)
            .ok_or_else(|| Error::Permanent(format!("{key}: not a lake object key")))?;
        let merged = lake
            .converter
            .merge(parsed.layout(), kind, parsed.table, &[bytes], &[])
            .with_context(|| format!("reading the runs of {key}"))?;
        Ok(Some((
            key.clone(),
            merged.map(|m| m.runs).unwrap_or_default(),
        )))
    })?;
    Ok(runs.into_iter().flatten().collect())
}

/// What one chunk did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChunkDone {
    /// Inputs merged into the output (and deleted).
    pub merged: usize,
    /// Runs that changed meanwhile: their rows left the output and their
    /// objects stayed.
    pub moved: usize,
    pub output: bool,
    pub bytes_out: u64,
}

/// Compacts `chunk`; `sources` holds each input run's manifest source as
/// planned (a run without manifest is left out, and so moves).
pub fn compact_chunk(
    lake: &Lake,
    kind: Kind,
    chunk: &Chunk,
    sources: &BTreeMap<String, SourceVersion>,
) -> Result<ChunkDone> {
    let journal = Journal {
        format: JOURNAL_FORMAT,
        kind: kind.to_string(),
        table: chunk.table.clone(),
        output: chunk.output.clone(),
        inputs: chunk
            .inputs
            .iter()
            .map(|(key, run)| JournalInput {
                key: key.clone(),
                run: run.clone(),
                source: sources.get(run).cloned(),
            })
            .collect(),
    };
    let output = match lake.apply(&start_chunk(kind, journal.clone())) {
        Ok(applied) => applied.merged_output,
        // The journal exists: another compaction has this chunk (and the
        // next compaction finishes it if that one stops).
        Err(Error::Conflict(taken)) => {
            tracing::info!(output = %chunk.output, %taken, "another compaction has this chunk; skipped");
            return Ok(ChunkDone::default());
        }
        Err(error) => return Err(error),
    };
    settle_chunk(lake, &journal, output)
}

/// Finishes a journal an interrupted compaction left: every step is
/// idempotent, so it is the chunk's plan from the merge on.
pub fn finish_journal(lake: &Lake, journal: &Journal) -> Result<ChunkDone> {
    let kind: Kind = journal
        .kind
        .parse()
        .map_err(|e| Error::Unreadable(format!("{}: {e}", journal.output)))?;
    let output = lake
        .apply(&Plan::new().then([merge_step(kind, journal)]))?
        .merged_output;
    settle_chunk(lake, journal, output)
}

fn settle_chunk(lake: &Lake, journal: &Journal, output: Option<u64>) -> Result<ChunkDone> {
    let claimed = match output {
        Some(_) => lake.apply(&claims(journal))?.claimed,
        None => Default::default(),
    };
    lake.apply(&settle(journal, output.is_some(), &claimed))?;
    Ok(ChunkDone {
        merged: if output.is_some() { claimed.len() } else { 0 },
        moved: if output.is_some() {
            journal.inputs.len() - claimed.len()
        } else {
            0
        },
        output: output.is_some(),
        bytes_out: output.unwrap_or(0),
    })
}
