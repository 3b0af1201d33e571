//! Tampering with stored bytes, moving a value record to another secret, version or store, or
//! opening with a master key the store was not written under gives a clear error: never a panic,
//! never wrong plaintext, never a second key mixed into one store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
#[path = "common/raw.rs"]
mod raw;

use std::sync::Arc;

use common::*;
use raw::*;
use strongroom::{
    CreateSecretInput, ErrorKind, GetSecretValueInput, InsecureTestKeyProvider, KeyProvider,
    Keyspace, LocalKeyProvider, PutSecretValueInput, SecretStore, SledBackend, StorageBackend,
};

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
    // The secret's record names its value's nonce, so the copy is refused before it is opened
    // (it would not decrypt either: its AEAD binds it to the other secret).
    assert_integrity(read(&f.store, "b"));
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
    assert_integrity(read(&f.store, "a"));
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
    // The secret's record fails its MAC first; its value would not decrypt either.
    assert_integrity(read(&b.store, "a"));
    assert_integrity(b.reopen());
}

fn assert_integrity<T: std::fmt::Debug>(r: strongroom::Result<T>) {
    match r {
        Err(strongroom::Error::Integrity(_)) => {}
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

/// Every record of the store, to show that a refused open wrote nothing.
fn records_at(path: &std::path::Path) -> Vec<(Keyspace, Vec<u8>, Vec<u8>)> {
    all_records(&SledBackend::open(path).unwrap())
}

#[test]
fn a_store_refuses_a_key_provider_without_its_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let right = LocalKeyProvider::open(dir.path().join("right.key")).unwrap();
    let right_id = right.current_key_id();
    {
        let store = SecretStore::builder(&data, Arc::new(right)).open().unwrap();
        create(&store.as_system(), "a", "v");
    }
    assert_eq!(
        SecretStore::master_key_ids(&data).unwrap(),
        vec![right_id.clone()]
    );
    let before = records_at(&data);
    // A fresh key file where the old one was deleted, another store's key, a test key.
    for provider in [
        Arc::new(LocalKeyProvider::open(dir.path().join("fresh.key")).unwrap())
            as Arc<dyn KeyProvider>,
        Arc::new(InsecureTestKeyProvider::new(9)),
    ] {
        let current = provider.current_key_id();
        let e = SecretStore::builder(&data, provider).open().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InternalServiceError, "{e:?}");
        let message = e.to_string();
        assert!(message.contains(right_id.as_str()), "{message}");
        assert!(message.contains(current.as_str()), "{message}");
        assert!(
            matches!(e, strongroom::Error::UnknownMasterKey { .. }),
            "{e:?}"
        );
        assert_eq!(records_at(&data), before, "a refused open wrote nothing");
    }
    let p = LocalKeyProvider::open(dir.path().join("right.key")).unwrap();
    let store = SecretStore::builder(&data, Arc::new(p)).open().unwrap();
    assert_eq!(read(&store, "a").unwrap(), "v");
}

#[test]
fn a_new_key_with_the_old_one_kept_for_unwrapping_is_accepted_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let old = LocalKeyProvider::open(dir.path().join("old.key")).unwrap();
    let old_id = old.current_key_id();
    {
        let store = SecretStore::builder(&data, Arc::new(old)).open().unwrap();
        create(&store.as_system(), "a", "v");
    }
    let new = LocalKeyProvider::open(dir.path().join("new.key"))
        .unwrap()
        .with_previous_key_file(dir.path().join("old.key"))
        .unwrap();
    let new_id = new.current_key_id();
    {
        let store = SecretStore::builder(&data, Arc::new(new)).open().unwrap();
        assert_eq!(read(&store, "a").unwrap(), "v");
        create(&store.as_system(), "b", "w");
    }
    assert_eq!(
        SecretStore::master_key_ids(&data).unwrap(),
        vec![old_id, new_id]
    );
    // The old key alone still opens it (it is one of the store's keys); "b" needs the new one.
    let old = LocalKeyProvider::open(dir.path().join("old.key")).unwrap();
    let store = SecretStore::builder(&data, Arc::new(old)).open().unwrap();
    assert_eq!(read(&store, "a").unwrap(), "v");
    assert_eq!(
        read(&store, "b").unwrap_err().kind(),
        ErrorKind::DecryptionFailure
    );
}

#[test]
fn a_store_written_before_the_key_record_learns_its_keys_from_its_values() {
    let f = fixture();
    create(&f.store.as_system(), "a", "v");
    let right_id = InsecureTestKeyProvider::new(1).current_key_id();
    drop(f.store);
    // As an older version left it: records not authenticated, no record of the master keys.
    strip_to_unauthenticated(&f.backend);
    delete_raw(&f.backend, Keyspace::Meta, b"master-keys");
    let e = SecretStore::builder_with_backend(
        f.backend.clone(),
        Arc::new(InsecureTestKeyProvider::new(2)),
    )
    .open()
    .unwrap_err();
    assert!(e.to_string().contains(right_id.as_str()), "{e}");
    assert!(
        f.backend
            .get(Keyspace::Meta, b"master-keys")
            .unwrap()
            .is_none()
    );
    let store = SecretStore::builder_with_backend(
        f.backend.clone(),
        Arc::new(InsecureTestKeyProvider::new(1)),
    )
    .upgrade_unauthenticated_store()
    .open()
    .unwrap();
    assert_eq!(read(&store, "a").unwrap(), "v");
    assert!(
        f.backend
            .get(Keyspace::Meta, b"master-keys")
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_new_store_records_its_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let p = InsecureTestKeyProvider::new(3);
    let id = p.current_key_id();
    drop(SecretStore::builder(&data, Arc::new(p)).open().unwrap());
    assert_eq!(SecretStore::master_key_ids(&data).unwrap(), vec![id]);
    // Even empty, it is now that key's store.
    assert!(
        SecretStore::builder(&data, Arc::new(InsecureTestKeyProvider::new(4)))
            .open()
            .is_err()
    );
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
