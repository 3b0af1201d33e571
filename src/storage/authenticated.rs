//! Authenticated records: a [`StorageBackend`] over another that gives every record a MAC over
//! its keyspace, key and bytes (checked on every read), and binds the store's metadata records
//! into one store-level digest that each commit carries, so that an edited record, a record
//! copied under another key, and a record replaced by an older authentic copy of itself are all
//! integrity errors, never a silently wrong answer. `docs/format.md` gives the layout and the
//! reasoning.
//!
//! Only the key holder can make a MAC: the key is the store's integrity key, wrapped by the key
//! provider (the store module unwraps it and hands it here).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{
    AuditMark, Commit, Entry, Keyspace, StorageBackend, StorageError, WriteBatch, WriteOp,
};

/// The first byte of every authenticated record (store format 3). Bare records number their
/// formats from 1 up; this byte stays out of their way, so the two are never confused.
pub(crate) const FORMAT_AUTHENTICATED: u8 = 0xA1;
/// The flag byte of a record that carries its commit's stamp.
const STAMPED: u8 = 1;
/// The flag byte of a record that carries its commit's stamp with the audit chain's position.
const STAMPED_AUDITED: u8 = 3;
const TAG_LEN: usize = 32;
const STAMP_LEN: usize = 8 + 32;
/// A stamp with the audit chain's position after it: its sequence number and hash.
const AUDITED_STAMP_LEN: usize = STAMP_LEN + 8 + 32;
/// The `Meta` key of the record that carries the stamp of a commit that writes no other
/// metadata record (one that only removes secrets). It is itself outside the digest.
pub(crate) const STAMP_KEY: &[u8] = b"stamp";

type HmacSha256 = Hmac<Sha256>;

/// The 256-bit key records are authenticated under, held as two HMAC states keyed with it,
/// each with its domain already absorbed (cloning one saves the two key-block compressions of
/// every MAC). Wiped on drop (the `zeroize` features of `hmac` and `sha2`), opaque in `Debug`.
pub(crate) struct IntegrityKey {
    record: HmacSha256,
    digest: HmacSha256,
    anchor: HmacSha256,
}

impl IntegrityKey {
    pub(crate) fn new(bytes: &[u8; 32]) -> Self {
        let key = Zeroizing::new(*bytes);
        let keyed = |domain: &[u8]| {
            // HMAC takes a key of any length: this cannot fail.
            let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key[..])
                .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
            mac.update(domain);
            mac
        };
        Self {
            record: keyed(b"strongroom/record\0"),
            digest: keyed(b"strongroom/digest\0"),
            anchor: keyed(b"strongroom/anchor\0"),
        }
    }
}

impl fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntegrityKey(..)")
    }
}

/// Where the store's metadata stands: the number of the last commit that changed it, and the
/// sum (mod 2^256) of a keyed hash of every metadata record; and where the audit chain stood
/// after the last audited change (every later stamp carries it forward).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) generation: u64,
    sum: [u64; 4],
    pub(crate) audit: Option<AuditMark>,
}

impl Stamp {
    fn add(&mut self, element: &[u64; 4]) {
        let mut carry = false;
        for (s, e) in self.sum.iter_mut().zip(element) {
            let (a, c1) = s.overflowing_add(*e);
            let (b, c2) = a.overflowing_add(u64::from(carry));
            *s = b;
            carry = c1 || c2;
        }
    }

    fn subtract(&mut self, element: &[u64; 4]) {
        let mut borrow = false;
        for (s, e) in self.sum.iter_mut().zip(element) {
            let (a, b1) = s.overflowing_sub(*e);
            let (b, b2) = a.overflowing_sub(u64::from(borrow));
            *s = b;
            borrow = b1 || b2;
        }
    }

    /// The flag byte of a record carrying this stamp, and its bytes: generation and sum as
    /// `u64le` words, then, if the audit chain has a position, its sequence number (`u64le`)
    /// and hash.
    fn to_bytes(self) -> (u8, Vec<u8>) {
        let mut out = Vec::with_capacity(AUDITED_STAMP_LEN);
        for w in [self.generation].into_iter().chain(self.sum) {
            out.extend_from_slice(&w.to_le_bytes());
        }
        match self.audit {
            None => (STAMPED, out),
            Some(m) => {
                out.extend_from_slice(&m.seq.to_le_bytes());
                out.extend_from_slice(&m.hash);
                (STAMPED_AUDITED, out)
            }
        }
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (head, audit) = bytes.split_at_checked(STAMP_LEN)?;
        let mut words = head.chunks_exact(8).map(|c| {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            u64::from_le_bytes(w)
        });
        let generation = words.next()?;
        let mut sum = [0u64; 4];
        for s in &mut sum {
            *s = words.next()?;
        }
        let audit = match audit.len() {
            0 => None,
            40 => {
                let (seq, hash) = audit.split_at(8);
                Some(AuditMark {
                    seq: u64::from_le_bytes(seq.try_into().ok()?),
                    hash: hash.try_into().ok()?,
                })
            }
            _ => return None,
        };
        Some(Self {
            generation,
            sum,
            audit,
        })
    }
}

/// Whether records of `keyspace` are stored in the authenticated envelope. Values are not: each
/// is already authenticated twice under keys only the master key opens (its AEAD tag, with the
/// store, ARN, version and kind as associated data; its data key's wrapping, with the key id,
/// store, ARN and version), so a changed or moved value fails to open (`DecryptionFailure`).
/// A second MAC over their ciphertext would double the hashing of every read for nothing.
///
/// Audit entries are not either: each carries the chain hash of the one before it, and the
/// chain is anchored by signed checkpoints (`Meta` records, authenticated) and by the position
/// each commit stamp carries (`docs/format.md`, "Audit log").
pub(crate) fn enveloped(keyspace: Keyspace) -> bool {
    !matches!(keyspace, Keyspace::Values | Keyspace::Audit)
}

/// Whether records of `keyspace` under `key` are bound into the store-level digest: the store's
/// metadata (`Meta`, but the stamp record) and the secrets. Values are written before the
/// commit that makes them reachable and never change afterwards, so there is no older copy of
/// one to restore; access dates are best effort and not synced, so a crash may legitimately
/// lose them.
fn in_digest(keyspace: Keyspace, key: &[u8]) -> bool {
    match keyspace {
        Keyspace::Meta => key != STAMP_KEY,
        Keyspace::Secrets => true,
        Keyspace::Values | Keyspace::Accessed | Keyspace::Audit => false,
    }
}

/// The keyspace's byte in MAC inputs (fixed by the format, whatever the enum's order).
fn code(keyspace: Keyspace) -> u8 {
    match keyspace {
        Keyspace::Meta => 0,
        Keyspace::Secrets => 1,
        Keyspace::Values => 2,
        Keyspace::Accessed => 3,
        Keyspace::Audit => 4,
    }
}

/// Whether `batch` writes a record of the digest.
fn touches_digest(batch: &WriteBatch) -> bool {
    batch.ops().iter().any(|op| in_digest(op.keyspace, &op.key))
}

/// A readable name for a record in an error (keys hold names and ids, never values).
pub(crate) fn describe(keyspace: Keyspace, key: &[u8]) -> String {
    let shown: String = match keyspace {
        Keyspace::Meta | Keyspace::Secrets => String::from_utf8_lossy(key).replace('\0', "/"),
        Keyspace::Values | Keyspace::Accessed => {
            let (uid, rest) = key.split_at(key.len().min(16));
            format!(
                "{}/{}",
                crate::hex::encode(uid),
                String::from_utf8_lossy(rest).trim_start_matches(['\0', '\u{1}'])
            )
        }
        Keyspace::Audit => match <[u8; 8]>::try_from(key) {
            Ok(seq) => format!("entry {}", u64::from_be_bytes(seq)),
            Err(_) => crate::hex::encode(key),
        },
    };
    let shown: String = shown.chars().take(120).collect();
    format!("{} record '{shown}'", keyspace.name())
}

fn integrity(message: String) -> StorageError {
    StorageError::Integrity(message)
}

/// The MAC input's fixed prefix: domain, keyspace and length-prefixed key.
fn mac_for(key: &IntegrityKey, keyspace: Keyspace, k: &[u8]) -> HmacSha256 {
    let mut mac = key.record.clone();
    mac.update(&[code(keyspace)]);
    mac.update(&(k.len() as u64).to_le_bytes());
    mac.update(k);
    mac
}

/// The stored form of the bare record `inner` under `keyspace`/`k`, carrying `stamp` if given.
pub(crate) fn seal(
    key: &IntegrityKey,
    keyspace: Keyspace,
    k: &[u8],
    inner: &[u8],
    stamp: Option<Stamp>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + STAMP_LEN + inner.len() + TAG_LEN);
    out.push(FORMAT_AUTHENTICATED);
    match stamp {
        Some(s) => {
            let (flags, bytes) = s.to_bytes();
            out.push(flags);
            out.extend_from_slice(&bytes);
        }
        None => out.push(0),
    }
    out.extend_from_slice(inner);
    let mut mac = mac_for(key, keyspace, k);
    mac.update(&out);
    out.extend_from_slice(&mac.finalize().into_bytes());
    out
}

/// An authenticated record taken apart, not yet checked: its stamp, bare record and tag.
pub(crate) struct Parts<'a> {
    pub(crate) stamp: Option<Stamp>,
    pub(crate) inner: &'a [u8],
    signed: &'a [u8],
    tag: &'a [u8],
}

/// Takes an authenticated record apart without checking its MAC: for what is read before the
/// key is known (the store id, the integrity key's wrapping, the master key ids), each then
/// checked once the key is unwrapped. `None` if `bytes` is not an authenticated record.
pub(crate) fn parts(bytes: &[u8]) -> Option<Parts<'_>> {
    let body_len = bytes.len().checked_sub(TAG_LEN)?;
    let (signed, tag) = bytes.split_at(body_len);
    let (&format, rest) = signed.split_first()?;
    if format != FORMAT_AUTHENTICATED {
        return None;
    }
    let (&flags, rest) = rest.split_first()?;
    let stamp_len = match flags {
        0 => 0,
        STAMPED => STAMP_LEN,
        STAMPED_AUDITED => AUDITED_STAMP_LEN,
        _ => return None,
    };
    let (s, inner) = rest.split_at_checked(stamp_len)?;
    let stamp = if stamp_len == 0 {
        None
    } else {
        Some(Stamp::from_bytes(s)?)
    };
    Some(Parts {
        stamp,
        inner,
        signed,
        tag,
    })
}

/// Checks the MAC of a stored record: its parts, or an integrity error naming the record.
pub(crate) fn open<'a>(
    key: &IntegrityKey,
    keyspace: Keyspace,
    k: &[u8],
    bytes: &'a [u8],
) -> Result<Parts<'a>, StorageError> {
    let Some(p) = parts(bytes) else {
        return Err(integrity(format!(
            "{} is not an authenticated record",
            describe(keyspace, k)
        )));
    };
    let mut mac = mac_for(key, keyspace, k);
    mac.update(p.signed);
    // `verify_slice` compares in constant time.
    mac.verify_slice(p.tag).map_err(|_| {
        integrity(format!(
            "{} fails its MAC: it was changed, or copied from another key or store",
            describe(keyspace, k)
        ))
    })?;
    Ok(p)
}

/// The keyed hash of one metadata record, as a 256-bit number (the digest is their sum).
fn element(key: &IntegrityKey, keyspace: Keyspace, k: &[u8], inner: &[u8]) -> [u64; 4] {
    let mut mac = key.digest.clone();
    mac.update(&[code(keyspace)]);
    mac.update(&(k.len() as u64).to_le_bytes());
    mac.update(k);
    mac.update(inner);
    let bytes = mac.finalize().into_bytes();
    let mut out = [0u64; 4];
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        *o = u64::from_le_bytes(w);
    }
    out
}

/// Checks every metadata record of `backend`: its MAC, and that together they are exactly what
/// the latest commit stamp says. Returns that stamp (the default for a store with none).
pub(crate) fn verify_store(
    backend: &dyn StorageBackend,
    key: &IntegrityKey,
) -> Result<Stamp, StorageError> {
    let mut sum = Stamp::default();
    let mut latest: Option<Stamp> = None;
    let mut records = 0usize;
    for keyspace in [Keyspace::Meta, Keyspace::Secrets] {
        for (k, bytes) in backend.scan_prefix(keyspace, b"")? {
            let p = open(key, keyspace, &k, &bytes)?;
            if let Some(s) = p.stamp {
                match latest {
                    Some(l) if l.generation == s.generation && l != s => {
                        // One commit writes one stamp: two different ones of the same number
                        // come from two histories mixed together.
                        return Err(integrity(format!(
                            "two records carry different stamps of commit number {}: the \
                             store's records come from more than one history",
                            s.generation
                        )));
                    }
                    Some(l) if l.generation >= s.generation => {}
                    _ => latest = Some(s),
                }
            }
            if in_digest(keyspace, &k) {
                sum.add(&element(key, keyspace, &k, p.inner));
                records += 1;
            }
        }
    }
    let Some(latest) = latest else {
        if records == 0 {
            return Ok(Stamp::default());
        }
        return Err(integrity(
            "no record carries a commit stamp: the store's metadata was replaced".into(),
        ));
    };
    if latest.sum != sum.sum {
        return Err(integrity(format!(
            "the store's records are not those its last commit (number {}) left: a record was \
             rolled back to an older copy, removed or added outside the store",
            latest.generation
        )));
    }
    Ok(latest)
}

/// A backend whose records are authenticated (see the module documentation).
pub(crate) struct Authenticated {
    inner: Arc<dyn StorageBackend>,
    key: IntegrityKey,
    /// The stamp of the last commit that reached `inner`. Held during every stamped write.
    stamp: Mutex<Stamp>,
}

impl Authenticated {
    /// Over `inner`, whose metadata was verified (or written) to be at `stamp`.
    pub(crate) fn new(inner: Arc<dyn StorageBackend>, key: IntegrityKey, stamp: Stamp) -> Self {
        Self {
            inner,
            key,
            stamp: Mutex::new(stamp),
        }
    }

    /// The bare record inside the stored `bytes`, checked, in the same allocation.
    fn open_value(
        &self,
        keyspace: Keyspace,
        k: &[u8],
        mut bytes: Vec<u8>,
    ) -> Result<Vec<u8>, StorageError> {
        let p = open(&self.key, keyspace, k, &bytes)?;
        let end = bytes.len() - TAG_LEN;
        let start = end - p.inner.len();
        bytes.truncate(end);
        bytes.drain(..start);
        Ok(bytes)
    }

    /// Scanned entries of `keyspace`, checked and opened (without the `stamp` record).
    fn open_scanned(
        &self,
        keyspace: Keyspace,
        scanned: Vec<Entry>,
    ) -> Result<Vec<Entry>, StorageError> {
        if !enveloped(keyspace) {
            return Ok(scanned);
        }
        scanned
            .into_iter()
            .filter(|(k, _)| !(keyspace == Keyspace::Meta && k == STAMP_KEY))
            .map(|(k, bytes)| {
                let v = self.open_value(keyspace, &k, bytes)?;
                Ok((k, v))
            })
            .collect()
    }

    /// The stored form of `change`, and the stamp after it. `from` is the stamp before it;
    /// with `fresh`, the change writes every metadata record of a store with none yet (the
    /// first open, or the upgrade of a store written before records were authenticated).
    fn stamp(
        &self,
        change: &Commit,
        from: Stamp,
        fresh: bool,
    ) -> Result<(Commit, Stamp), StorageError> {
        for op in change.prepare.ops().iter().chain(change.cleanup.ops()) {
            if in_digest(op.keyspace, &op.key) {
                return Err(StorageError::Backend(format!(
                    "{} is written outside the visible stage of its change",
                    describe(op.keyspace, &op.key)
                )));
            }
        }
        let ops = change.commit.ops();
        let digest_ops: Vec<usize> = (0..ops.len())
            .filter(|i| {
                ops.get(*i)
                    .is_some_and(|op| in_digest(op.keyspace, &op.key))
            })
            .collect();
        let mut next = from;
        let mut carrier = None;
        let mut extra = WriteBatch::new();
        // An audited change is stamped even if it writes no metadata record (its stamp then
        // rides the `stamp` record), so that its audit entry is known to have committed.
        if !digest_ops.is_empty() || change.audit.is_some() {
            next.generation = from.generation.saturating_add(1);
            if change.audit.is_some() {
                next.audit = change.audit;
            }
            let mut done: HashSet<(Keyspace, &[u8])> = HashSet::new();
            for op in digest_ops.iter().rev().filter_map(|i| ops.get(*i)) {
                // The last write to a key is the one that stays.
                if !done.insert((op.keyspace, op.key.as_slice())) {
                    continue;
                }
                if !fresh && let Some(old) = self.inner.get(op.keyspace, &op.key)? {
                    // The engine read this record through the checked path a moment ago, under
                    // the writer lock; its tag is not checked a second time. A copy changed in
                    // between still leaves the digest short of the records that are actually
                    // there (its element is not the one the stamp counted), which the next
                    // check reports.
                    let Some(p) = parts(&old) else {
                        return Err(integrity(format!(
                            "{} is not an authenticated record",
                            describe(op.keyspace, &op.key)
                        )));
                    };
                    next.subtract(&element(&self.key, op.keyspace, &op.key, p.inner));
                }
                if let Some(v) = &op.value {
                    next.add(&element(&self.key, op.keyspace, &op.key, v));
                }
            }
            // The stamp rides on a put that stays: the last write to its key in this batch.
            carrier = digest_ops
                .iter()
                .rev()
                .find(|i| {
                    ops.get(**i).is_some_and(|op| {
                        op.value.is_some()
                            && !ops
                                .iter()
                                .skip(**i + 1)
                                .any(|later| later.keyspace == op.keyspace && later.key == op.key)
                    })
                })
                .copied();
            if carrier.is_none() {
                extra.put(Keyspace::Meta, STAMP_KEY.to_vec(), Vec::new());
            }
        }
        let seal_batch = |batch: &WriteBatch, carrier: Option<usize>| {
            let mut out = WriteBatch::new();
            for (i, op) in batch.ops().iter().enumerate() {
                self.push_sealed(&mut out, op, (carrier == Some(i)).then_some(next));
            }
            out
        };
        let mut commit = seal_batch(&change.commit, carrier);
        for op in extra.ops() {
            self.push_sealed(&mut commit, op, Some(next));
        }
        Ok((
            Commit {
                prepare: seal_batch(&change.prepare, None),
                commit,
                cleanup: seal_batch(&change.cleanup, None),
                audit: change.audit,
            },
            next,
        ))
    }

    fn push_sealed(&self, out: &mut WriteBatch, op: &WriteOp, stamp: Option<Stamp>) {
        match &op.value {
            Some(v) if !enveloped(op.keyspace) => out.put(op.keyspace, op.key.clone(), v.clone()),
            Some(v) => out.put(
                op.keyspace,
                op.key.clone(),
                seal(&self.key, op.keyspace, &op.key, v, stamp),
            ),
            None => out.delete(op.keyspace, op.key.clone()),
        }
    }

    /// Checks every metadata record of the store against the stamp of the last commit this
    /// backend wrote (see [`verify_store`]); holds off writes meanwhile.
    pub(crate) fn verify(&self) -> Result<(), StorageError> {
        let stamp = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
        let found = verify_store(&*self.inner, &self.key)?;
        if found != *stamp {
            return Err(integrity(format!(
                "the store's last commit is number {}, but the last this process wrote is \
                 number {}: the store was rolled back or written outside this process",
                found.generation, stamp.generation
            )));
        }
        Ok(())
    }

    /// The tag of an audit anchor's contents (an HMAC under the integrity key, its own domain).
    pub(crate) fn anchor_tag(&self, contents: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.key.anchor.clone();
        mac.update(contents);
        mac.finalize().into_bytes().into()
    }

    /// Where the audit chain stood after the last committed change, as the last stamp says.
    pub(crate) fn audit_mark(&self) -> Option<AuditMark> {
        self.stamp.lock().unwrap_or_else(|p| p.into_inner()).audit
    }

    /// Writes a whole store's metadata for the first time (see [`Authenticated::stamp`]).
    pub(crate) fn commit_fresh(&self, change: &Commit) -> Result<(), StorageError> {
        let mut stamp = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
        let (sealed, next) = self.stamp(change, Stamp::default(), true)?;
        self.inner.commit(&sealed)?;
        *stamp = next;
        Ok(())
    }
}

impl StorageBackend for Authenticated {
    fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.inner.get(keyspace, key)? {
            Some(bytes) if enveloped(keyspace) => Ok(Some(self.open_value(keyspace, key, bytes)?)),
            other => Ok(other),
        }
    }

    fn scan_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        self.open_scanned(keyspace, self.inner.scan_prefix(keyspace, prefix)?)
    }

    fn scan_from(
        &self,
        keyspace: Keyspace,
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StorageError> {
        self.open_scanned(keyspace, self.inner.scan_from(keyspace, start, limit)?)
    }

    fn last(&self, keyspace: Keyspace) -> Result<Option<Entry>, StorageError> {
        if enveloped(keyspace) {
            // Not needed for authenticated keyspaces: the default, through the checked scan.
            return Ok(self.scan_prefix(keyspace, b"")?.pop());
        }
        self.inner.last(keyspace)
    }

    /// The keys alone are not authenticated: this is for removing what they name (a record
    /// that fails its MAC is unreadable either way).
    fn scan_keys(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StorageError> {
        let mut keys = self.inner.scan_keys(keyspace, prefix)?;
        keys.retain(|k| !(keyspace == Keyspace::Meta && k == STAMP_KEY));
        Ok(keys)
    }

    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        if !touches_digest(batch) {
            // Not stamped: the audit position (`from`'s) is not needed.
            let (sealed, _) =
                self.stamp(&Commit::visible(batch.clone()), Stamp::default(), true)?;
            return self.inner.apply(&sealed.commit);
        }
        let mut stamp = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
        let (sealed, next) = self.stamp(&Commit::visible(batch.clone()), *stamp, false)?;
        self.inner.apply(&sealed.commit)?;
        *stamp = next;
        Ok(())
    }

    fn sync(&self) -> Result<(), StorageError> {
        self.inner.sync()
    }

    fn commit(&self, change: &Commit) -> Result<(), StorageError> {
        // A change of values and access dates alone leaves the digest as it is: it neither
        // waits for nor holds the stamp (a read noting its access date never waits on a commit).
        if !touches_digest(&change.commit) && change.audit.is_none() {
            let (sealed, _) = self.stamp(change, Stamp::default(), true)?;
            return self.inner.commit(&sealed);
        }
        let mut stamp = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
        let (sealed, next) = self.stamp(change, *stamp, false)?;
        self.inner.commit(&sealed)?;
        *stamp = next;
        Ok(())
    }
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> IntegrityKey {
        IntegrityKey::new(&[n; 32])
    }

    #[test]
    fn a_sealed_record_opens_only_under_its_key_keyspace_and_storage_key() {
        let stamp = Stamp {
            generation: 7,
            sum: [1, 2, 3, u64::MAX],
            audit: None,
        };
        let audited = Stamp {
            audit: Some(AuditMark {
                seq: 12,
                hash: [9; 32],
            }),
            ..stamp
        };
        for s in [None, Some(stamp), Some(audited)] {
            let bytes = seal(&key(1), Keyspace::Secrets, b"k", b"\x02body", s);
            let p = open(&key(1), Keyspace::Secrets, b"k", &bytes).unwrap();
            assert_eq!((p.inner, p.stamp), (&b"\x02body"[..], s));
            for (k, ks, sk) in [
                (key(2), Keyspace::Secrets, &b"k"[..]),
                (key(1), Keyspace::Meta, b"k"),
                (key(1), Keyspace::Secrets, b"k2"),
            ] {
                assert!(matches!(
                    open(&k, ks, sk, &bytes),
                    Err(StorageError::Integrity(_))
                ));
            }
            for i in 0..bytes.len() {
                let mut bad = bytes.clone();
                if let Some(b) = bad.get_mut(i) {
                    *b ^= 0x40;
                }
                assert!(
                    open(&key(1), Keyspace::Secrets, b"k", &bad).is_err(),
                    "byte {i}"
                );
            }
            for n in 0..bytes.len() {
                let short = bytes.get(..n).unwrap_or_default();
                assert!(
                    open(&key(1), Keyspace::Secrets, b"k", short).is_err(),
                    "{n} bytes"
                );
            }
        }
        assert!(parts(b"\x01plain record, not authenticated, at least 32 bytes long").is_none());
    }

    #[test]
    fn the_digest_is_a_sum_that_subtracting_undoes() {
        let k = key(3);
        let a = element(&k, Keyspace::Secrets, b"a", b"one");
        let b = element(&k, Keyspace::Secrets, b"b", b"two");
        assert_ne!(a, element(&k, Keyspace::Secrets, b"a", b"one!"));
        assert_ne!(a, element(&k, Keyspace::Meta, b"a", b"one"));
        assert_ne!(a, element(&key(4), Keyspace::Secrets, b"a", b"one"));
        let mut s = Stamp::default();
        s.add(&a);
        s.add(&b);
        let mut other_order = Stamp::default();
        other_order.add(&b);
        other_order.add(&a);
        assert_eq!(s, other_order);
        s.subtract(&a);
        let mut only_b = Stamp::default();
        only_b.add(&b);
        assert_eq!(s, only_b);
        // Carries cross every limb and wrap around 2^256.
        let mut m = Stamp {
            generation: 0,
            sum: [u64::MAX; 4],
            audit: None,
        };
        m.add(&[1, 0, 0, 0]);
        assert_eq!(m.sum, [0; 4]);
        m.subtract(&[1, 0, 0, 0]);
        assert_eq!(m.sum, [u64::MAX; 4]);
        assert_eq!(Stamp::from_bytes(&m.to_bytes().1), Some(m));
        m.audit = Some(AuditMark {
            seq: u64::MAX,
            hash: [7; 32],
        });
        let (flags, bytes) = m.to_bytes();
        assert_eq!((flags, bytes.len()), (STAMPED_AUDITED, AUDITED_STAMP_LEN));
        assert_eq!(Stamp::from_bytes(&bytes), Some(m));
    }
}
