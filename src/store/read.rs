//! Reads: GetSecretValue, BatchGetSecretValue, DescribeSecret, ListSecretVersionIds.

use std::collections::BTreeMap;

use super::Session;
use super::paging::{decode_token, encode_token, page_size};
use super::record::{arn_of, labels_of, name_of};
use super::types::*;
use crate::audit;
use crate::clock;
use crate::error::{Error, Result};
use crate::field::Field;
use crate::model::{SecretId, StagingLabel, Tag, VersionId};
use crate::storage::{SecretRecord, VersionMeta};
use crate::versions::CURRENT;

const VERSIONS_TOKEN: u8 = b'V';

impl Session {
    /// Reads one version's value (GET rules): by `version_id`, by `version_stage`, or `AWSCURRENT`.
    pub fn get_secret_value(&self, input: GetSecretValueInput) -> Result<GetSecretValueOutput> {
        let audited_id = input.secret_id.clone();
        self.audited("GetSecretValue", Some(&audited_id), move || {
            // A write that commits between our reads of the record and of the value may remove the
            // value (a version clean-up, a purge): read the record again. Values are removed only
            // after the record that stops naming them is committed, so this ends; a value still
            // missing while the record names it is corruption.
            for _attempt in 0..3 {
                let rec = self.resolve_live(&input.secret_id)?.rec;
                let v = select_version(
                    &rec,
                    input.version_id.as_ref(),
                    input.version_stage.as_ref(),
                )?;
                let Some(value) = self.try_open_value(&rec, v)? else {
                    continue;
                };
                audit::note_version(&v.id);
                if let Some(stage) = &input.version_stage {
                    audit::note_stage(stage.as_str());
                }
                self.note_access(&rec, &v.id);
                return Ok(GetSecretValueOutput {
                    arn: arn_of(&rec),
                    name: name_of(&rec),
                    version_id: VersionId::from_stored(v.id.clone()),
                    version_stages: labels_of(&rec, &v.id),
                    created_date: clock::from_millis(v.created_ms),
                    value,
                });
            }
            Err(super::missing_value())
        })
    }
}

/// The version a read asks for (rules GET-1 to GET-5).
fn select_version<'a>(
    rec: &'a SecretRecord,
    version_id: Option<&VersionId>,
    stage: Option<&StagingLabel>,
) -> Result<&'a VersionMeta> {
    Ok(match version_id {
        Some(id) => {
            let v = rec
                .version(id.as_str())
                .filter(|v| v.has_value)
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "Secrets Manager can't find the specified secret value for VersionId: {id}"
                    ))
                })?;
            if stage.is_some_and(|s| !v.has_label(s.as_str())) {
                return Err(Error::invalid_request(
                    "You provided a VersionStage that is not associated to the provided VersionId.",
                ));
            }
            v
        }
        None => {
            let stage = stage.map_or(CURRENT, StagingLabel::as_str);
            rec.holder_of(stage).filter(|v| v.has_value).ok_or_else(|| {
                    Error::not_found(format!(
                        "Secrets Manager can't find the specified secret value for staging label: {stage}"
                    ))
                })?
        }
    })
}

impl Session {
    /// Reads the `AWSCURRENT` values of up to 20 secrets, by id or by filters (BATCH rules).
    /// Failures of single secrets are reported in `errors`; the call itself still succeeds.
    pub fn batch_get_secret_value(
        &self,
        input: BatchGetSecretValueInput,
    ) -> Result<BatchGetSecretValueOutput> {
        self.audited("BatchGetSecretValue", None, move || {
        if input.secret_ids.is_some() == input.filters.is_some() {
            return Err(Error::invalid_parameter(
                "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
            ));
        }
        if input.max_results.is_some() && input.filters.is_none() {
            return Err(Error::invalid_parameter(
                "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.",
            ));
        }
        let mut out = BatchGetSecretValueOutput {
            secret_values: Vec::new(),
            errors: Vec::new(),
            next_token: None,
        };
        let mut record = |shown: String, result: Result<GetSecretValueOutput>| {
            match result {
            Ok(v) => out.secret_values.push(v),
            Err(e) => out.errors.push(ApiErrorEntry {
                secret_id: shown,
                kind: e.kind(),
                // BATCH-2: moto's text for a secret scheduled for deletion (AWS's is not recorded).
                message: if e.is_marked_for_deletion() {
                    "You tried to perform the operation on a secret that's currently marked deleted."
                        .to_owned()
                } else {
                    e.to_string()
                },
                violation: e.violation().cloned(),
            }),
        }
        };
        if let Some(ids) = &input.secret_ids {
            if ids.is_empty() {
                return Err(Error::min_len("[]", Field::SecretIdList, 1));
            }
            if ids.len() > 20 {
                return Err(Error::max_len(
                    &format!("[{} ids]", ids.len()),
                    Field::SecretIdList,
                    20,
                ));
            }
            for id in ids {
                let result = SecretId::new(id)
                    .and_then(|sid| self.get_secret_value(GetSecretValueInput::new(sid)));
                record(id.clone(), result);
            }
        } else if let Some(filters) = &input.filters {
            let page = page_size(input.max_results, BatchGetSecretValueInput::MAX_RESULTS)?;
            let listed = self.list_secrets(ListSecretsInput {
                include_planned_deletion: false,
                max_results: u32::try_from(page).ok(),
                next_token: input.next_token.clone(),
                filters: filters.clone(),
                ..ListSecretsInput::default()
            })?;
            for s in listed.secrets {
                let id = SecretId::from(&s.arn);
                record(
                    s.name.as_str().to_owned(),
                    self.get_secret_value(GetSecretValueInput::new(id)),
                );
            }
            out.next_token = listed.next_token;
        }
        Ok(out)
        })
    }

    /// A secret's metadata (FIELDS rules); works on secrets scheduled for deletion.
    pub fn describe_secret(&self, secret_id: &SecretId) -> Result<SecretDescription> {
        self.audited("DescribeSecret", Some(secret_id), move || {
            let rec = self.resolve(secret_id)?.rec;
            self.describe(&rec)
        })
    }

    pub(crate) fn describe(&self, rec: &SecretRecord) -> Result<SecretDescription> {
        let version_ids_to_stages = (!rec.versions.is_empty()).then(|| {
            rec.versions
                .iter()
                .filter(|v| !v.labels.is_empty())
                .map(|v| {
                    (
                        VersionId::from_stored(v.id.clone()),
                        v.labels
                            .iter()
                            .map(|l| StagingLabel::from_stored(l.clone()))
                            .collect(),
                    )
                })
                .collect::<BTreeMap<_, _>>()
        });
        Ok(SecretDescription {
            arn: arn_of(rec),
            name: name_of(rec),
            description: rec.description.clone(),
            kms_key_id: rec.kms_key_id.clone(),
            created_date: clock::from_millis(rec.created_ms),
            last_changed_date: clock::from_millis(rec.last_changed_ms),
            last_accessed_date: self.last_accessed(&rec.uid, None)?,
            deleted_date: rec.deletion.map(|d| clock::from_millis(d.deletion_date_ms)),
            tags: rec.tags.as_ref().map(|tags| {
                tags.iter()
                    .map(|(k, v)| Tag::from_stored(k.clone(), v.clone()))
                    .collect()
            }),
            version_ids_to_stages,
            rotation_enabled: rec.rotation.as_ref().map(|c| c.enabled),
            rotation_lambda_arn: rec.rotation.as_ref().and_then(|c| c.lambda_arn.clone()),
            rotation_rules: rec
                .rotation
                .as_ref()
                .and_then(|c| c.rules.as_ref())
                .and_then(super::schedule::rules_of),
            last_rotated_date: rec
                .rotation
                .as_ref()
                .filter(|c| c.enabled)
                .and_then(|c| c.last_rotated_ms)
                .map(clock::from_millis),
            next_rotation_date: rec
                .rotation
                .as_ref()
                .filter(|c| c.enabled)
                .and_then(|c| c.next_rotation_ms)
                .map(clock::from_millis),
        })
    }

    /// Lists a secret's versions that have a value, newest first; unlabelled ones only with
    /// `include_deprecated` (rules VER-3, VER-5).
    pub fn list_secret_version_ids(
        &self,
        input: ListSecretVersionIdsInput,
    ) -> Result<ListSecretVersionIdsOutput> {
        let audited_id = input.secret_id.clone();
        self.audited("ListSecretVersionIds", Some(&audited_id), move || {
            let page = page_size(input.max_results, ListSecretVersionIdsInput::MAX_RESULTS)?;
            let after: Option<u64> = match &input.next_token {
                Some(t) => Some(decode_token(VERSIONS_TOKEN, t)?),
                None => None,
            };
            let rec = self.resolve(&input.secret_id)?.rec;
            let mut listed: Vec<_> = rec
                .versions
                .iter()
                .filter(|v| v.has_value && (input.include_deprecated || !v.labels.is_empty()))
                .filter(|v| after.is_none_or(|a| v.seq < a))
                .collect();
            listed.sort_by_key(|v| std::cmp::Reverse(v.seq));
            let more = listed.len() > page;
            listed.truncate(page);
            let next_token = if more {
                listed.last().map(|v| encode_token(VERSIONS_TOKEN, &v.seq))
            } else {
                None
            };
            let mut versions = Vec::with_capacity(listed.len());
            for v in listed {
                // A version's master key is bound in its (authenticated) record.
                let Some(key_id) = v.value.as_ref().map(|b| b.key_id.clone()) else {
                    return Err(super::missing_value());
                };
                versions.push(VersionEntry {
                    version_id: VersionId::from_stored(v.id.clone()),
                    version_stages: (!v.labels.is_empty()).then(|| {
                        v.labels
                            .iter()
                            .map(|l| StagingLabel::from_stored(l.clone()))
                            .collect()
                    }),
                    created_date: clock::from_millis(v.created_ms),
                    last_accessed_date: self.last_accessed(&rec.uid, Some(&v.id))?,
                    kms_key_ids: vec![key_id],
                });
            }
            Ok(ListSecretVersionIdsOutput {
                arn: arn_of(&rec),
                name: name_of(&rec),
                versions,
                next_token: next_token.transpose()?,
            })
        })
    }
}
