//! The records the engine stores. `docs/format.md` describes them byte by byte.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Store-wide metadata, under key `store` in [`super::Keyspace::Meta`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MetaRecord {
    pub(crate) store_id: [u8; 16],
    pub(crate) created_ms: u64,
}

/// A scheduled deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Deletion {
    pub(crate) deleted_at_ms: u64,
    pub(crate) deletion_date_ms: u64,
}

/// One version's metadata, kept inside its secret's record so that labels move in one write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VersionMeta {
    pub(crate) id: String,
    /// Sorted, without duplicates.
    pub(crate) labels: Vec<String>,
    pub(crate) created_ms: u64,
    /// Creation order within the secret.
    pub(crate) seq: u64,
    /// False for a value-less placeholder (the `AWSPENDING` version a rotation creates).
    pub(crate) has_value: bool,
}

impl VersionMeta {
    pub(crate) fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }
}

/// A secret: its metadata, versions and labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SecretRecord {
    /// Random per creation; keys the secret's values, so a re-created name starts afresh.
    pub(crate) uid: [u8; 16],
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) kms_key_id: Option<String>,
    /// `None` until first tagged; `Some(vec![])` once every tag was removed (as AWS shows it).
    pub(crate) tags: Option<Vec<(String, String)>>,
    pub(crate) created_ms: u64,
    pub(crate) last_changed_ms: u64,
    pub(crate) deletion: Option<Deletion>,
    pub(crate) next_seq: u64,
    /// In creation order.
    pub(crate) versions: Vec<VersionMeta>,
}

impl SecretRecord {
    pub(crate) fn version(&self, id: &str) -> Option<&VersionMeta> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub(crate) fn holder_of(&self, label: &str) -> Option<&VersionMeta> {
        self.versions.iter().find(|v| v.has_label(label))
    }
}

/// A version's sealed value, under [`value_key`] in [`super::Keyspace::Values`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ValueRecord {
    pub(crate) binary: bool,
    pub(crate) key_id: String,
    #[serde(with = "serde_bytes")]
    pub(crate) wrapped_key: Vec<u8>,
    pub(crate) nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    pub(crate) ciphertext: Vec<u8>,
}

impl fmt::Debug for ValueRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueRecord")
            .field("binary", &self.binary)
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn secret_prefix(region: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(region.len() + 1);
    k.extend_from_slice(region.as_bytes());
    k.push(0);
    k
}

pub(crate) fn secret_key(region: &str, name: &str) -> Vec<u8> {
    let mut k = secret_prefix(region);
    k.extend_from_slice(name.as_bytes());
    k
}

pub(crate) fn value_prefix(uid: &[u8; 16]) -> Vec<u8> {
    uid.to_vec()
}

pub(crate) fn value_key(uid: &[u8; 16], version: &str) -> Vec<u8> {
    let mut k = uid.to_vec();
    k.extend_from_slice(version.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{decode, encode};

    /// A v1 record encoded by hand: if this changes, the format changed and needs a new format byte.
    #[test]
    fn v1_value_record_golden_bytes() {
        let r = ValueRecord {
            binary: true,
            key_id: "k".into(),
            wrapped_key: vec![0xaa, 0xbb],
            nonce: [7; 24],
            ciphertext: vec![1, 2, 3],
        };
        let mut expected = vec![1u8, 1, 1, b'k', 2, 0xaa, 0xbb];
        expected.extend_from_slice(&[7; 24]);
        expected.extend_from_slice(&[3, 1, 2, 3]);
        assert_eq!(encode(&r).unwrap(), expected);
        assert_eq!(decode::<ValueRecord>(&expected).unwrap(), r);
        assert!(!format!("{r:?}").contains("[1, 2, 3]"));
    }

    #[test]
    fn secret_record_round_trips() {
        let r = SecretRecord {
            uid: [3; 16],
            arn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:a-AbCdEf".into(),
            name: "a".into(),
            description: Some("d".into()),
            kms_key_id: None,
            tags: Some(vec![("k".into(), "v".into())]),
            created_ms: 1,
            last_changed_ms: 2,
            deletion: Some(Deletion {
                deleted_at_ms: 3,
                deletion_date_ms: 4,
            }),
            next_seq: 1,
            versions: vec![VersionMeta {
                id: "v".repeat(32),
                labels: vec!["AWSCURRENT".into()],
                created_ms: 1,
                seq: 0,
                has_value: true,
            }],
        };
        assert_eq!(decode::<SecretRecord>(&encode(&r).unwrap()).unwrap(), r);
    }

    #[test]
    fn keys_separate_regions_and_secrets() {
        assert_ne!(secret_key("us-east-1", "ab"), secret_key("us-east-1a", "b"));
        assert!(secret_key("r-1", "x").starts_with(&secret_prefix("r-1")));
        assert!(value_key(&[1; 16], "v").starts_with(&value_prefix(&[1; 16])));
    }
}
