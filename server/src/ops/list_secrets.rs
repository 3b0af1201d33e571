//! `ListSecrets`.

use serde::{Deserialize, Serialize};
use strongroom::{Filter, FilterKey, ListSecretsInput, SecretDescription, SortBy, SortOrder};

use super::describe_secret::DescribeResponse;
use super::{Call, max_results, parse, respond};
use crate::error::ApiError;

/// A filter on the wire.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct FilterJson {
    key: Option<String>,
    values: Option<Vec<String>>,
}

/// The `Filters` member of `ListSecrets` and `BatchGetSecretValue`. A filter without `Key` or
/// without `Values` is `InvalidParameterException`, with moto's texts (AWS's are not recorded;
/// LIST-3).
pub(super) fn filters(raw: Vec<FilterJson>) -> Result<Vec<Filter>, ApiError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, f)| {
            let key = f
                .key
                .ok_or_else(|| ApiError::invalid_parameter("Invalid filter key"))?;
            let values = f.values.ok_or_else(|| {
                ApiError::invalid_parameter(format!("Invalid filter values for key: {key}"))
            })?;
            let key = FilterKey::parse(&key, i + 1)?;
            Ok(Filter::new(key, values)?)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    include_planned_deletion: Option<bool>,
    max_results: Option<i64>,
    next_token: Option<String>,
    filters: Option<Vec<FilterJson>>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    secret_list: Vec<DescribeResponse<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let mut input = ListSecretsInput::default();
    input.include_planned_deletion = req.include_planned_deletion.unwrap_or(false);
    input.max_results = max_results(req.max_results, ListSecretsInput::MAX_RESULTS)?;
    input.next_token = req.next_token;
    input.filters = filters(req.filters.unwrap_or_default())?;
    if let Some(s) = req.sort_by {
        input.sort_by = s.parse::<SortBy>()?;
    }
    if let Some(s) = req.sort_order {
        input.sort_order = s.parse::<SortOrder>()?;
    }
    let out = call.session.list_secrets(input)?;
    respond(&Response {
        secret_list: out
            .secrets
            .iter()
            .map(|d: &SecretDescription| DescribeResponse::list_entry(d))
            .collect(),
        next_token: out.next_token.as_deref(),
    })
}
