//! Command-line pieces every stage shares.
//!
//! Each stage's `main.rs` declares its own clap parser (the defaults differ:
//! UDP 9000, remote execution 8008, uploads 8080); this module holds what
//! they have in common, so that every binary takes the same flags for the
//! same things, starts the same way and words its errors the same way.

use crate::builtin::{Interpreter, BUILTIN_FLAG_HELP};
use crate::shell::ShellLimits;
use std::io::{self, BufRead, IsTerminal, Write};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::Duration;

/// Writes a demo's transcript to standard output, whole, and flushes it.
pub fn print_transcript(transcript: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(transcript.as_bytes())?;
    out.flush()
}

/// The `--lang` flag of every stage's binary: the demo's language.
#[derive(clap::Args, Debug, Clone)]
pub struct LangArg {
    /// The demo's language: `en` or `zh-CN` (default: `STICKY_LANG`, then
    /// `LC_ALL` or `LANG` starting with `zh`, else English).
    #[arg(long = "lang", global = true)]
    pub lang: Option<String>,
}

impl LangArg {
    /// The language asked for, or else the one the environment suggests.
    pub fn choose(&self) -> crate::lang::Lang {
        crate::lang::Lang::choose(self.lang.as_deref())
    }
}

/// Binds a server's listening socket and prints `listening on ADDR` on
/// standard error, as every server's first line: scripts and tests read the
/// port from it, so nothing may come before it.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).map_err(|e| bind_error(addr, e))?;
    eprintln!("listening on {}", listener.local_addr()?);
    Ok(listener)
}

/// The error every server gives when it cannot listen: what went wrong,
/// and the way out (another port, or the OS's choice of one).
fn bind_error(addr: SocketAddr, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "could not listen on {addr}: {e}; is another server already using it? pick \
             another port with --addr, or let the OS choose one with --addr 127.0.0.1:0"
        ),
    )
}

/// The flags of every server that runs the commands it is sent (stages 2,
/// 3 and 4, and tokio-length): where it may listen, and how each command runs.
#[derive(clap::Args, Debug, Clone)]
pub struct RemoteExecArgs {
    /// Listen on a non-loopback address: anyone who can reach it runs commands as you.
    #[arg(long)]
    pub allow_remote: bool,
    /// Answer with the workspace's own `echo`, `seq`, `true`, ... (see
    /// [`BUILTIN_FLAG_HELP`], which clap shows instead of this comment).
    #[arg(long, help = BUILTIN_FLAG_HELP)]
    pub builtin: bool,
    /// Kill a command after this many milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Keep at most this many bytes of a command's output; past it the command is killed.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_output: usize,
}

impl RemoteExecArgs {
    /// The limits each command runs under; a zero timeout is refused, since
    /// it would kill every command before it started.
    pub fn shell_limits(&self) -> Result<ShellLimits, String> {
        if self.timeout_ms == 0 {
            return Err(
                "--timeout-ms 0 would kill every command at once; give at least 1, e.g. 5000"
                    .to_string(),
            );
        }
        Ok(ShellLimits {
            timeout: Duration::from_millis(self.timeout_ms),
            output_cap: self.max_output,
        })
    }

    /// The system shell, or with `--builtin` the workspace's own commands.
    pub fn interpreter(&self) -> Interpreter {
        Interpreter::from_flag(self.builtin)
    }

    /// Checks that `addr` may be used ([`check_remote_exec_bind`]), and
    /// returns the warning to print after `listening on` when it is not
    /// loopback.
    pub fn check_bind(&self, addr: SocketAddr) -> Result<Option<String>, String> {
        check_remote_exec_bind(addr, self.allow_remote)
    }

    /// The lines a remote-execution server prints after `listening on`: the
    /// warning if it listens beyond loopback, then how commands run.
    pub fn announce(&self, warning: Option<&str>) {
        if let Some(warning) = warning {
            eprintln!("{warning}");
        }
        eprintln!("{}", self.interpreter().describe());
    }
}

/// Parses `HOST:PORT` into one socket address, for clap's `value_parser`.
/// Host names are resolved; the first address wins.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let mut addrs = text.to_socket_addrs().map_err(|e| {
        format!("`{text}` is not an address: {e}; write HOST:PORT, for example 127.0.0.1:8008")
    })?;
    addrs.next().ok_or_else(|| {
        format!("`{text}` resolved to no address; write HOST:PORT, for example 127.0.0.1:8008")
    })
}

/// The guard for servers that run what they are sent: a loopback address is
/// fine; anything else is refused unless `allow_remote` is set, and then the
/// returned warning must be printed.
pub fn check_remote_exec_bind(
    addr: SocketAddr,
    allow_remote: bool,
) -> Result<Option<String>, String> {
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    if allow_remote {
        Ok(Some(format!(
            "WARNING: listening on {addr}, which is not loopback. This server runs ANY \
             command ANYONE who can reach it sends, as your user. Stop it (Ctrl-C) as soon \
             as the exercise is over."
        )))
    } else {
        Err(format!(
            "refusing to listen on {addr}: this server runs any command it is sent, so it \
             only listens on loopback (127.0.0.1 or ::1). If you really mean to expose it, \
             add --allow-remote."
        ))
    }
}

/// Lines a client reads from standard input: with a prompt when standard
/// input is a terminal, without one when it is piped, so that
/// `printf 'echo hi\nexit\n' | client` prints only the conversation.
pub struct InputLines<R> {
    reader: R,
    prompt: Option<String>,
}

impl InputLines<io::StdinLock<'static>> {
    /// Standard input, prompting with `prompt` only on a terminal.
    pub fn stdin(prompt: &str) -> Self {
        let stdin = io::stdin();
        let prompt = stdin.is_terminal().then(|| prompt.to_string());
        Self {
            reader: stdin.lock(),
            prompt,
        }
    }
}

impl<R: BufRead> InputLines<R> {
    /// Lines from any reader, never prompting (for tests).
    pub fn from_reader(reader: R) -> Self {
        Self {
            reader,
            prompt: None,
        }
    }

    /// The next line without its line ending, or `None` at end of input.
    /// A line that is not UTF-8 is returned with its bad bytes replaced, so
    /// the caller can say what it received instead of failing.
    pub fn next_line(&mut self) -> io::Result<Option<String>> {
        if let Some(prompt) = &self.prompt {
            let mut out = io::stdout().lock();
            write!(out, "{prompt}")?;
            out.flush()?;
        }
        let mut raw = Vec::new();
        if self.reader.read_until(b'\n', &mut raw)? == 0 {
            return Ok(None);
        }
        while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            raw.pop();
        }
        Ok(Some(String::from_utf8_lossy(&raw).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain addresses parse; garbage gets a message that shows the expected form.
    #[test]
    fn addresses() {
        assert_eq!(parse_addr("127.0.0.1:8008").unwrap().port(), 8008);
        assert_eq!(parse_addr("[::1]:9000").unwrap().port(), 9000);
        let err = parse_addr("nonsense").unwrap_err();
        assert!(err.contains("HOST:PORT"), "{err}");
    }

    /// Loopback binds freely; other addresses need --allow-remote and then warn.
    #[test]
    fn remote_exec_guard() {
        let lo: SocketAddr = "127.0.0.1:8008".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8008".parse().unwrap();
        assert_eq!(check_remote_exec_bind(lo, false), Ok(None));
        assert!(check_remote_exec_bind(any, false)
            .unwrap_err()
            .contains("--allow-remote"));
        assert!(check_remote_exec_bind(any, true)
            .unwrap()
            .unwrap()
            .contains("WARNING"));
    }

    /// Piped input yields lines without endings, then None.
    #[test]
    fn input_lines() {
        let mut lines = InputLines::from_reader(&b"seq 1 3\r\necho hi\n\xffx\n"[..]);
        assert_eq!(lines.next_line().unwrap().as_deref(), Some("seq 1 3"));
        assert_eq!(lines.next_line().unwrap().as_deref(), Some("echo hi"));
        assert_eq!(lines.next_line().unwrap().as_deref(), Some("\u{fffd}x"));
        assert_eq!(lines.next_line().unwrap(), None);
    }
}
