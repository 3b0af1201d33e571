//! The request members the engine validates, as an identity: the engine names them as AWS's API
//! reference does (`VersionStages`, `Filters[2].Key`); a wire protocol spells them its own way
//! (the server writes AWS's JSON member paths, `versionStages.member`).

use std::fmt;

/// A request member that a validation error is about.
///
/// Variants are never renamed; new ones may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A secret's name (`CreateSecret`).
    Name,
    /// A secret's name or ARN.
    SecretId,
    /// The list of ids of `BatchGetSecretValue`.
    SecretIdList,
    /// A secret's description.
    Description,
    /// The KMS key id of a secret.
    KmsKeyId,
    /// A tag's key (in a tag, or in a list of keys to remove).
    TagKey,
    /// A tag's value.
    TagValue,
    /// A region name.
    Region,
    /// The token of an idempotent write, which becomes the new version's id.
    ClientRequestToken,
    /// A version id to read.
    VersionId,
    /// A staging label to read or move.
    VersionStage,
    /// The labels to attach to a new version, as a list.
    VersionStages,
    /// One of the labels to attach to a new version.
    VersionStagesMember,
    /// The version a label moves to.
    MoveToVersionId,
    /// The version a label moves from.
    RemoveFromVersionId,
    /// A text secret value.
    SecretString,
    /// A binary secret value.
    SecretBinary,
    /// A page size.
    MaxResults,
    /// The list of `ListSecrets` filters.
    Filters,
    /// The key of the filter at `position` (1-based, as AWS counts).
    FilterKey {
        /// The filter's 1-based position in the list.
        position: usize,
    },
    /// A filter's list of values.
    FilterValues,
    /// One value of a filter.
    FilterValue,
    /// The order of `ListSecrets`.
    SortBy,
    /// Ascending or descending.
    SortOrder,
    /// The length of a random password.
    PasswordLength,
    /// The characters a random password must not contain.
    ExcludeCharacters,
    /// The ARN of a rotation function.
    RotationLambdaArn,
    /// The rotation interval in days.
    AutomaticallyAfterDays,
    /// A rotation schedule expression.
    ScheduleExpression,
}

impl fmt::Display for Field {
    /// The name AWS's API reference gives the member, with its path where it is nested.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Name => "Name",
            Self::SecretId => "SecretId",
            Self::SecretIdList => "SecretIdList",
            Self::Description => "Description",
            Self::KmsKeyId => "KmsKeyId",
            Self::TagKey => "Tag.Key",
            Self::TagValue => "Tag.Value",
            Self::Region => "Region",
            Self::ClientRequestToken => "ClientRequestToken",
            Self::VersionId => "VersionId",
            Self::VersionStage => "VersionStage",
            Self::VersionStages => "VersionStages",
            Self::VersionStagesMember => "VersionStages[]",
            Self::MoveToVersionId => "MoveToVersionId",
            Self::RemoveFromVersionId => "RemoveFromVersionId",
            Self::SecretString => "SecretString",
            Self::SecretBinary => "SecretBinary",
            Self::MaxResults => "MaxResults",
            Self::Filters => "Filters",
            Self::FilterKey { position } => return write!(f, "Filters[{position}].Key"),
            Self::FilterValues => "Filters[].Values",
            Self::FilterValue => "Filters[].Values[]",
            Self::SortBy => "SortBy",
            Self::SortOrder => "SortOrder",
            Self::PasswordLength => "PasswordLength",
            Self::ExcludeCharacters => "ExcludeCharacters",
            Self::RotationLambdaArn => "RotationLambdaARN",
            Self::AutomaticallyAfterDays => "RotationRules.AutomaticallyAfterDays",
            Self::ScheduleExpression => "RotationRules.ScheduleExpression",
        };
        f.write_str(name)
    }
}
