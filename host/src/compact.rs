//! Compaction: the small objects of each partition (or bucket) — per-run
//! objects, batch objects and earlier outputs under half the target —
//! merged into a few objects sorted by run, manifests pointed at them, the
//! inputs deleted. Journaled, so an interrupted compaction is finished by the next
//! one (`summary_plan::compaction` has the steps, `summary_pipeline::compaction`
//! carries them out).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use summary_lake::Kind;
use summary_pipeline::apply::Lake;
use summary_pipeline::compaction::{compact_chunk, finish_journal, plan_kind, ChunkDone};
use summary_pipeline::parallel::run_jobs;
use summary_plan::compaction::{journal_prefix, Chunk, ChunkLimits, Journal};

use crate::cli::CompactArgs;
use crate::context::Context;

pub struct Compaction<'a> {
    pub lake: Lake<'a>,
    /// Which partitions (or buckets) are compacted, and into chunks of
    /// what size.
    pub limits: ChunkLimits,
    /// Chunks worked on at once.
    pub jobs: usize,
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct CompactReport {
    /// Journals of an interrupted compaction finished first.
    pub resumed: usize,
    pub chunks: usize,
    /// Runs moved from their objects into the outputs.
    pub merged: usize,
    /// Runs that changed while their chunk was compacted: their rows were
    /// taken out of the output and their objects left in place.
    pub moved: usize,
    pub outputs: usize,
    pub bytes_out: u64,
}

impl Compaction<'_> {
    pub fn run(&self, kind: Kind) -> Result<CompactReport> {
        let mut report = CompactReport::default();
        let store = self.lake.store;
        for key in store.list(&journal_prefix(kind))? {
            // Gone since the listing: another compaction finished it.
            let Some(bytes) = store.get(&key)? else {
                continue;
            };
            let journal = Journal::from_json(&bytes).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            tracing::info!(journal = %key, "finishing an interrupted compaction");
            report.add(finish_journal(&self.lake, &journal)?);
            report.resumed += 1;
        }
        let started = Instant::now();
        let planned = plan_kind(&self.lake, kind, &self.limits)?;
        let (chunks, sources) = (planned.chunks, planned.sources);
        report.chunks = chunks.len();
        tracing::info!(%kind, chunks = chunks.len(), ms = started.elapsed().as_millis() as u64, "compaction planned");
        let bar = if self.progress {
            let bar = ProgressBar::new(chunks.iter().map(|c| c.objects() as u64).sum());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} objects merged {per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        let mut failure = None;
        run_jobs(
            &chunks,
            self.jobs,
            |chunk| {
                let started = Instant::now();
                let result = compact_chunk(&self.lake, kind, chunk, &sources);
                if let Ok(done) = &result {
                    tracing::info!(output = %chunk.output, inputs = chunk.objects(), runs = chunk.inputs.len(), moved = done.moved, ms = started.elapsed().as_millis() as u64, "partition chunk compacted");
                }
                result
            },
            |chunk: &Chunk, result| {
                bar.inc(chunk.objects() as u64);
                match result {
                    Ok(done) => {
                        report.add(done);
                        true
                    }
                    // After a failure no chunk starts: the journals of those
                    // in flight say what the next run finishes.
                    Err(error) => {
                        failure.get_or_insert(
                            error.context(format!("compacting into {}", chunk.output)),
                        );
                        false
                    }
                }
            },
        );
        bar.finish_and_clear();
        match failure {
            Some(error) => Err(error.into()),
            None => Ok(report),
        }
    }
}

impl CompactReport {
    fn add(&mut self, done: ChunkDone) {
        self.merged += done.merged;
        self.moved += done.moved;
        self.outputs += usize::from(done.output);
        self.bytes_out += done.bytes_out;
    }
}

/// `compact`: every kind (or one), each finished before the next.
pub fn command(args: CompactArgs, ctx: &Context) -> Result<ExitCode> {
    let CompactArgs {
        destination,
        kind,
        min_files,
        max_files,
        target_mb,
        shard,
        jobs,
        dry_run,
        json: as_json,
    } = args;
    let lake = ctx.open_lake_for(&destination, dry_run.dry_run)?;
    let compaction = Compaction {
        lake: lake.writer(&ctx.converter, 8)?,
        limits: ChunkLimits {
            min_files: min_files as usize,
            max_files: max_files as usize,
            target_bytes: target_mb << 20,
            shard,
        },
        jobs: jobs as usize,
        progress: !as_json,
    };
    let mut lines = Vec::new();
    let mut details = serde_json::Map::new();
    for kind in kind.map_or(Kind::ALL.to_vec(), |k| vec![k]) {
        let report = compaction.run(kind)?;
        lines.push(format!(
            "compacted {kind} in {}: {} runs merged into {} objects ({:.1} MB) in {} chunks; {} interrupted chunks finished; {} runs changed meanwhile and kept their objects",
            lake.store.describe(),
            report.merged,
            report.outputs,
            report.bytes_out as f64 / 1e6,
            report.chunks,
            report.resumed,
            report.moved,
        ));
        details.insert(
            kind.to_string(),
            serde_json::json!({
                "merged": report.merged,
                "outputs": report.outputs,
                "bytes_out": report.bytes_out,
                "chunks": report.chunks,
                "resumed": report.resumed,
                "moved": report.moved,
            }),
        );
    }
    crate::report::finish(
        "compact",
        &lake,
        as_json,
        &lines.join("\n"),
        serde_json::Value::Object(details),
    );
    Ok(ExitCode::SUCCESS)
}
