//! Replays the Secrets Manager call sequences recorded against real AWS
//! (`tests/fixtures/aws-recorded`, see its README) against the engine, through the public
//! API, and compares every recorded response: success or error, the error code and exact
//! message, which top-level fields are present, and every value that does not vary per run
//! (names, values, labels, label maps, tags), with the recording's placeholders
//! (`<version_uuid:N>`, `<ArnPart-0idx>`, ...) bound on first sight and required equal afterwards.
//!
//! Each sequence runs in a fresh store (region `us-east-1`, account `000000000000`: the builder's
//! defaults, which are also what the recorded request parameters use). Recorded names are used
//! as-is; recorded ARNs and version ids in parameters (LocalStack's, from the recording run) are
//! rewritten to the ones this store returned for the same secret and call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use strongroom::{
    CreateSecretInput, DeleteSecretInput, Description, Field, GetSecretValueInput,
    InsecureTestKeyProvider, KmsKeyId, ListSecretVersionIdsInput, ListSecretsInput, ManualClock,
    PutSecretValueInput, Region, RequestContext, SecretDescription, SecretId, SecretName,
    SecretStore, SecretValue, Session, StagingLabel, Tag, TagKey, UpdateSecretInput,
    UpdateSecretVersionStageInput, VersionId,
};

/// The recorded sequences, kept in the repository.
const RECORDINGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/aws-recorded");
/// How many sequences and recorded responses the fixtures hold (their README).
const RECORDED_SEQUENCES: usize = 38;
const RECORDED_RESPONSES: usize = 250;

/// The store's ARN prefix; the recorded parameters use the same one (LocalStack's defaults).
const ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:";
const ACCOUNT: &str = "000000000000";
/// The account id as the recorder normalised it in recorded responses.
const RECORDED_ACCOUNT: &str = "111111111111";

/// Secrets Manager operations the engine does not implement: their recorded responses are
/// counted as "not applicable" and the calls are skipped.
const NOT_IMPLEMENTED: &[&str] = &[
    "RotateSecret",
    "CancelRotateSecret",
    "PutResourcePolicy",
    "GetResourcePolicy",
    "DeleteResourcePolicy",
    "ValidateResourcePolicy",
    "ReplicateSecretToRegions",
    "RemoveRegionsFromReplication",
    "StopReplicationToReplica",
];

/// Recorder mis-mappings, corrected here: `(file prefix, step the recording attaches the
/// snapshot to, snapshot key, step whose response it is, that step's operation)`.
///
/// In these two sequences the recorder attached a snapshot to the wrong call: a `CreateSecret`
/// cannot answer with a `DeletionDate`, and a `DeleteSecret` cannot answer with a `VersionId`.
/// LocalStack's test source (`test_exp_raised_on_creation_of_secret_scheduled_for_deletion`,
/// `test_can_recreate_delete_secret`) snapshots `delete_res`/`delete_res_1` from the first
/// `delete_secret` call and `create_secret_res_1` from the second `create_secret` call.
const RECORDER_REMAPS: &[(&str, usize, &str, usize, &str)] = &[
    ("43_", 0, "delete_res", 1, "DeleteSecret"),
    ("44_", 0, "delete_res_1", 1, "DeleteSecret"),
    ("44_", 1, "create_secret_res_1", 3, "CreateSecret"),
];

/// A known, deliberate difference between the engine and the recording.
struct Allowed {
    /// Prefix of the sequence file name.
    file: &'static str,
    /// Step index in the sequence.
    step: usize,
    /// The recording's snapshot key.
    snapshot_key: &'static str,
    /// A substring of the reported difference.
    diff_contains: &'static str,
    /// Why this difference is accepted (printed with it).
    reason: &'static str,
}

/// Known deliberate differences between the engine and real AWS, each with its reason. A
/// difference that is an engine bug rather than a choice is marked `// ENGINE GAP:`. Every entry
/// must still match a reported difference, so a fixed gap fails the test until its entry goes.
///
/// Empty: on the 242 applicable recorded responses the engine matches AWS everywhere compared.
/// Not compared, by design (see the code): `KmsKeyIds` inside `ListSecretVersionIds` entries
/// (never in the recordings), the top-level `Message` that boto3 copies from `Error.Message`,
/// exact timestamps (`"datetime"` only says a date is present) and `HTTPHeaders`.
const ALLOWED: &[Allowed] = &[];

// ---------------------------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------------------------

/// What an engine call answered: an AWS-shaped JSON response, or the engine's error.
type Outcome = Result<Value, strongroom::Error>;

struct Replay {
    store: SecretStore,
    session: Session,
    /// Secret name -> the ARN this store returned when it created the secret (latest creation).
    arns: HashMap<String, String>,
    /// Version id in the recording's parameters (LocalStack's) -> the engine's version id.
    versions: HashMap<String, String>,
}

impl Replay {
    fn new(store: &SecretStore) -> Self {
        Self {
            store: store.clone(),
            session: store.as_system(),
            arns: HashMap::new(),
            versions: HashMap::new(),
        }
    }

    /// The session for a step: the store's default region unless the step names another.
    fn session_for(&self, region: Option<&str>) -> Session {
        match region {
            Some(r) if r != self.store.region().as_str() => self
                .store
                .session(RequestContext::system().with_region(Region::new(r).unwrap())),
            _ => self.session.clone(),
        }
    }

    /// A `SecretId` parameter: a recorded full ARN of a secret this store created is rewritten
    /// to the ARN the store returned for that name; names and partial ARNs are used as-is.
    fn secret_id(&self, p: &Map<String, Value>) -> strongroom::Result<SecretId> {
        let raw = req_str(p, "SecretId");
        let mut id = raw.to_owned();
        if let Some(rest) = raw.strip_prefix(ARN_PREFIX) {
            let b = rest.as_bytes();
            let full = b.len() > 7
                && b[b.len() - 7] == b'-'
                && b[b.len() - 6..].iter().all(u8::is_ascii_alphanumeric);
            if full && let Some(arn) = self.arns.get(&rest[..rest.len() - 7]) {
                id.clone_from(arn);
            }
        }
        SecretId::new(&id)
    }

    /// A version id parameter, rewritten from the recording run's id to the engine's.
    fn version(&self, raw: &str, field: Field) -> strongroom::Result<VersionId> {
        let id = self.versions.get(raw).map_or(raw, String::as_str);
        VersionId::for_field(id, field)
    }

    fn call(&mut self, op: &str, p: &Map<String, Value>, region: Option<&str>) -> Outcome {
        let s = self.session_for(region);
        match op {
            "CreateSecret" => {
                allow_keys(
                    op,
                    p,
                    &[
                        "Name",
                        "SecretString",
                        "SecretBinary",
                        "Description",
                        "KmsKeyId",
                        "Tags",
                        "ClientRequestToken",
                    ],
                );
                let mut input = CreateSecretInput::new(SecretName::new(req_str(p, "Name"))?);
                if let Some(v) = value_param(p)? {
                    input = input.value(v);
                }
                if let Some(d) = opt_str(p, "Description") {
                    input = input.description(Description::new(d)?);
                }
                if let Some(k) = opt_str(p, "KmsKeyId") {
                    input = input.kms_key_id(KmsKeyId::new(k)?);
                }
                for t in tags_param(p)? {
                    input = input.tag(t);
                }
                if let Some(t) = opt_str(p, "ClientRequestToken") {
                    input = input
                        .client_request_token(VersionId::for_field(t, Field::ClientRequestToken)?);
                }
                let out = s.create_secret(input)?;
                self.arns
                    .insert(out.name.as_str().to_owned(), out.arn.as_str().to_owned());
                let mut m = id_json(out.arn.as_str(), out.name.as_str());
                if let Some(v) = out.version_id {
                    m.insert("VersionId".into(), v.as_str().into());
                }
                Ok(Value::Object(m))
            }
            "PutSecretValue" => {
                allow_keys(
                    op,
                    p,
                    &[
                        "SecretId",
                        "SecretString",
                        "SecretBinary",
                        "ClientRequestToken",
                        "VersionStages",
                    ],
                );
                let id = self.secret_id(p)?;
                let value = value_param(p)?
                    .unwrap_or_else(|| panic!("PutSecretValue without a value is not replayable"));
                let mut input = PutSecretValueInput::new(id, value);
                if let Some(t) = opt_str(p, "ClientRequestToken") {
                    input = input
                        .client_request_token(VersionId::for_field(t, Field::ClientRequestToken)?);
                }
                if let Some(stages) = p.get("VersionStages") {
                    let labels = str_array(stages)
                        .into_iter()
                        .map(|l| StagingLabel::for_field(l, Field::VersionStagesMember))
                        .collect::<strongroom::Result<Vec<_>>>()?;
                    input = input.version_stages(labels);
                }
                let out = s.put_secret_value(input)?;
                let mut m = id_json(out.arn.as_str(), out.name.as_str());
                m.insert("VersionId".into(), out.version_id.as_str().into());
                m.insert("VersionStages".into(), labels_json(&out.version_stages));
                Ok(Value::Object(m))
            }
            "UpdateSecret" => {
                allow_keys(
                    op,
                    p,
                    &[
                        "SecretId",
                        "SecretString",
                        "SecretBinary",
                        "Description",
                        "KmsKeyId",
                        "ClientRequestToken",
                    ],
                );
                let mut input = UpdateSecretInput::new(self.secret_id(p)?);
                if let Some(v) = value_param(p)? {
                    input = input.value(v);
                }
                if let Some(d) = opt_str(p, "Description") {
                    input = input.description(Description::new(d)?);
                }
                if let Some(k) = opt_str(p, "KmsKeyId") {
                    input = input.kms_key_id(KmsKeyId::new(k)?);
                }
                if let Some(t) = opt_str(p, "ClientRequestToken") {
                    input = input
                        .client_request_token(VersionId::for_field(t, Field::ClientRequestToken)?);
                }
                let out = s.update_secret(input)?;
                let mut m = id_json(out.arn.as_str(), out.name.as_str());
                if let Some(v) = out.version_id {
                    m.insert("VersionId".into(), v.as_str().into());
                }
                Ok(Value::Object(m))
            }
            "GetSecretValue" => {
                allow_keys(op, p, &["SecretId", "VersionId", "VersionStage"]);
                let mut input = GetSecretValueInput::new(self.secret_id(p)?);
                if let Some(v) = opt_str(p, "VersionId") {
                    input = input.version_id(self.version(v, Field::VersionId)?);
                }
                if let Some(l) = opt_str(p, "VersionStage") {
                    input = input.version_stage(StagingLabel::for_field(l, Field::VersionStage)?);
                }
                let out = s.get_secret_value(input)?;
                let mut m = id_json(out.arn.as_str(), out.name.as_str());
                m.insert("VersionId".into(), out.version_id.as_str().into());
                m.insert("VersionStages".into(), labels_json(&out.version_stages));
                m.insert("CreatedDate".into(), date(out.created_date));
                match out.value.expose_str() {
                    Some(text) => m.insert("SecretString".into(), text.into()),
                    None => m.insert(
                        "SecretBinary".into(),
                        base64_encode(out.value.expose_bytes()).into(),
                    ),
                };
                Ok(Value::Object(m))
            }
            "DescribeSecret" => {
                allow_keys(op, p, &["SecretId"]);
                let out = s.describe_secret(&self.secret_id(p)?)?;
                Ok(Value::Object(describe_json(&out)))
            }
            "ListSecrets" => {
                assert!(p.is_empty(), "ListSecrets parameters are not mapped: {p:?}");
                let out = s.list_secrets(ListSecretsInput::default())?;
                let mut m = Map::new();
                let list = out
                    .secrets
                    .iter()
                    .map(|d| Value::Object(describe_json(d)))
                    .collect();
                m.insert("SecretList".into(), Value::Array(list));
                if let Some(t) = out.next_token {
                    m.insert("NextToken".into(), t.into());
                }
                Ok(Value::Object(m))
            }
            "ListSecretVersionIds" => {
                allow_keys(op, p, &["SecretId", "IncludeDeprecated", "MaxResults"]);
                let mut input = ListSecretVersionIdsInput::new(self.secret_id(p)?);
                input.include_deprecated = p.get("IncludeDeprecated").is_some_and(|v| {
                    v.as_bool()
                        .unwrap_or_else(|| panic!("IncludeDeprecated: {v}"))
                });
                input.max_results = p
                    .get("MaxResults")
                    .map(|v| u32::try_from(v.as_u64().unwrap()).unwrap());
                let out = s.list_secret_version_ids(input)?;
                let mut m = id_json(out.arn.as_str(), out.name.as_str());
                let versions = out
                    .versions
                    .iter()
                    .map(|v| {
                        let mut e = Map::new();
                        e.insert("VersionId".into(), v.version_id.as_str().into());
                        if let Some(l) = &v.version_stages {
                            e.insert("VersionStages".into(), labels_json(l));
                        }
                        e.insert("CreatedDate".into(), date(v.created_date));
                        if let Some(d) = v.last_accessed_date {
                            e.insert("LastAccessedDate".into(), date(d));
                        }
                        // `KmsKeyIds` is not mapped: the recordings never carry it. LocalStack's
                        // tests mark `$..Versions..KmsKeyIds` as skip-verified, so the recorded
                        // responses are no oracle for it (the AWS API reference lists it).
                        Value::Object(e)
                    })
                    .collect();
                m.insert("Versions".into(), Value::Array(versions));
                if let Some(t) = out.next_token {
                    m.insert("NextToken".into(), t.into());
                }
                Ok(Value::Object(m))
            }
            "UpdateSecretVersionStage" => {
                allow_keys(
                    op,
                    p,
                    &[
                        "SecretId",
                        "VersionStage",
                        "MoveToVersionId",
                        "RemoveFromVersionId",
                    ],
                );
                let id = self.secret_id(p)?;
                let stage =
                    StagingLabel::for_field(req_str(p, "VersionStage"), Field::VersionStage)?;
                let mut input = UpdateSecretVersionStageInput::new(id, stage);
                if let Some(v) = opt_str(p, "MoveToVersionId") {
                    input = input.move_to(self.version(v, Field::MoveToVersionId)?);
                }
                if let Some(v) = opt_str(p, "RemoveFromVersionId") {
                    input = input.remove_from(self.version(v, Field::RemoveFromVersionId)?);
                }
                let out = s.update_secret_version_stage(input)?;
                Ok(Value::Object(id_json(out.arn.as_str(), out.name.as_str())))
            }
            "DeleteSecret" => {
                allow_keys(
                    op,
                    p,
                    &[
                        "SecretId",
                        "RecoveryWindowInDays",
                        "ForceDeleteWithoutRecovery",
                    ],
                );
                let mut input = DeleteSecretInput::new(self.secret_id(p)?);
                if let Some(d) = p.get("RecoveryWindowInDays") {
                    input = input.recovery_window_in_days(d.as_i64().unwrap());
                }
                if p.get("ForceDeleteWithoutRecovery")
                    .is_some_and(|v| v.as_bool().unwrap())
                {
                    input = input.force();
                }
                let out = s.delete_secret(input)?;
                let mut m = id_json(&out.arn, &out.name);
                m.insert("DeletionDate".into(), date(out.deletion_date));
                Ok(Value::Object(m))
            }
            "RestoreSecret" => {
                allow_keys(op, p, &["SecretId"]);
                let out = s.restore_secret(&self.secret_id(p)?)?;
                Ok(Value::Object(id_json(out.arn.as_str(), out.name.as_str())))
            }
            "TagResource" => {
                allow_keys(op, p, &["SecretId", "Tags"]);
                let id = self.secret_id(p)?;
                let tags = tags_param(p)?;
                s.tag_resource(&id, &tags)?;
                Ok(json!({}))
            }
            "UntagResource" => {
                allow_keys(op, p, &["SecretId", "TagKeys"]);
                let id = self.secret_id(p)?;
                let keys = str_array(&p["TagKeys"])
                    .into_iter()
                    .map(TagKey::new)
                    .collect::<strongroom::Result<Vec<_>>>()?;
                s.untag_resource(&id, &keys)?;
                Ok(json!({}))
            }
            other => panic!("operation {other} is neither mapped nor listed as not implemented"),
        }
    }

    /// Learns which engine version id stands for the recording run's version id of a write
    /// (used to rewrite `VersionId`, `MoveToVersionId`, `RemoveFromVersionId` later on).
    fn learn(&mut self, op: &str, observed: &Value, outcome: &Outcome) {
        if !matches!(op, "CreateSecret" | "PutSecretValue" | "UpdateSecret") {
            return;
        }
        let recorded = observed
            .get("response")
            .and_then(|r| r.get("VersionId"))
            .and_then(Value::as_str);
        let ours = outcome
            .as_ref()
            .ok()
            .and_then(|v| v.get("VersionId"))
            .and_then(Value::as_str);
        if let (Some(r), Some(o)) = (recorded, ours) {
            self.versions.insert(r.to_owned(), o.to_owned());
        }
    }
}

fn id_json(arn: &str, name: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ARN".into(), arn.into());
    m.insert("Name".into(), name.into());
    m
}

fn date(_: SystemTime) -> Value {
    "datetime".into()
}

fn labels_json(labels: &[StagingLabel]) -> Value {
    labels.iter().map(|l| Value::from(l.as_str())).collect()
}

fn describe_json(d: &SecretDescription) -> Map<String, Value> {
    let mut m = id_json(d.arn.as_str(), d.name.as_str());
    if let Some(x) = &d.description {
        m.insert("Description".into(), x.as_str().into());
    }
    if let Some(x) = &d.kms_key_id {
        m.insert("KmsKeyId".into(), x.as_str().into());
    }
    m.insert("CreatedDate".into(), date(d.created_date));
    m.insert("LastChangedDate".into(), date(d.last_changed_date));
    if let Some(x) = d.last_accessed_date {
        m.insert("LastAccessedDate".into(), date(x));
    }
    if let Some(x) = d.deleted_date {
        m.insert("DeletedDate".into(), date(x));
    }
    if let Some(tags) = &d.tags {
        let list = tags
            .iter()
            .map(|t| json!({"Key": t.key().as_str(), "Value": t.value()}))
            .collect();
        m.insert("Tags".into(), Value::Array(list));
    }
    if let Some(map) = &d.version_ids_to_stages {
        let obj = map
            .iter()
            .map(|(v, l)| (v.as_str().to_owned(), labels_json(l)))
            .collect();
        m.insert("VersionIdsToStages".into(), Value::Object(obj));
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

/// Fails loudly on a parameter this replay does not map, so nothing is silently dropped.
fn allow_keys(op: &str, p: &Map<String, Value>, known: &[&str]) {
    for k in p.keys() {
        assert!(
            known.contains(&k.as_str()),
            "{op}: parameter {k} is not mapped to the engine"
        );
    }
}

fn req_str<'a>(p: &'a Map<String, Value>, k: &str) -> &'a str {
    p.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("parameter {k} missing or not a string in {p:?}"))
}

fn opt_str<'a>(p: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    p.get(k).map(|v| {
        v.as_str()
            .unwrap_or_else(|| panic!("{k} is not a string: {v}"))
    })
}

fn str_array(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap_or_else(|| panic!("not a string: {x}")))
        .collect()
}

/// `SecretString` or `SecretBinary`. boto3 takes bytes or a string for `SecretBinary`: the
/// recording stores bytes as `{"__bytes_b64__": ...}` and a string as itself (sent as UTF-8).
fn value_param(p: &Map<String, Value>) -> strongroom::Result<Option<SecretValue>> {
    match (p.get("SecretString"), p.get("SecretBinary")) {
        (Some(_), Some(_)) => panic!("both SecretString and SecretBinary: not replayable"),
        (Some(s), None) => Ok(Some(SecretValue::string(s.as_str().unwrap())?)),
        (None, Some(Value::String(s))) => Ok(Some(SecretValue::binary(s.as_bytes().to_vec())?)),
        (None, Some(Value::Object(o))) => {
            let b64 = o
                .get("__bytes_b64__")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("unknown SecretBinary encoding: {o:?}"));
            Ok(Some(SecretValue::binary(base64_decode(b64))?))
        }
        (None, Some(other)) => panic!("unknown SecretBinary encoding: {other}"),
        (None, None) => Ok(None),
    }
}

fn tags_param(p: &Map<String, Value>) -> strongroom::Result<Vec<Tag>> {
    let Some(tags) = p.get("Tags") else {
        return Ok(Vec::new());
    };
    tags.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            Tag::new(
                t["Key"].as_str().unwrap(),
                t.get("Value").and_then(Value::as_str).unwrap_or_default(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Base64 and Python `bytes` reprs (the two ways the recording shows `SecretBinary`)
// ---------------------------------------------------------------------------------------------

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = B64
            .iter()
            .position(|x| *x == c)
            .unwrap_or_else(|| panic!("not base64: {text}"));
        acc = (acc << 6) | u32::try_from(v).unwrap();
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

/// Parses a Python `bytes` repr such as `b'\x00ab\''`; `None` if `text` is not one.
fn python_bytes(text: &str) -> Option<Vec<u8>> {
    let inner = text
        .strip_prefix("b'")
        .and_then(|t| t.strip_suffix('\''))
        .or_else(|| text.strip_prefix("b\"").and_then(|t| t.strip_suffix('"')))?;
    let mut out = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            assert!(c.is_ascii(), "non-ASCII character in a bytes repr: {text}");
            out.push(u8::try_from(c).unwrap());
            continue;
        }
        match chars.next()? {
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            '\\' => out.push(b'\\'),
            '\'' => out.push(b'\''),
            '"' => out.push(b'"'),
            other => panic!("unknown escape \\{other} in {text}"),
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Expected responses
// ---------------------------------------------------------------------------------------------

/// Brings a recorded `expected_aws` into the shape the comparison uses: an error recorded as
/// boto3's exception text becomes `{"Error": {...}}`, the normalised account id becomes the
/// store's, and `SecretBinary` (a Python bytes repr or base64) becomes base64.
fn normalise_expected(raw: &Value) -> Value {
    let mut v = match raw {
        Value::String(text) => {
            // "An error occurred (Code) when calling the Op operation: Message"
            let rest = text
                .strip_prefix("An error occurred (")
                .unwrap_or_else(|| panic!("unrecognised expected_aws text: {text}"));
            let (code, rest) = rest.split_once(')').unwrap();
            let (_, message) = rest.split_once(" operation: ").unwrap();
            json!({
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            })
        }
        other => other.clone(),
    };
    replace_account(&mut v);
    if let Some(Value::String(bin)) = v.get_mut("SecretBinary") {
        let bytes = python_bytes(bin).unwrap_or_else(|| base64_decode(bin));
        *bin = base64_encode(&bytes);
    }
    v
}

fn replace_account(v: &mut Value) {
    match v {
        Value::String(s) => *s = s.replace(RECORDED_ACCOUNT, ACCOUNT),
        Value::Array(a) => a.iter_mut().for_each(replace_account),
        Value::Object(o) => o.values_mut().for_each(replace_account),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Placeholder bindings and comparison
// ---------------------------------------------------------------------------------------------

/// Placeholder -> value, for one sequence. Distinct placeholders must stand for distinct values.
#[derive(Clone, Debug)]
struct Bindings(BTreeMap<String, String>);

impl Bindings {
    fn new() -> Self {
        let mut m = BTreeMap::new();
        m.insert("<partition>".to_owned(), "aws".to_owned());
        m.insert("<region>".to_owned(), "us-east-1".to_owned());
        Self(m)
    }

    fn taken(&self, value: &str) -> bool {
        self.0.values().any(|v| v == value)
    }
}

enum Seg {
    Lit(String),
    Ph(String),
}

/// Splits a recorded string into literal text and `<placeholder>`s.
fn segments(template: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>');
        let is_ph = end.is_some_and(|e| {
            e > 0
                && after[..e]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-:.".contains(c))
        });
        if let (true, Some(e)) = (is_ph, end) {
            lit.push_str(&rest[..start]);
            if !lit.is_empty() {
                out.push(Seg::Lit(std::mem::take(&mut lit)));
            }
            out.push(Seg::Ph(rest[start..start + e + 2].to_owned()));
            rest = &after[e + 1..];
        } else {
            lit.push_str(&rest[..=start]);
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Seg::Lit(lit));
    }
    out
}

/// Whether `value` can stand for placeholder `ph` at all.
fn placeholder_accepts(ph: &str, value: &str) -> bool {
    if ph.starts_with("<ArnPart-") {
        // `-` and the 6-character random suffix of the ARN.
        let b = value.as_bytes();
        return b.len() == 7 && b[0] == b'-' && b[1..].iter().all(u8::is_ascii_alphanumeric);
    }
    !value.is_empty()
}

fn match_segs(segs: &[Seg], s: &str, b: &mut Bindings) -> bool {
    let Some((first, rest)) = segs.split_first() else {
        return s.is_empty();
    };
    match first {
        Seg::Lit(l) => s
            .strip_prefix(l.as_str())
            .is_some_and(|r| match_segs(rest, r, b)),
        Seg::Ph(ph) => {
            if let Some(v) = b.0.get(ph).cloned() {
                return s
                    .strip_prefix(v.as_str())
                    .is_some_and(|r| match_segs(rest, r, b));
            }
            for (end, _) in s.char_indices().skip(1).chain([(s.len(), ' ')]) {
                let (v, r) = s.split_at(end);
                if !placeholder_accepts(ph, v) || b.taken(v) {
                    continue;
                }
                let mut nb = b.clone();
                nb.0.insert(ph.clone(), v.to_owned());
                if match_segs(rest, r, &mut nb) {
                    *b = nb;
                    return true;
                }
            }
            false
        }
    }
}

/// Matches a recorded string (with placeholders) against the engine's; binds on success only.
fn match_str(template: &str, actual: &str, b: &mut Bindings) -> bool {
    match_segs(&segments(template), actual, b)
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// Compares a recorded value with the engine's. Lists are compared as multisets (the recorder
/// sorted them), `VersionIdsToStages` as a set of (version, labels) pairs; objects must have the
/// same keys. Bindings change only on success.
fn match_value(path: &str, exp: &Value, act: &Value, b: &mut Bindings) -> Result<(), String> {
    let mut nb = b.clone();
    let r = match_inner(path, exp, act, &mut nb);
    if r.is_ok() {
        *b = nb;
    }
    r
}

fn match_inner(path: &str, exp: &Value, act: &Value, b: &mut Bindings) -> Result<(), String> {
    match (exp, act) {
        (Value::String(e), Value::String(a)) => {
            if match_str(e, a, b) {
                Ok(())
            } else {
                Err(format!("{path}: AWS {e:?}, engine {a:?}"))
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() == a.len() && match_unordered(path, e, a, &mut vec![false; a.len()], b) {
                Ok(())
            } else {
                Err(format!(
                    "{path}: AWS {} , engine {} (compared as sets)",
                    compact(exp),
                    compact(act)
                ))
            }
        }
        (Value::Object(e), Value::Object(a)) if path.ends_with("VersionIdsToStages") => {
            let pairs = |o: &Map<String, Value>| -> Vec<Value> {
                o.iter().map(|(k, v)| json!([k, v])).collect()
            };
            let (pe, pa) = (pairs(e), pairs(a));
            if pe.len() == pa.len()
                && match_unordered(path, &pe, &pa, &mut vec![false; pa.len()], b)
            {
                Ok(())
            } else {
                Err(format!(
                    "{path}: AWS {}, engine {}",
                    compact(exp),
                    compact(act)
                ))
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            let mut missing: Vec<&str> = e
                .keys()
                .filter(|k| !a.contains_key(*k))
                .map(String::as_str)
                .collect();
            let extra: Vec<&str> = a
                .keys()
                .filter(|k| !e.contains_key(*k))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() || !extra.is_empty() {
                missing.sort_unstable();
                return Err(format!(
                    "{path}: fields only in AWS {missing:?}, only in engine {extra:?} (AWS {}, engine {})",
                    compact(exp),
                    compact(act)
                ));
            }
            for (k, ev) in e {
                match_inner(&format!("{path}.{k}"), ev, &a[k], b)?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: AWS {}, engine {}", compact(e), compact(a))),
    }
}

/// Finds an assignment of `act` elements to `exp` elements under which all match.
fn match_unordered(
    path: &str,
    exp: &[Value],
    act: &[Value],
    used: &mut Vec<bool>,
    b: &mut Bindings,
) -> bool {
    let Some((first, rest)) = exp.split_first() else {
        return true;
    };
    for j in 0..act.len() {
        if used[j] {
            continue;
        }
        let mut nb = b.clone();
        if match_inner(path, first, &act[j], &mut nb).is_ok() {
            used[j] = true;
            if match_unordered(path, rest, act, used, &mut nb) {
                *b = nb;
                return true;
            }
            used[j] = false;
        }
    }
    false
}

/// Every difference between one recorded response and the engine's outcome.
fn compare(expected: &Value, outcome: &Outcome, b: &mut Bindings) -> Vec<String> {
    let mut diffs = Vec::new();
    let exp = expected.as_object().expect("expected_aws is an object");
    let exp_status = exp
        .get("ResponseMetadata")
        .and_then(|m| m.get("HTTPStatusCode"))
        .and_then(Value::as_u64)
        .unwrap_or(if exp.contains_key("Error") { 400 } else { 200 });
    let our_status = match outcome {
        Ok(_) => 200,
        Err(e) if e.kind().is_fault() => 500,
        Err(_) => 400,
    };
    if exp_status != our_status {
        diffs.push(format!(
            "HTTP status: AWS {exp_status}, engine {our_status}"
        ));
    }
    match (exp.get("Error"), outcome) {
        (Some(err), Err(e)) => {
            let code = err["Code"].as_str().unwrap();
            if code != e.aws_code() {
                diffs.push(format!("error code: AWS {code}, engine {}", e.aws_code()));
            }
            let message = err["Message"].as_str().unwrap();
            let ours = e.to_string();
            if !match_str(message, &ours, b) {
                diffs.push(format!("error message: AWS {message:?}, engine {ours:?}"));
            }
        }
        (Some(err), Ok(v)) => diffs.push(format!(
            "outcome: AWS failed with {} {:?}, engine succeeded with {}",
            err["Code"].as_str().unwrap(),
            err["Message"].as_str().unwrap(),
            compact(v)
        )),
        (None, Err(e)) => diffs.push(format!(
            "outcome: AWS succeeded, engine failed with {} {:?}",
            e.aws_code(),
            e.to_string()
        )),
        (None, Ok(v)) => {
            let act = v.as_object().unwrap();
            let keys = |o: &Map<String, Value>| -> Vec<String> {
                o.keys()
                    .filter(|k| *k != "ResponseMetadata")
                    .cloned()
                    .collect()
            };
            for k in keys(exp) {
                if !act.contains_key(&k) {
                    diffs.push(format!("field {k}: present in AWS, absent in engine"));
                }
            }
            for k in keys(act) {
                if !exp.contains_key(&k) {
                    diffs.push(format!(
                        "field {k}: absent in AWS, present in engine ({})",
                        compact(&act[&k])
                    ));
                }
            }
            // ARN first: it binds the name and suffix placeholders unambiguously.
            let mut common: Vec<String> = keys(exp)
                .into_iter()
                .filter(|k| act.contains_key(k))
                .collect();
            common.sort_by_key(|k| (k != "ARN", k.clone()));
            for k in common {
                if let Err(d) = match_value(&k, &exp[&k], &act[&k], b) {
                    diffs.push(format!("value {d}"));
                }
            }
        }
    }
    diffs
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

struct Mismatch {
    file: String,
    step: usize,
    op: String,
    snapshot_key: String,
    diff: String,
}

#[derive(Default)]
struct Tally {
    applicable: usize,
    matched: usize,
    not_applicable: usize,
    mismatches: Vec<Mismatch>,
    skipped_sequences: Vec<String>,
}

fn open_store(dir: &Path) -> SecretStore {
    let clock = Arc::new(ManualClock::at_unix_seconds(common::START_SECS));
    // Region us-east-1 and account 000000000000: the builder's defaults.
    let store = SecretStore::builder(dir.join("data"), Arc::new(InsecureTestKeyProvider::new(7)))
        .clock(clock)
        .open()
        .unwrap();
    assert_eq!(store.account_id().as_str(), ACCOUNT);
    assert_eq!(store.region().as_str(), "us-east-1");
    store
}

fn replay_sequence(file: &str, seq: &Value, tally: &mut Tally) {
    let steps = seq["steps"].as_array().expect("steps");
    // The recorded responses of each step, after correcting the recorder's mis-mappings.
    let mut expected: Vec<Vec<(String, Value)>> = vec![Vec::new(); steps.len()];
    for (i, step) in steps.iter().enumerate() {
        for e in step
            .get("expected")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let key = e["snapshot_key"].as_str().unwrap().to_owned();
            let target = RECORDER_REMAPS
                .iter()
                .find(|r| file.starts_with(r.0) && r.1 == i && r.2 == key)
                .map_or(i, |r| {
                    let op = steps[r.3]["operation"].as_str().unwrap();
                    assert_eq!(op, format!("secretsmanager.{}", r.4), "{file}: remap {r:?}");
                    r.3
                });
            expected[target].push((key, normalise_expected(&e["expected_aws"])));
        }
    }
    let op_of = |i: usize| {
        let full = steps[i]["operation"].as_str().unwrap();
        full.strip_prefix("secretsmanager.").map(str::to_owned)
    };
    let is_na = |i: usize| op_of(i).is_some_and(|op| NOT_IMPLEMENTED.contains(&op.as_str()));
    let total: usize = expected.iter().map(Vec::len).sum();
    let na: usize = (0..steps.len())
        .filter(|i| is_na(*i))
        .map(|i| expected[i].len())
        .sum();
    tally.not_applicable += na;
    if total > 0 && na == total {
        let ops: Vec<String> = (0..steps.len())
            .filter(|i| is_na(*i) && !expected[*i].is_empty())
            .filter_map(op_of)
            .collect();
        tally.skipped_sequences.push(format!(
            "{file}: every recorded response is of an operation the engine does not implement ({})",
            ops.join(", ")
        ));
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut replay = Replay::new(&store);
    let mut binds = Bindings::new();
    for (i, step) in steps.iter().enumerate() {
        let Some(op) = op_of(i) else {
            // Not a Secrets Manager call (sts.GetCallerIdentity): nothing to replay.
            assert!(
                expected[i].is_empty(),
                "{file} step {i}: unexpected recording"
            );
            continue;
        };
        if is_na(i) {
            continue;
        }
        let params = step["params"].as_object().expect("params");
        let region = step.get("region").and_then(Value::as_str);
        let outcome = replay.call(&op, params, region);
        replay.learn(&op, &step["observed_localstack"], &outcome);
        for (key, exp) in &expected[i] {
            tally.applicable += 1;
            let diffs = compare(exp, &outcome, &mut binds);
            if diffs.is_empty() {
                tally.matched += 1;
            }
            for diff in diffs {
                tally.mismatches.push(Mismatch {
                    file: file.to_owned(),
                    step: i,
                    op: op.clone(),
                    snapshot_key: key.clone(),
                    diff,
                });
            }
        }
    }
}

#[test]
fn aws_recorded_sequences_replay_against_the_engine() {
    let dir = Path::new(RECORDINGS);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no recorded sequences in {RECORDINGS}");

    let mut tally = Tally::default();
    let mut recorded = 0;
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let seq: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        recorded += seq["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s.get("expected")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            })
            .sum::<usize>();
        replay_sequence(&file, &seq, &mut tally);
    }
    assert_eq!(
        (files.len(), recorded),
        (RECORDED_SEQUENCES, RECORDED_RESPONSES),
        "the fixtures hold every recorded sequence and response (their README)"
    );
    assert_eq!(
        recorded,
        tally.applicable + tally.not_applicable,
        "every recorded response is either compared or counted as not applicable"
    );

    let mut report = String::new();
    writeln!(
        report,
        "aws-recorded replay: {} of {} applicable recorded responses match ({} not applicable)",
        tally.matched, tally.applicable, tally.not_applicable
    )
    .unwrap();
    for s in &tally.skipped_sequences {
        writeln!(report, "skipped sequence {s}").unwrap();
    }
    let mut used = vec![false; ALLOWED.len()];
    let mut unexplained = 0;
    for m in &tally.mismatches {
        let allowed = ALLOWED.iter().position(|a| {
            m.file.starts_with(a.file)
                && m.step == a.step
                && m.snapshot_key == a.snapshot_key
                && m.diff.contains(a.diff_contains)
        });
        let tag = match allowed {
            Some(i) => {
                used[i] = true;
                format!("allowed mismatch ({})", ALLOWED[i].reason)
            }
            None => {
                unexplained += 1;
                "MISMATCH".to_owned()
            }
        };
        writeln!(
            report,
            "{tag}: {} step {} ({}, {}): {}",
            m.file, m.step, m.op, m.snapshot_key, m.diff
        )
        .unwrap();
    }
    println!("{report}");
    let stale: Vec<String> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(a, _)| {
            format!(
                "{} step {} {} {:?}",
                a.file, a.step, a.snapshot_key, a.diff_contains
            )
        })
        .collect();
    assert!(
        stale.is_empty(),
        "allow-list entries that no longer match any difference (remove them): {stale:#?}\n{report}"
    );
    assert_eq!(
        unexplained, 0,
        "differences from real AWS that are not in the allow-list:\n{report}"
    );
}

/// The comparison itself: placeholders bind once and stay bound, distinct placeholders need
/// distinct values, field presence and list contents are checked, binary reprs decode.
#[test]
fn the_comparison_is_strict() {
    let mut b = Bindings::new();
    let arn =
        "arn:<partition>:secretsmanager:<region>:000000000000:secret:<SecretId-0idx><ArnPart-0idx>";
    let ours = "arn:aws:secretsmanager:us-east-1:000000000000:secret:my-name-a1B2c3";
    assert!(match_str(arn, ours, &mut b));
    assert_eq!(b.0["<SecretId-0idx>"], "my-name");
    assert_eq!(b.0["<ArnPart-0idx>"], "-a1B2c3");
    assert!(!match_str("<SecretId-0idx>", "other", &mut b));
    assert!(!match_str(
        arn,
        "arn:aws:secretsmanager:eu-west-1:000000000000:secret:my-name-a1B2c3",
        &mut b
    ));
    // A second placeholder cannot stand for a value another one already stands for.
    assert!(!match_str("<SecretId-1idx>", "my-name", &mut b));
    assert!(match_str("<version_uuid:1>", "v1", &mut b));
    assert!(!match_str("<version_uuid:2>", "v1", &mut b));

    let expected = normalise_expected(&json!({
        "ARN": arn.replace("000000000000", RECORDED_ACCOUNT),
        "Name": "<SecretId-0idx>",
        "VersionStages": ["B", "A"],
        "SecretBinary": "b'\\x00a\\''",
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }));
    let good = json!({
        "ARN": ours, "Name": "my-name", "VersionStages": ["A", "B"],
        "SecretBinary": base64_encode(b"\x00a'"),
    });
    assert!(compare(&expected, &Ok(good.clone()), &mut b.clone()).is_empty());
    let mut extra = good.clone();
    extra["VersionId"] = json!("x");
    assert_eq!(compare(&expected, &Ok(extra), &mut b.clone()).len(), 1);
    let mut wrong = good;
    wrong["VersionStages"] = json!(["A", "C"]);
    assert_eq!(compare(&expected, &Ok(wrong), &mut b.clone()).len(), 1);
    let err = normalise_expected(&json!(
        "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: \
         Secrets Manager can't find the specified secret."
    ));
    let not_found = SecretId::new("arn:aws:s3:::bucket").map(|_| json!({}));
    assert!(compare(&err, &not_found, &mut b.clone()).is_empty());
    assert_eq!(compare(&err, &Ok(json!({})), &mut b.clone()).len(), 2);

    assert_eq!(
        base64_decode(&base64_encode(b"\x00\x01\x02\xff")),
        b"\x00\x01\x02\xff"
    );
    assert_eq!(base64_encode(b"footest"), "Zm9vdGVzdA==");
    assert_eq!(python_bytes("b'\\xfe\\xfd'").unwrap(), b"\xfe\xfd");
}
