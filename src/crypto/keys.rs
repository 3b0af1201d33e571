use std::fmt;

use zeroize::Zeroize;

/// A 256-bit data key. Boxed so it is never copied around the stack, wiped on drop, not `Clone`,
/// and opaque in `Debug`.
pub struct DataKey(Box<[u8; 32]>);

impl DataKey {
    /// A fresh random key from the operating system's CSPRNG (through `rand::rng()`).
    pub(crate) fn generate() -> Self {
        let mut k = Box::new([0u8; 32]);
        rand::Rng::fill_bytes(&mut rand::rng(), &mut k[..]);
        Self(k)
    }

    /// Copies exactly 32 bytes into a new key; `None` for any other length.
    pub fn try_from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: &[u8; 32] = bytes.try_into().ok()?;
        let mut k = Box::new([0u8; 32]);
        k.copy_from_slice(arr);
        Some(Self(k))
    }

    /// The key bytes. Every caller is a place key material is used: keep them few.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_sized_and_opaque() {
        let a = DataKey::generate();
        let b = DataKey::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "DataKey(..)");
        assert!(DataKey::try_from_slice(&[0; 31]).is_none());
        assert_eq!(
            DataKey::try_from_slice(&[9; 32]).unwrap().expose(),
            &[9; 32]
        );
    }
}
