//! `PutSecretValue`.

use serde::{Deserialize, Serialize};
use strongroom::{Field, PutSecretValueInput, StagingLabel};

use super::{Blob, Call, SecretText, parse, request_token, respond, secret_id, secret_value};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    client_request_token: Option<String>,
    secret_string: Option<SecretText>,
    secret_binary: Option<Blob>,
    version_stages: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    name: &'a str,
    version_id: &'a str,
    version_stages: Vec<&'a str>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let id = secret_id(call, req.secret_id)?;
    let token = request_token(req.client_request_token)?;
    let value = secret_value(req.secret_string, req.secret_binary)?.ok_or_else(|| {
        ApiError::invalid_request("You must provide either SecretString or SecretBinary.")
    })?;
    let mut input = PutSecretValueInput::new(id, value).client_request_token(token);
    if let Some(stages) = req.version_stages {
        let labels = stages
            .into_iter()
            .map(|l| StagingLabel::for_field(l, Field::VersionStagesMember))
            .collect::<strongroom::Result<Vec<_>>>()?;
        input = input.version_stages(labels);
    }
    let out = call.session.put_secret_value(input)?;
    respond(&Response {
        arn: out.arn.as_str(),
        name: out.name.as_str(),
        version_id: out.version_id.as_str(),
        version_stages: out
            .version_stages
            .iter()
            .map(StagingLabel::as_str)
            .collect(),
    })
}
