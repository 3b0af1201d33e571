//! UpdateSecretVersionStage (rules STAGE-1 to STAGE-8, VER-1, VER-2).
// Helpers below are test code too; clippy's allow-*-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

use std::time::Duration;

use strongroom::{
    Clock, DeleteSecretInput, ErrorKind, GetSecretValueInput, PutSecretValueInput, Session,
    StagingLabel, UpdateSecretVersionStageInput, VersionId,
};

fn put(s: &Session, n: &str, v: &str, tok: &str, stages: &[&str]) -> VersionId {
    let mut input = PutSecretValueInput::new(id(n), text(v)).client_request_token(token(tok));
    if !stages.is_empty() {
        input = input.version_stages(stages.iter().map(|l| label(l)));
    }
    s.put_secret_value(input).unwrap().version_id
}

fn stage(n: &str, l: &str) -> UpdateSecretVersionStageInput {
    UpdateSecretVersionStageInput::new(id(n), label(l))
}

/// The version and value that `l` points at.
fn read(s: &Session, n: &str, l: &str) -> (VersionId, String) {
    let got = s
        .get_secret_value(GetSecretValueInput::new(id(n)).version_stage(label(l)))
        .unwrap();
    (got.version_id, got.value.expose_str().unwrap().to_owned())
}

#[test]
fn moving_awscurrent_with_remove_from_puts_awsprevious_on_the_old_version() {
    // STAGE-5 [recorded current_pending_cycle_custom_stages_3].
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "SS");
    let v2 = put(&s, "s", "S1", "v2", &["PENDING"]);
    let out = s
        .update_secret_version_stage(
            stage("s", "AWSCURRENT")
                .move_to(v2.clone())
                .remove_from(v1.clone()),
        )
        .unwrap();
    assert_eq!(out.name, name("s"));
    assert_eq!(out.arn, s.describe_secret(&id("s")).unwrap().arn);
    assert_eq!(
        stages(&s, "s"),
        [
            (v1.clone(), set(&["AWSPREVIOUS"])),
            (v2.clone(), set(&["AWSCURRENT", "PENDING"]))
        ]
        .into()
    );
    assert_eq!(current(&s, "s"), "S1");
    // STAGE-3: RemoveFrom alone drops a custom label.
    s.update_secret_version_stage(stage("s", "PENDING").remove_from(v2.clone()))
        .unwrap();
    assert_eq!(
        stages(&s, "s"),
        [(v1, set(&["AWSPREVIOUS"])), (v2, set(&["AWSCURRENT"]))].into()
    );
}

#[test]
fn awsprevious_leaves_its_old_holder_and_other_labels_stay() {
    // STAGE-5/STAGE-6 [recorded current_pending_cycle_custom_stages_2], replayed step by step.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "SS");
    let v2 = put(&s, "s", "S1", "v2", &["AWSCURRENT", "PUT0"]);
    let v3 = put(&s, "s", "S2", "v3", &["AWSPENDING", "PUT1"]);
    assert_eq!(current(&s, "s"), "S1");
    s.update_secret_version_stage(
        stage("s", "AWSCURRENT")
            .move_to(v3.clone())
            .remove_from(v2.clone()),
    )
    .unwrap();
    assert_eq!(
        stages(&s, "s"),
        [
            (v2.clone(), set(&["AWSPREVIOUS", "PUT0"])),
            (v3.clone(), set(&["AWSCURRENT", "AWSPENDING", "PUT1"])),
        ]
        .into(),
        "v1 lost AWSPREVIOUS and is deprecated"
    );
    assert_eq!(read(&s, "s", "AWSCURRENT"), (v3.clone(), "S2".to_owned()));
    let v4 = put(&s, "s", "S3", "v4", &["AWSPENDING", "PUT2"]);
    assert_eq!(
        stages(&s, "s"),
        [
            (v2.clone(), set(&["AWSPREVIOUS", "PUT0"])),
            (v3.clone(), set(&["AWSCURRENT", "PUT1"])),
            (v4.clone(), set(&["AWSPENDING", "PUT2"])),
        ]
        .into()
    );
    s.update_secret_version_stage(
        stage("s", "AWSCURRENT")
            .move_to(v4.clone())
            .remove_from(v3.clone()),
    )
    .unwrap();
    assert_eq!(
        stages(&s, "s"),
        [
            (v2, set(&["PUT0"])),
            (v3, set(&["AWSPREVIOUS", "PUT1"])),
            (v4.clone(), set(&["AWSCURRENT", "AWSPENDING", "PUT2"])),
        ]
        .into()
    );
    assert_eq!(read(&s, "s", "AWSCURRENT"), (v4, "S3".to_owned()));
    // v1 is deprecated, not gone.
    let listed: Vec<VersionId> = all_versions(&s, "s")
        .into_iter()
        .map(|v| v.version_id)
        .collect();
    assert!(listed.contains(&v1));
}

#[test]
fn rolling_back_to_awsprevious_swaps_the_two_labels() {
    // STAGE-5: AWSPREVIOUS is taken off the target as well, and lands on the old AWSCURRENT.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "good");
    let v2 = put(&s, "s", "bad", "v2", &[]);
    s.update_secret_version_stage(
        stage("s", "AWSCURRENT")
            .move_to(v1.clone())
            .remove_from(v2.clone()),
    )
    .unwrap();
    assert_eq!(
        stages(&s, "s"),
        [(v1, set(&["AWSCURRENT"])), (v2, set(&["AWSPREVIOUS"]))].into()
    );
    assert_eq!(current(&s, "s"), "good");
}

#[test]
fn the_current_pending_cycle_keeps_awspending_next_to_awscurrent() {
    // STAGE-6 [recorded current_pending_cycle]: two full cycles.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "S1");
    let v2 = put(&s, "s", "S2", "v2", &["AWSPENDING"]);
    assert_eq!(current(&s, "s"), "S1");
    s.update_secret_version_stage(
        stage("s", "AWSCURRENT")
            .move_to(v2.clone())
            .remove_from(v1.clone()),
    )
    .unwrap();
    assert_eq!(
        stages(&s, "s"),
        [
            (v1.clone(), set(&["AWSPREVIOUS"])),
            (v2.clone(), set(&["AWSCURRENT", "AWSPENDING"]))
        ]
        .into()
    );
    let got = s
        .get_secret_value(GetSecretValueInput::new(id("s")))
        .unwrap();
    assert_eq!(got.value.expose_str(), Some("S2"));
    let mut labels: Vec<&str> = got
        .version_stages
        .iter()
        .map(StagingLabel::as_str)
        .collect();
    labels.sort_unstable();
    assert_eq!(labels, ["AWSCURRENT", "AWSPENDING"]);

    // A new pending version takes AWSPENDING off the current one.
    let v3 = put(&s, "s", "S3", "v3", &["AWSPENDING"]);
    assert_eq!(
        stages(&s, "s"),
        [
            (v1, set(&["AWSPREVIOUS"])),
            (v2.clone(), set(&["AWSCURRENT"])),
            (v3.clone(), set(&["AWSPENDING"])),
        ]
        .into()
    );
    assert_eq!(current(&s, "s"), "S2");
    s.update_secret_version_stage(
        stage("s", "AWSCURRENT")
            .move_to(v3.clone())
            .remove_from(v2.clone()),
    )
    .unwrap();
    assert_eq!(
        stages(&s, "s"),
        [
            (v2, set(&["AWSPREVIOUS"])),
            (v3, set(&["AWSCURRENT", "AWSPENDING"]))
        ]
        .into()
    );
    assert_eq!(current(&s, "s"), "S3");
}

#[test]
fn moving_a_held_label_without_remove_from_gives_the_exact_message() {
    // STAGE-2 [recorded by an AWS-validated test].
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "a");
    let v2 = put(&s, "s", "b", "v2", &["custom"]);
    let v3 = put(&s, "s", "c", "v3", &["other"]);
    let before = snapshot(&s, "s");
    let e = err(s.update_secret_version_stage(stage("s", "AWSCURRENT").move_to(v2.clone())));
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    assert_eq!(e.aws_code(), "InvalidParameterException");
    assert_eq!(
        e.to_string(),
        format!(
            "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version {v1}, so you must explicitly reference that version in RemoveFromVersionId."
        )
    );
    // The same rule for a custom label.
    let e = err(s.update_secret_version_stage(stage("s", "custom").move_to(v3.clone())));
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    assert_eq!(
        e.to_string(),
        format!(
            "The parameter RemoveFromVersionId can't be empty. Staging label custom is currently attached to version {v2}, so you must explicitly reference that version in RemoveFromVersionId."
        )
    );
    // STAGE-3: RemoveFrom naming a version that does not hold the label.
    for input in [
        stage("s", "AWSCURRENT")
            .move_to(v2.clone())
            .remove_from(v3.clone()),
        stage("s", "AWSCURRENT")
            .move_to(v2.clone())
            .remove_from(v2.clone()),
        stage("s", "custom").remove_from(v3.clone()),
        stage("s", "nobody-has-this").remove_from(v1.clone()),
        stage("s", "nobody-has-this")
            .move_to(v1.clone())
            .remove_from(v1.clone()),
    ] {
        let e = err(s.update_secret_version_stage(input));
        assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    }
    assert_eq!(snapshot(&s, "s"), before);
}

#[test]
fn unknown_version_ids_are_invalid_parameters() {
    // STAGE-4: "Not a valid version: {id}".
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "a");
    let ghost = token("ghost");
    let before = snapshot(&s, "s");
    for input in [
        stage("s", "custom").move_to(ghost.clone()),
        stage("s", "AWSCURRENT")
            .move_to(ghost.clone())
            .remove_from(v1.clone()),
        stage("s", "custom").remove_from(ghost.clone()),
        stage("s", "AWSCURRENT")
            .move_to(v1.clone())
            .remove_from(ghost.clone()),
    ] {
        let e = err(s.update_secret_version_stage(input));
        assert_eq!(e.kind(), ErrorKind::InvalidParameter);
        assert_eq!(e.to_string(), format!("Not a valid version: {ghost}"));
    }
    assert_eq!(snapshot(&s, "s"), before);
}

#[test]
fn awscurrent_cannot_be_removed_without_moving_it() {
    // STAGE-8: IPE, which keeps VER-7.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "a");
    let before = snapshot(&s, "s");
    let e = err(s.update_secret_version_stage(stage("s", "AWSCURRENT").remove_from(v1.clone())));
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    // Neither MoveTo nor RemoveFrom is no request at all.
    let e = err(s.update_secret_version_stage(stage("s", "AWSCURRENT")));
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    assert_eq!(snapshot(&s, "s"), before);
    assert_eq!(current(&s, "s"), "a");
}

#[test]
fn labels_are_added_to_the_target_and_are_case_sensitive() {
    // STAGE-1: MoveTo's own labels stay; VER-1: a label lives on one version at a time.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "a");
    let v2 = put(&s, "s", "b", "v2", &["blue"]);
    s.update_secret_version_stage(stage("s", "green").move_to(v1.clone()))
        .unwrap();
    assert_eq!(stages(&s, "s")[&v1], set(&["AWSCURRENT", "green"]));
    // "awscurrent" is not AWSCURRENT.
    s.update_secret_version_stage(stage("s", "awscurrent").move_to(v2.clone()))
        .unwrap();
    assert_eq!(stages(&s, "s")[&v2], set(&["awscurrent", "blue"]));
    assert_eq!(current(&s, "s"), "a");
    // Moving green to v2 takes it off v1 and adds it next to v2's labels.
    s.update_secret_version_stage(
        stage("s", "green")
            .move_to(v2.clone())
            .remove_from(v1.clone()),
    )
    .unwrap();
    assert_eq!(
        stages(&s, "s"),
        [
            (v1.clone(), set(&["AWSCURRENT"])),
            (v2.clone(), set(&["awscurrent", "blue", "green"]))
        ]
        .into()
    );
    assert_eq!(read(&s, "s", "green"), (v2.clone(), "b".to_owned()));
    // Moving a label onto the version that already holds it is a no-op.
    let before = snapshot(&s, "s");
    s.update_secret_version_stage(stage("s", "green").move_to(v2.clone()))
        .unwrap();
    s.update_secret_version_stage(
        stage("s", "AWSCURRENT")
            .move_to(v1.clone())
            .remove_from(v1.clone()),
    )
    .unwrap();
    assert_eq!(snapshot(&s, "s"), before);
}

#[test]
fn a_version_that_loses_its_last_label_is_deprecated() {
    // STAGE-7 / VER-3.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "a");
    let v2 = put(&s, "s", "b", "v2", &["only"]);
    s.update_secret_version_stage(stage("s", "only").remove_from(v2.clone()))
        .unwrap();
    assert_eq!(stages(&s, "s"), [(v1.clone(), set(&["AWSCURRENT"]))].into());
    let listed: Vec<VersionId> = list_versions(&s, "s", false)
        .into_iter()
        .map(|v| v.version_id)
        .collect();
    assert_eq!(listed, [v1]);
    let deprecated = all_versions(&s, "s");
    let entry = deprecated.iter().find(|v| v.version_id == v2).unwrap();
    assert_eq!(entry.version_stages, None);
    // Its value is still there, and a label can bring it back.
    s.update_secret_version_stage(stage("s", "revived").move_to(v2.clone()))
        .unwrap();
    assert_eq!(read(&s, "s", "revived"), (v2, "b".to_owned()));
}

#[test]
fn more_than_twenty_distinct_labels_is_limit_exceeded_and_changes_nothing() {
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "a");
    for i in 0..19 {
        s.update_secret_version_stage(stage("s", &format!("l{i}")).move_to(v1.clone()))
            .unwrap();
    }
    assert_eq!(stages(&s, "s")[&v1].len(), 20);
    let before = snapshot(&s, "s");
    let e = err(s.update_secret_version_stage(stage("s", "l19").move_to(v1.clone())));
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert_eq!(snapshot(&s, "s"), before);
    // Moving an existing label between versions stays within the limit.
    let v2 = put(&s, "s", "b", "v2", &["l0"]);
    s.update_secret_version_stage(stage("s", "l1").move_to(v2.clone()).remove_from(v1))
        .unwrap();
    assert_eq!(stages(&s, "s")[&v2], set(&["l0", "l1"]));
}

#[test]
fn a_label_move_advances_last_changed_date() {
    // DATE-1: a label move advances LastChangedDate.
    let t = TestStore::new();
    let s = t.s();
    let v1 = create(&s, "s", "a");
    t.advance(Duration::from_secs(42));
    s.update_secret_version_stage(stage("s", "x").move_to(v1))
        .unwrap();
    assert_eq!(
        s.describe_secret(&id("s")).unwrap().last_changed_date,
        t.clock.now()
    );
}

#[test]
fn missing_and_deleted_secrets_are_refused() {
    let t = TestStore::new();
    let s = t.s();
    let e = err(s.update_secret_version_stage(stage("nope", "x").move_to(token("v"))));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
    assert_eq!(
        e.to_string(),
        "Secrets Manager can't find the specified secret."
    );

    let v1 = create(&s, "gone", "a");
    s.delete_secret(DeleteSecretInput::new(id("gone"))).unwrap();
    let before = s.describe_secret(&id("gone")).unwrap();
    let e = err(s.update_secret_version_stage(stage("gone", "x").move_to(v1)));
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        e.to_string(),
        "You can't perform this operation on the secret because it was marked for deletion."
    );
    assert_eq!(s.describe_secret(&id("gone")).unwrap(), before);
}

#[test]
fn label_moves_are_durable() {
    let mut t = TestStore::new();
    let v1 = create(&t.s(), "s", "a");
    let v2 = put(&t.s(), "s", "b", "v2", &["AWSPENDING"]);
    t.s()
        .update_secret_version_stage(
            stage("s", "AWSCURRENT")
                .move_to(v2.clone())
                .remove_from(v1.clone()),
        )
        .unwrap();
    t.reopen();
    assert_eq!(
        stages(&t.s(), "s"),
        [
            (v1, set(&["AWSPREVIOUS"])),
            (v2, set(&["AWSCURRENT", "AWSPENDING"]))
        ]
        .into()
    );
    assert_eq!(current(&t.s(), "s"), "b");
}

#[test]
fn labels_are_1_to_256_characters() {
    assert!(StagingLabel::new("x".repeat(256)).is_ok());
    for bad in [String::new(), "x".repeat(257)] {
        let e = err(StagingLabel::new(bad));
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert!(e.to_string().contains("at 'VersionStage'"), "{e}");
    }
}
