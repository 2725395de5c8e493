//! The technique, as the classic tutorial writes it: a command is its bytes
//! with nothing around them, and a reply is whatever ONE read of up to 1,024
//! bytes returns (Python's `recv(1024)`). Read this first; everything else in
//! the crate runs it.
//!
//! ```text
//! client -> server   b"seq 1 400"                      (no newline, no length)
//! server -> client   b"1\n2\n3\n...400\n"  (1,492 bytes, no marker where it ends)
//! client read #1     the first 1,024 bytes             <- split
//! client read #2     the other 468, then b"hi\n"       <- sticky
//! ```

use std::io::{self, Read, Write};

/// The size of every read, on both ends: Python's `recv(1024)`.
pub const READ_SIZE: usize = 1024;

/// Sends one command: its bytes, nothing else, in one `write_all`.
///
/// An empty command is refused with [`io::ErrorKind::InvalidInput`] before
/// anything is written: an empty write sends no bytes, so the server, which
/// waits for bytes, would never notice it, and the client would wait for a
/// reply that never comes.
pub fn send_command<W: Write + ?Sized>(w: &mut W, cmd: &str) -> io::Result<()> {
    if cmd.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty command sends no bytes at all, so the server would never see it; type a \
             command such as `echo hi`",
        ));
    }
    w.write_all(cmd.as_bytes())?;
    w.flush()
}

/// The naive client read: ONE read of up to [`READ_SIZE`] bytes (Python's
/// `recv(1024)`), whatever it returns is "the reply". See [`recv_reply_up_to`].
pub fn recv_reply<R: Read + ?Sized>(r: &mut R) -> io::Result<Option<Vec<u8>>> {
    recv_reply_up_to(r, READ_SIZE)
}

// ANCHOR: recv_reply_up_to
/// ONE read of up to `read_size` bytes, whatever it returns is "the reply":
/// the naive client read, with the buffer size as a knob so that a student
/// can try the "use a bigger buffer" advice (`--read-size`) and see that it
/// only moves the cut. `read_size` 0 is taken as 1 (an empty buffer would
/// read nothing and look like the end of the stream).
///
/// `Ok(None)` when the read timed out (set a read timeout on the stream, as
/// [`connect`](crate::connect) does); an [`io::ErrorKind::UnexpectedEof`] error when the
/// server closed the connection.
pub fn recv_reply_up_to<R: Read + ?Sized>(
    r: &mut R,
    read_size: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; read_size.max(1)];
    loop {
        match r.read(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection (was it stopped?)",
                ))
            }
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if common::netio::is_timeout(&e) => return Ok(None),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading the reply failed: {e}"),
                ))
            }
        }
    }
}
// ANCHOR_END: recv_reply_up_to
