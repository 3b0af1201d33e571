//! Storage behind one narrow trait, its sled implementation, and the record codec.

mod authenticated;
mod codec;
mod records;
mod sled_backend;

use std::fmt;

pub(crate) use authenticated::{
    Authenticated, FORMAT_AUTHENTICATED, IntegrityKey, Stamp, describe as describe_record,
    enveloped, parts as authenticated_parts, verify_store,
};
pub use codec::DecodeError;
pub(crate) use codec::{FORMAT_V1, Plain, decode, decode_borrowed, encode};
pub(crate) use records::{
    Deletion, IntegrityRecord, MasterKeysRecord, MetaRecord, RotationConfig, RotationProgress,
    SecretKey, SecretRecord, StoredRules, ValueBinding, ValueRecord, ValueRecordRef, VersionMeta,
    value_key, value_prefix,
};
pub use sled_backend::SledBackend;

/// The separate key spaces a store keeps. A backend maps each to a table, tree or prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Keyspace {
    /// Store-wide metadata (store id, format).
    Meta,
    /// One record per secret: metadata, versions and labels. Key: region, 0x00, name.
    Secrets,
    /// One sealed value per version. Key: secret uid (16 bytes), version id.
    Values,
    /// Last-accessed dates (best effort, not synced on its own).
    Accessed,
    /// The audit log: one entry per sequence number. Key: the number, `u64` big-endian.
    Audit,
}

impl Keyspace {
    /// Every keyspace, in a fixed order.
    pub const ALL: [Self; 5] = [
        Self::Meta,
        Self::Secrets,
        Self::Values,
        Self::Accessed,
        Self::Audit,
    ];

    /// A stable short name, usable as a table or tree name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Meta => "meta",
            Self::Secrets => "secrets",
            Self::Values => "values",
            Self::Accessed => "accessed",
            Self::Audit => "audit",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Meta => 0,
            Self::Secrets => 1,
            Self::Values => 2,
            Self::Accessed => 3,
            Self::Audit => 4,
        }
    }
}

/// One write of a batch: a put (`Some`) or a delete (`None`).
#[derive(Clone, PartialEq, Eq)]
pub struct WriteOp {
    /// The keyspace.
    pub keyspace: Keyspace,
    /// The key.
    pub key: Vec<u8>,
    /// The new value, or `None` to delete.
    pub value: Option<Vec<u8>>,
}

impl fmt::Debug for WriteOp {
    // Values are sealed, but keep even ciphertext out of logs: lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteOp")
            .field("keyspace", &self.keyspace)
            .field("key_len", &self.key.len())
            .field("value_len", &self.value.as_ref().map(Vec::len))
            .finish()
    }
}

/// Writes that a backend applies all together or not at all.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, keyspace: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(WriteOp {
            keyspace,
            key,
            value: Some(value),
        });
    }

    /// Adds a delete.
    pub fn delete(&mut self, keyspace: Keyspace, key: Vec<u8>) {
        self.ops.push(WriteOp {
            keyspace,
            key,
            value: None,
        });
    }

    /// The writes, in order (a later write to the same key wins).
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// One change of the store, in three stages, so that a backend can make it both atomic and cheap.
///
/// `prepare` writes data that nothing reads until `commit` lands (the value of a new version);
/// `commit` makes the change visible and must be applied atomically; `cleanup` removes data that
/// nothing reads once `commit` landed (values of removed versions). A crash may leave prepared
/// or not-yet-cleaned data behind; it is unreachable, never wrong.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    /// Writes that become reachable only through `commit`.
    pub prepare: WriteBatch,
    /// The writes that make the change visible, all together or not at all.
    pub commit: WriteBatch,
    /// Writes of data that is unreachable once `commit` is applied.
    pub cleanup: WriteBatch,
    /// Where the audit chain stands once this change is committed: the entry describing it,
    /// written in `prepare`. A backend that authenticates records keeps it with the commit
    /// (the store's commit stamp), so that an entry for a change that did not commit is told
    /// apart at the next open. Other backends ignore it.
    pub audit: Option<AuditMark>,
}

/// A position in the audit chain: an entry's sequence number and its chain hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditMark {
    /// The entry's sequence number.
    pub seq: u64,
    /// The chain hash through that entry.
    pub hash: [u8; 32],
}

impl Commit {
    /// A change made only of visible writes.
    pub fn visible(commit: WriteBatch) -> Self {
        Self {
            commit,
            ..Self::default()
        }
    }
}

/// A key and its value, as a scan returns them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A failure of the storage backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O error.
    #[error("storage I/O failed")]
    Io(#[from] std::io::Error),
    /// The backend reported corruption or another internal failure.
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// A stored record failed its integrity check: it was changed, copied or rolled back outside
    /// the store. The message names the record (never a value).
    #[error("a stored record failed its integrity check: {0}")]
    Integrity(String),
}

/// The only way the engine reaches the disk.
///
/// Contract: `apply` is atomic (a reader sees all of a batch or none of it, also after a crash);
/// `sync` returns only once everything applied before it survives a crash or power loss; reads
/// never block on `sync`. A backend must be usable from many threads at once.
pub trait StorageBackend: Send + Sync + fmt::Debug {
    /// The value under `key`.
    fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Every entry whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<Vec<Entry>, StorageError>;

    /// The keys of every entry whose key starts with `prefix`, in key order. The default reads
    /// the entries and drops their values.
    fn scan_keys(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(self
            .scan_prefix(keyspace, prefix)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// Up to `limit` entries whose key is `start` or after it, in key order. The default scans
    /// the whole keyspace.
    fn scan_from(
        &self,
        keyspace: Keyspace,
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(self
            .scan_prefix(keyspace, b"")?
            .into_iter()
            .filter(|(k, _)| k.as_slice() >= start)
            .take(limit)
            .collect())
    }

    /// The entry with the greatest key. The default scans the whole keyspace.
    fn last(&self, keyspace: Keyspace) -> Result<Option<Entry>, StorageError> {
        Ok(self.scan_prefix(keyspace, b"")?.pop())
    }

    /// Applies `batch` atomically. Not necessarily durable until [`StorageBackend::sync`].
    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError>;

    /// Makes every applied batch durable.
    fn sync(&self) -> Result<(), StorageError>;

    /// Applies one change and makes it durable before returning. The default applies all three
    /// stages as one atomic batch, then syncs; a backend may do better as long as a crash at any
    /// point leaves `commit` wholly applied or wholly absent, and `commit` never visible without
    /// `prepare`.
    fn commit(&self, change: &Commit) -> Result<(), StorageError> {
        let mut all = WriteBatch::new();
        for stage in [&change.prepare, &change.commit, &change.cleanup] {
            all.ops.extend(stage.ops.iter().cloned());
        }
        self.apply(&all)?;
        self.sync()
    }
}
