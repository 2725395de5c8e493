//! Property tests: the framing survives any chunking of the stream, and junk
//! never makes it panic or hand back more than the maximum frame size.

use length_header_fix::{read_frame, write_frame, FrameError, HEADER_LEN};
use proptest::prelude::*;
use std::io::{self, Read};

/// A reader that hands out its bytes in the chunk sizes it is given (cycled),
/// whatever size the caller asks for, and now and then fails with
/// `Interrupted` first, as a signal-interrupted `recv` does: the network
/// weather of a unit test.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
    interrupt_every: usize,
    calls: usize,
}

impl<'a> Chunked<'a> {
    fn new(data: &'a [u8], sizes: Vec<usize>, interrupt_every: usize) -> Self {
        Self {
            data,
            sizes,
            next: 0,
            interrupt_every,
            calls: 0,
        }
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        // Never every call (that would be a reader that never delivers).
        if self.interrupt_every > 1 && self.calls % self.interrupt_every == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let size = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    // Empty payloads weighted in on purpose: an empty frame is a real message.
    let payload = prop_oneof![
        1 => Just(Vec::new()),
        4 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => proptest::collection::vec(any::<u8>(), 1000..5000),
    ];
    proptest::collection::vec(payload, 0..12)
}

proptest! {
    /// Any list of payloads, written as frames and read back through arbitrary cuts, comes back identical and in order.
    #[test]
    fn frames_survive_any_chunking(
        messages in payloads(),
        sizes in proptest::collection::vec(1usize..700, 1..20),
        interrupt_every in prop_oneof![Just(0usize), 2usize..6],
    ) {
        let mut wire = Vec::new();
        for m in &messages {
            write_frame(&mut wire, m, 1 << 20).unwrap();
        }
        prop_assert_eq!(wire.len(), messages.iter().map(|m| HEADER_LEN + m.len()).sum::<usize>());
        let mut reader = Chunked::new(&wire, sizes, interrupt_every);
        let mut back = Vec::new();
        while let Some(body) = read_frame(&mut reader, 1 << 20).unwrap() {
            back.push(body);
        }
        prop_assert_eq!(back, messages);
    }

    /// Arbitrary junk never panics, and every body read from it is at most the maximum, in length and in capacity.
    #[test]
    fn junk_never_exceeds_the_maximum(
        junk in proptest::collection::vec(any::<u8>(), 0..2000),
        max in 0usize..256,
        sizes in proptest::collection::vec(1usize..64, 1..8),
    ) {
        let mut reader = Chunked::new(&junk, sizes, 0);
        let mut consumed = 0;
        loop {
            match read_frame(&mut reader, max) {
                Ok(Some(body)) => {
                    prop_assert!(body.len() <= max, "body of {} bytes over max {}", body.len(), max);
                    prop_assert!(body.capacity() <= max, "capacity {} over max {}", body.capacity(), max);
                    consumed += HEADER_LEN + body.len();
                }
                Ok(None) => {
                    prop_assert_eq!(consumed, junk.len());
                    break;
                }
                Err(FrameError::Negative(len)) => {
                    prop_assert!(len < 0);
                    break;
                }
                Err(FrameError::TooLarge { len, max: m }) => {
                    prop_assert!(len > m as u64);
                    // Refused from the header alone: nothing of the body was read.
                    prop_assert_eq!(junk.len() - reader.data.len(), consumed + HEADER_LEN);
                    break;
                }
                Err(FrameError::Truncated { got, expected, .. }) => {
                    prop_assert!(got < expected);
                    prop_assert!(reader.data.is_empty());
                    break;
                }
                Err(FrameError::Io(e)) => {
                    prop_assert!(false, "the in-memory reader never fails: {}", e);
                }
            }
        }
    }
}
