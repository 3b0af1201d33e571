//! Sealing and opening values: a fresh data key per version, wrapped by the key provider, and
//! the bounded, zeroizing cache of unwrapped keys.

use std::sync::Arc;

use super::{Session, missing_value};
use crate::crypto::{self, DataKey, WrappedKey};
use crate::error::{Error, Result};
use crate::model::SecretValue;
use crate::storage::{self, Keyspace, SecretRecord, ValueRecord, ValueRecordRef, VersionMeta};

impl Session {
    /// Seals `value` for version `version` of the secret `arn` under a fresh data key.
    pub(crate) fn seal_value(
        &self,
        arn: &str,
        version: &str,
        value: &SecretValue,
    ) -> Result<ValueRecord> {
        let inner = self.inner();
        let key = DataKey::generate();
        let sealed = crypto::seal(
            &key,
            &crypto::aad_for_value(&inner.store_id, arn, version, value.is_binary()),
            value.expose_bytes(),
        )
        .map_err(|_| {
            Error::EncryptionFailure(crypto::ProviderError::Other(
                "the value could not be sealed".into(),
            ))
        })?;
        let key_id = inner.provider.current_key_id();
        let wrapped = inner
            .provider
            .wrap_key(
                &key_id,
                &key,
                &crypto::aad_for_key(&inner.store_id, arn, version),
            )
            .map_err(Error::EncryptionFailure)?;
        Ok(ValueRecord {
            binary: value.is_binary(),
            key_id: wrapped.key_id.as_str().to_owned(),
            wrapped_key: wrapped.bytes,
            nonce: sealed.nonce,
            ciphertext: sealed.ciphertext,
        })
    }

    /// Reads and opens the value of version `v` of `rec`; `None` if the value is not stored
    /// (removed since `rec` was read, by a clean-up or a purge).
    pub(crate) fn try_open_value(
        &self,
        rec: &SecretRecord,
        v: &VersionMeta,
    ) -> Result<Option<SecretValue>> {
        let inner = self.inner();
        let vkey = storage::value_key(&rec.uid, &v.id);
        let Some(bytes) = self.backend().get(Keyspace::Values, &vkey)? else {
            return Ok(None);
        };
        let vr: ValueRecordRef<'_> = storage::decode_borrowed(&bytes)?;
        let Some(binding) = &v.value else {
            return Err(missing_value());
        };
        if vr.nonce != binding.nonce || vr.key_id != binding.key_id {
            return Err(Error::Integrity(format!(
                "the value stored for version {} of secret '{}' is not the one its record names: \
                 it was put back from an earlier write",
                v.id, rec.name
            )));
        }
        let key = self.data_key(&vkey, rec, &v.id, &vr)?;
        let aad = crypto::aad_for_value(&inner.store_id, &rec.arn, &v.id, vr.binary);
        let plain = crypto::open(&key, &aad, &vr.nonce, vr.ciphertext)
            .map_err(|_| Error::DecryptionFailure)?;
        SecretValue::from_plaintext(vr.binary, plain)
            .ok_or(Error::DecryptionFailure)
            .map(Some)
    }

    /// Like [`Session::try_open_value`], for a record read under the writer lock, where nothing
    /// can have removed the value: a missing value is a corrupt store.
    pub(crate) fn open_value(&self, rec: &SecretRecord, v: &VersionMeta) -> Result<SecretValue> {
        self.try_open_value(rec, v)?.ok_or_else(missing_value)
    }

    fn data_key(
        &self,
        vkey: &[u8],
        rec: &SecretRecord,
        version: &str,
        vr: &ValueRecordRef<'_>,
    ) -> Result<Arc<DataKey>> {
        let inner = self.inner();
        {
            let mut cache = inner.key_cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((wrapped, key)) = cache.get(vkey)
                && *wrapped == vr.wrapped_key
            {
                return Ok(Arc::clone(key));
            }
        }
        let wrapped = WrappedKey {
            key_id: crypto::KeyId::new(vr.key_id),
            bytes: vr.wrapped_key.to_vec(),
        };
        let key = inner
            .provider
            .unwrap_key(
                &wrapped,
                &crypto::aad_for_key(&inner.store_id, &rec.arn, version),
            )
            .map_err(|e| {
                if e.is_authentication() {
                    Error::DecryptionFailure
                } else {
                    Error::KeyProvider(e)
                }
            })?;
        let key = Arc::new(key);
        let mut cache = inner.key_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.put(vkey.to_vec(), (vr.wrapped_key.to_vec(), Arc::clone(&key)));
        Ok(key)
    }
}
