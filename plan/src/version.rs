//! The plan of one S3 event's summary: a run's new version, or the dead
//! letter of a summary that could not be converted.

use std::collections::BTreeSet;

use summary_lake::Kind;

use crate::manifest::{change_version, error_key, manifest_key, Manifest, SourceVersion};
use crate::object::ParquetObject;
use crate::step::{json_bytes, Plan, Step};

/// Lands `objects` as run `run`'s version `source`, given its manifest:
/// 1. the manifest listing old and new objects, incomplete;
/// 2. the new objects;
/// 3. the old objects the version no longer uses (shared ones lose the
///    run's rows);
/// 4. Glue;
/// 5. the manifest of the new version, complete: until it is written, a
///    redelivery redoes the work;
/// 6. the run's dead letter, if an earlier version left one.
pub fn land_version(
    existing: Option<&Manifest>,
    kind: Kind,
    run: &str,
    source: SourceVersion,
    objects: Vec<ParquetObject>,
) -> Plan {
    let keys: Vec<String> = objects.iter().map(|o| o.key.clone()).collect();
    let change = change_version(existing, kind.as_str(), run, source, &keys);
    let manifest = manifest_key(kind.as_str(), run);
    let register = registration(kind, &objects);
    Plan::new()
        .then([Step::PutManifest {
            key: manifest.clone(),
            manifest: change.pending_manifest,
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
        }])
        .then([Step::DeleteDeadLetter {
            key: error_key(kind.as_str(), run),
        }])
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
        let plan = land_version(Some(&old), Kind::Nucleotide, "SRR1", source, vec![object]);
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
                vec!["retire object"],
                vec!["register partitions"],
                vec!["put final manifest"],
                vec!["delete dead letter"],
            ]
        );
        assert_eq!(
            plan.stages[2][0].target(),
            "nucleotide/family/score=1/pctid=1/SRR1.parquet"
        );
    }
}
