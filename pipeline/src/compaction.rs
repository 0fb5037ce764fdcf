//! A compaction chunk into the lake: the journal and the merged output,
//! then the claims on the input runs' manifests (read as they are now),
//! then the inputs that moved go. `summary_plan::compaction` has the rules.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use summary_lake::Kind;
use summary_plan::compaction::{
    claims, merge_step, settle, start_chunk, Chunk, Journal, JournalInput, JOURNAL_FORMAT,
};
use summary_plan::manifest::SourceVersion;
use summary_plan::Plan;

use crate::apply::Lake;

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
