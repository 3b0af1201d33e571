use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The format byte of records unchanged since the first release.
pub(crate) const FORMAT_V1: u8 = 1;
/// The format byte of `SecretRecord`s written since rotation landed (they carry rotation state).
pub(crate) const FORMAT_V2: u8 = 2;
/// The format byte of `SecretRecord`s that bind each version to its value record (inside an
/// authenticated record).
pub(crate) const FORMAT_V3: u8 = 3;
/// The format byte of `SecretRecord`s that store their versions compactly (UUID version ids as
/// bytes, master key ids once per record).
pub(crate) const FORMAT_V4: u8 = 4;

/// A record stored with the generic [`encode`]/[`decode`] under [`FORMAT_V1`]. A record whose
/// layout changed (`SecretRecord`) does not implement this and has its own versioned codec.
pub(crate) trait Plain {}

/// Why a stored record could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The record has no bytes at all.
    #[error("empty record")]
    Empty,
    /// The record's format byte is not one this version of the crate reads.
    #[error("unsupported record format {0}")]
    UnsupportedFormat(u8),
    /// The body does not decode.
    #[error("malformed record: {0}")]
    Malformed(String),
    /// The body decodes but bytes are left over.
    #[error("{0} trailing bytes after the record")]
    TrailingBytes(usize),
}

/// The format byte followed by the postcard encoding of `value`.
pub(crate) fn encode<T: Serialize + Plain>(value: &T) -> Result<Vec<u8>, super::StorageError> {
    encode_as(FORMAT_V1, value)
}

/// The format byte `format` followed by the postcard encoding of `value`.
pub(crate) fn encode_as<T: Serialize>(
    format: u8,
    value: &T,
) -> Result<Vec<u8>, super::StorageError> {
    let mut out = vec![format];
    let body = postcard::to_allocvec(value)
        .map_err(|e| super::StorageError::Backend(format!("cannot encode a record: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

pub(crate) fn decode<T: DeserializeOwned + Plain>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_borrowed(bytes)
}

/// Like [`decode`], for a record that borrows from `bytes` (no copy of its byte strings).
pub(crate) fn decode_borrowed<'a, T: Deserialize<'a> + Plain>(
    bytes: &'a [u8],
) -> Result<T, DecodeError> {
    let (format, body) = split_format(bytes)?;
    if format != FORMAT_V1 {
        return Err(DecodeError::UnsupportedFormat(format));
    }
    decode_body(body)
}

/// The format byte and the body of a stored record.
pub(crate) fn split_format(bytes: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    Ok((format, body))
}

/// Decodes a record body (after its format byte), refusing trailing bytes.
pub(crate) fn decode_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
    let (value, rest) =
        postcard::take_from_bytes(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

impl Plain for u64 {}
impl<T> Plain for (u8, T) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct R {
        a: u32,
        #[serde(with = "serde_bytes")]
        b: Vec<u8>,
    }
    impl Plain for R {}

    #[test]
    fn round_trip_and_rejections() {
        let r = R {
            a: 7,
            b: vec![1, 2, 3],
        };
        let bytes = encode(&r).unwrap();
        assert_eq!(bytes[0], FORMAT_V1);
        assert_eq!(decode::<R>(&bytes).unwrap(), r);
        assert!(matches!(decode::<R>(&[]), Err(DecodeError::Empty)));
        let mut other = bytes.clone();
        other[0] = 9;
        assert!(matches!(
            decode::<R>(&other),
            Err(DecodeError::UnsupportedFormat(9))
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            decode::<R>(&trailing),
            Err(DecodeError::TrailingBytes(1))
        ));
        assert!(matches!(
            decode::<R>(&bytes[..3]),
            Err(DecodeError::Malformed(_))
        ));
    }
}
