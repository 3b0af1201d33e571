#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The server through the Python clients people actually use: boto3 (`python/test_boto3.py`),
//! the AWS CLI (`python/test_cli.py`), and a replay of the call sequences recorded against real
//! AWS, through boto3 (`python/replay_recorded.py`). Each test starts a server with SigV4 on and
//! runs one script with the virtualenv's Python; the script's exit status is the verdict. The
//! boto3 suite's server maps a rotation function ARN to `python/rotation_function.py`.
//!
//! The interpreter is `$STRONGROOM_PYTHON`, or else `<workspace>/target/pyenv/bin/python`, which
//! `./scripts/test` creates (`python3 -m venv target/pyenv` and
//! `pip install -r server/tests/python/requirements.txt`). Without it these tests fail: they
//! are never skipped.

use crate::common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::TestServer;

/// Longest a script may run before it is killed and the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

/// The number of recorded AWS responses in `tests/fixtures/aws-recorded` (its README).
const RECORDED_RESPONSES: usize = 250;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the server crate lives in the workspace")
        .to_path_buf()
}

/// The Python interpreter with boto3 and the AWS CLI installed.
pub(crate) fn python() -> PathBuf {
    let (python, origin) = match std::env::var_os("STRONGROOM_PYTHON") {
        Some(p) => (PathBuf::from(p), "$STRONGROOM_PYTHON"),
        None => (
            workspace_root().join("target/pyenv/bin/python"),
            "the default location",
        ),
    };
    assert!(
        python.is_file(),
        "no Python interpreter at {} ({origin}): these tests need a virtualenv with boto3 and the \
         AWS CLI. Run ./scripts/test, which creates it (python3 -m venv target/pyenv && \
         target/pyenv/bin/pip install -r server/tests/python/requirements.txt), or point \
         STRONGROOM_PYTHON at an interpreter that has them.",
        python.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name);
    assert!(path.is_file(), "missing script {}", path.display());
    path
}

/// Whether an inherited variable could point the clients elsewhere than the test server: AWS
/// settings (profiles, credentials, endpoints, CA bundles), proxies, and Python path overrides.
fn is_ambient(key: &OsString) -> bool {
    let key = key.to_string_lossy().to_ascii_uppercase();
    key.starts_with("AWS_")
        || key.starts_with("BOTO_")
        || key.ends_with("_PROXY")
        || key == "PYTHONPATH"
        || key == "PYTHONHOME"
        || key == "PYTHONSTARTUP"
        || key == "REQUESTS_CA_BUNDLE"
        || key == "CURL_CA_BUNDLE"
}

struct ScriptRun {
    success: bool,
    stdout: String,
}

/// Runs `name` with the test credentials against `server`, prints what it printed, and returns
/// whether it succeeded.
async fn run_script(server: &TestServer, name: &str, extra_env: &[(&str, OsString)]) -> ScriptRun {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(script(name))
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        if is_ambient(&key) {
            cmd.env_remove(key);
        }
    }
    cmd.env("STRONGROOM_ENDPOINT", &server.url)
        .env("AWS_ACCESS_KEY_ID", common::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", common::SECRET_ACCESS_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8");
    for (key, value) in extra_env {
        cmd.env(key, value);
    }
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish within {SCRIPT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- {name}: {} ---", output.status);
    println!("--- stdout ---\n{stdout}");
    println!("--- stderr ---\n{stderr}");
    ScriptRun {
        success: output.status.success(),
        stdout,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_lifecycle_pagination_idempotency_and_errors() {
    // The suite's rotation case rotates through this function (a Python rotation function
    // written for AWS Lambda, run by the server).
    let function = "arn:aws:lambda:us-east-1:000000000000:function:boto3-suite";
    let server = TestServer::start_with(|s| {
        s.with_credentials(common::test_credentials())
            .with_rotation_function(
                function,
                strongroom_server::RotationFunction::Command(vec![
                    python().to_string_lossy().into_owned(),
                    script("rotation_function.py")
                        .to_string_lossy()
                        .into_owned(),
                ]),
            )
    })
    .await;
    let run = run_script(
        &server,
        "test_boto3.py",
        &[("STRONGROOM_ROTATION_FUNCTION", function.into())],
    )
    .await;
    assert!(
        run.success,
        "test_boto3.py failed: see its output above for the checks that failed"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_commands_pagination_binary_files_and_errors() {
    let server = TestServer::with_auth().await;
    let run = run_script(&server, "test_cli.py", &[]).await;
    assert!(
        run.success,
        "test_cli.py failed: see its output above for the checks that failed"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_aws_responses_replayed_through_boto3() {
    let recordings = workspace_root().join("tests/fixtures/aws-recorded");
    // The recorded parameters name region us-east-1 and account 000000000000: the defaults.
    let server = TestServer::with_auth().await;
    assert_eq!(server.store.region().as_str(), "us-east-1");
    assert_eq!(server.store.account_id().as_str(), "000000000000");
    let run = run_script(
        &server,
        "replay_recorded.py",
        &[("STRONGROOM_AWS_RECORDINGS", recordings.into_os_string())],
    )
    .await;
    let summary = run
        .stdout
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("aws-recorded replay: ")?;
            let rest = rest.strip_suffix(" recorded responses match")?;
            let (matched, total) = rest.split_once(" of ")?;
            Some((matched.parse::<usize>().ok()?, total.parse::<usize>().ok()?))
        })
        .expect("the replay prints `aws-recorded replay: M of N recorded responses match`");
    assert_eq!(
        summary.1, RECORDED_RESPONSES,
        "every recorded response is compared"
    );
    assert!(summary.0 <= summary.1);
    assert!(
        run.success,
        "the replay found differences from real AWS that are not in its ALLOWED list (or \
         ALLOWED entries that no longer match a difference): see its output above"
    );
    server.stop().await.unwrap();
}
