//! The converter as the pipeline sees it: the `wit/` contract's values as
//! plain Rust types, and a trait each host implements over its own way of
//! calling the guest (wasmtime natively, a component import on Spin).

pub use summary_layout::keys::Partition;
use summary_layout::Kind;

/// One summary file to convert.
#[derive(Clone, Debug)]
pub struct Summary {
    pub kind: Kind,
    /// Where the bytes came from; errors name it.
    pub source: String,
    pub bytes: Vec<u8>,
}

/// Why a summary was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: u32,
    /// The key the error is about; empty when it concerns the whole line.
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The summary's run accession.
    Converted {
        run: String,
    },
    Failed(ParseError),
}

/// One Parquet file of the lake.
#[derive(Clone, Debug)]
pub struct ParquetObject {
    /// Relative object key.
    pub key: String,
    pub table: String,
    pub partition: Option<Partition>,
    pub rows: u64,
    /// The runs whose rows it holds, sorted.
    pub runs: Vec<String>,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Batch {
    /// One per input, in input order.
    pub outcomes: Vec<Outcome>,
    pub objects: Vec<ParquetObject>,
}

/// The guest could not finish a call: over its memory or time, or trapped.
/// The same bytes would fail again, so the summary is dead-lettered.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GuestFailure(pub String);

pub trait Convert: Sync {
    /// Converts a batch; a bad summary fails alone in its outcome. An error
    /// is a `GuestFailure` when the guest gave up on these inputs.
    fn convert(&self, summaries: &[Summary]) -> anyhow::Result<Batch>;

    /// Merges Parquet objects of one table into one sorted by run, without
    /// the rows of `drop_runs`; `None` when no row is left.
    fn merge(
        &self,
        kind: Kind,
        table: &str,
        parts: &[Vec<u8>],
        drop_runs: &[String],
    ) -> anyhow::Result<Option<Merged>>;
}

/// A rewritten lake object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    pub rows: u64,
    /// The runs whose rows it holds, sorted.
    pub runs: Vec<String>,
    pub bytes: Vec<u8>,
}

/// The plain `Batch` of a `wit/` batch as a bindings generator produced it
/// (wasmtime's for the native host, wit-bindgen's for the Spin app):
/// `$wit` names the module of the generated `converter` types.
#[macro_export]
macro_rules! batch_from_wit {
    ($batch:expr, $wit:ident) => {{
        let batch = $batch;
        $crate::convert::Batch {
            outcomes: batch
                .outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    $wit::Outcome::Converted(c) => {
                        $crate::convert::Outcome::Converted { run: c.run }
                    }
                    $wit::Outcome::Failed(e) => {
                        $crate::convert::Outcome::Failed($crate::convert::ParseError {
                            line: e.line,
                            field: e.field,
                            message: e.message,
                        })
                    }
                })
                .collect(),
            objects: batch
                .objects
                .into_iter()
                .map(|o| $crate::convert::ParquetObject {
                    key: o.key,
                    table: o.table,
                    partition: o.partition.map(|p| $crate::convert::Partition {
                        score: p.score,
                        pctid: p.pctid,
                    }),
                    rows: o.rows,
                    runs: o.runs,
                    bytes: o.bytes,
                })
                .collect(),
        }
    }};
}
