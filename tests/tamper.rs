//! Tampering with stored bytes, moving a value record to another secret, version or store, or
//! opening with the wrong master key gives a clear error: never a panic, never wrong plaintext.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::sync::Arc;

use common::*;
use strongroom::{
    CreateSecretInput, ErrorKind, GetSecretValueInput, InsecureTestKeyProvider, KeyProvider,
    Keyspace, LocalKeyProvider, PutSecretValueInput, SecretStore, SledBackend, StorageBackend,
    WriteBatch,
};

struct Fixture {
    _dir: tempfile::TempDir,
    backend: Arc<SledBackend>,
    store: SecretStore,
}

fn fixture_with(provider: Arc<dyn KeyProvider>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
    let store = SecretStore::builder_with_backend(backend.clone(), provider)
        .open()
        .unwrap();
    Fixture {
        _dir: dir,
        backend,
        store,
    }
}

fn fixture() -> Fixture {
    fixture_with(Arc::new(InsecureTestKeyProvider::new(1)))
}

fn values(b: &SledBackend) -> Vec<(Vec<u8>, Vec<u8>)> {
    b.scan_prefix(Keyspace::Values, b"").unwrap()
}

fn put_raw(b: &SledBackend, ks: Keyspace, k: Vec<u8>, v: Vec<u8>) {
    let mut batch = WriteBatch::new();
    batch.put(ks, k, v);
    b.apply(&batch).unwrap();
}

fn read(store: &SecretStore, n: &str) -> strongroom::Result<String> {
    store
        .as_system()
        .get_secret_value(GetSecretValueInput::new(id(n)))
        .map(|o| o.value.expose_str().unwrap_or_default().to_owned())
}

#[test]
fn every_flipped_byte_of_a_value_record_is_detected() {
    let f = fixture();
    create(&f.store.as_system(), "a", "the real plaintext");
    let [(key, record)] = values(&f.backend).try_into().unwrap();
    for i in 0..record.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = record.clone();
            bad[i] ^= bit;
            put_raw(&f.backend, Keyspace::Values, key.clone(), bad);
            // A fresh store each time, so no cached data key hides a tampered wrapped key.
            let store = SecretStore::builder_with_backend(
                f.backend.clone(),
                Arc::new(InsecureTestKeyProvider::new(1)),
            )
            .open()
            .unwrap();
            match read(&store, "a") {
                Ok(v) => panic!(
                    "byte {i} bit {bit:#x} flipped, yet read returned {} bytes",
                    v.len()
                ),
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::DecryptionFailure | ErrorKind::InternalServiceError
                    ),
                    "byte {i}: {e:?}"
                ),
            }
        }
    }
    put_raw(&f.backend, Keyspace::Values, key, record);
    assert_eq!(read(&f.store, "a").unwrap(), "the real plaintext");
}

#[test]
fn a_flipped_ciphertext_byte_is_a_decryption_failure() {
    let f = fixture();
    create(&f.store.as_system(), "a", "plaintext");
    let [(key, mut record)] = values(&f.backend).try_into().unwrap();
    let last = record.len() - 1; // inside the authentication tag
    record[last] ^= 1;
    put_raw(&f.backend, Keyspace::Values, key, record);
    let e = read(&f.store, "a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecryptionFailure);
    assert_eq!(e.aws_code(), "DecryptionFailure");
}

#[test]
fn a_value_copied_under_another_secret_does_not_open() {
    let f = fixture();
    let s = f.store.as_system();
    create(&s, "a", "secret of a");
    create(&s, "b", "secret of b");
    let all = values(&f.backend);
    let a_ver = s
        .get_secret_value(GetSecretValueInput::new(id("a")))
        .unwrap()
        .version_id;
    let b_ver = s
        .get_secret_value(GetSecretValueInput::new(id("b")))
        .unwrap()
        .version_id;
    let (_, a_rec) = all
        .iter()
        .find(|(k, _)| k.ends_with(a_ver.as_str().as_bytes()))
        .unwrap();
    let (b_key, _) = all
        .iter()
        .find(|(k, _)| k.ends_with(b_ver.as_str().as_bytes()))
        .unwrap();
    put_raw(&f.backend, Keyspace::Values, b_key.clone(), a_rec.clone());
    assert_eq!(
        read(&f.store, "b").unwrap_err().kind(),
        ErrorKind::DecryptionFailure
    );
    assert_eq!(read(&f.store, "a").unwrap(), "secret of a");
}

#[test]
fn a_value_copied_under_another_version_does_not_open() {
    let f = fixture();
    let s = f.store.as_system();
    let v1 = create(&s, "a", "first");
    let v2 = s
        .put_secret_value(PutSecretValueInput::new(id("a"), text("second")))
        .unwrap()
        .version_id;
    let all = values(&f.backend);
    let (_, r1) = all
        .iter()
        .find(|(k, _)| k.ends_with(v1.as_str().as_bytes()))
        .unwrap();
    let (k2, _) = all
        .iter()
        .find(|(k, _)| k.ends_with(v2.as_str().as_bytes()))
        .unwrap();
    put_raw(&f.backend, Keyspace::Values, k2.clone(), r1.clone());
    assert_eq!(
        read(&f.store, "a").unwrap_err().kind(),
        ErrorKind::DecryptionFailure
    );
}

#[test]
fn records_copied_into_another_store_do_not_open() {
    let a = fixture();
    create(&a.store.as_system(), "a", "belongs to store a");
    let b = fixture(); // same master key, different store id
    for ks in [Keyspace::Secrets, Keyspace::Values] {
        for (k, v) in a.backend.scan_prefix(ks, b"").unwrap() {
            put_raw(&b.backend, ks, k, v);
        }
    }
    assert_eq!(
        read(&b.store, "a").unwrap_err().kind(),
        ErrorKind::DecryptionFailure
    );
}

#[test]
fn the_wrong_master_key_is_a_decryption_failure() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let p = LocalKeyProvider::open(dir.path().join("right.key")).unwrap();
        let store = SecretStore::builder(&data, Arc::new(p)).open().unwrap();
        create(&store.as_system(), "a", "v");
    }
    for provider in [
        Arc::new(LocalKeyProvider::open(dir.path().join("wrong.key")).unwrap())
            as Arc<dyn KeyProvider>,
        Arc::new(InsecureTestKeyProvider::new(9)),
    ] {
        let store = SecretStore::builder(&data, provider).open().unwrap();
        let e = read(&store, "a").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DecryptionFailure, "{e:?}");
        drop(store);
    }
    let p = LocalKeyProvider::open(dir.path().join("right.key")).unwrap();
    let store = SecretStore::builder(&data, Arc::new(p)).open().unwrap();
    assert_eq!(read(&store, "a").unwrap(), "v");
}

#[test]
fn a_corrupt_secret_record_is_an_internal_error_not_a_panic() {
    let f = fixture();
    let s = f.store.as_system();
    s.create_secret(CreateSecretInput::new(name("a")).value(text("v")))
        .unwrap();
    let [(key, record)] = f
        .backend
        .scan_prefix(Keyspace::Secrets, b"")
        .unwrap()
        .try_into()
        .unwrap();
    for bad in [
        vec![],
        vec![9u8],
        record[..record.len() / 2].to_vec(),
        [record.clone(), vec![0]].concat(),
    ] {
        put_raw(&f.backend, Keyspace::Secrets, key.clone(), bad);
        let e = read(&f.store, "a").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InternalServiceError, "{e:?}");
        assert_eq!(
            kind(s.describe_secret(&id("a"))),
            ErrorKind::InternalServiceError
        );
    }
}
