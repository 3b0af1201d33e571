//! The `strongroom` binary: `serve` prints the bound address first, creates its data folder and a
//! 0600 key file, reads a TOML config (flags win), refuses to serve without authentication on a
//! non-loopback address unless forced, and on SIGTERM stops cleanly with every write on disk. Its
//! request log names operations, secrets and statuses, never values or keys, and copies no more
//! than a bounded length of what a caller sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_strongroom");

/// Makes a file readable by its owner only, as a credentials file must be.
fn private(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

struct Running {
    child: Child,
    url: String,
}

/// Starts `strongroom serve ARGS` and reads the first line of standard output.
async fn serve(args: &[&str], cwd: &Path) -> Running {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).await.unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line of stdout: {first:?}"))
        .trim()
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_ne!(
        addr, "127.0.0.1:0",
        "the line names the port actually bound"
    );
    Running {
        child,
        url: format!("http://{addr}"),
    }
}

/// SIGTERM, then the exit status and everything written to standard error.
async fn terminate(mut running: Running) -> (std::process::ExitStatus, String) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(running.child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut err = String::new();
    running
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    (running.child.wait().await.unwrap(), err)
}

fn client(url: &str, region: &str) -> aws_sdk_secretsmanager::Client {
    common::sdk_client_at(
        url,
        region,
        (common::ACCESS_KEY_ID, common::SECRET_ACCESS_KEY),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_creates_its_folder_and_key_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let running = serve(
        &["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()],
        dir.path(),
    )
    .await;
    let key = data.join("master.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    let c = client(&running.url, "us-east-1");
    c.create_secret()
        .name("binary/one")
        .secret_string("first value")
        .send()
        .await
        .unwrap();
    let (status, err) = terminate(running).await;
    assert!(status.success(), "{status}: {err}");
    assert!(err.contains("created a new master key file"), "{err}");
    assert!(
        err.contains(key.to_str().unwrap()),
        "the log says where the key is: {err}"
    );
    assert!(err.contains("authentication is OFF"), "{err}");
    assert!(!err.contains("first value"), "a value in the log: {err}");

    let running = serve(
        &["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()],
        dir.path(),
    )
    .await;
    let got = client(&running.url, "us-east-1")
        .get_secret_value()
        .secret_id("binary/one")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("first value"));
    let (status, err) = terminate(running).await;
    assert!(status.success(), "{status}: {err}");
    assert!(err.contains("using master key file"), "{err}");
}

/// Every file under `dir` with its contents, to show that a refused start changed nothing.
fn tree(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_foreign_master_key_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()];
    let running = serve(&args, dir.path()).await;
    client(&running.url, "us-east-1")
        .create_secret()
        .name("kept")
        .secret_string("kept value")
        .send()
        .await
        .unwrap();
    let (status, err) = terminate(running).await;
    assert!(status.success(), "{status}: {err}");
    let key = data.join("master.key");
    std::fs::rename(&key, dir.path().join("master.key.bak")).unwrap();
    let expected = strongroom::SecretStore::master_key_ids(data.join("db")).unwrap();
    assert_eq!(expected.len(), 1);
    let before = tree(&data);

    // Deleted: refused, naming the key the store needs; no new key file appears.
    let out = Command::new(BIN)
        .arg("serve")
        .args(args)
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is missing") && err.contains(expected[0].as_str()),
        "{err}"
    );
    assert!(!key.exists(), "a new key was created");
    assert_eq!(tree(&data), before);

    // Another store's key: refused by the engine, nothing written.
    let other = dir.path().join("other.key");
    strongroom::LocalKeyProvider::open(&other).unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .args(args)
        .arg("--key-file")
        .arg(&other)
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(expected[0].as_str()), "{err}");
    assert_eq!(tree(&data), before);

    // The key restored: the value reads again.
    std::fs::rename(dir.path().join("master.key.bak"), &key).unwrap();
    let running = serve(&args, dir.path()).await;
    let got = client(&running.url, "us-east-1")
        .get_secret_value()
        .secret_id("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("kept value"));
    let (status, err) = terminate(running).await;
    assert!(status.success(), "{status}: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_a_folder_others_can_read_every_file_of_the_store_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let running = serve(
        &["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()],
        dir.path(),
    )
    .await;
    // No core dumps of a process holding secrets.
    let limits =
        std::fs::read_to_string(format!("/proc/{}/limits", running.child.id().unwrap())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    client(&running.url, "us-east-1")
        .create_secret()
        .name("modes")
        .secret_string("v")
        .send()
        .await
        .unwrap();
    let (status, err) = terminate(running).await;
    assert!(status.success(), "{status}: {err}");
    assert!(
        err.contains("the data folder is accessible to its group or others"),
        "{err}"
    );
    let mut seen = 0;
    let mut stack = vec![data.join("db")];
    while let Some(d) = stack.pop() {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 2, "the store's files");
    let key_mode = std::fs::metadata(data.join("master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settings_file_others_can_access_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    common::write_private(&path, "listen = \"127.0.0.1:0\"\n");
    for mode in [0o644, 0o620] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&path)
            .current_dir(dir.path())
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("chmod 600") && err.contains("s.toml"), "{err}");
    }
    if nix::unistd::geteuid().is_root() {
        // Private, but another user's: refused too.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        std::os::unix::fs::chown(&path, Some(nobody.uid.as_raw()), None).unwrap();
        let out = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&path)
            .current_dir(dir.path())
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("belongs to user id"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn default_data_folder_is_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&["--listen", "127.0.0.1:0"], dir.path()).await;
    assert!(dir.path().join("strongroom-data/master.key").is_file());
    let (status, err) = terminate(running).await;
    assert!(status.success(), "{status}: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn config_file_settings_apply_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("creds.txt"),
        format!(
            "# test keys\n{} {} {}\n",
            common::ACCESS_KEY_ID,
            common::SECRET_ACCESS_KEY,
            common::PRINCIPAL
        ),
    )
    .unwrap();
    private(&dir.path().join("creds.txt"));
    common::write_private(
        dir.path().join("strongroom.toml"),
        "listen = \"127.0.0.1:1\"\ndata = \"cfg-data\"\nregion = \"ap-south-1\"\naccount_id = \"123456789012\"\ncredentials = \"creds.txt\"\n",
    );
    // The flag's listen address wins over the file's; everything else comes from the file,
    // with paths relative to the file's folder.
    let running = serve(
        &[
            "--config",
            dir.path().join("strongroom.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        Path::new("/"),
    )
    .await;
    assert!(dir.path().join("cfg-data/master.key").is_file());
    // A request that names no region in a valid signature still gets the signature's region;
    // the configured account id shows in the ARN.
    let created = client(&running.url, "ap-south-1")
        .create_secret()
        .name("cfg/one")
        .secret_string("v")
        .send()
        .await
        .unwrap();
    assert!(
        created
            .arn()
            .unwrap()
            .starts_with("arn:aws:secretsmanager:ap-south-1:123456789012:secret:cfg/one-"),
        "{:?}",
        created.arn()
    );
    // Authentication is on: an unsigned request is refused.
    let addr = running.url.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(
        response.contains("MissingAuthenticationTokenException"),
        "{response}"
    );
    let (status, err) = terminate(running).await;
    assert!(status.success(), "{status}: {err}");
    assert!(err.contains("SigV4 authentication on"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_a_public_address_without_authentication_or_tls_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path().join("d"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without authentication"), "{err}");
    assert!(
        !dir.path().join("d").exists(),
        "nothing is created when refusing"
    );

    // Authentication off is allowed, but not in clear off loopback.
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--allow-unauthenticated",
            "--data",
        ])
        .arg(dir.path().join("d"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without TLS") && err.contains("--allow-plaintext"),
        "{err}"
    );
    assert!(
        !dir.path().join("d").exists(),
        "nothing is created when refusing"
    );

    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--allow-unauthenticated",
            "--allow-plaintext",
            "--data",
        ])
        .arg(dir.path().join("d"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .await
        .unwrap();
    assert!(first.starts_with("listening on 0.0.0.0:"), "{first}");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    common::write_private(
        dir.path().join("bad.toml"),
        "listen = \"127.0.0.1:0\"\nunknown_key = 1\n",
    );
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(dir.path().join("bad.toml"))
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("unknown_key"),
        "{err}"
    );

    // A credentials file others can read is refused, naming the fix.
    std::fs::write(dir.path().join("creds"), "AKID secret-key-words alice\n").unwrap();
    std::fs::set_permissions(
        dir.path().join("creds"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--credentials"])
        .arg(dir.path().join("creds"))
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
    assert!(!err.contains("secret-key-words"), "{err}");

    std::fs::write(dir.path().join("creds"), "AKID only-two-words\n").unwrap();
    private(&dir.path().join("creds"));
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--credentials"])
        .arg(dir.path().join("creds"))
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1"), "{err}");
    assert!(
        !err.contains("only-two-words"),
        "a secret key in an error: {err}"
    );

    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--region",
            "Not A Region",
        ])
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--region"));
}

/// Writes a 0600 credentials file with the test access key in `dir`, and returns its path.
fn test_credentials_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("creds.txt");
    common::write_private(
        &path,
        format!(
            "{} {} {}\n",
            common::ACCESS_KEY_ID,
            common::SECRET_ACCESS_KEY,
            common::PRINCIPAL
        ),
    );
    private(&path);
    path
}

/// Sends raw bytes to the server at `url` and reads until it closes the connection.
async fn raw_exchange(url: &str, request: &[u8]) -> String {
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, request)
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The log lines about requests (one per request) that mention `needle`.
fn request_lines<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.contains("request_id=") && l.contains(needle))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_log_names_requests_but_never_values_or_keys() {
    use aws_sdk_secretsmanager::primitives::Blob;
    use base64::Engine as _;

    let dir = tempfile::tempdir().unwrap();
    let creds = test_credentials_file(dir.path());
    let data = dir.path().join("data");
    let running = serve(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
            "--credentials",
            creds.to_str().unwrap(),
        ],
        dir.path(),
    )
    .await;
    let c = client(&running.url, "us-east-1");
    let name = "log/checked-secret";
    let created = "created-value-7f3a9c-SHOULD-NOT-BE-LOGGED";
    let put = "put-string-value-2b8e41-SHOULD-NOT-BE-LOGGED";
    let binary: &[u8] = b"put-binary-value-d40c5e\x00\x01\xfe\xff-SHOULD-NOT-BE-LOGGED";
    let updated = "updated-value-91cd77-SHOULD-NOT-BE-LOGGED";

    c.create_secret()
        .name(name)
        .secret_string(created)
        .send()
        .await
        .unwrap();
    c.put_secret_value()
        .secret_id(name)
        .secret_string(put)
        .send()
        .await
        .unwrap();
    c.put_secret_value()
        .secret_id(name)
        .secret_binary(Blob::new(binary))
        .send()
        .await
        .unwrap();
    let got = c.get_secret_value().secret_id(name).send().await.unwrap();
    assert_eq!(got.secret_binary().map(Blob::as_ref), Some(binary));
    c.update_secret()
        .secret_id(name)
        .secret_string(updated)
        .send()
        .await
        .unwrap();
    let got = c.get_secret_value().secret_id(name).send().await.unwrap();
    assert_eq!(got.secret_string(), Some(updated));
    let batch = c
        .batch_get_secret_value()
        .secret_id_list(name)
        .send()
        .await
        .unwrap();
    assert_eq!(batch.secret_values()[0].secret_string(), Some(updated));

    // Signed with a wrong secret key: refused.
    let wrong_key = "a-wrong-secret-access-key-SHOULD-NOT-BE-LOGGED";
    let wrong = common::sdk_client_at(
        &running.url,
        "us-east-1",
        (common::ACCESS_KEY_ID, wrong_key),
    );
    let err = wrong
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .unwrap_err();
    let err = common::failure(err);
    assert_eq!(err.code, "InvalidSignatureException", "{err:?}");

    // A secret id of 5,000 characters (refused as invalid) is cut in the log.
    let long_id = "q".repeat(5000);
    let err = c
        .get_secret_value()
        .secret_id(&long_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::failure(err).status, 400);

    // An X-Amz-Target of 5,000 characters, unknown: logged as "unknown", not copied.
    let addr = running.url.strip_prefix("http://").unwrap().to_owned();
    let long_target = format!("secretsmanager.{}", "Z".repeat(5000));
    let response = raw_exchange(
        &running.url,
        format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: {long_target}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        )
        .as_bytes(),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");

    let (status, log) = terminate(running).await;
    assert!(status.success(), "{status}: {log}");

    // No value, in any form, and no secret key.
    let b64 = base64::engine::general_purpose::STANDARD;
    for value in [created, put, updated] {
        assert!(!log.contains(value), "a value in the log: {log}");
        assert!(
            !log.contains(&b64.encode(value)),
            "a value in the log: {log}"
        );
    }
    assert!(
        !log.contains(&b64.encode(binary)),
        "a value in the log: {log}"
    );
    assert!(
        !log.contains("put-binary-value"),
        "a value in the log: {log}"
    );
    assert!(!log.contains("SHOULD-NOT-BE-LOGGED"), "{log}");
    assert!(
        !log.contains(common::SECRET_ACCESS_KEY),
        "the secret key in the log: {log}"
    );
    assert!(!log.contains(wrong_key), "{log}");

    // But each request has its line, with its operation, secret name and status.
    for (operation, count) in [
        ("CreateSecret", 1),
        ("PutSecretValue", 2),
        ("UpdateSecret", 1),
        ("GetSecretValue", 2),
        ("BatchGetSecretValue", 1),
    ] {
        let lines: Vec<&str> = request_lines(&log, &format!("operation=\"{operation}\""))
            .into_iter()
            .filter(|l| l.contains("status=200"))
            .collect();
        assert_eq!(lines.len(), count, "{operation}: {log}");
        if operation != "BatchGetSecretValue" {
            assert!(lines.iter().all(|l| l.contains(name)), "{operation}: {log}");
            assert!(lines.iter().all(|l| l.contains(common::PRINCIPAL)), "{log}");
        }
    }
    let refused = request_lines(&log, "InvalidSignatureException");
    assert_eq!(refused.len(), 1, "{log}");
    assert!(refused[0].contains("status=400"), "{log}");

    // The long id: cut to 256 characters.
    assert!(
        !log.contains(&"q".repeat(257)),
        "a 5,000-character id in the log"
    );
    let cut = request_lines(&log, &"q".repeat(256));
    assert_eq!(cut.len(), 1, "{log}");
    assert!(cut[0].contains(&format!("{}...", "q".repeat(256))), "{log}");

    // The long target: "unknown", and none of it in the log.
    assert!(!log.contains(&"Z".repeat(100)), "the target in the log");
    let unknown = request_lines(&log, "operation=\"unknown\"");
    assert_eq!(unknown.len(), 1, "{log}");
    assert!(unknown[0].contains("status=400"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_stops_a_draining_server_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = serve(&["--listen", "127.0.0.1:0"], dir.path()).await;
    // A request in flight (its head read, as the `100 Continue` shows, its body not yet sent)
    // holds the drain open for up to the 30 s grace period.
    let addr = running.url.strip_prefix("http://").unwrap().to_owned();
    let mut in_flight = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut in_flight, head.as_bytes())
        .await
        .unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        interim.push(in_flight.read_u8().await.unwrap());
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(running.child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();

    // Wait until the server says it is draining: only then is the second signal a second one.
    let mut err = BufReader::new(running.child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("shutting down") {
        let mut line = String::new();
        assert!(
            tokio::time::timeout(Duration::from_secs(20), err.read_line(&mut line))
                .await
                .expect("no 'shutting down' line")
                .unwrap()
                > 0,
            "stderr ended before 'shutting down': {seen}"
        );
        seen.push_str(&line);
    }
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "it is draining"
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), running.child.wait())
        .await
        .expect("the second signal did not stop the server")
        .unwrap();
    assert_eq!(status.code(), Some(1), "{status}");
}
