//! What the lookup aids the lake does not write would cost: the bytes of
//! the batch objects of `gen-corpus --distribution serratus` (batches of RUNS
//! runs per kind) as written, with a page index, with a bloom filter on sra.
//! `cargo run --release -p summary-guest --example lookup_aids [RUNS]`
use summary_guest::encode::{Encoder, LookupAids};
use summary_guest::{parse_summary, Kind};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let mut batches: Vec<Vec<summary_corpus::GeneratedSummary>> =
        vec![Vec::new(), Vec::new(), Vec::new()];
    let mut index = 0;
    while batches.iter().any(|b| b.len() < runs) {
        let s = summary_corpus::generate_with(summary_corpus::Profile::Serratus, 11, index);
        index += 1;
        let slot = Kind::ALL.iter().position(|k| *k == s.kind).unwrap();
        if batches[slot].len() < runs {
            batches[slot].push(s);
        }
    }
    let variants = [
        ("as written", LookupAids::default()),
        (
            "+ page index",
            LookupAids {
                page_index: true,
                sra_bloom_filter: false,
            },
        ),
        (
            "+ sra bloom filter",
            LookupAids {
                page_index: false,
                sra_bloom_filter: true,
            },
        ),
    ];
    for (label, aids) in variants {
        let mut encoder = Encoder::with_lookup_aids(aids);
        let (mut bytes, mut objects, mut groups) = (0usize, 0usize, 0usize);
        for batch in &batches {
            let mut parsed: Vec<_> = batch
                .iter()
                .map(|s| parse_summary(s.kind, &s.bytes).unwrap())
                .collect();
            parsed.sort_by_key(|p| p.run);
            let tables = parsed[0].tables.len();
            for t in 0..tables {
                let mut by_partition: std::collections::BTreeMap<_, Vec<_>> = Default::default();
                for p in &parsed {
                    let rows = &p.tables[t];
                    for (i, partition) in rows.partitions.iter().enumerate() {
                        by_partition
                            .entry(*partition)
                            .or_default()
                            .push(rows.row(i));
                    }
                }
                for rows in by_partition.values() {
                    let out = encoder.encode(parsed[0].tables[t].table, rows).unwrap();
                    let reader = parquet::file::reader::SerializedFileReader::new(
                        bytes::Bytes::from(out.clone()),
                    )
                    .unwrap();
                    groups += parquet::file::reader::FileReader::metadata(&reader).num_row_groups();
                    bytes += out.len();
                    objects += 1;
                }
            }
        }
        println!("{label}: {objects} objects, {groups} row groups, {bytes} bytes");
    }
}
