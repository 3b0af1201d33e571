//! How entries are stored: in segments, runs of consecutive entries written together (by one
//! group sync, or ahead of and with a change's entry), each under the sequence number of its
//! last entry. One backend write per sync instead of one per entry: a read's entry costs no
//! write of its own.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::entry::entry_key;
use crate::error::{Error, Result};
use crate::storage::{self, Keyspace, StorageBackend};

/// How many segments a scan reads at once.
const PAGE: usize = 64;

/// A segment as stored (record format 1): the number of its first entry, then each entry's
/// stored bytes.
#[derive(Serialize, Deserialize)]
struct SegmentRecord {
    first_seq: u64,
    entries: Vec<ByteBuf>,
}

impl storage::Plain for SegmentRecord {}

/// The stored form of the entries `first_seq`, `first_seq + 1`, ... (`entries` not empty), and
/// the key it goes under (the last one's number).
pub(crate) fn encode(first_seq: u64, entries: Vec<Vec<u8>>) -> Result<([u8; 8], Vec<u8>)> {
    let count = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    let last = first_seq.saturating_add(count.saturating_sub(1));
    let record = SegmentRecord {
        first_seq,
        entries: entries.into_iter().map(ByteBuf::from).collect(),
    };
    Ok((entry_key(last), storage::encode(&record)?))
}

fn tampered(seq: u64, reason: String) -> Error {
    Error::AuditTampered { seq, reason }
}

/// The entries of the segment stored under `key`, with their numbers.
pub(crate) fn decode(key: &[u8], bytes: &[u8]) -> Result<Run> {
    let last = <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| {
            tampered(
                0,
                "entries are stored under a key that is not a sequence number".into(),
            )
        })?;
    let record: SegmentRecord = storage::decode(bytes).map_err(|e| {
        tampered(
            last,
            format!("the entries up to {last} do not decode ({e}): they were edited"),
        )
    })?;
    let count = u64::try_from(record.entries.len()).unwrap_or(u64::MAX);
    if count == 0 || record.first_seq.checked_add(count - 1) != Some(last) {
        return Err(tampered(
            last,
            format!("the entries stored under {last} are not numbered up to it: they were moved"),
        ));
    }
    Ok((record.first_seq..)
        .zip(record.entries)
        .map(|(seq, b)| (seq, b.into_vec()))
        .collect())
}

/// The stored bytes of entry `seq`, if it is there.
pub(crate) fn get(backend: &dyn StorageBackend, seq: u64) -> Result<Option<Vec<u8>>> {
    let Some((key, bytes)) = backend
        .scan_from(Keyspace::Audit, &entry_key(seq), 1)?
        .pop()
    else {
        return Ok(None);
    };
    Ok(decode(&key, &bytes)?
        .into_iter()
        .find(|(s, _)| *s == seq)
        .map(|(_, b)| b))
}

/// Entries with their numbers, in order.
pub(crate) type Run = Vec<(u64, Vec<u8>)>;

/// The last segment: its key and its entries.
pub(crate) fn last(backend: &dyn StorageBackend) -> Result<Option<(Vec<u8>, Run)>> {
    match backend.last(Keyspace::Audit)? {
        None => Ok(None),
        Some((key, bytes)) => {
            let entries = decode(&key, &bytes)?;
            Ok(Some((key, entries)))
        }
    }
}

/// Every stored entry from `from` on, in order, with its number, read a page of segments at a
/// time.
pub(crate) struct Entries {
    backend: Arc<dyn StorageBackend>,
    from: u64,
    next_key: u64,
    buffered: VecDeque<(u64, Vec<u8>)>,
    done: bool,
}

impl Entries {
    pub(crate) fn new(backend: Arc<dyn StorageBackend>, from: u64) -> Self {
        Self {
            backend,
            from,
            next_key: from,
            buffered: VecDeque::new(),
            done: false,
        }
    }

    fn fill(&mut self) -> Result<()> {
        while self.buffered.is_empty() && !self.done {
            let page = self
                .backend
                .scan_from(Keyspace::Audit, &entry_key(self.next_key), PAGE)?;
            if page.len() < PAGE {
                self.done = true;
            }
            for (key, bytes) in page {
                let entries = decode(&key, &bytes)?;
                if let Some((last, _)) = entries.last() {
                    self.next_key = last.saturating_add(1);
                }
                self.buffered
                    .extend(entries.into_iter().filter(|(s, _)| *s >= self.from));
            }
        }
        Ok(())
    }
}

impl Iterator for Entries {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.fill() {
            self.done = true;
            self.buffered.clear();
            return Some(Err(e));
        }
        self.buffered.pop_front().map(Ok)
    }
}
