//! The lake's layout, read from its descriptor (`_lake.json`) before any
//! other write, and the descriptor written (create-only) for a new lake.
//! `summary_plan::descriptor` has the rules.

use summary_lake::Layout;
use summary_plan::descriptor::{
    decide, Found, LakeDescriptor, DESCRIPTOR_KEY, LEGACY_EVIDENCE_PREFIX,
};

use crate::error::{Error, Result};
use crate::store::{Expected, ObjectStore};

/// The layout of the lake in `store`; `asked` is the layout a command was
/// given (`--layout`, `SUMMARY_LAYOUT`), which must be the lake's. With
/// `may_write`, a lake without descriptor gets one; else (a dry run)
/// nothing is written. A refused layout writes nothing either.
pub fn lake_layout(
    store: &dyn ObjectStore,
    asked: Option<Layout>,
    may_write: bool,
) -> Result<Layout> {
    // Two rounds: a lake another process created meanwhile is read again.
    for _ in 0..2 {
        let found = match store.get(DESCRIPTOR_KEY)? {
            Some(bytes) => Found::Described(
                LakeDescriptor::from_json(&bytes)
                    .and_then(|d| d.layout())
                    .map_err(|e| Error::Permanent(format!("{}: {e}", store.describe())))?,
            ),
            None if store.has_objects(LEGACY_EVIDENCE_PREFIX)? => Found::Undescribed,
            None => Found::Empty,
        };
        let (layout, write) = decide(found, asked, &store.describe()).map_err(Error::Permanent)?;
        if !(write && may_write) {
            return Ok(layout);
        }
        let descriptor = LakeDescriptor::new(layout).to_json();
        match store.put_if(DESCRIPTOR_KEY, &descriptor, &Expected::Absent) {
            Ok(_) => {
                tracing::info!(lake = %store.describe(), %layout, "lake descriptor written");
                return Ok(layout);
            }
            Err(Error::Conflict(_)) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(Error::Transient(format!(
        "{}: {DESCRIPTOR_KEY} keeps changing; try again",
        store.describe()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn a_new_lake_is_described_once_and_keeps_its_layout() {
        let store = MemoryStore::default();
        assert_eq!(lake_layout(&store, None, false).unwrap(), Layout::RunBucket);
        assert_eq!(
            store.get(DESCRIPTOR_KEY).unwrap(),
            None,
            "a dry run writes nothing"
        );
        assert_eq!(
            lake_layout(&store, Some(Layout::ScorePctid), true).unwrap(),
            Layout::ScorePctid
        );
        assert_eq!(
            store.get(DESCRIPTOR_KEY).unwrap().unwrap(),
            LakeDescriptor::new(Layout::ScorePctid).to_json()
        );
        assert_eq!(lake_layout(&store, None, true).unwrap(), Layout::ScorePctid);
        let refused = lake_layout(&store, Some(Layout::RunBucket), true).unwrap_err();
        assert!(
            refused.to_string().contains("is a score-pctid lake"),
            "{refused}"
        );
    }

    #[test]
    fn a_lake_written_before_descriptors_is_score_pctid() {
        let store = MemoryStore::default();
        store.put("_manifests/rdrp/SRR1.json", b"{}").unwrap();
        let refused = lake_layout(&store, Some(Layout::RunBucket), true).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("before lakes had a _lake.json"),
            "{refused}"
        );
        assert_eq!(store.get(DESCRIPTOR_KEY).unwrap(), None);
        assert_eq!(lake_layout(&store, None, true).unwrap(), Layout::ScorePctid);
        assert!(store.get(DESCRIPTOR_KEY).unwrap().is_some());
    }
}
