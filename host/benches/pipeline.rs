//! The benchmark: how fast the converter and the edge function are, against
//! the Python pipeline they replace, and how much memory they take.
//!
//! `cargo bench -p summary-uploader --bench pipeline -- [--quick] [--only 1,7] [--results FILE]`
//! (`scripts/bench` runs it and writes bench/RESULTS.md). Prints a Markdown
//! table; never asserts a timing. `--only` runs the numbered measures given
//! (e.g. `1,7`, the conversion figures, in about a minute), for iterating.

#[path = "../tests/it/support/common.rs"]
mod common;
#[path = "../tests/it/support/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/native.rs"]
mod native;

use native::{convert_round, thread_cpu};
use summary_corpus::{generate, GeneratedSummary};
use summary_lake::Kind;
use summary_pipeline::convert::{Convert, Summary};
use summary_uploader::converter::{Converter, GuestLimits};

/// Conversion through the component, per core, when issue 14 was filed
/// (`scripts/bench` on main then): the base of its 5x target in the
/// score/pctid layout. `--compare-component` compares with a build at hand
/// instead, which after that issue's work is no longer the filed figure.
const ISSUE_14_COMPONENT_MB_S: f64 = 3.2;

struct Options {
    quick: bool,
    results: Option<PathBuf>,
    /// Another build of the component to measure beside this one (7.).
    compare: Option<PathBuf>,
    /// The numbered measures to run (`--only 1,7`); all when `None`.
    only: Option<Vec<u32>>,
}

impl Options {
    fn runs(&self, measure: u32) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.contains(&measure))
    }
}

struct Report {
    rows: Vec<(String, String, String)>,
    targets: Vec<(String, String, bool)>,
}

impl Report {
    fn row(&mut self, what: &str, figure: String, detail: String) {
        eprintln!("{what}: {figure} {detail}");
        self.rows.push((what.into(), figure, detail));
    }

    fn target(&mut self, what: &str, figure: String, met: bool) {
        eprintln!(
            "target {what}: {figure} ({})",
            if met { "met" } else { "NOT met" }
        );
        self.targets.push((what.into(), figure, met));
    }
}

/// The calling thread's CPU time. In-process measures (conversion through
/// the component and natively, parsing, encoding) run on this thread; on a
/// shared machine, time spent waiting for a core is not counted.
struct CpuClock(Duration);

impl CpuClock {
    fn now() -> Self {
        CpuClock(thread_cpu())
    }

    fn elapsed(&self) -> Duration {
        thread_cpu().saturating_sub(self.0)
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn percentile(mut values: Vec<Duration>, p: f64) -> Duration {
    values.sort();
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

fn uploader() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bin/summary-uploader");
    assert!(
        path.exists(),
        "{} missing: run scripts/setup first",
        path.display()
    );
    path
}

fn write_corpus(dir: &Path, corpus: &[GeneratedSummary]) {
    for kind in Kind::ALL {
        std::fs::create_dir_all(dir.join(kind.as_str())).unwrap();
    }
    for s in corpus {
        std::fs::write(dir.join(s.kind.as_str()).join(&s.file_name), &s.bytes).unwrap();
    }
}

fn batches(corpus: &[GeneratedSummary]) -> Vec<Vec<Summary>> {
    Kind::ALL
        .iter()
        .map(|kind| {
            corpus
                .iter()
                .filter(|s| s.kind == *kind)
                .map(|s| Summary {
                    kind: s.kind.into(),
                    source: s.file_name.clone(),
                    bytes: s.bytes.clone(),
                })
                .collect()
        })
        .collect()
}

/// 1. Conversion only, in memory, one core: component and native.
fn conversion(
    report: &mut Report,
    converter: &Converter,
    corpus: &[GeneratedSummary],
    baseline_mb_s: Option<f64>,
) {
    let bytes: usize = corpus.iter().map(|s| s.bytes.len()).sum();
    let batches = batches(corpus);
    let rounds = if corpus.len() < 100 { 1 } else { 3 };
    let mut wasm = Vec::new();
    let mut native = Vec::new();
    for _ in 0..rounds {
        wasm.push(convert_round(
            Some(converter),
            &batches,
            summary_lake::Layout::ScorePctid,
        ));
        native.push(convert_round(
            None,
            &batches,
            summary_lake::Layout::ScorePctid,
        ));
    }
    let (wasm, native) = (median(wasm), median(native));
    let wasm_mb_s = mb(bytes) / wasm.as_secs_f64();
    let native_mb_s = mb(bytes) / native.as_secs_f64();
    let files = corpus.len() as f64;
    report.row(
        "1. conversion through the component, one core",
        format!("{wasm_mb_s:.1} MB/s"),
        format!(
            "{:.0} files/s; {} files, {:.1} MB, one batch per kind, median of {rounds}",
            files / wasm.as_secs_f64(),
            corpus.len(),
            mb(bytes)
        ),
    );
    report.row(
        "1. conversion natively, one core",
        format!("{native_mb_s:.1} MB/s"),
        format!("{:.0} files/s", files / native.as_secs_f64()),
    );
    let ratio = wasm.as_secs_f64() / native.as_secs_f64();
    report.row(
        "1. component time / native time",
        format!("{ratio:.2}x"),
        String::new(),
    );
    if let Some(baseline_mb_s) = baseline_mb_s {
        report.row(
            "1. component vs the Python baseline",
            format!("{:.0}x", wasm_mb_s / baseline_mb_s),
            format!("baseline {baseline_mb_s:.2} MB/s end to end"),
        );
    }
    report.target(
        "conversion through the component >= 100 MB/s per core",
        format!("{wasm_mb_s:.1} MB/s"),
        wasm_mb_s >= 100.0,
    );
    if let Some(baseline_mb_s) = baseline_mb_s {
        report.target(
            "component >= 25x the baseline",
            format!("{:.0}x", wasm_mb_s / baseline_mb_s),
            wasm_mb_s / baseline_mb_s >= 25.0,
        );
    }
    report.target(
        "component within 1.5x of native",
        format!("{ratio:.2}x"),
        ratio <= 1.5,
    );
}

/// 2. Per-call overhead on a header-only summary, and process cold start.
fn component_cost(report: &mut Report, converter: &Converter, scratch: &Path, quick: bool) {
    // A header-only protein summary padded to 300 bytes with a long genome name.
    let header = |genome: &str| {
        format!("sra=SRR1;SUMZER_COMMENT=sra=SRR1,genome={genome},date=200906-14:25,type=protein;totalalns=0;readlength=0;truncated=no;\n")
    };
    let padded = header(&"g".repeat(300 - header("").len())).into_bytes();
    let summary = [Summary {
        kind: summary_lake::Kind::Protein,
        source: "SRR1.psummary".into(),
        bytes: padded.clone(),
    }];
    let iterations = if quick { 300 } else { 2000 };
    for _ in 0..20 {
        converter
            .convert(summary_lake::Layout::ScorePctid, &summary)
            .unwrap();
    }
    let started = CpuClock::now();
    for _ in 0..iterations {
        converter
            .convert(summary_lake::Layout::ScorePctid, &[])
            .unwrap();
    }
    let empty = started.elapsed() / iterations;
    report.row(
        "2. component call with an empty batch",
        format!("{} µs", empty.as_micros()),
        "fresh store + instantiate from the InstancePre + call: the fixed cost per call".into(),
    );
    let started = CpuClock::now();
    for _ in 0..iterations {
        converter
            .convert(summary_lake::Layout::ScorePctid, &summary)
            .unwrap();
    }
    let per_call = started.elapsed() / iterations;
    let input = summary_guest::SummaryInput {
        kind: Kind::Protein,
        source: "SRR1.psummary",
        bytes: &padded,
    };
    let started = CpuClock::now();
    for _ in 0..iterations {
        let inputs = std::slice::from_ref(&input);
        summary_guest::convert_batch(
            inputs,
            summary_guest::Layout::ScorePctid,
            &summary_guest::batch_name(inputs),
        )
        .unwrap();
    }
    let native = started.elapsed() / iterations;
    report.row(
        "2. component call on a header-only summary",
        format!("{} µs", per_call.as_micros()),
        format!(
            "{} bytes (one Parquet object); the same conversion natively {} µs",
            padded.len(),
            native.as_micros()
        ),
    );
    report.target(
        "per-file component overhead < 100 µs",
        format!("{} µs", empty.as_micros()),
        empty < Duration::from_micros(100),
    );

    let file = scratch.join("cold/protein/SRR1.psummary");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &padded).unwrap();
    let cache = scratch.join("component-cache");
    let run = |lake: &Path| {
        let started = Instant::now();
        let out = Command::new(uploader())
            .args([
                "--cache-dir",
                cache.to_str().unwrap(),
                "replay",
                "--lake",
                lake.to_str().unwrap(),
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        started.elapsed()
    };
    run(&scratch.join("cold/lake-warm-up"));
    let times: Vec<Duration> = (0..if quick { 3 } else { 9 })
        .map(|i| run(&scratch.join(format!("cold/lake{i}"))))
        .collect();
    let cold = median(times);
    report.row(
        "2. process start to first conversion (cached precompiled component)",
        format!("{} ms", cold.as_millis()),
        "whole `summary-uploader replay` of one file, median".into(),
    );
    report.target(
        "cold start < 50 ms",
        format!("{} ms", cold.as_millis()),
        cold < Duration::from_millis(50),
    );
}

/// Runs a command to its end; returns its success and its own peak RSS in KiB.
#[allow(clippy::zombie_processes)] // reaped by wait4, which clippy does not see
fn run_measuring_rss(command: &mut Command) -> (bool, i64) {
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; wait4 fills the status and usage it is given.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    (
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        usage.ru_maxrss,
    )
}

/// 3. Replay to a local lake, end to end, all cores.
fn replay(
    report: &mut Report,
    corpus_dir: &Path,
    scratch: &Path,
    bytes: usize,
    baseline: &serde_json::Value,
) {
    let lake = scratch.join("replay-lake");
    let (elapsed, summary) = time_replay(corpus_dir, &lake, &[]);
    let files = baseline["files"].as_f64().unwrap_or(0.0);
    let mb_s = mb(bytes) / elapsed.as_secs_f64();
    report.row(
        "3. replay to a local lake, all cores",
        format!(
            "{mb_s:.1} MB/s, {:.0} files/s",
            files / elapsed.as_secs_f64()
        ),
        summary.split(": ").skip(1).collect::<Vec<_>>().join(": "),
    );
    let baseline_seconds = baseline["seconds"].as_f64().unwrap_or(f64::NAN);
    report.row(
        "3. replay vs the Python baseline (same corpus, same output layout)",
        format!("{:.0}x", baseline_seconds / elapsed.as_secs_f64()),
        format!(
            "baseline {baseline_seconds:.1} s, {} objects; replay {:.2} s",
            baseline["objects"],
            elapsed.as_secs_f64()
        ),
    );
}

/// 5. Peak memory for the largest file: the host's RSS and the guest's linear memory.
fn memory(report: &mut Report, converter: &Converter, corpus: &[GeneratedSummary], scratch: &Path) {
    let largest = corpus.iter().max_by_key(|s| s.bytes.len()).unwrap();
    let summary = [Summary {
        kind: largest.kind.into(),
        source: largest.file_name.clone(),
        bytes: largest.bytes.clone(),
    }];
    let (_, peak) = converter
        .convert_measured(summary_lake::Layout::ScorePctid, &summary)
        .unwrap();
    let size = largest.bytes.len();
    let bound = 8 * size + (16 << 20);
    report.row(
        "5. guest peak linear memory, largest file",
        format!("{:.1} MiB", peak as f64 / (1 << 20) as f64),
        format!(
            "{} ({:.1} MB); {:.1}x the input",
            largest.file_name,
            mb(size),
            peak as f64 / size as f64
        ),
    );
    report.target(
        "guest peak memory < 8x input + 16 MiB",
        format!(
            "{:.1} MiB of {:.1} MiB allowed",
            peak as f64 / (1 << 20) as f64,
            bound as f64 / (1 << 20) as f64
        ),
        peak < bound,
    );
    let dir = scratch.join("largest").join(largest.kind.as_str());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&largest.file_name), &largest.bytes).unwrap();
    let (ok, rss) = run_measuring_rss(Command::new(uploader()).args([
        "replay",
        "--lake",
        scratch.join("largest-lake").to_str().unwrap(),
        dir.to_str().unwrap(),
    ]));
    assert!(ok, "replay of the largest file failed");
    report.row(
        "5. host peak RSS replaying the largest file",
        format!("{:.1} MiB", rss as f64 / 1024.0),
        format!(
            "the whole `summary-uploader replay` process, {:.1}x the input",
            rss as f64 * 1024.0 / size as f64
        ),
    );
}

/// 4. Event latency and throughput through `serve` against s3s-fs and moto.
fn serve(report: &mut Report, corpus: &[GeneratedSummary], quick: bool) {
    let aws = servers::Aws::start();
    let folder = |kind: Kind| match kind {
        Kind::Nucleotide => ("summary2", "summary"),
        Kind::Protein => ("psummary", "psummary"),
        Kind::Rdrp => ("rsummary", "psummary"),
    };
    let key_of = |s: &GeneratedSummary| {
        let (folder, ext) = folder(s.kind);
        format!("{folder}/{}.{ext}", s.run)
    };
    for s in corpus {
        aws.put_source(&key_of(s), &s.bytes);
    }
    let port = servers::free_port();
    let mut child = Command::new(uploader())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--workers",
            "8",
            "--dest",
            "s3://lake/bench",
        ])
        .envs(aws.env())
        .env("SUMMARY_UPLOADER_API_KEY", "bench")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(
            std::fs::File::create(std::env::temp_dir().join("summary-bench-serve.log")).unwrap(),
        )
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://127.0.0.1:{port}/");
    let event = |key: &str, sequencer: u64| {
        serde_json::json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"src"},
            "object":{"key": key, "sequencer": format!("{sequencer:016X}"), "eTag": format!("e{sequencer}")}}}]})
        .to_string()
    };
    let post = |body: &str| {
        let (status, answer) =
            servers::http("POST", &url, &[("x-api-key", "bench")], body.as_bytes());
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    };
    // Glue tables are created by the first events; warm them up.
    for kind in Kind::ALL {
        let s = corpus.iter().find(|s| s.kind == kind).unwrap();
        post(&event(&key_of(s), 1));
    }
    let mut by_size: Vec<&GeneratedSummary> = corpus.iter().collect();
    by_size.sort_by_key(|s| s.bytes.len());
    let picks = [
        ("small (header-only)", by_size[0]),
        ("typical (median size)", by_size[by_size.len() / 2]),
        ("large (largest)", by_size[by_size.len() - 1]),
    ];
    for (label, s) in picks {
        // The largest file takes seconds per event: fewer rounds keep the run short.
        let rounds = match (quick, label.starts_with("large")) {
            (true, true) => 1,
            (true, false) | (false, true) => 5,
            (false, false) => 25,
        };
        let key = key_of(s);
        // every event a newer version, so each one does the whole work
        let times: Vec<Duration> = (0..rounds)
            .map(|i| {
                let started = Instant::now();
                post(&event(&key, 100 + i as u64));
                started.elapsed()
            })
            .collect();
        report.row(
            &format!("4. event latency, {label}"),
            format!(
                "p50 {} ms, p99 {} ms",
                percentile(times.clone(), 0.5).as_millis(),
                percentile(times, 0.99).as_millis()
            ),
            format!("{:.1} KB, {rounds} events", s.bytes.len() as f64 / 1e3),
        );
    }
    // The same middle half of the sizes at every level, each event a newer version.
    let typical: Vec<&GeneratedSummary> =
        by_size[by_size.len() / 4..by_size.len() * 3 / 4].to_vec();
    let per_level = if quick { 24 } else { 192 };
    for (level, clients) in [1usize, 8, 32].into_iter().enumerate() {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..clients {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= per_level {
                        break;
                    }
                    let s = typical[i % typical.len()];
                    post(&event(&key_of(s), 1000 + (level * per_level + i) as u64));
                });
            }
        });
        let elapsed = started.elapsed();
        report.row(
            &format!("4. events/s with {clients} concurrent clients"),
            format!("{:.0} events/s", per_level as f64 / elapsed.as_secs_f64()),
            format!(
                "{per_level} events over the middle half of the sizes ({:.1}-{:.1} KB), serve --workers 8",
                typical[0].bytes.len() as f64 / 1e3,
                typical[typical.len() - 1].bytes.len() as f64 / 1e3
            ),
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// 6. Issue 14's guest figures: the component's size, parsing alone and
/// encoding one small object, natively.
fn guest_figures(report: &mut Report, corpus: &[GeneratedSummary], quick: bool) {
    let size = std::fs::metadata(common::component_path()).unwrap().len();
    report.row(
        "6. converter component size",
        format!("{:.2} MB", size as f64 / 1e6),
        format!("{size} bytes, {}", common::component_path().display()),
    );
    report.target(
        "bin/summary_guest.wasm <= 1.5 MB",
        format!("{:.2} MB", size as f64 / 1e6),
        size <= 1_500_000,
    );

    let bytes: usize = corpus.iter().map(|s| s.bytes.len()).sum();
    let rounds = if quick { 3 } else { 5 };
    let parse = median(
        (0..rounds)
            .map(|_| {
                let started = CpuClock::now();
                for s in corpus {
                    std::hint::black_box(summary_guest::parse_summary(s.kind, &s.bytes).unwrap());
                }
                started.elapsed()
            })
            .collect(),
    );
    let parse_mb_s = mb(bytes) / parse.as_secs_f64();
    report.row(
        "6. parsing alone, natively, one core",
        format!("{parse_mb_s:.0} MB/s"),
        format!(
            "parse_summary over the {} files ({:.1} MB), median of {rounds}",
            corpus.len(),
            mb(bytes)
        ),
    );
    report.target(
        "parsing natively >= 200 MB/s per core",
        format!("{parse_mb_s:.0} MB/s"),
        parse_mb_s >= 200.0,
    );

    // A small object: the first five rows of a nucleotide family table.
    let file = corpus
        .iter()
        .find(|s| s.kind == Kind::Nucleotide && s.bytes.len() > 5000)
        .unwrap();
    let parsed = summary_guest::parse_summary(file.kind, &file.bytes).unwrap();
    let family = &parsed.tables[1];
    let rows: Vec<&[summary_guest::value::Value]> =
        (0..family.len().min(5)).map(|i| family.row(i)).collect();
    let mut encoder = summary_guest::encode::Encoder::default();
    let iterations = if quick { 2_000 } else { 20_000 };
    for _ in 0..200 {
        encoder.encode(family.table, &rows).unwrap();
    }
    let started = CpuClock::now();
    let mut out = 0;
    for _ in 0..iterations {
        out += encoder.encode(family.table, &rows).unwrap().len();
    }
    let per_object = started.elapsed() / iterations;
    report.row(
        "6. encoding one small object, natively",
        format!("{:.1} µs", per_object.as_secs_f64() * 1e6),
        format!(
            "{} rows of {} ({} columns), {} bytes of Parquet",
            rows.len(),
            family.table.glue_name,
            family.table.columns.len(),
            out / iterations as usize
        ),
    );
    report.target(
        "small object encode <= 20 µs natively",
        format!("{:.1} µs", per_object.as_secs_f64() * 1e6),
        per_object <= Duration::from_micros(20),
    );
}

/// 7. Conversion in the score/pctid layout, batches of 1,000 runs of one
/// kind from `gen-corpus --distribution serratus`: this component, natively, and
/// (`--compare-component FILE`) another build of the component, e.g. main's.
fn serratus_conversion(
    report: &mut Report,
    converter: &Converter,
    compare: Option<&(PathBuf, Converter)>,
    quick: bool,
) {
    let runs = if quick { 100 } else { 1000 };
    let batches = summary_uploader::gen_corpus::serratus_batches(runs);
    let bytes: usize = batches.iter().flatten().map(|s| s.bytes.len()).sum();
    let objects: usize = batches
        .iter()
        .map(|b| {
            converter
                .convert(summary_lake::Layout::ScorePctid, b)
                .unwrap()
                .objects
                .len()
        })
        .sum();
    // Component and native rounds alternate: this machine's figures move by
    // a third from minute to minute, and alternating puts that load on both
    // alike. Measured one after the other, a run gave 1.18x in score/pctid
    // and 1.77x in run-bucket where alternating processes gave 1.58x and
    // 1.40x.
    let rounds = if quick { 1 } else { 7 };
    let time_both = |layout: summary_lake::Layout| {
        let (component, native): (Vec<Duration>, Vec<Duration>) = (0..rounds)
            .map(|_| {
                (
                    convert_round(Some(converter), &batches, layout),
                    convert_round(None, &batches, layout),
                )
            })
            .unzip();
        (median(component), median(native))
    };
    let (wasm, native) = time_both(summary_lake::Layout::ScorePctid);
    let wasm_mb_s = mb(bytes) / wasm.as_secs_f64();
    let detail = format!(
        "3 batches of {runs} runs ({} files of `--distribution serratus`, {:.1} MB), {objects} objects ({:.2} per KB), median of {rounds} rounds alternating with native",
        runs * 3,
        mb(bytes),
        objects as f64 / (bytes as f64 / 1e3)
    );
    report.row(
        "7. score/pctid layout, batches of 1,000 runs: component, one core",
        format!("{wasm_mb_s:.1} MB/s"),
        format!(
            "{detail}; {:.1} µs per object",
            wasm.as_secs_f64() * 1e6 / objects as f64
        ),
    );
    report.row(
        "7. the same natively",
        format!("{:.1} MB/s", mb(bytes) / native.as_secs_f64()),
        format!(
            "{:.1} µs per object",
            native.as_secs_f64() * 1e6 / objects as f64
        ),
    );
    let ratio = wasm.as_secs_f64() / native.as_secs_f64();
    report.row(
        "7. component time / native time",
        format!("{ratio:.2}x"),
        String::new(),
    );
    report.target(
        "component within 1.3x of native (batches of 1,000 runs)",
        format!("{ratio:.2}x"),
        ratio <= 1.3,
    );
    report.target(
        "component conversion >= 5x issue 14's figure (3.2 MB/s per core), score/pctid layout",
        format!(
            "{:.1}x ({wasm_mb_s:.1} MB/s)",
            wasm_mb_s / ISSUE_14_COMPONENT_MB_S
        ),
        wasm_mb_s >= 5.0 * ISSUE_14_COMPONENT_MB_S,
    );
    if let Some((path, old)) = compare {
        let old_time = median(
            (0..rounds)
                .map(|_| convert_round(Some(old), &batches, summary_lake::Layout::ScorePctid))
                .collect(),
        );
        let old_mb_s = mb(bytes) / old_time.as_secs_f64();
        report.row(
            "7. the same through the compared component",
            format!("{old_mb_s:.1} MB/s"),
            format!(
                "{} ({:.2} MB); this build {:.2}x its speed",
                path.display(),
                std::fs::metadata(path).map_or(0, |m| m.len()) as f64 / 1e6,
                wasm_mb_s / old_mb_s
            ),
        );
    }
    // The same batches in the run-bucket layout: an object per table and
    // bucket (a backfill batch, grouped by bucket, writes one per table).
    let layout = summary_lake::Layout::RunBucket;
    let bucket_objects: usize = batches
        .iter()
        .map(|b| converter.convert(layout, b).unwrap().objects.len())
        .sum();
    let (wasm, native) = time_both(layout);
    let wasm_mb_s = mb(bytes) / wasm.as_secs_f64();
    report.row(
        "7. run-bucket layout, the same batches: component, one core",
        format!("{wasm_mb_s:.1} MB/s"),
        format!(
            "{bucket_objects} objects (an object per table and bucket), median of {rounds} alternating with native; {:.1} µs per object",
            wasm.as_secs_f64() * 1e6 / bucket_objects as f64
        ),
    );
    report.row(
        "7. the same natively",
        format!("{:.1} MB/s", mb(bytes) / native.as_secs_f64()),
        String::new(),
    );
    let ratio = wasm.as_secs_f64() / native.as_secs_f64();
    report.row(
        "7. run-bucket: component time / native time",
        format!("{ratio:.2}x"),
        String::new(),
    );
    report.target(
        "run-bucket conversion through the component >= 50 MB/s per core",
        format!("{wasm_mb_s:.1} MB/s"),
        wasm_mb_s >= 50.0,
    );
    report.target(
        "run-bucket component within 1.3x of native",
        format!("{ratio:.2}x"),
        ratio <= 1.3,
    );
}

/// Flushes the writes of earlier measures to disk, so that their writeback
/// does not land in the next timed run.
///
/// The lakes and baseline outputs of a run are not deleted while it runs
/// (the scratch folder goes at the end): on ext4, files created within
/// half a minute of mass deletions spend most of their time in the inode
/// allocator skipping the recently deleted inodes (`recently_deleted` in
/// `perf`), which tripled replay's time on the 60 fixtures.
fn settle() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Runs `replay` on a folder into a new lake `lake`; returns the wall time
/// and its last line.
fn time_replay(corpus_dir: &Path, lake: &Path, extra: &[&str]) -> (Duration, String) {
    assert!(
        !lake.exists(),
        "{} is reused: each replay gets a new lake",
        lake.display()
    );
    settle();
    let started = Instant::now();
    let out = Command::new(uploader())
        .args(["replay", "--lake", lake.to_str().unwrap()])
        .args(extra)
        .arg(corpus_dir)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    (elapsed, last)
}

/// 8. `replay` against bench/baseline.py on several corpus sizes, same run,
/// best of `rounds` each.
fn replay_sizes(
    report: &mut Report,
    corpus: &[GeneratedSummary],
    scratch: &Path,
    quick: bool,
    full_base: &serde_json::Value,
) {
    let fixtures = common::fixtures();
    let small = scratch.join("corpus-300");
    write_corpus(&small, &corpus[..corpus.len().min(300)]);
    let mut sizes = vec![
        ("the 60 fixtures".to_string(), fixtures, 3),
        (
            format!("{} generated summaries", corpus.len().min(300)),
            small,
            3,
        ),
    ];
    if !quick {
        let all = scratch.join("corpus");
        sizes.push((format!("{} generated summaries", corpus.len()), all, 1));
    }
    for (size, (label, dir, rounds)) in sizes.into_iter().enumerate() {
        // The whole corpus's baseline already ran (0.): not again.
        let reuse = dir == scratch.join("corpus");
        let base: Vec<serde_json::Value> = (0..if reuse { 0 } else { rounds })
            .map(|i| {
                let out = scratch.join(format!("baseline-sizes-{size}-{i}"));
                settle();
                let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/baseline.py");
                let run = Command::new(servers::venv_python())
                    .arg(script)
                    .arg(&dir)
                    .arg(&out)
                    .output()
                    .unwrap();
                assert!(
                    run.status.success(),
                    "baseline: {}",
                    String::from_utf8_lossy(&run.stderr)
                );
                serde_json::from_slice(&run.stdout).unwrap()
            })
            .collect();
        let base = if reuse { vec![full_base.clone()] } else { base };
        let base_s = base
            .iter()
            .filter_map(|b| b["seconds"].as_f64())
            .fold(f64::INFINITY, f64::min);
        // The layout bench/baseline.py writes, then the same summaries into
        // a run-bucket lake: an object per table and bucket of each batch
        // instead of one per partition.
        let layouts = [
            ("score-pctid", "", "score/pctid layout", 4.0),
            (
                "run-bucket",
                ", run-bucket layout",
                "run-bucket layout",
                10.0,
            ),
        ];
        for (layout, row_suffix, target_layout, target) in layouts {
            let replays: Vec<(Duration, String)> = (0..rounds)
                .map(|i| {
                    let lake = scratch.join(format!("replay-sizes-{size}-{layout}-{i}"));
                    time_replay(&dir, &lake, &["--layout", layout])
                })
                .collect();
            let (best, last) = replays.iter().min_by_key(|(d, _)| *d).unwrap();
            let ratio = base_s / best.as_secs_f64();
            report.row(
                &format!("8. replay vs baseline, {label}{row_suffix}"),
                format!("{ratio:.1}x"),
                format!(
                    "baseline {base_s:.2} s ({} objects), replay {:.2} s, best of {rounds}: {}",
                    base[0]["objects"],
                    best.as_secs_f64(),
                    last.split(": ").skip(1).collect::<Vec<_>>().join(": ")
                ),
            );
            report.target(
                &format!("replay >= {target}x the baseline, {label} ({target_layout})"),
                format!("{ratio:.1}x"),
                ratio >= target,
            );
        }
    }
}

/// 9. Per-object cost of storing, against the bare cost of a file on this
/// machine: create + write + rename of a hidden temporary, as the store does.
fn store_cost(report: &mut Report, corpus_dir: &Path, scratch: &Path, quick: bool) {
    let files = if quick { 3_000 } else { 20_000 };
    let bare = bare_file_cost(&scratch.join("bare"), files, Some(100));
    report.row(
        "9. bare create + write + rename of a 1.5 KB file",
        format!("{bare:.1} µs per file"),
        format!("{files} files in 100 folders, one thread"),
    );
    // A score/pctid lake puts most objects in a partition folder of their
    // own: the same with a new folder (and its parent) per file.
    let bare_folder = bare_file_cost(&scratch.join("bare-folders"), files, None);
    report.row(
        "9. the same with two new folders per file",
        format!("{bare_folder:.1} µs per file"),
        format!("{files} files, each in a new score=/pctid= folder pair"),
    );
    // The host's store and the converter, per object, from replay's own
    // timings (RUST_LOG=info), one batch at a time.
    let lake = scratch.join("store-cost-lake");
    settle();
    let out = Command::new(uploader())
        .args(["replay", "--jobs", "1", "--lake", lake.to_str().unwrap()])
        .arg(corpus_dir)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut objects, mut convert_ms, mut ms) = (0u64, 0u64, 0u64);
    for line in String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("batch stored"))
    {
        for token in line.split_whitespace() {
            let number = |prefix: &str| {
                token
                    .strip_prefix(prefix)
                    .and_then(|v| v.parse::<u64>().ok())
            };
            if let Some(v) = number("objects=") {
                objects += v;
            } else if let Some(v) = number("convert_ms=") {
                convert_ms += v;
            } else if let Some(v) = number("ms=") {
                ms += v;
            }
        }
    }
    if objects == 0 {
        report.row(
            "9. host store per object",
            "-".into(),
            "no `batch stored` lines in replay's log".into(),
        );
        return;
    }
    let store = (ms - convert_ms) as f64 * 1e3 / objects as f64;
    let convert = convert_ms as f64 * 1e3 / objects as f64;
    report.row(
        "9. host local store per object (replay --jobs 1)",
        format!("{store:.1} µs per object"),
        format!(
            "{:.1}x the bare file cost, {:.1}x with new folders; {objects} objects in {} folders, {:.2} s storing",
            store / bare,
            store / bare_folder,
            count_folders(&lake),
            (ms - convert_ms) as f64 / 1e3
        ),
    );
    report.row(
        "9. converter per object (the same replay)",
        format!("{convert:.1} µs per object"),
        format!(
            "{:.2} s converting (component, one batch per kind)",
            convert_ms as f64 / 1e3
        ),
    );
}

/// µs per file of writing `files` hidden 1.5 KB temporaries under `root`
/// and renaming each into place, as the store does: spread over
/// `shared_folders` folders made before the clock starts, or (`None`) each
/// in a new `score=`/`pctid=` folder pair made on the clock.
fn bare_file_cost(root: &Path, files: usize, shared_folders: Option<usize>) -> f64 {
    let payload = vec![7u8; 1500];
    let folder = |i: usize| root.join(format!("t/score={i}/pctid={i}"));
    for i in 0..shared_folders.unwrap_or(0) {
        std::fs::create_dir_all(folder(i)).unwrap();
    }
    settle();
    let started = Instant::now();
    for i in 0..files {
        let dir = match shared_folders {
            Some(shared) => folder(i % shared),
            None => {
                let dir = folder(i);
                std::fs::create_dir_all(&dir).unwrap();
                dir
            }
        };
        let tmp = dir.join(format!(".o{i}.tmp"));
        std::fs::write(&tmp, &payload).unwrap();
        std::fs::rename(&tmp, dir.join(format!("o{i}.parquet"))).unwrap();
    }
    started.elapsed().as_secs_f64() * 1e6 / files as f64
}

/// Folders under `dir`, itself not counted.
fn count_folders(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| 1 + count_folders(&entry.path()))
        .sum()
}

fn baseline(corpus_dir: &Path, scratch: &Path) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/baseline.py");
    let out = Command::new(servers::venv_python())
        .arg(script)
        .arg(corpus_dir)
        .arg(scratch.join("baseline-out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "baseline: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cores} cores, {cpu}")
}

fn main() {
    // The figures of bench/RESULTS.md are of the score-pctid layout, the one
    // bench/baseline.py writes; bench/layouts.py compares the layouts. Set
    // before any thread starts.
    if std::env::var_os("SUMMARY_LAYOUT").is_none() {
        std::env::set_var("SUMMARY_LAYOUT", "score-pctid");
    }
    let args: Vec<String> = std::env::args().collect();
    let options = Options {
        quick: args.iter().any(|a| a == "--quick"),
        results: args
            .iter()
            .position(|a| a == "--results")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from),
        compare: args
            .iter()
            .position(|a| a == "--compare-component")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from),
        only: args
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1))
            .map(|list| {
                list.split(',')
                    .map(|n| {
                        n.trim()
                            .parse()
                            .expect("--only takes measure numbers, e.g. 1,7")
                    })
                    .collect()
            }),
    };
    let started = Instant::now();
    let files = if options.quick { 60 } else { 1000 };
    let corpus: Vec<GeneratedSummary> = (0..files).map(|i| generate(1, i)).collect();
    let bytes: usize = corpus.iter().map(|s| s.bytes.len()).sum();
    let scratch = tempfile::tempdir().unwrap();
    let corpus_dir = scratch.path().join("corpus");
    write_corpus(&corpus_dir, &corpus);
    eprintln!(
        "corpus: {files} files, {:.1} MB (gen-corpus --seed 1 --files {files})",
        mb(bytes)
    );

    let mut report = Report {
        rows: Vec::new(),
        targets: Vec::new(),
    };
    // The baseline is what 0, 3 and 8 compare against (and 1 when it ran).
    let base = [0, 3, 8]
        .iter()
        .any(|&m| options.runs(m))
        .then(|| baseline(&corpus_dir, scratch.path()));
    if let Some(base) = base.as_ref().filter(|_| options.runs(0)) {
        report.row(
            "0. baseline: Python dicts + pandas + pyarrow write_to_dataset",
            format!("{:.2} MB/s", base["mb_per_s"].as_f64().unwrap_or(0.0)),
            format!(
                "{:.1} s for {} files, {} objects (bench/baseline.py)",
                base["seconds"].as_f64().unwrap_or(0.0),
                base["files"],
                base["objects"]
            ),
        );
    }
    let base = base.unwrap_or_default();
    let converter = Converter::load(
        &common::component_path(),
        servers_cache().as_deref(),
        GuestLimits::default(),
    )
    .unwrap();
    if options.runs(1) {
        conversion(&mut report, &converter, &corpus, base["mb_per_s"].as_f64());
    }
    if options.runs(2) {
        component_cost(&mut report, &converter, scratch.path(), options.quick);
    }
    if options.runs(3) {
        replay(&mut report, &corpus_dir, scratch.path(), bytes, &base);
    }
    if options.runs(4) {
        serve(&mut report, &corpus, options.quick);
    }
    if options.runs(5) {
        memory(&mut report, &converter, &corpus, scratch.path());
    }
    if options.runs(6) {
        guest_figures(&mut report, &corpus, options.quick);
    }
    let compare = options.compare.as_ref().map(|path| {
        (
            path.clone(),
            Converter::load(path, None, GuestLimits::default()).unwrap(),
        )
    });
    if options.runs(7) {
        serratus_conversion(&mut report, &converter, compare.as_ref(), options.quick);
    }
    if options.runs(8) {
        replay_sizes(&mut report, &corpus, scratch.path(), options.quick, &base);
    }
    if options.runs(9) {
        store_cost(&mut report, &corpus_dir, scratch.path(), options.quick);
    }

    let mut markdown = format!(
        "Machine: {}. Corpus: `gen-corpus --seed 1 --files {files}` ({:.1} MB). {} run, {:.0} s in all. In-process measures (1, 2, 6, 7) are CPU time of the converting thread; replay, baseline and events (0, 3, 4, 8, 9) are wall time.\n\n| measure | figure | detail |\n|---|---|---|\n",
        machine(),
        mb(bytes),
        match (options.quick, &options.only) {
            (_, Some(only)) => format!("Partial ({only:?} only)"),
            (true, None) => "Quick".to_string(),
            (false, None) => "Full".to_string(),
        },
        started.elapsed().as_secs_f64()
    );
    for (what, figure, detail) in &report.rows {
        markdown.push_str(&format!("| {what} | {figure} | {detail} |\n"));
    }
    markdown.push_str("\n| target | figure | met |\n|---|---|---|\n");
    for (what, figure, met) in &report.targets {
        markdown.push_str(&format!(
            "| {what} | {figure} | {} |\n",
            if *met { "met" } else { "**not met**" }
        ));
    }
    println!("{markdown}");
    if let Some(path) = options.results {
        std::fs::write(&path, markdown).unwrap();
    }
}

fn servers_cache() -> Option<PathBuf> {
    summary_uploader::converter::default_cache_dir()
}
