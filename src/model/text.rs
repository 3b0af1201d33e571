use std::fmt;

use crate::error::{Error, Result};
use crate::field::Field;

/// A secret's description: at most 2,048 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Description(String);

impl Description {
    /// Validates `text`.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        if text.chars().count() > 2048 {
            return Err(Error::max_len(
                &super::shown(&text),
                Field::Description,
                2048,
            ));
        }
        Ok(Self(text))
    }

    /// The description as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of the KMS key a secret names (0..=2,048 characters).
///
/// Strongroom records it as metadata and echoes it back; the store's own `KeyProvider` encrypts
/// every secret. An empty id means the default key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KmsKeyId(String);

impl KmsKeyId {
    /// Validates `id`.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.chars().count() > 2048 {
            return Err(Error::max_len(&super::shown(&id), Field::KmsKeyId, 2048));
        }
        Ok(Self(id))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this names the AWS managed key of Secrets Manager (`alias/aws/secretsmanager`,
    /// or that alias's ARN): the key used when none is given, which `DescribeSecret` and
    /// `ListSecrets` leave out (B7: "If the secret is encrypted with the Amazon Web Services
    /// managed key aws/secretsmanager, this field is omitted").
    pub fn is_aws_managed(&self) -> bool {
        const ALIAS: &str = "alias/aws/secretsmanager";
        self.0 == ALIAS
            || self
                .0
                .strip_suffix(ALIAS)
                .is_some_and(|arn| arn.starts_with("arn:") && arn.ends_with(':'))
    }

    /// What a secret's record keeps: nothing for an empty id or the AWS managed key.
    pub(crate) fn stored(&self) -> Option<String> {
        (!self.0.is_empty() && !self.is_aws_managed()).then(|| self.0.clone())
    }
}

/// A tag key: 1..=128 characters of letters, digits, spaces and `_.:/=+-@`; the `aws:` prefix is reserved.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagKey(String);

impl TagKey {
    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        let len = key.chars().count();
        if len < 1 {
            return Err(Error::min_len(&key, Field::TagKey, 1));
        }
        if len > 128 {
            return Err(Error::max_len(&super::shown(&key), Field::TagKey, 128));
        }
        if !key.chars().all(is_tag_char) {
            return Err(Error::constraint(
                &super::shown(&key),
                Field::TagKey,
                "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::invalid_parameter(
                "Invalid tag key: the prefix aws: is reserved for AWS use.",
            ));
        }
        Ok(Self(key))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`: letters, numbers, space separators (not tabs or line breaks).
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

impl fmt::Display for TagKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag: a key and a value of 0..=256 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    key: TagKey,
    value: String,
}

impl Tag {
    /// Validates a tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let key = TagKey::new(key)?;
        let value = value.into();
        if value.chars().count() > 256 {
            return Err(Error::max_len(&super::shown(&value), Field::TagValue, 256));
        }
        if !value.chars().all(is_tag_char) {
            return Err(Error::constraint(
                &super::shown(&value),
                Field::TagValue,
                "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
            ));
        }
        Ok(Self { key, value })
    }

    /// The key.
    pub fn key(&self) -> &TagKey {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub(crate) fn from_stored(key: String, value: String) -> Self {
        Self {
            key: TagKey(key),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn tags_are_validated() {
        assert!(Tag::new("env", "prod").is_ok());
        assert!(Tag::new("k", "").is_ok());
        assert_eq!(Tag::new("", "v").unwrap_err().kind(), ErrorKind::Validation);
        assert_eq!(
            Tag::new("k".repeat(129), "v").unwrap_err().kind(),
            ErrorKind::Validation
        );
        assert_eq!(
            Tag::new("k", "v".repeat(257)).unwrap_err().kind(),
            ErrorKind::Validation
        );
        assert_eq!(
            Tag::new("aws:x", "v").unwrap_err().kind(),
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            Tag::new("a*b", "v").unwrap_err().kind(),
            ErrorKind::Validation
        );
        assert!(Tag::new("a b", "c\u{00a0}d").is_ok());
        assert_eq!(
            Tag::new("a\tb", "v").unwrap_err().kind(),
            ErrorKind::Validation
        );
        assert_eq!(
            Tag::new("k", "v\n").unwrap_err().kind(),
            ErrorKind::Validation
        );
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(Description::new("d".repeat(2048)).is_ok());
        assert!(Description::new("d".repeat(2049)).is_err());
        assert!(KmsKeyId::new("k".repeat(2049)).is_err());
    }
}
