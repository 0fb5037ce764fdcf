//! Where the lake's objects go. One trait, so replay, events and both hosts
//! share one code path whatever the destination.

use crate::error::{Error, Result};

/// What a put did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    /// The object already held exactly these bytes; nothing was written.
    Unchanged,
}

pub trait ObjectStore: Send + Sync {
    /// Stores `bytes` at `key` atomically: a reader sees the old object or the
    /// new one, never part of one.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome>;
    /// The object at `key`, or `None` if there is none.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Deletes the object at `key`; a missing object is not an error.
    fn delete(&self, key: &str) -> Result<()>;
    /// Deletes every object under `prefix` (a `/`-terminated folder); returns
    /// how many went.
    fn delete_prefix(&self, prefix: &str) -> Result<u64>;
    /// The keys of every object under `prefix` (a `/`-terminated folder),
    /// sorted; hidden temporary files are not objects.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// For messages: where the objects go.
    fn describe(&self) -> String;
    /// `s3://bucket/prefix` for a lake the Glue catalog can point at.
    fn lake_url(&self) -> Option<String> {
        None
    }
}

/// Refuses keys that could leave the store's root: keys come from a guest
/// that reads untrusted bytes, so the host checks them again.
pub fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key.contains('\0')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(Error::Permanent(format!(
            "refusing object key {key:?}: not a plain relative key"
        )));
    }
    Ok(())
}

/// A lake in memory: for tests, and for plans that must not touch a real
/// one.
#[derive(Default)]
pub struct MemoryStore {
    objects: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    /// Every object, by key.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, Vec<u8>>> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ObjectStore for MemoryStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        check_key(key)?;
        let mut objects = self.lock();
        if objects.get(key).is_some_and(|old| old == bytes) {
            return Ok(PutOutcome::Unchanged);
        }
        objects.insert(key.to_string(), bytes.to_vec());
        Ok(PutOutcome::Written)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.lock().get(key).cloned())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }

    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let mut objects = self.lock();
        let before = objects.len();
        objects.retain(|key, _| !key.starts_with(prefix));
        Ok((before - objects.len()) as u64)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .lock()
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "../a",
            "a//b",
            "a/./b",
            "a\\b",
            "a/",
            "a\0b",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        check_key("nucleotide/family/score=1/pctid=2/SRR1.parquet").unwrap();
    }
}
