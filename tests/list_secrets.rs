//! ListSecrets: filters, sorting, pagination, scheduled deletions and regions (LIST rules, DEL-5).
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use strongroom::{
    CreateSecretInput, DeleteSecretInput, Description, ErrorKind, Filter, FilterKey,
    GetSecretValueInput, ListSecretVersionIdsInput, ListSecretsInput, PutSecretValueInput, Region,
    RequestContext, SecretId, Session, SortBy, SortOrder, Tag,
};

const BAD_TOKEN: &str = "The NextToken value is not valid.";

fn assert_err<T: std::fmt::Debug>(r: strongroom::Result<T>, kind: ErrorKind, message: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), message);
}

fn filter(key: FilterKey, values: &[&str]) -> Filter {
    Filter::new(key, values.iter().map(|v| (*v).to_owned()).collect()).unwrap()
}

fn input(filters: Vec<Filter>) -> ListSecretsInput {
    let mut i = ListSecretsInput::default();
    i.filters = filters;
    i
}

/// Every name listed for `base`, following NextToken; also checks the page-size bound and
/// that no secret shows up twice.
fn all_names(s: &Session, base: &ListSecretsInput) -> Vec<String> {
    let mut names = Vec::new();
    let mut next = None;
    let mut pages = 0;
    loop {
        let mut i = base.clone();
        i.next_token = next;
        let out = s.list_secrets(i).unwrap();
        let max = usize::try_from(base.max_results.unwrap_or(100)).unwrap();
        assert!(out.secrets.len() <= max);
        names.extend(out.secrets.iter().map(|d| d.name.as_str().to_owned()));
        next = out.next_token;
        pages += 1;
        assert!(pages <= 1_000, "pagination does not end");
        if next.is_none() {
            break;
        }
    }
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "duplicates: {names:?}");
    names
}

fn matching(s: &Session, filters: Vec<Filter>) -> BTreeSet<String> {
    all_names(s, &input(filters)).into_iter().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

const PROD_DB: &str = "prod/db/password";
const PROD_API: &str = "prod/api/key";
const DEV_DB: &str = "dev/db/password";
const DEV_CACHE: &str = "Dev/cache";

/// Name, description and tags of one fixture secret.
type Spec<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);

/// Four secrets created a minute apart, in this order.
fn fixture() -> TestStore {
    let t = TestStore::new();
    let s = t.s();
    let specs: [Spec<'_>; 4] = [
        (
            PROD_DB,
            Some("Primary Database password"),
            &[("env", "prod"), ("team", "payments")],
        ),
        (PROD_API, Some("API key for Billing"), &[("env", "prod")]),
        (
            DEV_DB,
            Some("database for dev"),
            &[("env", "dev"), ("Team", "core")],
        ),
        (DEV_CACHE, None, &[]),
    ];
    for (n, description, tags) in specs {
        let mut c = CreateSecretInput::new(name(n)).value(text("v"));
        if let Some(d) = description {
            c = c.description(Description::new(d).unwrap());
        }
        for (k, v) in tags {
            c = c.tag(Tag::new(*k, *v).unwrap());
        }
        s.create_secret(c).unwrap();
        t.advance(Duration::from_secs(60));
    }
    t
}

#[test]
fn no_filter_lists_everything_oldest_first_with_describe_fields() {
    // LIST-4: oldest first by default, as moto lists.
    let t = fixture();
    let s = t.s();
    let out = s.list_secrets(ListSecretsInput::default()).unwrap();
    let names: Vec<_> = out.secrets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec![PROD_DB, PROD_API, DEV_DB, DEV_CACHE]);
    assert_eq!(out.next_token, None);
    // Each entry is exactly what DescribeSecret says.
    for d in &out.secrets {
        assert_eq!(&s.describe_secret(&SecretId::from(&d.arn)).unwrap(), d);
    }
    // The default order is created-date, ascending.
    let mut explicit = ListSecretsInput::default();
    explicit.sort_by = SortBy::CreatedDate;
    explicit.sort_order = SortOrder::Asc;
    assert_eq!(
        all_names(&s, &explicit),
        all_names(&s, &ListSecretsInput::default())
    );
    // A new secret is listed at once.
    create(&s, "fresh", "v");
    assert_eq!(
        all_names(&s, &ListSecretsInput::default())
            .last()
            .map(String::as_str),
        Some("fresh")
    );
}

#[test]
fn name_filter_is_a_case_sensitive_prefix() {
    let t = fixture();
    let s = t.s();
    let by = |v: &str| matching(&s, vec![filter(FilterKey::Name, &[v])]);
    assert_eq!(by("prod/"), set(&[PROD_DB, PROD_API]));
    assert_eq!(by("prod/db/password"), set(&[PROD_DB]));
    assert_eq!(by("Prod/"), set(&[]));
    assert_eq!(by("dev"), set(&[DEV_DB]));
    assert_eq!(by("Dev"), set(&[DEV_CACHE]));
    assert_eq!(by("db"), set(&[]), "a prefix, not a substring");
    assert_eq!(by("!prod/"), set(&[DEV_DB, DEV_CACHE]));
    assert_eq!(by("!Dev"), set(&[PROD_DB, PROD_API, DEV_DB]));
}

#[test]
fn description_filter_is_a_case_insensitive_word_prefix() {
    let t = fixture();
    let s = t.s();
    let by = |v: &str| matching(&s, vec![filter(FilterKey::Description, &[v])]);
    assert_eq!(by("database"), set(&[PROD_DB, DEV_DB]));
    assert_eq!(by("DATA"), set(&[PROD_DB, DEV_DB]));
    assert_eq!(by("primary"), set(&[PROD_DB]));
    assert_eq!(by("billing"), set(&[PROD_API]));
    assert_eq!(by("illing"), set(&[]), "a prefix, not a substring");
    assert_eq!(by("nothing"), set(&[]));
    // A secret without a description matches every negated value.
    assert_eq!(by("!database"), set(&[PROD_API, DEV_CACHE]));
}

#[test]
fn tag_filters_are_case_sensitive_prefixes() {
    let t = fixture();
    let s = t.s();
    let key = |v: &str| matching(&s, vec![filter(FilterKey::TagKey, &[v])]);
    assert_eq!(key("team"), set(&[PROD_DB]));
    assert_eq!(key("Team"), set(&[DEV_DB]));
    assert_eq!(key("en"), set(&[PROD_DB, PROD_API, DEV_DB]));
    assert_eq!(key("nv"), set(&[]));
    assert_eq!(key("!env"), set(&[DEV_CACHE]));
    let value = |v: &str| matching(&s, vec![filter(FilterKey::TagValue, &[v])]);
    assert_eq!(value("prod"), set(&[PROD_DB, PROD_API]));
    assert_eq!(value("pay"), set(&[PROD_DB]));
    assert_eq!(value("Prod"), set(&[]));
    assert_eq!(value("core"), set(&[DEV_DB]));
    assert_eq!(value("!prod"), set(&[DEV_DB, DEV_CACHE]));
}

#[test]
fn region_and_owning_service_filters() {
    let t = fixture();
    let s = t.s();
    let everything = set(&[PROD_DB, PROD_API, DEV_DB, DEV_CACHE]);
    let region = |v: &str| matching(&s, vec![filter(FilterKey::PrimaryRegion, &[v])]);
    assert_eq!(region("us-east-1"), everything);
    assert_eq!(region("us-"), everything);
    assert_eq!(region("eu-west-1"), set(&[]));
    assert_eq!(region("!us-east-1"), set(&[]));
    assert_eq!(region("!eu-west-1"), everything);
    // Strongroom has no managed secrets: no owning service matches, so its negation matches all.
    let owner = |v: &str| matching(&s, vec![filter(FilterKey::OwningService, &[v])]);
    assert_eq!(owner("secretsmanager"), set(&[]));
    assert_eq!(owner("rds"), set(&[]));
    assert_eq!(owner("!rds"), everything);
}

#[test]
fn all_filter_matches_every_word_anywhere_case_insensitively() {
    let t = fixture();
    let s = t.s();
    let all = |v: &str| matching(&s, vec![filter(FilterKey::All, &[v])]);
    assert_eq!(
        all("database"),
        set(&[PROD_DB, DEV_DB]),
        "description words"
    );
    assert_eq!(all("payments"), set(&[PROD_DB]), "tag value");
    assert_eq!(all("TEAM"), set(&[PROD_DB, DEV_DB]), "tag keys");
    assert_eq!(all("cache"), set(&[DEV_CACHE]), "a word of the name");
    assert_eq!(all("dev"), set(&[DEV_DB, DEV_CACHE]));
    assert_eq!(
        all("prod password"),
        set(&[PROD_DB]),
        "every word must match"
    );
    assert_eq!(all("billing core"), set(&[]));
    assert_eq!(all("!database"), set(&[PROD_API, DEV_CACHE]));
}

#[test]
fn values_are_ored_within_a_filter_and_filters_are_anded() {
    let t = fixture();
    let s = t.s();
    assert_eq!(
        matching(&s, vec![filter(FilterKey::Name, &["prod/api", "dev/"])]),
        set(&[PROD_API, DEV_DB])
    );
    assert_eq!(
        matching(&s, vec![filter(FilterKey::TagValue, &["payments", "core"])]),
        set(&[PROD_DB, DEV_DB])
    );
    assert_eq!(
        matching(
            &s,
            vec![
                filter(FilterKey::Name, &["prod/"]),
                filter(FilterKey::TagValue, &["payments"])
            ]
        ),
        set(&[PROD_DB])
    );
    assert_eq!(
        matching(
            &s,
            vec![
                filter(FilterKey::Name, &["prod/"]),
                filter(FilterKey::Name, &["dev/"])
            ]
        ),
        set(&[])
    );
    assert_eq!(
        matching(
            &s,
            vec![
                filter(FilterKey::Name, &["!prod/"]),
                filter(FilterKey::TagKey, &["env"])
            ]
        ),
        set(&[DEV_DB])
    );
    assert_eq!(
        matching(
            &s,
            vec![
                filter(FilterKey::Description, &["database", "billing"]),
                filter(FilterKey::TagValue, &["prod"]),
                filter(FilterKey::All, &["key"]),
            ]
        ),
        set(&[PROD_API])
    );
}

#[test]
fn filter_keys_parse_from_their_aws_spelling_only() {
    let keys = [
        (FilterKey::Description, "description"),
        (FilterKey::Name, "name"),
        (FilterKey::TagKey, "tag-key"),
        (FilterKey::TagValue, "tag-value"),
        (FilterKey::PrimaryRegion, "primary-region"),
        (FilterKey::OwningService, "owning-service"),
        (FilterKey::All, "all"),
    ];
    for (key, spelling) in keys {
        assert_eq!(key.as_str(), spelling);
        assert_eq!(FilterKey::parse(spelling, 1).unwrap(), key);
        assert_eq!(spelling.parse::<FilterKey>().unwrap(), key);
    }
    let enum_set = "Member must satisfy enum value set: [all, name, tag-key, description, tag-value, primary-region, owning-service]";
    assert_err(
        FilterKey::parse("x", 1),
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value 'x' at 'Filters[1].Key' failed to satisfy constraint: {enum_set}"
        ),
    );
    assert_err(
        FilterKey::parse("Name", 3),
        ErrorKind::Validation,
        &format!(
            "1 validation error detected: Value 'Name' at 'Filters[3].Key' failed to satisfy constraint: {enum_set}"
        ),
    );
    for bad in ["", "tag_key", "tags", "created-date"] {
        assert_eq!(
            kind(bad.parse::<FilterKey>()),
            ErrorKind::Validation,
            "{bad:?}"
        );
    }
}

#[test]
fn filter_values_are_validated() {
    let ok = Filter::new(FilterKey::Name, vec!["a Z0 :_@/+=.-!".to_owned()]).unwrap();
    assert_eq!(ok.key(), FilterKey::Name);
    assert_eq!(ok.values(), ["a Z0 :_@/+=.-!".to_owned()]);
    assert!(Filter::new(FilterKey::Name, vec!["x".repeat(512)]).is_ok());
    assert!(Filter::new(FilterKey::Name, vec!["x".to_owned(); 10]).is_ok());

    assert_err(
        Filter::new(FilterKey::Name, vec!["a*b".to_owned()]),
        ErrorKind::Validation,
        r"1 validation error detected: Value 'a*b' at 'Filters[].Values[]' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$",
    );
    for bad in ["a,b", "tab\t", "é", "a#b", "(x)"] {
        assert_eq!(
            kind(Filter::new(FilterKey::Description, vec![bad.to_owned()])),
            ErrorKind::Validation,
            "{bad:?}"
        );
    }
    assert_eq!(
        kind(Filter::new(FilterKey::Name, vec!["x".repeat(513)])),
        ErrorKind::Validation
    );
    assert_err(
        Filter::new(FilterKey::Name, vec![]),
        ErrorKind::Validation,
        "1 validation error detected: Value '[]' at 'Filters[].Values' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert_err(
        Filter::new(FilterKey::Name, vec!["x".to_owned(); 11]),
        ErrorKind::Validation,
        "1 validation error detected: Value '[11 values]' at 'Filters[].Values' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
}

#[test]
fn at_most_ten_filters() {
    let t = fixture();
    let s = t.s();
    let ten = vec![filter(FilterKey::Name, &["prod/"]); 10];
    assert_eq!(matching(&s, ten.clone()), set(&[PROD_DB, PROD_API]));
    let mut eleven = ten;
    eleven.push(filter(FilterKey::Name, &["prod/"]));
    assert_err(
        s.list_secrets(input(eleven)),
        ErrorKind::Validation,
        "1 validation error detected: Value '[11 filters]' at 'Filters' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
}

#[test]
fn every_sort_key_in_both_orders_and_across_pages() {
    let t = TestStore::new();
    let s = t.s();
    // Created in this order, a second apart: name order differs from creation order.
    for n in ["m", "z", "a", "k"] {
        create(&s, n, "v");
        t.advance(Duration::from_secs(1));
    }
    // Changes: m at +10 s, a at +20 s.
    t.advance(Duration::from_secs(6));
    s.tag_resource(&id("m"), &[Tag::new("k", "v").unwrap()])
        .unwrap();
    t.advance(Duration::from_secs(10));
    s.put_secret_value(PutSecretValueInput::new(id("a"), text("w")))
        .unwrap();
    // Reads: z today, m tomorrow; a and k never (they sort as oldest, ties by name).
    current(&s, "z");
    t.days(1);
    current(&s, "m");

    let cases = [
        (SortBy::CreatedDate, SortOrder::Asc, ["m", "z", "a", "k"]),
        (SortBy::CreatedDate, SortOrder::Desc, ["k", "a", "z", "m"]),
        (
            SortBy::LastChangedDate,
            SortOrder::Asc,
            ["z", "k", "m", "a"],
        ),
        (
            SortBy::LastChangedDate,
            SortOrder::Desc,
            ["a", "m", "k", "z"],
        ),
        (
            SortBy::LastAccessedDate,
            SortOrder::Asc,
            ["a", "k", "z", "m"],
        ),
        (
            SortBy::LastAccessedDate,
            SortOrder::Desc,
            ["m", "z", "k", "a"],
        ),
        (SortBy::Name, SortOrder::Asc, ["a", "k", "m", "z"]),
        (SortBy::Name, SortOrder::Desc, ["z", "m", "k", "a"]),
    ];
    for (by, order, expected) in cases {
        for max in [None, Some(1), Some(2), Some(3), Some(4)] {
            let mut i = ListSecretsInput::default();
            i.sort_by = by;
            i.sort_order = order;
            i.max_results = max;
            assert_eq!(all_names(&s, &i), expected, "{by:?} {order:?} max {max:?}");
        }
    }
}

#[test]
fn sort_keys_and_orders_parse_from_their_aws_spelling() {
    for (text, by) in [
        ("created-date", SortBy::CreatedDate),
        ("last-accessed-date", SortBy::LastAccessedDate),
        ("last-changed-date", SortBy::LastChangedDate),
        ("name", SortBy::Name),
    ] {
        assert_eq!(text.parse::<SortBy>().unwrap(), by);
    }
    assert_eq!("asc".parse::<SortOrder>().unwrap(), SortOrder::Asc);
    assert_eq!("desc".parse::<SortOrder>().unwrap(), SortOrder::Desc);
    assert_eq!(SortBy::default(), SortBy::CreatedDate);
    assert_eq!(SortOrder::default(), SortOrder::Asc);
    assert_err(
        "size".parse::<SortBy>(),
        ErrorKind::Validation,
        "1 validation error detected: Value 'size' at 'SortBy' failed to satisfy constraint: Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]",
    );
    assert_err(
        "ASC".parse::<SortOrder>(),
        ErrorKind::Validation,
        "1 validation error detected: Value 'ASC' at 'SortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]",
    );
}

#[test]
fn every_page_size_from_1_to_100_lists_everything_once_in_order() {
    let t = TestStore::new();
    let s = t.s();
    // 25 secrets in groups of five with the same creation time, so the order needs a tie-break.
    let mut created = Vec::new();
    for i in 0..25 {
        let n = format!("s{:02}", (i * 7) % 25);
        create(&s, &n, "v");
        created.push(n);
        if i % 5 == 4 {
            t.advance(Duration::from_secs(1));
        }
    }
    let whole = all_names(&s, &ListSecretsInput::default());
    assert_eq!(whole.len(), 25);
    assert_eq!(
        whole.iter().collect::<BTreeSet<_>>(),
        created.iter().collect::<BTreeSet<_>>()
    );
    for max in 1..=100u32 {
        for (by, order) in [
            (SortBy::CreatedDate, SortOrder::Desc),
            (SortBy::Name, SortOrder::Asc),
        ] {
            let mut i = ListSecretsInput::default();
            i.sort_by = by;
            i.sort_order = order;
            let unpaged = all_names(&s, &i);
            i.max_results = Some(max);
            let mut first = i.clone();
            first.next_token = None;
            let page = s.list_secrets(first).unwrap();
            assert_eq!(
                page.secrets.len(),
                usize::try_from(max).unwrap().min(25),
                "max {max}"
            );
            assert_eq!(page.next_token.is_some(), max < 25, "max {max}");
            assert_eq!(all_names(&s, &i), unpaged, "max {max} {by:?}");
        }
    }
    for (bad, constraint) in [
        (0, "Member must have value greater than or equal to 1"),
        (101, "Member must have value less than or equal to 100"),
    ] {
        let mut i = ListSecretsInput::default();
        i.max_results = Some(bad);
        assert_err(
            s.list_secrets(i),
            ErrorKind::Validation,
            &format!(
                "1 validation error detected: Value '{bad}' at 'MaxResults' failed to satisfy constraint: {constraint}"
            ),
        );
    }
}

#[test]
fn a_token_survives_the_deletion_of_the_secret_it_points_after() {
    let t = TestStore::new();
    let s = t.s();
    for i in 0..6 {
        create(&s, &format!("s{i}"), "v");
        t.advance(Duration::from_secs(1));
    }
    let mut i = ListSecretsInput::default();
    i.max_results = Some(2);
    i.sort_order = SortOrder::Desc;
    let first = s.list_secrets(i.clone()).unwrap();
    let names: Vec<_> = first.secrets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["s5", "s4"]);
    s.delete_secret(DeleteSecretInput::new(id("s4")).force())
        .unwrap();
    i.next_token = first.next_token;
    let mut rest = Vec::new();
    loop {
        let out = s.list_secrets(i.clone()).unwrap();
        rest.extend(out.secrets.iter().map(|d| d.name.as_str().to_owned()));
        i.next_token = out.next_token;
        if i.next_token.is_none() {
            break;
        }
    }
    assert_eq!(rest, ["s3", "s2", "s1", "s0"]);
}

#[test]
fn a_token_only_works_with_the_sort_it_was_made_for() {
    let t = TestStore::new();
    let s = t.s();
    for i in 0..3 {
        create(&s, &format!("s{i}"), "v");
    }
    let mut i = ListSecretsInput::default();
    i.max_results = Some(1);
    let token = s.list_secrets(i.clone()).unwrap().next_token.unwrap();
    for (by, order) in [
        (SortBy::Name, SortOrder::Asc),
        (SortBy::CreatedDate, SortOrder::Desc),
        (SortBy::LastChangedDate, SortOrder::Asc),
        (SortBy::LastAccessedDate, SortOrder::Asc),
    ] {
        let mut other = i.clone();
        other.sort_by = by;
        other.sort_order = order;
        other.next_token = Some(token.clone());
        assert_err(
            s.list_secrets(other),
            ErrorKind::InvalidNextToken,
            BAD_TOKEN,
        );
    }
    // With the same sort it works.
    let mut same = i.clone();
    same.next_token = Some(token);
    assert_eq!(s.list_secrets(same).unwrap().secrets.len(), 1);
}

#[test]
fn garbage_tokens_are_refused() {
    let t = TestStore::new();
    let s = t.s();
    create(&s, "a", "v");
    s.put_secret_value(PutSecretValueInput::new(id("a"), text("w")))
        .unwrap();
    // A token from ListSecretVersionIds is a token of another operation.
    let mut versions = ListSecretVersionIdsInput::new(id("a"));
    versions.max_results = Some(1);
    let version_token = s
        .list_secret_version_ids(versions)
        .unwrap()
        .next_token
        .unwrap();
    create(&s, "b", "v");
    let mut i = ListSecretsInput::default();
    i.max_results = Some(1);
    let good = s.list_secrets(i.clone()).unwrap().next_token.unwrap();
    let truncated = good[..good.len() - 2].to_owned();
    let extended = format!("{good}00");
    for bad in [
        String::new(),
        "garbage".to_owned(),
        "zz".to_owned(),
        "00".to_owned(),
        "0".repeat(64),
        "a".repeat(4097),
        version_token,
        truncated,
        extended,
        good.to_uppercase(),
    ] {
        let mut j = i.clone();
        j.next_token = Some(bad.clone());
        assert_err(s.list_secrets(j), ErrorKind::InvalidNextToken, BAD_TOKEN);
    }
}

#[test]
fn scheduled_secrets_are_listed_only_on_request() {
    let t = fixture();
    let s = t.s();
    let out = s
        .delete_secret(DeleteSecretInput::new(id(PROD_API)).recovery_window_in_days(7))
        .unwrap();
    let live = set(&[PROD_DB, DEV_DB, DEV_CACHE]);
    assert_eq!(matching(&s, vec![]), live);
    let mut planned = ListSecretsInput::default();
    planned.include_planned_deletion = true;
    let listed = s.list_secrets(planned.clone()).unwrap().secrets;
    assert_eq!(listed.len(), 4);
    let api = listed.iter().find(|d| d.name.as_str() == PROD_API).unwrap();
    assert_eq!(api.deleted_date, Some(out.deletion_date));
    assert!(
        listed
            .iter()
            .filter(|d| d.name.as_str() != PROD_API)
            .all(|d| d.deleted_date.is_none())
    );
    // Filters apply to scheduled secrets too.
    let mut filtered = planned.clone();
    filtered.filters = vec![filter(FilterKey::Name, &["prod/"])];
    assert_eq!(
        all_names(&s, &filtered)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&[PROD_DB, PROD_API])
    );
    // Restored: listed again by default.
    s.restore_secret(&id(PROD_API)).unwrap();
    assert_eq!(matching(&s, vec![]).len(), 4);
    // Once the window has passed the secret is gone, even with include_planned_deletion.
    s.delete_secret(DeleteSecretInput::new(id(PROD_API)).recovery_window_in_days(7))
        .unwrap();
    t.days(7);
    assert_eq!(
        all_names(&s, &planned).into_iter().collect::<BTreeSet<_>>(),
        live
    );
}

#[test]
fn each_region_lists_only_its_own_secrets() {
    let t = TestStore::new();
    let us = t.s();
    let eu = t
        .store
        .session(RequestContext::system().with_region(Region::new("eu-west-1").unwrap()));
    create(&us, "shared", "us value");
    create(&us, "us-only", "v");
    create(&eu, "shared", "eu value");
    create(&eu, "eu-only", "v");
    assert_eq!(matching(&us, vec![]), set(&["shared", "us-only"]));
    assert_eq!(matching(&eu, vec![]), set(&["shared", "eu-only"]));
    let eu_listed = eu
        .list_secrets(ListSecretsInput::default())
        .unwrap()
        .secrets;
    assert!(eu_listed.iter().all(|d| {
        d.arn
            .as_str()
            .starts_with("arn:aws:secretsmanager:eu-west-1:111111111111:secret:")
    }));
    assert_eq!(
        matching(&eu, vec![filter(FilterKey::PrimaryRegion, &["eu-west-1"])]),
        set(&["shared", "eu-only"])
    );
    assert_eq!(
        matching(&us, vec![filter(FilterKey::PrimaryRegion, &["eu-west-1"])]),
        set(&[])
    );
    // Same name, different secrets.
    assert_eq!(current(&us, "shared"), "us value");
    assert_eq!(current(&eu, "shared"), "eu value");
    assert_eq!(
        kind(us.get_secret_value(GetSecretValueInput::new(id("eu-only")))),
        ErrorKind::ResourceNotFound
    );
    // Deleting in one region leaves the other alone.
    us.delete_secret(DeleteSecretInput::new(id("shared")).force())
        .unwrap();
    assert_eq!(matching(&us, vec![]), set(&["us-only"]));
    assert_eq!(matching(&eu, vec![]), set(&["shared", "eu-only"]));
}
