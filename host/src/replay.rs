//! Replay: summary files from local folders through the converter into a
//! store, in deterministic batches run in parallel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use summary_layout::diagnostic::render;
use summary_layout::keys::Partition;
use summary_layout::route::{is_summary_file_name, kind_from_path, sniff_kind};
use summary_layout::Kind;

use crate::converter::{Converter, GuestFailure, Outcome, Summary};
use crate::glue_catalog::GlueCatalog;
use crate::parallel::try_map;
use crate::pipeline::register;
use crate::store::{ObjectStore, PutOutcome};

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
    /// Object writes of one batch in flight at once.
    pub io_concurrency: usize,
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
    converter: &Converter,
    store: &dyn ObjectStore,
    catalog: Option<&GlueCatalog>,
    sources: Vec<SourceFile>,
    options: &ReplayOptions,
) -> Result<ReplayReport> {
    let mut report = ReplayReport {
        files: sources.len(),
        ..Default::default()
    };
    if options.clear {
        let kinds: std::collections::BTreeSet<Kind> = sources.iter().map(|s| s.kind).collect();
        for kind in kinds {
            let removed = store.delete_prefix(&format!("{kind}/"))?;
            tracing::info!(%kind, removed, "cleared kind");
        }
    }
    let batches = plan_batches(&sources, options.batch_size);
    let progress = Progress::new(options.per_file_lines, sources.len() as u64);
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(report);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1).min(batches.len().max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(batch) = batches.get(index) else {
                    break;
                };
                let result = run_batch(
                    converter,
                    store,
                    catalog,
                    batch,
                    options.io_concurrency,
                    &progress,
                );
                let mut report = shared.lock().unwrap_or_else(|e| e.into_inner());
                report.merge(result);
            });
        }
    });
    progress.finish();
    report = shared.into_inner().unwrap_or_else(|e| e.into_inner());
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

/// Reads, converts and stores one batch. A file that cannot be read or
/// parsed fails alone; a failed conversion or write fails the whole batch.
fn run_batch(
    converter: &Converter,
    store: &dyn ObjectStore,
    catalog: Option<&GlueCatalog>,
    batch: &[SourceFile],
    io_concurrency: usize,
    progress: &Progress,
) -> ReplayReport {
    let started = Instant::now();
    let mut report = ReplayReport::default();
    let mut summaries = Vec::with_capacity(batch.len());
    let mut paths = Vec::with_capacity(batch.len());
    for source in batch {
        match std::fs::read(&source.path) {
            Ok(bytes) => {
                report.bytes_in += bytes.len() as u64;
                summaries.push(Summary {
                    kind: source.kind.into(),
                    source: source.path.display().to_string(),
                    bytes,
                });
                paths.push(&source.path);
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
    let kind = batch[0].kind;
    let converted = convert_isolating(converter, &mut summaries, &mut paths, &mut report, progress);
    if summaries.is_empty() {
        return report;
    }
    let convert_ms = started.elapsed().as_millis() as u64;
    let written = converted.and_then(|converted| {
        let mut written = (0, 0, 0u64);
        let outcomes = try_map(&converted.objects, io_concurrency, |object| {
            store.put(&object.key, &object.bytes)
        })?;
        for (outcome, object) in outcomes.iter().zip(&converted.objects) {
            match outcome {
                PutOutcome::Written => written.0 += 1,
                PutOutcome::Unchanged => written.1 += 1,
            }
            written.2 += object.bytes.len() as u64;
        }
        if let Some(catalog) = catalog {
            let tables = converted.objects.iter().map(|o| {
                let partition = o.partition.map(|p| Partition {
                    score: p.score,
                    pctid: p.pctid,
                });
                (o.table.as_str(), partition)
            });
            register(catalog, kind, tables)?;
        }
        Ok((converted, written))
    });
    match written {
        Ok((converted, (objects_written, objects_unchanged, bytes_out))) => {
            report.objects_written = objects_written;
            report.objects_unchanged = objects_unchanged;
            report.bytes_out = bytes_out;
            for (outcome, path) in converted.outcomes.iter().zip(&paths) {
                match outcome {
                    Outcome::Converted(c) => {
                        report.converted += 1;
                        for t in &c.tables {
                            *report
                                .rows
                                .entry(format!("{kind}/{}", t.table))
                                .or_default() += t.rows;
                        }
                        progress.converted(path, kind, c);
                    }
                    Outcome::Failed(e) => {
                        let failure = FileFailure {
                            message: render(
                                &path.display().to_string(),
                                e.line,
                                &e.field,
                                &e.message,
                            ),
                            path: (*path).clone(),
                        };
                        progress.failed(&failure);
                        report.failures.push(failure);
                    }
                }
            }
            tracing::info!(
                %kind,
                files = summaries.len(),
                objects = converted.objects.len(),
                written = objects_written,
                convert_ms,
                ms = started.elapsed().as_millis() as u64,
                "batch stored"
            );
        }
        Err(error) => {
            tracing::error!(%kind, files = summaries.len(), error = %format!("{error:#}"), "batch failed");
            for path in paths {
                let failure = FileFailure {
                    message: format!("{}: batch failed: {error:#}", path.display()),
                    path: path.clone(),
                };
                progress.failed(&failure);
                report.failures.push(failure);
            }
        }
    }
    report
}

/// Converts the batch. A guest failure (over its memory or time limit, or a
/// trap) fails a whole call, so then each file is tried alone: the files
/// that fail alone are reported and dropped, and the rest convert together.
fn convert_isolating(
    converter: &Converter,
    summaries: &mut Vec<Summary>,
    paths: &mut Vec<&PathBuf>,
    report: &mut ReplayReport,
    progress: &Progress,
) -> Result<crate::converter::Batch> {
    if summaries.is_empty() {
        return Err(anyhow::anyhow!("nothing to convert"));
    }
    let whole = converter.convert(summaries);
    let Err(error) = &whole else { return whole };
    if summaries.len() == 1 || error.downcast_ref::<GuestFailure>().is_none() {
        return whole;
    }
    let mut index = 0;
    summaries.retain(|summary| {
        let alone = converter.convert(std::slice::from_ref(summary));
        let path = paths[index];
        index += 1;
        match alone {
            Ok(_) => true,
            Err(error) => {
                let failure = FileFailure {
                    message: format!("{}: {error:#}", path.display()),
                    path: path.clone(),
                };
                progress.failed(&failure);
                report.failures.push(failure);
                false
            }
        }
    });
    let failed: Vec<PathBuf> = report.failures.iter().map(|f| f.path.clone()).collect();
    paths.retain(|path| !failed.contains(path));
    if summaries.is_empty() {
        return Err(anyhow::anyhow!("every file failed alone"));
    }
    converter.convert(summaries)
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

    fn converted(&self, path: &Path, kind: Kind, converted: &crate::converter::Converted) {
        match self {
            Progress::Lines => {
                let tables: Vec<String> = converted
                    .tables
                    .iter()
                    .map(|t| format!("{}={}", t.table, t.rows))
                    .collect();
                println!(
                    "{} {kind} {} ({})",
                    converted.run,
                    tables.join(" "),
                    path.display()
                );
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
