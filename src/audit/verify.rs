//! Checking the whole chain: every link, the signed checkpoint, the last committed change's
//! entry, and that the tail is all there.

use std::sync::Arc;

use super::entry::{chain_hash, genesis_hash};
use super::log::{BASE_KEY, CHECKPOINT_KEY, Checkpoint, decode_entry};
use super::segment;
use crate::error::{Error, Result};
use crate::storage::{self, AuditMark, Keyspace, StorageBackend};

/// What a verification of the audit log found: it verified, over these entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditVerification {
    /// How many entries were checked.
    pub entries: u64,
    /// The first entry kept (entries before it were dropped by retention), if any.
    pub first_seq: Option<u64>,
    /// The last entry, if any.
    pub last_seq: Option<u64>,
    /// The entry the newest signed checkpoint names, if any.
    pub checkpoint_seq: Option<u64>,
}

/// Walks the chain of `backend` from its start (or its retention base) to its end. `mark` is
/// where the store's last commit stamp says the chain stood after the last committed change.
/// `progress` hears how many entries were checked, every few thousand.
pub(crate) fn verify_chain(
    backend: Arc<dyn StorageBackend>,
    store_id: &[u8; 16],
    mark: Option<AuditMark>,
    progress: &mut dyn FnMut(u64),
) -> Result<AuditVerification> {
    let meta = |key: &[u8]| -> Result<Option<Checkpoint>> {
        Ok(backend
            .get(Keyspace::Meta, key)?
            .map(|b| storage::decode(&b))
            .transpose()?)
    };
    let base = meta(BASE_KEY)?;
    let checkpoint = meta(CHECKPOINT_KEY)?;
    let (mut expected_seq, mut hash) = match base {
        Some(b) => (b.seq + 1, b.hash),
        None => (1, genesis_hash(store_id)),
    };
    let first = expected_seq;
    let mut checked = 0u64;
    let named: Vec<(&str, AuditMark)> = [
        ("the last committed change", mark),
        (
            "the signed checkpoint",
            checkpoint.map(|c| AuditMark {
                seq: c.seq,
                hash: c.hash,
            }),
        ),
    ]
    .into_iter()
    .filter_map(|(what, m)| Some((what, m?)))
    .filter(|(_, m)| m.seq >= first)
    .collect();
    for stored in segment::Entries::new(backend, expected_seq) {
        let (seq, bytes) = stored?;
        let bytes = bytes.as_slice();
        if seq != expected_seq {
            return Err(tampered(
                expected_seq,
                &format!(
                    "entry {expected_seq} is missing (the next is {seq}): entries were removed"
                ),
            ));
        }
        let entry = decode_entry(seq, bytes)?;
        if entry.prev != hash {
            return Err(tampered(
                seq,
                &format!(
                    "entry {seq} does not follow entry {}: one of them was edited, or entries \
                         were inserted, removed or reordered here",
                    seq.saturating_sub(1)
                ),
            ));
        }
        hash = chain_hash(seq, bytes);
        for (what, m) in &named {
            if m.seq == seq && m.hash != hash {
                return Err(tampered(
                    seq,
                    &format!(
                        "the entries through {seq} are not those {what} signed: the chain was \
                             edited and rebuilt"
                    ),
                ));
            }
        }
        checked += 1;
        expected_seq = seq + 1;
        if checked.is_multiple_of(65_536) {
            progress(checked);
        }
    }
    progress(checked);
    let last = expected_seq - 1;
    if let Some((what, m)) = named.iter().find(|(_, m)| m.seq > last) {
        return Err(tampered(
            last + 1,
            &format!(
                "the log ends at entry {last}, but {what} is entry {}: its tail was cut off",
                m.seq
            ),
        ));
    }
    Ok(AuditVerification {
        entries: checked,
        first_seq: (checked > 0).then_some(first),
        last_seq: (checked > 0).then_some(last),
        checkpoint_seq: checkpoint.map(|c| c.seq),
    })
}

fn tampered(seq: u64, reason: &str) -> Error {
    Error::AuditTampered {
        seq,
        reason: reason.to_owned(),
    }
}
