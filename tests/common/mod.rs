//! Shared helpers for the integration tests: a store on a temporary folder with a manual clock.
#![allow(dead_code, unreachable_pub, missing_docs)]
// Helpers are test code, but clippy's allow-*-in-tests only covers #[test] functions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use strongroom::{
    CreateSecretInput, ErrorKind, GetSecretValueInput, InsecureTestKeyProvider, ManualClock,
    RetryPolicy, SecretId, SecretName, SecretStore, SecretValue, Session, VersionId,
};

/// 2023-11-14T22:13:20Z: a fixed start so dates are reproducible.
pub const START_SECS: u64 = 1_700_000_000;

pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub store: SecretStore,
    /// The rotation retry policy the store is opened (and reopened) with.
    retry: RetryPolicy,
}

impl TestStore {
    pub fn new() -> Self {
        Self::with_retry_policy(RetryPolicy::default())
    }

    /// A store whose failed rotation steps are retried by `retry`.
    pub fn with_retry_policy(retry: RetryPolicy) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_unix_seconds(START_SECS));
        let store = open_with(dir.path(), &clock, retry);
        Self {
            dir,
            clock,
            store,
            retry,
        }
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
        self.store = open_with(&path, &self.clock, self.retry);
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub fn days(&self, n: u64) {
        self.clock.advance(Duration::from_secs(86_400 * n));
    }
}

pub fn open_at(path: &std::path::Path, clock: &Arc<ManualClock>) -> SecretStore {
    open_with(path, clock, RetryPolicy::default())
}

pub fn open_with(
    path: &std::path::Path,
    clock: &Arc<ManualClock>,
    retry: RetryPolicy,
) -> SecretStore {
    SecretStore::builder(path.join("data"), Arc::new(InsecureTestKeyProvider::new(7)))
        .clock(clock.clone())
        .account_id(strongroom::AccountId::new("111111111111").unwrap())
        .rotation_retry_policy(retry)
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

/// Everything observable about one secret through the public API: its description, every
/// version (deprecated ones included) and every value. Two snapshots taken on the same day
/// compare equal unless something changed (reading values only sets the day's access date,
/// which the first snapshot already did).
#[derive(Debug, PartialEq)]
pub struct SecretSnapshot {
    pub values: Vec<(VersionId, bool, Vec<u8>)>,
    pub versions: Vec<strongroom::VersionEntry>,
    pub describe: strongroom::SecretDescription,
}

/// Takes a [`SecretSnapshot`] of `n` (which must exist).
pub fn snapshot(s: &Session, n: &str) -> SecretSnapshot {
    let versions = all_versions(s, n);
    let values = versions
        .iter()
        .map(|v| {
            let got = s
                .get_secret_value(GetSecretValueInput::new(id(n)).version_id(v.version_id.clone()))
                .unwrap();
            (
                v.version_id.clone(),
                got.value.is_binary(),
                got.value.expose_bytes().to_vec(),
            )
        })
        .collect();
    // Listed again after the reads, so that access dates are the ones the reads just set.
    let versions = all_versions(s, n);
    let describe = s.describe_secret(&id(n)).unwrap();
    SecretSnapshot {
        values,
        versions,
        describe,
    }
}

/// Every version of `n` that has a value, deprecated ones included, following page tokens.
pub fn all_versions(s: &Session, n: &str) -> Vec<strongroom::VersionEntry> {
    list_versions(s, n, true)
}

/// The versions of `n` that `list_secret_version_ids` returns, following page tokens.
pub fn list_versions(
    s: &Session,
    n: &str,
    include_deprecated: bool,
) -> Vec<strongroom::VersionEntry> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let mut input = strongroom::ListSecretVersionIdsInput::new(id(n));
        input.include_deprecated = include_deprecated;
        input.next_token = next;
        let page = s.list_secret_version_ids(input).unwrap();
        out.extend(page.versions);
        next = page.next_token;
        if next.is_none() {
            return out;
        }
    }
}

/// The labels of the labelled versions of `n`, as `describe_secret` shows them, as sets.
pub fn stages(
    s: &Session,
    n: &str,
) -> std::collections::BTreeMap<VersionId, std::collections::BTreeSet<String>> {
    s.describe_secret(&id(n))
        .unwrap()
        .version_ids_to_stages
        .unwrap_or_default()
        .into_iter()
        .map(|(v, labels)| (v, labels.iter().map(|l| l.as_str().to_owned()).collect()))
        .collect()
}

/// A set of label names, for comparing with [`stages`].
pub fn set(labels: &[&str]) -> std::collections::BTreeSet<String> {
    labels.iter().map(|l| (*l).to_owned()).collect()
}

/// A staging label from a string.
pub fn label(s: &str) -> strongroom::StagingLabel {
    strongroom::StagingLabel::new(s).unwrap()
}

/// The error of `r`, which must have failed.
pub fn err<T: std::fmt::Debug>(r: strongroom::Result<T>) -> strongroom::Error {
    r.unwrap_err()
}
