//! The length-header framing: a 4-byte little-endian signed length, then the
//! body. This is the part of the stage that later stages reuse.
//!
//! Reading follows mini-redis's `Connection`: "need more bytes" is ordinary,
//! so every read is a loop until the header (4 bytes) and then the body
//! (`len` bytes) are complete; a peer that closes *between* frames has simply
//! finished, while a peer that closes *inside* a frame is an error that says
//! how far it got.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};

/// Bytes in a header.
pub const HEADER_LEN: usize = 4;

/// The largest body [`read_frame`] accepts unless told otherwise: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// How far ahead of the bytes that have arrived [`read_frame`] allocates a
/// body: a frame that claims a large length but never sends it costs memory
/// only as its bytes actually arrive.
pub const BODY_CHUNK: usize = 64 * 1024;

/// Bodies up to this many bytes are copied behind their header so that
/// [`write_frame`] hands the whole frame over in one `write` on any writer.
pub const COPY_LIMIT: usize = 64 * 1024;

/// Which part of a frame a truncated read was in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The 4-byte length header.
    Header,
    /// The body the header announced.
    Body,
}

/// Why a frame could not be read or written.
#[derive(Debug)]
pub enum FrameError {
    /// The socket failed.
    Io(io::Error),
    /// The header holds a negative length.
    Negative(i32),
    /// The header's length is over the maximum frame size.
    TooLarge {
        /// The length the header claimed.
        len: u64,
        /// The maximum this reader accepts.
        max: usize,
    },
    /// The peer closed the connection inside a frame.
    Truncated {
        /// Header or body.
        part: Part,
        /// How many of its bytes arrived.
        got: usize,
        /// How many were announced.
        expected: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::Negative(len) => write!(
                f,
                "the length header says {len}: a length cannot be negative, so the peer is not \
                 speaking this protocol"
            ),
            FrameError::TooLarge { len, max } => write!(
                f,
                "the length header says {len} bytes, over the maximum frame size of {max} bytes; \
                 refused before allocating anything"
            ),
            FrameError::Truncated {
                part: Part::Header,
                got,
                expected,
            } => write!(
                f,
                "the peer closed the connection in the middle of a header: {got} of {expected} \
                 header bytes arrived"
            ),
            FrameError::Truncated {
                part: Part::Body,
                got,
                expected,
            } => write!(
                f,
                "the peer closed the connection in the middle of a message: {got} of {expected} \
                 body bytes arrived"
            ),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        FrameError::Io(e)
    }
}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Io(e) => e,
            FrameError::Truncated { .. } => io::Error::new(io::ErrorKind::UnexpectedEof, e),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// The header for a body of `len` bytes: `len` as a little-endian `i32`,
/// exactly what Python's `struct.pack("i", len)` writes on x86 and ARM.
pub fn encode_header(len: usize) -> io::Result<[u8; HEADER_LEN]> {
    let len = i32::try_from(len).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a body of {len} bytes does not fit a 4-byte signed length header"),
        )
    })?;
    Ok(len.to_le_bytes())
}

/// The body length a header announces, checked against `max` before anyone
/// allocates for it.
pub fn decode_header(header: [u8; HEADER_LEN], max: usize) -> Result<usize, FrameError> {
    let len = i32::from_le_bytes(header);
    if len < 0 {
        return Err(FrameError::Negative(len));
    }
    // A non-negative i32 always fits usize on the 32- and 64-bit targets Rust supports.
    let len = len as usize;
    if len > max {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max,
        });
    }
    Ok(len)
}

/// Writes one frame: header and body handed to the kernel together.
///
/// Why together: written as two small writes, the header leaves at once and
/// the body waits in the sender under Nagle's algorithm until the header is
/// acknowledged, while the receiver delays that acknowledgement hoping to
/// piggyback it on a reply: about 40 ms lost on every message on Linux
/// ([`write_frame_in_two_writes`] is that mistake, kept for the cost table).
///
/// How together: a body up to [`COPY_LIMIT`] bytes is copied behind the
/// header into one buffer and handed over with one `write_all`. The copy is
/// cheap at that size, and it works for *every* writer: a wrapper that only
/// implements `write` (the demo's timeline tap, a test double) would turn a
/// vectored write into two plain writes, which is the very stall we avoid.
/// A larger body is not copied: header and body go in one vectored write
/// (`writev` on a socket). Should a writer still split them, a body that large
/// fills whole segments, which Nagle's algorithm never holds back, so only the
/// copy is saved and no stall is paid.
pub fn write_frame<W: Write + ?Sized>(w: &mut W, body: &[u8]) -> io::Result<()> {
    let header = encode_header(body.len())?;
    if body.len() <= COPY_LIMIT {
        let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
        frame.extend_from_slice(&header);
        frame.extend_from_slice(body);
        w.write_all(&frame)?;
        return w.flush();
    }
    let mut bufs = [IoSlice::new(&header), IoSlice::new(body)];
    let mut bufs: &mut [IoSlice<'_>] = &mut bufs;
    // `write_all_vectored` is not stable yet; this is its loop.
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the connection accepted no more bytes in the middle of a frame",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    w.flush()
}

/// **The anti-pattern, kept on purpose for the cost table: do not copy it.**
/// Writes the same bytes as [`write_frame`], but as two writes: the 4-byte
/// header, then the body.
///
/// On the wire the frame is identical, so every reader still decodes it; what
/// changes is *time*. The header leaves alone in a tiny segment; Nagle's
/// algorithm then holds the body back until that segment is acknowledged, and
/// the receiver, which has nothing to send back yet, delays its
/// acknowledgement (about 40 ms on Linux) hoping to piggyback it on data. One
/// request-reply round trip then costs about 40 ms instead of a fraction of a
/// millisecond. The fix this stage teaches is one write; switching Nagle off
/// (`TCP_NODELAY`) would hide the stall but still send two packets a message.
pub fn write_frame_in_two_writes<W: Write + ?Sized>(w: &mut W, body: &[u8]) -> io::Result<()> {
    let header = encode_header(body.len())?;
    w.write_all(&header)?;
    w.flush()?;
    w.write_all(body)?;
    w.flush()
}

/// Reads one frame's body, refusing bodies over `max` bytes.
///
/// Returns `Ok(None)` when the peer closed cleanly before the first header
/// byte: between frames, closing is how a peer says it is done.
///
/// The length is checked ([`decode_header`]) before a single byte is
/// allocated for the body, and even an accepted length is not trusted with
/// memory up front: the body buffer grows as its bytes actually arrive (at
/// most [`BODY_CHUNK`] ahead of them, or as much as has arrived, whichever is
/// more) and never past the announced length, so a peer that announces 16 MiB
/// and sends 10 bytes costs 64 KiB, not 16 MiB.
pub fn read_frame<R: Read + ?Sized>(r: &mut R, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let Some(header) = read_header(r)? else {
        return Ok(None);
    };
    let len = decode_header(header, max)?;
    let mut body: Vec<u8> = Vec::with_capacity(len.min(BODY_CHUNK));
    let mut filled = 0;
    while filled < len {
        if filled == body.len() {
            // Doubling keeps the copying linear; the clamp to `len` keeps the
            // capacity at most the announced (and already checked) length.
            let grown = (filled + filled.max(BODY_CHUNK)).min(len);
            body.reserve_exact(grown - body.len());
            body.resize(grown, 0);
        }
        match r.read(&mut body[filled..]) {
            Ok(0) => {
                return Err(FrameError::Truncated {
                    part: Part::Body,
                    got: filled,
                    expected: len,
                })
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(Some(body))
}

/// Reads the 4 header bytes, looping over short reads. `Ok(None)` when the
/// stream ends before the first byte.
pub fn read_header<R: Read + ?Sized>(r: &mut R) -> Result<Option<[u8; HEADER_LEN]>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(FrameError::Truncated {
                    part: Part::Header,
                    got,
                    expected: HEADER_LEN,
                })
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(Some(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header is Python's struct.pack("i", n): little-endian, signed.
    #[test]
    fn header_is_little_endian_i32() {
        assert_eq!(encode_header(1492).unwrap(), [0xd4, 0x05, 0, 0]);
        assert_eq!(
            decode_header([0xd4, 0x05, 0, 0], DEFAULT_MAX_FRAME).unwrap(),
            1492
        );
    }

    /// Negative and oversized lengths are refused by value, before any body is read.
    #[test]
    fn hostile_lengths_are_refused() {
        assert!(matches!(
            decode_header((-1i32).to_le_bytes(), 100),
            Err(FrameError::Negative(-1))
        ));
        assert!(matches!(
            decode_header(101i32.to_le_bytes(), 100),
            Err(FrameError::TooLarge { len: 101, max: 100 })
        ));
    }

    /// A header claiming 2^31 - 1 bytes is refused from the header alone: the bytes behind it stay unread.
    #[test]
    fn two_gib_header_is_refused_without_reading_further() {
        let mut wire = i32::MAX.to_le_bytes().to_vec();
        wire.extend_from_slice(b"rest");
        let mut r = &wire[..];
        let err = read_frame(&mut r, DEFAULT_MAX_FRAME).unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::TooLarge {
                    len: 2_147_483_647,
                    max: DEFAULT_MAX_FRAME
                }
            ),
            "{err}"
        );
        assert_eq!(r, b"rest", "read_frame must not read past a refused header");
        assert!(err.to_string().contains("2147483647"), "{err}");
        assert!(err.to_string().contains("16777216"), "{err}");
    }

    /// Even an accepted huge length costs memory only as its bytes arrive: a 10-byte body claiming 2 GiB is truncated, not allocated.
    #[test]
    fn accepted_huge_length_with_short_body_is_truncated() {
        let mut wire = i32::MAX.to_le_bytes().to_vec();
        wire.extend_from_slice(&[7; 10]);
        let err = read_frame(&mut &wire[..], i32::MAX as usize).unwrap_err();
        assert!(matches!(
            err,
            FrameError::Truncated {
                part: Part::Body,
                got: 10,
                expected: 2_147_483_647
            }
        ));
    }

    /// A body larger than the copy limit takes the vectored path and still round-trips.
    #[test]
    fn large_body_round_trips() {
        let body: Vec<u8> = (0..COPY_LIMIT * 3 + 5).map(|i| i as u8).collect();
        let mut wire = Vec::new();
        write_frame(&mut wire, &body).unwrap();
        assert_eq!(wire.len(), HEADER_LEN + body.len());
        let back = read_frame(&mut &wire[..], DEFAULT_MAX_FRAME)
            .unwrap()
            .unwrap();
        assert_eq!(back, body);
        assert_eq!(
            back.capacity(),
            body.len(),
            "the body buffer never grows past the length"
        );
    }

    /// write_frame is one write call even on a writer that only implements `write`;
    /// the two-writes anti-pattern is two, with the same bytes.
    #[test]
    fn one_write_versus_two() {
        struct CountWrites(Vec<Vec<u8>>);
        impl Write for CountWrites {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.push(buf.to_vec());
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut one = CountWrites(Vec::new());
        write_frame(&mut one, b"hi\n").unwrap();
        assert_eq!(one.0, vec![b"\x03\0\0\0hi\n".to_vec()]);
        let mut two = CountWrites(Vec::new());
        write_frame_in_two_writes(&mut two, b"hi\n").unwrap();
        assert_eq!(two.0, vec![b"\x03\0\0\0".to_vec(), b"hi\n".to_vec()]);
    }

    /// A frame round-trips; a clean close between frames is None.
    #[test]
    fn round_trip_and_clean_end() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        write_frame(&mut wire, b"").unwrap();
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"");
        assert!(read_frame(&mut r, 100).unwrap().is_none());
    }

    /// Closing inside a header or a body says how many of how many bytes arrived.
    #[test]
    fn truncation_is_reported_with_counts() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        let err = read_frame(&mut &wire[..2], 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the peer closed the connection in the middle of a header: 2 of 4 header bytes arrived"
        );
        let err = read_frame(&mut &wire[..7], 100).unwrap_err();
        assert!(
            err.to_string().contains("3 of 5 body bytes arrived"),
            "{err}"
        );
    }
}
