//! The background task that runs due rotations, and the log line of each step.

use std::sync::Arc;
use std::time::Duration;

use strongroom::{
    Arn, Clock, RotationStep, Rotator, SecretStore, Session, StepError, StepInterrupted,
    StepRotator, VersionId,
};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use super::command::CommandRotator;
use super::{
    ANONYMOUS_KEY, DEFAULT_ROTATION_STEP_TIMEOUT, RotationFunction, RotationSettings, stopped,
    wait_stop,
};

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
                    env_allow: settings.env_allow.clone(),
                    user: settings.user.clone(),
                    ca_bundle: settings.ca_bundle.clone(),
                })
            }
            #[cfg(feature = "postgres")]
            RotationFunction::Postgres(strategy) => {
                tracing::info!(function = %arn, ?strategy, "rotation function: built-in PostgreSQL rotator");
                let mut rotator = strongroom::PostgresRotator::new(*strategy);
                if let Some(timeout) = settings.step_timeout {
                    rotator = rotator.step_timeout(timeout);
                }
                if let Some(path) = &settings.postgres_ca_file {
                    rotator = rotator.ca_file(path).map_err(|e| {
                        std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
                    })?;
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

/// Logs each step of a rotation and its result (names, ids and error text; never a value).
#[derive(Debug)]
struct LoggedRotator {
    function: String,
    inner: Arc<dyn Rotator>,
}

impl StepRotator for LoggedRotator {
    fn run_step(
        &self,
        step: RotationStep,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        tracing::debug!(
            function = %self.function,
            secret = arn.as_str(),
            token = token.as_str(),
            %step,
            "rotation step starting"
        );
        let result = self.inner.run(step, session, arn, token);
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
