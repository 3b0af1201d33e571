//! ListSecrets: filters, sorting and opaque page tokens (LIST rules).

use std::cmp::Ordering;

use serde::Serialize;

use super::Session;
use super::filter::{Filter, FilterKey, SortBy, SortOrder};
use super::paging::{decode_token, encode_token, page_size};
use super::record::access_key;
use super::types::{ListSecretsInput, ListSecretsOutput};
use crate::error::{Error, Result};
use crate::field::Field;
use crate::storage::{self, Keyspace, SecretKey, SecretRecord};

const LIST_TOKEN: u8 = b'L';

/// Whether `rec` (in `region`) matches `filter`: any of its values, a leading `!` negating one.
fn matches(filter: &Filter, rec: &SecretRecord, region: &str) -> bool {
    filter.values().iter().any(|v| match v.strip_prefix('!') {
        Some(negated) => !value_matches(filter.key(), negated, rec, region),
        None => value_matches(filter.key(), v, rec, region),
    })
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
        let page = page_size(input.max_results, ListSecretsInput::MAX_RESULTS)?;
        if input.filters.len() > 10 {
            return Err(Error::max_len(
                &format!("[{} filters]", input.filters.len()),
                Field::Filters,
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
            .scan_prefix(Keyspace::Secrets, &SecretKey::region_prefix(&region))?
        {
            let rec = SecretRecord::decode(&bytes)?;
            match rec.deletion {
                Some(d) if d.deletion_date_ms <= now => continue,
                Some(_) if !input.include_planned_deletion => continue,
                _ => {}
            }
            if !input.filters.iter().all(|f| matches(f, &rec, &region)) {
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
