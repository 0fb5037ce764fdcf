//! One process of a test paused at a chosen request to S3 while another
//! runs whole: the proxy forwards its requests until the `nth` one that
//! matches, then holds that one and every later one until released. The
//! process stands still at that step, as if descheduled there.
#![allow(dead_code)]

use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::servers::{Aws, Fault, FaultProxy};

/// Which request to pause at: the `nth` (from 1) for which
/// `matches(method, path)` holds. `path` is the request path as sent,
/// bucket first and URL-encoded (`/lake/serratus/protein/family/score%3D2/…`).
pub struct At {
    pub step: String,
    pub nth: usize,
    pub matches: Box<dyn Fn(&str, &str) -> bool + Send + Sync>,
}

impl At {
    pub fn new(
        step: impl Into<String>,
        nth: usize,
        matches: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
    ) -> At {
        At {
            step: step.into(),
            nth,
            matches: Box::new(matches),
        }
    }
}

pub struct Pause {
    proxy: FaultProxy,
    release: &'static AtomicBool,
    step: String,
}

impl Pause {
    /// A proxy for the process to pause. It forwards to `aws`'s own S3
    /// proxy, so the conditional writes of every process stay atomic
    /// together (see [`FaultProxy::atomic_conditional_writes`]).
    pub fn at(aws: &Aws, at: At) -> Pause {
        // The proxy's fault function must be 'static: one flag per pause.
        let release: &'static AtomicBool = Box::leak(Box::default());
        let (matched, paused) = (AtomicUsize::new(0), AtomicBool::new(false));
        let At { step, nth, matches } = at;
        let proxy = FaultProxy::start(aws.s3_proxy_port(), move |method, path, _| {
            if release.load(Ordering::SeqCst) {
                return None;
            }
            let reached = paused.load(Ordering::SeqCst)
                || (matches(method, path) && matched.fetch_add(1, Ordering::SeqCst) + 1 == nth);
            paused.fetch_or(reached, Ordering::SeqCst);
            reached.then_some(Fault::HoldUntil(release))
        });
        Pause {
            proxy,
            release,
            step,
        }
    }

    /// Where the paused process reaches S3 (`AWS_ENDPOINT_URL_S3`).
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// Waits until `child` stands at the step; fails if it exits first
    /// (it never made that request) or takes over a minute.
    pub fn wait(&self, child: &mut Child) {
        let started = Instant::now();
        while self.proxy.faults_served.load(Ordering::SeqCst) == 0 {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the process exited ({status}) before its step {}",
                    self.step
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the process never reached its step {}",
                self.step
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lets the paused process go on.
    pub fn release(&self) {
        self.release.store(true, Ordering::SeqCst);
    }

    /// Answers of 412 or 409 the paused process got: compare-and-swaps it
    /// lost to the other writer.
    pub fn conflicts(&self) -> usize {
        self.proxy.conflicts_answered.load(Ordering::SeqCst)
    }
}

/// A test that fails while a process is paused lets it go on, so that it
/// finishes rather than wait on the proxy.
impl Drop for Pause {
    fn drop(&mut self) {
        self.release();
    }
}
