//! Small Parquet files written directly: one row group, one plain,
//! uncompressed data page (v1) per column, chunk statistics, the footer.
//!
//! Most objects of the score/pctid layout hold a handful of rows, and
//! parquet-rs' writer spends about 240 k instructions on each (column
//! writers, page and metadata structs, moves and allocations per column),
//! far more than the rows. This writer produces the same bytes as
//! parquet-rs 59 with the properties `encode.rs` gives such files (checked
//! byte for byte against it: `guest/tests/plain_file.rs`), at about a
//! tenth of the cost, with buffers kept across the objects of a batch.

use parquet::file::properties::DEFAULT_CREATED_BY;
use summary_lake::{ColumnType, Table};

use super::thrift::{FieldType, Thrift};
use crate::value::Value;

/// Files whose values take more bytes than this go to parquet-rs: well
/// below its 1 MiB page and row group limits, so that it too writes one
/// page per column and one row group, as this writer does.
pub const MAX_VALUE_BYTES: usize = 256 * 1024;

/// Parquet's physical types, encodings and page types, as numbers.
const BOOLEAN: i32 = 0;
const INT32: i32 = 1;
const INT64: i32 = 2;
const DOUBLE: i32 = 5;
const BYTE_ARRAY: i32 = 6;
const PLAIN: i32 = 0;
const RLE: i32 = 3;
const DATA_PAGE: i32 = 0;
const UNCOMPRESSED: i32 = 0;
const REQUIRED: i32 = 0;
const OPTIONAL: i32 = 1;
const CONVERTED_UTF8: i32 = 0;

/// What the footer needs of one column chunk.
#[derive(Default)]
struct Chunk {
    offset: i64,
    size: i64,
    nulls: i64,
    /// Where the chunk's min and max are in [`PlainFile::bounds`], if any.
    min: (usize, usize),
    max: (usize, usize),
    has_bounds: bool,
    min_exact: bool,
    max_exact: bool,
    /// Text columns: the bytes of their values.
    text_bytes: Option<i64>,
}

/// Buffers kept across files.
#[derive(Default)]
pub struct PlainFile {
    page: Vec<u8>,
    header: Vec<u8>,
    bounds: Vec<u8>,
    chunks: Vec<Chunk>,
}

/// Whether [`PlainFile::write`] takes these rows: few enough bytes that
/// parquet-rs also writes one page per column.
pub fn fits(rows: &[&[Value]]) -> bool {
    let mut bytes = 0;
    for row in rows {
        for value in row.iter() {
            bytes += match value {
                Value::Text(s) => s.len() + 4,
                _ => 8,
            };
        }
        if bytes > MAX_VALUE_BYTES {
            return false;
        }
    }
    true
}

/// A table's schema as the footer lists it (Thrift `SchemaElement`s),
/// computed once per table.
pub fn schema_elements(table: &Table) -> Vec<u8> {
    let mut out = Vec::new();
    let mut t = Thrift { out: &mut out };
    // The root group: a name and the number of columns.
    t.binary_field(4, 0, b"arrow_schema");
    t.i32_field(5, 4, table.columns.len() as i32);
    t.stop();
    for column in table.columns {
        t.i32_field(1, 0, physical_type(column.ty));
        let repetition = match column.nullable {
            true => OPTIONAL,
            false => REQUIRED,
        };
        t.i32_field(3, 1, repetition);
        t.binary_field(4, 3, column.name.as_bytes());
        if column.ty == ColumnType::Text {
            t.i32_field(6, 4, CONVERTED_UTF8);
            // logicalType: the union's STRING member, an empty struct.
            t.field(FieldType::Struct, 10, 6);
            t.field(FieldType::Struct, 1, 0);
            t.stop();
            t.stop();
        }
        t.stop();
    }
    out
}

fn physical_type(ty: ColumnType) -> i32 {
    match ty {
        ColumnType::Text => BYTE_ARRAY,
        ColumnType::BigInt => INT64,
        ColumnType::Int => INT32,
        ColumnType::Double => DOUBLE,
        ColumnType::Boolean => BOOLEAN,
    }
}

impl PlainFile {
    /// Writes `rows` (each in the table's column order, already checked to
    /// fit it: see `encode.rs`) as one Parquet file into `out`.
    /// `statistics_prefix` is the most bytes a text min or max keeps.
    pub fn write(
        &mut self,
        table: &Table,
        schema: &[u8],
        rows: &[&[Value]],
        statistics_prefix: usize,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        out.extend_from_slice(b"PAR1");
        self.bounds.clear();
        self.chunks.clear();
        for (index, column) in table.columns.iter().enumerate() {
            let chunk = self.write_column(
                column.ty,
                column.nullable,
                index,
                rows,
                statistics_prefix,
                out,
            );
            self.chunks.push(chunk);
        }
        let footer_start = out.len();
        self.footer(table, schema, rows.len() as i64, out);
        let footer_len = (out.len() - footer_start) as u32;
        out.extend_from_slice(&footer_len.to_le_bytes());
        out.extend_from_slice(b"PAR1");
    }

    /// One column chunk: a page header, definition levels (nullable
    /// columns), the plain values.
    fn write_column(
        &mut self,
        ty: ColumnType,
        nullable: bool,
        index: usize,
        rows: &[&[Value]],
        statistics_prefix: usize,
        out: &mut Vec<u8>,
    ) -> Chunk {
        self.page.clear();
        let cells = rows.iter().map(|row| &row[index]);
        let nulls = cells.clone().filter(|v| matches!(v, Value::Null)).count();
        if nullable {
            // A 4-byte length, then the RLE/bit-packed levels.
            self.page.extend_from_slice(&[0; 4]);
            let mut levels = LevelEncoder::new(&mut self.page);
            for cell in cells.clone() {
                levels.put(u8::from(!matches!(cell, Value::Null)));
            }
            levels.finish();
            let len = (self.page.len() - 4) as u32;
            self.page[..4].copy_from_slice(&len.to_le_bytes());
        }
        let mut chunk = Chunk {
            nulls: nulls as i64,
            ..Chunk::default()
        };
        let present = cells.filter(|v| !matches!(v, Value::Null));
        match ty {
            ColumnType::Text => {
                let mut bytes = 0;
                let mut bounds: Option<(&str, &str)> = None;
                for value in present {
                    let Value::Text(s) = value else {
                        unreachable!("checked by encode.rs")
                    };
                    let s: &str = s;
                    self.page.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    self.page.extend_from_slice(s.as_bytes());
                    bytes += s.len() as i64;
                    bounds = Some(match bounds {
                        None => (s, s),
                        Some((min, max)) => (
                            if min.as_bytes() > s.as_bytes() {
                                s
                            } else {
                                min
                            },
                            if s.as_bytes() > max.as_bytes() {
                                s
                            } else {
                                max
                            },
                        ),
                    });
                }
                chunk.text_bytes = Some(bytes);
                if let Some((min, max)) = bounds {
                    let (min, min_exact) = truncate_min(min, statistics_prefix);
                    let start = self.bounds.len();
                    self.bounds.extend_from_slice(min);
                    chunk.min = (start, self.bounds.len());
                    let start = self.bounds.len();
                    let max_exact = push_truncated_max(&mut self.bounds, max, statistics_prefix);
                    chunk.max = (start, self.bounds.len());
                    chunk.has_bounds = true;
                    chunk.min_exact = min_exact;
                    chunk.max_exact = max_exact;
                }
            }
            ColumnType::BigInt => {
                let mut bounds: Option<(i64, i64)> = None;
                for value in present {
                    let Value::Int(n) = *value else {
                        unreachable!("checked by encode.rs")
                    };
                    self.page.extend_from_slice(&n.to_le_bytes());
                    bounds = Some(bounds.map_or((n, n), |(a, b)| (a.min(n), b.max(n))));
                }
                if let Some((min, max)) = bounds {
                    self.push_bounds(&mut chunk, &min.to_le_bytes(), &max.to_le_bytes());
                }
            }
            ColumnType::Int => {
                let mut bounds: Option<(i32, i32)> = None;
                for value in present {
                    let Value::Int(n) = *value else {
                        unreachable!("checked by encode.rs")
                    };
                    let n = n as i32;
                    self.page.extend_from_slice(&n.to_le_bytes());
                    bounds = Some(bounds.map_or((n, n), |(a, b)| (a.min(n), b.max(n))));
                }
                if let Some((min, max)) = bounds {
                    self.push_bounds(&mut chunk, &min.to_le_bytes(), &max.to_le_bytes());
                }
            }
            ColumnType::Double => {
                let mut bounds: Option<(f64, f64)> = None;
                for value in present {
                    let Value::Double(n) = *value else {
                        unreachable!("checked by encode.rs")
                    };
                    self.page.extend_from_slice(&n.to_le_bytes());
                    // As parquet-rs: NaN is left out of the statistics, and
                    // the first of equal values (0.0 and -0.0) is kept.
                    if !n.is_nan() {
                        bounds = Some(bounds.map_or((n, n), |(a, b)| {
                            (if a > n { n } else { a }, if n > b { n } else { b })
                        }));
                    }
                }
                if let Some((min, max)) = bounds {
                    // A zero bound is written as -0.0 (min) and 0.0 (max).
                    let min = if min == 0.0 { -0.0 } else { min };
                    let max = if max == 0.0 { 0.0 } else { max };
                    self.push_bounds(&mut chunk, &min.to_le_bytes(), &max.to_le_bytes());
                }
            }
            ColumnType::Boolean => {
                let (mut byte, mut bit) = (0u8, 0);
                let mut bounds: Option<(bool, bool)> = None;
                for value in present {
                    let Value::Bool(b) = *value else {
                        unreachable!("checked by encode.rs")
                    };
                    byte |= u8::from(b) << bit;
                    bit += 1;
                    if bit == 8 {
                        self.page.push(byte);
                        (byte, bit) = (0, 0);
                    }
                    bounds = Some(bounds.map_or((b, b), |(a, c)| (a & b, c | b)));
                }
                if bit > 0 {
                    self.page.push(byte);
                }
                if let Some((min, max)) = bounds {
                    self.push_bounds(&mut chunk, &[u8::from(min)], &[u8::from(max)]);
                }
            }
        }

        // The page header, then the page.
        self.header.clear();
        let mut t = Thrift {
            out: &mut self.header,
        };
        t.i32_field(1, 0, DATA_PAGE);
        t.i32_field(2, 1, self.page.len() as i32);
        t.i32_field(3, 2, self.page.len() as i32);
        t.field(FieldType::Struct, 5, 3);
        t.i32_field(1, 0, rows.len() as i32);
        t.i32_field(2, 1, PLAIN);
        t.i32_field(3, 2, RLE);
        t.i32_field(4, 3, RLE);
        t.stop();
        t.stop();
        chunk.offset = out.len() as i64;
        chunk.size = (self.header.len() + self.page.len()) as i64;
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&self.page);
        chunk
    }

    fn push_bounds(&mut self, chunk: &mut Chunk, min: &[u8], max: &[u8]) {
        let start = self.bounds.len();
        self.bounds.extend_from_slice(min);
        chunk.min = (start, self.bounds.len());
        self.bounds.extend_from_slice(max);
        chunk.max = (chunk.min.1, self.bounds.len());
        chunk.has_bounds = true;
        chunk.min_exact = true;
        chunk.max_exact = true;
    }

    /// The Thrift `FileMetaData`.
    fn footer(&self, table: &Table, schema: &[u8], num_rows: i64, out: &mut Vec<u8>) {
        let mut t = Thrift { out };
        let columns = table.columns.len();
        t.i32_field(1, 0, 1);
        t.list_field(2, 1, FieldType::Struct, columns + 1);
        t.out.extend_from_slice(schema);
        t.i64_field(3, 2, num_rows);
        // One row group.
        t.list_field(4, 3, FieldType::Struct, 1);
        t.list_field(1, 0, FieldType::Struct, columns);
        let mut group_size = 0;
        for (column, chunk) in table.columns.iter().zip(&self.chunks) {
            group_size += chunk.size;
            // ColumnChunk: file_offset 0, then its ColumnMetaData.
            t.i64_field(2, 0, 0);
            t.field(FieldType::Struct, 3, 2);
            let ty = physical_type(column.ty);
            t.i32_field(1, 0, ty);
            t.list_field(2, 1, FieldType::I32, 2);
            t.i32(PLAIN);
            t.i32(RLE);
            t.list_field(3, 2, FieldType::Binary, 1);
            t.binary(column.name.as_bytes());
            t.i32_field(4, 3, UNCOMPRESSED);
            t.i64_field(5, 4, num_rows);
            t.i64_field(6, 5, chunk.size);
            t.i64_field(7, 6, chunk.size);
            t.i64_field(9, 7, chunk.offset);
            // Statistics: the deprecated min/max too for signed types (not
            // text, not booleans), as parquet-rs writes them.
            t.field(FieldType::Struct, 12, 9);
            let signed = matches!(
                column.ty,
                ColumnType::BigInt | ColumnType::Int | ColumnType::Double
            );
            let min = &self.bounds[chunk.min.0..chunk.min.1];
            let max = &self.bounds[chunk.max.0..chunk.max.1];
            let mut last = 0;
            if chunk.has_bounds && signed {
                t.binary_field(1, 0, max);
                t.binary_field(2, 1, min);
                last = 2;
            }
            t.i64_field(3, last, chunk.nulls);
            last = 3;
            if chunk.has_bounds {
                t.binary_field(5, 3, max);
                t.binary_field(6, 5, min);
                last = 6;
            }
            t.bool_field(7, last, chunk.has_bounds && chunk.max_exact);
            t.bool_field(8, 7, chunk.has_bounds && chunk.min_exact);
            t.stop();
            // One plain data page.
            t.list_field(13, 12, FieldType::Struct, 1);
            t.i32_field(1, 0, DATA_PAGE);
            t.i32_field(2, 1, PLAIN);
            t.i32_field(3, 2, 1);
            t.stop();
            // Size statistics: text bytes, and the definition levels'
            // histogram of nullable columns.
            if chunk.text_bytes.is_some() || column.nullable {
                t.field(FieldType::Struct, 16, 13);
                let mut last = 0;
                if let Some(bytes) = chunk.text_bytes {
                    t.i64_field(1, 0, bytes);
                    last = 1;
                }
                if column.nullable {
                    t.list_field(3, last, FieldType::I64, 2);
                    t.i64(chunk.nulls);
                    t.i64(num_rows - chunk.nulls);
                }
                t.stop();
            }
            t.stop();
            t.stop();
        }
        t.i64_field(2, 1, group_size);
        t.i64_field(3, 2, num_rows);
        t.i64_field(5, 3, 4);
        t.i64_field(6, 5, group_size);
        t.i16_field(7, 6, 0);
        t.stop();
        t.binary_field(6, 4, DEFAULT_CREATED_BY.as_bytes());
        // Column orders: TYPE_ORDER (an empty struct) for every column.
        t.list_field(7, 6, FieldType::Struct, columns);
        for _ in 0..columns {
            t.field(FieldType::Struct, 1, 0);
            t.stop();
            t.stop();
        }
        t.stop();
    }
}

/// A text min cut to at most `limit` bytes at a character boundary, and
/// whether it is whole.
fn truncate_min(value: &str, limit: usize) -> (&[u8], bool) {
    if value.len() <= limit {
        return (value.as_bytes(), true);
    }
    match (1..=limit).rfind(|&i| value.is_char_boundary(i)) {
        Some(split) => (&value.as_bytes()[..split], false),
        None => (value.as_bytes(), true),
    }
}

/// Appends a text max cut to at most `limit` bytes whose last character is
/// incremented (so it still bounds the value), as parquet-rs does; the whole
/// value where that is impossible. Returns whether the value is whole.
fn push_truncated_max(bounds: &mut Vec<u8>, value: &str, limit: usize) -> bool {
    if value.len() > limit {
        let lower = limit.saturating_sub(3);
        if let Some(split) = (lower..=limit).rfind(|&i| value.is_char_boundary(i)) {
            let prefix = &value[..split];
            for (at, c) in prefix.char_indices().rev() {
                let next = char::from_u32(c as u32 + 1).filter(|n| n.len_utf8() == c.len_utf8());
                if let Some(next) = next {
                    bounds.extend_from_slice(&prefix.as_bytes()[..at]);
                    let mut buffer = [0; 4];
                    bounds.extend_from_slice(next.encode_utf8(&mut buffer).as_bytes());
                    return false;
                }
            }
        }
    }
    bounds.extend_from_slice(value.as_bytes());
    true
}

/// parquet-rs' RLE/bit-packed hybrid encoder for levels of bit width 1,
/// step for step: runs of eight or more equal levels as RLE runs, the rest
/// in bit-packed groups of eight.
struct LevelEncoder<'o> {
    out: &'o mut Vec<u8>,
    buffered: [u8; 8],
    buffered_len: usize,
    current: u8,
    repeats: usize,
    bit_packed: usize,
    indicator_at: Option<usize>,
}

const GROUP: usize = 8;
const MAX_GROUPS_PER_RUN: usize = 64;

impl<'o> LevelEncoder<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        LevelEncoder {
            out,
            buffered: [0; GROUP],
            buffered_len: 0,
            current: 0,
            repeats: 0,
            bit_packed: 0,
            indicator_at: None,
        }
    }

    fn put(&mut self, level: u8) {
        if self.current == level {
            self.repeats += 1;
            if self.repeats > GROUP {
                return;
            }
        } else {
            if self.repeats >= GROUP {
                self.flush_rle_run();
            }
            self.repeats = 1;
            self.current = level;
        }
        self.buffered[self.buffered_len] = level;
        self.buffered_len += 1;
        if self.buffered_len == GROUP {
            self.flush_buffered();
        }
    }

    fn finish(mut self) {
        if self.bit_packed > 0 || self.repeats > 0 || self.buffered_len > 0 {
            let all_repeat = self.bit_packed == 0
                && (self.repeats == self.buffered_len || self.buffered_len == 0);
            if self.repeats > 0 && all_repeat {
                self.flush_rle_run();
            } else {
                if self.buffered_len > 0 {
                    self.buffered[self.buffered_len..].fill(0);
                    self.buffered_len = GROUP;
                }
                self.bit_packed += self.buffered_len;
                self.flush_bit_packed_run(true);
                self.repeats = 0;
            }
        }
    }

    fn flush_rle_run(&mut self) {
        let mut indicator = (self.repeats << 1) as u64;
        while indicator >= 0x80 {
            self.out.push(indicator as u8 | 0x80);
            indicator >>= 7;
        }
        self.out.push(indicator as u8);
        self.out.push(self.current);
        self.buffered_len = 0;
        self.repeats = 0;
    }

    fn flush_bit_packed_run(&mut self, end_run: bool) {
        if self.indicator_at.is_none() {
            self.indicator_at = Some(self.out.len());
            self.out.push(0);
        }
        if self.buffered_len > 0 {
            let byte = self.buffered[..self.buffered_len]
                .iter()
                .enumerate()
                .fold(0u8, |byte, (i, level)| byte | (level << i));
            self.out.push(byte);
        }
        self.buffered_len = 0;
        if end_run {
            self.finish_bit_packed_run();
        }
    }

    fn finish_bit_packed_run(&mut self) {
        if let Some(at) = self.indicator_at.take() {
            self.out[at] = (((self.bit_packed / GROUP) << 1) | 1) as u8;
        }
        self.bit_packed = 0;
    }

    fn flush_buffered(&mut self) {
        if self.repeats >= GROUP {
            self.buffered_len = 0;
            if self.bit_packed > 0 {
                self.finish_bit_packed_run();
            }
            return;
        }
        self.bit_packed += self.buffered_len;
        let groups = self.bit_packed / GROUP;
        self.flush_bit_packed_run(groups + 1 >= MAX_GROUPS_PER_RUN);
        self.repeats = 0;
    }
}
