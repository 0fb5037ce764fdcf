//! The converter as the pipeline sees it: the `wit/` contract's values as
//! plain Rust types, and a trait each host implements over its own way of
//! calling the guest (wasmtime natively, a component import on Spin).

pub use summary_lake::keys::Partition;
use summary_lake::{BatchName, Kind, Layout, NamedInput};
pub use summary_plan::ParquetObject;

/// One summary file to convert.
#[derive(Clone, Debug)]
pub struct Summary {
    pub kind: Kind,
    /// Where the bytes came from; errors name it.
    pub source: String,
    pub bytes: Vec<u8>,
}

/// The name a host gives the converter with `summaries` (`convert` in
/// `wit/`): the lake's batch name, computed on the host's side.
pub fn batch_name(summaries: &[Summary]) -> BatchName {
    BatchName::of(summaries.iter().map(|s| NamedInput {
        kind: s.kind,
        source: &s.source,
        bytes: &s.bytes,
    }))
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
        /// Rows per table of the run.
        tables: Vec<(String, u64)>,
    },
    Failed(ParseError),
}

#[derive(Clone, Debug)]
pub struct Batch {
    /// One per input, in input order.
    pub outcomes: Vec<Outcome>,
    pub objects: Vec<ParquetObject>,
}

/// Why a converter call gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The guest gave up on these inputs: over its memory or time, or
    /// trapped. The same bytes would fail again, so a summary that does
    /// this alone is dead-lettered.
    #[error("{0}")]
    GaveUp(String),
    /// The call itself failed (the guest could not be instantiated, or
    /// could not encode its answer).
    #[error("{0}")]
    Failed(String),
}

pub trait Convert: Sync {
    /// Converts a batch into the objects of `layout`; a bad summary fails
    /// alone in its outcome.
    fn convert(&self, layout: Layout, summaries: &[Summary]) -> Result<Batch, ConvertError>;

    /// Merges Parquet objects of one table (files of `layout`) into one
    /// sorted by run, without the rows of `drop_runs`; `None` when no row
    /// is left.
    fn merge(
        &self,
        layout: Layout,
        kind: Kind,
        table: &str,
        parts: &[Vec<u8>],
        drop_runs: &[String],
    ) -> Result<Option<Merged>, ConvertError>;
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
                    $wit::Outcome::Converted(c) => $crate::convert::Outcome::Converted {
                        run: c.run,
                        tables: c.tables.into_iter().map(|t| (t.table, t.rows)).collect(),
                    },
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

/// A batch converted with every summary the guest gives up on set aside.
#[derive(Debug, Default)]
pub struct Isolated {
    /// The indices (into the input) of the summaries converted, in order:
    /// `batch.outcomes` has one per index.
    pub converted: Vec<usize>,
    pub batch: Option<Batch>,
    /// Summaries the guest gave up on alone, with why.
    pub gave_up: Vec<(usize, String)>,
}

/// Converts `summaries` in one call. The guest giving up fails a whole
/// call, so then each summary is tried alone: those it gives up on alone
/// are set aside (each fails alone, with its source named) and the rest
/// are converted together again.
pub fn convert_isolating(
    converter: &dyn Convert,
    layout: Layout,
    summaries: &[Summary],
) -> Result<Isolated, ConvertError> {
    let mut isolated = Isolated::default();
    if summaries.is_empty() {
        return Ok(isolated);
    }
    let error = match converter.convert(layout, summaries) {
        Ok(batch) => {
            isolated.converted = (0..summaries.len()).collect();
            isolated.batch = Some(batch);
            return Ok(isolated);
        }
        Err(ConvertError::GaveUp(message)) if summaries.len() > 1 => message,
        Err(error) => {
            if let ConvertError::GaveUp(message) = &error {
                isolated
                    .gave_up
                    .push((0, format!("{}: {message}", summaries[0].source)));
                return Ok(isolated);
            }
            return Err(error);
        }
    };
    let mut rest = Vec::new();
    for (index, summary) in summaries.iter().enumerate() {
        match converter.convert(layout, std::slice::from_ref(summary)) {
            Err(ConvertError::GaveUp(message)) => isolated
                .gave_up
                .push((index, format!("{}: {message}", summary.source))),
            _ => rest.push(index),
        }
    }
    if isolated.gave_up.is_empty() {
        return Err(ConvertError::GaveUp(format!(
            "{error}; yet every summary converts alone: try smaller batches or a larger guest memory"
        )));
    }
    if !rest.is_empty() {
        let inputs: Vec<Summary> = rest.iter().map(|&i| summaries[i].clone()).collect();
        isolated.batch = Some(converter.convert(layout, &inputs)?);
        isolated.converted = rest;
    }
    Ok(isolated)
}
