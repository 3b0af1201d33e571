//! TLS from the built-in PostgreSQL rotator to the database (feature `postgres`): a fake server
//! on the path never gets a password, and a real server that accepts only TLS is rotated.
//!
//! - A fake PostgreSQL server that will not speak TLS, or presents a certificate from a CA the
//!   rotator does not trust, and asks for the password in clear: the rotation step fails, and
//!   the fake receives no password (current or new), indeed nothing after the TLS request.
//! - A secret without an `ssl` field whose host is not this machine is treated the same (TLS
//!   required); one on a loopback address connects in plain (documented).
//! - A real PostgreSQL server that rejects every plain TCP login, with a certificate from a test
//!   CA given to the rotator: both strategies rotate over TLS; without the CA they fail.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/pg.rs"]
mod pg;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use strongroom::{
    CreateSecretInput, DriveOutcome, GetSecretValueInput, InsecureTestKeyProvider,
    PostgresCredential, PostgresRotator, RotateSecretInput, RotationStep, SecretId, SecretName,
    SecretStore, SecretValue, Session, StagingLabel,
};

const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:postgres-tls";
const CURRENT_PASSWORD: &str = "current-password-7f3a9c";
/// PostgreSQL's `SSLRequest` code.
const SSL_REQUEST: u32 = 80_877_103;

/// A test CA and a certificate it signed for `names`, in PEM.
struct TestPki {
    ca: String,
    cert: String,
    key: String,
}

fn test_pki(names: &[&str]) -> TestPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "strongroom test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    TestPki {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// How the fake server answers a client's `SSLRequest`.
#[derive(Clone)]
enum Answer {
    /// `N`: no TLS here (then, like a downgrading attacker, it asks for the password in clear).
    NoTls,
    /// `S`, then a TLS handshake with a certificate from a CA the client does not trust.
    UntrustedTls(Arc<rustls::ServerConfig>),
}

/// A fake PostgreSQL server on `addr`: it records every byte it receives (decrypted, over TLS),
/// and asks any client that sends a startup message for its password in clear.
struct FakeServer {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FakeServer {
    fn start(addr: IpAddr, answer: Answer) -> Self {
        let listener = TcpListener::bind((addr, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (received, stop) = (received.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((conn, _)) => serve(conn, &answer, &received),
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Self {
            port,
            received,
            stop,
            thread: Some(thread),
        }
    }

    fn received(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// One untyped message (length, then body), recorded; `None` at the end of the stream.
fn read_untyped(stream: &mut impl Read, received: &Mutex<Vec<u8>>) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let n = usize::try_from(u32::from_be_bytes(len))
        .ok()?
        .checked_sub(4)?;
    let mut body = vec![0u8; n.min(1 << 16)];
    stream.read_exact(&mut body).ok()?;
    let mut log = received.lock().unwrap();
    log.extend_from_slice(&len);
    log.extend_from_slice(&body);
    Some(body)
}

/// After a startup message: `AuthenticationCleartextPassword`, then record whatever comes.
fn ask_for_the_password(stream: &mut (impl Read + Write), received: &Mutex<Vec<u8>>) {
    if read_untyped(stream, received).is_none() {
        return;
    }
    if stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).is_err() {
        return;
    }
    let _ = stream.flush();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    received.lock().unwrap().extend_from_slice(&rest);
}

fn serve(mut conn: TcpStream, answer: &Answer, received: &Mutex<Vec<u8>>) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut len = [0u8; 4];
    let mut code = [0u8; 4];
    if conn.read_exact(&mut len).is_err() || conn.read_exact(&mut code).is_err() {
        return;
    }
    {
        let mut log = received.lock().unwrap();
        log.extend_from_slice(&len);
        log.extend_from_slice(&code);
    }
    if u32::from_be_bytes(code) != SSL_REQUEST {
        // A plain startup message: ask for the password at once (its rest is still unread).
        let n = usize::try_from(u32::from_be_bytes(len))
            .unwrap()
            .saturating_sub(8);
        let mut rest = vec![0u8; n];
        if conn.read_exact(&mut rest).is_err() {
            return;
        }
        received.lock().unwrap().extend_from_slice(&rest);
        if conn.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).is_ok() {
            let mut more = Vec::new();
            let _ = conn.read_to_end(&mut more);
            received.lock().unwrap().extend_from_slice(&more);
        }
        return;
    }
    match answer {
        Answer::NoTls => {
            if conn.write_all(b"N").is_ok() {
                ask_for_the_password(&mut conn, received);
            }
        }
        Answer::UntrustedTls(config) => {
            if conn.write_all(b"S").is_err() {
                return;
            }
            let tls = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(tls, conn);
            ask_for_the_password(&mut stream, received);
        }
    }
}

fn untrusted_tls() -> Answer {
    let pki = test_pki(&["localhost", "127.0.0.1"]);
    let certs =
        vec![rustls::pki_types::CertificateDer::from_pem_slice(pki.cert.as_bytes()).unwrap()];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(pki.key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    Answer::UntrustedTls(Arc::new(config))
}

use rustls::pki_types::pem::PemObject;

/// This machine's address on its default route: not a loopback address.
fn non_loopback_address() -> Option<IpAddr> {
    // Connecting a UDP socket sends nothing: it only picks the route, and so the source
    // address. Unicast documentation addresses (never a broadcast address, which is refused).
    ["203.0.113.1:9", "198.51.100.1:9", "10.1.2.3:9"]
        .into_iter()
        .find_map(|target| {
            let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
            socket.connect(target).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
}

fn open_store(dir: &std::path::Path) -> SecretStore {
    SecretStore::builder(dir.join("data"), Arc::new(InsecureTestKeyProvider::new(7)))
        .open()
        .unwrap()
}

fn create_secret(s: &Session, name: &str, json: &serde_json::Value) -> SecretId {
    let out = s
        .create_secret(
            CreateSecretInput::new(SecretName::new(name).unwrap())
                .value(SecretValue::string(json.to_string()).unwrap()),
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

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Rotates the secret `json` once with a rotator trusting `ca`; the step must fail at
/// `setSecret`, and the fake must have received only the TLS request.
fn assert_no_password_reaches(fake: &FakeServer, name: &str, json: serde_json::Value, ca: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let store = open_store(dir.path());
    let rotator = PostgresRotator::single_user()
        .ca_file(&ca_file)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .step_timeout(Duration::from_secs(10));
    store.register_rotator(FUNCTION, Arc::new(rotator));
    let s = store.as_system();
    let id = create_secret(&s, name, &json);
    s.rotate_secret(RotateSecretInput::new(id.clone()).rotation_lambda_arn(FUNCTION))
        .unwrap();
    let outcome = s.drive_rotation(&id).unwrap();
    let pending = value_of(&s, &id, StagingLabel::PENDING);
    let new_password = pending["password"].as_str().unwrap().to_owned();
    match outcome {
        DriveOutcome::Retrying { step, error, .. } => {
            assert_eq!(step, RotationStep::SetSecret, "{name}: {error}");
            assert!(error.contains("TLS"), "{name}: {error}");
            assert!(!error.contains(CURRENT_PASSWORD) && !error.contains(&new_password));
        }
        other => panic!("{name}: {other:?}"),
    }
    let received = fake.received();
    assert!(!received.is_empty(), "{name}: the rotator never connected");
    assert!(
        !contains(&received, CURRENT_PASSWORD),
        "{name}: the current password was sent"
    );
    assert!(
        !contains(&received, &new_password),
        "{name}: the new password was sent"
    );
    // Every connection sent the 8-byte TLS request and nothing else: no startup message, no
    // user name, no password message.
    assert_eq!(received.len() % 8, 0, "{name}: {received:?}");
    for request in received.chunks(8) {
        assert_eq!(
            request,
            [0, 0, 0, 8, 4, 210, 22, 47],
            "{name}: {received:?}"
        );
    }
}

fn credential(host: &str, port: u16, ssl: Option<bool>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "engine": "postgres", "host": host, "port": port,
        "username": "app", "password": CURRENT_PASSWORD, "dbname": "app",
    });
    if let Some(ssl) = ssl {
        v["ssl"] = serde_json::Value::Bool(ssl);
    }
    v
}

#[test]
fn a_server_that_will_not_speak_tls_gets_no_password() {
    let trusted = test_pki(&["localhost"]);
    let fake = FakeServer::start("127.0.0.1".parse().unwrap(), Answer::NoTls);
    assert_no_password_reaches(
        &fake,
        "pg/no-tls",
        credential("127.0.0.1", fake.port, Some(true)),
        &trusted.ca,
    );
}

#[test]
fn a_server_with_an_untrusted_certificate_gets_no_password() {
    let trusted = test_pki(&["localhost"]);
    let fake = FakeServer::start("127.0.0.1".parse().unwrap(), untrusted_tls());
    assert_no_password_reaches(
        &fake,
        "pg/untrusted",
        credential("127.0.0.1", fake.port, Some(true)),
        &trusted.ca,
    );
}

#[test]
fn off_loopback_tls_is_required_without_an_ssl_field() {
    let Some(ip) = non_loopback_address() else {
        assert!(
            std::env::var("CI").is_err(),
            "this machine has no non-loopback address to test with"
        );
        eprintln!("skipped: this machine has no non-loopback address");
        return;
    };
    let trusted = test_pki(&["localhost"]);
    for answer in [Answer::NoTls, untrusted_tls()] {
        let fake = FakeServer::start(ip, answer);
        assert_no_password_reaches(
            &fake,
            "pg/remote",
            credential(&ip.to_string(), fake.port, None),
            &trusted.ca,
        );
    }
}

#[test]
fn the_transport_follows_the_ssl_field_and_the_host() {
    let parse = |v: serde_json::Value| PostgresCredential::from_json(&v.to_string());
    let uses_tls =
        |host: &str, ssl: Option<bool>| parse(credential(host, 5432, ssl)).unwrap().uses_tls();
    assert!(uses_tls("db.example", None));
    assert!(uses_tls("10.1.2.3", None));
    assert!(!uses_tls("127.0.0.1", None));
    assert!(!uses_tls("localhost", None));
    assert!(!uses_tls("::1", None));
    assert!(uses_tls("127.0.0.1", Some(true)));
    assert!(
        !uses_tls("db.example", Some(false)),
        "an explicit `ssl: false` is obeyed"
    );
    let mut v = credential("db.example", 5432, None);
    v["ssl"] = serde_json::Value::String("TRUE".into());
    assert!(parse(v.clone()).unwrap().uses_tls());
    v["ssl"] = serde_json::Value::String("false".into());
    assert!(!parse(v.clone()).unwrap().uses_tls());
    v["ssl"] = serde_json::Value::String("maybe".into());
    assert!(parse(v.clone()).unwrap_err().message().contains("`ssl`"));
    v["ssl"] = serde_json::json!(1);
    assert!(parse(v).is_err());
}

/// A real server that accepts TCP logins only over TLS: both strategies rotate through it with
/// the test CA, and fail without it (the platform's CAs do not include it).
#[test]
fn a_server_that_requires_tls_is_rotated_over_tls() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let pki = test_pki(&["localhost", "127.0.0.1"]);
    pg.require_tls(&pki.cert, &pki.key);
    pg.psql("CREATE DATABASE app");
    pg.psql(&format!(
        "CREATE ROLE app LOGIN PASSWORD '{CURRENT_PASSWORD}'"
    ));
    pg.psql("CREATE ROLE admin LOGIN CREATEROLE PASSWORD 'admin-password-1'");
    pg.psql(&format!(
        "CREATE ROLE alt LOGIN PASSWORD '{CURRENT_PASSWORD}'"
    ));
    pg.psql("GRANT alt TO admin WITH ADMIN OPTION");

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca).unwrap();
    let store = open_store(dir.path());
    let single = "arn:aws:lambda:us-east-1:000000000000:function:single";
    let alternating = "arn:aws:lambda:us-east-1:000000000000:function:alternating";
    let untrusting = "arn:aws:lambda:us-east-1:000000000000:function:untrusting";
    store.register_rotator(
        single,
        Arc::new(PostgresRotator::single_user().ca_file(&ca_file).unwrap()),
    );
    store.register_rotator(
        alternating,
        Arc::new(
            PostgresRotator::alternating_users()
                .ca_file(&ca_file)
                .unwrap(),
        ),
    );
    store.register_rotator(untrusting, Arc::new(PostgresRotator::single_user()));
    let s = store.as_system();

    let app = create_secret(
        &s,
        "pg/app",
        &credential("127.0.0.1", pg.port(), Some(true)),
    );
    let mut admin_json = credential("localhost", pg.port(), Some(true));
    admin_json["username"] = "admin".into();
    admin_json["password"] = "admin-password-1".into();
    let admin = create_secret(&s, "pg/admin", &admin_json);
    let mut alt_json = credential("localhost", pg.port(), Some(true));
    alt_json["username"] = "alt".into();
    alt_json["masterarn"] = admin.to_string().into();
    let alt = create_secret(&s, "pg/app-alt", &alt_json);

    // Without the CA: refused by the certificate check (the platform's CAs do not include it).
    let other = create_secret(
        &s,
        "pg/other",
        &credential("127.0.0.1", pg.port(), Some(true)),
    );
    s.rotate_secret(RotateSecretInput::new(other.clone()).rotation_lambda_arn(untrusting))
        .unwrap();
    match s.drive_rotation(&other).unwrap() {
        DriveOutcome::Retrying { step, error, .. } => {
            assert_eq!(step, RotationStep::SetSecret);
            assert!(
                error.contains("certificate") || error.contains("CA"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }

    for (id, function) in [(&app, single), (&alt, alternating), (&alt, alternating)] {
        s.rotate_secret(RotateSecretInput::new(id.clone()).rotation_lambda_arn(function))
            .unwrap();
        let outcome = s.drive_rotation(id).unwrap();
        assert!(
            matches!(outcome, DriveOutcome::Completed { .. }),
            "{outcome:?}"
        );
    }
    // The rotated credentials log in over TLS (and plain TCP is rejected by the server).
    for id in [&app, &alt] {
        let current = value_of(&s, id, StagingLabel::CURRENT);
        let c = PostgresCredential::from_json(&current.to_string()).unwrap();
        assert!(c.uses_tls());
        let plain = c.config().connect(postgres::NoTls);
        assert!(plain.is_err(), "a plain TCP login was accepted");
    }
    // Two alternating rotations: the clone, then the original role again.
    assert_eq!(value_of(&s, &alt, StagingLabel::CURRENT)["username"], "alt");
}
