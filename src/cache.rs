//! `SecretCache`: the application's read path.
//!
//! Reads are served from memory while fresh (a TTL), and the entry of a secret is dropped before
//! a change to it in this process returns, so a value is never served after the commit that
//! replaced it. Many callers missing the same entry cause one read of the source. A failed
//! refresh never makes a value fresh again; it may be served as stale within `max_stale`.
//!
//! The hit path takes no lock: it reads an immutable table through an atomic pointer
//! (`arc-swap`), and writes nothing shared unless a millisecond has passed since the entry was
//! last used.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use hashbrown::Equivalent;

use crate::clock::{self, Clock};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{SecretId, SecretValue, StagingLabel, VersionId};
use crate::storage;
use crate::store::{ChangeListener, GetSecretValueInput, GetSecretValueOutput, Session};

/// Where a [`SecretCache`] reads from: the embedded store (a [`Session`]), or anything else that
/// can answer `GetSecretValue` (a remote Secrets Manager, say).
pub trait SecretSource: Send + Sync {
    /// Reads one version of a secret, as [`Session::get_secret_value`] does.
    fn get_secret_value(&self, input: GetSecretValueInput) -> Result<GetSecretValueOutput>;
}

impl SecretSource for Session {
    fn get_secret_value(&self, input: GetSecretValueInput) -> Result<GetSecretValueOutput> {
        Session::get_secret_value(self, input)
    }
}

/// Which version of a secret a cached read asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VersionSelector {
    /// The version that carries this staging label.
    Stage(StagingLabel),
    /// This version.
    Version(VersionId),
}

impl VersionSelector {
    /// `AWSCURRENT`.
    pub const CURRENT: Self = Self::Stage(StagingLabel::CURRENT);
    /// `AWSPENDING`.
    pub const PENDING: Self = Self::Stage(StagingLabel::PENDING);
}

/// A value read through the cache.
#[derive(Clone, Debug)]
pub struct CachedSecret {
    output: Arc<Handle>,
    stale: bool,
}

impl CachedSecret {
    /// The version read: ARN, name, version id, labels and the value.
    pub fn output(&self) -> &GetSecretValueOutput {
        &self.output.0
    }

    /// The value (wiped from memory when the last copy of this read is dropped).
    pub fn value(&self) -> &SecretValue {
        &self.output.0.value
    }

    /// The version id.
    pub fn version_id(&self) -> &VersionId {
        &self.output.0.version_id
    }

    /// Whether this value is past its TTL: it was served because a refresh failed and it was
    /// still within `max_stale`.
    pub fn is_stale(&self) -> bool {
        self.stale
    }
}

/// Counters of a [`SecretCache`] since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from memory with a fresh value.
    pub hits: u64,
    /// Reads that found no fresh value.
    pub misses: u64,
    /// Reads of the source (one per single-flight group).
    pub loads: u64,
    /// Reads that waited for another caller's read of the source instead of making their own.
    pub coalesced: u64,
    /// Reads of the source that failed.
    pub errors: u64,
    /// Stale values served after a failed refresh.
    pub stale_served: u64,
    /// Secrets dropped to stay within the entry bound.
    pub evictions: u64,
    /// Secrets dropped because they changed (or by [`SecretCache::invalidate`]).
    pub invalidations: u64,
}

/// What a closure given to [`SecretCache::with_credential`] reports when it fails.
#[derive(Debug)]
#[non_exhaustive]
pub enum Attempt<E> {
    /// The target system refused the credential: refresh it and try again.
    AuthFailed(E),
    /// Any other failure: no retry.
    Failed(E),
}

/// Why [`SecretCache::with_credential`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CredentialError<E> {
    /// The secret could not be read.
    Read(Error),
    /// The target refused the credential, also after the refresh (and the `AWSPENDING` fallback).
    AuthFailed(E),
    /// The closure failed otherwise.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for CredentialError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "reading the credential failed: {e}"),
            Self::AuthFailed(e) => write!(f, "the credential was refused after a refresh: {e}"),
            Self::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for CredentialError<E> {}

/// An in-process cache of secret values over a [`SecretSource`].
///
/// - A read is answered from memory while the value is younger than the TTL (default 5
///   minutes); otherwise from the source.
/// - Over the embedded store ([`SecretCache::builder`]), a commit that changes a secret (a new
///   version, a label move, a deletion, ...) drops the secret's entry before the call that made
///   it returns, in every cache over that store in this process.
/// - One entry per secret, however it is named (name, ARN, partial ARN), holding each version or
///   stage read; at most `capacity` secrets (default 1,000), the least recently used dropped
///   first (at millisecond granularity; ties go to the secret cached first).
/// - Callers missing the same entry at the same time share one read of the source (never one
///   that began before a change this cache has since heard of).
/// - A failed read never restarts the TTL. After one, the expired value is served, marked stale,
///   only if the failure is a fault of the source (not, say, a deleted secret) and the value
///   expired less than `max_stale` ago (default 0: never).
///
/// Values stay in wiping types and are wiped when the last copy is dropped; `Debug` shows no value.
#[derive(Clone)]
pub struct SecretCache {
    inner: Arc<Inner>,
}

/// Options of a [`SecretCache`].
pub struct SecretCacheBuilder {
    source: Arc<dyn SecretSource>,
    store: Option<crate::store::SecretStore>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    capacity: usize,
    max_stale: Duration,
}

impl fmt::Debug for SecretCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCacheBuilder")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("max_stale", &self.max_stale)
            .finish_non_exhaustive()
    }
}

impl SecretCacheBuilder {
    /// How long a value is served from memory (default 5 minutes).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The most secrets kept (default 1,000).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How long past its TTL a value may still be served when a refresh fails (default 0).
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// The clock that ages entries (the store's clock by default, over the embedded store).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Also drop entries when `store` commits a change to their secret (a cache from
    /// [`SecretCache::builder`] already hears its own store). For a source that reads `store`
    /// in some other way, such as a wrapper around a [`Session`].
    pub fn invalidated_by(mut self, store: &crate::store::SecretStore) -> Self {
        self.store = Some(store.clone());
        self
    }

    /// Builds the cache; over the embedded store, it starts hearing of commits now.
    pub fn build(self) -> SecretCache {
        let inner = Arc::new(Inner {
            source: self.source,
            clock: self.clock,
            ttl: self.ttl,
            capacity: self.capacity,
            max_stale: self.max_stale,
            table: ArcSwap::from_pointee(Table::default()),
            writer: Mutex::new(Writer::default()),
            epoch: AtomicU64::new(0),
            flights: Mutex::new(HashMap::new()),
            stats: Stats::default(),
        });
        if let Some(store) = self.store {
            let weak: Weak<Inner> = Arc::downgrade(&inner);
            store.subscribe(weak);
        }
        SecretCache { inner }
    }
}

/// Default TTL.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5 * 60);
/// Default bound on cached secrets.
pub const DEFAULT_CACHE_CAPACITY: usize = 1_000;

impl SecretCache {
    /// A cache over the embedded store, reading as `session`'s principal in its region.
    pub fn builder(session: Session) -> SecretCacheBuilder {
        let store = session.store().clone();
        SecretCacheBuilder {
            clock: store.clock().clone(),
            store: Some(store),
            source: Arc::new(session),
            ttl: DEFAULT_CACHE_TTL,
            capacity: DEFAULT_CACHE_CAPACITY,
            max_stale: Duration::ZERO,
        }
    }

    /// A cache over any other source. It hears of no changes: entries live for their TTL, or
    /// until [`SecretCache::invalidate`].
    pub fn builder_with_source(
        source: Arc<dyn SecretSource>,
        clock: Arc<dyn Clock>,
    ) -> SecretCacheBuilder {
        SecretCacheBuilder {
            source,
            store: None,
            clock,
            ttl: DEFAULT_CACHE_TTL,
            capacity: DEFAULT_CACHE_CAPACITY,
            max_stale: Duration::ZERO,
        }
    }

    /// The `AWSCURRENT` version of a secret.
    pub fn get_secret_value(&self, id: &SecretId) -> Result<CachedSecret> {
        self.get(id, &VersionSelector::CURRENT)
    }

    /// A version of a secret, by staging label or version id.
    pub fn get(&self, id: &SecretId, selector: &VersionSelector) -> Result<CachedSecret> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let key = KeyRef { id, selector };
        let expired = {
            let table = inner.table.load();
            match table.slots.get(&key) {
                Some(slot) => {
                    slot.secret.touch(now);
                    if inner.is_fresh(&slot.cached, now) {
                        inner.stats.hits.add();
                        return Ok(CachedSecret {
                            output: slot.cached.handle(),
                            stale: false,
                        });
                    }
                    Some(slot.cached.clone())
                }
                None => None,
            }
        };
        inner.stats.misses.add();
        match self.inner.load(key, now) {
            Ok(output) => Ok(CachedSecret {
                output: Arc::new(Handle(output)),
                stale: false,
            }),
            Err(e) => match expired {
                Some(old) if e.kind().is_fault() && inner.within_max_stale(&old, now) => {
                    inner.stats.stale_served.add();
                    Ok(CachedSecret {
                        output: old.handle(),
                        stale: true,
                    })
                }
                _ => Err(e),
            },
        }
    }

    /// Reads a version of a secret and lends it to `read`, without copying it or touching a
    /// shared reference count on a hit: the fastest way to use a value that is needed only for
    /// a moment. `read` gets the version and whether it is stale (see [`CachedSecret::is_stale`]).
    pub fn with_secret_value<R>(
        &self,
        id: &SecretId,
        selector: &VersionSelector,
        read: impl FnOnce(&GetSecretValueOutput, bool) -> R,
    ) -> Result<R> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        {
            let table = inner.table.load();
            if let Some(slot) = table.slots.get(&KeyRef { id, selector }) {
                slot.secret.touch(now);
                if inner.is_fresh(&slot.cached, now) {
                    inner.stats.hits.add();
                    return Ok(read(&slot.cached.output, false));
                }
            }
        }
        let got = self.get(id, selector)?;
        Ok(read(got.output(), got.is_stale()))
    }

    /// Runs `call` with the secret's `AWSCURRENT` credential and, when the target refuses it,
    /// refreshes and tries again: the pattern that keeps readers working through a rotation.
    ///
    /// On [`Attempt::AuthFailed`] the secret's entry is dropped and `AWSCURRENT` read again from
    /// the source. If it is a different credential, `call` runs with it. If it is the same one,
    /// `AWSPENDING` is read, then `AWSCURRENT` once more; if that is still the same credential
    /// and a rotation is in progress (`AWSPENDING` on another version with a value), `call` runs
    /// with the `AWSPENDING` credential instead: between a rotation's `setSecret` and
    /// `finishSecret` that is the one the target accepts. Otherwise it runs with the credential
    /// read last. When a *different* fresh credential is refused too (the first one was two or
    /// more rotations old, and a single-user rotation is between its `setSecret` and
    /// `finishSecret`), the same is done once more from that credential. So `call` runs at most
    /// three times, and the last try succeeds unless the target changed during the retries.
    pub fn with_credential<T, E>(
        &self,
        id: &SecretId,
        mut call: impl FnMut(&GetSecretValueOutput) -> std::result::Result<T, Attempt<E>>,
    ) -> std::result::Result<T, CredentialError<E>> {
        let first = self.get_secret_value(id).map_err(CredentialError::Read)?;
        match call(first.output()) {
            Ok(t) => return Ok(t),
            Err(Attempt::Failed(e)) => return Err(CredentialError::Failed(e)),
            Err(Attempt::AuthFailed(_)) => {}
        }
        let mut refused = first;
        let mut refreshes = 0;
        loop {
            refreshes += 1;
            self.inner.invalidate_secret(&storage_key(refused.output()));
            let fresh = self.get_secret_value(id).map_err(CredentialError::Read)?;
            let (retry, last) = if fresh.value() == refused.value() {
                (self.pending_fallback(id, &refused, fresh)?, true)
            } else {
                (fresh, refreshes >= 2)
            };
            match call(retry.output()) {
                Ok(t) => return Ok(t),
                Err(Attempt::Failed(e)) => return Err(CredentialError::Failed(e)),
                Err(Attempt::AuthFailed(e)) if last => return Err(CredentialError::AuthFailed(e)),
                Err(Attempt::AuthFailed(_)) => refused = retry,
            }
        }
    }

    /// The credential to retry with when a fresh read of `AWSCURRENT` (`fresh`) gave back the
    /// `refused` one: `AWSPENDING` while a rotation is in progress, else `AWSCURRENT` read last.
    fn pending_fallback<E>(
        &self,
        id: &SecretId,
        refused: &CachedSecret,
        fresh: CachedSecret,
    ) -> std::result::Result<CachedSecret, CredentialError<E>> {
        // `AWSPENDING` is the accepted credential only if it is read *before* an `AWSCURRENT`
        // read that still returns the refused one: read after, it may belong to the next
        // rotation (its placeholder, or a value its `setSecret` has not set yet), because the
        // rotation in progress may have finished in between. So `AWSPENDING` first, then
        // `AWSCURRENT` once more (from the source, after the `AWSPENDING` read).
        let pending = match self.get(id, &VersionSelector::PENDING) {
            Ok(pending) => Some(pending),
            Err(e) if e.kind() == ErrorKind::ResourceNotFound => None,
            Err(e) => return Err(CredentialError::Read(e)),
        };
        self.inner.invalidate_secret(&storage_key(fresh.output()));
        let again = self.get_secret_value(id).map_err(CredentialError::Read)?;
        Ok(match pending {
            Some(pending)
                if again.value() == refused.value()
                    && pending.version_id() != again.version_id() =>
            {
                pending
            }
            // No rotation in progress (the fresh credential is the one that just failed),
            // or it finished meanwhile (the fresh credential is the new one).
            _ => again,
        })
    }

    /// Drops every cached version of the secret that `id` names (as cached under any name).
    pub fn invalidate(&self, id: &SecretId) {
        // Matched by name too, so that an id the secret was not read under (its ARN, say) also
        // drops it. This may drop more than needed (the same name in another region), never less.
        let name = id.name_part();
        let keys: Vec<Vec<u8>> = self
            .inner
            .table
            .load()
            .slots
            .iter()
            .filter(|(k, slot)| &k.id == id || name.as_ref() == Some(&slot.cached.output.name))
            .map(|(_, slot)| slot.secret.key.clone())
            .collect();
        for key in keys {
            self.inner.invalidate_secret(&key);
        }
    }

    /// Drops everything.
    pub fn clear(&self) {
        let mut writer = self.inner.lock_writer();
        self.inner.epoch.fetch_add(1, Ordering::SeqCst);
        writer.secrets.clear();
        self.inner.table.store(Arc::new(Table::default()));
    }

    /// How many secrets are cached.
    pub fn len(&self) -> usize {
        self.inner.lock_writer().secrets.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        let s = &self.inner.stats;
        CacheStats {
            hits: s.hits.sum(),
            misses: s.misses.sum(),
            loads: s.loads.sum(),
            coalesced: s.coalesced.sum(),
            errors: s.errors.sum(),
            stale_served: s.stale_served.sum(),
            evictions: s.evictions.sum(),
            invalidations: s.invalidations.sum(),
        }
    }
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache")
            .field("ttl", &self.inner.ttl)
            .field("capacity", &self.inner.capacity)
            .field("max_stale", &self.inner.max_stale)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

struct Inner {
    source: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    capacity: usize,
    max_stale: Duration,
    /// What readers see: replaced whole, under `writer`, on every change.
    table: ArcSwap<Table>,
    writer: Mutex<Writer>,
    /// Changes heard so far: a read of the source that overlapped one is not cached.
    epoch: AtomicU64,
    flights: Mutex<HashMap<Arc<Key>, Arc<Flight>>>,
    stats: Stats,
}

/// A cached read's identity: the id as the caller wrote it, and the version asked for.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    id: SecretId,
    selector: VersionSelector,
}

/// A [`Key`] by reference, to look one up without building it. Hashes as `Key` does (field by
/// field, in the same order).
struct KeyRef<'a> {
    id: &'a SecretId,
    selector: &'a VersionSelector,
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.selector.hash(state);
    }
}

impl Equivalent<Arc<Key>> for KeyRef<'_> {
    fn equivalent(&self, key: &Arc<Key>) -> bool {
        *self.id == key.id && *self.selector == key.selector
    }
}

#[derive(Clone, Default)]
struct Table {
    slots: hashbrown::HashMap<Arc<Key>, Slot>,
}

#[derive(Clone)]
struct Slot {
    secret: Arc<SecretEntry>,
    cached: Arc<Cached>,
}

/// One cached secret, shared by all its slots.
struct SecretEntry {
    /// The secret's key in the store (region and name): what commits name.
    key: Vec<u8>,
    /// Milliseconds since the epoch of the last read that used it.
    last_used: AtomicU64,
    /// When it was first cached, in cache order: breaks ties of `last_used`.
    seq: u64,
}

impl SecretEntry {
    fn touch(&self, now: SystemTime) {
        let ms = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() * 1000 + u64::from(d.subsec_millis()));
        if self.last_used.load(Ordering::Relaxed) < ms {
            self.last_used.store(ms, Ordering::Relaxed);
        }
    }
}

struct Cached {
    output: Arc<GetSecretValueOutput>,
    /// Served from memory until then.
    fresh_until: SystemTime,
    /// Served as stale after a failed refresh until then.
    stale_until: SystemTime,
    /// One handle per stripe of threads, each with its own reference count on its own cache
    /// line, so that threads reading the same value do not contend on one counter.
    handles: [Arc<Handle>; STRIPES],
}

/// A handle on a cached value: its reference count alone on a cache line.
#[derive(Debug)]
#[repr(align(128))]
struct Handle(Arc<GetSecretValueOutput>);

impl Cached {
    fn new(
        output: Arc<GetSecretValueOutput>,
        fetched_at: SystemTime,
        ttl: Duration,
        max_stale: Duration,
    ) -> Self {
        let far = |d: Duration| {
            fetched_at.checked_add(d).unwrap_or_else(|| {
                // Beyond what SystemTime can hold: some 8,700 years from the epoch will do.
                std::time::UNIX_EPOCH
                    .checked_add(Duration::from_secs(1 << 38))
                    .unwrap_or(fetched_at)
            })
        };
        Self {
            handles: std::array::from_fn(|_| Arc::new(Handle(output.clone()))),
            fresh_until: far(ttl),
            stale_until: far(ttl.saturating_add(max_stale)),
            output,
        }
    }

    /// This thread's handle.
    fn handle(&self) -> Arc<Handle> {
        match self.handles.get(stripe()) {
            Some(h) => h.clone(),
            None => Arc::new(Handle(self.output.clone())),
        }
    }
}

#[derive(Default)]
struct Writer {
    /// Store key -> the entry and the slots that use it.
    secrets: HashMap<Vec<u8>, Owned>,
    next_seq: u64,
}

struct Owned {
    entry: Arc<SecretEntry>,
    keys: Vec<Arc<Key>>,
}

/// The store key of the secret a read returned.
fn storage_key(out: &GetSecretValueOutput) -> Vec<u8> {
    // arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{suffix}
    let region = out.arn.as_str().split(':').nth(3).unwrap_or_default();
    storage::secret_key(region, out.name.as_str())
}

impl Inner {
    fn lock_writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_fresh(&self, cached: &Cached, now: SystemTime) -> bool {
        now < cached.fresh_until
    }

    fn within_max_stale(&self, cached: &Cached, now: SystemTime) -> bool {
        now < cached.stale_until
    }

    /// Reads the source, once for all callers missing the same key at the same time.
    fn load(&self, key: KeyRef<'_>, now: SystemTime) -> Result<Arc<GetSecretValueOutput>> {
        let owned = Arc::new(Key {
            id: key.id.clone(),
            selector: key.selector.clone(),
        });
        let (flight, leader) = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            // A load that finished since our miss inserted its value before leaving `flights`.
            if let Some(slot) = self.table.load().slots.get(&key)
                && self.is_fresh(&slot.cached, now)
            {
                return Ok(slot.cached.output.clone());
            }
            let epoch = self.epoch.load(Ordering::SeqCst);
            match flights.get(&owned) {
                // Joined only if no change was heard since it began: a load that began before a
                // commit returned may return the value that commit replaced.
                Some(f) if f.epoch == epoch => (f.clone(), false),
                _ => {
                    let f = Arc::new(Flight::new(epoch));
                    flights.insert(owned.clone(), f.clone());
                    (f, true)
                }
            }
        };
        if !leader {
            self.stats.coalesced.add();
            return match flight.wait() {
                Some(result) => result.map_err(Error::Shared),
                // The leader's read panicked: read on our own.
                None => {
                    let epoch = self.epoch.load(Ordering::SeqCst);
                    self.read_source(owned, now, epoch).map_err(Error::Shared)
                }
            };
        }
        let mut finisher = FlightFinisher {
            inner: self,
            key: owned.clone(),
            flight,
            done: false,
        };
        let result = self.read_source(owned, now, finisher.flight.epoch);
        finisher.finish(result.clone());
        result.map_err(Error::Shared)
    }

    /// Reads the source and caches the value unless a change was heard since `epoch` (read
    /// before this read began).
    fn read_source(
        &self,
        key: Arc<Key>,
        now: SystemTime,
        epoch: u64,
    ) -> std::result::Result<Arc<GetSecretValueOutput>, Arc<Error>> {
        self.stats.loads.add();
        let mut input = GetSecretValueInput::new(key.id.clone());
        match &key.selector {
            VersionSelector::Stage(s) => input = input.version_stage(s.clone()),
            VersionSelector::Version(v) => input = input.version_id(v.clone()),
        }
        match self.source.get_secret_value(input) {
            Ok(out) => {
                let out = Arc::new(out);
                self.insert(key, &out, now, epoch);
                Ok(out)
            }
            Err(e) => {
                self.stats.errors.add();
                Err(Arc::new(e))
            }
        }
    }

    /// Caches a value read at `fetched_at`, unless a change was heard since `epoch`.
    fn insert(
        &self,
        key: Arc<Key>,
        out: &Arc<GetSecretValueOutput>,
        fetched_at: SystemTime,
        epoch: u64,
    ) {
        let mut writer = self.lock_writer();
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        let skey = storage_key(out);
        if !writer.secrets.contains_key(&skey) {
            let seq = writer.next_seq;
            writer.next_seq += 1;
            writer.secrets.insert(
                skey.clone(),
                Owned {
                    entry: Arc::new(SecretEntry {
                        key: skey.clone(),
                        last_used: AtomicU64::new(clock::to_millis(fetched_at)),
                        seq,
                    }),
                    keys: Vec::new(),
                },
            );
        }
        let Some(owned) = writer.secrets.get_mut(&skey) else {
            return;
        };
        owned.entry.touch(fetched_at);
        if !owned.keys.contains(&key) {
            owned.keys.push(key.clone());
        }
        let mut table = Table::clone(&self.table.load());
        table.slots.insert(
            key,
            Slot {
                secret: owned.entry.clone(),
                cached: Arc::new(Cached::new(
                    out.clone(),
                    fetched_at,
                    self.ttl,
                    self.max_stale,
                )),
            },
        );
        while writer.secrets.len() > self.capacity {
            let victim = writer
                .secrets
                .iter()
                .min_by_key(|(_, o)| (o.entry.last_used.load(Ordering::Relaxed), o.entry.seq))
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some(gone) = writer.secrets.remove(&victim) {
                for k in &gone.keys {
                    table.slots.remove(k);
                }
                self.stats.evictions.add();
            }
        }
        self.table.store(Arc::new(table));
    }

    /// Drops one secret's slots.
    fn invalidate_secret(&self, skey: &[u8]) {
        self.secrets_changed(&[skey]);
    }
}

impl ChangeListener for Inner {
    fn secrets_changed(&self, keys: &[&[u8]]) {
        let mut writer = self.lock_writer();
        // First: a read of the source in flight may have read the old value.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let gone: Vec<Owned> = keys
            .iter()
            .filter_map(|k| writer.secrets.remove(*k))
            .collect();
        if gone.is_empty() {
            return;
        }
        let mut table = Table::clone(&self.table.load());
        for owned in &gone {
            for k in &owned.keys {
                table.slots.remove(k);
            }
            self.stats.invalidations.add();
        }
        self.table.store(Arc::new(table));
    }
}

type FlightResult = std::result::Result<Arc<GetSecretValueOutput>, Arc<Error>>;

/// One read of the source that other callers wait for.
struct Flight {
    /// The cache's epoch when the read began.
    epoch: u64,
    /// `None` until the read ends; `Some(None)` if the reader panicked.
    outcome: Mutex<Option<Option<FlightResult>>>,
    done: Condvar,
}

impl Flight {
    fn new(epoch: u64) -> Self {
        Self {
            epoch,
            outcome: Mutex::new(None),
            done: Condvar::new(),
        }
    }

    fn wait(&self) -> Option<FlightResult> {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(result) = outcome.as_ref() {
                return result.clone();
            }
            outcome = self
                .done
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Ends a flight: leaves the table of flights and wakes the waiters, also if the read panicked.
struct FlightFinisher<'a> {
    inner: &'a Inner,
    key: Arc<Key>,
    flight: Arc<Flight>,
    done: bool,
}

impl FlightFinisher<'_> {
    fn finish(&mut self, result: FlightResult) {
        self.end(Some(result));
    }

    fn end(&mut self, result: Option<FlightResult>) {
        self.done = true;
        let mut flights = self
            .inner
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A later flight may have replaced this one (after a change): leave that one in place.
        if flights
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            flights.remove(&self.key);
        }
        drop(flights);
        *self
            .flight
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(result);
        self.flight.done.notify_all();
    }
}

impl Drop for FlightFinisher<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.end(None);
        }
    }
}

/// Counters that threads add to without sharing a cache line (most of the time).
#[derive(Default)]
struct Stats {
    hits: Counter,
    misses: Counter,
    loads: Counter,
    coalesced: Counter,
    errors: Counter,
    stale_served: Counter,
    evictions: Counter,
    invalidations: Counter,
}

const STRIPES: usize = 8;

#[derive(Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

#[derive(Default)]
struct Counter([Stripe; STRIPES]);

/// This thread's stripe: threads are spread over the stripes in the order they first ask.
fn stripe() -> usize {
    thread_local! {
        static STRIPE: usize = {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
        };
    }
    STRIPE.with(|s| *s)
}

impl Counter {
    fn add(&self) {
        if let Some(stripe) = self.0.get(stripe()) {
            stripe.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}
