//! The lake in a local directory, the embedded default.
//!
//! Objects are written to a hidden temporary file and renamed into place:
//! a reader sees the old object or the new one. Conditional writes hold an
//! exclusive `flock` on one of [`LOCK_STRIPES`] lock files (picked by the
//! key's hash, under `.locks/`) while they compare and rename, so they are
//! atomic against every process on the machine, as S3's are against every
//! host. Without `sync`, a power loss may lose writes already reported
//! (the rename is atomic, not durable); with it, each file and its folder
//! are synced before a write is reported.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use summary_pipeline::error::{Context, Result};
use summary_pipeline::store::{
    check_key, conflict, content_etag, Expected, ObjectStore, PutOutcome, Versioned,
};

/// Lock files of conditional writes; keys share them by hash.
const LOCK_STRIPES: u64 = 64;

/// A lake in a local directory; writes go to a temporary file beside the
/// target and are renamed into place.
pub struct LocalStore {
    root: PathBuf,
    temp_counter: AtomicU64,
    /// This process's id, part of temporary file names (read once: each
    /// `std::process::id()` is a system call).
    pid: u32,
    /// fsync each written file and its folder before reporting it written.
    sync: bool,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore {
            root: root.into(),
            temp_counter: AtomicU64::new(0),
            pid: std::process::id(),
            sync: false,
        }
    }

    /// Writes survive a power loss once reported (at a cost, see README).
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `bytes` to a temporary file beside `path` and renames it
    /// into place.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = path.parent().expect("a checked key has a parent");
        // Hidden and not `.parquet`, so readers globbing the lake never see it.
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{file_name}.{}-{n}.tmp", self.pid));
        let written = create_in_folder(dir, &tmp)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                if self.sync {
                    file.sync_all()?;
                }
                Ok(())
            })
            .with_context(|| format!("writing {}", tmp.display()));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("renaming into {}", path.display()));
        }
        if self.sync {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("syncing {}", dir.display()))?;
        }
        Ok(())
    }

    /// The lock file of `key`'s stripe, locked exclusively until dropped.
    fn lock(&self, key: &str) -> Result<File> {
        let dir = self.root.join(".locks");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let stripe = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        }) % LOCK_STRIPES;
        let path = dir.join(format!("{stripe:02}"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // Released when the file is closed.
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(file)
    }
}

impl ObjectStore for LocalStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        check_key(key)?;
        let path = self.root.join(key);
        match std::fs::read(&path) {
            Ok(existing) if existing == bytes => return Ok(PutOutcome::Unchanged),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        self.write_atomically(&path, bytes)?;
        Ok(PutOutcome::Written)
    }

    fn get_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        Ok(self.get(key)?.map(|bytes| Versioned {
            etag: content_etag(&bytes),
            bytes,
        }))
    }

    fn put_if(&self, key: &str, bytes: &[u8], expected: &Expected) -> Result<String> {
        check_key(key)?;
        let _lock = self.lock(key)?;
        let current = self.get(key)?.map(|old| content_etag(&old));
        if !expected.holds_for(current.as_deref()) {
            return Err(conflict(key, expected));
        }
        self.write_atomically(&self.root.join(key), bytes)?;
        Ok(content_etag(bytes))
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        let path = self.root.join(key);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        let path = self.root.join(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("deleting {}", path.display())),
        }
    }

    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        check_key(prefix.trim_end_matches('/'))?;
        let dir = self.root.join(prefix);
        let count = count_files(&dir)?;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(count),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e).with_context(|| format!("deleting {}", dir.display())),
        }
    }

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        check_key(prefix.trim_end_matches('/'))?;
        let mut objects = Vec::new();
        list_files(
            &self.root.join(prefix),
            prefix.trim_end_matches('/'),
            &mut objects,
        )?;
        objects.sort();
        Ok(objects)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// Creates (or truncates: a temporary left by a crashed process of the same
/// id) the file `path` in `dir`, creating `dir` and its parents only when it
/// is missing: a lake's folders mostly exist already, and asking first cost
/// two system calls per object.
fn create_in_folder(dir: &Path, path: &Path) -> std::io::Result<File> {
    match File::create(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            File::create(path)
        }
        created => created,
    }
}

/// Keys of the files under `dir` (whose key is `key`), skipping the hidden
/// temporary files of writes in flight.
fn list_files(dir: &Path, key: &str, keys: &mut Vec<(String, u64)>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let child = format!("{key}/{name}");
        if entry.file_type()?.is_dir() {
            list_files(&entry.path(), &child, keys)?;
        } else {
            keys.push((child, entry.metadata()?.len()));
        }
    }
    Ok(())
}

fn count_files(dir: &Path) -> Result<u64> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut count = 0;
    for entry in entries {
        let entry = entry?;
        count += if entry.file_type()?.is_dir() {
            count_files(&entry.path())?
        } else {
            1
        };
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_atomic_and_idempotent() {
        let dir = std::env::temp_dir().join(format!("store-test-{}", std::process::id()));
        let store = LocalStore::new(&dir);
        assert_eq!(
            store.put("k/a.parquet", b"one").unwrap(),
            PutOutcome::Written
        );
        assert_eq!(
            store.put("k/a.parquet", b"one").unwrap(),
            PutOutcome::Unchanged
        );
        assert_eq!(
            store.put("k/a.parquet", b"two").unwrap(),
            PutOutcome::Written
        );
        assert_eq!(std::fs::read(dir.join("k/a.parquet")).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.join("k"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("a.parquet")],
            "no temporary file left"
        );
        store.put("k/b/c.json", b"{}").unwrap();
        // conditional writes: lock files are hidden, not objects
        let version = store.put_if(
            "k/b/c.json",
            b"[1]",
            &Expected::Version(content_etag(b"{}")),
        );
        assert_eq!(version.unwrap(), content_etag(b"[1]"));
        assert!(store
            .put_if("k/b/c.json", b"[2]", &Expected::Absent)
            .is_err());
        assert_eq!(store.list("k/").unwrap(), ["k/a.parquet", "k/b/c.json"]);
        assert_eq!(store.list("none/").unwrap(), Vec::<String>::new());
        assert_eq!(store.delete_prefix("k/").unwrap(), 2);
        assert_eq!(store.delete_prefix("k/").unwrap(), 0);
        assert!(store.delete_prefix("../").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folders_are_made_when_missing_and_again_after_a_deletion() {
        let dir = std::env::temp_dir().join(format!("store-folders-{}", std::process::id()));
        let store = LocalStore::new(&dir);
        store.put("t/score=1/pctid=2/a.parquet", b"a").unwrap();
        store.put("t/score=1/pctid=2/b.parquet", b"b").unwrap();
        // Another process (or `clear`) removes the folders between writes.
        std::fs::remove_dir_all(dir.join("t")).unwrap();
        assert_eq!(
            store.put("t/score=1/pctid=2/a.parquet", b"a").unwrap(),
            PutOutcome::Written
        );
        assert_eq!(store.list("t/").unwrap(), ["t/score=1/pctid=2/a.parquet"]);
        // A file where a folder should be: a clear error naming the file.
        std::fs::write(dir.join("t/score=3"), b"").unwrap();
        let error = store.put("t/score=3/pctid=1/a.parquet", b"a").unwrap_err();
        assert!(
            format!("{error:#}").contains("t/score=3/pctid=1/a.parquet: Not a directory"),
            "{error:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
