//! A varint length, then the body: protobuf's length-delimited streams
//! (`writeDelimitedTo` / `parseDelimitedFrom` in the Java library,
//! `google::protobuf::util::SerializeDelimitedToOstream` in C++), with the
//! length as a base-128 varint (unsigned LEB128; the protobuf encoding guide,
//! <https://protobuf.dev/programming-guides/encoding/#varints>).
//!
//! Seven bits of the length per byte, low bits first; a set top bit means
//! "another byte follows":
//!
//! ```text
//!   "hello" (5):   05 68 65 6c 6c 6f
//!   300 bytes:     ac 02 ...300 bytes...     300 = 0b10_0101100 -> 1_0101100 0_0000010
//!   "":            00
//! ```
//!
//! One byte of overhead under 128 bytes, two under 16 KiB, at most ten for
//! any `u64`: cheaper than stage 4's fixed four for small messages. No sign
//! to get wrong, no byte order to agree on. Like every length prefix: the
//! length comes first, and there is no resynchronisation.
//!
//! **Oversize: fail fast.** A varint with a continuation bit on its tenth
//! byte (more than 64 bits) is malformed; a complete length over the maximum
//! is refused before a byte of the body is buffered for it. The decoder waits
//! for the whole varint (at most ten bytes) before judging its value, so the
//! error names the same number however the bytes were cut.

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};

/// The most bytes a `u64` varint takes.
pub const MAX_VARINT_LEN: usize = 10;

/// Encoder and decoder of varint-length frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Varint {
    max_len: usize,
}

impl Varint {
    /// Frames of at most `max_len` body bytes.
    pub fn new(max_len: usize) -> Self {
        Self { max_len }
    }
}

/// Appends `n` as a varint.
pub fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7F) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

// ANCHOR: get_varint
/// The varint at the front of `bytes`: `Ok(None)` if it is not complete yet,
/// else its value and its length in bytes.
pub fn get_varint(bytes: &[u8]) -> Result<Option<(u64, usize)>, DecodeError> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(MAX_VARINT_LEN).enumerate() {
        let bits = u64::from(b & 0x7F);
        if i == MAX_VARINT_LEN - 1 && (b > 1) {
            return Err(DecodeError::Malformed {
                offset: i,
                why: format!("byte {:#04x} of the varint length goes past 64 bits", b),
            });
        }
        value |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Ok(None)
}
// ANCHOR_END: get_varint

impl Decoder for Varint {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        let Some((len, prefix)) = get_varint(buf.as_slice())? else {
            return Ok(None);
        };
        if len > self.max_len as u64 {
            return Err(DecodeError::TooLarge {
                what: "frame",
                len,
                at_least: false,
                max: self.max_len as u64,
            });
        }
        let len = len as usize;
        if buf.len() < prefix + len {
            return Ok(None);
        }
        buf.consume(prefix);
        Ok(Some(buf.take(len)))
    }
}

impl Encoder for Varint {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_varint(message.len() as u64, out);
        out.extend_from_slice(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagram's 300 is `ac 02`, and the largest u64 takes ten bytes and reads back.
    #[test]
    fn varints() {
        let mut out = Vec::new();
        put_varint(300, &mut out);
        assert_eq!(out, [0xac, 0x02]);
        out.clear();
        put_varint(u64::MAX, &mut out);
        assert_eq!(out.len(), MAX_VARINT_LEN);
        assert_eq!(get_varint(&out).unwrap(), Some((u64::MAX, 10)));
        assert!(get_varint(&[0xff; 10]).is_err());
        assert_eq!(get_varint(&[0xff; 9]).unwrap(), None);
    }
}
