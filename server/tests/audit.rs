//! The audit log through the server and the CLI: a boto3 session of every operation, then
//! `strongroom audit export` shows each call with its principal, caller and outcome, a request
//! refused for its signature included; `strongroom audit verify` passes; and the session's
//! canary value appears in none of the store's files nor the server's log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;
use crate::python_clients::python;

use std::path::Path;
use std::process::Stdio;

const BIN: &str = env!("CARGO_BIN_EXE_strongroom");
const CANARY: &str = "canary-audit-5c1e8b-never-logged";
/// A value sent as a number where a string belongs: refused before the operation, and kept
/// nowhere (the parser's message names what it could not read).
const NUMERIC_CANARY: &str = "4821337719924661";
const ALICE_KEY: &str = "AKIDALICEAUDIT";
const ALICE_SECRET: &str = "alice-audit-secret-access-key";

fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_boto3_session_is_exported_call_by_call_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let creds = dir.path().join("creds.txt");
    common::write_private(&creds, format!("{ALICE_KEY} {ALICE_SECRET} alice\n"));
    let log = dir.path().join("server.log");
    let mut command = tokio::process::Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--credentials")
        .arg(&creds)
        .env("RUST_LOG", "debug");
    let (mut child, addr) = common::spawn_serving(command, &log).await;

    let output = tokio::process::Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/audit_session.py"))
        .env("STRONGROOM_ENDPOINT", format!("http://{addr}"))
        .env("AWS_ACCESS_KEY_ID", ALICE_KEY)
        .env("AWS_SECRET_ACCESS_KEY", ALICE_SECRET)
        .env("WRONG_SECRET", "not-alices-secret")
        .env("CANARY", CANARY)
        .env("NUMERIC_CANARY", NUMERIC_CANARY)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "*")
        .output()
        .await
        .unwrap();
    let calls = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{calls}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let calls: Vec<(String, String)> = calls
        .lines()
        .map(|l| {
            let (op, outcome) = l.split_once(' ').unwrap();
            (op.to_owned(), outcome.to_owned())
        })
        .collect();
    assert_eq!(calls.len(), 16, "{calls:?}");
    assert_eq!(calls[15].0, "PutSecretValue");
    assert_ne!(calls[15].1, "ok");

    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().await.unwrap().success());

    let export = cli(&["audit", "export", "--data", data.to_str().unwrap()]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(export.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The calls the client made, in order; the engine's own nested entries (the reads inside
    // BatchGetSecretValue) and the export itself are entries of their own.
    let top: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|e| {
            e["userIdentity"]["invokedBy"].is_null()
                && !(e["eventName"] == "GetSecretValue" && e["requestID"] == lines_batch_id(&lines))
                && !(e["eventName"] == "ListSecrets" && e["requestID"] == lines_batch_id(&lines))
        })
        .collect();
    let seen: Vec<(String, String)> = top
        .iter()
        .map(|e| {
            (
                e["eventName"].as_str().unwrap().to_owned(),
                e["errorCode"].as_str().unwrap_or("ok").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = calls
        .iter()
        .map(|(op, outcome)| (op.clone(), outcome.clone()))
        .collect();
    assert_eq!(seen, expected);
    for (e, (_, outcome)) in top.iter().zip(&calls) {
        assert_eq!(e["eventSource"], "secretsmanager.amazonaws.com");
        assert_eq!(e["awsRegion"], "us-east-1");
        assert_eq!(e["sourceIPAddress"], "127.0.0.1");
        assert!(e["userAgent"].as_str().unwrap().contains("Boto3"), "{e}");
        assert_eq!(e["userIdentity"]["accessKeyId"], ALICE_KEY);
        let who = e["userIdentity"]["userName"].as_str().unwrap();
        if outcome != "InvalidSignatureException" && outcome != "UnrecognizedClientException" {
            assert_eq!(who, "alice", "{e}");
        } else {
            // The signature did not verify: the caller is not known, only the key it claimed.
            assert_eq!(who, "unauthenticated", "{e}");
        }
        assert!(!e["requestID"].as_str().unwrap().is_empty());
    }
    let create = top[0];
    assert!(
        create["resources"][0]["ARN"]
            .as_str()
            .unwrap()
            .contains(":secret:audited/db-")
    );
    assert_eq!(create["change"], true);
    assert_eq!(top[2]["readOnly"], true);
    assert!(top[2]["requestParameters"]["versionId"].is_string());

    let verify = cli(&["audit", "verify", "--data", data.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(said.contains("the audit log verifies"), "{said}");

    // The value is nowhere: not in the store's files (values are sealed), not in the log of
    // the server (at debug), not in what the export printed.
    for canary in [CANARY, NUMERIC_CANARY] {
        assert_eq!(
            files_containing(dir.path(), canary.as_bytes()),
            Vec::<String>::new()
        );
        assert!(!lines.iter().any(|e| e.to_string().contains(canary)));
    }
}

/// The request id of the `BatchGetSecretValue` call, whose nested reads are entries too.
fn lines_batch_id(lines: &[serde_json::Value]) -> serde_json::Value {
    lines
        .iter()
        .find(|e| e["eventName"] == "BatchGetSecretValue")
        .map(|e| e["requestID"].clone())
        .unwrap_or(serde_json::Value::Null)
}
