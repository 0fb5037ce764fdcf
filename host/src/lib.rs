//! The native host: runs the summary converter component under wasmtime
//! and writes its Parquet objects to an object store. I/O and wiring only;
//! the lake's layout lives in `summary-layout`, the conversion in the guest.

pub mod aws;
pub mod converter;
pub mod glue_catalog;
pub mod lambda;
pub mod parallel;
pub mod pipeline;
pub mod replay;
pub mod s3_store;
pub mod serve;
pub mod sqs_consumer;
pub mod store;
