//! How a `SecretId` finds a secret (rule ID-2): name, full ARN, partial ARN; regions and
//! accounts are separate namespaces.
// Helpers below are test code too; clippy's allow-*-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use common::*;

use strongroom::{
    CreateSecretInput, DeleteSecretInput, ErrorKind, GetSecretValueInput, PutSecretValueInput,
    Region, RequestContext, SecretId, Session, UpdateSecretInput,
};

const RNF: &str = "Secrets Manager can't find the specified secret.";

/// The full ARN of `n`.
fn arn_of(s: &Session, n: &str) -> String {
    s.describe_secret(&id(n)).unwrap().arn.as_str().to_owned()
}

/// The full ARN without its `-XXXXXX` suffix.
fn partial(arn: &str) -> String {
    arn[..arn.len() - 7].to_owned()
}

/// Asserts that `sid` names no secret, for reads and writes alike.
fn assert_not_found(s: &Session, sid: &str) {
    let sid = id(sid);
    let e = err(s.describe_secret(&sid));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "{sid}");
    assert_eq!(e.to_string(), RNF);
    let e = err(s.get_secret_value(GetSecretValueInput::new(sid.clone())));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "{sid}");
    assert_eq!(e.to_string(), RNF);
    let e = err(s.put_secret_value(PutSecretValueInput::new(sid.clone(), text("x"))));
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "{sid}");
    assert_eq!(e.to_string(), RNF);
}

#[test]
fn name_full_arn_and_partial_arn_find_the_same_secret() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "prod/db/password", "v1");
    let arn = arn_of(&s, "prod/db/password");
    assert_eq!(
        partial(&arn),
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db/password"
    );
    for sid in ["prod/db/password".to_owned(), arn.clone(), partial(&arn)] {
        let got = s
            .get_secret_value(GetSecretValueInput::new(id(&sid)))
            .unwrap();
        assert_eq!(got.arn.as_str(), arn, "{sid}");
        assert_eq!(got.name.as_str(), "prod/db/password");
        assert_eq!(s.describe_secret(&id(&sid)).unwrap().arn.as_str(), arn);
    }
    // Writes resolve the same way.
    s.put_secret_value(PutSecretValueInput::new(id(&arn), text("v2")))
        .unwrap();
    s.put_secret_value(PutSecretValueInput::new(id(&partial(&arn)), text("v3")))
        .unwrap();
    s.update_secret(UpdateSecretInput::new(id(&arn)).value(text("v4")))
        .unwrap();
    assert_eq!(current(&s, "prod/db/password"), "v4");
}

#[test]
fn an_arn_with_the_wrong_suffix_region_or_account_finds_nothing() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "v");
    let arn = arn_of(&s, "app");
    let suffix = &arn[arn.len() - 6..];
    let other_suffix = if suffix == "AAAAAA" {
        "BBBBBB"
    } else {
        "AAAAAA"
    };
    for sid in [
        format!("{}-{other_suffix}", partial(&arn)),
        arn.replace(":us-east-1:", ":eu-west-1:"),
        partial(&arn).replace(":us-east-1:", ":eu-west-1:"),
        arn.replace(":111111111111:", ":222222222222:"),
        partial(&arn).replace(":111111111111:", ":222222222222:"),
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:other".to_owned(),
        "other".to_owned(),
    ] {
        assert_not_found(&s, &sid);
    }
    // Nothing was created or changed by those attempts.
    assert_eq!(current(&s, "app"), "v");
    assert_eq!(all_versions(&s, "app").len(), 1);
}

#[test]
fn an_arn_of_another_service_or_shape_is_not_found() {
    for bad in [
        "arn:aws:s3:::bucket",
        "arn:aws:secretsmanager:us-east-1:111111111111:parameter:x",
        "arn:aws:secretsmanager:us-east-1",
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:",
    ] {
        let e = err(SecretId::new(bad));
        assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "{bad}");
        assert_eq!(e.to_string(), RNF);
    }
    // Length limits of SecretId (1..=2048).
    assert_eq!(kind(SecretId::new("")), ErrorKind::Validation);
    let long = format!(
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:{}",
        "a".repeat(2000)
    );
    assert_eq!(kind(SecretId::new(&long)), ErrorKind::Validation);
}

#[test]
fn a_name_ending_in_hyphen_and_six_characters_is_not_found_by_partial_arn() {
    // ID-3 [recorded]: the partial ARN reads as a full ARN of secret "Name" with suffix a1b2c3.
    let t = TestStore::new();
    let s = t.s();
    create(&s, "Name-a1b2c3", "v");
    let arn = arn_of(&s, "Name-a1b2c3");
    assert_not_found(&s, &partial(&arn));
    // The name and the full ARN still work.
    assert_eq!(current(&s, "Name-a1b2c3"), "v");
    let got = s
        .get_secret_value(GetSecretValueInput::new(id(&arn)))
        .unwrap();
    assert_eq!(got.name.as_str(), "Name-a1b2c3");
    assert_eq!(
        all_versions(&s, "Name-a1b2c3").len(),
        1,
        "the failed put changed nothing"
    );
}

#[test]
fn a_trailing_hyphen_keeps_the_partial_arn_usable() {
    // Recorded with "Valid/_+=.@-Name-a1b2c3-": name, full ARN and partial ARN all work.
    let t = TestStore::new();
    let s = t.s();
    for n in [
        "Valid-Name-a1b2c3-",
        "Valid/_+=.@-Name-a1b2c3-",
        "Valid/_+=.@-Name-a1b2",
    ] {
        create(&s, n, n);
        let arn = arn_of(&s, n);
        assert!(arn.starts_with(&format!(
            "arn:aws:secretsmanager:us-east-1:111111111111:secret:{n}-"
        )));
        for sid in [n.to_owned(), arn.clone(), partial(&arn)] {
            let got = s
                .get_secret_value(GetSecretValueInput::new(id(&sid)))
                .unwrap();
            assert_eq!(got.value.expose_str(), Some(n), "{sid}");
            assert_eq!(got.arn.as_str(), arn);
        }
    }
}

#[test]
fn a_secret_whose_name_looks_like_another_secrets_full_arn_is_kept_apart() {
    // "Name" and "Name-a1b2c3" are two secrets; the partial ARN of the second is read as a
    // full ARN of the first, and finds it only if the suffix happens to match (it does not here).
    let t = TestStore::new();
    let s = t.s();
    create(&s, "Name", "short");
    create(&s, "Name-a1b2c3", "long");
    let short_arn = arn_of(&s, "Name");
    let long_arn = arn_of(&s, "Name-a1b2c3");
    assert_eq!(current(&s, &short_arn), "short");
    assert_eq!(current(&s, &long_arn), "long");
    if !short_arn.ends_with("-a1b2c3") {
        assert_not_found(&s, &partial(&long_arn));
    }
}

#[test]
fn regions_are_separate_namespaces() {
    let t = TestStore::new();
    let us = t.s();
    let eu = t
        .store
        .session(RequestContext::system().with_region(Region::new("eu-west-1").unwrap()));
    let us_out = us
        .create_secret(CreateSecretInput::new(name("shared")).value(text("us value")))
        .unwrap();
    // Same name in another region: no conflict.
    let eu_out = eu
        .create_secret(CreateSecretInput::new(name("shared")).value(text("eu value")))
        .unwrap();
    assert!(
        us_out
            .arn
            .as_str()
            .starts_with("arn:aws:secretsmanager:us-east-1:111111111111:secret:shared-")
    );
    assert!(
        eu_out
            .arn
            .as_str()
            .starts_with("arn:aws:secretsmanager:eu-west-1:111111111111:secret:shared-")
    );
    assert_eq!(current(&us, "shared"), "us value");
    assert_eq!(current(&eu, "shared"), "eu value");

    // Each region's ARN works only in its own region.
    assert_eq!(current(&eu, eu_out.arn.as_str()), "eu value");
    assert_not_found(&us, eu_out.arn.as_str());
    assert_not_found(&eu, us_out.arn.as_str());
    assert_not_found(&us, &partial(eu_out.arn.as_str()));

    // A name only in eu is not visible from us.
    create(&eu, "eu-only", "v");
    assert_not_found(&us, "eu-only");

    // Deleting in one region leaves the other alone.
    us.delete_secret(DeleteSecretInput::new(id("shared")).force())
        .unwrap();
    assert_not_found(&us, "shared");
    assert_eq!(current(&eu, "shared"), "eu value");

    // A session with the default region explicitly named is the same namespace as the default.
    let us_named = t
        .store
        .session(RequestContext::system().with_region(Region::new("us-east-1").unwrap()));
    create(&us_named, "explicit", "v");
    assert_eq!(current(&us, "explicit"), "v");
}

#[test]
fn the_arn_partition_follows_the_region() {
    let t = TestStore::new();
    let cn = t
        .store
        .session(RequestContext::system().with_region(Region::new("cn-north-1").unwrap()));
    let out = cn
        .create_secret(CreateSecretInput::new(name("x")).value(text("v")))
        .unwrap();
    assert!(
        out.arn
            .as_str()
            .starts_with("arn:aws-cn:secretsmanager:cn-north-1:111111111111:secret:x-"),
        "{}",
        out.arn
    );
    assert_eq!(current(&cn, out.arn.as_str()), "v");
}

#[test]
fn resolution_survives_reopen() {
    let mut t = TestStore::new();
    create(&t.s(), "kept", "v");
    let arn = arn_of(&t.s(), "kept");
    t.reopen();
    let s = t.s();
    for sid in ["kept".to_owned(), arn.clone(), partial(&arn)] {
        assert_eq!(current(&s, &sid), "v");
    }
}

#[test]
fn the_partition_of_an_arn_must_match_the_region() {
    let t = TestStore::new();
    let s = t.s();
    let created = s
        .create_secret(CreateSecretInput::new(name("part")).value(text("v")))
        .unwrap();
    let arn = created.arn.as_str().to_owned();
    assert!(arn.starts_with("arn:aws:"));
    let other = arn.replacen("arn:aws:", "arn:aws-cn:", 1);
    assert_eq!(
        kind(s.describe_secret(&id(&other))),
        ErrorKind::ResourceNotFound
    );
    let partial = &other[..other.len() - 7];
    assert_eq!(
        kind(s.describe_secret(&id(partial))),
        ErrorKind::ResourceNotFound
    );
    // A forced delete of an ARN that names nothing echoes the ARN as given.
    let out = s
        .delete_secret(DeleteSecretInput::new(id(&other)).force())
        .unwrap();
    assert_eq!(out.arn, other);
    assert_eq!(current(&s, "part"), "v");
}

#[test]
fn a_partial_arn_with_an_invalid_name_finds_nothing() {
    let e =
        SecretId::new("arn:aws:secretsmanager:us-east-1:111111111111:secret:bad name").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceNotFound);
}
