//! The edge function's logic without I/O: what an event means, where its
//! summary's rows go, what to write and delete, and the exact AWS requests
//! (signed S3, Glue and SQS calls) to do it. Hosts send the requests and feed the
//! answers back; both the native host and the Spin app use this crate.

pub mod credentials;
pub mod event;
pub mod glue;
pub mod request;
pub mod retry;
pub mod route;
pub mod s3;
pub mod sequencer;
pub mod sns;
pub mod sqs;
