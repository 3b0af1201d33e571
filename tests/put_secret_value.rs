//! PutSecretValue (rules WRITE-3 to WRITE-9, VER-2, value size limits).
// Helpers below are test code too; clippy's allow-*-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

use strongroom::{
    CreateSecretInput, DeleteSecretInput, ErrorKind, GetSecretValueInput, MAX_SECRET_BYTES,
    PutSecretValueInput, SecretValue, Session, StagingLabel, UpdateSecretVersionStageInput,
    VersionId,
};

fn put(s: &Session, n: &str, v: &str, tok: &str, stages: Option<&[&str]>) -> Vec<String> {
    let mut input = PutSecretValueInput::new(id(n), text(v)).client_request_token(token(tok));
    if let Some(stages) = stages {
        input = input.version_stages(stages.iter().map(|l| label(l)));
    }
    let out = s.put_secret_value(input).unwrap();
    assert_eq!(out.version_id, token(tok));
    assert_eq!(out.name, name(n));
    let mut labels: Vec<String> = out
        .version_stages
        .iter()
        .map(|l| l.as_str().to_owned())
        .collect();
    labels.sort();
    labels
}

fn value_of(s: &Session, n: &str, version: &VersionId) -> String {
    s.get_secret_value(GetSecretValueInput::new(id(n)).version_id(version.clone()))
        .unwrap()
        .value
        .expose_str()
        .unwrap()
        .to_owned()
}

fn by_stage(s: &Session, n: &str, stage: StagingLabel) -> (VersionId, String) {
    let got = s
        .get_secret_value(GetSecretValueInput::new(id(n)).version_stage(stage))
        .unwrap();
    (got.version_id, got.value.expose_str().unwrap().to_owned())
}

#[test]
fn default_stage_is_awscurrent_and_awsprevious_follows() {
    // WRITE-3, WRITE-5 [recorded current_previous, deprecated_secret_version_stage].
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "one");
    assert_eq!(put(&s, "p", "two", "v2", None), ["AWSCURRENT"]);
    assert_eq!(
        stages(&s, "p"),
        [
            (v1.clone(), set(&["AWSPREVIOUS"])),
            (token("v2"), set(&["AWSCURRENT"]))
        ]
        .into()
    );
    assert_eq!(current(&s, "p"), "two");
    assert_eq!(
        by_stage(&s, "p", StagingLabel::PREVIOUS),
        (v1.clone(), "one".to_owned())
    );

    assert_eq!(put(&s, "p", "three", "v3", None), ["AWSCURRENT"]);
    assert_eq!(
        stages(&s, "p"),
        [
            (token("v2"), set(&["AWSPREVIOUS"])),
            (token("v3"), set(&["AWSCURRENT"]))
        ]
        .into()
    );
    // v1 is now deprecated but keeps its value.
    assert_eq!(value_of(&s, "p", &v1), "one");
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("p")).version_id(v1.clone()))
        .unwrap();
    assert!(got.version_stages.is_empty());
}

#[test]
fn custom_stages_leave_awscurrent_alone() {
    // WRITE-6 [recorded put_secret_value_with_version_stages], replayed step by step.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "secret_string_v0");
    let samples = ["SAMPLESTAGE1", "SAMPLESTAGE0"];
    assert_eq!(
        put(&s, "p", "secret_string_v1", "v2", Some(&samples)),
        ["SAMPLESTAGE0", "SAMPLESTAGE1"]
    );
    assert_eq!(
        by_stage(&s, "p", StagingLabel::CURRENT),
        (v1.clone(), "secret_string_v0".to_owned())
    );
    assert_eq!(
        put(&s, "p", "secret_string_v2", "v3", Some(&samples)),
        ["SAMPLESTAGE0", "SAMPLESTAGE1"]
    );
    assert_eq!(
        by_stage(&s, "p", StagingLabel::CURRENT),
        (v1.clone(), "secret_string_v0".to_owned())
    );
    assert_eq!(
        put(&s, "p", "secret_string_v3", "v4", Some(&["AWSPENDING"])),
        ["AWSPENDING"]
    );
    assert_eq!(
        by_stage(&s, "p", StagingLabel::CURRENT),
        (v1.clone(), "secret_string_v0".to_owned())
    );
    assert_eq!(
        stages(&s, "p"),
        [
            (v1.clone(), set(&["AWSCURRENT"])),
            (token("v3"), set(&["SAMPLESTAGE0", "SAMPLESTAGE1"])),
            (token("v4"), set(&["AWSPENDING"])),
        ]
        .into(),
        "v2 lost both labels to v3 and is deprecated; no AWSPREVIOUS appeared"
    );
    assert_eq!(put(&s, "p", "secret_string_v4", "v5", None), ["AWSCURRENT"]);
    assert_eq!(
        by_stage(&s, "p", StagingLabel::CURRENT),
        (token("v5"), "secret_string_v4".to_owned())
    );
    assert_eq!(
        by_stage(&s, "p", StagingLabel::PREVIOUS),
        (v1, "secret_string_v0".to_owned())
    );
    assert_eq!(
        by_stage(&s, "p", label("SAMPLESTAGE0")),
        (token("v3"), "secret_string_v2".to_owned())
    );
}

#[test]
fn awscurrent_with_custom_stages_moves_current_and_previous() {
    // Recorded in ..._custom_stages_2: put [AWSCURRENT, PUT0] demotes v1 to AWSPREVIOUS.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "SS");
    assert_eq!(
        put(&s, "p", "S1", "v2", Some(&["AWSCURRENT", "PUT0"])),
        ["AWSCURRENT", "PUT0"]
    );
    assert_eq!(
        stages(&s, "p"),
        [
            (v1, set(&["AWSPREVIOUS"])),
            (token("v2"), set(&["AWSCURRENT", "PUT0"]))
        ]
        .into()
    );
}

#[test]
fn the_first_version_of_an_empty_secret_is_awscurrent() {
    // WRITE-7, VER-6 [recorded create_secret_version_from_empty_secret].
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(CreateSecretInput::new(name("e1"))).unwrap();
    assert_eq!(put(&s, "e1", "first", "v1", None), ["AWSCURRENT"]);
    assert_eq!(current(&s, "e1"), "first");

    s.create_secret(CreateSecretInput::new(name("e2"))).unwrap();
    assert_eq!(
        put(&s, "e2", "first", "v1", Some(&["custom"])),
        ["AWSCURRENT", "custom"]
    );
    assert_eq!(current(&s, "e2"), "first");
    assert_eq!(
        stages(&s, "e2"),
        [(token("v1"), set(&["AWSCURRENT", "custom"]))].into()
    );
    // The second one no longer gets AWSCURRENT for free.
    assert_eq!(put(&s, "e2", "second", "v2", Some(&["custom"])), ["custom"]);
    assert_eq!(current(&s, "e2"), "first");
    assert_eq!(
        stages(&s, "e2"),
        [
            (token("v1"), set(&["AWSCURRENT"])),
            (token("v2"), set(&["custom"]))
        ]
        .into()
    );
}

#[test]
fn each_label_moves_off_its_old_holder() {
    // WRITE-4 [recorded non_versioning_version_stages_no_replacement]:
    // v2{one,two,three} + put v3{one,two,four} => v2{three}, v3{four,one,two}.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "S0");
    assert_eq!(
        put(&s, "p", "S1", "v2", Some(&["one", "two", "three"])),
        ["one", "three", "two"]
    );
    assert_eq!(
        put(&s, "p", "S2", "v3", Some(&["one", "two", "four"])),
        ["four", "one", "two"]
    );
    assert_eq!(
        stages(&s, "p"),
        [
            (v1.clone(), set(&["AWSCURRENT"])),
            (token("v2"), set(&["three"])),
            (token("v3"), set(&["four", "one", "two"])),
        ]
        .into()
    );
    // And with replacement [recorded ..._replacement]: v2 loses all of its labels.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "S0");
    put(&s, "p", "S1", "v2", Some(&["one", "two", "three"]));
    put(&s, "p", "S2", "v3", Some(&["one", "two", "three", "four"]));
    assert_eq!(
        stages(&s, "p"),
        [
            (v1, set(&["AWSCURRENT"])),
            (token("v3"), set(&["four", "one", "three", "two"]))
        ]
        .into()
    );
    let listed: Vec<VersionId> = list_versions(&s, "p", false)
        .into_iter()
        .map(|v| v.version_id)
        .collect();
    assert!(!listed.contains(&token("v2")));
}

#[test]
fn a_default_put_drops_awspending_from_the_demoted_version() {
    // WRITE-8 [recorded update_secret_version_stages_current_pending]:
    // v1{AWSPREVIOUS}, v2{AWSCURRENT,AWSPENDING}; put => v3{AWSCURRENT}, v2{AWSPREVIOUS}, v1 deprecated.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "Something1");
    assert_eq!(
        put(&s, "p", "Something2", "v2", Some(&["AWSPENDING"])),
        ["AWSPENDING"]
    );
    s.update_secret_version_stage(
        UpdateSecretVersionStageInput::new(id("p"), StagingLabel::CURRENT)
            .move_to(token("v2"))
            .remove_from(v1.clone()),
    )
    .unwrap();
    assert_eq!(
        stages(&s, "p"),
        [
            (v1.clone(), set(&["AWSPREVIOUS"])),
            (token("v2"), set(&["AWSCURRENT", "AWSPENDING"]))
        ]
        .into()
    );
    assert_eq!(put(&s, "p", "SS3", "v3", None), ["AWSCURRENT"]);
    assert_eq!(
        stages(&s, "p"),
        [
            (token("v2"), set(&["AWSPREVIOUS"])),
            (token("v3"), set(&["AWSCURRENT"]))
        ]
        .into()
    );
    let e = err(
        s.get_secret_value(GetSecretValueInput::new(id("p")).version_stage(StagingLabel::PENDING))
    );
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    assert_eq!(
        e.to_string(),
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING"
    );
}

#[test]
fn a_pending_put_after_rotation_keeps_the_current_versions_other_labels() {
    // Recorded in ..._custom_stages_1: AWSPENDING moves off v2, AWSSOMETHING and PUT1 stay.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "S1");
    put(
        &s,
        "p",
        "S2",
        "v2",
        Some(&["AWSSOMETHING", "AWSPENDING", "PUT1"]),
    );
    assert_eq!(current(&s, "p"), "S1");
    s.update_secret_version_stage(
        UpdateSecretVersionStageInput::new(id("p"), StagingLabel::CURRENT)
            .move_to(token("v2"))
            .remove_from(v1.clone()),
    )
    .unwrap();
    assert_eq!(
        put(&s, "p", "S3", "v3", Some(&["AWSPENDING", "PUT2"])),
        ["AWSPENDING", "PUT2"]
    );
    assert_eq!(
        stages(&s, "p"),
        [
            (v1, set(&["AWSPREVIOUS"])),
            (token("v2"), set(&["AWSCURRENT", "AWSSOMETHING", "PUT1"])),
            (token("v3"), set(&["AWSPENDING", "PUT2"])),
        ]
        .into()
    );
    assert_eq!(current(&s, "p"), "S2");
}

#[test]
fn the_same_value_with_a_new_token_is_a_new_version() {
    // WRITE-9: no dedup by value.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "p", "same");
    put(&s, "p", "same", "v2", None);
    assert_eq!(
        stages(&s, "p"),
        [
            (v1, set(&["AWSPREVIOUS"])),
            (token("v2"), set(&["AWSCURRENT"]))
        ]
        .into()
    );
}

#[test]
fn more_than_twenty_stages_in_one_call_is_a_validation_error() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "p", "v");
    let before = snapshot(&s, "p");
    let many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
    let e = err(s.put_secret_value(
        PutSecretValueInput::new(id("p"), text("new"))
            .client_request_token(token("v2"))
            .version_stages(many.iter().map(|l| label(l))),
    ));
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(
        e.to_string().starts_with("1 validation error detected: ")
            && e.to_string().contains("'VersionStages'")
            && e.to_string()
                .ends_with("Member must have length less than or equal to 20"),
        "{e}"
    );
    // An empty list is refused too.
    let e = err(s.put_secret_value(
        PutSecretValueInput::new(id("p"), text("new"))
            .client_request_token(token("v2"))
            .version_stages([]),
    ));
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(snapshot(&s, "p"), before);
}

#[test]
fn twenty_labels_on_a_secret_are_fine() {
    let t = TestStore::new();
    let s = t.s();
    s.create_secret(CreateSecretInput::new(name("p"))).unwrap();
    let mut twenty: Vec<String> = (0..19).map(|i| format!("l{i}")).collect();
    twenty.push("AWSCURRENT".to_owned());
    let refs: Vec<&str> = twenty.iter().map(String::as_str).collect();
    assert_eq!(put(&s, "p", "v", "v1", Some(&refs)).len(), 20);
    assert_eq!(stages(&s, "p")[&token("v1")].len(), 20);
}

#[test]
fn more_than_twenty_distinct_labels_on_a_secret_is_limit_exceeded() {
    // VER-2: 20 distinct labels across all versions.
    let t = TestStore::new();
    let s = t.s();
    create(&s, "p", "v1");
    let nineteen: Vec<String> = (0..19).map(|i| format!("l{i}")).collect();
    let refs: Vec<&str> = nineteen.iter().map(String::as_str).collect();
    put(&s, "p", "v2", "v2", Some(&refs)); // AWSCURRENT + 19 = 20 distinct
    let before = snapshot(&s, "p");
    for stages in [vec!["extra"], vec!["AWSCURRENT"], vec!["l0", "extra"]] {
        // "AWSCURRENT" moves it and brings AWSPREVIOUS: 21 as well.
        let e = err(s.put_secret_value(
            PutSecretValueInput::new(id("p"), text("v3"))
                .client_request_token(token("v3"))
                .version_stages(stages.iter().map(|l| label(l))),
        ));
        assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{stages:?}");
        assert_eq!(e.aws_code(), "LimitExceededException");
    }
    assert_eq!(snapshot(&s, "p"), before);
    let e = err(s.get_secret_value(GetSecretValueInput::new(id("p")).version_id(token("v3"))));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    // Reusing labels that already exist stays within the limit.
    put(&s, "p", "v3", "v3", Some(&["l0", "l1"]));
    assert_eq!(stages(&s, "p")[&token("v3")], set(&["l0", "l1"]));
}

#[test]
fn binary_values_round_trip() {
    let t = TestStore::new();
    let s = t.s();
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0xff, 0xfe, 0xfd]).collect();
    s.create_secret(
        CreateSecretInput::new(name("bin")).value(SecretValue::binary(bytes.clone()).unwrap()),
    )
    .unwrap();
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("bin")))
        .unwrap();
    assert!(got.value.is_binary());
    assert_eq!(got.value.expose_str(), None);
    assert_eq!(got.value.expose_bytes(), bytes);

    // Binary and text versions alternate freely; each keeps its kind.
    s.put_secret_value(
        PutSecretValueInput::new(id("bin"), text("now text")).client_request_token(token("t")),
    )
    .unwrap();
    s.put_secret_value(
        PutSecretValueInput::new(id("bin"), SecretValue::binary(vec![1, 2, 3]).unwrap())
            .client_request_token(token("b")),
    )
    .unwrap();
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("bin")))
        .unwrap();
    assert!(got.value.is_binary());
    assert_eq!(got.value.expose_bytes(), [1, 2, 3]);
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("bin")).version_stage(StagingLabel::PREVIOUS))
        .unwrap();
    assert!(!got.value.is_binary());
    assert_eq!(got.value.expose_str(), Some("now text"));
    // Text bytes that happen to equal a binary value are still a different value.
    let e = err(s.put_secret_value(
        PutSecretValueInput::new(id("bin"), SecretValue::string("\u{1}\u{2}\u{3}").unwrap())
            .client_request_token(token("b")),
    ));
    assert_eq!(e.kind(), ErrorKind::ResourceExists);
}

#[test]
fn values_up_to_65536_bytes_are_accepted() {
    let mut t = TestStore::new();
    create(&t.s(), "big", "small");
    let text_max = "x".repeat(MAX_SECRET_BYTES);
    let multibyte_max = "é".repeat(MAX_SECRET_BYTES / 2); // 2 bytes each
    let binary_max = vec![0xa5u8; MAX_SECRET_BYTES];
    assert_eq!(MAX_SECRET_BYTES, 65_536);
    let s = t.s();
    for (tok, v) in [
        ("text", SecretValue::string(text_max.clone()).unwrap()),
        ("multi", SecretValue::string(multibyte_max.clone()).unwrap()),
        ("bin", SecretValue::binary(binary_max.clone()).unwrap()),
    ] {
        s.put_secret_value(PutSecretValueInput::new(id("big"), v).client_request_token(token(tok)))
            .unwrap();
    }
    drop(s); // a session holds the store open
    t.reopen();
    let s = t.s();
    let read = |tok: &str| {
        s.get_secret_value(GetSecretValueInput::new(id("big")).version_id(token(tok)))
            .unwrap()
            .value
            .expose_bytes()
            .to_vec()
    };
    assert_eq!(read("text"), text_max.as_bytes());
    assert_eq!(read("multi"), multibyte_max.as_bytes());
    assert_eq!(read("bin"), binary_max);
}

#[test]
fn values_over_65536_bytes_or_empty_are_refused_without_echoing_them() {
    for (e, member) in [
        (
            err(SecretValue::string("y".repeat(MAX_SECRET_BYTES + 1))),
            "SecretString",
        ),
        (
            err(SecretValue::string(format!(
                "{}a",
                "é".repeat(MAX_SECRET_BYTES / 2)
            ))),
            "SecretString",
        ),
        (
            err(SecretValue::binary(vec![0x79; MAX_SECRET_BYTES + 1])),
            "SecretBinary",
        ),
    ] {
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert_eq!(
            e.to_string(),
            format!(
                "1 validation error detected: Value '***' at '{member}' failed to satisfy constraint: Member must have length less than or equal to 65536"
            )
        );
    }
    for e in [
        err(SecretValue::string("")),
        err(SecretValue::binary(Vec::new())),
    ] {
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert!(
            e.to_string()
                .ends_with("Member must have length greater than or equal to 1"),
            "{e}"
        );
    }
}

#[test]
fn putting_to_a_missing_or_deleted_secret_fails_and_changes_nothing() {
    let t = TestStore::new();
    let s = t.s();
    let e = err(s.put_secret_value(PutSecretValueInput::new(id("nope"), text("v"))));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    assert_eq!(
        e.to_string(),
        "Secrets Manager can't find the specified secret."
    );
    assert_eq!(
        kind(s.describe_secret(&id("nope"))),
        ErrorKind::ResourceNotFound
    );

    create(&s, "gone", "v");
    s.delete_secret(DeleteSecretInput::new(id("gone"))).unwrap();
    let before = s.describe_secret(&id("gone")).unwrap();
    let e = err(s.put_secret_value(
        PutSecretValueInput::new(id("gone"), text("w")).client_request_token(token("w")),
    ));
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        e.to_string(),
        "You can't perform this operation on the secret because it was marked for deletion."
    );
    assert_eq!(s.describe_secret(&id("gone")).unwrap(), before);
    s.restore_secret(&id("gone")).unwrap();
    assert_eq!(current(&s, "gone"), "v");
    assert_eq!(all_versions(&s, "gone").len(), 1);
}

#[test]
fn a_put_advances_last_changed_date() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "p", "v");
    let created = s.describe_secret(&id("p")).unwrap();
    t.advance(std::time::Duration::from_secs(90));
    put(&s, "p", "w", "v2", None);
    let d = s.describe_secret(&id("p")).unwrap();
    assert_eq!(d.created_date, created.created_date);
    assert_eq!(
        d.last_changed_date,
        created.last_changed_date + std::time::Duration::from_secs(90)
    );
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("p")))
        .unwrap();
    assert_eq!(
        got.created_date, d.last_changed_date,
        "a version's CreatedDate is its own"
    );
}

/// AWS's order of `VersionStages` is not recorded (its recordings sort them), so Strongroom
/// follows moto, which users' test suites were written against: a version's labels in the order
/// they were attached, a label given twice once, and the `AWSCURRENT` a first value gets for
/// free after the labels asked for. `DescribeSecret` and `ListSecretVersionIds` show the same
/// order, after a reopen too.
#[test]
fn version_stages_keep_the_order_they_were_attached_in() {
    let mut t = TestStore::new();
    let s = t.s();
    let in_order = |stages: &[StagingLabel]| -> Vec<String> {
        stages.iter().map(|l| l.as_str().to_owned()).collect()
    };
    s.create_secret(CreateSecretInput::new(name("o"))).unwrap();
    let first = s
        .put_secret_value(
            PutSecretValueInput::new(id("o"), text("one"))
                .client_request_token(token("v1"))
                .version_stages([label("AWSPENDING")]),
        )
        .unwrap();
    assert_eq!(
        in_order(&first.version_stages),
        ["AWSPENDING", "AWSCURRENT"]
    );
    let second = s
        .put_secret_value(
            PutSecretValueInput::new(id("o"), text("two"))
                .client_request_token(token("v2"))
                .version_stages(["SAMPLESTAGE1", "SAMPLESTAGE0", "SAMPLESTAGE1"].map(label)),
        )
        .unwrap();
    assert_eq!(
        in_order(&second.version_stages),
        ["SAMPLESTAGE1", "SAMPLESTAGE0"]
    );
    // Moving AWSCURRENT to v2 appends it, and AWSPREVIOUS after v1's remaining label.
    s.update_secret_version_stage(
        UpdateSecretVersionStageInput::new(id("o"), label("AWSCURRENT"))
            .move_to(token("v2"))
            .remove_from(token("v1")),
    )
    .unwrap();
    let expected = [
        (token("v1"), vec!["AWSPENDING", "AWSPREVIOUS"]),
        (
            token("v2"),
            vec!["SAMPLESTAGE1", "SAMPLESTAGE0", "AWSCURRENT"],
        ),
    ];
    let check = |s: &Session| {
        let described = s
            .describe_secret(&id("o"))
            .unwrap()
            .version_ids_to_stages
            .unwrap();
        for (v, labels) in &expected {
            assert_eq!(&in_order(&described[v]), labels);
        }
        let listed = list_versions(s, "o", false);
        assert_eq!(listed.len(), 2);
        for entry in &listed {
            let (_, labels) = expected
                .iter()
                .find(|(v, _)| *v == entry.version_id)
                .unwrap();
            assert_eq!(&in_order(entry.version_stages.as_ref().unwrap()), labels);
        }
    };
    check(&s);
    drop(s);
    t.reopen();
    check(&t.s());
}
