//! [`FrameReader`]: stage 4's frames read out of one buffer the reader owns,
//! for a connection that carries many frames and needs speed.
//!
//! [`crate::read_frame_into`] is the lesson: a header, then exactly that many
//! bytes, whatever the reads return. Behind a `BufReader` it costs two copies
//! of every byte (socket -> `BufReader`'s buffer -> your buffer). A reader
//! that owns the buffer can hand each body out as a slice of what the socket
//! wrote, the way tokio-util's `FramedRead` splits frames off its `BytesMut`:
//! one copy, and one system call for as many frames as fit in the buffer.
//!
//! The defences are the lesson's: a length is checked before anything is
//! allocated for it, and the buffer grows only as bytes arrive (at most
//! [`crate::framing::BODY_CHUNK`] or as much again as has arrived, never past the
//! frame), so a peer that announces 16 MiB and sends 10 bytes costs one
//! chunk, not 16 MiB.

use crate::framing::{decode_header, FrameError, Part, BODY_CHUNK, HEADER_LEN};
use std::io::{self, Read};

/// How much a [`FrameReader`] reads at once unless told otherwise: many small
/// frames per system call, and a 64 KiB frame whole.
pub const DEFAULT_READ_BUFFER: usize = 256 * 1024;

/// Reads stage-4 frames from `R`, returning each body as a slice of its own
/// buffer, valid until the next call.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// The first byte not yet handed out.
    start: usize,
    /// One past the last byte read.
    end: usize,
    /// The largest body accepted.
    max: usize,
}

impl<R: Read> FrameReader<R> {
    /// A reader of frames of at most `max` bytes, reading
    /// [`DEFAULT_READ_BUFFER`] bytes at a time.
    pub fn new(inner: R, max: usize) -> Self {
        Self::with_capacity(DEFAULT_READ_BUFFER, inner, max)
    }

    /// A reader whose buffer starts at `capacity` bytes (at least the
    /// header's 4); a larger frame makes it grow as its bytes arrive.
    pub fn with_capacity(capacity: usize, inner: R, max: usize) -> Self {
        Self {
            inner,
            buf: vec![0; capacity.max(HEADER_LEN)],
            start: 0,
            end: 0,
            max,
        }
    }

    /// The next frame's body, or `Ok(None)` when the peer closed cleanly
    /// between frames. Errors as [`crate::read_frame_into`] does: a negative
    /// or oversized length before anything is allocated, a stream that ends
    /// inside a frame.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        loop {
            let buffered = self.end - self.start;
            let need = if buffered >= HEADER_LEN {
                let mut header = [0u8; HEADER_LEN];
                header.copy_from_slice(&self.buf[self.start..self.start + HEADER_LEN]);
                let len = decode_header(header, self.max)?;
                if buffered >= HEADER_LEN + len {
                    let body = self.start + HEADER_LEN;
                    self.start = body + len;
                    return Ok(Some(&self.buf[body..body + len]));
                }
                HEADER_LEN + len
            } else {
                HEADER_LEN
            };
            self.make_room(need);
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) if buffered == 0 => return Ok(None),
                Ok(0) => return Err(truncated(buffered, need)),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FrameError::Io(e)),
            }
        }
    }

    /// Makes room after `end` for the frame in progress, which needs `need`
    /// bytes from `start`: moves it to the front when it would not fit
    /// where it is, and grows the buffer by what has arrived, by at most a
    /// chunk or as much again as is there, never past the frame.
    fn make_room(&mut self, need: usize) {
        if self.start == self.end {
            // Nothing kept: start over at the front, copying nothing.
            self.start = 0;
            self.end = 0;
        }
        if self.start + need <= self.buf.len() && self.end < self.buf.len() {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if need > self.buf.len() && self.end == self.buf.len() {
            let grown = (self.end + self.end.max(BODY_CHUNK)).min(need);
            self.buf.resize(grown, 0);
        }
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The stream underneath, to write replies on (a `&TcpStream` reads and
    /// writes the same socket).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Bytes read but not yet handed out as frames.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The buffer's size now: what a hostile peer has made it cost.
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }
}

fn truncated(buffered: usize, need: usize) -> FrameError {
    if buffered < HEADER_LEN {
        FrameError::Truncated {
            part: Part::Header,
            got: buffered,
            expected: HEADER_LEN,
        }
    } else {
        FrameError::Truncated {
            part: Part::Body,
            got: buffered - HEADER_LEN,
            expected: need - HEADER_LEN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_frame;
    use proptest::prelude::*;

    /// A reader that returns the stream in the given sizes, then the rest.
    struct Pieces {
        bytes: Vec<u8>,
        at: usize,
        sizes: Vec<usize>,
        next: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes.get(self.next).copied().unwrap_or(usize::MAX);
            self.next += 1;
            let n = size.max(1).min(out.len()).min(self.bytes.len() - self.at);
            out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn wire(bodies: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for body in bodies {
            write_frame(&mut out, body, usize::MAX).unwrap();
        }
        out
    }

    fn read_all<R: Read>(mut r: FrameReader<R>) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut got = Vec::new();
        while let Some(body) = r.next_frame()? {
            got.push(body.to_vec());
        }
        Ok(got)
    }

    proptest! {
        /// However the stream is cut, and whatever the buffer's size, every
        /// body comes out whole and in order.
        #[test]
        fn any_cutting_gives_the_same_frames(
            bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
            sizes in prop::collection::vec(1usize..40, 0..200),
            capacity in 1usize..64,
        ) {
            let bytes = wire(&bodies);
            let r = FrameReader::with_capacity(capacity, Pieces { bytes, at: 0, sizes, next: 0 }, 1 << 20);
            prop_assert_eq!(read_all(r).unwrap(), bodies);
        }
    }

    /// A stream that ends inside a header or a body is an error that says where.
    #[test]
    fn a_cut_stream_is_an_error() {
        let bytes = wire(&[b"hello".to_vec()]);
        for cut in 1..bytes.len() {
            let r = FrameReader::new(&bytes[..cut], 100);
            let err = read_all(r).unwrap_err();
            let part = if cut < HEADER_LEN {
                Part::Header
            } else {
                Part::Body
            };
            assert!(
                matches!(err, FrameError::Truncated { part: p, .. } if p == part),
                "cut at {cut}: {err}"
            );
        }
    }

    /// An oversized or negative length is refused before anything grows.
    #[test]
    fn hostile_lengths_are_refused_and_cost_nothing() {
        let mut r = FrameReader::with_capacity(16, &[0xff, 0xff, 0xff, 0x7f, 1, 2][..], 1024);
        assert!(matches!(r.next_frame(), Err(FrameError::TooLarge { .. })));
        assert_eq!(r.buffer_len(), 16);
        let mut r = FrameReader::new(&[0xff, 0xff, 0xff, 0xff][..], 1024);
        assert!(matches!(r.next_frame(), Err(FrameError::Negative(-1))));
    }

    /// Announcing 16 MiB and sending 10 bytes costs one chunk, not 16 MiB.
    #[test]
    fn memory_follows_the_bytes_that_arrived() {
        let mut bytes = (16u32 << 20).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[7; 10]);
        let mut r = FrameReader::with_capacity(64, &bytes[..], 32 << 20);
        assert!(matches!(
            r.next_frame(),
            Err(FrameError::Truncated {
                part: Part::Body,
                got: 10,
                ..
            })
        ));
        assert!(r.buffer_len() <= BODY_CHUNK + 64, "{}", r.buffer_len());
    }
}
