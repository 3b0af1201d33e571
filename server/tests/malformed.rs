//! Malformed requests over raw HTTP: each gets the AWS error a real endpoint gives (status,
//! `__type`, a message that says what is wrong), every answer carries the protocol headers, and
//! the server keeps serving good requests afterwards. Bodies over the limit are refused before
//! they arrive, and with authentication off, requests a web page could send are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::{RawResponse, TestServer, call_raw, chunked, full, json_request, send_raw};

/// A request every server answers with 200.
async fn assert_still_serving(server: &TestServer) {
    let response = call_raw(server, "ListSecrets", "{}").await;
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_protocol_headers();
    assert!(response.json()["SecretList"].is_array(), "{response:?}");
}

async fn create(server: &TestServer, name: &str) {
    let body = serde_json::json!({
        "Name": name,
        "SecretString": "value",
        "ClientRequestToken": "00000000-0000-4000-8000-000000000001",
    });
    let response = call_raw(server, "CreateSecret", &body.to_string()).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_serialization_error() {
    let server = TestServer::start().await;
    for body in [
        "not json",
        "{\"SecretId\":",
        "{'SecretId': 'x'}",
        "{\"SecretId\": \"x\",}",
        "{} {}",
        "\u{0}",
    ] {
        let response = call_raw(&server, "DescribeSecret", body).await;
        response.assert_error(400, "SerializationException");
        assert!(
            response
                .message()
                .starts_with("The request body is not valid JSON: "),
            "{body:?}: {response:?}"
        );
        assert_still_serving(&server).await;
    }
}

#[tokio::test]
async fn a_member_of_the_wrong_type_is_a_serialization_error_naming_it() {
    let server = TestServer::start().await;
    for (operation, body, member) in [
        ("DescribeSecret", r#"{"SecretId": 5}"#, "SecretId"),
        ("DescribeSecret", r#"{"SecretId": ["a"]}"#, "SecretId"),
        ("ListSecrets", r#"{"MaxResults": "ten"}"#, "MaxResults"),
        (
            "ListSecrets",
            r#"{"IncludePlannedDeletion": "yes"}"#,
            "IncludePlannedDeletion",
        ),
        (
            "CreateSecret",
            r#"{"Name": "n", "Tags": [{"Key": 1, "Value": "v"}]}"#,
            "Tags[0].Key",
        ),
        (
            "CreateSecret",
            r#"{"Name": "n", "SecretString": 7}"#,
            "SecretString",
        ),
    ] {
        let response = call_raw(&server, operation, body).await;
        response.assert_error(400, "SerializationException");
        let message = response.message();
        assert!(
            message.starts_with(&format!("Member '{member}' is not valid: ")),
            "{body}: {message}"
        );
        assert_still_serving(&server).await;
    }
}

#[tokio::test]
async fn json_that_is_not_an_object_is_a_serialization_error() {
    let server = TestServer::start().await;
    create(&server, "planned").await;
    // An array must not be read as the members in declaration order (`[true]` would otherwise
    // be `IncludePlannedDeletion: true`).
    for body in [
        "[]",
        "[true]",
        "[1, 2]",
        "\"SecretId\"",
        "42",
        "true",
        "null",
    ] {
        let response = call_raw(&server, "ListSecrets", body).await;
        response.assert_error(400, "SerializationException");
        assert_eq!(
            response.message(),
            "The request body must be a JSON object.",
            "{body}"
        );
        assert_still_serving(&server).await;
    }
}

#[tokio::test]
async fn a_missing_required_member_is_a_validation_error() {
    let server = TestServer::start().await;
    for (operation, member) in [
        ("DescribeSecret", "secretId"),
        ("GetSecretValue", "secretId"),
        ("DeleteSecret", "secretId"),
        ("CreateSecret", "name"),
    ] {
        let response = call_raw(&server, operation, "{}").await;
        response.assert_error(400, "ValidationException");
        assert_eq!(
            response.message(),
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            )
        );
        assert_still_serving(&server).await;
    }
    // An explicit null is the same as an absent member.
    let response = call_raw(&server, "DescribeSecret", r#"{"SecretId": null}"#).await;
    response.assert_error(400, "ValidationException");
    assert_eq!(
        response.message(),
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"
    );
}

/// Each member the engine validates, sent invalid: the message names it by AWS's JSON member path
/// (the engine names it by the API's member name; the server spells the wire form).
#[tokio::test]
async fn a_validation_error_names_the_json_member_path() {
    let server = TestServer::start().await;
    create(&server, "s").await;
    let token = "00000000-0000-4000-8000-000000000009";
    let long = "a".repeat(2049);
    let filters = |f: serde_json::Value| serde_json::json!({ "Filters": f });
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "CreateSecret",
            serde_json::json!({"Name": "", "ClientRequestToken": token}),
            "name",
        ),
        (
            "DescribeSecret",
            serde_json::json!({"SecretId": ""}),
            "secretId",
        ),
        (
            "BatchGetSecretValue",
            serde_json::json!({"SecretIdList": []}),
            "secretIdList",
        ),
        (
            "CreateSecret",
            serde_json::json!({"Name": "d", "Description": long, "ClientRequestToken": token}),
            "description",
        ),
        (
            "CreateSecret",
            serde_json::json!({"Name": "k", "KmsKeyId": long, "ClientRequestToken": token}),
            "kmsKeyId",
        ),
        (
            "TagResource",
            serde_json::json!({"SecretId": "s", "Tags": [{"Key": "", "Value": "v"}]}),
            "tagKey",
        ),
        (
            "TagResource",
            serde_json::json!({"SecretId": "s", "Tags": [{"Key": "k", "Value": "a;b"}]}),
            "tagValue",
        ),
        (
            "PutSecretValue",
            serde_json::json!({"SecretId": "s", "SecretString": "v", "ClientRequestToken": "short"}),
            "clientRequestToken",
        ),
        (
            "GetSecretValue",
            serde_json::json!({"SecretId": "s", "VersionId": "short"}),
            "versionId",
        ),
        (
            "GetSecretValue",
            serde_json::json!({"SecretId": "s", "VersionStage": ""}),
            "versionStage",
        ),
        (
            "PutSecretValue",
            serde_json::json!({"SecretId": "s", "SecretString": "v", "ClientRequestToken": token, "VersionStages": []}),
            "versionStages",
        ),
        (
            "PutSecretValue",
            serde_json::json!({"SecretId": "s", "SecretString": "v", "ClientRequestToken": token, "VersionStages": [""]}),
            "versionStages.member",
        ),
        (
            "UpdateSecretVersionStage",
            serde_json::json!({"SecretId": "s", "VersionStage": "L", "MoveToVersionId": "short"}),
            "moveToVersionId",
        ),
        (
            "UpdateSecretVersionStage",
            serde_json::json!({"SecretId": "s", "VersionStage": "L", "RemoveFromVersionId": "short"}),
            "removeFromVersionId",
        ),
        (
            "PutSecretValue",
            serde_json::json!({"SecretId": "s", "SecretString": "x".repeat(65_537), "ClientRequestToken": token}),
            "secretString",
        ),
        (
            "ListSecrets",
            serde_json::json!({"MaxResults": 0}),
            "maxResults",
        ),
        (
            "ListSecrets",
            serde_json::json!({"MaxResults": 10_000_000_000_i64}),
            "maxResults",
        ),
        (
            "ListSecretVersionIds",
            serde_json::json!({"SecretId": "s", "MaxResults": 101}),
            "maxResults",
        ),
        (
            "BatchGetSecretValue",
            serde_json::json!({"Filters": [{"Key": "name", "Values": ["s"]}], "MaxResults": 21}),
            "maxResults",
        ),
        (
            "ListSecrets",
            filters(
                (0..11)
                    .map(|_| serde_json::json!({"Key": "name", "Values": ["a"]}))
                    .collect(),
            ),
            "filters",
        ),
        (
            "ListSecrets",
            filters(
                serde_json::json!([{"Key": "name", "Values": ["a"]}, {"Key": "size", "Values": ["a"]}]),
            ),
            "filters.2.member.key",
        ),
        (
            "ListSecrets",
            filters(serde_json::json!([{"Key": "name", "Values": []}])),
            "filters.member.values",
        ),
        (
            "ListSecrets",
            filters(serde_json::json!([{"Key": "name", "Values": ["a*b"]}])),
            "filters.member.values.member",
        ),
        (
            "ListSecrets",
            serde_json::json!({"SortBy": "size"}),
            "sortBy",
        ),
        (
            "ListSecrets",
            serde_json::json!({"SortOrder": "ASC"}),
            "sortOrder",
        ),
        (
            "GetRandomPassword",
            serde_json::json!({"PasswordLength": 0}),
            "passwordLength",
        ),
        (
            "GetRandomPassword",
            serde_json::json!({"ExcludeCharacters": "x".repeat(4097)}),
            "excludeCharacters",
        ),
        (
            "RotateSecret",
            serde_json::json!({"SecretId": "s", "RotationLambdaARN": long, "ClientRequestToken": token}),
            "rotationLambdaARN",
        ),
        (
            "RotateSecret",
            serde_json::json!({"SecretId": "s", "RotationRules": {"AutomaticallyAfterDays": 0}, "ClientRequestToken": token}),
            "rotationRules.automaticallyAfterDays",
        ),
        (
            "RotateSecret",
            serde_json::json!({"SecretId": "s", "RotationRules": {"ScheduleExpression": "rate(1 h;)"}, "ClientRequestToken": token}),
            "rotationRules.scheduleExpression",
        ),
    ];
    for (operation, body, member) in cases {
        let response = call_raw(&server, operation, &body.to_string()).await;
        let message = response.message();
        assert_eq!(
            (response.status, response.json()["__type"].as_str()),
            (400, Some("ValidationException")),
            "{operation} {member}: {message}"
        );
        assert!(
            message.starts_with("1 validation error detected: Value '")
                && message.contains(&format!(
                    "' at '{member}' failed to satisfy constraint: Member must "
                )),
            "{operation} {member}: {message}"
        );
        assert!(
            !message.contains("xxxxxxxx"),
            "a value was echoed: {message}"
        );
    }
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn an_empty_body_is_an_empty_object() {
    let server = TestServer::start().await;
    create(&server, "listed").await;
    for body in ["", "  \n"] {
        let response = call_raw(&server, "ListSecrets", body).await;
        assert_eq!(response.status, 200, "{body:?}: {response:?}");
        response.assert_protocol_headers();
        assert_eq!(response.json()["SecretList"][0]["Name"], "listed");
    }
    // Members the server does not know are ignored.
    let response = call_raw(&server, "ListSecrets", r#"{"NoSuchMember": {"x": 1}}"#).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn a_request_without_x_amz_target_is_an_unknown_operation() {
    let server = TestServer::start().await;
    let response = send_raw(&server, json_request(&server, None, full("{}"))).await;
    response.assert_error(400, "UnknownOperationException");
    assert!(response.message().contains("X-Amz-Target"), "{response:?}");
    assert_still_serving(&server).await;

    // A target of another service.
    let mut request = json_request(&server, None, full("{}"));
    request
        .headers_mut()
        .insert("x-amz-target", "AmazonSSM.GetParameter".parse().unwrap());
    let response = send_raw(&server, request).await;
    response.assert_error(400, "UnknownOperationException");
    assert!(
        response.message().contains("AmazonSSM.GetParameter"),
        "{response:?}"
    );
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn an_unknown_operation_is_refused() {
    let server = TestServer::start().await;
    let response = call_raw(&server, "Frobnicate", "{}").await;
    response.assert_error(400, "UnknownOperationException");
    assert_eq!(response.message(), "Unknown operation 'Frobnicate'.");
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn a_known_but_unimplemented_operation_says_so() {
    let server = TestServer::start().await;
    create(&server, "with-policy").await;
    let body = r#"{"SecretId": "with-policy", "ResourcePolicy": "{}"}"#;
    let response = call_raw(&server, "PutResourcePolicy", body).await;
    response.assert_error(400, "UnknownOperationException");
    let message = response.message();
    assert!(message.starts_with("PutResourcePolicy "), "{message}");
    assert!(message.contains("does not implement"), "{message}");
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn only_post_slash_is_served() {
    let server = TestServer::start().await;

    let request = http::Request::get("/")
        .header(http::header::HOST, server.addr.to_string())
        .header("x-amz-target", "secretsmanager.ListSecrets")
        .body(full(Bytes::new()))
        .unwrap();
    let response = send_raw(&server, request).await;
    response.assert_error(405, "UnknownOperationException");
    assert_still_serving(&server).await;

    let mut request = json_request(&server, Some("ListSecrets"), full("{}"));
    *request.uri_mut() = "/other".parse().unwrap();
    let response = send_raw(&server, request).await;
    response.assert_error(404, "UnknownOperationException");
    assert_still_serving(&server).await;
}

/// A ListSecrets body of exactly `len` bytes: `{}` padded with spaces.
fn padded_body(len: usize) -> String {
    format!("{{}}{}", " ".repeat(len - 2))
}

async fn limited_server() -> TestServer {
    TestServer::start_with(|s| s.with_max_body_bytes(1024)).await
}

#[tokio::test]
async fn a_body_over_the_limit_with_a_content_length_is_refused() {
    let server = limited_server().await;

    let at_limit = json_request(&server, Some("ListSecrets"), full(padded_body(1024)));
    assert_eq!(
        at_limit.headers().get(http::header::CONTENT_LENGTH),
        None,
        "hyper adds Content-Length itself"
    );
    let response = send_raw(&server, at_limit).await;
    assert_eq!(response.status, 200, "{response:?}");

    for len in [1025, 64 * 1024] {
        let request = json_request(&server, Some("ListSecrets"), full(padded_body(len)));
        let response = send_raw(&server, request).await;
        response.assert_error(413, "RequestEntityTooLargeException");
        assert!(response.message().contains("1024 bytes"), "{response:?}");
        assert_still_serving(&server).await;
    }
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused() {
    let server = limited_server().await;

    // Under the limit in several chunks: read whole.
    let body = padded_body(1000);
    let chunks = body
        .as_bytes()
        .chunks(300)
        .map(Bytes::copy_from_slice)
        .collect();
    let request = json_request(&server, Some("ListSecrets"), chunked(chunks));
    let response = send_raw(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");

    for (len, chunk) in [(1025, 1025), (4096, 512)] {
        let body = padded_body(len);
        let chunks = body
            .as_bytes()
            .chunks(chunk)
            .map(Bytes::copy_from_slice)
            .collect();
        let request = json_request(&server, Some("ListSecrets"), chunked(chunks));
        let response = send_raw(&server, request).await;
        response.assert_error(413, "RequestEntityTooLargeException");
        assert_still_serving(&server).await;
    }
}

/// Writes `bytes` on a new connection to `server`.
async fn connect_and_send(server: &TestServer, bytes: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Reads a 413 that must come although the client has not sent (all of) the body, and checks
/// that it closes the connection: the unread body cannot carry another request.
async fn assert_refused_before_the_body(stream: &mut tokio::net::TcpStream, limit: usize) {
    let response = tokio::time::timeout(Duration::from_secs(10), common::read_response(stream))
        .await
        .expect("no answer while the body is still owed: the server waits for the body");
    response.assert_error(413, "RequestEntityTooLargeException");
    assert!(
        response.message().contains(&format!("{limit} bytes")),
        "{response:?}"
    );
    assert_eq!(
        response
            .headers
            .get(http::header::CONNECTION)
            .map(|v| v.to_str().unwrap()),
        Some("close"),
        "{response:?}"
    );
    assert!(
        common::closed_within(stream, Duration::from_secs(10)).await,
        "the server kept the connection open after the 413"
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_any_of_the_body_is_sent() {
    let server = TestServer::start().await;
    let addr = server.addr;
    // Only the head: 100,000,000 bytes announced, none sent. Were the server to read the body
    // first, no answer would ever come.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100000000\r\n\r\n"
    );
    let mut stream = connect_and_send(&server, head.as_bytes()).await;
    assert_refused_before_the_body(&mut stream, strongroom_server::DEFAULT_MAX_BODY_BYTES).await;
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() {
    let server = limited_server().await;
    let addr = server.addr;
    // 1,500 bytes in two chunks, and the body never ends (no last chunk): the refusal cannot
    // wait for the end of the body.
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in [padded_body(750), " ".repeat(750)] {
        request.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    let mut stream = connect_and_send(&server, &request).await;
    assert_refused_before_the_body(&mut stream, 1024).await;
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn a_chunked_request_really_has_no_content_length() {
    // The chunked helper must not let hyper compute a length, or the test above would test the
    // Content-Length path twice.
    use hyper::body::Body as _;
    let body = chunked(vec![Bytes::from_static(b"{}")]);
    assert_eq!(body.size_hint().exact(), None);
    let body = full("{}");
    assert_eq!(body.size_hint().exact(), Some(2));
}

#[tokio::test]
async fn both_secret_string_and_secret_binary_is_an_invalid_parameter() {
    let server = TestServer::start().await;
    create(&server, "both").await;
    for (operation, body) in [
        (
            "CreateSecret",
            r#"{"Name": "both-new", "SecretString": "s", "SecretBinary": "AAEC", "ClientRequestToken": "00000000-0000-4000-8000-000000000002"}"#,
        ),
        (
            "PutSecretValue",
            r#"{"SecretId": "both", "SecretString": "s", "SecretBinary": "AAEC", "ClientRequestToken": "00000000-0000-4000-8000-000000000003"}"#,
        ),
        (
            "UpdateSecret",
            r#"{"SecretId": "both", "SecretString": "s", "SecretBinary": "AAEC", "ClientRequestToken": "00000000-0000-4000-8000-000000000004"}"#,
        ),
    ] {
        let response = call_raw(&server, operation, body).await;
        response.assert_error(400, "InvalidParameterException");
        assert_eq!(
            response.message(),
            "You can't specify both a binary secret value and a string secret value in the same secret."
        );
        assert_still_serving(&server).await;
    }
    // Nothing was created or written.
    let response = call_raw(&server, "DescribeSecret", r#"{"SecretId": "both-new"}"#).await;
    response.assert_error(400, "ResourceNotFoundException");
    let response = call_raw(&server, "ListSecretVersionIds", r#"{"SecretId": "both"}"#).await;
    assert_eq!(response.json()["Versions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_secret_binary_that_is_not_base64_is_a_serialization_error() {
    let server = TestServer::start().await;
    for blob in ["not base64!", "AAE", "@@@@"] {
        let body = serde_json::json!({
            "Name": "blob",
            "SecretBinary": blob,
            "ClientRequestToken": "00000000-0000-4000-8000-000000000005",
        });
        let response = call_raw(&server, "CreateSecret", &body.to_string()).await;
        response.assert_error(400, "SerializationException");
        let message = response.message();
        assert!(
            message.starts_with("Member 'SecretBinary' is not valid: "),
            "{message}"
        );
        assert!(message.contains("base64"), "{message}");
        assert_still_serving(&server).await;
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_the_json_content_type() {
    let server = TestServer::start().await;
    create(&server, "tagged").await;
    let mut ids = std::collections::HashSet::new();
    let mut note = |r: &RawResponse| {
        r.assert_protocol_headers();
        let id = r.headers["x-amzn-requestid"].to_str().unwrap().to_owned();
        assert!(ids.insert(id), "request ids repeat");
    };

    let ok = call_raw(&server, "DescribeSecret", r#"{"SecretId": "tagged"}"#).await;
    assert_eq!(ok.status, 200);
    note(&ok);

    // Operations without output answer an empty body, still with the content type.
    let tagged = call_raw(
        &server,
        "TagResource",
        r#"{"SecretId": "tagged", "Tags": [{"Key": "k", "Value": "v"}]}"#,
    )
    .await;
    assert_eq!(tagged.status, 200, "{tagged:?}");
    assert!(tagged.body.is_empty(), "{tagged:?}");
    note(&tagged);
    let untagged = call_raw(
        &server,
        "UntagResource",
        r#"{"SecretId": "tagged", "TagKeys": ["k"]}"#,
    )
    .await;
    assert_eq!(untagged.status, 200, "{untagged:?}");
    assert!(untagged.body.is_empty(), "{untagged:?}");
    note(&untagged);

    for response in [
        call_raw(&server, "DescribeSecret", r#"{"SecretId": "absent"}"#).await,
        call_raw(&server, "DescribeSecret", "nope").await,
        call_raw(&server, "Frobnicate", "{}").await,
        send_raw(&server, json_request(&server, None, full("{}"))).await,
    ] {
        assert_eq!(response.status, 400, "{response:?}");
        note(&response);
    }
}

#[tokio::test]
async fn with_authentication_a_signed_malformed_body_is_still_a_serialization_error() {
    use std::time::{Duration, UNIX_EPOCH};
    let time = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let server = TestServer::start_with(|s| {
        s.with_credentials(common::test_credentials())
            .with_clock(std::sync::Arc::new(strongroom::ManualClock::new(time)))
    })
    .await;
    let mut request = common::signable_request(&server, "DescribeSecret", r#"{"SecretId": 5}"#);
    common::sign(&mut request, &common::SignWith::test("us-east-1", time));
    let response = common::send_bytes(&server, request).await;
    response.assert_error(400, "SerializationException");
    assert!(
        response
            .message()
            .starts_with("Member 'SecretId' is not valid"),
        "{response:?}"
    );

    // And unsigned, the same body is refused before it is looked at.
    let request = common::signable_request(&server, "DescribeSecret", r#"{"SecretId": 5}"#);
    let response = common::send_bytes(&server, request).await;
    response.assert_error(400, "MissingAuthenticationTokenException");
}

/// A ListSecrets request (authentication off) with `Host: host` and the extra `headers`.
async fn list_with(server: &TestServer, host: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut request = json_request(server, Some("ListSecrets"), full("{}"));
    request
        .headers_mut()
        .insert(http::header::HOST, host.parse().unwrap());
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    send_raw(server, request).await
}

#[tokio::test]
async fn without_authentication_a_request_with_an_origin_is_refused() {
    let server = TestServer::start().await;
    let host = server.addr.to_string();
    for origin in ["http://evil.example", "null", server.url.as_str()] {
        let response = list_with(&server, &host, &[("origin", origin)]).await;
        response.assert_error(403, "AccessDeniedException");
        assert!(response.message().contains("Origin"), "{response:?}");
    }

    // A write from a web page does nothing.
    let mut request = json_request(
        &server,
        Some("CreateSecret"),
        full(r#"{"Name": "from-a-page", "SecretString": "v"}"#),
    );
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    send_raw(&server, request)
        .await
        .assert_error(403, "AccessDeniedException");
    let response = call_raw(&server, "DescribeSecret", r#"{"SecretId": "from-a-page"}"#).await;
    response.assert_error(400, "ResourceNotFoundException");
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn without_authentication_only_a_loopback_host_is_served() {
    let server = TestServer::start().await;
    let port = server.addr.port();
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        "192.168.1.5:80".to_owned(),
        format!("10.0.0.1:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        format!("[2001:db8::1]:{port}"),
    ] {
        let response = list_with(&server, &host, &[]).await;
        response.assert_error(403, "AccessDeniedException");
        assert!(
            response.message().contains("loopback"),
            "{host}: {response:?}"
        );
    }
    for host in [
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        "localhost".to_owned(),
        format!("127.0.0.1:{port}"),
        "127.0.0.1".to_owned(),
        format!("[::1]:{port}"),
        "[::1]".to_owned(),
    ] {
        let response = list_with(&server, &host, &[]).await;
        assert_eq!(response.status, 200, "{host}: {response:?}");
    }

    // No Host at all (HTTP/1.0 allows it) names no loopback host either.
    let request = b"POST / HTTP/1.0\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}";
    let mut stream = connect_and_send(&server, request).await;
    let response = common::read_response(&mut stream).await;
    response.assert_error(403, "AccessDeniedException");
}

#[tokio::test]
async fn accepting_any_host_still_refuses_an_origin() {
    let server =
        TestServer::start_with(strongroom_server::ServerState::dangerous_accept_any_host).await;
    for host in ["evil.example", "192.168.1.5:80"] {
        let response = list_with(&server, host, &[]).await;
        assert_eq!(response.status, 200, "{host}: {response:?}");
        let response = list_with(&server, host, &[("origin", "http://evil.example")]).await;
        response.assert_error(403, "AccessDeniedException");
    }
    let host = server.addr.to_string();
    let response = list_with(&server, &host, &[("origin", "http://evil.example")]).await;
    response.assert_error(403, "AccessDeniedException");
}
