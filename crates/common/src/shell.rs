//! Running a shell command the way the remote-execution stages do: `sh -c`
//! on Unix, `cmd /C` on Windows, standard output followed by standard error,
//! with a timeout and an output cap.
//!
//! Why the limits: a remote-execution server runs whatever it is sent. Without
//! a timeout `sleep 60` would block the connection for a minute; without a cap
//! `yes` would fill the server's memory. On Unix the command gets a process
//! group of its own, so the timeout kills the shell *and* everything it
//! started, not just the shell.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a command may run and how much output it may produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShellLimits {
    /// Killed after this long (default 5 s).
    pub timeout: Duration,
    /// Bytes of stdout plus stderr kept (default 1 MiB); past it the command
    /// is killed and the rest discarded.
    pub output_cap: usize,
}

impl Default for ShellLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            output_cap: 1024 * 1024,
        }
    }
}

/// What a command produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellOutput {
    /// Standard output, at most the cap.
    pub stdout: Vec<u8>,
    /// Standard error, at most what the cap left after stdout.
    pub stderr: Vec<u8>,
    /// The exit status, when the command ended on its own.
    pub status: Option<ExitStatus>,
    /// The command overstayed the timeout and was killed.
    pub timed_out: bool,
    /// The output passed the cap; the rest was discarded and the command killed.
    pub truncated: bool,
    /// The limits it ran under, so that the notes can name them.
    pub limits: ShellLimits,
}

impl ShellOutput {
    /// The bytes a remote-execution server sends back: stdout, then stderr,
    /// then a note line if the command was killed or its output cut, so the
    /// client is told why its answer is short.
    pub fn reply(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.stdout.len() + self.stderr.len());
        out.extend_from_slice(&self.stdout);
        out.extend_from_slice(&self.stderr);
        if let Some(note) = self.note() {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(note.as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// The note that explains a killed or cut command, if any.
    pub fn note(&self) -> Option<String> {
        if self.timed_out {
            Some(format!(
                "[server: command killed after the {} timeout]",
                describe_duration(self.limits.timeout)
            ))
        } else if self.truncated {
            Some(format!(
                "[server: output cut at {} bytes; the rest was discarded and the command killed]",
                self.limits.output_cap
            ))
        } else {
            None
        }
    }
}

fn describe_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

enum Event {
    Exited(io::Result<ExitStatus>),
    Drained,
    CapReached,
}

/// Runs `command_line` through the platform shell under `limits`.
///
/// Errors only when the shell itself cannot be started; a command that fails,
/// times out or floods is an ordinary [`ShellOutput`].
pub fn run_shell(command_line: &str, limits: ShellLimits) -> io::Result<ShellOutput> {
    let mut child = shell_command(command_line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let kept = Arc::new(AtomicUsize::new(0));
    let cap_hit = Arc::new(AtomicBool::new(false));

    let stdout = child.stdout.take().map(|pipe| {
        drain(
            pipe,
            limits.output_cap,
            Arc::clone(&kept),
            Arc::clone(&cap_hit),
            tx.clone(),
        )
    });
    let stderr = child.stderr.take().map(|pipe| {
        drain(
            pipe,
            limits.output_cap,
            Arc::clone(&kept),
            Arc::clone(&cap_hit),
            tx.clone(),
        )
    });
    let waiter = {
        let tx = tx.clone();
        thread::spawn(move || wait_child(child, tx))
    };
    drop(tx);

    let deadline = Instant::now() + limits.timeout;
    let mut exited: Option<io::Result<ExitStatus>> = None;
    let mut drained = 0;
    let pipes = stdout.is_some() as usize + stderr.is_some() as usize;
    let mut timed_out = false;
    let mut killed = false;
    while exited.is_none() || drained < pipes {
        let wait = deadline.saturating_duration_since(Instant::now());
        let event = if killed {
            // After the kill, everything ends promptly; a bounded wait keeps
            // a process that escaped its group from hanging the server.
            rx.recv_timeout(Duration::from_secs(2))
        } else {
            rx.recv_timeout(wait)
        };
        match event {
            Ok(Event::Exited(status)) => exited = Some(status),
            Ok(Event::Drained) => drained += 1,
            Ok(Event::CapReached) => {
                if !killed {
                    kill_tree(pid);
                    killed = true;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if !killed => {
                timed_out = true;
                kill_tree(pid);
                killed = true;
            }
            // Either every sender is gone or the killed tree still did not
            // close its pipes: stop waiting, keep what was captured.
            Err(_) => break,
        }
    }
    let _ = waiter; // the waiter thread ends with the child; never joined to keep this bounded
                    // A drain thread sends `Drained` just before it returns its buffer, so
                    // once every pipe has reported, joining waits only for that return.
    let all_drained = drained >= pipes;
    let stdout = stdout
        .map(|h| join_drain(h, all_drained))
        .unwrap_or_default();
    let stderr = stderr
        .map(|h| join_drain(h, all_drained))
        .unwrap_or_default();
    let truncated = cap_hit.load(Ordering::SeqCst);
    let status = match exited {
        Some(Ok(status)) if !timed_out && !truncated => Some(status),
        Some(Err(e)) => return Err(e),
        _ => None,
    };
    Ok(ShellOutput {
        stdout,
        stderr,
        status,
        timed_out,
        truncated,
        limits,
    })
}

fn join_drain(handle: thread::JoinHandle<Vec<u8>>, drained: bool) -> Vec<u8> {
    // A drain thread only reads into a Vec; if it somehow panicked, the
    // output it held is lost but the server carries on. When a killed tree
    // still holds a pipe open (the give-up path), the thread may never end:
    // do not wait for it then.
    if drained || handle.is_finished() {
        handle.join().unwrap_or_default()
    } else {
        Vec::new()
    }
}

fn drain(
    mut pipe: impl Read + Send + 'static,
    cap: usize,
    kept: Arc<AtomicUsize>,
    cap_hit: Arc<AtomicBool>,
    tx: mpsc::Sender<Event>,
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    // Reserve room under the shared cap; whatever does not
                    // fit is read and thrown away so the child never blocks
                    // on a full pipe before it is killed.
                    let before = kept.fetch_add(n, Ordering::SeqCst);
                    let room = cap.saturating_sub(before);
                    out.extend_from_slice(&buf[..n.min(room)]);
                    if n > room && !cap_hit.swap(true, Ordering::SeqCst) {
                        let _ = tx.send(Event::CapReached);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = tx.send(Event::Drained);
        out
    })
}

fn wait_child(mut child: Child, tx: mpsc::Sender<Event>) {
    let status = child.wait();
    let _ = tx.send(Event::Exited(status));
}

#[cfg(unix)]
fn shell_command(command_line: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command_line);
    // A process group of its own: the timeout can then kill the shell and
    // every process it started in one signal.
    cmd.process_group(0);
    cmd
}

#[cfg(windows)]
fn shell_command(command_line: &str) -> Command {
    let mut cmd = Command::new("cmd");
    cmd.arg("/C").arg(command_line);
    cmd
}

#[cfg(unix)]
fn kill_tree(pid: u32) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(pid) {
        // The group may already be gone; nothing to do then.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

#[cfg(windows)]
fn kill_tree(pid: u32) {
    // No process groups to signal: ask taskkill to end the tree.
    let _ = Command::new("taskkill")
        .args(["/F", "/T", "/PID", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::testing::PATIENCE;

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
}
