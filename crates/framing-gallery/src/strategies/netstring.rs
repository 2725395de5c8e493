//! Netstrings: the length in ASCII decimal, a colon, the bytes, a comma
//! (D. J. Bernstein, <https://cr.yp.to/proto/netstrings.txt>, 1997).
//!
//! ```text
//!   "hello":     35 3a 68 65 6c 6c 6f 2c      5:hello,
//!   "":          30 3a 2c                      0:,
//!   two frames:  5:hello,0:,  ->  [hello] []
//! ```
//!
//! Binary-safe (the length says where the data ends, whatever it holds),
//! readable in a packet capture, and the trailing comma is a cheap check
//! that reader and writer agree. The length must be known before the first
//! byte is sent, and after garbage there is no way to find the next frame.
//!
//! **Oversize: fail fast.** The length's digits are checked as they arrive:
//! a leading zero (Bernstein's rule: `0` only for the empty string), a byte
//! that is neither a digit nor the colon, or more digits than the maximum
//! has, are refused before the colon; a complete length over the maximum is
//! refused before a byte of the body is buffered for it. After an error the
//! stream cannot be trusted: the caller closes it.

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};

/// Encoder and decoder of netstrings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Netstring {
    max_len: usize,
}

impl Netstring {
    /// Netstrings of at most `max_len` data bytes.
    pub fn new(max_len: usize) -> Self {
        Self { max_len }
    }
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

impl Decoder for Netstring {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        let bytes = buf.as_slice();
        let max_digits = digits(self.max_len);
        let mut len: u64 = 0;
        let mut colon = None;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b':' if i > 0 => {
                    colon = Some(i);
                    break;
                }
                b'0'..=b'9' if i >= max_digits => {
                    return Err(DecodeError::TooLarge {
                        what: "netstring",
                        len: 10u64.pow(max_digits as u32),
                        at_least: true,
                        max: self.max_len as u64,
                    })
                }
                b'0'..=b'9' if i == 1 && bytes[0] == b'0' => {
                    return Err(DecodeError::Malformed {
                        offset: 0,
                        why: "a length with a leading zero".into(),
                    })
                }
                b'0'..=b'9' => len = len * 10 + u64::from(b - b'0'),
                other => {
                    return Err(DecodeError::Malformed {
                        offset: i,
                        why: format!(
                            "`{}` where a length digit or `:` belongs",
                            other.escape_ascii()
                        ),
                    })
                }
            }
        }
        let Some(colon) = colon else {
            return Ok(None);
        };
        if len > self.max_len as u64 {
            return Err(DecodeError::TooLarge {
                what: "netstring",
                len,
                at_least: false,
                max: self.max_len as u64,
            });
        }
        let len = len as usize;
        let end = colon + 1 + len;
        if bytes.len() <= end {
            return Ok(None);
        }
        if bytes[end] != b',' {
            return Err(DecodeError::Malformed {
                offset: end,
                why: format!(
                    "`{}` after the {len} data bytes, where the `,` belongs",
                    bytes[end].escape_ascii()
                ),
            });
        }
        buf.consume(colon + 1);
        let data = buf.take(len);
        buf.consume(1);
        Ok(Some(data))
    }
}

impl Encoder for Netstring {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(message.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(message);
        out.push(b',');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        let mut buf = Buffer::new();
        buf.push(input);
        Netstring::new(1024).decode(&mut buf)
    }

    /// The diagram: `5:hello,` and `0:,`; a half-arrived netstring is "need more".
    #[test]
    fn diagram() {
        assert_eq!(decode(b"5:hello,").unwrap(), Some(b"hello".to_vec()));
        assert_eq!(decode(b"0:,").unwrap(), Some(Vec::new()));
        assert_eq!(decode(b"5:hel").unwrap(), None);
        assert_eq!(decode(b"12").unwrap(), None);
    }

    /// Leading zeros, a missing comma, a stray byte and too many digits are refused with the reason.
    #[test]
    fn refusals() {
        let err = |input: &[u8]| decode(input).unwrap_err().to_string();
        assert!(err(b"05:hello,").contains("leading zero"));
        assert!(err(b"5:hello!").contains("where the `,` belongs"));
        assert!(err(b"5x").contains("`x` where a length digit or `:` belongs"));
        assert!(err(b":").contains("`:` where a length digit"));
        assert!(err(b"10000").contains("at least 10000 bytes, the maximum is 1024"));
        assert!(err(b"1025:").contains("1025 bytes announced"));
    }
}
