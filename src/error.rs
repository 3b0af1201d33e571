//! The one public error type, with a stable kind that maps to the AWS error name.

use std::fmt;
use std::sync::Arc;

use crate::crypto::{KeyId, ProviderError};
use crate::field::Field;
use crate::storage::{DecodeError, StorageError};

const MARKED_FOR_DELETION: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";

/// Result alias for the engine's public API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The stable category of an [`Error`]; [`ErrorKind::aws_code`] names the matching AWS error.
///
/// Kinds are never renamed or renumbered; new kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The secret, version or staging label does not exist.
    ResourceNotFound,
    /// A parameter value is not valid for the current state of the secret.
    InvalidParameter,
    /// The request is not valid for the current state of the secret (for example, it is scheduled for deletion).
    InvalidRequest,
    /// A secret with that name, or a version with that request token, already exists.
    ResourceExists,
    /// The request would exceed a quota (labels, versions, tags).
    LimitExceeded,
    /// A stored value, or its data key, could not be decrypted.
    DecryptionFailure,
    /// A data key could not be wrapped by the key provider.
    EncryptionFailure,
    /// An input violates a constraint of the API model (length, pattern, range, enumeration).
    Validation,
    /// A pagination token is not one this store issued for this request.
    InvalidNextToken,
    /// A fault inside the store (storage I/O, a corrupt record, a store refusing writes after a failed commit).
    InternalServiceError,
    /// The caller may not do this; for `RotateSecret`: no rotator is registered for the rotation function.
    AccessDenied,
}

impl ErrorKind {
    /// The exact AWS Secrets Manager error name (the `__type` of the wire protocol).
    pub fn aws_code(self) -> &'static str {
        match self {
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::InvalidParameter => "InvalidParameterException",
            Self::InvalidRequest => "InvalidRequestException",
            Self::ResourceExists => "ResourceExistsException",
            Self::LimitExceeded => "LimitExceededException",
            Self::DecryptionFailure => "DecryptionFailure",
            Self::EncryptionFailure => "EncryptionFailure",
            Self::Validation => "ValidationException",
            Self::InvalidNextToken => "InvalidNextTokenException",
            Self::InternalServiceError => "InternalServiceError",
            Self::AccessDenied => "AccessDeniedException",
        }
    }

    /// Whether this is a fault of the store (HTTP 500) rather than of the request (HTTP 400).
    pub fn is_fault(self) -> bool {
        matches!(self, Self::InternalServiceError)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.aws_code())
    }
}

/// An error from the store.
///
/// Messages name secrets, versions and labels where AWS does, and never contain a secret value,
/// a data key or a master key. Use [`Error::kind`] to branch; the message text is for humans.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The secret, version or staging label does not exist.
    #[error("{message}")]
    ResourceNotFound {
        /// The AWS-compatible message.
        message: String,
    },
    /// A parameter value is not valid for the current state of the secret.
    #[error("{message}")]
    InvalidParameter {
        /// The AWS-compatible message.
        message: String,
    },
    /// The request is not valid for the current state of the secret.
    #[error("{message}")]
    InvalidRequest {
        /// The AWS-compatible message.
        message: String,
    },
    /// A secret or a version with that identity already exists.
    #[error("{message}")]
    ResourceExists {
        /// The AWS-compatible message.
        message: String,
    },
    /// A quota would be exceeded.
    #[error("{message}")]
    LimitExceeded {
        /// The AWS-compatible message.
        message: String,
    },
    /// An input violates a constraint of the API model, in a way AWS words without naming a
    /// member (the characters of a secret name).
    #[error("{message}")]
    Validation {
        /// The AWS-compatible message.
        message: String,
    },
    /// One request member violates a constraint of the API model (a length, pattern, range or
    /// enumeration): `1 validation error detected: Value '...' at '<member>' ...`.
    #[error("{0}")]
    Constraint(Violation),
    /// The caller may not do this (for `RotateSecret`: the rotation function cannot be invoked).
    #[error("{message}")]
    AccessDenied {
        /// The AWS-compatible message.
        message: String,
    },
    /// A pagination token was not issued by this store for this request.
    #[error("The NextToken value is not valid.")]
    InvalidNextToken,
    /// A stored value or its data key failed to decrypt. Deliberately carries no detail.
    #[error("Secrets Manager can't decrypt the protected secret text using the provided KMS key.")]
    DecryptionFailure,
    /// The key provider could not wrap a new data key.
    #[error("Secrets Manager can't encrypt the protected secret text: the key provider failed.")]
    EncryptionFailure(#[source] ProviderError),
    /// The key provider failed for a reason other than authentication (for example an I/O error).
    #[error("the key provider failed")]
    KeyProvider(#[source] ProviderError),
    /// The storage backend failed.
    #[error("the storage backend failed")]
    Storage(#[source] StorageError),
    /// A stored record could not be decoded.
    #[error("a stored record is corrupt")]
    Corrupt(#[source] DecodeError),
    /// A stored record failed its integrity check: it was edited, copied under another key, or
    /// rolled back to an older copy outside the store (`docs/format.md`). The message names the
    /// record, never a value. Nothing is answered from it.
    #[error("a stored record failed its integrity check: {0}")]
    Integrity(String),
    /// The store's values are wrapped under master keys the key provider does not hold (a key
    /// file that is missing, or another store's): the store refuses to open rather than write
    /// under a second key.
    #[error(
        "the store's data keys are wrapped under master key {}, which the key provider does not hold (it holds {current}): restore the key file that holds it",
        expected.iter().map(KeyId::as_str).collect::<Vec<_>>().join(" or ")
    )]
    UnknownMasterKey {
        /// The key ids the store's data is wrapped under.
        expected: Vec<KeyId>,
        /// The provider's current key id.
        current: KeyId,
    },
    /// The audit log could not take an operation's entry within its deadline, or cannot be
    /// written at all (a full disk, a failing device): the operation answers nothing (fail
    /// closed). The message says why, never a value.
    #[error("the audit log cannot be written: {0}")]
    AuditUnavailable(String),
    /// The audit log does not verify: an entry was edited, inserted, removed or reordered, or
    /// its tail was cut off. The message names the first sequence number that does not verify.
    #[error("the audit log does not verify at entry {seq}: {reason}")]
    AuditTampered {
        /// The first entry that does not verify (the first missing one for a cut tail).
        seq: u64,
        /// What is wrong there.
        reason: String,
    },
    /// An earlier commit failed to become durable; the store refuses writes until it is reopened.
    #[error("the store refuses writes after a failed commit; reopen it")]
    Poisoned,
    /// The error of a read that several callers of a [`crate::SecretCache`] waited on together;
    /// its kind and message are those of the original.
    #[error(transparent)]
    Shared(Arc<Error>),
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::ResourceNotFound { .. } => ErrorKind::ResourceNotFound,
            Self::InvalidParameter { .. } => ErrorKind::InvalidParameter,
            Self::InvalidRequest { .. } => ErrorKind::InvalidRequest,
            Self::ResourceExists { .. } => ErrorKind::ResourceExists,
            Self::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Self::Validation { .. } | Self::Constraint(_) => ErrorKind::Validation,
            Self::AccessDenied { .. } => ErrorKind::AccessDenied,
            Self::InvalidNextToken => ErrorKind::InvalidNextToken,
            Self::DecryptionFailure => ErrorKind::DecryptionFailure,
            Self::EncryptionFailure(_) => ErrorKind::EncryptionFailure,
            Self::KeyProvider(_)
            | Self::Storage(_)
            | Self::Corrupt(_)
            | Self::Integrity(_)
            | Self::AuditUnavailable(_)
            | Self::AuditTampered { .. }
            | Self::Poisoned
            | Self::UnknownMasterKey { .. } => ErrorKind::InternalServiceError,
            Self::Shared(e) => e.kind(),
        }
    }

    /// The AWS error name of this error's kind.
    pub fn aws_code(&self) -> &'static str {
        self.kind().aws_code()
    }

    /// The member and constraint of a validation error about one member, for a protocol that
    /// spells the member its own way ([`Violation::message_at`]).
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            Self::Constraint(v) => Some(v),
            Self::Shared(e) => e.violation(),
            _ => None,
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::ResourceNotFound {
            message: message.into(),
        }
    }

    pub(crate) fn secret_not_found() -> Self {
        Self::not_found("Secrets Manager can't find the specified secret.")
    }

    pub(crate) fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::InvalidParameter {
            message: message.into(),
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
        }
    }

    pub(crate) fn marked_for_deletion() -> Self {
        Self::invalid_request(MARKED_FOR_DELETION)
    }

    /// Whether this is [`Error::marked_for_deletion`].
    pub(crate) fn is_marked_for_deletion(&self) -> bool {
        matches!(self, Self::InvalidRequest { message } if message == MARKED_FOR_DELETION)
    }

    pub(crate) fn exists(message: impl Into<String>) -> Self {
        Self::ResourceExists {
            message: message.into(),
        }
    }

    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Self::LimitExceeded {
            message: message.into(),
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
        }
    }

    /// `shown` is the offending value as AWS would echo it; callers pass a placeholder for values
    /// that may be secret.
    pub(crate) fn constraint(shown: &str, field: Field, constraint: &str) -> Self {
        Self::Constraint(Violation {
            field,
            shown: shown.to_owned(),
            constraint: constraint.to_owned(),
        })
    }

    pub(crate) fn min_len(shown: &str, field: Field, min: usize) -> Self {
        Self::constraint(
            shown,
            field,
            &format!("Member must have length greater than or equal to {min}"),
        )
    }

    pub(crate) fn max_len(shown: &str, field: Field, max: usize) -> Self {
        Self::constraint(
            shown,
            field,
            &format!("Member must have length less than or equal to {max}"),
        )
    }

    /// A number outside `min..=max`, worded as AWS words a range constraint.
    pub(crate) fn out_of_range(n: i64, field: Field, min: i64, max: i64) -> Option<Self> {
        let constraint = if n < min {
            format!("Member must have value greater than or equal to {min}")
        } else if n > max {
            format!("Member must have value less than or equal to {max}")
        } else {
            return None;
        };
        Some(Self::constraint(&n.to_string(), field, &constraint))
    }
}

/// What a [`Error::Constraint`] says: which member, the value as AWS echoes it (a placeholder for
/// values that may be secret) and the constraint it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    field: Field,
    shown: String,
    constraint: String,
}

impl Violation {
    /// The member.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The offending value as AWS echoes it (`***` for a secret, `[11 filters]` for a list).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The constraint, in AWS's words (`Member must have length less than or equal to 512`).
    pub fn constraint(&self) -> &str {
        &self.constraint
    }

    /// AWS's message with the member spelled `member`: the engine spells it as AWS's API
    /// reference names it; the server spells AWS's JSON member path.
    pub fn message_at(&self, member: &str) -> String {
        format!(
            "1 validation error detected: Value '{}' at '{member}' failed to satisfy constraint: {}",
            self.shown, self.constraint
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_at(&self.field.to_string()))
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Integrity(detail) => Self::Integrity(detail),
            other => Self::Storage(other),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Self::Corrupt(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_aws_name_and_display() {
        let cases = [
            (Error::secret_not_found(), "ResourceNotFoundException"),
            (Error::invalid_parameter("p"), "InvalidParameterException"),
            (Error::invalid_request("r"), "InvalidRequestException"),
            (Error::exists("e"), "ResourceExistsException"),
            (Error::limit("l"), "LimitExceededException"),
            (Error::validation("v"), "ValidationException"),
            (Error::InvalidNextToken, "InvalidNextTokenException"),
            (
                Error::AccessDenied {
                    message: "a".into(),
                },
                "AccessDeniedException",
            ),
            (Error::DecryptionFailure, "DecryptionFailure"),
            (
                Error::EncryptionFailure(ProviderError::Rejected),
                "EncryptionFailure",
            ),
            (
                Error::KeyProvider(ProviderError::Rejected),
                "InternalServiceError",
            ),
            (Error::Poisoned, "InternalServiceError"),
            (Error::Corrupt(DecodeError::Empty), "InternalServiceError"),
        ];
        for (e, code) in cases {
            assert_eq!(e.aws_code(), code);
            assert_eq!(e.kind().to_string(), code);
            assert!(!e.to_string().is_empty());
            assert_eq!(e.kind().is_fault(), code == "InternalServiceError");
        }
    }

    #[test]
    fn constraint_message_has_the_aws_form() {
        let e = Error::max_len("x", Field::Name, 512);
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value 'x' at 'Name' failed to satisfy constraint: Member must have length less than or equal to 512"
        );
        let v = e.violation().unwrap();
        assert_eq!(v.field(), Field::Name);
        assert_eq!(
            v.message_at("name"),
            "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must have length less than or equal to 512"
        );
        let shared = Error::Shared(Arc::new(e));
        assert_eq!(shared.violation().map(Violation::field), Some(Field::Name));
    }

    #[test]
    fn range_constraint_names_the_side_it_fails() {
        let low = Error::out_of_range(0, Field::MaxResults, 1, 100).unwrap();
        assert!(
            low.to_string()
                .ends_with("Member must have value greater than or equal to 1")
        );
        assert!(low.to_string().contains("Value '0' at 'MaxResults'"));
        let high = Error::out_of_range(101, Field::MaxResults, 1, 100).unwrap();
        assert!(
            high.to_string()
                .ends_with("Member must have value less than or equal to 100")
        );
        assert!(Error::out_of_range(100, Field::MaxResults, 1, 100).is_none());
    }
}
