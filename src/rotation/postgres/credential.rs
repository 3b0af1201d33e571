//! The credential a PostgreSQL rotation works on: AWS's JSON shape of a database secret,
//! parsed and validated, with the password wiped on drop and never shown.

use std::fmt;

use ::postgres::Config;
use ::postgres::error::SqlState;
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::model::SecretValue;

use super::{
    CLONE_SUFFIX, DEFAULT_DBNAME, DEFAULT_PORT, ENGINES, MAX_ROLE_NAME, PgResult,
    PostgresRotationError,
};

/// A PostgreSQL credential read from a secret's JSON value (see [`crate::PostgresRotator`] for
/// the shape). `Debug` shows everything but the password; the password is wiped on drop.
///
/// An application that reads such a secret through a [`crate::SecretCache`] keeps working
/// through rotations with [`crate::SecretCache::with_credential`]:
///
/// ```no_run
/// use std::time::Duration;
/// use strongroom::{Attempt, PostgresCredential, SecretCache, SecretId};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let cache: SecretCache = unimplemented!();
/// let id = SecretId::new("prod/db/app")?;
/// let mut client = cache.with_credential(&id, |secret| {
///     let credential = PostgresCredential::from_secret(&secret.value)
///         .map_err(|e| Attempt::Failed(e.to_string()))?;
///     let mut config = credential.config();
///     config.connect_timeout(Duration::from_secs(10));
///     // A local database; another host needs TLS (`credential.uses_tls()`), for example
///     // with `tokio-postgres-rustls`.
///     config.connect(postgres::NoTls).map_err(|e| {
///         if PostgresCredential::is_auth_failure(&e) {
///             Attempt::AuthFailed(e.to_string())
///         } else {
///             Attempt::Failed(e.to_string())
///         }
///     })
/// })?;
/// client.simple_query("SELECT 1")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresCredential {
    /// Every field of the JSON object except `password`, as stored.
    pub(super) fields: Map<String, Value>,
    pub(super) password: Zeroizing<String>,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) username: String,
    pub(super) dbname: String,
    pub(super) master_arn: Option<String>,
    /// The `ssl` field: `None` when absent.
    pub(super) ssl: Option<bool>,
}

impl fmt::Debug for PostgresCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresCredential")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("dbname", &self.dbname)
            .field("master_arn", &self.master_arn)
            .field("ssl", &self.ssl)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl PostgresCredential {
    /// Reads a credential from a secret's value: a JSON object with `engine` (`postgres` or
    /// `aurora-postgresql`), `host`, `username` and `password`, and optionally `port`
    /// (default 5432), `dbname` (default `postgres`), `masterarn` and `ssl` (`true` or
    /// `false`, as a JSON boolean or string; see [`Self::uses_tls`]).
    pub fn from_secret(value: &SecretValue) -> Result<Self, PostgresRotationError> {
        let text = value.expose_str().ok_or_else(|| {
            PostgresRotationError::new(
                "the secret's value is binary; a PostgreSQL credential is a JSON object",
            )
        })?;
        Self::from_json(text)
    }

    /// Reads a credential from the JSON text of a secret's value (see [`Self::from_secret`]).
    pub fn from_json(text: &str) -> Result<Self, PostgresRotationError> {
        // serde_json's message may quote the value (`invalid type: string "..."`): only the
        // position and category are reported.
        let parsed: Value = serde_json::from_str(text).map_err(|e| {
            PostgresRotationError::new(format!(
                "the secret's value is not valid JSON ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(mut fields) = parsed else {
            return Err(PostgresRotationError::new(
                "the secret's value is not a JSON object",
            ));
        };
        let password = match fields.remove("password") {
            Some(Value::String(p)) => Zeroizing::new(p),
            Some(_) => {
                return Err(PostgresRotationError::new(
                    "field `password` is not a string",
                ));
            }
            None => return Err(PostgresRotationError::new("field `password` is missing")),
        };
        let engine = text_field(&fields, "engine")?;
        if !ENGINES.contains(&engine.as_str()) {
            return Err(PostgresRotationError::new(
                "database engine must be set to 'postgres' (field `engine`) in order to use this rotator",
            ));
        }
        let host = text_field(&fields, "host")?;
        let username = text_field(&fields, "username")?;
        let port = match fields.get("port") {
            None | Some(Value::Null) => DEFAULT_PORT,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| PostgresRotationError::new("field `port` is not a TCP port"))?,
            Some(Value::String(s)) => s
                .trim()
                .parse::<u16>()
                .map_err(|_| PostgresRotationError::new("field `port` is not a TCP port"))?,
            Some(_) => return Err(PostgresRotationError::new("field `port` is not a TCP port")),
        };
        let dbname = match fields.get("dbname") {
            None | Some(Value::Null) => DEFAULT_DBNAME.to_owned(),
            Some(_) => text_field(&fields, "dbname")?,
        };
        let master_arn = match fields.get("masterarn") {
            None | Some(Value::Null) => None,
            Some(_) => Some(text_field(&fields, "masterarn")?),
        };
        let ssl = match fields.get("ssl") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            Some(_) => {
                return Err(PostgresRotationError::new(
                    "field `ssl` must be true or false",
                ));
            }
        };
        Ok(Self {
            fields,
            password,
            host,
            port,
            username,
            dbname,
            master_arn,
            ssl,
        })
    }

    /// The database host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The database port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The role to log in as.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The database to connect to.
    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// The admin secret named by `masterarn`, if any.
    pub fn master_arn(&self) -> Option<&str> {
        self.master_arn.as_deref()
    }

    /// The password.
    pub fn expose_password(&self) -> &str {
        &self.password
    }

    /// Whether a connection with this credential must use TLS (with the server's certificate
    /// verified; never falling back to plain): as the secret's `ssl` field says, and when it has
    /// none, whenever the host is not this machine (a loopback address, `localhost` or a Unix
    /// socket folder). Unlike AWS's rotation templates, which try TLS and fall back to a plain
    /// connection, so that anyone on the path could pose as the database and be sent passwords.
    pub fn uses_tls(&self) -> bool {
        self.ssl
            .unwrap_or_else(|| !super::tls::is_local_host(&self.host))
    }

    /// A client configuration for this credential: host, port, user, password and database.
    /// Add timeouts as needed, then connect: over TLS when [`Self::uses_tls`] says so.
    pub fn config(&self) -> Config {
        let mut config = Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.username)
            .password(self.password.as_bytes())
            .dbname(&self.dbname);
        config
    }

    /// Whether `error` is the database refusing a credential (SQLSTATE class 28: a wrong
    /// password, an unknown role, a role that may not log in): the case in which
    /// [`crate::SecretCache::with_credential`] should refresh the secret and retry
    /// ([`crate::Attempt::AuthFailed`]).
    pub fn is_auth_failure(error: &::postgres::Error) -> bool {
        error.code().is_some_and(|c| {
            *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        })
    }

    /// The same credential with another username and password, every other field kept.
    pub(super) fn with(&self, username: String, password: Zeroizing<String>) -> Self {
        let mut fields = self.fields.clone();
        fields.insert("username".to_owned(), Value::String(username.clone()));
        Self {
            fields,
            password,
            username,
            ..self.clone()
        }
    }

    /// The JSON value of this credential, built without leaving copies of the password behind.
    pub(super) fn to_secret_value(&self) -> PgResult<SecretValue> {
        let mut map = self.fields.clone();
        map.insert(
            "password".to_owned(),
            Value::String(String::from(self.password.as_str())),
        );
        // Big enough for any value the store accepts, so the buffer never moves (which would
        // leave an unwiped copy).
        let mut buf = Zeroizing::new(Vec::with_capacity(crate::MAX_SECRET_BYTES + 1024));
        let written = serde_json::to_writer(&mut *buf, &map);
        if let Some(Value::String(mut p)) = map.remove("password") {
            p.zeroize();
        }
        written.map_err(|_| PostgresRotationError::new("could not encode the credential"))?;
        let text = String::from_utf8(std::mem::take(&mut *buf))
            .map_err(|_| PostgresRotationError::new("could not encode the credential"))?;
        SecretValue::string(text)
            .map_err(|e| PostgresRotationError::new(format!("the new secret value: {e}")))
    }

    pub(super) fn same_server(&self, other: &Self) -> bool {
        self.host == other.host && self.port == other.port
    }
}

fn text_field(fields: &Map<String, Value>, name: &str) -> PgResult<String> {
    match fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(PostgresRotationError::new(format!(
            "field `{name}` is empty"
        ))),
        Some(_) => Err(PostgresRotationError::new(format!(
            "field `{name}` is not a string"
        ))),
        None => Err(PostgresRotationError::new(format!(
            "field `{name}` is missing"
        ))),
    }
}

/// The other user of the alternating pair: `X_clone` for `X`, `X` for `X_clone`.
pub(super) fn alternate_username(current: &str) -> PgResult<String> {
    if let Some(base) = current.strip_suffix(CLONE_SUFFIX) {
        return Ok(base.to_owned());
    }
    let clone = format!("{current}{CLONE_SUFFIX}");
    if clone.len() > MAX_ROLE_NAME {
        return Err(PostgresRotationError::new(format!(
            "cannot clone user {current:?}: with {CLONE_SUFFIX:?} appended its name would exceed {MAX_ROLE_NAME} bytes"
        )));
    }
    Ok(clone)
}
