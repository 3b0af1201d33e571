//! `UpdateSecretVersionStage`.

use serde::Deserialize;
use strongroom::{Field, UpdateSecretVersionStageInput};

use super::{Call, SecretRefOut, label, parse, required, respond, secret_id, version_id};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    version_stage: Option<String>,
    move_to_version_id: Option<String>,
    remove_from_version_id: Option<String>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let id = secret_id(call, req.secret_id)?;
    let stage = required(
        label(req.version_stage, Field::VersionStage)?,
        "versionStage",
    )?;
    let mut input = UpdateSecretVersionStageInput::new(id, stage);
    if let Some(v) = version_id(req.move_to_version_id, Field::MoveToVersionId)? {
        input = input.move_to(v);
    }
    if let Some(v) = version_id(req.remove_from_version_id, Field::RemoveFromVersionId)? {
        input = input.remove_from(v);
    }
    let out = call.session.update_secret_version_stage(input)?;
    respond(&SecretRefOut {
        arn: out.arn.as_str(),
        name: out.name.as_str(),
        version_id: None,
    })
}
