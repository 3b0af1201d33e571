//! Connections cannot be exhausted before authentication: a request's head must arrive in time,
//! an idle connection is closed, one connection serves a bounded number of requests, and at the
//! connection cap the oldest connection without a complete request makes room for a new one.
//! The binary, limited to 512 descriptors with 1,500 idle and 500 half-sent connections held
//! open against it, still serves a new client within 3 seconds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use common::TestServer;
use strongroom_server::ConnectionLimits;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A complete, unauthenticated `ListSecrets` request that keeps the connection open.
fn list_request(host: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    .into_bytes()
}

/// The start of a request's head, never finished.
const PARTIAL_HEAD: &[u8] = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: secretsmanager.";

/// Reads one response (head and a `Content-Length` body) from `stream`, within `limit`.
async fn read_response(stream: &mut tokio::net::TcpStream, limit: Duration) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a whole response: {got:?}");
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= len {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no whole response within {limit:?}: {:?}",
            String::from_utf8_lossy(&got)
        )
    });
    String::from_utf8_lossy(&got).into_owned()
}

/// Waits for the server to close `stream` (EOF or reset), within `limit`; how long it took.
#[expect(
    clippy::disallowed_methods,
    reason = "measures the server's timeout in real time"
)]
async fn closed_within(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> Duration {
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the server kept the connection open past {limit:?}"));
    started.elapsed()
}

fn short_limits() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        ..ConnectionLimits::default()
    }
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "measures the server's timeout in real time"
)]
async fn a_request_head_that_does_not_arrive_in_time_closes_the_connection() {
    let server = TestServer::start_with(|s| s.with_connection_limits(short_limits())).await;
    // Nothing sent at all, and a head begun but never finished.
    let opened = std::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut partial = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    partial.write_all(PARTIAL_HEAD).await.unwrap();
    for stream in [&mut silent, &mut partial] {
        closed_within(stream, Duration::from_secs(10)).await;
        let took = opened.elapsed();
        assert!(took >= Duration::from_millis(900), "closed after {took:?}");
        assert!(took < Duration::from_secs(5), "closed after {took:?}");
    }
    // A head that keeps trickling in (a byte every 200 ms) is still bounded.
    let (mut reader, mut writer) = tokio::net::TcpStream::connect(server.addr)
        .await
        .unwrap()
        .into_split();
    let trickle = tokio::spawn(async move {
        for byte in PARTIAL_HEAD {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let took = closed_within(&mut reader, Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    trickle.abort();
    // A prompt request is answered.
    let mut ok = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    ok.write_all(&list_request("127.0.0.1")).await.unwrap();
    let response = read_response(&mut ok, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let server = TestServer::start_with(|s| s.with_connection_limits(short_limits())).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&list_request("127.0.0.1")).await.unwrap();
    let response = read_response(&mut stream, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let took = closed_within(&mut stream, Duration::from_secs(10)).await;
    // The idle timeout (2 s), not the header timeout (1 s).
    assert!(took >= Duration::from_millis(1900), "closed after {took:?}");
    assert!(took < Duration::from_secs(6), "closed after {took:?}");
}

#[tokio::test]
async fn a_connection_serves_at_most_the_request_limit() {
    let limits = ConnectionLimits {
        max_requests_per_connection: 3,
        ..ConnectionLimits::default()
    };
    let server = TestServer::start_with(|s| s.with_connection_limits(limits)).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    for i in 1..=3 {
        stream.write_all(&list_request("127.0.0.1")).await.unwrap();
        let response = read_response(&mut stream, Duration::from_secs(5)).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let closes = response.to_ascii_lowercase().contains("connection: close");
        assert_eq!(closes, i == 3, "request {i}: {response}");
    }
    closed_within(&mut stream, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn at_the_cap_the_oldest_connection_without_a_request_makes_room() {
    let limits = ConnectionLimits {
        max_connections: Some(3),
        ..ConnectionLimits::default()
    };
    let server = TestServer::start_with(|s| s.with_connection_limits(limits)).await;
    // One keep-alive connection that has been served, then two that never send.
    let mut served = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    served.write_all(&list_request("127.0.0.1")).await.unwrap();
    read_response(&mut served, Duration::from_secs(5)).await;
    let mut oldest = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    // Accepted before the next one (the server has answered on a fresh connection since).
    let mut probe = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    probe.write_all(&list_request("127.0.0.1")).await.unwrap();
    read_response(&mut probe, Duration::from_secs(5)).await;
    drop(probe);
    let mut newer = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    newer.write_all(PARTIAL_HEAD).await.unwrap();
    // A fourth client is served: the oldest connection without a request is closed for it.
    let mut fresh = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    fresh.write_all(&list_request("127.0.0.1")).await.unwrap();
    let response = read_response(&mut fresh, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    closed_within(&mut oldest, Duration::from_secs(2)).await;
    // The others are still open: the served one still answers.
    served.write_all(&list_request("127.0.0.1")).await.unwrap();
    let response = read_response(&mut served, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    drop(newer);
}

/// The binary under a 512-descriptor limit (soft and hard: it cannot raise it), with 1,500
/// idle and 500 half-sent connections held open: a new client is served within 3 seconds.
#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::disallowed_methods,
    reason = "measures how long the new client waits, in real time"
)]
async fn a_new_client_is_served_while_held_connections_exceed_the_descriptor_limit() {
    strongroom_server::raise_descriptor_limit().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -n 512 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "info");
    let (mut child, addr) = common::spawn_serving(command, &log).await;

    let held = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || {
            let mut held = Vec::with_capacity(2_000);
            for i in 0..2_000 {
                let mut s = TcpStream::connect(&addr).unwrap();
                if i % 4 == 3 {
                    s.write_all(PARTIAL_HEAD).unwrap();
                }
                held.push(s);
            }
            held
        })
        .await
        .unwrap()
    };
    let started = std::time::Instant::now();
    let served = tokio::time::timeout(Duration::from_secs(3), async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(&list_request("127.0.0.1")).await.unwrap();
        read_response(&mut stream, Duration::from_secs(3)).await
    })
    .await;
    let took = started.elapsed();
    let served = served.unwrap_or_else(|_| {
        panic!(
            "no answer within 3 s; server log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    println!("a new client was served in {took:?} with 2,000 connections held");
    // The server shed the oldest held connections: most of them are closed by now.
    let closed = tokio::task::spawn_blocking(move || {
        held.iter()
            .filter(|s| {
                s.set_nonblocking(true).unwrap();
                let mut probe: &TcpStream = s;
                !matches!(probe.read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            })
            .count()
    })
    .await
    .unwrap();
    assert!(
        closed >= 1_500,
        "only {closed} of 2,000 held connections were closed"
    );
    let _ = child.start_kill();
    let _ = child.wait().await;
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains("ERROR"), "{log}");
}
