//! `TagResource`: no output, so an empty body.

use serde::Deserialize;

use super::{Call, TagJson, parse, required, secret_id, tags};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    tags: Option<Vec<TagJson>>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let id = secret_id(call, req.secret_id)?;
    let tags = tags(Some(required(req.tags, "tags")?))?;
    call.session.tag_resource(&id, &tags)?;
    Ok(Vec::new())
}
