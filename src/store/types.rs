//! Inputs and outputs of the operations, named after the AWS shapes.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::filter::{Filter, SortBy, SortOrder};
use crate::error::{ErrorKind, Violation};
use crate::model::{
    Arn, Description, KmsKeyId, RotationRules, SecretId, SecretName, SecretValue, StagingLabel,
    Tag, VersionId,
};

/// Input of `create_secret`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreateSecretInput {
    /// The new secret's name.
    pub name: SecretName,
    /// Idempotency token and id of the first version; a random one is used when `None`.
    pub client_request_token: Option<VersionId>,
    /// Description.
    pub description: Option<Description>,
    /// KMS key id, kept as metadata.
    pub kms_key_id: Option<KmsKeyId>,
    /// The first value; without one the secret has no versions.
    pub value: Option<SecretValue>,
    /// Tags (at most 50, distinct keys).
    pub tags: Vec<Tag>,
}

impl CreateSecretInput {
    /// A secret named `name` with no value yet.
    pub fn new(name: SecretName) -> Self {
        Self {
            name,
            client_request_token: None,
            description: None,
            kms_key_id: None,
            value: None,
            tags: Vec::new(),
        }
    }

    /// Sets the first value.
    #[must_use]
    pub fn value(mut self, value: SecretValue) -> Self {
        self.value = Some(value);
        self
    }

    /// Sets the request token.
    #[must_use]
    pub fn client_request_token(mut self, token: VersionId) -> Self {
        self.client_request_token = Some(token);
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: Description) -> Self {
        self.description = Some(description);
        self
    }

    /// Sets the KMS key id.
    #[must_use]
    pub fn kms_key_id(mut self, id: KmsKeyId) -> Self {
        self.kms_key_id = Some(id);
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }
}

/// Output of `create_secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateSecretOutput {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
    /// The first version's id, if a value was given.
    pub version_id: Option<VersionId>,
}

/// Input of `put_secret_value`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PutSecretValueInput {
    /// The secret.
    pub secret_id: SecretId,
    /// Idempotency token and id of the new version; random when `None`.
    pub client_request_token: Option<VersionId>,
    /// The value.
    pub value: SecretValue,
    /// Labels for the new version; `None` means `[AWSCURRENT]` (WRITE-3).
    pub version_stages: Option<Vec<StagingLabel>>,
}

impl PutSecretValueInput {
    /// Puts `value` as the new `AWSCURRENT` version of `secret_id`.
    pub fn new(secret_id: impl Into<SecretId>, value: SecretValue) -> Self {
        Self {
            secret_id: secret_id.into(),
            client_request_token: None,
            value,
            version_stages: None,
        }
    }

    /// Sets the request token.
    #[must_use]
    pub fn client_request_token(mut self, token: VersionId) -> Self {
        self.client_request_token = Some(token);
        self
    }

    /// Sets the labels of the new version.
    #[must_use]
    pub fn version_stages(mut self, stages: impl IntoIterator<Item = StagingLabel>) -> Self {
        self.version_stages = Some(stages.into_iter().collect());
        self
    }
}

/// Output of `put_secret_value`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutSecretValueOutput {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
    /// The version written (or found, for a replay).
    pub version_id: VersionId,
    /// That version's labels now.
    pub version_stages: Vec<StagingLabel>,
}

/// Input of `update_secret`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UpdateSecretInput {
    /// The secret.
    pub secret_id: SecretId,
    /// Idempotency token and id of the new version, if a value is given; random when `None`.
    pub client_request_token: Option<VersionId>,
    /// A new description.
    pub description: Option<Description>,
    /// A new KMS key id (empty: back to the default key).
    pub kms_key_id: Option<KmsKeyId>,
    /// A new value, which becomes `AWSCURRENT`.
    pub value: Option<SecretValue>,
}

impl UpdateSecretInput {
    /// An update of `secret_id` that changes nothing yet.
    pub fn new(secret_id: impl Into<SecretId>) -> Self {
        Self {
            secret_id: secret_id.into(),
            client_request_token: None,
            description: None,
            kms_key_id: None,
            value: None,
        }
    }

    /// Sets a new value.
    #[must_use]
    pub fn value(mut self, value: SecretValue) -> Self {
        self.value = Some(value);
        self
    }

    /// Sets a new description.
    #[must_use]
    pub fn description(mut self, description: Description) -> Self {
        self.description = Some(description);
        self
    }

    /// Sets a new KMS key id.
    #[must_use]
    pub fn kms_key_id(mut self, id: KmsKeyId) -> Self {
        self.kms_key_id = Some(id);
        self
    }

    /// Sets the request token.
    #[must_use]
    pub fn client_request_token(mut self, token: VersionId) -> Self {
        self.client_request_token = Some(token);
        self
    }
}

/// Output of `update_secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpdateSecretOutput {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
    /// The new version's id, if a value was given.
    pub version_id: Option<VersionId>,
}

/// Input of `get_secret_value`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GetSecretValueInput {
    /// The secret.
    pub secret_id: SecretId,
    /// A version id.
    pub version_id: Option<VersionId>,
    /// A label; `AWSCURRENT` when neither this nor `version_id` is given.
    pub version_stage: Option<StagingLabel>,
}

impl GetSecretValueInput {
    /// Reads the `AWSCURRENT` value of `secret_id`.
    pub fn new(secret_id: impl Into<SecretId>) -> Self {
        Self {
            secret_id: secret_id.into(),
            version_id: None,
            version_stage: None,
        }
    }

    /// Reads version `id`.
    #[must_use]
    pub fn version_id(mut self, id: VersionId) -> Self {
        self.version_id = Some(id);
        self
    }

    /// Reads the version labelled `stage`.
    #[must_use]
    pub fn version_stage(mut self, stage: StagingLabel) -> Self {
        self.version_stage = Some(stage);
        self
    }
}

/// A secret's value: output of `get_secret_value`, and an entry of `batch_get_secret_value`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GetSecretValueOutput {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
    /// The version read.
    pub version_id: VersionId,
    /// Its labels.
    pub version_stages: Vec<StagingLabel>,
    /// When the version was created.
    pub created_date: SystemTime,
    /// The value (redacted in `Debug`, wiped on drop).
    pub value: SecretValue,
}

/// Input of `batch_get_secret_value`: exactly one of `secret_ids` or `filters`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BatchGetSecretValueInput {
    /// 1..=20 secrets.
    pub secret_ids: Option<Vec<String>>,
    /// Filters, as for `list_secrets`.
    pub filters: Option<Vec<Filter>>,
    /// Page size 1..=20, only with `filters`.
    pub max_results: Option<u32>,
    /// Token from the previous page.
    pub next_token: Option<String>,
}

impl BatchGetSecretValueInput {
    /// The largest page, and the default.
    pub const MAX_RESULTS: u32 = 20;

    /// Reads the secrets named in `ids` (names or ARNs, as given).
    pub fn for_ids(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            secret_ids: Some(ids.into_iter().map(Into::into).collect()),
            ..Self::default()
        }
    }

    /// Reads the secrets that match `filters`, a page at a time.
    pub fn for_filters(filters: Vec<Filter>) -> Self {
        Self {
            filters: Some(filters),
            ..Self::default()
        }
    }
}

/// A per-secret failure of `batch_get_secret_value`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiErrorEntry {
    /// The secret id as given (or the secret's name, for filters).
    pub secret_id: String,
    /// The error's kind; `kind.aws_code()` is the `ErrorCode`.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
    /// For a validation error about one member (the id), what a protocol needs to respell it.
    pub violation: Option<Violation>,
}

/// Output of `batch_get_secret_value`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchGetSecretValueOutput {
    /// The values found.
    pub secret_values: Vec<GetSecretValueOutput>,
    /// The secrets that failed.
    pub errors: Vec<ApiErrorEntry>,
    /// Token for the next page, when filters were used.
    pub next_token: Option<String>,
}

/// A secret's metadata: output of `describe_secret`, and an entry of `list_secrets`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretDescription {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
    /// Description, if set.
    pub description: Option<String>,
    /// KMS key id, if one other than the default was named.
    pub kms_key_id: Option<String>,
    /// When the secret was created.
    pub created_date: SystemTime,
    /// When anything about it last changed.
    pub last_changed_date: SystemTime,
    /// The day (00:00 UTC) a value was last read, if ever.
    pub last_accessed_date: Option<SystemTime>,
    /// The date the secret will be deleted, while a deletion is scheduled.
    pub deleted_date: Option<SystemTime>,
    /// Tags: `None` if never tagged, empty once all were removed.
    pub tags: Option<Vec<Tag>>,
    /// Labels by version, for versions that have labels; `None` if the secret has no versions.
    pub version_ids_to_stages: Option<BTreeMap<VersionId, Vec<StagingLabel>>>,
    /// `RotationEnabled`: `None` if rotation was never configured, `false` after
    /// `cancel_rotate_secret`.
    pub rotation_enabled: Option<bool>,
    /// The rotation function's ARN, once configured (kept after a cancel).
    pub rotation_lambda_arn: Option<String>,
    /// The rotation schedule, once configured (kept after a cancel).
    pub rotation_rules: Option<RotationRules>,
    /// When the last rotation completed, while rotation is enabled (hidden after a cancel, as AWS).
    pub last_rotated_date: Option<SystemTime>,
    /// When the next scheduled rotation is due, while rotation is enabled with a schedule.
    pub next_rotation_date: Option<SystemTime>,
}

/// Input of `list_secrets`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ListSecretsInput {
    /// Also list secrets scheduled for deletion.
    pub include_planned_deletion: bool,
    /// Page size 1..=100 (default 100).
    pub max_results: Option<u32>,
    /// Token from the previous page.
    pub next_token: Option<String>,
    /// Filters: values within one are OR-ed, filters are AND-ed.
    pub filters: Vec<Filter>,
    /// Sort key (default: created date).
    pub sort_by: SortBy,
    /// Sort order (default: descending).
    pub sort_order: SortOrder,
}

impl ListSecretsInput {
    /// The largest page, and the default.
    pub const MAX_RESULTS: u32 = 100;
}

/// Output of `list_secrets`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListSecretsOutput {
    /// The secrets of this page.
    pub secrets: Vec<SecretDescription>,
    /// Token for the next page, if there is one.
    pub next_token: Option<String>,
}

/// Input of `list_secret_version_ids`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListSecretVersionIdsInput {
    /// The secret.
    pub secret_id: SecretId,
    /// Page size 1..=100 (default 100).
    pub max_results: Option<u32>,
    /// Token from the previous page.
    pub next_token: Option<String>,
    /// Also list versions without labels.
    pub include_deprecated: bool,
}

impl ListSecretVersionIdsInput {
    /// The largest page, and the default.
    pub const MAX_RESULTS: u32 = 100;

    /// Lists the labelled versions of `secret_id`.
    pub fn new(secret_id: impl Into<SecretId>) -> Self {
        Self {
            secret_id: secret_id.into(),
            max_results: None,
            next_token: None,
            include_deprecated: false,
        }
    }
}

/// One version in `list_secret_version_ids`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionEntry {
    /// The version.
    pub version_id: VersionId,
    /// Its labels; `None` for a deprecated version (AWS leaves the field out).
    pub version_stages: Option<Vec<StagingLabel>>,
    /// When it was created.
    pub created_date: SystemTime,
    /// The day it was last read, if ever.
    pub last_accessed_date: Option<SystemTime>,
    /// The master keys that wrap its data key.
    pub kms_key_ids: Vec<String>,
}

/// Output of `list_secret_version_ids`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListSecretVersionIdsOutput {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
    /// Versions, newest first.
    pub versions: Vec<VersionEntry>,
    /// Token for the next page, if there is one.
    pub next_token: Option<String>,
}

/// Input of `update_secret_version_stage`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UpdateSecretVersionStageInput {
    /// The secret.
    pub secret_id: SecretId,
    /// The label to move.
    pub version_stage: StagingLabel,
    /// The version to put it on.
    pub move_to_version_id: Option<VersionId>,
    /// The version to take it from (required if it is on a version other than `move_to`).
    pub remove_from_version_id: Option<VersionId>,
}

impl UpdateSecretVersionStageInput {
    /// Moves or removes `stage` on `secret_id`.
    pub fn new(secret_id: impl Into<SecretId>, stage: StagingLabel) -> Self {
        Self {
            secret_id: secret_id.into(),
            version_stage: stage,
            move_to_version_id: None,
            remove_from_version_id: None,
        }
    }

    /// The version to put the label on.
    #[must_use]
    pub fn move_to(mut self, id: VersionId) -> Self {
        self.move_to_version_id = Some(id);
        self
    }

    /// The version to take the label from.
    #[must_use]
    pub fn remove_from(mut self, id: VersionId) -> Self {
        self.remove_from_version_id = Some(id);
        self
    }
}

/// Output of operations that return only the secret's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretRef {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
}

/// Input of `rotate_secret` (ROT rules).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RotateSecretInput {
    /// The secret.
    pub secret_id: SecretId,
    /// The rotation's token: the id of its `AWSPENDING` version (random if not given).
    pub client_request_token: Option<VersionId>,
    /// The rotation function: a key under which a [`crate::Rotator`] is registered
    /// ([`crate::SecretStore::register_rotator`]). Kept from the last call if not given.
    pub rotation_lambda_arn: Option<String>,
    /// The schedule. Kept from the last call if not given.
    pub rotation_rules: Option<RotationRules>,
    /// Rotate now (the default), or only run `testSecret` against a copy of the current value.
    pub rotate_immediately: Option<bool>,
}

impl RotateSecretInput {
    /// Rotates `secret_id` now with its stored rotation function.
    pub fn new(secret_id: impl Into<SecretId>) -> Self {
        Self {
            secret_id: secret_id.into(),
            client_request_token: None,
            rotation_lambda_arn: None,
            rotation_rules: None,
            rotate_immediately: None,
        }
    }

    /// Sets the token (the id of the new version).
    #[must_use]
    pub fn client_request_token(mut self, token: VersionId) -> Self {
        self.client_request_token = Some(token);
        self
    }

    /// Sets the rotation function.
    #[must_use]
    pub fn rotation_lambda_arn(mut self, arn: impl Into<String>) -> Self {
        self.rotation_lambda_arn = Some(arn.into());
        self
    }

    /// Sets the schedule.
    #[must_use]
    pub fn rotation_rules(mut self, rules: RotationRules) -> Self {
        self.rotation_rules = Some(rules);
        self
    }

    /// Sets whether to rotate now (`true`, the default) or only test the function.
    #[must_use]
    pub fn rotate_immediately(mut self, now: bool) -> Self {
        self.rotate_immediately = Some(now);
        self
    }
}

/// Output of `rotate_secret` and `cancel_rotate_secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotateSecretOutput {
    /// The ARN.
    pub arn: Arn,
    /// The name.
    pub name: SecretName,
    /// `rotate_secret`: the rotation's version. `cancel_rotate_secret`: the version the cancelled
    /// rotation left `AWSPENDING`, if any (remove the label before rotating again).
    pub version_id: Option<VersionId>,
}

/// Input of `delete_secret`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeleteSecretInput {
    /// The secret.
    pub secret_id: SecretId,
    /// Days until deletion, 7..=30 (default 30).
    pub recovery_window_in_days: Option<i64>,
    /// Delete now, with no way back.
    pub force_delete_without_recovery: bool,
}

impl DeleteSecretInput {
    /// Schedules `secret_id` for deletion in 30 days.
    pub fn new(secret_id: impl Into<SecretId>) -> Self {
        Self {
            secret_id: secret_id.into(),
            recovery_window_in_days: None,
            force_delete_without_recovery: false,
        }
    }

    /// Sets the recovery window.
    #[must_use]
    pub fn recovery_window_in_days(mut self, days: i64) -> Self {
        self.recovery_window_in_days = Some(days);
        self
    }

    /// Deletes now, with no recovery.
    #[must_use]
    pub fn force(mut self) -> Self {
        self.force_delete_without_recovery = true;
        self
    }
}

/// Output of `delete_secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteSecretOutput {
    /// The ARN.
    pub arn: String,
    /// The name (for a forced delete of an unknown secret: the id as given).
    pub name: String,
    /// When the secret is (or was) deleted.
    pub deletion_date: SystemTime,
}

/// Input of `get_random_password` (PASS rules).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GetRandomPasswordInput {
    /// Length, 1..=4096 (default 32).
    pub password_length: Option<i64>,
    /// Characters never to use.
    pub exclude_characters: Option<String>,
    /// Leave out digits.
    pub exclude_numbers: bool,
    /// Leave out punctuation.
    pub exclude_punctuation: bool,
    /// Leave out upper-case letters.
    pub exclude_uppercase: bool,
    /// Leave out lower-case letters.
    pub exclude_lowercase: bool,
    /// Allow the space character.
    pub include_space: bool,
    /// At least one character of each included class (default true).
    pub require_each_included_type: bool,
}

impl Default for GetRandomPasswordInput {
    fn default() -> Self {
        Self {
            password_length: None,
            exclude_characters: None,
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            include_space: false,
            require_each_included_type: true,
        }
    }
}
