//! Per-run manifests and the plan of writes and deletes that keeps the
//! lake exact under at-least-once, out-of-order delivery.
//!
//! A manifest (`_manifests/<kind>/<run>.json`) lists the objects holding the
//! run's rows and the source version they came from. Applying a new version:
//! 1. write the manifest listing old ∪ new objects, marked incomplete, so
//!    that whatever a crash leaves behind is still listed somewhere;
//! 2. write the new objects;
//! 3. delete the old objects the new version does not use;
//! 4. write the manifest listing just the new objects, complete.
//!
//! A redelivered event whose version is complete writes nothing; an older
//! event than the manifest's is skipped; an incomplete one is redone.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use summary_aws::event::ObjectRef;
use summary_aws::sequencer::{compare_sequencers, is_valid_sequencer};
use summary_lake::prefixes;

use crate::step::{json_bytes, read_document};

/// 2 since manifests list the objects a version retires apart from its
/// own (`retiring`): a release that knows only format 1 would take a
/// pending manifest's `objects` for all the run's objects and leave the
/// retiring ones behind, so it refuses format 2 (a retryable error) instead.
/// Format 1 manifests are read as before.
pub const MANIFEST_FORMAT: u32 = 2;

/// Which source object version a manifest's rows came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceVersion {
    pub bucket: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

impl From<&ObjectRef> for SourceVersion {
    fn from(o: &ObjectRef) -> Self {
        SourceVersion {
            bucket: o.bucket.clone(),
            key: o.key.clone(),
            etag: o.etag.clone(),
            version_id: o.version_id.clone(),
            sequencer: o.sequencer.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub kind: String,
    pub run: String,
    pub source: SourceVersion,
    /// Lake keys (relative to the lake prefix) holding the rows of the
    /// run's version `source`.
    pub objects: Vec<String>,
    /// While a version is applied: the objects of earlier versions it is
    /// taking the run's rows out of. Empty once complete. (Manifests written
    /// before this field listed them in `objects`.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retiring: Vec<String>,
    /// False while a version is being applied.
    pub complete: bool,
}

/// A manifest as read, with the version (ETag) that a write replacing it
/// names, so that it replaces only what was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadManifest {
    pub manifest: Manifest,
    pub version: String,
}

impl Manifest {
    /// Every object that may hold the run's rows: the version's and those
    /// it is retiring.
    pub fn all_objects(&self) -> Vec<String> {
        let mut all = self.objects.clone();
        all.extend(self.retiring.iter().cloned());
        all.sort();
        all.dedup();
        all
    }

    pub fn to_json(&self) -> Vec<u8> {
        json_bytes(self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        // Format 1 listed old and new objects of a pending version in
        // `objects`, which `all_objects` still covers.
        read_document(
            bytes,
            "manifest",
            |m: &Manifest| m.format,
            1..=MANIFEST_FORMAT,
        )
    }
}

/// `_manifests/<kind>/<run>.json`, relative to the lake prefix.
pub fn manifest_key(kind: &str, run: &str) -> String {
    prefixes::manifest(kind, run)
}

/// `_errors/<kind>/<run>.json`: the dead-letter record of a summary that
/// could not be converted.
pub fn error_key(kind: &str, run: &str) -> String {
    prefixes::dead_letter(kind, run)
}

/// What to do with an incoming source version, given the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Process,
    /// The same version is already complete: a redelivery.
    AlreadyDone,
    /// A newer version is already recorded.
    Older {
        recorded: String,
    },
}

/// Whether an incoming source version of a run is worked on, given the
/// run's manifest:
/// - no manifest: processed;
/// - the recorded version is of the same bucket and key and both carry a
///   (valid) sequencer: they are ordered as AWS documents
///   ([`compare_sequencers`]): an earlier one is `Older`, the same one is
///   `AlreadyDone` once complete (redone while incomplete), a later one is
///   processed;
/// - otherwise (another key or bucket, or a sequencer missing on either
///   side): a sequencer says nothing, as AWS orders sequencers only per
///   key. The very same version (equal eTag and version id, one of them
///   known) already complete is `AlreadyDone`; anything else is processed,
///   so the latest arrival's rows are the run's.
///
/// A recorded sequencer that is not hexadecimal (written before sequencers
/// were checked) counts as missing, so it cannot hold a run back forever.
pub fn decide(existing: Option<&Manifest>, incoming: &SourceVersion) -> Decision {
    let Some(manifest) = existing else {
        return Decision::Process;
    };
    let recorded = &manifest.source;
    let same_object = recorded.bucket == incoming.bucket && recorded.key == incoming.key;
    let valid = |sequencer: &Option<String>| {
        sequencer
            .as_deref()
            .filter(|s| is_valid_sequencer(s))
            .map(str::to_string)
    };
    match (valid(&recorded.sequencer), valid(&incoming.sequencer)) {
        (Some(old), Some(new)) if same_object => match compare_sequencers(&old, &new) {
            Ordering::Greater => Decision::Older { recorded: old },
            Ordering::Equal if manifest.complete => Decision::AlreadyDone,
            _ => Decision::Process,
        },
        _ if manifest.complete && same_version(recorded, incoming) => Decision::AlreadyDone,
        _ => Decision::Process,
    }
}

fn same_version(a: &SourceVersion, b: &SourceVersion) -> bool {
    let known = a.etag.is_some() || a.version_id.is_some();
    known && a.etag == b.etag && a.version_id == b.version_id
}

/// The manifests and deletes that apply one converted version of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionChange {
    /// Step 1: the manifest listing old and new objects, incomplete.
    pub pending_manifest: Manifest,
    /// Step 3: old objects the new version no longer uses.
    pub deletes: Vec<String>,
    /// Step 4: the manifest of the new version, complete.
    pub final_manifest: Manifest,
}

/// The manifests of applying `objects` (lake keys, written in step 2) as
/// one run's new version, and the old objects it no longer uses.
pub fn change_version(
    existing: Option<&Manifest>,
    kind: &str,
    run: &str,
    source: SourceVersion,
    objects: &[String],
) -> VersionChange {
    let mut objects: Vec<String> = objects.to_vec();
    objects.sort();
    objects.dedup();
    let old: Vec<String> = existing.map(Manifest::all_objects).unwrap_or_default();
    let deletes: Vec<String> = old
        .iter()
        .filter(|k| objects.binary_search(k).is_err())
        .cloned()
        .collect();
    let manifest = |retiring: Vec<String>, complete| Manifest {
        format: MANIFEST_FORMAT,
        kind: kind.to_string(),
        run: run.to_string(),
        source: source.clone(),
        objects: objects.clone(),
        retiring,
        complete,
    };
    VersionChange {
        pending_manifest: manifest(deletes.clone(), false),
        deletes,
        final_manifest: manifest(Vec::new(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(seq: Option<&str>, etag: Option<&str>) -> SourceVersion {
        SourceVersion {
            bucket: "b".into(),
            key: "summary2/SRR1.summary".into(),
            etag: etag.map(Into::into),
            version_id: None,
            sequencer: seq.map(Into::into),
        }
    }

    fn manifest(seq: Option<&str>, etag: Option<&str>, complete: bool) -> Manifest {
        let mut m = change_version(None, "nucleotide", "SRR1", source(seq, etag), &["a".into()])
            .final_manifest;
        m.complete = complete;
        m
    }

    fn at(bucket: &str, key: &str, seq: Option<&str>, etag: Option<&str>) -> SourceVersion {
        SourceVersion {
            bucket: bucket.into(),
            key: key.into(),
            etag: etag.map(Into::into),
            version_id: None,
            sequencer: seq.map(Into::into),
        }
    }

    fn recorded(source: SourceVersion, complete: bool) -> Manifest {
        let mut m =
            change_version(None, "nucleotide", "SRR1", source, &["a".into()]).final_manifest;
        m.complete = complete;
        m
    }

    #[test]
    fn sequencers_only_order_versions_of_one_bucket_and_key() {
        let key = "summary2/SRR1.summary";
        // the pair on one key: the later write is processed, the earlier is older
        let newer = at("b", key, Some("006300000000000000"), Some("e2"));
        let older = at("b", key, Some("0062000000000000000A"), Some("e1"));
        assert_eq!(
            decide(Some(&recorded(older.clone(), true)), &newer),
            Decision::Process
        );
        assert_eq!(
            decide(Some(&recorded(newer.clone(), true)), &older),
            Decision::Older {
                recorded: "006300000000000000".into()
            }
        );
        // another key or bucket: a greater or smaller sequencer decides nothing
        for other in [
            at("b", "rsummary/SRR1.summary", Some("00"), Some("e3")),
            at(
                "b",
                "rsummary/SRR1.summary",
                Some("FFFFFFFFFFFFFFFFFF"),
                Some("e3"),
            ),
            at("other", key, Some("00"), Some("e3")),
        ] {
            assert_eq!(
                decide(Some(&recorded(newer.clone(), true)), &other),
                Decision::Process,
                "{other:?}"
            );
        }
        // ...and an equal sequencer on another key is not a redelivery
        assert_eq!(
            decide(
                Some(&recorded(newer.clone(), true)),
                &at(
                    "b",
                    "x/SRR1.summary",
                    Some("006300000000000000"),
                    Some("e9")
                )
            ),
            Decision::Process
        );
        // the very same version from another key, complete: nothing to redo
        assert_eq!(
            decide(
                Some(&recorded(newer.clone(), true)),
                &at("b", "x/SRR1.summary", Some("00"), Some("e2"))
            ),
            Decision::AlreadyDone
        );
    }

    #[test]
    fn an_invalid_recorded_sequencer_holds_nothing_back() {
        let key = "summary2/SRR1.summary";
        let frozen = recorded(at("b", key, Some("zzzzzzzz"), Some("e1")), true);
        assert_eq!(
            decide(
                Some(&frozen),
                &at("b", key, Some("0055AED6DCD90281E5"), Some("e2"))
            ),
            Decision::Process
        );
        assert_eq!(
            decide(
                Some(&frozen),
                &at("b", key, Some("0055AED6DCD90281E5"), Some("e1"))
            ),
            Decision::AlreadyDone
        );
    }

    #[test]
    fn decisions() {
        let s1 = source(Some("01"), Some("e1"));
        let s2 = source(Some("02"), Some("e2"));
        assert_eq!(decide(None, &s1), Decision::Process);
        assert_eq!(
            decide(Some(&manifest(Some("01"), Some("e1"), true)), &s1),
            Decision::AlreadyDone
        );
        assert_eq!(
            decide(Some(&manifest(Some("01"), Some("e1"), false)), &s1),
            Decision::Process
        );
        assert_eq!(
            decide(Some(&manifest(Some("01"), Some("e1"), true)), &s2),
            Decision::Process
        );
        assert_eq!(
            decide(Some(&manifest(Some("02"), Some("e2"), true)), &s1),
            Decision::Older {
                recorded: "02".into()
            }
        );
        // no sequencers: same etag is a redelivery, another etag is processed
        assert_eq!(
            decide(
                Some(&manifest(None, Some("e1"), true)),
                &source(None, Some("e1"))
            ),
            Decision::AlreadyDone
        );
        assert_eq!(
            decide(
                Some(&manifest(None, Some("e1"), true)),
                &source(None, Some("e2"))
            ),
            Decision::Process
        );
        assert_eq!(
            decide(Some(&manifest(None, None, true)), &source(None, None)),
            Decision::Process
        );
    }

    #[test]
    fn plan_deletes_what_the_new_version_does_not_use() {
        let old = change_version(
            None,
            "nucleotide",
            "SRR1",
            source(Some("01"), None),
            &["k/a".into(), "k/b".into()],
        )
        .final_manifest;
        let p = change_version(
            Some(&old),
            "nucleotide",
            "SRR1",
            source(Some("02"), None),
            &["k/b".into(), "k/c".into(), "k/c".into()],
        );
        assert_eq!(p.deletes, ["k/a"]);
        assert_eq!(p.pending_manifest.all_objects(), ["k/a", "k/b", "k/c"]);
        assert_eq!(p.pending_manifest.objects, ["k/b", "k/c"]);
        assert_eq!(p.pending_manifest.retiring, ["k/a"]);
        assert!(!p.pending_manifest.complete);
        assert_eq!(p.final_manifest.objects, ["k/b", "k/c"]);
        assert!(p.final_manifest.complete);
        assert_eq!(p.final_manifest.source.sequencer.as_deref(), Some("02"));
        let round = Manifest::from_json(&p.final_manifest.to_json()).unwrap();
        assert_eq!(round, p.final_manifest);
        assert!(Manifest::from_json(b"{}").is_err());
    }

    #[test]
    fn keys() {
        assert_eq!(manifest_key("rdrp", "SRR1"), "_manifests/rdrp/SRR1.json");
        assert_eq!(error_key("rdrp", "SRR1"), "_errors/rdrp/SRR1.json");
    }
}
