//! ListSecretVersionIds: versions that have a value, newest first; unlabelled ones only on
//! request (rules VER-3, VER-5, FIELDS-5).
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use strongroom::{
    CreateSecretInput, DeleteSecretInput, ErrorKind, GetSecretValueInput,
    ListSecretVersionIdsInput, ListSecretVersionIdsOutput, ListSecretsInput, PutSecretValueInput,
    SecretId, Session, StagingLabel, VersionEntry, VersionId,
};

const BAD_TOKEN: &str = "The NextToken value is not valid.";

fn secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn assert_err<T: std::fmt::Debug>(r: strongroom::Result<T>, kind: ErrorKind, message: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), message);
}

fn list(s: &Session, n: &str, include_deprecated: bool) -> ListSecretVersionIdsOutput {
    let mut i = ListSecretVersionIdsInput::new(id(n));
    i.include_deprecated = include_deprecated;
    s.list_secret_version_ids(i).unwrap()
}

fn ids(entries: &[VersionEntry]) -> Vec<VersionId> {
    entries.iter().map(|e| e.version_id.clone()).collect()
}

/// Versions "c" (t0), "a" (t0+60 s), "b" (t0+120 s), "d" (t0+180 s, custom label only): ids
/// deliberately not in creation order. Afterwards: d{blue}, b{AWSCURRENT}, a{AWSPREVIOUS}, c deprecated.
fn four_versions(t: &TestStore) -> [VersionId; 4] {
    let s = t.s();
    let [c, a, b, d] = ["c", "a", "b", "d"].map(token);
    s.create_secret(
        CreateSecretInput::new(name("app"))
            .value(text("1"))
            .client_request_token(c.clone()),
    )
    .unwrap();
    for (v, value) in [(&a, "2"), (&b, "3")] {
        t.advance(Duration::from_secs(60));
        s.put_secret_value(
            PutSecretValueInput::new(id("app"), text(value)).client_request_token(v.clone()),
        )
        .unwrap();
    }
    t.advance(Duration::from_secs(60));
    s.put_secret_value(
        PutSecretValueInput::new(id("app"), text("4"))
            .client_request_token(d.clone())
            .version_stages([StagingLabel::new("blue").unwrap()]),
    )
    .unwrap();
    [c, a, b, d]
}

#[test]
fn labelled_versions_newest_first_with_their_fields() {
    let t = TestStore::new();
    let [c, a, b, d] = four_versions(&t);
    let s = t.s();
    let out = list(&s, "app", false);
    let described = s.describe_secret(&id("app")).unwrap();
    assert_eq!(out.arn, described.arn);
    assert_eq!(out.name, name("app"));
    assert_eq!(out.next_token, None);
    assert_eq!(ids(&out.versions), vec![d.clone(), b.clone(), a.clone()]);
    let stages: Vec<_> = out
        .versions
        .iter()
        .map(|e| e.version_stages.clone())
        .collect();
    assert_eq!(
        stages,
        vec![
            Some(vec![StagingLabel::new("blue").unwrap()]),
            Some(vec![StagingLabel::CURRENT]),
            Some(vec![StagingLabel::PREVIOUS]),
        ]
    );
    let created: Vec<_> = out.versions.iter().map(|e| e.created_date).collect();
    assert_eq!(
        created,
        vec![
            secs(START_SECS + 180),
            secs(START_SECS + 120),
            secs(START_SECS + 60)
        ]
    );
    for e in &out.versions {
        assert!(!e.kms_key_ids.is_empty(), "{e:?}");
        assert!(e.kms_key_ids.iter().all(|k| !k.is_empty()), "{e:?}");
        assert_eq!(e.last_accessed_date, None);
    }
    // The deprecated version c is still there, just not listed.
    let old = s
        .get_secret_value(GetSecretValueInput::new(id("app")).version_id(c))
        .unwrap();
    assert_eq!(old.value.expose_str(), Some("1"));
}

#[test]
fn include_deprecated_adds_unlabelled_versions_without_stages() {
    let t = TestStore::new();
    let [c, a, b, d] = four_versions(&t);
    let s = t.s();
    let out = list(&s, "app", true);
    assert_eq!(ids(&out.versions), vec![d, b, a, c.clone()]);
    let last = out.versions.last().unwrap();
    assert_eq!(last.version_id, c);
    assert_eq!(last.version_stages, None, "absent, not empty (VER-3)");
    assert_eq!(last.created_date, secs(START_SECS));
    assert!(!last.kms_key_ids.is_empty());
}

#[test]
fn only_the_versions_read_get_a_last_accessed_date() {
    let t = TestStore::new();
    let [_, a, b, _] = four_versions(&t);
    let s = t.s();
    s.get_secret_value(GetSecretValueInput::new(id("app")).version_id(a.clone()))
        .unwrap();
    let out = list(&s, "app", true);
    let midnight = secs(START_SECS + 180 - (START_SECS + 180) % 86_400);
    for e in &out.versions {
        let expected = (e.version_id == a).then_some(midnight);
        assert_eq!(e.last_accessed_date, expected, "{:?}", e.version_id);
    }
    assert!(out.versions.iter().any(|e| e.version_id == b));
}

#[test]
fn pages_of_every_size_cover_every_version_once() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "v0");
    for i in 1..12 {
        t.advance(Duration::from_secs(1));
        s.put_secret_value(PutSecretValueInput::new(id("app"), text(&format!("v{i}"))))
            .unwrap();
    }
    for include_deprecated in [false, true] {
        let whole = list(&s, "app", include_deprecated);
        assert_eq!(
            whole.versions.len(),
            if include_deprecated { 12 } else { 2 }
        );
        for max in 1..=13u32 {
            let mut i = ListSecretVersionIdsInput::new(id("app"));
            i.include_deprecated = include_deprecated;
            i.max_results = Some(max);
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let out = s.list_secret_version_ids(i.clone()).unwrap();
                assert!(out.versions.len() <= usize::try_from(max).unwrap());
                seen.extend(out.versions);
                pages += 1;
                assert!(pages <= 100);
                i.next_token = out.next_token;
                if i.next_token.is_none() {
                    break;
                }
            }
            assert_eq!(
                seen, whole.versions,
                "max {max}, deprecated {include_deprecated}"
            );
        }
    }
    for (bad, constraint) in [
        (0, "Member must have value greater than or equal to 1"),
        (101, "Member must have value less than or equal to 100"),
    ] {
        let mut i = ListSecretVersionIdsInput::new(id("app"));
        i.max_results = Some(bad);
        assert_err(
            s.list_secret_version_ids(i),
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{bad}' at 'MaxResults' failed to satisfy constraint: {constraint}"
            ),
        );
    }
    let mut i = ListSecretVersionIdsInput::new(id("app"));
    i.max_results = Some(100);
    assert_eq!(s.list_secret_version_ids(i).unwrap().versions.len(), 2);
}

#[test]
fn bad_tokens_are_refused() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "a", "v");
    create(&s, "b", "v");
    let mut li = ListSecretsInput::default();
    li.max_results = Some(1);
    let list_token = s.list_secrets(li).unwrap().next_token.unwrap();
    for bad in [
        String::new(),
        "garbage".to_owned(),
        "00".to_owned(),
        "0".repeat(40),
        "f".repeat(4098),
        list_token,
    ] {
        let mut i = ListSecretVersionIdsInput::new(id("a"));
        i.next_token = Some(bad);
        assert_err(
            s.list_secret_version_ids(i),
            ErrorKind::InvalidNextToken,
            BAD_TOKEN,
        );
    }
}

#[test]
fn works_on_a_secret_scheduled_for_deletion_until_it_is_gone() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app", "v");
    s.delete_secret(DeleteSecretInput::new(id("app")).recovery_window_in_days(7))
        .unwrap();
    let out = list(&s, "app", false);
    assert_eq!(ids(&out.versions), vec![v1]);
    let arn = out.arn;
    assert_eq!(
        ids(&s
            .list_secret_version_ids(ListSecretVersionIdsInput::new(SecretId::from(&arn)))
            .unwrap()
            .versions)
        .len(),
        1
    );
    t.days(7);
    assert_err(
        s.list_secret_version_ids(ListSecretVersionIdsInput::new(id("app"))),
        ErrorKind::ResourceNotFound,
        "Secrets Manager can't find the specified secret.",
    );
}

#[test]
fn unknown_or_value_less_secrets() {
    let t = TestStore::new();
    let s = t.s();
    assert_err(
        s.list_secret_version_ids(ListSecretVersionIdsInput::new(id("nope"))),
        ErrorKind::ResourceNotFound,
        "Secrets Manager can't find the specified secret.",
    );
    s.create_secret(CreateSecretInput::new(name("empty")))
        .unwrap();
    let out = list(&s, "empty", true);
    assert!(out.versions.is_empty());
    assert_eq!(out.next_token, None);
}
