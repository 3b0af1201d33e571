//! Model-based property test: random sequences of operations, with reopening of the store,
//! run against a simple in-memory model of the AWS rules. After every step the store agrees
//! with the model, and the invariants hold: a label is on at most one version, a secret with
//! versions has exactly one AWSCURRENT, every label points at an existing version, and every
//! stored version decrypts to the value that was written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use strongroom::{
    CreateSecretInput, DeleteSecretInput, Description, ErrorKind, GetSecretValueInput,
    ListSecretVersionIdsInput, PutSecretValueInput, StagingLabel, Tag, TagKey, UpdateSecretInput,
    UpdateSecretVersionStageInput,
};

const NAMES: [&str; 3] = ["a", "b", "c/d"];
const LABELS: [&str; 5] = ["AWSCURRENT", "AWSPREVIOUS", "AWSPENDING", "X", "Y"];
const TOKENS: usize = 6;
const TAG_KEYS: [&str; 3] = ["env", "team", "tier"];
const DAY_MS: u64 = 86_400_000;

fn tok(i: usize) -> String {
    token(&format!("t{i}")).as_str().to_owned()
}

fn val(v: u8) -> String {
    format!("value-{}", v % 4)
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        n: usize,
        value: Option<u8>,
        tok: usize,
    },
    Put {
        n: usize,
        value: u8,
        tok: usize,
        stages: Option<Vec<usize>>,
    },
    Update {
        n: usize,
        value: Option<u8>,
        tok: usize,
        desc: Option<u8>,
    },
    Move {
        n: usize,
        label: usize,
        to: Option<usize>,
        from: Option<usize>,
    },
    Delete {
        n: usize,
        window: Option<i64>,
        force: bool,
    },
    Restore {
        n: usize,
    },
    Tag {
        n: usize,
        key: usize,
        value: u8,
    },
    Untag {
        n: usize,
        key: usize,
    },
    Advance {
        days: u64,
    },
    Purge,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    let t = 0..TOKENS;
    prop_oneof![
        3 => (n.clone(), proptest::option::of(any::<u8>()), t.clone()).prop_map(|(n, value, tok)| Op::Create { n, value, tok }),
        6 => (n.clone(), any::<u8>(), t.clone(), proptest::option::of(proptest::collection::vec(0..LABELS.len(), 1..3)))
            .prop_map(|(n, value, tok, stages)| Op::Put { n, value, tok, stages }),
        2 => (n.clone(), proptest::option::of(any::<u8>()), t.clone(), proptest::option::of(any::<u8>()))
            .prop_map(|(n, value, tok, desc)| Op::Update { n, value, tok, desc }),
        // `from` == TOKENS stands for "the version that holds the label now", so that most moves are valid.
        6 => (n.clone(), 0..LABELS.len(), proptest::option::of(t.clone()), proptest::option::of(0..=TOKENS))
            .prop_map(|(n, label, to, from)| Op::Move { n, label, to, from }),
        2 => (n.clone(), proptest::option::of(prop_oneof![Just(6i64), Just(7), Just(30), Just(31)]), any::<bool>())
            .prop_map(|(n, window, force)| Op::Delete { n, window, force }),
        1 => n.clone().prop_map(|n| Op::Restore { n }),
        1 => (n.clone(), 0..TAG_KEYS.len(), any::<u8>()).prop_map(|(n, key, value)| Op::Tag { n, key, value }),
        1 => (n.clone(), 0..TAG_KEYS.len()).prop_map(|(n, key)| Op::Untag { n, key }),
        1 => (1u64..40).prop_map(|days| Op::Advance { days }),
        1 => Just(Op::Purge),
        2 => Just(Op::Reopen),
    ]
}

#[derive(Clone, Debug, Default)]
struct MSecret {
    versions: BTreeMap<String, (String, BTreeSet<String>)>,
    deletion: Option<u64>,
    tags: Option<Vec<(String, String)>>,
    desc: Option<String>,
}

impl MSecret {
    fn holder(&self, label: &str) -> Option<String> {
        self.versions
            .iter()
            .find(|(_, (_, l))| l.contains(label))
            .map(|(v, _)| v.clone())
    }

    fn remove_label(&mut self, label: &str) {
        for (_, l) in self.versions.values_mut() {
            l.remove(label);
        }
    }

    /// WRITE-4 to WRITE-8, written independently of the engine.
    fn add_version(&mut self, id: &str, value: &str, stages: &BTreeSet<String>) {
        let mut stages = stages.clone();
        let prev = self.holder("AWSCURRENT");
        if prev.is_none() {
            stages.insert("AWSCURRENT".into());
        }
        for l in &stages {
            self.remove_label(l);
        }
        self.versions
            .insert(id.to_owned(), (value.to_owned(), stages.clone()));
        if let Some(p) = prev.filter(|_| stages.contains("AWSCURRENT")) {
            self.remove_label("AWSPREVIOUS");
            let l = &mut self.versions.get_mut(&p).unwrap().1;
            l.insert("AWSPREVIOUS".into());
            l.remove("AWSPENDING");
        }
    }
}

#[derive(Debug, Default)]
struct Model {
    now_ms: u64,
    secrets: BTreeMap<String, MSecret>,
}

type Outcome = Result<(), ErrorKind>;

impl Model {
    /// The secret as callers see it: one whose recovery window ended is gone.
    fn visible(&mut self, n: &str) -> Option<&mut MSecret> {
        let now = self.now_ms;
        if self
            .secrets
            .get(n)
            .is_some_and(|s| s.deletion.is_some_and(|d| d <= now))
        {
            self.secrets.remove(n);
        }
        self.secrets.get_mut(n)
    }

    fn live(&mut self, n: &str) -> Result<&mut MSecret, ErrorKind> {
        match self.visible(n) {
            None => Err(ErrorKind::ResourceNotFound),
            Some(s) if s.deletion.is_some() => Err(ErrorKind::InvalidRequest),
            Some(s) => Ok(s),
        }
    }

    /// Replaces the symbolic "current holder" of a move by the holder's token, as the model sees it.
    fn resolve(&mut self, op: &Op) -> Op {
        match op {
            Op::Move {
                n,
                label,
                to,
                from: Some(f),
            } if *f == TOKENS => {
                let holder = self
                    .visible(NAMES[*n])
                    .and_then(|s| s.holder(LABELS[*label]));
                let from = holder.and_then(|h| (0..TOKENS).find(|i| tok(*i) == h));
                Op::Move {
                    n: *n,
                    label: *label,
                    to: *to,
                    from,
                }
            }
            other => other.clone(),
        }
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        match op {
            Op::Create { n, value, tok: t } => {
                let (n, t) = (NAMES[*n], tok(*t));
                if let Some(s) = self.visible(n) {
                    if s.deletion.is_some() {
                        return Err(ErrorKind::InvalidRequest);
                    }
                    if let (Some(v), Some((stored, _))) = (value, s.versions.get(&t)) {
                        return if *stored == val(*v) {
                            Ok(())
                        } else {
                            Err(ErrorKind::ResourceExists)
                        };
                    }
                    return Err(ErrorKind::ResourceExists);
                }
                let mut s = MSecret::default();
                if let Some(v) = value {
                    s.add_version(&t, &val(*v), &BTreeSet::from(["AWSCURRENT".into()]));
                }
                self.secrets.insert(n.to_owned(), s);
                Ok(())
            }
            Op::Put {
                n,
                value,
                tok: t,
                stages,
            } => {
                let t = tok(*t);
                let s = self.live(NAMES[*n])?;
                if let Some((stored, _)) = s.versions.get(&t) {
                    return if *stored == val(*value) {
                        Ok(())
                    } else {
                        Err(ErrorKind::ResourceExists)
                    };
                }
                let stages: BTreeSet<String> = match stages {
                    Some(st) => st.iter().map(|i| LABELS[*i].to_owned()).collect(),
                    None => BTreeSet::from(["AWSCURRENT".into()]),
                };
                s.add_version(&t, &val(*value), &stages);
                Ok(())
            }
            Op::Update {
                n,
                value,
                tok: t,
                desc,
            } => {
                let t = tok(*t);
                let s = self.live(NAMES[*n])?;
                if let Some(v) = value {
                    match s.versions.get(&t) {
                        Some((stored, _)) if *stored != val(*v) => {
                            return Err(ErrorKind::ResourceExists);
                        }
                        Some(_) => {}
                        None => s.add_version(&t, &val(*v), &BTreeSet::from(["AWSCURRENT".into()])),
                    }
                }
                if let Some(d) = desc {
                    s.desc = Some(format!("description {d}"));
                }
                Ok(())
            }
            Op::Move { n, label, to, from } => {
                let label = LABELS[*label];
                let (to, from) = (to.map(tok), from.map(tok));
                let s = self.live(NAMES[*n])?;
                for v in to.iter().chain(from.iter()) {
                    if !s.versions.contains_key(v) {
                        return Err(ErrorKind::InvalidParameter);
                    }
                }
                let holder = s.holder(label);
                if from.is_some() && holder != from {
                    return Err(ErrorKind::InvalidParameter);
                }
                let Some(to) = to else {
                    if from.is_none() || label == "AWSCURRENT" {
                        return Err(ErrorKind::InvalidParameter);
                    }
                    s.remove_label(label);
                    return Ok(());
                };
                if holder.as_ref().is_some_and(|h| *h != to) && from.is_none() {
                    return Err(ErrorKind::InvalidParameter);
                }
                if holder.as_deref() == Some(to.as_str()) {
                    return Ok(());
                }
                s.remove_label(label);
                s.versions.get_mut(&to).unwrap().1.insert(label.to_owned());
                if label == "AWSCURRENT"
                    && let Some(h) = holder
                {
                    s.remove_label("AWSPREVIOUS");
                    s.versions
                        .get_mut(&h)
                        .unwrap()
                        .1
                        .insert("AWSPREVIOUS".into());
                }
                Ok(())
            }
            Op::Delete { n, window, force } => {
                if *force && window.is_some() {
                    return Err(ErrorKind::InvalidParameter);
                }
                let days = window.unwrap_or(30);
                if !(7..=30).contains(&days) {
                    return Err(ErrorKind::InvalidParameter);
                }
                let now = self.now_ms;
                let n = NAMES[*n];
                match self.visible(n) {
                    None if *force => Ok(()),
                    None => Err(ErrorKind::ResourceNotFound),
                    Some(_) if *force => {
                        self.secrets.remove(n);
                        Ok(())
                    }
                    Some(s) if s.deletion.is_some() => Err(ErrorKind::InvalidRequest),
                    Some(s) => {
                        s.deletion = Some(now + days as u64 * DAY_MS);
                        Ok(())
                    }
                }
            }
            Op::Restore { n } => {
                let s = self.visible(NAMES[*n]).ok_or(ErrorKind::ResourceNotFound)?;
                s.deletion = None;
                Ok(())
            }
            Op::Tag { n, key, value } => {
                let s = self.live(NAMES[*n])?;
                let tags = s.tags.get_or_insert_with(Vec::new);
                let (k, v) = (TAG_KEYS[*key].to_owned(), format!("v{value}"));
                match tags.iter_mut().find(|(tk, _)| *tk == k) {
                    Some((_, tv)) => *tv = v,
                    None => tags.push((k, v)),
                }
                Ok(())
            }
            Op::Untag { n, key } => {
                let s = self.live(NAMES[*n])?;
                if let Some(tags) = &mut s.tags {
                    tags.retain(|(k, _)| k != TAG_KEYS[*key]);
                }
                Ok(())
            }
            Op::Advance { days } => {
                self.now_ms += days * DAY_MS;
                Ok(())
            }
            Op::Purge | Op::Reopen => Ok(()),
        }
    }
}

fn run(t: &mut TestStore, op: &Op) -> Outcome {
    if let Op::Reopen = op {
        // No session may outlive the store being reopened: it would keep the folder locked.
        t.reopen();
        return Ok(());
    }
    let s = t.s();
    let r: strongroom::Result<()> = match op {
        Op::Create { n, value, tok: tk } => {
            let mut input = CreateSecretInput::new(name(NAMES[*n]))
                .client_request_token(strongroom::VersionId::new(tok(*tk)).unwrap());
            if let Some(v) = value {
                input = input.value(text(&val(*v)));
            }
            s.create_secret(input).map(drop)
        }
        Op::Put {
            n,
            value,
            tok: tk,
            stages,
        } => {
            let mut input = PutSecretValueInput::new(id(NAMES[*n]), text(&val(*value)))
                .client_request_token(strongroom::VersionId::new(tok(*tk)).unwrap());
            if let Some(st) = stages {
                input =
                    input.version_stages(st.iter().map(|i| StagingLabel::new(LABELS[*i]).unwrap()));
            }
            s.put_secret_value(input).map(drop)
        }
        Op::Update {
            n,
            value,
            tok: tk,
            desc,
        } => {
            let mut input = UpdateSecretInput::new(id(NAMES[*n]))
                .client_request_token(strongroom::VersionId::new(tok(*tk)).unwrap());
            if let Some(v) = value {
                input = input.value(text(&val(*v)));
            }
            if let Some(d) = desc {
                input = input.description(Description::new(format!("description {d}")).unwrap());
            }
            s.update_secret(input).map(drop)
        }
        Op::Move { n, label, to, from } => {
            let mut input = UpdateSecretVersionStageInput::new(
                id(NAMES[*n]),
                StagingLabel::new(LABELS[*label]).unwrap(),
            );
            if let Some(to) = to {
                input = input.move_to(strongroom::VersionId::new(tok(*to)).unwrap());
            }
            if let Some(from) = from {
                input = input.remove_from(strongroom::VersionId::new(tok(*from)).unwrap());
            }
            s.update_secret_version_stage(input).map(drop)
        }
        Op::Delete { n, window, force } => {
            let mut input = DeleteSecretInput::new(id(NAMES[*n]));
            if let Some(w) = window {
                input = input.recovery_window_in_days(*w);
            }
            if *force {
                input = input.force();
            }
            s.delete_secret(input).map(drop)
        }
        Op::Restore { n } => s.restore_secret(&id(NAMES[*n])).map(drop),
        Op::Tag { n, key, value } => s.tag_resource(
            &id(NAMES[*n]),
            &[Tag::new(TAG_KEYS[*key], format!("v{value}")).unwrap()],
        ),
        Op::Untag { n, key } => {
            s.untag_resource(&id(NAMES[*n]), &[TagKey::new(TAG_KEYS[*key]).unwrap()])
        }
        Op::Advance { days } => {
            t.advance(Duration::from_millis(days * DAY_MS));
            Ok(())
        }
        Op::Purge => t.store.purge_deleted().map(drop),
        Op::Reopen => Ok(()),
    };
    r.map_err(|e| e.kind())
}

/// The store agrees with the model, and the invariants hold.
fn check(t: &TestStore, model: &mut Model) {
    let s = t.s();
    for n in NAMES {
        let Some(m) = model.visible(n).cloned() else {
            assert_eq!(
                kind(s.describe_secret(&id(n))),
                ErrorKind::ResourceNotFound,
                "{n} should not exist"
            );
            continue;
        };
        let d = s.describe_secret(&id(n)).unwrap();
        assert_eq!(
            d.deleted_date.is_some(),
            m.deletion.is_some(),
            "{n}: deletion"
        );
        assert_eq!(
            d.tags.map(|ts| ts
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_owned()))
                .collect::<Vec<_>>()),
            m.tags,
            "{n}: tags"
        );
        assert_eq!(d.description, m.desc, "{n}: description");
        let shown: BTreeMap<String, BTreeSet<String>> = d
            .version_ids_to_stages
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(v, l)| (v.to_string(), l.iter().map(ToString::to_string).collect()))
            .collect();
        let expected: BTreeMap<String, BTreeSet<String>> = m
            .versions
            .iter()
            .filter(|(_, (_, l))| !l.is_empty())
            .map(|(v, (_, l))| (v.clone(), l.clone()))
            .collect();
        assert_eq!(shown, expected, "{n}: labels");
        assert_eq!(
            d.version_ids_to_stages.is_some(),
            !m.versions.is_empty(),
            "{n}: version map presence"
        );
        // Invariants 1 and 2: each label once, exactly one AWSCURRENT when there are versions.
        let mut seen = BTreeSet::new();
        for labels in shown.values() {
            for l in labels {
                assert!(seen.insert(l.clone()), "{n}: label {l} on two versions");
            }
        }
        assert_eq!(
            seen.contains("AWSCURRENT"),
            !m.versions.is_empty(),
            "{n}: AWSCURRENT"
        );
        // Every version (deprecated ones too) is listed and decrypts to what was written.
        let mut input = ListSecretVersionIdsInput::new(id(n));
        input.include_deprecated = true;
        let listed: BTreeSet<String> = s
            .list_secret_version_ids(input)
            .unwrap()
            .versions
            .iter()
            .map(|v| v.version_id.to_string())
            .collect();
        assert_eq!(
            listed,
            m.versions.keys().cloned().collect(),
            "{n}: versions"
        );
        if m.deletion.is_none() {
            for (v, (value, _)) in &m.versions {
                let got = s
                    .get_secret_value(
                        GetSecretValueInput::new(id(n))
                            .version_id(strongroom::VersionId::new(v.clone()).unwrap()),
                    )
                    .unwrap();
                assert_eq!(
                    got.value.expose_str(),
                    Some(value.as_str()),
                    "{n}/{v}: value"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut t = TestStore::new();
        let mut model = Model { now_ms: START_SECS * 1000, ..Model::default() };
        for (i, op) in ops.iter().enumerate() {
            let op = &model.resolve(op);
            let expected = model.apply(op);
            let got = run(&mut t, op);
            prop_assert_eq!(got, expected, "step {} {:?}", i, op);
            check(&t, &mut model);
        }
    }
}
