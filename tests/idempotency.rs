//! Idempotent writes on ClientRequestToken (IDEM rules, every row reachable through the public API).
//!
//! The row "PutSecretValue with the token of a value-less placeholder fills it in" needs the
//! AWSPENDING placeholder that RotateSecret creates; the public API cannot make one yet, so that
//! row is covered by the unit test `filling_a_placeholder_keeps_its_labels` in src/versions.rs.
// Helpers below are test code too; clippy's allow-*-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

use strongroom::{
    CreateSecretInput, DeleteSecretInput, Description, ErrorKind, Field, PutSecretValueInput,
    SecretValue, Session, StagingLabel, UpdateSecretInput, VersionId,
};

fn in_use(tok: &VersionId, arn: &str) -> String {
    format!(
        "You can't use ClientRequestToken {tok} because that value is already in use for a version of secret {arn}."
    )
}

fn arn_of(s: &Session, n: &str) -> String {
    s.describe_secret(&id(n)).unwrap().arn.as_str().to_owned()
}

#[test]
fn create_replay_with_same_token_and_value_returns_the_first_response() {
    let mut t = TestStore::new();
    let input = || {
        CreateSecretInput::new(name("c"))
            .value(text("v"))
            .client_request_token(token("create"))
            .description(Description::new("d").unwrap())
    };
    let first = t.s().create_secret(input()).unwrap();
    assert_eq!(first.version_id, Some(token("create")));
    let before = snapshot(&t.s(), "c");
    let again = t.s().create_secret(input()).unwrap();
    assert_eq!(again, first);
    assert_eq!(snapshot(&t.s(), "c"), before);
    // Tokens are durable: the replay still works after a reopen.
    t.reopen();
    assert_eq!(t.s().create_secret(input()).unwrap(), first);
    assert_eq!(snapshot(&t.s(), "c"), before);
}

#[test]
fn create_replay_matches_any_version_of_the_secret() {
    // The token is looked up among all versions, not only AWSCURRENT.
    let t = TestStore::new();
    let s = t.s();
    let input = || {
        CreateSecretInput::new(name("c"))
            .value(text("v1"))
            .client_request_token(token("create"))
    };
    let first = s.create_secret(input()).unwrap();
    s.put_secret_value(
        PutSecretValueInput::new(id("c"), text("v2")).client_request_token(token("put")),
    )
    .unwrap();
    let before = snapshot(&s, "c");
    assert_eq!(s.create_secret(input()).unwrap(), first);
    assert_eq!(snapshot(&s, "c"), before);
    assert_eq!(
        current(&s, "c"),
        "v2",
        "a replay does not move AWSCURRENT back"
    );
}

#[test]
fn create_with_a_used_token_and_another_value_is_resource_exists() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("c"))
            .value(text("v"))
            .client_request_token(token("create")),
    )
    .unwrap();
    let arn = arn_of(&s, "c");
    let before = snapshot(&s, "c");
    for other in [
        text("other"),
        // The same bytes as binary are another value ("same SecretString and same SecretBinary").
        SecretValue::binary(b"v".to_vec()).unwrap(),
    ] {
        let e = err(s.create_secret(
            CreateSecretInput::new(name("c"))
                .value(other)
                .client_request_token(token("create")),
        ));
        assert_eq!(e.kind(), ErrorKind::ResourceExists);
        assert_eq!(e.to_string(), in_use(&token("create"), &arn));
    }
    assert_eq!(snapshot(&s, "c"), before);
}

#[test]
fn create_with_an_unknown_token_on_an_existing_name_is_resource_exists() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("c"))
            .value(text("v"))
            .client_request_token(token("create")),
    )
    .unwrap();
    let before = snapshot(&s, "c");
    let e = err(s.create_secret(
        CreateSecretInput::new(name("c"))
            .value(text("v"))
            .client_request_token(token("another")),
    ));
    assert_eq!(e.kind(), ErrorKind::ResourceExists);
    assert_eq!(
        e.to_string(),
        "The operation failed because the secret c already exists."
    );
    assert_eq!(snapshot(&s, "c"), before);
}

#[test]
fn tokens_are_per_secret() {
    let t = TestStore::new();
    let s = t.s();
    for n in ["a", "b"] {
        let out = s
            .create_secret(
                CreateSecretInput::new(name(n))
                    .value(text(n))
                    .client_request_token(token("shared")),
            )
            .unwrap();
        assert_eq!(out.version_id, Some(token("shared")));
    }
    assert_eq!(current(&s, "a"), "a");
    assert_eq!(current(&s, "b"), "b");
}

#[test]
fn put_replay_with_same_value_is_a_no_op_reporting_current_labels() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "p", "v1");
    let put = |v: &str, tok: &str| {
        s.put_secret_value(
            PutSecretValueInput::new(id("p"), text(v)).client_request_token(token(tok)),
        )
    };
    let first = put("v2", "two").unwrap();
    assert_eq!(first.version_stages, [StagingLabel::CURRENT]);
    let before = snapshot(&s, "p");
    assert_eq!(
        put("v2", "two").unwrap(),
        first,
        "an immediate replay gives the first response"
    );
    assert_eq!(snapshot(&s, "p"), before);

    // After another write the replay reports the version's labels as they are now, and moves nothing.
    put("v3", "three").unwrap();
    let before = snapshot(&s, "p");
    let replay = put("v2", "two").unwrap();
    assert_eq!(replay.version_id, token("two"));
    assert_eq!(replay.arn, first.arn);
    assert_eq!(replay.version_stages, [StagingLabel::PREVIOUS]);
    assert_eq!(snapshot(&s, "p"), before);
    assert_eq!(current(&s, "p"), "v3");

    // Even when the replay names other stages, the existing version keeps its labels.
    let replay = s
        .put_secret_value(
            PutSecretValueInput::new(id("p"), text("v2"))
                .client_request_token(token("two"))
                .version_stages([label("custom")]),
        )
        .unwrap();
    assert_eq!(replay.version_stages, [StagingLabel::PREVIOUS]);
    assert_eq!(snapshot(&s, "p"), before);

    // A deprecated version replays with no labels.
    put("v4", "four").unwrap();
    let before = snapshot(&s, "p");
    let replay = put("v2", "two").unwrap();
    assert!(replay.version_stages.is_empty());
    assert_eq!(snapshot(&s, "p"), before);
}

#[test]
fn put_with_a_used_token_and_another_value_is_resource_exists() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = s
        .create_secret(
            CreateSecretInput::new(name("p"))
                .value(text("v1"))
                .client_request_token(token("create")),
        )
        .unwrap()
        .version_id
        .unwrap();
    let arn = arn_of(&s, "p");
    let before = snapshot(&s, "p");
    for (tok, value) in [
        (v1.clone(), text("different")),
        (v1.clone(), SecretValue::binary(b"v1".to_vec()).unwrap()),
    ] {
        let e = err(s.put_secret_value(
            PutSecretValueInput::new(id("p"), value).client_request_token(tok.clone()),
        ));
        assert_eq!(e.kind(), ErrorKind::ResourceExists);
        assert_eq!(e.aws_code(), "ResourceExistsException");
        assert_eq!(e.to_string(), in_use(&tok, &arn));
    }
    assert_eq!(snapshot(&s, "p"), before);
}

#[test]
fn update_replay_with_same_value_returns_the_token() {
    // IDEM-7 [recorded, contradicting AWS's documentation]: 200 with VersionId = token.
    let mut t = TestStore::new();
    create(&t.s(), "u", "v1");
    let input = || {
        UpdateSecretInput::new(id("u"))
            .value(text("v2"))
            .client_request_token(token("upd"))
    };
    let first = t.s().update_secret(input()).unwrap();
    assert_eq!(first.version_id, Some(token("upd")));
    let before = snapshot(&t.s(), "u");
    assert_eq!(t.s().update_secret(input()).unwrap(), first);
    assert_eq!(snapshot(&t.s(), "u"), before);

    // After a later write, the replay neither fails nor moves AWSCURRENT back.
    t.s()
        .put_secret_value(
            PutSecretValueInput::new(id("u"), text("v3")).client_request_token(token("put")),
        )
        .unwrap();
    t.reopen();
    let before = snapshot(&t.s(), "u");
    assert_eq!(t.s().update_secret(input()).unwrap(), first);
    assert_eq!(snapshot(&t.s(), "u"), before);
    assert_eq!(current(&t.s(), "u"), "v3");
}

#[test]
fn update_replay_also_matches_the_create_token() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("u"))
            .value(text("v1"))
            .client_request_token(token("create")),
    )
    .unwrap();
    let before = snapshot(&s, "u");
    let out = s
        .update_secret(
            UpdateSecretInput::new(id("u"))
                .value(text("v1"))
                .client_request_token(token("create")),
        )
        .unwrap();
    assert_eq!(out.version_id, Some(token("create")));
    assert_eq!(snapshot(&s, "u"), before);
}

#[test]
fn update_with_a_used_token_and_another_value_is_resource_exists_and_changes_nothing() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("u"))
            .value(text("v1"))
            .description(Description::new("old").unwrap())
            .client_request_token(token("create")),
    )
    .unwrap();
    let arn = arn_of(&s, "u");
    let before = snapshot(&s, "u");
    t.advance(std::time::Duration::from_secs(60));
    let e = err(s.update_secret(
        UpdateSecretInput::new(id("u"))
            .value(text("v2"))
            .description(Description::new("new").unwrap())
            .client_request_token(token("create")),
    ));
    assert_eq!(e.kind(), ErrorKind::ResourceExists);
    assert_eq!(e.to_string(), in_use(&token("create"), &arn));
    // Not even the description or LastChangedDate changed.
    let after = s.describe_secret(&id("u")).unwrap();
    assert_eq!(after, before.describe);
    assert_eq!(after.description.as_deref(), Some("old"));
}

#[test]
fn writes_with_a_token_of_a_value_less_create_make_a_new_version() {
    // CreateSecret without a value records no version, so its token is free for the first value.
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(CreateSecretInput::new(name("e")).client_request_token(token("tok")))
        .unwrap();
    let out = s
        .put_secret_value(
            PutSecretValueInput::new(id("e"), text("v")).client_request_token(token("tok")),
        )
        .unwrap();
    assert_eq!(out.version_id, token("tok"));
    assert_eq!(out.version_stages, [StagingLabel::CURRENT]);
    assert_eq!(current(&s, "e"), "v");
}

#[test]
fn replays_on_a_secret_scheduled_for_deletion_are_refused() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("d"))
            .value(text("v"))
            .client_request_token(token("create")),
    )
    .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("d"))).unwrap();
    let before = s.describe_secret(&id("d")).unwrap();
    let put = s.put_secret_value(
        PutSecretValueInput::new(id("d"), text("v")).client_request_token(token("create")),
    );
    assert_eq!(kind(put), ErrorKind::InvalidRequest);
    let update = s.update_secret(
        UpdateSecretInput::new(id("d"))
            .value(text("v"))
            .client_request_token(token("create")),
    );
    assert_eq!(kind(update), ErrorKind::InvalidRequest);
    let create = s.create_secret(
        CreateSecretInput::new(name("d"))
            .value(text("v"))
            .client_request_token(token("create")),
    );
    assert_eq!(kind(create), ErrorKind::InvalidRequest);
    assert_eq!(s.describe_secret(&id("d")).unwrap(), before);
}

#[test]
fn tokens_must_be_32_to_64_characters() {
    assert!(VersionId::for_field("a".repeat(32), Field::ClientRequestToken).is_ok());
    assert!(VersionId::for_field("a".repeat(64), Field::ClientRequestToken).is_ok());
    for bad in ["a".repeat(31), "a".repeat(65), String::new()] {
        let e = err(VersionId::for_field(bad.clone(), Field::ClientRequestToken));
        assert_eq!(e.kind(), ErrorKind::Validation, "{}", bad.len());
        assert!(e.to_string().contains("at 'ClientRequestToken'"), "{e}");
        assert_eq!(e.violation().unwrap().field(), Field::ClientRequestToken);
    }
}
