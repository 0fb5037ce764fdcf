//! The plan of one S3 event's summary: a run's new version, or the dead
//! letter of a summary that could not be converted.

use std::collections::BTreeSet;

use summary_lake::Kind;

use sha2::{Digest, Sha256};
use summary_lake::keys::{parse_object_key, version_name};
use summary_lake::text::hex;

use crate::manifest::{change_version, error_key, manifest_key, ReadManifest, SourceVersion};
use crate::object::ParquetObject;
use crate::step::{json_bytes, Plan, Precondition, Step};

/// Lands `objects` as run `run`'s version `source`, given its manifest as
/// read (the plan replaces only that version of it):
/// 1. the manifest listing old and new objects, incomplete;
/// 2. the new objects;
/// 3. the old objects the version no longer uses (shared ones lose the
///    run's rows);
/// 4. Glue;
/// 5. the manifest of the new version, complete: until it is written, a
///    redelivery redoes the work;
/// 6. the run's dead letter, if an earlier version left one.
pub fn land_version(
    existing: Option<&ReadManifest>,
    kind: Kind,
    run: &str,
    source: SourceVersion,
    objects: Vec<ParquetObject>,
) -> Plan {
    let objects = name_version(run, objects);
    let keys: Vec<String> = objects.iter().map(|o| o.key.clone()).collect();
    let change = change_version(
        existing.map(|read| &read.manifest),
        kind.as_str(),
        run,
        source,
        &keys,
    );
    let manifest = manifest_key(kind.as_str(), run);
    let register = registration(kind, &objects);
    Plan::new()
        .then([Step::PutManifest {
            key: manifest.clone(),
            manifest: change.pending_manifest,
            expect: Precondition::of(existing),
        }])
        .then(objects.into_iter().map(|o| Step::PutObject {
            key: o.key,
            bytes: o.bytes,
        }))
        .then(change.deletes.into_iter().map(|key| Step::Retire {
            key,
            runs: vec![run.to_string()],
        }))
        .then(register)
        .then([Step::PutManifest {
            key: manifest,
            manifest: change.final_manifest,
            expect: Precondition::Earlier,
        }])
        .then([Step::DeleteDeadLetter {
            key: error_key(kind.as_str(), run),
        }])
}

/// The run's objects renamed `<run>-<token>`, the token a hash of all their
/// bytes: a pure function of the version's rows, so a redelivery writes
/// the same keys, and two versions of a run never write the same key.
fn name_version(run: &str, mut objects: Vec<ParquetObject>) -> Vec<ParquetObject> {
    let mut hash = Sha256::new();
    for object in &objects {
        hash.update(object.key.as_bytes());
        hash.update((object.bytes.len() as u64).to_le_bytes());
        hash.update(&object.bytes);
    }
    let name = version_name(run, &hex(&hash.finalize()[..8]));
    for object in &mut objects {
        let Some(parsed) = parse_object_key(&object.key) else {
            continue;
        };
        if parsed.run() == Some(run) {
            object.key = parsed.renamed(&name);
        }
    }
    objects
}

/// Stores why a summary could not be converted, under `name` (its run, or
/// an `invalid-…` name); its run's rows, if any, stay as they are.
pub fn dead_letter(kind: Kind, name: &str, record: &serde_json::Value) -> Plan {
    Plan::new().then([Step::PutDeadLetter {
        key: error_key(kind.as_str(), name),
        bytes: json_bytes(record),
    }])
}

/// The Glue step for `objects` of `kind`: one per kind, listing each
/// table's partitions once (a table without partitions only has to exist).
pub fn registration(kind: Kind, objects: &[ParquetObject]) -> Option<Step> {
    if objects.is_empty() {
        return None;
    }
    let partitions: BTreeSet<(String, Option<summary_lake::keys::Partition>)> = objects
        .iter()
        .map(|o| (o.table.clone(), o.partition))
        .collect();
    Some(Step::Register {
        kind,
        partitions: partitions.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_lands_in_the_crash_safe_order() {
        let source = SourceVersion {
            bucket: "b".into(),
            key: "summary2/SRR1.summary".into(),
            etag: Some("e2".into()),
            version_id: None,
            sequencer: Some("02".into()),
        };
        let old = crate::manifest::change_version(
            None,
            "nucleotide",
            "SRR1",
            source.clone(),
            &[
                "nucleotide/sra/SRR1.parquet".into(),
                "nucleotide/family/score=1/pctid=1/SRR1.parquet".into(),
            ],
        )
        .final_manifest;
        let object = ParquetObject {
            key: "nucleotide/sra/SRR1.parquet".into(),
            table: "sra".into(),
            partition: None,
            rows: 1,
            runs: vec!["SRR1".into()],
            bytes: b"PAR1".to_vec(),
        };
        let read = ReadManifest {
            manifest: old,
            version: "\"v1\"".into(),
        };
        let plan = land_version(Some(&read), Kind::Nucleotide, "SRR1", source, vec![object]);
        let stages: Vec<Vec<&str>> = plan
            .stages
            .iter()
            .map(|stage| stage.iter().map(Step::label).collect())
            .collect();
        assert_eq!(
            stages,
            [
                vec!["put pending manifest"],
                vec!["put object"],
                // both old objects: the new version's keys carry its token
                vec!["retire object", "retire object"],
                vec!["register partitions"],
                vec!["put final manifest"],
                vec!["delete dead letter"],
            ]
        );
        assert_eq!(
            plan.stages[2].iter().map(Step::target).collect::<Vec<_>>(),
            [
                "nucleotide/family/score=1/pctid=1/SRR1.parquet",
                "nucleotide/sra/SRR1.parquet"
            ]
        );
        // the manifest is swapped over the version read, then over its own
        let expects: Vec<&Precondition> = plan
            .steps()
            .filter_map(|step| match step {
                Step::PutManifest { expect, .. } => Some(expect),
                _ => None,
            })
            .collect();
        assert_eq!(
            expects,
            [
                &Precondition::Version("\"v1\"".into()),
                &Precondition::Earlier
            ]
        );
        // the version's objects are named after the run and a hash of their bytes
        let key = plan.stages[1][0].target();
        let name = key
            .strip_prefix("nucleotide/sra/SRR1-")
            .and_then(|k| k.strip_suffix(".parquet"))
            .unwrap_or_else(|| panic!("{key}"));
        assert_eq!(name.len(), 16, "{key}");
    }
}
