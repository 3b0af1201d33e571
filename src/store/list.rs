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

/// The words of a filter value, name, description, tag key or tag value, as `description` and
/// `all` filters compare them (LIST-2): runs of letters and digits, split where a lower-case
/// letter meets an upper-case one, before the last capital of a run of capitals that starts a
/// word (`COMPANYthings`: `COMPAN`, `Ythings`; `HTTPServer`: `HTTP`, `Server`), and where a
/// letter meets a digit (`credsDatabase#892`: `creds`, `Database`, `892`; a digit followed by
/// letters stays one word, `3fa`).
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for run in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let chars: Vec<(usize, char)> = run.char_indices().collect();
        let mut start = 0;
        for (n, pair) in chars.windows(2).enumerate() {
            let [(_, p), (i, c)] = pair else { continue };
            let next_lower = chars.get(n + 2).is_some_and(|(_, d)| d.is_lowercase());
            let boundary = (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower)
                || (p.is_alphabetic() && c.is_numeric());
            if boundary {
                out.extend(run.get(start..*i));
                start = *i;
            }
        }
        out.extend(run.get(start..));
    }
    out
}

/// Whether filter value `v` has words, each a case-insensitive prefix of one of `searched`. A value
/// without words (`+`) matches nothing, as moto's test verified against AWS.
fn every_word_prefixes(v: &str, searched: &[&str]) -> bool {
    let wanted = words(v);
    !wanted.is_empty()
        && wanted
            .iter()
            .all(|w| searched.iter().any(|hay| prefix_ci(hay, w)))
}

fn prefix_ci(hay: &str, needle: &str) -> bool {
    hay.get(..needle.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(needle))
}

fn value_matches(key: FilterKey, v: &str, rec: &SecretRecord, region: &str) -> bool {
    let tags = rec.tags.as_deref().unwrap_or_default();
    match key {
        FilterKey::Name => rec.name.starts_with(v),
        FilterKey::Description => rec
            .description
            .as_deref()
            .is_some_and(|d| every_word_prefixes(v, &words(d))),
        FilterKey::TagKey => tags.iter().any(|(k, _)| k.starts_with(v)),
        FilterKey::TagValue => tags.iter().any(|(_, tv)| tv.starts_with(v)),
        FilterKey::PrimaryRegion => region.starts_with(v),
        FilterKey::OwningService => false,
        FilterKey::All => {
            let mut searched = words(&rec.name);
            searched.extend(words(rec.description.as_deref().unwrap_or_default()));
            for (k, tv) in tags {
                searched.extend(words(k));
                searched.extend(words(tv));
            }
            every_word_prefixes(v, &searched)
        }
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
        self.audited("ListSecrets", None, move || {
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
                rows.retain(|(n, r)| {
                    order((*n, &r.name), (p.number, &p.name)) == Ordering::Greater
                });
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
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secret(name: &str, description: Option<&str>, tags: &[(&str, &str)]) -> SecretRecord {
        SecretRecord {
            uid: [0; 16],
            arn: format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf"),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            kms_key_id: None,
            tags: (!tags.is_empty()).then(|| {
                tags.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }),
            created_ms: 0,
            last_changed_ms: 0,
            deletion: None,
            next_seq: 0,
            versions: Vec::new(),
            rotation: None,
        }
    }

    /// Which of `secrets` (by index) match a filter of `key` with the one value `value`.
    fn matching(key: FilterKey, value: &str, secrets: &[SecretRecord]) -> Vec<usize> {
        let filter = Filter::new(key, vec![value.to_owned()]).unwrap_or_else(|e| {
            unreachable!("test filter {value:?} is valid: {e}");
        });
        (0..secrets.len())
            .filter(|i| {
                secrets
                    .get(*i)
                    .is_some_and(|s| matches(&filter, s, "us-east-1"))
            })
            .collect()
    }

    #[test]
    fn a_description_value_is_split_into_words_each_a_word_prefix() {
        // Recorded against AWS (docs/aws-behaviour.md, LIST-2).
        let secrets: Vec<SecretRecord> = ["a secret", "an secret", "asecret", "thesecret"]
            .iter()
            .enumerate()
            .map(|(i, d)| secret(&format!("s{i}"), Some(d), &[]))
            .collect();
        assert_eq!(
            matching(FilterKey::Description, "a secret", &secrets),
            [0, 1]
        );
        assert_eq!(matching(FilterKey::Description, "a", &secrets), [0, 1, 2]);
        assert_eq!(matching(FilterKey::Description, "!a", &secrets), [3]);
        assert_eq!(
            matching(FilterKey::Description, "!c", &secrets),
            [0, 1, 2, 3]
        );
        assert_eq!(
            matching(FilterKey::Description, "A SECRET", &secrets),
            [0, 1]
        );
        assert_eq!(
            matching(FilterKey::Description, "secret a", &secrets),
            [0, 1]
        );
        // A secret without a description matches no plain value and every negated one.
        let none = [secret("x", None, &[])];
        assert!(matching(FilterKey::Description, "a", &none).is_empty());
        assert_eq!(matching(FilterKey::Description, "!a", &none), [0]);
    }

    #[test]
    fn a_name_value_is_a_plain_case_sensitive_prefix() {
        // Recorded against AWS: a space in the value is not a word break for `name`.
        let secrets: Vec<SecretRecord> = ["testing1/one-1", "testing1/one-2", "/testing2/two-1"]
            .iter()
            .map(|n| secret(n, None, &[]))
            .collect();
        assert!(matching(FilterKey::Name, "testing1 one", &secrets).is_empty());
        assert_eq!(matching(FilterKey::Name, "testing1/", &secrets), [0, 1]);
        assert!(matching(FilterKey::Name, "Testing1", &secrets).is_empty());
    }

    #[test]
    fn all_searches_words_split_at_punctuation_case_changes_and_digits() {
        let secrets = [
            secret("credsDatabase#892", None, &[]),
            secret(
                "prod/web",
                Some("the payments API"),
                &[("Team", "core-Billing")],
            ),
            secret("dev_cache", None, &[("owner", "alice")]),
        ];
        assert_eq!(words("credsDatabase#892x"), ["creds", "Database", "892x"]);
        // moto's test of this, verified against AWS: COMPANYthings is COMPAN + Ythings, and
        // neither `company` nor `things` finds it.
        assert_eq!(
            words("uat/COMPANYthings/3fa2b1"),
            ["uat", "COMPAN", "Ythings", "3fa", "2b", "1"]
        );
        assert_eq!(words("HTTPServer v2"), ["HTTP", "Server", "v", "2"]);
        assert_eq!(words("SecretFTag"), ["Secret", "F", "Tag"]);
        assert!(words("+ / -").is_empty());
        for (value, expected) in [
            ("creds", vec![0]),
            ("database", vec![0]),
            ("892", vec![0]),
            ("credsData", vec![0]),
            ("creds 892", vec![0]),
            ("creds web", vec![]),
            ("prod web", vec![1]),
            ("prod/web", vec![1]),
            ("payments", vec![1]),
            ("api", vec![1]),
            ("team", vec![1]),
            ("billing", vec![1]),
            ("core", vec![1]),
            ("cache", vec![2]),
            ("dev_cache", vec![2]),
            ("ali", vec![2]),
            ("!ali", vec![0, 1]),
            ("!prod web", vec![0, 2]),
            ("xyz", vec![]),
            ("things", vec![]),
            ("things", vec![]),
        ] {
            assert_eq!(
                matching(FilterKey::All, value, &secrets),
                expected,
                "{value}"
            );
        }
    }

    /// Text of ASCII words joined by spaces and punctuation, as names, descriptions and tags are.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(("[a-zA-Z0-9]{1,10}", "[ /_+=.@-]"), 1..6).prop_map(|parts| {
            parts
                .into_iter()
                .map(|(w, sep)| format!("{w}{sep}"))
                .collect::<String>()
        })
    }

    proptest! {
        #[test]
        fn a_secret_matches_a_filter_built_from_a_word_of_its_own(
            name in "[a-zA-Z0-9][a-zA-Z0-9/_+=.@-]{0,30}",
            description in text(),
            tag_key in text(),
            tag_value in text(),
            pick in any::<prop::sample::Index>(),
            prefix in 1usize..20,
        ) {
            let rec = secret(&name, Some(&description), &[(&tag_key, &tag_value)]);
            let own = words(&description);
            let word = own[pick.index(own.len())];
            let word = &word[..prefix.min(word.len())];
            prop_assert_eq!(matching(FilterKey::Description, word, std::slice::from_ref(&rec)), [0]);
            prop_assert_eq!(
                matching(FilterKey::Description, &word.to_uppercase(), std::slice::from_ref(&rec)),
                [0]
            );
            let mut every = words(&name);
            every.extend(own.iter().copied());
            every.extend(words(&tag_key));
            every.extend(words(&tag_value));
            let word = every[pick.index(every.len())];
            prop_assert_eq!(matching(FilterKey::All, word, std::slice::from_ref(&rec)), [0]);
            let negated = format!("!{word}");
            prop_assert!(matching(FilterKey::All, &negated, std::slice::from_ref(&rec)).is_empty());
        }
    }
}
