//! Where conversion time goes: parse vs encode, per kind, on a generated corpus.
//! `cargo run --release -p summary-guest --example speed [FILES]`
use std::time::Instant;

fn main() {
    let files: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let corpus: Vec<_> = (0..files).map(|i| summary_corpus::generate(1, i)).collect();
    for kind in summary_guest::Kind::ALL {
        let inputs: Vec<summary_guest::SummaryInput> = corpus
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| summary_guest::SummaryInput {
                kind: f.kind,
                source: &f.file_name,
                bytes: &f.bytes,
            })
            .collect();
        let bytes: usize = inputs.iter().map(|i| i.bytes.len()).sum();
        let started = Instant::now();
        for input in &inputs {
            summary_guest::parse_summary(input.kind, input.bytes).unwrap();
        }
        let parse = started.elapsed();
        let started = Instant::now();
        let batch = summary_guest::convert_batch(&inputs).unwrap();
        let convert = started.elapsed();
        let objects = batch.objects.len();
        println!(
            "{kind}: {:.1} MB, parse {:.0} MB/s, convert {:.1} MB/s, {objects} objects, {:.1} µs per object",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / parse.as_secs_f64(),
            bytes as f64 / 1e6 / convert.as_secs_f64(),
            (convert - parse).as_secs_f64() * 1e6 / objects as f64
        );
    }
}
