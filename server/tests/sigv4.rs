//! SigV4 verification, with the `aws-sigv4` crate as the signing oracle: requests it signs pass,
//! and each way of breaking a signature (key, body, signed header, date, scope, missing parts)
//! is refused with the AWS error a real endpoint gives. The server's clock is a `ManualClock`, so
//! no test depends on the wall clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{PayloadChecksumKind, SigningSettings};
use common::{SignWith, TestServer, send_bytes, sign, signable_request};
use strongroom::ManualClock;

/// The server's time in these tests: 2030-03-17T17:46:40Z.
const T0_SECS: u64 = 1_900_000_000;

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0_SECS)
}

/// A server verifying the test credentials against a manual clock standing at [`t0`].
async fn server() -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let server_clock = clock.clone();
    let server = TestServer::start_with(move |s| {
        s.with_credentials(common::test_credentials())
            .with_clock(server_clock)
    })
    .await;
    (server, clock)
}

fn list_secrets(server: &TestServer) -> http::Request<bytes::Bytes> {
    signable_request(server, "ListSecrets", "{}")
}

fn header<'a>(request: &'a http::Request<bytes::Bytes>, name: &str) -> &'a str {
    request
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn a_correctly_signed_request_passes() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    // What the oracle produced is a real SigV4 header over the headers we gave it.
    let auth = header(&request, "authorization").to_owned();
    assert!(
        auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={}/20300317/us-east-1/secretsmanager/aws4_request",
            common::ACCESS_KEY_ID
        )),
        "{auth}"
    );
    assert!(
        auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"),
        "{auth}"
    );
    assert_eq!(header(&request, "x-amz-date"), "20300317T174640Z");

    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_protocol_headers();
    assert_eq!(response.json()["SecretList"], serde_json::json!([]));
}

#[tokio::test]
async fn a_request_carrying_x_amz_content_sha256_passes_when_it_matches() {
    let (server, _clock) = server().await;
    let mut request = signable_request(&server, "GetRandomPassword", r#"{"PasswordLength":12}"#);
    let mut with = SignWith::test("us-east-1", t0());
    with.settings = SigningSettings::default();
    with.settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    sign(&mut request, &with);
    assert!(request.headers().contains_key("x-amz-content-sha256"));
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
    let password = response.json()["RandomPassword"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(password.chars().count(), 12);
}

#[tokio::test]
async fn an_unsigned_header_added_after_signing_does_not_matter() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    request
        .headers_mut()
        .insert("x-unsigned-extra", "anything".parse().unwrap());
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn a_wrong_secret_key_is_an_invalid_signature() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    let mut with = SignWith::test("us-east-1", t0());
    with.secret_access_key = "not-the-secret-access-key";
    sign(&mut request, &with);
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
    assert!(
        response
            .message()
            .starts_with("The request signature we calculated does not match"),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_body_changed_after_signing_is_an_invalid_signature() {
    let (server, _clock) = server().await;
    let mut request = signable_request(&server, "ListSecrets", r#"{"MaxResults":5}"#);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    *request.body_mut() = bytes::Bytes::from_static(br#"{"MaxResults":6}"#);
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
    assert!(
        response
            .message()
            .starts_with("The request signature we calculated does not match"),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_signed_header_changed_after_signing_is_an_invalid_signature() {
    let (server, _clock) = server().await;
    for (name, value) in [
        ("x-amz-target", "secretsmanager.GetRandomPassword"),
        ("content-type", "application/json"),
        ("host", "secretsmanager.us-east-1.amazonaws.com"),
    ] {
        let mut request = list_secrets(&server);
        sign(&mut request, &SignWith::test("us-east-1", t0()));
        request.headers_mut().insert(name, value.parse().unwrap());
        let response = send_bytes(&server, request).await;
        response.assert_error(400, "InvalidSignatureException");
    }
}

#[tokio::test]
async fn a_date_more_than_15_minutes_old_has_expired() {
    let (server, _clock) = server().await;
    let fifteen = Duration::from_secs(15 * 60);

    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0() - fifteen));
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "15 minutes old is still accepted");

    let mut request = list_secrets(&server);
    let signed_at = t0() - fifteen - Duration::from_secs(1);
    sign(&mut request, &SignWith::test("us-east-1", signed_at));
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
    let message = response.message();
    assert!(message.starts_with("Signature expired"), "{message}");
    assert!(
        message.starts_with(
            "Signature expired: 20300317T173139Z is now earlier than 20300317T173140Z (20300317T174640Z - 15 min.)"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_request_expires_when_the_server_clock_moves_on() {
    let (server, clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    let again = request.clone();
    assert_eq!(send_bytes(&server, request).await.status, 200);

    clock.advance(Duration::from_secs(15 * 60 + 1));
    let response = send_bytes(&server, again).await;
    response.assert_error(400, "InvalidSignatureException");
    assert!(
        response.message().starts_with("Signature expired"),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_date_more_than_15_minutes_ahead_is_not_yet_current() {
    let (server, _clock) = server().await;
    let fifteen = Duration::from_secs(15 * 60);

    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0() + fifteen));
    assert_eq!(send_bytes(&server, request).await.status, 200);

    let mut request = list_secrets(&server);
    let signed_at = t0() + fifteen + Duration::from_secs(1);
    sign(&mut request, &SignWith::test("us-east-1", signed_at));
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
    let message = response.message();
    assert!(
        message.starts_with(
            "Signature not yet current: 20300317T180141Z is still later than 20300317T180140Z (20300317T174640Z + 15 min.)"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn no_authorization_header_is_a_missing_token() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    request
        .headers_mut()
        .insert("x-amz-date", "20300317T174640Z".parse().unwrap());
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "MissingAuthenticationTokenException");
    assert_eq!(response.message(), "Missing Authentication Token");
}

#[tokio::test]
async fn an_authorization_header_without_a_signature_is_incomplete() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    let auth = header(&request, "authorization").to_owned();
    let (without, _) = auth.split_once(", Signature=").unwrap();
    assert!(!without.contains("Signature="));
    request
        .headers_mut()
        .insert("authorization", without.parse().unwrap());
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "IncompleteSignatureException");
    assert!(response.message().contains("'Signature'"), "{response:?}");
}

#[tokio::test]
async fn an_authorization_header_of_another_scheme_is_incomplete() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    request.headers_mut().insert(
        "authorization",
        "Basic dXNlcjpwYXNzd29yZA==".parse().unwrap(),
    );
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "IncompleteSignatureException");
}

#[tokio::test]
async fn an_unknown_access_key_is_unrecognized() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    let mut with = SignWith::test("us-east-1", t0());
    with.access_key_id = "AKIDNOBODYKNOWS";
    sign(&mut request, &with);
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "UnrecognizedClientException");
    assert_eq!(
        response.message(),
        "The security token included in the request is invalid."
    );
}

#[tokio::test]
async fn no_x_amz_date_is_incomplete() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    assert!(request.headers_mut().remove("x-amz-date").is_some());
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "IncompleteSignatureException");
    assert!(response.message().contains("X-Amz-Date"), "{response:?}");
}

#[tokio::test]
async fn an_x_amz_content_sha256_not_matching_the_body_is_an_invalid_signature() {
    let (server, _clock) = server().await;

    // Sent alongside a valid signature that does not cover it.
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    request.headers_mut().insert(
        "x-amz-content-sha256",
        "0000000000000000000000000000000000000000000000000000000000000000"
            .parse()
            .unwrap(),
    );
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
    assert_eq!(
        response.message(),
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    );

    // Signed over one body, sent with another.
    let mut request = signable_request(&server, "ListSecrets", r#"{"MaxResults":5}"#);
    let mut with = SignWith::test("us-east-1", t0());
    with.settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    sign(&mut request, &with);
    *request.body_mut() = bytes::Bytes::from_static(br#"{"MaxResults":7}"#);
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
    assert_eq!(
        response.message(),
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    );
}

#[tokio::test]
async fn a_scope_for_another_service_is_an_invalid_signature() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    let auth = header(&request, "authorization").replace("/secretsmanager/", "/ssm/");
    request
        .headers_mut()
        .insert("authorization", auth.parse().unwrap());
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
    assert!(
        response.message().contains("'secretsmanager'"),
        "{response:?}"
    );
}

#[tokio::test]
async fn the_signing_region_is_the_region_of_the_secret() {
    let (server, _clock) = server().await;
    let mut request = signable_request(
        &server,
        "CreateSecret",
        r#"{"Name":"regional","SecretString":"v","ClientRequestToken":"11111111-2222-3333-4444-555555555555"}"#,
    );
    sign(&mut request, &SignWith::test("eu-central-1", t0()));
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
    let arn = response.json()["ARN"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:eu-central-1:"),
        "{arn}"
    );

    // Found when asked in eu-central-1, not in us-east-1.
    let mut request = signable_request(&server, "GetSecretValue", r#"{"SecretId":"regional"}"#);
    sign(&mut request, &SignWith::test("eu-central-1", t0()));
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json()["ARN"].as_str(), Some(arn.as_str()));
    assert_eq!(response.json()["SecretString"], "v");

    let mut request = signable_request(&server, "GetSecretValue", r#"{"SecretId":"regional"}"#);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "ResourceNotFoundException");
}

#[tokio::test]
async fn an_invalid_region_in_the_scope_is_refused() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("Not_A_Region", t0()));
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "InvalidSignatureException");
}

#[tokio::test]
async fn without_authentication_unsigned_requests_are_served_in_the_default_region() {
    let server = TestServer::start().await;
    let request = signable_request(
        &server,
        "CreateSecret",
        r#"{"Name":"open","SecretString":"v","ClientRequestToken":"11111111-2222-3333-4444-555555555555"}"#,
    );
    assert!(!request.headers().contains_key("authorization"));
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_protocol_headers();
    let arn = response.json()["ARN"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:"),
        "{arn}"
    );
}

#[tokio::test]
async fn without_authentication_any_signature_is_accepted_and_its_scope_picks_the_region() {
    let server = TestServer::start().await;
    let mut request = signable_request(
        &server,
        "CreateSecret",
        r#"{"Name":"scoped","SecretString":"v","ClientRequestToken":"11111111-2222-3333-4444-555555555555"}"#,
    );
    // An unknown key, signed at an arbitrary time: nothing is verified.
    let mut with = SignWith::test("ap-southeast-2", UNIX_EPOCH + Duration::from_secs(1));
    with.access_key_id = "AKIDANYONE";
    with.secret_access_key = "whatever";
    sign(&mut request, &with);
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");
    let arn = response.json()["ARN"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:ap-southeast-2:"),
        "{arn}"
    );
}

/// The `SignedHeaders` list of a signed request.
fn signed_headers(request: &http::Request<bytes::Bytes>) -> Vec<String> {
    let auth = header(request, "authorization");
    let (_, rest) = auth.split_once("SignedHeaders=").unwrap();
    let list = rest.split(',').next().unwrap();
    list.split(';').map(ToOwned::to_owned).collect()
}

fn header_name(name: &str) -> http::HeaderName {
    http::HeaderName::from_bytes(name.as_bytes()).unwrap()
}

#[tokio::test]
async fn a_header_that_changes_the_request_must_be_signed() {
    let (server, _clock) = server().await;
    // Signed without the header, which is added afterwards: the signature is valid over what it
    // covers, but the request means something it did not sign (a captured request replayed as
    // another operation, within its 15 minutes).
    for (name, value) in [
        ("x-amz-target", "secretsmanager.ListSecrets"),
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-foo", "bar"),
        ("x-amz-security-token", "a-session-token"),
    ] {
        let mut request = list_secrets(&server);
        request.headers_mut().remove(name);
        sign(&mut request, &SignWith::test("us-east-1", t0()));
        assert!(
            !signed_headers(&request).iter().any(|h| h == name),
            "{name} was signed"
        );
        request
            .headers_mut()
            .insert(header_name(name), value.parse().unwrap());
        let response = send_bytes(&server, request).await;
        response.assert_error(400, "InvalidSignatureException");
        assert_eq!(
            response.message(),
            format!("'{name}' must be a 'SignedHeader' in the AWS Authorization."),
            "{name}"
        );
    }

    // The same headers, present when signing: signed, and accepted.
    for (name, value) in [("x-amz-foo", "bar"), ("x-amz-user-agent", "tests/1.0")] {
        let mut request = list_secrets(&server);
        request
            .headers_mut()
            .insert(header_name(name), value.parse().unwrap());
        sign(&mut request, &SignWith::test("us-east-1", t0()));
        assert!(signed_headers(&request).iter().any(|h| h == name), "{name}");
        let response = send_bytes(&server, request).await;
        assert_eq!(response.status, 200, "{name}: {response:?}");
    }
}

#[tokio::test]
async fn other_headers_added_after_signing_are_still_fine() {
    let (server, _clock) = server().await;
    let body_hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"; // sha256("{}")
    for (name, value) in [
        ("user-agent", "some-client/1.0"),
        ("x-custom", "anything"),
        (
            "x-amzn-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
        ),
        // Never trusted: the server hashes the body it received, and compares.
        ("x-amz-content-sha256", body_hash),
    ] {
        let mut request = list_secrets(&server);
        sign(&mut request, &SignWith::test("us-east-1", t0()));
        request
            .headers_mut()
            .insert(header_name(name), value.parse().unwrap());
        let response = send_bytes(&server, request).await;
        assert_eq!(response.status, 200, "{name}: {response:?}");
    }
}

#[tokio::test]
async fn a_header_sent_twice_is_an_incomplete_signature() {
    let (server, _clock) = server().await;
    // Both copies signed: the signature is valid (over "value1,value2"), but the server would
    // act on one of them. A GetRandomPassword must not ride along a ListSecrets signature.
    for (name, second) in [
        ("x-amz-target", "secretsmanager.GetRandomPassword"),
        ("host", "secretsmanager.us-east-1.amazonaws.com"),
        ("content-type", "application/json"),
    ] {
        let mut request = list_secrets(&server);
        request
            .headers_mut()
            .append(header_name(name), second.parse().unwrap());
        sign(&mut request, &SignWith::test("us-east-1", t0()));
        assert_eq!(request.headers().get_all(name).iter().count(), 2);
        let response = send_bytes(&server, request).await;
        response.assert_error(400, "IncompleteSignatureException");
        assert_eq!(
            response.message(),
            format!("The request has more than one '{name}' header."),
        );
    }

    // A second X-Amz-Date (sent twice with the same value, after signing).
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    let date = request.headers()["x-amz-date"].clone();
    request.headers_mut().append("x-amz-date", date);
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "IncompleteSignatureException");
    assert_eq!(
        response.message(),
        "The request has more than one 'x-amz-date' header."
    );
}

#[tokio::test]
async fn an_invalid_region_is_refused_before_any_key_is_looked_at() {
    let (server, _clock) = server().await;
    let long = format!("us-east-{}", "1".repeat(292));
    assert_eq!(long.len(), 300);
    for region in ["Not_A_Region", long.as_str(), "us-east-", "useast1"] {
        // With the right key, a wrong one, and an unknown access key id: the region is checked
        // first, so no signing key is derived (or cached) for a region that cannot exist.
        for (access_key_id, secret_access_key) in [
            (common::ACCESS_KEY_ID, common::SECRET_ACCESS_KEY),
            (common::ACCESS_KEY_ID, "not-the-secret-access-key"),
            ("AKIDNOBODYKNOWS", "whatever"),
        ] {
            let mut request = list_secrets(&server);
            let with = SignWith {
                access_key_id,
                secret_access_key,
                region,
                ..SignWith::test("us-east-1", t0())
            };
            sign(&mut request, &with);
            let response = send_bytes(&server, request).await;
            response.assert_error(400, "InvalidSignatureException");
            assert_eq!(
                response.message(),
                "Credential should be scoped to a valid region.",
                "{region:?} {access_key_id} {secret_access_key}"
            );
        }
    }
}

#[tokio::test]
async fn signed_header_values_with_runs_of_spaces_verify() {
    let (server, _clock) = server().await;
    for value in [
        "two  spaces",
        "many     spaces   in    between",
        "  leading and trailing  ",
        "\"quoted   runs\"  stay  collapsed",
    ] {
        let mut request = list_secrets(&server);
        request
            .headers_mut()
            .insert("x-amz-meta-note", value.parse().unwrap());
        sign(&mut request, &SignWith::test("us-east-1", t0()));
        assert!(
            signed_headers(&request)
                .iter()
                .any(|h| h == "x-amz-meta-note")
        );
        let response = send_bytes(&server, request).await;
        assert_eq!(response.status, 200, "{value:?}: {response:?}");
    }

    // And the collapsing is not a loophole: a value changed beyond spacing fails.
    let mut request = list_secrets(&server);
    request
        .headers_mut()
        .insert("x-amz-meta-note", "a  b".parse().unwrap());
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    request
        .headers_mut()
        .insert("x-amz-meta-note", "a  c".parse().unwrap());
    send_bytes(&server, request)
        .await
        .assert_error(400, "InvalidSignatureException");
}

#[tokio::test]
async fn a_signed_header_that_is_not_utf8_is_an_incomplete_signature() {
    let (server, _clock) = server().await;
    let mut request = list_secrets(&server);
    request
        .headers_mut()
        .insert("x-amz-meta-note", "cafe".parse().unwrap());
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    request.headers_mut().insert(
        "x-amz-meta-note",
        http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
    );
    let response = send_bytes(&server, request).await;
    response.assert_error(400, "IncompleteSignatureException");
    assert_eq!(response.message(), "A signed header is not valid UTF-8.");
}

#[tokio::test]
async fn with_authentication_the_host_and_origin_are_up_to_the_signature() {
    let (server, _clock) = server().await;
    // A foreign Host is what a client behind a proxy or a DNS name sends: signed, it is served.
    let mut request = list_secrets(&server);
    request
        .headers_mut()
        .insert(http::header::HOST, "evil.example".parse().unwrap());
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");

    // An Origin header (unsigned, as a browser adds it) does not matter either.
    let mut request = list_secrets(&server);
    sign(&mut request, &SignWith::test("us-east-1", t0()));
    request
        .headers_mut()
        .insert(http::header::ORIGIN, "http://evil.example".parse().unwrap());
    let response = send_bytes(&server, request).await;
    assert_eq!(response.status, 200, "{response:?}");

    // Unsigned, a request naming a loopback host is still refused.
    let request = list_secrets(&server);
    send_bytes(&server, request)
        .await
        .assert_error(400, "MissingAuthenticationTokenException");
}
