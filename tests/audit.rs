//! The audit log (issue "Who did what, when"): an entry for every operation with who, what and
//! the outcome; a chain that detects an edited, inserted, removed or reordered entry, a cut
//! tail and a chain rebuilt without the key, naming where; a change's entry durable with it and
//! none for a change that did not commit; reads that fail closed, within their deadline, when
//! the log cannot be written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
#[path = "common/raw.rs"]
mod raw;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

use common::{id, name, text};
use raw::*;
use sha2::{Digest, Sha256};
use strongroom::{
    AuditEntry, AuditMode, AuditQuery, AuditSettings, CallerInfo, Clock, Commit, CreateSecretInput,
    DeleteSecretInput, Entry, Error, ErrorKind, GetSecretValueInput, InsecureTestKeyProvider,
    Keyspace, ManualClock, Principal, PutSecretValueInput, RequestContext, RequestId, SecretStore,
    Session, SledBackend, StagingLabel, StorageBackend, StorageError, Tag,
    UpdateSecretVersionStageInput, WriteBatch,
};

const CANARY: &str = "canary-7f3a9c-never-in-the-log";

fn alice(store: &SecretStore, request: &str) -> Session {
    store.session(
        RequestContext::new(Principal::new("alice").unwrap())
            .with_request_id(RequestId::new(request).unwrap())
            .with_caller(
                CallerInfo::new()
                    .access_key_id("AKIAALICE")
                    .source_ip("10.0.0.7")
                    .user_agent("audit-test/1.0"),
            ),
    )
}

/// Every entry but those of the exports that read them.
fn entries(store: &SecretStore) -> Vec<AuditEntry> {
    store
        .as_system()
        .audit_entries(AuditQuery::all(), 1)
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.operation != "ExportAuditLog")
        .collect()
}

/// A segment of the log as stored (`docs/format.md`, "Audit log"): a run of consecutive
/// entries under the number of its last.
#[derive(serde::Serialize, serde::Deserialize)]
struct Segment {
    first_seq: u64,
    entries: Vec<serde_bytes::ByteBuf>,
}

/// Every stored entry, by number: the segments taken apart.
fn stored_entries(b: &SledBackend) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, bytes) in b.scan_prefix(Keyspace::Audit, b"").unwrap() {
        assert_eq!(bytes[0], 1, "format 1");
        let segment: Segment = postcard::from_bytes(&bytes[1..]).unwrap();
        for (i, e) in segment.entries.into_iter().enumerate() {
            out.push((segment.first_seq + i as u64, e.into_vec()));
        }
    }
    out
}

/// Replaces the stored log with `entries`, one per segment (any run is a valid segment).
fn store_entries(b: &SledBackend, entries: &[(u64, Vec<u8>)]) {
    for (k, _) in b.scan_prefix(Keyspace::Audit, b"").unwrap() {
        delete_raw(b, Keyspace::Audit, &k);
    }
    for (seq, bytes) in entries {
        let segment = Segment {
            first_seq: *seq,
            entries: vec![serde_bytes::ByteBuf::from(bytes.clone())],
        };
        let record = [vec![1u8], postcard::to_allocvec(&segment).unwrap()].concat();
        put_raw(b, Keyspace::Audit, seq.to_be_bytes().to_vec(), record);
    }
}

fn entry_bytes(entries: &[(u64, Vec<u8>)], seq: u64) -> Vec<u8> {
    entries.iter().find(|(s, _)| *s == seq).unwrap().1.clone()
}

#[test]
fn every_operation_leaves_an_entry_with_who_what_and_outcome() {
    let f = fixture();
    let s = alice(&f.store, "req-1");
    let created = s
        .create_secret(CreateSecretInput::new(name("db")).value(text(CANARY)))
        .unwrap();
    let put = s
        .put_secret_value(PutSecretValueInput::new(
            id("db"),
            text(&format!("{CANARY}-2")),
        ))
        .unwrap();
    s.get_secret_value(GetSecretValueInput::new(id("db")))
        .unwrap();
    s.describe_secret(&id("db")).unwrap();
    let missing = s.get_secret_value(GetSecretValueInput::new(id("nope")));
    assert_eq!(missing.unwrap_err().kind(), ErrorKind::ResourceNotFound);
    s.update_secret_version_stage(
        UpdateSecretVersionStageInput::new(id("db"), StagingLabel::new("BLUE").unwrap())
            .move_to(put.version_id.clone()),
    )
    .unwrap();
    s.tag_resource(&id("db"), &[Tag::new("team", "payments").unwrap()])
        .unwrap();
    s.delete_secret(DeleteSecretInput::new(id("db"))).unwrap();

    let got = entries(&f.store);
    let summary: Vec<(&str, bool, Option<&str>)> = got
        .iter()
        .map(|e| (e.operation.as_str(), e.change, e.error_code.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("CreateSecret", true, None),
            ("PutSecretValue", true, None),
            ("GetSecretValue", false, None),
            ("DescribeSecret", false, None),
            ("GetSecretValue", false, Some("ResourceNotFoundException")),
            ("UpdateSecretVersionStage", true, None),
            ("TagResource", true, None),
            ("DeleteSecret", true, None),
        ]
    );
    for (i, e) in got.iter().enumerate() {
        assert_eq!(
            e.seq,
            u64::try_from(i).unwrap() + 1,
            "numbered without gaps"
        );
        assert_eq!(e.principal, "alice");
        assert_eq!(e.request_id, "req-1");
        assert_eq!(e.access_key_id.as_deref(), Some("AKIAALICE"));
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.7"));
        assert_eq!(e.user_agent.as_deref(), Some("audit-test/1.0"));
        assert_eq!(e.region, "us-east-1");
        assert_eq!(e.invoked_by, None);
    }
    let arn = created.arn.as_str();
    assert_eq!(got[0].secret_arn.as_deref(), Some(arn));
    assert_eq!(
        got[0].version_id,
        created.version_id.map(|v| v.as_str().to_owned())
    );
    assert_eq!(got[1].version_id.as_deref(), Some(put.version_id.as_str()));
    assert_eq!(got[2].version_id.as_deref(), Some(put.version_id.as_str()));
    assert_eq!(got[4].secret_id.as_deref(), Some("nope"));
    assert_eq!(got[4].secret_arn, None);
    assert_eq!(got[5].version_stage.as_deref(), Some("BLUE"));
    assert!(got.iter().all(|e| e.secret_id.is_some()));

    // Never a value: not in an entry, not in the stored log, not in the store's metadata.
    assert!(!format!("{got:?}").contains(CANARY));
    for (ks, _, bytes) in all_records(&*f.backend) {
        if ks != Keyspace::Values {
            assert!(
                !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "{ks:?}"
            );
        }
    }
}

#[test]
fn the_chain_verifies_across_reopens_and_so_does_each_export() {
    let f = fixture();
    let s = alice(&f.store, "r");
    common::create(&s, "a", "v");
    for _ in 0..5 {
        s.get_secret_value(GetSecretValueInput::new(id("a")))
            .unwrap();
    }
    let first = s.verify_audit_log(&mut |_| {}).unwrap();
    assert_eq!(first.entries, 6);
    assert_eq!((first.first_seq, first.last_seq), (Some(1), Some(6)));
    drop(s);
    let (_dir, b) = close(f);
    let store = open(&b).unwrap();
    let mut seen = Vec::new();
    let again = store
        .as_system()
        .verify_audit_log(&mut |n| seen.push(n))
        .unwrap();
    // The first verification is an entry too, and closing made everything durable.
    assert_eq!(again.entries, 7);
    assert_eq!(again.checkpoint_seq, Some(7));
    assert_eq!(seen.last(), Some(&7));
    let ops: Vec<String> = entries(&store).into_iter().map(|e| e.operation).collect();
    assert_eq!(ops.iter().filter(|o| *o == "VerifyAuditLog").count(), 2);
}

/// A store with 20 entries (a create, then reads as `alice`), closed, so that everything is
/// durable and the signed checkpoint names the last entry.
fn twenty_entries() -> Fixture {
    let f = fixture();
    let s = alice(&f.store, "r");
    common::create(&s, "a", "v");
    for _ in 0..19 {
        s.get_secret_value(GetSecretValueInput::new(id("a")))
            .unwrap();
    }
    f
}

fn close(f: Fixture) -> (tempfile::TempDir, Arc<SledBackend>) {
    let Fixture {
        dir,
        backend,
        store,
    } = f;
    drop(store);
    (dir, backend)
}

fn open(backend: &Arc<SledBackend>) -> strongroom::Result<SecretStore> {
    SecretStore::builder_with_backend(backend.clone(), Arc::new(InsecureTestKeyProvider::new(1)))
        .open()
}

fn verify_error(store: &SecretStore) -> (u64, String) {
    match store.as_system().verify_audit_log(&mut |_| {}) {
        Err(Error::AuditTampered { seq, reason }) => (seq, reason),
        other => panic!("expected the log not to verify: {other:?}"),
    }
}

fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

#[test]
fn an_edited_entry_is_found_at_the_link_after_it() {
    let (_dir, b) = close(twenty_entries());
    let mut entries = stored_entries(&b);
    assert_eq!(entries.len(), 20);
    entries[4].1 = replace_once(&entries[4].1, b"alice", b"mallo");
    store_entries(&b, &entries);
    let store = open(&b).unwrap();
    let (seq, reason) = verify_error(&store);
    assert_eq!(seq, 6, "{reason}");
    assert!(
        reason.contains("entry 6 does not follow entry 5"),
        "{reason}"
    );
}

#[test]
fn a_removed_entry_is_named() {
    let (_dir, b) = close(twenty_entries());
    let mut entries = stored_entries(&b);
    entries.retain(|(s, _)| *s != 9);
    store_entries(&b, &entries);
    let store = open(&b).unwrap();
    let (seq, reason) = verify_error(&store);
    assert_eq!(seq, 9, "{reason}");
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn swapped_entries_are_found_where_the_order_breaks() {
    let (_dir, b) = close(twenty_entries());
    let mut entries = stored_entries(&b);
    let (seven, eight) = (entry_bytes(&entries, 7), entry_bytes(&entries, 8));
    entries[6].1 = eight;
    entries[7].1 = seven;
    store_entries(&b, &entries);
    let store = open(&b).unwrap();
    assert_eq!(verify_error(&store).0, 7);
}

#[test]
fn an_inserted_entry_is_found_where_it_was_put() {
    let (_dir, b) = close(twenty_entries());
    // Make room at 4 by moving 4..=20 up one, then put a copy of entry 3 there.
    let entries = stored_entries(&b);
    let mut inserted: Vec<(u64, Vec<u8>)> = entries
        .iter()
        .map(|(s, e)| (if *s >= 4 { s + 1 } else { *s }, e.clone()))
        .collect();
    inserted.push((4, entry_bytes(&entries, 3)));
    inserted.sort_by_key(|(s, _)| *s);
    store_entries(&b, &inserted);
    // The checkpoint names entry 20, which is now another entry: refused at open already, or
    // found by the verification at the insertion.
    match open(&b) {
        Err(Error::AuditTampered { seq, .. }) => assert_eq!(seq, 20),
        Ok(store) => assert_eq!(verify_error(&store).0, 4),
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn a_cut_tail_is_refused_at_open() {
    let (_dir, b) = close(twenty_entries());
    let mut entries = stored_entries(&b);
    entries.retain(|(s, _)| *s < 18);
    store_entries(&b, &entries);
    match open(&b) {
        Err(Error::AuditTampered { seq, reason }) => {
            assert_eq!(seq, 18, "{reason}");
            assert!(reason.contains("tail was cut off"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// The chain hash of an entry, as `docs/format.md` defines it.
fn chain_hash(seq: u64, bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"strongroom/audit\0");
    h.update(seq.to_be_bytes());
    h.update(bytes);
    h.finalize().into()
}

#[test]
fn a_chain_rebuilt_without_the_key_fails_the_signed_checkpoint() {
    let (_dir, b) = close(twenty_entries());
    let mut entries = stored_entries(&b);
    entries[4].1 = replace_once(&entries[4].1, b"alice", b"mallo");
    // Every later entry starts (after its format byte) with the hash of the one before.
    for i in 5..entries.len() {
        let (before_seq, before) = entries[i - 1].clone();
        entries[i].1[1..33].copy_from_slice(&chain_hash(before_seq, &before));
    }
    store_entries(&b, &entries);
    match open(&b) {
        Err(Error::AuditTampered { seq, reason }) => {
            assert_eq!(seq, 20, "{reason}");
            assert!(reason.contains("rebuilt"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_entry_whose_change_did_not_commit_is_removed_at_open() {
    let f = fixture();
    let s = alice(&f.store, "r");
    common::create(&s, "a", "one");
    drop(s);
    let (_dir, b) = close(f);
    let metadata = |b: &SledBackend| -> Vec<(Keyspace, Vec<u8>, Vec<u8>)> {
        all_records(b)
            .into_iter()
            .filter(|(ks, _, _)| matches!(ks, Keyspace::Meta | Keyspace::Secrets))
            .collect()
    };
    let before = metadata(&b);
    let store = open(&b).unwrap();
    alice(&store, "r2")
        .put_secret_value(PutSecretValueInput::new(id("a"), text("two")))
        .unwrap();
    drop(store);
    // A crash after the prepared writes and before the commit landed: the metadata as it
    // was, the put's value and audit entry written.
    for (ks, k, _) in metadata(&b) {
        delete_raw(&b, ks, &k);
    }
    for (ks, k, v) in before {
        put_raw(&b, ks, k, v);
    }
    let last = b.last(Keyspace::Audit).unwrap().unwrap();
    assert!(last.1.windows(14).any(|w| w == b"PutSecretValue"));

    let store = open(&b).unwrap();
    assert_eq!(read(&store, "a").unwrap(), "one");
    let got = entries(&store);
    assert!(
        got.iter().all(|e| e.operation != "PutSecretValue"),
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|e| e.change).count(),
        1,
        "the create only"
    );
    store.as_system().verify_audit_log(&mut |_| {}).unwrap();
}

/// A backend whose audit writes fail, or block, when told to.
#[derive(Debug)]
struct Gate {
    inner: SledBackend,
    fail: AtomicBool,
    block: Mutex<bool>,
    entered: Mutex<bool>,
    changed: Condvar,
}

impl Gate {
    fn audit_write(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        if !batch.ops().iter().any(|op| op.keyspace == Keyspace::Audit) {
            return Ok(());
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(StorageError::Io(std::io::Error::other("disk full")));
        }
        *self.entered.lock().unwrap() = true;
        self.changed.notify_all();
        let blocked = self.block.lock().unwrap();
        drop(self.changed.wait_while(blocked, |b| *b).unwrap());
        Ok(())
    }
}

impl StorageBackend for Gate {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(ks, key)
    }
    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Entry>, StorageError> {
        self.inner.scan_prefix(ks, prefix)
    }
    fn apply(&self, batch: &WriteBatch) -> Result<(), StorageError> {
        self.audit_write(batch)?;
        self.inner.apply(batch)
    }
    fn sync(&self) -> Result<(), StorageError> {
        self.inner.sync()
    }
    fn commit(&self, change: &Commit) -> Result<(), StorageError> {
        self.audit_write(&change.prepare)?;
        self.inner.commit(change)
    }
}

fn gated(mode: AuditMode, deadline: Duration) -> (tempfile::TempDir, Arc<Gate>, SecretStore) {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate {
        inner: SledBackend::open(dir.path()).unwrap(),
        fail: AtomicBool::new(false),
        block: Mutex::new(false),
        entered: Mutex::new(false),
        changed: Condvar::new(),
    });
    let mut settings = AuditSettings::with_mode(mode);
    settings.deadline = deadline;
    // No sync of its own during the test: the test decides when the log is written.
    settings.sync_interval = Duration::from_secs(3600);
    let store =
        SecretStore::builder_with_backend(gate.clone(), Arc::new(InsecureTestKeyProvider::new(1)))
            .audit(settings)
            .open()
            .unwrap();
    (dir, gate, store)
}

#[test]
fn reads_and_writes_fail_closed_when_the_log_cannot_be_written() {
    // Strict: the read's own sync fails, so the read answers nothing.
    let (_dir, gate, store) = gated(AuditMode::Strict, Duration::from_secs(1));
    common::create(&store.as_system(), "a", CANARY);
    gate.fail.store(true, Ordering::SeqCst);
    let err = store
        .as_system()
        .get_secret_value(GetSecretValueInput::new(id("a")))
        .unwrap_err();
    assert!(matches!(err, Error::AuditUnavailable(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::InternalServiceError);
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(!format!("{err:?}").contains(CANARY));
    // From then on every call is refused, reads and writes, until the store is reopened.
    gate.fail.store(false, Ordering::SeqCst);
    let s = store.as_system();
    assert!(matches!(
        s.describe_secret(&id("a")),
        Err(Error::AuditUnavailable(_))
    ));
    assert!(matches!(
        s.put_secret_value(PutSecretValueInput::new(id("a"), text("x"))),
        Err(Error::AuditUnavailable(_))
    ));

    // Buffered: the first sync that fails (here, the export's) stops every later call.
    let (_dir, gate, store) = gated(AuditMode::Buffered, Duration::from_secs(1));
    common::create(&store.as_system(), "a", CANARY);
    read(&store, "a").unwrap();
    gate.fail.store(true, Ordering::SeqCst);
    let s = store.as_system();
    assert!(matches!(
        s.audit_entries(AuditQuery::all(), 1),
        Err(Error::AuditUnavailable(_))
    ));
    gate.fail.store(false, Ordering::SeqCst);
    assert!(matches!(
        s.get_secret_value(GetSecretValueInput::new(id("a"))),
        Err(Error::AuditUnavailable(_))
    ));
}

#[test]
fn a_blocked_log_fails_waiting_callers_within_the_deadline() {
    let (_dir, gate, store) = gated(AuditMode::Buffered, Duration::from_millis(200));
    common::create(&store.as_system(), "a", "v");
    *gate.entered.lock().unwrap() = false;
    *gate.block.lock().unwrap() = true;
    // A write holds the log while its commit is stuck in the device.
    let first = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .as_system()
                .put_secret_value(PutSecretValueInput::new(id("a"), text("w")))
                .map(|_| ())
        })
    };
    drop(
        gate.changed
            .wait_while(gate.entered.lock().unwrap(), |e| !*e)
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    {
        let store = store.clone();
        std::thread::spawn(move || {
            let r = store
                .as_system()
                .get_secret_value(GetSecretValueInput::new(id("a")));
            tx.send(r.map(|_| ())).unwrap();
        });
    }
    // Well past the 200 ms deadline, but a hang would never answer.
    let second = rx.recv_timeout(Duration::from_secs(10)).expect("no hang");
    match second {
        Err(Error::AuditUnavailable(why)) => assert!(why.contains("200 ms"), "{why}"),
        other => panic!("{other:?}"),
    }
    *gate.block.lock().unwrap() = false;
    gate.changed.notify_all();
    first.join().unwrap().unwrap();
    assert_eq!(read(&store, "a").unwrap(), "w");
}

/// The sequence number the signed checkpoint (`Meta` record `audit-head`) names.
fn checkpoint_seq(b: &dyn StorageBackend) -> u64 {
    let Some(bytes) = b.get(Keyspace::Meta, b"audit-head").unwrap() else {
        return 0;
    };
    let inner = envelope(&bytes).inner;
    assert_eq!(inner[0], 1, "format 1");
    // postcard: the sequence number first, as a LEB128 varint.
    let mut seq = 0u64;
    for (i, byte) in inner[1..].iter().enumerate() {
        seq |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            break;
        }
    }
    seq
}

fn open_with_mode(mode: AuditMode, interval: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
    let mut settings = AuditSettings::with_mode(mode);
    settings.sync_interval = interval;
    let store = SecretStore::builder_with_backend(
        backend.clone(),
        Arc::new(InsecureTestKeyProvider::new(1)),
    )
    .audit(settings)
    .open()
    .unwrap();
    Fixture {
        dir,
        backend,
        store,
    }
}

#[test]
fn strict_reads_return_once_their_entry_is_durable_buffered_ones_before() {
    let hour = Duration::from_secs(3600);
    let strict = open_with_mode(AuditMode::Strict, hour);
    common::create(&strict.store.as_system(), "a", "v");
    for _ in 0..3 {
        strict
            .store
            .as_system()
            .get_secret_value(GetSecretValueInput::new(id("a")))
            .unwrap();
        let last = strict.backend.last(Keyspace::Audit).unwrap().unwrap();
        let seq = u64::from_be_bytes(last.0.try_into().unwrap());
        assert!(checkpoint_seq(&*strict.backend) >= seq);
    }

    let buffered = open_with_mode(AuditMode::Buffered, hour);
    common::create(&buffered.store.as_system(), "a", "v");
    buffered
        .store
        .as_system()
        .get_secret_value(GetSecretValueInput::new(id("a")))
        .unwrap();
    // The read's entry (2) is the log's tail in memory; only the create's (1), written with
    // its change, is in the store, and no sync has signed a checkpoint yet.
    let last = buffered.backend.last(Keyspace::Audit).unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(last.0.try_into().unwrap()), 1);
    assert_eq!(checkpoint_seq(&*buffered.backend), 0);
    // Closing the store syncs what is pending.
    let (_dir, b) = close(buffered);
    assert_eq!(checkpoint_seq(&*b), 2);
    let last = b.last(Keyspace::Audit).unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(last.0.try_into().unwrap()), 2);
}

#[test]
fn off_means_no_entries() {
    let f = open_with_mode(AuditMode::Off, Duration::from_millis(100));
    common::create(&f.store.as_system(), "a", "v");
    read(&f.store, "a").unwrap();
    assert!(stored_entries(&f.backend).is_empty());
}

#[test]
fn retention_drops_old_entries_and_keeps_a_base_the_rest_verifies_from() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_unix_seconds(common::START_SECS));
    let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
    let open = || {
        SecretStore::builder_with_backend(
            backend.clone(),
            Arc::new(InsecureTestKeyProvider::new(1)),
        )
        .clock(clock.clone())
        .open()
        .unwrap()
    };
    let store = open();
    common::create(&store.as_system(), "old", "v");
    for _ in 0..4 {
        read(&store, "old").unwrap();
    }
    clock.advance(Duration::from_secs(10 * 86_400));
    let cutoff = clock.now() - Duration::from_secs(86_400);
    common::create(&store.as_system(), "new", "v");
    read(&store, "new").unwrap();
    let dropped = store.as_system().drop_audit_entries_before(cutoff).unwrap();
    assert_eq!(dropped, 5);
    let v = store.as_system().verify_audit_log(&mut |_| {}).unwrap();
    assert_eq!(v.first_seq, Some(6));
    drop(store);
    let store = open();
    let v = store.as_system().verify_audit_log(&mut |_| {}).unwrap();
    assert_eq!(v.first_seq, Some(6));
    let got = entries(&store);
    assert_eq!(got[0].seq, 6);
    assert!(
        got.iter()
            .any(|e| e.operation == "DropAuditEntries" && e.change)
    );
    assert!(got.iter().all(|e| e.time >= cutoff));
    // And the export's own entry, once a sync has written it.
    let stored = stored_entries(&backend).len();
    assert!(stored == got.len() || stored == got.len() + 1, "{stored}");
}

#[test]
fn maintenance_and_queries() {
    let t = common::TestStore::new();
    let s = t.s();
    common::create(&s, "a", "v");
    common::create(&s, "b", "v");
    s.delete_secret(DeleteSecretInput::new(id("b")).force())
        .unwrap();
    t.store.purge_deleted().unwrap();
    let all: Vec<AuditEntry> = s
        .audit_entries(AuditQuery::all(), 1)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let purge = all
        .iter()
        .find(|e| e.operation == "PurgeDeletedSecrets")
        .unwrap();
    assert_eq!(purge.principal, "strongroom:maintenance");
    assert_eq!(purge.invoked_by.as_deref(), Some("strongroom:purge"));
    let about_a: Vec<String> = s
        .audit_entries(AuditQuery::all().secret("a"), 1)
        .unwrap()
        .map(|e| e.unwrap().operation)
        .collect();
    assert_eq!(about_a, ["CreateSecret"]);
    let from_three: Vec<u64> = s
        .audit_entries(AuditQuery::all(), 3)
        .unwrap()
        .map(|e| e.unwrap().seq)
        .collect();
    assert_eq!(from_three.first(), Some(&3));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn an_anchor_outside_the_folder_refuses_a_rolled_back_store() {
    let dir = tempfile::tempdir().unwrap();
    let (data, anchor) = (dir.path().join("data"), dir.path().join("anchor"));
    let open = |with_anchor: bool| {
        let b = SecretStore::builder(&data, Arc::new(InsecureTestKeyProvider::new(1)));
        if with_anchor {
            b.audit_anchor(&anchor)
        } else {
            b
        }
        .open()
    };
    let store = open(true).unwrap();
    common::create(&store.as_system(), "a", "one");
    drop(store);
    let old = dir.path().join("old");
    copy_dir(&data, &old);
    let store = open(true).unwrap();
    store
        .as_system()
        .put_secret_value(PutSecretValueInput::new(id("a"), text("two")))
        .unwrap();
    drop(store);
    // The folder put back as it was before the put: a whole, consistent, older store.
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&old, &data);
    match open(true) {
        Err(Error::AuditTampered { reason, .. }) => {
            assert!(reason.contains("rolled back"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Without the anchor nothing in the folder tells (the documented limit).
    let store = open(false).unwrap();
    assert_eq!(read(&store, "a").unwrap(), "one");
    drop(store);
    // An anchor edited (or written by another store) is refused too.
    let text = std::fs::read_to_string(&anchor).unwrap();
    let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let seq: u64 = words[3].parse().unwrap();
    words[3] = (seq - 1).to_string();
    let edited = words.join(" ") + "\n";
    assert_ne!(edited, text);
    std::fs::write(&anchor, edited).unwrap();
    match open(true) {
        Err(Error::AuditTampered { reason, .. }) => {
            assert!(reason.contains("fails its MAC"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // The anchor as it was, and the store as it was: they agree again.
    std::fs::write(&anchor, text).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&old, &data);
    assert!(matches!(open(true), Err(Error::AuditTampered { .. })));
}
