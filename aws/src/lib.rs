//! AWS's wire format without I/O: what an event document means, and the
//! exact requests (signed S3, Glue and SQS calls) and answers. Hosts send
//! the requests and feed the answers back; both the native host and the
//! Spin app use this crate.

pub mod batch_operations;
pub mod boolean;
pub mod credentials;
pub mod event;
pub mod glue;
pub mod request;
pub mod retry;
pub mod s3;
pub mod sequencer;
pub mod sns;
pub mod sqs;
pub mod xml;
