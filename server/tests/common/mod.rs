//! A server on `127.0.0.1:0` over a fresh store in a temporary folder, for integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_secretsmanager::config::http::{HttpRequest, HttpResponse};
use aws_sdk_secretsmanager::config::{HttpClient, RuntimeComponents};
use aws_smithy_runtime_api::client::http::{
    HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use strongroom::{InsecureTestKeyProvider, SecretStore};
use strongroom_server::{Credentials, ServerState, run};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Access key id and secret key of the test credentials ([`TestServer::with_auth`]).
pub const ACCESS_KEY_ID: &str = "AKIDSTRONGROOMTEST";
pub const SECRET_ACCESS_KEY: &str = "strongroom-test-secret-access-key";
pub const PRINCIPAL: &str = "tester";

/// A running server; stopped (gracefully) by [`TestServer::stop`] or when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub url: String,
    pub store: SecretStore,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Authentication off.
    pub async fn start() -> Self {
        Self::start_with(|s| s).await
    }

    /// SigV4 verified against [`ACCESS_KEY_ID`] / [`SECRET_ACCESS_KEY`].
    pub async fn with_auth() -> Self {
        Self::start_with(|s| {
            s.with_credentials(Credentials::new().with_key(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                strongroom::Principal::new(PRINCIPAL).unwrap(),
            ))
        })
        .await
    }

    /// A server whose state `configure` adjusts.
    pub async fn start_with(configure: impl FnOnce(ServerState) -> ServerState) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::builder(
            dir.path().join("db"),
            Arc::new(InsecureTestKeyProvider::new(7)),
        )
        .open()
        .unwrap();
        let state = configure(ServerState::new(store.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, state, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            url: format!("http://{addr}"),
            store,
            stop: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops accepting, waits for requests in flight, and returns what `run` returned.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.take().unwrap().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// An aws-sdk-secretsmanager client for `server`, signing with the test credentials, in `region`.
pub async fn sdk_client(server: &TestServer, region: &str) -> aws_sdk_secretsmanager::Client {
    sdk_client_at(&server.url, region, (ACCESS_KEY_ID, SECRET_ACCESS_KEY))
}

/// An aws-sdk-secretsmanager client for the server at `url`, signing with `key` (access key id,
/// secret access key) in `region`, over [`PlainHttp`].
pub fn sdk_client_at(url: &str, region: &str, key: (&str, &str)) -> aws_sdk_secretsmanager::Client {
    let creds =
        aws_credential_types::Credentials::new(key.0, key.1, None, None, "strongroom-tests");
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .http_client(PlainHttp)
        .endpoint_url(url)
        .region(aws_sdk_secretsmanager::config::Region::new(
            region.to_owned(),
        ))
        .credentials_provider(creds)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// The test access key, mapped to [`PRINCIPAL`].
pub fn test_credentials() -> Credentials {
    Credentials::new().with_key(
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        strongroom::Principal::new(PRINCIPAL).unwrap(),
    )
}

/// Seconds since the Unix epoch by the system clock (the clock the test servers' stores use).
pub fn now_epoch_secs() -> f64 {
    use strongroom::Clock as _;
    strongroom::SystemClock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Asserts that a timestamp from the server is a real date within a few minutes of now.
pub fn assert_recent(what: &str, t: Option<&aws_sdk_secretsmanager::primitives::DateTime>) {
    let t = t.unwrap_or_else(|| panic!("{what} is missing"));
    let delta = (t.as_secs_f64() - now_epoch_secs()).abs();
    assert!(delta < 300.0, "{what} = {t} is {delta} s away from now");
}

/// What a failed SDK call showed: the AWS error code and message, and the HTTP status.
#[derive(Debug)]
pub struct Failure<E> {
    pub code: String,
    pub message: String,
    pub status: u16,
    pub request_id: Option<String>,
    /// The typed service error, for `is_resource_not_found_exception()` and friends.
    pub error: E,
}

/// Takes apart an SDK error that must be a service error (an answer of the server).
pub fn failure<E>(
    err: aws_sdk_secretsmanager::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Failure<E>
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata
        + aws_smithy_runtime_api::client::result::CreateUnhandledError
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let raw = err
        .raw_response()
        .unwrap_or_else(|| panic!("no HTTP response: {err:?}"));
    let status = raw.status().as_u16();
    let request_id = raw.headers().get("x-amzn-requestid").map(ToOwned::to_owned);
    let error = err.into_service_error();
    Failure {
        code: error.code().unwrap_or_default().to_owned(),
        message: error.message().unwrap_or_default().to_owned(),
        status,
        request_id,
        error,
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP: one fresh connection per request, so a request the server refused cannot disturb
// the next one through a connection pool.

/// The body of a raw request: bytes with a `Content-Length`, or chunks without one.
pub type RawBody = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

/// A body with a known length (hyper sends `Content-Length`).
pub fn full(body: impl Into<Bytes>) -> RawBody {
    Full::new(body.into()).boxed()
}

/// A body of unknown length, sent with `Transfer-Encoding: chunked` and no `Content-Length`.
pub fn chunked(chunks: Vec<Bytes>) -> RawBody {
    Chunked(chunks.into()).boxed()
}

struct Chunked(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// `__type` of an error body.
    pub fn error_type(&self) -> String {
        self.json()["__type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// `Message` of an error body.
    pub fn message(&self) -> String {
        self.json()["Message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Asserts the headers every response carries: a request id and the JSON 1.1 content type.
    pub fn assert_protocol_headers(&self) {
        let id = self
            .headers
            .get("x-amzn-requestid")
            .unwrap_or_else(|| panic!("no x-amzn-requestid: {self:?}"));
        assert!(!id.is_empty());
        assert_eq!(
            self.headers
                .get(http::header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap()),
            Some("application/x-amz-json-1.1"),
            "{self:?}"
        );
    }

    /// Asserts an AWS error answer: `status`, `__type` and the protocol headers.
    pub fn assert_error(&self, status: u16, error_type: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.error_type(), error_type, "{self:?}");
        assert!(!self.message().is_empty(), "{self:?}");
        self.assert_protocol_headers();
    }
}

/// Sends `request` to `server` on a new connection and reads the whole response.
pub async fn send_raw(server: &TestServer, request: http::Request<RawBody>) -> RawResponse {
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    RawResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// A `POST /` request to `server` with the JSON 1.1 content type, `X-Amz-Target:
/// secretsmanager.<operation>` (none when `operation` is `None`) and `body`.
pub fn json_request(
    server: &TestServer,
    operation: Option<&str>,
    body: RawBody,
) -> http::Request<RawBody> {
    let mut builder = http::Request::post("/")
        .header(http::header::HOST, server.addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.1");
    if let Some(op) = operation {
        builder = builder.header("x-amz-target", format!("secretsmanager.{op}"));
    }
    builder.body(body).unwrap()
}

/// Sends an unsigned `operation` request with `body` (for servers with authentication off).
pub async fn call_raw(server: &TestServer, operation: &str, body: &str) -> RawResponse {
    let request = json_request(server, Some(operation), full(body.to_owned()));
    send_raw(server, request).await
}

// ---------------------------------------------------------------------------------------------
// SigV4 signing with the `aws-sigv4` crate: the oracle the server's verification is tested against.

/// How to sign a request.
#[derive(Clone, Debug)]
pub struct SignWith<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub time: std::time::SystemTime,
    pub settings: aws_sigv4::http_request::SigningSettings,
}

impl SignWith<'static> {
    /// The test credentials, in `region`, at `time`, with the default settings.
    pub fn test(region: &'static str, time: std::time::SystemTime) -> Self {
        Self {
            access_key_id: ACCESS_KEY_ID,
            secret_access_key: SECRET_ACCESS_KEY,
            region,
            time,
            settings: aws_sigv4::http_request::SigningSettings::default(),
        }
    }
}

/// Signs `request` (its body is what is signed) for the service `secretsmanager`, adding
/// `X-Amz-Date` and `Authorization` (and `X-Amz-Content-Sha256` if the settings ask for it).
pub fn sign(request: &mut http::Request<Bytes>, with: &SignWith<'_>) {
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(
            with.access_key_id,
            with.secret_access_key,
            None,
            None,
            "strongroom-tests",
        )
        .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(with.region)
        .name("secretsmanager")
        .time(with.time)
        .settings(with.settings.clone())
        .build()
        .unwrap()
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
        .collect();
    let signable = aws_sigv4::http_request::SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        headers.into_iter(),
        aws_sigv4::http_request::SignableBody::Bytes(request.body()),
    )
    .unwrap();
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
        .unwrap()
        .into_parts();
    instructions.apply_to_request_http1x(request);
}

/// An unsigned `POST /` request for `operation` with `body`, ready for [`sign`].
pub fn signable_request(server: &TestServer, operation: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post("/")
        .header(http::header::HOST, server.addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.1")
        .header("x-amz-target", format!("secretsmanager.{operation}"))
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

/// Sends a request built by [`signable_request`] (signed or not).
pub async fn send_bytes(server: &TestServer, request: http::Request<Bytes>) -> RawResponse {
    send_raw(server, request.map(full)).await
}

// ---------------------------------------------------------------------------------------------
// Raw bytes on a TCP connection, for what an HTTP client library will not send.

/// Reads one HTTP/1.1 response from `stream`: its head, then `Content-Length` bytes of body.
/// Panics if the connection ends first. Reads nothing beyond the response's body.
pub async fn read_response(stream: &mut tokio::net::TcpStream) -> RawResponse {
    use tokio::io::AsyncReadExt as _;
    let mut buf = Vec::new();
    let (head_len, status, headers) = loop {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut slots);
        if let httparse::Status::Complete(len) = parsed.parse(&buf).unwrap() {
            let mut headers = http::HeaderMap::new();
            for h in parsed.headers.iter() {
                headers.append(
                    http::HeaderName::from_bytes(h.name.as_bytes()).unwrap(),
                    http::HeaderValue::from_bytes(h.value).unwrap(),
                );
            }
            break (len, parsed.code.unwrap(), headers);
        }
        let byte = stream.read_u8().await.unwrap_or_else(|e| {
            panic!(
                "the connection ended before a whole response head ({e}): {:?}",
                String::from_utf8_lossy(&buf)
            )
        });
        buf.push(byte);
    };
    assert_eq!(head_len, buf.len());
    let len: usize = headers
        .get(http::header::CONTENT_LENGTH)
        .map_or(0, |v| v.to_str().unwrap().parse().unwrap());
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await.unwrap();
    RawResponse {
        status,
        headers,
        body: body.into(),
    }
}

/// Whether the peer has closed `stream`: a read returns end of file (or the connection was
/// reset) within `within`. Panics if bytes arrive instead.
pub async fn closed_within(
    stream: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut byte = [0u8; 1];
    match tokio::time::timeout(within, stream.read(&mut byte)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) => panic!("unexpected bytes after the response: {byte:?}"),
        Err(_) => false,
    }
}

/// The SDK's HTTP client for these tests: plain HTTP/1.1 over hyper, with no TLS stack. The
/// test servers listen on `http://127.0.0.1`, so the SDK's default HTTPS client (rustls over
/// aws-lc, a large C build) would only cost build time. It keeps the SDK's connect timeout, and
/// its read timeout as a bound on the whole response.
#[derive(Clone, Debug, Default)]
pub struct PlainHttp;

impl HttpClient for PlainHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(settings.connect_timeout());
        SharedHttpConnector::new(PlainConnector {
            client: Client::builder(TokioExecutor::new()).build(connector),
            read_timeout: settings.read_timeout(),
        })
    }
}

/// A [`PlainHttp`] connection pool with the SDK's settings.
#[derive(Clone, Debug)]
struct PlainConnector {
    client: Client<HttpConnector, Full<Bytes>>,
    read_timeout: Option<std::time::Duration>,
}

impl aws_smithy_runtime_api::client::http::HttpConnector for PlainConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let PlainConnector {
            client,
            read_timeout,
        } = self.clone();
        HttpConnectorFuture::new(async move {
            // The SDK's JSON requests are in memory; a streaming body would be a test bug.
            let body = Bytes::copy_from_slice(
                request
                    .body()
                    .bytes()
                    .expect("the SDK sent a streaming body"),
            );
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?
                .map(|_| Full::new(body));
            let exchange = async {
                let response = client
                    .request(request)
                    .await
                    .map_err(|e| ConnectorError::io(e.into()))?;
                let (parts, body) = response.into_parts();
                let body = body
                    .collect()
                    .await
                    .map_err(|e| ConnectorError::io(e.into()))?
                    .to_bytes();
                Ok(http::Response::from_parts(parts, SdkBody::from(body)))
            };
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, exchange)
                    .await
                    .map_err(|e| ConnectorError::timeout(e.into()))?,
                None => exchange.await,
            }?;
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Writes a file only its owner may read or write (mode 0600), as a settings or credentials
/// file must be.
pub fn write_private(path: impl AsRef<std::path::Path>, contents: impl AsRef<[u8]>) {
    let path = path.as_ref();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Starts `command` (the `strongroom` binary, `serve` and its arguments, or a wrapper that
/// execs it) with its standard error in the file `log`, and returns the child and the address
/// its first line of standard output announces (`listening on ADDR`).
pub async fn spawn_serving(
    mut command: tokio::process::Command,
    log: &std::path::Path,
) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt as _;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            panic!(
                "first line {line:?}; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        })
        .to_owned();
    (child, addr)
}
