//! `summary-uploader`: Serratus summaries to a Parquet lake. Wiring only:
//! the command line is `cli.rs`, each command its own module.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Parser;
use summary_uploader::cli::{Cli, Command};
use summary_uploader::context::{cache_dir, component_path, Context};
use summary_uploader::converter::precompile_into;
use summary_uploader::{
    backfill, clear, compact, gen_corpus, handle_event, lambda, replay, serve, sqs_consumer,
};

fn main() -> ExitCode {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            // aws-config warns when IMDS has no region: off EC2, always.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,aws_config::imds::region=error".into()),
        )
        .with_writer(std::io::stderr)
        // Escape sequences only for a person at a terminal: never in log
        // files or CloudWatch, nor with NO_COLOR set.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    if lambda::json_logs_wanted() {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
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
    match cli.command {
        Command::GenCorpus(args) => return gen_corpus::command(args),
        Command::Precompile => {
            let component = component_path(cli.component.clone())?;
            let dir = cache_dir(&cli).context("--no-cache leaves nowhere to precompile into")?;
            let path = precompile_into(&component, &dir)?;
            println!("precompiled {} to {}", component.display(), path.display());
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let ctx = Context::load(&cli, started)?;
    match cli.command {
        Command::Replay(args) => replay::command(args, &ctx),
        Command::Backfill(args) => backfill::command(args, &ctx),
        Command::Compact(args) => compact::command(args, &ctx),
        Command::Clear(args) => clear::command(args, &ctx),
        Command::HandleEvent(args) => handle_event::command(args, &ctx),
        Command::Serve(args) => serve::command(args, &ctx),
        Command::ConsumeSqs(args) => sqs_consumer::command(args, &ctx),
        Command::Lambda(args) => lambda::command(args, &ctx),
        Command::GenCorpus(_) | Command::Precompile => unreachable!("handled above"),
    }
}
