//! The server: the accept loop and one connection's loop. One read of up to
//! 1,024 bytes is "the command", its output goes back with one `write_all`,
//! and nothing marks where either ends.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};

use common::{Acceptor, Interpreter, Limits, ShellLimits};

use crate::naive::READ_SIZE;

/// Where the two-terminal server listens unless told otherwise (the classic tutorial's port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:8008";

/// How the server runs commands.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Timeout and output cap for every command (5 s and 1 MiB by default).
    pub limits: ShellLimits,
    /// Who answers the commands: the system shell (the default, as the
    /// classic tutorial's `subprocess.Popen(cmd, shell=True)`), or the
    /// built-in set that prints the same bytes on every OS (the demos, and
    /// the `server` subcommand's `--builtin`).
    pub interpreter: Interpreter,
    /// Log connections and commands to standard error (the `server`
    /// subcommand turns this on; demos and tests leave it off).
    pub log: bool,
}

/// One command the server ran, reported after its reply was written.
struct Served {
    /// The command as received, for display (bytes that are not UTF-8 are
    /// shown as U+FFFD).
    command: String,
    /// How many bytes the reply had; zero means nothing was written.
    reply_len: usize,
    /// Why the reply is not the plain output, if it is not: killed at the
    /// timeout, cut at the cap, not UTF-8, the shell would not start.
    note: Option<String>,
}

/// The accept loop: every connection gets a thread running
/// [`handle_connection`], under common's default connection limits. Never
/// returns because of a client: a client that disconnects, sends garbage or
/// runs a command that is killed only ends its own connection, which is
/// logged (when [`ServerConfig::log`] is set).
pub fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    serve_with(listener, config, Acceptor::new(Limits::default()))
}

/// [`serve`] under the limits of `acceptor` (the `server` subcommand's flags):
/// how many connections, how long a command may take to arrive, how long a
/// connection may stay idle. The limits defend the server; the framing's
/// weakness (one read is one command) is untouched.
pub fn serve_with(
    listener: TcpListener,
    config: ServerConfig,
    acceptor: Acceptor,
) -> io::Result<()> {
    let acceptor = acceptor.logging(config.log);
    acceptor.serve(listener, move |stream| {
        let peer = stream.peer();
        let marks = stream.marks();
        if config.log {
            eprintln!("[{peer}] connected");
        }
        let result = answer_commands(stream, &config, |served| {
            // A command without output gets no reply, so no write marks its
            // end: say it here, or the wait for the next command would count
            // against this one's deadline.
            marks.message_done();
            if config.log {
                log_served(peer, served);
            }
        });
        if config.log {
            match result {
                Ok(()) => eprintln!("[{peer}] closed the connection"),
                Err(e) => eprintln!("[{peer}] connection ended: {e}"),
            }
        }
    })
}

fn log_served(peer: SocketAddr, served: &Served) {
    let reply = match served.reply_len {
        0 => "no output, nothing sent".to_string(),
        n => format!("{n} bytes sent"),
    };
    let note = served
        .note
        .as_deref()
        .map_or_else(String::new, |n| format!(" ({n})"));
    eprintln!("[{peer}] ran {:?}: {reply}{note}", served.command);
}

/// Serves one connection until the client closes it: one read of up to
/// [`READ_SIZE`] bytes is taken as the command, its reply is written with one
/// `write_all`, and again.
///
/// Returns `Ok(())` when the client closed the connection between commands,
/// and an error when the connection broke (for example, the client left
/// while its command was running and the reply could not be written).
pub fn handle_connection<S: Read + Write>(stream: S, config: &ServerConfig) -> io::Result<()> {
    answer_commands(stream, config, |_| {})
}

/// [`handle_connection`], calling `after_reply` once per command, after its
/// reply was written (or not written, when it was empty): the accept loop
/// marks the end of a message there and logs the command.
fn answer_commands<S, F>(mut stream: S, config: &ServerConfig, mut after_reply: F) -> io::Result<()>
where
    S: Read + Write,
    F: FnMut(&Served),
{
    let mut buf = [0u8; READ_SIZE];
    loop {
        // The naive part, server side: whatever this one read returns is
        // "the command", even if it is half of one or two glued together.
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let command = &buf[..n];
        let (reply, note) = reply_to(command, config.interpreter, config.limits);
        if !reply.is_empty() {
            // One write_all: no header, nothing that marks where it ends.
            stream.write_all(&reply)?;
            stream.flush()?;
        }
        after_reply(&Served {
            command: String::from_utf8_lossy(command).into_owned(),
            reply_len: reply.len(),
            note,
        });
    }
}

/// What the server answers to one command's bytes, and a note saying why the
/// answer is not the plain output when it is not.
///
/// A command that is not UTF-8 is not run (a shell command line is text);
/// the answer says so, and the connection carries on.
pub fn reply_to(
    command: &[u8],
    interpreter: Interpreter,
    limits: ShellLimits,
) -> (Vec<u8>, Option<String>) {
    let Ok(text) = std::str::from_utf8(command) else {
        let note = format!(
            "the command ({} bytes) is not UTF-8 text, so it was not run; send a command line \
             as UTF-8",
            command.len()
        );
        return (format!("[server: {note}]\n").into_bytes(), Some(note));
    };
    match common::run_command(text, interpreter, limits) {
        Ok(output) => (output.reply(), output.note()),
        Err(e) => {
            let note = format!("could not start the shell: {e}");
            (format!("[server: {note}]\n").into_bytes(), Some(note))
        }
    }
}
