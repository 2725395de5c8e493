//! Running a shell command the way the remote-execution stages do: `sh -c`
//! on Unix, `cmd /C` on Windows, standard output followed by standard error,
//! with a timeout and an output cap.
//!
//! Why the limits: a remote-execution server runs whatever it is sent. Without
//! a timeout `sleep 60` would block the connection for a minute; without a cap
//! `yes` would fill the server's memory.
//!
//! Why killing is harder than it looks: the shell may start processes that
//! outlive it and hold its output pipes open (`sleep 40 &`), and a process
//! can leave the shell's process group on purpose (`setsid sleep 40 &`), so
//! killing the shell's group is not enough. Every run is marked with an
//! environment variable of its own ([`MARKER_VAR`]), which every descendant
//! inherits; at the timeout the runner kills the group and then, on Linux,
//! every process whose `/proc/PID/environ` carries the mark. On Unix the
//! output is read with `poll(2)` on the calling thread, so there is no reader
//! thread to leak: whatever happens, the runner stops waiting shortly after
//! the timeout, returns what it captured, and its note says what happened,
//! including a process it could not reach. On Windows the tree is ended
//! with `taskkill /T`, which finds descendants by their parent.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(windows)]
use std::sync::{mpsc, Arc};
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
    /// At the timeout the shell itself had already finished; what it had
    /// started in the background was still holding the output.
    pub shell_finished: bool,
    /// Processes killed that had left the command's process group (found by
    /// the run's mark, Linux only).
    pub escaped: usize,
    /// Processes carrying the run's mark that could not be killed.
    pub unkillable: usize,
    /// After the kill, a pipe was still held open by a process the runner
    /// could not find; it stopped waiting for it.
    pub abandoned_output: bool,
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

    /// The note that explains a killed or cut command, if any, in words
    /// that say what really happened.
    pub fn note(&self) -> Option<String> {
        let mut note = if self.timed_out {
            let mut text = format!(
                "command killed after the {} timeout",
                describe_duration(self.limits.timeout)
            );
            if self.shell_finished {
                text.push_str(
                    " (the shell had finished; what it started in the background still held \
                     its output)",
                );
            }
            text
        } else if self.truncated {
            format!(
                "output cut at {} bytes; the rest was discarded and the command killed",
                self.limits.output_cap
            )
        } else {
            return None;
        };
        if self.escaped > 0 {
            note.push_str(&format!(
                "; killed too: {} process(es) that had left its process group",
                self.escaped
            ));
        }
        if self.unkillable > 0 {
            note.push_str(&format!(
                "; {} process(es) it started could not be killed and may still run",
                self.unkillable
            ));
        }
        if self.abandoned_output {
            note.push_str(
                "; a process the server could not find still holds the output open, so the \
                 server stopped waiting for it",
            );
        }
        Some(format!("[server: {note}]"))
    }
}

fn describe_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The environment variable that marks every process of one run. Its value
/// is unique per run (the server's process id and a counter), so a sweep
/// kills this run's processes and nobody else's.
pub const MARKER_VAR: &str = "STICKY_PACKETS_RUN";

/// How long the runner still reads after the kill: what the command wrote
/// before it died is still in the pipe and belongs in the reply.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

fn new_marker() -> String {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    )
}

/// Output kept under the shared cap: stdout and stderr together.
struct Captured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Captured {
    fn new(cap: usize) -> Self {
        Self {
            stdout: Vec::new(),
            stderr: Vec::new(),
            cap,
            truncated: false,
        }
    }

    /// Keeps what fits under the cap; the rest is read and thrown away, so
    /// the command never blocks on a full pipe before it is killed.
    fn keep(&mut self, stream: usize, bytes: &[u8]) {
        let room = self
            .cap
            .saturating_sub(self.stdout.len() + self.stderr.len());
        let target = if stream == 0 {
            &mut self.stdout
        } else {
            &mut self.stderr
        };
        target.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            self.truncated = true;
        }
    }
}

/// Runs `command_line` through the platform shell under `limits`.
///
/// Errors only when the shell itself cannot be started; a command that fails,
/// times out or floods is an ordinary [`ShellOutput`].
pub fn run_shell(command_line: &str, limits: ShellLimits) -> io::Result<ShellOutput> {
    let marker = new_marker();
    let child = shell_command(command_line)
        .env(MARKER_VAR, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    collect(child, &marker, limits)
}

#[cfg(unix)]
fn collect(mut child: Child, marker: &str, limits: ShellLimits) -> io::Result<ShellOutput> {
    use std::fs::File;
    use std::os::fd::OwnedFd;

    let pid = child.id();
    let pipes: [Option<File>; 2] = [
        child.stdout.take().map(|p| File::from(OwnedFd::from(p))),
        child.stderr.take().map(|p| File::from(OwnedFd::from(p))),
    ];
    let mut pipes = pipes;
    let mut captured = Captured::new(limits.output_cap);
    let deadline = Instant::now() + limits.timeout;
    let mut status: Option<ExitStatus> = None;
    let mut timed_out = false;
    loop {
        if status.is_none() {
            status = child.try_wait()?;
        }
        if status.is_some() && pipes.iter().all(Option::is_none) {
            break;
        }
        if captured.truncated {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        // No descriptor tells when the shell exits, so look again at least
        // every 10 ms; output wakes the poll at once.
        read_ready(
            &mut pipes,
            &mut captured,
            (deadline - now).min(Duration::from_millis(10)),
        );
    }
    if !timed_out && !captured.truncated {
        return Ok(ShellOutput {
            stdout: captured.stdout,
            stderr: captured.stderr,
            status,
            limits,
            ..ShellOutput::default()
        });
    }

    let shell_finished = status.is_some();
    let sweep = kill_run(pid, marker);
    // The shell was killed (or had exited): reap it, within bounds, so no
    // zombie is left.
    let reap_by = Instant::now() + Duration::from_secs(1);
    while child.try_wait()?.is_none() && Instant::now() < reap_by {
        thread::sleep(Duration::from_millis(5));
    }
    // What was written before the kill is still in the pipes: read it, then
    // give up on a pipe that some unreachable process still holds.
    let grace_end = Instant::now() + DRAIN_GRACE;
    while pipes.iter().any(Option::is_some) {
        let now = Instant::now();
        if now >= grace_end {
            break;
        }
        read_ready(&mut pipes, &mut captured, grace_end - now);
    }
    let abandoned_output = pipes.iter().any(Option::is_some);
    Ok(ShellOutput {
        stdout: captured.stdout,
        stderr: captured.stderr,
        status: None,
        timed_out,
        truncated: captured.truncated && !timed_out,
        limits,
        shell_finished: timed_out && shell_finished,
        escaped: sweep.escaped,
        unkillable: sweep.unkillable,
        abandoned_output,
    })
    // Dropping `pipes` closes the descriptors, held or not.
}

/// Waits up to `wait` for output on the open pipes and reads what is there;
/// a pipe at end of file (or failing) is closed.
#[cfg(unix)]
fn read_ready(pipes: &mut [Option<std::fs::File>; 2], captured: &mut Captured, wait: Duration) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;

    let open: Vec<usize> = (0..2).filter(|&i| pipes[i].is_some()).collect();
    if open.is_empty() {
        thread::sleep(wait);
        return;
    }
    let ready: Vec<bool> = {
        let mut fds: Vec<PollFd<'_>> = pipes
            .iter()
            .flatten()
            .map(|f| PollFd::new(f.as_fd(), PollFlags::POLLIN))
            .collect();
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            // An interrupted poll is retried by the caller's loop.
            Ok(0) | Err(_) => return,
            Ok(_) => fds
                .iter()
                .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
                .collect(),
        }
    };
    let mut buf = [0u8; 16 * 1024];
    for (slot, is_ready) in open.into_iter().zip(ready) {
        if !is_ready {
            continue;
        }
        let Some(pipe) = pipes[slot].as_mut() else {
            continue;
        };
        // poll said readable: this read returns at once (data, or 0 at EOF).
        match pipe.read(&mut buf) {
            Ok(0) => pipes[slot] = None,
            Ok(n) => captured.keep(slot, &buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => pipes[slot] = None,
        }
    }
}

/// What the kill at the timeout found.
#[cfg(unix)]
#[derive(Default)]
struct Sweep {
    escaped: usize,
    unkillable: usize,
}

/// Kills the shell's process group, then every process carrying the run's
/// mark, a few rounds over so that a process forked in the middle of the
/// sweep is caught by the next round.
#[cfg(unix)]
fn kill_run(pid: u32, marker: &str) -> Sweep {
    use nix::sys::signal::{kill, killpg, Signal};
    use nix::unistd::{getpgid, Pid};

    let mut sweep = Sweep::default();
    let Ok(pid) = i32::try_from(pid) else {
        return sweep;
    };
    let group = Pid::from_raw(pid);
    // The group may already be gone; nothing to do then.
    let _ = killpg(group, Signal::SIGKILL);
    let mut seen = std::collections::HashSet::new();
    for round in 0..5 {
        let marked = marked_processes(marker);
        if marked.is_empty() {
            return sweep;
        }
        for p in &marked {
            let p = Pid::from_raw(*p);
            let outside = getpgid(Some(p)).is_ok_and(|g| g != group);
            match kill(p, Signal::SIGKILL) {
                Ok(()) if outside && seen.insert(p) => sweep.escaped += 1,
                Ok(()) => {}
                // Gone between the scan and the kill: nothing to do.
                Err(nix::errno::Errno::ESRCH) => {}
                Err(_) if round == 4 => sweep.unkillable += 1,
                Err(_) => {}
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    sweep.unkillable = sweep.unkillable.max(marked_processes(marker).len());
    sweep
}

/// The processes whose environment carries `MARKER_VAR=marker`. A process
/// that has died but is not yet reaped (a zombie) has an empty environment
/// and is not listed. Empty where there is no `/proc` (macOS): there only
/// the group kill applies.
#[cfg(unix)]
fn marked_processes(marker: &str) -> Vec<i32> {
    let needle = format!("{MARKER_VAR}={marker}\0").into_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = i32::try_from(std::process::id()).unwrap_or(-1);
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| p != own)
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_slice()))
        })
        .collect()
}

#[cfg(windows)]
fn collect(child: Child, _marker: &str, limits: ShellLimits) -> io::Result<ShellOutput> {
    windows::collect(child, limits)
}

#[cfg(windows)]
mod windows;

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
    use std::os::windows::process::CommandExt;
    let mut cmd = Command::new("cmd");
    // Raw, not quoted: `cmd` parses its own command line, and quoting it as
    // one argument would change what a student typed (`echo "a b"`).
    cmd.arg("/C").raw_arg(command_line);
    cmd
}

#[cfg(all(test, unix))]
mod tests;
