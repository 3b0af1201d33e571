//! CreateSecret (ID rules, VER-6, WRITE-3, DEL-6, TAG rules): first version, ARN, names, metadata, conflicts.
// Helpers below are test code too; clippy's allow-*-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

use strongroom::{
    Clock, CreateSecretInput, DeleteSecretInput, Description, ErrorKind, GetSecretValueInput,
    KmsKeyId, SecretId, SecretName, StagingLabel, Tag,
};

const NAME_MESSAGE: &str = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!";

/// Checks the ID-1 ARN shape for `name` in us-east-1 / 111111111111 and returns the suffix.
fn assert_arn_shape(arn: &str, name: &str) -> String {
    let prefix = format!("arn:aws:secretsmanager:us-east-1:111111111111:secret:{name}-");
    let suffix = arn
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{arn} does not start with {prefix}"));
    assert_eq!(suffix.len(), 6, "{arn}");
    assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()), "{arn}");
    suffix.to_owned()
}

#[test]
fn with_a_value_the_first_version_is_the_token_and_awscurrent() {
    let t = TestStore::new();
    let s = t.s();
    let out = s
        .create_secret(
            CreateSecretInput::new(name("app/db"))
                .value(text("hunter2"))
                .client_request_token(token("first")),
        )
        .unwrap();
    assert_eq!(out.name, name("app/db"));
    assert_eq!(out.version_id, Some(token("first")));

    let got = s
        .get_secret_value(GetSecretValueInput::new(id("app/db")))
        .unwrap();
    assert_eq!(got.value.expose_str(), Some("hunter2"));
    assert_eq!(got.version_id, token("first"));
    assert_eq!(got.version_stages, [StagingLabel::CURRENT]);
    assert_eq!(got.arn, out.arn);
    assert_eq!(got.created_date, t.clock.now());

    let d = s.describe_secret(&id("app/db")).unwrap();
    assert_eq!(d.arn, out.arn);
    assert_eq!(d.created_date, t.clock.now());
    assert_eq!(d.last_changed_date, t.clock.now());
    assert_eq!(
        stages(&s, "app/db"),
        [(token("first"), set(&["AWSCURRENT"]))].into()
    );
    // Unset metadata is left out (FIELDS-1).
    assert_eq!(d.description, None);
    assert_eq!(d.kms_key_id, None);
    assert_eq!(d.tags, None);
    assert_eq!(d.deleted_date, None);
}

#[test]
fn without_a_token_a_fresh_version_id_is_chosen() {
    let t = TestStore::new();
    let s = t.s();
    let a = s
        .create_secret(CreateSecretInput::new(name("a")).value(text("x")))
        .unwrap()
        .version_id
        .unwrap();
    let b = s
        .create_secret(CreateSecretInput::new(name("b")).value(text("x")))
        .unwrap()
        .version_id
        .unwrap();
    assert_ne!(a, b);
    assert!((32..=64).contains(&a.as_str().len()));
    assert_eq!(current(&s, "a"), "x");
}

#[test]
fn without_a_value_there_is_no_version_and_reads_find_nothing() {
    // VER-6 [recorded]: no VersionId, no VersionIdsToStages, RNF for staging label AWSCURRENT.
    let t = TestStore::new();
    let s = t.s();
    let out = s
        .create_secret(CreateSecretInput::new(name("empty")).client_request_token(token("unused")))
        .unwrap();
    assert_eq!(out.version_id, None);
    let d = s.describe_secret(&id("empty")).unwrap();
    assert_eq!(d.version_ids_to_stages, None);
    assert!(all_versions(&s, "empty").is_empty());

    let e = err(s.get_secret_value(GetSecretValueInput::new(id("empty"))));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    assert_eq!(
        e.to_string(),
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
    );
    let e = err(s.get_secret_value(
        GetSecretValueInput::new(id("empty")).version_stage(StagingLabel::PENDING),
    ));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    assert_eq!(
        e.to_string(),
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING"
    );
    // The token of a value-less create made no version either.
    let e =
        err(s.get_secret_value(GetSecretValueInput::new(id("empty")).version_id(token("unused"))));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    assert_eq!(
        e.to_string(),
        format!(
            "Secrets Manager can't find the specified secret value for VersionId: {}",
            token("unused")
        )
    );
}

#[test]
fn arn_has_the_aws_shape_and_a_fresh_suffix_after_force_delete() {
    let t = TestStore::new();
    let s = t.s();
    let mut suffixes = Vec::new();
    let mut old_arns: Vec<String> = Vec::new();
    for round in 0..3 {
        let out = s
            .create_secret(CreateSecretInput::new(name("prod/api-key")).value(text("v")))
            .unwrap();
        let suffix = assert_arn_shape(out.arn.as_str(), "prod/api-key");
        assert_eq!(out.arn.suffix(), suffix);
        assert_eq!(s.describe_secret(&id("prod/api-key")).unwrap().arn, out.arn);
        // An ARN of an earlier incarnation does not reach this one.
        for old in &old_arns {
            let e = err(s.describe_secret(&id(old)));
            assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "round {round}");
            assert_eq!(
                e.to_string(),
                "Secrets Manager can't find the specified secret."
            );
        }
        suffixes.push(suffix);
        old_arns.push(out.arn.as_str().to_owned());
        s.delete_secret(DeleteSecretInput::new(id("prod/api-key")).force())
            .unwrap();
    }
    suffixes.sort();
    suffixes.dedup();
    assert_eq!(suffixes.len(), 3, "every creation draws a new suffix");
}

#[test]
fn names_with_bad_characters_give_the_exact_validation_message() {
    // ID-4 [recorded]: the recorded names, and a few more.
    for bad in [
        "Inv Name",
        " Inv Name",
        " Inv*Name? ",
        " Inv *?!]Name\\-",
        "a:b",
        "tab\there",
        "café",
        "semi;colon",
    ] {
        let e = err(SecretName::new(bad));
        assert_eq!(e.kind(), ErrorKind::Validation, "{bad:?}");
        assert_eq!(e.aws_code(), "ValidationException");
        assert_eq!(e.to_string(), NAME_MESSAGE, "{bad:?}");
        // The same name passed as a SecretId is refused the same way.
        let e = err(SecretId::new(bad));
        assert_eq!(e.kind(), ErrorKind::Validation, "{bad:?}");
        assert_eq!(e.to_string(), NAME_MESSAGE, "{bad:?}");
    }
    // Every allowed character class.
    let t = TestStore::new();
    let all = "Valid/_+=.@-Name09";
    create(&t.s(), all, "v");
    assert_eq!(current(&t.s(), all), "v");
}

#[test]
fn names_are_1_to_512_characters() {
    let t = TestStore::new();
    let s = t.s();
    let long = "n".repeat(512);
    let out = s
        .create_secret(CreateSecretInput::new(name(&long)).value(text("v")))
        .unwrap();
    assert_arn_shape(out.arn.as_str(), &long);
    assert_eq!(current(&s, &long), "v");
    // And it is found by its ARN too.
    let got = s
        .get_secret_value(GetSecretValueInput::new(SecretId::from(&out.arn)))
        .unwrap();
    assert_eq!(got.name.as_str(), long);

    let e = err(SecretName::new("n".repeat(513)));
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(
        e.to_string().starts_with("1 validation error detected: Value '")
            && e.to_string().ends_with(
                "' at 'Name' failed to satisfy constraint: Member must have length less than or equal to 512"
            ),
        "{e}"
    );
    let e = err(SecretName::new(""));
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value '' at 'Name' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
}

#[test]
fn tags_description_and_kms_key_are_stored() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("tagged"))
            .value(text("v"))
            .description(Description::new("The main database").unwrap())
            .kms_key_id(KmsKeyId::new("alias/my-key").unwrap())
            .tag(Tag::new("env", "prod").unwrap())
            .tag(Tag::new("team", "").unwrap())
            .tag(Tag::new("Env", "case-sensitive").unwrap()),
    )
    .unwrap();
    let d = s.describe_secret(&id("tagged")).unwrap();
    assert_eq!(d.description.as_deref(), Some("The main database"));
    assert_eq!(d.kms_key_id.as_deref(), Some("alias/my-key"));
    let tags = d.tags.unwrap();
    let tags: Vec<(&str, &str)> = tags.iter().map(|t| (t.key().as_str(), t.value())).collect();
    // Insertion order (TAG-4).
    assert_eq!(
        tags,
        [("env", "prod"), ("team", ""), ("Env", "case-sensitive")]
    );
}

#[test]
fn empty_description_and_kms_key_are_left_out() {
    // Recorded: CreateSecret with Description "" gives a DescribeSecret without Description.
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("plain"))
            .description(Description::new("").unwrap())
            .kms_key_id(KmsKeyId::new("").unwrap()),
    )
    .unwrap();
    let d = s.describe_secret(&id("plain")).unwrap();
    assert_eq!(d.description, None);
    assert_eq!(d.kms_key_id, None);
}

#[test]
fn bad_tags_create_nothing() {
    let t = TestStore::new();
    let s = t.s();
    let dup = s.create_secret(
        CreateSecretInput::new(name("dup-tags"))
            .value(text("v"))
            .tag(Tag::new("k", "1").unwrap())
            .tag(Tag::new("k", "2").unwrap()),
    );
    assert_eq!(kind(dup), ErrorKind::InvalidParameter);
    let mut too_many = CreateSecretInput::new(name("many-tags")).value(text("v"));
    for i in 0..51 {
        too_many = too_many.tag(Tag::new(format!("k{i}"), "v").unwrap());
    }
    // The same error as going over 50 with TagResource.
    assert_eq!(kind(s.create_secret(too_many)), ErrorKind::InvalidParameter);
    for n in ["dup-tags", "many-tags"] {
        assert_eq!(kind(s.describe_secret(&id(n))), ErrorKind::ResourceNotFound);
    }
    // Exactly 50 is fine.
    let mut fifty = CreateSecretInput::new(name("fifty")).value(text("v"));
    for i in 0..50 {
        fifty = fifty.tag(Tag::new(format!("k{i}"), "v").unwrap());
    }
    s.create_secret(fifty).unwrap();
    assert_eq!(
        s.describe_secret(&id("fifty")).unwrap().tags.unwrap().len(),
        50
    );
    // The aws: prefix is reserved.
    assert_eq!(
        kind(Tag::new("aws:owner", "me")),
        ErrorKind::InvalidParameter
    );
}

#[test]
fn a_duplicate_name_gives_resource_exists_and_changes_nothing() {
    // IDEM-3 [recorded]: "The operation failed because the secret {name} already exists."
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(
        CreateSecretInput::new(name("dup"))
            .value(text("original"))
            .description(Description::new("first").unwrap()),
    )
    .unwrap();
    let before = snapshot(&s, "dup");
    for input in [
        CreateSecretInput::new(name("dup"))
            .value(text("other"))
            .description(Description::new("second").unwrap()),
        CreateSecretInput::new(name("dup")).value(text("original")),
        CreateSecretInput::new(name("dup")),
        CreateSecretInput::new(name("dup"))
            .value(text("other"))
            .client_request_token(token("fresh")),
    ] {
        let e = err(s.create_secret(input));
        assert_eq!(e.kind(), ErrorKind::ResourceExists);
        assert_eq!(e.aws_code(), "ResourceExistsException");
        assert_eq!(
            e.to_string(),
            "The operation failed because the secret dup already exists."
        );
    }
    assert_eq!(snapshot(&s, "dup"), before);
}

#[test]
fn a_name_scheduled_for_deletion_cannot_be_created_until_purged() {
    // DEL-6 [recorded].
    let t = TestStore::new();
    let s = t.s();
    create(&s, "doomed", "old");
    s.delete_secret(DeleteSecretInput::new(id("doomed")).recovery_window_in_days(7))
        .unwrap();
    let before = s.describe_secret(&id("doomed")).unwrap();
    assert!(before.deleted_date.is_some());
    for input in [
        CreateSecretInput::new(name("doomed")).value(text("new")),
        CreateSecretInput::new(name("doomed")),
    ] {
        let e = err(s.create_secret(input));
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(
            e.to_string(),
            "You can't create this secret because a secret with this name is already scheduled for deletion."
        );
    }
    assert_eq!(s.describe_secret(&id("doomed")).unwrap(), before);

    // Still refused on the last day of the window ...
    t.advance(std::time::Duration::from_secs(7 * 86_400 - 1));
    assert_eq!(
        kind(s.create_secret(CreateSecretInput::new(name("doomed")).value(text("new")))),
        ErrorKind::InvalidRequest
    );
    // ... and allowed once it is over, as a new secret with a new ARN.
    t.advance(std::time::Duration::from_secs(1));
    let out = s
        .create_secret(CreateSecretInput::new(name("doomed")).value(text("new")))
        .unwrap();
    assert_ne!(out.arn, before.arn);
    assert_eq!(current(&s, "doomed"), "new");
    let d = s.describe_secret(&id("doomed")).unwrap();
    assert_eq!(d.deleted_date, None);
    assert_eq!(d.version_ids_to_stages.unwrap().len(), 1);
}

#[test]
fn a_restored_name_is_taken_again() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "back", "v");
    s.delete_secret(DeleteSecretInput::new(id("back"))).unwrap();
    s.restore_secret(&id("back")).unwrap();
    let e = err(s.create_secret(CreateSecretInput::new(name("back")).value(text("w"))));
    assert_eq!(e.kind(), ErrorKind::ResourceExists);
    assert_eq!(
        e.to_string(),
        "The operation failed because the secret back already exists."
    );
    assert_eq!(current(&s, "back"), "v");
}

#[test]
fn created_secrets_survive_reopen_with_their_metadata() {
    let mut t = TestStore::new();
    let out = t
        .s()
        .create_secret(
            CreateSecretInput::new(name("durable"))
                .value(text("v"))
                .description(Description::new("d").unwrap())
                .tag(Tag::new("k", "v").unwrap()),
        )
        .unwrap();
    let before = snapshot(&t.s(), "durable");
    t.reopen();
    assert_eq!(snapshot(&t.s(), "durable"), before);
    assert_eq!(before.describe.arn, out.arn);
}
