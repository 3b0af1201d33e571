//! The server's lifecycle: serve a listener, run rotations in the background, and at shutdown
//! drain requests in flight (for the state's grace period), stop the rotations and flush the
//! store.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::listener;
use crate::protocol::router;
use crate::rotation::{self, ROTATION_STOP_WAIT};
use crate::state::ServerState;
use crate::tls;

/// Serves `listener` until `shutdown` completes, then stops accepting connections, closes idle
/// ones, lets requests in flight finish (for at most the state's shutdown grace,
/// [`ServerState::with_shutdown_grace`]), and flushes the store before returning. Connections are
/// bounded as [`ServerState::with_connection_limits`] says.
///
/// It also registers the state's rotation functions with the store (their commands call back
/// to this listener's address) and runs due rotations in the background (see
/// [`ServerState::with_rotation_function`]). At shutdown a rotation command that is running is
/// killed at once with its process group (its step counts no attempt and runs again after a
/// restart), and a built-in
/// rotator's step is waited for up to [`ROTATION_STOP_WAIT`].
///
/// ## Errors
/// An I/O error of the listener; a rotation access key that is not among the credentials
/// (`InvalidInput`, before serving); a listener on an address other than loopback with
/// authentication off and without [`ServerState::dangerous_accept_any_host`] (`InvalidInput`,
/// before serving: the binary's rule); the store's final flush.
pub async fn run(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    if state.credentials.is_none() && !local.ip().is_loopback() && !state.accept_any_host {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "refusing to serve {local} without authentication: give the state credentials, or call dangerous_accept_any_host() to accept anyone"
            ),
        ));
    }
    let store = state.store.clone();
    let grace = state.shutdown_grace;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let rotation_task = rotation::start(
        &store,
        Arc::clone(&state.clock),
        &state.rotation,
        state.credentials.as_deref(),
        rotation::endpoint_url(local, state.tls.is_some()),
        stopping.clone(),
    )?;
    let signal = Arc::clone(&stop);
    tokio::spawn(async move {
        shutdown.await;
        signal.send_replace(true);
    });
    let mut deadline = stopping.clone();
    let limits = state.connections;
    let tls = state.tls.clone();
    if let Some(tls) = &tls {
        tls::reload_on_hangup(Arc::clone(tls))?;
    }
    let serve = listener::serve(listener, router(state), limits, tls, stopping);
    let served = tokio::select! {
        served = serve => served,
        () = async move {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "requests still in flight after the grace period: no longer waiting for them (they end with the runtime)"
            );
            Ok(())
        }
    };
    // Also when serving failed: the rotation task stops with the server.
    stop.send_replace(true);
    if tokio::time::timeout(ROTATION_STOP_WAIT, rotation_task)
        .await
        .is_err()
    {
        tracing::warn!(
            wait_secs = ROTATION_STOP_WAIT.as_secs(),
            "a rotation step is still running after the wait: no longer waiting for it"
        );
    }
    served?;
    tokio::task::spawn_blocking(move || store.sync())
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)
}
