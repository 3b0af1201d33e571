//! Validated input types. Every value of these types passed validation; none of them does IO.

mod context;
mod cron;
mod name;
mod rotation;
mod text;
mod value;
mod version;

pub use context::{CallerInfo, Principal, RequestContext, RequestId};
pub use name::{AccountId, Arn, Region, SecretId, SecretName};
pub use rotation::{RotationRules, ScheduleExpression};
pub use text::{Description, KmsKeyId, Tag, TagKey};
pub(crate) use value::MAX_SECRET_BYTES;
pub use value::SecretValue;
pub use version::{StagingLabel, VersionId};

/// Shows at most 64 characters of caller input in an error message.
pub(crate) fn shown(s: &str) -> String {
    s.chars().take(64).collect()
}
