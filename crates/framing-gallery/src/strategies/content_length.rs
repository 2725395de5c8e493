//! A header block with `Content-Length`, then the body: the message framing
//! of HTTP/1.1 (RFC 9112, section 6.3), and exactly the framing of the
//! Language Server Protocol's base protocol.
//!
//! ```text
//!   "hello":  Content-Length: 5\r\n
//!             \r\n                      <- the empty line ends the header block
//!             hello                     <- exactly 5 bytes, then the next message
//! ```
//!
//! Header lines are `Name: value`, names case-insensitive, blanks around the
//! value ignored; lines this decoder does not know are skipped, so a peer can
//! add `Content-Type` and the like. Two steps, each a lesson already seen:
//! the header block is *delimited* (ended by `\r\n\r\n`, like
//! [`crate::lines`]) and the body is *length-prefixed* (like
//! [`crate::length4`]). Binary-safe and extensible, at 20-odd bytes a frame.
//! HTTP has chunked transfer coding for a body of unknown length; this
//! decoder does not (a message without `Content-Length` is refused).
//!
//! **Oversize: fail fast.** The header block must end within `max_header`
//! bytes (8 KiB by default, the order of what HTTP servers allow); the
//! decoder searches no further and refuses at once. A `Content-Length` that
//! is not all digits, that appears twice with different values (RFC 9112
//! section 6.3 says to treat that as unrecoverable), or that is over the
//! maximum is refused before a byte of the body is buffered for it. The
//! stream is then unusable: the caller closes it.

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};

/// The longest header block accepted by default, the blank line included.
pub const DEFAULT_MAX_HEADER: usize = 8 * 1024;

const END: &[u8] = b"\r\n\r\n";

/// Encoder and decoder of `Content-Length` framed messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentLength {
    max_header: usize,
    max_len: usize,
}

impl ContentLength {
    /// Header blocks of at most `max_header` bytes, bodies of at most `max_len`.
    pub fn new(max_header: usize, max_len: usize) -> Self {
        Self {
            max_header,
            max_len,
        }
    }

    /// The body length the header block (without its blank line) announces.
    fn parse_header(&self, block: &[u8]) -> Result<u64, DecodeError> {
        let mut found: Option<u64> = None;
        let mut offset = 0;
        for line in block.split(|&b| b == b'\n') {
            let at = offset;
            offset += line.len() + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() && at + 1 >= block.len() {
                continue;
            }
            let malformed = |why: String| DecodeError::Malformed { offset: at, why };
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(malformed(format!(
                    "a header line without `:`: `{}`",
                    line.escape_ascii()
                )));
            };
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            if name.is_empty() || name.iter().any(|b| !b.is_ascii_graphic()) {
                return Err(malformed(format!(
                    "a header name that is not a token: `{}`",
                    name.escape_ascii()
                )));
            }
            if !name.eq_ignore_ascii_case(b"content-length") {
                continue;
            }
            if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                return Err(malformed(format!(
                    "Content-Length `{}` is not a number",
                    value.escape_ascii()
                )));
            }
            let len = value.iter().try_fold(0u64, |n, &d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            });
            let Some(len) = len else {
                return Err(DecodeError::TooLarge {
                    what: "body",
                    len: u64::MAX,
                    at_least: true,
                    max: self.max_len as u64,
                });
            };
            match found {
                Some(earlier) if earlier != len => {
                    return Err(malformed(format!(
                        "Content-Length given twice, {earlier} and {len}"
                    )))
                }
                _ => found = Some(len),
            }
        }
        found.ok_or_else(|| DecodeError::Malformed {
            offset: 0,
            why: "no Content-Length in the header block".into(),
        })
    }
}

impl Decoder for ContentLength {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        let bytes = buf.as_slice();
        let window = &bytes[..bytes.len().min(self.max_header)];
        let block_end = if window.starts_with(b"\r\n") {
            Some(2)
        } else {
            window
                .windows(END.len())
                .position(|w| w == END)
                .map(|at| at + END.len())
        };
        let Some(block_end) = block_end else {
            if bytes.len() > self.max_header {
                return Err(DecodeError::TooLarge {
                    what: "header block",
                    len: self.max_header as u64 + 1,
                    at_least: true,
                    max: self.max_header as u64,
                });
            }
            return Ok(None);
        };
        let len = self.parse_header(&bytes[..block_end - 2])?;
        if len > self.max_len as u64 {
            return Err(DecodeError::TooLarge {
                what: "body",
                len,
                at_least: false,
                max: self.max_len as u64,
            });
        }
        let len = len as usize;
        if bytes.len() < block_end + len {
            return Ok(None);
        }
        buf.consume(block_end);
        Ok(Some(buf.take(len)))
    }
}

impl Encoder for ContentLength {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", message.len()).as_bytes());
        out.extend_from_slice(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        let mut buf = Buffer::new();
        buf.push(input);
        ContentLength::new(DEFAULT_MAX_HEADER, 100).decode(&mut buf)
    }

    /// Other headers are skipped, names are case-insensitive, blanks around the value are ignored.
    #[test]
    fn extra_headers_and_case() {
        let got = decode_all(b"Content-Type: text/plain\r\ncontent-length:  2 \r\n\r\nhi");
        assert_eq!(got.unwrap(), Some(b"hi".to_vec()));
    }

    /// Missing, doubled-and-different and non-numeric lengths are refused with the reason.
    #[test]
    fn bad_lengths() {
        let err = |input: &[u8]| decode_all(input).unwrap_err().to_string();
        assert!(err(b"\r\nhi").contains("no Content-Length"));
        assert!(err(b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n").contains("1 and 2"));
        assert!(err(b"Content-Length: -1\r\n\r\n").contains("not a number"));
        assert!(err(b"Content-Length: 101\r\n\r\n").contains("101 bytes announced"));
    }
}
