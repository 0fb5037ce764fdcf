//! Views of a lake's store that every command opens through
//! (`context::open_lake`): [`Metered`] counts what is written and deleted
//! (`summary_pipeline::metrics`), [`DryRun`] writes nothing and records
//! what would have been written instead.
//!
//! A dry run carries the command out in full (reads, conversions, plans)
//! against a copy-on-write view: reads see the run's own earlier writes,
//! so a later stage of a plan reads what an earlier stage would have
//! written (manifests, journals, checkpoints), as in a real run. The
//! bytes of Parquet objects the run writes are not kept (only their
//! size): no plan reads back a Parquet object it wrote, and one that did
//! would fail with an error saying so rather than read the old one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use summary_pipeline::error::{Error, Result};
use summary_pipeline::metrics;
use summary_pipeline::store::{
    check_key, conflict, content_etag, Expected, ObjectStore, PutOutcome, Versioned,
};

/// Counts the writes and deletes that reach the store below.
pub struct Metered<'a> {
    pub inner: Box<dyn ObjectStore + 'a>,
}

impl ObjectStore for Metered<'_> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        let outcome = self.inner.put(key, bytes)?;
        if outcome == PutOutcome::Written {
            metrics::object_written(key, bytes.len() as u64);
        }
        Ok(outcome)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }

    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        self.inner.get_versioned(key)
    }

    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        let version = self.inner.put_if(key, bytes, expected)?;
        metrics::object_written(key, bytes.len() as u64);
        Ok(version)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key)?;
        metrics::objects_deleted(key, 1);
        Ok(())
    }

    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let deleted = self.inner.delete_prefix(prefix)?;
        metrics::objects_deleted(prefix, deleted);
        Ok(deleted)
    }

    fn has_objects(&self, prefix: &str) -> Result<bool> {
        self.inner.has_objects(prefix)
    }

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        self.inner.list_sized(prefix)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn lake_url(&self) -> Option<String> {
        self.inner.lake_url()
    }
}

/// What a dry run would do to one key, in the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Written with this many bytes (kept for documents, not for Parquet).
    Put {
        len: u64,
        kept: Option<Vec<u8>>,
        /// The key held an object before the run.
        existed: bool,
    },
    Delete,
}

/// The changes a dry run recorded, by key; shared with [`DryRun`].
#[derive(Clone, Default)]
pub struct Changes(Arc<Mutex<BTreeMap<String, Change>>>);

impl Changes {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Change>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `put KEY BYTES` and `delete KEY` lines, sorted by key: what a real
    /// run would leave changed.
    pub fn lines(&self) -> Vec<String> {
        self.lock()
            .iter()
            .map(|(key, change)| match change {
                Change::Put { len, .. } => format!("put {key} {len}"),
                Change::Delete => format!("delete {key}"),
            })
            .collect()
    }

    /// Keys written and keys deleted.
    pub fn counts(&self) -> (usize, usize) {
        let changes = self.lock();
        let puts = changes
            .values()
            .filter(|c| matches!(c, Change::Put { .. }))
            .count();
        (puts, changes.len() - puts)
    }
}

/// Reads from the real store, writes nowhere: see the module's comment.
pub struct DryRun<'a> {
    pub real: Box<dyn ObjectStore + 'a>,
    pub changes: Changes,
}

impl DryRun<'_> {
    /// Whether `key` holds an object before the run.
    fn existed(&self, key: &str) -> Result<bool> {
        Ok(match self.changes.lock().get(key) {
            Some(Change::Put { existed, .. }) => return Ok(*existed),
            _ => self.real.get(key)?.is_some(),
        })
    }
}

impl ObjectStore for DryRun<'_> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        check_key(key)?;
        if self.get(key).ok().flatten().as_deref() == Some(bytes) {
            return Ok(PutOutcome::Unchanged);
        }
        let existed = self.existed(key)?;
        let kept = (!key.ends_with(".parquet")).then(|| bytes.to_vec());
        self.changes.lock().insert(
            key.to_string(),
            Change::Put {
                len: bytes.len() as u64,
                kept,
                existed,
            },
        );
        Ok(PutOutcome::Written)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.changes.lock().get(key) {
            Some(Change::Delete) => return Ok(None),
            Some(Change::Put { kept: Some(bytes), .. }) => return Ok(Some(bytes.clone())),
            Some(Change::Put { kept: None, .. }) => {
                return Err(Error::Permanent(format!(
                    "dry run: {key} would be written by this run, and a dry run keeps no Parquet bytes to read back"
                )))
            }
            None => {}
        }
        self.real.get(key)
    }

    /// The real version of an object the run did not change; a hash of
    /// the bytes of one it wrote.
    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        if self.changes.lock().contains_key(key) {
            return Ok(self.get(key)?.map(|bytes| Versioned {
                etag: content_etag(&bytes),
                bytes,
            }));
        }
        self.real.get_versioned(key)
    }

    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        check_key(key)?;
        let current = match self.changes.lock().get(key) {
            Some(Change::Delete) => None,
            Some(Change::Put { kept, .. }) => {
                Some(content_etag(kept.as_deref().unwrap_or_default()))
            }
            None => self.real.get_versioned(key)?.map(|object| object.etag),
        };
        if !expected.holds_for(current.as_deref()) {
            return Err(conflict(key, expected));
        }
        self.put(key, bytes)?;
        Ok(content_etag(bytes))
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        let mut changes = self.changes.lock();
        match changes.get(key) {
            // Written by this run only: the real run leaves nothing there.
            Some(Change::Put { existed: false, .. }) => {
                changes.remove(key);
            }
            _ => {
                changes.insert(key.to_string(), Change::Delete);
            }
        }
        Ok(())
    }

    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let keys = self.list(prefix)?;
        for key in &keys {
            self.delete(key)?;
        }
        Ok(keys.len() as u64)
    }

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let real: BTreeMap<String, u64> = self.real.list_sized(prefix)?.into_iter().collect();
        let keys = self.list(prefix)?;
        let changes = self.changes.lock();
        Ok(keys
            .into_iter()
            .map(|key| {
                let size = match changes.get(&key) {
                    Some(Change::Put { len, .. }) => *len,
                    _ => real.get(&key).copied().unwrap_or(0),
                };
                (key, size)
            })
            .collect())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys: std::collections::BTreeSet<String> =
            self.real.list(prefix)?.into_iter().collect();
        for (key, change) in self.changes.lock().range(prefix.to_string()..) {
            if !key.starts_with(prefix) {
                break;
            }
            match change {
                Change::Put { .. } => keys.insert(key.clone()),
                Change::Delete => keys.remove(key),
            };
        }
        Ok(keys.into_iter().collect())
    }

    fn describe(&self) -> String {
        format!("{} (dry run)", self.real.describe())
    }

    fn lake_url(&self) -> Option<String> {
        self.real.lake_url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_store::LocalStore;

    #[test]
    fn a_dry_run_reads_its_own_writes_and_leaves_the_store_alone() {
        let dir = tempfile::tempdir().unwrap();
        let real = LocalStore::new(dir.path());
        real.put("_manifests/rdrp/SRR1.json", b"{}").unwrap();
        real.put("rdrp/t/old.parquet", b"old").unwrap();
        let snapshot = |store: &LocalStore| -> Vec<(String, Vec<u8>)> {
            store
                .list("")
                .unwrap_or_default()
                .into_iter()
                .chain(store.list("_manifests/").unwrap())
                .chain(store.list("rdrp/").unwrap())
                .map(|key| (key.clone(), store.get(&key).unwrap().unwrap()))
                .collect()
        };
        let before = snapshot(&real);
        let dry = DryRun {
            real: Box::new(real),
            changes: Changes::default(),
        };
        dry.put("_manifests/rdrp/SRR1.json", b"{\"v\":2}").unwrap();
        assert_eq!(
            dry.get("_manifests/rdrp/SRR1.json").unwrap().unwrap(),
            b"{\"v\":2}"
        );
        dry.put("rdrp/t/new.parquet", b"new!").unwrap();
        assert!(
            dry.get("rdrp/t/new.parquet").is_err(),
            "Parquet bytes are not kept"
        );
        dry.put("_compaction/rdrp/j.json", b"{}").unwrap();
        dry.delete("_compaction/rdrp/j.json").unwrap();
        dry.delete("rdrp/t/old.parquet").unwrap();
        assert_eq!(dry.list("rdrp/").unwrap(), ["rdrp/t/new.parquet"]);
        assert_eq!(
            dry.put("_manifests/rdrp/SRR1.json", b"{\"v\":2}").unwrap(),
            PutOutcome::Unchanged
        );
        assert_eq!(
            dry.changes.lines(),
            [
                "put _manifests/rdrp/SRR1.json 7",
                "put rdrp/t/new.parquet 4",
                "delete rdrp/t/old.parquet",
            ]
        );
        assert_eq!(
            snapshot(&LocalStore::new(dir.path())),
            before,
            "nothing reached the real store"
        );
    }
}
