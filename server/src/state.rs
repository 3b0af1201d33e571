//! What every request handler shares.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use strongroom::{Clock, SecretStore, SystemClock};

use crate::auth::Credentials;
use crate::listener::ConnectionLimits;
use crate::rotation::{RotationFunction, RotationSettings};
use crate::tls::{Tls, TlsFiles};

/// The largest request body accepted, unless configured: room for the largest secret
/// (65,536 bytes, about 87 KiB as base64) with all its tags and description.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// How long requests in flight may run after shutdown begins before their connections are
/// closed, unless [`ServerState::with_shutdown_grace`] says otherwise.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The store a server serves, and how it authenticates callers.
#[derive(Clone)]
pub struct ServerState {
    pub(crate) store: SecretStore,
    pub(crate) credentials: Option<Arc<Credentials>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_body_bytes: usize,
    pub(crate) shutdown_grace: Duration,
    pub(crate) accept_any_host: bool,
    pub(crate) rotation: RotationSettings,
    pub(crate) connections: ConnectionLimits,
    pub(crate) tls: Option<Arc<Tls>>,
}

impl fmt::Debug for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerState")
            .field("region", &self.store.region().as_str())
            .field("account_id", &self.store.account_id().as_str())
            .field("credentials", &self.credentials)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("rotation", &self.rotation)
            .field("connections", &self.connections)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// Serves `store` with authentication off: any signature is accepted (its credential scope
    /// still picks the region) and every caller is the principal `anonymous`. Requests without a
    /// scope are served in the store's region.
    pub fn new(store: SecretStore) -> Self {
        Self {
            store,
            credentials: None,
            clock: Arc::new(SystemClock),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: SHUTDOWN_GRACE,
            accept_any_host: false,
            rotation: RotationSettings::default(),
            connections: ConnectionLimits::default(),
            tls: None,
        }
    }

    /// Maps the rotation function `lambda_arn` (a `RotationLambdaARN`) to `function`: `run`
    /// registers it with the store, so `RotateSecret` accepts that ARN and the server's
    /// background task runs the function's steps. Replaces an earlier mapping of the same ARN.
    pub fn with_rotation_function(
        mut self,
        lambda_arn: impl Into<String>,
        function: RotationFunction,
    ) -> Self {
        self.rotation.functions.insert(lambda_arn.into(), function);
        self
    }

    /// How long one step of a rotation command may run before it is killed and fails
    /// (default [`crate::DEFAULT_ROTATION_STEP_TIMEOUT`]); for a built-in rotator, its step
    /// deadline (default: the rotator's own).
    pub fn with_rotation_step_timeout(mut self, timeout: Duration) -> Self {
        self.rotation.step_timeout = Some(timeout);
        self
    }

    /// Passes the server's environment variables `names` on to rotation commands, besides
    /// `PATH`, `HOME`, `LANG`, `LC_ALL`, `TZ`, `TMPDIR` and their AWS settings (by default they
    /// get nothing else of the server's environment).
    pub fn with_rotation_env(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.rotation.env_allow = names.into_iter().map(Into::into).collect();
        self
    }

    /// Runs rotation commands as the OS user `name` (the server must run as root). Fails if
    /// there is no such user, or the server may not switch to it.
    pub fn with_rotation_user(mut self, name: &str) -> Result<Self, String> {
        self.rotation.user = Some(crate::rotation::CommandUser::lookup(name)?);
        Ok(self)
    }

    /// Has the built-in PostgreSQL rotators trust only the CA certificates in the PEM file at
    /// `path` for database servers (default: the platform's). Fails if the file holds none, or
    /// if the server was built without the `postgres` feature.
    pub fn with_postgres_ca_file(mut self, path: &std::path::Path) -> Result<Self, String> {
        #[cfg(feature = "postgres")]
        {
            strongroom::PostgresRotator::single_user()
                .ca_file(path)
                .map_err(|e| e.to_string())?;
            self.rotation.postgres_ca_file = Some(path.to_path_buf());
            Ok(self)
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = (&mut self, path);
            Err("this server was built without the `postgres` feature".to_owned())
        }
    }

    /// How often the background task looks for due rotations (default
    /// [`crate::DEFAULT_ROTATION_INTERVAL`]); `RotateSecret` wakes it at once regardless.
    pub fn with_rotation_interval(mut self, interval: Duration) -> Self {
        self.rotation.interval = interval;
        self
    }

    /// The access key whose credentials rotation commands get, when authentication is on
    /// (default: the first key of the credentials). `run` fails if it is not among them.
    pub fn with_rotation_access_key(mut self, access_key_id: impl Into<String>) -> Self {
        self.rotation.access_key_id = Some(access_key_id.into());
        self
    }

    /// Verifies every request's SigV4 signature against these access keys.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(Arc::new(credentials));
        self
    }

    /// The clock that request dates are checked against (the system clock by default).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The largest request body accepted; larger ones get HTTP 413 before they are read.
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Serves over TLS with the certificate chain and key in `files` (and client certificates,
    /// if it names a CA): read now, so a bad file is an error here; [`crate::run`] reads them
    /// again on `SIGHUP`. Rotation commands then reach the server over `https` and get
    /// `AWS_CA_BUNDLE` set to the certificate file.
    pub fn with_tls(mut self, files: TlsFiles) -> Result<Self, String> {
        self.rotation.ca_bundle = Some(files.cert.clone());
        self.tls = Some(Arc::new(Tls::load(files)?));
        Ok(self)
    }

    /// Bounds on client connections: their number, and how long a request's head, an idle wait
    /// and a request may take (default [`ConnectionLimits::default`]).
    pub fn with_connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.connections = limits;
        self
    }

    /// How long `run`, once told to stop, lets requests in flight finish before it returns
    /// without them (default [`SHUTDOWN_GRACE`], 30 seconds).
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// With authentication off, also accept requests whose `Host` is not a loopback name (for a
    /// server deliberately reachable from other machines without authentication; without it,
    /// [`crate::run`] refuses a listener on an address other than loopback). NO SECURITY:
    /// without it, a request naming another host is refused, which stops web pages from reaching
    /// the server through DNS rebinding. Requests with an `Origin` header are refused either way.
    pub fn dangerous_accept_any_host(mut self) -> Self {
        self.accept_any_host = true;
        self
    }

    /// Whether requests are authenticated.
    pub fn authenticates(&self) -> bool {
        self.credentials.is_some()
    }

    /// The store served.
    pub fn store(&self) -> &SecretStore {
        &self.store
    }
}
