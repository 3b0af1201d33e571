//! `SecretCache` through its public API (issue 5): TTL with a manual clock, invalidation before a
//! commit returns, single-flight loads, errors that never extend freshness, the
//! refresh-on-authentication-failure helper through a simulated single-user rotation, LRU
//! eviction and its bound, and no value in `Debug`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

use common::*;
use strongroom::{
    Attempt, CachedSecret, CreateSecretInput, CredentialError, DEFAULT_CACHE_TTL,
    DeleteSecretInput, ErrorKind, GetSecretValueInput, GetSecretValueOutput, PutSecretValueInput,
    SecretCache, SecretId, SecretSource, Session, StagingLabel, StorageError, UpdateSecretInput,
    UpdateSecretVersionStageInput, VersionId, VersionSelector,
};

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A [`SecretSource`] over a [`Session`] that counts its reads, can be switched to fail with a
/// storage fault (`InternalServiceError`), and can hold reads at a gate the test opens.
///
/// A held read reads the store first and waits afterwards, so what it returns is what the store
/// held when the read began.
struct Source {
    session: Session,
    reads: AtomicUsize,
    failing: AtomicBool,
    /// How many of the next reads wait at the gate.
    hold: AtomicUsize,
    open: Mutex<bool>,
    opened: Condvar,
}

impl Source {
    fn new(session: Session) -> Arc<Self> {
        Arc::new(Self {
            session,
            reads: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
            hold: AtomicUsize::new(0),
            open: Mutex::new(false),
            opened: Condvar::new(),
        })
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Makes the next read wait until [`Source::open_gate`].
    fn hold_next_read(&self) {
        self.hold.store(1, Ordering::SeqCst);
    }

    fn open_gate(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn wait_at_gate(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            // Bounded, so that a failing test ends instead of hanging; never reached otherwise.
            let (guard, timeout) = self
                .opened
                .wait_timeout(open, Duration::from_secs(60))
                .unwrap();
            open = guard;
            assert!(!timeout.timed_out(), "the test never opened the gate");
        }
    }
}

impl SecretSource for Source {
    fn get_secret_value(
        &self,
        input: GetSecretValueInput,
    ) -> strongroom::Result<GetSecretValueOutput> {
        let result = if self.failing.load(Ordering::SeqCst) {
            Err(fault())
        } else {
            self.session.get_secret_value(input)
        };
        // Counted once the store was read, so that a test seeing the count knows what was read.
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self
            .hold
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.wait_at_gate();
        }
        result
    }
}

/// A fault of the store, as a failed storage backend reports it.
fn fault() -> strongroom::Error {
    strongroom::Error::Storage(StorageError::Io(std::io::Error::other("injected fault")))
}

/// A cache over a counting [`Source`] reading `t`'s store, hearing of `t`'s commits.
fn counted(t: &TestStore) -> (Arc<Source>, strongroom::SecretCacheBuilder) {
    let source = Source::new(t.s());
    let builder =
        SecretCache::builder_with_source(source.clone(), t.clock.clone()).invalidated_by(&t.store);
    (source, builder)
}

/// A cache over a counting [`Source`] reading `t`'s store that hears of no commits.
fn deaf(t: &TestStore) -> (Arc<Source>, strongroom::SecretCacheBuilder) {
    let source = Source::new(t.s());
    let builder = SecretCache::builder_with_source(source.clone(), t.clock.clone());
    (source, builder)
}

fn value(c: &CachedSecret) -> &str {
    c.value().expose_str().unwrap()
}

/// The `AWSCURRENT` string value of `n` read through `cache`.
fn cached(cache: &SecretCache, n: &str) -> String {
    value(&cache.get_secret_value(&id(n)).unwrap()).to_owned()
}

fn put(s: &Session, n: &str, v: &str) -> VersionId {
    s.put_secret_value(PutSecretValueInput::new(id(n), text(v)))
        .unwrap()
        .version_id
}

fn put_pending(s: &Session, n: &str, v: &str) -> VersionId {
    s.put_secret_value(
        PutSecretValueInput::new(id(n), text(v)).version_stages([StagingLabel::PENDING]),
    )
    .unwrap()
    .version_id
}

/// Moves `AWSCURRENT` of `n` from `from` to `to` (a rotation's `finishSecret`).
fn finish_rotation(s: &Session, n: &str, from: VersionId, to: VersionId) {
    s.update_secret_version_stage(
        UpdateSecretVersionStageInput::new(id(n), StagingLabel::CURRENT)
            .move_to(to)
            .remove_from(from),
    )
    .unwrap();
}

/// The full ARN of `n`.
fn arn(s: &Session, n: &str) -> String {
    s.describe_secret(&id(n)).unwrap().arn.as_str().to_owned()
}

/// Spins (yielding) until `done()`, with a bound on the number of turns.
fn spin_until(mut done: impl FnMut() -> bool) {
    for _ in 0..50_000_000u64 {
        if done() {
            return;
        }
        std::thread::yield_now();
    }
    panic!("condition never became true");
}

// ---------------------------------------------------------------------------------------------
// 1. TTL
// ---------------------------------------------------------------------------------------------

#[test]
fn a_fresh_value_is_served_from_memory_without_reading_the_store() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.build();

    assert_eq!(cached(&cache, "app/db"), "one");
    assert_eq!(source.reads(), 1);
    for _ in 0..5 {
        t.advance(SECOND);
        assert_eq!(cached(&cache, "app/db"), "one");
    }
    assert_eq!(source.reads(), 1, "hits do not read the store");
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.loads), (5, 1, 1));
}

#[test]
fn after_the_default_ttl_the_next_read_goes_to_the_store() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.build();

    cached(&cache, "app/db");
    t.advance(DEFAULT_CACHE_TTL - MS);
    cached(&cache, "app/db");
    assert_eq!(source.reads(), 1, "still fresh 1 ms before the TTL");
    t.advance(MS);
    let got = cache.get_secret_value(&id("app/db")).unwrap();
    assert_eq!(source.reads(), 2, "expired at the TTL");
    assert!(!got.is_stale());
    assert_eq!(cache.stats().loads, 2);
    // The reload is fresh for another TTL.
    cached(&cache, "app/db");
    assert_eq!(source.reads(), 2);
}

#[test]
fn the_ttl_is_configurable() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.ttl(Duration::from_secs(10)).build();

    cached(&cache, "app/db");
    t.advance(Duration::from_secs(10) - MS);
    cached(&cache, "app/db");
    assert_eq!(source.reads(), 1);
    t.advance(MS);
    cached(&cache, "app/db");
    assert_eq!(source.reads(), 2);
}

#[test]
fn an_expired_read_returns_what_the_store_now_holds() {
    // A cache that hears of no commits serves the old value until the TTL, then the new one.
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (_source, builder) = deaf(&t);
    let cache = builder.ttl(Duration::from_secs(10)).build();

    cached(&cache, "app/db");
    put(&t.s(), "app/db", "two");
    assert_eq!(cached(&cache, "app/db"), "one", "not told of the change");
    t.advance(Duration::from_secs(10));
    assert_eq!(cached(&cache, "app/db"), "two");
}

// ---------------------------------------------------------------------------------------------
// 2. Invalidation on change
// ---------------------------------------------------------------------------------------------

#[test]
fn put_secret_value_is_seen_at_once_by_a_cache_over_the_store() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let cache = SecretCache::builder(t.s()).build();

    assert_eq!(cached(&cache, "app/db"), "one");
    assert_eq!(cached(&cache, "app/db"), "one");
    put(&t.s(), "app/db", "two");
    // No clock advance: the TTL has not run out.
    assert_eq!(cached(&cache, "app/db"), "two");
    let stats = cache.stats();
    assert_eq!(stats.invalidations, 1);
    assert_eq!(stats.loads, 2);
}

#[test]
fn put_secret_value_is_seen_at_once_by_a_cache_invalidated_by_the_store() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.build();

    assert_eq!(cached(&cache, "app/db"), "one");
    put(&t.s(), "app/db", "two");
    assert_eq!(cached(&cache, "app/db"), "two");
    assert_eq!(source.reads(), 2);
}

#[test]
fn a_label_move_is_seen_at_once() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app/db", "old");
    let (_source, builder) = counted(&t);
    let cache = builder.build();

    assert_eq!(cached(&cache, "app/db"), "old");
    let v2 = put_pending(&s, "app/db", "new");
    assert_eq!(
        cached(&cache, "app/db"),
        "old",
        "AWSPENDING is not AWSCURRENT"
    );
    let pending = cache.get(&id("app/db"), &VersionSelector::PENDING).unwrap();
    assert_eq!(value(&pending), "new");

    finish_rotation(&s, "app/db", v1.clone(), v2.clone());
    let got = cache.get_secret_value(&id("app/db")).unwrap();
    assert_eq!(value(&got), "new");
    assert_eq!(got.version_id(), &v2);
    let previous = cache
        .get(
            &id("app/db"),
            &VersionSelector::Stage(StagingLabel::PREVIOUS),
        )
        .unwrap();
    assert_eq!(previous.version_id(), &v1);
}

#[test]
fn update_secret_with_a_value_is_seen_at_once() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (_source, builder) = counted(&t);
    let cache = builder.build();

    cached(&cache, "app/db");
    t.s()
        .update_secret(UpdateSecretInput::new(id("app/db")).value(text("two")))
        .unwrap();
    assert_eq!(cached(&cache, "app/db"), "two");
}

#[test]
fn a_deleted_secret_reads_as_an_error_not_the_old_value() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (_source, builder) = counted(&t);
    let cache = builder.max_stale(Duration::from_secs(3600)).build();

    cached(&cache, "app/db");
    t.s()
        .delete_secret(DeleteSecretInput::new(id("app/db")))
        .unwrap();
    let e = cache.get_secret_value(&id("app/db")).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidRequest,
        "scheduled for deletion"
    );
    assert!(cache.is_empty());
}

#[test]
fn a_force_deleted_secret_reads_as_not_found() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (_source, builder) = counted(&t);
    let cache = builder.build();

    cached(&cache, "app/db");
    t.s()
        .delete_secret(DeleteSecretInput::new(id("app/db")).force())
        .unwrap();
    let e = cache.get_secret_value(&id("app/db")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
}

#[test]
fn a_secret_read_by_name_arn_and_partial_arn_is_one_entry() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app/db", "one");
    let full = arn(&s, "app/db");
    let partial = full[..full.len() - 7].to_owned();
    let (source, builder) = counted(&t);
    let cache = builder.build();
    let ids = [id("app/db"), id(&full), id(&partial)];
    assert!(matches!(ids[1], SecretId::Arn { .. }));
    assert!(matches!(ids[2], SecretId::PartialArn { .. }));

    for i in &ids {
        assert_eq!(value(&cache.get_secret_value(i).unwrap()), "one");
    }
    // A version read by id belongs to the same entry.
    cache
        .get(&ids[0], &VersionSelector::Version(v1.clone()))
        .unwrap();
    assert_eq!(cache.len(), 1);
    assert_eq!(source.reads(), 4);
    for i in &ids {
        cache.get_secret_value(i).unwrap();
    }
    assert_eq!(source.reads(), 4, "every name hits");

    put(&s, "app/db", "two");
    assert_eq!(cache.stats().invalidations, 1);
    assert!(cache.is_empty());
    for i in &ids {
        assert_eq!(value(&cache.get_secret_value(i).unwrap()), "two", "{i}");
    }
    assert_eq!(cache.len(), 1);
    // Versions are immutable: the old version still reads its own value.
    let old = cache.get(&ids[0], &VersionSelector::Version(v1)).unwrap();
    assert_eq!(value(&old), "one");
}

#[test]
fn a_change_to_another_secret_keeps_the_entry() {
    let t = TestStore::new();
    create(&t.s(), "a", "a1");
    create(&t.s(), "b", "b1");
    let (source, builder) = counted(&t);
    let cache = builder.build();

    cached(&cache, "a");
    cached(&cache, "b");
    put(&t.s(), "b", "b2");
    let hits = cache.stats().hits;
    assert_eq!(cached(&cache, "a"), "a1");
    assert_eq!(cache.stats().hits, hits + 1, "a is still a hit");
    assert_eq!(source.reads(), 2);
    assert_eq!(cached(&cache, "b"), "b2");
    assert_eq!(source.reads(), 3);
}

#[test]
fn a_read_that_starts_after_a_commit_does_not_share_a_load_that_started_before_it() {
    // Thread A misses and reads the old value from the store, then is held. The value is then
    // changed; a read that starts after that change returns must not wait for A's load and take
    // its (old) result.
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.build();
    source.hold_next_read();

    std::thread::scope(|scope| {
        let a = scope.spawn(|| cached(&cache, "app/db"));
        spin_until(|| source.reads() == 1);
        put(&t.s(), "app/db", "two");

        let (tx, rx) = mpsc::channel();
        let cache_c = &cache;
        scope.spawn(move || tx.send(cached(cache_c, "app/db")).unwrap());
        // Only waits if the read joined A's load (the bug); then A is released so the test ends.
        let c = rx.recv_timeout(Duration::from_secs(30));
        source.open_gate();
        assert_eq!(
            c.expect("the read after the commit waited for a load that began before it"),
            "two"
        );
        assert_eq!(a.join().unwrap(), "one", "A's read began before the commit");
    });
    // A's old value was not cached.
    assert_eq!(cached(&cache, "app/db"), "two");
}

// ---------------------------------------------------------------------------------------------
// 3. Single-flight
// ---------------------------------------------------------------------------------------------

const THREADS: u64 = 16;

/// Runs `THREADS` threads that all miss `app/db` at once while the one read of the source is
/// held until every thread has missed; returns their results.
fn concurrent_misses(
    cache: &SecretCache,
    source: &Source,
) -> Vec<strongroom::Result<CachedSecret>> {
    source.hold_next_read();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| scope.spawn(|| cache.get_secret_value(&id("app/db"))))
            .collect();
        // The one read is held at the gate, and every other thread is waiting for it.
        spin_until(|| source.reads() == 1 && cache.stats().coalesced == THREADS - 1);
        source.open_gate();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn many_threads_missing_at_once_cause_one_read() {
    let t = TestStore::new();
    let v1 = create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.build();

    let results = concurrent_misses(&cache, &source);
    assert_eq!(results.len(), 16);
    for r in results {
        let got = r.unwrap();
        assert_eq!(value(&got), "one");
        assert_eq!(got.version_id(), &v1);
    }
    assert_eq!(source.reads(), 1);
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.misses, stats.hits), (1, THREADS, 0));
    // The value the one read returned is cached.
    cached(&cache, "app/db");
    assert_eq!(source.reads(), 1);
}

#[test]
fn the_error_of_the_one_read_reaches_every_waiter() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.build();
    source.fail(true);

    let results = concurrent_misses(&cache, &source);
    assert_eq!(results.len(), 16);
    for r in results {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::InternalServiceError);
    }
    assert_eq!(source.reads(), 1);
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.errors), (1, 1));
    // Nothing was cached: the next read tries again.
    source.fail(false);
    assert_eq!(cached(&cache, "app/db"), "one");
    assert_eq!(source.reads(), 2);
}

// ---------------------------------------------------------------------------------------------
// 4. Errors never extend freshness
// ---------------------------------------------------------------------------------------------

const TTL: Duration = Duration::from_secs(10);

#[test]
fn without_max_stale_a_failed_refresh_is_an_error() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.ttl(TTL).build();

    cached(&cache, "app/db");
    source.fail(true);
    t.advance(TTL);
    let e = cache.get_secret_value(&id("app/db")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InternalServiceError);
    let stats = cache.stats();
    assert_eq!((stats.errors, stats.stale_served), (1, 0));
}

#[test]
fn within_max_stale_a_failed_refresh_serves_the_old_value_marked_stale() {
    let t = TestStore::new();
    let v1 = create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.ttl(TTL).max_stale(Duration::from_secs(60)).build();

    assert!(!cache.get_secret_value(&id("app/db")).unwrap().is_stale());
    source.fail(true);
    t.advance(TTL);
    let got = cache.get_secret_value(&id("app/db")).unwrap();
    assert!(got.is_stale());
    assert_eq!(value(&got), "one");
    assert_eq!(got.version_id(), &v1);

    t.advance(Duration::from_secs(60) - MS);
    let got = cache.get_secret_value(&id("app/db")).unwrap();
    assert!(got.is_stale(), "1 ms before the end of max_stale");
    let stats = cache.stats();
    assert_eq!((stats.errors, stats.stale_served, stats.loads), (2, 2, 3));
    assert_eq!(source.reads(), 3, "each read past the TTL tries the store");

    t.advance(MS);
    let e = cache.get_secret_value(&id("app/db")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InternalServiceError);
    assert_eq!(cache.stats().stale_served, 2);
}

#[test]
fn a_failed_refresh_does_not_restart_the_ttl() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.ttl(TTL).max_stale(Duration::from_secs(60)).build();

    cached(&cache, "app/db");
    source.fail(true);
    t.advance(TTL);
    assert!(cache.get_secret_value(&id("app/db")).unwrap().is_stale());
    assert!(cache.get_secret_value(&id("app/db")).unwrap().is_stale());
    assert_eq!(source.reads(), 3);

    // Recovered, at the same instant: the next read loads (the stale value was not made fresh).
    source.fail(false);
    put(&t.s(), "app/db", "two");
    let got = cache.get_secret_value(&id("app/db")).unwrap();
    assert!(!got.is_stale());
    assert_eq!(value(&got), "two");
    assert_eq!(source.reads(), 4);
    cached(&cache, "app/db");
    assert_eq!(source.reads(), 4, "the successful load is fresh");
}

#[test]
fn a_failed_refresh_of_an_unchanged_secret_does_not_restart_the_ttl() {
    // As above without the put (which would drop the entry on its own): the deaf cache keeps
    // the expired entry, and the first read after recovery still loads.
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = deaf(&t);
    let cache = builder.ttl(TTL).max_stale(Duration::from_secs(60)).build();

    cached(&cache, "app/db");
    source.fail(true);
    t.advance(TTL);
    assert!(cache.get_secret_value(&id("app/db")).unwrap().is_stale());
    source.fail(false);
    assert!(!cache.get_secret_value(&id("app/db")).unwrap().is_stale());
    assert_eq!(source.reads(), 3);
}

#[test]
fn not_found_after_expiry_is_not_masked_by_a_stale_value() {
    // The secret is deleted through a path the cache does not hear of.
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (_source, builder) = deaf(&t);
    let cache = builder.ttl(TTL).max_stale(Duration::from_secs(60)).build();

    cached(&cache, "app/db");
    t.s()
        .delete_secret(DeleteSecretInput::new(id("app/db")).force())
        .unwrap();
    assert_eq!(cached(&cache, "app/db"), "one", "fresh, and not told");
    t.advance(TTL);
    let e = cache.get_secret_value(&id("app/db")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    let stats = cache.stats();
    assert_eq!((stats.errors, stats.stale_served), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// 5. with_credential through a single-user rotation
// ---------------------------------------------------------------------------------------------

/// A system that accepts one password.
struct Target {
    accepted: Mutex<String>,
    calls: AtomicUsize,
    /// The passwords offered, in order.
    offered: Mutex<Vec<String>>,
}

#[derive(Debug, PartialEq)]
struct Refused;

impl Target {
    fn new(accepted: &str) -> Self {
        Self {
            accepted: Mutex::new(accepted.to_owned()),
            calls: AtomicUsize::new(0),
            offered: Mutex::new(Vec::new()),
        }
    }

    /// The target's password changes (a rotation's `setSecret`).
    fn set_password(&self, p: &str) {
        *self.accepted.lock().unwrap() = p.to_owned();
    }

    /// Logs in: the closure an application gives to `with_credential`.
    fn login(&self, out: &GetSecretValueOutput) -> Result<String, Attempt<Refused>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let offered = out.value.expose_str().unwrap().to_owned();
        self.offered.lock().unwrap().push(offered.clone());
        if offered == *self.accepted.lock().unwrap() {
            Ok(format!("session for {offered}"))
        } else {
            Err(Attempt::AuthFailed(Refused))
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn offered(&self) -> Vec<String> {
        self.offered.lock().unwrap().clone()
    }
}

#[test]
fn an_accepted_credential_takes_one_call() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "pw1");
    let (source, builder) = counted(&t);
    let cache = builder.build();
    let target = Target::new("pw1");

    let r = cache.with_credential(&id("app/db"), |out| target.login(out));
    assert_eq!(r.unwrap(), "session for pw1");
    assert_eq!(target.calls(), 1);
    assert_eq!(source.reads(), 1);
    // And again, from memory.
    cache
        .with_credential(&id("app/db"), |out| target.login(out))
        .unwrap();
    assert_eq!((target.calls(), source.reads()), (2, 1));
}

#[test]
fn a_credential_changed_behind_the_cache_is_refreshed_and_retried() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "pw1");
    let (source, builder) = deaf(&t);
    let cache = builder.build();
    let target = Target::new("pw1");
    cache
        .with_credential(&id("app/db"), |out| target.login(out))
        .unwrap();

    // Changed in the store and in the target; the cache was not told and still holds pw1.
    put(&t.s(), "app/db", "pw2");
    target.set_password("pw2");
    assert_eq!(cached(&cache, "app/db"), "pw1");

    let r = cache.with_credential(&id("app/db"), |out| target.login(out));
    assert_eq!(r.unwrap(), "session for pw2");
    assert_eq!(target.offered(), ["pw1", "pw1", "pw2"]);
    assert_eq!(source.reads(), 2);
    // The refreshed value is the one cached now.
    assert_eq!(cached(&cache, "app/db"), "pw2");
    assert_eq!(source.reads(), 2);
}

#[test]
fn during_a_single_user_rotation_the_pending_credential_is_tried() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app/db", "pw1");
    let (_source, builder) = counted(&t);
    let cache = builder.build();
    let target = Target::new("pw1");
    cache
        .with_credential(&id("app/db"), |out| target.login(out))
        .unwrap();

    // createSecret: AWSPENDING holds the new password; setSecret: the target accepts only it.
    let v2 = put_pending(&s, "app/db", "pw2");
    target.set_password("pw2");
    assert_eq!(
        cached(&cache, "app/db"),
        "pw1",
        "AWSCURRENT is still the old one"
    );

    let mut seen = Vec::new();
    let r = cache.with_credential(&id("app/db"), |out| {
        seen.push(out.version_id.clone());
        target.login(out)
    });
    assert_eq!(r.unwrap(), "session for pw2");
    assert_eq!(seen, [v1.clone(), v2.clone()]);
    assert_eq!(target.offered(), ["pw1", "pw1", "pw2"]);

    // finishSecret: AWSCURRENT moves; the cache sees it at once and needs one call again.
    finish_rotation(&s, "app/db", v1, v2);
    let before = target.calls();
    cache
        .with_credential(&id("app/db"), |out| target.login(out))
        .unwrap();
    assert_eq!(target.calls(), before + 1);
}

#[test]
fn a_credential_two_rotations_old_is_retried_up_to_the_pending_one() {
    // The cache (deaf to changes) holds pw1. Since: rotation 1 finished (pw2 is AWSCURRENT) and
    // rotation 2 ran its setSecret (pw3 is AWSPENDING, the only password the target accepts).
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app/db", "pw1");
    let (source, builder) = deaf(&t);
    let cache = builder.build();
    assert_eq!(cached(&cache, "app/db"), "pw1");
    let v2 = put_pending(&s, "app/db", "pw2");
    finish_rotation(&s, "app/db", v1, v2);
    put_pending(&s, "app/db", "pw3");
    let target = Target::new("pw3");

    let r = cache.with_credential(&id("app/db"), |out| target.login(out));
    assert_eq!(r.unwrap(), "session for pw3");
    assert_eq!(target.offered(), ["pw1", "pw2", "pw3"]);
    // pw1 from memory; then AWSCURRENT (pw2), AWSCURRENT again (pw2), AWSPENDING, AWSCURRENT.
    assert_eq!(source.reads(), 5);
}

#[test]
fn a_wrong_credential_with_no_rotation_fails_after_two_calls() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "pw1");
    let (_source, builder) = counted(&t);
    let cache = builder.build();
    let target = Target::new("something else");

    let r = cache.with_credential(&id("app/db"), |out| target.login(out));
    assert!(matches!(r, Err(CredentialError::AuthFailed(Refused))));
    assert_eq!(target.calls(), 2);
    assert_eq!(target.offered(), ["pw1", "pw1"]);
}

#[test]
fn a_pending_label_on_the_current_version_is_no_rotation() {
    // AWSPENDING on the same version as AWSCURRENT is not a rotation in progress: the retry
    // uses AWSCURRENT again.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app/db", "pw1");
    s.update_secret_version_stage(
        UpdateSecretVersionStageInput::new(id("app/db"), StagingLabel::PENDING).move_to(v1),
    )
    .unwrap();
    let (_source, builder) = counted(&t);
    let cache = builder.build();
    let target = Target::new("other");

    let r = cache.with_credential(&id("app/db"), |out| target.login(out));
    assert!(matches!(r, Err(CredentialError::AuthFailed(Refused))));
    assert_eq!(target.offered(), ["pw1", "pw1"]);
}

#[test]
fn another_failure_is_returned_at_once_without_a_retry() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "pw1");
    let (source, builder) = counted(&t);
    let cache = builder.build();
    let mut calls = 0;

    let r: Result<(), _> = cache.with_credential(&id("app/db"), |_| {
        calls += 1;
        Err(Attempt::Failed("connection refused"))
    });
    assert!(matches!(
        r,
        Err(CredentialError::Failed("connection refused"))
    ));
    assert_eq!(calls, 1);
    assert_eq!(source.reads(), 1, "no refresh");
}

#[test]
fn a_credential_that_cannot_be_read_is_a_read_error() {
    let t = TestStore::new();
    let cache = SecretCache::builder(t.s()).build();
    let mut calls = 0;

    let r: Result<(), CredentialError<()>> = cache.with_credential(&id("missing"), |_| {
        calls += 1;
        Ok(())
    });
    match r {
        Err(CredentialError::Read(e)) => assert_eq!(e.kind(), ErrorKind::ResourceNotFound),
        other => panic!("expected a read error, got {other:?}"),
    }
    assert_eq!(calls, 0);
}

// ---------------------------------------------------------------------------------------------
// 6. LRU
// ---------------------------------------------------------------------------------------------

#[test]
fn the_least_recently_used_secret_is_evicted_first() {
    let t = TestStore::new();
    for n in ["a", "b", "c", "d"] {
        create(&t.s(), n, &format!("{n}1"));
    }
    let (source, builder) = counted(&t);
    let cache = builder.capacity(3).build();

    for n in ["a", "b", "c"] {
        cached(&cache, n);
        t.advance(MS);
    }
    assert_eq!(cached(&cache, "a"), "a1", "a is now the most recently used");
    t.advance(MS);
    cached(&cache, "d");
    t.advance(MS);

    let stats = cache.stats();
    assert_eq!(stats.evictions, 1);
    assert_eq!(cache.len(), 3);
    let reads = source.reads();
    for n in ["a", "c", "d"] {
        assert_eq!(cached(&cache, n), format!("{n}1"));
        t.advance(MS);
    }
    assert_eq!(source.reads(), reads, "a, c and d are hits");
    assert_eq!(cached(&cache, "b"), "b1");
    assert_eq!(source.reads(), reads + 1, "b was evicted");
}

#[test]
fn the_bound_holds_under_many_inserts() {
    let t = TestStore::new();
    let names: Vec<String> = (0..20).map(|i| format!("s{i:02}")).collect();
    for n in &names {
        create(&t.s(), n, n);
    }
    let (source, builder) = counted(&t);
    let cache = builder.capacity(5).build();

    for n in &names {
        assert_eq!(&cached(&cache, n), n);
        assert!(cache.len() <= 5);
        t.advance(MS);
    }
    assert_eq!(cache.len(), 5);
    assert_eq!(cache.stats().evictions, 15);
    for n in &names[15..] {
        cached(&cache, n);
    }
    assert_eq!(source.reads(), 20, "the last five are still cached");
}

#[test]
fn capacity_zero_caches_nothing_but_answers() {
    let t = TestStore::new();
    create(&t.s(), "app/db", "one");
    let (source, builder) = counted(&t);
    let cache = builder.capacity(0).build();

    assert_eq!(cached(&cache, "app/db"), "one");
    assert_eq!(cached(&cache, "app/db"), "one");
    assert!(cache.is_empty());
    assert_eq!(source.reads(), 2);
    assert_eq!(cache.stats().hits, 0);
}

// ---------------------------------------------------------------------------------------------
// 7. Secrets hygiene
// ---------------------------------------------------------------------------------------------

const CANARY: &str = "CANARY-cache-7f3a9c-never-print";

#[test]
fn debug_never_shows_a_value() {
    let t = TestStore::new();
    create(&t.s(), "app/db", CANARY);
    let cache = SecretCache::builder(t.s()).build();
    let got = cache.get_secret_value(&id("app/db")).unwrap();
    assert_eq!(value(&got), CANARY);

    let shown = [
        format!("{cache:?}"),
        format!("{cache:#?}"),
        format!("{got:?}"),
        format!("{got:#?}"),
        format!("{:?}", got.output()),
        format!("{:?}", got.value()),
        format!("{:?}", cache.stats()),
    ];
    for s in shown {
        assert!(!s.contains(CANARY), "{s}");
        assert!(!s.contains("never-print"), "{s}");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. invalidate and clear
// ---------------------------------------------------------------------------------------------

#[test]
fn invalidate_drops_the_secret_under_every_name() {
    let t = TestStore::new();
    create(&t.s(), "a", "a1");
    create(&t.s(), "b", "b1");
    let full = arn(&t.s(), "a");
    let (source, builder) = counted(&t);
    let cache = builder.build();

    cached(&cache, "a");
    cache.get_secret_value(&id(&full)).unwrap();
    cached(&cache, "b");
    assert_eq!(cache.len(), 2);
    cache.invalidate(&id("a"));
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.stats().invalidations, 1);

    cache.get_secret_value(&id(&full)).unwrap();
    assert_eq!(source.reads(), 4, "dropped under its ARN too");
    cached(&cache, "b");
    assert_eq!(source.reads(), 4, "b kept");
}

#[test]
fn invalidate_by_a_name_it_was_not_read_under_drops_it() {
    let t = TestStore::new();
    create(&t.s(), "a", "a1");
    let full = arn(&t.s(), "a");
    let partial = full[..full.len() - 7].to_owned();
    let (source, builder) = counted(&t);
    let cache = builder.build();

    cached(&cache, "a");
    cache.invalidate(&id(&full));
    assert!(cache.is_empty(), "by ARN");

    cache.get_secret_value(&id(&full)).unwrap();
    cache.invalidate(&id(&partial));
    assert!(cache.is_empty(), "by partial ARN");

    cache.get_secret_value(&id(&partial)).unwrap();
    cache.invalidate(&id("a"));
    assert!(cache.is_empty(), "by name");
    assert_eq!(source.reads(), 3);

    // An id of another secret drops nothing.
    cached(&cache, "a");
    cache.invalidate(&id("other"));
    assert_eq!(cache.len(), 1);
}

#[test]
fn clear_drops_everything() {
    let t = TestStore::new();
    create(&t.s(), "a", "a1");
    create(&t.s(), "b", "b1");
    let (source, builder) = counted(&t);
    let cache = builder.build();

    cached(&cache, "a");
    cached(&cache, "b");
    assert_eq!(cache.len(), 2);
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(cached(&cache, "a"), "a1");
    assert_eq!(cached(&cache, "b"), "b1");
    assert_eq!(source.reads(), 4);
}

#[test]
fn a_dropped_cache_leaves_the_store_working() {
    // Dropping a cache that hears of commits leaves the store working (its listener is gone).
    let t = TestStore::new();
    create(&t.s(), "a", "a1");
    let cache = SecretCache::builder(t.s()).build();
    cached(&cache, "a");
    drop(cache);
    put(&t.s(), "a", "a2");
    assert_eq!(current(&t.s(), "a"), "a2");
    let again = SecretCache::builder(t.s()).build();
    assert_eq!(cached(&again, "a"), "a2");
}

#[test]
fn create_after_a_cached_miss_is_seen() {
    // A read of a missing secret caches nothing; creating it is then visible at once.
    let t = TestStore::new();
    let cache = SecretCache::builder(t.s()).build();
    assert_eq!(
        cache.get_secret_value(&id("later")).unwrap_err().kind(),
        ErrorKind::ResourceNotFound
    );
    t.s()
        .create_secret(CreateSecretInput::new(name("later")).value(text("v")))
        .unwrap();
    assert_eq!(cached(&cache, "later"), "v");
}
