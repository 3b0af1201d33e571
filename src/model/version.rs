use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::field::Field;

/// A version id, which is the `ClientRequestToken` of the write that created it: 32..=64 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionId(String);

impl VersionId {
    /// Validates `id` as a `VersionId`.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        Self::for_field(id, Field::VersionId)
    }

    /// Validates `id`, naming `field` (for example [`Field::ClientRequestToken`]) in the error.
    pub fn for_field(id: impl Into<String>, field: Field) -> Result<Self> {
        let id = id.into();
        let len = id.chars().count();
        if len < 32 {
            return Err(Error::min_len(&super::shown(&id), field, 32));
        }
        if len > 64 {
            return Err(Error::max_len(&super::shown(&id), field, 64));
        }
        if id.chars().any(char::is_control) {
            return Err(Error::constraint(
                &super::shown(&id).escape_default().to_string(),
                field,
                "Member must not contain control characters",
            ));
        }
        Ok(Self(id))
    }

    /// A fresh random UUIDv4-shaped id, as AWS SDKs fill in for an omitted `ClientRequestToken`.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = crate::hex::encode(&b);
        Self(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl FromStr for VersionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A staging label (1..=256 characters, case-sensitive). A label is on at most one version of a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StagingLabel(Cow<'static, str>);

impl StagingLabel {
    /// `AWSCURRENT`: the version readers get by default.
    pub const CURRENT: Self = Self(Cow::Borrowed("AWSCURRENT"));
    /// `AWSPREVIOUS`: the version that was `AWSCURRENT` before the last change of it.
    pub const PREVIOUS: Self = Self(Cow::Borrowed("AWSPREVIOUS"));
    /// `AWSPENDING`: the version a rotation is preparing.
    pub const PENDING: Self = Self(Cow::Borrowed("AWSPENDING"));

    /// Validates `label` as a `VersionStage`.
    pub fn new(label: impl Into<String>) -> Result<Self> {
        Self::for_field(label, Field::VersionStage)
    }

    /// Validates `label`, naming `field` in the error.
    pub fn for_field(label: impl Into<String>, field: Field) -> Result<Self> {
        let label = label.into();
        let len = label.chars().count();
        if len < 1 {
            return Err(Error::min_len(&label, field, 1));
        }
        if len > 256 {
            return Err(Error::max_len(&super::shown(&label), field, 256));
        }
        Ok(Self(Cow::Owned(label)))
    }

    /// The label as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_stored(s: String) -> Self {
        Self(Cow::Owned(s))
    }
}

impl FromStr for StagingLabel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for StagingLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn version_ids_are_32_to_64_chars() {
        assert!(VersionId::new("a".repeat(32)).is_ok());
        assert!(VersionId::new("a".repeat(64)).is_ok());
        let e = VersionId::for_field("a".repeat(31), Field::ClientRequestToken).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert!(e.to_string().contains("'ClientRequestToken'"));
        assert_eq!(e.violation().unwrap().field(), Field::ClientRequestToken);
        assert!(VersionId::new("a".repeat(65)).is_err());
        assert!(VersionId::new(format!("{}\n", "a".repeat(40))).is_err());
    }

    #[test]
    fn random_ids_are_uuid_shaped_and_distinct() {
        let a = VersionId::random();
        let b = VersionId::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 36);
        assert!(VersionId::new(a.as_str()).is_ok());
        assert_eq!(a.as_str().as_bytes()[14], b'4');
    }

    #[test]
    fn labels_are_1_to_256_chars() {
        assert_eq!(
            StagingLabel::new("AWSCURRENT").unwrap(),
            StagingLabel::CURRENT
        );
        assert!(StagingLabel::new("x".repeat(256)).is_ok());
        assert!(StagingLabel::new("").is_err());
        assert!(StagingLabel::new("x".repeat(257)).is_err());
    }
}
