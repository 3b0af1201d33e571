//! ListSecrets: filters, sorting and opaque page tokens (LIST rules).

use std::cmp::Ordering;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::types::{ListSecretsInput, ListSecretsOutput};
use super::{Session, access_key};
use crate::error::{Error, Result};
use crate::storage::{self, Keyspace, SecretRecord};

const LIST_TOKEN: u8 = b'L';

/// What a [`Filter`] looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterKey {
    /// The description: case-insensitive prefix of the description or of any word in it.
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
    /// Every word of the value must prefix (case-insensitively) the name, a word of the description, a tag key or a tag value.
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
                    &format!("filters.{index}.member.key"),
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
            return Err(Error::min_len("[]", "filters.member.values", 1));
        }
        if values.len() > 10 {
            return Err(Error::max_len(
                &format!("[{} values]", values.len()),
                "filters.member.values",
                10,
            ));
        }
        for v in &values {
            let ok_char = |c: char| c.is_ascii_alphanumeric() || " :_@/+=.-!".contains(c);
            if v.chars().count() > 512 {
                return Err(Error::max_len(
                    &crate::model::shown(v),
                    "filters.member.values.member",
                    512,
                ));
            }
            if !v.chars().all(ok_char) {
                return Err(Error::constraint(
                    &crate::model::shown(v),
                    "filters.member.values.member",
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

    fn matches(&self, rec: &SecretRecord, region: &str) -> bool {
        self.values.iter().any(|v| match v.strip_prefix('!') {
            Some(negated) => !value_matches(self.key, negated, rec, region),
            None => value_matches(self.key, v, rec, region),
        })
    }
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn prefix_ci(hay: &str, needle: &str) -> bool {
    hay.get(..needle.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(needle))
}

fn value_matches(key: FilterKey, v: &str, rec: &SecretRecord, region: &str) -> bool {
    let tags = rec.tags.as_deref().unwrap_or_default();
    let description = rec.description.as_deref().unwrap_or_default();
    match key {
        FilterKey::Name => rec.name.starts_with(v),
        FilterKey::Description => {
            rec.description.is_some()
                && (prefix_ci(description, v) || words(description).any(|w| prefix_ci(w, v)))
        }
        FilterKey::TagKey => tags.iter().any(|(k, _)| k.starts_with(v)),
        FilterKey::TagValue => tags.iter().any(|(_, tv)| tv.starts_with(v)),
        FilterKey::PrimaryRegion => region.starts_with(v),
        FilterKey::OwningService => false,
        FilterKey::All => v.split_whitespace().all(|word| {
            prefix_ci(&rec.name, word)
                || words(&rec.name).any(|w| prefix_ci(w, word))
                || words(description).any(|w| prefix_ci(w, word))
                || tags
                    .iter()
                    .any(|(k, tv)| prefix_ci(k, word) || prefix_ci(tv, word))
        }),
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
                    "sortBy",
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
    /// Oldest (or A) first.
    Asc,
    /// Newest (or Z) first: the default.
    #[default]
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
                    "sortOrder",
                    "Member must satisfy enum value set: [asc, desc]",
                ));
            }
        })
    }
}

/// An opaque page token: lower-case hex of a tagged record. Not secret, not signed; a token is
/// only a position, and a forged one can only skip within what the caller may list anyway.
pub(crate) fn encode_token<T: Serialize>(kind: u8, payload: &T) -> Result<String> {
    Ok(crate::hex::encode(&storage::encode(&(kind, payload))?))
}

pub(crate) fn decode_token<T: DeserializeOwned>(kind: u8, token: &str) -> Result<T> {
    if token.is_empty() || token.len() > 4096 {
        return Err(Error::InvalidNextToken);
    }
    let bytes = crate::hex::decode(token).ok_or(Error::InvalidNextToken)?;
    let (k, payload): (u8, T) = storage::decode(&bytes).map_err(|_| Error::InvalidNextToken)?;
    if k != kind {
        return Err(Error::InvalidNextToken);
    }
    Ok(payload)
}

#[derive(Serialize, serde::Deserialize)]
struct ListPosition {
    sort_by: SortBy,
    sort_order: SortOrder,
    number: u64,
    name: String,
}

impl Session {
    /// Lists the secrets of the session's region (LIST rules), excluding those scheduled for
    /// deletion unless asked. Strongly consistent: a committed change is listed at once.
    pub fn list_secrets(&self, input: ListSecretsInput) -> Result<ListSecretsOutput> {
        self.healthy()?;
        let page = super::read::page_size(input.max_results, 100, "maxResults")?;
        if input.filters.len() > 10 {
            return Err(Error::max_len(
                &format!("[{} filters]", input.filters.len()),
                "filters",
                10,
            ));
        }
        let after: Option<ListPosition> = match &input.next_token {
            Some(t) => {
                let p: ListPosition = decode_token(LIST_TOKEN, t)?;
                if p.sort_by != input.sort_by || p.sort_order != input.sort_order {
                    return Err(Error::InvalidNextToken);
                }
                Some(p)
            }
            None => None,
        };
        let region = self.region().as_str().to_owned();
        let now = self.now_ms();
        let mut rows: Vec<(u64, SecretRecord)> = Vec::new();
        for (_, bytes) in self
            .backend()
            .scan_prefix(Keyspace::Secrets, &storage::secret_prefix(&region))?
        {
            let rec = SecretRecord::decode(&bytes)?;
            match rec.deletion {
                Some(d) if d.deletion_date_ms <= now => continue,
                Some(_) if !input.include_planned_deletion => continue,
                _ => {}
            }
            if !input.filters.iter().all(|f| f.matches(&rec, &region)) {
                continue;
            }
            let number = match input.sort_by {
                SortBy::CreatedDate => rec.created_ms,
                SortBy::LastChangedDate => rec.last_changed_ms,
                SortBy::LastAccessedDate => match self
                    .backend()
                    .get(Keyspace::Accessed, &access_key(&rec.uid, None))?
                {
                    Some(b) => storage::decode::<u64>(&b)?,
                    None => 0,
                },
                SortBy::Name => 0,
            };
            rows.push((number, rec));
        }
        let order = |a: (u64, &str), b: (u64, &str)| -> Ordering {
            let asc = a.cmp(&b);
            match input.sort_order {
                SortOrder::Asc => asc,
                SortOrder::Desc => asc.reverse(),
            }
        };
        rows.sort_by(|(na, ra), (nb, rb)| order((*na, &ra.name), (*nb, &rb.name)));
        if let Some(p) = &after {
            rows.retain(|(n, r)| order((*n, &r.name), (p.number, &p.name)) == Ordering::Greater);
        }
        let more = rows.len() > page;
        rows.truncate(page);
        let next_token = match rows.last() {
            Some((n, r)) if more => Some(encode_token(
                LIST_TOKEN,
                &ListPosition {
                    sort_by: input.sort_by,
                    sort_order: input.sort_order,
                    number: *n,
                    name: r.name.clone(),
                },
            )),
            _ => None,
        };
        let secrets = rows
            .iter()
            .map(|(_, rec)| self.describe(rec))
            .collect::<Result<Vec<_>>>()?;
        Ok(ListSecretsOutput {
            secrets,
            next_token: next_token.transpose()?,
        })
    }
}
