//! The wire protocol: `POST /` with `X-Amz-Target: secretsmanager.<Operation>` and a JSON 1.1
//! body; answers with the operation's JSON, or `{"__type", "Message"}` and HTTP 400 (500 for a
//! fault of the server). Every response carries `x-amzn-RequestId`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, Limited};
use strongroom::{CallerInfo, Principal, Region, RequestContext, RequestId, SecretId};

use crate::listener::Peer;

use crate::auth;
use crate::error::ApiError;
use crate::ops::{self, Call};
use crate::state::ServerState;

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "secretsmanager.";

/// How long a request body may take to arrive.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest secret id written to the request log; longer ones are cut.
const LOGGED_ID_CHARS: usize = 256;

/// Operations that read one secret: bounded work (one record, one value, maybe one key unwrap),
/// run on the worker thread. Everything else (writes, which wait for the writer lock and an
/// fsync; listings, which scan a region) runs on the blocking pool.
const INLINE: &[&str] = &["GetSecretValue", "DescribeSecret", "GetRandomPassword"];

/// The HTTP service: every request goes to the protocol handler.
pub fn router(state: ServerState) -> Router {
    Router::new().fallback(handle).with_state(Arc::new(state))
}

/// The request log's line about one request: names and ids, never values. Written once, when
/// the response is ready, or when the client goes away first.
struct RequestLog {
    request_id: RequestId,
    started: tokio::time::Instant,
    operation: &'static str,
    secret: Option<String>,
    principal: Option<Principal>,
    written: bool,
    /// What the request tells of its caller, for the audit log.
    caller: CallerInfo,
    /// The request reached its operation's handler, which audits it (else a refusal is
    /// audited here).
    handled: bool,
}

impl RequestLog {
    fn write(&mut self, status: StatusCode, error: Option<&ApiError>) {
        self.written = true;
        let latency_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let secret = self.secret.as_deref().unwrap_or("-");
        let principal = self.principal.as_ref().map_or("-", Principal::as_str);
        let code = error.map_or("-", |e| e.code.as_ref());
        let request_id = self.request_id.as_str();
        let operation = self.operation;
        match error.and_then(|e| e.detail.as_deref()) {
            Some(detail) => tracing::error!(
                request_id,
                operation,
                secret,
                principal,
                status = status.as_u16(),
                error = code,
                detail,
                latency_us,
                "request failed"
            ),
            None => tracing::info!(
                request_id,
                operation,
                secret,
                principal,
                status = status.as_u16(),
                error = code,
                latency_us,
                "request"
            ),
        }
    }

    fn note_secret(&mut self, id: Option<String>) {
        self.secret = id.map(|id| match id.char_indices().nth(LOGGED_ID_CHARS) {
            Some((cut, _)) => format!("{}...", id.get(..cut).unwrap_or_default()),
            None => id,
        });
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if !self.written {
            tracing::warn!(
                request_id = self.request_id.as_str(),
                operation = self.operation,
                secret = self.secret.as_deref().unwrap_or("-"),
                "the client went away before the response"
            );
        }
    }
}

async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let request_id = RequestId::random();
    let mut log = RequestLog {
        request_id: request_id.clone(),
        started: tokio::time::Instant::now(),
        operation: "-",
        secret: None,
        principal: None,
        written: false,
        caller: CallerInfo::new(),
        handled: false,
    };
    let result = serve(&state, request, &mut log).await;
    if let Err(e) = &result
        && !log.handled
    {
        audit_refusal(&state, &log, e).await;
    }
    let (status, body) = match &result {
        Ok(_) => (StatusCode::OK, None),
        Err(e) => (e.status, Some(e.body())),
    };
    log.write(status, result.as_ref().err());
    let body = match (result, body) {
        (Ok(b), _) => b,
        (Err(_), Some(b)) => b,
        (Err(_), None) => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert("x-amzn-requestid", id);
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The unread body stays on the connection: it cannot carry another request.
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Refuses, while authentication is off, what a web page could send through a browser: any
/// request with an `Origin` header (browsers add one to every POST), and, unless remote access
/// was allowed, a `Host` that is not a loopback name (DNS rebinding).
fn check_unauthenticated_origin(state: &ServerState, headers: &HeaderMap) -> Result<(), ApiError> {
    let denied = |message: &str| ApiError {
        status: StatusCode::FORBIDDEN,
        code: "AccessDeniedException".into(),
        message: message.to_owned(),
        detail: None,
    };
    if headers.contains_key(header::ORIGIN) {
        return Err(denied(
            "Requests from web pages (with an Origin header) are refused while authentication is off.",
        ));
    }
    if state.accept_any_host {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !is_loopback_host(host) {
        return Err(denied(
            "While authentication is off, requests must name a loopback host (localhost, 127.0.0.1 or [::1]).",
        ));
    }
    Ok(())
}

fn is_loopback_host(host: &str) -> bool {
    // `name`, `name:port`, `[v6]` or `[v6]:port`.
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn serve(
    state: &ServerState,
    request: Request,
    log: &mut RequestLog,
) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = request.into_parts();
    log.caller = caller_of(&parts);
    if parts.uri.path() != "/" {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: "UnknownOperationException".into(),
            message: "Secrets Manager is served at POST /.".into(),
            detail: None,
        });
    }
    if parts.method != Method::POST {
        return Err(ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "UnknownOperationException".into(),
            message: "Secrets Manager is served at POST /.".into(),
            detail: None,
        });
    }
    if state.credentials.is_none() {
        check_unauthenticated_origin(state, &parts.headers)?;
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = target.strip_prefix(TARGET_PREFIX);
    let handler = operation.and_then(ops::handler);
    log.operation = match (operation, &handler) {
        (Some(_), Some((name, _))) => name,
        (Some(op), None) => ops::NOT_IMPLEMENTED
            .iter()
            .find(|n| **n == op)
            .copied()
            .unwrap_or("unknown"),
        (None, _) => "unknown",
    };

    let body = read_body(&parts.headers, body, state.max_body_bytes).await?;

    let (principal, scope_region) = match &state.credentials {
        Some(creds) => {
            let now = state.clock.now();
            let v = auth::verify(creds, &parts.method, &parts.uri, &parts.headers, &body, now)?;
            (v.principal, Some(v.region))
        }
        None => (anonymous(), auth::scope_region(&parts.headers)),
    };
    log.principal = Some(principal.clone());
    // A verified scope's region is valid (`verify` checks it); an unverified one that is not
    // falls back to the default.
    let region = scope_region
        .and_then(|r| Region::new(r).ok())
        .unwrap_or_else(|| state.store.region().clone());

    let Some(operation) = operation else {
        return Err(ApiError::client(
            "UnknownOperationException",
            if target.is_empty() {
                "The request has no X-Amz-Target header; Secrets Manager requests name their operation as 'secretsmanager.<Operation>'.".to_owned()
            } else {
                format!(
                    "Unknown target '{}': Secrets Manager operations are named 'secretsmanager.<Operation>'.",
                    shorten(target)
                )
            },
        ));
    };
    let Some((name, handler)) = handler else {
        if log.operation == "unknown" {
            return Err(ApiError::client(
                "UnknownOperationException",
                format!("Unknown operation '{}'.", shorten(operation)),
            ));
        }
        // AWS checks a request against the model before running it: a `SecretId` that cannot
        // name a secret is a ValidationException even for an operation this server lacks.
        #[derive(serde::Deserialize)]
        struct Named {
            #[serde(rename = "SecretId")]
            secret_id: Option<String>,
        }
        let named: Named = ops::parse(&body)?;
        if let Some(id) = named.secret_id {
            log.note_secret(Some(id.clone()));
            SecretId::new(&id)?;
        }
        return Err(ApiError::client(
            "UnknownOperationException",
            format!("{operation} is a Secrets Manager operation this server does not implement."),
        ));
    };

    let context = RequestContext::new(principal)
        .with_request_id(log.request_id.clone())
        .with_region(region)
        .with_caller(log.caller.clone());
    let session = state.store.session(context);
    let rotation_wake = Arc::clone(&state.rotation.wake);
    log.handled = true;
    let work = move || {
        let audit = session.clone();
        let mut call = Call {
            session,
            secret: None,
            rotation_wake,
        };
        // The engine's operations audit themselves; a request refused before it reached one
        // (its body did not parse) is recorded as a refusal.
        // Its message is not kept: a body that does not parse is described with what it held
        // (serde names the value it could not read, and that may be a secret's).
        let result = audit.audit_request(
            name,
            || handler(&mut call, &body),
            |e: &ApiError| {
                (
                    e.code.to_string(),
                    "The request was refused before it reached the operation.".to_owned(),
                )
            },
        );
        (result, call.secret)
    };
    let (result, secret) = if INLINE.contains(&name) {
        work()
    } else {
        // A write goes on even if the client goes away: say so in the log when it ends.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let request_id = log.request_id.clone();
        tokio::task::spawn_blocking(move || {
            let (result, secret) = work();
            if let Err((result, secret)) = tx.send((result, secret)) {
                let status = result.as_ref().map_or_else(|e| e.status.as_u16(), |_| 200);
                tracing::warn!(
                    request_id = request_id.as_str(),
                    operation = name,
                    secret = secret.as_deref().unwrap_or("-"),
                    status,
                    "request completed after the client went away"
                );
            }
        });
        rx.await
            .map_err(|_| ApiError::internal("The request could not be completed."))?
    };
    log.note_secret(secret);
    result
}

/// At most 128 characters of a caller's text, for an error message.
fn shorten(text: &str) -> &str {
    text.char_indices()
        .nth(128)
        .map_or(text, |(cut, _)| text.get(..cut).unwrap_or(text))
}

/// What a request tells of its caller: the access key id it claims, the address it came from,
/// its `User-Agent` (at most 256 characters).
fn caller_of(parts: &Parts) -> CallerInfo {
    let mut caller = CallerInfo::new();
    if let Some(id) = auth::claimed_access_key(&parts.headers) {
        caller = caller.access_key_id(id);
    }
    if let Some(Peer(addr)) = parts.extensions.get::<Peer>() {
        caller = caller.source_ip(addr.ip().to_string());
    }
    if let Some(agent) = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        caller = caller.user_agent(agent.chars().take(256).collect::<String>());
    }
    caller
}

/// Audits a request refused before it reached its operation (a bad or missing signature, an
/// unknown key or operation, a body too large), with what could be told of the caller.
///
/// On the blocking pool: the log may make it wait (up to its deadline), which a worker thread
/// must not.
async fn audit_refusal(state: &ServerState, log: &RequestLog, error: &ApiError) {
    let principal = log.principal.clone().unwrap_or_else(unauthenticated);
    let context = RequestContext::new(principal)
        .with_request_id(log.request_id.clone())
        .with_caller(log.caller.clone());
    let operation = match log.operation {
        "-" => "unknown",
        other => other,
    };
    let session = state.store.session(context);
    let (code, message) = (error.code.to_string(), error.message.clone());
    let request_id = log.request_id.clone();
    let appended =
        tokio::task::spawn_blocking(move || session.audit_refusal(operation, &code, &message))
            .await;
    if let Err(e) = appended
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        tracing::error!(
            request_id = request_id.as_str(),
            error = %e,
            "a refused request could not be audited"
        );
    }
}

/// The principal of a request whose signature was not verified.
fn unauthenticated() -> Principal {
    Principal::new("unauthenticated").unwrap_or_else(|_| Principal::system())
}

fn anonymous() -> Principal {
    Principal::new("anonymous").unwrap_or_else(|_| Principal::system())
}

/// Reads the body, refusing (HTTP 413) one larger than `max` before reading it whole: at once
/// when `Content-Length` says so, otherwise as soon as more than `max` bytes have arrived.
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, ApiError> {
    let too_large = || ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "RequestEntityTooLargeException".into(),
        message: format!("The request body is larger than this server's limit of {max} bytes."),
        detail: None,
    };
    if let Some(len) = headers.get(header::CONTENT_LENGTH) {
        let len = len
            .to_str()
            .ok()
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or_else(|| ApiError::serialization("The Content-Length header is not a number."))?;
        if len > u64::try_from(max).unwrap_or(u64::MAX) {
            return Err(too_large());
        }
    }
    match tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(ApiError::serialization(
            "The request body could not be read.",
        )),
        Err(_) => Err(ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "RequestTimeoutException".into(),
            message: format!(
                "The request body did not arrive within {} seconds.",
                BODY_READ_TIMEOUT.as_secs()
            ),
            detail: None,
        }),
    }
}
