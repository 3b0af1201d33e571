//! UpdateSecret (rules WRITE-3, WRITE-5, WRITE-9, DATE-1): metadata without a version, a value with one.
// Helpers below are test code too; clippy's allow-*-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

use std::time::Duration;

use strongroom::{
    Clock, CreateSecretInput, DeleteSecretInput, Description, ErrorKind, GetSecretValueInput,
    KmsKeyId, SecretValue, StagingLabel, UpdateSecretInput,
};

#[test]
fn description_only_makes_no_version_and_advances_last_changed_date() {
    // WRITE-9 [recorded update_secret_description, last_updated_date].
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "u", "MySecretString");
    let before = s.describe_secret(&id("u")).unwrap();
    t.advance(Duration::from_secs(3_600));
    let out = s
        .update_secret(
            UpdateSecretInput::new(id("u")).description(Description::new("MyDescription").unwrap()),
        )
        .unwrap();
    assert_eq!(out.version_id, None);
    assert_eq!(out.arn, before.arn);
    assert_eq!(out.name, name("u"));
    let after = s.describe_secret(&id("u")).unwrap();
    assert_eq!(after.description.as_deref(), Some("MyDescription"));
    assert_eq!(
        after.last_changed_date,
        before.last_changed_date + Duration::from_secs(3_600)
    );
    assert_eq!(after.created_date, before.created_date);
    assert_eq!(after.version_ids_to_stages, before.version_ids_to_stages);
    assert_eq!(stages(&s, "u"), [(v1, set(&["AWSCURRENT"]))].into());
    assert_eq!(all_versions(&s, "u").len(), 1);
}

#[test]
fn an_update_with_no_fields_changes_only_last_changed_date() {
    // Recorded: UpdateSecret(SecretId) alone returns ARN and Name, no VersionId.
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("u"))
            .value(text("v"))
            .description(Description::new("keep").unwrap())
            .kms_key_id(KmsKeyId::new("alias/keep").unwrap()),
    )
    .unwrap();
    let mut before = snapshot(&s, "u");
    t.advance(Duration::from_secs(5));
    let out = s.update_secret(UpdateSecretInput::new(id("u"))).unwrap();
    assert_eq!(out.version_id, None);
    let after = snapshot(&s, "u");
    assert_eq!(
        after.describe.last_changed_date,
        before.describe.last_changed_date + Duration::from_secs(5)
    );
    before.describe.last_changed_date = after.describe.last_changed_date;
    assert_eq!(after, before, "nothing but LastChangedDate moved");
}

#[test]
fn a_value_becomes_the_new_awscurrent() {
    // Recorded sequence of update_secret_description.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "u", "MySecretString");
    t.advance(Duration::from_secs(10));
    let out = s
        .update_secret(
            UpdateSecretInput::new(id("u"))
                .value(text("MyNewSecretString"))
                .description(Description::new("MyNewDescription").unwrap())
                .client_request_token(token("v2")),
        )
        .unwrap();
    assert_eq!(out.version_id, Some(token("v2")));
    assert_eq!(current(&s, "u"), "MyNewSecretString");
    let d = s.describe_secret(&id("u")).unwrap();
    assert_eq!(d.description.as_deref(), Some("MyNewDescription"));
    assert_eq!(d.last_changed_date, t.clock.now());
    assert_eq!(
        stages(&s, "u"),
        [
            (v1.clone(), set(&["AWSPREVIOUS"])),
            (token("v2"), set(&["AWSCURRENT"]))
        ]
        .into()
    );
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("u")))
        .unwrap();
    assert_eq!(got.created_date, t.clock.now());
    assert_eq!(got.version_stages, [StagingLabel::CURRENT]);

    // Without a token a fresh version id is drawn.
    let out = s
        .update_secret(
            UpdateSecretInput::new(id("u")).value(text("MyNewSecretStringMyNewSecretString")),
        )
        .unwrap();
    let v3 = out.version_id.unwrap();
    assert_ne!(v3, token("v2"));
    assert_eq!(
        stages(&s, "u"),
        [
            (token("v2"), set(&["AWSPREVIOUS"])),
            (v3, set(&["AWSCURRENT"]))
        ]
        .into()
    );
    // The description is kept when an update does not name one.
    assert_eq!(
        s.describe_secret(&id("u")).unwrap().description.as_deref(),
        Some("MyNewDescription")
    );
    // v1 is deprecated but still readable by id.
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("u")).version_id(v1))
        .unwrap();
    assert_eq!(got.value.expose_str(), Some("MySecretString"));
}

#[test]
fn a_value_on_an_empty_secret_is_the_first_awscurrent_version() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(CreateSecretInput::new(name("e"))).unwrap();
    let out = s
        .update_secret(
            UpdateSecretInput::new(id("e"))
                .value(SecretValue::binary(vec![0, 1, 2]).unwrap())
                .client_request_token(token("first")),
        )
        .unwrap();
    assert_eq!(out.version_id, Some(token("first")));
    assert_eq!(
        stages(&s, "e"),
        [(token("first"), set(&["AWSCURRENT"]))].into()
    );
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("e")))
        .unwrap();
    assert!(got.value.is_binary());
    assert_eq!(got.value.expose_bytes(), [0, 1, 2]);
}

#[test]
fn kms_key_id_is_stored_echoed_and_reset_by_an_empty_id() {
    let mut t = TestStore::new();
    create(&t.s(), "k", "v");
    assert_eq!(t.s().describe_secret(&id("k")).unwrap().kms_key_id, None);
    let out = t
        .s()
        .update_secret(
            UpdateSecretInput::new(id("k")).kms_key_id(KmsKeyId::new("alias/custom").unwrap()),
        )
        .unwrap();
    assert_eq!(out.version_id, None);
    t.reopen();
    assert_eq!(
        t.s()
            .describe_secret(&id("k"))
            .unwrap()
            .kms_key_id
            .as_deref(),
        Some("alias/custom")
    );
    // The value is untouched and still readable.
    assert_eq!(current(&t.s(), "k"), "v");
    // "" means the default key again (KmsKeyId row of the quota table).
    t.s()
        .update_secret(UpdateSecretInput::new(id("k")).kms_key_id(KmsKeyId::new("").unwrap()))
        .unwrap();
    assert_eq!(t.s().describe_secret(&id("k")).unwrap().kms_key_id, None);
    // The AWS managed key, by alias or by the alias's ARN, is the default key: DescribeSecret
    // leaves it out (B7), after a custom key too.
    for managed in [
        "alias/aws/secretsmanager",
        "arn:aws:kms:us-east-1:111111111111:alias/aws/secretsmanager",
    ] {
        t.s()
            .update_secret(
                UpdateSecretInput::new(id("k")).kms_key_id(KmsKeyId::new("alias/custom").unwrap()),
            )
            .unwrap();
        t.s()
            .update_secret(
                UpdateSecretInput::new(id("k")).kms_key_id(KmsKeyId::new(managed).unwrap()),
            )
            .unwrap();
        assert_eq!(t.s().describe_secret(&id("k")).unwrap().kms_key_id, None);
    }
    let managed = CreateSecretInput::new(name("m"))
        .value(text("v"))
        .kms_key_id(KmsKeyId::new("alias/aws/secretsmanager").unwrap());
    t.s().create_secret(managed).unwrap();
    assert_eq!(t.s().describe_secret(&id("m")).unwrap().kms_key_id, None);
    // A customer key whose alias merely ends the same way is kept.
    for kept in [
        "alias/my/alias/aws/secretsmanager",
        "xalias/aws/secretsmanager",
    ] {
        t.s()
            .update_secret(UpdateSecretInput::new(id("k")).kms_key_id(KmsKeyId::new(kept).unwrap()))
            .unwrap();
        assert_eq!(
            t.s()
                .describe_secret(&id("k"))
                .unwrap()
                .kms_key_id
                .as_deref(),
            Some(kept)
        );
    }
    // Too long an id never reaches the store.
    assert_eq!(kind(KmsKeyId::new("k".repeat(2049))), ErrorKind::Validation);
    assert!(KmsKeyId::new("k".repeat(2048)).is_ok());
}

#[test]
fn an_empty_description_clears_it() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("d"))
            .value(text("v"))
            .description(Description::new("something").unwrap()),
    )
    .unwrap();
    s.update_secret(UpdateSecretInput::new(id("d")).description(Description::new("").unwrap()))
        .unwrap();
    assert_eq!(s.describe_secret(&id("d")).unwrap().description, None);
    // Descriptions are at most 2048 characters.
    assert!(Description::new("d".repeat(2048)).is_ok());
    let e = err(Description::new("d".repeat(2049)));
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(e.to_string().contains("at 'Description'"), "{e}");
}

#[test]
fn updating_a_missing_or_deleted_secret_fails_and_changes_nothing() {
    let t = TestStore::new();
    let s = t.s();
    let e = err(s.update_secret(
        UpdateSecretInput::new(id("nope")).description(Description::new("x").unwrap()),
    ));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    assert_eq!(
        e.to_string(),
        "Secrets Manager can't find the specified secret."
    );

    s.create_secret(
        CreateSecretInput::new(name("gone"))
            .value(text("v"))
            .description(Description::new("old").unwrap()),
    )
    .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("gone")).recovery_window_in_days(10))
        .unwrap();
    let before = s.describe_secret(&id("gone")).unwrap();
    t.advance(Duration::from_secs(60));
    for input in [
        UpdateSecretInput::new(id("gone")).description(Description::new("new").unwrap()),
        UpdateSecretInput::new(id("gone")).value(text("w")),
        UpdateSecretInput::new(id("gone")),
    ] {
        let e = err(s.update_secret(input));
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(
            e.to_string(),
            "You can't perform this operation on the secret because it was marked for deletion."
        );
    }
    assert_eq!(s.describe_secret(&id("gone")).unwrap(), before);
}

#[test]
fn updates_are_durable() {
    let mut t = TestStore::new();
    create(&t.s(), "u", "v1");
    t.s()
        .update_secret(
            UpdateSecretInput::new(id("u"))
                .value(text("v2"))
                .description(Description::new("d").unwrap()),
        )
        .unwrap();
    let before = snapshot(&t.s(), "u");
    t.reopen();
    assert_eq!(snapshot(&t.s(), "u"), before);
    assert_eq!(current(&t.s(), "u"), "v2");
}
