//! Rotation functions: what a `RotationLambdaARN` maps to, and the background task that runs
//! due rotations (ROT rules).
//!
//! The server's configuration maps a rotation function's ARN to a local command or to a built-in
//! rotator (`builtin:postgres-single-user`, `builtin:postgres-alternating-users`, run in the
//! server's process). A command is run once per step, as AWS invokes a Lambda function: the event
//! `{"Step", "SecretId", "ClientRequestToken"}` as JSON on standard input, and in its environment
//! the server's own endpoint, the secret's region and credentials, so that a Python rotation
//! function written for AWS (boto3 inside) runs unchanged. Its exit status is the step's result;
//! its output is logged at debug level only (target [`OUTPUT_TARGET`]), never in the step's
//! error, which is kept unencrypted in the secret's record: a traceback can quote a value.
//! A command runs in a process group of its own, killed whole when the step times out or the
//! server stops.

mod command;
mod reaper;
mod scheduler;

pub use reaper::become_subreaper;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// How long one step of a rotation command may run before it is killed, unless configured.
pub const DEFAULT_ROTATION_STEP_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the server looks for rotations that are due, unless configured. `RotateSecret`
/// wakes it at once.
pub const DEFAULT_ROTATION_INTERVAL: Duration = Duration::from_secs(10);
/// How long shutdown waits for the rotation task to stop (a command's step is killed at once;
/// a built-in rotator's step is waited for this long).
pub const ROTATION_STOP_WAIT: Duration = Duration::from_secs(30);

/// The prefix of a mapping that names a built-in rotator instead of a command.
const BUILTIN_PREFIX: &str = "builtin:";
/// The built-in rotators this build has: PostgreSQL's with the `postgres` cargo feature.
#[cfg(feature = "postgres")]
const BUILTINS: &[&str] = &[POSTGRES_SINGLE_USER, POSTGRES_ALTERNATING_USERS];
#[cfg(not(feature = "postgres"))]
const BUILTINS: &[&str] = &[];
#[cfg(feature = "postgres")]
const POSTGRES_SINGLE_USER: &str = "postgres-single-user";
#[cfg(feature = "postgres")]
const POSTGRES_ALTERNATING_USERS: &str = "postgres-alternating-users";
/// The most of a command's standard output (and, apart, of its error output) kept for the log:
/// the last bytes, where a traceback ends.
const MAX_OUTPUT_BYTES: usize = 8 * 1024;
/// The log target of a command's output, logged at debug level only: it can hold secret values
/// (a function's prints, a traceback quoting a value).
const OUTPUT_TARGET: &str = "strongroom_server::rotation::output";
/// How long the output of a command that ended is still read (a process it started may keep
/// the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_secs(2);
/// The credentials a rotation command signs with when authentication is off (any are accepted).
const ANONYMOUS_KEY: (&str, &str) = ("strongroom-rotation", "strongroom-rotation-unauthenticated");

/// What a rotation function ARN maps to. Its `Debug` shows a command's program and how many
/// arguments follow, not the arguments (one could hold something private).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationFunction {
    /// A local command, program and arguments, run without a shell once per step.
    Command(Vec<String>),
    /// The engine's PostgreSQL rotator (`builtin:postgres-single-user`,
    /// `builtin:postgres-alternating-users`), run in the server's process; the secret's JSON
    /// value names the database, as for AWS's RDS rotation functions.
    #[cfg(feature = "postgres")]
    Postgres(strongroom::PostgresStrategy),
}

impl fmt::Debug for RotationFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Command(argv) => CommandSummary(argv).fmt(f),
            #[cfg(feature = "postgres")]
            Self::Postgres(strategy) => f.debug_tuple("Postgres").field(strategy).finish(),
        }
    }
}

/// A command line for `Debug`: its program and the number of arguments, never the arguments.
struct CommandSummary<'a>(&'a [String]);

impl fmt::Debug for CommandSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("program", &self.0.first().map_or("", String::as_str))
            .field("args", &self.0.len().saturating_sub(1))
            .finish()
    }
}

impl RotationFunction {
    /// Parses the `COMMAND` of a mapping: `builtin:NAME` names a built-in rotator; anything else
    /// is a command line, split into words as a POSIX shell would (quotes, backslashes; no
    /// variables, globs or pipes), and run without a shell.
    ///
    /// ## Errors
    /// An empty command, unbalanced quotes, or an unknown built-in rotator.
    pub fn parse(command: &str) -> Result<Self, String> {
        if let Some(name) = command.trim().strip_prefix(BUILTIN_PREFIX) {
            #[cfg(feature = "postgres")]
            match name {
                POSTGRES_SINGLE_USER => {
                    return Ok(Self::Postgres(strongroom::PostgresStrategy::SingleUser));
                }
                POSTGRES_ALTERNATING_USERS => {
                    return Ok(Self::Postgres(
                        strongroom::PostgresStrategy::AlternatingUsers,
                    ));
                }
                _ => {}
            }
            let known = if BUILTINS.is_empty() {
                "this server has none".to_owned()
            } else {
                format!("known: {}", BUILTINS.join(", "))
            };
            return Err(format!("unknown built-in rotator '{name}' ({known})"));
        }
        let words = shell_words::split(command)
            .map_err(|e| format!("the command cannot be split into words: {e}"))?;
        if words.first().is_none_or(String::is_empty) {
            return Err("the command is empty".to_owned());
        }
        Ok(Self::Command(words))
    }
}

/// Parses one `ARN=COMMAND` mapping (the `--rotation-function` flag): the ARN is everything
/// before the first `=`.
///
/// ## Errors
/// No `=`, an empty ARN, or a command [`RotationFunction::parse`] refuses.
pub fn parse_rotation_mapping(mapping: &str) -> Result<(String, RotationFunction), String> {
    let (arn, command) = mapping
        .split_once('=')
        .ok_or_else(|| format!("expected ARN=COMMAND, got '{mapping}'"))?;
    let arn = arn.trim();
    if arn.is_empty() {
        return Err(format!(
            "expected ARN=COMMAND, got an empty ARN in '{mapping}'"
        ));
    }
    let function = RotationFunction::parse(command).map_err(|e| format!("{arn}: {e}"))?;
    Ok((arn.to_owned(), function))
}

/// Validates a table of `ARN = COMMAND` mappings (a settings file's `[rotation_functions]`).
///
/// ## Errors
/// The first entry with an empty ARN or a command [`RotationFunction::parse`] refuses.
pub fn parse_rotation_table(
    table: &BTreeMap<String, String>,
) -> Result<Vec<(String, RotationFunction)>, String> {
    table
        .iter()
        .map(|(arn, command)| {
            let arn = arn.trim();
            if arn.is_empty() {
                return Err("a rotation function has an empty ARN".to_owned());
            }
            let function = RotationFunction::parse(command).map_err(|e| format!("{arn}: {e}"))?;
            Ok((arn.to_owned(), function))
        })
        .collect()
}

/// The rotation settings of a server.
#[derive(Clone, Debug)]
pub(crate) struct RotationSettings {
    pub(crate) functions: BTreeMap<String, RotationFunction>,
    /// The configured step timeout; commands default to [`DEFAULT_ROTATION_STEP_TIMEOUT`],
    /// built-in rotators to their own.
    pub(crate) step_timeout: Option<Duration>,
    pub(crate) interval: Duration,
    pub(crate) access_key_id: Option<String>,
    /// The CA certificates (PEM) the built-in PostgreSQL rotators trust; `None`: the platform's.
    #[cfg_attr(
        not(feature = "postgres"),
        expect(dead_code, reason = "read by the built-in rotators")
    )]
    pub(crate) postgres_ca_file: Option<std::path::PathBuf>,
    /// Variables of the server's environment rotation commands get besides the basics.
    pub(crate) env_allow: Vec<String>,
    /// The user rotation commands run as; `None`: the server's.
    pub(crate) user: Option<CommandUser>,
    /// With TLS, the server's certificate file: commands get it as `AWS_CA_BUNDLE`.
    pub(crate) ca_bundle: Option<std::path::PathBuf>,
    /// Woken by `RotateSecret`, so that a rotation it started runs at once.
    pub(crate) wake: Arc<Notify>,
}

/// The OS user rotation commands run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommandUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) home: std::path::PathBuf,
}

impl CommandUser {
    /// Looks `name` up; running commands as another user needs the server to run as root.
    pub(crate) fn lookup(name: &str) -> Result<Self, String> {
        let user = nix::unistd::User::from_name(name)
            .map_err(|e| format!("looking up user {name:?}: {e}"))?
            .ok_or_else(|| format!("no such user: {name:?}"))?;
        if !nix::unistd::geteuid().is_root() && user.uid != nix::unistd::geteuid() {
            return Err(format!(
                "running rotation commands as {name:?} needs the server to run as root"
            ));
        }
        Ok(Self {
            name: user.name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        })
    }
}

impl Default for RotationSettings {
    fn default() -> Self {
        Self {
            functions: BTreeMap::new(),
            step_timeout: None,
            interval: DEFAULT_ROTATION_INTERVAL,
            access_key_id: None,
            postgres_ca_file: None,
            env_allow: Vec::new(),
            user: None,
            ca_bundle: None,
            wake: Arc::new(Notify::new()),
        }
    }
}

/// The URL that a process on this machine reaches a server bound to `addr` at.
pub(crate) fn endpoint_url(addr: SocketAddr, tls: bool) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

/// Whether `stop` is true, or its sender is gone (the server stopped).
fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Completes when `stop` is true, or its sender is gone (the server stopped).
async fn wait_stop(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub(crate) use scheduler::start;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn commands_are_split_as_a_shell_would() {
        assert_eq!(
            RotationFunction::parse(r#"python3 "/opt/my rotator.py" --flag='a b' x\ y"#).unwrap(),
            RotationFunction::Command(vec![
                "python3".into(),
                "/opt/my rotator.py".into(),
                "--flag=a b".into(),
                "x y".into(),
            ])
        );
        assert!(RotationFunction::parse("").is_err());
        assert!(RotationFunction::parse("   ").is_err());
        assert!(RotationFunction::parse("''").is_err());
        assert!(
            RotationFunction::parse("python3 'unbalanced")
                .unwrap_err()
                .contains("cannot be split")
        );
        let e = RotationFunction::parse("builtin:no-such-rotator").unwrap_err();
        assert!(
            e.contains("unknown built-in rotator 'no-such-rotator'"),
            "{e}"
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn without_the_postgres_feature_there_are_no_builtins() {
        let e = RotationFunction::parse("builtin:postgres-single-user").unwrap_err();
        assert!(
            e.contains("unknown built-in rotator 'postgres-single-user' (this server has none)"),
            "{e}"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn the_postgres_builtins_parse() {
        use strongroom::PostgresStrategy;
        assert_eq!(
            RotationFunction::parse("builtin:postgres-single-user").unwrap(),
            RotationFunction::Postgres(PostgresStrategy::SingleUser)
        );
        assert_eq!(
            RotationFunction::parse(" builtin:postgres-alternating-users ").unwrap(),
            RotationFunction::Postgres(PostgresStrategy::AlternatingUsers)
        );
        let e = RotationFunction::parse("builtin:postgres").unwrap_err();
        assert!(
            e.contains("known: postgres-single-user, postgres-alternating-users"),
            "{e}"
        );
    }

    #[test]
    fn mappings_split_at_the_first_equals_sign() {
        let (arn, f) =
            parse_rotation_mapping("arn:aws:lambda:us-east-1:1:function:f=env A=B run").unwrap();
        assert_eq!(arn, "arn:aws:lambda:us-east-1:1:function:f");
        assert_eq!(
            f,
            RotationFunction::Command(vec!["env".into(), "A=B".into(), "run".into()])
        );
        assert!(parse_rotation_mapping("no-equals-sign").is_err());
        assert!(parse_rotation_mapping("=cmd").is_err());
        assert!(parse_rotation_mapping("arn=").is_err());
    }

    #[test]
    fn the_endpoint_of_an_unspecified_address_is_loopback() {
        assert_eq!(
            endpoint_url("0.0.0.0:7320".parse().unwrap(), false),
            "http://127.0.0.1:7320"
        );
        assert_eq!(
            endpoint_url("[::]:80".parse().unwrap(), false),
            "http://[::1]:80"
        );
        assert_eq!(
            endpoint_url("10.1.2.3:9".parse().unwrap(), true),
            "https://10.1.2.3:9"
        );
    }
}
