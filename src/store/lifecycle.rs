//! Deletion, restore, purge (DEL rules) and tags (TAG rules).

use std::collections::HashSet;

use super::record::{MAX_TAGS, purge_values, record_only, secret_ref, too_many_tags};
use super::types::*;
use super::{SecretStore, Session};
use crate::clock;
use crate::error::{Error, Result};
use crate::model::{Principal, RequestContext, SecretId, Tag, TagKey};
use crate::storage::{self, Commit, Deletion, Keyspace, SecretRecord};

/// The removal, for good, of secret `rec` stored under `key`.
fn purge(session: &Session, change: &mut Commit, key: &[u8], rec: &SecretRecord) -> Result<()> {
    change.commit.delete(Keyspace::Secrets, key.to_vec());
    purge_values(session, &mut change.cleanup, rec)
}

/// The service that purges secrets whose recovery window ended, as audit entries name it.
const PURGE: &str = "strongroom:purge";

pub(crate) fn purge_due(store: &SecretStore) -> Result<usize> {
    let session = store.session(RequestContext::new(Principal::maintenance()).invoked_by(PURGE));
    session.audited("PurgeDeletedSecrets", None, || purge_with(&session))
}

fn purge_with(session: &Session) -> Result<usize> {
    let mut guard = session.writer()?;
    let now = session.now_ms();
    let mut change = Commit::default();
    let mut purged = 0;
    let mut live_uids = HashSet::new();
    let mut live_values = HashSet::new();
    for (key, bytes) in session.backend().scan_prefix(Keyspace::Secrets, b"")? {
        let rec = SecretRecord::decode(&bytes)?;
        if rec.deletion.is_some_and(|d| d.deletion_date_ms <= now) {
            // Its values and dates go with the sweep below, as nothing live names them.
            change.commit.delete(Keyspace::Secrets, key);
            purged += 1;
        } else {
            live_uids.insert(rec.uid);
            for v in rec.versions.iter().filter(|v| v.has_value) {
                live_values.insert(storage::value_key(&rec.uid, &v.id));
            }
        }
    }
    // Sweep what no live record names: the data of the secrets purged just now, and anything
    // left by a crash between a commit and its clean-up, or by a read noting its access while
    // its secret was purged. We hold the writer lock, so no prepared write is in flight.
    for key in session.backend().scan_keys(Keyspace::Values, b"")? {
        if !live_values.contains(&key) {
            change.cleanup.delete(Keyspace::Values, key);
        }
    }
    for key in session.backend().scan_keys(Keyspace::Accessed, b"")? {
        let uid: Option<[u8; 16]> = key.get(..16).and_then(|u| u.try_into().ok());
        if uid.is_none_or(|u| !live_uids.contains(&u)) {
            change.cleanup.delete(Keyspace::Accessed, key);
        }
    }
    if !change.commit.is_empty() || !change.cleanup.is_empty() {
        session.commit(&mut guard, change)?;
    }
    Ok(purged)
}

const MAX_WINDOW: i64 = 30;
const MIN_WINDOW: i64 = 7;

impl Session {
    /// Schedules a secret for deletion after a recovery window of 7..=30 days (default 30), or
    /// deletes it at once with `force_delete_without_recovery` (rules DEL-1 to DEL-4).
    ///
    /// A forced delete of a secret that does not exist succeeds, as in AWS.
    pub fn delete_secret(&self, input: DeleteSecretInput) -> Result<DeleteSecretOutput> {
        let audited_id = input.secret_id.clone();
        self.audited("DeleteSecret", Some(&audited_id), move || {
        // The window's range is checked first, as moto does (DEL-1).
        let days = input.recovery_window_in_days.unwrap_or(MAX_WINDOW);
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&days) {
            return Err(Error::invalid_parameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            ));
        }
        if input.force_delete_without_recovery && input.recovery_window_in_days.is_some() {
            return Err(Error::invalid_parameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
            ));
        }
        let mut guard = self.writer()?;
        let now = self.now_ms();
        let Some(super::Found { key, mut rec }) = self.find(&input.secret_id)? else {
            if !input.force_delete_without_recovery {
                return Err(Error::secret_not_found());
            }
            let (arn, name) = match (&input.secret_id, input.secret_id.name_part()) {
                (SecretId::Arn { name, .. }, _) => (input.secret_id.to_string(), name.clone()),
                (_, Some(name)) => (
                    self.new_arn(&name).as_str().to_owned(),
                    name.as_str().to_owned(),
                ),
                (_, None) => (input.secret_id.to_string(), input.secret_id.to_string()),
            };
            return Ok(DeleteSecretOutput {
                arn,
                name,
                deletion_date: clock::from_millis(now),
            });
        };
        let deletion_date_ms = if input.force_delete_without_recovery {
            let mut change = Commit::default();
            purge(self, &mut change, &key, &rec)?;
            self.commit(&mut guard, change)?;
            now
        } else {
            if rec.deletion.is_some() {
                return Err(Error::marked_for_deletion());
            }
            let window = u64::try_from(days).unwrap_or(30) * clock::DAY_MS;
            let deletion_date_ms = now.saturating_add(window);
            rec.deletion = Some(Deletion {
                deleted_at_ms: now,
                deletion_date_ms,
            });
            rec.last_changed_ms = now;
            self.commit(&mut guard, record_only(key, &rec)?)?;
            deletion_date_ms
        };
        Ok(DeleteSecretOutput {
            arn: rec.arn.clone(),
            name: rec.name.clone(),
            deletion_date: clock::from_millis(deletion_date_ms),
        })
        })
    }

    /// Cancels a scheduled deletion (DEL-7). On a secret not scheduled for deletion it changes nothing.
    pub fn restore_secret(&self, secret_id: &SecretId) -> Result<SecretRef> {
        self.audited("RestoreSecret", Some(secret_id), move || {
            let mut guard = self.writer()?;
            let super::Found { key, mut rec } = self.resolve(secret_id)?;
            if rec.deletion.is_some() {
                rec.deletion = None;
                rec.last_changed_ms = self.now_ms();
                self.commit(&mut guard, record_only(key, &rec)?)?;
            }
            Ok(secret_ref(&rec))
        })
    }

    /// Adds tags, overwriting the value of keys that exist (TAG-1). At most 50 tags per secret.
    pub fn tag_resource(&self, secret_id: &SecretId, tags: &[Tag]) -> Result<()> {
        self.audited("TagResource", Some(secret_id), move || {
            let mut guard = self.writer()?;
            let super::Found { key, mut rec } = self.resolve_live(secret_id)?;
            let mut merged = rec.tags.clone().unwrap_or_default();
            for t in tags {
                match merged.iter_mut().find(|(k, _)| k == t.key().as_str()) {
                    Some((_, v)) => t.value().clone_into(v),
                    None => merged.push((t.key().as_str().to_owned(), t.value().to_owned())),
                }
            }
            if merged.len() > MAX_TAGS {
                return Err(too_many_tags(merged.len()));
            }
            rec.tags = Some(merged);
            rec.last_changed_ms = self.now_ms();
            self.commit(&mut guard, record_only(key, &rec)?)
        })
    }

    /// Removes tags by key; keys that are absent are ignored (TAG-2).
    pub fn untag_resource(&self, secret_id: &SecretId, keys: &[TagKey]) -> Result<()> {
        self.audited("UntagResource", Some(secret_id), move || {
            let mut guard = self.writer()?;
            let super::Found { key, mut rec } = self.resolve_live(secret_id)?;
            if let Some(tags) = &mut rec.tags {
                tags.retain(|(k, _)| !keys.iter().any(|r| r.as_str() == k));
            }
            rec.last_changed_ms = self.now_ms();
            self.commit(&mut guard, record_only(key, &rec)?)
        })
    }
}
