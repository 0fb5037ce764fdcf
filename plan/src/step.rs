//! A plan: stages carried out in order; the steps of one stage are
//! independent of each other and may run at once.

use summary_lake::keys::Partition;
use summary_lake::Kind;

use crate::compaction::Journal;
use crate::manifest::{Manifest, SourceVersion};

/// What a conditional write expects at its key: it replaces only that, so
/// that no writer undoes another's work (S3's `If-Match` and
/// `If-None-Match`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// No object: the write creates it.
    Absent,
    /// The version (ETag) read when the plan was made.
    Version(String),
    /// The version an earlier stage of the same plan wrote there.
    Earlier,
}

impl Precondition {
    /// What a write replacing the manifest as read expects.
    pub fn of(read: Option<&crate::manifest::ReadManifest>) -> Self {
        match read {
            Some(read) => Precondition::Version(read.version.clone()),
            None => Precondition::Absent,
        }
    }
}

/// One write (or delete) of the lake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A run's manifest: incomplete while a version is applied (it lists
    /// old and new objects), complete once the version is whole.
    /// Written only over the version it expects: the manifest is the run's
    /// point of order, and whoever swaps it owns the run's next version.
    PutManifest {
        key: String,
        manifest: Manifest,
        expect: Precondition,
    },
    /// A run that keeps no rows loses its manifest.
    DeleteManifest {
        key: String,
    },
    /// A Parquet object, written whole; its key is a pure function of its
    /// input, so writing it again writes the same bytes.
    PutObject {
        key: String,
        bytes: Vec<u8>,
    },
    /// `runs` leave the object at `key`: a per-run object of one of them
    /// is deleted, a shared object is rewritten without their rows.
    Retire {
        key: String,
        runs: Vec<String>,
    },
    /// Compaction: `output` merged from `inputs`, unless it exists already
    /// (then no input was deleted yet, or the merge is done).
    Merge {
        kind: Kind,
        table: String,
        inputs: Vec<String>,
        output: String,
    },
    /// Compaction: the run's manifest lists `output` instead of `input`, if
    /// the run still has the version `source` (read and written as one
    /// step). Whether it did is reported: a run that changed must leave
    /// the output instead.
    Claim {
        key: String,
        run: String,
        input: String,
        output: String,
        source: Option<SourceVersion>,
    },
    /// A merged input, now listed nowhere.
    DeleteObject {
        key: String,
    },
    /// Glue: the kind's tables exist and hold these partitions (a table
    /// given without partition only has to exist).
    Register {
        kind: Kind,
        partitions: Vec<(String, Option<Partition>)>,
    },
    /// Why a summary could not be converted.
    PutDeadLetter {
        key: String,
        bytes: Vec<u8>,
    },
    DeleteDeadLetter {
        key: String,
    },
    /// A backfill batch is done.
    PutCheckpoint {
        key: String,
        bytes: Vec<u8>,
    },
    /// A compaction chunk is under way.
    PutJournal {
        key: String,
        journal: Journal,
        expect: Precondition,
    },
    DeleteJournal {
        key: String,
    },
}

impl Step {
    /// The key the step writes or deletes (for Glue, the kind).
    pub fn target(&self) -> &str {
        match self {
            Step::PutManifest { key, .. }
            | Step::DeleteManifest { key }
            | Step::PutObject { key, .. }
            | Step::Retire { key, .. }
            | Step::Claim { key, .. }
            | Step::DeleteObject { key }
            | Step::PutDeadLetter { key, .. }
            | Step::DeleteDeadLetter { key }
            | Step::PutCheckpoint { key, .. }
            | Step::PutJournal { key, .. }
            | Step::DeleteJournal { key } => key,
            Step::Merge { output, .. } => output,
            Step::Register { kind, .. } => kind.as_str(),
        }
    }

    /// What the step does, for logs and test failures.
    pub fn label(&self) -> &'static str {
        match self {
            Step::PutManifest { manifest, .. } if manifest.complete => "put final manifest",
            Step::PutManifest { .. } => "put pending manifest",
            Step::DeleteManifest { .. } => "delete manifest",
            Step::PutObject { .. } => "put object",
            Step::Retire { .. } => "retire object",
            Step::Merge { .. } => "merge objects",
            Step::Claim { .. } => "claim manifest",
            Step::DeleteObject { .. } => "delete object",
            Step::Register { .. } => "register partitions",
            Step::PutDeadLetter { .. } => "put dead letter",
            Step::DeleteDeadLetter { .. } => "delete dead letter",
            Step::PutCheckpoint { .. } => "put checkpoint",
            Step::PutJournal { .. } => "put journal",
            Step::DeleteJournal { .. } => "delete journal",
        }
    }
}

/// Stages in order; each stage's steps are independent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub stages: Vec<Vec<Step>>,
}

impl Plan {
    pub fn new() -> Self {
        Plan::default()
    }

    /// Adds a stage after the others; an empty one is left out.
    pub fn then(mut self, steps: impl IntoIterator<Item = Step>) -> Self {
        let steps: Vec<Step> = steps.into_iter().collect();
        if !steps.is_empty() {
            self.stages.push(steps);
        }
        self
    }

    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.stages.iter().flatten()
    }
}

/// A JSON record as the lake stores it: pretty, with a final newline.
pub fn json_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON serializes");
    bytes.push(b'\n');
    bytes
}

/// A lake document (manifest, journal) read back: its `format` must be
/// one this code reads (`accepted`).
pub fn read_document<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
    format: impl Fn(&T) -> u32,
    accepted: std::ops::RangeInclusive<u32>,
) -> Result<T, String> {
    let document: T =
        serde_json::from_slice(bytes).map_err(|e| format!("unreadable {what}: {e}"))?;
    match format(&document) {
        found if accepted.contains(&found) => Ok(document),
        found if accepted.start() == accepted.end() => {
            Err(format!("{what} format {found} is not {}", accepted.end()))
        }
        found => Err(format!(
            "{what} format {found} is not one of {} to {} (a newer release wrote it?)",
            accepted.start(),
            accepted.end()
        )),
    }
}
