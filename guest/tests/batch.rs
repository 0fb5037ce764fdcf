//! Batches: object layout, naming, ordering and isolation of bad inputs.

use std::path::Path;

#[path = "support/read.rs"]
mod read;
use read::column;

use parquet::file::reader::{FileReader, SerializedFileReader};
use summary_guest::{batch_name, convert_batch, Batch, Kind, Layout, Outcome, SummaryInput};

/// What a host does: names the batch (natively), then converts it.
fn convert(inputs: &[SummaryInput], layout: Layout) -> Result<Batch, String> {
    convert_batch(inputs, layout, &batch_name(inputs))
}

fn fixture(rel: &str) -> (String, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/summaries")
        .join(rel);
    (rel.to_string(), std::fs::read(path).unwrap())
}

#[test]
fn batch_of_one_writes_run_named_objects() {
    let (source, bytes) = fixture("protein/DRR1017695.psummary");
    let batch = convert(
        &[SummaryInput {
            kind: Kind::Protein,
            source: &source,
            bytes: &bytes,
        }],
        summary_guest::Layout::ScorePctid,
    )
    .unwrap();
    let keys: Vec<&str> = batch.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "protein/family/score=3/pctid=62/DRR1017695.parquet",
            "protein/protein/score=3/pctid=62/DRR1017695.parquet",
            "protein/sequence/score=2/pctid=61/DRR1017695.parquet",
            "protein/sequence/score=2/pctid=63/DRR1017695.parquet",
            "protein/sra/DRR1017695.parquet",
        ]
    );
    assert_eq!(batch.objects.iter().map(|o| o.rows).sum::<u64>(), 5);
    let Outcome::Converted { run, tables } = &batch.outcomes[0] else {
        panic!("{:?}", batch.outcomes[0])
    };
    assert_eq!(run, "DRR1017695");
    let counts: Vec<(&str, u64)> = tables.iter().map(|t| (t.table, t.rows)).collect();
    assert_eq!(
        counts,
        [("sra", 1), ("family", 1), ("protein", 1), ("sequence", 2)]
    );
}

#[test]
fn batches_sort_by_run_and_isolate_bad_inputs() {
    // given out of run order, with a corrupt summary in the middle
    let files = [
        "protein/SRR902120.psummary",
        "protein/DRR1017695.psummary",
        "protein/ERR10937401.psummary",
    ];
    let loaded: Vec<(String, Vec<u8>)> = files.iter().map(|f| fixture(f)).collect();
    let corrupt = b"sra=SRR5;SUMZER_COMMENT=sra=SRR5,genome=g,date=d,type=protein;totalalns=x;readlength=1;truncated=no;\n".to_vec();
    let mut inputs: Vec<SummaryInput> = loaded
        .iter()
        .map(|(s, b)| SummaryInput {
            kind: Kind::Protein,
            source: s,
            bytes: b,
        })
        .collect();
    inputs.insert(
        1,
        SummaryInput {
            kind: Kind::Protein,
            source: "bad/SRR5.psummary",
            bytes: &corrupt,
        },
    );
    let batch = convert(&inputs, summary_guest::Layout::ScorePctid).unwrap();

    assert_eq!(batch.outcomes.len(), 4);
    let Outcome::Failed(e) = &batch.outcomes[1] else {
        panic!("{:?}", batch.outcomes[1])
    };
    assert_eq!((e.line, e.field.as_str()), (1, "totalalns"));
    let sra = batch
        .objects
        .iter()
        .find(|o| o.key.starts_with("protein/sra/"))
        .unwrap();
    assert!(
        sra.key.starts_with("protein/sra/batch-")
            && sra.key.len() == "protein/sra/batch-".len() + 16 + 8,
        "{}",
        sra.key
    );
    assert_eq!(
        column(&sra.bytes, "sra"),
        ["DRR1017695", "ERR10937401", "SRR902120"]
    );
    assert!(batch
        .objects
        .iter()
        .all(|o| !column(&o.bytes, "sra").contains(&"SRR5".to_string())));
    // one object per table and partition: keys are unique and sorted
    let keys: Vec<&String> = batch.objects.iter().map(|o| &o.key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted);

    // the same inputs give the same bytes; a changed input changes the name
    assert_eq!(
        convert(&inputs, summary_guest::Layout::ScorePctid).unwrap(),
        batch
    );
    inputs.remove(1);
    let other = convert(&inputs, summary_guest::Layout::ScorePctid).unwrap();
    assert_ne!(other.objects[0].key, batch.objects[0].key);
}

#[test]
fn small_objects_are_plain_and_larger_ones_snappy_with_dictionaries_all_with_statistics() {
    let (source, bytes) = fixture("nucleotide/DRR11074882.summary");
    let batch = convert(
        &[SummaryInput {
            kind: Kind::Nucleotide,
            source: &source,
            bytes: &bytes,
        }],
        summary_guest::Layout::ScorePctid,
    )
    .unwrap();
    let family = batch
        .objects
        .iter()
        .find(|o| o.key == "nucleotide/family/score=100/pctid=92/DRR11074882.parquet")
        .unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(&family.bytes)).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 3);
    let columns = meta.row_group(0).columns();
    let names: Vec<&str> = columns
        .iter()
        .map(|c| c.column_path().string().leak() as &str)
        .collect();
    assert_eq!(
        names,
        [
            "sra", "fam", "famcvg", "depth", "aln", "glb", "len", "panlen", "top", "topscore",
            "toplen", "topname"
        ]
    );
    for c in columns {
        assert_eq!(c.compression(), parquet::basic::Compression::UNCOMPRESSED);
        assert!(
            c.statistics()
                .is_some_and(|s| s.null_count_opt() == Some(3) || s.min_bytes_opt().is_some()),
            "{} has min/max statistics (or holds nulls only)",
            c.column_path()
        );
    }
    assert!(
        columns[1].dictionary_page_offset().is_none(),
        "3 rows: plain"
    );
    assert_eq!(
        column(&family.bytes, "fam"),
        ["Deltavirus", "Paramyxoviridae", "Hepadnaviridae"]
    );

    // The run's 140 sequences in one object: snappy, dictionaries for text.
    let parsed = summary_guest::parse_summary(Kind::Nucleotide, &bytes).unwrap();
    let sequences = &parsed.tables[2];
    assert!(sequences.len() >= summary_guest::encode::COMPACT_ROWS);
    let rows: Vec<_> = (0..sequences.len()).map(|i| sequences.row(i)).collect();
    let encoded = summary_guest::encode::encode(sequences.table, &rows).unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(encoded.clone())).unwrap();
    let columns = reader.metadata().row_group(0).columns();
    for c in columns {
        assert_eq!(c.compression(), parquet::basic::Compression::SNAPPY);
        assert!(c.statistics().is_some(), "{}", c.column_path());
    }
    assert!(
        columns[1].dictionary_page_offset().is_some(),
        "text is dictionary encoded"
    );
    assert_eq!(column(&encoded, "sra").len(), sequences.len());
}

/// Long names: min/max statistics keep a prefix of them.
#[test]
fn long_string_statistics_are_cut_to_a_prefix() {
    let (source, bytes) = fixture("nucleotide/DRR11074882.summary");
    let batch = convert(
        &[SummaryInput {
            kind: Kind::Nucleotide,
            source: &source,
            bytes: &bytes,
        }],
        summary_guest::Layout::ScorePctid,
    )
    .unwrap();
    let mut longest = 0;
    for object in &batch.objects {
        let reader =
            SerializedFileReader::new(bytes::Bytes::copy_from_slice(&object.bytes)).unwrap();
        for group in reader.metadata().row_groups() {
            for c in group.columns() {
                if let Some(s) = c.statistics() {
                    for v in [s.min_bytes_opt(), s.max_bytes_opt()].into_iter().flatten() {
                        longest = longest.max(v.len());
                    }
                }
            }
        }
    }
    assert!(
        longest <= summary_guest::encode::STATISTICS_PREFIX,
        "{longest} bytes"
    );
}

#[test]
fn a_second_summary_of_a_run_in_the_batch_fails_naming_both_files() {
    // SRR1000008.summary whose header names SRR612821, beside SRR612821.summary
    let (first, bytes) = fixture("nucleotide/SRR612821.summary");
    let alone = convert(
        &[SummaryInput {
            kind: Kind::Nucleotide,
            source: &first,
            bytes: &bytes,
        }],
        summary_guest::Layout::ScorePctid,
    )
    .unwrap();
    let copy = "in/SRR1000008.summary";
    let inputs = [
        SummaryInput {
            kind: Kind::Nucleotide,
            source: copy,
            bytes: &bytes,
        },
        SummaryInput {
            kind: Kind::Nucleotide,
            source: &first,
            bytes: &bytes,
        },
    ];
    // The file named after the run is kept, though it comes second.
    let batch = convert(&inputs, summary_guest::Layout::ScorePctid).unwrap();
    assert!(
        matches!(&batch.outcomes[1], Outcome::Converted { run, .. } if run == "SRR612821"),
        "{:?}",
        batch.outcomes[1]
    );
    let Outcome::Failed(error) = &batch.outcomes[0] else {
        panic!("{:?}", batch.outcomes[0])
    };
    assert_eq!(
        error.render(copy),
        "in/SRR1000008.summary:1: field 'SUMZER_COMMENT': run \"SRR612821\" is already in this batch, from \"nucleotide/SRR612821.summary\""
    );
    // The run's rows once: as many as the summary converted alone.
    let rows = |b: &summary_guest::Batch| b.objects.iter().map(|o| o.rows).sum::<u64>();
    assert_eq!(rows(&batch), rows(&alone));
    let sequences = |b: &summary_guest::Batch| {
        b.objects
            .iter()
            .filter(|o| o.table == "sequence")
            .map(|o| o.rows)
            .sum::<u64>()
    };
    assert_eq!((sequences(&alone), sequences(&batch)), (140, 140));
}

#[test]
fn run_bucket_batches_write_one_object_per_table_and_bucket_with_score_and_pctid_inside() {
    let files = [
        "protein/DRR1017695.psummary",
        "protein/SRR902120.psummary",
        "protein/ERR10937401.psummary",
    ];
    let loaded: Vec<(String, Vec<u8>)> = files.iter().map(|f| fixture(f)).collect();
    let inputs: Vec<SummaryInput> = loaded
        .iter()
        .map(|(source, bytes)| SummaryInput {
            kind: Kind::Protein,
            source,
            bytes,
        })
        .collect();
    let bucketed = convert(&inputs[..1], summary_guest::Layout::RunBucket).unwrap();
    let keys: Vec<&str> = bucketed.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "protein/family/bucket=95/DRR1017695.parquet",
            "protein/protein/bucket=95/DRR1017695.parquet",
            "protein/sequence/bucket=95/DRR1017695.parquet",
            "protein/sra/bucket=95/DRR1017695.parquet",
        ]
    );
    assert!(bucketed.objects.iter().all(|o| o.partition.is_none()));
    let sequence = &bucketed.objects[2];
    assert_eq!(sequence.rows, 2);
    assert_eq!(column(&sequence.bytes, "score"), ["2", "2"]);
    assert_eq!(column(&sequence.bytes, "pctid"), ["61", "63"]);
    let reader = SerializedFileReader::new(bytes::Bytes::from(sequence.bytes.clone())).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let score = schema
        .columns()
        .iter()
        .find(|c| c.name() == "score")
        .unwrap();
    assert_eq!(score.physical_type(), parquet::basic::Type::INT32);

    // A batch of three runs in three buckets: an object per table and bucket,
    // the same rows as the score/pctid layout's objects.
    let batch = convert(&inputs, summary_guest::Layout::RunBucket).unwrap();
    let old = convert(&inputs, summary_guest::Layout::ScorePctid).unwrap();
    let rows = |b: &summary_guest::Batch| b.objects.iter().map(|o| o.rows).sum::<u64>();
    assert_eq!(rows(&batch), rows(&old));
    let buckets: std::collections::BTreeSet<&str> = batch
        .objects
        .iter()
        .map(|o| o.key.split('/').nth(2).unwrap())
        .collect();
    assert_eq!(
        buckets.into_iter().collect::<Vec<_>>(),
        ["bucket=01", "bucket=20", "bucket=95"]
    );
    assert!(batch.objects.iter().all(|o| o.runs.len() == 1));
}

#[test]
fn the_run_bucket_layout_refuses_a_run_without_two_digits() {
    let summary = b"sra=SRR7;SUMZER_COMMENT=sra=SRR7,genome=g,date=d,type=protein;totalalns=1;readlength=1;truncated=no;\n";
    let input = SummaryInput {
        kind: Kind::Protein,
        source: "protein/SRR7.psummary",
        bytes: summary,
    };
    let old = convert(
        std::slice::from_ref(&input),
        summary_guest::Layout::ScorePctid,
    )
    .unwrap();
    assert!(
        matches!(old.outcomes[0], Outcome::Converted { .. }),
        "{:?}",
        old.outcomes[0]
    );
    let batch = convert(&[input], summary_guest::Layout::RunBucket).unwrap();
    let Outcome::Failed(error) = &batch.outcomes[0] else {
        panic!("{:?}", batch.outcomes[0])
    };
    assert_eq!(
        error.to_string(),
        "1: field 'SUMZER_COMMENT': run \"SRR7\" has fewer than two digits: the run-bucket layout files a run under its last two"
    );
    assert!(batch.objects.is_empty());
}
