//! The built-in PostgreSQL rotator (feature `postgres`): [`PostgresRotator`], the two strategies
//! of AWS's database rotation templates, run in process.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ::postgres::Client;
use postgres_protocol::escape::{escape_identifier, escape_literal};
use zeroize::Zeroizing;

use crate::error::ErrorKind;
use crate::model::{Arn, SecretId, StagingLabel, VersionId};
use crate::password::get_random_password;
use crate::store::{
    GetRandomPasswordInput, GetSecretValueInput, PutSecretValueInput, Rotator, Session, StepError,
};

mod credential;
mod error;
mod tls;

pub use credential::PostgresCredential;
use credential::alternate_username;
pub use error::PostgresRotationError;
use error::{PgResult, describe};
use tls::{ConnectError, TrustedRoots};

/// The characters AWS's templates leave out of new passwords (`EXCLUDE_CHARACTERS`).
const DEFAULT_EXCLUDE: &str = "/@\"'\\";
/// The suffix of the alternating user.
const CLONE_SUFFIX: &str = "_clone";
/// PostgreSQL's longest identifier (`NAMEDATALEN - 1`), in bytes.
const MAX_ROLE_NAME: usize = 63;
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_DBNAME: &str = "postgres";
const ENGINES: [&str; 2] = ["postgres", "aurora-postgresql"];

/// How a [`PostgresRotator`] changes the credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PostgresStrategy {
    /// One role whose password changes (AWS's `SingleUser` template). Readers holding the old
    /// password are refused between `setSecret` and `finishSecret` and must retry.
    SingleUser,
    /// Two roles, `X` and `X_clone`, that take turns (AWS's `MultiUser` template). The current
    /// credential is never changed; needs an admin credential (`masterarn`).
    AlternatingUsers,
}

/// A rotator for PostgreSQL credentials (feature `postgres`): the two strategies of AWS's
/// database rotation templates, `SecretsManagerRDSPostgreSQLRotationSingleUser` and
/// `SecretsManagerRDSPostgreSQLRotationMultiUser`, run in process.
///
/// # The secret's value
///
/// The same JSON object as AWS's templates use:
///
/// ```json
/// {"engine": "postgres", "host": "db.example", "port": 5432, "username": "app",
///  "password": "...", "dbname": "app", "masterarn": "arn:aws:secretsmanager:..."}
/// ```
///
/// `engine` (`postgres` or `aurora-postgresql`), `host`, `username` and `password` are required;
/// `port` (a number or a numeric string) defaults to 5432 and `dbname` to `postgres`. `masterarn`
/// is needed only by [`PostgresStrategy::AlternatingUsers`]: the ARN (or name) of a secret in the
/// same store, of the same shape, whose `AWSCURRENT` credential may create and alter roles. Any
/// other field is kept as it is in every new version.
///
/// # Strategies
///
/// - [`PostgresStrategy::SingleUser`]: the user's own password changes. `createSecret` copies
///   `AWSCURRENT` with a new password; `setSecret` logs in with `AWSCURRENT` (or, failing that,
///   `AWSPREVIOUS`) and runs `ALTER ROLE <user> WITH PASSWORD ...`. Between `setSecret` and
///   `finishSecret` the database accepts only the `AWSPENDING` password, so readers must retry
///   with it: [`crate::SecretCache::with_credential`] does (refresh, then the `AWSPENDING`
///   fallback).
/// - [`PostgresStrategy::AlternatingUsers`]: two roles take turns, `X` and `X_clone`. Each
///   rotation gives the role that is *not* current a new password (as the `masterarn` admin), so
///   the current credential keeps working throughout and readers never see a refusal. The first
///   rotation creates `X_clone` (`CREATE ROLE ... WITH LOGIN PASSWORD ...`) and makes it a member
///   of `X` (`GRANT X TO X_clone`, as AWS's template does): the clone inherits every privilege
///   and membership of `X`, including later grants to `X`. Not carried over (as with AWS):
///   attributes that membership does not pass on (`SUPERUSER`, `CREATEDB`, `CREATEROLE`,
///   `REPLICATION`, `BYPASSRLS`, `CONNECTION LIMIT`), per-role settings (`ALTER ROLE X SET ...`),
///   and ownership: objects that `X_clone` creates belong to `X_clone` (have the application run
///   `SET ROLE X` first, or use `ALTER DEFAULT PRIVILEGES`, where that matters). Whenever
///   `setSecret` changes the clone's password it also checks the membership and grants it if it
///   is missing (a step that finds the pending credential already working changes nothing); it
///   never creates `X` itself.
///
/// `testSecret` logs in with `AWSPENDING` and runs `SELECT NOW()`; `finishSecret` is the standard
/// one ([`crate::finish_secret`]). Every step is idempotent: `createSecret` does nothing if the
/// version already has a value, and `setSecret` does nothing if the `AWSPENDING` credential
/// already logs in.
///
/// # Keeping the password secret
///
/// - The new password comes from [`crate::get_random_password`], without the characters that
///   break connection strings and quoting (`/@"'\` by default, as AWS).
/// - No statement carries it: `ALTER ROLE` and `CREATE ROLE` carry a SCRAM-SHA-256 verifier
///   computed here, so neither the server's statement log (a failed statement is logged by
///   default) nor the client's debug log (`tokio-postgres` logs statements at `debug` level)
///   holds the password. (A verifier cannot be used to log in. It needs PostgreSQL 10 or later,
///   and clients that cannot do SCRAM cannot log in as the rotated role.) Role names are quoted
///   as identifiers and the verifier as a literal, with `postgres-protocol`'s escaping (libpq's
///   rules), never pasted in raw.
/// - Error texts never contain a password (a database message that quotes one is withheld);
///   `Debug` of [`PostgresCredential`] redacts it; passwords are held in wiping types. (The
///   `postgres` client keeps its own copy while it connects, which is not wiped.)
///
/// # TLS
///
/// A connection uses TLS as the secret's `ssl` field says, and without one whenever `host` is not
/// this machine ([`PostgresCredential::uses_tls`]). Over TLS the server's certificate is verified
/// for `host` against the platform's CA certificates, or only those of [`Self::ca_file`], and
/// SCRAM binds the channel where the server offers `SCRAM-SHA-256-PLUS`. There is no fallback to
/// a plain connection, unlike AWS's templates: a server that will not speak TLS or presents an
/// untrusted certificate fails the step before any password is sent.
///
/// The client (`tokio-postgres`) logs statement text and parameters at `debug` level through
/// `log`; the `ALTER ROLE` statements carry password verifiers, which can be attacked offline.
/// Cap the `tokio_postgres` target at `info` in your logger (the server does).
///
/// # Timeouts
///
/// Every connection has a connect timeout (default 10 s, also used as the TCP user timeout), and
/// every statement a server-side `statement_timeout` and `lock_timeout`. All of one step's
/// database work runs under a deadline (default 60 s): a database that accepts connections and
/// then never answers fails the step instead of hanging the driver. (The abandoned work ends
/// when its connection does; if it gets through first, it has done what the step's retry does.)
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use strongroom::{PostgresRotator, RotateSecretInput, SecretId, SecretStore};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let store: SecretStore = unimplemented!();
/// let function = "arn:aws:lambda:us-east-1:000000000000:function:postgres-rotation";
/// store.register_rotator(function, Arc::new(PostgresRotator::alternating_users()));
///
/// let session = store.as_system();
/// let id = SecretId::new("prod/db/app")?;
/// session.rotate_secret(RotateSecretInput::new(id.clone()).rotation_lambda_arn(function))?;
/// session.drive_rotation(&id)?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PostgresRotator {
    strategy: PostgresStrategy,
    connect_timeout: Duration,
    step_timeout: Duration,
    password_length: u32,
    exclude_characters: String,
    roots: TrustedRoots,
}

impl PostgresRotator {
    /// A rotator with `strategy`, a connect timeout of 10 s, a step deadline of 60 s, and
    /// 32-character passwords without `/@"'\`.
    pub fn new(strategy: PostgresStrategy) -> Self {
        Self {
            strategy,
            connect_timeout: Duration::from_secs(10),
            step_timeout: Duration::from_secs(60),
            password_length: 32,
            exclude_characters: DEFAULT_EXCLUDE.to_owned(),
            roots: TrustedRoots::default(),
        }
    }

    /// [`PostgresStrategy::SingleUser`]: the role's own password changes.
    pub fn single_user() -> Self {
        Self::new(PostgresStrategy::SingleUser)
    }

    /// [`PostgresStrategy::AlternatingUsers`]: `X` and `X_clone` take turns; the secret needs a
    /// `masterarn`.
    pub fn alternating_users() -> Self {
        Self::new(PostgresStrategy::AlternatingUsers)
    }

    /// The longest wait for a TCP connection to the database (default 10 s); also the TCP user
    /// timeout of every connection.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest time one step's database work may take, connecting included (default 60 s);
    /// also each statement's `statement_timeout` and `lock_timeout` on the server.
    #[must_use]
    pub fn step_timeout(mut self, timeout: Duration) -> Self {
        self.step_timeout = timeout;
        self
    }

    /// The length of new passwords (default 32).
    #[must_use]
    pub fn password_length(mut self, length: u32) -> Self {
        self.password_length = length;
        self
    }

    /// Characters never used in new passwords (default `/@"'\`, as AWS's templates).
    #[must_use]
    pub fn exclude_characters(mut self, characters: impl Into<String>) -> Self {
        self.exclude_characters = characters.into();
        self
    }

    /// Trusts only the CA certificates in the PEM file at `path` for database servers (by
    /// default, the platform's trusted CA certificates): for a private CA, or Amazon RDS's.
    pub fn ca_file(mut self, path: impl AsRef<std::path::Path>) -> PgResult<Self> {
        self.roots = TrustedRoots::from_pem_file(path.as_ref())?;
        Ok(self)
    }

    /// The strategy.
    pub fn strategy(&self) -> PostgresStrategy {
        self.strategy
    }

    fn new_password(&self) -> PgResult<Zeroizing<String>> {
        let input = GetRandomPasswordInput {
            password_length: Some(i64::from(self.password_length)),
            exclude_characters: Some(self.exclude_characters.clone()),
            ..GetRandomPasswordInput::default()
        };
        let value = get_random_password(&input)
            .map_err(|e| PostgresRotationError::new(format!("generating a password: {e}")))?;
        let text = value.expose_str().unwrap_or_default();
        Ok(Zeroizing::new(text.to_owned()))
    }

    /// Connects with `credential`, with this rotator's timeouts, over TLS when
    /// [`PostgresCredential::uses_tls`] says so.
    fn connect(&self, credential: &PostgresCredential) -> Result<Client, ConnectError> {
        let mut config = credential.config();
        let limit_ms = self.step_timeout.as_millis().max(1);
        config
            .connect_timeout(self.connect_timeout)
            .tcp_user_timeout(self.connect_timeout)
            .application_name("strongroom-rotation")
            .options(&format!(
                "-c statement_timeout={limit_ms} -c lock_timeout={limit_ms}"
            ));
        tls::connect(config, credential.uses_tls(), &self.roots)
    }

    /// Connects with `credential`, or says why it could not.
    fn login(&self, credential: &PostgresCredential, which: &str) -> PgResult<Client> {
        self.connect(credential).map_err(|e| {
            let why = match e {
                ConnectError::Setup(e) => e.message().to_owned(),
                ConnectError::Database(e) => describe(&e, &[&credential.password]),
            };
            PostgresRotationError::new(format!(
                "logging in as {:?} to {}:{} ({}) with the {which} credential failed: {why}",
                credential.username,
                credential.host,
                credential.port,
                if credential.uses_tls() {
                    "TLS"
                } else {
                    "no TLS"
                },
            ))
        })
    }

    /// Runs `work` (one step's database conversation) on its own thread and waits at most
    /// `step_timeout` for it.
    fn bounded<T: Send + 'static>(
        &self,
        step: &str,
        work: impl FnOnce() -> PgResult<T> + Send + 'static,
    ) -> PgResult<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        thread::Builder::new()
            .name("strongroom-postgres-rotation".to_owned())
            .spawn(move || {
                // The receiver is gone only if the step timed out: nobody is waiting any more.
                let _ = tx.send(work());
            })
            .map_err(|e| PostgresRotationError::new(format!("{step}: starting a thread: {e}")))?;
        match rx.recv_timeout(self.step_timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(PostgresRotationError::new(format!(
                "{step}: the database did not answer within {:?}",
                self.step_timeout
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(PostgresRotationError::new(format!(
                "{step}: the database work panicked"
            ))),
        }
    }

    fn set_single_user(
        &self,
        current: PostgresCredential,
        pending: PostgresCredential,
        previous: Option<PostgresCredential>,
    ) -> PgResult<()> {
        if current.username != pending.username {
            return Err(PostgresRotationError::new(format!(
                "setSecret: the AWSPENDING user {:?} is not the AWSCURRENT user {:?}",
                pending.username, current.username
            )));
        }
        if !current.same_server(&pending) {
            return Err(PostgresRotationError::new(
                "setSecret: the AWSPENDING credential names another host or port than AWSCURRENT",
            ));
        }
        let this = self.clone();
        self.bounded("setSecret", move || {
            if this.connect(&pending).is_ok() {
                // Already set (an earlier attempt got this far).
                return Ok(());
            }
            let mut client = match this.login(&current, "AWSCURRENT") {
                Ok(client) => client,
                Err(current_error) => match previous.as_ref().map(|p| this.connect(p)) {
                    Some(Ok(client)) => client,
                    _ => {
                        return Err(PostgresRotationError::new(format!(
                            "setSecret: unable to log into the database with the AWSPENDING, AWSCURRENT or AWSPREVIOUS credential ({current_error})"
                        )));
                    }
                },
            };
            alter_password(&mut client, &pending.username, &pending.password)
        })
    }

    fn set_alternating_users(
        &self,
        current: PostgresCredential,
        pending: PostgresCredential,
        master: PostgresCredential,
    ) -> PgResult<()> {
        let pending_is_clone = !current.username.ends_with(CLONE_SUFFIX);
        if alternate_username(&current.username)? != pending.username {
            return Err(PostgresRotationError::new(format!(
                "setSecret: the AWSPENDING user {:?} is not the alternate of the AWSCURRENT user {:?}",
                pending.username, current.username
            )));
        }
        if !current.same_server(&pending) || !current.same_server(&master) {
            return Err(PostgresRotationError::new(
                "setSecret: the AWSPENDING or the master credential names another host or port than AWSCURRENT",
            ));
        }
        let (base, clone) = if pending_is_clone {
            (current.username.clone(), pending.username.clone())
        } else {
            (pending.username.clone(), current.username.clone())
        };
        let this = self.clone();
        self.bounded("setSecret", move || {
            if this.connect(&pending).is_ok() {
                return Ok(());
            }
            // As AWS's template: the current credential must work before anything changes.
            drop(this.login(&current, "AWSCURRENT")?);
            let mut admin = this.login(&master, "master (masterarn)")?;
            let verifier = scram_verifier(&pending.password);
            let secrets = [pending.password.as_str(), verifier.as_str()];
            let failed = |what: &str, e: ::postgres::Error| {
                PostgresRotationError::new(format!("setSecret: {what}: {}", describe(&e, &secrets)))
            };
            let mut tx = admin
                .transaction()
                .map_err(|e| failed("starting a transaction", e))?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                    &[&pending.username],
                )
                .map_err(|e| failed("looking up the role", e))?
                .is_some();
            let role = escape_identifier(&pending.username);
            let statement = Zeroizing::new(if exists {
                format!(
                    "ALTER ROLE {role} WITH PASSWORD {}",
                    escape_literal(&verifier)
                )
            } else if pending_is_clone {
                format!(
                    "CREATE ROLE {role} WITH LOGIN INHERIT PASSWORD {}",
                    escape_literal(&verifier)
                )
            } else {
                return Err(PostgresRotationError::new(format!(
                    "setSecret: role {base:?} does not exist; the alternating-users rotation never creates the original role"
                )));
            });
            tx.batch_execute(&statement).map_err(|e| {
                failed(
                    if exists {
                        "ALTER ROLE ... PASSWORD"
                    } else {
                        "CREATE ROLE"
                    },
                    e,
                )
            })?;
            let member = tx
                .query_opt(
                    "SELECT 1 FROM pg_catalog.pg_auth_members m \
                     JOIN pg_catalog.pg_roles r ON r.oid = m.roleid \
                     JOIN pg_catalog.pg_roles u ON u.oid = m.member \
                     WHERE r.rolname = $1 AND u.rolname = $2",
                    &[&base, &clone],
                )
                .map_err(|e| failed("looking up the clone's membership", e))?
                .is_some();
            if !member {
                tx.batch_execute(&format!(
                    "GRANT {} TO {}",
                    escape_identifier(&base),
                    escape_identifier(&clone)
                ))
                .map_err(|e| failed("granting the original role to the clone", e))?;
            }
            tx.commit().map_err(|e| failed("committing", e))
        })
    }
}

/// A SCRAM-SHA-256 verifier of `password`, in the form `ALTER ROLE ... PASSWORD` accepts.
fn scram_verifier(password: &str) -> Zeroizing<String> {
    Zeroizing::new(postgres_protocol::password::scram_sha_256(
        password.as_bytes(),
    ))
}

/// `ALTER ROLE <role> WITH PASSWORD '<verifier of password>'`.
fn alter_password(client: &mut Client, role: &str, password: &str) -> PgResult<()> {
    let verifier = scram_verifier(password);
    let statement = Zeroizing::new(format!(
        "ALTER ROLE {} WITH PASSWORD {}",
        escape_identifier(role),
        escape_literal(&verifier)
    ));
    client.batch_execute(&statement).map_err(|e| {
        PostgresRotationError::new(format!(
            "setSecret: ALTER ROLE {role:?} ... PASSWORD failed: {}",
            describe(&e, &[password, &verifier])
        ))
    })
}

/// Reads and parses a version of a secret; `None` if it has no such version.
fn read_optional(
    session: &Session,
    id: &SecretId,
    version: Option<&VersionId>,
    stage: StagingLabel,
) -> PgResult<Option<PostgresCredential>> {
    let mut input = GetSecretValueInput::new(id.clone()).version_stage(stage.clone());
    if let Some(v) = version {
        input = input.version_id(v.clone());
    }
    match session.get_secret_value(input) {
        Ok(out) => PostgresCredential::from_secret(&out.value)
            .map(Some)
            .map_err(|e| {
                PostgresRotationError::new(format!("the {} value of {id}: {e}", stage.as_str()))
            }),
        Err(e) if e.kind() == ErrorKind::ResourceNotFound => Ok(None),
        Err(e) => Err(PostgresRotationError::new(format!(
            "reading the {} value of {id}: {e}",
            stage.as_str()
        ))),
    }
}

fn read(
    session: &Session,
    id: &SecretId,
    version: Option<&VersionId>,
    stage: StagingLabel,
) -> PgResult<PostgresCredential> {
    read_optional(session, id, version, stage.clone())?.ok_or_else(|| {
        PostgresRotationError::new(format!("secret {id} has no {} value", stage.as_str()))
    })
}

impl Rotator for PostgresRotator {
    fn create_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        let id = SecretId::from(arn);
        if read_optional(session, &id, Some(token), StagingLabel::PENDING)?.is_some() {
            return Ok(());
        }
        let current = read(session, &id, None, StagingLabel::CURRENT)?;
        let username = match self.strategy {
            PostgresStrategy::SingleUser => current.username.clone(),
            PostgresStrategy::AlternatingUsers => alternate_username(&current.username)?,
        };
        let pending = current.with(username, self.new_password()?);
        let input = PutSecretValueInput::new(id, pending.to_secret_value()?)
            .client_request_token(token.clone())
            .version_stages([StagingLabel::PENDING]);
        session.put_secret_value(input).map_err(|e| {
            PostgresRotationError::new(format!("createSecret: storing the new credential: {e}"))
        })?;
        Ok(())
    }

    fn set_secret(&self, session: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        let id = SecretId::from(arn);
        let current = read(session, &id, None, StagingLabel::CURRENT)?;
        let pending = read(session, &id, Some(token), StagingLabel::PENDING)?;
        match self.strategy {
            PostgresStrategy::SingleUser => {
                let previous = read_optional(session, &id, None, StagingLabel::PREVIOUS)?;
                self.set_single_user(current, pending, previous)?;
            }
            PostgresStrategy::AlternatingUsers => {
                let master_arn = current.master_arn.as_deref().ok_or_else(|| {
                    PostgresRotationError::new(format!(
                        "setSecret: the AWSCURRENT value of {id} has no `masterarn` (the admin secret the alternating-users rotation needs)"
                    ))
                })?;
                let master_id = SecretId::new(master_arn).map_err(|e| {
                    PostgresRotationError::new(format!("setSecret: `masterarn`: {e}"))
                })?;
                let master = read(session, &master_id, None, StagingLabel::CURRENT)?;
                self.set_alternating_users(current, pending, master)?;
            }
        }
        Ok(())
    }

    fn test_secret(
        &self,
        session: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        let id = SecretId::from(arn);
        let pending = read(session, &id, Some(token), StagingLabel::PENDING)?;
        let this = self.clone();
        self.bounded("testSecret", move || {
            let mut client = this.login(&pending, "AWSPENDING")?;
            client.simple_query("SELECT NOW()").map_err(|e| {
                PostgresRotationError::new(format!(
                    "testSecret: SELECT NOW() failed: {}",
                    describe(&e, &[&pending.password])
                ))
            })?;
            Ok(())
        })?;
        Ok(())
    }
}
