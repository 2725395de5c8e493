//! One message per connection, ended by the sender's half-close
//! (`shutdown(Write)`, a TCP FIN: RFC 9293, section 3.6): an HTTP/1.1
//! response without `Content-Length` or chunked coding (RFC 9112, section
//! 6.3), or `nc -N host port < file` (OpenBSD netcat's `-N` shuts the socket
//! down after the end of its input).
//!
//! ```text
//!   connect ─ h e l l o ─ FIN  ->  [hello]
//!   connect ─ FIN              ->  []            an empty message is a connection with no bytes
//! ```
//!
//! Zero bytes of overhead on the stream, any payload, and the sender need
//! not know the length in advance: the end of the stream *is* the frame's
//! end. The price is a connection per message (a handshake, a FIN each way,
//! and a `TIME_WAIT` on one side), and a message cut short looks whole: if
//! the sending program crashes halfway, its kernel closes the socket with an
//! ordinary FIN, and the receiver takes the first half for the message. Only
//! a reset is an error. A length prefix would have caught it.
//!
//! **Oversize: fail fast.** Once more than `max_len` bytes are buffered the
//! decoder refuses, whatever is still coming; memory stays at `max_len` plus
//! one read.

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};

/// Encoder and decoder of one message per stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HalfClose {
    max_len: usize,
    delivered: bool,
}

impl HalfClose {
    /// A message of at most `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            delivered: false,
        }
    }
}

impl Decoder for HalfClose {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        if buf.len() > self.max_len {
            return Err(DecodeError::TooLarge {
                what: "message",
                len: self.max_len as u64 + 1,
                at_least: true,
                max: self.max_len as u64,
            });
        }
        if self.delivered && !buf.is_empty() {
            return Err(DecodeError::Malformed {
                offset: 0,
                why: "bytes after the message: one connection carries one message".into(),
            });
        }
        Ok(None)
    }

    fn decode_eof(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        self.decode(buf)?;
        if self.delivered {
            return Ok(None);
        }
        self.delivered = true;
        Ok(Some(buf.take(buf.len())))
    }
}

impl Encoder for HalfClose {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message is whatever arrived before the end of the stream, an empty one included; over the maximum is refused.
    #[test]
    fn the_stream_is_the_message() {
        let mut buf = Buffer::new();
        let mut decoder = HalfClose::new(4);
        assert_eq!(decoder.decode_eof(&mut buf).unwrap(), Some(Vec::new()));
        assert_eq!(decoder.decode_eof(&mut buf).unwrap(), None);
        let mut decoder = HalfClose::new(4);
        buf.push(b"abcde");
        assert!(decoder
            .decode(&mut buf)
            .unwrap_err()
            .to_string()
            .contains("at least 5 bytes"));
    }
}
