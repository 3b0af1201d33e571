//! `GetRandomPassword`.

use serde::{Deserialize, Serialize};
use strongroom::GetRandomPasswordInput;

use super::{Call, parse, respond};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    password_length: Option<i64>,
    exclude_characters: Option<String>,
    exclude_numbers: Option<bool>,
    exclude_punctuation: Option<bool>,
    exclude_uppercase: Option<bool>,
    exclude_lowercase: Option<bool>,
    include_space: Option<bool>,
    require_each_included_type: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    random_password: &'a str,
}

pub(super) fn call(call: &mut Call, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let req: Request = parse(body)?;
    let mut input = GetRandomPasswordInput::default();
    input.password_length = req.password_length;
    input.exclude_characters = req.exclude_characters;
    input.exclude_numbers = req.exclude_numbers.unwrap_or(false);
    input.exclude_punctuation = req.exclude_punctuation.unwrap_or(false);
    input.exclude_uppercase = req.exclude_uppercase.unwrap_or(false);
    input.exclude_lowercase = req.exclude_lowercase.unwrap_or(false);
    input.include_space = req.include_space.unwrap_or(false);
    input.require_each_included_type = req.require_each_included_type.unwrap_or(true);
    let password = call.session.get_random_password(&input)?;
    respond(&Response {
        random_password: password.expose_str().unwrap_or_default(),
    })
}
