//! The shell runner's tests (Unix): real `sh -c` children, their timeouts,
//! their output caps and the processes they leave behind.

use super::*;
use crate::testing::{running_with_arg, PATIENCE};

/// The timeout a command meets when the test wants it killed: long
/// enough for a loaded machine to start `sh` and run the `echo` before
/// it, short enough that waiting for the kill keeps the suite quick.
const KILL_TIMEOUT: Duration = Duration::from_secs(1);

/// Limits for a command that should finish: [`PATIENCE`] to do it.
fn quick() -> ShellLimits {
    ShellLimits {
        timeout: PATIENCE,
        output_cap: 64 * 1024,
    }
}

/// Standard output comes first, then standard error, whatever order they were written in.
#[test]
fn stdout_then_stderr() {
    let out = run_shell("echo err 1>&2; echo out", quick()).unwrap();
    assert_eq!(out.reply(), b"out\nerr\n");
    assert!(out.status.is_some_and(|s| s.success()));
}

/// A command with no output gives an empty reply and no note.
#[test]
fn no_output_is_empty() {
    let out = run_shell("true", quick()).unwrap();
    assert!(out.reply().is_empty());
}

/// A command that overstays is killed, its children with it, and the reply says so.
#[test]
fn timeout_kills_the_group() {
    let start = Instant::now();
    let limits = ShellLimits {
        timeout: KILL_TIMEOUT,
        ..quick()
    };
    let out = run_shell("echo started; sleep 30 & sleep 30", limits).unwrap();
    assert!(out.timed_out);
    assert!(start.elapsed() < PATIENCE);
    let reply = String::from_utf8(out.reply()).unwrap();
    assert!(reply.starts_with("started\n"), "{reply}");
    assert!(reply.contains("killed after the 1 s timeout"), "{reply}");
}

/// A process that leaves the process group (`setsid`) and holds the
/// output pipe is killed too: the reply comes at the timeout, keeps what
/// was printed, says truthfully what happened, and nothing is left running.
#[test]
fn setsid_escapee_is_killed() {
    let limits = ShellLimits {
        timeout: Duration::from_millis(500),
        output_cap: 64 * 1024,
    };
    let start = Instant::now();
    // The pid makes the argument this test run's own: another run of the
    // suite on the same machine has its own escapee.
    let arg = format!("41.25{}", std::process::id());
    let out = run_shell(&format!("setsid sleep {arg} & echo started"), limits).unwrap();
    // Far below the 41 s the escapee would have held the pipe.
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(out.stdout, b"started\n");
    assert!(out.timed_out);
    let note = out.note().unwrap();
    assert!(note.contains("killed after the 500 ms timeout"), "{note}");
    if std::path::Path::new("/proc/self/environ").exists() {
        assert_eq!(out.escaped, 1, "{note}");
        assert!(
            note.contains("1 process(es) that had left its process group"),
            "{note}"
        );
        assert!(!out.abandoned_output, "{note}");
        assert_eq!(running_with_arg(&arg), 0, "the escapee still runs");
    }
}

/// A background process that outlives the shell and keeps the pipe open
/// is killed at the timeout; the note says the shell itself had finished.
#[test]
fn background_holder_is_killed_at_the_timeout() {
    let arg = format!("42.5{}", std::process::id());
    // Meant to be killed: the short timeout, not the patience of a
    // command that should finish.
    let limits = ShellLimits {
        timeout: KILL_TIMEOUT,
        ..quick()
    };
    let out = run_shell(&format!("sleep {arg} & echo hi"), limits).unwrap();
    assert_eq!(out.stdout, b"hi\n");
    assert!(out.timed_out && out.shell_finished);
    let note = out.note().unwrap();
    assert!(note.contains("the shell had finished"), "{note}");
    assert_eq!(
        running_with_arg(&arg),
        0,
        "the background process still runs"
    );
}

/// Endless output is cut at the cap and the command is killed long before the timeout.
#[test]
fn output_cap_cuts_yes() {
    let limits = ShellLimits {
        timeout: Duration::from_secs(20),
        output_cap: 10_000,
    };
    let start = Instant::now();
    let out = run_shell("yes", limits).unwrap();
    assert!(out.truncated);
    assert!(!out.timed_out);
    assert_eq!(out.stdout.len(), 10_000);
    assert!(start.elapsed() < PATIENCE);
    assert!(String::from_utf8_lossy(&out.reply()).contains("output cut at 10000 bytes"));
}
