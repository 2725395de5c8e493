//! Fixed-length records: every frame is exactly `record` bytes, no header,
//! no marker. Netty's `FixedLengthFrameDecoder`.
//!
//! ```text
//! record = 4
//!   on the wire:  | A B C D | E F G H | I J ...
//!   decoded:      [A B C D] [E F G H]  (I J wait for two more bytes)
//! ```
//!
//! Zero bytes of overhead and nothing a hostile peer can claim: there is no
//! length to lie about, so there is no oversize to refuse and no guard to
//! get wrong. The price is that every message must be that size: a message
//! of another length is refused by the encoder, never padded (padding would
//! need a rule for telling padding from data, and then it is not fixed-length
//! any more). One lost or extra byte shifts every record after it, and
//! nothing in the stream says so: no resynchronisation.

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder};

/// Encoder and decoder of `record`-byte frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedLength {
    record: usize,
}

impl FixedLength {
    /// Frames of exactly `record` bytes.
    pub fn new(record: usize) -> Self {
        Self { record }
    }
}

impl Decoder for FixedLength {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        if buf.len() < self.record {
            return Ok(None);
        }
        Ok(Some(buf.take(self.record)))
    }
}

impl Encoder for FixedLength {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if message.len() != self.record {
            return Err(EncodeError::WrongLength {
                len: message.len(),
                record: self.record,
            });
        }
        out.extend_from_slice(message);
        Ok(())
    }
}
