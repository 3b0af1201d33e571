//! One file per AWS operation: the request and response shapes of the JSON 1.1 protocol, and a
//! thin call into the engine. Shapes follow the AWS model's member names (PascalCase); members
//! with no value are left out of responses; unknown request members are ignored.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use strongroom::{Field, SecretId, SecretValue, Session, StagingLabel, Tag, VersionId};
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::error::ApiError;

mod batch_get_secret_value;
mod cancel_rotate_secret;
mod create_secret;
mod delete_secret;
mod describe_secret;
mod get_random_password;
mod get_secret_value;
mod list_secret_version_ids;
mod list_secrets;
mod put_secret_value;
mod restore_secret;
mod rotate_secret;
mod tag_resource;
mod untag_resource;
mod update_secret;
mod update_secret_version_stage;

/// One request on its way through an operation.
pub(crate) struct Call {
    /// The engine session of the caller (principal, region, request id).
    pub(crate) session: Session,
    /// The secret the request names, as the caller wrote it, for the request log (never a value).
    pub(crate) secret: Option<String>,
    /// Wakes the background rotation task (after `RotateSecret` started a rotation).
    pub(crate) rotation_wake: Arc<Notify>,
}

/// An operation: the request body in, the response body out.
pub(crate) type Handler = fn(&mut Call, &[u8]) -> Result<Vec<u8>, ApiError>;

/// The canonical name and the handler of an operation named in `X-Amz-Target`, if this server
/// implements it.
pub(crate) fn handler(operation: &str) -> Option<(&'static str, Handler)> {
    let found: (&'static str, Handler) = match operation {
        "BatchGetSecretValue" => ("BatchGetSecretValue", batch_get_secret_value::call),
        "CancelRotateSecret" => ("CancelRotateSecret", cancel_rotate_secret::call),
        "CreateSecret" => ("CreateSecret", create_secret::call),
        "DeleteSecret" => ("DeleteSecret", delete_secret::call),
        "DescribeSecret" => ("DescribeSecret", describe_secret::call),
        "GetRandomPassword" => ("GetRandomPassword", get_random_password::call),
        "GetSecretValue" => ("GetSecretValue", get_secret_value::call),
        "ListSecretVersionIds" => ("ListSecretVersionIds", list_secret_version_ids::call),
        "ListSecrets" => ("ListSecrets", list_secrets::call),
        "PutSecretValue" => ("PutSecretValue", put_secret_value::call),
        "RestoreSecret" => ("RestoreSecret", restore_secret::call),
        "RotateSecret" => ("RotateSecret", rotate_secret::call),
        "TagResource" => ("TagResource", tag_resource::call),
        "UntagResource" => ("UntagResource", untag_resource::call),
        "UpdateSecret" => ("UpdateSecret", update_secret::call),
        "UpdateSecretVersionStage" => (
            "UpdateSecretVersionStage",
            update_secret_version_stage::call,
        ),
        _ => return None,
    };
    Some(found)
}

/// Secrets Manager operations of the AWS model that this server does not implement (yet). They
/// are answered with `UnknownOperationException` and a message saying so.
pub(crate) const NOT_IMPLEMENTED: &[&str] = &[
    "DeleteResourcePolicy",
    "GetResourcePolicy",
    "PutResourcePolicy",
    "ValidateResourcePolicy",
    "ReplicateSecretToRegions",
    "RemoveRegionsFromReplication",
    "StopReplicationToReplica",
];

/// Parses a request body. An empty body is `{}`; a body that is not JSON, or not a JSON object,
/// or a member of the wrong type, is a `SerializationException` (naming the member).
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let not_json = |e: serde_json::Error| {
        ApiError::serialization(format!("The request body is not valid JSON: {e}"))
    };
    let body: &[u8] = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => b"{}",
        Some(b'{') => body,
        // serde would read a JSON array as a struct, member by member in declaration order.
        Some(_) => {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                    Err(e) => not_json(e),
                    Ok(_) => ApiError::serialization("The request body must be a JSON object."),
                },
            );
        }
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            not_json(inner)
        } else if path.is_empty() || path == "." {
            ApiError::serialization(format!("The request body is not valid: {inner}"))
        } else {
            ApiError::serialization(format!("Member '{path}' is not valid: {inner}"))
        }
    })?;
    de.end().map_err(not_json)?;
    Ok(parsed)
}

/// Serializes a response body.
pub(crate) fn respond<T: Serialize>(out: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(out).map_err(|_| ApiError::internal("The response could not be encoded."))
}

/// A required member.
pub(crate) fn required<T>(value: Option<T>, member: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::missing(member))
}

/// The required `SecretId` member, noted for the request log.
pub(crate) fn secret_id(call: &mut Call, raw: Option<String>) -> Result<SecretId, ApiError> {
    let raw = required(raw, "secretId")?;
    call.secret = Some(raw.clone());
    Ok(SecretId::new(&raw)?)
}

/// An optional version id member (`ClientRequestToken`, `VersionId`, ...).
pub(crate) fn version_id(raw: Option<String>, field: Field) -> Result<Option<VersionId>, ApiError> {
    raw.map(|v| VersionId::for_field(v, field))
        .transpose()
        .map_err(ApiError::from)
}

/// The message AWS answers a write without a `ClientRequestToken` with.
const MISSING_TOKEN: &str =
    "You must provide a ClientRequestToken value. We recommend a UUID-type value.";

/// The `ClientRequestToken` of `CreateSecret`, `UpdateSecret` or `PutSecretValue`. SDKs and the
/// CLI fill it in; a raw request without one is refused with `InvalidRequestException` before
/// the secret is looked up [recorded, WRITE-1].
pub(crate) fn request_token(raw: Option<String>) -> Result<VersionId, ApiError> {
    version_id(raw, Field::ClientRequestToken)?
        .ok_or_else(|| ApiError::invalid_request(MISSING_TOKEN))
}

/// The `ClientRequestToken` of `RotateSecret`: as [`request_token`], but AWS refuses a missing
/// one with `InvalidParameterException` [recorded, WRITE-1].
pub(crate) fn rotation_token(raw: Option<String>) -> Result<VersionId, ApiError> {
    version_id(raw, Field::ClientRequestToken)?
        .ok_or_else(|| ApiError::invalid_parameter(MISSING_TOKEN))
}

/// An optional staging label member.
pub(crate) fn label(raw: Option<String>, field: Field) -> Result<Option<StagingLabel>, ApiError> {
    raw.map(|v| StagingLabel::for_field(v, field))
        .transpose()
        .map_err(ApiError::from)
}

/// Seconds since the Unix epoch, with millisecond precision: the protocol's timestamp.
pub(crate) fn epoch(t: SystemTime) -> f64 {
    let ms = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    #[expect(
        clippy::cast_precision_loss,
        reason = "milliseconds fit an f64 exactly until the year 287,000"
    )]
    let ms = ms as f64;
    ms / 1000.0
}

/// A `SecretString` member, wiped from memory when dropped.
pub(crate) struct SecretText(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Zeroizing::new(s)))
    }
}

/// A blob member (`SecretBinary`): base64 on the wire, wiped from memory when dropped.
pub(crate) struct Blob(Zeroizing<Vec<u8>>);

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(|b| Self(Zeroizing::new(b)))
            .map_err(|_| serde::de::Error::custom("a blob must be base64 (RFC 4648, padded)"))
    }
}

/// `SecretString` / `SecretBinary`: at most one of them.
pub(crate) fn secret_value(
    string: Option<SecretText>,
    binary: Option<Blob>,
) -> Result<Option<SecretValue>, ApiError> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(ApiError::invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (Some(SecretText(mut s)), None) => Ok(Some(SecretValue::string(std::mem::take(&mut *s))?)),
        (None, Some(Blob(mut b))) => Ok(Some(SecretValue::binary(std::mem::take(&mut *b))?)),
        (None, None) => Ok(None),
    }
}

/// A value for the response: `SecretString`, or `SecretBinary` as base64.
#[derive(Serialize)]
pub(crate) struct ValueOut<'a> {
    #[serde(rename = "SecretString", skip_serializing_if = "Option::is_none")]
    string: Option<&'a str>,
    #[serde(rename = "SecretBinary", skip_serializing_if = "Option::is_none")]
    binary: Option<Zeroizing<String>>,
}

impl<'a> ValueOut<'a> {
    pub(crate) fn new(value: &'a SecretValue) -> Self {
        match value.expose_str() {
            Some(text) => Self {
                string: Some(text),
                binary: None,
            },
            None => Self {
                string: None,
                binary: Some(Zeroizing::new(
                    base64::engine::general_purpose::STANDARD.encode(value.expose_bytes()),
                )),
            },
        }
    }
}

/// A tag on the wire.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<String>,
}

impl TagJson {
    pub(crate) fn from_tag(tag: &Tag) -> Self {
        Self {
            key: Some(tag.key().as_str().to_owned()),
            value: Some(tag.value().to_owned()),
        }
    }
}

/// The `Tags` member of a request.
pub(crate) fn tags(raw: Option<Vec<TagJson>>) -> Result<Vec<Tag>, ApiError> {
    raw.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let key = required(t.key, &format!("tags.{}.member.key", i + 1))?;
            Ok(Tag::new(key, t.value.unwrap_or_default())?)
        })
        .collect()
}

/// The `ARN` and `Name` (and, for writes that may create one, `VersionId`) that most write
/// operations answer with.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SecretRefOut<'a> {
    #[serde(rename = "ARN")]
    pub(crate) arn: &'a str,
    pub(crate) name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version_id: Option<&'a str>,
}

/// A `MaxResults` member: `1..=max`, checked by the engine's rule before it is narrowed.
pub(crate) fn max_results(raw: Option<i64>, max: u32) -> Result<Option<u32>, ApiError> {
    raw.map(|n| strongroom::check_max_results(n, max))
        .transpose()
        .map_err(ApiError::from)
}
