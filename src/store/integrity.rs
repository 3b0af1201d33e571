//! Opening a store's records: the integrity key (made for a new store, unwrapped by the key
//! provider for an existing one), the check of every metadata record against the last commit's
//! stamp, and the one-time upgrade of a store written before records were authenticated.
//! Everything after the open reads and writes through the [`Authenticated`] backend this returns.

use std::sync::Arc;

use super::record::bind_value;
use super::{META_KEY, master_keys};
use crate::crypto::{self, DataKey, KeyId, KeyProvider, ProviderError, WrappedKey};
use crate::error::{Error, Result};
use crate::storage::{
    self, Authenticated, Commit, FORMAT_AUTHENTICATED, IntegrityKey, IntegrityRecord, Keyspace,
    MetaRecord, SecretRecord, Stamp, StorageBackend, ValueRecord, WriteBatch,
};

/// The `Meta` key of the [`IntegrityRecord`].
const INTEGRITY_KEY: &[u8] = b"integrity";

/// A store's records, ready for use.
pub(super) struct Opened {
    /// The authenticated backend over the store's own.
    pub(super) backend: Arc<Authenticated>,
    pub(super) store_id: [u8; 16],
}

/// Opens the records of `raw` (see the module documentation).
/// With `upgrade`, a store whose records are not authenticated is upgraded; without, refused.
pub(super) fn open(
    raw: Arc<dyn StorageBackend>,
    provider: &dyn KeyProvider,
    now_ms: u64,
    upgrade: bool,
) -> Result<Opened> {
    match raw.get(Keyspace::Meta, INTEGRITY_KEY)? {
        Some(bytes) => open_authenticated(raw, provider, &bytes),
        None => initialize(raw, provider, now_ms, upgrade),
    }
}

/// The contents of an authenticated record, unchecked (see [`storage::authenticated_parts`]).
fn unchecked(keyspace: Keyspace, key: &[u8], bytes: &[u8]) -> Result<Vec<u8>> {
    storage::authenticated_parts(bytes)
        .map(|p| p.inner.to_vec())
        .ok_or_else(|| {
            Error::Integrity(format!(
                "{} is not an authenticated record",
                storage::describe_record(keyspace, key)
            ))
        })
}

fn open_authenticated(
    raw: Arc<dyn StorageBackend>,
    provider: &dyn KeyProvider,
    integrity: &[u8],
) -> Result<Opened> {
    // A missing key file gets its clear error before anything else is tried.
    let ids = master_keys::recorded(&*raw)?;
    master_keys::refuse_unknown(&ids, provider)?;
    let meta_bytes = raw
        .get(Keyspace::Meta, META_KEY)?
        .ok_or_else(|| Error::Integrity("the store record is missing".into()))?;
    let meta: MetaRecord = storage::decode(&unchecked(Keyspace::Meta, META_KEY, &meta_bytes)?)?;
    let record: IntegrityRecord =
        storage::decode(&unchecked(Keyspace::Meta, INTEGRITY_KEY, integrity)?)?;
    let key_id = KeyId::new(record.key_id);
    let wrapped = WrappedKey {
        key_id: key_id.clone(),
        bytes: record.wrapped,
    };
    let key = provider
        .unwrap_key(&wrapped, &crypto::aad_for_integrity_key(&meta.store_id))
        .map_err(|e| match e {
            ProviderError::UnknownKey(id) => Error::UnknownMasterKey {
                expected: vec![id],
                current: provider.current_key_id(),
            },
            ProviderError::Rejected => Error::Integrity(format!(
                "the store's integrity key does not open under master key {key_id}: the store \
                 record or the integrity record was changed, or the key provider holds another \
                 key under that id"
            )),
            other => Error::KeyProvider(other),
        })?;
    let key = IntegrityKey::new(key.expose());
    let stamp = storage::verify_store(&*raw, &key)?;
    let backend = Arc::new(Authenticated::new(raw, key, stamp));
    // Read again, now checked.
    let meta: MetaRecord = match backend.get(Keyspace::Meta, META_KEY)? {
        Some(bytes) => storage::decode(&bytes)?,
        None => return Err(Error::Integrity("the store record is missing".into())),
    };
    master_keys::record_current(&*backend, provider)?;
    Ok(Opened {
        backend,
        store_id: meta.store_id,
    })
}

/// `rec` with each of its versions bound to the value stored for it (a record of format 1 or 2
/// names none); a version whose value is missing stays unbound, and reads as corrupt.
fn bind_stored_values(raw: &dyn StorageBackend, mut rec: SecretRecord) -> Result<SecretRecord> {
    let unbound: Vec<String> = rec
        .versions
        .iter()
        .filter(|v| v.has_value && v.value.is_none())
        .map(|v| v.id.clone())
        .collect();
    for id in unbound {
        if let Some(bytes) = raw.get(Keyspace::Values, &storage::value_key(&rec.uid, &id))? {
            let vr: ValueRecord = storage::decode(&bytes)?;
            bind_value(&mut rec, &id, &vr);
        }
    }
    Ok(rec)
}

/// A new store, or one written before records were authenticated: makes its integrity key and
/// rewrites every record but the values (authenticated by their own AEAD) authenticated, in one
/// atomic commit (a crash leaves the store as it
/// was, and the next open starts again).
fn initialize(
    raw: Arc<dyn StorageBackend>,
    provider: &dyn KeyProvider,
    now_ms: u64,
    upgrade: bool,
) -> Result<Opened> {
    let mut records: Vec<(Keyspace, Vec<u8>, Vec<u8>)> = Vec::new();
    for keyspace in Keyspace::ALL
        .into_iter()
        .filter(|ks| storage::enveloped(*ks))
    {
        for (k, v) in raw.scan_prefix(keyspace, b"")? {
            if v.first() == Some(&FORMAT_AUTHENTICATED) {
                return Err(Error::Integrity(format!(
                    "{} is authenticated but the store's integrity record is missing: it was \
                     removed outside the store",
                    storage::describe_record(keyspace, &k)
                )));
            }
            records.push((keyspace, k, v));
        }
    }
    let ids = master_keys::recorded(&*raw)?;
    master_keys::refuse_unknown(&ids, provider)?;
    let empty = records.is_empty() && raw.scan_keys(Keyspace::Values, b"")?.is_empty();
    if !empty && !upgrade {
        // Without an anchor outside the folder, a store whose authentication was stripped
        // looks just like one written before it existed: the operator says which it is.
        return Err(Error::Integrity(
            "the store's records are not authenticated: it was written by a version of \
             strongroom before record authentication (format 3), or someone with access to its \
             files removed their authentication. If you are upgrading, open it once with \
             StoreBuilder::upgrade_unauthenticated_store (the server's --upgrade-store) to \
             authenticate them; otherwise restore the store from a backup"
                .into(),
        ));
    }
    let meta = match raw.get(Keyspace::Meta, META_KEY)? {
        Some(bytes) => storage::decode::<MetaRecord>(&bytes)?,
        None if empty => {
            let mut store_id = [0u8; 16];
            rand::Rng::fill_bytes(&mut rand::rng(), &mut store_id);
            MetaRecord {
                store_id,
                created_ms: now_ms,
            }
        }
        None => {
            return Err(Error::Corrupt(storage::DecodeError::Malformed(
                "the store holds records but no store record".into(),
            )));
        }
    };
    let key = DataKey::generate();
    let wrapped = provider
        .wrap_key(
            &provider.current_key_id(),
            &key,
            &crypto::aad_for_integrity_key(&meta.store_id),
        )
        .map_err(Error::EncryptionFailure)?;
    let mut batch = WriteBatch::new();
    for (keyspace, k, v) in records {
        match keyspace {
            Keyspace::Meta if k == META_KEY || k == master_keys::MASTER_KEYS_KEY => {}
            Keyspace::Secrets => {
                let rec = bind_stored_values(&*raw, SecretRecord::decode(&v)?)?;
                batch.put(keyspace, k, rec.encode()?);
            }
            _ => batch.put(keyspace, k, v),
        }
    }
    batch.put(Keyspace::Meta, META_KEY.to_vec(), storage::encode(&meta)?);
    master_keys::put(&mut batch, &master_keys::with_current(ids, provider))?;
    batch.put(
        Keyspace::Meta,
        INTEGRITY_KEY.to_vec(),
        storage::encode(&IntegrityRecord {
            key_id: wrapped.key_id.as_str().to_owned(),
            wrapped: wrapped.bytes,
        })?,
    );
    let authenticated = Authenticated::new(raw, IntegrityKey::new(key.expose()), Stamp::default());
    authenticated.commit_fresh(&Commit::visible(batch))?;
    Ok(Opened {
        backend: Arc::new(authenticated),
        store_id: meta.store_id,
    })
}
