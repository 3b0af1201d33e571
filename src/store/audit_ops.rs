//! Reading, verifying and trimming the audit log (each itself audited).

use std::time::SystemTime;

use super::Session;
use crate::audit::{
    AuditEntry, AuditQuery, AuditVerification, StoredEntries, StoredEntry, decode_segment,
    entry_key, verify_chain,
};
use crate::clock;
use crate::error::{Error, Result};
use crate::storage::{self, Commit, Keyspace, StorageBackend};

/// How many segments of the log a scan reads at once.
const PAGE: usize = 64;

/// The entries of the audit log a query asked for, oldest first, read a page at a time.
pub struct AuditEntries {
    stored: StoredEntries,
    query: AuditQuery,
}

impl std::fmt::Debug for AuditEntries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditEntries").finish_non_exhaustive()
    }
}

impl Iterator for AuditEntries {
    type Item = Result<AuditEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (seq, bytes) = match self.stored.next()? {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            let stored: StoredEntry = match storage::decode(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    return Some(Err(Error::AuditTampered {
                        seq,
                        reason: format!("entry {seq} does not decode ({e}): it was edited"),
                    }));
                }
            };
            let entry = stored.into_entry(seq);
            if self.query.matches(&entry) {
                return Some(Ok(entry));
            }
        }
    }
}

impl Session {
    /// Writes what the audit log holds in memory, before the log is read.
    fn sync_audit_log(&self) -> Result<()> {
        match &self.inner().audit {
            Some(log) => log.sync_all(),
            None => Ok(()),
        }
    }

    /// Records a request refused before it reached an operation (a bad or missing signature,
    /// an unknown access key, an unknown operation), under this session's context (whatever
    /// the server could tell of the caller): one entry, `operation` with `error_code` and
    /// `message`. A no-op when the audit log is off.
    pub fn audit_refusal(&self, operation: &str, error_code: &str, message: &str) -> Result<()> {
        let Some(log) = self.inner().audit.clone() else {
            return Ok(());
        };
        let call = crate::audit::Call {
            operation: operation.to_owned(),
            ..crate::audit::Call::default()
        };
        let mut entry = self.entry_for(call, None, false);
        entry.error_code = Some(error_code.to_owned());
        entry.error_message = Some(message.to_owned());
        log.append(entry).map(|_| ())
    }

    /// Runs `f`, one request a server handles for `operation`, and makes sure it leaves an
    /// entry: the operations it calls audit themselves; if it fails before calling any (its
    /// input did not parse, say), its failure is recorded as a refusal (`describe` gives the
    /// AWS error name and message). For servers built on the engine.
    pub fn audit_request<T, E>(
        &self,
        operation: &str,
        f: impl FnOnce() -> std::result::Result<T, E>,
        describe: impl FnOnce(&E) -> (String, String),
    ) -> std::result::Result<T, E> {
        let before = crate::audit::written();
        let result = f();
        if let Err(e) = &result
            && crate::audit::written() == before
        {
            let (code, message) = describe(e);
            // The request fails anyway; an entry that cannot be written is the log's failure,
            // which the next call reports.
            let _ignored = self.audit_refusal(operation, &code, &message);
        }
        result
    }

    /// The audit log's entries that `query` asks for, oldest first, from entry `from_seq` on
    /// (1 for all). The export is itself audited (`ExportAuditLog`). Entries appended while
    /// the iterator runs are included when it reaches them: a follower can start again from
    /// the last sequence number it saw, plus one.
    pub fn audit_entries(&self, query: AuditQuery, from_seq: u64) -> Result<AuditEntries> {
        self.audited("ExportAuditLog", None, || {
            self.healthy()?;
            self.sync_audit_log()?;
            Ok(AuditEntries {
                stored: StoredEntries::new(self.inner().backend.clone(), from_seq.max(1)),
                query,
            })
        })
    }

    /// Checks the whole audit log: every entry links to the one before it, the entries the
    /// signed checkpoint and the last committed change name are there as they were signed, and
    /// nothing is missing at the end. [`Error::AuditTampered`] names the first entry that does
    /// not verify. `progress` hears how many entries were checked, every 65,536 and at the end.
    /// Itself audited (`VerifyAuditLog`).
    pub fn verify_audit_log(&self, progress: &mut dyn FnMut(u64)) -> Result<AuditVerification> {
        self.audited("VerifyAuditLog", None, || {
            self.healthy()?;
            self.sync_audit_log()?;
            let inner = self.inner();
            verify_chain(
                inner.backend.clone(),
                &inner.store_id,
                inner.backend.audit_mark(),
                progress,
            )
        })
    }

    /// Drops the audit entries older than `cutoff`, keeping a signed base (the position of the
    /// last entry dropped) from which the rest still verifies. The last committed change's
    /// entry and everything after it are always kept. Returns how many entries were dropped.
    /// Itself audited (`DropAuditEntries`), as a change.
    pub fn drop_audit_entries_before(&self, cutoff: SystemTime) -> Result<u64> {
        self.audited("DropAuditEntries", None, || {
            self.sync_audit_log()?;
            let mut guard = self.writer()?;
            let inner = self.inner();
            let keep_from = inner.backend.audit_mark().map_or(u64::MAX, |m| m.seq);
            let cutoff_ms = clock::to_millis(cutoff);
            let mut change = Commit::default();
            let mut base = None;
            let mut dropped = 0u64;
            let mut from = 1u64;
            // Entries go from the start, while older than the cutoff and before the last
            // committed change's: whole segments, and the front of the first one that stays.
            'scan: loop {
                let page = inner
                    .backend
                    .scan_from(Keyspace::Audit, &entry_key(from), PAGE)?;
                if page.is_empty() {
                    break;
                }
                for (key, bytes) in &page {
                    let mut keep = Vec::new();
                    let mut dropped_here = 0u64;
                    for (seq, entry) in decode_segment(key, bytes)? {
                        let stored: StoredEntry = storage::decode(&entry)?;
                        if keep.is_empty() && seq < keep_from && stored.time_ms < cutoff_ms {
                            base = Some((seq, crate::audit::chain_hash(seq, &entry)));
                            dropped_here += 1;
                        } else {
                            keep.push((seq, entry));
                        }
                    }
                    dropped += dropped_here;
                    let Some(&(first, _)) = keep.first() else {
                        // Wholly older: the segment goes, and the scan goes on after it.
                        change.cleanup.delete(Keyspace::Audit, key.clone());
                        from = base.map_or(from, |(b, _)| b + 1);
                        continue;
                    };
                    if dropped_here > 0 {
                        // Its front goes: the rest, under the same key.
                        let (k, rest) = crate::audit::encode_segment(
                            first,
                            keep.into_iter().map(|(_, e)| e).collect(),
                        )?;
                        change.cleanup.put(Keyspace::Audit, k.to_vec(), rest);
                    }
                    break 'scan;
                }
            }
            let Some((seq, hash)) = base else {
                return Ok(0);
            };
            let record = crate::audit::Checkpoint {
                seq,
                hash,
                time_ms: self.now_ms(),
            };
            change.commit.put(
                Keyspace::Meta,
                crate::audit::BASE_KEY.to_vec(),
                storage::encode(&record)?,
            );
            self.commit(&mut guard, change)?;
            Ok(dropped)
        })
    }
}
