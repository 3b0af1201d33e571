//! Who is calling: the access keys of the credentials file and the principals they stand for,
//! and the signing keys derived from them (cached once a signature verified). Requests are
//! verified by [`sigv4`].

mod sigv4;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use strongroom::Principal;
use zeroize::Zeroizing;

use sigv4::derive_signing_key;

use crate::error::ConfigError;
pub(crate) use sigv4::{claimed_access_key, scope_region, verify};

/// How far a request's `X-Amz-Date` may be from the server's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// The service name in a SigV4 credential scope.
const SERVICE: &str = "secretsmanager";

/// Headers a request may carry once only: a second copy could mean one thing to the signature
/// and another to the server.
const SINGLE_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "x-amz-date",
    "x-amz-target",
    "content-type",
    "x-amz-content-sha256",
    "x-amz-security-token",
];

/// Access keys the server accepts, each mapped to the principal it authenticates.
///
/// Secret access keys are wiped from memory when dropped and never shown by `Debug`.
#[derive(Default)]
pub struct Credentials {
    keys: HashMap<String, AccessKey>,
    /// The access key id added first (the file's first): the key rotation functions sign with
    /// unless another is designated.
    first: Option<String>,
    /// Signing keys derived for `(access key id, date, region)`: deriving one takes four HMACs,
    /// and a client signs every request of a day in a region with the same one. Wiped on drop.
    signing_keys: Mutex<HashMap<(String, String, String), SigningKey>>,
}

type SigningKey = Zeroizing<Vec<u8>>;

/// Derived signing keys kept at most; the cache is emptied when it would grow beyond.
const MAX_SIGNING_KEYS: usize = 1024;

struct AccessKey {
    secret: Zeroizing<String>,
    principal: Principal,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("Credentials")
            .field("access_key_ids", &ids)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    credentials: Vec<CredentialEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialEntry {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    principal: String,
}

impl Credentials {
    /// No access keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an access key.
    pub fn with_key(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        principal: Principal,
    ) -> Self {
        let access_key_id = access_key_id.into();
        if self.first.is_none() {
            self.first = Some(access_key_id.clone());
        }
        self.keys.insert(
            access_key_id,
            AccessKey {
                secret: Zeroizing::new(secret_access_key.into()),
                principal,
            },
        );
        self
    }

    /// The number of access keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no access keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `access_key_id` is one of the access keys.
    pub fn contains(&self, access_key_id: &str) -> bool {
        self.keys.contains_key(access_key_id)
    }

    /// The access key `access_key_id`, or without one the first added (the first of a file),
    /// with its secret key: what rotation functions sign their requests with.
    pub(crate) fn key_pair(
        &self,
        access_key_id: Option<&str>,
    ) -> Option<(String, Zeroizing<String>)> {
        let id = access_key_id.or(self.first.as_deref())?;
        self.keys.get(id).map(|k| (id.to_owned(), k.secret.clone()))
    }

    /// Reads a credentials file (see [`Credentials::parse`]). Like a key file, it must not be
    /// readable or writable by its group or others (mode `0600`), or it is refused.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = file.metadata().map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!(
                        "the credentials file is accessible to its group or others (mode {:o}); make it private with chmod 600",
                        mode & 0o777
                    ),
                });
            }
        }
        let mut text = Zeroizing::new(String::new());
        std::io::Read::read_to_string(&mut file, &mut text).map_err(io)?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses credentials in either of two forms:
    ///
    /// - lines of `ACCESS_KEY_ID SECRET_ACCESS_KEY PRINCIPAL` separated by white space, with
    ///   blank lines and `#` comments ignored;
    /// - TOML, recognised by a first non-comment line starting with `[`:
    ///   `[[credentials]]` tables with `access_key_id`, `secret_access_key` and `principal`.
    ///
    /// Errors name the line, never a secret key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let meaningful = |l: &&str| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        };
        let toml = text
            .lines()
            .find(meaningful)
            .is_some_and(|l| l.trim_start().starts_with('['));
        let mut creds = Self::new();
        if toml {
            // The parser's message may quote a value (a secret key): report only where it is.
            let file: CredentialsFile = toml::from_str(text).map_err(|e| {
                let line = e.span().map_or(0, |span| {
                    text.get(..span.start).map_or(0, |t| t.lines().count())
                });
                format!("not a valid credentials TOML file (near line {line})")
            })?;
            for (i, e) in file.credentials.into_iter().enumerate() {
                let principal = Principal::new(e.principal)
                    .map_err(|err| format!("credentials entry {}: {err}", i + 1))?;
                if e.access_key_id.is_empty() || e.secret_access_key.is_empty() {
                    return Err(format!("credentials entry {}: empty access key", i + 1));
                }
                creds = creds.with_key(e.access_key_id, e.secret_access_key.as_str(), principal);
            }
        } else {
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                let [id, secret, principal] = words.as_slice() else {
                    return Err(format!(
                        "line {}: expected ACCESS_KEY_ID SECRET_ACCESS_KEY PRINCIPAL",
                        i + 1
                    ));
                };
                let principal =
                    Principal::new(*principal).map_err(|err| format!("line {}: {err}", i + 1))?;
                creds = creds.with_key(*id, *secret, principal);
            }
        }
        if creds.is_empty() {
            return Err("no access keys".to_owned());
        }
        Ok(creds)
    }

    /// The signing key of `access_key_id` for `date` and `region` (service `secretsmanager`),
    /// and whether it came from the cache.
    fn signing_key(
        &self,
        access_key_id: &str,
        secret: &str,
        date: &str,
        region: &str,
    ) -> (SigningKey, bool) {
        let id = (access_key_id.to_owned(), date.to_owned(), region.to_owned());
        let cache = self
            .signing_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match cache.get(&id) {
            Some(k) => (k.clone(), true),
            None => (derive_signing_key(secret, date, region, SERVICE), false),
        }
    }

    /// Keeps a signing key that verified a request.
    fn remember_signing_key(&self, access_key_id: &str, date: &str, region: &str, key: SigningKey) {
        let mut cache = self
            .signing_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_SIGNING_KEYS {
            cache.clear();
        }
        cache.insert(
            (access_key_id.to_owned(), date.to_owned(), region.to_owned()),
            key,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_credential_file_forms_and_hides_secrets() {
        let lines =
            Credentials::parse("# comment\n\nAKID1 secret-one alice\nAKID2 secret-two bob\n")
                .unwrap();
        assert_eq!(lines.len(), 2);
        let toml = Credentials::parse(
            "# keys\n[[credentials]]\naccess_key_id = \"AKID\"\nsecret_access_key = \"s3cr3t-value\"\nprincipal = \"carol\"\n",
        )
        .unwrap();
        assert_eq!(toml.len(), 1);
        let shown = format!("{lines:?} {toml:?}");
        assert!(shown.contains("AKID1"));
        for secret in ["secret-one", "secret-two", "s3cr3t-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let err = Credentials::parse("AKID only-two\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        assert!(!err.contains("only-two"), "{err}");
        assert!(Credentials::parse("# nothing\n").is_err());
    }
}
