//! Shared helpers for the integration tests: a store on a temporary folder with a manual clock.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use strongroom::{
    CreateSecretInput, ErrorKind, GetSecretValueInput, InsecureTestKeyProvider, ManualClock,
    SecretId, SecretName, SecretStore, SecretValue, Session, VersionId,
};

/// 2023-11-14T22:13:20Z: a fixed start so dates are reproducible.
pub const START_SECS: u64 = 1_700_000_000;

pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub store: SecretStore,
}

impl TestStore {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_unix_seconds(START_SECS));
        let store = open_at(dir.path(), &clock);
        Self { dir, clock, store }
    }

    pub fn s(&self) -> Session {
        self.store.as_system()
    }

    /// Drops the store and opens it again on the same folder (and clock).
    pub fn reopen(&mut self) {
        let path = self.dir.path().to_path_buf();
        // Replace with a throwaway store first so the old one is dropped before reopening.
        let tmp = tempfile::tempdir().unwrap();
        let old = std::mem::replace(&mut self.store, open_at(tmp.path(), &self.clock));
        drop(old);
        self.store = open_at(&path, &self.clock);
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub fn days(&self, n: u64) {
        self.clock.advance(Duration::from_secs(86_400 * n));
    }
}

pub fn open_at(path: &std::path::Path, clock: &Arc<ManualClock>) -> SecretStore {
    SecretStore::builder(path.join("data"), Arc::new(InsecureTestKeyProvider::new(7)))
        .clock(clock.clone())
        .account_id(strongroom::AccountId::new("111111111111").unwrap())
        .open()
        .unwrap()
}

pub fn name(s: &str) -> SecretName {
    SecretName::new(s).unwrap()
}

pub fn id(s: &str) -> SecretId {
    SecretId::new(s).unwrap()
}

pub fn text(s: &str) -> SecretValue {
    SecretValue::string(s).unwrap()
}

/// A version id / request token made from a short tag, padded to 32 characters.
pub fn token(tag: &str) -> VersionId {
    VersionId::new(format!("{tag:-<32}")).unwrap()
}

/// Creates `n` with string value `v`; returns the first version id.
pub fn create(s: &Session, n: &str, v: &str) -> VersionId {
    s.create_secret(CreateSecretInput::new(name(n)).value(text(v)))
        .unwrap()
        .version_id
        .unwrap()
}

/// The `AWSCURRENT` string value of `n`.
pub fn current(s: &Session, n: &str) -> String {
    s.get_secret_value(GetSecretValueInput::new(id(n)))
        .unwrap()
        .value
        .expose_str()
        .unwrap()
        .to_owned()
}

pub fn kind<T: std::fmt::Debug>(r: strongroom::Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}
