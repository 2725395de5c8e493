//! Windows has no `poll` for pipes: one thread per pipe reads into a
//! shared buffer, so what was captured can be returned even when a
//! process the tree kill did not reach keeps a pipe open (its reader
//! thread then ends when that process does).

use super::*;
use std::sync::{Mutex, PoisonError};

enum Event {
    /// The shell's status, and the shell itself: holding its handle keeps
    /// Windows from giving its process id to another process before
    /// `kill_tree` names that id. An id "may be reused" once every handle
    /// to the process is closed (Microsoft's `PROCESS_INFORMATION`
    /// reference), and `taskkill` would then end a stranger's tree.
    Exited(io::Result<ExitStatus>, Child),
    Drained,
}

pub(super) fn collect(mut child: Child, limits: ShellLimits) -> io::Result<ShellOutput> {
    let pid = child.id();
    let captured = Arc::new(Mutex::new(Captured::new(limits.output_cap)));
    let (tx, rx) = mpsc::channel();
    let mut pipes = 0;
    if let Some(pipe) = child.stdout.take() {
        drain(pipe, 0, Arc::clone(&captured), tx.clone());
        pipes += 1;
    }
    if let Some(pipe) = child.stderr.take() {
        drain(pipe, 1, Arc::clone(&captured), tx.clone());
        pipes += 1;
    }
    {
        let tx = tx.clone();
        thread::spawn(move || {
            let status = child.wait();
            let _ = tx.send(Event::Exited(status, child));
        });
    }
    drop(tx);
    let deadline = Instant::now() + limits.timeout;
    let mut exited: Option<io::Result<ExitStatus>> = None;
    // Dropped when this function returns, after any kill_tree.
    let mut _shell: Option<Child> = None;
    let mut drained = 0;
    let mut timed_out = false;
    let mut killed = false;
    let mut give_up = None;
    let truncated = || {
        captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .truncated
    };
    while exited.is_none() || drained < pipes {
        let now = Instant::now();
        if !killed && (now >= deadline || truncated()) {
            timed_out = now >= deadline;
            kill_tree(pid);
            killed = true;
            give_up = Some(now + DRAIN_GRACE);
        }
        let until = give_up.unwrap_or(deadline);
        if now >= until && killed {
            break;
        }
        let wait = until
            .saturating_duration_since(now)
            .min(Duration::from_millis(10));
        match rx.recv_timeout(wait) {
            Ok(Event::Exited(status, shell)) => {
                exited = Some(status);
                _shell = Some(shell);
            }
            Ok(Event::Drained) => drained += 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let abandoned_output = killed && drained < pipes;
    let taken = {
        let mut c = captured.lock().unwrap_or_else(PoisonError::into_inner);
        Captured {
            stdout: std::mem::take(&mut c.stdout),
            stderr: std::mem::take(&mut c.stderr),
            cap: c.cap,
            truncated: c.truncated,
        }
    };
    let status = match exited {
        Some(Ok(status)) if !killed => Some(status),
        Some(Err(e)) => return Err(e),
        _ => None,
    };
    Ok(ShellOutput {
        stdout: taken.stdout,
        stderr: taken.stderr,
        status,
        timed_out,
        truncated: taken.truncated && !timed_out,
        limits,
        shell_finished: false,
        escaped: 0,
        unkillable: 0,
        abandoned_output,
    })
}

fn drain(
    mut pipe: impl Read + Send + 'static,
    slot: usize,
    captured: Arc<Mutex<Captured>>,
    tx: mpsc::Sender<Event>,
) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => captured
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keep(slot, &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = tx.send(Event::Drained);
    });
}

fn kill_tree(pid: u32) {
    // No process groups to signal: ask taskkill to end the tree.
    let _ = Command::new("taskkill")
        .args(["/F", "/T", "/PID", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
