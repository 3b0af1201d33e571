//! Read and write costs of the store, each against a baseline measured in the same run:
//! - `read/get_secret_value_1KiB` vs `read/baseline_get_open_1KiB` (a raw sled get of the same
//!   record bytes plus one XChaCha20-Poly1305 open). Target: at most 2x.
//! - `write/put_secret_value_durable` vs `write/baseline_insert_flush_fsync` (a raw sled insert,
//!   flush and fsync). Target: at most 1.5x.
//! - `verify/verify_integrity_10k_secrets` vs `verify/baseline_scan_10k_secrets` (a scan of the
//!   same 10,000 secret records through the raw backend): the check every open makes of every
//!   metadata record's MAC and of the store digest. Target: at most 3x.
//! - `audit/get_secret_value_audited` (the default, buffered audit log) vs
//!   `audit/get_secret_value_unaudited` (the log off): at most 2x (goal 1.3x).
//! - `audit/get_secret_value_strict_64_threads`: strict mode, 64 reader threads, per read; the
//!   entries per sync (goal at least 16) are printed.
//! - `audit/verify_1M`: verifying a log of a million entries: under 2 s. Its fixture is built
//!   only under `cargo bench` (with `--bench`); `cargo test --all-targets` runs a 1,000-entry one.
//!
//! The `read` group's store has the audit log off (it measures the read itself, as before the
//! log existed); the `write` group's has it on, as a store opens by default.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fs::File;
use std::hint::black_box;
use std::sync::Arc;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::atomic::{AtomicU64, Ordering};

use strongroom::{
    AuditMode, AuditSettings, Commit, CreateSecretInput, Description, Entry, GetSecretValueInput,
    InsecureTestKeyProvider, Keyspace, PutSecretValueInput, SecretId, SecretName, SecretStore,
    SecretValue, SledBackend, StorageBackend, StorageError, Tag, WriteBatch,
};

const KIB: usize = 1024;

fn value_1kib() -> SecretValue {
    SecretValue::string("x".repeat(KIB)).unwrap()
}

/// A store on a sled backend the bench can also read directly, in a temporary folder.
fn store_on_sled() -> (tempfile::TempDir, Arc<SledBackend>, SecretStore) {
    store_with_audit(AuditSettings::default())
}

fn store_with_audit(audit: AuditSettings) -> (tempfile::TempDir, Arc<SledBackend>, SecretStore) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SledBackend::open(dir.path().join("store")).unwrap());
    let store = SecretStore::builder_with_backend(
        backend.clone(),
        Arc::new(InsecureTestKeyProvider::new(1)),
    )
    .audit(audit)
    .open()
    .unwrap();
    (dir, backend, store)
}

fn read(c: &mut Criterion) {
    let (dir, backend, store) = store_with_audit(AuditSettings::with_mode(AuditMode::Off));
    let s = store.as_system();
    let name = SecretName::new("bench/read").unwrap();
    s.create_secret(CreateSecretInput::new(name.clone()).value(value_1kib()))
        .unwrap();
    let id = SecretId::from(&name);

    // The baseline: the same value record bytes in a plain sled tree, and one AEAD open of 1 KiB.
    let [(_, record)] = backend
        .scan_prefix(Keyspace::Values, b"")
        .unwrap()
        .try_into()
        .unwrap();
    let raw = sled::Config::new()
        .path(dir.path().join("raw"))
        .open()
        .unwrap();
    raw.insert(b"k", record.as_slice()).unwrap();
    let cipher = XChaCha20Poly1305::new(&[7u8; 32].into());
    let nonce = XNonce::from([9u8; 24]);
    let mut sealed = vec![b'x'; KIB];
    cipher
        .encrypt_in_place(&nonce, b"aad", &mut sealed)
        .unwrap();

    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Elements(1));
    g.bench_function("baseline_get_open_1KiB", |b| {
        b.iter(|| {
            let rec = raw.get(b"k").unwrap().unwrap();
            black_box(&rec);
            let mut buf = zeroize::Zeroizing::new(sealed.clone());
            cipher.decrypt_in_place(&nonce, b"aad", &mut *buf).unwrap();
            black_box(buf);
        })
    });
    g.bench_function("get_secret_value_1KiB", |b| {
        b.iter(|| {
            black_box(
                s.get_secret_value(GetSecretValueInput::new(id.clone()))
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn write(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SecretStore::builder(
        dir.path().join("store"),
        Arc::new(InsecureTestKeyProvider::new(1)),
    )
    // Versions pile up quickly here; let clean-up remove them at once instead of failing.
    .deprecated_version_min_age(std::time::Duration::ZERO)
    .open()
    .unwrap();
    let s = store.as_system();
    let name = SecretName::new("bench/write").unwrap();
    s.create_secret(CreateSecretInput::new(name.clone()).value(value_1kib()))
        .unwrap();
    let id = SecretId::from(&name);

    let raw_path = dir.path().join("raw");
    let raw = sled::Config::new()
        .path(&raw_path)
        .flush_every_ms(None)
        .open()
        .unwrap();
    let data_file = File::open(raw_path.join("db")).unwrap();
    let bytes = vec![b'x'; KIB + 120]; // about the size of a sealed 1 KiB value record
    let mut i = 0u64;

    let mut g = c.benchmark_group("write");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    g.bench_function("baseline_insert_flush_fsync", |b| {
        b.iter(|| {
            i += 1;
            raw.insert(i.to_be_bytes(), bytes.as_slice()).unwrap();
            raw.flush().unwrap();
            data_file.sync_data().unwrap();
        })
    });
    g.bench_function("put_secret_value_durable", |b| {
        b.iter(|| {
            black_box(
                s.put_secret_value(PutSecretValueInput::new(id.clone(), value_1kib()))
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    const SECRETS: usize = 10_000;
    let (_dir, backend, store) = store_on_sled();
    let s = store.as_system();
    let tags: Vec<Tag> = (0..3)
        .map(|i| Tag::new(format!("key-{i}"), "a tag value").unwrap())
        .collect();
    for i in 0..SECRETS {
        let name = SecretName::new(format!("bench/verify/{i:05}")).unwrap();
        let input = tags.iter().cloned().fold(
            CreateSecretInput::new(name)
                .value(SecretValue::string("v").unwrap())
                .description(
                    Description::new("a secret with a description and three tags").unwrap(),
                ),
            CreateSecretInput::tag,
        );
        s.create_secret(input).unwrap();
    }
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(SECRETS as u64));
    g.sample_size(20);
    g.bench_function("baseline_scan_10k_secrets", |b| {
        b.iter(|| black_box(backend.scan_prefix(Keyspace::Secrets, b"").unwrap().len()))
    });
    g.bench_function("verify_integrity_10k_secrets", |b| {
        b.iter(|| store.verify_integrity().unwrap())
    });
    g.finish();
}

/// A sled backend that counts the syncs that reach it (each group sync of the audit log is one).
#[derive(Debug)]
struct CountingSyncs {
    inner: SledBackend,
    commits: AtomicU64,
}

impl StorageBackend for CountingSyncs {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(ks, key)
    }
    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        self.inner.scan_prefix(ks, prefix)
    }
    fn scan_from(
        &self,
        ks: Keyspace,
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StorageError> {
        self.inner.scan_from(ks, start, limit)
    }
    fn last(&self, ks: Keyspace) -> Result<Option<Entry>, StorageError> {
        self.inner.last(ks)
    }
    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        self.inner.apply(batch)
    }
    fn sync(&self) -> Result<(), StorageError> {
        self.inner.sync()
    }
    fn commit(&self, change: &Commit) -> Result<(), StorageError> {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.inner.commit(change)
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "iter_custom times the 64 threads itself, in real time"
)]
fn audit(c: &mut Criterion) {
    let benching = std::env::args().any(|a| a == "--bench");
    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(1));
    for (name, mode) in [
        ("get_secret_value_unaudited", AuditMode::Off),
        ("get_secret_value_audited", AuditMode::Buffered),
    ] {
        let (_dir, _backend, store) = store_with_audit(AuditSettings::with_mode(mode));
        let s = store.as_system();
        let secret = SecretName::new("bench/audit").unwrap();
        s.create_secret(CreateSecretInput::new(secret.clone()).value(value_1kib()))
            .unwrap();
        let id = SecretId::from(&secret);
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    s.get_secret_value(GetSecretValueInput::new(id.clone()))
                        .unwrap(),
                )
            })
        });
    }

    // Strict mode: 64 readers, each read waiting for its entry to be synced.
    const THREADS: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let counting = Arc::new(CountingSyncs {
        inner: SledBackend::open(dir.path().join("store")).unwrap(),
        commits: AtomicU64::new(0),
    });
    let store = SecretStore::builder_with_backend(
        counting.clone(),
        Arc::new(InsecureTestKeyProvider::new(1)),
    )
    .audit(AuditSettings::with_mode(AuditMode::Strict))
    .open()
    .unwrap();
    let secret = SecretName::new("bench/strict").unwrap();
    store
        .as_system()
        .create_secret(CreateSecretInput::new(secret.clone()).value(value_1kib()))
        .unwrap();
    let id = SecretId::from(&secret);
    let (mut reads, mut syncs) = (0u64, 0u64);
    g.sample_size(10);
    g.bench_function("get_secret_value_strict_64_threads", |b| {
        b.iter_custom(|iters| {
            let per_thread = iters.div_ceil(THREADS as u64);
            let before = counting.commits.load(Ordering::Relaxed);
            let start = std::time::Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..THREADS {
                    let s = store.as_system();
                    let id = id.clone();
                    scope.spawn(move || {
                        for _ in 0..per_thread {
                            black_box(
                                s.get_secret_value(GetSecretValueInput::new(id.clone()))
                                    .unwrap(),
                            );
                        }
                    });
                }
            });
            let took = start.elapsed();
            reads += per_thread * THREADS as u64;
            syncs += counting.commits.load(Ordering::Relaxed) - before;
            // Time per read, as if the reads had run one after another at this throughput.
            took.mul_f64(iters as f64 / (per_thread * THREADS as u64) as f64)
        })
    });
    if syncs > 0 {
        eprintln!(
            "audit/get_secret_value_strict_64_threads: {reads} reads, {syncs} syncs, {:.1} entries per sync",
            reads as f64 / syncs as f64
        );
    }

    // Verifying a long log: a million entries under `cargo bench`, a thousand otherwise.
    let entries = if benching { 1_000_000 } else { 1_000 };
    let (_dir, _backend, store) = store_with_audit(AuditSettings::default());
    let s = store.as_system();
    let secret = SecretName::new("bench/verify").unwrap();
    s.create_secret(CreateSecretInput::new(secret.clone()).value(value_1kib()))
        .unwrap();
    let id = SecretId::from(&secret);
    for _ in 1..entries {
        s.get_secret_value(GetSecretValueInput::new(id.clone()))
            .unwrap();
    }
    g.throughput(Throughput::Elements(entries));
    g.bench_function(if benching { "verify_1M" } else { "verify_1k" }, |b| {
        b.iter(|| black_box(s.verify_audit_log(&mut |_| {}).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, read, write, verify, audit);
criterion_main!(benches);
