//! Objects that hold the rows of many runs (batch objects of a backfill or
//! a replay, and compaction's objects). A run leaves such an object by a
//! rewrite of the object without its rows under the same key, so the
//! manifests of the other runs in it stay valid.

use crate::error::{Context, Error, Result};
use summary_lake::keys::parse_object_key;

use crate::apply::key_lock;
use crate::convert::Convert;
use crate::store::ObjectStore;

/// What leaving an object did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retired {
    /// A per-run object, deleted.
    Deleted,
    /// A shared object, written again without the runs' rows.
    Rewritten,
    /// A shared object that held no other rows, deleted.
    Emptied,
    /// Nothing to do: the object is gone or holds none of the runs' rows.
    Untouched,
}

/// Takes the rows of `runs` out of the object at `key`: a per-run object
/// of one of them is deleted, a shared one rewritten without them (deleted
/// when nothing is left). Idempotent, so a redelivery can repeat it.
pub fn retire(
    lake: &dyn ObjectStore,
    converter: &dyn Convert,
    key: &str,
    runs: &[String],
) -> Result<Retired> {
    let parsed = parse_object_key(key)
        .ok_or_else(|| Error::Permanent(format!("{key}: not a lake object key")))?;
    if parsed.is_per_run() {
        if !runs.iter().any(|run| run == parsed.name) {
            return Ok(Retired::Untouched);
        }
        lake.delete(key)?;
        return Ok(Retired::Deleted);
    }
    // Two runs of one object leaving at once must not each write back the
    // other's rows: rewrites of one key are serialised within this process.
    let _guard = key_lock(key);
    let Some(bytes) = lake.get(key)? else {
        return Ok(Retired::Untouched);
    };
    let merged = converter
        .merge(
            parsed.kind,
            parsed.table,
            std::slice::from_ref(&bytes),
            runs,
        )
        .with_context(|| format!("rewriting {key}"))?;
    match merged {
        None => {
            lake.delete(key)?;
            Ok(Retired::Emptied)
        }
        Some(merged) if merged.bytes == bytes => Ok(Retired::Untouched),
        Some(merged) => {
            lake.put(key, &merged.bytes)?;
            Ok(Retired::Rewritten)
        }
    }
}
