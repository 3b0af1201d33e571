//! # strongroom
//!
//! An embeddable, versioned, encrypted secret store that follows AWS Secrets Manager's
//! behaviour: secrets with immutable versions, staging labels (`AWSCURRENT`, `AWSPREVIOUS`,
//! `AWSPENDING`, custom) that move atomically, deletion with a recovery window, tags and
//! idempotent writes. Each version is sealed with XChaCha20-Poly1305 under its own data key,
//! wrapped by a master key that a [`KeyProvider`] holds. Every acknowledged write is durable.
//! Rotation runs AWS's four steps through a pluggable [`Rotator`], resumable after a crash
//! (see [`Session::rotate_secret`]); [`SecretCache`] keeps applications reading fresh values.
//!
//! ```
//! use std::sync::Arc;
//! use strongroom::{
//!     CreateSecretInput, GetSecretValueInput, LocalKeyProvider, SecretName, SecretStore, SecretValue,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let provider = LocalKeyProvider::open(dir.path().join("master.key"))?; // created 0600 if absent
//! let store = SecretStore::builder(dir.path().join("data"), Arc::new(provider)).open()?;
//! let db = store.as_system(); // single-tenant embedded use
//!
//! let name = SecretName::new("prod/db/password")?;
//! db.create_secret(CreateSecretInput::new(name.clone()).value(SecretValue::string("hunter2")?))?;
//! let got = db.get_secret_value(GetSecretValueInput::new(name))?;
//! assert_eq!(got.value.expose_str(), Some("hunter2"));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod audit;
mod cache;
mod clock;
mod crypto;
mod error;
mod field;
mod hex;
mod model;
mod password;
mod rotation;
mod storage;
mod store;
mod versions;

pub use audit::{AuditEntry, AuditMode, AuditQuery, AuditSettings, AuditVerification};
pub use cache::{
    Attempt, CacheStats, CachedSecret, CredentialError, DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL,
    SecretCache, SecretCacheBuilder, SecretSource, VersionSelector,
};
#[cfg(any(test, feature = "test-util"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use crypto::{DataKey, KeyId, KeyProvider, LocalKeyProvider, ProviderError, WrappedKey};
#[cfg(any(test, feature = "test-util"))]
pub use crypto::{InsecureTestKeyProvider, conformance};
pub use error::{Error, ErrorKind, Result, Violation};
pub use field::Field;
pub use model::{
    AccountId, Arn, CallerInfo, Description, KmsKeyId, Principal, Region, RequestContext,
    RequestId, RotationRules, ScheduleExpression, SecretId, SecretName, SecretValue, StagingLabel,
    Tag, TagKey, VersionId,
};
pub use password::get_random_password;
pub use rotation::CopyCurrentValueRotator;
#[cfg(feature = "postgres")]
pub use rotation::{PostgresCredential, PostgresRotationError, PostgresRotator, PostgresStrategy};
pub use storage::{
    Commit, DecodeError, Entry, Keyspace, SledBackend, StorageBackend, StorageError, WriteBatch,
    WriteOp,
};
pub use store::{
    ApiErrorEntry, AuditEntries, BatchGetSecretValueInput, BatchGetSecretValueOutput,
    CreateSecretInput, CreateSecretOutput, DeleteSecretInput, DeleteSecretOutput, DriveOutcome,
    DueReport, Filter, FilterKey, GetRandomPasswordInput, GetSecretValueInput,
    GetSecretValueOutput, ListSecretVersionIdsInput, ListSecretVersionIdsOutput, ListSecretsInput,
    ListSecretsOutput, PutSecretValueInput, PutSecretValueOutput, RetryPolicy, RotateSecretInput,
    RotateSecretOutput, RotationStatus, RotationStep, Rotator, SecretDescription, SecretRef,
    SecretStore, Session, SortBy, SortOrder, StepError, StepInterrupted, StepRotator, StoreBuilder,
    UpdateSecretInput, UpdateSecretOutput, UpdateSecretVersionStageInput, VersionEntry,
    check_max_results, finish_secret,
};

/// The largest secret value, in bytes.
pub const MAX_SECRET_BYTES: usize = model::MAX_SECRET_BYTES;
