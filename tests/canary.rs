//! A planted secret value never appears in Debug/Display output, error messages or the bytes at rest.
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
    BatchGetSecretValueInput, CreateSecretInput, GetRandomPasswordInput, GetSecretValueInput,
    InsecureTestKeyProvider, Keyspace, PutSecretValueInput, SecretStore, SecretValue, SledBackend,
    StorageBackend, UpdateSecretInput,
};

const CANARY: &str = "CANARY-d1c3a9e7-never-print-me";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} leaked the canary: {text}");
    assert!(
        !text.contains("CANARY"),
        "{what} leaked part of the canary: {text}"
    );
}

#[test]
fn the_canary_never_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
    let store = SecretStore::builder_with_backend(
        backend.clone(),
        Arc::new(InsecureTestKeyProvider::new(3)),
    )
    .open()
    .unwrap();
    let s = store.as_system();
    let t = token("canary");
    let created = s
        .create_secret(
            CreateSecretInput::new(name("c"))
                .value(text(CANARY))
                .client_request_token(t.clone()),
        )
        .unwrap();
    assert_clean("CreateSecretOutput", &format!("{created:?}"));
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("c")))
        .unwrap();
    assert_eq!(got.value.expose_str(), Some(CANARY));
    assert_clean("GetSecretValueOutput", &format!("{got:?}"));
    assert_clean("SecretValue", &format!("{:?}", got.value));
    assert_clean("SecretValue (alternate)", &format!("{:#?}", got.value));
    let batch = s
        .batch_get_secret_value(BatchGetSecretValueInput::for_ids(["c"]))
        .unwrap();
    assert_clean("BatchGetSecretValueOutput", &format!("{batch:?}"));
    assert_clean(
        "SecretDescription",
        &format!("{:?}", s.describe_secret(&id("c")).unwrap()),
    );
    assert_clean("SecretStore", &format!("{store:?}"));
    assert_clean("Session", &format!("{s:?}"));

    // Errors that involve the value: replaying the token with another value, oversized values,
    // and an update whose token is taken.
    let e = s
        .put_secret_value(
            PutSecretValueInput::new(id("c"), text("other")).client_request_token(t.clone()),
        )
        .unwrap_err();
    assert_clean("ResourceExists", &format!("{e} {e:?}"));
    let e = s
        .put_secret_value(
            PutSecretValueInput::new(id("c"), text(CANARY)).client_request_token(t.clone()),
        )
        .map(|o| format!("{o:?}"))
        .unwrap();
    assert_clean("replayed put", &e);
    let big = CANARY.repeat(70_000 / CANARY.len() + 1);
    let e = SecretValue::string(big.clone()).unwrap_err();
    assert_clean("oversized string", &format!("{e} {e:?}"));
    let e = SecretValue::binary(big.into_bytes()).unwrap_err();
    assert_clean("oversized binary", &format!("{e} {e:?}"));
    let e = s
        .update_secret(
            UpdateSecretInput::new(id("c"))
                .value(text("x"))
                .client_request_token(t),
        )
        .unwrap_err();
    assert_clean("update with taken token", &format!("{e} {e:?}"));
    let input = UpdateSecretInput::new(id("c")).value(text(CANARY));
    assert_clean("UpdateSecretInput", &format!("{input:?}"));
    let pw = s
        .get_random_password(&GetRandomPasswordInput::default())
        .unwrap();
    assert_eq!(format!("{pw:?}"), "SecretValue(<redacted>)");

    // At rest: no keyspace holds the plaintext.
    store.sync().unwrap();
    for ks in Keyspace::ALL {
        for (k, v) in backend.scan_prefix(ks, b"").unwrap() {
            assert!(
                !contains(&k, CANARY.as_bytes()) && !contains(&v, CANARY.as_bytes()),
                "{ks:?} holds plaintext"
            );
        }
    }
    drop(store);
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !contains(&bytes, CANARY.as_bytes()),
            "{} holds plaintext",
            entry.display()
        );
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
