//! Which master keys the store's data keys are wrapped under, so that a store is never opened
//! with a key provider that holds none of them (a deleted or swapped key file would otherwise
//! give a fresh key: old values would fail to decrypt while new ones were written under it).

use crate::crypto::{KeyId, KeyProvider};
use crate::error::{Error, Result};
use crate::storage::{
    self, Commit, Keyspace, MasterKeysRecord, StorageBackend, ValueRecord, WriteBatch,
};

pub(super) const MASTER_KEYS_KEY: &[u8] = b"master-keys";

/// The bare record in `bytes`: an authenticated record's contents (not checked: the ids only
/// name the key to ask for, and the record is checked once the integrity key is unwrapped), or
/// the bytes themselves.
fn bare(bytes: &[u8]) -> &[u8] {
    storage::authenticated_parts(bytes).map_or(bytes, |p| p.inner)
}

/// The master key ids the store's data is wrapped under: the record, or for a store written
/// before the record existed, the ids found on its values.
pub(super) fn recorded(backend: &dyn StorageBackend) -> Result<Vec<KeyId>> {
    if let Some(bytes) = backend.get(Keyspace::Meta, MASTER_KEYS_KEY)? {
        let record: MasterKeysRecord = storage::decode(bare(&bytes))?;
        return Ok(record.ids.into_iter().map(KeyId::new).collect());
    }
    let mut ids: Vec<KeyId> = Vec::new();
    for (_, bytes) in backend.scan_prefix(Keyspace::Values, b"")? {
        let value: ValueRecord = storage::decode(bare(&bytes))?;
        let id = KeyId::new(value.key_id.as_str());
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Refuses `provider` if the store's data is wrapped under keys (`ids`) it holds none of.
pub(super) fn refuse_unknown(ids: &[KeyId], provider: &dyn KeyProvider) -> Result<()> {
    if !ids.is_empty() && !ids.iter().any(|id| provider.has_key(id)) {
        return Err(Error::UnknownMasterKey {
            expected: ids.to_vec(),
            current: provider.current_key_id(),
        });
    }
    Ok(())
}

/// `ids` with the provider's current key added if it is new.
pub(super) fn with_current(mut ids: Vec<KeyId>, provider: &dyn KeyProvider) -> Vec<KeyId> {
    let current = provider.current_key_id();
    if !ids.contains(&current) {
        ids.push(current);
    }
    ids
}

/// Puts the record of `ids` into `batch`.
pub(super) fn put(batch: &mut WriteBatch, ids: &[KeyId]) -> Result<()> {
    let record = MasterKeysRecord {
        ids: ids.iter().map(|id| id.as_str().to_owned()).collect(),
    };
    batch.put(
        Keyspace::Meta,
        MASTER_KEYS_KEY.to_vec(),
        storage::encode(&record)?,
    );
    Ok(())
}

/// Records the provider's current key (durably), if it is not recorded yet.
pub(super) fn record_current(
    backend: &dyn StorageBackend,
    provider: &dyn KeyProvider,
) -> Result<()> {
    let ids = recorded(backend)?;
    let updated = with_current(ids.clone(), provider);
    if updated == ids {
        return Ok(());
    }
    let mut batch = WriteBatch::new();
    put(&mut batch, &updated)?;
    backend.commit(&Commit::visible(batch))?;
    Ok(())
}
