//! Running a stage's binaries the way a student does in two terminals, from
//! a test: a server process started on `127.0.0.1:0` whose `listening on
//! ADDR` line says where it is, and a client process fed a script on
//! standard input.
//!
//! Every wait is bounded, so a test whose program hangs fails with a message
//! instead of hanging the suite, and a server process is killed when its
//! [`ServerProcess`] is dropped, however the test ends.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for a program that should answer at once: it takes
/// milliseconds on an idle machine, and a loaded one can stall a process for
/// seconds; a test only waits this long when it is about to fail anyway.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Removes the variables a binary chooses its language from (`STICKY_LANG`,
/// then `LC_ALL` or `LANG`), so that it speaks English whatever the
/// machine's locale: a test run on a zh_CN machine would otherwise read
/// Chinese.
pub fn in_english(command: &mut Command) -> &mut Command {
    command
        .env_remove("STICKY_LANG")
        .env_remove("LC_ALL")
        .env_remove("LANG")
}

/// A server binary running in the background.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    log: Receiver<String>,
}

impl ServerProcess {
    /// Starts `bin` with `args` (which should include `--addr 127.0.0.1:0`)
    /// and waits for its first standard-error line, `listening on ADDR`.
    /// The rest of its standard error stays readable with
    /// [`ServerProcess::wait_log`].
    pub fn start<I, S>(bin: &str, args: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            return Err(io::Error::other(
                "the server's standard error is not a pipe",
            ));
        };
        let (tx, log) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let first = server.log.recv_timeout(PATIENCE).map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{bin} printed nothing on standard error within {PATIENCE:?}"),
            )
        })?;
        server.addr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{bin}'s first line should be `listening on ADDR`, it was {first:?}"),
                )
            })?;
        Ok(server)
    }

    /// The address the server really listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for a line of the server's standard error that contains
    /// `needle`, and returns it; skips the lines before it.
    pub fn wait_log(&self, needle: &str) -> io::Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(_) => {}
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the server logged no line with {needle:?} within {PATIENCE:?}"),
                    ))
                }
            }
        }
    }

    /// Every line the server has logged so far and not yet been read.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

fn read_to_end_on_thread(mut pipe: impl io::Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        out
    })
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `bin` with `args`, feeds `input` to its standard input and closes
/// it, and returns what it printed; fails instead of waiting past
/// [`PATIENCE`].
pub fn run_with_input<I, S>(bin: &str, args: I, input: &[u8]) -> io::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_in(bin, args, input, None, PATIENCE)
}

/// [`run_with_input`] for a program that does a lot before it ends (the
/// whole tour): fails instead of waiting past `patience`.
pub fn run_with_input_within<I, S>(
    bin: &str,
    args: I,
    input: &[u8],
    patience: Duration,
) -> io::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_in(bin, args, input, None, patience)
}

/// [`run_with_input`] in the working directory `dir` (upload clients name
/// files relative to it).
pub fn run_with_input_in<I, S>(
    bin: &str,
    args: I,
    input: &[u8],
    dir: &std::path::Path,
) -> io::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_in(bin, args, input, Some(dir), PATIENCE)
}

fn run_in<I, S>(
    bin: &str,
    args: I,
    input: &[u8],
    dir: Option<&std::path::Path>,
    patience: Duration,
) -> io::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(bin);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A client that exits early (on `exit`) closes its end: not an error.
        match stdin.write_all(input) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e),
            _ => {}
        }
    }
    // The output is read on threads of its own, so a client that prints a
    // lot never blocks on a full pipe while this thread watches the clock.
    let stdout = child.stdout.take().map(read_to_end_on_thread);
    let stderr = child.stderr.take().map(read_to_end_on_thread);
    let deadline = Instant::now() + patience;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            // Do not leave a hung program running after the test has failed.
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{bin} did not finish within {patience:?} and was killed"),
            ));
        }
        thread::sleep(Duration::from_millis(5));
    };
    let collect = |h: Option<thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}
