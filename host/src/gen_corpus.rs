//! `gen-corpus`: a deterministic synthetic corpus of summaries.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use summary_lake::Kind;

use crate::cli::GenCorpusArgs;

/// Writes the corpus; needs no converter.
pub fn command(args: GenCorpusArgs) -> Result<ExitCode> {
    let GenCorpusArgs {
        seed,
        files,
        out,
        distribution,
    } = args;
    let written = gen_corpus(distribution.into(), seed, files, &out)?;
    println!(
        "wrote {files} summaries ({:.1} MB) to {}",
        written as f64 / 1e6,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
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

/// The benchmarks' batches: `runs` serratus-profile summaries of each kind
/// (seed 11), in [`Kind::ALL`] order, as the converter takes them.
pub fn serratus_batches(runs: usize) -> Vec<Vec<summary_pipeline::convert::Summary>> {
    summary_corpus::batches_by_kind(summary_corpus::Profile::Serratus, 11, runs)
        .into_iter()
        .map(|batch| {
            batch
                .into_iter()
                .map(|s| summary_pipeline::convert::Summary {
                    kind: s.kind.into(),
                    source: s.file_name,
                    bytes: s.bytes,
                })
                .collect()
        })
        .collect()
}
