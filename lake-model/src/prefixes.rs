//! Every folder of the lake, in one place. Keys are relative to the lake's
//! root (a local directory or `s3://bucket/prefix`).
//!
//! ```text
//! <kind>/<table>/...                  the Parquet objects (see `keys`)
//! _manifests/<kind>/<run>.json        which objects hold a run's rows
//! _errors/<kind>/<name>.json          why a summary could not be converted
//! _backfill/<kind>/<batch>.json       backfill batches done
//! _compaction/<output key>.json       compaction chunks under way
//! ```

use crate::Kind;

/// `<kind>/`: the kind's Parquet objects.
pub fn objects(kind: Kind) -> String {
    format!("{kind}/")
}

/// `_manifests/<kind>/`.
pub fn manifests(kind: Kind) -> String {
    format!("_manifests/{kind}/")
}

/// `_manifests/<kind>/<run>.json`.
pub fn manifest(kind: &str, run: &str) -> String {
    format!("_manifests/{kind}/{run}.json")
}

/// `_errors/<kind>/`.
pub fn dead_letters(kind: Kind) -> String {
    format!("_errors/{kind}/")
}

/// `_errors/<kind>/<name>.json`: `name` is a run, or `invalid-<hash>`.
pub fn dead_letter(kind: &str, name: &str) -> String {
    format!("_errors/{kind}/{name}.json")
}

/// `_backfill/<kind>/`.
pub fn checkpoints(kind: Kind) -> String {
    format!("_backfill/{kind}/")
}

/// `_backfill/<kind>/<batch>.json`.
pub fn checkpoint(kind: Kind, batch: &str) -> String {
    format!("{}{batch}.json", checkpoints(kind))
}

/// `_compaction/<kind>/`.
pub fn journals(kind: Kind) -> String {
    format!("_compaction/{kind}/")
}

/// `_compaction/<output key without .parquet>.json`.
pub fn journal(output: &str) -> String {
    format!("_compaction/{}.json", output.trim_end_matches(".parquet"))
}

/// The name (run or batch) of a manifest, dead letter or checkpoint key.
pub fn name_of(key: &str) -> Option<&str> {
    key.rsplit('/').next()?.strip_suffix(".json")
}

/// Every folder that belongs to a kind, its objects first.
pub fn of_kind(kind: Kind) -> [String; 5] {
    [
        objects(kind),
        journals(kind),
        checkpoints(kind),
        dead_letters(kind),
        manifests(kind),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders() {
        assert_eq!(manifest("rdrp", "SRR1"), "_manifests/rdrp/SRR1.json");
        assert_eq!(dead_letter("rdrp", "SRR1"), "_errors/rdrp/SRR1.json");
        assert_eq!(
            checkpoint(Kind::Protein, "backfill-00"),
            "_backfill/protein/backfill-00.json"
        );
        assert_eq!(
            journal("protein/sra/compact-1.parquet"),
            "_compaction/protein/sra/compact-1.json"
        );
        assert_eq!(name_of("_errors/rdrp/SRR1.json"), Some("SRR1"));
        assert_eq!(of_kind(Kind::Rdrp)[0], "rdrp/");
    }
}
