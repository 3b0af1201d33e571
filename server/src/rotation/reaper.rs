//! Processes a rotation command leaves behind. A command runs in a process group of its own,
//! killed whole after every step; a descendant that left the group (`setsid`, a daemon's double
//! fork) outlives that. When the server is a child subreaper ([`become_subreaper`], which the
//! `strongroom` binary does at start), such a descendant becomes the server's child once its
//! parent ends, and [`reap_orphans`] kills and reaps it: any child of the server that is not a
//! rotation command it is running.
//!
//! Only a process that is a subreaper reaps: elsewhere (a test harness, an application that
//! embeds the server) its other children are none of the rotation's business.

use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// The rotation commands running now (their pids). Held while a command is spawned and while
/// orphans are looked for, so that a command just started is never taken for an orphan.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Makes this process the child subreaper of its descendants (Linux `PR_SET_CHILD_SUBREAPER`).
pub fn become_subreaper() -> std::io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)
}

/// The lock on the running commands.
pub(super) fn running() -> MutexGuard<'static, Vec<i32>> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Forgets a command that has ended.
pub(super) fn ended(pid: i32) {
    running().retain(|p| *p != pid);
}

/// The children of this process, from `/proc` (empty where it cannot be read).
fn children() -> Vec<i32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // `pid (comm) state ppid ...`: the command name may hold spaces and parentheses.
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok())
                    == Some(me)
            })
        })
        .collect()
}

/// Kills and reaps every child of this process that is not a running rotation command, until
/// none is left (a killed orphan's own children become this process's in turn). Does nothing
/// unless this process is a child subreaper. Returns how many it reaped.
pub(super) fn reap_orphans() -> usize {
    if !nix::sys::prctl::get_child_subreaper().unwrap_or(false) {
        return 0;
    }
    let mut reaped = 0;
    // Each round can only uncover the children of the previous round's orphans.
    for _ in 0..64 {
        let orphans: Vec<i32> = {
            let running = running();
            children()
                .into_iter()
                .filter(|pid| !running.contains(pid))
                .collect()
        };
        if orphans.is_empty() {
            break;
        }
        for pid in orphans {
            let pid = Pid::from_raw(pid);
            let _ = kill(pid, Signal::SIGKILL);
            // A killed process is reaped at once; an error means someone else reaped it.
            if waitpid(pid, None).is_ok() {
                reaped += 1;
            }
        }
    }
    reaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_line_of_this_process_names_its_parent() {
        // This test process is not a subreaper: nothing is reaped, whatever its children.
        assert_eq!(reap_orphans(), 0);
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        assert_eq!(ppid, Some(std::os::unix::process::parent_id()));
    }
}
