//! A store over a `SledBackend` the test also holds, to read and write its records' bytes
//! directly (as someone with write access to the store's files could), and the layout of an
//! authenticated record (`docs/format.md`) to take one apart.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use strongroom::{
    GetSecretValueInput, InsecureTestKeyProvider, KeyProvider, Keyspace, SecretId, SecretStore,
    SledBackend, StorageBackend, WriteBatch,
};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub backend: Arc<SledBackend>,
    pub store: SecretStore,
}

impl Fixture {
    /// The store opened again over the same backend with test key 1 (the fixture's key).
    pub fn reopen(&self) -> strongroom::Result<SecretStore> {
        SecretStore::builder_with_backend(
            self.backend.clone(),
            Arc::new(InsecureTestKeyProvider::new(1)),
        )
        .open()
    }

    /// Like [`Fixture::reopen`], upgrading a store whose records are not authenticated.
    pub fn reopen_upgrading(&self) -> strongroom::Result<SecretStore> {
        SecretStore::builder_with_backend(
            self.backend.clone(),
            Arc::new(InsecureTestKeyProvider::new(1)),
        )
        .upgrade_unauthenticated_store()
        .open()
    }
}

pub fn fixture_with(provider: Arc<dyn KeyProvider>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
    let store = SecretStore::builder_with_backend(backend.clone(), provider)
        .open()
        .unwrap();
    Fixture {
        dir,
        backend,
        store,
    }
}

pub fn fixture() -> Fixture {
    fixture_with(Arc::new(InsecureTestKeyProvider::new(1)))
}

pub fn values(b: &SledBackend) -> Vec<(Vec<u8>, Vec<u8>)> {
    b.scan_prefix(Keyspace::Values, b"").unwrap()
}

pub fn put_raw(b: &SledBackend, ks: Keyspace, k: Vec<u8>, v: Vec<u8>) {
    let mut batch = WriteBatch::new();
    batch.put(ks, k, v);
    b.apply(&batch).unwrap();
}

pub fn delete_raw(b: &SledBackend, ks: Keyspace, k: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.delete(ks, k.to_vec());
    b.apply(&batch).unwrap();
}

/// Every record of every keyspace.
pub fn all_records(b: &dyn StorageBackend) -> Vec<(Keyspace, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for ks in Keyspace::ALL {
        for (k, v) in b.scan_prefix(ks, b"").unwrap() {
            out.push((ks, k, v));
        }
    }
    out
}

/// The `Secrets` key of secret `name` in `us-east-1`: region, 0x00, name.
pub fn secret_key(name: &str) -> Vec<u8> {
    [b"us-east-1".as_slice(), &[0], name.as_bytes()].concat()
}

pub fn read(store: &SecretStore, n: &str) -> strongroom::Result<String> {
    store
        .as_system()
        .get_secret_value(GetSecretValueInput::new(SecretId::new(n).unwrap()))
        .map(|o| o.value.expose_str().unwrap_or_default().to_owned())
}

/// An authenticated record taken apart: first byte 0xA1, a flag byte (1: a 40-byte commit stamp
/// follows; 3: an 80-byte one, with the audit chain's position), the bare record, a 32-byte
/// HMAC-SHA256 tag.
pub struct Envelope {
    pub stamp: Option<Vec<u8>>,
    pub inner: Vec<u8>,
    pub tag: Vec<u8>,
}

pub fn envelope(bytes: &[u8]) -> Envelope {
    assert_eq!(bytes[0], 0xA1, "first byte of an authenticated record");
    let (stamp, start) = match bytes[1] {
        0 => (None, 2),
        1 => (Some(bytes[2..42].to_vec()), 42),
        3 => (Some(bytes[2..82].to_vec()), 82),
        f => panic!("flag byte {f}"),
    };
    let end = bytes.len() - 32;
    Envelope {
        stamp,
        inner: bytes[start..end].to_vec(),
        tag: bytes[end..].to_vec(),
    }
}

/// Rewrites every record as a store written before records were authenticated held it: the
/// bare record (values are bare already), and no integrity or stamp record, and no audit log.
pub fn strip_to_unauthenticated(b: &SledBackend) {
    for (ks, k, v) in all_records(b) {
        if ks == Keyspace::Values {
            assert_eq!(v[0], 1, "values are stored bare");
        } else if ks == Keyspace::Audit
            || (ks == Keyspace::Meta && k.starts_with(b"audit-"))
            || (ks == Keyspace::Meta && (k == b"integrity" || k == b"stamp"))
        {
            delete_raw(b, ks, &k);
        } else {
            put_raw(b, ks, k, envelope(&v).inner);
        }
    }
}
