//! Which master keys the store's data keys are wrapped under, so that a store is never opened
//! with a key provider that holds none of them (a deleted or swapped key file would otherwise
//! give a fresh key: old values would fail to decrypt while new ones were written under it).

use crate::crypto::{KeyId, KeyProvider};
use crate::error::{Error, Result};
use crate::storage::{self, Keyspace, MasterKeysRecord, StorageBackend, ValueRecord, WriteBatch};

const MASTER_KEYS_KEY: &[u8] = b"master-keys";

/// The master key ids the store's data is wrapped under: the record, or for a store written
/// before the record existed, the ids found on its values (read once, then recorded).
pub(super) fn recorded(backend: &dyn StorageBackend) -> Result<(Vec<KeyId>, bool)> {
    if let Some(bytes) = backend.get(Keyspace::Meta, MASTER_KEYS_KEY)? {
        let record: MasterKeysRecord = storage::decode(&bytes)?;
        return Ok((record.ids.into_iter().map(KeyId::new).collect(), true));
    }
    let mut ids: Vec<KeyId> = Vec::new();
    for (_, bytes) in backend.scan_prefix(Keyspace::Values, b"")? {
        let value: ValueRecord = storage::decode(&bytes)?;
        let id = KeyId::new(value.key_id.as_str());
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok((ids, false))
}

/// Refuses `provider` if the store's data is wrapped under keys it does not hold; otherwise
/// records its current key (durably) if it is not recorded yet.
pub(super) fn check(backend: &dyn StorageBackend, provider: &dyn KeyProvider) -> Result<()> {
    let (mut ids, was_recorded) = recorded(backend)?;
    let current = provider.current_key_id();
    if !ids.is_empty() && !ids.iter().any(|id| provider.has_key(id)) {
        return Err(Error::UnknownMasterKey {
            expected: ids,
            current,
        });
    }
    if was_recorded && ids.contains(&current) {
        return Ok(());
    }
    if !ids.contains(&current) {
        ids.push(current);
    }
    let record = MasterKeysRecord {
        ids: ids.iter().map(|id| id.as_str().to_owned()).collect(),
    };
    let mut batch = WriteBatch::new();
    batch.put(
        Keyspace::Meta,
        MASTER_KEYS_KEY.to_vec(),
        storage::encode(&record)?,
    );
    backend.apply(&batch)?;
    backend.sync()?;
    Ok(())
}
