//! Two writers at once, interleaved at every step: a second writer's whole
//! work runs just before each store operation of the first, on the same
//! in-memory lake, whose conditional writes are atomic like S3's. After
//! both, every run holds exactly one version's rows, once, and no object
//! is left that no manifest names.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use summary_lake::catalog::{file_table, table};
use summary_lake::keys::parse_object_key;

use summary_pipeline::apply::Lake;
use summary_pipeline::error::Result;
use summary_pipeline::store::{Expected, MemoryStore, ObjectStore, PutOutcome, Versioned};
use summary_plan::manifest::Manifest;
use support::*;

/// The memory store, running `interloper` once just before its `at`-th
/// operation (a read or a write).
struct InterleavingStore<'a> {
    inner: &'a MemoryStore,
    at: usize,
    operations: AtomicUsize,
    interloper: Mutex<Option<Box<dyn FnOnce() + Send + 'a>>>,
}

impl<'a> InterleavingStore<'a> {
    fn new(inner: &'a MemoryStore, at: usize, interloper: impl FnOnce() + Send + 'a) -> Self {
        InterleavingStore {
            inner,
            at,
            operations: AtomicUsize::new(0),
            interloper: Mutex::new(Some(Box::new(interloper))),
        }
    }

    fn step(&self) {
        if self.operations.fetch_add(1, Ordering::SeqCst) == self.at {
            if let Some(interloper) = self.interloper.lock().unwrap().take() {
                interloper();
            }
        }
    }
}

impl ObjectStore for InterleavingStore<'_> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        self.step();
        self.inner.put(key, bytes)
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.step();
        self.inner.get(key)
    }
    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        self.step();
        self.inner.get_versioned(key)
    }
    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        self.step();
        self.inner.put_if(key, bytes, expected)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.step();
        self.inner.delete(key)
    }
    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        self.step();
        self.inner.delete_prefix(prefix)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.step();
        self.inner.list(prefix)
    }
    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        self.step();
        self.inner.list_sized(prefix)
    }
    fn describe(&self) -> String {
        "interleaving memory".into()
    }
}

/// For every operation of `outer`: a fresh lake after `setup`, `outer` run
/// with `inner` run whole just before that operation, then `check` on the
/// lake. Returns how many interleavings were tried.
fn interleave_at_every_step(
    setup: impl Fn(&Lake) -> Result<()>,
    outer: impl Fn(&Lake) -> Result<()>,
    inner: impl Fn(&Lake) -> Result<()> + Sync,
    check: impl Fn(&BTreeMap<String, Vec<u8>>, &str),
) -> usize {
    let mut at = 0;
    loop {
        let store = MemoryStore::default();
        let catalog = MemoryCatalog::default();
        setup(&lake(&store, &catalog)).expect("setup");
        let ran_inner = std::sync::atomic::AtomicBool::new(false);
        let interleaving = InterleavingStore::new(&store, at, || {
            inner(&lake(&store, &catalog)).expect("the interleaved writer");
            ran_inner.store(true, Ordering::SeqCst);
        });
        outer(&lake(&interleaving, &catalog)).expect("the outer writer");
        if !ran_inner.load(Ordering::SeqCst) {
            // `outer` made fewer operations: every interleaving was tried.
            return at;
        }
        check(
            &store.snapshot(),
            &format!("interleaved before operation {at}"),
        );
        at += 1;
    }
}

/// The rows of `run` in a Parquet object of the lake.
fn rows_of(key: &str, bytes: &[u8], run: &str) -> (u64, bool) {
    let parsed = parse_object_key(key).expect("a lake object key");
    let table = file_table(
        table(parsed.kind, parsed.table).expect("a lake table"),
        parsed.layout(),
    );
    let all = summary_guest::merge(table, &[bytes.to_vec()], &[])
        .expect("readable")
        .expect("not empty");
    let others: Vec<String> = all.runs.iter().filter(|r| *r != run).cloned().collect();
    match summary_guest::merge(table, &[bytes.to_vec()], &others).expect("readable") {
        Some(mine) => (mine.rows, true),
        None => (0, false),
    }
}

/// Each run's rows, object by object, as the lake holds them.
fn rows_by_run(lake: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut by_run: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (key, bytes) in lake.iter().filter(|(k, _)| k.ends_with(".parquet")) {
        let parsed = parse_object_key(key).unwrap();
        let table = file_table(table(parsed.kind, parsed.table).unwrap(), parsed.layout());
        let runs = summary_guest::merge(table, &[bytes.clone()], &[])
            .unwrap()
            .map(|m| m.runs)
            .unwrap_or_default();
        for run in runs {
            let (rows, _) = rows_of(key, bytes, &run);
            by_run.entry(run).or_default().insert(key.clone(), rows);
        }
    }
    by_run
}

fn manifests(lake: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Manifest> {
    lake.iter()
        .filter(|(k, _)| k.starts_with("_manifests/"))
        .map(|(_, bytes)| {
            let m = Manifest::from_json(bytes).unwrap();
            (m.run.clone(), m)
        })
        .collect()
}

/// Every run's manifest is complete, names exactly the objects holding
/// its rows, and those rows are `expected`'s for the run (by table and
/// row count, from a lake where only that version was written); no object
/// is left that no manifest names.
fn assert_exact(
    lake: &BTreeMap<String, Vec<u8>>,
    expected: &BTreeMap<String, Vec<u8>>,
    when: &str,
) {
    let manifests = manifests(lake);
    let held = rows_by_run(lake);
    let want = rows_by_run(expected);
    let per_table = |objects: &BTreeMap<String, u64>| {
        let mut tables: BTreeMap<String, u64> = BTreeMap::new();
        for (key, rows) in objects {
            let parsed = parse_object_key(key).unwrap();
            let partition = parsed.partition.map(|p| (p.score, p.pctid));
            *tables
                .entry(format!("{}/{partition:?}", parsed.table))
                .or_default() += rows;
        }
        tables
    };
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{when}: runs with rows"
    );
    for (run, objects) in &held {
        let manifest = manifests
            .get(run)
            .unwrap_or_else(|| panic!("{when}: {run} has rows and no manifest"));
        assert!(manifest.complete, "{when}: {run}'s manifest is incomplete");
        let named: BTreeSet<&String> = manifest.objects.iter().collect();
        let holding: BTreeSet<&String> = objects.keys().collect();
        assert_eq!(
            holding, named,
            "{when}: {run}'s rows are where its manifest says"
        );
        assert_eq!(
            per_table(objects),
            per_table(&want[run]),
            "{when}: {run}'s rows, table by table"
        );
    }
    let named: BTreeSet<&String> = manifests.values().flat_map(|m| &m.objects).collect();
    for key in lake.keys().filter(|k| k.ends_with(".parquet")) {
        assert!(named.contains(key), "{when}: {key} is named by no manifest");
    }
}

/// The lake after `work` alone on a fresh one.
fn lake_after(work: impl Fn(&Lake) -> Result<()>) -> BTreeMap<String, Vec<u8>> {
    let store = MemoryStore::default();
    let catalog = MemoryCatalog::default();
    work(&lake(&store, &catalog)).unwrap();
    store.snapshot()
}

fn versions() -> (String, Vec<u8>, Vec<u8>, Vec<u8>) {
    let run = nucleotide_runs()[0].clone();
    let (_, original) = fixture("nucleotide", &run);
    let a = shortened(&original, 12);
    let b = shortened(&original, 8);
    (run, original, a, b)
}

#[test]
fn two_versions_of_one_run_end_with_the_newer_one_whatever_the_order() {
    support::each_layout(|| {
        let (run, original, a, b) = versions();
        let setup = |lake: &Lake| event(lake, &run, &original, "e0", "00");
        let older = |lake: &Lake| event(lake, &run, &a, "ea", "01");
        let newer = |lake: &Lake| event(lake, &run, &b, "eb", "02");
        let expected = lake_after(|lake| {
            setup(lake)?;
            newer(lake)
        });
        for (outer, inner, name) in [
            (
                &older as &(dyn Fn(&Lake) -> Result<()> + Sync),
                &newer as &(dyn Fn(&Lake) -> Result<()> + Sync),
                "older outside",
            ),
            (&newer, &older, "newer outside"),
        ] {
            let tried = interleave_at_every_step(setup, outer, inner, |lake, when| {
                assert_exact(lake, &expected, &format!("{name}, {when}"));
                assert_same_lake(&expected, lake, &format!("{name}, {when}"));
            });
            assert!(tried > 8, "{name}: {tried} interleavings");
        }
    });
}

#[test]
fn two_unordered_versions_of_one_run_end_with_one_of_them_whole() {
    support::each_layout(|| {
        // Different source keys: sequencers do not order them, the last swap wins.
        let (run, original, a, b) = versions();
        let setup = |lake: &Lake| event(lake, &run, &original, "e0", "00");
        let from_a = |lake: &Lake| event_of(lake, &run, &a, "x/a.summary", "ea", "05");
        let from_b = |lake: &Lake| event_of(lake, &run, &b, "y/b.summary", "eb", "01");
        let only_a = lake_after(|lake| from_a(lake));
        let only_b = lake_after(|lake| from_b(lake));
        let tried = interleave_at_every_step(setup, from_a, from_b, |lake, when| {
            let winner = &manifests(lake)[&run].source.key;
            let expected = if winner == "x/a.summary" {
                &only_a
            } else {
                &only_b
            };
            assert_exact(lake, expected, when);
            assert_same_lake(expected, lake, when);
        });
        assert!(tried > 8, "{tried} interleavings");
    });
}

#[test]
fn two_runs_leaving_one_batch_object_at_once_keep_every_other_row() {
    support::each_layout(|| {
        let runs: Vec<String> = nucleotide_runs()[..3].to_vec();
        let versions: Vec<Vec<u8>> = runs
            .iter()
            .map(|run| shortened(&fixture("nucleotide", run).1, 8))
            .collect();
        let setup = |lake: &Lake| backfill_batch(lake, &runs, &[]);
        let first = |lake: &Lake| event(lake, &runs[0], &versions[0], "e1", "01");
        let second = |lake: &Lake| event(lake, &runs[1], &versions[1], "e1", "01");
        let expected = lake_after(|lake| {
            setup(lake)?;
            first(lake)?;
            second(lake)
        });
        let tried = interleave_at_every_step(setup, first, second, |lake, when| {
            assert_exact(lake, &expected, when);
        });
        assert!(tried > 8, "{tried} interleavings");
    });
}

#[test]
fn a_backfill_batch_and_an_event_for_one_of_its_runs() {
    support::each_layout(|| {
        let runs: Vec<String> = nucleotide_runs()[..3].to_vec();
        let newer = shortened(&fixture("nucleotide", &runs[1]).1, 8);
        let batch = |lake: &Lake| backfill_batch(lake, &runs, &[]);
        let the_event = |lake: &Lake| event(lake, &runs[1], &newer, "e1", "01");
        // The event's version wins whenever it lands: events are the live path.
        let expected = lake_after(|lake| {
            batch(lake)?;
            the_event(lake)
        });
        for (outer, inner, name) in [
            (
                &batch as &(dyn Fn(&Lake) -> Result<()> + Sync),
                &the_event as &(dyn Fn(&Lake) -> Result<()> + Sync),
                "batch outside",
            ),
            (&the_event, &batch, "event outside"),
        ] {
            let tried = interleave_at_every_step(
                |_| Ok(()),
                outer,
                inner,
                |lake, when| {
                    assert_exact(lake, &expected, &format!("{name}, {when}"));
                },
            );
            // An event of the run-bucket layout writes a handful of
            // objects: fewer steps than with score/pctid partitions.
            assert!(tried > 6, "{name}: {tried} interleavings");
        }
    });
}

#[test]
fn a_compaction_and_an_event_for_one_of_its_runs() {
    support::each_layout(|| {
        let runs: Vec<String> = nucleotide_runs()[..4].to_vec();
        let setup = |lake: &Lake| {
            for run in &runs {
                event(lake, run, &fixture("nucleotide", run).1, "e1", "01")?;
            }
            Ok(())
        };
        compaction_and_event_both_ways(setup, &runs[0], 8);
    });
}

#[test]
fn a_compaction_of_shared_objects_and_an_event_for_one_of_their_runs() {
    support::each_layout(|| {
        let mates = bucket_mates();
        // The chunk merges an earlier output (of a batch object and a
        // per-run object) with a per-run object; the event replaces a run
        // of the batch, in the earlier output.
        // Fewer operations in the run-bucket layout.
        compaction_and_event_both_ways(compacted_batch_beside_a_new_event, &mates[0], 6);
    });
}

/// After `setup`, a compaction and an event replacing `run`, each
/// interleaved at every step of the other: the lake ends as if the event
/// had come alone (more than `least` interleavings each way).
fn compaction_and_event_both_ways(
    setup: impl Fn(&Lake) -> Result<()> + Sync,
    run: &str,
    least: usize,
) {
    let newer = shortened(&fixture("nucleotide", run).1, 8);
    let the_event = |lake: &Lake| event(lake, run, &newer, "e2", "02");
    let expected = lake_after(|lake| {
        setup(lake)?;
        the_event(lake)
    });
    for (outer, inner, name) in [
        (
            &compact as &(dyn Fn(&Lake) -> Result<()> + Sync),
            &the_event as &(dyn Fn(&Lake) -> Result<()> + Sync),
            "compaction outside",
        ),
        (&the_event, &compact, "event outside"),
    ] {
        let tried = interleave_at_every_step(&setup, outer, inner, |lake, when| {
            assert_exact(lake, &expected, &format!("{name}, {when}"));
        });
        assert!(tried > least, "{name}: {tried} interleavings");
    }
}

#[test]
fn compaction_merges_batch_objects_and_its_own_outputs_into_one_object_per_folder() {
    support::each_layout(|| {
        let store = MemoryStore::default();
        let catalog = MemoryCatalog::default();
        let lake = lake(&store, &catalog);
        compacted_batch_beside_a_new_event(&lake).unwrap();
        let per_folder = |lake: &BTreeMap<String, Vec<u8>>| {
            let mut folders = BTreeMap::<String, Vec<String>>::new();
            for key in lake.keys().filter(|k| k.ends_with(".parquet")) {
                let (folder, name) = key.rsplit_once('/').unwrap();
                folders
                    .entry(folder.to_string())
                    .or_default()
                    .push(name.to_string());
            }
            folders
        };
        let before = store.snapshot();
        let last = &bucket_mates()[3];
        assert!(
            per_folder(&before).values().any(|names| names.len() == 2
                && names[0].starts_with(last.as_str())
                && names[1].starts_with("compact-")),
            "an earlier output beside a per-run object: {:?}",
            per_folder(&before)
        );
        compact(&lake).unwrap();
        let after = store.snapshot();
        assert_exact(&after, &before, "after the compaction");
        assert_eq!(
            per_folder(&after).keys().collect::<Vec<_>>(),
            per_folder(&before).keys().collect::<Vec<_>>()
        );
        // One object per folder (one alone in its folder stays as it is).
        for (folder, names) in per_folder(&after) {
            assert_eq!(names.len(), 1, "{folder}: {names:?}");
        }
        // Converged: another compaction writes nothing.
        compact(&lake).unwrap();
        assert_eq!(store.snapshot(), after);
    });
}

#[test]
fn two_compactions_of_one_kind_at_once() {
    support::each_layout(|| {
        let runs: Vec<String> = nucleotide_runs()[..4].to_vec();
        let setup = |lake: &Lake| {
            for run in &runs {
                event(lake, run, &fixture("nucleotide", run).1, "e1", "01")?;
            }
            Ok(())
        };
        let expected = lake_after(|lake| setup(lake));
        let tried = interleave_at_every_step(setup, compact, compact, |lake, when| {
            assert_exact(lake, &expected, when);
        });
        assert!(tried > 8, "{tried} interleavings");
    });
}

#[test]
fn two_backfill_batches_sharing_a_run_at_once() {
    support::each_layout(|| {
        let all = nucleotide_runs();
        let (first, second) = (all[..3].to_vec(), all[2..5].to_vec());
        let one = |lake: &Lake| backfill_batch(lake, &first, &[]);
        let two = |lake: &Lake| backfill_batch(lake, &second, &[]);
        // Whichever batch keeps the shared run, its rows are the same summary's.
        let expected = lake_after(|lake| {
            one(lake)?;
            two(lake)
        });
        let tried = interleave_at_every_step(
            |_| Ok(()),
            one,
            two,
            |lake, when| {
                assert_exact(lake, &expected, when);
            },
        );
        assert!(tried > 8, "{tried} interleavings");
    });
}
