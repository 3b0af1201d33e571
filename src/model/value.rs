use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::field::Field;

/// The largest secret value, in bytes (UTF-8 bytes for a string).
pub(crate) const MAX_SECRET_BYTES: usize = 65_536;

/// A secret value: text (`SecretString`) or bytes (`SecretBinary`), 1..=65,536 bytes.
///
/// The bytes are wiped when the value is dropped, and `Debug` prints `SecretValue(<redacted>)`.
/// Read it through [`SecretValue::expose_str`] or [`SecretValue::expose_bytes`], so that every place
/// a secret leaves the engine is easy to find.
#[derive(Clone)]
pub struct SecretValue(Inner);

#[derive(Clone)]
enum Inner {
    Text(Zeroizing<String>),
    Binary(Zeroizing<Vec<u8>>),
}

impl SecretValue {
    /// A text value (`SecretString`).
    pub fn string(text: impl Into<String>) -> Result<Self> {
        let text = Zeroizing::new(text.into());
        check_len(text.len(), Field::SecretString)?;
        Ok(Self(Inner::Text(text)))
    }

    /// A binary value (`SecretBinary`).
    pub fn binary(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = Zeroizing::new(bytes.into());
        check_len(bytes.len(), Field::SecretBinary)?;
        Ok(Self(Inner::Binary(bytes)))
    }

    /// Whether this is a binary value.
    pub fn is_binary(&self) -> bool {
        matches!(self.0, Inner::Binary(_))
    }

    /// The text, if this is a text value.
    pub fn expose_str(&self) -> Option<&str> {
        match &self.0 {
            Inner::Text(s) => Some(s),
            Inner::Binary(_) => None,
        }
    }

    /// The raw bytes (UTF-8 for a text value).
    pub fn expose_bytes(&self) -> &[u8] {
        match &self.0 {
            Inner::Text(s) => s.as_bytes(),
            Inner::Binary(b) => b,
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.expose_bytes().len()
    }

    /// Always false: a value has at least one byte. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Equality in time independent of where the bytes differ.
    pub(crate) fn ct_eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.is_binary() == other.is_binary()
            && bool::from(self.expose_bytes().ct_eq(other.expose_bytes()))
    }

    /// Rebuilds a value decrypted from the store (its length was checked when it was written).
    pub(crate) fn from_plaintext(binary: bool, bytes: Zeroizing<Vec<u8>>) -> Option<Self> {
        if binary {
            Some(Self(Inner::Binary(bytes)))
        } else {
            let mut bytes = bytes;
            let v = std::mem::take(&mut *bytes);
            match String::from_utf8(v) {
                Ok(s) => Some(Self(Inner::Text(Zeroizing::new(s)))),
                Err(e) => {
                    let _wiped = Zeroizing::new(e.into_bytes());
                    None
                }
            }
        }
    }
}

fn check_len(len: usize, field: Field) -> Result<()> {
    // The value is never echoed: it is secret.
    if len == 0 {
        return Err(Error::min_len("***", field, 1));
    }
    if len > MAX_SECRET_BYTES {
        return Err(Error::max_len("***", field, MAX_SECRET_BYTES));
    }
    Ok(())
}

/// Compares in time independent of where the bytes differ; text never equals binary.
impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for SecretValue {}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bounded_and_redacted() {
        let v = SecretValue::string("hunter2").unwrap();
        assert_eq!(format!("{v:?}"), "SecretValue(<redacted>)");
        assert_eq!(v.expose_str(), Some("hunter2"));
        assert!(SecretValue::string("").is_err());
        assert!(SecretValue::binary(vec![0; MAX_SECRET_BYTES]).is_ok());
        let e = SecretValue::binary(vec![7; MAX_SECRET_BYTES + 1]).unwrap_err();
        assert!(!e.to_string().contains('7'));
        // Multi-byte text is measured in UTF-8 bytes.
        assert!(SecretValue::string("é".repeat(MAX_SECRET_BYTES / 2 + 1)).is_err());
    }

    #[test]
    fn equality_tells_text_from_binary() {
        let t = SecretValue::string("ab").unwrap();
        let b = SecretValue::binary(b"ab".to_vec()).unwrap();
        assert!(!t.ct_eq(&b));
        assert!(t.ct_eq(&SecretValue::string("ab").unwrap()));
        assert!(!t.ct_eq(&SecretValue::string("ac").unwrap()));
    }
}
