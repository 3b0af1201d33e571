//! Readers of AWSCURRENT run while writers put new values and move labels. Every read returns a
//! whole, decryptable value that was AWSCURRENT at some instant during the read, a value prepared
//! under AWSPENDING is never seen through AWSCURRENT before its promotion, and no reader thread
//! sees an older value after a newer one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;

use common::*;
use strongroom::{
    ErrorKind, GetSecretValueInput, PutSecretValueInput, StagingLabel,
    UpdateSecretVersionStageInput,
};

const WRITES_PER_WRITER: u64 = 150;

#[test]
fn readers_see_whole_current_values_in_order() {
    let t = TestStore::new();
    create(&t.s(), "c", "0");
    // `committed`: the highest value whose promotion to AWSCURRENT has returned.
    // `promoting`: the highest value whose promotion to AWSCURRENT has begun.
    let committed = Arc::new(AtomicU64::new(0));
    let promoting = Arc::new(AtomicU64::new(0));
    let next = Arc::new(Mutex::new(0u64));
    let done = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (s, committed, promoting, next) =
                (t.s(), committed.clone(), promoting.clone(), next.clone());
            let clock = t.clock.clone();
            thread::spawn(move || {
                for i in 0..WRITES_PER_WRITER {
                    // Numbering and promotion happen in one order, so values grow with commits.
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    // Old unlabelled versions must age past 24 hours to be cleaned up (VER-4).
                    clock.advance(std::time::Duration::from_secs(15 * 60));
                    let v = text(&n.to_string());
                    if (i + w) % 2 == 0 {
                        promoting.store(*n, SeqCst);
                        s.put_secret_value(PutSecretValueInput::new(id("c"), v))
                            .unwrap();
                    } else {
                        // Prepare under AWSPENDING, then promote: the rotation pattern.
                        let out = s
                            .put_secret_value(
                                PutSecretValueInput::new(id("c"), v)
                                    .version_stages([StagingLabel::PENDING]),
                            )
                            .unwrap();
                        let cur = s
                            .get_secret_value(GetSecretValueInput::new(id("c")))
                            .unwrap()
                            .version_id;
                        promoting.store(*n, SeqCst);
                        s.update_secret_version_stage(
                            UpdateSecretVersionStageInput::new(id("c"), StagingLabel::CURRENT)
                                .move_to(out.version_id)
                                .remove_from(cur),
                        )
                        .unwrap();
                    }
                    committed.store(*n, SeqCst);
                }
            })
        })
        .collect();

    // A third writer moves a custom label to whichever version is current, racing the others.
    let mover = {
        let (s, done) = (t.s(), done.clone());
        thread::spawn(move || {
            let label = StagingLabel::new("MIRROR").unwrap();
            let mut moved = 0u32;
            while !done.load(SeqCst) {
                let d = s.describe_secret(&id("c")).unwrap();
                let map = d.version_ids_to_stages.unwrap();
                let cur = map
                    .iter()
                    .find(|(_, l)| l.contains(&StagingLabel::CURRENT))
                    .unwrap()
                    .0
                    .clone();
                let holder = map
                    .iter()
                    .find(|(_, l)| l.contains(&label))
                    .map(|(v, _)| v.clone());
                let mut input =
                    UpdateSecretVersionStageInput::new(id("c"), label.clone()).move_to(cur);
                if let Some(h) = holder {
                    input = input.remove_from(h);
                }
                match s.update_secret_version_stage(input) {
                    Ok(_) => moved += 1,
                    // The versions changed between our describe and our move: fine.
                    Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidParameter, "{e}"),
                }
            }
            moved
        })
    };

    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (s, committed, promoting, done) =
                (t.s(), committed.clone(), promoting.clone(), done.clone());
            thread::spawn(move || {
                let mut last = 0u64;
                let mut reads = 0u64;
                while !done.load(SeqCst) {
                    let lo = committed.load(SeqCst);
                    let got = s
                        .get_secret_value(GetSecretValueInput::new(id("c")))
                        .unwrap();
                    let hi = promoting.load(SeqCst);
                    let v: u64 = got.value.expose_str().unwrap().parse().unwrap();
                    assert!(got.version_stages.contains(&StagingLabel::CURRENT));
                    assert!(
                        lo <= v,
                        "read {v}, but {lo} was already current before the read"
                    );
                    assert!(
                        v <= hi,
                        "read {v} through AWSCURRENT before its promotion began (max {hi})"
                    );
                    assert!(v >= last, "read {v} after {last}");
                    last = v;
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    for w in writers {
        w.join().unwrap();
    }
    done.store(true, SeqCst);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let moved = mover.join().unwrap();
    assert!(reads > 0 && moved > 0, "reads {reads}, moves {moved}");
    assert_eq!(current(&t.s(), "c"), (2 * WRITES_PER_WRITER).to_string());
}

/// Readers of old versions race the clean-up of deprecated versions: each read returns the value
/// that version was written with, or `ResourceNotFoundException` once it is gone; never an
/// internal error, never another version's value.
#[test]
fn reads_racing_version_clean_up_never_fail_inside() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(strongroom::ManualClock::at_unix_seconds(START_SECS));
    let store = strongroom::SecretStore::builder(
        dir.path().join("data"),
        Arc::new(strongroom::InsecureTestKeyProvider::new(7)),
    )
    .clock(clock.clone())
    .max_deprecated_versions(2)
    .deprecated_version_min_age(std::time::Duration::ZERO)
    .open()
    .unwrap();
    let s = store.as_system();
    let first = create(&s, "gc", "0");
    let written = Arc::new(Mutex::new(vec![(first, 0u64)]));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (s, written, done) = (store.as_system(), written.clone(), done.clone());
            thread::spawn(move || {
                let (mut found, mut gone) = (0u64, 0u64);
                let mut i = r;
                while !done.load(SeqCst) {
                    let (version, n) = {
                        let w = written.lock().unwrap();
                        w[i % w.len()].clone()
                    };
                    i += 7;
                    match s.get_secret_value(GetSecretValueInput::new(id("gc")).version_id(version))
                    {
                        Ok(got) => {
                            assert_eq!(got.value.expose_str().unwrap(), n.to_string());
                            found += 1;
                        }
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "{e}");
                            gone += 1;
                        }
                    }
                }
                (found, gone)
            })
        })
        .collect();
    for n in 1..=300u64 {
        let out = s
            .put_secret_value(PutSecretValueInput::new(id("gc"), text(&n.to_string())))
            .unwrap();
        written.lock().unwrap().push((out.version_id, n));
    }
    done.store(true, SeqCst);
    let (found, gone) = readers
        .into_iter()
        .map(|r| r.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert!(found > 0 && gone > 0, "found {found}, gone {gone}");
}
