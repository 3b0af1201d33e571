//! Rotation functions: what a `RotationLambdaARN` maps to, and the background task that runs
//! due rotations (ROT rules).
//!
//! The server's configuration maps a rotation function's ARN to a local command or to a built-in
//! rotator (`builtin:postgres-single-user`, `builtin:postgres-alternating-users`, run in the
//! server's process). A command is run once per step, as AWS invokes a Lambda function: the event
//! `{"Step", "SecretId", "ClientRequestToken"}` as JSON on standard input, and in its environment
//! the server's own endpoint, the secret's region and credentials, so that a Python rotation
//! function written for AWS (boto3 inside) runs unchanged. Its exit status is the step's result;
//! its output is logged at debug level only (target [`OUTPUT_TARGET`]), never in the step's
//! error, which is kept unencrypted in the secret's record: a traceback can quote a value.
//! A command runs in a process group of its own, killed whole when the step times out or the
//! server stops.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use strongroom::{
    Arn, Clock, RotationStep, Rotator, SecretStore, Session, StepError, StepInterrupted, VersionId,
};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

/// How long one step of a rotation command may run before it is killed, unless configured.
pub const DEFAULT_ROTATION_STEP_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the server looks for rotations that are due, unless configured. `RotateSecret`
/// wakes it at once.
pub const DEFAULT_ROTATION_INTERVAL: Duration = Duration::from_secs(10);
/// How long shutdown waits for the rotation task to stop (a command's step is killed at once;
/// a built-in rotator's step is waited for this long).
pub const ROTATION_STOP_WAIT: Duration = Duration::from_secs(30);

/// The prefix of a mapping that names a built-in rotator instead of a command.
const BUILTIN_PREFIX: &str = "builtin:";
/// The built-in rotators this build has: PostgreSQL's with the `postgres` cargo feature.
#[cfg(feature = "postgres")]
const BUILTINS: &[&str] = &[POSTGRES_SINGLE_USER, POSTGRES_ALTERNATING_USERS];
#[cfg(not(feature = "postgres"))]
const BUILTINS: &[&str] = &[];
#[cfg(feature = "postgres")]
const POSTGRES_SINGLE_USER: &str = "postgres-single-user";
#[cfg(feature = "postgres")]
const POSTGRES_ALTERNATING_USERS: &str = "postgres-alternating-users";
/// The most of a command's standard output (and, apart, of its error output) kept for the log:
/// the last bytes, where a traceback ends.
const MAX_OUTPUT_BYTES: usize = 8 * 1024;
/// The log target of a command's output, logged at debug level only: it can hold secret values
/// (a function's prints, a traceback quoting a value).
const OUTPUT_TARGET: &str = "strongroom_server::rotation::output";
/// How long the output of a command that ended is still read (a process it started may keep
/// the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_secs(2);
/// The credentials a rotation command signs with when authentication is off (any are accepted).
const ANONYMOUS_KEY: (&str, &str) = ("strongroom-rotation", "strongroom-rotation-unauthenticated");

/// What a rotation function ARN maps to. Its `Debug` shows a command's program and how many
/// arguments follow, not the arguments (one could hold something private).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationFunction {
    /// A local command, program and arguments, run without a shell once per step.
    Command(Vec<String>),
    /// The engine's PostgreSQL rotator (`builtin:postgres-single-user`,
    /// `builtin:postgres-alternating-users`), run in the server's process; the secret's JSON
    /// value names the database, as for AWS's RDS rotation functions.
    #[cfg(feature = "postgres")]
    Postgres(strongroom::PostgresStrategy),
}

impl fmt::Debug for RotationFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Command(argv) => CommandSummary(argv).fmt(f),
            #[cfg(feature = "postgres")]
            Self::Postgres(strategy) => f.debug_tuple("Postgres").field(strategy).finish(),
        }
    }
}

/// A command line for `Debug`: its program and the number of arguments, never the arguments.
struct CommandSummary<'a>(&'a [String]);

impl fmt::Debug for CommandSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("program", &self.0.first().map_or("", String::as_str))
            .field("args", &self.0.len().saturating_sub(1))
            .finish()
    }
}

impl RotationFunction {
    /// Parses the `COMMAND` of a mapping: `builtin:NAME` names a built-in rotator; anything else
    /// is a command line, split into words as a POSIX shell would (quotes, backslashes; no
    /// variables, globs or pipes), and run without a shell.
    ///
    /// ## Errors
    /// An empty command, unbalanced quotes, or an unknown built-in rotator.
    pub fn parse(command: &str) -> Result<Self, String> {
        if let Some(name) = command.trim().strip_prefix(BUILTIN_PREFIX) {
            #[cfg(feature = "postgres")]
            match name {
                POSTGRES_SINGLE_USER => {
                    return Ok(Self::Postgres(strongroom::PostgresStrategy::SingleUser));
                }
                POSTGRES_ALTERNATING_USERS => {
                    return Ok(Self::Postgres(
                        strongroom::PostgresStrategy::AlternatingUsers,
                    ));
                }
                _ => {}
            }
            let known = if BUILTINS.is_empty() {
                "this server has none".to_owned()
            } else {
                format!("known: {}", BUILTINS.join(", "))
            };
            return Err(format!("unknown built-in rotator '{name}' ({known})"));
        }
        let words = shell_words::split(command)
            .map_err(|e| format!("the command cannot be split into words: {e}"))?;
        if words.first().is_none_or(String::is_empty) {
            return Err("the command is empty".to_owned());
        }
        Ok(Self::Command(words))
    }
}

/// Parses one `ARN=COMMAND` mapping (the `--rotation-function` flag): the ARN is everything
/// before the first `=`.
///
/// ## Errors
/// No `=`, an empty ARN, or a command [`RotationFunction::parse`] refuses.
pub fn parse_rotation_mapping(mapping: &str) -> Result<(String, RotationFunction), String> {
    let (arn, command) = mapping
        .split_once('=')
        .ok_or_else(|| format!("expected ARN=COMMAND, got '{mapping}'"))?;
    let arn = arn.trim();
    if arn.is_empty() {
        return Err(format!(
            "expected ARN=COMMAND, got an empty ARN in '{mapping}'"
        ));
    }
    let function = RotationFunction::parse(command).map_err(|e| format!("{arn}: {e}"))?;
    Ok((arn.to_owned(), function))
}

/// Validates a table of `ARN = COMMAND` mappings (a settings file's `[rotation_functions]`).
///
/// ## Errors
/// The first entry with an empty ARN or a command [`RotationFunction::parse`] refuses.
pub fn parse_rotation_table(
    table: &BTreeMap<String, String>,
) -> Result<Vec<(String, RotationFunction)>, String> {
    table
        .iter()
        .map(|(arn, command)| {
            let arn = arn.trim();
            if arn.is_empty() {
                return Err("a rotation function has an empty ARN".to_owned());
            }
            let function = RotationFunction::parse(command).map_err(|e| format!("{arn}: {e}"))?;
            Ok((arn.to_owned(), function))
        })
        .collect()
}

/// The rotation settings of a server.
#[derive(Clone, Debug)]
pub(crate) struct RotationSettings {
    pub(crate) functions: BTreeMap<String, RotationFunction>,
    /// The configured step timeout; commands default to [`DEFAULT_ROTATION_STEP_TIMEOUT`],
    /// built-in rotators to their own.
    pub(crate) step_timeout: Option<Duration>,
    pub(crate) interval: Duration,
    pub(crate) access_key_id: Option<String>,
    /// Woken by `RotateSecret`, so that a rotation it started runs at once.
    pub(crate) wake: Arc<Notify>,
}

impl Default for RotationSettings {
    fn default() -> Self {
        Self {
            functions: BTreeMap::new(),
            step_timeout: None,
            interval: DEFAULT_ROTATION_INTERVAL,
            access_key_id: None,
            wake: Arc::new(Notify::new()),
        }
    }
}

/// The URL that a process on this machine reaches a server bound to `addr` at.
pub(crate) fn endpoint_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Registers the configured rotation functions with `store` and starts the task that runs due
/// rotations until `stop` turns true (or its sender goes).
pub(crate) fn start(
    store: &SecretStore,
    clock: Arc<dyn Clock>,
    settings: &RotationSettings,
    credentials: Option<&crate::auth::Credentials>,
    endpoint: String,
    stop: watch::Receiver<bool>,
) -> std::io::Result<JoinHandle<()>> {
    let key = match credentials {
        Some(c) => {
            let designated = settings.access_key_id.as_deref();
            c.key_pair(designated).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "the rotation access key {} is not among the credentials",
                        designated.unwrap_or("(first)")
                    ),
                )
            })?
        }
        None => (
            ANONYMOUS_KEY.0.to_owned(),
            Zeroizing::new(ANONYMOUS_KEY.1.to_owned()),
        ),
    };
    let runtime = tokio::runtime::Handle::current();
    for (arn, function) in &settings.functions {
        let inner: Arc<dyn Rotator> = match function {
            RotationFunction::Command(argv) => {
                // Only the program: an argument could hold something private.
                let program = argv.first().map_or("", String::as_str);
                tracing::info!(function = %arn, program, "rotation function: a command");
                Arc::new(CommandRotator {
                    argv: argv.clone(),
                    endpoint: endpoint.clone(),
                    access_key_id: key.0.clone(),
                    secret_access_key: key.1.clone(),
                    timeout: settings
                        .step_timeout
                        .unwrap_or(DEFAULT_ROTATION_STEP_TIMEOUT),
                    runtime: runtime.clone(),
                    stop: stop.clone(),
                })
            }
            #[cfg(feature = "postgres")]
            RotationFunction::Postgres(strategy) => {
                tracing::info!(function = %arn, ?strategy, "rotation function: built-in PostgreSQL rotator");
                let mut rotator = strongroom::PostgresRotator::new(*strategy);
                if let Some(timeout) = settings.step_timeout {
                    rotator = rotator.step_timeout(timeout);
                }
                Arc::new(rotator)
            }
        };
        store.register_rotator(
            arn.clone(),
            Arc::new(LoggedRotator {
                function: arn.clone(),
                inner,
            }),
        );
    }
    Ok(tokio::spawn(run_due(
        store.clone(),
        clock,
        settings.interval,
        Arc::clone(&settings.wake),
        stop,
    )))
}

/// Runs `store.rotate_due` every `interval`, and whenever `wake` is notified, until `stop`.
async fn run_due(
    store: SecretStore,
    clock: Arc<dyn Clock>,
    interval: Duration,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_errors = 0usize;
    loop {
        if stopped(&stop) {
            break;
        }
        let due = store.clone();
        let now = clock.now();
        match tokio::task::spawn_blocking(move || due.rotate_due(now)).await {
            Ok(Ok(report)) => {
                if report.started + report.completed + report.failed > 0 {
                    tracing::info!(
                        started = report.started,
                        completed = report.completed,
                        failed = report.failed,
                        errors = report.errors,
                        "due rotations run"
                    );
                }
                // A secret that cannot be rotated (its function is no longer configured, ...)
                // fails on every pass: say so when the count changes, not every time.
                if report.errors != last_errors && report.errors > 0 {
                    tracing::warn!(
                        errors = report.errors,
                        "due rotations that could not be started or driven (a rotation function that is not configured, or a store error)"
                    );
                }
                last_errors = report.errors;
            }
            Ok(Err(e)) => tracing::error!(error = %e, "running due rotations failed"),
            Err(e) => tracing::error!(error = %e, "the due-rotation pass panicked"),
        }
        tokio::select! {
            () = wait_stop(&mut stop) => break,
            () = wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
    tracing::debug!("rotation task stopped");
}

fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Completes when `stop` is true, or its sender is gone (the server stopped).
async fn wait_stop(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Logs each step of a rotation and its result (names, ids and error text; never a value).
#[derive(Debug)]
struct LoggedRotator {
    function: String,
    inner: Arc<dyn Rotator>,
}

impl LoggedRotator {
    fn step(
        &self,
        step: RotationStep,
        arn: &Arn,
        token: &VersionId,
        run: impl FnOnce() -> Result<(), StepError>,
    ) -> Result<(), StepError> {
        tracing::debug!(
            function = %self.function,
            secret = arn.as_str(),
            token = token.as_str(),
            %step,
            "rotation step starting"
        );
        let result = run();
        match &result {
            Ok(()) => tracing::info!(
                function = %self.function,
                secret = arn.as_str(),
                token = token.as_str(),
                %step,
                "rotation step succeeded"
            ),
            Err(e) if e.is::<StepInterrupted>() => tracing::info!(
                function = %self.function,
                secret = arn.as_str(),
                token = token.as_str(),
                %step,
                "rotation step interrupted: the server is stopping (no attempt counted; the step runs again after a restart)"
            ),
            Err(e) => tracing::warn!(
                function = %self.function,
                secret = arn.as_str(),
                token = token.as_str(),
                %step,
                error = %e,
                "rotation step failed"
            ),
        }
        result
    }
}

impl Rotator for LoggedRotator {
    fn create_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(RotationStep::CreateSecret, arn, token, || {
            self.inner.create_secret(session, arn, token)
        })
    }

    fn set_secret(&self, session: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        self.step(RotationStep::SetSecret, arn, token, || {
            self.inner.set_secret(session, arn, token)
        })
    }

    fn test_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(RotationStep::TestSecret, arn, token, || {
            self.inner.test_secret(session, arn, token)
        })
    }

    fn finish_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(RotationStep::FinishSecret, arn, token, || {
            self.inner.finish_secret(session, arn, token)
        })
    }
}

/// A rotation function that is a local command, run once per step like a Lambda invocation.
struct CommandRotator {
    argv: Vec<String>,
    endpoint: String,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    stop: watch::Receiver<bool>,
}

impl fmt::Debug for CommandRotator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the program: an argument could hold something private.
        f.debug_struct("CommandRotator")
            .field("command", &CommandSummary(&self.argv))
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// How a command's run ended.
enum Ended {
    Exited(ExitStatus),
    TimedOut,
    Stopped,
    WaitFailed(std::io::Error),
}

/// The last bytes a stream carried, and how many it carried in all.
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
    total: u64,
}

impl Tail {
    fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        let text = text.trim_end();
        let kept = u64::try_from(self.bytes.len()).unwrap_or(u64::MAX);
        if self.total > kept {
            format!("[{} earlier bytes cut] {text}", self.total - kept)
        } else {
            text.to_owned()
        }
    }
}

async fn read_tail(stream: Option<impl AsyncRead + Unpin>) -> Tail {
    let mut tail = Tail::default();
    let Some(mut stream) = stream else {
        return tail;
    };
    let mut buf = vec![0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                tail.total = tail.total.saturating_add(u64::try_from(n).unwrap_or(0));
                tail.bytes
                    .extend_from_slice(buf.get(..n).unwrap_or_default());
                if tail.bytes.len() > MAX_OUTPUT_BYTES {
                    let excess = tail.bytes.len() - MAX_OUTPUT_BYTES;
                    tail.bytes.drain(..excess);
                }
            }
        }
    }
    tail
}

/// The output a reader task collected, waiting at most [`OUTPUT_GRACE`] for it.
async fn collect(mut task: JoinHandle<Tail>) -> Tail {
    match tokio::time::timeout(OUTPUT_GRACE, &mut task).await {
        Ok(Ok(tail)) => tail,
        Ok(Err(_)) => Tail::default(),
        Err(_) => {
            task.abort();
            Tail::default()
        }
    }
}

/// Kills a command's process group (the command and whatever it started that stayed in the
/// group) with `SIGKILL`, then reaps the command.
async fn kill_group(child: &mut tokio::process::Child, group: Option<Pid>) {
    // The group id cannot be reused before the command is reaped, below.
    match group.map(|g| killpg(g, Signal::SIGKILL)) {
        Some(Ok(())) => {
            let _ = child.wait().await;
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the rotation command's process group could not be killed: killing the command only");
            let _ = child.kill().await;
        }
        None => {
            let _ = child.kill().await;
        }
    }
}

/// The region in a secret's ARN (`arn:PARTITION:secretsmanager:REGION:...`).
fn region_of(arn: &Arn) -> &str {
    arn.as_str().split(':').nth(3).unwrap_or_default()
}

impl CommandRotator {
    /// The host of the endpoint (`127.0.0.1`, `[::1]`, ...).
    fn endpoint_host(&self) -> &str {
        let authority = self
            .endpoint
            .strip_prefix("http://")
            .unwrap_or(&self.endpoint);
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host);
        host.trim_start_matches('[').trim_end_matches(']')
    }

    fn step(&self, step: RotationStep, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        if stopped(&self.stop) {
            // Not a failed attempt: the step runs again after the server restarts.
            return Err(StepInterrupted::new().into());
        }
        self.runtime.block_on(self.run(step, arn, token))
    }

    async fn run(&self, step: RotationStep, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        let event = serde_json::json!({
            "Step": step.as_str(),
            "SecretId": arn.as_str(),
            "ClientRequestToken": token.as_str(),
        })
        .to_string();
        let Some((program, args)) = self.argv.split_first() else {
            return Err("the rotation function's command is empty".into());
        };
        let region = region_of(arn);
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own, so that a timeout or shutdown kills whatever it started too.
            .process_group(0)
            .kill_on_drop(true);
        // The server's own AWS settings (profiles, session tokens, other endpoints) must not
        // lead the function elsewhere.
        for (key, _) in std::env::vars_os() {
            if key
                .to_string_lossy()
                .to_ascii_uppercase()
                .starts_with("AWS_")
            {
                command.env_remove(key);
            }
        }
        command
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &self.endpoint)
            .env("SECRETS_MANAGER_ENDPOINT", &self.endpoint)
            .env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region)
            .env("AWS_ACCESS_KEY_ID", &self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", self.secret_access_key.as_str())
            .env("AWS_EC2_METADATA_DISABLED", "true");
        // A proxy configured for the server's environment must not stand between the function
        // and the server.
        for var in ["NO_PROXY", "no_proxy"] {
            let value = match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => format!("{v},{}", self.endpoint_host()),
                _ => self.endpoint_host().to_owned(),
            };
            command.env(var, value);
        }
        let mut child = command.spawn().map_err(|e| {
            format!("the rotation function's command {program:?} could not be started: {e}")
        })?;
        // With `process_group(0)` the command leads a group whose id is its pid.
        let group = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        // The event is written by a task of its own, so that a function that never reads its
        // input cannot hold the step past its timeout or the server's shutdown.
        let feed = child.stdin.take().map(|mut stdin| {
            tokio::spawn(async move {
                // A function that does not read its event may close its input: that is no error.
                let _ = stdin.write_all(event.as_bytes()).await;
                let _ = stdin.shutdown().await;
            })
        });
        let stdout = tokio::spawn(read_tail(child.stdout.take()));
        let stderr = tokio::spawn(read_tail(child.stderr.take()));
        let mut stop = self.stop.clone();
        let ended = tokio::select! {
            waited = tokio::time::timeout(self.timeout, child.wait()) => match waited {
                Ok(Ok(status)) => Ended::Exited(status),
                Ok(Err(e)) => Ended::WaitFailed(e),
                Err(_) => Ended::TimedOut,
            },
            () = wait_stop(&mut stop) => Ended::Stopped,
        };
        if let Some(feed) = feed {
            feed.abort();
        }
        if !matches!(ended, Ended::Exited(_)) {
            kill_group(&mut child, group).await;
        }
        let stdout = collect(stdout).await;
        let stderr = collect(stderr).await;
        // Debug level only, never in the step's error: the output can hold secret values.
        for (stream, tail) in [("stdout", &stdout), ("stderr", &stderr)] {
            if tail.total > 0 {
                tracing::debug!(
                    target: OUTPUT_TARGET,
                    secret = arn.as_str(),
                    token = token.as_str(),
                    %step,
                    stream,
                    output = ?tail.text(),
                    "rotation function output"
                );
            }
        }
        // The program, the step and how it ended; never the output: the error is kept
        // unencrypted in the secret's record and logged at warn level.
        let output = format!("its output is logged at debug level (target {OUTPUT_TARGET})");
        match ended {
            Ended::Exited(status) if status.success() => Ok(()),
            Ended::Exited(status) => Err(format!(
                "the rotation function's command {program:?} failed in {step} ({status}); {output}"
            )
            .into()),
            Ended::TimedOut => Err(format!(
                "the rotation function's command {program:?} did not finish {step} within {} s and was killed; {output}",
                self.timeout.as_secs()
            )
            .into()),
            // Not a failed attempt: the step runs again after the server restarts.
            Ended::Stopped => Err(StepInterrupted::new().into()),
            Ended::WaitFailed(e) => Err(format!(
                "the rotation function's command could not be waited for in {step}: {e}"
            )
            .into()),
        }
    }
}

impl Rotator for CommandRotator {
    fn create_secret(
        &self,
        _session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(RotationStep::CreateSecret, arn, token)
    }

    fn set_secret(
        &self,
        _session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(RotationStep::SetSecret, arn, token)
    }

    fn test_secret(
        &self,
        _session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(RotationStep::TestSecret, arn, token)
    }

    /// The function's own `finishSecret` moves the labels, as on AWS.
    fn finish_secret(
        &self,
        _session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(RotationStep::FinishSecret, arn, token)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn commands_are_split_as_a_shell_would() {
        assert_eq!(
            RotationFunction::parse(r#"python3 "/opt/my rotator.py" --flag='a b' x\ y"#).unwrap(),
            RotationFunction::Command(vec![
                "python3".into(),
                "/opt/my rotator.py".into(),
                "--flag=a b".into(),
                "x y".into(),
            ])
        );
        assert!(RotationFunction::parse("").is_err());
        assert!(RotationFunction::parse("   ").is_err());
        assert!(RotationFunction::parse("''").is_err());
        assert!(
            RotationFunction::parse("python3 'unbalanced")
                .unwrap_err()
                .contains("cannot be split")
        );
        let e = RotationFunction::parse("builtin:no-such-rotator").unwrap_err();
        assert!(
            e.contains("unknown built-in rotator 'no-such-rotator'"),
            "{e}"
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn without_the_postgres_feature_there_are_no_builtins() {
        let e = RotationFunction::parse("builtin:postgres-single-user").unwrap_err();
        assert!(
            e.contains("unknown built-in rotator 'postgres-single-user' (this server has none)"),
            "{e}"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn the_postgres_builtins_parse() {
        use strongroom::PostgresStrategy;
        assert_eq!(
            RotationFunction::parse("builtin:postgres-single-user").unwrap(),
            RotationFunction::Postgres(PostgresStrategy::SingleUser)
        );
        assert_eq!(
            RotationFunction::parse(" builtin:postgres-alternating-users ").unwrap(),
            RotationFunction::Postgres(PostgresStrategy::AlternatingUsers)
        );
        let e = RotationFunction::parse("builtin:postgres").unwrap_err();
        assert!(
            e.contains("known: postgres-single-user, postgres-alternating-users"),
            "{e}"
        );
    }

    #[test]
    fn mappings_split_at_the_first_equals_sign() {
        let (arn, f) =
            parse_rotation_mapping("arn:aws:lambda:us-east-1:1:function:f=env A=B run").unwrap();
        assert_eq!(arn, "arn:aws:lambda:us-east-1:1:function:f");
        assert_eq!(
            f,
            RotationFunction::Command(vec!["env".into(), "A=B".into(), "run".into()])
        );
        assert!(parse_rotation_mapping("no-equals-sign").is_err());
        assert!(parse_rotation_mapping("=cmd").is_err());
        assert!(parse_rotation_mapping("arn=").is_err());
    }

    #[test]
    fn the_endpoint_of_an_unspecified_address_is_loopback() {
        assert_eq!(
            endpoint_url("0.0.0.0:7320".parse().unwrap()),
            "http://127.0.0.1:7320"
        );
        assert_eq!(endpoint_url("[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(
            endpoint_url("10.1.2.3:9".parse().unwrap()),
            "http://10.1.2.3:9"
        );
    }

    #[tokio::test]
    async fn debug_shows_a_commands_program_and_argument_count_only() {
        let argv: Vec<String> = vec!["rotate".into(), "--token=private-1".into(), "x".into()];
        let (_stop, stop) = watch::channel(false);
        let rotator = CommandRotator {
            argv: argv.clone(),
            endpoint: "http://127.0.0.1:1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: Zeroizing::new("private-2".into()),
            timeout: Duration::from_secs(1),
            runtime: tokio::runtime::Handle::current(),
            stop,
        };
        for debug in [
            format!("{rotator:?}"),
            format!("{:?}", RotationFunction::Command(argv)),
        ] {
            assert!(
                debug.contains(r#"Command { program: "rotate", args: 2 }"#),
                "{debug}"
            );
            assert!(!debug.contains("private"), "{debug}");
        }
    }

    #[test]
    fn the_logged_output_is_the_last_bytes() {
        let cut = Tail {
            bytes: b"end".to_vec(),
            total: 10,
        };
        assert_eq!(cut.text(), "[7 earlier bytes cut] end");
    }
}
