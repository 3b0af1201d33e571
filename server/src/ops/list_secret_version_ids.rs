//! `ListSecretVersionIds`.

use serde::{Deserialize, Serialize};
use strongroom::{ListSecretVersionIdsInput, StagingLabel};

use super::{Call, epoch, max_results, parse, respond, secret_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
    include_deprecated: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Version<'a> {
    version_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_stages: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_accessed_date: Option<f64>,
    created_date: f64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    kms_key_ids: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    versions: Vec<Version<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
    #[serde(rename = "ARN")]
    arn: &'a str,
    name: &'a str,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let mut input = ListSecretVersionIdsInput::new(secret_id(call, req.secret_id)?);
    input.max_results = max_results(req.max_results, ListSecretVersionIdsInput::MAX_RESULTS)?;
    input.next_token = req.next_token;
    input.include_deprecated = req.include_deprecated.unwrap_or(false);
    let out = call.session.list_secret_version_ids(input)?;
    respond(&Response {
        versions: out
            .versions
            .iter()
            .map(|v| Version {
                version_id: v.version_id.as_str(),
                version_stages: v
                    .version_stages
                    .as_ref()
                    .map(|l| l.iter().map(StagingLabel::as_str).collect()),
                last_accessed_date: v.last_accessed_date.map(epoch),
                created_date: epoch(v.created_date),
                kms_key_ids: &v.kms_key_ids,
            })
            .collect(),
        next_token: out.next_token.as_deref(),
        arn: out.arn.as_str(),
        name: out.name.as_str(),
    })
}
