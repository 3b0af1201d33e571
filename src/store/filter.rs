//! The filters and the order of `ListSecrets` (and of `BatchGetSecretValue` by filter).

use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::field::Field;

/// What a [`Filter`] looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterKey {
    /// The description: the value is split into words (at spaces and punctuation), and each
    /// must be a case-insensitive prefix of a word of the description (words are split at
    /// spaces, punctuation, lower-to-upper case changes and letter-digit changes).
    Description,
    /// The name: case-sensitive prefix.
    Name,
    /// Any tag key: case-sensitive prefix.
    TagKey,
    /// Any tag value: case-sensitive prefix.
    TagValue,
    /// The secret's primary region: case-sensitive prefix.
    PrimaryRegion,
    /// The owning service of a managed secret. Strongroom has no managed secrets, so this matches none.
    OwningService,
    /// Like [`FilterKey::Description`], over the words of the name, the description, the tag
    /// keys and the tag values together.
    All,
}

impl FilterKey {
    /// The AWS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Description => "description",
            Self::Name => "name",
            Self::TagKey => "tag-key",
            Self::TagValue => "tag-value",
            Self::PrimaryRegion => "primary-region",
            Self::OwningService => "owning-service",
            Self::All => "all",
        }
    }

    /// Parses the AWS spelling; `index` (1-based) names the filter in a validation error.
    pub fn parse(s: &str, index: usize) -> Result<Self> {
        Ok(match s {
            "description" => Self::Description,
            "name" => Self::Name,
            "tag-key" => Self::TagKey,
            "tag-value" => Self::TagValue,
            "primary-region" => Self::PrimaryRegion,
            "owning-service" => Self::OwningService,
            "all" => Self::All,
            other => {
                return Err(Error::constraint(
                    &crate::model::shown(other),
                    Field::FilterKey { position: index },
                    "Member must satisfy enum value set: [all, name, tag-key, description, tag-value, primary-region, owning-service]",
                ));
            }
        })
    }
}

impl FromStr for FilterKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s, 1)
    }
}

/// One `ListSecrets` filter: a key and 1..=10 values; a value starting with `!` is negated.
/// A secret matches a filter when it matches any of its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    key: FilterKey,
    values: Vec<String>,
}

impl Filter {
    /// Validates a filter: 1..=10 values of at most 512 characters from `[a-zA-Z0-9 :_@/+=.\-!]`.
    pub fn new(key: FilterKey, values: Vec<String>) -> Result<Self> {
        if values.is_empty() {
            return Err(Error::min_len("[]", Field::FilterValues, 1));
        }
        if values.len() > 10 {
            return Err(Error::max_len(
                &format!("[{} values]", values.len()),
                Field::FilterValues,
                10,
            ));
        }
        for v in &values {
            let ok_char = |c: char| c.is_ascii_alphanumeric() || " :_@/+=.-!".contains(c);
            if v.chars().count() > 512 {
                return Err(Error::max_len(
                    &crate::model::shown(v),
                    Field::FilterValue,
                    512,
                ));
            }
            if !v.chars().all(ok_char) {
                return Err(Error::constraint(
                    &crate::model::shown(v),
                    Field::FilterValue,
                    "Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$",
                ));
            }
        }
        Ok(Self { key, values })
    }

    /// The key.
    pub fn key(&self) -> FilterKey {
        self.key
    }

    /// The values.
    pub fn values(&self) -> &[String] {
        &self.values
    }
}

/// The order of `list_secrets`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum SortBy {
    /// Creation time (the default).
    #[default]
    CreatedDate,
    /// Last-accessed day (never-read secrets sort as oldest).
    LastAccessedDate,
    /// Last change.
    LastChangedDate,
    /// Name.
    Name,
}

impl FromStr for SortBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "created-date" => Self::CreatedDate,
            "last-accessed-date" => Self::LastAccessedDate,
            "last-changed-date" => Self::LastChangedDate,
            "name" => Self::Name,
            other => {
                return Err(Error::constraint(
                    &crate::model::shown(other),
                    Field::SortBy,
                    "Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]",
                ));
            }
        })
    }
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum SortOrder {
    /// Oldest (or A) first: the default, as moto lists (AWS does not document its default).
    #[default]
    Asc,
    /// Newest (or Z) first.
    Desc,
}

impl FromStr for SortOrder {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "asc" => Self::Asc,
            "desc" => Self::Desc,
            other => {
                return Err(Error::constraint(
                    &crate::model::shown(other),
                    Field::SortOrder,
                    "Member must satisfy enum value set: [asc, desc]",
                ));
            }
        })
    }
}
