//! THE central property of rotation: concurrent rotate and read never yields an invalid
//! credential.
//!
//! A simulated database (the *target*: user → accepted passwords, changed only by a rotator's
//! `setSecret`) is rotated by two rotators written as AWS's templates are: single user (the
//! user's password is replaced, the old one stops working at once) and alternating users
//! (`app` / `app_clone`: each rotation sets the password of the user that is *not* current, so
//! the previous credential keeps working). While proptest-generated rotations run, interrupted
//! at random steps (paused between steps, failing inside a step after its work was done, a step
//! done by a "dead" driver whose progress was never recorded, target failures that exhaust the
//! retry policy), reader threads read the secret (directly and through a `SecretCache`) and log
//! in with it. A separate proptest drops and reopens the store at the interruption points (no
//! readers: they would hold the store open).
//!
//! Every assertion holds for *every* interleaving; the threads only change which interleavings
//! are checked. The notions the assertions use:
//! - rotation `i` (1, 2, ...) has token `T_i`; the initial version is rotation 0. A credential's
//!   *generation* `j` is the rotation that created it (looked up by version id).
//! - `seq`: the target's setSecret sequence number, incremented (under the target's lock) by each
//!   setSecret that changed a password. Each rotation's setSecret changes it exactly once, so
//!   after rotation `i`'s setSecret took effect, `seq == i`.
//! - `finished`: the highest rotation whose finishSecret has returned. `f0` and `s0` are
//!   `finished` and `seq` sampled just before a read.
//!
//! Properties (see each assertion's message):
//! - every read parses as the JSON value created for the version it names (never torn, never a
//!   value of another version); a version read as `AWSCURRENT` is the initial one or one whose
//!   finishSecret had begun (never the `AWSPENDING` value before finishSecret); it is never
//!   older than `f0` and never ahead of the target (its setSecret took effect).
//! - single user: a login fails only with a credential read before a setSecret and used after it
//!   (`seq` at use > `s0`), or read while a rotation stood between its setSecret and its
//!   finishSecret (`s0 > f0`: the window in which `AWSCURRENT` is necessarily the old password).
//!   After a failure the reader reads `AWSPENDING`, then `AWSCURRENT`; if `AWSCURRENT` is still the
//!   refused credential and `AWSPENDING` is another version, it logs in with that, otherwise with
//!   the fresh `AWSCURRENT`. That one retry succeeds unless the target changed during the retry
//!   itself, or the refused credential was already two setSecrets behind when refused (then no
//!   reader of `GetSecretValue` can tell which of the two candidates is the accepted one).
//!   `SecretCache::with_credential` goes one step further: when a different fresh credential is
//!   refused too, it retries once more by the same rule, and its last try succeeds unless the
//!   target changed during that try.
//! - alternating users: a credential read when `finished == c` keeps working until rotation
//!   `c + 2`'s setSecret (while `finished <= c + 1`, except from the moment rotation `c + 2`, which
//!   runs while `finished == c + 1`, sets that user's password); a credential kept from an earlier
//!   read obeys the same rule; a retry after a failure always succeeds unless the target changed
//!   during the retry.
//! - after every interruption, resumption and reopen: exactly one version is `AWSCURRENT`, and
//!   after the rotation completes the target accepts it (alternating: and `AWSPREVIOUS` too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{START_SECS, id, name};
use proptest::prelude::*;
use strongroom::{
    Arn, Attempt, CreateSecretInput, DriveOutcome, ErrorKind, GetRandomPasswordInput,
    GetSecretValueInput, GetSecretValueOutput, InsecureTestKeyProvider, ManualClock,
    PutSecretValueInput, RetryPolicy, RotateSecretInput, RotationStep, Rotator, SecretCache,
    SecretId, SecretSource, SecretStore, SecretValue, Session, StagingLabel, StepError, VersionId,
    get_random_password,
};

const SECRET: &str = "app/db";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:111111111111:function:rotate-app-db";
const READERS: usize = 3;
/// Failures of one step before the driver gives up (and a `rotate_secret` call resumes it).
const MAX_ATTEMPTS: u32 = 3;

// ---------------------------------------------------------------------------------------------
// The simulated target system
// ---------------------------------------------------------------------------------------------

/// A database: users and the passwords each accepts. Changed only by `setSecret`.
#[derive(Debug, Default)]
struct Target {
    state: Mutex<TargetState>,
    /// The next calls of `set_password` that fail (the database is unreachable).
    fail_set: AtomicU32,
    /// The next logins of `testSecret` that fail.
    fail_test: AtomicU32,
}

#[derive(Debug, Default)]
struct TargetState {
    users: HashMap<String, HashSet<String>>,
    /// setSecret sequence number: setSecrets that changed a password.
    seq: u64,
}

/// Takes one injected failure, if any is left.
fn take_failure(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Target {
    fn with_user(user: &str, password: &str) -> Self {
        let t = Self::default();
        t.state
            .lock()
            .unwrap()
            .users
            .insert(user.to_owned(), HashSet::from([password.to_owned()]));
        t
    }

    fn seq(&self) -> u64 {
        self.state.lock().unwrap().seq
    }

    /// `ALTER ROLE user PASSWORD password` (creating the user if needed): the user's earlier
    /// passwords stop working. Idempotent.
    fn set_password(&self, user: &str, password: &str) -> Result<(), StepError> {
        if take_failure(&self.fail_set) {
            return Err("the database is unreachable (injected)".into());
        }
        let mut st = self.state.lock().unwrap();
        let new = HashSet::from([password.to_owned()]);
        if st.users.get(user) != Some(&new) {
            st.users.insert(user.to_owned(), new);
            st.seq += 1;
        }
        Ok(())
    }

    /// A login: whether it was accepted, and the setSecret sequence number when it was decided.
    fn login(&self, user: &str, password: &str) -> (bool, u64) {
        let st = self.state.lock().unwrap();
        let ok = st.users.get(user).is_some_and(|p| p.contains(password));
        (ok, st.seq)
    }

    /// `testSecret`'s login, which may be made to fail.
    fn test_login(&self, user: &str, password: &str) -> Result<(), StepError> {
        if take_failure(&self.fail_test) {
            return Err("the database is unreachable (injected)".into());
        }
        if self.login(user, password).0 {
            Ok(())
        } else {
            Err(format!("the database refused the pending credential of {user}").into())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the test knows about every version it made
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Ledger {
    state: Mutex<LedgerState>,
    /// The highest rotation whose finishSecret has returned `Ok` (0: none yet).
    finished: AtomicU64,
}

#[derive(Debug, Default)]
struct LedgerState {
    /// Token (version id) → rotation (0: the initial version).
    rotation: HashMap<String, u64>,
    /// Token → the JSON value created for it.
    value: HashMap<String, String>,
    /// Tokens whose finishSecret has begun.
    finish_begun: HashSet<String>,
}

impl Ledger {
    fn register(&self, token: &VersionId, rotation: u64) {
        self.state
            .lock()
            .unwrap()
            .rotation
            .insert(token.as_str().to_owned(), rotation);
    }

    /// A value created for `token`: recorded before it is stored, so every read finds it.
    fn created(&self, token: &VersionId, json: &str) {
        let mut st = self.state.lock().unwrap();
        let old = st.value.insert(token.as_str().to_owned(), json.to_owned());
        assert!(
            old.is_none(),
            "createSecret made a second value for {token}: it is not idempotent"
        );
    }

    fn finish_begins(&self, token: &VersionId) {
        self.state
            .lock()
            .unwrap()
            .finish_begun
            .insert(token.as_str().to_owned());
    }

    fn finish_returned(&self, token: &VersionId) {
        let rotation = self.state.lock().unwrap().rotation[token.as_str()];
        self.finished.fetch_max(rotation, SeqCst);
    }

    fn finished(&self) -> u64 {
        self.finished.load(SeqCst)
    }
}

/// A credential read from the store.
#[derive(Clone, Debug)]
struct Cred {
    token: String,
    /// Its generation: the rotation that created it.
    rotation: u64,
    user: String,
    password: String,
    json: String,
}

/// `{"username", "password"}` of a value.
fn parse(value: &SecretValue) -> Result<(String, String), StepError> {
    let text = value.expose_str().ok_or("the secret value is not text")?;
    let v: serde_json::Value = serde_json::from_str(text)?;
    let field = |f: &str| {
        v.get(f)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the secret value has no {f}"))
    };
    Ok((field("username")?, field("password")?))
}

// ---------------------------------------------------------------------------------------------
// The rotators
// ---------------------------------------------------------------------------------------------

/// AWS's rotation templates for a database: single user, or alternating users.
#[derive(Debug)]
struct DbRotator {
    target: Arc<Target>,
    ledger: Arc<Ledger>,
    alternating: bool,
}

fn pending_of(arn: &Arn, token: &VersionId) -> GetSecretValueInput {
    GetSecretValueInput::new(SecretId::from(arn))
        .version_id(token.clone())
        .version_stage(StagingLabel::PENDING)
}

impl Rotator for DbRotator {
    fn create_secret(&self, s: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        match s.get_secret_value(pending_of(arn, token)) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::ResourceNotFound => {}
            Err(e) => return Err(e.into()),
        }
        let current = s.get_secret_value(GetSecretValueInput::new(SecretId::from(arn)))?;
        let (user, _) = parse(&current.value)?;
        let user = match (self.alternating, user.strip_suffix("_clone")) {
            (false, _) => user,
            (true, Some(base)) => base.to_owned(),
            (true, None) => format!("{user}_clone"),
        };
        let password = get_random_password(&GetRandomPasswordInput::default())?;
        let json = serde_json::json!({
            "username": user,
            "password": password.expose_str().ok_or("the password is not text")?,
        })
        .to_string();
        self.ledger.created(token, &json);
        s.put_secret_value(
            PutSecretValueInput::new(SecretId::from(arn), SecretValue::string(json)?)
                .client_request_token(token.clone())
                .version_stages([StagingLabel::PENDING]),
        )?;
        Ok(())
    }

    fn set_secret(&self, s: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        let pending = s.get_secret_value(pending_of(arn, token))?;
        let (user, password) = parse(&pending.value)?;
        self.target.set_password(&user, &password)
    }

    fn test_secret(&self, s: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        let pending = s.get_secret_value(pending_of(arn, token))?;
        let (user, password) = parse(&pending.value)?;
        self.target.test_login(&user, &password)
    }
}

/// Wraps the rotator: records when finishSecret begins and returns, fails create/finish a
/// number of times before doing anything, and fails one step once *after* doing its work (as a
/// driver that died between a step's effect and its record; the step then runs again).
#[derive(Debug)]
struct Faulty {
    inner: DbRotator,
    ledger: Arc<Ledger>,
    fail_create: AtomicU32,
    fail_finish: AtomicU32,
    fail_after: Mutex<Option<RotationStep>>,
}

impl Faulty {
    /// The step's work, with the ledger's bookkeeping, and no injected failure.
    fn perform(
        &self,
        step: RotationStep,
        s: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        match step {
            RotationStep::CreateSecret => self.inner.create_secret(s, arn, token),
            RotationStep::SetSecret => self.inner.set_secret(s, arn, token),
            RotationStep::TestSecret => self.inner.test_secret(s, arn, token),
            _ => {
                self.ledger.finish_begins(token);
                strongroom::finish_secret(s, arn, token)?;
                self.ledger.finish_returned(token);
                Ok(())
            }
        }
    }

    fn run(
        &self,
        step: RotationStep,
        s: &Session,
        arn: &Arn,
        token: &VersionId,
    ) -> Result<(), StepError> {
        let before = match step {
            RotationStep::CreateSecret => Some(&self.fail_create),
            RotationStep::FinishSecret => Some(&self.fail_finish),
            _ => None,
        };
        if before.is_some_and(take_failure) {
            return Err(format!("{step} failed before doing anything (injected)").into());
        }
        self.perform(step, s, arn, token)?;
        let mut after = self.fail_after.lock().unwrap();
        if *after == Some(step) {
            *after = None;
            return Err(format!("{step} failed after doing its work (injected)").into());
        }
        Ok(())
    }
}

impl Rotator for Faulty {
    fn create_secret(&self, s: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        self.run(RotationStep::CreateSecret, s, arn, token)
    }

    fn set_secret(&self, s: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        self.run(RotationStep::SetSecret, s, arn, token)
    }

    fn test_secret(&self, s: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        self.run(RotationStep::TestSecret, s, arn, token)
    }

    fn finish_secret(&self, s: &Session, arn: &Arn, token: &VersionId) -> Result<(), StepError> {
        self.run(RotationStep::FinishSecret, s, arn, token)
    }
}

// ---------------------------------------------------------------------------------------------
// The world: store, target, ledger, rotator
// ---------------------------------------------------------------------------------------------

struct World {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: SecretStore,
    target: Arc<Target>,
    ledger: Arc<Ledger>,
    rotator: Arc<Faulty>,
    alternating: bool,
    /// `tokens[i]`: the version of rotation `i` (0: the initial version).
    tokens: Vec<VersionId>,
}

fn open(path: &std::path::Path, clock: &Arc<ManualClock>) -> SecretStore {
    SecretStore::builder(path.join("data"), Arc::new(InsecureTestKeyProvider::new(7)))
        .clock(clock.clone())
        .account_id(strongroom::AccountId::new("111111111111").unwrap())
        .rotation_retry_policy(RetryPolicy::new(
            MAX_ATTEMPTS,
            Duration::from_secs(1),
            Duration::from_secs(4),
        ))
        .open()
        .unwrap()
}

fn password() -> String {
    get_random_password(&GetRandomPasswordInput::default())
        .unwrap()
        .expose_str()
        .unwrap()
        .to_owned()
}

fn rotation_token(i: u64) -> VersionId {
    VersionId::new(format!("rotation-{i:0>23}")).unwrap()
}

impl World {
    fn new(alternating: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_unix_seconds(START_SECS));
        let store = open(dir.path(), &clock);
        let first = password();
        let json = serde_json::json!({"username": "app", "password": first}).to_string();
        let v0 = store
            .as_system()
            .create_secret(
                CreateSecretInput::new(name(SECRET)).value(SecretValue::string(&json).unwrap()),
            )
            .unwrap()
            .version_id
            .unwrap();
        let target = Arc::new(Target::with_user("app", &first));
        let ledger = Arc::new(Ledger::default());
        ledger.register(&v0, 0);
        ledger.created(&v0, &json);
        let rotator = Arc::new(Faulty {
            inner: DbRotator {
                target: target.clone(),
                ledger: ledger.clone(),
                alternating,
            },
            ledger: ledger.clone(),
            fail_create: AtomicU32::new(0),
            fail_finish: AtomicU32::new(0),
            fail_after: Mutex::new(None),
        });
        store.register_rotator(FUNCTION, rotator.clone());
        Self {
            dir,
            clock,
            store,
            target,
            ledger,
            rotator,
            alternating,
            tokens: vec![v0],
        }
    }

    fn s(&self) -> Session {
        self.store.as_system()
    }

    /// Drops the store (as a process that dies) and opens it again; the target and the rotator
    /// (an external system and the application's code) live on.
    fn reopen(&mut self) {
        let tmp = tempfile::tempdir().unwrap();
        drop(std::mem::replace(
            &mut self.store,
            open(tmp.path(), &self.clock),
        ));
        self.store = open(self.dir.path(), &self.clock);
        self.store.register_rotator(FUNCTION, self.rotator.clone());
    }

    fn arn(&self) -> Arn {
        self.s().describe_secret(&id(SECRET)).unwrap().arn
    }

    /// The versions holding `label`.
    fn holders(&self, label: &StagingLabel) -> Vec<VersionId> {
        self.s()
            .describe_secret(&id(SECRET))
            .unwrap()
            .version_ids_to_stages
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, labels)| labels.contains(label))
            .map(|(v, _)| v)
            .collect()
    }

    fn exactly_one_current(&self) -> VersionId {
        let current = self.holders(&StagingLabel::CURRENT);
        assert_eq!(
            current.len(),
            1,
            "exactly one version is AWSCURRENT: {current:?}"
        );
        current.into_iter().next().unwrap()
    }

    /// Logs in with the value of version `v`.
    fn accepts(&self, v: &VersionId) -> bool {
        let out = self
            .s()
            .get_secret_value(GetSecretValueInput::new(id(SECRET)).version_id(v.clone()))
            .unwrap();
        let (user, password) = parse(&out.value).unwrap();
        self.target.login(&user, &password).0
    }
}

// ---------------------------------------------------------------------------------------------
// Driving rotations
// ---------------------------------------------------------------------------------------------

/// How one rotation is run and interrupted.
#[derive(Clone, Debug)]
struct Plan {
    /// Pause before this step (0..=3: create, set, test, finish), let the readers run (or
    /// reopen the store), then resume.
    pause_before: Option<usize>,
    /// At the pause, the paused step is done by a "dead" driver: its work happens, its
    /// completion is never recorded, so the resumed driver runs it again.
    dead_step: bool,
    /// The step that fails once after doing its work.
    fail_after: Option<usize>,
    fail_create: u32,
    fail_set: u32,
    fail_test: u32,
    fail_finish: u32,
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        prop::option::of(0usize..4),
        any::<bool>(),
        prop::option::of(0usize..4),
        0u32..3,
        0u32..4,
        0u32..4,
        0u32..3,
    )
        .prop_map(
            |(
                pause_before,
                dead_step,
                fail_after,
                fail_create,
                fail_set,
                fail_test,
                fail_finish,
            )| {
                Plan {
                    pause_before,
                    dead_step,
                    fail_after,
                    fail_create,
                    fail_set,
                    fail_test,
                    fail_finish,
                }
            },
        )
}

fn step_at(i: usize) -> RotationStep {
    RotationStep::ALL[i]
}

fn position(step: RotationStep) -> usize {
    RotationStep::ALL.iter().position(|s| *s == step).unwrap()
}

#[derive(Debug, PartialEq)]
enum Ended {
    /// Stopped before the step asked for.
    Paused,
    /// The driver reported the rotation completed.
    Completed,
}

/// Drives the rotation `t` until it completes, or (with `stop_before`) until that step is next.
/// Failed steps are retried; a rotation the driver gave up on is resumed by replaying its
/// `rotate_secret` request, as an operator would.
fn drive(w: &World, t: &VersionId, stop_before: Option<usize>) -> Ended {
    let s = w.s();
    for _ in 0..64 {
        let outcome = match stop_before {
            Some(stop) => {
                let status = s
                    .rotation_status(&id(SECRET))
                    .unwrap()
                    .expect("in progress");
                assert_eq!(&status.token, t);
                let next = position(status.next_step);
                if next >= stop {
                    assert_eq!(next, stop, "the driver ran a step past the pause");
                    assert!(!status.failed);
                    // Driving zero steps does nothing.
                    let zero = s.drive_rotation_steps(&id(SECRET), 0).unwrap();
                    assert_eq!(
                        zero,
                        DriveOutcome::Paused {
                            next: status.next_step
                        }
                    );
                    return Ended::Paused;
                }
                s.drive_rotation_steps(&id(SECRET), stop - next).unwrap()
            }
            None => s.drive_rotation(&id(SECRET)).unwrap(),
        };
        match outcome {
            DriveOutcome::Completed { token } => {
                assert_eq!(&token, t);
                assert!(stop_before.is_none(), "completed before the pause");
                return Ended::Completed;
            }
            DriveOutcome::Paused { .. } | DriveOutcome::Retrying { .. } => {}
            DriveOutcome::Failed { step, .. } => {
                let again = s.rotate_secret(
                    RotateSecretInput::new(id(SECRET)).client_request_token(t.clone()),
                );
                // Replaying its request resumes it, with its token, where it stopped.
                match again {
                    Ok(out) if out.version_id.as_ref() == Some(t) => {
                        let status = s.rotation_status(&id(SECRET)).unwrap().expect("resumed");
                        assert!(!status.failed);
                        assert_eq!(status.next_step, step);
                    }
                    other => panic!("resuming a rotation that gave up at {step}: {other:?}"),
                }
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    panic!("the rotation did not end");
}

/// Runs rotation `i` by `plan`; `at_pause` runs at the pause (with `&mut World`, to reopen).
fn rotate(w: &mut World, plan: &Plan, at_pause: &mut dyn FnMut(&mut World)) {
    let i = u64::try_from(w.tokens.len()).unwrap();
    let t = rotation_token(i);
    w.ledger.register(&t, i);
    w.target.fail_set.store(plan.fail_set, SeqCst);
    w.target.fail_test.store(plan.fail_test, SeqCst);
    w.rotator.fail_create.store(plan.fail_create, SeqCst);
    w.rotator.fail_finish.store(plan.fail_finish, SeqCst);
    *w.rotator.fail_after.lock().unwrap() = plan.fail_after.map(step_at);
    let previous = w.tokens.last().unwrap().clone();

    let mut input = RotateSecretInput::new(id(SECRET)).client_request_token(t.clone());
    if i == 1 {
        input = input.rotation_lambda_arn(FUNCTION);
    }
    let out = w.s().rotate_secret(input).unwrap();
    assert_eq!(out.version_id.as_ref(), Some(&t));

    if let Some(k) = plan.pause_before {
        assert_eq!(drive(w, &t, Some(k)), Ended::Paused);
        // Interrupted: AWSCURRENT has not moved, AWSPENDING is the rotation's version.
        assert_eq!(w.exactly_one_current(), previous);
        assert_eq!(w.holders(&StagingLabel::PENDING), std::slice::from_ref(&t));
        // Replaying the request changes nothing; another rotation cannot start.
        let replay = w
            .s()
            .rotate_secret(RotateSecretInput::new(id(SECRET)).client_request_token(t.clone()))
            .unwrap();
        assert_eq!(replay.version_id.as_ref(), Some(&t));
        let other = w.s().rotate_secret(
            RotateSecretInput::new(id(SECRET)).client_request_token(rotation_token(i + 1000)),
        );
        assert_eq!(other.unwrap_err().kind(), ErrorKind::InvalidRequest);
        let status = w.s().rotation_status(&id(SECRET)).unwrap().unwrap();
        assert_eq!((&status.token, position(status.next_step)), (&t, k));
        if plan.dead_step {
            // The step's work is done by a driver that dies before recording it. Its result
            // does not matter (the target may be failing); the resumed driver runs it again.
            let s = w.s();
            let _ = w.rotator.perform(step_at(k), &s, &w.arn(), &t);
        }
        at_pause(w);
        assert_eq!(w.holders(&StagingLabel::CURRENT).len(), 1);
    }
    let ended = drive(w, &t, None);

    // Resumed and completed: exactly one AWSCURRENT, the rotation's, and the target accepts it.
    assert_eq!(w.exactly_one_current(), t);
    assert_eq!(
        w.holders(&StagingLabel::PREVIOUS),
        std::slice::from_ref(&previous)
    );
    let pending = w.holders(&StagingLabel::PENDING);
    assert!(pending.is_empty() || pending == [t.clone()], "{pending:?}");
    assert!(
        w.accepts(&t),
        "the target refuses the AWSCURRENT credential"
    );
    if w.alternating {
        assert!(
            w.accepts(&previous),
            "alternating users: the target refuses the AWSPREVIOUS credential"
        );
    } else {
        assert!(!w.accepts(&previous));
    }
    assert_eq!(
        w.target.seq(),
        i,
        "each rotation's setSecret took effect once"
    );
    assert_eq!(w.ledger.finished(), i);
    assert_eq!(ended, Ended::Completed);
    assert_eq!(w.s().rotation_status(&id(SECRET)).unwrap(), None);
    w.tokens.push(t);
}

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

/// What readers share.
struct Readers<'a> {
    session: Session,
    cache: SecretCache,
    target: &'a Target,
    ledger: &'a Ledger,
    alternating: bool,
    stop: AtomicBool,
    /// Reader iterations done.
    ops: AtomicUsize,
    /// Readers still running (a reader that panicked stops counting).
    alive: AtomicUsize,
}

/// A credential read as `AWSCURRENT`, with `finished` (`f0`) and `seq` (`s0`) sampled before the read.
#[derive(Clone, Debug)]
struct Read {
    cred: Cred,
    f0: u64,
    s0: u64,
}

struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

impl Readers<'_> {
    /// Checks any value read: it is the JSON created for the version it names, and a version
    /// labelled `AWSCURRENT` is the initial one or one whose finishSecret had begun.
    fn check(&self, out: &GetSecretValueOutput) -> Cred {
        let json = out.value.expose_str().expect("a text value").to_owned();
        let (user, password) = parse(&out.value)
            .unwrap_or_else(|e| panic!("a value that is not the JSON of a credential: {e}"));
        let token = out.version_id.as_str().to_owned();
        let st = self.ledger.state.lock().unwrap();
        assert_eq!(
            st.value.get(&token),
            Some(&json),
            "version {token} read with a value that is not the one created for it (torn?)"
        );
        let rotation = st.rotation[&token];
        if out.version_stages.contains(&StagingLabel::CURRENT) {
            assert!(
                rotation == 0 || st.finish_begun.contains(&token),
                "the AWSPENDING value of rotation {rotation} was read as AWSCURRENT before its finishSecret"
            );
        }
        Cred {
            token,
            rotation,
            user,
            password,
            json,
        }
    }

    /// Checks a credential read as `AWSCURRENT`.
    fn check_current(&self, out: &GetSecretValueOutput, f0: u64, s0: u64) -> Read {
        assert!(out.version_stages.contains(&StagingLabel::CURRENT));
        let cred = self.check(out);
        assert!(
            cred.rotation >= f0,
            "read AWSCURRENT of rotation {} after rotation {f0} had finished",
            cred.rotation
        );
        let seq = self.target.seq();
        assert!(
            cred.rotation <= seq,
            "AWSCURRENT of rotation {} before its setSecret took effect (seq {seq})",
            cred.rotation
        );
        Read { cred, f0, s0 }
    }

    fn read_current(&self) -> Read {
        let (f0, s0) = (self.ledger.finished(), self.target.seq());
        let out = self
            .session
            .get_secret_value(GetSecretValueInput::new(id(SECRET)))
            .unwrap();
        self.check_current(&out, f0, s0)
    }

    fn login(&self, c: &Cred) -> (bool, u64) {
        self.target.login(&c.user, &c.password)
    }

    /// The rules for a login with a credential read as `AWSCURRENT`: accepted at `seq == x`?
    fn check_use(&self, read: &Read, ok: bool, x: u64) {
        let j = read.cred.rotation;
        // The simulation itself: a password is replaced by the setSecret of the next rotation
        // (single user) or of the one after (alternating users).
        let works = if self.alternating { x < j + 2 } else { x == j };
        assert_eq!(ok, works, "the simulated target is inconsistent");
        if ok {
            return;
        }
        if self.alternating {
            assert!(
                x >= read.f0 + 2,
                "alternating users: a credential read when {} rotations had finished was refused before rotation {}'s setSecret (seq {x})",
                read.f0,
                read.f0 + 2
            );
        } else {
            assert!(
                x > read.s0 || read.s0 > read.f0,
                "single user: a credential was refused although no setSecret happened between its read and its use (seq {x}), and none was pending a finishSecret when it was read"
            );
        }
    }

    /// The rule for the one retry after a refusal of a credential of generation `j` at `seq ==
    /// x_fail`: it is accepted unless the target changed during the retry (`x != x_fail`), or
    /// (single user) the refused credential was two setSecrets behind.
    fn check_retry(&self, j: u64, x_fail: u64, ok: bool, x: u64) {
        if ok {
            return;
        }
        assert!(
            x != x_fail || (!self.alternating && x_fail >= j + 2),
            "the retry after a refusal failed, although no setSecret happened during it (seq {x}; the first credential was of rotation {j})"
        );
    }

    /// Logs in with `read` and checks the result; after a refusal, reads `AWSPENDING`, then
    /// `AWSCURRENT` again, retries once with the one the target should accept, and checks that.
    /// Returns whether the first login succeeded.
    fn use_and_retry(&self, read: &Read) -> bool {
        let (ok, x) = self.login(&read.cred);
        self.check_use(read, ok, x);
        if ok {
            return true;
        }
        let pending = match self.session.get_secret_value(
            GetSecretValueInput::new(id(SECRET)).version_stage(StagingLabel::PENDING),
        ) {
            Ok(out) => Some(self.check(&out)),
            Err(e) if e.kind() == ErrorKind::ResourceNotFound => None,
            Err(e) => panic!("reading AWSPENDING: {e}"),
        };
        let fresh = self.read_current();
        let retry = match pending {
            Some(p) if fresh.cred.json == read.cred.json && p.token != fresh.cred.token => p,
            _ => fresh.cred,
        };
        let (ok2, x2) = self.login(&retry);
        self.check_retry(read.cred.rotation, x, ok2, x2);
        false
    }

    /// One iteration of a reader.
    fn once(&self, kept: &mut Option<Read>) {
        // A credential read earlier keeps working as long as the rules say; it is kept until
        // it is refused.
        if let Some(old) = kept.as_ref()
            && !self.use_and_retry(old)
        {
            *kept = None;
        }

        // A credential read now.
        let now = self.read_current();
        self.use_and_retry(&now);
        if kept.is_none() {
            *kept = Some(now);
        }

        // The same through the cache's refresh-and-retry helper.
        let (f0, s0) = (self.ledger.finished(), self.target.seq());
        let mut calls: Vec<(Read, bool, u64)> = Vec::new();
        let r = self.cache.with_credential(&id(SECRET), |out| {
            let read = if calls.is_empty() {
                self.check_current(out, f0, s0)
            } else {
                Read {
                    cred: self.check(out),
                    f0,
                    s0,
                }
            };
            let (ok, x) = self.login(&read.cred);
            calls.push((read, ok, x));
            if ok {
                Ok(())
            } else {
                Err(Attempt::AuthFailed(x))
            }
        });
        let (first, ok, x) = &calls[0];
        self.check_use(first, *ok, *x);
        match &calls[..] {
            [_] => assert!(*ok && r.is_ok()),
            // One retry, after a fresh read gave back the refused credential: with AWSPENDING or
            // AWSCURRENT as a consistent pair of reads says. It succeeds unless the target changed
            // during it.
            [_, (_, ok2, x2)] => {
                assert!(!*ok);
                assert!(
                    *ok2 || x2 != x,
                    "with_credential's retry failed although no setSecret happened during it (seq {x2})"
                );
                assert_eq!(r.is_ok(), *ok2, "with_credential's result: {r:?}");
            }
            // A different fresh credential was refused too (the first was two or more rotations
            // old): the second retry follows the same rule from that credential, so it succeeds
            // unless the target changed during it. This closes the exception of the one-retry
            // reader above.
            [_, (_, ok2, _), (_, ok3, x3)] => {
                assert!(!*ok && !*ok2);
                let x2 = calls[1].2;
                assert!(
                    *ok3 || *x3 != x2,
                    "with_credential's second retry failed although no setSecret happened during it (seq {x3})"
                );
                assert_eq!(r.is_ok(), *ok3, "with_credential's result: {r:?}");
            }
            _ => panic!("with_credential called its closure {} times", calls.len()),
        }
    }

    fn run(&self) {
        let _leave = Leave(&self.alive);
        let mut kept = None;
        while !self.stop.load(SeqCst) {
            self.once(&mut kept);
            self.ops.fetch_add(1, SeqCst);
        }
    }

    /// Waits until the readers have done `n` more iterations (or one of them has stopped).
    fn let_run(&self, n: usize) {
        let until = self.ops.load(SeqCst) + n;
        while self.ops.load(SeqCst) < until && self.alive.load(SeqCst) == READERS {
            std::thread::yield_now();
        }
    }
}

/// Rotations by `plans` while `READERS` threads read and log in.
fn rotate_while_reading(alternating: bool, plans: &[Plan]) {
    let mut w = World::new(alternating);
    let target = w.target.clone();
    let ledger = w.ledger.clone();
    let readers = Readers {
        session: w.s(),
        cache: SecretCache::builder(w.s()).build(),
        target: &target,
        ledger: &ledger,
        alternating,
        stop: AtomicBool::new(false),
        ops: AtomicUsize::new(0),
        alive: AtomicUsize::new(READERS),
    };
    std::thread::scope(|scope| {
        let _stop = StopOnDrop(&readers.stop);
        for _ in 0..READERS {
            scope.spawn(|| readers.run());
        }
        for plan in plans {
            rotate(&mut w, plan, &mut |_| readers.let_run(2 * READERS));
            readers.let_run(READERS);
        }
    });
    assert_eq!(readers.alive.load(SeqCst), 0);
}

/// Rotations by `plans`, the store dropped and reopened at every interruption and after every
/// rotation.
fn rotate_with_reopen(alternating: bool, plans: &[Plan]) {
    let mut w = World::new(alternating);
    for plan in plans {
        rotate(&mut w, plan, &mut |w| {
            let before = w.s().rotation_status(&id(SECRET)).unwrap().unwrap();
            let current = w.exactly_one_current();
            w.reopen();
            // The interrupted rotation is still in progress at the same step.
            let after = w.s().rotation_status(&id(SECRET)).unwrap().unwrap();
            assert_eq!(
                (after.token, after.next_step),
                (before.token, before.next_step)
            );
            assert_eq!(w.exactly_one_current(), current);
            // The target accepts AWSCURRENT, except (single user) between setSecret and
            // finishSecret, where it accepts AWSPENDING instead.
            let pending = w.holders(&StagingLabel::PENDING);
            let accepted = w.accepts(&current) || (!w.alternating && w.accepts(&pending[0]));
            assert!(
                accepted,
                "the target accepts neither AWSCURRENT nor AWSPENDING"
            );
        });
        w.reopen();
        let t = w.tokens.last().unwrap().clone();
        assert_eq!(w.exactly_one_current(), t);
        assert!(w.accepts(&t));
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        max_shrink_iters: 32,
        ..ProptestConfig::default()
    })]

    #[test]
    fn single_user_rotation_never_yields_an_invalid_credential(
        plans in prop::collection::vec(plan(), 3..=6),
    ) {
        rotate_while_reading(false, &plans);
    }

    #[test]
    fn alternating_users_rotation_never_yields_an_invalid_credential(
        plans in prop::collection::vec(plan(), 3..=6),
    ) {
        rotate_while_reading(true, &plans);
    }

    #[test]
    fn an_interrupted_rotation_resumes_after_a_reopen(
        alternating in any::<bool>(),
        plans in prop::collection::vec(plan(), 2..=4),
    ) {
        rotate_with_reopen(alternating, &plans);
    }
}

// ---------------------------------------------------------------------------------------------
// with_credential: the fallback to AWSPENDING is decided on a consistent pair of reads
// ---------------------------------------------------------------------------------------------

/// A source over a session that runs `hook` once, just before its first read of `AWSPENDING`.
struct HookSource {
    session: Session,
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl SecretSource for HookSource {
    fn get_secret_value(
        &self,
        input: GetSecretValueInput,
    ) -> strongroom::Result<GetSecretValueOutput> {
        if input.version_stage.as_ref() == Some(&StagingLabel::PENDING) {
            let hook = self.hook.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
        }
        self.session.get_secret_value(input)
    }
}

#[test]
fn with_credential_does_not_retry_with_a_pending_version_newer_than_the_target() {
    // Single user, rotation 1 between its setSecret and its finishSecret: the target accepts
    // only the AWSPENDING password. A reader's AWSCURRENT is refused; it re-reads AWSCURRENT (the
    // same, refused one) and reads AWSPENDING to fall back to it; between those two reads,
    // rotation 1 finishes and rotation 2 starts and runs its createSecret. AWSPENDING is now
    // rotation 2's password, which the target does not accept yet; AWSCURRENT is rotation 1's,
    // which it does. No setSecret happened during the call: the retry must succeed.
    let mut w = World::new(false);
    let t1 = rotation_token(1);
    w.ledger.register(&t1, 1);
    w.s()
        .rotate_secret(
            RotateSecretInput::new(id(SECRET))
                .client_request_token(t1.clone())
                .rotation_lambda_arn(FUNCTION),
        )
        .unwrap();
    assert_eq!(drive(&w, &t1, Some(2)), Ended::Paused);
    w.tokens.push(t1);
    let t2 = rotation_token(2);
    w.ledger.register(&t2, 2);

    let store = w.store.clone();
    let hook = move || {
        let s = store.as_system();
        assert!(matches!(
            s.drive_rotation(&id(SECRET)).unwrap(),
            DriveOutcome::Completed { .. }
        ));
        s.rotate_secret(RotateSecretInput::new(id(SECRET)).client_request_token(t2))
            .unwrap();
        assert!(matches!(
            s.drive_rotation_steps(&id(SECRET), 1).unwrap(),
            DriveOutcome::Paused {
                next: RotationStep::SetSecret
            }
        ));
    };
    let source = Arc::new(HookSource {
        session: w.s(),
        hook: Mutex::new(Some(Box::new(hook))),
    });
    let cache = SecretCache::builder_with_source(source, w.clock.clone())
        .invalidated_by(&w.store)
        .build();

    let mut used = Vec::new();
    let r = cache.with_credential(&id(SECRET), |out| {
        let (user, password) = parse(&out.value).unwrap();
        used.push(out.version_id.clone());
        let (ok, _) = w.target.login(&user, &password);
        if ok {
            Ok(())
        } else {
            Err(Attempt::AuthFailed(()))
        }
    });
    assert_eq!(w.target.seq(), 1, "no setSecret ran during the call");
    assert!(
        r.is_ok(),
        "refused twice (tried {used:?}); AWSCURRENT is {:?}",
        w.holders(&StagingLabel::CURRENT)
    );
    assert_eq!(used, [w.tokens[0].clone(), w.tokens[1].clone()]);
}
