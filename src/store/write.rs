//! Writes that create versions or move labels: CreateSecret, PutSecretValue, UpdateSecret,
//! UpdateSecretVersionStage.

use super::Session;
use super::record::{
    arn_of, bind_value, check_new_tags, drop_versions, labels_of, name_of, purge_values,
    record_only, secret_ref,
};
use super::schedule::next_after;
use super::types::*;
use crate::audit;
use crate::error::{Error, Result};
use crate::field::Field;
use crate::model::{Arn, KmsKeyId, SecretId, SecretValue, StagingLabel, VersionId};
use crate::storage::{self, Commit, Keyspace, SecretKey, SecretRecord};
use crate::versions::{self, CURRENT};

/// The labels a write attaches: as given, in that order, a repeated one once (`AWSCURRENT` by
/// default).
fn stage_set(stages: Option<&Vec<StagingLabel>>) -> Result<Vec<String>> {
    let Some(stages) = stages else {
        return Ok(vec![CURRENT.to_owned()]);
    };
    if stages.is_empty() {
        return Err(Error::min_len("[]", Field::VersionStages, 1));
    }
    if stages.len() > versions::MAX_LABELS {
        return Err(Error::max_len(
            &format!("[{} labels]", stages.len()),
            Field::VersionStages,
            versions::MAX_LABELS,
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(stages.len());
    for s in stages {
        if !out.iter().any(|o| o == s.as_str()) {
            out.push(s.as_str().to_owned());
        }
    }
    Ok(out)
}

fn already_in_use(token: &VersionId, arn: &str) -> Error {
    Error::exists(format!(
        "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {arn}."
    ))
}

impl Session {
    /// Creates a secret, with or without a first value (ID, WRITE and IDEM rules, DEL-6).
    ///
    /// A replay with the same token and value returns the first response; the same token with
    /// another value, or another token, fails with `ResourceExistsException`.
    pub fn create_secret(&self, input: CreateSecretInput) -> Result<CreateSecretOutput> {
        let audited_id = SecretId::from(&input.name);
        self.audited("CreateSecret", Some(&audited_id), move || {
        check_new_tags(&input.tags)?;
        let token = input
            .client_request_token
            .clone()
            .unwrap_or_else(VersionId::random);
        let mut guard = self.writer()?;
        let now = self.now_ms();
        let key = SecretKey::new(self.region().as_str(), input.name.as_str()).to_bytes();
        let mut change = Commit::default();
        if let Some(bytes) = self.backend().get(Keyspace::Secrets, &key)? {
            let old = SecretRecord::decode(&bytes)?;
            match old.deletion {
                Some(d) if d.deletion_date_ms <= now => {
                    // Its recovery window is over: the new record replaces it; its values go.
                    purge_values(self, &mut change.cleanup, &old)?;
                }
                Some(_) => {
                    return Err(Error::invalid_request(
                        "You can't create this secret because a secret with this name is already scheduled for deletion.",
                    ));
                }
                None => {
                    if let Some(value) = &input.value
                        && self.is_replay(&old, &token, value)?
                    {
                        return Ok(CreateSecretOutput {
                            arn: Arn::from_stored(old.arn.clone()),
                            name: input.name,
                            version_id: Some(token),
                        });
                    }
                    return Err(Error::exists(format!(
                        "The operation failed because the secret {} already exists.",
                        input.name
                    )));
                }
            }
        }
        let arn = self.new_arn(&input.name);
        let mut uid = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut uid);
        let mut rec = SecretRecord {
            uid,
            arn: arn.as_str().to_owned(),
            name: input.name.as_str().to_owned(),
            description: input
                .description
                .map(|d| d.as_str().to_owned())
                .filter(|d| !d.is_empty()),
            kms_key_id: input.kms_key_id.as_ref().and_then(KmsKeyId::stored),
            tags: (!input.tags.is_empty()).then(|| {
                input
                    .tags
                    .iter()
                    .map(|t| (t.key().as_str().to_owned(), t.value().to_owned()))
                    .collect()
            }),
            created_ms: now,
            last_changed_ms: now,
            deletion: None,
            next_seq: 0,
            versions: Vec::new(),
            rotation: None,
        };
        let version_id = match &input.value {
            Some(value) => {
                versions::add_version(&mut rec, token.as_str(), &[CURRENT.to_owned()], now)?;
                let vr = self.seal_value(&rec.arn, token.as_str(), value)?;
                bind_value(&mut rec, token.as_str(), &vr);
                change.prepare.put(
                    Keyspace::Values,
                    storage::value_key(&rec.uid, token.as_str()),
                    storage::encode(&vr)?,
                );
                Some(token)
            }
            None => None,
        };
        change.commit.put(Keyspace::Secrets, key, rec.encode()?);
        audit::note_secret(&rec.arn);
        if let Some(v) = &version_id {
            audit::note_version(v.as_str());
        }
        self.commit(&mut guard, change)?;
        Ok(CreateSecretOutput {
            arn,
            name: input.name,
            version_id,
        })
        })
    }

    /// Adds a version (WRITE and IDEM rules): labels move to it, `AWSCURRENT` by default.
    ///
    /// A token naming a value-less placeholder (the `AWSPENDING` version of a rotation) fills it.
    pub fn put_secret_value(&self, input: PutSecretValueInput) -> Result<PutSecretValueOutput> {
        let audited_id = input.secret_id.clone();
        self.audited("PutSecretValue", Some(&audited_id), move || {
            let stages = stage_set(input.version_stages.as_ref())?;
            let token = input
                .client_request_token
                .clone()
                .unwrap_or_else(VersionId::random);
            let mut guard = self.writer()?;
            let super::Found { key, mut rec } = self.resolve_live(&input.secret_id)?;
            if self.is_replay(&rec, &token, &input.value)? {
                return Ok(PutSecretValueOutput {
                    arn: arn_of(&rec),
                    name: name_of(&rec),
                    version_stages: labels_of(&rec, token.as_str()),
                    version_id: token,
                });
            }
            let change = self.plan_new_version(&key, &mut rec, &token, &stages, &input.value)?;
            self.commit(&mut guard, change)?;
            Ok(PutSecretValueOutput {
                arn: arn_of(&rec),
                name: name_of(&rec),
                version_stages: labels_of(&rec, token.as_str()),
                version_id: token,
            })
        })
    }

    /// Changes a secret's metadata and, with a value, adds a new `AWSCURRENT` version (WRITE-3, WRITE-9).
    pub fn update_secret(&self, input: UpdateSecretInput) -> Result<UpdateSecretOutput> {
        let audited_id = input.secret_id.clone();
        self.audited("UpdateSecret", Some(&audited_id), move || {
            let token = input
                .client_request_token
                .clone()
                .unwrap_or_else(VersionId::random);
            let mut guard = self.writer()?;
            let super::Found { key, mut rec } = self.resolve_live(&input.secret_id)?;
            let now = self.now_ms();
            if let Some(d) = &input.description {
                rec.description = Some(d.as_str().to_owned()).filter(|d| !d.is_empty());
            }
            if let Some(k) = &input.kms_key_id {
                rec.kms_key_id = k.stored();
            }
            rec.last_changed_ms = now;
            let mut version_id = None;
            let change = match &input.value {
                Some(value) => {
                    if self.is_replay(&rec, &token, value)? {
                        version_id = Some(token.clone());
                        record_only(key, &rec)?
                    } else {
                        version_id = Some(token.clone());
                        self.plan_new_version(&key, &mut rec, &token, &[CURRENT.to_owned()], value)?
                    }
                }
                None => record_only(key, &rec)?,
            };
            self.commit(&mut guard, change)?;
            Ok(UpdateSecretOutput {
                arn: arn_of(&rec),
                name: name_of(&rec),
                version_id,
            })
        })
    }

    /// Whether `token` names a valued version of `rec` holding `value`: a replay (IDEM rules). The same
    /// token with another value is `ResourceExistsException`; a value-less placeholder is not a replay.
    fn is_replay(
        &self,
        rec: &SecretRecord,
        token: &VersionId,
        value: &SecretValue,
    ) -> Result<bool> {
        let Some(v) = rec.version(token.as_str()).filter(|v| v.has_value) else {
            return Ok(false);
        };
        if self.open_value(rec, v)?.ct_eq(value) {
            Ok(true)
        } else {
            Err(already_in_use(token, &rec.arn))
        }
    }

    /// Plans a new valued version `token` of `rec` with `stages`: labels, clean-up of old
    /// versions, the sealed value and the record, as one change.
    fn plan_new_version(
        &self,
        key: &[u8],
        rec: &mut SecretRecord,
        token: &VersionId,
        stages: &[String],
        value: &SecretValue,
    ) -> Result<Commit> {
        let now = self.now_ms();
        audit::note_version(token.as_str());
        versions::add_version(rec, token.as_str(), stages, now)?;
        let removed = versions::collect_deprecated(rec, now, self.limits())?;
        rec.last_changed_ms = now;
        // ROT-8: a new AWSCURRENT value counts as a rotation for `AutomaticallyAfterDays`.
        if stages.iter().any(|s| s == CURRENT)
            && let Some(cfg) = rec.rotation.as_mut()
            && cfg.enabled
            && cfg.rules.as_ref().is_some_and(|r| r.after_days.is_some())
        {
            cfg.next_rotation_ms = next_after(cfg, now);
        }
        let vr = self.seal_value(&rec.arn, token.as_str(), value)?;
        bind_value(rec, token.as_str(), &vr);
        let mut change = record_only(key.to_vec(), rec)?;
        change.prepare.put(
            Keyspace::Values,
            storage::value_key(&rec.uid, token.as_str()),
            storage::encode(&vr)?,
        );
        drop_versions(self, &mut change.cleanup, rec, &removed)?;
        Ok(change)
    }

    /// Moves, attaches or removes one staging label (STAGE rules).
    pub fn update_secret_version_stage(
        &self,
        input: UpdateSecretVersionStageInput,
    ) -> Result<SecretRef> {
        let audited_id = input.secret_id.clone();
        self.audited("UpdateSecretVersionStage", Some(&audited_id), move || {
            let mut guard = self.writer()?;
            let super::Found { key, mut rec } = self.resolve_live(&input.secret_id)?;
            let now = self.now_ms();
            audit::note_stage(input.version_stage.as_str());
            if let Some(to) = &input.move_to_version_id {
                audit::note_version(to.as_str());
            }
            versions::move_label(
                &mut rec,
                input.version_stage.as_str(),
                input.move_to_version_id.as_ref().map(VersionId::as_str),
                input.remove_from_version_id.as_ref().map(VersionId::as_str),
            )?;
            let removed = versions::collect_deprecated(&mut rec, now, self.limits())?;
            rec.last_changed_ms = now;
            let mut change = record_only(key, &rec)?;
            drop_versions(self, &mut change.cleanup, &rec, &removed)?;
            self.commit(&mut guard, change)?;
            Ok(secret_ref(&rec))
        })
    }
}
