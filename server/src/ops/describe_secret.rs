//! `DescribeSecret` (and the entries of `ListSecrets`, which name the version map differently).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strongroom::{RotationRules, SecretDescription, StagingLabel};

use super::{Call, TagJson, epoch, parse, respond, secret_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
}

/// A secret's metadata; absent members are left out (FIELDS-1).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DescribeResponse<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms_key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_enabled: Option<bool>,
    #[serde(rename = "RotationLambdaARN", skip_serializing_if = "Option::is_none")]
    rotation_lambda_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_rules: Option<RulesOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_rotated_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_changed_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_accessed_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<TagJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_ids_to_stages: Option<VersionMap<'a>>,
    /// The same map under the name `ListSecrets` entries give it (FIELDS-4).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_versions_to_stages: Option<VersionMap<'a>>,
    created_date: f64,
}

type VersionMap<'a> = BTreeMap<&'a str, Vec<&'a str>>;

/// `RotationRules` as Describe and List show them: `AutomaticallyAfterDays` is also derived
/// from the schedule (ROT-3, [`RotationRules::days_between_rotations`]).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RulesOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    automatically_after_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_expression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
}

impl<'a> RulesOut<'a> {
    fn new(d: &'a SecretDescription, rules: &'a RotationRules) -> Self {
        Self {
            automatically_after_days: rules
                .days_between_rotations(d.last_rotated_date, d.next_rotation_date),
            schedule_expression: rules.schedule_expression().map(|e| e.as_str()),
            duration: rules.duration().map(|d| format!("{}h", d.as_secs() / 3600)),
        }
    }
}

impl<'a> DescribeResponse<'a> {
    pub(super) fn new(d: &'a SecretDescription) -> Self {
        Self {
            arn: d.arn.as_str(),
            name: d.name.as_str(),
            description: d.description.as_deref(),
            kms_key_id: d.kms_key_id.as_deref(),
            rotation_enabled: d.rotation_enabled,
            rotation_lambda_arn: d.rotation_lambda_arn.as_deref(),
            rotation_rules: d.rotation_rules.as_ref().map(|r| RulesOut::new(d, r)),
            last_rotated_date: d.last_rotated_date.map(epoch),
            next_rotation_date: d.next_rotation_date.map(epoch),
            last_changed_date: Some(epoch(d.last_changed_date)),
            last_accessed_date: d.last_accessed_date.map(epoch),
            deleted_date: d.deleted_date.map(epoch),
            tags: d
                .tags
                .as_ref()
                .map(|t| t.iter().map(TagJson::from_tag).collect()),
            version_ids_to_stages: d.version_ids_to_stages.as_ref().map(|m| {
                m.iter()
                    .map(|(v, l)| (v.as_str(), l.iter().map(StagingLabel::as_str).collect()))
                    .collect()
            }),
            secret_versions_to_stages: None,
            created_date: epoch(d.created_date),
        }
    }

    /// An entry of `ListSecrets`, whose version map is named `SecretVersionsToStages`.
    pub(super) fn list_entry(d: &'a SecretDescription) -> Self {
        let mut entry = Self::new(d);
        entry.secret_versions_to_stages = entry.version_ids_to_stages.take();
        entry
    }
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let id = secret_id(call, req.secret_id)?;
    let out = call.session.describe_secret(&id)?;
    respond(&DescribeResponse::new(&out))
}
