//! The plan of a compaction, without I/O: which per-run objects of a
//! partition (a bucket, in the `run-bucket` layout) merge into which
//! compacted object, and the journal that makes an interrupted compaction
//! finish on the next run.
//!
//! One chunk of a partition, in order:
//! 1. write the journal (output key, inputs, each input run's manifest
//!    source as it was when planned);
//! 2. merge the inputs and write the output;
//! 3. point each run's manifest from its input to the output, unless the
//!    run changed since step 1 (a newer version landed): such runs leave
//!    the output instead;
//! 4. delete the inputs of the runs that moved to the output;
//! 5. delete the journal.
//!
//! A reader sees a run twice only between steps 2 and 4 of its chunk.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use summary_lake::catalog::table;
use summary_lake::keys::{parse_object_key, ObjectKey};
use summary_lake::text::hex;
use summary_lake::Kind;

use crate::manifest::{manifest_key, Manifest, SourceVersion};
use crate::step::{json_bytes, read_document, Plan, Precondition, Step};

pub const JOURNAL_FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalInput {
    pub key: String,
    pub run: String,
    /// The run's manifest source when the chunk was planned; `None` if the
    /// run had no manifest (an object replay wrote).
    pub source: Option<SourceVersion>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub format: u32,
    pub kind: String,
    pub table: String,
    pub output: String,
    pub inputs: Vec<JournalInput>,
}

impl Journal {
    pub fn to_json(&self) -> Vec<u8> {
        json_bytes(self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        read_document(
            bytes,
            "journal",
            |j: &Journal| j.format,
            JOURNAL_FORMAT..=JOURNAL_FORMAT,
        )
    }
}

/// `_compaction/<output key without .parquet>.json`.
pub fn journal_key(output: &str) -> String {
    summary_lake::prefixes::journal(output)
}

pub fn journal_prefix(kind: Kind) -> String {
    summary_lake::prefixes::journals(kind)
}

/// The objects among `objects` (key, size) that are not per-run objects,
/// or that their run's manifest (in `manifests`, by run) names as its
/// version's.
pub fn named_objects(
    objects: &[(String, u64)],
    manifests: &BTreeMap<String, Manifest>,
) -> Vec<(String, u64)> {
    objects
        .iter()
        .filter(
            |(key, _)| match parse_object_key(key).and_then(|k| k.run()) {
                Some(run) => manifests
                    .get(run)
                    .is_some_and(|m| m.objects.iter().any(|o| o == key)),
                None => true,
            },
        )
        .cloned()
        .collect()
}

/// Per-run objects of one partition (or bucket) to merge into one output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub table: String,
    pub output: String,
    /// (key, run), sorted by key.
    pub inputs: Vec<(String, String)>,
}

/// How a compaction cuts its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// A partition (or bucket) is compacted once it holds this many
    /// per-run objects.
    pub min_files: usize,
    /// Per-run objects merged into one output at most.
    pub max_files: usize,
    /// Bytes of inputs merged into one output at most (`--target-mb`): the
    /// output is about their size or smaller. A single larger input is
    /// merged alone.
    pub target_bytes: u64,
    /// `(I, N)`: only the partitions (or buckets) of shard `I` of `N`, so
    /// that `N` machines compact one kind together.
    pub shard: (usize, usize),
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            min_files: 2,
            max_files: 1000,
            target_bytes: 128 << 20,
            shard: (0, 1),
        }
    }
}

/// Which shard of `shards` compacts the folder of `key`: buckets and
/// score/pctid partitions are spread by number, unpartitioned tables go
/// to shard 0.
fn shard_of(key: &ObjectKey, shards: usize) -> usize {
    let number = match (key.bucket, key.partition) {
        (Some(bucket), _) => usize::from(bucket.number()),
        (None, Some(p)) => usize::from(p.score) * 101 + usize::from(p.pctid),
        (None, None) => 0,
    };
    number % shards.max(1)
}

/// Chunks of the per-run objects among `objects` (key and size, objects of
/// one kind): every partition (or bucket) of this shard holding at least
/// `min_files` of them, cut into chunks of at most `max_files` objects and
/// `target_bytes` bytes. The output's name is a hash of its inputs' keys.
pub fn plan_chunks(objects: &[(String, u64)], limits: &ChunkLimits) -> Vec<Chunk> {
    let mut groups: BTreeMap<(String, String), Vec<(String, String, u64)>> = BTreeMap::new();
    for (key, size) in objects {
        let Some(parsed) = parse_object_key(key) else {
            continue;
        };
        if table(parsed.kind, parsed.table).is_none()
            || shard_of(&parsed, limits.shard.1) != limits.shard.0
        {
            continue;
        }
        if let Some(run) = parsed.run() {
            groups
                .entry((parsed.folder(), parsed.table.to_string()))
                .or_default()
                .push((key.clone(), run.to_string(), *size));
        }
    }
    let mut chunks = Vec::new();
    for ((folder, table_name), mut inputs) in groups {
        if inputs.len() < limits.min_files.max(1) {
            continue;
        }
        inputs.sort();
        let mut slices: Vec<Vec<(String, String)>> = vec![Vec::new()];
        let mut bytes = 0u64;
        for (key, run, size) in inputs {
            let current = slices.last_mut().expect("one slice at least");
            let full = current.len() >= limits.max_files.max(1)
                || bytes.saturating_add(size) > limits.target_bytes;
            if full && !current.is_empty() {
                slices.push(Vec::new());
                bytes = 0;
            }
            bytes = bytes.saturating_add(size);
            slices.last_mut().expect("just pushed").push((key, run));
        }
        for slice in slices {
            let mut hash = Sha256::new();
            for (key, _) in &slice {
                hash.update(key.as_bytes());
                hash.update([b'\n']);
            }
            let name = format!("compact-{}", hex(&hash.finalize()[..8]));
            chunks.push(Chunk {
                table: table_name.clone(),
                output: format!("{folder}{name}.parquet"),
                inputs: slice,
            });
        }
    }
    chunks
}

/// The manifest with `input` replaced by `output`.
pub fn claim(manifest: &Manifest, input: &str, output: &str) -> Manifest {
    let mut claimed = manifest.clone();
    claimed.objects.retain(|k| k != input && k != output);
    claimed.objects.push(output.to_string());
    claimed.objects.sort();
    claimed
}

/// What a chunk does with one input run's manifest (step 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimDecision {
    /// The manifest already lists the output instead of the input.
    Claimed,
    /// Write this manifest: it lists the output instead of the input.
    Claim(Manifest),
    /// The run changed since the chunk was planned (or has no manifest):
    /// its rows must leave the output.
    Moved,
}

/// Whether `input`'s run moves to `output`, given its manifest now.
pub fn decide_claim(
    manifest: Option<&Manifest>,
    input: &JournalInput,
    output: &str,
) -> ClaimDecision {
    let Some(manifest) = manifest else {
        return ClaimDecision::Moved;
    };
    let holds = |k: &str| manifest.objects.iter().any(|o| o == k);
    if holds(output) && !holds(&input.key) {
        return ClaimDecision::Claimed;
    }
    if Some(&manifest.source) != input.source.as_ref() || !holds(&input.key) || !manifest.complete {
        return ClaimDecision::Moved;
    }
    ClaimDecision::Claim(claim(manifest, &input.key, output))
}

/// Steps 1 and 2 of a chunk: the journal, then the merged output.
pub fn start_chunk(kind: Kind, journal: Journal) -> Plan {
    let merge = merge_step(kind, &journal);
    Plan::new()
        // Created only: a second compaction of the same chunk loses here.
        .then([Step::PutJournal {
            key: journal_key(&journal.output),
            journal,
            expect: Precondition::Absent,
        }])
        .then([merge])
}

/// Step 2: the output merged from the inputs, unless it exists already.
/// The first step of finishing a journal an interrupted compaction left.
pub fn merge_step(kind: Kind, journal: &Journal) -> Step {
    Step::Merge {
        kind,
        table: journal.table.clone(),
        inputs: journal.inputs.iter().map(|i| i.key.clone()).collect(),
        output: journal.output.clone(),
    }
}

/// Step 3: every input run's manifest lists the output instead of its
/// input, unless the run changed.
pub fn claims(journal: &Journal) -> Plan {
    let kind = journal.kind.as_str();
    Plan::new().then(journal.inputs.iter().map(|input| Step::Claim {
        key: manifest_key(kind, &input.run),
        run: input.run.clone(),
        input: input.key.clone(),
        output: journal.output.clone(),
        source: input.source.clone(),
    }))
}

/// Steps 4 and 5, given the runs whose claim held (`claimed`) when an
/// output was written: the runs that moved leave the output, the claimed
/// inputs go, and the journal last. Without an output (nothing to merge)
/// only the journal goes.
pub fn settle(journal: &Journal, output_written: bool, claimed: &BTreeSet<String>) -> Plan {
    let mut plan = Plan::new();
    if output_written {
        let moved: Vec<String> = journal
            .inputs
            .iter()
            .filter(|i| !claimed.contains(&i.run))
            .map(|i| i.run.clone())
            .collect();
        plan = plan
            .then((!moved.is_empty()).then(|| Step::Retire {
                key: journal.output.clone(),
                runs: moved,
            }))
            .then(
                journal
                    .inputs
                    .iter()
                    .filter(|i| claimed.contains(&i.run))
                    .map(|i| Step::DeleteObject { key: i.key.clone() }),
            );
    }
    plan.then([Step::DeleteJournal {
        key: journal_key(&journal.output),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cut_by_bytes_and_spread_over_shards() {
        let objects: Vec<(String, u64)> = [
            ("rdrp/family/bucket=01/SRR101-00aa.parquet", 60),
            ("rdrp/family/bucket=01/SRR201-00bb.parquet", 50),
            ("rdrp/family/bucket=01/SRR301-00cc.parquet", 200),
            ("rdrp/family/bucket=01/SRR401-00dd.parquet", 10),
            ("rdrp/family/bucket=01/backfill-0011.parquet", 10),
            ("rdrp/family/bucket=02/SRR102.parquet", 10),
            ("rdrp/family/bucket=02/SRR202.parquet", 10),
        ]
        .map(|(key, size)| (key.to_string(), size))
        .to_vec();
        let limits = ChunkLimits {
            target_bytes: 100,
            ..ChunkLimits::default()
        };
        let chunks = plan_chunks(&objects, &limits);
        let runs: Vec<Vec<&str>> = chunks
            .iter()
            .map(|c| c.inputs.iter().map(|(_, run)| run.as_str()).collect())
            .collect();
        // 60 + 50 > 100; a 200-byte object alone; then the rest.
        assert_eq!(
            runs,
            [
                vec!["SRR101"],
                vec!["SRR201"],
                vec!["SRR301"],
                vec!["SRR401"],
                vec!["SRR102", "SRR202"]
            ]
        );
        assert!(chunks[0]
            .output
            .starts_with("rdrp/family/bucket=01/compact-"));
        assert!(chunks[4]
            .output
            .starts_with("rdrp/family/bucket=02/compact-"));
        let shard = |i| {
            plan_chunks(
                &objects,
                &ChunkLimits {
                    shard: (i, 2),
                    ..limits
                },
            )
            .into_iter()
            .map(|c| c.output)
            .collect::<Vec<_>>()
        };
        let (odd, even) = (shard(1), shard(0));
        assert_eq!((odd.len(), even.len()), (4, 1));
        assert!(even[0].contains("bucket=02/"));
    }

    #[test]
    fn partitions_with_enough_per_run_objects_are_chunked() {
        let keys: Vec<(String, u64)> = [
            "nucleotide/family/score=1/pctid=2/SRR3.parquet",
            "nucleotide/family/score=1/pctid=2/SRR1.parquet",
            "nucleotide/family/score=1/pctid=2/SRR2.parquet",
            "nucleotide/family/score=1/pctid=2/backfill-00.parquet",
            "nucleotide/family/score=9/pctid=9/SRR1.parquet",
            "nucleotide/sra/SRR1.parquet",
            "nucleotide/sra/SRR2.parquet",
        ]
        .map(|key| (key.to_string(), 10))
        .to_vec();
        let limits = |min_files, max_files| ChunkLimits {
            min_files,
            max_files,
            ..ChunkLimits::default()
        };
        let chunks = plan_chunks(&keys, &limits(2, 2));
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].inputs[0].1, "SRR1");
        assert_eq!(chunks[0].inputs.len(), 2);
        assert_eq!(
            chunks[1].inputs,
            [(
                "nucleotide/family/score=1/pctid=2/SRR3.parquet".to_string(),
                "SRR3".to_string()
            )]
        );
        assert!(chunks[0]
            .output
            .starts_with("nucleotide/family/score=1/pctid=2/compact-"));
        assert!(chunks[2].output.starts_with("nucleotide/sra/compact-"));
        assert_eq!(chunks, plan_chunks(&keys, &limits(2, 2)), "deterministic");
        assert_eq!(plan_chunks(&keys, &limits(3, 100)).len(), 1);
        let journal = journal_key(&chunks[2].output);
        assert!(
            journal.starts_with("_compaction/nucleotide/sra/compact-")
                && journal.ends_with(".json")
        );
    }
}
