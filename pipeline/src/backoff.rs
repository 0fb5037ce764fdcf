//! The pause between rounds of a writer that lost a compare-and-swap:
//! short, growing and jittered, so that writers contending for one key
//! spread out instead of colliding again.

use std::time::Duration;

/// Sleeps before round `attempt + 1`: a random part of 10 ms, 20 ms, 40 ms…
/// (at most 640 ms).
pub fn pause(attempt: u32) {
    let ceiling = Duration::from_millis(5 << attempt.clamp(1, 7));
    std::thread::sleep(ceiling.mul_f64(fastrand::f64()));
}
