//! The cache's table: entries by key, read through an atomic pointer without a lock, their
//! values and ages, the invalidation a committed change triggers, and single-flight loads (one
//! read of the source that other callers missing the same entry wait for).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::clock::{self, Clock};
use crate::error::{Error, Result};
use crate::storage::SecretKey;
use crate::store::{ChangeListener, GetSecretValueInput, GetSecretValueOutput};

use super::stats::{STRIPES, Stats, stripe};
use super::{Key, KeyRef, SecretSource, VersionSelector};

pub(super) struct Inner {
    pub(super) source: Arc<dyn SecretSource>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) ttl: Duration,
    pub(super) capacity: usize,
    pub(super) max_stale: Duration,
    /// What readers see: replaced whole, under `writer`, on every change.
    pub(super) table: ArcSwap<Table>,
    pub(super) writer: Mutex<Writer>,
    /// Changes heard so far: a read of the source that overlapped one is not cached.
    pub(super) epoch: AtomicU64,
    pub(super) flights: Mutex<HashMap<Arc<Key>, Arc<Flight>>>,
    pub(super) stats: Stats,
}

#[derive(Clone, Default)]
pub(super) struct Table {
    pub(super) slots: hashbrown::HashMap<Arc<Key>, Slot>,
}

#[derive(Clone)]
pub(super) struct Slot {
    pub(super) secret: Arc<SecretEntry>,
    pub(super) cached: Arc<Cached>,
}

/// One cached secret, shared by all its slots.
pub(super) struct SecretEntry {
    /// The secret's key in the store (region and name): what commits name.
    pub(super) key: SecretKey,
    /// Milliseconds since the epoch of the last read that used it.
    pub(super) last_used: AtomicU64,
    /// When it was first cached, in cache order: breaks ties of `last_used`.
    pub(super) seq: u64,
}

impl SecretEntry {
    #[inline]
    pub(super) fn touch(&self, now: SystemTime) {
        let ms = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() * 1000 + u64::from(d.subsec_millis()));
        if self.last_used.load(Ordering::Relaxed) < ms {
            self.last_used.store(ms, Ordering::Relaxed);
        }
    }
}

pub(super) struct Cached {
    pub(super) output: Arc<GetSecretValueOutput>,
    /// Served from memory until then.
    pub(super) fresh_until: SystemTime,
    /// Served as stale after a failed refresh until then.
    pub(super) stale_until: SystemTime,
    /// One handle per stripe of threads, each with its own reference count on its own cache
    /// line, so that threads reading the same value do not contend on one counter.
    pub(super) handles: [Arc<Handle>; STRIPES],
}

/// A handle on a cached value: its reference count alone on a cache line.
#[derive(Debug)]
#[repr(align(128))]
pub(super) struct Handle(pub(super) Arc<GetSecretValueOutput>);

impl Cached {
    pub(super) fn new(
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
    #[inline]
    pub(super) fn handle(&self) -> Arc<Handle> {
        match self.handles.get(stripe()) {
            Some(h) => h.clone(),
            None => Arc::new(Handle(self.output.clone())),
        }
    }
}

#[derive(Default)]
pub(super) struct Writer {
    /// Store key -> the entry and the slots that use it.
    pub(super) secrets: HashMap<SecretKey, Owned>,
    pub(super) next_seq: u64,
}

pub(super) struct Owned {
    pub(super) entry: Arc<SecretEntry>,
    pub(super) keys: Vec<Arc<Key>>,
}

/// The store key of the secret a read returned.
pub(super) fn storage_key(out: &GetSecretValueOutput) -> SecretKey {
    SecretKey::new(out.arn.region(), out.name.as_str())
}

impl Inner {
    pub(super) fn lock_writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    pub(super) fn is_fresh(&self, cached: &Cached, now: SystemTime) -> bool {
        now < cached.fresh_until
    }

    #[inline]
    pub(super) fn within_max_stale(&self, cached: &Cached, now: SystemTime) -> bool {
        now < cached.stale_until
    }

    /// Reads the source, once for all callers missing the same key at the same time.
    pub(super) fn load(
        &self,
        key: KeyRef<'_>,
        now: SystemTime,
    ) -> Result<Arc<GetSecretValueOutput>> {
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
    pub(super) fn read_source(
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
    pub(super) fn insert(
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
    pub(super) fn invalidate_secret(&self, skey: SecretKey) {
        self.secrets_changed(&[skey]);
    }
}

impl ChangeListener for Inner {
    fn secrets_changed(&self, keys: &[SecretKey]) {
        let mut writer = self.lock_writer();
        // First: a read of the source in flight may have read the old value.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let gone: Vec<Owned> = keys
            .iter()
            .filter_map(|k| writer.secrets.remove(k))
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

pub(super) type FlightResult = std::result::Result<Arc<GetSecretValueOutput>, Arc<Error>>;

/// One read of the source that other callers wait for.
pub(super) struct Flight {
    /// The cache's epoch when the read began.
    pub(super) epoch: u64,
    /// `None` until the read ends; `Some(None)` if the reader panicked.
    pub(super) outcome: Mutex<Option<Option<FlightResult>>>,
    pub(super) done: Condvar,
}

impl Flight {
    pub(super) fn new(epoch: u64) -> Self {
        Self {
            epoch,
            outcome: Mutex::new(None),
            done: Condvar::new(),
        }
    }

    pub(super) fn wait(&self) -> Option<FlightResult> {
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
pub(super) struct FlightFinisher<'a> {
    pub(super) inner: &'a Inner,
    pub(super) key: Arc<Key>,
    pub(super) flight: Arc<Flight>,
    pub(super) done: bool,
}

impl FlightFinisher<'_> {
    pub(super) fn finish(&mut self, result: FlightResult) {
        self.end(Some(result));
    }

    pub(super) fn end(&mut self, result: Option<FlightResult>) {
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
