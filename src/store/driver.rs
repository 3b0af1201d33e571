//! The driver: runs a rotation's steps through its rotator and records each completed step in
//! the secret's record, so that a rotation interrupted anywhere resumes at the right step.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::record::{arn_of, drop_versions, record_only};
use super::rotator::{RotationStep, Rotator, StepError};
use super::schedule::next_after;
use super::{Found, SecretStore, Session};
use crate::clock;
use crate::error::{Error, Result};
use crate::model::{Arn, Region, RequestContext, SecretId, VersionId};
use crate::storage::{self, Keyspace, RotationProgress, SecretKey, SecretRecord};
use crate::versions::{CURRENT, PENDING, PREVIOUS};

/// How failed steps are retried.
///
/// After a failure the step is retried no sooner than `base_backoff`, doubling with each further
/// failure up to `max_backoff`; after `max_attempts` failures of one step the rotation stops
/// where it is. Its next scheduled time, or replaying its `rotate_secret` request, resumes it
/// with its token; a `rotate_secret` with another token is refused while its version holds
/// `AWSPENDING` apart from `AWSCURRENT`, and makes it due again. (A `RotateImmediately=false`
/// test that gives up is simply over: its temporary version is removed.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Failures of one step before the rotation stops (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failure.
    pub base_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, waiting 30 s, 1 min, 2 min, 4 min between them.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// A policy with `max_attempts` attempts and waits from `base_backoff`, doubling, up to `max_backoff`.
    pub fn new(max_attempts: u32, base_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            base_backoff,
            max_backoff: max_backoff.max(base_backoff),
        }
    }

    fn backoff_ms(&self, attempts: u32) -> u64 {
        let base = u64::try_from(self.base_backoff.as_millis()).unwrap_or(u64::MAX);
        let max = u64::try_from(self.max_backoff.as_millis()).unwrap_or(u64::MAX);
        let shift = attempts.saturating_sub(1).min(32);
        base.saturating_mul(1u64 << shift).min(max)
    }
}

/// What one call of the driver did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriveOutcome {
    /// No rotation is in progress (none started, it finished earlier, or it was cancelled).
    Idle,
    /// The rotation finished: version `token` is `AWSCURRENT` (for `RotateImmediately=false`:
    /// the test passed and the temporary version is gone).
    Completed {
        /// The rotation's token.
        token: VersionId,
    },
    /// A step failed and will be retried no sooner than `retry_at`.
    Retrying {
        /// The step that failed.
        step: RotationStep,
        /// Why (never a secret value).
        error: String,
        /// When the next attempt is due.
        retry_at: SystemTime,
    },
    /// Every attempt failed; the rotation waits to be resumed (see [`RetryPolicy`]).
    Failed {
        /// The step that failed.
        step: RotationStep,
        /// Why the last attempt failed.
        error: String,
    },
    /// The driver stopped after the number of steps it was allowed; `next` runs next.
    Paused {
        /// The step that runs when the rotation is driven again.
        next: RotationStep,
    },
    /// The step returned [`crate::StepInterrupted`] (the process is stopping): nothing was
    /// recorded, no attempt counted; `next` runs again when the rotation is next driven.
    Interrupted {
        /// The step that was interrupted.
        next: RotationStep,
    },
    /// Another driver in this process is driving this rotation right now.
    Busy,
}

/// Where a secret's rotation stands (see [`Session::rotation_status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationStatus {
    /// The rotation's token (the `AWSPENDING` version).
    pub token: VersionId,
    /// The step that runs next.
    pub next_step: RotationStep,
    /// Whether only `testSecret` runs (`RotateImmediately=false`).
    pub test_only: bool,
    /// Failed attempts of `next_step`.
    pub attempts: u32,
    /// Whether every attempt failed and the rotation waits for the next one.
    pub failed: bool,
    /// When the next attempt is due.
    pub next_attempt: SystemTime,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

impl RotationStatus {
    pub(crate) fn from_progress(p: &RotationProgress) -> Result<Self> {
        Ok(Self {
            token: VersionId::from_stored(p.token.clone()),
            next_step: step_of(p)?,
            test_only: p.test_only,
            attempts: p.attempts,
            failed: p.failed,
            next_attempt: clock::from_millis(p.next_attempt_ms),
            last_error: p.last_error.clone(),
        })
    }
}

fn step_of(p: &RotationProgress) -> Result<RotationStep> {
    RotationStep::from_index(p.step).ok_or_else(|| {
        Error::Corrupt(storage::DecodeError::Malformed(format!(
            "rotation step {} is not a step",
            p.step
        )))
    })
}

/// The longest failure text kept in a rotation's status.
const MAX_ERROR_CHARS: usize = 1024;

fn error_text(e: &StepError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.chars().count() > MAX_ERROR_CHARS {
        text = text.chars().take(MAX_ERROR_CHARS - 1).collect();
        text.push('…');
    }
    text
}

/// Releases a secret claimed by a driver of this process when dropped.
struct Claim<'a> {
    store: &'a SecretStore,
    uid: [u8; 16],
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.store.release_rotation(&self.uid);
    }
}

/// Runs the steps of the rotation in progress on `id`, at most `max_steps` of them, until it
/// completes or a step fails, ignoring a pending backoff. A rotation that gave up is not run.
pub(crate) fn drive(
    session: &Session,
    id: &SecretId,
    max_steps: Option<usize>,
) -> Result<DriveOutcome> {
    let store = session.store();
    let uid = session.resolve(id)?.rec.uid;
    if !store.claim_rotation(uid) {
        return Ok(DriveOutcome::Busy);
    }
    let _claim = Claim { store, uid };
    let mut steps_run = 0usize;
    loop {
        let Found { rec, .. } = session.resolve(id)?;
        if rec.uid != uid {
            return Ok(DriveOutcome::Idle);
        }
        let Some((lambda_arn, progress)) = rec.rotation.as_ref().and_then(|c| {
            c.in_progress
                .as_ref()
                .map(|p| (c.lambda_arn.clone(), p.clone()))
        }) else {
            return Ok(DriveOutcome::Idle);
        };
        let step = step_of(&progress)?;
        if progress.failed {
            return Ok(DriveOutcome::Failed {
                step,
                error: progress.last_error.clone().unwrap_or_default(),
            });
        }
        if rec.deletion.is_some() {
            return Err(Error::marked_for_deletion());
        }
        if max_steps.is_some_and(|m| steps_run >= m) {
            return Ok(DriveOutcome::Paused { next: step });
        }
        let arn = arn_of(&rec);
        let token = VersionId::from_stored(progress.token.clone());
        let result = match store.rotator_for(lambda_arn.as_deref()) {
            Some(rotator) => run_step(&*rotator, step, session, &arn, &token),
            None => Err(format!(
                "no rotator is registered for the rotation function {}",
                lambda_arn.as_deref().unwrap_or("(none)")
            )
            .into()),
        };
        steps_run += 1;
        match record(session, id, uid, &progress, step, result)? {
            Some(outcome) => return Ok(outcome),
            None => continue,
        }
    }
}

fn run_step(
    rotator: &dyn Rotator,
    step: RotationStep,
    session: &Session,
    arn: &Arn,
    token: &VersionId,
) -> Result<(), StepError> {
    // A rotator that panics fails its step; it must not take the driver (or a server) down.
    let run = AssertUnwindSafe(|| rotator.run(step, session, arn, token));
    catch_unwind(run).unwrap_or_else(|_| Err(format!("the rotator panicked in {step}").into()))
}

/// Records the result of `step`: the next step, the completion, or the failure. Returns the
/// outcome when driving stops, `None` when the next step should run.
fn record(
    session: &Session,
    id: &SecretId,
    uid: [u8; 16],
    ran: &RotationProgress,
    step: RotationStep,
    result: Result<(), StepError>,
) -> Result<Option<DriveOutcome>> {
    if let Err(e) = &result
        && e.is::<super::StepInterrupted>()
    {
        return Ok(Some(DriveOutcome::Interrupted { next: step }));
    }
    let store = session.store();
    let mut guard = session.writer()?;
    let Found { key, mut rec } = session.resolve(id)?;
    let now = session.now_ms();
    // The rotation may have been cancelled, or the secret replaced, while the step ran.
    let still_ours = rec.uid == uid
        && rec
            .rotation
            .as_ref()
            .and_then(|c| c.in_progress.as_ref())
            .is_some_and(|p| p.token == ran.token && p.step == ran.step);
    if !still_ours {
        return Ok(Some(DriveOutcome::Idle));
    }
    let token = VersionId::from_stored(ran.token.clone());
    let result = result.and_then(|()| {
        // AWSPREVIOUS: it was made AWSCURRENT, and a write since (between the step and this
        // record) replaced it; running finishSecret again would undo that write.
        if step == RotationStep::FinishSecret
            && !ran.test_only
            && !rec
                .version(&ran.token)
                .is_some_and(|v| v.has_label(CURRENT) || v.has_label(PREVIOUS))
        {
            return Err(format!(
                "finishSecret returned, but version {} is not AWSCURRENT",
                ran.token
            )
            .into());
        }
        Ok(())
    });
    let policy = store.retry_policy();
    let mut removed = Vec::new();
    let outcome;
    let Some(cfg) = rec.rotation.as_mut() else {
        return Ok(Some(DriveOutcome::Idle));
    };
    let Some(p) = cfg.in_progress.as_mut() else {
        return Ok(Some(DriveOutcome::Idle));
    };
    match result {
        Ok(()) if ran.test_only || step == RotationStep::FinishSecret => {
            if ran.test_only {
                // The test is over: nothing is left to drive, and a replay is a no-op.
                cfg.in_progress = None;
                cfg.last_token = Some(ran.token.clone());
                removed.extend(remove_temporary(&mut rec, &ran.token));
            } else {
                cfg_completed(&mut rec, &ran.token, now);
            }
            outcome = Some(DriveOutcome::Completed { token });
        }
        Ok(()) => {
            p.step = step.index() + 1;
            p.attempts = 0;
            p.next_attempt_ms = now;
            p.last_error = None;
            p.failed = false;
            outcome = None;
        }
        Err(e) => {
            let error = error_text(&e);
            p.attempts = p.attempts.saturating_add(1);
            p.last_error = Some(error.clone());
            if p.attempts >= policy.max_attempts {
                p.failed = true;
                let test_only = p.test_only;
                // The next scheduled rotation resumes it; none sooner than one backoff.
                let retry = now.saturating_add(policy.backoff_ms(1));
                cfg.next_rotation_ms = next_after(cfg, now).map(|n| n.max(retry));
                if test_only {
                    cfg.in_progress = None;
                    removed.extend(remove_temporary(&mut rec, &ran.token));
                }
                outcome = Some(DriveOutcome::Failed { step, error });
            } else {
                p.next_attempt_ms = now.saturating_add(policy.backoff_ms(p.attempts));
                outcome = Some(DriveOutcome::Retrying {
                    step,
                    error,
                    retry_at: clock::from_millis(p.next_attempt_ms),
                });
            }
        }
    }
    let mut change = record_only(key, &rec)?;
    drop_versions(session, &mut change.cleanup, &rec, &removed)?;
    session.commit(&mut guard, change)?;
    Ok(outcome)
}

/// Marks the rotation `token` of `rec` completed now.
fn cfg_completed(rec: &mut SecretRecord, token: &str, now: u64) {
    if let Some(cfg) = rec.rotation.as_mut() {
        cfg.in_progress = None;
        cfg.last_rotated_ms = Some(now);
        cfg.last_token = Some(token.to_owned());
        cfg.next_rotation_ms = if cfg.enabled {
            next_after(cfg, now)
        } else {
            None
        };
    }
}

/// Removes the temporary `AWSPENDING` version of a test-only rotation; returns its id if the
/// version went (it stays, losing only `AWSPENDING`, if something made it `AWSCURRENT`).
pub(crate) fn remove_temporary(rec: &mut SecretRecord, token: &str) -> Option<String> {
    let keep = rec.version(token).is_some_and(|v| v.has_label(CURRENT));
    if keep {
        for v in &mut rec.versions {
            if v.id == token {
                v.labels.retain(|l| l != PENDING);
            }
        }
        return None;
    }
    let had = rec.version(token).is_some_and(|v| v.has_value);
    rec.versions.retain(|v| v.id != token);
    had.then(|| token.to_owned())
}

/// What [`SecretStore::rotate_due`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DueReport {
    /// Rotations started because their time had come.
    pub started: usize,
    /// Rotations that completed.
    pub completed: usize,
    /// Rotations with a failed step (retried later, or given up).
    pub failed: usize,
    /// Secrets whose rotation could not be started or driven because of a store error.
    pub errors: usize,
}

/// The service that runs rotation steps, as audit entries name it (`invokedBy`).
pub(crate) const ROTATION_DRIVER: &str = "strongroom:rotation-driver";

/// Starts every rotation whose time has come, resumes failed ones at their next scheduled
/// rotation, and drives every rotation whose next attempt is due, in every region.
pub(crate) fn rotate_due(store: &SecretStore, now: SystemTime) -> Result<DueReport> {
    let now_ms = clock::to_millis(now);
    let mut report = DueReport::default();
    let base = store.as_system();
    base.healthy()?;
    let entries = base.backend().scan_prefix(Keyspace::Secrets, b"")?;
    for (key, bytes) in entries {
        let Ok(rec) = SecretRecord::decode(&bytes) else {
            report.errors += 1;
            continue;
        };
        if rec.deletion.is_some() {
            continue;
        }
        let Some(cfg) = &rec.rotation else { continue };
        let due_start = cfg.enabled && cfg.next_rotation_ms.is_some_and(|n| n <= now_ms);
        let action = match &cfg.in_progress {
            Some(p) if !p.failed && p.next_attempt_ms <= now_ms => Action::Drive,
            Some(p) if p.failed && due_start => Action::Resume,
            Some(_) => continue,
            None if due_start => Action::Start,
            None => continue,
        };
        let Some(region) = SecretKey::from_bytes(&key).and_then(|k| Region::new(k.region()).ok())
        else {
            report.errors += 1;
            continue;
        };
        let session = store.session(
            RequestContext::system()
                .with_region(region)
                .invoked_by(ROTATION_DRIVER),
        );
        let id = SecretId::from(&arn_of(&rec));
        let started = match action {
            Action::Drive => Ok(false),
            Action::Resume => session
                .audited("RotateSecret", Some(&id), || {
                    session.resume_failed_rotation(&id)
                })
                .map(|()| false),
            Action::Start => session
                .audited("RotateSecret", Some(&id), || {
                    session.start_scheduled_rotation(&id).or_else(|e| {
                        // It cannot start (say, `AWSPENDING` was left on another version): try
                        // again at the next scheduled time, not on every call.
                        session.postpone_scheduled_rotation(&id)?;
                        Err(e)
                    })
                })
                .map(|()| true),
        };
        match started {
            Ok(s) => report.started += usize::from(s),
            Err(_) => {
                report.errors += 1;
                continue;
            }
        }
        match session.audited("RotationStep", Some(&id), || drive(&session, &id, None)) {
            Ok(DriveOutcome::Completed { .. }) => report.completed += 1,
            Ok(DriveOutcome::Retrying { .. } | DriveOutcome::Failed { .. }) => report.failed += 1,
            Ok(_) => {}
            Err(_) => report.errors += 1,
        }
    }
    Ok(report)
}

enum Action {
    Drive,
    Resume,
    Start,
}

/// The rotators of a store: by rotation function ARN, and the fallback (a testing aid, see
/// [`SecretStore::register_fallback_rotator`]).
#[derive(Default)]
pub(crate) struct Rotators {
    pub(crate) by_arn: std::collections::HashMap<String, Arc<dyn Rotator>>,
    pub(crate) fallback: Option<Arc<dyn Rotator>>,
}
