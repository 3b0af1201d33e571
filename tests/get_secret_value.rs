//! GetSecretValue resolves one version by id and/or stage (rules GET-1 to GET-8).
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use strongroom::{
    CreateSecretInput, DeleteSecretInput, ErrorKind, GetSecretValueInput,
    ListSecretVersionIdsInput, PutSecretValueInput, SecretId, SecretValue, Session, StagingLabel,
    VersionId,
};

const SECRET_NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
const MISMATCH: &str =
    "You provided a VersionStage that is not associated to the provided VersionId.";

fn secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

/// 00:00 UTC of the day holding `s`.
fn midnight(s: u64) -> SystemTime {
    secs(s - s % 86_400)
}

fn label(s: &str) -> StagingLabel {
    StagingLabel::new(s).unwrap()
}

fn get(s: &Session, input: GetSecretValueInput) -> strongroom::Result<(VersionId, String)> {
    s.get_secret_value(input)
        .map(|o| (o.version_id, o.value.expose_str().unwrap().to_owned()))
}

fn assert_err<T: std::fmt::Debug>(r: strongroom::Result<T>, kind: ErrorKind, message: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), message);
}

/// Two versions: v1 {AWSPREVIOUS} "one", v2 {AWSCURRENT} "two".
fn two_versions(s: &Session) -> (VersionId, VersionId) {
    let v1 = token("v1");
    let v2 = token("v2");
    s.create_secret(
        CreateSecretInput::new(name("app"))
            .value(text("one"))
            .client_request_token(v1.clone()),
    )
    .unwrap();
    s.put_secret_value(
        PutSecretValueInput::new(id("app"), text("two")).client_request_token(v2.clone()),
    )
    .unwrap();
    (v1, v2)
}

#[test]
fn no_id_and_no_stage_reads_awscurrent() {
    let t = TestStore::new();
    let s = t.s();
    let (_, v2) = two_versions(&s);
    let out = s
        .get_secret_value(GetSecretValueInput::new(id("app")))
        .unwrap();
    assert_eq!(out.version_id, v2);
    assert_eq!(out.value.expose_str(), Some("two"));
    assert_eq!(out.version_stages, vec![StagingLabel::CURRENT]);
    assert_eq!(out.name, name("app"));
    let arn = s.describe_secret(&id("app")).unwrap().arn;
    assert_eq!(out.arn, arn);
    // The same version, asked for explicitly, by name, full ARN and partial ARN.
    for sid in [
        id("app"),
        SecretId::from(&arn),
        id(arn
            .as_str()
            .strip_suffix(&format!("-{}", arn.suffix()))
            .unwrap()),
    ] {
        let explicit = get(
            &s,
            GetSecretValueInput::new(sid).version_stage(StagingLabel::CURRENT),
        );
        assert_eq!(explicit.unwrap(), (v2.clone(), "two".to_owned()));
    }
}

#[test]
fn a_stage_selects_the_version_carrying_it() {
    let t = TestStore::new();
    let s = t.s();
    let (v1, v2) = two_versions(&s);
    let prev = s
        .get_secret_value(GetSecretValueInput::new(id("app")).version_stage(StagingLabel::PREVIOUS))
        .unwrap();
    assert_eq!(prev.version_id, v1);
    assert_eq!(prev.value.expose_str(), Some("one"));
    assert_eq!(prev.version_stages, vec![StagingLabel::PREVIOUS]);

    // A custom label on a new version that does not take AWSCURRENT (WRITE-6).
    let v3 = token("v3");
    s.put_secret_value(
        PutSecretValueInput::new(id("app"), text("three"))
            .client_request_token(v3.clone())
            .version_stages([label("blue")]),
    )
    .unwrap();
    let blue = get(
        &s,
        GetSecretValueInput::new(id("app")).version_stage(label("blue")),
    );
    assert_eq!(blue.unwrap(), (v3, "three".to_owned()));
    assert_eq!(
        get(&s, GetSecretValueInput::new(id("app"))).unwrap(),
        (v2, "two".to_owned())
    );
    // Labels are case-sensitive.
    assert_err(
        get(
            &s,
            GetSecretValueInput::new(id("app")).version_stage(label("Blue")),
        ),
        ErrorKind::ResourceNotFound,
        "Secrets Manager can't find the specified secret value for staging label: Blue",
    );
}

#[test]
fn a_version_id_selects_that_version() {
    let t = TestStore::new();
    let s = t.s();
    let (v1, v2) = two_versions(&s);
    let old = s
        .get_secret_value(GetSecretValueInput::new(id("app")).version_id(v1.clone()))
        .unwrap();
    assert_eq!(old.version_id, v1);
    assert_eq!(old.value.expose_str(), Some("one"));
    assert_eq!(old.version_stages, vec![StagingLabel::PREVIOUS]);
    assert_eq!(
        get(
            &s,
            GetSecretValueInput::new(id("app")).version_id(v2.clone())
        )
        .unwrap(),
        (v2, "two".to_owned())
    );

    // A deprecated version (no labels left) is still readable by id, with no stages.
    s.put_secret_value(PutSecretValueInput::new(id("app"), text("three")))
        .unwrap();
    let deprecated = s
        .get_secret_value(GetSecretValueInput::new(id("app")).version_id(v1.clone()))
        .unwrap();
    assert_eq!(deprecated.value.expose_str(), Some("one"));
    assert!(deprecated.version_stages.is_empty());
}

#[test]
fn id_and_stage_together_must_agree() {
    let t = TestStore::new();
    let s = t.s();
    let (v1, v2) = two_versions(&s);
    let both = GetSecretValueInput::new(id("app"))
        .version_id(v2.clone())
        .version_stage(StagingLabel::CURRENT);
    assert_eq!(get(&s, both).unwrap(), (v2.clone(), "two".to_owned()));
    let both = GetSecretValueInput::new(id("app"))
        .version_id(v1.clone())
        .version_stage(StagingLabel::PREVIOUS);
    assert_eq!(get(&s, both).unwrap(), (v1.clone(), "one".to_owned()));

    for (v, stage) in [
        (&v1, StagingLabel::CURRENT),
        (&v2, StagingLabel::PREVIOUS),
        (&v2, StagingLabel::PENDING),
    ] {
        let r = get(
            &s,
            GetSecretValueInput::new(id("app"))
                .version_id(v.clone())
                .version_stage(stage),
        );
        assert_err(r, ErrorKind::InvalidRequest, MISMATCH);
    }
    // An unknown id is reported as such, even with a stage.
    let ghost = token("ghost");
    assert_err(
        get(
            &s,
            GetSecretValueInput::new(id("app"))
                .version_id(ghost.clone())
                .version_stage(StagingLabel::CURRENT),
        ),
        ErrorKind::ResourceNotFound,
        &format!("Secrets Manager can't find the specified secret value for VersionId: {ghost}"),
    );
}

#[test]
fn unknown_secret_stage_or_version_is_not_found_with_awss_messages() {
    let t = TestStore::new();
    let s = t.s();
    assert_err(
        get(&s, GetSecretValueInput::new(id("nope"))),
        ErrorKind::ResourceNotFound,
        SECRET_NOT_FOUND,
    );
    let (_, _) = two_versions(&s);
    let arn = s.describe_secret(&id("app")).unwrap().arn;
    // The right name with a wrong suffix, and an ARN in another account, are other secrets.
    let other = if arn.suffix() == "zzzzzz" {
        "yyyyyy"
    } else {
        "zzzzzz"
    };
    let wrong_suffix = format!(
        "{}{other}",
        arn.as_str().strip_suffix(arn.suffix()).unwrap()
    );
    let other_account = arn.as_str().replace("111111111111", "222222222222");
    for sid in [wrong_suffix, other_account] {
        assert_err(
            get(&s, GetSecretValueInput::new(id(&sid))),
            ErrorKind::ResourceNotFound,
            SECRET_NOT_FOUND,
        );
    }
    for stage in ["AWSPENDING", "nope", "awscurrent"] {
        assert_err(
            get(
                &s,
                GetSecretValueInput::new(id("app")).version_stage(label(stage)),
            ),
            ErrorKind::ResourceNotFound,
            &format!(
                "Secrets Manager can't find the specified secret value for staging label: {stage}"
            ),
        );
    }
    let unknown = VersionId::new("9e47f29a-3514-4865-b388-c7d3fd0b9703").unwrap();
    assert_err(
        get(&s, GetSecretValueInput::new(id("app")).version_id(unknown)),
        ErrorKind::ResourceNotFound,
        "Secrets Manager can't find the specified secret value for VersionId: 9e47f29a-3514-4865-b388-c7d3fd0b9703",
    );
    // A bad name never reaches the store (ID-4).
    let e = SecretId::new("Inv Name").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(
        e.to_string(),
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
    );
}

#[test]
fn a_secret_without_a_value_has_nothing_to_read() {
    let t = TestStore::new();
    let s = t.s();
    let out = s
        .create_secret(CreateSecretInput::new(name("empty")))
        .unwrap();
    assert_eq!(out.version_id, None);
    assert_err(
        get(&s, GetSecretValueInput::new(id("empty"))),
        ErrorKind::ResourceNotFound,
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    );
    assert_err(
        get(
            &s,
            GetSecretValueInput::new(id("empty")).version_stage(StagingLabel::PENDING),
        ),
        ErrorKind::ResourceNotFound,
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    );
    let v = token("never");
    assert_err(
        get(
            &s,
            GetSecretValueInput::new(id("empty")).version_id(v.clone()),
        ),
        ErrorKind::ResourceNotFound,
        &format!("Secrets Manager can't find the specified secret value for VersionId: {v}"),
    );
    // An empty value cannot even be built, so no empty version can exist.
    assert_eq!(kind(SecretValue::string("")), ErrorKind::Validation);
    assert_eq!(kind(SecretValue::binary(Vec::new())), ErrorKind::Validation);
    // The first put makes the secret readable, as AWSCURRENT.
    s.put_secret_value(PutSecretValueInput::new(id("empty"), text("now")))
        .unwrap();
    assert_eq!(current(&s, "empty"), "now");
}

#[test]
fn binary_values_come_back_as_binary() {
    let t = TestStore::new();
    let s = t.s();
    let bytes = vec![0x00, 0x01, 0x02, 0xff, 0xfe, 0xfd];
    s.create_secret(
        CreateSecretInput::new(name("bin")).value(SecretValue::binary(bytes.clone()).unwrap()),
    )
    .unwrap();
    let out = s
        .get_secret_value(GetSecretValueInput::new(id("bin")))
        .unwrap();
    assert!(out.value.is_binary());
    assert_eq!(out.value.expose_str(), None);
    assert_eq!(out.value.expose_bytes(), &bytes[..]);
}

#[test]
fn created_date_is_the_versions_not_the_secrets() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app", "one");
    t.advance(Duration::from_secs(3_600));
    let v2 = s
        .put_secret_value(PutSecretValueInput::new(id("app"), text("two")))
        .unwrap()
        .version_id;
    t.advance(Duration::from_secs(60));
    let first = s
        .get_secret_value(GetSecretValueInput::new(id("app")).version_id(v1))
        .unwrap();
    assert_eq!(first.created_date, secs(START_SECS));
    let second = s
        .get_secret_value(GetSecretValueInput::new(id("app")).version_id(v2))
        .unwrap();
    assert_eq!(second.created_date, secs(START_SECS + 3_600));
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().created_date,
        secs(START_SECS)
    );
}

#[test]
fn last_accessed_date_is_the_day_of_the_last_read() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app", "one");
    let versions = |s: &Session| {
        s.list_secret_version_ids(ListSecretVersionIdsInput::new(id("app")))
            .unwrap()
            .versions
    };
    // Never read: absent, for the secret and for its version. Describing is not reading.
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().last_accessed_date,
        None
    );
    assert_eq!(versions(&s)[0].last_accessed_date, None);
    // A failed read is not a read either.
    assert!(
        s.get_secret_value(
            GetSecretValueInput::new(id("app")).version_stage(StagingLabel::PENDING)
        )
        .is_err()
    );
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().last_accessed_date,
        None
    );

    // START_SECS is 22:13:20 UTC; reading stamps 00:00 UTC of that day.
    assert_eq!(current(&s, "app"), "one");
    let today = midnight(START_SECS);
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().last_accessed_date,
        Some(today)
    );
    assert_eq!(versions(&s)[0].last_accessed_date, Some(today));

    // A second read later the same day gives the same date.
    t.advance(Duration::from_secs(3_600));
    current(&s, "app");
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().last_accessed_date,
        Some(today)
    );

    // A read the next day moves it to that day's midnight, for the secret and the version read only.
    t.advance(Duration::from_secs(3_600));
    let v2 = s
        .put_secret_value(PutSecretValueInput::new(id("app"), text("two")))
        .unwrap()
        .version_id;
    current(&s, "app");
    let tomorrow = midnight(START_SECS + 7_200);
    assert_eq!(tomorrow, secs(START_SECS - START_SECS % 86_400 + 86_400));
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().last_accessed_date,
        Some(tomorrow)
    );
    let listed = versions(&s);
    let date_of = |v: &VersionId| {
        listed
            .iter()
            .find(|e| &e.version_id == v)
            .unwrap()
            .last_accessed_date
    };
    assert_eq!(date_of(&v2), Some(tomorrow));
    assert_eq!(date_of(&v1), Some(today));
}

#[test]
fn a_secret_scheduled_for_deletion_cannot_be_read() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "app", "one");
    s.delete_secret(DeleteSecretInput::new(id("app"))).unwrap();
    for input in [
        GetSecretValueInput::new(id("app")),
        GetSecretValueInput::new(id("app")).version_id(v1),
        GetSecretValueInput::new(id("app")).version_stage(StagingLabel::CURRENT),
    ] {
        assert_err(
            get(&s, input),
            ErrorKind::InvalidRequest,
            "You can't perform this operation on the secret because it was marked for deletion.",
        );
    }
    // The refused read did not count as an access.
    assert_eq!(
        s.describe_secret(&id("app")).unwrap().last_accessed_date,
        None
    );
}
