//! `summary-uploader`: Serratus summaries to a Parquet lake.

use std::io::IsTerminal;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use summary_edge::route::{default_routes, RouteRule};
use summary_layout::Kind;
use summary_uploader::aws::{parse_s3_url, AwsClient};
use summary_uploader::backfill::{self, Backfill, SummarySource};
use summary_uploader::clear;
use summary_uploader::compact::Compaction;
use summary_uploader::converter::{default_cache_dir, precompile_into, Converter, GuestLimits};
use summary_pipeline::apply::{Catalog, Lake};
use summary_uploader::glue_catalog::GlueCatalog;
use summary_uploader::pipeline::Pipeline;
use summary_uploader::replay::{self, ReplayOptions};
use summary_uploader::s3_store::S3Store;
use summary_uploader::sqs_consumer::{Consumer, ConsumerOptions};
use summary_uploader::store::{LocalStore, ObjectStore};
use summary_uploader::{serve, serve_auth};

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
    /// Guest memory allowed per call regardless of input size, in MiB.
    #[arg(long, global = true, default_value_t = 128, value_name = "MIB")]
    guest_memory_mib: usize,
    /// Extra guest memory allowed per input byte.
    #[arg(long, global = true, default_value_t = 16, value_name = "BYTES")]
    guest_memory_per_byte: usize,
    /// Guest run time allowed per call regardless of input size, in seconds.
    #[arg(long, global = true, default_value_t = 10.0, value_name = "SECONDS")]
    guest_seconds: f64,
    /// Longest one S3 or Glue request may take before it is retried, in seconds.
    #[arg(long, global = true, default_value_t = 60.0, value_name = "SECONDS")]
    request_timeout: f64,
    /// Extra guest run time allowed per MiB of input, in seconds.
    #[arg(long, global = true, default_value_t = 1.0, value_name = "SECONDS")]
    guest_seconds_per_mib: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert summary files and folders into a lake (a local directory or s3://).
    Replay {
        /// Summary files, or folders to search for *.summary / *.psummary.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        destination: Destination,
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
    /// Convert the runs of an index in deterministic batches: one object per table and
    /// partition per batch, per-run manifests, resumable.
    Backfill {
        /// One run id per line: a local file or s3://BUCKET/KEY.
        #[arg(long, value_name = "FILE|S3URL")]
        index: String,
        /// Where the summaries are: a folder or s3://BUCKET[/PREFIX] holding <run>.summary
        /// (nucleotide) or <run>.psummary (protein, rdrp).
        #[arg(long, value_name = "DIR|S3URL")]
        source: String,
        #[arg(long, value_parser = parse_kind)]
        kind: Kind,
        #[command(flatten)]
        destination: Destination,
        /// Runs per batch (and per batch object).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch_runs: u64,
        /// Batches worked on at once, each with up to --io-concurrency requests in flight.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=256))]
        jobs: u64,
        /// Requests (downloads, PUTs) of one batch in flight at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
        io_concurrency: u64,
        /// Work on every N-th batch from the I-th only (0 <= I < N), to split a backfill over N machines.
        #[arg(long, default_value = "0/1", value_parser = summary_plan::backfill::parse_shard, value_name = "I/N")]
        shard: (usize, usize),
        /// Redo batches a checkpoint marks done.
        #[arg(long)]
        redo: bool,
        /// Summaries larger than this are dead-lettered.
        #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
        max_summary_bytes: u64,
    },
    /// Merge the per-run objects of each partition into objects sorted by run; resumable.
    Compact {
        #[command(flatten)]
        destination: Destination,
        /// Only this kind (default: every kind).
        #[arg(long, value_parser = parse_kind)]
        kind: Option<Kind>,
        /// Compact a partition once it holds at least this many per-run objects.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
        min_files: u64,
        /// Per-run objects merged into one object at most.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(2..=100_000))]
        max_files: u64,
        /// Partitions compacted at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
        jobs: u64,
    },
    /// Delete a kind from the lake: objects, manifests, dead letters, checkpoints and Glue tables.
    Clear {
        #[command(flatten)]
        destination: Destination,
        #[arg(long, value_parser = parse_kind)]
        kind: Kind,
        /// Really delete (without it, only say what would go).
        #[arg(long)]
        yes: bool,
    },
    /// Process one S3 event document (S3, SQS, SNS or EventBridge shape) to completion.
    HandleEvent {
        /// The event document, or - for standard input.
        #[arg(value_name = "FILE|-")]
        event: String,
        #[command(flatten)]
        destination: Destination,
        #[command(flatten)]
        edge: EdgeOptions,
    },
    /// Serve an HTTP endpoint that processes POSTed S3 event documents.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: String,
        #[command(flatten)]
        server: serve::ServerOptions,
        #[command(flatten)]
        destination: Destination,
        #[command(flatten)]
        edge: EdgeOptions,
        #[command(flatten)]
        auth: serve_auth::AuthOptions,
    },
    /// Long-poll an SQS queue of S3 events; delete each message once all its records landed.
    ConsumeSqs {
        /// The queue, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/summaries.
        #[arg(long, env = "SUMMARY_QUEUE_URL", value_name = "URL")]
        queue_url: String,
        #[command(flatten)]
        destination: Destination,
        #[command(flatten)]
        edge: EdgeOptions,
        /// Messages asked for per receive.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10))]
        batch: u32,
        /// Long-poll wait per receive, in seconds; a shutdown waits for the poll in progress.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=20), value_name = "SECONDS")]
        wait: u32,
        /// How long a received message stays hidden from other consumers;
        /// renewed every third of it while the message is worked on.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=43_200), value_name = "SECONDS")]
        visibility_timeout: u32,
        /// Receive-and-process loops running at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
        concurrency: u64,
        /// Exit once a receive comes back empty (drain the queue, then stop).
        #[arg(long)]
        until_empty: bool,
    },
    /// Run as an AWS Lambda function (custom runtime); what `bootstrap` with no arguments does.
    /// Configured by environment: SUMMARY_DEST, SUMMARY_GLUE_DATABASE, SUMMARY_NO_GLUE, SUMMARY_ROUTES.
    Lambda {
        #[command(flatten)]
        destination: Destination,
        #[command(flatten)]
        edge: EdgeOptions,
    },
    /// Compile the component into --cache-dir ahead of time (for read-only
    /// deployments such as the Lambda zip, which ships it in precompiled/).
    Precompile,
    /// Write a deterministic synthetic corpus of summaries (for benchmarks and tests).
    GenCorpus {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1000)]
        files: u64,
        /// Output folder; files go to <out>/<kind>/.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// How rows spread over partitions: uniform (the widest) or serratus (as in the real summaries).
        #[arg(long, default_value = "uniform")]
        profile: summary_corpus::Profile,
    },
}

/// Where the lake is and whether to register it in Glue.
#[derive(clap::Args)]
struct Destination {
    /// The lake: `s3://BUCKET[/PREFIX]` or a local directory (default: ./lake).
    #[arg(
        long,
        visible_alias = "lake",
        env = "SUMMARY_DEST",
        value_name = "DEST"
    )]
    dest: Option<String>,
    /// Glue database the tables are registered in (for an s3:// lake).
    #[arg(
        long,
        env = "SUMMARY_GLUE_DATABASE",
        default_value = "summary",
        value_name = "NAME"
    )]
    glue_database: String,
    /// Do not touch the Glue catalog.
    #[arg(long, env = "SUMMARY_NO_GLUE")]
    no_glue: bool,
}

/// How events are turned into work.
#[derive(clap::Args)]
struct EdgeOptions {
    /// Route keys to kinds, `PATTERN=KIND` (repeatable; default: summary2/*.summary=nucleotide,
    /// psummary/*.psummary=protein, rsummary/*.psummary=rdrp).
    #[arg(
        long = "route",
        env = "SUMMARY_ROUTES",
        value_delimiter = ',',
        value_name = "PATTERN=KIND"
    )]
    routes: Vec<RouteRule>,
    /// Summaries larger than this are refused before download (dead-lettered).
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    max_summary_bytes: u64,
    /// Object PUTs and DELETEs of one summary in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    io_concurrency: u64,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
        .map_err(|e: summary_layout::kind::UnknownKind| e.to_string())
}

/// The opened destination: the store, and the catalog for an S3 lake.
struct OpenedLake<'a> {
    store: Box<dyn ObjectStore + 'a>,
    catalog: Option<GlueCatalog<'a>>,
}

impl OpenedLake<'_> {
    /// What plans are applied to: this lake, with `converter` for rewrites.
    fn writer<'a>(&'a self, converter: &'a Converter, io_concurrency: usize) -> Lake<'a> {
        Lake {
            store: self.store.as_ref(),
            catalog: self.catalog.as_ref().map(|c| c as &dyn Catalog),
            converter,
            io_concurrency,
        }
    }
}

fn open_lake<'a>(destination: &Destination, client: &'a AwsClient) -> Result<OpenedLake<'a>> {
    let dest = destination.dest.clone().unwrap_or_else(|| "lake".into());
    if !dest.starts_with("s3://") {
        return Ok(OpenedLake {
            store: Box::new(LocalStore::new(dest)),
            catalog: None,
        });
    }
    let (bucket, prefix) = parse_s3_url(&dest)?;
    let store = S3Store::new(client, bucket, prefix);
    let lake_url = store.lake_url().unwrap_or_default();
    let catalog = (!destination.no_glue)
        .then(|| GlueCatalog::new(client, destination.glue_database.clone(), lake_url));
    Ok(OpenedLake {
        store: Box::new(store),
        catalog,
    })
}

fn pipeline<'a>(
    converter: &'a Converter,
    lake: &'a OpenedLake<'a>,
    client: &'a AwsClient,
    edge: &EdgeOptions,
) -> Pipeline<'a> {
    Pipeline {
        converter,
        lake: lake.store.as_ref(),
        source: client,
        catalog: lake.catalog.as_ref().map(|c| c as &dyn Catalog),
        routes: if edge.routes.is_empty() {
            default_routes()
        } else {
            edge.routes.clone()
        },
        max_source_bytes: edge.max_summary_bytes,
        io_concurrency: edge.io_concurrency as usize,
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Escape sequences only for a person at a terminal: never in log
        // files or CloudWatch, nor with NO_COLOR set.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let cli = Cli::parse_from(arguments());
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The command line; Lambda starts `bootstrap` with none, which means `lambda`.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut arguments: Vec<_> = std::env::args_os().collect();
    if arguments.len() == 1 && std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        arguments.push("lambda".into());
    }
    arguments
}

fn run(cli: Cli) -> Result<ExitCode> {
    let started = Instant::now();
    if let Command::GenCorpus {
        seed,
        files,
        out,
        profile,
    } = &cli.command
    {
        let written = gen_corpus(*profile, *seed, *files, out)?;
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
        cli.cache_dir
            .or_else(shipped_cache_dir)
            .or_else(default_cache_dir)
    };
    let limits = GuestLimits {
        base_memory: cli.guest_memory_mib << 20,
        memory_per_input_byte: cli.guest_memory_per_byte,
        base_time: std::time::Duration::from_secs_f64(cli.guest_seconds.max(0.01)),
        time_per_mib: std::time::Duration::from_secs_f64(cli.guest_seconds_per_mib.max(0.0)),
    };
    if let Command::Precompile = cli.command {
        let dir = cache_dir.context("--no-cache leaves nowhere to precompile into")?;
        let path = precompile_into(&component, &dir)?;
        println!("precompiled {} to {}", component.display(), path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let converter = Converter::load(&component, cache_dir.as_deref(), limits)?;
    tracing::info!(component = %component.display(), ms = started.elapsed().as_millis() as u64, "converter loaded");
    let mut aws = summary_uploader::aws::config_from_env()?;
    aws.request_timeout = std::time::Duration::from_secs_f64(cli.request_timeout.max(0.1));
    let client = summary_uploader::aws::native_client(aws);
    match cli.command {
        Command::HandleEvent {
            event,
            destination,
            edge,
        } => {
            let bytes = read_event(&event)?;
            let lake = open_lake(&destination, &client)?;
            let report = pipeline(&converter, &lake, &client, &edge)
                .handle_event(&bytes)
                .map_err(|e| anyhow::anyhow!("{event}: {e}"))?;
            println!("{}", serde_json::to_string_pretty(&report.to_json())?);
            Ok(if report.all_landed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Serve {
            listen,
            server,
            destination,
            edge,
            auth,
        } => {
            let lake = open_lake(&destination, &client)?;
            let authenticator = serve_auth::authenticator(auth)?;
            serve::serve(
                &listen,
                &server,
                &pipeline(&converter, &lake, &client, &edge),
                &authenticator,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            paths,
            destination,
            batch,
            jobs,
            clear,
            kind,
            lines,
        } => {
            let lake = open_lake(&destination, &client)?;
            run_replay(
                &converter,
                &lake,
                &paths,
                batch as usize,
                jobs,
                clear,
                kind,
                lines,
                started,
            )
        }
        Command::ConsumeSqs {
            queue_url,
            destination,
            edge,
            batch,
            wait,
            visibility_timeout,
            concurrency,
            until_empty,
        } => {
            let stop = shutdown_flag()?;
            let lake = open_lake(&destination, &client)?;
            let pipeline = pipeline(&converter, &lake, &client, &edge);
            let consumer = Consumer {
                pipeline: &pipeline,
                client: &client,
                options: ConsumerOptions {
                    queue_url,
                    batch,
                    wait_seconds: wait,
                    visibility_seconds: visibility_timeout,
                    concurrency: concurrency as usize,
                    until_empty,
                },
            };
            eprintln!(
                "consuming {} into {}",
                consumer.options.queue_url,
                lake.store.describe()
            );
            let report = consumer.run(&stop)?;
            let count =
                |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
            eprintln!(
                "consumer stopped: received {}, deleted {}, left {}, released {}",
                count(&report.received),
                count(&report.deleted),
                count(&report.left),
                count(&report.released)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Lambda { destination, edge } => {
            if destination.dest.is_none() {
                anyhow::bail!("set SUMMARY_DEST (or --dest) to the lake, s3://BUCKET[/PREFIX]");
            }
            let lake = open_lake(&destination, &client)?;
            summary_uploader::lambda::run(&pipeline(&converter, &lake, &client, &edge))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backfill {
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
        } => {
            let lake = open_lake(&destination, &client)?;
            let text = backfill::read_index(&client, &index)?;
            let (runs, problems) = summary_plan::backfill::parse_index(&text);
            for problem in &problems {
                eprintln!("{index}:{}: {}", problem.line, problem.message);
            }
            let batches = summary_plan::backfill::plan_batches(
                kind,
                &runs,
                batch_runs as usize,
                shard.0,
                shard.1,
            );
            let shard_runs: usize = batches.iter().map(|b| b.runs.len()).sum();
            eprintln!(
                "backfilling {shard_runs} of {} {kind} runs (shard {}/{}, {} batches) from {source} into {}",
                runs.len(), shard.0, shard.1, batches.len(), lake.store.describe()
            );
            let backfill = Backfill {
                lake: lake.writer(&converter, io_concurrency as usize),
                client: &client,
                source: SummarySource::parse(&source)?,
                kind,
                jobs: jobs as usize,
                max_summary_bytes,
                redo,
                progress: true,
            };
            let report = backfill.run(batches)?;
            let seconds = started.elapsed().as_secs_f64();
            let worked = report.runs_landed + report.runs_kept + report.failures.len();
            println!(
                "backfilled {} batches ({} already done) in {seconds:.2}s, {:.0} runs/s: {} runs landed, {} kept (an S3 event landed them), {} failed, {} in failed batches; {} rows; {} objects, {:.1} MB in, {:.1} MB out",
                report.batches,
                report.batches_skipped,
                worked as f64 / seconds.max(1e-9),
                report.runs_landed,
                report.runs_kept,
                report.failures.len(),
                report.batches_failed.len(),
                report.rows,
                report.objects,
                report.bytes_in as f64 / 1e6,
                report.bytes_out as f64 / 1e6,
            );
            let failed = !(report.failures.is_empty()
                && report.batches_failed.is_empty()
                && problems.is_empty());
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Compact {
            destination,
            kind,
            min_files,
            max_files,
            jobs,
        } => {
            let lake = open_lake(&destination, &client)?;
            let compaction = Compaction {
                lake: lake.writer(&converter, 8),
                min_files: min_files as usize,
                max_files: max_files as usize,
                jobs: jobs as usize,
                progress: true,
            };
            for kind in kind.map_or(Kind::ALL.to_vec(), |k| vec![k]) {
                let report = compaction.run(kind)?;
                println!(
                    "compacted {kind} in {}: {} per-run objects merged into {} objects ({:.1} MB) in {} chunks; {} interrupted chunks finished; {} runs changed meanwhile and kept their objects",
                    lake.store.describe(),
                    report.merged,
                    report.outputs,
                    report.bytes_out as f64 / 1e6,
                    report.chunks,
                    report.resumed,
                    report.moved,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Clear {
            destination,
            kind,
            yes,
        } => {
            let lake = open_lake(&destination, &client)?;
            if !yes {
                for (prefix, count) in clear::survey(lake.store.as_ref(), kind)? {
                    println!(
                        "would delete {count} objects under {}/{prefix}",
                        lake.store.describe()
                    );
                }
                if lake.catalog.is_some() {
                    println!(
                        "would drop the Glue tables of {kind} in database {}",
                        destination.glue_database
                    );
                }
                eprintln!("nothing deleted: add --yes to delete");
                return Ok(ExitCode::from(2));
            }
            let report = clear::clear(lake.store.as_ref(), lake.catalog.as_ref(), kind)?;
            for (prefix, count) in &report.deleted {
                println!(
                    "deleted {count} objects under {}/{prefix}",
                    lake.store.describe()
                );
            }
            if !report.tables.is_empty() {
                println!("dropped Glue tables {}", report.tables.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::GenCorpus { .. } | Command::Precompile => {
            unreachable!("handled before loading the converter")
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_replay(
    converter: &Converter,
    lake: &OpenedLake,
    paths: &[PathBuf],
    batch_size: usize,
    jobs: Option<usize>,
    clear: bool,
    kind: Option<Kind>,
    lines: bool,
    started: Instant,
) -> Result<ExitCode> {
    let files = replay::collect_files(paths)?;
    let (sources, mut failures) = replay::classify(files, kind);
    for failure in &failures {
        eprintln!("{}", failure.message);
    }
    let options = ReplayOptions {
        batch_size,
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        clear,
        kind,
        per_file_lines: lines || sources.len() <= 100,
    };
    let mut report = replay::replay(&lake.writer(converter, 8), sources, &options)?;
    report.files += failures.len();
    failures.append(&mut report.failures);
    let seconds = started.elapsed().as_secs_f64();
    let rows: u64 = report.rows.values().sum();
    println!(
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
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{} file(s) failed:", failures.len());
    for failure in &failures {
        eprintln!("  {}", failure.message);
    }
    Ok(ExitCode::from(1))
}

/// Set by the first SIGTERM or SIGINT; a second SIGINT ends the process at once.
fn shutdown_flag() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, stop.clone())
        .context("installing the SIGINT handler")?;
    for signal in [SIGTERM, SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .context("installing the SIGTERM/SIGINT handlers")?;
    }
    Ok(stop)
}

/// `precompiled/` beside the binary, where a deployment (the Lambda zip)
/// ships the component compiled at build time.
fn shipped_cache_dir() -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.with_file_name("precompiled");
    dir.is_dir().then_some(dir)
}

fn read_event(event: &str) -> Result<Vec<u8>> {
    if event == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading the event from standard input")?;
        Ok(bytes)
    } else {
        std::fs::read(event).with_context(|| format!("reading the event {event}"))
    }
}

fn gen_corpus(profile: summary_corpus::Profile, seed: u64, files: u64, out: &Path) -> Result<u64> {
    let mut bytes = 0;
    for kind in Kind::ALL {
        std::fs::create_dir_all(out.join(kind.as_str()))
            .with_context(|| format!("creating {}", out.display()))?;
    }
    for index in 0..files {
        let summary = summary_corpus::generate_with(profile, seed, index);
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
