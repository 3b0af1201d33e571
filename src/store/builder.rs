//! Opening a store: the builder, its options and defaults, and the choice of backend.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use lru::LruCache;

use super::{Inner, SecretStore, driver, driver::RetryPolicy, integrity, master_keys};
use crate::audit::{Anchor, AuditLog, AuditMode, AuditSettings};
use crate::clock::{self, Clock, SystemClock};
use crate::crypto::KeyProvider;
use crate::error::{Error, Result};
use crate::model::{AccountId, Region};
use crate::storage::{SledBackend, StorageBackend};
use crate::versions::VersionLimits;

/// Options for opening a [`SecretStore`].
///
/// ## Defaults
/// region `us-east-1`; account id `000000000000`; clock [`SystemClock`]; data-key cache 10,000
/// keys; 100 unlabelled versions kept per secret, none removed before it is 24 hours old; the
/// audit log on, buffered ([`AuditSettings::default`]).
#[must_use]
pub struct StoreBuilder {
    backend: BackendChoice,
    provider: Arc<dyn KeyProvider>,
    clock: Arc<dyn Clock>,
    region: Region,
    account: AccountId,
    key_cache_capacity: usize,
    limits: VersionLimits,
    retry: RetryPolicy,
    upgrade: bool,
    audit: AuditSettings,
    audit_anchor: Option<std::path::PathBuf>,
}

enum BackendChoice {
    Path(std::path::PathBuf),
    Backend(Arc<dyn StorageBackend>),
}

impl StoreBuilder {
    /// The default region: secrets created without a region in their request context live here.
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// The account id used in ARNs.
    pub fn account_id(mut self, account: AccountId) -> Self {
        self.account = account;
        self
    }

    /// The clock (tests pass a manual clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many unwrapped data keys to keep in memory (at least 1).
    pub fn key_cache_capacity(mut self, capacity: usize) -> Self {
        self.key_cache_capacity = capacity;
        self
    }

    /// How many unlabelled (deprecated) versions a secret keeps before the oldest are removed.
    pub fn max_deprecated_versions(mut self, max: usize) -> Self {
        self.limits.max_deprecated = max;
        self
    }

    /// How old an unlabelled version must be before it may be removed.
    pub fn deprecated_version_min_age(mut self, age: Duration) -> Self {
        self.limits.min_age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// How rotation steps that fail are retried (default: [`crate::RetryPolicy::default`]).
    pub fn rotation_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Lets this open upgrade a store written before its records were authenticated (format 1
    /// or 2, `docs/format.md`): every record is rewritten authenticated, in one atomic commit,
    /// and from then on an unauthenticated record is refused. Without it such a store is
    /// refused with [`Error::Integrity`], since a store whose authentication someone stripped
    /// looks just the same: give it once, when upgrading from an earlier version.
    pub fn upgrade_unauthenticated_store(mut self) -> Self {
        self.upgrade = true;
        self
    }

    /// How the audit log behaves (on and buffered by default). [`AuditMode::Off`] keeps no
    /// record of who read or changed what: only for embedders who ask for that.
    pub fn audit(mut self, settings: AuditSettings) -> Self {
        self.audit = settings;
        self
    }

    /// Keeps the newest signed position of the audit chain in the file `path`, outside the
    /// store's folder (somewhere whoever can write the folder cannot), updated at each sync
    /// and when the store closes. An open then refuses a folder rolled back to an older copy
    /// (its log ends before the position the anchor names) or replaced by another copy of the
    /// store. A missing anchor is written afresh: keep it where it cannot be removed.
    pub fn audit_anchor(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.audit_anchor = Some(path.into());
        self
    }

    /// Opens the store, creating it if needed.
    ///
    /// An audit entry left by a change that did not commit (a crash in the middle of a write)
    /// is removed; the entries the last commit and the signed checkpoint name are checked to be
    /// there ([`Error::AuditTampered`] otherwise).
    pub fn open(self) -> Result<SecretStore> {
        let backend: Arc<dyn StorageBackend> = match self.backend {
            BackendChoice::Path(p) => Arc::new(SledBackend::open(&p)?),
            BackendChoice::Backend(b) => b,
        };
        let capacity = NonZeroUsize::new(self.key_cache_capacity).ok_or_else(|| {
            Error::invalid_parameter("The data key cache capacity must be at least 1.")
        })?;
        let opened = integrity::open(
            backend,
            &*self.provider,
            clock::to_millis(self.clock.now()),
            self.upgrade,
        )?;
        let audit = match self.audit.mode {
            AuditMode::Off => None,
            _ => Some(AuditLog::open(
                opened.backend.clone(),
                opened.store_id,
                opened.backend.audit_mark(),
                self.audit,
                self.clock.clone(),
                self.audit_anchor.map(|path| Anchor {
                    path,
                    signer: opened.backend.clone(),
                }),
            )?),
        };
        Ok(SecretStore {
            inner: Arc::new(Inner {
                backend: opened.backend,
                provider: self.provider,
                clock: self.clock,
                store_id: opened.store_id,
                region: self.region,
                account: self.account,
                limits: self.limits,
                writer: Mutex::new(()),
                poisoned: AtomicBool::new(false),
                key_cache: Mutex::new(LruCache::new(capacity)),
                accessed: Mutex::new(HashMap::new()),
                listeners: RwLock::new(Vec::new()),
                rotators: RwLock::new(driver::Rotators::default()),
                driving: Mutex::new(std::collections::HashSet::new()),
                retry: self.retry,
                audit,
            }),
        })
    }
}

impl SecretStore {
    /// Opens or creates a store in the folder `path`, on sled; data keys are wrapped by `provider`.
    pub fn builder(path: impl AsRef<Path>, provider: Arc<dyn KeyProvider>) -> StoreBuilder {
        Self::builder_on(BackendChoice::Path(path.as_ref().to_path_buf()), provider)
    }

    /// The master key ids of the store in the folder `path`, read without a key provider: what a
    /// key provider must hold one of to open it. These are the ids recorded at each open (for a
    /// store last opened by a version before the record, those found on its values; empty for a
    /// store with none). Opens the folder, so call it only when the store is not open.
    pub fn master_key_ids(path: impl AsRef<Path>) -> Result<Vec<crate::KeyId>> {
        let backend = SledBackend::open(path.as_ref())?;
        master_keys::recorded(&backend)
    }

    /// Like [`SecretStore::builder`], on any storage backend.
    pub fn builder_with_backend(
        backend: Arc<dyn StorageBackend>,
        provider: Arc<dyn KeyProvider>,
    ) -> StoreBuilder {
        Self::builder_on(BackendChoice::Backend(backend), provider)
    }

    fn builder_on(backend: BackendChoice, provider: Arc<dyn KeyProvider>) -> StoreBuilder {
        StoreBuilder {
            backend,
            provider,
            clock: Arc::new(SystemClock),
            region: Region::default_region(),
            account: AccountId::default_account(),
            key_cache_capacity: 10_000,
            limits: VersionLimits {
                max_deprecated: 100,
                min_age_ms: clock::DAY_MS,
            },
            retry: RetryPolicy::default(),
            upgrade: false,
            audit: AuditSettings::default(),
            audit_anchor: None,
        }
    }
}
