//! The server: the accept loop and one client's loop. One read of up to
//! 1,024 bytes is the command (the request side has no framing either), and
//! every reply goes out through [`send_reply`]: digits, pause, output.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::netio::is_hang_up;
use common::{run_command, Acceptor, Interpreter, Limits, ShellLimits};

use crate::pause::{send_reply, DEFAULT_PAUSE, RECV_SIZE};

/// How the server runs commands and paces its replies.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Timeout and output cap for every command.
    pub limits: ShellLimits,
    /// The pause between the length's digits and the output: the "fix".
    pub pause: Duration,
    /// Who answers the commands: the system shell (the default, as the
    /// classic tutorial's `subprocess.Popen(cmd, shell=True)`), or the
    /// built-in set that prints the same bytes on every OS (the demo, and
    /// the `server` subcommand's `--builtin`).
    pub interpreter: Interpreter,
    /// Print one line per connection and per command on standard error
    /// (the two-terminal server does; tests and demos do not).
    pub log: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: ShellLimits::default(),
            pause: DEFAULT_PAUSE,
            interpreter: Interpreter::System,
            log: false,
        }
    }
}

/// Accepts connections forever, one thread per client, under common's
/// default connection limits ([`serve_with`] takes others).
///
/// A client that misbehaves (disconnects mid-reply, sends garbage, resets,
/// sends nothing, drips) ends only its own connection; the accept loop
/// carries on. It returns only if it cannot even start.
pub fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    serve_with(listener, config, Acceptor::new(Limits::default()))
}

/// [`serve`] under the limits of `acceptor`. Every reply starts with a
/// write, which marks the end of the command it answers, so this stage needs
/// no other boundary marks. The refusal a full server sends is worded as a
/// reply of this stage (digits, then the text), so the client can show it.
pub fn serve_with(
    listener: TcpListener,
    config: ServerConfig,
    acceptor: Acceptor,
) -> io::Result<()> {
    let acceptor = acceptor.logging(config.log);
    let acceptor = acceptor.refuse_with(|text| {
        let text = format!("{text}\n");
        format!("{}{text}", text.len()).into_bytes()
    });
    acceptor.serve(listener, move |stream| {
        let peer = stream.peer();
        let log = config.log;
        if log {
            eprintln!("[{peer}] connected");
        }
        match serve_client(stream, &config, Some(peer)) {
            Ok(()) if log => eprintln!("[{peer}] disconnected"),
            Ok(()) => {}
            Err(e) if log => eprintln!("[{peer}] connection ended: {e}"),
            Err(_) => {}
        }
    })
}

/// Serves one client until it leaves: read a command, run it, send the reply.
///
/// Generic over the stream, so that the demo can wrap it to watch what
/// crosses it. Returns
/// `Ok(())` when the client closes the connection (a reset counts as
/// closing: a client that hangs up with unread bytes resets, and that is
/// its business, not a server failure).
pub fn serve_connection<S: Read + Write>(stream: S, config: &ServerConfig) -> io::Result<()> {
    serve_client(stream, config, None)
}

fn serve_client<S: Read + Write>(
    mut stream: S,
    config: &ServerConfig,
    peer: Option<SocketAddr>,
) -> io::Result<()> {
    let mut buf = [0u8; RECV_SIZE];
    loop {
        // One read is taken as one command: the request side of this
        // protocol has no framing either, so a command longer than 1,024
        // bytes, or two commands glued together, would be misread here too.
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_hang_up(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        let command = String::from_utf8_lossy(&buf[..n]).into_owned();
        let output = match run_command(&command, config.interpreter, config.limits) {
            Ok(output) => output.reply(),
            // The shell could not even start (a NUL byte in the command, no
            // `sh`, no processes left): tell the client instead of vanishing.
            Err(e) => format!("[server: could not run the command: {e}]\n").into_bytes(),
        };
        send_reply(&mut stream, &output, config.pause)?;
        if config.log {
            let who = peer.map(|p| format!("[{p}] ")).unwrap_or_default();
            eprintln!(
                "{who}ran `{}`: sent the length {:?}, paused {} ms, sent {} bytes",
                command.escape_debug(),
                output.len().to_string(),
                config.pause.as_millis(),
                output.len()
            );
        }
    }
}
