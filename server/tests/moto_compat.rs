//! `--rotate-without-function` (a testing aid for suites written against moto): a
//! `RotateSecret` naming no rotation function, or one not mapped, makes a copy of the current
//! value the new `AWSCURRENT` version. Without the flag the server answers as AWS does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::time::Duration;

async fn start(dir: &std::path::Path, args: &[&str]) -> (tokio::process::Child, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_strongroom"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .args(args)
        .current_dir(dir);
    let (child, addr) = common::spawn_serving(command, &dir.join("server.log")).await;
    (child, format!("http://{addr}"))
}

/// Waits (within a deadline) until `AWSCURRENT` is on `token`: the rotation runs after the
/// response, as in AWS.
async fn wait_for_current(client: &aws_sdk_secretsmanager::Client, name: &str, token: &str) {
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let got = client
                .get_secret_value()
                .secret_id(name)
                .send()
                .await
                .unwrap();
            if got.version_id() == Some(token) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "AWSCURRENT never reached {token}");
}

#[tokio::test]
async fn rotate_without_function_copies_the_current_value_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start(dir.path(), &[]).await;
    let client = common::sdk_client_at(&url, "us-east-1", ("AKIDANY", "any-secret"));
    client
        .create_secret()
        .name("db")
        .secret_string("the password")
        .send()
        .await
        .unwrap();
    let refused = common::failure(
        client
            .rotate_secret()
            .secret_id("db")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, "InvalidRequestException", "{refused:?}");
    child.kill().await.unwrap();
    child.wait().await.unwrap();

    let (_child, url) = start(dir.path(), &["--rotate-without-function"]).await;
    let client = common::sdk_client_at(&url, "us-east-1", ("AKIDANY", "any-secret"));
    let before = client
        .get_secret_value()
        .secret_id("db")
        .send()
        .await
        .unwrap();
    let first = "00000000-0000-4000-8000-0000000000c1";
    client
        .rotate_secret()
        .secret_id("db")
        .client_request_token(first)
        .send()
        .await
        .unwrap();
    wait_for_current(&client, "db", first).await;
    // An unmapped function is rotated the same way.
    let second = "00000000-0000-4000-8000-0000000000c2";
    client
        .rotate_secret()
        .secret_id("db")
        .client_request_token(second)
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:000000000000:function:nowhere")
        .send()
        .await
        .unwrap();
    wait_for_current(&client, "db", second).await;

    let described = client
        .describe_secret()
        .secret_id("db")
        .send()
        .await
        .unwrap();
    let stages = described.version_ids_to_stages().unwrap();
    assert_eq!(stages[second], ["AWSCURRENT"]);
    assert_eq!(stages[first], ["AWSPREVIOUS"]);
    assert!(!stages.contains_key(before.version_id().unwrap()));
    let now = client
        .get_secret_value()
        .secret_id("db")
        .send()
        .await
        .unwrap();
    assert_eq!(now.secret_string(), Some("the password"));
    assert_eq!(described.rotation_enabled(), Some(true));
}

#[tokio::test]
async fn a_filter_without_key_or_values_is_invalid_parameter_as_moto_answers() {
    // AWS's answer is not recorded; moto's is what users' suites expect (LIST-3).
    let server = common::TestServer::start().await;
    for (operation, body, message) in [
        (
            "ListSecrets",
            r#"{"Filters": [{"Values": ["foo"]}]}"#,
            "Invalid filter key",
        ),
        (
            "ListSecrets",
            r#"{"Filters": [{"Key": "description"}]}"#,
            "Invalid filter values for key: description",
        ),
        (
            "BatchGetSecretValue",
            r#"{"Filters": [{"Key": "name"}]}"#,
            "Invalid filter values for key: name",
        ),
    ] {
        let response = common::call_raw(&server, operation, body).await;
        response.assert_error(400, "InvalidParameterException");
        assert_eq!(response.message(), message, "{operation} {body}");
    }
}
