//! PostgreSQL rotation through the server, with a rotation function written in Python for AWS
//! (`python/postgres_rotation_function.py`: boto3 and the pure-Python driver pg8000, in the
//! shape of AWS's RDS PostgreSQL single-user and multi-user templates), run by the server as a
//! command once per step. For each strategy the secret is rotated 10 times against a real
//! PostgreSQL server while reader threads read it through the server (GetSecretValue, signed)
//! and open real connections with it as fast as they can, refreshing once on a refused
//! credential. They count connections tried, failed, and failed after one refresh: alternating
//! users must have no failure at all, single user none after the refresh-and-fallback retry.
//! No password may appear in the server's log (which holds the function's output) or in
//! PostgreSQL's.
//!
//! Needs PostgreSQL's server programs (../../tests/common/pg.rs: without them the tests print a
//! notice and pass, except under `CI=true`, where they fail) and the virtualenv's Python with
//! boto3 and pg8000: `$STRONGROOM_PYTHON`, or else `<workspace>/target/pyenv/bin/python`, which
//! `./scripts/test` creates from `python/requirements.txt`.
//!
//! Why 10 and not the engine-level run's 100 (`tests/postgres_rotation.rs`, the built-in rotator
//! in process): what this run adds is the path through the server (a command per step, an AWS
//! template function using boto3 against the server, readers signing their reads), not more
//! chances for the race between a reader and `setSecret`, which the engine-level run counts.
//! Each step starts a Python process (with boto3: about 0.4 s of CPU), so a rotation keeps that
//! window open for over a second while the readers hammer it; 10 rotations per strategy
//! alternate each login 5 times (the alternating strategy creates its clone in the first) and
//! take well under a minute, where 100 took about 5 minutes of the suite's 2 cores.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "../../tests/common/pacing.rs"]
mod pacing;
#[path = "../../tests/common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use common::{TestServer, sdk_client};
use pacing::Pacing;
use postgres::NoTls;
use postgres::error::SqlState;
use strongroom::{Region, RequestContext, SecretId};
use strongroom_server::RotationFunction;

const SINGLE_FUNCTION: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:python-postgres-single-user";
const ALTERNATING_FUNCTION: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:python-postgres-alternating-users";
const REGION: &str = "us-east-1";
/// Rotations per strategy.
const ROTATIONS: u64 = 10;
/// Reader threads per strategy.
const READERS: usize = 3;
/// The longest one rotation (four Python processes) may take.
const ROTATION_DEADLINE: Duration = Duration::from_secs(120);
/// How often the rotating thread looks whether the rotation completed.
const POLL: Duration = Duration::from_millis(20);
/// The longest the rotating thread waits for the readers before giving up.
const PACING_DEADLINE: Duration = Duration::from_secs(120);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Python interpreter with boto3 and pg8000 (as `python_clients.rs` finds it).
fn python() -> PathBuf {
    let python = std::env::var_os("STRONGROOM_PYTHON").map_or_else(
        || workspace_root().join("target/pyenv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.is_file(),
        "no Python interpreter at {}: this test needs a virtualenv with boto3 and pg8000. Run \
         ./scripts/test, which creates target/pyenv, or point STRONGROOM_PYTHON at one.",
        python.display()
    );
    python
}

/// `python postgres_rotation_function.py STRATEGY`.
fn python_function(strategy: &str) -> RotationFunction {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/postgres_rotation_function.py");
    assert!(script.is_file(), "missing {}", script.display());
    RotationFunction::Command(vec![
        python().to_string_lossy().into_owned(),
        script.to_string_lossy().into_owned(),
        strategy.to_owned(),
    ])
}

// ---------------------------------------------------------------------------------------------
// The server's log, captured for both tests of this binary.

/// What is captured: the server's log at info level, and the rotation function's output, which
/// the server logs at debug level only (it is checked for passwords too, and shown when a
/// rotation fails).
const LOG_FILTER: &str = "info,strongroom_server::rotation::output=debug";

type Buffer = Arc<Mutex<Vec<u8>>>;

struct LogWriter(Buffer);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_buffer() -> &'static Buffer {
    static LOGS: OnceLock<Buffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new(LOG_FILTER))
            .init();
        buffer
    })
}

fn log_text() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The database and the secrets.

/// Creates `appdb` with a table `items` that `role` (password `password`) may read, and an
/// admin role for the alternating strategy (not a superuser: CREATEROLE is enough).
fn setup_database(pg: &pg::PgServer, role: &str, password: &str) {
    pg.psql(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"));
    pg.psql("CREATE DATABASE appdb");
    pg.psql_in(
        "appdb",
        "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2), (3)",
    );
    pg.psql_in("appdb", &format!("GRANT SELECT ON items TO {role}"));
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

fn json(value: &str) -> serde_json::Value {
    serde_json::from_str(value).unwrap()
}

/// Connects with a secret value, parsed as an application would, and reads the table.
fn connect_and_query(value: &str) -> Result<(), postgres::Error> {
    let v = json(value);
    assert_eq!(v["engine"], "postgres");
    let mut client = postgres::Config::new()
        .host(v["host"].as_str().unwrap())
        .port(u16::try_from(v["port"].as_u64().unwrap()).unwrap())
        .user(v["username"].as_str().unwrap())
        .password(v["password"].as_str().unwrap())
        .dbname(v["dbname"].as_str().unwrap())
        .connect_timeout(Duration::from_secs(10))
        .connect(NoTls)?;
    client.query_one("SELECT count(*) FROM items", &[])?;
    Ok(())
}

/// The database refused the credential (SQLSTATE class 28): refresh and retry.
fn is_auth_failure(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    })
}

// ---------------------------------------------------------------------------------------------
// The server, and reading through it from plain threads.

/// A server with authentication on and one rotation function mapped, on a runtime of its own,
/// so that plain threads (the readers, which use the blocking `postgres` client) can call it.
struct Harness {
    runtime: tokio::runtime::Runtime,
    server: Option<TestServer>,
    client: Client,
}

impl Harness {
    fn start(function: &str, strategy: &str) -> Self {
        log_buffer();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let command = python_function(strategy);
        let server = runtime.block_on(TestServer::start_with(|s| {
            s.with_credentials(common::test_credentials())
                .with_rotation_function(function, command)
        }));
        let client = runtime.block_on(sdk_client(&server, REGION));
        Self {
            runtime,
            server: Some(server),
            client,
        }
    }

    fn server(&self) -> &TestServer {
        self.server.as_ref().unwrap()
    }

    fn reader(&self) -> SecretReader {
        SecretReader {
            handle: self.runtime.handle().clone(),
            client: self.client.clone(),
        }
    }

    fn create(&self, name: &str, value: &str) -> String {
        let out = self
            .runtime
            .block_on(
                self.client
                    .create_secret()
                    .name(name)
                    .secret_string(value)
                    .send(),
            )
            .unwrap();
        out.arn().unwrap().to_owned()
    }

    fn stop(mut self) {
        let server = self.server.take().unwrap();
        self.runtime.block_on(server.stop()).unwrap();
    }
}

/// One version of the secret, as read through the server.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Read {
    version_id: String,
    value: String,
}

/// GetSecretValue through the server, from a plain thread.
#[derive(Clone)]
struct SecretReader {
    handle: tokio::runtime::Handle,
    client: Client,
}

impl SecretReader {
    /// The version `stage` is on; `None` if it is on none with a value (`AWSPENDING` between
    /// RotateSecret and createSecret, or after a rotation that took it off).
    fn read(&self, name: &str, stage: &str) -> Result<Option<Read>, String> {
        let result = self.handle.block_on(
            self.client
                .get_secret_value()
                .secret_id(name)
                .version_stage(stage)
                .send(),
        );
        match result {
            Ok(out) => Ok(Some(Read {
                version_id: out.version_id().unwrap().to_owned(),
                value: out.secret_string().unwrap().to_owned(),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("GetSecretValue {stage}: {e:?}")),
        }
    }

    fn current(&self, name: &str) -> Result<Read, String> {
        self.read(name, "AWSCURRENT")?
            .ok_or_else(|| "no AWSCURRENT value".to_owned())
    }

    fn password(&self, name: &str, stage: &str) -> String {
        let read = self.read(name, stage).unwrap().unwrap();
        json(&read.value)["password"].as_str().unwrap().to_owned()
    }
}

#[derive(Debug, Default)]
struct Counts {
    /// Reader calls (each: a read, a connection, and on a refusal a refresh and one retry).
    calls: AtomicU64,
    /// Connections tried (first tries and retries).
    tried: AtomicU64,
    /// Connections that failed (refused credential or otherwise).
    failed: AtomicU64,
    /// Calls that failed even after the refresh (and the `AWSPENDING` fallback), or whose read
    /// failed.
    failed_after_refresh: AtomicU64,
    /// A few of those failures, for the assertion message.
    examples: Mutex<Vec<String>>,
}

/// One reader call, as `SecretCache::with_credential` (src/cache.rs) makes it, with every read
/// through the server: connect with AWSCURRENT; if the database refuses it, read AWSCURRENT
/// again; if that is still the refused credential, read AWSPENDING and then AWSCURRENT once
/// more, and retry with AWSPENDING if it is on another version and AWSCURRENT still is the
/// refused credential (a rotation is between setSecret and finishSecret), else with AWSCURRENT.
/// AWSPENDING is read *before* the second AWSCURRENT read: read after it, it may already belong
/// to the next rotation, which may have begun in between. Returns the user that got in.
fn call_with_refresh(reader: &SecretReader, name: &str, counts: &Counts) -> Result<String, String> {
    let connect = |read: &Read| -> Result<String, postgres::Error> {
        counts.tried.fetch_add(1, Ordering::Relaxed);
        connect_and_query(&read.value)
            .map(|()| json(&read.value)["username"].as_str().unwrap().to_owned())
            .inspect_err(|_| {
                counts.failed.fetch_add(1, Ordering::Relaxed);
            })
    };
    let first = reader.current(name)?;
    match connect(&first) {
        Ok(user) => return Ok(user),
        Err(e) if is_auth_failure(&e) => {}
        Err(e) => return Err(format!("failed (not a refusal): {e}")),
    }
    let fresh = reader.current(name)?;
    let retry = if fresh.value == first.value {
        let pending = reader.read(name, "AWSPENDING")?;
        let again = reader.current(name)?;
        match pending {
            Some(pending)
                if again.value == first.value && pending.version_id != again.version_id =>
            {
                pending
            }
            _ => again,
        }
    } else {
        fresh
    };
    connect(&retry).map_err(|e| format!("refused after the refresh: {e}"))
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
    /// The password of every version the rotations made, in order.
    passwords: Vec<String>,
    seconds: f64,
}

impl Report {
    fn print(&self, strategy: &str) {
        eprintln!(
            "postgres rotation through the server (Python function), {strategy}: {ROTATIONS} \
             rotations, {READERS} readers, {:.1} s: {} calls, {} connections tried, {} failed, \
             {} failed after one refresh; users seen: {:?}",
            self.seconds,
            self.calls,
            self.tried,
            self.failed,
            self.failed_after_refresh,
            self.users
        );
    }
}

/// Waits until the rotation `token` completed: DescribeSecret shows it `AWSCURRENT`, and the
/// server's store no longer has a rotation in progress (so the next RotateSecret starts a new
/// one). Fails at once if a step failed: no step of these rotations is expected to.
#[expect(
    clippy::disallowed_methods,
    reason = "a real deadline for external processes, not the store's clock"
)]
fn wait_for_rotation(h: &Harness, name: &str, token: &str, k: u64) {
    let deadline = std::time::Instant::now() + ROTATION_DEADLINE;
    let session = h
        .server()
        .store
        .session(RequestContext::system().with_region(Region::new(REGION).unwrap()));
    let id = SecretId::new(name).unwrap();
    loop {
        let status = session.rotation_status(&id).unwrap();
        if let Some(error) = status.as_ref().and_then(|s| s.last_error.as_ref()) {
            panic!(
                "rotation {k} of {name}: a step failed: {error}\nthe function's output:\n{}",
                function_output(token)
            );
        }
        if status.is_none() {
            let described = h
                .runtime
                .block_on(h.client.describe_secret().secret_id(name).send())
                .unwrap();
            let stages = described.version_ids_to_stages().unwrap();
            assert!(
                stages
                    .get(token)
                    .is_some_and(|s| s.iter().any(|s| s == "AWSCURRENT")),
                "rotation {k} of {name} ended, but {token} is not AWSCURRENT: {stages:?}"
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotation {k} of {name} did not complete within {ROTATION_DEADLINE:?}: {status:?}\n\
             the function's output:\n{}",
            function_output(token)
        );
        thread::sleep(POLL);
    }
}

/// The log lines of the rotation `token`.
fn function_output(token: &str) -> String {
    log_text()
        .lines()
        .filter(|l| l.contains(token))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Gives the calling thread the lowest CPU priority (nice 19), if `renice` can: on Linux each
/// thread has its own nice value, and `renice -p` takes a thread id. The readers run at it so
/// that, on a small machine, they take the CPU the rotation function leaves rather than share
/// it as equals: a step is a Python process that needs about 0.4 s of CPU, and readers at
/// normal priority made every rotation about three times slower (on 2 cores) without testing
/// anything more. They still connect as fast as they can, in every step, in whatever CPU time
/// is left. (Their PostgreSQL backends run at normal priority: PostgreSQL has a session of its
/// own, which `renice` on the readers does not reach.)
fn lower_this_threads_priority() {
    let Ok(link) = std::fs::read_link("/proc/thread-self") else {
        return;
    };
    let Some(tid) = link.file_name() else {
        return;
    };
    let _ = std::process::Command::new("renice")
        .args(["-n", "19", "-p"])
        .arg(tid)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Rotates `name` `ROTATIONS` times with `function` while `READERS` threads connect with it as
/// fast as they can.
#[expect(
    clippy::disallowed_methods,
    reason = "measures the run's wall-clock time for the report"
)]
fn rotate_under_load(h: &Harness, name: &str, function: &str) -> Report {
    let started = std::time::Instant::now();
    let counts = Arc::new(Counts::default());
    let pacing = Arc::new(Pacing::new(READERS, PACING_DEADLINE));
    let stop = Arc::new(AtomicBool::new(false));
    let users = Arc::new(Mutex::new(BTreeSet::new()));
    let readers: Vec<_> = (0..READERS)
        .map(|reader| {
            let (secrets, counts, pacing, stop, users, name) = (
                h.reader(),
                Arc::clone(&counts),
                Arc::clone(&pacing),
                Arc::clone(&stop),
                Arc::clone(&users),
                name.to_owned(),
            );
            thread::spawn(move || {
                lower_this_threads_priority();
                while !stop.load(Ordering::SeqCst) {
                    let started_after = pacing.rotations();
                    counts.calls.fetch_add(1, Ordering::Relaxed);
                    match call_with_refresh(&secrets, &name, &counts) {
                        Ok(user) => {
                            users.lock().unwrap().insert(user);
                        }
                        Err(e) => {
                            counts.failed_after_refresh.fetch_add(1, Ordering::Relaxed);
                            let mut examples = counts.examples.lock().unwrap();
                            if examples.len() < 5 {
                                examples.push(e);
                            }
                        }
                    }
                    pacing.completed_call(reader, started_after);
                }
            })
        })
        .collect();

    let secrets = h.reader();
    let mut passwords = Vec::new();
    for k in 1..=ROTATIONS {
        pacing.wait_for_readers(k - 1);
        let rotated = h
            .runtime
            .block_on(
                h.client
                    .rotate_secret()
                    .secret_id(name)
                    .rotation_lambda_arn(function)
                    .send(),
            )
            .unwrap();
        let token = rotated.version_id().unwrap().to_owned();
        wait_for_rotation(h, name, &token, k);
        passwords.push(secrets.password(name, "AWSCURRENT"));
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
        passwords,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Checks what every run ends with: as many distinct new passwords as rotations, in the
/// generator's shape; the four steps of every rotation logged as succeeded; and none of
/// `passwords` in the server's log (with the function's output) or in PostgreSQL's.
fn check_passwords_and_logs(pg: &pg::PgServer, arn: &str, r: &Report, also: &[&str]) {
    assert_eq!(
        r.passwords.iter().collect::<BTreeSet<_>>().len(),
        r.passwords.len(),
        "every rotation made a new password"
    );
    for p in &r.passwords {
        assert_eq!(p.chars().count(), 32);
        assert!(
            !p.contains(['/', '@', '"', '\'', '\\']),
            "excluded characters"
        );
    }
    let log = log_text();
    let succeeded = log
        .lines()
        .filter(|l| l.contains("rotation step succeeded") && l.contains(arn))
        .count();
    assert_eq!(
        u64::try_from(succeeded).unwrap(),
        4 * ROTATIONS,
        "four logged steps per rotation"
    );
    // The function's output is in the log (so the check below covers it): each createSecret
    // says what it put, by ARN and token, never by value.
    let put = log
        .lines()
        .filter(|l| l.contains("createSecret: Successfully put secret for ARN") && l.contains(arn))
        .count();
    assert_eq!(
        u64::try_from(put).unwrap(),
        ROTATIONS,
        "the function's output of every createSecret is in the log"
    );
    let pg_log = pg.log();
    for p in r
        .passwords
        .iter()
        .map(String::as_str)
        .chain(also.iter().copied())
    {
        assert!(!log.contains(p), "a password is in the server's log");
        assert!(!pg_log.contains(p), "a password is in PostgreSQL's log");
    }
}

#[test]
fn single_user_python_function_rotates_under_load() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    setup_database(&pg, "app_single", "initial-single");
    let h = Harness::start(SINGLE_FUNCTION, "single-user");
    let name = "pg/app-single";
    let arn = h.create(
        name,
        &credential_json(&pg, "app_single", "initial-single", None),
    );

    // Readers are refused between setSecret and finishSecret; the retry with the refreshed (or
    // AWSPENDING) credential must always succeed.
    let r = rotate_under_load(&h, name, SINGLE_FUNCTION);
    r.print("single user");
    assert_eq!(
        r.failed_after_refresh, 0,
        "single user: calls failed after the refresh: {:?}",
        r.examples
    );
    assert_eq!(r.users, BTreeSet::from(["app_single".to_owned()]));

    let secrets = h.reader();
    let current = secrets.current(name).unwrap();
    let v = json(&current.value);
    assert_eq!(v["username"], "app_single");
    assert_eq!(v["dbname"], "appdb");
    assert_eq!(v["password"], r.passwords.last().unwrap().as_str());
    connect_and_query(&current.value).unwrap();
    // The previous password no longer works: one user, one password.
    let previous = secrets.read(name, "AWSPREVIOUS").unwrap().unwrap();
    assert!(connect_and_query(&previous.value).is_err_and(|e| is_auth_failure(&e)));
    check_passwords_and_logs(&pg, &arn, &r, &["initial-single"]);
    h.stop();
}

#[test]
fn alternating_users_python_function_rotates_under_load() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    setup_database(&pg, "app_multi", "initial-multi");
    pg.psql("CREATE ROLE rotation_admin LOGIN CREATEROLE PASSWORD 'admin-password'");
    // PostgreSQL 16 and later: CREATEROLE may grant only roles it has ADMIN OPTION on.
    pg.psql("GRANT app_multi TO rotation_admin WITH ADMIN OPTION");
    let h = Harness::start(ALTERNATING_FUNCTION, "alternating-users");
    let admin_arn = h.create(
        "pg/admin",
        &credential_json(&pg, "rotation_admin", "admin-password", None),
    );
    let name = "pg/app-multi";
    let arn = h.create(
        name,
        &credential_json(&pg, "app_multi", "initial-multi", Some(&admin_arn)),
    );

    // The current credential never changes in the database, so no reader is ever refused.
    let r = rotate_under_load(&h, name, ALTERNATING_FUNCTION);
    r.print("alternating users");
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

    // An even number of rotations ends on the original user; the previous credential (the
    // clone's) still works: the alternating strategy's point.
    let secrets = h.reader();
    let current = secrets.current(name).unwrap();
    let previous = secrets.read(name, "AWSPREVIOUS").unwrap().unwrap();
    assert_eq!(json(&current.value)["username"], "app_multi");
    assert_eq!(json(&previous.value)["username"], "app_multi_clone");
    assert_eq!(json(&current.value)["masterarn"], admin_arn.as_str());
    connect_and_query(&current.value).unwrap();
    connect_and_query(&previous.value).unwrap();
    // The clone is a member of the original role (so it inherits its privileges).
    assert_eq!(
        pg.psql(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'app_multi_clone'"
        ),
        "app_multi"
    );
    // The admin's secret was not touched.
    assert_eq!(secrets.password("pg/admin", "AWSCURRENT"), "admin-password");
    check_passwords_and_logs(&pg, &arn, &r, &["initial-multi", "admin-password"]);
    h.stop();
}

/// The built-in single-user rotator through the `strongroom` binary, over TLS to a server that
/// rejects plain TCP logins (`--postgres-ca-file` names the test CA), with `RUST_LOG=trace`: the
/// rotation completes, and neither a password nor a SCRAM verifier reaches the log (the
/// PostgreSQL client logs statement text at `debug`, which the binary caps whatever `RUST_LOG`
/// says).
#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "a real deadline for a server process, not the store's clock"
)]
fn the_builtin_rotator_over_tls_leaves_no_password_or_verifier_in_a_trace_log() {
    use std::io::BufRead;
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    pg.require_tls(&cert.pem(), &key.serialize_pem());
    let old_password = "builtin-old-password-93c1";
    setup_database(&pg, "tlsapp", old_password);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let function = "arn:aws:lambda:us-east-1:000000000000:function:builtin-tls";
    let log_path = dir.path().join("server.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--rotation-function")
        .arg(format!("{function}=builtin:postgres-single-user"))
        .arg("--postgres-ca-file")
        .arg(dir.path().join("ca.pem"))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let url = format!("http://{addr}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = common::sdk_client_at(&url, REGION, ("AKIDANY", "any-secret"));
    let mut json = serde_json::json!({
        "engine": "postgres", "host": "127.0.0.1", "port": pg.port(),
        "username": "tlsapp", "password": old_password, "dbname": "appdb", "ssl": true,
    });
    let new_password = runtime.block_on(async {
        client
            .create_secret()
            .name("builtin/tls")
            .secret_string(json.to_string())
            .send()
            .await
            .unwrap();
        client
            .rotate_secret()
            .secret_id("builtin/tls")
            .rotation_lambda_arn(function)
            .send()
            .await
            .unwrap();
        let started = std::time::Instant::now();
        loop {
            let got = client
                .get_secret_value()
                .secret_id("builtin/tls")
                .send()
                .await
                .unwrap();
            let value: serde_json::Value =
                serde_json::from_str(got.secret_string().unwrap()).unwrap();
            if value["password"] != old_password {
                break value["password"].as_str().unwrap().to_owned();
            }
            assert!(
                started.elapsed() < ROTATION_DEADLINE,
                "the rotation did not complete; log:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
            tokio::time::sleep(POLL).await;
        }
    });
    json["password"] = serde_json::Value::String(new_password.clone());
    connect_and_query(&json.to_string())
        .expect_err("a plain TCP login must be rejected: the rotation went over TLS");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("TRACE"), "the log was not at trace level");
    for secret in [old_password, new_password.as_str(), "SCRAM-SHA-256$"] {
        assert!(!log.contains(secret), "{secret:?} is in the server's log");
    }
    assert!(
        !pg.log().contains(&new_password),
        "a password is in PostgreSQL's log"
    );
}
