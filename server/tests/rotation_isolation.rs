//! What a rotation command inherits from the server, through the `strongroom` binary: a clean
//! environment (the basics, its AWS settings and only the variables the operator allows), a
//! private working folder outside the data folder, nothing left running after a step (its process
//! group killed, and what escaped the group with `setsid` killed and reaped by the server as child
//! subreaper), and, run as root, another OS user with `--rotation-user`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:isolation";

struct Server {
    child: tokio::process::Child,
    url: String,
    log: PathBuf,
}

/// Starts the binary in `dir` (data in `dir/data`) with `args`, and `env` added to its own.
async fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    let log = dir.join("server.log");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_strongroom"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .current_dir(dir);
    let (child, addr) = common::spawn_serving(command, &log).await;
    Server {
        child,
        url: format!("http://{addr}"),
        log,
    }
}

/// A folder everyone may enter and write (for a command run as another user).
fn open_folder(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// Creates a secret and starts its rotation with the command.
async fn rotate(server: &Server, name: &str) {
    let client = common::sdk_client_at(&server.url, "us-east-1", ("AKIDANY", "any-secret"));
    client
        .create_secret()
        .name(name)
        .secret_string("value")
        .send()
        .await
        .unwrap();
    client
        .rotate_secret()
        .secret_id(name)
        .rotation_lambda_arn(FUNCTION)
        .send()
        .await
        .unwrap();
}

/// Waits (at most 20 s) until `check` holds.
async fn eventually(what: &str, server: &Server, mut check: impl FnMut() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what} did not happen; server log:\n{}",
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
}

fn is_running(pid: &str) -> bool {
    Path::new("/proc").join(pid.trim()).exists()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_gets_a_clean_environment_and_a_private_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    open_folder(&out);
    let script = dir.path().join("f.sh");
    std::fs::write(
        &script,
        "env > \"$1/env.txt.tmp\"; pwd > \"$1/pwd.txt\"; mv \"$1/env.txt.tmp\" \"$1/env.txt\"; exit 1\n",
    )
    .unwrap();
    let mapping = format!("{FUNCTION}=/bin/sh {} {}", script.display(), out.display());
    let server = start(
        dir.path(),
        &[
            "--rotation-function",
            &mapping,
            "--rotation-env",
            "STRONGROOM_ALLOWED",
        ],
        &[
            ("FOO_DB_PASSWORD", "leaked-from-the-server"),
            ("STRONGROOM_ALLOWED", "passed-on"),
            ("AWS_PROFILE", "the-servers-profile"),
        ],
    )
    .await;
    rotate(&server, "isolation/env").await;
    eventually("the command's run", &server, || {
        out.join("env.txt").exists()
    })
    .await;
    let env = std::fs::read_to_string(out.join("env.txt")).unwrap();
    assert!(!env.contains("leaked-from-the-server"), "{env}");
    assert!(!env.contains("FOO_DB_PASSWORD"), "{env}");
    assert!(!env.contains("the-servers-profile"), "{env}");
    assert!(env.contains("STRONGROOM_ALLOWED=passed-on"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    assert!(
        env.contains(&format!("AWS_ENDPOINT_URL={}", server.url)),
        "{env}"
    );
    assert!(env.contains("AWS_REGION=us-east-1"), "{env}");
    let pwd = PathBuf::from(std::fs::read_to_string(out.join("pwd.txt")).unwrap().trim());
    assert!(!pwd.starts_with(dir.path()), "ran in {}", pwd.display());
    assert_ne!(pwd, std::env::current_dir().unwrap());
    // Its folder is removed after the step.
    eventually("the working folder's removal", &server, || !pwd.exists()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_a_failed_step_started_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    open_folder(&out);
    let script = dir.path().join("f.sh");
    // One process stays in the command's group, one leaves it with setsid.
    std::fs::write(
        &script,
        "sleep 600 </dev/null >/dev/null 2>&1 & echo $! > \"$1/grouped.pid\"\n\
         setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $! > \"$1/escaped.pid\"\n\
         sleep 0.2; touch \"$1/done\"; exit 1\n",
    )
    .unwrap();
    let mapping = format!("{FUNCTION}=/bin/sh {} {}", script.display(), out.display());
    let server = start(dir.path(), &["--rotation-function", &mapping], &[]).await;
    rotate(&server, "isolation/orphans").await;
    eventually("the command's run", &server, || out.join("done").exists()).await;
    let grouped = std::fs::read_to_string(out.join("grouped.pid")).unwrap();
    let escaped = std::fs::read_to_string(out.join("escaped.pid")).unwrap();
    eventually("the end of the grouped process", &server, || {
        !is_running(&grouped)
    })
    .await;
    eventually(
        "the end of the process that left the group",
        &server,
        || !is_running(&escaped),
    )
    .await;
    // The server writes its log in batches from a background thread: the line comes soon after.
    eventually("the log line about the escaped process", &server, || {
        std::fs::read_to_string(&server.log)
            .is_ok_and(|log| log.contains("outside its process group"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_runs_as_the_rotation_user() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    if !nix::unistd::geteuid().is_root() {
        // Only root may switch users: elsewhere the setting is refused at start.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--rotation-user",
                "nobody",
                "--data",
            ])
            .arg(dir.path().join("data"))
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("needs the server to run as root"), "{err}");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let out = dir.path().join("out");
    open_folder(&out);
    let script = dir.path().join("f.sh");
    std::fs::write(
        &script,
        "id -u > \"$1/uid.tmp\"; if cat \"$2\" >/dev/null 2>&1; then echo read; else echo refused; fi > \"$1/key.tmp\"\n\
         mv \"$1/key.tmp\" \"$1/key.txt\"; mv \"$1/uid.tmp\" \"$1/uid.txt\"; exit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = dir.path().join("data").join("master.key");
    let mapping = format!(
        "{FUNCTION}=/bin/sh {} {} {}",
        script.display(),
        out.display(),
        key.display()
    );
    let server = start(
        dir.path(),
        &["--rotation-function", &mapping, "--rotation-user", "nobody"],
        &[],
    )
    .await;
    rotate(&server, "isolation/user").await;
    eventually("the command's run", &server, || {
        out.join("uid.txt").exists()
    })
    .await;
    let uid = std::fs::read_to_string(out.join("uid.txt")).unwrap();
    assert_eq!(uid.trim(), nobody.uid.to_string());
    let key_read = std::fs::read_to_string(out.join("key.txt")).unwrap();
    assert_eq!(
        key_read.trim(),
        "refused",
        "the command read the master key"
    );
    drop(server);
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
