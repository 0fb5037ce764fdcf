//! Two writers at once, as real processes against s3s-fs: one is paused at
//! a chosen request to S3 (`support::pause`) while the other runs whole,
//! then goes on. Each scenario is a function of a prepared lake and the
//! step to pause at; the tests run it for each step. Afterwards the lake
//! holds exactly the rows a local `replay` of the expected summaries
//! makes, read back by DuckDB, every Parquet object is named by a complete
//! manifest and no compaction journal is left.
//!
//! The scenarios hold on lakes of either layout (`SUMMARY_TEST_LAYOUT`;
//! `scripts/test` runs this module on both): the two writers meet on
//! objects that two protein runs of one bucket, [`RUN_A`] and [`RUN_B`],
//! share in either layout (a batch object, a compaction chunk).
//!
//! - two events for two runs of one backfill batch object;
//! - a compaction and an event for one of its runs, either paused;
//! - two compactions of one kind;
//! - a backfill batch and an event for one of its runs, either paused.

use crate::support::lake::{
    assert_every_object_named, first_lines, lake_rows, outcome_of, replayed, walk,
};
use crate::support::pause::{At, Pause};
use crate::support::{common, servers};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use servers::Aws;
use summary_lake::Bucket;
use tempfile::TempDir;

const DEST: &str = "s3://lake/serratus";

type Rows = BTreeMap<String, Vec<String>>;

/// A summary kind as the fixtures and the source bucket name its files.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    source_folder: &'static str,
    extension: &'static str,
}

const PROTEIN: Kind = Kind {
    name: "protein",
    source_folder: "psummary",
    extension: "psummary",
};

impl Kind {
    fn fixture(self, run: &str) -> Vec<u8> {
        std::fs::read(common::fixtures().join(format!("{}/{run}.{}", self.name, self.extension)))
            .unwrap()
    }

    fn source_key(self, run: &str) -> String {
        format!("{}/{run}.{}", self.source_folder, self.extension)
    }

    fn all_runs(self) -> Vec<String> {
        common::fixture_files(self.name)
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_str().unwrap();
                name.split('.').next().unwrap().to_string()
            })
            .collect()
    }
}

/// A lake made once per test and put back before each case, with the
/// rows expected after each case.
struct Prepared {
    aws: Aws,
    scratch: TempDir,
    /// A copy of s3s-fs's whole root as prepared: buckets and metadata.
    snapshot: PathBuf,
    /// The rows of the lake as prepared.
    rows_before: Rows,
    /// The rows once the event's new versions have landed.
    expected: Rows,
    /// The fixtures of the runs, copied: a backfill's source.
    local_source: PathBuf,
    index: PathBuf,
}

impl Prepared {
    /// Starts the servers, copies the fixtures of `runs` to a local source
    /// and lists them in an index, runs `land` to make the lake, puts
    /// `new_versions` (run, summary) in the source bucket for the events
    /// and snapshots S3; the expected rows are those of the fixtures with
    /// the new versions.
    fn new(
        kind: Kind,
        runs: &[String],
        land: impl FnOnce(&Prepared),
        new_versions: &[(&str, Vec<u8>)],
    ) -> Self {
        let aws = Aws::start();
        let scratch = tempfile::tempdir().unwrap();
        let local_source = scratch.path().join("source").join(kind.name);
        std::fs::create_dir_all(&local_source).unwrap();
        for run in runs {
            let file = format!("{run}.{}", kind.extension);
            std::fs::write(local_source.join(file), kind.fixture(run)).unwrap();
        }
        let index = scratch.path().join("index.txt");
        std::fs::write(&index, runs.join("\n") + "\n").unwrap();
        let mut prepared = Prepared {
            snapshot: scratch.path().join("snapshot"),
            aws,
            scratch,
            rows_before: Rows::new(),
            expected: Rows::new(),
            local_source,
            index,
        };
        land(&prepared);
        prepared.rows_before = lake_rows(&prepared.lake());

        let expected_source = prepared.scratch.path().join("expected").join(kind.name);
        copy_tree(&prepared.local_source, &expected_source);
        for (run, bytes) in new_versions {
            prepared.aws.put_source(&kind.source_key(run), bytes);
            std::fs::write(
                expected_source.join(format!("{run}.{}", kind.extension)),
                bytes,
            )
            .unwrap();
        }
        copy_tree(prepared.aws.s3_root.path(), &prepared.snapshot);
        let expected_lake = replayed(
            expected_source.parent().unwrap(),
            &prepared.scratch.path().join("expected-lake"),
        );
        prepared.expected = lake_rows(&expected_lake);
        prepared
    }

    fn lake(&self) -> PathBuf {
        self.aws.lake_dir().join("serratus")
    }

    /// S3 as prepared, again: every bucket, and s3s-fs's metadata (the
    /// ETags conditional writes compare, kept at its root). The root is
    /// moved aside (deleted with the scratch folder) and the snapshot
    /// linked in its place: s3s-fs writes a file by renaming a new one over
    /// it, never into it, so the snapshot's files stay as they are.
    fn reset(&self) {
        let root = self.aws.s3_root.path();
        let aside = tempfile::tempdir_in(self.scratch.path()).unwrap().keep();
        std::fs::rename(root, aside.join("s3")).unwrap();
        link_tree(&self.snapshot, root);
    }

    /// `handle-event` of one record: `run`'s source key with `sequencer`.
    fn event(&self, kind: Kind, run: &str, sequencer: &str) -> Vec<String> {
        let path = self.scratch.path().join(format!("{run}-{sequencer}.json"));
        let event = json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
            "object":{"key": kind.source_key(run), "eTag": format!("e{sequencer}"), "sequencer": sequencer}}}]});
        std::fs::write(&path, event.to_string()).unwrap();
        args(&[
            "handle-event",
            path.to_str().unwrap(),
            "--dest",
            DEST,
            "--no-glue",
        ])
    }

    /// `backfill` of the runs `index` lists from the local copy.
    fn backfill(&self, kind: Kind, index: &Path, batch_runs: usize) -> Vec<String> {
        args(&[
            "backfill",
            "--index",
            index.to_str().unwrap(),
            "--source",
            self.local_source.to_str().unwrap(),
            "--kind",
            kind.name,
            "--dest",
            DEST,
            "--no-glue",
            "--batch-runs",
            &batch_runs.to_string(),
        ])
    }

    /// `compact` of the protein objects, one chunk at a time, so that a
    /// compaction's writes come in one order.
    fn compact(&self) -> Vec<String> {
        args(&[
            "compact",
            "--dest",
            DEST,
            "--kind",
            "protein",
            "--no-glue",
            "--jobs",
            "1",
        ])
    }

    /// The command, through `aws`'s own S3 proxy.
    fn run(&self, args: &[String]) -> Output {
        uploader(&self.aws, None, args).output().unwrap()
    }

    /// The lake after a case: exactly `expected`, every object named by a
    /// complete manifest, no compaction journal left.
    fn assert_lake(&self, expected: &Rows, case: &str) {
        let lake = self.lake();
        let got = lake_rows(&lake);
        for (table, rows) in expected {
            let extra: Vec<&String> = got[table].iter().filter(|r| !rows.contains(r)).collect();
            let missing: Vec<&String> = rows.iter().filter(|r| !got[table].contains(r)).collect();
            assert!(
                got[table] == *rows,
                "{case}: {table} holds {} rows, {} expected; not expected: {extra:?}; missing: {missing:?}",
                got[table].len(),
                rows.len()
            );
        }
        assert_every_object_named(&lake);
        let journals = lake.join("_compaction");
        let left = journals
            .exists()
            .then(|| walk(&journals))
            .unwrap_or_default();
        assert!(left.is_empty(), "{case}: journals left: {left:?}");
    }

    /// The source version run's manifest records.
    fn recorded_sequencer(&self, kind: Kind, run: &str) -> Value {
        let path = self
            .lake()
            .join(format!("_manifests/{}/{run}.json", kind.name));
        let manifest: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        manifest["source"]["sequencer"].clone()
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `cp -a`: the tree with its hidden files.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// `cp -al`: the tree's folders made again, its files hard-linked.
fn link_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-al")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -al {} {}",
        from.display(),
        to.display()
    );
}

/// `summary-uploader ARGS` on `aws`, reaching S3 at `s3_url` if given.
fn uploader(aws: &Aws, s3_url: Option<&str>, args: &[String]) -> Command {
    let mut command = servers::uploader(aws);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = s3_url {
        command.env("AWS_ENDPOINT_URL_S3", url);
    }
    command
}

/// Both processes' outputs, and the conflicts (412/409) the paused one got.
struct Interleaved {
    paused: Output,
    whole: Output,
    conflicts: usize,
}

/// Runs `paused` until it stands at `at`, then `whole` from start to end,
/// then lets `paused` go on.
fn interleave(aws: &Aws, paused: &[String], at: At, whole: &[String]) -> Interleaved {
    let started = std::time::Instant::now();
    let step = at.step.clone();
    let pause = Pause::at(aws, at);
    let mut child = uploader(aws, Some(&pause.url()), paused).spawn().unwrap();
    pause.wait(&mut child);
    let whole_output = uploader(aws, None, whole).output().unwrap();
    pause.release();
    let interleaved = Interleaved {
        paused: child.wait_with_output().unwrap(),
        whole: whole_output,
        conflicts: pause.conflicts(),
    };
    eprintln!(
        "{} paused at {step}, {} whole: {:.1} s, {} conflicts",
        paused[0],
        whole[0],
        started.elapsed().as_secs_f64(),
        interleaved.conflicts
    );
    interleaved
}

fn stdout_of(out: &Output, what: &str) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The write of run's manifest number `nth` (1: the pending manifest of an
/// event, 2: its final one).
fn manifest_write(step: &str, kind: Kind, run: &str, nth: usize) -> At {
    let manifest = format!("/_manifests/{}/{run}.json", kind.name);
    At::new(step, nth, move |method, path| {
        method == "PUT" && path.ends_with(&manifest)
    })
}

/// The first `method` request whose path holds `fragment`.
fn first(step: &str, method: &'static str, fragment: String) -> At {
    At::new(step, 1, move |m, path| {
        m == method && path.contains(&fragment)
    })
}

/// Two protein runs of one bucket (86), so that they share objects in
/// either layout: those of a backfill batch holding both (a batch lies in
/// one bucket in `run-bucket`) and the chunks of a compaction of their
/// per-run objects. In the `score-pctid` layout they share the `sra`
/// table's objects and the partition `sequence/score=2/pctid=50`; in the
/// `run-bucket` layout every table's objects of bucket 86.
const RUN_A: &str = "ERR5413786";
const RUN_B: &str = "ERR8009786";

#[test]
fn the_two_runs_share_a_bucket() {
    assert_eq!(Bucket::of_run(RUN_A), Bucket::of_run(RUN_B));
}

/// The first PUT to a backfill batch object of the protein `sra` table:
/// `protein/sra/backfill-…` (`score-pctid`), `protein/sra/bucket=NN/backfill-…`
/// (`run-bucket`).
fn sra_batch_object_write(step: &str) -> At {
    At::new(step, 1, |method, path| {
        method == "PUT" && path.contains("/protein/sra/") && path.contains("/backfill-")
    })
}

// --- Two events, two runs of one batch object ------------------------------

/// The protein fixtures backfilled in batches of 20: one batch in the
/// `score-pctid` layout, one per bucket in the `run-bucket` layout, so
/// runs A and B share batch objects in both; new versions of A and B in the
/// source bucket.
fn one_batch_lake() -> Prepared {
    Prepared::new(
        PROTEIN,
        &PROTEIN.all_runs(),
        |lake| {
            let backfill = lake.backfill(PROTEIN, &lake.index, 20);
            stdout_of(&lake.run(&backfill), "backfill");
        },
        &[
            (RUN_A, first_lines(&PROTEIN.fixture(RUN_A), 5)),
            (RUN_B, first_lines(&PROTEIN.fixture(RUN_B), 14)),
        ],
    )
}

/// Run A's event paused at `at` while run B's runs whole: both runs end
/// with their new rows, every other run of the batch keeps its rows.
/// `loses_a_swap`: A's paused write is a compare-and-swap B's work makes
/// stale.
fn two_runs_leaving_one_batch_object(lake: &Prepared, at: At, loses_a_swap: bool) {
    let case = format!("run A paused at {}", at.step);
    lake.reset();
    let both = interleave(
        &lake.aws,
        &lake.event(PROTEIN, RUN_A, "02"),
        at,
        &lake.event(PROTEIN, RUN_B, "02"),
    );
    assert_eq!(outcome_of(&both.whole), "landed", "{case}: run B");
    assert_eq!(outcome_of(&both.paused), "landed", "{case}: run A");
    assert_eq!(
        both.conflicts > 0,
        loses_a_swap,
        "{case}: {} conflicts",
        both.conflicts
    );
    lake.assert_lake(&lake.expected, &case);
    for run in [RUN_A, RUN_B] {
        assert_eq!(
            lake.recorded_sequencer(PROTEIN, run),
            json!("02"),
            "{case}: {run} holds its event's version"
        );
    }
}

#[test]
fn two_events_for_two_runs_of_one_batch_object_keep_every_other_row() {
    let lake = one_batch_lake();
    let steps = [
        (
            manifest_write("its pending manifest", PROTEIN, RUN_A, 1),
            false,
        ),
        (
            sra_batch_object_write("the rewrite of the batch's sra object"),
            true,
        ),
        (
            manifest_write("its final manifest", PROTEIN, RUN_A, 2),
            false,
        ),
    ];
    for (at, loses_a_swap) in steps {
        two_runs_leaving_one_batch_object(&lake, at, loses_a_swap);
    }
}

// --- A compaction and an event; two compactions ----------------------------

/// Protein runs whose per-run objects a compaction merges, every chunk
/// holding run A: in the `score-pctid` layout all three share the `sra`
/// table and the partition score=2/pctid=50 of `sequence`, A and
/// ERR8601848 that of `family` and `protein`; in the `run-bucket` layout A
/// and B share bucket 86, ERR8601848 is alone in its bucket and stays as
/// it is.
const COMPACTED_RUNS: [&str; 3] = [RUN_A, "ERR8601848", RUN_B];
/// The one of them the event replaces.
const COMPACTED_RUN: &str = RUN_A;

/// The compacted runs landed by one event (per-run objects); a new
/// version of one of them in the source bucket: its rows outside the
/// shared partitions gone, those in them changed.
fn per_run_lake() -> Prepared {
    let runs: Vec<String> = COMPACTED_RUNS.iter().map(|r| r.to_string()).collect();
    let original = String::from_utf8(PROTEIN.fixture(COMPACTED_RUN)).unwrap();
    let new_version: String = original
        .lines()
        .filter(|line| !line.contains("Adenoviridae"))
        .map(|line| line.replace("avgcols=52", "avgcols=51") + "\n")
        .collect();
    assert_ne!(new_version, original);
    Prepared::new(
        PROTEIN,
        &runs,
        |lake| {
            let keys: Vec<String> = runs.iter().map(|r| PROTEIN.source_key(r)).collect();
            for (key, run) in keys.iter().zip(&runs) {
                lake.aws.put_source(key, &PROTEIN.fixture(run));
            }
            let path = lake.scratch.path().join("all.json");
            std::fs::write(&path, crate::support::events::s3_event(&keys).to_string()).unwrap();
            let out = lake.run(&args(&[
                "handle-event",
                path.to_str().unwrap(),
                "--dest",
                DEST,
                "--no-glue",
            ]));
            stdout_of(&out, "landing the protein runs");
        },
        &[(COMPACTED_RUN, new_version.into_bytes())],
    )
}

/// Which process is paused, and where: the compaction or backfill, or
/// the event.
enum Paused {
    Writer(At),
    Event(At),
}

/// A compaction and the event of the compacted run's new version, one
/// paused while the other runs whole: every row once, the run holds
/// exactly the event's version.
fn compaction_and_an_event(lake: &Prepared, paused: Paused) {
    lake.reset();
    let (compact, event) = (lake.compact(), lake.event(PROTEIN, COMPACTED_RUN, "02"));
    let (case, compaction, event) = match paused {
        Paused::Writer(at) => {
            let case = format!("compaction paused at {}", at.step);
            let both = interleave(&lake.aws, &compact, at, &event);
            (case, both.paused, both.whole)
        }
        Paused::Event(at) => {
            let case = format!("event paused at {}", at.step);
            let both = interleave(&lake.aws, &event, at, &compact);
            (case, both.whole, both.paused)
        }
    };
    let report = stdout_of(&compaction, &case);
    assert!(report.contains("compacted protein"), "{case}: {report}");
    assert_eq!(outcome_of(&event), "landed", "{case}");
    lake.assert_lake(&lake.expected, &case);
    assert_eq!(
        lake.recorded_sequencer(PROTEIN, COMPACTED_RUN),
        json!("02"),
        "{case}: the event's version"
    );
}

/// Every write (PUT or DELETE) of `command` on the prepared lake, in
/// order, as the command makes them when nothing interrupts it.
fn writes_of(lake: &Prepared, command: &[String]) -> Vec<String> {
    lake.reset();
    let writes: &'static std::sync::Mutex<Vec<String>> = Box::leak(Box::default());
    let counting = servers::FaultProxy::start(lake.aws.s3_proxy_port(), |method, path, _| {
        if is_write(method, path) {
            writes.lock().unwrap().push(format!("{method} {path}"));
        }
        None
    });
    let out = uploader(&lake.aws, Some(&counting.url()), command)
        .output()
        .unwrap();
    stdout_of(&out, &format!("{} uninterrupted", command[0]));
    let writes = writes.lock().unwrap().clone();
    writes
}

fn is_write(method: &str, _path: &str) -> bool {
    method == "PUT" || method == "DELETE"
}

/// A pause at each of `writes` in turn.
fn at_each(writes: &[String]) -> impl Iterator<Item = At> + '_ {
    writes.iter().enumerate().map(|(k, write)| {
        let step = format!(
            "write {} of {} (uninterrupted: {write})",
            k + 1,
            writes.len()
        );
        At::new(step, k + 1, is_write)
    })
}

#[test]
fn a_compaction_and_an_event_for_one_of_its_runs_keep_every_row_once() {
    let lake = per_run_lake();
    let compaction = writes_of(&lake, &lake.compact());
    // A chunk of n objects: its journal, its output, n claims, n deletes,
    // the journal's delete. score-pctid: chunks of 3 (sra, sequence at
    // 2/50) and of 2 (family and protein at 2/50): 9 + 9 + 7 + 7.
    // run-bucket: a chunk of 2 per table of bucket 86: 4 × 7.
    let compaction_writes = if common::score_pctid() { 32 } else { 28 };
    assert_eq!(compaction.len(), compaction_writes, "{compaction:#?}");
    for at in at_each(&compaction) {
        compaction_and_an_event(&lake, Paused::Writer(at));
    }
    let event = writes_of(&lake, &lake.event(PROTEIN, COMPACTED_RUN, "02"));
    // Its pending manifest, its 4 objects (one per table: its rows left at
    // score=2/pctid=50, or in bucket 86), the deletes of its old version's
    // objects (score-pctid: 7, in the `sra` table and at 2/50 and 1/92 in
    // the other three; run-bucket: one per table), its final manifest, the
    // delete of its dead letter.
    let event_writes = if common::score_pctid() { 14 } else { 11 };
    assert_eq!(event.len(), event_writes, "{event:#?}");
    for at in at_each(&event) {
        compaction_and_an_event(&lake, Paused::Event(at));
    }
}

/// Two compactions of the protein objects, the first paused at `at` while
/// the second runs whole: every row once, and nothing is left to compact.
fn two_compactions(lake: &Prepared, at: At) {
    let case = format!("first compaction paused at {}", at.step);
    lake.reset();
    let both = interleave(&lake.aws, &lake.compact(), at, &lake.compact());
    for out in [&both.paused, &both.whole] {
        let report = stdout_of(out, &case);
        assert!(report.contains("compacted protein"), "{case}: {report}");
    }
    lake.assert_lake(&lake.rows_before, &case);
    let again = stdout_of(&lake.run(&lake.compact()), &case);
    assert!(
        again.contains("0 runs merged into 0 objects"),
        "{case}: {again}"
    );
}

#[test]
fn two_compactions_of_one_kind_at_once_keep_every_row_once() {
    let lake = per_run_lake();
    let steps = [
        first("its first journal", "PUT", "/_compaction/".into()),
        first("its first merged output", "PUT", "/compact-".into()),
        first("its first manifest claim", "PUT", "/_manifests/".into()),
        first("its first input delete", "DELETE", ".parquet".into()),
        first("its first journal delete", "DELETE", "/_compaction/".into()),
    ];
    for at in steps {
        two_compactions(&lake, at);
    }
}

// --- A backfill batch and an event -------------------------------------------

const BACKFILLED_RUN: &str = RUN_A;

/// Runs A and B backfilled as one batch, whose objects they share in
/// either layout; a new version of run A in the source bucket.
fn one_backfilled_batch_lake() -> Prepared {
    Prepared::new(
        PROTEIN,
        &[RUN_A.to_string(), RUN_B.to_string()],
        |lake| {
            let backfill = lake.backfill(PROTEIN, &lake.index, 20);
            stdout_of(&lake.run(&backfill), "backfill");
        },
        &[(
            BACKFILLED_RUN,
            first_lines(&PROTEIN.fixture(BACKFILLED_RUN), 5),
        )],
    )
}

/// The lake's index with its runs in the other order: the same runs in
/// one batch of another name (a hash of the runs in order), so that its
/// backfill moves every run, as a re-run with a regenerated index would
/// (pending manifests, then the new batch objects, then the old ones
/// retired, then the final manifests).
fn reordered_index(lake: &Prepared) -> PathBuf {
    let runs = std::fs::read_to_string(&lake.index).unwrap();
    let reordered: Vec<&str> = runs.lines().rev().collect();
    let path = lake.scratch.path().join("index-reordered.txt");
    std::fs::write(&path, reordered.join("\n") + "\n").unwrap();
    path
}

/// The backfill of both runs in a batch of another name and the event of
/// run A's new version, one paused while the other runs whole: every row
/// once, the run holds the event's version (the newer one), and the
/// backfill keeps it (`kept` is 1) if it found the event's manifest.
fn backfill_and_an_event(lake: &Prepared, paused: Paused, kept: usize) {
    lake.reset();
    let backfill = lake.backfill(PROTEIN, &reordered_index(lake), 20);
    let event = lake.event(PROTEIN, BACKFILLED_RUN, "02");
    let (case, backfilled, event) = match paused {
        Paused::Writer(at) => {
            let case = format!("backfill paused at {}", at.step);
            let both = interleave(&lake.aws, &backfill, at, &event);
            (case, both.paused, both.whole)
        }
        Paused::Event(at) => {
            let case = format!("event paused at {}", at.step);
            let both = interleave(&lake.aws, &event, at, &backfill);
            (case, both.whole, both.paused)
        }
    };
    let report = stdout_of(&backfilled, &case);
    let counts = format!(
        "{} runs landed, {kept} kept (an S3 event landed them), 0 failed",
        2 - kept
    );
    assert!(report.contains(&counts), "{case}: {report}");
    assert_eq!(outcome_of(&event), "landed", "{case}");
    lake.assert_lake(&lake.expected, &case);
    assert_eq!(
        lake.recorded_sequencer(PROTEIN, BACKFILLED_RUN),
        json!("02"),
        "{case}: the event's version"
    );
}

#[test]
fn a_backfill_batch_and_an_event_for_one_of_its_runs_keep_every_row_once() {
    let lake = one_backfilled_batch_lake();
    let run = BACKFILLED_RUN;
    let backfill_steps = [
        (
            manifest_write("the run's pending manifest", PROTEIN, run, 1),
            1,
        ),
        (
            first("its first batch object", "PUT", "/backfill-".into()),
            1,
        ),
        (
            first(
                "the delete of an old batch object",
                "DELETE",
                "/backfill-".into(),
            ),
            1,
        ),
        (
            manifest_write("the run's final manifest", PROTEIN, run, 2),
            1,
        ),
        // Every manifest final: the event comes after the backfill.
        (first("its checkpoint", "PUT", "/_backfill/".into()), 0),
    ];
    for (at, kept) in backfill_steps {
        backfill_and_an_event(&lake, Paused::Writer(at), kept);
    }
    let event_steps = [
        (manifest_write("its pending manifest", PROTEIN, run, 1), 0),
        (
            first(
                "the rewrite of its old batch object",
                "PUT",
                "/backfill-".into(),
            ),
            1,
        ),
        (manifest_write("its final manifest", PROTEIN, run, 2), 1),
    ];
    for (at, kept) in event_steps {
        backfill_and_an_event(&lake, Paused::Event(at), kept);
    }
}
