//! RotateSecret and CancelRotateSecret (ROT rules), and the store's side of the rotation driver.

use std::sync::Arc;
use std::time::SystemTime;

use super::driver::{self, DriveOutcome, DueReport, RetryPolicy, RotationStatus, remove_temporary};
use super::record::{arn_of, bind_value, drop_versions, name_of, record_only};
use super::rotator::{RotationStep, Rotator};
use super::schedule::{next_after, rules_to_stored};
use super::types::*;
use super::{Found, SecretStore, Session};
use crate::error::{Error, Result};
use crate::field::Field;
use crate::model::{SecretId, VersionId};
use crate::storage::{Keyspace, RotationConfig, RotationProgress, SecretRecord};
use crate::versions::{self, CURRENT, PENDING};

/// The longest `RotationLambdaARN` (the API model's limit).
const MAX_LAMBDA_ARN: usize = 2048;

const NO_FUNCTION: &str = "No Lambda rotation function ARN is associated with this secret.";
const CANNOT_INVOKE: &str = "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.";
const NOT_COMPLETE: &str = "A previous rotation isn't complete. That rotation will be reattempted.";

impl SecretStore {
    /// Makes `rotator` the rotation function named `lambda_arn`: `rotate_secret` accepts that
    /// `RotationLambdaARN`, and the driver calls `rotator` for secrets rotated with it. Replaces
    /// any rotator registered under the same name.
    pub fn register_rotator(&self, lambda_arn: impl Into<String>, rotator: Arc<dyn Rotator>) {
        let mut map = self
            .inner
            .rotators
            .write()
            .unwrap_or_else(|p| p.into_inner());
        map.by_arn.insert(lambda_arn.into(), rotator);
    }

    /// **A testing aid, not for production.** Makes `rotator` run the rotations that name no
    /// rotation function (none in the request, none stored), or one no rotator is registered
    /// for. AWS refuses both (`InvalidRequestException`, `AccessDeniedException`); moto instead
    /// rotates such a secret by making a copy of its current value the new `AWSCURRENT`
    /// version, and test suites written against moto expect that:
    /// [`crate::CopyCurrentValueRotator`] does exactly that. As in moto, such a rotation runs
    /// to its end inside `rotate_secret`.
    pub fn register_fallback_rotator(&self, rotator: Arc<dyn Rotator>) {
        let mut map = self
            .inner
            .rotators
            .write()
            .unwrap_or_else(|p| p.into_inner());
        map.fallback = Some(rotator);
    }

    /// Whether a rotation naming `lambda_arn` is run by the fallback rotator (none is
    /// registered for it, and a fallback is).
    pub(crate) fn only_fallback_for(&self, lambda_arn: Option<&str>) -> bool {
        let map = self
            .inner
            .rotators
            .read()
            .unwrap_or_else(|p| p.into_inner());
        map.fallback.is_some() && lambda_arn.is_none_or(|a| !map.by_arn.contains_key(a))
    }

    /// The rotator registered for `lambda_arn`, or else the fallback, if any.
    pub(crate) fn rotator_for(&self, lambda_arn: Option<&str>) -> Option<Arc<dyn Rotator>> {
        let map = self
            .inner
            .rotators
            .read()
            .unwrap_or_else(|p| p.into_inner());
        lambda_arn
            .and_then(|a| map.by_arn.get(a))
            .or(map.fallback.as_ref())
            .cloned()
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Claims the rotation of secret `uid` for one driver of this process.
    pub(crate) fn claim_rotation(&self, uid: [u8; 16]) -> bool {
        let mut driving = self.inner.driving.lock().unwrap_or_else(|p| p.into_inner());
        driving.insert(uid)
    }

    pub(crate) fn release_rotation(&self, uid: &[u8; 16]) {
        let mut driving = self.inner.driving.lock().unwrap_or_else(|p| p.into_inner());
        driving.remove(uid);
    }

    /// Starts every rotation whose scheduled time (`NextRotationDate`) is at or before `now`,
    /// resumes, at that time, rotations that gave up, and drives every rotation whose next
    /// attempt is due, in every region, until each completes or a step fails. Run it
    /// periodically (the server does, every few seconds).
    ///
    /// Failures of single secrets are counted in the report, not returned.
    pub fn rotate_due(&self, now: SystemTime) -> Result<DueReport> {
        driver::rotate_due(self, now)
    }
}

impl Session {
    /// Starts a rotation (ROT rules): saves the rotation settings and creates the value-less
    /// `AWSPENDING` version whose id is the token; with `rotate_immediately(false)`, a temporary
    /// `AWSPENDING` copy of the current value instead, on which only `testSecret` runs. The
    /// steps run when the rotation is driven: [`Session::drive_rotation`], or
    /// [`SecretStore::rotate_due`] (as AWS runs them after the call returns).
    ///
    /// ## Errors
    /// - `InvalidRequest`: no rotation function given or stored; the secret is scheduled for
    ///   deletion; a previous rotation isn't complete (`AWSPENDING` is on a version other than
    ///   `AWSCURRENT`). If that rotation is one this store gave up on, it is made due again.
    /// - `AccessDenied`: no rotator is registered under the rotation function's ARN; nothing is saved.
    /// - `ResourceExists`: the token names a version that this rotation did not create.
    ///
    /// Replaying the request of the rotation in progress, or of the last completed one, returns
    /// the same response and changes nothing, except that replaying a rotation that gave up
    /// makes it due again.
    pub fn rotate_secret(&self, input: RotateSecretInput) -> Result<RotateSecretOutput> {
        let audited_id = input.secret_id.clone();
        self.audited("RotateSecret", Some(&audited_id), move || {
        if let Some(a) = &input.rotation_lambda_arn
            && a.len() > MAX_LAMBDA_ARN
        {
            return Err(Error::max_len(
                &crate::model::shown(a),
                Field::RotationLambdaArn,
                MAX_LAMBDA_ARN,
            ));
        }
        let token = input
            .client_request_token
            .clone()
            .unwrap_or_else(VersionId::random);
        let immediately = input.rotate_immediately.unwrap_or(true);
        let mut guard = self.writer()?;
        let Found { key, mut rec } = self.resolve_live(&input.secret_id)?;
        let now = self.now_ms();
        let output = |rec: &SecretRecord| RotateSecretOutput {
            arn: arn_of(rec),
            name: name_of(rec),
            version_id: Some(token.clone()),
        };
        if let Some(cfg) = rec.rotation.as_mut() {
            if cfg.last_token.as_deref() == Some(token.as_str()) {
                return Ok(output(&rec));
            }
            if let Some(p) = cfg
                .in_progress
                .as_mut()
                .filter(|p| p.token == token.as_str())
            {
                // A replay of the rotation in progress; if it gave up, the replay resumes it.
                if p.failed {
                    reset(p, now);
                    self.commit(&mut guard, record_only(key, &rec)?)?;
                }
                return Ok(output(&rec));
            }
        }
        let stored_rules = rec.rotation.as_ref().and_then(|c| c.rules.clone());
        let lambda = input
            .rotation_lambda_arn
            .clone()
            .filter(|a| !a.is_empty())
            .or_else(|| rec.rotation.as_ref().and_then(|c| c.lambda_arn.clone()));
        let by_fallback = self.store().only_fallback_for(lambda.as_deref());
        if self.store().rotator_for(lambda.as_deref()).is_none() {
            return Err(match lambda {
                None => Error::invalid_request(NO_FUNCTION),
                Some(_) => Error::AccessDenied {
                    message: CANNOT_INVOKE.to_owned(),
                },
            });
        }
        let current = rec.holder_of(CURRENT).map(|v| v.id.clone());
        if let Some(pending) = rec
            .holder_of(PENDING)
            .map(|v| v.id.clone())
            .filter(|p| Some(p) != current.as_ref())
        {
            let ours = rec
                .rotation
                .as_mut()
                .and_then(|c| c.in_progress.as_mut())
                .filter(|p| p.token == pending);
            return match ours {
                Some(p) => {
                    if p.failed {
                        reset(p, now);
                        self.commit(&mut guard, record_only(key, &rec)?)?;
                    }
                    Err(Error::invalid_request(NOT_COMPLETE))
                }
                None => Err(Error::invalid_request(format!(
                    "A previous rotation isn't complete: staging label {PENDING} is attached to version {pending}, which is not the {CURRENT} version. Remove {PENDING} from it (UpdateSecretVersionStage) before rotating the secret again."
                ))),
            };
        }
        if rec.version(token.as_str()).is_some() {
            return Err(Error::exists(format!(
                "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {}.",
                rec.arn
            )));
        }
        let rules = input
            .rotation_rules
            .as_ref()
            .map(rules_to_stored)
            .or(stored_rules);
        let mut change_values = Vec::new();
        if immediately {
            crate::audit::note_version(token.as_str());
            versions::add_placeholder(&mut rec, token.as_str(), now)?;
        } else {
            let Some(cur) = rec.holder_of(CURRENT).filter(|v| v.has_value).cloned() else {
                return Err(Error::invalid_request(
                    "You can't test the rotation of a secret that has no AWSCURRENT value.",
                ));
            };
            let value = self.open_value(&rec, &cur)?;
            let vr = self.seal_value(&rec.arn, token.as_str(), &value)?;
            versions::add_version(&mut rec, token.as_str(), &[PENDING.to_owned()], now)?;
            bind_value(&mut rec, token.as_str(), &vr);
            change_values.push((token.as_str().to_owned(), vr));
        }
        let old = rec.rotation.take();
        // A rotation that gave up after its version became AWSCURRENT did rotate the secret.
        let done = old
            .as_ref()
            .and_then(|c| c.in_progress.as_ref())
            .filter(|p| !p.test_only && rec.version(&p.token).is_some_and(|v| v.has_label(CURRENT)))
            .map(|p| p.token.clone());
        let mut cfg = RotationConfig {
            enabled: true,
            lambda_arn: lambda,
            rules,
            last_rotated_ms: if done.is_some() {
                Some(now)
            } else {
                old.as_ref().and_then(|c| c.last_rotated_ms)
            },
            next_rotation_ms: None,
            last_token: done.or_else(|| old.as_ref().and_then(|c| c.last_token.clone())),
            in_progress: Some(RotationProgress {
                token: token.as_str().to_owned(),
                step: if immediately {
                    RotationStep::CreateSecret.index()
                } else {
                    RotationStep::TestSecret.index()
                },
                test_only: !immediately,
                attempts: 0,
                next_attempt_ms: now,
                failed: false,
                last_error: None,
                started_ms: now,
            }),
        };
        cfg.next_rotation_ms = next_after(&cfg, now);
        rec.rotation = Some(cfg);
        rec.last_changed_ms = now;
        let mut change = record_only(key, &rec)?;
        for (id, vr) in change_values {
            change.prepare.put(
                Keyspace::Values,
                crate::storage::value_key(&rec.uid, &id),
                crate::storage::encode(&vr)?,
            );
        }
        self.commit(&mut guard, change)?;
        if by_fallback {
            // The testing aid runs as moto runs it: to the end before the call returns. Its
            // outcome, a failure included, is in the rotation's state (`rotation_status`).
            drop(guard);
            let _outcome = self.drive_rotation(&input.secret_id);
        }
        Ok(output(&rec))
        })
    }

    /// Turns automatic rotation off (rule ROT-9): `RotationEnabled` becomes false, the settings
    /// stay, and a rotation being driven stops where it is. The labels are not touched: the
    /// returned version still carries `AWSPENDING`, and the next `rotate_secret` fails until
    /// it is removed. (The temporary version of a `rotate_immediately(false)` test is removed.)
    pub fn cancel_rotate_secret(&self, secret_id: &SecretId) -> Result<RotateSecretOutput> {
        self.audited("CancelRotateSecret", Some(secret_id), move || {
        let mut guard = self.writer()?;
        let Found { key, mut rec } = self.resolve_live(secret_id)?;
        // As moto answers (AWS's answer is not recorded): there is nothing to cancel.
        if rec.rotation.is_none() {
            return Err(Error::invalid_request(
                "You can't cancel the rotation of a secret whose rotation was never configured.",
            ));
        }
        let now = self.now_ms();
        let mut removed = Vec::new();
        if let Some(cfg) = rec.rotation.as_mut() {
            let progress = cfg.in_progress.take();
            cfg.enabled = false;
            cfg.next_rotation_ms = None;
            if let Some(p) = progress.filter(|p| p.test_only) {
                removed.extend(remove_temporary(&mut rec, &p.token));
            }
            rec.last_changed_ms = now;
            let mut change = record_only(key, &rec)?;
            drop_versions(self, &mut change.cleanup, &rec, &removed)?;
            self.commit(&mut guard, change)?;
        }
        let current = rec.holder_of(CURRENT).map(|v| v.id.clone());
        let pending = rec
            .holder_of(PENDING)
            .map(|v| v.id.clone())
            .filter(|p| Some(p) != current.as_ref());
        Ok(RotateSecretOutput {
            arn: arn_of(&rec),
            name: name_of(&rec),
            version_id: pending.map(VersionId::from_stored),
        })
        })
    }

    /// The rotation in progress on `secret_id`, if any.
    pub fn rotation_status(&self, secret_id: &SecretId) -> Result<Option<RotationStatus>> {
        let rec = self.resolve(secret_id)?.rec;
        rec.rotation
            .as_ref()
            .and_then(|c| c.in_progress.as_ref())
            .map(RotationStatus::from_progress)
            .transpose()
    }

    /// Runs the rotation in progress on `secret_id` now, step after step, until it completes or
    /// a step fails (a failure is recorded, with its retry time). Ignores a pending backoff; a
    /// rotation that gave up is not run (see [`crate::RetryPolicy`] for what resumes it).
    pub fn drive_rotation(&self, secret_id: &SecretId) -> Result<DriveOutcome> {
        self.audited("RotationStep", Some(secret_id), || {
            driver::drive(self, secret_id, None)
        })
    }

    /// Like [`Session::drive_rotation`], stopping after at most `max_steps` steps.
    pub fn drive_rotation_steps(
        &self,
        secret_id: &SecretId,
        max_steps: usize,
    ) -> Result<DriveOutcome> {
        self.audited("RotationStep", Some(secret_id), || {
            driver::drive(self, secret_id, Some(max_steps))
        })
    }

    /// Makes a rotation that gave up due again (used when its next scheduled rotation comes).
    pub(crate) fn resume_failed_rotation(&self, secret_id: &SecretId) -> Result<()> {
        let mut guard = self.writer()?;
        let Found { key, mut rec } = self.resolve_live(secret_id)?;
        let now = self.now_ms();
        if let Some(p) = rec
            .rotation
            .as_mut()
            .and_then(|c| c.in_progress.as_mut())
            .filter(|p| p.failed)
        {
            reset(p, now);
            self.commit(&mut guard, record_only(key, &rec)?)?;
        }
        Ok(())
    }

    /// Moves a scheduled rotation that could not start to the schedule's next time.
    pub(crate) fn postpone_scheduled_rotation(&self, secret_id: &SecretId) -> Result<()> {
        let mut guard = self.writer()?;
        let Found { key, mut rec } = self.resolve_live(secret_id)?;
        let now = self.now_ms();
        if let Some(cfg) = rec.rotation.as_mut() {
            cfg.next_rotation_ms = next_after(cfg, now);
            self.commit(&mut guard, record_only(key, &rec)?)?;
        }
        Ok(())
    }

    /// Starts the rotation a schedule calls for, with a fresh token.
    pub(crate) fn start_scheduled_rotation(&self, secret_id: &SecretId) -> Result<()> {
        self.rotate_secret(RotateSecretInput::new(secret_id.clone()))
            .map(|_| ())
    }
}

fn reset(p: &mut RotationProgress, now: u64) {
    p.failed = false;
    p.attempts = 0;
    p.next_attempt_ms = now;
}
