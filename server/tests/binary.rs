//! The `strongroom` binary: `serve` prints the bound address first, creates its data folder and a
//! 0600 key file, reads a TOML config (flags win), refuses to serve without authentication on a
//! non-loopback address unless forced, and on SIGTERM stops cleanly with every write on disk.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Stdio;

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
    let creds = aws_credential_types::Credentials::new(
        common::ACCESS_KEY_ID,
        common::SECRET_ACCESS_KEY,
        None,
        None,
        "binary-test",
    );
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .endpoint_url(url)
            .region(aws_sdk_secretsmanager::config::Region::new(
                region.to_owned(),
            ))
            .credentials_provider(creds)
            .build(),
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
    std::fs::write(
        dir.path().join("strongroom.toml"),
        "listen = \"127.0.0.1:1\"\ndata = \"cfg-data\"\nregion = \"ap-south-1\"\naccount_id = \"123456789012\"\ncredentials = \"creds.txt\"\n",
    )
    .unwrap();
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
async fn refuses_a_public_address_without_authentication_unless_forced() {
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

    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--allow-unauthenticated",
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
    std::fs::write(
        dir.path().join("bad.toml"),
        "listen = \"127.0.0.1:0\"\nunknown_key = 1\n",
    )
    .unwrap();
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
