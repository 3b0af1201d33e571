//! `purge_deleted` removes data no secret refers to (as a crash between a commit and its
//! clean-up leaves behind), and keeps everything that is referred to.
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
    GetSecretValueInput, InsecureTestKeyProvider, Keyspace, PutSecretValueInput, SecretStore,
    SledBackend, StorageBackend, WriteBatch,
};

#[test]
fn orphans_are_swept_and_live_data_kept() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
    let store = SecretStore::builder_with_backend(
        backend.clone(),
        Arc::new(InsecureTestKeyProvider::new(1)),
    )
    .open()
    .unwrap();
    let s = store.as_system();
    create(&s, "keep", "v1");
    s.put_secret_value(PutSecretValueInput::new(id("keep"), text("v2")))
        .unwrap();
    s.get_secret_value(GetSecretValueInput::new(id("keep")))
        .unwrap();
    let values_before = backend.scan_prefix(Keyspace::Values, b"").unwrap();
    let accessed_before = backend.scan_prefix(Keyspace::Accessed, b"").unwrap();
    assert_eq!(values_before.len(), 2);
    assert!(!accessed_before.is_empty());

    // Orphans: a value of an unknown secret, a value of an unknown version of a live secret,
    // and an access date of an unknown secret.
    let live_uid = values_before[0].0[..16].to_vec();
    let mut junk = WriteBatch::new();
    junk.put(
        Keyspace::Values,
        [[9u8; 16].as_slice(), b"v".repeat(32).as_slice()].concat(),
        vec![1, 2, 3],
    );
    junk.put(
        Keyspace::Values,
        [live_uid.as_slice(), b"x".repeat(32).as_slice()].concat(),
        vec![4, 5, 6],
    );
    junk.put(
        Keyspace::Accessed,
        [[8u8; 16].as_slice(), &[0u8]].concat(),
        vec![1, 0],
    );
    backend.apply(&junk).unwrap();

    assert_eq!(store.purge_deleted().unwrap(), 0);
    assert_eq!(
        backend.scan_prefix(Keyspace::Values, b"").unwrap(),
        values_before
    );
    assert_eq!(
        backend.scan_prefix(Keyspace::Accessed, b"").unwrap(),
        accessed_before
    );
    assert_eq!(current(&s, "keep"), "v2");
}
