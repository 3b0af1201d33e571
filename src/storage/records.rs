//! The records the engine stores. `docs/format.md` describes them byte by byte.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::StorageError;
use super::codec::{self, DecodeError, FORMAT_V1, FORMAT_V2, FORMAT_V3, FORMAT_V4, Plain};

/// Store-wide metadata, under key `store` in [`super::Keyspace::Meta`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MetaRecord {
    pub(crate) store_id: [u8; 16],
    pub(crate) created_ms: u64,
}

/// The master keys the store's data keys are wrapped under, under key `master-keys` in
/// [`super::Keyspace::Meta`]: the store refuses a key provider that holds none of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MasterKeysRecord {
    /// Key ids in the order they were first used.
    pub(crate) ids: Vec<String>,
}

/// The key every record is authenticated under, wrapped by the key provider like a data key,
/// under key `integrity` in [`super::Keyspace::Meta`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IntegrityRecord {
    /// The master key that wrapped it.
    pub(crate) key_id: String,
    /// The wrapped key, in the provider's format.
    #[serde(with = "serde_bytes")]
    pub(crate) wrapped: Vec<u8>,
}

impl fmt::Debug for IntegrityRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrityRecord")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
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
    /// In the order they were attached, without duplicates.
    pub(crate) labels: Vec<String>,
    pub(crate) created_ms: u64,
    /// Creation order within the secret.
    pub(crate) seq: u64,
    /// False for a value-less placeholder (the `AWSPENDING` version a rotation creates).
    pub(crate) has_value: bool,
    /// Which stored value is this version's: `None` for a placeholder (and for a version read
    /// from a format-1 or -2 record, until the store's upgrade binds it).
    pub(crate) value: Option<ValueBinding>,
}

/// What ties a version to the one value record that is its value: the value's random nonce
/// (which, through the AEAD, pins its exact ciphertext) and the master key id its data key is
/// wrapped under. A value record put back from an earlier write under the same version id (a
/// reused token, a write retried after a crash) has another nonce, so it is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ValueBinding {
    pub(crate) key_id: String,
    pub(crate) nonce: [u8; 24],
}

/// A version as formats 1 and 2 stored it (before value bindings).
#[derive(Deserialize)]
struct VersionMetaV2 {
    id: String,
    labels: Vec<String>,
    created_ms: u64,
    seq: u64,
    has_value: bool,
}

impl From<VersionMetaV2> for VersionMeta {
    fn from(v: VersionMetaV2) -> Self {
        Self {
            id: v.id,
            labels: v.labels,
            created_ms: v.created_ms,
            seq: v.seq,
            has_value: v.has_value,
            value: None,
        }
    }
}

impl VersionMeta {
    pub(crate) fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }
}

/// `RotationRules` as given: `AutomaticallyAfterDays` or a schedule expression, and a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredRules {
    pub(crate) after_days: Option<u32>,
    pub(crate) schedule: Option<String>,
    /// The window as given (`"3h"`).
    pub(crate) duration: Option<String>,
}

/// A secret's rotation settings and state (ROT rules).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RotationConfig {
    /// `RotationEnabled`: false after `CancelRotateSecret` (the settings stay).
    pub(crate) enabled: bool,
    /// `RotationLambdaARN`: names the rotator.
    pub(crate) lambda_arn: Option<String>,
    pub(crate) rules: Option<StoredRules>,
    pub(crate) last_rotated_ms: Option<u64>,
    pub(crate) next_rotation_ms: Option<u64>,
    /// The token of the last rotation that completed, so that replaying its request is a no-op.
    pub(crate) last_token: Option<String>,
    /// The rotation being driven, if any.
    pub(crate) in_progress: Option<RotationProgress>,
}

/// How far a rotation got: kept in the secret's record so that a driver, after a crash,
/// resumes at the right step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RotationProgress {
    /// The `ClientRequestToken` of the rotation: the id of its `AWSPENDING` version.
    pub(crate) token: String,
    /// The next step to run: 0 createSecret, 1 setSecret, 2 testSecret, 3 finishSecret.
    pub(crate) step: u8,
    /// `RotateImmediately=false`: only testSecret runs, on a temporary copy of the current value.
    pub(crate) test_only: bool,
    /// Failed attempts of the current step since it last succeeded.
    pub(crate) attempts: u32,
    /// Not retried before this time.
    pub(crate) next_attempt_ms: u64,
    /// Every attempt failed: driven again only by the next rotation (scheduled or requested).
    pub(crate) failed: bool,
    /// Why the last attempt failed (never a secret value).
    pub(crate) last_error: Option<String>,
    pub(crate) started_ms: u64,
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
    /// `None` until rotation is first configured.
    pub(crate) rotation: Option<RotationConfig>,
}

/// A `SecretRecord` as format 4 stores it. Every write rewrites the whole record, with every
/// version (a secret keeps up to 100 deprecated ones), so versions are stored compactly: a
/// version id that is a UUID in canonical form as its 16 bytes, and each master key id once per
/// record, versions naming theirs by index. Borrowed when encoding, owned when decoding.
#[derive(Serialize, Deserialize)]
struct StoredSecret<'a> {
    uid: [u8; 16],
    arn: Cow<'a, str>,
    name: Cow<'a, str>,
    description: Cow<'a, Option<String>>,
    kms_key_id: Cow<'a, Option<String>>,
    tags: Cow<'a, Option<Vec<(String, String)>>>,
    created_ms: u64,
    last_changed_ms: u64,
    deletion: Option<Deletion>,
    next_seq: u64,
    /// The master key ids the versions' values are wrapped under, in first-use order.
    key_ids: Vec<Cow<'a, str>>,
    versions: Vec<StoredVersion<'a>>,
    rotation: Cow<'a, Option<RotationConfig>>,
}

#[derive(Serialize, Deserialize)]
struct StoredVersion<'a> {
    id: StoredVersionId<'a>,
    labels: Cow<'a, [String]>,
    created_ms: u64,
    seq: u64,
    has_value: bool,
    /// The value binding: an index into `key_ids`, and the nonce.
    value: Option<(u32, [u8; 24])>,
}

#[derive(Serialize, Deserialize)]
enum StoredVersionId<'a> {
    /// A canonical (lower-case, hyphenated) UUID, as the SDKs generate tokens.
    Uuid([u8; 16]),
    /// Any other id, as given.
    Text(Cow<'a, str>),
}

impl<'a> StoredVersionId<'a> {
    fn of(id: &'a str) -> Self {
        match uuid_bytes(id) {
            Some(b) => Self::Uuid(b),
            None => Self::Text(Cow::Borrowed(id)),
        }
    }

    fn into_string(self) -> String {
        match self {
            Self::Uuid(b) => uuid_text(&b),
            Self::Text(t) => t.into_owned(),
        }
    }
}

/// The 16 bytes of `s` if it is a UUID in canonical form (36 characters, lower-case hex digits,
/// hyphens after the 8th, 12th, 16th and 20th digit), so that [`uuid_text`] gives `s` back.
fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut filled = 0;
    let mut high: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        match high.take() {
            None => high = Some(d),
            Some(h) => {
                *out.get_mut(filled)? = h << 4 | d;
                filled += 1;
            }
        }
    }
    Some(out)
}

/// The canonical text of a UUID's 16 bytes.
fn uuid_text(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        for nibble in [byte >> 4, byte & 0xf] {
            out.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

impl<'a> From<&'a SecretRecord> for StoredSecret<'a> {
    fn from(r: &'a SecretRecord) -> Self {
        let mut key_ids: Vec<Cow<'a, str>> = Vec::new();
        let versions = r
            .versions
            .iter()
            .map(|v| StoredVersion {
                id: StoredVersionId::of(&v.id),
                labels: Cow::Borrowed(&v.labels),
                created_ms: v.created_ms,
                seq: v.seq,
                has_value: v.has_value,
                value: v.value.as_ref().map(|b| {
                    let at = key_ids
                        .iter()
                        .position(|k| *k == b.key_id)
                        .unwrap_or_else(|| {
                            key_ids.push(Cow::Borrowed(&b.key_id));
                            key_ids.len() - 1
                        });
                    (u32::try_from(at).unwrap_or(u32::MAX), b.nonce)
                }),
            })
            .collect();
        Self {
            uid: r.uid,
            arn: Cow::Borrowed(&r.arn),
            name: Cow::Borrowed(&r.name),
            description: Cow::Borrowed(&r.description),
            kms_key_id: Cow::Borrowed(&r.kms_key_id),
            tags: Cow::Borrowed(&r.tags),
            created_ms: r.created_ms,
            last_changed_ms: r.last_changed_ms,
            deletion: r.deletion,
            next_seq: r.next_seq,
            key_ids,
            versions,
            rotation: Cow::Borrowed(&r.rotation),
        }
    }
}

impl TryFrom<StoredSecret<'_>> for SecretRecord {
    type Error = DecodeError;

    fn try_from(s: StoredSecret<'_>) -> Result<Self, DecodeError> {
        let versions = s
            .versions
            .into_iter()
            .map(|v| {
                let value = match v.value {
                    None => None,
                    Some((at, nonce)) => {
                        let key_id = usize::try_from(at)
                            .ok()
                            .and_then(|at| s.key_ids.get(at))
                            .ok_or_else(|| {
                                DecodeError::Malformed(format!(
                                    "a version names master key {at} of {}",
                                    s.key_ids.len()
                                ))
                            })?;
                        Some(ValueBinding {
                            key_id: key_id.clone().into_owned(),
                            nonce,
                        })
                    }
                };
                Ok(VersionMeta {
                    id: v.id.into_string(),
                    labels: v.labels.into_owned(),
                    created_ms: v.created_ms,
                    seq: v.seq,
                    has_value: v.has_value,
                    value,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(Self {
            uid: s.uid,
            arn: s.arn.into_owned(),
            name: s.name.into_owned(),
            description: s.description.into_owned(),
            kms_key_id: s.kms_key_id.into_owned(),
            tags: s.tags.into_owned(),
            created_ms: s.created_ms,
            last_changed_ms: s.last_changed_ms,
            deletion: s.deletion,
            next_seq: s.next_seq,
            versions,
            rotation: s.rotation.into_owned(),
        })
    }
}

/// A `SecretRecord` as format 2 stored it (before value bindings).
#[derive(Deserialize)]
struct SecretRecordV2 {
    uid: [u8; 16],
    arn: String,
    name: String,
    description: Option<String>,
    kms_key_id: Option<String>,
    tags: Option<Vec<(String, String)>>,
    created_ms: u64,
    last_changed_ms: u64,
    deletion: Option<Deletion>,
    next_seq: u64,
    versions: Vec<VersionMetaV2>,
    rotation: Option<RotationConfig>,
}

/// A `SecretRecord` as format 1 stored it (before rotation).
#[derive(Deserialize)]
struct SecretRecordV1 {
    uid: [u8; 16],
    arn: String,
    name: String,
    description: Option<String>,
    kms_key_id: Option<String>,
    tags: Option<Vec<(String, String)>>,
    created_ms: u64,
    last_changed_ms: u64,
    deletion: Option<Deletion>,
    next_seq: u64,
    versions: Vec<VersionMetaV2>,
}

impl From<SecretRecordV1> for SecretRecordV2 {
    fn from(v1: SecretRecordV1) -> Self {
        Self {
            uid: v1.uid,
            arn: v1.arn,
            name: v1.name,
            description: v1.description,
            kms_key_id: v1.kms_key_id,
            tags: v1.tags,
            created_ms: v1.created_ms,
            last_changed_ms: v1.last_changed_ms,
            deletion: v1.deletion,
            next_seq: v1.next_seq,
            versions: v1.versions,
            rotation: None,
        }
    }
}

impl From<SecretRecordV2> for SecretRecord {
    fn from(v2: SecretRecordV2) -> Self {
        Self {
            uid: v2.uid,
            arn: v2.arn,
            name: v2.name,
            description: v2.description,
            kms_key_id: v2.kms_key_id,
            tags: v2.tags,
            created_ms: v2.created_ms,
            last_changed_ms: v2.last_changed_ms,
            deletion: v2.deletion,
            next_seq: v2.next_seq,
            versions: v2.versions.into_iter().map(VersionMeta::from).collect(),
            rotation: v2.rotation,
        }
    }
}

impl SecretRecord {
    /// The stored form: format byte 4, then the record (see [`StoredSecret`]).
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StorageError> {
        codec::encode_as(FORMAT_V4, &StoredSecret::from(self))
    }

    /// Reads a record stored in format 4, 3 (versions in full), 2 (without value bindings) or
    /// 1 (without rotation state either).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match codec::split_format(bytes)? {
            (FORMAT_V4, body) => codec::decode_body::<StoredSecret<'_>>(body)?.try_into(),
            (FORMAT_V3, body) => codec::decode_body(body),
            (FORMAT_V2, body) => Ok(codec::decode_body::<SecretRecordV2>(body)?.into()),
            (FORMAT_V1, body) => {
                Ok(SecretRecordV2::from(codec::decode_body::<SecretRecordV1>(body)?).into())
            }
            (other, _) => Err(DecodeError::UnsupportedFormat(other)),
        }
    }

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

/// A [`ValueRecord`] read in place: its byte strings borrowed from the stored bytes.
#[derive(Deserialize)]
pub(crate) struct ValueRecordRef<'a> {
    pub(crate) binary: bool,
    pub(crate) key_id: &'a str,
    pub(crate) wrapped_key: &'a [u8],
    pub(crate) nonce: [u8; 24],
    pub(crate) ciphertext: &'a [u8],
}

impl Plain for ValueRecordRef<'_> {}
impl Plain for MetaRecord {}
impl Plain for MasterKeysRecord {}
impl Plain for IntegrityRecord {}
impl Plain for ValueRecord {}

impl fmt::Debug for ValueRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueRecord")
            .field("binary", &self.binary)
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Where a secret's record is stored: today its region and name (an account joins them with
/// access control). Its byte layout (the region, a 0 byte, the name) belongs to this module
/// alone: everything else builds, compares and reads keys through this type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SecretKey {
    region: String,
    name: String,
}

impl SecretKey {
    /// The key of secret `name` in `region`.
    pub(crate) fn new(region: &str, name: &str) -> Self {
        Self {
            region: region.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The key a stored record sits under, read back; `None` for bytes of another shape.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let at = bytes.iter().position(|b| *b == 0)?;
        let (region, name) = (bytes.get(..at)?, bytes.get(at + 1..)?);
        Some(Self {
            region: String::from_utf8(region.to_vec()).ok()?,
            name: String::from_utf8(name.to_vec()).ok()?,
        })
    }

    /// The stored form.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut k = Self::region_prefix(&self.region);
        k.extend_from_slice(self.name.as_bytes());
        k
    }

    /// The prefix every key of `region` starts with, to scan a region.
    pub(crate) fn region_prefix(region: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(region.len() + 1);
        k.extend_from_slice(region.as_bytes());
        k.push(0);
        k
    }

    /// The region.
    pub(crate) fn region(&self) -> &str {
        &self.region
    }
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

    /// A secret key reads back as it was built, starts with its region's prefix, and bytes of
    /// another shape are not a key.
    #[test]
    fn secret_keys_round_trip_and_scan_by_region() {
        let key = SecretKey::new("eu-west-1", "prod/db");
        let bytes = key.to_bytes();
        assert_eq!(SecretKey::from_bytes(&bytes), Some(key.clone()));
        assert_eq!(key.region(), "eu-west-1");
        assert!(bytes.starts_with(&SecretKey::region_prefix("eu-west-1")));
        assert!(!bytes.starts_with(&SecretKey::region_prefix("eu-west")));
        assert_eq!(SecretKey::from_bytes(b"no separator"), None);
        assert_eq!(SecretKey::from_bytes(b"\xff\x00name"), None);
    }

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
        let borrowed: ValueRecordRef<'_> = codec::decode_borrowed(&expected).unwrap();
        assert_eq!(
            (borrowed.binary, borrowed.key_id, borrowed.wrapped_key),
            (true, "k", &[0xaa, 0xbb][..])
        );
        assert_eq!(
            (borrowed.nonce, borrowed.ciphertext),
            ([7; 24], &[1, 2, 3][..])
        );
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
                value: Some(ValueBinding {
                    key_id: "local:0011223344556677".into(),
                    nonce: [5; 24],
                }),
            }],
            rotation: Some(RotationConfig {
                enabled: true,
                lambda_arn: Some("arn:aws:lambda:us-east-1:111111111111:function:f".into()),
                rules: Some(StoredRules {
                    after_days: None,
                    schedule: Some("rate(4 hours)".into()),
                    duration: Some("2h".into()),
                }),
                last_rotated_ms: Some(5),
                next_rotation_ms: Some(6),
                last_token: None,
                in_progress: Some(RotationProgress {
                    token: "t".repeat(32),
                    step: 2,
                    test_only: false,
                    attempts: 1,
                    next_attempt_ms: 7,
                    failed: false,
                    last_error: Some("e".into()),
                    started_ms: 4,
                }),
            }),
        };
        let bytes = r.encode().unwrap();
        assert_eq!(bytes[0], 4);
        assert_eq!(SecretRecord::decode(&bytes).unwrap(), r);
        // Format 3 (versions in full) still reads.
        let v3 = codec::encode_as(FORMAT_V3, &r).unwrap();
        assert_eq!(SecretRecord::decode(&v3).unwrap(), r);
        let mut other = bytes.clone();
        other[0] = 5;
        assert!(matches!(
            SecretRecord::decode(&other),
            Err(DecodeError::UnsupportedFormat(5))
        ));
    }

    fn version(id: &str, key_id: &str, seq: u64) -> VersionMeta {
        VersionMeta {
            id: id.into(),
            labels: if seq == 0 {
                vec!["AWSCURRENT".into()]
            } else {
                vec![]
            },
            created_ms: 1_700_000_000_000 + seq,
            seq,
            has_value: true,
            value: Some(ValueBinding {
                key_id: key_id.into(),
                nonce: [u8::try_from(seq % 256).unwrap(); 24],
            }),
        }
    }

    fn record_with(versions: Vec<VersionMeta>) -> SecretRecord {
        SecretRecord {
            uid: [1; 16],
            arn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:a-AbCdEf".into(),
            name: "a".into(),
            description: None,
            kms_key_id: None,
            tags: None,
            created_ms: 1,
            last_changed_ms: 2,
            deletion: None,
            next_seq: u64::try_from(versions.len()).unwrap(),
            versions,
            rotation: None,
        }
    }

    /// Version ids come back exactly as given: only a canonical UUID is stored as 16 bytes.
    #[test]
    fn format_4_keeps_every_version_id_and_master_key_id_exactly() {
        let ids = [
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "0f8fad5bd9cb469fa16570867728950e0000",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "0f8fad5b_d9cb-469f-a165-70867728950e",
            "a-token-that-is-not-a-uuid-but-is-long-enough",
            "0f8fad5b-d9cb-469f-a165-70867728950",
        ];
        let keys = [
            "local:00",
            "arn:aws:kms:us-east-1:111111111111:key/k",
            "local:00",
        ];
        let versions = ids
            .iter()
            .enumerate()
            .map(|(i, id)| version(id, keys[i % keys.len()], u64::try_from(i).unwrap()))
            .chain([VersionMeta {
                value: None,
                has_value: false,
                ..version("11111111-2222-3333-4444-555555555555", "", 99)
            }])
            .collect();
        let r = record_with(versions);
        assert_eq!(SecretRecord::decode(&r.encode().unwrap()).unwrap(), r);
        assert_eq!(
            uuid_bytes(ids[0]).map(|b| uuid_text(&b)).as_deref(),
            Some(ids[0])
        );
        for id in &ids[1..] {
            assert_eq!(uuid_bytes(id), None, "{id}");
        }
    }

    /// The point of format 4: a secret at its 100 versions, with UUID ids and a KMS key ARN,
    /// is stored in less than half the bytes of format 3.
    #[test]
    fn format_4_stores_a_full_secret_compactly() {
        let key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let r = record_with(
            (0..100u64)
                .map(|i| version(&format!("0f8fad5b-d9cb-469f-a165-{i:012x}"), key, i))
                .collect(),
        );
        let v4 = r.encode().unwrap().len();
        let v3 = codec::encode_as(FORMAT_V3, &r).unwrap().len();
        assert!(v4 * 2 < v3, "format 4: {v4} bytes, format 3: {v3}");
        assert_eq!(SecretRecord::decode(&r.encode().unwrap()).unwrap(), r);
    }

    #[test]
    fn a_format_4_version_naming_a_missing_master_key_is_malformed() {
        let r = record_with(vec![version("v", "local:00", 0)]);
        let mut stored = StoredSecret::from(&r);
        stored.key_ids.clear();
        let bytes = codec::encode_as(FORMAT_V4, &stored).unwrap();
        assert!(matches!(
            SecretRecord::decode(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }

    /// A format-2 record (rotation state, no value bindings) still reads, its versions unbound.
    #[test]
    fn v2_secret_record_reads_without_value_bindings() {
        #[derive(serde::Serialize)]
        struct V2Version<'a> {
            id: &'a str,
            labels: Vec<&'a str>,
            created_ms: u64,
            seq: u64,
            has_value: bool,
        }
        let bytes = codec::encode_as(
            FORMAT_V2,
            &(
                [7u8; 16],
                "arn",
                "n",
                None::<String>,
                None::<String>,
                None::<Vec<(String, String)>>,
                (5u64, 6u64),
                None::<Deletion>,
                1u64,
                vec![V2Version {
                    id: "x",
                    labels: vec!["AWSCURRENT"],
                    created_ms: 5,
                    seq: 0,
                    has_value: true,
                }],
                None::<RotationConfig>,
            ),
        )
        .unwrap();
        let r = SecretRecord::decode(&bytes).unwrap();
        assert_eq!((r.uid, r.arn.as_str(), r.next_seq), ([7; 16], "arn", 1));
        assert_eq!((r.created_ms, r.last_changed_ms), (5, 6));
        assert_eq!(r.versions.len(), 1);
        assert!(r.versions[0].has_value);
        assert_eq!(r.versions[0].value, None);
        assert_eq!(r.rotation, None);
    }

    /// A format-1 record, as the first release wrote it, still reads (without rotation state).
    #[test]
    fn v1_secret_record_golden_bytes_decode() {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&[9; 16]); // uid
        bytes.extend_from_slice(&[3, b'a', b'r', b'n']); // arn
        bytes.extend_from_slice(&[1, b'n']); // name
        bytes.extend_from_slice(&[1, 1, b'd']); // description: Some("d")
        bytes.push(0); // kms_key_id: None
        bytes.extend_from_slice(&[1, 1, 1, b'k', 1, b'v']); // tags: Some([("k","v")])
        bytes.extend_from_slice(&[5, 6]); // created_ms, last_changed_ms
        bytes.push(0); // deletion: None
        bytes.push(1); // next_seq
        bytes.extend_from_slice(&[1, 1, b'x', 1, 10]); // one version "x", labels: one label,
        bytes.extend_from_slice(b"AWSCURRENT");
        bytes.extend_from_slice(&[5, 0, 1]); // created_ms, seq, has_value
        let r = SecretRecord::decode(&bytes).unwrap();
        assert_eq!(r.uid, [9; 16]);
        assert_eq!(r.arn, "arn");
        assert_eq!(r.name, "n");
        assert_eq!(r.description.as_deref(), Some("d"));
        assert_eq!(r.tags, Some(vec![("k".into(), "v".into())]));
        assert_eq!((r.created_ms, r.last_changed_ms, r.next_seq), (5, 6, 1));
        assert_eq!(r.versions.len(), 1);
        assert_eq!(r.versions[0].labels, vec!["AWSCURRENT".to_owned()]);
        assert!(r.versions[0].has_value);
        assert_eq!(r.rotation, None);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            SecretRecord::decode(&trailing),
            Err(DecodeError::TrailingBytes(1))
        ));
    }

    #[test]
    fn keys_separate_regions_and_secrets() {
        assert_ne!(
            SecretKey::new("us-east-1", "ab").to_bytes(),
            SecretKey::new("us-east-1a", "b").to_bytes()
        );
        assert!(
            SecretKey::new("r-1", "x")
                .to_bytes()
                .starts_with(&SecretKey::region_prefix("r-1"))
        );
        assert!(value_key(&[1; 16], "v").starts_with(&value_prefix(&[1; 16])));
    }
}
