//! The rotation function's contract: the [`Rotator`] trait with its four steps, the errors a step
//! returns, and the standard `finishSecret` ([`finish_secret`]). The store defines what it calls;
//! rotators (the PostgreSQL one in `crate::rotation`, the server's commands) implement it.

use std::fmt;

use super::Session;
use super::types::UpdateSecretVersionStageInput;
use crate::error::Result;
use crate::model::{Arn, SecretId, StagingLabel, VersionId};

/// Why a rotation step failed. Its text is kept in the rotation's status and logged: it must
/// never contain a secret value.
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

/// A step that did not run to its end because the process is stopping (a server shutting down),
/// not because it failed. Return it (boxed, as a [`StepError`]) from a step: the driver then
/// leaves the rotation as it was, without counting an attempt, and the step runs again when the
/// rotation is next driven.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepInterrupted;

impl StepInterrupted {
    /// The error to return from an interrupted step.
    pub fn new() -> Self {
        Self
    }
}

impl fmt::Display for StepInterrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the step was interrupted because the process is stopping")
    }
}

impl std::error::Error for StepInterrupted {}

/// One step of a rotation, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RotationStep {
    /// Create the new credential and store it as the `AWSPENDING` version's value.
    CreateSecret,
    /// Make the target system accept the `AWSPENDING` credential.
    SetSecret,
    /// Check that the `AWSPENDING` credential works against the target.
    TestSecret,
    /// Move `AWSCURRENT` to the `AWSPENDING` version.
    FinishSecret,
}

impl RotationStep {
    /// The steps in order.
    pub const ALL: [Self; 4] = [
        Self::CreateSecret,
        Self::SetSecret,
        Self::TestSecret,
        Self::FinishSecret,
    ];

    /// The step's name in the Lambda event (`"createSecret"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSecret => "createSecret",
            Self::SetSecret => "setSecret",
            Self::TestSecret => "testSecret",
            Self::FinishSecret => "finishSecret",
        }
    }

    /// The step named `name` in the Lambda event's form.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub(crate) fn index(self) -> u8 {
        match self {
            Self::CreateSecret => 0,
            Self::SetSecret => 1,
            Self::TestSecret => 2,
            Self::FinishSecret => 3,
        }
    }

    pub(crate) fn from_index(i: u8) -> Option<Self> {
        Self::ALL.get(usize::from(i)).copied()
    }
}

impl fmt::Display for RotationStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What rotates a secret: the four steps of an AWS rotation function.
///
/// Each step is called with a session on the store (in the secret's region), the secret's ARN
/// and the rotation's token (the id of the `AWSPENDING` version), and acts through the store's
/// own API, exactly as an AWS Lambda rotation function acts through Secrets Manager.
///
/// **Every step must be idempotent**: after a crash, or a failure, the driver calls the step
/// that did not complete again, possibly after it had partly or wholly taken effect.
/// `RotateImmediately=false` calls only [`Rotator::test_secret`], with the token of a temporary
/// `AWSPENDING` version that holds a copy of the current value.
pub trait Rotator: Send + Sync + fmt::Debug {
    /// Creates the new credential and stores it as the value of version `token`
    /// (`put_secret_value` with `AWSPENDING`), unless that version already has a value.
    fn create_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError>;

    /// Makes the target system accept the `AWSPENDING` credential.
    fn set_secret(&self, session: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError>;

    /// Checks that the `AWSPENDING` credential works against the target system.
    fn test_secret(&self, session: &Session, arn: &Arn, token: &VersionId)
    -> Result<(), StepError>;

    /// Moves `AWSCURRENT` to version `token`. The default is [`finish_secret`].
    fn finish_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        finish_secret(session, arn, token).map_err(Into::into)
    }

    /// Runs `step`: calls the method of that step. The driver calls this; a [`StepRotator`]
    /// implements it (and through it the four steps) with one method.
    fn run(
        &self,
        step: RotationStep,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        match step {
            RotationStep::CreateSecret => self.create_secret(session, arn, token),
            RotationStep::SetSecret => self.set_secret(session, arn, token),
            RotationStep::TestSecret => self.test_secret(session, arn, token),
            RotationStep::FinishSecret => self.finish_secret(session, arn, token),
        }
    }
}

/// A rotator whose four steps share one implementation (a command run once per step, as AWS
/// invokes one Lambda function for every step; a wrapper that logs each step of another
/// rotator): implement [`StepRotator::run_step`] and it is a [`Rotator`].
///
/// `finishSecret` is then also the implementation's own: call [`finish_secret`] from it for the
/// standard label move.
pub trait StepRotator: Send + Sync + fmt::Debug {
    /// Runs `step`, with the same contract as the [`Rotator`] method of that step.
    fn run_step(
        &self,
        step: RotationStep,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError>;
}

impl<T: StepRotator> Rotator for T {
    fn create_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.run_step(RotationStep::CreateSecret, session, arn, token)
    }

    fn set_secret(&self, session: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        self.run_step(RotationStep::SetSecret, session, arn, token)
    }

    fn test_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.run_step(RotationStep::TestSecret, session, arn, token)
    }

    fn finish_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.run_step(RotationStep::FinishSecret, session, arn, token)
    }

    fn run(
        &self,
        step: RotationStep,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        self.run_step(step, session, arn, token)
    }
}

/// The standard `finishSecret` (as AWS's rotation template does it): moves `AWSCURRENT` to version
/// `token` (the version it leaves becomes `AWSPREVIOUS`), in one atomic label move. Idempotent:
/// nothing happens if `token` is already `AWSCURRENT`.
pub fn finish_secret(session: &Session, arn: &Arn, token: &VersionId) -> Result<()> {
    let id = SecretId::from(arn);
    let described = session.describe_secret(&id)?;
    let current = described.version_ids_to_stages.as_ref().and_then(|m| {
        m.iter()
            .find(|(_, labels)| labels.contains(&StagingLabel::CURRENT))
            .map(|(v, _)| v.clone())
    });
    if current.as_ref() == Some(token) {
        return Ok(());
    }
    let mut input = UpdateSecretVersionStageInput::new(id, StagingLabel::CURRENT);
    input = input.move_to(token.clone());
    if let Some(current) = current {
        input = input.remove_from(current);
    }
    session.update_secret_version_stage(input)?;
    Ok(())
}
