//! The stage-4 server: reads one request frame, runs the command line, and
//! answers with one reply frame holding what it printed, until the client
//! closes between frames. A bad header closes that one connection; the
//! server goes on serving everyone else.

use crate::framing::{
    read_frame, write_frame, write_frame_in_two_writes, FrameError, DEFAULT_MAX_FRAME,
};
use common::{run_command, Acceptor, Interpreter, Limits, ShellLimits};
use std::io::{self, Read, Write};
use std::net::TcpListener;

/// The largest request the server accepts unless told otherwise: 128 KiB,
/// what one command line can be (Linux refuses a single argument longer than
/// 32 pages, `MAX_ARG_STRLEN` in `execve(2)`). Replies are not limited by
/// this: they are what the command printed, up to the output cap.
pub const MAX_REQUEST: usize = 128 * 1024;

/// How the server runs commands and reads requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Timeout and output cap for every command.
    pub limits: ShellLimits,
    /// Which program answers the commands: the system shell (`sh -c`,
    /// `cmd /C`) by default, the built-in set in every demo and with the
    /// server's `--builtin` flag, so that the replies are the same bytes on
    /// every OS.
    pub interpreter: Interpreter,
    /// The largest request body the server accepts ([`MAX_REQUEST`]).
    pub max_frame: usize,
    /// **The anti-pattern**, for the cost measurement only: send each reply's
    /// header and body as two writes ([`write_frame_in_two_writes`]) and pay
    /// the Nagle / delayed-ACK stall on every reply.
    pub two_writes: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: ShellLimits::default(),
            interpreter: Interpreter::System,
            max_frame: MAX_REQUEST,
            two_writes: false,
        }
    }
}

/// Serves every client that connects to `listener`, each on a thread of its
/// own, until the process ends, under common's default connection limits
/// ([`serve_with`] takes others).
///
/// A client that sends garbage, a hostile length, closes mid-frame, says
/// nothing or drips its frame a byte at a time is logged to stderr and
/// disconnected; the server keeps serving everyone else.
///
/// Note what is *not* here: no `set_nodelay(true)`. Switching Nagle's
/// algorithm off would hide the 40 ms stall of a two-write reply, but the cure
/// for that stall is to hand each frame to the kernel in one write, which
/// [`write_frame`] does; with one write per reply there is nothing for Nagle
/// to hold back, and the socket keeps its ordinary, well-behaved defaults.
pub fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    serve_with(listener, config, Acceptor::new(Limits::default()))
}

/// [`serve`] under the limits of `acceptor`. Each reply frame is a write,
/// which marks the end of the request it answers. Memory per connection is
/// bounded by [`ServerConfig::max_frame`] (a request is at most
/// [`MAX_REQUEST`] unless told otherwise) plus the reply, itself capped by
/// the command's output cap, so the whole server is bounded by the
/// connection cap times that. A full server refuses with a reply frame that
/// says so, which the client shows like any reply.
pub fn serve_with(
    listener: TcpListener,
    config: ServerConfig,
    acceptor: Acceptor,
) -> io::Result<()> {
    let acceptor = acceptor.refuse_with(|text| {
        let mut frame = Vec::new();
        // A refusal is a few dozen bytes: it always fits a frame.
        let _ = write_frame(
            &mut frame,
            format!("{text}\n").as_bytes(),
            DEFAULT_MAX_FRAME,
        );
        frame
    });
    acceptor.serve(listener, move |mut stream| {
        let peer = stream.peer();
        eprintln!("{peer}: connected");
        let outcome = serve_connection(&mut stream, &config);
        eprintln!("{peer}: {}", describe_outcome(&outcome));
    })
}

/// Serves one connection: reads request frames until the client closes
/// between frames, runs each command, and answers each with one reply frame.
///
/// Returns how many commands were answered, or why the connection had to be
/// dropped. After a bad header the stream cannot be trusted any more (where
/// would the next frame start?), so the only safe answer is to close it.
pub fn serve_connection<S: Read + Write + ?Sized>(
    stream: &mut S,
    config: &ServerConfig,
) -> Result<usize, FrameError> {
    let mut answered = 0;
    while let Some(request) = read_frame(stream, config.max_frame)? {
        // A shell takes text; a command line that is not UTF-8 runs with its
        // bad bytes replaced, and the shell then says what it could not find.
        let command = String::from_utf8_lossy(&request);
        let reply = match run_command(&command, config.interpreter, config.limits) {
            Ok(output) => output.reply(),
            Err(e) => format!("[server: could not start the shell: {e}]\n").into_bytes(),
        };
        if config.two_writes {
            write_frame_in_two_writes(stream, &reply)?;
        } else {
            write_frame(stream, &reply, DEFAULT_MAX_FRAME)?;
        }
        // The client now waits for this reply: the one moment to flush.
        stream.flush()?;
        answered += 1;
    }
    Ok(answered)
}

/// The server's log line for how a connection ended.
pub fn describe_outcome(outcome: &Result<usize, FrameError>) -> String {
    match outcome {
        Ok(n) => format!("closed the connection after {n} command(s)"),
        Err(e) => format!("{e}; connection dropped, still serving other clients"),
    }
}
