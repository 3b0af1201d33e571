//! Pacing for the PostgreSQL rotation load tests (`tests/postgres_rotation.rs` and
//! `server/tests/postgres_rotation.rs`, which include this file with `#[path]`).
//!
//! It keeps every rotation apart from the next by at least one complete call of every reader, so
//! that no reader's call (one try, a refresh, one retry) spans two `setSecret`s. Without it a
//! reader that is slower than a whole rotation (a thread starved of CPU) could see its credential
//! changed twice during one call and fail for a timing accident, not for a property of the
//! rotation: single user, it could retry with an `AWSPENDING` that a later `setSecret` already
//! replaced; alternating users, the user it read could be rotated again (every second rotation
//! changes the same user's password). It waits on a condition, never sleeps.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Debug)]
pub struct Pacing {
    /// Per reader: the highest rotation count seen at the start of one of its completed calls.
    seen: Mutex<Vec<Option<u64>>>,
    changed: Condvar,
    /// Rotations completed.
    done: AtomicU64,
    /// How long the readers may make no progress before the test fails.
    deadline: Duration,
}

impl Pacing {
    pub fn new(readers: usize, deadline: Duration) -> Self {
        Self {
            seen: Mutex::new(vec![None; readers]),
            changed: Condvar::new(),
            done: AtomicU64::new(0),
            deadline,
        }
    }

    /// Rotations completed so far: a reader samples it when it starts a call.
    pub fn rotations(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }

    /// Rotation `k` completed.
    pub fn rotated(&self, k: u64) {
        self.done.store(k, Ordering::SeqCst);
    }

    /// `reader` completed a call it started when `started_after` rotations had completed.
    pub fn completed_call(&self, reader: usize, started_after: u64) {
        let mut seen = self.seen.lock().unwrap();
        let slot = &mut seen[reader];
        *slot = Some(slot.map_or(started_after, |s| s.max(started_after)));
        self.changed.notify_all();
    }

    /// Waits until every reader has completed a call started after `rotations` rotations.
    #[expect(
        clippy::disallowed_methods,
        reason = "a real deadline for threads doing real I/O, not the store's clock"
    )]
    pub fn wait_for_readers(&self, rotations: u64) {
        let deadline = std::time::Instant::now() + self.deadline;
        let mut seen = self.seen.lock().unwrap();
        while !seen.iter().all(|s| s.is_some_and(|s| s >= rotations)) {
            let now = std::time::Instant::now();
            assert!(
                now < deadline,
                "the readers made no progress for {:?} (after {rotations} rotations): {seen:?}",
                self.deadline
            );
            seen = self.changed.wait_timeout(seen, deadline - now).unwrap().0;
        }
    }
}
