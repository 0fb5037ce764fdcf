//! `serve` under 32 concurrent clients posting a generated corpus as
//! events: no errors, no lost or doubled rows, memory flat. Latency is
//! printed, never asserted (the benchmark measures it).

use crate::support::servers;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;
use servers::{duckdb_count, http, Aws};
use summary_corpus::{generate, GeneratedSummary};
use summary_lake::Kind;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap()
}

#[test]
fn thirty_two_clients_post_a_corpus_and_every_row_lands_once() {
    // Its own binary once, so alone: still never beside a measured attack.
    let _turn = crate::support::one_measured_server_at_a_time();
    let aws = Aws::start();
    // 240 generated summaries, without the rare multi-MB ones (the benchmark covers those)
    let corpus: Vec<GeneratedSummary> = (0..240)
        .map(|i| generate(3, i))
        .filter(|s| s.bytes.len() < 1_000_000)
        .collect();
    let key = |s: &GeneratedSummary| match s.kind {
        Kind::Nucleotide => format!("summary2/{}.summary", s.run),
        Kind::Protein => format!("psummary/{}.psummary", s.run),
        Kind::Rdrp => format!("rsummary/{}.psummary", s.run),
    };
    for s in &corpus {
        aws.put_source(&key(s), &s.bytes);
    }
    let serve = servers::serve(
        &aws,
        &[
            "--workers",
            "8",
            "--io-concurrency",
            "4",
            "--dest",
            "s3://lake/load",
        ],
        "load",
        &[],
    );
    let url = format!("{}/", serve.url());
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let rss_at_third = Mutex::new(0);
    std::thread::scope(|scope| {
        for _ in 0..32 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= corpus.len() {
                    break;
                }
                if i == corpus.len() / 3 {
                    *rss_at_third.lock().unwrap() = rss_kib(serve.child.id());
                }
                let event = json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
                    "object":{"key": key(&corpus[i]), "sequencer": "01", "eTag": "e"}}}]});
                let started = Instant::now();
                let (status, body) = http("POST", &url, &[("x-api-key", "load")], event.to_string().as_bytes());
                latencies.lock().unwrap().push(started.elapsed());
                if status != 200 || !String::from_utf8_lossy(&body).contains("\"landed\"") {
                    errors.lock().unwrap().push(format!("{}: {status} {}", key(&corpus[i]), String::from_utf8_lossy(&body)));
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    let rss_end = rss_kib(serve.child.id());
    let rss_third = rss_at_third.into_inner().unwrap();
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    eprintln!(
        "{} events from 32 clients: p50 {:?}, p99 {:?}; serve RSS {} KiB at a third, {} KiB at the end",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
        rss_third,
        rss_end
    );
    assert!(
        rss_end < rss_third * 3 / 2 + 32 * 1024,
        "memory stays flat: {rss_third} KiB then {rss_end} KiB"
    );
    // every row once
    let lake = aws.lake_dir().join("load");
    for kind in Kind::ALL {
        for (index, table) in summary_lake::catalog::tables_of(kind).enumerate() {
            let expected: u64 = corpus
                .iter()
                .filter(|s| s.kind == kind)
                .map(|s| s.rows[index].1)
                .sum();
            if expected > 0 {
                assert_eq!(
                    duckdb_count(&lake, &format!("{kind}/{}", table.name)),
                    expected,
                    "{kind}/{}",
                    table.name
                );
            }
        }
    }
}
