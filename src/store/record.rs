//! Helpers over a secret's stored record, shared by the operations: its name and labels as
//! public types, the changes that write or clean it up, the keys of its access dates, and the
//! tag limits. No operation lives here, and nothing here uses a sibling module.

use std::collections::HashSet;

use super::Session;
use super::types::SecretRef;
use crate::error::{Error, Result};
use crate::model::{Arn, SecretName, StagingLabel, Tag};
use crate::storage::{self, Commit, Keyspace, SecretRecord, ValueBinding, ValueRecord, WriteBatch};

/// At most this many tags per secret (TAG-3).
pub(crate) const MAX_TAGS: usize = 50;

pub(crate) fn too_many_tags(n: usize) -> Error {
    Error::invalid_parameter(format!(
        "A secret can have at most {MAX_TAGS} tags; this request would give it {n}."
    ))
}

pub(crate) fn check_new_tags(tags: &[Tag]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(too_many_tags(tags.len()));
    }
    let mut seen = HashSet::new();
    for t in tags {
        if !seen.insert(t.key().as_str()) {
            return Err(Error::invalid_parameter(format!(
                "Duplicate tag key: {}",
                t.key()
            )));
        }
    }
    Ok(())
}

pub(crate) fn labels_of(rec: &SecretRecord, version: &str) -> Vec<StagingLabel> {
    rec.version(version)
        .map(|v| {
            v.labels
                .iter()
                .map(|l| StagingLabel::from_stored(l.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The secret's ARN, as stored when it was created.
pub(crate) fn arn_of(rec: &SecretRecord) -> Arn {
    Arn::from_stored(rec.arn.clone())
}

/// The secret's ARN and name: what most writes answer.
pub(crate) fn secret_ref(rec: &SecretRecord) -> SecretRef {
    SecretRef {
        arn: arn_of(rec),
        name: name_of(rec),
    }
}

pub(crate) fn name_of(rec: &SecretRecord) -> SecretName {
    // Stored names passed validation when the secret was created.
    SecretName::from_stored(rec.name.clone())
}

/// Ties version `id` of `rec` to `vr`, the value record stored as its value (see
/// [`ValueBinding`]): a read then refuses any other value record under that version's key.
pub(crate) fn bind_value(rec: &mut SecretRecord, id: &str, vr: &ValueRecord) {
    if let Some(v) = rec.versions.iter_mut().find(|v| v.id == id) {
        v.value = Some(ValueBinding {
            key_id: vr.key_id.clone(),
            nonce: vr.nonce,
        });
    }
}

/// A change that writes `rec` under `key` and nothing else.
pub(crate) fn record_only(key: Vec<u8>, rec: &SecretRecord) -> Result<Commit> {
    let mut batch = WriteBatch::new();
    batch.put(Keyspace::Secrets, key, rec.encode()?);
    Ok(Commit::visible(batch))
}

/// Deletes the values (and access dates, where there are any) of `removed` versions of `rec`.
pub(crate) fn drop_versions(
    session: &Session,
    batch: &mut WriteBatch,
    rec: &SecretRecord,
    removed: &[String],
) -> Result<()> {
    for id in removed {
        batch.delete(Keyspace::Values, storage::value_key(&rec.uid, id));
        let accessed = access_key(&rec.uid, Some(id));
        if session
            .backend()
            .get(Keyspace::Accessed, &accessed)?
            .is_some()
        {
            batch.delete(Keyspace::Accessed, accessed);
        }
    }
    Ok(())
}

/// Adds to `cleanup` the removal of every value and access date of secret `rec`.
pub(crate) fn purge_values(
    session: &Session,
    cleanup: &mut WriteBatch,
    rec: &SecretRecord,
) -> Result<()> {
    for k in session
        .backend()
        .scan_keys(Keyspace::Values, &storage::value_prefix(&rec.uid))?
    {
        cleanup.delete(Keyspace::Values, k);
    }
    for k in session.backend().scan_keys(Keyspace::Accessed, &rec.uid)? {
        cleanup.delete(Keyspace::Accessed, k);
    }
    Ok(())
}

/// Key of a last-accessed date: the secret's uid, then 0 for the secret or 1 and the version id.
pub(crate) fn access_key(uid: &[u8; 16], version: Option<&str>) -> Vec<u8> {
    let mut k = uid.to_vec();
    match version {
        None => k.push(0),
        Some(v) => {
            k.push(1);
            k.extend_from_slice(v.as_bytes());
        }
    }
    k
}
