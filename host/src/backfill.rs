//! Backfill: the runs of an index, fetched from a folder or a bucket in
//! deterministic batches, each batch one converter call writing one object
//! per (table, partition) for all its runs, with per-run manifests naming
//! the batch objects that hold each run's rows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use summary_lake::diagnostic::render;
use summary_lake::keys::parse_object_key;
use summary_lake::source::summary_file_names;
use summary_lake::Kind;
use summary_pipeline::apply::Lake;
use summary_pipeline::batch::{land_batch, local_file_version, read_manifests, BatchLanded};
use summary_pipeline::convert::{convert_isolating, Outcome, ParquetObject, Summary};
use summary_plan::backfill::{
    batch_of_checkpoint, checkpoint_key, checkpoint_prefix, BackfillBatch,
};
use summary_plan::batch::{BatchRun, RunResult};
use summary_plan::manifest::{ReadManifest, SourceVersion};
use summary_plan::step::json_bytes;
use summary_plan::{Plan, Step};

use crate::aws_transport::{parse_s3_url, AwsClient};
use crate::cli::BackfillArgs;
use crate::context::Context;
use crate::parallel::{run_jobs, try_map};

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

    /// Where run `run`'s summary is looked for first, for messages.
    pub fn locate(&self, kind: Kind, run: &str) -> String {
        self.location(&summary_file_names(kind, run)[0])
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
        for name in summary_file_names(kind, run) {
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
                let version = local_file_version(&path.display().to_string(), &bytes);
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
    /// Where the batches land; its `io_concurrency` is the requests of one
    /// batch in flight at once.
    pub lake: Lake<'a>,
    pub client: &'a AwsClient,
    pub source: SummarySource,
    pub kind: Kind,
    /// Batches worked on at once.
    pub jobs: usize,
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
                .store
                .list(&checkpoint_prefix(self.kind))?
                .iter()
                .filter_map(|key| batch_of_checkpoint(key).map(str::to_string))
                .collect()
        };
        let errored: BTreeSet<String> = self
            .lake
            .store
            .list(&summary_lake::prefixes::dead_letters(self.kind))?
            .iter()
            .filter_map(|key| summary_lake::prefixes::name_of(key).map(str::to_string))
            .collect();
        let (todo, skipped): (Vec<_>, Vec<_>) =
            batches.into_iter().partition(|b| !done.contains(&b.name));
        report.batches_skipped = skipped.len();
        let total_runs: usize = todo.iter().map(|b| b.runs.len()).sum();
        let progress = self.progress_bar(total_runs as u64);
        let mut failed_runs = 0;
        run_jobs(
            &todo,
            self.jobs,
            |batch| {
                let started = Instant::now();
                (self.run_batch(batch, &errored), started)
            },
            |batch: &BackfillBatch, (result, started)| {
                match result {
                    Ok(result) => {
                        tracing::info!(
                            kind = %self.kind, batch = %batch.name, runs = batch.runs.len(),
                            landed = result.landed, kept = result.kept, failed = result.failures.len(),
                            objects = result.objects, ms = started.elapsed().as_millis() as u64,
                            "backfill batch done"
                        );
                        failed_runs += result.failures.len();
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
                            eprintln!(
                                "batch {} ({} runs from {}) failed: {message}",
                                batch.name,
                                batch.runs.len(),
                                batch.runs[0]
                            )
                        });
                        failed_runs += batch.runs.len();
                        report.batches_failed.push((batch.name.clone(), message));
                    }
                }
                progress.inc(batch.runs.len() as u64);
                progress.set_message(format!("{failed_runs} failed"));
                true
            },
        );
        progress.finish_and_clear();
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

    /// One batch: the runs' manifests read (a run an S3 event landed is
    /// left alone: events are the live path and carry the newest version),
    /// the others fetched and converted together (a missing or bad summary
    /// is dead-lettered and fails alone), then the batch's plan applied
    /// (`summary_plan::batch` has its order) and the checkpoint last.
    fn run_batch(&self, batch: &BackfillBatch, errored: &BTreeSet<String>) -> Result<BatchResult> {
        let kind = self.kind;
        let mut result = BatchResult::default();
        let manifests = read_manifests(&self.lake, kind, &batch.runs)?;
        let mut work: Vec<(&String, Option<ReadManifest>)> = Vec::new();
        for (run, manifest) in batch.runs.iter().zip(manifests) {
            if manifest
                .as_ref()
                .is_some_and(|m| m.manifest.source.sequencer.is_some())
            {
                result.kept += 1;
            } else {
                work.push((run, manifest));
            }
        }
        let fetched = try_map(&work, self.lake.io_concurrency, |(run, _)| {
            self.source
                .fetch(self.client, kind, run, self.max_summary_bytes)
        })?;

        let mut summaries = Vec::new();
        let mut versions = BTreeMap::new();
        let mut failed: BTreeMap<usize, String> = BTreeMap::new();
        for (index, ((run, _), fetched)) in work.iter().zip(fetched).enumerate() {
            match fetched {
                None => {
                    let message = format!(
                        "{}: not found (run {run} of the index)",
                        self.source.locate(kind, run)
                    );
                    failed.insert(index, message);
                }
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
        let objects = self.convert(&mut summaries, &work, &mut failed)?;
        let objects: Vec<ParquetObject> = objects
            .into_iter()
            .map(|o| {
                let key = parse_object_key(&o.key)
                    .with_context(|| format!("the converter wrote key {}", o.key))?
                    .renamed(&batch.name);
                Ok(ParquetObject { key, ..o })
            })
            .collect::<Result<_>>()?;
        result.objects = objects.len();
        result.bytes_out = objects.iter().map(|o| o.bytes.len() as u64).sum();
        result.rows = objects.iter().map(|o| o.rows).sum();

        let runs: Vec<BatchRun> = work
            .iter()
            .enumerate()
            .map(|(index, (run, manifest))| BatchRun {
                run: run.to_string(),
                manifest: manifest.clone(),
                result: match (failed.get(&index), versions.get(&index)) {
                    (None, Some(source)) => RunResult::Converted {
                        source: source.clone(),
                    },
                    (message, _) => RunResult::Failed {
                        dead_letter: Some(json!({
                            "source": self.source.locate(kind, run),
                            "kind": kind.as_str(),
                            "error": message.cloned().unwrap_or_default(),
                        })),
                    },
                },
                dead_lettered: errored.contains(run.as_str()),
            })
            .collect();
        for (index, message) in &failed {
            result.failures.push(RunFailure {
                run: work[*index].0.to_string(),
                message: message.clone(),
            });
        }
        let kept_before = result.kept;
        let object_count = result.objects;
        let failures: Vec<&String> = result.failures.iter().map(|f| &f.run).collect();
        let checkpoint = |landed: &BatchLanded| {
            let record = json!({
                "batch": batch.name,
                "index": batch.index,
                "runs": batch.runs.len(),
                "landed": landed.landed.len(),
                "kept": kept_before + landed.overtaken.len(),
                "failed": failures,
                "objects": object_count,
            });
            Plan::new().then([Step::PutCheckpoint {
                key: checkpoint_key(kind, &batch.name),
                bytes: json_bytes(&record),
            }])
        };
        let landed = land_batch(
            &self.lake,
            kind,
            &batch.name,
            runs,
            objects,
            true,
            checkpoint,
        )?;
        result.landed = landed.landed.len();
        result.kept += landed.overtaken.len();
        Ok(result)
    }

    /// Converts the fetched summaries in one call; a summary that fails
    /// (a parse error, another run inside, or over the guest's limits
    /// alone) is moved to `failed`, and the rest are converted again
    /// without it. Returns the batch's objects.
    fn convert(
        &self,
        summaries: &mut Vec<(usize, Summary)>,
        work: &[(&String, Option<ReadManifest>)],
        failed: &mut BTreeMap<usize, String>,
    ) -> Result<Vec<ParquetObject>> {
        loop {
            let inputs: Vec<Summary> = summaries.iter().map(|(_, s)| s.clone()).collect();
            let isolated = convert_isolating(self.lake.converter, self.lake.layout, &inputs)?;
            let mut bad: BTreeMap<usize, String> = isolated
                .gave_up
                .into_iter()
                .map(|(i, message)| (summaries[i].0, message))
                .collect();
            let Some(batch) = isolated.batch else {
                summaries.clear();
                failed.extend(bad);
                return Ok(Vec::new());
            };
            for (&i, outcome) in isolated.converted.iter().zip(&batch.outcomes) {
                let (index, summary) = &summaries[i];
                let expected = work[*index].0;
                match outcome {
                    Outcome::Converted { run, .. } if run == expected => {}
                    Outcome::Converted { run, .. } => {
                        bad.insert(
                            *index,
                            format!(
                                "{}: the summary is of run {run}, not {expected}",
                                summary.source
                            ),
                        );
                    }
                    Outcome::Failed(e) => {
                        bad.insert(
                            *index,
                            render(&summary.source, e.line, &e.field, &e.message),
                        );
                    }
                }
            }
            if bad.is_empty() {
                return Ok(batch.objects);
            }
            summaries.retain(|(index, _)| !bad.contains_key(index));
            failed.extend(bad);
        }
    }
}

/// `backfill`: the index's batches of this shard; exit 1 if any run failed.
pub fn command(args: BackfillArgs, ctx: &Context) -> Result<ExitCode> {
    let BackfillArgs {
        index,
        source,
        kind,
        destination,
        batch_runs,
        jobs,
        io_concurrency,
        shard,
        redo,
        max_summary_bytes,
        dry_run,
        json: as_json,
    } = args;
    let lake = ctx.open_lake_for(&destination, dry_run.dry_run)?;
    let text = read_index(ctx.client()?, &index)?;
    let (runs, problems) = summary_plan::backfill::parse_index(&text);
    for problem in &problems {
        eprintln!("{index}:{}: {}", problem.line, problem.message);
    }
    let layout = lake.layout()?;
    let batches = summary_plan::backfill::plan_batches(
        kind,
        layout,
        &runs,
        batch_runs as usize,
        shard.0,
        shard.1,
    );
    let shard_runs: usize = batches.iter().map(|b| b.runs.len()).sum();
    eprintln!(
        "backfilling {shard_runs} of {} {kind} runs (shard {}/{}, {} batches) from {source} into {} ({} layout)",
        runs.len(), shard.0, shard.1, batches.len(), lake.store.describe(), layout
    );
    let backfill = Backfill {
        lake: lake.writer(&ctx.converter, io_concurrency as usize)?,
        client: ctx.client()?,
        source: SummarySource::parse(&source)?,
        kind,
        jobs: jobs as usize,
        max_summary_bytes,
        redo,
        progress: true,
    };
    let report = backfill.run(batches)?;
    let seconds = ctx.started.elapsed().as_secs_f64();
    let worked = report.runs_landed + report.runs_kept + report.failures.len();
    let runs_in_failed_batches: usize = report.batches_failed.len();
    summary_pipeline::metrics::records("landed", report.runs_landed as u64);
    summary_pipeline::metrics::records("unchanged", report.runs_kept as u64);
    summary_pipeline::metrics::records("dead_lettered", report.failures.len() as u64);
    let summary = format!(
        "backfilled {} batches ({} already done) in {seconds:.2}s, {:.0} runs/s: {} runs landed, {} kept (an S3 event landed them), {} failed, {} in failed batches; {} rows; {} objects, {:.1} MB in, {:.1} MB out",
        report.batches,
        report.batches_skipped,
        worked as f64 / seconds.max(1e-9),
        report.runs_landed,
        report.runs_kept,
        report.failures.len(),
        runs_in_failed_batches,
        report.rows,
        report.objects,
        report.bytes_in as f64 / 1e6,
        report.bytes_out as f64 / 1e6,
    );
    let details = json!({
        "seconds": seconds,
        "batches": report.batches,
        "batches_skipped": report.batches_skipped,
        "batches_failed": report.batches_failed.iter().map(|(batch, error)| json!({"batch": batch, "error": error})).collect::<Vec<_>>(),
        "runs_landed": report.runs_landed,
        "runs_kept": report.runs_kept,
        "runs_failed": report.failures.len(),
        "rows": report.rows,
        "objects": report.objects,
        "bytes_in": report.bytes_in,
        "bytes_out": report.bytes_out,
        "index_problems": problems.len(),
    });
    crate::report::finish("backfill", &lake, as_json, &summary, details);
    let failed =
        !(report.failures.is_empty() && report.batches_failed.is_empty() && problems.is_empty());
    // A dry run that finished did what it was asked: say what would happen.
    Ok(if failed && !dry_run.dry_run {
        ExitCode::from(crate::cli::exit::SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
