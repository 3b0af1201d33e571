//! TagResource / UntagResource (TAG rules): append, overwrite, idempotent removal, limits.
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::*;
use strongroom::{CreateSecretInput, DeleteSecretInput, ErrorKind, Session, Tag, TagKey};

const PATTERN: &str =
    r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";
const RESERVED: &str = "Invalid tag key: the prefix aws: is reserved for AWS use.";

fn tag(k: &str, v: &str) -> Tag {
    Tag::new(k, v).unwrap()
}

fn key(k: &str) -> TagKey {
    TagKey::new(k).unwrap()
}

fn tags_of(s: &Session, n: &str) -> Option<Vec<(String, String)>> {
    s.describe_secret(&id(n)).unwrap().tags.map(|tags| {
        tags.iter()
            .map(|t| (t.key().as_str().to_owned(), t.value().to_owned()))
            .collect()
    })
}

fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn assert_err<T: std::fmt::Debug>(r: strongroom::Result<T>, kind: ErrorKind, message: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), message);
}

#[test]
fn tagging_appends_in_insertion_order_and_overwrites_existing_keys() {
    let mut t = TestStore::new();
    let s = t.s();
    s.create_secret(CreateSecretInput::new(name("app")).tag(tag("zeta", "1")))
        .unwrap();
    s.tag_resource(&id("app"), &[tag("alpha", "2"), tag("mid", "3")])
        .unwrap();
    assert_eq!(
        tags_of(&s, "app"),
        pairs(&[("zeta", "1"), ("alpha", "2"), ("mid", "3")])
    );
    // Overwriting keeps the key where it was.
    s.tag_resource(&id("app"), &[tag("zeta", "one"), tag("new", "")])
        .unwrap();
    assert_eq!(
        tags_of(&s, "app"),
        pairs(&[("zeta", "one"), ("alpha", "2"), ("mid", "3"), ("new", "")])
    );
    // Keys are case-sensitive.
    s.tag_resource(&id("app"), &[tag("Zeta", "other")]).unwrap();
    assert_eq!(tags_of(&s, "app").unwrap().len(), 5);
    // Tagging with nothing changes no tag.
    s.tag_resource(&id("app"), &[]).unwrap();
    assert_eq!(tags_of(&s, "app").unwrap().len(), 5);
    // Tags are kept across a reopen, in order.
    let before = tags_of(&s, "app");
    drop(s);
    t.reopen();
    assert_eq!(tags_of(&t.s(), "app"), before);
}

#[test]
fn untagging_removes_keys_and_ignores_absent_ones() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "v");
    s.tag_resource(&id("app"), &[tag("a", "1"), tag("b", "2"), tag("c", "3")])
        .unwrap();
    s.untag_resource(&id("app"), &[key("b"), key("absent"), key("A")])
        .unwrap();
    assert_eq!(tags_of(&s, "app"), pairs(&[("a", "1"), ("c", "3")]));
    // Removing again is fine.
    s.untag_resource(&id("app"), &[key("b")]).unwrap();
    s.untag_resource(&id("app"), &[]).unwrap();
    assert_eq!(tags_of(&s, "app"), pairs(&[("a", "1"), ("c", "3")]));
    // On a secret that was never tagged, too.
    create(&s, "plain", "v");
    s.untag_resource(&id("plain"), &[key("x")]).unwrap();
    // A removed key can be added again, at the end.
    s.tag_resource(&id("app"), &[tag("b", "again")]).unwrap();
    assert_eq!(
        tags_of(&s, "app"),
        pairs(&[("a", "1"), ("c", "3"), ("b", "again")])
    );
}

#[test]
fn at_most_50_tags_and_a_refused_tagging_changes_nothing() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "v");
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    s.tag_resource(&id("app"), &fifty[..49]).unwrap();
    s.tag_resource(&id("app"), &fifty[49..]).unwrap();
    let before = s.describe_secret(&id("app")).unwrap();
    assert_eq!(before.tags.as_ref().unwrap().len(), 50);
    t.advance(Duration::from_secs(60));

    assert_err(
        s.tag_resource(&id("app"), &[tag("k50", "v")]),
        ErrorKind::InvalidParameter,
        "A secret can have at most 50 tags; this request would give it 51.",
    );
    // A request that overwrites some keys and adds one too many is refused as a whole.
    assert_err(
        s.tag_resource(
            &id("app"),
            &[tag("k0", "changed"), tag("k50", "v"), tag("k51", "v")],
        ),
        ErrorKind::InvalidParameter,
        "A secret can have at most 50 tags; this request would give it 52.",
    );
    assert_eq!(s.describe_secret(&id("app")).unwrap(), before);

    // Overwriting at the limit is fine, as is making room first.
    s.tag_resource(&id("app"), &[tag("k0", "changed")]).unwrap();
    s.untag_resource(&id("app"), &[key("k1")]).unwrap();
    s.tag_resource(&id("app"), &[tag("k50", "v")]).unwrap();
    let tags = tags_of(&s, "app").unwrap();
    assert_eq!(tags.len(), 50);
    assert_eq!(tags[0], ("k0".to_owned(), "changed".to_owned()));
    assert_eq!(tags[49].0, "k50");

    // Creating with 51 tags is refused the same way, and creates nothing.
    let mut c = CreateSecretInput::new(name("many"));
    for i in 0..51 {
        c = c.tag(tag(&format!("k{i}"), "v"));
    }
    assert_err(
        s.create_secret(c),
        ErrorKind::InvalidParameter,
        "A secret can have at most 50 tags; this request would give it 51.",
    );
    assert_eq!(
        kind(s.describe_secret(&id("many"))),
        ErrorKind::ResourceNotFound
    );
}

#[test]
fn the_aws_prefix_is_reserved() {
    for k in ["aws:owner", "AWS:owner", "Aws:x", "aws:"] {
        assert_err(Tag::new(k, "v"), ErrorKind::InvalidParameter, RESERVED);
        assert_err(TagKey::new(k), ErrorKind::InvalidParameter, RESERVED);
    }
    // Only the prefix with its colon is reserved.
    for k in ["aws", "awsome", "my-aws:x", "aws-x"] {
        assert!(Tag::new(k, "v").is_ok(), "{k}");
    }
    // Values may start with aws:.
    assert!(Tag::new("k", "aws:fine").is_ok());
}

#[test]
fn keys_and_values_have_length_and_character_limits() {
    assert!(Tag::new("k".repeat(128), "v".repeat(256)).is_ok());
    assert!(Tag::new("k", "").is_ok());
    assert!(Tag::new("ünï cødé _.:/=+-@ 1", "välue _.:/=+-@ 2").is_ok());
    let shown = "k".repeat(64);
    assert_err(
        Tag::new("k".repeat(129), "v"),
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value '{shown}' at 'Tag.Key' failed to satisfy constraint: Member must have length less than or equal to 128"
        ),
    );
    assert_err(
        TagKey::new("k".repeat(129)),
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value '{shown}' at 'Tag.Key' failed to satisfy constraint: Member must have length less than or equal to 128"
        ),
    );
    let shown = "v".repeat(64);
    assert_err(
        Tag::new("k", "v".repeat(257)),
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value '{shown}' at 'Tag.Value' failed to satisfy constraint: Member must have length less than or equal to 256"
        ),
    );
    assert_err(
        Tag::new("", "v"),
        ErrorKind::Validation,
        "1 validation error detected: Value '' at 'Tag.Key' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert_err(
        Tag::new("a*b", "v"),
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value 'a*b' at 'Tag.Key' failed to satisfy constraint: {PATTERN}"
        ),
    );
    assert_err(
        Tag::new("k", "semi;colon"),
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value 'semi;colon' at 'Tag.Value' failed to satisfy constraint: {PATTERN}"
        ),
    );
}

#[test]
fn tag_changes_count_as_changes() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "app", "v");
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(START_SECS + secs);
    let changed = |s: &Session| s.describe_secret(&id("app")).unwrap().last_changed_date;
    t.advance(Duration::from_secs(10));
    s.tag_resource(&id("app"), &[tag("a", "1")]).unwrap();
    assert_eq!(changed(&s), at(10));
    t.advance(Duration::from_secs(10));
    s.untag_resource(&id("app"), &[key("a")]).unwrap();
    assert_eq!(changed(&s), at(20));
    // A refused tagging does not.
    t.advance(Duration::from_secs(10));
    let too_many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert!(s.tag_resource(&id("app"), &too_many).is_err());
    assert_eq!(changed(&s), at(20));
}

#[test]
fn tagging_needs_a_live_secret() {
    let t = TestStore::new();
    let s = t.s();
    for r in [
        s.tag_resource(&id("nope"), &[tag("a", "1")]),
        s.untag_resource(&id("nope"), &[key("a")]),
    ] {
        assert_err(
            r,
            ErrorKind::ResourceNotFound,
            "Secrets Manager can't find the specified secret.",
        );
    }
    s.create_secret(CreateSecretInput::new(name("app")).tag(tag("initial-tag", "initial-value")))
        .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("app"))).unwrap();
    let marked =
        "You can't perform this operation on the secret because it was marked for deletion.";
    assert_err(
        s.tag_resource(&id("app"), &[tag("new-tag", "new-value")]),
        ErrorKind::InvalidRequest,
        marked,
    );
    assert_err(
        s.untag_resource(&id("app"), &[key("initial-tag")]),
        ErrorKind::InvalidRequest,
        marked,
    );
    assert_eq!(
        tags_of(&s, "app"),
        pairs(&[("initial-tag", "initial-value")])
    );
}
