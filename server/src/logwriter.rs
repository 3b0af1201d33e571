//! The log writer of the `strongroom` binary: lines are gathered in memory and written to
//! standard error by a background thread every 50 ms, or as soon as 64 KiB are waiting, so that
//! logging a request costs a memory copy instead of a write or a thread wake-up per line.

use std::io::Write as _;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

const FLUSH_EVERY: Duration = Duration::from_millis(50);
const FLUSH_AT: usize = 64 * 1024;
/// Lines waiting beyond this (standard error is stuck) are dropped, and counted.
const MAX_BUFFERED: usize = 16 * 1024 * 1024;

#[derive(Default)]
struct Shared {
    state: Mutex<Buffer>,
    ready: Condvar,
}

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    closing: bool,
    /// The background thread could not be started: lines are written directly.
    direct: bool,
    dropped: u64,
}

/// Hands out writers into the shared buffer.
#[derive(Clone)]
pub(crate) struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Writes what is still buffered, and stops the background thread, when dropped.
pub(crate) struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the background writer.
pub(crate) fn batched_stderr() -> (BatchedStderr, FlushGuard) {
    let shared = Arc::new(Shared::default());
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("strongroom-log".to_owned())
        .spawn(move || write_loop(&worker))
        .ok();
    if thread.is_none() {
        shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .direct = true;
    }
    (
        BatchedStderr {
            shared: shared.clone(),
        },
        FlushGuard { shared, thread },
    )
}

fn write_loop(shared: &Shared) {
    let mut out = Vec::new();
    loop {
        let closing = {
            let state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut state, _) = shared
                .ready
                .wait_timeout_while(state, FLUSH_EVERY, |s| {
                    s.bytes.len() < FLUSH_AT && !s.closing
                })
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut out, &mut state.bytes);
            if state.dropped > 0 {
                let note = format!(
                    "strongroom: {} log lines dropped: standard error could not keep up\n",
                    state.dropped
                );
                out.extend_from_slice(note.as_bytes());
                state.dropped = 0;
            }
            state.closing
        };
        if !out.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&out).and_then(|()| err.flush());
            out.clear();
        }
        if closing {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closing = true;
        self.shared.ready.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One log line's writer.
pub(crate) struct LineWriter<'a> {
    shared: &'a Shared,
}

impl std::io::Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if state.direct {
            drop(state);
            let mut err = std::io::stderr().lock();
            err.write_all(buf)?;
            return Ok(buf.len());
        }
        if state.bytes.len() + buf.len() > MAX_BUFFERED {
            state.dropped += 1;
        } else {
            state.bytes.extend_from_slice(buf);
        }
        if state.bytes.len() >= FLUSH_AT {
            self.shared.ready.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}
