//! The accept loop: HTTP/1 connections with a bound on how long a client may take to send a
//! request, how long it may sit idle, and how many connections are open at once.
//!
//! Each connection is in one of three phases, timed here (hyper's own header timer is off):
//! - **waiting for its first request**: the whole head must arrive within
//!   [`ConnectionLimits::header_read_timeout`] of the connection being accepted;
//! - **idle** between requests: the next request must start within
//!   [`ConnectionLimits::idle_timeout`], and its head arrive within the header timeout of its
//!   first byte;
//! - **busy** with a request (its body read and the answer computed): at most
//!   [`ConnectionLimits::request_timeout`].
//!
//! At [`ConnectionLimits::max_connections`], a new connection is still accepted: the oldest
//! connection that has not sent a complete request is closed to make room, or failing that the
//! longest-idle one. Busy connections are never shed; if every connection is busy, accepting
//! waits for one to finish (new clients wait in the kernel's backlog). The cap is kept below
//! the process's descriptor limit, so accepting never fails for want of descriptors.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::tls::Tls;

/// The address a request came from, as the listener accepted its connection (a request
/// extension; the audit log records it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer(pub(crate) std::net::SocketAddr);

/// Descriptors kept free for everything but client connections: the store's files, logs,
/// rotation commands' pipes, connections to databases being rotated.
const RESERVED_DESCRIPTORS: u64 = 64;
/// How long to wait before accepting again after the process ran out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Bounds on client connections. `Default` gives the documented defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Concurrent connections; `None`: as many as the descriptor limit allows (see
    /// [`ConnectionLimits::effective_max_connections`]).
    pub max_connections: Option<usize>,
    /// How long a request's head may take to arrive (from the connection's start for the first
    /// request, from its first byte for later ones). Default 10 s.
    pub header_read_timeout: Duration,
    /// How long a connection may wait between requests. Default 60 s.
    pub idle_timeout: Duration,
    /// How long one request may take, its body read and the answer computed. Default 60 s.
    pub request_timeout: Duration,
    /// Requests served on one connection before it is closed (`Connection: close` on the last
    /// answer). Default 1,000.
    pub max_requests_per_connection: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            max_requests_per_connection: 1_000,
        }
    }
}

impl ConnectionLimits {
    /// The connection cap in force: the configured one, but never more than the process's
    /// descriptor limit (its soft limit, `RLIMIT_NOFILE`) less 64 kept for everything else, and
    /// at least 1.
    pub fn effective_max_connections(&self) -> usize {
        let by_descriptors =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map_or(1024, |(soft, _)| soft)
                .saturating_sub(RESERVED_DESCRIPTORS)
                .max(1);
        let by_descriptors = usize::try_from(by_descriptors).unwrap_or(usize::MAX);
        self.max_connections
            .map_or(by_descriptors, |n| n.min(by_descriptors))
            .max(1)
    }
}

/// Raises the process's soft descriptor limit to its hard limit, and returns the new soft limit.
pub fn raise_descriptor_limit() -> io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(io::Error::from)?;
    }
    Ok(soft.max(hard))
}

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Accepted, no complete request yet; `first_byte` once its head began.
    Opening { since: Instant },
    /// Between requests.
    Idle {
        since: Instant,
        first_byte: Option<Instant>,
    },
    /// A request is being read or answered.
    Busy { since: Instant },
}

/// One open connection, as the accept loop and the connection's task share it.
struct Conn {
    phase: Mutex<Phase>,
    /// Requests answered so far.
    served: AtomicU64,
    /// Notified to close the connection at once (it was shed).
    kill: Notify,
    /// Notified when the phase changes, so that the task re-arms its timer.
    changed: Notify,
}

impl Conn {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = phase;
        self.changed.notify_one();
    }

    /// Bytes arrived: the head of the next request has begun.
    fn read_some(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Phase::Idle {
            first_byte: first @ None,
            ..
        } = &mut *phase
        {
            *first = Some(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// When the connection must be closed unless its phase changes first.
    fn deadline(&self, limits: &ConnectionLimits) -> Instant {
        match self.phase() {
            Phase::Opening { since } => since + limits.header_read_timeout,
            Phase::Idle {
                first_byte: Some(first),
                ..
            } => first + limits.header_read_timeout,
            Phase::Idle { since, .. } => since + limits.idle_timeout,
            Phase::Busy { since } => since + limits.request_timeout,
        }
    }
}

/// The open connections.
#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Notified whenever a connection closes.
    closed: Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
        self.closed.notify_waiters();
    }

    /// Closes the connection that has waited longest without sending a complete request, or
    /// else the one idle longest. False if every connection is busy.
    fn shed_one(&self) -> bool {
        let victim = {
            let conns = self.lock();
            let opening = conns
                .iter()
                .filter_map(|(id, c)| match c.phase() {
                    Phase::Opening { since } => Some((since, *id)),
                    _ => None,
                })
                .min();
            let idle = || {
                conns
                    .iter()
                    .filter_map(|(id, c)| match c.phase() {
                        Phase::Idle { since, .. } => Some((since, *id)),
                        _ => None,
                    })
                    .min()
            };
            opening
                .or_else(idle)
                .and_then(|(_, id)| conns.get(&id).cloned())
        };
        match victim {
            Some(conn) => {
                conn.kill.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A stream that tells its connection when bytes arrive.
struct Tracked<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.read_some();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Accepts connections on `listener` and serves `router` on them (over TLS with `tls`) until
/// `stopping` turns true; then closes idle connections, lets requests in flight finish, and
/// returns once every connection has closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<Arc<Tls>>,
    mut stopping: watch::Receiver<bool>,
) -> io::Result<()> {
    let registry = Arc::new(Registry::default());
    let max = limits.effective_max_connections();
    tracing::info!(
        max_connections = max,
        header_read_timeout_secs = limits.header_read_timeout.as_secs_f64(),
        idle_timeout_secs = limits.idle_timeout.as_secs_f64(),
        "accepting connections"
    );
    let mut next_id: u64 = 0;
    loop {
        // Make room first: at the cap, shed one connection or wait for one to close.
        while registry.len() >= max {
            let closed = registry.closed.notified();
            if registry.shed_one() {
                tracing::debug!("connection cap reached: closed the oldest idle connection");
            }
            tokio::select! {
                () = closed => {}
                _ = stopping.wait_for(|s| *s) => break,
            }
        }
        if *stopping.borrow() {
            break;
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok((stream, peer)) => (stream, peer),
            Err(e) if is_out_of_descriptors(&e) => {
                tracing::warn!(error = %e, "out of file descriptors: shedding an idle connection");
                registry.shed_one();
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
            // The client gave up before it was accepted, and the like: not the listener's fault.
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        next_id += 1;
        let conn = Arc::new(Conn {
            phase: Mutex::new(Phase::Opening {
                since: Instant::now(),
            }),
            served: AtomicU64::new(0),
            kill: Notify::new(),
            changed: Notify::new(),
        });
        registry.lock().insert(next_id, Arc::clone(&conn));
        let id = next_id;
        let registry = Arc::clone(&registry);
        let router = router.clone();
        let stopping = stopping.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let tracked = Tracked {
                inner: stream,
                conn: Arc::clone(&conn),
            };
            match tls {
                None => serve_connection(tracked, conn, peer, router, limits, stopping).await,
                Some(tls) => {
                    // The handshake is part of the wait for the first request's head.
                    let handshake = tls.acceptor().accept(tracked);
                    let deadline = conn.deadline(&limits);
                    let stream = tokio::select! {
                        done = handshake => done.map_err(|e| tracing::debug!(error = %e, "TLS handshake failed")).ok(),
                        () = conn.kill.notified() => None,
                        () = tokio::time::sleep_until(deadline) => None,
                    };
                    if let Some(stream) = stream {
                        serve_connection(stream, conn, peer, router, limits, stopping).await;
                    }
                }
            }
            registry.remove(id);
        });
    }
    drop(listener);
    // Every connection task sees `stopping` too: wait until they have all closed.
    loop {
        let closed = registry.closed.notified();
        if registry.len() == 0 {
            return Ok(());
        }
        closed.await;
    }
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == nix::errno::Errno::EMFILE as i32 || code == nix::errno::Errno::ENFILE as i32
    )
}

/// Serves one connection until it closes, is shed, times out or the server stops.
async fn serve_connection<S>(
    stream: S,
    conn: Arc<Conn>,
    peer: std::net::SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let conn = Arc::clone(&conn);
        let inner = TowerToHyperService::new(router);
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            conn.set(Phase::Busy {
                since: Instant::now(),
            });
            request.extensions_mut().insert(Peer(peer));
            let answer = hyper::service::Service::call(&inner, request);
            let conn = Arc::clone(&conn);
            async move {
                let mut response = match answer.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let served = conn.served.fetch_add(1, Ordering::Relaxed) + 1;
                if served >= limits.max_requests_per_connection {
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                conn.set(Phase::Idle {
                    since: Instant::now(),
                    first_byte: None,
                });
                Ok::<_, Infallible>(response)
            }
        })
    };
    let io = TokioIo::new(stream);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.header_read_timeout(None).keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        let deadline = conn.deadline(&limits);
        tokio::select! {
            _ = connection.as_mut() => return,
            () = conn.kill.notified() => return,
            () = conn.changed.notified() => {}
            () = tokio::time::sleep_until(deadline) => {
                // The phase may have changed just now: only a deadline still passed closes it.
                if conn.deadline(&limits) <= Instant::now() {
                    tracing::debug!(phase = ?conn.phase(), "connection timed out");
                    return;
                }
            }
            _ = stopping.wait_for(|s| *s), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
