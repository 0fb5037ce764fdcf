//! A Parquet object as the converter hands it over.

use summary_lake::keys::Partition;

/// One Parquet file of the lake.
#[derive(Clone, Debug, PartialEq, Eq)]
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
