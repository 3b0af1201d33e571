//! Label transitions as pure functions over a secret's record: the heart of the rules (VER, WRITE and STAGE).
//! No IO here; the store validates input, calls these, and commits the result in one batch.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::storage::{SecretRecord, VersionMeta};

pub(crate) const CURRENT: &str = "AWSCURRENT";
pub(crate) const PREVIOUS: &str = "AWSPREVIOUS";
pub(crate) const PENDING: &str = "AWSPENDING";

/// At most this many distinct labels across the versions of one secret (VER-2).
pub(crate) const MAX_LABELS: usize = 20;

/// How many versions without labels a secret keeps, and how old one must be before it may go (VER-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VersionLimits {
    pub(crate) max_deprecated: usize,
    pub(crate) min_age_ms: u64,
}

fn remove_label(rec: &mut SecretRecord, label: &str) {
    for v in &mut rec.versions {
        v.labels.retain(|l| l != label);
    }
}

/// Attaches `label` to `v` after the labels it already has (a version's labels are kept in the
/// order they were attached, as moto answers them; AWS's order is not recorded).
fn add_label(v: &mut VersionMeta, label: &str) {
    if !v.has_label(label) {
        v.labels.push(label.to_owned());
    }
}

fn version_mut<'a>(rec: &'a mut SecretRecord, id: &str) -> Option<&'a mut VersionMeta> {
    rec.versions.iter_mut().find(|v| v.id == id)
}

/// Drops value-less placeholders that lost their last label: nothing can reach them any more.
fn drop_orphan_placeholders(rec: &mut SecretRecord) {
    rec.versions.retain(|v| v.has_value || !v.labels.is_empty());
}

fn check_label_count(rec: &SecretRecord) -> Result<()> {
    let distinct: BTreeSet<&str> = rec
        .versions
        .iter()
        .flat_map(|v| v.labels.iter().map(String::as_str))
        .collect();
    if distinct.len() > MAX_LABELS {
        return Err(Error::limit(format!(
            "A secret can have at most {MAX_LABELS} staging labels; this change would give secret {} {}.",
            rec.name,
            distinct.len()
        )));
    }
    Ok(())
}

/// Gives `rec` a valued version `id` carrying `labels`, in that order and without duplicates
/// (rules WRITE-4 to WRITE-8).
///
/// `id` may name a value-less placeholder, which is filled and keeps its labels (IDEM-6). The caller
/// has already ruled out every other existing id.
pub(crate) fn add_version(
    rec: &mut SecretRecord,
    id: &str,
    labels: &[String],
    now_ms: u64,
) -> Result<()> {
    let mut labels = labels.to_vec();
    let previous_current = rec
        .holder_of(CURRENT)
        .filter(|v| v.has_value)
        .map(|v| v.id.clone());
    // WRITE-7: the first valued version always becomes AWSCURRENT (attached last).
    if previous_current.is_none() && !labels.iter().any(|l| l == CURRENT) {
        labels.push(CURRENT.to_owned());
    }
    // WRITE-4: each label moves off whichever version held it.
    for l in &labels {
        remove_label(rec, l);
    }
    match version_mut(rec, id) {
        Some(v) => {
            v.has_value = true;
            for l in &labels {
                add_label(v, l);
            }
        }
        None => {
            let seq = rec.next_seq;
            rec.next_seq += 1;
            rec.versions.push(VersionMeta {
                id: id.to_owned(),
                labels: labels.clone(),
                created_ms: now_ms,
                seq,
                has_value: true,
                value: None,
            });
        }
    }
    // WRITE-5 / WRITE-8: the demoted AWSCURRENT version becomes AWSPREVIOUS and loses AWSPENDING.
    if labels.iter().any(|l| l == CURRENT)
        && let Some(p) = previous_current.filter(|p| p != id)
    {
        remove_label(rec, PREVIOUS);
        if let Some(pv) = version_mut(rec, &p) {
            add_label(pv, PREVIOUS);
            pv.labels.retain(|l| l != PENDING);
        }
    }
    drop_orphan_placeholders(rec);
    check_label_count(rec)
}

/// Gives `rec` the value-less version `id` carrying only `AWSPENDING`, which moves off any other
/// version (rule ROT-5: the version a rotation starts with). The caller has ruled out an existing `id`.
pub(crate) fn add_placeholder(rec: &mut SecretRecord, id: &str, now_ms: u64) -> Result<()> {
    remove_label(rec, PENDING);
    drop_orphan_placeholders(rec);
    let seq = rec.next_seq;
    rec.next_seq += 1;
    rec.versions.push(VersionMeta {
        id: id.to_owned(),
        labels: vec![PENDING.to_owned()],
        created_ms: now_ms,
        seq,
        has_value: false,
        value: None,
    });
    check_label_count(rec)
}

/// Moves or removes one label (rules STAGE-1 to STAGE-8).
pub(crate) fn move_label(
    rec: &mut SecretRecord,
    label: &str,
    move_to: Option<&str>,
    remove_from: Option<&str>,
) -> Result<()> {
    for id in move_to.iter().chain(remove_from.iter()) {
        if rec.version(id).is_none() {
            return Err(Error::invalid_parameter(format!(
                "Not a valid version: {id}"
            )));
        }
    }
    let holder = rec.holder_of(label).map(|v| v.id.clone());
    if let Some(from) = remove_from
        && holder.as_deref() != Some(from)
    {
        return Err(Error::invalid_parameter(format!(
            "The parameter RemoveFromVersionId doesn't match: staging label {label} is not attached to version {from}."
        )));
    }
    let Some(to) = move_to else {
        let Some(from) = remove_from else {
            return Err(Error::invalid_parameter(
                "You must specify MoveToVersionId, RemoveFromVersionId, or both.",
            ));
        };
        if label == CURRENT {
            return Err(Error::invalid_parameter(format!(
                "You can't remove the staging label {CURRENT} from version {from} without moving it to another version: a secret always has an {CURRENT} version."
            )));
        }
        remove_label(rec, label);
        drop_orphan_placeholders(rec);
        return check_label_count(rec);
    };
    if let Some(x) = holder.as_deref().filter(|x| *x != to)
        && remove_from != Some(x)
    {
        return Err(Error::invalid_parameter(format!(
            "The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently attached to version {x}, so you must explicitly reference that version in RemoveFromVersionId."
        )));
    }
    if label == CURRENT && rec.version(to).is_some_and(|v| !v.has_value) {
        return Err(Error::invalid_parameter(format!(
            "You can't attach the staging label {CURRENT} to version {to} because it has no secret value."
        )));
    }
    if holder.as_deref() == Some(to) {
        return Ok(());
    }
    remove_label(rec, label);
    if let Some(v) = version_mut(rec, to) {
        add_label(v, label);
    }
    // STAGE-5: moving AWSCURRENT off X puts AWSPREVIOUS on X; other labels stay (STAGE-6).
    if label == CURRENT
        && let Some(x) = holder
    {
        remove_label(rec, PREVIOUS);
        if let Some(xv) = version_mut(rec, &x) {
            add_label(xv, PREVIOUS);
        }
    }
    drop_orphan_placeholders(rec);
    check_label_count(rec)
}

/// Removes the oldest unlabelled versions beyond `limits.max_deprecated` that are old enough,
/// returning their ids; fails with `LimitExceeded` if too many young ones remain (VER-4).
pub(crate) fn collect_deprecated(
    rec: &mut SecretRecord,
    now_ms: u64,
    limits: VersionLimits,
) -> Result<Vec<String>> {
    let deprecated = rec.versions.iter().filter(|v| v.labels.is_empty()).count();
    let excess = deprecated.saturating_sub(limits.max_deprecated);
    if excess == 0 {
        return Ok(Vec::new());
    }
    // The oldest first: versions are in creation order.
    let removable: Vec<String> = rec
        .versions
        .iter()
        .filter(|v| v.labels.is_empty())
        .filter(|v| v.created_ms.saturating_add(limits.min_age_ms) <= now_ms)
        .take(excess)
        .map(|v| v.id.clone())
        .collect();
    if removable.len() < excess {
        return Err(Error::limit(format!(
            "You can't create more versions of secret {}: it already has {} versions without staging labels, and versions younger than {} hours are not removed.",
            rec.name,
            limits.max_deprecated,
            limits.min_age_ms / 3_600_000
        )));
    }
    rec.versions.retain(|v| !removable.contains(&v.id));
    Ok(removable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> SecretRecord {
        SecretRecord {
            uid: [0; 16],
            arn: "arn".into(),
            name: "s".into(),
            description: None,
            kms_key_id: None,
            tags: None,
            created_ms: 0,
            last_changed_ms: 0,
            deletion: None,
            next_seq: 0,
            versions: vec![],
            rotation: None,
        }
    }

    fn set(labels: &[&str]) -> Vec<String> {
        labels.iter().map(|s| (*s).to_owned()).collect()
    }

    fn labels(r: &SecretRecord, id: &str) -> Vec<String> {
        r.version(id).unwrap().labels.clone()
    }

    #[test]
    fn first_version_is_current_even_without_asking() {
        let mut r = rec();
        add_version(&mut r, "v1", &set(&["custom"]), 1).unwrap();
        // Attached after the labels asked for, as moto answers.
        assert_eq!(labels(&r, "v1"), ["custom", "AWSCURRENT"]);
    }

    #[test]
    fn current_moves_and_previous_follows() {
        let mut r = rec();
        add_version(&mut r, "v1", &set(&[CURRENT]), 1).unwrap();
        add_version(&mut r, "v2", &set(&[CURRENT]), 2).unwrap();
        add_version(&mut r, "v3", &set(&[CURRENT]), 3).unwrap();
        assert_eq!(labels(&r, "v3"), [CURRENT]);
        assert_eq!(labels(&r, "v2"), [PREVIOUS]);
        assert!(labels(&r, "v1").is_empty());
    }

    #[test]
    fn non_current_labels_leave_current_alone() {
        // WRITE-4 [recorded]: v2{one,two,three} + put v3{one,two,four} => v2{three}, v3{four,one,two}
        let mut r = rec();
        add_version(&mut r, "v1", &set(&[CURRENT]), 1).unwrap();
        add_version(&mut r, "v2", &set(&["one", "two", "three"]), 2).unwrap();
        add_version(&mut r, "v3", &set(&["one", "two", "four"]), 3).unwrap();
        assert_eq!(labels(&r, "v2"), ["three"]);
        // In the order given (the recording sorts its lists).
        assert_eq!(labels(&r, "v3"), ["one", "two", "four"]);
        assert_eq!(labels(&r, "v1"), [CURRENT]);
    }

    #[test]
    fn demoted_current_drops_pending() {
        // WRITE-8 [recorded]: v1{PREVIOUS}, v2{CURRENT,PENDING}; put => v3{CURRENT}, v2{PREVIOUS}, v1{}
        let mut r = rec();
        add_version(&mut r, "v1", &set(&[CURRENT]), 1).unwrap();
        add_version(&mut r, "v2", &set(&[PENDING]), 2).unwrap();
        move_label(&mut r, CURRENT, Some("v2"), Some("v1")).unwrap();
        assert_eq!(
            labels(&r, "v2"),
            [PENDING, CURRENT],
            "in the order attached"
        );
        assert_eq!(labels(&r, "v1"), [PREVIOUS]);
        add_version(&mut r, "v3", &set(&[CURRENT]), 3).unwrap();
        assert_eq!(labels(&r, "v3"), [CURRENT]);
        assert_eq!(labels(&r, "v2"), [PREVIOUS]);
        assert!(labels(&r, "v1").is_empty());
    }

    #[test]
    fn filling_a_placeholder_keeps_its_labels() {
        let mut r = rec();
        add_version(&mut r, "v1", &set(&[CURRENT]), 1).unwrap();
        r.versions.push(VersionMeta {
            id: "p".into(),
            labels: vec![PENDING.into()],
            created_ms: 2,
            seq: 1,
            has_value: false,
            value: None,
        });
        r.next_seq = 2;
        add_version(&mut r, "p", &set(&[PENDING]), 3).unwrap();
        let p = r.version("p").unwrap();
        assert!(p.has_value);
        assert_eq!(p.labels, [PENDING]);
        assert_eq!(p.created_ms, 2);
    }

    #[test]
    fn move_requires_remove_from_when_label_is_elsewhere() {
        let mut r = rec();
        add_version(&mut r, "v1", &set(&[CURRENT]), 1).unwrap();
        add_version(&mut r, "v2", &set(&["x"]), 2).unwrap();
        let before = r.clone();
        let e = move_label(&mut r, CURRENT, Some("v2"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version v1, so you must explicitly reference that version in RemoveFromVersionId."
        );
        assert!(move_label(&mut r, CURRENT, Some("v2"), Some("v2")).is_err());
        assert!(move_label(&mut r, CURRENT, Some("nope"), Some("v1")).is_err());
        assert!(move_label(&mut r, CURRENT, None, Some("v1")).is_err());
        assert!(move_label(&mut r, CURRENT, None, None).is_err());
        assert_eq!(r, before);
        move_label(&mut r, "x", None, Some("v2")).unwrap();
        assert!(labels(&r, "v2").is_empty());
        move_label(&mut r, "new", Some("v2"), None).unwrap();
        assert_eq!(labels(&r, "v2"), ["new"]);
    }

    #[test]
    fn a_placeholder_that_loses_its_last_label_goes() {
        let mut r = rec();
        add_version(&mut r, "a", &set(&["AWSCURRENT"]), 1).unwrap();
        add_placeholder(&mut r, "p", 2).unwrap();
        assert_eq!(labels(&r, "p"), vec!["AWSPENDING"]);
        move_label(&mut r, "AWSPENDING", None, Some("p")).unwrap();
        assert!(r.version("p").is_none());
        add_placeholder(&mut r, "q", 3).unwrap();
        add_placeholder(&mut r, "s", 4).unwrap();
        assert!(
            r.version("q").is_none(),
            "the older placeholder lost AWSPENDING"
        );
        add_version(&mut r, "b", &set(&["AWSPENDING"]), 5).unwrap();
        assert!(r.version("s").is_none());
        assert_eq!(labels(&r, "b"), vec!["AWSPENDING"]);
        assert_eq!(labels(&r, "a"), vec!["AWSCURRENT"]);
    }

    #[test]
    fn label_limit_is_twenty() {
        let mut r = rec();
        let many: Vec<String> = (0..19).map(|i| format!("l{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        add_version(&mut r, "v1", &set(&refs), 1).unwrap();
        assert!(add_version(&mut r.clone(), "v2", &set(&["extra"]), 2).is_err());
        assert!(move_label(&mut r, "l0", Some("v1"), None).is_ok());
    }

    #[test]
    fn deprecated_versions_are_collected_oldest_first_when_old_enough() {
        let mut r = rec();
        let limits = VersionLimits {
            max_deprecated: 2,
            min_age_ms: 100,
        };
        for (i, t) in [0u64, 10, 20, 30, 40].iter().enumerate() {
            add_version(&mut r, &format!("v{i}"), &set(&[CURRENT]), *t).unwrap();
        }
        // v0, v1, v2 are unlabelled (v3 PREVIOUS, v4 CURRENT): one too many.
        assert!(collect_deprecated(&mut r.clone(), 50, limits).is_err());
        let removed = collect_deprecated(&mut r, 100, limits).unwrap();
        assert_eq!(removed, ["v0"]);
        assert!(r.version("v0").is_none());
        assert_eq!(
            collect_deprecated(&mut r, 1000, limits).unwrap(),
            Vec::<String>::new()
        );
    }
}
