//! WRITE-1 [recorded]: SDKs and the CLI fill in `ClientRequestToken`; a raw `CreateSecret`,
//! `UpdateSecret` or `PutSecretValue` without one is `InvalidRequestException` (and
//! `RotateSecret` `InvalidParameterException`), checked before the secret is looked up, and
//! nothing is written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use common::{TestServer, call_raw};

const MISSING: &str =
    "You must provide a ClientRequestToken value. We recommend a UUID-type value.";
const TOKEN: &str = "00000000-0000-4000-8000-000000000001";

async fn versions_of(server: &TestServer, name: &str) -> usize {
    let response = call_raw(
        server,
        "ListSecretVersionIds",
        &serde_json::json!({ "SecretId": name }).to_string(),
    )
    .await;
    assert_eq!(response.status, 200, "{response:?}");
    response.json()["Versions"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_write_without_a_client_request_token_is_refused_before_the_secret_is_looked_up() {
    let server = TestServer::start().await;
    let created = call_raw(
        &server,
        "CreateSecret",
        &serde_json::json!({ "Name": "exists", "SecretString": "v1", "ClientRequestToken": TOKEN })
            .to_string(),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");

    for (operation, body, error) in [
        (
            "CreateSecret",
            serde_json::json!({ "Name": "new", "SecretString": "v" }),
            "InvalidRequestException",
        ),
        (
            "CreateSecret",
            serde_json::json!({ "Name": "exists", "SecretString": "v" }),
            "InvalidRequestException",
        ),
        (
            "PutSecretValue",
            serde_json::json!({ "SecretId": "exists", "SecretString": "v2" }),
            "InvalidRequestException",
        ),
        (
            "PutSecretValue",
            serde_json::json!({ "SecretId": "unknown", "SecretString": "v2" }),
            "InvalidRequestException",
        ),
        (
            "UpdateSecret",
            serde_json::json!({ "SecretId": "exists", "SecretString": "v2" }),
            "InvalidRequestException",
        ),
        (
            "UpdateSecret",
            serde_json::json!({ "SecretId": "unknown", "Description": "d" }),
            "InvalidRequestException",
        ),
        (
            "RotateSecret",
            serde_json::json!({ "SecretId": "unknown" }),
            "InvalidParameterException",
        ),
    ] {
        let response = call_raw(&server, operation, &body.to_string()).await;
        response.assert_error(400, error);
        assert_eq!(response.message(), MISSING, "{operation} {body}");
    }

    // Nothing was written: "new" does not exist, "exists" still has its one version.
    let described = call_raw(&server, "DescribeSecret", r#"{"SecretId": "new"}"#).await;
    described.assert_error(400, "ResourceNotFoundException");
    assert_eq!(versions_of(&server, "exists").await, 1);

    // With a token, the same requests succeed.
    let put = call_raw(
        &server,
        "PutSecretValue",
        &serde_json::json!({
            "SecretId": "exists",
            "SecretString": "v2",
            "ClientRequestToken": "00000000-0000-4000-8000-000000000002",
        })
        .to_string(),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(versions_of(&server, "exists").await, 2);
}
