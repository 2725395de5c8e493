//! Stage 4's framing, said to tokio-util's `LengthDelimitedCodec`.
//!
//! Stage 4 wrote its reading loop by hand: read exactly 4 header bytes, check
//! the length, read exactly that many body bytes. Here the library does all
//! of it; this module only *configures* it to stage 4's wire format and puts
//! stage 4's clear error messages on its refusals.
//!
//! ```text
//! +----------------------+---------------------+
//! | length: i32, LE (4)  | body: length bytes  |
//! +----------------------+---------------------+
//!  d4 05 00 00            1492 bytes             <- the reply to `seq 1 400`
//! ```

use length_header_fix::{decode_header, FrameError, Part, HEADER_LEN};
use std::io;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

/// The largest body accepted unless told otherwise: stage 4's maximum
/// ([`length_header_fix::DEFAULT_MAX_FRAME`], 16 MiB), not the codec's 8 MiB.
pub const DEFAULT_MAX_FRAME: usize = length_header_fix::DEFAULT_MAX_FRAME;

// ANCHOR: length_codec
/// A `LengthDelimitedCodec` that reads and writes exactly stage 4's frames:
/// a 4-byte little-endian length, then the body, nothing else.
///
/// Every line here overrides a default that does not match stage 4:
///
/// - `little_endian()`: the codec's default is **big-endian** (network
///   order, Python's `"!I"`). Left as it is, stage 4's `d4 05 00 00` (1,492)
///   would read as 3,557,097,472 and be refused, and `00 04 00 00` (1,024)
///   as 262,144, a body the reader would wait for forever.
/// - `length_field_length(4)`: already the default, said out loud because
///   the wire format depends on it.
/// - `max_frame_length(max)`: the default is **8 MiB**; stage 4 accepts
///   16 MiB, so a 10 MiB reply that stage 4's client takes would be refused.
///
/// The codec reads the length as **unsigned**, so stage 4's check for a
/// negative length is not there: `ff ff ff ff` (-1) reads as 4,294,967,295.
/// It is still refused, because every negative `i32` reads as 2 GiB or more,
/// over any maximum below 2 GiB; hence `max` is clamped to `i32::MAX`, the
/// largest length stage 4's header can say.
pub fn length_codec(max: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(HEADER_LEN)
        .max_frame_length(max.min(i32::MAX as usize))
        .new_codec()
}
// ANCHOR_END: length_codec

/// Stage 4's framing for tokio's `Framed`: [`length_codec`] doing all the
/// work, with stage 4's [`FrameError`] in place of the codec's errors.
///
/// Why wrap it at all: the codec refuses a hostile header with an
/// `InvalidData` error that says only "frame size too big", with no numbers
/// and the same words for a negative length. The bytes it refused are still
/// at the front of the buffer, so the wrapper reads them with stage 4's own
/// [`decode_header`] and says what they were; and a peer that closes inside
/// a frame gets stage 4's "n of m bytes arrived" instead of the codec's
/// "bytes remaining on stream". The wrapper never decides anything the codec
/// did not: it only explains.
#[derive(Debug)]
pub struct FrameCodec {
    inner: LengthDelimitedCodec,
    max: usize,
    /// The body length of the frame the codec is in the middle of, once it
    /// has taken the header off the buffer.
    body_len: Option<usize>,
}

impl FrameCodec {
    /// A codec that accepts bodies of up to `max` bytes (at most `i32::MAX`).
    pub fn new(max: usize) -> Self {
        let max = max.min(i32::MAX as usize);
        Self {
            inner: length_codec(max),
            max,
            body_len: None,
        }
    }

    /// The largest body this codec accepts.
    pub fn max_frame(&self) -> usize {
        self.max
    }

    /// The codec's refusal as a [`FrameError`] that names the length. The
    /// codec refuses a header before it takes it off the buffer, so the
    /// header is still at the front of `src`; read with the same maximum,
    /// stage 4's check refuses exactly what the codec refused.
    fn refusal(&self, e: io::Error, src: &BytesMut) -> FrameError {
        let header = src
            .get(..HEADER_LEN)
            .and_then(|h| <[u8; HEADER_LEN]>::try_from(h).ok());
        match header {
            Some(header) if e.kind() == io::ErrorKind::InvalidData => {
                match decode_header(header, self.max) {
                    Err(precise) => precise,
                    Ok(_) => FrameError::Io(e),
                }
            }
            _ => FrameError::Io(e),
        }
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        let announced = match self.body_len {
            Some(_) => None,
            None => src
                .get(..HEADER_LEN)
                .and_then(|h| <[u8; HEADER_LEN]>::try_from(h).ok())
                .map(i32::from_le_bytes),
        };
        match self.inner.decode(src) {
            Ok(Some(frame)) => {
                self.body_len = None;
                Ok(Some(frame))
            }
            Ok(None) => {
                if let Some(len) = announced {
                    // Accepted by the codec, so not negative.
                    self.body_len = usize::try_from(len).ok();
                }
                Ok(None)
            }
            Err(e) => Err(self.refusal(e, src)),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        let got = src.len();
        match self.body_len {
            // Closed between frames: how a peer says it is done.
            None if got == 0 => Ok(None),
            // Closed inside a frame: say how far it got, as stage 4 does.
            None => Err(FrameError::Truncated {
                part: Part::Header,
                got,
                expected: HEADER_LEN,
            }),
            Some(expected) => Err(FrameError::Truncated {
                part: Part::Body,
                got,
                expected,
            }),
        }
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, body: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        if body.len() > self.max {
            return Err(FrameError::TooLarge {
                len: body.len() as u64,
                max: self.max,
            });
        }
        self.inner.encode(body, dst).map_err(FrameError::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage4_bytes(bodies: &[&[u8]]) -> Vec<u8> {
        let mut wire = Vec::new();
        for body in bodies {
            length_header_fix::write_frame(&mut wire, body, length_header_fix::DEFAULT_MAX_FRAME)
                .unwrap();
        }
        wire
    }

    /// The codec writes exactly the bytes stage 4's write_frame writes, empty and large bodies included.
    #[test]
    fn encodes_stage4_bytes() {
        let large = vec![9u8; 70_000];
        let bodies: [&[u8]; 4] = [b"", b"hi\n", &[0xd4; 1492], &large];
        let mut codec = FrameCodec::default();
        let mut wire = BytesMut::new();
        for body in bodies {
            codec.encode(body, &mut wire).unwrap();
        }
        assert_eq!(&wire[..], &stage4_bytes(&bodies)[..]);
    }

    /// Stage 4's bytes decode to the same bodies whether they come whole or one byte at a time.
    #[test]
    fn decodes_stage4_bytes_whole_and_byte_by_byte() {
        let bodies: [&[u8]; 3] = [b"seq", b"", &[0u8; 300]];
        let wire = stage4_bytes(&bodies);
        let mut whole = BytesMut::from(&wire[..]);
        let mut codec = FrameCodec::default();
        let mut got = Vec::new();
        while let Some(frame) = codec.decode(&mut whole).unwrap() {
            got.push(frame.to_vec());
        }
        assert!(codec.decode_eof(&mut whole).unwrap().is_none());
        let mut trickle = BytesMut::new();
        let mut codec = FrameCodec::default();
        let mut got_trickled = Vec::new();
        for byte in &wire {
            trickle.extend_from_slice(&[*byte]);
            while let Some(frame) = codec.decode(&mut trickle).unwrap() {
                got_trickled.push(frame.to_vec());
            }
        }
        let want: Vec<Vec<u8>> = bodies.iter().map(|b| b.to_vec()).collect();
        assert_eq!(got, want);
        assert_eq!(got_trickled, want);
    }

    /// A negative length is refused as negative, with its value, not as "frame size too big".
    #[test]
    fn negative_length_is_named() {
        let mut buf = BytesMut::from(&(-5i32).to_le_bytes()[..]);
        let err = FrameCodec::default().decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::Negative(-5)), "{err}");
    }

    /// A length over the maximum is refused with both numbers, before any body byte arrives.
    #[test]
    fn over_max_is_refused_with_numbers() {
        let mut buf = BytesMut::from(&101i32.to_le_bytes()[..]);
        let err = FrameCodec::new(100).decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, FrameError::TooLarge { len: 101, max: 100 }),
            "{err}"
        );
        assert!(err.to_string().contains("101") && err.to_string().contains("100"));
        let mut codec = FrameCodec::new(100);
        let mut ok = BytesMut::from(&100i32.to_le_bytes()[..]);
        assert!(codec.decode(&mut ok).unwrap().is_none(), "100 is allowed");
    }

    /// The bare codec, for contrast: one error text for both hostile lengths, no numbers.
    #[test]
    fn bare_codec_says_only_frame_size_too_big() {
        for header in [(-1i32).to_le_bytes(), i32::MAX.to_le_bytes()] {
            let err = length_codec(DEFAULT_MAX_FRAME)
                .decode(&mut BytesMut::from(&header[..]))
                .unwrap_err();
            assert_eq!(err.to_string(), "frame size too big");
        }
    }

    /// A close inside a header or a body says how many of how many bytes arrived.
    #[test]
    fn truncation_is_reported_with_counts() {
        let wire = stage4_bytes(&[b"hello"]);
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&wire[..2]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the peer closed the connection in the middle of a header: 2 of 4 header bytes arrived"
        );
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&wire[..7]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert!(
            err.to_string().contains("3 of 5 body bytes arrived"),
            "{err}"
        );
    }

    /// The maximum is clamped to what a signed 4-byte header can say, so negatives stay refused.
    #[test]
    fn maximum_is_clamped_to_i32() {
        let codec = FrameCodec::new(usize::MAX);
        assert_eq!(codec.max_frame(), i32::MAX as usize);
        let mut buf = BytesMut::from(&i32::MIN.to_le_bytes()[..]);
        let err = FrameCodec::new(usize::MAX).decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::Negative(i32::MIN)), "{err}");
    }
}
