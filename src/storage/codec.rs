use serde::Serialize;
use serde::de::DeserializeOwned;

/// The format byte every stored record starts with.
pub(crate) const FORMAT_V1: u8 = 1;

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
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, super::StorageError> {
    let mut out = vec![FORMAT_V1];
    let body = postcard::to_allocvec(value)
        .map_err(|e| super::StorageError::Backend(format!("cannot encode a record: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if format != FORMAT_V1 {
        return Err(DecodeError::UnsupportedFormat(format));
    }
    let (value, rest) =
        postcard::take_from_bytes(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct R {
        a: u32,
        #[serde(with = "serde_bytes")]
        b: Vec<u8>,
    }

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
