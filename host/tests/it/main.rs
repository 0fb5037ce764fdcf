//! The host's integration tests: one test binary, one module per subject,
//! sharing `support` (fixtures, the S3/Glue/SQS servers, event documents,
//! the Spin stand-in) and the Python programs in `python/`.
//!
//! One module: `cargo test --release -p summary-uploader --test it sqs::`
//! (a filter matches anywhere in the name: `events::` also runs
//! `hostile::events::`, add `-- --skip hostile::` to leave those out); one
//! test: `cargo test --release -p summary-uploader --test it -- --exact sqs::NAME`.
//! Any two tests may run at once: those that measure their own server take
//! turns through `support::one_measured_server_at_a_time`.

mod support;

mod backfill;
mod component;
mod concurrency;
mod conditional;
mod credentials;
mod events;
mod faults;
mod hostile;
mod interleavings;
mod lambda;
mod layouts;
mod load;
mod misbehaving_guest;
mod ops;
mod reader_matrix;
mod replay_cli;
mod s3_keys;
mod serve;
mod spin;
mod sqs;
