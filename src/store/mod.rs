//! `SecretStore`: the engine's public face.

mod access;
mod audit_ops;
mod builder;
mod driver;
mod filter;
mod integrity;
mod lifecycle;
mod list;
mod master_keys;
mod paging;
mod read;
mod record;
mod rotate;
mod rotator;
mod schedule;
mod sealing;
mod types;
mod write;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use lru::LruCache;

use crate::audit::{self, AuditHandle, StoredEntry};
use crate::clock::{self, Clock};
use crate::crypto::{DataKey, KeyProvider};
use crate::error::{Error, Result};
use crate::model::{AccountId, Arn, Principal, Region, RequestContext, SecretId, SecretName};
use crate::storage::{self, Commit, Keyspace, SecretKey, SecretRecord, StorageBackend};
use crate::versions::VersionLimits;

pub use audit_ops::AuditEntries;
pub use builder::StoreBuilder;
pub use driver::{DriveOutcome, DueReport, RetryPolicy, RotationStatus};
pub use filter::{Filter, FilterKey, SortBy, SortOrder};
pub use paging::check_max_results;
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
    /// The store's backend, every record authenticated (`storage::Authenticated`).
    backend: Arc<storage::Authenticated>,
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
    /// The audit log (`None` when turned off).
    audit: AuditHandle,
}

impl Drop for Inner {
    /// The store closes: the audit entries of the last interval are made durable.
    fn drop(&mut self) {
        if let Some(log) = &self.audit {
            log.close();
        }
    }
}

/// Something in this process that must hear of every committed change to a secret before the
/// call that made it returns.
pub(crate) trait ChangeListener: Send + Sync {
    /// The secrets stored under these `Secrets` keys (region and name) changed.
    fn secrets_changed(&self, keys: &[SecretKey]);
}

/// Value key -> (the wrapped bytes the key was unwrapped from, the unwrapped key).
type KeyCache = LruCache<Vec<u8>, (Vec<u8>, Arc<DataKey>)>;

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

    /// Checks every metadata record of the store (secrets, labels, versions, tags, rotation
    /// settings, the store's own records) against the stamp of the last commit this process
    /// made: an edited record, a record copied under another name, a record removed, added or
    /// replaced by an older copy of itself, and a store rolled back or written by another
    /// process since this one opened it, are an [`Error::Integrity`]. The same check runs at
    /// every open; reads check each record's MAC as they go. It reads every secret's record,
    /// so run it as maintenance, not on a hot path.
    pub fn verify_integrity(&self) -> Result<()> {
        // After a failed commit the state on disk is unknown, not tampered with.
        self.as_system().healthy()?;
        Ok(self.inner.backend.verify()?)
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
        audit::note_secret(&rec.arn);
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

    /// Refuses every call once a commit has failed (what is visible may then not be durable),
    /// or once the audit log cannot be written (nothing would record the call).
    pub(crate) fn healthy(&self) -> Result<()> {
        if self.inner().poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        if let Some(why) = self.inner().audit.as_ref().and_then(|a| a.failure()) {
            return Err(Error::AuditUnavailable(why));
        }
        Ok(())
    }

    /// Runs one public operation, `operation` (its AWS name) on `secret_id`, and audits it: a
    /// change it commits has its entry written with it; otherwise, or if it fails after a
    /// commit, one entry is appended before it returns. A call that succeeded without a change
    /// (a read) returns nothing if its entry cannot be appended within the deadline.
    pub(crate) fn audited<T>(
        &self,
        operation: &'static str,
        secret_id: Option<&SecretId>,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let Some(log) = self.inner().audit.clone() else {
            return f();
        };
        let scope = audit::CallScope::begin(operation, secret_id);
        let result = f();
        let call = scope.finish();
        match &result {
            Ok(_) if call.committed > 0 => {}
            Ok(_) => {
                log.append(self.entry_for(call, None, false))?;
            }
            Err(e) => {
                // The call failed anyway; its own error is the one to report.
                let _ignored = log.append(self.entry_for(call, Some(e), false));
            }
        }
        result
    }

    /// The audit entry of `call` in this session (its chain link is set when it is appended).
    pub(crate) fn entry_for(
        &self,
        call: audit::Call,
        error: Option<&Error>,
        change: bool,
    ) -> StoredEntry {
        let ctx = &self.ctx;
        let (error_code, error_message) = error.map(audit::error_fields).unzip();
        StoredEntry {
            prev: [0; 32],
            time_ms: self.now_ms(),
            principal: ctx.principal().as_str().to_owned(),
            invoked_by: ctx.invoker().map(str::to_owned),
            request_id: ctx.request_id().as_str().to_owned(),
            operation: call.operation,
            region: self.region().as_str().to_owned(),
            secret_id: call.secret_id,
            secret_arn: call.secret_arn,
            version_id: call.version_id,
            version_stage: call.version_stage,
            error_code,
            error_message,
            change,
            access_key_id: ctx.caller().access_key_id.clone(),
            source_ip: ctx.caller().source_ip.clone(),
            user_agent: ctx.caller().user_agent.clone(),
        }
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

    /// Applies `change` atomically and durably, with its audit entry (from the operation this
    /// thread is running). On a failure of the backend the store refuses every call until
    /// reopened, since the durable state is then unknown; if the audit log cannot take the
    /// entry, nothing is written. The guard proves the writer lock is held.
    pub(crate) fn commit(&self, _guard: &mut MutexGuard<'_, ()>, mut change: Commit) -> Result<()> {
        let inner = self.inner();
        let result = match &inner.audit {
            None => inner.backend.commit(&change).map_err(Error::from),
            Some(log) => {
                let call = audit::current().unwrap_or_else(|| audit::Call {
                    operation: "Internal".to_owned(),
                    ..audit::Call::default()
                });
                let entry = self.entry_for(call, None, true);
                let result = log.commit_change(&mut change, entry);
                if !matches!(result, Err(Error::AuditUnavailable(_))) {
                    audit::note(|c| c.committed += 1);
                }
                result
            }
        };
        if let Err(e) = result {
            if !matches!(e, Error::AuditUnavailable(_)) {
                inner.poisoned.store(true, Ordering::Release);
            }
            return Err(e);
        }
        // Keys of values that are gone are of no further use: wipe them now.
        let mut cache = inner.key_cache.lock().unwrap_or_else(|p| p.into_inner());
        for op in change.cleanup.ops() {
            if op.keyspace == Keyspace::Values && op.value.is_none() {
                cache.pop(&op.key);
            }
        }
        drop(cache);
        self.notify(&change);
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
