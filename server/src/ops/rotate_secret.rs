//! `RotateSecret` (ROT rules): saves the rotation settings and a value-less `AWSPENDING` version,
//! then wakes the background rotation task, which runs the function's steps after the response
//! (as AWS invokes the Lambda function asynchronously).
//!
//! A `RotationLambdaARN` that the server's configuration does not map to a rotation function is
//! refused as AWS refuses a function it cannot invoke (`AccessDeniedException`), saving nothing.

use serde::Deserialize;
use strongroom::{RotateSecretInput, RotationRules};

use super::{Call, SecretRefOut, parse, respond, rotation_token, secret_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    client_request_token: Option<String>,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
    rotation_rules: Option<RulesJson>,
    rotate_immediately: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RulesJson {
    automatically_after_days: Option<i64>,
    schedule_expression: Option<String>,
    duration: Option<String>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let id = secret_id(call, req.secret_id)?;
    let token = rotation_token(req.client_request_token);
    let rules = req
        .rotation_rules
        .map(|r| {
            RotationRules::new(
                r.automatically_after_days,
                r.schedule_expression.as_deref(),
                r.duration.as_deref(),
            )
        })
        .transpose()?;
    let token = token?;
    let mut input = RotateSecretInput::new(id).client_request_token(token);
    if let Some(arn) = req.rotation_lambda_arn {
        input = input.rotation_lambda_arn(arn);
    }
    if let Some(rules) = rules {
        input = input.rotation_rules(rules);
    }
    if let Some(now) = req.rotate_immediately {
        input = input.rotate_immediately(now);
    }
    let out = call.session.rotate_secret(input)?;
    call.rotation_wake.notify_one();
    respond(&SecretRefOut {
        arn: out.arn.as_str(),
        name: out.name.as_str(),
        version_id: out.version_id.as_ref().map(|v| v.as_str()),
    })
}
