//! The audit log's entries as CloudTrail-shaped JSON (one object per line), for
//! `strongroom audit export` and log shippers.

use serde_json::{Map, Value, json};
use strongroom::AuditEntry;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Operations that change nothing (CloudTrail's `readOnly`).
const READ_ONLY: &[&str] = &[
    "GetSecretValue",
    "BatchGetSecretValue",
    "DescribeSecret",
    "ListSecrets",
    "ListSecretVersionIds",
    "GetRandomPassword",
    "ExportAuditLog",
    "VerifyAuditLog",
];

/// `entry` with CloudTrail's field names: `eventTime`, `eventSource`, `eventName`, `awsRegion`,
/// `sourceIPAddress`, `userAgent`, `userIdentity`, `requestParameters` (never a value),
/// `errorCode`, `errorMessage`, `requestID`, `eventID`, `readOnly`, `resources`; and the
/// log's own `sequenceNumber` and `change` (whether it records a committed change).
pub fn audit_json(entry: &AuditEntry) -> Value {
    let time = OffsetDateTime::from(entry.time)
        .format(&Rfc3339)
        .unwrap_or_default();
    let mut identity = Map::new();
    identity.insert(
        "type".into(),
        Value::from(if entry.principal.starts_with("strongroom:") {
            "AWSService"
        } else {
            "IAMUser"
        }),
    );
    identity.insert("principalId".into(), Value::from(entry.principal.clone()));
    identity.insert("userName".into(), Value::from(entry.principal.clone()));
    if let Some(k) = &entry.access_key_id {
        identity.insert("accessKeyId".into(), Value::from(k.clone()));
    }
    if let Some(by) = &entry.invoked_by {
        identity.insert("invokedBy".into(), Value::from(by.clone()));
    }
    let mut params = Map::new();
    for (name, value) in [
        ("secretId", &entry.secret_id),
        ("versionId", &entry.version_id),
        ("versionStage", &entry.version_stage),
    ] {
        if let Some(v) = value {
            params.insert(name.into(), Value::from(v.clone()));
        }
    }
    let mut out = Map::new();
    out.insert("eventVersion".into(), json!("1.08"));
    out.insert("eventTime".into(), Value::from(time));
    out.insert("eventSource".into(), json!("secretsmanager.amazonaws.com"));
    out.insert("eventName".into(), Value::from(entry.operation.clone()));
    out.insert("awsRegion".into(), Value::from(entry.region.clone()));
    if let Some(ip) = &entry.source_ip {
        out.insert("sourceIPAddress".into(), Value::from(ip.clone()));
    }
    if let Some(agent) = &entry.user_agent {
        out.insert("userAgent".into(), Value::from(agent.clone()));
    }
    out.insert("userIdentity".into(), Value::Object(identity));
    out.insert(
        "requestParameters".into(),
        if params.is_empty() {
            Value::Null
        } else {
            Value::Object(params)
        },
    );
    if let Some(code) = &entry.error_code {
        out.insert("errorCode".into(), Value::from(code.clone()));
    }
    if let Some(message) = &entry.error_message {
        out.insert("errorMessage".into(), Value::from(message.clone()));
    }
    out.insert("requestID".into(), Value::from(entry.request_id.clone()));
    out.insert("eventID".into(), Value::from(entry.seq.to_string()));
    out.insert(
        "readOnly".into(),
        Value::from(READ_ONLY.contains(&entry.operation.as_str())),
    );
    if let Some(arn) = &entry.secret_arn {
        out.insert(
            "resources".into(),
            json!([{ "ARN": arn, "type": "AWS::SecretsManager::Secret" }]),
        );
    }
    out.insert("sequenceNumber".into(), Value::from(entry.seq));
    out.insert("change".into(), Value::from(entry.change));
    Value::Object(out)
}
