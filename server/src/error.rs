//! The server's errors: as the wire protocol shows them (an HTTP status, an AWS error name and a
//! message), and a settings or credentials file that cannot be used.

use std::borrow::Cow;
use std::path::PathBuf;

use axum::http::StatusCode;
use strongroom::{ErrorKind, Field};

/// An error answered to the client as `{"__type": code, "Message": message}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: Cow<'static, str>,
    pub(crate) message: String,
    /// For the log only: the cause of an internal fault (never a secret value).
    pub(crate) detail: Option<String>,
}

impl ApiError {
    /// A client error (HTTP 400) with the given AWS error name.
    pub(crate) fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Cow::Borrowed(code),
            message: message.into(),
            detail: None,
        }
    }

    /// A body that is not valid JSON, or a member of the wrong type.
    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Self::client("SerializationException", message)
    }

    /// `1 validation error detected: Value null at '<member>' ...`: a required member is absent.
    pub(crate) fn missing(member: &str) -> Self {
        Self::client(
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ),
        )
    }

    pub(crate) fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::client("InvalidParameterException", message)
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::client("InvalidRequestException", message)
    }

    /// An internal fault (HTTP 500).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: Cow::Borrowed(ErrorKind::InternalServiceError.aws_code()),
            message: message.into(),
            detail: Some("internal".to_owned()),
        }
    }

    /// The JSON body of the error response.
    pub(crate) fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "__type": self.code,
            "Message": self.message,
        }))
        .unwrap_or_default()
    }
}

impl From<strongroom::Error> for ApiError {
    fn from(e: strongroom::Error) -> Self {
        let kind = e.kind();
        Self {
            status: if kind.is_fault() {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            },
            code: Cow::Borrowed(kind.aws_code()),
            message: e
                .violation()
                .map_or_else(|| e.to_string(), |v| v.message_at(&member_path(v.field()))),
            detail: kind.is_fault().then(|| {
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    source = s.source();
                }
                chain
            }),
        }
    }
}

/// A request member as AWS's JSON protocol names it in a validation message: camel case, with
/// `.member` for list elements and 1-based positions (`filters.2.member.key`).
pub(crate) fn member_path(field: Field) -> Cow<'static, str> {
    Cow::Borrowed(match field {
        Field::Name => "name",
        Field::SecretId => "secretId",
        Field::SecretIdList => "secretIdList",
        Field::Description => "description",
        Field::KmsKeyId => "kmsKeyId",
        Field::TagKey => "tagKey",
        Field::TagValue => "tagValue",
        Field::Region => "region",
        Field::ClientRequestToken => "clientRequestToken",
        Field::VersionId => "versionId",
        Field::VersionStage => "versionStage",
        Field::VersionStages => "versionStages",
        Field::VersionStagesMember => "versionStages.member",
        Field::MoveToVersionId => "moveToVersionId",
        Field::RemoveFromVersionId => "removeFromVersionId",
        Field::SecretString => "secretString",
        Field::SecretBinary => "secretBinary",
        Field::MaxResults => "maxResults",
        Field::Filters => "filters",
        Field::FilterKey { position } => {
            return Cow::Owned(format!("filters.{position}.member.key"));
        }
        Field::FilterValues => "filters.member.values",
        Field::FilterValue => "filters.member.values.member",
        Field::SortBy => "sortBy",
        Field::SortOrder => "sortOrder",
        Field::PasswordLength => "passwordLength",
        Field::ExcludeCharacters => "excludeCharacters",
        Field::RotationLambdaArn => "rotationLambdaARN",
        Field::AutomaticallyAfterDays => "rotationRules.automaticallyAfterDays",
        Field::ScheduleExpression => "rotationRules.scheduleExpression",
        // A member added to the engine after this list: its API name is the best spelling known.
        other => return Cow::Owned(other.to_string()),
    })
}

/// A settings file or credentials file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file's contents are not valid.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (never a secret).
        message: String,
    },
}
