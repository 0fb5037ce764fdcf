//! Parsing alone, natively, on `gen-corpus --seed 1 --files 1000` (row 6
//! of bench/RESULTS.md, on its own, for a profiler):
//!
//! ```sh
//! cargo run --release -p summary-guest --example parse_speed
//! valgrind --tool=callgrind --toggle-collect='*parse_summary*' \
//!     $CARGO_TARGET_DIR/release/examples/parse_speed   # the parser's instructions only
//! ```
//!
//! `PARSE_SPEED_FILES` and `PARSE_SPEED_ROUNDS` (1,000 and 5) change the
//! corpus and the rounds.
use std::time::Instant;

fn main() {
    let files: u64 = std::env::var("PARSE_SPEED_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rounds: u32 = std::env::var("PARSE_SPEED_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let corpus: Vec<_> = (0..files).map(|i| summary_corpus::generate(1, i)).collect();
    let bytes: usize = corpus.iter().map(|f| f.bytes.len()).sum();
    let mut speeds = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        for file in &corpus {
            std::hint::black_box(summary_guest::parse_summary(file.kind, &file.bytes).unwrap());
        }
        speeds.push(bytes as f64 / 1e6 / started.elapsed().as_secs_f64());
    }
    speeds.sort_by(f64::total_cmp);
    println!(
        "parse {:.1} MB: median {:.0} MB/s of {:?}",
        bytes as f64 / 1e6,
        speeds[speeds.len() / 2],
        speeds.iter().map(|s| s.round()).collect::<Vec<_>>()
    );
}
