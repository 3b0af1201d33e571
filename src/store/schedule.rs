//! Rotation schedules over stored settings: the rules as stored and read back, and when the next
//! rotation is due.

use crate::clock;
use crate::model::RotationRules;
use crate::storage::{self, StoredRules};

/// The rules as stored in a secret's record.
pub(crate) fn rules_to_stored(rules: &RotationRules) -> StoredRules {
    StoredRules {
        after_days: rules
            .schedule_expression()
            .is_none()
            .then(|| rules.automatically_after_days())
            .flatten(),
        schedule: rules.schedule_expression().map(|e| e.as_str().to_owned()),
        duration: rules.duration().map(|d| format!("{}h", d.as_secs() / 3600)),
    }
}

/// The rules stored by [`rules_to_stored`]; `None` only for a record that was tampered with.
pub(crate) fn rules_of(stored: &StoredRules) -> Option<RotationRules> {
    RotationRules::stored(
        stored.after_days.map(i64::from),
        stored.schedule.as_deref(),
        stored.duration.as_deref(),
    )
    .ok()
}

/// When the next rotation is due after one at `at_ms`, by the stored rules.
pub(crate) fn next_after(cfg: &storage::RotationConfig, at_ms: u64) -> Option<u64> {
    let rules = rules_of(cfg.rules.as_ref()?)?;
    rules
        .next_rotation_after(clock::from_millis(at_ms))
        .map(clock::to_millis)
}
