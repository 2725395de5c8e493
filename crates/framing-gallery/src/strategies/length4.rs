//! Stage 4's frame, for comparison: a 4-byte little-endian signed length,
//! then the body (the wire format of `length-header-fix`, which this module
//! reuses: [`length_header_fix::decode_header`] with its negative and
//! maximum checks, [`length_header_fix::encode_header`],
//! [`length_header_fix::DEFAULT_MAX_FRAME`]).
//!
//! ```text
//!   "hello":  05 00 00 00 68 65 6c 6c 6f
//!             └─ i32 LE ─┘ └── 5 bytes ─┘
//!   "":       00 00 00 00
//! ```
//!
//! Four bytes of overhead, binary-safe, empty messages are a header alone.
//! The sender must know the length first, and after garbage nothing says
//! where the next header is.
//!
//! The difference from stage 4 is *how* it reads: stage 4 loops until it has
//! exactly 4 bytes, then exactly the body; this decoder takes whatever the
//! socket had and pulls every whole frame out of the buffer.
//!
//! **Oversize: fail fast.** A negative length or one over the maximum is
//! refused as soon as the 4 header bytes are in, before a byte of the body is
//! buffered for it (stage 4's `read_frame` does the same). The stream is then
//! unusable: the caller closes it.

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};
use length_header_fix::{decode_header, encode_header, FrameError, HEADER_LEN};

/// Encoder and decoder of stage 4's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Length4 {
    max_len: usize,
}

impl Length4 {
    /// Frames of at most `max_len` body bytes.
    pub fn new(max_len: usize) -> Self {
        Self { max_len }
    }
}

impl Decoder for Length4 {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        let Some(header) = buf.as_slice().first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let len = decode_header(*header, self.max_len).map_err(|e| match e {
            FrameError::Negative(n) => DecodeError::Malformed {
                offset: 0,
                why: format!("the length header says {n}, and a length cannot be negative"),
            },
            FrameError::TooLarge { len, max } => DecodeError::TooLarge {
                what: "frame",
                len,
                at_least: false,
                max: max as u64,
            },
            other => DecodeError::Malformed {
                offset: 0,
                why: other.to_string(),
            },
        })?;
        if buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        buf.consume(HEADER_LEN);
        Ok(Some(buf.take(len)))
    }
}

impl Encoder for Length4 {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let header = encode_header(message.len()).map_err(|_| EncodeError::TooLong {
            len: message.len(),
            max: i32::MAX as u64,
        })?;
        out.extend_from_slice(&header);
        out.extend_from_slice(message);
        Ok(())
    }
}
