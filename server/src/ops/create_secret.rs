//! `CreateSecret`.

use serde::Deserialize;
use strongroom::{CreateSecretInput, Description, KmsKeyId, SecretName};

use super::{
    Blob, Call, SecretRefOut, SecretText, TagJson, parse, request_token, required, respond,
    secret_value, tags,
};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    name: Option<String>,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<SecretText>,
    secret_binary: Option<Blob>,
    tags: Option<Vec<TagJson>>,
    add_replica_regions: Option<Vec<serde_json::Value>>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let name = required(req.name, "name")?;
    call.secret = Some(name.clone());
    if req.add_replica_regions.is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::invalid_request(
            "Replication to other regions is not supported by this server.",
        ));
    }
    let mut input = CreateSecretInput::new(SecretName::new(name)?)
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
    for tag in tags(req.tags)? {
        input = input.tag(tag);
    }
    let out = call.session.create_secret(input)?;
    respond(&SecretRefOut {
        arn: out.arn.as_str(),
        name: out.name.as_str(),
        version_id: out.version_id.as_ref().map(|v| v.as_str()),
    })
}
