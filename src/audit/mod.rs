//! The audit log: one entry for every operation, successful, refused or failed, chained by hash,
//! with signed checkpoints. `docs/format.md` ("Audit log") gives the layout and the reasoning.
//!
//! - A change's entry is written in the `prepare` stage of its commit and its position rides the
//!   commit's stamp, so the two are durable together; an entry whose change did not commit can
//!   only be the last of the log, and the next open removes it ([`log::AuditLog::open`]).
//! - Any other entry (a read, a refusal, a failure) is appended before the call returns (fail
//!   closed, within a deadline) and becomes durable at the next group sync, which also writes
//!   the signed checkpoint (`Meta` record `audit-head`).
//! - The operation being audited is tracked per thread ([`Call`]): the public operations of
//!   [`crate::Session`] open one, the lookup of a secret and the commit of a change fill it in.
//!   A rotator called inside an operation opens its own, nested.

mod entry;
mod log;
mod segment;
mod verify;

pub use entry::{AuditEntry, AuditQuery};
pub(crate) use entry::{StoredEntry, chain_hash, entry_key};
pub(crate) use log::{Anchor, AuditHandle, AuditLog, BASE_KEY, Checkpoint};
pub use log::{AuditMode, AuditSettings};
pub(crate) use segment::{
    Entries as StoredEntries, decode as decode_segment, encode as encode_segment,
};
pub use verify::AuditVerification;
pub(crate) use verify::verify_chain;

use std::cell::{Cell, RefCell};

use crate::error::Error;
use crate::model::SecretId;

/// What one call of a public operation has told the audit log so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct Call {
    pub(crate) operation: String,
    pub(crate) secret_id: Option<String>,
    pub(crate) secret_arn: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) version_stage: Option<String>,
    /// How many changes it committed (each has its own entry).
    pub(crate) committed: u32,
}

thread_local! {
    /// The calls running on this thread, innermost last.
    static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
    /// How many entries calls on this thread have written.
    static WRITTEN: Cell<u64> = const { Cell::new(0) };
}

/// Counts an entry written by this thread.
pub(crate) fn count_written() {
    WRITTEN.with(|w| w.set(w.get().wrapping_add(1)));
}

/// How many entries this thread has written so far.
pub(crate) fn written() -> u64 {
    WRITTEN.with(Cell::get)
}

/// A call being audited on this thread; ends (and is taken off the stack) on drop.
pub(crate) struct CallScope {
    depth: usize,
}

impl CallScope {
    /// Starts auditing a call of `operation` about `secret_id`.
    pub(crate) fn begin(operation: &str, secret_id: Option<&SecretId>) -> Self {
        let depth = CALLS.with(|c| {
            let mut calls = c.borrow_mut();
            calls.push(Call {
                operation: operation.to_owned(),
                secret_id: secret_id.map(ToString::to_string),
                ..Call::default()
            });
            calls.len()
        });
        Self { depth }
    }

    /// Ends the call, with what it collected.
    pub(crate) fn finish(self) -> Call {
        CALLS.with(|c| {
            let mut calls = c.borrow_mut();
            let call = if calls.len() == self.depth {
                calls.pop()
            } else {
                None
            };
            calls.truncate(self.depth.saturating_sub(1));
            call.unwrap_or_default()
        })
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        CALLS.with(|c| c.borrow_mut().truncate(self.depth.saturating_sub(1)));
    }
}

/// Changes the innermost call on this thread, if any.
pub(crate) fn note(f: impl FnOnce(&mut Call)) {
    CALLS.with(|c| {
        if let Some(call) = c.borrow_mut().last_mut() {
            f(call);
        }
    });
}

/// The innermost call on this thread, if any.
pub(crate) fn current() -> Option<Call> {
    CALLS.with(|c| c.borrow().last().cloned())
}

/// Records the secret a call found.
pub(crate) fn note_secret(arn: &str) {
    note(|c| c.secret_arn = Some(arn.to_owned()));
}

/// Records the version a call read or created.
pub(crate) fn note_version(id: &str) {
    note(|c| c.version_id = Some(id.to_owned()));
}

/// Records the staging label a call asked for or moved.
pub(crate) fn note_stage(label: &str) {
    note(|c| c.version_stage = Some(label.to_owned()));
}

/// The AWS error name and message an entry records for `e`.
pub(crate) fn error_fields(e: &Error) -> (String, String) {
    (e.aws_code().to_owned(), e.to_string())
}
