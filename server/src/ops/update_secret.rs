//! `UpdateSecret`.

use serde::Deserialize;
use strongroom::{Description, KmsKeyId, UpdateSecretInput};

use super::{
    Blob, Call, SecretRefOut, SecretText, parse, request_token, respond, secret_id, secret_value,
};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id: Option<String>,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<SecretText>,
    secret_binary: Option<Blob>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let mut input = UpdateSecretInput::new(secret_id(call, req.secret_id)?)
        .client_request_token(request_token(req.client_request_token)?);
    if let Some(d) = req.description {
        input = input.description(Description::new(d)?);
    }
    if let Some(k) = req.kms_key_id {
        input = input.kms_key_id(KmsKeyId::new(k)?);
    }
    if let Some(v) = secret_value(req.secret_string, req.secret_binary)? {
        input = input.value(v);
    }
    let out = call.session.update_secret(input)?;
    respond(&SecretRefOut {
        arn: out.arn.as_str(),
        name: out.name.as_str(),
        version_id: out.version_id.as_ref().map(|v| v.as_str()),
    })
}
