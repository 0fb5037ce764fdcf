//! The Serratus summary converter: a pure parser and Parquet encoder.
//!
//! Bytes in, Parquet objects or a precise error out; no files, network,
//! clock or randomness. Built natively for tests and as a WASI component
//! (`wit/summary.wit`) for the hosts.

pub mod batch;
pub mod encode;
pub mod error;
pub mod format;
pub mod merge;
pub mod nucleotide;
pub mod protein;
pub mod rdrp;
pub mod record;
mod scan;
pub mod summary;
pub mod value;

#[cfg(target_arch = "wasm32")]
mod component;
mod memcmp;

pub use batch::{
    batch_name, convert_batch, Batch, Outcome, ParquetObject, SummaryInput, TableCount,
};
pub use error::ParseError;
pub use merge::{merge, Merged};
pub use summary::{parse_line, parse_summary, ParsedSummary};
pub use summary_lake::{BatchName, Kind, Layout};

use error::{ParseError as Error, ParseResult};
use summary_lake::text::quoted;

/// Accepts a run id only if it is an SRA run accession: it becomes part of
/// object keys, so nothing else may pass.
fn run_id(line: u32, run: &str) -> ParseResult<&str> {
    if summary_lake::keys::is_run_accession(run) {
        Ok(run)
    } else {
        Err(Error::new(
            line,
            format::HEADER_KEY,
            format!(
                "run {} is not an SRA run accession (SRR, ERR or DRR and digits)",
                quoted(run)
            ),
        ))
    }
}
