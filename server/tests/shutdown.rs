//! Graceful shutdown: once shutdown starts, new connections are refused, a request already in
//! flight still gets its whole answer, and `run` returns after it with the store flushed. An idle
//! keep-alive connection is closed at once; a client stalled in its request head holds `run` up
//! for the grace period only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::time::Duration;

use strongroom::{GetSecretValueInput, SecretId};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_flight_finishes_after_shutdown_starts() {
    let server = common::TestServer::start().await;
    let addr = server.addr;
    let store = server.store.clone();

    // Send the head of a CreateSecret request with `Expect: 100-continue`, and wait for the
    // server's `100 Continue`: it has then read the head and is reading the body, so the request
    // is in flight. Then send half of the body.
    let body = br#"{"Name":"shutdown/in-flight","SecretString":"written while stopping","ClientRequestToken":"00000000-0000-4000-8000-00000000000a"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: secretsmanager.CreateSecret\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        interim.push(stream.read_u8().await.unwrap());
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    stream.write_all(first).await.unwrap();
    stream.flush().await.unwrap();

    // Start shutting down, and wait until the listener is gone (new connections refused).
    let stopped = tokio::spawn(server.stop());
    let mut refused = false;
    for _ in 0..500 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        refused,
        "the server kept accepting connections after shutdown started"
    );
    assert!(
        !stopped.is_finished(),
        "run returned with a request in flight"
    );

    // The rest of the body arrives after shutdown started: the request still completes.
    stream.write_all(rest).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("shutdown/in-flight"), "{response}");

    stopped.await.unwrap().unwrap();
    let got = store
        .as_system()
        .get_secret_value(GetSecretValueInput::new(
            SecretId::new("shutdown/in-flight").unwrap(),
        ))
        .unwrap();
    assert_eq!(got.value.expose_str(), Some("written while stopping"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_keep_alive_connection_does_not_delay_shutdown() {
    let server = common::TestServer::start().await;
    let addr = server.addr;

    // Two requests on one connection (so it is really kept alive), then nothing: idle.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{{}}"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let response = common::read_response(&mut stream).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.headers.get("connection"), None, "{response:?}");
    }

    // `run` returns promptly (well within the grace period for requests in flight)...
    assert!(Duration::from_secs(10) < strongroom_server::SHUTDOWN_GRACE);
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .unwrap_or_else(|_| panic!("run did not return within 10 s with an idle connection open"))
        .unwrap();
    // ... and the server closed the idle connection.
    assert!(
        common::closed_within(&mut stream, Duration::from_secs(10)).await,
        "the idle connection was left open"
    );
}

/// The grace period is the state's setting (here 7 seconds, not the default 30); with the clock
/// paused (it jumps ahead whenever every task waits) it passes at once, in virtual time.
#[tokio::test(start_paused = true)]
async fn a_client_stalled_in_its_request_head_delays_shutdown_only_for_the_grace_period() {
    let grace = Duration::from_secs(7);
    let server = common::TestServer::start_with(|s| s.with_shutdown_grace(grace)).await;
    let addr = server.addr;

    // A new connection that sends part of a request head, then nothing.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(format!("POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Tar").as_bytes())
        .await
        .unwrap();
    // Connections are accepted in order: once a later one is served, the stalled one has been
    // accepted too (and not merely left in the listen queue, which shutdown would drop).
    let response = common::call_raw(&server, "ListSecrets", "{}").await;
    assert_eq!(response.status, 200, "{response:?}");

    let started = tokio::time::Instant::now();
    let stopped = tokio::spawn(server.stop());
    // The stalled client holds `run` up (it could still complete its request)...
    tokio::time::sleep(grace - Duration::from_secs(1)).await;
    assert!(
        !stopped.is_finished(),
        "run returned with a connection in the middle of a request head"
    );
    // ... but only for the grace period.
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .unwrap_or_else(|_| panic!("run did not return after the grace period"))
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= grace && took < grace + Duration::from_secs(5),
        "{took:?}"
    );
}
