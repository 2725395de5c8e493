//! Stage 3, `sleep-fix`: send the reply's length first, then pause, then the
//! output, and hope the pause keeps them apart.
//!
//! # The lesson
//!
//! Stage 2's client read every reply with one `recv(1024)`, so a long output
//! spilled into the next command's answer. The classic tutorial's first
//! repair is to tell the client how long the reply is: the server sends the
//! output's length as ASCII digits, **sleeps a little**, then sends the
//! output. The client reads the length, then keeps reading until it has
//! that many bytes. With the pause, on a quiet loopback, the digits arrive
//! alone and every reply is read whole. Take the pause away
//! (`--pause-ms 0`) and the digits and the output glue in one read:
//! `"1492"` followed by `"1\n2\n3..."` reads as `"14921\n2\n3..."`, which is no
//! length at all.
//!
//! # Why this is not a fix
//!
//! The pause is a **bet on timing**: it assumes the client reads the digits
//! before the output arrives. A slower or busier network, a client that is
//! not scheduled in time, or a proxy that buffers loses the bet, and the
//! result is exactly stage 2's sticky read. Nothing in the bytes marks where
//! the digits end. The bet also **costs the pause on every reply**, even
//! a reply of `0` bytes: four replies at 100 ms are 400 ms spent sleeping.
//! And the digits themselves are read with a single `recv`: a network that
//! delivers `"14"` and `"92"` separately (a split, 拆包) makes the client
//! believe the reply is 14 bytes long, and every later reply is then read
//! from the wrong place. Stage 4 (`length-header-fix`) removes the bet: a
//! fixed-size header read with a loop.
//!
//! # Wire format
//!
//! - request: the command line's bytes, no newline, no framing; the server
//!   takes **one read of up to 1,024 bytes** as the command.
//! - reply: the output's length as ASCII decimal digits (`b"1492"`), a pause
//!   ([`ServerConfig::pause`], 100 ms by default), then the output
//!   (standard output, then standard error, then a note line if the command
//!   was killed or cut). A command with no output gets the digits `0` and
//!   nothing else.
//! - the client takes **one read of up to 1,024 bytes** as the length, then
//!   reads until it has that many bytes.
//!
//! # Layout
//!
//! - [`serve`] and [`serve_connection`]: the server; [`send_reply`] is the
//!   whole trick (digits, pause, output), and [`ServerConfig::pause_hook`] is
//!   where the demo makes the pause deterministic.
//! - [`send_command`] and [`recv_reply`]: the client. The single read for the
//!   length in [`recv_reply`] is the weakness; [`ReplyError`] says what went
//!   wrong in words a student can act on.
//! - [`demo_transcript`] and [`conversation_transcript`] (in `demo.rs`): the
//!   same conversation as stage 2, run once without and once with the pause,
//!   with the boundary timeline of every run.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::netio::{is_hang_up, is_timeout};
use common::shell::{run_shell, ShellLimits};
use common::{Acceptor, Limits};

mod demo;

pub use demo::{
    conversation_transcript, conversation_transcript_in, demo_transcript, demo_transcript_in,
};

/// How many bytes one read asks for, on both ends: Python's `recv(1024)`.
pub const RECV_SIZE: usize = 1024;

/// The pause between the digits and the output when none is given: the
/// classic tutorial's `time.sleep(0.1)`.
pub const DEFAULT_PAUSE: Duration = Duration::from_millis(100);

/// What the server calls *instead of* sleeping through the pause, with the
/// configured pause. Only the demo (and the story matrix and the tests,
/// the same way) sets one: it sleeps the pause too, and then also waits
/// until its client has read the digits, so that the demo transcript is the
/// same on every run, however busy the machine.
pub type PauseHook = Arc<dyn Fn(Duration) + Send + Sync>;

/// How the server runs commands and paces its replies.
#[derive(Clone)]
pub struct ServerConfig {
    /// Timeout and output cap for every command.
    pub limits: ShellLimits,
    /// The pause between the length's digits and the output: the "fix".
    pub pause: Duration,
    /// `None` (the default): sleep for [`ServerConfig::pause`], as the
    /// classic program does. `Some`: call the hook instead (demo mode).
    pub pause_hook: Option<PauseHook>,
    /// Print one line per connection and per command on standard error
    /// (the two-terminal server does; tests and demos do not).
    pub log: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: ShellLimits::default(),
            pause: DEFAULT_PAUSE,
            pause_hook: None,
            log: false,
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("limits", &self.limits)
            .field("pause", &self.pause)
            .field(
                "pause_hook",
                &self.pause_hook.as_ref().map(|_| "Fn(Duration)"),
            )
            .field("log", &self.log)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

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
    let acceptor = if config.log {
        acceptor
    } else {
        acceptor.quiet()
    };
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
/// Generic over the stream so the demo can watch what crosses it. Returns
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
        let output = match run_shell(&command, config.limits) {
            Ok(output) => output.reply(),
            // The shell could not even start (a NUL byte in the command, no
            // `sh`, no processes left): tell the client instead of vanishing.
            Err(e) => format!("[server: could not run the command: {e}]\n").into_bytes(),
        };
        send_reply(&mut stream, &output, config)?;
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

// ANCHOR: send_reply
/// Sends one reply: the output's length as ASCII digits, the pause, then the
/// output. This is the whole "fix": the digits are not marked as digits,
/// nothing says where they end; only the pause keeps them apart from the
/// output, and only if the client reads them before the pause is over.
pub fn send_reply<W: Write>(mut w: W, output: &[u8], config: &ServerConfig) -> io::Result<()> {
    w.write_all(output.len().to_string().as_bytes())?;
    w.flush()?;
    match &config.pause_hook {
        Some(hook) => hook(config.pause),
        None if config.pause.is_zero() => {}
        None => thread::sleep(config.pause),
    }
    // An empty output writes nothing at all: the digits `0` were the reply.
    w.write_all(output)?;
    w.flush()
}
// ANCHOR_END: send_reply

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// Sends one command line: its bytes, no newline, no framing.
///
/// Refuses (with [`io::ErrorKind::InvalidInput`]) an empty command, which
/// would be a write of zero bytes that never reaches the server, and a
/// command longer than the server's one read of [`RECV_SIZE`] bytes, whose
/// tail the server would take for a second command.
pub fn send_command<W: Write>(mut w: W, cmd: &str) -> io::Result<()> {
    if cmd.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty command was not sent: writing zero bytes sends nothing over TCP, so the \
             server would never answer; type a command such as `echo hi`",
        ));
    }
    if cmd.len() > RECV_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a command of {} bytes was not sent: the server reads a command with one read of \
                 up to {RECV_SIZE} bytes and would run the rest as a second command; shorten it \
                 (put a long script in a file and run the file)",
                cmd.len()
            ),
        ));
    }
    w.write_all(cmd.as_bytes())?;
    w.flush()
}

// ANCHOR: recv_reply
/// Reads one reply: ONE read of up to [`RECV_SIZE`] bytes taken as the
/// length's digits, then reads until that many bytes of output have arrived.
///
/// The loop for the output is sound; the single read for the length is the
/// weakness this stage teaches. It never reads past the announced length,
/// so bytes of a later reply are never swallowed here.
pub fn recv_reply<R: Read>(mut r: R) -> Result<Vec<u8>, ReplyError> {
    let mut buf = [0u8; RECV_SIZE];
    let n = read_some(&mut r, &mut buf)?;
    if n == 0 {
        return Err(ReplyError::ClosedBeforeLength);
    }
    let len = parse_length(&buf[..n]).ok_or_else(|| ReplyError::BadLength {
        received: buf[..n].to_vec(),
    })?;
    // The length comes from the network: the buffer grows as bytes really
    // arrive instead of trusting a claim of, say, a terabyte up front.
    let mut reply = Vec::with_capacity(len.min(64 * 1024));
    while reply.len() < len {
        let want = (len - reply.len()).min(RECV_SIZE);
        let n = read_some(&mut r, &mut buf[..want])?;
        if n == 0 {
            return Err(ReplyError::Closed {
                got: reply.len(),
                expected: len,
            });
        }
        reply.extend_from_slice(&buf[..n]);
    }
    Ok(reply)
}
// ANCHOR_END: recv_reply

fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The length the digits spell, or `None` when they are not all ASCII
/// digits (or the number does not fit). Strict on purpose: `"+5"`, `" 5"` and
/// `"5\n"` are not what this server sends, so they are not a length.
pub fn parse_length(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Why a reply could not be read.
#[derive(Debug)]
pub enum ReplyError {
    /// The first read did not hold a length: the digits glued to the output
    /// (no pause, or the pause was not enough), or the server is not
    /// speaking this protocol.
    BadLength {
        /// Everything the one read for the length returned.
        received: Vec<u8>,
    },
    /// The server closed the connection before sending any length.
    ClosedBeforeLength,
    /// The server closed the connection before the whole output arrived.
    Closed {
        /// Bytes of output that arrived.
        got: usize,
        /// Bytes the length announced.
        expected: usize,
    },
    /// The socket failed (including a read timeout).
    Io(io::Error),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::BadLength { received } => {
                write!(
                    f,
                    "expected the reply's length as digits, got {} bytes: {}",
                    received.len(),
                    common::text::escaped(received, PREVIEW_BYTES)
                )?;
                let digits = received.iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 0 {
                    write!(
                        f,
                        "; digits followed by other bytes: that is what the output glued to \
                         the length looks like"
                    )?;
                }
                Ok(())
            }
            ReplyError::ClosedBeforeLength => write!(
                f,
                "the server closed the connection before sending a reply's length; is it a \
                 sleep-fix server, and is it still running?"
            ),
            ReplyError::Closed { got, expected } => write!(
                f,
                "the server closed the connection in the middle of a reply: {got} of {expected} \
                 bytes arrived"
            ),
            ReplyError::Io(e) if is_timeout(e) => write!(
                f,
                "no reply arrived before the read timeout ({e}); is the server stuck, or is it \
                 not a sleep-fix server?"
            ),
            ReplyError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReplyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplyError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ReplyError {
    fn from(e: io::Error) -> Self {
        ReplyError::Io(e)
    }
}

/// How many bytes an error message quotes before it shortens.
const PREVIEW_BYTES: usize = 16;

/// Connects to a server, with an error that says what to do when nobody is
/// listening.
pub fn connect(addr: SocketAddr, read_timeout: Option<Duration>) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "could not connect to {addr}: {e}. Is the server running? Start it first in \
                 another terminal: cargo run -p sleep-fix -- server --addr {addr}"
            ),
        )
    })?;
    stream.set_read_timeout(read_timeout)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes in the chunks given, like a network would.
    struct Chunks(Vec<Vec<u8>>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(chunk) = self.0.first_mut() else {
                return Ok(0);
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.0.remove(0);
            }
            Ok(n)
        }
    }

    fn chunks(parts: &[&[u8]]) -> Chunks {
        Chunks(parts.iter().map(|p| p.to_vec()).collect())
    }

    /// Only plain ASCII digits are a length.
    #[test]
    fn lengths_parse_strictly() {
        assert_eq!(parse_length(b"1492"), Some(1492));
        assert_eq!(parse_length(b"0"), Some(0));
        for bad in [
            &b""[..],
            b"+5",
            b" 5",
            b"5\n",
            b"14921\n2",
            b"-1",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_length(bad), None, "{bad:?}");
        }
    }

    /// Digits alone, then the output in pieces: the reply is put back together.
    #[test]
    fn reply_reassembled_from_pieces() {
        let reply = recv_reply(chunks(&[b"11", b"hello", b" ", b"world"])).unwrap();
        assert_eq!(reply, b"hello world");
    }

    /// A zero length means an empty reply, without another read.
    #[test]
    fn zero_length_is_an_empty_reply() {
        let mut r = chunks(&[b"0", b"next"]);
        assert_eq!(recv_reply(&mut r).unwrap(), b"");
        assert_eq!(r.0, vec![b"next".to_vec()]);
    }

    /// The reader never swallows bytes beyond the announced length.
    #[test]
    fn never_reads_past_the_reply() {
        let mut r = chunks(&[b"2", b"hi3bye"]);
        assert_eq!(recv_reply(&mut r).unwrap(), b"hi");
        assert_eq!(r.0, vec![b"3bye".to_vec()]);
    }

    /// Digits glued to the output are not a length; the error quotes them, escaped and shortened.
    #[test]
    fn glued_digits_are_reported() {
        let err = recv_reply(chunks(&[b"14921\n2\n3\n4\n5\n6\n7\n8\n9\n"])).unwrap_err();
        let ReplyError::BadLength { received } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(received, b"14921\n2\n3\n4\n5\n6\n7\n8\n9\n");
        let text = err.to_string();
        assert!(
            text.starts_with(
                r#"expected the reply's length as digits, got 22 bytes: "14921\n2\n3\n4\n5\n6\n"... (6 more bytes)"#
            ),
            "{text}"
        );
        assert!(text.contains("glued"), "{text}");
    }

    /// Closing early is told apart from a bad length, with how far the reply got.
    #[test]
    fn early_close_says_how_far() {
        let err = recv_reply(chunks(&[b"10", b"abc"])).unwrap_err();
        assert!(
            matches!(
                err,
                ReplyError::Closed {
                    got: 3,
                    expected: 10
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("3 of 10 bytes"));
        let err = recv_reply(chunks(&[])).unwrap_err();
        assert!(matches!(err, ReplyError::ClosedBeforeLength), "{err:?}");
    }

    /// Empty and over-long commands are refused before anything is written.
    #[test]
    fn commands_that_cannot_arrive_are_refused() {
        let mut sent = Vec::new();
        let err = send_command(&mut sent, "").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let long = "x".repeat(RECV_SIZE + 1);
        assert!(send_command(&mut sent, &long)
            .unwrap_err()
            .to_string()
            .contains("1025 bytes"));
        assert!(sent.is_empty());
        send_command(&mut sent, "echo hi").unwrap();
        assert_eq!(sent, b"echo hi");
    }

    /// The reply is the digits, then the output, and the hook runs between them.
    #[test]
    fn reply_is_digits_then_output() {
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&calls);
        let config = ServerConfig {
            pause: Duration::from_millis(7),
            pause_hook: Some(Arc::new(move |pause| seen.lock().unwrap().push(pause))),
            ..ServerConfig::default()
        };
        let mut wire = Vec::new();
        send_reply(&mut wire, b"hi\n", &config).unwrap();
        assert_eq!(wire, b"3hi\n");
        assert_eq!(*calls.lock().unwrap(), vec![Duration::from_millis(7)]);
    }
}
