//! `summary-uploader`: Serratus summaries to a Parquet lake.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use summary_layout::Kind;
use summary_uploader::converter::{default_cache_dir, Converter, GuestLimits};
use summary_uploader::replay::{self, ReplayOptions};
use summary_uploader::store::LocalStore;

#[derive(Parser)]
#[command(
    version,
    about = "Serratus summary files to a Hive-partitioned Parquet lake, through a WebAssembly converter"
)]
struct Cli {
    /// The converter component (default: $SUMMARY_COMPONENT, else summary_guest.wasm beside this binary).
    #[arg(long, global = true, value_name = "FILE")]
    component: Option<PathBuf>,
    /// Where precompiled components are cached (default: ~/.cache/summary-uploader).
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile the component on every start instead of caching it.
    #[arg(long, global = true)]
    no_cache: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert summary files and folders into a local lake.
    Replay {
        /// Summary files, or folders to search for *.summary / *.psummary.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The lake directory.
        #[arg(long, default_value = "lake", value_name = "DIR")]
        lake: PathBuf,
        /// Summaries per batch; each batch writes one object per table and partition.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        batch: u64,
        /// Batches converted in parallel (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Delete the replayed kinds from the lake first.
        #[arg(long)]
        clear: bool,
        /// Convert every file as this kind (default: from the folder name, else from the file's keys).
        #[arg(long, value_parser = parse_kind)]
        kind: Option<Kind>,
        /// A line per file even for many files (default: lines up to 100 files, then a progress bar).
        #[arg(long)]
        lines: bool,
    },
    /// Write a deterministic synthetic corpus of summaries (for benchmarks and tests).
    GenCorpus {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1000)]
        files: u64,
        /// Output folder; files go to <out>/<kind>/.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
        .map_err(|e: summary_layout::kind::UnknownKind| e.to_string())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let started = Instant::now();
    if let Command::GenCorpus { seed, files, out } = &cli.command {
        let written = gen_corpus(*seed, *files, out)?;
        println!(
            "wrote {files} summaries ({:.1} MB) to {}",
            written as f64 / 1e6,
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let component = component_path(cli.component)?;
    let cache_dir = if cli.no_cache {
        None
    } else {
        cli.cache_dir.or_else(default_cache_dir)
    };
    let converter = Converter::load(&component, cache_dir.as_deref(), GuestLimits::default())?;
    tracing::info!(component = %component.display(), ms = started.elapsed().as_millis() as u64, "converter loaded");
    match cli.command {
        Command::Replay {
            paths,
            lake,
            batch,
            jobs,
            clear,
            kind,
            lines,
        } => {
            let files = replay::collect_files(&paths)?;
            let (sources, mut failures) = replay::classify(files, kind);
            for failure in &failures {
                eprintln!("{}", failure.message);
            }
            let options = ReplayOptions {
                batch_size: batch as usize,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                clear,
                kind,
                per_file_lines: lines || sources.len() <= 100,
            };
            let store = LocalStore::new(&lake);
            let mut report = replay::replay(&converter, &store, sources, &options)?;
            report.files += failures.len();
            failures.append(&mut report.failures);
            let seconds = started.elapsed().as_secs_f64();
            let rows: u64 = report.rows.values().sum();
            println!(
                "replayed {} files into {} in {seconds:.2}s: {} converted, {} failed; {rows} rows; {} objects written, {} unchanged; {:.1} MB in, {:.1} MB out",
                report.files,
                lake.display(),
                report.converted,
                failures.len(),
                report.objects_written,
                report.objects_unchanged,
                report.bytes_in as f64 / 1e6,
                report.bytes_out as f64 / 1e6,
            );
            if !failures.is_empty() {
                eprintln!("{} file(s) failed:", failures.len());
                for failure in &failures {
                    eprintln!("  {}", failure.message);
                }
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::GenCorpus { .. } => unreachable!("handled before loading the converter"),
    }
}

fn gen_corpus(seed: u64, files: u64, out: &std::path::Path) -> Result<u64> {
    let mut bytes = 0;
    for kind in Kind::ALL {
        std::fs::create_dir_all(out.join(kind.as_str()))
            .with_context(|| format!("creating {}", out.display()))?;
    }
    for index in 0..files {
        let summary = summary_corpus::generate(seed, index);
        let path = out.join(summary.kind.as_str()).join(&summary.file_name);
        std::fs::write(&path, &summary.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        bytes += summary.bytes.len() as u64;
    }
    Ok(bytes)
}

/// `--component`, else `$SUMMARY_COMPONENT`, else `summary_guest.wasm` beside the binary.
fn component_path(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = flag.or_else(|| std::env::var_os("SUMMARY_COMPONENT").map(PathBuf::from)) {
        return Ok(path);
    }
    let exe = std::env::current_exe().context("locating this binary")?;
    let beside = exe.with_file_name("summary_guest.wasm");
    if beside.exists() {
        Ok(beside)
    } else {
        anyhow::bail!(
            "no converter component: pass --component, set SUMMARY_COMPONENT, or put summary_guest.wasm beside {} (scripts/setup does)",
            exe.display()
        )
    }
}
