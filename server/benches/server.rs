//! Throughput and latency of the server against `moto_server` (the moto project's Secrets
//! Manager emulator), measured in the same run with the same client and concurrency.
//!
//! Both servers run as separate processes on loopback: `strongroom serve` (release build, SigV4
//! verification ON, request log at the default `info` level written to a file) and
//! `moto_server` from the `moto[server]` Python package, which this bench installs into
//! `target/moto-venv` when absent. One client (a single-threaded tokio runtime, a minimal
//! HTTP/1.1 client over `CONNECTIONS` keep-alive connections each with one request in flight) sends requests that
//! were SigV4-signed once before the run, so the client's own cost is small and the same for both.
//!
//! Prints one line per operation:
//! `<Operation>: strongroom <N> req/s, moto_server <M> req/s, ratio <R>` with p50/p99 latencies.
//! Target: GetSecretValue at least 100x moto_server, p99 under 2 ms.
//!
//! `cargo bench --bench server` runs it (`STRONGROOM_BENCH_SECS` sets the seconds per
//! measurement, default 3; each is run three times, alternating between the servers, and the
//! median round is reported). The measurements are named `server/GetSecretValue` and
//! `server/PutSecretValue`, plus `server/GetSecretValue-tls` (the server over TLS against plain
//! HTTP, both strongroom, in the same run), and a filter after `--` selects among them as criterion's do (a
//! regular expression, or `--exact`). Where moto_server cannot be installed or started (no
//! Python, no package registry) the bench says so and is skipped. Under `cargo test` (no
//! `--bench` argument) it only checks, briefly and against strongroom alone, that the measuring
//! code works.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

const CONNECTIONS: usize = 16;
const ACCESS_KEY: &str = "AKIDBENCH";
const SECRET_KEY: &str = "bench-secret-access-key";
const REGION: &str = "us-east-1";
/// Secrets that PutSecretValue spreads over (each takes about 100 versions a day).
const PUT_SECRETS: usize = 512;
const MOTO_VERSION: &str = "5.2.5";

/// A request ready to send: the bytes of a signed HTTP/1.1 request.
#[derive(Clone)]
struct Prepared {
    bytes: Bytes,
}

fn prepare(addr: SocketAddr, target: &str, body: String) -> Prepared {
    let host = addr.to_string();
    let amz_target = format!("secretsmanager.{target}");
    let mut headers = vec![
        ("host".to_owned(), host.clone()),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        ("x-amz-target".to_owned(), amz_target),
    ];
    let identity = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("secretsmanager")
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(unix_now()))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("http://{host}/");
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }
    let mut raw = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in &headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    Prepared {
        bytes: Bytes::from(raw),
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "the signing time of a benchmark's requests"
)]
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A keep-alive connection speaking just enough HTTP/1.1 to send prepared requests and read
/// `Content-Length` responses, so that the client's own cost stays small. It connects again when
/// the server closed the connection (moto_server's HTTP/1.0 server closes it after each response).
struct Conn {
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsConnector>,
    stream: Option<Box<dyn Io>>,
    buf: Vec<u8>,
}

/// A plain or a TLS stream.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Io for T {}

impl Conn {
    fn new(addr: SocketAddr, tls: Option<tokio_rustls::TlsConnector>) -> Self {
        Self {
            addr,
            tls,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    async fn send(&mut self, p: &Prepared) -> (u16, Bytes) {
        for _ in 0..3 {
            if self.stream.is_none() {
                let stream = TcpStream::connect(self.addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                self.stream = Some(match &self.tls {
                    None => Box::new(stream),
                    Some(tls) => Box::new(
                        tls.connect(
                            rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap(),
                            stream,
                        )
                        .await
                        .unwrap(),
                    ),
                });
                self.buf.clear();
            }
            if let Some(answer) = self.exchange(p).await {
                return answer;
            }
            // The server closed a kept-alive connection before answering: connect again.
            self.stream = None;
        }
        panic!("the server closed the connection three times without answering");
    }

    async fn exchange(&mut self, p: &Prepared) -> Option<(u16, Bytes)> {
        let stream = self.stream.as_mut().unwrap();
        stream.write_all(&p.bytes).await.ok()?;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&self.buf).unwrap() {
                let status = response.code.unwrap();
                let mut length = None;
                let mut close = response.version == Some(0);
                for h in response.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(h.value)
                            .ok()
                            .and_then(|v| v.parse::<usize>().ok());
                    } else if h.name.eq_ignore_ascii_case("connection") {
                        close = h.value.eq_ignore_ascii_case(b"close");
                    }
                }
                let length = length.expect("a Content-Length response");
                while self.buf.len() < head + length {
                    if stream.read_buf(&mut self.buf).await.unwrap() == 0 {
                        panic!("the connection closed inside a response");
                    }
                }
                let body = Bytes::copy_from_slice(&self.buf[head..head + length]);
                self.buf.drain(..head + length);
                if close {
                    self.stream = None;
                }
                return Some((status, body));
            }
            match stream.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) if self.buf.is_empty() => return None,
                Ok(0) => panic!("the connection closed inside a response"),
                Ok(_) => {}
                Err(e) => panic!("reading a response: {e}"),
            }
        }
    }
}

struct Measured {
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// Drives `CONNECTIONS` connections for `secs`, connection `i` sending what `requests[i]` gives.
async fn drive(
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsConnector>,
    requests: Vec<Source>,
    warmup: Duration,
    secs: Duration,
) -> Measured {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + secs;
    let mut tasks = Vec::new();
    for mut source in requests {
        let tls = tls.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = Conn::new(addr, tls);
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut i = 0;
            loop {
                let fresh;
                let request = match &mut source {
                    Source::Cycle(reqs) => &reqs[i % reqs.len()],
                    Source::Fresh(make) => {
                        fresh = make();
                        &fresh
                    }
                };
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let (status, body) = conn.send(request).await;
                i += 1;
                if t0 >= measure_from {
                    latencies.push(t0.elapsed());
                    if status != 200 {
                        if errors == 0 {
                            eprintln!("error {status}: {}", String::from_utf8_lossy(&body));
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Measured {
        rate: all.len() as f64 / secs.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

fn free_port() -> SocketAddr {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA's certificate for 127.0.0.1 written into `dir` (cert.pem, key.pem), and a client
/// connector that trusts that CA only.
fn test_tls(dir: &Path) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject as _;
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    std::fs::set_permissions(
        dir.join("key.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

fn start_strongroom(dir: &Path, tls: bool) -> Server {
    std::fs::write(
        dir.join("creds"),
        format!("{ACCESS_KEY} {SECRET_KEY} bench\n"),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.join("creds"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .arg("--credentials")
        .arg(dir.join("creds"))
        .args(if tls {
            vec![
                "--tls-cert".into(),
                dir.join("cert.pem").into_os_string(),
                "--tls-key".into(),
                dir.join("key.pem").into_os_string(),
            ]
        } else {
            Vec::new()
        })
        .env(
            "RUST_LOG",
            std::env::var("STRONGROOM_BENCH_LOG").unwrap_or_else(|_| "info".to_owned()),
        )
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    Server { child, addr }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `moto_server`, installed into `target/moto-venv` when absent; `Err` says why it cannot be had
/// (no Python, no package registry, or it does not start).
fn start_moto() -> Result<Server, String> {
    let venv = workspace_root().join("target/moto-venv");
    let bin = venv.join("bin/moto_server");
    let marker = venv.join(".moto-version");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(MOTO_VERSION) {
        eprintln!(
            "installing moto[server]=={MOTO_VERSION} into {}",
            venv.display()
        );
        let run = |cmd: &mut Command, what: &str| match cmd.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("{what} failed: {status}")),
            Err(e) => Err(format!("{what} could not run: {e}")),
        };
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        )?;
        run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("moto[server]=={MOTO_VERSION}")),
            "pip install moto[server]",
        )?;
        std::fs::write(&marker, MOTO_VERSION).unwrap();
    }
    let addr = free_port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &addr.port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{} could not run: {e}", bin.display()))?;
    let mut server = Server { child, addr };
    // Wait (up to a minute) until it accepts connections.
    let mut attempts = 0;
    while std::net::TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("moto_server exited at start: {status}"));
        }
        attempts += 1;
        if attempts >= 1200 {
            return Err("moto_server did not accept connections within a minute".to_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

/// What makes an operation's requests: one list per connection.
type Requests = fn(SocketAddr) -> Vec<Source>;

/// What one connection sends: the same signed requests over and over (reads), or a freshly
/// signed one each time (writes: each `PutSecretValue` needs a new `ClientRequestToken`, or it
/// would be an idempotent replay that writes nothing).
enum Source {
    Cycle(Vec<Prepared>),
    Fresh(Box<dyn FnMut() -> Prepared>),
}

/// Criterion's command-line options that take a value: the word after one is not a filter.
const VALUE_OPTIONS: &[&str] = &[
    "--baseline",
    "--baseline-lenient",
    "--color",
    "--confidence-level",
    "--format",
    "--load-baseline",
    "--logfile",
    "--measurement-time",
    "--noise-threshold",
    "--nresamples",
    "--output-format",
    "--plotting-backend",
    "--profile-time",
    "--sample-size",
    "--save-baseline",
    "--significance-level",
    "--warm-up-time",
];

/// Whether the benchmark `name` (`server/<Operation>`) is selected by the filter given after
/// `cargo bench ... --`, read as criterion reads its own: a regular expression, or an exact
/// name with `--exact`. No filter selects everything.
fn selected(args: &[String], name: &str) -> bool {
    let mut words = args.iter().skip(1);
    let mut filter = None;
    while let Some(word) = words.next() {
        if VALUE_OPTIONS.contains(&word.as_str()) {
            words.next();
        } else if !word.starts_with('-') {
            filter = Some(word.as_str());
            break;
        }
    }
    match filter {
        None => true,
        Some(f) if args.iter().any(|a| a == "--exact") => f == name,
        Some(f) => regex::Regex::new(f)
            .unwrap_or_else(|e| panic!("the benchmark filter {f:?} is not a valid regex: {e}"))
            .is_match(name),
    }
}

fn value_1kib() -> String {
    "v".repeat(1024)
}

async fn setup(addr: SocketAddr, tls: Option<tokio_rustls::TlsConnector>) {
    let mut s = Conn::new(addr, tls);
    let create = |name: String| {
        prepare(
            addr,
            "CreateSecret",
            serde_json::json!({
                "Name": name,
                "SecretString": value_1kib(),
                "ClientRequestToken": fresh_token(),
            })
            .to_string(),
        )
    };
    let (status, body) = s.send(&create("bench/get".to_owned())).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    for i in 0..PUT_SECRETS {
        let (status, body) = s.send(&create(format!("bench/put-{i}"))).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
}

fn get_requests(addr: SocketAddr) -> Vec<Source> {
    let get = prepare(
        addr,
        "GetSecretValue",
        r#"{"SecretId":"bench/get"}"#.to_owned(),
    );
    (0..CONNECTIONS)
        .map(|_| Source::Cycle(vec![get.clone()]))
        .collect()
}

/// A `ClientRequestToken` not used before in this process.
fn fresh_token() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:08x}-0000-4000-8000-{n:012x}", std::process::id())
}

fn put_requests(addr: SocketAddr) -> Vec<Source> {
    (0..CONNECTIONS)
        .map(|c| {
            let mut secrets = (c..PUT_SECRETS).step_by(CONNECTIONS).cycle();
            Source::Fresh(Box::new(move || {
                let i = secrets.next().unwrap_or(c);
                prepare(
                    addr,
                    "PutSecretValue",
                    serde_json::json!({
                        "SecretId": format!("bench/put-{i}"),
                        "SecretString": value_1kib(),
                        "ClientRequestToken": fresh_token(),
                    })
                    .to_string(),
                )
            }))
        })
        .collect()
}

/// The round with the median rate.
fn median(mut rounds: Vec<Measured>) -> Measured {
    rounds.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let mid = rounds.len() / 2;
    rounds.swap_remove(mid)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let operations: Vec<(&str, Requests)> = vec![
        ("GetSecretValue", get_requests as Requests),
        ("PutSecretValue", put_requests),
    ]
    .into_iter()
    .filter(|(op, _)| selected(&args, &format!("server/{op}")))
    .collect();
    let tls_selected = selected(&args, "server/GetSecretValue-tls");
    if operations.is_empty() && !tls_selected {
        return;
    }
    // The baseline: without it there is nothing to compare with, so the bench is skipped.
    let moto = match benching.then(start_moto).transpose() {
        Ok(moto) => moto,
        Err(why) => {
            eprintln!(
                "server bench skipped: it measures strongroom against moto_server in the same \
                 run, and moto_server cannot be had here: {why}"
            );
            return;
        }
    };
    let secs = Duration::from_secs_f64(
        std::env::var("STRONGROOM_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if benching { 3.0 } else { 0.2 }),
    );
    let rounds = if benching { 3 } else { 1 };
    let warmup = if benching {
        Duration::from_secs(1)
    } else {
        Duration::ZERO
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let dir = tempfile::tempdir().unwrap();
    local.block_on(&rt, async {
        let strongroom = start_strongroom(dir.path(), false);
        setup(strongroom.addr, None).await;
        if let Some(m) = &moto {
            setup(m.addr, None).await;
        }
        for (op, requests) in operations {
            // Rounds alternate between the servers, and each reports its median round, so that
            // a burst of noise from the shared machine lands on both or on neither.
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            for _ in 0..rounds {
                let r = drive(strongroom.addr, None, requests(strongroom.addr), warmup, secs).await;
                assert_eq!(r.errors, 0, "{op}: strongroom answered errors");
                assert!(r.rate > 0.0);
                eprintln!("  {op} round: strongroom {:.0} req/s", r.rate);
                ours.push(r);
                if let Some(m) = &moto {
                    let r = drive(m.addr, None, requests(m.addr), warmup, secs).await;
                    assert_eq!(r.errors, 0, "{op}: moto_server answered errors");
                    eprintln!("  {op} round: moto_server {:.0} req/s", r.rate);
                    theirs.push(r);
                }
            }
            let ours = median(ours);
            match (&moto, theirs.is_empty()) {
                (Some(_), false) => {
                    let theirs = median(theirs);
                    println!(
                        "{op}: strongroom {:.0} req/s, moto_server {:.0} req/s, ratio {:.1} (p50 {:.2} ms / {:.2} ms, p99 {:.2} ms / {:.2} ms; {CONNECTIONS} connections, median of {rounds} rounds of {:.0} s)",
                        ours.rate,
                        theirs.rate,
                        ours.rate / theirs.rate,
                        ms(ours.p50),
                        ms(theirs.p50),
                        ms(ours.p99),
                        ms(theirs.p99),
                        secs.as_secs_f64(),
                    );
                }
                _ => println!(
                    "{op}: strongroom {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms; smoke run, no moto_server)",
                    ours.rate,
                    ms(ours.p50),
                    ms(ours.p99)
                ),
            }
        }
        if tls_selected {
            // The same server binary over TLS (keep-alive connections, so the handshake is paid
            // once per connection), against plain HTTP in the same run.
            let tls_dir = tempfile::tempdir().unwrap();
            let connector = test_tls(tls_dir.path());
            let secure = start_strongroom(tls_dir.path(), true);
            setup(secure.addr, Some(connector.clone())).await;
            let mut tls_rounds = Vec::new();
            let mut plain_rounds = Vec::new();
            for _ in 0..rounds {
                let r = drive(
                    secure.addr,
                    Some(connector.clone()),
                    get_requests(secure.addr),
                    warmup,
                    secs,
                )
                .await;
                assert_eq!(r.errors, 0, "GetSecretValue over TLS answered errors");
                eprintln!("  GetSecretValue round: TLS {:.0} req/s", r.rate);
                tls_rounds.push(r);
                let r = drive(strongroom.addr, None, get_requests(strongroom.addr), warmup, secs).await;
                eprintln!("  GetSecretValue round: plain {:.0} req/s", r.rate);
                plain_rounds.push(r);
            }
            let (tls, plain) = (median(tls_rounds), median(plain_rounds));
            println!(
                "GetSecretValue over TLS: {:.0} req/s, plain HTTP {:.0} req/s, ratio {:.2} (p50 {:.2} ms / {:.2} ms, p99 {:.2} ms / {:.2} ms; {CONNECTIONS} connections, median of {rounds} rounds of {:.0} s)",
                tls.rate,
                plain.rate,
                tls.rate / plain.rate,
                ms(tls.p50),
                ms(plain.p50),
                ms(tls.p99),
                ms(plain.p99),
                secs.as_secs_f64(),
            );
        }
    });
}
