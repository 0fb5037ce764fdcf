//! Rewriting lake objects: the rows of several Parquet objects of one table
//! merged into one, sorted by run, optionally without some runs' rows.
//! Compaction merges per-run objects; replacing a run that lives in a
//! shared batch object rewrites that object without it.

use std::borrow::Cow;
use std::collections::BTreeSet;

use bytes::Bytes;
use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use summary_lake::{ColumnType, Table};

use crate::encode::Encoder;
use crate::value::Value;

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
    let drop: BTreeSet<&str> = drop_runs.iter().map(String::as_str).collect();
    let width = table.columns.len();
    let mut values: Vec<Value<'static>> = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let context = |e: &dyn std::fmt::Display| format!("{} part {index}: {e}", table.glue_name);
        let reader =
            SerializedFileReader::new(Bytes::from(part.clone())).map_err(|e| context(&e))?;
        conform(table, &reader).map_err(|e| context(&e))?;
        for row in reader.get_row_iter(None).map_err(|e| context(&e))? {
            let row = row.map_err(|e| context(&e))?;
            let start = values.len();
            for ((_, field), column) in row.get_column_iter().zip(table.columns) {
                values.push(value(field).ok_or_else(|| {
                    context(&format!(
                        "column {}: unexpected value {field:?}",
                        column.name
                    ))
                })?);
            }
            if values.len() - start != width {
                return Err(context(&"a row of the wrong width"));
            }
        }
    }
    let rows: Vec<&[Value]> = values.chunks(width).collect();
    let run = |row: &[Value]| match &row[0] {
        Value::Text(s) => Some(s.to_string()),
        _ => None,
    };
    let mut keep: Vec<(String, &[Value])> = rows
        .iter()
        .filter_map(|row| run(row).map(|r| (r, *row)))
        .filter(|(r, _)| !drop.contains(r.as_str()))
        .collect();
    if keep.is_empty() {
        return Ok(None);
    }
    // Stable: rows of one run keep their order.
    keep.sort_by(|a, b| a.0.cmp(&b.0));
    let mut names: Vec<String> = keep.iter().map(|(r, _)| r.clone()).collect();
    names.dedup();
    let sorted: Vec<&[Value]> = keep.iter().map(|(_, row)| *row).collect();
    Ok(Some(Merged {
        rows: sorted.len() as u64,
        runs: names,
        bytes: Encoder::default().encode(table, &sorted)?,
    }))
}

fn value(field: &Field) -> Option<Value<'static>> {
    Some(match field {
        Field::Null => Value::Null,
        Field::Str(s) => Value::Text(Cow::Owned(s.clone())),
        Field::Long(n) => Value::Int(*n),
        Field::Int(n) => Value::Int(i64::from(*n)),
        Field::Double(n) => Value::Double(*n),
        Field::Bool(b) => Value::Bool(*b),
        _ => return None,
    })
}

/// The object has the table's exact columns: same names and types in the
/// same order, or an error naming the first difference.
fn conform(table: &Table, reader: &SerializedFileReader<Bytes>) -> Result<(), String> {
    let schema = reader.metadata().file_metadata().schema_descr();
    if schema.num_columns() != table.columns.len() {
        return Err(format!(
            "{} columns where the table has {}",
            schema.num_columns(),
            table.columns.len()
        ));
    }
    for (ours, theirs) in table.columns.iter().zip(schema.columns()) {
        let want = match ours.ty {
            ColumnType::Text => PhysicalType::BYTE_ARRAY,
            ColumnType::BigInt => PhysicalType::INT64,
            ColumnType::Int => PhysicalType::INT32,
            ColumnType::Double => PhysicalType::DOUBLE,
            ColumnType::Boolean => PhysicalType::BOOLEAN,
        };
        let text_ok = ours.ty != ColumnType::Text
            || matches!(theirs.logical_type_ref(), Some(LogicalType::String));
        let repetition = theirs.self_type().get_basic_info().repetition();
        if theirs.name() != ours.name
            || theirs.physical_type() != want
            || !text_ok
            || repetition == Repetition::REPEATED
            || theirs.path().parts().len() != 1
        {
            return Err(format!(
                "column {} {} where the table has {} {:?}",
                theirs.name(),
                theirs.physical_type(),
                ours.name,
                ours.ty
            ));
        }
    }
    Ok(())
}
