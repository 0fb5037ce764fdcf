//! Shared by every module of the integration tests (and, through `#[path]`,
//! `common.rs` and `servers.rs` by the benchmark, `benches/pipeline.rs`).

pub mod common;
pub mod events;
pub mod lake;
pub mod pause;
pub mod servers;
pub mod spin_host;

use std::sync::{Mutex, MutexGuard};

/// The tests that measure their own `serve` (time to answer `/healthz`,
/// threads, descriptors, memory) or load both cores with one (the 32-client
/// load test) take turns: each holds this for its whole run. In separate
/// test binaries the load test ran alone and the attacks of
/// `hostile::http` only beside other `hostile` tests; in one binary any two
/// tests may run together, and thousands of sockets or 32 clients of
/// another measured test on the same two cores would blur the figures.
static ONE_MEASURED_SERVER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Waits for the turn of a test that measures its server (see above); a
/// test that failed while holding it does not stop the others.
pub fn one_measured_server_at_a_time() -> MutexGuard<'static, ()> {
    ONE_MEASURED_SERVER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
