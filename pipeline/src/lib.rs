//! The I/O both hosts run, written once over what each host supplies: an
//! HTTP `Transport` (for S3, Glue and SQS calls), an `ObjectStore` for the
//! lake and a `Convert` for the guest. Reads feed the pure planners of
//! `summary-plan`; `apply` carries their plans out, the only writer of the
//! lake. The wire format underneath is the sans-IO `summary-aws`.

pub mod apply;
pub mod aws_client;
pub mod backoff;
pub mod batch;
pub mod compaction;
pub mod convert;
pub mod descriptor;
pub mod endpoint;
pub mod error;
pub mod events;
pub mod glue_catalog;
pub mod metrics;
pub mod parallel;
pub mod s3_store;
pub mod shared;
pub mod store;
pub mod turns;
