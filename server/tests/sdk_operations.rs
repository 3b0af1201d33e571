//! Every implemented operation driven through `aws-sdk-secretsmanager` against a server that
//! verifies SigV4: results, idempotency, field presence, pagination, regions, and the AWS error
//! (code, typed variant, message, HTTP 400) of each error path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::RequestId as _;
use aws_sdk_secretsmanager::primitives::{Blob, DateTime};
use aws_sdk_secretsmanager::types::{
    Filter, FilterNameStringType, SecretListEntry, SortByType, SortOrderType, Tag,
};
use common::{Failure, TestServer, assert_recent, failure, now_epoch_secs, sdk_client};

const REGION: &str = "eu-west-1";
const DAY: f64 = 86_400.0;

async fn setup() -> (TestServer, Client) {
    let server = TestServer::with_auth().await;
    let client = sdk_client(&server, REGION).await;
    (server, client)
}

/// A client request token (a UUID, as SDKs send).
fn token(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn name_filter(prefix: &str) -> Filter {
    Filter::builder()
        .key(FilterNameStringType::Name)
        .values(prefix)
        .build()
}

/// `arn:aws:secretsmanager:<region>:000000000000:secret:<name>-XXXXXX`.
fn assert_arn(arn: &str, region: &str, name: &str) {
    let prefix = format!("arn:aws:secretsmanager:{region}:000000000000:secret:{name}-");
    let suffix = arn
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{arn} does not start with {prefix}"));
    assert_eq!(suffix.len(), 6, "{arn}");
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()), "{arn}");
}

/// A version map with each version's labels sorted (label order carries no meaning, WRITE-10).
fn stages(map: Option<&HashMap<String, Vec<String>>>) -> BTreeMap<String, Vec<String>> {
    map.into_iter()
        .flatten()
        .map(|(v, labels)| {
            let mut labels = labels.clone();
            labels.sort();
            (v.clone(), labels)
        })
        .collect()
}

fn expect_stages(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(v, labels)| {
            let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
            labels.sort();
            ((*v).to_owned(), labels)
        })
        .collect()
}

fn sorted(labels: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = labels.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// Asserts an error answer: code, message and HTTP 400, with a request id.
fn assert_failure<E>(f: &Failure<E>, code: &str, message: &str) {
    assert_eq!(f.code, code, "{}", f.message);
    assert_eq!(f.message, message);
    assert_eq!(f.status, 400);
    assert!(f.request_id.as_deref().is_some_and(|id| !id.is_empty()));
}

/// A LastAccessedDate: a real date, midnight UTC, today (GET-8).
fn assert_access_day(what: &str, t: Option<&DateTime>) {
    let t = t.unwrap_or_else(|| panic!("{what} is missing"));
    assert_eq!(t.secs() % 86_400, 0, "{what} = {t} is not a midnight");
    assert_eq!(t.subsec_nanos(), 0, "{what} = {t}");
    let age = now_epoch_secs() - t.as_secs_f64();
    // Within one day, with slack for a test that runs across midnight.
    assert!((0.0..2.0 * DAY).contains(&age), "{what} = {t}");
}

/// Creates `name` with a string value and the token `token(n)`.
async fn create(client: &Client, name: &str, value: &str, n: u32) -> String {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .client_request_token(token(n))
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

async fn current_value(client: &Client, id: &str) -> String {
    client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn create_secret_with_a_string_value_description_and_tags() {
    let (server, client) = setup().await;
    let created = client
        .create_secret()
        .name("app/db-password")
        .secret_string("hunter2")
        .description("The database password")
        .tags(tag("team", "storage"))
        .tags(tag("env", "test"))
        .client_request_token(token(1))
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();
    assert_arn(&arn, REGION, "app/db-password");
    assert_eq!(created.name(), Some("app/db-password"));
    assert_eq!(created.version_id(), Some(token(1).as_str()));
    assert!(created.request_id().is_some_and(|id| !id.is_empty()));

    let described = client
        .describe_secret()
        .secret_id("app/db-password")
        .send()
        .await
        .unwrap();
    assert_eq!(described.arn(), Some(arn.as_str()));
    assert_eq!(described.name(), Some("app/db-password"));
    assert_eq!(described.description(), Some("The database password"));
    let tags: Vec<(&str, &str)> = described
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags, [("team", "storage"), ("env", "test")]);
    assert_eq!(
        stages(described.version_ids_to_stages()),
        expect_stages(&[(&token(1), &["AWSCURRENT"])])
    );
    assert_recent("CreatedDate", described.created_date());
    assert_recent("LastChangedDate", described.last_changed_date());
    assert!(described.last_accessed_date().is_none(), "never read yet");
    assert!(described.deleted_date().is_none());
    assert!(described.rotation_enabled().is_none());

    let got = client
        .get_secret_value()
        .secret_id("app/db-password")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("hunter2"));
    assert!(got.secret_binary().is_none());
    assert_eq!(got.arn(), Some(arn.as_str()));
    assert_eq!(got.name(), Some("app/db-password"));
    assert_eq!(got.version_id(), Some(token(1).as_str()));
    assert_eq!(got.version_stages(), ["AWSCURRENT"]);
    assert_recent("CreatedDate", got.created_date());

    // The read is recorded, at day resolution.
    let described = client
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert_access_day("LastAccessedDate", described.last_accessed_date());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn create_secret_without_a_value_has_no_version() {
    let (_server, client) = setup().await;
    let created = client.create_secret().name("empty").send().await.unwrap();
    assert!(created.version_id().is_none());

    let described = client
        .describe_secret()
        .secret_id("empty")
        .send()
        .await
        .unwrap();
    assert!(described.version_ids_to_stages().is_none());
    assert!(described.description().is_none());
    assert!(described.tags().is_empty());

    let err = client
        .get_secret_value()
        .secret_id("empty")
        .send()
        .await
        .unwrap_err();
    let f = failure(err);
    assert!(f.error.is_resource_not_found_exception());
    assert_failure(
        &f,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    );
    let versions = client
        .list_secret_version_ids()
        .secret_id("empty")
        .send()
        .await
        .unwrap();
    assert!(versions.versions().is_empty());

    // The first version is AWSCURRENT even when its stages leave it out (WRITE-7).
    let put = client
        .put_secret_value()
        .secret_id("empty")
        .secret_string("first")
        .version_stages("CUSTOM")
        .client_request_token(token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(sorted(put.version_stages()), ["AWSCURRENT", "CUSTOM"]);
    assert_eq!(current_value(&client, "empty").await, "first");
}

#[tokio::test]
async fn absent_members_are_left_out_of_the_json() {
    // The SDK cannot tell an absent member from a null one, so look at the JSON itself.
    let (server, client) = setup().await;
    client.create_secret().name("bare").send().await.unwrap();
    let mut request = common::signable_request(&server, "DescribeSecret", r#"{"SecretId":"bare"}"#);
    let now = strongroom::Clock::now(&strongroom::SystemClock);
    common::sign(&mut request, &common::SignWith::test(REGION, now));
    let response = common::send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
    let json = response.json();
    let members: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for absent in [
        "Description",
        "DeletedDate",
        "LastAccessedDate",
        "Tags",
        "VersionIdsToStages",
        "RotationEnabled",
        "KmsKeyId",
    ] {
        assert!(!members.contains(&absent), "{absent} in {json}");
    }
    for present in ["ARN", "Name", "CreatedDate", "LastChangedDate"] {
        assert!(members.contains(&present), "{present} not in {json}");
    }
    assert!(json["CreatedDate"].is_number(), "{json}");
}

#[tokio::test]
async fn binary_values_round_trip_every_byte() {
    let (_server, client) = setup().await;
    let all: Vec<u8> = (0..=255).collect();
    let created = client
        .create_secret()
        .name("bytes")
        .secret_binary(Blob::new(all.clone()))
        .client_request_token(token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(created.version_id(), Some(token(1).as_str()));

    let got = client
        .get_secret_value()
        .secret_id("bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_binary().unwrap().as_ref(), all.as_slice());
    assert!(got.secret_string().is_none());

    let reversed: Vec<u8> = all.iter().rev().copied().collect();
    client
        .put_secret_value()
        .secret_id("bytes")
        .secret_binary(Blob::new(reversed.clone()))
        .client_request_token(token(2))
        .send()
        .await
        .unwrap();
    let current = client
        .get_secret_value()
        .secret_id("bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(
        current.secret_binary().unwrap().as_ref(),
        reversed.as_slice()
    );
    let previous = client
        .get_secret_value()
        .secret_id("bytes")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_binary().unwrap().as_ref(), all.as_slice());
    assert_eq!(previous.version_id(), Some(token(1).as_str()));
}

#[tokio::test]
async fn create_secret_is_idempotent_on_its_client_request_token() {
    let (_server, client) = setup().await;
    let send = |value: &'static str, n: u32| {
        client
            .create_secret()
            .name("idem")
            .secret_string(value)
            .client_request_token(token(n))
            .send()
    };
    let first = send("a", 1).await.unwrap();
    let retry = send("a", 1).await.unwrap();
    assert_eq!(retry.arn(), first.arn());
    assert_eq!(retry.name(), first.name());
    assert_eq!(retry.version_id(), first.version_id());
    let arn = first.arn().unwrap();

    // The same token with another value.
    let f = failure(send("b", 1).await.unwrap_err());
    assert!(f.error.is_resource_exists_exception());
    assert_failure(
        &f,
        "ResourceExistsException",
        &format!(
            "You can't use ClientRequestToken {} because that value is already in use for a version of secret {arn}.",
            token(1)
        ),
    );

    // Another token: the name is taken.
    let f = failure(send("a", 2).await.unwrap_err());
    assert!(f.error.is_resource_exists_exception());
    assert_failure(
        &f,
        "ResourceExistsException",
        "The operation failed because the secret idem already exists.",
    );

    // No token at all: the SDK makes one up, so this is a new request for a taken name.
    let f = failure(
        client
            .create_secret()
            .name("idem")
            .secret_string("a")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_exists_exception());

    let versions = client
        .list_secret_version_ids()
        .secret_id("idem")
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 1);
    assert_eq!(current_value(&client, "idem").await, "a");
}

#[tokio::test]
async fn put_secret_value_moves_stages_and_is_idempotent() {
    let (_server, client) = setup().await;
    let arn = create(&client, "put", "one", 1).await;
    let put = |value: &'static str, n: u32| {
        client
            .put_secret_value()
            .secret_id("put")
            .secret_string(value)
            .client_request_token(token(n))
    };

    let second = put("two", 2).send().await.unwrap();
    assert_eq!(second.arn(), Some(arn.as_str()));
    assert_eq!(second.name(), Some("put"));
    assert_eq!(second.version_id(), Some(token(2).as_str()));
    assert_eq!(second.version_stages(), ["AWSCURRENT"]);
    assert_eq!(current_value(&client, "put").await, "two");
    let previous = client
        .get_secret_value()
        .secret_id("put")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_string(), Some("one"));
    assert_eq!(previous.version_id(), Some(token(1).as_str()));
    assert_eq!(previous.version_stages(), ["AWSPREVIOUS"]);

    // A version staged elsewhere leaves AWSCURRENT and AWSPREVIOUS where they are (WRITE-6).
    let staged = put("three", 3)
        .version_stages("STAGED")
        .send()
        .await
        .unwrap();
    assert_eq!(staged.version_stages(), ["STAGED"]);
    assert_eq!(current_value(&client, "put").await, "two");
    let by_stage = client
        .get_secret_value()
        .secret_id("put")
        .version_stage("STAGED")
        .send()
        .await
        .unwrap();
    assert_eq!(by_stage.secret_string(), Some("three"));

    // Replaying a put changes nothing and answers the version's labels.
    let replay = put("three", 3)
        .version_stages("STAGED")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.version_id(), Some(token(3).as_str()));
    assert_eq!(replay.version_stages(), ["STAGED"]);
    let f = failure(put("other", 3).send().await.unwrap_err());
    assert!(f.error.is_resource_exists_exception());
    assert_failure(
        &f,
        "ResourceExistsException",
        &format!(
            "You can't use ClientRequestToken {} because that value is already in use for a version of secret {arn}.",
            token(3)
        ),
    );

    let described = client
        .describe_secret()
        .secret_id("put")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stages(described.version_ids_to_stages()),
        expect_stages(&[
            (&token(1), &["AWSPREVIOUS"]),
            (&token(2), &["AWSCURRENT"]),
            (&token(3), &["STAGED"]),
        ])
    );

    // No value at all.
    let f = failure(
        client
            .put_secret_value()
            .secret_id("put")
            .client_request_token(token(4))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_request_exception());
    assert_failure(
        &f,
        "InvalidRequestException",
        "You must provide either SecretString or SecretBinary.",
    );

    // An unknown secret.
    let f = failure(
        client
            .put_secret_value()
            .secret_id("nope")
            .secret_string("x")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
    assert_failure(
        &f,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    );
}

#[tokio::test]
async fn update_secret_changes_metadata_and_optionally_the_value() {
    let (_server, client) = setup().await;
    create(&client, "upd", "one", 1).await;

    let before = client
        .describe_secret()
        .secret_id("upd")
        .send()
        .await
        .unwrap();
    let only_description = client
        .update_secret()
        .secret_id("upd")
        .description("now described")
        .send()
        .await
        .unwrap();
    assert_eq!(only_description.name(), Some("upd"));
    assert!(only_description.version_id().is_none());
    let after = client
        .describe_secret()
        .secret_id("upd")
        .send()
        .await
        .unwrap();
    assert_eq!(after.description(), Some("now described"));
    assert_recent("LastChangedDate", after.last_changed_date());
    assert!(after.last_changed_date().unwrap() >= before.last_changed_date().unwrap());
    assert_eq!(
        stages(after.version_ids_to_stages()),
        stages(before.version_ids_to_stages())
    );

    let with_value = client
        .update_secret()
        .secret_id("upd")
        .secret_string("two")
        .client_request_token(token(2))
        .send()
        .await
        .unwrap();
    assert_eq!(with_value.version_id(), Some(token(2).as_str()));
    assert_eq!(current_value(&client, "upd").await, "two");
    let described = client
        .describe_secret()
        .secret_id("upd")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stages(described.version_ids_to_stages()),
        expect_stages(&[(&token(1), &["AWSPREVIOUS"]), (&token(2), &["AWSCURRENT"])])
    );

    // Replaying with the same token and value succeeds (IDEM-7); another value does not.
    let replay = client
        .update_secret()
        .secret_id("upd")
        .secret_string("two")
        .client_request_token(token(2))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.version_id(), Some(token(2).as_str()));
    let f = failure(
        client
            .update_secret()
            .secret_id("upd")
            .secret_string("three")
            .client_request_token(token(2))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_exists_exception());

    let f = failure(
        client
            .update_secret()
            .secret_id("nope")
            .description("x")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
    assert_failure(
        &f,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    );
}

#[tokio::test]
async fn get_secret_value_by_stage_and_by_version() {
    let (_server, client) = setup().await;
    create(&client, "get", "one", 1).await;
    client
        .put_secret_value()
        .secret_id("get")
        .secret_string("two")
        .client_request_token(token(2))
        .send()
        .await
        .unwrap();

    let by_version = client
        .get_secret_value()
        .secret_id("get")
        .version_id(token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(by_version.secret_string(), Some("one"));
    assert_eq!(by_version.version_stages(), ["AWSPREVIOUS"]);
    let both = client
        .get_secret_value()
        .secret_id("get")
        .version_id(token(2))
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap();
    assert_eq!(both.secret_string(), Some("two"));

    let f = failure(
        client
            .get_secret_value()
            .secret_id("get")
            .version_id(token(9))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
    assert_failure(
        &f,
        "ResourceNotFoundException",
        &format!(
            "Secrets Manager can't find the specified secret value for VersionId: {}",
            token(9)
        ),
    );

    let f = failure(
        client
            .get_secret_value()
            .secret_id("get")
            .version_stage("NOPE")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
    assert_failure(
        &f,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: NOPE",
    );

    let f = failure(
        client
            .get_secret_value()
            .secret_id("get")
            .version_id(token(1))
            .version_stage("AWSCURRENT")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_request_exception());
    assert_failure(
        &f,
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.",
    );

    let f = failure(
        client
            .get_secret_value()
            .secret_id("missing")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
    assert_failure(
        &f,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    );
}

#[tokio::test]
async fn secrets_are_found_by_name_full_arn_and_partial_arn() {
    let (_server, client) = setup().await;
    let arn = create(&client, "lookup/me", "v", 1).await;
    let partial = &arn[..arn.len() - 7];
    assert_eq!(
        partial,
        "arn:aws:secretsmanager:eu-west-1:000000000000:secret:lookup/me"
    );
    for id in ["lookup/me", arn.as_str(), partial] {
        let got = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(got.secret_string(), Some("v"), "{id}");
        assert_eq!(got.arn(), Some(arn.as_str()), "{id}");
        let described = client.describe_secret().secret_id(id).send().await.unwrap();
        assert_eq!(described.name(), Some("lookup/me"), "{id}");
    }

    // A full ARN with another random suffix is another (absent) secret.
    let wrong_suffix = format!("{partial}-zzzzzz");
    assert_ne!(wrong_suffix, arn);
    let f = failure(
        client
            .get_secret_value()
            .secret_id(&wrong_suffix)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());

    // A name that itself ends like an ARN suffix: its partial ARN reads as a full one (ID-3).
    let tricky = create(&client, "svc-a1b2c3", "t", 2).await;
    assert_eq!(current_value(&client, "svc-a1b2c3").await, "t");
    assert_eq!(current_value(&client, &tricky).await, "t");
    let f = failure(
        client
            .get_secret_value()
            .secret_id(&tricky[..tricky.len() - 7])
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
}

#[tokio::test]
async fn each_region_is_its_own_namespace() {
    let server = TestServer::with_auth().await;
    let west = sdk_client(&server, "eu-west-1").await;
    let east = sdk_client(&server, "us-east-2").await;

    let west_arn = create(&west, "shared", "west value", 1).await;
    let east_arn = create(&east, "shared", "east value", 1).await;
    assert_arn(&west_arn, "eu-west-1", "shared");
    assert_arn(&east_arn, "us-east-2", "shared");
    assert_ne!(west_arn, east_arn);

    assert_eq!(current_value(&west, "shared").await, "west value");
    assert_eq!(current_value(&east, "shared").await, "east value");

    let west_list = west.list_secrets().send().await.unwrap();
    let arns: Vec<&str> = west_list
        .secret_list()
        .iter()
        .map(|s| s.arn().unwrap())
        .collect();
    assert_eq!(arns, [west_arn.as_str()]);

    // A secret only in one region is not found in the other.
    create(&west, "west-only", "w", 2).await;
    let f = failure(
        east.describe_secret()
            .secret_id("west-only")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());

    // Deleting in one region leaves the other alone.
    east.delete_secret()
        .secret_id("shared")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_eq!(current_value(&west, "shared").await, "west value");
    assert!(
        failure(
            east.get_secret_value()
                .secret_id("shared")
                .send()
                .await
                .unwrap_err()
        )
        .error
        .is_resource_not_found_exception()
    );
}

#[tokio::test]
async fn batch_get_secret_value_by_ids_reports_missing_ones_as_errors() {
    let (_server, client) = setup().await;
    let a = create(&client, "batch/a", "A", 1).await;
    create(&client, "batch/b", "B", 2).await;

    let out = client
        .batch_get_secret_value()
        .secret_id_list("batch/a")
        .secret_id_list("missing")
        .secret_id_list("batch/b")
        .send()
        .await
        .unwrap();
    let mut values: Vec<(&str, &str)> = out
        .secret_values()
        .iter()
        .map(|v| (v.name().unwrap(), v.secret_string().unwrap()))
        .collect();
    values.sort_unstable();
    assert_eq!(values, [("batch/a", "A"), ("batch/b", "B")]);
    let entry_a = out
        .secret_values()
        .iter()
        .find(|v| v.name() == Some("batch/a"))
        .unwrap();
    assert_eq!(entry_a.arn(), Some(a.as_str()));
    assert_eq!(entry_a.version_id(), Some(token(1).as_str()));
    assert_eq!(entry_a.version_stages(), ["AWSCURRENT"]);
    assert_recent("CreatedDate", entry_a.created_date());

    assert_eq!(out.errors().len(), 1);
    let error = &out.errors()[0];
    assert_eq!(error.secret_id(), Some("missing"));
    assert_eq!(error.error_code(), Some("ResourceNotFoundException"));
    assert_eq!(
        error.message(),
        Some("Secrets Manager can't find the specified secret.")
    );
    assert!(out.next_token().is_none());

    // Ids and filters together.
    let f = failure(
        client
            .batch_get_secret_value()
            .secret_id_list("batch/a")
            .filters(name_filter("batch/"))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_parameter_exception());
    assert_failure(
        &f,
        "InvalidParameterException",
        "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
    );
}

#[tokio::test]
async fn batch_get_secret_value_by_filters_pages() {
    let (_server, client) = setup().await;
    for i in 0..5 {
        create(&client, &format!("batch/{i}"), &format!("value {i}"), i).await;
    }
    create(&client, "other", "not wanted", 9).await;

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = client
            .batch_get_secret_value()
            .filters(name_filter("batch/"))
            .max_results(2)
            .set_next_token(next.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(out.secret_values().len() <= 2);
        assert!(out.errors().is_empty());
        for v in out.secret_values() {
            let name = v.name().unwrap();
            let i = name.strip_prefix("batch/").unwrap();
            assert_eq!(v.secret_string(), Some(format!("value {i}").as_str()));
            seen.push(name.to_owned());
        }
        match out.next_token() {
            Some(t) => next = Some(t.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert!(pages >= 3, "5 secrets in pages of 2 take at least 3 pages");
    seen.sort();
    assert_eq!(
        seen,
        ["batch/0", "batch/1", "batch/2", "batch/3", "batch/4"]
    );
}

/// Every page of `ListSecrets` with `MaxResults` = `page`.
async fn list_pages(
    client: &Client,
    page: i32,
    configure: impl Fn(
        aws_sdk_secretsmanager::operation::list_secrets::builders::ListSecretsFluentBuilder,
    ) -> aws_sdk_secretsmanager::operation::list_secrets::builders::ListSecretsFluentBuilder,
) -> Vec<Vec<SecretListEntry>> {
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = configure(client.list_secrets())
            .max_results(page)
            .set_next_token(next.take())
            .send()
            .await
            .unwrap();
        pages.push(out.secret_list().to_vec());
        match out.next_token() {
            Some(t) => next = Some(t.to_owned()),
            None => return pages,
        }
        assert!(pages.len() < 50, "pagination does not end");
    }
}

fn names_of(pages: Vec<Vec<SecretListEntry>>) -> Vec<String> {
    pages
        .concat()
        .iter()
        .map(|e| e.name().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn list_secrets_pages_filters_and_sorts() {
    let (_server, client) = setup().await;
    let names = [
        "list/c", "list/a", "list/e", "list/b", "list/d", "list/g", "list/f",
    ];
    for (i, name) in names.iter().enumerate() {
        let n = u32::try_from(i).unwrap();
        client
            .create_secret()
            .name(*name)
            .secret_string("v")
            .description(if i % 2 == 0 {
                "Even numbered"
            } else {
                "odd one"
            })
            .tags(tag(if i < 3 { "early" } else { "late" }, "yes"))
            .client_request_token(token(n))
            .send()
            .await
            .unwrap();
    }

    // Several pages of at most 3, covering every secret once, newest first by default.
    // Several pages of at most 3, covering every secret once, newest first by default (ties
    // of the millisecond clock broken by name).
    let pages = list_pages(&client, 3, |b| b).await;
    assert!(pages.len() >= 3, "{pages:?}");
    assert!(pages.iter().all(|p| p.len() <= 3), "{pages:?}");
    let by_created = |e: &SecretListEntry| {
        let created = e.created_date().unwrap();
        (
            created.secs(),
            created.subsec_nanos(),
            e.name().unwrap().to_owned(),
        )
    };
    // Oldest first by default, as moto lists (LIST-4).
    let oldest_first: Vec<_> = pages.concat().iter().map(by_created).collect();
    let mut expected = oldest_first.clone();
    expected.sort();
    assert_eq!(oldest_first, expected);
    let mut listed: Vec<&str> = oldest_first.iter().map(|k| k.2.as_str()).collect();
    listed.sort_unstable();
    let mut by_name: Vec<&str> = names.to_vec();
    by_name.sort_unstable();
    assert_eq!(listed, by_name, "every secret exactly once");

    let newest_first: Vec<_> = list_pages(&client, 2, |b| {
        b.sort_by(SortByType::CreatedDate)
            .sort_order(SortOrderType::Desc)
    })
    .await
    .concat()
    .iter()
    .map(by_created)
    .collect();
    expected.reverse();
    assert_eq!(newest_first, expected);

    let asc = names_of(
        list_pages(&client, 4, |b| {
            b.sort_by(SortByType::Name).sort_order(SortOrderType::Asc)
        })
        .await,
    );
    assert_eq!(asc, by_name);
    let desc = names_of(
        list_pages(&client, 4, |b| {
            b.sort_by(SortByType::Name).sort_order(SortOrderType::Desc)
        })
        .await,
    );
    by_name.reverse();
    assert_eq!(desc, by_name);

    // Filters.
    let filtered = |key: FilterNameStringType, value: &str| {
        let filter = Filter::builder().key(key).values(value).build();
        let client = client.clone();
        async move {
            let mut names = names_of(list_pages(&client, 100, |b| b.filters(filter.clone())).await);
            names.sort();
            names
        }
    };
    assert_eq!(
        filtered(FilterNameStringType::TagKey, "early").await,
        ["list/a", "list/c", "list/e"]
    );
    assert_eq!(
        filtered(FilterNameStringType::Description, "odd").await,
        ["list/a", "list/b", "list/g"]
    );
    assert_eq!(
        filtered(FilterNameStringType::Name, "list/").await.len(),
        names.len()
    );
    assert!(
        filtered(FilterNameStringType::Name, "nothing/")
            .await
            .is_empty()
    );
    assert_eq!(
        filtered(FilterNameStringType::TagKey, "!early").await,
        ["list/b", "list/d", "list/f", "list/g"]
    );

    // Entries carry metadata, with the version map under its ListSecrets name.
    let out = client
        .list_secrets()
        .filters(name_filter("list/a"))
        .send()
        .await
        .unwrap();
    let entry = &out.secret_list()[0];
    assert_arn(entry.arn().unwrap(), REGION, "list/a");
    assert_eq!(entry.description(), Some("odd one"));
    assert_recent("CreatedDate", entry.created_date());
    assert_recent("LastChangedDate", entry.last_changed_date());
    assert_eq!(
        stages(entry.secret_versions_to_stages()),
        expect_stages(&[(&token(1), &["AWSCURRENT"])])
    );

    // MaxResults out of range.
    let f = failure(
        client
            .list_secrets()
            .max_results(0)
            .send()
            .await
            .unwrap_err(),
    );
    assert_failure(
        &f,
        "ValidationException",
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    let f = failure(
        client
            .list_secrets()
            .next_token("not a token")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_next_token_exception(), "{f:?}");
}

#[tokio::test]
async fn list_secret_version_ids_hides_deprecated_versions_unless_asked() {
    let (_server, client) = setup().await;
    let arn = create(&client, "versions", "1", 1).await;
    for n in 2..=3 {
        client
            .put_secret_value()
            .secret_id("versions")
            .secret_string(n.to_string())
            .client_request_token(token(n))
            .send()
            .await
            .unwrap();
    }
    let out = client
        .list_secret_version_ids()
        .secret_id("versions")
        .send()
        .await
        .unwrap();
    assert_eq!(out.arn(), Some(arn.as_str()));
    assert_eq!(out.name(), Some("versions"));
    let mut listed: Vec<(String, Vec<&str>)> = out
        .versions()
        .iter()
        .map(|v| {
            assert_recent("CreatedDate", v.created_date());
            (
                v.version_id().unwrap().to_owned(),
                sorted(v.version_stages()),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            (token(2), vec!["AWSPREVIOUS"]),
            (token(3), vec!["AWSCURRENT"])
        ]
    );

    let all = client
        .list_secret_version_ids()
        .secret_id("versions")
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    let deprecated = all
        .versions()
        .iter()
        .find(|v| v.version_id() == Some(token(1).as_str()))
        .unwrap();
    assert!(deprecated.version_stages().is_empty());
    assert_eq!(all.versions().len(), 3);

    // Pages of one.
    let first = client
        .list_secret_version_ids()
        .secret_id("versions")
        .include_deprecated(true)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.versions().len(), 1);
    assert!(first.next_token().is_some());

    let f = failure(
        client
            .list_secret_version_ids()
            .secret_id("nope")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
}

#[tokio::test]
async fn update_secret_version_stage_moves_labels() {
    let (_server, client) = setup().await;
    let arn = create(&client, "stages", "one", 1).await;
    client
        .put_secret_value()
        .secret_id("stages")
        .secret_string("two")
        .client_request_token(token(2))
        .send()
        .await
        .unwrap();

    // Moving AWSCURRENT needs RemoveFromVersionId naming its holder.
    let f = failure(
        client
            .update_secret_version_stage()
            .secret_id("stages")
            .version_stage("AWSCURRENT")
            .move_to_version_id(token(1))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_parameter_exception());
    assert_failure(
        &f,
        "InvalidParameterException",
        &format!(
            "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version {}, so you must explicitly reference that version in RemoveFromVersionId.",
            token(2)
        ),
    );

    let moved = client
        .update_secret_version_stage()
        .secret_id("stages")
        .version_stage("AWSCURRENT")
        .move_to_version_id(token(1))
        .remove_from_version_id(token(2))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.arn(), Some(arn.as_str()));
    assert_eq!(moved.name(), Some("stages"));
    assert_eq!(current_value(&client, "stages").await, "one");
    let described = client
        .describe_secret()
        .secret_id("stages")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stages(described.version_ids_to_stages()),
        expect_stages(&[(&token(1), &["AWSCURRENT"]), (&token(2), &["AWSPREVIOUS"])])
    );

    // A custom label is added next to the others, then removed.
    client
        .update_secret_version_stage()
        .secret_id("stages")
        .version_stage("BLUE")
        .move_to_version_id(token(1))
        .send()
        .await
        .unwrap();
    let blue = client
        .get_secret_value()
        .secret_id("stages")
        .version_stage("BLUE")
        .send()
        .await
        .unwrap();
    assert_eq!(sorted(blue.version_stages()), ["AWSCURRENT", "BLUE"]);
    client
        .update_secret_version_stage()
        .secret_id("stages")
        .version_stage("BLUE")
        .remove_from_version_id(token(1))
        .send()
        .await
        .unwrap();
    let f = failure(
        client
            .get_secret_value()
            .secret_id("stages")
            .version_stage("BLUE")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
}

#[tokio::test]
async fn delete_secret_schedules_and_restore_secret_cancels() {
    let (_server, client) = setup().await;
    let arn = create(&client, "doomed", "v", 1).await;

    let described = client
        .describe_secret()
        .secret_id("doomed")
        .send()
        .await
        .unwrap();
    assert!(described.deleted_date().is_none());

    let deleted = client
        .delete_secret()
        .secret_id("doomed")
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.arn(), Some(arn.as_str()));
    assert_eq!(deleted.name(), Some("doomed"));
    let in_a_week = deleted.deletion_date().unwrap().as_secs_f64() - now_epoch_secs();
    assert!((in_a_week - 7.0 * DAY).abs() < 300.0, "{in_a_week}");

    let described = client
        .describe_secret()
        .secret_id("doomed")
        .send()
        .await
        .unwrap();
    assert_eq!(described.deleted_date(), deleted.deletion_date());

    let f = failure(
        client
            .get_secret_value()
            .secret_id("doomed")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_request_exception());
    assert_failure(
        &f,
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
    );
    let f = failure(
        client
            .create_secret()
            .name("doomed")
            .secret_string("again")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_request_exception());
    assert_failure(
        &f,
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
    );

    let hidden = client.list_secrets().send().await.unwrap();
    assert!(hidden.secret_list().is_empty());
    let planned = client
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .unwrap();
    assert_eq!(planned.secret_list().len(), 1);
    assert_eq!(
        planned.secret_list()[0].deleted_date(),
        deleted.deletion_date()
    );

    let restored = client
        .restore_secret()
        .secret_id("doomed")
        .send()
        .await
        .unwrap();
    assert_eq!(restored.arn(), Some(arn.as_str()));
    assert_eq!(restored.name(), Some("doomed"));
    let described = client
        .describe_secret()
        .secret_id("doomed")
        .send()
        .await
        .unwrap();
    assert!(described.deleted_date().is_none());
    assert_eq!(current_value(&client, "doomed").await, "v");

    // The default window is 30 days.
    let deleted = client
        .delete_secret()
        .secret_id("doomed")
        .send()
        .await
        .unwrap();
    let in_a_month = deleted.deletion_date().unwrap().as_secs_f64() - now_epoch_secs();
    assert!((in_a_month - 30.0 * DAY).abs() < 300.0, "{in_a_month}");
}

#[tokio::test]
async fn delete_secret_refuses_bad_windows_and_forces() {
    let (_server, client) = setup().await;
    create(&client, "gone", "v", 1).await;

    let f = failure(
        client
            .delete_secret()
            .secret_id("gone")
            .recovery_window_in_days(3)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_parameter_exception());
    assert_failure(
        &f,
        "InvalidParameterException",
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
    );
    let f = failure(
        client
            .delete_secret()
            .secret_id("gone")
            .recovery_window_in_days(7)
            .force_delete_without_recovery(true)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_parameter_exception());

    let forced = client
        .delete_secret()
        .secret_id("gone")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_recent("DeletionDate", forced.deletion_date());
    let f = failure(
        client
            .describe_secret()
            .secret_id("gone")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
    let f = failure(
        client
            .restore_secret()
            .secret_id("gone")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());

    // The name is free again.
    create(&client, "gone", "reborn", 2).await;
    assert_eq!(current_value(&client, "gone").await, "reborn");

    // Forcing the deletion of a secret that never existed answers as if it had (DEL-2).
    let phantom = client
        .delete_secret()
        .secret_id("never-was")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_eq!(phantom.name(), Some("never-was"));
    assert!(phantom.arn().is_some());
    assert_recent("DeletionDate", phantom.deletion_date());
}

#[tokio::test]
async fn tag_resource_and_untag_resource() {
    let (_server, client) = setup().await;
    create(&client, "tags", "v", 1).await;
    let tags_of = || async {
        client
            .describe_secret()
            .secret_id("tags")
            .send()
            .await
            .unwrap()
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect::<Vec<_>>()
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());

    client
        .tag_resource()
        .secret_id("tags")
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of().await, [pair("a", "1"), pair("b", "2")]);

    // An existing key's value is overwritten.
    client
        .tag_resource()
        .secret_id("tags")
        .tags(tag("a", "one"))
        .send()
        .await
        .unwrap();
    let tags = tags_of().await;
    assert_eq!(tags.len(), 2);
    assert!(tags.contains(&pair("a", "one")));

    // Absent keys are not an error.
    client
        .untag_resource()
        .secret_id("tags")
        .tag_keys("a")
        .tag_keys("never")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of().await, [pair("b", "2")]);
    client
        .untag_resource()
        .secret_id("tags")
        .tag_keys("b")
        .send()
        .await
        .unwrap();
    assert!(tags_of().await.is_empty());

    let f = failure(
        client
            .tag_resource()
            .secret_id("nope")
            .tags(tag("a", "1"))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
    let f = failure(
        client
            .untag_resource()
            .secret_id("nope")
            .tag_keys("a")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
}

#[tokio::test]
async fn get_random_password_follows_its_options() {
    let (_server, client) = setup().await;
    let default = client.get_random_password().send().await.unwrap();
    let password = default.random_password().unwrap();
    assert_eq!(password.chars().count(), 32);
    assert!(!password.contains(' '));

    let alnum = client
        .get_random_password()
        .password_length(64)
        .exclude_punctuation(true)
        .exclude_characters("abc")
        .send()
        .await
        .unwrap();
    let alnum = alnum.random_password().unwrap();
    assert_eq!(alnum.chars().count(), 64);
    assert!(alnum.chars().all(|c| c.is_ascii_alphanumeric()), "{alnum}");
    assert!(!alnum.contains(['a', 'b', 'c']), "{alnum}");

    let digits = client
        .get_random_password()
        .password_length(10)
        .exclude_lowercase(true)
        .exclude_uppercase(true)
        .exclude_punctuation(true)
        .send()
        .await
        .unwrap();
    let digits = digits.random_password().unwrap();
    assert_eq!(digits.len(), 10);
    assert!(digits.chars().all(|c| c.is_ascii_digit()), "{digits}");

    let f = failure(
        client
            .get_random_password()
            .password_length(0)
            .send()
            .await
            .unwrap_err(),
    );
    assert_failure(
        &f,
        "ValidationException",
        "1 validation error detected: Value '0' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    let f = failure(
        client
            .get_random_password()
            .password_length(2)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_parameter_exception());
    assert_failure(
        &f,
        "InvalidParameterException",
        "Password length is too short based on the required types.",
    );
}

#[tokio::test]
async fn rotate_secret_without_a_function_is_refused_and_saves_nothing() {
    let (_server, client) = setup().await;
    create(&client, "rotating", "v", 1).await;
    let before = client
        .describe_secret()
        .secret_id("rotating")
        .send()
        .await
        .unwrap();

    let f = failure(
        client
            .rotate_secret()
            .secret_id("rotating")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_invalid_request_exception());
    assert_failure(
        &f,
        "InvalidRequestException",
        "No Lambda rotation function ARN is associated with this secret.",
    );

    let f = failure(
        client
            .rotate_secret()
            .secret_id("rotating")
            .rotation_lambda_arn("arn:aws:lambda:eu-west-1:000000000000:function:rotate")
            .send()
            .await
            .unwrap_err(),
    );
    assert_failure(
        &f,
        "AccessDeniedException",
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.",
    );

    // Nothing was saved: no rotation configuration, no AWSPENDING version.
    let after = client
        .describe_secret()
        .secret_id("rotating")
        .send()
        .await
        .unwrap();
    assert!(after.rotation_enabled().is_none());
    assert!(after.rotation_lambda_arn().is_none());
    assert!(after.rotation_rules().is_none());
    assert_eq!(
        stages(after.version_ids_to_stages()),
        stages(before.version_ids_to_stages())
    );
    assert_eq!(after.last_changed_date(), before.last_changed_date());
    let f = failure(
        client
            .get_secret_value()
            .secret_id("rotating")
            .version_stage("AWSPENDING")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());

    let f = failure(
        client
            .rotate_secret()
            .secret_id("nope")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.is_resource_not_found_exception());
}

#[tokio::test]
async fn rotate_secret_validates_its_rules_first() {
    use aws_sdk_secretsmanager::types::RotationRulesType;
    let (_server, client) = setup().await;
    create(&client, "scheduled", "v", 1).await;
    let arn = "arn:aws:lambda:eu-west-1:000000000000:function:rotate";
    let rotate = |rules: RotationRulesType| {
        client
            .rotate_secret()
            .secret_id("scheduled")
            .rotation_lambda_arn(arn)
            .rotation_rules(rules)
            .send()
    };
    // Days out of range: a model constraint.
    let f = failure(
        rotate(
            RotationRulesType::builder()
                .automatically_after_days(0)
                .build(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(f.code, "ValidationException", "{f:?}");
    assert!(
        f.message.contains("rotationRules.automaticallyAfterDays"),
        "{f:?}"
    );
    // Both a day count and an expression; then schedules AWS does not allow.
    for rules in [
        RotationRulesType::builder()
            .automatically_after_days(1)
            .schedule_expression("rate(1 days)")
            .build(),
        RotationRulesType::builder()
            .schedule_expression("rate(2 hours)")
            .build(),
        RotationRulesType::builder()
            .schedule_expression("cron(30 10 * * ? *)")
            .build(),
        RotationRulesType::builder()
            .schedule_expression("rate(1 days)")
            .duration("36h")
            .build(),
    ] {
        let f = failure(rotate(rules).await.unwrap_err());
        assert_eq!(f.code, "InvalidParameterException", "{f:?}");
    }
    // Valid rules get as far as the function, which cannot be invoked.
    let f = failure(
        rotate(
            RotationRulesType::builder()
                .schedule_expression("cron(0 4 ? * SUN *)")
                .duration("2h")
                .build(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(f.code, "AccessDeniedException", "{f:?}");
}

#[tokio::test]
async fn invalid_names_are_validation_errors_in_aws_form() {
    let (_server, client) = setup().await;
    let message = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!";

    let f = failure(
        client
            .create_secret()
            .name("bad name!")
            .secret_string("v")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.error.meta().code() == Some("ValidationException"));
    assert_failure(&f, "ValidationException", message);

    let f = failure(
        client
            .describe_secret()
            .secret_id("bad name!")
            .send()
            .await
            .unwrap_err(),
    );
    assert_failure(&f, "ValidationException", message);
    let f = failure(
        client
            .get_secret_value()
            .secret_id("bad#name")
            .send()
            .await
            .unwrap_err(),
    );
    assert_failure(&f, "ValidationException", message);

    let too_long = "n".repeat(513);
    let f = failure(
        client
            .create_secret()
            .name(&too_long)
            .secret_string("v")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "ValidationException");
    assert!(
        f.message.starts_with("1 validation error detected: "),
        "{}",
        f.message
    );
    assert!(
        f.message
            .ends_with("at 'name' failed to satisfy constraint: Member must have length less than or equal to 512"),
        "{}",
        f.message
    );

    let f = failure(
        client
            .create_secret()
            .name("short-token")
            .secret_string("v")
            .client_request_token("too-short")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "ValidationException");
    assert!(f.message.contains("'clientRequestToken'"), "{}", f.message);
}
