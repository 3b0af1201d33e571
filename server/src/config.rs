//! The server's settings: command-line flags, optionally a TOML file holding the same settings
//! (flags win), and documented defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;
use crate::listener::ConnectionLimits;

/// The address `strongroom serve` listens on by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7320";
/// The data folder `strongroom serve` uses by default, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "strongroom-data";
/// The key file's name inside the data folder, unless `--key-file` says otherwise.
pub const DEFAULT_KEY_FILE: &str = "master.key";
/// The region served when a request carries no SigV4 credential scope.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The account id in ARNs, unless configured.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

/// The settings of `strongroom serve`, each optional; what is absent takes its default.
///
/// As a TOML file (`--config FILE`), the keys are `listen`, `data`, `key_file`, `region`,
/// `account_id`, `credentials`, `allow_unauthenticated`, `rotation_step_timeout` (seconds),
/// `postgres_ca_file`, `tls_cert`, `tls_key`, `tls_client_ca`, `allow_plaintext`, `rotate_without_function`, `audit_mode` (`"buffered"` or `"strict"`), `audit_anchor`, `rotation_env` (a list of names), `rotation_user`, `max_connections`, `header_read_timeout`, `idle_timeout`, `request_timeout`
/// and `max_requests_per_connection` (seconds and counts, at least 1),
/// `rotation_access_key_id`, and the table `[rotation_functions]` of `"ARN" = "COMMAND"`
/// entries; relative paths in the file are relative to the file's folder (a command's words are
/// not paths: it runs in the server's working directory).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Settings {
    /// `ADDR:PORT` to listen on.
    pub listen: Option<SocketAddr>,
    /// The data folder.
    pub data: Option<PathBuf>,
    /// The master key file.
    pub key_file: Option<PathBuf>,
    /// The default region.
    pub region: Option<String>,
    /// The account id in ARNs.
    pub account_id: Option<String>,
    /// The credentials file; without one, authentication is off.
    pub credentials: Option<PathBuf>,
    /// Allow authentication to be off on an address other than loopback.
    pub allow_unauthenticated: Option<bool>,
    /// Rotation functions: `RotationLambdaARN` → `COMMAND` (or `builtin:NAME`), see
    /// [`crate::RotationFunction::parse`].
    #[serde(default)]
    pub rotation_functions: BTreeMap<String, String>,
    /// Seconds one step of a rotation command may run before it is killed.
    pub rotation_step_timeout: Option<u64>,
    /// The access key whose credentials rotation commands get (default: the first).
    pub rotation_access_key_id: Option<String>,
    /// PEM CA certificates the built-in PostgreSQL rotators trust for database servers
    /// (default: the platform's).
    pub postgres_ca_file: Option<PathBuf>,
    /// The TLS certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// A CA (PEM) that client certificates must be signed by.
    pub tls_client_ca: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback.
    pub allow_plaintext: Option<bool>,
    /// Variables of the server's environment rotation commands get besides the basics.
    #[serde(default)]
    pub rotation_env: Vec<String>,
    /// The OS user rotation commands run as (the server must run as root).
    pub rotation_user: Option<String>,
    /// Concurrent client connections (default: the descriptor limit less 64).
    pub max_connections: Option<u64>,
    /// Seconds a request's head may take to arrive (default 10).
    pub header_read_timeout: Option<u64>,
    /// Seconds a connection may wait between requests (default 60).
    pub idle_timeout: Option<u64>,
    /// Seconds one request may take (default 60).
    pub request_timeout: Option<u64>,
    /// Requests served on one connection before it is closed (default 1,000).
    pub max_requests_per_connection: Option<u64>,
    /// A testing aid: rotate a secret whose `RotateSecret` names no rotation function, or one
    /// not mapped, by making a copy of its current value the new `AWSCURRENT` version, as moto
    /// does (AWS refuses both).
    pub rotate_without_function: Option<bool>,
    /// When a read's audit entry must be durable (`--audit-mode`).
    pub audit_mode: Option<AuditModeSetting>,
    /// A file outside the data folder that keeps the audit log's newest signed position
    /// (`--audit-anchor`).
    pub audit_anchor: Option<PathBuf>,
}

/// `--audit-mode`: the server offers the buffered and strict audit modes, never off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AuditModeSetting {
    /// Appended before the read returns, synced at most 100 ms later.
    Buffered,
    /// Synced before the read returns.
    Strict,
}

/// A settings file names commands the server runs and files it trusts: like the credentials
/// and key files, it must be its owner's alone (no access for the group or others), and that
/// owner must be the server's user or root.
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), ConfigError> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(invalid(format!(
            "the settings file is accessible to its group or others (mode {mode:o}); it names commands the server runs: make it private with chmod 600"
        )));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(invalid(format!(
            "the settings file belongs to user id {}, neither the server's ({me}) nor root's; it names commands the server runs",
            meta.uid()
        )));
    }
    Ok(())
}

impl Settings {
    /// Reads a TOML settings file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        check_private(path, &file.metadata().map_err(io)?)?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(io)?;
        let mut s: Self = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })?;
        crate::rotation::parse_rotation_table(&s.rotation_functions).map_err(|message| {
            ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("[rotation_functions]: {message}"),
            }
        })?;
        for (name, value, unit) in [
            ("rotation_step_timeout", s.rotation_step_timeout, " second"),
            ("max_connections", s.max_connections, ""),
            ("header_read_timeout", s.header_read_timeout, " second"),
            ("idle_timeout", s.idle_timeout, " second"),
            ("request_timeout", s.request_timeout, " second"),
            (
                "max_requests_per_connection",
                s.max_requests_per_connection,
                "",
            ),
        ] {
            if value == Some(0) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("{name} must be at least 1{unit}"),
                });
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut s.data,
            &mut s.key_file,
            &mut s.credentials,
            &mut s.postgres_ca_file,
            &mut s.tls_cert,
            &mut s.tls_key,
            &mut s.tls_client_ca,
            &mut s.audit_anchor,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(s)
    }

    /// These settings, with every one that is absent taken from `fallback`. Rotation functions
    /// are merged by ARN, these winning.
    pub fn or(self, fallback: Self) -> Self {
        let mut rotation_functions = fallback.rotation_functions;
        rotation_functions.extend(self.rotation_functions);
        Self {
            listen: self.listen.or(fallback.listen),
            data: self.data.or(fallback.data),
            key_file: self.key_file.or(fallback.key_file),
            region: self.region.or(fallback.region),
            account_id: self.account_id.or(fallback.account_id),
            credentials: self.credentials.or(fallback.credentials),
            allow_unauthenticated: self
                .allow_unauthenticated
                .or(fallback.allow_unauthenticated),
            rotation_functions,
            rotation_step_timeout: self
                .rotation_step_timeout
                .or(fallback.rotation_step_timeout),
            rotation_access_key_id: self
                .rotation_access_key_id
                .or(fallback.rotation_access_key_id),
            postgres_ca_file: self.postgres_ca_file.or(fallback.postgres_ca_file),
            rotation_env: if self.rotation_env.is_empty() {
                fallback.rotation_env
            } else {
                self.rotation_env
            },
            rotation_user: self.rotation_user.or(fallback.rotation_user),
            tls_cert: self.tls_cert.or(fallback.tls_cert),
            tls_key: self.tls_key.or(fallback.tls_key),
            tls_client_ca: self.tls_client_ca.or(fallback.tls_client_ca),
            allow_plaintext: self.allow_plaintext.or(fallback.allow_plaintext),
            rotate_without_function: self
                .rotate_without_function
                .or(fallback.rotate_without_function),
            audit_mode: self.audit_mode.or(fallback.audit_mode),
            audit_anchor: self.audit_anchor.or(fallback.audit_anchor),
            max_connections: self.max_connections.or(fallback.max_connections),
            header_read_timeout: self.header_read_timeout.or(fallback.header_read_timeout),
            idle_timeout: self.idle_timeout.or(fallback.idle_timeout),
            request_timeout: self.request_timeout.or(fallback.request_timeout),
            max_requests_per_connection: self
                .max_requests_per_connection
                .or(fallback.max_requests_per_connection),
        }
    }

    /// The connection limits these settings give, defaults filled in.
    pub fn connection_limits(&self) -> ConnectionLimits {
        let defaults = ConnectionLimits::default();
        let secs = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_secs);
        ConnectionLimits {
            max_connections: self
                .max_connections
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            header_read_timeout: secs(self.header_read_timeout, defaults.header_read_timeout),
            idle_timeout: secs(self.idle_timeout, defaults.idle_timeout),
            request_timeout: secs(self.request_timeout, defaults.request_timeout),
            max_requests_per_connection: self
                .max_requests_per_connection
                .unwrap_or(defaults.max_requests_per_connection),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_settings_become_limits_with_defaults_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "max_connections = 50\nheader_read_timeout = 3\nidle_timeout = 30\nmax_requests_per_connection = 7\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let file = Settings::load(&path).unwrap();
        let flags = Settings {
            idle_timeout: Some(5),
            ..Settings::default()
        };
        let limits = flags.or(file).connection_limits();
        assert_eq!(
            limits,
            ConnectionLimits {
                max_connections: Some(50),
                header_read_timeout: Duration::from_secs(3),
                idle_timeout: Duration::from_secs(5),
                request_timeout: ConnectionLimits::default().request_timeout,
                max_requests_per_connection: 7,
            }
        );
        assert_eq!(
            Settings::default().connection_limits(),
            ConnectionLimits::default()
        );
    }

    #[test]
    fn the_audit_mode_is_buffered_or_strict_and_the_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let write = |text: &str| {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
        };
        write("audit_mode = \"strict\"\n");
        let file = Settings::load(&path).unwrap();
        assert_eq!(file.audit_mode, Some(AuditModeSetting::Strict));
        let flags = Settings {
            audit_mode: Some(AuditModeSetting::Buffered),
            ..Settings::default()
        };
        assert_eq!(flags.or(file).audit_mode, Some(AuditModeSetting::Buffered));
        write("audit_mode = \"off\"\n");
        assert!(
            Settings::load(&path).is_err(),
            "the server never turns the log off"
        );
    }
}
