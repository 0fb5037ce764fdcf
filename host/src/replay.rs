//! Replay: summary files from local folders through the converter into a
//! store, in deterministic batches run in parallel.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use summary_lake::diagnostic::render;
use summary_lake::keys::parse_object_key;
use summary_lake::prefixes;
use summary_lake::source::{is_summary_file_name, kind_from_path, sniff_kind};
use summary_lake::Kind;
use summary_pipeline::apply::Lake;
use summary_pipeline::batch::{land_batch, local_file_version, read_manifests};
use summary_pipeline::convert::{convert_isolating, Outcome, Summary};
use summary_pipeline::parallel::run_jobs;
use summary_plan::batch::{BatchRun, RunResult};
use summary_plan::Plan;

use crate::cli::ReplayArgs;
use crate::context::Context;

pub struct ReplayOptions {
    /// Summaries per converter call (and per batch object).
    pub batch_size: usize,
    /// Batches converted at once.
    pub jobs: usize,
    /// Empty the replayed kinds in the store first.
    pub clear: bool,
    /// Treat every file as this kind instead of telling it from folder or keys.
    pub kind: Option<Kind>,
    /// One line per file instead of a progress bar.
    pub per_file_lines: bool,
}

/// A summary file and the kind it will be converted as.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub kind: Kind,
}

#[derive(Debug)]
pub struct FileFailure {
    pub path: PathBuf,
    /// Compiler-style: `PATH:LINE: field 'F': message`, or `PATH: message`.
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ReplayReport {
    pub files: usize,
    pub converted: usize,
    pub failures: Vec<FileFailure>,
    /// Rows per `kind/table`.
    pub rows: BTreeMap<String, u64>,
    pub objects_written: usize,
    pub objects_unchanged: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Files named on the command line plus the summary files inside named
/// folders (recursively), sorted by path, each once.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("{}: cannot read", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, files)?;
        } else if entry.file_name().to_str().is_some_and(is_summary_file_name) {
            files.push(path);
        }
    }
    Ok(())
}

/// The kind of each file: forced, else its folder's, else its own keys'.
pub fn classify(paths: Vec<PathBuf>, forced: Option<Kind>) -> (Vec<SourceFile>, Vec<FileFailure>) {
    let mut sources = Vec::new();
    let mut failures = Vec::new();
    for path in paths {
        let kind = forced
            .or_else(|| kind_from_path(&path.to_string_lossy()))
            .map(Ok)
            .unwrap_or_else(|| {
                let bytes = std::fs::read(&path).map_err(|e| format!("cannot read: {e}"))?;
                sniff_kind(&bytes).ok_or_else(|| {
                    "cannot tell the summary kind from its folder or its keys (use --kind)"
                        .to_string()
                })
            });
        match kind {
            Ok(kind) => sources.push(SourceFile { path, kind }),
            Err(message) => failures.push(FileFailure {
                message: format!("{}: {message}", path.display()),
                path,
            }),
        }
    }
    (sources, failures)
}

/// Deterministic batches: files of one kind in path order, cut every
/// `batch_size`, so the same files always make the same batches.
pub fn plan_batches(sources: &[SourceFile], batch_size: usize) -> Vec<Vec<SourceFile>> {
    let mut batches = Vec::new();
    for kind in Kind::ALL {
        let of_kind: Vec<SourceFile> = sources.iter().filter(|s| s.kind == kind).cloned().collect();
        batches.extend(
            of_kind
                .chunks(batch_size.max(1))
                .map(<[SourceFile]>::to_vec),
        );
    }
    batches
}

pub fn replay(
    lake: &Lake,
    sources: Vec<SourceFile>,
    options: &ReplayOptions,
) -> Result<ReplayReport> {
    let mut report = ReplayReport {
        files: sources.len(),
        ..Default::default()
    };
    let kinds: BTreeSet<Kind> = sources.iter().map(|s| s.kind).collect();
    if options.clear {
        for kind in &kinds {
            let removed = lake.store.delete_prefix(&prefixes::objects(*kind))?
                + lake.store.delete_prefix(&prefixes::manifests(*kind))?;
            tracing::info!(%kind, removed, "cleared kind");
        }
    }
    let mut errored = BTreeSet::new();
    for kind in &kinds {
        errored.extend(
            lake.store
                .list(&prefixes::dead_letters(*kind))?
                .iter()
                .filter_map(|key| Some((*kind, prefixes::name_of(key)?.to_string()))),
        );
    }
    let batches = plan_batches(&sources, options.batch_size);
    let progress = Progress::new(options.per_file_lines, sources.len() as u64);
    run_jobs(
        &batches,
        options.jobs,
        |batch| run_batch(lake, batch, &errored, &progress),
        |_, result| {
            report.merge(result);
            true
        },
    );
    progress.finish();
    report.failures.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

impl ReplayReport {
    fn merge(&mut self, other: ReplayReport) {
        self.converted += other.converted;
        self.failures.extend(other.failures);
        for (table, rows) in other.rows {
            *self.rows.entry(table).or_default() += rows;
        }
        self.objects_written += other.objects_written;
        self.objects_unchanged += other.objects_unchanged;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
    }
}

/// Reads, converts and lands one batch as a backfill batch lands (its
/// runs' manifests name the batch's objects). A file that cannot be read
/// or parsed fails alone; a failed conversion or write fails the batch.
fn run_batch(
    lake: &Lake,
    batch: &[SourceFile],
    errored: &BTreeSet<(Kind, String)>,
    progress: &Progress,
) -> ReplayReport {
    let started = Instant::now();
    let mut report = ReplayReport::default();
    let mut summaries = Vec::with_capacity(batch.len());
    for source in batch {
        match std::fs::read(&source.path) {
            Ok(bytes) => {
                report.bytes_in += bytes.len() as u64;
                summaries.push(Summary {
                    kind: source.kind,
                    source: source.path.display().to_string(),
                    bytes,
                });
            }
            Err(e) => {
                let failure = FileFailure {
                    message: format!("{}: cannot read: {e}", source.path.display()),
                    path: source.path.clone(),
                };
                progress.failed(&failure);
                report.failures.push(failure);
            }
        }
    }
    if summaries.is_empty() {
        return report;
    }
    let kind = batch[0].kind;
    let fail_all =
        |report: &mut ReplayReport, paths: &[&Summary], error: &dyn std::fmt::Display| {
            tracing::error!(%kind, files = paths.len(), error = %error, "batch failed");
            for summary in paths {
                let failure = FileFailure {
                    message: format!("{}: batch failed: {error}", summary.source),
                    path: PathBuf::from(&summary.source),
                };
                progress.failed(&failure);
                report.failures.push(failure);
            }
        };
    let isolated = match convert_isolating(lake.converter, lake.layout, &summaries) {
        Ok(isolated) => isolated,
        Err(error) => {
            fail_all(&mut report, &summaries.iter().collect::<Vec<_>>(), &error);
            return report;
        }
    };
    for (index, message) in &isolated.gave_up {
        let failure = FileFailure {
            message: message.clone(),
            path: PathBuf::from(&summaries[*index].source),
        };
        progress.failed(&failure);
        report.failures.push(failure);
    }
    let Some(converted) = isolated.batch else {
        return report;
    };
    let convert_ms = started.elapsed().as_millis() as u64;
    let inputs: Vec<&Summary> = isolated.converted.iter().map(|&i| &summaries[i]).collect();
    let mut runs = Vec::new();
    for (summary, outcome) in inputs.iter().zip(&converted.outcomes) {
        if let Outcome::Converted { run, .. } = outcome {
            runs.push((
                run.clone(),
                local_file_version(&summary.source, &summary.bytes),
            ));
        }
    }
    let objects = converted.objects;
    let name = objects
        .first()
        .and_then(|o| parse_object_key(&o.key).map(|k| k.name.to_string()))
        .unwrap_or_default();
    let landed = read_manifests(
        lake,
        kind,
        &runs.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(),
    )
    .and_then(|manifests| {
        let runs = runs
            .into_iter()
            .zip(manifests)
            .map(|((run, source), manifest)| BatchRun {
                dead_lettered: errored.contains(&(kind, run.clone())),
                run,
                manifest,
                result: RunResult::Converted { source },
            })
            .collect();
        land_batch(lake, kind, &name, runs, objects, false, |_| Plan::new())
    });
    match landed {
        Ok(landed) => {
            report.objects_written = landed.applied.objects_written;
            report.objects_unchanged = landed.applied.objects_unchanged;
            report.bytes_out = landed.applied.bytes_written;
            for (summary, outcome) in inputs.iter().zip(&converted.outcomes) {
                let path = Path::new(&summary.source);
                match outcome {
                    Outcome::Converted { run, tables } => {
                        report.converted += 1;
                        for (table, rows) in tables {
                            *report.rows.entry(format!("{kind}/{table}")).or_default() += rows;
                        }
                        progress.converted(path, kind, run, tables);
                    }
                    Outcome::Failed(e) => {
                        let failure = FileFailure {
                            message: render(&summary.source, e.line, &e.field, &e.message),
                            path: path.to_path_buf(),
                        };
                        progress.failed(&failure);
                        report.failures.push(failure);
                    }
                }
            }
            tracing::info!(
                %kind,
                files = inputs.len(),
                objects = landed.applied.objects_written + landed.applied.objects_unchanged,
                written = landed.applied.objects_written,
                convert_ms,
                ms = started.elapsed().as_millis() as u64,
                "batch stored"
            );
        }
        Err(error) => fail_all(&mut report, &inputs, &format!("{error:#}")),
    }
    report
}

/// What the user sees while files land: a line per file, or a bar.
enum Progress {
    Lines,
    Bar(ProgressBar),
}

impl Progress {
    fn new(per_file_lines: bool, total: u64) -> Self {
        if per_file_lines {
            return Progress::Lines;
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} eta {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress::Bar(bar)
    }

    fn converted(&self, path: &Path, kind: Kind, run: &str, tables: &[(String, u64)]) {
        match self {
            Progress::Lines => {
                let tables: Vec<String> = tables
                    .iter()
                    .map(|(table, rows)| format!("{table}={rows}"))
                    .collect();
                println!("{run} {kind} {} ({})", tables.join(" "), path.display());
            }
            Progress::Bar(bar) => bar.inc(1),
        }
    }

    fn failed(&self, failure: &FileFailure) {
        match self {
            Progress::Lines => eprintln!("{}", failure.message),
            Progress::Bar(bar) => {
                bar.suspend(|| eprintln!("{}", failure.message));
                bar.inc(1);
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// `replay`: the files into the lake; exit 1 if any failed.
pub fn command(args: ReplayArgs, ctx: &Context) -> Result<ExitCode> {
    let ReplayArgs {
        paths,
        destination,
        batch,
        jobs,
        clear,
        kind,
        lines,
        json: as_json,
    } = args;
    let lake = ctx.open_lake(&destination)?;
    let files = collect_files(&paths)?;
    let (sources, mut failures) = classify(files, kind);
    for failure in &failures {
        eprintln!("{}", failure.message);
    }
    let options = ReplayOptions {
        batch_size: batch as usize,
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        clear,
        kind,
        // Standard output holds the JSON document alone.
        per_file_lines: !as_json && (lines || sources.len() <= 100),
    };
    let mut report = replay(&lake.writer(&ctx.converter, 8)?, sources, &options)?;
    report.files += failures.len();
    failures.append(&mut report.failures);
    summary_pipeline::metrics::records("landed", report.converted as u64);
    summary_pipeline::metrics::records("failed", failures.len() as u64);
    let seconds = ctx.started.elapsed().as_secs_f64();
    let rows: u64 = report.rows.values().sum();
    let summary = format!(
        "replayed {} files into {} in {seconds:.2}s: {} converted, {} failed; {rows} rows; {} objects written, {} unchanged; {:.1} MB in, {:.1} MB out",
        report.files,
        lake.store.describe(),
        report.converted,
        failures.len(),
        report.objects_written,
        report.objects_unchanged,
        report.bytes_in as f64 / 1e6,
        report.bytes_out as f64 / 1e6,
    );
    let details = serde_json::json!({
        "seconds": seconds,
        "files": report.files,
        "converted": report.converted,
        "failed": failures.len(),
        "failures": failures.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(),
        "rows": report.rows,
        "objects_written": report.objects_written,
        "objects_unchanged": report.objects_unchanged,
        "bytes_in": report.bytes_in,
        "bytes_out": report.bytes_out,
    });
    crate::report::finish("replay", &lake, as_json, &summary, details);
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{} file(s) failed:", failures.len());
    for failure in &failures {
        eprintln!("  {}", failure.message);
    }
    Ok(ExitCode::from(crate::cli::exit::SOME_FAILED))
}
