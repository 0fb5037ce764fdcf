//! Rewriting lake objects: the rows of several Parquet objects of one table
//! merged into one, sorted by run, optionally without some runs' rows.
//! Compaction merges per-run objects; replacing a run that lives in a
//! shared batch object rewrites that object without it.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_schema::Schema;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use summary_lake::Table;

use crate::encode::{arrow_schema, write};

/// A rewritten object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    pub rows: u64,
    /// The runs whose rows it holds, sorted.
    pub runs: Vec<String>,
    pub bytes: Vec<u8>,
}

/// Merges the rows of `parts` (Parquet objects of `table`) into one object
/// sorted by run, rows of one run kept in input order, leaving out the rows
/// of `drop_runs`. `None` when no row is left.
pub fn merge(
    table: &Table,
    parts: &[Vec<u8>],
    drop_runs: &[String],
) -> Result<Option<Merged>, String> {
    let schema = Arc::new(arrow_schema(table));
    let drop: BTreeSet<&str> = drop_runs.iter().map(String::as_str).collect();
    let mut batches = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let context = |e: &dyn std::fmt::Display| format!("{} part {index}: {e}", table.glue_name);
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(part.clone()))
            .map_err(|e| context(&e))?
            .build()
            .map_err(|e| context(&e))?;
        for batch in reader {
            let batch = batch.map_err(|e| context(&e))?;
            batches.push(conform(&schema, batch).map_err(|e| context(&e))?);
        }
    }
    let all = arrow_select::concat::concat_batches(&schema, &batches)
        .map_err(|e| format!("{}: {e}", table.glue_name))?;
    let runs = all
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| format!("{}: the sra column is not text", table.glue_name))?;
    let mut keep: Vec<u32> = (0..all.num_rows() as u32)
        .filter(|&row| runs.is_valid(row as usize) && !drop.contains(runs.value(row as usize)))
        .collect();
    if keep.is_empty() {
        return Ok(None);
    }
    // Stable: rows of one run keep their order.
    keep.sort_by_key(|&row| runs.value(row as usize));
    let mut names: Vec<String> = keep
        .iter()
        .map(|&row| runs.value(row as usize).to_string())
        .collect();
    names.dedup();
    let indices = UInt32Array::from(keep);
    let columns = all
        .columns()
        .iter()
        .map(|column| arrow_select::take::take(column.as_ref(), &indices, None))
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(|e| format!("{}: {e}", table.glue_name))?;
    let sorted =
        RecordBatch::try_new(schema, columns).map_err(|e| format!("{}: {e}", table.glue_name))?;
    Ok(Some(Merged {
        rows: sorted.num_rows() as u64,
        runs: names,
        bytes: write(table, &sorted)?,
    }))
}

/// The batch with the table's exact schema: same column names and types in
/// the same order, or an error naming the first difference.
fn conform(schema: &Arc<Schema>, batch: RecordBatch) -> Result<RecordBatch, String> {
    let found = batch.schema();
    if found.fields().len() != schema.fields().len() {
        return Err(format!(
            "{} columns where the table has {}",
            found.fields().len(),
            schema.fields().len()
        ));
    }
    for (ours, theirs) in schema.fields().iter().zip(found.fields()) {
        if ours.name() != theirs.name() || ours.data_type() != theirs.data_type() {
            return Err(format!(
                "column {} {:?} where the table has {} {:?}",
                theirs.name(),
                theirs.data_type(),
                ours.name(),
                ours.data_type()
            ));
        }
    }
    RecordBatch::try_new(schema.clone(), batch.columns().to_vec()).map_err(|e| e.to_string())
}
