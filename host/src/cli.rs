//! The command line: every command, flag and its help text. What each
//! command does is in its own module (`replay`, `backfill`, ...).

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Parser, Subcommand, ValueEnum};
use summary_lake::source::RouteRule;
use summary_lake::Kind;

use crate::{serve, serve_auth};

#[derive(Parser)]
#[command(
    version,
    about = "Serratus summary files to a Hive-partitioned Parquet lake, through a WebAssembly converter"
)]
pub struct Cli {
    /// The converter component (default: $SUMMARY_COMPONENT, else summary_guest.wasm beside this binary).
    #[arg(long, global = true, value_name = "FILE")]
    pub component: Option<PathBuf>,
    /// Where precompiled components are cached (default: ~/.cache/summary-uploader).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile the component on every start instead of caching it.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Guest memory allowed per call regardless of input size, in MiB.
    #[arg(long, global = true, default_value_t = 128, value_name = "MIB")]
    pub guest_memory_mib: usize,
    /// Extra guest memory allowed per input byte.
    #[arg(long, global = true, default_value_t = 16, value_name = "BYTES")]
    pub guest_memory_per_byte: usize,
    /// Guest run time allowed per call regardless of input size, in seconds.
    #[arg(long, global = true, default_value_t = 10.0, value_name = "SECONDS")]
    pub guest_seconds: f64,
    /// Longest one S3 or Glue request may take before it is retried, in seconds.
    #[arg(long, global = true, default_value_t = 60.0, value_name = "SECONDS")]
    pub request_timeout: f64,
    /// Extra guest run time allowed per MiB of input, in seconds.
    #[arg(long, global = true, default_value_t = 1.0, value_name = "SECONDS")]
    pub guest_seconds_per_mib: f64,
    /// Log lines as text for people, or as JSON, one object per line, for
    /// CloudWatch and log shippers (default: text; json in Lambda when its
    /// log format is JSON).
    #[arg(
        long,
        global = true,
        env = "SUMMARY_LOG_FORMAT",
        value_enum,
        value_name = "FORMAT"
    )]
    pub log_format: Option<LogFormat>,
    /// Fewer log lines: -q errors only, -qq none (RUST_LOG, when set, decides instead).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// More log lines: -v info, -vv debug, -vvv trace (RUST_LOG, when set, decides instead).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The AWS profile (in ~/.aws/config and ~/.aws/credentials) to take credentials and region from
    /// (default: $AWS_PROFILE, else default).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// The AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region, IMDS, else us-east-1).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send S3, Glue and SQS requests to this URL (an S3-compatible store, a local stand-in).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Do not sign requests: read public buckets without credentials (e.g. backfill --source s3://PUBLIC-BUCKET/...).
    #[arg(long, global = true)]
    pub no_sign_request: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written to standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event, for people (colour only at a terminal, never with NO_COLOR).
    Text,
    /// One JSON object per line: timestamp, level, target, message and fields.
    Json,
}

impl Cli {
    /// The log filter the -q/-v flags ask for (RUST_LOG, when set, wins).
    pub fn log_level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (0, 0) => "warn",
            (1, _) => "error",
            (_, 0) => "off",
            (_, 1) => "info",
            (_, 2) => "debug",
            _ => "trace",
        }
    }

    /// The global AWS flags.
    pub fn aws_flags(&self) -> crate::aws_transport::AwsFlags {
        crate::aws_transport::AwsFlags {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            no_sign_request: self.no_sign_request,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Convert summary files and folders into a lake (a local directory or s3://).
    Replay(ReplayArgs),
    /// Convert the runs of an index in deterministic batches: one object per table and
    /// partition per batch, per-run manifests, resumable.
    Backfill(BackfillArgs),
    /// Merge the per-run objects of each partition into objects sorted by run; resumable.
    Compact(CompactArgs),
    /// Delete a kind from the lake: objects, manifests, dead letters, checkpoints and Glue tables.
    Clear(ClearArgs),
    /// Process one S3 event document (S3, SQS, SNS or EventBridge shape) to completion.
    HandleEvent(HandleEventArgs),
    /// Serve an HTTP endpoint that processes POSTed S3 event documents.
    Serve(ServeArgs),
    /// Long-poll an SQS queue of S3 events; delete each message once all its records landed.
    ConsumeSqs(ConsumeSqsArgs),
    /// Run as an AWS Lambda function (custom runtime); what `bootstrap` with no arguments does.
    /// Configured by environment: SUMMARY_DEST, SUMMARY_GLUE_DATABASE, SUMMARY_NO_GLUE, SUMMARY_ROUTES.
    Lambda(LambdaArgs),
    /// Compile the component into --cache-dir ahead of time (for read-only
    /// deployments such as the Lambda zip, which ships it in precompiled/).
    Precompile,
    /// Write a deterministic synthetic corpus of summaries (for benchmarks and tests).
    GenCorpus(GenCorpusArgs),
    /// Print a shell completion script, e.g. `summary-uploader completions bash > /etc/bash_completion.d/summary-uploader`.
    Completions(CompletionsArgs),
}

/// The process's exit codes (documented in the README, "Operating it").
pub mod exit {
    /// Done: every input landed (or needed nothing).
    pub const DONE: u8 = 0;
    /// Done, but some inputs failed (they are listed on standard error).
    pub const SOME_FAILED: u8 = 1;
    /// The command could not run as asked: a usage error (clap's own), or
    /// an error that stopped it (the message on standard error says which).
    pub const USAGE_OR_ERROR: u8 = 2;
    /// A destructive command refused to run without --yes; nothing changed.
    pub const REFUSED: u8 = 3;
}

/// The summary kinds, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindName {
    /// Nucleotide summaries (`*.summary`, summary2/).
    Nucleotide,
    /// Protein summaries (`*.psummary`, psummary/).
    Protein,
    /// RdRp summaries (`*.psummary`, rsummary/).
    Rdrp,
}

impl From<KindName> for Kind {
    fn from(name: KindName) -> Kind {
        match name {
            KindName::Nucleotide => Kind::Nucleotide,
            KindName::Protein => Kind::Protein,
            KindName::Rdrp => Kind::Rdrp,
        }
    }
}

/// `--kind`: one of the kinds, listed in --help and completions.
fn kind_parser() -> impl clap::builder::TypedValueParser<Value = Kind> {
    clap::builder::EnumValueParser::<KindName>::new().map(Kind::from)
}

/// How `gen-corpus` spreads rows over partitions, as the command line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileName {
    /// Scores and identities uniform over wide ranges: the widest spread.
    Uniform,
    /// As in the real summaries: far fewer partitions per run.
    Serratus,
}

impl From<ProfileName> for summary_corpus::Profile {
    fn from(name: ProfileName) -> Self {
        match name {
            ProfileName::Uniform => summary_corpus::Profile::Uniform,
            ProfileName::Serratus => summary_corpus::Profile::Serratus,
        }
    }
}

/// What a dry run of a command that writes does instead.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct DryRun {
    /// Do everything but write: read the lake and the sources, convert, and
    /// print each object that would be written (`put KEY BYTES`) or deleted
    /// (`delete KEY`) instead; exit 0.
    #[arg(long)]
    pub dry_run: bool,
}

// `completions`
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where the lake is and whether to register it in Glue.
#[derive(clap::Args)]
pub struct Destination {
    /// The lake: `s3://BUCKET[/PREFIX]` or a local directory (default: ./lake).
    #[arg(
        long,
        visible_alias = "lake",
        env = "SUMMARY_DEST",
        value_name = "DEST"
    )]
    pub dest: Option<String>,
    /// Glue database the tables are registered in (for an s3:// lake).
    #[arg(
        long,
        env = "SUMMARY_GLUE_DATABASE",
        default_value = "summary",
        value_name = "NAME"
    )]
    pub glue_database: String,
    /// Do not touch the Glue catalog (SUMMARY_NO_GLUE takes 1/0, true/false, yes/no, on/off).
    #[arg(long, env = "SUMMARY_NO_GLUE", value_parser = crate::yes_no::YesNo)]
    pub no_glue: bool,
    /// The layout of a new lake: `run-bucket` (default; `bucket=NN/`, the run's last two
    /// digits) or `score-pctid` (the 2021 Athena layout). An existing lake keeps the one
    /// its `_lake.json` names; a different one is refused.
    #[arg(long, env = "SUMMARY_LAYOUT", value_name = "LAYOUT", value_parser = parse_layout)]
    pub layout: Option<summary_lake::Layout>,
}

fn parse_layout(value: &str) -> Result<summary_lake::Layout, String> {
    value
        .parse()
        .map_err(|e: summary_lake::layout::UnknownLayout| e.to_string())
}

/// How events are turned into work.
#[derive(clap::Args)]
pub struct EdgeOptions {
    /// Route keys to kinds, `PATTERN=KIND` (repeatable; default: summary2/*.summary=nucleotide,
    /// psummary/*.psummary=protein, rsummary/*.psummary=rdrp).
    #[arg(
        long = "route",
        env = "SUMMARY_ROUTES",
        value_delimiter = ',',
        value_name = "PATTERN=KIND"
    )]
    pub routes: Vec<RouteRule>,
    /// Summaries larger than this are refused before download (dead-lettered).
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    pub max_summary_bytes: u64,
    /// Object PUTs and DELETEs of one summary in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub io_concurrency: u64,
}

// `replay`
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Summary files, or folders to search for *.summary / *.psummary.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub destination: Destination,
    /// Summaries per batch; each batch writes one object per table and partition.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: u64,
    /// Batches converted in parallel (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Delete the replayed kinds from the lake first.
    #[arg(long)]
    pub clear: bool,
    /// Convert every file as this kind (default: from the folder name, else from the file's keys).
    #[arg(long, value_parser = kind_parser())]
    pub kind: Option<Kind>,
    /// A line per file even for many files (default: lines up to 100 files, then a progress bar).
    #[arg(long, conflicts_with = "json")]
    pub lines: bool,
    /// Print a JSON summary on standard output instead of the text lines.
    #[arg(long)]
    pub json: bool,
}

// `backfill`
#[derive(clap::Args)]
pub struct BackfillArgs {
    /// One run id per line: a local file or s3://BUCKET/KEY.
    #[arg(long, value_name = "FILE|S3URL")]
    pub index: String,
    /// Where the summaries are: a folder or s3://BUCKET[/PREFIX] holding <run>.summary
    /// (nucleotide) or <run>.psummary (protein, rdrp).
    #[arg(long, value_name = "DIR|S3URL")]
    pub source: String,
    /// The kind of the runs' summaries.
    #[arg(long, value_parser = kind_parser())]
    pub kind: Kind,
    #[command(flatten)]
    pub destination: Destination,
    /// Runs per batch (and per batch object).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_runs: u64,
    /// Batches worked on at once, each with up to --io-concurrency requests in flight.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: u64,
    /// Requests (downloads, PUTs) of one batch in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub io_concurrency: u64,
    /// Work on every N-th batch from the I-th only (0 <= I < N), to split a backfill over N machines.
    #[arg(long, default_value = "0/1", value_parser = summary_plan::backfill::parse_shard, value_name = "I/N")]
    pub shard: (usize, usize),
    /// Redo batches a checkpoint marks done.
    #[arg(long)]
    pub redo: bool,
    /// Summaries larger than this are dead-lettered.
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    pub max_summary_bytes: u64,
    #[command(flatten)]
    pub dry_run: DryRun,
    /// Print a JSON summary on standard output instead of the text lines.
    #[arg(long)]
    pub json: bool,
}

// `compact`
#[derive(clap::Args)]
pub struct CompactArgs {
    #[command(flatten)]
    pub destination: Destination,
    /// Only this kind (default: every kind).
    #[arg(long, value_parser = kind_parser())]
    pub kind: Option<Kind>,
    /// Compact a partition once it holds at least this many small objects: per-run objects, and
    /// batch objects or earlier outputs under half of `--target-mb`.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_files: u64,
    /// Objects merged into one object at most.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub max_files: u64,
    /// Megabytes of objects merged into one object at most (the output is about as large or
    /// smaller).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=16_384))]
    pub target_mb: u64,
    /// Compact only the partitions (buckets) of shard I of N, so that N machines (an AWS Batch
    /// array job, a Kubernetes indexed Job) compact one kind together.
    #[arg(long, default_value = "0/1", value_parser = summary_plan::backfill::parse_shard, value_name = "I/N")]
    pub shard: (usize, usize),
    /// Partitions compacted at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: u64,
    #[command(flatten)]
    pub dry_run: DryRun,
    /// Print a JSON summary on standard output instead of the text lines.
    #[arg(long)]
    pub json: bool,
}

// `clear`
#[derive(clap::Args)]
pub struct ClearArgs {
    #[command(flatten)]
    pub destination: Destination,
    /// The kind to delete.
    #[arg(long, value_parser = kind_parser())]
    pub kind: Kind,
    /// Really delete (without it, say what would go and exit 3).
    #[arg(long, conflicts_with = "dry_run")]
    pub yes: bool,
    #[command(flatten)]
    pub dry_run: DryRun,
}

// `handle-event`
#[derive(clap::Args)]
pub struct HandleEventArgs {
    /// The event document, or - for standard input.
    #[arg(value_name = "FILE|-")]
    pub event: String,
    #[command(flatten)]
    pub destination: Destination,
    #[command(flatten)]
    pub edge: EdgeOptions,
}

// `serve`
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    #[command(flatten)]
    pub server: serve::ServerOptions,
    #[command(flatten)]
    pub destination: Destination,
    #[command(flatten)]
    pub edge: EdgeOptions,
    #[command(flatten)]
    pub auth: serve_auth::AuthOptions,
}

// `consume-sqs`
#[derive(clap::Args)]
pub struct ConsumeSqsArgs {
    /// The queue, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/summaries.
    #[arg(long, env = "SUMMARY_QUEUE_URL", value_name = "URL")]
    pub queue_url: String,
    #[command(flatten)]
    pub destination: Destination,
    #[command(flatten)]
    pub edge: EdgeOptions,
    /// Messages asked for per receive.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub batch: u32,
    /// Long-poll wait per receive, in seconds; a shutdown waits for the poll in progress.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=20), value_name = "SECONDS")]
    pub wait: u32,
    /// How long a received message stays hidden from other consumers;
    /// renewed every third of it while the message is worked on.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=43_200), value_name = "SECONDS")]
    pub visibility_timeout: u32,
    /// Receive-and-process loops running at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// Exit once a receive comes back empty (drain the queue, then stop).
    #[arg(long)]
    pub until_empty: bool,
    /// Serve the metrics (Prometheus text format) at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
}

// `lambda`
#[derive(clap::Args)]
pub struct LambdaArgs {
    #[command(flatten)]
    pub destination: Destination,
    #[command(flatten)]
    pub edge: EdgeOptions,
}

// `gen-corpus`
#[derive(clap::Args)]
pub struct GenCorpusArgs {
    /// Seed of the generator: the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Summary files to write, over all kinds.
    #[arg(long, default_value_t = 1000)]
    pub files: u64,
    /// Output folder; files go to <out>/<kind>/.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How rows spread over partitions (`serratus`: as in the real summaries).
    #[arg(long, value_enum, default_value_t = ProfileName::Uniform)]
    pub distribution: ProfileName,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every flag and argument of every command says what it is for.
    #[test]
    fn every_flag_has_help_text() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.get_help().is_none() && !matches!(id, "help" | "version") {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "summary-uploader", &mut missing);
        assert!(missing.is_empty(), "flags without help: {missing:?}");
    }

    #[test]
    fn kinds_are_listed_and_parsed() {
        let cli = Cli::try_parse_from(["x", "clear", "--kind", "rdrp", "--dry-run"]).unwrap();
        match cli.command {
            Command::Clear(args) => assert_eq!(args.kind, Kind::Rdrp),
            _ => unreachable!(),
        }
        let error = Cli::try_parse_from(["x", "clear", "--kind", "dna"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("[possible values: nucleotide, protein, rdrp]"),
            "{error}"
        );
        let names: Vec<String> = KindName::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_string())
            .collect();
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, kinds, "every kind, named as the lake names it");
    }

    #[test]
    fn quiet_and_verbose_set_the_level() {
        let level = |args: &[&str]| {
            let mut argv = vec!["x"];
            argv.extend(args);
            argv.push("precompile");
            Cli::try_parse_from(argv).unwrap().log_level()
        };
        assert_eq!(level(&[]), "warn");
        assert_eq!(level(&["-q"]), "error");
        assert_eq!(level(&["-qq"]), "off");
        assert_eq!(level(&["-v"]), "info");
        assert_eq!(level(&["-vv"]), "debug");
        assert_eq!(level(&["-vvvv"]), "trace");
        assert!(Cli::try_parse_from(["x", "-q", "-v", "precompile"]).is_err());
    }
}
