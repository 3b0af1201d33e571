#![cfg(any(test, feature = "test-util"))]

use std::fmt;

use super::local::{KeyRing, MasterKey};
use super::{DataKey, KeyId, KeyProvider, ProviderError, WrappedKey};

/// A key provider whose master key is derived from a public seed.
///
/// **NO SECURITY**: anyone who knows the seed can decrypt everything. For tests only; it exists
/// only with the `test-util` feature.
pub struct InsecureTestKeyProvider {
    ring: KeyRing,
}

impl InsecureTestKeyProvider {
    /// A provider whose master key is 32 copies of `seed`.
    pub fn new(seed: u8) -> Self {
        let key = DataKey::try_from_slice(&[seed; 32]).unwrap_or_else(DataKey::generate);
        Self {
            ring: KeyRing::new(MasterKey::with_id(
                KeyId::new(format!("insecure-test:{seed:02x}")),
                key,
            )),
        }
    }
}

impl KeyProvider for InsecureTestKeyProvider {
    fn current_key_id(&self) -> KeyId {
        self.ring.current()
    }

    fn wrap_key(
        &self,
        key_id: &KeyId,
        key: &DataKey,
        aad: &[u8],
    ) -> Result<WrappedKey, ProviderError> {
        self.ring.wrap(key_id, key, aad)
    }

    fn unwrap_key(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, ProviderError> {
        self.ring.unwrap(wrapped, aad)
    }

    fn has_key(&self, key_id: &KeyId) -> bool {
        self.ring.has(key_id)
    }
}

impl fmt::Debug for InsecureTestKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InsecureTestKeyProvider")
            .field("key_id", &self.ring.current())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_conformance_and_differs_by_seed() {
        crate::crypto::provider::conformance::check(&InsecureTestKeyProvider::new(1));
        assert_ne!(
            InsecureTestKeyProvider::new(1).current_key_id(),
            InsecureTestKeyProvider::new(2).current_key_id()
        );
    }
}
