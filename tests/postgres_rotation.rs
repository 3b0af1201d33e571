//! The built-in PostgreSQL rotator (feature `postgres`) against a real PostgreSQL server: both
//! strategies rotate 100 times while reader threads connect with the secret as fast as they can.
//!
//! Needs PostgreSQL's server programs (see tests/common/pg.rs): without them the tests print a
//! notice and pass, except under `CI=true`, where they fail.
#![cfg(feature = "postgres")]
// Helpers are test code, but clippy's allow-*-in-tests only covers #[test] functions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/pacing.rs"]
mod pacing;
#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pacing::Pacing;
use postgres::NoTls;
use strongroom::{
    Attempt, CreateSecretInput, CredentialError, DriveOutcome, GetSecretValueInput,
    InsecureTestKeyProvider, PostgresCredential, PostgresRotator, PostgresStrategy,
    RotateSecretInput, RotationStep, Rotator, SecretCache, SecretId, SecretName, SecretStore,
    SecretValue, Session, StagingLabel,
};

const SINGLE_FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:postgres-single-user";
const ALTERNATING_FUNCTION: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:postgres-alternating-users";
/// Rotations per strategy.
const ROTATIONS: u64 = 100;
/// Reader threads per strategy.
const READERS: usize = 4;
/// The longest the rotating thread waits for the readers before giving up.
const PACING_DEADLINE: Duration = Duration::from_secs(120);

fn open_store(dir: &std::path::Path) -> SecretStore {
    SecretStore::builder(dir.join("data"), Arc::new(InsecureTestKeyProvider::new(7)))
        .open()
        .unwrap()
}

/// A secret value in the shape of AWS's database rotation.
fn credential_json(pg: &pg::PgServer, user: &str, password: &str, master: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "engine": "postgres",
        "host": pg.host(),
        "port": pg.port(),
        "username": user,
        "password": password,
        "dbname": "appdb",
    });
    if let Some(m) = master {
        v["masterarn"] = serde_json::Value::String(m.to_owned());
    }
    v.to_string()
}

fn create_secret(s: &Session, name: &str, json: &str) -> SecretId {
    let out = s
        .create_secret(
            CreateSecretInput::new(SecretName::new(name).unwrap())
                .value(SecretValue::string(json).unwrap()),
        )
        .unwrap();
    SecretId::new(out.arn.as_str()).unwrap()
}

fn value_of(s: &Session, id: &SecretId, stage: StagingLabel) -> serde_json::Value {
    let out = s
        .get_secret_value(GetSecretValueInput::new(id.clone()).version_stage(stage))
        .unwrap();
    serde_json::from_str(out.value.expose_str().unwrap()).unwrap()
}

/// Parses a secret value as a reader does, independently of the rotator's own parsing.
fn reader_config(value: &SecretValue) -> postgres::Config {
    let v: serde_json::Value = serde_json::from_str(value.expose_str().unwrap()).unwrap();
    assert_eq!(v["engine"], "postgres");
    let mut config = postgres::Config::new();
    config
        .host(v["host"].as_str().unwrap())
        .port(u16::try_from(v["port"].as_u64().unwrap()).unwrap())
        .user(v["username"].as_str().unwrap())
        .password(v["password"].as_str().unwrap())
        .dbname(v["dbname"].as_str().unwrap())
        .connect_timeout(Duration::from_secs(10));
    config
}

/// Connects with a secret value and reads the application's table.
fn connect_and_query(value: &SecretValue) -> Result<(), postgres::Error> {
    let mut client = reader_config(value).connect(NoTls)?;
    client.query_one("SELECT count(*) FROM items", &[])?;
    Ok(())
}

#[derive(Debug, Default)]
struct Counts {
    /// Calls of `with_credential`.
    calls: AtomicU64,
    /// Connections tried (first tries and retries).
    tried: AtomicU64,
    /// Connections that failed (refused credential or otherwise).
    failed: AtomicU64,
    /// Calls that failed even after the refresh (and the `AWSPENDING` fallback).
    failed_after_refresh: AtomicU64,
    /// A few of those failures, for the assertion message.
    examples: Mutex<Vec<String>>,
}

/// What one strategy's run measured.
#[derive(Debug)]
struct Report {
    calls: u64,
    tried: u64,
    failed: u64,
    failed_after_refresh: u64,
    users: BTreeSet<String>,
    examples: Vec<String>,
    seconds: f64,
}

/// Rotates `id` `ROTATIONS` times with `function` while `READERS` threads connect with it
/// through a `SecretCache` (`with_credential`: refresh on a refused credential, `AWSPENDING`
/// fallback) as fast as they can.
#[expect(
    clippy::disallowed_methods,
    reason = "measures the run's wall-clock time for the report"
)]
fn rotate_under_load(store: &SecretStore, id: &SecretId, function: &str) -> Report {
    let started = std::time::Instant::now();
    let s = store.as_system();
    let cache = SecretCache::builder(store.as_system()).build();
    let counts = Arc::new(Counts::default());
    let pacing = Arc::new(Pacing::new(READERS, PACING_DEADLINE));
    let stop = Arc::new(AtomicBool::new(false));
    let users = Arc::new(Mutex::new(BTreeSet::new()));
    let readers: Vec<_> = (0..READERS)
        .map(|reader| {
            let (cache, counts, pacing, stop, users, id) = (
                cache.clone(),
                counts.clone(),
                pacing.clone(),
                stop.clone(),
                users.clone(),
                id.clone(),
            );
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let started_after = pacing.rotations();
                    counts.calls.fetch_add(1, Ordering::Relaxed);
                    let result = cache.with_credential(&id, |out| {
                        counts.tried.fetch_add(1, Ordering::Relaxed);
                        match connect_and_query(&out.value) {
                            Ok(()) => {
                                let v: serde_json::Value =
                                    serde_json::from_str(out.value.expose_str().unwrap()).unwrap();
                                let user = v["username"].as_str().unwrap().to_owned();
                                users.lock().unwrap().insert(user);
                                Ok(())
                            }
                            Err(e) => {
                                counts.failed.fetch_add(1, Ordering::Relaxed);
                                if PostgresCredential::is_auth_failure(&e) {
                                    Err(Attempt::AuthFailed(e))
                                } else {
                                    Err(Attempt::Failed(e))
                                }
                            }
                        }
                    });
                    if let Err(e) = result {
                        counts.failed_after_refresh.fetch_add(1, Ordering::Relaxed);
                        let mut ex = counts.examples.lock().unwrap();
                        if ex.len() < 5 {
                            let kind = match &e {
                                CredentialError::AuthFailed(_) => "refused after the refresh",
                                CredentialError::Failed(_) => "failed",
                                CredentialError::Read(_) => "read failed",
                                _ => "other",
                            };
                            ex.push(format!("{kind}: {e}"));
                        }
                    }
                    pacing.completed_call(reader, started_after);
                }
            })
        })
        .collect();

    for k in 1..=ROTATIONS {
        pacing.wait_for_readers(k - 1);
        let out = s
            .rotate_secret(RotateSecretInput::new(id.clone()).rotation_lambda_arn(function))
            .unwrap();
        let token = out.version_id.unwrap();
        match s.drive_rotation(id).unwrap() {
            DriveOutcome::Completed { token: done } => assert_eq!(done, token),
            other => {
                stop.store(true, Ordering::SeqCst);
                panic!("rotation {k} did not complete: {other:?}");
            }
        }
        pacing.rotated(k);
    }
    pacing.wait_for_readers(ROTATIONS);
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    let users = users.lock().unwrap().clone();
    let examples = counts.examples.lock().unwrap().clone();
    Report {
        calls: counts.calls.load(Ordering::SeqCst),
        tried: counts.tried.load(Ordering::SeqCst),
        failed: counts.failed.load(Ordering::SeqCst),
        failed_after_refresh: counts.failed_after_refresh.load(Ordering::SeqCst),
        users,
        examples,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn print_report(strategy: &str, r: &Report) {
    eprintln!(
        "postgres rotation, {strategy}: {ROTATIONS} rotations, {READERS} readers, {:.1} s: \
         {} calls, {} connections tried, {} failed, {} failed after one refresh; users seen: {:?}",
        r.seconds, r.calls, r.tried, r.failed, r.failed_after_refresh, r.users
    );
}

/// Sets up the database of the tests: `appdb` with a table `items` that `roles` may read.
fn setup_database(pg: &pg::PgServer, roles: &[(&str, &str)]) {
    for (role, password) in roles {
        pg.psql(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"));
    }
    pg.psql("CREATE DATABASE appdb");
    pg.psql_in(
        "appdb",
        "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2), (3)",
    );
    for (role, _) in roles {
        pg.psql_in("appdb", &format!("GRANT SELECT ON items TO {role}"));
    }
}

#[test]
fn both_strategies_rotate_100_times_under_load() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    // The admin of the alternating strategy is not a superuser: CREATEROLE is enough.
    setup_database(
        &pg,
        &[
            ("app_single", "initial-single"),
            ("app_multi", "initial-multi"),
        ],
    );
    pg.psql("CREATE ROLE rotation_admin LOGIN CREATEROLE PASSWORD 'admin-password'");
    // PostgreSQL 16 and later: CREATEROLE may grant only roles it has ADMIN OPTION on.
    pg.psql("GRANT app_multi TO rotation_admin WITH ADMIN OPTION");

    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    store.register_rotator(SINGLE_FUNCTION, Arc::new(PostgresRotator::single_user()));
    store.register_rotator(
        ALTERNATING_FUNCTION,
        Arc::new(PostgresRotator::alternating_users()),
    );
    let s = store.as_system();

    // Single user: readers are refused between setSecret and finishSecret, and the retry with
    // the refreshed (or AWSPENDING) credential must always succeed.
    let single = create_secret(
        &s,
        "pg/app-single",
        &credential_json(&pg, "app_single", "initial-single", None),
    );
    let r = rotate_under_load(&store, &single, SINGLE_FUNCTION);
    print_report("single user", &r);
    assert_eq!(
        r.failed_after_refresh, 0,
        "single user: calls failed after the refresh: {:?}",
        r.examples
    );
    assert_eq!(r.users, BTreeSet::from(["app_single".to_owned()]));
    let current = value_of(&s, &single, StagingLabel::CURRENT);
    let previous = value_of(&s, &single, StagingLabel::PREVIOUS);
    assert_eq!(current["username"], "app_single");
    assert_eq!(current["dbname"], "appdb");
    assert_ne!(current["password"], previous["password"]);
    let password = current["password"].as_str().unwrap();
    assert_eq!(password.chars().count(), 32);
    assert!(
        !password.contains(['/', '@', '"', '\'', '\\']),
        "{password}"
    );

    // Alternating users: the current credential never changes in the database, so no reader
    // is ever refused.
    let admin = create_secret(
        &s,
        "pg/admin",
        &credential_json(&pg, "rotation_admin", "admin-password", None),
    );
    let admin_arn = admin.to_string();
    assert!(admin_arn.starts_with("arn:"), "{admin_arn}");
    let multi = create_secret(
        &s,
        "pg/app-multi",
        &credential_json(&pg, "app_multi", "initial-multi", Some(&admin_arn)),
    );
    let r = rotate_under_load(&store, &multi, ALTERNATING_FUNCTION);
    print_report("alternating users", &r);
    assert_eq!(
        (r.failed, r.failed_after_refresh),
        (0, 0),
        "alternating users: failures: {:?}",
        r.examples
    );
    assert_eq!(
        r.users,
        BTreeSet::from(["app_multi".to_owned(), "app_multi_clone".to_owned()])
    );
    // An even number of rotations ends on the original user.
    let current = value_of(&s, &multi, StagingLabel::CURRENT);
    let previous = value_of(&s, &multi, StagingLabel::PREVIOUS);
    assert_eq!(current["username"], "app_multi");
    assert_eq!(previous["username"], "app_multi_clone");
    assert_eq!(current["masterarn"], admin_arn.as_str());
    // The clone is a member of the original role (so it inherits its privileges).
    assert_eq!(
        pg.psql(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'app_multi_clone'"
        ),
        "app_multi"
    );
    // The previous credential (the clone's) still works: the alternating strategy's point.
    let previous = s
        .get_secret_value(
            GetSecretValueInput::new(multi.clone()).version_stage(StagingLabel::PREVIOUS),
        )
        .unwrap();
    connect_and_query(&previous.value).unwrap();
    // The admin secret was not touched.
    assert_eq!(
        value_of(&s, &admin, StagingLabel::CURRENT)["password"],
        "admin-password"
    );
}

/// Odd role names are quoted as identifiers; passwords with every punctuation character work;
/// every step is idempotent (called twice); a failing step reports no password.
#[test]
fn quoting_idempotency_and_errors_without_passwords() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    // A role name with quotes, a space, a backslash and upper case.
    let role = r#"We"ird 'Ro\le"#;
    let quoted = format!("\"{}\"", role.replace('"', "\"\""));
    pg.psql(&format!("CREATE ROLE {quoted} LOGIN PASSWORD 'start'"));
    pg.psql("CREATE DATABASE appdb");
    pg.psql_in("appdb", "CREATE TABLE items (id int)");
    pg.psql_in("appdb", &format!("GRANT SELECT ON items TO {quoted}"));

    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    // Every punctuation character allowed, long passwords.
    let rotator = PostgresRotator::single_user()
        .exclude_characters("")
        .password_length(64);
    store.register_rotator(SINGLE_FUNCTION, Arc::new(rotator.clone()));
    let s = store.as_system();
    let id = create_secret(&s, "pg/weird", &credential_json(&pg, role, "start", None));
    let arn = s.describe_secret(&id).unwrap().arn;
    for _ in 0..10 {
        let token = s
            .rotate_secret(RotateSecretInput::new(id.clone()).rotation_lambda_arn(SINGLE_FUNCTION))
            .unwrap()
            .version_id
            .unwrap();
        // Each step twice, as a driver resuming after a crash would call it.
        rotator.create_secret(&s, &arn, &token).unwrap();
        let pending = value_of(&s, &id, StagingLabel::PENDING);
        rotator.create_secret(&s, &arn, &token).unwrap();
        assert_eq!(value_of(&s, &id, StagingLabel::PENDING), pending);
        rotator.set_secret(&s, &arn, &token).unwrap();
        rotator.set_secret(&s, &arn, &token).unwrap();
        rotator.test_secret(&s, &arn, &token).unwrap();
        rotator.finish_secret(&s, &arn, &token).unwrap();
        rotator.finish_secret(&s, &arn, &token).unwrap();
        let current = s
            .get_secret_value(GetSecretValueInput::new(id.clone()))
            .unwrap();
        assert_eq!(current.version_id, token);
        connect_and_query(&current.value).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(current.value.expose_str().unwrap()).unwrap();
        assert_eq!(v["username"], role);
        assert_eq!(v["password"].as_str().unwrap().chars().count(), 64);
    }

    // Alternating users with an admin that may not create roles: setSecret fails, and says why
    // without the new password.
    pg.psql("CREATE ROLE weak_admin LOGIN PASSWORD 'weak-admin-pw'");
    pg.psql("CREATE ROLE app2 LOGIN PASSWORD 'app2-start'");
    let admin = create_secret(
        &s,
        "pg/weak-admin",
        &credential_json(&pg, "weak_admin", "weak-admin-pw", None),
    );
    let multi = create_secret(
        &s,
        "pg/app2",
        &credential_json(&pg, "app2", "app2-start", Some(&admin.to_string())),
    );
    store.register_rotator(
        ALTERNATING_FUNCTION,
        Arc::new(PostgresRotator::alternating_users()),
    );
    s.rotate_secret(
        RotateSecretInput::new(multi.clone()).rotation_lambda_arn(ALTERNATING_FUNCTION),
    )
    .unwrap();
    let outcome = s.drive_rotation(&multi).unwrap();
    let pending = value_of(&s, &multi, StagingLabel::PENDING);
    let new_password = pending["password"].as_str().unwrap();
    assert_eq!(pending["username"], "app2_clone");
    match outcome {
        DriveOutcome::Retrying { step, error, .. } => {
            assert_eq!(step, RotationStep::SetSecret);
            assert!(error.contains("permission denied"), "{error}");
            assert!(!error.contains(new_password), "{error}");
            assert!(!error.contains("weak-admin-pw"), "{error}");
            assert!(!error.contains("app2-start"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // The failed CREATE ROLE is in the server's log, with a SCRAM verifier, not the password.
    let log = pg.log();
    assert!(log.contains("permission denied"), "{log}");
    assert!(log.contains("SCRAM-SHA-256$"), "{log}");
    assert!(!log.contains(new_password), "{log}");
    // The clone was not half-made.
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'app2_clone'"),
        "0"
    );
}

/// A database that refuses connections, or accepts them and never answers, fails the step
/// within the timeouts instead of hanging the driver. Needs no PostgreSQL.
#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "checks a real timeout against wall-clock time"
)]
fn a_dead_database_fails_the_step_in_time() {
    // Accepts connections, reads nothing, answers nothing, until told to stop.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    silent.set_nonblocking(true).unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let holder = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                if let Ok((conn, _)) = silent.accept() {
                    held.push(conn);
                }
                thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // Nothing listens here.
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let rotator = PostgresRotator::single_user()
        .connect_timeout(Duration::from_secs(1))
        .step_timeout(Duration::from_secs(2));
    store.register_rotator(SINGLE_FUNCTION, Arc::new(rotator));
    let s = store.as_system();
    for (name, port, expected) in [
        ("pg/silent", silent_port, "did not answer"),
        ("pg/closed", closed_port, "refused"),
    ] {
        let json = serde_json::json!({
            "engine": "postgres", "host": "127.0.0.1", "port": port,
            "username": "app", "password": "old-password", "dbname": "app",
        })
        .to_string();
        let id = create_secret(&s, name, &json);
        s.rotate_secret(RotateSecretInput::new(id.clone()).rotation_lambda_arn(SINGLE_FUNCTION))
            .unwrap();
        let started = std::time::Instant::now();
        let outcome = s.drive_rotation(&id).unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "{name}: took {took:?}");
        let pending = value_of(&s, &id, StagingLabel::PENDING);
        match outcome {
            DriveOutcome::Retrying { step, error, .. } => {
                assert_eq!(step, RotationStep::SetSecret, "{name}");
                assert!(error.contains(expected), "{name}: {error}");
                assert!(!error.contains("old-password"), "{error}");
                assert!(
                    !error.contains(pending["password"].as_str().unwrap()),
                    "{error}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    stop.store(true, Ordering::SeqCst);
    holder.join().unwrap();
}

/// The credential type: AWS's shape, defaults, and no password in `Debug` or errors.
#[test]
fn credential_parsing_and_redaction() {
    let value = SecretValue::string(
        r#"{"engine":"postgres","host":"db","port":"6543","username":"u","password":"hunter2-secret","extra":[1]}"#,
    )
    .unwrap();
    let c = PostgresCredential::from_secret(&value).unwrap();
    assert_eq!(
        (c.host(), c.port(), c.username(), c.dbname()),
        ("db", 6543, "u", "postgres")
    );
    assert_eq!(c.master_arn(), None);
    assert_eq!(c.expose_password(), "hunter2-secret");
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(!format!("{:?}", c.config()).contains("hunter2"));

    for bad in [
        r#""hunter2-secret""#,
        r#"{"engine":"mysql","host":"db","username":"u","password":"hunter2-secret"}"#,
        r#"{"engine":"postgres","host":"db","username":"u","password":"hunter2-secret","port":"x"}"#,
        r#"{"engine":"postgres","host":"db","username":"u","password":"hunter2-secret""#,
        r#"{"engine":"postgres","host":"db","username":"u"}"#,
    ] {
        let e = PostgresCredential::from_json(bad).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
    }
    assert_eq!(
        PostgresRotator::alternating_users().strategy(),
        PostgresStrategy::AlternatingUsers
    );
    assert!(!format!("{:?}", PostgresRotator::single_user()).is_empty());
}
