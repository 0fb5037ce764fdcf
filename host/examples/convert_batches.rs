//! Converts the benchmark's batches of 1,000 serratus runs (row 7 of
//! bench/RESULTS.md) over and over, one way only, for a profiler:
//!
//! ```sh
//! cargo run --release -p summary-uploader --example convert_batches -- \
//!     [--layout run-bucket|score-pctid] [--via component|native] [--rounds N] [--runs 1000] [--verify]
//!     [--against OTHER.wasm[,...]]
//! SUMMARY_GUEST_PROFILER=perfmap perf record target/release/examples/convert_batches
//! ```
//!
//! The component is `$SUMMARY_COMPONENT` or `bin/summary_guest.wasm`.
//! Prints the CPU time and MB/s of each round. `--verify` first checks that
//! the component gives the same objects (keys and bytes) as the native
//! conversion, in both layouts. `--against` compares components (and
//! native) round by round instead: the figures to trust on a noisy machine.

use std::path::PathBuf;

#[path = "../benches/support/native.rs"]
mod native;

use native::{convert_natively, convert_round};
use summary_lake::Layout;
use summary_pipeline::convert::Convert;
use summary_uploader::converter::{Converter, GuestLimits};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let layout = match value("--layout").as_deref() {
        None | Some("run-bucket") => Layout::RunBucket,
        Some("score-pctid") => Layout::ScorePctid,
        Some(other) => panic!("--layout {other}: run-bucket or score-pctid"),
    };
    let native = match value("--via").as_deref() {
        None | Some("component") => false,
        Some("native") => true,
        Some(other) => panic!("--via {other}: component or native"),
    };
    let rounds: usize = value("--rounds").map_or(5, |r| r.parse().expect("--rounds N"));
    let runs: usize = value("--runs").map_or(1000, |r| r.parse().expect("--runs N"));

    let batches = summary_uploader::gen_corpus::serratus_batches(runs);
    let bytes: usize = batches.iter().flatten().map(|s| s.bytes.len()).sum();
    let component = std::env::var_os("SUMMARY_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bin/summary_guest.wasm")
        });
    let load = |path: &PathBuf| {
        Converter::load(
            path,
            summary_uploader::converter::default_cache_dir().as_deref(),
            GuestLimits::default(),
        )
        .unwrap_or_else(|e| panic!("loading the component {}: {e:#}", path.display()))
    };
    let converter = (!native).then(|| load(&component));

    if args.iter().any(|a| a == "--verify") {
        let converter = converter.as_ref().expect("--verify needs the component");
        for layout in [Layout::ScorePctid, Layout::RunBucket] {
            let mut objects = 0;
            for batch in &batches {
                let wasm = converter.convert(layout, batch).expect("converting");
                let native = convert_natively(batch, layout);
                assert_eq!(wasm.objects.len(), native.objects.len());
                for (w, n) in wasm.objects.iter().zip(&native.objects) {
                    assert_eq!(w.key, n.key);
                    assert!(
                        w.bytes == n.bytes,
                        "{}: the component's bytes differ",
                        w.key
                    );
                }
                objects += native.objects.len();
            }
            println!("verified: {objects} objects of {layout:?} identical through the component and natively");
        }
    }
    // `--against A.wasm,B.wasm`: each round converts the batches with the
    // component, each of these, and natively, in turn, so that the
    // machine's load (noisy here) falls on all of them alike.
    if let Some(against) = value("--against") {
        assert!(!native, "--against compares components: drop --via native");
        assert!(rounds > 0, "--against needs --rounds of at least 1");
        let mut ways: Vec<(String, Option<Converter>)> =
            vec![(component.display().to_string(), converter)];
        for path in against.split(',') {
            ways.push((path.to_string(), Some(load(&PathBuf::from(path)))));
        }
        ways.push(("native".to_string(), None));
        let mut times = vec![Vec::new(); ways.len()];
        for _ in 0..rounds {
            for ((_, converter), times) in ways.iter().zip(&mut times) {
                times.push(convert_round(converter.as_ref(), &batches, layout).as_secs_f64());
            }
        }
        for ((name, _), times) in ways.iter().zip(&mut times) {
            times.sort_by(f64::total_cmp);
            println!(
                "{name}: min {:.3} s, lower quartile {:.3} s, median {:.3} s CPU per round of {:.1} MB",
                times[0],
                times[times.len() / 4],
                times[times.len() / 2],
                bytes as f64 / 1e6
            );
        }
        return;
    }
    for round in 0..rounds {
        let cpu = convert_round(converter.as_ref(), &batches, layout).as_secs_f64();
        println!(
            "round {round}: {cpu:.3} s CPU, {:.1} MB/s ({:.1} MB, {})",
            bytes as f64 / 1e6 / cpu,
            bytes as f64 / 1e6,
            if native { "native" } else { "component" }
        );
    }
}
