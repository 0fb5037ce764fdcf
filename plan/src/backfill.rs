//! The plan of a backfill, without I/O: the run index, its deterministic
//! batches and their names, shard selection, checkpoint keys, and which
//! objects the runs of a batch leave.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use summary_lake::keys::{is_run_accession, parse_object_key};
use summary_lake::text::hex;
use summary_lake::{Bucket, Kind, Layout};

use crate::manifest::Manifest;

/// A line of the index that names no run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexProblem {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// The runs of an index, one run id per line (blank lines and `#`
/// comments skipped), each once, in index order.
pub fn parse_index(text: &str) -> (Vec<String>, Vec<IndexProblem>) {
    let mut runs = Vec::new();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let run = line.trim();
        if run.is_empty() || run.starts_with('#') {
            continue;
        }
        if !is_run_accession(run) {
            problems.push(IndexProblem {
                line: index + 1,
                message: format!(
                    "{run:?} is not an SRA run accession (SRR, ERR or DRR and digits)"
                ),
            });
        } else if seen.insert(run.to_string()) {
            runs.push(run.to_string());
        }
    }
    (runs, problems)
}

/// One slice of the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackfillBatch {
    /// Position among all batches of the index (before sharding).
    pub index: usize,
    /// `backfill-<16 hex>`, a hash of the kind and the slice's runs: the
    /// name of every object the batch writes, so a re-run writes the same keys.
    pub name: String,
    pub runs: Vec<String>,
}

/// The batches of `runs` (slices of `batch_runs`) that shard `shard` of
/// `shards` works on: every `shards`-th batch from the `shard`-th. In the
/// `run-bucket` layout the runs are grouped by bucket first (in index
/// order within a bucket), so that each batch lies in one bucket and
/// writes one object per table.
pub fn plan_batches(
    kind: Kind,
    layout: Layout,
    runs: &[String],
    batch_runs: usize,
    shard: usize,
    shards: usize,
) -> Vec<BackfillBatch> {
    let groups: Vec<Vec<String>> = match layout {
        Layout::ScorePctid => vec![runs.to_vec()],
        Layout::RunBucket => {
            let mut by_bucket: BTreeMap<Option<Bucket>, Vec<String>> = BTreeMap::new();
            for run in runs {
                by_bucket
                    .entry(Bucket::of_run(run))
                    .or_default()
                    .push(run.clone());
            }
            by_bucket.into_values().collect()
        }
    };
    groups
        .iter()
        .flat_map(|group| group.chunks(batch_runs.max(1)))
        .enumerate()
        .filter(|(index, _)| index % shards.max(1) == shard)
        .map(|(index, slice)| BackfillBatch {
            index,
            name: batch_name(kind, slice),
            runs: slice.to_vec(),
        })
        .collect()
}

pub fn batch_name(kind: Kind, runs: &[String]) -> String {
    let mut hash = Sha256::new();
    hash.update(kind.as_str());
    for run in runs {
        hash.update([b'\n']);
        hash.update(run.as_bytes());
    }
    format!("backfill-{}", hex(&hash.finalize()[..8]))
}

/// `_backfill/<kind>/<batch>.json`: written once a batch is done, so a
/// re-run (or another shard) skips it.
pub fn checkpoint_key(kind: Kind, batch: &str) -> String {
    summary_lake::prefixes::checkpoint(kind, batch)
}

pub fn checkpoint_prefix(kind: Kind) -> String {
    summary_lake::prefixes::checkpoints(kind)
}

/// The batch name of a checkpoint key.
pub fn batch_of_checkpoint(key: &str) -> Option<&str> {
    summary_lake::prefixes::name_of(key)
}

/// Parse `I/N` (0 <= I < N).
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => Err(format!("{text:?} is not a shard I/N with 0 <= I < N")),
    }
}

/// Which runs leave which objects when a batch lands: an object a run's
/// manifest lists and the run no longer uses (its new objects are
/// `new_keys`, empty for a run that failed), except the batch's own new
/// objects, which are written whole. Keys of objects, each with the runs
/// that leave it.
pub fn departures<'m>(
    runs: impl IntoIterator<Item = (&'m Manifest, &'m [String])>,
    batch_keys: &BTreeSet<String>,
) -> BTreeMap<String, Vec<String>> {
    let mut leaving: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (manifest, new_keys) in runs {
        for old in &manifest.all_objects() {
            if !new_keys.contains(old)
                && !batch_keys.contains(old)
                && parse_object_key(old).is_some()
            {
                leaving
                    .entry(old.clone())
                    .or_default()
                    .push(manifest.run.clone());
            }
        }
    }
    leaving
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{change_version, SourceVersion};

    #[test]
    fn the_index_is_read_line_by_line() {
        let (runs, problems) = parse_index("SRR1\n\n# comment\n ERR2 \nSRR1\nnot-a-run\nDRR3\r\n");
        assert_eq!(runs, ["SRR1", "ERR2", "DRR3"]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 6);
        assert!(
            problems[0].message.contains("\"not-a-run\""),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn batches_are_deterministic_slices_and_shards_partition_them() {
        let runs: Vec<String> = (0..10).map(|i| format!("SRR{i}")).collect();
        let all = plan_batches(Kind::Nucleotide, Layout::ScorePctid, &runs, 3, 0, 1);
        assert_eq!(all.len(), 4);
        assert_eq!(all[3].runs, ["SRR9"]);
        assert_eq!(
            all,
            plan_batches(Kind::Nucleotide, Layout::ScorePctid, &runs, 3, 0, 1)
        );
        assert_ne!(
            all[0].name,
            plan_batches(Kind::Protein, Layout::ScorePctid, &runs, 3, 0, 1)[0].name
        );
        assert!(all[0].name.starts_with("backfill-") && all[0].name.len() == 25);
        let mut sharded: Vec<BackfillBatch> = (0..3)
            .flat_map(|i| plan_batches(Kind::Nucleotide, Layout::ScorePctid, &runs, 3, i, 3))
            .collect();
        sharded.sort_by_key(|b| b.index);
        assert_eq!(sharded, all);
        assert_eq!(parse_shard("1/3"), Ok((1, 3)));
        for bad in ["3/3", "1", "a/b", "0/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let key = checkpoint_key(Kind::Rdrp, &all[0].name);
        assert_eq!(batch_of_checkpoint(&key), Some(all[0].name.as_str()));
    }

    #[test]
    fn run_bucket_batches_each_lie_in_one_bucket() {
        let runs: Vec<String> = ["SRR101", "SRR201", "SRR102", "SRR301", "SRR7", "SRR401"]
            .map(String::from)
            .to_vec();
        let batches = plan_batches(Kind::Rdrp, Layout::RunBucket, &runs, 2, 0, 1);
        let slices: Vec<&[String]> = batches.iter().map(|b| b.runs.as_slice()).collect();
        assert_eq!(
            slices,
            [
                &["SRR7".to_string()][..],
                &["SRR101".into(), "SRR201".into()],
                &["SRR301".into(), "SRR401".into()],
                &["SRR102".into()],
            ]
        );
        assert_eq!(
            batches.iter().map(|b| b.index).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn runs_leave_the_objects_they_no_longer_use() {
        let source = SourceVersion {
            bucket: "b".into(),
            key: "k".into(),
            etag: None,
            version_id: None,
            sequencer: None,
        };
        let m1 = change_version(
            None,
            "nucleotide",
            "SRR1",
            source.clone(),
            &[
                "nucleotide/sra/SRR1.parquet".into(),
                "nucleotide/family/score=1/pctid=1/backfill-old.parquet".into(),
                "nucleotide/sra/backfill-new.parquet".into(),
            ],
        )
        .final_manifest;
        let m2 = change_version(
            None,
            "nucleotide",
            "SRR2",
            source,
            &["nucleotide/family/score=1/pctid=1/backfill-old.parquet".into()],
        )
        .final_manifest;
        let batch: BTreeSet<String> = ["nucleotide/sra/backfill-new.parquet".to_string()].into();
        let new1 = vec!["nucleotide/sra/backfill-new.parquet".to_string()];
        let leaving = departures([(&m1, new1.as_slice()), (&m2, &[][..])], &batch);
        assert_eq!(leaving.len(), 2);
        assert_eq!(leaving["nucleotide/sra/SRR1.parquet"], ["SRR1"]);
        assert_eq!(
            leaving["nucleotide/family/score=1/pctid=1/backfill-old.parquet"],
            ["SRR1", "SRR2"]
        );
    }
}
