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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use hashbrown::Equivalent;

use crate::clock::Clock;
use crate::error::Result;
use crate::model::{SecretId, SecretValue, StagingLabel, VersionId};
use crate::storage::SecretKey;
use crate::store::{GetSecretValueInput, GetSecretValueOutput, Session};

mod credential;
mod stats;
mod table;

pub use credential::{Attempt, CredentialError};
use stats::Stats;
use table::{Handle, Inner, Table, Writer};

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

    /// Drops every cached version of the secret that `id` names (as cached under any name).
    pub fn invalidate(&self, id: &SecretId) {
        // Matched by name too, so that an id the secret was not read under (its ARN, say) also
        // drops it. This may drop more than needed (the same name in another region), never less.
        let name = id.name_part();
        let keys: Vec<SecretKey> = self
            .inner
            .table
            .load()
            .slots
            .iter()
            .filter(|(k, slot)| &k.id == id || name.as_ref() == Some(&slot.cached.output.name))
            .map(|(_, slot)| slot.secret.key.clone())
            .collect();
        for key in keys {
            self.inner.invalidate_secret(key);
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

/// A cached read's identity: the id as the caller wrote it, and the version asked for.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) id: SecretId,
    pub(super) selector: VersionSelector,
}

/// A [`Key`] by reference, to look one up without building it. Hashes as `Key` does (field by
/// field, in the same order).
pub(super) struct KeyRef<'a> {
    pub(super) id: &'a SecretId,
    pub(super) selector: &'a VersionSelector,
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
