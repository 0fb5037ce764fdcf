//! The native host: runs the summary converter component under wasmtime
//! and writes its Parquet objects to an object store. I/O and wiring only:
//! the pipeline itself is `summary-pipeline` (shared with the Spin app),
//! the lake `summary-lake`, the conversion the guest.

pub mod aws_sdk_config;
pub mod aws_transport;
pub mod backfill;
pub mod clear;
pub mod cli;
pub mod compact;
pub mod context;
pub mod converter;
pub mod gen_corpus;
pub mod handle_event;
pub mod lake_views;
pub mod lambda;
pub mod local_store;
pub mod logging;
pub mod metrics_server;
pub mod replay;
pub mod report;
pub mod serve;
pub mod serve_auth;
pub mod sqs_consumer;
pub mod yes_no;

pub use summary_pipeline::{events, glue_catalog, parallel, s3_store, shared};
