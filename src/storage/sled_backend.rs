use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Commit, Entry, Keyspace, StorageBackend, StorageError, WriteBatch};

/// The default backend: sled 0.34, one tree per [`Keyspace`].
///
/// Durability: sled's `flush` only issues `sync_file_range`, which flushes neither the disk's
/// cache nor the file's metadata, and sled never `fsync`s the separate files it writes (blobs,
/// snapshots). [`SledBackend::sync`] therefore `fsync`s any new blob file first, then flushes,
/// then `fsync`s the data file, and the folders whenever their entries changed.
///
/// Blobs would also break the ordering the commit protocol relies on (sled skips a missing blob
/// at recovery and goes on), so the database uses 8 MiB segments: sled moves an item to a blob
/// only above a quarter of a segment, and no page of this store comes near 2 MiB (a value is at
/// most 64 KiB and a page holds at most 17 items).
pub struct SledBackend {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    path: PathBuf,
    data_file: File,
    sync_state: Mutex<SyncState>,
}

/// What `sync` has already made durable outside the data file.
#[derive(Default)]
struct SyncState {
    /// Blob files, by name, with the length they had when synced.
    blobs: HashMap<OsString, u64>,
    /// Modification times of the folders when their entries were last synced.
    folders: HashMap<PathBuf, SystemTime>,
}

/// The segment size; see the type's documentation. Recorded by sled in the store's `conf` file.
pub(crate) const SEGMENT_SIZE: usize = 8 << 20;

/// The entries a sled scan yields, copied out.
fn entries(
    scan: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
) -> Result<Vec<Entry>, StorageError> {
    scan.map(|r| {
        r.map(|(k, v)| (k.to_vec(), v.to_vec()))
            .map_err(backend_err)
    })
    .collect()
}

fn backend_err(e: sled::Error) -> StorageError {
    match e {
        sled::Error::Io(io) => StorageError::Io(io),
        other => StorageError::Backend(other.to_string()),
    }
}

impl SledBackend {
    /// Opens (or creates) a sled database in the folder `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        std::fs::create_dir_all(&path)?;
        // Private whoever made the folder: sled creates its files with the process's umask.
        make_private(&path)?;
        // No background flusher: every acknowledged write is synced by `sync` anyway, and the
        // flusher thread would keep the folder locked for a while after the store is dropped,
        // so a store could not be reopened at once in the same process.
        let db = open_db(&path)?;
        let trees = Keyspace::ALL
            .iter()
            .map(|ks| db.open_tree(ks.name()).map_err(backend_err))
            .collect::<Result<Vec<_>, _>>()?;
        make_private(&path)?;
        let data_file = File::open(path.join("db"))?;
        let backend = Self {
            db,
            trees,
            path,
            data_file,
            sync_state: Mutex::new(SyncState::default()),
        };
        // Make a newly created database, and its folder entries, durable.
        backend.sync()?;
        if let Some(parent) = backend.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(backend)
    }

    fn tree(&self, ks: Keyspace) -> Result<&sled::Tree, StorageError> {
        self.trees
            .get(ks.index())
            .ok_or_else(|| StorageError::Backend(format!("no tree for keyspace {}", ks.name())))
    }

    /// Applies each write on its own, in order (each one atomic, the whole not).
    fn apply_in_order(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        for op in batch.ops() {
            let tree = self.tree(op.keyspace)?;
            match &op.value {
                Some(v) => tree.insert(op.key.as_slice(), v.as_slice()),
                None => tree.remove(op.key.as_slice()),
            }
            .map_err(backend_err)?;
        }
        Ok(())
    }

    /// `fsync`s every blob file that is new or has grown since the last sync.
    fn sync_blobs(&self, state: &mut SyncState) -> Result<(), StorageError> {
        let dir = self.path.join("blobs");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut present = HashMap::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let len = match entry.metadata() {
                Ok(m) => m.len(),
                // sled removed it meanwhile: nothing to make durable.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if state.blobs.get(&name) != Some(&len) {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_all()?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            present.insert(name, len);
        }
        state.blobs = present;
        Ok(())
    }

    /// `fsync`s `dir` if its entries changed since it was last synced (a cheap `stat` otherwise).
    fn sync_folder_if_changed(
        &self,
        state: &mut SyncState,
        dir: &Path,
    ) -> Result<(), StorageError> {
        let modified = match std::fs::metadata(dir) {
            Ok(m) => m.modified()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if state.folders.get(dir) != Some(&modified) {
            sync_dir(dir)?;
            state.folders.insert(dir.to_path_buf(), modified);
        }
        Ok(())
    }
}

/// Opens the database, waiting a little while its folder is still locked.
///
/// sled finishes some work of a dropped database (log writes, segment truncations) on its own
/// background threads, which keep the folder's lock until they end. So a store closed and
/// reopened at once in one process can find the lock still held for a moment: retry for up to
/// about two seconds before reporting the folder as in use.
fn open_db(path: &Path) -> Result<sled::Db, StorageError> {
    let config = sled::Config::new()
        .path(path)
        .flush_every_ms(None)
        .segment_size(SEGMENT_SIZE);
    let mut wait = std::time::Duration::from_millis(1);
    let mut waited = std::time::Duration::ZERO;
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if is_lock_contention(&e) => {
                if waited >= std::time::Duration::from_secs(2) {
                    return Err(StorageError::Backend(format!(
                        "the store folder {} is in use by another process (or another store in this one)",
                        path.display()
                    )));
                }
                std::thread::sleep(wait);
                waited += wait;
                wait = (wait * 2).min(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(backend_err(e)),
        }
    }
}

/// sled reports a held folder lock as an I/O error wrapping `WouldBlock`.
fn is_lock_contention(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

impl StorageBackend for SledBackend {
    fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .tree(keyspace)?
            .get(key)
            .map_err(backend_err)?
            .map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        entries(self.tree(keyspace)?.scan_prefix(prefix))
    }

    fn scan_keys(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StorageError> {
        self.tree(keyspace)?
            .scan_prefix(prefix)
            .keys()
            .map(|r| r.map(|k| k.to_vec()).map_err(backend_err))
            .collect()
    }

    fn scan_from(
        &self,
        keyspace: Keyspace,
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StorageError> {
        entries(self.tree(keyspace)?.range(start..).take(limit))
    }

    fn last(&self, keyspace: Keyspace) -> Result<Option<Entry>, StorageError> {
        Ok(self
            .tree(keyspace)?
            .last()
            .map_err(backend_err)?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        // One write is atomic by itself; a sled transaction would cost extra log writes.
        if batch.ops().len() <= 1 {
            return self.apply_in_order(batch);
        }
        // A transaction over only the trees the batch touches: each extra tree costs log writes.
        let mut touched: Vec<Keyspace> = Vec::new();
        for op in batch.ops() {
            if !touched.contains(&op.keyspace) {
                touched.push(op.keyspace);
            }
        }
        let trees = touched
            .iter()
            .map(|ks| self.tree(*ks))
            .collect::<Result<Vec<_>, _>>()?;
        let result: Result<(), TransactionError<()>> =
            sled::Transactional::transaction(trees.as_slice(), |views| {
                for op in batch.ops() {
                    let view = touched
                        .iter()
                        .position(|ks| *ks == op.keyspace)
                        .and_then(|i| views.get(i))
                        .ok_or(ConflictableTransactionError::Abort(()))?;
                    match &op.value {
                        Some(v) => view.insert(op.key.as_slice(), v.as_slice())?,
                        None => view.remove(op.key.as_slice())?,
                    };
                }
                Ok(())
            });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(())) => Err(StorageError::Backend(
                "a batch named an unknown keyspace".into(),
            )),
            Err(TransactionError::Storage(e)) => Err(backend_err(e)),
        }
    }

    /// Applies `prepare`, `commit` and `cleanup` in that order, then syncs once.
    ///
    /// sled recovers its log as a prefix, in the order writes were made, so the prepared writes
    /// are durable whenever the commit is; and a single-key commit is atomic by itself. A sled
    /// batch or transaction costs extra log writes (it rolls the log buffer twice), so only a
    /// commit of several keys pays for one.
    fn commit(&self, change: &Commit) -> Result<(), StorageError> {
        self.apply_in_order(&change.prepare)?;
        match change.commit.ops() {
            [] => {}
            [_] => self.apply_in_order(&change.commit)?,
            _ => self.apply(&change.commit)?,
        }
        self.apply_in_order(&change.cleanup)?;
        self.sync()
    }

    fn sync(&self) -> Result<(), StorageError> {
        let mut state = self.sync_state.lock().unwrap_or_else(|p| p.into_inner());
        // Blobs first, so that no durable log entry ever points at a blob that is not.
        self.sync_blobs(&mut state)?;
        self.db.flush().map_err(backend_err)?;
        self.data_file.sync_data()?;
        // sled creates and renames snapshot files without syncing the folder.
        self.sync_folder_if_changed(&mut state, &self.path)?;
        self.sync_folder_if_changed(&mut state, &self.path.join("blobs"))
    }
}

impl Drop for SledBackend {
    /// Finishes sled's pending log writes, so that what is applied (acknowledged writes were
    /// already synced) reaches the file and the folder is released sooner.
    fn drop(&mut self) {
        let _ignored = self.db.flush();
    }
}

impl fmt::Debug for SledBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Makes the folder `dir` and everything under it private to its owner: folders mode 0700,
/// files 0600 (symbolic links are left alone). Files sled creates later are private through the
/// folder, whatever the umask.
fn make_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            make_private(&entry.path())?;
        } else if kind.is_file() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_and_folder_of_the_store_is_private_in_a_shared_folder() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        // A folder made by someone else, open to all, with a file already in it.
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(path.join("notes.txt"), "left here\n").unwrap();
        std::fs::set_permissions(
            path.join("notes.txt"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let backend = SledBackend::open(&path).unwrap();
        let mut batch = WriteBatch::new();
        batch.put(Keyspace::Secrets, b"k".to_vec(), b"v".to_vec());
        backend.apply(&batch).unwrap();
        backend.sync().unwrap();
        drop(backend);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o700);
        let mut files = 0;
        for entry in std::fs::read_dir(&path).unwrap() {
            let p = entry.unwrap().path();
            let expected = if p.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&p), expected, "{}", p.display());
            files += 1;
        }
        assert!(files >= 2, "sled's files are there");
    }

    #[test]
    fn batches_apply_across_keyspaces_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = SledBackend::open(dir.path()).unwrap();
            let mut batch = WriteBatch::new();
            batch.put(Keyspace::Secrets, b"r\0a".to_vec(), b"1".to_vec());
            batch.put(Keyspace::Values, b"x".to_vec(), vec![9; 200_000]);
            batch.put(Keyspace::Secrets, b"r\0b".to_vec(), b"2".to_vec());
            b.apply(&batch).unwrap();
            b.sync().unwrap();
            let mut del = WriteBatch::new();
            del.delete(Keyspace::Secrets, b"r\0b".to_vec());
            b.apply(&del).unwrap();
            b.sync().unwrap();
        }
        let b = SledBackend::open(dir.path()).unwrap();
        assert_eq!(b.get(Keyspace::Secrets, b"r\0a").unwrap().unwrap(), b"1");
        assert_eq!(
            b.get(Keyspace::Values, b"x").unwrap().unwrap().len(),
            200_000
        );
        assert_eq!(b.scan_prefix(Keyspace::Secrets, b"r\0").unwrap().len(), 1);
        assert!(b.get(Keyspace::Meta, b"r\0a").unwrap().is_none());
    }

    #[test]
    fn a_folder_in_use_is_refused_and_free_again_once_closed() {
        let dir = tempfile::tempdir().unwrap();
        let first = SledBackend::open(dir.path()).unwrap();
        let e = SledBackend::open(dir.path()).unwrap_err();
        assert!(e.to_string().contains("in use"), "{e}");
        drop(first);
        for _ in 0..20 {
            // Closing and reopening at once works every time.
            drop(SledBackend::open(dir.path()).unwrap());
        }
    }

    #[test]
    fn the_largest_values_never_become_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let b = SledBackend::open(dir.path()).unwrap();
        for i in 0u8..40 {
            let mut batch = WriteBatch::new();
            // Neighbouring keys, so they share leaf pages: 40 values of 64 KiB plus record overhead.
            batch.put(Keyspace::Values, vec![7, i], vec![i; 65_536 + 200]);
            b.commit(&Commit {
                prepare: batch,
                ..Commit::default()
            })
            .unwrap();
        }
        let blobs = std::fs::read_dir(dir.path().join("blobs"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(
            blobs, 0,
            "sled wrote blob files, which the commit protocol cannot rely on"
        );
    }
}
