//! The fixed-size tokens of the stage-6 conversation, and the one loop that
//! reads every one of them.
//!
//! Per file, on one connection:
//!
//! ```text
//! client -> server   [i32 LE: JSON length] [JSON file info] [filesize bytes]
//! server -> client   "OK"
//! client -> server   [32 lowercase hex characters: MD5 of the bytes]
//! server -> client   "203" (the digests match) or "204" (they do not)
//! ```
//!
//! The header and the JSON are stage 4's frame
//! ([`length_header_fix::write_frame`] / [`length_header_fix::read_frame`]);
//! everything else has a size both ends know in advance, so it is read with
//! [`read_token`]: a loop that keeps reading until it holds exactly that many
//! bytes, never one more. That loop is the whole fix for 拆包 (a token cut
//! across reads is put back together) and for 粘包 (a read never asks for
//! bytes past the token, so it cannot swallow the start of the next one).

use std::fmt;
use std::io::{self, Read};

/// The server's answer after the last byte of a file: "I have all N bytes".
pub const OK: &[u8; 2] = b"OK";

/// The server's answer when its MD5 of the received bytes equals the client's.
pub const VERIFIED: &[u8; 3] = b"203";

/// The server's answer when the digests differ: the upload was discarded.
pub const MISMATCH: &[u8; 3] = b"204";

/// Length of the MD5 digest as the client sends it: 32 hex characters.
pub const DIGEST_HEX_LEN: usize = 32;

/// A token that did not arrive whole.
#[derive(Debug)]
pub enum TokenError {
    /// The socket failed (a reset, or a read timeout: `WouldBlock`/`TimedOut`).
    Io(io::Error),
    /// The peer closed the connection after `got` of the token's `expected` bytes.
    Closed {
        /// Bytes of the token that arrived before the end of the stream.
        got: usize,
        /// The token's size.
        expected: usize,
    },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Io(e) => write!(f, "{e}"),
            TokenError::Closed { got, expected } => write!(
                f,
                "the connection closed after {got} of the {expected} bytes expected"
            ),
        }
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TokenError::Io(e) => Some(e),
            TokenError::Closed { .. } => None,
        }
    }
}

// ANCHOR: read_token
/// Fills `buf` completely from `r`, however the bytes are chunked on the way.
///
/// This is `Read::read_exact`, written out because it is the lesson, and
/// because the caller needs to know how far it got when the peer closes
/// (`read_exact` only says "unexpected end of file").
pub fn read_token<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> Result<(), TokenError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => {
                return Err(TokenError::Closed {
                    got,
                    expected: buf.len(),
                })
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(TokenError::Io(e)),
        }
    }
    Ok(())
}
// ANCHOR_END: read_token

/// True when `digest` is 32 ASCII hex digits. Upper case is accepted too:
/// Python's `hexdigest()` writes lower case, but nothing is gained by refusing
/// a client that shouts.
pub fn is_hex_digest(digest: &[u8]) -> bool {
    digest.len() == DIGEST_HEX_LEN && digest.iter().all(u8::is_ascii_hexdigit)
}

/// Shows bytes that should have been a token: printable ASCII as text,
/// anything else escaped, so a log line says exactly what arrived.
pub fn show_bytes(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

pub use common::netio::is_timeout;

/// True for the errors that mean "the other end has gone": a reset, a
/// broken pipe, an aborted connection.
pub fn is_disconnect(e: &io::Error) -> bool {
    common::netio::is_hang_up(e)
        || matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::NotConnected
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per read: the worst chunking there is.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    /// A token cut into one-byte reads is reassembled, and the byte after it stays unread.
    #[test]
    fn token_survives_one_byte_reads() {
        let mut r = OneByte(b"203OK");
        let mut verdict = [0u8; 3];
        read_token(&mut r, &mut verdict).unwrap();
        assert_eq!(&verdict, VERIFIED);
        assert_eq!(r.0, b"OK");
    }

    /// A close inside a token says how many of its bytes arrived.
    #[test]
    fn close_inside_a_token_counts_bytes() {
        let mut digest = [0u8; DIGEST_HEX_LEN];
        let err = read_token(&mut &b"0123"[..], &mut digest).unwrap_err();
        assert!(matches!(
            err,
            TokenError::Closed {
                got: 4,
                expected: 32
            }
        ));
        assert_eq!(
            err.to_string(),
            "the connection closed after 4 of the 32 bytes expected"
        );
    }

    /// Only 32 hex digits are a digest.
    #[test]
    fn hex_digests() {
        assert!(is_hex_digest(b"d41d8cd98f00b204e9800998ecf8427e"));
        assert!(is_hex_digest(b"D41D8CD98F00B204E9800998ECF8427E"));
        assert!(!is_hex_digest(b"d41d8cd98f00b204e9800998ecf8427g"));
        assert!(!is_hex_digest(b"d41d8cd98f00b204e9800998ecf8427"));
        assert_eq!(show_bytes(b"OK\n\xff"), r#""OK\n\xff""#);
    }
}
