//! The length-header framing: a 4-byte little-endian signed length, then the
//! body. This is the part of the stage that later stages reuse.
//!
//! Reading follows mini-redis's `Connection`: "need more bytes" is ordinary,
//! so every read is a loop until the header (4 bytes) and then the body
//! (`len` bytes) are complete; a peer that closes *between* frames has simply
//! finished, while a peer that closes *inside* a frame is an error that says
//! how far it got.
//!
//! Writing follows tokio-util's split of `feed` from `send`: [`write_frame`]
//! hands one frame over in one write and never flushes, so a buffered writer
//! can batch many frames into one system call; whoever waits for an answer
//! flushes. Both sides agree on a maximum: the writer refuses a body the
//! reader would refuse.

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

// ANCHOR: decode_header
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
// ANCHOR_END: decode_header

// ANCHOR: write_frame
/// Writes one frame, header and body in one vectored write, and does **not**
/// flush: writing a frame is not sending it (tokio-util's `feed`, not `send`).
/// A caller that waits for an answer flushes first.
///
/// Why one write: written as two small writes, the header leaves at once and
/// the body waits in the sender under Nagle's algorithm until the header is
/// acknowledged, while the receiver delays that acknowledgement hoping to
/// piggyback it on a reply: about 40 ms lost on every message on Linux
/// ([`write_frame_in_two_writes`] is that mistake, kept for the cost table).
///
/// What one write means depends on the writer, and both are what you want:
/// on a bare `TcpStream` it is one `writev` system call per frame; behind a
/// `BufWriter` it is two copies into the buffer and no system call at all,
/// so many small frames leave together in one write at the next flush (or
/// when the buffer fills). Neither copies the body anywhere else first.
///
/// A body over `max` (what the reader at the other end accepts) is refused
/// here, before a byte is written, instead of being sent to a reader that
/// would drop the connection.
pub fn write_frame<W: Write + ?Sized>(w: &mut W, body: &[u8], max: usize) -> io::Result<()> {
    if body.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a body of {} bytes is over the maximum frame size of {max} bytes that the \
                 reader accepts; nothing was sent",
                body.len()
            ),
        ));
    }
    let header = encode_header(body.len())?;
    write_all_vectored(w, &mut [IoSlice::new(&header), IoSlice::new(body)])
}
// ANCHOR_END: write_frame

/// `Write::write_all_vectored`, which is not stable yet: one `write_vectored`
/// call after another until every slice is written.
fn write_all_vectored<W: Write + ?Sized>(w: &mut W, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    let mut bufs = bufs;
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
    Ok(())
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
/// byte: between frames, closing is how a peer says it is done. A reader of
/// many frames can keep one buffer for all of them: [`read_frame_into`].
pub fn read_frame<R: Read + ?Sized>(r: &mut R, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut body = Vec::new();
    // A fresh buffer grows to exactly the body's length, so it *is* the body.
    let whole = read_frame_into(r, &mut body, max)?.is_some();
    Ok(whole.then_some(body))
}

// ANCHOR: read_frame_into
/// Reads one frame into `buf` and returns its body: the first bytes of
/// `buf`. Refuses bodies over `max` bytes; `Ok(None)` when the peer closed
/// cleanly before the first header byte.
///
/// The length is checked ([`decode_header`]) before a single byte is
/// allocated for the body, and even an accepted length is not trusted with
/// memory up front: the buffer grows as the bytes actually arrive (at most
/// [`BODY_CHUNK`] ahead of them, or as much as has arrived, whichever is
/// more) and never past the announced length, so a peer that announces 16 MiB
/// and sends 10 bytes costs 64 KiB, not 16 MiB. A buffer kept from frame to
/// frame keeps its bytes too: only a frame longer than any before it makes it
/// grow, so the next bodies are read straight over the old ones, with nothing
/// allocated and nothing zeroed first.
pub fn read_frame_into<'b, R: Read + ?Sized>(
    r: &mut R,
    buf: &'b mut Vec<u8>,
    max: usize,
) -> Result<Option<&'b [u8]>, FrameError> {
    let Some(header) = read_header(r)? else {
        return Ok(None);
    };
    let len = decode_header(header, max)?;
    let mut filled = 0;
    while filled < len {
        if filled == buf.len() {
            // Doubling keeps the copying linear; the clamp to `len` keeps the
            // capacity at most the announced (and already checked) length.
            let grown = (filled + filled.max(BODY_CHUNK)).min(len);
            buf.reserve_exact(grown - buf.len());
            buf.resize(grown, 0);
        }
        // Never past this frame's end: the next frame's bytes stay unread.
        let end = buf.len().min(len);
        match r.read(&mut buf[filled..end]) {
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
    Ok(Some(&buf[..len]))
}
// ANCHOR_END: read_frame_into

// ANCHOR: read_header
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
// ANCHOR_END: read_header

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

    /// A body of several chunks round-trips, and the fresh buffer grows exactly to its length.
    #[test]
    fn large_body_round_trips() {
        let body: Vec<u8> = (0..BODY_CHUNK * 3 + 5).map(|i| i as u8).collect();
        let mut wire = Vec::new();
        write_frame(&mut wire, &body, DEFAULT_MAX_FRAME).unwrap();
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

    /// A writer that records every write call (a vectored one as one call)
    /// and every flush, as a socket would see them.
    #[derive(Default)]
    struct CountWrites {
        writes: Vec<Vec<u8>>,
        flushes: usize,
    }

    impl Write for CountWrites {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes.push(buf.to_vec());
            Ok(buf.len())
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.writes
                .push(bufs.iter().flat_map(|b| b.iter().copied()).collect());
            Ok(bufs.iter().map(|b| b.len()).sum())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    /// write_frame is one write call and no flush; the two-writes anti-pattern
    /// is two writes, each flushed, with the same bytes.
    #[test]
    fn one_write_versus_two() {
        let mut one = CountWrites::default();
        write_frame(&mut one, b"hi\n", 100).unwrap();
        assert_eq!(one.writes, vec![b"\x03\0\0\0hi\n".to_vec()]);
        assert_eq!(one.flushes, 0, "writing a frame is not flushing it");
        let mut two = CountWrites::default();
        write_frame_in_two_writes(&mut two, b"hi\n").unwrap();
        assert_eq!(two.writes, vec![b"\x03\0\0\0".to_vec(), b"hi\n".to_vec()]);
    }

    /// Behind a BufWriter, many frames cost one write to the socket, at the flush.
    #[test]
    fn buffered_frames_leave_together_at_the_flush() {
        let mut w = io::BufWriter::new(CountWrites::default());
        for body in [&b"a"[..], b"", b"hello"] {
            write_frame(&mut w, body, 100).unwrap();
        }
        assert!(
            w.get_ref().writes.is_empty(),
            "nothing sent before the flush"
        );
        w.flush().unwrap();
        assert_eq!(
            w.get_ref().writes,
            vec![b"\x01\0\0\0a\0\0\0\0\x05\0\0\0hello".to_vec()]
        );
    }

    /// A body over the reader's maximum is refused before a byte is written.
    #[test]
    fn writer_refuses_what_the_reader_would() {
        let mut wire = Vec::new();
        let err = write_frame(&mut wire, &[0; 101], 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("101 bytes"), "{err}");
        assert!(err.to_string().contains("100 bytes"), "{err}");
        assert!(wire.is_empty());
        write_frame(&mut wire, &[0; 100], 100).unwrap();
        assert_eq!(wire.len(), HEADER_LEN + 100);
    }

    /// One buffer serves every frame: each body comes back whole, and the
    /// buffer keeps its allocation from frame to frame.
    #[test]
    fn read_into_reuses_the_buffer() {
        let mut wire = Vec::new();
        for body in [&b"a longer first body"[..], b"", b"short"] {
            write_frame(&mut wire, body, 100).unwrap();
        }
        let mut r = &wire[..];
        let mut buf = Vec::new();
        let body = read_frame_into(&mut r, &mut buf, 100).unwrap();
        assert_eq!(body, Some(&b"a longer first body"[..]));
        let (ptr, cap) = (buf.as_ptr(), buf.capacity());
        let body = read_frame_into(&mut r, &mut buf, 100).unwrap();
        assert_eq!(body, Some(&b""[..]));
        let body = read_frame_into(&mut r, &mut buf, 100).unwrap();
        assert_eq!(body, Some(&b"short"[..]));
        assert_eq!((buf.as_ptr(), buf.capacity()), (ptr, cap));
        assert_eq!(read_frame_into(&mut r, &mut buf, 100).unwrap(), None);
    }

    /// A frame round-trips; a clean close between frames is None.
    #[test]
    fn round_trip_and_clean_end() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello", 100).unwrap();
        write_frame(&mut wire, b"", 100).unwrap();
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"");
        assert!(read_frame(&mut r, 100).unwrap().is_none());
    }

    /// Closing inside a header or a body says how many of how many bytes arrived.
    #[test]
    fn truncation_is_reported_with_counts() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello", 100).unwrap();
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
