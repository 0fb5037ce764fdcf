//! `handle-event`: one event document (a file or standard input) to completion.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::cli::HandleEventArgs;
use crate::context::Context;

/// Prints the event's report; exit 1 unless every record landed.
pub fn command(args: HandleEventArgs, ctx: &Context) -> Result<ExitCode> {
    let HandleEventArgs {
        event,
        destination,
        edge,
    } = args;
    let bytes = read_event(&event)?;
    let lake = ctx.open_lake(&destination)?;
    let report = ctx
        .pipeline(&lake, &edge)?
        .handle_event(&bytes)
        .map_err(|e| anyhow::anyhow!("{event}: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    Ok(if report.all_landed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
