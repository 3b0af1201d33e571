//! `BatchGetSecretValue`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use strongroom::BatchGetSecretValueInput;

use super::get_secret_value::ValueResponse;
use super::list_secrets::{FilterJson, filters};
use super::{Call, max_results, parse, respond};
use crate::error::{ApiError, member_path};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    secret_id_list: Option<Vec<String>>,
    filters: Option<Vec<FilterJson>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorOut<'a> {
    secret_id: &'a str,
    error_code: &'a str,
    message: Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    secret_values: Vec<ValueResponse<'a>>,
    errors: Vec<ErrorOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let mut input = match (req.secret_id_list, req.filters) {
        (ids, Some(f)) => {
            let mut input = BatchGetSecretValueInput::for_filters(filters(f)?);
            input.secret_ids = ids;
            input
        }
        (Some(ids), None) => BatchGetSecretValueInput::for_ids(ids),
        (None, None) => BatchGetSecretValueInput::default(),
    };
    input.max_results = max_results(req.max_results, BatchGetSecretValueInput::MAX_RESULTS)?;
    input.next_token = req.next_token;
    let out = call.session.batch_get_secret_value(input)?;
    respond(&Response {
        secret_values: out.secret_values.iter().map(ValueResponse::new).collect(),
        errors: out
            .errors
            .iter()
            .map(|e| ErrorOut {
                secret_id: &e.secret_id,
                error_code: e.kind.aws_code(),
                message: e
                    .violation
                    .as_ref()
                    .map_or(Cow::Borrowed(e.message.as_str()), |v| {
                        Cow::Owned(v.message_at(&member_path(v.field())))
                    }),
            })
            .collect(),
        next_token: out.next_token.as_deref(),
    })
}
