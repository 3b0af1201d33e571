use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::DataKey;

/// The id of a master key. Not secret: safe to store, compare and print.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(String);

impl KeyId {
    /// A key id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A data key wrapped (encrypted) under a master key. Not secret: safe to store and print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// The master key that wrapped it.
    pub key_id: KeyId,
    /// The provider's wrapped form.
    pub bytes: Vec<u8>,
}

/// Why a key provider failed. Never holds key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The wrapped key did not authenticate under the named master key with this associated data.
    #[error("the wrapped data key was rejected")]
    Rejected,
    /// The wrapped key names a master key this provider does not hold (or has retired).
    #[error("unknown master key {0}")]
    UnknownKey(KeyId),
    /// A key file is missing, unreadable, of the wrong size, or readable by others.
    #[error("key file {}: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a key file failed.
    #[error("key file {}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Any other failure of a provider outside this crate.
    #[error("key provider failed")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ProviderError {
    /// Whether the failure means "these bytes do not open" (as opposed to "the provider is broken").
    pub(crate) fn is_authentication(&self) -> bool {
        matches!(self, Self::Rejected | Self::UnknownKey(_))
    }
}

/// Wraps per-version data keys under master keys that never leave the provider.
///
/// Contract: `unwrap_key` of bytes not made by `wrap_key` with the same `aad` returns `Err`
/// (never a wrong key, never a panic); every id once returned by `current_key_id` stays
/// unwrappable until the operator retires it; errors never contain key material.
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// The master key new data keys are wrapped under.
    fn current_key_id(&self) -> KeyId;

    /// Wraps `key` under master key `key_id`, binding `aad`.
    fn wrap_key(
        &self,
        key_id: &KeyId,
        key: &DataKey,
        aad: &[u8],
    ) -> Result<WrappedKey, ProviderError>;

    /// Unwraps a key made by `wrap_key` with the same `aad`.
    fn unwrap_key(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, ProviderError>;

    /// Whether this provider can unwrap keys wrapped under master key `key_id`. The store asks
    /// at open, and refuses a provider that knows none of the keys its data is wrapped under.
    /// The default knows only the current key; a provider that keeps retired keys says so.
    fn has_key(&self, key_id: &KeyId) -> bool {
        *key_id == self.current_key_id()
    }
}

/// A conformance check every `KeyProvider` should pass: round trip, binding of `aad`, rejection
/// of tampered bytes and of unknown key ids. Panics with a message on the first failure.
#[cfg(any(test, feature = "test-util"))]
pub mod conformance {
    use super::*;

    /// Runs the checks against `provider`.
    #[expect(clippy::panic, reason = "a test helper reports failures by panicking")]
    pub fn check(provider: &dyn KeyProvider) {
        let id = provider.current_key_id();
        let key = DataKey::generate();
        let wrapped = provider
            .wrap_key(&id, &key, b"aad-1")
            .unwrap_or_else(|e| panic!("wrap failed: {e}"));
        assert_eq!(
            wrapped.key_id, id,
            "a wrapped key records its master key id"
        );
        let back = provider
            .unwrap_key(&wrapped, b"aad-1")
            .unwrap_or_else(|e| panic!("unwrap failed: {e}"));
        assert_eq!(back.expose(), key.expose(), "round trip");
        assert!(
            provider.unwrap_key(&wrapped, b"aad-2").is_err(),
            "aad is bound"
        );
        for i in 0..wrapped.bytes.len() {
            let mut t = wrapped.clone();
            if let Some(b) = t.bytes.get_mut(i) {
                *b ^= 0x01;
            }
            assert!(
                provider.unwrap_key(&t, b"aad-1").is_err(),
                "tampered byte {i} accepted"
            );
        }
        let mut short = wrapped.clone();
        short.bytes.truncate(3);
        assert!(
            provider.unwrap_key(&short, b"aad-1").is_err(),
            "truncated bytes accepted"
        );
        let unknown = WrappedKey {
            key_id: KeyId::new("no-such-key"),
            bytes: wrapped.bytes.clone(),
        };
        assert!(
            provider.unwrap_key(&unknown, b"aad-1").is_err(),
            "unknown key id accepted"
        );
        let again = provider
            .wrap_key(&id, &key, b"aad-1")
            .unwrap_or_else(|e| panic!("wrap failed: {e}"));
        assert_ne!(again.bytes, wrapped.bytes, "wrapping is randomized");
        let dbg = format!("{provider:?}");
        assert!(
            !dbg.contains(&crate::hex::encode(key.expose())),
            "Debug shows key material"
        );
    }
}
