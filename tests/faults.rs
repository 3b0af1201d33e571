//! A storage failure at any point of a write leaves the store as it was before the write or as
//! it is after it (never half), and the failed store answers `InternalServiceError` to every
//! call, reads included (what it shows may not be durable), until it is reopened.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::*;
use strongroom::{
    Commit, CreateSecretInput, DeleteSecretInput, Entry, ErrorKind, GetSecretValueInput,
    InsecureTestKeyProvider, Keyspace, ListSecretsInput, PutSecretValueInput, SecretStore, Session,
    SledBackend, StagingLabel, StorageBackend, StorageError, Tag, UpdateSecretInput,
    UpdateSecretVersionStageInput, WriteBatch,
};

/// Fails every `apply` or `sync` once `budget` calls have been made.
#[derive(Debug)]
struct FaultyBackend {
    inner: SledBackend,
    budget: AtomicI64,
}

impl FaultyBackend {
    fn spend(&self) -> Result<(), StorageError> {
        if self.budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
            return Err(StorageError::Io(std::io::Error::other("injected fault")));
        }
        Ok(())
    }
}

impl StorageBackend for FaultyBackend {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(ks, key)
    }
    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        self.inner.scan_prefix(ks, prefix)
    }
    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        self.spend()?;
        self.inner.apply(batch)
    }
    fn sync(&self) -> Result<(), StorageError> {
        self.spend()?;
        self.inner.sync()
    }
    /// Stops at any point between the stages of a change, as a crash would.
    fn commit(&self, change: &Commit) -> Result<(), StorageError> {
        for stage in [&change.prepare, &change.commit, &change.cleanup] {
            self.spend()?;
            self.inner.apply(stage)?;
        }
        self.spend()?;
        self.inner.sync()
    }
}

type Snapshot = BTreeMap<String, (Option<String>, BTreeMap<String, (Vec<String>, String)>)>;

/// Everything observable about the store's secrets: description, labels and values per version.
fn snapshot(s: &Session) -> Snapshot {
    let mut out = Snapshot::new();
    let mut input = ListSecretsInput::default();
    input.include_planned_deletion = true;
    for d in s.list_secrets(input).unwrap().secrets {
        let mut versions = BTreeMap::new();
        for (v, labels) in d.version_ids_to_stages.clone().unwrap_or_default() {
            let value = if d.deleted_date.is_some() {
                "<scheduled>".to_owned()
            } else {
                let got = s
                    .get_secret_value(
                        GetSecretValueInput::new(id(d.name.as_str())).version_id(v.clone()),
                    )
                    .unwrap();
                got.value.expose_str().unwrap().to_owned()
            };
            versions.insert(
                v.to_string(),
                (labels.iter().map(ToString::to_string).collect(), value),
            );
        }
        let desc = format!(
            "{:?}|{:?}|{:?}",
            d.description,
            d.tags,
            d.deleted_date.is_some()
        );
        out.insert(d.name.to_string(), (Some(desc), versions));
    }
    out
}

/// Runs the first `upto` operations of [`run_nth`].
fn run_ops(s: &Session, upto: usize) -> Result<(), strongroom::Error> {
    (1..=upto).try_for_each(|k| run_nth(s, k))
}

const OPS: usize = 10;

#[test]
fn a_fault_at_any_point_leaves_a_whole_state() {
    // The states after 0..=OPS operations of a fault-free run.
    let clean = TestStore::new();
    let mut states = vec![snapshot(&clean.s())];
    for k in 1..=OPS {
        let t = TestStore::new();
        run_ops(&t.s(), k).unwrap();
        states.push(snapshot(&t.s()));
    }
    // Each op costs four backend calls (three stages and a sync); try every failure point.
    for budget in 0..(4 * OPS as i64 + 1) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let failed_at;
        {
            // The store's own writes at open (the master key record, then the meta record, each
            // applied and synced): give them their four calls.
            let faulty = Arc::new(FaultyBackend {
                inner: SledBackend::open(&path).unwrap(),
                budget: AtomicI64::new(budget + 4),
            });
            let store = SecretStore::builder_with_backend(
                faulty.clone(),
                Arc::new(InsecureTestKeyProvider::new(7)),
            )
            .open()
            .unwrap();
            let s = store.as_system();
            let mut k = 0;
            let result = loop {
                k += 1;
                if k > OPS {
                    break Ok(());
                }
                let r = run_nth(&s, k);
                if r.is_err() {
                    break r;
                }
            };
            match result {
                Ok(()) => {
                    failed_at = None;
                }
                Err(e) => {
                    assert_eq!(
                        e.kind(),
                        ErrorKind::InternalServiceError,
                        "budget {budget}: {e:?}"
                    );
                    failed_at = Some(k);
                    // Refuses every call from now on, even with the backend healthy again.
                    faulty.budget.store(i64::MAX, Ordering::SeqCst);
                    let again = s.create_secret(CreateSecretInput::new(name("z")));
                    assert_eq!(again.unwrap_err().kind(), ErrorKind::InternalServiceError);
                    assert_eq!(
                        kind(s.describe_secret(&id("a"))),
                        ErrorKind::InternalServiceError
                    );
                    assert_eq!(
                        kind(s.get_secret_value(GetSecretValueInput::new(id("a")))),
                        ErrorKind::InternalServiceError
                    );
                    assert_eq!(
                        kind(s.list_secrets(ListSecretsInput::default())),
                        ErrorKind::InternalServiceError
                    );
                }
            }
        }
        // Reopen on a healthy backend: the state is the one before or after the failed op.
        let store = SecretStore::builder(&path, Arc::new(InsecureTestKeyProvider::new(7)))
            .open()
            .unwrap();
        let now = snapshot(&store.as_system());
        match failed_at {
            None => assert_eq!(now, states[OPS], "budget {budget}"),
            Some(k) => assert!(
                now == states[k - 1] || now == states[k],
                "budget {budget}: failure in op {k} left a state that is neither before nor after it: {now:?}"
            ),
        }
    }
}

/// Operation `k` (1-based) of a fixed sequence of writes touching every kind of commit.
fn run_nth(s: &Session, k: usize) -> Result<(), strongroom::Error> {
    match k {
        1 => s
            .create_secret(
                CreateSecretInput::new(name("a"))
                    .value(text("a1"))
                    .client_request_token(token("a1")),
            )
            .map(drop),
        2 => s
            .create_secret(CreateSecretInput::new(name("b")).tag(Tag::new("k", "v")?))
            .map(drop),
        3 => s
            .put_secret_value(
                PutSecretValueInput::new(id("a"), text("a2")).client_request_token(token("a2")),
            )
            .map(drop),
        4 => s
            .put_secret_value(
                PutSecretValueInput::new(id("a"), text("a3"))
                    .client_request_token(token("a3"))
                    .version_stages([StagingLabel::PENDING]),
            )
            .map(drop),
        5 => s
            .update_secret_version_stage(
                UpdateSecretVersionStageInput::new(id("a"), StagingLabel::CURRENT)
                    .move_to(token("a3"))
                    .remove_from(token("a2")),
            )
            .map(drop),
        6 => s
            .update_secret(
                UpdateSecretInput::new(id("b"))
                    .value(text("b1"))
                    .client_request_token(token("b1")),
            )
            .map(drop),
        7 => s.tag_resource(&id("a"), &[Tag::new("t", "1")?]),
        8 => s.delete_secret(DeleteSecretInput::new(id("b"))).map(drop),
        9 => s.restore_secret(&id("b")).map(drop),
        _ => s
            .delete_secret(DeleteSecretInput::new(id("a")).force())
            .map(drop),
    }
}
