//! A delimiter with escaping: COBS (Consistent Overhead Byte Stuffing,
//! Cheshire and Baker, IEEE/ACM Transactions on Networking, 1999), frames
//! ended by `0x00`. Any payload is safe, because encoding removes every
//! `0x00` from it.
//!
//! Each block is a code byte `n` (1-255) followed by `n - 1` data bytes; a
//! code under 255 means "and then a zero that was removed" (except at the
//! end of the frame):
//!
//! ```text
//!   message:      11 22 00 33
//!   encoded:      03 11 22 02 33 00
//!                 └┬┘       └┬┘   └── the delimiter: the only 00 on the wire
//!                  │         └── 2: one data byte (33), end of frame
//!                  └── 3: two data bytes (11 22), then a 00
//!   empty message: 01 00
//! ```
//!
//! Overhead: the delimiter plus one code byte per 254 bytes (at least one),
//! so never more than 2 + n/254 bytes, whatever the payload; byte stuffing
//! (SLIP, HDLC) doubles a payload made of escapes. After garbage, the next
//! `00` is a place to start again, which is why COBS is a common choice on
//! serial links that drop or corrupt bytes.
//!
//! **Oversize: fail fast, then discard,** as [`crate::lines`]: the decoder
//! searches only the first `max_encoded + 1` bytes for the delimiter, and
//! without one refuses at once; further `decode` calls discard up to the next
//! `00`. A malformed frame (a zero code, a block that runs past the
//! delimiter) is refused and consumed, so decoding can go on after it.

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};

/// The frame delimiter.
pub const DELIMITER: u8 = 0x00;

/// The most bytes `n` payload bytes take encoded, without the delimiter.
pub fn max_encoded_len(n: usize) -> usize {
    n + n / 254 + 1
}

/// Encoder and decoder of COBS frames ended by `00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cobs {
    max_len: usize,
    discarding: bool,
    /// Bytes at the front of the buffer already searched: a frame that
    /// arrives byte by byte is searched once, not once per byte.
    scanned: usize,
}

impl Cobs {
    /// Frames of at most `max_len` decoded bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            discarding: false,
            scanned: 0,
        }
    }
}

/// Appends the COBS encoding of `message` (without the delimiter).
pub fn encode_into(message: &[u8], out: &mut Vec<u8>) {
    let mut code_at = out.len();
    out.push(0);
    let mut code = 1u8;
    for &byte in message {
        if byte != 0 {
            out.push(byte);
            code += 1;
        }
        if byte == 0 || code == 0xFF {
            out[code_at] = code;
            code_at = out.len();
            out.push(0);
            code = 1;
        }
    }
    out[code_at] = code;
}

/// Decodes one COBS frame (without its delimiter).
pub fn decode_frame(frame: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(frame.len());
    let mut at = 0;
    if frame.is_empty() {
        return Err(DecodeError::Malformed {
            offset: 0,
            why: "an empty frame: even an empty message is one code byte (01)".into(),
        });
    }
    while at < frame.len() {
        let code = frame[at] as usize;
        if code == 0 {
            return Err(DecodeError::Malformed {
                offset: at,
                why: "a code byte of 00".into(),
            });
        }
        let end = at + code;
        if end > frame.len() {
            return Err(DecodeError::Malformed {
                offset: at,
                why: format!(
                    "code {code:#04x} promises {} data bytes, the frame has {} left",
                    code - 1,
                    frame.len() - at - 1
                ),
            });
        }
        out.extend_from_slice(&frame[at + 1..end]);
        at = end;
        if code != 0xFF && at < frame.len() {
            out.push(0);
        }
    }
    Ok(out)
}

impl Decoder for Cobs {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        if self.discarding {
            match buf.as_slice().iter().position(|&b| b == DELIMITER) {
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
        let max = max_encoded_len(self.max_len);
        let limit = buf.len().min(max + 1);
        let from = self.scanned.min(limit);
        let found = buf.as_slice()[from..limit]
            .iter()
            .position(|&b| b == DELIMITER)
            .map(|at| from + at);
        self.scanned = limit;
        match found {
            Some(end) => {
                self.scanned = 0;
                let frame = buf.take(end);
                buf.consume(1);
                let message = decode_frame(&frame)?;
                if message.len() > self.max_len {
                    return Err(DecodeError::TooLarge {
                        what: "frame",
                        len: message.len() as u64,
                        at_least: false,
                        max: self.max_len as u64,
                    });
                }
                Ok(Some(message))
            }
            None if limit > max => {
                self.discarding = true;
                self.scanned = 0;
                Err(DecodeError::TooLarge {
                    what: "encoded frame",
                    len: limit as u64,
                    at_least: true,
                    max: max as u64,
                })
            }
            None => Ok(None),
        }
    }
}

impl Encoder for Cobs {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_into(message, out);
        out.push(DELIMITER);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagram in the module comment is what the code does.
    #[test]
    fn diagram() {
        let mut out = Vec::new();
        Cobs::new(16)
            .encode(&[0x11, 0x22, 0x00, 0x33], &mut out)
            .unwrap();
        assert_eq!(out, [0x03, 0x11, 0x22, 0x02, 0x33, 0x00]);
        out.clear();
        Cobs::new(16).encode(&[], &mut out).unwrap();
        assert_eq!(out, [0x01, 0x00]);
    }

    /// Every length around a 254-byte block boundary, zeros or not, decodes back.
    #[test]
    fn round_trips_block_boundaries() {
        for len in [0, 1, 253, 254, 255, 508, 509, 1000] {
            for fill in [0u8, 7] {
                let message = vec![fill; len];
                let mut out = Vec::new();
                encode_into(&message, &mut out);
                assert!(!out.contains(&0), "len {len} fill {fill}");
                assert!(out.len() <= max_encoded_len(len), "len {len}");
                assert_eq!(
                    decode_frame(&out).unwrap(),
                    message,
                    "len {len} fill {fill}"
                );
            }
        }
    }

    /// A malformed frame is refused and consumed: the next `00` puts the decoder back in step.
    #[test]
    fn resynchronises_after_a_bad_frame() {
        let mut decoder = Cobs::new(64);
        let mut buf = Buffer::new();
        buf.push(&[0x05, 0x11, 0x22, 0x00, 0x03, 0x11, 0x22, 0x00]);
        let err = decoder.decode(&mut buf).unwrap_err();
        assert!(err.to_string().contains("promises 4 data bytes"), "{err}");
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(vec![0x11, 0x22]));
    }
}
