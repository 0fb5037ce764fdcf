//! Parquet files written directly, without parquet-rs' writer: the bytes
//! parquet-rs 59 writes with the properties `encode.rs` gives each kind of
//! file (checked byte for byte against it: `guest/tests/direct_file.rs`).
//!
//! - Plain files (most objects of the score/pctid layout, a handful of rows):
//!   one row group, one plain, uncompressed data page (v1) per column.
//! - Compact files (batch objects): row groups as `encode.rs` cuts them,
//!   snappy-compressed v1 data pages, text columns dictionary encoded (a
//!   plain dictionary page, then the indices as an RLE/bit-packed hybrid).
//!   A chunk is one data page unless a large run makes a row group of
//!   20,000 rows or 1 MiB of text: then pages and the dictionary are cut
//!   where parquet-rs cuts them ([`DirectFile::write_paged_column`]).
//!
//! Both carry chunk min/max statistics (text cut to a prefix) and size
//! statistics, as parquet-rs' do. parquet-rs spends about 240 k
//! instructions on a small file (column writers, page and metadata
//! structs, moves and allocations per column) and, on large ones, a `Bytes`
//! clone, a hash and two comparisons per text value. This writer keeps its
//! buffers across the objects of a batch, hashes a text value only when it
//! differs from the row before's, and compares only new dictionary entries
//! for the statistics. A file with a cell that does not fit its column is
//! left to parquet-rs, which words the error.

use std::ops::Range;

use parquet::file::properties::{
    DEFAULT_CREATED_BY, DEFAULT_DATA_PAGE_ROW_COUNT_LIMIT, DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT,
    DEFAULT_PAGE_SIZE, DEFAULT_WRITE_BATCH_SIZE,
};
use summary_lake::{Column, ColumnType, Table};

use super::thrift::{FieldType, Thrift};
use crate::scan::extend_short;
use crate::value::Value;

mod dictionary;
mod hybrid;
mod page;

use dictionary::Dictionary;
use hybrid::{bit_width, push_indices, push_levels, rle_max_bytes};
use page::PageWriter;

/// Plain files whose values take more bytes than this go to parquet-rs:
/// well below its 1 MiB page and row group limits, so that it too writes
/// one page per column and one row group, as this writer does.
pub const MAX_VALUE_BYTES: usize = 256 * 1024;

/// A compact column chunk is one data page (the common, fast case) while its
/// values (plain encoded) stay below both of parquet-rs' limits that would
/// make it cut a second data page or give up the dictionary, and its row
/// group holds fewer rows than the page row limit.
const MAX_CHUNK_BYTES: usize = min(PAGE_BYTES, DICTIONARY_BYTES);

/// parquet-rs' defaults that cut a compact chunk into pages: it takes values
/// a batch of [`WRITE_BATCH`] rows at a time (smaller sub-batches where
/// their bytes would overshoot the dictionary or page limit) and, after
/// each, starts a new page past [`PAGE_ROWS`] rows or [`PAGE_BYTES`] bytes
/// of plain values, and gives up the dictionary past [`DICTIONARY_BYTES`].
const WRITE_BATCH: usize = DEFAULT_WRITE_BATCH_SIZE;
const PAGE_ROWS: usize = DEFAULT_DATA_PAGE_ROW_COUNT_LIMIT;
const PAGE_BYTES: usize = DEFAULT_PAGE_SIZE;
const DICTIONARY_BYTES: usize = DEFAULT_DICTIONARY_PAGE_SIZE_LIMIT;

const fn min(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

/// Parquet's physical types, encodings, codecs and page types, as numbers.
const BOOLEAN: i32 = 0;
const INT32: i32 = 1;
const INT64: i32 = 2;
const DOUBLE: i32 = 5;
const BYTE_ARRAY: i32 = 6;
const PLAIN: i32 = 0;
const RLE: i32 = 3;
const RLE_DICTIONARY: i32 = 8;
const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;
const UNCOMPRESSED: i32 = 0;
const SNAPPY: i32 = 1;
const REQUIRED: i32 = 0;
const OPTIONAL: i32 = 1;
const CONVERTED_UTF8: i32 = 0;

/// What the footer needs of one column chunk.
#[derive(Default)]
struct Chunk {
    /// Where its dictionary page starts, if it has one.
    dictionary_offset: Option<i64>,
    data_offset: i64,
    /// Bytes of its pages (headers included), before and after compression.
    uncompressed: i64,
    compressed: i64,
    nulls: i64,
    /// Where the chunk's min and max are in [`DirectFile::bounds`], if any.
    min: (usize, usize),
    max: (usize, usize),
    has_bounds: bool,
    min_exact: bool,
    max_exact: bool,
    /// Text columns: the bytes of their values.
    text_bytes: Option<i64>,
    /// How many of its data pages are dictionary encoded, and how many plain.
    data_pages: (usize, usize),
}

impl Chunk {
    fn offset(&self) -> i64 {
        self.dictionary_offset.unwrap_or(self.data_offset)
    }
}

/// Buffers kept across files.
#[derive(Default)]
pub struct DirectFile {
    /// The page being built, uncompressed.
    page: Vec<u8>,
    pages: PageWriter,
    bounds: Vec<u8>,
    /// Row group after row group, a chunk per column.
    chunks: Vec<Chunk>,
    dictionary: Dictionary,
    indices: Vec<u32>,
    /// A paged chunk's page being filled: its levels and plain values.
    page_levels: Vec<u32>,
    page_values: Vec<u8>,
    /// A paged chunk's dictionary-encoded pages, held back until its
    /// dictionary page is written.
    held_pages: Vec<u8>,
}

/// Why a column chunk was not written.
#[derive(Debug)]
enum Unwritten {
    /// parquet-rs cuts more than one page (or gives up the dictionary):
    /// [`DirectFile::write_paged_column`] writes the chunk as it does.
    PastOnePage,
    /// A cell that does not fit its column: parquet-rs writes the file, to
    /// word the error as it always has.
    ForParquetRs,
}

/// Whether [`DirectFile::write`] takes these rows as a plain file: few
/// enough bytes that parquet-rs also writes one page per column.
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

impl DirectFile {
    /// Writes `rows` as a Parquet file into `out`: a row group per range of
    /// `groups`, plain and uncompressed or `compact`. Returns false, `out`
    /// to be discarded, on a cell that does not fit its column (parquet-rs
    /// words the error).
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &mut self,
        table: &Table,
        schema: &[u8],
        rows: &[&[Value]],
        groups: &[Range<usize>],
        compact: bool,
        statistics_prefix: usize,
        out: &mut Vec<u8>,
    ) -> bool {
        out.clear();
        out.extend_from_slice(b"PAR1");
        self.bounds.clear();
        self.chunks.clear();
        for group in groups {
            let rows = &rows[group.clone()];
            for (index, column) in table.columns.iter().enumerate() {
                let written = match compact && rows.len() >= PAGE_ROWS {
                    true => Err(Unwritten::PastOnePage),
                    false => self.write_column(
                        column.ty,
                        column.nullable,
                        index,
                        rows,
                        compact,
                        statistics_prefix,
                        out,
                    ),
                };
                let written = match written {
                    Err(Unwritten::PastOnePage) => {
                        self.write_paged_column(column, index, rows, statistics_prefix, out)
                    }
                    other => other,
                };
                match written {
                    Ok(chunk) => self.chunks.push(chunk),
                    Err(_) => return false,
                }
            }
        }
        let footer_start = out.len();
        self.footer(table, schema, groups, compact, out);
        let footer_len = (out.len() - footer_start) as u32;
        out.extend_from_slice(&footer_len.to_le_bytes());
        out.extend_from_slice(b"PAR1");
        true
    }

    /// One column chunk: its definition levels (nullable columns) and
    /// values in one data page, after a dictionary page for compact text.
    #[allow(clippy::too_many_arguments)]
    fn write_column(
        &mut self,
        ty: ColumnType,
        nullable: bool,
        index: usize,
        rows: &[&[Value]],
        compact: bool,
        statistics_prefix: usize,
        out: &mut Vec<u8>,
    ) -> Result<Chunk, Unwritten> {
        self.page.clear();
        let cells = rows.iter().map(|row| &row[index]);
        let mut nulls = 0;
        if nullable {
            let levels = cells
                .clone()
                .map(|cell| u32::from(!matches!(cell, Value::Null)));
            nulls = push_levels(&mut self.page, levels);
        }
        let mut chunk = Chunk {
            nulls: nulls as i64,
            data_offset: out.len() as i64,
            ..Chunk::default()
        };
        // Nulls of a required column, and values not of the column's type,
        // reach the loops below, which give up on them (parquet-rs words
        // the error: `encode.rs`).
        let present = cells.filter(|v| !(nullable && matches!(v, Value::Null)));
        let mut encoding = PLAIN;
        let mut bounds = Bounds::None;
        let wrong = || Unwritten::ForParquetRs;
        match ty {
            ColumnType::Text if compact => {
                let text_bytes = self.dictionary_encode(present, rows.len(), &mut bounds)?;
                chunk.text_bytes = Some(text_bytes);
                self.write_dictionary(&mut chunk, &mut None, out)?;
                chunk.data_offset = out.len() as i64;
                push_indices(&mut self.page, self.dictionary.len(), &self.indices);
                encoding = RLE_DICTIONARY;
            }
            ColumnType::Text => {
                let mut bytes = 0;
                for value in present {
                    let Value::Text(s) = value else {
                        return Err(wrong());
                    };
                    let s: &str = s;
                    self.page.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    extend_short(&mut self.page, s.as_bytes());
                    bytes += s.len() as i64;
                    bounds.take_text(s);
                }
                chunk.text_bytes = Some(bytes);
            }
            ColumnType::BigInt | ColumnType::Int => {
                let int32 = ty == ColumnType::Int;
                for value in present {
                    let Value::Int(n) = *value else {
                        return Err(wrong());
                    };
                    match int32 {
                        true => {
                            let n = i32::try_from(n).map_err(|_| wrong())?;
                            self.page.extend_from_slice(&n.to_le_bytes());
                        }
                        false => self.page.extend_from_slice(&n.to_le_bytes()),
                    }
                    bounds.take_int(n);
                }
            }
            ColumnType::Double => {
                for value in present {
                    let Value::Double(n) = *value else {
                        return Err(wrong());
                    };
                    self.page.extend_from_slice(&n.to_le_bytes());
                    bounds.take_double(n);
                }
            }
            ColumnType::Boolean => {
                // Plain booleans: a bit each, the first in the lowest bit.
                let (mut byte, mut bit) = (0u8, 0);
                for value in present {
                    let Value::Bool(b) = *value else {
                        return Err(wrong());
                    };
                    byte |= u8::from(b) << bit;
                    bit += 1;
                    if bit == 8 {
                        self.page.push(byte);
                        (byte, bit) = (0, 0);
                    }
                    bounds.take_bool(b);
                }
                if bit > 0 {
                    self.page.push(byte);
                }
            }
        }
        self.push_column_bounds(&mut chunk, ty, bounds, statistics_prefix);
        if compact && ty != ColumnType::Text && self.page.len() >= MAX_CHUNK_BYTES {
            return Err(Unwritten::PastOnePage);
        }
        let (uncompressed, compressed) = self.pages.write(
            DATA_PAGE,
            rows.len() as i32,
            encoding,
            &self.page,
            compact,
            out,
        )?;
        chunk.uncompressed += uncompressed;
        chunk.compressed += compressed;
        chunk.data_pages = match encoding {
            RLE_DICTIONARY => (1, 0),
            _ => (0, 1),
        };
        Ok(chunk)
    }

    /// A compact column chunk of more than one page, as parquet-rs writes
    /// it: pages cut where its batches cross [`PAGE_ROWS`] rows or
    /// [`PAGE_BYTES`] bytes, and text dictionary encoded until the
    /// dictionary passes [`DICTIONARY_BYTES`], plain after that. Large runs
    /// only (and rare): a match per value, unlike [`Self::write_column`].
    fn write_paged_column(
        &mut self,
        column: &Column,
        index: usize,
        rows: &[&[Value]],
        statistics_prefix: usize,
        out: &mut Vec<u8>,
    ) -> Result<Chunk, Unwritten> {
        let text = column.ty == ColumnType::Text;
        let mut dictionary = text;
        self.dictionary.clear(rows.len());
        self.indices.clear();
        self.page_levels.clear();
        self.page_values.clear();
        self.held_pages.clear();
        let mut chunk = Chunk::default();
        let mut data_offset = None;
        let mut pages = PageCounts::default();
        let mut bounds = Bounds::None;
        let mut text_bytes = 0;
        let cell = |row: usize| &rows[row][index];
        let mut start = 0;
        while start < rows.len() {
            let end = rows.len().min(start + WRITE_BATCH);
            let sub_batch = match text {
                true => {
                    let budget = match dictionary {
                        true => DICTIONARY_BYTES.saturating_sub(self.dictionary.plain.len()),
                        false => PAGE_BYTES,
                    };
                    sub_batch_rows((start..end).map(cell), budget)
                }
                false => end - start,
            };
            let mut from = start;
            while from < end {
                let to = end.min(from + sub_batch);
                for row in from..to {
                    let value = cell(row);
                    if matches!(value, Value::Null) && column.nullable {
                        chunk.nulls += 1;
                        self.page_levels.push(0);
                        continue;
                    }
                    self.page_levels.push(1);
                    match (column.ty, value) {
                        (ColumnType::Text, Value::Text(s)) => {
                            let s: &str = s;
                            text_bytes += s.len() as i64;
                            match dictionary {
                                true => {
                                    let (index, new) = self.dictionary.insert(s.as_bytes());
                                    self.indices.push(index);
                                    if new {
                                        bounds.take_text(s);
                                    }
                                }
                                false => {
                                    self.page_values
                                        .extend_from_slice(&(s.len() as u32).to_le_bytes());
                                    extend_short(&mut self.page_values, s.as_bytes());
                                    bounds.take_text(s);
                                }
                            }
                        }
                        (ColumnType::BigInt, Value::Int(n)) => {
                            self.page_values.extend_from_slice(&n.to_le_bytes());
                            bounds.take_int(*n);
                        }
                        (ColumnType::Int, Value::Int(n)) => {
                            let n = i32::try_from(*n).map_err(|_| Unwritten::ForParquetRs)?;
                            self.page_values.extend_from_slice(&n.to_le_bytes());
                            bounds.take_int(i64::from(n));
                        }
                        (ColumnType::Double, Value::Double(n)) => {
                            self.page_values.extend_from_slice(&n.to_le_bytes());
                            bounds.take_double(*n);
                        }
                        (ColumnType::Boolean, Value::Bool(b)) => {
                            // Packed into bits when the page is cut.
                            self.page_values.push(u8::from(*b));
                            bounds.take_bool(*b);
                        }
                        _ => return Err(Unwritten::ForParquetRs),
                    }
                }
                let page_bytes = match dictionary {
                    true => rle_max_bytes(bit_width(self.dictionary.len()), self.indices.len()),
                    false if column.ty == ColumnType::Boolean => self.page_values.len().div_ceil(8),
                    false => self.page_values.len(),
                };
                if self.page_levels.len() >= PAGE_ROWS || page_bytes >= PAGE_BYTES {
                    self.cut_page(column, dictionary, &mut pages, &mut data_offset, out)?;
                }
                if dictionary && self.dictionary.plain.len() >= DICTIONARY_BYTES {
                    if !self.page_levels.is_empty() {
                        self.cut_page(column, true, &mut pages, &mut data_offset, out)?;
                    }
                    self.write_dictionary(&mut chunk, &mut data_offset, out)?;
                    dictionary = false;
                }
                from = to;
            }
            start = end;
        }
        if !self.page_levels.is_empty() {
            self.cut_page(column, dictionary, &mut pages, &mut data_offset, out)?;
        }
        if dictionary {
            self.write_dictionary(&mut chunk, &mut data_offset, out)?;
        }
        chunk.data_offset = data_offset.unwrap_or(out.len() as i64);
        chunk.uncompressed += pages.uncompressed;
        chunk.compressed += pages.compressed;
        chunk.data_pages = (pages.dictionary_encoded, pages.plain);
        if text {
            chunk.text_bytes = Some(text_bytes);
        }
        self.push_column_bounds(&mut chunk, column.ty, bounds, statistics_prefix);
        Ok(chunk)
    }

    /// Ends a paged chunk's current page: written at once when plain, held
    /// back when dictionary encoded (its dictionary page comes first).
    fn cut_page(
        &mut self,
        column: &Column,
        dictionary: bool,
        pages: &mut PageCounts,
        data_offset: &mut Option<i64>,
        out: &mut Vec<u8>,
    ) -> Result<(), Unwritten> {
        self.page.clear();
        if column.nullable {
            push_levels(&mut self.page, self.page_levels.iter().copied());
        }
        let encoding = match dictionary {
            true => {
                push_indices(&mut self.page, self.dictionary.len(), &self.indices);
                RLE_DICTIONARY
            }
            false if column.ty == ColumnType::Boolean => {
                for bits in self.page_values.chunks(8) {
                    let byte = bits
                        .iter()
                        .enumerate()
                        .fold(0u8, |byte, (i, b)| byte | (b << i));
                    self.page.push(byte);
                }
                PLAIN
            }
            false => {
                self.page.extend_from_slice(&self.page_values);
                PLAIN
            }
        };
        let num_values = self.page_levels.len() as i32;
        let target = match dictionary {
            true => &mut self.held_pages,
            false => {
                data_offset.get_or_insert(out.len() as i64);
                &mut *out
            }
        };
        let (uncompressed, compressed) = self
            .pages
            .write(DATA_PAGE, num_values, encoding, &self.page, true, target)?;
        pages.uncompressed += uncompressed;
        pages.compressed += compressed;
        match dictionary {
            true => pages.dictionary_encoded += 1,
            false => pages.plain += 1,
        }
        self.page_levels.clear();
        self.page_values.clear();
        self.indices.clear();
        Ok(())
    }

    /// A chunk's dictionary page, then the data pages a paged chunk held
    /// back for it (none for a chunk of one page); `data_offset` is set
    /// where they start, unless already set.
    fn write_dictionary(
        &mut self,
        chunk: &mut Chunk,
        data_offset: &mut Option<i64>,
        out: &mut Vec<u8>,
    ) -> Result<(), Unwritten> {
        chunk.dictionary_offset = Some(out.len() as i64);
        let (uncompressed, compressed) = self.pages.write(
            DICTIONARY_PAGE,
            self.dictionary.len() as i32,
            PLAIN,
            &self.dictionary.plain,
            true,
            out,
        )?;
        chunk.uncompressed += uncompressed;
        chunk.compressed += compressed;
        data_offset.get_or_insert(out.len() as i64);
        out.extend_from_slice(&self.held_pages);
        self.held_pages.clear();
        Ok(())
    }

    /// Dictionary encodes a text column chunk of at most `count` values into
    /// [`Self::dictionary`] and [`Self::indices`], widening `bounds` by new
    /// entries only; returns the bytes of its values. Past
    /// [`MAX_CHUNK_BYTES`] of values, nothing (the chunk takes more than one
    /// page).
    fn dictionary_encode<'v, 'a: 'v>(
        &mut self,
        values: impl Iterator<Item = &'v Value<'a>>,
        count: usize,
        bounds: &mut Bounds<'v>,
    ) -> Result<i64, Unwritten> {
        self.dictionary.clear(count);
        self.indices.clear();
        let mut plain_bytes = 0;
        // Rows of a run share its text (same pointer): no hash for them.
        let mut previous: (*const u8, usize, u32) = (std::ptr::null(), usize::MAX, 0);
        for value in values {
            let Value::Text(s) = value else {
                return Err(Unwritten::ForParquetRs);
            };
            let s: &str = s;
            plain_bytes += 4 + s.len();
            let index = if (s.as_ptr(), s.len()) == (previous.0, previous.1) {
                previous.2
            } else {
                let (index, new) = self.dictionary.insert(s.as_bytes());
                if new {
                    bounds.take_text(s);
                }
                previous = (s.as_ptr(), s.len(), index);
                index
            };
            self.indices.push(index);
        }
        if plain_bytes >= MAX_CHUNK_BYTES {
            return Err(Unwritten::PastOnePage);
        }
        Ok((plain_bytes - 4 * self.indices.len()) as i64)
    }

    /// A chunk's min and max as the footer holds them: text cut to
    /// `prefix` bytes, a zero double bound as -0.0 (min) and +0.0 (max), as
    /// parquet-rs writes them.
    fn push_column_bounds(
        &mut self,
        chunk: &mut Chunk,
        ty: ColumnType,
        bounds: Bounds,
        prefix: usize,
    ) {
        match bounds {
            Bounds::None => {}
            Bounds::Text(min, max) => self.push_text_bounds(chunk, min, max, prefix),
            Bounds::Int(min, max) if ty == ColumnType::Int => {
                let (min, max) = (min as i32, max as i32);
                self.push_bounds(chunk, &min.to_le_bytes(), &max.to_le_bytes());
            }
            Bounds::Int(min, max) => {
                self.push_bounds(chunk, &min.to_le_bytes(), &max.to_le_bytes())
            }
            Bounds::Double(min, max) => {
                let min = if min == 0.0 { -0.0 } else { min };
                let max = if max == 0.0 { 0.0 } else { max };
                self.push_bounds(chunk, &min.to_le_bytes(), &max.to_le_bytes());
            }
            Bounds::Bool(min, max) => self.push_bounds(chunk, &[u8::from(min)], &[u8::from(max)]),
        }
    }

    fn push_text_bounds(&mut self, chunk: &mut Chunk, min: &str, max: &str, prefix: usize) {
        let (min, min_exact) = truncate_min(min, prefix);
        let start = self.bounds.len();
        self.bounds.extend_from_slice(min);
        chunk.min = (start, self.bounds.len());
        let start = self.bounds.len();
        let max_exact = push_truncated_max(&mut self.bounds, max, prefix);
        chunk.max = (start, self.bounds.len());
        chunk.has_bounds = true;
        chunk.min_exact = min_exact;
        chunk.max_exact = max_exact;
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

    /// The Thrift `FileMetaData`, field for field as parquet-rs writes it.
    fn footer(
        &self,
        table: &Table,
        schema: &[u8],
        groups: &[Range<usize>],
        compact: bool,
        out: &mut Vec<u8>,
    ) {
        let mut t = Thrift { out };
        let columns = table.columns.len();
        let num_rows: usize = groups.iter().map(|g| g.len()).sum();
        t.i32_field(1, 0, 1); // version
        t.list_field(2, 1, FieldType::Struct, columns + 1);
        t.out.extend_from_slice(schema);
        t.i64_field(3, 2, num_rows as i64);
        t.list_field(4, 3, FieldType::Struct, groups.len());
        for (ordinal, (group, chunks)) in groups.iter().zip(self.chunks.chunks(columns)).enumerate()
        {
            let group_rows = group.len() as i64;
            t.list_field(1, 0, FieldType::Struct, columns);
            for (column, chunk) in table.columns.iter().zip(chunks) {
                self.column_chunk(&mut t, column, chunk, group_rows, compact);
            }
            let uncompressed: i64 = chunks.iter().map(|c| c.uncompressed).sum();
            let compressed: i64 = chunks.iter().map(|c| c.compressed).sum();
            t.i64_field(2, 1, uncompressed); // total_byte_size
            t.i64_field(3, 2, group_rows);
            t.i64_field(5, 3, chunks[0].offset()); // file_offset
            t.i64_field(6, 5, compressed);
            t.i16_field(7, 6, ordinal as i16);
            t.stop();
        }
        t.binary_field(6, 4, DEFAULT_CREATED_BY.as_bytes());
        // column_orders: TYPE_DEFINED_ORDER for every column.
        t.list_field(7, 6, FieldType::Struct, columns);
        for _ in 0..columns {
            t.field(FieldType::Struct, 1, 0);
            t.stop();
            t.stop();
        }
        t.stop();
    }

    /// A `ColumnChunk` and its `ColumnMetaData`.
    fn column_chunk(
        &self,
        t: &mut Thrift,
        column: &Column,
        chunk: &Chunk,
        num_rows: i64,
        compact: bool,
    ) {
        let (ty, nullable) = (column.ty, column.nullable);
        let dictionary = chunk.dictionary_offset.is_some();
        t.i64_field(2, 0, 0); // file_offset (deprecated)
        t.field(FieldType::Struct, 3, 2);
        t.i32_field(1, 0, physical_type(ty));
        let encodings: &[i32] = match dictionary {
            true => &[PLAIN, RLE, RLE_DICTIONARY],
            false => &[PLAIN, RLE],
        };
        t.list_field(2, 1, FieldType::I32, encodings.len());
        for &encoding in encodings {
            t.i32(encoding);
        }
        t.list_field(3, 2, FieldType::Binary, 1);
        t.binary(column.name.as_bytes());
        t.i32_field(4, 3, if compact { SNAPPY } else { UNCOMPRESSED });
        t.i64_field(5, 4, num_rows);
        t.i64_field(6, 5, chunk.uncompressed);
        t.i64_field(7, 6, chunk.compressed);
        t.i64_field(9, 7, chunk.data_offset);
        let mut last = 9;
        if let Some(offset) = chunk.dictionary_offset {
            t.i64_field(11, 9, offset);
            last = 11;
        }
        // Statistics: the deprecated signed-order max/min (numbers only),
        // null count, max/min, and whether they are exact.
        t.field(FieldType::Struct, 12, last);
        let signed = matches!(
            ty,
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
        // encoding_stats: the dictionary page, then the data pages,
        // dictionary encoded and plain.
        let (encoded, plain) = chunk.data_pages;
        let kinds = [
            (dictionary, DICTIONARY_PAGE, PLAIN, 1),
            (encoded > 0, DATA_PAGE, RLE_DICTIONARY, encoded),
            (plain > 0, DATA_PAGE, PLAIN, plain),
        ];
        let listed = kinds.iter().filter(|k| k.0).count();
        t.list_field(13, 12, FieldType::Struct, listed);
        for &(_, page_type, encoding, count) in kinds.iter().filter(|k| k.0) {
            t.i32_field(1, 0, page_type);
            t.i32_field(2, 1, encoding);
            t.i32_field(3, 2, count as i32);
            t.stop();
        }
        // size_statistics: text bytes, and the definition level histogram.
        if chunk.text_bytes.is_some() || nullable {
            t.field(FieldType::Struct, 16, 13);
            let mut last = 0;
            if let Some(bytes) = chunk.text_bytes {
                t.i64_field(1, 0, bytes);
                last = 1;
            }
            if nullable {
                t.list_field(3, last, FieldType::I64, 2);
                t.i64(chunk.nulls);
                t.i64(num_rows - chunk.nulls);
            }
            t.stop();
        }
        t.stop();
        t.stop();
    }
}

/// The bounds `(min, max)` widened to take `s` (byte order, as parquet-rs
/// orders UTF-8 text).
fn widen<'s>(min: &'s str, max: &'s str, s: &'s str) -> (&'s str, &'s str) {
    (
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
    )
}

/// Data pages of a paged chunk, and their bytes with headers.
#[derive(Default)]
struct PageCounts {
    dictionary_encoded: usize,
    plain: usize,
    uncompressed: i64,
    compressed: i64,
}

/// A paged chunk's min and max so far, as parquet-rs keeps them (NaN left
/// out; text in byte order).
enum Bounds<'v> {
    None,
    Text(&'v str, &'v str),
    Int(i64, i64),
    Double(f64, f64),
    Bool(bool, bool),
}

impl<'v> Bounds<'v> {
    fn take_text(&mut self, s: &'v str) {
        *self = match *self {
            Bounds::Text(min, max) => {
                let (min, max) = widen(min, max, s);
                Bounds::Text(min, max)
            }
            _ => Bounds::Text(s, s),
        };
    }

    fn take_int(&mut self, n: i64) {
        *self = match *self {
            Bounds::Int(min, max) => Bounds::Int(min.min(n), max.max(n)),
            _ => Bounds::Int(n, n),
        };
    }

    fn take_double(&mut self, n: f64) {
        if n.is_nan() {
            return;
        }
        *self = match *self {
            Bounds::Double(min, max) => {
                Bounds::Double(if min > n { n } else { min }, if n > max { n } else { max })
            }
            _ => Bounds::Double(n, n),
        };
    }

    fn take_bool(&mut self, b: bool) {
        *self = match *self {
            Bounds::Bool(min, max) => Bounds::Bool(min & b, max | b),
            _ => Bounds::Bool(b, b),
        };
    }
}

/// How many rows of a batch (at most [`WRITE_BATCH`]) parquet-rs writes at
/// a time so that their plain bytes do not overshoot `budget`: all of them
/// unless their values pass it, else up to the value that does, scaled to
/// rows when some are null.
fn sub_batch_rows<'v, 'a: 'v>(
    cells: impl Iterator<Item = &'v Value<'a>> + Clone,
    budget: usize,
) -> usize {
    let rows = cells.clone().count();
    let values = cells.clone().filter(|v| !matches!(v, Value::Null)).count();
    if values == 0 {
        return rows;
    }
    let mut bytes = 0usize;
    let mut fit = values;
    for (i, value) in cells.filter(|v| !matches!(v, Value::Null)).enumerate() {
        if let Value::Text(s) = value {
            bytes = bytes.saturating_add(4 + s.len());
        }
        if bytes > budget {
            fit = i + 1;
            break;
        }
    }
    let fit_rows = match values == rows {
        true => fit,
        false => (fit * rows).div_ceil(values).max(1),
    };
    rows.min(fit_rows.max(1))
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
