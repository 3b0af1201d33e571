//! Rotation through the server (ROT rules): `RotationLambdaARN`s mapped to local commands, run
//! once per step with the Lambda event on standard input and the server's endpoint, region and
//! credentials in their environment; the real test is a Python rotation function written for
//! AWS (`python/rotation_function.py`, boto3 inside) rotating a secret unchanged. Also: unmapped
//! functions, failing and hanging commands, `RotateImmediately=false`, `CancelRotateSecret`, the
//! rotation fields of DescribeSecret and ListSecrets, and the configuration (flags, TOML file).
//!
//! The Python interpreter is `$STRONGROOM_PYTHON`, or else `<workspace>/target/pyenv/bin/python`
//! (which `./scripts/test` creates, with boto3), as for `python_clients.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, RotationRulesType};
use common::{TestServer, call_raw, failure, sdk_client};
use strongroom::{Region, RequestContext, RotationStatus, SecretId};
use strongroom_server::{RotationFunction, Settings, parse_rotation_mapping, parse_rotation_table};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};

/// The rotation function the Python tests map (the ARN is only a name for the server).
const LAMBDA: &str = "arn:aws:lambda:eu-west-1:000000000000:function:python-rotation";
const CANNOT_INVOKE: &str = "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.";
/// How often, and how many times, a test looks for the condition it waits for (2 minutes).
const POLL: Duration = Duration::from_millis(100);
const POLLS: u32 = 1200;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Python interpreter with boto3 (as `python_clients.rs` finds it).
fn python() -> PathBuf {
    let python = std::env::var_os("STRONGROOM_PYTHON").map_or_else(
        || workspace_root().join("target/pyenv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.is_file(),
        "no Python interpreter at {}: these tests need a virtualenv with boto3. Run \
         ./scripts/test, which creates target/pyenv, or point STRONGROOM_PYTHON at one.",
        python.display()
    );
    python
}

fn function_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/rotation_function.py")
}

/// `python rotation_function.py`: the AWS-style rotation function.
fn python_function() -> RotationFunction {
    RotationFunction::Command(vec![
        python().to_string_lossy().into_owned(),
        function_script().to_string_lossy().into_owned(),
    ])
}

// ---------------------------------------------------------------------------------------------
// The server's log, captured for every test of this binary (tests filter by their secret).

type Buffer = Arc<Mutex<Vec<u8>>>;

struct LogWriter(Buffer);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_buffer() -> &'static Buffer {
    static LOGS: OnceLock<Buffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .with_ansi(false)
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .init();
        buffer
    })
}

/// The log lines that mention `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    let bytes = log_buffer().lock().unwrap().clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// A server (authentication off unless `auth`) with `LAMBDA` mapped to the Python function and
/// `configure` applied.
async fn server_with(
    auth: bool,
    configure: impl FnOnce(strongroom_server::ServerState) -> strongroom_server::ServerState,
) -> TestServer {
    log_buffer();
    TestServer::start_with(move |s| {
        let s = if auth {
            s.with_credentials(common::test_credentials())
        } else {
            s
        };
        configure(s.with_rotation_function(LAMBDA, python_function()))
    })
    .await
}

/// Polls `probe` until it gives a value (for at most [`POLLS`] × [`POLL`]).
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..POLLS {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("{what}: not within {:?}", POLL * POLLS);
}

/// The rotation in progress on `name` in `region`, read from the store.
fn status(server: &TestServer, region: &str, name: &str) -> Option<RotationStatus> {
    server
        .store
        .session(RequestContext::system().with_region(Region::new(region).unwrap()))
        .rotation_status(&SecretId::new(name).unwrap())
        .unwrap()
}

/// The fake target system: a JSON file of accepted passwords and of the steps that ran.
struct Target {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Target {
    fn new(password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target.json");
        common::write_private(
            &path,
            serde_json::json!({"passwords": {"app": [password]}, "steps": []}).to_string(),
        );
        Self { path, _dir: dir }
    }

    fn read(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&self.path).unwrap()).unwrap()
    }

    /// The steps the function ran, with their tokens, in order.
    fn steps(&self) -> Vec<(String, String)> {
        self.read()["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s[0].as_str().unwrap().to_owned(),
                    s[1].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn accepts(&self, password: &str) -> bool {
        self.read()["passwords"]["app"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == password)
    }

    /// The secret value of an RDS-like secret for this target.
    fn secret(&self, password: &str, fail_step: Option<&str>) -> String {
        let mut value = serde_json::json!({
            "username": "app",
            "password": password,
            "target": self.path.to_str().unwrap(),
        });
        if let Some(step) = fail_step {
            value["fail_step"] = step.into();
        }
        value.to_string()
    }
}

async fn create(client: &Client, name: &str, value: &str) -> (String, String) {
    let out = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    (
        out.arn().unwrap().to_owned(),
        out.version_id().unwrap().to_owned(),
    )
}

async fn value_of(client: &Client, name: &str, stage: &str) -> (String, String) {
    let out = client
        .get_secret_value()
        .secret_id(name)
        .version_stage(stage)
        .send()
        .await
        .unwrap();
    (
        out.version_id().unwrap().to_owned(),
        out.secret_string().unwrap().to_owned(),
    )
}

fn password(value: &str) -> String {
    serde_json::from_str::<serde_json::Value>(value).unwrap()["password"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn token(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
}

/// The members of a raw DescribeSecret answer.
async fn described_members(server: &TestServer, name: &str) -> serde_json::Value {
    let response = call_raw(
        server,
        "DescribeSecret",
        &format!(r#"{{"SecretId": "{name}"}}"#),
    )
    .await;
    assert_eq!(response.status, 200, "{response:?}");
    response.json()
}

const ROTATION_MEMBERS: [&str; 5] = [
    "RotationEnabled",
    "RotationLambdaARN",
    "RotationRules",
    "LastRotatedDate",
    "NextRotationDate",
];

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn an_unmapped_function_is_access_denied_and_saves_nothing() {
    let server = server_with(false, |s| s).await;
    let client = sdk_client(&server, "us-east-1").await;
    create(&client, "unmapped", "v").await;

    let f = failure(
        client
            .rotate_secret()
            .secret_id("unmapped")
            .rotation_lambda_arn("arn:aws:lambda:us-east-1:000000000000:function:not-configured")
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(1)
                    .build(),
            )
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "AccessDeniedException", "{f:?}");
    assert_eq!(f.message, CANNOT_INVOKE);
    assert_eq!(f.status, 400);

    // A raw request without ClientRequestToken (SDKs always send one) is refused, with the
    // error code AWS uses for RotateSecret, before anything is saved.
    let response = call_raw(
        &server,
        "RotateSecret",
        &format!(r#"{{"SecretId": "unmapped", "RotationLambdaARN": "{LAMBDA}"}}"#),
    )
    .await;
    response.assert_error(400, "InvalidParameterException");
    assert_eq!(
        response.message(),
        "You must provide a ClientRequestToken value. We recommend a UUID-type value."
    );

    let described = described_members(&server, "unmapped").await;
    for member in ROTATION_MEMBERS {
        assert!(described.get(member).is_none(), "{member} in {described}");
    }
    assert_eq!(
        described["VersionIdsToStages"].as_object().unwrap().len(),
        1,
        "no AWSPENDING version: {described}"
    );

    // Cancelling a rotation that was never configured is refused, as moto refuses it (ROT-9),
    // and changes nothing.
    let f = failure(
        client
            .cancel_rotate_secret()
            .secret_id("unmapped")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "InvalidRequestException", "{f:?}");
    assert_eq!(
        f.message,
        "You can't cancel the rotation of a secret whose rotation was never configured."
    );
    let described = described_members(&server, "unmapped").await;
    assert!(described.get("RotationEnabled").is_none(), "{described}");

    let f = failure(
        client
            .cancel_rotate_secret()
            .secret_id("no-such-secret")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "ResourceNotFoundException", "{f:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_rotation_function_written_for_aws_rotates_the_secret() {
    // Authentication on (the function signs with the test key), and a region other than the
    // store's default (the function gets the secret's region).
    let server = server_with(true, |s| s).await;
    let region = "eu-west-1";
    let client = sdk_client(&server, region).await;
    let target = Target::new("initial-password");
    let name = "app/db-credentials";
    let (arn, first) = create(&client, name, &target.secret("initial-password", None)).await;
    let rotation = token(1);

    let rotated = client
        .rotate_secret()
        .secret_id(name)
        .client_request_token(&rotation)
        .rotation_lambda_arn(LAMBDA)
        .rotation_rules(
            RotationRulesType::builder()
                .automatically_after_days(7)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.arn(), Some(arn.as_str()));
    assert_eq!(rotated.name(), Some(name));
    assert_eq!(rotated.version_id(), Some(rotation.as_str()));

    // The steps run after the response, in the background.
    let c = &client;
    let described = eventually("the rotation to finish", || async move {
        let d = c.describe_secret().secret_id(name).send().await.unwrap();
        d.last_rotated_date().is_some().then_some(d)
    })
    .await;

    assert_eq!(
        target.steps(),
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
            .map(|s| (s.to_owned(), rotation.clone()))
            .to_vec(),
        "the function saw the four steps in order"
    );
    let (current_version, current) = value_of(&client, name, "AWSCURRENT").await;
    let (previous_version, previous) = value_of(&client, name, "AWSPREVIOUS").await;
    assert_eq!(current_version, rotation);
    assert_eq!(previous_version, first);
    assert_eq!(password(&previous), "initial-password");
    let new_password = password(&current);
    assert_ne!(new_password, "initial-password");
    assert!(target.accepts(&new_password), "setSecret ran on the target");

    assert_eq!(described.rotation_enabled(), Some(true));
    assert_eq!(described.rotation_lambda_arn(), Some(LAMBDA));
    let rules = described.rotation_rules().unwrap();
    assert_eq!(rules.automatically_after_days(), Some(7));
    assert!(rules.schedule_expression().is_none());
    common::assert_recent("LastRotatedDate", described.last_rotated_date());
    let last = described.last_rotated_date().unwrap().as_secs_f64();
    let next = described.next_rotation_date().unwrap().as_secs_f64();
    assert!(
        (next - last - 7.0 * 86_400.0).abs() < 5.0,
        "NextRotationDate {next} is 7 days after LastRotatedDate {last}"
    );
    let stages = described.version_ids_to_stages().unwrap();
    assert!(stages[&rotation].contains(&"AWSCURRENT".to_owned()));
    assert_eq!(stages[&first], vec!["AWSPREVIOUS".to_owned()]);

    // ListSecrets shows the same rotation fields.
    let listed = client
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let entry = &listed.secret_list()[0];
    assert_eq!(entry.name(), Some(name));
    assert_eq!(entry.rotation_enabled(), Some(true));
    assert_eq!(entry.rotation_lambda_arn(), Some(LAMBDA));
    assert_eq!(
        entry.rotation_rules().unwrap().automatically_after_days(),
        Some(7)
    );
    assert_eq!(entry.last_rotated_date(), described.last_rotated_date());
    assert_eq!(entry.next_rotation_date(), described.next_rotation_date());

    // The log tells each step's outcome; never a value, and not what the function printed
    // (logged at debug level only: it can hold values).
    let lines = log_lines(&arn);
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains("rotation step succeeded") && l.contains(step)),
            "no success logged for {step}: {lines:#?}"
        );
    }
    let all = log_lines("");
    assert!(
        !all.iter().any(
            |l| l.contains("rotation function output") || l.contains("Successfully put secret")
        ),
        "the function's output at the default level: {lines:#?}"
    );
    assert!(
        !all.iter()
            .any(|l| l.contains(&new_password) || l.contains("initial-password")),
        "a secret value in the log"
    );

    // Rotating again with the same token is an idempotent replay: nothing runs again.
    let again = client
        .rotate_secret()
        .secret_id(name)
        .client_request_token(&rotation)
        .send()
        .await
        .unwrap();
    assert_eq!(again.version_id(), Some(rotation.as_str()));
    assert_eq!(target.steps().len(), 4);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_function_leaves_the_secret_as_it_was_and_can_be_cancelled() {
    let server = server_with(false, |s| s).await;
    let client = sdk_client(&server, "us-east-1").await;
    let target = Target::new("initial-password");
    let name = "failing";
    let value = target.secret("initial-password", Some("setSecret"));
    let (arn, first) = create(&client, name, &value).await;
    let rotation = token(2);
    client
        .rotate_secret()
        .secret_id(name)
        .client_request_token(&rotation)
        .rotation_lambda_arn(LAMBDA)
        .send()
        .await
        .unwrap();

    let failed = eventually("the failure of setSecret", || async {
        status(&server, "us-east-1", name).filter(|s| s.attempts > 0)
    })
    .await;
    assert_eq!(failed.token.as_str(), rotation);
    assert_eq!(failed.next_step.as_str(), "setSecret");
    // The error (kept unencrypted in the record, and logged) names the program, the step and
    // the exit status; never the function's output, whose traceback could quote a value.
    let error = failed.last_error.unwrap();
    assert!(
        error.contains(&format!(
            "command {:?} failed in setSecret (exit status: 1); its output is logged at debug level",
            python().to_string_lossy()
        )),
        "{error}"
    );
    assert!(
        !error.contains("ValueError") && !error.contains("refused"),
        "the traceback in the error: {error}"
    );
    let lines = log_lines(&arn);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("rotation step failed") && l.contains("setSecret")),
        "{lines:#?}"
    );
    assert!(
        !log_lines("")
            .iter()
            .any(|l| l.contains("ValueError") || l.contains("the target refused the new password")),
        "the traceback in the log at the default level: {lines:#?}"
    );
    assert_eq!(
        target.steps(),
        vec![
            ("createSecret".to_owned(), rotation.clone()),
            ("setSecret".to_owned(), rotation.clone()),
        ]
    );
    // AWSCURRENT is untouched; the pending version has the new value.
    assert_eq!(
        value_of(&client, name, "AWSCURRENT").await,
        (first.clone(), value.clone())
    );
    let (pending_version, _) = value_of(&client, name, "AWSPENDING").await;
    assert_eq!(pending_version, rotation);
    let described = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    assert!(described.last_rotated_date().is_none());
    assert_eq!(described.rotation_enabled(), Some(true));

    // A second rotation is refused while this one is not complete.
    let f = failure(
        client
            .rotate_secret()
            .secret_id(name)
            .client_request_token(token(3))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "InvalidRequestException", "{f:?}");

    // CancelRotateSecret: rotation off, settings kept, labels untouched (ROT-9).
    let cancelled = client
        .cancel_rotate_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.arn(), Some(arn.as_str()));
    assert_eq!(cancelled.name(), Some(name));
    assert_eq!(cancelled.version_id(), Some(rotation.as_str()));
    let described = described_members(&server, name).await;
    assert_eq!(described["RotationEnabled"], false, "{described}");
    assert_eq!(described["RotationLambdaARN"], LAMBDA, "{described}");
    assert!(described.get("NextRotationDate").is_none(), "{described}");
    assert!(described.get("LastRotatedDate").is_none(), "{described}");
    assert_eq!(
        described["VersionIdsToStages"][&rotation],
        serde_json::json!(["AWSPENDING"])
    );
    assert!(status(&server, "us-east-1", name).is_none());

    // Until AWSPENDING is removed, rotating again fails; after, it starts.
    let f = failure(
        client
            .rotate_secret()
            .secret_id(name)
            .client_request_token(token(4))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "InvalidRequestException", "{f:?}");
    client
        .update_secret_version_stage()
        .secret_id(name)
        .version_stage("AWSPENDING")
        .remove_from_version_id(&rotation)
        .send()
        .await
        .unwrap();
    let restarted = client
        .rotate_secret()
        .secret_id(name)
        .client_request_token(token(5))
        .send()
        .await
        .unwrap();
    assert_eq!(restarted.version_id(), Some(token(5).as_str()));
    client
        .cancel_rotate_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rotate_immediately_false_runs_only_test_secret() {
    let server = server_with(false, |s| s).await;
    let client = sdk_client(&server, "us-east-1").await;
    let target = Target::new("initial-password");
    let name = "test-only";
    let value = target.secret("initial-password", None);
    let (_arn, first) = create(&client, name, &value).await;
    let rotation = token(6);
    client
        .rotate_secret()
        .secret_id(name)
        .client_request_token(&rotation)
        .rotation_lambda_arn(LAMBDA)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(10 days)")
                .duration("2h")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .unwrap();

    eventually("the test to finish", || async {
        status(&server, "us-east-1", name).is_none().then_some(())
    })
    .await;
    assert_eq!(
        target.steps(),
        vec![("testSecret".to_owned(), rotation.clone())]
    );
    assert_eq!(
        value_of(&client, name, "AWSCURRENT").await,
        (first.clone(), value)
    );
    let described = described_members(&server, name).await;
    assert!(
        described["VersionIdsToStages"].get(&rotation).is_none(),
        "the temporary version is gone: {described}"
    );
    assert_eq!(described["RotationEnabled"], true, "{described}");
    assert_eq!(
        described["RotationRules"],
        serde_json::json!({
            "AutomaticallyAfterDays": 10,
            "ScheduleExpression": "rate(10 days)",
            "Duration": "2h",
        })
    );
    assert!(described.get("LastRotatedDate").is_none(), "{described}");
    assert!(described["NextRotationDate"].is_number(), "{described}");
    server.stop().await.unwrap();
}

/// `sh -c` starting `sleep 600` in the background (not `exec`: a process the command started),
/// writing its pid to `pid_file`, then waiting for it.
fn sleeps_in_a_grandchild(pid_file: &Path) -> RotationFunction {
    RotationFunction::Command(vec![
        "sh".into(),
        "-c".into(),
        r#"sleep 600 & echo $! > "$1.tmp"; mv "$1.tmp" "$1"; wait"#.into(),
        "sh".into(),
        pid_file.to_str().unwrap().into(),
    ])
}

/// The process `sleeps_in_a_grandchild` started; killed when dropped, so that a failing test
/// leaves no `sleep 600` behind.
struct Grandchild(i32);

impl Drop for Grandchild {
    fn drop(&mut self) {
        if !process_gone(self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Grandchild {
    /// The process whose pid `sleeps_in_a_grandchild` wrote, once it is there.
    async fn of(pid_file: &Path) -> Self {
        Self(
            eventually("the grandchild's pid", || async move {
                std::fs::read_to_string(pid_file)
                    .ok()
                    .and_then(|pid| pid.trim().parse().ok())
            })
            .await,
        )
    }

    /// Waits (at most 10 s) for the process to be gone; fails if it is not.
    async fn assert_gone(&self, what: &str) {
        for _ in 0..100 {
            if process_gone(self.0) {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("{what}: process {} still runs", self.0);
    }
}

/// Whether process `pid` is gone: no longer there, or a zombie (dead, not yet reaped).
fn process_gone(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        // `PID (COMM) STATE ...`: the state follows the last `)`.
        stat.rsplit_once(')')
            .is_none_or(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_that_runs_too_long_is_killed() {
    let hanging = "arn:aws:lambda:us-east-1:000000000000:function:hangs";
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let command = sleeps_in_a_grandchild(&pid_file);
    let server = server_with(false, |s| {
        s.with_rotation_function(hanging, command)
            .with_rotation_step_timeout(Duration::from_secs(1))
    })
    .await;
    let client = sdk_client(&server, "us-east-1").await;
    create(&client, "hangs", "v").await;
    client
        .rotate_secret()
        .secret_id("hangs")
        .client_request_token(token(7))
        .rotation_lambda_arn(hanging)
        .send()
        .await
        .unwrap();
    let grandchild = Grandchild::of(&pid_file).await;
    let failed = eventually("the step's timeout", || async {
        status(&server, "us-east-1", "hangs").filter(|s| s.attempts > 0)
    })
    .await;
    let error = failed.last_error.unwrap();
    assert!(
        error.contains(r#"command "sh" did not finish createSecret within 1 s and was killed"#),
        "{error}"
    );
    // The whole process group is killed: the command and the process it started.
    grandchild
        .assert_gone("the timed-out command's child")
        .await;
    assert_eq!(value_of(&client, "hangs", "AWSCURRENT").await.1, "v");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_kills_a_running_step_at_once() {
    let hanging = "arn:aws:lambda:us-east-1:000000000000:function:hangs-until-shutdown";
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    // Starts a process that sleeps far longer than shutdown may take, and waits for it.
    let command = sleeps_in_a_grandchild(&pid_file);
    let server = server_with(false, |s| s.with_rotation_function(hanging, command)).await;
    let client = sdk_client(&server, "us-east-1").await;
    let (arn, _) = create(&client, "stopping", "v").await;
    client
        .rotate_secret()
        .secret_id("stopping")
        .client_request_token(token(8))
        .rotation_lambda_arn(hanging)
        .send()
        .await
        .unwrap();
    let grandchild = Grandchild::of(&pid_file).await;
    let store = server.store.clone();
    // Shutdown waits neither the step's timeout (5 minutes) nor the rotation wait (30 s).
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("shutdown waited for the rotation command")
        .unwrap();
    let status = store
        .as_system()
        .rotation_status(&SecretId::new("stopping").unwrap())
        .unwrap()
        .unwrap();
    // The interrupted step counts no attempt: it runs again, from the start, after a restart
    // (so shutdowns cannot make a rotation give up).
    assert_eq!(status.next_step.as_str(), "createSecret");
    assert_eq!(status.attempts, 0, "{status:?}");
    assert!(!status.failed, "{status:?}");
    assert_eq!(status.last_error, None, "{status:?}");
    let lines = log_lines(&arn);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("rotation step interrupted")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("rotation step failed")),
        "{lines:#?}"
    );
    // The whole process group is killed: the command and the process it started.
    grandchild.assert_gone("the stopped command's child").await;
}

#[test]
fn debug_output_shows_a_commands_program_not_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let store = strongroom::SecretStore::builder(
        dir.path().join("db"),
        Arc::new(strongroom::InsecureTestKeyProvider::new(7)),
    )
    .open()
    .unwrap();
    // An argument could hold something private.
    let function = RotationFunction::Command(vec![
        "python3".into(),
        "/opt/rotate.py".into(),
        "--password=private-value".into(),
    ]);
    let state =
        strongroom_server::ServerState::new(store).with_rotation_function(LAMBDA, function.clone());
    for debug in [format!("{function:?}"), format!("{state:?}")] {
        assert!(
            debug.contains(r#"Command { program: "python3", args: 2 }"#),
            "{debug}"
        );
        assert!(
            !debug.contains("private-value") && !debug.contains("/opt/rotate.py"),
            "{debug}"
        );
    }
}

/// `builtin:postgres-single-user` maps to the engine's PostgreSQL rotator (only its wiring is
/// checked here: the database is unreachable, so `setSecret` fails after `createSecret` made
/// the new credential; the engine's own tests rotate against a real PostgreSQL).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn a_builtin_postgres_rotator_is_wired_in() {
    let function = "arn:aws:lambda:us-east-1:000000000000:function:postgres";
    let (arn_key, rotator) =
        parse_rotation_mapping(&format!("{function}=builtin:postgres-single-user")).unwrap();
    let server = server_with(false, |s| s.with_rotation_function(arn_key, rotator)).await;
    let client = sdk_client(&server, "us-east-1").await;
    let value = serde_json::json!({
        "engine": "postgres",
        "host": "127.0.0.1",
        "port": 1,
        "username": "app",
        "password": "initial-password",
    })
    .to_string();
    let (arn, _) = create(&client, "pg", &value).await;
    client
        .rotate_secret()
        .secret_id("pg")
        .client_request_token(token(9))
        .rotation_lambda_arn(function)
        .send()
        .await
        .unwrap();
    let failed = eventually("setSecret to fail", || async {
        status(&server, "us-east-1", "pg").filter(|s| s.attempts > 0)
    })
    .await;
    assert_eq!(failed.next_step.as_str(), "setSecret", "{failed:?}");
    assert!(
        log_lines(&arn)
            .iter()
            .any(|l| l.contains("rotation step succeeded") && l.contains("createSecret")),
        "{:#?}",
        log_lines(&arn)
    );
    assert_eq!(value_of(&client, "pg", "AWSCURRENT").await.1, value);
    server.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Configuration.

#[test]
fn the_settings_file_and_the_flags_merge_rotation_functions_by_arn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strongroom.toml");
    common::write_private(
        &path,
        r#"
rotation_step_timeout = 60
rotation_access_key_id = "AKIDROTATOR"

[rotation_functions]
"arn:aws:lambda:us-east-1:000000000000:function:from-file" = "python3 /opt/rotate.py --db 'main db'"
"arn:aws:lambda:us-east-1:000000000000:function:both" = "/usr/bin/false"
"#,
    );
    let file = Settings::load(&path).unwrap();
    assert_eq!(file.rotation_step_timeout, Some(60));
    assert_eq!(file.rotation_access_key_id.as_deref(), Some("AKIDROTATOR"));

    let mut flags = Settings::default();
    let (arn, _) = parse_rotation_mapping(
        "arn:aws:lambda:us-east-1:000000000000:function:both=./rotate --x=1",
    )
    .unwrap();
    flags.rotation_functions = BTreeMap::from([
        (arn, "./rotate --x=1".to_owned()),
        (
            "arn:aws:lambda:us-east-1:000000000000:function:from-flag".to_owned(),
            "rotate-it".to_owned(),
        ),
    ]);
    flags.rotation_step_timeout = Some(5);
    let merged = flags.or(file);
    assert_eq!(merged.rotation_step_timeout, Some(5), "flags win");
    assert_eq!(
        merged.rotation_access_key_id.as_deref(),
        Some("AKIDROTATOR")
    );
    let functions: BTreeMap<String, RotationFunction> =
        parse_rotation_table(&merged.rotation_functions)
            .unwrap()
            .into_iter()
            .collect();
    let words = |w: &[&str]| RotationFunction::Command(w.iter().map(|s| (*s).to_owned()).collect());
    assert_eq!(
        functions,
        BTreeMap::from([
            (
                "arn:aws:lambda:us-east-1:000000000000:function:both".to_owned(),
                words(&["./rotate", "--x=1"]),
            ),
            (
                "arn:aws:lambda:us-east-1:000000000000:function:from-file".to_owned(),
                words(&["python3", "/opt/rotate.py", "--db", "main db"]),
            ),
            (
                "arn:aws:lambda:us-east-1:000000000000:function:from-flag".to_owned(),
                words(&["rotate-it"]),
            ),
        ])
    );
}

#[test]
fn bad_rotation_settings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    for (body, expected) in [
        ("[rotation_functions]\n\"\" = \"rotate\"\n", "empty ARN"),
        (
            "[rotation_functions]\n\"arn:f\" = \"\"\n",
            "the command is empty",
        ),
        (
            "[rotation_functions]\n\"arn:f\" = \"  \"\n",
            "the command is empty",
        ),
        (
            "[rotation_functions]\n\"arn:f\" = \"python3 'unbalanced\"\n",
            "cannot be split into words",
        ),
        (
            "[rotation_functions]\n\"arn:f\" = \"builtin:no-such-rotator\"\n",
            "unknown built-in rotator 'no-such-rotator'",
        ),
        ("[rotation_functions]\n\"arn:f\" = 3\n", "string"),
        ("rotation_step_timeout = 0\n", "at least 1 second"),
        (
            "idle_timeout = 0\n",
            "idle_timeout must be at least 1 second",
        ),
        (
            "max_connections = 0\n",
            "max_connections must be at least 1",
        ),
    ] {
        common::write_private(&path, body);
        let e = Settings::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml") && e.contains(expected),
            "{body:?}: {e}"
        );
    }
    for (flag, expected) in [
        ("no-equals-sign", "expected ARN=COMMAND"),
        ("=rotate", "empty ARN"),
        ("arn:f=", "the command is empty"),
        ("arn:f=builtin:nope", "unknown built-in rotator 'nope'"),
    ] {
        let e = parse_rotation_mapping(flag).unwrap_err();
        assert!(e.contains(expected), "{flag:?}: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// The binary.

const BIN: &str = env!("CARGO_BIN_EXE_strongroom");

/// A running `strongroom serve`, its standard error read continuously into `log`.
struct Running {
    child: tokio::process::Child,
    url: String,
    log: Buffer,
}

impl Running {
    fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }
}

async fn serve(args: &[&str], cwd: &Path) -> Running {
    let mut child = tokio::process::Command::new(BIN)
        .arg("serve")
        .args(args)
        .current_dir(cwd)
        // The rotation functions' output too (debug level only).
        .env("RUST_LOG", "info,strongroom_server::rotation::output=debug")
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
    let log = Buffer::default();
    let sink = Arc::clone(&log);
    let mut err = child.stderr.take().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    Running {
        child,
        url: format!("http://{addr}"),
        log,
    }
}

fn binary_client(url: &str, key: (&str, &str)) -> Client {
    common::sdk_client_at(url, "us-east-1", key)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_maps_functions_from_its_flags_and_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds.txt");
    std::fs::write(
        &creds,
        format!(
            "{} {} {}\nAKIDROTATOR rotator-secret-access-key rotator\n",
            common::ACCESS_KEY_ID,
            common::SECRET_ACCESS_KEY,
            common::PRINCIPAL
        ),
    )
    .unwrap();
    std::fs::set_permissions(&creds, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let both = "arn:aws:lambda:us-east-1:000000000000:function:both";
    let from_file = "arn:aws:lambda:us-east-1:000000000000:function:from-file";
    common::write_private(
        dir.path().join("strongroom.toml"),
        format!(
            "credentials = \"creds.txt\"\nrotation_access_key_id = \"AKIDROTATOR\"\n\n[rotation_functions]\n\"{both}\" = \"false\"\n\"{from_file}\" = \"false\"\n"
        ),
    );
    let command = shell_words::join([
        python().to_str().unwrap(),
        function_script().to_str().unwrap(),
    ]);
    let running = serve(
        &[
            "--config",
            dir.path().join("strongroom.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--data",
            dir.path().join("data").to_str().unwrap(),
            "--rotation-function",
            &format!("{both}={command}"),
        ],
        dir.path(),
    )
    .await;
    let client = binary_client(
        &running.url,
        (common::ACCESS_KEY_ID, common::SECRET_ACCESS_KEY),
    );

    // The flag's command wins for `both`: the Python function rotates the secret.
    let target = Target::new("initial-password");
    create(&client, "by-flag", &target.secret("initial-password", None)).await;
    client
        .rotate_secret()
        .secret_id("by-flag")
        .rotation_lambda_arn(both)
        .send()
        .await
        .unwrap();
    let c = &client;
    eventually("the rotation to finish", || async move {
        let d = c
            .describe_secret()
            .secret_id("by-flag")
            .send()
            .await
            .unwrap();
        d.last_rotated_date().is_some().then_some(())
    })
    .await;
    assert_eq!(target.steps().len(), 4);

    // The file's mapping for `from-file` is there: `false` exits 1, a failed step.
    let (arn, _) = create(&client, "by-file", "v").await;
    client
        .rotate_secret()
        .secret_id("by-file")
        .rotation_lambda_arn(from_file)
        .send()
        .await
        .unwrap();
    let r = &running;
    let arn_ref = &arn;
    eventually("the failure to be logged", || async move {
        r.log()
            .lines()
            .any(|l| {
                l.contains("rotation step failed")
                    && l.contains(arn_ref.as_str())
                    && l.contains("(exit status: 1)")
            })
            .then_some(())
    })
    .await;
    assert_eq!(value_of(&client, "by-file", "AWSCURRENT").await.1, "v");

    // An ARN mapped nowhere.
    let f = failure(
        client
            .rotate_secret()
            .secret_id("by-file")
            .rotation_lambda_arn("arn:aws:lambda:us-east-1:000000000000:function:nowhere")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "AccessDeniedException");

    let pid = nix::unistd::Pid::from_raw(i32::try_from(running.child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut running = running;
    let status = running.child.wait().await.unwrap();
    assert!(status.success(), "{status}");
    let log = running.log();
    // The function's calls were signed with the designated access key.
    let put_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("operation=\"PutSecretValue\"") && l.contains("request_id="))
        .collect();
    assert!(
        !put_lines.is_empty()
            && put_lines
                .iter()
                .all(|l| l.contains("principal=\"rotator\"")),
        "{put_lines:#?}"
    );
    // What the function printed is there, at debug level, under its own target.
    assert!(
        log.lines().any(|l| l.contains("DEBUG")
            && l.contains("strongroom_server::rotation::output")
            && l.contains("rotation function output")
            && l.contains("Successfully put secret")),
        "{log}"
    );
    assert!(!log.contains("rotator-secret-access-key"), "{log}");
    assert!(!log.contains("initial-password"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_refuses_bad_rotation_flags() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            vec!["--rotation-function", "no-equals-sign"],
            "expected ARN=COMMAND",
        ),
        (
            vec!["--rotation-function", "arn:f=builtin:no-such-rotator"],
            "unknown built-in rotator",
        ),
        (
            vec!["--rotation-step-timeout", "0"],
            "rotation-step-timeout",
        ),
        (
            vec![
                "--rotation-access-key-id",
                "AKIDNOPE",
                "--credentials",
                "creds.txt",
            ],
            "AKIDNOPE",
        ),
    ] {
        std::fs::write(
            dir.path().join("creds.txt"),
            format!(
                "{} {} {}\n",
                common::ACCESS_KEY_ID,
                common::SECRET_ACCESS_KEY,
                common::PRINCIPAL
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            dir.path().join("creds.txt"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let out = tokio::process::Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data", "d"])
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
