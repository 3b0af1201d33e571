//! Paging: the bound on a page's size and the opaque tokens that say where the next one starts.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::storage;

/// The page size a caller asked for (`max_results`, default `max`), checked against 1..=`max`
/// and named `member` in the error.
pub(crate) fn page_size(max_results: Option<u32>, max: u32, member: &str) -> Result<usize> {
    let n = max_results.unwrap_or(max);
    if n < 1 {
        return Err(Error::constraint(
            &n.to_string(),
            member,
            "Member must have value greater than or equal to 1",
        ));
    }
    if n > max {
        return Err(Error::constraint(
            &n.to_string(),
            member,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
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
