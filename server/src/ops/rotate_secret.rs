//! `RotateSecret`, as AWS answers it when no rotation function can be invoked (rule B9.2).
//!
//! This server does not run rotation functions yet, so no function ARN is ever associated with a
//! secret: a request without `RotationLambdaARN` is refused with AWS's "no function" message,
//! and one that names a function with AWS's "cannot invoke" `AccessDeniedException`. Nothing is
//! saved in either case, exactly as AWS saves nothing when the function cannot be invoked.
//! `RotationRules` are validated first (rule B9.3), as AWS checks a request before acting on it.

use serde::Deserialize;
use strongroom::RotationRules;

use super::{Call, parse, secret_id, version_id};
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
    version_id(req.client_request_token, "clientRequestToken")?;
    if let Some(rules) = req.rotation_rules {
        RotationRules::new(
            rules.automatically_after_days,
            rules.schedule_expression.as_deref(),
            rules.duration.as_deref(),
        )?;
    }
    let _ = req.rotate_immediately;
    let secret = call.session.describe_secret(&id)?;
    if secret.deleted_date.is_some() {
        return Err(ApiError::invalid_request(
            "You can't perform this operation on the secret because it was marked for deletion.",
        ));
    }
    match req.rotation_lambda_arn {
        None => Err(ApiError::invalid_request(
            "No Lambda rotation function ARN is associated with this secret.",
        )),
        Some(_) => Err(ApiError::client(
            "AccessDeniedException",
            "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.",
        )),
    }
}
