//! `UntagResource`: no output, so an empty body.

use serde::Deserialize;
use strongroom::TagKey;

use super::{Call, parse, required, secret_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let id = secret_id(call, req.secret_id)?;
    let keys = required(req.tag_keys, "tagKeys")?
        .into_iter()
        .map(TagKey::new)
        .collect::<strongroom::Result<Vec<_>>>()?;
    call.session.untag_resource(&id, &keys)?;
    Ok(Vec::new())
}
