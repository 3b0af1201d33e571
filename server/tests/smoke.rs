//! The smallest end-to-end check: the Rust SDK creates and reads a secret through the server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

#[tokio::test]
async fn sdk_round_trip() {
    let server = common::TestServer::with_auth().await;
    let client = common::sdk_client(&server, "eu-west-1").await;
    let created = client
        .create_secret()
        .name("smoke/one")
        .secret_string("hunter2")
        .send()
        .await
        .unwrap();
    assert!(
        created
            .arn()
            .unwrap()
            .starts_with("arn:aws:secretsmanager:eu-west-1:")
    );
    let got = client
        .get_secret_value()
        .secret_id("smoke/one")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("hunter2"));
    assert!(got.created_date().is_some());
    server.stop().await.unwrap();
}

/// A library user of `run` gets the binary's rule: no unauthenticated listener off loopback
/// without saying so.
#[tokio::test]
async fn run_refuses_an_unauthenticated_listener_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let store = strongroom::SecretStore::builder(
        dir.path().join("db"),
        std::sync::Arc::new(strongroom::InsecureTestKeyProvider::new(7)),
    )
    .open()
    .unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let e = strongroom_server::run(
        listener,
        strongroom_server::ServerState::new(store),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("without authentication"), "{e}");
}
