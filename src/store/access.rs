//! Last-accessed dates (GET-8): written at most once a day per secret and version, best effort.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use super::{Session, record::access_key};
use crate::clock::{self};
use crate::error::Result;
use crate::storage::{self, Keyspace, SecretRecord, WriteBatch};

impl Session {
    /// Records today's date as the last access of the secret and of version `version` (GET-8).
    /// Best effort: written at most once a day per item, not synced on its own, never failing the read.
    pub(crate) fn note_access(&self, rec: &SecretRecord, version: &str) {
        let inner = self.inner();
        if inner.poisoned.load(Ordering::Acquire) {
            return;
        }
        let today = clock::day_start(self.now_ms());
        let keys = [
            access_key(&rec.uid, None),
            access_key(&rec.uid, Some(version)),
        ];
        let mut writes = Vec::new();
        {
            let mut memo = inner.accessed.lock().unwrap_or_else(|p| p.into_inner());
            if memo.len() > 100_000 {
                memo.clear();
            }
            for k in keys {
                if memo.get(&k).is_some_and(|d| *d >= today) {
                    continue;
                }
                memo.insert(k.clone(), today);
                if let Ok(bytes) = storage::encode(&today) {
                    writes.push((k, bytes));
                }
            }
        }
        // Each date on its own: they need no atomicity, and a single write is the cheapest.
        // A failure here loses only the date; the read itself succeeded.
        for (k, bytes) in writes {
            let mut batch = WriteBatch::new();
            batch.put(Keyspace::Accessed, k, bytes);
            let _ignored = self.backend().apply(&batch);
        }
    }

    pub(crate) fn last_accessed(
        &self,
        uid: &[u8; 16],
        version: Option<&str>,
    ) -> Result<Option<SystemTime>> {
        match self
            .backend()
            .get(Keyspace::Accessed, &access_key(uid, version))?
        {
            Some(bytes) => Ok(Some(clock::from_millis(storage::decode::<u64>(&bytes)?))),
            None => Ok(None),
        }
    }
}
