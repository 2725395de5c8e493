//! Newline-delimited lines with a maximum line length: a frame ends at the
//! first `\n`. Netty's `LineBasedFrameDecoder`, tokio-util's `LinesCodec`,
//! and the shape of SMTP, Redis' inline commands and JSON Lines.
//!
//! ```text
//!   on the wire:  h i \n \n l o n g e r \n p a r
//!   decoded:      [h i] [] [l o n g e r]   ("par" waits for its \n)
//! ```
//!
//! One byte of overhead, empty messages are free (`\n`), a sender can stream
//! a line without knowing its length, and after garbage the next `\n` is a
//! place to start again. But a message cannot hold `\n`: the encoder refuses
//! one that does (`\r` is kept as data: no `\r\n` folding here). Binary data
//! is out.
//!
//! **Oversize: fail fast, then discard.** As soon as `max_len + 1` bytes are
//! buffered without a `\n`, `decode` returns [`DecodeError::TooLarge`] without
//! waiting for the end of the line (Netty's `failFast = true`), so the line
//! costs at most `max_len + 1` bytes of memory. A caller that goes on calling
//! `decode` gets the following lines: the decoder discards up to and
//! including the next `\n` first (tokio-util's `LinesCodec` does the same).

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};

/// The longest line the gallery accepts by default: 8 KiB, the order of
/// what HTTP servers allow for one header line.
pub const DEFAULT_MAX_LINE: usize = 8 * 1024;

/// Encoder and decoder of `\n`-terminated lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lines {
    max_len: usize,
    discarding: bool,
    /// Bytes at the front of the buffer already searched: a frame that
    /// arrives byte by byte is searched once, not once per byte.
    scanned: usize,
}

impl Lines {
    /// Lines of at most `max_len` bytes, not counting the `\n`.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            discarding: false,
            scanned: 0,
        }
    }
}

impl Decoder for Lines {
    // ANCHOR: decode
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        if self.discarding {
            match buf.as_slice().iter().position(|&b| b == b'\n') {
                Some(end) => {
                    buf.consume(end + 1);
                    self.discarding = false;
                }
                None => {
                    buf.consume(buf.len());
                    return Ok(None);
                }
            }
        }
        // Only the first `max_len + 1` bytes are searched: the answer then
        // depends on the bytes, not on how many happened to arrive.
        let limit = buf.len().min(self.max_len + 1);
        let from = self.scanned.min(limit);
        let found = buf.as_slice()[from..limit]
            .iter()
            .position(|&b| b == b'\n')
            .map(|at| from + at);
        self.scanned = limit;
        match found {
            Some(end) => {
                self.scanned = 0;
                let line = buf.take(end);
                buf.consume(1);
                Ok(Some(line))
            }
            None if limit > self.max_len => {
                self.discarding = true;
                self.scanned = 0;
                Err(DecodeError::TooLarge {
                    what: "line",
                    len: limit as u64,
                    at_least: true,
                    max: self.max_len as u64,
                })
            }
            None => Ok(None),
        }
    }
    // ANCHOR_END: decode
}

impl Encoder for Lines {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(at) = message.iter().position(|&b| b == b'\n') {
            return Err(EncodeError::Contains { byte: b'\n', at });
        }
        out.extend_from_slice(message);
        out.push(b'\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After refusing an over-long line, the decoder discards up to the next `\n` and decodes the lines after it.
    #[test]
    fn discards_the_long_line_then_goes_on() {
        let mut decoder = Lines::new(4);
        let mut buf = Buffer::new();
        buf.push(b"ok\ntoo long\nnext\n");
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(b"ok".to_vec()));
        let err = decoder.decode(&mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line of at least 5 bytes, the maximum is 4; refused before buffering the rest"
        );
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(b"next".to_vec()));
        assert!(buf.is_empty());
    }

    /// A message holding `\n` is refused by the encoder, with where.
    #[test]
    fn encoder_refuses_a_newline() {
        let mut out = Vec::new();
        let err = Lines::new(64).encode(b"a\nb", &mut out).unwrap_err();
        assert_eq!(err, EncodeError::Contains { byte: b'\n', at: 1 });
        assert!(out.is_empty());
    }
}
