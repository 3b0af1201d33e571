//! How the rotator reaches the database: TLS with the server's certificate verified against
//! trusted CA certificates (the platform's, or a CA file the operator gives), or, only where no
//! one can sit on the path or the secret explicitly says so, a plain connection.
//!
//! There is no fallback from TLS to plain: a connection that must use TLS fails if the server
//! will not speak it or its certificate is not trusted for the host name, before any password
//! is sent. Over TLS, SCRAM logins also bind the channel (`SCRAM-SHA-256-PLUS`) where the
//! server offers it.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use ::postgres::config::{ChannelBinding, SslMode};
use ::postgres::{Client, Config, NoTls};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{PgResult, PostgresRotationError};

/// Whether `host` is this machine: a loopback address, `localhost`, or a Unix socket folder.
pub(super) fn is_local_host(host: &str) -> bool {
    if host.starts_with('/') {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = name
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(name);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The CA certificates a rotator trusts for database servers.
#[derive(Clone, Debug, Default)]
pub(super) struct TrustedRoots {
    /// `None`: the platform's (loaded once, on the first TLS connection).
    custom: Option<Arc<RootCertStore>>,
}

impl TrustedRoots {
    /// Only the CA certificates of the PEM file at `path`.
    pub(super) fn from_pem_file(path: &Path) -> PgResult<Self> {
        let bad =
            |why: String| PostgresRotationError::new(format!("CA file {}: {why}", path.display()));
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| bad(format!("a certificate is not usable: {e}")))?;
        }
        if roots.is_empty() {
            return Err(bad("holds no certificate".to_owned()));
        }
        Ok(Self {
            custom: Some(Arc::new(roots)),
        })
    }

    fn roots(&self) -> PgResult<Arc<RootCertStore>> {
        if let Some(roots) = &self.custom {
            return Ok(Arc::clone(roots));
        }
        static PLATFORM: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
        PLATFORM
            .get_or_init(|| {
                let found = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    Err("no trusted CA certificates were found on this machine: give the rotator a CA file".to_owned())
                } else {
                    Ok(Arc::new(roots))
                }
            })
            .clone()
            .map_err(PostgresRotationError::new)
    }

    fn connector(&self) -> PgResult<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PostgresRotationError::new(format!("TLS settings: {e}")))?
            .with_root_certificates(self.roots()?)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

/// Connects with `config` over TLS (`tls`) or plain; the error is the client's text, for the
/// caller to describe.
pub(super) fn connect(
    mut config: Config,
    tls: bool,
    roots: &TrustedRoots,
) -> Result<Client, ConnectError> {
    if tls {
        config
            .ssl_mode(SslMode::Require)
            .channel_binding(ChannelBinding::Prefer);
        let connector = roots.connector().map_err(ConnectError::Setup)?;
        config.connect(connector).map_err(ConnectError::Database)
    } else {
        config.ssl_mode(SslMode::Disable);
        config.connect(NoTls).map_err(ConnectError::Database)
    }
}

/// Why a connection could not be made.
pub(super) enum ConnectError {
    /// The TLS settings could not be built (no CA certificates, say).
    Setup(PostgresRotationError),
    /// The database or the network refused it.
    Database(::postgres::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts_are_loopback_addresses_localhost_and_socket_folders() {
        for host in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "localhost",
            "LocalHost.",
            "/var/run/postgresql",
        ] {
            assert!(is_local_host(host), "{host}");
        }
        for host in [
            "db.example",
            "10.0.0.5",
            "192.168.1.1",
            "::ffff:10.0.0.1",
            "localhost.example",
            "127.0.0.1.example",
            "",
        ] {
            assert!(!is_local_host(host), "{host}");
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = TrustedRoots::from_pem_file(&path).unwrap_err();
        assert!(e.message().contains("holds no certificate"), "{e}");
        let e = TrustedRoots::from_pem_file(&dir.path().join("absent.pem")).unwrap_err();
        assert!(e.message().contains("absent.pem"), "{e}");
    }
}
