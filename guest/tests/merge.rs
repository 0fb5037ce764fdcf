//! Merging lake objects: compaction's merge and a run leaving a shared object.

use std::path::Path;

#[path = "support/read.rs"]
mod read;
use read::column;

use parquet::file::reader::{FileReader, SerializedFileReader};
use summary_guest::{batch_name, convert_batch, merge, Kind, SummaryInput};
use summary_lake::catalog::table;

fn rdrp(run_file: &str) -> (String, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/summaries/rdrp")
        .join(run_file);
    (run_file.to_string(), std::fs::read(path).unwrap())
}

/// The sequence-table objects of each file converted alone, and of all together.
fn objects(files: &[&str]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let inputs: Vec<(String, Vec<u8>)> = files.iter().map(|f| rdrp(f)).collect();
    let summaries = |inputs: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
        let inputs: Vec<SummaryInput> = inputs
            .iter()
            .map(|(source, bytes)| SummaryInput {
                kind: Kind::Rdrp,
                source,
                bytes,
            })
            .collect();
        let name = batch_name(&inputs);
        let batch = convert_batch(&inputs, summary_guest::Layout::ScorePctid, &name).unwrap();
        batch
            .objects
            .into_iter()
            .map(|o| (o.key, o.bytes))
            .collect()
    };
    let sra = |objects: Vec<(String, Vec<u8>)>| {
        objects
            .into_iter()
            .find(|(k, _)| k.starts_with("rdrp/sra/"))
            .unwrap()
            .1
    };
    let alone = inputs
        .iter()
        .map(|input| sra(summaries(std::slice::from_ref(input))))
        .collect();
    (alone, sra(summaries(&inputs)))
}

#[test]
fn merging_per_run_objects_gives_the_batch_object_byte_for_byte() {
    let files = [
        "SRR1744881.rsummary.psummary",
        "DRR13913260.rsummary.psummary",
        "ERR6701610.rsummary.psummary",
    ];
    let (alone, together) = objects(&files);
    let sra = table(Kind::Rdrp, "sra").unwrap();
    let merged = merge(sra, &alone, &[]).unwrap().unwrap();
    assert_eq!(merged.rows, 3);
    assert_eq!(merged.runs, ["DRR13913260", "ERR6701610", "SRR1744881"]);
    assert_eq!(
        merged.bytes, together,
        "the same rows, order and encoding as one batch"
    );
    let reader = SerializedFileReader::new(bytes::Bytes::from(merged.bytes.clone())).unwrap();
    assert_eq!(
        reader.metadata().num_row_groups(),
        1,
        "small runs share a row group (groups are cut by size at run boundaries)"
    );
}

#[test]
fn a_run_leaves_a_shared_object_and_the_last_one_empties_it() {
    let files = [
        "SRR1744881.rsummary.psummary",
        "DRR13913260.rsummary.psummary",
    ];
    let (_, together) = objects(&files);
    let sra = table(Kind::Rdrp, "sra").unwrap();
    let left = merge(
        sra,
        std::slice::from_ref(&together),
        &["DRR13913260".to_string()],
    )
    .unwrap()
    .unwrap();
    assert_eq!(column(&left.bytes, "sra"), ["SRR1744881"]);
    assert_eq!(left.runs, ["SRR1744881"]);
    let unchanged = merge(sra, std::slice::from_ref(&together), &["SRR1".to_string()])
        .unwrap()
        .unwrap();
    assert_eq!(
        unchanged.bytes, together,
        "dropping a run that is not there rewrites nothing"
    );
    let none = merge(sra, &[left.bytes], &["SRR1744881".to_string()]).unwrap();
    assert_eq!(none, None);
}

#[test]
fn objects_that_are_not_of_the_table_are_errors() {
    let (_, together) = objects(&["SRR1744881.rsummary.psummary"]);
    let family = table(Kind::Rdrp, "family").unwrap();
    let error = merge(family, &[together], &[]).unwrap_err();
    assert!(error.starts_with("rfamily part 0: "), "{error}");
    let error = merge(family, &[b"not parquet".to_vec()], &[]).unwrap_err();
    assert!(error.starts_with("rfamily part 0: "), "{error}");
}
