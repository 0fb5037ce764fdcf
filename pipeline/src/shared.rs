//! Objects that hold the rows of many runs (batch objects of a backfill or
//! a replay, and compaction's objects). A run leaves such an object by a
//! rewrite of the object without its rows under the same key, so the
//! manifests of the other runs in it stay valid.

use crate::error::{Context, Error, Result};
use summary_lake::keys::parse_object_key;

use crate::apply::{swap_until_settled, Swap};
use crate::convert::Convert;
use crate::store::{Expected, ObjectStore};

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
    if let Some(owner) = parsed.run() {
        if !runs.iter().any(|run| run == owner) {
            return Ok(Retired::Untouched);
        }
        lake.delete(key)?;
        return Ok(Retired::Deleted);
    }
    // Two runs of one object leaving at once, on any hosts, must not each
    // write back the other's rows: the rewrite swaps only the version read.
    // Shared objects only ever lose rows, so an emptied one can go.
    swap_until_settled(
        key,
        || {
            let Some(read) = lake.get_versioned(key)? else {
                return Ok(Swap::Done(Retired::Untouched));
            };
            let merged = converter
                .merge(
                    parsed.layout(),
                    parsed.kind,
                    parsed.table,
                    std::slice::from_ref(&read.bytes),
                    runs,
                )
                .with_context(|| format!("rewriting {key}"))?;
            Ok(match merged {
                None => Swap::Delete(Retired::Emptied),
                Some(merged) if merged.bytes == read.bytes => Swap::Done(Retired::Untouched),
                Some(merged) => Swap::Write {
                    bytes: merged.bytes,
                    expected: Expected::of(Some(&read)),
                    then: Retired::Rewritten,
                },
            })
        },
        lake,
    )
}
