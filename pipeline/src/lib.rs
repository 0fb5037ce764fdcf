//! The pipeline both hosts run, written once over the I/O each host
//! supplies: an HTTP `Transport` (for S3, Glue and SQS calls), an
//! `ObjectStore` for the lake and a `Convert` for the guest. The protocol
//! logic underneath is the sans-IO `summary-edge`.

pub mod apply;
pub mod aws;
pub mod batch;
pub mod compaction;
pub mod convert;
pub mod endpoint;
pub mod error;
pub mod glue_catalog;
pub mod parallel;
pub mod pipeline;
pub mod s3_store;
pub mod shared;
pub mod store;
