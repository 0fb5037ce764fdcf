//! Where conversion time goes: parse vs encode, per kind, on a generated corpus.
//! `cargo run --release -p summary-guest --example speed [FILES]`
//! (`SMALL_OBJECTS=N`: small objects to encode, 20,000 by default;
//! `SMALL_OBJECT_WRITER=parquet-rs`: encode them with parquet-rs' writer,
//! the small-file writer's reference, for before/after figures).
use std::time::Instant;

fn main() {
    let files: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let corpus: Vec<_> = (0..files).map(|i| summary_corpus::generate(1, i)).collect();
    // One small object: five rows of a nucleotide family table.
    let file = corpus
        .iter()
        .find(|f| f.kind == summary_guest::Kind::Nucleotide && f.bytes.len() > 5000)
        .unwrap();
    let parsed = summary_guest::parse_summary(file.kind, &file.bytes).unwrap();
    let family = &parsed.tables[1];
    let rows: Vec<_> = (0..5.min(family.len())).map(|i| family.row(i)).collect();
    let mut encoder = summary_guest::encode::Encoder::default();
    let started = Instant::now();
    let iterations: u32 = std::env::var("SMALL_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let reference = std::env::var("SMALL_OBJECT_WRITER").as_deref() == Ok("parquet-rs");
    for _ in 0..iterations {
        let object = match reference {
            true => encoder.encode_with_parquet_rs(family.table, &rows),
            false => encoder.encode(family.table, &rows),
        };
        std::hint::black_box(object.unwrap());
    }
    println!(
        "small object ({} rows): {:.1} µs",
        rows.len(),
        started.elapsed().as_secs_f64() * 1e6 / iterations as f64
    );
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
        let batch = summary_guest::convert_batch(
            &inputs,
            summary_guest::Layout::ScorePctid,
            &summary_guest::batch_name(&inputs),
        )
        .unwrap();
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
