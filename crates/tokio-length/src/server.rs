//! The async remote-execution server: stage 4's job, on tokio.
//!
//! Stage 4 gives every connection a thread of its own, which blocks in
//! `read` while it waits. Here every connection is a *task*: a few hundred
//! bytes of state that a handful of worker threads run in turn whenever its
//! socket has something for it, so ten thousand idle clients cost ten
//! thousand small tasks, not ten thousand threads with their stacks.

use crate::codec::{FrameCodec, DEFAULT_MAX_FRAME};
use common::{run_shell, ShellLimits};
use futures_util::{SinkExt, StreamExt};
use length_header_fix::FrameError;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::codec::Framed;

/// How many connections the server serves at once unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// How long a connection may wait without completing a request before the
/// server drops it, unless told otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How the server runs commands and reads requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Timeout and output cap for every command.
    pub limits: ShellLimits,
    /// The largest request body the server accepts (stage 4's 16 MiB).
    pub max_frame: usize,
    /// Connections served at once; the next one waits in the kernel's
    /// accept queue until one of them ends.
    pub max_connections: usize,
    /// How long the server waits for the next whole request on a
    /// connection. Without it, `max_connections` clients that connect and
    /// say nothing would hold every place for good.
    pub idle_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: ShellLimits::default(),
            max_frame: DEFAULT_MAX_FRAME,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Serves every client that connects to `listener`, each in a task of its
/// own, until the process ends. A bad client is logged to stderr and
/// disconnected; the others are not disturbed.
///
/// The connection cap is backpressure in its plainest form: when
/// `max_connections` tasks are running, the loop stops *accepting* (it
/// waits for a permit first), so new clients queue in the kernel's backlog
/// instead of in this process's memory.
pub async fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            // Only a closed semaphore fails, and nothing closes this one.
            return Ok(());
        };
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(async move {
                    eprintln!("{peer}: connected");
                    let outcome = serve_connection(stream, &config).await;
                    eprintln!("{peer}: {}", describe_outcome(&outcome));
                    drop(permit);
                });
            }
            Err(e) => {
                // Usually transient (a client gave up during the handshake,
                // or out of file descriptors for a moment); the pause keeps a
                // persistent error from turning this loop into a busy spin.
                eprintln!("accepting a connection failed: {e}; still listening");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
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
    loop {
        // A deadline for the next whole request: a connection holds one of
        // `max_connections` places, and a silent one must not keep it.
        let Ok(next) = tokio::time::timeout(config.idle_timeout, frames.next()).await else {
            return Err(FrameError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no whole request within {} ms, so the connection gives its place to others",
                    config.idle_timeout.as_millis()
                ),
            )));
        };
        let Some(request) = next else { break };
        let command = String::from_utf8_lossy(&request?).into_owned();
        let limits = config.limits;
        // The shell runner blocks (it waits for a child process), and a
        // blocking call inside a task would stall every other task on its
        // worker thread: tokio runs it on its pool for blocking work instead.
        let reply = match tokio::task::spawn_blocking(move || run_shell(&command, limits)).await {
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
