//! In-process crash tests of every plan kind: each write of the lake is
//! made to fail in turn (before it happens, and after it happened with the
//! answer lost), the same work is then run again, and the final lake must
//! be byte for byte the lake of an uninterrupted run, Glue included. No
//! servers: an in-memory store, the converter built natively.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use summary_pipeline::apply::Lake;
use summary_pipeline::error::{Error, Result};
use summary_pipeline::store::{Expected, MemoryStore, ObjectStore, PutOutcome, Versioned};
use support::*;

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The write never happens.
    Lost,
    /// The write happens; its answer is lost.
    Unanswered,
}

/// The memory store, failing its `fail_at`-th write (a put or delete).
struct FailingStore<'a> {
    inner: &'a MemoryStore,
    fail_at: usize,
    fault: Fault,
    writes: AtomicUsize,
}

impl FailingStore<'_> {
    fn write<T>(&self, key: &str, write: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.writes.fetch_add(1, Ordering::SeqCst) != self.fail_at {
            return write();
        }
        if let Fault::Unanswered = self.fault {
            write()?;
        }
        Err(Error::Transient(format!(
            "injected failure ({:?}) writing {key}",
            self.fault
        )))
    }
}

impl ObjectStore for FailingStore<'_> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        self.write(key, || self.inner.put(key, bytes))
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        self.inner.get_versioned(key)
    }
    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        self.write(key, || self.inner.put_if(key, bytes, expected))
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.write(key, || self.inner.delete(key))
    }
    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        self.write(prefix, || self.inner.delete_prefix(prefix))
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix)
    }
    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        self.inner.list_sized(prefix)
    }
    fn describe(&self) -> String {
        "failing memory".into()
    }
}

/// Runs `setup`, then `work`, uninterrupted: the expected lake. Then, for
/// every write `work` makes and both faults, a fresh lake after `setup`
/// where that write fails, then `work` again without faults: the lake must
/// be the expected one. Returns the number of writes of one `work`.
fn crash_at_every_write(
    setup: impl Fn(&Lake) -> Result<()>,
    work: impl Fn(&Lake) -> Result<()>,
) -> usize {
    let run = |fail_at: usize, fault: Fault| {
        let store = MemoryStore::default();
        let catalog = MemoryCatalog::default();
        setup(&lake(&store, &catalog)).expect("setup");
        let failing = FailingStore {
            inner: &store,
            fail_at,
            fault,
            writes: AtomicUsize::new(0),
        };
        let first = work(&lake(&failing, &catalog));
        let writes = failing.writes.load(Ordering::SeqCst);
        (store, catalog, first, writes)
    };
    let (expected, expected_catalog, first, writes) = run(usize::MAX, Fault::Lost);
    first.expect("the uninterrupted run");
    let expected = expected.snapshot();
    let expected_catalog = expected_catalog.0.into_inner().unwrap();
    assert!(writes > 0);
    for fault in [Fault::Lost, Fault::Unanswered] {
        for fail_at in 0..writes {
            let (store, catalog, first, _) = run(fail_at, fault);
            assert!(
                first.is_err(),
                "write {fail_at} ({fault:?}) failed, yet the work reported success"
            );
            work(&lake(&store, &catalog))
                .unwrap_or_else(|e| panic!("the re-run after write {fail_at} ({fault:?}): {e:#}"));
            let got = store.snapshot();
            assert_same_lake(
                &expected,
                &got,
                &format!("write {fail_at} ({fault:?}) failed, then a re-run"),
            );
            assert_eq!(
                catalog.0.into_inner().unwrap(),
                expected_catalog,
                "Glue after write {fail_at} ({fault:?})"
            );
        }
    }
    writes
}

fn nothing(_: &Lake) -> Result<()> {
    Ok(())
}

#[test]
fn an_event_landing_a_new_run() {
    support::each_layout(|| {
        let run = nucleotide_runs()[0].clone();
        let (_, bytes) = fixture("nucleotide", &run);
        let writes = crash_at_every_write(nothing, |lake| event(lake, &run, &bytes, "e1", "01"));
        assert!(writes > 5, "{writes} writes");
    });
}

#[test]
fn an_event_replacing_a_run() {
    support::each_layout(|| {
        let run = nucleotide_runs()[0].clone();
        let (_, bytes) = fixture("nucleotide", &run);
        let newer = shortened(&bytes, 8);
        let writes = crash_at_every_write(
            |lake| event(lake, &run, &bytes, "e1", "01"),
            |lake| event(lake, &run, &newer, "e2", "02"),
        );
        assert!(writes > 5, "{writes} writes");
    });
}

#[test]
fn a_backfill_batch_with_a_missing_summary() {
    support::each_layout(|| {
        let runs: Vec<String> = nucleotide_runs()[..4].to_vec();
        let missing = runs[3].clone();
        let writes = crash_at_every_write(nothing, |lake| {
            backfill_batch(lake, &runs, &[missing.as_str()])
        });
        assert!(writes > 5, "{writes} writes");
    });
}

#[test]
fn a_run_moving_between_backfill_batches() {
    support::each_layout(|| {
        let all = nucleotide_runs();
        let first: Vec<String> = all[..3].to_vec();
        let second: Vec<String> = all[2..5].to_vec();
        let writes = crash_at_every_write(
            |lake| backfill_batch(lake, &first, &[]),
            |lake| backfill_batch(lake, &second, &[]),
        );
        assert!(writes > 5, "{writes} writes");
    });
}

#[test]
fn a_compaction_of_event_landed_runs() {
    support::each_layout(|| {
        let runs: Vec<String> = nucleotide_runs()[..4].to_vec();
        let writes = crash_at_every_write(
            |lake| {
                for run in &runs {
                    let (_, bytes) = fixture("nucleotide", run);
                    event(lake, run, &bytes, "e1", "01")?;
                }
                Ok(())
            },
            compact,
        );
        assert!(writes > 5, "{writes} writes");
    });
}

#[test]
fn a_compaction_of_a_batch_object_an_earlier_output_and_event_landed_runs() {
    support::each_layout(|| {
        let writes = crash_at_every_write(compacted_batch_beside_a_new_event, compact);
        assert!(writes > 5, "{writes} writes");
    });
}
