//! The log itself: its head (the next sequence number and the chain hash so far), appends that
//! fail closed within a deadline, group syncs that write the signed checkpoint, and the open
//! that removes the entry of a change that did not commit.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::entry::{StoredEntry, chain_hash, entry_key, genesis_hash};
use super::segment;
use crate::clock::{self, Clock, monotonic_now};
use crate::error::{Error, Result};
use crate::storage::{self, AuditMark, Commit, Keyspace, StorageBackend, WriteBatch};

/// When a read's entry must be on disk before the read returns its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditMode {
    /// Every entry is appended (in order, with its sequence number) before its call returns,
    /// and is made durable by the next group sync, at most [`AuditSettings::sync_interval`]
    /// later. A change's entry is always durable with the change. A crash can lose the entries
    /// of reads, refusals and failures of the last interval, never a change's.
    #[default]
    Buffered,
    /// Every call returns only once its entry is durable; concurrent calls share one sync.
    Strict,
    /// No audit log at all. Only for embedders who ask for it: nothing records who read what.
    Off,
}

/// How the store's audit log behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditSettings {
    /// When entries reach the disk.
    pub mode: AuditMode,
    /// How long a call may wait for the log (to append its entry, or, in strict mode, for it to
    /// be durable) before it fails with [`Error::AuditUnavailable`] and answers nothing.
    pub deadline: Duration,
    /// How often buffered entries are made durable (and a signed checkpoint written).
    pub sync_interval: Duration,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            mode: AuditMode::Buffered,
            deadline: Duration::from_secs(1),
            sync_interval: Duration::from_millis(100),
        }
    }
}

impl AuditSettings {
    /// The default settings in `mode`.
    pub fn with_mode(mode: AuditMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }
}

/// The `Meta` key of the signed checkpoint: the newest durable position of the chain.
pub(crate) const CHECKPOINT_KEY: &[u8] = b"audit-head";
/// The `Meta` key of the retention base: the position just before the oldest kept entry.
pub(crate) const BASE_KEY: &[u8] = b"audit-base";

/// A position of the chain, signed as every `Meta` record is (its MAC under the store's
/// integrity key, and the store digest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) seq: u64,
    pub(crate) hash: [u8; 32],
    pub(crate) time_ms: u64,
}

impl storage::Plain for Checkpoint {}

struct Head {
    next_seq: u64,
    last_hash: [u8; 32],
    /// Someone is appending (or committing a change with its entry).
    busy: bool,
    /// Why the log cannot be written any more (it then refuses every call until reopened).
    failed: Option<String>,
    /// Entries appended but not yet handed to the backend, in order: the log's tail in memory.
    /// (A backend write that is not synced is no more durable than this: a crash loses both.)
    pending: Vec<(u64, Vec<u8>)>,
    /// A sync took the pending entries and is writing them: a change's commit waits for it, so
    /// that entries reach the backend in order.
    draining: bool,
}

/// Appended entries kept in memory before a call waits for a sync to write them.
const MAX_PENDING: usize = 65_536;

struct Durable {
    /// Every entry below this is durable.
    below: u64,
    /// A sync is running.
    syncing: bool,
}

/// A copy of the newest signed position of the chain kept outside the store's folder, so that
/// a rollback of the whole folder to an older copy is refused at open (`docs/format.md`).
pub(crate) struct Anchor {
    pub(crate) path: std::path::PathBuf,
    pub(crate) signer: Arc<storage::Authenticated>,
}

impl Anchor {
    /// The anchor's text for position `seq`/`hash` of store `store_id`.
    fn text(&self, store_id: &[u8; 16], seq: u64, hash: &[u8; 32]) -> String {
        let body = format!(
            "strongroom-audit-anchor 1 {} {seq} {}",
            crate::hex::encode(store_id),
            crate::hex::encode(hash)
        );
        let tag = self.signer.anchor_tag(body.as_bytes());
        format!("{body} {}\n", crate::hex::encode(&tag))
    }

    /// Writes the anchor for `seq`/`hash`: a new file, synced, renamed over the old one, and
    /// the folder synced.
    fn write(&self, store_id: &[u8; 16], seq: u64, hash: &[u8; 32]) -> std::io::Result<()> {
        use std::io::Write as _;
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(self.text(store_id, seq, hash).as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// The position the anchor names, checked: `None` if there is no anchor yet.
    fn read(&self, store_id: &[u8; 16]) -> Result<Option<(u64, [u8; 32])>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::AuditUnavailable(format!(
                    "cannot read the audit anchor {}: {e}",
                    self.path.display()
                )));
            }
        };
        let bad = |why: &str| Error::AuditTampered {
            seq: 0,
            reason: format!("the audit anchor {} {why}", self.path.display()),
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let [magic, version, id, seq, hash, _tag] = words.as_slice() else {
            return Err(bad("is not an anchor"));
        };
        if *magic != "strongroom-audit-anchor" || *version != "1" {
            return Err(bad("is not an anchor"));
        }
        if *id != crate::hex::encode(store_id) {
            return Err(bad("belongs to another store"));
        }
        let seq: u64 = seq.parse().map_err(|_| bad("is not an anchor"))?;
        let hash: [u8; 32] = crate::hex::decode(hash)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| bad("is not an anchor"))?;
        // Compared whole, in constant time: the text this store would have written.
        let expected = self.text(store_id, seq, &hash);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.trim_end().as_bytes(),
            text.trim_end().as_bytes(),
        )) {
            return Err(bad(
                "fails its MAC: it was not written by this store, or was edited",
            ));
        }
        Ok(Some((seq, hash)))
    }
}

/// The audit log of one open store.
pub(crate) struct AuditLog {
    backend: Arc<dyn StorageBackend>,
    anchor: Option<Anchor>,
    /// The store the log belongs to (its anchor names it).
    store_id: [u8; 16],
    /// The last position written to the anchor.
    anchored: Mutex<u64>,
    clock: Arc<dyn Clock>,
    settings: AuditSettings,
    head: Mutex<Head>,
    head_free: Condvar,
    durable: Mutex<Durable>,
    durable_changed: Condvar,
    stop: Arc<(Mutex<bool>, Condvar)>,
    syncer: Mutex<Option<JoinHandle<()>>>,
}

/// The head, held for one append or one change's commit.
pub(crate) struct HeadGuard<'a> {
    log: &'a AuditLog,
    next_seq: u64,
    last_hash: [u8; 32],
}

impl HeadGuard<'_> {
    /// `entry` chained at the head: its stored bytes and position.
    pub(crate) fn chain(&self, mut entry: StoredEntry) -> Result<(Vec<u8>, AuditMark)> {
        entry.prev = self.last_hash;
        let bytes = entry.encode()?;
        let mark = AuditMark {
            seq: self.next_seq,
            hash: chain_hash(self.next_seq, &bytes),
        };
        Ok((bytes, mark))
    }

    /// The entry at `mark` is in the log.
    pub(crate) fn advance(&mut self, mark: AuditMark) {
        self.next_seq = mark.seq + 1;
        self.last_hash = mark.hash;
        let mut head = self.log.lock_head();
        head.next_seq = self.next_seq;
        head.last_hash = self.last_hash;
    }
}

impl Drop for HeadGuard<'_> {
    fn drop(&mut self) {
        let mut head = self.log.lock_head();
        head.busy = false;
        drop(head);
        // Appenders wait for the head, committers also for a sync's writes: wake both kinds.
        self.log.head_free.notify_all();
    }
}

/// What an open store holds of its audit log: the log, or nothing when it is off.
pub(crate) type AuditHandle = Option<Arc<AuditLog>>;

impl AuditLog {
    /// Opens the log of a store whose last commit stamp says the chain stood at `mark` after
    /// the last committed change. An entry after it that records a change can only be that of
    /// a change that did not commit (the head is held for the whole of a change's commit, so
    /// nothing follows it): it is removed. Checks that the entries the stamp, the signed
    /// checkpoint and the retention base name are there, as they were.
    pub(crate) fn open(
        backend: Arc<dyn StorageBackend>,
        store_id: [u8; 16],
        mark: Option<AuditMark>,
        settings: AuditSettings,
        clock: Arc<dyn Clock>,
        anchor: Option<Anchor>,
    ) -> Result<Arc<Self>> {
        let base: Option<Checkpoint> = read_meta(&*backend, BASE_KEY)?;
        let checkpoint: Option<Checkpoint> = read_meta(&*backend, CHECKPOINT_KEY)?;
        let mut last = last_entry(&*backend)?;
        if let Some((seq, entry, _)) = &last
            && entry.change
            && mark.is_none_or(|m| m.seq < *seq)
        {
            // The change's segment holds the entries appended before it too: keep those.
            let seq = *seq;
            let mut batch = WriteBatch::new();
            batch.delete(Keyspace::Audit, entry_key(seq).to_vec());
            if let Some((_, entries)) = segment::last(&*backend)? {
                let kept: Vec<(u64, Vec<u8>)> =
                    entries.into_iter().filter(|(s, _)| *s < seq).collect();
                if let Some((first, _)) = kept.first() {
                    let first = *first;
                    let (key, bytes) =
                        segment::encode(first, kept.into_iter().map(|(_, b)| b).collect())?;
                    batch.put(Keyspace::Audit, key.to_vec(), bytes);
                }
            }
            // Both at once (the removal and the earlier entries under their new key), synced.
            backend.apply(&batch)?;
            backend.sync()?;
            last = last_entry(&*backend)?;
        }
        let (next_seq, last_hash) = match &last {
            Some((seq, _, hash)) => (seq + 1, *hash),
            None => match base {
                Some(b) => (b.seq + 1, b.hash),
                None => (1, genesis_hash(&store_id)),
            },
        };
        for (what, at) in [
            ("last committed change", mark),
            (
                "signed checkpoint",
                checkpoint.map(|c| AuditMark {
                    seq: c.seq,
                    hash: c.hash,
                }),
            ),
        ] {
            let Some(at) = at else { continue };
            if base.is_some_and(|b| at.seq <= b.seq) {
                continue;
            }
            if at.seq >= next_seq {
                return Err(Error::AuditTampered {
                    seq: next_seq,
                    reason: format!(
                        "the log ends at entry {}, but the store's {what} is entry {}: its tail was cut off",
                        next_seq - 1,
                        at.seq
                    ),
                });
            }
            match get_entry(&*backend, at.seq)? {
                Some((_, hash)) if hash == at.hash => {}
                _ => {
                    return Err(Error::AuditTampered {
                        seq: at.seq,
                        reason: format!(
                            "entry {} is not the one the store's {what} names: it was edited, or the log was rebuilt",
                            at.seq
                        ),
                    });
                }
            }
        }
        let mut anchored = 0;
        if let Some(a) = &anchor
            && let Some((seq, hash)) = a.read(&store_id)?
        {
            if seq >= next_seq {
                return Err(Error::AuditTampered {
                    seq: next_seq,
                    reason: format!(
                        "the log ends at entry {}, but the audit anchor {} says entry {seq} was \
                         written: the store was rolled back to an older copy",
                        next_seq - 1,
                        a.path.display()
                    ),
                });
            }
            match get_entry(&*backend, seq)? {
                Some((_, h)) if h == hash => {}
                _ => {
                    return Err(Error::AuditTampered {
                        seq,
                        reason: format!(
                            "entry {seq} is not the one the audit anchor {} names: the store \
                             was replaced by another copy",
                            a.path.display()
                        ),
                    });
                }
            }
            anchored = seq;
        }
        let log = Arc::new(Self {
            backend,
            anchor,
            store_id,
            anchored: Mutex::new(anchored),
            clock,
            settings,
            head: Mutex::new(Head {
                next_seq,
                last_hash,
                busy: false,
                failed: None,
                pending: Vec::new(),
                draining: false,
            }),
            head_free: Condvar::new(),
            durable: Mutex::new(Durable {
                below: next_seq,
                syncing: false,
            }),
            durable_changed: Condvar::new(),
            stop: Arc::new((Mutex::new(false), Condvar::new())),
            syncer: Mutex::new(None),
        });
        if settings.mode == AuditMode::Buffered {
            let handle = spawn_syncer(
                Arc::downgrade(&log),
                log.stop.clone(),
                settings.sync_interval,
            )?;
            *log.syncer.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
        Ok(log)
    }

    fn lock_head(&self) -> MutexGuard<'_, Head> {
        self.head.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why the log refuses every call, if it does.
    pub(crate) fn failure(&self) -> Option<String> {
        self.lock_head().failed.clone()
    }

    fn fail(&self, why: String) -> Error {
        let mut head = self.lock_head();
        if head.failed.is_none() {
            head.failed = Some(why.clone());
        }
        Error::AuditUnavailable(why)
    }

    /// Takes the head, waiting until `deadline` at most (for ever without one); with
    /// `undrained`, also until no sync is still writing the entries it took.
    fn acquire_when(&self, deadline: Option<Instant>, undrained: bool) -> Result<HeadGuard<'_>> {
        let mut head = self.lock_head();
        loop {
            if let Some(why) = &head.failed {
                return Err(Error::AuditUnavailable(why.clone()));
            }
            if !(head.busy || (undrained && head.draining)) {
                break;
            }
            head = match deadline {
                None => self.head_free.wait(head).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(monotonic_now());
                    if left.is_zero() {
                        return Err(Error::AuditUnavailable(format!(
                            "the log did not take the entry within {} ms",
                            self.settings.deadline.as_millis()
                        )));
                    }
                    self.head_free
                        .wait_timeout(head, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        head.busy = true;
        Ok(HeadGuard {
            log: self,
            next_seq: head.next_seq,
            last_hash: head.last_hash,
        })
    }

    /// Takes the head, waiting until `deadline` at most.
    pub(crate) fn acquire(&self, deadline: Instant) -> Result<HeadGuard<'_>> {
        self.acquire_when(Some(deadline), false)
    }

    /// The deadline of a call starting now.
    pub(crate) fn deadline(&self) -> Instant {
        monotonic_now() + self.settings.deadline
    }

    /// Appends `entry` (not a change's) before the call returns; in strict mode, waits until it
    /// is durable. Its sequence number.
    pub(crate) fn append(&self, entry: StoredEntry) -> Result<u64> {
        let deadline = self.deadline();
        let mut head = self.acquire(deadline)?;
        let (bytes, mark) = head.chain(entry)?;
        let backlog = {
            let mut h = self.lock_head();
            h.pending.push((mark.seq, bytes));
            h.pending.len()
        };
        head.advance(mark);
        drop(head);
        super::count_written();
        if self.settings.mode == AuditMode::Strict || backlog >= MAX_PENDING {
            self.sync_through(mark.seq, Some(deadline))?;
        }
        Ok(mark.seq)
    }

    /// Commits `change` with `entry` as its audit entry, written in its `prepare` stage, its
    /// position carried by the commit. The head is held throughout, so no entry follows one
    /// whose change has not committed.
    pub(crate) fn commit_change(&self, change: &mut Commit, entry: StoredEntry) -> Result<()> {
        let mut head = self.acquire_when(Some(self.deadline()), true)?;
        let (bytes, mark) = head.chain(entry)?;
        // From here until the commit returns, the pending entries exist only in this call: if
        // it is cut short (an error, a panic caught above), the log stops writing rather than
        // number entries again over a hole.
        let mut guard = Unfinished::new(self, "a change's commit");
        // The entries appended before it go first, in the same segment.
        let mut entries = std::mem::take(&mut self.lock_head().pending);
        entries.push((mark.seq, bytes));
        let first = entries.first().map_or(mark.seq, |(s, _)| *s);
        let (key, segment) = segment::encode(first, entries.into_iter().map(|(_, b)| b).collect())?;
        // Prepared writes are unread until the commit lands: their order does not matter.
        change.prepare.put(Keyspace::Audit, key.to_vec(), segment);
        change.audit = Some(mark);
        if let Err(e) = self.backend.commit(change) {
            // What reached the disk is unknown: the log writes nothing more (no sync, no
            // checkpoint) until the store is reopened, which sorts it out.
            let _failed = self.fail(format!("a commit failed: {}", chain(&e)));
            return Err(e.into());
        }
        guard.done();
        head.advance(mark);
        drop(head);
        super::count_written();
        // The commit synced everything appended before it.
        let mut durable = self.lock_durable();
        durable.below = durable.below.max(mark.seq + 1);
        drop(durable);
        self.durable_changed.notify_all();
        Ok(())
    }

    fn lock_durable(&self) -> MutexGuard<'_, Durable> {
        self.durable.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes every entry through `seq` durable: by a sync this call runs, or by one another
    /// call is running (one sync serves every caller waiting at the time).
    pub(crate) fn sync_through(&self, seq: u64, deadline: Option<Instant>) -> Result<()> {
        let mut durable = self.lock_durable();
        loop {
            if durable.below > seq {
                return Ok(());
            }
            if let Some(why) = self.failure() {
                return Err(Error::AuditUnavailable(why));
            }
            if !durable.syncing {
                break;
            }
            durable = match deadline {
                None => self
                    .durable_changed
                    .wait(durable)
                    .unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(monotonic_now());
                    if left.is_zero() {
                        return Err(Error::AuditUnavailable(format!(
                            "entry {seq} was not made durable within {} ms",
                            self.settings.deadline.as_millis()
                        )));
                    }
                    self.durable_changed
                        .wait_timeout(durable, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        durable.syncing = true;
        drop(durable);
        let result = self.checkpoint();
        let mut durable = self.lock_durable();
        durable.syncing = false;
        if let Ok(through) = &result {
            durable.below = durable.below.max(through + 1);
        }
        drop(durable);
        self.durable_changed.notify_all();
        match result {
            Ok(through) if through >= seq => Ok(()),
            Ok(_) => self.sync_through(seq, deadline),
            Err(e) => Err(e),
        }
    }

    /// Makes every appended entry durable: writes the pending entries and the signed
    /// checkpoint of the head in one commit. Returns the sequence number it reaches.
    fn checkpoint(&self) -> Result<u64> {
        let head = self.acquire_when(None, false)?;
        let mut guard = Unfinished::new(self, "a sync");
        let (seq, hash, entries) = {
            let mut h = self.lock_head();
            h.draining = true;
            (
                head.next_seq - 1,
                head.last_hash,
                std::mem::take(&mut h.pending),
            )
        };
        drop(head);
        let record = Checkpoint {
            seq,
            hash,
            time_ms: clock::to_millis(self.clock.now()),
        };
        let mut change = Commit::default();
        let result = match entries.first() {
            None => Ok(()),
            Some((first, _)) => {
                let first = *first;
                segment::encode(first, entries.into_iter().map(|(_, b)| b).collect())
                    .map(|(key, bytes)| change.prepare.put(Keyspace::Audit, key.to_vec(), bytes))
            }
        };
        let result = result
            .and_then(|()| storage::encode(&record).map_err(Error::from))
            .and_then(|r| {
                change
                    .commit
                    .put(Keyspace::Meta, CHECKPOINT_KEY.to_vec(), r);
                self.backend
                    .commit(&change)
                    .map_err(|e| self.fail(format!("syncing the log failed: {}", chain(&e))))
            });
        if result.is_err() {
            // The entries it took are lost with it: nothing more is written.
            let _failed = self.fail("a sync of the log failed".into());
        }
        let result = result.and_then(|()| self.write_anchor(seq, hash));
        guard.done();
        self.lock_head().draining = false;
        self.head_free.notify_all();
        result.map(|()| seq)
    }

    /// Writes the anchor at `seq`/`hash` (durable), if there is one and it is behind.
    fn write_anchor(&self, seq: u64, hash: [u8; 32]) -> Result<()> {
        let Some(anchor) = &self.anchor else {
            return Ok(());
        };
        let mut anchored = self.anchored.lock().unwrap_or_else(|p| p.into_inner());
        if *anchored >= seq {
            return Ok(());
        }
        anchor.write(&self.store_id, seq, &hash).map_err(|e| {
            self.fail(format!(
                "writing the audit anchor {} failed: {e}",
                anchor.path.display()
            ))
        })?;
        *anchored = seq;
        Ok(())
    }

    /// Makes everything appended so far durable (before the log is read).
    pub(crate) fn sync_all(&self) -> Result<()> {
        self.sync_pending()
    }

    /// Syncs if entries were appended since the last sync.
    fn sync_pending(&self) -> Result<()> {
        let appended = self.lock_head().next_seq - 1;
        if self.lock_durable().below > appended {
            return Ok(());
        }
        self.sync_through(appended, None)
    }
}

impl AuditLog {
    /// Stops the sync thread and makes every appended entry durable (best effort: the store is
    /// closing). Called when the store closes, so that closing is the last word on the log.
    pub(crate) fn close(&self) {
        let (stop, wake) = &*self.stop;
        *stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        let handle = self.syncer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle
            && h.thread().id() != std::thread::current().id()
        {
            let _ignored = h.join();
        }
        if self.failure().is_none() {
            let _ignored = self.sync_pending();
            // A change's commit made itself durable without a sync: anchor it too.
            let (seq, hash) = {
                let head = self.lock_head();
                (head.next_seq - 1, head.last_hash)
            };
            if seq > 0 && self.lock_head().pending.is_empty() {
                let _ignored = self.write_anchor(seq, hash);
            }
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// Marks the log failed, and clears a sync's `draining`, if dropped before [`Unfinished::done`]:
/// a write of the log cut short by an early return or a panic leaves entries that exist nowhere
/// else, so numbering must not go on over them.
struct Unfinished<'a> {
    log: &'a AuditLog,
    what: &'static str,
    done: bool,
}

impl<'a> Unfinished<'a> {
    fn new(log: &'a AuditLog, what: &'static str) -> Self {
        Self {
            log,
            what,
            done: false,
        }
    }

    fn done(&mut self) {
        self.done = true;
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _failed = self
                .log
                .fail(format!("{} of the audit log was interrupted", self.what));
            self.log.lock_head().draining = false;
            self.log.head_free.notify_all();
        }
    }
}

fn spawn_syncer(
    log: Weak<AuditLog>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    interval: Duration,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("strongroom-audit-sync".into())
        .spawn(move || {
            let (stopped, wake) = &*stop;
            loop {
                let guard = stopped.lock().unwrap_or_else(|p| p.into_inner());
                let (guard, _) = wake
                    .wait_timeout_while(guard, interval, |s| !*s)
                    .unwrap_or_else(|p| p.into_inner());
                if *guard {
                    return;
                }
                drop(guard);
                let Some(log) = log.upgrade() else { return };
                // A failure is kept in the log, which then refuses every call.
                let _ignored = log.sync_pending();
            }
        })
        .map_err(|e| Error::AuditUnavailable(format!("cannot start the log's sync thread: {e}")))
}

/// An error with its causes, for a message that says what the device said.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn read_meta(backend: &dyn StorageBackend, key: &[u8]) -> Result<Option<Checkpoint>> {
    backend
        .get(Keyspace::Meta, key)?
        .map(|b| storage::decode(&b))
        .transpose()
        .map_err(Error::from)
}

/// The entry stored at `seq`, with its chain hash.
pub(crate) fn get_entry(
    backend: &dyn StorageBackend,
    seq: u64,
) -> Result<Option<(StoredEntry, [u8; 32])>> {
    let Some(bytes) = segment::get(backend, seq)? else {
        return Ok(None);
    };
    let entry = decode_entry(seq, &bytes)?;
    Ok(Some((entry, chain_hash(seq, &bytes))))
}

/// An entry's bytes decoded, or the entry named as tampered with.
pub(crate) fn decode_entry(seq: u64, bytes: &[u8]) -> Result<StoredEntry> {
    storage::decode(bytes).map_err(|e| Error::AuditTampered {
        seq,
        reason: format!("entry {seq} does not decode ({e}): it was edited"),
    })
}

fn last_entry(backend: &dyn StorageBackend) -> Result<Option<(u64, StoredEntry, [u8; 32])>> {
    let Some((_, mut entries)) = segment::last(backend)? else {
        return Ok(None);
    };
    let Some((seq, bytes)) = entries.pop() else {
        return Ok(None);
    };
    let entry = decode_entry(seq, &bytes)?;
    Ok(Some((seq, entry, chain_hash(seq, &bytes))))
}
