//! `SecretStore`: the engine's public face.

mod driver;
mod lifecycle;
mod list;
mod paging;
mod read;
mod record;
mod rotate;
mod rotator;
mod schedule;
mod types;
mod write;

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, SystemTime};

use lru::LruCache;

use crate::clock::{self, Clock, SystemClock};
use crate::crypto::{self, DataKey, KeyProvider, WrappedKey};
use crate::error::{Error, Result};
use crate::model::{
    AccountId, Arn, Principal, Region, RequestContext, SecretId, SecretName, SecretValue,
};
use crate::storage::{
    self, Commit, Keyspace, MetaRecord, SecretKey, SecretRecord, SledBackend, StorageBackend,
    ValueRecord, VersionMeta, WriteBatch,
};
use crate::versions::VersionLimits;

pub use driver::{DriveOutcome, DueReport, RetryPolicy, RotationStatus};
use record::access_key;
pub use rotator::{RotationStep, Rotator, StepError, StepInterrupted, StepRotator, finish_secret};
pub use types::*;

const META_KEY: &[u8] = b"store";

/// A versioned, encrypted secret store on a folder (or any [`StorageBackend`]).
///
/// Cheap to clone (an `Arc`), `Send + Sync`. Every operation runs through a [`Session`] that names
/// the caller: [`SecretStore::as_system`] for single-tenant embedded use,
/// [`SecretStore::as_principal`] or [`SecretStore::session`] otherwise.
///
/// Writes are serialized by one writer lock, committed as one atomic batch, and flushed and
/// `fsync`ed before they return `Ok`. Readers never take the writer lock and always see a whole commit.
#[derive(Clone)]
pub struct SecretStore {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn StorageBackend>,
    provider: Arc<dyn KeyProvider>,
    clock: Arc<dyn Clock>,
    store_id: [u8; 16],
    region: Region,
    account: AccountId,
    limits: VersionLimits,
    /// Held for the whole of every write.
    writer: Mutex<()>,
    /// Set once a commit failed: the durable state is then unknown, and the store answers
    /// `InternalServiceError` to every call until it is reopened.
    poisoned: AtomicBool,
    /// Unwrapped data keys by value key, with the wrapped bytes they came from. Evicted keys are
    /// wiped when their last user drops them.
    key_cache: Mutex<KeyCache>,
    /// The last access day this process recorded per secret / version, to write it once a day.
    accessed: Mutex<HashMap<Vec<u8>, u64>>,
    /// Told of every committed change before the commit returns (the caches over this store).
    listeners: RwLock<Vec<Weak<dyn ChangeListener>>>,
    /// Rotators by rotation function ARN.
    rotators: RwLock<driver::Rotators>,
    /// Secrets (by uid) whose rotation a driver of this process is running.
    driving: Mutex<std::collections::HashSet<[u8; 16]>>,
    retry: RetryPolicy,
}

/// Something in this process that must hear of every committed change to a secret before the
/// call that made it returns.
pub(crate) trait ChangeListener: Send + Sync {
    /// The secrets stored under these `Secrets` keys (region and name) changed.
    fn secrets_changed(&self, keys: &[SecretKey]);
}

/// Value key -> (the wrapped bytes the key was unwrapped from, the unwrapped key).
type KeyCache = LruCache<Vec<u8>, (Vec<u8>, Arc<DataKey>)>;

/// Options for opening a [`SecretStore`].
///
/// ## Defaults
/// region `us-east-1`; account id `000000000000`; clock [`SystemClock`]; data-key cache 10,000
/// keys; 100 unlabelled versions kept per secret, none removed before it is 24 hours old.
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

    /// Opens the store, creating it if needed.
    pub fn open(self) -> Result<SecretStore> {
        let backend: Arc<dyn StorageBackend> = match self.backend {
            BackendChoice::Path(p) => Arc::new(SledBackend::open(&p)?),
            BackendChoice::Backend(b) => b,
        };
        let capacity = NonZeroUsize::new(self.key_cache_capacity).ok_or_else(|| {
            Error::invalid_parameter("The data key cache capacity must be at least 1.")
        })?;
        let store_id = match backend.get(Keyspace::Meta, META_KEY)? {
            Some(bytes) => storage::decode::<MetaRecord>(&bytes)?.store_id,
            None => {
                let mut store_id = [0u8; 16];
                rand::Rng::fill_bytes(&mut rand::rng(), &mut store_id);
                let meta = MetaRecord {
                    store_id,
                    created_ms: clock::to_millis(self.clock.now()),
                };
                let mut batch = WriteBatch::new();
                batch.put(Keyspace::Meta, META_KEY.to_vec(), storage::encode(&meta)?);
                backend.apply(&batch)?;
                backend.sync()?;
                store_id
            }
        };
        Ok(SecretStore {
            inner: Arc::new(Inner {
                backend,
                provider: self.provider,
                clock: self.clock,
                store_id,
                region: self.region,
                account: self.account,
                limits: self.limits,
                writer: Mutex::new(()),
                poisoned: AtomicBool::new(false),
                key_cache: Mutex::new(LruCache::new(capacity)),
                accessed: Mutex::new(HashMap::new()),
                listeners: RwLock::new(Vec::new()),
                rotators: RwLock::new(driver::Rotators::new()),
                driving: Mutex::new(std::collections::HashSet::new()),
                retry: self.retry,
            }),
        })
    }
}

impl SecretStore {
    /// Registers a listener for committed changes (dropped listeners are forgotten).
    pub(crate) fn subscribe(&self, listener: Weak<dyn ChangeListener>) {
        let mut listeners = self
            .inner
            .listeners
            .write()
            .unwrap_or_else(|p| p.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners.push(listener);
    }

    /// The store's clock.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Opens or creates a store in the folder `path`, on sled; data keys are wrapped by `provider`.
    pub fn builder(path: impl AsRef<Path>, provider: Arc<dyn KeyProvider>) -> StoreBuilder {
        Self::builder_on(BackendChoice::Path(path.as_ref().to_path_buf()), provider)
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
        }
    }

    /// A session for `context`: every operation is one of its methods.
    pub fn session(&self, context: RequestContext) -> Session {
        Session {
            store: self.clone(),
            ctx: context,
        }
    }

    /// A session for the embedding application itself ([`Principal::system`]), with a fresh request id.
    pub fn as_system(&self) -> Session {
        self.session(RequestContext::system())
    }

    /// A session for `principal`, with a fresh request id, in the default region.
    pub fn as_principal(&self, principal: Principal) -> Session {
        self.session(RequestContext::new(principal))
    }

    /// The default region.
    pub fn region(&self) -> &Region {
        &self.inner.region
    }

    /// The account id in ARNs.
    pub fn account_id(&self) -> &AccountId {
        &self.inner.account
    }

    /// Removes, for good, every secret in every region whose recovery window has ended
    /// (DEL-8), and any value or access date that no secret refers to any more (left behind by a
    /// crash between a commit and its clean-up). Such data is already invisible; this reclaims
    /// its space. Returns how many secrets were removed. It reads every stored value, so run it
    /// as maintenance, not on a hot path.
    pub fn purge_deleted(&self) -> Result<usize> {
        lifecycle::purge_due(self)
    }

    /// Makes everything committed durable. Every write already does this before it returns;
    /// this exists for callers that want to be explicit before shutting down.
    pub fn sync(&self) -> Result<()> {
        Ok(self.inner.backend.sync()?)
    }
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore")
            .field("backend", &self.inner.backend)
            .field("provider", &self.inner.provider)
            .field("region", &self.inner.region)
            .field("account", &self.inner.account)
            .finish_non_exhaustive()
    }
}

/// A handle that runs operations on behalf of one caller and request (see [`RequestContext`]).
///
/// Cheap to clone. Operations are named after the AWS Secrets Manager operations.
#[derive(Clone, Debug)]
pub struct Session {
    store: SecretStore,
    ctx: RequestContext,
}

/// A secret found by id, with the key it is stored under.
pub(crate) struct Found {
    pub(crate) key: Vec<u8>,
    pub(crate) rec: SecretRecord,
}

impl Session {
    /// The request context this session runs with.
    pub fn context(&self) -> &RequestContext {
        &self.ctx
    }

    fn inner(&self) -> &Inner {
        &self.store.inner
    }

    /// The store this session reads and writes.
    pub(crate) fn store(&self) -> &SecretStore {
        &self.store
    }

    pub(crate) fn region(&self) -> &Region {
        self.ctx.region().unwrap_or(&self.store.inner.region)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        clock::to_millis(self.inner().clock.now())
    }

    /// Finds a live or scheduled-for-deletion secret; one whose recovery window has ended is gone.
    pub(crate) fn find(&self, id: &SecretId) -> Result<Option<Found>> {
        self.healthy()?;
        let region = self.region();
        let account = &self.inner().account;
        let (name, suffix) = match id {
            SecretId::Name(n) => (n.clone(), None),
            SecretId::PartialArn {
                partition: p,
                region: r,
                account: a,
                name,
            } => {
                if p != region.partition() || r != region.as_str() || a != account.as_str() {
                    return Ok(None);
                }
                (name.clone(), None)
            }
            SecretId::Arn {
                partition: p,
                region: r,
                account: a,
                name,
                suffix,
            } => {
                if p != region.partition() || r != region.as_str() || a != account.as_str() {
                    return Ok(None);
                }
                let Ok(name) = SecretName::new(name.as_str()) else {
                    return Ok(None);
                };
                (name, Some(suffix.as_str()))
            }
        };
        let key = SecretKey::new(region.as_str(), name.as_str()).to_bytes();
        let Some(bytes) = self.inner().backend.get(Keyspace::Secrets, &key)? else {
            return Ok(None);
        };
        let rec = SecretRecord::decode(&bytes)?;
        if suffix.is_some_and(|s| !rec.arn.ends_with(&format!("-{s}"))) {
            return Ok(None);
        }
        if rec
            .deletion
            .is_some_and(|d| d.deletion_date_ms <= self.now_ms())
        {
            return Ok(None);
        }
        Ok(Some(Found { key, rec }))
    }

    /// Like [`Session::find`], with `ResourceNotFoundException` for a missing secret.
    pub(crate) fn resolve(&self, id: &SecretId) -> Result<Found> {
        self.find(id)?.ok_or_else(Error::secret_not_found)
    }

    /// Like [`Session::resolve`], refusing a secret scheduled for deletion (DEL-3).
    pub(crate) fn resolve_live(&self, id: &SecretId) -> Result<Found> {
        let found = self.resolve(id)?;
        if found.rec.deletion.is_some() {
            return Err(Error::marked_for_deletion());
        }
        Ok(found)
    }

    pub(crate) fn new_arn(&self, name: &SecretName) -> Arn {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        let suffix: String = (0..6)
            .map(|_| {
                let i = rand::RngExt::random_range(&mut rng, 0..ALPHABET.len());
                char::from(ALPHABET.get(i).copied().unwrap_or(b'A'))
            })
            .collect();
        Arn::build(self.region(), &self.inner().account, name, &suffix)
    }

    /// Refuses every call once a commit has failed: what is visible may then not be durable.
    pub(crate) fn healthy(&self) -> Result<()> {
        if self.inner().poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        Ok(())
    }

    /// Takes the writer lock, refusing if an earlier commit failed.
    pub(crate) fn writer(&self) -> Result<MutexGuard<'_, ()>> {
        let guard = self
            .inner()
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.healthy()?;
        Ok(guard)
    }

    /// Applies `change` atomically and durably. On failure the store refuses every call until
    /// reopened, since the durable state is then unknown. The guard proves the writer lock is held.
    pub(crate) fn commit(&self, _guard: &mut MutexGuard<'_, ()>, change: &Commit) -> Result<()> {
        let inner = self.inner();
        if let Err(e) = inner.backend.commit(change) {
            inner.poisoned.store(true, Ordering::Release);
            return Err(Error::Storage(e));
        }
        // Keys of values that are gone are of no further use: wipe them now.
        let mut cache = inner.key_cache.lock().unwrap_or_else(|p| p.into_inner());
        for op in change.cleanup.ops() {
            if op.keyspace == Keyspace::Values && op.value.is_none() {
                cache.pop(&op.key);
            }
        }
        drop(cache);
        self.notify(change);
        Ok(())
    }

    /// Tells the listeners which secrets a commit changed.
    fn notify(&self, change: &Commit) {
        let listeners = self
            .inner()
            .listeners
            .read()
            .unwrap_or_else(|p| p.into_inner());
        if listeners.is_empty() {
            return;
        }
        let keys: Vec<SecretKey> = [&change.prepare, &change.commit, &change.cleanup]
            .into_iter()
            .flat_map(|batch| batch.ops())
            .filter(|op| op.keyspace == Keyspace::Secrets)
            .filter_map(|op| SecretKey::from_bytes(&op.key))
            .collect();
        if keys.is_empty() {
            return;
        }
        for listener in listeners.iter().filter_map(Weak::upgrade) {
            listener.secrets_changed(&keys);
        }
    }

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
        let Some(bytes) = inner.backend.get(Keyspace::Values, &vkey)? else {
            return Ok(None);
        };
        let vr: ValueRecord = storage::decode(&bytes)?;
        let key = self.data_key(&vkey, rec, &v.id, &vr)?;
        let aad = crypto::aad_for_value(&inner.store_id, &rec.arn, &v.id, vr.binary);
        let plain = crypto::open(&key, &aad, &vr.nonce, &vr.ciphertext)
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
        vr: &ValueRecord,
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
            key_id: crypto::KeyId::new(vr.key_id.clone()),
            bytes: vr.wrapped_key.clone(),
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
        cache.put(vkey.to_vec(), (vr.wrapped_key.clone(), Arc::clone(&key)));
        Ok(key)
    }

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
            let _ignored = inner.backend.apply(&batch);
        }
    }

    pub(crate) fn last_accessed(
        &self,
        uid: &[u8; 16],
        version: Option<&str>,
    ) -> Result<Option<SystemTime>> {
        match self
            .inner()
            .backend
            .get(Keyspace::Accessed, &access_key(uid, version))?
        {
            Some(bytes) => Ok(Some(clock::from_millis(storage::decode::<u64>(&bytes)?))),
            None => Ok(None),
        }
    }

    pub(crate) fn backend(&self) -> &dyn StorageBackend {
        &*self.inner().backend
    }

    pub(crate) fn limits(&self) -> VersionLimits {
        self.inner().limits
    }
}

/// A version the secret's record names has no stored value.
pub(crate) fn missing_value() -> Error {
    Error::Corrupt(storage::DecodeError::Malformed(
        "a version's value is missing".into(),
    ))
}
