use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::field::Field;

const NAME_CHARS_MESSAGE: &str = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!";

/// A secret's name: 1..=512 ASCII letters, digits and `/_+=.@-` (rule ID-4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    /// Validates `name`. A bad character gives `ValidationException` with AWS's exact message.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::min_len(&name, Field::Name, 1));
        }
        if name.len() > 512 {
            return Err(Error::max_len(&super::shown(&name), Field::Name, 512));
        }
        if !name.bytes().all(is_name_byte) {
            return Err(Error::validation(NAME_CHARS_MESSAGE));
        }
        Ok(Self(name))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_stored(name: String) -> Self {
        Self(name)
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b)
}

impl FromStr for SecretName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region name such as `us-east-1` (`^([a-z]+-)+\d+$`, 1..=128 characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    /// Validates `region`.
    pub fn new(region: impl Into<String>) -> Result<Self> {
        let region = region.into();
        let ok = region.len() <= 128 && {
            let mut parts = region.split('-').peekable();
            let mut words = 0;
            let mut ok = true;
            while let Some(part) = parts.next() {
                if parts.peek().is_some() {
                    ok &= !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
                    words += 1;
                } else {
                    ok &= !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
                }
            }
            ok && words > 0
        };
        if !ok {
            return Err(Error::constraint(
                &super::shown(&region),
                Field::Region,
                "Member must satisfy regular expression pattern: ^([a-z]+-)+\\d+$",
            ));
        }
        Ok(Self(region))
    }

    /// `us-east-1`, the default region.
    pub(crate) fn default_region() -> Self {
        Self("us-east-1".to_owned())
    }

    /// The region as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN partition the region belongs to (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "aws-cn"
        } else if self.0.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 12-digit AWS account id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// Validates `id` (exactly 12 ASCII digits).
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_parameter(format!(
                "Invalid account id {:?}: it must be 12 digits.",
                super::shown(&id)
            )));
        }
        Ok(Self(id))
    }

    /// `000000000000`, the default account id.
    pub(crate) fn default_account() -> Self {
        Self("000000000000".to_owned())
    }

    /// The account id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret's full ARN: `arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{6 chars}`.
///
/// The 6-character suffix is random for every creation, so a re-created name gets a new ARN.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn(String);

impl Arn {
    pub(crate) fn build(
        region: &Region,
        account: &AccountId,
        name: &SecretName,
        suffix: &str,
    ) -> Self {
        Self(format!(
            "arn:{}:secretsmanager:{}:{}:secret:{}-{}",
            region.partition(),
            region.as_str(),
            account.as_str(),
            name.as_str(),
            suffix
        ))
    }

    /// Wraps an ARN this store built earlier.
    pub(crate) fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The ARN as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region part (`arn:partition:secretsmanager:REGION:account:secret:name-suffix`).
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).unwrap_or_default()
    }

    /// The 6-character random suffix.
    pub fn suffix(&self) -> &str {
        self.0
            .get(self.0.len().saturating_sub(6)..)
            .unwrap_or_default()
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a caller names a secret (rule ID-2): its name, its full ARN, or a partial ARN
/// (the full ARN without the `-XXXXXX` suffix).
///
/// An ARN whose last seven characters are `-` plus six letters or digits is always read as a
/// full ARN, so the partial ARN of a secret whose own name ends that way finds nothing (as in AWS).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretId {
    /// The secret's name.
    Name(SecretName),
    /// A full ARN, with the 6-character suffix.
    Arn {
        /// Partition in the ARN (`aws`, `aws-cn`, ...).
        partition: String,
        /// Region in the ARN.
        region: String,
        /// Account in the ARN.
        account: String,
        /// Name part of the ARN.
        name: String,
        /// The 6-character suffix.
        suffix: String,
    },
    /// A partial ARN: a full ARN without its suffix.
    PartialArn {
        /// Partition in the ARN.
        partition: String,
        /// Region in the ARN.
        region: String,
        /// Account in the ARN.
        account: String,
        /// Name part of the ARN.
        name: SecretName,
    },
}

impl SecretId {
    /// Parses a `SecretId` (1..=2048 characters). A string starting with `arn:` is read as an ARN;
    /// anything else must be a valid [`SecretName`].
    pub fn new(id: &str) -> Result<Self> {
        if id.is_empty() {
            return Err(Error::min_len(id, Field::SecretId, 1));
        }
        if id.len() > 2048 {
            return Err(Error::max_len(&super::shown(id), Field::SecretId, 2048));
        }
        if !id.starts_with("arn:") {
            return SecretName::new(id).map(Self::Name);
        }
        // arn:{partition}:secretsmanager:{region}:{account}:secret:{rest}
        let mut parts = id.splitn(7, ':');
        let (
            Some(_arn),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(kind),
            Some(rest),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(Error::secret_not_found());
        };
        if service != "secretsmanager" || kind != "secret" || rest.is_empty() {
            return Err(Error::secret_not_found());
        }
        let bytes = rest.as_bytes();
        let full = bytes.len() > 7
            && bytes.get(bytes.len() - 7) == Some(&b'-')
            && bytes.iter().rev().take(6).all(u8::is_ascii_alphanumeric);
        if full {
            let (name, suffix) = rest.split_at(rest.len() - 7);
            Ok(Self::Arn {
                partition: partition.to_owned(),
                region: region.to_owned(),
                account: account.to_owned(),
                name: name.to_owned(),
                suffix: suffix.get(1..).unwrap_or_default().to_owned(),
            })
        } else {
            // Like a full ARN, a partial ARN whose name part is not a valid name finds nothing.
            Ok(Self::PartialArn {
                partition: partition.to_owned(),
                region: region.to_owned(),
                account: account.to_owned(),
                name: SecretName::new(rest).map_err(|_| Error::secret_not_found())?,
            })
        }
    }

    /// The name this id refers to, if it has a valid one.
    pub(crate) fn name_part(&self) -> Option<SecretName> {
        match self {
            Self::Name(n) | Self::PartialArn { name: n, .. } => Some(n.clone()),
            Self::Arn { name, .. } => SecretName::new(name.as_str()).ok(),
        }
    }
}

impl FromStr for SecretId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl From<SecretName> for SecretId {
    fn from(n: SecretName) -> Self {
        Self::Name(n)
    }
}

impl From<&SecretName> for SecretId {
    fn from(n: &SecretName) -> Self {
        Self::Name(n.clone())
    }
}

impl From<&Arn> for SecretId {
    fn from(a: &Arn) -> Self {
        // An Arn this store built always parses back as a full ARN.
        Self::new(a.as_str()).unwrap_or_else(|_| Self::Name(SecretName(String::new())))
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => f.write_str(n.as_str()),
            Self::Arn {
                partition,
                region,
                account,
                name,
                suffix,
            } => {
                write!(
                    f,
                    "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{suffix}"
                )
            }
            Self::PartialArn {
                partition,
                region,
                account,
                name,
            } => {
                write!(
                    f,
                    "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn names_follow_id_4() {
        assert!(SecretName::new("Valid/_+=.@-Name").is_ok());
        assert!(SecretName::new("a".repeat(512)).is_ok());
        for bad in ["Inv Name", "Inv*Name", "Inv Name-", "é", "a:b"] {
            let e = SecretName::new(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Validation);
            assert_eq!(e.to_string(), NAME_CHARS_MESSAGE);
        }
        assert_eq!(
            SecretName::new("").unwrap_err().kind(),
            ErrorKind::Validation
        );
        assert_eq!(
            SecretName::new("a".repeat(513)).unwrap_err().kind(),
            ErrorKind::Validation
        );
    }

    #[test]
    fn secret_ids_parse_names_full_and_partial_arns() {
        assert!(matches!(SecretId::new("abc").unwrap(), SecretId::Name(_)));
        let full = SecretId::new("arn:aws:secretsmanager:us-east-1:111111111111:secret:abc-a1B2c3")
            .unwrap();
        assert!(
            matches!(&full, SecretId::Arn { name, suffix, .. } if name == "abc" && suffix == "a1B2c3")
        );
        let partial =
            SecretId::new("arn:aws:secretsmanager:us-east-1:111111111111:secret:abc").unwrap();
        assert!(matches!(&partial, SecretId::PartialArn { name, .. } if name.as_str() == "abc"));
        // A name that itself ends in -XXXXXX reads as a full ARN (ID-3).
        let tricky =
            SecretId::new("arn:aws:secretsmanager:us-east-1:111111111111:secret:Name-a1b2c3")
                .unwrap();
        assert!(matches!(&tricky, SecretId::Arn { name, .. } if name == "Name"));
        // A trailing hyphen keeps it partial.
        let hyphen =
            SecretId::new("arn:aws:secretsmanager:us-east-1:111111111111:secret:Name-a1b2c3-")
                .unwrap();
        assert!(matches!(&hyphen, SecretId::PartialArn { .. }));
        assert_eq!(
            SecretId::new("arn:aws:s3:::bucket").unwrap_err().kind(),
            ErrorKind::ResourceNotFound
        );
        assert_eq!(SecretId::new("").unwrap_err().kind(), ErrorKind::Validation);
    }

    #[test]
    fn regions_and_accounts_are_validated() {
        assert!(Region::new("us-east-1").is_ok());
        assert!(Region::new("us-gov-west-1").is_ok());
        assert_eq!(Region::new("cn-north-1").unwrap().partition(), "aws-cn");
        for bad in ["", "useast1", "us-east-", "US-east-1", "-1"] {
            assert!(Region::new(bad).is_err(), "{bad}");
        }
        assert!(AccountId::new("123456789012").is_ok());
        assert!(AccountId::new("12345678901").is_err());
        assert!(AccountId::new("12345678901a").is_err());
    }

    #[test]
    fn an_arn_tells_its_region_and_suffix() {
        let arn = Arn::build(
            &Region::new("cn-north-1").unwrap(),
            &AccountId::new("123456789012").unwrap(),
            &SecretName::new("prod/db").unwrap(),
            "a1B2c3",
        );
        assert_eq!(arn.region(), "cn-north-1");
        assert_eq!(arn.suffix(), "a1B2c3");
    }
}
