//! `DeleteSecret`.

use serde::{Deserialize, Serialize};
use strongroom::DeleteSecretInput;

use super::{Call, epoch, parse, respond, secret_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    name: &'a str,
    deletion_date: f64,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let mut input = DeleteSecretInput::new(secret_id(call, req.secret_id)?);
    if let Some(days) = req.recovery_window_in_days {
        input = input.recovery_window_in_days(days);
    }
    if req.force_delete_without_recovery.unwrap_or(false) {
        input = input.force();
    }
    let out = call.session.delete_secret(input)?;
    respond(&Response {
        arn: &out.arn,
        name: &out.name,
        deletion_date: epoch(out.deletion_date),
    })
}
