//! The deletion lifecycle: Active -> Scheduled -> Purged, and back via RestoreSecret (DEL rules).
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use strongroom::{
    CreateSecretInput, DeleteSecretInput, Description, ErrorKind, GetSecretValueInput,
    InsecureTestKeyProvider, Keyspace, ListSecretVersionIdsInput, ListSecretsInput, ManualClock,
    PutSecretValueInput, SecretId, SecretStore, Session, SledBackend, StagingLabel, StorageBackend,
    Tag, TagKey, UpdateSecretInput, UpdateSecretVersionStageInput,
};

const MARKED: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";
const NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
const WINDOW: &str = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).";
const FORCE_AND_WINDOW: &str =
    "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.";
const DAY: u64 = 86_400;

fn secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn assert_err<T: std::fmt::Debug>(r: strongroom::Result<T>, kind: ErrorKind, message: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), message);
}

fn scheduled(s: &Session, n: &str) -> Option<SystemTime> {
    s.describe_secret(&id(n)).unwrap().deleted_date
}

fn listed_with_planned(s: &Session) -> Vec<String> {
    let mut i = ListSecretsInput::default();
    i.include_planned_deletion = true;
    s.list_secrets(i)
        .unwrap()
        .secrets
        .into_iter()
        .map(|d| d.name.as_str().to_owned())
        .collect()
}

#[test]
fn the_default_window_is_30_days() {
    let t = TestStore::new();
    let s = t.s();
    let created = s
        .create_secret(CreateSecretInput::new(name("app")).value(text("v")))
        .unwrap();
    let out = s.delete_secret(DeleteSecretInput::new(id("app"))).unwrap();
    assert_eq!(out.deletion_date, secs(START_SECS + 30 * DAY));
    assert_eq!(out.arn, created.arn.as_str());
    assert_eq!(out.name, "app");
    assert_eq!(scheduled(&s, "app"), Some(out.deletion_date));
}

#[test]
fn the_window_is_7_to_30_days() {
    let t = TestStore::new();
    let s = t.s();
    for days in [7u64, 8, 29, 30] {
        let n = format!("d{days}");
        create(&s, &n, "v");
        let out = s
            .delete_secret(
                DeleteSecretInput::new(id(&n))
                    .recovery_window_in_days(i64::try_from(days).unwrap()),
            )
            .unwrap();
        assert_eq!(out.deletion_date, secs(START_SECS + days * DAY));
        assert_eq!(scheduled(&s, &n), Some(out.deletion_date));
    }
    create(&s, "app", "v");
    let before = s.describe_secret(&id("app")).unwrap();
    for days in [i64::MIN, -1, 0, 1, 6, 31, 365, i64::MAX] {
        assert_err(
            s.delete_secret(DeleteSecretInput::new(id("app")).recovery_window_in_days(days)),
            ErrorKind::InvalidParameter,
            WINDOW,
        );
    }
    // Refused deletions change nothing.
    assert_eq!(s.describe_secret(&id("app")).unwrap(), before);
    assert_eq!(current(&s, "app"), "v");
}

#[test]
fn force_and_a_window_together_are_refused() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "v");
    let before = s.describe_secret(&id("app")).unwrap();
    for days in [7, 30] {
        assert_err(
            s.delete_secret(
                DeleteSecretInput::new(id("app"))
                    .force()
                    .recovery_window_in_days(days),
            ),
            ErrorKind::InvalidParameter,
            FORCE_AND_WINDOW,
        );
    }
    // A window out of range is reported first, as moto does (DEL-1).
    assert_err(
        s.delete_secret(
            DeleteSecretInput::new(id("app"))
                .force()
                .recovery_window_in_days(3),
        ),
        ErrorKind::InvalidParameter,
        WINDOW,
    );
    // Also for a secret that does not exist.
    assert_err(
        s.delete_secret(
            DeleteSecretInput::new(id("ghost"))
                .force()
                .recovery_window_in_days(7),
        ),
        ErrorKind::InvalidParameter,
        FORCE_AND_WINDOW,
    );
    assert_eq!(s.describe_secret(&id("app")).unwrap(), before);
    assert_eq!(current(&s, "app"), "v");
}

#[test]
fn deleting_an_unknown_secret() {
    let t = TestStore::new();
    let s = t.s();
    // Scheduling needs a secret...
    assert_err(
        s.delete_secret(DeleteSecretInput::new(id("ghost"))),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    // ...but a forced delete answers as if it existed (DEL-2).
    let out = s
        .delete_secret(DeleteSecretInput::new(id("ghost")).force())
        .unwrap();
    assert_eq!(out.name, "ghost");
    let prefix = "arn:aws:secretsmanager:us-east-1:111111111111:secret:ghost-";
    let suffix = out.arn.strip_prefix(prefix).unwrap();
    assert_eq!(suffix.len(), 6);
    assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(out.deletion_date, secs(START_SECS));
    // And nothing was created.
    assert_err(
        s.describe_secret(&id("ghost")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert!(listed_with_planned(&s).is_empty());
}

#[test]
fn force_delete_purges_at_once() {
    let t = TestStore::new();
    let s = t.s();
    let first = s
        .create_secret(CreateSecretInput::new(name("app")).value(text("v")))
        .unwrap();
    let out = s
        .delete_secret(DeleteSecretInput::new(SecretId::from(&first.arn)).force())
        .unwrap();
    assert_eq!(out.arn, first.arn.as_str());
    assert_eq!(out.name, "app");
    assert_eq!(out.deletion_date, secs(START_SECS));
    assert_err(
        s.describe_secret(&id("app")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert_err(
        s.get_secret_value(GetSecretValueInput::new(id("app"))),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert_err(
        s.restore_secret(&id("app")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    // The name is free again, with a new ARN.
    let again = s
        .create_secret(CreateSecretInput::new(name("app")).value(text("w")))
        .unwrap();
    assert_ne!(again.arn, first.arn);
    assert_eq!(current(&s, "app"), "w");
    // The old ARN does not reach the new secret.
    assert_err(
        s.describe_secret(&SecretId::from(&first.arn)),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
}

#[test]
fn force_delete_of_a_scheduled_secret_purges_it() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "v");
    s.delete_secret(DeleteSecretInput::new(id("app"))).unwrap();
    t.advance(Duration::from_secs(5));
    let out = s
        .delete_secret(DeleteSecretInput::new(id("app")).force())
        .unwrap();
    assert_eq!(out.name, "app");
    assert_eq!(out.deletion_date, secs(START_SECS + 5));
    assert_err(
        s.describe_secret(&id("app")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert!(listed_with_planned(&s).is_empty());
    create(&s, "app", "w");
    assert_eq!(current(&s, "app"), "w");
}

#[test]
fn while_scheduled_reads_and_writes_are_refused_but_describe_works() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app", "v");
    s.tag_resource(&id("app"), &[Tag::new("env", "prod").unwrap()])
        .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("app"))).unwrap();
    let before = s.describe_secret(&id("app")).unwrap();
    t.advance(Duration::from_secs(60));

    assert_err(
        s.get_secret_value(GetSecretValueInput::new(id("app"))),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    assert_err(
        s.put_secret_value(PutSecretValueInput::new(id("app"), text("w"))),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    assert_err(
        s.update_secret(UpdateSecretInput::new(id("app")).value(text("w"))),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    assert_err(
        s.update_secret(
            UpdateSecretInput::new(id("app")).description(Description::new("d").unwrap()),
        ),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    assert_err(
        s.update_secret_version_stage(
            UpdateSecretVersionStageInput::new(id("app"), StagingLabel::new("blue").unwrap())
                .move_to(v1.clone()),
        ),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    assert_err(
        s.tag_resource(&id("app"), &[Tag::new("new-tag", "new-value").unwrap()]),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    assert_err(
        s.untag_resource(&id("app"), &[TagKey::new("env").unwrap()]),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    // Scheduling again is refused too, and keeps the first date.
    assert_err(
        s.delete_secret(DeleteSecretInput::new(id("app"))),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    assert_err(
        s.delete_secret(DeleteSecretInput::new(id("app")).recovery_window_in_days(7)),
        ErrorKind::InvalidRequest,
        MARKED,
    );
    // The name stays taken (DEL-6).
    assert_err(
        s.create_secret(CreateSecretInput::new(name("app")).value(text("w"))),
        ErrorKind::InvalidRequest,
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
    );
    // None of that changed anything; describe and version listing still work.
    assert_eq!(s.describe_secret(&id("app")).unwrap(), before);
    let versions = s
        .list_secret_version_ids(ListSecretVersionIdsInput::new(id("app")))
        .unwrap()
        .versions;
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].version_id, v1);

    // After a restore, the secret is exactly as before the deletion.
    s.restore_secret(&id("app")).unwrap();
    assert_eq!(current(&s, "app"), "v");
    let after = s.describe_secret(&id("app")).unwrap();
    assert_eq!(after.tags, before.tags);
    assert_eq!(after.version_ids_to_stages, before.version_ids_to_stages);
}

#[test]
fn restore_cancels_the_deletion() {
    let t = TestStore::new();
    let s = t.s();
    let created = s
        .create_secret(CreateSecretInput::new(name("app")).value(text("v")))
        .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("app"))).unwrap();
    let out = s.restore_secret(&id("app")).unwrap();
    assert_eq!(out.arn, created.arn);
    assert_eq!(out.name, name("app"));
    assert_eq!(scheduled(&s, "app"), None);
    assert_eq!(current(&s, "app"), "v");
    // The window no longer applies.
    t.days(31);
    assert_eq!(t.store.purge_deleted().unwrap(), 0);
    assert_eq!(current(&s, "app"), "v");
    // It can be scheduled again, with a fresh date.
    let again = s.delete_secret(DeleteSecretInput::new(id("app"))).unwrap();
    assert_eq!(again.deletion_date, secs(START_SECS + 61 * DAY));
}

#[test]
fn restore_of_an_active_secret_changes_nothing() {
    let t = TestStore::new();
    let s = t.s();
    let created = s
        .create_secret(CreateSecretInput::new(name("app")).value(text("v")))
        .unwrap();
    let before = s.describe_secret(&id("app")).unwrap();
    t.advance(Duration::from_secs(60));
    let out = s.restore_secret(&id("app")).unwrap();
    assert_eq!(out.arn, created.arn);
    assert_eq!(s.describe_secret(&id("app")).unwrap(), before);
    assert_err(
        s.restore_secret(&id("nope")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
}

#[test]
fn once_the_window_has_passed_the_secret_is_gone_even_before_a_purge() {
    let mut t = TestStore::new();
    let s = t.s();
    let first = s
        .create_secret(CreateSecretInput::new(name("app")).value(text("v")))
        .unwrap();
    let v1 = first.version_id.clone().unwrap();
    current(&s, "app"); // gives it a last-accessed date
    let out = s
        .delete_secret(DeleteSecretInput::new(id("app")).recovery_window_in_days(7))
        .unwrap();
    // One millisecond before the date it is still scheduled (and restorable).
    t.advance(Duration::from_secs(7 * DAY) - Duration::from_millis(1));
    assert_eq!(scheduled(&s, "app"), Some(out.deletion_date));
    // At the date it is gone for every operation.
    t.advance(Duration::from_millis(1));
    assert_err(
        s.describe_secret(&id("app")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert_err(
        s.get_secret_value(GetSecretValueInput::new(id("app"))),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert_err(
        s.restore_secret(&id("app")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert_err(
        s.delete_secret(DeleteSecretInput::new(id("app"))),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert_err(
        s.list_secret_version_ids(ListSecretVersionIdsInput::new(id("app"))),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    assert!(listed_with_planned(&s).is_empty());
    // Still gone after a reopen, without any purge.
    drop(s); // a session holds the store open
    t.reopen();
    let s = t.s();
    assert_err(
        s.describe_secret(&id("app")),
        ErrorKind::ResourceNotFound,
        NOT_FOUND,
    );
    // The name can be used again, with a new ARN and none of the old data.
    let again = s
        .create_secret(CreateSecretInput::new(name("app")))
        .unwrap();
    assert_ne!(again.arn, first.arn);
    let d = s.describe_secret(&id("app")).unwrap();
    assert_eq!(d.version_ids_to_stages, None);
    assert_eq!(d.last_accessed_date, None);
    assert_eq!(d.deleted_date, None);
    assert_err(
        s.get_secret_value(GetSecretValueInput::new(id("app")).version_id(v1.clone())),
        ErrorKind::ResourceNotFound,
        &format!("Secrets Manager can't find the specified secret value for VersionId: {v1}"),
    );
    // Nothing was left for a purge to do.
    assert_eq!(t.store.purge_deleted().unwrap(), 0);
}

#[test]
fn purge_deleted_removes_what_is_due_and_counts_it() {
    let mut t = TestStore::new();
    let s = t.s();
    for n in ["a", "b", "c", "keep"] {
        create(&s, n, "v");
    }
    for n in ["a", "b"] {
        s.delete_secret(DeleteSecretInput::new(id(n)).recovery_window_in_days(7))
            .unwrap();
    }
    s.delete_secret(DeleteSecretInput::new(id("c")).recovery_window_in_days(30))
        .unwrap();
    // Nothing is due yet.
    assert_eq!(t.store.purge_deleted().unwrap(), 0);
    t.days(7);
    assert_eq!(t.store.purge_deleted().unwrap(), 2);
    assert_eq!(t.store.purge_deleted().unwrap(), 0);
    drop(s); // a session holds the store open
    t.reopen();
    let s = t.s();
    for n in ["a", "b"] {
        assert_err(
            s.describe_secret(&id(n)),
            ErrorKind::ResourceNotFound,
            NOT_FOUND,
        );
    }
    assert_eq!(scheduled(&s, "c"), Some(secs(START_SECS + 30 * DAY)));
    assert_eq!(current(&s, "keep"), "v");
    let mut names = listed_with_planned(&s);
    names.sort();
    assert_eq!(names, ["c", "keep"]);
    // The names are free again.
    let again = s
        .create_secret(CreateSecretInput::new(name("a")).value(text("new")))
        .unwrap();
    assert_eq!(again.name, name("a"));
    assert_eq!(current(&s, "a"), "new");
    t.days(23);
    assert_eq!(t.store.purge_deleted().unwrap(), 1);
}

/// Entries per keyspace (secrets, values, access dates) in the backend.
fn footprint(b: &SledBackend) -> [usize; 3] {
    [Keyspace::Secrets, Keyspace::Values, Keyspace::Accessed]
        .map(|k| b.scan_prefix(k, b"").unwrap().len())
}

#[test]
fn purged_and_force_deleted_secrets_leave_no_bytes_behind() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_unix_seconds(START_SECS));
    let open = || {
        let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
        let store = SecretStore::builder_with_backend(
            backend.clone(),
            Arc::new(InsecureTestKeyProvider::new(7)),
        )
        .clock(clock.clone())
        .open()
        .unwrap();
        (backend, store)
    };
    let (backend, store) = open();
    let s = store.as_system();
    create(&s, "keep", "v");
    current(&s, "keep");
    let baseline = footprint(&backend);
    for n in ["doomed", "forced", "reused"] {
        create(&s, n, "v1");
        s.put_secret_value(PutSecretValueInput::new(id(n), text("v2")))
            .unwrap();
        current(&s, n);
        s.get_secret_value(GetSecretValueInput::new(id(n)).version_stage(StagingLabel::PREVIOUS))
            .unwrap();
    }
    let grown = footprint(&backend);
    assert!(
        grown.iter().zip(baseline).all(|(g, b)| *g > b),
        "{grown:?} vs {baseline:?}"
    );
    s.delete_secret(DeleteSecretInput::new(id("doomed")).recovery_window_in_days(7))
        .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("forced")).force())
        .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("reused")).recovery_window_in_days(7))
        .unwrap();
    clock.advance(Duration::from_secs(7 * DAY));
    // Re-creating a name whose window has passed removes the old secret's data with it.
    s.create_secret(CreateSecretInput::new(name("reused")))
        .unwrap();
    let [secrets, values, accessed] = baseline;
    let with_reused = [secrets + 1, values, accessed];
    assert_eq!(store.purge_deleted().unwrap(), 1);
    assert_eq!(footprint(&backend), with_reused);
    drop(s);
    drop(store);
    drop(backend);
    let (backend, store) = open();
    assert_eq!(footprint(&backend), with_reused);
    assert_eq!(current(&store.as_system(), "keep"), "v");
}
