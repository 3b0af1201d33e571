//! TLS: boto3 and the AWS CLI over TLS with a test CA (`verify=`/`--ca-bundle`) and refused
//! without it; client certificates required with a client CA; the certificate reloaded on
//! `SIGHUP` by the binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use strongroom_server::TlsFiles;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A test CA and a certificate it signed, in PEM.
struct Pki {
    ca: String,
    cert: String,
    key: String,
}

fn pki(names: &[&str], common_name: &str) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
    Pki {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// Writes the server's files of `pki` into `dir`: (cert, key, ca).
fn write_pki(dir: &Path, pki: &Pki) -> (PathBuf, PathBuf, PathBuf) {
    let (cert, key, ca) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert, &pki.cert).unwrap();
    common::write_private(&key, &pki.key);
    std::fs::write(&ca, &pki.ca).unwrap();
    (cert, key, ca)
}

fn client_config(ca_pem: &str, client: Option<&Pki>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    match client {
        None => builder.with_no_client_auth(),
        Some(c) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(c.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(c.key.as_bytes()).unwrap(),
            )
            .unwrap(),
    }
}

/// `ListSecrets` over TLS with `config`: the status line, or the error.
async fn list_over_tls(addr: &str, config: rustls::ClientConfig) -> Result<String, String> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let request = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: secretsmanager.ListSecrets\r\n\
                   Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response).into_owned();
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

const BOTO3_SCRIPT: &str = r#"
import sys, boto3, botocore.exceptions
url, ca = sys.argv[1], sys.argv[2]
def client(verify):
    return boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="AKIDTLS", aws_secret_access_key="tls-test",
                        verify=verify)
good = client(ca)
good.create_secret(Name="tls/one", SecretString="over tls")
assert good.get_secret_value(SecretId="tls/one")["SecretString"] == "over tls"
try:
    client(True).list_secrets()
except botocore.exceptions.SSLError:
    print("refused without the CA")
else:
    sys.exit("a certificate from an unknown CA was accepted")
"#;

#[tokio::test(flavor = "multi_thread")]
async fn boto3_and_the_aws_cli_work_over_tls_and_refuse_an_unknown_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = write_pki(dir.path(), &pki(&["127.0.0.1", "localhost"], "test CA"));
    let server = TestServer::start_with(|s| {
        s.with_tls(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: None,
        })
        .unwrap()
    })
    .await;
    let url = format!("https://{}", server.addr);
    let python = crate::python_clients::python();
    let out = tokio::process::Command::new(&python)
        .args(["-c", BOTO3_SCRIPT, &url])
        .arg(&ca)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("refused without the CA"),
        "boto3: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let aws = python.parent().unwrap().join("aws");
    let cli = |with_ca: bool| {
        let mut command = tokio::process::Command::new(&aws);
        command
            .args([
                "--endpoint-url",
                &url,
                "--region",
                "us-east-1",
                "--output",
                "json",
            ])
            .args([
                "secretsmanager",
                "get-secret-value",
                "--secret-id",
                "tls/one",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDTLS")
            .env("AWS_SECRET_ACCESS_KEY", "tls-test")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_CA_BUNDLE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        if with_ca {
            command.arg("--ca-bundle").arg(&ca);
        }
        command.output()
    };
    let out = cli(true).await.unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("over tls"),
        "aws --ca-bundle: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(false).await.unwrap();
    assert!(!out.status.success(), "the CLI accepted an unknown CA");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SSL") || err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn with_a_client_ca_a_client_needs_a_certificate_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let server_pki = pki(&["127.0.0.1"], "server CA");
    let (cert, key, _) = write_pki(dir.path(), &server_pki);
    let clients = pki(&["client.example"], "client CA");
    let strangers = pki(&["client.example"], "another CA");
    let client_ca = dir.path().join("client-ca.pem");
    std::fs::write(&client_ca, &clients.ca).unwrap();
    let server = TestServer::start_with(|s| {
        s.with_tls(TlsFiles {
            cert,
            key,
            client_ca: Some(client_ca),
        })
        .unwrap()
    })
    .await;
    let addr = server.addr.to_string();
    let ok = list_over_tls(&addr, client_config(&server_pki.ca, Some(&clients)))
        .await
        .unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    for (what, client) in [("no certificate", None), ("another CA's", Some(&strangers))] {
        let refused = list_over_tls(&addr, client_config(&server_pki.ca, client)).await;
        assert!(
            refused.as_ref().is_err() || refused.as_ref().is_ok_and(String::is_empty),
            "{what}: {refused:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_tls_and_reloads_its_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let first = pki(&["127.0.0.1"], "first CA");
    let second = pki(&["127.0.0.1"], "second CA");
    let (cert, key, _) = write_pki(dir.path(), &first);
    let log = dir.path().join("server.log");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_strongroom"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("RUST_LOG", "info");
    let (mut child, addr) = common::spawn_serving(command, &log).await;
    let status = list_over_tls(&addr, client_config(&first.ca, None))
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // A client trusting only the second CA refuses the first certificate.
    assert!(
        list_over_tls(&addr, client_config(&second.ca, None))
            .await
            .is_err()
    );

    write_pki(dir.path(), &second);
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    let mut reloaded = false;
    for _ in 0..100 {
        if list_over_tls(&addr, client_config(&second.ca, None))
            .await
            .is_ok()
        {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reloaded,
        "the new certificate was not served; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        list_over_tls(&addr, client_config(&first.ca, None))
            .await
            .is_err()
    );
    // A bad file on reload keeps the certificate in force.
    std::fs::write(&cert, "not a certificate").unwrap();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    for _ in 0..100 {
        if std::fs::read_to_string(&log)
            .unwrap()
            .contains("not reloaded")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("not reloaded")
    );
    let status = list_over_tls(&addr, client_config(&second.ca, None))
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    child.kill().await.unwrap();
}
