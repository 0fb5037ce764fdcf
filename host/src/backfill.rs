//! Backfill: the runs of an index, fetched from a folder or a bucket in
//! deterministic batches, each batch one converter call writing one object
//! per (table, partition) for all its runs, with per-run manifests naming
//! the batch objects that hold each run's rows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sha2::{Digest, Sha256};
use summary_edge::backfill::{
    batch_of_checkpoint, checkpoint_key, checkpoint_prefix, departures, hex, BackfillBatch,
};
use summary_edge::manifest::{error_key, manifest_key, Manifest, SourceVersion, MANIFEST_FORMAT};
use summary_layout::catalog::table;
use summary_layout::diagnostic::render;
use summary_layout::keys::{object_key, parse_object_key};
use summary_layout::Kind;
use summary_pipeline::convert::{Convert, GuestFailure, Outcome, ParquetObject, Summary};

use crate::aws::{parse_s3_url, AwsClient};
use crate::glue_catalog::GlueCatalog;
use crate::parallel::try_map;
use crate::pipeline::{read_manifest, register};
use crate::shared::retire;
use crate::store::ObjectStore;

/// Where the summaries are: `<folder or s3 prefix>/<run>.summary` for
/// nucleotide, `<run>.psummary` for protein and RdRp.
pub enum SummarySource {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl SummarySource {
    pub fn parse(text: &str) -> Result<Self> {
        if text.starts_with("s3://") {
            let (bucket, prefix) = parse_s3_url(text)?;
            Ok(SummarySource::S3 { bucket, prefix })
        } else {
            Ok(SummarySource::Dir(PathBuf::from(text)))
        }
    }

    /// The names a run's summary may have, in the order tried: Serratus'
    /// own (`summary2/<run>.summary`, `psummary/<run>.psummary`,
    /// `rsummary/<run>.psummary`), then `<run>.rsummary.psummary`, the name
    /// RdRp summaries get when the three kinds share a folder.
    fn file_names(kind: Kind, run: &str) -> Vec<String> {
        match kind {
            Kind::Nucleotide => vec![format!("{run}.summary")],
            Kind::Protein => vec![format!("{run}.psummary")],
            Kind::Rdrp => vec![
                format!("{run}.psummary"),
                format!("{run}.rsummary.psummary"),
            ],
        }
    }

    /// Where run `run`'s summary is looked for first, for messages.
    pub fn locate(&self, kind: Kind, run: &str) -> String {
        self.location(&Self::file_names(kind, run)[0])
    }

    fn location(&self, name: &str) -> String {
        match self {
            SummarySource::Dir(dir) => dir.join(name).display().to_string(),
            SummarySource::S3 { bucket, prefix } if prefix.is_empty() => {
                format!("s3://{bucket}/{name}")
            }
            SummarySource::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}/{name}"),
        }
    }

    /// The summary, where it was found, and its version; `None` when
    /// there is none.
    fn fetch(
        &self,
        client: &AwsClient,
        kind: Kind,
        run: &str,
        max_bytes: u64,
    ) -> Result<Option<Fetched>> {
        for name in Self::file_names(kind, run) {
            if let Some((bytes, version)) = self.fetch_one(client, &name, max_bytes)? {
                return Ok(Some(Fetched {
                    location: self.location(&name),
                    bytes,
                    version,
                }));
            }
        }
        Ok(None)
    }

    fn fetch_one(
        &self,
        client: &AwsClient,
        name: &str,
        max_bytes: u64,
    ) -> Result<Option<(Vec<u8>, SourceVersion)>> {
        match self {
            SummarySource::Dir(dir) => {
                let path = dir.join(name);
                let bytes = match std::fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
                };
                // A local file has no ETag: its content hash stands in.
                let etag = hex(&Sha256::digest(&bytes)[..16]);
                let version = SourceVersion {
                    bucket: String::new(),
                    key: path.display().to_string(),
                    etag: Some(etag),
                    version_id: None,
                    sequencer: None,
                };
                Ok(Some((bytes, version)))
            }
            SummarySource::S3 { bucket, prefix } => {
                let key = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                };
                let Some(response) = client.get_object(bucket, &key, max_bytes)? else {
                    return Ok(None);
                };
                let version = SourceVersion {
                    bucket: bucket.clone(),
                    key,
                    // Events carry the ETag without its quotes.
                    etag: response
                        .header("etag")
                        .map(|t| t.trim_matches('"').to_string()),
                    version_id: response.header("x-amz-version-id").map(str::to_string),
                    sequencer: None,
                };
                Ok(Some((response.body, version)))
            }
        }
    }
}

/// A fetched summary.
struct Fetched {
    location: String,
    bytes: Vec<u8>,
    version: SourceVersion,
}

/// Reads the index: a local file or `s3://bucket/key`.
pub fn read_index(client: &AwsClient, location: &str) -> Result<String> {
    let bytes = if location.starts_with("s3://") {
        let (bucket, key) = parse_s3_url(location)?;
        match client.get_object(&bucket, &key, 1 << 30)? {
            Some(response) => response.body,
            None => bail!("the index {location} does not exist"),
        }
    } else {
        std::fs::read(location).with_context(|| format!("reading the index {location}"))?
    };
    String::from_utf8(bytes).with_context(|| format!("{location}: the index is not UTF-8 text"))
}

pub struct Backfill<'a> {
    pub converter: &'a dyn Convert,
    pub lake: &'a dyn ObjectStore,
    pub catalog: Option<&'a GlueCatalog<'a>>,
    pub client: &'a AwsClient,
    pub source: SummarySource,
    pub kind: Kind,
    /// Batches worked on at once.
    pub jobs: usize,
    /// Requests of one batch in flight at once.
    pub io_concurrency: usize,
    pub max_summary_bytes: u64,
    /// Redo batches already checkpointed.
    pub redo: bool,
    pub progress: bool,
}

/// A run that did not land.
#[derive(Clone, Debug)]
pub struct RunFailure {
    pub run: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct BackfillReport {
    pub batches: usize,
    /// Batches skipped because a checkpoint says they are done.
    pub batches_skipped: usize,
    pub batches_failed: Vec<(String, String)>,
    pub runs_landed: usize,
    /// Runs left alone because an S3 event already landed a version of them.
    pub runs_kept: usize,
    pub failures: Vec<RunFailure>,
    pub rows: u64,
    pub objects: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// What one batch did.
#[derive(Default)]
struct BatchResult {
    landed: usize,
    kept: usize,
    failures: Vec<RunFailure>,
    rows: u64,
    objects: usize,
    bytes_in: u64,
    bytes_out: u64,
}

impl Backfill<'_> {
    pub fn run(&self, batches: Vec<BackfillBatch>) -> Result<BackfillReport> {
        let mut report = BackfillReport {
            batches: batches.len(),
            ..Default::default()
        };
        let done: BTreeSet<String> = if self.redo {
            BTreeSet::new()
        } else {
            self.lake
                .list(&checkpoint_prefix(self.kind))?
                .iter()
                .filter_map(|key| batch_of_checkpoint(key).map(str::to_string))
                .collect()
        };
        let errored: BTreeSet<String> = self
            .lake
            .list(&format!("_errors/{}/", self.kind))?
            .iter()
            .filter_map(|key| {
                key.rsplit('/')
                    .next()?
                    .strip_suffix(".json")
                    .map(str::to_string)
            })
            .collect();
        let (todo, skipped): (Vec<_>, Vec<_>) =
            batches.into_iter().partition(|b| !done.contains(&b.name));
        report.batches_skipped = skipped.len();
        let total_runs: usize = todo.iter().map(|b| b.runs.len()).sum();
        let progress = self.progress_bar(total_runs as u64);
        let failed_runs = AtomicUsize::new(0);
        let next = AtomicUsize::new(0);
        let shared = Mutex::new(report);
        std::thread::scope(|scope| {
            for _ in 0..self.jobs.max(1).min(todo.len().max(1)) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = todo.get(index) else { break };
                    let started = Instant::now();
                    let result = self.run_batch(batch, &errored);
                    let mut report = shared.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(result) => {
                            tracing::info!(
                                kind = %self.kind, batch = %batch.name, runs = batch.runs.len(),
                                landed = result.landed, kept = result.kept, failed = result.failures.len(),
                                objects = result.objects, ms = started.elapsed().as_millis() as u64,
                                "backfill batch done"
                            );
                            failed_runs.fetch_add(result.failures.len(), Ordering::Relaxed);
                            for failure in &result.failures {
                                progress.suspend(|| eprintln!("{}", failure.message));
                            }
                            report.runs_landed += result.landed;
                            report.runs_kept += result.kept;
                            report.failures.extend(result.failures);
                            report.rows += result.rows;
                            report.objects += result.objects;
                            report.bytes_in += result.bytes_in;
                            report.bytes_out += result.bytes_out;
                        }
                        Err(error) => {
                            let message = format!("{error:#}");
                            tracing::error!(kind = %self.kind, batch = %batch.name, error = %message, "backfill batch failed");
                            progress.suspend(|| {
                                eprintln!("batch {} ({} runs from {}) failed: {message}", batch.name, batch.runs.len(), batch.runs[0])
                            });
                            failed_runs.fetch_add(batch.runs.len(), Ordering::Relaxed);
                            report.batches_failed.push((batch.name.clone(), message));
                        }
                    }
                    progress.inc(batch.runs.len() as u64);
                    progress.set_message(format!("{} failed", failed_runs.load(Ordering::Relaxed)));
                });
            }
        });
        progress.finish_and_clear();
        let mut report = shared.into_inner().unwrap_or_else(|e| e.into_inner());
        report.failures.sort_by(|a, b| a.run.cmp(&b.run));
        Ok(report)
    }

    fn progress_bar(&self, total: u64) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} runs {per_sec} eta {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message("0 failed");
        bar
    }

    /// One batch, in the order that keeps every run findable through its
    /// manifest whatever point a crash stops at:
    /// 1. read the runs' manifests: a run an S3 event landed is left alone
    ///    (events are the live path and carry the newest version);
    /// 2. fetch and convert the others; a missing or bad summary is
    ///    dead-lettered and fails alone;
    /// 3. manifests listing old ∪ new objects, incomplete, for the runs that
    ///    leave objects;
    /// 4. the batch objects; 5. the runs leave their old objects;
    /// 6. Glue; 7. the final manifests; 8. the checkpoint.
    fn run_batch(&self, batch: &BackfillBatch, errored: &BTreeSet<String>) -> Result<BatchResult> {
        let kind = self.kind;
        let mut result = BatchResult::default();
        let manifests: Vec<Option<Manifest>> = try_map(&batch.runs, self.io_concurrency, |run| {
            read_manifest(self.lake, &manifest_key(kind.as_str(), run))
        })?;
        let mut work: Vec<(&String, Option<Manifest>)> = Vec::new();
        for (run, manifest) in batch.runs.iter().zip(manifests) {
            if manifest
                .as_ref()
                .is_some_and(|m| m.source.sequencer.is_some())
            {
                result.kept += 1;
            } else {
                work.push((run, manifest));
            }
        }
        let fetched = try_map(&work, self.io_concurrency, |(run, _)| {
            self.source
                .fetch(self.client, kind, run, self.max_summary_bytes)
        })?;

        // Fetched summaries, then converted together.
        let mut summaries = Vec::new();
        let mut versions = BTreeMap::new();
        let mut failed: Vec<(usize, String)> = Vec::new();
        for (index, ((run, _), fetched)) in work.iter().zip(fetched).enumerate() {
            match fetched {
                None => failed.push((
                    index,
                    format!(
                        "{}: not found (run {run} of the index)",
                        self.source.locate(kind, run)
                    ),
                )),
                Some(Fetched {
                    location,
                    bytes,
                    version,
                }) => {
                    result.bytes_in += bytes.len() as u64;
                    summaries.push((
                        index,
                        Summary {
                            kind,
                            source: location,
                            bytes,
                        },
                    ));
                    versions.insert(index, version);
                }
            }
        }
        let (objects, converted) = self.convert(&mut summaries, &work, &mut failed)?;
        let objects: Vec<ParquetObject> = objects
            .into_iter()
            .map(|o| {
                let table = table(kind, &o.table)
                    .with_context(|| format!("unknown table {kind}/{}", o.table))?;
                Ok(ParquetObject {
                    key: object_key(table, o.partition, &batch.name),
                    ..o
                })
            })
            .collect::<Result<_>>()?;
        let batch_keys: BTreeSet<String> = objects.iter().map(|o| o.key.clone()).collect();

        // Each converted run's new objects: those of the batch holding its rows.
        let new_keys: BTreeMap<usize, Vec<String>> = converted
            .iter()
            .map(|index| {
                let keys = objects
                    .iter()
                    .filter(|o| o.runs.contains(work[*index].0))
                    .map(|o| o.key.clone())
                    .collect();
                (*index, keys)
            })
            .collect();
        // A run that failed keeps its rows outside this batch (as an event's
        // dead letter keeps the previous version), so it only leaves this
        // batch's objects: those written again without it, and those of an
        // earlier run of the batch that are not written again.
        let outside_batch: BTreeMap<usize, Vec<String>> = work
            .iter()
            .enumerate()
            .filter(|(index, _)| !new_keys.contains_key(index))
            .filter_map(|(index, (_, manifest))| {
                let keys = manifest
                    .as_ref()?
                    .objects
                    .iter()
                    .filter(|k| !is_of_batch(k, &batch.name))
                    .cloned()
                    .collect();
                Some((index, keys))
            })
            .collect();
        let leaving = departures(
            work.iter()
                .enumerate()
                .filter_map(|(index, (_, manifest))| {
                    let manifest = manifest.as_ref()?;
                    let keys = new_keys.get(&index).or(outside_batch.get(&index))?;
                    Some((manifest, keys.as_slice()))
                }),
            &batch_keys,
        );

        // 3. pending manifests of the runs that leave objects.
        let leavers: BTreeSet<&str> = leaving.values().flatten().map(String::as_str).collect();
        let version_of = |index: usize| versions.get(&index).cloned();
        let pending: Vec<(String, Manifest)> = work
            .iter()
            .enumerate()
            .filter(|(_, (run, _))| leavers.contains(run.as_str()))
            .filter_map(|(index, (run, old))| {
                let old = old.as_ref()?;
                let mut objects: Vec<String> = old.objects.clone();
                objects.extend(new_keys.get(&index).cloned().unwrap_or_default());
                objects.sort();
                objects.dedup();
                let manifest = Manifest {
                    objects,
                    complete: false,
                    source: version_of(index).unwrap_or(old.source.clone()),
                    ..old.clone()
                };
                Some((manifest_key(kind.as_str(), run), manifest))
            })
            .collect();
        try_map(&pending, self.io_concurrency, |(key, manifest)| {
            self.lake.put(key, &manifest.to_json())
        })?;

        // 4. the batch objects.
        try_map(&objects, self.io_concurrency, |o| {
            self.lake.put(&o.key, &o.bytes)
        })?;
        result.objects = objects.len();
        result.bytes_out = objects.iter().map(|o| o.bytes.len() as u64).sum();
        result.rows = objects.iter().map(|o| o.rows).sum();

        // 5. runs leave the objects they no longer use.
        let leaving: Vec<(String, Vec<String>)> = leaving.into_iter().collect();
        try_map(&leaving, self.io_concurrency, |(key, runs)| {
            retire(self.lake, self.converter, key, runs)
        })?;

        // 6. Glue.
        if let Some(catalog) = self.catalog {
            register(
                catalog,
                kind,
                objects.iter().map(|o| (o.table.as_str(), o.partition)),
            )?;
        }

        // An S3 event that landed a run while this batch was in flight wins:
        // the run leaves the batch's objects and keeps the event's manifest.
        let overtaken = self.overtaken(&new_keys, &work)?;
        let mut leaving_batch: BTreeMap<&String, Vec<String>> = BTreeMap::new();
        for index in &overtaken {
            for key in &new_keys[index] {
                leaving_batch
                    .entry(key)
                    .or_default()
                    .push(work[*index].0.clone());
            }
        }
        let leaving_batch: Vec<(&String, Vec<String>)> = leaving_batch.into_iter().collect();
        try_map(&leaving_batch, self.io_concurrency, |(key, runs)| {
            retire(self.lake, self.converter, key, runs)
        })?;
        result.kept += overtaken.len();

        // 7. final manifests (and dead letters), each written only if it changed.
        let mut writes: Vec<(String, Option<Vec<u8>>)> = Vec::new();
        for (index, (run, old)) in work.iter().enumerate() {
            let key = manifest_key(kind.as_str(), run);
            if overtaken.contains(&index) {
                continue;
            }
            match (new_keys.get(&index), version_of(index)) {
                (Some(keys), Some(source)) => {
                    let manifest = Manifest {
                        format: MANIFEST_FORMAT,
                        kind: kind.to_string(),
                        run: run.to_string(),
                        source,
                        objects: keys.clone(),
                        complete: true,
                    };
                    if old.as_ref() != Some(&manifest) {
                        writes.push((key, Some(manifest.to_json())));
                    }
                    if errored.contains(run.as_str()) {
                        writes.push((error_key(kind.as_str(), run), None));
                    }
                    result.landed += 1;
                }
                _ => {
                    // A failed run keeps its rows outside this batch, if any.
                    if let (Some(old), Some(kept)) = (old, outside_batch.get(&index)) {
                        if *kept != old.objects {
                            let manifest = Manifest {
                                objects: kept.clone(),
                                complete: true,
                                ..old.clone()
                            };
                            writes.push((key, (!kept.is_empty()).then(|| manifest.to_json())));
                        }
                    }
                }
            }
        }
        for (index, message) in &failed {
            let (run, _) = &work[*index];
            let record = json!({
                "source": self.source.locate(kind, run),
                "kind": kind.as_str(),
                "error": message,
            });
            let mut bytes = serde_json::to_vec_pretty(&record).expect("JSON serializes");
            bytes.push(b'\n');
            writes.push((error_key(kind.as_str(), run), Some(bytes)));
            result.failures.push(RunFailure {
                run: run.to_string(),
                message: message.clone(),
            });
        }
        try_map(&writes, self.io_concurrency, |(key, bytes)| match bytes {
            Some(bytes) => self.lake.put(key, bytes).map(|_| ()),
            None => self.lake.delete(key),
        })?;

        // 8. the checkpoint.
        let checkpoint = json!({
            "batch": batch.name,
            "index": batch.index,
            "runs": batch.runs.len(),
            "landed": result.landed,
            "kept": result.kept,
            "failed": result.failures.iter().map(|f| &f.run).collect::<Vec<_>>(),
            "objects": result.objects,
        });
        let mut bytes = serde_json::to_vec_pretty(&checkpoint).expect("JSON serializes");
        bytes.push(b'\n');
        self.lake.put(&checkpoint_key(kind, &batch.name), &bytes)?;
        Ok(result)
    }

    /// The converted runs whose manifest an S3 event wrote since the batch
    /// read it (one GET per run: it narrows the race with events to the
    /// moment between this read and the manifest write).
    fn overtaken(
        &self,
        new_keys: &BTreeMap<usize, Vec<String>>,
        work: &[(&String, Option<Manifest>)],
    ) -> Result<BTreeSet<usize>> {
        let converted: Vec<usize> = new_keys.keys().copied().collect();
        let now = try_map(&converted, self.io_concurrency, |index| {
            let run = work[*index].0;
            let Some(bytes) = self.lake.get(&manifest_key(self.kind.as_str(), run))? else {
                return Ok(None);
            };
            // The batch only works on runs whose manifest had no sequencer.
            let by_event = Manifest::from_json(&bytes).is_ok_and(|m| m.source.sequencer.is_some());
            Ok(by_event.then_some(*index))
        })?;
        Ok(now.into_iter().flatten().collect())
    }

    /// Converts the fetched summaries in one call; a summary that fails
    /// (a parse error, another run inside, or over the guest's limits
    /// alone) is moved to `failed`. Returns the objects and the indices of
    /// the converted runs.
    fn convert(
        &self,
        summaries: &mut Vec<(usize, Summary)>,
        work: &[(&String, Option<Manifest>)],
        failed: &mut Vec<(usize, String)>,
    ) -> Result<(Vec<ParquetObject>, Vec<usize>)> {
        loop {
            if summaries.is_empty() {
                return Ok((Vec::new(), Vec::new()));
            }
            let inputs: Vec<Summary> = summaries.iter().map(|(_, s)| s.clone()).collect();
            let batch = match self.converter.convert(&inputs) {
                Ok(batch) => batch,
                Err(error) if error.downcast_ref::<GuestFailure>().is_some() => {
                    // Find the summaries that fail alone; convert the rest again.
                    let before = summaries.len();
                    summaries.retain(|(index, summary)| {
                        match self.converter.convert(std::slice::from_ref(summary)) {
                            Err(error) if error.downcast_ref::<GuestFailure>().is_some() => {
                                failed.push((*index, format!("{}: {error:#}", summary.source)));
                                false
                            }
                            _ => true,
                        }
                    });
                    if summaries.len() == before {
                        return Err(error.context(
                            "every summary converts alone: try a smaller --batch-runs or a larger --guest-memory-per-byte",
                        ));
                    }
                    continue;
                }
                Err(error) => return Err(error),
            };
            let mut bad = Vec::new();
            for ((index, summary), outcome) in summaries.iter().zip(&batch.outcomes) {
                let expected = work[*index].0;
                match outcome {
                    Outcome::Converted { run } if run == expected => {}
                    Outcome::Converted { run } => bad.push((
                        *index,
                        format!(
                            "{}: the summary is of run {run}, not {expected}",
                            summary.source
                        ),
                    )),
                    Outcome::Failed(e) => bad.push((
                        *index,
                        render(&summary.source, e.line, &e.field, &e.message),
                    )),
                }
            }
            if !bad.is_empty() {
                summaries.retain(|(index, _)| !bad.iter().any(|(i, _)| i == index));
                failed.extend(bad);
                continue;
            }
            let converted = summaries.iter().map(|(index, _)| *index).collect();
            return Ok((batch.objects, converted));
        }
    }
}

/// Whether `key` is an object of the batch named `batch`.
fn is_of_batch(key: &str, batch: &str) -> bool {
    parse_object_key(key).is_some_and(|k| k.name == batch)
}
