//! Rows to Parquet: snappy, dictionary-encoded, with min/max statistics.

use std::sync::{Arc, OnceLock};

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::{ColumnPath, SchemaDescriptor};
use summary_lake::catalog::TABLES;
use summary_lake::{ColumnType, Table};

use crate::value::Value;

/// Arrow schema of a table, as written to its Parquet files.
pub fn arrow_schema(table: &Table) -> Schema {
    Schema::new(
        table
            .columns
            .iter()
            .map(|c| {
                let ty = match c.ty {
                    ColumnType::Text => DataType::Utf8,
                    ColumnType::BigInt => DataType::Int64,
                    ColumnType::Double => DataType::Float64,
                    ColumnType::Boolean => DataType::Boolean,
                };
                Field::new(c.name, ty, c.nullable)
            })
            .collect::<Vec<_>>(),
    )
}

/// Encodes rows (each a slice of values in column order) as one Parquet file.
pub fn encode<'r, 'a: 'r>(table: &Table, rows: &[&'r [Value<'a>]]) -> Result<Vec<u8>, String> {
    let schema = writer_setup(table)?.schema.clone();
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let cells = rows.iter().map(|row| &row[i]);
            let wrong = |v: &Value| {
                format!(
                    "{}.{}: value {v:?} does not fit the column",
                    table.glue_name, column.name
                )
            };
            Ok(match column.ty {
                ColumnType::Text => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Text(s) => Ok(Some(s.as_ref())),
                            Value::Null => Ok(None),
                            other => Err(wrong(other)),
                        })
                        .collect::<Result<StringArray, _>>()?,
                ) as ArrayRef,
                ColumnType::BigInt => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Int(n) => Ok(Some(*n)),
                            Value::Null => Ok(None),
                            other => Err(wrong(other)),
                        })
                        .collect::<Result<Int64Array, _>>()?,
                ),
                ColumnType::Double => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Double(n) => Ok(Some(*n)),
                            Value::Null => Ok(None),
                            other => Err(wrong(other)),
                        })
                        .collect::<Result<Float64Array, _>>()?,
                ),
                ColumnType::Boolean => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Bool(b) => Ok(Some(*b)),
                            Value::Null => Ok(None),
                            other => Err(wrong(other)),
                        })
                        .collect::<Result<BooleanArray, _>>()?,
                ),
            })
        })
        .collect::<Result<Vec<ArrayRef>, String>>()?;
    let batch =
        RecordBatch::try_new(schema, columns).map_err(|e| format!("{}: {e}", table.glue_name))?;
    write(table, &batch)
}

/// Writes rows already sorted by run (`sra`, the first column of every
/// table) as one Parquet file, a row group per run.
pub fn write(table: &Table, batch: &RecordBatch) -> Result<Vec<u8>, String> {
    let setup = writer_setup(table)?;
    let context = |e: parquet::errors::ParquetError| format!("{}: {e}", table.glue_name);
    let mut bytes = Vec::with_capacity(1024 + batch.num_rows() * 64);
    // No embedded Arrow schema: the Parquet schema already says everything
    // (UTF8 strings, INT64, DOUBLE, BOOLEAN), and it costs ~700 bytes per file.
    let options = ArrowWriterOptions::new()
        .with_properties(setup.properties.clone())
        .with_parquet_schema(setup.parquet_schema.clone())
        .with_skip_arrow_metadata(true);
    let mut writer = ArrowWriter::try_new_with_options(&mut bytes, setup.schema.clone(), options)
        .map_err(context)?;
    for (start, len) in row_groups(batch) {
        writer.write(&batch.slice(start, len)).map_err(context)?;
        writer.flush().map_err(context)?;
    }
    writer.close().map_err(context)?;
    Ok(bytes)
}

/// `(start, len)` of each row group: one per run, so a reader looking for
/// one run skips every other group by the `sra` min/max statistics. It
/// costs a footer entry per run and column (rdrp fixtures in one batch:
/// 1.9 MB with groups of 256+ rows, 4.0 MB with a group per run), but a
/// group shared by several runs spans the whole range between them, and in
/// a batch object that range overlaps most lookups.
fn row_groups(batch: &RecordBatch) -> Vec<(usize, usize)> {
    let runs = batch
        .columns()
        .first()
        .and_then(|c| c.as_any().downcast_ref::<StringArray>());
    let rows = batch.num_rows();
    let mut groups = Vec::new();
    let mut start = 0;
    for row in 1..=rows {
        if row == rows || runs.is_none_or(|runs| runs.value(row) != runs.value(row - 1)) {
            groups.push((start, row - start));
            start = row;
        }
    }
    groups
}

/// What every file of a table shares, computed once per table: a batch
/// writes thousands of small files, so per-file setup is a real cost.
struct WriterSetup {
    schema: SchemaRef,
    parquet_schema: SchemaDescriptor,
    properties: WriterProperties,
}

fn writer_setup(table: &Table) -> Result<&'static WriterSetup, String> {
    static SETUPS: OnceLock<Vec<Result<WriterSetup, String>>> = OnceLock::new();
    let setups = SETUPS.get_or_init(|| {
        TABLES
            .iter()
            .map(|table| {
                let schema = Arc::new(arrow_schema(table));
                let parquet_schema = ArrowSchemaConverter::new()
                    .convert(&schema)
                    .map_err(|e| format!("{}: {e}", table.glue_name))?;
                Ok(WriterSetup {
                    schema,
                    parquet_schema,
                    properties: writer_properties(table),
                })
            })
            .collect()
    });
    let index = TABLES.iter().position(|t| t.glue_name == table.glue_name);
    match index.map(|i| &setups[i]) {
        Some(Ok(setup)) => Ok(setup),
        Some(Err(e)) => Err(e.clone()),
        None => Err(format!("{} is not a lake table", table.glue_name)),
    }
}

/// Snappy, chunk min/max statistics, and dictionaries for text columns
/// only: numbers gain little from them and each dictionary costs a hash
/// table per column per file. No offset index: every column chunk of these
/// small files is one page, so the index says nothing the footer does not,
/// and skipping it saves 5% of the encoder's instructions (callgrind).
fn writer_properties(table: &Table) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_offset_index_disabled(true);
    for column in table.columns.iter().filter(|c| c.ty == ColumnType::Text) {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column.name), true);
    }
    builder.build()
}
