//! `strongroom`: the AWS Secrets Manager-compatible server on an embedded store.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use strongroom::{
    AccountId, AuditMode, AuditQuery, AuditSettings, CopyCurrentValueRotator, LocalKeyProvider,
    Principal, Region, RequestContext, SecretStore, Session,
};
use strongroom_server::{
    AuditModeSetting, Credentials, DEFAULT_ACCOUNT_ID, DEFAULT_DATA_DIR, DEFAULT_KEY_FILE,
    DEFAULT_LISTEN, DEFAULT_REGION, ServerState, Settings, TlsFiles, become_subreaper,
    parse_rotation_mapping, parse_rotation_table, raise_descriptor_limit, run,
};
use tracing_subscriber::EnvFilter;

mod logwriter;

#[derive(Parser)]
#[command(
    name = "strongroom",
    version,
    about = "An AWS Secrets Manager-compatible secret store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Secrets Manager API on an embedded store in a local data folder.
    Serve(Box<ServeArgs>),
    /// Read or check the audit log of a store that is not running (a store folder has one
    /// opener at a time).
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole chain: every entry, the signed checkpoint, the last committed change's
    /// entry, and that nothing is cut off. Exits 1, naming the first bad entry, if it does not
    /// verify.
    Verify(StoreArgs),
    /// Print entries as JSON Lines with CloudTrail's field names, oldest first.
    Export(ExportArgs),
}

#[derive(clap::Args)]
struct StoreArgs {
    /// Data folder [default: ./strongroom-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Master key file [default: DIR/master.key].
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only entries at or after this time (RFC 3339, `2026-12-08T10:00:00Z`).
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    since: Option<std::time::SystemTime>,
    /// Only entries before this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    until: Option<std::time::SystemTime>,
    /// Only entries about this secret (a name or an ARN).
    #[arg(long, value_name = "ID")]
    secret: Option<String>,
    /// Only entries of this principal.
    #[arg(long, value_name = "PRINCIPAL")]
    principal: Option<String>,
    /// Start at this sequence number (to continue an earlier export).
    #[arg(long, value_name = "N", default_value_t = 1)]
    from_seq: u64,
}

fn rfc3339(s: &str) -> Result<std::time::SystemTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(std::time::SystemTime::from)
        .map_err(|e| format!("not an RFC 3339 time ({e}): write it as 2026-12-08T10:00:00Z"))
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port) [default: 127.0.0.1:7320].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Data folder, created if absent [default: ./strongroom-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Master key file, created (mode 0600) if absent [default: DIR/master.key].
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Region for requests whose signature names none [default: us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// Account id in ARNs [default: 000000000000].
    #[arg(long)]
    account_id: Option<String>,
    /// Access keys to verify SigV4 signatures against; without it authentication is off.
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// Allow authentication to be off on an address other than loopback. NO SECURITY.
    #[arg(long)]
    allow_unauthenticated: bool,
    /// Map a RotationLambdaARN to a command run once per rotation step (the Lambda event as JSON
    /// on stdin; split into words as a shell would, run without one), or to `builtin:NAME`.
    /// Repeatable.
    #[arg(long, value_name = "ARN=COMMAND", value_parser = rotation_mapping)]
    rotation_function: Vec<(String, String)>,
    /// Seconds one step of a rotation command may run before it is killed [default: 300].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    rotation_step_timeout: Option<u64>,
    /// The access key whose credentials rotation commands get [default: the file's first].
    #[arg(long, value_name = "ID")]
    rotation_access_key_id: Option<String>,
    /// PEM file of the CA certificates the built-in PostgreSQL rotators trust for database
    /// servers [default: the platform's].
    #[arg(long, value_name = "FILE")]
    postgres_ca_file: Option<PathBuf>,
    /// Serve over TLS with this certificate chain (PEM; the server's certificate first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by a CA in this PEM file (they gate the connection;
    /// SigV4 still names the principal).
    #[arg(long, value_name = "FILE")]
    tls_client_ca: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback (behind a TLS proxy). NO SECURITY
    /// otherwise.
    #[arg(long)]
    allow_plaintext: bool,
    /// Pass the server's environment variable NAME on to rotation commands (they get only
    /// PATH, HOME, LANG, LC_ALL, TZ, TMPDIR and their AWS settings otherwise). Repeatable.
    #[arg(long, value_name = "NAME")]
    rotation_env: Vec<String>,
    /// Run rotation commands as the OS user USER (the server must run as root).
    #[arg(long, value_name = "USER")]
    rotation_user: Option<String>,
    /// Concurrent client connections [default: the descriptor limit less 64]; at the cap the
    /// oldest connection without a complete request is closed to admit a new one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// Seconds a request's head may take to arrive [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: Option<u64>,
    /// Seconds a connection may wait between requests [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: Option<u64>,
    /// Seconds one request may take, its body read and answer computed [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: Option<u64>,
    /// Requests served on one connection before it is closed [default: 1000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_requests_per_connection: Option<u64>,
    /// A testing aid, as moto behaves (AWS refuses): a RotateSecret that names no rotation
    /// function, or one not mapped by --rotation-function, makes a copy of the current value the
    /// new AWSCURRENT version. NOT FOR PRODUCTION.
    #[arg(long)]
    rotate_without_function: bool,
    /// Authenticate the records of a store written by a version before record authentication
    /// (once, when upgrading); without it such a store is refused, as a store whose
    /// authentication was stripped looks the same. A command-line flag only.
    #[arg(long)]
    upgrade_store: bool,
    /// When a read's audit entry must be durable: `buffered` (the default: appended before the
    /// read returns, synced at most 100 ms later) or `strict` (synced before it returns).
    #[arg(long, value_name = "MODE", value_parser = ["buffered", "strict"])]
    audit_mode: Option<String>,
    /// Keep the audit log's newest signed position in FILE, outside the data folder, so that a
    /// data folder rolled back to an older copy is refused at start.
    #[arg(long, value_name = "FILE")]
    audit_anchor: Option<PathBuf>,
    /// TOML file with the same settings (flags win).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// `ARN=COMMAND`, validated; the ARN trimmed, the command as given.
fn rotation_mapping(mapping: &str) -> Result<(String, String), String> {
    let (arn, _) = parse_rotation_mapping(mapping)?;
    let command = mapping.split_once('=').map_or("", |(_, c)| c);
    Ok((arn, command.to_owned()))
}

/// `RUST_LOG` (default `info`), with the PostgreSQL client's own log capped at `info` whatever
/// it says: at `debug` the client logs statement text and parameters, and the built-in rotator's
/// `ALTER ROLE ... PASSWORD` statements carry password verifiers, which can be attacked offline.
fn log_filter() -> EnvFilter {
    let base = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    ["tokio_postgres=info", "postgres=info"]
        .into_iter()
        .filter_map(|d| d.parse().ok())
        .fold(base, EnvFilter::add_directive)
}

fn main() -> ExitCode {
    // Log lines are written in batches by a background thread (see logwriter.rs); the guard
    // writes what is still buffered when `main` returns.
    let (writer, _log_guard) = logwriter::batched_stderr();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Audit(AuditCommand::Verify(args)) => audit_verify(&args),
        Command::Audit(AuditCommand::Export(args)) => audit_export(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("strongroom: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What a process holding secrets owes the machine: files it creates are its user's alone
/// (umask 077), and neither a crash nor a debugger of another user writes its memory to disk
/// (no core dumps, not dumpable).
fn harden_process() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    if let Err(e) = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0) {
        tracing::warn!(error = %e, "could not turn core dumps off");
    }
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!(error = %e, "could not mark the process non-dumpable");
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    harden_process();
    let mut flags = Settings::default();
    flags.listen = args.listen;
    flags.data = args.data;
    flags.key_file = args.key_file;
    flags.region = args.region;
    flags.account_id = args.account_id;
    flags.credentials = args.credentials;
    flags.allow_unauthenticated = args.allow_unauthenticated.then_some(true);
    flags.rotation_functions = args.rotation_function.into_iter().collect();
    flags.rotation_step_timeout = args.rotation_step_timeout;
    flags.postgres_ca_file = args.postgres_ca_file;
    flags.rotation_access_key_id = args.rotation_access_key_id;
    flags.tls_cert = args.tls_cert;
    flags.tls_key = args.tls_key;
    flags.tls_client_ca = args.tls_client_ca;
    flags.allow_plaintext = args.allow_plaintext.then_some(true);
    flags.rotate_without_function = args.rotate_without_function.then_some(true);
    flags.rotation_env = args.rotation_env;
    flags.rotation_user = args.rotation_user;
    flags.max_connections = args.max_connections;
    flags.header_read_timeout = args.header_read_timeout;
    flags.idle_timeout = args.idle_timeout;
    flags.request_timeout = args.request_timeout;
    flags.max_requests_per_connection = args.max_requests_per_connection;
    flags.audit_anchor = args.audit_anchor;
    flags.audit_mode = match args.audit_mode.as_deref() {
        Some("strict") => Some(AuditModeSetting::Strict),
        Some(_) => Some(AuditModeSetting::Buffered),
        None => None,
    };
    let settings = match &args.config {
        Some(path) => flags.or(Settings::load(path).map_err(|e| e.to_string())?),
        None => flags,
    };
    let listen = match settings.listen {
        Some(a) => a,
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|e| format!("default listen address: {e}"))?,
    };
    let connection_limits = settings.connection_limits();
    let data = settings
        .data
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let key_file = settings
        .key_file
        .unwrap_or_else(|| data.join(DEFAULT_KEY_FILE));
    let region = Region::new(settings.region.as_deref().unwrap_or(DEFAULT_REGION))
        .map_err(|e| format!("--region: {e}"))?;
    let account = AccountId::new(settings.account_id.as_deref().unwrap_or(DEFAULT_ACCOUNT_ID))
        .map_err(|e| format!("--account-id: {e}"))?;
    let credentials = settings
        .credentials
        .as_deref()
        .map(Credentials::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    if credentials.is_none()
        && !listen.ip().is_loopback()
        && settings.allow_unauthenticated != Some(true)
    {
        return Err(format!(
            "refusing to serve {listen} without authentication: give --credentials FILE, or --allow-unauthenticated to accept anyone"
        ));
    }

    let rotation_functions = parse_rotation_table(&settings.rotation_functions)
        .map_err(|e| format!("--rotation-function: {e}"))?;
    if let Some(id) = &settings.rotation_access_key_id {
        match &credentials {
            Some(c) if !c.contains(id) => {
                return Err(format!(
                    "--rotation-access-key-id {id}: no such access key in the credentials file"
                ));
            }
            Some(_) => {}
            None => tracing::warn!(
                "--rotation-access-key-id is ignored: authentication is off (rotation commands get placeholder credentials)"
            ),
        }
    }

    let tls_files = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: settings.tls_client_ca.clone(),
        }),
        (None, None) if settings.tls_client_ca.is_some() => {
            return Err("--tls-client-ca needs --tls-cert and --tls-key".to_owned());
        }
        (None, None) if !listen.ip().is_loopback() && settings.allow_plaintext != Some(true) => {
            return Err(format!(
                "refusing to serve {listen} without TLS: signed requests and secret values would cross the network in clear; give --tls-cert FILE --tls-key FILE, or --allow-plaintext (behind a TLS proxy)"
            ));
        }
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".to_owned()),
    };
    create_private_dir(&data)?;
    warn_if_shared(&data);
    let key_existed = key_file.exists();
    let db = data.join("db");
    if !key_existed && db.exists() {
        // Never create a key for a store that has one: its values could not be read, and new
        // ones would be written under a second key.
        let ids = SecretStore::master_key_ids(&db)
            .map_err(|e| format!("reading the store in {}: {e}", data.display()))?;
        if !ids.is_empty() {
            let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
            return Err(format!(
                "the master key file {} is missing, and the store in {} is encrypted under master key {}: restore the key file (or point --key-file at it); a new key is created only for a new store",
                key_file.display(),
                data.display(),
                ids.join(" or ")
            ));
        }
    }
    let provider = LocalKeyProvider::open(&key_file)
        .map_err(|e| format!("key file {}: {e}", key_file.display()))?;
    if key_existed {
        tracing::info!(key_file = %key_file.display(), "using master key file");
    } else {
        tracing::warn!(
            key_file = %key_file.display(),
            "created a new master key file (mode 0600); back it up: without it the store cannot be read"
        );
    }
    let audit = match settings.audit_mode {
        Some(AuditModeSetting::Strict) => AuditSettings::with_mode(AuditMode::Strict),
        _ => AuditSettings::default(),
    };
    let mut builder = SecretStore::builder(db, Arc::new(provider))
        .region(region)
        .account_id(account)
        .audit(audit);
    if let Some(anchor) = &settings.audit_anchor {
        builder = builder.audit_anchor(anchor);
    }
    if args.upgrade_store {
        builder = builder.upgrade_unauthenticated_store();
    }
    let store = builder
        .open()
        .map_err(|e| format!("opening the store in {}: {e}", data.display()))?;
    if settings.rotate_without_function == Some(true) {
        store.register_fallback_rotator(Arc::new(CopyCurrentValueRotator::new()));
        tracing::warn!(
            "--rotate-without-function: a RotateSecret without a mapped rotation function copies the current value into a new AWSCURRENT version (a testing aid; AWS refuses such a request)"
        );
    }
    let mut state = ServerState::new(store);
    for (arn, function) in rotation_functions {
        state = state.with_rotation_function(arn, function);
    }
    if let Some(secs) = settings.rotation_step_timeout {
        state = state.with_rotation_step_timeout(std::time::Duration::from_secs(secs));
    }
    if let Some(id) = settings.rotation_access_key_id {
        state = state.with_rotation_access_key(id);
    }
    state = state.with_rotation_env(settings.rotation_env.iter().cloned());
    if let Some(user) = &settings.rotation_user {
        state = state
            .with_rotation_user(user)
            .map_err(|e| format!("--rotation-user: {e}"))?;
    }
    if let Err(e) = become_subreaper() {
        tracing::warn!(error = %e, "could not become the child subreaper: processes a rotation command leaves outside its process group are not reaped");
    }
    if let Some(path) = settings.postgres_ca_file {
        state = state
            .with_postgres_ca_file(&path)
            .map_err(|e| format!("--postgres-ca-file: {e}"))?;
    }
    match raise_descriptor_limit() {
        Ok(limit) => tracing::debug!(limit, "file descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the file descriptor limit"),
    }
    state = state.with_connection_limits(connection_limits);
    match credentials {
        Some(c) => {
            tracing::info!(access_keys = c.len(), "SigV4 authentication on");
            state = state.with_credentials(c);
        }
        None => {
            tracing::warn!(
                "authentication is OFF: any caller is accepted (give --credentials FILE to turn it on)"
            );
            if !listen.ip().is_loopback() {
                state = state.dangerous_accept_any_host();
            }
        }
    }
    if let Some(files) = tls_files {
        let cert = files.cert.clone();
        let client_certificates = files.client_ca.is_some();
        state = state.with_tls(files).map_err(|e| format!("TLS: {e}"))?;
        tracing::info!(cert = %cert.display(), client_certificates, "serving over TLS (SIGHUP reloads the certificate)");
    } else if !listen.ip().is_loopback() {
        tracing::warn!(
            "serving plain HTTP on a non-loopback address (--allow-plaintext): requests and secret values cross the network unencrypted unless a TLS proxy is in front"
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let shutdown = shutdown_signal()?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {bound}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("stdout: {e}"))?;
        }
        tracing::info!(address = %bound, data = %data.display(), "serving");
        run(listener, state, shutdown)
            .await
            .map_err(|e| format!("server: {e}"))?;
        tracing::info!("stopped; store flushed and closed");
        Ok(())
    });
    // Work still running on the blocking pool (a rotation step or a write past the grace
    // period) must not hold the process: every acknowledged write is already on disk.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// A session on the store in `args`' folder (not running), for the audit commands: the
/// operator's, as the audit log records it.
fn open_stopped(args: &StoreArgs) -> Result<Session, String> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let key_file = args
        .key_file
        .clone()
        .unwrap_or_else(|| data.join(DEFAULT_KEY_FILE));
    let db = data.join("db");
    if !db.exists() {
        return Err(format!("no store in {}", data.display()));
    }
    if !key_file.exists() {
        return Err(format!(
            "the master key file {} is missing",
            key_file.display()
        ));
    }
    let provider = LocalKeyProvider::open(&key_file)
        .map_err(|e| format!("key file {}: {e}", key_file.display()))?;
    let store = SecretStore::builder(db, Arc::new(provider))
        .open()
        .map_err(|e| format!("opening the store in {}: {e}", data.display()))?;
    let operator = Principal::new("strongroom:operator").map_err(|e| e.to_string())?;
    Ok(store.session(RequestContext::new(operator).invoked_by("strongroom-cli")))
}

fn audit_verify(args: &StoreArgs) -> Result<(), String> {
    let session = open_stopped(args)?;
    let show = std::io::stderr().is_terminal();
    let verified = session
        .verify_audit_log(&mut |n| {
            if show {
                eprint!("\rverified {n} entries");
            }
        })
        .map_err(|e| e.to_string())?;
    if show {
        eprintln!();
    }
    let range = match (verified.first_seq, verified.last_seq) {
        (Some(a), Some(b)) => format!("entries {a} to {b}"),
        _ => "no entries".to_owned(),
    };
    println!(
        "the audit log verifies: {} entries ({range}), signed checkpoint at {}",
        verified.entries,
        verified
            .checkpoint_seq
            .map_or_else(|| "none yet".to_owned(), |s| format!("entry {s}"))
    );
    Ok(())
}

fn audit_export(args: &ExportArgs) -> Result<(), String> {
    let session = open_stopped(&args.store)?;
    let mut query = AuditQuery::all();
    if let Some(t) = args.since {
        query = query.since(t);
    }
    if let Some(t) = args.until {
        query = query.until(t);
    }
    if let Some(s) = &args.secret {
        query = query.secret(s.clone());
    }
    if let Some(p) = &args.principal {
        query = query.principal(p.clone());
    }
    let entries = session
        .audit_entries(query, args.from_seq)
        .map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let line = serde_json::to_string(&strongroom_server::audit_json(&entry))
            .map_err(|e| e.to_string())?;
        writeln!(out, "{line}").map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))
}

fn create_private_dir(dir: &std::path::Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| format!("cannot create the data folder {}: {e}", dir.display()))
}

/// Warns when the data folder (made by someone else) lets its group or others in: the store's
/// own files are private whatever the folder, but its name, backups beside it and the key file's
/// name are still visible.
fn warn_if_shared(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(dir) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                folder = %dir.display(),
                mode = format!("{mode:o}"),
                "the data folder is accessible to its group or others; make it private with chmod 700 (the store's own files are private either way)"
            );
        }
    }
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called (before the
/// server announces its address), so a signal sent as soon as the address is known is not lost.
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let installed = |kind| signal(kind).map_err(|e| format!("installing a signal handler: {e}"));
    let mut interrupt = installed(SignalKind::interrupt())?;
    let mut terminate = installed(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
        // A second signal stops at once (every acknowledged write is already on disk).
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            eprintln!("strongroom: second signal: exiting without waiting for requests in flight");
            std::process::exit(1);
        });
    })
}
