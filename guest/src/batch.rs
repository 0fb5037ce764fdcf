//! A batch of summaries to the lake's Parquet objects: one object per
//! (table, partition) in the `score-pctid` layout, per (table, bucket) in
//! the `run-bucket` layout, holding the rows of every summary that
//! converted, sorted by run and then file order.

use std::collections::BTreeMap;

use summary_lake::catalog::{file_table, tables_of};
use summary_lake::keys::{bucket_object_key, object_key, Partition};
use summary_lake::source::is_named_after;
use summary_lake::text::quoted;
use summary_lake::{BatchName, Bucket, Kind, Layout, NamedInput};

use crate::encode::Encoder;
use crate::error::ParseError;
use crate::format::HEADER_KEY;
use crate::summary::{parse_summary_sized, ParsedSummary};
use crate::value::Value;

pub struct SummaryInput<'a> {
    pub kind: Kind,
    /// Path or object key: named in errors; its last segment feeds batch names.
    pub source: &'a str,
    pub bytes: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub rows: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Converted {
        run: String,
        tables: Vec<TableCount>,
    },
    Failed(ParseError),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetObject {
    pub key: String,
    pub kind: Kind,
    pub table: &'static str,
    pub partition: Option<Partition>,
    pub rows: u64,
    /// The runs whose rows it holds, sorted.
    pub runs: Vec<String>,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub outcomes: Vec<Outcome>,
    pub objects: Vec<ParquetObject>,
}

/// A run's rows come from one summary: of several summaries of a run in
/// the batch (a file whose header names another file's run), the one whose
/// file is named after the run is kept (else the first), and each other one
/// fails with an error naming both files.
fn reject_repeated_runs(inputs: &[SummaryInput], parsed: &mut [Result<ParsedSummary, ParseError>]) {
    let mut of_run: BTreeMap<(Kind, &str), Vec<usize>> = BTreeMap::new();
    for (index, result) in parsed.iter().enumerate() {
        if let Ok(summary) = result {
            of_run
                .entry((summary.kind, summary.run))
                .or_default()
                .push(index);
        }
    }
    let mut repeats = Vec::new();
    for ((_, run), indices) in of_run.into_iter().filter(|(_, i)| i.len() > 1) {
        let keeper = indices
            .iter()
            .copied()
            .find(|&i| is_named_after(inputs[i].source, run))
            .unwrap_or(indices[0]);
        for index in indices.into_iter().filter(|&i| i != keeper) {
            repeats.push((index, keeper, run.to_string()));
        }
    }
    for (index, keeper, run) in repeats {
        parsed[index] = Err(ParseError::new(
            1,
            HEADER_KEY,
            format!(
                "run {} is already in this batch, from {}",
                quoted(&run),
                quoted(inputs[keeper].source)
            ),
        ));
    }
}

/// In the `run-bucket` layout a run is filed under its last two digits:
/// an accession with fewer (no real one) has no bucket.
fn reject_runs_without_bucket(parsed: &mut [Result<ParsedSummary, ParseError>]) {
    for result in parsed.iter_mut() {
        if let Ok(summary) = result {
            if Bucket::of_run(summary.run).is_none() {
                *result = Err(ParseError::new(
                    1,
                    HEADER_KEY,
                    format!(
                        "run {} has fewer than two digits: the run-bucket layout files a run under its last two",
                        quoted(summary.run)
                    ),
                ));
            }
        }
    }
}

/// The most rows each table of each kind has had in a summary of the
/// batch so far: the room made for the next summary's rows. All tables
/// together get no more rows than the summary's size could hold, so the
/// room a guess wastes is bounded by the summary, not by earlier ones.
#[derive(Default)]
struct RowSizes {
    most: [Vec<usize>; Kind::ALL.len()],
}

impl RowSizes {
    /// Every row takes a line, and real lines are longer than this.
    const BYTES_PER_ROW: usize = 64;

    fn guess(&self, input: &SummaryInput) -> Vec<usize> {
        let cap = input.bytes.len() / Self::BYTES_PER_ROW;
        let most = &self.most[input.kind as usize];
        let total: usize = most.iter().sum();
        most.iter()
            .map(|&rows| match total > cap {
                // Shared out in proportion (in u64: usize is 32 bits in
                // the component).
                true => (rows as u64 * cap as u64 / total as u64) as usize,
                false => rows,
            })
            .collect()
    }

    fn saw(&mut self, summary: &ParsedSummary) {
        let most = &mut self.most[summary.kind as usize];
        most.resize(summary.tables.len(), 0);
        for (most, table) in most.iter_mut().zip(&summary.tables) {
            *most = (*most).max(table.len());
        }
    }
}

/// Where a row goes inside a table: its partition or its bucket.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Partition(Option<Partition>),
    Bucket(Bucket),
}

/// Converts a batch into the objects of `layout`, named `name` (the
/// caller's [`batch_name`] of `inputs`) unless the batch is one summary:
/// then they are named after its run. Each input fails alone; the error
/// case is a Parquet encoding failure, which would be a bug.
pub fn convert_batch(
    inputs: &[SummaryInput],
    layout: Layout,
    name: &BatchName,
) -> Result<Batch, String> {
    let mut sizes = RowSizes::default();
    let mut parsed: Vec<Result<ParsedSummary, ParseError>> = inputs
        .iter()
        .map(|input| {
            let parsed = parse_summary_sized(input.kind, input.bytes, &sizes.guess(input));
            if let Ok(summary) = &parsed {
                sizes.saw(summary);
            }
            parsed
        })
        .collect();
    reject_repeated_runs(inputs, &mut parsed);
    if layout == Layout::RunBucket {
        reject_runs_without_bucket(&mut parsed);
    }
    let outcomes = parsed
        .iter()
        .map(|result| match result {
            Ok(summary) => Outcome::Converted {
                run: summary.run.to_string(),
                tables: summary
                    .tables
                    .iter()
                    .map(|rows| TableCount {
                        table: rows.table.name,
                        rows: rows.len() as u64,
                    })
                    .collect(),
            },
            Err(error) => Outcome::Failed(error.clone()),
        })
        .collect();

    let mut converted: Vec<&ParsedSummary> =
        parsed.iter().filter_map(|r| r.as_ref().ok()).collect();
    // Stable: summaries of the same run keep their input order.
    converted.sort_by_key(|summary| summary.run);
    let name = match inputs {
        [_] => converted
            .first()
            .map(|s| s.run.to_string())
            .unwrap_or_default(),
        _ => name.to_string(),
    };

    let mut objects = Vec::new();
    let mut encoder = Encoder::default();
    for kind in Kind::ALL {
        let of_kind: Vec<&&ParsedSummary> = converted.iter().filter(|s| s.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        for (index, table) in tables_of(kind).enumerate() {
            let file_table = file_table(table, layout);
            // In `run-bucket` the rows of partitioned tables carry their
            // partition as two more columns, which the parser stored with
            // them ([`TableRows::wide_rows`]).
            let wide = file_table.columns.len() > table.columns.len();
            let mut places: BTreeMap<Place, (Vec<&[Value]>, Vec<String>)> = BTreeMap::new();
            for summary in &of_kind {
                let rows = &summary.tables[index];
                if rows.is_empty() {
                    continue;
                }
                let bucket = match layout {
                    Layout::RunBucket => Bucket::of_run(summary.run),
                    Layout::ScorePctid => None,
                };
                // Summaries are sorted by run, so a run repeats only in a row.
                let add_run = |runs: &mut Vec<String>| {
                    if runs.last().map(String::as_str) != Some(summary.run) {
                        runs.push(summary.run.to_string());
                    }
                };
                // All of a summary's rows go to its run's bucket: one map
                // lookup per summary, not one per row.
                if let Some(bucket) = bucket {
                    let (rows_of_place, runs) = places.entry(Place::Bucket(bucket)).or_default();
                    match wide {
                        false => rows_of_place.extend((0..rows.len()).map(|row| rows.row(row))),
                        true => rows_of_place.extend(rows.wide_rows()),
                    }
                    add_run(runs);
                    continue;
                }
                for (row, partition) in rows.partitions.iter().enumerate() {
                    let (rows_of_place, runs) =
                        places.entry(Place::Partition(*partition)).or_default();
                    rows_of_place.push(rows.row(row));
                    add_run(runs);
                }
            }
            for (place, (rows, mut runs)) in places {
                runs.dedup();
                let (key, partition) = match place {
                    Place::Partition(partition) => (object_key(table, partition, &name), partition),
                    Place::Bucket(bucket) => (bucket_object_key(table, bucket, &name), None),
                };
                objects.push(ParquetObject {
                    key,
                    kind,
                    table: table.name,
                    partition,
                    rows: rows.len() as u64,
                    runs,
                    bytes: encoder.encode(file_table, &rows)?,
                });
            }
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Batch { outcomes, objects })
}

/// The name the hosts give a batch of `inputs` ([`BatchName::of`]),
/// computed natively: for native callers; the component is handed it.
pub fn batch_name(inputs: &[SummaryInput]) -> BatchName {
    BatchName::of(inputs.iter().map(|input| NamedInput {
        kind: input.kind,
        source: input.source,
        bytes: input.bytes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Room for every table together stays within what the summary's size
    /// could hold, shared out in proportion; a large enough one gets all.
    #[test]
    fn room_guessed_is_bounded_by_the_summary() {
        let mut sizes = RowSizes::default();
        sizes.most[Kind::Protein as usize] = vec![1, 3000, 1000, 0];
        let input = |bytes: &'static [u8]| SummaryInput {
            kind: Kind::Protein,
            source: "x.psummary",
            bytes,
        };
        let small = vec![b'a'; 100 * RowSizes::BYTES_PER_ROW].leak();
        let guess = sizes.guess(&input(small));
        assert_eq!(guess, vec![0, 74, 24, 0]);
        assert!(guess.iter().sum::<usize>() <= 100);
        let large = vec![b'a'; 5000 * RowSizes::BYTES_PER_ROW].leak();
        assert_eq!(sizes.guess(&input(large)), vec![1, 3000, 1000, 0]);
        assert!(sizes.guess(&input(b"")).iter().all(|&rows| rows == 0));
        assert!(sizes
            .guess(&SummaryInput {
                kind: Kind::Rdrp,
                ..input(b"")
            })
            .is_empty());
    }
}
