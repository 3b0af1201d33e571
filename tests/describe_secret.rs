//! DescribeSecret returns only the fields that have a value (FIELDS rules) and works on secrets
//! scheduled for deletion (DEL-3).
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use strongroom::{
    CreateSecretInput, DeleteSecretInput, Description, ErrorKind, KmsKeyId, PutSecretValueInput,
    SecretId, StagingLabel, Tag, TagKey, UpdateSecretInput, VersionId,
};

fn secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::new(k, v).unwrap()
}

fn stages(pairs: &[(&VersionId, &[StagingLabel])]) -> BTreeMap<VersionId, Vec<StagingLabel>> {
    pairs
        .iter()
        .map(|(v, l)| ((*v).clone(), l.to_vec()))
        .collect()
}

#[test]
fn a_bare_secret_has_only_its_identity_and_dates() {
    let t = TestStore::new();
    let s = t.s();
    let created = s
        .create_secret(CreateSecretInput::new(name("bare")))
        .unwrap();
    let d = s.describe_secret(&id("bare")).unwrap();
    assert_eq!(d.arn, created.arn);
    assert_eq!(d.name, name("bare"));
    assert_eq!(d.description, None);
    assert_eq!(d.kms_key_id, None);
    assert_eq!(d.tags, None);
    assert_eq!(d.version_ids_to_stages, None);
    assert_eq!(d.last_accessed_date, None);
    assert_eq!(d.deleted_date, None);
    assert_eq!(d.created_date, secs(START_SECS));
    assert_eq!(d.last_changed_date, secs(START_SECS));
    // The ARN is arn:aws:secretsmanager:{region}:{account}:secret:{name}-{6 chars} (ID-1).
    let suffix = d.arn.suffix();
    assert_eq!(
        d.arn.as_str(),
        format!("arn:aws:secretsmanager:us-east-1:111111111111:secret:bare-{suffix}")
    );
    assert_eq!(suffix.len(), 6);
    assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
}

#[test]
fn set_fields_are_shown() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = token("v1");
    s.create_secret(
        CreateSecretInput::new(name("full"))
            .value(text("x"))
            .client_request_token(v1.clone())
            .description(Description::new("the description").unwrap())
            .kms_key_id(KmsKeyId::new("alias/mine").unwrap())
            .tag(tag("env", "prod"))
            .tag(tag("team", "")),
    )
    .unwrap();
    let d = s.describe_secret(&id("full")).unwrap();
    assert_eq!(d.description.as_deref(), Some("the description"));
    assert_eq!(d.kms_key_id.as_deref(), Some("alias/mine"));
    assert_eq!(d.tags, Some(vec![tag("env", "prod"), tag("team", "")]));
    assert_eq!(
        d.version_ids_to_stages,
        Some(stages(&[(&v1, &[StagingLabel::CURRENT])]))
    );
}

#[test]
fn the_version_map_leaves_out_deprecated_versions() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app", "one");
    let put = |v: &str| {
        s.put_secret_value(PutSecretValueInput::new(id("app"), text(v)))
            .unwrap()
            .version_id
    };
    let v2 = put("two");
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().version_ids_to_stages,
        Some(stages(&[
            (&v1, &[StagingLabel::PREVIOUS]),
            (&v2, &[StagingLabel::CURRENT]),
        ]))
    );
    let v3 = put("three");
    // v1 has no label left: it still exists (readable by id) but is not listed.
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().version_ids_to_stages,
        Some(stages(&[
            (&v2, &[StagingLabel::PREVIOUS]),
            (&v3, &[StagingLabel::CURRENT]),
        ]))
    );
}

#[test]
fn tags_go_from_absent_to_empty_once_all_are_removed() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "x");
    assert_eq!(s.describe_secret(&id("app")).unwrap().tags, None);
    s.tag_resource(&id("app"), &[tag("tag1", "value1")])
        .unwrap();
    s.tag_resource(&id("app"), &[tag("tag2", "value2")])
        .unwrap();
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().tags,
        Some(vec![tag("tag1", "value1"), tag("tag2", "value2")])
    );
    s.untag_resource(&id("app"), &[TagKey::new("tag1").unwrap()])
        .unwrap();
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().tags,
        Some(vec![tag("tag2", "value2")])
    );
    s.untag_resource(&id("app"), &[TagKey::new("tag2").unwrap()])
        .unwrap();
    assert_eq!(s.describe_secret(&id("app")).unwrap().tags, Some(vec![]));
    // Tags given at creation behave the same.
    s.create_secret(CreateSecretInput::new(name("born-tagged")).tag(tag("a", "1")))
        .unwrap();
    s.untag_resource(&id("born-tagged"), &[TagKey::new("a").unwrap()])
        .unwrap();
    assert_eq!(
        s.describe_secret(&id("born-tagged")).unwrap().tags,
        Some(vec![])
    );
}

#[test]
fn deleted_date_is_shown_only_while_deletion_is_scheduled() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app", "x");
    s.tag_resource(&id("app"), &[tag("env", "prod")]).unwrap();
    t.advance(Duration::from_secs(60));
    let out = s
        .delete_secret(DeleteSecretInput::new(id("app")).recovery_window_in_days(7))
        .unwrap();
    let when = secs(START_SECS + 60 + 7 * 86_400);
    assert_eq!(out.deletion_date, when);
    // Describe still works, by name and by ARN, and shows everything plus DeletedDate.
    let d = s.describe_secret(&id("app")).unwrap();
    assert_eq!(d.deleted_date, Some(when));
    assert_eq!(d.tags, Some(vec![tag("env", "prod")]));
    assert_eq!(
        d.version_ids_to_stages,
        Some(stages(&[(&v1, &[StagingLabel::CURRENT])]))
    );
    assert_eq!(s.describe_secret(&SecretId::from(&d.arn)).unwrap(), d);
    // Still there one millisecond before the deletion date.
    t.advance(Duration::from_secs(7 * 86_400) - Duration::from_millis(1));
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().deleted_date,
        Some(when)
    );
    s.restore_secret(&id("app")).unwrap();
    assert_eq!(s.describe_secret(&id("app")).unwrap().deleted_date, None);
}

#[test]
fn describing_changes_nothing_and_last_changed_follows_writes() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "x");
    let before = s.describe_secret(&id("app")).unwrap();
    t.advance(Duration::from_secs(10));
    assert_eq!(s.describe_secret(&id("app")).unwrap(), before);

    s.update_secret(
        UpdateSecretInput::new(id("app")).description(Description::new("now described").unwrap()),
    )
    .unwrap();
    let d = s.describe_secret(&id("app")).unwrap();
    assert_eq!(d.description.as_deref(), Some("now described"));
    assert_eq!(d.last_changed_date, secs(START_SECS + 10));
    assert_eq!(d.created_date, secs(START_SECS));
    // A description-only update makes no version (WRITE-9).
    assert_eq!(d.version_ids_to_stages, before.version_ids_to_stages);

    t.advance(Duration::from_secs(10));
    s.tag_resource(&id("app"), &[tag("k", "v")]).unwrap();
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().last_changed_date,
        secs(START_SECS + 20)
    );
}

#[test]
fn unknown_secrets_are_not_found() {
    let t = TestStore::new();
    let s = t.s();
    for sid in [
        "nope",
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:nope-abcdef",
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:nope",
    ] {
        let e = s.describe_secret(&id(sid)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
        assert_eq!(
            e.to_string(),
            "Secrets Manager can't find the specified secret."
        );
    }
    // Force-deleted secrets are gone at once.
    create(&s, "app", "x");
    s.delete_secret(DeleteSecretInput::new(id("app")).force())
        .unwrap();
    assert_eq!(
        kind(s.describe_secret(&id("app"))),
        ErrorKind::ResourceNotFound
    );
}
