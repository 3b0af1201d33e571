//! Read and write costs of the store, each against a baseline measured in the same run:
//! - `read/get_secret_value_1KiB` vs `read/baseline_get_open_1KiB` (a raw sled get of the same
//!   record bytes plus one XChaCha20-Poly1305 open). Target: at most 2x.
//! - `write/put_secret_value_durable` vs `write/baseline_insert_flush_fsync` (a raw sled insert,
//!   flush and fsync). Target: at most 1.5x.
//! - `verify/verify_integrity_10k_secrets` vs `verify/baseline_scan_10k_secrets` (a scan of the
//!   same 10,000 secret records through the raw backend): the check every open makes of every
//!   metadata record's MAC and of the store digest. Target: at most 3x.
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
use strongroom::{
    CreateSecretInput, Description, GetSecretValueInput, InsecureTestKeyProvider, Keyspace,
    PutSecretValueInput, SecretId, SecretName, SecretStore, SecretValue, SledBackend,
    StorageBackend, Tag,
};

const KIB: usize = 1024;

fn value_1kib() -> SecretValue {
    SecretValue::string("x".repeat(KIB)).unwrap()
}

/// A store on a sled backend the bench can also read directly, in a temporary folder.
fn store_on_sled() -> (tempfile::TempDir, Arc<SledBackend>, SecretStore) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SledBackend::open(dir.path().join("store")).unwrap());
    let store = SecretStore::builder_with_backend(
        backend.clone(),
        Arc::new(InsecureTestKeyProvider::new(1)),
    )
    .open()
    .unwrap();
    (dir, backend, store)
}

fn read(c: &mut Criterion) {
    let (dir, backend, store) = store_on_sled();
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

criterion_group!(benches, read, write, verify);
criterion_main!(benches);
