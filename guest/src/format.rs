//! What `summary.rs` and the per-kind line parsers (`nucleotide.rs`,
//! `protein.rs`, `rdrp.rs`) share: how a kind's lines look and where the
//! rows of a table go. `summary.rs` dispatches to the kind modules; both
//! import from here, so imports run one way.

use summary_lake::keys::Partition;
use summary_lake::Table;

use crate::record::key_slot;
use crate::value::Value;

/// How one kind's lines look.
pub(crate) struct Format {
    /// The key that marks each section, in the order of the kind's tables:
    /// the header (run table) first.
    pub section_keys: &'static [&'static str],
    /// Keys whose value runs to the end of the line.
    pub free_text_keys: &'static [&'static str],
    /// Whether lines may start `sra=<run>;` (Serratus added that prefix to
    /// protein-style summaries in late 2020; earlier files lack it).
    pub run_prefix: bool,
}

impl Format {
    /// The [`key_slot`] of each section key (at most four).
    pub(crate) fn section_slots(&self) -> [usize; 4] {
        debug_assert!(self.section_keys.len() <= 4, "more section keys than slots");
        let mut slots = [0; 4];
        for (slot, key) in slots.iter_mut().zip(self.section_keys) {
            *slot = key_slot(key);
        }
        slots
    }
}

/// The key of every summary's header line.
pub(crate) const HEADER_KEY: &str = "SUMZER_COMMENT";

/// Rows of one table, stored flat: `stride` values per row, the table's
/// columns and, for a partitioned table, the row's `score` and `pctid` as
/// two more `Int`s (the `run-bucket` files' last columns, so that those
/// rows need no copy).
#[derive(Debug)]
pub struct TableRows<'a> {
    pub table: &'static Table,
    pub partitions: Vec<Option<Partition>>,
    pub values: Vec<Value<'a>>,
    stride: usize,
}

impl<'a> TableRows<'a> {
    pub(crate) fn new(table: &'static Table) -> Self {
        TableRows {
            table,
            partitions: Vec::new(),
            values: Vec::new(),
            stride: table.columns.len() + if table.partitioned { 2 } else { 0 },
        }
    }

    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The row's values in the table's column order.
    pub fn row(&self, index: usize) -> &[Value<'a>] {
        let start = index * self.stride;
        &self.values[start..start + self.table.columns.len()]
    }

    /// The rows as [`summary_lake::catalog::file_table`] has them in the
    /// `run-bucket` layout: for a partitioned table, `score` and `pctid`
    /// last (`Null` for a row without a partition).
    pub fn wide_rows(&self) -> std::slice::ChunksExact<'_, Value<'a>> {
        self.values.chunks_exact(self.stride)
    }

    /// Makes room for `rows` more rows.
    pub(crate) fn reserve(&mut self, rows: usize) {
        self.partitions.reserve(rows);
        self.values.reserve(rows * self.stride);
    }

    /// Hands back room no row took.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.partitions.shrink_to_fit();
        self.values.shrink_to_fit();
    }

    /// Appends one row; `values` are in the table's column order.
    #[inline]
    pub fn push<const N: usize>(&mut self, partition: Option<Partition>, values: [Value<'a>; N]) {
        debug_assert_eq!(
            N,
            self.table.columns.len(),
            "row width of {}",
            self.table.glue_name
        );
        self.partitions.push(partition);
        self.values.extend(values);
        if self.table.partitioned {
            let (score, pctid) = partition.map_or((Value::Null, Value::Null), |p| {
                (
                    Value::Int(i64::from(p.score)),
                    Value::Int(i64::from(p.pctid)),
                )
            });
            self.values.push(score);
            self.values.push(pctid);
        }
    }
}
