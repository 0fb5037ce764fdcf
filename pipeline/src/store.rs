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

/// Which version of an object a conditional write replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Create only: there is no object at the key (`If-None-Match: *`).
    Absent,
    /// Replace only this version, by its ETag (`If-Match`).
    Version(String),
}

impl Expected {
    /// What a write replacing the object as read must expect.
    pub fn of(read: Option<&Versioned>) -> Self {
        match read {
            Some(object) => Expected::Version(object.etag.clone()),
            None => Expected::Absent,
        }
    }

    /// Whether an object whose version is `current` (`None`: none) is
    /// what is expected.
    pub fn holds_for(&self, current: Option<&str>) -> bool {
        match self {
            Expected::Absent => current.is_none(),
            Expected::Version(etag) => current == Some(etag.as_str()),
        }
    }

    /// What a write replacing the version read (`None`: no object) expects.
    pub fn of_version(version: Option<String>) -> Self {
        version.map_or(Expected::Absent, Expected::Version)
    }
}

/// An object as read, with the version a conditional write names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    pub bytes: Vec<u8>,
    pub etag: String,
}

pub trait ObjectStore: Send + Sync {
    /// Stores `bytes` at `key` atomically: a reader sees the old object or the
    /// new one, never part of one.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome>;
    /// The object at `key`, or `None` if there is none.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// The object at `key` with its version, or `None` if there is none.
    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>>;
    /// Compare-and-swap: stores `bytes` at `key` only if the object there
    /// is still `expected`, atomically against every other writer (other
    /// processes and hosts included). Returns the new version, or
    /// [`Error::Conflict`] when another writer got there first.
    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String>;
    /// Deletes the object at `key`; a missing object is not an error.
    fn delete(&self, key: &str) -> Result<()>;
    /// Deletes every object under `prefix` (a `/`-terminated folder); returns
    /// how many went.
    fn delete_prefix(&self, prefix: &str) -> Result<u64>;
    /// The keys of every object under `prefix` (a `/`-terminated folder),
    /// sorted; hidden temporary files are not objects.
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .list_sized(prefix)?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }
    /// [`ObjectStore::list`] with each object's size in bytes.
    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>>;
    /// Whether any object is under `prefix`, without listing them all.
    fn has_objects(&self, prefix: &str) -> Result<bool> {
        Ok(!self.list(prefix)?.is_empty())
    }
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

/// The version of a local object: a hash of its bytes (S3's ETag of a
/// simple upload is one too), so equal bytes are the same version.
pub fn content_etag(bytes: &[u8]) -> String {
    use sha2::Digest;
    summary_lake::text::hex(&sha2::Sha256::digest(bytes)[..16])
}

/// The [`Error::Conflict`] of a conditional write to `key` that lost.
pub fn conflict(key: &str, expected: &Expected) -> Error {
    Error::Conflict(match expected {
        Expected::Absent => format!("{key} was created by another writer"),
        Expected::Version(_) => format!("{key} was changed by another writer"),
    })
}

/// A borrowed store is a store: views (dry runs, descriptors, meters) wrap
/// one they do not own.
impl<T: ObjectStore + ?Sized> ObjectStore for &T {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        (**self).put(key, bytes)
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        (**self).get(key)
    }
    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        (**self).get_versioned(key)
    }
    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        (**self).put_if(key, bytes, expected)
    }
    fn delete(&self, key: &str) -> Result<()> {
        (**self).delete(key)
    }
    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        (**self).delete_prefix(prefix)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        (**self).list(prefix)
    }
    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        (**self).list_sized(prefix)
    }
    fn has_objects(&self, prefix: &str) -> Result<bool> {
        (**self).has_objects(prefix)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn lake_url(&self) -> Option<String> {
        (**self).lake_url()
    }
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

    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        Ok(self.lock().get(key).map(|bytes| Versioned {
            etag: content_etag(bytes),
            bytes: bytes.clone(),
        }))
    }

    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        check_key(key)?;
        let mut objects = self.lock();
        let current = objects.get(key).map(|old| content_etag(old));
        if !expected.holds_for(current.as_deref()) {
            return Err(conflict(key, expected));
        }
        objects.insert(key.to_string(), bytes.to_vec());
        Ok(content_etag(bytes))
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

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        Ok(self
            .lock()
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(key, bytes)| (key.clone(), bytes.len() as u64))
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

    #[test]
    fn conditional_writes_swap_only_the_version_read() {
        let store = MemoryStore::default();
        let created = store.put_if("m/a.json", b"1", &Expected::Absent).unwrap();
        assert!(matches!(
            store.put_if("m/a.json", b"2", &Expected::Absent),
            Err(Error::Conflict(_))
        ));
        let read = store.get_versioned("m/a.json").unwrap().unwrap();
        assert_eq!((read.bytes.as_slice(), &read.etag), (&b"1"[..], &created));
        let swapped = store
            .put_if("m/a.json", b"2", &Expected::of(Some(&read)))
            .unwrap();
        // the version read is gone: a second swap from it loses
        assert!(matches!(
            store.put_if("m/a.json", b"3", &Expected::Version(created)),
            Err(Error::Conflict(_))
        ));
        assert_eq!(store.get("m/a.json").unwrap().unwrap(), b"2");
        assert_ne!(swapped, content_etag(b"1"));
    }
}
