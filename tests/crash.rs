//! A process killed (SIGKILL) in the middle of writes leaves a store that reopens whole: every
//! acknowledged write is there, exactly one version is AWSCURRENT, and every version decrypts;
//! the audit log verifies, its last change entry is the store's last committed change, and it
//! holds an entry for every acknowledged change and at most one more per kill.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use strongroom::{
    AuditEntry, AuditQuery, CreateSecretInput, GetSecretValueInput, InsecureTestKeyProvider,
    ListSecretVersionIdsInput, PutSecretValueInput, SecretStore, StagingLabel,
    UpdateSecretVersionStageInput,
};

/// The changes the child commits for value `n`: a put, and for every third a label move too.
fn changes_for(n: u64) -> u64 {
    if n.is_multiple_of(3) { 2 } else { 1 }
}

const CHILD_ENV: &str = "STRONGROOM_CRASH_CHILD_DIR";

fn open(path: &std::path::Path) -> SecretStore {
    SecretStore::builder(path, Arc::new(InsecureTestKeyProvider::new(5)))
        .deprecated_version_min_age(std::time::Duration::ZERO)
        .max_deprecated_versions(5)
        .open()
        .unwrap()
}

/// The child: writes forever, printing each acknowledged value. Does nothing in a normal run.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = open(std::path::Path::new(&dir));
    let s = store.as_system();
    let start: u64 = match s.get_secret_value(GetSecretValueInput::new(id("c"))) {
        Ok(got) => got.value.expose_str().unwrap().parse().unwrap(),
        Err(_) => {
            s.create_secret(CreateSecretInput::new(name("c")).value(text("0")))
                .unwrap();
            0
        }
    };
    for n in start + 1.. {
        if n % 3 == 0 {
            // Prepare under AWSPENDING, then promote.
            let out = s
                .put_secret_value(
                    PutSecretValueInput::new(id("c"), text(&n.to_string()))
                        .version_stages([StagingLabel::PENDING]),
                )
                .unwrap();
            let cur = s
                .get_secret_value(GetSecretValueInput::new(id("c")))
                .unwrap()
                .version_id;
            s.update_secret_version_stage(
                UpdateSecretVersionStageInput::new(id("c"), StagingLabel::CURRENT)
                    .move_to(out.version_id)
                    .remove_from(cur),
            )
            .unwrap();
        } else {
            s.put_secret_value(PutSecretValueInput::new(id("c"), text(&n.to_string())))
                .unwrap();
        }
        println!("ack {n}");
    }
}

#[test]
fn killed_writers_leave_a_whole_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    let mut acked = 0u64;
    // Changes acknowledged to the child over all rounds (the create first).
    let mut acked_changes = 1u64;
    for round in 0..6u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill after a different number of acknowledgements each round.
        let target = 20 + round * 17;
        let mut seen = 0;
        while seen < target {
            let line = lines.next().expect("child ended early").unwrap();
            // The harness may print the test's name on the same line as its first output.
            if let Some((_, n)) = line.split_once("ack ") {
                acked = n.trim().parse().unwrap();
                acked_changes += changes_for(acked);
                seen += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // What the child acknowledged before it died, read or not yet.
        for line in lines {
            if let Some((_, n)) = line.unwrap().split_once("ack ") {
                acked = n.trim().parse().unwrap();
                acked_changes += changes_for(acked);
            }
        }

        let store = open(&path);
        let s = store.as_system();
        let got = s
            .get_secret_value(GetSecretValueInput::new(id("c")))
            .unwrap();
        let now: u64 = got.value.expose_str().unwrap().parse().unwrap();
        assert!(
            now >= acked,
            "round {round}: acknowledged {acked}, but AWSCURRENT is {now}"
        );
        let d = s.describe_secret(&id("c")).unwrap();
        let map = d.version_ids_to_stages.unwrap();
        let currents = map
            .values()
            .filter(|l| l.contains(&StagingLabel::CURRENT))
            .count();
        assert_eq!(currents, 1, "round {round}: {map:?}");
        let mut input = ListSecretVersionIdsInput::new(id("c"));
        input.include_deprecated = true;
        for v in s.list_secret_version_ids(input).unwrap().versions {
            s.get_secret_value(GetSecretValueInput::new(id("c")).version_id(v.version_id))
                .unwrap();
        }

        // The audit log: whole, with every acknowledged change; a change committed but not yet
        // acknowledged when the child died (at most the put and the label move of one value)
        // may have its entry too, and the last change entry is the store's last change.
        s.verify_audit_log(&mut |_| {}).unwrap();
        let entries: Vec<AuditEntry> = s
            .audit_entries(AuditQuery::all(), 1)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let changes: Vec<&AuditEntry> = entries.iter().filter(|e| e.change).collect();

        let committed = u64::try_from(changes.len()).unwrap();
        assert!(
            committed >= acked_changes && committed <= acked_changes + 2,
            "round {round}: {committed} change entries, {acked_changes} changes acknowledged"
        );
        let mut put_versions: Vec<&str> = changes
            .iter()
            .filter(|e| e.operation == "PutSecretValue")
            .map(|e| e.version_id.as_deref().unwrap())
            .collect();
        let puts = put_versions.len();
        put_versions.sort_unstable();
        put_versions.dedup();
        assert_eq!(put_versions.len(), puts, "one entry per version created");
        let last = changes.last().unwrap();
        let labels_of_last = last
            .version_id
            .as_deref()
            .and_then(|v| map.iter().find(|(id, _)| id.as_str() == v))
            .map(|(_, l)| l.clone())
            .unwrap_or_default();
        match last.operation.as_str() {
            "UpdateSecretVersionStage" => {
                assert!(labels_of_last.contains(&StagingLabel::CURRENT), "{last:?}");
            }
            "PutSecretValue" => assert!(
                labels_of_last.contains(&StagingLabel::CURRENT)
                    || labels_of_last.contains(&StagingLabel::PENDING),
                "round {round}: the last change entry names a version the store does not \
                 label: {last:?} {map:?}"
            ),
            "CreateSecret" => {}
            other => panic!("round {round}: unexpected change entry {other}"),
        }
        // Committed but unacknowledged changes count from here on.
        acked_changes = committed;
        acked = now;
    }
}
