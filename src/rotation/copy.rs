//! [`CopyCurrentValueRotator`]: what moto does when `RotateSecret` names no rotation function.

use crate::model::{Arn, SecretId, StagingLabel, VersionId};
use crate::store::{
    GetSecretValueInput, PutSecretValueInput, Rotator, Session, StepError,
    UpdateSecretVersionStageInput, finish_secret,
};

/// **A testing aid, not for production:** rotates a secret by making a copy of its current
/// value the new `AWSCURRENT` version (the old one becomes `AWSPREVIOUS`), changing nothing
/// anywhere else. moto does this for a `RotateSecret` without a rotation function, which AWS
/// refuses; test suites written against moto expect it. Register it with
/// [`crate::SecretStore::register_fallback_rotator`] (the server's `--rotate-without-function`).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct CopyCurrentValueRotator;

impl CopyCurrentValueRotator {
    /// The rotator.
    pub fn new() -> Self {
        Self
    }
}

impl Rotator for CopyCurrentValueRotator {
    /// Stores a copy of the `AWSCURRENT` value as the pending version (a replay of the copy, as
    /// when the step is resumed, changes nothing).
    fn create_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        let id = SecretId::from(arn);
        let current = session.get_secret_value(
            GetSecretValueInput::new(id.clone()).version_stage(StagingLabel::CURRENT),
        )?;
        session.put_secret_value(
            PutSecretValueInput::new(id, current.value)
                .client_request_token(token.clone())
                .version_stages([StagingLabel::PENDING]),
        )?;
        Ok(())
    }

    /// Nothing to set: the copy is already the value in use.
    fn set_secret(&self, _: &Session, _: &Arn, _: &VersionId) -> Result<(), StepError> {
        Ok(())
    }

    /// Nothing to test.
    fn test_secret(&self, _: &Session, _: &Arn, _: &VersionId) -> Result<(), StepError> {
        Ok(())
    }

    /// Moves `AWSCURRENT` to the copy, then takes `AWSPENDING` off it, as moto (and AWS's
    /// current rotation template) leave it: the new version carries `AWSCURRENT` alone.
    fn finish_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        finish_secret(session, arn, token)?;
        let id = SecretId::from(arn);
        let pending_on_token = session
            .describe_secret(&id)?
            .version_ids_to_stages
            .and_then(|m| m.get(token).cloned())
            .is_some_and(|labels| labels.contains(&StagingLabel::PENDING));
        if pending_on_token {
            session.update_secret_version_stage(
                UpdateSecretVersionStageInput::new(id, StagingLabel::PENDING)
                    .remove_from(token.clone()),
            )?;
        }
        Ok(())
    }
}
