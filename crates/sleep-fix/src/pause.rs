//! The technique, to read first: the server sends the output's length as
//! ASCII digits, pauses, then sends the output ([`send_reply`]); the client
//! takes ONE read as the length, then reads until it has that many bytes
//! ([`recv_reply`]).
//!
//! ```text
//! server -> client   b"1492"   (pause: 100 ms)   b"1\n2\n3\n...400\n"
//! with the pause     read #1 = b"1492"            read #2.. = the 1,492 bytes
//! without it         read #1 = b"14921\n2\n3\n..."  <- no length at all
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::thread;
use std::time::Duration;

use common::netio::is_timeout;

/// How many bytes one read asks for, on both ends: Python's `recv(1024)`.
pub const RECV_SIZE: usize = 1024;

/// The pause between the digits and the output when none is given: the
/// classic tutorial's `time.sleep(0.1)`.
pub const DEFAULT_PAUSE: Duration = Duration::from_millis(100);

// ANCHOR: send_reply
/// Sends one reply: the output's length as ASCII digits, the pause, then the
/// output. This is the whole "fix": the digits are not marked as digits,
/// nothing says where they end; only the pause keeps them apart from the
/// output, and only if the client reads them before the pause is over.
pub fn send_reply<W: Write>(mut w: W, output: &[u8], pause: Duration) -> io::Result<()> {
    w.write_all(output.len().to_string().as_bytes())?;
    w.flush()?;
    if !pause.is_zero() {
        thread::sleep(pause);
    }
    // An empty output writes nothing at all: the digits `0` were the reply.
    w.write_all(output)?;
    w.flush()
}
// ANCHOR_END: send_reply

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
pub(crate) const PREVIEW_BYTES: usize = 16;

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

    /// What a writer is asked to do, in order: write these bytes, or flush.
    #[derive(Debug, PartialEq)]
    enum Call {
        Write(Vec<u8>),
        Flush,
    }

    /// Records every call, so that a test can see the digits flushed on their own.
    #[derive(Default)]
    struct Calls(Vec<Call>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(Call::Write(buf.to_vec()));
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            self.0.push(Call::Flush);
            Ok(())
        }
    }

    /// The reply is the digits, flushed on their own, then the output; an empty output is the digits `0` alone.
    #[test]
    fn reply_is_digits_then_output() {
        let mut calls = Calls::default();
        send_reply(&mut calls, b"hi\n", Duration::ZERO).unwrap();
        assert_eq!(
            calls.0,
            vec![
                Call::Write(b"3".to_vec()),
                Call::Flush,
                Call::Write(b"hi\n".to_vec()),
                Call::Flush
            ]
        );
        let mut wire = Vec::new();
        send_reply(&mut wire, b"", Duration::from_millis(1)).unwrap();
        assert_eq!(wire, b"0");
    }
}
