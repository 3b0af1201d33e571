//! A throwaway PostgreSQL server for tests: a fresh cluster in a temporary folder, listening on
//! a free TCP port of 127.0.0.1 (and a Unix socket in the folder), stopped and removed on drop.
//!
//! It uses only the standard library and PostgreSQL's own programs, so any test crate of the
//! workspace can include it:
//!
//! ```ignore
//! #[path = "common/pg.rs"] mod pg;              // from tests/
//! #[path = "../../tests/common/pg.rs"] mod pg;  // from server/tests/
//!
//! let Some(pg) = pg::PgServer::start() else { return }; // skipped: not installed (never under CI)
//! pg.psql("CREATE ROLE app LOGIN PASSWORD 'secret'");
//! // connect to pg.host():pg.port() as pg::SUPERUSER with pg.superuser_password()
//! ```
//!
//! - The programs are found in `$STRONGROOM_PG_BIN`, else `pg_config --bindir`, else the newest
//!   `/usr/lib/postgresql/*/bin`, else `PATH`. If there are none, [`PgServer::start`] panics when
//!   `CI` is set (`CI=true`), and otherwise prints a notice and returns `None`.
//! - PostgreSQL refuses to run as root: when the test runs as root, every server program runs as
//!   the `postgres` user (`runuser`, or `su`), and the folder belongs to that user.
//! - Authentication: SCRAM-SHA-256 over TCP (the superuser `postgres` has a random password);
//!   trust over the Unix socket, which [`PgServer::psql`] uses.
//! - Durability is off (`fsync`, `synchronous_commit`, `full_page_writes`): it is a test server.
#![allow(dead_code, unreachable_pub, missing_docs)]
// Helpers are test code, but clippy's allow-*-in-tests only covers #[test] functions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The superuser's name.
pub const SUPERUSER: &str = "postgres";
/// The address the server listens on.
pub const HOST: &str = "127.0.0.1";

/// How long the server may take to accept connections after `pg_ctl start` returns.
const READY_DEADLINE: Duration = Duration::from_secs(60);
/// Start attempts (each on a newly picked port) before giving up on port clashes.
const START_ATTEMPTS: usize = 5;

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// How server programs are run.
#[derive(Clone, Debug)]
enum RunAs {
    /// As the current (non-root) user.
    Me,
    /// As `postgres`, through `runuser` (path given).
    Runuser(PathBuf),
    /// As `postgres`, through `su`.
    Su,
}

/// A running PostgreSQL server; stopped (`pg_ctl stop -m immediate`) and deleted on drop.
#[derive(Debug)]
pub struct PgServer {
    root: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    bin: PathBuf,
    port: u16,
    password: String,
    run_as: RunAs,
    running: bool,
}

impl PgServer {
    /// Starts a fresh server. `None` (after printing a notice) if PostgreSQL is not installed
    /// and `CI` is not set; panics if it is not installed under CI, or if it cannot start.
    pub fn start() -> Option<Self> {
        let Some(bin) = find_bin() else {
            return skip_or_fail(
                "no PostgreSQL server programs (initdb, pg_ctl) were found in $STRONGROOM_PG_BIN, `pg_config --bindir`, /usr/lib/postgresql/*/bin or PATH",
            );
        };
        let run_as = if is_root() {
            if user_ids(SUPERUSER).is_none() {
                return skip_or_fail(
                    "running as root, and there is no `postgres` system user to run the server as (PostgreSQL refuses to run as root)",
                );
            }
            match find_program("runuser", &["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
                Some(path) => RunAs::Runuser(path),
                None => RunAs::Su,
            }
        } else {
            RunAs::Me
        };
        let root = std::env::temp_dir().join(format!(
            "strongroom-pg-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        if root.exists() {
            // Left by an earlier process with the same id that was killed.
            std::fs::remove_dir_all(&root).unwrap();
        }
        std::fs::create_dir(&root).unwrap();
        let mut server = Self {
            data: root.join("data"),
            socket_dir: root.join("socket"),
            log: root.join("server.log"),
            root,
            bin,
            port: 0,
            password: random_hex(16),
            run_as,
            running: false,
        };
        server.init();
        server.launch();
        Some(server)
    }

    /// The address to connect to.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password (hex, so it needs no quoting anywhere).
    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    /// `postgres://postgres:<password>@127.0.0.1:<port>/postgres`.
    pub fn superuser_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@{HOST}:{}/postgres",
            self.password, self.port
        )
    }

    /// The folder of the server's Unix socket (trust authentication).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The cluster's data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `sql` as the superuser on database `postgres` (through the socket, stopping at the
    /// first error) and returns what it printed (unaligned, tuples only). Panics if it fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// [`PgServer::psql`] on database `dbname`.
    pub fn psql_in(&self, dbname: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", SUPERUSER, "-d", dbname, "-c", sql])
            .env_remove("PGOPTIONS")
            .current_dir(&self.root)
            .output()
            .expect("running psql");
        assert!(
            out.status.success(),
            "psql failed ({}) on {sql:?}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Turns TLS on with the PEM certificate chain `cert` and key `key`, and from then on accepts
    /// TCP logins only over TLS (`hostssl`; a plain TCP login is rejected). The Unix socket keeps
    /// trust authentication for [`PgServer::psql`].
    pub fn require_tls(&self, cert: &str, key: &str) {
        for (name, text) in [("server.crt", cert), ("server.key", key)] {
            let path = self.data.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            self.give_to_server_user(&path);
        }
        let hba = self.data.join("pg_hba.conf");
        std::fs::write(
            &hba,
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n\
             hostnossl all all 0.0.0.0/0 reject\n",
        )
        .unwrap();
        self.give_to_server_user(&hba);
        let conf = self.data.join("harness.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).unwrap();
        self.psql("SELECT pg_reload_conf()");
        // The reload is asynchronous: wait until the server says TLS is on.
        for _ in 0..200 {
            if self.psql("SHOW ssl") == "on" {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not turn TLS on; its log:\n{}", self.log());
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`); idempotent. Drop also does it.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let data = self.data.clone();
        let out = self.server_program(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "30".as_ref(),
                "stop".as_ref(),
            ],
        );
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            // Kill the postmaster we started, by its id, so the folder can go.
            if let Some(pid) = std::fs::read_to_string(data.join("postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().map(str::trim).map(str::to_owned))
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        }
    }

    /// `initdb`, with the superuser's password, and the settings file the server starts with.
    fn init(&mut self) {
        std::fs::create_dir(&self.socket_dir).unwrap();
        let pwfile = self.root.join("pwfile");
        std::fs::write(&pwfile, format!("{}\n", self.password)).unwrap();
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600)).unwrap();
        self.give_to_server_user(&self.root);
        self.give_to_server_user(&self.socket_dir);
        self.give_to_server_user(&pwfile);
        let mut pwarg = std::ffi::OsString::from("--pwfile=");
        pwarg.push(&pwfile);
        let data = self.data.clone();
        let out = self
            .server_program(
                "initdb",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-U".as_ref(),
                    SUPERUSER.as_ref(),
                    "--auth-local=trust".as_ref(),
                    "--auth-host=scram-sha-256".as_ref(),
                    pwarg.as_os_str(),
                    "--encoding=UTF8".as_ref(),
                    "--locale=C".as_ref(),
                    "--no-sync".as_ref(),
                    "--no-instructions".as_ref(),
                ],
            )
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&pwfile).unwrap();
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("\n# Added by the test harness (tests/common/pg.rs).\ninclude_if_exists = 'harness.conf'\n");
        std::fs::write(&conf, text).unwrap();
    }

    /// Starts the server on a free port, retrying on a clash, and waits until it accepts
    /// connections over TCP.
    fn launch(&mut self) {
        let data = self.data.clone();
        let log = self.log.clone();
        for attempt in 1..=START_ATTEMPTS {
            self.port = free_port();
            let settings = format!(
                "port = {}\nlisten_addresses = '{HOST}'\nunix_socket_directories = '{}'\n\
                 fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                 max_connections = 100\nlog_min_messages = warning\n",
                self.port,
                self.socket_dir.display()
            );
            let harness_conf = self.data.join("harness.conf");
            std::fs::write(&harness_conf, settings).unwrap();
            self.give_to_server_user(&harness_conf);
            let out = self
                .server_program(
                    "pg_ctl",
                    &[
                        "-D".as_ref(),
                        data.as_os_str(),
                        "-l".as_ref(),
                        log.as_os_str(),
                        "-w".as_ref(),
                        "-t".as_ref(),
                        "60".as_ref(),
                        "start".as_ref(),
                    ],
                )
                .expect("running pg_ctl start");
            if out.status.success() {
                self.running = true;
                self.wait_ready();
                return;
            }
            let log_text = self.log();
            let clash = log_text.contains("could not bind")
                || log_text.contains("Address already in use")
                || log_text.contains("could not create any TCP/IP sockets");
            assert!(
                clash && attempt < START_ATTEMPTS,
                "pg_ctl start failed ({}), attempt {attempt}:\n{}\n{}\nserver log:\n{log_text}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!("pg harness: port {} was taken; retrying", self.port);
        }
    }

    /// Polls `pg_isready` over TCP until the server accepts connections, within a deadline.
    #[expect(
        clippy::disallowed_methods,
        reason = "a real deadline for an external process, not the store's clock"
    )]
    fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + READY_DEADLINE;
        loop {
            let status = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", HOST, "-p", &self.port.to_string(), "-t", "2"])
                .args(["-U", SUPERUSER, "-d", "postgres"])
                .current_dir(&self.root)
                .status()
                .expect("running pg_isready");
            if status.success() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "PostgreSQL did not accept connections on {HOST}:{} within {READY_DEADLINE:?}; server log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs server program `name` (from the bin folder) as the server's user.
    fn server_program(&self, name: &str, args: &[&std::ffi::OsStr]) -> std::io::Result<Output> {
        let program = self.bin.join(name);
        let mut cmd = match &self.run_as {
            RunAs::Me => Command::new(&program),
            RunAs::Runuser(runuser) => {
                let mut c = Command::new(runuser);
                c.args(["-u", SUPERUSER, "--"]).arg(&program);
                c
            }
            RunAs::Su => {
                let mut line = format!("exec {}", shell_quote(&program.to_string_lossy()));
                for a in args {
                    line.push(' ');
                    line.push_str(&shell_quote(&a.to_string_lossy()));
                }
                let mut c = Command::new("su");
                c.args([SUPERUSER, "-s", "/bin/sh", "-c", &line]);
                return c.current_dir(&self.root).output();
            }
        };
        cmd.args(args).current_dir(&self.root).output()
    }

    /// Hands `path` to the server's user (when running as root).
    fn give_to_server_user(&self, path: &Path) {
        if matches!(self.run_as, RunAs::Me) {
            return;
        }
        let (uid, gid) = user_ids(SUPERUSER).expect("the postgres user");
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Whether `CI` says this is a CI run.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !v.is_empty() && v != "false" && v != "0" && v != "no"
    })
}

fn skip_or_fail(reason: &str) -> Option<PgServer> {
    assert!(
        !under_ci(),
        "PostgreSQL is needed by this test and CI is set: {reason}. Install it (Debian: \
         `apt-get install postgresql`; scripts/test does) or point STRONGROOM_PG_BIN at its bin folder."
    );
    eprintln!("NOTICE: skipping this PostgreSQL test: {reason}. (Under CI=true it fails instead.)");
    None
}

/// The folder holding `initdb` and `pg_ctl`.
fn find_bin() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("STRONGROOM_PG_BIN") {
        let dir = PathBuf::from(dir);
        return has(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let dir = e.path().join("bin");
            has(&dir).then_some((v, dir))
        })
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has(d))
}

fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    path.into_iter()
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The uid and gid of system user `name`.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// A port that was free a moment ago (bind port 0, read it, release it). The server may lose
/// it to another process before it binds: [`PgServer::launch`] retries then.
fn free_port() -> u16 {
    let listener = TcpListener::bind((HOST, 0)).expect("binding a free port");
    listener.local_addr().unwrap().port()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("reading /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
