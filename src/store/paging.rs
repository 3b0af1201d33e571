//! Paging: the bound on a page's size and the opaque tokens that say where the next one starts.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::field::Field;
use crate::storage;

/// Checks a page size a caller asked for against `1..=max`: AWS's rule for every `MaxResults`
/// (`max` is the operation's, for example [`crate::ListSecretsInput::MAX_RESULTS`]). A protocol
/// that reads wider integers checks them here before narrowing them.
pub fn check_max_results(n: i64, max: u32) -> Result<u32> {
    match Error::out_of_range(n, Field::MaxResults, 1, i64::from(max)) {
        Some(e) => Err(e),
        None => Ok(u32::try_from(n).unwrap_or(max)),
    }
}

/// The page size of a request (`max_results`, default `max`), checked by [`check_max_results`].
pub(crate) fn page_size(max_results: Option<u32>, max: u32) -> Result<usize> {
    let n = check_max_results(i64::from(max_results.unwrap_or(max)), max)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// An opaque page token: lower-case hex of a tagged record. Not secret, not signed; a token is
/// only a position, and a forged one can only skip within what the caller may list anyway.
pub(crate) fn encode_token<T: Serialize>(kind: u8, payload: &T) -> Result<String> {
    Ok(crate::hex::encode(&storage::encode(&(kind, payload))?))
}

pub(crate) fn decode_token<T: DeserializeOwned>(kind: u8, token: &str) -> Result<T> {
    if token.is_empty() || token.len() > 4096 {
        return Err(Error::InvalidNextToken);
    }
    let bytes = crate::hex::decode(token).ok_or(Error::InvalidNextToken)?;
    let (k, payload): (u8, T) = storage::decode(&bytes).map_err(|_| Error::InvalidNextToken)?;
    if k != kind {
        return Err(Error::InvalidNextToken);
    }
    Ok(payload)
}
