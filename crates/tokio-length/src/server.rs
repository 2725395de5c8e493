//! The async remote-execution server: stage 4's job, on tokio.
//!
//! Stage 4 gives every connection a thread of its own, which blocks in
//! `read` while it waits. Here every connection is a *task*: a few hundred
//! bytes of state that a handful of worker threads run in turn whenever its
//! socket has something for it, so ten thousand idle clients cost ten
//! thousand small tasks, not ten thousand threads with their stacks.

use crate::accept::AsyncAcceptor;
use crate::codec::{FrameCodec, DEFAULT_MAX_FRAME};
use common::{run_command, Interpreter, Limits, ShellLimits};
use futures_util::{SinkExt, StreamExt};
use length_header_fix::{FrameError, MAX_REQUEST};
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Encoder, Framed};

/// How the server runs commands and reads requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Timeout and output cap for every command.
    pub limits: ShellLimits,
    /// The largest request body the server accepts: stage 4's
    /// [`MAX_REQUEST`], 128 KiB, what one command line can be. It matters
    /// more here than in stage 4: the codec reserves room for the whole
    /// announced frame as soon as it has read the header, so this bounds what
    /// one silent client can make the server hold.
    pub max_frame: usize,
    /// Who answers the commands: the system shell (the two-terminal
    /// server), or the built-in set (the demos, `--builtin`), which prints
    /// the same bytes on every OS.
    pub interpreter: Interpreter,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: ShellLimits::default(),
            max_frame: MAX_REQUEST,
            interpreter: Interpreter::System,
        }
    }
}

/// Serves every client that connects to `listener`, each in a task of its
/// own, until the process ends, under common's default connection limits
/// ([`serve_with`] takes others). A bad client is logged to stderr and
/// disconnected; the others are not disturbed.
pub async fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    serve_with(listener, config, AsyncAcceptor::new(Limits::default())).await
}

/// [`serve`] under the limits of `acceptor`: the workspace's one policy
/// (a connection cap with a per-address share, a deadline per message, a
/// minimum rate, an idle timeout), run by tasks ([`crate::accept`]). A full
/// server refuses with a reply frame that says so, as stage 4's does.
pub async fn serve_with(
    listener: TcpListener,
    config: ServerConfig,
    acceptor: AsyncAcceptor,
) -> io::Result<()> {
    let acceptor = acceptor.refuse_with(|text| {
        let mut frame = BytesMut::new();
        // A refusal is a few dozen bytes: it always fits a frame.
        let _ =
            FrameCodec::new(DEFAULT_MAX_FRAME).encode(format!("{text}\n").as_bytes(), &mut frame);
        frame.to_vec()
    });
    acceptor
        .serve(listener, move |stream| async move {
            let peer = stream.peer();
            eprintln!("{peer}: connected");
            let outcome = serve_connection(stream, &config).await;
            eprintln!("{peer}: {}", describe_outcome(&outcome));
        })
        .await
}

/// [`serve_with`] from a std listener, on a tokio runtime of its own (a
/// worker thread per core): for callers that do not use tokio themselves,
/// such as the workspace's attack suite. Returns only if the server stops.
pub fn serve_std(
    listener: std::net::TcpListener,
    config: ServerConfig,
    acceptor: AsyncAcceptor,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener)?;
        serve_with(listener, config, acceptor).await
    })
}

// ANCHOR: serve_connection
/// Serves one connection: reads request frames until the client closes
/// between frames, runs each command, and answers each with one reply frame.
///
/// This is stage 4's `serve_connection` with the reading loop gone: `Framed`
/// keeps one buffer per connection, reads as much as the socket has into it,
/// and hands out every whole frame the codec can cut from it. Returns how
/// many commands were answered, or why the connection was dropped.
pub async fn serve_connection<S>(stream: S, config: &ServerConfig) -> Result<usize, FrameError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut frames = Framed::new(stream, FrameCodec::new(config.max_frame));
    let mut answered = 0;
    while let Some(request) = frames.next().await {
        let command = String::from_utf8_lossy(&request?).into_owned();
        let (interpreter, limits) = (config.interpreter, config.limits);
        // The command runner blocks (it waits for a child process), and a
        // blocking call inside a task would stall every other task on its
        // worker thread: tokio runs it on its pool for blocking work instead.
        let run = move || run_command(&command, interpreter, limits);
        let reply = match tokio::task::spawn_blocking(run).await {
            Ok(Ok(output)) => output.reply(),
            Ok(Err(e)) => format!("[server: could not start the shell: {e}]\n").into_bytes(),
            Err(e) => format!("[server: the command's task failed: {e}]\n").into_bytes(),
        };
        // `send` is `feed` (encode into the write buffer) then `flush`
        // (write it all out): header and body leave in one write, so there
        // is no Nagle stall, and `send` waits while the socket is full.
        frames.send(&reply[..]).await?;
        answered += 1;
    }
    Ok(answered)
}
// ANCHOR_END: serve_connection

/// The server's log line for how a connection ended, worded as stage 4's.
pub fn describe_outcome(outcome: &Result<usize, FrameError>) -> String {
    length_header_fix::describe_outcome(outcome)
}
