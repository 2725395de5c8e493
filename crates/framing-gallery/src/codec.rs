//! The trait pair every strategy implements, the growing buffer they decode
//! from, and the driver that feeds a decoder from a socket.
//!
//! This is the shape of tokio-util's `codec` module and of Netty's
//! cumulation, written with `std` only:
//!
//! ```text
//!   socket ──read──▶ Buffer ──decode──▶ Ok(Some(frame))   a whole frame, consumed from the buffer
//!                       ▲                Ok(None)          need more bytes: read again
//!                       └── the rest     Err(..)           malformed or oversized: stop
//!   end of stream ──▶ decode_eof ──▶ leftovers are an error, never a silent frame
//! ```
//!
//! Stage 4 reads *exactly* the header and then *exactly* the body with
//! read-exactly loops. A decoder over a buffer instead reads whatever
//! arrived (many frames, or a sliver of one) and pulls out every whole frame:
//! fewer system calls, and the same code works on any chunking because it
//! never assumes anything about where a read ends.

use std::fmt;
use std::io::{self, Read};

/// The bytes that arrived and have not been decoded yet.
///
/// Consuming from the front only moves an offset; the consumed bytes are
/// dropped when they are the larger part of the buffer, so decoding many
/// small frames costs linear time, not a copy of the rest per frame (what
/// `Vec::drain(..n)` would cost).
#[derive(Clone, Debug, Default)]
pub struct Buffer {
    bytes: Vec<u8>,
    start: usize,
}

impl Buffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes that arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.bytes.extend_from_slice(bytes);
    }

    /// The bytes not consumed yet.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// How many bytes are buffered.
    pub fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the first `n` buffered bytes (at most all of them).
    pub fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.bytes.len() {
            self.bytes.clear();
            self.start = 0;
        }
    }

    /// Removes and returns the first `n` buffered bytes (at most all of them).
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.len());
        let out = self.as_slice()[..n].to_vec();
        self.consume(n);
        out
    }

    /// Reads once from `r` into the buffer, at most `chunk` bytes; returns
    /// what the read returned (0 at end of stream). The buffer grows by what
    /// arrived, never by what a header announced.
    pub fn read_from<R: Read + ?Sized>(&mut self, r: &mut R, chunk: usize) -> io::Result<usize> {
        self.compact();
        let old = self.bytes.len();
        self.bytes.resize(old + chunk, 0);
        let result = loop {
            match r.read(&mut self.bytes[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = *result.as_ref().unwrap_or(&0);
        self.bytes.truncate(old + n);
        result
    }

    fn compact(&mut self) {
        if self.start > 0 && self.start >= self.bytes.len() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
    }
}

/// Why a decoder refused the stream. Every variant carries the numbers a
/// reader needs to see what the peer sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame announced (or the bytes without an end) are over the limit.
    /// Refused before a byte is allocated for the frame itself.
    TooLarge {
        /// What was too large: "line", "frame", "header block", ...
        what: &'static str,
        /// The size the peer announced, or "at least" this many bytes when the
        /// end was never seen.
        len: u64,
        /// True when `len` is a lower bound (no end marker within the limit).
        at_least: bool,
        /// The limit.
        max: u64,
    },
    /// The bytes break the format's rules.
    Malformed {
        /// Where in the frame the fault is, from the frame's first byte.
        offset: usize,
        /// What is wrong, in words.
        why: String,
    },
    /// The stream ended with bytes that are not a whole frame.
    Leftover {
        /// How many bytes were left.
        bytes: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge {
                what,
                len,
                at_least: true,
                max,
            } => write!(
                f,
                "{what} of at least {len} bytes, the maximum is {max}; refused before \
                 buffering the rest"
            ),
            DecodeError::TooLarge {
                what,
                len,
                at_least: false,
                max,
            } => write!(
                f,
                "{what} of {len} bytes announced, the maximum is {max}; refused before allocating"
            ),
            DecodeError::Malformed { offset, why } => {
                write!(f, "malformed at byte {offset} of the frame: {why}")
            }
            DecodeError::Leftover { bytes } => write!(
                f,
                "the stream ended with {bytes} byte(s) of an unfinished frame"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeError> for io::Error {
    fn from(e: DecodeError) -> Self {
        let kind = match e {
            DecodeError::Leftover { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// Why an encoder would not write a message: the format cannot carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The message holds a byte the format uses as its end marker.
    Contains {
        /// The byte, shown escaped.
        byte: u8,
        /// Its offset in the message.
        at: usize,
    },
    /// The message is not the one size the format carries.
    WrongLength {
        /// The message's length.
        len: usize,
        /// The only length the format carries.
        record: usize,
    },
    /// The message is longer than the format can announce.
    TooLong {
        /// The message's length.
        len: usize,
        /// The longest the format can announce.
        max: u64,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Contains { byte, at } => write!(
                f,
                "the message holds the end marker `{}` at byte {at}",
                byte.escape_ascii()
            ),
            EncodeError::WrongLength { len, record } => write!(
                f,
                "the message is {len} bytes, a record is exactly {record}"
            ),
            EncodeError::TooLong { len, max } => write!(
                f,
                "the message is {len} bytes, the format announces at most {max}"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

// ANCHOR: Decoder
/// Pulls whole frames out of a growing buffer.
///
/// The contract is tokio-util's: `decode` returns `Ok(Some(frame))` and
/// consumes the frame's bytes when a whole frame is buffered, `Ok(None)`
/// when more bytes are needed (and leaves the buffer as it is, or consumes
/// only what it has fully accounted for), and `Err` when the bytes can
/// never become a valid frame. It must not care how the bytes were cut into
/// pushes: the decoder verifier (`verify`) checks exactly that.
pub trait Decoder {
    /// One frame from the front of `buf`, if a whole one is there.
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError>;

    /// Called at end of stream, repeatedly until it returns `Ok(None)`: the
    /// frames still buffered, then an error if bytes are left that are not a
    /// whole frame. A format whose frames end *with* the stream (half-close)
    /// overrides it.
    fn decode_eof(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(DecodeError::Leftover { bytes: buf.len() }),
        }
    }
}
// ANCHOR_END: Decoder

/// Writes a message as the bytes of one frame.
pub trait Encoder {
    /// Appends the frame for `message` to `out`, or says why the format
    /// cannot carry it (and appends nothing).
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

impl<D: Decoder + ?Sized> Decoder for Box<D> {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        (**self).decode(buf)
    }
    fn decode_eof(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        (**self).decode_eof(buf)
    }
}

impl<E: Encoder + ?Sized> Encoder for Box<E> {
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        (**self).encode(message, out)
    }
}

/// How much [`FrameReader`] asks for per read.
pub const READ_CHUNK: usize = 8 * 1024;

/// Why [`FrameReader::next_frame`] stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The socket failed.
    Io(io::Error),
    /// The decoder refused the bytes; `buffered` is how many bytes were held
    /// when it did: the memory the bad frame cost.
    Decode {
        /// The decoder's reason.
        error: DecodeError,
        /// Bytes in the buffer at the refusal.
        buffered: usize,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Decode { error, .. } => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(e) => e,
            ReadError::Decode { error, .. } => error.into(),
        }
    }
}

/// The driver: reads from `R` into a [`Buffer`] and hands out every frame
/// the decoder finds. Like mini-redis's `Connection::read_frame`, it tries to
/// decode first and reads only when that says "need more".
#[derive(Debug)]
pub struct FrameReader<R, D> {
    reader: R,
    decoder: D,
    buf: Buffer,
    eof: bool,
}

impl<R: Read, D: Decoder> FrameReader<R, D> {
    /// A reader that decodes `reader`'s bytes with `decoder`.
    pub fn new(reader: R, decoder: D) -> Self {
        Self {
            reader,
            decoder,
            buf: Buffer::new(),
            eof: false,
        }
    }

    // ANCHOR: next_frame
    /// The next frame, `Ok(None)` at a clean end of stream.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        loop {
            let decoded = if self.eof {
                self.decoder.decode_eof(&mut self.buf)
            } else {
                self.decoder.decode(&mut self.buf)
            };
            let buffered = self.buf.len();
            match decoded {
                Err(error) => return Err(ReadError::Decode { error, buffered }),
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) if self.eof => return Ok(None),
                Ok(None) => {}
            }
            let n = self
                .buf
                .read_from(&mut self.reader, READ_CHUNK)
                .map_err(ReadError::Io)?;
            self.eof = n == 0;
        }
    }
    // ANCHOR_END: next_frame

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consuming moves an offset; pushing after a large consume drops the old bytes.
    #[test]
    fn buffer_consumes_and_compacts() {
        let mut buf = Buffer::new();
        buf.push(b"hello world");
        assert_eq!(buf.take(6), b"hello ");
        assert_eq!(buf.as_slice(), b"world");
        buf.push(b"!");
        assert_eq!(buf.as_slice(), b"world!");
        assert_eq!(buf.start, 0, "compacted on push");
        buf.consume(100);
        assert!(buf.is_empty());
    }

    /// A read grows the buffer by what arrived, not by the chunk it offered.
    #[test]
    fn read_from_keeps_only_what_arrived() {
        let mut buf = Buffer::new();
        let n = buf.read_from(&mut &b"abc"[..], 1024).unwrap();
        assert_eq!((n, buf.as_slice()), (3, &b"abc"[..]));
    }
}
