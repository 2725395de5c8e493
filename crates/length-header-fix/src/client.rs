//! The stage-4 client: each command line goes out as one frame, each reply
//! comes back as one frame, and the two-terminal client marks every reply
//! with its command and its length, both known for certain.

use crate::framing::{read_frame, write_frame, FrameError};
use crate::server::MAX_REQUEST;
use common::cli::InputLines;
use common::encoding::Encoding;
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long the two-terminal client waits for a reply before it gives up.
/// Longer than the server's default command timeout (5 s), so a slow command
/// is answered; finite, so a server that never answers (a stage-2 server
/// asked to run `true`) cannot hang the client.
pub const CLIENT_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends one command line as one request frame, and flushes it: the client
/// waits for the answer next. A command over [`MAX_REQUEST`] is refused here,
/// before a byte is sent, since the server would refuse it anyway.
pub fn send_command<W: Write + ?Sized>(w: &mut W, cmd: &str) -> io::Result<()> {
    write_frame(w, cmd.as_bytes(), MAX_REQUEST)?;
    w.flush()
}

/// Receives one reply frame, refusing bodies over `max` bytes.
///
/// Unlike [`read_frame`], a clean close is an error here: the client sent a
/// command and is owed an answer.
pub fn recv_reply<R: Read + ?Sized>(r: &mut R, max: usize) -> Result<Vec<u8>, FrameError> {
    match read_frame(r, max)? {
        Some(reply) => Ok(reply),
        None => Err(FrameError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection instead of replying (it may have refused our \
             request; its terminal says why)",
        ))),
    }
}

/// The two-terminal client: connects to `addr`, sends every line of `input`
/// as a command until `exit` or the end of input, and writes each reply to
/// `out`, decoded with `encoding` (`--encoding`), after a line that marks it
/// (see [`reply_mark`]); `(empty reply)` for an empty one. Returns how many
/// commands were answered.
///
/// Every reply is decoded whole, because it arrives whole: a character can
/// never be cut between two replies here, unlike stage 2's reads.
///
/// An empty line is sent too: it is an empty frame, a real message, and
/// `sh -c ''` (and the built-in set) answers it with an empty reply.
pub fn run_client<B: BufRead, O: Write>(
    addr: SocketAddr,
    max_frame: usize,
    encoding: Encoding,
    input: &mut InputLines<B>,
    out: &mut O,
) -> io::Result<usize> {
    let mut stream = TcpStream::connect(addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "could not connect to {addr}: {e}. Is the server running? Start it with \
                 `cargo run -p length-header-fix -- server --addr {addr}`"
            ),
        )
    })?;
    stream.set_read_timeout(Some(CLIENT_REPLY_TIMEOUT))?;
    let mut answered = 0;
    while let Some(line) = input.next_line()? {
        if line.trim() == "exit" {
            break;
        }
        send_command(&mut stream, &line)?;
        let reply = recv_reply(&mut stream, max_frame).map_err(|e| client_error(e, &line))?;
        writeln!(out, "{}", reply_mark(&line, reply.len()))?;
        if reply.is_empty() {
            writeln!(out, "(empty reply)")?;
        } else {
            encoding.decode(&reply).show(out, "this reply")?;
        }
        out.flush()?;
        answered += 1;
    }
    Ok(answered)
}

/// The line that marks a whole reply before its bytes: which command it
/// answers and how long its body is. With a length header both are known
/// for certain, so the mark is a fact, not a guess as in stage 2.
pub fn reply_mark(command: &str, len: usize) -> String {
    if command.is_empty() {
        format!("── reply to the empty line: {len} B ──")
    } else {
        format!("── reply to `{command}`: {len} B ──")
    }
}

fn client_error(e: FrameError, command: &str) -> io::Error {
    let timed_out = matches!(&e, FrameError::Io(io) if common::netio::is_timeout(io));
    let reset = matches!(&e, FrameError::Io(io)
        if matches!(io.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted));
    let hint = if reset {
        format!("{e}: the server dropped the connection (it may have refused our request; its terminal says why)")
    } else if timed_out {
        format!(
            "no reply within {} s; is this a stage-4 server? (a stage-2 server sends nothing at \
             all for a command without output)",
            CLIENT_REPLY_TIMEOUT.as_secs()
        )
    } else if matches!(e, FrameError::TooLarge { .. } | FrameError::Negative(_)) {
        format!(
            "{e}. Is this a stage-4 server? Its first 4 bytes were not a little-endian length. \
             If the reply is really that long, raise --max-frame"
        )
    } else {
        e.to_string()
    };
    io::Error::other(format!(
        "the reply to `{command}` could not be read: {hint}"
    ))
}
