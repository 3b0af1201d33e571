//! A rotation function that is a local command: run once per step like a Lambda invocation, in a
//! process group of its own that is killed after every step, with a clean environment, in a
//! private working folder of its own, optionally as another user, and with its output logged at
//! debug level only.

use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use strongroom::{Arn, RotationStep, Session, StepError, StepInterrupted, StepRotator, VersionId};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use super::reaper;
use super::{
    CommandSummary, CommandUser, MAX_OUTPUT_BYTES, OUTPUT_GRACE, OUTPUT_TARGET, stopped, wait_stop,
};

/// The variables of the server's environment a command gets besides its AWS settings (if set).
const BASE_ENV: [&str; 6] = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];
/// `PATH` when the server has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A rotation function that is a local command, run once per step like a Lambda invocation.
pub(super) struct CommandRotator {
    pub(super) argv: Vec<String>,
    pub(super) endpoint: String,
    pub(super) access_key_id: String,
    pub(super) secret_access_key: Zeroizing<String>,
    pub(super) timeout: Duration,
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) stop: watch::Receiver<bool>,
    /// Variables of the server's environment passed on besides [`BASE_ENV`].
    pub(super) env_allow: Vec<String>,
    /// The user commands run as; `None`: the server's.
    pub(super) user: Option<CommandUser>,
    /// With TLS, the server's certificate file, given as `AWS_CA_BUNDLE`.
    pub(super) ca_bundle: Option<std::path::PathBuf>,
}

impl fmt::Debug for CommandRotator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the program: an argument could hold something private.
        f.debug_struct("CommandRotator")
            .field("command", &CommandSummary(&self.argv))
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("timeout", &self.timeout)
            .field("env_allow", &self.env_allow)
            .field("user", &self.user)
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
/// group) with `SIGKILL`, then reaps the command. After the command has ended the group lives on
/// while any member does, and its id is not reused while it does; with no member left, the kill
/// finds no group (`ESRCH`), which is no error.
async fn kill_group(child: &mut tokio::process::Child, group: Option<Pid>) {
    match group.map(|g| killpg(g, Signal::SIGKILL)) {
        Some(Ok(()) | Err(nix::errno::Errno::ESRCH)) => {
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
        // A clean environment: the server's may hold secrets of its own (a database password
        // for another tool), and its AWS settings (profiles, session tokens, other endpoints)
        // must not lead the function elsewhere. Only the basics and what the operator allows.
        command.env_clear();
        for name in BASE_ENV
            .iter()
            .copied()
            .chain(self.env_allow.iter().map(String::as_str))
        {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        if std::env::var_os("PATH").is_none() {
            command.env("PATH", DEFAULT_PATH);
        }
        if let Some(user) = &self.user {
            command.uid(user.uid).gid(user.gid).env("HOME", &user.home);
        }
        if let Some(bundle) = &self.ca_bundle {
            command.env("AWS_CA_BUNDLE", bundle);
        }
        // A private folder of its own, never the server's (next to the data and the key).
        let workdir = WorkDir::create(self.user.as_ref()).map_err(|e| {
            format!("the rotation function's working folder could not be created: {e}")
        })?;
        command.current_dir(&workdir.path);
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
        let mut child = {
            // Held while spawning, so that the reaper never takes the new command for an orphan.
            let mut running = reaper::running();
            let child = command.spawn().map_err(|e| {
                format!("the rotation function's command {program:?} could not be started: {e}")
            })?;
            if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
                running.push(pid);
            }
            child
        };
        let pid = child.id().and_then(|id| i32::try_from(id).ok());
        // With `process_group(0)` the command leads a group whose id is its pid.
        let group = pid.map(Pid::from_raw);
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
        // Whatever the outcome: nothing the command started outlives its step.
        kill_group(&mut child, group).await;
        if let Some(pid) = pid {
            reaper::ended(pid);
        }
        let reaped = reaper::reap_orphans();
        if reaped > 0 {
            tracing::warn!(
                secret = arn.as_str(),
                %step,
                reaped,
                "killed processes the rotation function left running outside its process group"
            );
        }
        drop(workdir);
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

/// A command's working folder: private (mode 0700, the command's user's), removed after the step.
struct WorkDir {
    path: std::path::PathBuf,
}

impl WorkDir {
    fn create(user: Option<&CommandUser>) -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "strongroom-rotation-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        let dir = Self { path };
        if let Some(user) = user {
            std::os::unix::fs::chown(&dir.path, Some(user.uid), Some(user.gid))?;
        }
        Ok(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl StepRotator for CommandRotator {
    /// Runs the command for `step`; for `finishSecret` too: the function's own `finishSecret`
    /// moves the labels, as on AWS.
    fn run_step(
        &self,
        step: RotationStep,
        _session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.step(step, arn, token)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::rotation::RotationFunction;

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
            env_allow: Vec::new(),
            user: None,
            ca_bundle: None,
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
