//! Many writers at once, across processes: three `serve` processes with
//! eight workers each receive 2,000 events for 500 runs, in random order,
//! each run delivered four times across one to three versions (a version's
//! source is uploaded just before its first delivery, as S3 would). Writes
//! that may race are conditional, so afterwards every run holds exactly
//! its newest version's rows, once, and no object is left that no
//! manifest names. Figures are printed, never asserted.

use crate::support::lake::{
    assert_every_object_named, first_lines, lake_rows, outcome_of, replayed,
};
use crate::support::{common, servers};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;
use servers::{http, Aws, FaultProxy};
use summary_corpus::generate;
use summary_lake::Kind;

const RUNS: usize = 500;
const DELIVERIES_PER_RUN: usize = 4;
const PROCESSES: usize = 3;

/// One run's versions, oldest first: the generated summary cut to fewer
/// lines each time, so versions differ in rows.
struct Run {
    kind: Kind,
    run: String,
    source_key: String,
    versions: Vec<Vec<u8>>,
}

fn corpus() -> Vec<Run> {
    (0..)
        .map(|i| generate(15, i))
        .filter(|s| s.bytes.len() < 60_000)
        .take(RUNS)
        .enumerate()
        .map(|(i, s)| {
            let total = String::from_utf8_lossy(&s.bytes).lines().count();
            let versions = (0..1 + i % 3)
                .map(|v| first_lines(&s.bytes, total.saturating_sub(v * total / 4).max(4)))
                .collect();
            let source_key = match s.kind {
                Kind::Nucleotide => format!("summary2/{}.summary", s.run),
                Kind::Protein => format!("psummary/{}.psummary", s.run),
                Kind::Rdrp => format!("rsummary/{}.psummary", s.run),
            };
            Run {
                kind: s.kind,
                run: s.run,
                source_key,
                versions,
            }
        })
        .collect()
}

/// Every version at least once, the rest of the deliveries of random
/// versions; all runs' deliveries shuffled together.
fn deliveries(runs: &[Run]) -> Vec<(usize, usize)> {
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut all = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        for delivery in 0..DELIVERIES_PER_RUN {
            let version = if delivery < run.versions.len() {
                delivery
            } else {
                rng.usize(..run.versions.len())
            };
            all.push((index, version));
        }
    }
    rng.shuffle(&mut all);
    all
}

fn event(run: &Run, version: usize) -> serde_json::Value {
    json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
        "object":{"key": run.source_key, "sequencer": format!("{:018X}", version + 1),
                  "eTag": format!("v{version}")}}}]})
}

#[test]
fn three_processes_of_eight_workers_land_every_run_exactly_once() {
    let aws = Aws::start();
    let proxy = FaultProxy::atomic_conditional_writes(aws.s3.port);
    let proxy_url = proxy.url();
    let runs = corpus();
    let deliveries = deliveries(&runs);
    assert_eq!(deliveries.len(), RUNS * DELIVERIES_PER_RUN);
    let servers: Vec<servers::Server> = (0..PROCESSES)
        .map(|_| {
            servers::serve(
                &aws,
                &[
                    "--workers",
                    "8",
                    "--io-concurrency",
                    "4",
                    "--dest",
                    "s3://lake/race",
                    "--no-glue",
                ],
                "race",
                &[("AWS_ENDPOINT_URL_S3", proxy_url.as_str())],
            )
        })
        .collect();

    // A version's source is in place before its first event; a delivery of
    // an older version after it fetches the newer bytes, as on S3.
    let uploaded: Vec<Mutex<Option<usize>>> = runs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let redeliveries = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::new());
    let outcomes = Mutex::new(BTreeMap::<String, usize>::new());
    let errors = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..24 {
            let (servers, runs, deliveries) = (&servers, &runs, &deliveries);
            let (uploaded, next, redeliveries) = (&uploaded, &next, &redeliveries);
            let (latencies, outcomes, errors) = (&latencies, &outcomes, &errors);
            let aws = &aws;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(index, version)) = deliveries.get(i) else {
                    break;
                };
                let run = &runs[index];
                {
                    let mut newest = uploaded[index].lock().unwrap();
                    if newest.is_none_or(|newest| newest < version) {
                        aws.put_source(&run.source_key, &run.versions[version]);
                        *newest = Some(version);
                    }
                }
                let url = format!("{}/", servers[(i + client) % PROCESSES].url());
                let body = event(run, version).to_string();
                // A retryable answer (503) is what a queue redelivers.
                for attempt in 0.. {
                    let sent = Instant::now();
                    let (status, answer) =
                        http("POST", &url, &[("x-api-key", "race")], body.as_bytes());
                    latencies.lock().unwrap().push(sent.elapsed());
                    let answer: serde_json::Value =
                        serde_json::from_slice(&answer).unwrap_or(json!(null));
                    let outcome = answer["records"][0]["outcome"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    if status == 503 && attempt < 20 {
                        redeliveries.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    if status != 200
                        || !["landed", "already-done", "older"].contains(&outcome.as_str())
                    {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("{}: {status} {answer}", run.run));
                    }
                    *outcomes.lock().unwrap().entry(outcome).or_default() += 1;
                    break;
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let errors = errors.into_inner().unwrap();
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    eprintln!(
        "{} events from 24 clients to {PROCESSES} processes x 8 workers in {:.1} s ({:.0} events/s): \
         p50 {:?}, p99 {:?}; outcomes {:?}; {} conflicts (412/409) answered by S3; {} redeliveries of a 503",
        deliveries.len(),
        elapsed.as_secs_f64(),
        deliveries.len() as f64 / elapsed.as_secs_f64(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
        outcomes.into_inner().unwrap(),
        proxy.conflicts_answered.load(Ordering::SeqCst),
        redeliveries.load(Ordering::SeqCst),
    );
    drop(servers);

    // The expected lake: each run's newest version alone, replayed locally.
    let scratch = tempfile::tempdir().unwrap();
    let newest = scratch.path().join("newest");
    for run in &runs {
        let dir = newest.join(run.kind.as_str());
        std::fs::create_dir_all(&dir).unwrap();
        let file = run.source_key.rsplit('/').next().unwrap();
        std::fs::write(dir.join(file), run.versions.last().unwrap()).unwrap();
    }
    let expected_lake = replayed(&newest, &scratch.path().join("expected"));

    let lake = aws.lake_dir().join("race");
    let (got, want) = (lake_rows(&lake), lake_rows(&expected_lake));
    for (table, rows) in &want {
        assert!(
            !rows.is_empty() || table.ends_with("/sra"),
            "{table}: the corpus has rows"
        );
        assert!(
            got[table] == *rows,
            "{table}: {} rows in the lake, {} expected (newest versions, once each)",
            got[table].len(),
            rows.len()
        );
    }
    assert_every_object_named(&lake);
}

/// Two `handle-event` processes, versions A (older) and B (newer by
/// sequencer) of one run: A is held by a proxy at its `nth` conditional
/// write of the run's manifest (1: its pending manifest, 2: its complete
/// one) while B runs whole, then A goes on. The run ends with exactly B's
/// rows, and A reports `older`.
fn older_version_held_at_its_manifest_write(nth: usize) {
    let aws = Aws::start();
    let run = "SRR612821";
    let key = format!("summary2/{run}.summary");
    let original =
        std::fs::read(common::fixtures().join(format!("nucleotide/{run}.summary"))).unwrap();
    let newer = first_lines(&original, 14);
    let scratch = tempfile::tempdir().unwrap();
    let event_file = |name: &str, sequencer: &str| {
        let path = scratch.path().join(name);
        let event = json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
            "object":{"key": key, "eTag": format!("e{sequencer}"), "sequencer": sequencer}}}]});
        std::fs::write(&path, event.to_string()).unwrap();
        path
    };
    let (older_event, newer_event) = (event_file("a.json", "01"), event_file("b.json", "02"));
    let release: &'static std::sync::atomic::AtomicBool = Box::leak(Box::default());
    let manifest_writes = AtomicUsize::new(0);
    let manifest = format!("/_manifests/nucleotide/{run}.json");
    let holding = FaultProxy::start(aws.s3.port, move |method, path, _| {
        let is_manifest_write = method == "PUT" && path.ends_with(&manifest);
        (is_manifest_write && manifest_writes.fetch_add(1, Ordering::SeqCst) + 1 == nth)
            .then_some(servers::Fault::HoldUntil(release))
    });
    let handle = |event: &Path| {
        let mut command = servers::uploader(&aws);
        command
            .args([
                "handle-event",
                event.to_str().unwrap(),
                "--dest",
                "s3://lake/serratus",
                "--no-glue",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };

    aws.put_source(&key, &original);
    let older = handle(&older_event)
        .env("AWS_ENDPOINT_URL_S3", holding.url())
        .spawn()
        .unwrap();
    let waiting = Instant::now();
    while holding.faults_served.load(Ordering::SeqCst) == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "the older version never reached its manifest write {nth}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    aws.put_source(&key, &newer);
    let out = handle(&newer_event).output().unwrap();
    assert_eq!(outcome_of(&out), "landed");
    release.store(true, Ordering::SeqCst);
    let out = older.wait_with_output().unwrap();
    assert_eq!(outcome_of(&out), "older", "held at manifest write {nth}");

    let newest = scratch.path().join("newest/nucleotide");
    std::fs::create_dir_all(&newest).unwrap();
    std::fs::write(newest.join(format!("{run}.summary")), &newer).unwrap();
    let expected_lake = replayed(newest.parent().unwrap(), &scratch.path().join("expected"));
    let lake = aws.lake_dir().join("serratus");
    assert_eq!(
        lake_rows(&lake),
        lake_rows(&expected_lake),
        "held at manifest write {nth}: exactly the newer version's rows"
    );
    assert_every_object_named(&lake);
}

#[test]
fn an_older_version_held_before_its_pending_manifest_loses_to_the_newer_one() {
    older_version_held_at_its_manifest_write(1);
}

#[test]
fn an_older_version_held_before_its_complete_manifest_loses_and_leaves_nothing() {
    older_version_held_at_its_manifest_write(2);
}
