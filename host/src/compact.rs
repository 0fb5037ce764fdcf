//! Compaction: the per-run objects of each partition merged into a few
//! objects sorted by run, manifests pointed at them, the per-run objects
//! deleted. Journaled, so an interrupted compaction is finished by the next
//! one (`summary_edge::compaction` has the steps).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use summary_edge::compaction::{
    claim, journal_key, journal_prefix, plan_chunks, Chunk, Journal, JournalInput, JOURNAL_FORMAT,
};
use summary_edge::manifest::{manifest_key, Manifest, SourceVersion, MANIFEST_FORMAT};
use summary_layout::keys::parse_object_key;
use summary_layout::Kind;
use summary_pipeline::convert::Convert;

use crate::parallel::try_map;
use crate::pipeline::read_manifest;
use crate::shared::{key_lock, retire};
use crate::store::ObjectStore;

pub struct Compaction<'a> {
    pub converter: &'a dyn Convert,
    pub lake: &'a dyn ObjectStore,
    /// A partition is compacted once it holds this many per-run objects.
    pub min_files: usize,
    /// Per-run objects merged into one output at most.
    pub max_files: usize,
    /// Chunks worked on at once.
    pub jobs: usize,
    pub io_concurrency: usize,
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct CompactReport {
    /// Journals of an interrupted compaction finished first.
    pub resumed: usize,
    pub chunks: usize,
    /// Per-run objects merged (and deleted).
    pub merged: usize,
    /// Runs that changed while their chunk was compacted: their rows were
    /// taken out of the output and their objects left in place.
    pub moved: usize,
    pub outputs: usize,
    pub bytes_out: u64,
}

/// What finishing one journal did.
#[derive(Default)]
struct ChunkResult {
    merged: usize,
    moved: usize,
    output: bool,
    bytes_out: u64,
}

impl Compaction<'_> {
    pub fn run(&self, kind: Kind) -> Result<CompactReport> {
        let mut report = CompactReport::default();
        for key in self.lake.list(&journal_prefix(kind))? {
            let bytes = self
                .lake
                .get(&key)?
                .with_context(|| format!("{key} vanished"))?;
            let journal = Journal::from_json(&bytes).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            tracing::info!(journal = %key, "finishing an interrupted compaction");
            let result = self.finish(&journal)?;
            report.resumed += 1;
            report.add(result);
        }
        let keys = self.lake.list(&format!("{kind}/"))?;
        let chunks = plan_chunks(&keys, self.min_files, self.max_files);
        report.chunks = chunks.len();
        let sources = self.adopt(kind, &keys, &chunks)?;
        let bar = if self.progress {
            let bar = ProgressBar::new(chunks.iter().map(|c| c.inputs.len() as u64).sum());
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
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let shared = Mutex::new((report, None::<anyhow::Error>));
        std::thread::scope(|scope| {
            for _ in 0..self.jobs.max(1).min(chunks.len().max(1)) {
                scope.spawn(|| loop {
                    // After a failure no chunk starts: the journals of those
                    // in flight say what the next run finishes.
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(index) else {
                        break;
                    };
                    let result = self.compact(kind, chunk, &sources);
                    bar.inc(chunk.inputs.len() as u64);
                    let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(result) => shared.0.add(result),
                        Err(error) => {
                            let error = error.context(format!("compacting into {}", chunk.output));
                            shared.1.get_or_insert(error);
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                });
            }
        });
        bar.finish_and_clear();
        let (report, error) = shared.into_inner().unwrap_or_else(|e| e.into_inner());
        match error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// The manifest source of every run with objects to merge. A run
    /// without a manifest (replay keeps none) gets one listing its per-run
    /// objects first, so that an event replacing it later finds the
    /// compacted objects to take it out of.
    fn adopt(
        &self,
        kind: Kind,
        keys: &[String],
        chunks: &[Chunk],
    ) -> Result<BTreeMap<String, SourceVersion>> {
        let runs: BTreeSet<&str> = chunks
            .iter()
            .flat_map(|c| c.inputs.iter().map(|(_, run)| run.as_str()))
            .collect();
        let runs: Vec<&str> = runs.into_iter().collect();
        let sources = try_map(&runs, self.io_concurrency, |run| {
            if let Some(manifest) = self.manifest(kind, run)? {
                return Ok((run.to_string(), manifest.source));
            }
            let objects: Vec<String> = keys
                .iter()
                .filter(|key| parse_object_key(key).is_some_and(|k| k.name == *run))
                .cloned()
                .collect();
            let manifest = Manifest {
                format: MANIFEST_FORMAT,
                kind: kind.to_string(),
                run: run.to_string(),
                source: SourceVersion {
                    bucket: String::new(),
                    key: format!("replay:{run}"),
                    etag: None,
                    version_id: None,
                    sequencer: None,
                },
                objects,
                complete: true,
            };
            self.lake
                .put(&manifest_key(kind.as_str(), run), &manifest.to_json())?;
            Ok((run.to_string(), manifest.source))
        })?;
        Ok(sources.into_iter().collect())
    }

    /// Steps 1 to 5 of one chunk.
    fn compact(
        &self,
        kind: Kind,
        chunk: &Chunk,
        sources: &BTreeMap<String, SourceVersion>,
    ) -> Result<ChunkResult> {
        let started = Instant::now();
        let inputs = chunk
            .inputs
            .iter()
            .map(|(key, run)| JournalInput {
                key: key.clone(),
                run: run.clone(),
                source: sources.get(run).cloned(),
            })
            .collect();
        let journal = Journal {
            format: JOURNAL_FORMAT,
            kind: kind.to_string(),
            table: chunk.table.clone(),
            output: chunk.output.clone(),
            inputs,
        };
        self.lake
            .put(&journal_key(&journal.output), &journal.to_json())?;
        let result = self.finish(&journal)?;
        tracing::info!(output = %chunk.output, inputs = chunk.inputs.len(), moved = result.moved, ms = started.elapsed().as_millis() as u64, "partition chunk compacted");
        Ok(result)
    }

    /// Steps 2 to 5: idempotent, so it also finishes a journal an
    /// interrupted compaction left.
    fn finish(&self, journal: &Journal) -> Result<ChunkResult> {
        let kind: Kind = journal
            .kind
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: {e}", journal.output))?;
        let mut result = ChunkResult::default();
        let output = match self.lake.get(&journal.output)? {
            Some(bytes) => Some(bytes),
            // Not written yet, so no input was deleted yet.
            None => {
                let parts: Vec<Vec<u8>> = try_map(&journal.inputs, self.io_concurrency, |input| {
                    self.lake.get(&input.key)
                })?
                .into_iter()
                .flatten()
                .collect();
                match self.converter.merge(kind, &journal.table, &parts, &[])? {
                    Some(merged) => {
                        self.lake.put(&journal.output, &merged.bytes)?;
                        Some(merged.bytes)
                    }
                    None => None,
                }
            }
        };
        if let Some(bytes) = &output {
            result.output = true;
            result.bytes_out = bytes.len() as u64;
            // 3. manifests point at the output, unless the run changed.
            let claimed = try_map(&journal.inputs, self.io_concurrency, |input| {
                self.claim(kind, journal, input)
            })?;
            let moved: Vec<String> = journal
                .inputs
                .iter()
                .zip(&claimed)
                .filter(|(_, claimed)| !**claimed)
                .map(|(input, _)| input.run.clone())
                .collect();
            if !moved.is_empty() {
                retire(self.lake, self.converter, &journal.output, &moved)?;
            }
            // 4. the merged per-run objects go.
            let merged: Vec<&JournalInput> = journal
                .inputs
                .iter()
                .zip(&claimed)
                .filter(|(_, c)| **c)
                .map(|(i, _)| i)
                .collect();
            try_map(&merged, self.io_concurrency, |input| {
                self.lake.delete(&input.key)
            })?;
            result.merged = merged.len();
            result.moved = moved.len();
        }
        // 5.
        self.lake.delete(&journal_key(&journal.output))?;
        Ok(result)
    }

    /// Points the run's manifest from its input to the output; false when
    /// the run changed since the chunk was planned (its rows must leave
    /// the output).
    fn claim(&self, kind: Kind, journal: &Journal, input: &JournalInput) -> Result<bool> {
        let key = manifest_key(kind.as_str(), &input.run);
        // Chunks of other partitions update the same run's manifest.
        let _guard = key_lock(&key);
        let Some(manifest) = self.manifest(kind, &input.run)? else {
            return Ok(false);
        };
        let holds = |k: &String| manifest.objects.contains(k);
        if holds(&journal.output) && !holds(&input.key) {
            return Ok(true);
        }
        if Some(&manifest.source) != input.source.as_ref()
            || !holds(&input.key)
            || !manifest.complete
        {
            return Ok(false);
        }
        self.lake.put(
            &key,
            &claim(&manifest, &input.key, &journal.output).to_json(),
        )?;
        Ok(true)
    }

    fn manifest(&self, kind: Kind, run: &str) -> Result<Option<Manifest>> {
        read_manifest(self.lake, &manifest_key(kind.as_str(), run))
    }
}

impl CompactReport {
    fn add(&mut self, result: ChunkResult) {
        self.merged += result.merged;
        self.moved += result.moved;
        self.outputs += usize::from(result.output);
        self.bytes_out += result.bytes_out;
    }
}
