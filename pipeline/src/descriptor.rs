//! The lake's layout, read from its descriptor (`_lake.json`) before any
//! other write, and the descriptor written (create-only) for a new lake.
//! `summary_plan::descriptor` has the rules.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use summary_lake::Layout;
use summary_plan::descriptor::{
    decide, Found, LakeDescriptor, DESCRIPTOR_KEY, LEGACY_EVIDENCE_PREFIX,
};

use crate::error::{Error, Result};
use crate::store::{Expected, ObjectStore, PutOutcome, Versioned};

/// The layout of one lake, found on first use and kept: read from its
/// descriptor when something needs it (a conversion, a write), and the
/// descriptor written before the lake's first write. A command that reads
/// nothing and writes nothing never touches it.
pub struct LakeLayout {
    /// `--layout` / `SUMMARY_LAYOUT`: a new lake's layout, and what an
    /// existing lake must have.
    asked: Option<Layout>,
    /// False for a dry run: the descriptor is never written.
    may_write: bool,
    /// The layout, and whether the descriptor is still to be written.
    found: Mutex<Option<(Layout, bool)>>,
    described: AtomicBool,
}

impl LakeLayout {
    pub fn new(asked: Option<Layout>, may_write: bool) -> Self {
        LakeLayout {
            asked,
            may_write,
            found: Mutex::new(None),
            described: AtomicBool::new(false),
        }
    }

    /// The layout of the lake in `store`: its descriptor's; for a lake
    /// without one, `score-pctid` if it has runs (written before
    /// descriptors), else the asked one or `run-bucket`. An asked layout
    /// the lake does not have is a permanent error.
    pub fn layout(&self, store: &dyn ObjectStore) -> Result<Layout> {
        Ok(self.found(store)?.0)
    }

    fn found(&self, store: &dyn ObjectStore) -> Result<(Layout, bool)> {
        if let Some(found) = *self.lock() {
            return Ok(found);
        }
        let found = match store.get(DESCRIPTOR_KEY)? {
            Some(bytes) => Found::Described(
                LakeDescriptor::from_json(&bytes)
                    .and_then(|d| d.layout())
                    .map_err(|e| Error::Permanent(format!("{}: {e}", store.describe())))?,
            ),
            None if store.has_objects(LEGACY_EVIDENCE_PREFIX)? => Found::Undescribed,
            None => Found::Empty,
        };
        let decided = decide(found, self.asked, &store.describe()).map_err(Error::Permanent)?;
        *self.lock() = Some(decided);
        Ok(decided)
    }

    /// Before the lake's first write: the descriptor, created only (if
    /// another writer created it meanwhile, its layout must be ours).
    pub fn describe_before_writing(&self, store: &dyn ObjectStore) -> Result<()> {
        if self.described.load(Ordering::Acquire) {
            return Ok(());
        }
        let (layout, to_write) = self.found(store)?;
        if to_write && self.may_write {
            let descriptor = LakeDescriptor::new(layout).to_json();
            match store.put_if(DESCRIPTOR_KEY, &descriptor, &Expected::Absent) {
                Ok(_) => {
                    tracing::info!(lake = %store.describe(), %layout, "lake descriptor written")
                }
                Err(Error::Conflict(_)) => {
                    *self.lock() = None;
                    let (theirs, _) = self.found(store)?;
                    if theirs != layout {
                        return Err(Error::Permanent(format!(
                            "{}: another writer created the lake as {theirs} while this one was about to write {layout}",
                            store.describe()
                        )));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        self.described.store(true, Ordering::Release);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Layout, bool)>> {
        self.found.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A store whose first write is preceded by the lake's descriptor, and
/// that writes nothing to a lake of another layout than asked.
pub struct DescribedStore<'a> {
    pub inner: Box<dyn ObjectStore + 'a>,
    pub layout: Arc<LakeLayout>,
}

impl DescribedStore<'_> {
    fn before_writing(&self) -> Result<()> {
        self.layout.describe_before_writing(self.inner.as_ref())
    }
}

impl ObjectStore for DescribedStore<'_> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        self.before_writing()?;
        self.inner.put(key, bytes)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }

    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        self.inner.get_versioned(key)
    }

    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        self.before_writing()?;
        self.inner.put_if(key, bytes, expected)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.layout.layout(self.inner.as_ref())?;
        self.inner.delete(key)
    }

    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        self.layout.layout(self.inner.as_ref())?;
        self.inner.delete_prefix(prefix)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix)
    }

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        self.inner.list_sized(prefix)
    }

    fn has_objects(&self, prefix: &str) -> Result<bool> {
        self.inner.has_objects(prefix)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn lake_url(&self) -> Option<String> {
        self.inner.lake_url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn described(
        memory: &MemoryStore,
        asked: Option<Layout>,
        may_write: bool,
    ) -> DescribedStore<'_> {
        DescribedStore {
            inner: Box::new(memory),
            layout: Arc::new(LakeLayout::new(asked, may_write)),
        }
    }

    #[test]
    fn a_new_lake_is_described_at_its_first_write_and_keeps_its_layout() {
        let memory = MemoryStore::default();
        let store = described(&memory, None, true);
        assert_eq!(store.layout.layout(&store).unwrap(), Layout::RunBucket);
        assert_eq!(
            memory.get(DESCRIPTOR_KEY).unwrap(),
            None,
            "reading writes nothing"
        );
        store
            .put("rdrp/sra/bucket=01/SRR101.parquet", b"x")
            .unwrap();
        assert_eq!(
            memory.get(DESCRIPTOR_KEY).unwrap().unwrap(),
            LakeDescriptor::new(Layout::RunBucket).to_json()
        );
        // Another command on the same lake, asking for the other layout.
        let other = described(&memory, Some(Layout::ScorePctid), true);
        let before = memory.snapshot();
        let refused = other.put("rdrp/sra/SRR101.parquet", b"y").unwrap_err();
        assert!(
            refused.to_string().contains("is a run-bucket lake"),
            "{refused}"
        );
        assert!(other.delete("rdrp/sra/bucket=01/SRR101.parquet").is_err());
        assert_eq!(memory.snapshot(), before, "a refused layout writes nothing");
        // Without a layout asked, the lake's own.
        let again = described(&memory, None, true);
        assert_eq!(again.layout.layout(&again).unwrap(), Layout::RunBucket);
    }

    #[test]
    fn a_dry_run_never_writes_the_descriptor() {
        let memory = MemoryStore::default();
        let store = described(&memory, Some(Layout::ScorePctid), false);
        store.put("rdrp/sra/SRR101.parquet", b"x").unwrap();
        assert_eq!(memory.get(DESCRIPTOR_KEY).unwrap(), None);
        assert_eq!(store.layout.layout(&store).unwrap(), Layout::ScorePctid);
    }

    #[test]
    fn a_lake_written_before_descriptors_is_score_pctid() {
        let memory = MemoryStore::default();
        memory.put("_manifests/rdrp/SRR1.json", b"{}").unwrap();
        let store = described(&memory, Some(Layout::RunBucket), true);
        let refused = store
            .put("rdrp/sra/bucket=01/SRR101.parquet", b"x")
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("before lakes had a _lake.json"),
            "{refused}"
        );
        assert_eq!(memory.get(DESCRIPTOR_KEY).unwrap(), None);
        let legacy = described(&memory, None, true);
        legacy.put("rdrp/sra/SRR1.parquet", b"x").unwrap();
        assert_eq!(
            memory.get(DESCRIPTOR_KEY).unwrap().unwrap(),
            LakeDescriptor::new(Layout::ScorePctid).to_json()
        );
    }

    #[test]
    fn two_writers_creating_one_lake_agree_or_the_loser_writes_nothing() {
        let memory = MemoryStore::default();
        let first = described(&memory, Some(Layout::ScorePctid), true);
        let second = described(&memory, Some(Layout::RunBucket), true);
        // Both found an empty lake before either wrote.
        assert_eq!(first.layout.layout(&first).unwrap(), Layout::ScorePctid);
        assert_eq!(second.layout.layout(&second).unwrap(), Layout::RunBucket);
        first.put("rdrp/sra/SRR101.parquet", b"x").unwrap();
        let lost = second
            .put("rdrp/sra/bucket=01/SRR101.parquet", b"y")
            .unwrap_err();
        assert!(lost.to_string().contains("is a score-pctid lake"), "{lost}");
        assert_eq!(
            memory.get("rdrp/sra/bucket=01/SRR101.parquet").unwrap(),
            None
        );
    }
}
