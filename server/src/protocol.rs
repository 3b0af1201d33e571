//! The wire protocol: `POST /` with `X-Amz-Target: secretsmanager.<Operation>` and a JSON 1.1
//! body; answers with the operation's JSON, or `{"__type", "Message"}` and HTTP 400 (500 for a
//! fault of the server). Every response carries `x-amzn-RequestId`.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, Limited};
use strongroom::{Principal, Region, RequestContext, RequestId, SecretId};
use tokio::net::TcpListener;

use crate::auth;
use crate::error::ApiError;
use crate::ops::{self, Call};
use crate::state::ServerState;

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "secretsmanager.";

/// Operations that only read the store. (A read may note the secret's last-accessed day, at most
/// once a day per secret, with an unsynced write.)
const READS: &[&str] = &[
    "GetSecretValue",
    "BatchGetSecretValue",
    "DescribeSecret",
    "ListSecrets",
    "ListSecretVersionIds",
    "GetRandomPassword",
];

/// The HTTP service: every request goes to the protocol handler.
pub fn router(state: ServerState) -> Router {
    Router::new().fallback(handle).with_state(Arc::new(state))
}

/// Serves `listener` until `shutdown` completes, then stops accepting connections, lets requests
/// in flight finish, and flushes the store to disk before returning.
pub async fn run(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    tokio::task::spawn_blocking(move || store.sync())
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)
}

/// What the request log says about one request (names and ids, never values).
struct Outcome {
    operation: String,
    secret: Option<String>,
    principal: Option<Principal>,
}

async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let started = tokio::time::Instant::now();
    let request_id = RequestId::random();
    let mut outcome = Outcome {
        operation: String::new(),
        secret: None,
        principal: None,
    };
    let result = serve(&state, request, &request_id, &mut outcome).await;
    let (status, body, code) = match result {
        Ok(body) => (StatusCode::OK, body, None),
        Err(e) => (e.status, e.body(), Some(e.code)),
    };
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let operation = if outcome.operation.is_empty() {
        "-"
    } else {
        outcome.operation.as_str()
    };
    let secret = outcome.secret.as_deref().unwrap_or("-");
    let principal = outcome.principal.as_ref().map_or("-", Principal::as_str);
    let error = code.as_deref().unwrap_or("-");
    if status.is_server_error() {
        tracing::error!(
            request_id = request_id.as_str(),
            operation,
            secret,
            principal,
            status = status.as_u16(),
            error,
            latency_us,
            "request failed"
        );
    } else {
        tracing::info!(
            request_id = request_id.as_str(),
            operation,
            secret,
            principal,
            status = status.as_u16(),
            error,
            latency_us,
            "request"
        );
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

async fn serve(
    state: &ServerState,
    request: Request,
    request_id: &RequestId,
    outcome: &mut Outcome,
) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = request.into_parts();
    if parts.uri.path() != "/" {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: "UnknownOperationException".into(),
            message: "Secrets Manager is served at POST /.".into(),
        });
    }
    if parts.method != Method::POST {
        return Err(ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "UnknownOperationException".into(),
            message: "Secrets Manager is served at POST /.".into(),
        });
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    outcome.operation = target
        .strip_prefix(TARGET_PREFIX)
        .unwrap_or(target)
        .to_owned();

    let body = read_body(&parts.headers, body, state.max_body_bytes).await?;

    let (principal, scope_region) = match &state.credentials {
        Some(creds) => {
            let now = state.clock.now();
            let v = auth::verify(creds, &parts.method, &parts.uri, &parts.headers, &body, now)?;
            (v.principal, Some(v.region))
        }
        None => (anonymous(), auth::scope_region(&parts.headers)),
    };
    outcome.principal = Some(principal.clone());
    let region = match scope_region {
        Some(r) => match Region::new(r) {
            Ok(region) => region,
            Err(_) if state.credentials.is_none() => state.store.region().clone(),
            Err(_) => {
                return Err(ApiError::client(
                    "InvalidSignatureException",
                    "Credential should be scoped to a valid region.",
                ));
            }
        },
        None => state.store.region().clone(),
    };

    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        return Err(ApiError::client(
            "UnknownOperationException",
            if target.is_empty() {
                "The request has no X-Amz-Target header; Secrets Manager requests name their operation as 'secretsmanager.<Operation>'.".to_owned()
            } else {
                format!(
                    "Unknown target '{target}': Secrets Manager operations are named 'secretsmanager.<Operation>'."
                )
            },
        ));
    };
    let Some(handler) = ops::handler(operation) else {
        if !ops::NOT_IMPLEMENTED.contains(&operation) {
            return Err(ApiError::client(
                "UnknownOperationException",
                format!("Unknown operation '{operation}'."),
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
            outcome.secret = Some(id.clone());
            SecretId::new(&id)?;
        }
        return Err(ApiError::client(
            "UnknownOperationException",
            format!("{operation} is a Secrets Manager operation this server does not implement."),
        ));
    };

    let context = RequestContext::new(principal)
        .with_request_id(request_id.clone())
        .with_region(region);
    let session = state.store.session(context);
    let work = move || {
        let mut call = Call {
            session,
            secret: None,
        };
        let result = handler(&mut call, &body);
        wipe(body);
        (result, call.secret)
    };
    // Reads take microseconds and no lock shared with writers: they run on the worker thread.
    // Writes wait for the writer lock and an fsync: they run on the blocking pool.
    let (result, secret) = if READS.contains(&operation) {
        work()
    } else {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| ApiError::internal("The request could not be completed."))?
    };
    outcome.secret = secret;
    result
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
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(ApiError::serialization(
            "The request body could not be read.",
        )),
    }
}

/// Wipes a request body (it may hold a secret value) when no one else holds it.
fn wipe(body: Bytes) {
    if let Ok(mut bytes) = body.try_into_mut() {
        zeroize::Zeroize::zeroize(bytes.as_mut());
    }
}
