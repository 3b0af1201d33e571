//! `CancelRotateSecret` (rule ROT-9): turns automatic rotation off and stops the rotation in
//! progress; the settings stay, and so do the labels (the `VersionId` answered is the version
//! left `AWSPENDING`, which the caller should remove before rotating again).

use serde::Deserialize;

use super::{Call, SecretRefOut, parse, respond, secret_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let id = secret_id(call, req.secret_id)?;
    let out = call.session.cancel_rotate_secret(&id)?;
    respond(&SecretRefOut {
        arn: out.arn.as_str(),
        name: out.name.as_str(),
        version_id: out.version_id.as_ref().map(|v| v.as_str()),
    })
}
