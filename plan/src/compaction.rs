//! The plan of a compaction, without I/O: which small objects of a
//! partition (a bucket, in the `run-bucket` layout) merge into which
//! compacted object, and the journal that makes an interrupted compaction
//! finish on the next run. Small objects are per-run objects, and shared
//! ones (backfill and replay batch objects, earlier outputs) under half
//! the target size, so that repeated compactions converge on few objects
//! near the target instead of growing a tail of small outputs.
//!
//! One chunk of a partition, in order:
//! 1. write the journal (output key, inputs, each input run's manifest
//!    source as it was when planned);
//! 2. merge the inputs and write the output;
//! 3. point each run's manifest from its input to the output, unless the
//!    run changed since step 1 (a newer version landed): such runs leave
//!    the output instead;
//! 4. the runs that moved to the output leave their inputs: a per-run
//!    input, or a shared one all of whose runs moved, is deleted; a shared
//!    one some of whose runs stayed is rewritten without the others;
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

/// 2: an input key may repeat, once per run of a shared input. A release
/// that read only format 1 would merge such an input once per run.
pub const JOURNAL_FORMAT: u32 = 2;

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
        read_document(bytes, "journal", |j: &Journal| j.format, 1..=JOURNAL_FORMAT)
    }
}

/// `_compaction/<output key without .parquet>.json`.
pub fn journal_key(output: &str) -> String {
    summary_lake::prefixes::journal(output)
}

pub fn journal_prefix(kind: Kind) -> String {
    summary_lake::prefixes::journals(kind)
}

/// An object a compaction may merge, with the runs whose rows it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mergeable {
    pub key: String,
    pub size: u64,
    /// One run for a per-run object; the runs of a shared one, sorted.
    pub runs: Vec<String>,
}

/// Whether `key` is a shared object (batch object or earlier output) small
/// enough to merge again: under half the target, so that an output near
/// the target is left alone.
fn is_small_shared(key: &ObjectKey, size: u64, limits: &ChunkLimits) -> bool {
    key.run().is_none() && size < limits.target_bytes / 2
}

/// The objects of `objects` (key and size, objects of one kind) in this
/// shard's partitions that may merge, by folder: per-run objects, and small
/// shared objects in folders holding at least two such objects (a lone
/// shared object would only be rewritten into itself).
fn small_objects(
    objects: &[(String, u64)],
    limits: &ChunkLimits,
) -> BTreeMap<String, Vec<(String, u64)>> {
    let mut folders: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for (key, size) in objects {
        let Some(parsed) = parse_object_key(key) else {
            continue;
        };
        if table(parsed.kind, parsed.table).is_none()
            || shard_of(&parsed, limits.shard.1) != limits.shard.0
        {
            continue;
        }
        if parsed.run().is_some() || is_small_shared(&parsed, *size, limits) {
            folders
                .entry(parsed.folder())
                .or_default()
                .push((key.clone(), *size));
        }
    }
    folders.retain(|_, objects| {
        objects.len() >= 2 || objects.iter().any(|(key, _)| per_run(key).is_some())
    });
    folders
}

fn per_run(key: &str) -> Option<&str> {
    parse_object_key(key).and_then(|k| k.run())
}

/// What to read before planning: the runs of the per-run objects (whose
/// manifests say whether the object is their version's), and the shared
/// objects whose runs must be read from the objects themselves.
pub fn to_read(objects: &[(String, u64)], limits: &ChunkLimits) -> (Vec<String>, Vec<String>) {
    let mut runs = BTreeSet::new();
    let mut shared = Vec::new();
    for (key, _) in small_objects(objects, limits).into_values().flatten() {
        match per_run(&key) {
            Some(run) => {
                runs.insert(run.to_string());
            }
            None => shared.push(key),
        }
    }
    (runs.into_iter().collect(), shared)
}

/// The objects that may merge, given the runs each shared object holds
/// (`shared_runs`, read from the objects) and the manifests of all these
/// runs (`manifests`, by run). A per-run object merges if its run's
/// manifest names it; a shared one if every run in it has a complete
/// manifest naming it. Anything else is an orphan of a lost version or
/// belongs to a write in flight, and must not be merged beside the rows
/// the manifests name.
pub fn mergeable(
    objects: &[(String, u64)],
    shared_runs: &BTreeMap<String, Vec<String>>,
    manifests: &BTreeMap<String, Manifest>,
    limits: &ChunkLimits,
) -> Vec<Mergeable> {
    let names = |run: &str, key: &str, complete: bool| {
        manifests
            .get(run)
            .is_some_and(|m| (m.complete || !complete) && m.objects.iter().any(|o| o == key))
    };
    small_objects(objects, limits)
        .into_values()
        .flatten()
        .filter_map(|(key, size)| {
            let runs = match per_run(&key) {
                Some(run) => vec![run.to_string()],
                None => shared_runs.get(&key)?.clone(),
            };
            let named = match per_run(&key) {
                Some(run) => names(run, &key, false),
                None => !runs.is_empty() && runs.iter().all(|run| names(run, &key, true)),
            };
            named.then_some(Mergeable { key, size, runs })
        })
        .collect()
}

/// Small objects of one partition (or bucket) to merge into one output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub table: String,
    pub output: String,
    /// (key, run), sorted by key: a shared input once per run in it.
    pub inputs: Vec<(String, String)>,
}

impl Chunk {
    /// The input objects, each once.
    pub fn objects(&self) -> usize {
        let mut keys: Vec<&str> = self.inputs.iter().map(|(key, _)| key.as_str()).collect();
        keys.dedup();
        keys.len()
    }
}

/// How a compaction cuts its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// A partition (or bucket) is compacted once it holds this many small
    /// objects (per-run objects, and shared ones under half the target).
    pub min_files: usize,
    /// Objects merged into one output at most.
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

/// Chunks of `objects` (of one kind, from [`mergeable`]): every partition
/// (or bucket) holding at least `min_files` of them, cut into chunks of at
/// most `max_files` objects and `target_bytes` bytes. A chunk that would
/// only rewrite one shared object into itself is left out. The output's
/// name is a hash of its inputs' keys.
pub fn plan_chunks(objects: &[Mergeable], limits: &ChunkLimits) -> Vec<Chunk> {
    let mut groups: BTreeMap<(String, String), Vec<&Mergeable>> = BTreeMap::new();
    for object in objects {
        let Some(parsed) = parse_object_key(&object.key) else {
            continue;
        };
        groups
            .entry((parsed.folder(), parsed.table.to_string()))
            .or_default()
            .push(object);
    }
    let mut chunks = Vec::new();
    for ((folder, table_name), mut inputs) in groups {
        if inputs.len() < limits.min_files.max(1) {
            continue;
        }
        inputs.sort_by(|a, b| a.key.cmp(&b.key));
        // A run is in one object of a folder; should two name it (a
        // manifest naming both), the later waits for another compaction,
        // as a run's claim in a chunk is one manifest swap.
        let mut seen = BTreeSet::new();
        inputs.retain(|o| {
            o.runs.iter().all(|run| !seen.contains(run)) && {
                seen.extend(o.runs.iter().cloned());
                true
            }
        });
        let mut slices: Vec<Vec<&Mergeable>> = vec![Vec::new()];
        let mut bytes = 0u64;
        for input in inputs {
            let current = slices.last_mut().expect("one slice at least");
            let full = current.len() >= limits.max_files.max(1)
                || bytes.saturating_add(input.size) > limits.target_bytes;
            if full && !current.is_empty() {
                slices.push(Vec::new());
                bytes = 0;
            }
            bytes = bytes.saturating_add(input.size);
            slices.last_mut().expect("just pushed").push(input);
        }
        for slice in slices {
            if let [lone] = slice.as_slice() {
                if per_run(&lone.key).is_none() {
                    continue;
                }
            }
            let mut hash = Sha256::new();
            for input in &slice {
                hash.update(input.key.as_bytes());
                hash.update([b'\n']);
            }
            let name = format!("compact-{}", hex(&hash.finalize()[..8]));
            chunks.push(Chunk {
                table: table_name.clone(),
                output: format!("{folder}{name}.parquet"),
                inputs: slice
                    .iter()
                    .flat_map(|o| o.runs.iter().map(|run| (o.key.clone(), run.clone())))
                    .collect(),
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
        inputs: input_objects(journal)
            .into_keys()
            .map(str::to_string)
            .collect(),
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

/// The journal's input objects, each with the runs of it the chunk moves.
fn input_objects(journal: &Journal) -> BTreeMap<&str, Vec<&str>> {
    let mut objects: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for input in &journal.inputs {
        objects.entry(&input.key).or_default().push(&input.run);
    }
    objects
}

/// Steps 4 and 5, given the runs whose claim held (`claimed`) when an
/// output was written: the runs that moved leave the output, the claimed
/// runs leave their inputs, and the journal goes last. Without an output
/// (nothing to merge) only the journal goes.
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
                input_objects(journal)
                    .into_iter()
                    .filter_map(|(key, runs)| {
                        let left: Vec<String> = runs
                            .iter()
                            .filter(|run| claimed.contains(**run))
                            .map(|run| run.to_string())
                            .collect();
                        if left.is_empty() {
                            None
                        } else if left.len() == runs.len() {
                            // Shared objects only lose rows: every run it held when
                            // planned has moved, so nothing in it is named.
                            Some(Step::DeleteObject {
                                key: key.to_string(),
                            })
                        } else {
                            Some(Step::Retire {
                                key: key.to_string(),
                                runs: left,
                            })
                        }
                    }),
            );
    }
    plan.then([Step::DeleteJournal {
        key: journal_key(&journal.output),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-run objects as [`mergeable`] gives them (every one named).
    fn per_run_objects(objects: &[(&str, u64)]) -> Vec<Mergeable> {
        objects
            .iter()
            .map(|(key, size)| Mergeable {
                key: key.to_string(),
                size: *size,
                runs: vec![per_run(key).expect("a per-run key").to_string()],
            })
            .collect()
    }

    fn manifest(run: &str, objects: &[&str], complete: bool) -> Manifest {
        Manifest {
            format: crate::manifest::MANIFEST_FORMAT,
            kind: "rdrp".into(),
            run: run.into(),
            source: SourceVersion {
                bucket: "b".into(),
                key: format!("{run}.psummary"),
                etag: Some("e".into()),
                version_id: None,
                sequencer: None,
            },
            objects: objects.iter().map(|o| o.to_string()).collect(),
            retiring: Vec::new(),
            complete,
        }
    }

    #[test]
    fn buckets_are_cut_by_bytes_and_spread_over_shards() {
        let objects = per_run_objects(&[
            ("rdrp/family/bucket=01/SRR101-00aa00aa00aa00aa.parquet", 60),
            ("rdrp/family/bucket=01/SRR201-00bb00bb00bb00bb.parquet", 50),
            ("rdrp/family/bucket=01/SRR301-00cc00cc00cc00cc.parquet", 200),
            ("rdrp/family/bucket=01/SRR401-00dd00dd00dd00dd.parquet", 10),
            ("rdrp/family/bucket=02/SRR102.parquet", 10),
            ("rdrp/family/bucket=02/SRR202.parquet", 10),
        ]);
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
        let listed: Vec<(String, u64)> = objects.iter().map(|o| (o.key.clone(), o.size)).collect();
        let shard = |i| {
            to_read(
                &listed,
                &ChunkLimits {
                    shard: (i, 2),
                    ..limits
                },
            )
            .0
        };
        let (odd, even) = (shard(1), shard(0));
        assert_eq!(odd, ["SRR101", "SRR201", "SRR301", "SRR401"]);
        assert_eq!(even, ["SRR102", "SRR202"]);
    }

    #[test]
    fn partitions_with_enough_small_objects_are_chunked() {
        let keys = per_run_objects(&[
            ("nucleotide/family/score=1/pctid=2/SRR3.parquet", 10),
            ("nucleotide/family/score=1/pctid=2/SRR1.parquet", 10),
            ("nucleotide/family/score=1/pctid=2/SRR2.parquet", 10),
            ("nucleotide/family/score=9/pctid=9/SRR1.parquet", 10),
            ("nucleotide/sra/SRR1.parquet", 10),
            ("nucleotide/sra/SRR2.parquet", 10),
        ]);
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

    #[test]
    fn small_shared_objects_merge_when_every_run_in_them_names_them() {
        let batch = "rdrp/family/bucket=11/backfill-aa.parquet";
        let earlier = "rdrp/family/bucket=11/compact-bb.parquet";
        let full = "rdrp/family/bucket=11/compact-cc.parquet";
        let pending = "rdrp/family/bucket=11/backfill-dd.parquet";
        let lone = "rdrp/family/bucket=22/backfill-ee.parquet";
        let event = "rdrp/family/bucket=11/SRR511-0123456789abcdef.parquet";
        let orphan = "rdrp/family/bucket=11/SRR611-0123456789abcdef.parquet";
        let objects: Vec<(String, u64)> = [
            (batch, 10),
            (earlier, 10),
            (full, 50),
            (pending, 10),
            (lone, 10),
            (event, 10),
            (orphan, 10),
        ]
        .map(|(k, s)| (k.to_string(), s))
        .to_vec();
        let limits = ChunkLimits {
            target_bytes: 100,
            ..ChunkLimits::default()
        };
        // Read: per-run objects' runs, and the small shared objects of
        // folders with something to merge them with.
        let (runs, shared) = to_read(&objects, &limits);
        assert_eq!(runs, ["SRR511", "SRR611"]);
        assert_eq!(shared, [batch, earlier, pending]);
        let shared_runs: BTreeMap<String, Vec<String>> = [
            (batch, vec!["SRR111", "SRR211"]),
            (earlier, vec!["SRR311"]),
            (pending, vec!["SRR411", "SRR711"]),
        ]
        .into_iter()
        .map(|(k, runs)| (k.to_string(), runs.iter().map(|r| r.to_string()).collect()))
        .collect();
        let manifests: BTreeMap<String, Manifest> = [
            manifest("SRR111", &[batch], true),
            manifest("SRR211", &[batch], true),
            manifest("SRR311", &[earlier], true),
            // One run of this batch is still being written.
            manifest("SRR411", &[pending], true),
            manifest("SRR711", &[pending], false),
            manifest("SRR511", &[event], true),
            // A newer version of SRR611 lives elsewhere.
            manifest("SRR611", &["rdrp/family/bucket=11/SRR611.parquet"], true),
        ]
        .into_iter()
        .map(|m| (m.run.clone(), m))
        .collect();
        let merging = mergeable(&objects, &shared_runs, &manifests, &limits);
        let keys: Vec<&str> = merging.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, [batch, earlier, event]);
        let chunks = plan_chunks(&merging, &limits);
        assert_eq!(chunks.len(), 1);
        let inputs: Vec<(&str, &str)> = chunks[0]
            .inputs
            .iter()
            .map(|(k, r)| (k.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            inputs,
            [
                (event, "SRR511"),
                (batch, "SRR111"),
                (batch, "SRR211"),
                (earlier, "SRR311")
            ]
        );
        assert_eq!(chunks[0].objects(), 3);
        // Alone in its folder, a shared object is not rewritten into itself.
        let alone = mergeable(&objects[1..2], &shared_runs, &manifests, &limits);
        assert!(plan_chunks(
            &alone,
            &ChunkLimits {
                min_files: 1,
                ..limits
            }
        )
        .is_empty());
    }

    #[test]
    fn a_shared_input_goes_once_all_its_runs_moved_and_loses_only_theirs_otherwise() {
        let input = |key: &str, run: &str| JournalInput {
            key: key.into(),
            run: run.into(),
            source: None,
        };
        let (batch, other, single) = (
            "rdrp/family/bucket=11/backfill-aa.parquet",
            "rdrp/family/bucket=11/compact-bb.parquet",
            "rdrp/family/bucket=11/SRR511.parquet",
        );
        let journal = Journal {
            format: JOURNAL_FORMAT,
            kind: "rdrp".into(),
            table: "family".into(),
            output: "rdrp/family/bucket=11/compact-out.parquet".into(),
            inputs: vec![
                input(batch, "SRR111"),
                input(batch, "SRR211"),
                input(other, "SRR311"),
                input(other, "SRR411"),
                input(single, "SRR511"),
            ],
        };
        match &merge_step(Kind::Rdrp, &journal) {
            Step::Merge { inputs, .. } => assert_eq!(inputs, &[single, batch, other]),
            step => panic!("{step:?}"),
        }
        let claimed: BTreeSet<String> = ["SRR111", "SRR211", "SRR311", "SRR511"]
            .map(String::from)
            .into();
        let plan = settle(&journal, true, &claimed);
        let steps: Vec<&Step> = plan.stages.iter().flatten().collect();
        assert_eq!(
            steps,
            [
                &Step::Retire {
                    key: journal.output.clone(),
                    runs: vec!["SRR411".into()]
                },
                &Step::DeleteObject { key: single.into() },
                &Step::DeleteObject { key: batch.into() },
                &Step::Retire {
                    key: other.into(),
                    runs: vec!["SRR311".into()]
                },
                &Step::DeleteJournal {
                    key: journal_key(&journal.output)
                },
            ]
        );
        let read = Journal::from_json(&journal.to_json()).unwrap();
        assert_eq!(read, journal);
    }
}
