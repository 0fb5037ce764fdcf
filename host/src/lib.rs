//! The native host: runs the summary converter component under wasmtime
//! and writes its Parquet objects to an object store. I/O and wiring only;
//! the lake's layout lives in `summary-layout`, the conversion in the guest.

pub mod converter;
pub mod replay;
pub mod store;
pub mod aws;
pub mod s3_store;
pub mod glue_catalog;
pub mod pipeline;
pub mod serve;
