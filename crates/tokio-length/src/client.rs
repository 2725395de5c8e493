//! The async client: one `Framed` connection, a command out, a reply back.

use crate::codec::FrameCodec;
use common::cli::InputLines;
use common::encoding::Encoding;
use futures_util::{SinkExt, StreamExt};
use length_header_fix::FrameError;
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// How long the client waits for a reply: stage 4's patience.
pub const CLIENT_REPLY_TIMEOUT: Duration = length_header_fix::CLIENT_REPLY_TIMEOUT;

/// A connection that speaks stage 4's frames.
pub type Connection<S> = Framed<S, FrameCodec>;

/// Wraps a stream in stage 4's framing, accepting bodies up to `max_frame`.
pub fn framed<S: AsyncRead + AsyncWrite>(stream: S, max_frame: usize) -> Connection<S> {
    Framed::new(stream, FrameCodec::new(max_frame))
}

/// Sends one command line as one request frame.
pub async fn send_command<S>(conn: &mut Connection<S>, cmd: &str) -> Result<(), FrameError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    conn.send(cmd.as_bytes()).await
}

/// Receives one reply frame. A clean close is an error here, as in stage 4:
/// the client sent a command and is owed an answer.
pub async fn recv_reply<S>(conn: &mut Connection<S>) -> Result<Vec<u8>, FrameError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match conn.next().await {
        Some(reply) => Ok(reply?.to_vec()),
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
/// whole as stage 4's client does ([`length_header_fix::reply_mark`]: the
/// command it answers and its length); `(empty reply)` for an empty one.
/// Returns how many commands were answered.
///
/// Standard input is read with a plain blocking read: this client has one
/// conversation and nothing else to do while it waits for the user.
pub async fn run_client<B: BufRead, O: Write>(
    addr: SocketAddr,
    max_frame: usize,
    encoding: Encoding,
    input: &mut InputLines<B>,
    out: &mut O,
) -> io::Result<usize> {
    let stream = TcpStream::connect(addr).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "could not connect to {addr}: {e}. Is the server running? Start it with \
                 `cargo run -p tokio-length -- server --addr {addr}`"
            ),
        )
    })?;
    let mut conn = framed(stream, max_frame);
    let mut answered = 0;
    while let Some(line) = input.next_line()? {
        if line.trim() == "exit" {
            break;
        }
        send_command(&mut conn, &line)
            .await
            .map_err(io::Error::from)?;
        let reply = match tokio::time::timeout(CLIENT_REPLY_TIMEOUT, recv_reply(&mut conn)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(client_error(&e, &line)),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no reply to `{line}` within {} s; is this a stage-4 server?",
                        CLIENT_REPLY_TIMEOUT.as_secs()
                    ),
                ))
            }
        };
        writeln!(out, "{}", length_header_fix::reply_mark(&line, reply.len()))?;
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

fn client_error(e: &FrameError, command: &str) -> io::Error {
    let hint = if matches!(e, FrameError::TooLarge { .. } | FrameError::Negative(_)) {
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
