//! Rows to Parquet with parquet-rs' low-level writer (`SerializedFileWriter`
//! and typed column writers): values go straight from the parsed rows into
//! column buffers, no Arrow arrays in between. Snappy, dictionaries for
//! text columns, chunk min/max statistics (long strings cut to a prefix).
//! `encode/direct_file.rs` writes the same bytes as parquet-rs without its
//! per-file and per-value machinery, for every object but those written
//! with lookup aids (measured only) and those with a cell that does not fit
//! its column (parquet-rs words the error).
//!
//! The Parquet schema is what the Arrow writer wrote before (the lake's
//! Athena/Glue tables depend on it): a root group `arrow_schema`, text as
//! `BYTE_ARRAY` (String), `INT64`, `DOUBLE`, `BOOLEAN`, `required` unless
//! the catalog says nullable, and no key-value metadata.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type, TypePtr};
use summary_lake::catalog::{file_table, TABLES};
use summary_lake::{ColumnType, Layout, Table};

use crate::value::Value;

mod direct_file;
mod thrift;

use direct_file::DirectFile;

/// A row group closes at the first run boundary once it holds this many
/// rows ...
pub const ROW_GROUP_ROWS: usize = 10_000;
/// ... or about this many bytes of values (text lengths, 8 bytes a number).
pub const ROW_GROUP_BYTES: usize = 1 << 20;
/// Objects of at least this many rows are snappy-compressed, their text
/// columns dictionary encoded. Smaller ones (most objects of the score/pctid
/// layout) are plain and uncompressed: on the fixtures snappy made their
/// pages 2% larger, not smaller, and per file parquet-rs' snappy codec and
/// dictionary (a 4,096-slot hash table per column) cost more than the rows.
pub const COMPACT_ROWS: usize = 64;
/// Min/max statistics of text columns keep at most this many bytes (names
/// run to hundreds of characters; the prefix still orders them).
pub const STATISTICS_PREFIX: usize = 64;

/// The Parquet schema of a table, as written to its files.
pub fn parquet_schema(table: &Table) -> Result<TypePtr, String> {
    let fields = table
        .columns
        .iter()
        .map(|c| {
            let repetition = match c.nullable {
                true => Repetition::OPTIONAL,
                false => Repetition::REQUIRED,
            };
            let builder = match c.ty {
                ColumnType::Text => Type::primitive_type_builder(c.name, PhysicalType::BYTE_ARRAY)
                    .with_logical_type(Some(LogicalType::String)),
                ColumnType::BigInt => Type::primitive_type_builder(c.name, PhysicalType::INT64),
                ColumnType::Int => Type::primitive_type_builder(c.name, PhysicalType::INT32),
                ColumnType::Double => Type::primitive_type_builder(c.name, PhysicalType::DOUBLE),
                ColumnType::Boolean => Type::primitive_type_builder(c.name, PhysicalType::BOOLEAN),
            };
            builder
                .with_repetition(repetition)
                .build()
                .map(Arc::new)
                .map_err(|e| format!("{}.{}: {e}", table.glue_name, c.name))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Type::group_type_builder("arrow_schema")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(|e| format!("{}: {e}", table.glue_name))
}

/// Encodes rows (each a slice of values in column order, sorted by run, the
/// first column) as one Parquet file.
pub fn encode<'r, 'a: 'r>(table: &Table, rows: &[&'r [Value<'a>]]) -> Result<Vec<u8>, String> {
    Encoder::default().encode(table, rows)
}

/// Column buffers kept across the objects of a batch: a batch writes
/// thousands of small files, so per-file allocations are a real cost.
#[derive(Default)]
pub struct Encoder {
    text: Vec<u8>,
    spans: Vec<(u32, u32)>,
    strings: Vec<ByteArray>,
    ints: Vec<i64>,
    int32s: Vec<i32>,
    doubles: Vec<f64>,
    bools: Vec<bool>,
    levels: Vec<i16>,
    direct_file: DirectFile,
    groups: Vec<Range<usize>>,
    direct_objects: usize,
    aids: LookupAids,
}

/// Lookup aids the lake does not write, for measuring what they would cost
/// (`cargo run --release -p summary-guest --example lookup_aids`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookupAids {
    /// Offset and column indexes (page-level min/max statistics).
    pub page_index: bool,
    /// A split-block bloom filter on `sra`.
    pub sra_bloom_filter: bool,
}

impl Encoder {
    /// An encoder that also writes the given lookup aids.
    pub fn with_lookup_aids(aids: LookupAids) -> Self {
        Encoder {
            aids,
            ..Encoder::default()
        }
    }

    /// Encodes rows (sorted by run) as one Parquet file, row groups cut at
    /// run boundaries by size ([`ROW_GROUP_ROWS`], [`ROW_GROUP_BYTES`]): a
    /// run's rows are all in one group, and groups do not overlap in `sra`,
    /// so a reader looking for one run skips the others by statistics.
    pub fn encode<'r, 'a: 'r>(
        &mut self,
        table: &Table,
        rows: &[&'r [Value<'a>]],
    ) -> Result<Vec<u8>, String> {
        let setup = writer_setup(table)?;
        if self.aids != LookupAids::default() {
            return self.encode_with_parquet_rs(table, rows);
        }
        let compact = rows.len() >= COMPACT_ROWS;
        if !compact && !direct_file::fits(rows) {
            return self.encode_with_parquet_rs(table, rows);
        }
        self.groups.clear();
        match compact {
            true => self.groups.extend(row_groups(rows)),
            false => self.groups.push(0..rows.len()),
        }
        let mut out = Vec::with_capacity(1024 + rows.len() * 64);
        let written = self.direct_file.write(
            table,
            &setup.schema_elements,
            rows,
            &self.groups,
            compact,
            STATISTICS_PREFIX,
            &mut out,
        );
        match written {
            true => {
                self.direct_objects += 1;
                Ok(out)
            }
            false => self.encode_with_parquet_rs(table, rows),
        }
    }

    /// How many objects [`Encoder::encode`] wrote without parquet-rs (for
    /// tests and measurements).
    pub fn direct_objects(&self) -> usize {
        self.direct_objects
    }

    /// [`Encoder::encode`] with parquet-rs' writer for every file: what the
    /// small-file writer must match byte for byte.
    pub fn encode_with_parquet_rs<'r, 'a: 'r>(
        &mut self,
        table: &Table,
        rows: &[&'r [Value<'a>]],
    ) -> Result<Vec<u8>, String> {
        let setup = writer_setup(table)?;
        let context = |e: parquet::errors::ParquetError| format!("{}: {e}", table.glue_name);
        let mut out = Vec::with_capacity(1024 + rows.len() * 64);
        let compact = rows.len() >= COMPACT_ROWS;
        let properties = match (self.aids == LookupAids::default(), compact) {
            (true, true) => setup.compact.clone(),
            (true, false) => setup.plain.clone(),
            (false, _) => Arc::new(writer_properties(table, compact, self.aids)),
        };
        let mut writer = SerializedFileWriter::new(&mut out, setup.schema.clone(), properties)
            .map_err(context)?;
        for group in row_groups(rows) {
            let group = &rows[group];
            let mut row_group = writer.next_row_group().map_err(context)?;
            for (index, column) in table.columns.iter().enumerate() {
                let mut writer = row_group
                    .next_column()
                    .map_err(context)?
                    .ok_or_else(|| format!("{}: too few columns", table.glue_name))?;
                let wrong = |v: &Value| {
                    format!(
                        "{}.{}: value {v:?} does not fit the column",
                        table.glue_name, column.name
                    )
                };
                self.levels.clear();
                let cells = group.iter().map(|row| &row[index]);
                match column.ty {
                    ColumnType::Text => {
                        self.text.clear();
                        self.spans.clear();
                        for cell in cells {
                            match cell {
                                Value::Text(s) => {
                                    let from = self.text.len() as u32;
                                    self.text.extend_from_slice(s.as_bytes());
                                    self.spans.push((from, self.text.len() as u32));
                                    self.levels.push(1);
                                }
                                Value::Null => self.levels.push(0),
                                other => return Err(wrong(other)),
                            }
                        }
                        // One allocation for the column's text; each value
                        // is a slice of it.
                        let text = Bytes::copy_from_slice(&self.text);
                        self.strings.clear();
                        self.strings.extend(
                            self.spans
                                .iter()
                                .map(|&(a, b)| ByteArray::from(text.slice(a as usize..b as usize))),
                        );
                        writer
                            .typed::<ByteArrayType>()
                            .write_batch(&self.strings, levels(column.nullable, &self.levels), None)
                            .map_err(context)?;
                        self.strings.clear();
                    }
                    ColumnType::BigInt => {
                        self.ints.clear();
                        for cell in cells {
                            match cell {
                                Value::Int(n) => {
                                    self.ints.push(*n);
                                    self.levels.push(1);
                                }
                                Value::Null => self.levels.push(0),
                                other => return Err(wrong(other)),
                            }
                        }
                        writer
                            .typed::<Int64Type>()
                            .write_batch(&self.ints, levels(column.nullable, &self.levels), None)
                            .map_err(context)?;
                    }
                    ColumnType::Int => {
                        self.int32s.clear();
                        for cell in cells {
                            match cell {
                                Value::Int(n) => {
                                    self.int32s
                                        .push(i32::try_from(*n).map_err(|_| wrong(cell))?);
                                    self.levels.push(1);
                                }
                                Value::Null => self.levels.push(0),
                                other => return Err(wrong(other)),
                            }
                        }
                        writer
                            .typed::<Int32Type>()
                            .write_batch(&self.int32s, levels(column.nullable, &self.levels), None)
                            .map_err(context)?;
                    }
                    ColumnType::Double => {
                        self.doubles.clear();
                        for cell in cells {
                            match cell {
                                Value::Double(n) => {
                                    self.doubles.push(*n);
                                    self.levels.push(1);
                                }
                                Value::Null => self.levels.push(0),
                                other => return Err(wrong(other)),
                            }
                        }
                        writer
                            .typed::<DoubleType>()
                            .write_batch(&self.doubles, levels(column.nullable, &self.levels), None)
                            .map_err(context)?;
                    }
                    ColumnType::Boolean => {
                        self.bools.clear();
                        for cell in cells {
                            match cell {
                                Value::Bool(b) => {
                                    self.bools.push(*b);
                                    self.levels.push(1);
                                }
                                Value::Null => self.levels.push(0),
                                other => return Err(wrong(other)),
                            }
                        }
                        writer
                            .typed::<BoolType>()
                            .write_batch(&self.bools, levels(column.nullable, &self.levels), None)
                            .map_err(context)?;
                    }
                }
                if !column.nullable && self.levels.contains(&0) {
                    return Err(format!(
                        "{}.{}: null in a required column",
                        table.glue_name, column.name
                    ));
                }
                writer.close().map_err(context)?;
            }
            row_group.close().map_err(context)?;
        }
        writer.close().map_err(context)?;
        Ok(out)
    }
}

/// Definition levels are written for nullable columns only.
fn levels(nullable: bool, levels: &[i16]) -> Option<&[i16]> {
    nullable.then_some(levels)
}

/// The row groups of `rows`, one after the other, as [`group_end`] cuts them.
fn row_groups<'r>(rows: &'r [&[Value]]) -> impl Iterator<Item = Range<usize>> + 'r {
    let mut start = 0;
    std::iter::from_fn(move || {
        (start < rows.len()).then(|| {
            let end = group_end(rows, start);
            let group = start..end;
            start = end;
            group
        })
    })
}

/// Where the row group starting at `start` ends: at the first run boundary
/// once it holds [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] bytes.
fn group_end(rows: &[&[Value]], start: usize) -> usize {
    // Rows of one summary share the run's text: compare pointers first.
    let same_run = |a: &[Value], b: &[Value]| match (a.first(), b.first()) {
        (Some(Value::Text(x)), Some(Value::Text(y))) => {
            (x.as_ptr() == y.as_ptr() && x.len() == y.len()) || x == y
        }
        _ => true,
    };
    let mut bytes = 0;
    for end in start + 1..=rows.len() {
        bytes += rows[end - 1]
            .iter()
            .map(|v| match v {
                Value::Text(s) => s.len(),
                _ => 8,
            })
            .sum::<usize>();
        if end == rows.len() {
            return end;
        }
        let full = end - start >= ROW_GROUP_ROWS || bytes >= ROW_GROUP_BYTES;
        if full && !same_run(rows[end - 1], rows[end]) {
            return end;
        }
    }
    rows.len()
}

/// What every file of a table shares, computed once per table.
struct WriterSetup {
    schema: TypePtr,
    /// The schema as the small-file writer puts it in the footer.
    schema_elements: Vec<u8>,
    compact: Arc<WriterProperties>,
    plain: Arc<WriterProperties>,
}

fn writer_setup(table: &Table) -> Result<&'static WriterSetup, String> {
    static SETUPS: OnceLock<Vec<(&'static Table, Result<WriterSetup, String>)>> = OnceLock::new();
    let setups = SETUPS.get_or_init(|| {
        Layout::ALL
            .iter()
            .flat_map(|layout| TABLES.iter().map(|table| file_table(table, *layout)))
            .map(|table| {
                let setup = parquet_schema(table).map(|schema| WriterSetup {
                    schema,
                    schema_elements: direct_file::schema_elements(table),
                    compact: Arc::new(writer_properties(table, true, LookupAids::default())),
                    plain: Arc::new(writer_properties(table, false, LookupAids::default())),
                });
                (table, setup)
            })
            .collect()
    });
    // A table's files in one layout or the other: told apart by their width.
    let found = setups
        .iter()
        .find(|(t, _)| t.glue_name == table.glue_name && t.columns.len() == table.columns.len());
    match found.map(|(_, setup)| setup) {
        Some(Ok(setup)) => Ok(setup),
        Some(Err(e)) => Err(e.clone()),
        None => Err(format!("{} is not a lake table", table.glue_name)),
    }
}

/// Chunk min/max statistics (text cut to [`STATISTICS_PREFIX`] bytes);
/// for objects of [`COMPACT_ROWS`] rows or more (`compact`) snappy, and
/// dictionaries for text columns only: numbers gain little from them.
/// No page index and no bloom filter: a row group is about a page per
/// column (1 MiB pages, groups of about 1 MiB), so the offset and column
/// indexes say little the footer does not, and the `sra` statistics of row
/// groups that never share a run already single out a run's group
/// (bench/RESULTS.md gives the bytes each would cost).
fn writer_properties(table: &Table, compact: bool, aids: LookupAids) -> WriterProperties {
    let compression = match compact {
        true => Compression::SNAPPY,
        false => Compression::UNCOMPRESSED,
    };
    let mut builder = WriterProperties::builder()
        .set_compression(compression)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(match aids.page_index {
            true => EnabledStatistics::Page,
            false => EnabledStatistics::Chunk,
        })
        .set_statistics_truncate_length(Some(STATISTICS_PREFIX))
        .set_offset_index_disabled(!aids.page_index);
    if aids.sra_bloom_filter {
        builder = builder.set_column_bloom_filter_enabled(ColumnPath::from("sra"), true);
    }
    for column in table
        .columns
        .iter()
        .filter(|c| compact && c.ty == ColumnType::Text)
    {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column.name), true);
    }
    builder.build()
}
