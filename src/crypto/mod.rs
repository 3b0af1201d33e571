//! Envelope encryption: a fresh data key per version, sealed values, and the key providers that
//! wrap data keys under master keys.

mod envelope;
mod insecure;
mod keys;
mod local;
mod provider;

pub(crate) use envelope::{
    aad_for_integrity_key, aad_for_key, aad_for_value, fingerprint, open, seal,
};
#[cfg(any(test, feature = "test-util"))]
pub use insecure::InsecureTestKeyProvider;
pub use keys::DataKey;
pub use local::LocalKeyProvider;
#[cfg(any(test, feature = "test-util"))]
pub use provider::conformance;
pub use provider::{KeyId, KeyProvider, ProviderError, WrappedKey};
