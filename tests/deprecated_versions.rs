//! Deprecated (unlabelled) versions: hidden unless asked for (VER-3), and removed oldest first
//! once there are too many and they are old enough (VER-4).
// Helpers below are test code too; clippy's allow-*-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

use std::sync::Arc;
use std::time::Duration;

use strongroom::{
    ErrorKind, GetSecretValueInput, InsecureTestKeyProvider, ManualClock, PutSecretValueInput,
    SecretStore, Session, StagingLabel, UpdateSecretVersionStageInput, VersionId,
};

const HOUR: Duration = Duration::from_secs(3_600);

/// A store keeping at most 3 deprecated versions, removing none younger than an hour.
struct SmallStore {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: Option<SecretStore>,
}

impl SmallStore {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_unix_seconds(START_SECS));
        let store = Some(Self::open(&dir, &clock));
        Self { dir, clock, store }
    }

    fn open(dir: &tempfile::TempDir, clock: &Arc<ManualClock>) -> SecretStore {
        SecretStore::builder(
            dir.path().join("data"),
            Arc::new(InsecureTestKeyProvider::new(7)),
        )
        .clock(clock.clone())
        .max_deprecated_versions(3)
        .deprecated_version_min_age(HOUR)
        .open()
        .unwrap()
    }

    fn s(&self) -> Session {
        self.store.as_ref().unwrap().as_system()
    }

    fn reopen(&mut self) {
        drop(self.store.take());
        self.store = Some(Self::open(&self.dir, &self.clock));
    }
}

fn put(s: &Session, n: &str, tok: &str) -> strongroom::Result<VersionId> {
    s.put_secret_value(
        PutSecretValueInput::new(id(n), text(&format!("value {tok}")))
            .client_request_token(token(tok)),
    )
    .map(|out| out.version_id)
}

/// The ids `list_secret_version_ids` returns, newest first.
fn ids(s: &Session, n: &str, include_deprecated: bool) -> Vec<VersionId> {
    list_versions(s, n, include_deprecated)
        .into_iter()
        .map(|v| v.version_id)
        .collect()
}

fn toks(tags: &[&str]) -> Vec<VersionId> {
    tags.iter().map(|t| token(t)).collect()
}

fn assert_gone(s: &Session, n: &str, version: &VersionId) {
    let e = err(s.get_secret_value(GetSecretValueInput::new(id(n)).version_id(version.clone())));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "{version}");
    assert_eq!(
        e.to_string(),
        format!("Secrets Manager can't find the specified secret value for VersionId: {version}")
    );
}

#[test]
fn unlabelled_versions_are_hidden_unless_include_deprecated() {
    // VER-3 [recorded deprecated_secret_version_stage], replayed.
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        strongroom::CreateSecretInput::new(name("d"))
            .value(text("original"))
            .client_request_token(token("v1")),
    )
    .unwrap();
    put(&s, "d", "v2").unwrap();
    assert_eq!(ids(&s, "d", false), toks(&["v2", "v1"]));
    put(&s, "d", "v3").unwrap();
    assert_eq!(ids(&s, "d", false), toks(&["v3", "v2"]));
    assert_eq!(ids(&s, "d", true), toks(&["v3", "v2", "v1"]));
    put(&s, "d", "v4").unwrap();
    assert_eq!(ids(&s, "d", false), toks(&["v4", "v3"]));

    let all = list_versions(&s, "d", true);
    assert_eq!(
        all.iter().map(|v| v.version_id.clone()).collect::<Vec<_>>(),
        toks(&["v4", "v3", "v2", "v1"])
    );
    // Deprecated entries have no VersionStages at all (None, not an empty list).
    let labels: Vec<Option<Vec<&str>>> = all
        .iter()
        .map(|v| {
            v.version_stages
                .as_ref()
                .map(|l| l.iter().map(StagingLabel::as_str).collect())
        })
        .collect();
    assert_eq!(
        labels,
        [
            Some(vec!["AWSCURRENT"]),
            Some(vec!["AWSPREVIOUS"]),
            None,
            None
        ]
    );
    // DescribeSecret leaves them out of VersionIdsToStages.
    assert_eq!(
        stages(&s, "d"),
        [
            (token("v3"), set(&["AWSPREVIOUS"])),
            (token("v4"), set(&["AWSCURRENT"]))
        ]
        .into()
    );
    // They still hold their values.
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("d")).version_id(token("v1")))
        .unwrap();
    assert_eq!(got.value.expose_str(), Some("original"));
    assert!(got.version_stages.is_empty());
}

#[test]
fn the_oldest_old_enough_deprecated_versions_are_removed_in_the_same_commit() {
    let mut t = SmallStore::new();
    let s = t.s();
    s.create_secret(
        strongroom::CreateSecretInput::new(name("d"))
            .value(text("value v0"))
            .client_request_token(token("v0")),
    )
    .unwrap();
    put(&s, "d", "v1").unwrap();
    put(&s, "d", "v2").unwrap();
    t.clock.advance(2 * HOUR);
    put(&s, "d", "v3").unwrap(); // deprecated: v0, v1
    put(&s, "d", "v4").unwrap(); // deprecated: v0, v1, v2 (the limit)
    assert_eq!(ids(&s, "d", true), toks(&["v4", "v3", "v2", "v1", "v0"]));

    put(&s, "d", "v5").unwrap(); // v3 would be the 4th: v0 goes
    assert_eq!(ids(&s, "d", true), toks(&["v5", "v4", "v3", "v2", "v1"]));
    assert_gone(&s, "d", &token("v0"));
    put(&s, "d", "v6").unwrap(); // v1 goes
    put(&s, "d", "v7").unwrap(); // v2 goes
    assert_eq!(ids(&s, "d", true), toks(&["v7", "v6", "v5", "v4", "v3"]));
    for gone in ["v0", "v1", "v2"] {
        assert_gone(&s, "d", &token(gone));
    }
    // The labelled ones and the young deprecated ones keep their values.
    for kept in ["v3", "v4", "v5", "v6", "v7"] {
        let got = s
            .get_secret_value(GetSecretValueInput::new(id("d")).version_id(token(kept)))
            .unwrap();
        assert_eq!(
            got.value.expose_str(),
            Some(format!("value {kept}").as_str())
        );
    }
    // Removal is durable.
    drop(s);
    t.reopen();
    let s = t.s();
    assert_eq!(ids(&s, "d", true), toks(&["v7", "v6", "v5", "v4", "v3"]));
    assert_gone(&s, "d", &token("v0"));
    assert_eq!(current(&s, "d"), "value v7");
}

#[test]
fn too_many_young_deprecated_versions_is_limit_exceeded_and_changes_nothing() {
    let t = SmallStore::new();
    let s = t.s();
    create(&s, "d", "value v0");
    for tok in ["v1", "v2", "v3", "v4"] {
        put(&s, "d", tok).unwrap(); // 3 deprecated once v4 is in
    }
    let before = snapshot(&s, "d");
    let e = err(put(&s, "d", "v5"));
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert_eq!(e.aws_code(), "LimitExceededException");
    assert_eq!(snapshot(&s, "d"), before);
    assert_gone(&s, "d", &token("v5"));
    assert_eq!(current(&s, "d"), "value v4");

    // One minute short of the minimum age: still refused.
    t.clock.advance(HOUR - Duration::from_secs(60));
    assert_eq!(kind(put(&s, "d", "v5")), ErrorKind::LimitExceeded);
    assert_eq!(current(&s, "d"), "value v4");
    // Old enough now: the write goes through and the oldest deprecated version goes.
    t.clock.advance(Duration::from_secs(60));
    put(&s, "d", "v5").unwrap();
    assert_eq!(current(&s, "d"), "value v5");
    assert_eq!(ids(&s, "d", true).len(), 5);
}

#[test]
fn labelled_versions_are_never_removed() {
    let t = SmallStore::new();
    let s = t.s();
    let v0 = create(&s, "d", "value v0");
    // Pin the first version with a custom label.
    s.update_secret_version_stage(
        UpdateSecretVersionStageInput::new(id("d"), label("pinned")).move_to(v0.clone()),
    )
    .unwrap();
    for i in 1..=10 {
        t.clock.advance(HOUR);
        put(&s, "d", &format!("v{i}")).unwrap();
    }
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("d")).version_stage(label("pinned")))
        .unwrap();
    assert_eq!(got.version_id, v0);
    assert_eq!(got.value.expose_str(), Some("value v0"));
    // pinned v0 + AWSPREVIOUS v9 + AWSCURRENT v10 + 3 deprecated.
    assert_eq!(ids(&s, "d", true).len(), 6);
    assert_eq!(ids(&s, "d", false), [token("v10"), token("v9"), v0]);
}

#[test]
fn a_label_removal_that_deprecates_one_too_many_is_refused_while_they_are_young() {
    let t = SmallStore::new();
    let s = t.s();
    create(&s, "d", "value v0");
    for tok in ["v1", "v2", "v3", "v4"] {
        put(&s, "d", tok).unwrap();
    }
    // v3 holds AWSPREVIOUS; dropping it would make a 4th deprecated version.
    let before = snapshot(&s, "d");
    let drop_previous = || {
        s.update_secret_version_stage(
            UpdateSecretVersionStageInput::new(id("d"), StagingLabel::PREVIOUS)
                .remove_from(token("v3")),
        )
    };
    assert_eq!(kind(drop_previous()), ErrorKind::LimitExceeded);
    assert_eq!(snapshot(&s, "d"), before);
    t.clock.advance(HOUR);
    drop_previous().unwrap();
    assert_eq!(ids(&s, "d", false), [token("v4")]);
    assert_eq!(
        ids(&s, "d", true).len(),
        4,
        "v0 was removed, v1-v3 stay deprecated"
    );
}

#[test]
fn by_default_a_hundred_deprecated_versions_are_kept_for_a_day() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "d", "value v0");
    for i in 1..=101 {
        put(&s, "d", &format!("v{i}")).unwrap(); // 100 deprecated once v101 is in
    }
    assert_eq!(ids(&s, "d", true).len(), 102);
    assert_eq!(kind(put(&s, "d", "v102")), ErrorKind::LimitExceeded);
    t.advance(Duration::from_secs(86_400 - 1));
    assert_eq!(kind(put(&s, "d", "v102")), ErrorKind::LimitExceeded);
    t.advance(Duration::from_secs(1));
    put(&s, "d", "v102").unwrap();
    assert_eq!(ids(&s, "d", true).len(), 102);
    assert_gone(&s, "d", &token("v0"));
}
