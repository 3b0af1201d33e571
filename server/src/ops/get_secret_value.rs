//! `GetSecretValue`.

use serde::{Deserialize, Serialize};
use strongroom::{Field, GetSecretValueInput, GetSecretValueOutput, StagingLabel};

use super::{Call, ValueOut, epoch, label, parse, respond, secret_id, version_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    version_id: Option<String>,
    version_stage: Option<String>,
}

/// One secret value as `GetSecretValue` and `BatchGetSecretValue` answer it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ValueResponse<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    name: &'a str,
    version_id: &'a str,
    #[serde(flatten)]
    value: ValueOut<'a>,
    version_stages: Vec<&'a str>,
    created_date: f64,
}

impl<'a> ValueResponse<'a> {
    pub(super) fn new(out: &'a GetSecretValueOutput) -> Self {
        Self {
            arn: out.arn.as_str(),
            name: out.name.as_str(),
            version_id: out.version_id.as_str(),
            value: ValueOut::new(&out.value),
            version_stages: out
                .version_stages
                .iter()
                .map(StagingLabel::as_str)
                .collect(),
            created_date: epoch(out.created_date),
        }
    }
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let mut input = GetSecretValueInput::new(secret_id(call, req.secret_id)?);
    if let Some(v) = version_id(req.version_id, Field::VersionId)? {
        input = input.version_id(v);
    }
    if let Some(l) = label(req.version_stage, Field::VersionStage)? {
        input = input.version_stage(l);
    }
    let out = call.session.get_secret_value(input)?;
    respond(&ValueResponse::new(&out))
}
