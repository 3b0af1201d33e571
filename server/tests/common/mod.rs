//! A server on `127.0.0.1:0` over a fresh store in a temporary folder, for integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use strongroom::{InsecureTestKeyProvider, SecretStore};
use strongroom_server::{Credentials, ServerState, run};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Access key id and secret key of the test credentials ([`TestServer::with_auth`]).
pub const ACCESS_KEY_ID: &str = "AKIDSTRONGROOMTEST";
pub const SECRET_ACCESS_KEY: &str = "strongroom-test-secret-access-key";
pub const PRINCIPAL: &str = "tester";

/// A running server; stopped (gracefully) by [`TestServer::stop`] or when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub url: String,
    pub store: SecretStore,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Authentication off.
    pub async fn start() -> Self {
        Self::start_with(|s| s).await
    }

    /// SigV4 verified against [`ACCESS_KEY_ID`] / [`SECRET_ACCESS_KEY`].
    pub async fn with_auth() -> Self {
        Self::start_with(|s| {
            s.with_credentials(Credentials::new().with_key(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                strongroom::Principal::new(PRINCIPAL).unwrap(),
            ))
        })
        .await
    }

    /// A server whose state `configure` adjusts.
    pub async fn start_with(configure: impl FnOnce(ServerState) -> ServerState) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::builder(
            dir.path().join("db"),
            Arc::new(InsecureTestKeyProvider::new(7)),
        )
        .open()
        .unwrap();
        let state = configure(ServerState::new(store.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, state, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            url: format!("http://{addr}"),
            store,
            stop: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops accepting, waits for requests in flight, and returns what `run` returned.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.take().unwrap().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// An aws-sdk-secretsmanager client for `server`, signing with the test credentials, in `region`.
pub async fn sdk_client(server: &TestServer, region: &str) -> aws_sdk_secretsmanager::Client {
    let creds = aws_credential_types::Credentials::new(
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        None,
        None,
        "strongroom-tests",
    );
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .endpoint_url(&server.url)
        .region(aws_sdk_secretsmanager::config::Region::new(
            region.to_owned(),
        ))
        .credentials_provider(creds)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}
