//! # strongroom-server
//!
//! The AWS Secrets Manager wire protocol (JSON 1.1 over HTTP, SigV4) in front of a
//! [`strongroom::SecretStore`], so that AWS SDKs and the AWS CLI work against it unchanged.
//!
//! `RotateSecret` runs the rotation functions the state maps
//! ([`ServerState::with_rotation_function`]): local commands that receive the Lambda event, so
//! that rotation functions written for AWS Lambda run unchanged, or built-in rotators.
//!
//! ```no_run
//! use std::sync::Arc;
//! use strongroom::{LocalKeyProvider, SecretStore};
//! use strongroom_server::{ServerState, run};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let provider = LocalKeyProvider::open("data/master.key")?;
//! let store = SecretStore::builder("data/db", Arc::new(provider)).open()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! run(listener, ServerState::new(store), std::future::pending()).await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod audit;
mod auth;
mod config;
mod error;
mod listener;
mod ops;
mod protocol;
mod rotation;
mod server;
mod state;
mod tls;

pub use audit::audit_json;
pub use auth::{Credentials, MAX_CLOCK_SKEW};
pub use config::{
    AuditModeSetting, DEFAULT_ACCOUNT_ID, DEFAULT_DATA_DIR, DEFAULT_KEY_FILE, DEFAULT_LISTEN,
    DEFAULT_REGION, Settings,
};
pub use error::ConfigError;
pub use listener::{ConnectionLimits, raise_descriptor_limit};
pub use protocol::{BODY_READ_TIMEOUT, router};
pub use rotation::{
    DEFAULT_ROTATION_INTERVAL, DEFAULT_ROTATION_STEP_TIMEOUT, ROTATION_STOP_WAIT, RotationFunction,
    become_subreaper, parse_rotation_mapping, parse_rotation_table,
};
pub use server::run;
pub use state::{DEFAULT_MAX_BODY_BYTES, SHUTDOWN_GRACE, ServerState};
pub use tls::TlsFiles;
