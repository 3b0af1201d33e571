use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::DataKey;
use crate::storage::FORMAT_V1;

/// A value sealed under a data key: a random 192-bit nonce and the ciphertext with its tag.
pub(crate) struct Sealed {
    pub(crate) nonce: [u8; 24],
    pub(crate) ciphertext: Vec<u8>,
}

/// The authentication failed (wrong key, wrong place, or tampered bytes). Carries no detail.
#[derive(Debug)]
pub(crate) struct OpenFailed;

fn bound(domain: &[u8], store_id: &[u8; 16], arn: &str, version: &str, kind: u8) -> Vec<u8> {
    let mut a = Vec::with_capacity(domain.len() + 1 + 16 + 16 + arn.len() + version.len() + 1);
    a.extend_from_slice(domain);
    a.push(FORMAT_V1);
    a.extend_from_slice(store_id);
    for part in [arn.as_bytes(), version.as_bytes()] {
        a.extend_from_slice(&(part.len() as u64).to_le_bytes());
        a.extend_from_slice(part);
    }
    a.push(kind);
    a
}

/// Associated data of a value: format, store, secret ARN, version and value kind (text or binary).
pub(crate) fn aad_for_value(
    store_id: &[u8; 16],
    arn: &str,
    version: &str,
    binary: bool,
) -> Vec<u8> {
    bound(
        b"strongroom/value",
        store_id,
        arn,
        version,
        u8::from(binary),
    )
}

/// Associated data of a wrapped data key: the same place, in another domain.
pub(crate) fn aad_for_key(store_id: &[u8; 16], arn: &str, version: &str) -> Vec<u8> {
    bound(b"strongroom/data-key", store_id, arn, version, 0)
}

/// Associated data of the store's integrity key (the key its records are authenticated under):
/// format and store.
pub(crate) fn aad_for_integrity_key(store_id: &[u8; 16]) -> Vec<u8> {
    bound(b"strongroom/integrity-key", store_id, "", "", 0)
}

/// The AEAD refused to seal (only possible for messages beyond 2^38 bytes). Carries no detail.
#[derive(Debug)]
pub(crate) struct SealFailed;

/// Seals `plaintext` under `key` with a fresh random nonce. Fails closed: no ciphertext on error.
pub(crate) fn seal(key: &DataKey, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, SealFailed> {
    let mut nonce = [0u8; 24];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
    seal_with_nonce(key, aad, plaintext, nonce)
}

fn seal_with_nonce(
    key: &DataKey,
    aad: &[u8],
    plaintext: &[u8],
    nonce: [u8; 24],
) -> Result<Sealed, SealFailed> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    // Wiped if sealing fails, since it then still holds the plaintext.
    let mut buf = Zeroizing::new(Vec::with_capacity(plaintext.len() + 16));
    buf.extend_from_slice(plaintext);
    cipher
        .encrypt_in_place(&XNonce::from(nonce), aad, &mut *buf)
        .map_err(|_| SealFailed)?;
    Ok(Sealed {
        nonce,
        ciphertext: std::mem::take(&mut *buf),
    })
}

/// A public fingerprint of `key`: the first 8 bytes of the XChaCha20-Poly1305 tag of an empty
/// message under the all-zero nonce (never used for real data, whose nonces are random) and a
/// fixed domain. Unlike a hash, it leaves no copy of the key in a hasher's state.
pub(crate) fn fingerprint(key: &DataKey) -> Result<[u8; 8], SealFailed> {
    let s = seal_with_nonce(key, b"strongroom master key id", b"", [0u8; 24])?;
    let mut out = [0u8; 8];
    out.copy_from_slice(s.ciphertext.get(..8).ok_or(SealFailed)?);
    Ok(out)
}

/// Opens a sealed value. Any failure is the same opaque error.
pub(crate) fn open(
    key: &DataKey,
    aad: &[u8],
    nonce: &[u8; 24],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenFailed> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(&XNonce::from(*nonce), aad, &mut *buf)
        .map_err(|_| OpenFailed)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_place_binding() {
        let key = DataKey::generate();
        let id = [1u8; 16];
        let aad = aad_for_value(&id, "arn:a", "v1", false);
        let s = seal(&key, &aad, b"hello").unwrap();
        assert_eq!(
            &open(&key, &aad, &s.nonce, &s.ciphertext).unwrap()[..],
            b"hello"
        );
        for other in [
            aad_for_value(&[2u8; 16], "arn:a", "v1", false),
            aad_for_value(&id, "arn:b", "v1", false),
            aad_for_value(&id, "arn:a", "v2", false),
            aad_for_value(&id, "arn:a", "v1", true),
            aad_for_key(&id, "arn:a", "v1"),
        ] {
            assert!(open(&key, &other, &s.nonce, &s.ciphertext).is_err());
        }
        let mut flipped = s.ciphertext.clone();
        flipped[0] ^= 1;
        assert!(open(&key, &aad, &s.nonce, &flipped).is_err());
        assert!(open(&DataKey::generate(), &aad, &s.nonce, &s.ciphertext).is_err());
    }

    #[test]
    fn length_prefixes_keep_parts_apart() {
        let id = [0u8; 16];
        assert_ne!(
            aad_for_value(&id, "ab", "c", false),
            aad_for_value(&id, "a", "bc", false)
        );
    }

    /// Known-answer vector: draft-irtf-cfrg-xchacha-03, section A.3.1.
    #[test]
    fn xchacha20poly1305_known_answer() {
        let key = DataKey::try_from_slice(
            &crate::hex::decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
                .unwrap(),
        )
        .unwrap();
        let nonce: [u8; 24] =
            crate::hex::decode("404142434445464748494a4b4c4d4e4f5051525354555657")
                .unwrap()
                .try_into()
                .unwrap();
        let aad = crate::hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let s = seal_with_nonce(&key, &aad, pt, nonce).unwrap();
        let hex = crate::hex::encode(&s.ciphertext);
        assert!(
            hex.starts_with("bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb")
        );
        assert!(hex.ends_with("c0875924c1c7987947deafd8780acf49"));
        assert_eq!(&open(&key, &aad, &nonce, &s.ciphertext).unwrap()[..], pt);
    }
}
