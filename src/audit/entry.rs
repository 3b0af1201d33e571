//! One audit entry: what it says, how it is stored and how it is chained.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock;
use crate::storage::{self, StorageError};

/// One operation as the audit log records it. Never a secret value, a key or a password: a
/// `ClientRequestToken` appears only as the `version_id` of the version it created.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Its place in the log, from 1, without gaps.
    pub seq: u64,
    /// When the store handled it (the store's clock).
    pub time: SystemTime,
    /// Who asked: the request's principal (for a step the rotation driver runs, the driver's
    /// session's, `strongroom:system`; for purges, `strongroom:maintenance`).
    pub principal: String,
    /// The service that acted on the principal's behalf, as CloudTrail's `invokedBy`: the
    /// rotation driver, the purge of deleted secrets. `None` for a direct call.
    pub invoked_by: Option<String>,
    /// The request id (`x-amzn-RequestId` on the wire).
    pub request_id: String,
    /// The AWS operation name (`GetSecretValue`).
    pub operation: String,
    /// The region the request ran in.
    pub region: String,
    /// The secret as the request named it.
    pub secret_id: Option<String>,
    /// The secret's full ARN, once found.
    pub secret_arn: Option<String>,
    /// The version read or created.
    pub version_id: Option<String>,
    /// The staging label read or moved.
    pub version_stage: Option<String>,
    /// `None` if it succeeded; else the AWS error name (`ResourceNotFoundException`).
    pub error_code: Option<String>,
    /// The error's message (never a value).
    pub error_message: Option<String>,
    /// Whether the entry records a committed change (durable with it).
    pub change: bool,
    /// From the server: the access key id the request was signed with.
    pub access_key_id: Option<String>,
    /// From the server: the caller's address.
    pub source_ip: Option<String>,
    /// From the server: the caller's `User-Agent`.
    pub user_agent: Option<String>,
}

/// Which entries to read: every bound is optional; all given must hold.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Entries at or after this time.
    pub since: Option<SystemTime>,
    /// Entries before this time.
    pub until: Option<SystemTime>,
    /// Entries about this secret: its name, or an ARN (full or partial) that names it.
    pub secret: Option<String>,
    /// Entries of this principal.
    pub principal: Option<String>,
}

impl AuditQuery {
    /// Every entry.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only entries at or after `t`.
    #[must_use]
    pub fn since(mut self, t: SystemTime) -> Self {
        self.since = Some(t);
        self
    }

    /// Only entries before `t`.
    #[must_use]
    pub fn until(mut self, t: SystemTime) -> Self {
        self.until = Some(t);
        self
    }

    /// Only entries about `secret` (a name or an ARN).
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Only entries of `principal`.
    #[must_use]
    pub fn principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// Whether `e` is one of the entries asked for.
    pub fn matches(&self, e: &AuditEntry) -> bool {
        self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
            && self.principal.as_ref().is_none_or(|p| *p == e.principal)
            && self.secret.as_ref().is_none_or(|s| names_secret(e, s))
    }
}

/// Whether `e` is about the secret `s` names (a name, or a full or partial ARN).
fn names_secret(e: &AuditEntry, s: &str) -> bool {
    if e.secret_id.as_deref() == Some(s) {
        return true;
    }
    let Some(arn) = e.secret_arn.as_deref() else {
        return false;
    };
    // A full ARN ends in `-` and six random characters; a partial ARN and a name leave them out.
    let without_suffix = arn.get(..arn.len().saturating_sub(7));
    let name = without_suffix
        .and_then(|a| a.split_once(":secret:"))
        .map(|(_, n)| n);
    arn == s || without_suffix == Some(s) || name == Some(s)
}

/// An entry as stored under its sequence number in the `Audit` keyspace (record format 1):
/// the chain hash of the entry before it, then the entry's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredEntry {
    pub(crate) prev: [u8; 32],
    pub(crate) time_ms: u64,
    pub(crate) principal: String,
    pub(crate) invoked_by: Option<String>,
    pub(crate) request_id: String,
    pub(crate) operation: String,
    pub(crate) region: String,
    pub(crate) secret_id: Option<String>,
    pub(crate) secret_arn: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) version_stage: Option<String>,
    pub(crate) error_code: Option<String>,
    pub(crate) error_message: Option<String>,
    pub(crate) change: bool,
    pub(crate) access_key_id: Option<String>,
    pub(crate) source_ip: Option<String>,
    pub(crate) user_agent: Option<String>,
}

impl storage::Plain for StoredEntry {}

impl StoredEntry {
    /// The public form, at `seq`.
    pub(crate) fn into_entry(self, seq: u64) -> AuditEntry {
        AuditEntry {
            seq,
            time: clock::from_millis(self.time_ms),
            principal: self.principal,
            invoked_by: self.invoked_by,
            request_id: self.request_id,
            operation: self.operation,
            region: self.region,
            secret_id: self.secret_id,
            secret_arn: self.secret_arn,
            version_id: self.version_id,
            version_stage: self.version_stage,
            error_code: self.error_code,
            error_message: self.error_message,
            change: self.change,
            access_key_id: self.access_key_id,
            source_ip: self.source_ip,
            user_agent: self.user_agent,
        }
    }

    /// Its stored bytes.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StorageError> {
        storage::encode(self)
    }
}

/// The key of entry `seq`.
pub(crate) fn entry_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The chain hash through the entry stored as `bytes` at `seq` (its bytes hold the hash before).
pub(crate) fn chain_hash(seq: u64, bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"strongroom/audit\0");
    h.update(seq.to_be_bytes());
    h.update(bytes);
    h.finalize().into()
}

/// The hash "before" entry 1 of the store `store_id`.
pub(crate) fn genesis_hash(store_id: &[u8; 16]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"strongroom/audit-genesis\0");
    h.update(store_id);
    h.finalize().into()
}
