//! BatchGetSecretValue reads AWSCURRENT of many secrets, by ids or by filters (BATCH rules).
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::collections::BTreeSet;

use common::*;
use strongroom::{
    BatchGetSecretValueInput, BatchGetSecretValueOutput, CreateSecretInput, DeleteSecretInput,
    ErrorKind, Filter, FilterKey, PutSecretValueInput, Session, StagingLabel,
};

/// BATCH-2: moto's text for a secret scheduled for deletion.
const MARKED: &str =
    "You tried to perform the operation on a secret that's currently marked deleted.";
const NEITHER_OR_BOTH: &str = "Either 'SecretIdList' or 'Filters' must be provided, but not both.";
const MAX_WITHOUT_FILTERS: &str =
    "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.";

fn name_filter(prefix: &str) -> Filter {
    Filter::new(FilterKey::Name, vec![prefix.to_owned()]).unwrap()
}

/// (name, value) of every value returned.
fn values(out: &BatchGetSecretValueOutput) -> Vec<(String, String)> {
    out.secret_values
        .iter()
        .map(|v| {
            (
                v.name.as_str().to_owned(),
                v.value.expose_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn assert_err<T: std::fmt::Debug>(r: strongroom::Result<T>, kind: ErrorKind, message: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), message);
}

#[test]
fn ids_give_values_and_per_secret_errors() {
    let t = TestStore::new();
    let s = t.s();
    let va = create(&s, "a", "alpha");
    create(&s, "b", "beta");
    create(&s, "gone", "gamma");
    s.create_secret(CreateSecretInput::new(name("empty")))
        .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("gone"))).unwrap();
    // "b" has a newer version that does not take AWSCURRENT: the batch still reads AWSCURRENT.
    s.put_secret_value(
        PutSecretValueInput::new(id("b"), text("beta-next"))
            .version_stages([StagingLabel::PENDING]),
    )
    .unwrap();
    let b_arn = s.describe_secret(&id("b")).unwrap().arn;

    let ids = ["a", "nope", "Inv Name", b_arn.as_str(), "gone", "empty"];
    let out = s
        .batch_get_secret_value(BatchGetSecretValueInput::for_ids(ids))
        .unwrap();
    assert_eq!(
        values(&out),
        vec![
            ("a".to_owned(), "alpha".to_owned()),
            ("b".to_owned(), "beta".to_owned())
        ]
    );
    let a = &out.secret_values[0];
    assert_eq!(a.version_id, va);
    assert_eq!(a.version_stages, vec![StagingLabel::CURRENT]);
    assert_eq!(out.secret_values[1].arn, b_arn);
    let errors: Vec<_> = out
        .errors
        .iter()
        .map(|e| (e.secret_id.as_str(), e.kind, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                "nope",
                ErrorKind::ResourceNotFound,
                "Secrets Manager can't find the specified secret."
            ),
            (
                "Inv Name",
                ErrorKind::Validation,
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
            ),
            ("gone", ErrorKind::InvalidRequest, MARKED),
            (
                "empty",
                ErrorKind::ResourceNotFound,
                "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
            ),
        ]
    );
    assert_eq!(out.errors[0].kind.aws_code(), "ResourceNotFoundException");
    assert_eq!(out.errors[2].kind.aws_code(), "InvalidRequestException");
    assert_eq!(out.next_token, None);
}

#[test]
fn a_batch_read_counts_as_an_access() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "a", "alpha");
    assert_eq!(
        s.describe_secret(&id("a")).unwrap().last_accessed_date,
        None
    );
    s.batch_get_secret_value(BatchGetSecretValueInput::for_ids(["a"]))
        .unwrap();
    assert!(
        s.describe_secret(&id("a"))
            .unwrap()
            .last_accessed_date
            .is_some()
    );
}

#[test]
fn the_id_list_holds_1_to_20_ids() {
    let t = TestStore::new();
    let s = t.s();
    for i in 0..21 {
        create(&s, &format!("s{i:02}"), &format!("v{i}"));
    }
    let twenty: Vec<String> = (0..20).map(|i| format!("s{i:02}")).collect();
    let out = s
        .batch_get_secret_value(BatchGetSecretValueInput::for_ids(twenty.clone()))
        .unwrap();
    assert_eq!(out.secret_values.len(), 20);
    assert!(out.errors.is_empty());

    let mut too_many = twenty;
    too_many.push("s20".to_owned());
    assert_err(
        s.batch_get_secret_value(BatchGetSecretValueInput::for_ids(too_many)),
        ErrorKind::Validation,
        "1 validation error detected: Value '[21 ids]' at 'SecretIdList' failed to satisfy constraint: Member must have length less than or equal to 20",
    );
    assert_err(
        s.batch_get_secret_value(BatchGetSecretValueInput::for_ids(Vec::<String>::new())),
        ErrorKind::Validation,
        "1 validation error detected: Value '[]' at 'SecretIdList' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    // A refused batch is not a read: s20 was only in the refused one.
    assert_eq!(
        s.describe_secret(&id("s20")).unwrap().last_accessed_date,
        None
    );
}

#[test]
fn exactly_one_of_ids_or_filters_and_max_results_only_with_filters() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "a", "alpha");
    assert_err(
        s.batch_get_secret_value(BatchGetSecretValueInput::default()),
        ErrorKind::InvalidParameter,
        NEITHER_OR_BOTH,
    );
    let mut both = BatchGetSecretValueInput::for_ids(["a"]);
    both.filters = Some(vec![name_filter("a")]);
    assert_err(
        s.batch_get_secret_value(both),
        ErrorKind::InvalidParameter,
        NEITHER_OR_BOTH,
    );
    let mut ids_with_max = BatchGetSecretValueInput::for_ids(["a"]);
    ids_with_max.max_results = Some(5);
    assert_err(
        s.batch_get_secret_value(ids_with_max),
        ErrorKind::InvalidParameter,
        MAX_WITHOUT_FILTERS,
    );
    let mut max_only = BatchGetSecretValueInput::default();
    max_only.max_results = Some(5);
    assert_err(
        s.batch_get_secret_value(max_only),
        ErrorKind::InvalidParameter,
        NEITHER_OR_BOTH,
    );
    // None of the refused calls read anything.
    assert_eq!(
        s.describe_secret(&id("a")).unwrap().last_accessed_date,
        None
    );
}

fn collect_pages(s: &Session, filters: Vec<Filter>, max: Option<u32>) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut next = None;
    loop {
        let mut input = BatchGetSecretValueInput::for_filters(filters.clone());
        input.max_results = max;
        input.next_token = next;
        let out = s.batch_get_secret_value(input).unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        pages.push(values(&out).into_iter().map(|(n, _)| n).collect());
        next = out.next_token;
        if next.is_none() {
            return pages;
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

#[test]
fn filters_page_through_every_match_once() {
    let t = TestStore::new();
    let s = t.s();
    let expected: BTreeSet<String> = (0..7).map(|i| format!("app/{i}")).collect();
    for n in &expected {
        create(&s, n, &format!("value of {n}"));
        t.advance(std::time::Duration::from_secs(1));
    }
    create(&s, "other/x", "x");
    create(&s, "app-not-slash", "y");
    create(&s, "app/scheduled", "z");
    s.delete_secret(DeleteSecretInput::new(id("app/scheduled")))
        .unwrap();

    for max in [1u32, 2, 3, 6, 7, 20] {
        let pages = collect_pages(&s, vec![name_filter("app/")], Some(max));
        let per_page = usize::try_from(max).unwrap();
        for page in &pages[..pages.len() - 1] {
            assert_eq!(page.len(), per_page, "max {max}: {pages:?}");
        }
        assert!(pages.last().unwrap().len() <= per_page);
        let all: Vec<String> = pages.concat();
        let unique: BTreeSet<String> = all.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "duplicates with max {max}: {all:?}"
        );
        assert_eq!(unique, expected, "max {max}");
    }
    // Default page size (20) returns all seven at once.
    assert_eq!(collect_pages(&s, vec![name_filter("app/")], None).len(), 1);
    // Each value is the secret's own AWSCURRENT value.
    let out = s
        .batch_get_secret_value(BatchGetSecretValueInput::for_filters(vec![name_filter(
            "app/3",
        )]))
        .unwrap();
    assert_eq!(
        values(&out),
        vec![("app/3".to_owned(), "value of app/3".to_owned())]
    );
    // Filters that match nothing give an empty, final page.
    let out = s
        .batch_get_secret_value(BatchGetSecretValueInput::for_filters(vec![name_filter(
            "zzz",
        )]))
        .unwrap();
    assert!(out.secret_values.is_empty() && out.errors.is_empty());
    assert_eq!(out.next_token, None);
}

#[test]
fn filter_page_size_is_1_to_20_and_tokens_are_checked() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "a", "alpha");
    for (max, constraint) in [
        (0, "Member must have value greater than or equal to 1"),
        (21, "Member must have value less than or equal to 20"),
    ] {
        let mut input = BatchGetSecretValueInput::for_filters(vec![name_filter("a")]);
        input.max_results = Some(max);
        assert_err(
            s.batch_get_secret_value(input),
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{max}' at 'MaxResults' failed to satisfy constraint: {constraint}"
            ),
        );
    }
    let mut input = BatchGetSecretValueInput::for_filters(vec![name_filter("a")]);
    input.next_token = Some("not-a-token".to_owned());
    assert_err(
        s.batch_get_secret_value(input),
        ErrorKind::InvalidNextToken,
        "The NextToken value is not valid.",
    );
    assert_eq!(
        s.describe_secret(&id("a")).unwrap().last_accessed_date,
        None
    );
}
